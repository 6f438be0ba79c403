"""Starting the bot process: ``summitbot run`` and ``summitbot sync``.

``run_bot`` reads the token from the environment, loads the corpus, connects and answers until
SIGINT/SIGTERM. ``sync_commands`` logs in over HTTP only and publishes the slash commands. Start-up
problems are one line on stderr and exit status 1, never a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from typing import Any

import aiohttp
import discord

from bot.config import Settings
from bot.corpus import CorpusError
from bot.discord_app.app import SummitBot, configure_endpoints, create_bot
from bot.discord_app.log_privacy import install_payload_filter
from bot.discord_app.operations import Operations
from bot.discord_app.published import Published, publish, shown
from bot.engine import build_engine, logged_progress
from bot.ops import dblock
from bot.ops.health import ErrorCounter
from bot.ops.logs import configure_logging, shutdown_logging
from bot.terminal import clean

log = logging.getLogger("summitbot.discord")


def _token(settings: Settings) -> str | None:
    token = os.environ.get(settings.discord.token_env, "").strip()
    return token or None


def _say(line: str) -> None:
    """One line on stderr, control characters made visible (a server's error text is not trusted)."""
    print(f"summitbot: {clean(line)}", file=sys.stderr)


def _no_token(settings: Settings) -> int:
    env = settings.discord.token_env
    _say(f"no Discord token: set the environment variable {env} (the token is never read from the config file)")
    return 1


async def _serve(bot: SummitBot, token: str, operations: Operations | None = None) -> None:
    """Run until the connection ends or SIGINT/SIGTERM asks us to stop (then close cleanly).

    ``operations`` (health status, /health endpoint) runs alongside and writes "stopped" last.
    """
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
        if operations is not None:
            await operations.start(len(bot.engine.corpus.documents))
        async with bot:
            await bot.start(token)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
        if stopping:
            await stopping[0]
        if operations is not None:
            await operations.stop()


def run_bot(settings: Settings) -> int:
    """``summitbot run``: connect and answer until stopped. 0 on a clean stop, 1 on a start-up error."""
    token = _token(settings)
    if token is None:
        return _no_token(settings)
    try:
        engine = build_engine(settings, progress=logged_progress(log.info), log=log.info)
    except CorpusError as exc:
        for problem in exc.problems:
            _say(f"{problem.label}: {problem}")
        return 1
    errors = ErrorCounter()
    handlers = configure_logging(settings.logging, secrets=[token], extra_handlers=[errors])
    install_payload_filter(settings.logging.discord_payloads)
    if engine.index_outcome is not None:
        log.info("%s", engine.index_outcome.summary())
    for warning in engine.probe_warnings():  # failing probes: a warning, never a refusal to start
        log.warning("%s", warning)
    try:
        return _run(settings, token, engine, errors)
    finally:
        shutdown_logging(handlers)


def _run(settings: Settings, token: str, engine: Any, errors: ErrorCounter) -> int:
    configure_endpoints(settings.discord)
    bot = create_bot(settings, engine)
    operations = Operations(settings, errors)
    operations.attach(bot)
    database = dblock.sqlite_database(settings)
    try:
        with dblock.shared(database) if database else contextlib.nullcontext(True) as usable:
            if not usable:
                _say(f"the analytics database {database} is being restored (summitbot restore); start again after it")
                return 1
            asyncio.run(_serve(bot, token, operations))
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


async def _sync(settings: Settings, token: str, guild_id: int | None, clear: bool) -> Published:
    configure_endpoints(settings.discord)
    bot = create_bot(settings, None, sync_on_start=False, open_analytics=False)
    async with bot:
        await bot.login(token)  # HTTP only: runs setup_hook, which registers the commands
        other = settings.discord.dev_guild_id if guild_id is None else None
        return await publish(bot, guild_id, clear=clear, other_guild=other)


def sync_commands(settings: Settings, guild_id: int | None = None, clear: bool = False) -> int:
    """``summitbot sync``: publish the slash commands globally (or to one guild, instantly), or
    remove them (``clear``); say what changed, and warn when a guild shows commands twice."""
    token = _token(settings)
    if token is None:
        return _no_token(settings)
    logging.basicConfig(level=logging.WARNING)
    try:
        result = asyncio.run(_sync(settings, token, guild_id, clear))
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
    print(_sync_report(result, clear))
    if result.duplicates:
        guild = guild_id if guild_id is not None else result.other_guild
        listed = shown(result.duplicates)
        fix = f"summitbot sync --clear --guild {guild}" if guild_id is not None else "summitbot sync --clear"
        _say(
            f"warning: {listed} are published both globally and to guild {guild}, so members there see them "
            f"twice; remove one set: `{fix}`"
            + ("" if guild_id is not None else f" or `summitbot sync --clear --guild {guild}`")
        )
    return 0


def _sync_report(result: Published, clear: bool) -> str:
    """What ``summitbot sync`` did, for the terminal."""
    where = f"guild {result.guild_id}" if result.guild_id is not None else "all guilds"
    if clear:
        removed = shown(result.diff.gone)
        scope = f"the commands of guild {result.guild_id}" if result.guild_id is not None else "the global commands"
        if not removed:
            return f"Cleared {scope}: nothing was published."
        return f"Cleared {scope} (removed {removed})."
    names = shown(result.names)
    lines = [f"Synced {len(result.names)} commands to {where}: {names}"]
    lines.append(f"Changes: {result.diff.describe()}." if not result.diff.same else "Published commands: no change.")
    if result.guild_id is None:
        lines.append("Global commands may take up to an hour to appear everywhere.")
    return "\n".join(lines)
