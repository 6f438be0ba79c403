"""Usage analytics: the question log, 👍/👎 feedback and the unanswered-questions report, in SQLite.

Two layers:

* :class:`AnalyticsStore` is synchronous: one ``sqlite3`` connection to one file (WAL mode), schema
  migrations, and the queries. Its methods raise (``sqlite3.Error``, ``OSError``, ``ValueError``);
  it is not thread-safe and must be used from the thread that created it.
* :class:`AsyncAnalytics` is what the bot uses. It owns a single background worker thread that
  opens the store and runs every call on it, so the event loop never waits on the disk, and it turns
  every failure into a log line and a ``None`` / "not stored" result: analytics never stops the bot
  from answering. A file that cannot be used at all (not a database, corrupt, a directory, a schema
  newer than this code) switches analytics off with one error log; passing failures (locked,
  disk full, read-only) are logged as warnings and the next call tries again.

:func:`open_analytics` builds an :class:`AsyncAnalytics` from :class:`bot.config.AnalyticsSettings`.
:func:`format_stats` and :func:`write_stats_csv` present a :class:`Stats` report.

Privacy: Discord user ids are never stored. The asker and each voter are stored as
HMAC-SHA256(salt, "user:<id>") in hex. The salt is the value of the environment variable named by
``AnalyticsSettings.salt_env`` when it is set and not empty, otherwise a random salt kept in
``<database file name>.salt`` beside the database (created once, mode 0600). Losing or changing the
salt does not lose rows, but later hashes no longer match earlier ones (a person who voted before can
then vote once more on an old answer). With ``store_question_text`` off the question text is NULL.

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

import asyncio
import contextlib
import csv
import functools
import hashlib
import hmac
import logging
import math
import os
import secrets
import sqlite3
import stat
import threading
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import TypeVar

from bot.config import AnalyticsSettings

__all__ = [
    "MIGRATIONS",
    "AnalyticsSchemaError",
    "AnalyticsStore",
    "AsyncAnalytics",
    "CitedPassage",
    "DayCount",
    "Migration",
    "Stats",
    "UnansweredQuestion",
    "VoteResult",
    "format_stats",
    "hash_user",
    "load_salt",
    "normalize_question",
    "open_analytics",
    "salt_path",
    "write_stats_csv",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: How long a statement waits for another connection's lock before failing (seconds).
BUSY_TIMEOUT_SECONDS = 1.0
#: Longest question text stored; longer text is cut.
MAX_QUESTION_CHARS = 4000
#: Calls waiting for the worker thread beyond this number are dropped (with a warning).
MAX_PENDING_CALLS = 1000
#: :func:`format_stats` output stays at or under this many characters (Discord allows 2,000).
FORMAT_LIMIT = 1900
#: Random bytes in a generated salt (stored as hex).
SALT_BYTES = 32
#: Salts shorter than this (from the environment) are accepted with a warning.
MIN_SALT_CHARS = 16

# SQLite primary result codes used to tell passing failures from an unusable file.
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6
_SQLITE_READONLY = 8
_SQLITE_CORRUPT = 11
_SQLITE_FULL = 13
_SQLITE_CANTOPEN = 14
_SQLITE_NOTADB = 26


class AnalyticsSchemaError(RuntimeError):
    """The database schema cannot be used by this code (too new, or needs an upgrade it cannot run)."""


# --------------------------------------------------------------------------------------------------
# Schema and migrations


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


# --------------------------------------------------------------------------------------------------
# Small helpers: time, hashing, salt, normalization


def _utc(moment: datetime | None = None) -> datetime:
    """``moment`` as an aware UTC datetime (naive values are taken as UTC); now when None."""
    if moment is None:
        return datetime.now(timezone.utc)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _timestamp(moment: datetime | None = None) -> str:
    """The stored time format: fixed-width ISO 8601 UTC, so text order is time order."""
    return _utc(moment).isoformat(timespec="microseconds")


def hash_user(salt: bytes, user_id: int) -> str:
    """The pseudonym stored for a Discord user: HMAC-SHA256(salt, ``"user:<id>"``) as 64 hex digits."""
    if not salt:
        raise ValueError("an empty salt would make user hashes reversible")
    return hmac.new(salt, f"user:{int(user_id)}".encode("ascii"), hashlib.sha256).hexdigest()


def salt_path(db_path: Path | str) -> Path:
    """Where the generated salt lives: ``<database file name>.salt`` in the same folder."""
    db_path = Path(db_path)
    return db_path.with_name(db_path.name + ".salt")


def load_salt(db_path: Path | str, salt_env: str, environ: Mapping[str, str] | None = None) -> bytes:
    """The hashing salt: the environment variable ``salt_env`` if set and not empty, else the salt file.

    The salt file (see :func:`salt_path`) is created once with 32 random bytes (hex) and mode 0600;
    an existing file is reused (and its mode tightened to 0600 when it is readable by others).
    Raises ``OSError`` when the file cannot be created or read.
    """
    env = os.environ if environ is None else environ
    value = env.get(salt_env, "") if salt_env else ""
    if value.strip():
        if len(value) < MIN_SALT_CHARS:
            log.warning(
                "analytics: the salt in $%s is shorter than %d characters; user hashes are easier to guess",
                salt_env,
                MIN_SALT_CHARS,
            )
        return value.encode("utf-8")
    return _salt_from_file(salt_path(db_path))


def _write_new_salt(path: Path, flags: int) -> bytes:
    """Write a fresh random salt to ``path`` (opened with ``flags``), mode 0600; return it."""
    salt = secrets.token_hex(SALT_BYTES).encode("ascii")
    fd = os.open(path, flags | getattr(os, "O_BINARY", 0), 0o600)
    try:
        os.write(fd, salt)
        os.fsync(fd)
    finally:
        os.close(fd)
    with contextlib.suppress(OSError):
        os.chmod(path, 0o600)
    return salt


def _salt_from_file(path: Path) -> bytes:
    """Read the salt file, creating it (exclusively, so two processes agree) when missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        salt = _write_new_salt(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    except FileExistsError:
        pass
    else:
        log.info("analytics: created a new random hashing salt in %s", path)
        return salt
    if os.name == "posix":
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            os.chmod(path, 0o600)
            log.warning("analytics: %s was readable by others (mode %o); changed it to 600", path, mode)
    salt = path.read_bytes().strip()
    if not salt:
        # An empty file can only come from a crash while creating it; no hash was ever made with it.
        log.warning("analytics: the salt file %s was empty; writing a new salt", path)
        salt = _write_new_salt(path, os.O_WRONLY | os.O_TRUNC)
    return salt


def normalize_question(text: str) -> str:
    """The grouping key for a question: NFKC, casefolded, whitespace collapsed, punctuation trimmed.

    Only punctuation at the two ends is removed (``"What's the summit?!"`` -> ``"what's the summit"``),
    so the wording inside the question is kept.
    """
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    collapsed = " ".join(folded.split())
    start, end = 0, len(collapsed)
    while start < end and _trimmable(collapsed[start]):
        start += 1
    while end > start and _trimmable(collapsed[end - 1]):
        end -= 1
    return collapsed[start:end]


def _trimmable(char: str) -> bool:
    """Whether ``char`` is removed at the ends of a normalized question (punctuation or space)."""
    return char.isspace() or unicodedata.category(char).startswith("P")


def _sql_normalize(text: object) -> str | None:
    """:func:`normalize_question` as an SQL function (NULL stays NULL)."""
    return normalize_question(text) if isinstance(text, str) else None


def _sqlite_code(exc: BaseException) -> int | None:
    """The primary SQLite result code of ``exc`` (from the exception, or guessed from its message)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF
    if not isinstance(exc, sqlite3.Error):
        return None
    message = str(exc).lower()
    for needle, guessed in (
        ("locked", _SQLITE_BUSY),
        ("busy", _SQLITE_BUSY),
        ("readonly", _SQLITE_READONLY),
        ("malformed", _SQLITE_CORRUPT),
        ("disk is full", _SQLITE_FULL),
        ("unable to open", _SQLITE_CANTOPEN),
        ("not a database", _SQLITE_NOTADB),
    ):
        if needle in message:
            return guessed
    return None


def _is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` may go away by itself (another connection holds a lock)."""
    return _sqlite_code(exc) in (_SQLITE_BUSY, _SQLITE_LOCKED)


def _is_unusable(exc: BaseException) -> bool:
    """Whether ``exc`` means the file itself is broken (corrupt, not a database)."""
    return _sqlite_code(exc) in (_SQLITE_CORRUPT, _SQLITE_NOTADB)


# --------------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class VoteResult:
    """Outcome of a vote: whether it was stored, and the answer's tallies after it.

    ``stored`` is False for an unknown (or purged) question, and when the database failed; after a
    failure the tallies are 0 because they are unknown.
    """

    stored: bool
    up: int
    down: int


@dataclass(frozen=True)
class DayCount:
    """Questions asked on one UTC day, and how many of them were answered."""

    day: date
    questions: int
    answered: int


@dataclass(frozen=True)
class UnansweredQuestion:
    """A group of unanswered questions with the same normalized text.

    ``text`` is the normalized text (the group key), ``example`` the most recent original wording.
    """

    text: str
    count: int
    example: str
    last_asked: datetime


@dataclass(frozen=True)
class CitedPassage:
    """A passage that was the top citation of ``count`` answered questions."""

    doc_id: str
    paragraph: int | None
    count: int


@dataclass(frozen=True)
class Stats:
    """The admin report for the UTC days ``since`` .. ``until`` (``days`` calendar days, today included).

    ``per_day`` lists only days with at least one question, oldest first. Votes are counted for the
    questions asked in the window. ``unanswered_without_text`` counts unanswered questions whose text
    was not stored (they cannot be grouped).
    """

    days: int
    since: date
    until: date
    per_day: tuple[DayCount, ...]
    questions: int
    answered: int
    unanswered_without_text: int
    top_unanswered: tuple[UnansweredQuestion, ...]
    top_cited: tuple[CitedPassage, ...]
    votes_up: int
    votes_down: int

    @property
    def unanswered(self) -> int:
        """Questions in the window that got no answer."""
        return self.questions - self.answered

    @property
    def answered_rate(self) -> float | None:
        """Answered questions / all questions (0..1), or None when there were no questions."""
        return self.answered / self.questions if self.questions else None


# --------------------------------------------------------------------------------------------------
# The synchronous store


class AnalyticsStore:
    """One SQLite analytics file: opens (creating it and its folder), migrates, records and reports.

    All methods raise on failure; use :class:`AsyncAnalytics` in the bot. Not thread-safe: create and
    use it on one thread. ``read_only`` opens the file with ``mode=ro`` (reports only; every write
    fails with ``sqlite3.OperationalError``; the file must exist and be at the current schema).
    """

    def __init__(
        self,
        path: Path | str,
        salt: bytes,
        *,
        store_question_text: bool = True,
        retention_days: int = 90,
        busy_timeout: float = BUSY_TIMEOUT_SECONDS,
        read_only: bool = False,
    ) -> None:
        """Open (or create) the file at ``path`` and bring its schema up to date."""
        if not salt:
            raise ValueError("analytics needs a non-empty salt")
        if retention_days < 0:
            raise ValueError("retention_days must be >= 0")
        self.path = Path(path)
        self.store_question_text = store_question_text
        self.retention_days = retention_days
        self.read_only = read_only
        self._salt = bytes(salt)
        self._conn = self._connect(busy_timeout)
        try:
            self._configure()
            self._migrate()
        except BaseException:
            self._conn.close()
            raise

    @classmethod
    def from_settings(cls, settings: AnalyticsSettings, *, environ: Mapping[str, str] | None = None) -> AnalyticsStore:
        """Open the store described by ``settings`` (salt from ``settings.salt_env`` or the salt file)."""
        salt = load_salt(settings.path, settings.salt_env, environ)
        return cls(
            settings.path,
            salt,
            store_question_text=settings.store_question_text,
            retention_days=settings.retention_days,
        )

    # -- opening ------------------------------------------------------------------------------------

    def _connect(self, busy_timeout: float) -> sqlite3.Connection:
        """Open the connection in autocommit mode (transactions are explicit)."""
        if self.read_only:
            uri = self.path.resolve().as_uri() + "?mode=ro"
            return sqlite3.connect(uri, uri=True, timeout=busy_timeout, isolation_level=None)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return sqlite3.connect(self.path, timeout=busy_timeout, isolation_level=None)

    def _configure(self) -> None:
        """WAL journal, foreign keys, and the SQL function used to group questions."""
        if not self.read_only:
            mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                log.warning("analytics: %s stays in journal mode %r (WAL not available)", self.path, mode)
            self._conn.execute("PRAGMA synchronous = NORMAL")
        self._conn.execute("PRAGMA foreign_keys = ON")
        self._conn.create_function("normalize_question", 1, _sql_normalize, deterministic=True)

    def _user_version(self) -> int:
        """The schema version stored in the file header."""
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        """Apply the missing :data:`MIGRATIONS`, each in its own transaction with its version bump."""
        migrations = MIGRATIONS
        latest = migrations[-1].version
        current = self._user_version()
        if current > latest:
            raise AnalyticsSchemaError(
                f"{self.path} has schema version {current}, newer than this code knows ({latest})"
            )
        if current == latest:
            return
        if self.read_only:
            raise AnalyticsSchemaError(
                f"{self.path} has schema version {current} and needs an upgrade, but is opened read-only"
            )
        for step in migrations:
            if step.version <= current:
                continue
            with self._transaction():
                found = self._user_version()  # re-read under the write lock: another process may have
                if found >= step.version:  # upgraded the file in the meantime
                    continue
                if found != step.version - 1:
                    raise AnalyticsSchemaError(f"{self.path}: cannot go from version {found} to {step.version}")
                for statement in step.statements:
                    self._conn.execute(statement)
                self._conn.execute(f"PRAGMA user_version = {int(step.version)}")
            log.info("analytics: %s upgraded to schema v%d (%s)", self.path, step.version, step.description)

    @contextlib.contextmanager
    def _transaction(self, mode: str = "IMMEDIATE") -> Iterator[None]:
        """Run the block in one transaction; roll back when it raises."""
        self._conn.execute(f"BEGIN {mode}")
        try:
            yield
        except BaseException:
            if self._conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    # -- properties ---------------------------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        """The file's schema version (``PRAGMA user_version``)."""
        return self._user_version()

    def hash_user(self, user_id: int) -> str:
        """The stored pseudonym for ``user_id`` under this store's salt."""
        return hash_user(self._salt, user_id)

    # -- writes -------------------------------------------------------------------------------------

    def record_question(
        self,
        *,
        user_id: int,
        question: str | None,
        answered: bool,
        guild_id: int | None = None,
        channel_id: int | None = None,
        doc_id: str | None = None,
        paragraph: int | None = None,
        score: float | None = None,
        latency_ms: float | None = None,
        asked_at: datetime | None = None,
    ) -> int:
        """Log one question and its outcome; return the new row id (for the vote buttons).

        ``doc_id``/``paragraph``/``score`` describe the top passage (also worth logging for an
        unanswered question: it shows how close the answer was). ``asked_at`` defaults to now (UTC).
        The text is stored only when ``store_question_text`` is on, cut to 4,000 characters.
        """
        text = question[:MAX_QUESTION_CHARS] if (self.store_question_text and question is not None) else None
        score_value = float(score) if score is not None and math.isfinite(score) else None
        latency = None if latency_ms is None else max(0, round(latency_ms))
        cursor = self._conn.execute(
            "INSERT INTO questions (asked_at, guild_id, channel_id, asker_hash, question, answered,"
            " doc_id, paragraph, score, latency_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                _timestamp(asked_at),
                guild_id,
                channel_id,
                self.hash_user(user_id),
                text,
                1 if answered else 0,
                doc_id,
                paragraph,
                score_value,
                latency,
            ),
        )
        if cursor.lastrowid is None:  # pragma: no cover - sqlite always sets it after an INSERT
            raise sqlite3.OperationalError("no row id after INSERT")
        return int(cursor.lastrowid)

    def record_vote(
        self, question_id: int, user_id: int, value: int, *, voted_at: datetime | None = None
    ) -> VoteResult:
        """Store ``user_id``'s 👍 (+1) or 👎 (-1) on an answer, replacing their earlier vote on it.

        Returns whether it was stored (False for an unknown question id) and the answer's tallies.
        """
        if isinstance(value, bool) or value not in (1, -1):
            raise ValueError(f"a vote is +1 or -1, not {value!r}")
        with self._transaction():
            cursor = self._conn.execute(
                "INSERT INTO votes (question_id, voter_hash, value, voted_at)"
                " SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM questions WHERE id = ?)"
                " ON CONFLICT (question_id, voter_hash)"
                " DO UPDATE SET value = excluded.value, voted_at = excluded.voted_at",
                (question_id, self.hash_user(user_id), int(value), _timestamp(voted_at), question_id),
            )
            stored = cursor.rowcount > 0
            up, down = self.tallies(question_id)
        return VoteResult(stored, up, down)

    def tallies(self, question_id: int) -> tuple[int, int]:
        """The (up, down) vote counts of one answer."""
        up, down = self._conn.execute(
            "SELECT COALESCE(SUM(value = 1), 0), COALESCE(SUM(value = -1), 0) FROM votes WHERE question_id = ?",
            (question_id,),
        ).fetchone()
        return int(up), int(down)

    def purge(self, older_than_days: int | None = None, *, now: datetime | None = None) -> int:
        """Delete questions (and their votes) asked more than ``older_than_days`` days ago.

        ``None`` uses the configured ``retention_days``; 0 keeps everything. Returns the number of
        questions deleted.
        """
        days = self.retention_days if older_than_days is None else older_than_days
        if days < 0:
            raise ValueError("older_than_days must be >= 0")
        if days == 0:
            return 0
        cutoff = _timestamp(_utc(now) - timedelta(days=days))
        with self._transaction():
            self._conn.execute(
                "DELETE FROM votes WHERE question_id IN (SELECT id FROM questions WHERE asked_at < ?)",
                (cutoff,),
            )
            deleted = self._conn.execute("DELETE FROM questions WHERE asked_at < ?", (cutoff,)).rowcount
        return int(deleted)

    # -- report -------------------------------------------------------------------------------------

    def stats(self, days: int = 7, *, top: int = 10, now: datetime | None = None) -> Stats:
        """The admin report for the last ``days`` UTC calendar days (today included).

        ``top`` bounds the unanswered-question and cited-passage lists. All numbers come from one
        read transaction, so they agree with each other.
        """
        if days < 1:
            raise ValueError("days must be >= 1")
        if top < 0:
            raise ValueError("top must be >= 0")
        until = _utc(now).date()
        since = until - timedelta(days=days - 1)
        start = _timestamp(datetime.combine(since, time.min, tzinfo=timezone.utc))
        end = _timestamp(datetime.combine(until + timedelta(days=1), time.min, tzinfo=timezone.utc))
        window = (start, end)
        with self._transaction("DEFERRED"):
            per_day = tuple(
                DayCount(date.fromisoformat(day), int(count), int(answered))
                for day, count, answered in self._conn.execute(
                    "SELECT substr(asked_at, 1, 10) AS day, COUNT(*), SUM(answered) FROM questions"
                    " WHERE asked_at >= ? AND asked_at < ? GROUP BY day ORDER BY day",
                    window,
                )
            )
            (without_text,) = self._conn.execute(
                "SELECT COUNT(*) FROM questions WHERE asked_at >= ? AND asked_at < ?"
                " AND answered = 0 AND question IS NULL",
                window,
            ).fetchone()
            # SQLite fills the bare column "question" from the row holding MAX(asked_at).
            unanswered = tuple(
                UnansweredQuestion(norm, int(count), example, datetime.fromisoformat(last))
                for norm, count, last, example in self._conn.execute(
                    "SELECT normalize_question(question) AS norm, COUNT(*) AS n, MAX(asked_at) AS last,"
                    " question FROM questions"
                    " WHERE asked_at >= ? AND asked_at < ? AND answered = 0 AND question IS NOT NULL"
                    " GROUP BY norm HAVING norm <> '' ORDER BY n DESC, last DESC, norm LIMIT ?",
                    (*window, top),
                )
            )
            cited = tuple(
                CitedPassage(str(doc_id), paragraph, int(count))
                for doc_id, paragraph, count in self._conn.execute(
                    "SELECT doc_id, paragraph, COUNT(*) AS n FROM questions"
                    " WHERE asked_at >= ? AND asked_at < ? AND answered = 1 AND doc_id IS NOT NULL"
                    " GROUP BY doc_id, paragraph ORDER BY n DESC, doc_id, paragraph LIMIT ?",
                    (*window, top),
                )
            )
            up, down = self._conn.execute(
                "SELECT COALESCE(SUM(v.value = 1), 0), COALESCE(SUM(v.value = -1), 0)"
                " FROM votes AS v JOIN questions AS q ON q.id = v.question_id"
                " WHERE q.asked_at >= ? AND q.asked_at < ?",
                window,
            ).fetchone()
        return Stats(
            days=days,
            since=since,
            until=until,
            per_day=per_day,
            questions=sum(d.questions for d in per_day),
            answered=sum(d.answered for d in per_day),
            unanswered_without_text=int(without_text),
            top_unanswered=unanswered,
            top_cited=cited,
            votes_up=int(up),
            votes_down=int(down),
        )

    # -- closing ------------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection (running ``PRAGMA optimize`` first when writable)."""
        if not self.read_only:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("PRAGMA optimize")
        self._conn.close()

    def __enter__(self) -> AnalyticsStore:
        """Use the store in a ``with`` block that closes it."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close the store at the end of a ``with`` block."""
        self.close()


