"""Property: the SQL boundary (``boundary_predicate`` in the store's page and tombstone queries) admits exactly the
versions that ``ribat.intel.boundary.crosses`` admits, on SQLite and PostgreSQL.

Random stored versions (TLP, author, named recipients, type, provenance: origin hub, hops, the peer that sent it,
several organisations' copies of one version) are written through the real store; random boundaries (ceiling,
included and excluded types, the peer's hub ids, its record) are read through by a random sync viewer. The page
the store cuts must be the versions the pure function admits, one copy per version (the first that crosses), and
``last`` / ``first`` must be judged among the versions that cross. Hub ids include LIKE wildcards (``_``, ``%``):
a hop ``hx`` must not pass for the hub ``h_``.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from ribat.accounts import OrgKind, Role
from ribat.clock import format_us
from ribat.hub import Hub
from ribat.intel import ObjectFilter, Tlp
from ribat.intel._tables import stix_objects
from ribat.intel.boundary import Boundary, Provenance, crosses
from ribat.intel.store import NewVersion, StoredRow
from ribat.intel.tlp import Audience, Viewer, read_rule
from ribat.intel.types import Status

TYPES = ("indicator", "malware", "attack-pattern")
HUBS = ("h1", "h_", "hx", "h%")
PEERS = ("peer-p", "peer-q")
N_ORGS = 4  # org 0 stands for the peer hub
N_CIRCLES = 2
N_USERS = 3  # user 0 is the peer's sync account
VERSION_US = (1_700_000_000_000_000, 1_700_000_100_000_000, 1_700_000_200_000_000)


@dataclass(frozen=True)
class Row:
    obj: int  # object index: its type is TYPES[obj % len(TYPES)]
    version: int
    author: int
    author_user: int
    tlp: Tlp
    orgs: frozenset[int]
    circles: frozenset[int]
    users: frozenset[int]
    origin: str | None
    hops: tuple[str, ...]
    via: str | None
    deleted: bool


@dataclass(frozen=True)
class Case:
    rows: tuple[Row, ...]
    boundary: Boundary
    viewer_circles: frozenset[int]


@st.composite
def rows(draw: st.DrawFn) -> Row:
    origin = draw(st.sampled_from((None, *HUBS)))
    hops: tuple[str, ...] = ()
    via = None
    if origin is not None:
        rest = draw(st.lists(st.sampled_from(HUBS), max_size=2, unique=True))
        hops = (origin, *(h for h in rest if h != origin))
        via = draw(st.sampled_from(PEERS))
    return Row(
        obj=draw(st.integers(0, 3)),
        version=draw(st.integers(0, len(VERSION_US) - 1)),
        author=draw(st.integers(0, N_ORGS - 1)),
        author_user=draw(st.integers(0, N_USERS - 1)),
        tlp=draw(st.sampled_from(Tlp)),
        orgs=draw(st.frozensets(st.integers(0, N_ORGS - 1), max_size=2)),
        circles=draw(st.frozensets(st.integers(0, N_CIRCLES - 1), max_size=1)),
        users=draw(st.frozensets(st.integers(0, N_USERS - 1), max_size=1)),
        origin=origin,
        hops=hops,
        via=via,
        deleted=draw(st.booleans()),
    )


@st.composite
def cases(draw: st.DrawFn) -> Case:
    drawn = draw(st.lists(rows(), min_size=1, max_size=14))
    unique: dict[tuple[int, int, int], Row] = {}
    for r in drawn:  # one copy of a version per author organisation, as the store keeps them
        unique.setdefault((r.obj, r.version, r.author), r)
    boundary = Boundary(
        peer_id=draw(st.sampled_from(PEERS)),
        ceiling=draw(st.sampled_from([Tlp.CLEAR, Tlp.GREEN, Tlp.AMBER])),
        include_types=draw(st.frozensets(st.sampled_from(TYPES), max_size=2)),
        exclude_types=draw(st.frozensets(st.sampled_from(TYPES), max_size=1)),
        hubs=draw(st.frozensets(st.sampled_from(HUBS), max_size=2)),
    )
    return Case(tuple(unique.values()), boundary, draw(st.frozensets(st.integers(0, N_CIRCLES - 1), max_size=2)))


class Bench:
    """One hub for every example: organisations, circles and users made once, a fresh collection per example."""

    def __init__(self, hub: Hub) -> None:
        acc = hub.accounts
        self.hub = hub
        self.orgs = [acc.create_org(f"Org {i}", f"org{i}", "MY", OrgKind.NATIONAL_CERT).id for i in range(N_ORGS)]
        self.circles = [acc.create_circle(f"circle{i}").id for i in range(N_CIRCLES)]
        roles = [Role.SYNC, Role.ANALYST, Role.ANALYST]
        self.users = [acc.create_user(f"user{i}@x.example", self.orgs[i % N_ORGS], roles[i]).id for i in range(N_USERS)]

    def store_case(self, case: Case) -> tuple[str, dict[int, Row]]:
        """Store the rows in a new collection; the collection id and each stored row's pk -> its Row."""
        intel = self.hub.intel
        store = intel.store
        collection = intel.create_collection(f"c-{uuid.uuid4()}", default_tlp=Tlp.AMBER)
        versions = [self._new_version(r) for r in case.rows]

        def status_of(outcomes: list[bool]) -> Status:
            assert all(outcomes), outcomes
            n = len(outcomes)
            return Status(str(uuid.uuid4()), collection.id, "complete", format_us(VERSION_US[0]), n, n, 0, 0)

        store.put_versions(collection.id, versions, {}, intel.now(), status_of=status_of, user_id=None)
        # Each (object, version, author) is stored once: map the stored rows back by that key.
        by_key = {(r.obj, r.version, r.author): r for r in case.rows}
        o = stix_objects
        query = select(o.c.pk, o.c.object_id, o.c.version_us, o.c.author_org_id).where(
            o.c.collection_id == collection.id
        )
        stored: dict[int, Row] = {}
        with self.hub.db.read() as conn:
            for pk, oid, version_us, author in conn.execute(query):
                key = (int(oid.rsplit("-", 1)[-1], 16) - 1, VERSION_US.index(version_us), self.orgs.index(author))
                stored[pk] = by_key[key]
        assert len(stored) == len(case.rows)
        for r in stored.values():
            if r.deleted:
                oid = object_id(r.obj)
                flt = ObjectFilter(versions=(format_us(VERSION_US[r.version]),))
                assert store.delete(collection.id, None, oid, flt, intel.now(), author_org_id=self.orgs[r.author]) == 1
        return collection.id, stored

    def _new_version(self, r: Row) -> NewVersion:
        recipients = (
            *(("org", self.orgs[i]) for i in sorted(r.orgs)),
            *(("circle", self.circles[i]) for i in sorted(r.circles)),
            *(("user", self.users[i]) for i in sorted(r.users)),
        )
        return NewVersion(
            object_id=object_id(r.obj),
            type=TYPES[r.obj % len(TYPES)],
            spec_version="2.1",
            version_us=VERSION_US[r.version],
            version_text=format_us(VERSION_US[r.version]),
            tlp=r.tlp,
            author_org_id=self.orgs[r.author],
            author_user_id=self.users[r.author_user],
            revoked=False,
            body="{}",
            recipients=recipients,
            origin_hub=r.origin,
            hops=Provenance.hops_text(r.hops),
            via_peer_id=r.via,
        )

    def viewer(self, case: Case) -> Viewer:
        return Viewer(
            user_id=self.users[0],
            org_id=self.orgs[0],
            circle_ids=frozenset(self.circles[i] for i in case.viewer_circles),
            role="sync",
        )

    def audience(self, r: Row) -> Audience:
        return Audience(
            tlp=r.tlp,
            author_org_id=self.orgs[r.author],
            author_user_id=self.users[r.author_user],
            org_ids=frozenset(self.orgs[i] for i in r.orgs),
            circle_ids=frozenset(self.circles[i] for i in r.circles),
            user_ids=frozenset(self.users[i] for i in r.users),
        )

    def admits(self, case: Case, r: Row) -> bool:
        """The pure function's decision for one stored version."""
        provenance = Provenance(r.origin, r.hops, r.via) if r.origin is not None else Provenance()
        return crosses(
            case.boundary, self.viewer(case), self.audience(r), TYPES[r.obj % len(TYPES)], provenance
        ).allowed


