"""Summaries and sources: ``/summary`` (with document autocomplete) and ``/sources``."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app import render
from bot.discord_app.replies import NO_MENTIONS, send_private
from bot.summaries import SummaryError

if TYPE_CHECKING:
    from bot.discord_app.app import SummitBot

log = logging.getLogger("summitbot.discord.summaries")

#: How long /summary lets the summariser run before acknowledging with a public "thinking…"
#: (Discord wants an acknowledgement within 3 s). A request the summariser refuses (unknown
#: document, bad length) fails at once, so its error is a private first response, never a
#: followup to a public defer (which Discord would show to everyone).
SUMMARY_HEAD_START = 1.0


class Summaries(commands.Cog):
    """Cited extractive summaries, and the list of documents the bot knows."""

    def __init__(self, bot: SummitBot) -> None:
        self.bot = bot

    @app_commands.command(name="summary", description="A cited summary of a document, a topic, or all my sources")
    @app_commands.describe(
        document="Summarise this document (start typing its title)",
        topic="Summarise what my sources say about this",
        length="How long (default: medium)",
    )
    async def summary(
        self,
        interaction: discord.Interaction[Any],
        document: str | None = None,
        topic: str | None = None,
        length: Literal["short", "medium", "long"] = "medium",
    ) -> None:
        """Summarise one document, a topic, or the whole corpus, quoting sentences with citations."""
        verdict = self.bot.servers.cooldown_for(interaction.guild_id).hit(interaction.user.id)
        if not verdict.allowed:
            await send_private(interaction, render.wait_notice(verdict.retry_after))
            return
        topic = topic.strip() if topic else None
        if topic and len(topic) > self.bot.settings.answers.max_question_chars:
            await send_private(interaction, "That topic is too long; please shorten it.")
            return
        engine = self.bot.engine
        doc = engine.document(document) if document else None
        if document and doc is None:
            await send_private(
                interaction, "I don't know that document. Pick one from the list as you type, or see `/sources`."
            )
            return
        work = asyncio.ensure_future(asyncio.to_thread(engine.summarize, document=document, topic=topic, length=length))
        done, _ = await asyncio.wait({work}, timeout=SUMMARY_HEAD_START)
        if not done:
            await interaction.response.defer(thinking=True)
        try:
            result = await work
        except SummaryError as exc:
            if interaction.response.is_done():
                # Only a refusal after the public "thinking…" gets here; Discord shows the first followup
                # of a public defer publicly whatever its flags say, so do not pretend it is private.
                await interaction.followup.send(render.notice(str(exc)), allowed_mentions=NO_MENTIONS)
            else:
                await send_private(interaction, render.notice(str(exc)))
            return
        if doc is not None and topic:
            heading = f"Summary of “{topic}” in {doc.title}"
        elif doc is not None:
            heading = f"Summary: {doc.title}"
        elif topic:
            heading = f"Summary: what my sources say about “{topic}”"
        else:
            heading = "Summary of all my sources"
        embed = render.render_summary(result, heading)
        if interaction.response.is_done():
            await interaction.followup.send(embed=embed, allowed_mentions=NO_MENTIONS)
        else:
            await interaction.response.send_message(embed=embed, allowed_mentions=NO_MENTIONS)

    @summary.autocomplete("document")
    async def summary_document(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        """Up to 25 documents whose id or title matches what has been typed."""
        choices = render.document_choices(self.bot.engine.documents, current)
        return [app_commands.Choice(name=name, value=value) for name, value in choices]

    @app_commands.command(name="sources", description="The documents I answer from")
    @app_commands.describe(page="Page of the list (15 documents per page)")
    async def sources(
        self, interaction: discord.Interaction[Any], page: app_commands.Range[int, 1, 10_000] = 1
    ) -> None:
        """List the documents: title, source, date when known, paragraph count."""
        listing = render.render_sources(self.bot.engine.documents, page)
        await interaction.response.send_message(embed=listing.embed, ephemeral=True, allowed_mentions=NO_MENTIONS)


async def setup(bot: SummitBot) -> None:
    """Extension entry point."""
    await bot.add_cog(Summaries(bot))
