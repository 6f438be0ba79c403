"""End-to-end tests of the loopback Discord stub (tests/discord_stub) with a real discord.py ``commands.Bot``.

The bot here is a minimal one defined in this file (not the project's bot): it proves that discord.py's
real code paths (login, gateway, events, REST, interactions, views, rate limits, resume) work against
the stub, so the project's end-to-end tests can rely on it.
"""

from __future__ import annotations

import asyncio
import io
import time
from dataclasses import dataclass, field
from typing import Any

import discord
import pytest
from discord import app_commands
from discord.ext import commands
from discord_stub import (
    DEFAULT_GUILD_ID,
    CallbackType,
    DiscordStub,
    Intent,
    MessageFlag,
    point_discord_at,
    run_bot,
)

pytest_plugins = ["discord_stub.fixtures"]

TIMEOUT = 5.0


@dataclass
class Probe:
    """What the test bot observed, as queues the tests can await."""

    messages: asyncio.Queue[discord.Message] = field(default_factory=asyncio.Queue)
    app_calls: asyncio.Queue[tuple[str, discord.Interaction, dict[str, Any]]] = field(default_factory=asyncio.Queue)
    button_clicks: asyncio.Queue[discord.Interaction] = field(default_factory=asyncio.Queue)
    resumed: asyncio.Event = field(default_factory=asyncio.Event)
    errors: list[BaseException] = field(default_factory=list)


class VoteView(discord.ui.View):
    """A one-button view; clicking edits the message and removes the button."""

    def __init__(self, probe: Probe) -> None:
        super().__init__(timeout=30)
        self.probe = probe

    @discord.ui.button(label="Yes", custom_id="vote:yes", style=discord.ButtonStyle.success)
    async def yes(self, interaction: discord.Interaction, button: discord.ui.Button[VoteView]) -> None:
        await interaction.response.edit_message(content=f"{interaction.user.name} voted yes", view=None)
        await self.probe.button_clicks.put(interaction)


class StubBot(commands.Bot):
    """A ``commands.Bot`` that re-identifies without discord.py's default 5 s pause.

    ``Client.before_identify_hook`` sleeps 5 s before every non-initial IDENTIFY (a real-Discord
    courtesy); tests that force a re-IDENTIFY would otherwise take that long.
    """

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None


