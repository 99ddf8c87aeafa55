"""The storage interface of the federation context (a ``typing.Protocol``).

``ribat.federation._store_sql.SqlPeerStore`` implements it on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ribat.federation.types import Peer, PeerPair, PeerRun

__all__ = ["PeerStore"]


class PeerStore(Protocol):
    def add(self, peer: Peer, key: str | None) -> None:
        """Store a new peer with its pairs and (sealed) key; ConflictError when its name is taken."""
        ...

    def update(self, peer: Peer, key: str | None, *, replace_key: bool) -> None:
        """Replace a peer's definition and pairs (not its schedule, lease or checkpoints); the key only when
        ``replace_key``."""
        ...

    def get(self, ref: str) -> Peer | None:
        """A peer by id or name."""
        ...

    def list_peers(self) -> list[Peer]: ...

    def by_sync_user(self, user_id: str) -> Peer | None:
        """The peer whose ``sync`` account this is."""
        ...

    def key(self, peer_id: str) -> str | None:
        """The key this hub presents to the peer (None when none is set or it was sealed under another secret)."""
        ...

    def set_remote_hub(self, peer_id: str, hub_id: str) -> None: ...

    def remove(self, peer_id: str) -> None:
        """Delete a peer with its pairs, checkpoints and runs (what it synced stays)."""
        ...

    def due(self, now_us: int) -> list[Peer]:
        """Enabled peers that start something, whose ``next_due_us`` has come and that no process holds."""
        ...

    def claim(self, peer_id: str, now_us: int, lease_until_us: int, runner: str, *, due_only: bool) -> bool:
        """Take the peer's lease with one conditional UPDATE: True for the one process that got it."""
        ...

    def lease_holder(self, peer_id: str) -> tuple[str | None, int | None]:
        """(runner, lease end) of the lease on the peer, if any."""
        ...

    def break_lease(self, peer_id: str, runner: str) -> bool:
        """Free the lease held by ``runner`` (a process known to be dead); True when it was freed."""
        ...

    def renew(self, peer_id: str, lease_until_us: int) -> None: ...

    def release(self, peer_id: str, next_due_us: int, consecutive_failures: int) -> None: ...

    def cursor(self, peer_id: str, pair: PeerPair, stream: str) -> str | None: ...

    def save_cursor(self, peer_id: str, pair: PeerPair, stream: str, cursor: str, now_us: int) -> None: ...

    def cursors(self, peer_id: str) -> dict[tuple[str, str, str], str]:
        """Every checkpoint of the peer: (local id, remote id, stream) -> cursor."""
        ...

    def start_run(self, run: PeerRun) -> None:
        """Record a run as started; the peer's runs still marked running are closed as interrupted first."""
        ...

    def finish_run(self, run: PeerRun) -> None: ...

    def runs(self, peer_id: str, limit: int, offset: int) -> list[PeerRun]:
        """The peer's runs, newest first."""
        ...

    def last_runs(self, peer_ids: Sequence[str]) -> dict[str, PeerRun]: ...

    def last_success(self, peer_ids: Sequence[str]) -> dict[str, int]:
        """peer id -> when its last run that reached the end (ok or partial) finished."""
        ...
