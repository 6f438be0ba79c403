"""End to end: the real discord.py client (our Bot subclass) against the loopback Discord stub.

Each test starts a bot configured with ``discord.api_url``/``gateway_url`` pointing at a fresh stub
and a private copy of the corpus, injects gateway events as a user would cause them, and asserts on
the REST calls the bot made (content, embeds, components, flags, ``allowed_mentions``).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import re
import signal
import sys
import threading
import time
from asyncio.subprocess import PIPE
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import bot_harness
import discord
import discord.gateway
import discord.http
import pytest
from bot_harness import VANCE, custom_ids, mention, no_message, no_pings, running, show, write_doc
from discord_stub import ChannelType, DiscordStub, MessageFlag

import bot.discord_app.app as app_module
import bot.discord_app.cogs.summaries as summaries_cog
import bot.engine
import bot.summaries
from bot.config import Settings
from bot.discord_app import components, limits, render

SHIPPED_CORPUS = Path(__file__).resolve().parents[2] / "corpus"
NO_PINGS = {"parse": []}


@pytest.fixture
def make_settings(corpus_dir: Path, tmp_path: Path) -> Callable[..., Settings]:
    """Settings for a bot on a given stub; keyword arguments override ``discord.*`` keys."""

    def make(stub: DiscordStub, analytics: bool = True, **discord_keys: Any) -> Settings:
        return bot_harness.make_settings(stub, corpus_dir, tmp_path / "data", analytics=analytics, **discord_keys)

    return make


@pytest.fixture
async def stub() -> AsyncIterator[DiscordStub]:
    """A fresh stub; discord.py is pointed at it only by the bot's own settings."""
    async with DiscordStub() as server:
        yield server
    assert not server.errors, server.errors


# ------------------------------------------------------------------------------------ messages


async def test_mention_gets_cited_answer_with_buttons(
    stub: DiscordStub, make_settings: Callable[..., Settings]
) -> None:
    async with running(make_settings(stub), stub):
        await stub.send_message(f"{mention(stub)} {VANCE}")
        rec = await stub.wait_for_message(channel_id=stub.default_channel.id)
    show(rec)
    assert no_pings(rec)
    assert rec.json.get("message_reference")  # a reply to the question
    (embed,) = rec.embeds
    description = embed["description"]
    assert "__The **U.S.** opted not to sign" in description  # best sentence underlined, words in bold
    assert "**JD Vance" in description and "<@" not in description
    citation = description.rsplit("\n", 1)[-1]
    assert "China advances its Global AI Governance Initiative" in citation
    assert "www.ecns.cn" in citation and "¶3" in citation
    assert embed["footer"]["text"] == f"Q: {VANCE}"
    ids = custom_ids(rec)
    assert any(i.startswith("sb:more:") for i in ids)
    assert any(i.endswith(":up") for i in ids) and any(i.endswith(":down") for i in ids)


async def test_dm_is_answered(stub: DiscordStub, make_settings: Callable[..., Settings]) -> None:
    async with running(make_settings(stub), stub):
        await stub.send_message(VANCE, guild=False, author=stub.member)
        rec = await stub.wait_for_message(channel_id=stub.dm_channel_for(stub.member).id)
    assert no_pings(rec)
    assert "¶3" in rec.embeds[0]["description"]


async def test_answer_channel_and_its_threads_need_no_mention(
    stub: DiscordStub, make_settings: Callable[..., Settings]
) -> None:
    news = stub.channel("news")
    thread = stub.add_channel("questions-thread", type=ChannelType.PUBLIC_THREAD, parent_id=news.id)
    thread.owner_id = stub.member.id
    async with running(make_settings(stub, answer_channels=(news.id,)), stub) as bot:
        assert bot.intents.message_content
        assert stub.intents is not None and stub.intents & discord.Intents(message_content=True).value
        await stub.send_message(VANCE, channel_id=news.id)
        rec = await stub.wait_for_message(channel_id=news.id)
        assert "¶3" in rec.embeds[0]["description"]
        await stub.send_message(VANCE, channel_id=thread.id)
        rec = await stub.wait_for_message(channel_id=thread.id)
        assert "¶3" in rec.embeds[0]["description"]
        # Elsewhere, still only when mentioned.
        mark = stub.mark()
        await stub.send_message(VANCE, channel_id=stub.default_channel.id)
        assert await no_message(stub, mark)


async def test_without_answer_channels_no_intent_and_no_unprompted_answers(
    stub: DiscordStub, make_settings: Callable[..., Settings]
) -> None:
    async with running(make_settings(stub), stub) as bot:
        assert not bot.intents.message_content
        assert stub.intents is not None and not stub.intents & discord.Intents(message_content=True).value
        mark = stub.mark()
        await stub.send_message(VANCE)
        assert await no_message(stub, mark)
        # A mention is still answered: Discord delivers its content without the intent.
        await stub.send_message(f"{mention(stub)} {VANCE}")
        rec = await stub.wait_for_message(since=mark)
        assert "¶3" in rec.embeds[0]["description"]


async def test_ignores_bots_and_itself(stub: DiscordStub, make_settings: Callable[..., Settings]) -> None:
    other_bot = stub.add_user("otherbot", bot=True)
    stub.add_member(other_bot)
    async with running(make_settings(stub), stub):
        mark = stub.mark()
        await stub.send_message(f"{mention(stub)} {VANCE}", author=other_bot)
        await stub.send_message(f"{mention(stub)} {VANCE}", author=stub.bot_user)
        assert await no_message(stub, mark)


