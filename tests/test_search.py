"""BM25Index against rank-bm25's BM25Okapi: scores, top-k ranking, bulk analysis, exclusion."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rank_bm25 import BM25Okapi

from bot.analysis import _UNICODE_SEPARATORS, AliasTable, Analyzer
from bot.search import BM25Index, BM25Params

WORDS = [f"w{i}" for i in range(12)]
docs_strategy = st.lists(st.lists(st.sampled_from(WORDS), min_size=0, max_size=12), min_size=1, max_size=25)
query_strategy = st.lists(st.sampled_from([*WORDS, "unknown", "zz"]), min_size=0, max_size=6)
params_strategy = st.builds(
    BM25Params,
    k1=st.floats(0.05, 3.0, allow_nan=False),
    b=st.floats(0.0, 0.99, allow_nan=False),  # b = 1 with an empty passage is 0/0 = NaN in rank-bm25
    epsilon=st.floats(0.0, 1.0, allow_nan=False),
)


def reference_top(docs: list[list[str]], scores: np.ndarray, query: list[str], k: int) -> list[int]:
    """BM25Okapi's ranking: passages holding a query term, by descending score, ties by position."""
    terms = set(query)
    candidates = [i for i, doc in enumerate(docs) if terms & set(doc)]
    return sorted(candidates, key=lambda i: (-scores[i], i))[:k]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(docs=docs_strategy, query=query_strategy, params=params_strategy, k=st.integers(1, 8))
