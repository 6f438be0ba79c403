"""BM25 search with rank-bm25's ``BM25Okapi`` semantics, compact postings and a pruned top-k.

For each term the index keeps the passages that contain it (``post_docs``, int32, ascending)
and how often (``post_tf``, uint16); a passage's length normalisation ``k1 * (1 - b + b * dl /
avgdl)`` is kept once per passage (``doc_norm``). A posting's BM25 contribution is computed
when it is read, with the same float64 operations in the same order as
``BM25Okapi.get_scores``, so every score is the one BM25Okapi gives.

Shapes: ``offsets[t]:offsets[t+1]`` slices ``post_docs`` and ``post_tf`` for term id ``t``;
``term_max[t]`` is the term's largest weight and ``post_impact`` (uint8) each posting's weight
in 255ths of it, rounded up (an upper bound read without computing the weight). Two query aids
are built with the postings and saved with them:

* **heads**: for a term in more than :data:`HEAD` passages, its postings of highest impact (at most
  :data:`HEAD`, ``head_pos[head_start[t]:head_start[t+1]]``, offsets from the term's first posting)
  and ``head_bound[t]``, the exact largest weight of any posting left out (-inf for a rarer term,
  whose head is all its postings);
* **dense rows**: for a term in at least 1/:data:`DENSE` of the passages, its frequency in every
  passage (``dense_tf[dense_row[t]]``, uint8, 255 meaning 255 or more), so finding a common term's
  frequency in a candidate is an indexing, not a binary search.

:meth:`BM25Index.top` never scores every passage. It scores the union of the question terms'
heads exactly: the k-th best of those is a true lower bound for the k-th best score, and every
passage outside the heads has, for each term, at most that term's head bound, far below its
largest weight for a common term. It then reads, MaxScore-style, the terms' remaining postings
while the passages left could still reach the k-th best score, cheapest term first; inside a term
only the postings whose impact bound can reach it, by descending impact, in growing batches, so
the threshold rises before the bulk of a common term is reached. Candidates are pruned term by
term with those bounds and every survivor is scored exactly over all the question's terms (a
dense row or a binary search in each term's postings), so the top k, its scores and the
tie-break by passage order are exact.

Building avoids Python work per token where it can: a passage whose text needs no regular
expression (no dotted acronym, and every non-ASCII character a letter or digit or common
punctuation) is split with ``bytes.translate`` and ``bytes.split`` and its words are mapped to
term ids by a C-level ``map`` over a dict. Passages are indexed in chunks (one sort of int64
``(term, passage)`` keys per chunk), and the chunks are laid out term by term at the end, so a
build never holds one key per token of the whole corpus; the layout reads the chunks front to back
and hands their pages back as it goes, so the postings are never held twice in full.
"""

from __future__ import annotations

import contextlib
import math
import mmap
import threading
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from bot.analysis import Analyzer, SurfaceCache
from bot.config import SearchSettings

BLOCK = 128
"""Postings per block when a build walks the postings to find each term's largest weight."""
CHUNK_TOKENS = 4_000_000
"""Tokens analysed before a chunk of passages is sorted into postings (bounds a build's memory)."""
_EXHAUSTIVE = 4096
"""Below this many postings in all, a question is scored without pruning (cheaper than bounding)."""
_MARGIN = 1e-9
"""Relative slack on every bound, so float rounding in a sum can never drop a tying passage."""
_PRUNE_AT = 64
"""Candidate sets larger than this are pruned term by term before they are scored exactly."""
_LAYOUT_BLOCK = 1 << 23
"""Postings laid out at a time when a build's chunks are merged into the final arrays."""
_MERGE_CHUNK = 1 << 20
"""Postings read at a time when an index is merged with re-analysed documents (bounds its memory)."""
HEAD = 1024
"""Largest head per term: its postings of highest weight, all scored first to set the k-th best score."""
BATCH = 8192
"""Postings in the first batch read from a term's tail (then twice as many each batch)."""
DENSE = 4
"""A term held by at least 1/DENSE of the passages keeps its frequencies in a dense row too (0: none)."""

Progress = Callable[[int, int], None]
"""Called as ``progress(passages_indexed, tokens_seen)`` while a build runs."""

#: BM25Okapi parameters -- term saturation ``k1``, length normalisation ``b``, IDF floor ``epsilon``
#: -- are the ``search`` settings: one class, one default per value (k1 1.2, as config.yaml says).
BM25Params = SearchSettings


class _Chunks:
    """Postings of consecutive chunks of passages, each sorted by (term, passage), before layout.

    Each chunk's passage ids and frequencies live in anonymous memory maps of their own, so the
    layout (:meth:`BM25Index._layout`), which reads every chunk front to back, can hand the pages
    it is done with back to the system while the final arrays fill: the postings are never held
    twice in full."""

    def __init__(self) -> None:
        self.counts: list[np.ndarray] = []  # per chunk: postings per term id (len = vocab size then)
        self.docs: list[np.ndarray] = []  # per chunk: int32 passage ids, by term then passage
        self.tf: list[np.ndarray] = []  # per chunk: term frequencies (uint16, or uint32 if larger), same order
        self.doc_len: list[np.ndarray] = []  # per chunk: its passages' lengths (float64)
        self.max_tf = 0

    def add(self, keys: np.ndarray, span: int, base: int, n_terms: int) -> None:
        """Add one chunk from int64 ``term * span + (passage - base)`` keys (negatives ignored)."""
        keys.sort()
        keys = keys[int(np.searchsorted(keys, 0)) :]
        n = keys.size
        new = np.empty(n, dtype=bool)
        if n:
            new[0] = True
            np.not_equal(keys[1:], keys[:-1], out=new[1:])
        starts = np.flatnonzero(new)
        del new
        tf = np.diff(starts, append=n)
        unique = keys[starts]
        del keys, starts
        terms = unique // span
        self.counts.append(np.bincount(terms, minlength=n_terms).astype(np.int64))
        unique -= terms * span
        del terms
        top = int(tf.max()) if tf.size else 0
        self.max_tf = max(self.max_tf, top)
        self.doc_len.append(np.bincount(unique, weights=tf, minlength=span)[:span])
        unique += base
        self.docs.append(_mapped(unique, np.int32))
        self.tf.append(_mapped(tf, np.uint16 if top <= np.iinfo(np.uint16).max else np.uint32))


