"""Round-two hardening (issue 11), end to end: the project's bot against the loopback Discord stub
while the corpus folder holds an alias bomb, a one-paragraph megabyte paste, a link-smuggling
``url``, a FIFO for ``aliases.yaml``, a reload that never finishes, or no folder at all.

Held: /reload answers with what is wrong (by name) and the previous corpus keeps serving; the
event loop stays free, so questions asked meanwhile are answered; the reload lock is released.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import os
import re
import shutil
import signal
import sqlite3
import stat
import sys
import threading
from asyncio.subprocess import PIPE
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord
import discord.http
import pytest
from bot_harness import (
    VANCE,
    alias_bomb,
    article,
    make_settings,
    mention,
    replies_to,
    reply_target,
    running,
    write_doc,
)
from discord_stub import DiscordStub

import bot.discord_app.app as app_module
from bot.config import Settings

#: Every reply below must come within this; the attacks used to take 15 s to forever.
PROMPT = 10.0


@pytest.fixture
async def stub() -> AsyncIterator[DiscordStub]:
    async with DiscordStub() as server:
        yield server
    assert not server.errors, server.errors


def settings_with(stub: DiscordStub, corpus: Path, data: Path, **corpus_keys: Any) -> Settings:
    settings = make_settings(stub, corpus, data, analytics=False)
    return dataclasses.replace(settings, corpus=dataclasses.replace(settings.corpus, **corpus_keys))


async def reload(stub: DiscordStub) -> dict[str, Any]:
    ix = await stub.slash_command("reload", user=stub.owner)
    rec = await stub.wait_for_message(interaction=ix, timeout=PROMPT)
    return rec.embeds[0]


async def ask(stub: DiscordStub, question: str = VANCE, timeout: float = PROMPT) -> Any:
    mark = stub.mark()
    message = await stub.send_message(f"{mention(stub)} {question}")
    return (await replies_to(stub, [int(message["id"])], since=mark, timeout=timeout))[int(message["id"])]


# ----------------------------------------------------------------------------------- 1: alias bomb


async def test_reload_with_an_alias_bomb_is_refused_and_questions_meanwhile_are_answered(
    stub: DiscordStub, corpus_dir: Path, tmp_path: Path
) -> None:
    async with running(settings_with(stub, corpus_dir, tmp_path / "data"), stub) as bot:
        engine = bot.engine
        (corpus_dir / "bomb.md").write_text(article(alias_bomb() + "title: *j\nsource: x\n"), encoding="utf-8")
        ix = await stub.slash_command("reload", user=stub.owner)
        reply = await ask(stub)  # while the reload runs: the event loop is free
        assert "¶3" in reply.embeds[0]["description"]
        embed = (await stub.wait_for_message(interaction=ix, timeout=PROMPT)).embeds[0]
        assert embed["title"].startswith("Reload failed") and "bomb.md:2" in embed["description"]
        assert "anchors" in embed["description"] and bot.engine is engine


# ----------------------------------------------------------------------------- 2: one long paragraph


async def test_a_question_citing_a_one_paragraph_paste_is_answered_with_its_paragraph_number(
    stub: DiscordStub, tmp_path: Path
) -> None:
    """A 1.8 MB article with no blank line: the answer quotes the right part, cites ¶1, fits the
    embed, and comes promptly (each question citing it used to take 1.3-15 s on the event loop)."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    filler = "Delegates discussed ferry schedules, harbour fees and the weather over several long days. "
    key = "The lighthouse keeper Marguerite Okonkwo repainted the beacon tower in cobalt blue. "
    (corpus / "paste.md").write_text(
        article("title: Harbour paste\nsource: example.org\n", filler * 10_000 + key + filler * 10_000), "utf-8"
    )
    settings = settings_with(stub, corpus, tmp_path / "data", max_file_bytes=3_000_000)
    async with running(settings, stub):
        for _ in range(3):
            reply = await ask(stub, "Who repainted the beacon tower in cobalt blue?")
            description = reply.embeds[0]["description"]
            assert "Okonkwo" in description and "¶1" in description and len(description) <= 4096
            body = description.split("\n\n— ")[0]
            assert body.startswith("… ") and body.endswith(" …")  # a part of the paragraph, shown as such