async def test_unrelated_question_is_not_in_my_sources(
    stub: DiscordStub, make_settings: Callable[..., Settings]
) -> None:
    async with running(make_settings(stub), stub):
        await stub.send_message(f"{mention(stub)} What is the best recipe for banana bread?")
        rec = await stub.wait_for_message()
    show(rec)
    assert rec.content.startswith("That's not in my sources.")
    assert "China advances its Global AI Governance Initiative" in rec.content
    assert not rec.embeds and no_pings(rec)


async def test_mentions_in_questions_ping_nobody(stub: DiscordStub, make_settings: Callable[..., Settings]) -> None:
    role = stub.member_role
    async with running(make_settings(stub), stub):
        for extra in ("@everyone", "@here", f"<@&{role.id}>", f"<@{stub.owner.id}>"):
            mark = stub.mark()
            await stub.send_message(f"{mention(stub)} {extra} {VANCE} [click](https://evil.example) {extra}")
            rec = await stub.wait_for_message(since=mark)
            assert no_pings(rec), rec.allowed_mentions
            # The mention is not part of the question: the question is still answered, from ¶3.
            mark = stub.mark()
            await stub.send_message(f"{mention(stub)} {extra} {VANCE}")
            rec = await stub.wait_for_message(since=mark)
            assert no_pings(rec) and rec.embeds and "¶3" in rec.embeds[0]["description"], extra
        # Echoed user text cannot carry markdown links or mentions (the question rides in the footer).
        mark = stub.mark()
        await stub.send_message(f"{mention(stub)} @everyone banana [click](https://evil.example)")
        rec = await stub.wait_for_message(since=mark)
        assert no_pings(rec) and "[click]" not in rec.content


async def test_answer_in_thread(stub: DiscordStub, make_settings: Callable[..., Settings]) -> None:
    async with running(make_settings(stub, answer_in_thread=True), stub):
        await stub.send_message(f"{mention(stub)} {VANCE}")
        created = await stub.wait_for_request(kind="create_thread")
        rec = await stub.wait_for_message()
    assert created.json["name"] == VANCE
    assert rec.channel_id != stub.default_channel.id and "¶3" in rec.embeds[0]["description"]
    assert no_pings(rec)


