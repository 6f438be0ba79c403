"""``/settings``: a server's own settings, changed at run time by that server's admins.

Server admins (Manage Server, Administrator, or a role in the server's admin roles) and operators
may use it, in a server only; ``default_member_permissions`` (Manage Server) only hides it in
Discord's menus, the check is here. Every change is stored in the database at once (it survives a
restart and reaches the other processes) and applies to the next message. Replies are private.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.config import is_reaction
from bot.discord_app.guards import may_manage_server
from bot.discord_app.replies import NO_MENTIONS, send_private
from bot.server_settings import NAMES, ServerSettings

if TYPE_CHECKING:
    from bot.discord_app.app import SummitBot

log = logging.getLogger("summitbot.discord.settings")

REFUSAL = "Sorry, only this server's admins can change its settings."
NOT_IN_DM = "Settings belong to a server: use /settings in the server."
NOT_SAVED = "Sorry, I couldn't save that right now (the database is not available); nothing changed."

_LABELS = {
    "answer_channels": "Answer channels (no mention needed)",
    "forum_channels": "Forum channels (first message of each post)",
    "answer_in_thread": "Answer in a thread",
    "cooldown_questions": "Cooldown: questions",
    "cooldown_seconds": "Cooldown: per seconds",
    "post_not_found": 'Post "not in my sources" in answer channels',
    "quiet_reaction": "Reaction on unanswered questions there",
    "admin_roles": "Admin roles (besides Manage Server)",
}


def _value(name: str, value: Any) -> str:
    """A setting's value as Discord text: channels and roles as mentions (which never ping here)."""
    if isinstance(value, frozenset):
        if not value:
            return "none"
        mark = "#" if name.endswith("channels") else "@&"
        return ", ".join(f"<{mark}{item}>" for item in sorted(value))
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    if name == "quiet_reaction":
        return value or "none"
    return str(value)


def render_settings(settings: ServerSettings, overrides: dict[str, Any]) -> discord.Embed:
    """``/settings show``: every setting, and whether this server set it or it is the bot's default."""
    lines = []
    for name in NAMES:
        source = "" if name in overrides else " *(default)*"
        lines.append(f"**{_LABELS[name]}**: {_value(name, getattr(settings, name))}{source}")
    embed = discord.Embed(title="Settings for this server", description="\n".join(lines))
    embed.set_footer(text="Change with /settings …; /settings reset returns to the defaults.")
    return embed


