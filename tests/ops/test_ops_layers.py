"""The operator's modules stay light: everything in bot/ops but the invite link imports nothing from
discord.py (``summitbot health`` runs every 30 s in a container's health check)."""

from __future__ import annotations

import subprocess
import sys

OPS = ("ops", "ops.health", "ops.logs", "ops.backup", "ops.dblock", "ops.init_folder", "ops.commands")


def test_ops_modules_import_nothing_from_discord() -> None:
    code = (
        "import sys\n"
        + "".join(f"import bot.{name}\n" for name in OPS)
        + "print(sorted(m for m in sys.modules if m == 'discord' or m.startswith('discord.')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_health_command_does_not_load_discord() -> None:
    code = (
        "import sys\nfrom bot.cli import main\ntry:\n    main(['health'])\nexcept SystemExit:\n    pass\n"
        "print('discord' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip().splitlines()[-1] == "False"
