"""TLP 2.0 over HTTP: each member sees exactly what the policy allows, on every read endpoint.

The coalition: Alpha (alice, analyst; alan, reader), Beta (bob) and Gamma (carol) in the
trust circle ``gulf``, Delta (dave), Epsilon (eve). Alice writes one object per TLP case;
Dave writes an AMBER+STRICT object in two versions and a GREEN one; Bob writes a RED one
for himself alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from e2e.live import (
    SHARE_EXTENSION,
    TLP_AMBER,
    TLP_AMBER_STRICT,
    TLP_CLEAR,
    TLP_GREEN,
    TLP_RED,
    Coalition,
    CollectionSpec,
    LiveHub,
    Org,
    User,
    get_all,
    post_objects,
)

pytestmark = pytest.mark.e2e

ALICE = "alice@alpha.example"
ALAN = "alan@alpha.example"
BOB = "bob@beta.example"
CAROL = "carol@gamma.example"
DAVE = "dave@delta.example"
EVE = "eve@epsilon.example"
EVERYONE = (ALICE, ALAN, BOB, CAROL, DAVE, EVE)
TLP1_WHITE = "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"

# object name -> who may read it
VISIBLE_TO: dict[str, frozenset[str]] = {
    "clear": frozenset(EVERYONE),
    "green": frozenset(EVERYONE),
    "tlp1-white": frozenset(EVERYONE),
    "amber": frozenset({ALICE, ALAN}),
    "amber-for-delta": frozenset({ALICE, ALAN, DAVE}),
    "amber-for-gulf": frozenset({ALICE, ALAN, BOB, CAROL}),
    "amber-for-delta-and-gulf": frozenset({ALICE, ALAN, BOB, CAROL, DAVE}),
    "amber-strict": frozenset({ALICE, ALAN}),
    "green-and-amber-strict": frozenset({ALICE, ALAN}),
    "red-for-bob": frozenset({ALICE, BOB}),
    "unmarked": frozenset({ALICE, ALAN}),  # the collection default is AMBER
    "delta-amber-strict": frozenset({DAVE}),
    "delta-green": frozenset(EVERYONE),
    "bob-red": frozenset({BOB}),
}


@pytest.fixture(scope="module")
def coalition() -> Coalition:
    return Coalition(
        orgs=(
            Org("alpha", "Alpha CERT", "MY"),
            Org("beta", "Beta CERT", "OM"),
            Org("gamma", "Gamma CERT", "NG"),
            Org("delta", "Delta CERT", "EG"),
            Org("epsilon", "Epsilon CERT", "ID"),
        ),
        users=(
            User(ALICE, "alpha"),
            User(ALAN, "alpha", role="reader"),
            User(BOB, "beta"),
            User(CAROL, "gamma"),
            User(DAVE, "delta"),
            User(EVE, "epsilon"),
        ),
        circles={"gulf": ("beta", "gamma")},
        collections=(
            CollectionSpec("intel", "Coalition intel", "amber", write=("community",)),
            CollectionSpec("open", "Open intel", "clear", write=("community",)),
            CollectionSpec("edge", "Edge cases", "amber", write=("community",)),
        ),
    )


def note(name: str, *, markings: tuple[str, ...] = (), share_with: tuple[str, ...] = (), n: int = 1) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid4()}",
        "created": "2024-05-01T00:00:00.000Z",
        "modified": f"2024-05-{n:02d}T00:00:00.000Z",
        "name": name,
        "pattern": f"[domain-name:value = '{name}.example']",
        "pattern_type": "stix",
        "valid_from": "2024-05-01T00:00:00Z",
    }
    if markings:
        obj["object_marking_refs"] = list(markings)
    if share_with:
        obj["extensions"] = {SHARE_EXTENSION: {"extension_type": "property-extension", "share_with": list(share_with)}}
    return obj


@pytest.fixture(scope="module")
def clients(live_hub: LiveHub) -> Iterator[dict[str, httpx.Client]]:
    opened = {email: live_hub.http(email) for email in EVERYONE}
    try:
        yield opened
    finally:
        for c in opened.values():
            c.close()


@pytest.fixture(scope="module")
def objects(live_hub: LiveHub, clients: dict[str, httpx.Client]) -> dict[str, list[dict[str, Any]]]:
    """Every object version in the ``intel`` collection by name (all versions, in order)."""
    by_alice = {
        "clear": note("clear", markings=(TLP_CLEAR,)),
        "green": note("green", markings=(TLP_GREEN,)),
        "tlp1-white": note("tlp1-white", markings=(TLP1_WHITE,)),
        "amber": note("amber", markings=(TLP_AMBER,)),
        "amber-for-delta": note("amber-for-delta", markings=(TLP_AMBER,), share_with=("org:delta",)),
        "amber-for-gulf": note("amber-for-gulf", markings=(TLP_AMBER,), share_with=("circle:gulf",)),
        "amber-for-delta-and-gulf": note(
            "amber-for-delta-and-gulf", markings=(TLP_AMBER,), share_with=("org:delta", "circle:gulf")
        ),
        "amber-strict": note("amber-strict", markings=(TLP_AMBER_STRICT,)),
        "green-and-amber-strict": note("green-and-amber-strict", markings=(TLP_GREEN, TLP_AMBER_STRICT)),
        "red-for-bob": note("red-for-bob", markings=(TLP_RED,), share_with=(f"user:{BOB}",)),
        "unmarked": note("unmarked"),
    }
    strict_v1 = note("delta-amber-strict", markings=(TLP_AMBER_STRICT,), n=1)
    strict_v2 = {**strict_v1, "modified": "2024-05-02T00:00:00.000Z", "description": "second version"}
    by_dave = {
        "delta-amber-strict": [strict_v1, strict_v2],
        "delta-green": [note("delta-green", markings=(TLP_GREEN,))],
    }
    by_bob = {"bob-red": note("bob-red", markings=(TLP_RED,))}

    url = live_hub.collection_url("intel")
    everything: dict[str, list[dict[str, Any]]] = {}
    for author, batch in (
        (ALICE, {k: [v] for k, v in by_alice.items()}),
        (DAVE, by_dave),
        (BOB, {k: [v] for k, v in by_bob.items()}),
    ):
        flat = [o for versions in batch.values() for o in versions]
        status = post_objects(clients[author], url, flat)
        assert (status["success_count"], status["failure_count"]) == (len(flat), 0), status
        everything.update(batch)
    assert set(everything) == set(VISIBLE_TO)
    return everything


def visible(
    email: str, objects: dict[str, list[dict[str, Any]]], *, all_versions: bool = False
) -> list[dict[str, Any]]:
    return [
        o
        for name, versions in objects.items()
        if email in VISIBLE_TO[name]
        for o in (versions if all_versions else versions[-1:])
    ]


def key(obj: dict[str, Any]) -> tuple[str, str]:
    return obj["id"], obj["modified"]


@pytest.mark.parametrize("email", EVERYONE)
def test_objects_endpoint_serves_exactly_what_tlp_allows(
    live_hub: LiveHub, clients: dict[str, httpx.Client], objects: dict[str, list[dict[str, Any]]], email: str
) -> None:
    url = f"{live_hub.collection_url('intel')}objects/"
    latest = get_all(clients[email], url, limit=2)
    assert sorted(latest, key=key) == sorted(visible(email, objects), key=key)
    every = get_all(clients[email], url, {"match[version]": "all"}, limit=3)
    assert sorted(every, key=key) == sorted(visible(email, objects, all_versions=True), key=key)


@pytest.mark.parametrize("email", EVERYONE)
def test_manifest_lists_exactly_what_tlp_allows(
    live_hub: LiveHub, clients: dict[str, httpx.Client], objects: dict[str, list[dict[str, Any]]], email: str
) -> None:
    url = f"{live_hub.collection_url('intel')}manifest/"
    entries = get_all(clients[email], url, {"match[version]": "all"}, limit=4)
    assert sorted((e["id"], e["version"]) for e in entries) == sorted(
        key(o) for o in visible(email, objects, all_versions=True)
    )


@pytest.mark.parametrize("email", EVERYONE)
def test_get_object_and_versions_answer_only_for_readable_objects(
    live_hub: LiveHub, clients: dict[str, httpx.Client], objects: dict[str, list[dict[str, Any]]], email: str
) -> None:
    base = f"{live_hub.collection_url('intel')}objects/"
    client = clients[email]
    unknown = f"indicator--{uuid.uuid4()}"
    unknown_got = client.get(f"{base}{unknown}/", params={"match[version]": "all"})
    unknown_listed = client.get(f"{base}{unknown}/versions/")
    for name, versions in objects.items():
        object_id = versions[0]["id"]
        got = client.get(f"{base}{object_id}/", params={"match[version]": "all"})
        listed = client.get(f"{base}{object_id}/versions/")
        if email in VISIBLE_TO[name]:
            assert got.status_code == 200, (name, got.text)
            assert got.json()["objects"] == versions
            assert listed.status_code == 200, (name, listed.text)
            assert sorted(listed.json()["versions"]) == sorted(v["modified"] for v in versions)
        else:
            # Exactly as if the object did not exist.
            assert (got.status_code, got.text.replace(object_id, unknown)) == (404, unknown_got.text), name
            assert (listed.status_code, listed.text.replace(object_id, unknown)) == (404, unknown_listed.text), name


@pytest.mark.parametrize("email", EVERYONE)
def test_page_sizes_and_more_count_only_readable_objects(
    live_hub: LiveHub, clients: dict[str, httpx.Client], objects: dict[str, list[dict[str, Any]]], email: str
) -> None:
    client = clients[email]
    n = len(visible(email, objects, all_versions=True))
    for endpoint in ("objects", "manifest"):
        url = f"{live_hub.collection_url('intel')}{endpoint}/"
        whole = client.get(url, params={"match[version]": "all", "limit": str(n)}).json()
        assert (len(whole["objects"]), whole["more"]) == (n, False), endpoint
        short = client.get(url, params={"match[version]": "all", "limit": str(n - 1)}).json()
        assert (len(short["objects"]), short["more"]) == (n - 1, True), endpoint
        rest = client.get(url, params={"match[version]": "all", "limit": str(n), "next": short["next"]}).json()
        assert (len(rest["objects"]), rest["more"]) == (1, False), endpoint
    manifest = client.get(f"{live_hub.collection_url('intel')}manifest/", params={"match[version]": "all"})
    added = [e["date_added"] for e in manifest.json()["objects"]]
    assert manifest.headers["X-TAXII-Date-Added-First"] == added[0]
    assert manifest.headers["X-TAXII-Date-Added-Last"] == added[-1]


@pytest.mark.parametrize("email", [e for e in EVERYONE if e != DAVE])
def test_another_orgs_amber_strict_object_never_appears(
    live_hub: LiveHub, clients: dict[str, httpx.Client], objects: dict[str, list[dict[str, Any]]], email: str
) -> None:
    client = clients[email]
    hidden = objects["delta-amber-strict"][0]["id"]
    coll = live_hub.collection_url("intel")
    for endpoint in ("objects", "manifest"):
        for params in (
            {"match[id]": hidden},
            {"match[id]": hidden, "match[version]": "all"},
            {"match[id]": hidden, "match[version]": "first"},
            {"match[id]": hidden, "match[version]": "2024-05-02T00:00:00.000Z"},
        ):
            response = client.get(f"{coll}{endpoint}/", params=params)
            assert response.status_code == 200
            assert response.json() == {"more": False}, (endpoint, params)
            assert "X-TAXII-Date-Added-First" not in response.headers
    # Deleting it answers exactly as for an object that does not exist (404 for a writer,
    # 403 for a reader, who may not write to the collection at all).
    unknown = f"indicator--{uuid.uuid4()}"
    gone = client.delete(f"{coll}objects/{hidden}/")
    never = client.delete(f"{coll}objects/{unknown}/")
    assert (gone.status_code, gone.text.replace(hidden, unknown)) == (never.status_code, never.text)
    assert gone.status_code == (403 if email == ALAN else 404)
    still = clients[DAVE].get(f"{coll}objects/{hidden}/versions/")
    assert still.status_code == 200
    assert len(still.json()["versions"]) == 2


def test_red_object_is_not_served_to_the_authors_own_colleague(
    live_hub: LiveHub, clients: dict[str, httpx.Client], objects: dict[str, list[dict[str, Any]]]
) -> None:
    red = objects["red-for-bob"][0]
    url = f"{live_hub.collection_url('intel')}objects/{red['id']}/"
    assert clients[ALICE].get(url).json()["objects"] == [red]
    assert clients[BOB].get(url).json()["objects"] == [red]
    assert clients[ALAN].get(url).status_code == 404
    assert clients[CAROL].get(url).status_code == 404


def test_unmarked_objects_take_the_collection_default(live_hub: LiveHub, clients: dict[str, httpx.Client]) -> None:
    obj = note("open-unmarked")
    url = live_hub.collection_url("open")
    post_objects(clients[ALICE], url, [obj])
    for email in EVERYONE:
        assert get_all(clients[email], f"{url}objects/") == [obj], email


def test_an_unknown_recipient_is_reported_for_that_object_alone(
    live_hub: LiveHub, clients: dict[str, httpx.Client]
) -> None:
    bad = note("unknown-recipient", markings=(TLP_AMBER,), share_with=("org:nowhere",))
    good = note("known-recipient", markings=(TLP_AMBER,), share_with=("org:beta",))
    status = post_objects(clients[ALICE], live_hub.collection_url("edge"), [bad, good])
    assert (status["success_count"], status["failure_count"]) == (1, 1)
    [failure] = status["failures"]
    assert failure["id"] == bad["id"]
    assert "org:nowhere" in failure["message"]
    url = f"{live_hub.collection_url('edge')}objects/"
    assert clients[BOB].get(f"{url}{good['id']}/").json()["objects"] == [good]
    assert clients[CAROL].get(f"{url}{good['id']}/").status_code == 404


def test_last_and_first_are_the_latest_and_earliest_versions_the_reader_may_see(
    live_hub: LiveHub, clients: dict[str, httpx.Client]
) -> None:
    """Dave shares version 1 as GREEN, then restricts version 2 to his own org. For Bob the
    collection holds version 1 only: it is his latest, on every endpoint, and nothing
    tells him that a later version exists."""
    v1 = note("restricted-later", markings=(TLP_GREEN,), n=1)
    v2 = {**v1, "modified": "2024-05-02T00:00:00.000Z", "object_marking_refs": [TLP_AMBER_STRICT]}
    coll = live_hub.collection_url("edge")
    post_objects(clients[DAVE], coll, [v1, v2])
    bob, dave = clients[BOB], clients[DAVE]
    assert bob.get(f"{coll}objects/", params={"match[id]": v1["id"], "match[version]": "all"}).json()["objects"] == [v1]
    for params in ({}, {"match[version]": "last"}, {"match[version]": "first"}):
        listed = bob.get(f"{coll}objects/", params={"match[id]": v1["id"], **params}).json()
        assert listed.get("objects") == [v1], params
        entries = bob.get(f"{coll}manifest/", params={"match[id]": v1["id"], **params}).json()
        assert [e["version"] for e in entries.get("objects", [])] == [v1["modified"]], params
    assert bob.get(f"{coll}objects/{v1['id']}/").json().get("objects") == [v1]
    assert dave.get(f"{coll}objects/{v1['id']}/").json()["objects"] == [v2]
    assert dave.get(f"{coll}objects/{v1['id']}/", params={"match[version]": "first"}).json()["objects"] == [v1]


def test_reposting_a_version_another_org_holds_neither_reveals_it_nor_loses_the_post(
    live_hub: LiveHub, clients: dict[str, httpx.Client]
) -> None:
    """Dave holds an AMBER+STRICT object; Bob posts the same object version (the same id and
    modified, as when two members import the same feed). Bob's status must read as for any
    new object, and Bob must be able to read what he was told was stored."""
    coll = live_hub.collection_url("edge")
    obj = note("held-by-delta", markings=(TLP_AMBER_STRICT,))
    post_objects(clients[DAVE], coll, [obj])
    fresh = note("fresh-for-bob", markings=(TLP_AMBER_STRICT,))
    status = post_objects(clients[BOB], coll, [obj, fresh])
    entries = {s["id"]: s for s in status["successes"]}
    assert entries[obj["id"]].keys() == entries[fresh["id"]].keys(), status
    assert clients[BOB].get(f"{coll}objects/{obj['id']}/").json().get("objects") == [obj]
    assert clients[DAVE].get(f"{coll}objects/{obj['id']}/").json().get("objects") == [obj]
    assert clients[CAROL].get(f"{coll}objects/{obj['id']}/").status_code == 404


def test_reposting_a_version_another_org_deleted_makes_it_the_posters(
    live_hub: LiveHub, clients: dict[str, httpx.Client]
) -> None:
    """Dave deletes his AMBER+STRICT object; Bob then posts the same version. It is Bob's
    now: Bob reads it, and Dave does not get back what he deleted."""
    coll = live_hub.collection_url("edge")
    obj = note("deleted-by-delta", markings=(TLP_AMBER_STRICT,))
    post_objects(clients[DAVE], coll, [obj])
    assert clients[DAVE].delete(f"{coll}objects/{obj['id']}/").status_code == 200
    status = post_objects(clients[BOB], coll, [obj])
    assert status["success_count"] == 1
    assert clients[BOB].get(f"{coll}objects/{obj['id']}/").json().get("objects") == [obj]
    assert clients[DAVE].get(f"{coll}objects/{obj['id']}/").status_code == 404
