"""The architecture's one direction of flow: the core never imports discord.py."""

from __future__ import annotations

import subprocess
import sys

CORE = ("config", "corpus", "analysis", "search", "answering", "sentences", "summaries", "engine", "storage", "cli")


def test_core_modules_import_nothing_from_discord() -> None:
    code = (
        "import sys\n"
        + "".join(f"import bot.{name}\n" for name in CORE)
        + "print(sorted(m for m in sys.modules if m == 'discord' or m.startswith('discord.')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
