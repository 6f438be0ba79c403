"""Typed settings loaded from config.yaml.

Every key is checked: an unknown key, a wrong type or an out-of-range value is a
:class:`ConfigError` that names the file and the dotted key, so a typo never passes silently.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import stat
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot import safe_yaml
from bot.urls import url_problem


class ConfigError(ValueError):
    """A config file that cannot be used. ``problems`` lists every problem found, each naming the
    file and the key; the message is the first (and how many more)."""

    def __init__(self, problems: str | list[str]) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        more = f" (and {len(self.problems) - 1} more problems)" if len(self.problems) > 1 else ""
        super().__init__(self.problems[0] + more)


@dataclass(frozen=True)
class CorpusSettings:
    """Where the articles are and how big one may be."""

    path: Path = Path("corpus")
    aliases: Path | None = None  # default: <corpus path>/aliases.yaml when it exists
    probes: Path | None = None  # default: <corpus path>/probes.yaml (checked when it exists)
    max_file_bytes: int = 2_000_000
    max_files: int = 200_000
    # A /reload that has not finished after this long is given up (the old corpus stays).
    reload_timeout_seconds: float = 300.0
    # `summitbot import` and `/corpus add`: cap on a fetched page or an uploaded file, fetch timeout,
    # and whether pages on loopback/private/link-local/multicast addresses may be fetched.
    import_max_bytes: int = 5_000_000
    import_timeout_seconds: float = 20.0
    fetch_private_addresses: bool = False


@dataclass(frozen=True)
class SearchSettings:
    """BM25 parameters (rank-bm25 ``BM25Okapi`` semantics) and how many passages to return."""

    k1: float = 1.2
    b: float = 0.75
    epsilon: float = 0.25
    top_k: int = 3
    # Folder for the saved index (memory-mapped at start, rebuilt when stale); None: no saved index.
    index_cache: Path | None = None


@dataclass(frozen=True)
class AnswerSettings:
    """When to answer, when to show the closest passage instead, and when a second or third passage
    is close enough to show (see :mod:`bot.answering.verdict`)."""

    # Answer when the calibrated confidence of the best passage reaches this value (0..1).
    min_confidence: float = 0.5
    # Below min_confidence but at least this: show the closest passage under a "not sure" label;
    # below this: "That's not in my sources". At most min_confidence.
    min_related: float = 0.1
    # Show extra passages only when their score is at least this fraction of the best score.
    related_ratio: float = 0.8
    max_question_chars: int = 500


@dataclass(frozen=True)
class SummarySettings:
    """Word budgets for the three summary lengths."""

    short_words: int = 60
    medium_words: int = 120
    long_words: int = 250


@dataclass(frozen=True)
class DiscordSettings:
    """How the bot connects to Discord and where it answers."""

    token_env: str = "DISCORD_TOKEN"
    api_url: str = "https://discord.com/api/v10"
    gateway_url: str = "wss://gateway.discord.gg/"
    answer_channels: tuple[int, ...] = ()
    # Forum channels: the bot answers the first message of each new post (title + body), once.
    forum_channels: tuple[int, ...] = ()
    answer_in_thread: bool = False
    # In answer channels (no mention): post "not in my sources" (else stay quiet), and the reaction
    # put on a question it could not answer ("" for none).
    post_not_found: bool = False
    quiet_reaction: str = ""
    # Request the privileged Message Content intent: null = only when answer or forum channels are
    # configured here; true lets servers add answer channels with /settings at run time.
    message_content: bool | None = None
    # Operators run the bot (besides the application's owner/team): /reload, corpus editing.
    operator_users: tuple[int, ...] = ()
    operator_roles: tuple[int, ...] = ()
    # Server admins (besides Manage Server): the default for each server's own admin roles.
    admin_roles: tuple[int, ...] = ()
    cooldown_seconds: float = 5.0
    cooldown_questions: int = 3
    dev_guild_id: int | None = None
    shard_count: int | None = None
    shard_ids: tuple[int, ...] | None = None
    guild_ready_timeout: float = 2.0


@dataclass(frozen=True)
class AnalyticsSettings:
    """The SQLite file that records questions and feedback."""

    enabled: bool = True
    path: Path = Path("data/summitbot.sqlite3")
    store_question_text: bool = True
    retention_days: int = 90
    salt_env: str = "SUMMITBOT_HASH_SALT"


@dataclass(frozen=True)
class DatabaseSettings:
    """Where analytics, votes, per-server settings and the corpus generation live.

    No URL: the SQLite file ``analytics.path`` (processes on one host share it). A ``postgresql://``
    URL (from the environment variable ``url_env``, or ``url``) shares them between hosts.
    """

    url: str | None = None
    url_env: str = "SUMMITBOT_DATABASE_URL"
    # How often each process looks for a reload or a settings change made by another one.
    poll_seconds: float = 2.0


@dataclass(frozen=True)
class LoggingSettings:
    """Log level and format for the bot and discord.py; an optional webhook for error summaries."""

    level: str = "INFO"
    # discord.py logs every gateway payload at DEBUG (message text, user ids, interaction tokens):
    # dropped unless this is true.
    discord_payloads: bool = False
    format: str = "text"  # text | json (one JSON object per line, stable fields)
    # A Discord channel webhook URL that receives rate-limited error summaries (the environment
    # variable named by error_webhook_env, when set, takes precedence: the URL is a secret).
    error_webhook: str | None = None
    error_webhook_env: str = "SUMMITBOT_ERROR_WEBHOOK"
    error_webhook_seconds: float = 60.0  # at most one post per this many seconds


@dataclass(frozen=True)
class HealthSettings:
    """The status file the running bot keeps for ``summitbot health``; an optional local HTTP check."""

    status_file: Path = Path("data/summitbot.health.json")
    interval_seconds: float = 15.0  # written at least this often while the bot runs
    stale_seconds: float = 90.0  # a status older than this means unhealthy
    listen: str | None = None  # e.g. "127.0.0.1:8080": GET /health answers 200 or 503


@dataclass(frozen=True)
class SemanticSettings:
    """Optional semantic evidence (see :mod:`bot.semantic`): off while ``model`` is null."""

    model: Path | None = None  # a static-embedding model file (.npz); null = off
    cache: Path = Path("data/semantic-cache")  # passage vectors, keyed by model and passage text
    # reranked score + rerank_weight x cosine over the best 10 candidates (0 = no semantic rerank)
    rerank_weight: float = 1.0
    # true: the confidence model that reads the cosines (bot.answering.SEMANTIC_MODEL); false (the
    # default, as it measured no better held out): the lexical one, the extra only reranks
    confidence: bool = False


@dataclass(frozen=True)
class Settings:
    """All settings; ``source`` is the file they came from (None for built-in defaults)."""

    corpus: CorpusSettings = field(default_factory=CorpusSettings)
    search: SearchSettings = field(default_factory=SearchSettings)
    answers: AnswerSettings = field(default_factory=AnswerSettings)
    summaries: SummarySettings = field(default_factory=SummarySettings)
    discord: DiscordSettings = field(default_factory=DiscordSettings)
    analytics: AnalyticsSettings = field(default_factory=AnalyticsSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)
    health: HealthSettings = field(default_factory=HealthSettings)
    semantic: SemanticSettings = field(default_factory=SemanticSettings)
    source: Path | None = None

    def database_url(self, environ: typing.Mapping[str, str] | None = None) -> str | None:
        """The PostgreSQL URL in use: the environment variable ``database.url_env`` when set, else
        ``database.url``; None for the SQLite file."""
        env = os.environ if environ is None else environ
        from_env = env.get(self.database.url_env, "").strip() if self.database.url_env else ""
        return from_env or self.database.url

    @property
    def aliases_path(self) -> Path:
        """The alias file: configured, or ``aliases.yaml`` in the corpus folder."""
        return self.corpus.aliases or self.corpus.path / "aliases.yaml"

    @property
    def probes_path(self) -> Path:
        """The probe file: configured, or ``probes.yaml`` in the corpus folder."""
        return self.corpus.probes or self.corpus.path / "probes.yaml"


_LOG_LEVELS = {"CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"}
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
#: Discord ids (snowflakes) are positive 64-bit integers.
_SNOWFLAKE_MAX = 2**63 - 1


def _between(low: float, high: float) -> typing.Callable[[Any], bool]:
    """A range check; NaN and infinities fail it (every comparison with NaN is false)."""
    return lambda v: low <= v <= high and math.isfinite(v)


def _url(*schemes: str) -> typing.Callable[[Any], bool]:
    """A URL check with these schemes: :func:`bot.urls.url_problem`, the one every URL goes through."""
    return lambda value: url_problem(value, schemes, ipv6=True) is None


def _snowflakes(value: Any) -> bool:
    items = value if isinstance(value, tuple) else (value,)
    return all(1 <= v <= _SNOWFLAKE_MAX for v in items)


def _path(value: Any) -> bool:
    return "\x00" not in str(value) and len(str(value)) <= 4096


def _always(_value: Any) -> bool:
    return True


# Every key's check: dotted key -> (predicate on the typed value, what the value must be).
# Numbers have a sane range (a 1e23-byte cap, a million-day retention or an infinite cooldown are
# refused here, not met as an OverflowError later). Keys named in _SECRET are never echoed.
_CHECKS: dict[str, tuple[typing.Callable[[Any], bool], str]] = {
    "corpus.path": (_path, "a path"),
    "corpus.aliases": (_path, "a path"),
    "corpus.probes": (_path, "a path"),
    "corpus.max_file_bytes": (_between(1, 1_000_000_000), "a number of bytes from 1 to 1,000,000,000"),
    "corpus.max_files": (_between(1, 10_000_000), "a whole number from 1 to 10,000,000"),
    "corpus.reload_timeout_seconds": (_between(1, 86_400), "a number of seconds from 1 to 86,400"),
    "search.k1": (_between(0, 10), "a number from 0 to 10"),
    "search.b": (_between(0, 1), "a number from 0 to 1"),
    "search.epsilon": (_between(0, 10), "a number from 0 to 10"),
    "search.top_k": (_between(1, 25), "a whole number from 1 to 25"),
    "search.index_cache": (lambda v: _path(v) and not v.is_file(), "a folder path (not an existing file) or null"),
    "answers.min_confidence": (_between(0, 1), "a number from 0 to 1"),
    "answers.min_related": (_between(0, 1), "a number from 0 to 1"),
    "answers.related_ratio": (_between(0, 1), "a number from 0 to 1"),
    "answers.max_question_chars": (_between(1, 4000), "a whole number from 1 to 4000"),
    "summaries.short_words": (_between(1, 5000), "a whole number of words from 1 to 5000"),
    "summaries.medium_words": (_between(1, 5000), "a whole number of words from 1 to 5000"),
    "summaries.long_words": (_between(1, 5000), "a whole number of words from 1 to 5000"),
    "discord.token_env": (
        lambda v: bool(_ENV_NAME.match(v)),
        "the name of an environment variable (letters, digits and _, not starting with a digit); "
        "the value is not shown in case it is the token itself",
    ),
    "discord.api_url": (_url("http", "https"), "an http:// or https:// URL with a host"),
    "discord.gateway_url": (_url("ws", "wss"), "a ws:// or wss:// URL with a host"),
    "discord.answer_channels": (_snowflakes, "a list of Discord ids (positive whole numbers)"),
    "discord.answer_in_thread": (_always, "true or false"),
    "discord.admin_roles": (_snowflakes, "a list of Discord ids (positive whole numbers)"),
    "discord.cooldown_seconds": (_between(0, 86_400), "a number of seconds from 0 to 86,400"),
    "discord.cooldown_questions": (_between(1, 10_000), "a whole number from 1 to 10,000"),
    "discord.dev_guild_id": (_snowflakes, "a Discord id (a positive whole number)"),
    "discord.shard_count": (_between(1, 100_000), "a whole number from 1 to 100,000"),
    "discord.shard_ids": (
        lambda v: len(v) > 0 and len(set(v)) == len(v) and all(0 <= s <= 100_000 for s in v),
        "a non-empty list of different shard numbers",
    ),
    "discord.guild_ready_timeout": (_between(0, 600), "a number of seconds from 0 to 600"),
    "analytics.enabled": (_always, "true or false"),
    "analytics.path": (_path, "a path"),
    "analytics.store_question_text": (_always, "true or false"),
    "analytics.retention_days": (_between(0, 36_500), "a number of days from 0 to 36,500 (0 keeps everything)"),
    "analytics.salt_env": (
        lambda v: bool(_ENV_NAME.match(v)),
        "the name of an environment variable (letters, digits and _, not starting with a digit); "
        "the value is not shown in case it is the salt itself",
    ),
    "logging.level": (lambda v: v.upper() in _LOG_LEVELS, "one of " + ", ".join(sorted(_LOG_LEVELS))),
    "logging.discord_payloads": (_always, "true or false"),
    "corpus.import_max_bytes": (_between(1_000, 100_000_000), "a number of bytes from 1,000 to 100,000,000"),
    "corpus.import_timeout_seconds": (lambda v: 0 < v <= 300, "a number of seconds above 0, at most 300"),
    "corpus.fetch_private_addresses": (_always, "true or false"),
    "discord.operator_users": (_snowflakes, "a list of Discord ids (positive whole numbers)"),
    "discord.operator_roles": (_snowflakes, "a list of Discord ids (positive whole numbers)"),
    "logging.format": (lambda v: v in ("text", "json"), "text or json"),
    "logging.error_webhook": (_url("https", "http"), "an https:// (or http://) webhook URL"),
    "logging.error_webhook_env": (
        lambda v: bool(_ENV_NAME.match(v)),
        "the name of an environment variable (letters, digits and _, not starting with a digit); "
        "the value is not shown in case it is the webhook URL itself",
    ),
    "logging.error_webhook_seconds": (_between(1, 86_400), "a number of seconds from 1 to 86,400"),
    "health.status_file": (_path, "a path"),
    "health.interval_seconds": (_between(1, 3600), "a number of seconds from 1 to 3600"),
    "health.stale_seconds": (_between(2, 86_400), "a number of seconds from 2 to 86,400"),
    "health.listen": (lambda v: _host_port(v) is not None, "HOST:PORT, e.g. 127.0.0.1:8080"),
    "discord.forum_channels": (_snowflakes, "a list of Discord ids (positive whole numbers)"),
    "discord.post_not_found": (_always, "true or false"),
    "discord.quiet_reaction": (lambda v: is_reaction(v), 'one emoji, or "" for none'),
    "discord.message_content": (_always, "true, false or null"),
    "database.url": (
        lambda v: v.split("://", 1)[0].lower() in ("postgresql", "postgres"),
        "a postgresql:// URL (or null for the SQLite file analytics.path)",
    ),
    "database.url_env": (
        lambda v: v == "" or bool(_ENV_NAME.match(v)),
        'the name of an environment variable (letters, digits and _, not starting with a digit), or ""',
    ),
    "database.poll_seconds": (_between(0.1, 3600), "a number of seconds from 0.1 to 3600"),
    "semantic.model": (_path, "a path to a model file, or null"),
    "semantic.cache": (_path, "a path"),
    "semantic.rerank_weight": (_between(0, 100), "a number from 0 to 100"),
    "semantic.confidence": (_always, "true or false"),
}
#: Keys whose value may be a secret pasted in the wrong place: errors never quote them.
_SECRET = frozenset({"discord.token_env", "analytics.salt_env", "logging.error_webhook_env"})
#: A YAML 1.2 number that PyYAML (YAML 1.1) reads as text: "1e308", "5e-3" (no dot before the e).
_NUMBER_TEXT = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+$")


def check_names() -> dict[str, str]:
    """Every dotted key that has a check, with what its value must be (for tests and docs)."""
    return {key: what for key, (_, what) in _CHECKS.items()}


def _not(value: Any, key: str) -> str:
    """ ", not <value>" for an error message: the value elided and short, or nothing for secrets."""
    base = re.sub(r"\[\d+\]$", "", key)
    return "" if base in _SECRET else f", not {safe_yaml.quote(value)}"


def _host_port(text: str) -> tuple[str, int] | None:
    """``"127.0.0.1:8080"`` → ``("127.0.0.1", 8080)``; None when it is not HOST:PORT."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    return host, int(port)