# ----------------------------------------------------------------------------------------- 3: links


async def test_article_links_are_percent_encoded_in_answers_and_sources(
    stub: DiscordStub, corpus_dir: Path, tmp_path: Path
) -> None:
    """A URL with parentheses, stars, pipes and tildes is kept working but encoded: the answer, its
    Source button and /sources carry the encoded URL, each masked link exactly once."""
    corpus = corpus_dir
    url = "https://ok.example/wiki/Harbour_(lighthouse)*x*|y|~z~?q=(1)"
    encoded = "https://ok.example/wiki/Harbour_%28lighthouse%29%2Ax%2A%7Cy%7C~z~?q=%281%29"
    paragraphs = [
        "The harbour lighthouse keeper Marguerite Okonkwo repainted the beacon tower in cobalt blue.",
        "Ferries leave the harbour every hour in summer.",
    ]
    write_doc(corpus, "harbour", "Harbour", "example.org", paragraphs, url=url)
    async with running(settings_with(stub, corpus, tmp_path / "data"), stub):
        reply = await ask(stub, "Who repainted the beacon tower of the harbour lighthouse in cobalt blue?")
        embed = reply.embeds[0]
        assert embed["url"] == encoded
        assert re.findall(r"\]\(([^)]*)\)", embed["description"]) == [encoded]
        buttons = [c for row in reply.components for c in row["components"] if c.get("url")]
        assert [b["url"] for b in buttons] == [encoded]
        ix = await stub.slash_command("sources")
        listing = (await stub.wait_for_message(interaction=ix, timeout=PROMPT)).embeds[0]["description"]
        assert re.findall(r"\]\((https://ok[^)]*)\)", listing) == [encoded]
        assert "(lighthouse)" not in listing


async def test_reload_refuses_a_link_smuggling_url(stub: DiscordStub, corpus_dir: Path, tmp_path: Path) -> None:
    smuggle = "https://ok.example/)**[Free Nitro](https://evil.example/login)**[.](https://ok.example/"
    async with running(settings_with(stub, corpus_dir, tmp_path / "data"), stub) as bot:
        write_doc(corpus_dir, "nitro", "Nitro", "example.org", ["Free things."], url=f"'{smuggle}'")
        embed = await reload(stub)
        assert embed["title"].startswith("Reload failed") and "nitro.md:4" in embed["description"]
        assert "evil.example" not in str(bot.engine.corpus.documents)
        ix = await stub.slash_command("sources")
        assert "evil.example" not in str((await stub.wait_for_message(interaction=ix, timeout=PROMPT)).json)


# ------------------------------------------------------------------------ 8: aliases.yaml, deadline


async def test_a_fifo_for_aliases_yaml_does_not_hang_reload_and_the_next_reload_works(
    stub: DiscordStub, corpus_dir: Path, tmp_path: Path
) -> None:
    aliases = corpus_dir / "aliases.yaml"
    saved = aliases.read_text(encoding="utf-8")
    async with running(settings_with(stub, corpus_dir, tmp_path / "data"), stub):
        aliases.unlink()
        os.mkfifo(aliases)
        embed = await reload(stub)
        assert embed["title"].startswith("Reload failed")
        assert "aliases.yaml: not a regular file" in embed["description"]
        aliases.unlink()
        aliases.symlink_to("/dev/zero")
        embed = await reload(stub)
        assert "aliases.yaml: symbolic link: refused" in embed["description"]
        aliases.unlink()
        aliases.write_text(saved, encoding="utf-8")
        assert (await reload(stub))["title"] == "Corpus reloaded"


