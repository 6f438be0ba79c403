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
import collections
import contextlib
import dataclasses
import functools
import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timezone
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
#: Question rows kept in memory while the database is locked; beyond this the oldest are dropped
#: (counted in ``AsyncAnalytics.dropped_rows`` and logged).
MAX_UNWRITTEN_ROWS = 10_000
#: How often rows kept while the database was locked are written again.
RETRY_SECONDS = 2.0
#: A new question row tries the waiting ones first, but not sooner than this after a busy attempt
#: (each attempt may wait the busy timeout: during a long lock the worker must not queue up behind it).
RETRY_GAP_SECONDS = 0.25


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
        max_unwritten: int = MAX_UNWRITTEN_ROWS,
        retry_seconds: float = RETRY_SECONDS,
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
        # Question rows not yet written because the database was locked (worker thread only), oldest
        # first, and how many were dropped because there were more than ``max_unwritten``.
        self._unwritten: collections.deque[QuestionRecord] = collections.deque()
        self._max_unwritten = max_unwritten
        self._retry_seconds = retry_seconds
        self._retry: threading.Timer | None = None
        self._next_try = 0.0  # monotonic time before which a new row does not try the waiting ones
        self.dropped_rows = 0
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

    @property
    def unwritten_rows(self) -> int:
        """Question rows waiting in memory for the database to be free."""
        return len(self._unwritten)

    def _open_store(self) -> Storage | None:
        """(worker) Open the store when not open yet; None when analytics is off or still locked.

        A file deleted or replaced under the running bot is noticed here, before every call: the
        connection would write to the unlinked file and every row would be lost. It is reopened
        (created anew) with a warning.
        """
        if self._store is not None and self._replaced(self._store):
            log.warning(
                "analytics: the %s was deleted or replaced while the bot ran; creating it again", self._description
            )
            self._close_store()
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

    @staticmethod
    def _replaced(store: Storage) -> bool:
        """(worker) Whether the store's file is gone or another one (backends without files: never)."""
        replaced = getattr(store, "replaced", None)
        try:
            return bool(replaced()) if callable(replaced) else False
        except Exception:
            return False

    # -- question rows kept while the database is locked ---------------------------------------------

    def _record(self, record: QuestionRecord) -> int | None:
        """(worker) Write one question row; while the database is locked, keep it for later."""
        if self._unwritten:  # rows are waiting: they go first; try at most every RETRY_GAP_SECONDS
            if time.monotonic() >= self._next_try:
                self._flush()
            if self._unwritten:
                self._keep(record)
                return None
        try:
            store = self._open_store()
            if store is None:
                if not self._off:  # locked while opening
                    self._keep(record)
                return None
            return store.record_question(record)
        except Exception as exc:
            if _is_transient(exc):
                self._next_try = time.monotonic() + RETRY_GAP_SECONDS
                self._keep(record)
                log.warning(
                    "analytics: the %s is busy (%s); keeping question rows in memory and retrying every %.0f s",
                    self._description,
                    exc,
                    self._retry_seconds,
                )
            else:
                self._failed("record_question", exc)
            return None

    def _keep(self, record: QuestionRecord) -> None:
        """(worker) Queue a row for the retry (its time is the time it was asked, not written)."""
        if record.asked_at is None:
            record = dataclasses.replace(record, asked_at=datetime.now(timezone.utc))
        self._unwritten.append(record)
        while len(self._unwritten) > self._max_unwritten:
            self._unwritten.popleft()
            self.dropped_rows += 1
            if self.dropped_rows == 1 or self.dropped_rows % 1000 == 0:
                log.error(
                    "analytics: the %s has been busy too long: %d question rows dropped (more than %d waiting)",
                    self._description,
                    self.dropped_rows,
                    self._max_unwritten,
                )
        self._schedule_retry()

    def _schedule_retry(self) -> None:
        """(worker) Flush the waiting rows in ``retry_seconds`` (one timer at a time)."""
        if self._retry is not None or self._closed:
            return

        def fire() -> None:
            self._retry = None
            with contextlib.suppress(RuntimeError):  # closed meanwhile: close() flushes
                self._executor.submit(self._flush)

        self._retry = threading.Timer(self._retry_seconds, fire)
        self._retry.daemon = True
        self._retry.start()

    def _flush(self) -> None:
        """(worker) Write the waiting rows, oldest first, until done or the database is busy again."""
        written = 0
        while self._unwritten and not self._off:
            try:
                store = self._open_store()
                if store is None:
                    break
                store.record_question(self._unwritten[0])
            except Exception as exc:
                if not _is_transient(exc):
                    self._failed("record_question", exc)
                    if not self._off:  # this row cannot be written: drop it, go on
                        self._unwritten.popleft()
                        self.dropped_rows += 1
                    continue
                self._next_try = time.monotonic() + RETRY_GAP_SECONDS
                break
            self._unwritten.popleft()
            written += 1
        if written:
            log.info("analytics: wrote %d question rows kept while the database was busy", written)
        if self._unwritten and not self._off:
            self._schedule_retry()

    def _shutdown(self) -> None:
        """(worker) Last try at the waiting rows (the busy timeout once), then close the connection."""
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        if self._unwritten and not self._off:
            self._flush()
        if self._unwritten:
            self.dropped_rows += len(self._unwritten)
            log.error(
                "analytics: the %s was still busy at shutdown: %d question rows not written",
                self._description,
                len(self._unwritten),
            )
            self._unwritten.clear()
        self._close_store()

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
        """Log one question (see :meth:`AnalyticsStore.record_question`); the row id, or None when it
        was not written now. While the database is locked the row is kept in memory (at most
        ``max_unwritten`` rows) and written when it frees up."""
        if self._closed or self._off:
            return None
        with self._lock:
            if self._pending >= self._max_pending:
                log.warning("analytics: %d calls are waiting; dropped a record_question", self._pending)
                self.dropped_rows += 1
                return None
            self._pending += 1
        try:
            future = self._executor.submit(self._record, record)
        except RuntimeError:  # closed
            self._done()
            return None
        future.add_done_callback(self._done)
        try:
            return await asyncio.shield(asyncio.wrap_future(future))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # pragma: no cover - _record catches everything
            log.warning("analytics: record_question failed (%s)", exc)
            return None

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
            self._executor.submit(self._shutdown)
        self._executor.shutdown(wait=wait)

    async def aclose(self) -> None:
        """Like :meth:`close`, awaiting (without blocking the loop) until the connection is closed."""
        if self._closed:
            return
        self._closed = True
        try:
            future = self._executor.submit(self._shutdown)
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