def test_scores_and_top_equal_bm25okapi(docs: list[list[str]], query: list[str], params: BM25Params, k: int) -> None:
    """get_scores equals BM25Okapi.get_scores; top(q, k) equals sorting those scores."""
    if not any(docs):  # BM25Okapi divides by the total length
        return
    index = BM25Index.from_tokenized(docs, params)
    okapi = BM25Okapi(docs, k1=params.k1, b=params.b, epsilon=params.epsilon)
    expected = okapi.get_scores(query)
    assert np.allclose(index.get_scores(query), expected, rtol=1e-9, atol=1e-12)
    top = index.top(query, k)
    want = reference_top(docs, expected, query, k)
    got = [i for i, _ in top]
    # Ranks agree; where BM25Okapi's own float sums differ only by rounding, either order is right.
    assert len(got) == len(want)
    for (i, score), j in zip(top, want, strict=True):
        assert i == j or np.isclose(expected[i], expected[j], rtol=1e-12, atol=1e-12)
        assert np.isclose(score, expected[i], rtol=1e-9, atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(docs=docs_strategy, query=query_strategy, data=st.data())
def test_top_exclude_mask(docs: list[list[str]], query: list[str], data: st.DataObject) -> None:
    """Excluded passages never appear; the rest keep BM25Okapi's order."""
    if not any(docs):
        return
    exclude = np.array(data.draw(st.lists(st.booleans(), min_size=len(docs), max_size=len(docs))), dtype=bool)
    index = BM25Index.from_tokenized(docs, BM25Params(k1=1.5, b=0.75, epsilon=0.25))
    scores = BM25Okapi(docs, k1=1.5, b=0.75, epsilon=0.25).get_scores(query)
    got = [i for i, _ in index.top(query, 5, exclude=exclude)]
    kept = [d if not exclude[i] else [] for i, d in enumerate(docs)]
    want = reference_top(kept, scores, query, 5)
    assert not any(exclude[i] for i in got)
    assert len(got) == len(want)
    for i, j in zip(got, want, strict=True):
        assert i == j or np.isclose(scores[i], scores[j], rtol=1e-12, atol=1e-12)


def test_empty_query_and_edge_cases() -> None:
    """An empty or all-unknown query finds nothing; k <= 0 returns nothing."""
    index = BM25Index.from_tokenized([["a", "b"], ["b", "c"], []])
    assert index.top([], 3) == []
    assert index.top(["nope"], 3) == []
    assert index.top(["a"], 0) == []
    assert np.array_equal(index.get_scores([]), np.zeros(3))
    assert [i for i, _ in index.top(["b", "b", "a"], 3)] == [0, 1]
    assert index.contains("a") and not index.contains("nope")
    assert index.doc_len.tolist() == [2.0, 2.0, 0.0]
    assert index.top(["a", "c"], 3, exclude=np.array([True, True, False])) == []


ALIASES = AliasTable.parse(
    "groups:\n"
    "  - [United States, U.S., America, US]\n"
    "  - [Global AI Governance Initiative, GAIGI]\n"
    "  - [Xi Jinping, President Xi]\n"
)

REAL_TEXTS = [
    "President Xi Jinping met U.S. officials in Beijing on Tuesday.",
    "The United States and China’s “leaders” discussed the Global AI Governance Initiative — again…",
    "AMERICA IS SHOUTING ABOUT THE UNITED STATES AND CHINA TODAY",
    "US tariffs, e.g. on chips, hit the U.N. and the EU; it's 'quoted' don''t _under_score_ text.",
    "Ça va? Naïve café in Zürich: 3.5% growth, ²³ and Ⅳ, x’y ’lead trail’ a’’b.",
    "ÉCOLE NORMALE SUPÉRIEURE EST LÀ, SAYS THE UNITED STATES",
    "governance initiative without the global part; AI ai Ai.",
    "tab\tseparated\u2028line and\u00a0nbsp and soft\u00adhyphen and mid·dot",
    "",
    "the and of",
    "Numbers 2024 and 1,000,000 and 3.14 and v2.0 and A.B.C. and i.e., fine.",
    "Quotes: 'single' and \"double\" and `back` and ‘curly’ and “curly”.",
    "Global AI Governance Initiative global ai governance initiative GAIGI",
]

text_strategy = st.text(
    alphabet=st.sampled_from(
        [*"abcUSXi .,'’‘“”—-_\n\t0123456789", "é", "É", "ß", "Ⅳ", "\u00a0", "\u00ad", "·", "…", "ç", "İ"]
    ),
    max_size=60,
) | st.sampled_from(REAL_TEXTS)


def assert_same_index(a: BM25Index, b: BM25Index) -> None:
    """Two indexes hold the same terms with the same postings, weights and lengths."""
    assert set(a.vocab) == set(b.vocab)
    assert a.n_docs == b.n_docs
    assert np.array_equal(a.doc_len, b.doc_len)
    for term in a.vocab:
        docs_a, weights_a = a.postings(term)
        docs_b, weights_b = b.postings(term)
        assert np.array_equal(docs_a, docs_b), term
        assert np.allclose(weights_a, weights_b, rtol=1e-12), term


@pytest.mark.parametrize("aliases", [None, ALIASES])
def test_from_texts_equals_analyze_many_on_real_texts(aliases: AliasTable | None) -> None:
    """The bulk path gives exactly the terms of ``analyze`` (aliases, phrases, shouting, punctuation)."""
    analyzer = Analyzer(aliases)
    params = BM25Params(1.2, 0.75, 0.25)
    bulk = BM25Index.from_texts(REAL_TEXTS, analyzer, params)
    one_by_one = BM25Index.from_tokenized(Analyzer(aliases).analyze_many(REAL_TEXTS), params)
    assert_same_index(bulk, one_by_one)
    if aliases is not None:
        assert bulk.contains("~global_ai_governance_initiative")
        assert bulk.contains("~united_states")


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(text_strategy, min_size=1, max_size=8))
def test_from_texts_equals_analyze_many_random(texts: list[str]) -> None:
    """Random texts mixing ASCII, accents, curly quotes, dots and shouting tokenize identically."""
    bulk = BM25Index.from_texts(texts, Analyzer(ALIASES))
    one_by_one = BM25Index.from_tokenized(Analyzer(ALIASES).analyze_many(texts))
    assert_same_index(bulk, one_by_one)


def test_unicode_separators_are_not_word_characters() -> None:
    """Every character the byte path treats as a separator is one for the tokenizer pattern too."""
    pattern = Analyzer().pattern
    for ch in _UNICODE_SEPARATORS:
        assert not ch.isalnum()
        assert pattern.findall(f"a{ch}b") == ["a", "b"]


