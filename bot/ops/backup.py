"""``summitbot backup PATH`` and ``summitbot restore PATH`` for the SQLite analytics database.

A backup is a consistent copy made with SQLite's online backup API (recent rows still in the WAL
file included, while the bot keeps writing), mode 0600, with the hashing salt copied beside it as
``PATH.salt`` — so a backup is itself a database with its salt, as the bot keeps them. A restore
refuses while a running bot holds the database (:mod:`bot.ops.dblock`), checks the backup first,
and keeps the database it replaces as ``<db>.before-restore-<time>``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bot.ops.dblock import DatabaseInUse, exclusive
from bot.storage import MIGRATIONS, salt_path


class BackupError(Exception):
    """A backup or restore that cannot be done (one-line message)."""


@dataclass(frozen=True)
class Copied:
    """What a backup or restore wrote: the database, its salt (when copied), the question count."""

    database: Path
    salt: Path | None
    questions: int
    kept: Path | None = None  # restore: where the replaced database went


def _stamp() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _open_ro(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, timeout=5.0)


def inspect(path: Path) -> tuple[int, int]:
    """(schema version, questions) of an analytics database; :class:`BackupError` when it is not one."""
    try:
        with contextlib.closing(_open_ro(path)) as conn:
            if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise BackupError(f"{path} is damaged (PRAGMA quick_check failed)")
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "questions" not in tables:
                raise BackupError(f"{path} is an SQLite file but not a summitbot analytics database")
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            questions = int(conn.execute("SELECT count(*) FROM questions").fetchone()[0])
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a usable SQLite database ({exc})") from None
    return version, questions


def _copy_file(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` (mode 0600) through a temporary file and a rename."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out, source.open("rb") as src:
            shutil.copyfileobj(src, out)
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _sqlite_copy(source: Path, target: Path) -> None:
    """A consistent copy of database ``source`` at ``target`` (mode 0600, written then renamed)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        os.chmod(tmp, 0o600)
        with contextlib.closing(_open_ro(source)) as src, contextlib.closing(sqlite3.connect(tmp)) as dst:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def backup(db_path: Path, target: Path, salt_from_env: bool) -> Copied:
    """Copy the database at ``db_path`` to ``target`` (a file, or a folder to put a dated file in)
    and its salt file beside it; never overwrites. ``salt_from_env``: the salt is in the environment,
    so there is no salt file to copy."""
    if not db_path.is_file():
        raise BackupError(f"no analytics database at {db_path} (analytics.path): nothing to back up")
    if target.is_dir():
        target = target / f"summitbot-{_stamp()}.sqlite3"
    if target.exists() or target.is_symlink():
        raise BackupError(f"{target} already exists; backup never overwrites (pick another name)")
    if not target.parent.is_dir():
        raise BackupError(f"the folder {target.parent} does not exist")
    if target.resolve() == db_path.resolve():
        raise BackupError("the backup cannot be the database itself")
    salt_src, salt_dst = salt_path(db_path), salt_path(target)
    if salt_dst.exists():
        raise BackupError(f"{salt_dst} already exists; backup never overwrites (pick another name)")
    inspect(db_path)
    try:
        _sqlite_copy(db_path, target)
        copied_salt = None
        if not salt_from_env and salt_src.is_file():
            _copy_file(salt_src, salt_dst)
            copied_salt = salt_dst
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"cannot back up {db_path}: {exc}") from None
    except OSError as exc:
        raise BackupError(f"cannot write {exc.filename or target}: {exc.strerror or exc}") from None
    _, questions = inspect(target)
    return Copied(target, copied_salt, questions)


def restore(source: Path, db_path: Path) -> Copied:
    """Put the backup ``source`` (and ``source.salt``) in place of the database at ``db_path``.

    Refuses (:class:`BackupError`) when a running bot holds the database, when ``source`` is not an
    analytics database, or when its schema is newer than this code knows. The replaced database and
    salt are kept beside it as ``<db>.before-restore-<time>`` (and ``….salt``).
    """
    if not source.is_file():
        raise BackupError(f"no backup at {source}")
    if db_path.exists() and source.resolve() == db_path.resolve():
        raise BackupError("the backup is the database itself")
    version, questions = inspect(source)
    latest = max(step.version for step in MIGRATIONS)
    if version > latest:
        raise BackupError(f"{source} has schema v{version}, newer than this summitbot knows (v{latest}): upgrade first")
    db_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with exclusive(db_path):
            kept = None
            if db_path.exists():
                kept = db_path.with_name(f"{db_path.name}.before-restore-{_stamp()}")
                _sqlite_copy(db_path, kept)
                if salt_path(db_path).is_file():
                    _copy_file(salt_path(db_path), salt_path(kept))
            staged = db_path.with_name(f".{db_path.name}.restoring")
            _sqlite_copy(source, staged)
            for leftover in (db_path.with_name(db_path.name + "-wal"), db_path.with_name(db_path.name + "-shm")):
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()  # belong to the replaced file; nobody has it open (we hold the lock)
            os.replace(staged, db_path)
            salt = None
            if salt_path(source).is_file():
                _copy_file(salt_path(source), salt_path(db_path))
                salt = salt_path(db_path)
    except DatabaseInUse:
        raise BackupError(
            f"{db_path} is in use by a running summitbot: stop the bot first (systemctl stop summitbot, "
            "docker compose stop)"
        ) from None
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"cannot restore {source}: {exc}") from None
    except OSError as exc:
        raise BackupError(f"cannot write {exc.filename or db_path}: {exc.strerror or exc}") from None
    return Copied(db_path, salt, questions, kept)
