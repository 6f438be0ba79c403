"""The reranker's features: cheap per-passage evidence that BM25 cannot see.

BM25 (exactly ``BM25Okapi``, see :mod:`bot.search`) picks the ``RERANK_DEPTH`` best passages; a
linear model (``RankModel.rerank``) over these :data:`FEATURES` then reorders them:

* ``bm25`` -- the BM25 score, divided by the most the question's terms could score;
* ``coverage`` -- the share of the question's information (IDF mass) present in the passage;
* ``sentence`` -- the same share for the passage's best sentence;
* ``window`` -- the same share for the best window of ``WINDOW`` consecutive terms (proximity);
* ``bigrams`` -- the IDF-weighted share of the question's adjacent term pairs found adjacent;
* ``number`` -- 1 when the question wants a number or date ("how many", "when") and the best
  sentence has a digit;
* ``pair`` -- the same share as ``sentence`` for the best two consecutive sentences;
* ``document`` -- the share of the question's information that the candidates of the passage's
  document hold together.

Terms the corpus has never seen count as the rarest (they weigh the most and are never present),
so a question about something the corpus lacks has low coverage however well its common words match.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import compress, count

from bot.answering.highlight import PassageTerms
from bot.answering.query import Query

# How many BM25 candidates the reranker reorders, and the proximity window (in analysed terms).
RERANK_DEPTH = 30
WINDOW = 8
FEATURES = ("bm25", "coverage", "sentence", "window", "bigrams", "number", "pair", "document")
_DIGIT = re.compile(r"\d")


@dataclass(frozen=True)
class Candidate:
    """One reranked passage: its position in the corpus, BM25 score, features and final score."""

    passage: int
    bm25: float
    features: tuple[float, ...]
    score: float
    best_sentence: int  # index into the passage's sentence spans


def window_share(terms: tuple[str, ...], weights: dict[str, float], total: float, width: int) -> float:
    """The largest share of question weight whose distinct terms all fall in ``width`` consecutive terms."""
    return _window_hits([(i, t) for i, t in enumerate(terms) if t in weights], weights, total, width)


def _window_hits(hits: list[tuple[int, str]], weights: dict[str, float], total: float, width: int) -> float:
    """:func:`window_share` from the question terms' (position, term) hits in the passage."""
    if not hits:
        return 0.0
    best = 0.0
    inside: dict[str, int] = {}
    mass = 0.0
    lo = 0
    for i, term in hits:
        n = inside.get(term, 0)
        if n == 0:
            mass += weights[term]
        inside[term] = n + 1
        while hits[lo][0] <= i - width:
            old = hits[lo][1]
            inside[old] -= 1
            if inside[old] == 0:
                mass -= weights[old]
            lo += 1
        if mass > best:
            best = mass
    return best / total


def passage_features(
    query: Query, bm25: float, info: PassageTerms, text: str
) -> tuple[tuple[float, ...], int, set[str]]:
    """The per-passage features of one passage (``document`` left 0), its best sentence, and the
    question terms that the passage contains.

    Every feature depends only on where the question's terms occur, so the passage's terms are
    scanned once (in C) for those positions and the rest is done on the few hits.
    """
    weights, total = query.weights, query.total
    terms = info.terms
    positions = list(compress(count(), map(weights.__contains__, terms)))
    hits = [(p, terms[p]) for p in positions]
    present = {t for _, t in hits}
    cov = sum(w for t, w in weights.items() if t in present) / total
    # Question terms per sentence (only sentences with a hit; the others weigh 0).
    starts = info.starts
    by_sentence: dict[int, set[str]] = {}
    for p, t in hits:
        k = bisect_right(starts, p) - 1
        found = by_sentence.get(k)
        if found is None:
            by_sentence[k] = {t}
        else:
            found.add(t)
    best_sent, best_mass = 0, 0.0
    pair = 0.0
    if by_sentence:
        masses = {k: sum(w for t, w in weights.items() if t in found) for k, found in by_sentence.items()}
        for k, mass in masses.items():
            if mass > best_mass or (mass == best_mass and k < best_sent):
                best_sent, best_mass = k, mass
        last = len(starts) - 1
        for k, found in by_sentence.items():
            if k > 0 and k - 1 not in by_sentence:  # (k - 1, k) where only k has hits
                pair = max(pair, masses[k])
            if k < last:
                after = by_sentence.get(k + 1)
                if after is None:
                    pair = max(pair, masses[k])
                else:
                    both = found | after
                    pair = max(pair, sum(w for t, w in weights.items() if t in both))
    sent = best_mass / total
    pair = max(sent, pair / total) if len(starts) > 1 else sent
    window = _window_hits(hits, weights, total, WINDOW)
    bigrams = 0.0
    if query.pairs_total > 0 and len(hits) > 1:
        pairs = query.pairs
        adjacent = {(t, hits[n + 1][1]) for n, (p, t) in enumerate(hits[:-1]) if hits[n + 1][0] == p + 1}
        present_pairs = {pp for pp in pairs if pp in adjacent}
        if present_pairs:
            bigrams = sum(weights[a] + weights[b] for a, b in present_pairs) / query.pairs_total
    number = 0.0
    if query.wants_number:
        a, b = info.spans[best_sent]
        number = 1.0 if _DIGIT.search(text, a, b) else 0.0
    bm25_share = bm25 / query.bm25_max if query.bm25_max > 0 else 0.0
    return (bm25_share, cov, sent, window, bigrams, number, pair, 0.0), best_sent, present


Row = tuple[int, float, str, tuple[float, ...], int, set[str]]  # passage, BM25, document, features, sentence, terms


def rerank(query: Query, rows: Sequence[Row], coef: Sequence[float]) -> list[Candidate]:
    """Fill in each row's ``document`` feature and order the candidates by the linear reranker.

    The document feature is how much of the question the candidates of the same document cover
    together (only the question's terms count, so the union of the terms each candidate has is enough).
    """
    union: dict[str, set[str]] = {}
    for _, _, doc, _, _, present in rows:
        found = union.get(doc)
        if found is None:
            union[doc] = set(present)
        else:
            found |= present
    weights, total = query.weights, query.total
    doc_cov = {doc: sum(w for t, w in weights.items() if t in terms) / total for doc, terms in union.items()}
    candidates = []
    for i, score, doc, feats, best_sent, _ in rows:
        full = (*feats[:-1], doc_cov[doc])
        score_here = sum(c * f for c, f in zip(coef, full, strict=True))
        candidates.append(Candidate(i, score, full, score_here, best_sent))
    candidates.sort(key=lambda c: (-c.score, -c.bm25, c.passage))
    return candidates
