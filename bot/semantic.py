"""Semantic evidence (optional): passage and question vectors from a static-embedding model.

Off unless ``semantic.model`` names a model file. The model is a static embedding (model2vec
style): one vector per WordPiece token of all-MiniLM-L6-v2's vocabulary, distilled from the
sentence encoder by ``benchmarks/derive_static_model.py`` (``models/minilm-static.npz`` ships). A
text's vector is the weighted sum of its tokens' vectors, normalised -- numpy only at run time,
tens of microseconds a passage, nothing downloaded.

* :class:`Embedder` -- what the engine needs from a model (a name, a dimension, ``embed``);
* :class:`StaticEmbedder` -- the numpy implementation over a ``.npz`` file (``vocab``, ``vectors``
  -- float, or int8 with per-token ``scales`` -- and optional per-token ``weights``), with a
  BERT-style lower-casing WordPiece tokenizer and a table of each word's summed token vectors;
* :class:`VectorCache` -- passage vectors saved in a folder, keyed by the model and a hash of each
  passage's text, so an unchanged passage is embedded once, not on every start or ``/reload``;
* :class:`Semantic` -- the passage vectors of one corpus, made on first use (a passage's vector
  when it is first a candidate: building the index embeds nothing), and the two uses measured in
  ``benchmarks/semantic.py``: a rerank bonus (``semantic.rerank_weight`` × cosine over the best
  ``RERANK_TOP`` candidates) and :func:`Semantic.features` (the cosine inputs of the confidence
  model used with the extra, ``bot.answering.SEMANTIC_MODEL``).

The engine calls all of this inside :meth:`bot.engine.Engine.answer`, which the Discord front end
already runs in a worker thread, so no embedding work runs on the event loop.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import tempfile
import threading
import unicodedata
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

import numpy as np

log = logging.getLogger(__name__)

#: How many of the reranked candidates the semantic rerank bonus reorders.
RERANK_TOP = 10
#: The cosine features :meth:`Semantic.features` returns, in order.
COSINE_FEATURES = ("cos_top", "cos_sentence", "cos_best", "soft_cov", "soft_min", "soft_miss")
#: A question word counts as found in a passage (``soft_miss``) when some passage word is this close.
SOFT_MATCH = 0.6
_MAX_WORD_CHARS = 100
_WORD_CACHE_LIMIT = 200_000  # words remembered (tokens and vector row); then forgotten at once
#: How passage vectors are kept, in memory and in the cache (half the bytes of float32; cosines
#: move by less than 0.001).
VECTOR_DTYPE = np.float16
_BATCH = 512  # texts whose new words are summed into the word table together


class SemanticError(ValueError):
    """A model file that cannot be used; the message is one line naming the file and the problem."""


class Embedder(Protocol):
    """A text embedder: ``embed`` returns one L2-normalised float32 row per text (zeros for a text
    with no known token)."""

    name: str  # identifies the model's content (cache key)
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One normalised vector per text, shape (len(texts), dim)."""
        ...

    def word_vectors(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Each known word's normalised vector and its weight."""
        ...


def _is_punctuation(ch: str) -> bool:
    """BERT's punctuation: ASCII symbols, and every Unicode punctuation (P*) character."""
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _split_punctuation(word: str) -> list[str]:
    """A whitespace-free word split around each punctuation character (kept as its own token)."""
    if word.isalnum():
        return [word]
    out: list[str] = []
    current: list[str] = []
    for ch in word:
        if _is_punctuation(ch):
            if current:
                out.append("".join(current))
                current = []
            out.append(ch)
        else:
            current.append(ch)
    if current:
        out.append("".join(current))
    return out


def _word_pieces(word: str) -> list[str]:
    """BERT's basic (uncased) tokenization of one whitespace-free word: drop control and format
    characters, lower-case, strip accents, split around punctuation."""
    if not word.isascii():
        word = "".join(ch for ch in word if unicodedata.category(ch) not in ("Cc", "Cf") and ch != "\ufffd")
        word = unicodedata.normalize("NFD", word.lower())
        word = "".join(ch for ch in word if unicodedata.category(ch) != "Mn")
    else:
        word = word.lower()
    return _split_punctuation(word)


class _WordRows(dict):
    """Word -> table row, made by ``new_row`` on first lookup; ``__getitem__`` runs in C for a word
    already seen (as :class:`bot.analysis.SurfaceCache`)."""

    def __init__(self, new_row: Callable[[str], int]) -> None:
        super().__init__()
        self.new_row = new_row

    def __missing__(self, word: str) -> int:
        row = self[word] = self.new_row(word)
        return row


class StaticEmbedder:
    """Static token vectors averaged over a text's WordPiece tokens (see the module docstring)."""

    def __init__(self, vocab: Sequence[str], vectors: np.ndarray, weights: np.ndarray | None, name: str) -> None:
        self.name = name
        self.vectors = np.asarray(vectors, dtype=np.float32)
        self.dim = int(self.vectors.shape[1])
        self.weights = (
            np.ones(len(vocab), dtype=np.float32) if weights is None else np.asarray(weights, dtype=np.float32)
        )
        self._scaled = self.weights[:, None] * self.vectors  # each token's vector times its weight
        self._ids = {token: i for i, token in enumerate(vocab)}
        self._words: dict[str, tuple[int, ...]] = {}
        self._pieces: dict[str, tuple[int, ...]] = {}  # a basic-tokenized piece -> its WordPiece ids
        # Each whitespace word seen so far -> a row of _table: the weighted sum of its tokens'
        # vectors (row 0: zeros, for words with no known token). A text's vector is then the sum of
        # its words' rows: a C-level dict lookup a word and one gather, however many pieces a word has.
        self._word_row = _WordRows(self._new_row)
        self._table = np.zeros((1024, self.dim), dtype=np.float32)
        self._rows = 1  # rows in use (filled, or queued in _pending)
        self._pending: list[tuple[int, ...]] = []  # token ids of the words given rows since the last fill
        self._lock = threading.Lock()  # embed() mutates the word table; answers run in worker threads
        self.texts_embedded = 0  # how many texts this embedder has embedded (for tests and benchmarks)

    @classmethod
    def load(cls, path: Path) -> StaticEmbedder:
        """Read a model file; raises :class:`SemanticError` with a one-line message when it is unusable."""
        path = Path(path)
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
            with np.load(path, allow_pickle=False) as data:
                missing = [k for k in ("vocab", "vectors") if k not in data.files]
                if missing:
                    raise SemanticError(f"{path}: not a semantic model (missing {', '.join(missing)})")
                vocab = [str(t) for t in data["vocab"]]
                vectors = data["vectors"]
                weights = data["weights"] if "weights" in data.files else None
                scales = data["scales"] if "scales" in data.files else None
        except FileNotFoundError:
            raise SemanticError(f"{path}: no such model file") from None
        except IsADirectoryError:
            raise SemanticError(f"{path}: is a folder, not a model file") from None
        except OSError as exc:
            raise SemanticError(f"{path}: cannot read the model ({exc.strerror or exc})") from None
        except (ValueError, zipfile.BadZipFile, EOFError) as exc:
            if isinstance(exc, SemanticError):
                raise
            raise SemanticError(f"{path}: not a semantic model (.npz with vocab and vectors)") from None
        if vectors.ndim != 2 or vectors.shape[0] != len(vocab) or vectors.shape[1] == 0 or not vocab:
            raise SemanticError(f"{path}: vectors must be a (vocabulary size, dimension) matrix")
        if scales is not None:  # int8 rows, each with its scale
            if vectors.dtype != np.int8 or scales.shape != (len(vocab),) or not np.isfinite(scales).all():
                raise SemanticError(f"{path}: scaled vectors must be int8 with one finite scale per token")
            vectors = vectors.astype(np.float32) * scales.astype(np.float32)[:, None]
        if not np.issubdtype(vectors.dtype, np.floating) or not np.isfinite(vectors).all():
            raise SemanticError(f"{path}: vectors must be finite numbers")
        if weights is not None and (weights.shape != (len(vocab),) or not np.isfinite(weights).all()):
            raise SemanticError(f"{path}: weights must be one finite number per vocabulary token")
        return cls(vocab, vectors, weights, f"static-{digest}")

    def token_ids(self, text: str) -> list[int]:
        """The WordPiece token ids of a text (unknown words dropped), as BERT's uncased tokenizer
        gives them. Each whitespace-separated word is tokenized once and remembered."""
        words = self._words
        split = text.split()
        found = list(map(words.get, split))
        if None in found:
            for k, word in enumerate(split):
                if found[k] is None:
                    if len(words) >= _WORD_CACHE_LIMIT:
                        words.clear()
                    found[k] = words[word] = self._word_ids(word)
        return list(itertools.chain.from_iterable(found))  # type: ignore[arg-type]

    def _word_ids(self, word: str) -> tuple[int, ...]:
        """The WordPiece ids of one whitespace word (its pieces' ids remembered: "Word," and "word"
        share the work)."""
        ids, pieces = self._ids, self._pieces
        out: list[int] = []
        for piece in _word_pieces(word):
            found = pieces.get(piece)
            if found is None:
                if len(pieces) >= _WORD_CACHE_LIMIT:
                    pieces.clear()
                found = pieces[piece] = self._wordpiece(piece, ids)
            out.extend(found)
        return tuple(out)

    @staticmethod
    def _wordpiece(word: str, ids: dict[str, int]) -> tuple[int, ...]:
        """Greedy longest-match-first WordPiece; an unsplittable word gives no token."""
        if len(word) > _MAX_WORD_CHARS:
            return ()
        pieces: list[int] = []
        start = 0
        while start < len(word):
            end = len(word)
            found = None
            while start < end:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                found = ids.get(piece)
                if found is not None:
                    break
                end -= 1
            if found is None:
                return ()
            pieces.append(found)
            start = end
        return tuple(pieces)

    def _new_row(self, word: str) -> int:
        """A row of the word table for a word not seen yet (0 when none of its tokens is known);
        its vector is filled in by :meth:`_fill_rows`, for many new words at once."""
        ids = self._word_ids(word)
        if not ids:
            return 0
        row = self._rows
        self._rows += 1
        self._pending.append(ids)
        return row

    def _fill_rows(self) -> None:
        """Sum the token vectors of the words queued by :meth:`_new_row` into their table rows."""
        pending = self._pending
        if not pending:
            return
        first = self._rows - len(pending)
        if self._rows > len(self._table):
            grown = np.zeros((max(self._rows, 2 * len(self._table)), self.dim), dtype=np.float32)
            grown[:first] = self._table[:first]
            self._table = grown
        lengths = np.fromiter(map(len, pending), dtype=np.int64, count=len(pending))
        flat = np.fromiter(itertools.chain.from_iterable(pending), dtype=np.int64, count=int(lengths.sum()))
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        self._table[first : self._rows] = np.add.reduceat(self._scaled[flat], starts, axis=0)
        pending.clear()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One normalised vector per text (zeros when no token is known): the weighted sum of its
        tokens' vectors, normalised -- summed word by word from the word table.

        Texts go ``_BATCH`` at a time: their words' rows first (new words queued), then the new
        rows in one numpy call, then one gather-and-sum per text."""
        with self._lock:
            return self._embed(texts)

    def word_vectors(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Each whitespace word's normalised vector (the weighted sum of its tokens') and its weight
        (that sum's norm), for the words with a known token, in text order."""
        with self._lock:
            rows = [r for r in map(self._word_row.__getitem__, text.split()) if r]
            self._fill_rows()
            vectors = self._table[rows] if rows else np.zeros((0, self.dim), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1)
        keep = norms > 0
        return vectors[keep] / norms[keep, None], norms[keep]

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        word_rows = self._word_row
        row_of = word_rows.__getitem__
        for start in range(0, len(texts), _BATCH):
            if len(word_rows) >= _WORD_CACHE_LIMIT:  # forget between batches, never within one
                word_rows.clear()
                self._rows = 1
            batch = [list(map(row_of, text.split())) for text in texts[start : start + _BATCH]]
            self._fill_rows()
            table = self._table
            for r, rows in enumerate(batch, start):
                if rows:
                    out[r] = table[rows].sum(axis=0)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)
        self.texts_embedded += len(texts)
        return out