async def test_cooldown_notice_once_per_window(stub: DiscordStub, make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(stub, cooldown_questions=2, cooldown_seconds=60.0)
    async with running(settings, stub):
        mark = stub.mark()
        for _ in range(5):
            await stub.send_message(f"{mention(stub)} {VANCE}")
        answers = [await stub.wait_for_message(since=mark) for _ in range(3)]
        # The 4th and 5th questions fall in the window whose notice went out: each gets a reaction.
        reactions = [await stub.wait_for_request(kind="add_reaction", since=mark) for _ in range(2)]
        assert await no_message(stub, stub.mark())
        sent = [r for r in stub.requests[mark:] if r.kind == "create_message" and r.ok]
        notices = [r for r in sent if r.content and re.fullmatch(r"Please wait \d+ s before asking again\.", r.content)]
        assert len([r for r in sent if r.embeds]) == 2 and len(notices) == 1, sent
        assert all(r.params["emoji"] == "\N{HOURGLASS WITH FLOWING SAND}" for r in reactions)
        assert len({r.params["message_id"] for r in reactions}) == 2
        assert all(no_pings(r) for r in answers)
        # A slash command in the same window gets a private notice.
        ix = await stub.slash_command("ask", {"question": VANCE})
        rec = await stub.wait_for_message(interaction=ix)
        assert rec.ephemeral and re.fullmatch(r"Please wait \d+ s before asking again\.", rec.content)


async def test_too_long_question(stub: DiscordStub, make_settings: Callable[..., Settings]) -> None:
    async with running(make_settings(stub), stub):
        long = "Why " + "really " * 100 + "?"
        await stub.send_message(f"{mention(stub)} {long}")
        rec = await stub.wait_for_message()
        assert "a bit long" in rec.content and no_pings(rec)
        ix = await stub.slash_command("ask", {"question": long})
        rec = await stub.wait_for_message(interaction=ix)
        assert rec.ephemeral and "a bit long" in rec.content
        # The public notice under a message is short and neutral.
        assert len(rec.content) < 120 and rec.content.endswith("Please shorten it.")


async def test_question_of_only_mentions_or_emoji_gets_the_hint(
    stub: DiscordStub, make_settings: Callable[..., Settings]
) -> None:
    """After the bot's mention, only other mentions or emoji: the "Ask me a question" hint, not
    "not in my sources" (nothing was asked); also for /ask."""
    role = stub.member_role
    async with running(make_settings(stub), stub) as bot:
        asked = bot.record_breaker.waits
        for rest in (
            "@everyone",
            f"@here <@&{role.id}> <@{stub.owner.id}>",
            "<:party:123456789012345678> <#1>",
            "👍🎉",
        ):
            mark = stub.mark()
            await stub.send_message(f"{mention(stub)} {rest}")
            rec = await stub.wait_for_message(since=mark)
            assert rec.content == render.QUESTION_HINT and no_pings(rec), rest
        ix = await stub.slash_command("ask", {"question": "@everyone <:party:123456789012345678>"})
        rec = await stub.wait_for_message(interaction=ix)
        assert rec.ephemeral and rec.content == render.QUESTION_HINT
        assert bot.record_breaker.waits - asked == 1  # only the emoji one reached the engine (and analytics)


async def test_long_passage_is_trimmed_within_limits(
    stub: DiscordStub, make_settings: Callable[..., Settings], corpus_dir: Path
) -> None:
    filler = " ".join(f"Sentence number {i} talks about glaciers and meltwater in the valley." for i in range(70))
    long_paragraph = filler + " The zebra migration crossed the Mara river in July. " + filler
    assert len(long_paragraph) > 5000
    write_doc(corpus_dir, "long", "A very long article", "example.org", [long_paragraph, "Short second paragraph."])
    async with running(make_settings(stub), stub):
        await stub.send_message(f"{mention(stub)} When did the zebra migration cross the Mara river?")
        rec = await stub.wait_for_message()
    show(rec)
    (embed,) = rec.embeds
    assert len(embed["description"]) <= limits.EMBED_DESCRIPTION
    assert len(discord.Embed.from_dict(embed)) <= limits.EMBED_TOTAL
    assert "__The **zebra migration" in embed["description"] and "**Mara river**" in embed["description"]
    body = embed["description"].split("\n\n— ")[0]
    assert body.startswith("… ") and body.endswith(" …")
    assert "A very long article" in embed["description"]


async def test_fifty_questions_at_once(make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch) -> None:
    """Fifty questions at once: every one answered, each reply to its own message, the searching
    and rendering all on worker threads (never on the event loop), and the gateway kept alive
    throughout (heartbeats go on after the burst, on the one connection, never resumed).

    How long the loop may stall is a speed figure, measured by ``benchmarks/load.py`` (longest loop
    stall, heartbeats on time), not asserted here: on a loaded machine discord.py itself takes
    0.2-0.5 s to parse a burst of 50 buffered MESSAGE_CREATE events in one step of its read loop,
    which is what made the old "gap < 2 heartbeat intervals" check fail under load."""
    loop_thread = threading.get_ident()
    on_loop: list[str] = []
    original_answer, original_render = bot.engine.Engine.answer, render.render_answer

    def answer(self: bot.engine.Engine, *args: Any, **kwargs: Any) -> Any:
        if threading.get_ident() == loop_thread:
            on_loop.append("answer")
        return original_answer(self, *args, **kwargs)

    def render_answer(*args: Any, **kwargs: Any) -> Any:
        if threading.get_ident() == loop_thread:
            on_loop.append("render")
        return original_render(*args, **kwargs)

    monkeypatch.setattr(bot.engine.Engine, "answer", answer)
    monkeypatch.setattr(render, "render_answer", render_answer)
    async with DiscordStub(heartbeat_interval_ms=300) as stub:
        users = [stub.add_user(f"user{i}") for i in range(50)]
        for user in users:
            stub.add_member(user, roles=[stub.member_role])
        async with running(make_settings(stub, cooldown_questions=3, cooldown_seconds=5.0), stub):
            mark = stub.mark()
            await asyncio.gather(*(stub.send_message(f"{mention(stub)} {VANCE}", author=u) for u in users))
            replies = [await stub.wait_for_message(since=mark, timeout=20) for _ in users]
            beats = len(stub.heartbeats)
            await stub.wait_for_heartbeats(beats + 2, timeout=10)  # the heartbeat goes on after the burst
            assert len(stub.connections) == 1 and stub.connections[0].open  # never dropped or resumed
        assert not stub.errors
    assert on_loop == [] and len(replies) == 50
    assert all("¶3" in r.embeds[0]["description"] and no_pings(r) for r in replies)
    asked = {m["id"] for m in stub.messages_in(stub.default_channel.id) if m["author"]["id"] != str(stub.bot_user.id)}
    assert {str(r.json["message_reference"]["message_id"]) for r in replies} == asked


# ------------------------------------------------------------------------------- slash commands


async def test_ask_public_and_private(stub: DiscordStub, make_settings: Callable[..., Settings]) -> None:
    async with running(make_settings(stub), stub):
        ix = await stub.slash_command("ask", {"question": VANCE})
        rec = await stub.wait_for_message(interaction=ix)
        assert not rec.ephemeral and "¶3" in rec.embeds[0]["description"] and no_pings(rec)
        ix = await stub.slash_command("ask", {"question": VANCE, "private": True})
        response = await stub.wait_for_interaction_response(ix)
        rec = await stub.wait_for_message(interaction=ix)
        assert response.json["data"]["flags"] & MessageFlag.EPHEMERAL
        assert rec.ephemeral and "¶3" in rec.embeds[0]["description"] and no_pings(rec)


async def test_summary_with_autocomplete(stub: DiscordStub, make_settings: Callable[..., Settings]) -> None:
    async with running(make_settings(stub), stub):
        ix = await stub.autocomplete("summary", {"document": "paris"}, "document")
        choices = await stub.wait_for_autocomplete(ix)
        assert choices and choices[0]["value"] == "paris-summit-china-ai-governance"
        assert len(choices) <= 25 and all(len(c["name"]) <= 100 for c in choices)
        ix = await stub.slash_command("summary", {"document": choices[0]["value"], "length": "short"})
        rec = await stub.wait_for_message(interaction=ix)
        show(rec)
        embed = rec.embeds[0]
        assert embed["title"].startswith("Summary: China advances")
        assert "`[1 ¶1]`" in embed["description"] and "`[1]` *China advances" in embed["description"] and no_pings(rec)
        ix = await stub.slash_command("summary", {"topic": "DeepSeek"})
        rec = await stub.wait_for_message(interaction=ix)
        assert "DeepSeek" in rec.embeds[0]["description"]
        ix = await stub.slash_command("summary", {"document": "no-such-doc"})
        rec = await stub.wait_for_message(interaction=ix)
        assert rec.ephemeral and "don't know that document" in rec.content
        assert rec.callback_type == 4 and rec.json["data"]["flags"] & MessageFlag.EPHEMERAL  # the first response


async def test_summary_refused_by_the_summariser_is_private(
    stub: DiscordStub, make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request the summariser itself refuses (SummaryError) is answered privately as the first
    response: never a public "thinking…" followed by an error that Discord would show to everyone."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise bot.summaries.SummaryError("unknown length 'huge'; use one of: short, medium, long")

    monkeypatch.setattr(bot.engine.Engine, "summarize", refuse)
    async with running(make_settings(stub), stub):
        ix = await stub.slash_command("summary", {"topic": "DeepSeek"})
        rec = await stub.wait_for_message(interaction=ix)
    assert rec.callback_type == 4 and rec.json["data"]["flags"] & MessageFlag.EPHEMERAL
    assert "unknown length" in rec.content and no_pings(rec)
    callbacks = [r.callback_type for r in stub.requests if r.interaction is ix and r.kind == "interaction_callback"]
    assert callbacks == [4]  # no defer went out


async def test_slow_summary_defers_publicly_then_follows_up(
    stub: DiscordStub, make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A summary still running after the head start is acknowledged with a public "thinking…"; the
    summary follows as the (public) followup."""
    real_summarize = bot.engine.Engine.summarize
    deferred = threading.Event()

    def slow(*args: Any, **kwargs: Any) -> Any:
        deferred.wait(10)  # runs on until the test has seen the defer
        return real_summarize(*args, **kwargs)

    monkeypatch.setattr(bot.engine.Engine, "summarize", slow)
    monkeypatch.setattr(summaries_cog, "SUMMARY_HEAD_START", 0.05)
    async with running(make_settings(stub), stub):
        ix = await stub.slash_command("summary", {"topic": "DeepSeek"})
        response = await stub.wait_for_interaction_response(ix)
        deferred.set()
        rec = await stub.wait_for_message(interaction=ix)
    assert response.callback_type == 5 and not (response.json.get("data") or {}).get("flags")
    assert rec.kind == "followup" and not rec.ephemeral and "DeepSeek" in rec.embeds[0]["description"]


async def test_sources_and_help(stub: DiscordStub, make_settings: Callable[..., Settings], corpus_dir: Path) -> None:
    for i in range(20):
        write_doc(corpus_dir, f"doc{i:02d}", f"Document number {i}", "example.org", [f"Paragraph of doc {i}."])
    news = stub.channel("news")
    async with running(make_settings(stub, answer_channels=(news.id,)), stub):
        ix = await stub.slash_command("sources")
        rec = await stub.wait_for_message(interaction=ix)
        show(rec)
        embed = rec.embeds[0]
        assert "21 documents" in embed["title"] and embed["footer"]["text"].startswith("Page 1 of 2")
        assert "**Document number 0** — example.org, 1 paragraph · `doc00`" in embed["description"]
        ix = await stub.slash_command("sources", {"page": 2})
        rec = await stub.wait_for_message(interaction=ix)
        assert "Page 2 of 2" in rec.embeds[0]["footer"]["text"]
        assert "www.ecns.cn, 9 paragraphs" in rec.embeds[0]["description"]
        ix = await stub.slash_command("help")
        rec = await stub.wait_for_message(interaction=ix)
        show(rec)
        assert f"<#{news.id}>" in rec.embeds[0]["description"] and "/ask" in rec.embeds[0]["description"]


async def test_reload_by_operator_adds_document(
    stub: DiscordStub, make_settings: Callable[..., Settings], corpus_dir: Path
) -> None:
    question = "Who won the 2031 lunar chess olympiad?"
    async with running(make_settings(stub), stub) as bot:
        await stub.send_message(f"{mention(stub)} {question}")
        assert (await stub.wait_for_message()).content.startswith("That's not in my sources")
        write_doc(
            corpus_dir,
            "lunar-chess",
            "Lunar chess olympiad results",
            "moon.example",
            ["The 2031 lunar chess olympiad was won by Ada Okafor after a tense final round."],
            url="https://moon.example/chess",
        )
        old_engine = bot.engine
        ix = await stub.slash_command("reload", user=stub.admin)  # manages the server: not enough
        rec = await stub.wait_for_message(interaction=ix)
        assert rec.ephemeral and "only the bot's operators" in rec.content and bot.engine is old_engine
        ix = await stub.slash_command("reload", user=stub.owner)  # the application's owner
        rec = await stub.wait_for_message(interaction=ix)
        show(rec)
        assert rec.ephemeral and rec.embeds[0]["title"] == "Corpus reloaded"
        text = str(rec.embeds[0])
        assert "1 added" in text and "`lunar-chess`" in text and "9 → 10 passages" in text
        assert bot.engine is not old_engine
        await stub.send_message(f"{mention(stub)} {question}")
        rec = await stub.wait_for_message()
        assert "Ada Okafor" in rec.embeds[0]["description"] and "Lunar chess olympiad results" in rec.embeds[0]["title"]
        assert any(c.get("url") == "https://moon.example/chess" for row in rec.components for c in row["components"])


async def test_reload_refused_for_non_admin(
    stub: DiscordStub, make_settings: Callable[..., Settings], corpus_dir: Path
) -> None:
    async with running(make_settings(stub), stub) as bot:
        commands = {c.name: c for c in bot.tree.get_commands()}
        assert commands["reload"].default_permissions == discord.Permissions(manage_guild=True)
        assert commands["stats"].default_permissions == discord.Permissions(manage_guild=True)
        write_doc(corpus_dir, "extra", "Extra", "example.org", ["Extra text."])
        engine = bot.engine
        ix = await stub.slash_command("reload", user=stub.member)
        rec = await stub.wait_for_message(interaction=ix)
        assert rec.ephemeral and "only the bot's operators" in rec.content
        assert bot.engine is engine and len(bot.engine.corpus.documents) == 1
        ix = await stub.slash_command("stats", user=stub.member)
        rec = await stub.wait_for_message(interaction=ix)
        assert rec.ephemeral and "only admins" in rec.content


async def test_reload_by_configured_operator_user_and_role(
    stub: DiscordStub, make_settings: Callable[..., Settings]
) -> None:
    helper_role = stub.add_role("Helpers", 0)
    helper = stub.add_user("dave")
    stub.add_member(helper, roles=[helper_role])
    settings = make_settings(stub, operator_users=(stub.member.id,), operator_roles=(helper_role.id,))
    async with running(settings, stub):
        for user in (stub.member, helper):
            ix = await stub.slash_command("reload", user=user)
            rec = await stub.wait_for_message(interaction=ix)
            assert rec.embeds and rec.embeds[0]["title"] == "Corpus reloaded", rec


async def test_reload_with_broken_file_keeps_old_corpus(
    stub: DiscordStub, make_settings: Callable[..., Settings], corpus_dir: Path
) -> None:
    async with running(make_settings(stub), stub) as bot:
        engine = bot.engine
        (corpus_dir / "broken.md").write_text("---\ntitle: [unclosed\n---\n\nText.\n", encoding="utf-8")
        (corpus_dir / "nosource.md").write_text("---\ntitle: No source\n---\n\nText.\n", encoding="utf-8")
        ix = await stub.slash_command("reload", user=stub.owner)
        rec = await stub.wait_for_message(interaction=ix)
        show(rec)
        embed = rec.embeds[0]
        assert embed["title"].startswith("Reload failed") and rec.ephemeral
        assert "broken.md" in embed["description"] and "nosource.md" in embed["description"]
        assert str(corpus_dir) not in embed["description"]  # no server paths
        assert bot.engine is engine
        await stub.send_message(f"{mention(stub)} {VANCE}")
        rec = await stub.wait_for_message(since=stub.mark() - 1)
        assert "¶3" in rec.embeds[0]["description"]


class WatchedLock(asyncio.Lock):
    """An asyncio lock that says when ``expected`` callers have asked for it."""

    def __init__(self, expected: int) -> None:
        super().__init__()
        self.expected = expected
        self.asked = 0
        self.all_asked = asyncio.Event()

    async def acquire(self) -> bool:
        self.asked += 1
        if self.asked >= self.expected:
            self.all_asked.set()
        return await super().acquire()


async def test_concurrent_reloads_queue(
    stub: DiscordStub, make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three reloads at once: the builds run one after another, never two at the same time."""
    real_build = app_module.build_engine
    loop = asyncio.get_running_loop()
    guard = threading.Lock()
    in_flight = 0
    spans: list[tuple[float, float]] = []
    first_entered, overlap = asyncio.Event(), asyncio.Event()
    release = threading.Event()

    def watched_build(settings: Settings, *args: Any, **kwargs: Any) -> Any:
        nonlocal in_flight
        with guard:
            in_flight += 1
            entered, overlapping = time.perf_counter(), in_flight
        loop.call_soon_threadsafe(first_entered.set if overlapping == 1 else overlap.set)
        try:
            assert overlapping == 1, "two corpus builds ran at the same time"
            release.wait()  # the first build holds until every reload is queued
            return real_build(settings, *args, **kwargs)
        finally:
            with guard:
                in_flight -= 1
                spans.append((entered, time.perf_counter()))

    monkeypatch.setattr(app_module, "build_engine", watched_build)
    async with running(make_settings(stub), stub) as bot:
        lock = bot.reload_lock = WatchedLock(expected=3)
        reloads = [asyncio.create_task(bot.reload_corpus()) for _ in range(3)]
        try:
            await asyncio.wait_for(first_entered.wait(), 10)
            queued, overlapped = asyncio.ensure_future(lock.all_asked.wait()), asyncio.ensure_future(overlap.wait())
            await asyncio.wait({queued, overlapped}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
            overlapped.cancel()
            assert queued.done() and not overlap.is_set() and in_flight == 1  # the others wait for the lock
        finally:
            release.set()
            outcomes = await asyncio.gather(*reloads)
    assert all(o.ok and o.change is not None and o.change.unchanged for o in outcomes), outcomes
    spans.sort()
    assert len(spans) == 3 and all(end <= start for (_, end), (start, _) in itertools.pairwise(spans)), spans


async def test_stats_for_admin(stub: DiscordStub, make_settings: Callable[..., Settings]) -> None:
    async with running(make_settings(stub), stub):
        await stub.send_message(f"{mention(stub)} {VANCE}")
        answer = await stub.wait_for_message()
        await stub.send_message(f"{mention(stub)} banana bread recipe")
        await stub.wait_for_message()
        up = next(i for i in custom_ids(answer) if i.endswith(":up"))
        down = next(i for i in custom_ids(answer) if i.endswith(":down"))
        await stub.wait_for_message(interaction=await stub.press_button(answer, up, user=stub.owner))
        await stub.wait_for_message(interaction=await stub.press_button(answer, up, user=stub.admin))
        await stub.wait_for_message(interaction=await stub.press_button(answer, down, user=stub.member))
        ix = await stub.slash_command("stats", user=stub.admin)
        rec = await stub.wait_for_message(interaction=ix)
    show(rec)
    assert rec.ephemeral and no_pings(rec)
    lines = rec.content.splitlines()
    assert "Questions: 2, answered: 1 (50%), closest passage: 0, not in sources: 1" in lines
    assert "Feedback: 2 up, 1 down" in lines
    unanswered = lines[lines.index("Most frequent unanswered questions:") + 1]
    assert unanswered == "1. 1x `banana bread recipe`"
    cited = lines[lines.index("Most cited passages:") + 1]
    assert cited == "1. 1x `paris-summit-china-ai-governance` para 3"


# ------------------------------------------------------------------------------------- buttons


async def test_a_bidi_override_in_a_question_is_dropped_and_more_passages_still_works(
    stub: DiscordStub, make_settings: Callable[..., Settings]
) -> None:
    async with running(make_settings(stub), stub):
        await stub.send_message(f"{mention(stub)} {VANCE}\u202e\x07")
        answer = await stub.wait_for_message()
        assert answer.embeds[0]["footer"]["text"] == f"Q: {VANCE}"  # nothing reverses the line
        more = next(i for i in custom_ids(answer) if i.startswith("sb:more:"))
        rec = await stub.wait_for_message(interaction=await stub.press_button(answer, more, user=stub.member))
        assert rec.embeds and rec.embeds[0]["title"].startswith("2. ")  # the question is found again


async def test_more_passages_and_votes(stub: DiscordStub, make_settings: Callable[..., Settings]) -> None:
    async with running(make_settings(stub), stub):
        await stub.send_message(f"{mention(stub)} {VANCE}")
        answer = await stub.wait_for_message()
        more = next(i for i in custom_ids(answer) if i.startswith("sb:more:"))
        ix = await stub.press_button(answer, more, user=stub.owner)
        rec = await stub.wait_for_message(interaction=ix)
        show(rec)
        assert rec.ephemeral and len(rec.embeds) == 3 and no_pings(rec)
        assert rec.embeds[0]["title"].startswith("2. ")
        assert all(len(e["description"]) <= limits.EMBED_DESCRIPTION for e in rec.embeds)
        assert rec.embeds[-1]["title"].startswith("4. ")
        # Only four paragraphs mention these words: no further page is offered.
        assert not any(i.startswith("sb:more:") for i in custom_ids(rec))
        # A broader question pages on: ranks 2..4, then a button for ranks 5..7.
        await stub.send_message(f"{mention(stub)} What is China doing on AI?")
        broad = await stub.wait_for_message()
        more = next(i for i in custom_ids(broad) if i.startswith("sb:more:"))
        shown = 1 + len(broad.embeds[0].get("fields", []))
        assert more.endswith(f":{shown}")
        rec = await stub.wait_for_message(interaction=await stub.press_button(broad, more))
        assert rec.embeds[0]["title"].startswith(f"{shown + 1}. ")
        assert any(i.endswith(f":{shown + 3}") for i in custom_ids(rec))

        up = next(i for i in custom_ids(answer) if i.endswith(":up"))
        down = next(i for i in custom_ids(answer) if i.endswith(":down"))
        ix = await stub.press_button(answer, up, user=stub.owner)
        rec = await stub.wait_for_message(interaction=ix)
        assert rec.ephemeral and "👍 1 · 👎 0" in rec.content
        ix = await stub.press_button(answer, up, user=stub.admin)
        assert "👍 2 · 👎 0" in (await stub.wait_for_message(interaction=ix)).content
        ix = await stub.press_button(answer, down, user=stub.owner)  # a changed vote, not a second one
        assert "👍 1 · 👎 1" in (await stub.wait_for_message(interaction=ix)).content


async def test_button_errors_get_a_private_apology_and_a_logged_traceback(
    stub: DiscordStub,
    make_settings: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A failure inside "More passages" (after its defer) or a vote: the clicker gets a short private
    apology (a followup after the defer, so no "thinking…" is left), the log gets the traceback."""
    caplog.set_level(logging.ERROR, logger="summitbot")

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("ranking exploded")

    async def broken_vote(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("vote store exploded")

    async with running(make_settings(stub), stub) as bot:
        await stub.send_message(f"{mention(stub)} {VANCE}")
        answer = await stub.wait_for_message()
        monkeypatch.setattr(bot.engine.answers, "ranked", broken)
        more = next(i for i in custom_ids(answer) if i.startswith("sb:more:"))
        ix = await stub.press_button(answer, more, user=stub.member)
        deferred = await stub.wait_for_interaction_response(ix)
        rec = await stub.wait_for_message(interaction=ix)
        assert deferred.callback_type == 5 and deferred.json["data"]["flags"] & MessageFlag.EPHEMERAL
        assert rec.kind == "followup" and rec.ephemeral and no_pings(rec)
        assert rec.content == components.BUTTON_APOLOGY and "exploded" not in rec.content

        assert bot.analytics is not None
        monkeypatch.setattr(bot.analytics, "record_vote", broken_vote)
        up = next(i for i in custom_ids(answer) if i.endswith(":up"))
        ix = await stub.press_button(answer, up, user=stub.member)
        rec = await stub.wait_for_message(interaction=ix)
        assert rec.kind == "interaction_callback" and rec.ephemeral and rec.content == components.BUTTON_APOLOGY
    logged = [r for r in caplog.records if r.name == "summitbot.discord.buttons"]
    assert [r.exc_info[1].args[0] for r in logged if r.exc_info] == ["ranking exploded", "vote store exploded"]
    assert "More passages" in logged[0].getMessage() and "vote" in logged[1].getMessage()


async def test_buttons_work_after_restart(stub: DiscordStub, make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(stub)
    async with running(settings, stub):
        await stub.send_message(f"{mention(stub)} {VANCE}")
        answer = await stub.wait_for_message()
    async with running(settings, stub):  # a new process: nothing in memory
        more = next(i for i in custom_ids(answer) if i.startswith("sb:more:"))
        ix = await stub.press_button(answer, more)
        rec = await stub.wait_for_message(interaction=ix)
        assert rec.ephemeral and rec.embeds[0]["title"].startswith("2. ")
        up = next(i for i in custom_ids(answer) if i.endswith(":up"))
        ix = await stub.press_button(answer, up)
        assert "👍 1" in (await stub.wait_for_message(interaction=ix)).content


# ------------------------------------------------------------------------------ errors, gateway


async def test_errors_reach_user_privately_without_internals(
    stub: DiscordStub, make_settings: Callable[..., Settings]
) -> None:
    async with running(make_settings(stub), stub) as bot:
        bot._engine = None  # every engine access now raises RuntimeError
        ix = await stub.slash_command("sources")
        rec = await stub.wait_for_message(interaction=ix)
        assert rec.ephemeral and rec.content.startswith("Sorry, something went wrong") and "Runtime" not in rec.content
        await stub.send_message(f"{mention(stub)} {VANCE}")
        rec = await stub.wait_for_message(since=stub.mark() - 1)
        assert rec.content.startswith("Sorry, something went wrong") and no_pings(rec)


async def test_gateway_reconnect_stays_on_configured_server(
    stub: DiscordStub, make_settings: Callable[..., Settings]
) -> None:
    async with running(make_settings(stub), stub):
        await stub.request_reconnect()
        assert stub.connections[-1].path == "/gateway"  # pinned: not READY's resume_gateway_url
        await stub.send_message(f"{mention(stub)} {VANCE}")
        rec = await stub.wait_for_message()
        assert "¶3" in rec.embeds[0]["description"]


async def test_rest_faults_are_retried(stub: DiscordStub, make_settings: Callable[..., Settings]) -> None:
    async with running(make_settings(stub), stub):
        stub.fail_next("POST", "/channels/*/messages", status=429, retry_after=0.2)
        await stub.send_message(f"{mention(stub)} {VANCE}")
        rec = await stub.wait_for_message(timeout=5)
        assert "¶3" in rec.embeds[0]["description"]


async def test_sharded_bot(stub: DiscordStub, make_settings: Callable[..., Settings]) -> None:
    async with running(make_settings(stub, shard_count=1, shard_ids=(0,)), stub) as bot:
        assert isinstance(bot, discord.AutoShardedClient)
        await stub.request_reconnect()
        await stub.send_message(f"{mention(stub)} {VANCE}")
        rec = await stub.wait_for_message()
        assert "¶3" in rec.embeds[0]["description"]


# --------------------------------------------------------------------------------- run and sync


def write_config(tmp_path: Path, corpus_dir: Path, stub: DiscordStub, **discord_keys: Any) -> Path:
    """A config.yaml pointing at the stub (analytics off)."""
    lines = [
        f"corpus:\n  path: {corpus_dir}",
        "analytics:\n  enabled: false",
        "discord:",
        f"  api_url: {stub.api_url}",
        f"  gateway_url: {stub.gateway_url}",
        "  guild_ready_timeout: 0.05",
        "  token_env: SUMMITBOT_TEST_TOKEN",
        *(f"  {key}: {value}" for key, value in discord_keys.items()),
    ]
    path = tmp_path / "config.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def summitbot(*args: str, token: str | None) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if k != "SUMMITBOT_TEST_TOKEN"}
    if token is not None:
        env["SUMMITBOT_TEST_TOKEN"] = token
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", *args, env=env, stdout=PIPE, stderr=PIPE)


async def test_sync_publishes_commands(stub: DiscordStub, corpus_dir: Path, tmp_path: Path) -> None:
    config = write_config(tmp_path, corpus_dir, stub)
    proc = await summitbot("sync", "--config", str(config), "--guild", str(stub.guild.id), token="t0ken.sync")
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    assert "Synced 9 commands to guild" in out.decode()
    names = {c["name"] for c in stub.registered_commands(stub.guild.id)}
    assert names == {"ask", "summary", "sources", "help", "reload", "stats", "settings", "Ask summitbot", "corpus"}
    assert not [r for r in stub.requests if r.path.startswith("/gateway")]  # HTTP only, no gateway
    proc = await summitbot("sync", "--config", str(config), token="t0ken.sync")
    await asyncio.wait_for(proc.communicate(), 30)
    assert {c["name"] for c in stub.registered_commands()} == names


async def test_dev_guild_sync_at_start(stub: DiscordStub, make_settings: Callable[..., Settings]) -> None:
    async with running(make_settings(stub, dev_guild_id=stub.guild.id), stub):
        await stub.wait_for_request(kind="bulk_overwrite_commands")
        assert {c["name"] for c in stub.registered_commands(stub.guild.id)} >= {"ask", "reload"}
        ix = await stub.slash_command("ask", {"question": VANCE})
        assert "¶3" in (await stub.wait_for_message(interaction=ix)).embeds[0]["description"]


async def test_run_without_token_or_with_rejected_token(corpus_dir: Path, tmp_path: Path) -> None:
    async with DiscordStub(token="the.right.token") as guarded:
        config = write_config(tmp_path, corpus_dir, guarded)
        proc = await summitbot("run", "--config", str(config), token=None)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 1 and err.decode().count("\n") == 1  # before any logging starts
        assert "SUMMITBOT_TEST_TOKEN" in err.decode()
        proc = await summitbot("run", "--config", str(config), token="a.wrong.secret")
        _, err = await asyncio.wait_for(proc.communicate(), 30)
        explanations = [line for line in err.decode().splitlines() if line.startswith("summitbot:")]
        assert proc.returncode == 1 and len(explanations) == 1, err.decode()
        assert "rejected the token" in explanations[0] and "a.wrong.secret" not in err.decode()
        assert "Traceback" not in err.decode()


@pytest.mark.parametrize("sharded", [False, True])
async def test_run_without_message_content_intent_says_how_to_fix_it(
    corpus_dir: Path, tmp_path: Path, sharded: bool
) -> None:
    """answer_channels set but the Message Content intent not enabled in the portal: Discord closes
    the gateway with 4014; ``summitbot run`` prints one line saying what to do and exits 1."""
    async with DiscordStub(privileged_intents=0) as refusing:
        news = refusing.channel("news")
        keys: dict[str, Any] = {"answer_channels": f"[{news.id}]"}
        if sharded:
            keys["shard_count"] = 1
        config = write_config(tmp_path, corpus_dir, refusing, **keys)
        proc = await summitbot("run", "--config", str(config), token="t0ken.intents")
        _, err = await asyncio.wait_for(proc.communicate(), 30)
        assert refusing.connections and refusing.connections[-1].close_code == 4014
    text = err.decode()
    explanations = [line for line in text.splitlines() if line.startswith("summitbot:")]
    assert proc.returncode == 1 and len(explanations) == 1, text
    assert "Message Content intent" in explanations[0] and "answer_channels" in explanations[0]
    assert "Traceback" not in text and "t0ken.intents" not in text


async def test_run_with_broken_corpus_exits_1(stub: DiscordStub, corpus_dir: Path, tmp_path: Path) -> None:
    (corpus_dir / "bad.md").write_text("no front matter\n", encoding="utf-8")
    proc = await summitbot("run", "--config", str(write_config(tmp_path, corpus_dir, stub)), token="t")
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 1 and "bad.md:1" in err.decode() and "Traceback" not in err.decode()


async def test_run_answers_and_stops_cleanly_on_sigterm(stub: DiscordStub, corpus_dir: Path, tmp_path: Path) -> None:
    config = write_config(tmp_path, corpus_dir, stub)
    proc = await summitbot("run", "--config", str(config), token="t0ken.run")
    try:
        await stub.wait_until_connected(timeout=20)
        await stub.send_message(f"{mention(stub)} {VANCE}")
        rec = await stub.wait_for_message(timeout=10)
        assert "¶3" in rec.embeds[0]["description"]
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0, err.decode()
    assert "t0ken.run" not in err.decode() and "Traceback" not in err.decode()


async def test_broken_analytics_database_never_stops_answers(
    stub: DiscordStub, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    (tmp_path / "data" / "analytics.sqlite3").mkdir(parents=True)  # a folder where the file should be
    async with running(make_settings(stub), stub):
        await stub.send_message(f"{mention(stub)} {VANCE}")
        rec = await stub.wait_for_message()
        assert "¶3" in rec.embeds[0]["description"]
        assert not any(i.startswith("sb:vote:") for i in custom_ids(rec))  # nothing to vote on
        assert any(i.startswith("sb:more:") for i in custom_ids(rec))
        ix = await stub.slash_command("stats", user=stub.admin)
        rec = await stub.wait_for_message(interaction=ix)
        assert rec.ephemeral and "not available" in rec.content


async def test_handler_errors_while_closing_are_one_debug_line_not_a_traceback(
    stub: DiscordStub, make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    """SIGTERM can land while a ready handler runs: its failure then is expected, not an error to report."""
    async with running(make_settings(stub), stub) as client:
        try:
            raise RuntimeError("cannot schedule new futures after shutdown")
        except RuntimeError:
            with caplog.at_level(logging.DEBUG, logger="summitbot"):
                await client.on_error("on_ready")
        assert [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]  # open: full traceback
        caplog.clear()
        await client.close()
        try:
            raise RuntimeError("cannot schedule new futures after shutdown")
        except RuntimeError:
            with caplog.at_level(logging.DEBUG, logger="summitbot"):
                await client.on_error("on_ready")
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("failed while shutting down" in r.getMessage() for r in caplog.records)
