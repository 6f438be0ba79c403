"""Questions: mentions, DMs, answer and forum channels; ``/ask``; "Ask summitbot"; ``/help``;
More passages and votes.

Thin on purpose: read the event, check the cooldown and length, answer in a worker thread,
send what :mod:`bot.discord_app.render` built, with mentions disabled on every send.

Answer channels are quiet: without a mention, only a message that is a question
(:func:`bot.discord_app.chatter.is_question`) is searched, and only a confident answer is posted;
otherwise the bot says nothing publicly (at most the server's reaction, or "not in my sources" when
the server turned that on). In a forum channel the first message of each new post is answered once,
from the post's title and body, under the same rule. Each server's channels, cooldown and thread
mode come from its settings (:mod:`bot.discord_app.servers`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import logging
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.answering import Answer
from bot.discord_app import limits, render
from bot.discord_app.chatter import is_question
from bot.discord_app.components import answer_view
from bot.discord_app.replies import NO_MENTIONS, send_private
from bot.storage import DMS, QuestionRecord

if TYPE_CHECKING:
    from bot.discord_app.app import SummitBot

log = logging.getLogger("summitbot.discord.questions")

#: Passages per "More passages" page, and how deep the pages go.
MORE_PAGE = 3
MORE_MAX_RANK = 15
VOTE_WAIT_SECONDS = 1.5  # leaves time to answer within Discord's 3 s
#: Put on a question refused by the cooldown after the window's written notice has gone out.
COOLDOWN_REACTION = "\N{HOURGLASS WITH FLOWING SAND}"
#: The message context-menu command.
ASK_MENU = "Ask summitbot"
#: Forum posts remembered as answered (a post is answered once even if Discord sends it again).
ANSWERED_POSTS = 4096


@dataclass
class Reply:
    """What to send: content and/or embeds, and the buttons."""

    content: str | None = None
    embeds: list[discord.Embed] = dataclasses.field(default_factory=list)
    view: discord.ui.View | None = None
    #: True only for a confident answer (what quiet answer channels post).
    answered: bool = False
    #: True for "not in my sources" (posted in answer channels only when the server wants it).
    not_found: bool = False

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments for send/reply/followup (only what is set; mentions always off)."""
        out: dict[str, Any] = {"allowed_mentions": NO_MENTIONS}
        if self.content is not None:
            out["content"] = self.content
        if self.embeds:
            out["embeds"] = self.embeds
        if self.view is not None:
            out["view"] = self.view
        return out


# Discord markup that is not part of what is asked: user/role/channel mentions, @everyone/@here,
# custom emoji and slash-command mentions. Left in, "@everyone" would count as a word the corpus lacks.
_DISCORD_MARKUP = re.compile(r"<(?:@[!&]?|#)\d+>|<a?:\w+:\d+>|</[\w -]+:\d+>|@(?:everyone|here)\b")


def searchable_question(text: str) -> str:
    """The question without Discord mentions and emoji markup, control characters and bidi
    overrides (see :func:`~bot.discord_app.limits.without_hidden`), whitespace collapsed."""
    return " ".join(_DISCORD_MARKUP.sub(" ", limits.without_hidden(text)).split())


def _scoped(key: str, guild_id: int | None) -> str:
    """A remembered question's key within its server (a "More passages" click in another server
    never reads it)."""
    return f"{guild_id or 'dm'}:{key}"


def _mention_pattern(bot_id: int, role_id: int | None) -> re.Pattern[str]:
    role = f"|<@&{role_id}>" if role_id else ""
    return re.compile(rf"<@!?{bot_id}>{role}")


