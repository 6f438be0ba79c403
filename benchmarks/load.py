"""Load benchmark: a burst of questions against the project's real bot over the loopback Discord stub.

500 questions from 50 users within 10 seconds (each user asks once a second), mentioning the bot in
one channel, on the shipped corpus and on a synthetic 100,000-paragraph corpus (Zipf words, ~90
words a paragraph, generated once under ``benchmarks/.cache/`` by :mod:`benchmarks.speed`).

The Discord stub (``tests/discord_stub``) runs in its own process (Discord is another machine: its
CPU, heap and garbage collections do not count against the bot); the bot (:class:`bot.discord_app.app.SummitBot`,
analytics on, in a temp folder) runs in the main thread exactly as ``summitbot run`` would.

Measured per run:

* every question's fate: answered, or refused by the cooldown with a notice (the first refusal in a
  user's cooldown window gets a written notice, later ones an hourglass reaction, so that the
  channel is not flooded), or lost (neither: must be 0);
* time from the event (the stub sending MESSAGE_CREATE) to the reply (the stub receiving the POST):
  p50, p95 and max;
* the bot loop's longest stall: a monitor task in the bot's loop sleeps 5 ms and records lateness;
* heartbeats: the stub announces a 1.5 s interval and records each heartbeat's arrival; the
  longest gap must stay within 1.5x the interval.

Each corpus runs twice: with the default cooldown (3 questions per 5 s: with one question a second
per user, some get a notice) and with the cooldown relaxed so all 500 are answered. The targets:
shipped corpus p95 < 100 ms; 100,000 paragraphs p95 < 250 ms and no stall over 100 ms.

With ``--million`` the large corpus is the 1,000,000-paragraph one, started from its saved index
(``benchmarks/.cache/index-…``, written by ``benchmarks/speed.py --cold`` or built on first use;
the bot runs on hard-linked copies of both), and each burst has a ``/reload`` two seconds in, with
one article rewritten just before (target: p95 < 100 ms, no stall over 50 ms).

Run: ``python benchmarks/load.py`` (both corpora) or ``--skip-large`` / ``--paragraphs N`` /
``--skip-shipped --million``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import math
import multiprocessing
import os
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))  # the loopback stub lives with the tests
sys.path.insert(0, str(ROOT))

from discord_stub import DiscordStub, StubUser  # noqa: E402

from bot.config import (  # noqa: E402
    AnalyticsSettings,
    CorpusSettings,
    DiscordSettings,
    LoggingSettings,
    SearchSettings,
    Settings,
)
from bot.discord_app import render  # noqa: E402
from bot.discord_app.app import SummitBot, create_bot  # noqa: E402
from bot.engine import Engine, build_engine  # noqa: E402

SHIPPED = ROOT / "corpus"
USERS = 50
PER_USER = 10
DURATION = 10.0
HEARTBEAT_MS = 1500
MONITOR_PERIOD = 0.005
# The tail of the cooldown notice, taken from the renderer so that the two cannot drift apart.
NOTICE_MARK = render.wait_notice(1).split(" s ", 1)[1]
#: Targets: corpus label -> (p95 ms, longest stall ms or None).
TARGETS: dict[str, tuple[float, float | None]] = {
    "shipped": (100.0, None),
    "100k": (250.0, 100.0),
    "1M": (100.0, 50.0),  # issue 12: p95 < 100 ms, no stall over 50 ms, with a /reload mid-burst
}

SHIPPED_QUESTIONS = [
    "What did JD Vance say about America first?",
    "How many countries support the Global AI Governance Initiative?",
    "Who represented President Xi at the summit?",
    "What is DeepSeek known for?",
    "What did Guo Jiakun say?",
    "Did the U.S. sign the agreement?",
    "What is the digital Silk Road?",
    "When was the Global AI Governance Initiative launched?",
    "What did Yasir Habib Khan highlight?",
    "What did the UN General Assembly adopt?",
    "Where was the Artificial Intelligence Action Summit held?",
    "What does China want for developing nations?",
    "What is the best recipe for banana bread?",
    "Who won the football world cup in 1998?",
    "What did Zhang Guoqing affirm?",
    "Why did the US not sign?",
    "What is China's stance on AI governance?",
    "How does DeepSeek lower financial barriers?",
    "What did the outcome document say?",
    "what about inclusive AI development",
]


# --------------------------------------------------------------------------- the stub's process


class StubSide:
    """The stub's process: a :class:`DiscordStub` on its own loop, driven over a pipe.

    A separate process, as Discord is another machine: the stub's CPU time, heap and garbage
    collections do not count against the bot. Every call returns plain data.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.stub: DiscordStub | None = None
        self.users: list[StubUser] = []
        self.seen = 0

    async def serve(self) -> None:
        """Answer commands (method name, args) until "close"."""
        loop = asyncio.get_running_loop()
        while True:
            name, args = await loop.run_in_executor(None, self.conn.recv)
            try:
                result = await getattr(self, "do_" + name)(*args)
            except Exception as exc:  # report it to the bot side
                self.conn.send(("error", repr(exc)))
            else:
                self.conn.send(("ok", result))
            if name == "close":
                return

    async def do_start(self, users: int) -> dict[str, Any]:
        """Start the stub with ``users`` members who ask; return its URLs and the bot's id."""
        self.stub = await DiscordStub(heartbeat_interval_ms=HEARTBEAT_MS).start()
        self.users = [self.stub.add_user(f"asker{i}") for i in range(users)]
        for user in self.users:
            self.stub.add_member(user, roles=[self.stub.member_role])
        return {"api_url": self.stub.api_url, "gateway_url": self.stub.gateway_url}

    async def do_wait_heartbeat(self) -> None:
        """Wait for the bot's first heartbeat."""
        assert self.stub is not None
        await self.stub.wait_for_heartbeats(1, timeout=10)
        self.seen = self.stub.mark()

    async def do_drive(self, questions: list[str]) -> list[tuple[int, int, float]]:
        """Send the burst; (message id, user id, monotonic send time) per question."""
        assert self.stub is not None
        return await drive(self.stub, self.users, questions)

    async def do_replies(self) -> list[tuple[int, bool, float]]:
        """New replies since the last call: (question message id, is a cooldown notice, received at)."""
        assert self.stub is not None
        out: list[tuple[int, bool, float]] = []
        requests = self.stub.requests
        for rec in requests[self.seen :]:
            if rec.status == 0:
                break  # still being handled: look again next time
            self.seen += 1
            if rec.kind == "add_reaction" and rec.ok:  # a later refusal in a window: acknowledged quietly
                out.append((int(rec.params["message_id"]), True, rec.received_at))
                continue
            if rec.kind != "create_message" or not rec.ok:
                continue
            ref = (rec.json or {}).get("message_reference") or {}
            out.append((int(ref.get("message_id", 0)), NOTICE_MARK in (rec.content or ""), rec.received_at))
        return out

    async def do_heartbeats(self) -> tuple[int, float]:
        """Heartbeats received and the longest gap between them (seconds)."""
        assert self.stub is not None
        return len(self.stub.heartbeats), self.stub.max_heartbeat_gap()

    async def do_close(self) -> list[str]:
        """Stop the stub; return its internal errors (should be none)."""
        assert self.stub is not None
        await self.stub.close()
        return list(self.stub.errors)


