"""From ranked passages to an answer: whether the corpus answers, which passages, which sentence.

The stages, each in its own module:

* :mod:`bot.answering.query` -- the question analysed once (:class:`Query`);
* :mod:`bot.answering.rerank` -- BM25's ``RERANK_DEPTH`` best passages reordered by cheap features;
* :mod:`bot.answering.confidence` -- the question's :class:`Signals` and the logistic model that
  decides whether the corpus answers it (or the engine abstains);
* :mod:`bot.answering.highlight` -- each passage's sentences (cached), the best one, matched words.

:class:`AnswerEngine` ties them together. Extra passages are shown only when their reranked
score is close to the best one (``answers.related_ratio``, :class:`bot.config.AnswerSettings`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bot.analysis import Analyzer
from bot.answering.confidence import (
    CONFIDENCE_FEATURES,
    DEFAULT_MODEL,
    QPP_DEPTH,
    SEMANTIC_CONFIDENCE_FEATURES,
    SEMANTIC_MODEL,
    SIGNALS,
    RankModel,
    SignalReader,
    Signals,
    confidence,
    confidence_input,
)
from bot.answering.explain import Explanation, explain
from bot.answering.highlight import Highlight, Highlighter, PassageTerms, SentenceCache
from bot.answering.query import Query, build_query, term_weights
from bot.answering.rerank import FEATURES, RERANK_DEPTH, WINDOW, Candidate, passage_features, rerank, window_share
from bot.answering.verdict import VERDICTS, Verdict, decide_verdict
from bot.config import AnswerSettings
from bot.corpus import Passage
from bot.search import BM25Index
from bot.semantic import COSINE_FEATURES, Semantic

__all__ = [
    "CONFIDENCE_FEATURES",
    "DEFAULT_MODEL",
    "FEATURES",
    "QPP_DEPTH",
    "RERANK_DEPTH",
    "SEMANTIC_CONFIDENCE_FEATURES",
    "SEMANTIC_MODEL",
    "SIGNALS",
    "VERDICTS",
    "WINDOW",
    "Answer",
    "AnswerEngine",
    "Candidate",
    "Explanation",
    "Highlight",
    "PassageTerms",
    "Query",
    "RankModel",
    "RankedPassage",
    "Ranking",
    "Signals",
    "Verdict",
    "confidence_input",
    "decide_verdict",
    "term_weights",
    "window_share",
]


@dataclass(frozen=True)
class RankedPassage:
    """One passage in an answer, with its (reranked) score and its highlight."""

    passage: Passage
    score: float
    highlight: Highlight

    def to_json(self) -> dict[str, Any]:
        """The passage as in ``summitbot ask --json`` output."""
        doc = self.passage.document
        return {
            "document": doc.id,
            "title": doc.title,
            "paragraph": self.passage.paragraph,
            "score": round(self.score, 4),
            "text": self.passage.text,
            "highlight": {"sentence": self.highlight.sentence, "words": list(self.highlight.words)},
            "source": doc.source,
            "url": doc.url,
        }


@dataclass(frozen=True)
class Answer:
    """The reply to one question: its verdict, the confidence behind it, and the ranked passages.

    ``verdict`` is ``"answer"`` (the best passage answers), ``"closest"`` (related, not confident:
    shown under a label) or ``"none"`` (not in the sources); see :mod:`bot.answering.verdict`.
    ``passages`` are the ranked passages whatever the verdict (for "none", the nearest misses).
    """

    question: str
    verdict: Verdict
    confidence: float  # 0..1: how sure the engine is that the best passage answers
    passages: tuple[RankedPassage, ...]
    reason: str | None = None  # why it was not answered: "empty", "no-match", "low-confidence"

    @property
    def answered(self) -> bool:
        """True when the verdict is ``"answer"``."""
        return self.verdict == "answer"

    @property
    def best(self) -> RankedPassage | None:
        """The top passage, if any."""
        return self.passages[0] if self.passages else None

    def to_json(self) -> dict[str, Any]:
        """The JSON object ``summitbot ask --json`` prints for this question."""
        return {
            "question": self.question,
            "verdict": self.verdict,
            "confidence": round(self.confidence, 4),
            "answered": self.answered,
            "passages": [p.to_json() for p in self.passages],
        }


@dataclass(frozen=True)
class Ranking:
    """The reranked candidates for one question and the probability that the corpus answers it."""

    terms: tuple[str, ...]
    candidates: tuple[Candidate, ...]
    confidence: float
    signals: Signals | None = None  # None when nothing matched
    cosines: tuple[float, ...] = ()  # the semantic cosine features (bot.semantic), with the extra on


def _passage_of(candidate: Candidate) -> int:
    return candidate.passage


def _score_of(candidate: Candidate) -> float:
    return candidate.score


class AnswerEngine:
    """Ranks passages for a question and decides whether they answer it."""

    def __init__(
        self,
        passages: Sequence[Passage],
        analyzer: Analyzer,
        index: BM25Index,
        policy: AnswerSettings | None = None,
        model: RankModel | None = None,
        depth: int = RERANK_DEPTH,
        semantic: Semantic | None = None,
        semantic_model: RankModel | None = None,
    ) -> None:
        self.passages = passages
        self.semantic = semantic  # optional semantic evidence (bot.semantic); None = lexical only
        # the confidence model used with the extra (its inputs include the cosines); unused without it
        self.semantic_model = semantic_model or SEMANTIC_MODEL
        self._word_features = any(name.startswith("soft_") for name in self.semantic_model.confidence_features)
        self.analyzer = analyzer
        self.index = index
        self.policy = policy or AnswerSettings()
        self.model = model or DEFAULT_MODEL
        self.depth = depth
        self.sentences = SentenceCache(passages, analyzer)
        self.highlighter = Highlighter(self.sentences, index)
        sentences = self.sentences  # not self: a cycle would keep a replaced engine alive (freeze_heap)
        self.signal_reader = SignalReader(passages, index, lambda i: sentences[i].term_set)
        seen = index.known_idf()
        self._median_idf = float(np.median(seen)) if seen.size else 0.0

    def query(self, question: str) -> Query:
        """Analyse a question and weigh its terms against this corpus."""
        return build_query(question, self.analyzer, self.index, self._median_idf)

    def passage_terms(self, i: int) -> PassageTerms:
        """Sentence spans and analysed terms of passage ``i`` (cached)."""
        return self.sentences[i]

    def rank(self, question: str | Query, depth: int | None = None) -> Ranking:
        """BM25's best ``depth`` passages, reranked, with the confidence that the best one answers."""
        query = question if isinstance(question, Query) else self.query(question)
        if not query.terms:
            return Ranking(query.terms, (), 0.0)
        hits = self.index.top(query.terms, depth or self.depth)
        if not hits:
            return Ranking(query.terms, (), 0.0)
        passages, sentences = self.passages, self.sentences
        rows = [
            (i, score, passages[i].document.id, *passage_features(query, score, sentences[i], passages[i].text))
            for i, score in hits
        ]
        candidates = rerank(query, rows, self.model.rerank)
        semantic = self.semantic
        if semantic is not None:
            candidates = semantic.rerank(semantic.question(query.text), candidates, _passage_of, _score_of)
        signals = self.signal_reader.read(query, hits, candidates, {row[0]: row[5] for row in rows})
        if semantic is None:
            return Ranking(query.terms, tuple(candidates), confidence(self.model, signals), signals)
        cosines = self.semantic_features(query, candidates)
        confidence_ = confidence(self.semantic_model, signals, dict(zip(COSINE_FEATURES, cosines, strict=True)))
        return Ranking(query.terms, tuple(candidates), confidence_, signals, cosines)

    def semantic_features(self, query: Query, candidates: list[Candidate] | tuple[Candidate, ...]) -> tuple[float, ...]:
        """The question's cosine features (:data:`bot.semantic.COSINE_FEATURES`) over the ranked
        candidates: top passage, its best sentence, best of the top 10, and (when the confidence model
        reads them, or ``semantic.word_features``) word by word against the top passage. Zeros
        without the extra."""
        semantic = self.semantic
        if semantic is None or not candidates:
            return (0.0,) * len(COSINE_FEATURES)
        top = candidates[0]
        text = self.passages[top.passage].text
        a, b = self.sentences[top.passage].spans[top.best_sentence]
        words = text if self._word_features or semantic.word_features else None  # soft_*: only when read
        return semantic.features(query.text, [c.passage for c in candidates], text[a:b], words)

    def explain(self, question: str, top: int = 3) -> Explanation:
        """Why :meth:`answer` replies as it does to ``question``: the analysed question, the ``top``
        passages' matched and missing terms and evidence, the confidence inputs and their
        contributions, the verdict and the stage that decided (see :mod:`bot.answering.explain`)."""
        query = self.query(question)
        ranking = self.rank(query, max(self.depth, top)) if not query.is_empty else Ranking(query.terms, (), 0.0)
        return explain(
            query,
            self.analyzer,
            self.index,
            self.passages,
            ranking.candidates[: max(top, 1)],
            self.passage_terms,
            self.signal_reader.document_has,
            ranking.signals,
            self.model if self.semantic is None else self.semantic_model,
            ranking.confidence,
            self.policy.min_confidence,
            self.policy.min_related,
            dict(zip(COSINE_FEATURES, ranking.cosines, strict=True)) if ranking.cosines else None,
        )

    def highlight(self, i: int, query_terms: set[str], sentence: int | None = None) -> Highlight:
        """The best sentence of passage ``i`` (or the given one) and every matched word's span."""
        return self.highlighter.highlight(i, query_terms, sentence)

    def _ranked(
        self, ranking: Ranking, candidates: list[Candidate] | tuple[Candidate, ...]
    ) -> tuple[RankedPassage, ...]:
        query_set = set(ranking.terms)
        return tuple(
            RankedPassage(self.passages[c.passage], c.score, self.highlight(c.passage, query_set, c.best_sentence))
            for c in candidates
        )

    def ranked(self, question: str, offset: int, count: int) -> tuple[RankedPassage, ...]:
        """Ranked passages ``offset`` .. ``offset + count - 1``, whatever the answer policy says.

        The same order as :meth:`answer` (reranked), with highlights; fewer (or none) when the
        corpus has fewer matching passages or the question has no searchable terms.
        """
        offset, count = max(offset, 0), max(count, 0)
        if count == 0:
            return ()
        query = self.query(question)
        if query.is_empty:
            return ()
        ranking = self.rank(query, max(self.depth, offset + count))
        return self._ranked(ranking, ranking.candidates[offset : offset + count])

    def verdict(self, confidence: float, has_passage: bool) -> Verdict:
        """The verdict at this engine's thresholds (``answers.min_confidence``, ``answers.min_related``)."""
        policy = self.policy
        return decide_verdict(confidence, has_passage, policy.min_confidence, policy.min_related)

    def answer(self, question: str, top_k: int = 3) -> Answer:
        """Answer one question with up to ``top_k`` ranked passages and its verdict."""
        query = self.query(question)
        if query.is_empty:
            return Answer(question, "none", 0.0, (), reason="empty")
        ranking = self.rank(query, max(self.depth, top_k))
        if not ranking.candidates:
            return Answer(question, "none", 0.0, (), reason="no-match")
        confidence_ = ranking.confidence
        candidates = list(ranking.candidates)
        verdict = self.verdict(confidence_, math.isfinite(candidates[0].score))
        if verdict == "answer":
            floor = candidates[0].score * self.policy.related_ratio
            candidates = [c for k, c in enumerate(candidates[:top_k]) if k == 0 or c.score >= floor]
        ranked = self._ranked(ranking, candidates[: max(top_k, 1)])
        return Answer(question, verdict, confidence_, ranked, reason=None if verdict == "answer" else "low-confidence")