class Questions(commands.Cog):
    """Answers questions wherever the bot is asked."""

    def __init__(self, bot: SummitBot) -> None:
        self.bot = bot
        self._answered_posts: collections.OrderedDict[int, None] = collections.OrderedDict()
        self.ask_menu = app_commands.ContextMenu(name=ASK_MENU, callback=self.ask_about_message)

    async def cog_load(self) -> None:
        """Register the "Ask summitbot" message menu (context menus cannot live in a cog's body)."""
        self.bot.tree.add_command(self.ask_menu)

    async def cog_unload(self) -> None:
        """Remove the message menu."""
        self.bot.tree.remove_command(self.ask_menu.name, type=self.ask_menu.type)

    # -- the shared path ---------------------------------------------------------------------------

    def _too_long(self, question: str) -> str | None:
        limit = self.bot.settings.answers.max_question_chars
        return render.too_long_notice(len(question), limit) if len(question) > limit else None

    async def answer(self, question: str, *, user_id: int, guild_id: int | None, channel_id: int | None) -> Reply:
        """Answer a question (search in a worker thread), record it, and build the reply."""
        question = searchable_question(question)
        engine = self.bot.engine  # one reference for the whole request: a reload does not affect it
        started = time.perf_counter()
        result: Answer = await asyncio.to_thread(engine.answer, question)
        latency_ms = (time.perf_counter() - started) * 1000
        best = result.best
        record = await self.bot.record_question(
            QuestionRecord(
                user_id=user_id,
                question=question,
                answered=result.answered,
                verdict=result.verdict,
                guild_id=guild_id,
                channel_id=channel_id,
                doc_id=best.passage.document.id if best and result.answered else None,
                paragraph=best.passage.paragraph if best and result.answered else None,
                score=best.score if best else None,
                latency_ms=latency_ms,
            )
        )
        if result.reason == "empty":  # nothing searchable: emoji, punctuation, stop words
            return Reply(content=render.QUESTION_HINT)
        if result.verdict == "none" or best is None:
            return Reply(content=render.render_not_found(engine.documents), not_found=True)
        # An answer shows its passages; a closest reply (verdict "closest") only the closest one,
        # labelled, never posted in a quiet answer channel (neither answered nor not_found). Either
        # way "More passages" goes on from what was shown, and 👍/👎 say whether it helped.
        if result.answered:
            renderer, shown = render.render_answer, len(result.passages)
        else:
            renderer, shown = render.render_closest, 1
        key = render.question_key(question)
        self.bot.remember_question(_scoped(key, guild_id), question)
        view = answer_view(more_key=key, more_offset=shown, url=best.passage.document.url, record=record)
        # Highlighting and trimming a long passage is CPU work: off the event loop, like the search.
        embeds = await asyncio.to_thread(renderer, result)
        return Reply(embeds=embeds, view=view, answered=result.answered)

    # -- messages ----------------------------------------------------------------------------------

    def question_in(self, message: discord.Message) -> str | None:
        """The question a message asks the bot, or None when the bot should stay quiet."""
        me = self.bot.user
        if me is None or message.author.bot or message.webhook_id is not None or message.author.id == me.id:
            return None
        if message.type not in (discord.MessageType.default, discord.MessageType.reply):
            return None
        content = message.content or ""
        if message.guild is None:
            return _mention_pattern(me.id, None).sub(" ", content).strip()
        role = message.guild.self_role
        role_id = role.id if role else None
        if any(u.id == me.id for u in message.mentions) or (role_id and role_id in message.raw_role_mentions):
            text = _mention_pattern(me.id, role_id).sub(" ", content)
            return text.strip().lstrip(",:;").strip()
        return None

    def quiet_question_in(self, message: discord.Message) -> tuple[str, bool] | None:
        """For a message that does not address the bot: (what it asks, whether it opens a forum post)
        when it is in one of the server's answer channels or is a new post in a forum channel."""
        me = self.bot.user
        if me is None or message.guild is None or not self.bot.intents.message_content:
            return None
        if message.author.bot or message.webhook_id is not None or message.author.id == me.id:
            return None
        if message.type not in (discord.MessageType.default, discord.MessageType.reply):
            return None
        settings = self.bot.servers.settings_for(message.guild.id)
        channel = message.channel
        parent_id = getattr(channel, "parent_id", None)
        if isinstance(channel, discord.Thread) and parent_id in settings.forum_channels:
            if message.id != channel.id:  # only a post's first message (it has the thread's id)
                return None
            return f"{channel.name}\n{message.content or ''}", True
        in_channel = channel.id in settings.answer_channels
        if in_channel or (isinstance(channel, discord.Thread) and parent_id in settings.answer_channels):
            return (message.content or "").strip(), False
        return None

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Answer a mention, a DM, a question in an answer channel, or a new forum post."""
        question = self.question_in(message)
        try:
            if question is not None:
                await self._answer_message(message, question)
                return
            quiet = self.quiet_question_in(message)
            if quiet is not None:
                await self._answer_quietly(message, *quiet)
        except Exception:
            log.exception("error answering message %s", message.id)
            with contextlib.suppress(discord.HTTPException):
                await message.reply(
                    "Sorry, something went wrong while answering. The error has been logged.",
                    mention_author=False,
                    allowed_mentions=NO_MENTIONS,
                )

    async def _answer_message(self, message: discord.Message, question: str) -> None:
        # Notices here are public replies (a reply cannot be ephemeral): keep them short and neutral.
        guild_id = message.guild.id if message.guild else None
        verdict = self.bot.servers.cooldown_for(guild_id).hit(message.author.id)
        if not verdict.allowed:
            if verdict.first_refusal:  # one written notice per cooldown window, never one per message
                await self._reply(message, Reply(content=render.wait_notice(verdict.retry_after)))
            else:  # later questions in the window get a quiet reaction, so none goes unacknowledged
                await self._react(message, COOLDOWN_REACTION)
            return
        question = searchable_question(question)
        if not question:  # only mentions and emoji markup (or nothing) after the bot's mention
            await self._reply(message, Reply(content=render.QUESTION_HINT))
            return
        problem = self._too_long(question)
        if problem:
            await self._reply(message, Reply(content=problem))
            return
        reply = await self.answer(
            question,
            user_id=message.author.id,
            guild_id=message.guild.id if message.guild else None,
            channel_id=message.channel.id,
        )
        await self._deliver(message, question, reply)

    async def _answer_quietly(self, message: discord.Message, text: str, forum_post: bool) -> None:
        """An answer channel or forum post: answer only a question, post only a confident answer."""
        assert message.guild is not None
        settings = self.bot.servers.settings_for(message.guild.id)
        question = searchable_question(text)
        if not question or len(question) > self.bot.settings.answers.max_question_chars:
            return
        if forum_post:
            if message.id in self._answered_posts:
                return
            self._answered_posts[message.id] = None
            while len(self._answered_posts) > ANSWERED_POSTS:
                self._answered_posts.popitem(last=False)
        elif not is_question(question):  # thanks, greetings, chatter: not for the bot
            return
        verdict = self.bot.servers.cooldown_for(message.guild.id).hit(message.author.id)
        if not verdict.allowed:
            await self._react(message, COOLDOWN_REACTION)  # quiet: never a public notice here
            return
        reply = await self.answer(
            question, user_id=message.author.id, guild_id=message.guild.id, channel_id=message.channel.id
        )
        if reply.answered or (settings.post_not_found and reply.not_found):
            await self._deliver(message, question, reply)
        elif settings.quiet_reaction:
            await self._react(message, settings.quiet_reaction)

    @staticmethod
    async def _react(message: discord.Message, emoji: str) -> None:
        """Add a reaction; a channel that forbids reactions only costs the acknowledgement."""
        try:
            await message.add_reaction(emoji)
        except discord.HTTPException as exc:
            log.debug("could not react to message %s: %s", message.id, exc)

    async def _reply(self, message: discord.Message, reply: Reply) -> discord.Message:
        return await message.reply(mention_author=False, **reply.kwargs())

    async def _deliver(self, message: discord.Message, question: str, reply: Reply) -> None:
        """Reply, or answer in a new thread on the question when ``answer_in_thread`` is set."""
        channel = message.channel
        in_thread = self.bot.servers.settings_for(message.guild.id if message.guild else None).answer_in_thread
        if in_thread and isinstance(channel, discord.TextChannel):
            name = limits.trim(limits.one_line(question), limits.THREAD_NAME) or "Answer"
            try:
                thread = await message.create_thread(name=name, auto_archive_duration=1440)
            except discord.HTTPException as exc:
                log.warning("could not open a thread for message %s (%s); replying instead", message.id, exc)
            else:
                await thread.send(**reply.kwargs())
                return
        await self._reply(message, reply)

    # -- /ask and /help ----------------------------------------------------------------------------

    @app_commands.command(name="ask", description="Ask a question about my news sources")
    @app_commands.describe(question="What you want to know", private="Only you see the answer")
    async def ask(self, interaction: discord.Interaction[Any], question: str, private: bool = False) -> None:
        """Answer a question, publicly or privately."""
        verdict = self.bot.servers.cooldown_for(interaction.guild_id).hit(interaction.user.id)
        if not verdict.allowed:
            await send_private(interaction, render.wait_notice(verdict.retry_after))
            return
        question = searchable_question(question)
        if not question:
            await send_private(interaction, render.QUESTION_HINT)
            return
        problem = self._too_long(question)
        if problem:
            await send_private(interaction, problem)
            return
        await interaction.response.defer(ephemeral=private, thinking=True)
        reply = await self.answer(
            question,
            user_id=interaction.user.id,
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id,
        )
        await interaction.followup.send(ephemeral=private, **reply.kwargs())

    async def ask_about_message(self, interaction: discord.Interaction[Any], message: discord.Message) -> None:
        """ "Ask summitbot" on any message: answer that message's text, privately to the one who asked."""
        verdict = self.bot.servers.cooldown_for(interaction.guild_id).hit(interaction.user.id)
        if not verdict.allowed:
            await send_private(interaction, render.wait_notice(verdict.retry_after))
            return
        question = searchable_question(message.content or "")
        if not question:
            await send_private(interaction, "That message has no text I can look up.")
            return
        problem = self._too_long(question)
        if problem:
            await send_private(interaction, problem)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        reply = await self.answer(
            question, user_id=interaction.user.id, guild_id=interaction.guild_id, channel_id=interaction.channel_id
        )
        await interaction.followup.send(ephemeral=True, **reply.kwargs())

    @app_commands.command(name="help", description="What I can do here")
    async def help(self, interaction: discord.Interaction[Any]) -> None:
        """Explain the commands (and the answer channels, when configured)."""
        channels = tuple(sorted(self.bot.servers.settings_for(interaction.guild_id).answer_channels))
        embed = render.render_help(channels, in_dm=interaction.guild_id is None)
        await interaction.response.send_message(embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS)

    # -- buttons -----------------------------------------------------------------------------------

    def _question_for(self, interaction: discord.Interaction[Any], key: str) -> str | None:
        """The question behind a "More passages" button: remembered in the clicked message's server,
        or read back from the clicked answer's footer (after a restart, or in another process)."""
        scoped = _scoped(key, interaction.guild_id)
        question = self.bot.recent_questions.get(scoped)
        if question is not None:
            return question
        message = interaction.message
        for embed in reversed(message.embeds if message else []):
            candidate = render.question_from_footer(embed.footer.text)
            if candidate is not None and render.question_key(candidate) == key:
                self.bot.remember_question(scoped, candidate)
                return candidate
        return None

    async def show_more(self, interaction: discord.Interaction[Any], key: str, offset: int) -> None:
        """The next passages for an answer's question, shown privately to the clicker."""
        question = self._question_for(interaction, key)
        if question is None:
            await send_private(interaction, "I can't find that question any more; please ask it again.")
            return
        if offset >= MORE_MAX_RANK:
            await send_private(interaction, "That's as far as I go for one question; try asking it differently.")
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        passages = await asyncio.to_thread(self.bot.engine.more, question, offset, MORE_PAGE + 1)
        page = passages[:MORE_PAGE]
        next_offset = offset + len(page)
        has_more = len(passages) > MORE_PAGE and next_offset < MORE_MAX_RANK
        embeds = await asyncio.to_thread(render.render_more, question, page, offset + 1)
        reply = Reply(
            embeds=embeds,
            view=answer_view(more_key=key, more_offset=next_offset) if has_more else None,
        )
        await interaction.followup.send(ephemeral=True, **reply.kwargs())

    async def vote(self, interaction: discord.Interaction[Any], record: int, value: int) -> None:
        """Store a 👍/👎 for one answer (one per person, changeable) and show the tally privately."""
        analytics = self.bot.analytics
        if analytics is None:
            await send_private(interaction, "Thanks! Feedback is not being recorded on this bot right now.")
            return
        try:
            result = await asyncio.wait_for(
                analytics.record_vote(record, interaction.user.id, value, scope=interaction.guild_id or DMS),
                timeout=VOTE_WAIT_SECONDS,
            )
        except asyncio.TimeoutError:
            result = None
        if result is None or not result.stored:
            await send_private(interaction, "Sorry, I couldn't record that vote right now. Please try again later.")
            return
        mark = "👍" if value > 0 else "👎"
        await send_private(
            interaction, f"Thanks, your {mark} is recorded. This reply so far: 👍 {result.up} · 👎 {result.down}"
        )


async def setup(bot: SummitBot) -> None:
    """Extension entry point."""
    await bot.add_cog(Questions(bot))
