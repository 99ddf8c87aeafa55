"""Deletions between hubs (TAXII 2.1 has none): which deletions a hub shares (``Intel.tombstones``, paged by
position), and what a deletion sent by a peer deletes (``Intel.receive_tombstones``): only the copy that came from
the same origin hub under the same author; never a version deleted here brought back by a peer. One hub plays both
sides; every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from ribat.accounts import Principal
from ribat.clock import format_us
from ribat.errors import PermissionDeniedError
from ribat.intel import ObjectFilter
from ribat.intel.service import ALREADY
from support import World, indicator

from ._support import TLP, add_peer, card, carrying, stored_rows

VERSION = "2024-01-01T00:00:00.000Z"


@pytest.fixture
def partner(world: World) -> Principal:
    """The sync account of the peer hub ``partner`` (CERT B), which sends copies from ``hub-far``."""
    return add_peer(world, "partner")[2]


@pytest.fixture
def onward(world: World) -> Principal:
    """The sync account of another peer hub, ``onward`` (CERT C), which deletions are shared on to."""
    return add_peer(world, "onward", org="cert-c")[2]


def _green(n: int) -> dict[str, Any]:
    return indicator(n, tlp_ref=TLP["green"])


def _delete(world: World, email: str, object_id: str) -> int:
    return world.hub.intel.delete(world.principal(email), "shared", object_id, ObjectFilter())


def _receive_from_far(world: World, partner: Principal, *numbers: int, author: Any = None) -> list[dict[str, Any]]:
    objects = [carrying(_green(n), origin="hub-far", author=author or card(world.org_a)) for n in numbers]
    status = world.hub.intel.ingest(partner, "shared", {"objects": objects})
    assert status.success_count == len(numbers) and status.failure_count == 0
    return [indicator(n) for n in numbers]


def _tombstone(obj_id: str, *, origin: str = "hub-far", author: str, version: str = VERSION) -> dict[str, Any]:
    return {"id": obj_id, "version": version, "deleted": "2025-01-01T00:00:00Z", "origin_hub": origin, "author": author}


def test_shared_deletions_are_paged_by_position_oldest_first(world: World, onward: Principal) -> None:
    intel = world.hub.intel
    objects = [_green(n) for n in range(1, 6)]
    intel.ingest(world.principal("alice@a.example"), "shared", {"objects": objects})
    for obj in objects:
        assert _delete(world, "alice@a.example", obj["id"]) == 1
    seen: list[dict[str, Any]] = []
    positions: list[tuple[int, int]] = []
    after = None
    while True:
        items, position, more = intel.tombstones(onward, "shared", after=after, limit=2)
        seen.extend(items)
        assert position is not None and (after is None or position > after)
        positions.append(position)
        if not more:
            break
        assert len(items) == 2
        after = position
    assert len(positions) == 3
    assert [i["id"] for i in seen] == [o["id"] for o in objects]  # in the order they were deleted
    for item in seen:
        assert item["version"] == VERSION
        assert item["origin_hub"] == intel.hub_id
        assert item["author"] == world.org_a.identity_id
    assert [i["deleted"] for i in seen] == sorted(i["deleted"] for i in seen)
    rows = {o["id"]: stored_rows(world.hub, o["id"])[0] for o in objects}
    assert [i["deleted"] for i in seen] == [format_us(rows[o["id"]].deleted_us) for o in objects]
    # Past the last one: nothing, and the position stays where it was.
    assert intel.tombstones(onward, "shared", after=positions[-1], limit=2) == ([], positions[-1], False)


def test_a_deletion_of_a_received_copy_stays_here_but_one_made_at_the_origin_is_shared(
    world: World, partner: Principal, onward: Principal
) -> None:
    intel = world.hub.intel
    (received,) = _receive_from_far(world, partner, 1)
    local = _green(2)
    intel.ingest(world.principal("alice@a.example"), "shared", {"objects": [local]})
    assert _delete(world, "admin@hub.example", received["id"]) == 1
    assert _delete(world, "alice@a.example", local["id"]) == 1
    (row,) = stored_rows(world.hub, received["id"])
    assert row.deleted_us is not None and not row.tombstone_shared
    items, _, _ = intel.tombstones(onward, "shared")
    assert [i["id"] for i in items] == [local["id"]]


def test_a_peers_deletion_deletes_only_the_copy_from_the_same_origin_and_author(
    world: World, partner: Principal, onward: Principal
) -> None:
    intel = world.hub.intel
    x, y = _receive_from_far(world, partner, 1, 2)
    # Carol's organisation shares the same version of x here, on its own.
    intel.ingest(world.principal("carol@c.example"), "shared", {"objects": [_green(1)]})
    a, c = world.org_a.identity_id, world.org_c.identity_id
    sent = [
        _tombstone(x["id"], origin="hub-other", author=a),  # another origin: not this copy
        _tombstone(x["id"], author=c),  # another author: CERT C's copy is local, not from hub-far
        _tombstone(y["id"], author=a, version="2024-06-01T00:00:00.000Z"),  # another version
        _tombstone(x["id"], author="identity--00000000-0000-4000-8000-00000000dead"),  # an author unknown here
    ]
    assert intel.receive_tombstones(partner, "shared", sent) == (0, [])
    assert intel.receive_tombstones(partner, "shared", [_tombstone(x["id"], author=a)]) == (1, [])
    rows = stored_rows(world.hub, x["id"])
    assert [(r.author_org_id, r.deleted_us is not None) for r in rows] == [
        (world.org_a.id, True),
        (world.org_c.id, False),
    ]
    assert stored_rows(world.hub, y["id"])[0].deleted_us is None
    # The deletion came from where the version came from: it travels on to other peers, not back.
    items, _, _ = intel.tombstones(onward, "shared")
    assert [(i["id"], i["origin_hub"], i["author"]) for i in items] == [(x["id"], "hub-far", a)]
    assert intel.tombstones(partner, "shared")[0] == []
    # Sent again, it deletes nothing more.
    assert intel.receive_tombstones(partner, "shared", [_tombstone(x["id"], author=a)]) == (0, [])


def test_this_hubs_own_deletions_coming_back_are_ignored(world: World, partner: Principal) -> None:
    intel = world.hub.intel
    local = _green(3)
    intel.ingest(world.principal("alice@a.example"), "shared", {"objects": [local]})
    echo = _tombstone(local["id"], origin=intel.hub_id, author=world.org_a.identity_id)
    assert intel.receive_tombstones(partner, "shared", [echo]) == (0, [])
    assert stored_rows(world.hub, local["id"])[0].deleted_us is None


def test_malformed_deletions_are_reported_one_by_one_and_the_good_ones_applied(
    world: World, partner: Principal
) -> None:
    intel = world.hub.intel
    (x,) = _receive_from_far(world, partner, 4)
    a = world.org_a.identity_id
    sent: list[Any] = [
        "not an object",
        {"id": x["id"], "version": VERSION},
        {"id": 7, "version": VERSION, "origin_hub": "hub-far", "author": a},
        {"id": x["id"], "version": VERSION, "origin_hub": "hub-far", "author": None},
        {"id": x["id"], "version": "yesterday", "origin_hub": "hub-far", "author": a},
        _tombstone(x["id"], author=a),
    ]
    deleted, problems = intel.receive_tombstones(partner, "shared", sent)
    assert deleted == 1
    assert problems == [
        "tombstones[0]: must be an object",
        "tombstones[1]: id, version and origin_hub must be strings",
        "tombstones[2]: id, version and origin_hub must be strings",
        f"tombstones[3] ({x['id']}): no author identity",
        f"tombstones[4] ({x['id']}): version 'yesterday' is not a timestamp",
    ]


@pytest.mark.parametrize("email", ["alice@a.example", "admin@hub.example"])
def test_only_peer_hubs_send_deletions(world: World, partner: Principal, email: str) -> None:
    (x,) = _receive_from_far(world, partner, 5)
    with pytest.raises(PermissionDeniedError):
        world.hub.intel.receive_tombstones(
            world.principal(email), "shared", [_tombstone(x["id"], author=world.org_a.identity_id)]
        )
    assert stored_rows(world.hub, x["id"])[0].deleted_us is None


def test_a_version_deleted_here_is_not_brought_back_by_a_peer(world: World, partner: Principal) -> None:
    intel = world.hub.intel
    (x,) = _receive_from_far(world, partner, 6)
    assert intel.receive_tombstones(partner, "shared", [_tombstone(x["id"], author=world.org_a.identity_id)])[0] == 1
    again = carrying(_green(6), origin="hub-far", author=card(world.org_a))
    status = intel.ingest(partner, "shared", {"objects": [again]})
    assert [(d.id, d.message) for d in status.successes] == [(x["id"], ALREADY)]
    (row,) = stored_rows(world.hub, x["id"])
    assert row.deleted_us is not None
    assert intel.objects(world.principal("alice@a.example"), "shared", ObjectFilter()).bodies == []
    # Nor by a copy deleted here by hand.
    (y,) = _receive_from_far(world, partner, 7)
    assert _delete(world, "admin@hub.example", y["id"]) == 1
    again = carrying(_green(7), origin="hub-far", author=card(world.org_a))
    status = intel.ingest(partner, "shared", {"objects": [again]})
    assert [(d.id, d.message) for d in status.successes] == [(y["id"], ALREADY)]
    assert [r.deleted_us is not None for r in stored_rows(world.hub, y["id"])] == [True]
