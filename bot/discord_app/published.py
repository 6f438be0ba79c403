"""Published slash commands versus the code's: what ``summitbot sync`` is about to change, and
whether a server would show the same command twice (published globally and to the server).

Commands are compared on what users see and Discord validates — name, type, description, options
(recursively) and default member permissions — not on ids or versions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
                parts.append(f"{label} " + ", ".join(f"/{n}" for n in names))
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
