"""``summitbot invite``: the OAuth2 link that adds the bot to a server with exactly the permissions it uses.

The permissions integer comes from :class:`discord.Permissions`, so it is the one Discord expects;
the client id is read from the token's first segment (the bot's user id, base64) or given.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

import discord

#: What the bot does, as (discord.Permissions flag, name in Discord's UI, why the bot needs it).
PERMISSIONS: tuple[tuple[str, str, str], ...] = (
    ("view_channel", "View Channels", "see the channels it answers in"),
    ("send_messages", "Send Messages", "post answers and notices"),
    ("send_messages_in_threads", "Send Messages in Threads", "answer inside threads"),
    ("create_public_threads", "Create Public Threads", "discord.answer_in_thread: a thread per question"),
    ("embed_links", "Embed Links", "answers and summaries are embeds"),
    ("add_reactions", "Add Reactions", "the ⏳ reaction on questions over the cooldown"),
    ("read_message_history", "Read Message History", "reply to the message that asked"),
)
SCOPES = ("bot", "applications.commands")
MAX_SNOWFLAKE = 2**64 - 1


class InviteError(ValueError):
    """No usable client id (one-line message)."""


@dataclass(frozen=True)
class Invite:
    """The invite link, the permissions integer and the permissions by name."""

    url: str
    client_id: int
    permissions: int
    names: tuple[tuple[str, str], ...]  # (UI name, why)


def bot_permissions() -> discord.Permissions:
    """The permissions the bot uses, as a :class:`discord.Permissions`."""
    return discord.Permissions(**{flag: True for flag, _, _ in PERMISSIONS})


def client_id_from_token(token: str) -> int:
    """The application (bot user) id encoded in a bot token's first segment.

    Raises :class:`InviteError` (never echoing the token) when the token does not carry one.
    """
    first = token.strip().split(".", 1)[0]
    try:
        decoded = base64.urlsafe_b64decode(first + "=" * (-len(first) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = ""
    if not decoded.isdigit() or not 0 < int(decoded) <= MAX_SNOWFLAKE:
        raise InviteError("the token's first part does not hold an application id")
    return int(decoded)


def build_invite(client_id: int, guild_id: int | None = None) -> Invite:
    """The OAuth2 URL with the ``bot`` and ``applications.commands`` scopes (optionally one server preselected)."""
    if not 0 < client_id <= MAX_SNOWFLAKE:
        raise InviteError(f"{client_id} is not a Discord id")
    permissions = bot_permissions()
    options: dict[str, object] = {"permissions": permissions, "scopes": SCOPES}
    if guild_id is not None:
        options["guild"] = discord.Object(id=guild_id)
        options["disable_guild_select"] = True
    url = discord.utils.oauth_url(client_id, **options)  # type: ignore[arg-type]
    names = tuple((name, why) for _, name, why in PERMISSIONS)
    return Invite(url, client_id, permissions.value, names)


def format_invite(invite: Invite) -> str:
    """The link and the permissions, for the terminal."""
    width = max(len(name) for name, _ in invite.names)
    lines = [
        "Open this link (signed in to Discord, with Manage Server on the server) to add the bot:",
        "",
        f"  {invite.url}",
        "",
        f"Scopes: {', '.join(SCOPES)}. Permissions (integer {invite.permissions}):",
    ]
    lines += [f"  {name.ljust(width)}  {why}" for name, why in invite.names]
    lines += [
        "",
        "Then publish the slash commands: summitbot sync --guild SERVER_ID (instant) or summitbot sync (global).",
    ]
    return "\n".join(lines)
