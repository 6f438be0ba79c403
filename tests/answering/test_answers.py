"""The answer engine: abstention, related passages, best sentence and highlights, JSON contract."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.analysis import Analyzer
from bot.answering import FEATURES, SIGNALS, Answer, AnswerEngine, RankedPassage, confidence_input
from bot.config import AnswerSettings
from bot.corpus import Corpus, Document
from bot.search import BM25Index

ARTICLES = {
    "volcanoes": (
        "Volcanoes",
        [
            "Mount Etna is an active stratovolcano on the east coast of Sicily. It is one of the most active "
            "volcanoes in the world. Its eruptions have been recorded since 1500 BC.",
            "Lava flows from Etna destroyed the town of Mascali in 1928. The eruption lasted for several weeks "
            "and the villagers were evacuated before the lava arrived.",
            "Volcanologists monitor Etna with seismometers and satellite radar. Sulfur dioxide emissions rise "
            "before many eruptions, which helps forecasters warn nearby communities.",
        ],
    ),
    "bees": (
        "Honey bees",
        [
            "Honey bees live in colonies ruled by a single queen. Worker bees forage for nectar and pollen. "
            "Drones mate with queens from other colonies.",
            "A strong colony can hold sixty thousand bees in summer. In winter the workers cluster around the "
            "queen and shiver their flight muscles to keep the hive warm.",
            "Beekeepers harvest honey in late summer. Honey is made from nectar that the bees evaporate and store "
            "in wax combs.",
        ],
    ),
    "railways": (
        "Railways",
        [
            "The Stockton and Darlington Railway opened in 1825 as the first public railway to use steam "
            "locomotives. George Stephenson engineered the line.",
            "Standard gauge track measures 1,435 millimetres between the rails. Most railways in Europe and "
            "North America use it.",
            "High-speed trains in Japan, the Shinkansen, began service in 1964 between Tokyo and Osaka.",
        ],
    ),
}


def make_engine(policy: AnswerSettings | None = None) -> AnswerEngine:
    """A small three-article corpus, indexed."""
    docs = [
        Document(doc_id, title, "test", None, None, Path(f"{doc_id}.md"), tuple(paragraphs))
        for doc_id, (title, paragraphs) in ARTICLES.items()
    ]
    corpus = Corpus.from_documents(Path("corpus"), docs)
    analyzer = Analyzer()
    index = BM25Index.from_texts([p.text for p in corpus.passages], analyzer)
    return AnswerEngine(corpus.passages, analyzer, index, policy or AnswerSettings())


@pytest.fixture(scope="module")
def engine() -> AnswerEngine:
    return make_engine()


@pytest.mark.parametrize(
    ("question", "paragraph", "document"),
    [
        ("Which town did lava from Etna destroy in 1928?", 2, "volcanoes"),
        ("How do worker bees keep the hive warm in winter?", 2, "bees"),
        ("When did the Shinkansen high-speed trains begin service?", 3, "railways"),
        ("Who engineered the Stockton and Darlington Railway?", 1, "railways"),
    ],
)
def test_on_topic_questions_are_answered_from_the_right_passage(
    engine: AnswerEngine, question: str, paragraph: int, document: str
) -> None:
    answer = engine.answer(question)
    assert answer.answered, answer.confidence
    assert answer.reason is None
    assert 0.0 <= answer.confidence <= 1.0
    assert answer.best is not None
    assert (answer.best.passage.document.id, answer.best.passage.paragraph) == (document, paragraph)


@pytest.mark.parametrize(
    "question",
    [
        "What's the weather in Paris today?",
        "Who won the 2022 World Cup?",
        "What is the capital of Mongolia?",
        "How do I reset my router password?",
    ],
)
def test_off_topic_questions_are_refused(engine: AnswerEngine, question: str) -> None:
    answer = engine.answer(question)
    assert not answer.answered
    assert answer.reason in {"low-confidence", "no-match"}
    assert answer.confidence < engine.policy.min_confidence


def test_refused_answer_still_lists_nearest_passages(engine: AnswerEngine) -> None:
    answer = engine.answer("Which volcano erupted in Iceland in 2010 and stopped European flights?")
    assert not answer.answered
    assert answer.passages, "the nearest passages are shown even when not answered"
    assert answer.to_json()["passages"]


def test_min_confidence_is_a_probability_threshold() -> None:
    question = "Which town did lava from Etna destroy in 1928?"
    assert make_engine(AnswerSettings(min_confidence=0.0)).answer(question).answered
    never = make_engine(AnswerSettings(min_confidence=1.0)).answer(question)
    assert not never.answered and never.reason == "low-confidence"


def test_related_passages_only_when_close(engine: AnswerEngine) -> None:
    answer = engine.answer("Who engineered the Stockton and Darlington Railway?", top_k=3)
    assert answer.answered
    best = answer.passages[0].score
    assert all(p.score >= best * engine.policy.related_ratio for p in answer.passages[1:])
    strict = make_engine(AnswerSettings(related_ratio=1.0)).answer(
        "Who engineered the Stockton and Darlington Railway?"
    )
    assert len(strict.passages) == 1
    loose = make_engine(AnswerSettings(related_ratio=0.0)).answer(
        "Who engineered the Stockton and Darlington Railway?", top_k=3
    )
    assert len(loose.passages) >= 2  # every passage sharing a term, not just the best
    scores = [p.score for p in loose.passages]
    assert scores == sorted(scores, reverse=True)


def test_best_sentence_and_highlight_spans(engine: AnswerEngine) -> None:
    answer = engine.answer("How do the workers keep the hive warm?")
    assert answer.best is not None
    text = answer.best.passage.text
    hl = answer.best.highlight
    assert hl.sentence.startswith("In winter the workers cluster")
    assert text[hl.start : hl.end] == hl.sentence
    assert {w.lower() for w in hl.words} >= {"workers", "hive", "warm"}
    for start, end in hl.spans:
        assert text[start:end].lower() in {w.lower() for w in hl.words}
    assert len(set(hl.words)) == len(hl.words)


def test_rank_features_and_depth(engine: AnswerEngine) -> None:
    ranking = engine.rank("Lava from Etna destroyed Mascali", depth=5)
    assert ranking.candidates
    assert len(ranking.candidates) <= 5
    for c in ranking.candidates:
        assert len(c.features) == len(FEATURES)
        assert all(0.0 <= f <= 1.0 + 1e-9 for f in c.features)
    scores = [c.score for c in ranking.candidates]
    assert scores == sorted(scores, reverse=True)


def test_json_contract(engine: AnswerEngine) -> None:
    for question in ("Which town did lava from Etna destroy in 1928?", "Who won the 2022 World Cup?"):
        out = engine.answer(question).to_json()
        assert set(out) == {"question", "verdict", "confidence", "answered", "passages"}
        assert isinstance(out["question"], str) and isinstance(out["answered"], bool)
        assert out["verdict"] in {"answer", "closest", "none"} and isinstance(out["confidence"], float)
        for p in out["passages"]:
            assert set(p) == {"document", "title", "paragraph", "score", "text", "highlight", "source", "url"}
            assert isinstance(p["document"], str) and isinstance(p["title"], str)
            assert isinstance(p["paragraph"], int) and isinstance(p["score"], float)
            assert isinstance(p["text"], str) and isinstance(p["source"], str)
            assert p["url"] is None or isinstance(p["url"], str)
            assert set(p["highlight"]) == {"sentence", "words"}
            assert isinstance(p["highlight"]["sentence"], str)
            assert all(isinstance(w, str) for w in p["highlight"]["words"])


@pytest.mark.parametrize(
    "question",
    ["", "   ", "?!...", "the of and", "x" * 10_000, "Etna " * 2_000, "🌋🐝🚂", "Ünïcödé ñame’s?"],
)
def test_odd_questions_do_not_crash(engine: AnswerEngine, question: str) -> None:
    answer = engine.answer(question)
    assert isinstance(answer, Answer)
    assert 0.0 <= answer.confidence <= 1.0
    assert all(isinstance(p, RankedPassage) for p in answer.passages)
    if not engine.analyzer.analyze(question):
        assert not answer.answered and answer.reason == "empty"
    answer.to_json()


def test_ranked_pages_through_every_passage_regardless_of_policy() -> None:
    question = "Who engineered the Stockton and Darlington Railway?"
    strict = make_engine(AnswerSettings(min_confidence=1.0, related_ratio=1.0))
    loose = make_engine(AnswerSettings(min_confidence=0.0, related_ratio=0.0))
    everything = loose.answer(question, top_k=9).passages
    assert len(everything) >= 2
    assert strict.ranked(question, 0, 9) == everything  # the policy does not cut the list
    assert strict.ranked(question, 1, 1) == everything[1:2]
    assert strict.ranked(question, 0, 2) + strict.ranked(question, 2, 7) == everything
    assert strict.ranked(question, len(everything), 5) == ()
    assert strict.ranked(question, 0, 0) == ()
    assert strict.ranked("the of and", 0, 5) == ()
    scores = [p.score for p in strict.ranked(question, 0, 9)]
    assert scores == sorted(scores, reverse=True)
    best = strict.ranked(question, 0, 1)[0]
    assert best.highlight.sentence and "Stephenson" in best.passage.text


def test_signals_and_confidence_inputs(engine: AnswerEngine) -> None:
    ranking = engine.rank("Which town did lava from Etna destroy in 1928?")
    assert ranking.signals is not None and len(ranking.signals.as_tuple()) == len(SIGNALS)
    named = ranking.signals.as_dict()
    assert list(named) == list(SIGNALS)
    assert named["coverage"] == ranking.candidates[0].features[FEATURES.index("coverage")]
    assert 0.0 <= named["doc_share"] <= 1.0 and 0.0 < named["ratio"] <= 1.0
    assert named["rare_passage"] == 1.0 and named["oov"] == 0.0
    assert confidence_input("coverage*doc_share", named) == named["coverage"] * named["doc_share"]
    assert confidence_input("coverage>2", named) == 0.0
    unseen_signals = engine.rank("Etna zxqvw eruption").signals
    assert unseen_signals is not None
    unseen = unseen_signals.as_dict()
    assert unseen["oov"] == 1.0 and unseen["rare_idf"] == 1.0 and unseen["rare_passage"] == 0.0
    assert engine.rank("zxqvw").signals is None


HARD_PASSAGES = [
    "THE UNITED STATES AND NATO AGREED. US officials said so. The U.S. did not sign.",
    "Rock 'n' roll is the dogs' bones. 'Tis O'Neil's café, naïve — “quoted”. It's 3.5% now!",
    "China’s Global AI Governance Initiative was backed by the European Union. The EU agreed.",
    "AI SAFETY SUMMIT IN PARIS NOW. Dr. Who met Prof. Xu. The end.Next one starts here",
    "Plain text with no punctuation at all",
]


@pytest.mark.parametrize("aliases", [False, True])
def test_sentence_terms_and_highlights_match_the_analyzer(aliases: bool) -> None:
    """The reranker's per-sentence terms are ``analyzer.analyze(sentence)``; highlight spans are ``tokens``."""
    from bot.analysis import AliasTable
    from bot.sentences import sentence_spans

    table = AliasTable([["United States", "U.S.", "US", "America"], ["European Union", "EU"]]) if aliases else None
    analyzer = Analyzer(table)
    index = BM25Index.from_texts(HARD_PASSAGES, analyzer)
    engine = AnswerEngine((), analyzer, index)
    for text in HARD_PASSAGES:
        spans = sentence_spans(text) or ((0, len(text)),)
        info = engine.sentences.analyse(text)
        ends = (*info.starts[1:], len(info.terms))
        got = [list(info.terms[a:b]) for a, b in zip(info.starts, ends, strict=True)]
        assert got == [analyzer.analyze(text[a:b]) for a, b in spans]
        terms = set(info.terms)
        expected = sorted(
            ((t.start, t.end) for t in analyzer.tokens(text) if t.term in terms), key=lambda s: (s[0], -s[1])
        )
        assert engine.highlighter.matched_spans(text, terms) == expected


