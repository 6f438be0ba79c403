"""Extractive, cited summaries of one document, of a topic across the corpus, or of the whole corpus.

Every sentence of a summary is a sentence of the corpus, quoted as written, with its citation
(document id, title, paragraph number, source). Nothing is paraphrased.

How sentences are chosen. A document summary scores its sentences with
:mod:`bot.salience` (centrality, position, subject, specificity, ... weighted for how much of the
document the budget keeps: a digest of a long article leans on the lead prior, a summary that
keeps much of a short news story on centrality). Topic and corpus scopes score as follows:

* **Centrality**: LexRank (continuous, damped PageRank) over the cosine similarity of sentences'
  term vectors. Terms come from the project's :class:`~bot.analysis.Analyzer` (stems, aliases,
  acronyms) and are weighted ``(1 + log tf) * idf`` with the engine index's IDF.
* **Lead prior**: news (and encyclopaedia) text puts the point first: a sentence in paragraph
  ``p`` gets ``lead / sqrt(p)``, and the first sentence of each paragraph (its topic sentence)
  ``paragraph_lead`` more.
* **Subject**: a sentence whose opening names the subject -- a title term (the topic's terms in
  topic scope) among its first three terms, as in "Oxygen is a chemical element..." -- gets a
  small bonus: such sentences say what the text is *about*.
* **Topic relevance** (topic scope): a sentence is a candidate only when it speaks of the topic
  (:func:`bot.relevance.relevance` reaches ``relevance_floor``: the topic's words as a phrase or
  close together, names and acronyms as written, no stem collisions); among those, BM25 of the
  topic's terms and that relevance add to the score. None passes: "Nothing on that in my sources."
* **Lists and tables** (every scope): a sentence that is a list or table row
  (:func:`bot.sentences.looks_like_list`) is never chosen while a real sentence is left.
* **Redundancy**: greedy MMR selection; a sentence too similar to one already chosen is skipped.
* **Out of context**: a sentence that opens by pointing back ("This stance...", "He said...")
  loses ``dangling`` (it reads badly without its predecessor); neutral on the benchmark.

Budget: ``max_words`` (or the length's words from ``settings.summaries``) is never exceeded.
Whole sentences are taken in score order while they fit; a sentence that does not fit is passed
over for a shorter one. When not even the best sentence fits (a budget smaller than any good
sentence), that sentence is cut at a word boundary and ends with "…" -- its words are still the
source's own, in order, from its start.

Output order: sentences of one document keep their original order; documents come in the order
of their best sentence (topic scope) or corpus order (corpus scope).

Corpus scope on a mixed corpus (at least :data:`bot.topics.MIN_DOCUMENTS` documents that fall into
two or more topics): an overview by topic (:mod:`bot.topics`) -- one or two opening sentences per
main topic, largest (recency-weighted) first, each topic named with its document count in
``Summary.sections``. A smaller corpus gets the sentence overview below, as before.

Cost is bounded: the topic scope reads only the top ``topic_passages`` passages by BM25; the
corpus scope reads leads (the first sentences of each document) when the corpus has more than
``max_candidates`` sentences. Per-document sentence analysis and scores are cached per engine.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from bot.analysis import Analyzer
from bot.corpus import Document, Passage
from bot.messages import NOTHING_ON_TOPIC
from bot.relevance import RELEVANCE_FLOOR, parse_topic, topic_fit
from bot.salience import DEFAULT_WEIGHTS, SentenceFacts, Weights, coverage_mix, pagerank, term_vectors
from bot.salience import features as salience_features
from bot.search import BM25Params
from bot.sentences import looks_like_list, split_sentences
from bot.topics import Topic, find_topics, pick_overview

if TYPE_CHECKING:
    from bot.engine import Engine

LENGTHS = ("short", "medium", "long")
ELLIPSIS = "…"


class SummaryError(ValueError):
    """A summary that cannot be made: unknown document, bad length, bad budget."""


@dataclass(frozen=True)
class SummarySentence:
    """One quoted sentence and where it comes from."""

    text: str
    document: str
    title: str
    paragraph: int  # 1-based, as cited
    source: str
    url: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The sentence as in ``summitbot summary --json``."""
        return {
            "text": self.text,
            "document": self.document,
            "title": self.title,
            "paragraph": self.paragraph,
            "source": self.source,
        }


