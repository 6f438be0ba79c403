"""Operations end to end: `summitbot run` (a real process) against the loopback Discord stub keeps the
health status file, `summitbot health` reads it; the database lock stops a restore under a running
bot; JSON logs; `summitbot sync` reports changes, duplicates and clears commands."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import threading
from asyncio.subprocess import PIPE
from collections.abc import AsyncIterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest_asyncio
from discord_stub import DiscordStub

REPO = Path(__file__).resolve().parents[2]
VANCE = "What did JD Vance say about America first?"
TOKEN_ENV = "SUMMITBOT_TEST_TOKEN"


@pytest_asyncio.fixture
async def stub() -> AsyncIterator[DiscordStub]:
    async with DiscordStub() as server:
        yield server
    assert not server.errors, server.errors


def write_config(folder: Path, corpus: Path, stub: DiscordStub, *sections: str, **discord_keys: Any) -> Path:
    """A config.yaml for a bot on ``stub`` (extra YAML ``sections`` appended)."""
    lines = [
        f"corpus:\n  path: {corpus}",
        "discord:",
        f"  api_url: {stub.api_url}",
        f"  gateway_url: {stub.gateway_url}",
        "  guild_ready_timeout: 0.05",
        f"  token_env: {TOKEN_ENV}",
        *(f"  {key}: {value}" for key, value in discord_keys.items()),
        *sections,
    ]
    path = folder / "config.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def summitbot(
    *args: str, token: str | None = "t0ken.ops", cwd: Path | None = None, env_extra: dict[str, str] | None = None
) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if k not in (TOKEN_ENV, "SUMMITBOT_ERROR_WEBHOOK")}
    env["PYTHONPATH"] = str(REPO)
    env.update(env_extra or {})
    if token is not None:
        env[TOKEN_ENV] = token
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, env=env, stdout=PIPE, stderr=PIPE, cwd=cwd
    )


async def finished(*args: str, **kw: Any) -> tuple[int, str, str]:
    proc = await summitbot(*args, **kw)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def health(config: Path) -> tuple[int, str]:
    code, out, _ = await finished("health", "--config", str(config), token=None)
    return code, out.strip()


async def until(predicate: Any, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.1)


HEALTH = "health:\n  status_file: state/health.json\n  interval_seconds: 1\n  stale_seconds: 3"


async def test_running_bot_is_healthy_then_unhealthy_after_it_stops(
    stub: DiscordStub, corpus_dir: Path, tmp_path: Path
) -> None:
    config = write_config(tmp_path, corpus_dir, stub, HEALTH, "analytics:\n  path: data/a.sqlite3")
    status_file = tmp_path / "state" / "health.json"
    assert (await health(config))[0] == 1  # not started yet: no status file
    proc = await summitbot("run", "--config", str(config))
    try:
        await stub.wait_until_connected(timeout=20)

        async def healthy() -> bool:
            return (await health(config))[0] == 0

        await until(healthy)
        code, line = await health(config)
        assert line.startswith("healthy: gateway connected (latency ") and "corpus generation 1" in line
        status = json.loads(status_file.read_text())
        assert status["pid"] == proc.pid and status["state"] == "running"
        await stub.send_message(f"<@{stub.bot_user.id}> {VANCE}")
        await stub.wait_for_message(timeout=10)
        await until(lambda: _later_event(status_file, status["last_event_at"]))
        # A reload puts a new corpus generation in service.
        (corpus_dir / "extra.md").write_text("---\ntitle: Extra\nsource: Notes\n---\n\nOtters hold hands.\n")
        ix = await stub.slash_command("reload", user=stub.owner)  # operators reload (the application's owner)
        await stub.wait_for_message(interaction=ix, timeout=20)

        async def second_generation() -> bool:
            line = (await health(config))[1]
            return "corpus generation 2 (2 documents)" in line

        await until(second_generation)
        # A backup works while the bot runs; a restore is refused (the bot holds the database's lock).
        backup = tmp_path / "b.sqlite3"
        code, out, err = await finished("backup", "--config", str(config), str(backup))
        assert code == 0 and out.startswith("Backed up 1 questions to "), err
        code, _, err = await finished("restore", "--config", str(config), str(backup))
        assert code == 1 and "in use by a running summitbot" in err and len(err.splitlines()) == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    code, line = await health(config)
    assert code == 1 and line.startswith("unhealthy: the bot stopped")


async def _later_event(path: Path, before: float | None) -> bool:
    status = json.loads(path.read_text())
    return status["last_event_at"] is not None and (before is None or status["last_event_at"] > before)


async def test_killed_bot_goes_stale_and_json_logs(stub: DiscordStub, corpus_dir: Path, tmp_path: Path) -> None:
    config = write_config(
        tmp_path, corpus_dir, stub, HEALTH, "analytics:\n  enabled: false", "logging:\n  format: json"
    )
    proc = await summitbot("run", "--config", str(config), token="t0ken.json")
    try:
        await stub.wait_until_connected(timeout=20)

        async def healthy() -> bool:
            return (await health(config))[0] == 0

        await until(healthy)
    finally:
        proc.kill()  # no clean shutdown: the file stays "running" but goes stale
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    await asyncio.sleep(3.5)
    code, line = await health(config)
    assert code == 1 and line.startswith("unhealthy: status not updated for ")
    records = [json.loads(line) for line in err.decode().splitlines() if line.startswith("{")]
    assert records, err.decode()
    assert all(set(r) >= {"time", "level", "logger", "message"} for r in records)
    assert any(r["logger"].startswith("summitbot") for r in records)
    assert "t0ken.json" not in err.decode()


async def test_health_endpoint_of_the_running_bot(stub: DiscordStub, corpus_dir: Path, tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    section = HEALTH + f"\n  listen: 127.0.0.1:{port}"
    config = write_config(tmp_path, corpus_dir, stub, section, "analytics:\n  enabled: false")
    proc = await summitbot("run", "--config", str(config))
    try:
        await stub.wait_until_connected(timeout=20)

        async def answers_200() -> bool:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                return False
            writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            raw = await reader.read()
            writer.close()
            return raw.startswith(b"HTTP/1.1 200 ")

        await until(answers_200)
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0


async def test_sync_reports_changes_duplicates_and_clears(stub: DiscordStub, corpus_dir: Path, tmp_path: Path) -> None:
    config = write_config(tmp_path, corpus_dir, stub, "analytics:\n  enabled: false")
    guild = str(stub.guild.id)
    code, out, err = await finished("sync", "--config", str(config), "--guild", guild)
    assert code == 0, err
    names = sorted(c["name"] for c in stub.registered_commands(stub.guild.id))
    assert {"ask", "reload"} <= set(names)
    listed = ", ".join(f"/{n}" if n.islower() else f'"{n}" (menu)' for n in names)
    assert '"Ask summitbot" (menu)' in listed  # a context menu is not shown as a slash command
    assert out.splitlines()[0].startswith(f"Synced {len(names)} commands to guild {guild}: ")
    assert out.splitlines()[1] == f"Changes: new {listed}."
    code, out, err = await finished("sync", "--config", str(config), "--guild", guild)
    assert code == 0 and "no change" in out, out
    # Published globally too: that guild now shows every command twice; sync says so.
    code, out, err = await finished("sync", "--config", str(config))
    assert code == 0, err
    assert {c["name"] for c in stub.registered_commands()} == {
        c["name"] for c in stub.registered_commands(stub.guild.id)
    }
    code, out, err = await finished("sync", "--config", str(config), "--guild", guild)
    assert code == 0
    warnings = [line for line in err.splitlines() if line.startswith("summitbot: warning:")]
    assert len(warnings) == 1 and "published both globally and to guild" in warnings[0]
    assert f"summitbot sync --clear --guild {guild}" in warnings[0]
    # Clear the guild's copies: the global ones remain.
    code, out, err = await finished("sync", "--config", str(config), "--clear", "--guild", guild)
    assert code == 0, err
    assert out.splitlines()[0] == f"Cleared the commands of guild {guild} (removed {listed})."
    assert stub.registered_commands(stub.guild.id) == []
    assert len(stub.registered_commands()) == len(names)
    code, out, err = await finished("sync", "--config", str(config), "--clear")
    assert code == 0 and stub.registered_commands() == []
    code, out, err = await finished("sync", "--config", str(config), "--clear")
    assert code == 0 and "nothing was published" in out


async def test_running_bot_warns_when_published_commands_are_stale(
    stub: DiscordStub, corpus_dir: Path, tmp_path: Path
) -> None:
    config = write_config(tmp_path, corpus_dir, stub, "analytics:\n  enabled: false")
    code, _, err = await finished("sync", "--config", str(config))
    assert code == 0, err
    # An older version published a command this one no longer has.
    stub.commands[None][("oldcommand", 1)] = {"id": "1", "name": "oldcommand", "type": 1, "description": "gone"}
    proc = await summitbot("run", "--config", str(config))
    try:
        await stub.wait_until_connected(timeout=20)
        await asyncio.sleep(1.0)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err_bytes = await asyncio.wait_for(proc.communicate(), 30)
    text = err_bytes.decode()
    assert "published slash commands differ from this version's (gone /oldcommand): run `summitbot sync`" in text


async def test_errors_reach_the_webhook_and_the_health_count(
    stub: DiscordStub, corpus_dir: Path, tmp_path: Path
) -> None:
    posts: list[dict[str, Any]] = []

    class Webhook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Webhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/api/webhooks/1/webhook-secret"
    config = write_config(
        tmp_path, corpus_dir, stub, HEALTH, "analytics:\n  enabled: false", "logging:\n  error_webhook_seconds: 1"
    )
    token = "MTIzNDU2Nzg5MDEyMzQ1Njc4OQ.GhIjKl.Abcdefghijklmnopqrstuvwxyz0123456789ABC"
    proc = await summitbot("run", "--config", str(config), token=token, env_extra={"SUMMITBOT_ERROR_WEBHOOK": url})
    try:
        await stub.wait_until_connected(timeout=20)
        stub.fail_next("POST", "/channels/*/messages", status=503)  # the answer is refused: an error is logged
        await stub.send_message(f"<@{stub.bot_user.id}> {VANCE} my-private-note-4471")
        await until(lambda: _true(bool(posts)))

        async def counted() -> bool:
            return json.loads((tmp_path / "state" / "health.json").read_text())["errors_last_hour"] >= 1

        await until(counted)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
        server.shutdown()
        server.server_close()
    assert proc.returncode == 0, err.decode()
    text = posts[0]["content"]
    assert text.startswith("summitbot: 1 error logged") and "error answering message" in text and "503" in text
    assert posts[0]["allowed_mentions"] == {"parse": []}
    everything = json.dumps(posts) + err.decode()
    assert token not in everything and "webhook-secret" not in everything
    assert "my-private-note-4471" not in json.dumps(posts)


async def _true(value: bool) -> bool:
    return value
