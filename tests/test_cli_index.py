"""``summitbot index`` and the engine's saved index: real subprocesses, real files, a real reload."""

from __future__ import annotations

import dataclasses
import io
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, parse_settings
from bot.engine import build_engine
from bot.terminal import BuildBar

REPO = Path(__file__).resolve().parent.parent

ARTICLE = """---
title: {title}
source: Test Wire
---

{body}
"""


def run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, cwd=cwd, timeout=120, check=False
    )


def write_corpus(folder: Path) -> Path:
    """Three small articles about different things."""
    folder.mkdir()
    bodies = {
        "apples": "Apples grow in orchards.\n\nThe apple harvest was large this year in Kent.",
        "rivers": "The river Thames floods in winter.\n\nBoats crossed the river at dawn.",
        "stars": "Astronomers counted new stars.\n\nA telescope in Chile saw the supernova.",
    }
    for name, body in bodies.items():
        (folder / f"{name}.md").write_text(ARTICLE.format(title=name.title(), body=body), encoding="utf-8")
    return folder


def test_index_command_builds_then_loads(tmp_path: Path) -> None:
    """First run builds and saves (one-line summary, no bar off a terminal); the second loads it."""
    corpus = write_corpus(tmp_path / "corpus")
    cache = tmp_path / "cache"
    first = run("index", "--corpus", str(corpus), "--cache", str(cache))
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("index built in ") and "3 documents, 6 passages" in first.stdout
    assert first.stderr == ""  # no progress bar when stderr is not a terminal
    assert (cache / "meta.json").is_file()
    second = run("index", "--corpus", str(corpus), "--cache", str(cache))
    assert second.returncode == 0 and second.stdout.startswith("index loaded in "), second.stdout
    third = run("index", "--corpus", str(corpus), "--cache", str(cache), "--rebuild")
    assert third.stdout.startswith("index built in "), third.stdout


def test_index_command_errors_are_one_line(tmp_path: Path) -> None:
    """No folder configured, or a file where the folder should be: one line naming it, exit 1."""
    corpus = write_corpus(tmp_path / "corpus")
    config = tmp_path / "config.yaml"
    config.write_text(f"corpus:\n  path: {corpus}\n", encoding="utf-8")
    result = run("index", "--config", str(config))
    assert result.returncode == 1
    assert result.stderr == "summitbot: no index folder: set search.index_cache in the config, or pass --cache DIR\n"
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run("index", "--config", str(config), "--cache", str(blocker))
    assert result.returncode == 1 and result.stderr.count("\n") == 1 and str(blocker) in result.stderr


def test_index_never_replaces_a_folder_that_holds_other_files(tmp_path: Path) -> None:
    """`--cache DIR` (or search.index_cache) naming a folder with other files in it, say `data/` with
    the analytics database, is refused with one line, with and without --rebuild; nothing in it is
    deleted. The bot itself keeps running on the index it built (not saved, said in its log)."""
    corpus = write_corpus(tmp_path / "corpus")
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "summitbot.sqlite3").write_bytes(b"precious")
    for extra in ((), ("--rebuild",)):
        result = run("index", "--corpus", str(corpus), "--cache", str(folder), *extra)
        assert result.returncode == 1, result.stdout
        assert result.stderr.count("\n") == 1 and str(folder) in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
        assert (folder / "summitbot.sqlite3").read_bytes() == b"precious"
    settings = parse_settings(f"corpus:\n  path: {corpus}\nsearch:\n  index_cache: {folder}\n")
    engine = build_engine(settings)
    assert engine.index_outcome is not None and engine.index_outcome.save_error
    assert sorted(p.name for p in folder.iterdir()) == ["summitbot.sqlite3"]
    assert engine.answer("Where do apples grow?").passages


