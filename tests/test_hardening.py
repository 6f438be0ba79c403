"""Round-two hardening (issue 11), offline: what a hostile or careless admin can put in a corpus file,
``aliases.yaml`` or ``config.yaml``, replayed against the real ``summitbot`` command in a subprocess
with a timeout (a regression fails instead of hanging the suite).

Held: a YAML alias bomb or 5,000-deep nesting is refused in well under the timeout with one line
naming file and line; a bad value is quoted short; a smuggled masked link in ``url`` is refused and
every link the bot builds is percent-encoded; one huge paragraph is split into passages that keep
its ¶ number; ``discord.token_env`` holding a token is refused without echoing it; every numeric
config key has a sane range; the alias file is read with the article files' protections.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from bot_harness import alias_bomb, article
from hypothesis import given
from hypothesis import strategies as st

from bot import config as config_module
from bot import safe_yaml
from bot.corpus import MAX_PASSAGE_CHARS, SPLIT_PASSAGE_CHARS, load_corpus, passage_texts
from bot.discord_app import limits
from bot.urls import encode_url, url_problem

REPO = Path(__file__).resolve().parent.parent
TOKEN = "MTEyMzQ1Njc4OTAxMjM0NTY3OA.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456"


def summitbot(*args: str, cwd: Path = REPO, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m bot ARGS`` with a 30 s timeout: a hang is a failure, not a stuck suite."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("SUMMITBOT", "DISCORD"))}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, cwd=cwd, timeout=30, env=full_env
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """Assert exit 1 with no traceback; the stderr text."""
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    assert all(line.startswith("summitbot: ") for line in result.stderr.splitlines()), result.stderr
    return result.stderr


@pytest.fixture
def small_corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "ok.md").write_text(article("title: Fine\nsource: example.org\n"), encoding="utf-8")
    return folder


# ------------------------------------------------------------------------------- 1: alias bombs


def test_the_394_byte_alias_bomb_in_front_matter_is_refused_by_check_at_once(small_corpus: Path) -> None:
    """Nine levels of nine aliases (9**9 items once expanded) in a ~400-byte article: `check` says
    which file and line within the 30 s timeout (it used to run past 30 s at 1.25 GB)."""
    bomb = article(alias_bomb() + "title: *j\nsource: example.org\n")
    assert len(bomb.encode()) < 420
    (small_corpus / "bomb.md").write_text(bomb, encoding="utf-8")
    err = one_line_error(summitbot("check", "--corpus", str(small_corpus)))
    (line,) = err.strip().splitlines()
    assert "bomb.md:2:" in line and "anchors" in line, line


def test_alias_bomb_in_aliases_yaml_and_config_yaml_is_refused(small_corpus: Path, tmp_path: Path) -> None:
    (small_corpus / "aliases.yaml").write_text(alias_bomb() + "groups: [*j]\n", encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(alias_bomb() + f"corpus:\n  path: {small_corpus}\n", encoding="utf-8")
    err = one_line_error(summitbot("check", "--config", str(config)))
    lines = err.strip().splitlines()
    assert any("config.yaml:1:" in line and "anchors" in line for line in lines), lines
    # The config was refused, so the defaults (the shipped corpus) are checked: point at ours.
    config.write_text(f"corpus:\n  path: {small_corpus}\n", encoding="utf-8")
    err = one_line_error(summitbot("check", "--config", str(config)))
    assert "aliases.yaml:1:" in err and "anchors" in err, err


def test_a_single_alias_is_refused_too() -> None:
    with pytest.raises(Exception, match="aliases"):
        safe_yaml.load("a: x\nb: *a\n")
    assert safe_yaml.load("a: [x, {b: c}]\n") == {"a": ["x", {"b": "c"}]}


@pytest.mark.parametrize("where", ["front", "aliases", "config"])
def test_5000_deep_nesting_is_one_line_not_a_recursion_error(small_corpus: Path, tmp_path: Path, where: str) -> None:
    deep = "[" * 5000 + "]" * 5000
    config = tmp_path / "config.yaml"
    config.write_text(f"corpus:\n  path: {small_corpus}\n", encoding="utf-8")
    if where == "front":
        (small_corpus / "deep.md").write_text(article(f"title: {deep}\nsource: x\n"), encoding="utf-8")
    elif where == "aliases":
        (small_corpus / "aliases.yaml").write_text(f"groups: {deep}\n", encoding="utf-8")
    else:
        config.write_text(f"corpus:\n  path: {small_corpus}\nsearch: {deep}\n", encoding="utf-8")
    err = one_line_error(summitbot("check", "--config", str(config)))
    assert "RecursionError" not in err and "nested more than" in err, err
    assert len(err.strip().splitlines()) == 1


def test_errors_quote_at_most_a_short_part_of_a_bad_value(small_corpus: Path) -> None:
    """A 100,000-item title is quoted in a few dozen characters, not expanded into the message."""
    items = ",".join(["spam"] * 100_000)
    (small_corpus / "long.md").write_text(article(f"title: [{items}]\nsource: x\n"), encoding="utf-8")
    (small_corpus / "longurl.md").write_text(article(f"title: t\nsource: x\nurl: ftp://{'x' * 5000}\n"), "utf-8")
    err = one_line_error(summitbot("check", "--corpus", str(small_corpus)))
    lines = err.strip().splitlines()
    assert len(lines) == 2 and all(len(line) < 400 for line in lines), [len(line) for line in lines]
    assert "must be non-empty text" in err and "'url'" in err


# --------------------------------------------------------------------- 2: one huge paragraph


def test_a_huge_paragraph_becomes_passages_that_keep_its_paragraph_number(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    sentence = "The harbour commission met again to discuss the lighthouse budget and the ferry timetable. "
    huge = sentence * 20_000  # ~1.8 MB, no blank line: one paragraph
    (folder / "paste.md").write_text(article("title: Paste\nsource: x\n", "Intro.\n\n" + huge), encoding="utf-8")
    corpus = load_corpus(folder, max_file_bytes=5_000_000)
    passages = [p for p in corpus.passages if p.paragraph == 2]
    assert len(passages) > 500 and all(len(p.text) <= SPLIT_PASSAGE_CHARS for p in passages)
    assert all(p.text.endswith("timetable.") for p in passages)  # cut at sentence ends
    assert " ".join(p.text for p in passages) == huge.strip()  # nothing lost or repeated
    assert corpus.split_paragraphs() == [(corpus.documents[0], 2, len(passages))]


@given(st.text(alphabet=st.sampled_from("ab .\n"), min_size=0, max_size=40).map(lambda s: s * 400))
def test_passage_texts_lose_nothing_and_respect_the_cap(paragraph: str) -> None:
    parts = passage_texts(paragraph)
    if len(paragraph) <= MAX_PASSAGE_CHARS:
        assert parts == [paragraph]
    else:
        assert all(0 < len(p) <= SPLIT_PASSAGE_CHARS for p in parts)
        assert "".join("".join(p.split()) for p in parts) == "".join(paragraph.split())


def test_ask_and_check_on_a_one_paragraph_2_mb_article(tmp_path: Path) -> None:
    """`summitbot ask` answers from it (it did not finish in 60 s) and `check` says it was split."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    filler = "Delegates discussed ferry schedules, harbour fees and the weather over several long days. "
    key = "The lighthouse keeper Marguerite Okonkwo repainted the beacon tower in cobalt blue. "
    body = filler * 11_000 + key + filler * 11_000
    (folder / "paste.md").write_text(article("title: Harbour paste\nsource: x\n", body), encoding="utf-8")
    (folder / "aliases.yaml").write_text((REPO / "corpus" / "aliases.yaml").read_text("utf-8"), "utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(f"corpus:\n  path: {folder}\n  max_file_bytes: 3000000\n", encoding="utf-8")
    asked = summitbot("ask", "--config", str(config), "Who repainted the beacon tower in cobalt blue?")
    assert asked.returncode == 0, asked.stderr
    assert "Okonkwo" in asked.stdout and "¶1" in asked.stdout
    checked = summitbot("check", "--config", str(config))
    assert checked.returncode == 0, checked.stderr
    split = re.search(r"paste\.md ¶1 is [\d,]+ characters: split into (\d+) passages", checked.stdout)
    assert split and int(split.group(1)) > 500, checked.stdout


# ------------------------------------------------------------------------------ 3: links


SMUGGLE = "https://ok.example/)**[Free Nitro](https://evil.example/login)**[.](https://ok.example/"


@pytest.mark.parametrize(
    "url",
    [
        SMUGGLE,
        "https://ok.example/)[FreeNitro](https://evil.example/login)",
        "javascript:alert(1)",
        "https://",
        "https://ok.example@evil.example/",
        "https://ok.example/<script>",
        "https://ok.example/a\u2028b",
    ],
)
def test_check_refuses_urls_that_are_not_plain_http_links(small_corpus: Path, url: str) -> None:
    (small_corpus / "u.md").write_text(article(f"title: t\nsource: x\nurl: {url!r}\n"), encoding="utf-8")
    err = one_line_error(summitbot("check", "--corpus", str(small_corpus)))
    assert "u.md:4: 'url'" in err, err


# A markdown link or anything that could end one: no bracket, parenthesis, angle bracket or space.
_LINK_TARGET = re.compile(r"^https?://[A-Za-z0-9.-]+(?::\d+)?(?:[/?#][A-Za-z0-9\-._~/:@!$&'+,;=?%#]*)?$")


@given(st.text(max_size=60))
def test_every_accepted_url_is_encoded_into_a_link_that_cannot_break_out(tail: str) -> None:
    url = "https://ok.example/" + tail
    link = limits.masked_link("read the article", url)
    if url_problem(url) is not None:
        assert link is None
        return
    encoded = encode_url(url)
    assert encoded is not None and _LINK_TARGET.match(encoded), encoded
    assert link == f"[read the article]({encoded})"


def test_parentheses_in_a_real_url_are_kept_as_percent_escapes() -> None:
    url = "https://en.wikipedia.org/wiki/Summit_(meeting)?x=1#top"
    assert url_problem(url) is None
    assert encode_url(url) == "https://en.wikipedia.org/wiki/Summit_%28meeting%29?x=1#top"
    assert encode_url("https://de.wikipedia.org/wiki/Künstliche") == "https://de.wikipedia.org/wiki/K%C3%BCnstliche"


# ---------------------------------------------------------------------------- 6: token_env


@pytest.mark.parametrize("command", ["run", "sync", "check"])
def test_a_token_pasted_as_token_env_is_refused_without_echo(tmp_path: Path, command: str) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"discord:\n  token_env: {TOKEN}\n", encoding="utf-8")
    result = summitbot(command, "--config", str(config), env={TOKEN.split(".")[0][:8]: "x"})
    err = one_line_error(result)
    assert "discord.token_env" in err and "environment variable" in err
    assert TOKEN not in result.stdout + result.stderr
    assert "MTEy" not in result.stdout + result.stderr


