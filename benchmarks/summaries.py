"""Benchmark: extractive summaries of SQuAD v1.1 (dev, first half) articles scored against their leads.

For each of the 24 Wikipedia articles, paragraphs 2…n are the document to summarise and the first
paragraph is the reference; the word budget is the reference's length, at most 120 words. Every
method ranks sentences; the same budget rule applies to all: sentences are taken in the method's
rank order until the budget is reached, shown in document order, and the text is cut at the
budget's word (whitespace words). ROUGE-1/2/L F (rouge-score, ``use_stemmer=True``) is averaged
over articles.

Anchors, computed in the same run:

* **Lead**: the first sentence of paragraph 2, 3, … in order.
* **sumy LexRank** / **sumy TextRank**: sumy 0.13 with a Snowball stemmer and sumy's own English
  stop words; sentences come from the project's segmenter (sumy's NLTK tokenizer needs punkt data,
  which is not downloaded).

Project rows: the project's ranking (:func:`bot.summaries.rank_document` +
:func:`bot.summaries.select`) under the common rule, plus ``summarize()`` as shipped (whole
sentences only, never over the budget, no cut). The project's parameters are tuned on the even
articles (0, 2, …); figures are given for even, odd (held out) and all 24.

Usage: ``python benchmarks/summaries.py [--data PATH] [--ablations] [--tune]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import re
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from rouge_score import rouge_scorer

from bot.config import Settings
from bot.engine import Engine, build_engine
from bot.sentences import split_sentences
from bot.summaries import DEFAULT_PARAMS, SummaryParams, rank_document, select, summarize

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT / ".." / "shared" / "data" / "squad-v1.1-dev.json"
MAX_BUDGET = 120

# A ranker takes (engine, document id, budget) and returns sentences in rank order, each with its
# (paragraph, sentence) position so the common rule can restore document order.
Ranked = list[tuple[tuple[int, int], str]]
Ranker = Callable[[Engine, str, int], Ranked]


@dataclasses.dataclass(frozen=True)
class Article:
    """One SQuAD article: its id, title, reference (first paragraph) and the other paragraphs."""

    id: str
    title: str
    reference: str
    paragraphs: tuple[str, ...]

    @property
    def budget(self) -> int:
        """The reference's length in words, at most 120."""
        return min(len(self.reference.split()), MAX_BUDGET)


def load_articles(path: Path) -> list[Article]:
    """The articles of a SQuAD JSON file (whitespace inside paragraphs collapsed)."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    out = []
    for art in data:
        paras = [" ".join(p["context"].split()) for p in art["paragraphs"]]
        doc_id = re.sub(r"[^A-Za-z0-9._-]+", "-", art["title"]).strip("-")[:64]
        out.append(Article(doc_id, art["title"].replace("_", " "), paras[0], tuple(paras[1:])))
    return out


def build_corpus_engine(articles: Sequence[Article], folder: Path) -> Engine:
    """Write paragraphs 2…n of every article as a corpus folder and build the project's engine."""
    for art in articles:
        body = "\n\n".join(art.paragraphs)
        front = f"---\ntitle: {json.dumps(art.title)}\nsource: en.wikipedia.org\nid: {art.id}\n---\n\n"
        (folder / f"{art.id}.md").write_text(front + body + "\n", encoding="utf-8")
    settings = Settings()
    settings = dataclasses.replace(settings, corpus=dataclasses.replace(settings.corpus, path=folder))
    return build_engine(settings)


def apply_budget(ranked: Ranked, budget: int) -> str:
    """The common rule: take by rank until the budget is reached, document order, cut at ``budget`` words."""
    taken: Ranked = []
    words = 0
    for item in ranked:
        if words >= budget:
            break
        taken.append(item)
        words += len(item[1].split())
    taken.sort(key=lambda item: item[0])
    return " ".join(" ".join(text for _, text in taken).split()[:budget])


# ----------------------------------------------------------------------------------------- rankers


def lead_text_ranker(engine: Engine, doc_id: str, budget: int) -> Ranked:
    """The text's first sentences in order (Lead-k), from paragraph 2 on."""
    doc = engine.corpus.document(doc_id)
    assert doc is not None
    return [((p, s), t) for p, text in enumerate(doc.paragraphs) for s, t in enumerate(split_sentences(text))]


