"""Fit the reranker weights and the abstention model of ``bot/answers.py`` on one fold of SQuAD.

Usage (from the repo root)::

    python -m benchmarks.calibrate [--data ../shared/data/squad-v1.1-dev.json] [--fit-fold 0]

Articles are split by index: fold 0 = even-numbered articles, fold 1 = odd. The weights are fitted
on ``--fit-fold`` and reported on the other fold (held out) and on the full set; the printed
``RankModel(...)`` is what ``bot/answers.py`` ships as ``DEFAULT_MODEL``.

* Reranker: a linear score over :data:`bot.answers.FEATURES`, fitted as a pairwise logistic
  regression (RankNet, no intercept): for each question whose gold passage is among BM25's top
  candidates, "gold beats each other candidate" on the feature differences.
* Abstention: a logistic regression over :data:`bot.answers.CONFIDENCE_FEATURES` of the best
  reranked passage; positives are questions asked of the pool that holds their article, negatives
  are the same questions asked of the pool without it (rebuilt index). Classes weigh equally.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from benchmarks.squad import DEFAULT_DATA, Pool, Runs, collect, load_pool
from bot.analysis import Analyzer
from bot.answers import CONFIDENCE_FEATURES, DEFAULT_MODEL, FEATURES, AnswerEngine, RankModel
from bot.corpus import Passage
from bot.search import BM25Index, BM25Params


def engine_maker(analyzer: Analyzer, params: BM25Params, model: RankModel | None = None):
    """A function building the project's engine over a tuple of passages."""

    def make(passages: tuple[Passage, ...]) -> AnswerEngine:
        index = BM25Index.from_texts([p.text for p in passages], analyzer, params)
        return AnswerEngine(passages, analyzer, index, model=model)

    return make


def rerank_order(features: np.ndarray, passages: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Candidate order (per question) by the linear score; ties keep BM25 order."""
    scores = np.where(passages < 0, -np.inf, features @ weights)
    return np.argsort(-scores, axis=1, kind="stable")


def ranking_metrics(ranked: np.ndarray, gold: np.ndarray) -> dict[str, float]:
    """R@1, R@5 and MRR@10 of ranked passage lists (questions x ranks) against gold passages."""
    hit = ranked[:, :10] == gold[:, None]
    found = hit.any(axis=1)
    first = np.where(found, hit.argmax(axis=1), 0)
    return {
        "R@1": float(hit[:, 0].mean()),
        "R@5": float(hit[:, :5].any(axis=1).mean()),
        "MRR@10": float(np.where(found, 1.0 / (first + 1), 0.0).mean()),
    }


def reranked(runs: Runs, weights: np.ndarray, other: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reranked passage lists, the features of each question's best passage, and its scores."""
    feats = runs.other_features if other else runs.own_features
    passages = runs.other_passages if other else runs.own_passages
    order = rerank_order(feats, passages, weights)
    ranked = np.take_along_axis(passages, order, axis=1)
    rows = np.arange(len(feats))
    return ranked, feats[rows, order[:, 0]], (feats @ weights)[rows, order[:, 0]]


def fit_rerank(runs: Runs, mask: np.ndarray, l2: float = 1e-3, iterations: int = 50) -> np.ndarray:
    """Pairwise logistic regression (Newton's method) of gold-vs-other feature differences."""
    diffs = []
    for feats, passages, gold in zip(runs.own_features[mask], runs.own_passages[mask], runs.gold[mask], strict=True):
        where = np.flatnonzero(passages == gold)
        if where.size == 0:
            continue
        others = np.flatnonzero((passages != gold) & (passages >= 0))
        diffs.append(feats[where[0]] - feats[others])
    x = np.concatenate(diffs)
    w = np.zeros(x.shape[1])
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        grad = x.T @ (p - 1.0) / len(x) + l2 * w
        hess = (x * (p * (1 - p))[:, None]).T @ x / len(x) + l2 * np.eye(len(w))
        w -= np.linalg.solve(hess, grad)
    return w


def confidence_inputs(top_features: np.ndarray) -> np.ndarray:
    """The columns of the best passage's features that the abstention model reads."""
    return top_features[:, [FEATURES.index(name) for name in CONFIDENCE_FEATURES]]


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-3, iterations: int = 50) -> np.ndarray:
    """Class-balanced logistic regression; returns (intercept, coefficients...)."""
    x = np.column_stack([np.ones(len(x)), x])
    sample = np.where(y == 1, 0.5 / y.mean(), 0.5 / (1 - y.mean()))
    w = np.zeros(x.shape[1])
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        grad = x.T @ ((p - y) * sample) / len(x) + l2 * w
        hess = (x * (p * (1 - p) * sample)[:, None]).T @ x / len(x) + l2 * np.eye(len(w))
        w -= np.linalg.solve(hess, grad)
    return w


