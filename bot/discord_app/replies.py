"""How the bot sends: the no-mention policy and the small send helpers every cog and button uses.

Every send, reply, followup and edit passes :data:`NO_MENTIONS` (the bot's default is the same),
so user or corpus text can never ping anyone.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
import discord

log = logging.getLogger("summitbot.discord")

#: Every send, reply, followup and edit uses this (and the bot's default is the same).
NO_MENTIONS = discord.AllowedMentions.none()


async def send_private(interaction: discord.Interaction[Any], text: str) -> None:
    """A short ephemeral message, whether or not the interaction was already answered/deferred."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
        else:
            await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
    except (discord.HTTPException, aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
        # Never let it escape: this runs in discord.py's own tasks, where an exception is only
        # "Task exception was never retrieved" at garbage collection.
        log.warning("could not send an error notice for an interaction (%s: %s)", type(exc).__name__, exc)
