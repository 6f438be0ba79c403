"""The corpus: articles read from a folder, split into numbered passages.

Two file forms are accepted:

* ``.md``: YAML front matter (``title`` and ``source`` required; ``url``, ``published``, ``id``
  optional) between ``---`` lines, then the body, whose blank-line-separated blocks are the passages.
* ``.txt``: an article pasted as is, one paragraph per non-empty line; a last line ``Source: …`` or
  ``Original Source: …`` names the source. The title comes from the file name.

Loading never half-succeeds: :func:`load_corpus` returns a whole :class:`Corpus` or raises
:class:`CorpusError` listing every problem, each with its file and line.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import os
import re
import stat
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from dataclasses import replace as dataclasses_replace
from pathlib import Path
from typing import Any, overload

import numpy as np
import yaml

from bot import safe_yaml
from bot.sentences import sentence_spans
from bot.urls import url_problem

ARTICLE_SUFFIXES = (".md", ".txt")
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_SOURCE_LINE = re.compile(r"^\s*(?:original\s+)?source\s*:\s*(?P<source>\S.*?)\s*$", re.IGNORECASE)
_LINK_REFUSED = "symbolic link: refused (corpus files must be real files inside the corpus folder)"
_FRONT_KEYS = {"title", "source", "url", "published", "id"}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one corpus file; ``line`` is 1-based, or None for the whole file.

    ``label`` says what the file is, for the front ends' one-line messages (``corpus error: …``,
    ``semantic model: …``)."""

    path: Path
    line: int | None
    message: str
    label: str = "corpus error"

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        return f"{where}: {self.message}"


class CorpusError(Exception):
    """A corpus that cannot be loaded; ``problems`` lists every reason found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        head = str(problems[0]) if problems else "corpus cannot be loaded"
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        super().__init__(head + more)


@dataclass(frozen=True)
class Document:
    """One article: its metadata and its paragraphs (passage texts, paragraph 1 first).

    ``paragraphs`` is a tuple, or (in a loaded :class:`Corpus`) a read-only view that decodes each
    paragraph from the corpus's text buffer when it is read and compares equal to the tuple.
    """

    id: str
    title: str
    source: str
    url: str | None
    published: str | None
    path: Path
    paragraphs: Sequence[str]


@dataclass(frozen=True)
class Passage:
    """One paragraph of one document, the unit that is indexed, ranked and cited."""

    document: Document
    paragraph: int  # 1-based
    text: str
    # A paragraph over MAX_PASSAGE_CHARS is split: this passage is part ``part`` of ``parts``.
    part: int = 1
    parts: int = 1


#: A paragraph longer than this many characters is split into several passages (see :func:`passage_texts`).
MAX_PASSAGE_CHARS = 5000
#: The longest passage a split paragraph gives (cut at sentence ends; a longer sentence at a space).
SPLIT_PASSAGE_CHARS = 3000


def passage_texts(paragraph: str) -> list[str]:
    """The passages of one paragraph: itself, or when over :data:`MAX_PASSAGE_CHARS` characters,
    consecutive runs of whole sentences of at most :data:`SPLIT_PASSAGE_CHARS` characters.

    A pasted article with no blank lines is one huge paragraph; as one passage every question that
    cites it would highlight and trim megabytes. Each part keeps the paragraph's ¶ number for
    citation. Linear in the paragraph's length.
    """
    if len(paragraph) <= MAX_PASSAGE_CHARS:
        return [paragraph]
    limit = SPLIT_PASSAGE_CHARS
    parts: list[str] = []
    start = end = -1

    def flush() -> None:
        if start >= 0 and paragraph[start:end].strip():
            parts.append(paragraph[start:end].strip())

    for a, b in sentence_spans(paragraph):
        if b - a > limit:  # one sentence longer than a part: cut it at spaces
            flush()
            start = end = -1
            pos = a
            while b - pos > limit:
                cut = paragraph.rfind(" ", pos, pos + limit + 1)
                if cut <= pos + limit // 2:
                    cut = pos + limit
                parts.append(paragraph[pos:cut].strip())
                pos = cut
                while pos < b and paragraph[pos] == " ":
                    pos += 1
            start, end = pos, b
            continue
        if start >= 0 and b - start > limit:
            flush()
            start = -1
        if start < 0:
            start = a
        end = b
    flush()
    return [p for p in parts if p] or [paragraph[:limit]]


@dataclass(frozen=True)
class ArticleFile:
    """What an article file held when it was read: its path relative to the corpus folder, its size
    and the SHA-256 of its raw bytes (a file with the same bytes parses to the same document)."""

    path: str
    size: int
    sha256: str


class TextFile:
    """The text buffer of a saved corpus, read with ``os.pread`` from its ``.npy`` file (uint8, 1-D).

    Not memory-mapped: the text stays in the OS page cache, out of the process's resident memory
    (a map counts every page ever read, and the kernel maps the pages around each one read).
    """

    dtype = np.dtype(np.uint8)
    ndim = 1

    def __init__(self, path: Path) -> None:
        with open(path, "rb") as handle:
            version = np.lib.format.read_magic(handle)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(handle)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(handle)
            self.offset = handle.tell()
            size = os.fstat(handle.fileno()).st_size
        if dtype != np.uint8 or len(shape) != 1 or fortran or self.offset + shape[0] != size:
            raise ValueError(f"{path} is not a text buffer")
        self.path = Path(path)
        self.size = int(shape[0])
        self._fd = os.open(path, os.O_RDONLY)
        self._closer = weakref.finalize(self, os.close, self._fd)

    @property
    def nbytes(self) -> int:
        """The text's size in bytes."""
        return self.size

    def read(self, a: int, b: int) -> bytes:
        """Bytes ``a:b`` of the text."""
        data = os.pread(self._fd, b - a, self.offset + a)
        if len(data) != b - a:
            raise OSError(f"{self.path} is shorter than its header says")
        return data

    def copy_into(self, fd: int, a: int, b: int) -> None:
        """Append bytes ``a:b`` to the open file ``fd`` (copied by the kernel where it can)."""
        src, left = self.offset + a, b - a
        while left > 0:
            try:
                done = os.copy_file_range(self._fd, fd, left, src)
            except (AttributeError, OSError):
                done = os.write(fd, self.read(src - self.offset, src - self.offset + min(left, 1 << 24)))
            if done <= 0:
                raise OSError(f"{self.path}: copy stopped short")
            src += done
            left -= done

    def save_as(self, target: Path) -> None:
        """Make ``target`` a ``.npy`` file with this text: a hard link when the file is still in
        place, else a copy."""
        try:
            if os.stat(self.path).st_ino == os.fstat(self._fd).st_ino:
                os.link(self.path, target)
                return
        except OSError:
            pass
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, os.pread(self._fd, self.offset, 0))  # the .npy header
            self.copy_into(fd, 0, self.size)
        finally:
            os.close(fd)


