"""The analytics worker: the store run on one background thread, for the event loop.

:class:`AsyncAnalytics` is what the bot uses. It owns a single background worker thread that opens
the store and runs every call on it, so the event loop never waits on the disk, and it turns every
failure into a log line and a ``None`` / "not stored" result: analytics never stops the bot from
answering. A file that cannot be used at all (not a database, corrupt, a directory, a schema newer
than this code) switches analytics off with one error log; passing failures (locked, disk full,
read-only) are logged as warnings and the next call tries again.

:func:`open_analytics` builds an :class:`AsyncAnalytics` from :class:`bot.config.AnalyticsSettings`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import TypeVar

from bot.config import AnalyticsSettings
from bot.storage.database import redact_url
from bot.storage.interface import Storage
from bot.storage.schema import AnalyticsSchemaError
from bot.storage.store import (
    EVERYWHERE,
    AnalyticsStore,
    QuestionRecord,
    Scope,
    Stats,
    VoteResult,
    _is_transient,
    _is_unusable,
)

log = logging.getLogger("bot.storage")

T = TypeVar("T")

#: Calls waiting for the worker thread beyond this number are dropped (with a warning).
MAX_PENDING_CALLS = 1000


class AsyncAnalytics:
    """Analytics for the event loop: one worker thread, never raises, never blocks the loop.

    ``opener`` builds the :class:`AnalyticsStore`; it runs on the worker thread (started right
    away), so the connection lives on that thread. When opening fails because the file is locked,
    the next call tries again; any other opening failure, or a corrupt file later on, logs one error
    and turns analytics off (:attr:`enabled` becomes False, every call returns its "nothing" value).
    Other failures are logged as warnings and the call returns ``None`` (or a not-stored
    :class:`VoteResult`). Calls are queued; beyond ``max_pending`` waiting calls new ones are dropped.
    A call whose awaiting task is cancelled still runs.
    """

    def __init__(
        self,
        opener: Callable[[], Storage],
        *,
        max_pending: int = MAX_PENDING_CALLS,
        purge_on_open: bool = False,
        description: str = "analytics database",
    ) -> None:
        """Start the worker thread and queue the opening of the store on it."""
        self._opener = opener
        self._purge_on_open = purge_on_open
        self._description = description
        self._max_pending = max_pending
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="summitbot-analytics")
        self._lock = threading.Lock()
        self._pending = 0
        self._store: Storage | None = None  # touched only on the worker thread
        self._off = False
        self._closed = False
        self._submit("open", lambda store: True, False)

    # -- state --------------------------------------------------------------------------------------

    @property
    def enabled(self) -> bool:
        """False once analytics is off (unusable file) or closed."""
        return not (self._off or self._closed)

    async def ready(self) -> bool:
        """Wait until the store is open; True when it is usable."""
        return await self._call("open", lambda store: True, False)

    # -- the worker side ----------------------------------------------------------------------------

    def _open_store(self) -> Storage | None:
        """(worker) Open the store when not open yet; None when analytics is off or still locked."""
        if self._store is not None or self._off:
            return self._store
        try:
            self._store = self._opener()
        except Exception as exc:
            if _is_transient(exc):
                log.warning(
                    "analytics: %s is locked or unreachable; will try again on the next call (%s)",
                    self._description,
                    exc,
                )
            else:
                self._turn_off(exc)
            return None
        if self._purge_on_open:
            try:
                removed = self._store.purge()
            except Exception as exc:
                self._failed("purge", exc)
            else:
                if removed:
                    log.info("analytics: purged %d questions past the retention period", removed)
        return self._store

    def _turn_off(self, exc: BaseException) -> None:
        """(worker) Switch analytics off for good, with one error log, and drop the connection."""
        if self._off:
            return
        self._off = True
        log.error(
            "analytics is off: the %s cannot be used (%s: %s); the bot keeps answering."
            " Fix or move the file away and restart to record again.",
            self._description,
            type(exc).__name__,
            exc,
        )
        store, self._store = self._store, None
        if store is not None:
            with contextlib.suppress(Exception):
                store.close()

    def _failed(self, operation: str, exc: BaseException) -> None:
        """(worker) Log a failed call; an unusable file turns analytics off."""
        if _is_unusable(exc) or isinstance(exc, AnalyticsSchemaError):
            self._turn_off(exc)
        else:
            log.warning("analytics: %s failed (%s: %s)", operation, type(exc).__name__, exc)

    def _work(self, operation: str, fn: Callable[[Storage], T], default: T) -> T:
        """(worker) Run ``fn`` on the open store; any failure is logged and gives ``default``."""
        try:
            store = self._open_store()
            if store is None:
                return default
            return fn(store)
        except Exception as exc:
            self._failed(operation, exc)
            return default

    def _close_store(self) -> None:
        """(worker) Close the connection."""
        store, self._store = self._store, None
        if store is not None:
            try:
                store.close()
            except Exception as exc:
                log.warning("analytics: closing the %s failed (%s)", self._description, exc)

    # -- the loop side ------------------------------------------------------------------------------

    def _submit(self, operation: str, fn: Callable[[Storage], T], default: T) -> Future[T] | None:
        """Queue ``fn`` on the worker; None when closed, off, or the queue is full."""
        if self._closed or self._off:
            return None
        with self._lock:
            if self._pending >= self._max_pending:
                log.warning("analytics: %d calls are waiting; dropped a %s", self._pending, operation)
                return None
            self._pending += 1
        try:
            future = self._executor.submit(self._work, operation, fn, default)
        except RuntimeError:  # the executor was shut down by close()
            self._done()
            return None
        future.add_done_callback(self._done)
        return future

    def _done(self, _future: object = None) -> None:
        """One queued call finished (or was never queued)."""
        with self._lock:
            self._pending -= 1

    async def _call(self, operation: str, fn: Callable[[Storage], T], default: T) -> T:
        """Run ``fn`` on the worker and await its result without blocking the loop; never raises."""
        future = self._submit(operation, fn, default)
        if future is None:
            return default
        try:
            return await asyncio.shield(asyncio.wrap_future(future))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # pragma: no cover - _work already catches everything
            log.warning("analytics: %s failed (%s)", operation, exc)
            return default

    # -- the API ------------------------------------------------------------------------------------

    async def record_question(self, record: QuestionRecord) -> int | None:
        """Log one question (see :meth:`AnalyticsStore.record_question`); the row id, or None on failure."""
        return await self._call("record_question", lambda store: store.record_question(record), None)

    async def record_vote(self, question_id: int, user_id: int, value: int, *, scope: Scope = EVERYWHERE) -> VoteResult:
        """Store a 👍 (+1) / 👎 (-1) vote on an answer given in ``scope`` (the clicked message's
        server, or DMS); ``stored`` is False (tallies 0) on failure or outside that scope."""
        failed = VoteResult(False, 0, 0)
        return await self._call(
            "record_vote", lambda store: store.record_vote(question_id, user_id, value, scope=scope), failed
        )

    async def tallies(self, question_id: int) -> tuple[int, int] | None:
        """The (up, down) counts of one answer, or None on failure."""
        return await self._call("tallies", lambda store: store.tallies(question_id), None)

    async def stats(
        self, days: int = 7, *, top: int = 10, now: datetime | None = None, scope: Scope = EVERYWHERE
    ) -> Stats | None:
        """The admin report for ``scope`` (see :meth:`AnalyticsStore.stats`), or None on failure."""
        return await self._call("stats", lambda store: store.stats(days, top=top, now=now, scope=scope), None)

    async def server_settings(self) -> dict[int, str] | None:
        """Every server's stored settings overrides (JSON), or None on failure."""
        return await self._call("server_settings", lambda store: store.server_settings(), None)

    async def set_server_settings(self, guild_id: int, overrides: str | None) -> int | None:
        """Store one server's overrides; the new settings generation, or None on failure."""
        return await self._call(
            "set_server_settings", lambda store: store.set_server_settings(guild_id, overrides), None
        )

    async def shared_state(self) -> dict[str, int] | None:
        """The counters every process watches, or None on failure."""
        return await self._call("shared_state", lambda store: store.shared_state(), None)

    async def bump(self, name: str) -> int | None:
        """Add one to a shared counter; its new value, or None on failure."""
        return await self._call("bump", lambda store: store.bump(name), None)

    async def purge(self, older_than_days: int | None = None, *, now: datetime | None = None) -> int | None:
        """Delete old questions and votes (see :meth:`AnalyticsStore.purge`); the count, or None."""
        return await self._call("purge", lambda store: store.purge(older_than_days, now=now), None)

    def close(self, wait: bool = False) -> None:
        """Stop taking calls; queued calls still run, then the connection closes.

        ``wait=True`` blocks until that is done (for scripts and tests; not inside the event loop).
        """
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(RuntimeError):
            self._executor.submit(self._close_store)
        self._executor.shutdown(wait=wait)

    async def aclose(self) -> None:
        """Like :meth:`close`, awaiting (without blocking the loop) until the connection is closed."""
        if self._closed:
            return
        self._closed = True
        try:
            future = self._executor.submit(self._close_store)
        except RuntimeError:
            return
        self._executor.shutdown(wait=False)
        await asyncio.wrap_future(future)


def open_analytics(
    settings: AnalyticsSettings, *, environ: Mapping[str, str] | None = None, url: str | None = None
) -> AsyncAnalytics | None:
    """The bot's analytics from its settings: None when disabled, else an :class:`AsyncAnalytics`.

    ``url`` (config ``database.url``) is a PostgreSQL database to use instead of the SQLite file.
    Returns at once: the file is opened (and created, and upgraded, and purged of rows past
    ``retention_days``) on the worker thread. An unusable file logs one error and leaves the object
    with ``enabled`` False, never an exception. Call :meth:`AsyncAnalytics.purge` daily for retention
    in a long-running bot.
    """
    if not settings.enabled:
        log.info("analytics is disabled in the config")
        return None
    where = redact_url(url) if url else str(settings.path)
    return AsyncAnalytics(
        functools.partial(AnalyticsStore.from_settings, settings, environ=environ, url=url),
        purge_on_open=True,
        description=f"analytics database {where}",
    )