@dataclass(frozen=True)
class SummarySection:
    """A part of a corpus overview: one topic, how many documents it holds, and its sentences (indexes)."""

    name: str
    documents: int
    sentences: tuple[int, ...]

    def to_json(self) -> dict[str, Any]:
        """``{"name", "documents", "sentences": [index, ...]}`` (indexes into the summary's sentences)."""
        return {"name": self.name, "documents": self.documents, "sentences": list(self.sentences)}


@dataclass(frozen=True)
class Summary:
    """A summary: its scope (``document:<id>``, ``topic:<text>``, ``corpus``), sentences and words.

    An empty summary carries a ``message`` saying why (e.g. nothing on the topic).
    """

    scope: str
    sentences: tuple[SummarySentence, ...]
    words: int
    budget: int
    message: str | None = None
    sections: tuple[SummarySection, ...] = ()  # a corpus overview's topics, in order

    @classmethod
    def empty(cls, scope: str, message: str, budget: int = 0) -> Summary:
        """A summary with no sentences and the reason why."""
        return cls(scope, (), 0, budget, message)

    @property
    def is_empty(self) -> bool:
        """True when there is nothing to show."""
        return not self.sentences

    @property
    def text(self) -> str:
        """The sentences joined as one text."""
        return " ".join(s.text for s in self.sentences)

    def to_json(self) -> dict[str, Any]:
        """``{"scope", "sentences": [...], "words"}``, plus ``"message"`` when empty and ``"topics"``
        (``[{"name", "documents", "sentences"}]``) for an overview by topic."""
        out: dict[str, Any] = {
            "scope": self.scope,
            "sentences": [s.to_json() for s in self.sentences],
            "words": self.words,
        }
        if self.message is not None:
            out["message"] = self.message
        if self.sections:
            out["topics"] = [section.to_json() for section in self.sections]
        return out


@dataclass(frozen=True)
class SummaryParams:
    """The few free parameters of sentence scoring (tuned on the even half of the SQuAD benchmark).

    Score of a sentence = ``centrality`` (LexRank, max 1) ``+ lead / sqrt(paragraph number)
    + paragraph_lead * [first sentence of its paragraph] + subject * [a subject term among its
    first subject_window terms] + topic * (BM25 relevance, max 1, + topic fit)``; a list or table
    row, like a sentence under ``min_words``, is never chosen while another is left. MMR skips a
    sentence whose cosine with a chosen one exceeds ``max_overlap`` (0.7: chosen on the tuning
    halves of the SQuAD and BBC benchmarks). A document summary scores with ``weights``
    (:mod:`bot.salience`) instead of ``lead``, ``paragraph_lead`` and ``subject``. A topic summary
    keeps only sentences whose topic fit (:func:`bot.relevance.topic_fit`) reaches
    ``relevance_floor``.
    """

    damping: float = 0.15
    lead: float = 1.0
    paragraph_lead: float = 1.0
    subject: float = 0.15
    subject_window: int = 3
    topic: float = 2.0
    max_overlap: float = 0.7
    dangling: float = 0.5
    min_words: int = 4
    max_candidates: int = 400
    topic_passages: int = 40
    lead_sentences: int = 2
    relevance_floor: float = RELEVANCE_FLOOR
    weights: Weights = DEFAULT_WEIGHTS


DEFAULT_PARAMS = SummaryParams()


# Sentences that open by pointing back ("This stance...", "He said...") read badly out of context.
_DANGLING = re.compile(
    r"^[\"“‘'(]*(?:This|These|That|Those|It|He|She|They|Such|Its|His|Her|Their)\b(?!\s+(?:is|was)\s+(?:a|an|the)\b)"
)


def word_count(text: str) -> int:
    """Words as counted for budgets: whitespace-separated pieces."""
    return len(text.split())


def trim_to_words(text: str, budget: int) -> str:
    """``text`` cut to at most ``budget`` words at a word boundary, ending with "…" when cut."""
    words = text.split()
    if len(words) <= budget:
        return text
    if budget <= 0:
        return ""
    kept = " ".join(words[:budget]).rstrip(",;:-–—(\"“‘'")
    return kept + ELLIPSIS


# ------------------------------------------------------------------------------------- candidates


@dataclass(frozen=True)
class Candidate:
    """A sentence that may be quoted: its text, passage, place in its document, and its terms."""

    text: str
    passage: Passage
    position: int  # sentence number within the document, 0-based
    first_in_paragraph: bool
    terms: tuple[str, ...]
    words: int

    @property
    def key(self) -> tuple[str, int, int]:
        """Sort key for original order: document, paragraph, position."""
        return (self.passage.document.id, self.passage.paragraph, self.position)


