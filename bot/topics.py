"""The topics of a mixed corpus: documents grouped by their index term vectors, each group named and weighed.

Used by the corpus overview (``/summary`` with neither document nor topic): on a corpus of many
unrelated stories, one or two sentences per main topic say more than the six most "typical" leads.

How (no model, nothing downloaded; numpy over the BM25 index already built):

* **Document vectors**: each document is the sum of its passages' BM25 weight vectors
  (:meth:`~bot.search.BM25Index.term_postings`), over the terms found in at least two documents and
  at most half of them (the rest cannot separate groups), keeping the :data:`MAX_FEATURES` most
  frequent; rows are L2-normalised.
* **Grouping**: spherical k-means (cosine), k-means++ seeding from fixed seeds (on a small corpus
  the most cohesive of :data:`RESTARTS` runs) so a corpus always gets the same topics; ``k`` is a third of the
  documents, 2 to :data:`MAX_TOPICS`. A group of one or two documents is not a topic; they are left out.
* **Recency**: with ``published`` dates, a document published ``age`` days before the newest one
  weighs ``0.5 ** (age / HALF_LIFE_DAYS)`` (undated ones weigh as the median dated one); the weights order the
  topics (weighted size, largest first) and pick their representatives; they do not shape the groups
  (an old story still joins its subject).
* **Name**: the topic's top centroid terms as they are written in the titles of its
  :data:`NAMING_TITLES` documents nearest the centroid (up to three words; a term no title holds
  as written in its representatives' opening paragraphs, else left out; terms found in more than 30 % of all
  documents (such as "says") name nothing).
* **Representatives**: its documents nearest the centroid, the cosine scaled by ``0.5 + 0.5 *
  recency`` so that a newer story speaks for its topic before an equally close older one.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bot.analysis import Analyzer
from bot.corpus import Corpus, Passage
from bot.salience import DANGLING
from bot.search import BM25Index
from bot.sentences import looks_like_list, split_sentences

MAX_FEATURES = 1000
MAX_TOPICS = 12
MIN_DOCUMENTS = 6  # fewer documents than this are not grouped: the overview reads them all
HALF_LIFE_DAYS = 30.0
RESTARTS = 3  # k-means runs from different seeds on a small corpus; the most cohesive grouping is kept
RESTART_LIMIT = 300  # above this many documents one run (k-means++ seeding is reliable there, and time counts)
NAMING_TITLES = 25
REPRESENTATIVES = 5  # documents per topic whose opening sentences may speak for it
TOPIC_TERMS = 30
NAME_MAX_SHARE = 0.3  # a topic is named from the titles of its documents nearest the centroid


@dataclass(frozen=True)
class Topic:
    """A group of documents: its name, the documents (corpus order indexes) and their total recency weight."""

    name: str
    documents: tuple[int, ...]
    weight: float
    representatives: tuple[int, ...]  # documents nearest the centroid (newer ones first among near equals)
    terms: tuple[tuple[str, float], ...] = ()  # the centroid's heaviest terms and their weights

    @property
    def size(self) -> int:
        """How many documents the topic holds."""
        return len(self.documents)


def recency_weights(published: Sequence[str | None], half_life: float = HALF_LIFE_DAYS) -> np.ndarray:
    """Per-document weights from ``published`` dates: 1 for the newest, halving every ``half_life`` days.

    Undated documents (or unreadable dates) weigh as the median dated document; with no dates at
    all every document weighs 1.
    """
    days: list[float | None] = []
    for value in published:
        day = None
        if value:
            try:
                day = dt.date.fromisoformat(value[:10]).toordinal()
            except ValueError:
                day = None
        days.append(day)
    known = [d for d in days if d is not None]
    if not known:
        return np.ones(len(published))
    newest = max(known)
    weights = np.array([0.5 ** ((newest - d) / half_life) if d is not None else math.nan for d in days])
    median = float(np.nanmedian(weights))
    return np.where(np.isnan(weights), median, weights)


def document_vectors(corpus: Corpus, index: BM25Index) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """L2-normalised document x feature-term matrix (float32), the term id and document frequency of each column."""
    n_docs = len(corpus.documents)
    doc_of_passage = np.asarray(corpus.store.passage_doc, dtype=np.int64)
    passages, terms, weights = index.term_postings()
    if passages.size == 0 or n_docs == 0:
        return np.zeros((n_docs, 0), dtype=np.float32), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    docs = doc_of_passage[passages]
    n_terms = int(terms.max()) + 1
    # Document frequency of each term: distinct (term, document) pairs. Postings are sorted by term,
    # then passage, and a document's passages are consecutive, so equal pairs are adjacent.
    keys = terms.astype(np.int64) * n_docs + docs
    first = np.ones(keys.size, dtype=bool)
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    doc_freq = np.bincount(terms[first], minlength=n_terms)
    usable = np.flatnonzero((doc_freq >= 2) & (doc_freq <= max(2, n_docs // 2)))
    if usable.size > MAX_FEATURES:
        usable = usable[np.argsort(-doc_freq[usable], kind="stable")[:MAX_FEATURES]]
        usable.sort()
    column = np.full(n_terms, -1, dtype=np.int64)
    column[usable] = np.arange(usable.size)
    cols = column[terms]
    keep = cols >= 0
    width = max(usable.size, 1)
    cells = np.bincount(docs[keep] * width + cols[keep], weights=weights[keep], minlength=n_docs * width)
    matrix = cells.reshape(n_docs, width).astype(np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return matrix / norms, usable, doc_freq[usable]


def spherical_kmeans(
    vectors: np.ndarray, k: int, weights: np.ndarray, seed: int = 0, iterations: int = 20
) -> tuple[np.ndarray, np.ndarray]:
    """Cluster unit rows by cosine: labels per row and unit centroids; k-means++ seeding from ``seed``."""
    n = vectors.shape[0]
    rng = np.random.default_rng(seed)
    k = max(1, min(k, n))
    centers = [int(np.argmax(weights))]  # the newest (or first) document starts the seeding
    closest = 1.0 - vectors @ vectors[centers[0]]
    for _ in range(1, k):
        p = np.maximum(closest, 0.0) * weights
        total = p.sum()
        nxt = int(rng.choice(n, p=p / total)) if total > 0 else int(rng.integers(n))
        centers.append(nxt)
        closest = np.minimum(closest, 1.0 - vectors @ vectors[nxt])
    centroids = vectors[centers].copy()
    weighted = vectors * weights[:, None].astype(vectors.dtype)
    labels = np.full(n, -1)
    for _ in range(iterations):
        new = np.argmax(vectors @ centroids.T, axis=1)
        if np.array_equal(new, labels):
            break
        labels = new
        order = np.argsort(labels, kind="stable")
        present, starts = np.unique(labels[order], return_index=True)
        sums = np.add.reduceat(weighted[order], starts, axis=0)
        norms = np.linalg.norm(sums, axis=1)
        filled = norms > 0
        centroids[present[filled]] = sums[filled] / norms[filled, None]
    return labels, centroids


def _cohesion(vectors: np.ndarray, weights: np.ndarray, labels: np.ndarray, centroids: np.ndarray) -> float:
    """Weighted sum of each document's cosine with its own centroid: higher is a tighter grouping."""
    return float((np.einsum("ij,ij->i", vectors, centroids[labels]) * weights).sum())


