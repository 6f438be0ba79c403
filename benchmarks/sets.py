"""The benchmark collections of issue 10 besides SQuAD: the shipped article, the BBC development half,
and the question sets written for them (``benchmarks/data/``).

* ``offtopic.txt`` -- 310 questions people ask bots that none of the corpora answers;
* ``summit_unanswerable.txt`` -- 71 on-topic questions the shipped article does not answer;
* ``summit_questions.yaml`` -- the article's own questions (``direct``) and paraphrases (held out);
* ``bbc_questions.yaml`` -- 90 questions written from BBC dev articles, each with its article.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from benchmarks.squad import DEFAULT_DATA, REPO_ROOT
from bot.analysis import AliasTable
from bot.corpus import Corpus, Document, load_corpus

DATA = Path(__file__).resolve().parent / "data"
BBC_DIR = DEFAULT_DATA.parent / "bbc-news-dev"
SHIPPED = REPO_ROOT / "corpus"


@dataclass(frozen=True)
class Asked:
    """A question with the document that answers it (None: nothing does) and its paragraphs (1-based)."""

    text: str
    document: str | None = None
    paragraphs: tuple[int, ...] = ()
    fold: int = 0


def _lines(path: Path) -> list[str]:
    return [s for s in (line.strip() for line in path.read_text(encoding="utf-8").splitlines()) if s and s[0] != "#"]


def offtopic() -> list[Asked]:
    """The off-topic questions (fold = line parity)."""
    return [Asked(q, fold=i % 2) for i, q in enumerate(_lines(DATA / "offtopic.txt"))]


def summit_unanswerable() -> list[Asked]:
    """On-topic questions the shipped article does not answer."""
    return [Asked(q, fold=i % 2) for i, q in enumerate(_lines(DATA / "summit_unanswerable.txt"))]


def summit_questions(kind: str) -> list[Asked]:
    """The shipped article's ``direct`` questions or its ``paraphrases``."""
    raw = yaml.safe_load((DATA / "summit_questions.yaml").read_text(encoding="utf-8"))
    doc = shipped_corpus().documents[0].id
    return [Asked(row["q"], doc, tuple(row["paragraphs"]), i % 2) for i, row in enumerate(raw[kind])]


def bbc_questions() -> list[Asked]:
    """Questions written from BBC dev articles (fold = alternate questions)."""
    raw = yaml.safe_load((DATA / "bbc_questions.yaml").read_text(encoding="utf-8"))
    return [Asked(row["q"], row["article"], (), i % 2) for i, row in enumerate(raw["questions"])]


def shipped_corpus() -> Corpus:
    """The corpus the project ships (one article)."""
    return load_corpus(SHIPPED)


def shipped_aliases() -> AliasTable:
    """The shipped alias groups."""
    return AliasTable.load(SHIPPED / "aliases.yaml")


def bbc_documents(path: Path = BBC_DIR) -> list[Document]:
    """The BBC dev half's articles as documents (title + paragraphs)."""
    docs = []
    for line in (path / "articles.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        docs.append(
            Document(
                id=row["id"],
                title=row["title"],
                source="BBC News",
                url=None,
                published=None,
                path=Path(f"bbc/{row['id']}"),
                paragraphs=tuple(p for p in row["paragraphs"] if p.strip()),
            )
        )
    return docs


def bbc_with_summit() -> Corpus:
    """The BBC dev half plus the shipped article: a mixed news corpus an admin might grow."""
    return Corpus.from_documents(Path("bbc"), [*bbc_documents(), *shipped_corpus().documents])
