"""Collect every collection of issue 10's targets once: per question, the engine's signals, the
evidence features, the first passage shown and whether it is the right one.

Collections (``label`` 1 = should be answered, 0 = should not):

* ``squad own`` / ``squad other`` -- SQuAD dev half, each question on the whole pool / on the pool
  without its article (24 rebuilt indexes); ``fold`` = article parity;
* ``squad gone`` -- each question on the pool without its own paragraph (its article stays):
  on-topic but unanswerable (0; a few are answered elsewhere in the article, so the label is noisy);
* ``squad offtopic`` -- the off-topic set against the SQuAD pool;
* ``summit direct`` / ``summit paraphrases`` (1), ``summit unanswerable`` / ``summit offtopic`` (0) --
  the shipped one-article corpus with its aliases;
* ``bbc own`` / ``bbc other`` -- BBC dev half + the shipped article, questions written from BBC
  articles, asked of it / of it without their article (rebuilt); ``bbc offtopic``; ``bbc summit`` --
  the summit's direct questions against that mixed corpus (1);
* ``nested N own`` / ``nested N other`` -- the first N SQuAD articles only (N = 2, 6, 12): the same
  questions at growing corpus sizes, for calibration across sizes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from benchmarks.evidence import EVIDENCE, evidence
from benchmarks.sets import (
    Asked,
    bbc_questions,
    bbc_with_summit,
    offtopic,
    shipped_aliases,
    shipped_corpus,
    summit_questions,
    summit_unanswerable,
)
from benchmarks.squad import Pool
from bot.analysis import AliasTable, Analyzer
from bot.answering import SIGNALS, AnswerEngine, RankModel
from bot.corpus import Passage
from bot.search import BM25Index, BM25Params
from bot.semantic import COSINE_FEATURES, Semantic


@dataclass
class Observed:
    """One collection's questions as the engine saw them."""

    name: str
    label: int
    signals: np.ndarray  # (questions, SIGNALS); zeros when nothing matched
    evidence: np.ndarray  # (questions, EVIDENCE)
    matched: np.ndarray  # something matched at all
    right: np.ndarray  # the first passage shown is a right one (always False for label 0)
    fold: np.ndarray
    confidence: np.ndarray  # the engine's own confidence (the model it was built with)
    # the semantic cosine features (bot.semantic.COSINE_FEATURES) when the engine has the extra on
    cosine: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))


Maker = Callable[[tuple[Passage, ...]], AnswerEngine]


def maker(
    aliases: AliasTable | None = None,
    model: RankModel | None = None,
    semantic: Callable[[tuple[Passage, ...]], Semantic] | None = None,
    **analyzer: str,
) -> Maker:
    """Build the project's engine over passages (k1 1.2, b 0.75, the config defaults); with
    ``semantic`` (passages -> their :class:`bot.semantic.Semantic`), the engine with the extra on."""
    an = Analyzer(aliases, **analyzer)

    def make(passages: tuple[Passage, ...]) -> AnswerEngine:
        index = BM25Index.from_texts([p.text for p in passages], an, BM25Params(1.2, 0.75, 0.25))
        extra = semantic(passages) if semantic is not None else None
        return AnswerEngine(passages, an, index, model=model, semantic=extra)

    return make


def _one(engine: AnswerEngine, text: str, is_right: Callable[[Passage], bool]) -> tuple:
    ranking = engine.rank(text)
    cosine = [0.0] * len(COSINE_FEATURES) if engine.semantic is not None else []
    if not ranking.candidates:
        return [0.0] * len(SIGNALS), [0.0] * len(EVIDENCE), False, False, 0.0, cosine
    top = engine.passages[ranking.candidates[0].passage]
    signals = list(ranking.signals.as_tuple()) if ranking.signals is not None else [0.0] * len(SIGNALS)
    cosine = list(ranking.cosines) or cosine
    return signals, evidence(engine, text, ranking), True, is_right(top), ranking.confidence, cosine


def _pack(name: str, label: int, rows: list[tuple], folds: Sequence[int]) -> Observed:
    return Observed(
        name,
        label,
        np.array([r[0] for r in rows], dtype=np.float64).reshape(len(rows), len(SIGNALS)),
        np.array([r[1] for r in rows], dtype=np.float64).reshape(len(rows), len(EVIDENCE)),
        np.array([r[2] for r in rows], dtype=bool),
        np.array([r[3] and label == 1 for r in rows], dtype=bool),
        np.asarray(folds, dtype=np.int64),
        np.array([r[4] for r in rows], dtype=np.float64),
        np.array([r[5] for r in rows], dtype=np.float64).reshape(len(rows), len(rows[0][5]) if rows else 0),
    )


