"""The synchronous analytics store: one SQLite file (WAL mode), its records and its queries.

:class:`AnalyticsStore` opens one ``sqlite3`` connection to one file, brings its schema up to date
(:mod:`bot.storage.schema`), and records questions (:class:`QuestionRecord`) and votes and reports
on them (:class:`Stats`). Its methods raise (``sqlite3.Error``, ``OSError``, ``ValueError``); it is
not thread-safe and must be used from the thread that created it. The bot uses it through
:class:`bot.storage.worker.AsyncAnalytics`, which runs it on a background thread. With
``store_question_text`` off the question text is NULL; user ids are stored only as salted hashes
(:mod:`bot.storage.privacy`).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sqlite3
import stat
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

from bot.config import AnalyticsSettings
from bot.storage.database import Database, PostgresDatabase, SqliteDatabase, is_postgres_url
from bot.storage.privacy import hash_user, load_salt
from bot.storage.schema import migrate

log = logging.getLogger("bot.storage")

#: How long a statement waits for another connection's lock before failing (seconds).
BUSY_TIMEOUT_SECONDS = 1.0
#: Longest question text stored; longer text is cut.
MAX_QUESTION_CHARS = 4000

#: The verdicts a question's row records (the same as :data:`bot.answering.verdict.VERDICTS`, which
#: storage does not import: it stays light for ``summitbot stats``).
VERDICTS = ("answer", "closest", "none")

# SQLite primary result codes used to tell passing failures from an unusable file.
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6
_SQLITE_READONLY = 8
_SQLITE_CORRUPT = 11
_SQLITE_FULL = 13
_SQLITE_CANTOPEN = 14
_SQLITE_NOTADB = 26


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


#: Every server and direct messages (the operators' ``summitbot stats``).
EVERYWHERE: None = None
#: Direct messages only.
DMS = "dms"
#: Where a report or a vote looks: a server's id, :data:`DMS`, or :data:`EVERYWHERE`.
Scope = int | str | None
#: The shared counter bumped by every successful ``/reload``; the other processes reload when it moves.
CORPUS_GENERATION = "corpus_generation"
#: The shared counter bumped by every ``/settings`` change.
SETTINGS_GENERATION = "settings_generation"
# Portable vote tallies (PostgreSQL cannot SUM a boolean).
_UP_DOWN = (
    "COALESCE(SUM(CASE WHEN value = 1 THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN value = -1 THEN 1 ELSE 0 END), 0)"
)


def _scope_filter(scope: Scope) -> tuple[str, tuple[int, ...]]:
    """The ``AND …`` clause (on ``questions``) and its parameters for a scope."""
    if scope is EVERYWHERE:
        return "", ()
    if scope == DMS:
        return " AND guild_id IS NULL", ()
    if isinstance(scope, bool) or not isinstance(scope, int):
        raise ValueError(f"a scope is a server id, {DMS!r} or None, not {scope!r}")
    return " AND guild_id = ?", (scope,)


def _group_unanswered(rows: Iterable[tuple[str, str]], top: int) -> tuple[UnansweredQuestion, ...]:
    """Group unanswered questions by :func:`normalize_question`: most asked first, then most recent;
    each group's example is its most recent wording."""
    groups: dict[str, list[Any]] = {}
    for question, asked_at in rows:
        norm = normalize_question(question)
        if not norm:
            continue
        group = groups.get(norm)
        if group is None:
            groups[norm] = [1, asked_at, question]
        else:
            group[0] += 1
            if asked_at > group[1]:
                group[1], group[2] = asked_at, question
    ranked = sorted(groups.items(), key=lambda item: (-item[1][0], _desc(item[1][1]), item[0]))
    return tuple(
        UnansweredQuestion(norm, int(count), example, datetime.fromisoformat(last))
        for norm, (count, last, example) in ranked[:top]
    )


def _desc(text: str) -> tuple[int, ...]:
    """A sort key that orders fixed-width timestamps newest first."""
    return tuple(-ord(c) for c in text)


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
    """Whether ``exc`` may go away by itself (another connection holds a lock; the PostgreSQL
    server is unreachable or dropped the connection)."""
    if any(c.__name__ == "OperationalError" and c.__module__.startswith("psycopg") for c in type(exc).__mro__):
        return True
    return _sqlite_code(exc) in (_SQLITE_BUSY, _SQLITE_LOCKED)


