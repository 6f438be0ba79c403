"""Import articles into the corpus from a web page, a saved ``.html`` file, a ``.txt`` or an ``.md``.

The article text of a page is found by trafilatura (navigation, share buttons, comments, related
links and "Read more" lines dropped; headings dropped, as the corpus is made of paragraphs) and its
metadata mapped onto the corpus front matter: ``title``, ``source`` (the site's name, else its
domain), ``url`` (the canonical address when the page gives one), ``published`` (an ISO date when the
page gives one) and ``id`` (a slug of the title, unique in the corpus).

A new file is checked with the corpus loader's own parser before it is written, and written
atomically without ever replacing an existing file. Pages are fetched with :func:`fetch_page`: http
and https only, a timeout, a size cap, a few redirects, ``text/html`` or ``text/plain`` only, and
no address in a loopback, private, link-local or multicast range unless the config allows it.

Every failure is an :class:`IngestError` whose message is one line. This module imports nothing
from discord.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import errno
import ipaddress
import logging
import os
import re
import socket
import tempfile
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import yaml

from bot.corpus import Document, parse_markdown, read_article
from bot.terminal import shown
from bot.urls import url_problem

IMPORT_SUFFIXES = (".html", ".htm", ".md", ".txt")
REMOVED_FOLDER = ".removed"
_ALLOWED_TYPES = ("text/html", "text/plain")
_REDIRECTS = (301, 302, 303, 307, 308)
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# C0/C1 controls and the bidirectional overrides: never part of an article, and they could change
# what a terminal or a chat client shows.
_INVISIBLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# A paragraph that only points elsewhere ("Read more: …", "RELATED: …"), not article text.
_POINTER = re.compile(
    r"^\s*(?:read\s+more|more\s+on\s+this(?:\s+story)?|related(?:\s+stories|\s+articles?)?|see\s+also|"
    r"also\s+read|read\s+next|recommended|watch|listen|continue\s+reading)\s*(?::|-|–|—|»|›|>|\|)",
    re.IGNORECASE,
)
_MIN_ARTICLE_WORDS = 40
_SOURCE_LINE = re.compile(r"^\s*(?:original\s+)?source\s*:\s*(?P<source>\S.*?)\s*$", re.IGNORECASE)

log = logging.getLogger("summitbot.ingest")


class IngestError(Exception):
    """An import that cannot be done; the message is one line naming what and where."""


@dataclass(frozen=True)
class Article:
    """What an import found: metadata for the front matter and the paragraphs, in page order."""

    title: str
    source: str
    url: str | None
    published: str | None
    paragraphs: tuple[str, ...]
    origin: str  # where it came from (a file name or an address), for messages
    id_hint: str | None = None  # the id an imported corpus file already had (used when free)

    @property
    def words(self) -> int:
        """Number of words in the paragraphs."""
        return sum(len(p.split()) for p in self.paragraphs)


@dataclass(frozen=True)
class FetchPolicy:
    """Limits for fetching a page (from the ``corpus.import_*`` and ``fetch_private_addresses`` keys)."""

    timeout_seconds: float = 20.0
    max_bytes: int = 5_000_000
    max_redirects: int = 5
    allow_private: bool = False

    @classmethod
    def from_settings(cls, corpus: Any) -> FetchPolicy:
        """The policy configured in a :class:`bot.config.CorpusSettings`."""
        return cls(
            timeout_seconds=corpus.import_timeout_seconds,
            max_bytes=corpus.import_max_bytes,
            allow_private=corpus.fetch_private_addresses,
        )


@dataclass(frozen=True)
class Page:
    """A fetched page: the final address (after redirects), its media type and its body."""

    url: str
    content_type: str
    charset: str | None
    body: bytes


@dataclass(frozen=True)
class PreparedImport:
    """An article turned into a corpus file, checked by the loader's parser but not yet written."""

    article: Article
    doc_id: str
    path: Path
    markdown: str
    document: Document


# ------------------------------------------------------------------------------------------- text


def clean_text(text: str) -> str:
    """One paragraph or field: invisible controls removed, whitespace collapsed to single spaces."""
    return " ".join(_INVISIBLE.sub("", unicodedata.normalize("NFC", text)).split())


