"""The federation context: member hubs share with each other over TAXII 2.1, under one TLP policy.

``Federation`` manages peers and runs syncs; ``PeerScheduler`` (``background_sync``) runs due peers in the
background of ``ribat serve``. The boundary every crossing passes is ``ribat.intel.boundary``; see
docs/federation.md.
"""

from ribat.federation.client import PeerClient, PeerError
from ribat.federation.runner import PeerScheduler, background_sync
from ribat.federation.service import Federation, PeerBoundaries, boundary_of, parse_pairs
from ribat.federation.types import Direction, Peer, PeerPair, PeerRun, PeerStatus, RunStatus, Stream

__all__ = [
    "Direction",
    "Federation",
    "Peer",
    "PeerBoundaries",
    "PeerClient",
    "PeerError",
    "PeerPair",
    "PeerRun",
    "PeerScheduler",
    "PeerStatus",
    "RunStatus",
    "Stream",
    "background_sync",
    "boundary_of",
    "parse_pairs",
]