def document_candidates(doc: Document, passages: Sequence[Passage], analyzer: Analyzer) -> list[Candidate]:
    """Every sentence of ``doc`` (its passages in order) as a candidate."""
    out: list[Candidate] = []
    position = 0
    for passage in passages:
        for i, sentence in enumerate(split_sentences(passage.text)):
            out.append(
                Candidate(sentence, passage, position, i == 0, tuple(analyzer.analyze(sentence)), word_count(sentence))
            )
            position += 1
    return out


# --------------------------------------------------------------------------------------- scoring


def lexrank(sim: np.ndarray, damping: float) -> np.ndarray:
    """Continuous LexRank: stationary distribution of the damped random walk on ``sim``, max 1
    (:func:`bot.salience.pagerank`, the same walk)."""
    return pagerank(sim, damping)


def _bm25_sentences(
    cands: Sequence[Candidate], query: Sequence[str], idf: Callable[[str], float], bm25: BM25Params
) -> np.ndarray:
    """BM25 (the configured ``k1`` and ``b``) of the query terms against each sentence, with the corpus IDF."""
    lengths = np.array([max(len(c.terms), 1) for c in cands], dtype=np.float64)
    avg = lengths.mean() if len(cands) else 1.0
    scores = np.zeros(len(cands))
    k1, b = bm25.k1, bm25.b
    for term in set(query):
        weight = max(idf(term), 0.0)
        tf = np.array([c.terms.count(term) for c in cands], dtype=np.float64)
        scores += weight * tf * (k1 + 1) / (tf + k1 * (1 - b + b * lengths / avg))
    return scores


@dataclass
class Scored:
    """Candidates with their scores and pairwise similarity."""

    cands: list[Candidate]
    scores: np.ndarray
    sim: np.ndarray


def score_candidates(
    cands: list[Candidate],
    idf: Callable[[str], float],
    params: SummaryParams = DEFAULT_PARAMS,
    subject_terms: Sequence[str] = (),
    query: Sequence[str] = (),
    bm25: BM25Params | None = None,
) -> Scored:
    """Score sentences by centrality, subject similarity, lead position and topic relevance.

    ``bm25``: the index's BM25 parameters, used for the topic relevance of each sentence (needed
    with ``query``).
    """
    if not cands:
        return Scored([], np.zeros(0), np.zeros((0, 0)))
    sent = term_vectors([c.terms for c in cands], idf)
    sim = sent @ sent.T
    scores = lexrank(sim, params.damping)
    paragraphs = np.array([c.passage.paragraph for c in cands], dtype=np.float64)
    scores = scores + params.lead / np.sqrt(paragraphs)
    scores = scores + params.paragraph_lead * np.array([c.first_in_paragraph for c in cands], dtype=np.float64)
    subject = set(subject_terms)
    if subject:
        opens = np.array([bool(subject.intersection(c.terms[: params.subject_window])) for c in cands])
        scores = scores + params.subject * opens
    if query:
        if bm25 is None:
            raise ValueError("score_candidates: a query needs the index's BM25 parameters (bm25=...)")
        relevance = _bm25_sentences(cands, query, idf, bm25)
        if relevance.max() > 0:
            scores = scores + params.topic * relevance / relevance.max()
    dangling = np.array([bool(_DANGLING.match(c.text)) for c in cands], dtype=np.float64)
    scores = scores - params.dangling * dangling
    # Too short to quote, or a list or table row: never chosen while a real sentence is left.
    unusable = np.array([c.words < params.min_words or not c.terms or looks_like_list(c.text) for c in cands])
    scores = np.where(unusable, scores - 100.0, scores)
    return Scored(cands, scores, sim)


def select(scored: Scored, budget: int, params: SummaryParams = DEFAULT_PARAMS, overflow: bool = False) -> list[int]:
    """Greedy MMR: best-scored sentences that fit the word budget, skipping near-duplicates.

    With ``overflow`` the last sentence may cross the budget (for callers that truncate, like the
    benchmark); otherwise sentences that do not fit are passed over. Returns candidate indexes.
    """
    order = np.argsort(-scored.scores, kind="stable")
    chosen: list[int] = []
    used = 0
    for i in order:
        i = int(i)
        if used >= budget:
            break
        cand = scored.cands[i]
        if scored.scores[i] < -50 and chosen:
            break
        if chosen and scored.sim[i, chosen].max() > params.max_overlap:
            continue
        if used + cand.words > budget and not overflow:
            continue
        chosen.append(i)
        used += cand.words
    return chosen


