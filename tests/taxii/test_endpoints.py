"""The eleven TAXII 2.1 endpoints, in process."""

from __future__ import annotations

import base64

import orjson

from support import TAXII, AsgiClient, World, indicator, taxii_headers

GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
ROOT = "/taxii2/root"


def post(client: AsgiClient, world: World, email: str, objects: list[object], collection: str | None = None):  # type: ignore[no-untyped-def]
    cid = collection or world.collection.id
    return client.post(
        f"{ROOT}/collections/{cid}/objects/",
        content=orjson.dumps({"objects": objects}),
        headers=taxii_headers(world, email),
    )


def test_discovery_and_api_root(client: AsgiClient, world: World) -> None:
    r = client.get("/taxii2/", headers=taxii_headers(world, "bob@b.example"))
    assert r.status_code == 200
    assert r.headers["content-type"] == TAXII
    assert r.json()["api_roots"] == ["/taxii2/root/"]
    r = client.get(f"{ROOT}/", headers=taxii_headers(world, "bob@b.example"))
    assert r.json()["versions"] == [TAXII]
    assert r.json()["max_content_length"] == world.hub.settings.max_envelope_bytes


def test_collections_list_read_and_write_flags(client: AsgiClient, world: World) -> None:
    r = client.get(f"{ROOT}/collections/", headers=taxii_headers(world, "anna@a.example"))
    [c] = r.json()["collections"]
    assert c["id"] == world.collection.id
    assert (c["can_read"], c["can_write"]) == (True, False)  # a reader
    assert c["media_types"] == ["application/stix+json;version=2.1"]
    r = client.get(f"{ROOT}/collections/shared/", headers=taxii_headers(world, "bob@b.example"))
    assert (r.json()["can_read"], r.json()["can_write"]) == (True, True)


def test_post_returns_a_complete_status_that_can_be_fetched(client: AsgiClient, world: World) -> None:
    r = post(client, world, "alice@a.example", [indicator(1, tlp_ref=GREEN), indicator(2, tlp_ref=GREEN)])
    assert r.status_code == 202
    status = r.json()
    assert status["status"] == "complete"
    assert (status["total_count"], status["success_count"], status["failure_count"]) == (2, 2, 0)
    r = client.get(f"{ROOT}/status/{status['id']}/", headers=taxii_headers(world, "alice@a.example"))
    assert r.json() == status
    r = client.get(f"{ROOT}/status/{status['id']}/", headers=taxii_headers(world, "bob@b.example"))
    assert r.status_code == 404


def test_objects_manifest_and_paging_headers(client: AsgiClient, world: World) -> None:
    post(client, world, "alice@a.example", [indicator(n, tlp_ref=GREEN) for n in range(5)])
    h = taxii_headers(world, "bob@b.example")
    r = client.get(f"{ROOT}/collections/shared/objects/", params={"limit": 2}, headers=h)
    body = r.json()
    assert body["more"] is True and len(body["objects"]) == 2
    first, last = r.headers["X-TAXII-Date-Added-First"], r.headers["X-TAXII-Date-Added-Last"]
    assert first < last
    r2 = client.get(f"{ROOT}/collections/shared/objects/", params={"limit": 2, "next": body["next"]}, headers=h)
    assert r2.headers["X-TAXII-Date-Added-First"] > last
    m = client.get(f"{ROOT}/collections/shared/manifest/", params={"match[type]": "indicator"}, headers=h).json()
    assert len(m["objects"]) == 5
    assert set(m["objects"][0]) == {"id", "date_added", "version", "media_type"}
    after = client.get(f"{ROOT}/collections/shared/objects/", params={"added_after": last}, headers=h).json()
    assert len(after["objects"]) == 3


def test_empty_pages_have_no_objects_key(client: AsgiClient, world: World) -> None:
    h = taxii_headers(world, "bob@b.example")
    r = client.get(f"{ROOT}/collections/shared/objects/", headers=h)
    assert r.json() == {"more": False}
    assert "X-TAXII-Date-Added-First" not in r.headers


def test_object_versions_and_delete(client: AsgiClient, world: World) -> None:
    v1, v2 = "2024-01-01T00:00:00.000Z", "2024-05-01T00:00:00.000Z"
    post(client, world, "alice@a.example", [indicator(1, tlp_ref=GREEN, modified=v) for v in (v1, v2)])
    oid = indicator(1)["id"]
    h = taxii_headers(world, "alice@a.example")
    r = client.get(f"{ROOT}/collections/shared/objects/{oid}/", headers=h)
    assert [o["modified"] for o in r.json()["objects"]] == [v2]
    r = client.get(f"{ROOT}/collections/shared/objects/{oid}/", params={"match[version]": "all"}, headers=h)
    assert sorted(o["modified"] for o in r.json()["objects"]) == [v1, v2]
    r = client.get(f"{ROOT}/collections/shared/objects/{oid}/versions/", headers=h)
    assert sorted(r.json()["versions"]) == [v1, v2]
    r = client.delete(f"{ROOT}/collections/shared/objects/{oid}/", params={"match[version]": v2}, headers=h)
    assert r.status_code == 200
    r = client.get(f"{ROOT}/collections/shared/objects/{oid}/versions/", headers=h)
    assert r.json()["versions"] == [v1]
    r = client.delete(f"{ROOT}/collections/shared/objects/{oid}/", headers=taxii_headers(world, "bob@b.example"))
    assert r.status_code == 403
    r = client.delete(f"{ROOT}/collections/shared/objects/{oid}/", headers=h)
    assert r.status_code == 200
    r = client.get(f"{ROOT}/collections/shared/objects/{oid}/", headers=h)
    assert r.status_code == 404


def test_basic_auth_with_password_and_with_key_prefix(client: AsgiClient, world: World) -> None:
    world.hub.accounts.set_password("bob@b.example", "a long enough password")
    creds = base64.b64encode(b"bob@b.example:a long enough password").decode()
    r = client.get("/taxii2/", headers={"Accept": TAXII, "Authorization": f"Basic {creds}"})
    assert r.status_code == 200
    key = world.keys["bob@b.example"]
    prefix = key.split("_")[1]
    creds = base64.b64encode(f"{prefix}:{key}".encode()).decode()
    r = client.get("/taxii2/", headers={"Accept": TAXII, "Authorization": f"Basic {creds}"})
    assert r.status_code == 200
    other_prefix = world.keys["alice@a.example"].split("_")[1]
    creds = base64.b64encode(f"{other_prefix}:{key}".encode()).decode()
    r = client.get("/taxii2/", headers={"Accept": TAXII, "Authorization": f"Basic {creds}"})
    assert r.status_code == 401


def test_post_accepts_a_stix_bundle_media_type(client: AsgiClient, world: World) -> None:
    bundle = {"type": "bundle", "id": "bundle--6b9c5e3e-1b0b-4f5e-8d6e-0a1b2c3d4e5f", "objects": [indicator(1)]}
    r = client.post(
        f"{ROOT}/collections/shared/objects/",
        content=orjson.dumps(bundle),
        headers=taxii_headers(world, "alice@a.example", **{"Content-Type": "application/stix+json;version=2.1"}),
    )
    assert r.status_code == 202 and r.json()["success_count"] == 1