def _mapped(values: np.ndarray, dtype: type) -> np.ndarray:
    """``values`` as ``dtype`` in an anonymous memory map of its own (see :func:`_release`)."""
    out = np.empty(0, dtype=dtype)
    if values.size:
        area = mmap.mmap(-1, values.size * np.dtype(dtype).itemsize)
        out = np.frombuffer(area, dtype=dtype)
        out[:] = values
    return out


def _release(array: np.ndarray, stop: int) -> None:
    """Hand back the whole pages of elements ``:stop`` of an array made by :func:`_mapped` (read no more)."""
    area = getattr(array.base, "obj", None)  # np.frombuffer's base is a memoryview of the map
    if not isinstance(area, mmap.mmap) or not hasattr(area, "madvise"):
        return
    end = stop * array.itemsize
    end -= end % mmap.PAGESIZE
    if end > 0:
        with contextlib.suppress(OSError, ValueError):
            area.madvise(mmap.MADV_DONTNEED, 0, end)


class BM25Index:
    """A term -> (passages, term frequencies) postings index that scores exactly like ``BM25Okapi``."""

    def __init__(
        self,
        vocab: dict[str, int],
        term_ids: np.ndarray,
        doc_ids: np.ndarray,
        n_docs: int,
        params: BM25Params,
    ) -> None:
        """Build from one (term id, passage) pair per analysed token; ``vocab`` maps term -> id."""
        span = max(n_docs, 1)
        keys = np.asarray(term_ids).astype(np.int64)
        keys *= span
        keys += np.asarray(doc_ids)
        chunks = _Chunks()
        chunks.add(keys, span, 0, len(vocab))
        self._layout(vocab, chunks, n_docs, params)

    # ------------------------------------------------------------------ building

    def _layout(self, vocab: dict[str, int], chunks: _Chunks, n_docs: int, params: BM25Params) -> None:
        """Lay the chunks' postings out term by term, then compute lengths, IDF and bounds."""
        n_terms = len(vocab)
        df = np.zeros(n_terms, dtype=np.int64)
        for counts in chunks.counts:
            df[: counts.size] += counts
        offsets = np.zeros(n_terms + 1, dtype=np.int64)
        np.cumsum(df, out=offsets[1:])
        total = int(offsets[-1])
        tf_type = np.uint16 if chunks.max_tf <= np.iinfo(np.uint16).max else np.uint32
        post_docs = np.empty(total, dtype=np.int32)
        post_tf = np.empty(total, dtype=tf_type)
        doc_len = np.zeros(n_docs, dtype=np.float64)
        at = 0
        for part in chunks.doc_len:
            part = part[: n_docs - at]
            doc_len[at : at + part.size] = part
            at += part.size
        chunks.doc_len = []
        # Term ranges of about _LAYOUT_BLOCK postings: every chunk's postings of one range go to
        # one stretch of the final arrays, and the chunk pages read are handed back after each.
        bounds = np.searchsorted(offsets, np.arange(0, total, _LAYOUT_BLOCK, dtype=np.int64), side="right") - 1
        bounds = np.unique(np.concatenate([[0], bounds, [n_terms]]))
        firsts = []
        for counts in chunks.counts:
            first = np.zeros(counts.size + 1, dtype=np.int64)
            np.cumsum(counts, out=first[1:])
            firsts.append(first)
        cursor = offsets[:-1].copy()
        for t0, t1 in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
            for c, counts in enumerate(chunks.counts):
                u1 = min(t1, counts.size)
                if u1 <= t0:
                    continue
                first = firsts[c]
                a, b = int(first[t0]), int(first[u1])
                if b > a:
                    block = counts[t0:u1]
                    term = np.repeat(np.arange(t0, u1, dtype=np.int64), block)
                    pos = np.arange(a, b, dtype=np.int64)
                    pos -= first[term]
                    pos += cursor[term]
                    del term
                    post_docs[pos] = chunks.docs[c][a:b]
                    post_tf[pos] = chunks.tf[c][a:b]
                    del pos
                    _release(chunks.docs[c], b)
                    _release(chunks.tf[c], b)
                cursor[t0:u1] += counts[t0:u1]
        chunks.counts, chunks.docs, chunks.tf = [], [], []
        self._finish(vocab, offsets, post_docs, post_tf, doc_len, n_docs, params)

    def _finish(
        self,
        vocab: dict[str, int],
        offsets: np.ndarray,
        post_docs: np.ndarray,
        post_tf: np.ndarray,
        doc_len: np.ndarray,
        n_docs: int,
        params: BM25Params,
    ) -> None:
        """Set the arrays and derive everything else from them (IDF, length norms, bounds, heads, dense rows)."""
        self.params = params
        self.vocab = vocab
        self.n_docs = n_docs
        self.offsets = offsets
        self.post_docs = post_docs
        self.post_tf = post_tf
        self.doc_len = doc_len
        self.df = np.diff(offsets)
        total = float(doc_len.sum())
        self.avgdl = total / n_docs if n_docs else 0.0
        self.idf = self._okapi_idf(self.df, n_docs, params.epsilon)
        k1, b = params.k1, params.b
        avgdl = self.avgdl if self.avgdl > 0 else 1.0
        # Same operations, in the same order, as BM25Okapi.get_scores, so each weight is identical.
        self.doc_norm = k1 * (1.0 - b + b * doc_len / avgdl)
        self._bounds()

    def _bounds(self) -> None:
        """Record each term's largest weight and each posting's one-byte impact, then the heads.

        The postings are walked in chunks of whole blocks of :data:`BLOCK` postings of one term
        (a block's maximum is one ``reduceat`` away), so no array per posting is held but the result.
        """
        n_terms = self.df.size
        n_blocks = -(-self.df // BLOCK)
        block_start = np.zeros(n_terms + 1, dtype=np.int64)
        np.cumsum(n_blocks, out=block_start[1:])
        total_blocks = int(block_start[-1])
        block_term = np.repeat(np.arange(n_terms, dtype=np.int64), n_blocks)
        rank = np.arange(total_blocks, dtype=np.int64) - block_start[block_term]
        block_pos = np.empty(total_blocks + 1, dtype=np.int64)
        block_pos[:-1] = self.offsets[block_term] + rank * BLOCK
        block_pos[-1] = self.offsets[-1]
        del rank
        block_max = np.empty(total_blocks, dtype=np.float64)
        step = max(1, _MERGE_CHUNK // BLOCK)  # blocks a pass: ~40 MB of temporaries (a reload's child peak)
        for b0 in range(0, total_blocks, step):
            b1 = min(b0 + step, total_blocks)
            p0, p1 = int(block_pos[b0]), int(block_pos[b1])
            lengths = np.diff(block_pos[b0 : b1 + 1])
            idf = np.repeat(self.idf[block_term[b0:b1]], lengths)
            weights = self._weights(p0, p1, idf)
            block_max[b0:b1] = np.maximum.reduceat(weights, block_pos[b0:b1] - p0)
        self.term_max = np.zeros(n_terms, dtype=np.float64)
        has = n_blocks > 0
        if total_blocks:
            self.term_max[has] = np.maximum.reduceat(block_max, block_start[:-1][has])
        # Each posting's weight as a share of its term's largest, rounded up to 1/255ths: a one-byte
        # upper bound that lets a query skip most postings of a common term without computing them.
        self.post_impact = np.empty(int(self.offsets[-1]), dtype=np.uint8)
        with np.errstate(over="ignore", divide="ignore"):  # a tiny maximum gives inf: clipped to 255 below
            scale = np.where(self.term_max > 0, 255.0 / np.where(self.term_max > 0, self.term_max, 1.0), 0.0)
        for b0 in range(0, total_blocks, step):
            b1 = min(b0 + step, total_blocks)
            p0, p1 = int(block_pos[b0]), int(block_pos[b1])
            lengths = np.diff(block_pos[b0 : b1 + 1])
            terms = np.repeat(block_term[b0:b1], lengths)
            weights = self._weights(p0, p1, self.idf[terms])
            weights *= scale[terms]
            np.ceil(weights, out=weights)
            weights[self.term_max[terms] <= 0] = 255.0  # no useful bound: never skip on it
            np.clip(weights, 0.0, 255.0, out=weights)
            self.post_impact[p0:p1] = weights
        del block_term, block_pos, block_max
        self._heads()

    def _heads(self) -> None:
        """Pick each common term's head: its postings of the highest one-byte impacts, at most :data:`HEAD`.

        ``head_pos[head_start[t]:head_start[t + 1]]`` are the positions of term ``t``'s head
        postings, counted from the term's first posting (int32), by descending impact; and
        ``head_bound[t]`` is the largest weight of any of its postings outside the head (exact:
        impacts grow with weights, so it is the largest weight of the highest impact left out). A
        term with at most :data:`HEAD` postings has no stored head (all its postings are its head)
        and a bound of -inf (no posting is left out).
        """
        n_terms = self.df.size
        big = np.flatnonzero(self.df > HEAD)
        sizes = np.zeros(n_terms, dtype=np.int64)
        self.head_bound = np.full(n_terms, -math.inf, dtype=np.float64)
        parts: list[np.ndarray] = []
        levels = np.arange(256)
        for t in big.tolist():
            lo, hi = int(self.offsets[t]), int(self.offsets[t + 1])
            impact = self.post_impact[lo:hi]
            above = np.cumsum(np.bincount(impact, minlength=256)[::-1])[::-1]  # above[i]: impact >= i
            level = int(levels[above <= HEAD][0]) if above[255] <= HEAD else 256
            left = np.flatnonzero(impact < level)
            top = int(impact[left].max())
            at = left[impact[left] == top] + lo
            self.head_bound[t] = float(self._weights_at(at, self.post_docs[at], float(self.idf[t])).max())
            if level <= 255:
                head = np.flatnonzero(impact >= level)
                head = head[np.argsort(-impact[head].astype(np.int16), kind="stable")]
                parts.append(head.astype(np.int32))
                sizes[t] = head.size
        self.head_start = np.zeros(n_terms + 1, dtype=np.int64)
        np.cumsum(sizes, out=self.head_start[1:])
        self.head_pos = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)
        self._dense()

    def _dense(self) -> None:
        """Give each term held by at least 1/:data:`DENSE` of the passages a row of ``dense_tf``: its
        frequency in every passage (uint8, 0 where absent, 255 for 255 or more), so a query finds a
        common term's frequency in a passage by indexing instead of a binary search.
        ``dense_row[t]`` is term ``t``'s row, or -1."""
        n_terms = self.df.size
        dense = np.flatnonzero(self.df * DENSE >= max(self.n_docs, 1)) if self.n_docs else np.zeros(0, np.int64)
        self.dense_row = np.full(n_terms, -1, dtype=np.int32)
        self.dense_row[dense] = np.arange(dense.size, dtype=np.int32)
        self.dense_tf = np.zeros((dense.size, self.n_docs), dtype=np.uint8)
        for row, t in enumerate(dense.tolist()):
            lo, hi = int(self.offsets[t]), int(self.offsets[t + 1])
            self.dense_tf[row, self.post_docs[lo:hi]] = np.minimum(self.post_tf[lo:hi], 255)

    def _weights(self, lo: int, hi: int, idf: float | np.ndarray) -> np.ndarray:
        """Exact BM25 contributions of postings ``lo:hi`` (float64), as ``BM25Okapi.get_scores`` adds them."""
        tf = self.post_tf[lo:hi].astype(np.float64)
        denom = self.doc_norm[self.post_docs[lo:hi]]
        denom += tf
        tf *= self.params.k1 + 1.0
        tf /= denom
        tf *= idf
        return tf

    def _weights_at(self, positions: np.ndarray, docs: np.ndarray, idf: float) -> np.ndarray:
        """Exact contributions of the postings at ``positions`` (passages ``docs``) of one term."""
        return self._weights_of(self.post_tf[positions].astype(np.float64), docs, idf)

    def _weights_of(self, tf: np.ndarray, docs: np.ndarray, idf: float) -> np.ndarray:
        """Exact contributions of one term with frequencies ``tf`` (float64, overwritten) in passages ``docs``."""
        denom = self.doc_norm[docs]
        denom += tf
        tf *= self.params.k1 + 1.0
        tf /= denom
        tf *= idf
        return tf

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

    ARRAYS = (
        "offsets",
        "post_docs",
        "post_tf",
        "doc_len",
        "df",
        "idf",
        "doc_norm",
        "term_max",
        "post_impact",
        "head_start",
        "head_pos",
        "head_bound",
        "dense_row",
        "dense_tf",
    )
    """The arrays that make up an index (all a saved index needs besides the vocabulary and scalars)."""

    def state(self) -> tuple[dict[str, np.ndarray], dict[str, float | int]]:
        """The index's arrays and scalars, as :meth:`from_state` takes them back (for saving)."""
        arrays = {name: getattr(self, name) for name in self.ARRAYS}
        scalars: dict[str, float | int] = {
            "n_docs": self.n_docs,
            "avgdl": self.avgdl,
            "k1": self.params.k1,
            "b": self.params.b,
            "epsilon": self.params.epsilon,
        }
        return arrays, scalars

    @classmethod
    def from_state(
        cls, vocab: dict[str, int], arrays: dict[str, np.ndarray], scalars: dict[str, float | int]
    ) -> BM25Index:
        """An index from :meth:`state`'s arrays (e.g. memory-mapped from a saved index), without rebuilding."""
        self = cls.__new__(cls)
        self.params = BM25Params(float(scalars["k1"]), float(scalars["b"]), float(scalars["epsilon"]))
        self.vocab = vocab
        self.n_docs = int(scalars["n_docs"])
        self.avgdl = float(scalars["avgdl"])
        for name in cls.ARRAYS:
            setattr(self, name, arrays[name])
        return self

    def terms(self) -> list[str]:
        """Every term, in term-id order (what a saved index writes as its vocabulary)."""
        terms = [""] * len(self.vocab)
        for term, tid in self.vocab.items():
            terms[tid] = term
        return terms

    def consistent(self, n_terms: int, n_docs: int) -> bool:
        """Whether the arrays fit each other, ``n_terms`` terms and ``n_docs`` passages (a loaded
        index is checked with this before it is used)."""
        n_post = int(self.offsets[-1]) if self.offsets.size else -1
        return bool(
            len(self.vocab) == n_terms
            and self.offsets.size == n_terms + 1
            and n_post == self.post_docs.size == self.post_tf.size == self.post_impact.size
            and self.doc_len.size == self.doc_norm.size == self.n_docs == n_docs
            and self.df.size == self.idf.size == self.term_max.size == n_terms
            and self.head_start.size == n_terms + 1
            and self.head_bound.size == n_terms
            and (int(self.head_start[-1]) if self.head_start.size else -1) == self.head_pos.size
            and self.dense_row.size == n_terms
            and self.dense_tf.shape == (int(np.count_nonzero(self.dense_row >= 0)), n_docs)
            and self.post_docs.dtype == np.int32
        )

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
    def from_texts(
        cls,
        texts: Iterable[str],
        analyzer: Analyzer,
        params: BM25Params | None = None,
        progress: Progress | None = None,
    ) -> BM25Index:
        """Analyse and index raw passage texts in bulk, with the terms :meth:`Analyzer.analyze` gives.

        ``progress(passages, tokens)`` is called after each chunk of passages, if given.
        """
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
        phrases = analyzer if analyzer.phrases else None
        chunks = _Chunks()
        ids = array("i")
        counts = array("i")
        base = 0
        tokens = 0
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
            if progress is not None and not len(counts) & 4095:
                progress(base + len(counts), tokens + len(ids))
            if len(ids) >= CHUNK_TOKENS:
                tokens += len(ids)
                base = cls._add_chunk(chunks, vocab, ids, counts, base, phrases)
                ids, counts = array("i"), array("i")
                if progress is not None:
                    progress(base, tokens)
        tokens += len(ids)
        base = cls._add_chunk(chunks, vocab, ids, counts, base, phrases)
        del by_text, by_bytes
        if progress is not None:
            progress(base, tokens)
        self = cls.__new__(cls)
        self._layout(vocab, chunks, base, params or BM25Params())
        return self

    @staticmethod
    def _add_chunk(
        chunks: _Chunks, vocab: dict[str, int], ids: array, counts: array, base: int, analyzer: Analyzer | None
    ) -> int:
        """Sort one chunk of passages' term ids (-1 for stopwords) into postings; returns the next passage id."""
        n = len(counts)
        if n == 0:
            return base
        span = n
        term_ids = np.frombuffer(ids, dtype=np.int32) if len(ids) else np.zeros(0, np.int32)
        per_doc = np.frombuffer(counts, dtype=np.int32)
        keys = term_ids.astype(np.int64)
        keys *= span
        keys += np.repeat(np.arange(n, dtype=np.int64), per_doc)
        if analyzer is not None:
            extra = _phrase_keys(analyzer, vocab, keys, span)
            if extra.size:
                keys = np.concatenate([keys, extra])
        del term_ids, per_doc
        chunks.add(keys, span, base, len(vocab))
        return base + n

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
        chunks = _Chunks()
        n_docs = cls._add_chunk(chunks, vocab, ids, counts, 0, analyzer)
        self = cls.__new__(cls)
        self._layout(vocab, chunks, n_docs, params)
        return self

    def updated(self, doc_map: np.ndarray, fresh: BM25Index, fresh_ids: np.ndarray, n_docs: int) -> BM25Index:
        """A new index: this one's postings renumbered by ``doc_map`` plus ``fresh``'s.

        ``doc_map[p]`` is the new number of this index's passage ``p``, or -1 if it is gone (kept
        passages must keep their relative order); ``fresh`` indexes the passages analysed anew,
        whose new numbers are ``fresh_ids`` (ascending). Lengths, IDF and bounds are recomputed,
        so the result equals an index built from scratch over the new passages.
        """
        vocab = dict(self.vocab)
        fresh_terms: list[int] = [0] * len(fresh.vocab)
        for term, fid in fresh.vocab.items():
            fresh_terms[fid] = vocab.setdefault(term, len(vocab))
        n_terms = len(vocab)
        total = int(self.offsets[-1])
        tf_type = np.promote_types(self.post_tf.dtype, fresh.post_tf.dtype)
        # Pass 1: the postings of passages that are gone (few: those of changed documents).
        step = _MERGE_CHUNK
        gone_parts = []
        for p0 in range(0, total, step):
            mapped = doc_map[self.post_docs[p0 : p0 + step]]
            gone_parts.append(np.flatnonzero(mapped < 0) + p0)
            _drop_pages(self.post_docs, p0, p0 + step)
        gone = np.concatenate(gone_parts) if gone_parts else np.zeros(0, dtype=np.int64)
        del gone_parts
        removed = np.zeros(n_terms, dtype=np.int64)
        if gone.size:
            terms = np.searchsorted(self.offsets, gone, side="right") - 1
            removed[: self.df.size] += np.bincount(terms, minlength=self.df.size)
        kept_df = np.zeros(n_terms, dtype=np.int64)
        kept_df[: self.df.size] = self.df
        kept_df -= removed
        kept_offsets = np.zeros(n_terms + 1, dtype=np.int64)
        np.cumsum(kept_df, out=kept_offsets[1:])
        n_kept = int(kept_offsets[-1])
        # Where each fresh posting goes: before old posting ``at`` (an old position), found by a
        # binary search in its term's old postings for the first kept passage numbered after it.
        kept_old = np.flatnonzero(doc_map >= 0)
        kept_new = doc_map[kept_old]
        fresh_df = np.zeros(n_terms, dtype=np.int64)
        where: list[np.ndarray] = []
        docs: list[np.ndarray] = []
        tfs: list[np.ndarray] = []
        for fid in sorted(range(len(fresh_terms)), key=fresh_terms.__getitem__):
            lo, hi = int(fresh.offsets[fid]), int(fresh.offsets[fid + 1])
            if hi == lo:
                continue
            tid = fresh_terms[fid]
            new_docs = fresh_ids[fresh.post_docs[lo:hi]]
            if tid < self.df.size:
                o0, o1 = int(self.offsets[tid]), int(self.offsets[tid + 1])
                rank = np.searchsorted(kept_new, new_docs)
                first_after = np.where(rank < kept_old.size, kept_old[np.minimum(rank, kept_old.size - 1)], self.n_docs)
                where.append(np.searchsorted(self.post_docs[o0:o1], first_after) + o0)
            else:  # a term the old index lacks: after every old posting
                where.append(np.full(hi - lo, total, dtype=np.int64))
            docs.append(new_docs.astype(np.int32))
            tfs.append(fresh.post_tf[lo:hi])
            fresh_df[tid] = hi - lo
        at = np.concatenate(where) if where else np.zeros(0, dtype=np.int64)
        fresh_docs = np.concatenate(docs) if docs else np.zeros(0, dtype=np.int32)
        fresh_tf = np.concatenate(tfs).astype(tf_type) if tfs else np.zeros(0, dtype=tf_type)
        del where, docs, tfs
        # Every posting written once, in runs: old postings between two events (a fresh posting to
        # insert, an old one to drop) are copied as a slice, their passages renumbered.
        post_docs = np.empty(n_kept + at.size, dtype=np.int32)
        post_tf = np.empty(n_kept + at.size, dtype=tf_type)
        events = np.concatenate([at, gone])
        is_drop = np.concatenate([np.zeros(at.size, dtype=np.int8), np.ones(gone.size, dtype=np.int8)])
        number = np.concatenate([np.arange(at.size), np.zeros(gone.size, dtype=np.int64)])
        order = np.lexsort((number, is_drop, events))

        def copy_run(start: int, stop: int, out: int) -> int:
            """Old postings ``start:stop`` to ``out`` (renumbered, in chunks); returns the next ``out``."""
            for p0 in range(start, stop, step):
                p1 = min(p0 + step, stop)
                post_docs[out : out + p1 - p0] = doc_map[self.post_docs[p0:p1]]
                post_tf[out : out + p1 - p0] = self.post_tf[p0:p1]
                out += p1 - p0
                _drop_pages(self.post_docs, p0, p1)
                _drop_pages(self.post_tf, p0, p1)
            return out

        old, out = 0, 0
        for event, drop, j in zip(events[order].tolist(), is_drop[order].tolist(), number[order].tolist(), strict=True):
            if event > old:
                out = copy_run(old, event, out)
                old = event
            if drop:
                old = event + 1
            else:
                post_docs[out] = fresh_docs[j]
                post_tf[out] = fresh_tf[j]
                out += 1
        copy_run(old, total, out)
        offsets = np.zeros(n_terms + 1, dtype=np.int64)
        np.cumsum(kept_df + fresh_df, out=offsets[1:])
        doc_len = np.zeros(n_docs, dtype=np.float64)
        alive = np.flatnonzero(doc_map >= 0)
        doc_len[doc_map[alive]] = self.doc_len[alive]
        doc_len[fresh_ids] = fresh.doc_len
        out = BM25Index.__new__(BM25Index)
        out._finish(vocab, offsets, post_docs, post_tf, doc_len, n_docs, self.params)
        return out

    # ------------------------------------------------------------------ queries

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
            lo, hi = int(self.offsets[tid]), int(self.offsets[tid + 1])
            weights = self._weights(lo, hi, float(self.idf[tid]))
            if count == 1:
                scores[self.post_docs[lo:hi]] += weights
            else:
                scores[self.post_docs[lo:hi]] += count * weights
        return scores

    def _marks(self) -> np.ndarray:
        """This thread's all-False mask over passages, reused by every query (each clears what it set)."""
        local = self.__dict__.get("_local")
        if local is None:
            local = self.__dict__.setdefault("_local", threading.local())
        marks = getattr(local, "marks", None)
        if marks is None or marks.size != self.n_docs:
            marks = local.marks = np.zeros(self.n_docs, dtype=bool)
        return marks

    def _exact(self, cands: np.ndarray, terms: list[tuple[int, int]]) -> np.ndarray:
        """Exact scores of passages ``cands`` (ascending int32): each term's weight added in query order."""
        scores = np.zeros(cands.size, dtype=np.float64)
        for tid, count in terms:
            hit, weights = self._term_weights(tid, cands)
            if hit is None:
                scores += weights if count == 1 else count * weights
            elif hit.size:
                scores[hit] += weights if count == 1 else count * weights
        return scores

    def _term_weights(self, tid: int, cands: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
        """Term ``tid``'s exact weights in the passages ``cands``, as ``(hit, weights)``: ``hit`` indexes
        the candidates that hold the term, or is None when ``weights`` covers every candidate (a
        dense term: 0 exactly where it is absent, since every candidate's length norm is positive)."""
        idf = float(self.idf[tid])
        row = int(self.dense_row[tid])
        if row >= 0 and self.params.k1 > 0:
            small = self.dense_tf[row][cands]
            tf = small.astype(np.float64)
            if tf.size and int(small.max()) == 255:  # 255 means 255 or more: look those few up
                high = np.flatnonzero(small == 255)
                lo, hi = int(self.offsets[tid]), int(self.offsets[tid + 1])
                tf[high] = self.post_tf[np.searchsorted(self.post_docs[lo:hi], cands[high]) + lo]
            return None, self._weights_of(tf, cands, idf)
        hit, tf = self._lookup(tid, cands)
        return hit, self._weights_of(tf, cands[hit], idf)

    def _lookup(self, tid: int, cands: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which of the passages ``cands`` hold term ``tid`` (indices into ``cands``) and how often (float64).

        A dense term is read from its row of ``dense_tf`` (a frequency of 255 there means 255 or
        more: those few are looked up in the postings); any other by binary search in its postings.
        """
        row = int(self.dense_row[tid])
        if row >= 0:
            tf = self.dense_tf[row][cands]
            hit = np.flatnonzero(tf)
            tf = tf[hit].astype(np.float64)
            high = np.flatnonzero(tf >= 255)
            if high.size:
                lo, hi = int(self.offsets[tid]), int(self.offsets[tid + 1])
                pos = np.searchsorted(self.post_docs[lo:hi], cands[hit[high]]) + lo
                tf[high] = self.post_tf[pos]
            return hit, tf
        lo, hi = int(self.offsets[tid]), int(self.offsets[tid + 1])
        docs = self.post_docs[lo:hi]
        pos = np.searchsorted(docs, cands)
        np.minimum(pos, hi - lo - 1, out=pos)
        hit = np.flatnonzero(docs[pos] == cands)
        return hit, self.post_tf[pos[hit] + lo].astype(np.float64)

    def top(self, terms: Sequence[str], k: int, exclude: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The ``k`` best passages that contain at least one query term, as (passage, score).

        Ties are broken by passage order. ``exclude`` is a boolean mask of passages to leave out.
        """
        if k <= 0:
            return []
        query = [(tid, count) for tid, count in self.query_weights(terms) if self.df[tid] > 0]
        if not query:
            return []
        if int(sum(self.df[tid] for tid, _ in query)) <= _EXHAUSTIVE:
            parts = [self.post_docs[self.offsets[t] : self.offsets[t + 1]] for t, _ in query]
            cands = parts[0] if len(parts) == 1 else _sorted_unique(np.concatenate(parts))
            if exclude is not None:
                cands = cands[~exclude[cands]]
            return _best(cands, self._exact(cands, query), k)
        return _TopK(self, query, k, exclude).run()

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
        the exact ``BM25Okapi`` contribution of one occurrence of the term in the query (float64,
        computed from the stored term frequencies on each call). Both are empty for a term the index
        lacks. Read-only: do not modify them.
        """
        tid = self.vocab.get(term)
        if tid is None:
            docs, weights = np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float64)
        else:
            lo, hi = int(self.offsets[tid]), int(self.offsets[tid + 1])
            docs, weights = np.asarray(self.post_docs[lo:hi]), self._weights(lo, hi, float(self.idf[tid]))
        docs.flags.writeable = False
        weights.flags.writeable = False
        return docs, weights

    def known_idf(self) -> np.ndarray:
        """The IDF (float64, one value per term, in term-id order) of every term some passage has."""
        return self.idf[self.df > 0]

    def passage_weight_mass(self) -> np.ndarray:
        """For each passage (float64, shape ``(n_docs,)``): the sum over its distinct terms of the
        term's BM25 weight in it times the term's document frequency -- how typical of the corpus
        the passage's vocabulary is. Computed in chunks of postings (no array per posting)."""
        mass = np.zeros(self.n_docs, dtype=np.float64)
        total = int(self.offsets[-1])
        for p0 in range(0, total, CHUNK_TOKENS):
            p1 = min(p0 + CHUNK_TOKENS, total)
            terms = np.searchsorted(self.offsets, np.arange(p0, p1), side="right") - 1
            weights = self._weights(p0, p1, self.idf[terms])
            weights *= self.df[terms]
            mass += np.bincount(self.post_docs[p0:p1], weights=weights, minlength=self.n_docs)
        return mass

    # ------------------------------------------------------------------ term statistics

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
        The weights are computed on each call (16 bytes a posting with the term ids): read them,
        never write.
        """
        term_ids = np.repeat(np.arange(len(self.df), dtype=np.int32), self.df)
        weights = self._weights(0, int(self.offsets[-1]), np.repeat(self.idf, self.df))
        return np.asarray(self.post_docs), term_ids, weights

    def term_names(self) -> list[str]:
        """The terms, indexed by term id."""
        return self.terms()

    @property
    def memory_bytes(self) -> int:
        """Bytes held by the index arrays (memory-mapped ones count in full)."""
        return sum(getattr(self, name).nbytes for name in self.ARRAYS)


def _drop_pages(array: np.ndarray, lo: int, hi: int) -> None:
    """Done with elements ``lo:hi`` of a memory-mapped array: their pages leave this process's
    resident memory (they stay in the page cache; reading them again maps them again). A merge
    reads a whole saved index once; without this its process would keep every page it read."""
    base = array.base
    mm = getattr(base, "_mmap", None)
    if mm is None or not isinstance(base, np.memmap) or not hasattr(mm, "madvise"):
        return
    head = base.offset % mmap.ALLOCATIONGRANULARITY
    start = head + lo * array.itemsize
    start -= start % mmap.PAGESIZE
    end = min(head + hi * array.itemsize, len(mm))
    if end > start:
        with contextlib.suppress(OSError, ValueError):
            mm.madvise(mmap.MADV_DONTNEED, start, end - start)


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """``values`` sorted without repeats (a sort, cheaper here than ``np.unique``'s hashing)."""
    values = np.sort(values)
    if values.size > 1:
        keep = np.empty(values.size, dtype=bool)
        keep[0] = True
        np.not_equal(values[1:], values[:-1], out=keep[1:])
        values = values[keep]
    return values


def _best(cands: np.ndarray, scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The ``k`` best (passage, score) pairs, by descending score, ties by passage order."""
    if cands.size == 0:
        return []
    if cands.size > k:
        part = np.argpartition(-scores, k - 1)[:k]
        # Keep every candidate tied with the k-th score so the tie-break by position is exact.
        kth = scores[part].min()
        part = np.flatnonzero(scores >= kth)
        cands, scores = cands[part], scores[part]
    order = np.lexsort((cands, -scores))[:k]
    return [(int(cands[i]), float(scores[i])) for i in order]


class _TopK:
    """One pruned top-k search (heads first, then MaxScore over the terms' tails); see :meth:`BM25Index.top`."""

    def __init__(self, index: BM25Index, query: list[tuple[int, int]], k: int, exclude: np.ndarray | None) -> None:
        self.index = index
        self.query = query
        self.k = k
        self.exclude = exclude
        self.theta = -math.inf  # the k-th best exact score found so far
        self.seen = index._marks()  # True for passages already read (cleared again by run)
        self.marked: list[np.ndarray] = []
        self.pool_docs = np.zeros(0, dtype=np.int32)  # scored passages that may still be in the top k
        self.pool_scores = np.zeros(0, dtype=np.float64)

    def run(self) -> list[tuple[int, float]]:
        """The top k (see :meth:`_search`), leaving the shared marks cleared."""
        try:
            return self._search()
        finally:
            for cands in self.marked:
                self.seen[cands] = False

    def _search(self) -> list[tuple[int, float]]:
        """Score the terms' heads to set the threshold, then read the terms' tails, cheapest first.

        Every passage in some query term's head is scored first; the k-th best of them is the
        threshold. A passage outside every head has, for each term, at most the term's head bound
        (``tail``). A term is then read (:meth:`_read_term`) while the tails of the terms not yet
        read could together reach the threshold: a passage that holds a term already read was
        scored or proved too low, so a passage left can only be found in an unread term, and its
        score is at most its weight there plus the other unread terms' tails (``rest``). The term
        read next is the one with the fewest postings that could pass that bound (estimated on a
        sample of its impacts), so terms that can add little to any score are left unread.
        """
        index, query = self.index, self.query
        self.bounds = np.array([max(count * float(index.term_max[tid]), 0.0) for tid, count in query])
        self.by_bound = [int(u) for u in np.argsort(-self.bounds, kind="stable")]
        self._score_heads()
        # From here on every passage not yet seen is outside every head: its weights are within the tails.
        tail = np.array([max(count * float(index.head_bound[tid]), 0.0) for tid, count in query])
        self.bounds = tail
        self.by_bound = [int(u) for u in np.argsort(-tail, kind="stable")]
        unread = [j for j, (tid, _) in enumerate(query) if index.head_bound[tid] != -math.inf]
        while unread:
            total = float(sum(tail[j] for j in unread))
            if self._below(total):
                break  # a passage holding none of the terms read so far cannot reach the top k
            j = min(unread, key=lambda u: (self._estimate(u, total - float(tail[u])), int(index.df[query[u][0]])))
            unread.remove(j)
            self._read_term(j, float(sum(tail[u] for u in unread)), float(tail[j]))
        return _best(self.pool_docs, self.pool_scores, self.k)

    def _score_heads(self) -> None:
        """Score every passage in some query term's head (a rare term's head is all its postings), in
        one pass: its k-th best score is the threshold the terms' tails are then read against."""
        index = self.index
        parts = []
        for tid, _ in self.query:
            h0, h1 = int(index.head_start[tid]), int(index.head_start[tid + 1])
            if h1 > h0:
                parts.append(index.post_docs[index.head_pos[h0:h1] + index.offsets[tid]])
            elif index.head_bound[tid] == -math.inf:  # a rare term: all its postings are its head
                parts.append(index.post_docs[index.offsets[tid] : index.offsets[tid + 1]])
        if parts:
            self._score(_sorted_unique(np.concatenate(parts)))

    def _estimate(self, term: int, rest: float) -> int:
        """About how many postings of query term number ``term`` could reach the top k when read
        with ``rest`` (counted on a sample of at most ~2,048 of its impacts)."""
        index = self.index
        tid, count = self.query[term]
        lo, hi = int(index.offsets[tid]), int(index.offsets[tid + 1])
        least = self._least_impact(rest, float(index.term_max[tid]) * count)
        if least <= 0:
            return hi - lo
        step = max(1, (hi - lo) // 2048)
        return int(np.count_nonzero(index.post_impact[lo:hi:step] >= least)) * step

    def _least_impact(self, rest: float, top: float) -> int:
        """The smallest one-byte impact a posting needs to reach the threshold (0: no bound yet)."""
        if self.theta == -math.inf or top <= 0:
            return 0
        # Impacts are upper bounds in 255ths of the term's largest weight; 256: none can reach it.
        with np.errstate(over="ignore"):
            level = float(np.float64(self.theta - rest) / top * 255.0 * (1.0 - 1e-6))
        if not level > 0.0:
            return 0  # nothing to skip (or NaN: no usable bound)
        return 256 if level >= 256.0 else math.floor(level)

    def _read_term(self, term: int, rest: float, cap: float) -> None:
        """Score the postings of query term number ``term`` that can still reach the top k (see :meth:`run`).

        Only postings whose one-byte impact bound plus ``rest`` reaches the threshold are taken,
        and they are read by descending impact in bands of growing size (chosen from a sample of
        the term's impacts, so nothing per posting is sorted), so the threshold rises before the
        bulk of a common term is reached and each band is cut at the risen threshold.
        """
        index = self.index
        tid, count = self.query[term]
        if self._below(cap + rest):
            return
        lo, hi = int(index.offsets[tid]), int(index.offsets[tid + 1])
        top = float(index.term_max[tid]) * count
        impact = index.post_impact[lo:hi]
        step = max(1, (hi - lo) // 4096)
        # above[i]: about how many postings have an impact of at least i (from every step-th one).
        above = np.cumsum(np.bincount(impact[::step], minlength=256)[::-1])[::-1] * step
        idf = float(index.idf[tid])
        upper, batch = 255, BATCH
        while upper >= 0:
            least = self._least_impact(rest, top)
            if upper < least:
                break  # the impacts left are too low for the top k
            # The band [cut, upper]: about ``batch`` postings, never below ``least``.
            reach = np.flatnonzero(above[: upper + 1] >= (above[upper + 1] if upper < 255 else 0) + batch)
            cut = max(int(reach[-1]) if reach.size else 0, least)
            band = impact >= cut if upper == 255 else (impact >= cut) & (impact <= upper)
            upper, batch = cut - 1, batch * 2
            positions = np.flatnonzero(band)
            if positions.size == 0:
                continue
            positions += lo
            docs = index.post_docs[positions]
            weights = index._weights_at(positions, docs, idf)
            if count != 1:
                weights *= count
            if self.theta != -math.inf:
                keep = (np.maximum(weights, 0.0) + rest) * (1.0 + _MARGIN) >= self.theta
                docs, weights = docs[keep], weights[keep]
            self._score(docs, term, weights)

    def _below(self, bound: float) -> bool:
        """Whether a passage whose score is at most ``bound`` certainly misses the top k."""
        return bound * (1.0 + _MARGIN) < self.theta

    def _score(self, cands: np.ndarray, term: int | None = None, weights: np.ndarray | None = None) -> None:
        """Score the passages not yet seen, add those that may be in the top k to the pool, raise the threshold.

        ``weights`` may give the candidates' (exact) weights for query term number ``term``. The
        other terms are looked up one by one, highest bound first, and after each lookup the
        passages whose partial score plus the bounds of the terms not looked up yet cannot reach
        the threshold are dropped; the survivors are scored exactly, in query order.
        """
        if cands.size == 0:
            return
        new = ~self.seen[cands]
        if not new.all():
            cands = cands[new]
            if weights is not None:
                weights = weights[new]
            if cands.size == 0:
                return
        self.seen[cands] = True
        self.marked.append(cands)
        if self.exclude is not None:
            keep = ~self.exclude[cands]
            cands = cands[keep]
            if weights is not None:
                weights = weights[keep]
        if self.theta != -math.inf and cands.size > _PRUNE_AT:
            cands = self._prune(cands, term, weights)
        scores = self.index._exact(cands, self.query)
        docs = np.concatenate([self.pool_docs, cands])
        scores = np.concatenate([self.pool_scores, scores])
        if docs.size >= self.k:
            kth = float(np.partition(scores, docs.size - self.k)[docs.size - self.k])
            self.theta = kth
        if self.theta != -math.inf:
            keep = scores >= self.theta
            docs, scores = docs[keep], scores[keep]
        self.pool_docs, self.pool_scores = docs, scores

    def _prune(self, cands: np.ndarray, term: int | None, weights: np.ndarray | None) -> np.ndarray:
        """The candidates whose partial score plus the bounds still unknown can reach the threshold."""
        index = self.index
        partial = np.zeros(cands.size, dtype=np.float64) if weights is None else np.maximum(weights, 0.0)
        remaining = float(self.bounds.sum()) - (float(self.bounds[term]) if term is not None else 0.0)
        for u in self.by_bound:
            if u == term:
                continue
            keep = (partial + remaining) * (1.0 + _MARGIN) >= self.theta
            if not keep.all():
                cands, partial = cands[keep], partial[keep]
                if cands.size == 0:
                    return cands
            tid, count = self.query[u]
            hit, found = index._term_weights(tid, cands)
            if count != 1:
                found *= count
            if hit is None:
                partial += np.maximum(found, 0.0)
            elif hit.size:
                partial[hit] += np.maximum(found, 0.0)
            remaining -= float(self.bounds[u])
        return cands[(partial + max(remaining, 0.0)) * (1.0 + _MARGIN) >= self.theta]


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
