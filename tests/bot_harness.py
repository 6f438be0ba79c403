"""Shared helpers for the tests that run the project's bot against the loopback Discord stub.

The bot is always the project's real :class:`~bot.discord_app.app.SummitBot`, configured through
``discord.api_url``/``gateway_url`` to talk to a loopback :class:`~discord_stub.DiscordStub`.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import discord
import discord.gateway
import discord.http
from discord_stub import DiscordStub, RecordedRequest, run_bot

from bot.config import AnalyticsSettings, CorpusSettings, DiscordSettings, Settings
from bot.discord_app.app import SummitBot, create_bot
from bot.engine import build_engine

SHIPPED_CORPUS = Path(__file__).resolve().parent.parent / "corpus"
VANCE = "What did JD Vance state about an America first approach?"


def make_settings(
    stub: DiscordStub, corpus: Path, data: Path, *, analytics: bool = True, **discord_keys: Any
) -> Settings:
    """Settings for a bot on ``stub`` with corpus ``corpus`` and analytics under ``data``."""
    keys: dict[str, Any] = {
        "api_url": stub.api_url,
        "gateway_url": stub.gateway_url,
        "guild_ready_timeout": 0.05,
        "cooldown_questions": 1000,
        "cooldown_seconds": 1.0,
    }
    keys.update(discord_keys)
    return Settings(
        corpus=CorpusSettings(path=corpus),
        discord=DiscordSettings(**keys),
        analytics=AnalyticsSettings(enabled=analytics, path=data / "analytics.sqlite3"),
    )


@asynccontextmanager
async def running(settings: Settings, stub: DiscordStub) -> AsyncIterator[SummitBot]:
    """The project's bot started against ``stub`` (ready); closed and Discord's URLs restored after."""
    base, gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    bot = create_bot(settings, build_engine(settings))
    try:
        async with run_bot(bot, stub):
            yield bot
    finally:
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = base, gateway


def mention(stub: DiscordStub) -> str:
    """The bot's mention, as a user would type it."""
    return f"<@{stub.bot_user.id}>"


def write_doc(
    corpus: Path, name: str, title: str, source: str, paragraphs: Iterable[str], url: str | None = None
) -> Path:
    """Write one article into a corpus folder; returns its path."""
    path = corpus / f"{name}.md"
    body = "\n\n".join(paragraphs)
    front = f'title: "{title}"\nsource: {source}\n' + (f"url: {url}\n" if url else "")
    path.write_text(f"---\n{front}---\n\n{body}\n", encoding="utf-8")
    return path


def no_pings(rec: RecordedRequest) -> bool:
    """The request allowed no mention at all, and the stub resolved no one to ping."""
    sent = rec.allowed_mentions
    message = rec.message or {}
    return (
        sent is not None
        and sent.get("parse") == []
        and not sent.get("users")
        and not sent.get("roles")
        and not sent.get("replied_user")
        and not message.get("mentions")
        and not message.get("mention_roles")
        and not message.get("mention_everyone")
    )


def reply_target(rec: RecordedRequest) -> int | None:
    """The id of the message a bot message replies to (None when it is not a reply)."""
    ref = (rec.json or {}).get("message_reference") or {}
    return int(ref["message_id"]) if "message_id" in ref else None


async def replies_to(
    stub: DiscordStub, message_ids: Iterable[int], *, since: int = 0, timeout: float = 20.0
) -> dict[int, RecordedRequest]:
    """Wait until every message in ``message_ids`` has a successful reply; message id -> reply.

    Raises :class:`TimeoutError` naming how many are missing.
    """
    wanted = set(message_ids)
    found: dict[int, RecordedRequest] = {}
    deadline = time.monotonic() + timeout
    while True:
        for rec in stub.requests[since:]:
            if rec.kind == "create_message" and rec.ok:
                target = reply_target(rec)
                if target in wanted and target not in found:
                    found[target] = rec
        if len(found) == len(wanted):
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(wanted) - len(found)} of {len(wanted)} questions got no reply")
        await asyncio.sleep(0.05)


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """The issue's alias bomb: each level a list of ``width`` aliases of the level below (width**levels items)."""
    names = "abcdefghijklmnop"[: levels + 1]
    lines = [f"{names[0]}: &{names[0]} [{','.join('x' * width)}]"]
    for prev, cur in itertools.pairwise(names):
        lines.append(f"{cur}: &{cur} [{','.join([f'*{prev}'] * width)}]")
    return "\n".join(lines) + "\n"


def article(front: str, body: str = "The summit met in Paris.") -> str:
    """An ``.md`` article with this front matter (``key: value`` lines) and body."""
    return f"---\n{front}---\n\n{body}\n"


def show(rec: Any) -> None:
    """Print what the user sees (run pytest -s to read it)."""
    print("\n--- content:", rec.content)
    for embed in rec.embeds:
        print("--- embed:", embed)
    print("--- components:", rec.components)


def custom_ids(rec: Any) -> list[str]:
    return [c.get("custom_id", "") for row in rec.components for c in row.get("components", [])]


async def no_message(stub: DiscordStub, since: int, timeout: float = 2.0) -> bool:
    """True when the bot posts nothing within ``timeout`` (2 s: a bot answers in ~50 ms here, so a
    regression that answers is seen, even on a loaded machine)."""
    try:
        rec = await stub.wait_for_message(since=since, timeout=timeout)
    except TimeoutError:
        return True
    show(rec)
    return False