# --------------------------------------------------------------------------------------------------
# The asyncio front end


class AsyncAnalytics:
    """Analytics for the event loop: one worker thread, never raises, never blocks the loop.

    ``opener`` builds the :class:`AnalyticsStore`; it runs on the worker thread (started right
    away), so the connection lives on that thread. When opening fails because the file is locked,
    the next call tries again; any other opening failure, or a corrupt file later on, logs one error
    and turns analytics off (:attr:`enabled` becomes False, every call returns its "nothing" value).
    Other failures are logged as warnings and the call returns ``None`` (or a not-stored
    :class:`VoteResult`). Calls are queued; beyond ``max_pending`` waiting calls new ones are dropped.
    A call whose awaiting task is cancelled still runs.
    """

    def __init__(
        self,
        opener: Callable[[], AnalyticsStore],
        *,
        max_pending: int = MAX_PENDING_CALLS,
        purge_on_open: bool = False,
        description: str = "analytics database",
    ) -> None:
        """Start the worker thread and queue the opening of the store on it."""
        self._opener = opener
        self._purge_on_open = purge_on_open
        self._description = description
        self._max_pending = max_pending
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="summitbot-analytics")
        self._lock = threading.Lock()
        self._pending = 0
        self._store: AnalyticsStore | None = None  # touched only on the worker thread
        self._off = False
        self._closed = False
        self._submit("open", lambda store: True, False)

    # -- state --------------------------------------------------------------------------------------

    @property
    def enabled(self) -> bool:
        """False once analytics is off (unusable file) or closed."""
        return not (self._off or self._closed)

    async def ready(self) -> bool:
        """Wait until the store is open; True when it is usable."""
        return await self._call("open", lambda store: True, False)

    # -- the worker side ----------------------------------------------------------------------------

    def _open_store(self) -> AnalyticsStore | None:
        """(worker) Open the store when not open yet; None when analytics is off or still locked."""
        if self._store is not None or self._off:
            return self._store
        try:
            self._store = self._opener()
        except Exception as exc:
            if _is_transient(exc):
                log.warning("analytics: %s is locked; will try again on the next call (%s)", self._description, exc)
            else:
                self._turn_off(exc)
            return None
        if self._purge_on_open:
            try:
                removed = self._store.purge()
            except Exception as exc:
                self._failed("purge", exc)
            else:
                if removed:
                    log.info("analytics: purged %d questions past the retention period", removed)
        return self._store

    def _turn_off(self, exc: BaseException) -> None:
        """(worker) Switch analytics off for good, with one error log, and drop the connection."""
        if self._off:
            return
        self._off = True
        log.error(
            "analytics is off: the %s cannot be used (%s: %s); the bot keeps answering."
            " Fix or move the file away and restart to record again.",
            self._description,
            type(exc).__name__,
            exc,
        )
        store, self._store = self._store, None
        if store is not None:
            with contextlib.suppress(Exception):
                store.close()

    def _failed(self, operation: str, exc: BaseException) -> None:
        """(worker) Log a failed call; an unusable file turns analytics off."""
        if _is_unusable(exc) or isinstance(exc, AnalyticsSchemaError):
            self._turn_off(exc)
        else:
            log.warning("analytics: %s failed (%s: %s)", operation, type(exc).__name__, exc)

    def _work(self, operation: str, fn: Callable[[AnalyticsStore], T], default: T) -> T:
        """(worker) Run ``fn`` on the open store; any failure is logged and gives ``default``."""
        try:
            store = self._open_store()
            if store is None:
                return default
            return fn(store)
        except Exception as exc:
            self._failed(operation, exc)
            return default

    def _close_store(self) -> None:
        """(worker) Close the connection."""
        store, self._store = self._store, None
        if store is not None:
            try:
                store.close()
            except Exception as exc:
                log.warning("analytics: closing the %s failed (%s)", self._description, exc)

    # -- the loop side ------------------------------------------------------------------------------

    def _submit(self, operation: str, fn: Callable[[AnalyticsStore], T], default: T) -> Future[T] | None:
        """Queue ``fn`` on the worker; None when closed, off, or the queue is full."""
        if self._closed or self._off:
            return None
        with self._lock:
            if self._pending >= self._max_pending:
                log.warning("analytics: %d calls are waiting; dropped a %s", self._pending, operation)
                return None
            self._pending += 1
        try:
            future = self._executor.submit(self._work, operation, fn, default)
        except RuntimeError:  # the executor was shut down by close()
            self._done()
            return None
        future.add_done_callback(self._done)
        return future

    def _done(self, _future: object = None) -> None:
        """One queued call finished (or was never queued)."""
        with self._lock:
            self._pending -= 1

    async def _call(self, operation: str, fn: Callable[[AnalyticsStore], T], default: T) -> T:
        """Run ``fn`` on the worker and await its result without blocking the loop; never raises."""
        future = self._submit(operation, fn, default)
        if future is None:
            return default
        try:
            return await asyncio.shield(asyncio.wrap_future(future))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # pragma: no cover - _work already catches everything
            log.warning("analytics: %s failed (%s)", operation, exc)
            return default

    # -- the API ------------------------------------------------------------------------------------

    async def record_question(
        self,
        *,
        user_id: int,
        question: str | None,
        answered: bool,
        guild_id: int | None = None,
        channel_id: int | None = None,
        doc_id: str | None = None,
        paragraph: int | None = None,
        score: float | None = None,
        latency_ms: float | None = None,
        asked_at: datetime | None = None,
    ) -> int | None:
        """Log one question (see :meth:`AnalyticsStore.record_question`); the row id, or None on failure."""
        fn = functools.partial(
            AnalyticsStore.record_question,
            user_id=user_id,
            question=question,
            answered=answered,
            guild_id=guild_id,
            channel_id=channel_id,
            doc_id=doc_id,
            paragraph=paragraph,
            score=score,
            latency_ms=latency_ms,
            asked_at=asked_at,
        )
        return await self._call("record_question", fn, None)

    async def record_vote(self, question_id: int, user_id: int, value: int) -> VoteResult:
        """Store a 👍 (+1) / 👎 (-1) vote; ``stored`` is False (tallies 0) on failure."""
        failed = VoteResult(False, 0, 0)
        return await self._call("record_vote", lambda store: store.record_vote(question_id, user_id, value), failed)

    async def tallies(self, question_id: int) -> tuple[int, int] | None:
        """The (up, down) counts of one answer, or None on failure."""
        return await self._call("tallies", lambda store: store.tallies(question_id), None)

    async def stats(self, days: int = 7, *, top: int = 10, now: datetime | None = None) -> Stats | None:
        """The admin report (see :meth:`AnalyticsStore.stats`), or None on failure."""
        return await self._call("stats", lambda store: store.stats(days, top=top, now=now), None)

    async def purge(self, older_than_days: int | None = None, *, now: datetime | None = None) -> int | None:
        """Delete old questions and votes (see :meth:`AnalyticsStore.purge`); the count, or None."""
        return await self._call("purge", lambda store: store.purge(older_than_days, now=now), None)

    def close(self, wait: bool = False) -> None:
        """Stop taking calls; queued calls still run, then the connection closes.

        ``wait=True`` blocks until that is done (for scripts and tests; not inside the event loop).
        """
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(RuntimeError):
            self._executor.submit(self._close_store)
        self._executor.shutdown(wait=wait)

    async def aclose(self) -> None:
        """Like :meth:`close`, awaiting (without blocking the loop) until the connection is closed."""
        if self._closed:
            return
        self._closed = True
        try:
            future = self._executor.submit(self._close_store)
        except RuntimeError:
            return
        self._executor.shutdown(wait=False)
        await asyncio.wrap_future(future)


