"""Why the engine answered as it did (``summitbot ask --explain``): a plain record, no formatting.

:func:`explain` re-runs the stages of :meth:`AnswerEngine.answer` on one question and keeps what each
saw: the analysed question (every word's term, the alias groups and stems applied, its weight), per
top passage the matched and missing terms and the evidence checks, the confidence model's inputs
with their contributions, the confidence, the verdict at the configured thresholds, and the stage
that decided it. :func:`bot.terminal.format_explanation` prints it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from bot.analysis import Analyzer, Token
from bot.answering.confidence import RankModel, Signals, confidence_input
from bot.answering.evidence import Evidence, read_evidence
from bot.answering.highlight import PassageTerms
from bot.answering.query import Query
from bot.answering.rerank import FEATURES, Candidate
from bot.answering.verdict import decide_verdict
from bot.corpus import Passage
from bot.search import BM25Index

# The shipped confidence inputs of a typical answered question (medians over the SQuAD dev half's
# questions asked of their own corpus, `python -m benchmarks.quality` runs): an explanation names the
# input that falls furthest below this, weighted by its coefficient.
TYPICAL = {
    "coverage": 0.795,
    "sentence": 0.714,
    "missing_max": 0.154,
    "doc_lift": 0.545,
    "mass": 2.757,
    "terms_inv": 0.2,
}


@dataclass(frozen=True)
class TermExplanation:
    """One analysed question term: the words it came from and how they were turned into it."""

    words: str  # as written in the question ("United States", "Ai")
    term: str  # the index term ("united", "~united_states", "endors")
    how: str  # "alias" (a group of names), "alias phrase", "stem", "name kept", "as written"
    weight: float  # its information weight (IDF; unseen terms weigh the most)
    in_corpus: bool


@dataclass(frozen=True)
class PassageExplanation:
    """One of the top passages: where it is, its scores, which question terms it has and lacks."""

    document: str
    title: str
    paragraph: int
    score: float  # reranked
    bm25: float
    features: dict[str, float]  # the reranker's features
    matched: tuple[str, ...]  # question terms the passage has
    missing: tuple[str, ...]  # question terms it lacks, most informative first
    evidence: Evidence


@dataclass(frozen=True)
class Explanation:
    """Everything :func:`explain` found for one question (see the module docstring)."""

    question: str
    terms: tuple[TermExplanation, ...]
    passages: tuple[PassageExplanation, ...]
    signals: dict[str, float]  # empty when nothing matched
    contributions: tuple[tuple[str, float, float], ...]  # (input, value, coefficient x value)
    intercept: float
    confidence: float
    min_confidence: float
    min_related: float
    verdict: str  # "answer", "closest" or "none"
    stage: str  # "analysis", "search" or "confidence": the stage that decided
    reason: str  # one sentence saying why


def verdict_of(confidence: float, min_confidence: float, min_related: float) -> str:
    """``answer`` at or above ``min_confidence``, ``closest`` at or above ``min_related``, else
    ``none``: the engine's own rule (:func:`bot.answering.verdict.decide_verdict`), for a question
    whose best passage exists."""
    return decide_verdict(confidence, True, min_confidence, min_related)


def _how(analyzer: Analyzer, token: Token, text: str) -> str:
    words = text[token.start : token.end]
    if token.term.startswith("~"):
        return "alias phrase" if " " in words.strip() else "alias"
    folded = words.casefold().replace("’", "'").removesuffix("'s")
    if token.term == folded.replace(".", "").replace("'", ""):
        return "name kept" if words[:1].isupper() and folded != analyzer.stem(folded) else "as written"
    return "stem"


def question_terms(analyzer: Analyzer, query: Query, index: BM25Index) -> tuple[TermExplanation, ...]:
    """The question's tokens as the analyzer read them, each with its term and weight."""
    out = []
    for token in analyzer.tokens(query.text):
        out.append(
            TermExplanation(
                words=query.text[token.start : token.end],
                term=token.term,
                how=_how(analyzer, token, query.text),
                weight=query.weights.get(token.term, 0.0),
                in_corpus=bool(index.contains(token.term)),
            )
        )
    return tuple(out)


def explain(
    query: Query,
    analyzer: Analyzer,
    index: BM25Index,
    passages: Sequence[Passage],
    candidates: Sequence[Candidate],
    passage_terms: Callable[[int], PassageTerms],
    document_has: Callable[[str, str], bool],
    signals: Signals | None,
    model: RankModel,
    confidence: float,
    min_confidence: float,
    min_related: float,
    extra: Mapping[str, float] | None = None,
) -> Explanation:
    """Put together the :class:`Explanation` of one ranked question (``candidates``: the top ones)."""
    terms = question_terms(analyzer, query, index)
    shown = []
    for c in candidates:
        passage = passages[c.passage]
        info = passage_terms(c.passage)
        doc = passage.document.id
        ev = read_evidence(query, analyzer, info, passage.text, c.best_sentence, lambda t, d=doc: document_has(t, d))
        have = info.term_set
        shown.append(
            PassageExplanation(
                document=doc,
                title=passage.document.title,
                paragraph=passage.paragraph,
                score=c.score,
                bm25=c.bm25,
                features=dict(zip(FEATURES, c.features, strict=True)),
                matched=tuple(t for t in query.weights if t in have),
                missing=ev.missing,
                evidence=ev,
            )
        )
    named = signals.as_dict() if signals is not None else {}
    if named and extra:
        named.update(extra)  # the semantic cosines, when the extra is on
    intercept, *coef = model.confidence
    contributions = tuple(
        (name, float(confidence_input(name, named)), c * float(confidence_input(name, named)))
        for name, c in zip(model.confidence_features, coef, strict=True)
        if named
    )
    verdict = verdict_of(confidence, min_confidence, min_related) if candidates else "none"
    if not query.terms:
        stage, reason = "analysis", "the question has no searchable words (only stopwords or symbols)"
    elif not candidates:
        stage, reason = "search", "no passage contains any of the question's terms"
    else:
        stage = "confidence"
        coefficients = dict(zip(model.confidence_features, coef, strict=True))
        weakest = (
            min(contributions, key=lambda c: c[2] - coefficients[c[0]] * TYPICAL.get(c[0], 0.0))[0]
            if contributions
            else "-"
        )
        if verdict == "answer":
            reason = f"confidence {confidence:.2f} reaches answers.min_confidence {min_confidence:.2f}"
        elif verdict == "closest":
            reason = (
                f"confidence {confidence:.2f} is below answers.min_confidence {min_confidence:.2f} but reaches "
                f"answers.min_related {min_related:.2f}; the input furthest below a typical answer: {weakest}"
            )
        else:
            reason = (
                f"confidence {confidence:.2f} is below answers.min_related {min_related:.2f}; "
                f"the input furthest below a typical answer: {weakest}"
            )
    return Explanation(
        question=query.text,
        terms=terms,
        passages=tuple(shown),
        signals=named,
        contributions=contributions,
        intercept=float(intercept),
        confidence=confidence,
        min_confidence=min_confidence,
        min_related=min_related,
        verdict=verdict,
        stage=stage,
        reason=reason,
    )