def _is_unusable(exc: BaseException) -> bool:
    """Whether ``exc`` means the file itself is broken (corrupt, not a database)."""
    return _sqlite_code(exc) in (_SQLITE_CORRUPT, _SQLITE_NOTADB)


# --------------------------------------------------------------------------------------------------
# Records and results


@dataclass(frozen=True)
class QuestionRecord:
    """One question and its outcome, as logged.

    ``doc_id``/``paragraph``/``score`` describe the top passage (also worth logging for an
    unanswered question: it shows how close the answer was). ``asked_at`` defaults to now (UTC).
    ``user_id`` is hashed before it is stored.

    ``verdict`` is the reply's verdict (:data:`VERDICTS`: ``"answer"``, ``"closest"`` or ``"none"``);
    left out, it follows ``answered`` (``"answer"`` or ``"none"``). A verdict that contradicts
    ``answered`` raises ``ValueError``.
    """

    user_id: int
    question: str | None
    answered: bool
    guild_id: int | None = None
    channel_id: int | None = None
    doc_id: str | None = None
    paragraph: int | None = None
    score: float | None = None
    latency_ms: float | None = None
    asked_at: datetime | None = None
    verdict: str | None = None

    def __post_init__(self) -> None:
        """Fill in the verdict from ``answered``, or check that the two agree."""
        if self.verdict is None:
            object.__setattr__(self, "verdict", "answer" if self.answered else "none")
        elif self.verdict not in VERDICTS:
            raise ValueError(f"a verdict is one of {', '.join(VERDICTS)}, not {self.verdict!r}")
        elif (self.verdict == "answer") != bool(self.answered):
            raise ValueError(f"verdict {self.verdict!r} contradicts answered={self.answered!r}")


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
    """Questions asked on one UTC day: how many were answered, got the closest passage, or nothing.

    Unanswered questions recorded before verdicts were (schema v4) count in neither ``closest`` nor
    ``not_found``.
    """

    day: date
    questions: int
    answered: int
    closest: int = 0
    not_found: int = 0


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

    Every question is ``answered``, ``closest`` (the closest passage, labelled as not sure),
    ``not_found`` (not in the sources) or, when recorded before verdicts were (schema v4) and not
    answered, :attr:`unanswered_unlabelled`.
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
    closest: int = 0
    not_found: int = 0

    @property
    def unanswered(self) -> int:
        """Questions in the window that got no answer (closest, not found, or unlabelled)."""
        return self.questions - self.answered

    @property
    def unanswered_unlabelled(self) -> int:
        """Unanswered questions recorded before verdicts were: closest or not found, unknown which."""
        return self.questions - self.answered - self.closest - self.not_found

    def to_json(self) -> dict[str, object]:
        """The report as JSON-ready data (``summitbot stats --json``)."""
        return {
            "days": self.days,
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "questions": self.questions,
            "answered": self.answered,
            "closest": self.closest,
            "not_found": self.not_found,
            "unanswered_unlabelled": self.unanswered_unlabelled,
            "answered_rate": self.answered_rate,
            "unanswered_without_text": self.unanswered_without_text,
            "votes_up": self.votes_up,
            "votes_down": self.votes_down,
            "per_day": [
                {
                    "date": d.day.isoformat(),
                    "questions": d.questions,
                    "answered": d.answered,
                    "closest": d.closest,
                    "not_found": d.not_found,
                }
                for d in self.per_day
            ],
            "top_unanswered": [
                {"text": g.text, "example": g.example, "count": g.count, "last_asked": g.last_asked.isoformat()}
                for g in self.top_unanswered
            ],
            "top_cited": [{"document": p.doc_id, "paragraph": p.paragraph, "count": p.count} for p in self.top_cited],
        }

    @property
    def answered_rate(self) -> float | None:
        """Answered questions / all questions (0..1), or None when there were no questions."""
        return self.answered / self.questions if self.questions else None


def _window(days: int, now: datetime | None) -> tuple[date, date]:
    """The first and last UTC day of a ``days``-day report ending today (``now``)."""
    until = _utc(now).date()
    return until - timedelta(days=days - 1), until


def empty_stats(days: int, *, now: datetime | None = None) -> Stats:
    """The report of a period without questions (``summitbot stats`` before any database exists)."""
    since, until = _window(days, now)
    return Stats(days, since, until, (), 0, 0, 0, (), (), 0, 0)


# --------------------------------------------------------------------------------------------------
# The synchronous store


