"""/api/v1/hunts in process, on SQLite and PostgreSQL: a hunt over the Simda capture's real dns.log started by
upload, followed until done, its results as JSON, CSV and a STIX bundle; other organisations, readers, oversized
uploads and unfinished hunts refused."""

from __future__ import annotations

import asyncio
import copy
import csv
import io
import socket
import subprocess
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import stix2

from ribat.config import Settings
from ribat.hunt.service import Hunts
from ribat.hunt.types import HuntJob, JobStatus
from ribat.intel import Grant, ObjectFilter
from ribat.web import create_app
from support import AsgiClient, World, indicator

SIMDA = "cti/logs/stratosphere-005-simda"
GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
AMBER = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
LIMIT = 1_000_000


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=db_url,
        secret_key="test-secret-key-not-for-production",
        hunt_dir=tmp_path / "hunts",
        hunt_max_upload_bytes=LIMIT,
    )


def dns_indicator(n: int, domain: str, **extra: Any) -> dict[str, object]:
    # The capture's clock starts at the epoch: the indicator must be valid from then.
    return indicator(n, pattern=f"[domain-name:value = '{domain}']", valid_from="1970-01-01T00:00:00Z", **extra)


VOLYKYC = dns_indicator(1, "volykyc.com", name="Simda DGA domain", object_marking_refs=[GREEN])


@pytest.fixture
def client(world: World) -> Iterator[AsgiClient]:
    status = world.hub.intel.ingest(world.principal("bob@b.example"), "shared", {"objects": [VOLYKYC]})
    assert status.failure_count == 0
    app = create_app(hub=world.hub)
    c = AsgiClient(app)
    try:
        yield c
    finally:
        c.close()
        hunts: Hunts | None = getattr(app.state, "hunts", None)
        if hunts is not None:
            hunts.close()


@pytest.fixture
def dns_log(data_dir: Path) -> bytes:
    """The capture's dns.log with one unreadable line added as its 13th record line."""
    lines = (data_dir / SIMDA / "dns.log").read_bytes().split(b"\n")
    return b"\n".join([*lines[:12], b"garbage line", *lines[12:]])


def _hunts_dir(world: World) -> Path:
    return Path(world.hub.settings.hunt_dir)


def _start(c: AsgiClient, world: World, email: str, logs: list[tuple[str, bytes]], **fields: Any) -> Any:
    data: dict[str, Any] = {"collection": "shared", **fields}
    files = [("logs", (name, body, "text/plain")) for name, body in logs]
    return c.post("/api/v1/hunts", data=data, files=files, headers=world.auth(email))


def _wait(c: AsgiClient, world: World, hunt_id: str, email: str = "alice@a.example") -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        response = c.get(f"/api/v1/hunts/{hunt_id}", headers=world.auth(email))
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] in ("done", "failed"):
            return body
        assert time.monotonic() < deadline, f"the hunt did not end: {body}"
        time.sleep(0.05)


def test_a_hunt_over_an_uploaded_log_finds_the_simda_domain(client: AsgiClient, world: World, dns_log: bytes) -> None:
    response = _start(client, world, "alice@a.example", [("../captures/dns.log", dns_log)])
    assert response.status_code == 202, response.text
    started = response.json()
    assert started["status"] == "queued" and started["logs"] == ["dns.log"] and started["collections"] == ["shared"]
    assert response.headers["location"] == started["links"]["self"] == f"/api/v1/hunts/{started['id']}"
    assert started["links"]["results"]["csv"] == f"/api/v1/hunts/{started['id']}/results?format=csv"
    assert started["bytes"] == len(dns_log)

    done = _wait(client, world, started["id"])
    assert done["status"] == "done", done["error"]
    assert (done["records"], done["matches"], done["indicators"], done["hits"]) == (992, 7, 1, 1)
    assert done["problem_count"] == 1 and done["problems"][0].startswith("dns.log:13:")
    assert done["error"] is None and done["shared"] is None and done["started"] and done["finished"]
    assert not any(_hunts_dir(world).iterdir())  # the uploaded log is removed once the hunt ends

    # The organisation's list (a reader of the same organisation sees it too).
    listing = client.get("/api/v1/hunts", headers=world.auth("anna@a.example")).json()
    assert listing["total"] == 1 and [h["id"] for h in listing["hunts"]] == [started["id"]]
    assert "problems" not in listing["hunts"][0] and listing["more"] is False