_CUSTOM_EMOJI = re.compile(r"<a?:\w{2,32}:\d{15,21}>")


def is_reaction(text: str) -> bool:
    """Whether ``text`` can be a reaction the bot adds and shows: empty (none), a custom emoji
    ``<:name:id>``, or up to 16 non-ASCII characters (a Unicode emoji with its joiners); never text
    that could carry a mention, a link or formatting."""
    if not text:
        return True
    if _CUSTOM_EMOJI.fullmatch(text):
        return True
    return len(text) <= 16 and all(ord(c) > 127 and not c.isspace() and not c.isalnum() for c in text)


#: Keys renamed since earlier versions: old dotted key -> new one (named in the error).
_RENAMED = {"discord.admin_users": "discord.operator_users"}


def _type_name(tp: Any) -> str:
    names = {int: "a whole number", float: "a number", bool: "true or false", str: "a string", Path: "a path"}
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return " or ".join("null" if a is type(None) else _type_name(a) for a in typing.get_args(tp))
    if origin is tuple:
        return f"a list of {_type_name(typing.get_args(tp)[0]).removeprefix('a ')}s"
    return names.get(tp, getattr(tp, "__name__", str(tp)))


def _coerce(value: Any, tp: Any, key: str, where: str) -> Any:
    """Check ``value`` against the annotation ``tp`` and convert it (paths, tuples)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, key, where)
            except ConfigError:
                continue
        raise ConfigError(f"{where}: '{key}' must be {_type_name(tp)}{_not(value, key)}")
    if origin is tuple:
        if not isinstance(value, list):
            raise ConfigError(f"{where}: '{key}' must be {_type_name(tp)}{_not(value, key)}")
        (item_tp, _) = typing.get_args(tp)
        return tuple(_coerce(v, item_tp, f"{key}[{i}]", where) for i, v in enumerate(value))
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, str) and _NUMBER_TEXT.match(value.strip()):
            value = float(value)  # PyYAML reads "1e308" as text; YAML 1.2 and people read a number
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                return float(value)
            except OverflowError:  # an integer too large for a float
                return math.inf
    elif tp is str:
        if isinstance(value, str):
            return value
    elif tp is Path:
        if isinstance(value, str) and value.strip():
            return Path(value)
    raise ConfigError(f"{where}: '{key}' must be {_type_name(tp)}{_not(value, key)}")


def _build(cls: type, raw: Any, prefix: str, where: str, problems: list[str]) -> Any:
    """Build dataclass ``cls`` from ``raw``; each bad key is reported in ``problems`` and left at its default."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        problems.append(f"{where}: '{prefix or 'the file'}' must be a mapping of keys, not {safe_yaml.quote(raw)}")
        return cls()
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls) if f.name != "source"}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if key not in fields and dotted in _RENAMED:
            problems.append(f"{where}: '{dotted}' is now '{_RENAMED[dotted]}'; rename the key")
            continue
        if key not in fields:
            dotted = f"{prefix}.{str(key)[:40]}" if prefix else str(key)[:40]
            known = ", ".join(sorted(fields))
            problems.append(f"{where}: unknown key '{dotted}' (known keys here: {known})")
            continue
        tp = hints[key]
        if dataclasses.is_dataclass(tp):
            values[key] = _build(tp, value, dotted, where, problems)
            continue
        try:
            coerced = _coerce(value, tp, dotted, where)
        except ConfigError as exc:
            problems.extend(exc.problems)
            continue
        check = _CHECKS.get(dotted)
        if check and coerced is not None and not check[0](coerced):
            problems.append(f"{where}: '{dotted}' must be {check[1]}{_not(value, dotted)}")
            continue
        values[key] = coerced
    return cls(**values)


