"""Benchmark: do topic summaries stay on topic in a mixed news corpus?

Corpus: the summit article (``corpus/``) plus the BBC news development half (896 business and
entertainment stories, ``../shared/data/bbc-news-dev``; research use only, never shipped). Topics
are written here, each with a *judge*: a regular expression for sentences that are about the
topic's meaning (its words and its synonyms, written as a reader would recognise them -- "aid"
the help, not "Aids"; "AI" the technology, not the tennis player Ai Sugiyama). A few topics
the corpus says nothing about must give "nothing on that in my sources".

Reported per topic set (tuning topics: even positions, held out: odd):

* **precision**: the share of a topic summary's sentences the judge accepts (mean over topics that
  gave a summary), and how many summaries are empty;
* for the **relevance floor** (:data:`bot.relevance.RELEVANCE_FLOOR`), precision and recall of
  the candidate sentences (those of the top BM25 passages, as the summary reads them) that pass
  each floor -- the floor is chosen on the tuning topics (best F0.5: precision counts double).

Anchor in the same run: the candidate sentences without a floor (term match only, as before this
change) and ``summarize(topic=...)`` as shipped.

Usage: ``python -m benchmarks.topic_precision [--news PATH]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from benchmarks.summaries import NEWS_DATA, build_corpus_engine, load_news
from bot.engine import Engine
from bot.relevance import parse_topic, topic_fit
from bot.sentences import split_sentences
from bot.summaries import DEFAULT_PARAMS, SummaryParams, summarize

ROOT = Path(__file__).resolve().parent.parent

# (topic, judge) -- a judge accepts a sentence that is about the topic (case-sensitive regex).
TOPICS: list[tuple[str, str]] = [
    ("artificial intelligence", r"\bAI\b|\bA\.I\.|[Aa]rtificial intelligence|machine learning|DeepSeek|chatbot"),
    ("aid", r"\b[Aa]id\b|\b[Aa]ssistance\b|[Dd]onor|[Rr]elief (?:effort|work|fund)|[Dd]ebt relief|charit"),
    ("AI", r"\bAI\b|\bA\.I\.|[Aa]rtificial intelligence|machine learning|DeepSeek|chatbot"),
    ("initiative", r"[Ii]nitiative"),
    ("interest rates", r"[Ii]nterest rate|\brates? (?:rise|cut|hike|unchanged|on hold)|[Bb]orrowing costs"),
    ("oil prices", r"\b[Oo]il\b|[Cc]rude|[Bb]arrel|OPEC|Opec|[Pp]etrol|[Ff]uel"),
    ("film awards", r"[Aa]ward|Oscar|Bafta|Globe|[Nn]ominat|[Pp]rize|[Ww]on best|[Cc]eremony"),
    ("China", r"China|Chinese|Beijing"),
    ("album sales", r"[Aa]lbum|[Ss]ingles?\b|[Cc]hart|[Rr]ecord sales|[Cc]opies"),
    ("Yukos", r"Yukos"),
    ("house prices", r"[Hh]ouse[- ]prices?|[Hh]ousing|[Pp]roperty|[Hh]ome (?:sales|prices)|[Mm]ortgage"),
    ("box office", r"[Bb]ox office|[Tt]akings|[Gg]rossed|[Tt]icket sales|[Cc]inema"),
    ("United States", r"\bUS\b|U\.S\.|United States|America|Washington|Bush"),
    ("euro", r"\b[Ee]uros?\b|[Ss]ingle currency|[Ee]urozone|European currency"),
    ("job cuts", r"\b[Jj]obs?\b|[Rr]edundanc|[Ll]ayoff|[Ww]orkforce|[Ss]taff|[Ee]mploy"),
    ("airline", r"[Aa]irlines?|[Aa]ir (?:travel|fares)|[Ff]lights?|[Cc]arrier|[Aa]viation|[Aa]irport"),
    ("governance", r"[Gg]overnance|[Rr]egulat|[Rr]ules\b|[Oo]versight"),
    ("Google", r"Google"),
    ("music festival", r"[Ff]estival|Glastonbury|[Gg]ig|[Cc]oncert"),
    ("steel industry", r"[Ss]teel"),
]
# Topics the corpus does not cover: the summary must be empty.
ABSENT = ["quantum computing", "cricket world cup", "malaria vaccine", "Mars rover"]


@dataclasses.dataclass
class Counts:
    """Judged sentences passing a floor: true positives, passed, on-topic in all."""

    hit: int = 0
    passed: int = 0
    relevant: int = 0

    def precision(self) -> float:
        return self.hit / self.passed if self.passed else 1.0

    def recall(self) -> float:
        return self.hit / self.relevant if self.relevant else 1.0

    def f05(self) -> float:
        p, r = self.precision(), self.recall()
        return 1.25 * p * r / (0.25 * p + r) if p + r else 0.0


def candidate_sentences(engine: Engine, topic: str, passages: int = 40) -> list[tuple[str, str]]:
    """(document id, sentence) of the top BM25 passages for the topic's terms (the pool a topic summary reads)."""
    terms = engine.analyzer.analyze(topic)
    top = engine.index.top(terms, passages)
    out = []
    for pid, _ in top:
        passage = engine.corpus.passages[pid]
        out.extend((passage.document.id, s) for s in split_sentences(passage.text))
    return out


