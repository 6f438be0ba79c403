"""The running bot's health: a small status file written atomically, ``summitbot health`` reading it,
and an optional tiny HTTP endpoint (``health.listen``).

The status file is JSON with stable fields (times are Unix seconds)::

    {"version": 1, "state": "running", "pid": 123, "started_at": ..., "written_at": ...,
     "gateway_connected": true, "latency_ms": 41.7, "last_event_at": ..., "disconnected_since": null,
     "corpus_generation": 1, "documents": 12, "errors_last_hour": 0}

It is unhealthy when missing, unreadable, older than ``health.stale_seconds`` (the bot died or its
event loop is stuck), ``state`` is not ``running`` (stopped cleanly, or still starting), or the
gateway has been disconnected for longer than ``stale_seconds``.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import json
import logging
import math
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("summitbot.health")

STATUS_VERSION = 1
HOUR = 3600.0


class HealthError(Exception):
    """The status file cannot be read (one-line message)."""


@dataclass(frozen=True)
class HealthStatus:
    """One snapshot of the running bot, as written to the status file."""

    state: str  # starting | running | stopped
    pid: int
    started_at: float
    written_at: float
    gateway_connected: bool
    latency_ms: float | None
    last_event_at: float | None
    disconnected_since: float | None
    corpus_generation: int
    documents: int
    errors_last_hour: int
    version: int = STATUS_VERSION

    def to_json(self) -> dict[str, Any]:
        """The fields as written (a stable set; new fields are only ever added)."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Verdict:
    """Healthy or not, with one line that says why."""

    healthy: bool
    line: str


# ---------------------------------------------------------------------------------- the file


def write_status(path: Path, status: HealthStatus) -> None:
    """Write ``status`` to ``path`` atomically (temporary file in the same folder, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (json.dumps(status.to_json(), sort_keys=True) + "\n").encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(tmp, 0o644)  # nothing secret in it: monitoring may read it as another user
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_status(path: Path) -> HealthStatus:
    """The status in ``path``; :class:`HealthError` when it is missing or not a status file."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HealthError(f"no status file at {path} (is the bot running? health.status_file)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise HealthError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    except json.JSONDecodeError:
        raise HealthError(f"{path} is not a status file (not JSON)") from None
    if not isinstance(raw, dict):
        raise HealthError(f"{path} is not a status file")
    names = {f.name for f in dataclasses.fields(HealthStatus)}
    try:
        status = HealthStatus(**{k: v for k, v in raw.items() if k in names})
    except TypeError:
        missing = sorted(names - set(raw) - {"version"})
        raise HealthError(f"{path} is not a status file (missing {', '.join(missing)})") from None
    if not isinstance(status.written_at, (int, float)) or not isinstance(status.state, str):
        raise HealthError(f"{path} is not a status file (bad field types)")
    return status


