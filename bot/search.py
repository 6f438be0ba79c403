"""BM25 search with rank-bm25's ``BM25Okapi`` semantics and a fast query path.

Instead of scoring every passage for every question (``BM25Okapi.get_scores``), the index keeps,
for each term, the passages that contain it and that term's full BM25 contribution in each
(``idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))``), computed once at build time.
A question is then a handful of numpy scatter-adds over those postings.

Shapes: ``offsets[t]:offsets[t+1]`` slices ``post_docs`` (int32 passage numbers) and
``post_weights`` (float64) for term id ``t``; ``doc_len`` is the analysed length of each passage.

Building is the expensive part, so :meth:`BM25Index.from_texts` avoids Python work per token
where it can: a passage whose text needs no regular expression (no dotted acronym, and every
non-ASCII character a letter or digit or common punctuation) is split with ``bytes.translate``
and ``bytes.split`` and its words are mapped to term ids by a C-level ``map`` over a dict; the
index itself is one in-place sort of int64 ``(term, passage)`` keys.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from bot.analysis import Analyzer, SurfaceCache
from bot.config import SearchSettings

#: BM25Okapi parameters -- term saturation ``k1``, length normalisation ``b``, IDF floor ``epsilon``
#: -- are the ``search`` settings: one class, one default per value (k1 1.2, as config.yaml says).
BM25Params = SearchSettings


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
        keys = np.asarray(term_ids).astype(np.int64)
        keys *= max(n_docs, 1)
        keys += np.asarray(doc_ids)
        self._build(vocab, keys, n_docs, params)

    def _build(self, vocab: dict[str, int], keys: np.ndarray, n_docs: int, params: BM25Params) -> None:
        """Fill the index from int64 ``term * n_docs + passage`` keys (sorted in place; negatives ignored)."""
        self.params = params
        self.vocab = vocab
        self.n_docs = n_docs
        n_terms = len(vocab)
        span = max(n_docs, 1)
        keys.sort()
        keys = keys[int(np.searchsorted(keys, 0)) :]  # stopwords carry term id -1
        n = keys.size
        # Unique (term, passage) pairs and their term frequency: runs of equal keys.
        new = np.empty(n, dtype=bool)
        if n:
            new[0] = True
            np.not_equal(keys[1:], keys[:-1], out=new[1:])
        starts = np.flatnonzero(new)
        del new
        tf = np.diff(starts, append=n).astype(np.float64)
        unique = keys[starts]
        del keys, starts
        self.offsets = np.searchsorted(unique, np.arange(n_terms + 1, dtype=np.int64) * span).astype(np.int64)
        unique %= span
        self.post_docs = unique.astype(np.int32)
        del unique
        self.df = np.diff(self.offsets)
        self.doc_len = np.bincount(self.post_docs, weights=tf, minlength=n_docs).astype(np.float64)
        total = float(self.doc_len.sum())
        self.avgdl = total / n_docs if n_docs else 0.0
        self.idf = self._okapi_idf(self.df, n_docs, params.epsilon)
        k1, b = params.k1, params.b
        avgdl = self.avgdl if self.avgdl > 0 else 1.0
        # Same operations, in the same order, as BM25Okapi.get_scores, so each weight is identical.
        doc_norm = k1 * (1.0 - b + b * self.doc_len / avgdl)
        denom = doc_norm[self.post_docs]
        denom += tf
        tf *= k1 + 1.0
        tf /= denom
        del denom
        tf *= np.repeat(self.idf, self.df)
        self.post_weights = tf

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
        vocab = _Vocab()
        term_ids = array("i")
        counts = array("i")
        for doc in docs:
            term_ids.extend(map(vocab.__getitem__, doc))
            counts.append(len(doc))
        return cls._from_ids(dict(vocab), term_ids, counts, params or BM25Params())

    @classmethod
    def from_texts(cls, texts: Iterable[str], analyzer: Analyzer, params: BM25Params | None = None) -> BM25Index:
        """Analyse and index raw passage texts in bulk, with the terms :meth:`Analyzer.analyze` gives."""
        vocab: dict[str, int] = {}
        term_of = analyzer.term_of

        def term_id(surface: str) -> int:
            term = term_of(surface)
            if term is None:
                return -1
            tid = vocab.get(term)
            if tid is None:
                tid = vocab[term] = len(vocab)
            return tid

        by_text = SurfaceCache(term_id)
        by_bytes = SurfaceCache(lambda raw: term_id(raw.decode("utf-8")))
        split = analyzer.byte_words
        findall = analyzer.pattern.findall
        is_shouting = analyzer.is_shouting
        ids = array("i")
        counts = array("i")
        get_text, get_bytes = by_text.__getitem__, by_bytes.__getitem__
        for text in texts:
            before = len(ids)
            shouting = is_shouting(text)
            words = split(text, shouting)
            if words is not None:
                ids.extend(map(get_bytes, words))
            elif shouting:
                ids.extend(map(get_text, [s.lower() for s in findall(text)]))
            else:
                ids.extend(map(get_text, findall(text)))
            counts.append(len(ids) - before)
        del by_text, by_bytes
        if analyzer.phrases:
            return cls._from_ids(vocab, ids, counts, params or BM25Params(), analyzer)
        return cls._from_ids(vocab, ids, counts, params or BM25Params())

    @classmethod
    def _from_ids(
        cls,
        vocab: dict[str, int],
        ids: array,
        counts: array,
        params: BM25Params,
        analyzer: Analyzer | None = None,
    ) -> BM25Index:
        """Index from every passage's term ids in order (-1 for stopwords) and its token count."""
        n_docs = len(counts)
        span = max(n_docs, 1)
        term_ids = np.frombuffer(ids, dtype=np.int32) if len(ids) else np.zeros(0, np.int32)
        per_doc = np.frombuffer(counts, dtype=np.int32) if n_docs else np.zeros(0, np.int32)
        keys = term_ids.astype(np.int64)
        keys *= span
        keys += np.repeat(np.arange(n_docs, dtype=np.int32), per_doc)
        if analyzer is not None:
            extra = _phrase_keys(analyzer, vocab, keys, span)
            if extra.size:
                keys = np.concatenate([keys, extra])
        del term_ids, per_doc, ids, counts
        self = cls.__new__(cls)
        self._build(vocab, keys, n_docs, params)
        return self

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
        slices = [(int(self.offsets[tid]), int(self.offsets[tid + 1]), count) for tid, count in weights]
        slices = [s for s in slices if s[1] > s[0]]
        if not slices:
            return []
        scores = np.zeros(self.n_docs, dtype=np.float64)
        post_docs, post_weights = self.post_docs, self.post_weights
        for n, (lo, hi, count) in enumerate(slices):
            weights_here = post_weights[lo:hi] if count == 1 else count * post_weights[lo:hi]
            if n == 0:  # 0 + w == w: assigning the first term's weights saves a gather
                scores[post_docs[lo:hi]] = weights_here
            else:
                scores[post_docs[lo:hi]] += weights_here
        if len(slices) == 1:
            candidates = post_docs[slices[0][0] : slices[0][1]]  # already sorted and distinct
        elif sum(hi - lo for lo, hi, _ in slices) * 8 < self.n_docs:
            candidates = np.unique(np.concatenate([post_docs[lo:hi] for lo, hi, _ in slices]))
        else:
            matched = np.zeros(self.n_docs, dtype=bool)
            for lo, hi, _ in slices:
                matched[post_docs[lo:hi]] = True
            candidates = np.flatnonzero(matched)
        if exclude is not None:
            candidates = candidates[~exclude[candidates]]
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

    def term_postings(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every posting as three parallel arrays: passage (int32), term id (int32), BM25 weight (float64).

        A passage's term vector, for clustering or similarity; ``term_names()[id]`` names a term id.
        The arrays are the index's own or views of them: read them, never write.
        """
        term_ids = np.repeat(np.arange(len(self.df), dtype=np.int32), self.df)
        return self.post_docs, term_ids, self.post_weights

    def term_names(self) -> list[str]:
        """The terms, indexed by term id."""
        names = [""] * len(self.vocab)
        for term, tid in self.vocab.items():
            names[tid] = term
        return names

    @property
    def memory_bytes(self) -> int:
        """Bytes held by the index arrays."""
        arrays = (self.post_docs, self.post_weights, self.offsets, self.df, self.idf, self.doc_len)
        return sum(a.nbytes for a in arrays)

    # ------------------------------------------------------------------ read-only query API
    # Other modules read the index only through these methods, never its arrays.

    def term_id(self, term: str) -> int | None:
        """The term's id in this index, or None when the index has never seen it."""
        return self.vocab.get(term)

    def df_of(self, term: str) -> int:
        """How many passages contain ``term`` (0 for a term the index lacks)."""
        tid = self.vocab.get(term)
        return 0 if tid is None else int(self.df[tid])

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """The passages that contain ``term`` and the term's BM25 weight in each.

        Two arrays of equal length ``df_of(term)``: passage numbers (int32, ascending, distinct) and
        the exact ``BM25Okapi`` contribution of one occurrence of the term in the query (float64).
        Both are empty for a term the index lacks. Read-only views: do not modify them.
        """
        tid = self.vocab.get(term)
        if tid is None:
            docs, weights = np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float64)
        else:
            lo, hi = int(self.offsets[tid]), int(self.offsets[tid + 1])
            docs, weights = self.post_docs[lo:hi], self.post_weights[lo:hi]
        docs.flags.writeable = False
        weights.flags.writeable = False
        return docs, weights

    def known_idf(self) -> np.ndarray:
        """The IDF (float64, one value per term, in term-id order) of every term some passage has."""
        return self.idf[self.df > 0]

    def passage_weight_mass(self) -> np.ndarray:
        """For each passage (float64, shape ``(n_docs,)``): the sum over its distinct terms of the
        term's BM25 weight in it times the term's document frequency -- how typical of the corpus
        the passage's vocabulary is."""
        post_terms = np.repeat(np.arange(len(self.df)), self.df)
        return np.bincount(self.post_docs, weights=self.post_weights * self.df[post_terms], minlength=self.n_docs)


