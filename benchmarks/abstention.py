"""Fit and measure the confidence model over the collections of :mod:`benchmarks.targets`.

The model is a logistic regression over a few normalised inputs (names from
:data:`bot.answering.SIGNALS`, :data:`benchmarks.evidence.EVIDENCE` and the derived inputs below). It is
fitted on one fold of every training collection -- each collection weighing the same, so the 155
off-topic questions of a fold count as much as 2,500 SQuAD ones -- and measured on the other fold.
Its intercept is then shifted so that 0.5 answers ``own_rate`` of the fitting fold's SQuAD questions
(``answers.min_confidence: 0.5`` is that operating point).

Derived inputs: ``oov_share`` = unseen terms /
distinct terms; ``type_miss`` = 1 - ``type_found``; ``a*b`` products.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from benchmarks.evidence import EVIDENCE
from benchmarks.targets import Observed
from bot.answering import SIGNALS
from bot.semantic import COSINE_FEATURES

# Fitted on (fold f of each); never the summit sets, the BBC leave-one-out run or the paraphrases.
TRAIN = (
    "squad own",
    "squad other",
    "squad gone",
    "nested 2 own",
    "nested 2 other",
    "nested 6 own",
    "nested 6 other",
    "squad offtopic",
    "bbc own",
    "bbc offtopic",
)
# Written for the shipped article and never fitted on: measured whole.
WHOLE = ("summit direct", "summit paraphrases", "summit unanswerable")


def inputs(obs: Observed, names: Sequence[str]) -> np.ndarray:
    """The model inputs ``names`` for every question of a collection (zeros where nothing matched)."""
    raw = np.hstack([obs.signals, obs.evidence])
    named = {n: raw[:, i] for i, n in enumerate((*SIGNALS, *EVIDENCE))}
    named["oov_share"] = named["oov"] / np.maximum(named["terms"], 1.0)
    named["type_miss"] = 1.0 - named["type_found"]
    if obs.cosine.shape[1]:  # collected with the semantic extra on
        named.update({n: obs.cosine[:, i] for i, n in enumerate(COSINE_FEATURES)})

    def one(name: str) -> np.ndarray:
        if "*" in name:
            a, b = name.split("*", 1)
            return one(a) * one(b)
        return named[name]

    x = np.column_stack([one(n) for n in names])
    return np.where(obs.matched[:, None], x, 0.0)


def weighted_logistic(x: np.ndarray, y: np.ndarray, weight: np.ndarray, l2: float = 1e-3) -> np.ndarray:
    """Logistic regression (Newton) with per-sample weights; returns (intercept, coefficients...)."""
    x = np.column_stack([np.ones(len(x)), x])
    weight = weight / weight.mean()
    w = np.zeros(x.shape[1])
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        grad = x.T @ ((p - y) * weight) / len(x) + l2 * w
        hess = (x * (p * (1 - p) * weight)[:, None]).T @ x / len(x) + l2 * np.eye(len(w))
        w -= np.linalg.solve(hess, grad)
    return w


def probability(coef: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The logistic model's output for rows of ``x``."""
    return 1.0 / (1.0 + np.exp(-(coef[0] + x @ coef[1:])))


def fit(
    obs: dict[str, Observed], names: Sequence[str], fold: int, own_rate: float = 0.88, train: Sequence[str] = TRAIN
) -> np.ndarray:
    """The model fitted on ``fold`` of the training collections, shifted so 0.5 answers ``own_rate``."""
    xs, ys, ws = [], [], []
    for name in train:
        o = obs[name]
        mask = o.fold == fold
        xs.append(inputs(o, names)[mask])
        ys.append(np.full(mask.sum(), float(o.label)))
        ws.append(np.full(mask.sum(), 1.0 / max(mask.sum(), 1)))
    coef = weighted_logistic(np.vstack(xs), np.concatenate(ys), np.concatenate(ws))
    own = obs["squad own"]
    p = probability(coef, inputs(own, names)[own.fold == fold])
    cut = float(np.quantile(p, 1.0 - own_rate))
    coef[0] -= math.log(cut / (1.0 - cut))
    return coef


