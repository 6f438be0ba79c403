"""Is a sentence about a topic? Phrase- and name-aware matching for topic summaries.

The index matches terms: stems, aliases, acronyms. For a topic summary that is too loose. A topic
of several words means a concept ("artificial intelligence"), not each word anywhere ("artificial
pitches", "an intelligence officer"); a name is not a common word ("Ai" the tennis player is not
"AI", "Aids" is not "aid"); and two words with one stem are not one word ("initiative" and
"initial" both stem to "initi"). :func:`relevance` scores one sentence against a parsed
:class:`TopicQuery` in ``[0, 1]``:

* Each topic word matches a sentence token with the same term **whose written form agrees**:
  an alias (a name in ``aliases.yaml``) only as one of its group's names as written there --
  acronyms in capitals ("AI", "A.I.", never the name "Ai"), names capitalised ("China",
  "Chinese", never "china" the porcelain) -- or as a multi-word name written out; a topic
  acronym ("NHS") only in capitals; a topic word in lower case never matches an acronym ("AIDS")
  nor a capitalised word unless it is the very same word ("Aid ...", not "Aids"); otherwise the
  two words must share a *light* stem (plural and tense endings only: "initiatives" ~
  "initiative", never "initial").
* A topic that is one alias name ("artificial intelligence", "United States") matches, in full,
  any sentence naming that concept by any of its names, and nothing less: its words one by one
  ("artificial sweeteners") score 0.
* A topic written as a name ("United States", or the later words of "Bank of England") matches
  only capitalised words: "unit" and "state" are not it.
* Otherwise the score is the largest share of the topic's IDF weight whose words all stand
  within one window of :data:`WINDOW` consecutive words -- 1 for the phrase itself or its words
  close together, about 0.5 for one word of two.

In a summary, a sentence that holds only part of a topic of several words keeps its share only
when its document speaks of the whole topic (:func:`topic_fit`); otherwise the share is halved.
A sentence joins a topic summary only when that reaches the floor (:data:`RELEVANCE_FLOOR`,
calibrated in ``benchmarks/topic_precision.py`` on its tuning topics).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bot.analysis import Analyzer, Token

WINDOW = 5
RELEVANCE_FLOOR = 0.5

_POSSESSIVE = re.compile(r"['’]s$")


def light_stem(word: str) -> str:
    """``word`` lower-cased without plural, possessive and tense endings (a much lighter stem than Snowball)."""
    w = _POSSESSIVE.sub("", word.lower())
    if len(w) > 4 and w.endswith("ies"):
        w = w[:-3] + "y"
    elif len(w) > 4 and w.endswith(("sses", "xes", "zes", "ches", "shes")):
        w = w[:-2]
    elif len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    if len(w) > 5 and w.endswith("ing"):
        w = w[:-3]
    elif len(w) > 4 and w.endswith("ed"):
        w = w[:-2]
    if len(w) > 3 and w.endswith("e"):
        w = w[:-1]
    return w


def _is_acronym(surface: str) -> bool:
    """Written as an acronym: all capitals (two letters or more) or dotted letters ("U.S.")."""
    letters = [c for c in surface if c.isalpha()]
    return len(letters) >= 2 and (all(c.isupper() for c in letters) or "." in surface.strip("."))


@dataclass(frozen=True)
class TopicWord:
    """One word (or alias name) of a topic: its term, how it was written, and its IDF weight."""

    term: str
    surface: str
    weight: float
    name: bool = False  # written as a name in the topic ("United States"): a lower-case word is not it

    @property
    def acronym(self) -> bool:
        """The topic wrote this word as an acronym ("AI", "NHS")."""
        return _is_acronym(self.surface)


@dataclass(frozen=True)
class TopicQuery:
    """A parsed topic: its words, and the alias concept it names as a whole (if any)."""

    text: str
    words: tuple[TopicWord, ...]
    concept: str | None  # alias term of a topic that is one alias name, e.g. "~artificial_intelligence"
    alias_names: dict[str, tuple[str, ...]] = field(default_factory=dict)  # alias term -> its one-word names

    @property
    def terms(self) -> list[str]:
        """The distinct terms to look up in the index (words, then the concept)."""
        out = [w.term for w in self.words]
        if self.concept is not None:
            out.append(self.concept)
        return list(dict.fromkeys(out))


def parse_topic(text: str, analyzer: Analyzer, idf: Callable[[str], float]) -> TopicQuery:
    """The topic's words (in order, distinct terms) and the concept it names when it is one alias name."""
    tokens = analyzer.tokens(text)
    words: list[TopicWord] = []
    folded = " ".join(text.casefold().replace(".", "").split())
    concept = None
    for index, group in enumerate(analyzer.aliases.groups):
        if any(" ".join(name.casefold().replace(".", "").split()) == folded for name in group):
            concept = analyzer.aliases.canonical(index)
            break
    singles = [t for t in tokens if " " not in text[t.start : t.end]]  # alias phrases: their words are there too
    capitalised = [text[t.start : t.end][:1].isupper() for t in singles]
    title_case = len(singles) > 1 and all(capitalised)
    for i, token in enumerate(singles):
        surface = text[token.start : token.end]
        if token.term not in {w.term for w in words}:
            name = capitalised[i] and (i > 0 or title_case) and not _is_acronym(surface)
            words.append(TopicWord(token.term, surface, max(idf(token.term), 0.0), name))
    if concept is not None and len(words) == 1 and words[0].term == concept:
        words = []  # "AI": the concept alone
    wanted = {w.term for w in words if w.term.startswith("~")} | ({concept} if concept else set())
    names: dict[str, tuple[str, ...]] = {}
    for index, group in enumerate(analyzer.aliases.groups):
        term = analyzer.aliases.canonical(index)
        if term in wanted:
            names[term] = tuple(n for n in group if " " not in n)
    return TopicQuery(text, tuple(words), concept, names)


