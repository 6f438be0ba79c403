"""From ranked passages to an answer: whether the corpus answers, which passages, which sentence.

Two stages. BM25 (exactly ``BM25Okapi``, see :mod:`bot.search`) picks the ``RERANK_DEPTH`` best
passages; a small linear reranker then reorders them with cheap features that BM25 cannot see:

* ``bm25`` -- the BM25 score, divided by the most the question's terms could score;
* ``coverage`` -- the share of the question's information (IDF mass) present in the passage;
* ``sentence`` -- the same share for the passage's best sentence;
* ``window`` -- the same share for the best window of ``WINDOW`` consecutive terms (proximity);
* ``bigrams`` -- the IDF-weighted share of the question's adjacent term pairs found adjacent.

Terms the corpus has never seen count as the rarest (they weigh the most and are never present),
so a question about something the corpus lacks has low coverage however well its common words match.

The engine abstains rather than quote the nearest passage as if it answered: its confidence is a
logistic model (0..1) over a few question-level signals (:data:`SIGNALS`: the best passage's
coverage, query-performance predictors over BM25's top-k list, term-level checks against the best
passage and its whole document), compared with ``AnswerPolicy.min_confidence``; 0.5 is the
operating point it was fitted for (95% of answerable questions answered). Extra passages are
shown only when their reranked score is close to the best one. The coefficients were fitted by
``benchmarks/calibrate.py``.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections import Counter, OrderedDict
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from itertools import compress, count, pairwise
from threading import Lock
from typing import Any

import numpy as np

from bot.analysis import Analyzer, SurfaceCache
from bot.corpus import Passage
from bot.search import BM25Index
from bot.sentences import sentence_spans

# How many BM25 candidates the reranker reorders, and the proximity window (in analysed terms).
RERANK_DEPTH = 30
WINDOW = 8
FEATURES = ("bm25", "coverage", "sentence", "window", "bigrams", "number", "pair", "document")
# Question-level signals the abstention model may read (see :meth:`AnswerEngine.signals`).
SIGNALS = (
    # the best reranked passage's own features
    "coverage",
    "sentence",
    "document",
    "bm25",
    # query-performance prediction over BM25's top-k list
    "nqc",
    "wig",
    "clarity",
    "ratio",
    "same_doc",
    "doc_share",
    # term-level: the rarest term, missing information, specific (named) terms, unseen terms
    "rare_idf",
    "rare_passage",
    "rare_document",
    "full_document",
    "specific_passage",
    "specific_document",
    "oov",
    # how much the question says: its IDF mass (/ an unseen term's IDF), its distinct terms
    "mass",
    "terms",
)
# The signals the shipped abstention model reads: a name of SIGNALS, "a*b" (a product), or
# "a>k" (the hinge max(0, a - k), for a piecewise-linear effect).
CONFIDENCE_FEATURES = ("coverage", "sentence", "doc_share", "rare_passage", "ratio", "specific_document")
# How many of BM25's best passages the query-performance signals look at.
QPP_DEPTH = 10
_WANTS_NUMBER = re.compile(
    r"\b(?:how\s+(?:many|much|long|old|far|large|big|tall|high|often|fast|heavy|deep|wide)|when|"
    r"what\s+(?:year|years|decade|century|percent|percentage|date|day|month|age|number|amount|time|size|population))\b",
    re.IGNORECASE,
)
_DIGIT = re.compile(r"\d")
_MATCH_GROUP = re.Match.group


@dataclass(frozen=True)
class RankModel:
    """Coefficients of the reranker and of the abstention (confidence) model.

    ``rerank`` weighs :data:`FEATURES` (only differences between candidates matter, so there is no
    intercept). ``confidence`` is ``(intercept, *weights)`` of a logistic model over
    ``confidence_features`` (names built from :data:`SIGNALS`, see :func:`confidence_input`): the
    probability that the corpus answers the question.
    """

    rerank: tuple[float, ...]
    confidence: tuple[float, ...]
    confidence_features: tuple[str, ...] = CONFIDENCE_FEATURES


# Fitted by `python -m benchmarks.calibrate --fit-fold 0` on SQuAD v1.1 dev (first half), fold 0 =
# even-numbered articles; held-out fold 1: R@1 0.893, MRR@10 0.929 (BM25 alone: 0.860, 0.910).
# Confidence: class-balanced logistic regression on fold 0 over CONFIDENCE_FEATURES (answerable vs
# asked of the pool without its article), intercept then shifted so that 0.5 answers 95% of fold 0's
# own questions. At 0.5: held-out fold 1 answers 95.2% own / 9.6% other-article questions; full set
# 95.1% / 10.6% (fitting on fold 1 instead: fold 0 94.5% / 11.2%).
DEFAULT_MODEL = RankModel(
    rerank=(2.358, 2.926, 2.325, 1.954, 0.944, 0.3, 2.448, 2.0),
    confidence=(-1.945, 2.644, 2.57, 4.781, 0.087, -3.024, -1.024),
    confidence_features=CONFIDENCE_FEATURES,
)


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
class RankedPassage:
    """One passage in an answer, with its (reranked) score and its highlight."""

    passage: Passage
    score: float
    highlight: Highlight

    def to_json(self) -> dict[str, Any]:
        """The passage as in ``summitbot ask --json`` output."""
        doc = self.passage.document
        return {
            "document": doc.id,
            "title": doc.title,
            "paragraph": self.passage.paragraph,
            "score": round(self.score, 4),
            "text": self.passage.text,
            "highlight": {"sentence": self.highlight.sentence, "words": list(self.highlight.words)},
            "source": doc.source,
            "url": doc.url,
        }


@dataclass(frozen=True)
class Answer:
    """The reply to one question: answered or not, and the ranked passages (nearest misses too)."""

    question: str
    answered: bool
    confidence: float
    passages: tuple[RankedPassage, ...]
    reason: str | None = None  # why it was not answered: "empty", "no-match", "low-confidence"

    @property
    def best(self) -> RankedPassage | None:
        """The top passage, if any."""
        return self.passages[0] if self.passages else None

    def to_json(self) -> dict[str, Any]:
        """The JSON object ``summitbot ask --json`` prints for this question."""
        return {
            "question": self.question,
            "answered": self.answered,
            "passages": [p.to_json() for p in self.passages],
        }


@dataclass(frozen=True)
class AnswerPolicy:
    """When to answer and how many passages to show."""

    min_confidence: float = 0.5
    related_ratio: float = 0.8


@dataclass(frozen=True)
class Candidate:
    """One reranked passage: its position in the corpus, BM25 score, features and final score."""

    passage: int
    bm25: float
    features: tuple[float, ...]
    score: float
    best_sentence: int  # index into the passage's sentence spans


@dataclass(frozen=True)
class Ranking:
    """The reranked candidates for one question and the probability that the corpus answers it."""

    terms: tuple[str, ...]
    candidates: tuple[Candidate, ...]
    confidence: float
    signals: tuple[float, ...] = ()  # the question's :data:`SIGNALS` (empty when nothing matched)


@dataclass(frozen=True)
class _PassageTerms:
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


@dataclass(frozen=True)
class Query:
    """An analysed question: its terms, their weights (and total), its BM25 ceiling, its answer type."""

    terms: tuple[str, ...]
    weights: dict[str, float]
    total: float
    bm25_max: float  # the score of a passage holding every term at saturation
    wants_number: bool  # "how many", "when", "what year": the answer is likely a number or a date
    specific: frozenset[str] = frozenset()  # rarer than the median term, or capitalised mid-question
    # adjacent distinct question terms (bigrams): kept as built, so that sums over them add in one order
    pairs: AbstractSet[tuple[str, str]] = frozenset()
    pairs_total: float = 0.0  # their weight: sum of both terms' weights over the pairs


def term_weights(terms: list[str] | tuple[str, ...], index: BM25Index) -> dict[str, float]:
    """Each distinct question term's information weight: its IDF (floored at 0), unseen terms the rarest."""
    return {t: (max(index.idf_of(t), 0.0) if index.contains(t) else index.idf_of(t)) for t in dict.fromkeys(terms)}