async def test_a_reload_that_never_finishes_gives_up_and_releases_the_lock(
    stub: DiscordStub, corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build stuck forever (as a FIFO read used to be): after corpus.reload_timeout_seconds the
    admin is told, the old corpus serves, and the next /reload runs."""
    release = threading.Event()
    real_build = app_module.build_engine

    def stuck_build(settings: Settings, *args: Any, **kwargs: Any) -> Any:
        release.wait(60)
        return real_build(settings, *args, **kwargs)

    settings = settings_with(stub, corpus_dir, tmp_path / "data", reload_timeout_seconds=1.0)
    try:
        async with running(settings, stub) as bot:
            engine = bot.engine
            monkeypatch.setattr(app_module, "build_engine", stuck_build)
            ix = await stub.slash_command("reload", user=stub.owner)
            assert "¶3" in (await ask(stub)).embeds[0]["description"]  # served meanwhile
            embed = (await stub.wait_for_message(interaction=ix, timeout=PROMPT)).embeds[0]
            assert embed["title"].startswith("Reload failed")
            assert "did not finish within 1 s" in embed["description"] and bot.engine is engine
            monkeypatch.setattr(app_module, "build_engine", real_build)
            assert (await reload(stub))["title"] == "Corpus reloaded"  # the lock was released
    finally:
        release.set()


# ----------------------------------------------------------------------- 12: corpus folder deleted


async def test_reload_after_the_corpus_folder_was_deleted_names_the_folder(
    stub: DiscordStub, corpus_dir: Path, tmp_path: Path
) -> None:
    async with running(settings_with(stub, corpus_dir, tmp_path / "data"), stub):
        shutil.rmtree(corpus_dir)
        embed = await reload(stub)
        assert "• corpus: corpus folder does not exist" in embed["description"], embed["description"]
        assert "• .:" not in embed["description"]
        assert "¶3" in (await ask(stub)).embeds[0]["description"]
        await asyncio.sleep(0)


# ------------------------------------------------------------------ 11: malformed gateway events


async def _malformed_events(stub: DiscordStub) -> int:
    """What a Discord-compatible server was seen to send: CHANNEL_CREATE without ``position``, a guild
    message with ``thread: null``, and a DM question with ``guild_id: null``."""
    await stub.dispatch(
        "CHANNEL_CREATE", {"id": "990000000000000001", "type": 0, "guild_id": str(stub.guild.id), "name": "new"}
    )
    message = await stub.send_message("just chatting")
    await stub.dispatch("MESSAGE_CREATE", {**message, "thread": None})
    dm = await stub.send_message(VANCE, guild=False, author=stub.member)  # answered once as sent ...
    await stub.dispatch("MESSAGE_CREATE", {**dm, "guild_id": None})  # ... and once more, read again
    return int(dm["id"])


async def test_malformed_gateway_events_are_logged_and_the_bot_keeps_serving(
    stub: DiscordStub, corpus_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with running(settings_with(stub, corpus_dir, tmp_path / "data"), stub) as bot:
        mark = stub.mark()
        dm = await _malformed_events(stub)
        # The DM question sent with guild_id: null is read again without it, and answered.
        for _ in range(int(PROMPT * 20)):
            answers = [r for r in stub.requests[mark:] if r.kind == "create_message" and reply_target(r) == dm]
            if len(answers) == 2:
                break
            await asyncio.sleep(0.05)
        assert len(answers) == 2 and all("¶3" in r.embeds[0]["description"] for r in answers)
        assert "¶3" in (await ask(stub)).embeds[0]["description"]
        assert not bot.is_closed() and bot.skipped_events[0] == 1
    skipped = [r.getMessage() for r in caplog.records if "malformed CHANNEL_CREATE" in r.getMessage()]
    assert skipped and "KeyError" in skipped[0] and "still serving" in skipped[0]
    assert not any(VANCE in r.getMessage() for r in caplog.records)  # no payload in the log


async def test_summitbot_run_survives_malformed_events_and_stops_cleanly(
    stub: DiscordStub, corpus_dir: Path, tmp_path: Path
) -> None:
    """The real `summitbot run` process (it used to exit 1 with a traceback on the first one)."""
    config = tmp_path / "config.yaml"
    config.write_text(
        f"corpus:\n  path: {corpus_dir}\nanalytics:\n  enabled: false\ndiscord:\n  api_url: {stub.api_url}\n"
        f"  gateway_url: {stub.gateway_url}\n  guild_ready_timeout: 0.05\n  cooldown_questions: 1000\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUMMITBOT")}
    env["DISCORD_TOKEN"] = "t0ken.malformed"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--config", str(config), env=env, stdout=PIPE, stderr=PIPE
    )
    try:
        await stub.wait_until_connected(timeout=30)
        first = await ask(stub, timeout=30)
        assert first.embeds and "¶3" in first.embeds[0]["description"], first.json  # up and serving
        await _malformed_events(stub)
        assert "¶3" in (await ask(stub, timeout=30)).embeds[0]["description"]
        assert proc.returncode is None
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 20)
    text = err.decode()
    assert proc.returncode == 0, text
    assert "Traceback" not in text and "malformed CHANNEL_CREATE" in text


async def test_sync_with_a_malformed_answer_is_one_line(stub: DiscordStub, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"discord:\n  api_url: {stub.api_url}\n  gateway_url: {stub.gateway_url}\n", "utf-8")
    stub.fail_next("PUT", "/applications/*/commands", status=200, body=[{"id": "1"}])  # type: ignore[arg-type]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUMMITBOT")}
    env["DISCORD_TOKEN"] = "t0ken.sync"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "sync", "--config", str(config), env=env, stdout=PIPE, stderr=PIPE
    )
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    text = err.decode()
    assert proc.returncode == 1 and "Traceback" not in text, text
    (line,) = text.strip().splitlines()
    assert line.startswith("summitbot: ") and "malformed" in line and "t0ken" not in line


async def test_an_error_notice_that_cannot_be_sent_is_logged_not_leaked(
    stub: DiscordStub, corpus_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """/ask fails, and the connection to Discord fails too while the bot says so: one warning, and
    no "Task exception was never retrieved" from discord.py's command task."""
    leaked: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: leaked.append(context))
    async with running(settings_with(stub, corpus_dir, tmp_path / "data"), stub) as bot:

        class Broken:
            def __getattr__(self, name: str) -> Any:
                discord.http.Route.BASE = "http://127.0.0.1:9/api/v10"  # nothing listens there
                raise RuntimeError("engine broke")

        bot._engine = Broken()  # type: ignore[assignment]
        base = discord.http.Route.BASE
        try:
            await stub.slash_command("ask", {"question": VANCE})
            for _ in range(100):
                if any("could not send an error notice" in r.getMessage() for r in caplog.records):
                    break
                await asyncio.sleep(0.05)
        finally:
            discord.http.Route.BASE = base
        gc.collect()
        await asyncio.sleep(0.1)
    assert any("could not send an error notice" in r.getMessage() for r in caplog.records)
    assert not [c for c in leaked if "never retrieved" in str(c.get("message"))], leaked


