"""Tests for sentence salience (bot/salience.py): features, and weights adapted to the document."""

from __future__ import annotations

import numpy as np
import pytest

from bot.salience import (
    DEFAULT_WEIGHTS,
    FEATURES,
    SentenceFacts,
    coverage_mix,
    features,
    salience,
    term_vectors,
)

STORY = [
    # (paragraph, text, terms)
    (
        1,
        "Steel maker Corus cut 500 jobs at its Welsh plant on Monday.",
        ("steel", "corus", "cut", "job", "welsh", "plant"),
    ),
    (1, "The firm blamed cheap imports.", ("firm", "blame", "cheap", "import")),
    (2, "Corus said steel demand in Europe fell as imports rose.", ("corus", "steel", "demand", "europ", "import")),
    (2, "Results: 2003 1.2bn, 2004 0.9bn, 2005 0.7bn.", ("result", "2003", "2004", "2005")),
    (3, "Unions said the steel job cuts at the plant were a blow.", ("union", "steel", "job", "cut", "plant", "blow")),
]


def _facts() -> list[SentenceFacts]:
    out = []
    seen: set[int] = set()
    for position, (paragraph, text, terms) in enumerate(STORY):
        out.append(SentenceFacts(text, terms, len(text.split()), paragraph, paragraph not in seen, position))
        seen.add(paragraph)
    return out


def _sim(facts: list[SentenceFacts]) -> np.ndarray:
    vectors = term_vectors([f.terms for f in facts], lambda term: 1.0)
    return vectors @ vectors.T


def test_coverage_mix_is_zero_for_a_digest_and_one_for_a_condensed_story() -> None:
    assert coverage_mix(120, 4000) == 0.0  # 3 % of an encyclopedia article
    assert coverage_mix(120, 300) == 1.0  # 40 % of a news story
    assert coverage_mix(60, 300) == pytest.approx(0.5)  # 20 %: half way
    assert coverage_mix(50, 0) == 1.0


def test_weights_switch_from_the_lead_prior_to_centrality() -> None:
    col = FEATURES.index
    digest, condensed = DEFAULT_WEIGHTS.for_document(0.0), DEFAULT_WEIGHTS.for_document(1.0)
    assert digest[col("paragraph")] > 0 and digest[col("opens_paragraph")] > 0
    assert condensed[col("paragraph")] == 0 and condensed[col("textrank")] > 0
    middle = DEFAULT_WEIGHTS.for_document(0.5)
    assert np.allclose(middle, (digest + condensed) / 2)


def test_features_describe_each_sentence() -> None:
    facts = _facts()
    feats = features(facts, _sim(facts), subject_terms=("steel", "corus"))
    col = FEATURES.index
    assert list(feats[:, col("opens_document")]) == [1, 0, 0, 0, 0]
    assert list(feats[:, col("opens_paragraph")]) == [1, 0, 1, 0, 1]
    assert list(feats[:, col("listing")]) == [0, 0, 0, 1, 0]
    assert feats[0, col("subject")] == 1 and feats[1, col("subject")] == 0
    assert feats[0, col("title")] == 1.0 and feats[4, col("title")] == 0.5
    assert feats[3, col("digits")] > 0.5
    assert feats[:, col("lexrank")].max() == pytest.approx(1.0)
    assert feats[:, col("specificity")].max() == 0  # no IDF given


def test_a_list_is_never_chosen_over_prose() -> None:
    facts = _facts()
    sim = _sim(facts)
    for budget in (20, 60):  # a digest and a condensed summary
        scores = salience(facts, sim, budget, subject_terms=("steel", "corus"))
        assert int(np.argmin(scores)) == 3


def test_a_digest_follows_paragraph_order_and_a_condensed_summary_centrality() -> None:
    facts = _facts()
    sim = _sim(facts)
    digest = salience(facts, sim, budget=1, subject_terms=("steel", "corus"))
    condensed = salience(facts, sim, budget=40, subject_terms=("steel", "corus"))
    assert int(np.argmax(digest)) == int(np.argmax(condensed)) == 0  # the lead either way
    # Paragraph 2's opening vs the paragraph-3 sentence that shares most with the rest (steel, job, cut, plant):
    assert digest[2] > digest[4]  # a digest of a long text trusts the earlier paragraph
    assert condensed[4] > condensed[2]  # a condensed news summary trusts centrality
