"""A saved BM25 index and parsed corpus: arrays in one folder, memory-mapped at start.

Layout of the folder (``search.index_cache``, or ``.index`` inside the corpus folder, which the
corpus loader skips because its name starts with a dot)::

    meta.json        format, fingerprints (index; parsed corpus), scalars, the number of
                     documents, and each file's size and CRC-32
    documents.jsonl  one line per document: id, content digest, passages (and, with the parsed
                     corpus: title, source, url, published, file path, size, SHA-256)
    vocab.txt        the terms in id order, one a line
    <array>.npy      one file per array of :attr:`BM25Index.ARRAYS`
    corpus_*.npy     the parsed corpus: :attr:`bot.corpus.PassageStore.ARRAYS` (the text buffer
                     ``corpus_blob.npy`` is read with ``pread``, the others memory-mapped)

The index is valid for a corpus when the fingerprint (format, analyzer code, aliases, BM25
parameters) and the list of (document id, content digest, passages) are the same; anything else
is *stale*. A missing file, a wrong size or checksum, unreadable JSON or arrays whose shapes do
not fit each other is *corrupt*. Either way :func:`load` raises :class:`IndexCacheError` and the
caller rebuilds: a stale or corrupt index is never served. The parsed corpus
(:func:`load_corpus_snapshot`) has its own fingerprint (the parsing code) and the same checks; it
tells the loader which files' bytes it already parsed. Saving writes a fresh folder beside the
old one and swaps it in with renames, so a crash mid-save leaves the old index or none.

With a previous index at hand (a reload, or a stale saved index), :func:`load_or_build` keeps the
postings of every document whose digest did not change and analyses only the others
(:meth:`BM25Index.updated`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import bot.analysis
import bot.corpus
import bot.safe_yaml
import bot.search
import bot.sentences
import bot.urls
from bot.analysis import Analyzer
from bot.corpus import ArticleFile, Corpus, Document, PassageStore, TextFile
from bot.messages import count as counted
from bot.search import BM25Index, BM25Params

Progress = Callable[[int, int], None]
"""Called as ``progress(passages_analysed, passages_to_analyse)`` while passages are analysed."""

FORMAT = 3
META = "meta.json"
VOCAB = "vocab.txt"
DOCUMENTS = "documents.jsonl"
"""One JSON list a line per document: id, digest, passages (and, with a saved corpus, title,
source, url, published, file path, size, SHA-256). Read a line at a time: one big ``json.loads``
would hold the interpreter lock, and the bot's event loop, for a long moment at a million passages."""
CORPUS_PREFIX = "corpus_"
"""The saved corpus's arrays are ``corpus_<name>.npy`` (:attr:`bot.corpus.PassageStore.ARRAYS`)."""
_READ = 1 << 22


class IndexCacheError(Exception):
    """The saved index cannot be used: the message says why (stale or corrupt, and what)."""


@dataclass(frozen=True)
class DocumentKey:
    """What the index depends on in one document: its id, a digest of its passages, their count."""

    id: str
    digest: str
    passages: int


def corpus_keys(corpus: Corpus) -> list[DocumentKey]:
    """Every document's key, in corpus order: its id, the digest of its texts the corpus keeps
    (:class:`~bot.corpus.PassageStore`) and its number of passages."""
    counts = np.diff(corpus.store.doc_passages).tolist()
    digests = corpus.store.digests
    return [DocumentKey(d.id, digest, n) for d, digest, n in zip(corpus.documents, digests, counts, strict=True)]


def fingerprint(analyzer: Analyzer, params: BM25Params) -> str:
    """A digest of everything besides the documents that the arrays depend on.

    It covers the on-disk format, the source of the analyzer and index modules (a code change
    that could change terms or weights makes old indexes stale), the alias groups and the BM25
    parameters.
    """
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"format {FORMAT}\n".encode())
    for module in (bot.analysis, bot.search):
        digest.update(Path(module.__file__ or "").read_bytes())
    digest.update(json.dumps(analyzer.aliases.groups, ensure_ascii=False).encode("utf-8"))
    digest.update(repr((params.k1, params.b, params.epsilon)).encode())
    return digest.hexdigest()


