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
import functools
import itertools
import json
import re
import sys
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from rouge_score import rouge_scorer

from bot.config import Settings
from bot.engine import Engine, build_engine
from bot.salience import DEFAULT_WEIGHTS, FEATURES, Weights, coverage_mix
from bot.sentences import split_sentences
from bot.summaries import DEFAULT_PARAMS, SummaryParams, document_features, rank_document, select, summarize

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT / ".." / "shared" / "data" / "squad-v1.1-dev.json"
NEWS_DATA = ROOT / ".." / "shared" / "data" / "bbc-news-dev" / "articles.jsonl"
MAX_BUDGET = 120
NEWS_BUDGET = 250  # the "long" summary budget; BBC reference summaries are about 40 % of their article

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
    source: str = "en.wikipedia.org"
    max_budget: int = MAX_BUDGET

    @property
    def budget(self) -> int:
        """The reference's length in words, at most ``max_budget``."""
        return min(len(self.reference.split()), self.max_budget)


def load_articles(path: Path) -> list[Article]:
    """The articles of a SQuAD JSON file (whitespace inside paragraphs collapsed)."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    out = []
    for art in data:
        paras = [" ".join(p["context"].split()) for p in art["paragraphs"]]
        doc_id = re.sub(r"[^A-Za-z0-9._-]+", "-", art["title"]).strip("-")[:64]
        out.append(Article(doc_id, art["title"].replace("_", " "), paras[0], tuple(paras[1:])))
    return out


def load_news(path: Path) -> list[Article]:
    """The BBC news articles (``articles.jsonl``): the whole body is the document, the reference its summary.

    The reference summaries are the articles' own sentences, concatenated (sometimes without a space
    after the full stop); ROUGE's tokenizer splits on punctuation, so they are scored as given.
    """
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        paras = tuple(" ".join(p.split()) for p in row["paragraphs"] if p.strip())
        out.append(Article(row["id"], row["title"], " ".join(row["summary"].split()), paras, "bbc.co.uk", NEWS_BUDGET))
    return out


def news_split(articles: Sequence[Article]) -> tuple[list[int], list[int]]:
    """Tuning and held-out halves by article: a stable hash of the article id (CRC-32), even vs odd."""
    tune = [i for i, a in enumerate(articles) if zlib.crc32(a.id.encode()) % 2 == 0]
    held = [i for i, a in enumerate(articles) if zlib.crc32(a.id.encode()) % 2 == 1]
    return tune, held


def build_corpus_engine(articles: Sequence[Article], folder: Path) -> Engine:
    """Write the document of every article as a corpus folder and build the project's engine."""
    for art in articles:
        body = "\n\n".join(art.paragraphs)
        front = f"---\ntitle: {json.dumps(art.title)}\nsource: {art.source}\nid: {art.id}\n---\n\n"
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
    """The document's first sentences in order (Lead-k)."""
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
        scored = rank_document(engine, doc, params, budget)
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


Split = tuple[str, Sequence[int]]


def report(name: str, rows: Sequence[tuple[float, float, float]], out: list[str], splits: Sequence[Split]) -> None:
    """One table row: R-1/R-2/R-L on each split (e.g. held out, tuning)."""
    cells = []
    for _, pick in splits:
        r1, r2, rl = mean(rows, list(pick))
        cells.append(f"{r1:.3f} {r2:.3f} {rl:.3f}")
    out.append(f"| {name:<48} | " + " | ".join(f"{c:<17}" for c in cells) + " |")


def table_head(splits: Sequence[Split], out: list[str]) -> None:
    """The Markdown table header for ``splits``."""
    out.append(f"| {'method':<48} | " + " | ".join(f"{f'{n} ({len(p)})':<17}" for n, p in splits) + " |")
    out.append(f"|{'-' * 50}|" + "|".join("-" * 19 for _ in splits) + "|")


def _without(table: dict[str, float], *names: str) -> dict[str, float]:
    return {k: v for k, v in table.items() if k not in names}


