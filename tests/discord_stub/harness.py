"""Glue between discord.py and a :class:`~tests.discord_stub.server.DiscordStub`.

discord.py has two process-wide places where Discord's address lives:

* ``discord.http.Route.BASE`` — the REST base URL (also used by the webhook adapter that sends
  interaction responses and followups);
* ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`` — the websocket URL. ``Client.connect``
  connects there for every IDENTIFY (``AutoShardedClient`` asks ``GET /gateway/bot`` instead, which the
  stub answers with the same URL); after READY the client keeps ``resume_gateway_url`` from READY for
  RESUMEs and falls back to ``DEFAULT_GATEWAY`` after a non-resumable INVALID_SESSION.

:func:`point_discord_at` swaps both and restores them afterwards; :func:`run_bot` starts a client
against the stub and waits until it is ready.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

import discord
import discord.gateway
import discord.http
import yarl

from .server import DiscordStub

#: The token the harness logs in with (the stub accepts any token unless ``DiscordStub(token=...)``).
DEFAULT_TOKEN = "stub.bot.token"


@contextlib.contextmanager
def point_discord_at(
    stub: DiscordStub | None = None, *, api_url: str | None = None, gateway_url: str | None = None
) -> Iterator[None]:
    """Point discord.py's REST base and gateway URL at ``stub`` (or explicit URLs) inside the block.

    These are class attributes, i.e. global to the process: only one stub can be targeted at a time.
    The previous values are restored on exit, even on error.
    """
    if stub is not None:
        api_url = api_url or stub.api_url
        gateway_url = gateway_url or stub.gateway_url
    if api_url is None or gateway_url is None:
        raise ValueError("give a stub or both api_url and gateway_url")
    old_base = discord.http.Route.BASE
    old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = api_url.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
    try:
        yield
    finally:
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway


@contextlib.asynccontextmanager
async def run_bot(
    client: discord.Client,
    stub: DiscordStub,
    *,
    token: str | None = None,
    ready_timeout: float = 10.0,
    close_timeout: float = 10.0,
) -> AsyncIterator[discord.Client]:
    """Start ``client`` against ``stub`` in a background task, wait for ``on_ready``, close on exit.

    discord.py must already point at the stub (:func:`point_discord_at`). If the client dies while
    starting (bad token, disallowed intents, a crash in ``setup_hook``...) its exception is raised
    here instead of a bare timeout. Give clients a small ``guild_ready_timeout`` (e.g. 0.05): discord.py
    waits that long after the last GUILD_CREATE before dispatching ``on_ready``.
    """
    task = asyncio.create_task(client.start(token or stub.token or DEFAULT_TOKEN), name="stub-bot")
    ready = asyncio.create_task(client.wait_until_ready())
    try:
        done, _pending = await asyncio.wait({task, ready}, timeout=ready_timeout, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            task.result()  # raises the startup error
            raise RuntimeError("the client stopped before becoming ready")
        if ready not in done:
            raise TimeoutError(f"client not ready after {ready_timeout}s\n{stub.describe_recent()}")
        yield client
    finally:
        ready.cancel()
        if not client.is_closed():
            await client.close()
        if not task.done():  # a startup failure was already raised above
            try:
                await asyncio.wait_for(task, close_timeout)
            except asyncio.TimeoutError:
                raise TimeoutError(f"client did not stop within {close_timeout}s after close()") from None
