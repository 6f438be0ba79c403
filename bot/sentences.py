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


# ------------------------------------------------------------------------------ lists and tables

# Finite verb forms common enough to tell prose from a list ("be", "have", "do", modals, reporting
# verbs); a lower-case word ending in "-ed", "-es" or "-ing" also counts as a verb.
_VERBS = frozenset(
    "is are was were be been being am has have had do does did will would shall should can could may might must "
    "said says say told tells made makes took takes won wins lost beat beats became become came come went goes "
    "gave give got gets saw see found find left began begin held hold kept keep led lead rose rise fell fall "
    "grew grow paid pay sold sell bought buy brought bring include own owns employ employs contain".split()
)
# Articles, prepositions and relative words that glue a clause together; a list has few of them.
_GLUE = frozenset("the a an of to from with by that which who whom whose as than into about after before while".split())
_CELL_BORDER = re.compile(r"(?:^|\s)\|(?=\s|$)")  # a "|" standing alone, as between table cells
_VERB_ENDING = re.compile(r"(?:ed|es|ing)$")
_SEPARATOR = re.compile(r"[|;•·\t]|\s[-–—]\s|,|:\s")
_HAS_DIGIT = re.compile(r"\d")
_WORD_CHARS = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


def looks_like_list(sentence: str) -> bool:
    """True when ``sentence`` is a list or table row rather than prose: not to be quoted as a summary sentence.

    Signals: a table row (two or more free-standing ``|`` or tabs); or no verb (a common finite
    form such as "is", "said", "rose", or a lower-case word ending in "-ed", "-es", "-ing"), few
    articles and prepositions ("the", "of", "to": at most one in ten words), and many numbers and
    separators (``,`` ``;`` ``|`` ``•`` `` - ``) in both halves of the sentence: words holding a
    digit plus separators number at least a third of each half's words, at least three in all --
    as in "Chelsea 2-1 Arsenal, Everton 0-0 Leeds" or "Wales: G Thomas (capt); H Luscombe,
    T Shanklin, G Henson". Prose with numbers ("Profits rose 76% to $1.13bn in 2004")
    or with an enumeration ("leaders from France, China, India and the US") is kept.
    """
    if len(_CELL_BORDER.findall(sentence)) >= 2 or sentence.count("\t") >= 2:
        return True
    words = sentence.split()
    if len(words) < 3:
        return False
    tokens = _WORD_CHARS.findall(sentence)
    for token in tokens:
        lower = token.lower()
        if lower in _VERBS or (token.islower() and len(token) > 4 and _VERB_ENDING.search(token)):
            return False
    if sum(1 for t in tokens if t.lower() in _GLUE) * 10 > len(words):
        return False
    # Dense throughout: a clause that merely ends in an enumeration ("owns breweries in eight
    # cities - Klin, Omsk, Perm ...") has a plain first half.
    half = len(words) // 2
    halves = (words[:half], words[half:])
    signals = [
        sum(1 for w in part if _HAS_DIGIT.search(w)) + len(_SEPARATOR.findall(" ".join(part) + " ")) for part in halves
    ]
    return sum(signals) >= 3 and all(n * 3 >= len(part) for n, part in zip(signals, halves, strict=True))