class PassageStore:
    """Every document's paragraph and passage texts in one UTF-8 buffer, and the arrays that place them.

    A document's bytes are one run of the buffer (``doc_bytes[d]:doc_bytes[d + 1]``): its paragraphs
    in order, then the parts of any paragraph split into several passages. Shapes (``P`` paragraphs,
    ``N`` passages, ``D`` documents): ``para_span`` (P, 2) and ``passage_span`` (N, 2) int64 byte
    ranges; ``doc_paras`` and ``doc_passages`` (D + 1,) int64 offsets; ``passage_doc``,
    ``passage_para`` (global paragraph number, 0-based), ``passage_part`` and ``passage_parts``
    (N,) int32. ``digests`` holds a BLAKE2b digest of each document's texts (what the index keys on).
    The arrays may be memory-mapped from a saved corpus (:mod:`bot.index_store`): read-only; its
    text is then a :class:`TextFile`, read a passage at a time.
    """

    ARRAYS = (
        "blob",
        "doc_bytes",
        "para_span",
        "passage_span",
        "doc_paras",
        "doc_passages",
        "passage_doc",
        "passage_para",
        "passage_part",
        "passage_parts",
    )

    def __init__(self, arrays: dict[str, Any], digests: Sequence[str], spill: Path | None = None) -> None:
        self.blob: np.ndarray | TextFile = arrays["blob"]
        self.doc_bytes: np.ndarray = arrays["doc_bytes"]
        self.para_span: np.ndarray = arrays["para_span"]
        self.passage_span: np.ndarray = arrays["passage_span"]
        self.doc_paras: np.ndarray = arrays["doc_paras"]
        self.doc_passages: np.ndarray = arrays["doc_passages"]
        self.passage_doc: np.ndarray = arrays["passage_doc"]
        self.passage_para: np.ndarray = arrays["passage_para"]
        self.passage_part: np.ndarray = arrays["passage_part"]
        self.passage_parts: np.ndarray = arrays["passage_parts"]
        self.digests = tuple(digests)
        self.spill = spill  # a text file written for this store, to drop once saved (drop_spill)
        if isinstance(self.blob, TextFile):
            self._read: Callable[[int, int], bytes | memoryview] = self.blob.read
        else:
            view = memoryview(self.blob)
            self._read = lambda a, b: view[a:b]

    def drop_spill(self) -> None:
        """Remove the file this store's text was written to (its data stays readable while the
        store lives, and where :meth:`TextFile.save_as` linked it)."""
        if self.spill is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.spill)
            self.spill = None

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays by name (:attr:`ARRAYS`), as :meth:`__init__` takes them back."""
        return {name: getattr(self, name) for name in self.ARRAYS}

    @property
    def n_documents(self) -> int:
        """How many documents the store holds."""
        return int(self.doc_bytes.size) - 1

    @property
    def n_passages(self) -> int:
        """How many passages the store holds."""
        return int(self.passage_doc.size)

    def consistent(self) -> bool:
        """Whether the arrays fit each other and the buffer (a loaded store is checked before use)."""
        d, n, p = self.n_documents, self.n_passages, int(self.para_span.shape[0]) if self.para_span.ndim == 2 else -1
        if d < 0 or len(self.digests) != d or self.blob.dtype != np.uint8 or self.blob.ndim != 1:
            return False
        if not (self.doc_paras.size == self.doc_passages.size == d + 1 and self.passage_span.shape == (n, 2)):
            return False
        if not (self.passage_para.size == self.passage_part.size == self.passage_parts.size == n):
            return False
        for offsets, last in ((self.doc_bytes, self.blob.size), (self.doc_paras, p), (self.doc_passages, n)):
            if int(offsets[0]) != 0 or int(offsets[-1]) != last or (d and bool(np.any(np.diff(offsets) < 0))):
                return False
        for spans in (self.para_span, self.passage_span):
            if spans.size and (
                int(spans.min()) < 0 or int(spans.max()) > self.blob.size or bool(np.any(spans[:, 1] < spans[:, 0]))
            ):
                return False
        return not n or (
            int(self.passage_doc.min()) >= 0
            and int(self.passage_doc.max()) < d
            and int(self.passage_para.min()) >= 0
            and int(self.passage_para.max()) < p
        )

    def text(self, passage: int) -> str:
        """The text of passage ``passage`` (0-based)."""
        a, b = self.passage_span[passage]
        return str(self._read(int(a), int(b)), "utf-8")

    def paragraph(self, number: int) -> str:
        """The text of paragraph ``number`` (0-based, over the whole corpus)."""
        a, b = self.para_span[number]
        return str(self._read(int(a), int(b)), "utf-8")

    def paragraphs(self, first: int, stop: int) -> Iterator[str]:
        """Paragraphs ``first:stop`` (0-based, over the whole corpus) in order."""
        return self._spans(self.para_span[first:stop])

    def texts(self, start: int = 0, stop: int | None = None) -> Iterator[str]:
        """Passage texts ``start:stop`` in order, without building :class:`Passage` objects."""
        return self._spans(self.passage_span[start : self.n_passages if stop is None else stop])

    def _spans(self, spans: np.ndarray, window: int = 4096) -> Iterator[str]:
        """The texts of ``spans`` in order, read a window of consecutive spans at a time."""
        for w0 in range(0, len(spans), window):
            part = spans[w0 : w0 + window]
            lo, hi = int(part.min()), int(part.max())
            if hi - lo > 1 << 26:  # spans far apart: one read each
                for a, b in part.tolist():
                    yield str(self._read(a, b), "utf-8")
                continue
            data = memoryview(self._read(lo, hi))
            for a, b in part.tolist():
                yield str(data[a - lo : b - lo], "utf-8")

    @classmethod
    def build(cls, parts: Sequence[Document], spill: Path | None = None) -> PassageStore:
        """A store for ``parts``: a document whose paragraphs are a view of another store is copied
        byte for byte (no decoding); the others are encoded and split into passages here.

        With ``spill`` (a path), when some text comes from a saved corpus (a :class:`TextFile`),
        the new text is written to that file instead of memory (the kernel copies the unchanged
        documents' bytes file to file) and read from it as a :class:`TextFile`."""
        builder = _StoreBuilder()
        for doc in parts:
            builder.add(doc)
        return builder.finish(spill)


class _StoreBuilder:
    """A :class:`PassageStore` built one document at a time (:meth:`add`, then :meth:`finish`).

    New text is appended to one growing buffer as each document comes, so a caller that drops a
    document's strings once it is added (:func:`load_corpus` does) never holds the corpus's text
    twice: not as strings and bytes together, and not as bytes and the final buffer together (a
    buffer of new text alone becomes the store's text without a copy)."""

    def __init__(self) -> None:
        self.chunks: list[Any] = []  # bytearrays of new text, or (source, start, stop) runs of another store's
        self.doc_bytes, self.doc_paras, self.doc_passages = [0], [0], [0]
        self.para_spans: list[np.ndarray] = []
        self.passage_spans: list[np.ndarray] = []
        self.passage_para: list[np.ndarray] = []
        self.passage_part: list[np.ndarray] = []
        self.passage_parts: list[np.ndarray] = []
        self.digests: list[str] = []
        self.at = 0

    def _text(self) -> bytearray:
        """The buffer new text is appended to (a new one after a run copied from another store)."""
        if not self.chunks or not isinstance(self.chunks[-1], bytearray):
            self.chunks.append(bytearray())
        return self.chunks[-1]

    def add(self, doc: Document) -> None:
        """Append one document's text and passages."""
        doc_paras, doc_passages = self.doc_paras, self.doc_passages
        view = doc.paragraphs
        at = self.at
        if isinstance(view, _Paragraphs):
            src, i = view.store, view.doc
            b0, b1 = int(src.doc_bytes[i]), int(src.doc_bytes[i + 1])
            p0, p1 = int(src.doc_paras[i]), int(src.doc_paras[i + 1])
            q0, q1 = int(src.doc_passages[i]), int(src.doc_passages[i + 1])
            self.chunks.append((src.blob, b0, b1))
            self.para_spans.append(src.para_span[p0:p1] + (at - b0))
            self.passage_spans.append(src.passage_span[q0:q1] + (at - b0))
            self.passage_para.append(src.passage_para[q0:q1] - p0 + doc_paras[-1])
            self.passage_part.append(np.asarray(src.passage_part[q0:q1]))
            self.passage_parts.append(np.asarray(src.passage_parts[q0:q1]))
            self.digests.append(src.digests[i])
            at += b1 - b0
            doc_paras.append(doc_paras[-1] + p1 - p0)
            doc_passages.append(doc_passages[-1] + q1 - q0)
        else:
            encoded = [text.encode("utf-8") for text in view]
            buffer = self._text()
            spans = []
            for raw in encoded:
                spans.append((at, at + len(raw)))
                at += len(raw)
                buffer += raw
            pspans, ppara, ppart, pparts = [], [], [], []
            for number, text in enumerate(view):
                pieces = passage_texts(text)
                for k, piece in enumerate(pieces, start=1):
                    if len(pieces) == 1 and piece == text:  # the paragraph itself
                        pspans.append(spans[number])
                    else:
                        raw = piece.encode("utf-8")
                        buffer += raw
                        pspans.append((at, at + len(raw)))
                        at += len(raw)
                    ppara.append(doc_paras[-1] + number)
                    ppart.append(k)
                    pparts.append(len(pieces))
            self.para_spans.append(np.array(spans, dtype=np.int64).reshape(-1, 2))
            self.passage_spans.append(np.array(pspans, dtype=np.int64).reshape(-1, 2))
            self.passage_para.append(np.array(ppara, dtype=np.int32))
            self.passage_part.append(np.array(ppart, dtype=np.int32))
            self.passage_parts.append(np.array(pparts, dtype=np.int32))
            lengths = np.array([b - a for a, b in spans], dtype=np.int64)
            self.digests.append(_digest(b"".join(encoded), lengths))
            doc_paras.append(doc_paras[-1] + len(encoded))
            doc_passages.append(doc_passages[-1] + len(pspans))
        self.at = at
        self.doc_bytes.append(at)

    def finish(self, spill: Path | None = None) -> PassageStore:
        """The store of every document added (see :meth:`PassageStore.build` for ``spill``)."""
        chunks, at = self.chunks, self.at
        self.chunks = []
        files = any(isinstance(c, tuple) and isinstance(c[0], TextFile) for c in chunks)
        blob: np.ndarray | TextFile | None = None
        if spill is not None and files:
            try:
                blob = _spill_text(spill, chunks, at)
            except OSError:  # a read-only or full cache folder: the text is held in memory instead
                blob = None
        if blob is None:
            spill = None
            if len(chunks) == 1 and isinstance(chunks[0], bytearray):
                blob = np.frombuffer(chunks[0], dtype=np.uint8)  # the new text itself, not a copy
            else:
                blob = np.empty(at, dtype=np.uint8)
                pos = 0
                for chunk in chunks:
                    if isinstance(chunk, tuple):
                        src, b0, b1 = chunk
                        data: Any = src.read(b0, b1) if isinstance(src, TextFile) else src[b0:b1]
                    else:
                        data = chunk
                    n = len(data)
                    raw = isinstance(data, (bytes, bytearray))
                    blob[pos : pos + n] = np.frombuffer(data, dtype=np.uint8) if raw else data
                    pos += n
        del chunks
        counts = np.diff(np.array(self.doc_passages, dtype=np.int64))
        arrays = {
            "blob": blob,
            "doc_bytes": np.array(self.doc_bytes, dtype=np.int64),
            "para_span": _stack(self.para_spans, (0, 2), np.int64),
            "passage_span": _stack(self.passage_spans, (0, 2), np.int64),
            "doc_paras": np.array(self.doc_paras, dtype=np.int64),
            "doc_passages": np.array(self.doc_passages, dtype=np.int64),
            "passage_doc": np.repeat(np.arange(counts.size, dtype=np.int32), counts),
            "passage_para": _stack(self.passage_para, (0,), np.int32),
            "passage_part": _stack(self.passage_part, (0,), np.int32),
            "passage_parts": _stack(self.passage_parts, (0,), np.int32),
        }
        return PassageStore(arrays, self.digests, spill)


def _spill_text(path: Path, chunks: list[Any], size: int) -> TextFile:
    """Write the text made of ``chunks`` (bytes, or ``(source, start, stop)`` runs of another
    store's text) to ``path`` as a ``.npy`` file, and open it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        with os.fdopen(os.dup(fd), "wb") as handle:
            np.lib.format.write_array_header_1_0(handle, {"descr": "|u1", "fortran_order": False, "shape": (size,)})
        os.lseek(fd, 0, os.SEEK_END)
        for chunk in chunks:
            if isinstance(chunk, tuple):
                src, b0, b1 = chunk
                if isinstance(src, TextFile):
                    src.copy_into(fd, b0, b1)
                else:
                    os.write(fd, memoryview(src[b0:b1]))
            else:
                _write_all(fd, memoryview(chunk))
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise
    os.close(fd)
    return TextFile(path)


def _write_all(fd: int, data: memoryview) -> None:
    """Write all of ``data`` to ``fd`` (one ``os.write`` may write less, e.g. over 2 GB)."""
    while data:
        done = os.write(fd, data)
        if done <= 0:
            raise OSError("write stopped short")
        data = data[done:]


def _stack(pieces: list[np.ndarray], empty: tuple[int, ...], dtype: Any) -> np.ndarray:
    """The pieces concatenated (``empty``-shaped when there are none), as ``dtype``."""
    if not pieces:
        return np.zeros(empty, dtype=dtype)
    return np.concatenate(pieces).astype(dtype, copy=False)


def _digest(data: bytes, lengths: np.ndarray) -> str:
    """BLAKE2b of a document's paragraph bytes and their lengths (what its postings depend on)."""
    digest = hashlib.blake2b(data, digest_size=16)
    digest.update(np.ascontiguousarray(lengths, dtype="<i8").tobytes())
    return digest.hexdigest()


class _Paragraphs(Sequence[str]):
    """A document's paragraphs read from a :class:`PassageStore`: decoded on access, equal to the tuple."""

    __slots__ = ("_count", "_first", "_hash", "doc", "store")

    def __init__(self, store: PassageStore, doc: int) -> None:
        self.store = store
        self.doc = doc
        self._first = int(store.doc_paras[doc])
        self._count = int(store.doc_paras[doc + 1]) - self._first
        self._hash: int | None = None

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> tuple[str, ...]: ...
    def __getitem__(self, i: int | slice) -> str | tuple[str, ...]:
        if isinstance(i, slice):
            return tuple(self.store.paragraph(self._first + k) for k in range(*i.indices(self._count)))
        if i < 0:
            i += self._count
        if not 0 <= i < self._count:
            raise IndexError("paragraph index out of range")
        return self.store.paragraph(self._first + i)

    def __iter__(self) -> Iterator[str]:
        return self.store.paragraphs(self._first, self._first + self._count)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _Paragraphs) and other.store is self.store and other.doc == self.doc:
            return True
        if isinstance(other, (tuple, list, _Paragraphs)):
            return len(other) == self._count and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(tuple(self))
        return self._hash

    def __repr__(self) -> str:
        return repr(tuple(self))


