"""A background loop for ``ribat serve``: a thread that runs one round of due work every few seconds until stopped.

The feeds and the peer syncs each run on one (``ribat.feeds.runner``, ``ribat.federation.runner``). A round's
failure is logged and never ends the thread; stopping sets the shared stop event (which long work checks between
pages, and which ends retry waits at once), lets the round in progress finish, and returns.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["BackgroundLoop"]

log = logging.getLogger(__name__)


class BackgroundLoop:
    """Runs ``work(stop)`` every ``poll_seconds`` (and at once when started); ``on_stopped`` runs once the thread
    has ended."""

    def __init__(
        self,
        name: str,
        work: Callable[[threading.Event], Sequence[Any]],
        *,
        poll_seconds: float = 30.0,
        stop: threading.Event | None = None,
        on_stopped: Callable[[], None] | None = None,
    ) -> None:
        self.name = name
        self._work = work
        self.poll_seconds = poll_seconds
        self._stop = stop or threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._on_stopped = on_stopped
        self.rounds = 0

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Look for due work now rather than at the next poll."""
        self._wake.set()

    def stop(self, timeout: float | None = 60.0) -> None:
        """Stop after the round in progress; returns when the thread has ended (or ``timeout``)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("%s did not stop within %s s", self.name, timeout)
            else:
                self._thread = None
        if self._on_stopped is not None and self._thread is None:
            self._on_stopped()
            self._on_stopped = None

    def run_once(self) -> list[Any]:
        """One round. Never raises."""
        try:
            return list(self._work(self._stop))
        except Exception:
            log.exception("a round of %s failed; it tries again at the next poll", self.name)
            return []
        finally:
            self.rounds += 1

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._wake.wait(self.poll_seconds)
            self._wake.clear()
