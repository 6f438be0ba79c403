"""The parsed corpus saved beside the saved index: a start with unchanged files parses nothing, a
changed file is parsed (and its problems reported as without a snapshot), a stale or corrupt
snapshot is never served, and the lazy passages behave like the tuple they replace."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from bot import index_store
from bot.config import CorpusSettings, SearchSettings, Settings
from bot.corpus import (
    MAX_PASSAGE_CHARS,
    Corpus,
    CorpusError,
    Document,
    Passage,
    PassageSequence,
    TextFile,
    load_corpus,
    parse_markdown,
    passage_texts,
)
from bot.engine import build_engine, corpus_change


def article(title: str, paragraphs: list[str]) -> str:
    """An ``.md`` article."""
    return f"---\ntitle: {title}\nsource: Test\n---\n\n" + "\n\n".join(paragraphs) + "\n"


LONG = " ".join(f"Sentence number {i} says something about långa texts and ünïcode." for i in range(160))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A small corpus: plain articles, one with a paragraph long enough to be split, a .txt one."""
    corpus = tmp_path / "corpus"
    (corpus / "sub").mkdir(parents=True)
    for i in range(5):
        paras = [f"Article {i} paragraph {k} mentions zebra{i} and common words." for k in range(1, 4)]
        (corpus / f"a{i}.md").write_text(article(f"Article {i}", paras), encoding="utf-8")
    (corpus / "long.md").write_text(article("Long", ["Short lead.", LONG, "Tail."]), encoding="utf-8")
    (corpus / "sub" / "pasted.txt").write_text("First line here.\nSecond line.\nSource: Pasted\n", encoding="utf-8")
    return corpus


def settings_for(corpus: Path, cache: Path) -> Settings:
    """Default settings on ``corpus`` with the saved index and corpus in ``cache``."""
    return Settings(corpus=CorpusSettings(path=corpus), search=SearchSettings(index_cache=cache))


def reference_passages(documents: tuple[Document, ...]) -> tuple[Passage, ...]:
    """The passages as the loader built them before (a tuple of Passage objects)."""
    out = []
    for doc in documents:
        for number, text in enumerate(doc.paragraphs, start=1):
            parts = passage_texts(text)
            out.extend(Passage(doc, number, part, i, len(parts)) for i, part in enumerate(parts, start=1))
    return tuple(out)


# ---------------------------------------------------------------------------- lazy passages


def test_lazy_passages_behave_like_the_tuple(folder: Path) -> None:
    """len, indexing (negative too), slices, iteration, equality, ``in`` and errors as a tuple's."""
    corpus = load_corpus(folder)
    want = reference_passages(corpus.documents)
    got = corpus.passages
    assert isinstance(got, PassageSequence)
    assert len(got) == len(want) and any(p.parts > 1 for p in want)
    assert got == want and want == got and tuple(got) == want and list(got) == list(want)
    assert got[0] == want[0] and got[-1] == want[-1] and got[np.int64(3)] == want[3]
    assert got[2:7] == want[2:7] and got[::-3] == want[::-3] and got[100:] == want[100:]
    assert want[4] in got and got.index(want[5]) == 5 and got.count(want[1]) == 1
    for bad in (len(want), -len(want) - 1):
        with pytest.raises(IndexError):
            got[bad]
    assert got != want[:-1] and got != ()
    # Paragraph views equal the tuples the parser gives, and hash like them.
    doc = corpus.documents[0]
    parsed, _ = parse_markdown(doc.path, doc.path.read_text(encoding="utf-8"))
    assert parsed is not None and doc == parsed and hash(doc.paragraphs) == hash(tuple(parsed.paragraphs))
    assert doc.paragraphs[-1] == parsed.paragraphs[-1] and doc.paragraphs[:2] == parsed.paragraphs[:2]


def test_split_paragraphs_keep_their_number_and_parts(folder: Path) -> None:
    """A paragraph over the limit becomes several passages, each citing its ¶ number; the index
    counts passages, not paragraphs (what a saved index is keyed on)."""
    corpus = load_corpus(folder)
    split = corpus.split_paragraphs()
    assert [(d.id, n) for d, n, _ in split] == [("long", 2)] and len(LONG) > MAX_PASSAGE_CHARS
    parts = [p for p in corpus.passages if p.document.id == "long" and p.paragraph == 2]
    assert len(parts) == split[0][2] > 1 and [p.part for p in parts] == list(range(1, len(parts) + 1))
    keys = {k.id: k.passages for k in index_store.corpus_keys(corpus)}
    assert keys["long"] == 2 + len(parts)


