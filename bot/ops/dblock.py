"""Who uses the analytics database: a lock file beside it (``<db>.lock``).

A running bot holds a *shared* lock on it for as long as it runs (several processes, e.g. shards,
may share one database); ``summitbot restore`` needs the *exclusive* lock and refuses when it cannot
have it at once. The kernel drops the lock when a process dies, so a crashed bot never leaves a
stale "in use" behind.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks, nothing detected
    fcntl = None  # type: ignore[assignment]


def postgres_url(settings: Any) -> str | None:
    """The PostgreSQL URL when the storage is PostgreSQL (``settings.database_url()``: the environment
    variable ``database.url_env``, else ``database.url``), else None (the SQLite file)."""
    chooser = getattr(settings, "database_url", None)
    url = chooser() if callable(chooser) else getattr(getattr(settings, "database", None), "url", None)
    return url if isinstance(url, str) and url.startswith(("postgres://", "postgresql://")) else None


def sqlite_database(settings: Any) -> Path | None:
    """The SQLite analytics file the bot writes, or None (analytics off, or PostgreSQL)."""
    if not settings.analytics.enabled or postgres_url(settings):
        return None
    return Path(settings.analytics.path)


class DatabaseInUse(Exception):
    """The exclusive lock is held elsewhere (a running bot, or another restore)."""


def lock_path(db_path: Path) -> Path:
    """The lock file for ``db_path``: ``<database file name>.lock`` in the same folder."""
    return db_path.with_name(db_path.name + ".lock")


def _open(db_path: Path) -> int:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(lock_path(db_path), os.O_RDWR | os.O_CREAT, 0o600)


@contextlib.contextmanager
def shared(db_path: Path) -> Iterator[bool]:
    """Hold the shared lock while the bot runs; yields False when a restore holds the database
    (the bot then runs without analytics rather than write into a database being replaced)."""
    if fcntl is None:
        yield True
        return
    fd = _open(db_path)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # closing releases the lock


@contextlib.contextmanager
def exclusive(db_path: Path) -> Iterator[None]:
    """Hold the exclusive lock, or raise :class:`DatabaseInUse` at once."""
    if fcntl is None:
        yield
        return
    fd = _open(db_path)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DatabaseInUse(str(db_path)) from None
        yield
    finally:
        os.close(fd)