def parse_settings(
    text: str, where: str = "config.yaml", base_dir: Path | None = None, problems: list[str] | None = None
) -> Settings:
    """Parse YAML text into :class:`Settings`; relative paths are resolved against ``base_dir``.

    Every problem is found. Without ``problems`` they are raised together as one
    :class:`ConfigError`; with a list, they are appended to it and the settings returned use the
    defaults for the bad keys (for ``summitbot check``, which goes on to check the corpus).
    """
    found: list[str] = []
    settings = _parse(text, where, found)
    if base_dir is not None:
        settings = _resolve_paths(settings, base_dir)
    if found:
        if problems is None:
            raise ConfigError(found)
        problems.extend(found)
    return settings


def _parse(text: str, where: str, problems: list[str]) -> Settings:
    try:
        raw = safe_yaml.load(text)
    except yaml.YAMLError as exc:
        mark_line, problem = safe_yaml.problem_of(exc)
        line = f":{mark_line + 1}" if mark_line is not None else ""
        problems.append(f"{where}{line}: not valid YAML ({problem})")
        return Settings()
    settings: Settings = _build(Settings, raw, "", where, problems)
    answers = settings.answers
    if answers.min_related > answers.min_confidence:
        raw_answers = raw.get("answers") if isinstance(raw, dict) else None
        if isinstance(raw_answers, dict) and "min_related" in raw_answers:
            problems.append(
                f"{where}: 'answers.min_related' ({answers.min_related:g}) must not be above "
                f"'answers.min_confidence' ({answers.min_confidence:g})"
            )
        else:  # the default 0.1 under a lower min_confidence: no closest band, not an error
            answers = dataclasses.replace(answers, min_related=answers.min_confidence)
            settings = dataclasses.replace(settings, answers=answers)
    shard_ids, shard_count = settings.discord.shard_ids, settings.discord.shard_count
    if shard_ids is not None and shard_count is None:
        problems.append(f"{where}: 'discord.shard_ids' needs 'discord.shard_count'")
    elif shard_ids and shard_count:
        bad = [s for s in shard_ids if not 0 <= s < shard_count]
        if bad:
            problems.append(f"{where}: 'discord.shard_ids' has ids outside 0..shard_count-1: {safe_yaml.quote(bad)}")
    return settings


