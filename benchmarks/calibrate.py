"""Fit the reranker weights of ``bot/answering/`` on one fold of SQuAD (and the earlier, SQuAD-only
abstention model).

The shipped confidence model is fitted on several collections (SQuAD, SQuAD subsets, the BBC half,
the off-topic set) by :mod:`benchmarks.abstention`; ``python -m benchmarks.quality`` prints it
("Model to ship"). What follows fits it on SQuAD alone, as before issue 10, for comparison.

Usage (from the repo root)::

    python -m benchmarks.calibrate [--data ../shared/data/squad-v1.1-dev.json] [--fit-fold 0]

Articles are split by index: fold 0 = even-numbered articles, fold 1 = odd. The weights are fitted
on ``--fit-fold`` and reported on the other fold (held out) and on the full set; the printed
``RankModel(...)`` is what ``bot/answering/`` ships as ``DEFAULT_MODEL``.

* Reranker: a linear score over :data:`bot.answering.FEATURES`, fitted as a pairwise logistic
  regression (RankNet, no intercept): for each question whose gold passage is among BM25's top
  candidates, "gold beats each other candidate" on the feature differences.
* Abstention: a logistic regression over :data:`bot.answering.CONFIDENCE_FEATURES` (built from the
  question's :data:`bot.answering.SIGNALS`, computed by the engine with the shipped reranker);
  positives are questions asked of the pool that holds their article, negatives are the same
  questions asked of the pool without it (rebuilt index). Classes weigh equally. The intercept is
  then shifted so that a confidence of 0.5 answers ``--own-rate`` (95%) of the fitting fold's own
  questions: ``answers.min_confidence: 0.5`` is that operating point.

If the refitted reranker differs from the shipped one, the signals are collected again with it
(they depend on which passage the reranker puts first).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from benchmarks.squad import DEFAULT_DATA, Extra, Pool, Runs, collect, load_pool
from bot.analysis import Analyzer
from bot.answering import CONFIDENCE_FEATURES, DEFAULT_MODEL, SIGNALS, AnswerEngine, RankModel, confidence_input
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


def signal_inputs(signals: np.ndarray, names: Sequence[str] = CONFIDENCE_FEATURES) -> np.ndarray:
    """The abstention model's inputs (columns ``names``) from a (questions, SIGNALS) array."""
    named = {name: signals[:, i] for i, name in enumerate(SIGNALS)}
    return np.column_stack([np.asarray(confidence_input(n, named), dtype=np.float64) for n in names])


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


def fit_confidence(
    runs: Runs, mask: np.ndarray, names: Sequence[str] = CONFIDENCE_FEATURES, own_rate: float | None = 0.95
) -> np.ndarray:
    """Class-balanced logistic abstention model over ``names`` fitted on the masked questions.

    With ``own_rate``, the intercept is shifted so that 0.5 answers that share of their own questions.
    """
    own_x, other_x = signal_inputs(runs.own_signals, names), signal_inputs(runs.other_signals, names)
    x = np.vstack([own_x[mask], other_x[mask]])
    y = np.r_[np.ones(mask.sum()), np.zeros(mask.sum())]
    coef = fit_logistic(x, y)
    if own_rate is not None:
        t = float(np.quantile(predict(coef, own_x[mask]), 1.0 - own_rate))
        coef[0] -= math.log(t / (1.0 - t))
    return coef


def fit_model(runs: Runs, fold: int, own_rate: float = 0.95) -> RankModel:
    """Reranker and abstention model fitted on the questions of one fold.

    The abstention model reads the signals in ``runs``, i.e. those of the reranker that collected them.
    """
    mask = runs.fold == fold
    weights = fit_rerank(runs, mask)
    conf = fit_confidence(runs, mask, CONFIDENCE_FEATURES, own_rate)
    return RankModel(
        tuple(round(float(v), 3) for v in weights), tuple(round(float(v), 3) for v in conf), CONFIDENCE_FEATURES
    )


def confidences(runs: Runs, model: RankModel) -> tuple[np.ndarray, np.ndarray]:
    """The model's confidence for every question asked of its own pool and of the pool without its article."""
    names = model.confidence_features
    return (
        predict(model.confidence, signal_inputs(runs.own_signals, names)),
        predict(model.confidence, signal_inputs(runs.other_signals, names)),
    )


def evaluate(runs: Runs, model: RankModel, mask: np.ndarray, min_confidence: float) -> dict[str, float]:
    """Ranking metrics and answered rates (own / other articles) of a model on the masked questions."""
    ranked, _, _ = reranked(runs, np.asarray(model.rerank))
    own_p, other_p = confidences(runs, model)
    out = ranking_metrics(ranked[mask], runs.gold[mask])
    out["own answered"] = float((own_p[mask] >= min_confidence).mean())
    out["other answered"] = float((other_p[mask] >= min_confidence).mean())
    return out


def threshold_for(runs: Runs, model: RankModel, mask: np.ndarray, own_rate: float) -> float:
    """The confidence threshold that answers ``own_rate`` of the masked own-article questions."""
    own_p, _ = confidences(runs, model)
    return float(np.quantile(own_p[mask], 1.0 - own_rate))


def project_runs(
    pool: Pool, k1: float = 1.2, b: float = 0.75, model: RankModel = DEFAULT_MODEL, extra: Extra | None = None
) -> Runs:
    """Collect the project's features and signals on the pool (own and leave-one-article-out), and
    the ``extra`` experimental signals if given."""
    return collect(pool, engine_maker(Analyzer(), BM25Params(k1, b, 0.25), model), extra=extra)


def _fmt(row: dict[str, float]) -> str:
    return "  ".join(f"{k} {v:.3f}" for k, v in row.items())


def main(argv: list[str] | None = None) -> None:
    """Fit on one fold, report held-out and full-set figures, print the constants to ship."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--fit-fold", type=int, default=0, choices=(0, 1))
    parser.add_argument("--k1", type=float, default=1.2)
    parser.add_argument("--b", type=float, default=0.75)
    parser.add_argument("--own-rate", type=float, default=0.95, help="own questions answered at 0.5 (fitting fold)")
    args = parser.parse_args(argv)
    pool = load_pool(args.data)
    runs = project_runs(pool, args.k1, args.b)
    rerank = fit_model(runs, args.fit_fold, args.own_rate).rerank
    if rerank != DEFAULT_MODEL.rerank:  # the signals depend on the reranker: collect them with the new one
        print(f"reranker changed ({rerank}); collecting the signals again")
        runs = project_runs(pool, args.k1, args.b, RankModel(rerank, DEFAULT_MODEL.confidence))
    everyone = np.ones(len(runs.gold), dtype=bool)
    for fold in (args.fit_fold, 1 - args.fit_fold):
        model = fit_model(runs, fold, args.own_rate)
        held = runs.fold != fold
        print(f"fit on fold {fold}: {model}")
        print(f"  held-out fold {1 - fold} @ 0.5: {_fmt(evaluate(runs, model, held, 0.5))}")
        print(f"  full set         @ 0.5: {_fmt(evaluate(runs, model, everyone, 0.5))}")
    print(f"\nShip (fitted on fold {args.fit_fold}):\nDEFAULT_MODEL = {fit_model(runs, args.fit_fold, args.own_rate)}")


if __name__ == "__main__":
    main()
