"""Published slash commands versus the code's: what ``summitbot sync`` is about to change, and
whether a server would show the same command twice (published globally and to the server).

Commands are compared on what users see and Discord validates — name, type, description, options
(recursively) and default member permissions — not on ids or versions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord

if TYPE_CHECKING:
    from discord.ext import commands

#: Option fields compared (with Discord's defaults for the ones it may leave out).
_OPTION_DEFAULTS: dict[str, Any] = {
    "type": None,
    "name": None,
    "description": "",
    "required": False,
    "autocomplete": False,
    "choices": None,
    "min_value": None,
    "max_value": None,
    "min_length": None,
    "max_length": None,
    "channel_types": None,
}


def _option(raw: dict[str, Any]) -> dict[str, Any]:
    out = {
        key: raw.get(key, default) if raw.get(key) is not None else default for key, default in _OPTION_DEFAULTS.items()
    }
    if out["choices"]:
        out["choices"] = [(c.get("name"), c.get("value")) for c in out["choices"]]
    else:
        out["choices"] = None
    if out["channel_types"]:
        out["channel_types"] = sorted(out["channel_types"])
    out["options"] = [_option(o) for o in raw.get("options") or []]
    return out


def signature(raw: dict[str, Any]) -> dict[str, Any]:
    """The user-visible shape of one command payload (as published, or as the code would publish it)."""
    perms = raw.get("default_member_permissions")
    return {
        "name": raw.get("name"),
        "type": raw.get("type") or 1,
        "description": raw.get("description") or "",
        "options": [_option(o) for o in raw.get("options") or []],
        "default_member_permissions": None if perms is None else str(perms),
        "nsfw": bool(raw.get("nsfw", False)),
    }


def shown(names: tuple[str, ...] | list[str]) -> str:
    """Command names as a member types or finds them: ``/ask`` for a slash command, ``"Ask summitbot" (menu)``
    for a context menu (their names may hold capitals and spaces; slash command names may not)."""
    return ", ".join(f"/{n}" if n == n.lower() and " " not in n else f'"{n}" (menu)' for n in names)


@dataclass(frozen=True)
class CommandDiff:
    """Commands only in the code (``new``), only published (``gone``), and in both but different."""

    new: tuple[str, ...]
    gone: tuple[str, ...]
    changed: tuple[str, ...]

    @property
    def same(self) -> bool:
        """True when the published commands are the code's."""
        return not (self.new or self.gone or self.changed)

    def describe(self) -> str:
        """``new /a; gone /b; changed /c`` (empty when the same)."""
        parts = []
        for label, names in (("new", self.new), ("gone", self.gone), ("changed", self.changed)):
            if names:
                parts.append(f"{label} " + shown(names))
        return "; ".join(parts)


def compare(code: list[dict[str, Any]], published: list[dict[str, Any]]) -> CommandDiff:
    """How ``published`` (payloads from Discord) differs from ``code`` (payloads the code would publish)."""

    def key(raw: dict[str, Any]) -> tuple[str, int]:
        return (str(raw.get("name")), int(raw.get("type") or 1))

    ours = {key(c): signature(c) for c in code}
    theirs = {key(p): signature(p) for p in published}
    new = tuple(sorted(name for (name, t) in ours.keys() - theirs.keys()))
    gone = tuple(sorted(name for (name, t) in theirs.keys() - ours.keys()))
    changed = tuple(sorted(k[0] for k in ours.keys() & theirs.keys() if ours[k] != theirs[k]))
    return CommandDiff(new, gone, changed)


def duplicated(global_cmds: list[dict[str, Any]], guild_cmds: list[dict[str, Any]]) -> tuple[str, ...]:
    """Names published both globally and to one server: members of that server see them twice."""
    names = {(c.get("name"), c.get("type") or 1) for c in global_cmds}
    return tuple(sorted(str(c.get("name")) for c in guild_cmds if (c.get("name"), c.get("type") or 1) in names))


@dataclass(frozen=True)
class Published:
    """What ``summitbot sync`` did: the commands now published where, what changed, and duplicates."""

    names: tuple[str, ...]
    guild_id: int | None
    diff: CommandDiff
    duplicates: tuple[str, ...]  # published both globally and to the guild (shown twice there)
    other_guild: int | None  # the guild compared against when syncing globally (discord.dev_guild_id)


async def _fetch(bot: commands.Bot, guild_id: int | None) -> list[dict[str, Any]]:
    app_id = bot.application_id
    assert app_id is not None  # set by login
    if guild_id is None:
        return list(await bot.http.get_global_commands(app_id))
    return list(await bot.http.get_guild_commands(app_id, guild_id))


async def publish(
    bot: commands.Bot, guild_id: int | None, *, clear: bool = False, other_guild: int | None = None
) -> Published:
    """Publish the code's commands (or none, with ``clear``) globally or to ``guild_id``.

    Compares what was published before with what is published now, and looks for duplicates: a
    guild sync against the global commands; a global sync against ``other_guild`` when given.
    The bot must be logged in (HTTP only is enough) with its commands registered.
    """
    guild = discord.Object(id=guild_id) if guild_id is not None else None
    before = await _fetch(bot, guild_id)
    if clear:
        bot.tree.clear_commands(guild=guild)
    elif guild is not None:
        bot.tree.copy_global_to(guild=guild)
    code = [command.to_dict(bot.tree) for command in bot.tree.get_commands(guild=guild)]
    synced = await bot.tree.sync(guild=guild)
    diff = compare(code, before)
    now = [command.to_dict() for command in synced]
    duplicates: tuple[str, ...] = ()
    compared_guild = None
    if now and guild_id is not None:
        duplicates = duplicated(await _fetch(bot, None), now)
    elif now and other_guild is not None:
        compared_guild = other_guild
        try:
            duplicates = duplicated(now, await _fetch(bot, other_guild))
        except discord.HTTPException:
            duplicates = ()  # not in that guild (any more): nothing shown twice there
    return Published(tuple(c.name for c in synced), guild_id, diff, duplicates, compared_guild)
