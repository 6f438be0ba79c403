"""Running the real ``summitbot`` command in tests: a subprocess with a timeout (a regression fails
instead of hanging the suite), and the one-line error contract (exit 1, no traceback)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def summitbot(*args: str, cwd: Path = REPO, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m bot ARGS`` with a 30 s timeout: a hang is a failure, not a stuck suite."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("SUMMITBOT", "DISCORD"))}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, cwd=cwd, timeout=30, env=full_env
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """Assert exit 1 with no traceback; the stderr text."""
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    assert all(line.startswith("summitbot: ") for line in result.stderr.splitlines()), result.stderr
    return result.stderr
