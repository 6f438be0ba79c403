"""Answer quality: issue 10's targets on every collection, held out in both fold directions, with
the anchors measured in the same run.

Usage (from the repo root)::

    python -m benchmarks.quality [--data ../shared/data/squad-v1.1-dev.json] [--cache FILE]
                                 [--stemming light|snowball] [--names stem|protected|all] [--history]

By default it prints: the anchors; the analyzer variants (BM25 stage); the targets table (the
confidence model of :mod:`benchmarks.abstention` fitted on fold 0 and measured on fold 1, and the
reverse), beside the previous model; confidence across corpus sizes; the approaches table (each
input set fitted the same way); the thresholds table; the alias comparison; and the model to ship.
The collections are those of :mod:`benchmarks.targets`. ``--history`` prints the earlier
SQuAD-only study instead (below).

Closed pool: each article a document, each paragraph a passage; each question should retrieve its
own paragraph (R@1, R@5, MRR@10). "own answered" is the share of questions answered when asked of
the whole pool; "other answered" the share answered when each article's questions are asked of
the pool *without* that article (24 rebuilt leave-one-article-out indexes), where every answer is
wrong and a refusal is right. Fold 0 = even-numbered articles (where ``bot/answering/``'s
coefficients were fitted, see ``benchmarks/calibrate.py``), fold 1 = odd-numbered (held out).

Anchors (rank-bm25 ``BM25Okapi``, k1=1.5, b=0.75, its defaults):

* ``lower().split()`` tokens;
* ``\\w\\w+`` tokens, Lucene's 33 English stopwords, Snowball stemming (PyStemmer);
* the same with a plain normalised-score cut: top score / the largest top score over the pool's
  questions, the threshold set so that 96% of own questions are answered.

The abstention tables also measure :data:`EXTRA_SIGNALS` (answer type, question focus and phrase
match, evidence concentration, reranked / BM25 margins; computed here from the engine's ranking,
not shipped) and other model classes (cost-sensitive or operating-point-weighted logistic, a
two-stage hard floor, boosted stumps), all fitted and cut on fold 0.
"""

from __future__ import annotations

import argparse
import pickle
import re
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import Stemmer
from rank_bm25 import BM25Okapi

from benchmarks.abstention import (
    APPROACHES,
    CONFIDENCE_INPUTS,
    fit,
    held_out,
    inputs,
    probability,
    rates,
    weighted_logistic,
)
from benchmarks.abstention import previous as collect_previous
from benchmarks.calibrate import (
    confidences,
    evaluate,
    fit_logistic,
    fit_model,
    fit_rerank,
    predict,
    project_runs,
    ranking_metrics,
    reranked,
)
from benchmarks.sets import DATA, shipped_aliases, shipped_corpus, summit_questions
from benchmarks.squad import DEFAULT_DATA, Pool, Runs, load_pool
from benchmarks.targets import asked, collect_all, maker
from bot.analysis import AliasTable, Analyzer
from bot.answering import (
    CONFIDENCE_FEATURES,
    DEFAULT_MODEL,
    FEATURES,
    SIGNALS,
    AnswerEngine,
    Ranking,
    RankModel,
    confidence_input,
    window_share,
)
from bot.search import BM25Index, BM25Params

LUCENE_STOPWORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their then there these "
    "they this to was will with".split()
)
_WORD = re.compile(r"\w\w+")
_STEMMER = Stemmer.Stemmer("english")
COLUMNS = ("R@1", "R@5", "MRR@10", "own answered", "other answered")


def split_tokens(text: str) -> list[str]:
    """Anchor 1: lower-cased whitespace tokens."""
    return text.lower().split()


def stem_tokens(text: str) -> list[str]:
    """Anchor 2: ``\\w\\w+`` tokens minus Lucene's stopwords, Snowball-stemmed."""
    return _STEMMER.stemWords([w for w in _WORD.findall(text.lower()) if w not in LUCENE_STOPWORDS])


def anchor(pool: Pool, tokenize: Callable[[str], list[str]], cut: bool) -> dict[str, float | None]:
    """Ranking metrics of rank-bm25 with one tokenizer; with ``cut``, the normalised-score abstention."""
    docs = [tokenize(p.text) for p in pool.corpus.passages]
    bm25 = BM25Okapi(docs)
    queries = [tokenize(q.text) for q in pool.questions]
    ranked = np.empty((len(queries), 10), dtype=np.int64)
    top_own = np.empty(len(queries))
    for qi, query in enumerate(queries):
        scores = bm25.get_scores(query)
        order = np.argsort(-scores, kind="stable")[:10]
        ranked[qi] = order
        top_own[qi] = scores[order[0]]
    gold = np.array([q.passage for q in pool.questions])
    out: dict[str, float | None] = {**ranking_metrics(ranked, gold), "own answered": None, "other answered": None}
    if not cut:
        return out
    top_other = np.empty(len(queries))
    for a in range(pool.n_articles):
        _, keep = pool.without(a)
        loo = BM25Okapi([docs[i] for i in keep])
        for qi, q in enumerate(pool.questions):
            if q.article == a:
                top_other[qi] = loo.get_scores(queries[qi]).max()
    scale = top_own.max()
    threshold = np.quantile(top_own / scale, 0.04)
    out["own answered"] = float((top_own / scale >= threshold).mean())
    out["other answered"] = float((top_other / scale >= threshold).mean())
    return out


