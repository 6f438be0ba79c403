"""The three outcomes: the rule (inclusive thresholds), and the engine's Answer keeping to it."""

from __future__ import annotations

import math

import pytest
from test_answers import make_engine

from bot.answering import VERDICTS, Answer, decide_verdict
from bot.config import AnswerSettings

ETNA = "Which town did lava from Etna destroy in 1928?"
OFF_TOPIC = "Which volcano erupted in Iceland in 2010 and stopped European flights?"


@pytest.mark.parametrize(
    ("confidence", "has_passage", "expected"),
    [
        (0.5, True, "answer"),  # exactly min_confidence: answered (>=)
        (math.nextafter(0.5, 0), True, "closest"),  # the float just below: not
        (0.2, True, "closest"),  # exactly min_related: closest (>=)
        (math.nextafter(0.2, 0), True, "none"),
        (1.0, False, "none"),  # no passage: nothing to show, whatever the confidence
        (0.0, True, "none"),
        (float("nan"), True, "none"),
    ],
)
def test_rule_is_inclusive_at_both_thresholds(confidence: float, has_passage: bool, expected: str) -> None:
    assert decide_verdict(confidence, has_passage, 0.5, 0.2) == expected


def test_equal_thresholds_leave_no_closest_band() -> None:
    assert [decide_verdict(c, True, 0.4, 0.4) for c in (0.39, 0.4, 0.41)] == ["none", "answer", "answer"]
    # min_related 0: any matching passage is at least the closest one.
    assert decide_verdict(0.0, True, 0.5, 0.0) == "closest"


def test_engine_thresholds_at_the_exact_confidence() -> None:
    """Setting a threshold to a question's own confidence puts it on the inclusive side."""
    c = make_engine().answer(ETNA).confidence
    assert 0.0 < c < 1.0
    assert make_engine(AnswerSettings(min_confidence=c, min_related=0.0)).answer(ETNA).verdict == "answer"
    below = make_engine(AnswerSettings(min_confidence=math.nextafter(c, 1), min_related=c)).answer(ETNA)
    assert below.verdict == "closest" and not below.answered and below.passages
    none = make_engine(AnswerSettings(min_confidence=1.0, min_related=math.nextafter(c, 1))).answer(ETNA)
    assert none.verdict == "none" and not none.answered


@pytest.mark.parametrize("question", [ETNA, OFF_TOPIC, "banana", "the of and", "Honey bees in winter?"])
@pytest.mark.parametrize(("min_confidence", "min_related"), [(0.5, 0.2), (0.9, 0.1), (0.3, 0.3), (1.0, 0.0)])
def test_answer_contract(question: str, min_confidence: float, min_related: float) -> None:
    answer = make_engine(AnswerSettings(min_confidence=min_confidence, min_related=min_related)).answer(question)
    assert answer.verdict in VERDICTS
    assert 0.0 <= answer.confidence <= 1.0
    assert answer.answered == (answer.verdict == "answer")
    assert answer.verdict == decide_verdict(answer.confidence, bool(answer.passages), min_confidence, min_related)
    if answer.verdict != "none":
        assert answer.passages
    data = answer.to_json()
    assert data["verdict"] == answer.verdict and data["answered"] == answer.answered
    assert data["confidence"] == round(answer.confidence, 4)


def test_nothing_to_search_is_none() -> None:
    answer = make_engine().answer("?!")
    assert answer == Answer("?!", "none", 0.0, (), reason="empty")
