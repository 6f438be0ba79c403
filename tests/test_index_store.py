"""The saved index: round trip, stale and corrupt detection, and updates that re-analyse only changed documents."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bot import index_store
from bot.analysis import AliasTable, Analyzer
from bot.corpus import Corpus, load_corpus
from bot.index_store import IndexCacheError
from bot.search import BM25Index, BM25Params

WORDS = [f"word{i}" for i in range(400)]
PARAMS = BM25Params()


def article(seed: int, paragraphs: int = 4) -> str:
    """A small article of seeded Zipf-ish words (a few common words, many rare ones)."""
    rng = np.random.default_rng(seed)
    ranks = np.arange(1, len(WORDS) + 1) ** -1.0
    prob = ranks / ranks.sum()
    paras = [
        " ".join(WORDS[i] for i in rng.choice(len(WORDS), int(rng.integers(3, 30)), p=prob)) for _ in range(paragraphs)
    ]
    return f"---\ntitle: Article {seed}\nsource: Test\n---\n\n" + "\n\n".join(paras) + "\n"


def write_corpus(folder: Path, seeds: list[int]) -> Corpus:
    """Write one article per seed (a-<seed>.md) and load the folder."""
    folder.mkdir(exist_ok=True)
    for seed in seeds:
        (folder / f"a-{seed:03d}.md").write_text(article(seed, 2 + seed % 4), encoding="utf-8")
    return load_corpus(folder)


def build(corpus: Corpus, analyzer: Analyzer | None = None) -> BM25Index:
    """A from-scratch index of the corpus's passages."""
    return BM25Index.from_texts([p.text for p in corpus.passages], analyzer or Analyzer(), PARAMS)


def assert_same_results(a: BM25Index, b: BM25Index) -> None:
    """Same passages per term, same exact weights, and the same top 10 for sample questions."""
    assert a.n_docs == b.n_docs
    assert {t for t in a.vocab if a.contains(t)} == {t for t in b.vocab if b.contains(t)}
    for term in a.vocab:
        docs_a, weights_a = a.postings(term)
        docs_b, weights_b = b.postings(term)
        assert np.array_equal(docs_a, docs_b), term
        assert np.allclose(weights_a, weights_b, rtol=1e-12, atol=1e-15), term
    for q in (["word0"], ["word1", "word30"], ["word3", "word3", "word250"], ["word399", "word7", "nope"]):
        got, want = a.top(q, 10), b.top(q, 10)
        assert [i for i, _ in got] == [i for i, _ in want] or np.allclose([s for _, s in got], [s for _, s in want])


def test_save_then_load_gives_the_same_index(tmp_path: Path) -> None:
    """A saved index loads memory-mapped and answers exactly like the one that was saved."""
    corpus = write_corpus(tmp_path / "corpus", list(range(12)))
    analyzer = Analyzer()
    index = build(corpus, analyzer)
    keys = index_store.corpus_keys(corpus)
    stamp = index_store.fingerprint(analyzer, PARAMS)
    index_store.save(index, tmp_path / "idx", keys, stamp)
    loaded = index_store.load(tmp_path / "idx", stamp, keys)
    assert isinstance(np.load(tmp_path / "idx" / "post_docs.npy", mmap_mode="r"), np.memmap)
    assert_same_results(index, loaded)
    for term in ("word0", "word5", "word123"):
        assert loaded.idf_of(term) == index.idf_of(term)
        assert np.array_equal(loaded.get_scores([term]), index.get_scores([term]))
    assert loaded.top(["word2", "word9"], 5) == index.top(["word2", "word9"], 5)


def test_changed_document_or_settings_make_the_index_stale(tmp_path: Path) -> None:
    """Another document text, another alias list or other BM25 parameters: stale, never served."""
    corpus = write_corpus(tmp_path / "corpus", list(range(6)))
    analyzer = Analyzer()
    stamp = index_store.fingerprint(analyzer, PARAMS)
    index_store.save(build(corpus, analyzer), tmp_path / "idx", index_store.corpus_keys(corpus), stamp)
    (tmp_path / "corpus" / "a-003.md").write_text(article(99), encoding="utf-8")
    changed = load_corpus(tmp_path / "corpus")
    with pytest.raises(IndexCacheError, match=r"^stale: documents 1 changed$"):
        index_store.load(tmp_path / "idx", stamp, index_store.corpus_keys(changed))
    aliases = Analyzer(AliasTable.parse("groups:\n  - [word1, word2]\n"))
    with pytest.raises(IndexCacheError, match=r"^stale: built with another"):
        index_store.load(tmp_path / "idx", index_store.fingerprint(aliases, PARAMS))
    with pytest.raises(IndexCacheError, match=r"^stale: built with another"):
        index_store.load(tmp_path / "idx", index_store.fingerprint(analyzer, BM25Params(k1=1.6)))


