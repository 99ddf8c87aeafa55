"""The intelligence workspace pages: search, object detail, contribute, upload."""

from __future__ import annotations

import io
import re
from typing import Any

import orjson

from support import World, indicator

TLP_GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"


def test_numbers_and_dates_are_localised(world: World, browser: Any) -> None:
    objects = [indicator(n) for n in range(1, 1201)]
    world.hub.intel.ingest(world.principal("alice@a.example"), "shared", {"objects": objects})
    b = browser("alice@a.example")
    assert "1,200" in b.get("/search").text
    b.post("/language", {"lang": "fr"})
    assert "1\u202f200" in b.get("/search").text
    b.post("/language", {"lang": "ar"})
    page = b.get("/search").text
    assert "1٬200" in page or "١٬٢٠٠" in page or "1,200" in page


def test_search_filters_and_pages(world: World, browser: Any) -> None:
    alice = world.principal("alice@a.example")
    bob = world.principal("bob@b.example")
    world.hub.intel.ingest(alice, "shared", {"objects": [indicator(n, name=f"alpha {n}") for n in range(1, 31)]})
    world.hub.intel.ingest(
        bob, "shared", {"objects": [indicator(100, name="beta C2 server", description="Seen in the Gulf")]}
    )
    b = browser("carol@c.example")  # another organisation: AMBER objects are not hers
    assert "0 objects found" in b.get("/search").text
    world.hub.intel.ingest(
        alice, "shared", {"objects": [indicator(n, name=f"green {n}", tlp_ref=TLP_GREEN) for n in range(200, 230)]}
    )
    page = b.get("/search").text
    assert "30 objects found" in page and "Page 1 of 2" in page
    assert "Page 2 of 2" in b.get("/search?page=2").text
    a = browser("alice@a.example")
    assert "1 object found" in a.get("/search?q=alpha+27").text
    assert "1 object found" in browser("bob@b.example").get("/search?q=gulf").text
    assert "0 objects found" in a.get("/search?q=gulf").text
    assert "30 objects found" in a.get("/search?tlp=green").text
    assert "30 objects found" in a.get(f"/search?org={world.org_a.id}&tlp=amber").text
    assert "60 objects found" in a.get(f"/search?collection={world.collection.id}&type=indicator").text
    assert "0 objects found" in a.get("/search?type=malware").text
    assert "60 objects found" in a.get("/search?added_from=2000-01-01&added_to=2999-01-01").text
    assert "0 objects found" in a.get("/search?added_to=2000-01-01").text
    assert a.get("/search?added_from=yesterday").status_code == 400
    assert a.get("/search?q=10.0.0.7").text.count("/objects/indicator--") == 1


def test_object_detail_shows_versions_diff_relationships_sightings_and_why(world: World, browser: Any) -> None:
    alice = world.principal("alice@a.example")
    first = indicator(1, name="first name")
    second = indicator(1, name="second name", modified="2024-02-01T00:00:00.000Z")
    malware = {
        "type": "malware",
        "spec_version": "2.1",
        "id": "malware--31b940d4-6f7f-459a-80ea-9c1f17b58abc",
        "created": "2024-01-01T00:00:00.000Z",
        "modified": "2024-01-01T00:00:00.000Z",
        "name": "PoisonIvy",
        "is_family": True,
    }
    rel = {
        "type": "relationship",
        "spec_version": "2.1",
        "id": "relationship--44298a74-ba52-4f0c-87a3-1824e67d7fad",
        "created": "2024-01-01T00:00:00.000Z",
        "modified": "2024-01-01T00:00:00.000Z",
        "relationship_type": "indicates",
        "source_ref": first["id"],
        "target_ref": malware["id"],
    }
    sighting = {
        "type": "sighting",
        "spec_version": "2.1",
        "id": "sighting--ee20065d-2555-424f-ad9e-0f8428623c75",
        "created": "2024-03-01T00:00:00.000Z",
        "modified": "2024-03-01T00:00:00.000Z",
        "sighting_of_ref": first["id"],
        "count": 7,
    }
    world.hub.intel.ingest(alice, "shared", {"objects": [first, second, malware, rel, sighting]})
    b = browser("alice@a.example")
    page = b.get(f"/objects/{first['id']}").text
    assert "second name" in page and "TLP:AMBER" in page
    assert "Why you can see this" in page and "your organisation is the author" in page
    assert "Versions" in page and "first name" in page  # the diff shows the old name
    assert "<svg" in page and "PoisonIvy" in page and "indicates" in page
    assert "sighting--ee20065d" in page and ">7<" in page
    page = b.get(f"/objects/{malware['id']}").text
    assert "to this object" in page
    fr = browser("alice@a.example")
    fr.post("/language", {"lang": "fr"})
    assert "votre organisation en est l’autrice" in fr.get(f"/objects/{first['id']}").text
    assert b.get("/objects/indicator--00000000-0000-4000-8000-00000000ffff").status_code == 404


def test_contribute_an_indicator_with_live_pattern_check(world: World, browser: Any) -> None:
    b = browser("alice@a.example")
    ok = b.get("/contribute/check?kind=ipv4-addr&value=198.51.100.9")
    assert "[ipv4-addr:value = &#39;198.51.100.9&#39;]" in ok.text and "Valid STIX pattern" in ok.text
    bad = b.get("/contribute/check", params={"kind": "pattern", "value": "[ipv4-addr:value = "})
    assert "Not a valid pattern" in bad.text
    assert "hexadecimal" in b.get("/contribute/check?kind=file-sha256&value=abc").text
    response = b.post(
        "/contribute",
        {
            "kind": "domain-name",
            "value": "evil.example",
            "name": "Evil domain",
            "description": "Phishing",
            "tlp": "green",
            "collection": world.collection.id,
        },
    )
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/objects/indicator--")
    page = b.get(location).text
    assert "Evil domain" in page and "TLP:GREEN" in page and "Indicator shared." in page
    assert "1 object found" in browser("carol@c.example").get("/search?q=evil.example").text
    response = b.post("/contribute", {"kind": "file-md5", "value": "xyz", "tlp": "amber", "collection": "shared"})
    assert response.status_code == 400
    response = b.post(
        "/contribute", {"kind": "url", "value": "https://x.example", "tlp": "purple", "collection": "shared"}
    )
    assert response.status_code == 400


def test_upload_stix_reports_each_object(world: World, browser: Any) -> None:
    b = browser("alice@a.example")
    bundle = {
        "type": "bundle",
        "id": "bundle--1b2a3c4d-0000-4000-8000-000000000001",
        "objects": [indicator(5), {"type": "indicator", "id": "bad"}],
    }
    response = b.post(
        "/upload",
        {"collection": world.collection.id},
        files={"file": ("bundle.json", io.BytesIO(orjson.dumps(bundle)), "application/json")},
    )
    assert response.status_code == 200, response.text
    assert indicator(5)["id"] in response.text and "bad" in response.text
    assert re.search(r"<strong>1</strong> accepted", response.text)
    response = b.post(
        "/upload",
        {"collection": world.collection.id},
        files={"file": ("x.json", io.BytesIO(b"not json"), "application/json")},
    )
    assert response.status_code == 400 and "not JSON" in response.text