# ------------------------------------------------------------------------ 9: config ranges


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("corpus:\n  max_file_bytes: 1e23\n", "corpus.max_file_bytes"),
        ("corpus:\n  max_file_bytes: 100000000000000000000000\n", "corpus.max_file_bytes"),
        ("analytics:\n  retention_days: 1000000\n", "analytics.retention_days"),
        ("discord:\n  cooldown_seconds: .inf\n", "discord.cooldown_seconds"),
        ("discord:\n  cooldown_seconds: .nan\n", "discord.cooldown_seconds"),
        ("search:\n  k1: 1e308\n", "search.k1"),
        ("search:\n  k1: " + "9" * 400 + "\n", "search.k1"),
        ("discord:\n  shard_count: 2\n  shard_ids: []\n", "discord.shard_ids"),
        ("discord:\n  shard_count: 2\n  shard_ids: [0, 0]\n", "discord.shard_ids"),
        ("discord:\n  admin_users: [0]\n", "discord.admin_users"),
        ("discord:\n  api_url: ftp://example.org\n", "discord.api_url"),
        ("discord:\n  gateway_url: https://example.org\n", "discord.gateway_url"),
        ("corpus:\n  reload_timeout_seconds: 0\n", "corpus.reload_timeout_seconds"),
        ("summaries:\n  long_words: 10000000\n", "summaries.long_words"),
    ],
)
def test_out_of_range_config_values_are_one_line_errors(tmp_path: Path, text: str, key: str) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(text, encoding="utf-8")
    err = one_line_error(summitbot("check", "--config", str(config)))
    first = err.strip().splitlines()[0]
    assert first.startswith("summitbot: config error:") and f"'{key}'" in first, err
    assert len(first) < 300


