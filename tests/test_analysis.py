"""Analyzer edge cases: acronyms vs stopwords, apostrophes, Unicode, aliases, odd input."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.name_words import name_words
from bot.analysis import AliasError, AliasTable, Analyzer, light_stem

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
    assert plain.analyze("U.N. resolution") == ["un", "resolution"]


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
    assert set(terms) <= {"artificial", "intelligenc", "governanc"} | {t for t in terms if len(t) < 10}


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
    assert "united" in terms and "states" in terms  # the name's words, not the stems of "unit" / "stating"


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


# --- Collision rules (issue 10 item 3), each fitted on the development corpora, not on these words ---


def test_light_stemmer_keeps_derivations_apart(plain: Analyzer) -> None:
    # Inflections still meet (plural, -ed, -ing) ...
    assert plain.analyze("initiatives") == plain.analyze("initiative") == ["initiativ"]
    assert plain.analyze("endorsed endorsing endorses") == ["endors"] * 3
    # ... but Snowball's derivational conflations ("initi", "intellig", "govern", "nation") do not.
    assert plain.analyze("initiative") != plain.analyze("initial")
    assert plain.analyze("intelligence") != plain.analyze("intelligent")
    assert plain.analyze("governance") != plain.analyze("government")
    assert plain.analyze("nation") != plain.analyze("national")


@pytest.mark.parametrize(
    ("word", "stem"),
    [
        ("caresses", "caress"),
        ("ponies", "poni"),
        ("cats", "cat"),
        ("agreed", "agre"),
        ("agree", "agre"),
        ("hoping", "hope"),
        ("hopping", "hop"),
        ("running", "run"),
        ("crisis", "crisis"),
        ("bus", "bus"),
        ("happy", "happi"),
        ("stating", "state"),
    ],
)
def test_light_stem_is_porter_steps_1_and_5a(word: str, stem: str) -> None:
    assert light_stem(word) == stem


def test_protected_names_do_not_match_common_words(plain: Analyzer) -> None:
    assert plain.analyze("United") != plain.analyze("unit")
    assert plain.analyze("States") != plain.analyze("stating")
    assert plain.analyze("Aids research") != plain.analyze("aid research")
    assert plain.analyze("House of Commons") != plain.analyze("common house")
    # lower case is the common word, stemmed as before
    assert plain.analyze("united") == plain.analyze("unit")
    # a name that collides with nothing is stemmed as usual (no recall lost on "Olympics"/"Olympic")
    assert plain.analyze("Olympics") == plain.analyze("olympic")


def test_name_words_rule_on_counts() -> None:
    from collections import Counter

    cap = Counter({"united": 200, "unit": 8, "rivers": 1, "river": 40})
    low = Counter({"united": 3, "unit": 97, "units": 40, "rivers": 30, "river": 20})
    # "United" is a name whose stem "unit" is a common word; "river" (unchanged by stemming) is not protected
    assert name_words(cap, low) == ["united"]


def test_capitalised_acronym_spelling_is_a_name_not_the_acronym(shipped: Analyzer) -> None:
    (ai,) = shipped.analyze("AI")
    assert shipped.analyze("A.I.") == [ai] == shipped.analyze("ai")  # as written, or typed casually
    assert shipped.analyze("Ai") == ["ai"] != [ai]  # the tennis player Ai Sugiyama
    assert shipped.analyze("Ai Sugiyama")[0] != ai


def test_analyzer_options_are_checked() -> None:
    with pytest.raises(ValueError, match="stemming"):
        Analyzer(stemming="porter2")
    with pytest.raises(ValueError, match="names"):
        Analyzer(names="some")
    assert Analyzer(stemming="snowball", names="stem").analyze("initiative initial") == ["initi", "initi"]
    assert Analyzer(names="all").analyze("Olympics") == ["olympics"]
