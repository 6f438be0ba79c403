"""The answer channels' question rule: questions pass; thanks, greetings and short chatter do not."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bot.discord_app.chatter import is_question

SQUAD = Path(__file__).resolve().parents[3] / "shared" / "data" / "squad-v1.1-dev.json"


@pytest.mark.parametrize(
    "text",
    [
        "What did Vance say about the ceasefire?",
        "who won the election",
        "Who won?",
        "When does the summit start?",
        "Is the strike still on?",
        "did the bank raise interest rates",
        "tell me about the floods in Valencia",
        "Explain the new tariffs",
        "any news on the merger?",
        "Thanks! And what about the budget vote?",  # thanks, then a question
        "ok so how much did the stadium cost",
        "<@123> where is the summit held?",  # markup is removed, the question stays
        "The minister resigned?",  # a statement asked as a question
    ],
)
def test_questions_are_questions(text: str) -> None:
    assert is_question(text)


@pytest.mark.parametrize(
    "text",
    [
        "thanks!",
        "Thanks, that helped!",
        "thank you so much 🙏",
        "ty",
        "hi",
        "Hello everyone",
        "good morning!",
        "hey bot",
        "lol",
        "ok",
        "nice, cool",
        "how are you?",
        "what's up?",
        "anyone here?",
        "really?",
        "why?",
        "",
        "   ",
        "👍",
        "<:pepe:123456789012345678> <@123>",
        "https://example.com/a-story-about-the-summit?",  # a bare link, not a question
        "I read the article yesterday.",  # a statement
        "The summit was great",
    ],
)
def test_chatter_is_not_a_question(text: str) -> None:
    assert not is_question(text)


def test_nearly_every_squad_question_counts_as_one() -> None:
    """Recall on 4,961 real questions written by people (SQuAD v1.1 dev), none used to write the rule."""
    if not SQUAD.exists():
        pytest.skip(f"{SQUAD} not present")
    data = json.loads(SQUAD.read_text(encoding="utf-8"))
    questions = [qa["question"] for article in data["data"] for p in article["paragraphs"] for qa in p["qas"]]
    recall = sum(map(is_question, questions)) / len(questions)
    assert len(questions) > 4000 and recall >= 0.98


def test_news_statements_are_not_questions() -> None:
    """Precision side: sentences of real news articles (BBC dev set) that do not end with "?"."""
    articles = SQUAD.parent / "bbc-news-dev" / "articles.jsonl"
    if not articles.exists():
        pytest.skip(f"{articles} not present")
    statements = [
        sentence
        for line in articles.read_text(encoding="utf-8").splitlines()
        for paragraph in json.loads(line)["paragraphs"]
        for sentence in re.split(r"(?<=[.!?])\s+", paragraph)
        if sentence.strip() and not sentence.rstrip("\"' ").endswith("?")
    ]
    flagged = sum(map(is_question, statements)) / len(statements)
    assert len(statements) > 10_000 and flagged <= 0.005