def test_results_as_json_csv_and_stix(client: AsgiClient, world: World, data_dir: Path) -> None:
    started = _start(client, world, "alice@a.example", [("dns.log", (data_dir / SIMDA / "dns.log").read_bytes())])
    hunt_id = started.json()["id"]
    assert _wait(client, world, hunt_id)["status"] == "done"
    base = f"/api/v1/hunts/{hunt_id}/results"
    alice = world.auth("alice@a.example")

    as_json = client.get(base, headers=alice)
    assert as_json.status_code == 200 and as_json.headers["content-type"] == "application/json"
    (hit,) = as_json.json()["hits"]
    assert hit["indicator_id"] == VOLYKYC["id"] and hit["name"] == "Simda DGA domain" and hit["count"] == 7
    assert {s["file"] for s in hit["samples"]} == {"dns.log"}
    assert all(s["line"] > 8 for s in hit["samples"])  # past the Zeek header

    as_csv = client.get(base, params={"format": "csv"}, headers=alice)
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.headers["content-disposition"] == f'attachment; filename="hunt-{hunt_id}.csv"'
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert len(rows) == 1 and rows[0]["indicator_id"] == VOLYKYC["id"] and rows[0]["count"] == "7"
    assert "volykyc.com" in rows[0]["sample_values"] and rows[0]["files"] == "dns.log"

    bundle = client.get(base, params={"format": "stix"}, headers=alice)
    assert bundle.status_code == 200 and bundle.headers["content-type"] == "application/stix+json;version=2.1"
    objects = bundle.json()["objects"]
    identity = world.hub.accounts.identity_object(world.org_a.id)
    (sighting,) = [o for o in objects if o["type"] == "sighting"]
    assert sighting["sighting_of_ref"] == VOLYKYC["id"] and sighting["count"] == 7
    assert sighting["where_sighted_refs"] == [identity["id"]] and sighting["created_by_ref"] == identity["id"]
    assert sighting["object_marking_refs"] == [AMBER]  # AMBER unless asked
    assert objects[0] == identity
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = stix2.parse(copy.deepcopy(bundle.json()), allow_custom=True)
    assert len(parsed.objects) == len(objects)
    green = client.get(base, params={"format": "stix", "tlp": "green"}, headers=alice).json()
    assert {m for o in green["objects"] if o["type"] == "sighting" for m in o["object_marking_refs"]} == {GREEN}

    bad = client.get(base, params={"format": "pdf"}, headers=alice)
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "format"
    assert client.get(base, params={"format": "stix", "tlp": "purple"}, headers=alice).status_code == 400


def test_another_organisations_hunt_is_not_found(client: AsgiClient, world: World, data_dir: Path) -> None:
    started = _start(client, world, "alice@a.example", [("dns.log", (data_dir / SIMDA / "dns.log").read_bytes())])
    hunt_id = started.json()["id"]
    _wait(client, world, hunt_id)
    bob = world.auth("bob@b.example")
    for path in (f"/api/v1/hunts/{hunt_id}", f"/api/v1/hunts/{hunt_id}/results"):
        response = client.get(path, headers=bob)
        assert response.status_code == 404 and response.json()["error"]["kind"] == "hunt", path
    assert client.get("/api/v1/hunts", headers=bob).json() == {
        "hunts": [],
        "total": 0,
        "limit": 50,
        "offset": 0,
        "more": False,
    }
    assert client.get(f"/api/v1/hunts/{hunt_id}").status_code == 401


def test_a_reader_may_not_start_a_hunt(client: AsgiClient, world: World, dns_log: bytes) -> None:
    response = _start(client, world, "anna@a.example", [("dns.log", dns_log)])
    assert response.status_code == 403, response.text
    assert response.json()["error"]["action"] == "start a hunt as"
    assert not _hunts_dir(world).exists() or not any(_hunts_dir(world).iterdir())
    assert client.get("/api/v1/hunts", headers=world.auth("alice@a.example")).json()["total"] == 0


