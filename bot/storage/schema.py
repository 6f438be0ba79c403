"""The analytics database's schema: its ordered migrations and how they are applied.

Schema version 4 (``PRAGMA user_version`` on SQLite, the table ``schema_version`` on PostgreSQL),
built by the ordered :data:`MIGRATIONS`::

    questions(id INTEGER PRIMARY KEY AUTOINCREMENT,  -- ids are never reused, even after a purge
              asked_at TEXT NOT NULL,                -- UTC, 'YYYY-MM-DDTHH:MM:SS.ffffff+00:00'
              guild_id INTEGER, channel_id INTEGER,  -- guild_id NULL in direct messages
              asker_hash TEXT NOT NULL,              -- HMAC-SHA256 hex, never the raw id
              question TEXT,                         -- NULL when text storage is off
              answered INTEGER NOT NULL,             -- 0 or 1
              doc_id TEXT, paragraph INTEGER,        -- the top passage cited
              score REAL,
              latency_ms INTEGER,                    -- added in v2
              verdict TEXT)                          -- added in v4: 'answer', 'closest' or 'none';
                                                     -- NULL on unanswered rows written before v4
    votes(question_id INTEGER REFERENCES questions(id) ON DELETE CASCADE,   -- table added in v2
          voter_hash TEXT, value INTEGER (+1 or -1), voted_at TEXT,
          PRIMARY KEY (question_id, voter_hash))     -- one vote per person per answer
    server_settings(guild_id INTEGER PRIMARY KEY,    -- table added in v3
                    overrides TEXT,                  -- JSON: only what that server changed
                    updated_at TEXT)
    shared_state(name TEXT PRIMARY KEY,              -- table added in v3: counters every process
                 value INTEGER, updated_at TEXT)     -- watches ('corpus_generation', 'settings_generation')

Each migration runs in its own transaction together with the version bump (``BEGIN IMMEDIATE`` on
SQLite; an advisory lock on PostgreSQL, whose DDL is transactional), so an interrupted upgrade leaves
the database at the previous version with every row kept. PostgreSQL gets the same statements with
64-bit ``BIGINT`` for every ``INTEGER`` (see :func:`bot.storage.database.postgres_ddl`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.storage.database import Database

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
    Migration(
        3,
        "per-server settings, shared counters (corpus generation), questions by server",
        (
            """
            CREATE TABLE server_settings (
                guild_id INTEGER PRIMARY KEY,
                overrides TEXT NOT NULL,
                updated_at TEXT NOT NULL
            )
            """,
            """
            CREATE TABLE shared_state (
                name TEXT PRIMARY KEY,
                value INTEGER NOT NULL,
                updated_at TEXT NOT NULL
            )
            """,
            "CREATE INDEX idx_questions_guild ON questions (guild_id, asked_at)",
        ),
    ),
    Migration(
        4,
        "the verdict of each reply (answer / closest / none)",
        (
            "ALTER TABLE questions ADD COLUMN verdict TEXT CHECK (verdict IN ('answer', 'closest', 'none'))",
            # Rows written before v4 keep their meaning: answered = 1 was an answer; answered = 0 was
            # a closest reply or nothing found, which was not recorded, so its verdict stays NULL.
            "UPDATE questions SET verdict = 'answer' WHERE answered = 1",
        ),
    ),
)


def migrate(db: Database, *, read_only: bool = False) -> None:
    """Apply the missing :data:`MIGRATIONS`, each in its own transaction with its version bump.

    The same steps run on SQLite and PostgreSQL (:meth:`Database.ddl` translates the DDL). Raises
    :class:`AnalyticsSchemaError` when the database is newer than this code, or needs an upgrade but
    is opened read-only.
    """
    migrations = MIGRATIONS
    latest = migrations[-1].version
    where = db.description
    current = db.schema_version()
    if current > latest:
        raise AnalyticsSchemaError(f"{where} has schema version {current}, newer than this code knows ({latest})")
    if current == latest:
        return
    if read_only:
        raise AnalyticsSchemaError(
            f"{where} has schema version {current} and needs an upgrade, but is opened read-only"
        )
    with db.migration_lock():
        for step in migrations:
            if step.version <= current:
                continue
            with db.transaction():
                found = db.schema_version()  # re-read under the lock: another process may have
                if found >= step.version:  # upgraded the database in the meantime
                    continue
                if found != step.version - 1:
                    raise AnalyticsSchemaError(f"{where}: cannot go from version {found} to {step.version}")
                for statement in step.statements:
                    db.execute(db.ddl(statement))
                db.set_schema_version(step.version)
            log.info("analytics: %s upgraded to schema v%d (%s)", where, step.version, step.description)
