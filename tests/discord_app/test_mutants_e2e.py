"""Tests written against deliberate bugs (issue 11, item 13): each one fails when the named line of
the bot is broken, and checks what the loopback Discord stub received, not what the bot meant to send.

Killed here: ``answers.min_confidence`` not reaching the engine; ``>=`` turned into ``>`` at the
threshold; the bot-wide default ``allowed_mentions``; the ``/summary`` error reply (after the public
"thinking…") sent with mentions allowed; the ``/summary`` topic not escaped in the embed title;
the README's example question not answered as the README shows.
"""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord
import pytest
from bot_harness import SHIPPED_CORPUS, VANCE, make_settings, mention, no_pings, running
from discord_stub import DiscordStub

import bot.discord_app.cogs.summaries as summaries_cog
import bot.engine
import bot.summaries
from bot import messages
from bot.config import CorpusSettings, Settings
from bot.engine import build_engine

REPO = Path(__file__).resolve().parents[2]
HOSTILE = "@everyone <@&123456789012345678> **bold** [x](https://evil.example) # h"
#: Shares words with the corpus but is not answered by it (confidence ~0.2 with the shipped model).
UNRELATED = "Who won the football match in Paris?"


@pytest.fixture
async def stub() -> AsyncIterator[DiscordStub]:
    async with DiscordStub() as server:
        yield server
    assert not server.errors, server.errors


def with_min_confidence(settings: Settings, value: float) -> Settings:
    return dataclasses.replace(settings, answers=dataclasses.replace(settings.answers, min_confidence=value))


async def asked(stub: DiscordStub, question: str) -> Any:
    mark = stub.mark()
    await stub.send_message(f"{mention(stub)} {question}")
    return await stub.wait_for_message(since=mark, timeout=10)


# ------------------------------------------------------------------------ answers.min_confidence


@pytest.mark.parametrize(("threshold", "vance", "unrelated"), [(1.0, False, False), (0.0, True, True)])
async def test_config_min_confidence_decides_what_the_bot_answers(
    stub: DiscordStub, corpus_dir: Path, tmp_path: Path, threshold: float, vance: bool, unrelated: bool
) -> None:
    """1.0: not even the best-covered question is answered; 0.0: even an unrelated one is (default:
    the first yes, the second no). Fails when the config value does not reach the engine."""
    settings = with_min_confidence(make_settings(stub, corpus_dir, tmp_path / "data", analytics=False), threshold)
    async with running(settings, stub):
        for question, expected in ((VANCE, vance), (UNRELATED, unrelated)):
            rec = await asked(stub, question)
            # An answer is an embed with a cited passage that is not under the "closest" label.
            closest = bool(rec.embeds) and rec.embeds[0].get("title") == messages.CLOSEST_LABEL
            answered = bool(rec.embeds) and "¶" in rec.embeds[0].get("description", "") and not closest
            assert answered is expected, (question, rec.content)
            assert answered or closest or rec.content.startswith("That's not in my sources")


def test_a_confidence_exactly_at_the_threshold_is_answered() -> None:
    """``answered = confidence >= min_confidence``: at the threshold it answers, just above it not."""
    base = Settings(corpus=CorpusSettings(path=SHIPPED_CORPUS))
    confidence = build_engine(base).answer(VANCE).confidence
    assert 0 < confidence < 1
    at = build_engine(with_min_confidence(base, confidence)).answer(VANCE)
    above = build_engine(with_min_confidence(base, math.nextafter(confidence, 1.0))).answer(VANCE)
    assert at.answered and not above.answered and above.reason == "low-confidence"


# ------------------------------------------------------------------------------ allowed_mentions


async def test_the_bot_wide_default_allows_no_mentions(stub: DiscordStub, corpus_dir: Path, tmp_path: Path) -> None:
    """A send that names no allowed_mentions (any future code path) still pings nobody: the stub
    receives ``parse: []`` and resolves no mention."""
    settings = make_settings(stub, corpus_dir, tmp_path / "data", analytics=False)
    async with running(settings, stub) as bot:
        channel = bot.get_channel(stub.default_channel.id)
        assert isinstance(channel, discord.TextChannel)
        mark = stub.mark()
        await channel.send(f"{HOSTILE} <@{stub.member.id}>")
        rec = await stub.wait_for_message(since=mark, timeout=10)
    assert rec.allowed_mentions == {"parse": []} or no_pings(rec), rec.json
    assert no_pings(rec)


async def test_summary_refused_after_thinking_pings_nobody(
    stub: DiscordStub, corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The summariser refuses after the public "thinking…": the followup that says so carries user
    text with @everyone and a role mention, and pings nobody."""
    release = threading.Event()

    def slow_refusal(*args: Any, **kwargs: Any) -> Any:
        release.wait(10)
        raise bot.summaries.SummaryError(f"cannot summarise {HOSTILE}")

    monkeypatch.setattr(bot.engine.Engine, "summarize", slow_refusal)
    monkeypatch.setattr(summaries_cog, "SUMMARY_HEAD_START", 0.05)
    async with running(make_settings(stub, corpus_dir, tmp_path / "data", analytics=False), stub):
        ix = await stub.slash_command("summary", {"topic": "DeepSeek"})
        response = await stub.wait_for_interaction_response(ix)
        release.set()
        rec = await stub.wait_for_message(interaction=ix, timeout=10)
    assert response.callback_type == 5 and rec.kind == "followup"
    assert "cannot summarise" in rec.content and no_pings(rec)
    assert rec.allowed_mentions == {"parse": []}, rec.allowed_mentions


async def test_summary_topic_is_escaped_in_the_embed_title(stub: DiscordStub, corpus_dir: Path, tmp_path: Path) -> None:
    """A topic the corpus covers, wrapped in markdown and mentions: the summary is real (quotes with
    citations) and the title shows the topic's characters literally."""
    topic = "**DeepSeek** __DeepSeek__ `DeepSeek` ||DeepSeek|| [DeepSeek]"
    async with running(make_settings(stub, corpus_dir, tmp_path / "data", analytics=False), stub):
        ix = await stub.slash_command("summary", {"topic": topic})
        rec = await stub.wait_for_message(interaction=ix, timeout=10)
    (embed,) = rec.embeds
    assert "DeepSeek" in embed["description"] and "¶" in embed["description"]  # answered, not refused
    title = embed["title"]
    escapes = ("\\*\\*DeepSeek\\*\\*", "\\_\\_DeepSeek\\_\\_", "\\`DeepSeek\\`")
    escapes += ("\\|\\|DeepSeek\\|\\|", "\\[DeepSeek\\]")
    for escaped in escapes:
        assert escaped in title, (escaped, title)
    assert no_pings(rec)


# ---------------------------------------------------------------------------- README's example


def test_the_readme_example_question_is_answered_as_the_readme_says() -> None:
    """The question in the README's first command is answered, citing the shipped article's
    paragraph that names the endorsing countries."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    start = readme.index('summitbot ask "') + len('summitbot ask "')
    question = readme[start : readme.index('"', start)]
    result = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "--json", question], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["answered"] is True
    best = answer["passages"][0]
    assert best["document"] == "paris-summit-china-ai-governance", best
    assert "endorse" in best["text"].lower() or "support" in best["text"].lower(), best["text"]
