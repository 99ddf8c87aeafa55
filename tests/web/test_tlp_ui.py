"""An AMBER+STRICT object of another organisation never appears on any page, in any list,
count or chart — not even to an administrator of another organisation."""

from __future__ import annotations

import re
from typing import Any

from ribat.intel.warninglists import Warninglist, WarninglistIndex
from support import World, indicator

AMBER_STRICT = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
SECRET = "zanzibarstrict"
T0 = "2024-01-01T00:00:00.000Z"


def _obj(kind: str, n: int, tlp: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "spec_version": "2.1",
        "id": f"{kind}--00000000-0000-4000-8000-{n:012d}",
        "created": T0,
        "modified": T0,
        "object_marking_refs": [tlp],
        **extra,
    }


def _seed(world: World) -> dict[str, Any]:
    alice = world.principal("alice@a.example")
    bob = world.principal("bob@b.example")
    world.hub.intel.warninglists = WarninglistIndex([Warninglist("Test networks", 1, "", "cidr", ("10.0.0.0/8",))])
    mine = indicator(1, tlp_ref=GREEN, name="alice green indicator")
    world.hub.intel.ingest(alice, "shared", {"objects": [mine]})
    strict_malware = _obj("malware", 2, AMBER_STRICT, name=f"{SECRET} malware", is_family=True)
    strict_identity = _obj("identity", 3, AMBER_STRICT, name=f"{SECRET} victim", sectors=[f"{SECRET}-sector"])
    strict_sighting = _obj("sighting", 4, AMBER_STRICT, sighting_of_ref=mine["id"], count=99)
    green_rel = _obj(
        "relationship", 5, GREEN, relationship_type="indicates", source_ref=mine["id"], target_ref=strict_malware["id"]
    )
    # Shares alice's value (and hits a warninglist): must not show among her related items or hits.
    twin = indicator(7, tlp_ref=AMBER_STRICT, name=f"{SECRET} twin", pattern=mine["pattern"])
    versioned_v1 = indicator(6, tlp_ref=GREEN, name="bob public name")
    versioned_v2 = indicator(6, tlp_ref=AMBER_STRICT, name=f"{SECRET} new name", modified="2024-06-01T00:00:00.000Z")
    world.hub.intel.ingest(
        bob,
        "shared",
        {"objects": [strict_malware, strict_identity, strict_sighting, green_rel, versioned_v1, versioned_v2, twin]},
    )
    return {
        "mine": mine,
        "malware": strict_malware,
        "identity": strict_identity,
        "sighting": strict_sighting,
        "versioned": versioned_v1,
    }


def test_amber_strict_of_another_org_never_shows(world: World, browser: Any) -> None:
    objects = _seed(world)
    for email in ("alice@a.example", "carol@c.example", "admin@hub.example"):
        b = browser(email)
        pages = [
            "/",
            "/search",
            f"/search?q={SECRET}",
            "/search?type=malware",
            "/search?type=identity",
            "/search?type=sighting",
            "/search?tlp=amber%2Bstrict",
            f"/objects/{objects['mine']['id']}",
            f"/objects/{objects['versioned']['id']}",
            "/warninglists",
        ]
        if email == "admin@hub.example":
            pages.append("/admin/collections")
        for path in pages:
            response = b.get(path)
            assert response.status_code == 200, (email, path)
            # The query itself is echoed in the search box and the links; nothing else may name it.
            text = response.text.replace(f"q={SECRET}", "").replace(f'value="{SECRET}"', "")
            assert SECRET not in text, (email, path)
            assert "TLP:AMBER+STRICT</span>" not in text, (email, path)
        for hidden in ("malware", "identity", "sighting"):
            assert b.get(f"/objects/{objects[hidden]['id']}").status_code == 404, (email, hidden)
        # Lists, counts and charts: exactly the three GREEN objects.
        assert "3 objects found" in b.get("/search").text, email
        assert "0 objects found" in b.get("/search?tlp=amber%2Bstrict").text, email
        dashboard = b.get("/").text
        assert re.search(r"<strong>3</strong> objects you can read", dashboard), email
        assert re.search(r"<strong>0</strong> new sightings", dashboard), email
        assert ">malware<" not in dashboard and ">identity<" not in dashboard, email
        assert "No identity you can read names a sector." in dashboard, email
        search = b.get("/search").text
        assert '<option value="malware"' not in search and '<option value="sighting"' not in search, email
        detail = b.get(f"/objects/{objects['mine']['id']}").text
        assert "an object you may not read" in detail, email
        assert "Nothing you may read shares a value with this object." in detail, email
        hits = b.get("/warninglists").text
        assert hits.count("Test networks") == 2 and "alice green indicator" in hits and "bob public name" in hits, email
        assert "No sighting you may read refers to this object." in detail, email
        versioned = b.get(f"/objects/{objects['versioned']['id']}").text
        assert "bob public name" in versioned and 'Versions <span class="count">(1)</span>' in versioned, email
    admin = browser("admin@hub.example").get("/admin/collections").text
    assert "Objects you can read: 3" in admin


def test_the_author_org_sees_its_own_amber_strict(world: World, browser: Any) -> None:
    objects = _seed(world)
    b = browser("bob@b.example")
    assert b.get(f"/objects/{objects['malware']['id']}").status_code == 200
    page = b.get("/").text
    assert re.search(r"<strong>7</strong> objects you can read", page)
    twin = b.get(f"/objects/{objects['mine']['id']}").text
    assert f"{SECRET} twin" in twin and "same value" in twin
    assert f"{SECRET}-sector" in page
    assert "your organisation is the author" in b.get(f"/objects/{objects['malware']['id']}").text