def _ago(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def assess(status: HealthStatus, stale_seconds: float, now: float | None = None) -> Verdict:
    """Whether ``status`` describes a healthy bot, and one line saying so or why not."""
    now = time.time() if now is None else now
    age = now - status.written_at
    if age > stale_seconds:
        return Verdict(False, f"unhealthy: status not updated for {_ago(age)} (the bot is not running or is stuck)")
    if status.state == "stopped":
        return Verdict(False, f"unhealthy: the bot stopped {_ago(age)} ago")
    if status.state != "running":
        return Verdict(False, f"unhealthy: the bot is {status.state} (started {_ago(now - status.started_at)} ago)")
    if not status.gateway_connected:
        since = status.disconnected_since if status.disconnected_since is not None else status.written_at
        if now - since > stale_seconds:
            return Verdict(False, f"unhealthy: gateway disconnected for {_ago(now - since)}")
    gateway = "gateway connected" if status.gateway_connected else "gateway reconnecting"
    if status.latency_ms is not None:
        gateway += f" (latency {status.latency_ms:.0f} ms)"
    event = "no event yet" if status.last_event_at is None else f"last event {_ago(now - status.last_event_at)} ago"
    errors = status.errors_last_hour
    return Verdict(
        True,
        f"healthy: {gateway}, {event}, corpus generation {status.corpus_generation} "
        f"({status.documents} document{'' if status.documents == 1 else 's'}), "
        f"{errors} error{'' if errors == 1 else 's'} in the last hour",
    )


def check(path: Path, stale_seconds: float, now: float | None = None) -> Verdict:
    """Read and assess the status file (a missing or broken file is unhealthy, never an exception)."""
    try:
        status = read_status(path)
    except HealthError as exc:
        return Verdict(False, f"unhealthy: {exc}")
    return assess(status, stale_seconds, now)


# ----------------------------------------------------------------------- the bot's side


class ErrorCounter(logging.Handler):
    """Counts ERROR (and worse) log records; :meth:`last_hour` is how many in the past hour."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(level=logging.ERROR)
        self._clock = clock
        self._times: collections.deque[float] = collections.deque(maxlen=100_000)

    def emit(self, record: logging.LogRecord) -> None:
        """Remember when an error was logged."""
        self._times.append(self._clock())

    def last_hour(self) -> int:
        """Errors logged in the last hour."""
        cutoff = self._clock() - HOUR
        while self._times and self._times[0] < cutoff:
            self._times.popleft()
        return len(self._times)


class HealthMonitor:
    """What the running bot knows about itself, written to the status file on every beat.

    The bot calls :meth:`connected`, :meth:`disconnected`, :meth:`event` and :meth:`corpus` from its
    event handlers; :meth:`beat` (from a loop every ``health.interval_seconds``) writes the file;
    :meth:`stopped` writes the final state on shutdown.
    """

    def __init__(self, path: Path, errors: ErrorCounter | None = None, clock: Callable[[], float] = time.time):
        self.path = path
        self.errors = errors or ErrorCounter()
        self._clock = clock
        self.started_at = clock()
        self.state = "starting"
        self.gateway_connected = False
        self.disconnected_since: float | None = None
        self.last_event_at: float | None = None
        self.corpus_generation = 0
        self.documents = 0
        self.latency: Callable[[], float] = lambda: math.nan
        self.write_failures = 0

    def connected(self) -> None:
        """The gateway session is up (connect, ready or resumed)."""
        self.gateway_connected = True
        self.disconnected_since = None
        self.state = "running"

    def disconnected(self) -> None:
        """The gateway connection dropped (discord.py reconnects by itself)."""
        if self.gateway_connected or self.disconnected_since is None:
            self.disconnected_since = self._clock()
        self.gateway_connected = False

    def event(self) -> None:
        """A gateway event arrived."""
        self.last_event_at = self._clock()

    def corpus(self, generation: int, documents: int) -> None:
        """The corpus in service changed (start or reload)."""
        self.corpus_generation = generation
        self.documents = documents

    def snapshot(self) -> HealthStatus:
        """The status now."""
        latency = self.latency()
        latency_ms = round(latency * 1000, 1) if math.isfinite(latency) and latency >= 0 else None
        return HealthStatus(
            state=self.state,
            pid=os.getpid(),
            started_at=self.started_at,
            written_at=self._clock(),
            gateway_connected=self.gateway_connected,
            latency_ms=latency_ms,
            last_event_at=self.last_event_at,
            disconnected_since=self.disconnected_since,
            corpus_generation=self.corpus_generation,
            documents=self.documents,
            errors_last_hour=self.errors.last_hour(),
        )

    def beat(self) -> None:
        """Write the status file now (a failure is logged once per run of failures, never raised)."""
        try:
            write_status(self.path, self.snapshot())
        except OSError as exc:
            if not self.write_failures:
                log.warning("health: cannot write %s: %s", self.path, exc.strerror or exc)
            self.write_failures += 1
        else:
            self.write_failures = 0

    def stopped(self) -> None:
        """The bot is shutting down: say so in the file (``summitbot health`` then reports unhealthy)."""
        self.state = "stopped"
        self.gateway_connected = False
        self.beat()

    async def run(self, interval: float) -> None:
        """Write the status every ``interval`` seconds until cancelled (off the event loop: disk may be slow)."""
        import asyncio  # here, not at the top: ``summitbot health`` reads the file and needs no event loop

        while True:
            await asyncio.to_thread(self.beat)
            await asyncio.sleep(interval)


# -------------------------------------------------------------------- the HTTP endpoint


async def serve_http(host: str, port: int, verdict: Callable[[], tuple[Verdict, dict[str, Any] | None]]) -> Any:
    """Answer ``GET /health`` on ``host:port``: 200 when healthy, 503 when not, a JSON body either way.

    ``verdict`` gives the verdict and the status fields. Any other path is 404, any other method 405.
    Returns the :class:`asyncio.Server` (close it to stop).
    """
    import asyncio  # here, not at the top: ``summitbot health`` needs no event loop

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
            method, target, *_ = [*request.split(b"\r\n", 1)[0].decode("latin-1").split(" "), "", ""]
            if target.split("?", 1)[0] not in ("/health", "/healthz"):
                code, body = 404, {"error": "not found: try /health"}
            elif method not in ("GET", "HEAD"):
                code, body = 405, {"error": "use GET"}
            else:
                result, fields = verdict()
                code = 200 if result.healthy else 503
                body = {"healthy": result.healthy, "summary": result.line, "status": fields}
            payload = json.dumps(body).encode("utf-8")
            reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}[code]
            head = (
                f"HTTP/1.1 {code} {reason}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode("ascii") + (b"" if method == "HEAD" else payload))
            await writer.drain()
        except (asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    return await asyncio.start_server(handle, host, port, limit=8192)


def monitor_verdict(monitor: HealthMonitor, stale_seconds: float) -> Callable[[], tuple[Verdict, dict[str, Any]]]:
    """A ``verdict`` callable for :func:`serve_http` that assesses the monitor's live state."""

    def verdict() -> tuple[Verdict, dict[str, Any]]:
        status = monitor.snapshot()
        return assess(status, stale_seconds), status.to_json()

    return verdict