class PassageSequence(Sequence[Passage]):
    """Every passage of a corpus, built on demand from its :class:`PassageStore` (a read-only
    sequence that behaves like the tuple of :class:`Passage` it stands for, without a million objects)."""

    __slots__ = ("documents", "store")

    def __init__(self, store: PassageStore, documents: tuple[Document, ...]) -> None:
        self.store = store
        self.documents = documents

    def __len__(self) -> int:
        return self.store.n_passages

    def _passage(self, i: int) -> Passage:
        store = self.store
        doc = int(store.passage_doc[i])
        number = int(store.passage_para[i]) - int(store.doc_paras[doc]) + 1
        part, parts = int(store.passage_part[i]), int(store.passage_parts[i])
        return Passage(self.documents[doc], number, store.text(i), part, parts)

    @overload
    def __getitem__(self, i: int) -> Passage: ...
    @overload
    def __getitem__(self, i: slice) -> tuple[Passage, ...]: ...
    def __getitem__(self, i: int | slice) -> Passage | tuple[Passage, ...]:
        n = self.store.n_passages
        if isinstance(i, slice):
            return tuple(self._passage(k) for k in range(*i.indices(n)))
        i = int(i)  # numpy integers too
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("passage index out of range")
        return self._passage(i)

    def __iter__(self) -> Iterator[Passage]:
        store, documents = self.store, self.documents
        first = store.doc_paras.tolist()
        for doc, para, part, parts, text in zip(
            store.passage_doc.tolist(),
            store.passage_para.tolist(),
            store.passage_part.tolist(),
            store.passage_parts.tolist(),
            store.texts(),
            strict=True,
        ):
            yield Passage(documents[doc], para - first[doc] + 1, text, part, parts)

    def __eq__(self, other: object) -> bool:
        if other is self:
            return True
        if isinstance(other, (tuple, list, PassageSequence)):
            return len(other) == len(self) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"<{len(self):,} passages>"