def predict(coef: np.ndarray | tuple[float, ...], x: np.ndarray) -> np.ndarray:
    """Logistic probabilities for rows of ``x``."""
    coef = np.asarray(coef)
    return 1.0 / (1.0 + np.exp(-(coef[0] + x @ coef[1:])))


def fit_model(runs: Runs, fold: int) -> RankModel:
    """Reranker and abstention model fitted on the questions of one fold."""
    mask = runs.fold == fold
    weights = fit_rerank(runs, mask)
    _, own_top, _ = reranked(runs, weights)
    _, other_top, _ = reranked(runs, weights, other=True)
    x = np.vstack([confidence_inputs(own_top[mask]), confidence_inputs(other_top[mask])])
    y = np.r_[np.ones(mask.sum()), np.zeros(mask.sum())]
    conf = fit_logistic(x, y)
    return RankModel(tuple(round(float(v), 3) for v in weights), tuple(round(float(v), 3) for v in conf))


def evaluate(runs: Runs, model: RankModel, mask: np.ndarray, min_confidence: float) -> dict[str, float]:
    """Ranking metrics and answered rates (own / other articles) of a model on the masked questions."""
    weights = np.asarray(model.rerank)
    ranked, own_top, _ = reranked(runs, weights)
    _, other_top, _ = reranked(runs, weights, other=True)
    own_p = predict(model.confidence, confidence_inputs(own_top))
    other_p = predict(model.confidence, confidence_inputs(other_top))
    out = ranking_metrics(ranked[mask], runs.gold[mask])
    out["own answered"] = float((own_p[mask] >= min_confidence).mean())
    out["other answered"] = float((other_p[mask] >= min_confidence).mean())
    return out


def threshold_for(runs: Runs, model: RankModel, mask: np.ndarray, own_rate: float) -> float:
    """The confidence threshold that answers ``own_rate`` of the masked own-article questions."""
    _, own_top, _ = reranked(runs, np.asarray(model.rerank))
    own_p = predict(model.confidence, confidence_inputs(own_top))[mask]
    return float(np.quantile(own_p, 1.0 - own_rate))


def project_runs(pool: Pool, k1: float = 1.2, b: float = 0.75) -> Runs:
    """Collect the project's features on the pool (own and leave-one-article-out)."""
    return collect(pool, engine_maker(Analyzer(), BM25Params(k1, b, 0.25), DEFAULT_MODEL))


def _fmt(row: dict[str, float]) -> str:
    return "  ".join(f"{k} {v:.3f}" for k, v in row.items())


def main(argv: list[str] | None = None) -> None:
    """Fit on one fold, report held-out and full-set figures, print the constants to ship."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--fit-fold", type=int, default=0, choices=(0, 1))
    parser.add_argument("--k1", type=float, default=1.2)
    parser.add_argument("--b", type=float, default=0.75)
    args = parser.parse_args(argv)
    pool = load_pool(args.data)
    runs = project_runs(pool, args.k1, args.b)
    everyone = np.ones(len(runs.gold), dtype=bool)
    for fold in (args.fit_fold, 1 - args.fit_fold):
        model = fit_model(runs, fold)
        held = runs.fold != fold
        thr = threshold_for(runs, model, runs.fold == fold, 0.96)
        print(f"fit on fold {fold}: {model}")
        print(f"  threshold for 0.96 own answered on the fitting fold: {thr:.3f}")
        for label, t in (("0.5", 0.5), (f"{thr:.3f}", thr)):
            print(f"  held-out fold {1 - fold} @ {label}: {_fmt(evaluate(runs, model, held, t))}")
            print(f"  full set         @ {label}: {_fmt(evaluate(runs, model, everyone, t))}")
    print(f"\nShip (fitted on fold {args.fit_fold}):\nDEFAULT_MODEL = {fit_model(runs, args.fit_fold)}")


if __name__ == "__main__":
    main()