def topic_count(n_docs: int) -> int:
    """How many groups to look for in a corpus of ``n_docs`` documents."""
    return max(2, min(MAX_TOPICS, n_docs // 3))


def find_topics(corpus: Corpus, index: BM25Index, analyzer: Analyzer, seed: int = 0) -> list[Topic]:
    """The corpus's topics, largest (recency-weighted) first; empty for fewer than :data:`MIN_DOCUMENTS` documents."""
    documents = corpus.documents
    if len(documents) < MIN_DOCUMENTS:
        return []
    vectors, columns, column_df = document_vectors(corpus, index)
    if vectors.shape[1] <= 1:
        return []
    weights = recency_weights([d.published for d in documents])
    k = topic_count(len(documents))
    even = np.ones(len(documents))  # recency orders topics, it does not shape them
    restarts = RESTARTS if len(documents) <= RESTART_LIMIT else 1
    runs = [spherical_kmeans(vectors, k, even, seed + run) for run in range(restarts)]
    labels, centroids = max(runs, key=lambda run: _cohesion(vectors, even, *run))
    names = index.term_names()
    topics = []
    for c in range(centroids.shape[0]):
        members = np.flatnonzero(labels == c)
        if members.size < 3:
            continue
        closeness = vectors[members] @ centroids[c]
        order = members[np.argsort(-(closeness * (0.5 + 0.5 * weights[members])), kind="stable")]
        heaviest = [int(i) for i in np.argsort(-centroids[c])[:TOPIC_TERMS] if centroids[c][i] > 0]
        top_terms = [names[int(columns[i])] for i in heaviest]
        # A name uses distinctive words: not those in more than NAME_MAX_SHARE of all documents ("says").
        naming = [names[int(columns[i])] for i in heaviest if column_df[i] <= NAME_MAX_SHARE * len(documents)]
        name = _topic_name(
            naming[:12],
            [documents[i].title for i in order[:NAMING_TITLES]],
            [documents[i].paragraphs[0] for i in order[:REPRESENTATIVES] if documents[i].paragraphs],
            analyzer,
        )
        topics.append(
            Topic(
                name,
                tuple(int(i) for i in members),
                float(weights[members].sum()),
                tuple(int(i) for i in order[:REPRESENTATIVES]),
                tuple((t, float(centroids[c][i])) for t, i in zip(top_terms, heaviest, strict=True)),
            )
        )
    topics.sort(key=lambda t: (-t.weight, -t.size, t.documents[0]))
    return topics


def _surfaces(texts: Sequence[str], analyzer: Analyzer) -> dict[str, Counter[str]]:
    """term -> how often each written form of it occurs in ``texts``."""
    surface: dict[str, Counter[str]] = {}
    for text in texts:
        for token in analyzer.tokens(text):
            surface.setdefault(token.term, Counter())[text[token.start : token.end]] += 1
    return surface


def _topic_name(
    top_terms: Sequence[str], titles: Sequence[str], openings: Sequence[str], analyzer: Analyzer, words: int = 3
) -> str:
    """Up to ``words`` of the topic's top terms as written: in its titles first, else in its opening paragraphs.

    Terms in the titles come first (in centroid order); terms written in neither are left out
    (their stems only when no term is found at all); a possessive "'s" is dropped.
    """
    in_titles = _surfaces(titles, analyzer)
    picked = [in_titles[t].most_common(1)[0][0] for t in top_terms if t in in_titles][:words]
    if len(picked) < words:
        in_openings = _surfaces(openings, analyzer)
        rest = [t for t in top_terms if t not in in_titles]
        picked += [in_openings[t].most_common(1)[0][0] for t in rest if t in in_openings][: words - len(picked)]
    if not picked:  # no term written anywhere we looked: the stems are still readable
        picked = list(top_terms[:words])
    cleaned = (re.sub(r"['’]s$", "", p) for p in picked)  # "Japan's" names the topic as "japan"
    return ", ".join(dict.fromkeys(p.lower() if not p.isupper() else p for p in cleaned))


def pick_overview(
    corpus: Corpus,
    topics: Sequence[Topic],
    analyzer: Analyzer,
    budget: int,
    per_topic: int = 2,
    min_words: int = 4,
) -> list[tuple[int, Passage, str]]:
    """Sentences for an overview: (topic number, passage, sentence), at most ``per_topic`` per topic.

    Each topic speaks through the opening sentences (first two of paragraph 1) of its
    representatives; the one that carries most of the topic's heaviest terms is taken. The first
    pass gives every topic one sentence, largest topic first, while the budget lasts (a topic whose
    sentences do not fit is passed over); a second pass adds a second sentence, from another
    document, in the same order. Lists, table rows, sentences pointing back ("He said...") and
    fragments ending in "..." are never taken. The result is in topic order.
    """
    options: list[list[tuple[float, Passage, str]]] = []
    for topic in topics:
        weight = dict(topic.terms)
        found = []
        for doc_index in topic.representatives:
            doc = corpus.documents[doc_index]
            if not doc.paragraphs:
                continue
            passage = Passage(doc, 1, doc.paragraphs[0])
            for sentence in split_sentences(passage.text)[:2]:
                if (
                    len(sentence.split()) < min_words
                    or looks_like_list(sentence)
                    or DANGLING.match(sentence)
                    or sentence.rstrip("\"”’' ").endswith(("...", "…"))  # a fragment cut short
                ):
                    continue
                terms = set(analyzer.analyze(sentence))
                score = sum(weight.get(t, 0.0) for t in terms) / math.sqrt(len(terms) or 1)
                found.append((score, passage, sentence))
        found.sort(key=lambda item: -item[0])
        options.append(found)
    chosen: dict[int, list[tuple[Passage, str]]] = {}
    used = 0
    for round_ in range(per_topic):
        for number, found in enumerate(options):
            taken = chosen.setdefault(number, [])
            if len(taken) != round_:
                continue
            docs_taken = {p.document.id for p, _ in taken}
            for _, passage, sentence in found:
                words = len(sentence.split())
                if passage.document.id in docs_taken or used + words > budget:
                    continue
                taken.append((passage, sentence))
                used += words
                break
    return [(number, passage, sentence) for number in sorted(chosen) for passage, sentence in chosen[number]]
