"""Analytics in the running bot: retention is applied by the bot itself, not only by the CLI."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from bot_harness import make_settings, running
from discord_stub import DiscordStub

import bot.discord_app.app as app_module
from bot.storage import QuestionRecord


@pytest.fixture
async def stub() -> AsyncIterator[DiscordStub]:
    async with DiscordStub() as server:
        yield server


def _count(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*) FROM questions").fetchone()[0]


async def test_running_bot_purges_old_rows_on_its_own(
    stub: DiscordStub, corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_module, "PURGE_EVERY_SECONDS", 0.05)
    settings = make_settings(stub, corpus_dir, tmp_path / "data")
    settings = dataclasses.replace(settings, analytics=dataclasses.replace(settings.analytics, retention_days=30))
    async with running(settings, stub) as bot:
        assert bot.analytics is not None
        old = datetime.now(timezone.utc) - timedelta(days=45)
        recent = datetime.now(timezone.utc) - timedelta(days=2)
        for asked_at in (old, old, recent):
            row = await bot.analytics.record_question(
                QuestionRecord(user_id=7, question="q", answered=True, asked_at=asked_at)
            )
            assert row is not None
        db = settings.analytics.path
        for _ in range(200):  # the daily purge runs every 50 ms here; wait for it, bounded
            if _count(db) == 1:
                break
            await asyncio.sleep(0.02)
        assert _count(db) == 1  # the two rows past retention are gone, the recent one is kept