# --------------------------------------------------------------------------------- 10: privacy

MARKER = "quokka7731"


async def _run_at_debug(tmp_path: Path, stub: DiscordStub, corpus: Path, payloads: bool) -> tuple[str, Any]:
    """`summitbot run` at DEBUG: a mention, a DM and an /ask carrying MARKER; then SIGTERM. Its stderr
    and the /ask interaction."""
    folder = tmp_path / ("with-payloads" if payloads else "default")
    folder.mkdir()
    config = folder / "config.yaml"
    config.write_text(
        f"corpus:\n  path: {corpus}\nanalytics:\n  path: data/analytics.sqlite3\nlogging:\n  level: DEBUG\n"
        f"  discord_payloads: {'true' if payloads else 'false'}\n"
        f"discord:\n  api_url: {stub.api_url}\n  gateway_url: {stub.gateway_url}\n  guild_ready_timeout: 0.05\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUMMITBOT")}
    env["DISCORD_TOKEN"] = "t0ken.privacy"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--config", str(config), cwd=folder, env=env, stdout=PIPE, stderr=PIPE
    )
    try:
        await stub.wait_until_connected(timeout=30)
        mark = stub.mark()
        await stub.send_message(f"{mention(stub)} {VANCE} {MARKER}", author=stub.member)
        await stub.wait_for_message(since=mark, timeout=30)
        mark = stub.mark()
        await stub.send_message(f"{VANCE} {MARKER}", guild=False, author=stub.member)
        await stub.wait_for_message(since=mark, timeout=PROMPT)
        refused = await stub.slash_command("reload", user=stub.member)  # not an admin: logged, without the id
        await stub.wait_for_message(interaction=refused, timeout=PROMPT)
        ix = await stub.slash_command("ask", {"question": f"{VANCE} {MARKER}"}, user=stub.member)
        await stub.wait_for_message(interaction=ix, timeout=PROMPT)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0, err.decode()[-2000:]
    return err.decode(), ix