# ---------------------------------------------------------------------------- snapshot


def test_unchanged_files_are_not_parsed_again(folder: Path, tmp_path: Path) -> None:
    """After a build with a cache folder, a start reads the saved corpus: nothing is parsed (the
    saved corpus itself is returned), and it equals a fresh parse of the files."""
    settings = settings_for(folder, tmp_path / "cache")
    first = build_engine(settings)
    assert first.index_outcome is not None and first.index_outcome.how == "built"
    snapshot = index_store.load_corpus_snapshot(tmp_path / "cache", folder)
    assert isinstance(snapshot.store.blob, TextFile)
    assert load_corpus(folder, previous=snapshot) is snapshot
    fresh = load_corpus(folder)
    assert snapshot.documents == fresh.documents and snapshot.passages == fresh.passages
    assert [d.path for d in snapshot.documents] == [d.path for d in fresh.documents]
    again = build_engine(settings)
    assert again.index_outcome is not None and again.index_outcome.how == "loaded" and again.corpus_saved
    assert again.passages == fresh.passages
    assert again.answer("What does article 3 paragraph 2 mention?").passages[0].passage.document.id == "a3"


def test_a_changed_file_is_parsed_and_the_others_taken_over(folder: Path, tmp_path: Path) -> None:
    """One file edited: its new text is served, the other documents are the saved ones; the saved
    corpus is rewritten so the next start parses nothing."""
    settings = settings_for(folder, tmp_path / "cache")
    build_engine(settings)
    (folder / "a2.md").write_text(article("Article 2 edited", ["Quagga facts only."]), encoding="utf-8")
    snapshot = index_store.load_corpus_snapshot(tmp_path / "cache", folder)
    corpus = load_corpus(folder, previous=snapshot)
    assert corpus is not snapshot and corpus == load_corpus(folder)
    assert corpus.document("a2") is not None and tuple(corpus.document("a2").paragraphs) == ("Quagga facts only.",)
    change = corpus_change(snapshot, corpus)
    assert change.changed == ("a2",) and not change.added and not change.removed
    engine = build_engine(settings)
    assert engine.index_outcome is not None and engine.index_outcome.how == "updated"
    assert engine.answer("Quagga facts?").passages[0].passage.document.id == "a2"
    assert load_corpus(folder, previous=index_store.load_corpus_snapshot(tmp_path / "cache", folder)).files


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        ("no source", "missing the required 'source'"),
        ("not utf-8", "not UTF-8 text"),
        ("over the cap", "-byte cap"),
        ("duplicate id", "duplicate document id"),
    ],
)
def test_a_changed_files_problems_are_reported_as_without_a_snapshot(
    folder: Path, tmp_path: Path, damage: str, expected: str
) -> None:
    """Breaking a file the snapshot knows: the same problems, word for word, as a load without it."""
    build_engine(settings_for(folder, tmp_path / "cache"))
    cap = 2_000_000
    target = folder / "a1.md"
    if damage == "no source":
        target.write_text("---\ntitle: No source\n---\n\nText.\n", encoding="utf-8")
    elif damage == "not utf-8":
        target.write_bytes(article("Bad", ["caf\xe9"]).encode("latin-1"))
    elif damage == "over the cap":
        cap = 100  # settings changed, file unchanged: still refused
    else:
        (folder / "zz.md").write_text("---\ntitle: Dup\nsource: T\nid: a1\n---\n\nText.\n", encoding="utf-8")
    snapshot = index_store.load_corpus_snapshot(tmp_path / "cache", folder)
    with pytest.raises(CorpusError) as without:
        load_corpus(folder, max_file_bytes=cap)
    with pytest.raises(CorpusError) as with_snapshot:
        load_corpus(folder, max_file_bytes=cap, previous=snapshot)
    assert [str(p) for p in with_snapshot.value.problems] == [str(p) for p in without.value.problems]
    assert expected in str(with_snapshot.value.problems)