def _resolve_paths(settings: Settings, base: Path) -> Settings:
    def resolve(p: Path | None) -> Path | None:
        return None if p is None else (p if p.is_absolute() else base / p)

    corpus = dataclasses.replace(
        settings.corpus,
        path=resolve(settings.corpus.path),
        aliases=resolve(settings.corpus.aliases),
        probes=resolve(settings.corpus.probes),
    )
    analytics = dataclasses.replace(settings.analytics, path=resolve(settings.analytics.path))
    health = dataclasses.replace(settings.health, status_file=resolve(settings.health.status_file))
    search = dataclasses.replace(settings.search, index_cache=resolve(settings.search.index_cache))
    semantic = dataclasses.replace(
        settings.semantic, model=resolve(settings.semantic.model), cache=resolve(settings.semantic.cache)
    )
    return dataclasses.replace(
        settings, corpus=corpus, analytics=analytics, health=health, search=search, semantic=semantic
    )


def load_settings(path: Path | str | None = None, problems: list[str] | None = None) -> Settings:
    """Load settings from ``path`` (relative paths inside resolve against its folder).

    With no path: ``config.yaml`` in the current folder when present, otherwise
    :func:`default_settings`. ``problems``: see :func:`parse_settings`.
    """
    if path is None:
        candidate = Path("config.yaml")
        if candidate.is_file():
            path = candidate
        else:
            return default_settings()
    path = Path(path)
    where = str(path)
    try:
        text = _read_config(path)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        if isinstance(exc, FileNotFoundError):
            message = f"{where}: no such config file"
        elif isinstance(exc, UnicodeDecodeError):
            message = f"{where}: not UTF-8 text"
        elif isinstance(exc, ValueError):
            message = f"{where}: {exc}"
        else:
            message = f"{where}: cannot read ({exc.strerror})"
        if problems is None:
            raise ConfigError(message) from None
        problems.append(message)
        return default_settings()
    settings = parse_settings(text, where, base_dir=path.resolve().parent, problems=problems)
    return dataclasses.replace(settings, source=path)


