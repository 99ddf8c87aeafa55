"""Plain data of the federation context: a peer hub, its collection pairs, its status, and one sync run."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from ribat.intel import Tlp

__all__ = ["Direction", "Peer", "PeerPair", "PeerRun", "PeerStatus", "RunStatus", "Stream"]


class Direction(StrEnum):
    """What this hub starts with the peer. Whatever the direction, the peer's own ``sync`` key may read (and,
    where granted, write) this hub's mapped collections through the peer's policy; ``serve`` starts nothing."""

    PULL = "pull"
    PUSH = "push"
    BOTH = "both"
    SERVE = "serve"

    @property
    def pulls(self) -> bool:
        return self in (Direction.PULL, Direction.BOTH)

    @property
    def pushes(self) -> bool:
        return self in (Direction.PUSH, Direction.BOTH)


class Stream(StrEnum):
    """One checkpointed stream of a collection pair."""

    PULL_OBJECTS = "pull-objects"  # cursor: the peer's date_added of the last committed page
    PULL_TOMBSTONES = "pull-tombstones"  # cursor: the peer's position "deleted_us:pk"
    PUSH_OBJECTS = "push-objects"  # cursor: this hub's date_added (µs) of the last acknowledged page
    PUSH_TOMBSTONES = "push-tombstones"  # cursor: this hub's position "deleted_us:pk"


class RunStatus(StrEnum):
    RUNNING = "running"
    OK = "ok"  # every stream reached its end
    PARTIAL = "partial"  # reached the end, but the other side rejected some objects (listed in the problems)
    FAILED = "failed"  # stopped early; what was committed stays, and the next run resumes from the checkpoints
    INTERRUPTED = "interrupted"  # the process running it died


@dataclass(frozen=True)
class PeerPair:
    """A local collection and the peer's collection it syncs with ('' for a collection only served)."""

    local_id: str
    remote_id: str


@dataclass(frozen=True)
class Peer:
    id: str
    name: str
    url: str  # the peer's TAXII 2.1 API root
    direction: Direction
    interval_seconds: int
    org_id: str  # the local organisation that stands for the peer's
    sync_user_id: str | None  # the account whose key the peer uses here
    remote_hub_id: str | None  # learnt from the peer
    max_tlp: Tlp
    include_types: tuple[str, ...]
    exclude_types: tuple[str, ...]
    enabled: bool
    next_due_us: int
    consecutive_failures: int
    created_us: int
    pairs: tuple[PeerPair, ...] = ()
    has_key: bool = False
    lease_runner: str | None = None  # the process (host:pid) holding the peer's lease, if any
    lease_until_us: int | None = None

    def leased(self, now_us: int) -> bool:
        return self.lease_runner is not None and self.lease_until_us is not None and self.lease_until_us > now_us


@dataclass(frozen=True)
class PeerRun:
    id: str
    peer_id: str
    trigger: str  # "schedule" | "manual"
    runner: str  # host:pid
    status: RunStatus
    started_us: int
    finished_us: int | None = None
    pulled: int = 0  # versions stored from the peer
    pushed: int = 0  # versions the peer stored
    already: int = 0  # versions either side already held
    echoes: int = 0  # versions not stored because they came from the receiving hub
    rejected: int = 0  # versions the receiving side refused (each in ``problems``)
    deleted: int = 0  # versions deleted by tombstones, both ways
    problems: tuple[str, ...] = field(default_factory=tuple)
    error: str | None = None


@dataclass(frozen=True)
class PeerStatus:
    """A peer as its status page shows it: the last run, the last successful one, how far behind it is (seconds
    since the last successful run ended, None before the first), and the last error."""

    peer: Peer
    last_run: PeerRun | None
    last_success_us: int | None
    lag_seconds: float | None
    last_error: str | None
    running: bool
