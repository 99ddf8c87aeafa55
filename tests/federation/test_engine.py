"""The sync engine against a ``FakePeer``: what a run pushes (what crosses the peer's boundary, with provenance) and
pulls (echoes and refusals counted, deletions applied), the checkpoint of each stream, a plain TAXII 2.1 server (no
deletions asked for), and a peer that turns out to be this hub. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from ribat.federation import Federation, RunStatus
from ribat.intel import ObjectFilter
from ribat.intel.carried import PROVENANCE_EXTENSION
from support import World, indicator

from ._support import PEER_ROOT, TLP, Clock, FakePeer, add_peer, card, carrying, federation, stored_rows

OBJECTS_URL = f"{PEER_ROOT}collections/remote/objects/"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def peer_hub() -> FakePeer:
    return FakePeer()


@pytest.fixture
def fed(world: World, clock: Clock, peer_hub: FakePeer) -> Federation:
    return federation(world.hub, peer=peer_hub, now=clock, retries=1)


def _peer(world: World, fed: Federation, direction: str) -> str:
    peer, _, _ = add_peer(world, fed=fed, direction=direction, pairs=[("shared", "remote")])
    return peer.id


def _green(n: int) -> dict[str, Any]:
    return indicator(n, tlp_ref=TLP["green"])


def _posts(peer_hub: FakePeer, path_end: str) -> int:
    return sum(1 for r in peer_hub.calls(path_end) if r.method == "POST")


def test_a_push_sends_what_crosses_with_its_provenance_then_only_what_is_new(
    world: World, fed: Federation, clock: Clock, peer_hub: FakePeer
) -> None:
    intel = world.hub.intel
    peer_id = _peer(world, fed, "push")
    alice = world.principal("alice@a.example")
    held_back = indicator(4)  # the collection's AMBER default, for nobody at CERT B
    assert intel.ingest(alice, "shared", {"objects": [_green(1), _green(2), _green(3), held_back]}).failure_count == 0
    run = fed.run("partner")
    assert (run.status, run.pushed, run.pulled) == (RunStatus.OK, 3, 0)
    assert [o["id"] for o in peer_hub.received] == [_green(n)["id"] for n in (1, 2, 3)]
    for sent in peer_hub.received:
        ext = sent["extensions"][PROVENANCE_EXTENSION]
        assert (ext["origin_hub"], ext["hops"], ext["author"]) == (
            intel.hub_id,
            [intel.hub_id],
            card(world.org_a).as_json(),
        )
    streams = {stream for (_, _, stream) in fed.cursors(peer_id)}
    assert "push-objects" in streams
    # Nothing new: nothing sent. A new object: only it.
    clock.advance(600)
    assert fed.run("partner").pushed == 0 and _posts(peer_hub, "/objects/") == 1
    intel.ingest(alice, "shared", {"objects": [_green(5)]})
    clock.advance(600)
    assert fed.run("partner").pushed == 1 and peer_hub.received[-1]["id"] == _green(5)["id"]
    # A deletion at the origin follows, once.
    assert intel.delete(alice, "shared", _green(2)["id"], ObjectFilter()) == 1
    clock.advance(600)
    run = fed.run("partner")
    assert run.deleted == 1
    assert [(d["id"], d["origin_hub"], d["author"]) for d in peer_hub.deletions] == [
        (_green(2)["id"], intel.hub_id, world.org_a.identity_id)
    ]
    assert "push-tombstones" in {stream for (_, _, stream) in fed.cursors(peer_id)}
    clock.advance(600)
    assert fed.run("partner").deleted == 0 and len(peer_hub.deletions) == 1


def test_a_push_the_peer_refuses_leaves_the_checkpoint_and_is_sent_again(
    world: World, fed: Federation, clock: Clock, peer_hub: FakePeer
) -> None:
    peer_id = _peer(world, fed, "push")
    world.hub.intel.ingest(world.principal("alice@a.example"), "shared", {"objects": [_green(1)]})
    peer_hub.fail = lambda request: 503 if request.method == "POST" and request.url.path.endswith("/objects/") else None
    run = fed.run("partner")
    assert run.status is RunStatus.FAILED and run.pushed == 0
    assert run.error == f"{OBJECTS_URL}: HTTP 503: failure 503 (gave up after 2 attempts)"
    assert fed.cursors(peer_id) == {}
    peer_hub.fail = lambda request: None
    clock.advance(600)
    assert fed.run("partner").pushed == 1
    assert [o["id"] for o in peer_hub.received] == [_green(1)["id"]]


def test_a_pull_counts_echoes_and_refusals_and_applies_the_peers_deletions(
    world: World, fed: Federation, clock: Clock, peer_hub: FakePeer
) -> None:
    intel = world.hub.intel
    peer_id = _peer(world, fed, "pull")
    author = card(world.org_a)
    echo = carrying(_green(1), origin=intel.hub_id, author=author)
    news = carrying(_green(2), origin="hub-far", author=author)
    broken = {**_green(3), "pattern": 42}
    peer_hub.pages = [([echo, news, broken], "2025-01-01T00:00:00.000001Z")]
    run = fed.run("partner")
    assert (run.status, run.pulled, run.echoes, run.rejected) == (RunStatus.PARTIAL, 1, 1, 1)
    assert len(run.problems) == 1 and run.problems[0].startswith(f"pull remote: {broken['id']}: ")
    assert stored_rows(world.hub, echo["id"]) == [] and len(stored_rows(world.hub, news["id"])) == 1
    # The peer lists the deletion of the version it sent: the copy here goes.
    peer_hub.tombstones = [
        {
            "id": news["id"],
            "version": news["modified"],
            "deleted": "2025-01-02T00:00:00Z",
            "origin_hub": "hub-far",
            "author": world.org_a.identity_id,
        }
    ]
    clock.advance(600)
    run = fed.run("partner")
    assert (run.status, run.deleted, run.pulled) == (RunStatus.OK, 1, 0)
    assert stored_rows(world.hub, news["id"])[0].deleted_us is not None
    assert fed.cursors(peer_id)[(world.collection.id, "remote", "pull-tombstones")] == "1:1"
    clock.advance(600)
    fed.run("partner")
    assert peer_hub.calls("/tombstones")[-1].url.params["after"] == "1:1"


def test_a_plain_taxii_server_is_synced_without_deletions(world: World, fed: Federation, peer_hub: FakePeer) -> None:
    peer_hub.hub_id = None
    peer_id = _peer(world, fed, "both")
    peer_hub.pages = [([_green(1)], "2025-01-01T00:00:00.000001Z")]
    world.hub.intel.ingest(world.principal("alice@a.example"), "shared", {"objects": [_green(2)]})
    run = fed.run("partner")
    assert (run.status, run.pulled, run.pushed) == (RunStatus.OK, 1, 1)
    assert peer_hub.calls("/tombstones") == []
    assert fed.get(peer_id).remote_hub_id is None
    # What it sent is filed as coming from its record here; and it is not sent back.
    row = stored_rows(world.hub, _green(1)["id"])[0]
    assert row.origin_hub == f"peer:{peer_id}" and row.via_peer_id == peer_id
    assert [o["id"] for o in peer_hub.received] == [_green(2)["id"]]


def test_a_peer_that_is_this_hub_fails_the_run(world: World, fed: Federation, peer_hub: FakePeer) -> None:
    peer_hub.hub_id = world.hub.intel.hub_id
    peer_id = _peer(world, fed, "both")
    run = fed.run("partner")
    assert run.status is RunStatus.FAILED and run.error == f"{PEER_ROOT}: the peer is this hub itself"
    assert fed.get(peer_id).remote_hub_id is None
    assert peer_hub.calls("/objects/") == []


def test_a_push_keeps_each_envelope_within_what_the_peer_accepts(
    world: World, fed: Federation, peer_hub: FakePeer
) -> None:
    _peer(world, fed, "push")
    alice = world.principal("alice@a.example")
    small = [_green(n) for n in range(1, 6)]
    huge = dict(_green(6), description="x" * 5000)
    assert world.hub.intel.ingest(alice, "shared", {"objects": [*small[:3], huge, *small[3:]]}).failure_count == 0
    peer_hub.max_content_length = 3000
    run = fed.run("partner")
    posts = [r for r in peer_hub.calls("/objects/") if r.method == "POST"]
    assert len(posts) >= 2 and all(len(r.content) <= 3000 for r in posts)
    assert [o["id"] for o in peer_hub.received] == [o["id"] for o in small]
    assert (run.status, run.pushed, run.rejected) == (RunStatus.PARTIAL, 5, 1)
    (problem,) = run.problems
    assert problem.startswith(f"push remote: {huge['id']}: ")
    assert problem.endswith(" bytes, more than the peer accepts in one request (3,000 bytes)")
    # Refusals are final: the checkpoint moved past it, and the next run sends nothing.
    assert fed.run("partner").pushed == 0


def test_a_peer_that_refuses_an_envelope_as_too_large_gets_it_in_halves(
    world: World, fed: Federation, peer_hub: FakePeer
) -> None:
    _peer(world, fed, "push")
    alice = world.principal("alice@a.example")
    small = [_green(n) for n in range(1, 6)]
    huge = dict(_green(6), description="x" * 5000)
    assert world.hub.intel.ingest(alice, "shared", {"objects": [*small[:3], huge, *small[3:]]}).failure_count == 0
    # A peer that does not say its limit, and answers 413 to a body above it.
    peer_hub.fail = lambda r: 413 if r.method == "POST" and len(r.content) > 3000 else None
    run = fed.run("partner")
    assert [o["id"] for o in peer_hub.received] == [o["id"] for o in small]
    assert (run.status, run.pushed, run.rejected) == (RunStatus.PARTIAL, 5, 1)
    assert run.problems == (f"push remote: {huge['id']}: refused by the peer as too large (HTTP 413)",)
    assert fed.run("partner").pushed == 0