# --- Experimental abstention signals (measured here, not shipped: see the approaches table) ---------
# Computed from the engine's ranking of one question: its best reranked passage and best sentence,
# the reranked and BM25 top lists. Cheap regexes on the raw texts for the answer type.
_DATE_Q = re.compile(
    r"\b(?:when|what\s+(?:year|years|decade|century|date|day|month|era|period)|"
    r"which\s+(?:year|decade|century|date|day|month))\b",
    re.IGNORECASE,
)
_NUMBER_Q = re.compile(
    r"\b(?:how\s+(?:many|much|long|old|far|large|big|tall|high|often|fast|heavy|deep|wide)|"
    r"what\s+(?:percent|percentage|number|amount|size|population|age))\b",
    re.IGNORECASE,
)
_WHO_Q = re.compile(r"\b(?:who|whom|whose)\b", re.IGNORECASE)
_WHERE_Q = re.compile(
    r"\b(?:where|(?:what|which)\s+(?:city|country|state|place|region|town|county|continent|location))\b",
    re.IGNORECASE,
)
_DATE = re.compile(
    r"\b(?:1\d{3}|20\d{2})s?\b|\b\d{1,2}(?:st|nd|rd|th)\s+century\b|"
    r"\b(?:January|February|March|April|May|June|July|August|September|October|November|December)\b",
    re.IGNORECASE,
)
_NUMBER = re.compile(
    r"\b\d[\d,.]*\b|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|"
    r"forty|fifty|hundred|thousand|million|billion|dozen|half)\b",
    re.IGNORECASE,
)
_CAPITALISED = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-zA-Z]+")
_PLACE = re.compile(r"\b(?:in|at|from|near|to|across|throughout|of)\s+(?:the\s+)?([A-Z][a-zA-Z]+)")
_WH = re.compile(r"\b(what|which|who|whom|whose|when|where|why|how)\b", re.IGNORECASE)
_RAW_WORD = re.compile(r"[A-Za-z0-9][\w'’-]*")
EXTRA_SIGNALS = (
    # 1. answer type: typed question (who / when / how many / where), and no token of that type
    #    (not already in the question) in the best sentence / the best sentence and its neighbours
    "typed",
    "type_miss",
    "type_miss2",
    # 2. question focus: share of the IDF mass after the wh-word (and its head) in the best sentence;
    #    longest run of consecutive question terms found in order in the best passage (/ terms, IDF share)
    "focus",
    "phrase",
    "phrase_idf",
    # 3. evidence concentration: best window share at widths 4 and 16, each / coverage; sentence / coverage
    "win4",
    "win16",
    "win4_rel",
    "win16_rel",
    "sentence_rel",
    # 4. margins: reranked top1 - top2 (raw, / top1); winner is BM25's first; its BM25 rank; BM25 gap / top1
    "rr_gap",
    "rr_gap_rel",
    "bm25_agree",
    "bm25_rank",
    "bm25_gap",
)


def _question_type(question: str) -> str | None:
    for kind, pattern in (("date", _DATE_Q), ("number", _NUMBER_Q), ("who", _WHO_Q), ("where", _WHERE_Q)):
        if pattern.search(question):
            return kind
    return None


def _has_answer_type(kind: str, text: str, asked: set[str]) -> bool:
    """Whether ``text`` holds a token of the answer type that the question does not already contain."""
    if kind == "who":
        return any(m.group().lower() not in asked for m in _CAPITALISED.finditer(text))
    pattern, group = {"date": (_DATE, 0), "number": (_NUMBER, 0), "where": (_PLACE, 1)}[kind]
    return any(m.group(group).lower() not in asked for m in pattern.finditer(text))


def _longest_run(query: list[str], terms: list[str]) -> list[str]:
    """The longest run of consecutive question terms found, in the same order, in ``terms``."""
    best, end = 0, 0
    previous = [0] * (len(terms) + 1)
    for i, q in enumerate(query):
        current = [0] * (len(terms) + 1)
        for j, t in enumerate(terms):
            if q == t:
                current[j + 1] = previous[j] + 1
                if current[j + 1] > best:
                    best, end = current[j + 1], i + 1
        previous = current
    return query[end - best : end]


