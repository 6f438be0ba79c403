"""The store behaves the same on SQLite and on a real PostgreSQL server: every test runs on both.

Questions, votes and reports are kept per server; per-server settings and the shared counters
(corpus and settings generations) survive reopening and are seen by a second connection (another
process) at once.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path

import psycopg
import pytest

from bot.storage import (
    CORPUS_GENERATION,
    DMS,
    MIGRATIONS,
    SETTINGS_GENERATION,
    AnalyticsStore,
    QuestionRecord,
    VoteResult,
)
from bot.storage import schema as schema_mod
from bot.storage.store import _is_transient as is_transient

SALT = b"a-test-salt-of-some-length"
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)
GUILD_A, GUILD_B = 1_220_000_000_000_000_001, 1_220_000_000_000_000_777  # 64-bit Discord ids
ALICE, BOB = 1_230_000_000_000_000_001, 1_230_000_000_000_000_002

Opener = Callable[[], AnalyticsStore]


@pytest.fixture(params=["sqlite", "postgresql"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens a store on one database (a SQLite file, or a fresh PostgreSQL database): each call is
    a new connection to the same database, as another process would have."""
    target: str | Path = tmp_path / "a.sqlite3"
    if request.param == "postgresql":
        target = request.getfixturevalue("postgres_url")
    opened: list[AnalyticsStore] = []

    def opener() -> AnalyticsStore:
        store = AnalyticsStore(target, SALT)
        opened.append(store)
        return store

    yield opener
    for store in opened:
        with contextlib.suppress(Exception):  # some tests close their stores in their own threads
            store.close()


def ask(store: AnalyticsStore, question: str, *, guild: int | None, answered: bool = False) -> int:
    return store.record_question(
        QuestionRecord(user_id=ALICE, question=question, answered=answered, guild_id=guild, channel_id=5, asked_at=NOW)
    )


def test_schema_is_current_and_ids_are_64_bit(open_store: Opener) -> None:
    store = open_store()
    assert store.schema_version == MIGRATIONS[-1].version
    row = ask(store, "What did the summit agree?", guild=GUILD_A, answered=True)
    assert store.stats(days=1, now=NOW, scope=GUILD_A).questions == 1
    assert row == 1 and open_store().schema_version == MIGRATIONS[-1].version  # a second opener migrates nothing


def test_each_server_sees_only_its_own_questions(open_store: Opener) -> None:
    store = open_store()
    ask(store, "Secret plans of server A?", guild=GUILD_A)
    ask(store, "Secret plans of server A?", guild=GUILD_A)
    ask(store, "What about the budget in B?", guild=GUILD_B)
    ask(store, "A question in a DM?", guild=None)
    a = store.stats(days=1, now=NOW, scope=GUILD_A)
    b = store.stats(days=1, now=NOW, scope=GUILD_B)
    dms = store.stats(days=1, now=NOW, scope=DMS)
    everything = store.stats(days=1, now=NOW)
    assert [(g.text, g.count) for g in a.top_unanswered] == [("secret plans of server a", 2)]
    assert [g.text for g in b.top_unanswered] == ["what about the budget in b"]
    assert [g.text for g in dms.top_unanswered] == ["a question in a dm"]
    assert (a.questions, b.questions, dms.questions, everything.questions) == (2, 1, 1, 4)


def test_votes_count_only_from_the_answers_own_server(open_store: Opener) -> None:
    store = open_store()
    answer_in_a = ask(store, "q", guild=GUILD_A, answered=True)
    answer_in_dm = ask(store, "q", guild=None, answered=True)
    assert store.record_vote(answer_in_a, BOB, 1, scope=GUILD_B) == VoteResult(False, 0, 0)
    assert store.record_vote(answer_in_a, BOB, 1, scope=DMS) == VoteResult(False, 0, 0)
    assert store.record_vote(answer_in_a, BOB, 1, scope=GUILD_A) == VoteResult(True, 1, 0)
    assert store.record_vote(answer_in_a, ALICE, -1, scope=GUILD_A) == VoteResult(True, 1, 1)
    assert store.record_vote(answer_in_a, ALICE, 1, scope=GUILD_A) == VoteResult(True, 2, 0)  # changed, not added
    assert store.record_vote(answer_in_dm, BOB, 1, scope=DMS) == VoteResult(True, 1, 0)
    assert store.stats(days=1, now=NOW, scope=GUILD_A).votes_up == 2
    assert store.stats(days=1, now=NOW, scope=GUILD_B).votes_up == 0


def test_purge_removes_old_questions_and_their_votes(open_store: Opener) -> None:
    store = open_store()
    old = store.record_question(
        QuestionRecord(user_id=ALICE, question="old", answered=True, guild_id=GUILD_A, asked_at=datetime(2025, 1, 1))
    )
    store.record_vote(old, BOB, 1)
    ask(store, "new", guild=GUILD_A)
    assert store.purge(30, now=NOW) == 1
    assert store.stats(days=3650, now=NOW).questions == 1 and store.tallies(old) == (0, 0)


