"""The question sets the quality benchmark measures with are in the repository and as large as issue 10 asks."""

from __future__ import annotations

from benchmarks import sets


def test_offtopic_and_unanswerable_sets_are_there_and_large_enough() -> None:
    offtopic = sets.offtopic()
    unanswerable = sets.summit_unanswerable()
    assert len(offtopic) >= 300 and len({q.text for q in offtopic}) == len(offtopic)
    assert len(unanswerable) >= 60 and len({q.text for q in unanswerable}) == len(unanswerable)
    assert all(q.document is None for q in offtopic + unanswerable)


def test_summit_questions_point_at_paragraphs_of_the_shipped_article() -> None:
    paragraphs = len(sets.shipped_corpus().documents[0].paragraphs)
    for kind in ("direct", "paraphrases"):
        asked = sets.summit_questions(kind)
        assert asked, kind
        assert all(q.paragraphs and all(1 <= p <= paragraphs for p in q.paragraphs) for q in asked), kind


def test_bbc_questions_name_an_article() -> None:
    asked = sets.bbc_questions()
    assert len(asked) >= 60 and all(q.document for q in asked)
