"""Whole-job speed benchmark: the project against tantivy, SQLite FTS5, bm25s and rank-bm25.

A seeded synthetic corpus (Zipf-distributed words from a generated vocabulary, ~90 words per
paragraph) is written as real ``.md`` articles under ``benchmarks/.cache/`` and a seeded set of
short questions is drawn from it. Each system then runs THE WHOLE JOB in its own fresh Python
process (so that ``ru_maxrss`` is that system's peak memory): read the files, tokenize, index and
answer every question.

* ``rank-bm25``: ``BM25Okapi`` with plain ``get_scores`` (optionally on a sample of questions,
  extrapolated to all of them; the output says so).
* ``bm25s``: its own tokenizer with stopwords and a PyStemmer stemmer, as its README recommends.
* ``tantivy`` (0.27, Rust, via its Python bindings): its ``en_stem`` tokenizer, an in-RAM index
  written with its default threads, top-3 per question (and top-30 for the BM25-stage latency).
* ``fts5``: SQLite FTS5 with the ``porter`` tokenizer, ``ORDER BY rank LIMIT 3`` on an OR of the
  question's words (optionally on a sample of questions, extrapolated; the output says so).
* ``project``: :func:`bot.engine.build_engine` on the folder, then ``engine.answer`` per question;
  the BM25 stage (``index.top``) is timed separately too, at k = 3 and at the answer's depth.
* ``ablations`` (with ``--ablations``): the BM25 stage under the final query configuration and
  without each query aid (no dense rows, heads of 256 or 2,048 postings, a first batch of 1,024),
  interleaved question by question, best CPU time of 3.
* ``project-cold`` (with ``--cold``): a saved index is written once (``summitbot index``'s work),
  then a fresh process times start -> first answer with it, and a ``/reload`` of a copy of the
  corpus (hard links) with one article changed, reusing the running engine's postings.

A correctness check compares the project's top-3 with ``BM25Okapi``'s top-3 on the project's own
analysed tokens for a sample of questions.

Run: ``python benchmarks/speed.py`` (full size) or e.g. ``--paragraphs 10000 --questions 200
--skip-rank-bm25`` for a quick run; ``--paragraphs 1000000 --skip-rank-bm25 --skip-fts5 --cold``
for the million-paragraph scale (the corpus is generated once into ``benchmarks/.cache``).
"""

from __future__ import annotations

import argparse
import json
import math
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


def _rss_mb() -> float:
    """This process's resident memory now, in MB (``VmRSS``; memory-mapped pages read count too)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _words(question: str) -> list[str]:
    """The anchors' query words: lower-cased runs of word characters."""
    return re.findall(r"\w+", question.lower())


