"""Tests for grouping a mixed corpus into topics (bot/topics.py)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from bot.config import Settings
from bot.engine import Engine, build_engine
from bot.topics import MIN_DOCUMENTS, find_topics, pick_overview, recency_weights, spherical_kmeans

FOOTBALL = [
    (
        "Arsenal beat Chelsea in the league",
        "Arsenal beat Chelsea 2-1 in the league. The striker scored twice for the club.",
    ),
    (
        "Chelsea striker injured before the league match",
        "The Chelsea striker was injured in training. The club fears a long absence from the league.",
    ),
    (
        "Liverpool club wins the cup final",
        "Liverpool won the cup final after a penalty shoot-out. The club's striker scored the winner.",
    ),
    (
        "League leaders Arsenal sign a new striker",
        "Arsenal signed a striker from Spain. The club leads the league by four points.",
    ),
]
ECONOMY = [
    (
        "Interest rates rise as inflation climbs",
        "The central bank raised interest rates. Inflation climbed to 3%, the bank said.",
    ),
    (
        "Bank holds rates despite weak growth",
        "The central bank held interest rates. Growth in the economy slowed, and inflation eased.",
    ),
    (
        "Economy grows faster than expected",
        "The economy grew by 0.8% in the quarter. Economists expect the bank to raise interest rates.",
    ),
    (
        "Inflation worries push bond yields up",
        "Bond yields rose on inflation worries. The bank may raise interest rates again, economists said.",
    ),
]
FILMS = [
    (
        "Director's new film wins festival award",
        "The director's new film won the top award at the festival. The actress was praised.",
    ),
    (
        "Actress stars in festival opening film",
        "The actress stars in the film that opens the festival. The director attended the premiere.",
    ),
    (
        "Film festival announces award winners",
        "The festival announced its award winners. A film by a young director took the main award.",
    ),
]


def _engine(folder: Path, stories: list[tuple[str, str]], dates: list[str | None] | None = None) -> Engine:
    for i, (title, body) in enumerate(stories):
        published = f"published: {dates[i]}\n" if dates and dates[i] else ""
        front = f"---\ntitle: {json.dumps(title)}\nsource: news.example\n{published}---\n\n"
        (folder / f"story{i:02d}.md").write_text(front + body + "\n", encoding="utf-8")
    defaults = Settings()
    return build_engine(dataclasses.replace(defaults, corpus=dataclasses.replace(defaults.corpus, path=folder)))


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return _engine(tmp_path_factory.mktemp("mixed"), FOOTBALL + ECONOMY + FILMS)


def _groups(engine: Engine) -> list[set[str]]:
    return [
        {engine.corpus.documents[i].title for i in t.documents}
        for t in find_topics(engine.corpus, engine.index, engine.analyzer)
    ]


def test_a_mixed_corpus_falls_into_its_subjects(mixed: Engine) -> None:
    groups = _groups(mixed)
    assert {t for t, _ in FOOTBALL} in groups
    assert {t for t, _ in ECONOMY} in groups
    assert {t for t, _ in FILMS} in groups


def test_topics_are_named_by_their_words_and_ordered_largest_first(mixed: Engine) -> None:
    topics = find_topics(mixed.corpus, mixed.index, mixed.analyzer)
    sizes = [t.size for t in topics]
    assert sizes == sorted(sizes, reverse=True)
    by_name = {t.name: t for t in topics}
    football = next(
        t
        for t in topics
        if "Arsenal beat Chelsea in the league" in {mixed.corpus.documents[i].title for i in t.documents}
    )
    assert any(word in football.name for word in ("league", "club", "striker", "arsenal", "chelsea"))
    films = next(t for t in topics if t.size == 3)
    assert any(word in films.name for word in ("film", "festival", "award", "director", "actress"))
    assert len(by_name) == len(topics)  # distinct names


def test_the_same_corpus_always_gets_the_same_topics(mixed: Engine) -> None:
    assert find_topics(mixed.corpus, mixed.index, mixed.analyzer) == find_topics(
        mixed.corpus, mixed.index, mixed.analyzer
    )


def test_a_small_corpus_is_not_grouped(tmp_path: Path) -> None:
    engine = _engine(tmp_path, (FOOTBALL + ECONOMY)[: MIN_DOCUMENTS - 1])
    assert find_topics(engine.corpus, engine.index, engine.analyzer) == []


def test_newer_documents_weigh_more_and_order_the_topics(tmp_path: Path) -> None:
    # Football (4 stories) is old news; the economy (4 stories) is this week's: it comes first.
    dates = [f"2024-01-0{i + 1}" for i in range(4)] + [f"2024-06-0{i + 1}" for i in range(4)] + [None] * 3
    engine = _engine(tmp_path, FOOTBALL + ECONOMY + FILMS, dates)
    topics = find_topics(engine.corpus, engine.index, engine.analyzer)
    first = {engine.corpus.documents[i].title for i in topics[0].documents}
    assert first == {t for t, _ in ECONOMY}
    assert topics[0].weight > next(t.weight for t in topics if t.size == 4 and t is not topics[0])


def test_recency_weights_halve_every_half_life() -> None:
    weights = recency_weights(["2024-03-31", "2024-03-01", None, "not a date"], half_life=30)
    assert weights[0] == pytest.approx(1.0)
    assert weights[1] == pytest.approx(0.5)
    assert weights[2] == pytest.approx(np.median(weights[:2]))  # undated: as the median dated one
    assert weights[3] == pytest.approx(weights[2])
    assert list(recency_weights([None, None])) == [1.0, 1.0]


def test_spherical_kmeans_separates_two_directions() -> None:
    rng = np.random.default_rng(1)
    a = np.abs(rng.normal([5, 0, 0], 0.3, size=(10, 3)))
    b = np.abs(rng.normal([0, 0, 5], 0.3, size=(10, 3)))
    vectors = np.vstack([a, b]).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    labels, centroids = spherical_kmeans(vectors, 2, np.ones(20))
    assert len(set(labels[:10])) == 1 and len(set(labels[10:])) == 1 and labels[0] != labels[10]
    assert np.allclose(np.linalg.norm(centroids, axis=1), 1.0, atol=1e-5)


def test_an_overview_speaks_for_every_topic_within_the_budget(mixed: Engine) -> None:
    topics = find_topics(mixed.corpus, mixed.index, mixed.analyzer)
    picked = pick_overview(mixed.corpus, topics, mixed.analyzer, budget=200)
    numbers = [n for n, _, _ in picked]
    assert numbers == sorted(numbers)  # topic order, largest first
    assert set(numbers) == set(range(len(topics)))  # every topic speaks
    for number, passage, sentence in picked:
        member_ids = {mixed.corpus.documents[i].id for i in topics[number].documents}
        assert passage.document.id in member_ids
        assert sentence in passage.text
    for number in set(numbers):  # a second sentence comes from another document
        docs = [p.document.id for n, p, _ in picked if n == number]
        assert len(docs) == len(set(docs)) <= 2
    assert sum(len(s.split()) for _, _, s in picked) <= 200


def test_a_budget_smaller_than_every_sentence_picks_nothing(mixed: Engine) -> None:
    topics = find_topics(mixed.corpus, mixed.index, mixed.analyzer)
    assert pick_overview(mixed.corpus, topics, mixed.analyzer, budget=3) == []


def test_a_topic_is_named_as_its_words_are_written(mixed: Engine) -> None:
    from bot.topics import _topic_name

    analyzer = mixed.analyzer
    titles = ["Japan's exports grow", "Japan's exports slow", "UK retail sales slow"]
    openings = ["Germany's carmakers sold more cars in Germany."]
    # Title words as written (possessive dropped, acronyms kept); a term found only in an opening
    # paragraph is written as there; a term written nowhere is left out.
    assert _topic_name(["japan", "export", "uk"], titles, openings, analyzer) == "japan, exports, UK"
    terms = [analyzer.term_of("Germany"), "zzzq", analyzer.term_of("carmakers")]
    assert _topic_name(terms, titles, openings, analyzer) == "germany, carmakers"