class _Vocab(dict):
    """term -> id, giving each new term the next id on first lookup (``map``-able ``__getitem__``)."""

    def __missing__(self, term: str) -> int:
        tid = self[term] = len(self)
        return tid


def _phrase_keys(analyzer: Analyzer, vocab: dict[str, int], keys: np.ndarray, span: int) -> np.ndarray:
    """Keys of the alias-group term added for each alias phrase found in a passage's term sequence.

    ``keys`` are ``term * span + passage`` per token in passage order, with stopwords negative; a
    phrase is matched on the sequence without stopwords, within one passage.
    """
    words = keys[keys >= 0]
    if words.size == 0:
        return np.zeros(0, dtype=np.int64)
    terms = words // span
    docs = words - terms * span
    del words
    n = terms.size
    extra: list[np.ndarray] = []
    for seq, canonical in analyzer.phrases:
        ids = [vocab.get(t) for t in seq]
        length = len(seq)
        if any(i is None for i in ids) or n < length:
            continue
        where = np.flatnonzero(terms[: n - length + 1] == ids[0])
        for offset in range(1, length):
            if where.size == 0:
                break
            nxt = where + offset
            where = where[(terms[nxt] == ids[offset]) & (docs[nxt] == docs[where])]
        if where.size:
            cid = vocab.setdefault(canonical, len(vocab))
            extra.append(cid * span + docs[where])
    return np.concatenate(extra) if extra else np.zeros(0, dtype=np.int64)