def make_bot(*, message_content: bool = True) -> tuple[commands.Bot, Probe]:
    """A small bot with a prefix command, slash commands (global and guild) and a button view."""
    probe = Probe()
    intents = discord.Intents.default()
    intents.message_content = message_content
    bot = StubBot(
        command_prefix="!",
        intents=intents,
        guild_ready_timeout=0.05,
        allowed_mentions=discord.AllowedMentions.none(),
    )

    @bot.event
    async def on_message(message: discord.Message) -> None:
        await probe.messages.put(message)
        await bot.process_commands(message)

    @bot.event
    async def on_resumed() -> None:
        probe.resumed.set()

    @bot.event
    async def on_command_error(ctx: commands.Context[commands.Bot], error: Exception) -> None:
        probe.errors.append(error)

    @bot.command()
    async def ask(ctx: commands.Context[commands.Bot], *, question: str) -> None:
        await ctx.reply(f"You asked: {question} @everyone", mention_author=False)

    @bot.command()
    async def dmme(ctx: commands.Context[commands.Bot]) -> None:
        await ctx.author.send("psst, a private answer")

    @bot.command()
    async def vote(ctx: commands.Context[commands.Bot]) -> None:
        await ctx.send("Is the summit in Geneva?", view=VoteView(probe))

    @bot.tree.command(description="Ask a question about the news corpus")
    @app_commands.describe(question="What you want to know", top="How many passages")
    async def query(interaction: discord.Interaction, question: str, top: int = 3) -> None:
        await probe.app_calls.put(("query", interaction, {"question": question, "top": top}))
        await interaction.response.send_message(f"{top} passages for {question!r}", ephemeral=True)

    @bot.tree.command(description="Who is this member?")
    async def whois(interaction: discord.Interaction, member: discord.Member) -> None:
        await probe.app_calls.put(("whois", interaction, {"member": member}))
        await interaction.response.send_message(f"{member.display_name} has {len(member.roles)} roles")

    @query.autocomplete("question")
    async def query_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        topics = ["summit dates", "summit location", "trade deal"]
        return [app_commands.Choice(name=t, value=t) for t in topics if t.startswith(current)]

    @bot.tree.command(description="A slow answer", guild=discord.Object(id=DEFAULT_GUILD_ID))
    async def slow(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await probe.app_calls.put(("slow", interaction, {}))
        await interaction.followup.send("here is the slow answer")
        await interaction.edit_original_response(content="(answered below)")

    return bot, probe


async def next_item(queue: asyncio.Queue[Any], timeout: float = TIMEOUT) -> Any:
    """The next item of a probe queue, or a TimeoutError."""
    return await asyncio.wait_for(queue.get(), timeout)


async def next_user_message(probe: Probe, timeout: float = TIMEOUT) -> discord.Message:
    """The next message the bot saw that was not its own (the stub echoes the bot's messages)."""
    while True:
        message = await next_item(probe.messages, timeout)
        if not message.author.bot:
            return message


# --------------------------------------------------------------------------------------------------


async def test_bot_connects_and_becomes_ready(discord_stub: DiscordStub) -> None:
    bot, _probe = make_bot()
    async with run_bot(bot, discord_stub):
        assert bot.user is not None and bot.user.id == discord_stub.bot_user.id
        assert bot.application_id == discord_stub.application_id
        guild = bot.get_guild(discord_stub.guild.id)
        assert guild is not None and guild.name == discord_stub.guild.name
        assert {c.name for c in guild.text_channels} == {"general", "news", "bot-commands"}
        assert guild.me is not None and guild.me.id == discord_stub.bot_user.id
        admin_role = guild.get_role(discord_stub.admin_role.id)
        assert admin_role is not None and admin_role.permissions.manage_guild

        conn = discord_stub.connections[0]
        assert conn.path == "/gateway" and conn.query["v"] == "10"
        assert conn.query.get("compress") == "zlib-stream" and conn.zlib_stream
        assert discord_stub.identify_count == 1
        assert discord_stub.intents is not None and discord_stub.intents & Intent.MESSAGE_CONTENT
        paths = [(r.method, r.path) for r in discord_stub.requests]
        assert ("GET", "/users/@me") in paths and ("GET", "/oauth2/applications/@me") in paths
        assert discord_stub.heartbeats, "discord.py heartbeats immediately after HELLO"
        assert not discord_stub.unknown_requests


async def test_message_reaches_on_message_and_reply_is_recorded(discord_stub: DiscordStub) -> None:
    bot, probe = make_bot()
    general = discord_stub.default_channel
    async with run_bot(bot, discord_stub):
        sent = await discord_stub.send_message("!ask when is the summit?", author=discord_stub.member)
        seen = await next_user_message(probe)
        assert seen.id == int(sent["id"]) and seen.content == "!ask when is the summit?"
        assert isinstance(seen.author, discord.Member) and seen.author.id == discord_stub.member.id

        reply = await discord_stub.wait_for_message(channel_id=general.id)
        assert reply.method == "POST" and reply.path == f"/channels/{general.id}/messages"
        assert reply.content == "You asked: when is the summit? @everyone"
        # The bot's allowed_mentions reached the wire untouched, so nobody is pinged.
        assert reply.allowed_mentions == {"parse": [], "replied_user": False}
        assert int(reply.json["message_reference"]["message_id"]) == int(sent["id"])
        assert reply.message is not None
        assert reply.message["mention_everyone"] is False and reply.message["mentions"] == []
        assert reply.message["author"]["id"] == str(discord_stub.bot_user.id)

        # Discord echoes the bot's own message back over the gateway.
        echoed = await next_item(probe.messages)
        assert echoed.author == bot.user and echoed.id == int(reply.message["id"])
        assert not probe.errors


async def test_direct_messages_both_ways(discord_stub: DiscordStub) -> None:
    bot, probe = make_bot()
    user = discord_stub.admin
    dm = discord_stub.dm_channel_for(user)
    async with run_bot(bot, discord_stub):
        await discord_stub.send_message("!ask in private", author=user, guild=False)
        seen = await next_user_message(probe)
        assert isinstance(seen.channel, discord.DMChannel) and seen.guild is None
        reply = await discord_stub.wait_for_message(channel_id=dm.id)
        assert reply.content == "You asked: in private @everyone"

        # The bot opening a DM itself: POST /users/@me/channels, then a message in that channel.
        await discord_stub.send_message("!dmme", author=user)
        created = await discord_stub.wait_for_request(kind="create_dm")
        assert created.json == {"recipient_id": user.id} and created.channel_id == dm.id
        private = await discord_stub.wait_for_message(channel_id=dm.id)
        assert private.content == "psst, a private answer"


async def test_slash_command_called_and_response_recorded(discord_stub: DiscordStub) -> None:
    bot, probe = make_bot()
    async with run_bot(bot, discord_stub):
        synced = await bot.tree.sync()
        assert sorted(c.name for c in synced) == ["query", "whois"] and all(c.id for c in synced)
        registered = {c["name"]: c for c in discord_stub.registered_commands()}
        assert registered["query"]["options"][1]["type"] == 4  # integer option

        ix = await discord_stub.slash_command("query", {"question": "who attended?", "top": 5}, user=discord_stub.admin)
        name, interaction, args = await next_item(probe.app_calls)
        assert name == "query" and args == {"question": "who attended?", "top": 5}
        assert interaction.user.id == discord_stub.admin.id
        assert interaction.permissions.manage_guild  # from the Admin role

        response = await discord_stub.wait_for_message(interaction=ix)
        assert response.kind == "interaction_callback"
        assert response.callback_type == CallbackType.CHANNEL_MESSAGE_WITH_SOURCE
        assert response.content == "5 passages for 'who attended?'"
        assert response.ephemeral and response.message is not None
        assert response.message["flags"] & MessageFlag.EPHEMERAL
        assert response.query["with_response"] in ("1", "true")

        # A member option: the stub fills data.resolved so discord.py hands over a Member.
        who = await discord_stub.slash_command("whois", {"member": discord_stub.admin.id})
        _name, _interaction, args = await next_item(probe.app_calls)
        assert isinstance(args["member"], discord.Member) and args["member"].id == discord_stub.admin.id
        answer = await discord_stub.wait_for_message(interaction=who)
        assert answer.content == "Bob has 2 roles" and not answer.ephemeral

        # Autocomplete goes through the same tree.
        ac = await discord_stub.autocomplete("query", {"question": "summit"}, focused="question")
        choices = await discord_stub.wait_for_autocomplete(ac)
        assert [c["value"] for c in choices] == ["summit dates", "summit location"]


async def test_deferred_guild_command_with_followup(discord_stub: DiscordStub) -> None:
    bot, probe = make_bot()
    async with run_bot(bot, discord_stub):
        await bot.tree.sync(guild=discord.Object(id=discord_stub.guild.id))
        assert [c["name"] for c in discord_stub.registered_commands(discord_stub.guild.id)] == ["slow"]

        ix = await discord_stub.slash_command("slow", user=discord_stub.member)
        assert ix.payload["data"]["guild_id"] == str(discord_stub.guild.id)
        callback = await discord_stub.wait_for_interaction_response(ix)
        assert callback.callback_type == CallbackType.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE

        followup = await discord_stub.wait_for_message(interaction=ix)
        assert followup.kind == "followup" and followup.content == "here is the slow answer"
        assert followup.path == f"/webhooks/{discord_stub.application_id}/{ix.token}"
        edit = await discord_stub.wait_for_message(interaction=ix)
        assert edit.kind == "edit_webhook_message" and edit.path.endswith("/messages/@original")
        original = discord_stub.original_message(ix)
        assert original is not None and original["content"] == "(answered below)"
        assert not original["flags"] & MessageFlag.LOADING
        _name, interaction, _ = await next_item(probe.app_calls)
        assert interaction.guild_id == discord_stub.guild.id


async def test_button_press_routes_to_view_callback(discord_stub: DiscordStub) -> None:
    bot, probe = make_bot()
    general = discord_stub.default_channel
    async with run_bot(bot, discord_stub):
        await discord_stub.send_message("!vote")
        prompt = await discord_stub.wait_for_message(channel_id=general.id)
        button = prompt.components[0]["components"][0]
        assert button["custom_id"] == "vote:yes" and button["label"] == "Yes"

        ix = await discord_stub.press_button(prompt, "vote:yes", user=discord_stub.owner)
        clicked = await next_item(probe.button_clicks)
        assert clicked.user.id == discord_stub.owner.id
        assert clicked.message is not None and clicked.message.id == int(prompt.message["id"])

        update = await discord_stub.wait_for_message(interaction=ix)
        assert update.callback_type == CallbackType.UPDATE_MESSAGE
        stored = discord_stub.messages[int(prompt.message["id"])]
        assert stored["content"] == "alice voted yes" and stored["components"] == []
        with pytest.raises(ValueError, match="no component"):
            await discord_stub.press_button(prompt, "vote:yes")


async def test_rate_limit_then_success(discord_stub: DiscordStub) -> None:
    bot, probe = make_bot()
    general = discord_stub.default_channel
    async with run_bot(bot, discord_stub):
        fault = discord_stub.fail_next("POST", f"/channels/{general.id}/messages", status=429, retry_after=0.25)
        await discord_stub.send_message("!ask rate limits?")
        reply = await discord_stub.wait_for_message(channel_id=general.id)
        assert reply.content == "You asked: rate limits? @everyone"
        assert len(fault.hits) == 1 and fault.hits[0].status == 429
        assert reply.received_at - fault.hits[0].received_at >= 0.25
        assert not probe.errors


async def test_server_error_is_retried(discord_stub: DiscordStub) -> None:
    bot, _probe = make_bot()
    async with run_bot(bot, discord_stub):
        fault = discord_stub.fail_next("POST", "/channels/*/typing", status=500)
        channel = bot.get_channel(discord_stub.default_channel.id)
        assert isinstance(channel, discord.TextChannel)
        await channel.typing()  # discord.py retries 5xx after 1 s
        assert [r.status for r in discord_stub.requests if r.kind == "typing"] == [500, 204]
        assert fault.remaining == 0


async def test_reconnect_resumes_and_events_keep_flowing(discord_stub: DiscordStub) -> None:
    bot, probe = make_bot()
    general = discord_stub.default_channel
    async with run_bot(bot, discord_stub):
        seq_before = discord_stub.session.seq if discord_stub.session else 0
        await discord_stub.request_reconnect(wait=False)
        # Injected while the client is reconnecting: buffered and replayed on RESUME.
        await discord_stub.send_message("!ask during the reconnect")
        await discord_stub.wait_for_resume()
        await asyncio.wait_for(probe.resumed.wait(), TIMEOUT)
        assert discord_stub.identify_count == 1 and discord_stub.resume_count == 1
        assert discord_stub.connections[-1].path == "/gateway-resume"
        assert discord_stub.connections[-1].resumed

        first = await discord_stub.wait_for_message(channel_id=general.id)
        assert first.content == "You asked: during the reconnect @everyone"
        await discord_stub.send_message("!ask after the reconnect")
        second = await discord_stub.wait_for_message(channel_id=general.id)
        assert second.content == "You asked: after the reconnect @everyone"
        assert discord_stub.session is not None and discord_stub.session.seq > seq_before + 2


async def test_invalid_session_forces_new_identify(discord_stub: DiscordStub) -> None:
    bot, _probe = make_bot()
    async with run_bot(bot, discord_stub):
        first_session = discord_stub.session
        await discord_stub.invalidate_session(resumable=False)
        assert discord_stub.identify_count == 2 and discord_stub.session is not first_session
        assert discord_stub.connections[-1].path == "/gateway"  # back to DEFAULT_GATEWAY
        await discord_stub.send_message("!ask still there?")
        reply = await discord_stub.wait_for_message()
        assert reply.content == "You asked: still there? @everyone"


async def test_concurrent_events_all_delivered_in_sequence(discord_stub: DiscordStub) -> None:
    bot, probe = make_bot()
    async with run_bot(bot, discord_stub):
        contents = [f"message {i}" for i in range(25)]
        await asyncio.gather(*(discord_stub.send_message(c) for c in contents))
        seen = [(await next_user_message(probe)).content for _ in contents]
        assert sorted(seen) == sorted(contents)
        seqs = [d.seq for d in discord_stub.dispatched if d.session_id == discord_stub.session.session_id]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


async def test_message_content_intent_is_enforced(discord_stub: DiscordStub) -> None:
    discord_stub.privileged_intents = 0  # the application has no privileged intents enabled
    bot, probe = make_bot(message_content=False)
    async with run_bot(bot, discord_stub):
        await discord_stub.send_message("hello there")
        blank = await next_user_message(probe)
        assert blank.content == ""
        await discord_stub.send_message(f"{discord_stub.bot_user.mention} hello")
        mentioned = await next_user_message(probe)
        assert mentioned.content.endswith("hello") and bot.user in mentioned.mentions


async def test_payload_validation_threads_and_unknown_routes(discord_stub: DiscordStub) -> None:
    bot, _probe = make_bot()
    async with run_bot(bot, discord_stub):
        channel = bot.get_channel(discord_stub.default_channel.id)
        assert isinstance(channel, discord.TextChannel)
        with pytest.raises(discord.HTTPException) as too_long:
            await channel.send("x" * 2001)
        assert too_long.value.status == 400 and too_long.value.code == 50035

        message = await channel.send("a passage worth discussing")
        thread = await message.create_thread(name="Discussion")
        assert thread.id == message.id and thread.parent_id == channel.id
        await thread.send("inside the thread")
        in_thread = await discord_stub.wait_for_message(channel_id=thread.id)
        assert in_thread.content == "inside the thread"
        assert discord_stub.channel(thread.id).message_count == 1

        with pytest.raises(discord.NotFound):
            await bot.http.request(discord.http.Route("GET", "/not/a/route"))
        assert [r.path for r in discord_stub.unknown_requests] == ["/not/a/route"]


async def test_heartbeats_are_recorded_on_time() -> None:
    async with DiscordStub(heartbeat_interval_ms=150) as stub:
        with point_discord_at(stub):
            bot, _probe = make_bot()
            async with run_bot(bot, stub):
                beats = await stub.wait_for_heartbeats(4, timeout=TIMEOUT)
                assert all(b.connection_id == stub.connections[0].id for b in beats)
                # discord.py beats right after HELLO, then every interval (generous slack for busy CI).
                assert 0 < stub.max_heartbeat_gap() < stub.heartbeat_interval + 1.0
                assert [p.op for p in stub.gateway_received].count(1) == len(stub.heartbeats)


async def test_uploads_are_recorded_and_attachments_served(discord_stub: DiscordStub) -> None:
    bot, probe = make_bot()
    async with run_bot(bot, discord_stub):
        channel = bot.get_channel(discord_stub.default_channel.id)
        assert isinstance(channel, discord.TextChannel)
        sent = await channel.send("the source", file=discord.File(io.BytesIO(b"passage text"), filename="src.txt"))
        rec = await discord_stub.wait_for_message(channel_id=channel.id)
        assert rec.content == "the source" and rec.json["attachments"][0]["filename"] == "src.txt"
        assert [(f.field_name, f.filename, f.data) for f in rec.files] == [("files[0]", "src.txt", b"passage text")]
        assert await sent.attachments[0].read() == b"passage text"

        # A user upload reaches the bot with a downloadable attachment.
        await discord_stub.send_message("my notes", attachments=[{"filename": "notes.md", "data": b"# notes"}])
        incoming = await next_user_message(probe)
        assert await incoming.attachments[0].read() == b"# notes"


async def test_enforced_rate_limits_are_respected_by_discord_py() -> None:
    limits = {"POST /channels/{channel_id}/messages": (2, 0.3)}
    async with DiscordStub(rate_limits=limits) as stub:
        with point_discord_at(stub):
            bot, _probe = make_bot()
            async with run_bot(bot, stub):
                channel = bot.get_channel(stub.default_channel.id)
                assert isinstance(channel, discord.TextChannel)
                start = time.monotonic()
                await asyncio.gather(*(channel.send(f"burst {i}") for i in range(5)))
                elapsed = time.monotonic() - start
                statuses = [r.status for r in stub.requests if r.path.endswith("/messages")]
                assert len(statuses) >= 5 and statuses.count(200) == 5
                assert elapsed >= 0.55  # 5 sends at 2 per 0.3 s need at least two waits
