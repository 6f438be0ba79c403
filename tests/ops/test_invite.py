"""`summitbot invite`: the OAuth2 link, its exact permissions integer, and one-line errors."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import urllib.parse
from pathlib import Path

import discord

REPO = Path(__file__).resolve().parents[2]
APP_ID = 1234567890123456789
# A token-shaped value (not a real token): base64 of the id, a timestamp part, an HMAC part.
TOKEN = base64.b64encode(str(APP_ID).encode()).decode().rstrip("=") + ".GhIjKl.Abcdefghijklmnopqrstuvwxyz0123456789ABC"

# Discord's documented permission bits, written out here independently of the code under test.
EXPECTED_BITS = {
    "View Channels": 1 << 10,
    "Send Messages": 1 << 11,
    "Send Messages in Threads": 1 << 38,
    "Create Public Threads": 1 << 35,
    "Embed Links": 1 << 14,
    "Add Reactions": 1 << 6,
    "Read Message History": 1 << 16,
}


def invite(*args: str, token: str | None = TOKEN, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"}
    if token is not None:
        env["DISCORD_TOKEN"] = token
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-m", "bot", "invite", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def _url(stdout: str) -> urllib.parse.ParseResult:
    (line,) = [line.strip() for line in stdout.splitlines() if line.strip().startswith("https://")]
    return urllib.parse.urlparse(line)


def test_invite_from_the_token() -> None:
    result = invite()
    assert result.returncode == 0, result.stderr
    url = _url(result.stdout)
    assert (url.scheme, url.netloc, url.path) == ("https", "discord.com", "/oauth2/authorize")
    query = urllib.parse.parse_qs(url.query)
    assert query["client_id"] == [str(APP_ID)]
    assert query["scope"] == ["bot applications.commands"]
    expected = sum(EXPECTED_BITS.values())
    assert query["permissions"] == [str(expected)]
    assert f"integer {expected}" in result.stdout
    for name in EXPECTED_BITS:
        assert f"  {name} " in result.stdout, name
    # Nothing more than listed: the integer decodes to exactly these flags.
    granted = {flag for flag, on in discord.Permissions(expected) if on}
    assert granted == {flag for flag, on in discord.Permissions(int(query["permissions"][0])) if on}
    assert TOKEN not in result.stdout + result.stderr
    assert TOKEN.split(".")[0] not in result.stdout + result.stderr


def test_invite_with_client_id_and_guild_needs_no_token() -> None:
    result = invite("--client-id", "42", "--guild", "777", token=None)
    assert result.returncode == 0, result.stderr
    query = urllib.parse.parse_qs(_url(result.stdout).query)
    assert query["client_id"] == ["42"]
    assert query["guild_id"] == ["777"]
    assert query["disable_guild_select"] == ["true"]


def test_invite_errors_are_one_line() -> None:
    cases = [
        (invite(token=None), "no client id: set DISCORD_TOKEN"),
        (invite(token="not-a-token"), "does not hold an application id"),
        (invite(token="bm90IGFuIGlk.x.y"), "does not hold an application id"),  # base64 of "not an id"
    ]
    for result, expected in cases:
        assert result.returncode == 1
        (line,) = result.stderr.splitlines()
        assert line.startswith("summitbot: ") and expected in line, line
        assert "not-a-token" not in line
    bad = invite("--client-id", "abc", token=None)
    assert bad.returncode == 2 and "expected a Discord id" in bad.stderr
