"""The shipped confidence model on the shipped corpus: examples of what it learned from data.

The model was fitted on SQuAD, the BBC development half and the off-topic set (never on these
questions, see ``python -m benchmarks.quality``); these are the issue's examples of questions that
share words with the article without being answered by it, beside questions it does answer.
"""

from __future__ import annotations

import pytest

from bot.config import load_settings
from bot.engine import Engine, build_engine


@pytest.fixture(scope="module")
def engine() -> Engine:
    return build_engine(load_settings())


@pytest.mark.parametrize(
    "question",
    ["What is the GDP of China?", "What is China's population?", "Is DeepSeek better than ChatGPT?"],
)
def test_shared_words_are_not_an_answer(engine: Engine, question: str) -> None:
    answer = engine.answer(question)
    assert not answer.answered, answer.confidence
    explanation = engine.explain(question)
    assert explanation.verdict in ("closest", "none") and explanation.stage == "confidence"
    assert explanation.passages[0].missing  # it names the terms the passage lacks


@pytest.mark.parametrize(
    ("question", "paragraph"),
    [
        ("How many countries endorsed the Global AI Governance Initiative?", 2),
        ("Who represented President Xi at the summit?", 4),
        ("What did the UN General Assembly adopt?", 6),
    ],
)
def test_questions_the_article_answers_are_answered(engine: Engine, question: str, paragraph: int) -> None:
    answer = engine.answer(question)
    assert answer.answered, answer.confidence
    assert answer.passages[0].passage.paragraph in (paragraph, 1)


def test_confidence_does_not_lean_on_the_corpus_having_one_document(engine: Engine) -> None:
    # doc_share is 1 on a one-document corpus whatever the question; the shipped inputs read doc_lift (0)
    signals = engine.answers.rank("Is DeepSeek better than ChatGPT?").signals
    assert signals is not None and signals.doc_share == 1.0 and signals.doc_lift == 0.0
    assert "doc_share" not in engine.answers.model.confidence_features