def test_server_settings_survive_reopening_and_bump_the_generation(open_store: Opener) -> None:
    store = open_store()
    assert store.server_settings() == {} and store.shared_state()[SETTINGS_GENERATION] == 0
    first = store.set_server_settings(GUILD_A, '{"answer_in_thread":true}')
    second = store.set_server_settings(GUILD_A, '{"answer_channels":[5]}')
    store.set_server_settings(GUILD_B, '{"cooldown_questions":1}')
    assert second == first + 1
    other = open_store()  # another process
    assert other.server_settings() == {GUILD_A: '{"answer_channels":[5]}', GUILD_B: '{"cooldown_questions":1}'}
    other.set_server_settings(GUILD_B, None)  # back to the defaults
    assert store.server_settings() == {GUILD_A: '{"answer_channels":[5]}'}
    assert store.shared_state()[SETTINGS_GENERATION] == 4


def test_the_corpus_generation_is_shared_and_bumped_atomically(open_store: Opener) -> None:
    assert open_store().shared_state()[CORPUS_GENERATION] == 0
    seen: list[int] = []
    lock = threading.Lock()

    def reloads() -> None:
        store = open_store()  # a connection of its own, as each process has
        for _ in range(10):
            for attempt in range(50):  # SQLite: another writer may hold the lock for a moment
                try:
                    value = store.bump(CORPUS_GENERATION)
                    break
                except Exception:
                    if attempt == 49:
                        raise
            with lock:
                seen.append(value)
        store.close()

    threads = [threading.Thread(target=reloads) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(seen) == list(range(1, 41))  # every bump got its own number: none lost, none repeated
    assert open_store().shared_state()[CORPUS_GENERATION] == 40


def test_verdicts_are_counted_apart_and_a_v3_database_migrates(
    open_store: Opener, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database written by v3 code (no verdicts) is upgraded in place: its answers stay answers,
    its unanswered rows stay unanswered with the verdict unknown; new rows record theirs."""
    monkeypatch.setattr(schema_mod, "MIGRATIONS", MIGRATIONS[:3])
    old = open_store()
    assert old.schema_version == 3
    for question, answered in (("old answer", 1), ("old miss", 0)):
        old._db.execute(
            "INSERT INTO questions (asked_at, guild_id, asker_hash, question, answered) VALUES (?, ?, ?, ?, ?)",
            (NOW.isoformat(timespec="microseconds"), GUILD_A, "a" * 64, question, answered),
        )
    old.close()
    monkeypatch.setattr(schema_mod, "MIGRATIONS", MIGRATIONS)
    store = open_store()
    assert store.schema_version == MIGRATIONS[-1].version == 4
    for verdict in ("closest", "closest", "none"):
        store.record_question(
            QuestionRecord(
                user_id=ALICE, question=verdict, answered=False, verdict=verdict, guild_id=GUILD_A, asked_at=NOW
            )
        )
    rows = store._db.execute("SELECT question, answered, verdict FROM questions ORDER BY id").fetchall()
    assert [tuple(r) for r in rows] == [
        ("old answer", 1, "answer"),
        ("old miss", 0, None),
        ("closest", 0, "closest"),
        ("closest", 0, "closest"),
        ("none", 0, "none"),
    ]
    report = store.stats(days=1, now=NOW, scope=GUILD_A)
    assert (report.questions, report.answered, report.closest, report.not_found) == (5, 1, 2, 1)
    assert report.unanswered_unlabelled == 1


def test_postgres_stores_discord_ids_as_bigint(postgres_url: str) -> None:
    AnalyticsStore(postgres_url, SALT).close()
    with psycopg.connect(postgres_url) as conn:
        types = dict(
            conn.execute(
                "SELECT table_name || '.' || column_name, data_type FROM information_schema.columns"
                " WHERE column_name IN ('guild_id', 'channel_id', 'id')"
            ).fetchall()
        )
    assert types == {
        "questions.id": "bigint",
        "questions.guild_id": "bigint",
        "questions.channel_id": "bigint",
        "server_settings.guild_id": "bigint",
    }


def test_processes_starting_together_migrate_the_database_once(
    open_store: Opener, request: pytest.FixtureRequest
) -> None:
    """Six stores open a brand-new database at the same moment (as processes started together do):
    every one ends up at the current schema, none fails on a table another one created."""
    barrier = threading.Barrier(6)
    failures: list[BaseException] = []
    versions: list[int] = []

    def start() -> None:
        barrier.wait()
        for attempt in range(100):
            try:
                store = open_store()
            except Exception as exc:
                if is_transient(exc) and attempt < 99:  # SQLite: another opener holds the lock; retried
                    continue  # as the bot's worker does on its next call
                failures.append(exc)
                return
            versions.append(store.schema_version)
            store.close()
            return

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == [] and versions == [MIGRATIONS[-1].version] * 6