def text_key(text: str) -> bytes:
    """A passage's cache key: 16 bytes of BLAKE2b of its UTF-8 text."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


class VectorCache:
    """Passage vectors on disk, one ``<model name>.npz`` per model in ``folder``, keyed by text hash.

    :meth:`vectors` embeds only the texts whose hash is not in the file, then rewrites the file
    with exactly the current texts' vectors (atomically). An unreadable or corrupt file is ignored
    (the vectors are recomputed); a folder that cannot be written is logged and the vectors are
    still returned.
    """

    def __init__(self, folder: Path, embedder: Embedder) -> None:
        self.folder = Path(folder)
        self.embedder = embedder
        self.path = self.folder / f"{embedder.name}.npz"
        self.computed = 0  # texts embedded by the last :meth:`vectors` call

    def _read(self) -> tuple[dict[bytes, int], np.ndarray]:
        """The saved keys (key -> row) and vectors; nothing when the file is missing or unusable."""
        empty = ({}, np.zeros((0, self.embedder.dim), dtype=VECTOR_DTYPE))
        try:
            with np.load(self.path, allow_pickle=False) as data:
                keys, vectors = data["keys"], data["vectors"]
        except FileNotFoundError:
            return empty
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
            log.warning("semantic cache %s is unreadable; recomputing passage vectors", self.path)
            return empty
        if keys.ndim != 1 or vectors.shape != (len(keys), self.embedder.dim):
            log.warning("semantic cache %s does not match the model; recomputing passage vectors", self.path)
            return empty
        return {bytes(k): i for i, k in enumerate(keys)}, vectors.astype(VECTOR_DTYPE, copy=False)

    def load(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, list[bytes]]:
        """The saved vectors of ``texts``: a (texts, dim) matrix (zeros where none is saved), which
        rows were found, and every text's key."""
        row_of, stored = self._read()
        keys = [text_key(t) for t in texts]
        rows = np.fromiter((row_of.get(k, -1) for k in keys), dtype=np.int64, count=len(keys))
        known = rows >= 0
        matrix = np.zeros((len(texts), self.embedder.dim), dtype=VECTOR_DTYPE)
        matrix[known] = stored[rows[known]]
        self._saved = set(row_of) if len(row_of) else set()
        return matrix, known, keys

    def save(self, keys: Sequence[bytes], matrix: np.ndarray, known: np.ndarray) -> None:
        """Keep exactly the known rows (one per distinct key) in the file, if that changes it."""
        first: dict[bytes, int] = {}
        for i in np.flatnonzero(known):
            first.setdefault(keys[i], int(i))
        if set(first) != getattr(self, "_saved", None):
            self._write(list(first), matrix[np.fromiter(first.values(), dtype=np.int64, count=len(first))])
            self._saved = set(first)

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        """The normalised vector of every text (rows in ``texts`` order, :data:`VECTOR_DTYPE`):
        the saved ones read, the others embedded now; the file then holds exactly these texts."""
        matrix, known, keys = self.load(texts)
        missing = np.flatnonzero(~known)
        self.computed = len({keys[i] for i in missing})
        if missing.size:
            matrix[missing] = self.embedder.embed([texts[i] for i in missing]).astype(VECTOR_DTYPE)
            known[missing] = True
        self.save(keys, matrix, known)
        return matrix

    def _write(self, keys: list[bytes], vectors: np.ndarray) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".npz")
            try:
                with os.fdopen(fd, "wb") as handle:
                    key_array = np.array(keys, dtype="S16") if keys else np.zeros(0, dtype="S16")
                    np.savez(handle, keys=key_array, vectors=vectors)
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            log.warning("cannot save the semantic cache in %s (%s); vectors kept in memory", self.folder, exc)