#: A config file larger than this is refused (the shipped one is ~3 KB).
MAX_CONFIG_BYTES = 1_000_000


def _read_config(path: Path) -> str:
    """The config file's text. Opened non-blocking (a FIFO never hangs start-up or ``check``) and
    refused unless it is a regular file of at most :data:`MAX_CONFIG_BYTES` (``/dev/zero`` never
    fills memory). A symbolic link to a config file is fine: deployments keep it elsewhere."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ValueError("not a regular file: refused")
        data = handle.read(MAX_CONFIG_BYTES + 1)
    if len(data) > MAX_CONFIG_BYTES:
        raise ValueError(f"over the {MAX_CONFIG_BYTES:,}-byte cap for a config file")
    return data.decode("utf-8").removeprefix("\ufeff")


def default_base_dir() -> Path:
    """Where default relative paths (``data/``) resolve without a config file: the project checkout
    when running from one, else the current folder (an installed wheel)."""
    checkout = Path(__file__).resolve().parent.parent
    return checkout if (checkout / "pyproject.toml").is_file() else Path.cwd()


def shipped_corpus_dir() -> Path:
    """The articles shipped with summitbot: package data in an installed wheel or sdist
    (``bot/shipped_corpus``), else the checkout's top-level ``corpus/`` folder."""
    packaged = Path(__file__).resolve().parent / "shipped_corpus"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "corpus"


def default_settings() -> Settings:
    """The settings without a config file: the built-in defaults, with ``./corpus`` when that folder
    exists and otherwise the shipped corpus (so an installed ``summitbot ask`` works anywhere)."""
    settings = _resolve_paths(Settings(), default_base_dir())
    local = Path("corpus")
    corpus_path = local.resolve() if local.is_dir() else shipped_corpus_dir()
    return dataclasses.replace(settings, corpus=dataclasses.replace(settings.corpus, path=corpus_path))
