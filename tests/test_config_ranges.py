"""Every config key checked (issue 11, items 6 and 9): a token pasted as ``discord.token_env`` is
refused without being echoed (``run``, ``sync``, ``check``); out-of-range numbers (``1e23`` bytes,
a million days, ``.inf``, ``1e308``, ``shard_ids: []``) are one-line errors, never tracebacks."""

from __future__ import annotations

import dataclasses
import os
import typing
from pathlib import Path

import pytest
from cli_harness import one_line_error, summitbot

from bot import config as config_module

TOKEN = "MTEyMzQ1Njc4OTAxMjM0NTY3OA.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456"


# ---------------------------------------------------------------------------- 6: token_env


@pytest.mark.parametrize("command", ["run", "sync", "check"])
def test_a_token_pasted_as_token_env_is_refused_without_echo(tmp_path: Path, command: str) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"discord:\n  token_env: {TOKEN}\n", encoding="utf-8")
    result = summitbot(command, "--config", str(config), env={TOKEN.split(".")[0][:8]: "x"})
    err = one_line_error(result)
    assert "discord.token_env" in err and "environment variable" in err
    assert TOKEN not in result.stdout + result.stderr
    assert "MTEy" not in result.stdout + result.stderr


# ------------------------------------------------------------------------ 9: config ranges


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("corpus:\n  max_file_bytes: 1e23\n", "corpus.max_file_bytes"),
        ("corpus:\n  max_file_bytes: 100000000000000000000000\n", "corpus.max_file_bytes"),
        ("analytics:\n  retention_days: 1000000\n", "analytics.retention_days"),
        ("discord:\n  cooldown_seconds: .inf\n", "discord.cooldown_seconds"),
        ("discord:\n  cooldown_seconds: .nan\n", "discord.cooldown_seconds"),
        ("search:\n  k1: 1e308\n", "search.k1"),
        ("search:\n  k1: " + "9" * 400 + "\n", "search.k1"),
        ("discord:\n  shard_count: 2\n  shard_ids: []\n", "discord.shard_ids"),
        ("discord:\n  shard_count: 2\n  shard_ids: [0, 0]\n", "discord.shard_ids"),
        ("discord:\n  admin_users: [0]\n", "discord.admin_users"),
        ("discord:\n  api_url: ftp://example.org\n", "discord.api_url"),
        ("discord:\n  gateway_url: https://example.org\n", "discord.gateway_url"),
        # The config's URLs go through the one URL check (bot.urls.url_problem) with their schemes:
        ("discord:\n  api_url: https://example.org:99999/api\n", "discord.api_url"),
        ("discord:\n  api_url: https://user:secret@example.org/api\n", "discord.api_url"),
        ("discord:\n  gateway_url: 'wss://gateway.example.org/<x>'\n", "discord.gateway_url"),
        ("discord:\n  gateway_url: wss://bad..host/\n", "discord.gateway_url"),
        ("logging:\n  error_webhook: 'https://discord.com/api/webhooks/1/a`b'\n", "logging.error_webhook"),
        ("corpus:\n  reload_timeout_seconds: 0\n", "corpus.reload_timeout_seconds"),
        ("summaries:\n  long_words: 10000000\n", "summaries.long_words"),
    ],
)
def test_out_of_range_config_values_are_one_line_errors(tmp_path: Path, text: str, key: str) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(text, encoding="utf-8")
    err = one_line_error(summitbot("check", "--config", str(config)))
    first = err.strip().splitlines()[0]
    assert first.startswith("summitbot: config error:") and f"'{key}'" in first, err
    assert len(first) < 300


def test_k1_written_1e3_style_is_read_as_a_number() -> None:
    """PyYAML reads "2e0" as text; the config reads it as the number it is (YAML 1.2)."""
    assert config_module.parse_settings("search:\n  k1: 2e0\n").search.k1 == 2.0


def test_stats_purge_with_a_huge_retention_is_refused_not_an_overflow(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("analytics:\n  path: a.sqlite3\n  retention_days: 1000000\n", encoding="utf-8")
    err = one_line_error(summitbot("stats", "--purge", "--config", str(config)))
    assert "OverflowError" not in err and "analytics.retention_days" in err


def test_every_config_key_has_a_check() -> None:
    """A new key without a range or validator fails here: say what its value must be."""

    settings = config_module.Settings()
    keys = {
        f"{section.name}.{f.name}"
        for section in dataclasses.fields(settings)
        if dataclasses.is_dataclass(typing.get_type_hints(config_module.Settings)[section.name])
        for f in dataclasses.fields(getattr(settings, section.name))
    }
    assert keys - set(config_module.check_names()) == set()


@pytest.mark.parametrize(
    "args",
    [
        ("stats", "--days", "99999999999"),
        ("ask", "--top-k", "99999999999999999999", "question"),
        ("summary", "--max-words", "99999999999999"),
        ("sync", "--guild", "99999999999999999999999999"),
        ("stats", "--days", "0"),
    ],
)
def test_out_of_range_numbers_on_the_command_line_are_usage_errors(args: tuple[str, ...]) -> None:
    """A huge --days used to end `stats` in an OverflowError traceback."""
    result = summitbot(*args)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "expected a whole number from 1 to" in result.stderr


def test_a_fifo_or_dev_zero_as_config_is_refused_not_a_hang(tmp_path: Path) -> None:
    """`check --config` on a FIFO used to wait forever; on a link to /dev/zero, to fill memory."""
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.yaml"
    zero.symlink_to("/dev/zero")
    for config in (fifo, zero):
        err = one_line_error(summitbot("check", "--config", str(config)))
        assert f"{config}: not a regular file: refused" in err, err
    big = tmp_path / "big.yaml"
    big.write_text("# padding\n" * 200_000, encoding="utf-8")
    assert "byte cap for a config file" in one_line_error(summitbot("check", "--config", str(big)))
