"""The analytics database's schema: its ordered migrations and how they are applied.

Schema (``PRAGMA user_version`` = 2), built by the ordered :data:`MIGRATIONS`::

    questions(id INTEGER PRIMARY KEY AUTOINCREMENT,  -- ids are never reused, even after a purge
              asked_at TEXT NOT NULL,                -- UTC, 'YYYY-MM-DDTHH:MM:SS.ffffff+00:00'
              guild_id INTEGER, channel_id INTEGER,  -- guild_id NULL in direct messages
              asker_hash TEXT NOT NULL,              -- HMAC-SHA256 hex, never the raw id
              question TEXT,                         -- NULL when text storage is off
              answered INTEGER NOT NULL,             -- 0 or 1
              doc_id TEXT, paragraph INTEGER,        -- the top passage cited
              score REAL,
              latency_ms INTEGER)                    -- added in v2
    votes(question_id INTEGER REFERENCES questions(id) ON DELETE CASCADE,   -- table added in v2
          voter_hash TEXT, value INTEGER (+1 or -1), voted_at TEXT,
          PRIMARY KEY (question_id, voter_hash))     -- one vote per person per answer

Each migration runs in its own ``BEGIN IMMEDIATE`` transaction together with the ``user_version``
bump, so an interrupted upgrade leaves the file at the previous version with every row kept.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("bot.storage")


class AnalyticsSchemaError(RuntimeError):
    """The database schema cannot be used by this code (too new, or needs an upgrade it cannot run)."""


@dataclass(frozen=True)
class Migration:
    """One schema step: the statements that take the file from ``version - 1`` to ``version``."""

    version: int
    description: str
    statements: tuple[str, ...]


#: The ordered schema history. Append new steps; never edit a released one.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "questions table",
        (
            """
            CREATE TABLE questions (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                asked_at TEXT NOT NULL,
                guild_id INTEGER,
                channel_id INTEGER,
                asker_hash TEXT NOT NULL,
                question TEXT,
                answered INTEGER NOT NULL CHECK (answered IN (0, 1)),
                doc_id TEXT,
                paragraph INTEGER,
                score REAL
            )
            """,
            "CREATE INDEX idx_questions_asked_at ON questions (asked_at)",
        ),
    ),
    Migration(
        2,
        "votes table and latency column",
        (
            "ALTER TABLE questions ADD COLUMN latency_ms INTEGER",
            """
            CREATE TABLE votes (
                question_id INTEGER NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
                voter_hash TEXT NOT NULL,
                value INTEGER NOT NULL CHECK (value IN (-1, 1)),
                voted_at TEXT NOT NULL,
                PRIMARY KEY (question_id, voter_hash)
            ) WITHOUT ROWID
            """,
        ),
    ),
)


def user_version(conn: sqlite3.Connection) -> int:
    """The schema version stored in the file header."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection, mode: str = "IMMEDIATE") -> Iterator[None]:
    """Run the block in one transaction; roll back when it raises."""
    conn.execute(f"BEGIN {mode}")
    try:
        yield
    except BaseException:
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def migrate(conn: sqlite3.Connection, path: Path, *, read_only: bool = False) -> None:
    """Apply the missing :data:`MIGRATIONS`, each in its own transaction with its version bump.

    Raises :class:`AnalyticsSchemaError` when the file is newer than this code, or needs an upgrade
    but is opened read-only.
    """
    migrations = MIGRATIONS
    latest = migrations[-1].version
    current = user_version(conn)
    if current > latest:
        raise AnalyticsSchemaError(f"{path} has schema version {current}, newer than this code knows ({latest})")
    if current == latest:
        return
    if read_only:
        raise AnalyticsSchemaError(f"{path} has schema version {current} and needs an upgrade, but is opened read-only")
    for step in migrations:
        if step.version <= current:
            continue
        with transaction(conn):
            found = user_version(conn)  # re-read under the write lock: another process may have
            if found >= step.version:  # upgraded the file in the meantime
                continue
            if found != step.version - 1:
                raise AnalyticsSchemaError(f"{path}: cannot go from version {found} to {step.version}")
            for statement in step.statements:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {int(step.version)}")
        log.info("analytics: %s upgraded to schema v%d (%s)", path, step.version, step.description)