def extra_signals(engine: AnswerEngine, question: str, ranking: Ranking) -> list[float]:
    """The :data:`EXTRA_SIGNALS` of one question (ranking with at least one candidate)."""
    best = ranking.candidates[0]
    info = engine.passage_terms(best.passage)
    text, spans, k = engine.passages[best.passage].text, info.spans, best.best_sentence
    a, b = spans[k]
    sentence, around = text[a:b], text[spans[max(k - 1, 0)][0] : spans[min(k + 1, len(spans) - 1)][1]]
    asked = {w.lower() for w in _RAW_WORD.findall(question)}
    kind = _question_type(question)
    query = engine.query(question)
    weights, total = query.weights, query.total
    focus_terms = list(query.terms)
    wh = _WH.search(question)
    if wh:
        rest = question[wh.end() :]
        if wh.group(1).lower() in ("what", "which", "how"):  # skip the wh-word's head ("what year")
            parts = rest.split(None, 1)
            rest = parts[1] if len(parts) > 1 else ""
        focus_terms = engine.analyzer.analyze(rest) or focus_terms
    focus = {t: weights[t] for t in dict.fromkeys(focus_terms) if t in weights}
    ends = (*info.starts[1:], len(info.terms))
    in_sentence = set(info.terms[info.starts[k] : ends[k]])
    focus_mass = sum(focus.values())
    run = _longest_run(list(query.terms), list(info.terms))
    cov, sent = best.features[FEATURES.index("coverage")], best.features[FEATURES.index("sentence")]
    win4 = window_share(info.terms, weights, total, 4)
    win16 = window_share(info.terms, weights, total, 16)
    scores = [c.score for c in ranking.candidates[:2]]
    rr_gap = scores[0] - scores[1] if len(scores) > 1 else scores[0]
    by_bm25 = sorted(ranking.candidates, key=lambda c: (-c.bm25, c.passage))
    bm25_rank = next(n for n, c in enumerate(by_bm25) if c.passage == best.passage)
    bm = [c.bm25 for c in by_bm25[:2]]
    return [
        float(kind is not None),
        float(kind is not None and not _has_answer_type(kind, sentence, asked)),
        float(kind is not None and not _has_answer_type(kind, around, asked)),
        sum(w for t, w in focus.items() if t in in_sentence) / focus_mass if focus_mass > 0 else 0.0,
        len(run) / max(len(query.terms), 1),
        sum(weights[t] for t in set(run)) / total,
        win4,
        win16,
        win4 / cov if cov else 0.0,
        win16 / cov if cov else 0.0,
        sent / cov if cov else 0.0,
        rr_gap,
        rr_gap / abs(scores[0]) if scores[0] else 0.0,
        float(bm25_rank == 0),
        float(bm25_rank),
        (bm[0] - bm[1]) / bm[0] if len(bm) > 1 and bm[0] > 0 else 1.0,
    ]


def shipped(runs: Runs, mask: np.ndarray, min_confidence: float) -> dict[str, float]:
    """The engine as shipped: its own reranked lists and confidences, read from the runs."""
    out = ranking_metrics(runs.own_ranked[mask], runs.gold[mask])
    out["own answered"] = float((runs.own_confidence[mask] >= min_confidence).mean())
    out["other answered"] = float((runs.other_confidence[mask] >= min_confidence).mean())
    return out


QPP = ("nqc", "wig", "clarity", "ratio", "same_doc", "doc_share")
TERM_LEVEL = ("rare_idf", "rare_passage", "rare_document", "full_document", "specific_passage", "specific_document")
PREVIOUS = ("coverage", "sentence", "document", "bm25")  # the abstention model shipped before


def hinges(runs: Runs, names: tuple[str, ...]) -> tuple[str, ...]:
    """Piecewise-linear inputs: each signal plus hinges at its fold-0 quartiles (both classes)."""
    out: list[str] = []
    for name in names:
        out.append(name)
        column = SIGNALS.index(name)
        values = np.r_[runs.own_signals[runs.fold == 0, column], runs.other_signals[runs.fold == 0, column]]
        for knot in sorted({round(float(q), 3) for q in np.quantile(values, (0.25, 0.5, 0.75))}):
            if knot < values.max():
                out.append(f"{name}>{knot}")
    return tuple(out)


def _inputs(runs: Runs, names: tuple[str, ...], other: bool) -> np.ndarray:
    """Model inputs ``names`` (built from SIGNALS and EXTRA_SIGNALS, see ``confidence_input``)."""
    signals, extra = (runs.other_signals, runs.other_extra) if other else (runs.own_signals, runs.own_extra)
    named = {name: signals[:, i] for i, name in enumerate(SIGNALS)}
    named.update({name: extra[:, i] for i, name in enumerate(EXTRA_SIGNALS[: extra.shape[1]])})
    return np.column_stack([np.asarray(confidence_input(n, named), dtype=np.float64) for n in names])


def _rates(runs: Runs, own_s: np.ndarray, other_s: np.ndarray, own_rate: float = 0.95) -> dict[str, float]:
    """Answered rates (fold 1, full) at the score cut that answers ``own_rate`` of fold 0's own questions."""
    threshold = np.quantile(own_s[runs.fold == 0], 1.0 - own_rate)
    held = runs.fold == 1
    return {
        "own (fold 1)": float((own_s[held] >= threshold).mean()),
        "other (fold 1)": float((other_s[held] >= threshold).mean()),
        "own (full)": float((own_s >= threshold).mean()),
        "other (full)": float((other_s >= threshold).mean()),
    }


