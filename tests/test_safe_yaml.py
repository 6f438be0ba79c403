"""YAML that a hostile or careless admin writes (issue 11, item 1), replayed against the real
``summitbot check``: a 394-byte alias bomb or 5,000-deep nesting in front matter, ``aliases.yaml``
or ``config.yaml`` is refused at once, one line naming file and line; a bad value is quoted short.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from bot_harness import alias_bomb, article
from cli_harness import one_line_error, summitbot

from bot import safe_yaml

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