def slugify(title: str, limit: int = 60) -> str:
    """A file-name-safe id from a title: ASCII lower case words joined by '-', at most ``limit`` chars."""
    ascii_text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii").lower()
    words = re.findall(r"[a-z0-9]+", ascii_text)
    slug = ""
    for word in words:
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > limit:
            break
        slug = candidate
    return slug or (words[0][:limit] if words else "article")


def _is_pointer(paragraph: str) -> bool:
    return bool(_POINTER.match(paragraph)) and len(paragraph.split()) <= 25


def _finish(
    title: str | None,
    source: str | None,
    url: str | None,
    published: str | None,
    paragraphs: Iterable[str],
    origin: str,
    min_words: int = 1,
) -> Article:
    """Clean every field, drop empty and pointer paragraphs, and refuse what is not an article
    (``min_words``: fewer words of paragraphs than this is not an article)."""
    kept = []
    for paragraph in paragraphs:
        text = clean_text(paragraph)
        if text and not _is_pointer(text):
            kept.append(text)
    title = clean_text(title or "")
    source = clean_text(source or "")
    found = sum(len(p.split()) for p in kept)
    if not kept or found < min_words:
        raise IngestError(
            f"{shown(origin)}: no article text found ({found} words of paragraphs; "
            f"an article needs at least {min_words})"
        )
    if not title:
        raise IngestError(f"{shown(origin)}: the page has no title")
    if not source:
        raise IngestError(
            f"{shown(origin)}: the page names no site and has no address: name its source (the source option)"
        )
    return Article(title[:300], source[:200], url, published, tuple(kept), origin)


# ------------------------------------------------------------------------------------- extraction


def _http_url(value: Any) -> str | None:
    """``value`` when it is a URL the corpus accepts as an article link (:func:`bot.urls.url_problem`), else None."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if value and url_problem(value) is None else None


def _iso_date(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value.strip()[:10]).isoformat()
    except ValueError:
        return None


def _domain(url: str | None) -> str | None:
    if not url:
        return None
    host = urlsplit(url).hostname
    return host or None


def extract_html(html: str | bytes, url: str | None, origin: str, source: str | None = None) -> Article:
    """The article in an HTML page; ``url`` is where it was fetched (None for a saved file);
    ``source`` names the source instead of the page's site name or domain."""
    import trafilatura  # 0.2 s to import: only when an HTML page is imported
    from lxml import etree

    logging.getLogger("trafilatura").addHandler(logging.NullHandler())
    logging.getLogger("htmldate").addHandler(logging.NullHandler())
    try:
        found = trafilatura.bare_extraction(
            html,
            url=url,
            with_metadata=True,
            include_comments=False,
            include_tables=False,
            include_images=False,
            include_formatting=False,
            include_links=True,  # to recognise paragraphs that are only a link ("Read more")
            favor_precision=True,
            # Only dates the page states (markup, JSON-LD, meta), never a guess from the text.
            date_extraction_params={"extensive_search": False, "original_date": True},
        )
    except (ValueError, etree.LxmlError) as exc:
        raise IngestError(f"{shown(origin)}: not a readable HTML page ({shown(str(exc), 80)})") from None
    if found is None or found.body is None:
        raise IngestError(f"{shown(origin)}: no article text found in the page")
    paragraphs = []
    for element in found.body.iterchildren():
        if element.tag == "p":
            text = "".join(element.itertext())
            links = "".join("".join(ref.itertext()) for ref in element.iter("ref"))
            if links.strip() and clean_text(links) == clean_text(text):
                continue  # a paragraph that is only a link points elsewhere
            paragraphs.append(text)
        elif element.tag == "list":
            items = [clean_text("".join(item.itertext())) for item in element.iter("item")]
            paragraphs.append("; ".join(i for i in items if i))
        elif element.tag == "quote":
            paragraphs.append("".join(element.itertext()))
        # head (headings), table, graphic: not paragraphs of the article
    canonical = _http_url(found.url) or _http_url(url)
    site = found.sitename if isinstance(found.sitename, str) and found.sitename.strip() else None
    if site and len(site) > 80 and re.fullmatch(r"[\w.-]+\.[a-z]{2,}", site.strip(), re.IGNORECASE) is None:
        site = None  # a long blurb, not a name
    source = source or site or _domain(canonical) or _domain(url)
    return _finish(found.title, source, canonical, _iso_date(found.date), paragraphs, origin, _MIN_ARTICLE_WORDS)


