"""`summitbot init [DIR]` as a user runs it, and the default corpus when none is configured."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from bot.config import load_settings, shipped_corpus_dir

REPO = Path(__file__).resolve().parents[2]


def summitbot(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=cwd, capture_output=True, text=True, timeout=120, env=env
    )


def test_init_writes_a_working_folder(tmp_path: Path) -> None:
    result = summitbot("init", "site", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    site = tmp_path / "site"
    assert "Next steps:" in result.stdout and "cd site" in result.stdout and "summitbot invite" in result.stdout
    assert "corpus/       1 shipped article and aliases.yaml" in result.stdout  # "1 article", not "1 article(s)"
    shipped = sorted(p.name for p in shipped_corpus_dir().iterdir() if p.is_file())
    assert sorted(p.name for p in (site / "corpus").iterdir()) == shipped
    assert "aliases.yaml" in shipped
    for name in shipped:
        assert (site / "corpus" / name).read_bytes() == (shipped_corpus_dir() / name).read_bytes()
    assert stat.S_IMODE((site / ".env").stat().st_mode) == 0o600  # it will hold the token
    assert "DISCORD_TOKEN=" in (site / ".env").read_text()
    config = (site / "config.yaml").read_text()
    assert config.count("#") > 10, "the config is commented"
    problems: list[str] = []
    settings = load_settings(site / "config.yaml", problems)
    assert problems == []
    assert settings.corpus.path == site / "corpus"
    assert settings.analytics.path == site / "data" / "summitbot.sqlite3"
    # The folder works as it is: check and ask from inside it.
    check = summitbot("check", cwd=site)
    assert check.returncode == 0, check.stderr
    assert f"corpus {site / 'corpus'}" in check.stdout
    ask = summitbot("ask", "How many countries endorsed the Global AI Governance Initiative?", cwd=site)
    assert ask.returncode == 0, ask.stderr
    assert "58" in ask.stdout


def test_init_here_and_into_an_empty_folder(tmp_path: Path) -> None:
    result = summitbot("init", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "cd " not in result.stdout  # already there
    assert (tmp_path / "config.yaml").is_file() and (tmp_path / "corpus" / "aliases.yaml").is_file()


def test_init_never_overwrites_and_writes_nothing_on_a_clash(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "config.yaml").write_text("mine: true\n")
    (site / ".env").write_text("DISCORD_TOKEN=secret\n")
    result = summitbot("init", str(site), cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr
    assert all(line.startswith("summitbot: ") and "already exists" in line for line in lines)
    assert "Traceback" not in result.stderr
    assert (site / "config.yaml").read_text() == "mine: true\n"
    assert (site / ".env").read_text() == "DISCORD_TOKEN=secret\n"
    assert not (site / "corpus").exists(), "nothing is written when anything clashes"


def test_init_refuses_a_corpus_folder_with_articles(tmp_path: Path) -> None:
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "mine.md").write_text("# Mine\n\nMy article.\n")
    result = summitbot("init", cwd=tmp_path)
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert "corpus already exists and is not empty" in line
    assert not (tmp_path / "config.yaml").exists()
    assert sorted(p.name for p in (tmp_path / "corpus").iterdir()) == ["mine.md"]


def test_init_into_a_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("x")
    result = summitbot("init", "taken", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"summitbot: {tmp_path / 'taken'} exists and is not a folder"]


def test_without_config_the_local_corpus_folder_wins_over_the_shipped_one(tmp_path: Path) -> None:
    # No config and no ./corpus: the shipped articles answer.
    question = "How many countries endorsed the Global AI Governance Initiative?"
    shipped = summitbot("ask", "--json", question, cwd=tmp_path)
    assert shipped.returncode == 0, shipped.stderr
    assert '"answered": true' in shipped.stdout and "58" in shipped.stdout
    # A ./corpus folder is used instead.
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "otters.md").write_text(
        "---\ntitle: Otters\nsource: Field notes\n---\n\n"
        "Sea otters hold hands while they sleep so they do not drift apart.\n"
    )
    local = summitbot("check", cwd=tmp_path)
    assert local.returncode == 0, local.stderr
    assert f"corpus {tmp_path / 'corpus'}: 1 document," in local.stdout