def open_analytics(settings: AnalyticsSettings, *, environ: Mapping[str, str] | None = None) -> AsyncAnalytics | None:
    """The bot's analytics from its settings: None when disabled, else an :class:`AsyncAnalytics`.

    Returns at once: the file is opened (and created, and upgraded, and purged of rows past
    ``retention_days``) on the worker thread. An unusable file logs one error and leaves the object
    with ``enabled`` False, never an exception. Call :meth:`AsyncAnalytics.purge` daily for retention
    in a long-running bot.
    """
    if not settings.enabled:
        log.info("analytics is disabled in the config")
        return None
    return AsyncAnalytics(
        functools.partial(AnalyticsStore.from_settings, settings, environ=environ),
        purge_on_open=True,
        description=f"analytics database {settings.path}",
    )


# --------------------------------------------------------------------------------------------------
# Presenting a report


def _inline(text: str, width: int) -> str:
    """``text`` on one line, at most ``width`` characters, as inline code (safe in Discord markdown)."""
    flat = " ".join(text.split()).replace("`", "'")
    if len(flat) > width:
        flat = flat[: max(1, width - 1)] + "…"
    return f"`{flat}`"


def _passage(doc_id: str, paragraph: int | None, width: int) -> str:
    """A cited passage as ``doc`` and paragraph number."""
    where = "" if paragraph is None else f" para {paragraph}"
    return _inline(doc_id, width) + where


