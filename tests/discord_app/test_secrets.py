"""The token never leaks: ``summitbot run`` at DEBUG log level, through start-up, answering, a failing
command and SIGTERM, writes the token to no log line, no output and no file; a rejected token is
reported in one line, exit 1, without echoing it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import stat
import sys
from asyncio.subprocess import PIPE
from pathlib import Path

from bot_harness import SHIPPED_CORPUS, VANCE, mention
from discord_stub import DiscordStub

TOKEN = "MTI3NDk.SeCrEt-t0ken.zq81xK4vPq"
TOKEN_PARTS = ("SeCrEt-t0ken", "zq81xK4vPq")


def write_config(folder: Path, stub: DiscordStub) -> Path:
    """A config.yaml at DEBUG level, analytics on (relative path: under ``folder``)."""
    text = f"""corpus:
  path: {folder / "corpus"}
analytics:
  enabled: true
  path: data/analytics.sqlite3
logging:
  level: DEBUG
discord:
  api_url: {stub.api_url}
  gateway_url: {stub.gateway_url}
  guild_ready_timeout: 0.05
  token_env: SUMMITBOT_SECRET_TEST_TOKEN
"""
    path = folder / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


async def start(folder: Path, config: Path, token: str) -> asyncio.subprocess.Process:
    """``summitbot run --config <config>`` in ``folder`` with the token in its environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUMMITBOT")}
    env["SUMMITBOT_SECRET_TEST_TOKEN"] = token
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--config", str(config), cwd=folder, env=env, stdout=PIPE, stderr=PIPE
    )


def leaks(text: str | bytes) -> bool:
    """True when ``text`` carries the token or a distinctive part of it."""
    data = text.encode("utf-8", "replace") if isinstance(text, str) else text
    return TOKEN.encode() in data or any(part.encode() in data for part in TOKEN_PARTS)


async def test_token_never_logged_written_or_printed(tmp_path: Path) -> None:
    """Start-up, an answer, a failing command (Discord refuses its response: logged with traceback)
    and SIGTERM, all at DEBUG: exit 0, clean shutdown, and the token in no line and no file."""
    shutil.copytree(SHIPPED_CORPUS, tmp_path / "corpus")
    async with DiscordStub() as stub:
        config = write_config(tmp_path, stub)
        proc = await start(tmp_path, config, TOKEN)
        try:
            await stub.wait_until_connected(timeout=30)
            await stub.send_message(f"{mention(stub)} {VANCE}")
            rec = await stub.wait_for_message(timeout=15)
            assert "¶3" in rec.embeds[0]["description"]
            # A failing command: Discord refuses /ask's first response (400, not retried); the bot
            # logs the error with its traceback and carries on.
            body = {"code": 50035, "message": "Invalid Form Body"}
            fault = stub.fail_next("POST", "/interactions/*/*/callback", status=400, body=body)
            await stub.slash_command("ask", {"question": VANCE})
            await stub.wait_for_request(lambda r: r.fault is fault, timeout=15)
            notice = await stub.wait_for_message(contains="Sorry, something went wrong", timeout=15)
            assert notice.ephemeral
            mark = stub.mark()
            await stub.send_message(f"{mention(stub)} {VANCE}")
            rec = await stub.wait_for_message(channel_id=stub.default_channel.id, since=mark, timeout=15)
            assert "¶3" in rec.embeds[0]["description"]
        finally:
            proc.send_signal(signal.SIGTERM)
            out, err = await asyncio.wait_for(proc.communicate(), 30)
        me = next(r for r in stub.requests if r.path == "/users/@me")
        assert me.headers.get("Authorization") == f"Bot {TOKEN}"  # the bot really used this token
    log = err.decode()
    assert proc.returncode == 0, log[-3000:]
    assert "DEBUG" in log and "error in /ask" in log  # DEBUG logging was on and the failure was logged
    assert "shutting down" in log and "Task was destroyed" not in log and "Unclosed" not in log
    assert not leaks(out) and not leaks(err)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    data = tmp_path / "data"
    assert (data / "analytics.sqlite3") in files and (data / "analytics.sqlite3.salt") in files
    assert stat.S_IMODE((data / "analytics.sqlite3.salt").stat().st_mode) == 0o600
    assert not [p for p in files if leaks(p.read_bytes())]


async def test_rejected_token_one_line_exit_1_not_echoed(tmp_path: Path) -> None:
    """Discord answers 401 to GET /users/@me: one explanatory line, exit 1, no traceback, no token
    (even at DEBUG level)."""
    shutil.copytree(SHIPPED_CORPUS, tmp_path / "corpus")
    async with DiscordStub(token="the.only.valid.token") as stub:
        proc = await start(tmp_path, write_config(tmp_path, stub), TOKEN)
        out, err = await asyncio.wait_for(proc.communicate(), 30)
        login = [r for r in stub.requests if r.path == "/users/@me"]
    text = err.decode()
    assert login and login[0].status == 401
    explanations = [line for line in text.splitlines() if line.startswith("summitbot:")]
    assert proc.returncode == 1 and len(explanations) == 1, text
    assert "rejected the token" in explanations[0] and "SUMMITBOT_SECRET_TEST_TOKEN" in explanations[0]
    assert "Traceback" not in text and not leaks(out) and not leaks(err)
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and leaks(p.read_bytes())]
