"""Passages analysed sentence by sentence (cached), and the highlight of a passage for a question.

:class:`SentenceCache` gives each passage's sentence spans and analysed terms (computed on demand,
least-recently-used); :class:`Highlighter` picks a passage's best sentence and every matched word.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from itertools import compress, count
from threading import Lock

from bot.analysis import Analyzer, SurfaceCache
from bot.corpus import Passage
from bot.search import BM25Index
from bot.sentences import sentence_spans

_MATCH_GROUP = re.Match.group


@dataclass(frozen=True)
class Highlight:
    """The sentence of a passage that best matches the question, and the words that matched.

    ``start``/``end`` locate the sentence in the passage text; ``spans`` locate each matched word
    (in passage-text offsets); ``words`` are the matched words as written, each once.
    """

    sentence: str
    start: int
    end: int
    words: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class PassageTerms:
    """A passage analysed sentence by sentence (computed on demand and cached).

    ``terms`` are the analysed terms of every sentence in order (each sentence as
    :meth:`Analyzer.analyze` gives it); sentence ``k`` holds ``terms[starts[k]:starts[k + 1]]``.
    """

    spans: tuple[tuple[int, int], ...]
    terms: tuple[str, ...]
    starts: tuple[int, ...]

    @property
    def sentence_sets(self) -> tuple[frozenset[str], ...]:
        """Each sentence's distinct terms."""
        ends = (*self.starts[1:], len(self.terms))
        return tuple(frozenset(self.terms[a:b]) for a, b in zip(self.starts, ends, strict=True))

    @property
    def term_set(self) -> frozenset[str]:
        """The passage's distinct terms."""
        return frozenset(self.terms)


class SentenceCache:
    """Each passage's sentence spans and analysed terms, computed on demand (thread-safe LRU)."""

    SIZE = 4096

    def __init__(self, passages: Sequence[Passage], analyzer: Analyzer, size: int = SIZE) -> None:
        self.passages = passages
        self.analyzer = analyzer
        self.size = size
        self._cache: OrderedDict[int, PassageTerms] = OrderedDict()
        self._lock = Lock()
        # Sentences are analysed with the index builder's byte splitter where it applies (same words
        # as the analyzer's pattern), and surface words are mapped to terms by a C-level dict lookup.
        self._surface_terms = SurfaceCache(lambda raw: analyzer.term_of(raw.decode("utf-8")), 1_000_000)

    def __getitem__(self, i: int) -> PassageTerms:
        """Sentence spans and analysed terms of passage ``i``."""
        with self._lock:
            found = self._cache.get(i)
            if found is not None:
                self._cache.move_to_end(i)
                return found
        info = self.analyse(self.passages[i].text)
        with self._lock:
            self._cache[i] = info
            if len(self._cache) > self.size:
                self._cache.popitem(last=False)
        return info

    def analyse(self, text: str) -> PassageTerms:
        """Each sentence's terms exactly as ``analyzer.analyze(sentence)`` gives them, concatenated."""
        spans = sentence_spans(text) or ((0, len(text)),)
        analyzer = self.analyzer
        lookup = self._surface_terms.__getitem__
        is_shouting, phrases = analyzer.is_shouting, analyzer.phrases
        terms: list[str] = []
        starts: list[int] = []
        whole = self._translated(text, spans)
        if whole is not None:
            # Every sentence is a slice of the passage's separator-translated bytes.
            for a, b in spans:
                starts.append(len(terms))
                words = whole[a:b]
                if words.isupper() and is_shouting(text[a:b]):
                    words = words.lower()
                found = list(filter(None, map(lookup, words.split())))
                terms += found
                if phrases:
                    terms += [c for _, _, c in analyzer.phrase_matches(found)]
            return PassageTerms(spans, tuple(terms), tuple(starts))
        split = analyzer.byte_words
        for a, b in spans:
            starts.append(len(terms))
            sentence = text[a:b]
            words = split(sentence, is_shouting(sentence))
            if words is None:
                terms += analyzer.analyze(sentence)
                continue
            found = list(filter(None, map(lookup, words)))
            terms += found
            if phrases:
                terms += [c for _, _, c in analyzer.phrase_matches(found)]
        return PassageTerms(spans, tuple(terms), tuple(starts))

    def _translated(self, text: str, spans: tuple[tuple[int, int], ...]) -> bytes | None:
        """An ASCII passage as the byte splitter sees it (separators as spaces), when its sentences'
        words are exactly the slices' words: no dotted acronym, and whitespace around every sentence.
        """
        separated = self.analyzer.ascii_separated(text)
        if separated is None:
            return None
        n = len(text)
        for a, b in spans:
            if (a > 0 and not text[a - 1].isspace()) or (b < n and not text[b].isspace()):
                return None
        return separated


class Highlighter:
    """The best sentence of a passage for a question's terms, and the span of every matched word."""

    def __init__(self, sentences: SentenceCache, index: BM25Index) -> None:
        self.sentences = sentences
        self.passages = sentences.passages
        self.analyzer = sentences.analyzer
        self.index = index
        self._word_terms = SurfaceCache(self.analyzer.term_of, 1_000_000)

    def highlight(self, i: int, query_terms: set[str], sentence: int | None = None) -> Highlight:
        """The best sentence of passage ``i`` (or the given one) and every matched word's span."""
        info = self.sentences[i]
        text = self.passages[i].text
        if sentence is None:
            weights = {t: max(self.index.idf_of(t), 0.01) for t in query_terms}
            masses = [sum(w for t, w in weights.items() if t in s) for s in info.sentence_sets]
            sentence = max(range(len(masses)), key=lambda k: (masses[k], -k)) if masses else 0
        start, end = info.spans[sentence]
        matched = self.matched_spans(text, query_terms)
        words: list[str] = []
        word_spans: list[tuple[int, int]] = []
        nested = bool(self.analyzer.phrases)  # only alias phrases overlap other tokens
        for a, b in matched:
            if nested and any(x <= a and b <= y for x, y in word_spans):
                continue
            word_spans.append((a, b))
            word = text[a:b]
            if word not in words:
                words.append(word)
        return Highlight(text[start:end], start, end, tuple(words), tuple(word_spans))

    def matched_spans(self, text: str, query_terms: AbstractSet[str]) -> list[tuple[int, int]]:
        """(start, end) of each token of ``text`` whose term is a question term, as from
        :meth:`Analyzer.tokens` (alias phrases included), sorted by start, longest first."""
        analyzer = self.analyzer
        matches = list(analyzer.pattern.finditer(text))
        surfaces = map(_MATCH_GROUP, matches)
        if analyzer.is_shouting(text):
            surfaces = map(str.lower, surfaces)
        terms = list(map(self._word_terms.__getitem__, surfaces))
        found = [matches[k].span() for k in compress(count(), map(query_terms.__contains__, terms))]
        if analyzer.phrases:
            kept = [k for k, t in enumerate(terms) if t is not None]
            sequence = [terms[k] for k in kept]
            for i, j, canonical in analyzer.phrase_matches(sequence):
                if canonical in query_terms:
                    found.append((matches[kept[i]].start(), matches[kept[j - 1]].end()))
            found.sort(key=lambda span: (span[0], -span[1]))
        return found
