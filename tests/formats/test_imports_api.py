"""``/api/v1`` imports and extractions, in process: uploads as multipart and as raw bodies, the
JSON shapes, who may read what, the size limit and the error shape."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ribat.config import Settings
from ribat.hub import Hub
from ribat.web import create_app
from support import AsgiClient, World


@pytest.fixture
def small_hub(settings: Settings) -> Iterator[Hub]:
    h = Hub.open(settings.model_copy(update={"max_upload_bytes": 4096}))
    try:
        yield h
    finally:
        h.close()


@pytest.fixture
def small_world(small_hub: Hub) -> World:
    return World(small_hub)


@pytest.fixture
def client(small_world: World) -> Iterator[AsgiClient]:
    c = AsgiClient(create_app(hub=small_world.hub))
    try:
        yield c
    finally:
        c.close()


LIST = b"# Operation Example\nevil.example\n198.51.100.7;65\nnot a value at all\n"


def test_multipart_import_answers_the_run_with_its_report(client: AsgiClient, small_world: World) -> None:
    response = client.post(
        f"/api/v1/collections/{small_world.collection.id}/imports",
        files={"file": ("op.txt", LIST, "text/plain")},
        data={"kind": "ioc-list", "tlp": "green"},
        headers=small_world.auth("alice@a.example"),
    )
    assert response.status_code == 201, response.text
    run = response.json()
    assert {k: run[k] for k in ("kind", "name", "status", "stored", "merged", "failed", "lost")} == {
        "kind": "ioc-list",
        "name": "op.txt",
        "status": "complete",
        "stored": 2,
        "merged": 0,
        "failed": 0,
        "lost": 1,
    }
    assert run["report"]["losses"] == [
        {
            "where": "line 4",
            "field": "value",
            "value": "not a value at all",
            "reason": "not an IP address, domain, URL, e-mail address or hash (give a type for other values)",
        }
    ]
    assert run["report"]["options"] == {"tlp": "green"}
    assert run["started"].endswith("Z") and run["finished"].endswith("Z")

    again = client.get(f"/api/v1/imports/{run['id']}", headers=small_world.auth("anna@a.example"))
    assert again.status_code == 200 and again.json()["report"] == run["report"]
    outsider = client.get(f"/api/v1/imports/{run['id']}", headers=small_world.auth("bob@b.example"))
    assert outsider.status_code == 404
    assert outsider.json()["error"]["title"] == "Not found"


def test_raw_body_import_with_options_in_the_query(client: AsgiClient, small_world: World) -> None:
    csv = b"indicator;kind\n198.51.100.9;ip\nbad;ip\n"
    response = client.post(
        "/api/v1/collections/shared/imports",
        params={"kind": "csv", "name": "servers.csv", "map": "value=indicator,type=kind"},
        content=csv,
        headers={**small_world.auth("alice@a.example"), "Content-Type": "text/csv"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["stored"], body["lost"], body["report"]["losses"][0]["where"]) == (1, 1, "line 3")


def test_import_list_is_paged_and_limited_to_the_organisation(client: AsgiClient, small_world: World) -> None:
    for n in range(3):
        response = client.post(
            "/api/v1/collections/shared/imports",
            params={"kind": "ioc-list", "name": f"{n}.txt"},
            content=f"host{n}.example\n".encode(),
            headers=small_world.auth("alice@a.example"),
        )
        assert response.status_code == 201
    page = client.get("/api/v1/imports", params={"limit": 2}, headers=small_world.auth("alice@a.example")).json()
    assert [r["name"] for r in page["runs"]] == ["2.txt", "1.txt"]
    assert (page["total"], page["more"]) == (3, True)
    assert "report" not in page["runs"][0]
    rest = client.get("/api/v1/imports", params={"limit": 2, "offset": 2}, headers=small_world.auth("alice@a.example"))
    assert [r["name"] for r in rest.json()["runs"]] == ["0.txt"] and rest.json()["more"] is False
    assert client.get("/api/v1/imports", headers=small_world.auth("bob@b.example")).json()["total"] == 0
    assert client.get("/api/v1/imports", headers=small_world.auth("admin@hub.example")).json()["total"] == 3


def test_import_errors_have_the_json_error_shape(client: AsgiClient, small_world: World) -> None:
    url = "/api/v1/collections/shared/imports"
    alice = small_world.auth("alice@a.example")
    too_big = client.post(url, params={"kind": "ioc-list"}, content=b"x" * 5000, headers=alice)
    assert too_big.status_code == 413 and too_big.json()["error"]["limit"] == 4096
    no_kind = client.post(url, content=b"evil.example\n", headers=alice)
    assert no_kind.status_code == 400 and no_kind.json()["error"]["field"] == "kind"
    bad_option = client.post(url, params={"kind": "stix", "colour": "red"}, content=b"[]", headers=alice)
    assert bad_option.status_code == 400 and "colour" in bad_option.json()["error"]["detail"]
    not_json = client.post(url, params={"kind": "stix"}, content=b"{", headers=alice)
    assert not_json.status_code == 422
    reader = client.post(
        url, params={"kind": "ioc-list"}, content=b"x.example\n", headers=small_world.auth("anna@a.example")
    )
    assert reader.status_code == 403
    assert client.post(url, params={"kind": "ioc-list"}, content=b"x.example\n").status_code == 401
    no_file = client.post(url, data={"kind": "csv"}, files={"other": ("a", b"b")}, headers=alice)
    assert no_file.status_code == 400 and "'file'" in no_file.json()["error"]["detail"]
    unknown = client.post("/api/v1/collections/nope/imports", params={"kind": "stix"}, content=b"[]", headers=alice)
    assert unknown.status_code == 404


REPORT = b"""<html><head><title>Op</title></head><body>
<p>The implant beacons to 1.2.3[.]4 every hour.</p><p>Its loader came from hxxp://evil[.]example/a.</p>
</body></html>"""


def review(client: AsgiClient, world: World, extraction_id: str, body: Any, email: str = "alice@a.example") -> Any:
    return client.post(f"/api/v1/extractions/{extraction_id}/review", json=body, headers=world.auth(email))


def test_extraction_review_and_publication(client: AsgiClient, small_world: World) -> None:
    alice = small_world.auth("alice@a.example")
    created = client.post(
        "/api/v1/collections/shared/extractions",
        files={"file": ("../op.html", REPORT, "text/html")},
        headers=alice,
    )
    assert created.status_code == 201, created.text
    extraction = created.json()
    assert extraction["name"] == "op.html" and extraction["format"] == "html" and extraction["title"] == "Op"
    ip, url = extraction["candidates"]
    assert (ip["value"], ip["status"], ip["raw"]) == ("1.2.3.4", "pending", "1.2.3[.]4")
    assert ip["sentence"] == "The implant beacons to 1.2.3[.]4 every hour."

    objects = "/taxii2/root/collections/shared/objects/"
    taxii = {**alice, "Accept": "application/taxii+json;version=2.1"}
    assert "objects" not in client.get(objects, headers=taxii).json()

    assert review(client, small_world, extraction["id"], {"accept": [ip["id"]], "tlp": "purple"}).status_code == 400
    assert review(client, small_world, extraction["id"], {"accept": "x"}).status_code == 400
    assert review(client, small_world, extraction["id"], {"accept": [ip["id"]], "x": 1}).status_code == 400
    assert review(client, small_world, extraction["id"], {"accept": [ip["id"]]}, "bob@b.example").status_code == 404
    done = review(client, small_world, extraction["id"], {"accept": [ip["id"]], "reject": [url["id"]]})
    assert done.status_code == 200, done.text
    result = done.json()
    assert [c["status"] for c in result["candidates"]] == ["accepted", "rejected"]
    assert result["run"]["kind"] == "report" and result["run"]["stored"] == 1
    [indicator] = client.get(objects, headers=taxii).json()["objects"]
    assert indicator["pattern"] == "[ipv4-addr:value = '1.2.3.4']"
    assert "op.html" in indicator["description"] and ip["sentence"] in indicator["description"]
    assert result["candidates"][0]["object_id"] == indicator["id"]

    shown = client.get(f"/api/v1/extractions/{extraction['id']}", headers=small_world.auth("anna@a.example"))
    assert shown.status_code == 200 and shown.json()["candidates"][1]["status"] == "rejected"
    assert (
        client.get(f"/api/v1/extractions/{extraction['id']}", headers=small_world.auth("bob@b.example")).status_code
        == 404
    )


def test_extraction_from_a_raw_body_and_its_limit(client: AsgiClient, small_world: World) -> None:
    alice = small_world.auth("alice@a.example")
    text = b"The C2 was evil(dot)example(dot)org for a week."
    created = client.post(
        "/api/v1/collections/shared/extractions",
        params={"filename": "notes.txt"},
        content=text,
        headers={**alice, "Content-Type": "text/plain"},
    )
    assert created.status_code == 201, created.text
    assert [c["value"] for c in created.json()["candidates"]] == ["evil.example.org"]
    big = client.post("/api/v1/collections/shared/extractions", content=b"a" * 5000, headers=alice)
    assert big.status_code == 413
