"""One SQL connection, SQLite or PostgreSQL, behind the same small surface the store is written on.

The store writes its SQL once, with ``?`` placeholders and portable SQL (``CASE WHEN`` rather than
summed booleans, ``RETURNING id``, ``ON CONFLICT … DO UPDATE``); each :class:`Database` runs it:

* :class:`SqliteDatabase` -- a file (WAL mode), the embedded default; processes on one host share it.
  The schema version is ``PRAGMA user_version``; a write transaction is ``BEGIN IMMEDIATE``.
* :class:`PostgresDatabase` -- a ``postgresql://`` URL through psycopg 3, for processes on several
  hosts. Placeholders become ``%s``; the schema version lives in the table ``schema_version``; a
  migration holds an advisory lock so two processes never upgrade at once; a report reads in one
  ``REPEATABLE READ`` snapshot; a dropped connection is opened again on the next call.

Both apply the same numbered migrations: :meth:`Database.ddl` turns the SQLite DDL into PostgreSQL's
(64-bit ``BIGINT`` for Discord ids, identity columns for ``AUTOINCREMENT``, no ``WITHOUT ROWID``).
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "Cursor",
    "Database",
    "PostgresDatabase",
    "SqliteDatabase",
    "is_postgres_url",
    "redact_url",
]

#: Any 64-bit key for PostgreSQL's advisory lock taken while migrating ("summitbt" in ASCII).
_MIGRATION_LOCK = 0x73756D6D6974_6274
#: Seconds a PostgreSQL connection attempt may take.
CONNECT_TIMEOUT_SECONDS = 10
#: Longest a single PostgreSQL statement may run before it is cancelled (milliseconds).
STATEMENT_TIMEOUT_MS = 30_000


def is_postgres_url(target: object) -> bool:
    """Whether ``target`` names a PostgreSQL database (``postgresql://`` or ``postgres://``)."""
    return isinstance(target, str) and target.split("://", 1)[0].lower() in ("postgresql", "postgres")


def redact_url(url: str) -> str:
    """The URL with any password replaced by ``***``, for logs and messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "postgresql://…"
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, f"{user}:***@{host}", parts.path, parts.query, parts.fragment))


class Cursor(Protocol):
    """The part of a DB-API cursor the store uses."""

    rowcount: int

    def fetchone(self) -> Any:
        """The next row, or None."""
        ...

    def fetchall(self) -> list[Any]:
        """All remaining rows."""
        ...

    def __iter__(self) -> Iterator[Any]:
        """The rows."""
        ...


class Database(Protocol):
    """One connection (used from one thread) that runs the store's portable SQL."""

    #: "sqlite" or "postgresql".
    dialect: str
    #: What to call it in logs and messages (a path, or the URL without its password).
    description: str
    read_only: bool

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        """Run one statement with ``?`` placeholders."""
        ...

    def transaction(self, *, write: bool = True) -> contextlib.AbstractContextManager[None]:
        """One transaction (a consistent snapshot when ``write`` is False); rolled back on error."""
        ...

    def ddl(self, statement: str) -> str:
        """A migration statement, as written for SQLite, in this database's dialect."""
        ...

    def schema_version(self) -> int:
        """The schema version the database is at (0 when new)."""
        ...

    def set_schema_version(self, version: int) -> None:
        """Record the schema version (inside the migration's transaction)."""
        ...

    def migration_lock(self) -> contextlib.AbstractContextManager[None]:
        """Around the whole upgrade: keep other processes from migrating at the same time."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...


# ------------------------------------------------------------------------------------------- SQLite


class SqliteDatabase:
    """A SQLite file in WAL mode (autocommit; transactions explicit). ``read_only`` opens it ``mode=ro``."""

    dialect = "sqlite"

    def __init__(
        self,
        path: Path | str,
        *,
        busy_timeout: float = 1.0,
        read_only: bool = False,
        conn: sqlite3.Connection | None = None,
    ) -> None:
        """Open (creating the file and its folder unless ``read_only``), or take ``conn`` already
        opened on ``path`` in autocommit mode."""
        self.path = Path(path)
        self.description = str(self.path)
        self.read_only = read_only
        if conn is not None:
            self.conn = conn
        elif read_only:
            uri = self.path.resolve().as_uri() + "?mode=ro"
            self.conn = sqlite3.connect(uri, uri=True, timeout=busy_timeout, isolation_level=None)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(self.path, timeout=busy_timeout, isolation_level=None)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        """Run one statement."""
        return self.conn.execute(sql, tuple(params))

    @contextlib.contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[None]:
        """``BEGIN IMMEDIATE`` (takes the write lock now) or ``BEGIN DEFERRED``; roll back on error."""
        self.conn.execute("BEGIN IMMEDIATE" if write else "BEGIN DEFERRED")
        try:
            yield
        except BaseException:
            if self.conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def ddl(self, statement: str) -> str:
        """Migrations are written in SQLite's dialect."""
        return statement

    def schema_version(self) -> int:
        """``PRAGMA user_version``."""
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def set_schema_version(self, version: int) -> None:
        """Set ``PRAGMA user_version``."""
        self.conn.execute(f"PRAGMA user_version = {int(version)}")

    def migration_lock(self) -> contextlib.AbstractContextManager[None]:
        """Nothing to add: each step's ``BEGIN IMMEDIATE`` holds the file's write lock, and the
        version is read again under it."""
        return contextlib.nullcontext()

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()


# --------------------------------------------------------------------------------------- PostgreSQL

_DDL_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"\bINTEGER\s+PRIMARY\s+KEY\s+AUTOINCREMENT\b", re.I),
        "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
    ),
    (re.compile(r"\bINTEGER\b", re.I), "BIGINT"),
    (re.compile(r"\bREAL\b", re.I), "DOUBLE PRECISION"),
    (re.compile(r"\)\s*WITHOUT\s+ROWID\b", re.I), ")"),
)