def _decode(data: bytes, origin: str, charset: str | None = None) -> str:
    if b"\x00" in data:
        raise IngestError(f"{shown(origin)}: binary data (contains a NUL byte), not text")
    for encoding in ([charset] if charset else []) + ["utf-8"]:
        try:
            return data.decode(encoding).removeprefix("\ufeff")
        except (UnicodeDecodeError, LookupError):
            continue
    raise IngestError(f"{shown(origin)}: not UTF-8 text")


def extract_text(text: str, name: str, origin: str, url: str | None = None, source: str | None = None) -> Article:
    """A pasted plain-text article: the first line is the title, each further non-empty line a
    paragraph, and a last line ``Source: …`` names the source (else the page's domain)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) < 2:
        raise IngestError(f"{shown(origin)}: no article text found (a title line and paragraphs are needed)")
    match = _SOURCE_LINE.match(lines[-1])
    if match:
        source = source or match.group("source")
        lines = lines[:-1]
    source = source or _domain(url)
    if source is None:
        raise IngestError(f"{shown(origin)}: no source: end the text with a line 'Source: …'")
    return _finish(lines[0], source, url, None, lines[1:], origin)


def extract_markdown(text: str, name: str, origin: str, source: str | None = None) -> Article:
    """A corpus-format Markdown article (front matter with title and source, then paragraphs)."""
    parsed, problems = parse_markdown(Path(name), text)
    if parsed is None:
        first = problems[0]
        where = f"{shown(origin)}:{first.line}" if first.line else shown(origin)
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise IngestError(f"{where}: {first.message}{more}")
    article = _finish(parsed.title, parsed.source, parsed.url, parsed.published, parsed.paragraphs, origin)
    article = dataclasses.replace(article, id_hint=parsed.id)
    if source and clean_text(source):
        article = dataclasses.replace(article, source=clean_text(source)[:200])
    return article


def extract_upload(name: str, data: bytes, origin: str | None = None, source: str | None = None) -> Article:
    """An article from a file's bytes, read by its suffix (.html/.htm, .md, .txt)."""
    origin = origin or name
    suffix = Path(name).suffix.lower()
    if suffix not in IMPORT_SUFFIXES:
        raise IngestError(f"{shown(origin)}: not an article file (use .html, .md or .txt)")
    if suffix in (".html", ".htm"):
        if b"\x00" in data:
            raise IngestError(f"{shown(origin)}: binary data (contains a NUL byte), not an HTML page")
        return extract_html(data, None, origin, source)
    text = _decode(data, origin)
    if suffix == ".md":
        return extract_markdown(text, name, origin, source)
    return extract_text(text, name, origin, source=source)


def read_source_file(path: Path, max_bytes: int, source: str | None = None) -> Article:
    """An article from a local file (nothing is fetched), refusing links, non-files and large files."""
    try:
        info = path.stat()
    except OSError as exc:
        raise IngestError(f"{shown(str(path))}: cannot read ({exc.strerror or exc})") from None
    if not path.is_file():
        raise IngestError(f"{shown(str(path))}: not a regular file")
    if info.st_size > max_bytes:
        raise IngestError(
            f"{shown(str(path))}: file is {info.st_size:,} bytes, over the {max_bytes:,}-byte import cap "
            "(corpus.import_max_bytes)"
        )
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise IngestError(f"{shown(str(path))}: cannot read ({exc.strerror or exc})") from None
    if len(data) > max_bytes:
        raise IngestError(f"{shown(str(path))}: file is over the {max_bytes:,}-byte import cap")
    return extract_upload(path.name, data, str(path), source)


# ---------------------------------------------------------------------------------------- fetching


