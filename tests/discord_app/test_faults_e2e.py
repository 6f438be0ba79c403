"""Faults, end to end: the project's bot against the loopback stub while Discord, the gateway, the
corpus folder or the analytics database misbehave. The promise held here: every question gets its
answer (or, when Discord itself refuses the reply, an apology and a logged error), and the bot goes
on serving the next question.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from bot_harness import VANCE, make_settings, mention, no_pings, replies_to, running, write_doc
from discord_stub import DiscordStub

import bot.corpus
import bot.discord_app.app as app_module
import bot.discord_app.recording as recording
from bot.config import Settings
from bot.engine import build_engine


@pytest.fixture
def settings_for(corpus_dir: Path, tmp_path: Path) -> Callable[..., Settings]:
    """Settings for a bot on a stub (keyword arguments override ``discord.*``)."""

    def make(stub: DiscordStub, **keys: Any) -> Settings:
        return make_settings(stub, corpus_dir, tmp_path / "data", **keys)

    return make


@pytest.fixture
async def stub() -> Any:
    """A fresh stub (the bot points discord.py at it through its own settings)."""
    async with DiscordStub() as server:
        yield server
    assert not server.errors, server.errors


async def ask_many(stub: DiscordStub, count: int, question: str = VANCE) -> list[int]:
    """``count`` users each mention the bot with ``question``; returns the question message ids."""
    ids = []
    for i in range(count):
        user = stub.add_user(f"burst{len(stub.users)}-{i}")
        stub.add_member(user, roles=[stub.member_role])
        message = await stub.send_message(f"{mention(stub)} {question}", author=user)
        ids.append(int(message["id"]))
    return ids


# ------------------------------------------------------------------------------------ REST faults


async def test_rate_limited_reply_still_goes_out(stub: DiscordStub, settings_for: Callable[..., Settings]) -> None:
    """A 429 with retry_after on the reply (route and then global): discord.py waits and resends."""
    async with running(settings_for(stub), stub):
        route = stub.fail_next("POST", "/channels/*/messages", status=429, retry_after=0.2)
        mark = stub.mark()
        (asked,) = await ask_many(stub, 1)
        reply = (await replies_to(stub, [asked], since=mark))[asked]
        assert len(route.hits) == 1 and "¶3" in reply.embeds[0]["description"] and no_pings(reply)

        glob = stub.fail_next("POST", "/channels/*/messages", status=429, retry_after=0.2, is_global=True, count=2)
        mark = stub.mark()
        asked = await ask_many(stub, 3)
        replies = await replies_to(stub, asked, since=mark)
        assert len(glob.hits) == 2 and all("¶3" in r.embeds[0]["description"] for r in replies.values())


async def test_server_error_on_send_is_retried(stub: DiscordStub, settings_for: Callable[..., Settings]) -> None:
    """A 500 on the reply: discord.py retries 5xx (after 1 s) and the answer goes out."""
    async with running(settings_for(stub), stub):
        fault = stub.fail_next("POST", "/channels/*/messages", status=500)
        mark = stub.mark()
        (asked,) = await ask_many(stub, 1)
        reply = (await replies_to(stub, [asked], since=mark, timeout=10))[asked]
        assert len(fault.hits) == 1 and "¶3" in reply.embeds[0]["description"]


async def test_send_that_fails_for_good_is_logged_and_the_bot_goes_on(
    stub: DiscordStub, settings_for: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    """Discord refuses the reply (503, not retried by discord.py): the error is logged, the asker
    gets an apology; when even that is refused, the bot still answers the next question."""
    caplog.set_level(logging.ERROR, logger="summitbot")
    async with running(settings_for(stub), stub):
        stub.fail_next("POST", "/channels/*/messages", status=503)
        mark = stub.mark()
        (asked,) = await ask_many(stub, 1)
        apology = (await replies_to(stub, [asked], since=mark))[asked]
        assert apology.content.startswith("Sorry, something went wrong") and no_pings(apology)
        assert any("error answering message" in r.getMessage() and r.exc_info for r in caplog.records)

        both = stub.fail_next("POST", "/channels/*/messages", status=503, count=2)  # answer and apology
        mark = stub.mark()
        (lost,) = await ask_many(stub, 1)
        await stub.wait_for_request(lambda r: r.fault is both and len(both.hits) == 2, timeout=5, since=mark)
        (after,) = await ask_many(stub, 1)
        reply = (await replies_to(stub, [after], since=mark))[after]
        assert "¶3" in reply.embeds[0]["description"]
        assert lost not in {int(r.json["message_reference"]["message_id"]) for r in stub.requests[mark:] if r.ok}
        assert sum("error answering message" in r.getMessage() for r in caplog.records) == 2


# --------------------------------------------------------------------------------- gateway faults


@pytest.mark.parametrize("fault", ["reconnect", "resumable_invalid_session", "dropped_socket"])
async def test_gateway_fault_mid_burst_loses_no_question(
    stub: DiscordStub, settings_for: Callable[..., Settings], fault: str
) -> None:
    """Op 7 RECONNECT, a resumable op 9, or a dropped socket in the middle of a burst: the client
    RESUMEs, the stub replays what it missed, and every question is answered exactly once."""
    async with running(settings_for(stub), stub):
        mark = stub.mark()
        asked = await ask_many(stub, 10)
        if fault == "reconnect":
            trigger = stub.request_reconnect(wait=False)
        elif fault == "resumable_invalid_session":
            trigger = stub.invalidate_session(True, wait=False)
        else:
            trigger = stub.drop_connection(4000, wait=False)
        await trigger
        asked += await ask_many(stub, 10)  # sent while the client reconnects: buffered, replayed
        await stub.wait_for_resume(1, timeout=15)
        asked += await ask_many(stub, 10)
        replies = await replies_to(stub, asked, since=mark, timeout=30)
        assert all("¶3" in r.embeds[0]["description"] for r in replies.values())
        targets = [
            int(r.json["message_reference"]["message_id"])
            for r in stub.requests[mark:]
            if r.kind == "create_message" and r.ok
        ]
        assert sorted(targets) == sorted(asked)  # none twice
        assert stub.identify_count == 1 and stub.resume_count == 1


# ---------------------------------------------------------------------------- reload during burst


FILLER = [
    ("market", "Market day", "The fish market opens at dawn and closes when the last boat is unloaded."),
    ("weather", "Weather notes", "Autumn storms bring strong westerly winds and high tides to the coast."),
    ("school", "School news", "The village school added a library wing funded by a local charity."),
]


def _edition(corpus: Path, edition: str, word: str) -> None:
    """Write the corpus as one consistent edition: the bulletin's title and its text name it."""
    write_doc(
        corpus,
        "bulletin",
        f"Harbour bulletin, {edition} edition",
        "harbour.example",
        [f"The harbour lighthouse keeper announced that the night signal word is {word} this season."],
    )
    for name, title, text in FILLER:
        write_doc(corpus, name, title, "harbour.example", [text])


