"""The storage interface of the intel context (a ``typing.Protocol``) and its plain records.

``ribat.intel._store_sql.SqlIntelStore`` implements it on SQLite and PostgreSQL; the
contract suite in ``tests/intel/test_store_contract.py`` runs against every engine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from ribat.intel.boundary import Boundary, Provenance
from ribat.intel.tlp import ReadRule, Tlp
from ribat.intel.types import Collection, Grant, ObjectFilter, Status

__all__ = [
    "CorrelatedRow",
    "FlaggedRow",
    "IntelStore",
    "NewVersion",
    "SharingTally",
    "SightingReader",
    "StoredRow",
    "Tombstone",
    "TombstoneTarget",
]


@dataclass(frozen=True)
class NewVersion:
    """An object version ready to store. ``version_us`` None: the object has no
    ``modified``/``created`` and its version is the date it is added (TAXII 2.1 section 3.5)."""

    object_id: str
    type: str
    spec_version: str
    version_us: int | None
    version_text: str | None
    tlp: Tlp
    author_org_id: str | None
    author_user_id: str | None
    revoked: bool
    body: str
    recipients: tuple[tuple[str, str], ...] = ()  # (kind, ref_id), kind in org|circle|user
    # The correlation index rows of this version: (kind, normalised value, range key).
    observables: tuple[tuple[str, str, str | None], ...] = ()
    # Warninglist hits of an indicator: (list name, value, matching entry).
    warnings: tuple[tuple[str, str, str], ...] = ()
    # Federation provenance (all None for a version first stored here): see ``ribat.intel.boundary.Provenance``.
    origin_hub: str | None = None
    hops: str | None = None  # ",a,b,"
    via_peer_id: str | None = None


class StoredRow(NamedTuple):
    """One stored version as read back (a named tuple: pages build a thousand of them)."""

    pk: int
    object_id: str
    type: str
    spec_version: str
    version_us: int
    version_text: str
    date_added_us: int
    tlp: Tlp
    author_org_id: str | None
    author_user_id: str | None
    has_recipients: bool
    revoked: bool
    body: str | None = None


class Tombstone(NamedTuple):
    """A deleted version other hubs should delete too, as a page of tombstones gives it."""

    row: StoredRow
    deleted_us: int
    provenance: Provenance


class TombstoneTarget(NamedTuple):
    """A deletion received from a peer: the version (by author organisation) and the hub where it originated."""

    object_id: str
    version_us: int
    author_org_id: str
    origin_hub: str


class CorrelatedRow(NamedTuple):
    """An index row found by a correlation probe, and the version it belongs to."""

    kind: str
    value: str
    collection_id: str
    row: StoredRow


class FlaggedRow(NamedTuple):
    """A warninglist hit recorded at ingest, and the version it belongs to."""

    list_name: str
    value: str
    entry: str
    collection_id: str
    row: StoredRow


@dataclass(frozen=True)
class SightingReader:
    """An organisation whose indicators' sightings are sought, as a reader: its TLP rule (``read_rule`` of a
    viewer for the organisation and its trust circles) and the collections it may read."""

    org_id: str
    rule: ReadRule
    collection_ids: tuple[str, ...]


@dataclass(frozen=True)
class SharingTally:
    """The raw figures behind ``ribat.intel.types.SharingActivity`` (see ``IntelStore.sharing_tally``)."""

    versions_by_type: dict[str, int]  # STIX type -> distinct (object id, version) in the window
    objects: int  # distinct object ids in the window
    first_seen_delays_us: list[int]  # one non-negative delay per measured object
    indicator_objects: int  # distinct indicator ids in the window
    # (reader org id, indicator id, one sighting row naming it that the reader's rule admits), at most one per pair
    sightings: list[tuple[str, str, StoredRow]]
    federated_objects: int
    federation_users: int


class IntelStore(Protocol):
    def add_collection(self, collection: Collection, created_us: int) -> None: ...

    def set_grants(self, collection_id: str, grants: Sequence[Grant]) -> None: ...

    def collections(self) -> list[Collection]: ...

    def collection(self, ref: str) -> Collection | None: ...

    def put_versions(
        self,
        collection_id: str,
        versions: Sequence[NewVersion],
        tlp_markings: Mapping[str, Tlp],
        now_us: int,
        *,
        status_of: Callable[[list[bool]], Status],
        user_id: str | None,
    ) -> Status:
        """Store the versions not already present, and the status resource that
        ``status_of`` makes from the outcomes (True per stored version, False per
        duplicate), in one transaction.

        Assigns each stored version a ``date_added`` strictly greater than any before
        it in the collection (and >= ``now_us``)."""
        ...

    def tlp_markings(self, marking_ids: Sequence[str]) -> dict[str, Tlp]: ...

    def page(
        self,
        collection_id: str,
        rule: ReadRule | None,
        flt: ObjectFilter,
        after_us: int | None,
        limit: int,
        *,
        with_bodies: bool,
        object_id: str | None = None,
        boundary: Boundary | None = None,
    ) -> tuple[list[StoredRow], bool]:
        """Visible rows in ``date_added`` order after ``after_us``; ``rule`` None = no TLP
        filter (operator use only); ``boundary`` narrows them to what may cross to a peer hub.
        Returns the rows and whether more follow."""
        ...

    def recipients(self, pks: Sequence[int]) -> dict[int, tuple[tuple[str, str], ...]]: ...

    def provenance(self, pks: Sequence[int]) -> dict[int, Provenance]:
        """The federation provenance of stored versions (every pk asked for has an entry)."""
        ...

    def tombstones(
        self,
        collection_id: str,
        rule: ReadRule | None,
        after: tuple[int, int] | None,
        limit: int,
        *,
        boundary: Boundary | None = None,
    ) -> tuple[list[Tombstone], bool]:
        """Shared tombstones (``tombstone_shared``) whose deleted version ``rule`` and ``boundary`` admit, in
        ``(deleted_us, pk)`` order after ``after``, and whether more follow. Deletion stamps come from the
        collection's ``date_added`` counter, so a reader that remembers the last one never misses a later one."""
        ...

    def apply_tombstones(self, collection_id: str, targets: Sequence[TombstoneTarget], now_us: int) -> int:
        """Delete the stored versions named by deletions received from a peer — only versions that came here by
        federation from the same origin hub — as shared tombstones; returns how many."""
        ...

    def delete(
        self,
        collection_id: str,
        rule: ReadRule | None,
        object_id: str,
        flt: ObjectFilter,
        now_us: int,
        *,
        author_org_id: str | None = None,
    ) -> int:
        """Turn the matching visible versions (of ``author_org_id``'s, when given) into
        tombstones; returns how many."""
        ...

    def correlate(
        self,
        collection_ids: Sequence[str],
        rule: ReadRule,
        exact: Sequence[tuple[str, str]],
        ranges: Sequence[tuple[str, str, str]],
        cap: int,
        *,
        exclude_object_id: str | None = None,
        count_limit: int = 100_000,
    ) -> tuple[list[CorrelatedRow], dict[tuple[str, str], int]]:
        """Index rows matching the probes, of the newest version of each object the ``rule``
        may read in ``collection_ids``; values over ``cap`` readable objects come back as
        counts instead (see ``ribat.intel.correlation``)."""
        ...

    def warninglist_hits(
        self,
        collection_ids: Sequence[str],
        rule: ReadRule,
        *,
        object_ids: Sequence[str] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[FlaggedRow]:
        """Warninglist hits of the newest version of each object the ``rule`` may read."""
        ...

    def object_count(self, collection_id: str) -> int: ...

    def save_status(self, status: Status, user_id: str | None) -> None: ...

    def status(self, status_id: str) -> tuple[Status, str | None] | None: ...

    def sharing_tally(
        self,
        org_ids: Sequence[str],
        start_us: int,
        end_us: int,
        *,
        sync_user_ids: Sequence[str],
        readers: Sequence[SightingReader],
        page_size: int = 1000,
    ) -> SharingTally:
        """What ``org_ids`` authored in ``[start_us, end_us)`` (date added, deleted versions left out): versions by
        type, distinct objects, the first-seen delay of each object first shared in the window, the distinct
        indicators and, for each reader among the authors, one sighting added before ``end_us`` that it may read
        per indicator it authored; and the objects ``sync_user_ids`` wrote in the window. Bodies are read in pages
        of ``page_size`` rows."""
        ...
