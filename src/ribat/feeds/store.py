"""The storage interface of the feeds context (a ``typing.Protocol``).

``ribat.feeds._store_sql.SqlFeedStore`` implements it on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from ribat.feeds.types import Feed, FeedRun

__all__ = ["FeedStore"]


class FeedStore(Protocol):
    def add(self, feed: Feed, now_us: int) -> None:
        """Store a new feed; ConflictError when its name is taken."""
        ...

    def update(self, feed: Feed, now_us: int) -> None:
        """Replace a feed's definition (not its cursor, lease or item state); ConflictError
        when the new name is taken."""
        ...

    def get(self, ref: str) -> Feed | None:
        """A feed by id or by name."""
        ...

    def list_feeds(self, owner_org_id: str | None = None) -> list[Feed]:
        """Every feed (of one organisation when given), by name, each with its last run."""
        ...

    def remove(self, feed_id: str) -> None:
        """Delete a feed with its runs and item state (the objects it stored stay)."""
        ...

    def due(self, now_us: int) -> list[Feed]:
        """Enabled feeds whose ``next_due_us`` has come and that no process holds, earliest first."""
        ...

    def claim(self, feed_id: str, now_us: int, lease_until_us: int, *, due_only: bool) -> bool:
        """Take the feed's lease with one conditional UPDATE: True for the one process
        that got it. With ``due_only`` the feed must also be enabled and due."""
        ...

    def renew(self, feed_id: str, lease_until_us: int) -> None:
        """Extend the lease this process holds (a long run renews it after each batch)."""
        ...

    def release(self, feed_id: str, next_due_us: int, consecutive_failures: int) -> None:
        """Give the lease back and set when the feed is due next."""
        ...

    def save_cursor(self, feed_id: str, cursor: Mapping[str, Any]) -> None: ...

    def items(self, feed_id: str) -> dict[str, str]:
        """Per-item state: item key → marker."""
        ...

    def set_items(self, feed_id: str, updates: Mapping[str, str | None]) -> None:
        """Set (or, for None, forget) the markers of some items in one transaction."""
        ...

    def start_run(self, run: FeedRun) -> FeedRun:
        """Record a run as started; returns it with its id. Runs of the feed still marked
        ``running`` (their process died) are closed as errors first."""
        ...

    def finish_run(self, run: FeedRun) -> None: ...

    def runs(self, feed_id: str, limit: int, offset: int) -> list[FeedRun]:
        """The feed's runs, newest first."""
        ...

    def last_runs(self, feed_ids: Sequence[str]) -> dict[str, FeedRun]: ...