def object_id(n: int) -> str:
    return f"{TYPES[n % len(TYPES)]}--{uuid.UUID(int=n + 1, version=4)}"


@pytest.fixture
def bench(hub: Hub) -> Iterator[Bench]:
    yield Bench(hub)


def expected_page(stored: dict[int, Row], admitted: set[int], selector: str) -> set[int]:
    """``match[version]`` among the admitted versions, one copy per version (the first stored that crosses)."""
    live = sorted(pk for pk in admitted if not stored[pk].deleted)
    chosen: set[int] = set()
    by_object = itertools.groupby(sorted(live, key=lambda pk: stored[pk].obj), key=lambda pk: stored[pk].obj)
    for _, group in by_object:
        pks = sorted(group)
        versions = {stored[pk].version for pk in pks}
        keep = {"all": versions, "last": {max(versions)}, "first": {min(versions)}}[selector]
        for version in keep:
            chosen.add(min(pk for pk in pks if stored[pk].version == version))
    return chosen


def pks(rows: list[StoredRow]) -> set[int]:
    return {r.pk for r in rows}


def row(obj: int, version: int, author: int, tlp: Tlp, **extra: object) -> Row:
    fields: dict[str, object] = {
        "author_user": 1,
        "orgs": frozenset(),
        "circles": frozenset(),
        "users": frozenset(),
        "origin": None,
        "hops": (),
        "via": None,
        "deleted": False,
        **extra,
    }
    return Row(obj, version, author, tlp=tlp, **fields)  # type: ignore[arg-type]


