"""The test oracle for Discord's embed limits: whether one embed respects every one of them."""

from __future__ import annotations

import discord

from bot.discord_app.limits import (
    AUTHOR_NAME,
    EMBED_DESCRIPTION,
    EMBED_FIELDS,
    EMBED_TITLE,
    EMBED_TOTAL,
    EMBED_URL,
    FIELD_NAME,
    FIELD_VALUE,
    FOOTER,
)


def fits(embed: discord.Embed) -> bool:
    """True when one embed respects every per-field limit and the total."""
    data = embed.to_dict()
    if len(data.get("title", "")) > EMBED_TITLE or len(data.get("description", "")) > EMBED_DESCRIPTION:
        return False
    if len(data.get("url", "")) > EMBED_URL:
        return False
    fields = data.get("fields", [])
    if len(fields) > EMBED_FIELDS:
        return False
    if any(len(f["name"]) > FIELD_NAME or len(f["value"]) > FIELD_VALUE for f in fields):
        return False
    if len(data.get("footer", {}).get("text", "")) > FOOTER:
        return False
    if len(data.get("author", {}).get("name", "")) > AUTHOR_NAME:
        return False
    return len(embed) <= EMBED_TOTAL
