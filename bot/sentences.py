"""Sentence splitting that survives "U.S.", "Mr.", quotes, decimals and initials.

Built on sentencex (a maintained rule-based segmenter with per-language abbreviation lists),
returning character spans so that callers can cite and highlight inside the original text.
"""

from __future__ import annotations

from functools import lru_cache

from sentencex import segment


@lru_cache(maxsize=4096)
def sentence_spans(text: str, language: str = "en") -> tuple[tuple[int, int], ...]:
    """(start, end) of each sentence of ``text``, in order, without surrounding whitespace."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for piece in segment(language, text):
        stripped = piece.strip()
        if not stripped:
            pos += len(piece)
            continue
        start = text.find(stripped, pos)
        if start < 0:  # the segmenter changed the text: fall back to the running position
            start = pos
        end = start + len(stripped)
        spans.append((start, end))
        pos = end
    if not spans and text.strip():
        start = len(text) - len(text.lstrip())
        spans.append((start, len(text.rstrip())))
    return tuple(spans)


def split_sentences(text: str, language: str = "en") -> list[str]:
    """The sentences of ``text`` as strings."""
    return [text[a:b] for a, b in sentence_spans(text, language)]
