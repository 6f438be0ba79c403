"""Tests for extractive summaries (bot/summaries.py) and the sentence segmenter (bot/sentences.py)."""

from __future__ import annotations

import dataclasses
import itertools
import json
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import Settings
from bot.engine import Engine, build_engine
from bot.messages import NOTHING_ON_TOPIC
from bot.sentences import sentence_spans, split_sentences
from bot.summaries import (
    LENGTHS,
    Summary,
    SummaryError,
    summarize,
    trim_to_words,
    word_count,
)
from bot.terminal import format_summary

ARTICLES = {
    "summit": (
        "China advances AI governance at the Paris summit",
        "www.ecns.cn",
        [
            "At the Paris summit, China advanced its Global AI Governance Initiative, supported by 58 countries. "
            "Vice President J. D. Vance stressed a nationalistic approach. The U.S. did not sign.",
            "Mr. Zhang Guoqing, representing President Xi, affirmed China's commitment to AI cooperation. "
            "He said “AI must benefit all.” Officials called for safety.",
            "The summit also showcased DeepSeek, a Chinese AI company that builds affordable AI models. "
            "Its models cost about 3.5 percent of rival budgets, analysts said.",
            "Foreign Ministry spokesman Guo Jiakun said China will keep working with the U.N. on AI rules. "
            "Dr. Li welcomed the resolution backed by over 140 nations.",
        ],
    ),
    "chips": (
        "Export controls reshape the chip industry",
        "example.org",
        [
            "Export controls on advanced chips are reshaping the semiconductor industry. "
            "Manufacturers in Taiwan and Korea adjusted their plans.",
            "Analysts expect chip prices to rise by 3.5 percent next year. Some buyers stockpiled chips early.",
            "DeepSeek said its training used fewer chips than rivals. The claim drew scrutiny from U.S. officials.",
        ],
    ),
    "climate": (
        "Cities adapt to heat waves",
        "news.example",
        [
            "Cities across Europe are planting trees to cope with longer heat waves. "
            "Paris added shaded courtyards to schools.",
            "Heat waves strain hospitals and power grids. Officials warned of record temperatures in July.",
        ],
    ),
}