# ---------------------------------------------------------------------------------------- engine


@dataclass
class SummaryCache:
    """One engine's summary work, kept by the engine (``Engine.summary_cache``) and dropped with it:
    each document's sentence candidates and, for the default parameters, the scored sentences."""

    candidates: dict[str, list[Candidate]] = field(default_factory=dict)
    scored: dict[str, Scored] = field(default_factory=dict)
    features: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # salience features, sim
    topics: list[Topic] | None = None  # the corpus's topics, found on the first overview


def _cache(engine: Engine) -> SummaryCache:
    """The engine's own summary cache."""
    return engine.summary_cache


def _doc_candidates(engine: Engine, doc: Document) -> list[Candidate]:
    cache = _cache(engine)
    cands = cache.candidates.get(doc.id)
    if cands is None:
        cands = cache.candidates[doc.id] = document_candidates(doc, engine.passages_of(doc.id), engine.analyzer)
    return cands


def _title_terms(engine: Engine, doc: Document) -> list[str]:
    return engine.analyzer.analyze(doc.title)


def _budget(engine: Engine, length: str, max_words: int | None) -> int:
    if max_words is not None:
        if max_words < 1:
            raise SummaryError(f"max_words must be at least 1, not {max_words}")
        return max_words
    if length not in LENGTHS:
        raise SummaryError(f"unknown length {length!r}; use one of: {', '.join(LENGTHS)}")
    settings = engine.settings.summaries
    return {"short": settings.short_words, "medium": settings.medium_words, "long": settings.long_words}[length]


def _build(scope: str, scored: Scored, chosen: list[int], budget: int, doc_order: Sequence[str]) -> Summary:
    """Order the chosen sentences (documents in ``doc_order``, sentences in original order) and cite them."""
    rank = {d: i for i, d in enumerate(doc_order)}
    picked = sorted((scored.cands[i] for i in chosen), key=lambda c: (rank.get(c.passage.document.id, 1 << 30), c.key))
    out: list[SummarySentence] = []
    used = 0
    for cand in picked:
        text = cand.text
        if used + cand.words > budget:  # only the single best sentence when nothing fits whole
            text = trim_to_words(text, budget - used)
            if not text:
                break
        doc = cand.passage.document
        out.append(SummarySentence(text, doc.id, doc.title, cand.passage.paragraph, doc.source, doc.url))
        used += word_count(text)
    return Summary(scope, tuple(out), used, budget)


def _choose(scored: Scored, budget: int, params: SummaryParams) -> list[int]:
    chosen = select(scored, budget, params)
    if not chosen and scored.cands:  # not one whole sentence fits: trim the best one
        chosen = [int(np.argmax(scored.scores))]
    return chosen


def summarize(
    engine: Engine,
    document: str | None = None,
    topic: str | None = None,
    length: str = "medium",
    max_words: int | None = None,
    params: SummaryParams = DEFAULT_PARAMS,
) -> Summary:
    """Summarise one document (``document``), a topic across the corpus (``topic``), or the corpus.

    ``length`` picks the word budget from ``settings.summaries`` (short/medium/long); ``max_words``
    overrides it. With both ``document`` and ``topic``, the topic's sentences within that document.
    Raises :class:`SummaryError` for an unknown document, length or budget; a topic the corpus
    says nothing about gives an empty summary whose ``message`` says so.
    """
    budget = _budget(engine, length, max_words)
    doc: Document | None = None
    if document is not None:
        doc = engine.corpus.document(document)
        if doc is None:
            known = [d.id for d in engine.corpus.documents]
            shown = ", ".join(known[:10]) + (f", … ({len(known)} in all)" if len(known) > 10 else "")
            raise SummaryError(f"no document {document!r}; known: {shown or 'none (the corpus is empty)'}")
    idf = engine.index.idf_of
    if topic is not None and topic.strip():
        return _topic_summary(engine, topic.strip(), doc, budget, params)
    if doc is not None:
        return _document_summary(engine, doc, budget, params)
    return _corpus_summary(engine, budget, params, idf)


