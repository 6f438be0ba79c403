"""The engine façade: what the front ends call, and the caches it owns."""

from __future__ import annotations

import dataclasses
import gc
import weakref
from pathlib import Path

import pytest

from bot.config import CorpusSettings, Settings
from bot.engine import Engine, build_engine
from bot.summaries import summarize

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def engine() -> Engine:
    return build_engine(Settings(corpus=CorpusSettings(path=REPO / "corpus")))


def test_documents_and_passages_of(engine: Engine) -> None:
    assert engine.documents == engine.corpus.documents and engine.passages == engine.corpus.passages
    for doc in engine.documents:
        expected = [i for i, p in enumerate(engine.passages) if p.document.id == doc.id]
        assert list(engine.positions_of(doc.id)) == expected
        assert [p.paragraph for p in engine.passages_of(doc.id)] == list(range(1, len(doc.paragraphs) + 1))
        assert engine.document(doc.id) is doc
    assert engine.passages_of("no-such-document") == () and engine.document("no-such-document") is None


def test_answer_honours_search_top_k_and_more_continues(engine: Engine) -> None:
    """``search.top_k`` is how many passages an answer carries (a refusal lists that many nearest
    passages); ``more`` pages on through the same ranking."""
    question = "What did China say about AI governance at the summit?"
    for top_k in (1, 2, 4):
        settings = dataclasses.replace(
            engine.settings,
            search=dataclasses.replace(engine.settings.search, top_k=top_k),
            answers=dataclasses.replace(engine.settings.answers, min_confidence=1.0),  # never answers
        )
        strict = build_engine(settings)
        answer = strict.answer(question)
        assert not answer.answered and len(answer.passages) == top_k
        assert strict.more(question, 0, top_k) == answer.passages
    ranked = engine.more(question, 0, 5)
    assert len(ranked) == 5 and engine.more(question, 2, 3) == ranked[2:5]
    assert engine.more(question, 0, 0) == () and engine.more("the of and", 0, 3) == ()


def test_summarize_is_the_summarizer_with_a_cache_per_engine(engine: Engine) -> None:
    doc = engine.documents[0].id
    assert engine.summarize(document=doc) == summarize(engine, document=doc)
    assert doc in engine.summary_cache.features  # the document's sentence features, kept with the engine
    other = build_engine(engine.settings)
    assert other.summary_cache is not engine.summary_cache and not other.summary_cache.features


def test_a_replaced_engine_is_freed_without_the_cycle_collector(tmp_path: Path) -> None:
    """The bot freezes its heap after a reload (``freeze_heap``): an engine kept alive by a reference
    cycle would then never be freed. After answers and summaries, dropping the last reference
    frees the engine and its index by reference counting alone."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        engine = build_engine(Settings(corpus=CorpusSettings(path=Path(__file__).resolve().parent.parent / "corpus")))
        engine.answer("What did JD Vance say about America first?")
        engine.summarize()
        engine.summarize(document=engine.documents[0].id)
        freed, index_freed = weakref.ref(engine), weakref.ref(engine.index)
        del engine
        assert freed() is None and index_freed() is None
    finally:
        if collecting:
            gc.enable()
