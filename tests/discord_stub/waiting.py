"""Waiting helpers: tests wait for the requests, messages and gateway events they expect; heartbeats."""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import itertools
import logging
import time
from collections.abc import Callable
from typing import Any

from .payloads import (
    CallbackType,
)
from .records import (
    MESSAGE_KINDS,
    GatewayPayloadRecord,
    GatewaySession,
    HeartbeatRecord,
    InjectedInteraction,
    RecordedRequest,
    T,
)

_log = logging.getLogger("discord_stub.server")


class WaitingMixin:
    """Waiting for recorded requests, messages and gateway events; heartbeat records."""

    # ---------------------------------------------------------------- waiting helpers

    def _notify(self) -> None:
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    async def _wait_until(self, check: Callable[[], T | None], timeout: float, what: str) -> T:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            result = check()
            if result is not None:
                return result
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}\n{self.describe_recent()}")
            event = self._changed
            with contextlib.suppress(asyncio.TimeoutError):  # distinct from TimeoutError on 3.10
                await asyncio.wait_for(event.wait(), remaining)

    def describe_recent(self, count: int = 15) -> str:
        """A human-readable summary of the last requests and gateway state, for failure messages."""
        lines = [f"last {min(count, len(self.requests))} of {len(self.requests)} requests:"]
        lines += [f"  {r!r}" for r in self.requests[-count:]]
        lines.append(
            f"gateway: identifies={self.identify_count} resumes={self.resume_count} "
            f"connections={self.connections[-3:]!r}"
        )
        if self.errors:
            lines.append(f"stub errors: {self.errors[-5:]!r}")
        return "\n".join(lines)

    def mark(self) -> int:
        """The index the next request will get; pass as ``since=`` to only consider later requests."""
        return len(self.requests)

    async def wait_for_request(
        self,
        predicate: Callable[[RecordedRequest], bool] | None = None,
        *,
        method: str | None = None,
        path: str | None = None,
        kind: str | None = None,
        timeout: float = 5.0,
        since: int = 0,
        consume: bool = True,
    ) -> RecordedRequest:
        """Wait for (or find an already recorded) REST call matching all given filters.

        ``path`` is an ``fnmatch`` pattern on the path below the API base (``/channels/*/typing``).
        With ``consume=True`` (default) a request is returned by at most one ``wait_for_*`` call, so
        successive waits yield successive matching requests. Raises :class:`TimeoutError` with a
        summary of recent traffic.
        """

        def check() -> RecordedRequest | None:
            for rec in self.requests[since:]:
                if consume and rec.index in self._consumed:
                    continue
                if method is not None and rec.method != method.upper():
                    continue
                if path is not None and not fnmatch.fnmatchcase(rec.path, path):
                    continue
                if kind is not None and rec.kind != kind:
                    continue
                if rec.status == 0:  # still being handled
                    continue
                if predicate is not None and not predicate(rec):
                    continue
                if consume:
                    self._consumed.add(rec.index)
                return rec
            return None

        what = f"request(method={method}, path={path}, kind={kind}, predicate={predicate})"
        return await self._wait_until(check, timeout, what)

    async def wait_for_message(
        self,
        channel_id: int | None = None,
        *,
        interaction: InjectedInteraction | None = None,
        contains: str | None = None,
        include_edits: bool = True,
        timeout: float = 5.0,
        since: int = 0,
        consume: bool = True,
    ) -> RecordedRequest:
        """Wait for the bot to post (or edit) a visible message, through any path.

        Matches successful channel message creates/edits, interaction callbacks that carry a message
        (types 4 and 7), webhook followups and ``@original`` edits. Filters: ``channel_id`` (the
        channel the message is in), ``interaction`` (messages answering that interaction),
        ``contains`` (substring of the content). ``.message`` on the result is the message object.
        """

        def pred(rec: RecordedRequest) -> bool:
            if not rec.ok or rec.kind not in MESSAGE_KINDS:
                return False
            if rec.kind == "interaction_callback" and rec.callback_type not in (
                CallbackType.CHANNEL_MESSAGE_WITH_SOURCE,
                CallbackType.UPDATE_MESSAGE,
            ):
                return False
            if not include_edits and rec.kind in ("edit_message", "edit_webhook_message"):
                return False
            if channel_id is not None and rec.channel_id != channel_id:
                return False
            if interaction is not None and rec.interaction is not interaction:
                return False
            if contains is not None:
                text = (rec.message or {}).get("content") or rec.content or ""
                if contains not in text:
                    return False
            return True

        try:
            return await self.wait_for_request(pred, timeout=timeout, since=since, consume=consume)
        except TimeoutError as exc:
            raise TimeoutError(
                f"no bot message (channel_id={channel_id}, interaction={getattr(interaction, 'id', None)}, "
                f"contains={contains!r}) within {timeout}s\n{self.describe_recent()}"
            ) from exc

    async def wait_for_interaction_response(
        self, interaction: InjectedInteraction, *, timeout: float = 5.0
    ) -> RecordedRequest:
        """Wait for the bot's callback (initial response) to ``interaction``; returns that request.

        Only accepted callbacks count (a late or duplicate one answered with an error does not).
        """
        return await self.wait_for_request(
            lambda r: r.interaction is interaction and r.ok,
            kind="interaction_callback",
            timeout=timeout,
            consume=False,
        )

    async def wait_for_autocomplete(
        self, interaction: InjectedInteraction, *, timeout: float = 5.0
    ) -> list[dict[str, Any]]:
        """Wait for the autocomplete result (callback type 8) and return its ``choices``."""
        rec = await self.wait_for_interaction_response(interaction, timeout=timeout)
        if rec.callback_type != CallbackType.APPLICATION_COMMAND_AUTOCOMPLETE_RESULT:
            raise AssertionError(f"expected an autocomplete result, got callback type {rec.callback_type}")
        return list(rec.body.get("choices") or [])

    async def wait_for_identify(self, count: int = 1, *, timeout: float = 5.0) -> None:
        """Wait until at least ``count`` IDENTIFYs have been accepted (READY sent)."""
        await self._wait_until(lambda: True if self.identify_count >= count else None, timeout, f"{count} identify")

    async def wait_for_resume(self, count: int = 1, *, timeout: float = 5.0) -> None:
        """Wait until at least ``count`` RESUMEs have been accepted (RESUMED sent)."""
        await self._wait_until(lambda: True if self.resume_count >= count else None, timeout, f"{count} resume")

    async def wait_for_heartbeats(self, count: int, *, timeout: float = 5.0) -> list[HeartbeatRecord]:
        """Wait until at least ``count`` heartbeats have arrived in total; returns the records."""
        await self._wait_until(lambda: True if len(self.heartbeats) >= count else None, timeout, f"{count} heartbeats")
        return list(self.heartbeats)

    async def wait_until_connected(self, *, timeout: float = 5.0) -> GatewaySession:
        """Wait until a session has a live connection (after IDENTIFY or RESUME)."""

        def check() -> GatewaySession | None:
            s = self._session
            return s if s is not None and s.conn is not None and s.conn.open else None

        return await self._wait_until(check, timeout, "a connected gateway session")

    async def wait_for_gateway_payload(
        self, op: int, predicate: Callable[[Any], bool] | None = None, *, timeout: float = 5.0, since: int = 0
    ) -> GatewayPayloadRecord:
        """Wait for a payload with opcode ``op`` from the client (e.g. 3 presence, 8 member request)."""

        def check() -> GatewayPayloadRecord | None:
            for rec in self.gateway_received[since:]:
                if rec.op == op and (predicate is None or predicate(rec.data)):
                    return rec
            return None

        return await self._wait_until(check, timeout, f"gateway op {op}")

    @property
    def unknown_requests(self) -> list[RecordedRequest]:
        """Requests to routes the stub does not implement (answered 404)."""
        return [r for r in self.requests if r.route is None]

    @property
    def session(self) -> GatewaySession | None:
        """The current gateway session (from the latest IDENTIFY), if any."""
        return self._session

    @property
    def intents(self) -> int | None:
        """The intents of the current session."""
        return self._session.intents if self._session else None

    # ---------------------------------------------------------------- heartbeats

    @property
    def heartbeat_interval(self) -> float:
        """The heartbeat interval announced in HELLO, in seconds."""
        return self.heartbeat_interval_ms / 1000.0

    def heartbeat_gaps(self, *, include_open: bool = True) -> list[float]:
        """Seconds between consecutive heartbeats on each connection (from HELLO for the first one).

        With ``include_open`` the time since the last heartbeat of still-open connections is included,
        so a client that stopped heartbeating entirely is noticed too.
        """
        gaps: list[float] = []
        now = time.monotonic()
        for conn in self.connections:
            times = [conn.opened_at] + [h.received_at for h in self.heartbeats if h.connection_id == conn.id]
            gaps += [b - a for a, b in itertools.pairwise(times)]
            if include_open and conn.open and conn.closed_at is None:
                gaps.append(now - times[-1])
        return gaps

    def max_heartbeat_gap(self, *, include_open: bool = True) -> float:
        """The longest gap between heartbeats (see :meth:`heartbeat_gaps`); 0.0 without connections.

        A healthy client stays close to :attr:`heartbeat_interval`; a blocked event loop shows up
        as a larger gap.
        """
        return max(self.heartbeat_gaps(include_open=include_open), default=0.0)
