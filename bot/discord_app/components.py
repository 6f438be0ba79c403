"""Persistent buttons under answers: "More passages" and 👍/👎 votes.

They are :class:`discord.ui.DynamicItem` s: the custom id carries everything the click needs (the
question's short hash and the next offset; the analytics record id and the vote), so they keep
working after a restart. The work is done by the Questions cog; these only parse and delegate.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

import discord

from bot.discord_app import limits
from bot.discord_app.replies import send_private

if TYPE_CHECKING:
    from bot.discord_app.cogs.questions import Questions

MORE_TEMPLATE = r"sb:more:(?P<key>[0-9a-f]{10}):(?P<offset>[0-9]{1,3})"
VOTE_TEMPLATE = r"sb:vote:(?P<record>[0-9]{1,19}):(?P<vote>up|down)"
#: What the clicker sees (privately) when a button's work fails; the traceback goes to the log.
BUTTON_APOLOGY = "Sorry, something went wrong with that button. The error has been logged."

log = logging.getLogger("summitbot.discord.buttons")


def _questions_cog(interaction: discord.Interaction[Any]) -> Questions | None:
    return interaction.client.get_cog("Questions")  # type: ignore[return-value]


async def _guarded(interaction: discord.Interaction[Any], button: str, work: Awaitable[None]) -> None:
    """Run a button's work; on any error log the traceback and apologise privately to the clicker
    (as a followup when the click was already deferred, so no "thinking…" is left hanging)."""
    try:
        await work
    except Exception:
        log.exception("error in the %s button (custom id %s)", button, (interaction.data or {}).get("custom_id", "?"))
        await send_private(interaction, BUTTON_APOLOGY)


async def _unavailable(interaction: discord.Interaction[Any]) -> None:
    await interaction.response.send_message(
        "That button is not available right now.", ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
    )


class MorePassagesButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=MORE_TEMPLATE):
    """Shows the next passages for the question, privately to the person who clicks."""

    def __init__(self, key: str, offset: int) -> None:
        custom_id = f"sb:more:{key}:{offset}"
        assert len(custom_id) <= limits.CUSTOM_ID and re.fullmatch(MORE_TEMPLATE, custom_id)
        super().__init__(
            discord.ui.Button(label="More passages", style=discord.ButtonStyle.secondary, custom_id=custom_id)
        )
        self.key = key
        self.offset = offset

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Button[Any], match: re.Match[str], /
    ) -> MorePassagesButton:
        """Rebuild the button from a clicked custom id."""
        return cls(match["key"], int(match["offset"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """Delegate to the Questions cog."""
        cog = _questions_cog(interaction)
        if cog is None:
            await _unavailable(interaction)
            return
        await _guarded(interaction, "More passages", cog.show_more(interaction, self.key, self.offset))


class VoteButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=VOTE_TEMPLATE):
    """👍 or 👎 on one recorded answer; one vote per person per answer, changeable."""

    def __init__(self, record: int, up: bool) -> None:
        custom_id = f"sb:vote:{record}:{'up' if up else 'down'}"
        assert len(custom_id) <= limits.CUSTOM_ID and re.fullmatch(VOTE_TEMPLATE, custom_id)
        super().__init__(
            discord.ui.Button(
                emoji="👍" if up else "👎",
                style=discord.ButtonStyle.secondary,
                custom_id=custom_id,
            )
        )
        self.record = record
        self.up = up

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Button[Any], match: re.Match[str], /
    ) -> VoteButton:
        """Rebuild the button from a clicked custom id."""
        return cls(int(match["record"]), match["vote"] == "up")

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """Delegate to the Questions cog."""
        cog = _questions_cog(interaction)
        if cog is None:
            await _unavailable(interaction)
            return
        await _guarded(interaction, "vote", cog.vote(interaction, self.record, +1 if self.up else -1))


def answer_view(
    *, more_key: str | None = None, more_offset: int = 0, url: str | None = None, record: int | None = None
) -> discord.ui.View | None:
    """The buttons under an answer: More passages, the source link, 👍/👎 (those that apply)."""
    view = discord.ui.View(timeout=None)
    if more_key is not None:
        view.add_item(MorePassagesButton(more_key, more_offset))
    url = limits.usable_url(url, limits.BUTTON_URL)
    if url:
        view.add_item(discord.ui.Button(label="Source", url=url, style=discord.ButtonStyle.link))
    if record is not None:
        view.add_item(VoteButton(record, True))
        view.add_item(VoteButton(record, False))
    return view if view.children else None
