"""Recording questions for analytics without letting a slow database slow the answers.

An answer waits up to :data:`RECORD_WAIT_SECONDS` for its analytics row id (the vote buttons need
it); after a write that is slow or fails, :class:`RecordBreaker` stops answers from waiting for
:data:`RECORD_PAUSE_SECONDS` (the questions are still recorded in the background).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger("summitbot.discord")

#: How long an answer waits for its analytics row id (for the vote buttons) before going without.
RECORD_WAIT_SECONDS = 0.5
#: After a slow or failed analytics write, answers stop waiting for row ids for this long.
RECORD_PAUSE_SECONDS = 30.0


class RecordBreaker:
    """Whether an answer should wait for its analytics row id (a circuit breaker).

    After a write that is slow (no row id within ``RECORD_WAIT_SECONDS``) or fails, answers stop
    waiting for ``pause_seconds`` (they go out at once, without vote buttons; the rows are still
    written in the background); the first answer after the pause waits again and, if that write is
    fine, closes the breaker. A locked or broken database so costs at most one slow answer per pause.
    ``waits``/``skips`` count the answers that waited and those that did not.
    """

    def __init__(self, pause_seconds: float = RECORD_PAUSE_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.pause_seconds = pause_seconds
        self._clock = clock
        self._open_until: float | None = None
        self.waits = 0
        self.skips = 0

    @property
    def open(self) -> bool:
        """True while answers do not wait for row ids."""
        return self._open_until is not None and self._clock() < self._open_until

    def should_wait(self) -> bool:
        """Whether this answer waits for its row id (counted in ``waits`` or ``skips``)."""
        if self.open:
            self.skips += 1
            return False
        self.waits += 1
        return True

    def failed(self, why: str) -> None:
        """A write was slow or failed: stop waiting for a while."""
        if self._open_until is None:
            log.warning("analytics: %s; answering without vote buttons for the next %.0f s", why, self.pause_seconds)
        self._open_until = self._clock() + self.pause_seconds

    def succeeded(self) -> None:
        """A write the answer waited for gave its row id in time: wait for row ids again."""
        if self._open_until is not None:
            log.info("analytics: recording is fast again; vote buttons are back")
        self._open_until = None
