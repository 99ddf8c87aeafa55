"""What a hub does with objects a peer hub sends (``Intel.ingest`` from a peer's sync account): the provenance and
local recipient extensions come off, echoes are not stored, the version is filed under its author organisation (by
STIX identity, registered when new), AMBER recipients are mapped by identity, and the TLP it was shared under is a
floor. And what a hub adds when it sends (``_carried_bodies``). One hub plays both sides; every test runs on SQLite
and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from ribat.accounts import OrgKind, Principal
from ribat.errors import NotFoundError
from ribat.intel import SHARE_EXTENSION, Grant, ObjectFilter, Tlp
from ribat.intel.carried import PROVENANCE_EXTENSION, AuthorCard
from ribat.intel.service import ALREADY, ECHO
from support import World, indicator

from ._support import TLP, add_peer, card, carrying, federation, stored_rows

OTHER_EXTENSION = "extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e"
NEW_AUTHOR = AuthorCard(
    "identity--7d2a4c9e-5b1f-4e8a-9c3d-2f6b8a1e0c54", "CERT Maroc", "ma-cert", "MA", OrgKind.NATIONAL_CERT.value
)


@pytest.fixture
def sync(world: World) -> Principal:
    """The sync account of the peer hub ``partner`` (its operator: CERT B), which may send AMBER."""
    world.hub.intel.create_collection("Open", alias="open", default_tlp=Tlp.CLEAR)
    _, _, principal = add_peer(world, pairs=[("shared", ""), ("open", "")], max_tlp="amber")
    return principal


def _ingest(world: World, sync: Principal, objects: list[dict[str, Any]], collection: str = "shared") -> Any:
    return world.hub.intel.ingest(sync, collection, {"objects": objects})


def _only(world: World, object_id: str) -> Any:
    (row,) = stored_rows(world.hub, object_id)
    return row


def test_a_peers_object_is_stored_without_its_provenance_or_local_recipients_and_keeps_other_extensions(
    world: World, sync: Principal
) -> None:
    obj = indicator(1, tlp_ref=TLP["green"])
    obj["extensions"] = {
        OTHER_EXTENSION: {"extension_type": "property-extension", "rank": 3},
        SHARE_EXTENSION: {"extension_type": "property-extension", "share_with": ["org:somewhere-else"]},
    }
    sent = carrying(obj, origin="hub-far", hops=["hub-far", "hub-mid"], author=card(world.org_a))
    status = _ingest(world, sync, [sent])
    assert (status.success_count, status.failure_count) == (1, 0)
    assert status.successes[0].message is None
    row = _only(world, obj["id"])
    body = json.loads(row.body)
    assert body["extensions"] == {OTHER_EXTENSION: {"extension_type": "property-extension", "rank": 3}}
    assert {k: v for k, v in body.items() if k != "extensions"} == {k: v for k, v in obj.items() if k != "extensions"}
    peer = federation(world.hub).get("partner")
    assert (row.origin_hub, row.hops, row.via_peer_id) == ("hub-far", ",hub-far,hub-mid,", peer.id)
    assert row.author_org_id == world.org_a.id  # the author the card names, not the peer's organisation


def test_an_object_without_provenance_is_the_peers_own(world: World, sync: Principal) -> None:
    fed = federation(world.hub)
    obj = indicator(2, tlp_ref=TLP["green"])
    obj["extensions"] = {SHARE_EXTENSION: {"extension_type": "property-extension", "share_with": ["org:cert-a"]}}
    assert _ingest(world, sync, [obj]).success_count == 1
    peer = fed.get("partner")
    row = _only(world, obj["id"])
    assert "extensions" not in json.loads(row.body)
    assert row.author_org_id == world.org_b.id
    # Before the peer has said which hub it is, the origin is its record here.
    assert (row.origin_hub, row.hops, row.via_peer_id) == (f"peer:{peer.id}", f",peer:{peer.id},", peer.id)
    fed.hello(sync, "hub-partner")
    later = indicator(3, tlp_ref=TLP["green"])
    _ingest(world, sync, [later])
    row = _only(world, later["id"])
    assert (row.origin_hub, row.hops) == ("hub-partner", ",hub-partner,")


def test_an_object_that_came_from_this_hub_is_not_stored_and_is_reported_as_an_echo(
    world: World, sync: Principal
) -> None:
    here = world.hub.intel.hub_id
    born_here = carrying(indicator(10, tlp_ref=TLP["green"]), origin=here, hops=[here, "hub-b"])
    passed_here = carrying(indicator(11, tlp_ref=TLP["green"]), origin="hub-far", hops=["hub-far", here, "hub-b"])
    news = carrying(indicator(12, tlp_ref=TLP["green"]), origin="hub-far", hops=["hub-far", "hub-b"])
    status = _ingest(world, sync, [born_here, passed_here, news])
    assert (status.success_count, status.failure_count) == (3, 0)
    messages = {d.id: d.message for d in status.successes}
    assert messages == {born_here["id"]: ECHO, passed_here["id"]: ECHO, news["id"]: None}
    assert stored_rows(world.hub, born_here["id"]) == [] and stored_rows(world.hub, passed_here["id"]) == []
    assert world.hub.intel.count("shared") == 1


def test_a_new_author_is_registered_by_its_identity_and_found_again(world: World, sync: Principal) -> None:
    acc = world.hub.accounts
    taken = AuthorCard("identity--0c9e4b1a-3f6d-4b2e-8a7c-5d1e9f2a6b38", "Another CERT A", "cert-a", "DZ", "unknown")
    first = [
        carrying(indicator(20, tlp_ref=TLP["green"]), author=NEW_AUTHOR),
        carrying(indicator(21, tlp_ref=TLP["green"]), author=NEW_AUTHOR),
        carrying(indicator(22, tlp_ref=TLP["green"]), author=taken),
    ]
    assert _ingest(world, sync, first).success_count == 3
    org = acc.get_org(NEW_AUTHOR.identity)
    assert (org.name, org.short_name, org.country, org.kind) == ("CERT Maroc", "ma-cert", "MA", OrgKind.NATIONAL_CERT)
    assert {_only(world, o["id"]).author_org_id for o in first[:2]} == {org.id}
    # A short name already used here gets the identity's tail; a kind unknown here becomes partner.
    other = acc.get_org(taken.identity)
    assert other.id != world.org_a.id
    assert (other.short_name, other.kind) == ("cert-a-5d1e9f2a", OrgKind.PARTNER)
    orgs = len(acc.list_orgs())
    again = carrying(indicator(23, tlp_ref=TLP["green"]), author=NEW_AUTHOR)
    assert _ingest(world, sync, [again]).success_count == 1
    assert len(acc.list_orgs()) == orgs and _only(world, again["id"]).author_org_id == org.id


def test_a_malformed_author_fails_its_object_and_not_the_others(world: World, sync: Principal) -> None:
    bad_country = AuthorCard(
        "identity--4e1f7a2c-9b3d-4c8e-a6f5-0d2b7e9c1a83", "Nowhere CERT", "nowhere", "ZZ", "partner"
    )
    bad_hops = carrying(indicator(31, tlp_ref=TLP["green"]))
    bad_hops["extensions"][PROVENANCE_EXTENSION]["hops"] = "hub-far"
    objects = [
        carrying(indicator(30, tlp_ref=TLP["green"]), author=bad_country),
        bad_hops,
        carrying(indicator(32, tlp_ref=TLP["green"]), author=NEW_AUTHOR),
        indicator(33, tlp_ref=TLP["green"]),
    ]
    status = _ingest(world, sync, objects)
    assert (status.success_count, status.failure_count) == (2, 2)
    failures = {d.id: d.message or "" for d in status.failures}
    assert set(failures) == {objects[0]["id"], objects[1]["id"]}
    assert failures[objects[0]["id"]].startswith(f"provenance extension: author {bad_country.identity}: country")
    assert "'ZZ'" in failures[objects[0]["id"]]
    assert failures[objects[1]["id"]] == "provenance extension: hops must be a list of hub ids"
    assert {d.id for d in status.successes} == {objects[2]["id"], objects[3]["id"]}
    assert world.hub.intel.count("shared") == 2


def test_amber_recipients_are_mapped_by_identity_and_unknown_ones_dropped(world: World, sync: Principal) -> None:
    acc, intel = world.hub.accounts, world.hub.intel
    unknown = f"identity--{uuid.UUID(int=99, version=4)}"
    obj = carrying(
        indicator(40, tlp_ref=TLP["amber"]),
        author=NEW_AUTHOR,
        recipients=[world.org_a.identity_id, unknown],
        tlp=Tlp.AMBER,
    )
    assert _ingest(world, sync, [obj]).success_count == 1
    row = _only(world, obj["id"])
    assert row.tlp == int(Tlp.AMBER)
    assert intel.store.recipients([row.pk]) == {row.pk: (("org", world.org_a.id),)}
    with pytest.raises(NotFoundError):  # not registered: the identity is nobody here
        acc.get_org(unknown)

    def sees(email: str) -> bool:
        page = intel.objects(world.principal(email), "shared", ObjectFilter(ids=(obj["id"],)))
        return bool(page.bodies)

    assert sees("alice@a.example")  # CERT A is a named recipient
    assert not sees("carol@c.example") and not sees("bob@b.example")


@pytest.mark.parametrize(
    ("marking", "shared_as", "stored"),
    [
        pytest.param(None, Tlp.GREEN, Tlp.GREEN, id="unmarked-shared-green"),
        pytest.param(None, None, Tlp.CLEAR, id="unmarked-no-tlp-collection-default"),
        pytest.param("clear", Tlp.GREEN, Tlp.GREEN, id="marked-clear-shared-green"),
        pytest.param("amber", Tlp.GREEN, Tlp.AMBER, id="marked-above-the-floor"),
        pytest.param("green", None, Tlp.GREEN, id="marked-no-tlp"),
    ],
)
def test_the_tlp_a_peer_shared_under_is_a_floor(
    world: World, sync: Principal, marking: str | None, shared_as: Tlp | None, stored: Tlp
) -> None:
    obj = carrying(indicator(50, tlp_ref=TLP[marking] if marking else None), author=NEW_AUTHOR, tlp=shared_as)
    assert _ingest(world, sync, [obj], collection="open").success_count == 1
    assert _only(world, obj["id"]).tlp == int(stored)


def test_a_resent_version_is_already_stored(world: World, sync: Principal) -> None:
    obj = carrying(indicator(60, tlp_ref=TLP["green"]), author=NEW_AUTHOR)
    assert _ingest(world, sync, [dict(obj)]).successes[0].message is None
    again = carrying(indicator(60, tlp_ref=TLP["green"]), author=NEW_AUTHOR)
    assert _ingest(world, sync, [again]).successes[0].message == ALREADY
    assert len(stored_rows(world.hub, obj["id"])) == 1


# -- what a hub sends ----------------------------------------------------------------------------------


def _sent(world: World, principal: Principal, collection: str = "shared") -> dict[str, dict[str, Any]]:
    page = world.hub.intel.objects(principal, collection, ObjectFilter(versions=("all",)))
    return {o["id"]: o for o in (json.loads(b) for b in page.bodies)}


def test_a_local_object_is_sent_with_its_origin_author_recipients_and_tlp(world: World, sync: Principal) -> None:
    intel = world.hub.intel
    here = intel.hub_id
    amber = indicator(70, tlp_ref=TLP["amber"])
    amber["extensions"] = {
        SHARE_EXTENSION: {"extension_type": "property-extension", "share_with": ["circle:wg", "org:cert-c"]}
    }
    unmarked = indicator(71)  # the collection's default, AMBER, with no recipient: CERT B may not read it
    green = indicator(72, tlp_ref=TLP["green"])
    status = intel.ingest(world.principal("alice@a.example"), "shared", {"objects": [amber, unmarked, green]})
    assert status.failure_count == 0
    sent = _sent(world, sync)
    assert set(sent) == {amber["id"], green["id"]}
    ext = sent[amber["id"]]["extensions"][PROVENANCE_EXTENSION]
    circle_members = {world.org_a.identity_id, world.org_b.identity_id}
    assert ext == {
        "extension_type": "property-extension",
        "origin_hub": here,
        "hops": [here],
        "author": card(world.org_a).as_json(),
        "recipients": sorted(circle_members | {world.org_c.identity_id}),
        "tlp": "TLP:AMBER",
    }
    assert set(sent[amber["id"]]["extensions"]) == {PROVENANCE_EXTENSION}  # share_with names mean nothing there
    green_ext = sent[green["id"]]["extensions"][PROVENANCE_EXTENSION]
    assert (green_ext["tlp"], green_ext["hops"], "recipients" in green_ext) == ("TLP:GREEN", [here], False)
    # A reader of this hub sees the objects as their authors wrote them.
    local = _sent(world, world.principal("alice@a.example"))
    assert PROVENANCE_EXTENSION not in json.dumps(local)


def test_a_received_object_is_sent_on_with_this_hub_added_to_its_hops_but_not_back(
    world: World, sync: Principal
) -> None:
    here = world.hub.intel.hub_id
    _, _, onward = add_peer(world, "onward", org="cert-c")
    obj = carrying(
        indicator(80), origin="hub-far", hops=["hub-far", "hub-mid"], author=NEW_AUTHOR, tlp=Tlp.GREEN
    )  # unmarked, shared as GREEN: the collection's AMBER default does not apply
    assert _ingest(world, sync, [obj]).success_count == 1
    sent = _sent(world, onward)
    ext = sent[obj["id"]]["extensions"][PROVENANCE_EXTENSION]
    assert ext["origin_hub"] == "hub-far"
    assert ext["hops"] == ["hub-far", "hub-mid", here]
    assert ext["author"] == NEW_AUTHOR.as_json()
    assert ext["tlp"] == "TLP:GREEN"
    assert _sent(world, sync) == {}  # never back to the peer it came from


def test_grants_of_a_receiving_collection_are_the_peers_only(world: World) -> None:
    # A peer's sync account may write only where it is granted: a collection not mapped is not its to fill.
    intel = world.hub.intel
    intel.create_collection("Private", alias="private", grants=[Grant("org", world.org_a.id, True, True)])
    _, _, sync = add_peer(world, "solo", org="cert-c")
    with pytest.raises(NotFoundError):
        intel.ingest(sync, "private", {"objects": [indicator(90)]})
    assert intel.count("private") == 0
