"""Whether the corpus answers a question: question-level signals and the logistic model over them.

The engine abstains rather than quote the nearest passage as if it answered: its confidence is a
logistic model (0..1) over six of the question's :class:`Signals` (:data:`CONFIDENCE_FEATURES`:
the best passage's and best sentence's share of the question's information, the largest share one
missing term holds, how much more the ranking favours the best document than chance, the
question's information and 1 / its terms), compared with ``answers.min_confidence``; 0.5 is the
operating point it was fitted for (88% of answerable SQuAD questions answered on the fitting fold).
Below it, from ``answers.min_related`` (0.1) on, the best passage is the closest related text. The
coefficients (:data:`DEFAULT_MODEL`) are fitted by ``python -m benchmarks.quality`` on several
collections and corpus sizes (see :mod:`benchmarks.abstention`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import astuple, dataclass, fields
from typing import Any

import numpy as np

from bot.answering.query import Query
from bot.answering.rerank import FEATURES, RERANK_DEPTH, Candidate
from bot.corpus import Passage, PassageSequence
from bot.search import BM25Index
from bot.semantic import COSINE_FEATURES

# How many of BM25's best passages the query-performance signals look at.
QPP_DEPTH = 10


@dataclass(frozen=True)
class Signals:
    """A question's signals, from BM25's hits and the reranked candidates (see :meth:`SignalReader.read`).

    * the best reranked passage's own features: ``coverage``, ``sentence``, ``document``, ``bm25``;
    * query-performance prediction over BM25's top ``QPP_DEPTH``: ``nqc`` (standard deviation of
      the scores / the question's ceiling), ``wig`` ((mean score - a random passage's expected
      score) / ceiling / sqrt(terms)), ``clarity`` (KL divergence, over the question's terms, of
      "in a top-k passage" vs "in any"), ``ratio`` (k-th score / first), ``same_doc`` (share of
      the top k from the best passage's document), ``doc_share`` (share of the ``RERANK_DEPTH``
      candidates' BM25 mass that the best passage's document holds);
    * term-level: ``rare_idf`` (the rarest term's IDF / an unseen term's), ``rare_passage`` /
      ``rare_document`` (whether the best passage / its document has that term),
      ``full_document`` (share of the question's IDF mass anywhere in the best passage's
      document), ``specific_passage`` / ``specific_document`` (how many specific terms -- rarer
      than the median term, or capitalised mid-question -- the best passage / its document
      lacks), ``oov`` (question terms the corpus has never seen);
    * how much the question says: ``mass`` (its IDF mass / an unseen term's IDF), ``terms`` (its
      distinct terms), ``terms_inv`` (1 / terms: a question of one or two words matches by chance);
    * evidence (issue 10): ``missing_max`` (the largest share of the question's IDF mass held by one
      term the best passage lacks: the fact it asks about is not there), ``doc_lift`` (``doc_share``
      minus the best document's share of all passages: how much more the ranking favours that
      document than chance would; 0 on a one-document corpus, so it reads the same at any size).
    """

    coverage: float
    sentence: float
    document: float
    bm25: float
    nqc: float
    wig: float
    clarity: float
    ratio: float
    same_doc: float
    doc_share: float
    rare_idf: float
    rare_passage: float
    rare_document: float
    full_document: float
    specific_passage: float
    specific_document: float
    oov: float
    mass: float
    terms: float
    terms_inv: float = 0.0
    missing_max: float = 0.0
    doc_lift: float = 0.0

    def as_tuple(self) -> tuple[float, ...]:
        """The values in :data:`SIGNALS` order (for benchmark arrays)."""
        return astuple(self)

    def as_dict(self) -> dict[str, float]:
        """Signal name -> value."""
        return {name: getattr(self, name) for name in SIGNALS}


#: Every signal's name, in :class:`Signals` field order.
SIGNALS: tuple[str, ...] = tuple(f.name for f in fields(Signals))
# The signals the shipped abstention model reads: a name of SIGNALS, "a*b" (a product), or
# "a>k" (the hinge max(0, a - k), for a piecewise-linear effect). Each is a share or a ratio that
# reads the same at 9 passages and at 100,000 (no raw score, no doc_share: on a one-document corpus
# doc_share is always 1, so doc_lift replaces it).
CONFIDENCE_FEATURES = ("coverage", "sentence", "missing_max", "doc_lift", "mass", "terms_inv")


@dataclass(frozen=True)
class RankModel:
    """Coefficients of the reranker and of the abstention (confidence) model.

    ``rerank`` weighs the reranker's ``FEATURES`` (only differences between candidates matter, so
    there is no intercept). ``confidence`` is ``(intercept, *weights)`` of a logistic model over
    ``confidence_features`` (names built from :data:`SIGNALS`, see :func:`confidence_input`): the
    probability that the corpus answers the question.
    """

    rerank: tuple[float, ...]
    confidence: tuple[float, ...]
    confidence_features: tuple[str, ...] = CONFIDENCE_FEATURES


# Reranker: fitted by `python -m benchmarks.calibrate --fit-fold 0` on SQuAD v1.1 dev (first half),
# fold 0 = even-numbered articles. Confidence (issue 10): the logistic model over CONFIDENCE_FEATURES
# printed by `python -m benchmarks.quality` ("Model to ship"): fitted on fold 0 of SQuAD (own /
# other-article / own-paragraph-removed questions, and the first 2 and 6 articles alone), the BBC
# development half + the shipped article, and the off-topic set, each collection weighing the same;
# intercept shifted so that 0.5 answers 88% of fold 0's SQuAD questions. Held out (fold 1 / the
# summit sets), at 0.5: SQuAD own 0.896, other-article 0.039; off-topic 0.090 (SQuAD), 0.103 (BBC),
# 0.000 (shipped article); summit on-topic unanswerable 0.169; BBC answered from the right article
# 0.778 (fitting on fold 1 instead: 0.862 / 0.044 / 0.142 / 0.161 / 0.000 / 0.169 / 0.844).
DEFAULT_MODEL = RankModel(
    rerank=(2.358, 2.926, 2.325, 1.954, 0.944, 0.3, 2.448, 2.0),
    confidence=(-3.033, 3.739, 3.035, -0.041, 1.445, 0.075, -5.623),
    confidence_features=CONFIDENCE_FEATURES,
)


#: The confidence inputs with the semantic extra on: the lexical ones and the question's cosine
#: with the top passage, with its best sentence, and the best over the top 10 (bot.semantic).
SEMANTIC_CONFIDENCE_FEATURES = (*CONFIDENCE_FEATURES, *COSINE_FEATURES[:3])
# With the semantic extra (issue 17): the same logistic model refitted over SEMANTIC_CONFIDENCE_FEATURES
# by `python -m benchmarks.semantic --parts abstention` ("Semantic model to ship"): the collections and
# fitting of DEFAULT_MODEL (fold 0 of each, each collection weighing the same, intercept shifted so
# that 0.5 answers 88% of fold 0's SQuAD questions), collected by the engine with the extra on (its
# rerank at semantic.rerank_weight 1.0, cosines from models/minilm-static.npz). Held out, it is about
# even with the lexical model (README, "Semantic evidence (optional)"): at 0.5, fold 1 SQuAD own
# 0.835 / other 0.045 (lexical 0.832 / 0.039); summit paraphrases answered right 0.160 (0.080);
# summit direct 0.800 (0.867: "What did Guo Jiakun say?" drops to 0.32); unanswerable 0.183 (0.169).
SEMANTIC_MODEL = RankModel(
    rerank=DEFAULT_MODEL.rerank,
    confidence=(-4.301, 2.523, 2.293, -0.748, 0.826, -0.077, -4.791, 1.787, 1.979, 1.11),
    confidence_features=SEMANTIC_CONFIDENCE_FEATURES,
)


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


def confidence(model: RankModel, signals: Signals | None, extra: Mapping[str, float] | None = None) -> float:
    """Probability that the corpus answers the question: the logistic model over its signals
    (and ``extra`` named inputs, e.g. the semantic cosines)."""
    if signals is None:
        return 0.0
    named: dict[str, float] = signals.as_dict()
    if extra:
        named.update(extra)
    intercept, *coef = model.confidence
    inputs = (confidence_input(name, named) for name in model.confidence_features)
    x = intercept + sum(c * float(v) for c, v in zip(coef, inputs, strict=True))
    return _sigmoid(x)


class SignalReader:
    """Computes a question's :class:`Signals` from its top-k lists and the postings of its terms."""

    def __init__(
        self,
        passages: Sequence[Passage],
        index: BM25Index,
        passage_terms: Callable[[int], frozenset[str]],
    ) -> None:
        """``passage_terms(i)``: the distinct analysed terms of passage ``i``."""
        self.passages = passages
        self.index = index
        self.passage_terms = passage_terms
        # Each document's passages as runs of consecutive positions (one run when, as in a Corpus,
        # a document's passages are kept together), to ask the postings whether a document has a term.
        runs: dict[str, list[list[int]]] = {}
        if isinstance(passages, PassageSequence):  # a corpus's: the runs are its documents' ranges
            bounds = passages.store.doc_passages.tolist()
            for d, doc in enumerate(passages.documents):
                if bounds[d + 1] > bounds[d]:
                    runs.setdefault(doc.id, []).append([bounds[d], bounds[d + 1]])
        else:
            for i, passage in enumerate(passages):
                found = runs.setdefault(passage.document.id, [])
                if found and found[-1][1] == i:
                    found[-1][1] = i + 1
                else:
                    found.append([i, i + 1])
        self._doc_runs = {doc: tuple((a, b) for a, b in r) for doc, r in runs.items()}
        self.oov_idf = math.log(index.n_docs + 0.5) - math.log(0.5)

    def document_has(self, term: str, doc: str) -> bool:
        """Whether any passage of document ``doc`` contains ``term`` (binary search in its postings)."""
        docs, _ = self.index.postings(term)
        n = docs.size
        if n == 0:
            return False
        for a, b in self._doc_runs.get(doc, ()):
            k = int(np.searchsorted(docs, a))
            if k < n and docs[k] < b:
                return True
        return False

    def read(
        self,
        query: Query,
        hits: list[tuple[int, float]],
        candidates: Sequence[Candidate],
        present: Mapping[int, set[str] | frozenset[str]] | None = None,
    ) -> Signals | None:
        """The question's :class:`Signals`, from BM25's hits (in BM25 order) and the reranked
        candidates; None when nothing matched.

        Only the top-k lists, the question's terms and their postings are read: no corpus scan.
        ``present`` may give, for hit passages, the question terms each contains (or all its terms).
        """
        if not candidates or not hits:
            return None
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
        expected = sum(max(index.idf_of(t), 0.0) * index.df_of(t) / n for t in distinct)
        wig = (mean - expected) / ceiling / math.sqrt(max(len(weights), 1))

        def terms_of(i: int) -> set[str] | frozenset[str]:
            found = present.get(i) if present is not None else None
            return found if found is not None else self.passage_terms(i)

        sets = [terms_of(i) for i, _ in top]
        clarity = 0.0
        for t in distinct:
            p_top = (sum(t in s for s in sets) + 0.5) / (k + 1.0)
            p_all = (index.df_of(t) + 0.5) / (n + 1.0)
            clarity += p_top * math.log(p_top / p_all)
        clarity /= max(len(weights), 1)
        ratio = scores[-1] / scores[0] if scores[0] > 0 else 0.0
        same_doc = sum(self.passages[i].document.id == doc for i, _ in top) / k
        pool = hits[:RERANK_DEPTH]
        pool_mass = sum(max(s, 0.0) for _, s in pool)
        doc_mass = sum(max(s, 0.0) for i, s in pool if self.passages[i].document.id == doc)
        doc_share = doc_mass / pool_mass if pool_mass > 0 else 0.0
        best_terms = terms_of(best)
        in_doc = {t: t in best_terms or self.document_has(t, doc) for t in weights}
        rare = max(weights, key=lambda t: (weights[t], t))
        oov_idf = self.oov_idf
        rare_idf = weights[rare] / oov_idf if oov_idf > 0 else 0.0
        full_document = sum(w for t, w in weights.items() if in_doc[t]) / total
        specific_passage = sum(t not in best_terms for t in query.specific)
        specific_document = sum(not in_doc[t] for t in query.specific)
        oov = sum(not index.contains(t) for t in weights)
        missing = [w for t, w in weights.items() if t not in best_terms]
        held = sum(b - a for a, b in self._doc_runs.get(doc, ()))
        return Signals(
            coverage=feats[FEATURES.index("coverage")],
            sentence=feats[FEATURES.index("sentence")],
            document=feats[FEATURES.index("document")],
            bm25=feats[FEATURES.index("bm25")],
            nqc=nqc,
            wig=wig,
            clarity=clarity,
            ratio=ratio,
            same_doc=same_doc,
            doc_share=doc_share,
            rare_idf=rare_idf,
            rare_passage=float(rare in best_terms),
            rare_document=float(in_doc[rare]),
            full_document=full_document,
            specific_passage=float(specific_passage),
            specific_document=float(specific_document),
            oov=float(oov),
            mass=total / oov_idf if oov_idf > 0 else 0.0,
            terms=float(len(weights)),
            terms_inv=1.0 / max(len(weights), 1),
            missing_max=max(missing) / total if missing else 0.0,
            doc_lift=doc_share - held / max(len(self.passages), 1),
        )
