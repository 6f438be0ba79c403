"""A question analysed once: its terms, their information weights, its BM25 ceiling, its answer type.

:func:`build_query` is the only place a question is analysed for answering; every later stage
(reranking, confidence, highlighting) reads the :class:`Query` it returns.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from itertools import pairwise

from bot.analysis import Analyzer
from bot.search import BM25Index

_WANTS_NUMBER = re.compile(
    r"\b(?:how\s+(?:many|much|long|old|far|large|big|tall|high|often|fast|heavy|deep|wide)|when|"
    r"what\s+(?:year|years|decade|century|percent|percentage|date|day|month|age|number|amount|time|size|population))\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Query:
    """An analysed question: its terms, their weights (and total), its BM25 ceiling, its answer type."""

    terms: tuple[str, ...]
    weights: dict[str, float]
    total: float
    bm25_max: float  # the score of a passage holding every term at saturation
    wants_number: bool  # "how many", "when", "what year": the answer is likely a number or a date
    specific: frozenset[str] = frozenset()  # rarer than the median term, or capitalised mid-question
    # adjacent distinct question terms (bigrams): kept as built, so that sums over them add in one order
    pairs: AbstractSet[tuple[str, str]] = frozenset()
    pairs_total: float = 0.0  # their weight: sum of both terms' weights over the pairs
    text: str = ""  # the question as asked

    @property
    def is_empty(self) -> bool:
        """True when the question has no searchable terms."""
        return not self.terms


def term_weights(terms: list[str] | tuple[str, ...], index: BM25Index) -> dict[str, float]:
    """Each distinct question term's information weight: its IDF (floored at 0), unseen terms the rarest."""
    return {t: (max(index.idf_of(t), 0.0) if index.contains(t) else index.idf_of(t)) for t in dict.fromkeys(terms)}


def question_pairs(query: tuple[str, ...]) -> set[tuple[str, str]]:
    """The question's adjacent pairs of distinct terms."""
    return {(a, b) for a, b in pairwise(query) if a != b}


def build_query(question: str, analyzer: Analyzer, index: BM25Index, median_idf: float) -> Query:
    """Analyse a question and weigh its terms against the index (``median_idf``: the corpus's median
    IDF over terms present, above which a term counts as specific)."""
    terms = tuple(analyzer.analyze(question))
    weights = term_weights(terms, index)
    k1 = index.params.k1
    counts = Counter(terms)
    bm25_max = sum(c * max(index.idf_of(t), 0.0) * (k1 + 1.0) for t, c in counts.items() if index.contains(t))
    total = sum(weights.values())
    wants_number = bool(_WANTS_NUMBER.search(question))
    capitalised = set()
    if not analyzer.is_shouting(question):
        for n, match in enumerate(analyzer.pattern.finditer(question)):
            word = match.group()
            if n > 0 and word[:1].isupper():
                term = analyzer.term_of(word)
                if term is not None:
                    capitalised.add(term)
    specific = frozenset(t for t, w in weights.items() if t in capitalised or w > median_idf)
    pairs = question_pairs(terms)
    pairs_total = sum(weights[a] + weights[b] for a, b in pairs)
    return Query(
        terms,
        weights,
        total if total > 0 else 1.0,
        bm25_max,
        wants_number,
        specific,
        pairs,
        pairs_total if pairs_total > 0 else 0.0,
        question,
    )
