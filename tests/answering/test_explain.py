"""``AnswerEngine.explain``: what the analyzer read, per passage matched/missing terms, the model's
inputs and contributions, the verdict and the deciding stage."""

from __future__ import annotations

import math

from bot.answering.explain import verdict_of
from tests.answering.test_answers import make_engine


def test_explain_names_terms_passages_and_contributions() -> None:
    engine = make_engine()
    ex = engine.explain("When did the Stockton and Darlington Railway open?")
    assert [t.words for t in ex.terms] == ["Stockton", "Darlington", "Railway", "open"]
    assert all(t.in_corpus and t.weight > 0 for t in ex.terms)
    best = ex.passages[0]
    assert best.document == "railways" and best.paragraph == 1
    assert set(best.matched) == {t.term for t in ex.terms} and best.missing == ()
    assert best.evidence.qtype == "date" and best.evidence.type_found == 1.0
    # the contributions add up to the confidence
    total = ex.intercept + sum(part for _, _, part in ex.contributions)
    assert math.isclose(1 / (1 + math.exp(-total)), ex.confidence, rel_tol=1e-9)
    assert ex.confidence == engine.answer(ex.question).confidence
    assert ex.stage == "confidence" and ex.verdict == "answer"


def test_explain_stages_that_decide_before_the_model() -> None:
    engine = make_engine()
    empty = engine.explain("what is the")
    assert (empty.stage, empty.verdict, empty.terms, empty.passages) == ("analysis", "none", (), ())
    nothing = engine.explain("Quantum chromodynamics?")
    assert nothing.stage == "search" and nothing.verdict == "none"
    assert [t.in_corpus for t in nothing.terms] == [False, False]


def test_explain_marks_how_words_were_read() -> None:
    ex = make_engine().explain("Which volcanoes erupted near Etna?")
    how = {t.words: t.how for t in ex.terms}
    assert how["volcanoes"] == "stem" and how["Etna"] == "as written"


def test_verdict_thresholds() -> None:
    assert verdict_of(0.7, 0.5, 0.2) == "answer"
    assert verdict_of(0.5, 0.5, 0.2) == "answer"
    assert verdict_of(0.3, 0.5, 0.2) == "closest"
    assert verdict_of(0.1, 0.5, 0.2) == "none"
