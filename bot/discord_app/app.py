"""The Discord bot at run time: the Bot subclass that holds the current engine and its runtime.

:class:`SummitBot` owns the engine now in service (swapped whole on reload), the questions
remembered for "More passages", the cooldowns, analytics (with its circuit breaker, see
:mod:`bot.discord_app.recording`) and its daily purge, and keeps every gateway connection on the
configured server. ``discord.api_url``/``discord.gateway_url`` point the client at any
Discord-compatible server (the tests' loopback stub, a proxy). Starting the process is
:mod:`bot.discord_app.runner`'s job; the talking is the cogs'.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import gc
import logging
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import discord
import yarl
from discord import app_commands
from discord.ext import commands

from bot.config import DiscordSettings, Settings
from bot.corpus import CorpusError, Problem
from bot.discord_app.components import MorePassagesButton, VoteButton
from bot.discord_app.gateway_guard import guard_parsers
from bot.discord_app.guards import Cooldown
from bot.discord_app.recording import RECORD_WAIT_SECONDS, RecordBreaker
from bot.discord_app.replies import NO_MENTIONS, send_private
from bot.discord_app.servers import ServerRuntime
from bot.engine import CorpusChange, Engine, build_engine, corpus_change, logged_progress, open_saved_engine
from bot.index_store import IndexCacheError
from bot.rebuild import rebuild_in_child
from bot.worker_thread import run_with_deadline

if TYPE_CHECKING:
    from bot.storage import AsyncAnalytics, QuestionRecord

log = logging.getLogger("summitbot.discord")

COGS = (
    "bot.discord_app.cogs.questions",
    "bot.discord_app.cogs.summaries",
    "bot.discord_app.cogs.admin",
    "bot.discord_app.cogs.settings",
    "bot.discord_app.cogs.corpus",
)
#: Questions remembered for "More passages" (the answer's footer is the fallback after a restart).
RECENT_QUESTIONS = 4096
PURGE_EVERY_SECONDS = 24 * 3600
_DEFAULT_GATEWAY = "wss://gateway.discord.gg/"


# ------------------------------------------------------------------------------------ connection


def configure_endpoints(settings: DiscordSettings) -> None:
    """Point discord.py's REST client and gateway at the configured URLs (process-wide)."""
    discord.http.Route.BASE = settings.api_url.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.gateway_url)


def build_intents(settings: DiscordSettings) -> discord.Intents:
    """Guilds, guild and DM messages; message content when ``discord.message_content`` says so,
    or (left null) when answer or forum channels are configured.

    Mentions of the bot and DMs carry their content without the privileged intent; reading every
    message in an answer channel needs it, so servers can add answer channels with ``/settings``
    only when it is on.
    """
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.dm_messages = True
    wanted = settings.message_content
    intents.message_content = bool(settings.answer_channels or settings.forum_channels) if wanted is None else wanted
    return intents


class SummitTree(app_commands.CommandTree):
    """The command tree: every slash-command error ends here (short private reply, full log)."""

    async def on_error(self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError) -> None:
        """Log the traceback; tell the user briefly and privately."""
        name = interaction.command.qualified_name if interaction.command else "?"
        if isinstance(error, app_commands.CheckFailure):
            text = "You can't use that command here."
        else:
            log.error("error in /%s", name, exc_info=error)
            text = "Sorry, something went wrong. The error has been logged."
        await send_private(interaction, text)


# ------------------------------------------------------------------------------------------ bot


def freeze_heap() -> None:
    """Exempt every object alive now (above all the engine) from the cyclic garbage collector.

    A 100,000-passage engine is ~135,000 tracked objects; without this each full collection walks
    them all and stalls the event loop for 50-200 ms. The engine holds no reference cycles, so a
    frozen engine that a reload replaced is still freed by reference counting.
    """
    gc.freeze()