def document_features(
    engine: Engine, doc: Document, params: SummaryParams = DEFAULT_PARAMS
) -> tuple[list[Candidate], np.ndarray, np.ndarray]:
    """The document's sentences, their salience features (:func:`bot.salience.features`) and cosine matrix.

    Cached per engine (for the default ``damping`` and ``subject_window``).
    """
    cache = _cache(engine)
    cands = _doc_candidates(engine, doc)
    cacheable = params.damping == DEFAULT_PARAMS.damping and params.subject_window == DEFAULT_PARAMS.subject_window
    cached = cache.features.get(doc.id) if cacheable else None
    if cached is None:
        idf = engine.index.idf_of
        vectors = term_vectors([c.terms for c in cands], idf)
        sim = vectors @ vectors.T
        facts = [
            SentenceFacts(c.text, c.terms, c.words, c.passage.paragraph, c.first_in_paragraph, c.position)
            for c in cands
        ]
        feats = salience_features(facts, sim, params.damping, _title_terms(engine, doc), params.subject_window, idf)
        cached = (feats, sim)
        if cacheable:
            cache.features[doc.id] = cached
    return cands, cached[0], cached[1]


def rank_document(
    engine: Engine, doc: Document, params: SummaryParams = DEFAULT_PARAMS, budget: int | None = None
) -> Scored:
    """The scored sentences of one document for a summary of ``budget`` words (default: medium).

    Salience weights are mixed for the share of the document the budget keeps
    (:func:`bot.salience.coverage_mix`); sentences too short to quote sink to the bottom.
    """
    cands, feats, sim = document_features(engine, doc, params)
    if not cands:
        return Scored([], np.zeros(0), np.zeros((0, 0)))
    if budget is None:
        budget = engine.settings.summaries.medium_words
    mix = coverage_mix(budget, sum(c.words for c in cands))
    scores = feats @ params.weights.for_document(mix)
    # Too short to quote, or a list or table row: never chosen while a real sentence is left.
    unusable = np.array([c.words < params.min_words or not c.terms or looks_like_list(c.text) for c in cands])
    return Scored(cands, np.where(unusable, scores - 100.0, scores), sim)


def _document_summary(engine: Engine, doc: Document, budget: int, params: SummaryParams) -> Summary:
    scope = f"document:{doc.id}"
    scored = rank_document(engine, doc, params, budget)
    if not scored.cands:
        return Summary.empty(scope, "That document has no text to summarise.", budget)
    return _build(scope, scored, _choose(scored, budget, params), budget, [doc.id])


def _topic_summary(engine: Engine, topic: str, doc: Document | None, budget: int, params: SummaryParams) -> Summary:
    scope = f"topic:{topic}" if doc is None else f"topic:{topic}@document:{doc.id}"
    query = parse_topic(topic, engine.analyzer, engine.index.idf_of)
    terms = engine.analyzer.analyze(topic)
    if not terms:
        return Summary.empty(scope, f"{NOTHING_ON_TOPIC} (the topic has no searchable words)", budget)
    index = engine.index
    # The topic's information (IDF mass) the corpus has: words it never saw count as the rarest.
    unique = list(dict.fromkeys(terms))
    total = sum(index.idf_of(t) for t in unique)
    present = [t for t in unique if index.contains(t)]
    if not present or sum(index.idf_of(t) for t in present) < 0.5 * total:
        missing = list(
            dict.fromkeys(topic[t.start : t.end] for t in engine.analyzer.tokens(topic) if not index.contains(t.term))
        )
        return Summary.empty(scope, f"{NOTHING_ON_TOPIC} (no mention of: {', '.join(missing)})", budget)
    exclude = None
    if doc is not None:
        exclude = np.ones(len(engine.passages), dtype=bool)
        exclude[list(engine.positions_of(doc.id))] = False
    top = index.top(present, params.topic_passages, exclude)
    passages = engine.corpus.passages
    cands: list[Candidate] = []
    cache = _cache(engine)
    for pid, _ in top:
        passage = passages[pid]
        doc_cands = cache.candidates.get(passage.document.id)
        if doc_cands is not None:
            cands.extend(c for c in doc_cands if c.passage.paragraph == passage.paragraph)
        else:  # only this paragraph's sentences (position within the paragraph keeps the order)
            cands.extend(document_candidates(passage.document, [passage], engine.analyzer))
    present_set = set(present)
    cands = [c for c in cands if present_set.intersection(c.terms)][: params.max_candidates]
    # On topic only: the topic's words together (or its name), written as the topic means them.
    fit = np.array(topic_fit(query, [(c.passage.document.id, c.text) for c in cands], engine.analyzer))
    keep = np.flatnonzero(fit >= params.relevance_floor)
    cands, fit = [cands[i] for i in keep], fit[keep]
    if not cands:
        return Summary.empty(scope, NOTHING_ON_TOPIC, budget)
    scored = score_candidates(cands, index.idf_of, params, present, query=present, bm25=index.params)
    scored.scores = scored.scores + params.topic * fit
    chosen = _choose(scored, budget, params)
    order: list[str] = []
    for i in sorted(chosen, key=lambda i: -scored.scores[i]):
        doc_id = scored.cands[i].passage.document.id
        if doc_id not in order:
            order.append(doc_id)
    return _build(scope, scored, chosen, budget, order)