def floor_table(engine: Engine, topics: Sequence[tuple[str, str]], floors: Sequence[float]) -> dict[float, Counts]:
    """Sentence-level precision/recall of each floor over the topics' candidate sentences."""
    out = {f: Counts() for f in floors}
    idf = engine.index.idf_of
    for topic, judge in topics:
        query = parse_topic(topic, engine.analyzer, idf)
        pattern = re.compile(judge)
        terms = set(engine.analyzer.analyze(topic))
        pool = [(d, s) for d, s in candidate_sentences(engine, topic) if terms.intersection(engine.analyzer.analyze(s))]
        for (_, sentence), score in zip(pool, topic_fit(query, pool, engine.analyzer), strict=True):
            on_topic = bool(pattern.search(sentence))
            for f in floors:
                counts = out[f]
                counts.relevant += on_topic
                if score >= f:
                    counts.passed += 1
                    counts.hit += on_topic
    return out


def summary_precision(
    engine: Engine, topics: Sequence[tuple[str, str]], params: SummaryParams = DEFAULT_PARAMS
) -> tuple[float, int, int]:
    """Mean share of on-topic sentences in ``summarize(topic=...)``, topics with a summary, and empty ones."""
    shares = []
    empty = 0
    for topic, judge in topics:
        summary = summarize(engine, topic=topic, params=params)
        if summary.is_empty:
            empty += 1
            continue
        pattern = re.compile(judge)
        shares.append(sum(bool(pattern.search(s.text)) for s in summary.sentences) / len(summary.sentences))
    return (sum(shares) / len(shares) if shares else 1.0), len(shares), empty


def build_mixed_engine(news_path: Path, folder: Path) -> Engine:
    """The summit article and the BBC stories in one corpus folder, with the project's aliases."""
    for path in (ROOT / "corpus").glob("*"):
        if path.is_file():
            shutil.copy(path, folder / path.name)
    return build_corpus_engine(load_news(news_path), folder)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the floor calibration (tuning topics), then held-out precision for the chosen floor."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--news", type=Path, default=NEWS_DATA, help="BBC news articles.jsonl")
    args = parser.parse_args(argv)
    tuning, held = TOPICS[0::2], TOPICS[1::2]
    floors = (0.0, 0.4, 0.5, 0.55, 0.6, 0.75, 0.99)
    with tempfile.TemporaryDirectory() as tmp:
        engine = build_mixed_engine(args.news, Path(tmp))
        lines = [f"Mixed corpus: {len(engine.corpus.documents)} documents. Judged candidate sentences per floor.", ""]
        lines.append("| floor | tuning P / R / F0.5 | held-out P / R / F0.5 |")
        lines.append("|------:|---------------------|----------------------|")
        tune_table = floor_table(engine, tuning, floors)
        held_table = floor_table(engine, held, floors)
        for f in floors:
            t, h = tune_table[f], held_table[f]
            lines.append(
                f"| {f:.2f} | {t.precision():.3f} / {t.recall():.3f} / {t.f05():.3f} "
                f"| {h.precision():.3f} / {h.recall():.3f} / {h.f05():.3f} |"
            )
        best = max(floors, key=lambda f: tune_table[f].f05())
        lines.append("")
        lines.append(f"Floor chosen on the tuning topics (best F0.5): {best:.2f} (0.00 = term match only, the anchor).")
        lines.append("")
        no_floor = dataclasses.replace(DEFAULT_PARAMS, relevance_floor=0.0)
        for label, params in (("anchor, no floor (term match)", no_floor), ("project", DEFAULT_PARAMS)):
            for name, topics in (("tuning", tuning), ("held out", held)):
                precision, shown, empty = summary_precision(engine, topics, params)
                lines.append(
                    f"summarize(topic), {label}, {name}: precision {precision:.3f} over {shown} summaries, "
                    f"{empty} empty"
                )
            absent_empty = sum(summarize(engine, topic=t, params=params).is_empty for t in ABSENT)
            lines.append(f"  absent topics answered 'nothing on that': {absent_empty} of {len(ABSENT)}")
        print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
