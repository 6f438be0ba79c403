"""The evidence features of :mod:`bot.answering.evidence` (and two ranking ones) as benchmark arrays.

``EVIDENCE`` names the columns; :func:`evidence` computes them for one question's best passage. The
shipped confidence inputs are in :data:`bot.answering.SIGNALS`; these are measured beside them.
"""

from __future__ import annotations

from bot.answering import FEATURES, AnswerEngine, Ranking
from bot.answering.evidence import read_evidence

EVIDENCE = (
    "spec_sentence",
    "spec_window",
    "window12",
    "typed",
    "type_found",
    "specific_share",
    "bigrams",
    "proximity",
    "type_near",
)


def evidence(engine: AnswerEngine, question: str, ranking: Ranking) -> list[float]:
    """The :data:`EVIDENCE` features of one question's best reranked passage."""
    best = ranking.candidates[0]
    query = engine.query(question)
    passage = engine.passages[best.passage]
    ev = read_evidence(
        query,
        engine.analyzer,
        engine.passage_terms(best.passage),
        passage.text,
        best.best_sentence,
        lambda t: engine.signal_reader.document_has(t, passage.document.id),
    )
    return [
        ev.spec_sentence,
        ev.spec_window,
        ev.window12,
        float(ev.qtype is not None),
        ev.type_found,
        ev.specific_share,
        best.features[FEATURES.index("bigrams")] if query.pairs_total > 0 else 1.0,
        ev.proximity,
        ev.type_near,
    ]
