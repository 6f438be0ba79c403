"""``summitbot init [DIR]``: a working folder with a commented config, the shipped corpus and an example ``.env``.

Nothing existing is ever overwritten: every clash is found first and reported, one line each, and
then nothing is written.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from bot.config import shipped_corpus_dir
from bot.messages import count

CONFIG_TEMPLATE = """\
# summitbot configuration, written by `summitbot init`. Relative paths are relative to this file's
# folder. Every key is optional (the README's Configuration table lists them all); an unknown key or a
# wrong type stops start-up with the key named. Check it with: summitbot check

corpus:
  path: corpus                 # folder of articles (.md with front matter, or .txt); aliases.yaml inside

discord:
  token_env: DISCORD_TOKEN     # the token is read from this environment variable (see .env), never from here
  # Ids: in Discord, User Settings → Advanced → Developer Mode on; then right-click a channel, role or
  # user → Copy ID.
  answer_channels: []          # channel ids where the bot answers every message (needs the Message
                               # Content intent, Developer Portal → Bot → Privileged Gateway Intents)
  admin_roles: []              # role ids with the admin commands (besides Manage Server)
  answer_in_thread: false      # answer in a new thread instead of a reply

analytics:
  enabled: true
  path: data/summitbot.sqlite3 # back it up with: summitbot backup PATH
  store_question_text: true    # false: record that a question was asked, not its words
  retention_days: 90           # rows older than this are purged (0 keeps everything)

logging:
  level: INFO
  format: text                 # text, or json (one object per line) for a log collector
  # error_webhook: https://discord.com/api/webhooks/...   # error summaries to a channel (better:
  #                                                       # SUMMITBOT_ERROR_WEBHOOK in .env)

health:
  status_file: data/summitbot.health.json   # kept fresh by the running bot; read by: summitbot health
  # listen: 127.0.0.1:8080     # also answer GET /health on this local address (200 healthy, 503 not)
"""

ENV_TEMPLATE = """\
# Environment for summitbot (keep this file private: chmod 600). Loaded by the systemd unit
# (EnvironmentFile=), by compose (env_file:), or by hand: set -a; . ./.env; set +a
#
# The bot token: Developer Portal → your application → Bot → Reset Token.
DISCORD_TOKEN=
# Optional: a secret salt for hashing user ids in the analytics (otherwise a random one is kept in
# data/summitbot.sqlite3.salt; keep either with your backups).
# SUMMITBOT_HASH_SALT=
# Optional: a Discord channel webhook URL that receives error summaries (never the token).
# SUMMITBOT_ERROR_WEBHOOK=
"""


class InitError(Exception):
    """The folder cannot be set up; ``problems`` are one-line messages."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(problems[0] if problems else "init failed")


@dataclass(frozen=True)
class InitResult:
    """What ``init`` wrote: the folder, the files, and how many articles the corpus got."""

    folder: Path
    written: tuple[Path, ...]
    articles: int


def _corpus_files(source: Path) -> list[Path]:
    """The shipped corpus files (articles and aliases), relative to ``source``, sorted."""
    keep = {".md", ".txt", ".yaml", ".yml"}
    return sorted(p.relative_to(source) for p in source.rglob("*") if p.is_file() and p.suffix in keep)


def plan(folder: Path, source: Path | None = None) -> tuple[list[tuple[Path, str | Path]], list[str]]:
    """The files ``init`` would write (target, template text or source file) and the clashes that stop it."""
    source = source or shipped_corpus_dir()
    problems: list[str] = []
    if folder.exists() and not folder.is_dir():
        return [], [f"{folder} exists and is not a folder"]
    if not source.is_dir():
        return [], [f"the shipped corpus is missing ({source}): reinstall summitbot"]
    targets: list[tuple[Path, str | Path]] = [
        (folder / "config.yaml", CONFIG_TEMPLATE),
        (folder / ".env", ENV_TEMPLATE),
    ]
    corpus = folder / "corpus"
    if corpus.is_dir() and any(corpus.iterdir()):
        problems.append(f"{corpus} already exists and is not empty; init adds articles only to a new corpus folder")
    elif corpus.exists() and not corpus.is_dir():
        problems.append(f"{corpus} exists and is not a folder")
    targets += [(corpus / rel, source / rel) for rel in _corpus_files(source)]
    for target, _ in targets[:2]:
        if target.exists() or target.is_symlink():
            problems.append(
                f"{target} already exists; init never overwrites a file (move it away or pick another folder)"
            )
    return targets, problems


def init_folder(folder: Path, source: Path | None = None) -> InitResult:
    """Write config.yaml, .env (mode 0600) and corpus/ into ``folder`` (created if needed).

    Raises :class:`InitError` listing every clash before writing anything, or naming the file that
    could not be written.
    """
    targets, problems = plan(folder, source)
    if problems:
        raise InitError(problems)
    written: list[Path] = []
    try:
        for target, content in targets:
            target.parent.mkdir(parents=True, exist_ok=True)
            mode = 0o600 if target.name == ".env" else 0o644
            # O_EXCL: a file that appeared since the check is still never overwritten.
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
            with os.fdopen(fd, "wb") as out:
                if isinstance(content, Path):
                    with content.open("rb") as src:
                        shutil.copyfileobj(src, out)
                else:
                    out.write(content.encode("utf-8"))
            written.append(target)
    except FileExistsError as exc:
        raise InitError([f"{exc.filename} already exists; init never overwrites a file"]) from None
    except OSError as exc:
        where = exc.filename or folder
        raise InitError([f"cannot write {where}: {exc.strerror or exc}"]) from None
    articles = sum(1 for t in written if t.suffix in (".md", ".txt"))
    return InitResult(folder, tuple(written), articles)


def next_steps(result: InitResult, shown: str) -> str:
    """What to do next, for the terminal (``shown``: the folder as the user typed it)."""
    cd = "" if shown in (".", "./") else f"  cd {shown}\n"
    return f"""\
Set up summitbot in {result.folder}:
  config.yaml   the settings, commented (every key is optional)
  corpus/       {count(result.articles, "shipped article")} and aliases.yaml: add your own .md/.txt articles here
  .env          the environment: put your bot token in it (mode 0600, keep it private)

Next steps:
{cd}  summitbot check                 # config and corpus are fine?
  summitbot ask "How many countries endorsed the Global AI Governance Initiative?"
  Put the bot token in .env (Developer Portal → your application → Bot → Reset Token), then:
  set -a; . ./.env; set +a
  summitbot invite                # open the printed link to add the bot to your server
  summitbot sync --guild ID       # publish the slash commands (server id: Developer Mode → Copy ID)
  summitbot run                   # or the systemd unit / the container (README: Deploy)
"""
