"""Keep serving when Discord (or a Discord-compatible server) sends an event discord.py cannot parse.

discord.py calls one parser per gateway event type from its websocket loop; an exception there
(a ``guild_id: null`` in a DM, a CHANNEL_CREATE without ``position``, a ``thread: null``) ends
``Client.start`` and with it the process. :func:`guard_parsers` wraps every parser so that such an
event is logged (its type and the error, never its payload: it holds message text and user ids)
and the connection goes on with the next event. An event whose only fault is an explicit ``null``
where discord.py expects a key to be absent (``guild_id: null`` in a DM, ``thread: null``) is read
again without its null keys, so the question it carries is still answered.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, MutableMapping
from typing import Any

log = logging.getLogger("summitbot.discord.gateway")

#: Marks a parser already wrapped (so wrapping twice is harmless).
_GUARDED = "__summitbot_guarded__"


def _guarded(event: str, parser: Callable[[Any], Any], counter: list[int]) -> Callable[[Any], Any]:
    @functools.wraps(parser)
    def parse(data: Any) -> Any:
        try:
            return parser(data)
        except Exception as exc:
            nulls = [k for k, v in data.items() if v is None] if isinstance(data, dict) else []
            if nulls:
                try:
                    result = parser({k: v for k, v in data.items() if v is not None})
                except Exception:
                    pass
                else:
                    log.warning("read a %s gateway event again without its null keys %s", event, ", ".join(nulls))
                    return result
            counter[0] += 1
            log.warning(
                "ignored a malformed %s gateway event that discord.py could not read (%s: %s); still serving",
                event,
                type(exc).__name__,
                str(exc)[:200],
            )
            log.debug("traceback of the malformed %s event", event, exc_info=True)
            return None

    setattr(parse, _GUARDED, True)
    return parse


def guard_parsers(parsers: MutableMapping[str, Callable[[Any], Any]]) -> list[int]:
    """Wrap every event parser in ``parsers`` (discord.py's ``ConnectionState.parsers``) in place.

    Returns a one-item list counting the events skipped so far (for tests and health checks).
    """
    counter = [0]
    for event, parser in list(parsers.items()):
        if not getattr(parser, _GUARDED, False):
            parsers[event] = _guarded(event, parser, counter)
    return counter
