"""Evidence features (issue 10 item 2), prototyped here on the engine's ranking before they move into
the answer engine: does the best passage carry what the question needs, close together?

* ``spec_sentence`` / ``spec_window`` -- the share of the question's specific terms (capitalised
  mid-question, numbers, rarer than the corpus's median term) in the best sentence / in the best
  window of two adjacent sentences;
* ``window12`` -- the question's IDF share inside the best window of 12 consecutive terms;
* ``missing_max`` -- the largest IDF share of one question term the best passage lacks;
* ``typed`` -- the question asks for a number, a date, a person/organisation or a place;
* ``type_found`` -- typed, and the best sentence (or its neighbour) holds a token of that type that the
  question does not already contain (1.0 for untyped questions);
* ``specific_share`` -- share of the specific terms the best passage's document has;
* ``bigrams`` -- the reranker's feature: IDF share of the question's adjacent term pairs found adjacent;
* ``proximity`` -- the same with the pair's terms at most 3 terms apart, in either order;
* ``type_near`` -- typed, and a token of the type (not in the question) stands within 40 characters
  of a matched question word in the best sentence (1.0 for untyped questions);
* ``doc_lift`` -- the best passage's document's share of the candidates' BM25 mass (``doc_share``)
  minus its share of the corpus's passages: how much more the ranking favours that document than
  chance would (0 on a one-document corpus, where ``doc_share`` is always 1).
"""

from __future__ import annotations

import re

from bot.answers import FEATURES, AnswerEngine, Ranking, _window_share

EVIDENCE = (
    "spec_sentence",
    "spec_window",
    "window12",
    "missing_max",
    "typed",
    "type_found",
    "specific_share",
    "bigrams",
    "proximity",
    "type_near",
    "doc_lift",
)

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
_MONTHS = (
    "January|February|March|April|May|June|July|August|September|October|November|December|"
    "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
)
_DATE = re.compile(
    r"\b(?:1\d{3}|20\d{2})s?\b|\b\d{1,2}(?:st|nd|rd|th)\s+century\b|\b(?:" + _MONTHS + r")\b|"
    r"\b(?:yesterday|today|tomorrow|last\s+(?:year|week|month)|next\s+(?:year|week|month))\b",
    re.IGNORECASE,
)
_NUMBER = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
    r"hundred|hundreds|thousand|thousands|million|millions|billion|billions|dozen|half|double|doubled)\b",
    re.IGNORECASE,
)
_CAPITALISED = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][\w'’-]*")
_PLACE = re.compile(r"\b(?:in|at|from|near|to|across|throughout)\s+(?:the\s+)?([A-Z][\w'’-]*)")
_RAW_WORD = re.compile(r"[\w'’-]+")


def question_type(question: str) -> str | None:
    """ "number", "date", "who", "where" or None, by the question's wh-phrase."""
    for kind, pattern in (("number", _NUMBER_Q), ("date", _DATE_Q), ("who", _WHO_Q), ("where", _WHERE_Q)):
        if pattern.search(question):
            return kind
    return None


def has_type(kind: str, text: str, asked: set[str]) -> bool:
    """Whether ``text`` holds a token of answer type ``kind`` that the question does not contain."""
    if kind == "number":
        return any(m.group().lower() not in asked for m in _NUMBER.finditer(text))
    if kind == "date":
        return any(m.group().lower() not in asked for m in _DATE.finditer(text))
    if kind == "who":
        return any(m.group().lower() not in asked for m in _CAPITALISED.finditer(text))
    return any(m.group(1).lower() not in asked for m in _PLACE.finditer(text))


def type_starts(kind: str, text: str, asked: set[str]) -> list[int]:
    """Where tokens of answer type ``kind`` that the question does not contain start in ``text``."""
    if kind == "where":
        return [m.start(1) for m in _PLACE.finditer(text) if m.group(1).lower() not in asked]
    pattern = {"number": _NUMBER, "date": _DATE, "who": _CAPITALISED}[kind]
    return [m.start() for m in pattern.finditer(text) if m.group().lower() not in asked]


def doc_lift(engine: AnswerEngine, ranking: Ranking) -> float:
    """``doc_share`` minus the best document's share of all passages."""
    doc = engine.passages[ranking.candidates[0].passage].document.id
    held = sum(b - a for a, b in engine._doc_runs.get(doc, ()))
    doc_share = ranking.signals[9] if ranking.signals else 0.0
    return doc_share - held / max(len(engine.passages), 1)


def evidence(engine: AnswerEngine, question: str, ranking: Ranking) -> list[float]:
    """The :data:`EVIDENCE` features of one question's best reranked passage."""
    best = ranking.candidates[0]
    query = engine.query(question)
    weights, total = query.weights, query.total
    info = engine._passage_terms(best.passage)
    text = engine.passages[best.passage].text
    spans, starts, k = info.spans, info.starts, best.best_sentence
    ends = (*starts[1:], len(info.terms))
    sentence_terms = [set(info.terms[starts[j] : ends[j]]) for j in range(len(starts))]
    numbers = {t for t in weights if any(ch.isdigit() for ch in t)}
    specific = set(query.specific) | numbers
    passage_terms = set(info.terms)
    if specific:
        spec_sentence = len(specific & sentence_terms[k]) / len(specific)
        around = [sentence_terms[k] | sentence_terms[j] for j in (k - 1, k + 1) if 0 <= j < len(sentence_terms)]
        spec_window = max((len(specific & s) / len(specific) for s in around), default=spec_sentence)
        spec_window = max(spec_window, spec_sentence)
        in_doc = sum(
            t in passage_terms or engine._document_has(t, engine.passages[best.passage].document.id) for t in specific
        )
        specific_share = in_doc / len(specific)
    else:
        spec_sentence = spec_window = specific_share = 1.0
    missing = [w for t, w in weights.items() if t not in passage_terms]
    missing_max = max(missing) / total if missing else 0.0
    kind = question_type(question)
    type_found = type_near = 1.0
    if kind is not None:
        asked = {w.lower() for w in _RAW_WORD.findall(question)}
        a = spans[max(k - 1, 0)][0]
        b = spans[min(k + 1, len(spans) - 1)][1]
        type_found = float(has_type(kind, text[a:b], asked))
        a, b = spans[k]
        sentence = text[a:b]
        matched = [t.start for t in engine.analyzer.tokens(sentence) if t.term in weights]
        type_near = float(
            any(any(abs(start - m) <= 40 for m in matched) for start in type_starts(kind, sentence, asked))
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
    proximity = near / query.pairs_total if query.pairs_total > 0 else 1.0
    return [
        spec_sentence,
        spec_window,
        _window_share(info.terms, weights, total, 12),
        missing_max,
        float(kind is not None),
        type_found,
        specific_share,
        best.features[FEATURES.index("bigrams")] if query.pairs_total > 0 else 1.0,
        proximity,
        type_near,
        doc_lift(engine, ranking),
    ]
