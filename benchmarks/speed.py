"""Whole-job speed benchmark: the project against rank-bm25 and bm25s on one synthetic corpus.

A seeded synthetic corpus (Zipf-distributed words from a generated vocabulary, ~90 words per
paragraph) is written as real ``.md`` articles under ``benchmarks/.cache/`` and a seeded set of
short questions is drawn from it. Each system then runs THE WHOLE JOB in its own fresh Python
process (so that ``ru_maxrss`` is that system's peak memory): read the files, tokenize, index and
answer every question.

* ``rank-bm25``: ``BM25Okapi`` with plain ``get_scores`` (optionally on a sample of questions,
  extrapolated to all of them; the output says so).
* ``bm25s``: its own tokenizer with stopwords and a PyStemmer stemmer, as its README recommends.
* ``project``: :func:`bot.engine.build_engine` on the folder, then ``engine.answer`` per question;
  the BM25 stage (``index.top``) is timed separately too.

A correctness check compares the project's top-3 with ``BM25Okapi``'s top-3 on the project's own
analysed tokens for a sample of questions.

Run: ``python benchmarks/speed.py`` (full size) or e.g. ``--paragraphs 10000 --questions 200
--skip-rank-bm25`` for a quick run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = HERE / ".cache"
PARAGRAPHS_PER_FILE = 100
WORDS_PER_PARAGRAPH = 90
SEED = 20240601
_CONSONANTS = "bcdfghjklmnprstvwz"
_VOWELS = "aeiou"


# --------------------------------------------------------------------------- corpus generation


def make_vocabulary(size: int, rng: np.random.Generator) -> list[str]:
    """``size`` distinct pronounceable pseudo-words (2-4 consonant-vowel syllables, some with a tail)."""
    words: set[str] = set()
    out: list[str] = []
    while len(out) < size:
        n = int(rng.integers(2, 5))
        cons = rng.integers(0, len(_CONSONANTS), n)
        vows = rng.integers(0, len(_VOWELS), n)
        word = "".join(_CONSONANTS[c] + _VOWELS[v] for c, v in zip(cons, vows, strict=True))
        if rng.random() < 0.3:
            word += _CONSONANTS[int(rng.integers(0, len(_CONSONANTS)))]
        if word not in words:
            words.add(word)
            out.append(word)
    return out


def corpus_dir(paragraphs: int) -> Path:
    """The cache folder for a corpus of this size (generated once, then reused)."""
    return CACHE / f"corpus-{paragraphs}-seed{SEED}"


def generate_corpus(paragraphs: int, vocab_size: int = 50_000) -> tuple[Path, list[str]]:
    """Write the synthetic corpus (if not cached) and return its folder and vocabulary."""
    rng = np.random.default_rng(SEED)
    vocab = make_vocabulary(vocab_size, rng)
    folder = corpus_dir(paragraphs)
    done = folder / ".complete"
    if done.exists():
        return folder, vocab
    folder.mkdir(parents=True, exist_ok=True)
    n_files = -(-paragraphs // PARAGRAPHS_PER_FILE)
    # Zipf over vocabulary ranks (s = 1.07), truncated to the vocabulary.
    ranks = np.arange(1, vocab_size + 1, dtype=np.float64)
    prob = ranks**-1.07
    prob /= prob.sum()
    words = np.array(vocab, dtype=object)
    left = paragraphs
    for f in range(n_files):
        count = min(PARAGRAPHS_PER_FILE, left)
        left -= count
        lengths = rng.integers(WORDS_PER_PARAGRAPH - 30, WORDS_PER_PARAGRAPH + 31, count)
        ids = rng.choice(vocab_size, size=int(lengths.sum()), p=prob)
        drawn = words[ids]
        paras = []
        pos = 0
        for n in lengths:
            chunk = list(drawn[pos : pos + n])
            pos += n
            # Sentences of ~15 words: capitalised first word, full stop at the end.
            for s in range(0, len(chunk), 15):
                chunk[s] = chunk[s].capitalize()
                end = min(s + 15, len(chunk)) - 1
                chunk[end] = chunk[end] + "."
            paras.append(" ".join(chunk))
        body = "\n\n".join(paras)
        text = f"---\ntitle: Synthetic article {f}\nsource: Synthetic Wire\n---\n\n{body}\n"
        (folder / f"article-{f:05d}.md").write_text(text, encoding="utf-8")
    done.write_text("ok\n")
    return folder, vocab


def make_questions(folder: Path, n: int) -> list[str]:
    """``n`` seeded questions of 2-4 words, most drawn from one real paragraph so that they hit."""
    rng = np.random.default_rng(SEED + 1)
    files = sorted(folder.glob("*.md"))
    questions = []
    for i in range(n):
        path = files[int(rng.integers(0, len(files)))]
        paras = read_paragraphs(path)
        para = paras[int(rng.integers(0, len(paras)))]
        words = [w.strip(".").lower() for w in para.split()]
        k = int(rng.integers(2, 5))
        picked = [words[int(j)] for j in rng.integers(0, len(words), k)]
        if i % 10 == 9:  # one in ten carries a word the corpus never uses
            picked.append("zzqx" + str(i))
        questions.append("What about " + " ".join(picked) + "?")
    return questions


def read_paragraphs(path: Path) -> list[str]:
    """The anchors' reader: strip the front matter, split the body on blank lines."""
    text = path.read_text(encoding="utf-8")
    if text.startswith("---"):
        end = text.find("\n---", 3)
        text = text[text.find("\n", end + 1) + 1 :]
    return [" ".join(p.split()) for p in text.split("\n\n") if p.strip()]


