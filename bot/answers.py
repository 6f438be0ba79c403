"""From ranked passages to an answer: whether the corpus answers, which passages, which sentence.

The engine abstains rather than quote the nearest passage as if it answered. Its confidence
measures how much of the question the best passage covers: the share of the question's
information (IDF mass) present in that passage, with terms the corpus has never seen counting as
the rarest. Extra passages are shown only when they score close to the best one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from bot.analysis import Analyzer
from bot.corpus import Passage
from bot.search import BM25Index
from bot.sentences import sentence_spans


@dataclass(frozen=True)
class Highlight:
    """The sentence of a passage that best matches the question, and the words that matched.

    ``start``/``end`` locate the sentence in the passage text; ``spans`` locate each matched word
    (in passage-text offsets); ``words`` are the matched words as written, each once.
    """

    sentence: str
    start: int
    end: int
    words: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class RankedPassage:
    """One passage in an answer, with its BM25 score and its highlight."""

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
    """The reply to one question: answered or not, and the ranked passages (nearest misses too)."""

    question: str
    answered: bool
    confidence: float
    passages: tuple[RankedPassage, ...]
    reason: str | None = None  # why it was not answered: "empty", "no-match", "low-confidence"

    @property
    def best(self) -> RankedPassage | None:
        """The top passage, if any."""
        return self.passages[0] if self.passages else None

    def to_json(self) -> dict[str, Any]:
        """The JSON object ``summitbot ask --json`` prints for this question."""
        return {
            "question": self.question,
            "answered": self.answered,
            "passages": [p.to_json() for p in self.passages],
        }


@dataclass(frozen=True)
class AnswerPolicy:
    """When to answer and how many passages to show."""

    min_confidence: float = 0.5
    related_ratio: float = 0.8
    max_passages: int = 3


def coverage(query_terms: list[str], passage_terms: set[str], index: BM25Index) -> float:
    """Share of the question's IDF mass that the passage contains (0..1)."""
    distinct = set(query_terms)
    if not distinct:
        return 0.0
    total = 0.0
    present = 0.0
    for term in distinct:
        weight = max(index.idf_of(term), 0.0) if index.contains(term) else index.idf_of(term)
        total += weight
        if term in passage_terms:
            present += weight
    return present / total if total > 0 else 0.0


def confidence_of(query_terms: list[str], passage_terms: set[str], index: BM25Index) -> float:
    """Calibrated probability-like confidence that the passage answers the question."""
    return coverage(query_terms, passage_terms, index)


def best_sentence(text: str, query_terms: set[str], analyzer: Analyzer, index: BM25Index) -> Highlight:
    """The sentence of ``text`` sharing the most question information, and the matched words."""
    tokens = [t for t in analyzer.tokens(text) if t.term in query_terms]
    spans = sentence_spans(text)
    best = (-1.0, 0)
    for i, (start, end) in enumerate(spans):
        inside = {t.term for t in tokens if start <= t.start < end}
        weight = sum(max(index.idf_of(term), 0.01) for term in inside)
        if weight > best[0]:
            best = (weight, i)
    start, end = spans[best[1]] if spans else (0, len(text))
    words: list[str] = []
    word_spans: list[tuple[int, int]] = []
    seen_spans: set[tuple[int, int]] = set()
    for tok in sorted(tokens, key=lambda t: (t.start, -t.end)):
        span = (tok.start, tok.end)
        if span in seen_spans or any(a <= tok.start and tok.end <= b for a, b in word_spans):
            continue
        seen_spans.add(span)
        word_spans.append(span)
        word = text[tok.start : tok.end]
        if word not in words:
            words.append(word)
    return Highlight(text[start:end], start, end, tuple(words), tuple(word_spans))


class AnswerEngine:
    """Ranks passages for a question and decides whether they answer it."""

    def __init__(
        self,
        passages: tuple[Passage, ...],
        analyzer: Analyzer,
        index: BM25Index,
        policy: AnswerPolicy | None = None,
    ) -> None:
        self.passages = passages
        self.analyzer = analyzer
        self.index = index
        self.policy = policy or AnswerPolicy()

    def answer(self, question: str, top_k: int = 3) -> Answer:
        """Answer one question with up to ``top_k`` ranked passages."""
        terms = self.analyzer.analyze(question)
        if not terms:
            return Answer(question, False, 0.0, (), reason="empty")
        hits = self.index.top(terms, max(top_k, 1))
        if not hits:
            return Answer(question, False, 0.0, (), reason="no-match")
        best_terms = set(self.analyzer.analyze(self.passages[hits[0][0]].text))
        confidence = confidence_of(terms, best_terms, self.index)
        answered = confidence >= self.policy.min_confidence and math.isfinite(hits[0][1])
        query_set = set(terms)
        if answered:
            floor = hits[0][1] * self.policy.related_ratio
            limit = min(top_k, self.policy.max_passages)
            hits = [h for i, h in enumerate(hits[:limit]) if i == 0 or h[1] >= floor]
        ranked = tuple(
            RankedPassage(
                self.passages[i],
                score,
                best_sentence(self.passages[i].text, query_set, self.analyzer, self.index),
            )
            for i, score in hits[:top_k]
        )
        return Answer(question, answered, confidence, ranked, reason=None if answered else "low-confidence")
