"""The operations subcommands of ``summitbot``: init, invite, health (backup and restore join them).

``bot.cli.build_parser`` calls :func:`add_subcommands`; each command reports problems as one-line
:class:`bot.cli.CliError` messages, like every other subcommand.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from bot.cli import CliError, _settings


def cmd_init(args: argparse.Namespace) -> int:
    """Write a working folder: commented config.yaml, corpus/ with the shipped articles, an example .env."""
    from bot.ops.init_folder import InitError, init_folder, next_steps

    folder = Path(args.dir)
    try:
        result = init_folder(folder.resolve() if folder.exists() else folder.absolute())
    except InitError as exc:
        raise CliError(*exc.problems) from None
    print(next_steps(result, args.dir))
    return 0


def cmd_invite(args: argparse.Namespace) -> int:
    """Print the OAuth2 link that adds the bot with the permissions it uses, and those permissions."""
    from bot.ops.invite import InviteError, build_invite, client_id_from_token, format_invite

    client_id = args.client_id
    if client_id is None:
        settings = _settings(args)
        env = settings.discord.token_env
        token = os.environ.get(env, "").strip()
        if not token:
            raise CliError(
                f"no client id: set {env} to the bot token, or pass --client-id ID "
                "(Developer Portal → General Information → Application ID)"
            )
        try:
            client_id = client_id_from_token(token)
        except InviteError:
            raise CliError(
                f"the token in {env} does not hold an application id (is it a bot token?); pass --client-id ID"
            ) from None
    try:
        invite = build_invite(client_id, args.guild)
    except InviteError as exc:
        raise CliError(str(exc)) from None
    print(format_invite(invite))
    return 0


def cmd_health(args: argparse.Namespace) -> int:
    """Read the running bot's status file; print one line; exit 0 when healthy, 1 when not."""
    from bot.ops.health import check

    settings = _settings(args)
    verdict = check(settings.health.status_file, settings.health.stale_seconds)
    print(verdict.line)
    return 0 if verdict.healthy else 1


def _snowflake(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 2**64:
        raise argparse.ArgumentTypeError(f"expected a Discord id (digits), not {text!r}")
    return int(text)


def add_subcommands(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add init, invite and health to the ``summitbot`` subparsers ``sub``."""
    init = sub.add_parser("init", help="set up a folder: config.yaml, corpus/, an example .env")
    init.add_argument("dir", nargs="?", default=".", metavar="DIR", help="the folder (default: here)")
    init.set_defaults(func=cmd_init)

    invite = sub.add_parser("invite", parents=[common], help="print the link that adds the bot to a server")
    invite.add_argument("--client-id", type=_snowflake, metavar="ID", help="application id (default: from the token)")
    invite.add_argument("--guild", type=_snowflake, metavar="ID", help="preselect this server")
    invite.set_defaults(func=cmd_invite)

    health = sub.add_parser("health", parents=[common], help="is the running bot healthy? (exit 0 yes, 1 no)")
    health.set_defaults(func=cmd_health)