C = TypeVar("C")


@dataclass
class Semantic:
    """One corpus's passage vectors and the model that made them, used by the answer engine.

    With ``known`` (and ``texts``), only the rows marked known are computed: a passage's vector is
    made the first time the passage is a candidate (:meth:`ensure`), so building the index costs
    no embedding at all and a question embeds at most ``RERANK_TOP`` passages it has not met.
    """

    embedder: Embedder
    vectors: np.ndarray  # (passages, dim), normalised rows in corpus order
    rerank_weight: float = 0.0
    texts: Sequence[str] | None = None  # each passage's text (for vectors made on first use)
    known: np.ndarray | None = None  # which rows of ``vectors`` are made (None: all of them)
    made_on_use: int = 0  # passage vectors made by :meth:`ensure` (for tests and benchmarks)
    # compute the word-by-word features (soft_*) even when the confidence model does not read them
    # (benchmarks; the shipped SEMANTIC_MODEL does not: they did not pay, see benchmarks/semantic.py)
    word_features: bool = False
    _question_cache: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def ensure(self, positions: np.ndarray) -> None:
        """Make the vectors of the passages at ``positions`` that are not made yet."""
        known = self.known
        if known is None or self.texts is None or known[positions].all():
            return
        with self._lock:
            missing = np.unique(positions[~known[positions]])
            if missing.size:
                texts = self.texts
                self.vectors[missing] = self.embedder.embed([texts[i] for i in missing])
                known[missing] = True
                self.made_on_use += int(missing.size)

    def question(self, text: str) -> np.ndarray:
        """A question's normalised vector (the last few are kept: ranking and "More" ask twice)."""
        found = self._question_cache.get(text)
        if found is None:
            found = self.embedder.embed([text])[0]
            if len(self._question_cache) > 256:
                self._question_cache.clear()
            self._question_cache[text] = found
        return found

    def cosines(self, question: np.ndarray, positions: Sequence[int]) -> np.ndarray:
        """Cosine between the question vector and each passage (by corpus position)."""
        if not len(positions):
            return np.zeros(0, dtype=np.float32)
        rows = np.asarray(positions, dtype=np.int64)
        self.ensure(rows)
        return self.vectors[rows].astype(np.float32) @ question

    def rerank(
        self,
        question: np.ndarray,
        candidates: Sequence[C],
        passage_of: Callable[[C], int],
        score_of: Callable[[C], float],
        top: int = RERANK_TOP,
    ) -> list[C]:
        """The best ``top`` candidates reordered by reranked score + ``rerank_weight`` × cosine (a
        stable sort: ties keep the lexical order); the rest unchanged."""
        head = list(candidates[:top])
        if self.rerank_weight == 0 or len(head) < 2:
            return list(candidates)
        cos = self.cosines(question, [passage_of(c) for c in head])
        order = sorted(range(len(head)), key=lambda k: -(score_of(head[k]) + self.rerank_weight * float(cos[k])))
        return [head[k] for k in order] + list(candidates[top:])

    def features(
        self, question: str, positions: Sequence[int], best_sentence: str | None, top_text: str | None = None
    ) -> tuple[float, ...]:
        """:data:`COSINE_FEATURES` of a question over its candidates (``positions``, best first):
        its cosine with the top passage, with that passage's best sentence (the top passage's when
        none is given), the best over the top ``RERANK_TOP``; and word by word against the top
        passage's text ``top_text``: each question word's best cosine with a passage word, averaged
        by word weight (``soft_cov``), the lowest over the weightier half of the question's words
        (``soft_min``), and the share of that half with no passage word within :data:`SOFT_MATCH`
        (``soft_miss``). Zeros when there is no candidate."""
        vector = self.question(question)
        cos = self.cosines(vector, positions[:RERANK_TOP])
        if not len(cos):
            return (0.0,) * len(COSINE_FEATURES)
        top = float(cos[0])
        sentence = float(self.embedder.embed([best_sentence])[0] @ vector) if best_sentence else top
        soft = (0.0, 0.0, 1.0)
        if top_text is not None:
            q_words, q_weights = self.embedder.word_vectors(question)
            p_words, _ = self.embedder.word_vectors(top_text)
            if len(q_words) and len(p_words):
                best = (q_words @ p_words.T).max(axis=1)
                heavy = best[q_weights >= np.median(q_weights)]
                soft = (
                    float((q_weights * best).sum() / q_weights.sum()),
                    float(heavy.min()),
                    float((heavy < SOFT_MATCH).mean()),
                )
        return (top, sentence, float(cos.max()), *soft)


