"""Sentence splitting that survives "U.S.", "Mr.", quotes, decimals and initials.

Built on sentencex (a maintained rule-based segmenter with per-language abbreviation lists),
returning character spans so that callers can cite and highlight inside the original text.
One repair on top: a break right after a title that always precedes a name ("Dr.", "Mr.",
"Sen.") is undone, so "Dr. Who met Prof. Xu." stays one sentence.
"""

from __future__ import annotations

import re
from functools import lru_cache

from sentencex import segment

# Titles written before a name never end a sentence: a break right after one is undone
# ("Dr. Who ..."). "St." and "Jr." are left out: they may end a sentence ("... on Main St.").
_TITLE_BEFORE_NAME = re.compile(
    r"(?:^|[\s(\"“‘'])(?:Mr|Mrs|Ms|Messrs|Dr|Prof|Gen|Sen|Rep|Gov|Lt|Col|Capt|Sgt|Rev|Hon|Pres|Supt|Mt)\.$"
)


@lru_cache(maxsize=4096)
def sentence_spans(text: str, language: str = "en") -> tuple[tuple[int, int], ...]:
    """(start, end) of each sentence of ``text``, in order, without surrounding whitespace."""
    spans: list[tuple[int, int]] = []
    pos = 0
    find = text.find
    title = _TITLE_BEFORE_NAME.search
    for piece in segment(language, text):
        stripped = piece.strip()
        if not stripped:
            pos += len(piece)
            continue
        start = find(stripped, pos)
        if start < 0:  # the segmenter changed the text: fall back to the running position
            start = pos
        end = start + len(stripped)
        # A break right after a title is undone. The pattern reads only the last 8 characters (the
        # longest title, "Messrs.", and the one before it), so only the previous sentence's tail is
        # searched; a tail that starts mid-sentence is too long for its "^" to reach a title.
        if spans:
            a, b = spans[-1]
            if text[b - 1] == "." and title(text[max(a, b - 10) : b]):
                spans[-1] = (a, end)
                pos = end
                continue
        spans.append((start, end))
        pos = end
    if not spans and text.strip():
        start = len(text) - len(text.lstrip())
        spans.append((start, len(text.rstrip())))
    return tuple(spans)


def split_sentences(text: str, language: str = "en") -> list[str]:
    """The sentences of ``text`` as strings."""
    return [text[a:b] for a, b in sentence_spans(text, language)]
