"""Tests for bot.storage: the analytics SQLite file, its migrations, votes, the report and failure handling.

Every test uses a real SQLite file under ``tmp_path``. Failure cases that need another process or a
full disk are made real where possible: another connection's ``BEGIN EXCLUSIVE`` for a locked file,
``PRAGMA max_page_count`` for a full database, ``mode=ro`` for a read-only file. Tests run as root
here, where chmod does not stop writes; the chmod test only checks "no exception" as root and checks
the write is refused when run as another user.
"""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import hashlib
import hmac
import logging
import os
import re
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import AnalyticsSettings
from bot.storage import (
    MIGRATIONS,
    AnalyticsSchemaError,
    AnalyticsStore,
    AsyncAnalytics,
    CitedPassage,
    DayCount,
    Migration,
    QuestionRecord,
    Stats,
    UnansweredQuestion,
    VoteResult,
    format_stats,
    hash_user,
    load_salt,
    normalize_question,
    open_analytics,
    salt_path,
    write_stats_csv,
)
from bot.storage import report as report_mod
from bot.storage import schema as schema_mod

LATEST = 4  # the schema version this code writes
SALT = b"test-salt-0123456789abcdef"
USER = 987654321098765432  # a snowflake-sized id that must never appear in the file
OTHER = 111111111111111111
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)
LOGGER = "bot.storage"

# The v1 schema as released, written out by hand so the upgrade test does not depend on MIGRATIONS.
V1_SCHEMA = """
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
);
CREATE INDEX idx_questions_asked_at ON questions (asked_at);
PRAGMA user_version = 1;
"""


# ------------------------------------------------------------------------------------------------
# helpers


def db_path(tmp_path: Path) -> Path:
    """The database path used by most tests (in a folder that does not exist yet)."""
    return tmp_path / "data" / "analytics.sqlite3"


def open_store(tmp_path: Path, **kwargs: object) -> AnalyticsStore:
    """A store on the default test path with the test salt."""
    return AnalyticsStore(db_path(tmp_path), SALT, **kwargs)  # type: ignore[arg-type]


def ask(store: AnalyticsStore, **overrides: object) -> int:
    """Record a question with sensible defaults."""
    fields: dict[str, object] = {
        "user_id": USER,
        "question": "What was agreed at the summit?",
        "answered": True,
        "guild_id": 42,
        "channel_id": 43,
        "doc_id": "paris-summit",
        "paragraph": 3,
        "score": 7.5,
        "latency_ms": 12.4,
        "asked_at": NOW,
    }
    fields.update(overrides)
    return store.record_question(QuestionRecord(**fields))  # type: ignore[arg-type]