def test_index_summary_counts_one_article_in_the_singular(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.md").write_text(ARTICLE.format(title="Apples", body="Apples grow in orchards."), encoding="utf-8")
    cache = tmp_path / "cache"
    first = run("index", "--corpus", str(corpus), "--cache", str(cache))
    assert ": 1 document, 1 passage, " in first.stdout, first.stdout
    second = run("index", "--corpus", str(corpus), "--cache", str(cache))
    assert "(1 document unchanged): 1 document, 1 passage, " in second.stdout, second.stdout


def test_build_bar_shows_files_passages_and_time_left() -> None:
    """The terminal bar names files read, passages analysed of the total and the time left."""
    out = io.StringIO()
    bar = BuildBar(out, every=0.0, width=10)
    bar("files", 7, 0)
    bar("passages", 250, 1000)
    text = bar.line(bar.analysis_started + 1.0)  # 250 passages in 1 s: 750 left take 3 s
    assert text == "[##--------]  25%  files 7  passages 250/1,000  0:03 left"
    bar.close()
    assert out.getvalue().startswith("\r[") and out.getvalue().endswith("\n")


def test_index_cache_setting_is_validated_and_resolved(tmp_path: Path) -> None:
    """``search.index_cache`` is a folder path relative to the config file, or null; a file is refused."""
    settings = parse_settings("search:\n  index_cache: cache/index\n", base_dir=tmp_path)
    assert settings.search.index_cache == tmp_path / "cache" / "index"
    assert parse_settings("search:\n  index_cache: null\n").search.index_cache is None
    with pytest.raises(ConfigError, match=r"'search\.index_cache' must be"):
        parse_settings("search:\n  index_cache: 3\n")
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ConfigError, match=r"'search\.index_cache' must be a folder path"):
        parse_settings(f"search:\n  index_cache: {tmp_path / 'afile'}\n")


def test_engine_reload_reanalyses_only_the_changed_article(tmp_path: Path) -> None:
    """A reload given the running engine analyses one changed article, answers from it, and saves."""
    corpus = write_corpus(tmp_path / "corpus")
    base = Settings()
    settings = dataclasses.replace(
        base,
        corpus=dataclasses.replace(base.corpus, path=corpus, aliases=None),
        search=dataclasses.replace(base.search, index_cache=tmp_path / "cache"),
    )
    logged: list[str] = []
    stages: list[str] = []
    first = build_engine(settings, progress=lambda stage, done, total: stages.append(stage), log=logged.append)
    assert first.index_outcome is not None and first.index_outcome.how == "built"
    assert "files" in stages and "passages" in stages
    (corpus / "rivers.md").write_text(
        ARTICLE.format(title="Rivers", body="The river Thames froze.\n\nOtters returned to the river."),
        encoding="utf-8",
    )
    second = build_engine(settings, previous=first)
    outcome = second.index_outcome
    assert outcome is not None and (outcome.how, outcome.reanalysed) == ("updated", 1), outcome
    assert outcome.saved == str(tmp_path / "cache")
    best = second.answers.rank("Did otters return to the river?").candidates[0]
    assert second.corpus.passages[best.passage].text == "Otters returned to the river."
    third = build_engine(settings)  # a restart loads what the reload saved
    assert third.index_outcome is not None and third.index_outcome.how == "loaded"
    assert third.index.top(["otter"], 3) == second.index.top(["otter"], 3)


def test_logged_progress_writes_a_line_at_most_every_interval() -> None:
    """Long builds log files read and passages analysed with the time left, not a line per chunk."""
    from bot.engine import logged_progress

    lines: list[str] = []
    progress = logged_progress(lines.append, every=0.0)
    progress("files", 12, 0)
    progress("passages", 0, 1000)
    progress("passages", 500, 1000)
    assert lines[0] == "indexing: 12 article files read"
    assert lines[-1].startswith("indexing: 500 of 1,000 passages analysed (50%), about 0:")
    quiet: list[str] = []
    throttled = logged_progress(quiet.append, every=3600.0)
    for n in range(100):
        throttled("passages", n, 100)
    assert quiet == []