def test_experimental_answer_shape_signals(engine: AnswerEngine) -> None:
    """The benchmark-only signals of ``benchmarks/quality.py`` (answer type, focus, phrase, concentration,
    margins): measured in the approaches table, not shipped."""
    from benchmarks.quality import EXTRA_SIGNALS, _has_answer_type, _longest_run, _question_type, extra_signals

    assert _question_type("When did the Shinkansen begin service?") == "date"
    assert _question_type("How many bees live in a colony?") == "number"
    assert _question_type("Who engineered the line?") == "who"
    assert _question_type("Where is Etna?") == "where"
    assert _question_type("What do bees make?") is None
    assert _has_answer_type("date", "It began in 1964.", {"it"})
    assert not _has_answer_type("date", "It began in 1964.", {"1964"})  # already in the question
    assert _has_answer_type("who", "The line was built by George Stephenson.", {"line"})
    assert _longest_run(["a", "b", "c", "d"], ["x", "b", "c", "y", "d"]) == ["b", "c"]

    question = "Who engineered the Stockton and Darlington Railway?"
    ranking = engine.rank(question)
    named = dict(zip(EXTRA_SIGNALS, extra_signals(engine, question, ranking), strict=True))
    assert named["typed"] == 1.0
    assert named["type_miss2"] == 0.0  # "George Stephenson" is in the best sentence or next to it
    assert named["phrase"] == 0.75  # stockton darlington railway, of engineered stockton darlington railway
    assert 0.0 < named["win4"] <= named["win16"] <= 1.0
    assert named["bm25_rank"] >= 0.0 and named["bm25_agree"] in {0.0, 1.0}
    assert named["rr_gap"] >= 0.0
    plain = "What do bees make?"
    untyped = dict(zip(EXTRA_SIGNALS, extra_signals(engine, plain, engine.rank(plain)), strict=True))
    assert untyped["typed"] == 0.0 and untyped["type_miss"] == 0.0