def _is_alias_name(surface: str, names: Sequence[str]) -> bool:
    """A one-word alias match written as one of the group's names: acronyms in capitals, names capitalised.

    "AI" and "A.I." are names of artificial intelligence, "Ai" (a tennis player) is not; "China"
    and "Chinese" are names of China, "china" (porcelain) is not.
    """
    for name in names:
        if _is_acronym(name):
            if surface.replace(".", "") == name.replace(".", ""):
                return True
        elif light_stem(surface) == light_stem(name) and (surface[:1].isupper() or not name[:1].isupper()):
            return True
    return False


def _agrees(word: TopicWord, surface: str, names: Sequence[str] | None = None) -> bool:
    """Whether a sentence word written ``surface`` is the topic ``word`` (same term assumed).

    ``names`` are the one-word names of the word's alias group when its term is an alias term.
    """
    if " " in surface:
        return True  # an alias phrase ("artificial intelligence") written out
    if word.term.startswith("~"):
        return _is_alias_name(surface, names or ())
    if word.acronym:
        return _is_acronym(surface)  # "NHS" only in capitals
    if _is_acronym(surface):
        return False  # "AIDS" is not "aid"
    if word.name and not surface[:1].isupper():
        return False  # "unit" is not the "United" of "United States"
    if surface[:1].isupper() and word.surface[:1].islower():
        return surface.lower() == word.surface.lower()  # a capitalised word only as the very same word
    return light_stem(surface) == light_stem(word.surface)


def matches(query: TopicQuery, sentence: str, tokens: Sequence[Token]) -> list[tuple[int, TopicWord | None]]:
    """(word position, topic word) for each token of ``sentence`` that is the topic's; ``None`` for the concept."""
    by_term = {w.term: w for w in query.words}
    out: list[tuple[int, TopicWord | None]] = []
    position = 0
    for token in tokens:
        surface = sentence[token.start : token.end]
        phrase = " " in surface
        if query.concept is not None and token.term == query.concept:
            if phrase or _is_alias_name(surface, query.alias_names.get(query.concept, ())):
                out.append((position, None))
        word = by_term.get(token.term)
        if word is not None and not phrase and _agrees(word, surface, query.alias_names.get(word.term)):
            out.append((position, word))
        if not phrase:
            position += 1
    return out


def relevance(query: TopicQuery, sentence: str, analyzer: Analyzer, window: int = WINDOW) -> float:
    """How fully ``sentence`` speaks of the topic, in ``[0, 1]`` (see the module docstring)."""
    found = matches(query, sentence, analyzer.tokens(sentence))
    if not found:
        return 0.0
    if any(word is None for _, word in found):
        return 1.0
    total = sum(w.weight for w in query.words) or 1.0
    if query.concept is not None:  # a named concept: its name, or all its words close together
        complete = _window_share(found, total, window) >= 1.0 - 1e-9
        return 1.0 if complete else 0.0
    return _window_share(found, total, window)


def _window_share(found: Sequence[tuple[int, TopicWord | None]], total: float, window: int) -> float:
    """The largest IDF share of distinct topic words found within ``window`` consecutive words."""
    best = 0.0
    for i, (start, _) in enumerate(found):
        seen: dict[str, float] = {}
        for position, word in found[i:]:
            if position - start >= window:
                break
            assert word is not None
            seen[word.term] = word.weight
        best = max(best, sum(seen.values()) / total)
    return min(best, 1.0)


def topic_fit(
    query: TopicQuery, sentences: Sequence[tuple[str, str]], analyzer: Analyzer, window: int = WINDOW
) -> list[float]:
    """Relevance of each ``(document id, sentence)`` in the context of the others from its document.

    A sentence that holds the whole topic scores 1. One that holds only part of a topic of several
    words keeps its share (:func:`relevance`) only when its document speaks of the whole topic
    somewhere among ``sentences`` (a "Bafta award" line in a story about film awards); otherwise
    the share is halved, below any floor worth having ("artificial pitches" in a story that never
    mentions intelligence).
    """
    scores = [relevance(query, sentence, analyzer, window) for _, sentence in sentences]
    whole = {doc for (doc, _), score in zip(sentences, scores, strict=True) if score >= 1.0 - 1e-9}
    return [
        score if score >= 1.0 - 1e-9 or doc in whole else score / 2
        for (doc, _), score in zip(sentences, scores, strict=True)
    ]
