"""BM25 search with rank-bm25's ``BM25Okapi`` semantics and a fast query path.

Instead of scoring every passage for every question (``BM25Okapi.get_scores``), the index keeps,
for each term, the passages that contain it and that term's full BM25 contribution in each
(``idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))``), computed once at build time.
A question is then a handful of numpy scatter-adds over those postings.

Shapes: ``offsets[t]:offsets[t+1]`` slices ``post_docs`` (int32 passage numbers) and
``post_weights`` (float64) for term id ``t``; ``doc_len`` is the analysed length of each passage.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from bot.analysis import Analyzer


@dataclass(frozen=True)
class BM25Params:
    """BM25Okapi parameters: term saturation ``k1``, length normalisation ``b``, IDF floor ``epsilon``."""

    k1: float = 1.5
    b: float = 0.75
    epsilon: float = 0.25


class BM25Index:
    """A term -> (passages, weights) postings index that scores exactly like ``BM25Okapi``."""

    def __init__(
        self,
        vocab: dict[str, int],
        term_ids: np.ndarray,
        doc_ids: np.ndarray,
        n_docs: int,
        params: BM25Params,
    ) -> None:
        """Build from one (term id, passage) pair per analysed token; ``vocab`` maps term -> id."""
        self.params = params
        self.vocab = vocab
        self.n_docs = n_docs
        n_terms = len(vocab)
        self.doc_len = np.bincount(doc_ids, minlength=n_docs).astype(np.float64)
        total = float(self.doc_len.sum())
        self.avgdl = total / n_docs if n_docs else 0.0
        # Unique (term, passage) pairs with their term frequency, sorted term-major.
        keys = term_ids.astype(np.int64) * max(n_docs, 1) + doc_ids.astype(np.int64)
        keys, tf = np.unique(keys, return_counts=True)
        post_terms = (keys // max(n_docs, 1)).astype(np.int64)
        self.post_docs = (keys % max(n_docs, 1)).astype(np.int32)
        del keys
        df = np.bincount(post_terms, minlength=n_terms)
        self.offsets = np.zeros(n_terms + 1, dtype=np.int64)
        np.cumsum(df, out=self.offsets[1:])
        self.df = df
        self.idf = self._okapi_idf(df, n_docs, params.epsilon)
        k1, b = params.k1, params.b
        avgdl = self.avgdl if self.avgdl > 0 else 1.0
        tf = tf.astype(np.float64)
        norm = k1 * (1.0 - b + b * self.doc_len[self.post_docs] / avgdl)
        self.post_weights = self.idf[post_terms] * (tf * (k1 + 1.0) / (tf + norm))

    @staticmethod
    def _okapi_idf(df: np.ndarray, n_docs: int, epsilon: float) -> np.ndarray:
        """IDF as BM25Okapi computes it: negative values are replaced by ``epsilon`` x mean IDF."""
        present = df > 0
        idf = np.zeros(len(df), dtype=np.float64)
        raw = np.log(n_docs - df[present] + 0.5) - np.log(df[present] + 0.5)
        if raw.size:
            eps = epsilon * (raw.sum() / raw.size)
            raw = np.where(raw < 0, eps, raw)
        idf[present] = raw
        return idf

    @classmethod
    def from_tokenized(cls, docs: Sequence[Sequence[str]], params: BM25Params | None = None) -> BM25Index:
        """Index already-tokenized passages (as ``BM25Okapi(docs)`` would)."""
        vocab: dict[str, int] = {}
        term_ids = array("i")
        doc_ids = array("i")
        for i, doc in enumerate(docs):
            for term in doc:
                tid = vocab.get(term)
                if tid is None:
                    tid = vocab[term] = len(vocab)
                term_ids.append(tid)
            doc_ids.extend([i] * len(doc))
        return cls(
            vocab,
            np.frombuffer(term_ids, dtype=np.int32),
            np.frombuffer(doc_ids, dtype=np.int32),
            len(docs),
            params or BM25Params(),
        )

    @classmethod
    def from_texts(cls, texts: Iterable[str], analyzer: Analyzer, params: BM25Params | None = None) -> BM25Index:
        """Analyse and index raw passage texts in bulk (the fast path of :meth:`Analyzer.analyze`)."""
        vocab: dict[str, int] = {}
        surface_ids: dict[str, int] = {}
        term_of = analyzer.term_of

        def surface_id(surface: str) -> int:
            term = term_of(surface)
            if term is None:
                tid = -1
            else:
                tid = vocab.get(term, -1)
                if tid < 0:
                    tid = vocab[term] = len(vocab)
            surface_ids[surface] = tid
            return tid

        findall = analyzer.pattern.findall
        is_shouting = analyzer.is_shouting
        ids = array("i")
        counts = array("i")
        n_docs = 0
        lookup = surface_ids.get
        for text in texts:
            surfaces = findall(text)
            if is_shouting(text):
                surfaces = [s.lower() for s in surfaces]
            before = len(ids)
            ids.extend([tid if (tid := lookup(s)) is not None else surface_id(s) for s in surfaces])
            counts.append(len(ids) - before)
            n_docs += 1
        term_ids = np.frombuffer(ids, dtype=np.int32)
        doc_ids = np.repeat(np.arange(n_docs, dtype=np.int32), np.frombuffer(counts, dtype=np.int32))
        keep = term_ids >= 0
        term_ids, doc_ids = term_ids[keep], doc_ids[keep]
        if analyzer.phrases:
            term_ids, doc_ids = _add_phrase_terms(analyzer, vocab, term_ids, doc_ids)
        return cls(vocab, term_ids, doc_ids, n_docs, params or BM25Params())

    def query_weights(self, terms: Sequence[str]) -> list[tuple[int, int]]:
        """(term id, count) for each distinct query term the index knows."""
        out = []
        for term, count in Counter(terms).items():
            tid = self.vocab.get(term)
            if tid is not None:
                out.append((tid, count))
        return out

    def get_scores(self, terms: Sequence[str]) -> np.ndarray:
        """Scores of every passage for the query terms, equal to ``BM25Okapi.get_scores``."""
        scores = np.zeros(self.n_docs, dtype=np.float64)
        for tid, count in self.query_weights(terms):
            lo, hi = self.offsets[tid], self.offsets[tid + 1]
            if count == 1:
                scores[self.post_docs[lo:hi]] += self.post_weights[lo:hi]
            else:
                scores[self.post_docs[lo:hi]] += count * self.post_weights[lo:hi]
        return scores

    def top(self, terms: Sequence[str], k: int, exclude: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The ``k`` best passages that contain at least one query term, as (passage, score).

        Ties are broken by passage order. ``exclude`` is a boolean mask of passages to leave out.
        """
        weights = self.query_weights(terms)
        if not weights or k <= 0:
            return []
        scores = np.zeros(self.n_docs, dtype=np.float64)
        matched = np.zeros(self.n_docs, dtype=bool)
        for tid, count in weights:
            lo, hi = self.offsets[tid], self.offsets[tid + 1]
            docs = self.post_docs[lo:hi]
            scores[docs] += count * self.post_weights[lo:hi] if count != 1 else self.post_weights[lo:hi]
            matched[docs] = True
        if exclude is not None:
            matched &= ~exclude
        candidates = np.flatnonzero(matched)
        if candidates.size == 0:
            return []
        cand_scores = scores[candidates]
        if candidates.size > k:
            part = np.argpartition(-cand_scores, k - 1)[:k]
            # Keep every candidate tied with the k-th score so the tie-break by position is exact.
            kth = cand_scores[part].min()
            part = np.flatnonzero(cand_scores >= kth)
            candidates, cand_scores = candidates[part], cand_scores[part]
        order = np.lexsort((candidates, -cand_scores))[:k]
        return [(int(candidates[i]), float(cand_scores[i])) for i in order]

    def idf_of(self, term: str) -> float:
        """The term's IDF; a term the corpus lacks gets the IDF of a term seen in no passage."""
        tid = self.vocab.get(term)
        if tid is None or self.df[tid] == 0:
            return math.log(self.n_docs + 0.5) - math.log(0.5)
        return float(self.idf[tid])

    def contains(self, term: str) -> bool:
        """Whether any passage has this term."""
        tid = self.vocab.get(term)
        return tid is not None and self.df[tid] > 0

    @property
    def memory_bytes(self) -> int:
        """Bytes held by the index arrays."""
        arrays = (self.post_docs, self.post_weights, self.offsets, self.df, self.idf, self.doc_len)
        return sum(a.nbytes for a in arrays)


def _add_phrase_terms(
    analyzer: Analyzer, vocab: dict[str, int], term_ids: np.ndarray, doc_ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Append an alias-group term for each alias phrase found in a passage's term sequence."""
    extra_terms: list[np.ndarray] = []
    extra_docs: list[np.ndarray] = []
    n = len(term_ids)
    for seq, canonical in analyzer.phrases:
        ids = [vocab.get(t) for t in seq]
        if any(i is None for i in ids) or n < len(seq):
            continue
        span = len(seq)
        hit = term_ids[: n - span + 1] == ids[0]
        for offset in range(1, span):
            hit &= term_ids[offset : n - span + 1 + offset] == ids[offset]
            hit &= doc_ids[offset : n - span + 1 + offset] == doc_ids[: n - span + 1]
        where = np.flatnonzero(hit)
        if where.size:
            cid = vocab.setdefault(canonical, len(vocab))
            extra_terms.append(np.full(where.size, cid, dtype=np.int32))
            extra_docs.append(doc_ids[where])
    if not extra_terms:
        return term_ids, doc_ids
    return np.concatenate([term_ids, *extra_terms]), np.concatenate([doc_ids, *extra_docs])