def lead_ranker(engine: Engine, doc_id: str, budget: int) -> Ranked:
    """First sentence of each paragraph, in order."""
    doc = engine.corpus.document(doc_id)
    assert doc is not None
    out: Ranked = []
    for p, text in enumerate(doc.paragraphs):
        sentences = split_sentences(text)
        if sentences:
            out.append(((p, 0), sentences[0]))
    return out


class _Tokenizer:
    """A sumy tokenizer built on the project's segmenter (no NLTK data needed)."""

    _word = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")

    def to_sentences(self, text: str) -> list[str]:
        return split_sentences(text)

    def to_words(self, text: str) -> list[str]:
        return self._word.findall(text)


def sumy_ranker(kind: str) -> Ranker:
    """sumy's LexRank or TextRank, sentences returned in sumy's rating order."""
    from sumy.models.dom import ObjectDocumentModel, Paragraph, Sentence
    from sumy.nlp.stemmers import Stemmer
    from sumy.summarizers.lex_rank import LexRankSummarizer
    from sumy.summarizers.text_rank import TextRankSummarizer
    from sumy.utils import get_stop_words

    tokenizer = _Tokenizer()
    summarizer = (LexRankSummarizer if kind == "lexrank" else TextRankSummarizer)(Stemmer("english"))
    summarizer.stop_words = get_stop_words("english")

    def rank(engine: Engine, doc_id: str, budget: int) -> Ranked:
        doc = engine.corpus.document(doc_id)
        assert doc is not None
        where: dict[str, tuple[int, int]] = {}
        paragraphs = []
        for p, text in enumerate(doc.paragraphs):
            sentences = []
            for s, sentence in enumerate(split_sentences(text)):
                where.setdefault(sentence.strip(), (p, s))
                sentences.append(Sentence(sentence, tokenizer))
            paragraphs.append(Paragraph(sentences))
        model = ObjectDocumentModel(paragraphs)
        captured: list = []

        def count(infos: list) -> list:  # sumy hands over all sentences sorted by rating
            captured.extend(infos)
            return infos

        summarizer(model, count)
        return [(where[str(i.sentence)], str(i.sentence)) for i in captured]

    return rank


def project_ranker(params: SummaryParams = DEFAULT_PARAMS) -> Ranker:
    """The project's scores and MMR, in selection order (last sentence may cross the budget)."""

    def rank(engine: Engine, doc_id: str, budget: int) -> Ranked:
        doc = engine.corpus.document(doc_id)
        assert doc is not None
        scored = rank_document(engine, doc, params)
        chosen = select(scored, budget, params, overflow=True)
        return [((scored.cands[i].passage.paragraph, scored.cands[i].position), scored.cands[i].text) for i in chosen]

    return rank


# ----------------------------------------------------------------------------------------- scoring


_SCORER = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)


def rouge(reference: str, summary: str) -> tuple[float, float, float]:
    """ROUGE-1/2/L F of ``summary`` against ``reference``."""
    s = _SCORER.score(reference, summary)
    return s["rouge1"].fmeasure, s["rouge2"].fmeasure, s["rougeL"].fmeasure


def evaluate(
    engine: Engine, articles: Sequence[Article], summarizer: Callable[[Engine, Article], str]
) -> list[tuple[float, float, float]]:
    """Per-article ROUGE for one summarizer."""
    return [rouge(a.reference, summarizer(engine, a)) for a in articles]


def with_rule(ranker: Ranker) -> Callable[[Engine, Article], str]:
    """A summarizer applying the common budget rule to a ranker."""
    return lambda engine, a: apply_budget(ranker(engine, a.id, a.budget), a.budget)


def shipped(params: SummaryParams = DEFAULT_PARAMS) -> Callable[[Engine, Article], str]:
    """``summarize()`` exactly as the bot calls it (whole sentences within the budget)."""
    return lambda engine, a: summarize(engine, document=a.id, max_words=a.budget, params=params).text


def mean(rows: Sequence[tuple[float, float, float]], pick: Sequence[int]) -> tuple[float, float, float]:
    """Mean ROUGE over the articles at indexes ``pick``."""
    chosen = [rows[i] for i in pick]
    return tuple(sum(r[k] for r in chosen) / len(chosen) for k in range(3))  # type: ignore[return-value]