def _file_identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the file at ``path``, or None when there is none."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_dev, info.st_ino)


def _private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 when it does not exist; tighten a group- or
    world-readable one we own to 0600 (it holds question text and server and channel ids).

    SQLite creates the ``-wal`` and ``-shm`` files with the database file's mode.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except FileExistsError:
        try:
            info = os.lstat(path)
            if stat.S_ISREG(info.st_mode) and info.st_mode & 0o077 and info.st_uid == os.getuid():
                os.chmod(path, 0o600)
                log.info("analytics: %s was readable by others; now mode 0600", path)
        except OSError:
            pass
        return
    except OSError:
        return  # let sqlite3 report what is wrong with the path
    os.close(fd)


class AnalyticsStore:
    """One SQLite analytics file: opens (creating it and its folder), migrates, records and reports.

    All methods raise on failure; use :class:`~bot.storage.worker.AsyncAnalytics` in the bot. Not
    thread-safe: create and use it on one thread. ``read_only`` opens the file with ``mode=ro``
    (reports only; every write fails with ``sqlite3.OperationalError``; the file must exist and be
    at the current schema).
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
        """Open (or create) the database at ``path`` and bring its schema up to date.

        ``path`` is a SQLite file, or a ``postgresql://`` URL (see :mod:`bot.storage.database`).
        """
        if not salt:
            raise ValueError("analytics needs a non-empty salt")
        if retention_days < 0:
            raise ValueError("retention_days must be >= 0")
        self.store_question_text = store_question_text
        self.retention_days = retention_days
        self.read_only = read_only
        self._salt = bytes(salt)
        self._db: Database
        if is_postgres_url(path):
            self.path: Path | None = None
            self._db = PostgresDatabase(str(path), read_only=read_only)
        else:
            self.path = Path(path)
            self._db = SqliteDatabase(self.path, conn=self._connect(busy_timeout), read_only=read_only)
        try:
            self._configure()
            migrate(self._db, read_only=read_only)
        except BaseException:
            self._db.close()
            raise

    @classmethod
    def from_settings(
        cls,
        settings: AnalyticsSettings,
        *,
        environ: Mapping[str, str] | None = None,
        url: str | None = None,
    ) -> AnalyticsStore:
        """Open the store described by ``settings`` (salt from ``settings.salt_env`` or the salt file),
        in the PostgreSQL database ``url`` when given, else in the SQLite file ``settings.path``."""
        salt = load_salt(settings.path, settings.salt_env, environ)
        return cls(
            url or settings.path,
            salt,
            store_question_text=settings.store_question_text,
            retention_days=settings.retention_days,
        )

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._db.dialect

    @property
    def description(self) -> str:
        """The file, or the URL without its password."""
        return self._db.description

    # -- opening ------------------------------------------------------------------------------------

    def _connect(self, busy_timeout: float) -> sqlite3.Connection:
        """Open the connection in autocommit mode (transactions are explicit)."""
        assert self.path is not None  # SQLite only
        if self.read_only:
            uri = self.path.resolve().as_uri() + "?mode=ro"
            return sqlite3.connect(uri, uri=True, timeout=busy_timeout, isolation_level=None)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _private_file(self.path)
        conn = sqlite3.connect(self.path, timeout=busy_timeout, isolation_level=None)
        self._identity = _file_identity(self.path)
        return conn

    def replaced(self) -> bool:
        """True when the file this connection writes to is no longer at :attr:`path` (deleted, or
        another file put there): writes would go to an unlinked file and be lost."""
        if self.read_only:
            return False
        return _file_identity(self.path) != getattr(self, "_identity", None)

    def _configure(self) -> None:
        """WAL journal, foreign keys (SQLite only: PostgreSQL has neither setting to make)."""
        if not isinstance(self._db, SqliteDatabase):
            return
        if not self.read_only:
            mode = self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                log.warning("analytics: %s stays in journal mode %r (WAL not available)", self.path, mode)
            self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.execute("PRAGMA foreign_keys = ON")

    @property
    def _conn(self) -> sqlite3.Connection:
        """The SQLite connection (SQLite only: for tests that look at the file's own settings)."""
        if not isinstance(self._db, SqliteDatabase):
            raise AttributeError("a PostgreSQL store has no SQLite connection")
        return self._db.conn

    def _transaction(self, *, write: bool = True) -> contextlib.AbstractContextManager[None]:
        """Run the block in one transaction; roll back when it raises."""
        return self._db.transaction(write=write)

    # -- properties ---------------------------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        """The database's schema version."""
        return self._db.schema_version()

    def hash_user(self, user_id: int) -> str:
        """The stored pseudonym for ``user_id`` under this store's salt."""
        return hash_user(self._salt, user_id)

    # -- writes -------------------------------------------------------------------------------------

    def record_question(self, record: QuestionRecord) -> int:
        """Log one question and its outcome (see :class:`QuestionRecord`); return the new row id (for
        the vote buttons). The text is stored only when ``store_question_text`` is on, cut to 4,000
        characters."""
        question, score, latency_ms = record.question, record.score, record.latency_ms
        text = question[:MAX_QUESTION_CHARS] if (self.store_question_text and question is not None) else None
        score_value = float(score) if score is not None and math.isfinite(score) else None
        latency = None if latency_ms is None else max(0, round(latency_ms))
        row = self._db.execute(
            "INSERT INTO questions (asked_at, guild_id, channel_id, asker_hash, question, answered,"
            " doc_id, paragraph, score, latency_ms, verdict) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                _timestamp(record.asked_at),
                record.guild_id,
                record.channel_id,
                self.hash_user(record.user_id),
                text,
                1 if record.answered else 0,
                record.doc_id,
                record.paragraph,
                score_value,
                latency,
                record.verdict,
            ),
        ).fetchone()
        return int(row[0])

    def record_vote(
        self,
        question_id: int,
        user_id: int,
        value: int,
        *,
        voted_at: datetime | None = None,
        scope: Scope = EVERYWHERE,
    ) -> VoteResult:
        """Store ``user_id``'s 👍 (+1) or 👎 (-1) on an answer, replacing their earlier vote on it.

        Returns whether it was stored (False for an unknown question id, or one asked outside
        ``scope``: a server id, :data:`DMS`, or :data:`EVERYWHERE`) and the answer's tallies.
        """
        if isinstance(value, bool) or value not in (1, -1):
            raise ValueError(f"a vote is +1 or -1, not {value!r}")
        where, params = _scope_filter(scope)
        with self._transaction():
            cursor = self._db.execute(
                "INSERT INTO votes (question_id, voter_hash, value, voted_at)"
                f" SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM questions WHERE id = ?{where})"
                " ON CONFLICT (question_id, voter_hash)"
                " DO UPDATE SET value = excluded.value, voted_at = excluded.voted_at",
                (question_id, self.hash_user(user_id), int(value), _timestamp(voted_at), question_id, *params),
            )
            stored = cursor.rowcount > 0
            up, down = self.tallies(question_id)
        return VoteResult(stored, up, down)

    def tallies(self, question_id: int) -> tuple[int, int]:
        """The (up, down) vote counts of one answer."""
        up, down = self._db.execute(
            f"SELECT {_UP_DOWN} FROM votes WHERE question_id = ?",
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
            self._db.execute(
                "DELETE FROM votes WHERE question_id IN (SELECT id FROM questions WHERE asked_at < ?)",
                (cutoff,),
            )
            deleted = self._db.execute("DELETE FROM questions WHERE asked_at < ?", (cutoff,)).rowcount
        return int(deleted)

    # -- report -------------------------------------------------------------------------------------

    def stats(self, days: int = 7, *, top: int = 10, now: datetime | None = None, scope: Scope = EVERYWHERE) -> Stats:
        """The admin report for the last ``days`` UTC calendar days (today included).

        ``scope`` is one server's id (what its ``/stats`` shows), :data:`DMS` (direct messages only)
        or :data:`EVERYWHERE` (the operators' command line). ``top`` bounds the unanswered-question
        and cited-passage lists. All numbers come from one read transaction, so they agree.
        """
        if days < 1:
            raise ValueError("days must be >= 1")
        if top < 0:
            raise ValueError("top must be >= 0")
        since, until = _window(days, now)
        start = _timestamp(datetime.combine(since, time.min, tzinfo=timezone.utc))
        end = _timestamp(datetime.combine(until + timedelta(days=1), time.min, tzinfo=timezone.utc))
        where, scope_params = _scope_filter(scope)
        window = (start, end, *scope_params)
        in_window = f"asked_at >= ? AND asked_at < ?{where}"
        with self._transaction(write=False):
            per_day = tuple(
                DayCount(date.fromisoformat(day), int(count), int(answered), int(closest), int(not_found))
                for day, count, answered, closest, not_found in self._db.execute(
                    "SELECT substr(asked_at, 1, 10) AS day, COUNT(*), SUM(answered),"
                    " SUM(CASE WHEN verdict = 'closest' THEN 1 ELSE 0 END),"
                    " SUM(CASE WHEN verdict = 'none' THEN 1 ELSE 0 END) FROM questions"
                    f" WHERE {in_window} GROUP BY substr(asked_at, 1, 10) ORDER BY day",
                    window,
                )
            )
            (without_text,) = self._db.execute(
                f"SELECT COUNT(*) FROM questions WHERE {in_window} AND answered = 0 AND question IS NULL",
                window,
            ).fetchone()
            unanswered = _group_unanswered(
                self._db.execute(
                    f"SELECT question, asked_at FROM questions WHERE {in_window}"
                    " AND answered = 0 AND question IS NOT NULL",
                    window,
                ),
                top,
            )
            cited = tuple(
                CitedPassage(str(doc_id), paragraph, int(count))
                for doc_id, paragraph, count in self._db.execute(
                    "SELECT doc_id, paragraph, COUNT(*) AS n FROM questions"
                    f" WHERE {in_window} AND answered = 1 AND doc_id IS NOT NULL"
                    " GROUP BY doc_id, paragraph ORDER BY n DESC, doc_id, paragraph LIMIT ?",
                    (*window, top),
                )
            )
            up, down = self._db.execute(
                f"SELECT {_UP_DOWN.replace('value', 'v.value')}"
                " FROM votes AS v JOIN questions AS q ON q.id = v.question_id"
                f" WHERE q.{in_window.replace(' AND ', ' AND q.')}",
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
            closest=sum(d.closest for d in per_day),
            not_found=sum(d.not_found for d in per_day),
        )

    # -- closing ------------------------------------------------------------------------------------

    # -- per-server settings and shared counters -----------------------------------------------------

    def server_settings(self) -> dict[int, str]:
        """Every server's stored settings overrides (JSON text), by server id."""
        rows = self._db.execute("SELECT guild_id, overrides FROM server_settings").fetchall()
        return {int(guild_id): str(overrides) for guild_id, overrides in rows}

    def set_server_settings(self, guild_id: int, overrides: str | None) -> int:
        """Store one server's overrides (None or ``"{}"`` deletes the row) and bump the
        ``settings_generation`` counter in the same transaction; returns the new generation."""
        now = _timestamp()
        with self._transaction():
            if overrides is None or overrides == "{}":
                self._db.execute("DELETE FROM server_settings WHERE guild_id = ?", (guild_id,))
            else:
                self._db.execute(
                    "INSERT INTO server_settings (guild_id, overrides, updated_at) VALUES (?, ?, ?)"
                    " ON CONFLICT (guild_id) DO UPDATE SET overrides = excluded.overrides,"
                    " updated_at = excluded.updated_at",
                    (guild_id, overrides, now),
                )
            return self._bump(SETTINGS_GENERATION, now)

    def shared_state(self) -> dict[str, int]:
        """The counters every process watches (missing ones are 0): see :data:`CORPUS_GENERATION`."""
        state = {CORPUS_GENERATION: 0, SETTINGS_GENERATION: 0}
        for name, value in self._db.execute("SELECT name, value FROM shared_state").fetchall():
            state[str(name)] = int(value)
        return state

    def bump(self, name: str) -> int:
        """Add one to the shared counter ``name`` (atomically across processes); its new value."""
        with self._transaction():
            return self._bump(name, _timestamp())

    def _bump(self, name: str, now: str) -> int:
        (value,) = self._db.execute(
            "INSERT INTO shared_state (name, value, updated_at) VALUES (?, 1, ?)"
            " ON CONFLICT (name) DO UPDATE SET value = shared_state.value + 1, updated_at = excluded.updated_at"
            " RETURNING value",
            (name, now),
        ).fetchone()
        return int(value)

    # -- closing ------------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection (SQLite: running ``PRAGMA optimize`` first when writable)."""
        if not self.read_only and isinstance(self._db, SqliteDatabase):
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("PRAGMA optimize")
        self._db.close()

    def __enter__(self) -> AnalyticsStore:
        """Use the store in a ``with`` block that closes it."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close the store at the end of a ``with`` block."""
        self.close()
