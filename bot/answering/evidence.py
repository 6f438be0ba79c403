"""Evidence: does the best passage carry what the question needs, close together? (issue 10 item 2)

Checks on the best reranked passage, all shares in 0..1 so they read the same at any corpus size:

* ``spec_sentence`` / ``spec_window`` -- the share of the question's specific terms (capitalised
  mid-question, numbers, rarer than the corpus's median term) in the best sentence / in the best
  window of two adjacent sentences;
* ``window12`` -- the question's IDF share inside the best window of 12 consecutive terms;
* ``missing_max`` -- the largest IDF share of one question term the best passage lacks;
* ``qtype`` -- what the question asks for, by its wh-phrase: ``number`` (how many / how much ...),
  ``date`` (when / what year ...), ``who`` (a person or organisation), ``where`` (a place), or None;
* ``type_found`` -- for a typed question, whether the best sentence or a neighbour holds a token of
  that type the question does not already contain (a number, a year or month, a capitalised name, a
  capitalised word after "in/at/from ..."); 1.0 for untyped questions;
* ``type_near`` -- the same, within 40 characters of a matched question word in the best sentence;
* ``specific_share`` -- the share of the specific terms the best passage's document has;
* ``proximity`` -- IDF share of the question's adjacent term pairs found at most 3 terms apart.

Measured one by one in ``python -m benchmarks.quality`` (approaches table): of these only
``missing_max`` is among the shipped confidence inputs (see :mod:`bot.answering.confidence`); the
others are shown by ``summitbot ask --explain``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from bot.analysis import Analyzer
from bot.answering.highlight import PassageTerms
from bot.answering.query import Query
from bot.answering.rerank import window_share

_NUMBER_Q = re.compile(
    r"\b(?:how\s+(?:many|much|long|old|far|large|big|tall|high|often|fast|heavy|deep|wide)|"
    r"what\s+(?:percent|percentage|number|amount|size|population|age|price|cost|rate|share))\b",
    re.IGNORECASE,
)
_DATE_Q = re.compile(
    r"\b(?:when|what\s+(?:year|years|decade|century|date|day|month|time)|(?:which|what)\s+(?:year|date|day|month))\b",
    re.IGNORECASE,
)
_WHO_Q = re.compile(r"\b(?:who|whom|whose)\b", re.IGNORECASE)
_WHERE_Q = re.compile(
    r"\b(?:where|(?:what|which)\s+(?:city|country|countries|state|place|region|town|venue|continent|location))\b",
    re.IGNORECASE,
)
_DAYS = (
    "January|February|March|April|May|June|July|August|September|October|November|December|"
    "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
)
_DATE = re.compile(
    r"\b(?:1\d{3}|20\d{2})s?\b|\b\d{1,2}(?:st|nd|rd|th)\s+century\b|\b(?:" + _DAYS + r")\b|"
    r"\b(?:yesterday|today|tomorrow|last\s+(?:year|week|month)|next\s+(?:year|week|month))\b",
    re.IGNORECASE,
)
_NUMBER = re.compile(
    r"\d[\d,.]*|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
    r"hundred|hundreds|thousand|thousands|million|millions|billion|billions|dozen|half|double|doubled)\b",
    re.IGNORECASE,
)
_CAPITALISED = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][\w'’-]*")
_PLACE = re.compile(r"\b(?:in|at|from|near|to|across|throughout)\s+(?:the\s+)?([A-Z][\w'’-]*)")
_RAW_WORD = re.compile(r"[\w'’-]+")
NEAR_CHARS = 40


def question_type(question: str) -> str | None:
    """``"number"``, ``"date"``, ``"who"``, ``"where"`` or None, by the question's wh-phrase."""
    for kind, pattern in (("number", _NUMBER_Q), ("date", _DATE_Q), ("who", _WHO_Q), ("where", _WHERE_Q)):
        if pattern.search(question):
            return kind
    return None


def type_starts(kind: str, text: str, asked: set[str]) -> list[int]:
    """Where tokens of answer type ``kind`` that the question does not contain start in ``text``."""
    if kind == "where":
        return [m.start(1) for m in _PLACE.finditer(text) if m.group(1).lower() not in asked]
    pattern = {"number": _NUMBER, "date": _DATE, "who": _CAPITALISED}[kind]
    return [m.start() for m in pattern.finditer(text) if m.group().lower() not in asked]


@dataclass(frozen=True)
class Evidence:
    """The evidence checks of one question against its best passage (see the module docstring)."""

    qtype: str | None
    type_found: float
    type_near: float
    spec_sentence: float
    spec_window: float
    specific_share: float
    window12: float
    missing_max: float
    proximity: float
    missing: tuple[str, ...]  # question terms the passage lacks, most informative first


def read_evidence(
    query: Query,
    analyzer: Analyzer,
    info: PassageTerms,
    text: str,
    sentence: int,
    document_has: Callable[[str], bool],
) -> Evidence:
    """The :class:`Evidence` of passage ``text`` (analysed as ``info``; best sentence ``sentence``)."""
    weights, total = query.weights, query.total
    spans, starts = info.spans, info.starts
    k = min(max(sentence, 0), len(starts) - 1)
    ends = (*starts[1:], len(info.terms))
    sentence_terms = [set(info.terms[starts[j] : ends[j]]) for j in range(len(starts))]
    numbers = {t for t in weights if any(ch.isdigit() for ch in t)}
    specific = set(query.specific) | numbers
    passage_terms = set(info.terms)
    if specific:
        spec_sentence = len(specific & sentence_terms[k]) / len(specific)
        around = [sentence_terms[k] | sentence_terms[j] for j in (k - 1, k + 1) if 0 <= j < len(sentence_terms)]
        spec_window = max([spec_sentence, *(len(specific & s) / len(specific) for s in around)])
        specific_share = sum(t in passage_terms or document_has(t) for t in specific) / len(specific)
    else:
        spec_sentence = spec_window = specific_share = 1.0
    missing = sorted((t for t in weights if t not in passage_terms), key=lambda t: (-weights[t], t))
    missing_max = weights[missing[0]] / total if missing else 0.0
    kind = question_type(query.text)
    type_found = type_near = 1.0
    if kind is not None:
        asked = {w.lower() for w in _RAW_WORD.findall(query.text)}
        a, b = spans[max(k - 1, 0)][0], spans[min(k + 1, len(spans) - 1)][1]
        type_found = float(bool(type_starts(kind, text[a:b], asked)))
        a, b = spans[k]
        best = text[a:b]
        matched = [t.start for t in analyzer.tokens(best) if t.term in weights]
        type_near = float(
            any(abs(start - m) <= NEAR_CHARS for start in type_starts(kind, best, asked) for m in matched)
        )
    positions: dict[str, list[int]] = {}
    for p, t in enumerate(info.terms):
        if t in weights:
            positions.setdefault(t, []).append(p)
    near = 0.0
    for x, y in query.pairs:
        px, py = positions.get(x), positions.get(y)
        if px and py and any(abs(i - j) <= 3 for i in px for j in py):
            near += weights[x] + weights[y]
    return Evidence(
        qtype=kind,
        type_found=type_found,
        type_near=type_near,
        spec_sentence=spec_sentence,
        spec_window=spec_window,
        specific_share=specific_share,
        window12=window_share(info.terms, weights, total, 12),
        missing_max=missing_max,
        proximity=near / query.pairs_total if query.pairs_total > 0 else 1.0,
        missing=tuple(missing),
    )