def test_public_constructor_matches_from_tokenized() -> None:
    """``BM25Index(vocab, term_ids, doc_ids, ...)`` builds the same index as ``from_tokenized``."""
    docs = [["a", "b", "a"], ["c"], ["b", "c", "d", "d"]]
    vocab = {"a": 0, "b": 1, "c": 2, "d": 3}
    term_ids = np.array([vocab[t] for d in docs for t in d], dtype=np.int32)
    doc_ids = np.array([i for i, d in enumerate(docs) for _ in d], dtype=np.int32)
    params = BM25Params()
    assert_same_index(BM25Index(vocab, term_ids, doc_ids, len(docs), params), BM25Index.from_tokenized(docs, params))


front_value = st.text(alphabet=st.sampled_from([*"aZé0 :#-'’,./?!&%_\t[]{}\"~"]), min_size=0, max_size=15)
front_line = st.one_of(
    st.builds(lambda k, v: f"{k}: {v}", st.sampled_from(["title", "source", "url", "id", "published"]), front_value),
    st.sampled_from(
        ["published: 2024-05-01", "published: 2024-13-40", "title: yes", "title: No", "  ", "# note", "extra: x"]
    ),
)


@settings(max_examples=400, deadline=None)
@given(lines=st.lists(front_line, max_size=5))
def test_simple_front_matter_equals_yaml(lines: list[str]) -> None:
    """The loader's YAML-free front-matter path, when it applies, gives exactly what PyYAML gives."""
    import yaml

    from bot.corpus import _simple_front

    fast = _simple_front(lines)
    if fast is None:
        return
    assert fast == yaml.safe_load("\n".join(lines))


def test_simple_front_matter_applies_to_plain_articles() -> None:
    """Ordinary front matter takes the fast path; quoted or numeric values go to PyYAML."""
    from bot.corpus import _simple_front

    lines = [
        "title: China’s summit, day 2",
        "source: Reuters",
        "url: https://example.com/a?b=1#c",
        "published: 2024-05-01",
    ]
    assert _simple_front(lines) is not None
    assert _simple_front(['title: "quoted"', "source: X"]) is None
    assert _simple_front(["title: 2024", "source: X"]) is None