def _write_corpus(folder: Path) -> None:
    for doc_id, (title, source, paragraphs) in ARTICLES.items():
        front = f"---\ntitle: {json.dumps(title)}\nsource: {source}\n---\n\n"
        (folder / f"{doc_id}.md").write_text(front + "\n\n".join(paragraphs) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    folder = tmp_path_factory.mktemp("corpus")
    _write_corpus(folder)
    defaults = Settings()
    settings = dataclasses.replace(defaults, corpus=dataclasses.replace(defaults.corpus, path=folder))
    return build_engine(settings)


def _assert_cited(engine: Engine, summary: Summary) -> None:
    """Every sentence is the source's own text, found in the paragraph it cites."""
    for sent in summary.sentences:
        doc = engine.corpus.document(sent.document)
        assert doc is not None
        assert sent.title == doc.title and sent.source == doc.source
        paragraph = doc.paragraphs[sent.paragraph - 1]
        assert sent.text.removesuffix("…") in paragraph


def _assert_original_order(engine: Engine, summary: Summary) -> None:
    """Within each document, sentences appear in the order they have in the document."""
    last: dict[str, int] = {}
    for sent in summary.sentences:
        doc = engine.corpus.document(sent.document)
        assert doc is not None
        offset = sum(len(p) + 1 for p in doc.paragraphs[: sent.paragraph - 1])
        offset += doc.paragraphs[sent.paragraph - 1].index(sent.text.removesuffix("…"))
        assert offset > last.get(sent.document, -1)
        last[sent.document] = offset


# ------------------------------------------------------------------------------------------ scopes


@pytest.mark.parametrize("length", LENGTHS)
def test_document_scope_each_length(engine: Engine, length: str) -> None:
    summary = summarize(engine, document="summit", length=length)
    budget = getattr(engine.settings.summaries, f"{length}_words")
    assert summary.scope == "document:summit"
    assert summary.sentences
    assert {s.document for s in summary.sentences} == {"summit"}
    assert summary.words == word_count(summary.text) <= budget
    _assert_cited(engine, summary)
    _assert_original_order(engine, summary)


def test_lengths_grow(engine: Engine) -> None:
    words = [summarize(engine, document="summit", length=length).words for length in LENGTHS]
    assert words == sorted(words)


def test_document_summary_starts_with_the_lead(engine: Engine) -> None:
    summary = summarize(engine, document="summit", length="short")
    assert summary.sentences[0].paragraph == 1
    assert summary.sentences[0].text.startswith("At the Paris summit")


def test_topic_scope_spans_documents_and_stays_on_topic(engine: Engine) -> None:
    summary = summarize(engine, topic="DeepSeek", length="long")
    assert summary.scope == "topic:DeepSeek"
    assert {s.document for s in summary.sentences} == {"summit", "chips"}
    assert all("DeepSeek" in s.text for s in summary.sentences)
    _assert_cited(engine, summary)
    _assert_original_order(engine, summary)


def test_topic_within_one_document(engine: Engine) -> None:
    summary = summarize(engine, document="chips", topic="DeepSeek")
    assert summary.sentences and {s.document for s in summary.sentences} == {"chips"}


def test_corpus_scope(engine: Engine) -> None:
    summary = summarize(engine, length="long")
    assert summary.scope == "corpus"
    assert len({s.document for s in summary.sentences}) >= 2
    assert summary.words <= engine.settings.summaries.long_words
    _assert_cited(engine, summary)
    _assert_original_order(engine, summary)


def test_topic_with_nothing_in_the_corpus(engine: Engine) -> None:
    for topic in ("football", "football world cup", "football and AI"):
        summary = summarize(engine, topic=topic)
        assert summary.is_empty and summary.words == 0
        assert summary.message is not None and "nothing on that in my sources" in summary.message.lower()
        data = summary.to_json()
        assert data["sentences"] == [] and "message" in data
    assert "football" in (summarize(engine, topic="football").message or "")


def test_unknown_document(engine: Engine) -> None:
    with pytest.raises(SummaryError, match=r"no document 'nope'; known: .*summit"):
        summarize(engine, document="nope")


def test_bad_length_and_budget(engine: Engine) -> None:
    with pytest.raises(SummaryError, match="length"):
        summarize(engine, length="huge")
    with pytest.raises(SummaryError, match="max_words"):
        summarize(engine, max_words=0)


# ------------------------------------------------------------------------------------------ budget


@pytest.mark.parametrize("budget", [1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 400])
@pytest.mark.parametrize("scope", [{"document": "summit"}, {"topic": "chips"}, {}])
def test_word_budget_is_never_exceeded(engine: Engine, budget: int, scope: dict[str, str]) -> None:
    summary = summarize(engine, max_words=budget, **scope)
    assert summary.sentences
    assert summary.words == word_count(summary.text) <= budget
    _assert_cited(engine, summary)


def test_budget_smaller_than_any_sentence_trims_with_ellipsis(engine: Engine) -> None:
    summary = summarize(engine, document="summit", max_words=3)
    assert len(summary.sentences) == 1
    text = summary.sentences[0].text
    assert text.endswith("…") and word_count(text) == 3


def test_whole_sentences_when_they_fit(engine: Engine) -> None:
    summary = summarize(engine, document="summit", max_words=40)
    assert all(not s.text.endswith("…") for s in summary.sentences)


def test_trim_to_words() -> None:
    assert trim_to_words("one two three", 5) == "one two three"
    assert trim_to_words("one two, three four", 2) == "one two…"
    assert trim_to_words("one two", 0) == ""


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=300))
def test_budget_property(engine: Engine, budget: int) -> None:
    assert summarize(engine, max_words=budget).words <= budget


# -------------------------------------------------------------------------------- output and speed


def test_json_shape(engine: Engine) -> None:
    data = summarize(engine, document="summit", max_words=40).to_json()
    assert set(data) == {"scope", "sentences", "words"}
    assert data["scope"] == "document:summit"
    for sent in data["sentences"]:
        assert set(sent) == {"text", "document", "title", "paragraph", "source"}
    json.dumps(data)


def test_format_summary(engine: Engine) -> None:
    summary = summarize(engine, document="summit", length="short")
    out = format_summary(summary)
    assert "¶1" in out and "www.ecns.cn" in out and summary.sentences[0].text[:20] in out
    empty = format_summary(summarize(engine, topic="football"))
    assert "Nothing on that in my sources" in empty