def asked(engine: AnswerEngine, name: str, label: int, questions: list[Asked]) -> Observed:
    def right(q: Asked) -> Callable[[Passage], bool]:
        return lambda p: p.document.id == q.document and (not q.paragraphs or p.paragraph in q.paragraphs)

    rows = [_one(engine, q.text, right(q)) for q in questions]
    return _pack(name, label, rows, [q.fold for q in questions])


def squad(pool: Pool, make: Maker, articles: int | None = None, prefix: str = "squad") -> list[Observed]:
    """Own and other-article runs on the first ``articles`` articles (all by default)."""
    n = pool.n_articles if articles is None else articles
    keep = [i for i, a in enumerate(pool.article_of) if a < n]
    passages = tuple(pool.corpus.passages[i] for i in keep)
    questions = [q for q in pool.questions if q.article < n]
    full = make(passages)
    # the pool's passages are built on demand (a new object at each access): compare with the
    # objects this engine holds, by position
    where = {i: j for j, i in enumerate(keep)}
    own = [_one(full, q.text, lambda p, q=q: p is passages[where[q.passage]]) for q in questions]
    other: dict[int, tuple] = {}
    for a in range(n):
        engine = make(tuple(p for i, p in zip(keep, passages, strict=True) if pool.article_of[i] != a))
        for qi, q in enumerate(questions):
            if q.article == a:
                other[qi] = _one(engine, q.text, lambda p: False)
    folds = [q.fold for q in questions]
    # On-topic but unanswerable: each question asked of the pool without its own paragraph (its
    # article stays), so the corpus is about the subject but the passage that answers is gone.
    gone: dict[int, tuple] = {}
    by_passage: dict[int, list[int]] = {}
    for qi, q in enumerate(questions):
        by_passage.setdefault(q.passage, []).append(qi)
    for pid, asked in by_passage.items():
        engine = make(tuple(p for i, p in zip(keep, passages, strict=True) if i != pid))
        for qi in asked:
            gone[qi] = _one(engine, questions[qi].text, lambda p: False)
    return [
        _pack(f"{prefix} gone", 0, [gone[i] for i in range(len(questions))], folds),
        _pack(f"{prefix} own", 1, own, folds),
        _pack(f"{prefix} other", 0, [other[i] for i in range(len(questions))], folds),
    ]


def collect_all(
    pool: Pool,
    model: RankModel | None = None,
    semantic: Callable[[tuple[Passage, ...]], Semantic] | None = None,
    **analyzer: str,
) -> dict[str, Observed]:
    """Every collection of the module docstring, with one analyzer setting and one ranking model
    (and the semantic extra when ``semantic`` is given, see :func:`maker`)."""
    out: dict[str, Observed] = {}
    plain = maker(None, model, semantic, **analyzer)
    for obs in squad(pool, plain):
        out[obs.name] = obs
    full = plain(pool.corpus.passages)
    out["squad offtopic"] = asked(full, "squad offtopic", 0, offtopic())
    for n in (2, 6, 12):
        for obs in squad(pool, plain, n, f"nested {n}"):
            if not obs.name.endswith("gone"):
                out[obs.name] = obs
    aliased = maker(shipped_aliases(), model, semantic, **analyzer)
    summit = aliased(shipped_corpus().passages)
    out["summit direct"] = asked(summit, "summit direct", 1, summit_questions("direct"))
    out["summit paraphrases"] = asked(summit, "summit paraphrases", 1, summit_questions("paraphrases"))
    out["summit unanswerable"] = asked(summit, "summit unanswerable", 0, summit_unanswerable())
    out["summit offtopic"] = asked(summit, "summit offtopic", 0, offtopic())
    mixed = bbc_with_summit()
    engine = aliased(mixed.passages)
    questions = bbc_questions()
    out["bbc own"] = asked(engine, "bbc own", 1, questions)
    out["bbc offtopic"] = asked(engine, "bbc offtopic", 0, offtopic())
    out["bbc summit"] = asked(engine, "bbc summit", 1, summit_questions("direct"))
    rows = []
    for q in questions:
        without = aliased(tuple(p for p in mixed.passages if p.document.id != q.document))
        rows.append(_one(without, q.text, lambda p: False))
    out["bbc other"] = _pack("bbc other", 0, rows, [q.fold for q in questions])
    return out