@pytest.mark.parametrize(
    "damage",
    ["flip a byte", "truncate", "delete", "garbage meta", "meta lies about sizes", "wrong shape", "document list"],
)
def test_corrupt_index_is_detected(tmp_path: Path, damage: str) -> None:
    """Flipped bytes, a cut file, a missing file or a broken meta.json are reported as corrupt."""
    corpus = write_corpus(tmp_path / "corpus", list(range(6)))
    analyzer = Analyzer()
    keys = index_store.corpus_keys(corpus)
    stamp = index_store.fingerprint(analyzer, PARAMS)
    folder = tmp_path / "idx"
    index_store.save(build(corpus, analyzer), folder, keys, stamp)
    target = folder / "post_docs.npy"
    data = bytearray(target.read_bytes())
    meta = json.loads((folder / "meta.json").read_text())
    if damage == "flip a byte":
        data[-3] ^= 0x40
        target.write_bytes(bytes(data))
    elif damage == "truncate":
        target.write_bytes(bytes(data[:-8]))
    elif damage == "delete":
        (folder / "vocab.txt").unlink()
    elif damage == "garbage meta":
        (folder / "meta.json").write_text("{not json")
    elif damage == "document list":  # a row changed, same length: only the checksum tells
        rows = (folder / "documents.jsonl").read_text(encoding="utf-8")
        (folder / "documents.jsonl").write_text(rows.replace(", 2]", ", 3]", 1), encoding="utf-8")
        keys = index_store.saved_documents(folder)
    elif damage == "meta lies about sizes":
        meta["files"]["post_tf.npy"]["size"] += 2
        (folder / "meta.json").write_text(json.dumps(meta))
    else:  # a consistent-looking file whose array has the wrong length
        np.save(target, np.zeros(3, dtype=np.int32))
        meta["files"]["post_docs.npy"] = {"size": target.stat().st_size, "crc32": index_store._crc(target)}
        (folder / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(IndexCacheError, match=r"^corrupt: "):
        index_store.load(folder, stamp, keys)


@pytest.mark.parametrize("change", ["edit", "add", "remove", "edit+add+remove", "nothing"])
def test_update_reanalyses_only_changed_documents(tmp_path: Path, change: str) -> None:
    """Updating from the old index equals building from scratch, and analyses only changed documents."""
    folder = tmp_path / "corpus"
    old_corpus = write_corpus(folder, list(range(0, 40, 2)))
    analyzer = Analyzer()
    old = build(old_corpus, analyzer)
    old_keys = index_store.corpus_keys(old_corpus)
    if "edit" in change:
        (folder / "a-010.md").write_text(article(501, 5), encoding="utf-8")
        (folder / "a-000.md").write_text(article(502, 1), encoding="utf-8")
    if "add" in change:
        (folder / "a-005.md").write_text(article(503) + "\n\nzebraword only here\n", encoding="utf-8")
        (folder / "a-099.md").write_text(article(504), encoding="utf-8")
    if "remove" in change:
        (folder / "a-020.md").unlink()
        (folder / "a-038.md").unlink()
    new_corpus = load_corpus(folder)
    keys = index_store.corpus_keys(new_corpus)
    seen: list[str] = []
    spy = Analyzer()
    original = spy.term_of
    spy.term_of = lambda s: (seen.append(s), original(s))[1]  # type: ignore[method-assign]
    updated, analysed = index_store.update(old, old_keys, new_corpus, keys, spy)
    expected = {"edit": 2, "add": 2, "remove": 0, "edit+add+remove": 4, "nothing": 0}[change]
    assert analysed == expected
    if change == "nothing":
        assert updated is old
    if "add" in change:
        assert "zebraword" in seen and updated.contains("zebraword")
    assert_same_results(updated, build(new_corpus, analyzer))


def test_load_or_build_uses_saves_and_rebuilds(tmp_path: Path) -> None:
    """First start builds and saves; the next loads; a changed file updates; a corrupt save rebuilds."""
    folder = tmp_path / "corpus"
    corpus = write_corpus(folder, list(range(10)))
    analyzer = Analyzer()
    cache = index_store.default_folder(folder)
    logged: list[str] = []
    first, outcome = index_store.load_or_build(corpus, analyzer, PARAMS, cache, log=logged.append)
    assert (outcome.how, outcome.saved) == ("built", str(cache))
    assert load_corpus(folder).documents == corpus.documents  # the .index folder is not read as articles
    second, outcome = index_store.load_or_build(corpus, analyzer, PARAMS, cache)
    assert outcome.how == "loaded" and outcome.reanalysed == 0
    assert_same_results(first, second)
    (folder / "a-004.md").write_text(article(77), encoding="utf-8")
    changed = load_corpus(folder)
    third, outcome = index_store.load_or_build(changed, analyzer, PARAMS, cache, log=logged.append)
    assert (outcome.how, outcome.reanalysed) == ("updated", 1)
    assert any("stale: documents 1 changed" in line for line in logged)
    assert_same_results(third, build(changed, analyzer))
    (cache / "doc_len.npy").write_bytes(b"\x93NUMPY garbage")
    fourth, outcome = index_store.load_or_build(changed, analyzer, PARAMS, cache, log=logged.append)
    assert outcome.how == "built" and outcome.detail.startswith("corrupt: ")
    assert_same_results(fourth, build(changed, analyzer))
    reloaded, outcome = index_store.load_or_build(
        changed, analyzer, PARAMS, cache, previous=(fourth, index_store.corpus_keys(changed))
    )
    assert outcome.how == "unchanged" and reloaded is fourth
    assert "index loaded" in index_store.load_or_build(changed, analyzer, PARAMS, cache)[1].summary()


def test_unwritable_cache_is_reported_not_raised(tmp_path: Path) -> None:
    """A cache path that cannot be written leaves a working index and says why it was not saved."""
    corpus = write_corpus(tmp_path / "corpus", [1, 2])
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    index, outcome = index_store.load_or_build(corpus, Analyzer(), PARAMS, blocker / "idx")
    assert outcome.how == "built" and outcome.saved is None and outcome.save_error
    assert index.n_docs == len(corpus.passages)


def test_saved_index_carries_heads_and_dense_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The query aids (heads, their bounds, dense rows) are saved and memory-mapped back unchanged;
    a saved index whose head or dense-row array does not fit is rebuilt, never served."""
    import bot.search as search

    monkeypatch.setattr(search, "HEAD", 4)  # small heads and dense rows on a small corpus
    monkeypatch.setattr(search, "DENSE", 8)
    folder = tmp_path / "corpus"
    corpus = write_corpus(folder, list(range(12)))
    analyzer = Analyzer()
    cache = tmp_path / "idx"
    built, _ = index_store.load_or_build(corpus, analyzer, PARAMS, cache)
    loaded, outcome = index_store.load_or_build(corpus, analyzer, PARAMS, cache)
    assert outcome.how == "loaded"
    assert built.head_pos.size and (built.dense_row >= 0).any()
    for name in ("head_start", "head_pos", "head_bound", "dense_row", "dense_tf"):
        assert np.array_equal(getattr(loaded, name), getattr(built, name)), name
    assert_same_results(loaded, built)
    meta = json.loads((cache / "meta.json").read_text())
    for name, wrong in (("head_pos", np.zeros(3, np.int32)), ("dense_tf", np.zeros((1, 2), np.uint8))):
        target = cache / f"{name}.npy"
        np.save(target, wrong)
        meta["files"][target.name] = {"size": target.stat().st_size, "crc32": index_store._crc(target)}
        (cache / "meta.json").write_text(json.dumps(meta))
        with pytest.raises(IndexCacheError, match=r"^corrupt: the saved arrays do not fit"):
            index_store.load(cache, index_store.fingerprint(analyzer, PARAMS), index_store.corpus_keys(corpus))
        rebuilt, outcome = index_store.load_or_build(corpus, analyzer, PARAMS, cache)
        assert outcome.how == "built" and outcome.detail.startswith("corrupt: ")
        assert_same_results(rebuilt, built)
        meta = json.loads((cache / "meta.json").read_text())