def test_logs_over_the_limit_are_refused_and_nothing_is_kept(client: AsgiClient, world: World) -> None:
    # Two logs of 600 kB: each under the limit, together over it.
    half = b"x" * 600_000
    response = _start(client, world, "alice@a.example", [("a.log", half), ("b.log", half)])
    assert response.status_code == 413, response.text
    assert response.json()["error"]["limit"] == LIMIT
    # Far over the limit: refused on the declared length, before the body is read.
    response = _start(client, world, "alice@a.example", [("big.log", b"x" * (LIMIT * 4))])
    assert response.status_code == 413 and response.json()["error"]["size"] > LIMIT * 4
    assert not any(_hunts_dir(world).iterdir())
    assert client.get("/api/v1/hunts", headers=world.auth("alice@a.example")).json()["total"] == 0


def test_results_wait_until_the_hunt_is_done(client: AsgiClient, world: World) -> None:
    # Jobs put in the store without a worker: they stay as they are, whatever the timing.
    app_hunts = Hunts.for_hub(world.hub)
    try:
        for n, status in enumerate((JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.FAILED)):
            job = HuntJob(
                id=f"hunt-{n}",
                org_id=world.org_a.id,
                user_id=world.alice.id,
                runner="another-host:1",  # a live hub elsewhere: nothing here touches its jobs
                status=status,
                params={"logs": ["dns.log"], "collections": ["shared"]},
                created_us=1_700_000_000_000_000 + n,
                records=1234 if status is JobStatus.RUNNING else 0,
                error="interrupted" if status is JobStatus.FAILED else None,
            )
            app_hunts.store.add(job)
            if status is not JobStatus.QUEUED:
                app_hunts.store.update(job.id, status=status, records=job.records, error=job.error)
    finally:
        app_hunts.close()
    alice = world.auth("alice@a.example")
    for n, status in enumerate(("queued", "running", "failed")):
        shown = client.get(f"/api/v1/hunts/hunt-{n}", headers=alice).json()
        assert shown["status"] == status
        response = client.get(f"/api/v1/hunts/hunt-{n}/results", params={"format": "csv"}, headers=alice)
        assert response.status_code == 409, response.text
        assert response.json()["error"]["state"] == status
    assert client.get("/api/v1/hunts/hunt-1", headers=alice).json()["records"] == 1234
    assert client.get("/api/v1/hunts/hunt-2", headers=alice).json()["error"] == "interrupted"
    page = client.get("/api/v1/hunts", params={"limit": 2, "offset": 1}, headers=alice).json()
    assert [h["id"] for h in page["hunts"]] == ["hunt-1", "hunt-0"] and page["total"] == 3 and page["more"] is False


def test_bad_requests_name_the_field(client: AsgiClient, world: World, dns_log: bytes) -> None:
    world.hub.intel.create_collection("read only", alias="archive", grants=[Grant("community", "", True, False)])
    alice = "alice@a.example"
    log = [("dns.log", dns_log)]
    cases: list[tuple[dict[str, Any], int, dict[str, str]]] = [
        ({"collection": ""}, 400, {"field": "collection"}),
        ({"since": "yesterday"}, 400, {"field": "since"}),
        ({"since": "2024-02-01", "until": "2024-01-01"}, 400, {"field": "until"}),
        ({"mapping": "{not json"}, 400, {"field": "mapping"}),
        ({"mapping": "[1, 2]"}, 400, {"field": "mapping"}),
        ({"kind": "pcap"}, 400, {"field": "kind"}),
        ({"tlp": "purple"}, 400, {"field": "tlp"}),
        ({"share_to": "nowhere"}, 404, {"kind": "collection", "key": "nowhere"}),
        ({"share_to": "archive"}, 403, {"action": "write to"}),
        ({"collection": "nowhere"}, 404, {"kind": "collection", "key": "nowhere"}),
    ]
    for fields, status, expected in cases:
        response = _start(client, world, alice, log, **fields)
        assert response.status_code == status, (fields, response.text)
        error = response.json()["error"]
        assert {k: error.get(k) for k in expected} == expected, (fields, error)
    no_logs = client.post("/api/v1/hunts", data={"collection": "shared"}, files={}, headers=world.auth(alice))
    assert no_logs.status_code == 400
    other_field = client.post(
        "/api/v1/hunts",
        data={"collection": "shared"},
        files=[("file", ("dns.log", dns_log, "text/plain"))],
        headers=world.auth(alice),
    )
    assert other_field.status_code == 400 and other_field.json()["error"]["field"] == "file"
    raw = client.post("/api/v1/hunts", content=dns_log, headers={**world.auth(alice), "content-type": "text/plain"})
    assert raw.status_code == 400 and raw.json()["error"]["field"] == "body"
    broken = client.post(
        "/api/v1/hunts",
        content=b"--xyz\r\nnot a header line at all\r\n\r\nbody",
        headers={**world.auth(alice), "content-type": "multipart/form-data; boundary=xyz"},
    )
    assert broken.status_code == 400 and broken.json()["error"]["field"] == "body", broken.text
    assert not any(_hunts_dir(world).iterdir())
    assert client.get("/api/v1/hunts", headers=world.auth(alice)).json()["total"] == 0