def _corpus_summary(engine: Engine, budget: int, params: SummaryParams, idf: Callable[[str], float]) -> Summary:
    """An overview: by topic on a mixed corpus; otherwise every sentence of a small corpus, or the
    leads of the most typical documents of a big one."""
    scope = "corpus"
    cache = _cache(engine)
    if cache.topics is None:
        cache.topics = find_topics(engine.corpus, engine.index, engine.analyzer)
    if len(cache.topics) >= 2:
        overview = _topic_overview(engine, cache.topics, budget, params)
        if overview is not None:
            return overview
    scored = cache.scored.get("\0corpus") if params is DEFAULT_PARAMS else None
    if scored is None:
        scored = score_candidates(_corpus_candidates(engine, params), idf, params)
        if params is DEFAULT_PARAMS:
            cache.scored["\0corpus"] = scored
    if not scored.cands:
        return Summary.empty(scope, "The corpus is empty.", budget)
    chosen = _choose(scored, budget, params)
    return _build(scope, scored, chosen, budget, [d.id for d in engine.corpus.documents])


def _topic_overview(engine: Engine, topics: Sequence[Topic], budget: int, params: SummaryParams) -> Summary | None:
    """One or two cited opening sentences per main topic, largest first; None when no sentence fits."""
    picked = pick_overview(engine.corpus, topics, engine.analyzer, budget, min_words=params.min_words)
    if not picked:
        return None
    sentences: list[SummarySentence] = []
    sections: list[SummarySection] = []
    for number, passage, text in picked:
        doc = passage.document
        if not sections or sections[-1].name != topics[number].name:
            sections.append(SummarySection(topics[number].name, topics[number].size, ()))
        last = sections[-1]
        sections[-1] = SummarySection(last.name, last.documents, (*last.sentences, len(sentences)))
        sentences.append(SummarySentence(text, doc.id, doc.title, passage.paragraph, doc.source, doc.url))
    words = sum(word_count(s.text) for s in sentences)
    return Summary("corpus", tuple(sentences), words, budget, None, tuple(sections))


def _corpus_candidates(engine: Engine, params: SummaryParams) -> list[Candidate]:
    """Sentences for the overview, at most ``max_candidates`` of them, read without touching the rest.

    Small corpus (about ``max_candidates`` sentences or fewer): all sentences. Otherwise the first
    ``lead_sentences`` sentences of paragraph 1 of each document; with more documents than fit,
    only those whose paragraph 1 is most typical of the corpus (BM25 weight of its terms times
    their document frequency, computed from the index postings in one pass).
    """
    corpus, index = engine.corpus, engine.index
    documents = corpus.documents
    if len(corpus.passages) * 4 <= params.max_candidates:
        return [c for d in documents for c in _doc_candidates(engine, d)]
    first = np.flatnonzero(corpus.paragraph_numbers() == 1).tolist()  # no Passage built for the others
    limit = max(1, params.max_candidates // max(params.lead_sentences, 1))
    if len(first) > limit and index.n_docs:
        typical = index.passage_weight_mass()
        first_arr = np.array(first)
        keep = np.argsort(-typical[first_arr], kind="stable")[:limit]
        first = sorted(int(i) for i in first_arr[keep])
    out: list[Candidate] = []
    for pid in first:
        passage = corpus.passages[pid]
        sentences = split_sentences(passage.text)[: params.lead_sentences]
        for i, sentence in enumerate(sentences):
            terms = tuple(engine.analyzer.analyze(sentence))
            out.append(Candidate(sentence, passage, i, i == 0, terms, word_count(sentence)))
    return out