def _render(stats: Stats, day_lines: int, list_lines: int, width: int) -> str:
    """The report with at most ``day_lines`` days and ``list_lines`` list entries."""
    lines = [f"Usage, last {stats.days} days ({stats.since.isoformat()} to {stats.until.isoformat()} UTC)"]
    if not stats.questions:
        lines.append("No questions in this period.")
        return "\n".join(lines)
    rate = stats.answered_rate or 0.0
    lines.append(
        f"Questions: {stats.questions}, answered: {stats.answered} ({rate:.0%}), unanswered: {stats.unanswered}"
    )
    lines.append(f"Feedback: {stats.votes_up} up, {stats.votes_down} down")
    lines.append("")
    lines.append("Per day (asked / answered):")
    shown = stats.per_day[-day_lines:] if day_lines else ()
    hidden = len(stats.per_day) - len(shown)
    if hidden:
        lines.append(f"({hidden} earlier days not shown)")
    lines.extend(f"{d.day.isoformat()}: {d.questions} / {d.answered}" for d in reversed(shown))

    lines.append("")
    lines.append("Most frequent unanswered questions:")
    if not stats.top_unanswered:
        lines.append("none")
    for rank, group in enumerate(stats.top_unanswered[:list_lines], start=1):
        lines.append(f"{rank}. {group.count}x {_inline(group.text, width)}")
    if len(stats.top_unanswered) > list_lines:
        lines.append(f"(+{len(stats.top_unanswered) - list_lines} more)")
    if stats.unanswered_without_text:
        lines.append(f"({stats.unanswered_without_text} unanswered without stored text)")

    lines.append("")
    lines.append("Most cited passages:")
    if not stats.top_cited:
        lines.append("none")
    for rank, passage in enumerate(stats.top_cited[:list_lines], start=1):
        lines.append(f"{rank}. {passage.count}x {_passage(passage.doc_id, passage.paragraph, width)}")
    if len(stats.top_cited) > list_lines:
        lines.append(f"(+{len(stats.top_cited) - list_lines} more)")
    return "\n".join(lines)


