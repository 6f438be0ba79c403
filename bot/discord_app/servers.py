"""What the bot keeps per server, and what it shares with its other processes.

:class:`ServerRuntime` (``bot.servers``) holds:

* the application's owners (operators Discord names: the owner, or the team), fetched once at start;
* each server's settings (config defaults + that server's stored overrides, :mod:`bot.server_settings`)
  and a per-user cooldown per server built from them;
* a watcher that, every ``database.poll_seconds``, reads the shared counters in the database: when
  another process reloaded the corpus (``corpus_generation`` moved) this one reloads too; when
  another process changed a server's settings (``settings_generation`` moved) it reads them again.

Without a database (analytics off, or unusable) every server has the config's settings and
``/settings`` changes nothing (it says so); a reload reaches only the process it was made in.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

import discord

from bot.discord_app.guards import Cooldown, is_operator, owner_ids_of
from bot.server_settings import ServerSettings, decode, encode, validate

if TYPE_CHECKING:
    from bot.discord_app.app import SummitBot

log = logging.getLogger("summitbot.discord.servers")

CORPUS_GENERATION = "corpus_generation"
SETTINGS_GENERATION = "settings_generation"


class ServerRuntime:
    """Per-server settings and cooldowns, the operators, and the watch on the other processes."""

    def __init__(self, bot: SummitBot) -> None:
        self.bot = bot
        self.owner_ids: frozenset[int] = frozenset()
        self.defaults = ServerSettings.defaults(bot.settings.discord)
        self._overrides: dict[int, dict[str, Any]] = {}
        self._resolved: dict[int, ServerSettings] = {}
        self._cooldowns: dict[int | None, Cooldown] = {}
        self._seen: dict[str, int] = {}
        self._settings_loaded = False
        self._watch_task: asyncio.Task[None] | None = None
        self.reloads_from_elsewhere = 0

    # -- settings ------------------------------------------------------------------------------------

    def settings_for(self, guild_id: int | None) -> ServerSettings:
        """The settings in force in a server (the config defaults in DMs)."""
        if guild_id is None:
            return self.defaults
        resolved = self._resolved.get(guild_id)
        if resolved is None:
            resolved = self.defaults.with_overrides(self._overrides.get(guild_id, {}))
            self._resolved[guild_id] = resolved
        return resolved

    def overrides_for(self, guild_id: int) -> dict[str, Any]:
        """What that server changed (the rest are defaults)."""
        return dict(self._overrides.get(guild_id, {}))

    def cooldown_for(self, guild_id: int | None) -> Cooldown:
        """The per-user cooldown in a server: its own when it changed the cooldown settings, else the
        bot's (``bot.cooldown``, the config's, shared by DMs and every server on the defaults)."""
        settings = self.settings_for(guild_id)
        if (settings.cooldown_questions, settings.cooldown_seconds) == (
            self.defaults.cooldown_questions,
            self.defaults.cooldown_seconds,
        ):
            return self.bot.cooldown
        cooldown = self._cooldowns.get(guild_id)
        if cooldown is None or (cooldown.questions, cooldown.seconds) != (
            settings.cooldown_questions,
            settings.cooldown_seconds,
        ):
            cooldown = Cooldown(settings.cooldown_questions, settings.cooldown_seconds)
            self._cooldowns[guild_id] = cooldown
        return cooldown

    def _install(self, rows: dict[int, str]) -> None:
        self._overrides = {guild_id: decode(text) for guild_id, text in rows.items()}
        self._resolved.clear()
        self._settings_loaded = True

    async def change(self, guild_id: int, changes: dict[str, Any]) -> ServerSettings | None:
        """Apply ``changes`` (a None value: back to the default) to a server's settings and store
        them; the new settings, or None when the database could not store them (nothing changes)."""
        analytics = self.bot.analytics
        if analytics is None or not analytics.enabled:
            return None
        if not self._settings_loaded:  # never overwrite what is stored with what was never read
            rows = await analytics.server_settings()
            if rows is None:
                return None
            self._install(rows)
        overrides = self.overrides_for(guild_id)
        for name, value in changes.items():
            if value is None:
                overrides.pop(name, None)
            else:
                overrides[name] = value
        text = encode(overrides)  # validates every value
        generation = await analytics.set_server_settings(guild_id, text)
        if generation is None:
            return None
        self._seen[SETTINGS_GENERATION] = max(self._seen.get(SETTINGS_GENERATION, 0), generation)
        self._overrides[guild_id] = {name: validate(name, value) for name, value in decode(text).items()}
        self._resolved.pop(guild_id, None)
        log.info("settings of guild %s changed: %s", guild_id, ", ".join(sorted(changes)) or "none")
        return self.settings_for(guild_id)

    # -- start, watch, stop --------------------------------------------------------------------------

    async def start(self) -> None:
        """Take the owners from the application info (fetched at login), read every server's
        settings and the shared counters, and start the watcher."""
        self.learn_owners(self.bot.application)
        analytics = self.bot.analytics
        if analytics is None:
            return
        rows = await analytics.server_settings()
        if rows is not None:
            self._install(rows)
        state = await analytics.shared_state()
        if state is not None:
            self._seen = dict(state)
        self._watch_task = asyncio.create_task(self._watch(), name="summitbot-shared-state")

    def is_operator(self, user: discord.abc.User) -> bool:
        """Whether ``user`` runs the bot (see :func:`~bot.discord_app.guards.is_operator`): the one
        check every operator-only command uses, with the owners learned at start."""
        return is_operator(user, self.bot.settings.discord, self.owner_ids)

    def learn_owners(self, info: discord.AppInfo | None) -> None:
        """Operators named by Discord: the application's owner or its team (see :func:`owner_ids_of`)."""
        if info is None:
            log.warning("no application info: the operators are only those in discord.operator_users/_roles")
            return
        self.owner_ids = owner_ids_of(info)

    async def corpus_reloaded(self) -> None:
        """After a successful ``/reload`` here: tell the other processes (bump the corpus generation)."""
        analytics = self.bot.analytics
        if analytics is None:
            return
        generation = await analytics.bump(CORPUS_GENERATION)
        if generation is None:
            log.warning("could not record the reload in the database; other processes keep their corpus")
            return
        self._seen[CORPUS_GENERATION] = max(self._seen.get(CORPUS_GENERATION, 0), generation)

    async def poll_once(self) -> None:
        """Look at the shared counters once and catch up with what other processes did."""
        analytics = self.bot.analytics
        if analytics is None:
            return
        state = await analytics.shared_state()
        if state is None:
            return
        settings_generation = state.get(SETTINGS_GENERATION, 0)
        if not self._settings_loaded or settings_generation > self._seen.get(SETTINGS_GENERATION, 0):
            rows = await analytics.server_settings()
            if rows is not None:
                if self._settings_loaded:
                    log.info("server settings changed in another process: read them again")
                self._install(rows)
                self._seen[SETTINGS_GENERATION] = settings_generation
        corpus_generation = state.get(CORPUS_GENERATION, 0)
        if CORPUS_GENERATION not in self._seen:  # the database was not reachable at start: from now on
            self._seen[CORPUS_GENERATION] = corpus_generation
        elif corpus_generation > self._seen[CORPUS_GENERATION]:
            self._seen[CORPUS_GENERATION] = corpus_generation  # one try per reload elsewhere
            log.info("the corpus was reloaded in another process (generation %d): reloading", corpus_generation)
            outcome = await self.bot.reload_corpus()
            self.reloads_from_elsewhere += 1
            if not outcome.ok:
                log.error(
                    "reloading after another process's reload failed; keeping the old corpus: %s",
                    "; ".join(str(p) for p in outcome.problems[:3]),
                )

    async def _watch(self) -> None:
        interval = self.bot.settings.database.poll_seconds
        while True:
            await asyncio.sleep(interval)
            try:
                await self.poll_once()
            except Exception:
                log.exception("watching the shared database failed; trying again")

    async def stop(self) -> None:
        """Stop the watcher."""
        task, self._watch_task = self._watch_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
