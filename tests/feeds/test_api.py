"""``/api/v1/feeds``: who may see and manage feeds, the JSON shapes, errors, runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from feeds._support import FileServer, feeds_for
from ribat.web import create_app
from support import AsgiClient, World

HASHES = "\n".join(f"{n:064x}" for n in range(1, 6)) + "\n"


@pytest.fixture
def client(world: World, files: FileServer) -> Iterator[AsgiClient]:
    app = create_app(hub=world.hub)
    app.state.feeds = feeds_for(world.hub, http=files.client())  # downloads go to the file server
    c = AsgiClient(app)
    try:
        yield c
    finally:
        c.close()


def _new(world: World, client: AsgiClient, files: FileServer, email: str = "alice@a.example", **extra: object) -> dict:  # type: ignore[type-arg]
    files.put("hashes.txt", HASHES)
    body = {"name": "hashes", "kind": "text", "source": files.url("hashes.txt"), "collection": "shared", **extra}
    response = client.post("/api/v1/feeds", json=body, headers=world.auth(email))
    assert response.status_code == 201, response.text
    feed: dict = response.json()  # type: ignore[type-arg]
    return feed


def test_a_member_defines_runs_and_reads_a_feed(world: World, client: AsgiClient, files: FileServer) -> None:
    feed = _new(world, client, files, tlp="green", tags=["api"], every=15, api_key="secret-remote-key")
    assert feed["kind"] == "text" and feed["every_minutes"] == 15 and feed["tlp"] == "TLP:GREEN"
    assert feed["owner_user_id"] == world.alice.id and feed["owner_org_id"] == world.org_a.id
    assert feed["credentials"] == "api-key" and feed["last_run"] is None
    assert (
        "secret-remote-key" not in client.get(f"/api/v1/feeds/{feed['id']}", headers=world.auth("alice@a.example")).text
    )

    run = client.post(f"/api/v1/feeds/{feed['id']}/run", headers=world.auth("alice@a.example"))
    assert run.status_code == 200, run.text
    record = run.json()
    assert (record["status"], record["fetched"], record["stored"], record["trigger"]) == ("ok", 5, 5, "manual")
    assert record["finished"] is not None and record["duration_ms"] >= 0
    assert files.requests[-1].headers["authorization"] == "Bearer secret-remote-key"

    listed = client.get("/api/v1/feeds", headers=world.auth("anna@a.example")).json()["feeds"]
    assert [f["name"] for f in listed] == ["hashes"]
    assert listed[0]["last_run"]["id"] == record["id"]

    runs = client.get(f"/api/v1/feeds/{feed['id']}/runs?limit=5", headers=world.auth("alice@a.example")).json()
    assert [r["id"] for r in runs["runs"]] == [record["id"]]


def test_other_organisations_do_not_see_a_feed_and_admins_see_all(
    world: World, client: AsgiClient, files: FileServer
) -> None:
    feed = _new(world, client, files)
    bob = world.auth("bob@b.example")
    assert client.get("/api/v1/feeds", headers=bob).json() == {"feeds": []}
    for method, path in (
        ("GET", f"/api/v1/feeds/{feed['id']}"),
        ("GET", f"/api/v1/feeds/{feed['id']}/runs"),
        ("POST", f"/api/v1/feeds/{feed['id']}/run"),
        ("DELETE", f"/api/v1/feeds/{feed['id']}"),
        ("PATCH", f"/api/v1/feeds/{feed['id']}"),
    ):
        response = client.request(method, path, headers=bob, json={} if method == "PATCH" else None)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["code"] == 404
    admin = world.auth("admin@hub.example")
    assert [f["id"] for f in client.get("/api/v1/feeds", headers=admin).json()["feeds"]] == [feed["id"]]
    assert client.get("/api/v1/feeds").status_code == 401


def test_readers_may_look_but_not_change(world: World, client: AsgiClient, files: FileServer) -> None:
    feed = _new(world, client, files)
    anna = world.auth("anna@a.example")
    assert client.get(f"/api/v1/feeds/{feed['id']}", headers=anna).status_code == 200
    assert client.post(f"/api/v1/feeds/{feed['id']}/run", headers=anna).status_code == 403
    assert client.delete(f"/api/v1/feeds/{feed['id']}", headers=anna).status_code == 403
    body = {"name": "x", "kind": "text", "source": files.url("x"), "collection": "shared"}
    assert client.post("/api/v1/feeds", json=body, headers=anna).status_code == 403


def test_bad_definitions_answer_400_naming_the_field(world: World, client: AsgiClient, tmp_path: Path) -> None:
    alice = world.auth("alice@a.example")
    base = {"name": "x", "kind": "taxii", "source": "https://t.example/c/", "collection": "shared"}
    response = client.post("/api/v1/feeds", json={**base, "source": "file:///etc/passwd"}, headers=alice)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "source"
    response = client.post("/api/v1/feeds", json={**base, "every": 0}, headers=alice)
    assert response.status_code == 400 and response.json()["error"]["field"] == "every"
    response = client.post("/api/v1/feeds", json={**base, "colour": "red"}, headers=alice)
    assert response.status_code == 400 and "colour" in response.json()["error"]["detail"]
    response = client.post("/api/v1/feeds", json={**base, "kind": "directory", "source": str(tmp_path)}, headers=alice)
    assert response.status_code == 403 and "local files" in response.json()["error"]["detail"]
    response = client.post("/api/v1/feeds", json={**base, "user": "bob@b.example"}, headers=alice)
    assert response.status_code == 403
    response = client.post("/api/v1/feeds", json=base, headers=alice)
    assert response.status_code == 201
    assert client.post("/api/v1/feeds", json=base, headers=alice).status_code == 409


def test_a_feed_is_changed_and_removed(world: World, client: AsgiClient, files: FileServer) -> None:
    feed = _new(world, client, files, tlp="amber", username="u", password="p")
    alice = world.auth("alice@a.example")
    response = client.request(
        "PATCH",
        f"/api/v1/feeds/{feed['id']}",
        json={"every": 5, "tlp": None, "enabled": False, "tags": ["t"]},
        headers=alice,
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert (changed["every_minutes"], changed["tlp"], changed["enabled"], changed["tags"]) == (5, None, False, ["t"])
    assert changed["credentials"] == "basic"
    cleared = client.request(
        "PATCH",
        f"/api/v1/feeds/{feed['id']}",
        json={"api_key": None, "username": None, "password": None},
        headers=alice,
    ).json()
    assert cleared["credentials"] is None

    assert client.delete(f"/api/v1/feeds/{feed['id']}", headers=alice).status_code == 204
    assert client.get(f"/api/v1/feeds/{feed['id']}", headers=alice).status_code == 404


def test_running_a_feed_that_is_already_running_answers_409(
    world: World, client: AsgiClient, files: FileServer
) -> None:
    feed = _new(world, client, files)
    feeds = feeds_for(world.hub)
    now = feeds.now()
    assert feeds.store.claim(feed["id"], now, now + 60_000_000, due_only=False)
    response = client.post(f"/api/v1/feeds/{feed['id']}/run", headers=world.auth("alice@a.example"))
    assert response.status_code == 409
    assert "already" in response.json()["error"]["detail"]