@pytest.fixture(params=[(1, 2), (3, 0)], ids=["head1-dense", "head3-sparse"])
def tiny_blocks(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    """Blocks of 2 postings, heads of 1 or 3 postings, batches of 2, dense rows for terms in half the
    passages (or none) and no exhaustive shortcut, so small corpora take every branch of the pruned
    top-k path."""
    import bot.search as search

    head, dense = request.param
    monkeypatch.setattr(search, "BLOCK", 2)
    monkeypatch.setattr(search, "_EXHAUSTIVE", 0)
    monkeypatch.setattr(search, "HEAD", head)
    monkeypatch.setattr(search, "DENSE", dense)
    monkeypatch.setattr(search, "BATCH", 2)


@pytest.mark.usefixtures("tiny_blocks")
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(docs=docs_strategy, query=query_strategy, params=params_strategy, k=st.integers(1, 8), data=st.data())
def test_pruned_top_equals_bm25okapi(
    docs: list[list[str]], query: list[str], params: BM25Params, k: int, data: st.DataObject
) -> None:
    """The block-max / MaxScore path returns BM25Okapi's top k (scores, order, ties, exclusions)."""
    if not any(docs):
        return
    exclude = None
    if data.draw(st.booleans()):
        exclude = np.array(data.draw(st.lists(st.booleans(), min_size=len(docs), max_size=len(docs))), dtype=bool)
    index = BM25Index.from_tokenized(docs, params)
    expected = BM25Okapi(docs, k1=params.k1, b=params.b, epsilon=params.epsilon).get_scores(query)
    kept = docs if exclude is None else [d if not exclude[i] else [] for i, d in enumerate(docs)]
    want = reference_top(kept, expected, query, k)
    top = index.top(query, k, exclude=exclude)
    assert len(top) == len(want)
    for (i, score), j in zip(top, want, strict=True):
        assert i == j or np.isclose(expected[i], expected[j], rtol=1e-12, atol=1e-12)
        assert np.isclose(score, expected[i], rtol=1e-9, atol=1e-12)


def zipf_docs(n_docs: int, vocab: int, seed: int) -> list[list[str]]:
    """Seeded passages of Zipf-distributed words: a few terms in most passages, many rare ones."""
    rng = np.random.default_rng(seed)
    ranks = np.arange(1, vocab + 1, dtype=np.float64) ** -1.1
    prob = ranks / ranks.sum()
    lengths = rng.integers(0, 40, n_docs)
    words = rng.choice(vocab, size=int(lengths.sum()), p=prob)
    out, pos = [], 0
    for n in lengths:
        out.append([f"t{w}" for w in words[pos : pos + n]])
        pos += n
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_pruned_top_on_a_zipf_corpus_equals_full_scoring(seed: int) -> None:
    """On thousands of passages (many blocks per common term) top(k) equals ranking every score."""
    docs = zipf_docs(6000, 3000, seed)
    index = BM25Index.from_tokenized(docs)
    rng = np.random.default_rng(seed + 100)
    exclude = rng.random(len(docs)) < 0.1
    for q in range(60):
        # Common words, rare words, repeats and an unknown word, mixed.
        query = [f"t{int(w)}" for w in rng.zipf(1.3, int(rng.integers(1, 6))) - 1] + ["t0"] * (q % 3 == 0)
        if q % 7 == 0:
            query.append("never-seen")
        scores = index.get_scores(query)
        for k, mask in ((1, None), (10, None), (30, exclude), (200, None)):
            hit = np.zeros(len(docs), dtype=bool)
            for term in set(query):
                hit[index.postings(term)[0]] = True
            if mask is not None:
                hit &= ~mask
            cands = np.flatnonzero(hit)
            want = cands[np.lexsort((cands, -scores[cands]))][:k].tolist()
            got = index.top(query, k, exclude=mask)
            assert [i for i, _ in got] == want, (query, k)
            assert [s for _, s in got] == scores[want].tolist()


def test_postings_give_exact_weights() -> None:
    """``postings(term)`` lists the passages in order with BM25Okapi's per-passage weight."""
    docs = [["a", "b", "a"], ["c"], ["b", "c", "d", "d"], ["a"]]
    index = BM25Index.from_tokenized(docs, BM25Params(k1=1.5, b=0.75, epsilon=0.25))
    okapi = BM25Okapi(docs, k1=1.5, b=0.75, epsilon=0.25)
    for term in "abcd":
        ids, weights = index.postings(term)
        assert ids.dtype == np.int32 and weights.dtype == np.float64
        expected = okapi.get_scores([term])
        assert ids.tolist() == [i for i, d in enumerate(docs) if term in d]
        assert weights.tolist() == expected[ids].tolist()
    ids, weights = index.postings("zz")
    assert ids.size == 0 and weights.size == 0


@pytest.mark.parametrize("layout_block", [1, 97, 1 << 23])
def test_chunked_build_equals_one_chunk(monkeypatch: pytest.MonkeyPatch, layout_block: int) -> None:
    """Indexing in many small chunks of passages, laid out in term ranges of any size, gives the
    same index as one chunk."""
    import bot.search as search

    texts = [" ".join(d) for d in zipf_docs(500, 300, 7)] + REAL_TEXTS
    whole = BM25Index.from_texts(texts, Analyzer(ALIASES))
    monkeypatch.setattr(search, "CHUNK_TOKENS", 50)
    monkeypatch.setattr(search, "_LAYOUT_BLOCK", layout_block)
    seen: list[tuple[int, int]] = []
    chunked = BM25Index.from_texts(texts, Analyzer(ALIASES), progress=lambda p, t: seen.append((p, t)))
    assert_same_index(whole, chunked)
    assert len(seen) > 10 and seen[-1][0] == len(texts)
    assert [p for p, _ in seen] == sorted(p for p, _ in seen)


# ------------------------------------------------------------------- the read-only query API


@settings(max_examples=100, deadline=None)
@given(docs=docs_strategy, params=params_strategy)
def test_query_api_agrees_with_bm25okapi(docs: list[list[str]], params: BM25Params) -> None:
    """df_of, postings and known_idf give each term's passages, weights and IDF as BM25Okapi has them."""
    if not any(docs):
        return
    index = BM25Index.from_tokenized(docs, params)
    okapi = BM25Okapi(docs, k1=params.k1, b=params.b, epsilon=params.epsilon)
    present = sorted({t for doc in docs for t in doc})
    for term in [*present, "unknown"]:
        holders = [i for i, doc in enumerate(docs) if term in doc]
        assert index.df_of(term) == len(holders)
        assert (index.term_id(term) is None) == (term == "unknown")
        passages, weights = index.postings(term)
        assert passages.dtype == np.int32 and weights.dtype == np.float64
        assert passages.tolist() == holders
        assert np.allclose(weights, okapi.get_scores([term])[holders], rtol=1e-9, atol=1e-12)
        assert not passages.flags.writeable and not weights.flags.writeable
    assert sorted(index.known_idf().tolist()) == pytest.approx(sorted(okapi.idf[t] for t in present))


def test_passage_weight_mass_sums_weight_times_df() -> None:
    """Each passage's mass is the sum over its distinct terms of (BM25 weight x document frequency)."""
    docs = [["a", "b", "b"], ["b", "c"], [], ["a", "c", "d"]]
    index = BM25Index.from_tokenized(docs, BM25Params(1.2, 0.75, 0.25))
    okapi = BM25Okapi(docs, k1=1.2, b=0.75, epsilon=0.25)
    expected = [sum(okapi.get_scores([t])[i] * index.df_of(t) for t in set(doc)) for i, doc in enumerate(docs)]
    mass = index.passage_weight_mass()
    assert mass.shape == (len(docs),) and np.allclose(mass, expected)
    assert mass[2] == 0.0


def test_passage_weight_mass_in_chunks_equals_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """Summing the mass over many small chunks of postings gives the one-pass values."""
    import bot.search as search

    index = BM25Index.from_tokenized(zipf_docs(300, 200, 5))
    whole = index.passage_weight_mass()
    monkeypatch.setattr(search, "CHUNK_TOKENS", 37)
    assert np.allclose(index.passage_weight_mass(), whole, rtol=1e-12)


def zipf_ties_docs(seed: int) -> list[list[str]]:
    """A Zipf corpus where every tenth passage repeats an earlier one (exact score ties)."""
    docs = zipf_docs(3000, 1500, seed)
    return [docs[i - 7] if i % 10 == 9 else doc for i, doc in enumerate(docs)]


@pytest.mark.parametrize(("seed", "head", "dense", "batch"), [(4, 8, 4, 16), (5, 64, 0, 64), (6, 1, 2, 1)])
def test_heads_and_dense_rows_keep_top_exact(
    monkeypatch: pytest.MonkeyPatch, seed: int, head: int, dense: int, batch: int
) -> None:
    """Small heads, dense rows or none, small batches: top(k) still equals ranking every score,
    with tied passages (repeated texts), exclusions, and k beyond the number of matches."""
    import bot.search as search

    monkeypatch.setattr(search, "HEAD", head)
    monkeypatch.setattr(search, "DENSE", dense)
    monkeypatch.setattr(search, "BATCH", batch)
    monkeypatch.setattr(search, "_EXHAUSTIVE", 0)
    docs = zipf_ties_docs(seed)
    index = BM25Index.from_tokenized(docs)
    assert (index.dense_row >= 0).any() == (dense > 0)
    assert (index.head_start[1:] > index.head_start[:-1]).any()
    rng = np.random.default_rng(seed + 100)
    exclude = rng.random(len(docs)) < 0.1
    for q in range(40):
        query = [f"t{int(w)}" for w in rng.zipf(1.2, int(rng.integers(1, 6))) - 1] + ["t0", "t1"] * (q % 4 == 0)
        scores = index.get_scores(query)
        hit = np.zeros(len(docs), dtype=bool)
        for term in set(query):
            hit[index.postings(term)[0]] = True
        for k, mask in ((1, None), (30, exclude), (int(hit.sum()) + 5, None)):
            cands = np.flatnonzero(hit if mask is None else hit & ~mask)
            want = cands[np.lexsort((cands, -scores[cands]))][:k].tolist()
            got = index.top(query, k, exclude=mask)
            assert [i for i, _ in got] == want, (query, k)
            assert [s for _, s in got] == scores[want].tolist()


def test_heads_hold_each_terms_highest_weights(monkeypatch: pytest.MonkeyPatch) -> None:
    """A head is at most HEAD postings, all weighing more than any posting left out, and the
    term's head bound is exactly the largest weight left out; rare terms have no stored head."""
    import bot.search as search

    monkeypatch.setattr(search, "HEAD", 20)
    index = BM25Index.from_tokenized(zipf_docs(2000, 800, 7))
    checked = 0
    for term, tid in index.vocab.items():
        _, weights = index.postings(term)
        head = index.head_pos[index.head_start[tid] : index.head_start[tid + 1]]
        if weights.size <= 20:
            assert head.size == 0 and index.head_bound[tid] == -np.inf
            continue
        assert head.size <= 20 and np.unique(head).size == head.size
        out = np.ones(weights.size, dtype=bool)
        out[head] = False
        assert index.head_bound[tid] == weights[out].max()
        if head.size:
            assert weights[head].min() > index.head_bound[tid]
            checked += 1
    assert checked >= 10


def test_dense_rows_hold_every_frequency(monkeypatch: pytest.MonkeyPatch) -> None:
    """A common term's dense row equals its postings' frequencies (255 for 255 or more), and a
    frequency above 255 is still found exactly when scoring."""
    import bot.search as search

    monkeypatch.setattr(search, "DENSE", 3)
    docs = zipf_docs(500, 200, 8)
    docs[17] = docs[17] + ["t0"] * 300 + ["t1"] * 254
    index = BM25Index.from_tokenized(docs)
    dense = np.flatnonzero(index.dense_row >= 0)
    assert dense.size >= 2 and index.dense_tf.shape == (dense.size, len(docs))
    for tid in dense.tolist():
        lo, hi = int(index.offsets[tid]), int(index.offsets[tid + 1])
        row = np.zeros(len(docs), dtype=np.int64)
        row[index.post_docs[lo:hi]] = np.minimum(index.post_tf[lo:hi], 255)
        assert np.array_equal(index.dense_tf[index.dense_row[tid]], row)
    assert index.dense_tf[index.dense_row[index.vocab["t0"]], 17] == 255
    params = index.params
    want = BM25Okapi(docs, k1=params.k1, b=params.b, epsilon=params.epsilon).get_scores(["t0", "t1"])
    got = dict(index.top(["t0", "t1"], 3))
    assert next(iter(got)) == 17 and got[17] == pytest.approx(want[17], rel=1e-12)


def test_updated_index_has_the_heads_and_rows_of_a_fresh_build(monkeypatch: pytest.MonkeyPatch) -> None:
    """An index updated with changed passages carries the same heads, bounds and dense rows as
    one built from scratch over the new passages."""
    import bot.search as search

    monkeypatch.setattr(search, "HEAD", 16)
    monkeypatch.setattr(search, "DENSE", 4)
    old_docs = zipf_docs(900, 300, 9)
    new_docs = zipf_docs(200, 300, 10)
    keep = [i for i in range(len(old_docs)) if i % 5]  # drop every fifth passage, add new ones at the end
    doc_map = np.full(len(old_docs), -1, dtype=np.int64)
    doc_map[keep] = np.arange(len(keep))
    fresh_ids = np.arange(len(keep), len(keep) + len(new_docs))
    old = BM25Index.from_tokenized(old_docs)
    updated = old.updated(doc_map, BM25Index.from_tokenized(new_docs), fresh_ids, len(keep) + len(new_docs))
    scratch = BM25Index.from_tokenized([old_docs[i] for i in keep] + new_docs)
    ids = [updated.vocab[t] for t in scratch.terms()]  # the same terms, maybe other ids
    for tid_s, tid_u in enumerate(ids):
        heads_s = scratch.head_pos[scratch.head_start[tid_s] : scratch.head_start[tid_s + 1]]
        heads_u = updated.head_pos[updated.head_start[tid_u] : updated.head_start[tid_u + 1]]
        assert np.array_equal(np.sort(heads_s), np.sort(heads_u))
        assert scratch.head_bound[tid_s] == updated.head_bound[tid_u]
        row_s, row_u = scratch.dense_row[tid_s], updated.dense_row[tid_u]
        assert (row_s >= 0) == (row_u >= 0)
        if row_s >= 0:
            assert np.array_equal(scratch.dense_tf[row_s], updated.dense_tf[row_u])