def read_all(folder: Path) -> list[str]:
    """Every paragraph of every article, in file-name order."""
    out: list[str] = []
    for path in sorted(folder.glob("*.md")):
        out.extend(read_paragraphs(path))
    return out


# --------------------------------------------------------------------------- workers (child processes)


def _peak_mb() -> float:
    """This process's peak resident memory in MB (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker_rank_bm25(folder: Path, questions: list[str], sample: int) -> dict[str, Any]:
    """rank-bm25 BM25Okapi: read, tokenize (regex + stopwords + PyStemmer), index, ``get_scores``."""
    import Stemmer
    from rank_bm25 import BM25Okapi

    from bot.analysis import STOPWORDS

    stem = Stemmer.Stemmer("english").stemWords
    word = re.compile(r"\w+")

    def tok(text: str) -> list[str]:
        return stem([w for w in word.findall(text.lower()) if w not in STOPWORDS])

    t = {}
    t0 = time.perf_counter()
    texts = read_all(folder)
    t["read"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    docs = [tok(x) for x in texts]
    t["tokenize"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    bm = BM25Okapi(docs)
    t["index"] = time.perf_counter() - t0
    chosen = questions if sample <= 0 or sample >= len(questions) else questions[:sample]
    lat = []
    for q in chosen:
        t0 = time.perf_counter()
        scores = bm.get_scores(tok(q))
        np.argsort(-scores, kind="stable")[:3]
        lat.append(time.perf_counter() - t0)
    t["answer"] = sum(lat) * len(questions) / len(chosen)
    return {
        "stages": t,
        "extrapolated_from": len(chosen) if len(chosen) < len(questions) else None,
        "latency": lat,
        "peak_mb": _peak_mb(),
    }


def worker_bm25s(folder: Path, questions: list[str]) -> dict[str, Any]:
    """bm25s: its tokenizer with English stopwords and a PyStemmer stemmer, ``retrieve(k=3)``."""
    import bm25s
    import Stemmer

    stemmer = Stemmer.Stemmer("english")
    t = {}
    t0 = time.perf_counter()
    texts = read_all(folder)
    t["read"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    tokens = bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False)
    t["tokenize"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    retriever = bm25s.BM25()
    retriever.index(tokens, show_progress=False)
    t["index"] = time.perf_counter() - t0
    lat = []
    t0 = time.perf_counter()
    for q in questions:
        t1 = time.perf_counter()
        qt = bm25s.tokenize([q], stopwords="en", stemmer=stemmer, show_progress=False)
        if qt.ids and qt.ids[0]:
            retriever.retrieve(qt, k=3, show_progress=False)
        lat.append(time.perf_counter() - t1)
    t["answer"] = time.perf_counter() - t0
    return {"stages": t, "latency": lat, "peak_mb": _peak_mb()}


def worker_project(folder: Path, questions: list[str]) -> dict[str, Any]:
    """The project: ``build_engine`` (loader + analyzer + index), then ``engine.answer`` per question."""
    import bot.engine as engine_mod
    from bot.config import CorpusSettings, Settings

    t: dict[str, float] = {}

    def timed(name: str, fn: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                t[name] = t.get(name, 0.0) + time.perf_counter() - t0

        return wrapper

    # Time build_engine's stages by wrapping what it calls (the build itself is unchanged).
    engine_mod.load_corpus = timed("read", engine_mod.load_corpus)
    real_from_texts = engine_mod.BM25Index.from_texts

    class _Timed(engine_mod.BM25Index):
        from_texts = classmethod(lambda cls, *a, **k: timed("tokenize+index", real_from_texts)(*a, **k))

    engine_mod.BM25Index = _Timed
    t0 = time.perf_counter()
    engine = engine_mod.build_engine(Settings(corpus=CorpusSettings(path=folder)))
    build = time.perf_counter() - t0
    t["other build"] = build - t.get("read", 0.0) - t.get("tokenize+index", 0.0)
    lat = []
    answered = 0
    t0 = time.perf_counter()
    for q in questions:
        t1 = time.perf_counter()
        a = engine.answer(q)
        lat.append(time.perf_counter() - t1)
        answered += a.answered
    t["answer"] = time.perf_counter() - t0
    peak = _peak_mb()
    analyzed = [engine.analyzer.analyze(q) for q in questions]
    top_lat = []
    for terms in analyzed:
        t1 = time.perf_counter()
        engine.index.top(terms, 3)
        top_lat.append(time.perf_counter() - t1)
    return {
        "stages": t,
        "latency": lat,
        "top_latency": top_lat,
        "answered": answered,
        "peak_mb": peak,
        "n_passages": engine.index.n_docs,
        "postings": int(engine.index.post_docs.size),
        "index_mb": engine.index.memory_bytes / 2**20,
    }


def worker_check(folder: Path, questions: list[str], sample: int) -> dict[str, Any]:
    """Top-3 of ``index.top`` against ``BM25Okapi`` fed the project's own analysed tokens."""
    from rank_bm25 import BM25Okapi

    from bot.config import CorpusSettings, Settings
    from bot.engine import build_engine

    settings = Settings(corpus=CorpusSettings(path=folder))
    engine = build_engine(settings)
    s = settings.search
    docs = engine.analyzer.analyze_many([p.text for p in engine.corpus.passages])
    bm = BM25Okapi(docs, k1=s.k1, b=s.b, epsilon=s.epsilon)
    rng = np.random.default_rng(SEED + 2)
    picks = rng.choice(len(questions), size=min(sample, len(questions)), replace=False)
    same = 0
    mismatches = []
    max_err = 0.0
    for i in picks:
        terms = engine.analyzer.analyze(questions[int(i)])
        ours = engine.index.top(terms, 3)
        scores = bm.get_scores(terms)
        mine = engine.index.get_scores(terms)
        max_err = max(max_err, float(np.max(np.abs(scores - mine))) if scores.size else 0.0)
        known = [x for x in set(terms) if engine.index.contains(x)]
        matched = np.zeros(len(docs), dtype=bool)
        for x in known:
            matched |= np.array([x in d for d in bm.doc_freqs])
        cand = np.flatnonzero(matched)
        order = cand[np.lexsort((cand, -scores[cand]))][:3]
        ref = [int(j) for j in order]
        if ref == [d for d, _ in ours]:
            same += 1
        else:
            mismatches.append({"question": questions[int(i)], "ours": ours, "ref": ref})
    return {"checked": len(picks), "same": same, "mismatches": mismatches[:5], "max_abs_score_err": max_err}