async def test_reload_during_burst_answers_from_one_whole_corpus(
    stub: DiscordStub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/reload while questions pour in: each answer comes from the old corpus or the new one,
    whole (title and text agree), never a half-built one; none is lost."""
    corpus = tmp_path / "harbour"
    corpus.mkdir()
    _edition(corpus, "first", "amber")
    settings = make_settings(stub, corpus, tmp_path / "data")
    real_build = app_module.build_engine
    building = asyncio.Event()
    loop = asyncio.get_running_loop()

    def slow_build(settings: Settings, *args: Any, **kwargs: Any) -> Any:
        loop.call_soon_threadsafe(building.set)
        engine = real_build(settings, *args, **kwargs)
        import time

        time.sleep(0.4)  # questions keep arriving while the new engine is being built
        return engine

    monkeypatch.setattr(app_module, "build_engine", slow_build)
    question = "What is the night signal word of the harbour lighthouse?"
    async with running(settings, stub) as bot:
        mark = stub.mark()
        before = await ask_many(stub, 5, question)
        await replies_to(stub, before, since=mark)
        _edition(corpus, "second", "cobalt")
        reload = await stub.slash_command("reload", user=stub.owner)
        await building.wait()
        during = await ask_many(stub, 10, question)
        outcome = await stub.wait_for_message(interaction=reload, timeout=10)
        after = await ask_many(stub, 5, question)
        replies = await replies_to(stub, before + during + after, since=mark)
        assert outcome.embeds[0]["title"] == "Corpus reloaded"
        assert "second" in bot.engine.corpus.document("bulletin").title

    def edition_of(message_id: int) -> str:
        embed = replies[message_id].embeds[0]
        text = embed["title"] + embed["description"] + str(embed.get("fields", ""))
        old = "first" in text and "amber" in text and "second" not in text and "cobalt" not in text
        new = "second" in text and "cobalt" in text and "first" not in text and "amber" not in text
        assert old != new, text  # exactly one whole edition
        return "old" if old else "new"

    assert {edition_of(i) for i in before} == {"old"}
    assert {edition_of(i) for i in after} == {"new"}
    assert {edition_of(i) for i in during} <= {"old", "new"}


# ------------------------------------------------------------------- corpus changing during reload


async def test_file_vanishing_while_reload_reads_keeps_old_corpus(
    stub: DiscordStub, corpus_dir: Path, settings_for: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file listed by the reload disappears before it is read: the reload reports it by name and
    the old corpus stays in service, whole."""
    doomed = write_doc(corpus_dir, "zz-doomed", "Doomed article", "example.org", ["It will vanish."])
    real_read = bot.corpus.read_file_bytes

    def read_then_delete(path: Path, max_bytes: int, **kw: Any) -> Any:
        if path.suffix == ".md" and path.name != doomed.name and doomed.exists():  # an article, not aliases.yaml
            doomed.unlink()  # vanishes between the folder listing and its own read
        return real_read(path, max_bytes, **kw)

    async with running(settings_for(stub), stub) as bot_:
        engine = bot_.engine
        monkeypatch.setattr(bot.corpus, "read_file_bytes", read_then_delete)
        ix = await stub.slash_command("reload", user=stub.owner)
        rec = await stub.wait_for_message(interaction=ix, timeout=10)
        assert rec.embeds[0]["title"].startswith("Reload failed")
        assert "zz-doomed.md" in rec.embeds[0]["description"]
        assert bot_.engine is engine and len(engine.corpus.documents) == 2
        mark = stub.mark()
        (asked,) = await ask_many(stub, 1)
        assert "¶3" in (await replies_to(stub, [asked], since=mark))[asked].embeds[0]["description"]


async def test_files_deleted_and_rewritten_during_build_give_whole_old_or_whole_new(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A thread deletes and rewrites articles while ``build_engine`` reads them (hooked after each
    read): every build either fails with errors naming files, or returns one consistent corpus."""
    corpus = tmp_path / "live"
    corpus.mkdir()
    for i in range(6):
        write_doc(corpus, f"doc{i}", f"Doc {i} v1", "example.org", [f"Version one paragraph of doc {i}."])
    settings = make_settings(DiscordStub(), corpus, tmp_path / "data")
    real_read = bot.corpus.read_file_bytes
    outcomes: list[str] = []
    for round_ in range(6):
        reads = 0

        def churn(path: Path, max_bytes: int, round_: int = round_, **kw: Any) -> Any:
            nonlocal reads
            if path.suffix != ".md":  # the alias file is read with the same function
                return real_read(path, max_bytes, **kw)
            reads += 1
            victim = corpus / f"doc{(reads + round_) % 6}.md"
            if round_ % 2:
                victim.unlink(missing_ok=True)
            else:
                write_doc(corpus, victim.stem, f"{victim.stem} v{round_}", "example.org", [f"Version {round_}."])
            return real_read(path, max_bytes, **kw)

        monkeypatch.setattr(bot.corpus, "read_file_bytes", churn)
        try:
            engine = build_engine(settings)
        except bot.corpus.CorpusError as exc:
            assert all(p.path.name.endswith(".md") and p.message for p in exc.problems)
            outcomes.append("refused")
        else:
            docs = {d.id: d for d in engine.corpus.documents}
            assert engine.index.n_docs == len(engine.corpus.passages)
            assert all(docs[p.document.id] is p.document for p in engine.corpus.passages)
            for doc in docs.values():  # each file read whole, once: title and text from one version
                version = doc.title.rsplit(" v", 1)[1]
                assert doc.paragraphs[0].startswith("Version one" if version == "1" else f"Version {version}")
            outcomes.append("built")
        monkeypatch.setattr(bot.corpus, "read_file_bytes", real_read)
        for i in range(6):  # restore for the next round
            if not (corpus / f"doc{i}.md").exists():
                write_doc(corpus, f"doc{i}", f"Doc {i} v1", "example.org", [f"Version one paragraph of doc {i}."])
    assert "refused" in outcomes and "built" in outcomes


# ------------------------------------------------------------------------------- analytics faults


class FakeClock:
    """A monotonic clock the test moves by hand (for the analytics breaker's pause)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@contextlib.contextmanager
def locked(db: Path) -> Iterator[None]:
    """Another process holds an exclusive lock on the SQLite file inside the block."""
    locker = sqlite3.connect(db, timeout=0, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        locker.execute("ROLLBACK")
        locker.close()


async def test_locked_analytics_database_does_not_stop_answers(
    stub: DiscordStub, settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    """Another process holds an exclusive lock on the analytics file: answers still go out (without
    vote buttons); once the lock is gone, recording resumes, and vote buttons after the pause."""
    async with running(settings_for(stub), stub) as bot_:
        assert bot_.analytics is not None and await bot_.analytics.ready()
        clock = FakeClock()
        bot_.record_breaker = recording.RecordBreaker(clock=clock)
        with locked(tmp_path / "data" / "analytics.sqlite3"):
            mark = stub.mark()
            asked = await ask_many(stub, 3)
            replies = await replies_to(stub, asked, since=mark, timeout=15)
            assert all("¶3" in r.embeds[0]["description"] for r in replies.values())
            assert all(not _vote_buttons(r) for r in replies.values())
        assert bot_.record_breaker.open
        await asyncio.gather(*list(bot_._background))  # the queued writes finish (or fail) after the lock
        clock.now += recording.RECORD_PAUSE_SECONDS
        mark = stub.mark()
        (asked_again,) = await ask_many(stub, 1)
        assert _vote_buttons((await replies_to(stub, [asked_again], since=mark))[asked_again])
        assert not bot_.record_breaker.open


async def test_locked_analytics_database_costs_one_slow_answer_per_pause(
    stub: DiscordStub, settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    """With the analytics file locked, only the first answer waits for its row id (and times out);
    the next ones go out without waiting until the pause ends; then one answer tries again."""
    async with running(settings_for(stub), stub) as bot_:
        assert bot_.analytics is not None and await bot_.analytics.ready()
        clock = FakeClock()
        breaker = bot_.record_breaker = recording.RecordBreaker(clock=clock)

        async def ask() -> Any:
            mark = stub.mark()
            (asked,) = await ask_many(stub, 1)
            reply = (await replies_to(stub, [asked], since=mark, timeout=15))[asked]
            assert "¶3" in reply.embeds[0]["description"]
            return reply

        with locked(tmp_path / "data" / "analytics.sqlite3"):
            for _ in range(4):  # one after another: each answer is out before the next question
                assert not _vote_buttons(await ask())
            assert (breaker.waits, breaker.skips) == (1, 3) and breaker.open
            clock.now += recording.RECORD_PAUSE_SECONDS  # the pause is over: one answer tries again
            assert not _vote_buttons(await ask())
            assert not _vote_buttons(await ask())
            assert (breaker.waits, breaker.skips) == (2, 4) and breaker.open
        await asyncio.gather(*list(bot_._background))
        # The six rows kept while the file was locked are written by the retry, then answers wait
        # for (and get) row ids again.
        for _ in range(200):
            if bot_.analytics.unwritten_rows == 0:
                break
            await asyncio.sleep(0.05)
        assert bot_.analytics.unwritten_rows == 0 and bot_.analytics.dropped_rows == 0
        clock.now += recording.RECORD_PAUSE_SECONDS
        assert _vote_buttons(await ask()) and not breaker.open
        assert _vote_buttons(await ask())
        assert (breaker.waits, breaker.skips) == (4, 4)


def test_record_breaker_pauses_after_a_failure_and_closes_after_a_good_write() -> None:
    clock = FakeClock()
    breaker = recording.RecordBreaker(pause_seconds=30, clock=clock)
    assert breaker.should_wait() and not breaker.open
    breaker.failed("slow")
    assert breaker.open and not breaker.should_wait()
    clock.now += 29.9
    assert not breaker.should_wait()
    clock.now += 0.1
    assert breaker.should_wait()  # half open: this answer waits
    breaker.failed("slow again")
    assert not breaker.should_wait()
    clock.now += 30
    assert breaker.should_wait()
    breaker.succeeded()
    assert not breaker.open and breaker.should_wait()
    assert (breaker.waits, breaker.skips) == (4, 3)


async def test_full_disk_for_analytics_does_not_stop_answers(
    stub: DiscordStub, settings_for: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    """The analytics file cannot grow (SQLite "database or disk is full"): answers still go out."""
    async with running(settings_for(stub), stub) as bot_:
        analytics = bot_.analytics
        assert analytics is not None and await analytics.ready()

        def cap(store: Any) -> int:
            pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
            return store._conn.execute(f"PRAGMA max_page_count = {pages}").fetchone()[0]

        assert await analytics._call("cap", cap, 0) > 0
        mark = stub.mark()
        asked = await ask_many(stub, 40)
        replies = await replies_to(stub, asked, since=mark, timeout=20)
        assert all(r.embeds and "¶3" in r.embeds[0]["description"] for r in replies.values())
        assert any("disk is full" in r.getMessage() for r in caplog.records)
        assert analytics.enabled  # a passing failure: analytics stays on and will try again


def _vote_buttons(rec: Any) -> list[str]:
    return [
        c.get("custom_id", "")
        for row in rec.components
        for c in row.get("components", [])
        if c.get("custom_id", "").startswith("sb:vote:")
    ]