@dataclasses.dataclass(frozen=True)
class ReloadOutcome:
    """The result of a corpus reload: the change (None on failure), problems, the time taken, and
    warnings about the new corpus (failing probes) that did not stop it."""

    change: CorpusChange | None
    problems: tuple[Problem, ...]
    seconds: float
    documents: int
    unexpected: bool = False
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the new corpus is in service."""
        return self.change is not None


class SummitBot(commands.Bot):
    """The bot: holds the current :class:`Engine` (swapped whole on reload), settings, cooldowns
    and analytics; cogs do the talking."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine | None,
        *,
        sync_on_start: bool = True,
        open_analytics: bool = True,
        **options: Any,
    ) -> None:
        ds = settings.discord
        # The bot never joins voice: no warnings about missing voice libraries.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        if ds.shard_count is not None:
            options.setdefault("shard_count", ds.shard_count)
            if ds.shard_ids is not None:
                options.setdefault("shard_ids", list(ds.shard_ids))
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=build_intents(ds),
            allowed_mentions=NO_MENTIONS,
            help_command=None,
            tree_cls=SummitTree,
            guild_ready_timeout=ds.guild_ready_timeout,
            **options,
        )
        self.settings = settings
        self._engine = engine
        self.sync_on_start = sync_on_start
        self.open_analytics = open_analytics
        self.analytics: AsyncAnalytics | None = None
        self.reload_lock = asyncio.Lock()
        self.cooldown = Cooldown(ds.cooldown_questions, ds.cooldown_seconds)
        self.servers = ServerRuntime(self)
        self.record_breaker = RecordBreaker()
        self.recent_questions: collections.OrderedDict[str, str] = collections.OrderedDict()
        self._background: set[asyncio.Future[Any]] = set()
        self._purge_task: asyncio.Task[None] | None = None
        self._pin_gateway_after_ready()
        # A gateway event discord.py cannot parse is logged and skipped, not the end of the process.
        self.skipped_events = guard_parsers(self._connection.parsers)

    # -- the engine ------------------------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        """The engine now in service. Take the reference once per request: a reload swaps it."""
        if self._engine is None:
            raise RuntimeError("no corpus is loaded")
        return self._engine

    async def reload_corpus(self) -> ReloadOutcome:
        """Rebuild the engine from the corpus folder off the event loop and swap it in.

        Reloads queue behind one lock. On any problem the old engine stays in service.
        """
        async with self.reload_lock:
            old = self._engine
            started = time.perf_counter()
            before = len(old.corpus.documents) if old else 0
            limit = self.settings.corpus.reload_timeout_seconds
            # A large corpus is millions of new objects: a full collection during the build would
            # walk them all and hold the event loop for seconds. The engine has no reference cycles,
            # so collection waits until it is built and frozen (``freeze_heap``).
            collecting = gc.isenabled()
            gc.disable()
            try:
                new = await self._rebuilt_engine(old, limit)
            except CorpusError as exc:
                return ReloadOutcome(None, tuple(exc.problems), time.perf_counter() - started, before)
            except asyncio.TimeoutError:
                log.warning("corpus reload gave up after %.0f s (corpus.reload_timeout_seconds)", limit)
                why = f"the reload did not finish within {limit:g} s (corpus.reload_timeout_seconds): gave up"
                problem = Problem(self.settings.corpus.path, None, why)
                return ReloadOutcome(None, (problem,), time.perf_counter() - started, before)
            except Exception:
                log.exception("corpus reload failed")
                problem = Problem(self.settings.corpus.path, None, "unexpected error while loading (see the log)")
                return ReloadOutcome(None, (problem,), time.perf_counter() - started, before, unexpected=True)
            finally:
                if collecting:
                    freeze_heap()  # first: re-enabled, the collector would walk the new engine at once
                    gc.enable()
            self._engine = new
            if new.index_outcome is not None:
                log.info("%s", new.index_outcome.summary())
            freeze_heap()
            self.dispatch("corpus_reloaded", len(new.corpus.documents))  # health: a new corpus generation
            seconds = time.perf_counter() - started
            # Comparing every paragraph of two large corpora takes a while: off the event loop too.
            change = await asyncio.to_thread(corpus_change, (old or new).corpus, new.corpus)
            log.info(
                "corpus reloaded in %.2fs: %d added, %d removed, %d changed; %d passages",
                seconds,
                len(change.added),
                len(change.removed),
                len(change.changed),
                change.passages_after,
            )
            warnings = await self._probe_warnings(new)
            return ReloadOutcome(change, (), seconds, len(new.corpus.documents), warnings=warnings)

    async def _rebuilt_engine(self, old: Engine | None, limit: float) -> Engine:
        """The new engine for a reload, within ``limit`` seconds.

        With a saved index (``search.index_cache``), the corpus is re-read and the saved corpus and
        index brought up to date in a child process (:mod:`bot.rebuild`); this process then only
        memory-maps what it wrote. Without one, the engine is built here, in a worker thread.
        """
        settings = self.settings
        progress = logged_progress(log.info)
        if settings.search.index_cache is None or old is None:
            return await run_with_deadline(
                build_engine, settings, old, progress, log.info, timeout=limit, name="summitbot-reload"
            )
        started = time.monotonic()
        report = await rebuild_in_child(settings, limit, log.info, progress)
        log.info("reload child process: %s; its peak memory %.0f MB", report.outcome.summary(), report.peak_mb)
        left = max(limit - (time.monotonic() - started), 1.0)
        try:
            return await run_with_deadline(
                open_saved_engine, settings, report.outcome, old, timeout=left, name="summitbot-reload"
            )
        except IndexCacheError as exc:  # e.g. the alias file changed in between: build it here
            log.warning("the reloaded index cannot be mapped (%s): building it in this process", exc)
            left = max(limit - (time.monotonic() - started), 1.0)
            return await run_with_deadline(
                build_engine, settings, old, progress, log.info, timeout=left, name="summitbot-reload"
            )

    @staticmethod
    async def _probe_warnings(engine: Engine) -> tuple[str, ...]:
        """The new corpus's failing probes (a warning, never a failed reload), off the event loop."""
        try:
            warnings = await asyncio.to_thread(engine.probe_warnings, short_names=True)
        except Exception:
            log.exception("running the probes after a reload failed")
            return ("the probes could not be run (see the log)",)
        for line in warnings:
            log.warning("after reload: %s", line)
        return warnings

    # -- questions remembered for buttons --------------------------------------------------------

    def remember_question(self, key: str, question: str) -> None:
        """Keep a question for its "More passages" button (bounded, most recent kept)."""
        self.recent_questions[key] = question
        self.recent_questions.move_to_end(key)
        while len(self.recent_questions) > RECENT_QUESTIONS:
            self.recent_questions.popitem(last=False)

    # -- analytics -------------------------------------------------------------------------------

    async def record_question(self, record: QuestionRecord) -> int | None:
        """Record a question; wait briefly for its row id (for vote buttons), never fail.

        While :attr:`record_breaker` is open (a recent write was slow or failed) the question is
        still recorded, in the background, but the answer does not wait for the row id.
        """
        if self.analytics is None:
            return None
        if record.guild_id is None and record.channel_id is not None:
            # A DM channel id names the person as surely as their user id: never stored.
            record = dataclasses.replace(record, channel_id=None)
        task = asyncio.ensure_future(self.analytics.record_question(record))
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        breaker = self.record_breaker
        if not breaker.should_wait():
            return None
        try:
            row = await asyncio.wait_for(asyncio.shield(task), timeout=RECORD_WAIT_SECONDS)
        except asyncio.TimeoutError:
            breaker.failed("recording a question is slow")
            return None
        except Exception:
            log.warning("analytics: recording a question failed", exc_info=True)
            breaker.failed("recording a question failed")
            return None
        if row is None:
            if self.analytics is not None and self.analytics.enabled:  # off: None at once, no wait to save
                breaker.failed("recording a question failed")
        else:
            breaker.succeeded()
        return row

    # -- lifecycle -------------------------------------------------------------------------------

    async def login(self, token: str) -> None:
        """Point discord.py at the configured API and gateway, then log in over HTTP."""
        configure_endpoints(self.settings.discord)
        await super().login(token)

    async def setup_hook(self) -> None:
        """Load cogs, register the persistent buttons, open analytics, sync to the dev guild."""
        for extension in COGS:
            await self.load_extension(extension)
        self.add_dynamic_items(MorePassagesButton, VoteButton)
        if self.open_analytics and self.settings.analytics.enabled:
            try:
                from bot.storage import open_analytics

                self.analytics = open_analytics(self.settings.analytics, url=self.settings.database_url())
            except Exception:
                log.exception("analytics could not be opened; answering without it")
            else:
                if self.analytics is not None and self.settings.analytics.retention_days > 0:
                    self._purge_task = asyncio.create_task(self._purge_daily(), name="summitbot-analytics-purge")
        await self.servers.start()
        freeze_heap()
        guild_id = self.settings.discord.dev_guild_id
        if self.sync_on_start and guild_id:
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            try:
                synced = await self.tree.sync(guild=guild)
                log.info("synced %d slash commands to the dev guild %s", len(synced), guild_id)
            except discord.HTTPException as exc:
                log.warning("could not sync commands to the dev guild %s: %s", guild_id, exc)

    async def on_ready(self) -> None:
        """Log who we are and where."""
        user = self.user
        log.info("logged in as %s (id %s) in %d guilds", user, user.id if user else "?", len(self.guilds))

    async def on_message(self, message: discord.Message, /) -> None:
        """No prefix commands: the Questions cog listens to messages."""

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        """Unhandled errors in event handlers: log the traceback, keep running.

        While the bot is closing (SIGTERM arrived while a ready handler ran, say), a handler that meets the
        closed session or the shut-down thread pool is expected: one debug line, not a traceback.
        """
        if self.is_closed():
            log.debug("%s failed while shutting down: %s", event_method, sys.exc_info()[1])
            return
        log.exception("unhandled error in %s", event_method)

    async def _purge_daily(self) -> None:
        """Delete analytics rows older than ``analytics.retention_days`` once a day (opening purges too)."""
        while True:
            await asyncio.sleep(PURGE_EVERY_SECONDS)
            if self.analytics is None:
                return
            deleted = await self.analytics.purge()
            if deleted:
                log.info("analytics: purged %d old questions", deleted)

    async def close(self) -> None:
        """Close analytics (waiting for queued writes) and the connection."""
        if self._purge_task is not None:
            self._purge_task.cancel()
        await self.servers.stop()
        if self.analytics is not None:
            analytics, self.analytics = self.analytics, None
            try:
                await analytics.aclose()
            except Exception:
                log.warning("analytics did not close cleanly", exc_info=True)
        await super().close()

    # -- keep every gateway connection on the configured server ----------------------------------

    def _pin_gateway_after_ready(self) -> None:
        """When a custom gateway is configured, resume there too (not at READY's resume URL)."""
        configured = self.settings.discord.gateway_url
        if configured == _DEFAULT_GATEWAY:
            return
        pinned = yarl.URL(configured)
        parsers: dict[str, Callable[[Any], Any]] = self._connection.parsers
        original = parsers.get("READY")
        if original is None:
            return

        def parse_ready(data: Any) -> Any:
            for ws in self._websockets():
                ws.gateway = pinned
            return original(data)

        parsers["READY"] = parse_ready

    def _websockets(self) -> list[Any]:
        if self.ws is not None:
            return [self.ws]
        return []


class ShardedSummitBot(SummitBot, commands.AutoShardedBot):
    """The same bot as an :class:`AutoShardedBot` (``discord.shard_count`` set)."""

    def _websockets(self) -> list[Any]:
        sockets: list[Any] = []
        for shard_id in self.shards:
            try:
                sockets.append(self._get_websocket(shard_id=shard_id))
            except (KeyError, AttributeError):
                continue
        return sockets


def create_bot(settings: Settings, engine: Engine | None, **options: Any) -> SummitBot:
    """A :class:`SummitBot`, or a :class:`ShardedSummitBot` when ``discord.shard_count`` is set."""
    cls = ShardedSummitBot if settings.discord.shard_count is not None else SummitBot
    return cls(settings, engine, **options)