class Settings(commands.GroupCog, group_name="settings", group_description="This server's settings (server admins)"):
    """The ``/settings`` group."""

    def __init__(self, bot: SummitBot) -> None:
        self.bot = bot
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:  # type: ignore[override]
        """Server admins and operators, in a server only (checked in code on every subcommand)."""
        if interaction.guild_id is None:
            await send_private(interaction, NOT_IN_DM)
            return False
        admin_roles = self.bot.servers.settings_for(interaction.guild_id).admin_roles
        if not may_manage_server(
            interaction.user,
            self.bot.settings.discord,
            self.bot.servers.owner_ids,
            admin_roles,
            interaction.permissions,
        ):
            log.info("refused /settings for a user in guild %s", interaction.guild_id)
            await send_private(interaction, REFUSAL)
            return False
        return True

    async def _change(self, interaction: discord.Interaction[Any], changes: dict[str, Any], done: str) -> None:
        """Store ``changes`` (None: back to the default) and show the result privately."""
        assert interaction.guild_id is not None
        await interaction.response.defer(ephemeral=True, thinking=True)
        settings = await self.bot.servers.change(interaction.guild_id, changes)
        if settings is None:
            await interaction.followup.send(NOT_SAVED, ephemeral=True, allowed_mentions=NO_MENTIONS)
            return
        overrides = self.bot.servers.overrides_for(interaction.guild_id)
        await interaction.followup.send(
            done, embed=render_settings(settings, overrides), ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    @app_commands.command(name="show", description="Show this server's settings")
    @app_commands.default_permissions(manage_guild=True)
    async def show(self, interaction: discord.Interaction[Any]) -> None:
        """Every setting, with what is a default."""
        assert interaction.guild_id is not None
        settings = self.bot.servers.settings_for(interaction.guild_id)
        embed = render_settings(settings, self.bot.servers.overrides_for(interaction.guild_id))
        await interaction.response.send_message(embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="channel", description="Answer every question in a channel, without a mention")
    @app_commands.describe(channel="A text or forum channel", answer="Answer there without a mention (off: stop)")
    @app_commands.default_permissions(manage_guild=True)
    async def channel(
        self,
        interaction: discord.Interaction[Any],
        channel: discord.TextChannel | discord.ForumChannel,
        answer: bool = True,
    ) -> None:
        """Add or remove an answer channel (a forum channel: answer each new post once)."""
        assert interaction.guild_id is not None
        if answer and not self.bot.intents.message_content:
            await send_private(
                interaction,
                "This bot does not read message text (the Message Content intent is off), so it can only"
                " answer mentions. Its operator can turn on discord.message_content.",
            )
            return
        current = self.bot.servers.settings_for(interaction.guild_id)
        name = "forum_channels" if isinstance(channel, discord.ForumChannel) else "answer_channels"
        ids = set(getattr(current, name))
        ids = ids | {channel.id} if answer else ids - {channel.id}
        verb = "now answers" if answer else "no longer answers"
        await self._change(interaction, {name: sorted(ids)}, f"The bot {verb} without a mention in <#{channel.id}>.")

    @app_commands.command(name="cooldown", description="How many questions one person may ask, per how many seconds")
    @app_commands.describe(questions="Questions allowed per window", seconds="The window in seconds (0: no limit)")
    @app_commands.default_permissions(manage_guild=True)
    async def cooldown(
        self,
        interaction: discord.Interaction[Any],
        questions: app_commands.Range[int, 1, 100],
        seconds: app_commands.Range[float, 0.0, 3600.0],
    ) -> None:
        """Set the per-user cooldown."""
        await self._change(
            interaction,
            {"cooldown_questions": questions, "cooldown_seconds": seconds},
            f"Cooldown set: {questions} per {seconds:g} s.",
        )

    @app_commands.command(name="thread", description="Answer in a new thread on each question")
    @app_commands.default_permissions(manage_guild=True)
    async def thread(self, interaction: discord.Interaction[Any], enabled: bool) -> None:
        """Turn answering in threads on or off."""
        await self._change(interaction, {"answer_in_thread": enabled}, f"Answers in threads: {_value('', enabled)}.")

    @app_commands.command(name="not-found", description="What to do in answer channels when the answer is not found")
    @app_commands.describe(
        post='Post "not in my sources" (off: stay quiet)', reaction="React with this emoji instead (empty: none)"
    )
    @app_commands.default_permissions(manage_guild=True)
    async def not_found(self, interaction: discord.Interaction[Any], post: bool, reaction: str = "") -> None:
        """Set how unanswered questions are acknowledged in answer channels."""
        reaction = reaction.strip()
        if not is_reaction(reaction):
            await send_private(interaction, "The reaction must be one emoji (or nothing).")
            return
        await self._change(
            interaction,
            {"post_not_found": post, "quiet_reaction": reaction},
            "Saved how unanswered questions are acknowledged in answer channels.",
        )

    @app_commands.command(name="admin-role", description="Let a role change these settings and see /stats")
    @app_commands.describe(role="The role", admin="Give (on) or take away (off)")
    @app_commands.default_permissions(manage_guild=True)
    async def admin_role(self, interaction: discord.Interaction[Any], role: discord.Role, admin: bool = True) -> None:
        """Add or remove one of this server's admin roles."""
        assert interaction.guild_id is not None
        ids = set(self.bot.servers.settings_for(interaction.guild_id).admin_roles)
        ids = ids | {role.id} if admin else ids - {role.id}
        verb = "is now" if admin else "is no longer"
        await self._change(interaction, {"admin_roles": sorted(ids)}, f"<@&{role.id}> {verb} an admin role here.")

    @app_commands.command(name="reset", description="Return every setting to the bot's defaults")
    @app_commands.default_permissions(manage_guild=True)
    async def reset(self, interaction: discord.Interaction[Any]) -> None:
        """Forget this server's overrides."""
        await self._change(interaction, dict.fromkeys(NAMES), "Every setting is back to the bot's default.")


async def setup(bot: SummitBot) -> None:
    """Extension entry point."""
    await bot.add_cog(Settings(bot))
