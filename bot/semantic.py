"""Semantic evidence (optional): passage and question vectors from a static-embedding model.

Off unless ``semantic.model`` names a model file. The model is a static embedding (model2vec
style): one vector per WordPiece token of all-MiniLM-L6-v2's vocabulary, distilled from the
sentence encoder by ``benchmarks/derive_static_model.py``. A text's vector is the weighted mean
of its tokens' vectors, normalised -- numpy only at run time, tens of microseconds a passage,
nothing downloaded.

* :class:`Embedder` -- what the engine needs from a model (a name, a dimension, ``embed``);
* :class:`StaticEmbedder` -- the numpy implementation over a ``.npz`` file (``vocab``, ``vectors``
  and optional per-token ``weights``), with a BERT-style lower-casing WordPiece tokenizer;
* :class:`VectorCache` -- passage vectors saved in a folder, keyed by the model and a hash of each
  passage's text, so an unchanged passage is embedded once, not on every start or ``/reload``;
* :class:`Semantic` -- the passage vectors of one corpus and the two uses measured in
  ``benchmarks/semantic.py``: a rerank bonus (``semantic.rerank_weight`` × cosine over the best
  ``RERANK_TOP`` candidates) and :func:`Semantic.features` (cosine features for the confidence
  model).

The engine calls all of this inside :meth:`bot.engine.Engine.answer`, which the Discord front end
already runs in a worker thread, so no embedding work runs on the event loop.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
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
COSINE_FEATURES = ("cos_top", "cos_sentence", "cos_best")
_MAX_WORD_CHARS = 100
_WORD_CACHE_LIMIT = 200_000


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


class StaticEmbedder:
    """Static token vectors averaged over a text's WordPiece tokens (see the module docstring)."""

    def __init__(self, vocab: Sequence[str], vectors: np.ndarray, weights: np.ndarray | None, name: str) -> None:
        self.name = name
        self.vectors = np.asarray(vectors, dtype=np.float32)
        self.dim = int(self.vectors.shape[1])
        self.weights = (
            np.ones(len(vocab), dtype=np.float32) if weights is None else np.asarray(weights, dtype=np.float32)
        )
        self._ids = {token: i for i, token in enumerate(vocab)}
        self._words: dict[str, tuple[int, ...]] = {}
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
        if not np.issubdtype(vectors.dtype, np.floating) or not np.isfinite(vectors).all():
            raise SemanticError(f"{path}: vectors must be finite numbers")
        if weights is not None and (weights.shape != (len(vocab),) or not np.isfinite(weights).all()):
            raise SemanticError(f"{path}: weights must be one finite number per vocabulary token")
        return cls(vocab, vectors, weights, f"static-{digest}")

    def token_ids(self, text: str) -> list[int]:
        """The WordPiece token ids of a text (unknown words dropped), as BERT's uncased tokenizer
        gives them. Each whitespace-separated word is tokenized once and remembered."""
        out: list[int] = []
        words = self._words
        for word in text.split():
            found = words.get(word)
            if found is None:
                found = self._word_ids(word)
                if len(words) >= _WORD_CACHE_LIMIT:
                    words.clear()
                words[word] = found
            out.extend(found)
        return out

    def _word_ids(self, word: str) -> tuple[int, ...]:
        ids = self._ids
        return tuple(i for piece in _word_pieces(word) for i in self._wordpiece(piece, ids))

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

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One normalised vector per text (zeros when no token is known)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            ids = self.token_ids(text)
            if ids:
                v = self.weights[ids] @ self.vectors[ids]
                norm = float(np.linalg.norm(v))
                if norm > 0:
                    out[row] = v / norm
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

    def _read(self) -> dict[bytes, np.ndarray]:
        try:
            with np.load(self.path, allow_pickle=False) as data:
                keys, vectors = data["keys"], data["vectors"]
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
            log.warning("semantic cache %s is unreadable; recomputing passage vectors", self.path)
            return {}
        if keys.ndim != 1 or vectors.shape != (len(keys), self.embedder.dim):
            log.warning("semantic cache %s does not match the model; recomputing passage vectors", self.path)
            return {}
        return {bytes(k): vectors[i] for i, k in enumerate(keys)}

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        """The normalised vector of every text (rows in ``texts`` order), cached."""
        known = self._read()
        keys = [text_key(t) for t in texts]
        missing = list(dict.fromkeys(k for k in keys if k not in known))
        if missing:
            by_key = {k: t for k, t in zip(keys, texts, strict=True)}
            fresh = self.embedder.embed([by_key[k] for k in missing])
            known.update(zip(missing, fresh, strict=True))
        self.computed = len(missing)
        matrix = np.zeros((len(texts), self.embedder.dim), dtype=np.float32)
        for row, k in enumerate(keys):
            matrix[row] = known[k]
        current = list(dict.fromkeys(keys))
        if missing or len(current) != len(known):
            self._write(current, known)
        return matrix

    def _write(self, keys: list[bytes], known: dict[bytes, np.ndarray]) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".npz")
            try:
                with os.fdopen(fd, "wb") as handle:
                    key_array = np.array(keys, dtype="S16") if keys else np.zeros(0, dtype="S16")
                    vectors = np.array([known[k] for k in keys], dtype=np.float32).reshape(len(keys), -1)
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
    """One corpus's passage vectors and the model that made them, used by the answer engine."""

    embedder: Embedder
    vectors: np.ndarray  # (passages, dim), normalised rows in corpus order
    rerank_weight: float = 0.0
    # optional confidence adjustment: logit += sum(coef * feature) over COSINE_FEATURES (see features)
    confidence_coef: tuple[float, ...] | None = None
    _question_cache: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

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
        return self.vectors[np.asarray(positions, dtype=np.int64)] @ question

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

    def features(self, question: np.ndarray, positions: Sequence[int], best_sentence: str | None) -> tuple[float, ...]:
        """:data:`COSINE_FEATURES`: the question's cosine with the top passage, with that passage's
        best sentence (the top passage's when no sentence is given), and the best over ``positions``
        (the top candidates, best first). Zeros when there is no candidate."""
        cos = self.cosines(question, positions[:RERANK_TOP])
        if not len(cos):
            return (0.0, 0.0, 0.0)
        top = float(cos[0])
        sentence = float(self.embedder.embed([best_sentence])[0] @ question) if best_sentence else top
        return (top, sentence, float(cos.max()))

    def adjust(self, logit: float, features: tuple[float, ...]) -> float:
        """The confidence model's logit plus the cosine terms (unchanged without ``confidence_coef``)."""
        if not self.confidence_coef:
            return logit
        return logit + sum(c * f for c, f in zip(self.confidence_coef, features, strict=True))


def build_semantic(
    texts: Sequence[str], model: Path, cache: Path | None, rerank_weight: float, embedder: Embedder | None = None
) -> Semantic:
    """Load the model (or use ``embedder``) and the vectors of every passage text (cached in
    ``cache`` when given). Raises :class:`SemanticError` for an unusable model file."""
    emb = embedder or StaticEmbedder.load(model)
    vectors = VectorCache(cache, emb).vectors(texts) if cache is not None else emb.embed(texts)
    return Semantic(emb, vectors, rerank_weight)
