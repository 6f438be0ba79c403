"""The bot's database, behind one interface (:class:`Storage`): analytics and votes today.

* :mod:`bot.storage.schema` -- the schema and its ordered migrations;
* :mod:`bot.storage.privacy` -- the salt and the user-id hashing (ids are never stored);
* :mod:`bot.storage.store` -- :class:`AnalyticsStore`, the synchronous SQLite implementation of
  :class:`Storage`, and the records it takes and returns (:class:`QuestionRecord`, :class:`Stats`…);
* :mod:`bot.storage.worker` -- :class:`AsyncAnalytics`, any :class:`Storage` run on one background
  thread for the event loop (never raises, never blocks); :func:`open_analytics` builds it;
* :mod:`bot.storage.report` -- the report as text (:func:`format_stats`) and CSV.

:mod:`bot.storage.interface` holds :class:`Storage`. Nothing here imports discord.py.
"""

from __future__ import annotations

from bot.storage.database import is_postgres_url, redact_url
from bot.storage.interface import Storage
from bot.storage.privacy import hash_user, load_salt, salt_path
from bot.storage.report import CSV_FIELDS, format_stats, write_stats_csv
from bot.storage.schema import MIGRATIONS, AnalyticsSchemaError, Migration
from bot.storage.store import (
    CORPUS_GENERATION,
    DMS,
    EVERYWHERE,
    SETTINGS_GENERATION,
    AnalyticsStore,
    CitedPassage,
    DayCount,
    QuestionRecord,
    Scope,
    Stats,
    UnansweredQuestion,
    VoteResult,
    normalize_question,
)
from bot.storage.worker import AsyncAnalytics, open_analytics

__all__ = [
    "CORPUS_GENERATION",
    "CSV_FIELDS",
    "DMS",
    "EVERYWHERE",
    "MIGRATIONS",
    "SETTINGS_GENERATION",
    "AnalyticsSchemaError",
    "AnalyticsStore",
    "AsyncAnalytics",
    "CitedPassage",
    "DayCount",
    "Migration",
    "QuestionRecord",
    "Scope",
    "Stats",
    "Storage",
    "UnansweredQuestion",
    "VoteResult",
    "format_stats",
    "hash_user",
    "is_postgres_url",
    "load_salt",
    "normalize_question",
    "open_analytics",
    "redact_url",
    "salt_path",
    "write_stats_csv",
]
