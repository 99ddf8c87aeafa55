"""Pins the TAXII error shape (TAXII 2.1 section 3.6.1) and the status code of every error."""

from __future__ import annotations

import orjson
import pytest

from support import TAXII, AsgiClient, World, indicator, taxii_headers

ROOT = "/taxii2/root"


def assert_taxii_error(r, status: int, words: str) -> None:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == TAXII
    body = r.json()
    assert body["http_status"] == str(status)
    assert isinstance(body["title"], str) and body["title"]
    assert words.lower() in body["description"].lower(), body


def objects_url(world: World) -> str:
    return f"{ROOT}/collections/{world.collection.id}/objects/"


def test_malformed_json(client: AsgiClient, world: World) -> None:
    r = client.post(objects_url(world), content=b'{"objects": [', headers=taxii_headers(world, "alice@a.example"))
    assert_taxii_error(r, 422, "not valid JSON")


def test_body_that_is_not_an_envelope(client: AsgiClient, world: World) -> None:
    r = client.post(objects_url(world), content=b"[1, 2]", headers=taxii_headers(world, "alice@a.example"))
    assert_taxii_error(r, 422, "envelope")


def test_mixed_envelope_lists_each_invalid_object_with_its_reason(client: AsgiClient, world: World) -> None:
    bad = indicator(2)
    del bad["pattern"]
    r = client.post(
        objects_url(world),
        content=orjson.dumps({"objects": [indicator(1), bad, 42]}),
        headers=taxii_headers(world, "alice@a.example"),
    )
    assert r.status_code == 202
    status = r.json()
    assert status["success_count"] == 1 and status["failure_count"] == 2
    reasons = {f["id"]: f["message"] for f in status["failures"]}
    assert "pattern" in reasons[bad["id"]]
    assert any(k.startswith("objects[2]") or k == "" for k in reasons) or len(reasons) == 2


@pytest.mark.parametrize("accept", ["application/json", "application/taxii+json;version=2.0", "text/html"])
def test_wrong_accept_is_406(client: AsgiClient, world: World, accept: str) -> None:
    r = client.get(f"{ROOT}/collections/", headers=taxii_headers(world, "bob@b.example", Accept=accept))
    assert_taxii_error(r, 406, "application/taxii+json")


@pytest.mark.parametrize("ctype", ["application/json", "text/plain", "application/taxii+json;version=2.0"])
def test_wrong_content_type_is_415(client: AsgiClient, world: World, ctype: str) -> None:
    r = client.post(
        objects_url(world),
        content=orjson.dumps({"objects": [indicator(1)]}),
        headers=taxii_headers(world, "alice@a.example", **{"Content-Type": ctype}),
    )
    assert_taxii_error(r, 415, "application/taxii+json")


def test_oversized_body_is_413(client: AsgiClient, world: World) -> None:
    limit = world.hub.settings.max_envelope_bytes
    r = client.post(
        objects_url(world),
        content=b" " * (limit + 1),
        headers=taxii_headers(world, "alice@a.example"),
    )
    assert_taxii_error(r, 413, "exceeds the limit")


@pytest.mark.parametrize("limit", ["0", "-1", "ten", "1.5"])
def test_bad_limit_is_400(client: AsgiClient, world: World, limit: str) -> None:
    r = client.get(objects_url(world), params={"limit": limit}, headers=taxii_headers(world, "bob@b.example"))
    assert_taxii_error(r, 400, "limit")


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"added_after": "yesterday"}, "added_after"),
        ({"match[version]": "newest"}, "match[version]"),
        ({"match[spec_version]": "3.0"}, "match[spec_version]"),
        ({"match[colour]": "red"}, "unsupported"),
        ({"next": "forged.token"}, "next token"),
    ],
)
def test_bad_filters_are_400(client: AsgiClient, world: World, params: dict[str, str], words: str) -> None:
    r = client.get(objects_url(world), params=params, headers=taxii_headers(world, "bob@b.example"))
    assert_taxii_error(r, 400, words)


@pytest.mark.parametrize(
    "path",
    [
        "/taxii2/other/",
        f"{ROOT}/collections/no-such-collection/",
        f"{ROOT}/collections/shared/objects/indicator--00000000-0000-4000-8000-000000000000/",
        f"{ROOT}/collections/shared/objects/indicator--00000000-0000-4000-8000-000000000000/versions/",
        f"{ROOT}/status/00000000-0000-4000-8000-000000000000/",
    ],
)
def test_unknown_ids_are_404(client: AsgiClient, world: World, path: str) -> None:
    r = client.get(path, headers=taxii_headers(world, "bob@b.example"))
    assert_taxii_error(r, 404, "not found")


def test_missing_credentials_are_401_with_a_challenge(client: AsgiClient, world: World) -> None:
    r = client.get("/taxii2/", headers={"Accept": TAXII})
    assert_taxii_error(r, 401, "authentication required")
    assert "Basic" in r.headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    "authorization",
    ["Bearer rbt_deadbeef_nope", "Basic !!!", "Basic dXNlcg==", "Digest abc", "Bearer "],
)
def test_wrong_credentials_are_401(client: AsgiClient, world: World, authorization: str) -> None:
    r = client.get("/taxii2/", headers={"Accept": TAXII, "Authorization": authorization})
    assert_taxii_error(r, 401, "")


def test_a_revoked_key_is_401(client: AsgiClient, world: World) -> None:
    key = world.keys["bob@b.example"]
    world.hub.accounts.revoke_key(key.split("_")[1])
    r = client.get("/taxii2/", headers={"Accept": TAXII, "Authorization": f"Bearer {key}"})
    assert_taxii_error(r, 401, "revoked")


def test_writing_without_permission_is_403(client: AsgiClient, world: World) -> None:
    r = client.post(
        objects_url(world),
        content=orjson.dumps({"objects": [indicator(1)]}),
        headers=taxii_headers(world, "anna@a.example"),
    )
    assert_taxii_error(r, 403, "not allowed to write")


def test_repeated_failures_are_rate_limited(client: AsgiClient, world: World) -> None:
    limit = world.hub.settings.login_rate_limit
    for _ in range(limit):
        r = client.get("/taxii2/", headers={"Accept": TAXII, "Authorization": "Bearer rbt_deadbeef_wrong"})
        assert r.status_code == 401
    r = client.get("/taxii2/", headers=taxii_headers(world, "bob@b.example"))
    assert_taxii_error(r, 429, "too many")
    assert int(r.headers["Retry-After"]) > 0


def test_non_taxii_paths_use_the_json_error_shape(client: AsgiClient) -> None:
    r = client.get("/nope")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == 404
