"""The background scheduler: a thread that runs due feeds one at a time until stopped.

``FeedScheduler.for_hub(hub).start()`` when the web application starts and ``.stop()``
when it shuts down, or ``with background_feeds(hub): …`` around the server's life (which
also honours ``RIBAT_FEED_SCHEDULER``). A feed's failure is recorded in its run and never ends the thread;
stopping lets the current batch finish, records the run as stopped, and returns. Several
processes may each run a scheduler on one database: each due feed is claimed by one.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ribat.background import BackgroundLoop
from ribat.feeds.service import Feeds

if TYPE_CHECKING:
    from ribat.hub import Hub

__all__ = ["FeedScheduler", "background_feeds"]


class FeedScheduler(BackgroundLoop):
    """Runs ``feeds.run_due()`` every ``poll_seconds`` (and at once when started)."""

    def __init__(
        self,
        feeds: Feeds,
        *,
        poll_seconds: float = 30.0,
        owns_feeds: bool = False,
        stop: threading.Event | None = None,
    ) -> None:
        super().__init__(
            "ribat-feeds",
            lambda stop: feeds.run_due(stop=stop),
            poll_seconds=poll_seconds,
            stop=stop,
            on_stopped=feeds.close if owns_feeds else None,
        )
        self.feeds = feeds

    @classmethod
    def for_hub(cls, hub: Hub, *, poll_seconds: float = 30.0, **feeds_options: Any) -> FeedScheduler:
        """A scheduler with Feeds of its own on the hub (closed when the scheduler stops),
        whose retry backoff ends at once when the scheduler is stopped."""
        stop = threading.Event()
        feeds_options.setdefault("sleep", stop.wait)
        feeds = Feeds.for_hub(hub, **feeds_options)
        return cls(feeds, poll_seconds=poll_seconds, owns_feeds=True, stop=stop)


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