def raw(path: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Run a query on the file with a separate plain connection."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def make_v1_file(path: Path) -> None:
    """A v1 database (no votes table, no latency column, rollback journal) with three rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.executescript(V1_SCHEMA)
    conn.executemany(
        "INSERT INTO questions (asked_at, guild_id, channel_id, asker_hash, question, answered,"
        " doc_id, paragraph, score) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            ("2026-03-09T10:00:00.000000+00:00", 1, 2, "a" * 64, "old one", 1, "doc", 1, 3.0),
            ("2026-03-09T11:00:00.000000+00:00", 1, 2, "b" * 64, "old two?", 0, None, None, None),
            ("2026-03-10T09:00:00.000000+00:00", None, 5, "c" * 64, None, 0, "doc", 2, 0.5),
        ],
    )
    conn.commit()
    conn.close()


def async_on(path: Path, **kwargs: object) -> AsyncAnalytics:
    """AsyncAnalytics on ``path`` with the test salt and a short busy timeout."""
    kwargs.setdefault("busy_timeout", 0.3)
    return AsyncAnalytics(lambda: AnalyticsStore(path, SALT, **kwargs))  # type: ignore[arg-type]


def store_errors(caplog: pytest.LogCaptureFixture, level: int) -> list[logging.LogRecord]:
    """Records of exactly ``level`` from bot.storage."""
    return [r for r in caplog.records if r.name == LOGGER and r.levelno == level]


async def answer_question(analytics: AsyncAnalytics | None) -> str:
    """A stand-in for the bot's answering path: analytics must never stop it."""
    reply = "The summit ended with a declaration."
    if analytics is not None:
        await analytics.record_question(QuestionRecord(user_id=USER, question="what happened?", answered=True))
    return reply


# ------------------------------------------------------------------------------------------------
# creation, schema, migrations


def test_module_does_not_import_discord() -> None:
    code = "import sys, bot.storage; sys.exit('discord' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_creates_file_folder_wal_and_current_schema(tmp_path: Path) -> None:
    path = db_path(tmp_path)
    assert not path.parent.exists()
    with open_store(tmp_path) as store:
        assert store.schema_version == MIGRATIONS[-1].version == LATEST
        assert ask(store) == 1
    assert path.is_file()
    assert raw(path, "PRAGMA journal_mode") == [("wal",)]
    tables = {name for (name,) in raw(path, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"questions", "votes"} <= tables
    columns = {row[1] for row in raw(path, "PRAGMA table_info(questions)")}
    assert {"asked_at", "guild_id", "channel_id", "asker_hash", "question", "answered"} <= columns
    assert {"doc_id", "paragraph", "score", "latency_ms"} <= columns


def test_record_question_stores_every_field(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        row_id = ask(store, asked_at=datetime(2026, 3, 10, 12, 0))  # naive is taken as UTC
        assert ask(store) == row_id + 1
    (row,) = raw(
        db_path(tmp_path),
        "SELECT asked_at, guild_id, channel_id, question, answered, doc_id, paragraph, score, latency_ms"
        " FROM questions WHERE id = ?",
        (row_id,),
    )
    assert row == (
        "2026-03-10T12:00:00.000000+00:00",
        42,
        43,
        "What was agreed at the summit?",
        1,
        "paris-summit",
        3,
        7.5,
        12,
    )


def test_reopen_keeps_rows(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        ids = [ask(store) for _ in range(3)]
    with open_store(tmp_path) as store:
        assert store.schema_version == LATEST
        assert ask(store) == ids[-1] + 1
    assert raw(db_path(tmp_path), "SELECT COUNT(*) FROM questions") == [(4,)]


def test_migrations_are_an_ordered_list() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert all(m.statements and m.description for m in MIGRATIONS)


def test_v1_file_is_upgraded_in_place_and_keeps_rows(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = db_path(tmp_path)
    make_v1_file(path)
    before = raw(path, "SELECT * FROM questions ORDER BY id")
    caplog.set_level(logging.INFO, LOGGER)
    with AnalyticsStore(path, SALT) as store:
        assert store.schema_version == LATEST
        # The old rows are still there, with a NULL latency; an answer's verdict is "answer" and an
        # unanswered row's is unknown (NULL); new rows continue the numbering.
        after = raw(path, "SELECT * FROM questions ORDER BY id")
        assert [row[:-2] for row in after] == before
        assert [row[-2:] for row in after] == [(None, "answer"), (None, None), (None, None)]
        assert ask(store, asked_at=datetime(2026, 3, 10, 10, 0, tzinfo=timezone.utc)) == 4
        # The new votes table works on an old row.
        assert store.record_vote(1, USER, 1) == VoteResult(True, 1, 0)
        report = store.stats(days=2, now=NOW)
    assert report.questions == 4
    assert report.answered == 2
    assert (report.closest, report.not_found, report.unanswered_unlabelled) == (0, 0, 2)
    assert [g.text for g in report.top_unanswered] == ["old two"]
    assert report.unanswered_without_text == 1
    assert raw(path, "PRAGMA journal_mode") == [("wal",)]
    assert any("upgraded to schema v2" in r.getMessage() for r in caplog.records)


def test_failed_migration_rolls_back_and_keeps_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = db_path(tmp_path)
    with open_store(tmp_path) as store:
        ask(store)
    broken = Migration(LATEST + 1, "broken", ("CREATE TABLE extra (x INTEGER)", "THIS IS NOT SQL"))
    monkeypatch.setattr(schema_mod, "MIGRATIONS", (*MIGRATIONS, broken))
    with pytest.raises(sqlite3.OperationalError):
        AnalyticsStore(path, SALT)
    assert raw(path, "PRAGMA user_version") == [(LATEST,)]
    assert raw(path, "SELECT name FROM sqlite_master WHERE name = 'extra'") == []
    assert raw(path, "SELECT COUNT(*) FROM questions") == [(1,)]


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = db_path(tmp_path)
    AnalyticsStore(path, SALT).close()
    raw(path, "PRAGMA user_version = 99")
    with pytest.raises(AnalyticsSchemaError, match="newer"):
        AnalyticsStore(path, SALT)


def test_read_only_store_refuses_to_upgrade(tmp_path: Path) -> None:
    path = db_path(tmp_path)
    make_v1_file(path)
    with pytest.raises(AnalyticsSchemaError, match="read-only"):
        AnalyticsStore(path, SALT, read_only=True)
    assert raw(path, "PRAGMA user_version") == [(1,)]


# ------------------------------------------------------------------------------------------------
# privacy: hashing, salt, question text


def test_asker_is_stored_as_salted_hash_never_raw(tmp_path: Path) -> None:
    path = db_path(tmp_path)
    with open_store(tmp_path) as store:
        ask(store)
        store.record_vote(1, OTHER, -1)
    ((asker,),) = raw(path, "SELECT asker_hash FROM questions")
    ((voter,),) = raw(path, "SELECT voter_hash FROM votes")
    for user, stored in ((USER, asker), (OTHER, voter)):
        assert stored != str(user)
        assert str(user) not in stored
        assert len(stored) == 64 and all(c in "0123456789abcdef" for c in stored)
        expected = hmac.new(SALT, f"user:{user}".encode(), hashlib.sha256).hexdigest()
        assert stored == expected == hash_user(SALT, user)
        assert stored != hashlib.sha256(str(user).encode()).hexdigest()  # not an unsalted hash
        assert hash_user(b"another-salt-value-123", user) != stored
    # Neither the decimal text nor the 8-byte integer of the ids is anywhere in the file.
    data = path.read_bytes()
    for user in (USER, OTHER):
        assert str(user).encode() not in data
        assert user.to_bytes(8, "big") not in data


@given(st.integers(min_value=0, max_value=2**63 - 1), st.binary(min_size=1, max_size=64))
def test_hash_never_contains_the_id(user_id: int, salt: bytes) -> None:
    digest = hash_user(salt, user_id)
    assert digest != str(user_id)
    if user_id >= 10**6:  # a short id could occur in 64 hex digits by chance
        assert str(user_id) not in digest
    assert digest != hash_user(salt + b"x", user_id)


def test_salt_from_environment_wins_and_writes_no_file(tmp_path: Path) -> None:
    path = db_path(tmp_path)
    salt = load_salt(path, "MY_SALT", {"MY_SALT": "a-secret-from-the-environment"})
    assert salt == b"a-secret-from-the-environment"
    assert not salt_path(path).exists()
    settings = AnalyticsSettings(path=path, salt_env="MY_SALT")
    with AnalyticsStore.from_settings(settings, environ={"MY_SALT": "a-secret-from-the-environment"}) as store:
        assert store.hash_user(USER) == hash_user(b"a-secret-from-the-environment", USER)
    assert not salt_path(path).exists()


def test_salt_file_is_created_once_with_0600(tmp_path: Path) -> None:
    path = db_path(tmp_path)
    settings = AnalyticsSettings(path=path, salt_env="UNSET_SALT_VARIABLE")
    with AnalyticsStore.from_settings(settings, environ={"UNSET_SALT_VARIABLE": "  "}) as store:
        first = store.hash_user(USER)
    file = salt_path(path)
    assert file == path.parent / "analytics.sqlite3.salt"
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    content = file.read_bytes()
    assert len(content) == 64
    with AnalyticsStore.from_settings(settings, environ={}) as store:
        assert store.hash_user(USER) == first
    assert file.read_bytes() == content
    # A second database elsewhere gets its own random salt.
    other = AnalyticsSettings(path=tmp_path / "other" / "db.sqlite3", salt_env="UNSET_SALT_VARIABLE")
    with AnalyticsStore.from_settings(other, environ={}) as store:
        assert store.hash_user(USER) != first


def test_salt_file_permissions_are_tightened_and_empty_file_replaced(tmp_path: Path) -> None:
    path = db_path(tmp_path)
    file = salt_path(path)
    file.parent.mkdir(parents=True)
    file.write_bytes(b"existing-salt-value-1234567890")
    file.chmod(0o644)
    assert load_salt(path, "", {}) == b"existing-salt-value-1234567890"
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    file.write_bytes(b"")
    salt = load_salt(path, "", {})
    assert len(salt) == 64 and file.read_bytes() == salt


def test_question_text_switch_off_stores_null(tmp_path: Path) -> None:
    with open_store(tmp_path, store_question_text=False) as store:
        ask(store, question="secret words", answered=False, doc_id=None)
        report = store.stats(days=1, now=NOW)
    assert raw(db_path(tmp_path), "SELECT question, answered FROM questions") == [(None, 0)]
    assert b"secret words" not in db_path(tmp_path).read_bytes()
    assert report.questions == 1 and report.unanswered_without_text == 1
    assert report.top_unanswered == ()


def test_long_question_is_cut(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        ask(store, question="x" * 10_000)
    assert raw(db_path(tmp_path), "SELECT length(question) FROM questions") == [(4000,)]


# ------------------------------------------------------------------------------------------------
# votes


def test_one_vote_per_person_and_changeable(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        qid = ask(store)
        assert store.record_vote(qid, USER, 1) == VoteResult(True, 1, 0)
        assert store.record_vote(qid, USER, 1) == VoteResult(True, 1, 0)  # same vote again: still one
        assert store.record_vote(qid, USER, -1) == VoteResult(True, 0, 1)  # changed
        assert store.record_vote(qid, OTHER, -1) == VoteResult(True, 0, 2)
        assert store.record_vote(qid, OTHER, 1) == VoteResult(True, 1, 1)
        assert store.tallies(qid) == (1, 1)
        assert store.record_vote(999, USER, 1) == VoteResult(False, 0, 0)  # unknown answer
        for bad in (0, 2, -2, True):
            with pytest.raises(ValueError):
                store.record_vote(qid, USER, bad)
    assert raw(db_path(tmp_path), "SELECT COUNT(*) FROM votes") == [(2,)]


def test_vote_survives_restart_and_stays_one_per_person(tmp_path: Path) -> None:
    path = db_path(tmp_path)
    settings = AnalyticsSettings(path=path, salt_env="UNSET_SALT_VARIABLE")
    with AnalyticsStore.from_settings(settings, environ={}) as store:
        qid = ask(store)
        store.record_vote(qid, USER, 1)
        store.record_vote(qid, OTHER, 1)
    # "Restart": a new store on the same file and salt file.
    with AnalyticsStore.from_settings(settings, environ={}) as store:
        assert store.tallies(qid) == (2, 0)
        assert store.record_vote(qid, USER, -1) == VoteResult(True, 1, 1)
    assert raw(path, "SELECT COUNT(*) FROM votes") == [(2,)]


# ------------------------------------------------------------------------------------------------
# the report


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A UTC time in March 2026."""
    return datetime(2026, 3, day, hour, minute, second, tzinfo=timezone.utc)


def fill_known_data(store: AnalyticsStore) -> dict[str, int]:
    """Rows on 7..11 March 2026 around the 8..10 March window used by the stats tests."""
    ids = {
        "a1": ask(store, asked_at=at(8, 9), doc_id="doc-a", paragraph=2),
        "u1": ask(store, asked_at=at(8, 10), question="What is the summit?", answered=False, doc_id=None),
        "u2": ask(store, asked_at=at(9, 11), question="  what IS the   summit!! ", answered=False),
        "a2": ask(store, asked_at=at(9, 12), doc_id="doc-a", paragraph=2),
        "a3": ask(store, asked_at=at(10, 8), doc_id="doc-b", paragraph=5),
        "u3": ask(store, asked_at=at(10, 9), question="Who signed?", answered=False, doc_id=None),
        "u4": ask(store, asked_at=at(10, 10), question="«what is the Summit»", answered=False),
        # an unanswered question with a candidate passage: not a citation
        "u5": ask(store, asked_at=at(10, 10, 30), question="Where is Paris", answered=False, doc_id="doc-c"),
        # outside the window: the day before and (clock skew) the day after
        "old": ask(store, asked_at=at(7, 23, 59, 59), question="what is the summit", answered=False),
        "late": ask(store, asked_at=at(11, 0, 0, 1), doc_id="doc-z", paragraph=1),
    }
    store.store_question_text = False
    ids["u6"] = ask(store, asked_at=at(10, 11), question="not kept", answered=False, doc_id=None)
    store.store_question_text = True
    store.record_vote(ids["a1"], USER, 1)
    store.record_vote(ids["a1"], OTHER, 1)
    store.record_vote(ids["a2"], USER, -1)
    store.record_vote(ids["old"], USER, 1)  # its question is outside the window
    return ids


def test_stats_on_known_data(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        fill_known_data(store)
        report = store.stats(days=3, now=NOW)
    assert (report.days, report.since, report.until) == (3, date(2026, 3, 8), date(2026, 3, 10))
    assert report.per_day == (
        DayCount(date(2026, 3, 8), 2, 1, 0, 1),
        DayCount(date(2026, 3, 9), 2, 1, 0, 1),
        DayCount(date(2026, 3, 10), 5, 1, 0, 4),
    )
    assert (report.questions, report.answered, report.unanswered) == (9, 3, 6)
    assert report.answered_rate == pytest.approx(3 / 9)
    assert report.top_unanswered == (
        UnansweredQuestion("what is the summit", 3, "«what is the Summit»", at(10, 10)),
        UnansweredQuestion("where is paris", 1, "Where is Paris", at(10, 10, 30)),
        UnansweredQuestion("who signed", 1, "Who signed?", at(10, 9)),
    )
    assert report.unanswered_without_text == 1
    assert report.top_cited == (CitedPassage("doc-a", 2, 2), CitedPassage("doc-b", 5, 1))
    assert (report.votes_up, report.votes_down) == (2, 1)


def test_stats_window_and_limits(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        fill_known_data(store)
        today = store.stats(days=1, now=NOW)
        wide = store.stats(days=30, now=at(11, 1), top=1)
        empty = store.stats(days=7, now=datetime(2027, 1, 1, tzinfo=timezone.utc))
        with pytest.raises(ValueError):
            store.stats(days=0)
    assert today.per_day == (DayCount(date(2026, 3, 10), 5, 1, 0, 4),)
    assert [g.count for g in today.top_unanswered] == [1, 1, 1]
    assert wide.questions == 11
    assert wide.top_unanswered == (UnansweredQuestion("what is the summit", 4, "«what is the Summit»", at(10, 10)),)
    assert wide.top_cited == (CitedPassage("doc-a", 2, 2),)
    assert (wide.votes_up, wide.votes_down) == (3, 1)
    assert empty.questions == 0 and empty.answered_rate is None and empty.per_day == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("What is the summit?", "what is the summit"),
        ("  what IS the\t\nsummit!! ", "what is the summit"),
        ("¿Qué pasó?", "qué pasó"),
        ("«Straße»", "strasse"),
        ("What's the U.S. position?", "what's the u.s. position"),
        ("???", ""),
        ("ＳＵＭＭＩＴ", "summit"),
    ],
)
def test_normalize_question(text: str, expected: str) -> None:
    assert normalize_question(text) == expected


@given(st.text())
def test_normalize_question_is_idempotent(text: str) -> None:
    once = normalize_question(text)
    assert normalize_question(once) == once
    assert once == once.strip()
    assert "  " not in once


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz '", min_size=1), st.sampled_from(["", "?", "!!", "...", " ?! "]))
def test_normalize_question_ignores_case_spacing_and_end_punctuation(text: str, tail: str) -> None:
    noisy = "  " + text.upper().replace(" ", "   ") + tail
    assert normalize_question(noisy) == normalize_question(text)


def big_stats() -> Stats:
    """A report with far more data than fits in one Discord message."""
    days = tuple(DayCount(date(2026, 1, 1) + timedelta(days=i), 1000 + i, 900) for i in range(90))
    unanswered = tuple(
        UnansweredQuestion(f"question {i} " + "very long words " * 30, 50 - i, "example `tick`", NOW) for i in range(25)
    )
    cited = tuple(CitedPassage(f"document-{i}-" + "x" * 200, i, 100 - i) for i in range(25))
    return Stats(
        days=90,
        since=days[0].day,
        until=days[-1].day,
        per_day=days,
        questions=sum(d.questions for d in days),
        answered=sum(d.answered for d in days),
        unanswered_without_text=3,
        top_unanswered=unanswered,
        top_cited=cited,
        votes_up=10,
        votes_down=2,
    )


def test_format_stats_known_data(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        fill_known_data(store)
        text = format_stats(store.stats(days=3, now=NOW))
    assert text.startswith("Usage, last 3 days (2026-03-08 to 2026-03-10 UTC)")
    assert "Questions: 9, answered: 3 (33%), closest passage: 0, not in sources: 6" in text
    assert "Feedback: 2 up, 1 down" in text
    assert "2026-03-10: 5 / 1 / 0 / 4" in text and "2026-03-08: 2 / 1 / 0 / 1" in text
    assert "before verdicts" not in text
    assert "1. 3x `what is the summit`" in text
    assert "(1 unanswered without stored text)" in text
    assert "1. 2x `doc-a` para 2" in text


def test_verdicts_are_recorded_and_counted_apart(tmp_path: Path) -> None:
    """A closest reply is neither an answer nor "not in my sources": the report counts the three."""
    with open_store(tmp_path) as store:
        ask(store)
        ask(store, question="When was it held?", answered=False, verdict="closest", doc_id=None)
        ask(store, question="When was it held?", answered=False, verdict="closest", doc_id=None)
        ask(store, question="banana bread", answered=False, doc_id=None)  # no verdict given: "none"
        ask(store, question="weather?", answered=False, verdict="none", doc_id=None)
        report = store.stats(days=1, now=NOW)
    stored = raw(db_path(tmp_path), "SELECT answered, verdict FROM questions ORDER BY id")
    assert stored == [(1, "answer"), (0, "closest"), (0, "closest"), (0, "none"), (0, "none")]
    assert (report.questions, report.answered, report.closest, report.not_found) == (5, 1, 2, 2)
    assert report.unanswered == 4 and report.unanswered_unlabelled == 0
    assert report.per_day == (DayCount(NOW.date(), 5, 1, 2, 2),)
    assert (report.top_unanswered[0].text, report.top_unanswered[0].count) == ("when was it held", 2)
    text = format_stats(report)
    assert "Questions: 5, answered: 1 (20%), closest passage: 2, not in sources: 2" in text
    assert "2026-03-10: 5 / 1 / 2 / 2" in text
    data = report.to_json()
    assert (data["answered"], data["closest"], data["not_found"], data["unanswered_unlabelled"]) == (1, 2, 2, 0)
    assert data["per_day"] == [{"date": "2026-03-10", "questions": 5, "answered": 1, "closest": 2, "not_found": 2}]


@pytest.mark.parametrize(("answered", "verdict"), [(True, "closest"), (True, "none"), (False, "answer"), (False, "?")])
def test_a_verdict_must_agree_with_answered(answered: bool, verdict: str) -> None:
    with pytest.raises(ValueError, match="verdict"):
        QuestionRecord(user_id=USER, question="q", answered=answered, verdict=verdict)


def test_stored_verdicts_are_the_answering_verdicts() -> None:
    from bot.answering.verdict import VERDICTS
    from bot.storage.store import VERDICTS as STORED

    assert STORED == VERDICTS


def test_a_v3_file_gets_verdicts_and_its_old_rows_keep_their_meaning(tmp_path: Path) -> None:
    """Upgrading to v4: an old answer is an answer; an old unanswered row was a closest reply or a
    "not in my sources" (never recorded which), and the report says so instead of guessing."""
    path = db_path(tmp_path)
    with AnalyticsStore(path, SALT) as store:
        assert store.schema_version == LATEST
    raw_conn = sqlite3.connect(path)
    with raw_conn:
        raw_conn.execute("ALTER TABLE questions DROP COLUMN verdict")
        raw_conn.execute("PRAGMA user_version = 3")
        raw_conn.executemany(
            "INSERT INTO questions (asked_at, asker_hash, question, answered) VALUES (?, ?, ?, ?)",
            [(NOW.isoformat(timespec="microseconds"), "a" * 64, "old answer", 1)]
            + [(NOW.isoformat(timespec="microseconds"), "b" * 64, "old unanswered", 0)] * 2,
        )
    raw_conn.close()
    with AnalyticsStore(path, SALT) as store:
        assert store.schema_version == LATEST
        ask(store, question="new closest", answered=False, verdict="closest")
        report = store.stats(days=1, now=NOW)
    assert raw(path, "SELECT question, verdict FROM questions ORDER BY id") == [
        ("old answer", "answer"),
        ("old unanswered", None),
        ("old unanswered", None),
        ("new closest", "closest"),
    ]
    assert (report.questions, report.answered, report.closest, report.not_found) == (4, 1, 1, 0)
    assert report.unanswered_unlabelled == 2
    assert "(2 unanswered recorded before verdicts were: closest or none)" in format_stats(report)


def test_format_stats_shows_hidden_characters_escaped(tmp_path: Path) -> None:
    """The report goes to Discord (/stats) as well as the terminal: a stored question with a bidi
    override or ESC is shown with visible escapes, never raw."""
    with open_store(tmp_path) as store:
        ask(store, question="why\u202e\x1b[31m now\u2066", answered=False)
        text = format_stats(store.stats(days=1, now=NOW))
    assert "`why\\u202e\\x1b[31m now\\u2066`" in text
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", text)


def test_format_stats_truncates_to_fit() -> None:
    """With a limit (the Discord front end passes one) the report is shortened to fit; without, the
    terminal gets the longest form."""
    stats = big_stats()
    text = format_stats(stats, limit=1900)
    assert len(text) <= 1900
    assert len(format_stats(stats)) > 1900
    assert "Questions: 94005, answered: 81000 (86%)" in text
    assert "earlier days not shown" in text and "more)" in text
    assert len(format_stats(stats, limit=300)) <= 300
    short = dataclasses.replace(stats, per_day=(), questions=0, answered=0)
    assert "No questions in this period." in format_stats(short)


def test_write_stats_csv(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        fill_known_data(store)
        ask(store, asked_at=at(10, 11, 30), question='=HYPERLINK("x")', answered=False)
        report = store.stats(days=3, now=NOW)
    out = write_stats_csv(report, tmp_path / "stats.csv")
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == list(report_mod.CSV_FIELDS)
    summary = {r["metric"]: r["value"] for r in rows if r["section"] == "summary"}
    assert summary["questions"] == "10" and summary["answered"] == "3"
    assert summary["answered_rate"] == "0.3000"
    assert summary["since"] == "2026-03-08" and summary["votes_up"] == "2" and summary["votes_down"] == "1"
    assert (summary["closest"], summary["not_found"], summary["unanswered_unlabelled"]) == ("0", "7", "0")
    days = [(r["date"], r["count"], r["answered"], r["closest"], r["not_found"]) for r in rows if r["section"] == "day"]
    assert days == [
        ("2026-03-08", "2", "1", "0", "1"),
        ("2026-03-09", "2", "1", "0", "1"),
        ("2026-03-10", "6", "1", "0", "5"),
    ]
    unanswered = [(r["text"], r["example"], r["count"], r["date"]) for r in rows if r["section"] == "unanswered"]
    assert unanswered[0] == ("what is the summit", "«what is the Summit»", "3", "2026-03-10")
    # end punctuation is trimmed from the group key; both texts get the spreadsheet guard
    assert ("'=hyperlink(\"x", '\'=HYPERLINK("x")', "1", "2026-03-10") in unanswered
    cited = [(r["document"], r["paragraph"], r["count"]) for r in rows if r["section"] == "cited"]
    assert cited == [("doc-a", "2", "2"), ("doc-b", "5", "1")]


# ------------------------------------------------------------------------------------------------
# retention


def test_purge_deletes_old_rows_and_their_votes(tmp_path: Path) -> None:
    path = db_path(tmp_path)
    with open_store(tmp_path, retention_days=30) as store:
        old1 = ask(store, asked_at=NOW - timedelta(days=100))
        old2 = ask(store, asked_at=NOW - timedelta(days=91))
        mid = ask(store, asked_at=NOW - timedelta(days=89))
        new = ask(store, asked_at=NOW)
        for qid in (old1, old2, mid, new):
            store.record_vote(qid, USER, 1)
        assert store.purge(0, now=NOW) == 0  # 0 keeps everything
        assert store.purge(90, now=NOW) == 2
        assert [r[0] for r in raw(path, "SELECT id FROM questions ORDER BY id")] == [mid, new]
        assert raw(path, "SELECT question_id FROM votes ORDER BY question_id") == [(mid,), (new,)]
        assert store.purge(90, now=NOW) == 0
        assert store.purge(now=NOW) == 1  # the configured 30 days
        assert store.record_vote(mid, OTHER, 1).stored is False  # purged answer
        with pytest.raises(ValueError):
            store.purge(-1)
        assert store.purge(1, now=NOW + timedelta(days=2)) == 1
        # Ids are never reused, so an old button cannot vote on a new question.
        assert ask(store) > new


# ------------------------------------------------------------------------------------------------
# AsyncAnalytics: normal use


async def test_open_analytics_records_votes_reports_and_closes(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "deeper" / "bot.sqlite3"
    settings = AnalyticsSettings(path=path, salt_env="SUMMITBOT_TEST_SALT")
    analytics = open_analytics(settings, environ={"SUMMITBOT_TEST_SALT": "environment-salt-123456"})
    assert analytics is not None
    try:
        assert await analytics.ready() is True
        qid = await analytics.record_question(
            QuestionRecord(
                user_id=USER, question="Who hosted?", answered=True, guild_id=1, channel_id=2, doc_id="d", paragraph=1
            )
        )
        assert qid == 1
        assert await analytics.record_vote(qid, USER, 1) == VoteResult(True, 1, 0)
        assert await analytics.record_vote(qid, USER, -1) == VoteResult(True, 0, 1)
        assert await analytics.tallies(qid) == (0, 1)
        report = await analytics.stats(days=1)
        assert report is not None and report.questions == 1 and report.votes_down == 1
        assert await analytics.purge(1, now=datetime.now(timezone.utc) + timedelta(days=3)) == 1
        assert analytics.enabled
    finally:
        await analytics.aclose()
    assert path.is_file()
    assert not analytics.enabled
    assert await analytics.record_question(QuestionRecord(user_id=USER, question="late", answered=True)) is None
    assert await analytics.record_vote(1, USER, 1) == VoteResult(False, 0, 0)
    analytics.close()  # closing twice is harmless


def test_open_analytics_disabled_returns_none(tmp_path: Path) -> None:
    settings = AnalyticsSettings(enabled=False, path=db_path(tmp_path))
    assert open_analytics(settings) is None
    assert not db_path(tmp_path).exists()


async def test_open_analytics_purges_past_retention(tmp_path: Path) -> None:
    path = db_path(tmp_path)
    with open_store(tmp_path) as store:
        ask(store, asked_at=datetime.now(timezone.utc) - timedelta(days=40))
        ask(store, asked_at=datetime.now(timezone.utc))
    settings = AnalyticsSettings(path=path, retention_days=30, salt_env="X")
    analytics = open_analytics(settings, environ={"X": SALT.decode()})
    assert analytics is not None
    assert await analytics.ready()
    analytics.close(wait=True)
    assert raw(path, "SELECT COUNT(*) FROM questions") == [(1,)]


async def test_concurrent_calls_get_distinct_ids(tmp_path: Path) -> None:
    analytics = async_on(db_path(tmp_path))
    try:
        ids = await asyncio.gather(
            *(
                analytics.record_question(QuestionRecord(user_id=i, question=f"q{i}", answered=i % 2 == 0))
                for i in range(50)
            )
        )
        assert sorted(ids) == list(range(1, 51))  # type: ignore[type-var]
        report = await analytics.stats(days=1)
        assert report is not None and (report.questions, report.answered) == (50, 25)
    finally:
        analytics.close(wait=True)


async def test_cancelled_caller_still_records(tmp_path: Path) -> None:
    analytics = async_on(db_path(tmp_path))
    try:
        task = asyncio.create_task(analytics.record_question(QuestionRecord(user_id=USER, question="q", answered=True)))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        report = await analytics.stats(days=1)
        assert report is not None and report.questions == 1
    finally:
        analytics.close(wait=True)


async def test_backlog_limit_drops_calls(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    gate = threading.Event()
    path = db_path(tmp_path)

    def slow_open() -> AnalyticsStore:
        gate.wait(5)
        return AnalyticsStore(path, SALT)

    analytics = AsyncAnalytics(slow_open, max_pending=2)  # the queued open counts as one
    try:
        first = asyncio.create_task(
            analytics.record_question(QuestionRecord(user_id=USER, question="kept", answered=True))
        )
        await asyncio.sleep(0)
        assert await analytics.record_question(QuestionRecord(user_id=USER, question="dropped", answered=True)) is None
        assert any("dropped a record_question" in r.getMessage() for r in store_errors(caplog, logging.WARNING))
        gate.set()
        assert await first == 1
    finally:
        gate.set()
        analytics.close(wait=True)


# ------------------------------------------------------------------------------------------------
# AsyncAnalytics: failures never escape


async def test_locked_database_does_not_raise_or_block_the_loop(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = db_path(tmp_path)
    analytics = async_on(path)
    holder = None
    try:
        assert await analytics.record_question(QuestionRecord(user_id=USER, question="before", answered=True)) == 1
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")

        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticking = asyncio.create_task(ticker())
        started = time.monotonic()
        assert (
            await analytics.record_question(QuestionRecord(user_id=USER, question="while locked", answered=True))
            is None
        )
        assert await analytics.record_vote(1, USER, 1) == VoteResult(False, 0, 0)
        elapsed = time.monotonic() - started
        ticking.cancel()
        assert 0.5 <= elapsed < 5  # two calls, each waited for the 0.3 s busy timeout, then gave up
        assert ticks >= 20  # the loop kept running meanwhile
        assert any("locked" in r.getMessage() for r in store_errors(caplog, logging.WARNING))
        # In WAL mode readers are not blocked: the report still works.
        report = await analytics.stats(days=1)
        assert report is not None and report.questions == 1
        holder.execute("ROLLBACK")
        # A lock is passing: analytics stays on and records again; the row kept while it was
        # locked is written first (row 2), so nothing is lost.
        assert analytics.enabled
        assert await analytics.record_question(QuestionRecord(user_id=USER, question="after", answered=True)) == 3
        assert analytics.unwritten_rows == 0 and analytics.dropped_rows == 0
        assert await answer_question(analytics) == "The summit ended with a declaration."
        assert store_errors(caplog, logging.ERROR) == []
    finally:
        if holder is not None:
            holder.close()
        analytics.close(wait=True)


async def test_locked_file_needing_upgrade_retries_later(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = db_path(tmp_path)
    make_v1_file(path)  # rollback journal: an exclusive lock blocks even reading the schema version
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    analytics = async_on(path)
    try:
        assert await analytics.record_question(QuestionRecord(user_id=USER, question="q", answered=True)) is None
        assert analytics.enabled
        assert any("will try again" in r.getMessage() for r in store_errors(caplog, logging.WARNING))
        holder.execute("ROLLBACK")
        # The row asked while the file was locked was kept and goes first (row 4); this one is 5.
        assert await analytics.record_question(QuestionRecord(user_id=USER, question="q", answered=True)) == 5
        assert raw(path, "PRAGMA user_version") == [(LATEST,)]
    finally:
        holder.close()
        analytics.close(wait=True)


async def test_read_only_database_keeps_reports_and_logs_writes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """``mode=ro`` is refused writes even as root (unlike chmod)."""
    path = db_path(tmp_path)
    with open_store(tmp_path) as store:
        ask(store)
    analytics = async_on(path, read_only=True)
    try:
        assert await analytics.record_question(QuestionRecord(user_id=USER, question="q", answered=True)) is None
        assert await analytics.record_vote(1, USER, 1) == VoteResult(False, 0, 0)
        assert await analytics.purge(1, now=NOW + timedelta(days=5)) is None
        warnings = [r.getMessage() for r in store_errors(caplog, logging.WARNING)]
        assert len(warnings) == 3 and all("readonly" in w for w in warnings)
        report = await analytics.stats(days=1, now=NOW)
        assert report is not None and report.questions == 1
        assert analytics.enabled
    finally:
        analytics.close(wait=True)
    assert raw(path, "SELECT COUNT(*) FROM questions") == [(1,)]


async def test_chmod_read_only_file_and_folder_do_not_raise(tmp_path: Path) -> None:
    """As root chmod does not stop writes, so there only "no exception" is checked."""
    path = db_path(tmp_path)
    with open_store(tmp_path) as store:
        ask(store)
    path.chmod(0o444)
    path.parent.chmod(0o555)
    analytics = async_on(path)
    try:
        result = await analytics.record_question(QuestionRecord(user_id=USER, question="q", answered=True))
        if os.geteuid() == 0:
            assert result == 2
        else:  # pragma: no cover - the CI here runs as root
            assert result is None
        assert await answer_question(analytics)
    finally:
        analytics.close(wait=True)
        path.parent.chmod(0o755)
        path.chmod(0o644)


async def test_directory_in_place_of_file_turns_analytics_off(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = db_path(tmp_path)
    path.mkdir(parents=True)
    analytics = async_on(path)
    try:
        assert await analytics.ready() is False
        assert await analytics.record_question(QuestionRecord(user_id=USER, question="q", answered=True)) is None
        assert await analytics.stats() is None
        assert await answer_question(analytics) == "The summit ended with a declaration."
        assert not analytics.enabled
        errors = store_errors(caplog, logging.ERROR)
        assert len(errors) == 1 and "analytics is off" in errors[0].getMessage()
    finally:
        analytics.close(wait=True)


async def test_unmakeable_folder_turns_analytics_off(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "data").write_text("a file where the folder should be")
    settings = AnalyticsSettings(path=db_path(tmp_path), salt_env="X")
    analytics = open_analytics(settings, environ={})
    assert analytics is not None
    try:
        assert await answer_question(analytics) == "The summit ended with a declaration."
        assert not analytics.enabled
        assert len(store_errors(caplog, logging.ERROR)) == 1
    finally:
        analytics.close(wait=True)


@pytest.mark.parametrize("header", [False, True], ids=["random-bytes", "valid-header-random-pages"])
async def test_corrupt_file_turns_analytics_off_and_answering_continues(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, header: bool
) -> None:
    path = db_path(tmp_path)
    garbage = os.urandom(16384)
    if header:
        with open_store(tmp_path) as store:
            ask(store)
        garbage = path.read_bytes()[:100] + garbage
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(garbage)
    settings = AnalyticsSettings(path=path, salt_env="X")
    analytics = open_analytics(settings, environ={"X": "some-salt-for-the-test"})
    assert analytics is not None
    try:
        for _ in range(3):
            assert await answer_question(analytics) == "The summit ended with a declaration."
        assert await analytics.record_vote(1, USER, 1) == VoteResult(False, 0, 0)
        assert await analytics.stats() is None
        assert await analytics.purge() is None
        assert not analytics.enabled
        errors = store_errors(caplog, logging.ERROR)
        assert len(errors) == 1, [e.getMessage() for e in errors]
        assert "analytics is off" in errors[0].getMessage()
    finally:
        analytics.close(wait=True)
    assert path.read_bytes() == garbage  # the broken file is left for the admin, not overwritten


async def test_newer_schema_turns_analytics_off(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = db_path(tmp_path)
    AnalyticsStore(path, SALT).close()
    raw(path, "PRAGMA user_version = 7")
    analytics = async_on(path)
    try:
        assert await analytics.record_question(QuestionRecord(user_id=USER, question="q", answered=True)) is None
        assert not analytics.enabled
        assert len(store_errors(caplog, logging.ERROR)) == 1
    finally:
        analytics.close(wait=True)


async def test_full_database_does_not_raise(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """``PRAGMA max_page_count`` makes SQLite report "database or disk is full" for real."""
    path = db_path(tmp_path)

    def opener() -> AnalyticsStore:
        store = AnalyticsStore(path, SALT)
        pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
        store._conn.execute(f"PRAGMA max_page_count = {pages + 2}")
        return store

    analytics = AsyncAnalytics(opener)
    try:
        results = [
            await analytics.record_question(QuestionRecord(user_id=USER, question="x" * 4000, answered=False))
            for _ in range(10)
        ]
        assert results[0] == 1
        assert None in results
        assert any("full" in r.getMessage() for r in store_errors(caplog, logging.WARNING))
        assert analytics.enabled  # passing: space may come back
        report = await analytics.stats(days=1)
        assert report is not None and report.questions == len([r for r in results if r is not None])
        assert await answer_question(analytics)
    finally:
        analytics.close(wait=True)


async def test_bad_vote_value_is_logged_not_raised(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    analytics = async_on(db_path(tmp_path))
    try:
        qid = await analytics.record_question(QuestionRecord(user_id=USER, question="q", answered=True))
        assert qid is not None
        assert await analytics.record_vote(qid, USER, 5) == VoteResult(False, 0, 0)
        assert any("record_vote failed" in r.getMessage() for r in store_errors(caplog, logging.WARNING))
        assert analytics.enabled
    finally:
        analytics.close(wait=True)
