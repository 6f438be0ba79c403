"""Admin commands: ``/reload`` (re-read the corpus) and ``/stats`` (usage figures).

Hidden from non-admins by ``default_member_permissions`` (Manage Server) and checked again in
code: Manage Server, or a role/user id listed in ``discord.admin_roles`` / ``discord.admin_users``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app import limits, render
from bot.discord_app.guards import is_admin
from bot.discord_app.replies import NO_MENTIONS, send_private

if TYPE_CHECKING:
    from bot.discord_app.app import SummitBot

log = logging.getLogger("summitbot.discord.admin")

REFUSAL = "Sorry, only admins of this bot can use that command."


class Admin(commands.Cog):
    """Corpus reload and analytics, for admins."""

    def __init__(self, bot: SummitBot) -> None:
        self.bot = bot

    def _allowed(self, interaction: discord.Interaction[Any]) -> bool:
        permissions = interaction.permissions if interaction.guild_id is not None else None
        return is_admin(interaction.user, self.bot.settings.discord, permissions)

    @app_commands.command(name="reload", description="Re-read the corpus folder (admins)")
    @app_commands.default_permissions(manage_guild=True)
    async def reload(self, interaction: discord.Interaction[Any]) -> None:
        """Rebuild the index off the event loop and swap it in; on errors keep the old corpus."""
        if not self._allowed(interaction):
            log.info("refused /reload for a user without admin rights (guild %s)", interaction.guild_id)
            await send_private(interaction, REFUSAL)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        outcome = await self.bot.reload_corpus()
        if outcome.ok and outcome.change is not None:
            embed = render.render_reload(outcome.change, outcome.seconds, outcome.documents, outcome.warnings)
        else:
            embed = render.render_reload_failed(outcome.problems, self.bot.settings.corpus.path, outcome.documents)
        await interaction.followup.send(embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="stats", description="Questions, answers and feedback (admins)")
    @app_commands.describe(days="How many days to cover (default 7)")
    @app_commands.default_permissions(manage_guild=True)
    async def stats(self, interaction: discord.Interaction[Any], days: app_commands.Range[int, 1, 365] = 7) -> None:
        """The analytics report, privately."""
        if not self._allowed(interaction):
            log.info("refused /stats for a user without admin rights (guild %s)", interaction.guild_id)
            await send_private(interaction, REFUSAL)
            return
        analytics = self.bot.analytics
        if analytics is None:
            await send_private(interaction, "Analytics is off on this bot (analytics.enabled in the config).")
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        from bot.storage import format_stats

        report = await analytics.stats(days)
        if report is None:
            text = "The analytics database is not available right now; see the bot's log."
        else:
            text = format_stats(report, limit=limits.STATS_REPORT)
        await interaction.followup.send(render.notice(text), ephemeral=True, allowed_mentions=NO_MENTIONS)


async def setup(bot: SummitBot) -> None:
    """Extension entry point."""
    await bot.add_cog(Admin(bot))