def stub_process(conn: Connection) -> None:
    """The child process's entry point."""
    asyncio.run(StubSide(conn).serve())


class StubClient:
    """The bot side's handle on the stub's process (each call runs in a thread: the loop stays free)."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=stub_process, args=(child,), name="discord-stub", daemon=True)
        self.lock = threading.Lock()

    def __enter__(self) -> StubClient:
        self.process.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.join(10)
        if self.process.is_alive():
            self.process.kill()

    def call_sync(self, name: str, *args: Any) -> Any:
        """Call ``do_<name>`` in the stub's process and wait for the result."""
        with self.lock:
            self.conn.send((name, args))
            status, result = self.conn.recv()
        if status != "ok":
            raise RuntimeError(f"stub {name} failed: {result}")
        return result

    async def call(self, name: str, *args: Any) -> Any:
        """:meth:`call_sync` from the bot's loop, in a worker thread."""
        return await asyncio.to_thread(self.call_sync, name, *args)


# ------------------------------------------------------------------------------------- measuring


@dataclass
class LoopMonitor:
    """Sleeps ``period`` in a loop and records how late each wake-up was (the loop's stalls)."""

    period: float = MONITOR_PERIOD
    lateness: list[float] = field(default_factory=list)

    async def run(self) -> None:
        """Sample until cancelled."""
        while True:
            started = time.perf_counter()
            await asyncio.sleep(self.period)
            self.lateness.append(time.perf_counter() - started - self.period)

    @property
    def longest(self) -> float:
        """The longest stall seen, in seconds."""
        return max(self.lateness, default=0.0)


