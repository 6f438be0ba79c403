"""The analytics worker with a locked, deleted or replaced database file (real SQLite files, real
locks held by another connection): question rows are kept in a bounded queue and written when the
file frees up, drops are counted and logged, and a deleted file is created again, not written into
the void. Files are created mode 0600.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bot.storage import AnalyticsStore, AsyncAnalytics, QuestionRecord

SALT = b"worker-test-salt-0123456789"
LOGGER = "bot.storage"


def analytics_on(path: Path, **kwargs: object) -> AsyncAnalytics:
    """A worker on ``path`` with a short busy timeout and a quick retry."""
    kwargs.setdefault("retry_seconds", 0.2)
    return AsyncAnalytics(lambda: AnalyticsStore(path, SALT, busy_timeout=0.2), **kwargs)  # type: ignore[arg-type]


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Another connection holds an exclusive lock on the file inside the block."""
    holder = sqlite3.connect(path, timeout=0, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def questions(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [row[0] for row in conn.execute("SELECT question FROM questions ORDER BY id")]
    finally:
        conn.close()


async def until(condition: object, timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0.05)
    raise TimeoutError("condition not met")


def record(text: str) -> QuestionRecord:
    return QuestionRecord(user_id=42, question=text, answered=True)


async def test_rows_asked_while_the_file_is_locked_are_written_when_it_frees_up(tmp_path: Path) -> None:
    """A lock held for longer than the busy timeout (the README's promise): every row is written,
    in order, after the lock goes, without another question to trigger it."""
    path = tmp_path / "a.sqlite3"
    analytics = analytics_on(path)
    try:
        assert await analytics.record_question(record("before")) == 1
        with locked(path):
            for i in range(4):
                assert await analytics.record_question(record(f"locked {i}")) is None
            await asyncio.sleep(0.5)  # longer than the busy timeout, retries included
            assert analytics.unwritten_rows == 4
        await until(lambda: analytics.unwritten_rows == 0)
        assert questions(path) == ["before", "locked 0", "locked 1", "locked 2", "locked 3"]
        assert analytics.dropped_rows == 0
    finally:
        analytics.close(wait=True)


async def test_the_queue_is_bounded_and_drops_are_counted_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "a.sqlite3"
    analytics = analytics_on(path, max_unwritten=3)
    try:
        assert await analytics.record_question(record("before")) == 1
        with locked(path):
            for i in range(5):
                await analytics.record_question(record(f"locked {i}"))
            assert analytics.unwritten_rows == 3 and analytics.dropped_rows == 2
        await until(lambda: analytics.unwritten_rows == 0)
        assert questions(path) == ["before", "locked 2", "locked 3", "locked 4"]  # the newest kept
    finally:
        analytics.close(wait=True)
    dropped = [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == logging.ERROR]
    assert dropped and "question rows dropped" in dropped[0]


async def test_rows_still_unwritten_at_shutdown_are_counted_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "a.sqlite3"
    analytics = analytics_on(path, retry_seconds=60)
    assert await analytics.record_question(record("before")) == 1
    with locked(path):
        await analytics.record_question(record("locked"))
        await analytics.aclose()
    assert analytics.dropped_rows == 1
    assert any("still busy at shutdown: 1 question rows" in r.getMessage() for r in caplog.records)


async def test_a_database_deleted_while_running_is_created_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Deleted (with its WAL) under the running worker: the next row goes to a new file at the same
    path, with a warning, instead of into the unlinked one."""
    path = tmp_path / "data" / "a.sqlite3"
    analytics = analytics_on(path)
    try:
        assert await analytics.record_question(record("first")) == 1
        for leftover in path.parent.glob("a.sqlite3*"):
            leftover.unlink()
        assert await analytics.record_question(record("second")) == 1  # a new file, a new first row
        assert await analytics.record_question(record("third")) == 2
        assert questions(path) == ["second", "third"]
    finally:
        analytics.close(wait=True)
    warnings = [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]
    assert sum("deleted or replaced" in w for w in warnings) == 1


def test_database_file_is_created_0600_and_a_loose_one_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "data" / "a.sqlite3"
    with AnalyticsStore(path, SALT) as store:
        store.record_question(record("q"))
        wal = path.with_name(path.name + "-wal")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert not wal.exists() or stat.S_IMODE(wal.stat().st_mode) == 0o600
    path.chmod(0o644)
    AnalyticsStore(path, SALT).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
