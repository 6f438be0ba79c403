"""End to end over the loopback stub: the three outcomes as users see them on Discord.

A mention, a DM and /ask show all three (an answer; the closest passage under its label, styled
apart, with More passages and 👍/👎; "That's not in my sources"). In an answer channel, a message
without a mention gets a reply only when the verdict is "answer". /reload warns about failing probes.

The thresholds are set around the shipped corpus's own confidences for two questions, measured
first, so each question lands in the verdict under test whatever the confidence model says.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import sys
from asyncio.subprocess import PIPE
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import bot_harness
import pytest
from bot_harness import VANCE, custom_ids, mention, no_message, no_pings, running, show
from discord_stub import DiscordStub

from bot import messages
from bot.config import AnswerSettings, Settings
from bot.discord_app import render
from bot.engine import build_engine

#: On the article's topic, but the article gives no date: less confident than VANCE.
UNSURE = "When was the summit held?"
#: Nothing in the corpus shares a word with it: no passage at all.
NOTHING = "banana bread recipe"


@pytest.fixture
async def stub() -> AsyncIterator[DiscordStub]:
    """A fresh loopback stub; it must have seen no protocol errors by the end."""
    async with DiscordStub() as server:
        yield server
    assert not server.errors, server.errors


@pytest.fixture
def make_settings(corpus_dir: Path, tmp_path: Path) -> Callable[..., Settings]:
    """Settings for a bot on a given stub, with a private copy of the shipped corpus."""

    def make(stub_: DiscordStub, **discord_keys: Any) -> Settings:
        return bot_harness.make_settings(stub_, corpus_dir, tmp_path / "data", **discord_keys)

    return make


@pytest.fixture
def three_way(make_settings: Callable[..., Settings]) -> Callable[..., Settings]:
    """Settings where VANCE is an answer, UNSURE the closest passage, NOTHING none."""

    def make(stub_: DiscordStub, **discord_keys: Any) -> Settings:
        settings = make_settings(stub_, **discord_keys)
        engine = build_engine(settings)
        sure, unsure = engine.answer(VANCE), engine.answer(UNSURE)
        assert unsure.passages and 0 < unsure.confidence < sure.confidence, (unsure.confidence, sure.confidence)
        assert not engine.answer(NOTHING).passages
        answers = AnswerSettings(min_confidence=sure.confidence, min_related=unsure.confidence)
        return dataclasses.replace(settings, answers=answers)

    return make


def is_answer(rec: Any) -> bool:
    (embed,) = rec.embeds
    return embed.get("color") == render.ANSWER_COLOUR.value and "¶3" in embed["description"]


def is_closest(rec: Any) -> bool:
    (embed,) = rec.embeds
    return (
        embed.get("color") == render.CLOSEST_COLOUR.value
        and embed["title"] == messages.CLOSEST_LABEL
        and "url" not in embed
        and not embed.get("fields")
        and "www.ecns.cn, ¶" in embed["description"]
        and embed["footer"]["text"] == f"Q: {UNSURE}"
    )


def is_refusal(rec: Any) -> bool:
    return (
        not rec.embeds
        and rec.content.startswith("That's not in my sources. They cover: *China advances its Global AI")
        and "Try `/sources`" in rec.content
    )


async def test_mention_and_dm_show_all_three_outcomes(stub: DiscordStub, three_way: Callable[..., Settings]) -> None:
    async with running(three_way(stub), stub):
        replies = []
        for question in (VANCE, UNSURE, NOTHING):
            mark = stub.mark()
            await stub.send_message(f"{mention(stub)} {question}")
            replies.append(await stub.wait_for_message(since=mark))
        await stub.send_message(UNSURE, guild=False, author=stub.member)
        dm = await stub.wait_for_message(channel_id=stub.dm_channel_for(stub.member).id)
    for rec in [*replies, dm]:
        show(rec)
        assert no_pings(rec)
    answer, closest, refusal = replies
    assert is_answer(answer) and is_closest(closest) and is_refusal(refusal) and is_closest(dm)
    # The closest reply keeps 👍/👎 and More passages, going on after the one passage it showed.
    ids = custom_ids(closest)
    assert any(i.startswith("sb:more:") and i.endswith(":1") for i in ids)
    assert any(i.endswith(":up") for i in ids) and any(i.endswith(":down") for i in ids)
    assert not refusal.components


async def test_ask_shows_all_three_outcomes(stub: DiscordStub, three_way: Callable[..., Settings]) -> None:
    async with running(three_way(stub), stub):
        got = []
        for question in (VANCE, UNSURE, NOTHING):
            ix = await stub.slash_command("ask", {"question": question})
            got.append(await stub.wait_for_message(interaction=ix))
        ix = await stub.slash_command("ask", {"question": UNSURE, "private": True})
        private = await stub.wait_for_message(interaction=ix)
    answer, closest, refusal = got
    assert is_answer(answer) and is_closest(closest) and is_refusal(refusal)
    assert not any(r.ephemeral for r in got) and all(no_pings(r) for r in got)
    assert private.ephemeral and is_closest(private)


async def test_stats_count_the_three_outcomes_apart(stub: DiscordStub, three_way: Callable[..., Settings]) -> None:
    """A closest reply is counted as such in /stats, not as an unanswered question."""
    async with running(three_way(stub), stub):
        for question in (VANCE, UNSURE, UNSURE, NOTHING):
            ix = await stub.slash_command("ask", {"question": question})
            await stub.wait_for_message(interaction=ix)
        ix = await stub.slash_command("stats", user=stub.admin)
        rec = await stub.wait_for_message(interaction=ix)
    show(rec)
    lines = rec.content.splitlines()
    assert "Questions: 4, answered: 1 (25%), closest passage: 2, not in sources: 1" in lines
    assert rec.ephemeral and no_pings(rec)


async def test_answer_channel_posts_only_answers(stub: DiscordStub, three_way: Callable[..., Settings]) -> None:
    news = stub.channel("news")
    async with running(three_way(stub, answer_channels=(news.id,)), stub):
        await stub.send_message(VANCE, channel_id=news.id)
        assert is_answer(await stub.wait_for_message(channel_id=news.id))
        for question in (UNSURE, NOTHING, "🙂 <@123456789012345678>", "x" * 2000):
            mark = stub.mark()
            await stub.send_message(question, channel_id=news.id)
            assert await no_message(stub, mark, timeout=1.0), f"posted in an answer channel for {question[:40]!r}"
        # A mention in the same channel is asked of the bot: all three outcomes again.
        await stub.send_message(f"{mention(stub)} {UNSURE}", channel_id=news.id)
        assert is_closest(await stub.wait_for_message(channel_id=news.id))
        await stub.send_message(f"{mention(stub)} {NOTHING}", channel_id=news.id)
        assert is_refusal(await stub.wait_for_message(channel_id=news.id))


async def test_more_passages_and_votes_on_a_closest_reply(
    stub: DiscordStub,
    three_way: Callable[..., Settings],
) -> None:
    async with running(three_way(stub), stub):
        await stub.send_message(f"{mention(stub)} {UNSURE}")
        closest = await stub.wait_for_message()
        assert is_closest(closest)
        more = next(i for i in custom_ids(closest) if i.startswith("sb:more:"))
        rec = await stub.wait_for_message(interaction=await stub.press_button(closest, more, user=stub.owner))
        show(rec)
        assert rec.ephemeral and rec.embeds and rec.embeds[0]["title"].startswith("2. ") and no_pings(rec)
        # Further passages are ranked passages, not answers: the neutral colour, never the answer's.
        assert all(e["color"] == render.CLOSEST_COLOUR.value for e in rec.embeds)
        down = next(i for i in custom_ids(closest) if i.endswith(":down"))
        rec = await stub.wait_for_message(interaction=await stub.press_button(closest, down, user=stub.owner))
        assert rec.ephemeral and "👍 0 · 👎 1" in rec.content
        assert "answer" not in rec.content  # the tally of a closest reply never calls it an answer


async def test_reload_warns_about_failing_probes_and_keeps_the_new_corpus(
    stub: DiscordStub,
    make_settings: Callable[..., Settings],
    corpus_dir: Path,
) -> None:
    probes = corpus_dir / "probes.yaml"
    probes.write_text(
        f"answer:\n  - question: {VANCE}\n    document: paris-summit-china-ai-governance\n    paragraph: 3\n",
        encoding="utf-8",
    )
    async with running(make_settings(stub), stub) as bot:
        ix = await stub.slash_command("reload", user=stub.owner)
        clean = (await stub.wait_for_message(interaction=ix)).embeds[0]
        assert clean["title"] == "Corpus reloaded" and not any(
            f["name"].startswith("Warnings") for f in clean.get("fields", [])
        )
        # A probe that the corpus fails: the reload still succeeds, with a warning naming file and line.
        probes.write_text(f"unrelated:\n  - question: {VANCE}\n", encoding="utf-8")
        old = bot.engine
        ix = await stub.slash_command("reload", user=stub.owner)
        rec = await stub.wait_for_message(interaction=ix)
        show(rec)
        (embed,) = rec.embeds
        assert rec.ephemeral and embed["title"] == "Corpus reloaded" and bot.engine is not old
        assert embed["color"] == render.WARNING_COLOUR.value
        (field,) = [f for f in embed["fields"] if f["name"] == "Warnings (1)"]
        assert field["value"].startswith("• probe failed: probes.yaml:2: ") and "must get" in field["value"]
        assert str(corpus_dir) not in str(embed)  # no server paths
        # A broken probe file is a warning too, never a failed reload.
        probes.write_text("unrelated: [\n", encoding="utf-8")
        ix = await stub.slash_command("reload", user=stub.owner)
        embed = (await stub.wait_for_message(interaction=ix)).embeds[0]
        assert embed["title"] == "Corpus reloaded" and "probe file: probes.yaml:2: not valid YAML" in str(embed)


async def test_answer_channel_cooldown_is_a_reaction_not_a_notice(
    stub: DiscordStub,
    three_way: Callable[..., Settings],
) -> None:
    news = stub.channel("news")
    settings = three_way(stub, answer_channels=(news.id,), cooldown_questions=1, cooldown_seconds=60.0)
    async with running(settings, stub):
        mark = stub.mark()
        await stub.send_message(VANCE, channel_id=news.id)
        assert is_answer(await stub.wait_for_message(channel_id=news.id, since=mark))
        await stub.send_message(VANCE, channel_id=news.id)  # over the cooldown, no mention
        reaction = await stub.wait_for_request(kind="add_reaction", since=mark)
        assert reaction.params["emoji"] == "\N{HOURGLASS WITH FLOWING SAND}"
        assert await no_message(stub, stub.mark(), timeout=0.5)
        assert len([r for r in stub.requests[mark:] if r.kind == "create_message" and r.ok]) == 1


async def test_run_logs_failing_probes_at_start_and_serves_anyway(
    stub: DiscordStub, corpus_dir: Path, tmp_path: Path
) -> None:
    (corpus_dir / "probes.yaml").write_text(f"unrelated:\n  - question: {VANCE}\n", encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(
        f"corpus:\n  path: {corpus_dir}\nanalytics:\n  enabled: false\ndiscord:\n  api_url: {stub.api_url}\n"
        f"  gateway_url: {stub.gateway_url}\n  guild_ready_timeout: 0.05\n  token_env: SUMMITBOT_TEST_TOKEN\n",
        encoding="utf-8",
    )
    env = {**os.environ, "SUMMITBOT_TEST_TOKEN": "t0ken.probes"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--config", str(config), env=env, stdout=PIPE, stderr=PIPE
    )
    try:
        await stub.wait_until_connected(timeout=20)
        await stub.send_message(f"{mention(stub)} {VANCE}")
        assert is_answer(await stub.wait_for_message(timeout=10))
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 20)
    log = err.decode()
    assert proc.returncode == 0, log
    assert f"probe failed: {corpus_dir / 'probes.yaml'}:2: " in log and "must get" in log