@dataclass
class Verdicts:
    """Every cooldown decision the bot made, per user in order (wraps ``bot.cooldown.hit``)."""

    by_user: dict[int, list[tuple[bool, bool]]] = field(default_factory=dict)

    def install(self, bot: SummitBot) -> None:
        """Record (allowed, first_refusal) for each question the bot checks."""
        original = bot.cooldown.hit

        def hit(user_id: int) -> Any:
            verdict = original(user_id)
            self.by_user.setdefault(user_id, []).append((verdict.allowed, verdict.first_refusal))
            return verdict

        bot.cooldown.hit = hit  # type: ignore[method-assign]

    @property
    def count(self) -> int:
        """Questions checked so far."""
        return sum(len(v) for v in self.by_user.values())

    @property
    def silent(self) -> int:
        """Questions refused without a notice (the window's notice had already gone out)."""
        return sum(1 for v in self.by_user.values() for allowed, first in v if not allowed and not first)


@dataclass
class RunResult:
    """What one run measured."""

    corpus: str
    cooldown: str
    paragraphs: int
    sent: int
    send_span: float
    answered: int
    notices: int
    silent_refusals: int
    lost: int
    answer_ms: list[float]
    all_ms: list[float]
    longest_stall_ms: float
    heartbeats: int
    max_heartbeat_gap: float
    heartbeat_interval: float
    gc_max_ms: float
    reload_s: float | None = None  # a /reload run in the middle of the burst: how long it took

    @property
    def p50(self) -> float:
        """Median event-to-reply time (answers and notices), ms."""
        return pct(self.all_ms, 50)

    @property
    def p95(self) -> float:
        """95th percentile event-to-reply time (answers and notices), ms."""
        return pct(self.all_ms, 95)

    @property
    def max(self) -> float:
        """Slowest event-to-reply time, ms."""
        return max(self.all_ms, default=0.0)

    @property
    def heartbeats_on_time(self) -> bool:
        """Every heartbeat gap stayed within 1.5x the announced interval."""
        return self.max_heartbeat_gap <= self.heartbeat_interval * 1.5


def pct(values: list[float], q: float) -> float:
    """The ``q``-th percentile (nearest rank) of ``values``; 0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[rank]


class GcTimer:
    """The longest garbage-collector pause during the run (gc callbacks)."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.longest = max(self.longest, time.perf_counter() - self._started)


# ------------------------------------------------------------------------------------------ a run


def make_settings(
    urls: dict[str, Any], corpus: Path, data: Path, cooldown: tuple[int, float], index_cache: Path | None = None
) -> Settings:
    """The bot's settings for one run: the stub's URLs, analytics on in ``data``."""
    return Settings(
        corpus=CorpusSettings(path=corpus),
        search=SearchSettings(index_cache=index_cache),
        discord=DiscordSettings(
            api_url=urls["api_url"],
            gateway_url=urls["gateway_url"],
            guild_ready_timeout=0.05,
            cooldown_questions=cooldown[0],
            cooldown_seconds=cooldown[1],
        ),
        analytics=AnalyticsSettings(enabled=True, path=data / "analytics.sqlite3"),
        logging=LoggingSettings(level="WARNING"),
    )


