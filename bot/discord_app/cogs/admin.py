"""Admin commands: ``/reload`` (re-read the corpus, operators) and ``/stats`` (a server's figures).

``default_member_permissions`` (Manage Server) only hides them in Discord's menus; the checks are
here (see :mod:`bot.discord_app.guards`). ``/reload`` changes what every server shares, so only
operators may use it; a successful reload is recorded in the database so the bot's other processes
reload too. ``/stats`` shows only the server it is used in, to that server's admins (and operators);
direct messages appear only in the operators' ``summitbot stats --dms``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app import limits, render
from bot.discord_app.guards import may_manage_server
from bot.discord_app.replies import NO_MENTIONS, send_private

if TYPE_CHECKING:
    from bot.discord_app.app import SummitBot

log = logging.getLogger("summitbot.discord.admin")

REFUSAL = "Sorry, only admins of this bot can use that command."
RELOAD_REFUSAL = "Sorry, only the bot's operators can reload the corpus: every server shares it."
STATS_IN_DM = "Use /stats in a server: it shows that server's figures. Operators see DMs with summitbot stats --dms."


class Admin(commands.Cog):
    """Corpus reload and analytics, for admins."""

    def __init__(self, bot: SummitBot) -> None:
        self.bot = bot

    def _operator(self, interaction: discord.Interaction[Any]) -> bool:
        return self.bot.servers.is_operator(interaction.user)

    def _server_admin(self, interaction: discord.Interaction[Any]) -> bool:
        admin_roles = self.bot.servers.settings_for(interaction.guild_id).admin_roles
        return may_manage_server(
            interaction.user,
            self.bot.settings.discord,
            self.bot.servers.owner_ids,
            admin_roles,
            interaction.permissions,
        )

    @app_commands.command(name="reload", description="Re-read the corpus folder (the bot's operators)")
    @app_commands.default_permissions(manage_guild=True)
    async def reload(self, interaction: discord.Interaction[Any]) -> None:
        """Rebuild the index off the event loop and swap it in; on errors keep the old corpus.
        A successful reload reaches the bot's other processes through the database."""
        if not self._operator(interaction):
            log.info("refused /reload for a user who is not an operator")
            await send_private(interaction, RELOAD_REFUSAL)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        outcome = await self.bot.reload_corpus()
        if outcome.ok:
            await self.bot.servers.corpus_reloaded()
        if outcome.ok and outcome.change is not None:
            embed = render.render_reload(outcome.change, outcome.seconds, outcome.documents, outcome.warnings)
        else:
            embed = render.render_reload_failed(outcome.problems, self.bot.settings.corpus.path, outcome.documents)
        await interaction.followup.send(embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="stats", description="This server's questions, answers and feedback (server admins)")
    @app_commands.describe(days="How many days to cover (default 7)")
    @app_commands.default_permissions(manage_guild=True)
    async def stats(self, interaction: discord.Interaction[Any], days: app_commands.Range[int, 1, 365] = 7) -> None:
        """This server's analytics report, privately."""
        if interaction.guild_id is None:
            await send_private(interaction, STATS_IN_DM)
            return
        if not self._server_admin(interaction):
            log.info("refused /stats for a user who is not an admin of guild %s", interaction.guild_id)
            await send_private(interaction, REFUSAL)
            return
        analytics = self.bot.analytics
        if analytics is None:
            await send_private(interaction, "Analytics is off on this bot (analytics.enabled in the config).")
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        from bot.storage import format_stats

        report = await analytics.stats(days, scope=interaction.guild_id)
        if report is None:
            text = "The analytics database is not available right now; see the bot's log."
        else:
            text = format_stats(report, limit=limits.STATS_REPORT)
        await interaction.followup.send(render.notice(text), ephemeral=True, allowed_mentions=NO_MENTIONS)


async def setup(bot: SummitBot) -> None:
    """Extension entry point."""
    await bot.add_cog(Admin(bot))
