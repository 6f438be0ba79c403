"""What discord.py may write to the log: no gateway or HTTP payloads unless explicitly asked for.

At DEBUG, discord.py logs every gateway event as received (message text, raw user ids,
interaction tokens), every REST request body and response, and webhook URLs that carry an
interaction's token. :func:`install_payload_filter` drops those records (DEBUG records of the
gateway, HTTP and webhook loggers that carry more than short plain values) unless
``logging.discord_payloads`` is true; everything else, the bot's own DEBUG lines included, stays.
"""

from __future__ import annotations

import logging
import re

#: discord.py loggers whose DEBUG records may carry payloads.
PAYLOAD_LOGGERS = ("discord.gateway", "discord.http", "discord.webhook.async_", "discord.webhook.sync")
# A log argument that is safe to keep: a number, or a short word-like string (no URL, no JSON).
_PLAIN = re.compile(r"^[\w .:-]{0,64}$")


def _plain(value: object) -> bool:
    if value is None or isinstance(value, (bool, int, float)):
        return True
    return isinstance(value, str) and bool(_PLAIN.match(value))


class PayloadFilter(logging.Filter):
    """Drops DEBUG records whose arguments are payloads, URLs or anything but short plain values."""

    def filter(self, record: logging.LogRecord) -> bool:
        """False (drop) for a DEBUG record carrying a payload."""
        if record.levelno > logging.DEBUG:
            return True
        args = record.args
        if args is None:
            return True
        values = args.values() if isinstance(args, dict) else args if isinstance(args, tuple) else (args,)
        return all(_plain(v) for v in values)


_FILTER = PayloadFilter()


def install_payload_filter(discord_payloads: bool) -> None:
    """Filter discord.py's payload logging (or, with ``discord_payloads``, remove the filter)."""
    for name in PAYLOAD_LOGGERS:
        logger = logging.getLogger(name)
        if discord_payloads:
            logger.removeFilter(_FILTER)
        elif _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
