"""Benchmark: what one long pasted paragraph costs a question (issue 11, item 2).

An article whose body is one paragraph of N characters (no blank line: a realistic paste) joins the
shipped corpus. For each N the benchmark times, per question that cites that article, the work the
bot does for it: ``engine.answer`` (search, rerank, highlight) plus ``render.render_answer``
(highlighting and trimming for Discord) — the median of 5 runs.

Side by side, in the same run:

* **anchor: shipped corpus** — the same pipeline for a question on the shipped corpus alone (9
  short passages): what a question costs when no paragraph is long;
* **anchor: renderer before issue 11** — ``passage_markup`` as it was (it merged and scanned every
  highlight span again for each candidate window: quadratic) on the whole paragraph as one
  passage, only up to 0.5 MB (it took seconds per question above that);
* **project, renderer alone on the unsplit paragraph** — today's ``passage_markup`` (spans merged
  once, windows bisected: linear) on the whole paragraph, for the same highlight;
* **project** — the real path: the paragraph split into passages of whole sentences (≤ 3,000
  characters, same ¶ number), answered and rendered.

Usage: ``python -m benchmarks.long_paragraph [--sizes 200000 500000 2000000]``.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bot.answering import Highlight
from bot.config import CorpusSettings, Settings
from bot.discord_app import render
from bot.discord_app.limits import ELLIPSIS, escape_text, trim
from bot.engine import build_engine
from bot.sentences import sentence_spans

REPO = Path(__file__).resolve().parent.parent
QUESTION = "Who repainted the beacon tower in cobalt blue?"
KEY = "The lighthouse keeper Marguerite Okonkwo repainted the beacon tower in cobalt blue."
VANCE = "What did JD Vance say about America first?"
WORDS = (
    "delegates harbour ferry schedule fees weather council budget tower night signal coast guard "
    "minutes report season storm crew dock lantern beacon keeper town spring"
).split()


def paragraph(chars: int, seed: int = 7) -> str:
    """About ``chars`` characters of sentences of 8-30 words, with KEY in the middle."""
    rng = random.Random(seed)
    sentences: list[str] = []
    size = 0
    while size < chars:
        words = [rng.choice(WORDS) for _ in range(rng.randint(8, 30))]
        sentence = " ".join(words).capitalize() + "."
        sentences.append(sentence)
        size += len(sentence) + 1
    sentences.insert(len(sentences) // 2, KEY)
    return " ".join(sentences)


def median_seconds(fn: Callable[[], object], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


# The renderer as it was before issue 11 (from git history), kept here as the anchor.
def _old_merged(text: str, spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start >= merged[-1][1] and not text[merged[-1][1] : start].strip(" "):
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _old_bolded(text: str, start: int, end: int, spans: Sequence[tuple[int, int]]) -> str:
    out: list[str] = []
    pos = start
    for span_start, span_end in _old_merged(text, spans):
        a, b = max(span_start, start), min(span_end, end)
        if b <= a or a < pos:
            continue
        out.append(escape_text(text[pos:a]))
        out.append(f"**{escape_text(text[a:b])}**")
        pos = b
    out.append(escape_text(text[pos:end]))
    return "".join(out)


def _old_window(text: str, highlight: Highlight, start: int, end: int) -> str:
    spans = highlight.spans
    hs, he = max(highlight.start, start), min(highlight.end, end)
    if he > hs:
        body = (
            _old_bolded(text, start, hs, spans)
            + "__"
            + _old_bolded(text, hs, he, spans)
            + "__"
            + _old_bolded(text, he, end, spans)
        )
    else:
        body = _old_bolded(text, start, end, spans)
    if start > 0:
        body = ELLIPSIS + " " + body.lstrip()
    if end < len(text.rstrip()):
        body = body.rstrip() + " " + ELLIPSIS
    return body


def old_passage_markup(text: str, highlight: Highlight, budget: int) -> str:
    """``render.passage_markup`` before issue 11 (quadratic in the number of highlight spans)."""
    full = _old_window(text, highlight, 0, len(text))
    if len(full) <= budget:
        return full
    spans = list(sentence_spans(text)) or [(0, len(text))]
    index = next((i for i, (_, e) in enumerate(spans) if e > highlight.start), 0)
    start, end = spans[index]
    if len(_old_window(text, highlight, start, end)) > budget:
        low, high = start, end
        while high - low > 1:
            mid = (low + high) // 2
            if len(_old_window(text, highlight, start, mid)) <= budget:
                low = mid
            else:
                high = mid
        cut = text.rfind(" ", start, low + 1)
        stop = cut if cut > start + (low - start) // 2 else low
        result = _old_window(text, highlight, start, stop)
        return result if len(result) <= budget else trim(result, budget)
    before, after = index - 1, index + 1
    grew = True
    while grew:
        grew = False
        if after < len(spans):
            candidate = _old_window(text, highlight, start, spans[after][1])
            if len(candidate) <= budget:
                end = spans[after][1]
                after += 1
                grew = True
        if before >= 0:
            candidate = _old_window(text, highlight, spans[before][0], end)
            if len(candidate) <= budget:
                start = spans[before][0]
                before -= 1
                grew = True
    return _old_window(text, highlight, start, end)


def whole_paragraph_highlight(text: str, engine_highlight: Highlight, offset: int) -> Highlight:
    """The highlight of the passage holding KEY, moved to offsets in the whole paragraph, with every
    occurrence of the question's matched words in the paragraph as a span (as highlighting the
    unsplit paragraph would give)."""
    spans: list[tuple[int, int]] = []
    for word in set(engine_highlight.words):
        start = text.find(word)
        while start >= 0:
            spans.append((start, start + len(word)))
            start = text.find(word, start + 1)
    spans.sort()
    return Highlight(
        engine_highlight.sentence,
        engine_highlight.start + offset,
        engine_highlight.end + offset,
        engine_highlight.words,
        tuple(spans),
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200_000, 500_000, 2_000_000])
    args = parser.parse_args(argv)
    shipped = build_engine(Settings(corpus=CorpusSettings(path=REPO / "corpus")))

    def ask_shipped() -> None:
        render.render_answer(shipped.answer(VANCE))

    budget = render.BEST_PASSAGE_CHARS
    anchor = median_seconds(ask_shipped)
    print(f"anchor: shipped corpus, answer + render: {anchor * 1000:.2f} ms per question\n")
    print("| paragraph | build | renderer before issue 11 (one passage) | renderer now (one passage) | project |")
    print("|---|---|---|---|---|")
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            corpus = Path(tmp) / "corpus"
            shutil.copytree(REPO / "corpus", corpus)
            text = paragraph(size)
            (corpus / "paste.md").write_text(f"---\ntitle: Harbour paste\nsource: x\n---\n\n{text}\n", "utf-8")
            settings = Settings(corpus=CorpusSettings(path=corpus, max_file_bytes=size * 2 + 10_000))
            started = time.perf_counter()
            engine = build_engine(settings)
            build = time.perf_counter() - started
            answer = engine.answer(QUESTION)
            assert answer.answered and answer.best is not None and "Okonkwo" in answer.best.passage.text
            project = median_seconds(lambda engine=engine: render.render_answer(engine.answer(QUESTION)))
            best = answer.best
            offset = text.index(best.passage.text)
            whole = whole_paragraph_highlight(text, best.highlight, offset)
            now = median_seconds(lambda t=text, h=whole: render.passage_markup(t, h, budget), runs=3)
            if size <= 500_000:
                old = median_seconds(lambda t=text, h=whole: old_passage_markup(t, h, budget), runs=1)
                old_cell = f"{old * 1000:,.0f} ms"
            else:
                old_cell = "not run (seconds per question)"
            print(
                f"| {size / 1e6:.1f} MB ({len(whole.spans):,} matched words) | {build:.2f} s | {old_cell} | "
                f"{now * 1000:,.0f} ms | {project * 1000:.2f} ms ({project / anchor:.1f}x the anchor) |"
            )


if __name__ == "__main__":
    main()
