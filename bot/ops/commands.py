"""The operations subcommands of ``summitbot``: init, invite, health, backup, restore.

``bot.cli.build_parser`` calls :func:`add_subcommands` and hands over its error class and settings
loader (this module does not import ``bot.cli``: no import cycle), so each command reports problems as
one-line ``CliError`` messages, like every other subcommand.
"""

from __future__ import annotations

import argparse
import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from bot.config import Settings


class Cli(NamedTuple):
    """What the commands need from ``bot.cli``: its one-line error and its settings loader."""

    error: type[Exception]  # raised with one line per problem (exit 1)
    settings: Callable[[argparse.Namespace], Settings]  # --config / ./config.yaml / defaults


def cmd_init(cli: Cli, args: argparse.Namespace) -> int:
    """Write a working folder: commented config.yaml, corpus/ with the shipped articles, an example .env."""
    from bot.ops.init_folder import InitError, init_folder, next_steps

    folder = Path(args.dir)
    try:
        result = init_folder(folder.resolve() if folder.exists() else folder.absolute())
    except InitError as exc:
        raise cli.error(*exc.problems) from None
    print(next_steps(result, args.dir))
    return 0


def cmd_invite(cli: Cli, args: argparse.Namespace) -> int:
    """Print the OAuth2 link that adds the bot with the permissions it uses, and those permissions."""
    from bot.ops.invite import InviteError, build_invite, client_id_from_token, format_invite

    client_id = args.client_id
    if client_id is None:
        settings = cli.settings(args)
        env = settings.discord.token_env
        token = os.environ.get(env, "").strip()
        if not token:
            raise cli.error(
                f"no client id: set {env} to the bot token, or pass --client-id ID "
                "(Developer Portal → General Information → Application ID)"
            )
        try:
            client_id = client_id_from_token(token)
        except InviteError:
            raise cli.error(
                f"the token in {env} does not hold an application id (is it a bot token?); pass --client-id ID"
            ) from None
    try:
        invite = build_invite(client_id, args.guild)
    except InviteError as exc:
        raise cli.error(str(exc)) from None
    print(format_invite(invite))
    return 0


def cmd_health(cli: Cli, args: argparse.Namespace) -> int:
    """Read the running bot's status file; print one line; exit 0 when healthy, 1 when not."""
    from bot.ops.health import check

    settings = cli.settings(args)
    verdict = check(settings.health.status_file, settings.health.stale_seconds)
    print(verdict.line)
    return 0 if verdict.healthy else 1


def _sqlite_only(cli: Cli, settings: Any, verb: str) -> None:
    from bot.ops.dblock import postgres_url

    if postgres_url(settings):
        tool = "pg_dump -Fc" if verb == "backup" else "pg_restore"
        raise cli.error(
            f"the database is PostgreSQL (database.url): {verb} it with {tool}; summitbot {verb} handles SQLite only"
        )


def cmd_backup(cli: Cli, args: argparse.Namespace) -> int:
    """A consistent copy of the analytics database (SQLite backup API) and its salt, mode 0600."""
    from bot.ops.backup import BackupError, backup

    settings = cli.settings(args)
    _sqlite_only(cli, settings, "backup")
    env = settings.analytics.salt_env
    salt_from_env = bool(env and os.environ.get(env, ""))
    try:
        copied = backup(settings.analytics.path, Path(args.path), salt_from_env)
    except BackupError as exc:
        raise cli.error(str(exc)) from None
    line = f"Backed up {copied.questions} questions to {copied.database} (mode 0600)"
    if copied.salt is not None:
        line += f", and the hashing salt to {copied.salt}."
    elif salt_from_env:
        line += f"; the hashing salt is in ${env}: keep it with the backup."
    else:
        line += "; there is no salt file yet."
    print(line)
    return 0


def cmd_restore(cli: Cli, args: argparse.Namespace) -> int:
    """Put a backup in place of the analytics database; refuses while a running bot holds it."""
    from bot.ops.backup import BackupError, restore

    settings = cli.settings(args)
    _sqlite_only(cli, settings, "restore")
    try:
        copied = restore(Path(args.path), settings.analytics.path)
    except BackupError as exc:
        raise cli.error(str(exc)) from None
    print(f"Restored {copied.questions} questions from {args.path} into {copied.database}.")
    env = settings.analytics.salt_env
    if copied.salt is not None:
        print(f"The hashing salt came with it ({copied.salt}).")
    elif not (env and os.environ.get(env, "")):
        print("No salt file beside the backup: people who voted before will count as new voters.")
    if copied.kept is not None:
        print(f"The database it replaced is kept as {copied.kept}.")
    return 0


def _snowflake(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 2**64:
        raise argparse.ArgumentTypeError(f"expected a Discord id (digits), not {text!r}")
    return int(text)


def add_subcommands(
    sub: Any,
    common: argparse.ArgumentParser,
    error: type[Exception],
    settings: Callable[[argparse.Namespace], Settings],
) -> None:
    """Add init, invite, health, backup and restore to the ``summitbot`` subparsers ``sub``
    (``error`` and ``settings``: see :class:`Cli`)."""
    cli = Cli(error, settings)
    init = sub.add_parser("init", help="set up a folder: config.yaml, corpus/, an example .env")
    init.add_argument("dir", nargs="?", default=".", metavar="DIR", help="the folder (default: here)")
    init.set_defaults(func=functools.partial(cmd_init, cli))

    invite = sub.add_parser("invite", parents=[common], help="print the link that adds the bot to a server")
    invite.add_argument("--client-id", type=_snowflake, metavar="ID", help="application id (default: from the token)")
    invite.add_argument("--guild", type=_snowflake, metavar="ID", help="preselect this server")
    invite.set_defaults(func=functools.partial(cmd_invite, cli))

    health = sub.add_parser("health", parents=[common], help="is the running bot healthy? (exit 0 yes, 1 no)")
    health.set_defaults(func=functools.partial(cmd_health, cli))

    backup = sub.add_parser("backup", parents=[common], help="copy the analytics database and its salt")
    backup.add_argument("path", metavar="PATH", help="the backup file (or a folder for a dated file)")
    backup.set_defaults(func=functools.partial(cmd_backup, cli))

    restore = sub.add_parser("restore", parents=[common], help="put a backup in place (the bot must be stopped)")
    restore.add_argument("path", metavar="PATH", help="a file written by summitbot backup")
    restore.set_defaults(func=functools.partial(cmd_restore, cli))