def build_semantic(
    texts: Sequence[str],
    model: Path,
    cache: Path | None,
    rerank_weight: float,
    embedder: Embedder | None = None,
    previous: Semantic | None = None,
) -> Semantic:
    """Load the model (or use ``embedder``) and the passage vectors already made: those saved in
    ``cache`` and those of ``previous`` (the running engine's, on a reload, same model), by text;
    the others are made on first use (:meth:`Semantic.ensure`). The cache then keeps exactly the
    current passages' made vectors. Raises :class:`SemanticError` for an unusable model file."""
    emb = embedder or StaticEmbedder.load(model)
    if previous is not None and previous.embedder.name == emb.name:
        emb = previous.embedder  # its word table is warm
    store = VectorCache(cache, emb) if cache is not None else None
    if store is not None:
        vectors, known, keys = store.load(texts)
    else:
        vectors = np.zeros((len(texts), emb.dim), dtype=VECTOR_DTYPE)
        known = np.zeros(len(texts), dtype=bool)
        keys = [text_key(t) for t in texts]
    if previous is not None and previous.embedder is emb and previous.texts is not None and not known.all():
        made = previous.known if previous.known is not None else np.ones(len(previous.texts), dtype=bool)
        row_of = {text_key(previous.texts[i]): int(i) for i in np.flatnonzero(made)}
        for i in np.flatnonzero(~known):
            row = row_of.get(keys[i])
            if row is not None:
                vectors[i] = previous.vectors[row]
                known[i] = True
    if store is not None:
        store.save(keys, vectors, known)
    return Semantic(emb, vectors, rerank_weight, texts=texts, known=known)