@dataclass(frozen=True)
class Corpus:
    """All documents, in file-name order, and their passages flattened in the same order.

    ``passages`` is a read-only sequence over :attr:`store` (built on demand, equal to the tuple of
    :class:`Passage` it stands for); ``files`` records each document's file as read (none for a
    corpus built from documents in memory), so a reload parses only files whose bytes changed.
    """

    root: Path
    documents: tuple[Document, ...]
    passages: Sequence[Passage]
    store: PassageStore = field(compare=False, repr=False)
    files: tuple[ArticleFile, ...] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_documents(
        cls,
        root: Path,
        documents: Sequence[Document],
        files: Sequence[ArticleFile] | None = None,
        spill: Path | None = None,
    ) -> Corpus:
        """Build a corpus (its text buffer and passages) from documents already parsed, or taken
        from another corpus (copied byte for byte; to the file ``spill`` if that corpus's text is
        a file, see :meth:`PassageStore.build`)."""
        store = PassageStore.build(documents, spill)
        return cls.from_store(root, documents, store, files)

    @classmethod
    def from_store(
        cls,
        root: Path,
        documents: Sequence[Document],
        store: PassageStore,
        files: Sequence[ArticleFile] | None = None,
    ) -> Corpus:
        """A corpus over ``store`` whose documents' metadata is ``documents`` (their paragraphs
        become views of the store)."""
        docs = tuple(
            Document(d.id, d.title, d.source, d.url, d.published, d.path, _Paragraphs(store, i))
            for i, d in enumerate(documents)
        )
        return cls(Path(root), docs, PassageSequence(store, docs), store, tuple(files) if files is not None else None)

    def passage_texts(self) -> Iterator[str]:
        """Every passage's text in order (cheaper than reading ``p.text`` of each passage)."""
        return self.store.texts()

    def paragraph_numbers(self) -> np.ndarray:
        """Each passage's ¶ number (int64, 1-based), without building the passages."""
        store = self.store
        return np.asarray(store.passage_para, dtype=np.int64) - store.doc_paras[store.passage_doc] + 1

    def document_range(self, index: int) -> tuple[int, int]:
        """Where document number ``index``'s passages are in :attr:`passages`: ``start, stop``."""
        offsets = self.store.doc_passages
        return int(offsets[index]), int(offsets[index + 1])

    def split_paragraphs(self) -> list[tuple[Document, int, int]]:
        """(document, paragraph number, passages) for every paragraph split into several passages."""
        store = self.store
        # A paragraph has at least as many bytes as characters: only the long ones are decoded.
        long = np.flatnonzero(store.para_span[:, 1] - store.para_span[:, 0] > MAX_PASSAGE_CHARS)
        out = []
        for para in long.tolist():
            text = store.paragraph(para)
            if len(text) <= MAX_PASSAGE_CHARS:
                continue
            doc = int(np.searchsorted(store.doc_paras, para, side="right")) - 1
            number = para - int(store.doc_paras[doc]) + 1
            out.append((self.documents[doc], number, int(np.count_nonzero(store.passage_para == para))))
        return out

    def document(self, doc_id: str) -> Document | None:
        """The document with this id, or None."""
        for doc in self.documents:
            if doc.id == doc_id:
                return doc
        return None


