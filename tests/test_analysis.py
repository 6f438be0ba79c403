"""Analyzer edge cases: acronyms vs stopwords, apostrophes, Unicode, aliases, odd input."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.analysis import AliasError, AliasTable, Analyzer

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def plain() -> Analyzer:
    return Analyzer()


@pytest.fixture(scope="module")
def shipped() -> Analyzer:
    return Analyzer(AliasTable.load(REPO / "corpus" / "aliases.yaml"))


def test_us_acronym_is_not_the_pronoun(plain: Analyzer) -> None:
    assert plain.analyze("US") == ["us"]
    assert plain.analyze("U.S.") == ["us"]
    assert plain.analyze("the U.S") == ["us"]
    assert plain.analyze("tell us") == ["tell"]


def test_dotted_abbreviations_are_one_token(plain: Analyzer) -> None:
    assert plain.analyze("U.N. resolution") == ["un", "resolut"]


def test_curly_apostrophe_possessive(plain: Analyzer) -> None:
    assert plain.analyze("China’s") == plain.analyze("China's") == plain.analyze("china") == ["china"]


def test_stemming_and_stopwords(plain: Analyzer) -> None:
    assert plain.analyze("What are the countries endorsing?") == ["countri", "endors"]


def test_unicode_and_fullwidth(plain: Analyzer) -> None:
    assert plain.analyze("Ｃｈｉｎａ") == ["china"]
    assert plain.analyze("café") == plain.analyze("CAFÉ cafe")[:1]
    assert plain.analyze("中国 人工智能") == ["中国", "人工智能"]


@pytest.mark.parametrize("text", ["", "   \n\t ", "?!...", "—–•", "\u200b\u200f", "@everyone"])
def test_empty_whitespace_and_punctuation(plain: Analyzer, text: str) -> None:
    terms = plain.analyze(text)
    assert all(t for t in terms)
    assert terms in ([], ["everyon"])


def test_ten_thousand_character_question(plain: Analyzer) -> None:
    text = ("artificial intelligence governance " * 300)[:10_000]
    terms = plain.analyze(text)
    assert len(terms) > 500
    assert set(terms) <= {"artifici", "intellig", "govern", "gover", "governa"} | {t for t in terms if len(t) < 9}


def test_shouting_reads_words_not_acronyms(plain: Analyzer) -> None:
    assert plain.analyze("WHAT DID THE SUMMIT DECIDE") == ["summit", "decid"]


def test_acronym_keeps_case_when_not_shouting(plain: Analyzer) -> None:
    assert plain.analyze("What is IT policy") == ["it", "polici"]


def test_aliases_single_words(shipped: Analyzer) -> None:
    us = shipped.analyze("US")
    assert us == shipped.analyze("U.S.") == shipped.analyze("America") == shipped.analyze("Americans")
    assert shipped.analyze("Beijing") == shipped.analyze("Chinese") == shipped.analyze("China’s")
    assert shipped.analyze("tell us") == ["tell"]


def test_alias_phrase_adds_group_term_and_keeps_words(shipped: Analyzer) -> None:
    terms = shipped.analyze("the United States")
    (us,) = shipped.analyze("US")
    assert us in terms
    assert "unit" in terms and "state" in terms


def test_tokens_spans_point_at_the_words(shipped: Analyzer) -> None:
    text = "Ask the United States’ view"
    tokens = shipped.tokens(text)
    surfaces = {text[t.start : t.end] for t in tokens}
    assert {"United", "States", "United States", "view", "Ask"} <= surfaces


def test_alias_file_errors(tmp_path: Path) -> None:
    with pytest.raises(AliasError, match="group 1 must be a list of at least two names"):
        AliasTable.parse("groups:\n  - [alone]\n", "aliases.yaml")
    with pytest.raises(AliasError, match="expected one key 'groups'"):
        AliasTable.parse("names: []\n")
    with pytest.raises(AliasError, match=r"aliases.yaml:\d+: not valid YAML"):
        AliasTable.parse("groups:\n  - [a, b\n")
    assert AliasTable.load(tmp_path / "missing.yaml").groups == []
