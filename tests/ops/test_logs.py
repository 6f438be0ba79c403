"""Operations logging: JSON lines with stable fields, secrets redacted, and the error webhook
(rate-limited summaries) posting to a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bot.config import LoggingSettings, load_settings
from bot.ops.logs import ErrorWebhook, Redactor, configure_logging, shutdown_logging, webhook_url

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4OQ.GhIjKl.Abcdefghijklmnopqrstuvwxyz0123456789ABC"


class Webhook:
    """A Discord-webhook stand-in: records JSON posts; answers 429 to the first ``refuse`` posts."""

    def __init__(self, refuse: int = 0) -> None:
        self.posts: list[dict[str, Any]] = []
        self.times: list[float] = []
        self.refuse = refuse
        self.arrived = threading.Event()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if hook.refuse:
                    hook.refuse -= 1
                    payload = json.dumps({"message": "You are being rate limited.", "retry_after": 0.3}).encode()
                    self.send_response(429)
                else:
                    hook.posts.append(body)
                    hook.times.append(time.monotonic())
                    hook.arrived.set()
                    payload = b""
                    self.send_response(204 if not payload else 200)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/webhooks/1/secret-webhook-token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.posts) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.posts) >= count, f"{len(self.posts)} posts, expected {count}"


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.server.shutdown()
    hook.server.server_close()


def _logger(name: str, handler: logging.Handler) -> logging.Logger:
    logger = logging.getLogger(name)
    logger.propagate = False
    logger.handlers = [handler]
    logger.setLevel(logging.DEBUG)
    return logger


def _raise(message: str) -> None:
    raise RuntimeError(message)


def test_json_lines_have_stable_fields_and_no_secrets() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    handlers = configure_logging(LoggingSettings(level="DEBUG", format="json"), secrets=[TOKEN], stream=stream)
    try:
        logging.getLogger("summitbot.test").info("connected with %s", TOKEN)
        try:
            _raise(f"bad token {TOKEN}")
        except RuntimeError:
            logging.getLogger("summitbot.test").exception("it failed")
    finally:
        shutdown_logging(handlers)
        root.handlers[:], root.level = saved
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [set(line) for line in lines] == [
        {"time", "level", "logger", "message"},
        {"time", "level", "logger", "message", "exc_type", "exception"},
    ]
    assert lines[0]["message"] == "connected with [redacted]" and lines[0]["level"] == "INFO"
    assert lines[0]["time"].endswith("Z") and lines[0]["logger"] == "summitbot.test"
    assert lines[1]["exc_type"] == "RuntimeError" and "Traceback" in lines[1]["exception"]
    assert TOKEN not in stream.getvalue()


def test_text_format_redacts_too() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    handlers = configure_logging(LoggingSettings(format="text"), secrets=[], stream=stream)
    try:
        logging.getLogger("summitbot.test").warning("token-shaped %s", TOKEN)  # redacted by shape alone
    finally:
        shutdown_logging(handlers)
        root.handlers[:], root.level = saved
    (line,) = stream.getvalue().splitlines()
    assert line.endswith("WARNING  summitbot.test: token-shaped [redacted]")


def test_webhook_posts_a_rate_limited_summary(webhook: Webhook) -> None:
    handler = ErrorWebhook(webhook.url, min_interval=1.0, redact=Redactor([TOKEN]))
    logger = _logger("summitbot.test.webhook", handler)
    try:
        try:
            _raise(f"the token {TOKEN} leaked")
        except RuntimeError:
            logger.exception("unhandled error in on_message")
        logger.warning("not an error: not posted")
        webhook.wait_for(1)
        for i in range(12):  # a burst inside the interval: gathered into the next post
            logger.error("answer failed %d @everyone <https://evil.example>", i)
        webhook.wait_for(2)
    finally:
        handler.close()
    first, second = webhook.posts[:2]
    assert webhook.times[1] - webhook.times[0] >= 0.95, "at most one post per interval"
    assert first["allowed_mentions"] == {"parse": []}
    text = first["content"]
    assert text.startswith("summitbot: 1 error logged\n```\n") and text.endswith("\n```")
    assert "unhandled error in on_message — RuntimeError: the token [redacted] leaked" in text
    assert "(test_logs.py:" in text and "in _raise)" in text
    assert "Traceback" not in text
    assert second["content"].startswith("summitbot: 12 errors logged (4 more not shown)")
    assert second["content"].count("answer failed") == 8
    for post in webhook.posts:
        assert TOKEN not in json.dumps(post) and "secret-webhook-token" not in json.dumps(post)
        assert len(post["content"]) <= 2000


def test_webhook_waits_when_told_to_and_sends_what_is_left_on_close(webhook: Webhook) -> None:
    webhook.refuse = 1
    handler = ErrorWebhook(webhook.url, min_interval=60.0)
    logger = _logger("summitbot.test.webhook429", handler)
    try:
        logger.error("first")
        webhook.wait_for(1)  # refused once (429, retry_after 0.3 s), then delivered
        assert "first" in webhook.posts[0]["content"]
        logger.error("second")
        logger.error("third")
        time.sleep(0.3)
        assert len(webhook.posts) == 1, "held back by the one-post-a-minute limit"
    finally:
        started = time.monotonic()
        handler.close()  # sends what is pending at once, without waiting out the minute
    assert time.monotonic() - started < 5
    assert len(webhook.posts) == 2
    last = webhook.posts[1]["content"]
    assert last.startswith("summitbot: 2 errors logged") and "second" in last and "third" in last


def test_webhook_failure_is_a_warning_not_a_crash() -> None:
    handler = ErrorWebhook("http://127.0.0.1:9/api/webhooks/1/x", min_interval=0.1)
    logger = _logger("summitbot.test.webhookdown", handler)
    logger.error("nobody listens")
    deadline = time.monotonic() + 10
    while not handler.failures and time.monotonic() < deadline:
        time.sleep(0.02)
    handler.close()
    assert handler.failures == 1 and handler.posts == 0


def test_webhook_url_from_env_or_config(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("logging:\n  format: json\n  error_webhook: https://discord.com/api/webhooks/1/abc\n")
    settings = load_settings(config).logging
    assert webhook_url(settings, {}) == "https://discord.com/api/webhooks/1/abc"
    assert webhook_url(settings, {"SUMMITBOT_ERROR_WEBHOOK": "https://x/y"}) == "https://x/y"
    problems: list[str] = []
    config.write_text("logging:\n  format: xml\n  error_webhook: discord.com/hook\n")
    load_settings(config, problems)
    assert problems == [
        f"{config}: 'logging.format' must be text or json, not 'xml'",
        f"{config}: 'logging.error_webhook' must be an https:// (or http://) webhook URL, not 'discord.com/hook'",
    ]