def held_out(obs: Observed, coef: np.ndarray, names: Sequence[str], fold: int, threshold: float = 0.5) -> np.ndarray:
    """Which questions of the held-out part (fold != ``fold``; all of a WHOLE set) are answered."""
    p = probability(coef, inputs(obs, names))
    answered = (p >= threshold) & obs.matched
    return answered if obs.name in WHOLE else answered[obs.fold != fold]


def rates(
    obs: dict[str, Observed], names: Sequence[str], own_rate: float = 0.88, threshold: float = 0.5
) -> dict[str, tuple[float, float, float, float]]:
    """Per collection: answered and right-and-answered, held out, for fit fold 0 -> 1 and fit 1 -> 0."""
    out: dict[str, list[float]] = {}
    for fold in (0, 1):
        coef = fit(obs, names, fold, own_rate)
        for name, o in obs.items():
            answered = held_out(o, coef, names, fold, threshold)
            right = o.right if name in WHOLE else o.right[o.fold != fold]
            out.setdefault(name, []).extend([float(answered.mean()), float((answered & right).mean())])
    return {k: (v[0], v[2], v[1], v[3]) for k, v in out.items()}


# The inputs shipped (see the approaches table of ``python -m benchmarks.quality``).
CONFIDENCE_INPUTS = ("coverage", "sentence", "missing_max", "doc_lift", "mass", "terms_inv")
# The abstention inputs the engine shipped before issue 10, and their coefficients (fitted on fold 0).
PREVIOUS_INPUTS = ("coverage", "sentence", "doc_share", "rare_passage", "ratio", "specific_document")
PREVIOUS_COEF = np.array((-1.945, 2.644, 2.57, 4.781, 0.087, -3.024, -1.024))
_EV = ("coverage", "sentence", "spec_window", "missing_max", "type_miss", "rare_passage", "specific_share")
APPROACHES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("previous 6 signals, refitted", PREVIOUS_INPUTS),
    ("coverage + sentence", ("coverage", "sentence")),
    ("+ spec_window (specific terms in one sentence or two)", ("coverage", "sentence", "spec_window")),
    ("+ missing_max", ("coverage", "sentence", "missing_max")),
    ("+ type_miss (answer type absent)", ("coverage", "sentence", "type_miss")),
    ("+ typed*type_near (type token near a matched word)", ("coverage", "sentence", "typed*type_near")),
    ("+ proximity (question pairs within 3 terms)", ("coverage", "sentence", "proximity")),
    ("+ specific_share (specific terms in the document)", ("coverage", "sentence", "specific_share")),
    ("+ terms_inv", ("coverage", "sentence", "terms_inv")),
    ("+ doc_share", ("coverage", "sentence", "doc_share")),
    ("+ doc_lift", ("coverage", "sentence", "doc_lift")),
    ("evidence 7", _EV),
    ("evidence 7 + oov_share + terms_inv + mass", (*_EV, "oov_share", "terms_inv", "mass")),
    ("evidence 7 + oov_share + terms_inv + mass + doc_share", (*_EV, "oov_share", "terms_inv", "mass", "doc_share")),
    ("evidence 7 + oov_share + terms_inv + mass + doc_lift", (*_EV, "oov_share", "terms_inv", "mass", "doc_lift")),
    ("shipped: " + " + ".join(CONFIDENCE_INPUTS), CONFIDENCE_INPUTS),
    ("shipped + type_miss", (*CONFIDENCE_INPUTS, "type_miss")),
    ("shipped + spec_window", (*CONFIDENCE_INPUTS, "spec_window")),
)


def previous(obs: dict[str, Observed]) -> dict[str, tuple[str, str]]:
    """The previous abstention model at 0.5: answered and right-and-answered, "fold 1 / fold 0"."""
    out = {}
    for name, o in obs.items():
        answered = (probability(PREVIOUS_COEF, inputs(o, PREVIOUS_INPUTS)) >= 0.5) & o.matched
        if name in WHOLE:
            out[name] = (f"{answered.mean():.3f}", f"{(answered & o.right).mean():.3f}")
            continue
        a = [answered[o.fold == f] for f in (1, 0)]
        r = [(answered & o.right)[o.fold == f] for f in (1, 0)]
        out[name] = (f"{a[0].mean():.3f} / {a[1].mean():.3f}", f"{r[0].mean():.3f} / {r[1].mean():.3f}")
    return out