def test_k1_written_1e3_style_is_read_as_a_number() -> None:
    """PyYAML reads "2e0" as text; the config reads it as the number it is (YAML 1.2)."""
    assert config_module.parse_settings("search:\n  k1: 2e0\n").search.k1 == 2.0


def test_stats_purge_with_a_huge_retention_is_refused_not_an_overflow(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("analytics:\n  path: a.sqlite3\n  retention_days: 1000000\n", encoding="utf-8")
    err = one_line_error(summitbot("stats", "--purge", "--config", str(config)))
    assert "OverflowError" not in err and "analytics.retention_days" in err


def test_every_config_key_has_a_check() -> None:
    """A new key without a range or validator fails here: say what its value must be."""
    import dataclasses
    import typing

    settings = config_module.Settings()
    keys = {
        f"{section.name}.{f.name}"
        for section in dataclasses.fields(settings)
        if dataclasses.is_dataclass(typing.get_type_hints(config_module.Settings)[section.name])
        for f in dataclasses.fields(getattr(settings, section.name))
    }
    assert keys - set(config_module.check_names()) == set()


# ------------------------------------------------------------------------ 8: aliases.yaml


def test_aliases_yaml_fifo_symlink_and_size_are_refused_by_name(small_corpus: Path, tmp_path: Path) -> None:
    aliases = small_corpus / "aliases.yaml"
    os.mkfifo(aliases)
    err = one_line_error(summitbot("check", "--corpus", str(small_corpus)))  # a FIFO used to hang here
    assert "aliases.yaml: not a regular file" in err, err
    aliases.unlink()
    aliases.symlink_to("/dev/zero")
    err = one_line_error(summitbot("check", "--corpus", str(small_corpus)))  # was a MemoryError traceback
    assert "aliases.yaml: symbolic link: refused" in err and "MemoryError" not in err, err
    aliases.unlink()
    outside = tmp_path / "outside.yaml"
    outside.write_text("groups: [[a, b]]\n", encoding="utf-8")
    aliases.symlink_to(outside)
    assert "aliases.yaml: symbolic link: refused" in one_line_error(summitbot("check", "--corpus", str(small_corpus)))
    aliases.unlink()
    aliases.write_text("groups:\n" + "  - [alpha, beta]\n" * 200, encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(f"corpus:\n  path: {small_corpus}\n  max_file_bytes: 1000\n", encoding="utf-8")
    err = one_line_error(summitbot("check", "--config", str(config)))
    assert "aliases.yaml: file is" in err and "1,000-byte cap" in err, err
