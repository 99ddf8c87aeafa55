"""The background sync of ``ribat serve``: a thread that syncs each due peer hub, one at a time, until stopped.

``with background_sync(hub): …`` around the server's life (it honours ``RIBAT_FEDERATION_SCHEDULER``). A peer's
failure is recorded in its run and delays its next run (``Federation._delay_us``); it never ends the thread.
Several processes may each run one on a database: each due peer is leased by one.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ribat.background import BackgroundLoop
from ribat.federation.service import Federation

if TYPE_CHECKING:
    from ribat.hub import Hub

__all__ = ["PeerScheduler", "background_sync"]


class PeerScheduler(BackgroundLoop):
    def __init__(self, federation: Federation, *, poll_seconds: float = 15.0, stop: threading.Event | None = None):
        super().__init__(
            "ribat-federation", lambda stop: federation.run_due(stop=stop), poll_seconds=poll_seconds, stop=stop
        )
        self.federation = federation

    @classmethod
    def for_hub(cls, hub: Hub, *, poll_seconds: float = 15.0, **options: Any) -> PeerScheduler:
        """A scheduler whose retry waits end at once when it is stopped."""
        stop = threading.Event()
        options.setdefault("sleep", stop.wait)
        return cls(Federation.for_hub(hub, **options), poll_seconds=poll_seconds, stop=stop)


@contextmanager
def background_sync(hub: Hub, **options: Any) -> Iterator[PeerScheduler | None]:
    """Sync due peers in a background thread for the life of the block, when the hub's ``federation_scheduler``
    setting is on (else yield None)."""
    if not hub.settings.federation_scheduler:
        yield None
        return
    options.setdefault("poll_seconds", hub.settings.federation_poll_seconds)
    scheduler = PeerScheduler.for_hub(hub, **options)
    scheduler.start()
    try:
        yield scheduler
    finally:
        scheduler.stop()