def postgres_ddl(statement: str) -> str:
    """SQLite DDL in PostgreSQL's dialect (Discord ids need 64 bits: every INTEGER becomes BIGINT)."""
    for pattern, replacement in _DDL_RULES:
        statement = pattern.sub(replacement, statement)
    return statement


class PostgresDatabase:
    """A PostgreSQL database through psycopg 3 (autocommit; transactions explicit).

    Raises ``ImportError`` with an install hint when psycopg is missing, and ``psycopg.Error`` when
    the server cannot be reached. The password never appears in :attr:`description`.
    """

    dialect = "postgresql"

    def __init__(self, url: str, *, read_only: bool = False, application_name: str = "summitbot") -> None:
        """Connect to ``url``."""
        try:
            import psycopg
        except ImportError as exc:  # pragma: no cover - the test extras install it
            raise ImportError(
                "database.url is a PostgreSQL URL but the psycopg package is not installed:"
                " pip install 'summitbot[postgres]'"
            ) from exc
        self._psycopg = psycopg
        self.url = url
        self.description = redact_url(url)
        self.read_only = read_only
        self._application_name = application_name
        self.conn = self._connect()

    def _connect(self) -> Any:
        conn = self._psycopg.connect(
            self.url,
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            application_name=self._application_name,
            options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
        )
        if self.read_only:
            conn.execute("SET default_transaction_read_only = on")
        return conn

    def _live(self) -> Any:
        """The connection, opened again when the server dropped it (outside a transaction only)."""
        if self.conn.closed or self.conn.broken:
            with contextlib.suppress(Exception):
                self.conn.close()
            self.conn = self._connect()
        return self.conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement (``?`` placeholders become ``%s``; a literal ``%`` is escaped)."""
        return self._live().execute(sql.replace("%", "%%").replace("?", "%s"), tuple(params), prepare=False)

    @contextlib.contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[None]:
        """A transaction; a read-only one sees one snapshot (``REPEATABLE READ``)."""
        conn = self._live()
        with conn.transaction():
            if not write:
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield

    def ddl(self, statement: str) -> str:
        """See :func:`postgres_ddl`."""
        return postgres_ddl(statement)

    def schema_version(self) -> int:
        """The one row of ``schema_version`` (0 when the table is not there yet)."""
        (exists,) = self._live().execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
        if not exists:
            return 0
        row = self.conn.execute("SELECT max(version) FROM schema_version").fetchone()
        return int(row[0] or 0)

    def set_schema_version(self, version: int) -> None:
        """Replace the recorded version."""
        self.conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        self.conn.execute("DELETE FROM schema_version")
        self.conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (int(version),))

    @contextlib.contextmanager
    def migration_lock(self) -> Iterator[None]:
        """A session advisory lock taken *before* the migration's transactions begin: a second
        process waits, and its transactions then start after the first one's commits, so even the
        catalog caches see the new tables (a lock taken inside a transaction would leave them stale)."""
        conn = self._live()
        conn.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK,))
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                conn.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK,))

    def close(self) -> None:
        """Close the connection."""
        with contextlib.suppress(Exception):
            self.conn.close()
