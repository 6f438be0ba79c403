"""Logging for operations: text or JSON lines (``logging.format``), secrets redacted, and an optional
Discord webhook that receives rate-limited error summaries (``logging.error_webhook``).

JSON lines carry a stable set of fields: ``time`` (ISO 8601, UTC), ``level``, ``logger``,
``message``, and with an exception ``exc_type`` and ``exception`` (the traceback). Secrets given to
:func:`configure_logging` (the token, the webhook URL) are replaced by ``[redacted]`` in every line.

The webhook gets at most one post per ``logging.error_webhook_seconds``: errors in between are
gathered into that post (a count, and the first few as one short line each: logger, message,
exception type and the code location). Never the token, never a traceback's local values; the text
sits in a code block with mentions disabled, so nothing in it can ping or link.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import json
import logging
import os
import re
import sys
import threading
import time
import traceback
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any

from bot.config import LoggingSettings

log = logging.getLogger("summitbot.ops.logs")

#: Lines of detail in one webhook post (the rest are counted).
WEBHOOK_LINES = 8
WEBHOOK_LINE_CHARS = 220
DISCORD_CONTENT_LIMIT = 2000
_TOKEN_SHAPE = re.compile(r"[A-Za-z\d_-]{23,28}\.[A-Za-z\d_-]{6,7}\.[A-Za-z\d_-]{27,}")
TEXT_FORMAT = "%(asctime)s %(levelname)-8s %(name)s: %(message)s"


class Redactor:
    """Replaces known secrets, and anything shaped like a bot token, with ``[redacted]``."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self.secrets = sorted({s for s in secrets if s and len(s) >= 8}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        """``text`` without secrets."""
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        return _TOKEN_SHAPE.sub("[redacted]", text)


class TextFormatter(logging.Formatter):
    """The usual one-line text format, secrets redacted (tracebacks included)."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__(TEXT_FORMAT)
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        """The line (and traceback), redacted."""
        return self.redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per record with stable fields (see the module docstring), secrets redacted."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        """The JSON line."""
        when = dt.datetime.fromtimestamp(record.created, tz=dt.timezone.utc)
        fields: dict[str, Any] = {
            "time": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": self.redact(record.getMessage()),
        }
        if record.exc_info and record.exc_info[0] is not None:
            fields["exc_type"] = record.exc_info[0].__name__
            fields["exception"] = self.redact(self.formatException(record.exc_info))
        return json.dumps(fields, ensure_ascii=False)


# ------------------------------------------------------------------------------- the webhook


def summarize_record(record: logging.LogRecord, redact: Redactor) -> str:
    """One short line for an error: time, logger, message, exception type and where it was raised."""
    message = record.getMessage().splitlines()[0] if record.getMessage() else ""
    parts = [time.strftime("%H:%M:%S", time.gmtime(record.created)), record.levelname, f"{record.name}:", message]
    if record.exc_info and record.exc_info[0] is not None:
        exc_type, exc, tb = record.exc_info
        detail = str(exc).splitlines()[0][:120] if exc is not None and str(exc) else ""
        parts.append(f"— {exc_type.__name__}" + (f": {detail}" if detail else ""))
        frames = traceback.extract_tb(tb) if tb is not None else []
        if frames:
            last = frames[-1]
            parts.append(f"({os.path.basename(last.filename)}:{last.lineno} in {last.name})")
    line = redact(" ".join(p for p in parts if p))
    return line if len(line) <= WEBHOOK_LINE_CHARS else line[: WEBHOOK_LINE_CHARS - 1] + "…"


def _post_json(url: str, payload: dict[str, Any], timeout: float = 10.0) -> float | None:
    """POST ``payload``; None when accepted, else seconds to wait before trying again (429)."""
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode("utf-8"),
        headers={"Content-Type": "application/json", "User-Agent": "summitbot-error-webhook"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
        return None
    except urllib.error.HTTPError as exc:
        if exc.code == 429:
            try:
                return float(json.loads(exc.read() or b"{}").get("retry_after", 5.0))
            except (ValueError, AttributeError):
                return 5.0
        raise


class ErrorWebhook(logging.Handler):
    """Posts rate-limited summaries of ERROR records to a Discord webhook, from a background thread."""

    def __init__(
        self,
        url: str,
        min_interval: float = 60.0,
        redact: Redactor | None = None,
        post: Callable[[str, dict[str, Any]], float | None] = _post_json,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(level=logging.ERROR)
        self.url = url
        self.min_interval = min_interval
        self.redact = redact or Redactor([url])
        if url not in self.redact.secrets:
            self.redact.secrets.insert(0, url)
        self._post = post
        self._clock = clock
        self._lines: collections.deque[str] = collections.deque(maxlen=WEBHOOK_LINES)
        self._pending = 0
        self._next_post = 0.0
        self._wake = threading.Condition()
        self._closing = False
        self.posts = 0
        self.failures = 0
        self._thread = threading.Thread(target=self._run, name="summitbot-error-webhook", daemon=True)
        self._thread.start()

    def emit(self, record: logging.LogRecord) -> None:
        """Queue a summary of ``record`` (never blocks on the network)."""
        if record.name == log.name:
            return  # our own delivery problems are not reported through ourselves
        try:
            line = summarize_record(record, self.redact)
        except Exception:
            self.handleError(record)
            return
        with self._wake:
            self._lines.append(line)
            self._pending += 1
            self._wake.notify()

    def content(self, lines: list[str], count: int) -> str:
        """The message text for ``count`` errors, ``lines`` of them shown."""
        head = f"summitbot: {count} error{'s' if count != 1 else ''} logged"
        if count > len(lines):
            head += f" ({count - len(lines)} more not shown)"
        body = "\n".join(line.replace("`", "ʼ") for line in lines)
        room = DISCORD_CONTENT_LIMIT - len(head) - 10
        if len(body) > room:
            body = body[: room - 1] + "…"
        return f"{head}\n```\n{body}\n```"

    def _take(self) -> tuple[list[str], int]:
        lines, count = list(self._lines), self._pending
        self._lines.clear()
        self._pending = 0
        return lines, count

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._pending and not self._closing:
                    self._wake.wait()
                closing = self._closing
                if not closing:
                    wait = self._next_post - self._clock()
                    if wait > 0:
                        self._wake.wait(timeout=wait)
                        continue
                lines, count = self._take()
            if count:
                self._deliver(lines, count)
            if closing:
                return  # one last post at most: shutdown never waits on a rate limit

    def _deliver(self, lines: list[str], count: int) -> None:
        payload = {
            "content": self.content(lines, count),
            "username": "summitbot",
            "allowed_mentions": {"parse": []},
        }
        self._next_post = self._clock() + self.min_interval
        try:
            retry_after = self._post(self.url, payload)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            self.failures += 1
            reason = getattr(exc, "reason", None) or getattr(exc, "code", None) or type(exc).__name__
            log.warning("error webhook: the post failed (%s); %d error(s) not delivered", reason, count)
            return
        if retry_after is not None:
            with self._wake:  # put them back, and wait as the server asks
                self._pending += count
                for line in reversed(lines):
                    if len(self._lines) < WEBHOOK_LINES:
                        self._lines.appendleft(line)
            self._next_post = self._clock() + retry_after
            return
        self.posts += 1

    def close(self) -> None:
        """Send what is pending (once, not waiting for the rate limit) and stop the thread."""
        with self._wake:
            self._closing = True
            self._wake.notify()
        self._thread.join(timeout=15)
        super().close()


# ------------------------------------------------------------------------------ configure


def webhook_url(settings: LoggingSettings, environ: dict[str, str] | None = None) -> str | None:
    """The error webhook URL: the environment variable ``error_webhook_env`` when set, else the config key."""
    env = os.environ if environ is None else environ
    value = env.get(settings.error_webhook_env, "").strip() if settings.error_webhook_env else ""
    return value or settings.error_webhook


def configure_logging(
    settings: LoggingSettings,
    secrets: Iterable[str | None] = (),
    extra_handlers: Iterable[logging.Handler] = (),
    stream: Any = None,
) -> list[logging.Handler]:
    """Set up the root logger: level, text or JSON on stderr, the error webhook when configured.

    ``secrets`` (the token…) are redacted everywhere. ``extra_handlers`` (e.g. the health error
    counter) are attached too. Returns the handlers added, for :func:`shutdown_logging`.
    """
    url = webhook_url(settings)
    redact = Redactor([*secrets, url])
    console = logging.StreamHandler(stream or sys.stderr)
    console.setFormatter(JsonFormatter(redact) if settings.format == "json" else TextFormatter(redact))
    handlers: list[logging.Handler] = [console, *extra_handlers]
    if url:
        handlers.append(ErrorWebhook(url, settings.error_webhook_seconds, redact))
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(logging.getLevelName(settings.level.upper()))
    for handler in handlers:
        root.addHandler(handler)
    return handlers


def shutdown_logging(handlers: Iterable[logging.Handler]) -> None:
    """Detach and close ``handlers`` (the webhook sends what is pending)."""
    root = logging.getLogger()
    for handler in handlers:
        root.removeHandler(handler)
        with contextlib.suppress(Exception):
            handler.close()
