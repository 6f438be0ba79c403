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


def test_the_command_line_starts_without_the_engine() -> None:
    """``summitbot --help``, ``health`` and ``stats`` build no engine, so importing the command line
    and running ``health`` loads neither numpy (the index, the answering core) nor asyncio: a container's
    health check runs ``summitbot health`` every 30 s. The commands that answer import them when run."""
    heavy = ("numpy", "asyncio", "bot.engine", "bot.index_store", "bot.search", "bot.answering", "bot.corpus")
    code = (
        "import sys\nimport bot.cli\nloaded = [m for m in HEAVY if m in sys.modules]\n"
        "try:\n    bot.cli.main(['health'])\nexcept SystemExit:\n    pass\n"
        "print(loaded, [m for m in HEAVY if m in sys.modules])\n"
    ).replace("HEAVY", repr(heavy))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[] []", result.stdout
    ask = (
        "import sys\nimport bot.cli\nbot.cli.main(['ask', '--json', 'What is DeepSeek?'])\n"
        "print('numpy' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", ask], capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "True"  # the lazy imports do happen where needed
