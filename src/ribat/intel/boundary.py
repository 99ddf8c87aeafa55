"""What may cross from this hub to one peer hub: the TLP engine's decision, narrowed by the peer's sharing policy.

A peer hub reads (or is sent) what its organisation may read under ``ribat.intel.tlp`` — the same ``may_read`` that
every other read path applies, for a viewer standing for the peer's organisation and the trust circles it is in —
and, on top of that, only:

- up to the policy's TLP ceiling, which is CLEAR or GREEN, or AMBER for a peer trusted with it; AMBER then still
  needs the peer's organisation (or one of its trust circles) among the recipients the author named, as
  ``may_read`` requires. AMBER+STRICT and RED never cross, whatever the ceiling;
- objects of the types the policy includes (every type when it names none) and not of a type it excludes;
- nothing that came from the peer or passed through it (``hops``, the hubs a version was stored in, origin first),
  so that nothing echoes back to where it came from and a cycle of hubs ends.

``crosses`` decides one version and says why; ``ribat.intel._store_sql.boundary_predicate`` is the same rule as a
query predicate, so that pages are cut after filtering, never before. The read path applies both.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ribat.intel.tlp import Audience, Decision, Tlp, Viewer, explain

__all__ = ["HIGHEST_CEILING", "Boundary", "Provenance", "crosses"]

# The highest ceiling a policy may set: AMBER+STRICT (the author's organisation only) and RED (named people
# only) are never for another hub.
HIGHEST_CEILING = Tlp.AMBER


@dataclass(frozen=True)
class Boundary:
    """One peer's sharing policy, as the read path applies it. ``hubs`` are the peer's hub ids (one, once the peer
    has said who it is); ``peer_id`` is the peer's record on this hub (a version received from it never goes
    back, even before its hub id is known)."""

    peer_id: str
    ceiling: Tlp = Tlp.GREEN
    include_types: frozenset[str] = field(default_factory=frozenset)
    exclude_types: frozenset[str] = field(default_factory=frozenset)
    hubs: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.ceiling > HIGHEST_CEILING:
            raise ValueError(f"a peer's TLP ceiling is at most {HIGHEST_CEILING.label}, not {self.ceiling.label}")

    @property
    def origin_hub(self) -> str:
        """What to record as the origin of a version the peer sent without saying where it came from."""
        return min(self.hubs) if self.hubs else f"peer:{self.peer_id}"


@dataclass(frozen=True)
class Provenance:
    """Where a stored version came from: the hub where it was first stored and the hubs it passed through
    (``hops``, origin first; both empty for a version stored here first), and the peer that sent it here."""

    origin_hub: str | None = None
    hops: tuple[str, ...] = ()
    via_peer_id: str | None = None

    @classmethod
    def parse(cls, origin_hub: str | None, hops: str | None, via_peer_id: str | None) -> Provenance:
        return cls(origin_hub, tuple(h for h in (hops or "").split(",") if h), via_peer_id)

    @staticmethod
    def hops_text(hops: Iterable[str]) -> str | None:
        """Hops as stored: ``,a,b,`` (so that "passed through h" is ``LIKE '%,h,%'``); None for none."""
        hops = [h for h in hops if h]
        return f",{','.join(hops)}," if hops else None


def crosses(
    boundary: Boundary, viewer: Viewer, audience: Audience, object_type: str, provenance: Provenance
) -> Decision:
    """May this version cross to the peer? ``viewer`` stands for the peer's organisation and its trust circles."""
    if provenance.via_peer_id is not None and provenance.via_peer_id == boundary.peer_id:
        return Decision(False, "it came from this peer")
    passed = sorted(boundary.hubs & set(provenance.hops))
    if passed:
        return Decision(False, f"it has passed through the peer's hub ({passed[0]})")
    if audience.tlp > HIGHEST_CEILING:
        return Decision(False, f"{audience.tlp.label} never leaves the hub")
    if audience.tlp > boundary.ceiling:
        return Decision(False, f"{audience.tlp.label} is above this peer's ceiling ({boundary.ceiling.label})")
    if boundary.include_types and object_type not in boundary.include_types:
        return Decision(False, f"the policy does not include {object_type} objects")
    if object_type in boundary.exclude_types:
        return Decision(False, f"the policy excludes {object_type} objects")
    return explain(viewer, audience)
