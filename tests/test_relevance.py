"""Tests for topic relevance (bot/relevance.py): phrases, names, acronyms and over-stemming."""

from __future__ import annotations

import pytest

from bot.analysis import AliasTable, Analyzer
from bot.relevance import RELEVANCE_FLOOR, light_stem, parse_topic, relevance

ALIASES = """
groups:
  - [artificial intelligence, AI, A.I.]
  - [China, Chinese, Beijing]
  - [United States, U.S., US, America]
  - [Xi Jinping, President Xi, Xi]
"""


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer(AliasTable.parse(ALIASES))


def _score(analyzer: Analyzer, topic: str, sentence: str) -> float:
    return relevance(parse_topic(topic, analyzer, lambda term: 2.0), sentence, analyzer)


def _passes(analyzer: Analyzer, topic: str, sentence: str) -> bool:
    return _score(analyzer, topic, sentence) >= RELEVANCE_FLOOR


@pytest.mark.parametrize(
    ("topic", "sentence", "on_topic"),
    [
        ("artificial intelligence", "Artificial intelligence is changing work.", True),
        ("artificial intelligence", "AI rules were discussed at the summit.", True),
        ("artificial intelligence", "The club laid artificial pitches.", False),
        ("artificial intelligence", "An intelligence officer gave evidence.", False),
        ("artificial intelligence", "Ai Sugiyama won in Tokyo.", False),
        ("AI", "AI rules were discussed.", True),
        ("AI", "Work on artificial intelligence grew.", True),
        ("AI", "A.I. is overhyped, he said.", True),
        ("AI", "Ai Sugiyama won in Tokyo.", False),
        ("aid", "The US gave more aid to the region.", True),
        ("aid", "Aid to Africa rose.", True),
        ("aid", "Aids research got more funding.", False),
        ("aid", "The charity fights AIDS.", False),
        ("initiative", "New initiatives were launched.", True),
        ("initiative", "An initial attempt failed.", False),
        ("China", "Chinese firms grew fast.", True),
        ("China", "Beijing objected.", True),
        ("China", "He used fine china plates.", False),
        ("United States", "The US said no.", True),
        ("United States", "The unit was sold to a state firm.", False),
        ("Xi Jinping", "President Xi spoke first.", True),
        ("interest rates", "The bank raised interest rates again.", True),
        ("interest rates", "Rates of interest rose.", True),
    ],
)
def test_a_sentence_is_on_topic_only_when_it_speaks_of_the_topic(
    analyzer: Analyzer, topic: str, sentence: str, on_topic: bool
) -> None:
    assert _passes(analyzer, topic, sentence) is on_topic


def test_words_far_apart_count_less_than_a_phrase(analyzer: Analyzer) -> None:
    near = _score(analyzer, "steel industry", "The steel industry shed jobs.")
    far = _score(analyzer, "steel industry", "Steel was cheap, and across the whole country every other industry grew.")
    assert near == 1.0
    assert far < near


def test_a_sentence_without_the_topic_scores_zero(analyzer: Analyzer) -> None:
    assert _score(analyzer, "oil prices", "The film opened on Friday.") == 0.0


@pytest.mark.parametrize(
    ("word", "stem"),
    [
        ("initiatives", "initiativ"),
        ("initiative", "initiativ"),
        ("initial", "initial"),
        ("companies", "company"),
        ("prices", "pric"),
        ("price", "pric"),
        ("China's", "china"),
        ("taxes", "tax"),
        ("aid", "aid"),
    ],
)
def test_light_stem_strips_only_inflection(word: str, stem: str) -> None:
    assert light_stem(word) == stem
