"""The running bot's operations side: the health status file (written on every beat), the optional
local ``/health`` endpoint, and a start-up look at whether the published slash commands are the code's.

:class:`Operations` attaches to a bot with listeners only (connect, ready, resumed, disconnect, every
gateway event, corpus reloads), so the bot class needs no health code of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

import discord

from bot.config import Settings, _host_port
from bot.discord_app.published import compare, duplicated
from bot.ops.health import ErrorCounter, HealthMonitor, monitor_verdict, serve_http

if TYPE_CHECKING:
    from discord.ext import commands

log = logging.getLogger("summitbot.discord.operations")


class Operations:
    """Health monitor, health endpoint and published-commands check for one running bot."""

    def __init__(self, settings: Settings, errors: ErrorCounter | None = None) -> None:
        self.settings = settings
        self.monitor = HealthMonitor(settings.health.status_file, errors)
        self._tasks: list[asyncio.Task[Any]] = []
        self._server: Any = None
        self._bot: commands.Bot | None = None
        self._checked_commands = False

    def attach(self, bot: commands.Bot) -> None:
        """Listen to the bot's connection and events."""
        self._bot = bot
        self.monitor.latency = lambda: bot.latency
        bot.add_listener(self._on_connected, "on_ready")
        bot.add_listener(self._on_connected, "on_resumed")
        bot.add_listener(self._on_connected, "on_shard_ready")
        bot.add_listener(self._on_connected, "on_shard_resumed")
        bot.add_listener(self._on_disconnect, "on_disconnect")
        bot.add_listener(self._on_event, "on_socket_event_type")
        bot.add_listener(self._on_corpus, "on_corpus_reloaded")

    async def _on_connected(self, *_: Any) -> None:
        self.monitor.connected()
        if not self._checked_commands:
            self._checked_commands = True
            self.check_published_commands()
        await asyncio.to_thread(self.monitor.beat)

    async def _on_disconnect(self, *_: Any) -> None:
        self.monitor.disconnected()

    async def _on_event(self, *_: Any) -> None:
        self.monitor.event()

    async def _on_corpus(self, documents: int) -> None:
        self.monitor.corpus(self.monitor.corpus_generation + 1, documents)

    async def start(self, documents: int) -> None:
        """Begin writing the status (generation 1: the corpus loaded at start) and serve ``/health``."""
        self.monitor.corpus(1, documents)
        health = self.settings.health
        self._tasks.append(asyncio.create_task(self.monitor.run(health.interval_seconds), name="summitbot-health"))
        if health.listen:
            address = _host_port(health.listen)
            assert address is not None  # validated with the config
            try:
                self._server = await serve_http(*address, monitor_verdict(self.monitor, health.stale_seconds))
                log.info("health endpoint on http://%s/health", health.listen)
            except OSError as exc:
                log.error("health endpoint: cannot listen on %s: %s", health.listen, exc.strerror or exc)

    def check_published_commands(self) -> None:
        """In the background: warn when the published commands differ from the code's."""
        self._tasks.append(asyncio.create_task(self._check_published(), name="summitbot-command-check"))

    async def _check_published(self) -> None:
        bot = self._bot
        if bot is None or bot.application_id is None:
            return
        guild_id = self.settings.discord.dev_guild_id
        try:
            published = await bot.http.get_global_commands(bot.application_id)
            code = [c.to_dict(bot.tree) for c in bot.tree.get_commands()]
            guild_published: list[Any] = []
            if guild_id:
                guild_published = await bot.http.get_guild_commands(bot.application_id, guild_id)
        except (discord.HTTPException, OSError) as exc:
            log.debug("could not compare the published commands: %s", exc)
            return
        diff = compare(code, list(published))
        if not diff.same and not (guild_id and not published):
            log.warning(
                "the published slash commands differ from this version's (%s): run `summitbot sync`",
                diff.describe(),
            )
        twice = duplicated(list(published), list(guild_published))
        if twice:
            log.warning(
                "commands published both globally and to guild %s (shown twice there): %s; "
                "remove one set with `summitbot sync --clear --guild %s` or `summitbot sync --clear`",
                guild_id,
                ", ".join(f"/{n}" for n in twice),
                guild_id,
            )

    async def stop(self) -> None:
        """Stop the loop and the endpoint; write the final 'stopped' status."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None
        await asyncio.to_thread(self.monitor.stopped)
