"""The Discord bot: the Bot subclass that holds the current engine, and the run/sync entry points.

``run_bot`` (``summitbot run``) reads the token from the environment, loads the corpus, connects
and answers until SIGINT/SIGTERM. ``sync_commands`` (``summitbot sync``) logs in over HTTP only
and publishes the slash commands. ``discord.api_url``/``discord.gateway_url`` point the client at
any Discord-compatible server (the tests' loopback stub, a proxy).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import gc
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
import yarl
from discord import app_commands
from discord.ext import commands

from bot.config import DiscordSettings, Settings
from bot.corpus import CorpusError, Problem
from bot.discord_app.components import MorePassagesButton, VoteButton
from bot.discord_app.gateway_guard import guard_parsers
from bot.discord_app.log_privacy import install_payload_filter
from bot.discord_app.guards import Cooldown
from bot.engine import CorpusChange, Engine, build_engine, corpus_change
from bot.worker_thread import run_with_deadline

if TYPE_CHECKING:
    from bot.store import AsyncAnalytics

log = logging.getLogger("summitbot.discord")

#: Every send, reply, followup and edit uses this (and the bot's default is the same).
NO_MENTIONS = discord.AllowedMentions.none()
COGS = (
    "bot.discord_app.cogs.questions",
    "bot.discord_app.cogs.summaries",
    "bot.discord_app.cogs.admin",
)
#: How long an answer waits for its analytics row id (for the vote buttons) before going without.
RECORD_WAIT_SECONDS = 0.5
#: After a slow or failed analytics write, answers stop waiting for row ids for this long.
RECORD_PAUSE_SECONDS = 30.0
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
    """Guilds, guild and DM messages; message content only when answer channels are configured.

    Mentions of the bot and DMs carry their content without the privileged intent; reading every
    message in an answer channel needs it.
    """
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.dm_messages = True
    intents.message_content = bool(settings.answer_channels)
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


async def send_private(interaction: discord.Interaction[Any], text: str) -> None:
    """A short ephemeral message, whether or not the interaction was already answered/deferred."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
        else:
            await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
    except (discord.HTTPException, aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
        # Never let it escape: this runs in discord.py's own tasks, where an exception is only
        # "Task exception was never retrieved" at garbage collection.
        log.warning("could not send an error notice for an interaction (%s: %s)", type(exc).__name__, exc)


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
    """The result of a corpus reload: the change (None on failure), problems, and the time taken."""

    change: CorpusChange | None
    problems: tuple[Problem, ...]
    seconds: float
    documents: int
    unexpected: bool = False

    @property
    def ok(self) -> bool:
        """True when the new corpus is in service."""
        return self.change is not None


class RecordBreaker:
    """Whether an answer should wait for its analytics row id (a circuit breaker).

    After a write that is slow (no row id within ``RECORD_WAIT_SECONDS``) or fails, answers stop
    waiting for ``pause_seconds`` (they go out at once, without vote buttons; the rows are still
    written in the background); the first answer after the pause waits again and, if that write is
    fine, closes the breaker. A locked or broken database so costs at most one slow answer per pause.
    ``waits``/``skips`` count the answers that waited and those that did not.
    """

    def __init__(self, pause_seconds: float = RECORD_PAUSE_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.pause_seconds = pause_seconds
        self._clock = clock
        self._open_until: float | None = None
        self.waits = 0
        self.skips = 0

    @property
    def open(self) -> bool:
        """True while answers do not wait for row ids."""
        return self._open_until is not None and self._clock() < self._open_until

    def should_wait(self) -> bool:
        """Whether this answer waits for its row id (counted in ``waits`` or ``skips``)."""
        if self.open:
            self.skips += 1
            return False
        self.waits += 1
        return True

    def failed(self, why: str) -> None:
        """A write was slow or failed: stop waiting for a while."""
        if self._open_until is None:
            log.warning("analytics: %s; answering without vote buttons for the next %.0f s", why, self.pause_seconds)
        self._open_until = self._clock() + self.pause_seconds

    def succeeded(self) -> None:
        """A write the answer waited for gave its row id in time: wait for row ids again."""
        if self._open_until is not None:
            log.info("analytics: recording is fast again; vote buttons are back")
        self._open_until = None


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
            try:
                new = await run_with_deadline(build_engine, self.settings, timeout=limit, name="summitbot-reload")
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
            self._engine = new
            freeze_heap()
            seconds = time.perf_counter() - started
            change = corpus_change(new.corpus, new.corpus) if old is None else corpus_change(old.corpus, new.corpus)
            log.info(
                "corpus reloaded in %.2fs: %d added, %d removed, %d changed; %d passages",
                seconds,
                len(change.added),
                len(change.removed),
                len(change.changed),
                change.passages_after,
            )
            return ReloadOutcome(change, (), seconds, len(new.corpus.documents))

    # -- questions remembered for buttons --------------------------------------------------------

    def remember_question(self, key: str, question: str) -> None:
        """Keep a question for its "More passages" button (bounded, most recent kept)."""
        self.recent_questions[key] = question
        self.recent_questions.move_to_end(key)
        while len(self.recent_questions) > RECENT_QUESTIONS:
            self.recent_questions.popitem(last=False)

    # -- analytics -------------------------------------------------------------------------------

    async def record_question(self, **fields: Any) -> int | None:
        """Record a question; wait briefly for its row id (for vote buttons), never fail.

        While :attr:`record_breaker` is open (a recent write was slow or failed) the question is
        still recorded, in the background, but the answer does not wait for the row id.
        """
        if self.analytics is None:
            return None
        if fields.get("guild_id") is None:
            # A DM channel id names the person as surely as their user id: never stored.
            fields["channel_id"] = None
        task = asyncio.ensure_future(self.analytics.record_question(**fields))
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        breaker = self.record_breaker
        if not breaker.should_wait():
            return None
        try:
            record = await asyncio.wait_for(asyncio.shield(task), timeout=RECORD_WAIT_SECONDS)
        except asyncio.TimeoutError:
            breaker.failed("recording a question is slow")
            return None
        except Exception:
            log.warning("analytics: recording a question failed", exc_info=True)
            breaker.failed("recording a question failed")
            return None
        if record is None:
            if self.analytics is not None and self.analytics.enabled:  # off: None at once, no wait to save
                breaker.failed("recording a question failed")
        else:
            breaker.succeeded()
        return record

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
                from bot.store import open_analytics

                self.analytics = open_analytics(self.settings.analytics)
            except Exception:
                log.exception("analytics could not be opened; answering without it")
            else:
                if self.analytics is not None and self.settings.analytics.retention_days > 0:
                    self._purge_task = asyncio.create_task(self._purge_daily(), name="summitbot-analytics-purge")
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
        """Unhandled errors in event handlers: log the traceback, keep running."""
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


# ---------------------------------------------------------------------------------- entry points


def _token(settings: Settings) -> str | None:
    token = os.environ.get(settings.discord.token_env, "").strip()
    return token or None


def _say(line: str) -> None:
    print(f"summitbot: {line}", file=sys.stderr)


def _no_token(settings: Settings) -> int:
    env = settings.discord.token_env
    _say(f"no Discord token: set the environment variable {env} (the token is never read from the config file)")
    return 1


async def _serve(bot: SummitBot, token: str) -> None:
    """Run until the connection ends or SIGINT/SIGTERM asks us to stop (then close cleanly)."""
    loop = asyncio.get_running_loop()
    stopping: list[asyncio.Task[None]] = []

    def stop() -> None:
        if not stopping:
            log.info("shutting down")
            stopping.append(loop.create_task(bot.close()))

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows, or not the main thread
            loop.add_signal_handler(sig, stop)
    try:
        async with bot:
            await bot.start(token)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
        if stopping:
            await stopping[0]


def run_bot(settings: Settings) -> int:
    """``summitbot run``: connect and answer until stopped. 0 on a clean stop, 1 on a start-up error."""
    token = _token(settings)
    if token is None:
        return _no_token(settings)
    try:
        engine = build_engine(settings)
    except CorpusError as exc:
        for problem in exc.problems:
            _say(f"corpus error: {problem}")
        return 1
    discord.utils.setup_logging(level=logging.getLevelName(settings.logging.level.upper()), root=True)
    install_payload_filter(settings.logging.discord_payloads)
    configure_endpoints(settings.discord)
    bot = create_bot(settings, engine)
    try:
        asyncio.run(_serve(bot, token))
    except discord.LoginFailure:
        _say(f"Discord rejected the token in {settings.discord.token_env}; check it in the Developer Portal")
        return 1
    except discord.PrivilegedIntentsRequired:
        _say(
            "Discord refused the Message Content intent, needed for discord.answer_channels: enable it "
            "for the bot in the Developer Portal, or leave answer_channels empty"
        )
        return 1
    except (aiohttp.ClientError, OSError, discord.GatewayNotFound) as exc:
        _say(f"cannot reach Discord at {settings.discord.api_url}: {type(exc).__name__}")
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


async def _sync(settings: Settings, token: str, guild_id: int | None) -> list[app_commands.AppCommand]:
    configure_endpoints(settings.discord)
    bot = create_bot(settings, None, sync_on_start=False, open_analytics=False)
    async with bot:
        await bot.login(token)  # HTTP only: runs setup_hook, which registers the commands
        if guild_id is not None:
            guild = discord.Object(id=guild_id)
            bot.tree.copy_global_to(guild=guild)
            return await bot.tree.sync(guild=guild)
        return await bot.tree.sync()


def sync_commands(settings: Settings, guild_id: int | None = None) -> int:
    """``summitbot sync``: publish the slash commands globally (or to one guild, instantly)."""
    token = _token(settings)
    if token is None:
        return _no_token(settings)
    logging.basicConfig(level=logging.WARNING)
    try:
        synced = asyncio.run(_sync(settings, token, guild_id))
    except discord.LoginFailure:
        _say(f"Discord rejected the token in {settings.discord.token_env}; check it in the Developer Portal")
        return 1
    except discord.Forbidden:
        _say(f"not allowed to add commands to guild {guild_id}: invite the bot with the applications.commands scope")
        return 1
    except discord.HTTPException as exc:
        _say(f"Discord refused the commands: {exc.status} {exc.text[:200]}")
        return 1
    except (aiohttp.ClientError, OSError) as exc:
        _say(f"cannot reach Discord at {settings.discord.api_url}: {type(exc).__name__}")
        return 1
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        # A Discord-compatible server answered with something discord.py cannot read.
        _say(f"the answer from {settings.discord.api_url} to the command sync was malformed ({type(exc).__name__})")
        return 1
    names = ", ".join(f"/{c.name}" for c in synced)
    where = f"guild {guild_id}" if guild_id is not None else "all guilds (global commands may take up to an hour)"
    print(f"Synced {len(synced)} commands to {where}: {names}")
    return 0