def test_a_hunt_shares_its_sightings_and_leaves_out_indicators_outside_its_window(
    client: AsgiClient, world: World, data_dir: Path
) -> None:
    old = dns_indicator(2, "pufymoq.com", valid_until="1971-01-01T00:00:00Z", object_marking_refs=[GREEN])
    world.hub.intel.ingest(world.principal("bob@b.example"), "shared", {"objects": [old]})
    response = _start(
        client,
        world,
        "alice@a.example",
        [("dns.log", (data_dir / SIMDA / "dns.log").read_bytes())],
        since="1970-01-01T00:00:00Z",
        until="1970-01-02",
        share_to="shared",
        tlp="green",
    )
    assert response.status_code == 202, response.text
    assert response.json()["since"] == "1970-01-01T00:00:00.000000Z"
    assert response.json()["until"] == "1970-01-02T23:59:59.999999Z"  # the whole day named
    done = _wait(client, world, response.json()["id"])
    assert done["status"] == "done", done["error"]
    assert done["skipped"] == {} and done["indicators"] == 2 and done["hits"] == 2
    # Both indicators are bob's: one post, shared with his organisation, marked as asked.
    (posted,) = done["shared"]["statuses"]
    assert done["shared"]["sightings"] == 2 and posted["share_with"] == ["org:cert-b"]
    assert posted["success_count"] > 2 and posted["failure_count"] == 0
    sightings = [
        orjson.loads(body)
        for body in world.hub.intel.objects(
            world.principal("bob@b.example"), "shared", ObjectFilter(types=("sighting",))
        ).bodies
    ]
    assert sorted((s["sighting_of_ref"], s["count"]) for s in sightings) == sorted([(VOLYKYC["id"], 7), (old["id"], 7)])
    assert all(s["object_marking_refs"] == [GREEN] for s in sightings)

    # A window after pufymoq.com's validity ended leaves it out, counted by reason.
    later = _start(
        client,
        world,
        "alice@a.example",
        [("dns.log", (data_dir / SIMDA / "dns.log").read_bytes())],
        since="1972-01-01",
    )
    done = _wait(client, world, later.json()["id"])
    assert done["status"] == "done" and done["skipped"] == {"expired": 1} and done["indicators"] == 2
    # The capture's records are of 1970, before the window: nothing is found.
    assert done["hits"] == 0 and done["matches"] == 0 and done["share_to"] is None and done["tlp"] is None


def _dead_runner() -> str:
    """``host:pid`` of a process of this machine that has ended."""
    ended = subprocess.Popen(["true"])
    ended.wait()
    return f"{socket.gethostname()}:{ended.pid}"


def test_at_start_the_app_marks_hunts_a_stopped_process_left_as_failed(world: World) -> None:
    store = Hunts.for_hub(world.hub)
    try:
        store.store.add(
            HuntJob(
                id="left-running",
                org_id=world.org_a.id,
                user_id=world.alice.id,
                runner=_dead_runner(),
                status=JobStatus.RUNNING,
                params={"logs": ["dns.log"], "collections": ["shared"]},
                created_us=1_700_000_000_000_000,
            )
        )
    finally:
        store.close()
    leftover = _hunts_dir(world) / "left-running"
    leftover.mkdir(parents=True)
    (leftover / "0.log").write_bytes(b"x")
    app = create_app(hub=world.hub)

    async def serve() -> Any:
        async with app.router.lifespan_context(app):  # as the server runs it: start-up, requests, shutdown
            assert isinstance(app.state.hunts, Hunts)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                response = await c.get("/api/v1/hunts/left-running", headers=world.auth("alice@a.example"))
                return response.json()

    shown = asyncio.run(serve())
    assert shown["status"] == "failed" and "interrupted" in shown["error"]
    assert not leftover.exists()