def corpus_fingerprint() -> str:
    """A digest of the code that turns article files into documents and passages (a saved corpus
    made by other code is stale)."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"format {FORMAT}\n".encode())
    for module in (bot.corpus, bot.sentences, bot.urls, bot.safe_yaml):
        digest.update(Path(module.__file__ or "").read_bytes())
    return digest.hexdigest()


def default_folder(corpus_root: Path) -> Path:
    """Where the index is saved when no ``search.index_cache`` is configured."""
    return Path(corpus_root) / ".index"


def _crc(path: Path) -> int:
    """CRC-32 of a file, read in large chunks (not through a memory map, so it stays out of RSS)."""
    crc = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_READ):
            crc = zlib.crc32(chunk, crc)
    return crc


def foreign_files(folder: Path) -> list[str]:
    """The names in ``folder`` that a saved index never holds (sorted; none when it does not exist).

    :func:`save` replaces the whole folder, so it refuses one with any of these in it: a cache
    setting pointing at ``data/`` or the working folder must not delete what else is there."""
    try:
        names = [p.name for p in Path(folder).iterdir()]
    except FileNotFoundError:
        return []
    return sorted(n for n in names if n not in (META, VOCAB, DOCUMENTS) and not n.endswith(".npy"))


def save(
    index: BM25Index,
    folder: Path,
    documents: Sequence[DocumentKey],
    fingerprint: str,
    corpus: Corpus | None = None,
) -> None:
    """Write ``index`` to ``folder`` (replacing a saved index there); raises OSError or ValueError, the
    latter also when the folder holds other files (:func:`foreign_files`), which are left alone.

    With ``corpus`` (read from files: :attr:`Corpus.files`), its parsed snapshot is written too:
    the text buffer and arrays of its :class:`~bot.corpus.PassageStore` and each document's
    metadata and file record, so that a start with unchanged files parses nothing."""
    foreign = foreign_files(folder)
    if foreign:
        shown = ", ".join(foreign[:3]) + (", …" if len(foreign) > 3 else "")
        raise ValueError(f"{folder} holds other files than a saved index ({shown}): pick an empty or new folder")
    terms = index.terms()
    if any("\n" in t or not t for t in terms):
        raise ValueError("a term is empty or holds a line break: this index cannot be saved as text")
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        arrays, scalars = index.state()
        files: dict[str, dict[str, int]] = {}
        (tmp / VOCAB).write_text("\n".join(terms), encoding="utf-8")
        for name, array in arrays.items():
            np.save(tmp / f"{name}.npy", np.asarray(array), allow_pickle=False)
        snapshot = None
        rows: list[list] = [[d.id, d.digest, d.passages] for d in documents]
        if corpus is not None and corpus.files is not None:
            for name, array in corpus.store.arrays().items():
                if isinstance(array, TextFile):  # already a file: linked, not read
                    array.save_as(tmp / f"{CORPUS_PREFIX}{name}.npy")
                else:
                    np.save(tmp / f"{CORPUS_PREFIX}{name}.npy", np.asarray(array), allow_pickle=False)
            snapshot = {"fingerprint": corpus_fingerprint()}
            for row, d, f in zip(rows, corpus.documents, corpus.files, strict=True):
                row.extend([d.title, d.source, d.url, d.published, f.path, f.size, f.sha256])
        with open(tmp / DOCUMENTS, "w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        for path in sorted(tmp.iterdir()):
            files[path.name] = {"size": path.stat().st_size, "crc32": _crc(path)}
        meta = {
            "format": FORMAT,
            "fingerprint": fingerprint,
            "scalars": scalars,
            "n_terms": len(terms),
            "n_documents": len(rows),
            "files": files,
            "corpus": snapshot,
            "saved_at": time.time(),
        }
        (tmp / META).write_text(json.dumps(meta), encoding="utf-8")
        old = folder.with_name(f"{folder.name}.old-{os.getpid()}")
        if folder.exists():
            os.replace(folder, old)  # memory maps of the old files stay valid after this
        os.replace(tmp, folder)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def read_meta(folder: Path) -> dict:
    """The saved index's ``meta.json``; raises :class:`IndexCacheError` if missing or unreadable."""
    path = Path(folder) / META
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexCacheError(f"no saved index in {folder}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexCacheError(f"corrupt: {path} is unreadable ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise IndexCacheError(f"stale: {path} has another format than {FORMAT}")
    return meta


def _document_rows(folder: Path, meta: dict) -> list[list]:
    """The rows of :data:`DOCUMENTS` (checked against ``meta``'s count); raises :class:`IndexCacheError`."""
    path = Path(folder) / DOCUMENTS
    try:
        info = path.stat()
    except OSError:
        raise IndexCacheError(f"corrupt: {path} is missing") from None
    # A folder's files are never rewritten in place (a save writes a new generation), so the same
    # file (inode, size, time) read a moment ago has the same rows: start and reload read it twice.
    global _last_rows
    stamp = (str(path), info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
    last = _last_rows
    if last is not None and last[0] == stamp:
        rows = last[1]
    else:
        rows = _read_rows(path)
        _last_rows = (stamp, rows)
    if len(rows) != meta.get("n_documents"):
        raise IndexCacheError(f"corrupt: {path} has {len(rows)} documents, {meta.get('n_documents')} expected")
    return rows


_last_rows: tuple[tuple, list[list]] | None = None
"""The last document list read: ((path, inode, size, mtime, ctime), rows)."""


def _read_rows(path: Path) -> list[list]:
    """Every row of a document list file; raises :class:`IndexCacheError`."""
    rows = []
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:  # a small json.loads a line: the lock is released in between
                row = json.loads(line)
                if not isinstance(row, list) or len(row) < 3:
                    raise ValueError("a row is not a list of at least 3 values")
                rows.append(row)
    except FileNotFoundError:
        raise IndexCacheError(f"corrupt: {path} is missing") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise IndexCacheError(f"corrupt: {path} is unreadable ({exc})") from None
    return rows


def saved_documents(folder: Path, meta: dict | None = None) -> list[DocumentKey]:
    """The document keys a saved index was built from."""
    rows = _document_rows(folder, read_meta(folder) if meta is None else meta)
    try:
        return [DocumentKey(str(row[0]), str(row[1]), int(row[2])) for row in rows]
    except (TypeError, ValueError):
        raise IndexCacheError("corrupt: the saved document list holds a bad row") from None


def load(
    folder: Path, fingerprint: str, documents: Sequence[DocumentKey] | None = None, verify: bool = True
) -> BM25Index:
    """Memory-map the saved index in ``folder``; raises :class:`IndexCacheError` if stale or corrupt.

    ``documents`` (if given) must equal the saved list; ``verify`` checks every file's CRC-32.
    """
    folder = Path(folder)
    meta = read_meta(folder)
    if meta.get("fingerprint") != fingerprint:
        raise IndexCacheError("stale: built with another analyzer, alias list, BM25 parameters or code")
    saved = saved_documents(folder, meta)
    if documents is not None and saved != list(documents):
        raise IndexCacheError(f"stale: {_describe_change(saved, documents)}")
    names = [VOCAB, DOCUMENTS, *(f"{n}.npy" for n in BM25Index.ARRAYS)]
    _check_files(folder, meta, names, verify)
    try:
        terms = (folder / VOCAB).read_text(encoding="utf-8").split("\n")
        if terms == [""] and int(meta["n_terms"]) == 0:
            terms = []
        arrays = {n: np.asarray(np.load(folder / f"{n}.npy", mmap_mode="r")) for n in BM25Index.ARRAYS}
        index = BM25Index.from_state(dict(zip(terms, range(len(terms)), strict=True)), arrays, meta["scalars"])
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise IndexCacheError(f"corrupt: {folder} cannot be read as an index ({exc})") from None
    if not index.consistent(len(terms), sum(k.passages for k in saved)):
        raise IndexCacheError("corrupt: the saved arrays do not fit each other")
    return index


def _check_files(folder: Path, meta: dict, names: Sequence[str], verify: bool) -> None:
    """Raise :class:`IndexCacheError` unless each file is listed in ``meta``, has its size and
    (with ``verify``) its CRC-32."""
    files = meta.get("files")
    if not isinstance(files, dict) or not set(names) <= set(files):
        raise IndexCacheError("corrupt: meta.json does not list the saved files")
    for name in names:
        path = folder / name
        expected = files[name] if isinstance(files[name], dict) else {}
        try:
            size = path.stat().st_size
        except OSError:
            raise IndexCacheError(f"corrupt: {path} is missing") from None
        if size != expected.get("size"):
            raise IndexCacheError(f"corrupt: {path} has {size:,} bytes, {expected.get('size')} expected")
        if verify and _crc(path) != expected.get("crc32"):
            raise IndexCacheError(f"corrupt: {path} fails its checksum")


def verify_files(folder: Path) -> None:
    """Check the size and CRC-32 of every file the saved folder lists; raises :class:`IndexCacheError`.

    Run in a thread while the corpus files are hashed (both release the interpreter lock), after
    which :func:`load` and :func:`load_corpus_snapshot` can skip their own check (``verify=False``).
    """
    meta = read_meta(folder)
    files = meta.get("files")
    if not isinstance(files, dict):
        raise IndexCacheError("corrupt: meta.json does not list the saved files")
    _check_files(Path(folder), meta, sorted(files), True)


def _map(path: Path) -> np.ndarray:
    """A saved array, memory-mapped (an empty one is read: there is nothing to map)."""
    try:
        return np.asarray(np.load(path, mmap_mode="r", allow_pickle=False))
    except ValueError:
        return np.load(path, allow_pickle=False)


def load_corpus_snapshot(folder: Path, root: Path, verify: bool = True) -> Corpus:
    """The parsed corpus saved in ``folder`` (documents as they were read from ``root``), its text
    memory-mapped; raises :class:`IndexCacheError` when there is none, or it is stale or corrupt.

    It says what the files held when they were read; :func:`bot.corpus.load_corpus` takes it as
    ``previous`` and parses only the files whose bytes differ from it.
    """
    folder, root = Path(folder), Path(root)
    meta = read_meta(folder)
    snapshot = meta.get("corpus")
    if not isinstance(snapshot, dict):
        raise IndexCacheError(f"no saved corpus in {folder}")
    if snapshot.get("fingerprint") != corpus_fingerprint():
        raise IndexCacheError("stale: the saved corpus was read by other code")
    names = [DOCUMENTS, *(f"{CORPUS_PREFIX}{n}.npy" for n in PassageStore.ARRAYS)]
    _check_files(folder, meta, names, verify)
    rows = _document_rows(folder, meta)
    try:
        keys = [DocumentKey(str(row[0]), str(row[1]), int(row[2])) for row in rows]
        documents, files = [], []
        for row in rows:
            doc_id, title, source, url, published, rel, size, sha = row[0], *row[3:]
            if not isinstance(rel, str) or rel.startswith("/") or ".." in rel.split("/"):
                raise ValueError(f"bad document row for {doc_id!r}")
            documents.append(Document(str(doc_id), str(title), str(source), url, published, root / rel, ()))
            files.append(ArticleFile(rel, int(size), str(sha)))
        arrays: dict[str, object] = {n: _map(folder / f"{CORPUS_PREFIX}{n}.npy") for n in PassageStore.ARRAYS[1:]}
        arrays["blob"] = TextFile(folder / f"{CORPUS_PREFIX}blob.npy")
        store = PassageStore(arrays, [k.digest for k in keys])
        ok = store.consistent() and np.array_equal(np.diff(store.doc_passages), [k.passages for k in keys])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexCacheError(f"corrupt: the saved corpus in {folder} cannot be read ({exc})") from None
    if not ok:
        raise IndexCacheError("corrupt: the saved corpus's arrays do not fit each other")
    return Corpus.from_store(root, documents, store, files)


def _describe_change(saved: Sequence[DocumentKey], now: Sequence[DocumentKey]) -> str:
    """A short account of how the corpus differs from the one the index was built from."""
    before = {d.id: d for d in saved}
    after = {d.id: d for d in now}
    added = len(after.keys() - before.keys())
    removed = len(before.keys() - after.keys())
    changed = sum(1 for i in before.keys() & after.keys() if before[i] != after[i])
    parts = [f"{n} {what}" for n, what in ((added, "added"), (removed, "removed"), (changed, "changed")) if n]
    return "documents " + ", ".join(parts) if parts else "documents reordered"


@dataclass(frozen=True)
class IndexOutcome:
    """How :func:`load_or_build` got its index, for the log and the CLI."""

    how: str  # "loaded" (saved index valid), "unchanged" (previous index kept), "updated", "built"
    detail: str  # why it was rebuilt, or what was re-analysed
    reanalysed: int  # documents analysed now
    seconds: float
    saved: str | None  # where it was written, or None
    save_error: str | None = None

    def summary(self) -> str:
        """One line for a log or a terminal."""
        where = f"; saved to {self.saved}" if self.saved else ""
        problem = f"; not saved ({self.save_error})" if self.save_error else ""
        return f"index {self.how} in {self.seconds:.1f}s ({self.detail}){where}{problem}"


def load_or_build(
    corpus: Corpus,
    analyzer: Analyzer,
    params: BM25Params,
    folder: Path | None,
    previous: tuple[BM25Index, Sequence[DocumentKey]] | None = None,
    progress: Progress | None = None,
    log: Callable[[str], None] | None = None,
    keys: Sequence[DocumentKey] | None = None,
    corpus_saved: bool = False,
    verified: bool = False,
) -> tuple[BM25Index, IndexOutcome]:
    """The corpus's index: the saved one when valid, else updated from a previous one, else built.

    ``folder`` None means no saved index (neither read nor written). ``previous`` is an index
    with the document keys it was built from (the running engine's, on a reload). A rebuilt or
    updated index is saved to ``folder`` with the parsed corpus (when it was read from files), and
    so is a valid index whose saved corpus is not this one (``corpus_saved`` False); a failure to
    save is reported in the outcome, not raised. ``keys`` are the corpus's document keys if the
    caller already has them; ``verified``: :func:`verify_files` passed on ``folder`` just now.
    """
    started = time.perf_counter()
    keys = list(keys) if keys is not None else corpus_keys(corpus)
    stamp = fingerprint(analyzer, params)
    reason = "no saved index configured"
    if previous is None and folder is not None:
        try:
            index = load(folder, stamp, keys, verify=not verified)
            unchanged = counted(len(keys), "document") + " unchanged"
            if corpus_saved or corpus.files is None:
                return index, IndexOutcome("loaded", unchanged, 0, _since(started), None)
            previous = (index, keys)  # the index is good: only the parsed corpus is saved anew
            reason = ""
        except IndexCacheError as exc:
            reason = str(exc)
            if log is not None:
                log(f"saved index not used: {reason}")
            if reason.startswith("stale: documents"):
                try:  # the postings of unchanged documents are still good
                    old = load(folder, stamp, None, verify=not verified)
                    previous = (old, saved_documents(folder))
                except IndexCacheError:
                    previous = None
    if previous is not None and len(set(previous[1]) & set(keys)) * 2 < len(keys):
        reason = f"{reason}; most documents changed" if reason else "most documents changed"
        previous = None  # analysing everything anew is cheaper than merging
    same_params = previous is not None and _bm25(previous[0].params) == _bm25(params)
    if previous is not None and same_params:
        old_index, old_keys = previous
        index, count = update(old_index, old_keys, corpus, keys, analyzer, progress)
        how, detail = "updated", f"{count:,} of {len(keys):,} documents re-analysed"
        if index is old_index:
            how = "unchanged" if reason else "loaded"  # loaded: valid, only the parsed corpus is saved anew
    else:
        total = len(corpus.passages)
        report = None if progress is None else (lambda done, _tokens: progress(done, total))
        index = BM25Index.from_texts(corpus.passage_texts(), analyzer, params, report)
        how, detail, count = "built", reason, len(keys)
    saved, error = None, None
    corpus_due = corpus.files is not None and not corpus_saved
    if folder is not None and (how in ("built", "updated") or corpus_due):
        try:
            save(index, folder, keys, stamp, corpus)
            saved = str(folder)
        except (OSError, ValueError) as exc:
            error = str(exc)
    return index, IndexOutcome(how, detail, count, _since(started), saved, error)


def update(
    old: BM25Index,
    old_keys: Sequence[DocumentKey],
    corpus: Corpus,
    keys: Sequence[DocumentKey],
    analyzer: Analyzer,
    progress: Progress | None = None,
) -> tuple[BM25Index, int]:
    """The index of ``corpus`` from ``old``: unchanged documents keep their postings; returns it and
    how many documents were analysed."""
    first_old: dict[DocumentKey, int] = {}
    start = 0
    for key in old_keys:
        first_old.setdefault(key, start)
        start += key.passages
    doc_map = np.full(old.n_docs, -1, dtype=np.int64)
    fresh_texts: list[str] = []
    fresh_ids: list[int] = []
    new_start = 0
    analysed = 0
    for number, key in enumerate(keys):
        begin = first_old.pop(key, None)
        if begin is not None:
            doc_map[begin : begin + key.passages] = np.arange(new_start, new_start + key.passages)
        else:
            analysed += 1
            fresh_texts.extend(corpus.store.texts(*corpus.document_range(number)))
            fresh_ids.extend(range(new_start, new_start + key.passages))
        new_start += key.passages
    if analysed == 0 and new_start == old.n_docs and np.array_equal(doc_map, np.arange(old.n_docs)):
        return old, 0
    total = len(fresh_texts)
    report = None if progress is None else (lambda done, _tokens: progress(done, total))
    fresh = BM25Index.from_texts(fresh_texts, analyzer, old.params, report)
    return old.updated(doc_map, fresh, np.array(fresh_ids, dtype=np.int64), new_start), analysed


def _bm25(params: BM25Params) -> tuple[float, float, float]:
    """The values of the settings that change BM25 weights."""
    return (params.k1, params.b, params.epsilon)


def _since(started: float) -> float:
    """Seconds since ``started`` (a ``perf_counter`` reading)."""
    return time.perf_counter() - started