# Front matter made only of "key: plain text" lines (and ISO dates) is read without PyYAML, which
# costs ~0.2 ms per file; anything else (quotes, numbers, comments, lists, odd keys) goes to YAML.
_SIMPLE_FRONT_LINE = re.compile(r"^(title|source|url|published|id):[ ]+([^\W\d_][\w .,;:!?()/&%+=@#'’‘“”—–-]*?)[ ]*$")
_ISO_DATE_LINE = re.compile(r"^published:[ ]+(\d{4}-\d\d-\d\d)[ ]*$")
_YAML_WORDS = frozenset(
    "yes no true false on off null y n".split()  # YAML 1.1 booleans and null, in any case
)


def _simple_front(front_lines: list[str]) -> dict[str, Any] | None:
    """The front matter as PyYAML would load it, if every line is a simple ``key: text`` pair; else None."""
    front: dict[str, Any] = {}
    for line in front_lines:
        if not line.strip(" "):
            continue
        match = _SIMPLE_FRONT_LINE.match(line)
        if match is not None:
            key, value = match.groups()
            if ": " in value or " #" in value or value.endswith(":") or value.lower() in _YAML_WORDS:
                return None
        else:
            date = _ISO_DATE_LINE.match(line)
            if date is None:
                return None
            key = "published"
            try:
                value = dt.date.fromisoformat(date.group(1))
            except ValueError:
                return None
        if key in front:
            return None
        front[key] = value
    return front or None


