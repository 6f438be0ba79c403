"""The one interface the bot's database offers (:class:`Storage`): SQLite or PostgreSQL behind it."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from bot.storage.store import QuestionRecord, Scope, Stats, VoteResult


@runtime_checkable
class Storage(Protocol):
    """What the bot needs from a database (synchronous; :class:`AsyncAnalytics` runs it on a thread).

    Every method may raise; :class:`AsyncAnalytics` turns failures into log lines. A new backend
    implements these and is passed to :class:`AsyncAnalytics` as its opener's result.
    """

    def record_question(self, record: QuestionRecord) -> int:
        """Log one question; the new row id."""
        ...

    def record_vote(
        self, question_id: int, user_id: int, value: int, *, voted_at: datetime | None = None, scope: Scope = None
    ) -> VoteResult:
        """Store a +1/-1 vote (replacing the voter's earlier one) on an answer given in ``scope``;
        whether stored, and the tallies."""
        ...

    def tallies(self, question_id: int) -> tuple[int, int]:
        """The (up, down) vote counts of one answer."""
        ...

    def purge(self, older_than_days: int | None = None, *, now: datetime | None = None) -> int:
        """Delete questions older than the retention period; how many."""
        ...

    def stats(self, days: int = 7, *, top: int = 10, now: datetime | None = None, scope: Scope = None) -> Stats:
        """The admin report for the last ``days`` UTC days, for one server, DMs, or everywhere."""
        ...

    def server_settings(self) -> dict[int, str]:
        """Every server's stored settings overrides (JSON), by server id."""
        ...

    def set_server_settings(self, guild_id: int, overrides: str | None) -> int:
        """Store (or with None delete) one server's overrides; the new settings generation."""
        ...

    def shared_state(self) -> dict[str, int]:
        """The counters every process watches (corpus and settings generations)."""
        ...

    def bump(self, name: str) -> int:
        """Add one to a shared counter, atomically across processes; its new value."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...