# --------------------------------------------------------------------------- driver


def run_child(system: str, args: argparse.Namespace, folder: Path, qfile: Path) -> dict[str, Any]:
    """Run one system in a fresh interpreter and return its JSON report."""
    cmd = [sys.executable, __file__, "--worker", system, "--folder", str(folder), "--qfile", str(qfile)]
    cmd += ["--rank-sample", str(args.rank_sample), "--check-sample", str(args.check_sample)]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(f"{system} worker failed:\n{out.stderr}")
    report = json.loads(out.stdout.strip().splitlines()[-1])
    report["wall"] = wall
    return report


def pct(values: list[float], q: float) -> float:
    """The ``q``-th percentile of ``values`` in milliseconds."""
    return float(np.percentile(np.array(values) * 1000, q)) if values else float("nan")


def main(argv: list[str] | None = None) -> int:
    """Parse options, generate the corpus, run each system in its own process and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--paragraphs", type=int, default=100_000)
    ap.add_argument("--questions", type=int, default=1_000)
    ap.add_argument("--rank-sample", type=int, default=100, help="questions timed on rank-bm25 (0: all)")
    ap.add_argument("--check-sample", type=int, default=50, help="questions in the top-3 check")
    ap.add_argument("--skip-rank-bm25", action="store_true")
    ap.add_argument("--skip-bm25s", action="store_true")
    ap.add_argument("--skip-check", action="store_true")
    ap.add_argument("--repeat", type=int, default=1, help="runs of the project (best is reported)")
    ap.add_argument("--json", type=Path, help="also write the raw reports here")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--qfile", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker:
        questions = json.loads(args.qfile.read_text(encoding="utf-8"))
        if args.worker == "rank-bm25":
            report = worker_rank_bm25(args.folder, questions, args.rank_sample)
        elif args.worker == "bm25s":
            report = worker_bm25s(args.folder, questions)
        elif args.worker == "project":
            report = worker_project(args.folder, questions)
        else:
            report = worker_check(args.folder, questions, args.check_sample)
        print(json.dumps(report))
        return 0

    t0 = time.perf_counter()
    folder, _ = generate_corpus(args.paragraphs)
    questions = make_questions(folder, args.questions)
    qfile = folder.parent / f"questions-{args.paragraphs}-{args.questions}.json"
    qfile.write_text(json.dumps(questions), encoding="utf-8")
    print(f"corpus: {folder} ({args.paragraphs:,} paragraphs; ready in {time.perf_counter() - t0:.1f}s)")
    print(f"questions: {len(questions):,}, e.g. {questions[0]!r}")

    reports: dict[str, dict[str, Any]] = {}
    if not args.skip_rank_bm25:
        reports["rank-bm25"] = run_child("rank-bm25", args, folder, qfile)
    if not args.skip_bm25s:
        reports["bm25s"] = run_child("bm25s", args, folder, qfile)
    runs = [run_child("project", args, folder, qfile) for _ in range(max(1, args.repeat))]
    reports["project"] = min(runs, key=lambda r: sum(r["stages"].values()))
    check = None if args.skip_check else run_child("check", args, folder, qfile)

    stages = ["read", "tokenize", "index", "tokenize+index", "other build", "answer"]
    names = list(reports)
    print()
    print(f"{'stage (s)':<22}" + "".join(f"{n:>14}" for n in names))
    for st in stages:
        if not any(st in reports[n]["stages"] for n in names):
            continue
        row = "".join(
            f"{reports[n]['stages'][st]:>14.2f}" if st in reports[n]["stages"] else f"{'-':>14}" for n in names
        )
        print(f"{st:<22}{row}")
    totals = {n: sum(reports[n]["stages"].values()) for n in names}
    print(f"{'TOTAL':<22}" + "".join(f"{totals[n]:>14.2f}" for n in names))
    print(f"{'peak memory (MB)':<22}" + "".join(f"{reports[n]['peak_mb']:>14.0f}" for n in names))
    print(f"{'answer p50 (ms)':<22}" + "".join(f"{pct(reports[n]['latency'], 50):>14.2f}" for n in names))
    print(f"{'answer p95 (ms)':<22}" + "".join(f"{pct(reports[n]['latency'], 95):>14.2f}" for n in names))
    proj = reports["project"]
    print(f"{'index.top p50/p95 ms':<22}{'':>{14 * (len(names) - 1)}}", end="")
    print(f"{pct(proj['top_latency'], 50):>7.2f}/{pct(proj['top_latency'], 95):<6.2f}")
    print()
    if "rank-bm25" in reports and reports["rank-bm25"].get("extrapolated_from"):
        n = reports["rank-bm25"]["extrapolated_from"]
        print(f"rank-bm25 'answer' is get_scores timed on {n} questions, extrapolated to {len(questions):,}.")
    print("rank-bm25/bm25s 'answer' is ranking only; the project's is the full engine.answer (with highlights).")
    for n in names:
        if n != "project":
            print(
                f"project vs {n}: {totals[n] / totals['project']:.1f}x faster on the whole job, "
                f"{proj['peak_mb'] / reports[n]['peak_mb']:.2f}x its peak memory"
            )
    print(
        f"project: {proj['n_passages']:,} passages, {proj['postings']:,} postings, "
        f"index arrays {proj['index_mb']:.0f} MB, {proj['answered']:,}/{len(questions):,} questions answered"
    )
    if check is not None:
        ok = check["same"] == check["checked"]
        print(
            f"top-3 check vs BM25Okapi on the project's tokens: {check['same']}/{check['checked']} identical"
            f" (max |score diff| {check['max_abs_score_err']:.2e}) {'OK' if ok else 'MISMATCH'}"
        )
        for m in check["mismatches"]:
            print("  ", m)
    if args.json:
        args.json.write_text(json.dumps({"reports": reports, "check": check}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