def format_stats(stats: Stats, *, limit: int = FORMAT_LIMIT) -> str:
    """The report as plain text for a terminal or a Discord message, at most ``limit`` characters.

    Lists are shortened (fewer days, fewer entries, shorter texts) until it fits. Question texts and
    document ids are shown as inline code; send the message with mentions disabled
    (``AllowedMentions.none()``) since question texts come from users.
    """
    text = ""
    for day_lines, list_lines, width in (
        (31, 10, 80),
        (14, 10, 60),
        (7, 5, 50),
        (7, 3, 40),
        (3, 3, 30),
        (0, 0, 20),
    ):
        text = _render(stats, day_lines, list_lines, width)
        if len(text) <= limit:
            return text
    return text[: max(0, limit - 1)] + "…"


#: Columns of :func:`write_stats_csv`.
CSV_FIELDS = ("section", "metric", "value", "date", "count", "answered", "text", "example", "document", "paragraph")


def _csv_safe(text: str) -> str:
    """Text that a spreadsheet will not run as a formula (a leading ``'`` before = + - @)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def write_stats_csv(stats: Stats, path: Path | str) -> Path:
    """Write the report to one CSV file (UTF-8, header row) and return its path.

    Every row has a ``section``; the other columns it fills:

    * ``summary``: ``metric`` and ``value`` (days, since, until, questions, answered, answered_rate,
      unanswered_without_text, votes_up, votes_down).
    * ``day``: ``date``, ``count`` (questions) and ``answered``, one row per day with questions.
    * ``unanswered``: ``text`` (normalized), ``example`` (latest wording), ``count``, ``date`` (last asked).
    * ``cited``: ``document``, ``paragraph``, ``count``.

    Texts that start with ``= + - @`` get a leading ``'`` so spreadsheets do not evaluate them.
    """
    path = Path(path)
    rate = stats.answered_rate
    summary = {
        "days": stats.days,
        "since": stats.since.isoformat(),
        "until": stats.until.isoformat(),
        "questions": stats.questions,
        "answered": stats.answered,
        "answered_rate": "" if rate is None else f"{rate:.4f}",
        "unanswered_without_text": stats.unanswered_without_text,
        "votes_up": stats.votes_up,
        "votes_down": stats.votes_down,
    }
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for metric, value in summary.items():
            writer.writerow({"section": "summary", "metric": metric, "value": value})
        for day in stats.per_day:
            writer.writerow(
                {"section": "day", "date": day.day.isoformat(), "count": day.questions, "answered": day.answered}
            )
        for group in stats.top_unanswered:
            writer.writerow(
                {
                    "section": "unanswered",
                    "text": _csv_safe(group.text),
                    "example": _csv_safe(group.example),
                    "count": group.count,
                    "date": group.last_asked.date().isoformat(),
                }
            )
        for passage in stats.top_cited:
            writer.writerow(
                {
                    "section": "cited",
                    "document": _csv_safe(passage.doc_id),
                    "paragraph": "" if passage.paragraph is None else passage.paragraph,
                    "count": passage.count,
                }
            )
    return path