def test_fast_enough_for_discord(engine: Engine) -> None:
    started = time.perf_counter()
    for length in LENGTHS:
        summarize(engine, length=length)
        summarize(engine, topic="AI governance", length=length)
        summarize(engine, document="chips", length=length)
    assert (time.perf_counter() - started) / 9 < 0.1


# ------------------------------------------------------------------------------------ segmentation


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The U.S. opted out. Mr. Smith said so.", ["The U.S. opted out.", "Mr. Smith said so."]),
        ("He arrived in the U.S. Then he left.", ["He arrived in the U.S.", "Then he left."]),
        ("Growth was 3.5 percent. It rose.", ["Growth was 3.5 percent.", "It rose."]),
        ("J. D. Vance spoke. Then J.D. Vance left.", ["J. D. Vance spoke.", "Then J.D. Vance left."]),
        ('He said "Go now." Then he left.', ['He said "Go now."', "Then he left."]),
        ("“We will lead,” Vance said. “Others follow.”", ["“We will lead,” Vance said.", "“Others follow.”"]),
        ("Dr. Who met Prof. Xu today. Fine.", ["Dr. Who met Prof. Xu today.", "Fine."]),
        (
            "Mrs. Jones met Gen. Milley. Then Sen. Warren spoke.",
            ["Mrs. Jones met Gen. Milley.", "Then Sen. Warren spoke."],
        ),
        ("It was 10 a.m. The meeting started.", ["It was 10 a.m.", "The meeting started."]),
        ("Is it? Yes! Maybe.", ["Is it?", "Yes!", "Maybe."]),
        ("", []),
    ],
)
def test_split_sentences_hard_cases(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_sentence_spans_point_into_the_text() -> None:
    text = "  Mr. Xi spoke in Paris.  The U.S. declined;  growth was 3.5%.\nDr. Li agreed.  "
    spans = sentence_spans(text)
    assert isinstance(spans, tuple) and all(isinstance(s, tuple) and len(s) == 2 for s in spans)
    pieces = [text[a:b] for a, b in spans]
    assert pieces == ["Mr. Xi spoke in Paris.", "The U.S. declined;  growth was 3.5%.", "Dr. Li agreed."]
    assert all(a < b <= c for (a, b), (c, _) in itertools.pairwise(spans))


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab .?!\"“”'3U.S\n")), max_size=80))
def test_sentence_spans_are_ordered_and_stripped(text: str) -> None:
    last = 0
    for start, end in sentence_spans(text):
        assert last <= start < end <= len(text)
        piece = text[start:end]
        assert piece == piece.strip() and piece
        last = end


# ------------------------------------------------------------------- issue 16: news corpus behaviour

NEWS = {
    "tennis": (
        "Sugiyama wins in Tokyo",
        "2005-01-10",
        [
            "Ai Sugiyama won the Tokyo title on Sunday after a long final against her compatriot. "
            "The crowd cheered the home player throughout the match.",
            "Results: Sugiyama 6-4 6-3 Kuznetsova, Davenport 6-1 6-2 Myskina, Dementieva 7-5 6-4 Mauresmo.",
            "Sugiyama said the win was the best of her career and thanked her coach for the support.",
        ],
    ),
    "pitches": (
        "Clubs vote on artificial pitches",
        "2005-01-11",
        [
            "Football clubs voted to allow artificial pitches in the lower leagues from next season. "
            "The vote followed a long debate about player safety on synthetic surfaces.",
            "An intelligence officer from the league's security team briefed the clubs on stadium safety.",
        ],
    ),
    "aids": (
        "Charity funds Aids research",
        "2005-01-12",
        [
            "A charity has given £2m to Aids research at a London hospital. "
            "The money will pay for a new laboratory and ten scientists.",
            "Doctors welcomed the gift and said the disease still kills millions every year.",
        ],
    ),
    "ai-lab": (
        "AI lab opens in Paris",
        "2005-01-13",
        [
            "A new artificial intelligence laboratory opened in Paris on Monday. "
            "Its researchers will study how AI systems can be made safe and fair.",
            "The lab's director said AI would change medicine and transport within a decade.",
        ],
    ),
    "aid-budget": (
        "Government raises foreign aid",
        "2005-01-14",
        [
            "The government raised its foreign aid budget to help countries hit by the tsunami. "
            "Aid agencies welcomed the extra money for clean water and shelter.",
            "Ministers said the aid would reach the worst-hit regions within weeks.",
        ],
    ),
    "initial": (
        "Bid fails at first attempt",
        "2005-01-15",
        [
            "The company's initial attempt to buy its rival failed when shareholders voted it down. "
            "Its board said a second offer would follow.",
        ],
    ),
}


