"""Corpus parsing: both file forms, the shipped article, and every error naming its file and line."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from bot.corpus import CorpusError, load_corpus

REPO = Path(__file__).resolve().parent.parent
SEED = REPO.parent / "shared" / "seeds" / "000_94ef0b8be18db208.txt"


def write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


GOOD_MD = """---
title: A test article
source: example.org
url: https://example.org/a
published: 2025-02-11
---

First paragraph, which
wraps over two lines.

Second paragraph.
"""


def problems_of(folder: Path) -> list[str]:
    with pytest.raises(CorpusError) as info:
        load_corpus(folder)
    return [str(p) for p in info.value.problems]


def test_markdown_article_paragraphs_numbered_from_one(tmp_path: Path) -> None:
    write(tmp_path, "a.md", GOOD_MD)
    corpus = load_corpus(tmp_path)
    (doc,) = corpus.documents
    assert doc.id == "a"
    assert doc.title == "A test article"
    assert doc.source == "example.org"
    assert doc.url == "https://example.org/a"
    assert doc.published == "2025-02-11"
    assert doc.paragraphs == ("First paragraph, which wraps over two lines.", "Second paragraph.")
    assert [(p.paragraph, p.document.id) for p in corpus.passages] == [(1, "a"), (2, "a")]


def test_id_from_front_matter_overrides_file_name(tmp_path: Path) -> None:
    write(tmp_path, "a.md", GOOD_MD.replace("source:", "id: custom-id\nsource:"))
    assert load_corpus(tmp_path).documents[0].id == "custom-id"


def test_txt_article_with_source_line(tmp_path: Path) -> None:
    write(tmp_path, "010_my-pasted_article.txt", "Line one.\n\nLine two.\nOriginal Source: news.example\n")
    (doc,) = load_corpus(tmp_path).documents
    assert doc.paragraphs == ("Line one.", "Line two.")
    assert doc.source == "news.example"
    assert doc.title == "My pasted article"


def test_seed_txt_parses_to_nine_paragraphs(tmp_path: Path) -> None:
    if not SEED.exists():
        pytest.skip("shared seed not present")
    write(tmp_path, "seed.txt", SEED.read_bytes())
    (doc,) = load_corpus(tmp_path).documents
    assert len(doc.paragraphs) == 9
    assert doc.source == "www.ecns.cn"


def test_shipped_corpus_is_the_seed_article() -> None:
    corpus = load_corpus(REPO / "corpus")
    doc = corpus.documents[0]
    assert doc.source == "www.ecns.cn"
    assert len(doc.paragraphs) == 9
    assert doc.url is None and doc.published is None  # the text gives neither
    if SEED.exists():
        seed_lines = [line for line in SEED.read_text(encoding="utf-8").splitlines() if line.strip()][:9]
        assert list(doc.paragraphs) == seed_lines


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("no front matter\n", "a.md:1: missing front matter"),
        ("---\ntitle: T\nsource: s\n\nbody\n", "a.md:1: front matter is not closed"),
        ("---\nsource: s\n---\n\nbody\n", "a.md:1: front matter is missing the required 'title'"),
        ("---\ntitle: T\n---\n\nbody\n", "a.md:1: front matter is missing the required 'source'"),
        ("---\ntitle: T\nsource: [1, 2]\n---\n\nbody\n", "a.md:3: front matter 'source' must be non-empty text"),
        ("---\ntitle: T\nsource: s\nauthor: x\n---\n\nbody\n", "a.md:4: unknown front-matter key 'author'"),
        ("---\ntitle: T\nsource: s\nurl: ftp://x\n---\n\nbody\n", "a.md:4: 'url' must start with http"),
        ("---\ntitle: T\nsource: s\n---\n\n\n", "a.md:4: empty document"),
        ("---\ntitle: [unclosed\nsource: s\n---\n\nbody\n", "a.md:3: front matter is not valid YAML"),
    ],
)
def test_markdown_errors_name_file_and_line(tmp_path: Path, text: str, expected: str) -> None:
    write(tmp_path, "a.md", text)
    (problem,) = problems_of(tmp_path)
    assert problem.startswith(str(tmp_path / expected.split(":", 1)[0]))
    assert expected.split(":", 1)[1] in problem


def test_not_utf8_names_the_line(tmp_path: Path) -> None:
    write(tmp_path, "a.md", GOOD_MD.encode() + b"\nbad \xff byte\n")
    (problem,) = problems_of(tmp_path)
    assert problem == f"{tmp_path / 'a.md'}:13: not UTF-8 text"


def test_binary_file_refused(tmp_path: Path) -> None:
    write(tmp_path, "a.txt", b"hello\x00world\nSource: x\n")
    (problem,) = problems_of(tmp_path)
    assert "binary file" in problem and "a.txt:1" in problem


def test_oversized_file_refused_with_its_name(tmp_path: Path) -> None:
    write(tmp_path, "big.md", GOOD_MD + "x" * 5000)
    with pytest.raises(CorpusError) as info:
        load_corpus(tmp_path, max_file_bytes=1000)
    assert "big.md" in str(info.value) and "over the 1,000-byte cap" in str(info.value)


def test_txt_without_source_line(tmp_path: Path) -> None:
    write(tmp_path, "a.txt", "Just text.\nMore text.\n")
    (problem,) = problems_of(tmp_path)
    assert "a.txt:2: no source" in problem


def test_empty_txt(tmp_path: Path) -> None:
    write(tmp_path, "a.txt", "\n  \n")
    assert "empty document" in problems_of(tmp_path)[0]


def test_duplicate_ids(tmp_path: Path) -> None:
    write(tmp_path, "a.md", GOOD_MD)
    write(tmp_path, "b.md", GOOD_MD.replace("source:", "id: a\nsource:"))
    (problem,) = problems_of(tmp_path)
    assert "duplicate document id 'a'" in problem


def test_every_problem_reported_at_once(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "no front matter")
    write(tmp_path, "b.txt", "no source line")
    write(tmp_path, "c.md", GOOD_MD)
    problems = problems_of(tmp_path)
    assert len(problems) == 2
    assert any("a.md" in p for p in problems) and any("b.txt" in p for p in problems)


def test_empty_folder_and_missing_folder(tmp_path: Path) -> None:
    assert "no articles found" in problems_of(tmp_path)[0]
    assert "does not exist" in problems_of(tmp_path / "nope")[0]


def test_symlink_outside_corpus_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    write(outside, "secret.md", GOOD_MD)
    corpus_dir = tmp_path / "corpus"
    corpus_dir.mkdir()
    write(corpus_dir, "ok.md", GOOD_MD)
    os.symlink(outside / "secret.md", corpus_dir / "link.md")
    os.symlink(outside, corpus_dir / "linked-folder")
    problems = problems_of(corpus_dir)
    assert len(problems) == 2
    assert all("symbolic link: refused" in p for p in problems)


def test_other_files_and_hidden_files_ignored(tmp_path: Path) -> None:
    write(tmp_path, "a.md", GOOD_MD)
    write(tmp_path, "aliases.yaml", "groups: []\n")
    write(tmp_path, ".hidden.md", "junk")
    write(tmp_path, "notes.json", "{}")
    assert [d.id for d in load_corpus(tmp_path).documents] == ["a"]


def test_fifo_named_like_an_article_is_refused_not_waited_on(tmp_path: Path) -> None:
    write(tmp_path, "ok.md", GOOD_MD)
    os.mkfifo(tmp_path / "pipe.md")
    (problem,) = problems_of(tmp_path)  # returns at once: nothing opens the pipe for writing
    assert problem == f"{tmp_path / 'pipe.md'}: not a regular file: refused"


def test_streamed_load_equals_a_store_built_from_parsed_documents(tmp_path: Path) -> None:
    """A first load (each document's text streamed into the store as it is parsed) gives the same
    store as building one from the parsed documents, long paragraphs split into passages included."""
    from bot.corpus import Corpus, read_article

    long = " ".join(f"Sentence number {i} says something about the summit." for i in range(300))
    write(tmp_path, "a.md", "---\ntitle: A\nsource: S\n---\n\nFirst paragraph.\n\nSecond é paragraph.\n")
    write(tmp_path, "b.md", f"---\ntitle: B\nsource: S\n---\n\n{long}\n\nAfter the long one.\n")
    write(tmp_path, "c.txt", "One line.\nAnother line.\nSource: Somewhere\n")
    loaded = load_corpus(tmp_path)
    parsed = [read_article(tmp_path / name, 2_000_000)[0] for name in ("a.md", "b.md", "c.txt")]
    built = Corpus.from_documents(tmp_path, [d for d in parsed if d is not None])
    assert loaded.store.digests == built.store.digests
    for name, array in built.store.arrays().items():
        assert np.array_equal(np.asarray(getattr(loaded.store, name)), np.asarray(array)), name
    assert loaded.documents == built.documents
    assert len(loaded.passages) > 5 and list(loaded.passages) == list(built.passages)
