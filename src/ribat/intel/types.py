"""Plain data of the intel context."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

from ribat.intel.tlp import Tlp

__all__ = [
    "Collection",
    "Correlation",
    "Flagged",
    "Grant",
    "ObjectFilter",
    "ObjectMeta",
    "OverCorrelation",
    "Page",
    "RelatedItem",
    "SharingActivity",
    "Status",
    "StatusDetail",
]

MEDIA_TYPE_STIX21 = "application/stix+json;version=2.1"


@dataclass(frozen=True)
class Grant:
    """Read/write permission on a collection for an organisation, a trust circle or the community."""

    principal_kind: str  # "org" | "circle" | "community"
    principal_id: str  # "" for the community
    can_read: bool
    can_write: bool


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    alias: str | None
    default_tlp: Tlp
    owner_org_id: str | None
    grants: tuple[Grant, ...] = ()
    can_read: bool = False  # for the principal that asked
    can_write: bool = False


@dataclass(frozen=True)
class ObjectMeta:
    """One stored object version, without its body."""

    object_id: str
    type: str
    version: str  # the object's own modified/created text, or date_added
    date_added: str
    date_added_us: int
    spec_version: str
    tlp: Tlp
    author_org_id: str | None
    revoked: bool
    media_type: str = MEDIA_TYPE_STIX21


@dataclass(frozen=True)
class ObjectFilter:
    """TAXII 2.1 filtering (section 3.6): every field is optional; lists are ORed."""

    added_after_us: int | None = None
    ids: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    versions: tuple[str, ...] = ("last",)  # "last", "first", "all" or timestamps
    spec_versions: tuple[str, ...] = ()

    def fingerprint(self) -> str:
        return "|".join(
            [
                str(self.added_after_us),
                ",".join(sorted(self.ids)),
                ",".join(sorted(self.types)),
                ",".join(sorted(self.versions)),
                ",".join(sorted(self.spec_versions)),
            ]
        )


@dataclass(frozen=True)
class Page:
    """A page of objects (or manifest entries, or versions) in date_added order.

    ``metas`` is built on first use: the objects endpoint serves bodies and needs only
    the first and last ``date_added``, and a thousand metadata records cost more than
    the query.
    """

    bodies: list[str]  # JSON text per object; empty for manifests and versions
    more: bool
    next: str | None
    first_added: str | None
    last_added: str | None
    make_metas: Callable[[], list[ObjectMeta]] = field(repr=False, compare=False)
    # The date_added of the last row the store read for this page (before the policy audit): where the next
    # page starts, for a reader that keeps its own checkpoint.
    position_us: int | None = None

    @cached_property
    def metas(self) -> list[ObjectMeta]:
        return self.make_metas()


class StatusDetail(NamedTuple):
    """One object's outcome in a status resource (a named tuple: an envelope makes a
    thousand of them)."""

    id: str
    version: str
    message: str | None = None


@dataclass(frozen=True)
class Status:
    """A TAXII status resource (TAXII 2.1 section 4.3.1)."""

    id: str
    collection_id: str
    status: str  # "pending" | "complete"
    request_timestamp: str
    total_count: int
    success_count: int
    failure_count: int
    pending_count: int
    successes: list[StatusDetail] = field(default_factory=list)
    failures: list[StatusDetail] = field(default_factory=list)
    pendings: list[StatusDetail] = field(default_factory=list)


@dataclass(frozen=True)
class RelatedItem:
    """An object related to the question through one of its observable values."""

    relation: str  # a ``ribat.intel.correlation.Relation`` value
    kind: str
    value: str  # the object's value that matched (normalised)
    collection_id: str
    object_id: str
    type: str
    name: str
    tlp: Tlp
    version: str


@dataclass(frozen=True)
class OverCorrelation:
    """A value related to more readable objects than the cap: counted, not listed."""

    kind: str
    value: str
    count: int
    at_least: bool = False  # the count stopped at its limit: there are at least this many


@dataclass(frozen=True)
class Correlation:
    """The answer to "what is related to X": the observables asked about, the related objects
    (closest relation first), and the over-correlating values."""

    query: str
    asked: tuple[tuple[str, str], ...]
    items: list[RelatedItem]
    over_correlating: list[OverCorrelation]


@dataclass(frozen=True)
class Flagged:
    """An indicator whose value hit a warninglist when it was ingested."""

    list_name: str
    value: str
    entry: str
    collection_id: str
    object_id: str
    type: str
    name: str
    tlp: Tlp
    date_added: str


@dataclass(frozen=True)
class SharingActivity:
    """What a set of organisations shared on the hub in the window ``[start_us, end_us)`` (by the date each
    object version was added; deleted versions left out). The figures are defined in
    ``docs/capacity-evidence.md``.

    * ``indicators`` … ``other``: object versions by kind (a version stored in several collections counts once);
      ``objects``: distinct object ids among them.
    * ``timeliness_*``: for each object first shared in the window that states when it was first seen (indicator
      ``valid_from``, sighting ``first_seen``, observed-data ``first_observed``), the time from then to its first
      ``date_added``; negative times are left out. Median and 90th percentile (nearest rank) in hours, ``None``
      when nothing was measured.
    * ``indicator_objects``: distinct indicator ids in the window; ``sighted_indicators``: how many of them are
      named by the ``sighting_of_ref`` of a sighting added before ``end_us`` that the authoring organisation may
      itself read (collection grants and TLP).
    * ``federated_objects``: distinct objects written in the window by the organisations' peer-hub service
      accounts (role ``sync``); ``federation_users``: how many such accounts wrote them.
    """

    org_ids: tuple[str, ...]
    start_us: int
    end_us: int
    indicators: int
    sightings: int
    reports: int
    observed_data: int
    other: int
    objects: int
    timeliness_measured: int
    timeliness_median_hours: float | None
    timeliness_p90_hours: float | None
    indicator_objects: int
    sighted_indicators: int
    federated_objects: int
    federation_users: int

    @property
    def versions(self) -> int:
        """Object versions shared in the window, every kind together."""
        return self.indicators + self.sightings + self.reports + self.observed_data + self.other

    @property
    def sighted_share(self) -> float | None:
        """``sighted_indicators / indicator_objects`` (0–1), ``None`` when no indicator was shared."""
        return self.sighted_indicators / self.indicator_objects if self.indicator_objects else None
