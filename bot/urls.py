"""Article URLs: checked with a real parser when the corpus is loaded, and encoded in one place.

:func:`url_problem` says what is wrong with a URL from a corpus file, a page to import or the
config (scheme, host, whitespace, characters no URL may hold), or None. :func:`encode_url` turns a
URL into the form every link the bot builds uses: IDNA host, no user info, and every character
outside a small safe set percent-encoded, so that ``(``, ``)``, ``[``, ``]``, ``*``, ``|``, ``<``,
``>`` and backticks can never end a masked link or start markdown.
"""

from __future__ import annotations

import ipaddress
import re
import string
from urllib.parse import urlsplit

SCHEMES = ("http", "https")
MAX_URL_CHARS = 2048
_HEX = frozenset(string.hexdigits)
# Characters kept as they are in a path, query or fragment: RFC 3986 unreserved characters and the
# sub-delimiters that markdown gives no meaning to. Everything else is percent-encoded.
_SAFE = frozenset(string.ascii_letters + string.digits + "-._~" + "/:@!$&'+,;=?")
# Characters that no URL may contain as written (RFC 3986 never allows them unencoded).
_NEVER = re.compile(r"[\s\x00-\x1f\x7f\"<>\\^`{}\[\]]")
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# A URL whose host is a bracketed IPv6 address: ``scheme://[address]`` (no user info before it).
_IPV6_HOST = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)\[([^\]/@]{0,64})\](?=[:/?#]|$)")


def url_problem(url: str, schemes: tuple[str, ...] = SCHEMES, *, ipv6: bool = False) -> str | None:
    """Why ``url`` is not a usable URL with one of ``schemes`` (lower case), or None when it is.

    The one URL check: article links (http, https; the default), pages to import, the Discord API
    (http, https), the gateway (ws, wss) and the error webhook. It needs a host name or IPv4 address
    (or, with ``ipv6``, a bracketed IPv6 address: fine to connect to, never part of a link, whose
    brackets would end a masked link), and refuses user info, whitespace and the characters no URL
    may hold as written."""
    if len(url) > MAX_URL_CHARS:
        return f"is longer than {MAX_URL_CHARS:,} characters"
    literal = _IPV6_HOST.match(url) if ipv6 else None
    if literal is not None:
        try:
            ipaddress.IPv6Address(literal.group(2))
        except ValueError:
            return f"has an invalid IPv6 address {literal.group(2)[:80]!r}"
    bad = _NEVER.search(url, literal.end() if literal else 0)
    if bad is not None:
        what = "whitespace" if bad.group().isspace() else f"the character {bad.group()!r}"
        return f"contains {what} (percent-encode it)"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"cannot be parsed ({exc})"
    if parts.scheme.lower() not in schemes:
        return "must start with " + " or ".join(f"{scheme}://" for scheme in schemes)
    if not parts.hostname:
        return "has no host name"
    if "@" in parts.netloc:
        return "must not hold a user name or password ('@' before the host)"
    if literal is None and _ascii_host(parts.hostname) is None:
        return f"has an invalid host name {parts.hostname[:80]!r}"
    if port == 0:
        return "has an invalid port"
    return None


def _ascii_host(host: str) -> str | None:
    """The host as ASCII (IDNA for non-ASCII names), or None when it is not a valid host name."""
    if ":" in host:  # an IPv6 literal: its brackets are refused by url_problem anyway
        return None
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None
    labels = ascii_host.rstrip(".").split(".")
    if not labels or not all(_HOST_LABEL.match(label) for label in labels):
        return None
    return ascii_host


def _encode_part(text: str) -> str:
    """Percent-encode every character of ``text`` outside the safe set (valid %XX escapes kept)."""
    out: list[str] = []
    n = len(text)
    i = 0
    while i < n:
        ch = text[i]
        if ch in _SAFE:
            out.append(ch)
        elif ch == "%" and i + 2 < n and text[i + 1] in _HEX and text[i + 2] in _HEX:
            out.append(text[i : i + 3])
            i += 3
            continue
        else:
            out.extend(f"%{byte:02X}" for byte in ch.encode("utf-8"))
        i += 1
    return "".join(out)


def encode_url(url: str | None) -> str | None:
    """``url`` as every link is built: checked, host in ASCII, the rest percent-encoded; None when
    it is not a usable http(s) URL."""
    if not url or url_problem(url) is not None:
        return None
    parts = urlsplit(url)
    host = _ascii_host(parts.hostname or "")
    if host is None:
        return None
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    out = f"{parts.scheme.lower()}://{netloc}{_encode_part(parts.path)}"
    if parts.query:
        out += "?" + _encode_part(parts.query)
    if parts.fragment:
        out += "#" + _encode_part(parts.fragment)
    return out