_LEXRANK = {"lexrank": 1.0}
ABLATIONS: dict[str, SummaryParams] = {
    "LexRank (idf cosine) only, no MMR": dataclasses.replace(
        DEFAULT_PARAMS, weights=Weights(_LEXRANK, _LEXRANK), max_overlap=1.0
    ),
    "LexRank + MMR": dataclasses.replace(DEFAULT_PARAMS, weights=Weights(_LEXRANK, _LEXRANK)),
    "encyclopedia weights everywhere (no adaptation)": dataclasses.replace(
        DEFAULT_PARAMS, weights=Weights(DEFAULT_WEIGHTS.long, DEFAULT_WEIGHTS.long)
    ),
    "news weights everywhere (no adaptation)": dataclasses.replace(
        DEFAULT_PARAMS, weights=Weights(DEFAULT_WEIGHTS.short, DEFAULT_WEIGHTS.short)
    ),
    "no list penalty": dataclasses.replace(
        DEFAULT_PARAMS,
        weights=Weights(_without(DEFAULT_WEIGHTS.long, "listing"), _without(DEFAULT_WEIGHTS.short, "listing")),
    ),
    "MMR threshold 0.5 (before)": dataclasses.replace(DEFAULT_PARAMS, max_overlap=0.5),
}


@dataclasses.dataclass
class _TuneDoc:
    """One article prepared for fast tuning: features, similarity, per-sentence ROUGE tokens."""

    feats: np.ndarray
    sim: np.ndarray
    mix: float
    words: list[list[str]]  # whitespace words of each sentence
    order: list[tuple[int, int]]
    invalid: np.ndarray
    budget: int
    ref1: Counter
    ref2: Counter


@functools.lru_cache(maxsize=200_000)
def _word_tokens(word: str) -> tuple[str, ...]:
    """ROUGE's tokens of one whitespace word (the tokenizer splits on non-alphanumerics, so words are independent)."""
    return tuple(_SCORER._tokenizer.tokenize(word))


def _fast_rouge(doc: _TuneDoc, ranked: Sequence[int]) -> float:
    """(R-1 F + R-2 F) / 2 of the common budget rule applied to ``ranked``, as rouge-score would give."""
    taken: list[int] = []
    n = 0
    for i in ranked:
        if n >= doc.budget:
            break
        taken.append(i)
        n += len(doc.words[i])
    taken.sort(key=lambda i: doc.order[i])
    words = [w for i in taken for w in doc.words[i]][: doc.budget]
    tokens = [t for w in words for t in _word_tokens(w)]
    out = 0.0
    for ref, grams in ((doc.ref1, Counter(tokens)), (doc.ref2, Counter(itertools.pairwise(tokens)))):
        hit = sum((ref & grams).values())
        if hit:
            p, r = hit / sum(grams.values()), hit / sum(ref.values())
            out += 2 * p * r / (p + r)
    return out / 2


def _prepare(engine: Engine, art: Article) -> _TuneDoc:
    doc = engine.corpus.document(art.id)
    assert doc is not None
    cands, feats, sim = document_features(engine, doc)
    ref = [t for w in art.reference.split() for t in _word_tokens(w)]
    return _TuneDoc(
        feats,
        sim,
        coverage_mix(art.budget, sum(c.words for c in cands)),
        [c.text.split() for c in cands],
        [(c.passage.paragraph, c.position) for c in cands],
        np.array([c.words < DEFAULT_PARAMS.min_words or not c.terms for c in cands]),
        art.budget,
        Counter(ref),
        Counter(itertools.pairwise(ref)),
    )


def _rank(doc: _TuneDoc, weights: Weights, max_overlap: float) -> list[int]:
    scores = doc.feats @ weights.for_document(doc.mix) - 100.0 * doc.invalid
    chosen: list[int] = []
    n = 0
    for i in np.argsort(-scores, kind="stable"):
        i = int(i)
        if n >= doc.budget:
            break
        if chosen and doc.sim[i, chosen].max() > max_overlap:
            continue
        chosen.append(i)
        n += len(doc.words[i])
    return chosen


# Weights allowed to come out negative in the fit: penalties, not position or centrality.
SIGNED = ("dangling", "listing", "digits", "length", "specificity")


