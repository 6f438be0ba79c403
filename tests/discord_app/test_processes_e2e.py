"""Two real ``summitbot run`` processes (shards 0 and 1 of 2) share one database and one corpus:
a ``/reload`` in one reaches the other within seconds, on SQLite and on PostgreSQL.

Each process talks to its own loopback Discord stub (the stub serves one gateway session, and one
server per shard is what Discord would send), so a question asked in the second server can only be
answered from the second process's corpus.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import pytest
from bot_harness import write_doc
from discord_stub import DiscordStub

GUILD_B = 1_220_000_000_000_888_001
QUESTION = "Who won the 2031 lunar chess olympiad?"
#: How long the second process may take to follow a reload (it polls every 0.5 s here).
CONVERGE_SECONDS = 15.0


def write_config(path: Path, corpus: Path, data: Path, stub: DiscordStub, shard: int, database_url: str | None) -> Path:
    """One process's config: its own stub and shard; the shared corpus and database."""
    lines = [
        f"corpus:\n  path: {corpus}",
        f"analytics:\n  path: {data / 'analytics.sqlite3'}\n  salt_env: SUMMITBOT_TEST_SALT",
        "database:\n  poll_seconds: 0.5" + (f"\n  url: {database_url}" if database_url else ""),
        "discord:",
        f"  api_url: {stub.api_url}",
        f"  gateway_url: {stub.gateway_url}",
        "  guild_ready_timeout: 0.05",
        "  token_env: SUMMITBOT_TEST_TOKEN",
        "  shard_count: 2",
        f"  shard_ids: [{shard}]",
        "  cooldown_questions: 1000",
        "  cooldown_seconds: 1.0",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@asynccontextmanager
async def summitbot_run(config: Path, log: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    """``summitbot run --config config`` in a child process (stderr to ``log``); SIGTERM at the end."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUMMITBOT_")}
    env.update(SUMMITBOT_TEST_TOKEN="t0ken.processes", SUMMITBOT_TEST_SALT="a-shared-salt-for-both-processes")
    with log.open("wb") as err:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", "--config", str(config), env=env, stdout=err, stderr=err
        )
        try:
            yield proc
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(proc.wait(), 20)
                except asyncio.TimeoutError:
                    proc.kill()
                    await proc.wait()


async def ask(stub: DiscordStub, question: str) -> str:
    """Ask by mention; the reply's text (embed description, or content)."""
    mark = stub.mark()
    await stub.send_message(f"<@{stub.bot_user.id}> {question}")
    rec = await stub.wait_for_message(since=mark, timeout=20)
    return rec.embeds[0]["description"] if rec.embeds else rec.content or ""


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_two_processes_converge_after_a_reload_in_one(
    backend: str, request: pytest.FixtureRequest, corpus_dir: Path, tmp_path: Path
) -> None:
    url = request.getfixturevalue("postgres_url") if backend == "postgresql" else None
    data = tmp_path / "data"
    async with AsyncExitStack() as stack:
        first = await stack.enter_async_context(DiscordStub())
        second = await stack.enter_async_context(DiscordStub(guild_id=GUILD_B, guild_name="Second server"))
        for shard, stub in enumerate((first, second)):
            config = write_config(tmp_path / f"config-{shard}.yaml", corpus_dir, data, stub, shard, url)
            await stack.enter_async_context(summitbot_run(config, tmp_path / f"process-{shard}.log"))
        for stub in (first, second):
            await stub.wait_for_identify(timeout=60)
            assert stub.sessions[-1].identify.get("shard") in ([0, 2], [1, 2])
        # Both serve the same corpus, which does not know the answer yet.
        assert (await ask(second, QUESTION)).startswith("That's not in my sources")
        assert (await ask(first, QUESTION)).startswith("That's not in my sources")

        write_doc(
            corpus_dir,
            "lunar-chess",
            "Lunar chess olympiad results",
            "moon.example",
            ["The 2031 lunar chess olympiad was won by Ada Okafor after a tense final round."],
        )
        ix = await first.slash_command("reload", user=first.owner)  # the application's owner, in server 1
        rec = await first.wait_for_message(interaction=ix, timeout=30)
        assert rec.embeds and rec.embeds[0]["title"] == "Corpus reloaded", rec
        reloaded = time.monotonic()

        # The second process was not asked: it learns of the reload from the database.
        answer = ""
        while time.monotonic() - reloaded < CONVERGE_SECONDS:
            answer = await ask(second, QUESTION)
            if "Ada Okafor" in answer:
                break
            await asyncio.sleep(0.2)
        converged = time.monotonic() - reloaded
    log = (tmp_path / "process-1.log").read_text(encoding="utf-8", errors="replace")
    assert "Ada Okafor" in answer, log[-3000:]
    assert "reloaded in another process" in log
    print(f"{backend}: the second process answered from the new corpus {converged:.2f} s after the reload")