def report(name: str, rows: Sequence[tuple[float, float, float]], out: list[str]) -> None:
    """One table row: R-1/R-2/R-L on all, even (tuning) and odd (held-out) articles."""
    n = len(rows)
    cells = []
    for pick in (range(n), range(0, n, 2), range(1, n, 2)):
        r1, r2, rl = mean(rows, list(pick))
        cells.append(f"{r1:.3f} {r2:.3f} {rl:.3f}")
    out.append(f"| {name:<44} | " + " | ".join(cells) + " |")


ABLATIONS: dict[str, SummaryParams] = {
    "LexRank (idf cosine) only": dataclasses.replace(
        DEFAULT_PARAMS, subject=0.0, lead=0.0, paragraph_lead=0.0, max_overlap=1.0
    ),
    "+ MMR": dataclasses.replace(DEFAULT_PARAMS, subject=0.0, lead=0.0, paragraph_lead=0.0),
    "+ MMR + lead prior": dataclasses.replace(DEFAULT_PARAMS, subject=0.0),
    "+ MMR + subject opening": dataclasses.replace(DEFAULT_PARAMS, lead=0.0, paragraph_lead=0.0),
    "all but MMR": dataclasses.replace(DEFAULT_PARAMS, max_overlap=1.0),
}


def tune(engine: Engine, articles: Sequence[Article]) -> list[str]:
    """Grid over the free parameters on the even articles only.

    Criterion: R-1 + R-2, averaged over ``max_overlap`` in (0.3, 0.5, 0.7) (the least sensitive
    parameter, whose middle value is kept), so that a lucky single point does not win.
    """
    even = [articles[i] for i in range(0, len(articles), 2)]
    results = []
    for lead, plead, subject in itertools.product((0.25, 0.5, 1.0, 2.0), (0.5, 1.0, 2.0), (0.0, 0.15, 0.3, 0.45)):
        total = 0.0
        for overlap in (0.3, 0.5, 0.7):
            params = dataclasses.replace(
                DEFAULT_PARAMS, lead=lead, paragraph_lead=plead, subject=subject, max_overlap=overlap
            )
            r1, r2, _ = mean(evaluate(engine, even, with_rule(project_ranker(params))), range(len(even)))
            total += (r1 + r2) / 3
        results.append((total, lead, plead, subject))
    results.sort(reverse=True)
    return [f"lead={ld} paragraph_lead={p} subject={s}: even mean R-1+R-2 {t:.4f}" for t, ld, p, s in results[:10]]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="SQuAD v1.1 JSON file")
    parser.add_argument("--ablations", action="store_true", help="also score the project without each part")
    parser.add_argument("--tune", action="store_true", help="grid-search parameters on the even articles")
    args = parser.parse_args(argv)
    articles = load_articles(args.data)
    with tempfile.TemporaryDirectory() as tmp:
        engine = build_corpus_engine(articles, Path(tmp))
        if args.tune:
            print("\n".join(tune(engine, articles)))
            return 0
        lines = [
            f"SQuAD v1.1 dev (first half): {len(articles)} articles; budget = lead length (max {MAX_BUDGET} words).",
            "ROUGE F: R-1 R-2 R-L. Tuning on even articles; odd are held out.",
            "",
            f"| {'method':<44} | {'all (24)':<17} | {'even (tune)':<17} | {'odd (held out)':<17} |",
            f"|{'-' * 46}|{'-' * 19}|{'-' * 19}|{'-' * 19}|",
        ]
        report("Lead (first sentence of ¶2, ¶3, …)", evaluate(engine, articles, with_rule(lead_ranker)), lines)
        report("Lead-k (first sentences of the text)", evaluate(engine, articles, with_rule(lead_text_ranker)), lines)
        report("sumy LexRank", evaluate(engine, articles, with_rule(sumy_ranker("lexrank"))), lines)
        report("sumy TextRank", evaluate(engine, articles, with_rule(sumy_ranker("textrank"))), lines)
        if args.ablations:
            for name, params in ABLATIONS.items():
                report(f"project: {name}", evaluate(engine, articles, with_rule(project_ranker(params))), lines)
        started = time.perf_counter()
        rows = evaluate(engine, articles, with_rule(project_ranker()))
        report("project (summitbot)", rows, lines)
        report("project, shipped summarize() (whole sentences)", evaluate(engine, articles, shipped()), lines)
        per_doc = (time.perf_counter() - started) / len(articles) * 1000
        lines.append("")
        lines.append(f"Project summary time: {per_doc:.1f} ms per article (scoring, cached afterwards).")
        print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