async def drive(stub: DiscordStub, users: list[StubUser], questions: list[str]) -> list[tuple[int, int, float]]:
    """(In the stub's process.) Send USERS x PER_USER questions evenly over DURATION seconds.

    Question ``i`` goes out at ``i * DURATION / total`` from user ``i % USERS``, so each user asks
    once a second. Returns (message id, user id, monotonic send time) per question.
    """
    loop = asyncio.get_running_loop()
    total = len(users) * PER_USER
    mention = f"<@{stub.bot_user.id}>"
    start = loop.time()
    sent: list[tuple[int, int, float]] = []
    for i in range(total):
        delay = start + i * DURATION / total - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        user = users[i % len(users)]
        at = time.monotonic()
        message = await stub.send_message(f"{mention} {questions[i % len(questions)]}", author=user)
        sent.append((int(message["id"]), user.id, at))
    return sent


@contextlib.asynccontextmanager
async def started(bot: SummitBot, token: str = "load.bench.token") -> AsyncIterator[SummitBot]:
    """Start ``bot`` in a task, wait until it is ready, close it afterwards."""
    task = asyncio.create_task(bot.start(token))
    ready = asyncio.create_task(bot.wait_until_ready())
    done, _ = await asyncio.wait({task, ready}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
    if ready not in done:
        ready.cancel()
        if task in done:
            task.result()
        raise TimeoutError("the bot did not become ready")
    try:
        yield bot
    finally:
        await bot.close()
        await asyncio.wait_for(task, 10)


def linked_copies(folder: Path, cache: Path) -> tuple[Path, Path]:
    """Hard-linked copies of a corpus folder and its saved index (a reload there rewrites one
    article and the saved generation, never the originals)."""
    import shutil

    copies = []
    for source in (folder, cache):
        target = source.with_name(f"load-{source.name}")
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir()
        for path in source.iterdir():
            if path.is_file():
                os.link(path, target / path.name)
        copies.append(target)
    return copies[0], copies[1]


def change_one_article(corpus: Path) -> None:
    """Rewrite the middle article of ``corpus`` as a new file (a hard-linked original is left as it
    was) with one more paragraph, different at each call, so that a reload has one change to make."""
    files = sorted(corpus.glob("*.md"))
    target = files[len(files) // 2]
    text = target.read_text(encoding="utf-8")
    head, _, body = text.partition("\n\n")
    if body.startswith("Zebra quagga okapi"):
        body = body.partition("\n\n")[2]
    target.unlink()
    target.write_text(f"{head}\n\nZebra quagga okapi {time.time_ns()}.\n\n{body}", encoding="utf-8")


async def one_run(
    label: str,
    engine: Engine,
    questions: list[str],
    cooldown: tuple[int, float],
    cooldown_label: str,
    reload_after: float | None = None,
) -> RunResult:
    """Start a stub and the bot, send the burst, wait for every reply, and measure.

    With ``reload_after``, one article is rewritten and a ``/reload`` (the bot's own
    ``reload_corpus``: with a saved index, in a child process) starts that many seconds into the
    burst; the run waits for it to finish.
    """
    with tempfile.TemporaryDirectory(prefix="summitbot-load-") as tmp, StubClient() as side:
        urls = await side.call("start", USERS)
        settings = make_settings(
            urls, engine.settings.corpus.path, Path(tmp), cooldown, engine.settings.search.index_cache
        )
        bot = create_bot(settings, engine)
        verdicts = Verdicts()
        verdicts.install(bot)
        monitor = LoopMonitor()
        gc_timer = GcTimer()
        async with started(bot):
            await side.call("wait_heartbeat")
            monitor_task = asyncio.create_task(monitor.run())
            gc.callbacks.append(gc_timer)
            reload_s: float | None = None
            try:
                began = time.monotonic()
                reload_task = None
                if reload_after is not None:

                    async def reload_later() -> float:
                        await asyncio.sleep(reload_after)
                        await asyncio.to_thread(change_one_article, settings.corpus.path)
                        start = time.monotonic()
                        outcome = await bot.reload_corpus()
                        if outcome.problems:
                            raise RuntimeError(f"reload failed: {outcome.problems}")
                        return time.monotonic() - start

                    reload_task = asyncio.create_task(reload_later())
                sent = await side.call("drive", questions)
                send_span = time.monotonic() - began
                replies = await wait_for_replies(side, sent, verdicts)
                if reload_task is not None:
                    reload_s = await reload_task
                # Keep the connection up a little longer so heartbeats cover the tail.
                await asyncio.sleep(0.5)
            finally:
                gc.callbacks.remove(gc_timer)
                monitor_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await monitor_task
            heartbeats, max_gap = await side.call("heartbeats")
        errors = await side.call("close")
        if errors:
            raise RuntimeError(f"stub errors: {errors}")
    answer_ms: list[float] = []
    all_ms: list[float] = []
    answered = notices = 0
    for message_id, _user, at in sent:
        reply = replies.get(message_id)
        if reply is None:
            continue
        is_notice, received = reply
        ms = (received - at) * 1000
        all_ms.append(ms)
        if is_notice:
            notices += 1
        else:
            answered += 1
            answer_ms.append(ms)
    silent = verdicts.silent  # refusals after the window's notice: acknowledged by a reaction
    lost = len(sent) - answered - notices
    return RunResult(
        corpus=label,
        cooldown=cooldown_label,
        paragraphs=len(engine.corpus.passages),
        sent=len(sent),
        send_span=send_span,
        answered=answered,
        notices=notices,
        silent_refusals=silent,
        lost=lost,
        answer_ms=answer_ms,
        all_ms=all_ms,
        longest_stall_ms=monitor.longest * 1000,
        heartbeats=heartbeats,
        max_heartbeat_gap=max_gap,
        heartbeat_interval=HEARTBEAT_MS / 1000,
        gc_max_ms=gc_timer.longest * 1000,
        reload_s=reload_s,
    )


async def wait_for_replies(
    side: StubClient, sent: list[tuple[int, int, float]], verdicts: Verdicts, timeout: float = 30.0
) -> dict[int, tuple[bool, float]]:
    """Wait until every question has a reply or a reaction; message id -> (notice?, time)."""
    wanted = {message_id for message_id, _, _ in sent}
    deadline = time.monotonic() + timeout
    replies: dict[int, tuple[bool, float]] = {}
    while True:
        for message_id, is_notice, received in await side.call("replies"):
            if message_id in wanted:
                replies[message_id] = (is_notice, received)
        if verdicts.count >= len(wanted) and len(replies) >= len(wanted):
            return replies
        if time.monotonic() > deadline:
            return replies
        await asyncio.sleep(0.05)


# ------------------------------------------------------------------------------------------ report


def table(results: list[RunResult]) -> str:
    """The results as a fixed-width table with the targets and a verdict per run."""
    head = (
        f"{'corpus':<8} {'passages':>8} {'cooldown':<9} {'sent':>4} {'span s':>6} {'answered':>8} "
        f"{'notices':>7} {'reacted':>7} {'lost':>4} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} "
        f"{'stall ms':>8} {'gc ms':>6} {'hb':>3} {'hb gap s':>8}  target                       verdict"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        p95_target, stall_target = TARGETS[r.corpus]
        target = f"p95<{p95_target:.0f}ms" + (f", stall<={stall_target:.0f}ms" if stall_target else "")
        target += ", 0 lost, hb ok"
        ok = r.p95 < p95_target and r.lost == 0 and r.heartbeats_on_time
        if stall_target is not None:
            ok = ok and r.longest_stall_ms <= stall_target
        lines.append(
            f"{r.corpus:<8} {r.paragraphs:>8} {r.cooldown:<9} {r.sent:>4} {r.send_span:>6.1f} {r.answered:>8} "
            f"{r.notices:>7} {r.silent_refusals:>7} {r.lost:>4} {r.p50:>7.1f} {r.p95:>7.1f} {r.max:>7.1f} "
            f"{r.longest_stall_ms:>8.1f} {r.gc_max_ms:>6.1f} {r.heartbeats:>3} {r.max_heartbeat_gap:>8.2f}  "
            f"{target:<28} {'PASS' if ok else 'FAIL'}"
            + (f"  (/reload mid-burst: {r.reload_s:.1f} s)" if r.reload_s is not None else "")
        )
    lines.append("")
    lines.append(
        "p50/p95/max: event (stub sends MESSAGE_CREATE) to reply (stub receives the POST), answers and notices; "
        "stall: longest lateness of a 5 ms sleep in the bot's loop; gc: longest GC pause; "
        f"hb: heartbeats received (interval {HEARTBEAT_MS / 1000:.1f} s), hb gap: longest gap (on time <= 1.5x); "
        "notices: cooldown refusals acknowledged (a written notice, or an hourglass reaction "
        "once the window's notice went out); "
        "reacted: how many of those were reactions."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table; exit 1 when a target fails."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paragraphs", type=int, default=100_000, help="size of the synthetic corpus")
    parser.add_argument("--skip-large", action="store_true", help="only the shipped corpus")
    parser.add_argument("--skip-shipped", action="store_true", help="only the synthetic corpus")
    parser.add_argument(
        "--million",
        action="store_true",
        help="the 1,000,000-paragraph corpus from a saved index, with a /reload two seconds into each burst",
    )
    parser.add_argument(
        "--no-reload", action="store_true", help="no /reload in the burst (the same run without it, as an anchor)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    runs: list[tuple[str, Engine, list[str]]] = []
    if not args.skip_shipped:
        settings = Settings(corpus=CorpusSettings(path=SHIPPED))
        runs.append(("shipped", build_engine(settings), SHIPPED_QUESTIONS))
    results: list[RunResult] = []
    variants = [("3 per 5s", (3, 5.0)), ("relaxed", (1000, 1.0))]
    for label, engine, questions in runs:
        for cooldown_label, cooldown in variants:
            results.append(asyncio.run(one_run(label, engine, questions, cooldown, cooldown_label)))
            print(table(results[-1:]).splitlines()[2], flush=True)
    if not args.skip_large:
        from benchmarks.speed import generate_corpus, make_questions

        started = time.perf_counter()
        paragraphs = 1_000_000 if args.million else args.paragraphs
        folder, _ = generate_corpus(paragraphs)
        cache = HERE / ".cache" / f"index-{folder.name}" if args.million else None
        if cache is not None:  # the saved index built (or checked) once, then run on hard-linked copies
            build_engine(Settings(corpus=CorpusSettings(path=folder), search=SearchSettings(index_cache=cache)))
            folder, cache = linked_copies(folder, cache)
        engine = build_engine(Settings(corpus=CorpusSettings(path=folder), search=SearchSettings(index_cache=cache)))
        how = engine.index_outcome.summary() if engine.index_outcome else ""
        print(f"{paragraphs:,}-paragraph engine ready in {time.perf_counter() - started:.1f} s ({how})", flush=True)
        questions = make_questions(folder, USERS * PER_USER)
        label, reload_after = ("1M", 2.0) if args.million else ("100k", None)
        if args.no_reload:
            reload_after = None
        for cooldown_label, cooldown in variants:
            result = asyncio.run(one_run(label, engine, questions, cooldown, cooldown_label, reload_after))
            results.append(result)
            print(table(results[-1:]).splitlines()[2], flush=True)
    print()
    print(table(results))
    failed = [
        r
        for r in results
        if r.p95 >= TARGETS[r.corpus][0]
        or r.lost
        or not r.heartbeats_on_time
        or (TARGETS[r.corpus][1] is not None and r.longest_stall_ms > (TARGETS[r.corpus][1] or 0))
    ]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
