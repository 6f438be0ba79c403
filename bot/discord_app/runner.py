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

import aiohttp
import discord
from discord import app_commands

from bot.config import Settings
from bot.corpus import CorpusError
from bot.discord_app.app import SummitBot, configure_endpoints, create_bot
from bot.engine import build_engine

log = logging.getLogger("summitbot.discord")


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
    for warning in engine.probe_warnings():
        log.warning("%s", warning)
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
    names = ", ".join(f"/{c.name}" for c in synced)
    where = f"guild {guild_id}" if guild_id is not None else "all guilds (global commands may take up to an hour)"
    print(f"Synced {len(synced)} commands to {where}: {names}")
    return 0
