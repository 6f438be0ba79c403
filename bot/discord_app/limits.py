"""Discord's size limits, and the one place where text is cut to fit them or escaped for display.

Every renderer goes through :func:`trim` and :func:`escape_text`, so a
limit is never exceeded and user text never turns into markdown, links or pings.
"""

from __future__ import annotations

import re

import discord

from bot.urls import encode_url

# Message and embed limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits).
CONTENT = 2000
EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
EMBED_FIELDS = 25
FIELD_NAME = 256
FIELD_VALUE = 1024
FOOTER = 2048
AUTHOR_NAME = 256
EMBED_TOTAL = 6000  # across every embed of one message
EMBEDS_PER_MESSAGE = 10
# The admin /stats report stays at or under this many characters (CONTENT, less room for the notice).
STATS_REPORT = 1900

# Interaction limits.
CHOICES = 25
CHOICE_NAME = 100
CHOICE_VALUE = 100
CUSTOM_ID = 100
BUTTON_LABEL = 80
THREAD_NAME = 100

# URL limits. A URL over its limit is dropped, never cut (a cut URL leads somewhere else).
EMBED_URL = 2048  # an embed's url (its title link)
BUTTON_URL = 512  # a link button's url
TEXT_LINK_URL = 512  # a masked link's url counts toward its text (a description's 4,096, a field's 1,024)

ELLIPSIS = "…"

# The end of a sentence: terminal punctuation, optional closing quotes/brackets, then whitespace.
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]*_]*(?=\s)")
_URL = re.compile(r"<[^: >]+:/[^ >]+>|(?:https?|steam)://[^\s<]+[^<.,:;\"'\]\s]")
# A markdown character not already escaped (an even run of backslashes before it escapes nothing).
_UNESCAPED = re.compile(r"(?<!\\)((?:\\\\)*)([*_~|`\[\]])")
# Controls and bidi embeddings, overrides and isolates: invisible in Discord, but an unclosed
# override reverses the rest of the line ("Q: …" footers, the citation after a quote). Removed.
_HIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def trim(text: str, limit: int) -> str:
    """``text`` if it fits in ``limit`` characters, else cut at the last sentence end that keeps at
    least half of the room (else at a word boundary, else anywhere) and ended with an ellipsis.

    The result is never longer than ``limit``; a limit of 0 gives ``""``.
    """
    if len(text) <= limit:
        return text
    if limit <= 0:
        return ""
    if limit <= 2:
        return ELLIPSIS[:limit]
    room = limit - 2  # " …"
    head = text[: room + 1]
    ends = [m.end() for m in _SENTENCE_END.finditer(head) if m.end() <= room]
    if ends and ends[-1] >= room // 2:
        return text[: ends[-1]].rstrip() + " " + ELLIPSIS
    room = limit - 1  # "…"
    cut = text[:room]
    space = cut.rfind(" ")
    if space >= room // 2:
        cut = cut[:space]
    cut = cut.rstrip()
    # Never leave a lone escaping backslash before the ellipsis.
    if cut.endswith("\\") and (len(cut) - len(cut.rstrip("\\"))) % 2 == 1:
        cut = cut[:-1]
    return cut + ELLIPSIS


def usable_url(url: str | None, limit: int) -> str | None:
    """The one place a URL becomes part of a message: :func:`bot.urls.encode_url` (http/https with
    a host, markdown-significant characters percent-encoded) when it is at most ``limit``
    characters long, else None (the link is left out, never cut)."""
    encoded = encode_url(url)
    return encoded if encoded and len(encoded) <= limit else None


def masked_link(label: str, url: str | None, limit: int = TEXT_LINK_URL) -> str | None:
    """``[label](url)`` with the label escaped and the URL encoded by :func:`usable_url`; None when
    the URL is not usable. Every masked link the bot sends is built here."""
    usable = usable_url(url, limit)
    return f"[{escape_text(one_line(label))}]({usable})" if usable else None


def without_hidden(text: str) -> str:
    """``text`` without control characters (tab and newline kept) and bidi embeddings, overrides
    and isolates: invisible in Discord, but an unclosed override reverses the rest of the line."""
    return _HIDDEN.sub("", text)


def one_line(text: str) -> str:
    """``text`` with every run of whitespace (newlines included) turned into one space."""
    return " ".join(text.split())


def escape_text(text: str) -> str:
    """Text safe to show in Discord markdown: no formatting, masked links, headings or mentions.

    ``discord.utils.escape_markdown`` (links left intact) and ``escape_mentions``, then every
    markdown character it left unescaped outside a URL (a lone ``*``, brackets of a masked link).
    Control characters and bidi overrides, embeddings and isolates are removed first.
    """
    text = discord.utils.escape_mentions(discord.utils.escape_markdown(without_hidden(text)))
    out: list[str] = []
    pos = 0
    for match in _URL.finditer(text):
        out.append(_UNESCAPED.sub(r"\1\\\2", text[pos : match.start()]))
        out.append(match.group())
        pos = match.end()
    out.append(_UNESCAPED.sub(r"\1\\\2", text[pos:]))
    return "".join(out)


def escape_trimmed(text: str, limit: int) -> str:
    """Escape ``text`` (flattened to one line) and trim the result to ``limit``."""
    return trim(escape_text(one_line(text)), limit)