def _line_of_offset(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _key_line(front_lines: list[str], key: str, first_line: int) -> int:
    """The file line where ``key:`` is written in the front matter (or the front matter's start)."""
    for i, line in enumerate(front_lines):
        if re.match(rf"^{re.escape(key)}\s*:", line):
            return first_line + i
    return first_line - 1


def _split_blocks(lines: list[str], first_line: int) -> list[tuple[int, str]]:
    """Blank-line-separated blocks as (starting line, text joined with single spaces)."""
    blocks: list[tuple[int, str]] = []
    current: list[str] = []
    start = first_line
    for i, line in enumerate(lines):
        if line.strip():
            if not current:
                start = first_line + i
            current.append(line.strip())
        elif current:
            blocks.append((start, " ".join(current)))
            current = []
    if current:
        blocks.append((start, " ".join(current)))
    return blocks


def _check_text(value: Any, key: str, path: Path, line: int, problems: list[Problem]) -> str | None:
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        shown = safe_yaml.quote(value)
        problems.append(Problem(path, line, f"front matter '{key}' must be non-empty text, not {shown}"))
        return None
    return " ".join(value.split())


def parse_markdown(path: Path, text: str) -> tuple[Document | None, list[Problem]]:
    """Parse one ``.md`` article; returns the document, or None with the problems found."""
    problems: list[Problem] = []
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return None, [Problem(path, 1, "missing front matter: the file must start with a '---' line")]
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() in ("---", "..."))
    except StopIteration:
        return None, [Problem(path, 1, "front matter is not closed: no second '---' line")]
    front_lines = lines[1:end]
    try:
        front = _simple_front(front_lines)
        if front is None:
            front = safe_yaml.load("\n".join(front_lines))
    except yaml.YAMLError as exc:
        mark_line, problem = safe_yaml.problem_of(exc)
        line = mark_line + 2 if mark_line is not None else 2
        return None, [Problem(path, line, f"front matter is not valid YAML ({problem})")]
    if front is None:
        front = {}
    if not isinstance(front, dict):
        return None, [Problem(path, 2, "front matter must be 'key: value' lines")]

    def line_of(key: str) -> int:
        return _key_line(front_lines, key, 2)

    for key in front:
        if key not in _FRONT_KEYS:
            known = ", ".join(sorted(_FRONT_KEYS))
            name = safe_yaml.quote(key, 40)
            problems.append(Problem(path, line_of(str(key)[:40]), f"unknown front-matter key {name} ({known})"))
    for key in ("title", "source"):
        if key not in front or front[key] is None:
            problems.append(Problem(path, 1, f"front matter is missing the required '{key}'"))
    title = _check_text(front.get("title"), "title", path, line_of("title"), problems)
    source = _check_text(front.get("source"), "source", path, line_of("source"), problems)
    url = _check_text(front.get("url"), "url", path, line_of("url"), problems)
    why = url_problem(url) if url is not None else None
    if why is not None:
        problems.append(Problem(path, line_of("url"), f"'url' {why}: {safe_yaml.quote(url)}"))
        url = None
    published_raw = front.get("published")
    published: str | None = None
    if isinstance(published_raw, (dt.date, dt.datetime)):
        published = published_raw.isoformat()
    elif published_raw is not None:
        published = _check_text(published_raw, "published", path, line_of("published"), problems)
    doc_id = path.stem
    if "id" in front:
        given = _check_text(front.get("id"), "id", path, line_of("id"), problems)
        if given is not None:
            doc_id = given
    if not _ID_RE.match(doc_id):
        problems.append(
            Problem(
                path,
                line_of("id") if "id" in front else None,
                f"document id {safe_yaml.quote(doc_id)} must be 1-64 letters, digits, '.', '_' or '-' "
                "(set 'id' in the front matter or rename the file)",
            )
        )
    blocks = _split_blocks(lines[end + 1 :], end + 2)
    if not blocks:
        problems.append(Problem(path, end + 1, "empty document: no paragraphs after the front matter"))
    if problems:
        return None, problems
    doc = Document(
        id=doc_id,
        title=title or "",
        source=source or "",
        url=url,
        published=published,
        path=path,
        paragraphs=tuple(text for _, text in blocks),
    )
    return doc, []


