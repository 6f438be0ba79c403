"""Per-server settings: what each server's admins may change with ``/settings``, over config defaults.

A server's stored *overrides* are a small JSON object (only the keys that server changed); every
other value comes from config.yaml's ``discord`` section, so a changed default reaches every server
that did not choose otherwise. :class:`ServerSettings` is the resolved, typed view the bot reads on
each message. Nothing here touches Discord or the database: the storage keeps the JSON, the
settings cog edits it through :func:`validate`.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from bot.config import DiscordSettings, is_reaction

log = logging.getLogger("summitbot.settings")

#: At most this many answer channels, forum channels, admin roles per server.
MAX_IDS = 50
MAX_COOLDOWN_QUESTIONS = 100
MAX_COOLDOWN_SECONDS = 3600.0


class SettingError(ValueError):
    """A value a server may not store (wrong type, out of range, unknown setting); says which."""


@dataclass(frozen=True)
class ServerSettings:
    """One server's settings as the bot uses them (overrides applied over the config defaults)."""

    answer_channels: frozenset[int] = frozenset()
    forum_channels: frozenset[int] = frozenset()
    answer_in_thread: bool = False
    cooldown_questions: int = 3
    cooldown_seconds: float = 5.0
    post_not_found: bool = False
    quiet_reaction: str = ""
    admin_roles: frozenset[int] = frozenset()

    @classmethod
    def defaults(cls, config: DiscordSettings) -> ServerSettings:
        """The settings of a server that changed nothing: config.yaml's ``discord`` values."""
        return cls(
            answer_channels=frozenset(config.answer_channels),
            forum_channels=frozenset(config.forum_channels),
            answer_in_thread=config.answer_in_thread,
            cooldown_questions=config.cooldown_questions,
            cooldown_seconds=config.cooldown_seconds,
            post_not_found=config.post_not_found,
            quiet_reaction=config.quiet_reaction,
            admin_roles=frozenset(config.admin_roles),
        )

    def with_overrides(self, overrides: Mapping[str, Any]) -> ServerSettings:
        """These settings with a server's stored overrides applied; a bad stored value is skipped
        (logged) so one broken row never stops the server from being served."""
        changes: dict[str, Any] = {}
        for name, value in overrides.items():
            try:
                changes[name] = validate(name, value)
            except SettingError as exc:
                log.warning("settings: ignoring a stored value: %s", exc)
        return replace(self, **changes)


def _ids(name: str, value: Any) -> frozenset[int]:
    if not isinstance(value, (list, tuple, set, frozenset)) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value
    ):
        raise SettingError(f"'{name}' must be a list of Discord ids, not {value!r}")
    if len(value) > MAX_IDS:
        raise SettingError(f"'{name}' can hold at most {MAX_IDS} ids")
    return frozenset(int(v) for v in value)


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise SettingError(f"'{name}' must be true or false, not {value!r}")
    return value


def _cooldown_questions(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_COOLDOWN_QUESTIONS:
        raise SettingError(f"'{name}' must be a whole number from 1 to {MAX_COOLDOWN_QUESTIONS}, not {value!r}")
    return value


def _cooldown_seconds(name: str, value: Any) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or not 0 <= value <= MAX_COOLDOWN_SECONDS
    ):
        raise SettingError(f"'{name}' must be a number of seconds from 0 to {MAX_COOLDOWN_SECONDS:g}, not {value!r}")
    return float(value)


def _reaction(name: str, value: Any) -> str:
    if not isinstance(value, str) or not is_reaction(value):
        raise SettingError(f"'{name}' must be one emoji (or empty for none), not {value!r}")
    return value


_VALIDATORS: dict[str, Callable[[str, Any], Any]] = {
    "answer_channels": _ids,
    "forum_channels": _ids,
    "answer_in_thread": _bool,
    "cooldown_questions": _cooldown_questions,
    "cooldown_seconds": _cooldown_seconds,
    "post_not_found": _bool,
    "quiet_reaction": _reaction,
    "admin_roles": _ids,
}
assert set(_VALIDATORS) == {f.name for f in fields(ServerSettings)}

#: The settings a server may change, in the order ``/settings show`` lists them.
NAMES: tuple[str, ...] = tuple(f.name for f in fields(ServerSettings))


def validate(name: str, value: Any) -> Any:
    """The typed value of setting ``name``; :class:`SettingError` for an unknown name or a bad value."""
    check = _VALIDATORS.get(name)
    if check is None:
        raise SettingError(f"there is no server setting '{name}' (known: {', '.join(NAMES)})")
    return check(name, value)


def encode(overrides: Mapping[str, Any]) -> str:
    """Overrides as the JSON text the database keeps (ids as numbers, sorted; keys sorted)."""
    plain: dict[str, Any] = {}
    for name, value in overrides.items():
        typed = validate(name, value)
        plain[name] = sorted(typed) if isinstance(typed, frozenset) else typed
    return json.dumps(plain, sort_keys=True, separators=(",", ":"))


def decode(text: str | None) -> dict[str, Any]:
    """Stored JSON back to overrides; unreadable text counts as no overrides (logged)."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        log.warning("settings: a stored settings row is not JSON; using the defaults for that server")
        return {}
    if not isinstance(value, dict):
        log.warning("settings: a stored settings row is not a JSON object; using the defaults for that server")
        return {}
    return value
