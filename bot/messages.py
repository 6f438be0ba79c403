"""Wording shared by the terminal and Discord front ends, so each message is written once.

Front ends add their own presentation (markdown escaping and size limits on Discord, wrapping on a
terminal); the words come from here.
"""

from __future__ import annotations

from collections.abc import Sequence

#: The first words of every reply that refuses to answer: the sources do not say.
NOT_IN_SOURCES = "That's not in my sources."
#: Said after :data:`NOT_IN_SOURCES` when the corpus is empty.
NO_DOCUMENTS = "No documents are loaded right now."
#: Heads the closest passage when the engine is not confident it answers (verdict "closest").
CLOSEST_LABEL = "I'm not sure this answers it \N{EM DASH} the closest passage in my sources:"
#: A question with nothing to search for (only stop words, emoji, punctuation), on a terminal.
NO_SEARCHABLE_WORDS = "That question has no words I can search for. Ask about something in my sources."
#: The same on Discord (mentions or /ask with nothing to search for), pointing at /help.
QUESTION_HINT = "Ask me a question about my sources, for example: *What did the summit agree?* (or try `/help`)."
#: A summary topic the sources say nothing about.
NOTHING_ON_TOPIC = "Nothing on that in my sources."
#: How many document titles a refusal lists before "and N more".
TITLES_SHOWN = 5


def not_in_sources(titles: str) -> str:
    """The refusal that says what the sources do cover (``titles``: already joined and escaped)."""
    return f"{NOT_IN_SOURCES} They cover: {titles}."


def and_more(shown: str, total: int, shown_count: int = TITLES_SHOWN) -> str:
    """``shown`` followed by "; and N more" when ``total`` is larger than ``shown_count``."""
    more = total - shown_count
    return shown + (f"; and {more} more" if more > 0 else "")


def titles_of(titles: Sequence[str]) -> str:
    """The first :data:`TITLES_SHOWN` titles, "; "-separated, and how many more (plain text)."""
    return and_more("; ".join(titles[:TITLES_SHOWN]), len(titles))


def count(n: int, noun: str) -> str:
    """ "1 document", "2 documents": ``n`` (with thousands separators) and ``noun``, plural unless ``n`` is 1."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def topic_heading(name: str, documents: int) -> str:
    """The heading of one topic in a corpus overview: "Topic: <name> (N documents)" (``name`` plain text)."""
    return f"Topic: {name} ({count(documents, 'document')})"