def _window_share(terms: tuple[str, ...], weights: dict[str, float], total: float, width: int) -> float:
    """The largest share of question weight whose distinct terms all fall in ``width`` consecutive terms."""
    return _window_hits([(i, t) for i, t in enumerate(terms) if t in weights], weights, total, width)


def _window_hits(hits: list[tuple[int, str]], weights: dict[str, float], total: float, width: int) -> float:
    """:func:`_window_share` from the question terms' (position, term) hits in the passage."""
    if not hits:
        return 0.0
    best = 0.0
    inside: dict[str, int] = {}
    mass = 0.0
    lo = 0
    for i, term in hits:
        n = inside.get(term, 0)
        if n == 0:
            mass += weights[term]
        inside[term] = n + 1
        while hits[lo][0] <= i - width:
            old = hits[lo][1]
            inside[old] -= 1
            if inside[old] == 0:
                mass -= weights[old]
            lo += 1
        if mass > best:
            best = mass
    return best / total


def _question_pairs(query: tuple[str, ...]) -> set[tuple[str, str]]:
    return {(a, b) for a, b in pairwise(query) if a != b}


def confidence_input(name: str, signals: Mapping[str, Any]) -> Any:
    """One input of the abstention model from the signals (floats or numpy arrays) by name.

    ``"a"`` is signal ``a``; ``"a*b"`` the product of two inputs; ``"a>k"`` the hinge
    ``max(0, a - k)``, so a signal can weigh differently above and below ``k``.
    """
    if "*" in name:
        left, right = name.split("*", 1)
        return confidence_input(left, signals) * confidence_input(right, signals)
    if ">" in name:
        left, knot = name.split(">", 1)
        return np.maximum(confidence_input(left, signals) - float(knot), 0.0)
    return signals[name]


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