def _fold0(runs: Runs, own_x: np.ndarray, other_x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fold 0's inputs, own questions (label 1) then other-article ones (label 0)."""
    mask = runs.fold == 0
    return np.vstack([own_x[mask], other_x[mask]]), np.r_[np.ones(mask.sum()), np.zeros(mask.sum())]


def approach(runs: Runs, names: tuple[str, ...], own_rate: float = 0.95) -> dict[str, float]:
    """Class-balanced logistic model over ``names`` fitted on fold 0, cut to answer ``own_rate`` of fold 0."""
    own_x, other_x = _inputs(runs, names, False), _inputs(runs, names, True)
    coef = fit_logistic(*_fold0(runs, own_x, other_x))
    return _rates(runs, predict(coef, own_x), predict(coef, other_x), own_rate)


def cost_sensitive(runs: Runs, names: tuple[str, ...], negative_weight: float) -> dict[str, float]:
    """Logistic model whose other-article (negative) questions weigh ``negative_weight`` times more."""
    own_x, other_x = _inputs(runs, names, False), _inputs(runs, names, True)
    x, y = _fold0(runs, own_x, other_x)
    coef = weighted_logistic(x, y, np.where(y == 1, 1.0, negative_weight))
    return _rates(runs, predict(coef, own_x), predict(coef, other_x))


def operating_point(runs: Runs, names: tuple[str, ...], rounds: int = 5, band: float = 0.15) -> dict[str, float]:
    """Logistic model refitted ``rounds`` times with the fold-0 questions near the 95%-own cut weighing
    up to 4x (Gaussian in the score, width ``band`` standard deviations)."""
    own_x, other_x = _inputs(runs, names, False), _inputs(runs, names, True)
    x, y = _fold0(runs, own_x, other_x)
    weight = np.ones(len(y))
    for _ in range(rounds):
        coef = weighted_logistic(x, y, weight)
        z = coef[0] + x @ coef[1:]
        cut = np.quantile(z[y == 1], 0.05)
        weight = 1.0 + 3.0 * np.exp(-((z - cut) ** 2) / (2 * (band * z.std()) ** 2))
    return _rates(runs, predict(coef, own_x), predict(coef, other_x))


def two_stage(runs: Runs, names: tuple[str, ...]) -> tuple[dict[str, float], float, float]:
    """Hard refusal below a coverage / doc_share floor (each at a fold-0 own quantile in 0..3%, the
    pair with the fewest fold-0 other-article answers), then the logistic model on what is left."""
    own_x, other_x = _inputs(runs, names, False), _inputs(runs, names, True)
    floors_in = ("coverage", "doc_share")
    own_f, other_f = _inputs(runs, floors_in, False), _inputs(runs, floors_in, True)
    mask = runs.fold == 0
    best: tuple[dict[str, float], float, float] | None = None
    for c in np.quantile(own_f[mask, 0], (0.0, 0.005, 0.01, 0.02, 0.03)):
        for d in np.quantile(own_f[mask, 1], (0.0, 0.005, 0.01, 0.02, 0.03)):
            keep_own = (own_f[:, 0] >= c) & (own_f[:, 1] >= d)
            keep_other = (other_f[:, 0] >= c) & (other_f[:, 1] >= d)
            if keep_own[mask].mean() < 0.955:
                continue
            x = np.vstack([own_x[mask & keep_own], other_x[mask & keep_other]])
            y = np.r_[np.ones((mask & keep_own).sum()), np.zeros((mask & keep_other).sum())]
            coef = fit_logistic(x, y)
            own_s = np.where(keep_own, predict(coef, own_x), 0.0)
            other_s = np.where(keep_other, predict(coef, other_x), 0.0)
            threshold = np.quantile(own_s[mask], 0.05)
            fold0_other = float((other_s[mask] >= threshold).mean())
            if best is None or fold0_other < best[0]["fold 0 other"]:
                best = ({"fold 0 other": fold0_other, **_rates(runs, own_s, other_s)}, float(c), float(d))
    assert best is not None
    rates, c, d = best
    del rates["fold 0 other"]
    return rates, c, d


def stumps(runs: Runs, names: tuple[str, ...], n: int, rate: float = 0.2, knots: int = 16) -> dict[str, float]:
    """Gradient-boosted decision stumps (logistic loss, ``n`` rounds of shrinkage ``rate``, thresholds at
    ``knots`` fold-0 quantiles of each input): 4 numbers per stump."""
    own_x, other_x = _inputs(runs, names, False), _inputs(runs, names, True)
    x, y = _fold0(runs, own_x, other_x)
    cuts = [np.unique(np.quantile(x[:, j], np.linspace(0.02, 0.98, knots))) for j in range(x.shape[1])]
    score = np.zeros(len(y))
    model: list[tuple[int, float, float, float]] = []
    for _ in range(n):
        p = 1.0 / (1.0 + np.exp(-score))
        g, h = p - y, p * (1 - p)
        best = (-1.0, 0, 0.0, 0.0, 0.0)
        for j in range(x.shape[1]):
            for t in cuts[j]:
                left = x[:, j] < t
                gl, hl, gr, hr = g[left].sum(), h[left].sum(), g[~left].sum(), h[~left].sum()
                gain = gl * gl / (hl + 1.0) + gr * gr / (hr + 1.0)
                if gain > best[0]:
                    best = (gain, j, float(t), -gl / (hl + 1.0), -gr / (hr + 1.0))
        _, j, t, below, above = best
        model.append((j, t, rate * below, rate * above))
        score += np.where(x[:, j] < t, rate * below, rate * above)

    def predict_stumps(z: np.ndarray) -> np.ndarray:
        return sum((np.where(z[:, j] < t, lo, hi) for j, t, lo, hi in model), np.zeros(len(z)))

    return _rates(runs, predict_stumps(own_x), predict_stumps(other_x))


def _ranking_only(values: dict[str, float]) -> dict[str, float | None]:
    """Ranking metrics without the (meaningless) answered rates."""
    return {**values, "own answered": None, "other answered": None}


def _row(label: str, values: dict[str, float | None]) -> str:
    cells = [f"{values[c]:.3f}" if values.get(c) is not None else "  -  " for c in COLUMNS]
    return f"| {label:<58} | " + " | ".join(f"{c:>6}" for c in cells) + " |"


def _header() -> str:
    return (
        f"| {'method':<58} | "
        + " | ".join(f"{c[:6]:>6}" for c in COLUMNS)
        + " |\n|"
        + "-" * 60
        + "|"
        + ("--------|" * len(COLUMNS))
    )


def history(args: argparse.Namespace) -> None:
    """The earlier study (``--history``): the shipped engine on SQuAD, each reranking feature and the
    abstention signals and model classes tried before issue 10."""
    started = time.perf_counter()
    pool = load_pool(args.data)
    everyone = np.ones(len(pool.questions), dtype=bool)
    n_docs, n_passages = len(pool.corpus.documents), len(pool.corpus.passages)
    print(f"{n_docs} articles, {n_passages} passages, {len(pool.questions)} questions")
    print("\n## Full set (all 24 articles)\n")
    print(_header())
    print(_row("anchor: rank-bm25, lower().split()", anchor(pool, split_tokens, cut=False)))
    print(_row("anchor: rank-bm25, \\w\\w+ + Lucene stopwords + Snowball, norm. cut", anchor(pool, stem_tokens, True)))
    runs = project_runs(pool, args.k1, args.b, extra=extra_signals)
    bm25_only = RankModel((1.0, *[0.0] * (len(FEATURES) - 1)), DEFAULT_MODEL.confidence)
    bm25_row = _ranking_only(evaluate(runs, bm25_only, everyone, 2.0))
    print(_row(f"project BM25 only (k1={args.k1}, b={args.b}, analyzer)", bm25_row))
    print(
        _row(
            f"project shipped (rerank + abstention @ {args.min_confidence})",
            shipped(runs, everyone, args.min_confidence),
        )
    )

    print("\n## By fold (shipped model, fitted on fold 0)\n")
    print(_header())
    for fold in (0, 1):
        mask = runs.fold == fold
        tag = "fitting fold" if fold == 0 else "held out"
        print(_row(f"fold {fold} ({tag}) BM25 only", _ranking_only(evaluate(runs, bm25_only, mask, 2.0))))
        print(_row(f"fold {fold} ({tag}) shipped @ {args.min_confidence}", shipped(runs, mask, args.min_confidence)))

    print("\n## Reranker ingredients: BM25 + one feature, fitted on fold 0, measured on fold 1 / full\n")
    print(f"| {'features':<40} | fold1 R@1 | fold1 MRR | full R@1 | full MRR |\n|{'-' * 42}|{'-----------|' * 4}")
    held = runs.fold == 1
    sets = [[0], *[[0, j] for j in range(1, len(FEATURES))], list(range(len(FEATURES)))]
    for cols in sets:
        weights = np.zeros(len(FEATURES))
        sub = Runs(**{k: (v[..., cols] if k.endswith("features") else v) for k, v in vars(runs).items()})
        weights[cols] = fit_rerank(sub, runs.fold == 0) if len(cols) > 1 else 1.0
        ranked, _, _ = reranked(runs, weights)
        h, f = ranking_metrics(ranked[held], runs.gold[held]), ranking_metrics(ranked, runs.gold)
        name = " + ".join(FEATURES[c] for c in cols) if len(cols) < len(FEATURES) else "all"
        print(f"| {name:<40} | {h['R@1']:9.3f} | {h['MRR@10']:9.3f} | {f['R@1']:8.3f} | {f['MRR@10']:8.3f} |")
    other_fold = fit_model(runs, 1)
    m = evaluate(runs, other_fold, runs.fold == 0, 2.0)
    print(f"\nFitted on fold 1 instead, measured on fold 0: R@1 {m['R@1']:.3f}, MRR@10 {m['MRR@10']:.3f}")

    print("\n## Abstention approaches: logistic over the signals, fitted on fold 0, cut for 95% own on fold 0\n")
    print(
        f"| {'signals':<62} | own f1 | oth f1 | own all | oth all |\n|{'-' * 64}|--------|--------|---------|---------|"
    )
    interactions = tuple(f"{a}*{b}" for i, a in enumerate(PREVIOUS) for b in PREVIOUS[i + 1 :])
    rows: list[tuple[str, tuple[str, ...]]] = [(name, (name,)) for name in SIGNALS]
    rows += [("previous: " + " + ".join(PREVIOUS), PREVIOUS)]
    rows += [(f"previous + {name}", (*PREVIOUS, name)) for name in QPP + TERM_LEVEL + ("oov", "mass", "terms")]
    rows += [
        ("previous + all QPP", PREVIOUS + QPP),
        ("previous + all term-level", PREVIOUS + TERM_LEVEL + ("oov",)),
        ("previous + pairwise interactions", PREVIOUS + interactions),
        ("previous, piecewise-linear (quartile hinges)", hinges(runs, PREVIOUS)),
        (f"all {len(SIGNALS)} signals", SIGNALS),
        ("all signals, piecewise-linear (quartile hinges)", hinges(runs, SIGNALS)),
        ("shipped: " + " + ".join(CONFIDENCE_FEATURES), CONFIDENCE_FEATURES),
        ("shipped + clarity + bm25", (*CONFIDENCE_FEATURES, "clarity", "bm25")),
        ("shipped, piecewise-linear (quartile hinges)", hinges(runs, CONFIDENCE_FEATURES)),
    ]
    for label, names in rows:
        r = approach(runs, names)
        print(f"| {label[:62]:<62} | " + " | ".join(f"{v:6.3f}" for v in r.values()) + " |")

    print(
        "\nTried since (not shipped: none reaches own >= 0.95 with other <= 0.10 on fold 1 and full).\n"
        "Single binary signals cannot be cut at 95% own (1.000 / 1.000)."
    )
    print(
        f"| {'signals / model':<62} | own f1 | oth f1 | own all | oth all |\n"
        f"|{'-' * 64}|--------|--------|---------|---------|"
    )
    ship = CONFIDENCE_FEATURES
    groups = {
        "answer type": ("typed", "type_miss", "type_miss2"),
        "focus / phrase": ("focus", "phrase", "phrase_idf"),
        "concentration": ("win4", "win16", "win4_rel", "win16_rel", "sentence_rel"),
        "margin / agreement": ("rr_gap", "rr_gap_rel", "bm25_agree", "bm25_rank", "bm25_gap"),
    }
    picked = ("win16", "focus", "type_miss2", "rr_gap_rel", "bm25_rank")
    two_stage_rates, floor_c, floor_d = two_stage(runs, ship)
    new_rows: list[tuple[str, Callable[[], dict[str, float]]]] = [
        *((name, lambda names=(name,): approach(runs, names)) for name in EXTRA_SIGNALS),
        *((f"shipped + {name}", lambda names=(*ship, name): approach(runs, names)) for name in EXTRA_SIGNALS),
        *((f"shipped + all {g}", lambda names=(*ship, *names): approach(runs, names)) for g, names in groups.items()),
        ("shipped + win16 + focus", lambda: approach(runs, (*ship, "win16", "focus"))),
        ("shipped + type_miss*coverage", lambda: approach(runs, (*ship, "type_miss*coverage"))),
        ("shipped + win16*doc_share", lambda: approach(runs, (*ship, "win16*doc_share"))),
        (f"shipped + all {len(EXTRA_SIGNALS)} new", lambda: approach(runs, ship + EXTRA_SIGNALS)),
        (f"all {len(SIGNALS)} + all {len(EXTRA_SIGNALS)} new", lambda: approach(runs, SIGNALS + EXTRA_SIGNALS)),
        *(
            (f"shipped, cost-sensitive logistic (other x{w:g})", lambda w=w: cost_sensitive(runs, ship, w))
            for w in (2.0, 4.0, 8.0)
        ),
        ("shipped, logistic refit near the 95% cut (x4)", lambda: operating_point(runs, ship)),
        ("shipped + win16 + focus, refit near the 95% cut", lambda: operating_point(runs, (*ship, "win16", "focus"))),
        (f"2-stage: refuse cov<{floor_c:.3f} or doc_share<{floor_d:.3f}, logistic", lambda: two_stage_rates),
        *(
            (f"boosted stumps x{n} on shipped ({4 * n} numbers)", lambda n=n: stumps(runs, ship, n))
            for n in (20, 50, 100)
        ),
        *(
            (
                f"boosted stumps x{n} on shipped + {len(picked)} new ({4 * n})",
                lambda n=n: stumps(runs, ship + picked, n),
            )
            for n in (50, 100)
        ),
    ]
    for label, run in new_rows:
        r = run()
        print(f"| {label[:62]:<62} | " + " | ".join(f"{v:6.3f}" for v in r.values()) + " |")

    own_p, other_p = confidences(runs, DEFAULT_MODEL)
    held = runs.fold == 1
    print("\nShipped confidence (fold 0 fit): min_confidence trade-off, own / other answered")
    print("| min_confidence | own (fold 1) | other (fold 1) | own (full) | other (full) |\n|---|---|---|---|---|")
    for thr in (0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8):
        cells = [
            (own_p[held] >= thr).mean(),
            (other_p[held] >= thr).mean(),
            (own_p >= thr).mean(),
            (other_p >= thr).mean(),
        ]
        print(f"| {thr} | " + " | ".join(f"{v:.3f}" for v in cells) + " |")
    print(f"\n({time.perf_counter() - started:.0f} s)")


def analyzer_ranking(pool: Pool, stemming: str, names: str) -> tuple[float, float, float, float]:
    """BM25-stage R@1, MRR@10 (all questions), R@1 on fold 0 and fold 1, with one analyzer setting."""
    analyzer = Analyzer(stemming=stemming, names=names)
    index = BM25Index.from_texts([p.text for p in pool.corpus.passages], analyzer, BM25Params(1.2, 0.75, 0.25))
    ranked = np.full((len(pool.questions), 10), -1, dtype=np.int64)
    for qi, q in enumerate(pool.questions):
        top = [i for i, _ in index.top(analyzer.analyze(q.text), 10)]
        ranked[qi, : len(top)] = top
    gold = np.array([q.passage for q in pool.questions])
    fold = np.array([q.fold for q in pool.questions])
    m = ranking_metrics(ranked, gold)
    f0, f1 = (ranking_metrics(ranked[fold == f], gold[fold == f])["R@1"] for f in (0, 1))
    return m["R@1"], m["MRR@10"], f0, f1


def targets(args: argparse.Namespace) -> None:
    """Issue 10's targets, held out in both fold directions, with the anchors measured in the same run."""
    started = time.perf_counter()
    pool = load_pool(args.data)
    print(
        f"SQuAD dev half: {pool.n_articles} articles, {len(pool.corpus.passages)} passages, "
        f"{len(pool.questions)} questions"
    )
    print("\n## Anchors (rank-bm25 BM25Okapi, SQuAD pool, all questions)\n")
    print(_header())
    print(_row("anchor: rank-bm25, lower().split()", anchor(pool, split_tokens, cut=False)))
    print(_row("anchor: rank-bm25, \\w\\w+ + Lucene stopwords + Snowball, norm. cut", anchor(pool, stem_tokens, True)))
    print("\n## Analyzer (BM25 stage only, SQuAD R@1 / MRR@10; fold 0, fold 1)\n")
    print("| stemming | capitalised names | R@1 | MRR@10 | R@1 f0 | R@1 f1 |\n|---|---|---|---|---|---|")
    for stemming in ("snowball", "light"):
        for names in ("stem", "protected", "all"):
            r = analyzer_ranking(pool, stemming, names)
            print(f"| {stemming} | {names} | " + " | ".join(f"{v:.3f}" for v in r) + " |")
    if args.cache is not None and args.cache.exists():
        obs = pickle.loads(args.cache.read_bytes())  # collections saved by an earlier run
    else:
        obs = collect_all(pool, stemming=args.stemming, names=args.names)
        if args.cache is not None:
            args.cache.write_bytes(pickle.dumps(obs))
    previous = collect_previous(obs)
    print(f"\nCollections ({args.stemming} stemming, names {args.names}); questions per collection:")
    print(", ".join(f"{k} {len(o.fold)}" for k, o in obs.items()))
    shipped = rates(obs, CONFIDENCE_INPUTS, args.own_rate)
    print("\n## Targets: fitted on one fold, measured on the other (fit 0 -> test 1 | fit 1 -> test 0 | mean)\n")
    print("Anchor: the engine's previous abstention model (6 signals, fitted on SQuAD fold 0 before this")
    print("issue), at its shipped 0.5, on the same runs (its fold-1 figures are held out, fold-0 ones are not).\n")
    print("| target | goal | fit 0 -> 1 | fit 1 -> 0 | mean | previous model (f1 / f0) |\n|---|---|---|---|---|---|")
    own = obs["squad own"]
    r1 = [float(own.right[own.fold == f].mean()) for f in (1, 0)]
    print(
        f"| SQuAD R@1, first passage shown | >= 0.83 | {r1[0]:.3f} | {r1[1]:.3f} | {np.mean(r1):.3f} | (same ranking) |"
    )
    rows = [
        ("SQuAD own answered", ">= 0.85", "squad own", 0),
        ("SQuAD other articles answered", "<= 0.05", "squad other", 0),
        ("SQuAD own paragraph removed, answered (noisy)", "-", "squad gone", 0),
        ("off-topic vs shipped article answered", "<= 0.03", "summit offtopic", 0),
        ("off-topic vs SQuAD answered", "<= 0.03", "squad offtopic", 0),
        ("off-topic vs BBC half + article answered", "<= 0.03", "bbc offtopic", 0),
        ("summit on-topic unanswerable answered", "<= 0.08", "summit unanswerable", 0),
        ("BBC questions answered from the right article", ">= 0.80", "bbc own", 1),
        ("BBC questions without their article, answered", "-", "bbc other", 0),
        ("summit direct questions answered (right paragraph)", "all", "summit direct", 1),
        ("summit direct questions vs BBC + article", "all", "bbc summit", 1),
        ("summit paraphrases answered (right paragraph)", "-", "summit paraphrases", 1),
    ]
    for label, goal, name, right in rows:
        a0, a1, r0, rr1 = shipped[name]
        first, second = (r0, rr1) if right else (a0, a1)
        p = previous[name]
        print(f"| {label} | {goal} | {first:.3f} | {second:.3f} | {(first + second) / 2:.3f} | {p[right]} |")
    para = obs["summit paraphrases"]
    print(f"\nSummit paraphrases, first passage shown is right (any verdict): {para.right.mean():.3f}")
    print("\n## Aliases (issue 10 item 7): the shipped article's questions with the alias file before / now\n")
    print("| questions | aliases | first passage right | answered (model fitted on fold 0) |\n|---|---|---|---|")
    coef0 = fit(obs, CONFIDENCE_INPUTS, 0, args.own_rate)
    before = AliasTable.load(DATA / "aliases_before.yaml")
    for kind in ("direct", "paraphrases"):
        questions = summit_questions(kind)
        for label, table in (
            ("before (12 groups)", before),
            (f"shipped ({len(shipped_aliases().groups)} groups)", shipped_aliases()),
        ):
            make = maker(table, stemming=args.stemming, names=args.names)
            o = asked(make(shipped_corpus().passages), f"summit {kind}", 1, questions)
            answered = (probability(coef0, inputs(o, CONFIDENCE_INPUTS)) >= 0.5) & o.matched
            print(f"| {kind} | {label} | {o.right.mean():.3f} | {(answered & o.right).mean():.3f} |")
    print("\n## Calibration across corpus sizes (first N SQuAD articles; held out, mean of both directions)\n")
    print("| corpus | passages | own answered | other answered | R@1 |\n|---|---|---|---|---|")
    for n in (2, 6, 12, 24):
        key = "squad" if n == 24 else f"nested {n}"
        o_own, o_other = shipped[f"{key} own"], shipped[f"{key} other"]
        passages = sum(a < n for a in pool.article_of)
        r = float(obs[f"{key} own"].right.mean())
        print(
            f"| first {n} articles | {passages} | {(o_own[0] + o_own[1]) / 2:.3f} | "
            f"{(o_other[0] + o_other[1]) / 2:.3f} | {r:.3f} |"
        )
    print("\n## Approaches: each input set fitted the same way (held out, mean of both directions)\n")
    cols = (
        "squad own",
        "squad other",
        "squad gone",
        "squad offtopic",
        "bbc offtopic",
        "summit offtopic",
        "summit unanswerable",
        "summit direct",
        "bbc own",
    )
    print("| inputs | " + " | ".join(cols) + " |\n|---|" + "---|" * len(cols))
    for label, names in APPROACHES:
        r = rates(obs, names, args.own_rate)
        cells = [(r[c][2] + r[c][3]) / 2 if c == "bbc own" else (r[c][0] + r[c][1]) / 2 for c in cols]
        print(f"| {label} | " + " | ".join(f"{v:.3f}" for v in cells) + " |")
    print("\n## Thresholds (shipped inputs; the model fitted on fold 0, held-out fold 1 / whole summit sets)\n")
    coef = fit(obs, CONFIDENCE_INPUTS, 0, args.own_rate)
    sets = (
        ("SQuAD own", "squad own"),
        ("SQuAD other", "squad other"),
        ("SQuAD gone", "squad gone"),
        ("off-topic SQuAD", "squad offtopic"),
        ("off-topic BBC", "bbc offtopic"),
        ("off-topic summit", "summit offtopic"),
        ("summit unanswerable", "summit unanswerable"),
        ("summit paraphrases", "summit paraphrases"),
        ("BBC own", "bbc own"),
    )
    print("Share of each set at or above the threshold (min_confidence: answered; min_related: answered or closest)\n")
    print("| threshold | " + " | ".join(label for label, _ in sets) + " |\n|---|" + "---|" * len(sets))
    for t in (0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7):
        cells = [float(held_out(obs[name], coef, CONFIDENCE_INPUTS, 0, t).mean()) for _, name in sets]
        print(f"| {t} | " + " | ".join(f"{v:.3f}" for v in cells) + " |")
    print(
        f"\nModel to ship (fitted on fold 0): inputs {CONFIDENCE_INPUTS}, "
        f"coefficients {tuple(round(float(c), 3) for c in coef)}"
    )
    print(f"\n({time.perf_counter() - started:.0f} s)")


def main(argv: list[str] | None = None) -> None:
    """Print issue 10's targets with their anchors (``--history``: the earlier study)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--min-confidence", type=float, default=0.5, help="answers.min_confidence to report")
    parser.add_argument("--k1", type=float, default=1.2)
    parser.add_argument("--b", type=float, default=0.75)
    parser.add_argument("--own-rate", type=float, default=0.88, help="SQuAD own questions answered at 0.5 (fit fold)")
    parser.add_argument("--stemming", default="light", choices=("light", "snowball"))
    parser.add_argument("--names", default="protected", choices=("stem", "protected", "all"))
    parser.add_argument("--history", action="store_true", help="the earlier study instead of the targets")
    parser.add_argument(
        "--cache", type=Path, metavar="FILE", help="save the collected runs here, or reuse them if the file exists"
    )
    args = parser.parse_args(argv)
    if args.history:
        history(args)
    else:
        targets(args)


if __name__ == "__main__":
    main()
