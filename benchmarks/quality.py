"""Answer quality on SQuAD v1.1 (first half of dev): anchors and the project side by side.

Usage (from the repo root)::

    python -m benchmarks.quality [--data ../shared/data/squad-v1.1-dev.json] [--min-confidence 0.5]

Closed pool: each article a document, each paragraph a passage; each question should retrieve its
own paragraph (R@1, R@5, MRR@10). "own answered" is the share of questions answered when asked of
the whole pool; "other answered" the share answered when each article's questions are asked of
the pool *without* that article (24 rebuilt leave-one-article-out indexes), where every answer is
wrong and a refusal is right. Fold 0 = even-numbered articles (where ``bot/answers.py``'s
coefficients were fitted, see ``benchmarks/calibrate.py``), fold 1 = odd-numbered (held out).

Anchors (rank-bm25 ``BM25Okapi``, k1=1.5, b=0.75, its defaults):

* ``lower().split()`` tokens;
* ``\\w\\w+`` tokens, Lucene's 33 English stopwords, Snowball stemming (PyStemmer);
* the same with a plain normalised-score cut: top score / the largest top score over the pool's
  questions, the threshold set so that 96% of own questions are answered.
"""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import Stemmer
from rank_bm25 import BM25Okapi

from benchmarks.calibrate import (
    confidences,
    evaluate,
    fit_confidence,
    fit_model,
    fit_rerank,
    predict,
    project_runs,
    ranking_metrics,
    reranked,
    signal_inputs,
)
from benchmarks.squad import DEFAULT_DATA, Pool, Runs, load_pool
from bot.answers import CONFIDENCE_FEATURES, DEFAULT_MODEL, FEATURES, SIGNALS, RankModel

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


def approach(runs: Runs, names: tuple[str, ...], own_rate: float = 0.95) -> dict[str, float]:
    """Class-balanced logistic model over ``names`` fitted on fold 0, cut to answer ``own_rate`` of fold 0."""
    coef = fit_confidence(runs, runs.fold == 0, names, own_rate=None)
    own_p = predict(coef, signal_inputs(runs.own_signals, names))
    other_p = predict(coef, signal_inputs(runs.other_signals, names))
    threshold = np.quantile(own_p[runs.fold == 0], 1.0 - own_rate)
    held = runs.fold == 1
    return {
        "own (fold 1)": float((own_p[held] >= threshold).mean()),
        "other (fold 1)": float((other_p[held] >= threshold).mean()),
        "own (full)": float((own_p >= threshold).mean()),
        "other (full)": float((other_p >= threshold).mean()),
    }


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


def main(argv: list[str] | None = None) -> None:
    """Print the anchors, the shipped engine and each reranking / abstention ingredient."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--min-confidence", type=float, default=0.5, help="answers.min_confidence to report")
    parser.add_argument("--k1", type=float, default=1.2)
    parser.add_argument("--b", type=float, default=0.75)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    pool = load_pool(args.data)
    everyone = np.ones(len(pool.questions), dtype=bool)
    n_docs, n_passages = len(pool.corpus.documents), len(pool.corpus.passages)
    print(f"{n_docs} articles, {n_passages} passages, {len(pool.questions)} questions")
    print("\n## Full set (all 24 articles)\n")
    print(_header())
    print(_row("anchor: rank-bm25, lower().split()", anchor(pool, split_tokens, cut=False)))
    print(_row("anchor: rank-bm25, \\w\\w+ + Lucene stopwords + Snowball, norm. cut", anchor(pool, stem_tokens, True)))
    runs = project_runs(pool, args.k1, args.b)
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


if __name__ == "__main__":
    main()
