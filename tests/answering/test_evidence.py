"""Evidence checks (issue 10 item 2) and the new confidence signals: each rule on small examples."""

from __future__ import annotations

import pytest

from bot.answering.evidence import question_type, read_evidence, type_starts
from tests.answering.test_answers import make_engine


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How many bees live in a colony?", "number"),
        ("How much honey does a hive make?", "number"),
        ("When did the railway open?", "date"),
        ("In what year did Etna destroy Mascali?", "date"),
        ("Who engineered the line?", "who"),
        ("Whose queen is it?", "who"),
        ("Where do the Shinkansen run?", "where"),
        ("Which country uses standard gauge?", "where"),
        ("Why do bees shiver?", None),
        ("What is a drone?", None),
    ],
)
def test_question_type_by_wh_phrase(question: str, kind: str | None) -> None:
    assert question_type(question) == kind


def test_type_tokens_not_already_in_the_question() -> None:
    text = "The line opened in 1825 and George Stephenson engineered it in Darlington."
    assert type_starts("date", text, set()) == [text.index("1825")]
    assert type_starts("date", text, {"1825"}) == []  # the question's own year is no answer
    assert text.index("George") in type_starts("who", text, set())
    assert type_starts("where", text, set()) == [text.index("Darlington")]
    assert type_starts("number", "no figures here", set()) == []


def _evidence(question: str):
    engine = make_engine()
    ranking = engine.rank(question)
    best = ranking.candidates[0]
    passage = engine.passages[best.passage]
    return read_evidence(
        engine.query(question),
        engine.analyzer,
        engine.passage_terms(best.passage),
        passage.text,
        best.best_sentence,
        lambda t: engine.signal_reader.document_has(t, passage.document.id),
    )


def test_answer_type_found_and_missing() -> None:
    # the 1825 sentence answers "when"; nothing in the bee passages is a date
    assert _evidence("When did the Stockton and Darlington Railway open?").type_found == 1.0
    assert _evidence("When did the queen bee start her colony?").type_found == 0.0


def test_missing_terms_and_their_largest_share() -> None:
    ev = _evidence("What wax do beekeepers use for combs in Antarctica?")
    assert ev.missing[0] == "antarctica"  # unseen: the most informative term the passage lacks
    assert 0.0 < ev.missing_max < 1.0
    assert _evidence("Where was Mascali destroyed by lava flows?").missing_max == 0.0


def test_specific_terms_in_one_sentence_or_two() -> None:
    ev = _evidence("Did Etna destroy Mascali in 1928?")
    assert ev.spec_sentence == ev.spec_window == 1.0
    assert _evidence("Did Etna erupt near Tokyo?").spec_sentence < 1.0


def test_doc_lift_is_zero_on_a_one_document_corpus() -> None:
    from pathlib import Path

    from bot.analysis import Analyzer
    from bot.answering import AnswerEngine
    from bot.corpus import Corpus, Document
    from bot.search import BM25Index
    from tests.answering.test_answers import ARTICLES

    title, paragraphs = ARTICLES["bees"]
    corpus = Corpus.from_documents(
        Path("c"), [Document("bees", title, "t", None, None, Path("b.md"), tuple(paragraphs))]
    )
    analyzer = Analyzer()
    one = AnswerEngine(corpus.passages, analyzer, BM25Index.from_texts([p.text for p in corpus.passages], analyzer))
    signals = one.rank("Who rules a colony of honey bees?").signals
    assert signals is not None and signals.doc_share == 1.0 and signals.doc_lift == 0.0
    # in a corpus of three articles, the right one is favoured well beyond its share of passages
    many = make_engine().rank("Who rules a colony of honey bees?").signals
    assert many is not None and many.doc_lift > 0.3


def test_terms_inv_and_missing_max_signals() -> None:
    signals = make_engine().rank("Why do worker bees shiver in winter?").signals
    assert signals is not None
    assert signals.terms_inv == pytest.approx(1 / signals.terms)
    assert signals.missing_max == 0.0