def worker_tantivy(folder: Path, questions: list[str]) -> dict[str, Any]:
    """tantivy: ``en_stem`` text field, in-RAM index (default writer threads), top-3 per question."""
    import tantivy

    t: dict[str, float] = {}
    t0 = time.perf_counter()
    texts = read_all(folder)
    t["read"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("body", stored=False, tokenizer_name="en_stem")
    builder.add_unsigned_field("pid", stored=True)
    index = tantivy.Index(builder.build())
    writer = index.writer()
    for i, text in enumerate(texts):
        doc = tantivy.Document()
        doc.add_text("body", text)
        doc.add_unsigned("pid", i)
        writer.add_document(doc)
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    searcher = index.searcher()
    del texts
    t["tokenize+index"] = time.perf_counter() - t0
    lat = []
    t0 = time.perf_counter()
    for q in questions:
        t1 = time.perf_counter()
        words = _words(q)
        if words:
            searcher.search(index.parse_query(" ".join(words), ["body"]), 3)
        lat.append(time.perf_counter() - t1)
    t["answer"] = time.perf_counter() - t0
    queries = [" ".join(_words(q)) for q in questions]
    timings: dict[str, list[float]] = {}
    for name, k in (("top", 3), ("top30", 30)):
        wall, cpu = _measure(lambda q, k=k: q and searcher.search(index.parse_query(q, ["body"]), k), queries)
        timings[f"{name}_latency"], timings[f"{name}_cpu"] = wall, cpu
    return {
        "stages": t,
        "latency": lat,
        **timings,
        "peak_mb": _peak_mb(),
        "rss_mb": _rss_mb(),
    }


def worker_fts5(folder: Path, questions: list[str], sample: int) -> dict[str, Any]:
    """SQLite FTS5 (``porter`` tokenizer, in memory): ``ORDER BY rank LIMIT 3`` on an OR of the words."""
    import sqlite3

    t: dict[str, float] = {}
    t0 = time.perf_counter()
    texts = read_all(folder)
    t["read"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE p USING fts5(body, tokenize='porter')")
    db.executemany("INSERT INTO p(rowid, body) VALUES (?, ?)", enumerate(texts))
    db.commit()
    del texts
    t["tokenize+index"] = time.perf_counter() - t0
    chosen = questions if sample <= 0 or sample >= len(questions) else questions[:sample]
    lat = []
    for q in chosen:
        t1 = time.perf_counter()
        words = _words(q)
        if words:
            match = " OR ".join(f'"{w}"' for w in words)
            db.execute("SELECT rowid FROM p WHERE p MATCH ? ORDER BY rank LIMIT 3", (match,)).fetchall()
        lat.append(time.perf_counter() - t1)
    t["answer"] = sum(lat) * len(questions) / len(chosen)
    return {
        "stages": t,
        "latency": lat,
        "top_latency": lat,
        "extrapolated_from": len(chosen) if len(chosen) < len(questions) else None,
        "peak_mb": _peak_mb(),
        "rss_mb": _rss_mb(),
    }


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
    engine_mod.load_or_build = timed("tokenize+index", engine_mod.load_or_build)
    t0 = time.perf_counter()
    engine = engine_mod.build_engine(Settings(corpus=CorpusSettings(path=folder)))
    build = time.perf_counter() - t0
    t["other build"] = build - t.get("read", 0.0) - t.get("tokenize+index", 0.0)
    lat = []
    answer_cpu = []
    answered = 0
    t0 = time.perf_counter()
    for q in questions:
        t1, c1 = time.perf_counter(), time.thread_time()
        a = engine.answer(q)
        answer_cpu.append(time.thread_time() - c1)
        lat.append(time.perf_counter() - t1)
        answered += a.answered
    t["answer"] = time.perf_counter() - t0
    peak = _peak_mb()
    rss = _rss_mb()
    return {
        "stages": t,
        "latency": lat,
        "answer_cpu": answer_cpu,
        **_top_latencies(engine, questions),
        "answered": answered,
        "peak_mb": peak,
        "rss_mb": rss,
        "n_passages": engine.index.n_docs,
        "postings": int(engine.index.post_docs.size),
        "index_mb": engine.index.memory_bytes / 2**20,
    }


def _measure(fn: Any, items: list[Any]) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU (this thread's) seconds of ``fn(item)`` for each item.

    On a shared machine the wall-clock tail is mostly time spent waiting for a core; CPU time is
    the work itself. Both are reported.
    """
    wall, cpu = [], []
    for item in items:
        w0, c0 = time.perf_counter(), time.thread_time()
        fn(item)
        cpu.append(time.thread_time() - c0)
        wall.append(time.perf_counter() - w0)
    return wall, cpu


def _top_latencies(engine: Any, questions: list[str]) -> dict[str, list[float]]:
    """The BM25 stage alone (``index.top``) per question, at k = 3 and at the answer's depth (30)."""
    from bot.answering.rerank import RERANK_DEPTH

    analyzed = [engine.analyzer.analyze(q) for q in questions]
    out: dict[str, list[float]] = {}
    for name, k in (("top", 3), ("top30", RERANK_DEPTH)):
        wall, cpu = _measure(lambda terms, k=k: engine.index.top(terms, k), analyzed)
        out[f"{name}_latency"], out[f"{name}_cpu"] = wall, cpu
    return out


class _MemorySampler:
    """Samples this process's and a child's resident (RSS) and proportional (PSS: shared pages
    split between the processes that map them) memory every 100 ms; keeps the largest sums."""

    def __init__(self) -> None:
        import threading

        self.pids = [os.getpid()]
        self.rss = self.pss = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _read(pid: int) -> tuple[float, float]:
        rss = pss = 0.0
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss = int(line.split()[1]) / 1024
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1]) / 1024
        except OSError:
            pass
        return rss, pss

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            pairs = [self._read(pid) for pid in list(self.pids)]
            self.rss = max(self.rss, sum(r for r, _ in pairs))
            self.pss = max(self.pss, sum(p for _, p in pairs))

    def watch(self, pid: int) -> None:
        """Also sample process ``pid`` (the reload's child)."""
        self.pids.append(pid)

    def __enter__(self) -> _MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def worker_project_cold(folder: Path, questions: list[str], launched: float) -> dict[str, Any]:
    """Start -> first answer with a saved index (written beforehand), then a ``/reload`` with one change.

    ``launched`` is the parent's ``time.time()`` just before starting this process, so interpreter
    start-up and imports count. The reload is the bot's with a saved index: a child process
    (``bot.rebuild``) reads a hard-linked copy of the corpus with one article rewritten, parsing and
    analysing only that article, and writes the new generation into a hard-linked copy of the
    cache folder; this process then maps it. Memory through the reload is sampled in both processes.
    """
    import asyncio
    import dataclasses
    import shutil

    from bot.engine import build_engine, open_saved_engine
    from bot.rebuild import rebuild_in_child

    settings = _cached_settings(folder)
    engine = build_engine(settings)
    engine.answer(questions[0])
    cold = time.time() - launched
    cold_cpu = time.process_time()
    outcome = engine.index_outcome.summary() if engine.index_outcome else ""
    rss_loaded = _rss_mb()
    lat = []
    for q in questions:
        t1 = time.perf_counter()
        engine.answer(q)
        lat.append(time.perf_counter() - t1)
    rss_answered = _rss_mb()
    peak_before_reload = _peak_mb()
    copy = CACHE / f"reload-{folder.name}"
    shutil.rmtree(copy, ignore_errors=True)
    copy.mkdir()
    files = sorted(folder.glob("*.md"))
    for path in files:
        os.link(path, copy / path.name)
    changed = copy / files[len(files) // 2].name
    text = changed.read_text(encoding="utf-8")
    changed.unlink()  # a new file: the hard link's original stays as it was
    changed.write_text(text.replace("\n\n", "\n\nZebra quagga okapi.\n\n", 1), encoding="utf-8")
    reload_cache = CACHE / f"index-reload-{folder.name}"
    shutil.rmtree(reload_cache, ignore_errors=True)
    reload_cache.mkdir()
    for path in settings.search.index_cache.iterdir():  # the running bot's saved generation
        os.link(path, reload_cache / path.name)
    settings = dataclasses.replace(
        settings,
        corpus=dataclasses.replace(settings.corpus, path=copy),
        search=dataclasses.replace(settings.search, index_cache=reload_cache),
    )
    t0, c0 = time.perf_counter(), time.thread_time()
    with _MemorySampler() as sampler:
        report = asyncio.run(rebuild_in_child(settings, 3600.0, on_start=sampler.watch))
        child_seconds = time.perf_counter() - t0
        reloaded = open_saved_engine(settings, report.outcome)
        reloaded.answer(questions[1])
        reload_seconds = time.perf_counter() - t0
        parent_cpu = time.thread_time() - c0  # this thread (not the sampler's)
        del engine  # the bot drops the old engine once the new one is swapped in
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    rss_after_reload = _rss_mb()
    shutil.rmtree(copy, ignore_errors=True)
    shutil.rmtree(reload_cache, ignore_errors=True)
    return {
        "stages": {},
        "cold_start": cold,
        "cold_cpu": cold_cpu,
        "outcome": outcome,
        "latency": lat,
        **_top_latencies(reloaded, questions[:200]),
        "rss_loaded_mb": rss_loaded,
        "rss_mb": rss_answered,
        "peak_before_reload_mb": peak_before_reload,
        "peak_mb": _peak_mb(),
        "reload_seconds": reload_seconds,
        "reload_child_seconds": child_seconds,
        "reload_child_cpu": children.ru_utime + children.ru_stime,
        "reload_parent_cpu": parent_cpu,
        "reload_child_peak_mb": children.ru_maxrss / 1024,
        "reload_sampled_rss_mb": sampler.rss,
        "reload_sampled_pss_mb": sampler.pss,
        "rss_after_reload_mb": rss_after_reload,
        "reload_outcome": report.outcome.summary(),
    }


def _cached_settings(folder: Path) -> Any:
    """Default settings on ``folder`` with the saved index in ``benchmarks/.cache/index-<corpus>``."""
    from bot.config import CorpusSettings, SearchSettings, Settings

    cache = CACHE / f"index-{folder.name}"
    return Settings(corpus=CorpusSettings(path=folder), search=SearchSettings(index_cache=cache))


def save_index(folder: Path) -> str:
    """Write the saved index for ``folder`` (as ``summitbot index`` does); returns its summary line."""
    from bot.engine import build_engine

    engine = build_engine(_cached_settings(folder))
    return engine.index_outcome.summary() if engine.index_outcome else ""


ABLATIONS = ("final", "no dense rows", "heads of 256", "heads of 2048", "first batch 1024")
"""Query configurations that ``--ablations`` times against each other (see :func:`worker_ablations`)."""


def worker_ablations(folder: Path, questions: list[str]) -> dict[str, Any]:
    """``index.top`` per question under each of :data:`ABLATIONS`, interleaved question by question
    (so that a busy moment hits every configuration alike), best CPU time of 3 per question.

    One index is built; each configuration is a shallow copy with one query aid changed: dense rows
    switched off, heads rebuilt at another size, or a smaller first batch. Every configuration must
    return the same top k (checked).
    """
    import copy

    import bot.search as search
    from bot.answering.rerank import RERANK_DEPTH
    from bot.config import CorpusSettings, Settings
    from bot.engine import build_engine

    engine = build_engine(Settings(corpus=CorpusSettings(path=folder)))
    base = engine.index
    configs: dict[str, tuple[Any, int]] = {}
    for name in ABLATIONS:
        index, batch = copy.copy(base), search.BATCH
        if name == "no dense rows":
            index.dense_row = np.full(base.dense_row.size, -1, dtype=np.int32)
        elif name.startswith("heads of"):
            saved = search.HEAD
            search.HEAD = int(name.split()[-1])
            try:
                index._heads()
            finally:
                search.HEAD = saved
        elif name == "first batch 1024":
            batch = 1024
        configs[name] = (index, batch)
    analyzed = [engine.analyzer.analyze(q) for q in questions]
    out: dict[str, Any] = {"mismatches": 0}
    default_batch = search.BATCH
    try:
        for k in (3, RERANK_DEPTH):
            cpu: dict[str, list[float]] = {name: [] for name in configs}
            for terms in analyzed:
                reference = None
                for name, (index, batch) in configs.items():
                    search.BATCH = batch
                    best = math.inf
                    for _ in range(3):
                        c0 = time.thread_time()
                        got = index.top(terms, k)
                        best = min(best, time.thread_time() - c0)
                    cpu[name].append(best)
                    if reference is None:
                        reference = got
                    elif got != reference:
                        out["mismatches"] += 1
            out[f"k{k}"] = cpu
    finally:
        search.BATCH = default_batch
    return out


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
    cmd += ["--fts5-sample", str(args.fts5_sample), "--launched", repr(time.time())]
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
    ap.add_argument("--skip-tantivy", action="store_true")
    ap.add_argument("--skip-fts5", action="store_true")
    ap.add_argument("--fts5-sample", type=int, default=100, help="questions timed on FTS5 (0: all)")
    ap.add_argument("--cold", action="store_true", help="also time start -> first answer with a saved index")
    ap.add_argument("--ablations", action="store_true", help="also time the BM25 stage without each query aid")
    ap.add_argument("--repeat", type=int, default=1, help="runs of the project (best is reported)")
    ap.add_argument("--json", type=Path, help="also write the raw reports here")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--qfile", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--launched", type=float, default=0.0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker:
        questions = json.loads(args.qfile.read_text(encoding="utf-8"))
        if args.worker == "rank-bm25":
            report = worker_rank_bm25(args.folder, questions, args.rank_sample)
        elif args.worker == "bm25s":
            report = worker_bm25s(args.folder, questions)
        elif args.worker == "project":
            report = worker_project(args.folder, questions)
        elif args.worker == "tantivy":
            report = worker_tantivy(args.folder, questions)
        elif args.worker == "fts5":
            report = worker_fts5(args.folder, questions, args.fts5_sample)
        elif args.worker == "ablations":
            report = worker_ablations(args.folder, questions)
        elif args.worker == "project-cold":
            report = worker_project_cold(args.folder, questions, args.launched)
        elif args.worker == "save-index":
            report = {"summary": save_index(args.folder)}
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
    if not args.skip_fts5:
        reports["fts5"] = run_child("fts5", args, folder, qfile)
    if not args.skip_bm25s:
        reports["bm25s"] = run_child("bm25s", args, folder, qfile)
    runs, anchor_runs = [], []
    for _ in range(max(1, args.repeat)):  # interleaved, so that a busy moment hits both
        if not args.skip_tantivy:
            anchor_runs.append(run_child("tantivy", args, folder, qfile))
        runs.append(run_child("project", args, folder, qfile))
    if anchor_runs:
        reports["tantivy"] = min(anchor_runs, key=lambda r: sum(r["stages"].values()))
    reports["project"] = min(runs, key=lambda r: sum(r["stages"].values()))
    cold = None
    if args.cold:
        print(run_child("save-index", args, folder, qfile)["summary"])
        cold = run_child("project-cold", args, folder, qfile)
    check = None if args.skip_check else run_child("check", args, folder, qfile)
    ablations = run_child("ablations", args, folder, qfile) if args.ablations else None

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
    print(f"{'resident at end (MB)':<22}" + "".join(f"{reports[n].get('rss_mb', float('nan')):>14.0f}" for n in names))
    print(f"{'answer p50 (ms)':<22}" + "".join(f"{pct(reports[n]['latency'], 50):>14.2f}" for n in names))
    print(f"{'answer p95 (ms)':<22}" + "".join(f"{pct(reports[n]['latency'], 95):>14.2f}" for n in names))
    proj = reports["project"]
    rows = (
        ("top_latency", "top-3"),
        ("top30_latency", "top-30"),
        ("top_cpu", "top-3 CPU"),
        ("top30_cpu", "top-30 CPU"),
    )
    for key, label in rows:
        cells = [
            f"{pct(reports[n][key], 50):.2f}/{pct(reports[n][key], 95):.2f}" if key in reports[n] else "-"
            for n in names
        ]
        print(f"{label + ' p50/p95 ms':<22}" + "".join(f"{c:>14}" for c in cells))
    print()
    print("top-k rows: the BM25 stage alone (project: index.top on analysed terms; anchors: their search call);")
    print("'CPU' rows: the calling thread's CPU time for the same calls (wall-clock minus waiting for a core).")
    if "tantivy" in reports:
        tv = reports["tantivy"]
        for key, label in rows:
            print(
                f"project vs tantivy, {label}: p50 {pct(tv[key], 50) / pct(proj[key], 50):.2f}x, "
                f"p95 {pct(tv[key], 95) / pct(proj[key], 95):.2f}x faster"
            )
        ratio = pct(proj["latency"], 95) / pct(proj["top30_latency"], 95)
        cpu_ratio = pct(proj["answer_cpu"], 95) / pct(proj["top30_cpu"], 95)
        print(
            f"project full answer p95 / its BM25 top-30 p95: {ratio:.2f} wall-clock, {cpu_ratio:.2f} CPU time "
            f"(answer CPU p50/p95 {pct(proj['answer_cpu'], 50):.2f}/{pct(proj['answer_cpu'], 95):.2f} ms)"
        )
    if cold is not None:
        print(
            f"cold start with a saved index (process start -> first answer): {cold['cold_start']:.2f}s "
            f"({cold['cold_cpu']:.2f} CPU s) [{cold['outcome']}]; resident after load {cold['rss_loaded_mb']:.0f} MB, "
            f"after {len(cold['latency']):,} answers {cold['rss_mb']:.0f} MB, peak before reload "
            f"{cold['peak_before_reload_mb']:.0f} MB"
        )
        print(
            f"answer p50/p95 on the saved index: {pct(cold['latency'], 50):.2f}/{pct(cold['latency'], 95):.2f} ms; "
            f"/reload with one article changed: {cold['reload_seconds']:.2f}s to the first answer on the new engine "
            f"(child {cold['reload_child_seconds']:.2f}s, {cold['reload_child_cpu']:.2f} CPU s; this process "
            f"{cold['reload_parent_cpu']:.2f} CPU s) [{cold['reload_outcome']}]"
        )
        print(
            f"memory through the reload: this process's peak {cold['peak_mb']:.0f} MB, the child's "
            f"{cold['reload_child_peak_mb']:.0f} MB; both together, sampled every 100 ms: RSS "
            f"{cold['reload_sampled_rss_mb']:.0f} MB (pages mapped by both counted twice), PSS "
            f"{cold['reload_sampled_pss_mb']:.0f} MB (shared pages split); resident after the reload "
            f"{cold['rss_after_reload_mb']:.0f} MB"
        )
    for anchor in ("rank-bm25", "fts5"):
        if anchor in reports and reports[anchor].get("extrapolated_from"):
            n = reports[anchor]["extrapolated_from"]
            print(f"{anchor} 'answer' timed on {n} questions, extrapolated to {len(questions):,}.")
    print("anchors' 'answer' is ranking only; the project's is the full engine.answer (with highlights).")
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
    if ablations is not None:
        print()
        print("BM25 stage without each query aid (index.top CPU ms, best of 3 per question, interleaved):")
        for k in (3, 30):
            cpu = ablations[f"k{k}"]
            for name in ABLATIONS:
                x = cpu[name]
                print(
                    f"  top-{k:<3} {name:<18} p50 {pct(x, 50):6.2f}  p95 {pct(x, 95):6.2f}  p99 {pct(x, 99):6.2f}  "
                    f"mean {float(np.mean(x)) * 1000:6.2f}"
                )
        print(f"  configurations disagreeing on a top k: {ablations['mismatches']}")
    if args.json:
        args.json.write_text(
            json.dumps({"reports": reports, "cold": cold, "check": check, "ablations": ablations}, indent=1)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
