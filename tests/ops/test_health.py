"""Health: the status file (atomic, stable fields), `summitbot health` exit codes, the HTTP endpoint."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

from bot.ops.health import (
    ErrorCounter,
    HealthMonitor,
    HealthStatus,
    assess,
    check,
    monitor_verdict,
    read_status,
    serve_http,
    write_status,
)

REPO = Path(__file__).resolve().parents[2]
FIELDS = {
    "version",
    "state",
    "pid",
    "started_at",
    "written_at",
    "gateway_connected",
    "latency_ms",
    "last_event_at",
    "disconnected_since",
    "corpus_generation",
    "documents",
    "errors_last_hour",
}


def _status(**changes: object) -> HealthStatus:
    now = time.time()
    fields: dict[str, object] = dict(
        state="running",
        pid=1,
        started_at=now - 100,
        written_at=now,
        gateway_connected=True,
        latency_ms=42.0,
        last_event_at=now - 3,
        disconnected_since=None,
        corpus_generation=2,
        documents=12,
        errors_last_hour=1,
    )
    fields.update(changes)
    return HealthStatus(**fields)  # type: ignore[arg-type]


def test_status_file_round_trip_and_fields(tmp_path: Path) -> None:
    path = tmp_path / "data" / "health.json"
    status = _status()
    write_status(path, status)
    assert set(json.loads(path.read_text())) == FIELDS
    assert read_status(path) == status
    assert [p.name for p in path.parent.iterdir()] == ["health.json"], "no temporary files left"


def test_assess_healthy_and_each_unhealthy_reason() -> None:
    now = time.time()
    ok = assess(_status(written_at=now), stale_seconds=90, now=now)
    assert ok.healthy
    assert ok.line == (
        "healthy: gateway connected (latency 42 ms), last event 3 s ago, corpus generation 2 (12 documents), "
        "1 error in the last hour"
    )
    cases = {
        "status not updated for 5 min": _status(written_at=now - 300),
        "the bot stopped": _status(state="stopped"),
        "the bot is starting": _status(state="starting"),
        "gateway disconnected for 2 min": _status(gateway_connected=False, disconnected_since=now - 120),
    }
    for expected, status in cases.items():
        verdict = assess(status, stale_seconds=90, now=now)
        assert not verdict.healthy and expected in verdict.line, verdict.line
    brief = assess(_status(gateway_connected=False, disconnected_since=now - 5), stale_seconds=90, now=now)
    assert brief.healthy and "gateway reconnecting" in brief.line  # discord.py reconnects by itself


def test_missing_or_broken_status_file_is_unhealthy(tmp_path: Path) -> None:
    assert "no status file" in check(tmp_path / "none.json", 90).line
    (tmp_path / "bad.json").write_text("{not json")
    assert check(tmp_path / "bad.json", 90).line.startswith("unhealthy: ")
    (tmp_path / "partial.json").write_text('{"state": "running"}')
    verdict = check(tmp_path / "partial.json", 90)
    assert not verdict.healthy and "missing" in verdict.line


def _health_cli(config: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "bot", "health", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_health_command_exit_codes(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("health:\n  status_file: state/health.json\n  stale_seconds: 30\n")
    missing = _health_cli(config)
    assert missing.returncode == 1
    assert missing.stdout.splitlines() == [
        f"unhealthy: no status file at {tmp_path / 'state' / 'health.json'} (is the bot running? health.status_file)"
    ]
    write_status(tmp_path / "state" / "health.json", _status())
    healthy = _health_cli(config)
    assert healthy.returncode == 0 and healthy.stdout.startswith("healthy: ")
    assert len(healthy.stdout.splitlines()) == 1
    write_status(tmp_path / "state" / "health.json", _status(written_at=time.time() - 600))
    stale = _health_cli(config)
    assert stale.returncode == 1 and "status not updated for 10 min" in stale.stdout


def test_monitor_tracks_the_bot_and_writes_on_each_beat(tmp_path: Path) -> None:
    clock = [1000.0]
    errors = ErrorCounter(clock=lambda: clock[0])
    monitor = HealthMonitor(tmp_path / "h.json", errors, clock=lambda: clock[0])
    monitor.latency = lambda: 0.0512
    monitor.beat()
    assert read_status(monitor.path).state == "starting"
    monitor.connected()
    monitor.corpus(1, 12)
    monitor.event()
    logger = logging.getLogger("test.health.monitor")
    logger.addHandler(errors)
    try:
        logger.error("boom")
        logger.warning("not counted")
        clock[0] += 10
        logger.error("boom again")
    finally:
        logger.removeHandler(errors)
    monitor.beat()
    status = read_status(monitor.path)
    assert (status.state, status.gateway_connected, status.latency_ms) == ("running", True, 51.2)
    assert (status.corpus_generation, status.documents, status.errors_last_hour) == (1, 12, 2)
    assert status.last_event_at == 1000.0 and status.written_at == 1010.0
    clock[0] += 3595  # the first error is now more than an hour old
    monitor.disconnected()
    monitor.beat()
    status = read_status(monitor.path)
    assert status.errors_last_hour == 1 and not status.gateway_connected and status.disconnected_since == 4605.0
    monitor.stopped()
    assert read_status(monitor.path).state == "stopped"
    assert not check(monitor.path, 90, now=clock[0]).healthy


def test_monitor_survives_an_unwritable_status_file(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("a file where the folder should be")
    monitor = HealthMonitor(tmp_path / "blocker" / "h.json")
    monitor.beat()
    monitor.beat()
    assert monitor.write_failures == 2


async def _get(port: int, path: str, method: str = "GET") -> tuple[int, dict[str, object]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"{method} {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    await writer.drain()
    raw = await reader.read()
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), json.loads(body)


async def test_http_endpoint_answers_200_then_503(tmp_path: Path) -> None:
    monitor = HealthMonitor(tmp_path / "h.json")
    server = await serve_http("127.0.0.1", 0, monitor_verdict(monitor, 90))
    port = server.sockets[0].getsockname()[1]
    try:
        code, body = await _get(port, "/health")
        assert code == 503 and body["healthy"] is False and "starting" in str(body["summary"])
        monitor.connected()
        monitor.corpus(1, 3)
        code, body = await _get(port, "/health")
        assert code == 200 and body["healthy"] is True
        assert isinstance(body["status"], dict) and set(body["status"]) == FIELDS
        assert (await _get(port, "/nope"))[0] == 404
        assert (await _get(port, "/health", "POST"))[0] == 405
    finally:
        server.close()
        await server.wait_closed()
