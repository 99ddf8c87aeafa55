"""/api/v1/related and /api/v1/warninglist-hits, in process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ribat.hub import Hub
from ribat.intel.warninglists import Warninglist, WarninglistIndex
from ribat.web import create_app
from support import AsgiClient, World, indicator

GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
RED = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"


@pytest.fixture
def client(hub: Hub) -> Iterator[tuple[World, AsgiClient]]:
    world = World(hub)
    hub.intel.warninglists = WarninglistIndex([Warninglist("RFC 5737", 1, "", "cidr", ("192.0.2.0/24",))])
    status = hub.intel.ingest(
        world.principal("alice@a.example"),
        "shared",
        {
            "objects": [
                indicator(1, pattern="[domain-name:value = 'evil.example']", object_marking_refs=[GREEN]),
                indicator(2, pattern="[url:value = 'http://www.evil.example/x']", object_marking_refs=[RED]),
                indicator(3, pattern="[ipv4-addr:value = '192.0.2.10']", object_marking_refs=[GREEN]),
            ]
        },
    )
    assert status.failure_count == 0
    c = AsgiClient(create_app(hub=hub))
    try:
        yield world, c
    finally:
        c.close()


def test_related_lists_what_the_caller_may_read(client: tuple[World, AsgiClient]) -> None:
    world, c = client
    r = c.get("/api/v1/related", params={"q": "evil.example"}, headers=world.auth("bob@b.example"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["asked"] == [{"kind": "domain", "value": "evil.example"}]
    assert [(i["id"], i["relation"], i["tlp"]) for i in body["related"]] == [(indicator(1)["id"], "same", "TLP:GREEN")]
    mine = c.get("/api/v1/related", params={"q": "evil.example"}, headers=world.auth("alice@a.example")).json()
    assert {i["relation"] for i in mine["related"]} == {"same", "sub-domain"}


def test_related_needs_credentials_and_a_value(client: tuple[World, AsgiClient]) -> None:
    world, c = client
    assert c.get("/api/v1/related", params={"q": "evil.example"}).status_code == 401
    r = c.get("/api/v1/related", params={"q": "what is this"}, headers=world.auth("bob@b.example"))
    assert r.status_code == 400 and "query" in r.text
    assert c.get("/api/v1/related", headers=world.auth("bob@b.example")).status_code in (400, 422)


def test_warninglist_hits_are_listed_with_the_list_and_entry(client: tuple[World, AsgiClient]) -> None:
    world, c = client
    r = c.get("/api/v1/warninglist-hits", headers=world.auth("bob@b.example"))
    assert r.status_code == 200, r.text
    assert [(h["id"], h["list"], h["value"], h["entry"]) for h in r.json()["hits"]] == [
        (indicator(3)["id"], "RFC 5737", "192.0.2.10", "192.0.2.0/24")
    ]