class AnswerEngine:
    """Ranks passages for a question and decides whether they answer it."""

    _CACHE_SIZE = 4096

    def __init__(
        self,
        passages: tuple[Passage, ...],
        analyzer: Analyzer,
        index: BM25Index,
        policy: AnswerPolicy | None = None,
        model: RankModel | None = None,
        depth: int = RERANK_DEPTH,
    ) -> None:
        self.passages = passages
        self.analyzer = analyzer
        self.index = index
        self.policy = policy or AnswerPolicy()
        self.model = model or DEFAULT_MODEL
        self.depth = depth
        self._cache: OrderedDict[int, _PassageTerms] = OrderedDict()
        self._lock = Lock()
        # Each document's passages as runs of consecutive positions (one run when, as in a Corpus,
        # a document's passages are kept together), to ask the postings whether a document has a term.
        runs: dict[str, list[list[int]]] = {}
        for i, passage in enumerate(passages):
            found = runs.setdefault(passage.document.id, [])
            if found and found[-1][1] == i:
                found[-1][1] = i + 1
            else:
                found.append([i, i + 1])
        self._doc_runs = {doc: tuple((a, b) for a, b in r) for doc, r in runs.items()}
        seen = index.idf[index.df > 0]
        self._median_idf = float(np.median(seen)) if seen.size else 0.0
        self._oov_idf = math.log(index.n_docs + 0.5) - math.log(0.5)
        # Sentences are analysed with the index builder's byte splitter where it applies (same words
        # as the analyzer's pattern), and surface words are mapped to terms by a C-level dict lookup.
        self._surface_terms = SurfaceCache(lambda raw: analyzer.term_of(raw.decode("utf-8")), 1_000_000)
        self._word_terms = SurfaceCache(analyzer.term_of, 1_000_000)

    def _passage_terms(self, i: int) -> _PassageTerms:
        """Sentence spans and analysed terms of passage ``i`` (least-recently-used cache)."""
        with self._lock:
            found = self._cache.get(i)
            if found is not None:
                self._cache.move_to_end(i)
                return found
        info = self._analyse_passage(self.passages[i].text)
        with self._lock:
            self._cache[i] = info
            if len(self._cache) > self._CACHE_SIZE:
                self._cache.popitem(last=False)
        return info

    def _analyse_passage(self, text: str) -> _PassageTerms:
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
            return _PassageTerms(spans, tuple(terms), tuple(starts))
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
        return _PassageTerms(spans, tuple(terms), tuple(starts))

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

    def _features(self, query: Query, bm25: float, i: int) -> tuple[tuple[float, ...], int, set[str]]:
        """The per-passage reranking features of passage ``i`` (``document`` left 0), its best sentence,
        and the question terms that the passage contains.

        Every feature depends only on where the question's terms occur, so the passage's terms are
        scanned once (in C) for those positions and the rest is done on the few hits.
        """
        info = self._passage_terms(i)
        weights, total = query.weights, query.total
        terms = info.terms
        positions = list(compress(count(), map(weights.__contains__, terms)))
        hits = [(p, terms[p]) for p in positions]
        present = {t for _, t in hits}
        cov = sum(w for t, w in weights.items() if t in present) / total
        # Question terms per sentence (only sentences with a hit; the others weigh 0).
        starts = info.starts
        by_sentence: dict[int, set[str]] = {}
        for p, t in hits:
            k = bisect_right(starts, p) - 1
            found = by_sentence.get(k)
            if found is None:
                by_sentence[k] = {t}
            else:
                found.add(t)
        best_sent, best_mass = 0, 0.0
        pair = 0.0
        if by_sentence:
            masses = {k: sum(w for t, w in weights.items() if t in found) for k, found in by_sentence.items()}
            for k, mass in masses.items():
                if mass > best_mass or (mass == best_mass and k < best_sent):
                    best_sent, best_mass = k, mass
            last = len(starts) - 1
            for k, found in by_sentence.items():
                if k > 0 and k - 1 not in by_sentence:  # (k - 1, k) where only k has hits
                    pair = max(pair, masses[k])
                if k < last:
                    after = by_sentence.get(k + 1)
                    if after is None:
                        pair = max(pair, masses[k])
                    else:
                        both = found | after
                        pair = max(pair, sum(w for t, w in weights.items() if t in both))
        sent = best_mass / total
        pair = max(sent, pair / total) if len(starts) > 1 else sent
        window = _window_hits(hits, weights, total, WINDOW)
        bigrams = 0.0
        if query.pairs_total > 0 and len(hits) > 1:
            pairs = query.pairs
            adjacent = {(t, hits[n + 1][1]) for n, (p, t) in enumerate(hits[:-1]) if hits[n + 1][0] == p + 1}
            present_pairs = {pp for pp in pairs if pp in adjacent}
            if present_pairs:
                bigrams = sum(weights[a] + weights[b] for a, b in present_pairs) / query.pairs_total
        number = 0.0
        if query.wants_number:
            a, b = info.spans[best_sent]
            number = 1.0 if _DIGIT.search(self.passages[i].text, a, b) else 0.0
        bm25_share = bm25 / query.bm25_max if query.bm25_max > 0 else 0.0
        return (bm25_share, cov, sent, window, bigrams, number, pair, 0.0), best_sent, present

    def query(self, question: str) -> Query:
        """Analyse a question and weigh its terms against this corpus."""
        terms = tuple(self.analyzer.analyze(question))
        weights = term_weights(terms, self.index)
        k1 = self.index.params.k1
        counts = Counter(terms)
        bm25_max = sum(
            c * max(self.index.idf_of(t), 0.0) * (k1 + 1.0) for t, c in counts.items() if self.index.contains(t)
        )
        total = sum(weights.values())
        wants_number = bool(_WANTS_NUMBER.search(question))
        capitalised = set()
        if not self.analyzer.is_shouting(question):
            for n, match in enumerate(self.analyzer.pattern.finditer(question)):
                word = match.group()
                if n > 0 and word[:1].isupper():
                    term = self.analyzer.term_of(word)
                    if term is not None:
                        capitalised.add(term)
        specific = frozenset(t for t, w in weights.items() if t in capitalised or w > self._median_idf)
        pairs = _question_pairs(terms)
        pairs_total = sum(weights[a] + weights[b] for a, b in pairs)
        return Query(
            terms,
            weights,
            total if total > 0 else 1.0,
            bm25_max,
            wants_number,
            specific,
            pairs,
            pairs_total if pairs_total > 0 else 0.0,
        )

    def rank(self, question: str, depth: int | None = None) -> Ranking:
        """BM25's best ``depth`` passages, reranked, with the confidence that the best one answers."""
        query = self.query(question)
        if not query.terms:
            return Ranking(query.terms, (), 0.0)
        hits = self.index.top(query.terms, depth or self.depth)
        if not hits:
            return Ranking(query.terms, (), 0.0)
        passages = self.passages
        rows = [(i, score, passages[i].document.id, *self._features(query, score, i)) for i, score in hits]
        # Document feature: how much of the question the candidates of the same document cover together
        # (only the question's terms count, so the union of the terms each candidate has is enough).
        union: dict[str, set[str]] = {}
        for _, _, doc, _, _, present in rows:
            found = union.get(doc)
            if found is None:
                union[doc] = set(present)
            else:
                found |= present
        weights, total = query.weights, query.total
        doc_cov = {doc: sum(w for t, w in weights.items() if t in terms) / total for doc, terms in union.items()}
        coef = self.model.rerank
        candidates = []
        for i, score, doc, feats, best_sent, _ in rows:
            full = (*feats[:-1], doc_cov[doc])
            rerank = sum(c * f for c, f in zip(coef, full, strict=True))
            candidates.append(Candidate(i, score, full, rerank, best_sent))
        candidates.sort(key=lambda c: (-c.score, -c.bm25, c.passage))
        signals = self.signals(query, hits, candidates, {row[0]: row[5] for row in rows})
        return Ranking(query.terms, tuple(candidates), self.confidence(signals), signals)

    def _document_has(self, term: str, doc: str) -> bool:
        """Whether any passage of document ``doc`` contains ``term`` (binary search in its postings)."""
        tid = self.index.vocab.get(term)
        if tid is None:
            return False
        lo, hi = int(self.index.offsets[tid]), int(self.index.offsets[tid + 1])
        if hi <= lo:
            return False
        docs = self.index.post_docs[lo:hi]
        for a, b in self._doc_runs.get(doc, ()):
            k = int(np.searchsorted(docs, a))
            if k < hi - lo and docs[k] < b:
                return True
        return False

    def signals(
        self,
        query: Query,
        hits: list[tuple[int, float]],
        candidates: list[Candidate] | tuple[Candidate, ...],
        present: Mapping[int, set[str] | frozenset[str]] | None = None,
    ) -> tuple[float, ...]:
        """The question's :data:`SIGNALS`, from BM25's hits (in BM25 order) and the reranked candidates.

        Only the top-k lists, the question's terms and their postings are read: no corpus scan.
        ``present`` may give, for hit passages, the question terms each contains (or all its terms).

        * ``nqc``: standard deviation of the top ``QPP_DEPTH`` BM25 scores / the question's ceiling;
        * ``wig``: (mean top-k score - the expected score of a random passage) / ceiling / sqrt(terms);
        * ``clarity``: KL divergence, over the question's terms, of "in a top-k passage" vs "in any";
        * ``ratio``: the k-th BM25 score / the first; ``same_doc``: share of the top k from the best
          passage's document; ``doc_share``: share of the BM25 score mass of the ``RERANK_DEPTH``
          candidates that the best passage's document holds (does the corpus cover the topic?);
        * ``rare_idf``: the rarest term's IDF / the IDF of an unseen term; ``rare_passage`` /
          ``rare_document``: whether the best passage / its whole document has that term;
        * ``full_document``: share of the question's IDF mass anywhere in the best passage's document;
        * ``specific_passage`` / ``specific_document``: how many specific terms (rarer than the
          median term, or capitalised mid-question) the best passage / its document lacks;
        * ``oov``: how many question terms the corpus has never seen;
        * ``mass``: the question's IDF mass / an unseen term's IDF; ``terms``: its distinct terms.
        """
        if not candidates or not hits:
            return ()
        feats = candidates[0].features
        best = candidates[0].passage
        doc = self.passages[best].document.id
        weights, total = query.weights, query.total
        ceiling = query.bm25_max if query.bm25_max > 0 else 1.0
        top = hits[:QPP_DEPTH]
        scores = [s for _, s in top]
        k = len(scores)
        mean = sum(scores) / k
        nqc = math.sqrt(sum((s - mean) ** 2 for s in scores) / k) / ceiling
        index = self.index
        n = index.n_docs
        distinct = [t for t in weights if index.contains(t)]
        # A passage holding a term once, at average length, scores its IDF for it; df / n passages hold it.
        expected = sum(max(index.idf_of(t), 0.0) * index.df[index.vocab[t]] / n for t in distinct)
        wig = (mean - expected) / ceiling / math.sqrt(max(len(weights), 1))

        def terms_of(i: int) -> set[str] | frozenset[str]:
            found = present.get(i) if present is not None else None
            return found if found is not None else self._passage_terms(i).term_set

        sets = [terms_of(i) for i, _ in top]
        clarity = 0.0
        for t in distinct:
            p_top = (sum(t in s for s in sets) + 0.5) / (k + 1.0)
            p_all = (index.df[index.vocab[t]] + 0.5) / (n + 1.0)
            clarity += p_top * math.log(p_top / p_all)
        clarity /= max(len(weights), 1)
        ratio = scores[-1] / scores[0] if scores[0] > 0 else 0.0
        same_doc = sum(self.passages[i].document.id == doc for i, _ in top) / k
        pool = hits[:RERANK_DEPTH]
        pool_mass = sum(max(s, 0.0) for _, s in pool)
        doc_mass = sum(max(s, 0.0) for i, s in pool if self.passages[i].document.id == doc)
        doc_share = doc_mass / pool_mass if pool_mass > 0 else 0.0
        best_terms = terms_of(best)
        in_doc = {t: t in best_terms or self._document_has(t, doc) for t in weights}
        rare = max(weights, key=lambda t: (weights[t], t))
        rare_idf = weights[rare] / self._oov_idf if self._oov_idf > 0 else 0.0
        full_document = sum(w for t, w in weights.items() if in_doc[t]) / total
        specific_passage = sum(t not in best_terms for t in query.specific)
        specific_document = sum(not in_doc[t] for t in query.specific)
        oov = sum(not index.contains(t) for t in weights)
        return (
            feats[FEATURES.index("coverage")],
            feats[FEATURES.index("sentence")],
            feats[FEATURES.index("document")],
            feats[FEATURES.index("bm25")],
            nqc,
            wig,
            clarity,
            ratio,
            same_doc,
            doc_share,
            rare_idf,
            float(rare in best_terms),
            float(in_doc[rare]),
            full_document,
            float(specific_passage),
            float(specific_document),
            float(oov),
            total / self._oov_idf if self._oov_idf > 0 else 0.0,
            float(len(weights)),
        )

    def confidence(self, signals: tuple[float, ...]) -> float:
        """Probability that the corpus answers the question: a logistic model over its signals."""
        if not signals:
            return 0.0
        named = dict(zip(SIGNALS, signals, strict=True))
        intercept, *coef = self.model.confidence
        inputs = (confidence_input(name, named) for name in self.model.confidence_features)
        x = intercept + sum(c * float(v) for c, v in zip(coef, inputs, strict=True))
        return _sigmoid(x)

    def highlight(self, i: int, query_terms: set[str], sentence: int | None = None) -> Highlight:
        """The best sentence of passage ``i`` (or the given one) and every matched word's span."""
        info = self._passage_terms(i)
        text = self.passages[i].text
        if sentence is None:
            weights = {t: max(self.index.idf_of(t), 0.01) for t in query_terms}
            masses = [sum(w for t, w in weights.items() if t in s) for s in info.sentence_sets]
            sentence = max(range(len(masses)), key=lambda k: (masses[k], -k)) if masses else 0
        start, end = info.spans[sentence]
        matched = self._matched_spans(text, query_terms)
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

    def _matched_spans(self, text: str, query_terms: AbstractSet[str]) -> list[tuple[int, int]]:
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

    def ranked(self, question: str, offset: int, count: int) -> tuple[RankedPassage, ...]:
        """Ranked passages ``offset`` .. ``offset + count - 1``, whatever the answer policy says.

        The same order as :meth:`answer` (reranked), with highlights; fewer (or none) when the
        corpus has fewer matching passages or the question has no searchable terms.
        """
        offset, count = max(offset, 0), max(count, 0)
        if count == 0 or not self.analyzer.analyze(question):
            return ()
        ranking = self.rank(question, max(self.depth, offset + count))
        query_set = set(ranking.terms)
        return tuple(
            RankedPassage(self.passages[c.passage], c.score, self.highlight(c.passage, query_set, c.best_sentence))
            for c in ranking.candidates[offset : offset + count]
        )

    def answer(self, question: str, top_k: int = 3) -> Answer:
        """Answer one question with up to ``top_k`` ranked passages."""
        if not self.analyzer.analyze(question):
            return Answer(question, False, 0.0, (), reason="empty")
        ranking = self.rank(question, max(self.depth, top_k))
        if not ranking.candidates:
            return Answer(question, False, 0.0, (), reason="no-match")
        confidence = ranking.confidence
        candidates = list(ranking.candidates)
        answered = confidence >= self.policy.min_confidence and math.isfinite(candidates[0].score)
        if answered:
            floor = candidates[0].score * self.policy.related_ratio
            candidates = [c for k, c in enumerate(candidates[:top_k]) if k == 0 or c.score >= floor]
        query_set = set(ranking.terms)
        ranked = tuple(
            RankedPassage(self.passages[c.passage], c.score, self.highlight(c.passage, query_set, c.best_sentence))
            for c in candidates[: max(top_k, 1)]
        )
        return Answer(question, answered, confidence, ranked, reason=None if answered else "low-confidence")
