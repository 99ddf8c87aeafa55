"""The background scheduler: a thread that runs due feeds one at a time until stopped.

``FeedScheduler.for_hub(hub).start()`` when the web application starts and ``.stop()``
when it shuts down, or ``with background_feeds(hub): …`` around the server's life (which
also honours ``RIBAT_FEED_SCHEDULER``). A feed's failure is recorded in its run and never ends the thread;
stopping lets the current batch finish, records the run as stopped, and returns. Several
processes may each run a scheduler on one database: each due feed is claimed by one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ribat.feeds.service import Feeds
from ribat.feeds.types import FeedRun

if TYPE_CHECKING:
    from ribat.hub import Hub

__all__ = ["FeedScheduler", "background_feeds"]

log = logging.getLogger(__name__)


class FeedScheduler:
    """Runs ``feeds.run_due()`` every ``poll_seconds`` (and at once when started)."""

    def __init__(
        self,
        feeds: Feeds,
        *,
        poll_seconds: float = 30.0,
        owns_feeds: bool = False,
        stop: threading.Event | None = None,
    ) -> None:
        self.feeds = feeds
        self.poll_seconds = poll_seconds
        self._owns_feeds = owns_feeds
        self._stop = stop or threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.rounds = 0

    @classmethod
    def for_hub(cls, hub: Hub, *, poll_seconds: float = 30.0, **feeds_options: Any) -> FeedScheduler:
        """A scheduler with Feeds of its own on the hub (closed when the scheduler stops),
        whose retry backoff ends at once when the scheduler is stopped."""
        stop = threading.Event()
        feeds_options.setdefault("sleep", stop.wait)
        feeds = Feeds.for_hub(hub, **feeds_options)
        return cls(feeds, poll_seconds=poll_seconds, owns_feeds=True, stop=stop)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="ribat-feeds", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Look for due feeds now rather than at the next poll."""
        self._wake.set()

    def stop(self, timeout: float | None = 60.0) -> None:
        """Stop after the batch in progress; returns when the thread has ended (or ``timeout``)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("the feed scheduler did not stop within %s s", timeout)
            else:
                self._thread = None
        if self._owns_feeds and self._thread is None:
            self.feeds.close()

    def run_once(self) -> list[FeedRun]:
        """One round: every due feed this process claims. Never raises."""
        try:
            return self.feeds.run_due(stop=self._stop)
        except Exception:
            log.exception("the feed scheduler's round failed; it tries again at the next poll")
            return []
        finally:
            self.rounds += 1

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._wake.wait(self.poll_seconds)
            self._wake.clear()


@contextmanager
def background_feeds(hub: Hub, **options: Any) -> Iterator[FeedScheduler | None]:
    """Run due feeds in a background thread for the life of the block, when the hub's
    ``feed_scheduler`` setting is on (else yield None). For ``ribat serve``'s lifespan."""
    if not hub.settings.feed_scheduler:
        yield None
        return
    options.setdefault("poll_seconds", hub.settings.feed_poll_seconds)
    scheduler = FeedScheduler.for_hub(hub, **options)
    scheduler.start()
    try:
        yield scheduler
    finally:
        scheduler.stop()