@pytest.mark.parametrize("damage", ["flip a text byte", "truncate the text", "flip a span", "meta fingerprint"])
def test_corrupt_or_stale_snapshot_is_never_served(folder: Path, tmp_path: Path, damage: str) -> None:
    """A damaged saved corpus is detected (checksum, size, or another code's fingerprint): the
    engine is built from the files, serves their real text, and the folder is written again."""
    cache = tmp_path / "cache"
    settings = settings_for(folder, cache)
    build_engine(settings)
    meta = json.loads((cache / "meta.json").read_text())
    blob = cache / "corpus_blob.npy"
    if damage == "flip a text byte":
        data = bytearray(blob.read_bytes())
        at = data.find(b"zebra3")
        data[at : at + 6] = b"ZEBRA9"
        blob.write_bytes(bytes(data))
    elif damage == "truncate the text":
        blob.write_bytes(blob.read_bytes()[:-10])
    elif damage == "flip a span":
        spans = cache / "corpus_passage_span.npy"
        data = bytearray(spans.read_bytes())
        data[-5] ^= 0x10
        spans.write_bytes(bytes(data))
    else:
        meta["corpus"]["fingerprint"] = "0" * 32
        (cache / "meta.json").write_text(json.dumps(meta))
    logged: list[str] = []
    engine = build_engine(settings, log=logged.append)
    reason = "stale" if damage == "meta fingerprint" else "corrupt"
    assert any(line.startswith(f"saved corpus not used: {reason}") for line in logged), logged
    assert engine.passages == load_corpus(folder).passages
    assert not any("ZEBRA9" in p.text for p in engine.passages)
    with_snapshot = index_store.load_corpus_snapshot(cache, folder)  # written again, whole
    assert with_snapshot.passages == engine.passages


def test_snapshot_follows_a_moved_corpus_folder(folder: Path, tmp_path: Path) -> None:
    """Documents taken from a saved corpus are placed in the folder read now (paths are relative)."""
    build_engine(settings_for(folder, tmp_path / "cache"))
    moved = folder.rename(tmp_path / "moved")
    snapshot = index_store.load_corpus_snapshot(tmp_path / "cache", moved)
    corpus = load_corpus(moved, previous=snapshot)
    assert corpus.store is snapshot.store and all(d.path.is_relative_to(moved) for d in corpus.documents)
    assert corpus == load_corpus(moved)


def test_in_process_reload_takes_over_unchanged_documents(folder: Path) -> None:
    """Without a cache folder a reload still parses only changed files: nothing changed gives the
    very same corpus; one change gives a corpus equal to a fresh load (the other documents' text
    copied from the old buffer byte for byte)."""
    settings = Settings(corpus=CorpusSettings(path=folder))
    old = build_engine(settings)
    assert build_engine(settings, previous=old).corpus is old.corpus  # nothing changed
    (folder / "a4.md").write_text(article("Article 4", ["Okapi news."]), encoding="utf-8")
    new = build_engine(settings, previous=old)
    assert new.corpus == load_corpus(folder) and new.corpus.passages == load_corpus(folder).passages
    assert corpus_change(old.corpus, new.corpus).changed == ("a4",)
    assert new.answer("Okapi news?").passages[0].passage.document.id == "a4"


def test_corpus_from_documents_equals_the_loaded_one(folder: Path) -> None:
    """A corpus built from parsed documents (tests, benchmarks) equals the loaded one, and
    ``dataclasses.replace`` of a document keeps its paragraphs."""
    loaded = load_corpus(folder)
    built = Corpus.from_documents(
        folder, [dataclasses.replace(d, paragraphs=tuple(d.paragraphs)) for d in loaded.documents]
    )
    assert built == loaded and built.passages == loaded.passages


def test_new_text_goes_to_a_file_or_to_memory_when_it_cannot(folder: Path, tmp_path: Path) -> None:
    """With a changed file, the new text buffer is written file to file next to the saved corpus;
    where that file cannot be written, the text is held in memory, and the corpus is the same."""
    build_engine(settings_for(folder, tmp_path / "cache"))
    (folder / "a0.md").write_text(article("Article 0", ["Okapi text."]), encoding="utf-8")
    snapshot = index_store.load_corpus_snapshot(tmp_path / "cache", folder)
    spilled = load_corpus(folder, previous=snapshot, spill=tmp_path / "spill.npy")
    assert isinstance(spilled.store.blob, TextFile) and (tmp_path / "spill.npy").is_file()
    (tmp_path / "afile").write_text("not a folder", encoding="utf-8")
    in_memory = load_corpus(folder, previous=snapshot, spill=tmp_path / "afile" / "spill.npy")
    assert isinstance(in_memory.store.blob, np.ndarray)
    assert spilled == in_memory == load_corpus(folder) and spilled.passages == in_memory.passages
    spilled.store.drop_spill()
    assert not (tmp_path / "spill.npy").exists() and spilled.passages[0].text  # still readable