def _precision_targets(doc: _TuneDoc) -> np.ndarray:
    """Each sentence's (ROUGE-1 precision + ROUGE-2 precision) / 2 against the reference."""
    out = []
    for words in doc.words:
        tokens = [t for w in words for t in _word_tokens(w)]
        one, two = Counter(tokens), Counter(itertools.pairwise(tokens))
        p1 = sum((one & doc.ref1).values()) / max(1, sum(one.values()))
        p2 = sum((two & doc.ref2).values()) / max(1, sum(two.values()))
        out.append((p1 + p2) / 2)
    return np.array(out)


def fit_short_weights(docs: Sequence[_TuneDoc]) -> dict[str, float]:
    """Least squares of sentence precision on the features; non-SIGNED weights held non-negative, lexrank = 1."""
    x = np.vstack([d.feats for d in docs])
    y = np.concatenate([_precision_targets(d) for d in docs])
    cols = list(range(len(FEATURES)))
    coef = np.zeros(len(cols))
    for _ in range(len(FEATURES)):
        design = np.c_[x[:, cols], np.ones(len(x))]
        coef, *_ = np.linalg.lstsq(design, y, rcond=None)
        negative = [c for c, v in zip(cols, coef[:-1], strict=True) if v < 0 and FEATURES[c] not in SIGNED]
        if not negative:
            break
        cols = [c for c in cols if c not in negative]
    full = np.zeros(len(FEATURES))
    full[cols] = coef[:-1]
    full /= full[0]
    return {name: round(float(v), 2) for name, v in zip(FEATURES, full, strict=True) if abs(v) >= 0.005}


def tune(
    engine: Engine, articles: Sequence[Article], news_engine: Engine | None = None, news: Sequence[Article] = ()
) -> list[str]:
    """Fit the ``short`` (condensed) weights on the news tuning half; compare choices on the tuning halves only.

    The objective printed is the mean (R-1 F + R-2 F) / 2 under the common budget rule, from
    rouge-score's own tokenizer, on even SQuAD articles and on the news tuning half.
    """
    squad = [_prepare(engine, articles[i]) for i in range(0, len(articles), 2)]
    lines = []
    candidates = {"shipped": DEFAULT_WEIGHTS}
    if news_engine is not None:
        tuning = [_prepare(news_engine, news[i]) for i in news_split(news)[0]]
        short = fit_short_weights(tuning)
        lines.append(f"fitted short weights: {short}")
        candidates["fitted"] = Weights(DEFAULT_WEIGHTS.long, short)
        candidates["no adaptation (long everywhere)"] = Weights(DEFAULT_WEIGHTS.long, DEFAULT_WEIGHTS.long)
    for name, weights in candidates.items():
        for overlap in (0.5, 0.7):
            cells = [f"SQuAD even {np.mean([_fast_rouge(d, _rank(d, weights, overlap)) for d in squad]):.4f}"]
            if news_engine is not None:
                cells.append(f"news tune {np.mean([_fast_rouge(d, _rank(d, weights, overlap)) for d in tuning]):.4f}")
            lines.append(f"{name}, max_overlap {overlap}: " + ", ".join(cells))
    return lines


def run_set(
    engine: Engine, articles: Sequence[Article], splits: Sequence[Split], ablations: bool, lead_name: str
) -> list[str]:
    """The anchors and the project's rows on one article set, as Markdown table lines."""
    lines: list[str] = []
    table_head(splits, lines)
    report(lead_name, evaluate(engine, articles, with_rule(lead_ranker)), lines, splits)
    report(
        "Lead-k (first sentences of the text)", evaluate(engine, articles, with_rule(lead_text_ranker)), lines, splits
    )
    report("sumy LexRank", evaluate(engine, articles, with_rule(sumy_ranker("lexrank"))), lines, splits)
    report("sumy TextRank", evaluate(engine, articles, with_rule(sumy_ranker("textrank"))), lines, splits)
    if ablations:
        for name, params in ABLATIONS.items():
            rows = evaluate(engine, articles, with_rule(project_ranker(params)))
            report(f"project: {name}", rows, lines, splits)
    started = time.perf_counter()
    rows = evaluate(engine, articles, with_rule(project_ranker()))
    per_doc = (time.perf_counter() - started) / len(articles) * 1000
    report("project (summitbot)", rows, lines, splits)
    report("project, shipped summarize() (whole sentences)", evaluate(engine, articles, shipped()), lines, splits)
    lines.append("")
    lines.append(f"Project summary time: {per_doc:.1f} ms per article (scoring, cached afterwards).")
    return lines


