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

import datetime as dt
import errno
import os
import re
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    """One article: its metadata and its paragraphs (passage texts, paragraph 1 first)."""

    id: str
    title: str
    source: str
    url: str | None
    published: str | None
    path: Path
    paragraphs: tuple[str, ...]


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
class Corpus:
    """All documents, in file-name order, and their passages flattened in the same order."""

    root: Path
    documents: tuple[Document, ...]
    passages: tuple[Passage, ...]

    @classmethod
    def from_documents(cls, root: Path, documents: list[Document]) -> Corpus:
        """Build a corpus (and its flat passage list) from documents already parsed."""
        passages: list[Passage] = []
        for doc in documents:
            for number, text in enumerate(doc.paragraphs, start=1):
                parts = passage_texts(text)
                passages.extend(Passage(doc, number, part, i, len(parts)) for i, part in enumerate(parts, start=1))
        return cls(root, tuple(documents), tuple(passages))

    def split_paragraphs(self) -> list[tuple[Document, int, int]]:
        """(document, paragraph number, passages) for every paragraph split into several passages."""
        return [
            (doc, number, len(passage_texts(text)))
            for doc in self.documents
            for number, text in enumerate(doc.paragraphs, start=1)
            if len(text) > MAX_PASSAGE_CHARS
        ]

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


def read_text_file(path: Path, max_bytes: int, *, missing_ok: bool = False) -> tuple[str | None, list[Problem]]:
    """Read a UTF-8 text file the way every corpus file is read: the text, or None with the problem.

    Refused: a symbolic link (not followed), anything but a regular file (a FIFO or device never
    blocks: the file is opened non-blocking), a file over ``max_bytes``, a NUL byte, non-UTF-8.
    With ``missing_ok`` a missing file gives ``(None, [])``. A leading BOM is dropped.
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
    nul = data.find(b"\x00")
    if nul >= 0:
        return None, [Problem(path, _line_of_offset(data, nul), "binary file (contains a NUL byte), not text")]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [Problem(path, _line_of_offset(data, exc.start), "not UTF-8 text")]
    return text.removeprefix("\ufeff"), []


def read_article(path: Path, max_bytes: int) -> tuple[Document | None, list[Problem]]:
    """Read, decode and parse one article file, refusing binary, non-UTF-8 and oversized files."""
    text, problems = read_text_file(path, max_bytes)
    if text is None:
        return None, problems
    if path.suffix.lower() == ".md":
        return parse_markdown(path, text)
    return parse_text(path, text)


def _article_paths(root: Path, problems: list[Problem]) -> Iterator[Path]:
    """Article files under ``root`` in sorted order; links or files outside ``root`` are refused."""
    real_root = root.resolve()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        here = Path(dirpath)
        for d in list(dirnames):
            if (here / d).is_symlink():
                problems.append(Problem(here / d, None, _LINK_REFUSED))
                dirnames.remove(d)
        for name in sorted(filenames):
            if name.startswith(".") or not name.lower().endswith(ARTICLE_SUFFIXES):
                continue
            path = here / name
            if path.is_symlink():
                problems.append(Problem(path, None, _LINK_REFUSED))
                continue
            try:
                path.resolve().relative_to(real_root)
            except ValueError:
                problems.append(Problem(path, None, "path points outside the corpus folder: refused"))
                continue
            yield path


def load_corpus(
    root: Path,
    max_file_bytes: int = 2_000_000,
    max_files: int = 200_000,
    on_file: Callable[[int], None] | None = None,
) -> Corpus:
    """Load every article under ``root``; raise :class:`CorpusError` listing all problems if any.

    ``on_file(n)`` (if given) is called after each file with the number of files read so far.
    """
    root = Path(root)
    if not root.is_dir():
        raise CorpusError([Problem(root, None, "corpus folder does not exist or is not a folder")])
    problems: list[Problem] = []
    documents: list[Document] = []
    seen: dict[str, Path] = {}
    count = 0
    for path in _article_paths(root, problems):
        count += 1
        if count > max_files:
            problems.append(Problem(root, None, f"more than {max_files:,} article files (corpus.max_files)"))
            break
        doc, found = read_article(path, max_file_bytes)
        if on_file is not None:
            on_file(count)
        problems.extend(found)
        if doc is None:
            continue
        if doc.id in seen:
            problems.append(Problem(path, None, f"duplicate document id {doc.id!r} (also used by {seen[doc.id]})"))
            continue
        seen[doc.id] = path
        documents.append(doc)
    if not problems and not documents:
        problems.append(Problem(root, None, "no articles found (.md or .txt files)"))
    if problems:
        raise CorpusError(problems)
    return Corpus.from_documents(root, documents)