def _blocked_kind(address: str) -> str | None:
    """Why this address may not be fetched without ``fetch_private_addresses`` (None when it may)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "unparseable"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for kind, flag in (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("unspecified", ip.is_unspecified),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        ("non-public", not ip.is_global),  # e.g. 100.64.0.0/10, shared carrier-grade NAT space
    ):
        if flag:
            return kind
    return None


class AddressRefused(IngestError):
    """A host that resolves to an address the policy refuses."""


def _guarded_resolver(allow_private: bool) -> Any:
    """An aiohttp resolver that refuses loopback, private, link-local and multicast addresses.

    The connection is made to the very addresses checked here, so a name cannot resolve to a
    public address for the check and a private one for the connection.
    """
    import aiohttp
    from aiohttp.abc import AbstractResolver

    class GuardedResolver(AbstractResolver):
        def __init__(self) -> None:
            self._inner = aiohttp.ThreadedResolver()

        async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> Any:
            infos = await self._inner.resolve(host, port, family)
            if not allow_private:
                for info in infos:
                    kind = _blocked_kind(info["host"])
                    if kind is not None:
                        raise AddressRefused(_refusal(host, info["host"], kind))
            return infos

        async def close(self) -> None:
            await self._inner.close()

    return GuardedResolver()


def _refusal(host: str, address: str, kind: str) -> str:
    where = shown(host) if host == address else f"{shown(host)} ({address})"
    article = "an" if kind[0] in "aeiou" else "a"
    return (
        f"{where} is {article} {kind} address: refused (set corpus.fetch_private_addresses: true to fetch from "
        "your own network)"
    )


def _check_url(url: str, policy: FetchPolicy) -> None:
    """Refuse what is not an http(s) address (:func:`bot.urls.url_problem`), and literal addresses
    in refused ranges."""
    why = url_problem(url, ("http", "https"), ipv6=True)
    if why is not None:
        raise IngestError(f"{shown(url)}: not an address that can be fetched: it {why}")
    host = urlsplit(url).hostname or ""
    if not policy.allow_private:
        try:
            ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return  # a name: checked when it is resolved
        kind = _blocked_kind(host)
        if kind is not None:
            raise AddressRefused(_refusal(host, host, kind))


async def fetch_page(url: str, policy: FetchPolicy) -> Page:
    """Fetch one page under ``policy``; raise :class:`IngestError` (one line) on any refusal or failure."""
    import aiohttp

    url = url.strip()
    _check_url(url, policy)
    try:
        return await asyncio.wait_for(_fetch(url, policy), timeout=policy.timeout_seconds)
    except asyncio.TimeoutError:
        raise IngestError(f"{shown(url)}: no complete answer within {policy.timeout_seconds:g} s") from None
    except IngestError:
        raise
    except aiohttp.ClientConnectorError as exc:
        raise IngestError(f"{shown(url)}: cannot connect ({shown(str(exc.os_error), 100)})") from None
    except (aiohttp.ClientError, OSError, UnicodeError, ValueError) as exc:
        raise IngestError(f"{shown(url)}: fetch failed ({shown(type(exc).__name__ + ': ' + str(exc), 120)})") from None


async def _fetch(url: str, policy: FetchPolicy) -> Page:
    import aiohttp

    connector = aiohttp.TCPConnector(resolver=_guarded_resolver(policy.allow_private), limit=2)
    headers = {"User-Agent": "summitbot-import/1.0 (+corpus import)", "Accept": "text/html, text/plain;q=0.9"}
    seen = {url}
    async with aiohttp.ClientSession(connector=connector, headers=headers, trust_env=False) as session:
        current = url
        for _hop in range(policy.max_redirects + 1):
            async with session.get(current, allow_redirects=False, max_line_size=16384) as response:
                if response.status in _REDIRECTS:
                    location = response.headers.get("Location")
                    if not location:
                        raise IngestError(f"{shown(current)}: redirect without a Location")
                    target = urljoin(current, location)
                    _check_url(target, policy)
                    if target in seen:
                        raise IngestError(f"{shown(url)}: redirect loop (back to {shown(target, 120)})")
                    seen.add(target)
                    current = target
                    continue
                if response.status != 200:
                    reason = shown(response.reason or "", 60)
                    raise IngestError(f"{shown(current)}: the server answered HTTP {response.status} {reason}".rstrip())
                content_type = response.content_type.lower()
                if content_type not in _ALLOWED_TYPES:
                    raise IngestError(
                        f"{shown(current)}: content type {shown(content_type, 80)!r} is not a web page "
                        "(text/html or text/plain)"
                    )
                if response.content_length is not None and response.content_length > policy.max_bytes:
                    raise IngestError(_too_big(current, policy, response.content_length))
                body = bytearray()
                async for chunk in response.content.iter_chunked(65536):
                    body.extend(chunk)
                    if len(body) > policy.max_bytes:
                        raise IngestError(_too_big(current, policy, None))
                return Page(current, content_type, response.charset, bytes(body))
        raise IngestError(f"{shown(url)}: more than {policy.max_redirects} redirects")


def _too_big(url: str, policy: FetchPolicy, size: int | None) -> str:
    stated = f"{size:,} bytes, " if size is not None else ""
    return f"{shown(url)}: page is {stated}over the {policy.max_bytes:,}-byte cap (corpus.import_max_bytes)"


async def article_from_url(url: str, policy: FetchPolicy, source: str | None = None) -> Article:
    """Fetch a page and extract its article (extraction runs in a worker thread); ``source`` names
    the source instead of the site."""
    page = await fetch_page(url, policy)
    if page.content_type == "text/plain":
        text = _decode(page.body, page.url, page.charset)
        return await asyncio.to_thread(extract_text, text, "page.txt", page.url, page.url, source)
    body: str | bytes = page.body
    if page.charset:
        try:
            body = page.body.decode(page.charset)
        except (UnicodeDecodeError, LookupError):
            body = page.body  # let the extractor detect the encoding
    return await asyncio.to_thread(extract_html, body, page.url, page.url, source)


# ----------------------------------------------------------------------------------- corpus files


@dataclass(frozen=True)
class KnownDocument:
    """An article already in the corpus folder, for id and address checks."""

    id: str
    path: Path
    url: str | None


def known_documents(root: Path, max_file_bytes: int, *, read: bool = True) -> list[KnownDocument]:
    """Every article file under ``root`` (hidden folders skipped, as the loader does).

    With ``read`` each file is parsed for its id and address (an unreadable file still reserves its
    file name as an id); without, only file names are listed, which is fast for a large corpus
    whose documents are known otherwise (see :func:`known_from`).
    """
    known: list[KnownDocument] = []
    if not root.is_dir():
        return known
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith(".") or not name.lower().endswith((".md", ".txt")):
                continue
            path = Path(dirpath) / name
            doc = read_article(path, max_file_bytes)[0] if read and not path.is_symlink() else None
            known.append(KnownDocument(path.stem, path, doc.url if doc else None))
            if doc is not None and doc.id != path.stem:
                known.append(KnownDocument(doc.id, path, doc.url))
    return known


def known_from(documents: Iterable[Document], root: Path) -> list[KnownDocument]:
    """The documents of a loaded corpus, plus the names of every article file now in ``root``."""
    known = [KnownDocument(d.id, d.path, d.url) for d in documents]
    return known + known_documents(root, 0, read=False)


def to_markdown(article: Article, doc_id: str) -> str:
    """The corpus file for an article: front matter, then one paragraph per blank-line block."""
    front: dict[str, Any] = {"title": article.title, "source": article.source}
    if article.url:
        front["url"] = article.url
    lines = ["---"]
    for key, value in front.items():
        dumped = yaml.safe_dump({key: value}, allow_unicode=True, width=1_000_000, default_flow_style=False)
        lines.append(dumped.strip())
    if article.published:
        lines.append(f"published: {article.published}")
    lines.append(f"id: {doc_id}")
    lines.append("---")
    body = "\n\n".join(article.paragraphs)
    return "\n".join(lines) + "\n\n" + body + "\n"


def prepare_import(
    article: Article,
    corpus_root: Path,
    max_file_bytes: int,
    doc_id: str | None = None,
    known: list[KnownDocument] | None = None,
) -> PreparedImport:
    """Choose the id and file name, build the Markdown and check it with the corpus loader's parser.

    Refused: an id already used, an address already in the corpus, a file over the loader's cap, or
    anything the loader would not read back as exactly this article. ``known``: the corpus's
    documents when the caller has them (default: every file in ``corpus_root`` is read).
    """
    if known is None:
        known = known_documents(corpus_root, max_file_bytes)
    taken = {k.id.lower() for k in known}
    if article.url:
        for k in known:
            if k.url and k.url.rstrip("/") == article.url.rstrip("/"):
                raise IngestError(f"{shown(article.origin)}: already in the corpus as '{k.id}' ({k.path.name})")
    if doc_id is not None:
        if not _ID_RE.match(doc_id):
            raise IngestError(f"id {shown(doc_id, 80)!r} must be 1-64 letters, digits, '.', '_' or '-'")
        if doc_id.lower() in taken or (corpus_root / f"{doc_id}.md").exists():
            raise IngestError(f"id '{doc_id}' is already used in {corpus_root}")
    elif (
        article.id_hint
        and article.id_hint.lower() not in taken
        and not (corpus_root / f"{article.id_hint}.md").exists()
    ):
        doc_id = article.id_hint
    else:
        base = slugify(article.title)
        doc_id, n = base, 1
        while doc_id.lower() in taken or (corpus_root / f"{doc_id}.md").exists():
            n += 1
            doc_id = f"{base}-{n}"
    path = corpus_root / f"{doc_id}.md"
    markdown = to_markdown(article, doc_id)
    size = len(markdown.encode("utf-8"))
    if size > max_file_bytes:
        raise IngestError(
            f"{shown(article.origin)}: the article would be {size:,} bytes, over the corpus file cap "
            f"of {max_file_bytes:,} (corpus.max_file_bytes)"
        )
    document, problems = parse_markdown(path, markdown)
    if document is None:
        raise IngestError(f"{shown(article.origin)}: the corpus loader refuses the result ({problems[0].message})")
    expected = (article.title, article.source, article.url, article.published, doc_id, article.paragraphs)
    got = (document.title, document.source, document.url, document.published, document.id, document.paragraphs)
    if expected != got:
        raise IngestError(f"{shown(article.origin)}: the corpus loader would read the file differently; not written")
    return PreparedImport(article, doc_id, path, markdown, document)


def _place(source: str | Path, target: Path) -> None:
    """Give ``source``'s file the name ``target`` unless that name exists (FileExistsError).

    A hard link makes the new name appear complete in one step; where the file system has no hard
    links, the name is reserved exclusively and the file renamed over the reservation.
    """
    try:
        os.link(source, target)
        return
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK, errno.ENOSYS):
            raise
    os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    os.replace(source, target)


def write_import(prepared: PreparedImport) -> Path:
    """Write the prepared file atomically; never replaces a file (a name taken meanwhile is refused)."""
    folder = prepared.path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(prefix=".import-", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise IngestError(f"{folder}: cannot write ({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(prepared.markdown)
            handle.flush()
            os.fsync(handle.fileno())
        _place(temp_name, prepared.path)  # fails if the name exists: nothing is overwritten
    except FileExistsError:
        raise IngestError(f"{prepared.path}: a file of that name appeared meanwhile; not overwritten") from None
    except OSError as exc:
        raise IngestError(f"{prepared.path}: cannot write ({exc.strerror or exc})") from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
    return prepared.path


def remove_document(corpus_root: Path, document: Document) -> Path:
    """Move a document's file into the hidden ``.removed/`` folder of the corpus (never deleted).

    The loader skips hidden folders, so the article leaves the corpus at the next reload. Returns
    the file's new path; a name already in ``.removed/`` gets a numbered suffix.
    """
    root = corpus_root.resolve()
    source = document.path
    try:
        relative = source.resolve().relative_to(root)
    except (OSError, ValueError):
        raise IngestError(f"{source}: not inside the corpus folder {corpus_root}; not moved") from None
    if source.is_symlink() or not source.is_file():
        raise IngestError(f"{source}: not a regular file in the corpus; not moved")
    target_dir = root / REMOVED_FOLDER / relative.parent
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise IngestError(f"{target_dir}: cannot create ({exc.strerror or exc})") from None
    target = target_dir / source.name
    n = 1
    while True:
        try:
            _place(source, target)  # never replaces an earlier removal of the same name
            break
        except FileExistsError:
            n += 1
            target = target_dir / f"{source.stem}.{n}{source.suffix}"
        except OSError as exc:
            raise IngestError(f"{source}: cannot move into {REMOVED_FOLDER}/ ({exc.strerror or exc})") from None
    try:
        if source.exists() and os.path.samefile(source, target):
            os.unlink(source)  # linked: drop the old name
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(target)
        raise IngestError(f"{source}: cannot move into {REMOVED_FOLDER}/ ({exc.strerror or exc})") from None
    return target