@pytest.fixture(scope="module")
def news_engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    folder = tmp_path_factory.mktemp("news")
    for doc_id, (title, published, paragraphs) in NEWS.items():
        front = f"---\ntitle: {json.dumps(title)}\nsource: news.example\npublished: {published}\n---\n\n"
        (folder / f"{doc_id}.md").write_text(front + "\n\n".join(paragraphs) + "\n", encoding="utf-8")
    (folder / "aliases.yaml").write_text("groups:\n  - [artificial intelligence, AI, A.I.]\n", encoding="utf-8")
    defaults = Settings()
    settings = dataclasses.replace(defaults, corpus=dataclasses.replace(defaults.corpus, path=folder))
    return build_engine(settings)


def _texts(summary: Summary) -> str:
    return " ".join(s.text for s in summary.sentences)


def test_a_results_line_is_never_a_summary_sentence(news_engine: Engine) -> None:
    for length in LENGTHS:
        summary = summarize(news_engine, document="tennis", length=length)
        assert summary.sentences
        assert "6-4 6-3" not in _texts(summary)


def test_a_topic_of_several_words_matches_the_concept_not_each_word(news_engine: Engine) -> None:
    summary = summarize(news_engine, topic="artificial intelligence")
    assert {s.document for s in summary.sentences} == {"ai-lab"}
    assert "pitches" not in _texts(summary) and "intelligence officer" not in _texts(summary)


def test_the_acronym_ai_is_not_the_name_ai(news_engine: Engine) -> None:
    summary = summarize(news_engine, topic="AI")
    assert summary.sentences
    assert {s.document for s in summary.sentences} == {"ai-lab"}


def test_aid_is_not_aids_and_initiative_is_not_initial(news_engine: Engine) -> None:
    aid = summarize(news_engine, topic="aid")
    assert {s.document for s in aid.sentences} == {"aid-budget"}
    initiative = summarize(news_engine, topic="initiative")
    assert initiative.is_empty and initiative.message is not None
    assert initiative.message.startswith(NOTHING_ON_TOPIC)


def test_a_topic_whose_words_only_appear_apart_gives_nothing(news_engine: Engine) -> None:
    summary = summarize(news_engine, topic="intelligence pitches")
    assert summary.is_empty
    assert summary.message is not None and summary.message.startswith(NOTHING_ON_TOPIC)


def test_a_mixed_corpus_overview_is_by_topic(tmp_path: Path) -> None:
    from tests.test_topics import ECONOMY, FILMS, FOOTBALL  # the same three subjects

    for i, (title, body) in enumerate(FOOTBALL + ECONOMY + FILMS):
        front = f"---\ntitle: {json.dumps(title)}\nsource: news.example\n---\n\n"
        (tmp_path / f"story{i:02d}.md").write_text(front + body + "\n", encoding="utf-8")
    defaults = Settings()
    engine = build_engine(dataclasses.replace(defaults, corpus=dataclasses.replace(defaults.corpus, path=tmp_path)))
    summary = summarize(engine, length="long")
    assert len(summary.sections) == 3
    assert [s.documents for s in summary.sections] == [4, 4, 3]  # largest first
    covered = [i for section in summary.sections for i in section.sentences]
    assert covered == list(range(len(summary.sentences)))
    assert summary.words <= summary.budget
    data = summary.to_json()
    assert [t["documents"] for t in data["topics"]] == [4, 4, 3]
    assert all(t["name"] for t in data["topics"])
    shown = format_summary(summary)
    assert all(f"Topic: {s.name} ({s.documents} documents)" in shown for s in summary.sections)


def test_a_one_article_corpus_overview_stays_as_it_was(engine: Engine) -> None:
    summary = summarize(engine)
    assert summary.sections == ()
    assert "topics" not in summary.to_json()