def overview_timing(articles: Sequence[Article], news: Sequence[Article], folder: Path, size: int = 2000) -> list[str]:
    """Time the whole-corpus overview on a ``size``-document mixed corpus (news, then encyclopedia paragraphs).

    The corpus: every news story, then each SQuAD paragraph as a document of its own, then news
    stories again under new ids until ``size``. Timed in one process: the index build (the anchor:
    what every start or reload already pays), the first overview (grouping the documents into
    topics from the cached index) and a second one (topics cached with the engine).
    """
    docs: list[Article] = list(news)
    for art in articles:
        for i, paragraph in enumerate(art.paragraphs):
            docs.append(Article(f"{art.id}-p{i + 2}", f"{art.title} ({i + 2})", "", (paragraph,)))
    extra = 0
    while len(docs) < size and news:
        a = news[extra % len(news)]
        docs.append(dataclasses.replace(a, id=f"{a.id}-copy{extra // len(news) + 1}"))
        extra += 1
    docs = docs[:size]
    started = time.perf_counter()
    engine = build_corpus_engine(docs, folder)
    built = time.perf_counter() - started
    started = time.perf_counter()
    first = summarize(engine)
    cold = time.perf_counter() - started
    started = time.perf_counter()
    summarize(engine)
    warm = time.perf_counter() - started
    lines = [
        f"Overview of a {len(docs)}-document mixed corpus: index build (anchor) {built:.2f} s; "
        f"first overview {cold * 1000:.0f} ms (topics found), next {warm * 1000:.1f} ms (cached).",
        "",
    ]
    for i, section in enumerate(first.sections or ()):
        texts = "; ".join(first.sentences[j].text[:70] + "…" for j in section.sentences)
        lines.append(f"  {i + 1}. {section.name} ({section.documents} documents): {texts}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark on the encyclopedia set and the news set and print Markdown tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="SQuAD v1.1 JSON file")
    parser.add_argument("--news", type=Path, default=NEWS_DATA, help="BBC news articles.jsonl ('' to skip)")
    parser.add_argument("--ablations", action="store_true", help="also score the project without each part")
    parser.add_argument("--tune", action="store_true", help="grid-search parameters on the tuning halves")
    parser.add_argument("--all-splits", action="store_true", help="also show the tuning halves")
    parser.add_argument("--overview", type=int, default=2000, help="documents in the overview timing (0 to skip)")
    args = parser.parse_args(argv)
    articles = load_articles(args.data)
    news = load_news(args.news) if str(args.news) and args.news.exists() else []
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "squad").mkdir()
        engine = build_corpus_engine(articles, Path(tmp) / "squad")
        news_engine = None
        if news:
            (Path(tmp) / "news").mkdir()
            news_engine = build_corpus_engine(news, Path(tmp) / "news")
        if args.tune:
            print("\n".join(tune(engine, articles, news_engine, news)))
            return 0
        n = len(articles)
        squad_splits: list[Split] = [("odd (held out)", range(1, n, 2))]
        if args.all_splits:
            squad_splits += [("even (tune)", range(0, n, 2)), ("all", range(n))]
        lines = [
            f"SQuAD v1.1 dev (first half): {n} articles; budget = lead length (max {MAX_BUDGET} words).",
            "ROUGE F: R-1 R-2 R-L. Tuning on even articles; odd are held out.",
            "",
            *run_set(engine, articles, squad_splits, args.ablations, "Lead (first sentence of ¶2, ¶3, …)"),
        ]
        if news_engine is not None:
            tune_idx, held = news_split(news)
            news_splits: list[Split] = [("held out", held)]
            if args.all_splits:
                news_splits += [("tune", tune_idx), ("all", range(len(news)))]
            lines += [
                "",
                f"BBC news (business + entertainment): {len(news)} articles; budget = reference summary length "
                f"(max {NEWS_BUDGET} words). Split by article id (CRC-32 parity).",
                "",
                *run_set(news_engine, news, news_splits, args.ablations, "Lead (first sentence of each ¶)"),
            ]
        if args.overview and news:
            (Path(tmp) / "mixed").mkdir()
            lines += ["", *overview_timing(articles, news, Path(tmp) / "mixed", args.overview)]
        print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