async def test_debug_logging_keeps_discord_payloads_out_unless_asked(tmp_path: Path, corpus_dir: Path) -> None:
    """At DEBUG the log has discord.py's and the bot's own lines but no message text, user id or
    interaction token; with ``logging.discord_payloads: true`` the payloads are there (so it is
    the filter that keeps them out)."""
    async with DiscordStub() as stub:
        log, ix = await _run_at_debug(tmp_path, stub, corpus_dir, payloads=False)
        member = str(stub.member.id)
    assert "DEBUG" in log and "discord.gateway" in log and "summitbot" in log and "refused /reload" in log
    assert MARKER not in log and member not in log and ix.token not in log
    async with DiscordStub() as stub:
        log, ix = await _run_at_debug(tmp_path, stub, corpus_dir, payloads=True)
    assert MARKER in log and ix.token in log


# ------------------------------------------------------------------- 4, 5, 10: the analytics file


def _rows(db: Path) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT question, guild_id, channel_id FROM questions ORDER BY id").fetchall()
    finally:
        conn.close()


async def test_questions_asked_while_the_database_is_locked_are_all_recorded(
    stub: DiscordStub, corpus_dir: Path, tmp_path: Path
) -> None:
    """An exclusive lock held for 3 s (three busy timeouts): the four questions asked meanwhile are
    answered, and all four rows are in the file once the lock goes (it used to keep one)."""
    settings = make_settings(stub, corpus_dir, tmp_path / "data")
    db = settings.analytics.path
    async with running(settings, stub) as bot:
        assert bot.analytics is not None and await bot.analytics.ready()
        holder = sqlite3.connect(db, timeout=0, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            for i in range(4):
                assert "¶3" in (await ask(stub, f"{VANCE} ({i})")).embeds[0]["description"]
            await asyncio.sleep(max(0.0, 3.0 - 0.5))
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        for _ in range(200):
            if bot.analytics.unwritten_rows == 0 and len(_rows(db)) == 4:
                break
            await asyncio.sleep(0.05)
        assert [q for q, _, _ in _rows(db)] == [f"{VANCE} ({i})" for i in range(4)]
        assert bot.analytics.dropped_rows == 0


async def test_database_deleted_under_the_bot_is_created_again_private_and_without_dm_channels(
    stub: DiscordStub, corpus_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The analytics file (and its WAL) deleted while the bot runs: the next question is recorded in
    a new file (mode 0600), with a warning. A DM question is stored without its channel id; a
    guild question keeps its channel. The CSV export is mode 0600 too."""
    settings = make_settings(stub, corpus_dir, tmp_path / "data")
    db = settings.analytics.path
    async with running(settings, stub) as bot:
        assert bot.analytics is not None and await bot.analytics.ready()
        await ask(stub, "What did JD Vance say? (before)")
        for leftover in db.parent.glob(db.name + "*"):
            leftover.unlink()
        await ask(stub, "What did JD Vance say? (after)")
        mark = stub.mark()
        await stub.send_message("What did JD Vance say? (dm)", guild=False, author=stub.member)
        await stub.wait_for_message(since=mark, timeout=PROMPT)
        for _ in range(100):
            if db.exists() and len(_rows(db)) == 2:
                break
            await asyncio.sleep(0.05)
        rows = _rows(db)
    assert [r[0] for r in rows] == ["What did JD Vance say? (after)", "What did JD Vance say? (dm)"]
    assert rows[0][1] == stub.guild.id and rows[0][2] == stub.default_channel.id
    assert rows[1][1] is None and rows[1][2] is None  # the DM channel would name the person
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert any("deleted or replaced" in r.getMessage() for r in caplog.records)
    config = tmp_path / "config.yaml"
    config.write_text(f"analytics:\n  path: {db}\n", encoding="utf-8")
    csv_path = tmp_path / "report.csv"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "stats", "--config", str(config), "--csv", str(csv_path), stdout=PIPE, stderr=PIPE
    )
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    assert stat.S_IMODE(csv_path.stat().st_mode) == 0o600