# A copy the peer's policy holds back (it came from the peer; it is above the ceiling) must not hide another
# organisation's copy of the same version, nor an older version, that crosses.
ECHOED_COPY = Case(
    (row(0, 1, 0, Tlp.CLEAR, origin="h1", hops=("h1",), via="peer-q"), row(0, 1, 1, Tlp.CLEAR)),
    Boundary(peer_id="peer-q", ceiling=Tlp.GREEN),
    frozenset(),
)
AMBER_COPY = Case(
    (row(0, 0, 2, Tlp.AMBER, orgs=frozenset({0})), row(0, 0, 1, Tlp.GREEN)),
    Boundary(peer_id="peer-p", ceiling=Tlp.GREEN),
    frozenset(),
)
NEWER_AMBER = Case(
    (row(1, 0, 1, Tlp.GREEN), row(1, 2, 1, Tlp.AMBER, orgs=frozenset({0}))),
    Boundary(peer_id="peer-p", ceiling=Tlp.GREEN),
    frozenset(),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=cases())
@example(case=ECHOED_COPY)
@example(case=AMBER_COPY)
@example(case=NEWER_AMBER)
def test_sql_page_for_a_peer_is_what_crosses_admits(bench: Bench, case: Case) -> None:
    collection_id, stored = bench.store_case(case)
    store = bench.hub.intel.store
    viewer = bench.viewer(case)
    admitted = {pk for pk, r in stored.items() if bench.admits(case, r)}
    for selector in ("all", "last", "first"):
        page, more = store.page(
            collection_id,
            read_rule(viewer),
            ObjectFilter(versions=(selector,)),
            None,
            1000,
            with_bodies=False,
            boundary=case.boundary,
        )
        assert not more
        assert pks(page) == expected_page(stored, admitted, selector), selector


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=cases())
def test_sql_tombstones_for_a_peer_are_what_crosses_admits(bench: Bench, case: Case) -> None:
    collection_id, stored = bench.store_case(case)
    store = bench.hub.intel.store
    viewer = bench.viewer(case)
    found, more = store.tombstones(collection_id, read_rule(viewer), None, 1000, boundary=case.boundary)
    assert not more
    # Only deletions made where the version originated are shared: the local versions (no origin hub).
    shared = {pk for pk, r in stored.items() if r.deleted and r.origin is None}
    assert {t.row.pk for t in found} == {pk for pk in shared if bench.admits(case, stored[pk])}
