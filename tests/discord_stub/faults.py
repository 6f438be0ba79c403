"""Faults the stub can inject: 429 rate limits, 5xx errors, gateway RECONNECT / INVALID_SESSION, dropped sockets."""

from __future__ import annotations

import logging
from typing import Any

from .payloads import (
    Op,
)
from .records import (
    Fault,
    GatewayConnection,
)

_log = logging.getLogger("discord_stub.server")


class FaultsMixin:
    """Injecting REST and gateway faults."""

    # ---------------------------------------------------------------- faults

    def fail_next(
        self,
        method: str,
        path_pattern: str,
        *,
        status: int = 429,
        retry_after: float = 0.3,
        count: int = 1,
        is_global: bool = False,
        body: dict[str, Any] | None = None,
    ) -> Fault:
        """Make the next ``count`` requests matching ``method`` (or ``"*"``) and the fnmatch
        ``path_pattern`` (below the API base, e.g. ``"/channels/*/messages"``) fail with ``status``.

        429s look like genuine Discord rate limits (``Via`` header, ``retry_after`` body,
        ``X-RateLimit-*``/``Retry-After`` headers, ``X-RateLimit-Scope``) so discord.py waits and
        retries; 5xx are retried by discord.py after 1 s, 3 s, ...; other statuses raise in the bot.
        """
        fault = Fault(method.upper(), path_pattern, status, retry_after, count, is_global, body)
        self.faults.append(fault)
        return fault

    async def request_reconnect(self, *, wait: bool = True, timeout: float = 5.0) -> None:
        """Send opcode 7 RECONNECT; the client closes and RESUMEs on ``resume_gateway_url``.

        With ``wait`` return once the RESUME was accepted.
        """
        conn = self._require_conn()
        resumes = self.resume_count
        await conn.send(Op.RECONNECT, None)
        if wait:
            await self.wait_for_resume(resumes + 1, timeout=timeout)

    async def invalidate_session(self, resumable: bool, *, wait: bool = True, timeout: float = 10.0) -> None:
        """Send opcode 9 INVALID_SESSION (``d = resumable``).

        Resumable: the client reconnects and RESUMEs. Not resumable: the session (and events buffered
        for it) is dropped and the client IDENTIFYs again (new READY + GUILD_CREATE). With ``wait``
        return once that happened. Note: discord.py's default ``Client.before_identify_hook`` sleeps
        5 s before every non-initial IDENTIFY; override it in test bots to skip that.
        """
        conn = self._require_conn()
        resumes, identifies = self.resume_count, self.identify_count
        if not resumable and conn.session is not None:
            conn.session.resumable = False
        await conn.send(Op.INVALID_SESSION, resumable)
        if wait:
            if resumable:
                await self.wait_for_resume(resumes + 1, timeout=timeout)
            else:
                await self.wait_for_identify(identifies + 1, timeout=timeout)

    async def drop_connection(self, code: int = 4000, *, wait: bool = True, timeout: float = 10.0) -> None:
        """Close the gateway socket from the server side with ``code`` (session stays resumable).

        discord.py reconnects and RESUMEs for most codes; with ``wait`` return once it did.
        """
        conn = self._require_conn()
        resumes = self.resume_count
        await conn.close(code, "stub dropped the connection")
        if wait:
            await self.wait_for_resume(resumes + 1, timeout=timeout)

    async def request_heartbeat(self) -> None:
        """Send opcode 1 (the server asks for an immediate heartbeat)."""
        await self._require_conn().send(Op.HEARTBEAT, None)

    def _require_conn(self) -> GatewayConnection:
        session = self._session
        if session is None or session.conn is None or not session.conn.open:
            raise RuntimeError("no live gateway connection (has the bot connected?)")
        return session.conn
