"""SQuAD v1.1 (first half of dev) as a closed retrieval pool, shared by the quality benchmarks.

Every article is a :class:`~bot.corpus.Document`, every paragraph a passage, and every question
should retrieve its own paragraph. Articles are split into two folds by index (even / odd) so that
anything fitted on one fold can be measured on the other.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bot.answering import FEATURES, SIGNALS, AnswerEngine, Ranking
from bot.corpus import Corpus, Document, Passage

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "squad-v1.1-dev.json"


@dataclass(frozen=True)
class Question:
    """One SQuAD question: its text, its article (0-based) and its passage (index in the pool)."""

    text: str
    article: int
    passage: int

    @property
    def fold(self) -> int:
        """0 for even-numbered articles, 1 for odd."""
        return self.article % 2


@dataclass(frozen=True)
class Pool:
    """The whole pool: a corpus of all articles and every question with its gold passage."""

    corpus: Corpus
    questions: tuple[Question, ...]
    article_of: tuple[int, ...]  # article number of each passage

    @property
    def n_articles(self) -> int:
        """How many articles (documents) the pool has."""
        return len(self.corpus.documents)

    def without(self, article: int) -> tuple[tuple[Passage, ...], list[int]]:
        """The passages of every other article, and their indices in the full pool."""
        keep = [i for i, a in enumerate(self.article_of) if a != article]
        return tuple(self.corpus.passages[i] for i in keep), keep


def load_pool(path: Path = DEFAULT_DATA) -> Pool:
    """Read the SQuAD JSON file into a :class:`Pool`."""
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    documents: list[Document] = []
    questions: list[Question] = []
    article_of: list[int] = []
    for a, article in enumerate(raw["data"]):
        paragraphs = tuple(p["context"] for p in article["paragraphs"])
        title = article["title"].replace("_", " ")
        documents.append(
            Document(
                id=f"squad-{a:02d}",
                title=title,
                source="SQuAD v1.1 dev",
                url=None,
                published=None,
                path=Path(f"squad/{article['title']}"),
                paragraphs=paragraphs,
            )
        )
        for p in article["paragraphs"]:
            pid = len(article_of)
            article_of.append(a)
            questions.extend(Question(qa["question"], a, pid) for qa in p["qas"])
    corpus = Corpus.from_documents(Path("squad"), documents)
    return Pool(corpus, tuple(questions), tuple(article_of))


@dataclass
class Runs:
    """Every question's reranking candidates, as arrays, for one way of building the engine.

    ``own_*`` come from the full pool; ``other_*`` from the pool without the question's article
    (24 leave-one-article-out indexes, rebuilt, so IDF is the one that smaller corpus really has).
    Candidates are kept in BM25 order: arrays are (questions, depth) for passages (pool indices,
    -1 when missing) and (questions, depth, features) for features. ``*_ranked`` is the engine's
    own reranked top 10, ``*_confidence`` its confidence, as shipped, and ``*_signals`` the
    question's :data:`bot.answering.SIGNALS` (questions, signals; zeros when nothing matched), which
    depend on the reranker of the engine that collected them. ``*_extra`` are experimental
    question-level signals computed by the ``extra`` function given to :func:`collect` (benchmarks
    only; (questions, 0) when none).
    """

    own_passages: np.ndarray
    own_features: np.ndarray
    own_ranked: np.ndarray
    own_confidence: np.ndarray
    own_signals: np.ndarray
    other_passages: np.ndarray
    other_features: np.ndarray
    other_ranked: np.ndarray
    other_confidence: np.ndarray
    other_signals: np.ndarray
    gold: np.ndarray
    fold: np.ndarray
    own_extra: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    other_extra: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))


# Experimental signals: (engine, question, ranking) -> values (only called when something matched).
Extra = Callable[[AnswerEngine, str, Ranking], Sequence[float]]


def _run(
    engine: AnswerEngine, question: str, depth: int, keep: list[int] | None = None, extra: Extra | None = None
) -> tuple:
    """One question: candidates in BM25 order with features, the reranked top 10, the confidence, the
    signals, and the ``extra`` signals (empty without ``extra``, zeros when nothing matched)."""
    ranking = engine.rank(question, depth)
    n_feat = len(FEATURES)

    def pool_id(i: int) -> int:
        return keep[i] if keep is not None else i

    by_bm25 = sorted(ranking.candidates, key=lambda c: (-c.bm25, c.passage))
    passages = [pool_id(c.passage) for c in by_bm25] + [-1] * (depth - len(by_bm25))
    feats = [list(c.features) for c in by_bm25] + [[0.0] * n_feat] * (depth - len(by_bm25))
    ranked = [pool_id(c.passage) for c in ranking.candidates[:10]]
    ranked += [-1] * (10 - len(ranked))
    signals = list(ranking.signals.as_tuple()) if ranking.signals is not None else [0.0] * len(SIGNALS)
    more = list(extra(engine, question, ranking)) if extra is not None and ranking.candidates else None
    return passages, feats, ranked, ranking.confidence, signals, more


def _extra_array(rows: list[tuple]) -> np.ndarray:
    """The ``extra`` signals as (questions, n), zeros where nothing matched; (questions, 0) without any."""
    width = max((len(r[5]) for r in rows if r[5] is not None), default=0)
    return np.array([r[5] if r[5] is not None else [0.0] * width for r in rows], dtype=np.float64).reshape(
        len(rows), width
    )


def collect(
    pool: Pool,
    make_engine: Callable[[tuple[Passage, ...]], AnswerEngine],
    depth: int = 30,
    extra: Extra | None = None,
) -> Runs:
    """Run every question on the full pool and on its leave-one-article-out pool."""
    full = make_engine(pool.corpus.passages)
    own = [_run(full, q.text, depth, extra=extra) for q in pool.questions]
    other: list[tuple] = [()] * len(pool.questions)
    for a in range(pool.n_articles):
        passages, keep = pool.without(a)
        engine = make_engine(passages)
        for qi, q in enumerate(pool.questions):
            if q.article == a:
                other[qi] = _run(engine, q.text, depth, keep, extra)
    return Runs(
        own_passages=np.array([o[0] for o in own], dtype=np.int64),
        own_features=np.array([o[1] for o in own], dtype=np.float64),
        own_ranked=np.array([o[2] for o in own], dtype=np.int64),
        own_confidence=np.array([o[3] for o in own]),
        own_signals=np.array([o[4] for o in own], dtype=np.float64),
        other_passages=np.array([o[0] for o in other], dtype=np.int64),
        other_features=np.array([o[1] for o in other], dtype=np.float64),
        other_ranked=np.array([o[2] for o in other], dtype=np.int64),
        other_confidence=np.array([o[3] for o in other]),
        other_signals=np.array([o[4] for o in other], dtype=np.float64),
        gold=np.array([q.passage for q in pool.questions]),
        fold=np.array([q.fold for q in pool.questions]),
        own_extra=_extra_array(own),
        other_extra=_extra_array(other),
    )
