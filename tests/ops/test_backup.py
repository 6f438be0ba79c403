"""`summitbot backup` and `summitbot restore` on real SQLite files: consistent copies while a writer
has rows in the WAL, the salt beside the copy, mode 0600, never overwriting, and no restore while a
running bot holds the database."""

from __future__ import annotations

import dataclasses
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.config import AnalyticsSettings, Settings
from bot.storage import AnalyticsStore, QuestionRecord, salt_path

REPO = Path(__file__).resolve().parents[2]


def summitbot(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SUMMITBOT_HASH_SALT"}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "config.yaml").write_text("analytics:\n  path: data/summitbot.sqlite3\n")
    return tmp_path


def _store(site: Path) -> AnalyticsStore:
    settings = AnalyticsSettings(path=site / "data" / "summitbot.sqlite3", salt_env="")
    return AnalyticsStore.from_settings(settings, environ={})


def _count(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM questions").fetchone()[0])


def test_backup_is_consistent_while_the_bot_writes(site: Path) -> None:
    db = site / "data" / "summitbot.sqlite3"
    store = _store(site)  # stays open, like the running bot's connection
    try:
        for i in range(25):
            store.record_question(QuestionRecord(user_id=1000 + i, question=f"question {i}?", answered=i % 2 == 0))
        assert (db.with_name(db.name + "-wal")).stat().st_size > 0, "recent rows are still in the WAL"
        naive = site / "naive.sqlite3"
        shutil.copyfile(db, naive)  # what copying the file alone gives
        try:
            naive_rows = _count(naive)
        except sqlite3.DatabaseError:
            naive_rows = -1
        assert naive_rows < 25

        result = summitbot("backup", "backups-1.sqlite3", cwd=site)
        assert result.returncode == 0, result.stderr
        copy = site / "backups-1.sqlite3"
        assert result.stdout.strip() == (
            "Backed up 25 questions to backups-1.sqlite3 (mode 0600), and the hashing salt to backups-1.sqlite3.salt."
        )
        assert _count(copy) == 25
        assert stat.S_IMODE(copy.stat().st_mode) == 0o600
        assert salt_path(copy).read_bytes() == salt_path(db).read_bytes()
        assert stat.S_IMODE(salt_path(copy).stat().st_mode) == 0o600
        assert not copy.with_name(copy.name + "-wal").exists(), "one self-contained file"
        store.record_question(QuestionRecord(user_id=7, question="after the backup?", answered=True))
    finally:
        store.close()
    assert _count(db) == 26


def test_backup_into_a_folder_never_overwrites_and_errors_are_one_line(site: Path) -> None:
    missing = summitbot("backup", "b.sqlite3", cwd=site)
    assert missing.returncode == 1
    assert missing.stderr.splitlines() == [
        f"summitbot: no analytics database at {site / 'data' / 'summitbot.sqlite3'} (analytics.path): "
        "nothing to back up"
    ]
    store = _store(site)
    store.record_question(QuestionRecord(user_id=1, question="q?", answered=True))
    store.close()
    (site / "backups").mkdir()
    dated = summitbot("backup", "backups", cwd=site)
    assert dated.returncode == 0, dated.stderr
    (made,) = (site / "backups").glob("summitbot-*.sqlite3")
    assert made.name.endswith("Z.sqlite3") and _count(made) == 1
    again = summitbot("backup", str(made), cwd=site)
    assert again.returncode == 1
    (line,) = again.stderr.splitlines()
    assert line == f"summitbot: {made} already exists; backup never overwrites (pick another name)"
    nowhere = summitbot("backup", "no/such/folder/b.sqlite3", cwd=site)
    assert nowhere.returncode == 1 and len(nowhere.stderr.splitlines()) == 1 and "does not exist" in nowhere.stderr


HOLD_LOCK = """
import sys, time
from pathlib import Path
from bot.ops.dblock import shared
with shared(Path(sys.argv[1])) as ok:
    print("held" if ok else "refused", flush=True)
    sys.stdin.readline()
"""


def test_restore_refuses_while_a_bot_holds_the_database_then_restores(site: Path) -> None:
    db = site / "data" / "summitbot.sqlite3"
    store = _store(site)
    for i in range(3):
        store.record_question(QuestionRecord(user_id=i, question=f"old {i}?", answered=True))
    voter_hash = store.hash_user(42)
    store.close()
    assert summitbot("backup", "b.sqlite3", cwd=site).returncode == 0
    store = _store(site)
    store.record_question(QuestionRecord(user_id=9, question="after?", answered=False))
    store.close()
    salt_path(db).write_text("a-different-salt-written-later")

    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        refused = summitbot("restore", "b.sqlite3", cwd=site)
        assert refused.returncode == 1
        (line,) = refused.stderr.splitlines()
        assert line.startswith(f"summitbot: {db} is in use by a running summitbot: stop the bot first")
        assert _count(db) == 4, "nothing changed"
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(timeout=10)

    restored = summitbot("restore", "b.sqlite3", cwd=site)
    assert restored.returncode == 0, restored.stderr
    assert f"Restored 3 questions from b.sqlite3 into {db}." in restored.stdout
    assert _count(db) == 3
    (kept,) = db.parent.glob("summitbot.sqlite3.before-restore-*Z")
    assert _count(kept) == 4 and salt_path(kept).read_text() == "a-different-salt-written-later"
    assert f"kept as {kept}" in restored.stdout
    store = _store(site)  # the bot's store opens it, and hashes match the backup's salt again
    try:
        assert store.hash_user(42) == voter_hash
        assert store.schema_version >= 1
    finally:
        store.close()


def test_restore_checks_the_backup_first(site: Path) -> None:
    (site / "notes.txt").write_text("not a database")
    bad = summitbot("restore", "notes.txt", cwd=site)
    assert bad.returncode == 1 and len(bad.stderr.splitlines()) == 1
    assert "not a usable SQLite database" in bad.stderr
    with sqlite3.connect(site / "other.sqlite3") as conn:
        conn.execute("CREATE TABLE t (x)")
    other = summitbot("restore", "other.sqlite3", cwd=site)
    assert other.returncode == 1 and "not a summitbot analytics database" in other.stderr
    store = _store(site)
    store.close()
    future = site / "future.sqlite3"
    shutil.copyfile(site / "data" / "summitbot.sqlite3", future)
    with sqlite3.connect(future) as conn:
        conn.execute("PRAGMA user_version = 999")
    newer = summitbot("restore", "future.sqlite3", cwd=site)
    assert newer.returncode == 1 and "schema v999, newer than this summitbot knows" in newer.stderr
    assert not list((site / "data").glob("*.before-restore-*")), "nothing replaced"
    assert summitbot("restore", "absent.sqlite3", cwd=site).stderr.strip() == "summitbot: no backup at absent.sqlite3"


def test_lock_is_released_when_the_holder_dies(site: Path) -> None:
    db = site / "data" / "summitbot.sqlite3"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    holder.kill()  # a crash: no clean shutdown
    holder.wait(timeout=10)
    time.sleep(0.05)
    from bot.ops.dblock import exclusive

    with exclusive(db):
        pass


@pytest.mark.skipif(
    "database" not in {f.name for f in dataclasses.fields(Settings)},
    reason="no database.url in this version's config (PostgreSQL support not merged)",
)
@pytest.mark.parametrize("command", ["backup", "restore"])
def test_with_postgres_backup_and_restore_point_to_pg_dump(command: str, tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("database:\n  url: postgresql://summitbot@127.0.0.1/summitbot\n")
    result = summitbot(command, "b.sqlite3", cwd=tmp_path)
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert "PostgreSQL (database.url)" in line and ("pg_dump" in line or "pg_restore" in line)