def parse_text(path: Path, text: str) -> tuple[Document | None, list[Problem]]:
    """Parse one pasted ``.txt`` article: a paragraph per non-empty line, a last ``Source:`` line."""
    numbered = [(i + 1, line.strip()) for i, line in enumerate(text.splitlines()) if line.strip()]
    if not numbered:
        return None, [Problem(path, None, "empty document: no text")]
    source = None
    match = _SOURCE_LINE.match(numbered[-1][1])
    if match:
        source = match.group("source")
        numbered = numbered[:-1]
    if source is None:
        return None, [
            Problem(
                path,
                numbered[-1][0],
                "no source: a .txt article must end with a line 'Source: …' or 'Original Source: …'",
            )
        ]
    if not numbered:
        return None, [Problem(path, 1, "empty document: only a source line")]
    doc_id = path.stem
    if not _ID_RE.match(doc_id):
        shown = safe_yaml.quote(doc_id)
        return None, [Problem(path, None, f"file name {shown} cannot be a document id (use letters, digits, . _ -)")]
    title = " ".join(re.sub(r"[_-]+", " ", path.stem).split()).strip()
    # A leading "000 " numbering prefix is not part of a title.
    title = re.sub(r"^\d+\s+", "", title) or path.stem
    doc = Document(
        id=doc_id,
        title=title[:1].upper() + title[1:],
        source=source,
        url=None,
        published=None,
        path=path,
        paragraphs=tuple(line for _, line in numbered),
    )
    return doc, []


def read_file_bytes(path: Path, max_bytes: int, *, missing_ok: bool = False) -> tuple[bytes | None, list[Problem]]:
    """Read a corpus file's raw bytes the way every corpus file is read: the bytes, or None with the problem.

    Refused: a symbolic link (not followed), anything but a regular file (a FIFO or device never
    blocks: the file is opened non-blocking), a file over ``max_bytes``. With ``missing_ok`` a
    missing file gives ``(None, [])``.
    """
    try:
        # Non-blocking and not following links: a FIFO or device must never hang a reload, and a
        # file swapped for a link after the folder scan is not followed.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                return None, [Problem(path, None, "not a regular file: refused")]
            if info.st_size > max_bytes:
                return None, [Problem(path, None, f"file is {info.st_size:,} bytes, over the {max_bytes:,}-byte cap")]
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return None, [Problem(path, None, _LINK_REFUSED)]
        if exc.errno == errno.ENOENT and missing_ok:
            return None, []
        return None, [Problem(path, None, f"cannot read ({exc.strerror or exc})")]
    if len(data) > max_bytes:  # grew while we looked
        return None, [Problem(path, None, f"file is over the {max_bytes:,}-byte cap")]
    return data, []


def decode_text(path: Path, data: bytes) -> tuple[str | None, list[Problem]]:
    """A corpus file's bytes as text, or None with the problem (a NUL byte, non-UTF-8); a leading BOM is dropped."""
    nul = data.find(b"\x00")
    if nul >= 0:
        return None, [Problem(path, _line_of_offset(data, nul), "binary file (contains a NUL byte), not text")]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [Problem(path, _line_of_offset(data, exc.start), "not UTF-8 text")]
    return text.removeprefix("\ufeff"), []


def read_text_file(path: Path, max_bytes: int, *, missing_ok: bool = False) -> tuple[str | None, list[Problem]]:
    """Read a UTF-8 text file the way every corpus file is read: the text, or None with the problem.

    Refused: a symbolic link (not followed), anything but a regular file (a FIFO or device never
    blocks: the file is opened non-blocking), a file over ``max_bytes``, a NUL byte, non-UTF-8.
    With ``missing_ok`` a missing file gives ``(None, [])``. A leading BOM is dropped.
    """
    data, problems = read_file_bytes(path, max_bytes, missing_ok=missing_ok)
    if data is None:
        return None, problems
    return decode_text(path, data)


def parse_article(path: Path, data: bytes) -> tuple[Document | None, list[Problem]]:
    """Decode and parse one article file's bytes (``.md`` or ``.txt`` by its suffix)."""
    text, problems = decode_text(path, data)
    if text is None:
        return None, problems
    if path.suffix.lower() == ".md":
        return parse_markdown(path, text)
    return parse_text(path, text)


def read_article(path: Path, max_bytes: int) -> tuple[Document | None, list[Problem]]:
    """Read, decode and parse one article file, refusing binary, non-UTF-8 and oversized files."""
    data, problems = read_file_bytes(path, max_bytes)
    if data is None:
        return None, problems
    return parse_article(path, data)


def _article_paths(root: Path, problems: list[Problem]) -> Iterator[tuple[Path, str]]:
    """Article files under ``root`` in sorted order, with their path relative to ``root`` (``/``
    separated); links or files outside ``root`` are refused."""
    real_root = root.resolve()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        here = Path(dirpath)
        for d in list(dirnames):
            if (here / d).is_symlink():
                problems.append(Problem(here / d, None, _LINK_REFUSED))
                dirnames.remove(d)
        # Folder links are refused above, so a file that is no link lies where its folder resolves.
        real_here = here.resolve()
        try:
            rel_dir = real_here.relative_to(real_root).as_posix()
            inside = True
        except ValueError:
            rel_dir, inside = "", False
        prefix = "" if rel_dir == "." else rel_dir + "/"
        for name in sorted(filenames):
            if name.startswith(".") or not name.lower().endswith(ARTICLE_SUFFIXES):
                continue
            path = here / name
            if os.path.islink(path):
                problems.append(Problem(path, None, _LINK_REFUSED))
                continue
            if not inside:
                problems.append(Problem(path, None, "path points outside the corpus folder: refused"))
                continue
            yield path, prefix + name


def load_corpus(
    root: Path,
    max_file_bytes: int = 2_000_000,
    max_files: int = 200_000,
    on_file: Callable[[int], None] | None = None,
    previous: Corpus | None = None,
    spill: Path | None = None,
) -> Corpus:
    """Load every article under ``root``; raise :class:`CorpusError` listing all problems if any.

    ``on_file(n)`` (if given) is called after each file with the number of files read so far.
    ``previous`` is a corpus loaded before (the running one, or a saved snapshot): a file whose
    path and bytes (SHA-256) are the ones it recorded is not decoded nor parsed again, its document
    is taken over; every other file is read as if there were no ``previous``, so its problems are
    reported the same way. When nothing changed, ``previous`` itself is returned. ``spill`` is
    where a new text buffer may be written rather than held in memory (see :meth:`PassageStore.build`).
    """
    root = Path(root)
    if not root.is_dir():
        raise CorpusError([Problem(root, None, "corpus folder does not exist or is not a folder")])
    known: dict[str, tuple[str, int]] = {}
    if previous is not None and previous.files is not None and len(previous.files) == len(previous.documents):
        known = {f.path: (f.sha256, i) for i, f in enumerate(previous.files)}
    problems: list[Problem] = []
    documents: list[Document] = []
    files: list[ArticleFile] = []
    taken: list[int] = []  # for each document, its number in ``previous`` (-1: parsed now)
    seen: dict[str, Path] = {}
    # With nothing to take over, each document's text goes to the store as it is parsed and its
    # strings are dropped: the corpus's text is never held as strings and bytes at once.
    builder = _StoreBuilder() if not known else None
    count = 0
    for path, rel in _article_paths(root, problems):
        count += 1
        if count > max_files:
            problems.append(Problem(root, None, f"more than {max_files:,} article files (corpus.max_files)"))
            break
        data, found = read_file_bytes(path, max_file_bytes)
        doc = None
        if data is not None:
            sha = hashlib.sha256(data).hexdigest()
            hit = known.get(rel)
            if hit is not None and hit[0] == sha and previous is not None:
                old = previous.documents[hit[1]]
                doc = old if old.path == path else dataclasses_replace(old, path=path)
                taken_from = hit[1]
            else:
                doc, found = parse_article(path, data)
                taken_from = -1
        if on_file is not None:
            on_file(count)
        problems.extend(found)
        if doc is None or data is None:
            continue
        if doc.id in seen:
            problems.append(Problem(path, None, f"duplicate document id {doc.id!r} (also used by {seen[doc.id]})"))
            continue
        seen[doc.id] = path
        if builder is not None and not problems:
            builder.add(doc)
            doc = dataclasses_replace(doc, paragraphs=())
        elif builder is not None:
            builder = None  # the load fails: the text gathered so far is of no use
        documents.append(doc)
        files.append(ArticleFile(rel, len(data), sha))
        taken.append(taken_from)
    if not problems and not documents:
        problems.append(Problem(root, None, "no articles found (.md or .txt files)"))
    if problems:
        raise CorpusError(problems)
    if previous is not None and taken == list(range(len(previous.documents))):
        if previous.root == root and previous.files == tuple(files):
            return previous
        return Corpus.from_store(root, documents, previous.store, files)
    if builder is not None:
        return Corpus.from_store(root, documents, builder.finish(spill), files)
    return Corpus.from_documents(root, documents, files, spill)
