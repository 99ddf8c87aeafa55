"""The hunt pages: the list and the form that starts a hunt over uploaded logs, a hunt's page while it waits or
runs (polled by htmx) and once done (what it found, the lines that could not be read, the downloads), for the
right users only, with the CSRF token, in three languages."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ribat.config import Settings
from ribat.hunt.service import Hunts
from ribat.hunt.types import HuntJob, JobStatus
from support import World, indicator

SIMDA = "cti/logs/stratosphere-005-simda"
GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
LIMIT = 1_000_000
VOLYKYC = indicator(
    1,
    name="Simda DGA domain",
    pattern="[domain-name:value = 'volykyc.com']",
    valid_from="1970-01-01T00:00:00Z",  # the capture's clock starts at the epoch
    object_marking_refs=[GREEN],
)


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=db_url,
        secret_key="test-secret-key-not-for-production",
        hunt_dir=tmp_path / "hunts",
        hunt_max_upload_bytes=LIMIT,
    )


@pytest.fixture
def hunts(app: Any, world: World) -> Iterator[Hunts]:
    """The application's hunts (made here, as the lifespan would), with bob's indicator in "shared"."""
    assert world.hub.intel.ingest(world.principal("bob@b.example"), "shared", {"objects": [VOLYKYC]}).failure_count == 0
    service = Hunts.for_hub(world.hub)
    app.state.hunts = service
    yield service
    service.close()


@pytest.fixture
def dns_log(data_dir: Path) -> bytes:
    """The capture's dns.log with one unreadable line added as its 13th record line."""
    lines = (data_dir / SIMDA / "dns.log").read_bytes().split(b"\n")
    return b"\n".join([*lines[:12], b"garbage line", *lines[12:]])


def _upload(b: Any, logs: list[tuple[str, bytes]], **fields: Any) -> Any:
    form: dict[str, Any] = {"collection": "shared", **fields}
    files = [("logs", (name, body, "application/octet-stream")) for name, body in logs]
    return b.post("/hunts", form, files=files)


def _hunt_id(response: Any) -> str:
    assert response.status_code == 303, response.text[:3000]
    location: str = response.headers["location"]
    assert re.fullmatch(r"/hunts/[0-9a-f-]{36}", location), location
    return location.removeprefix("/hunts/")


def _job(hunts: Hunts, world: World, status: JobStatus, **values: Any) -> str:
    """A job put in the store without a worker: it stays as it is, whatever the timing."""
    job_id = f"job-{status.value}"
    hunts.store.add(
        HuntJob(
            id=job_id,
            org_id=world.org_a.id,
            user_id=world.alice.id,
            runner="another-host:1",  # a live hub elsewhere: nothing here touches its jobs
            status=JobStatus.QUEUED,
            params={"logs": ["conn.log", "dns.log"], "collections": ["shared"], "share_to": None},
            created_us=1_700_000_000_000_000,
            bytes_total=2048,
        )
    )
    if status is not JobStatus.QUEUED or values:
        hunts.store.update(job_id, status=status, **values)
    return job_id


def test_hunt_pages_need_a_session(browser: Any, hunts: Hunts) -> None:
    b = browser()
    for path in ["/hunts", "/hunts/x", "/hunts/x/status", "/hunts/x/results"]:
        response = b.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/login?next="), path
    polled = b.get("/hunts/x/status", headers={"HX-Request": "true"})
    assert polled.status_code == 401 and polled.headers["HX-Redirect"] == "/login"


def test_upload_a_log_through_the_form_and_read_what_the_hunt_found(
    world: World, browser: Any, hunts: Hunts, dns_log: bytes
) -> None:
    alice = browser("alice@a.example")
    page = alice.get("/hunts").text
    assert 'enctype="multipart/form-data"' in page and 'name="logs" type="file" multiple' in page
    assert f'name="collection" value="{world.collection.id}" checked' in page  # the only readable collection
    assert "No hunts yet." in page and 'href="/hunts" aria-current="page"' in page

    hunt_id = _hunt_id(_upload(alice, [("dns.log", dns_log)], collection=world.collection.id))
    done = hunts.wait(world.principal("alice@a.example"), hunt_id)
    assert done.status is JobStatus.DONE, done.error

    page = alice.get(f"/hunts/{hunt_id}").text
    assert "The hunt has started." in page  # the flash of the redirect
    assert "hx-trigger" not in page  # done: no more polling
    assert '<span class="state hunt-done">finished</span>' in page
    assert "<strong>992</strong> records read" in page and "<strong>7</strong> matches found" in page
    table = page[page.index('<table class="results hits"') : page.index("</table>", page.index("results hits"))]
    assert "Simda DGA domain" in table and VOLYKYC["id"] in table and "<td>7</td>" in table
    assert '<code dir="ltr">volykyc.com</code>' in table and '<bdi dir="ltr">dns.log</bdi>' in table
    assert "Jan 1, 1970" in table  # first and last seen, in the page's language
    assert "Lines that could not be read" in page and '<code dir="ltr">dns.log:13</code>' in page
    for fmt in ("json", "csv"):
        assert f'href="/hunts/{hunt_id}/results?format={fmt}"' in page
    assert f'action="/hunts/{hunt_id}/results"' in page and 'name="format" value="stix"' in page

    as_csv = alice.get(f"/hunts/{hunt_id}/results?format=csv")
    assert as_csv.status_code == 200 and as_csv.headers["content-disposition"].startswith("attachment;")
    (row,) = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert row["indicator_id"] == VOLYKYC["id"] and row["count"] == "7"
    bundle = alice.get(f"/hunts/{hunt_id}/results?format=stix&tlp=green").json()
    assert [o["count"] for o in bundle["objects"] if o["type"] == "sighting"] == [7]

    listing = alice.get("/hunts").text
    assert f'href="/hunts/{hunt_id}"' in listing and '<bdi dir="ltr">dns.log</bdi>' in listing
    assert "finished" in listing and "<td>992</td>" in listing
    # A reader of the same organisation sees the hunt, but no form.
    anna = browser("anna@a.example")
    assert f'href="/hunts/{hunt_id}"' in anna.get("/hunts").text and 'action="/hunts"' not in anna.get("/hunts").text
    assert anna.get(f"/hunts/{hunt_id}").status_code == 200


def test_the_form_needs_its_csrf_token(world: World, browser: Any, hunts: Hunts, dns_log: bytes) -> None:
    alice = browser("alice@a.example")
    alice.get("/hunts")
    files = [("logs", ("dns.log", dns_log, "text/plain"))]
    missing = alice.post("/hunts", {"collection": "shared"}, files=files, csrf=False)
    assert missing.status_code == 403 and "This form has expired" in missing.text
    forged = alice.post("/hunts", {"collection": "shared", "csrf_token": "forged"}, files=files)
    assert forged.status_code == 403
    assert hunts.jobs(world.principal("alice@a.example"))[1] == 0
    assert not any(hunts.directory.iterdir())


def test_form_problems_are_shown_at_their_field(world: World, browser: Any, hunts: Hunts, dns_log: bytes) -> None:
    alice = browser("alice@a.example")
    alice.get("/hunts")
    no_collection = _upload(alice, [("dns.log", dns_log)], collection="", kind="zeek", since="2024-01-01")
    assert no_collection.status_code == 400
    page = no_collection.text
    assert "The hunt was not started." in page and 'id="error-collection"' in page
    assert 'value="2024-01-01"' in page and '<option value="zeek" selected>' in page  # what was asked stays
    bad_mapping = _upload(alice, [("dns.log", dns_log)], mapping="{oops")
    assert bad_mapping.status_code == 400 and 'id="error-mapping"' in bad_mapping.text
    assert ">{oops</textarea>" in bad_mapping.text
    no_logs = alice.post("/hunts", {"collection": "shared"}, files=[("logs", ("", b"", "application/octet-stream"))])
    assert no_logs.status_code == 400 and 'id="error-logs"' in no_logs.text
    too_large = _upload(alice, [("a.log", b"x" * 600_000), ("b.log", b"x" * 600_000)])
    assert too_large.status_code == 413
    assert "The logs are larger than the limit of 1,000,000 bytes." in too_large.text
    assert hunts.jobs(world.principal("alice@a.example"))[1] == 0
    assert not any(hunts.directory.iterdir())

    anna = browser("anna@a.example")
    anna.get("/hunts")
    refused = _upload(anna, [("dns.log", dns_log)])
    assert refused.status_code == 403 and "You are not allowed to do this." in refused.text


def test_a_waiting_or_running_hunt_is_polled_and_can_be_refreshed_without_javascript(
    world: World, browser: Any, hunts: Hunts
) -> None:
    running = _job(hunts, world, JobStatus.RUNNING, records=123_456, rate=98_765.4, matches=3, indicators=12)
    queued = _job(hunts, world, JobStatus.QUEUED)
    alice = browser("alice@a.example")
    page = alice.get(f"/hunts/{running}").text
    assert f'hx-get="/hunts/{running}/status" hx-trigger="every 1s" hx-swap="outerHTML"' in page
    assert f'<a href="/hunts/{running}">Refresh</a>' in page
    assert "<strong>123,456</strong> records read" in page and "<strong>98,765</strong> records a second" in page
    assert "<strong>3</strong> matches found" in page and "<strong>12</strong> indicators hunted" in page
    assert "Indicators found" not in page and "Download the results" not in page
    assert "conn.log" in page and "2 files" in page and "2,048 bytes" in page

    fragment = alice.get(f"/hunts/{running}/status")
    assert fragment.status_code == 200 and fragment.text.startswith('<div id="hunt-status"')
    assert "<html" not in fragment.text and "hx-trigger" in fragment.text
    assert "The hunt waits for an earlier one to end." in alice.get(f"/hunts/{queued}").text
    assert alice.get(f"/hunts/{running}/results?format=json").status_code == 409

    # Once the job ends, the fragment stops the polling.
    hunts.store.update(running, status=JobStatus.FAILED, error="ValidationError: mapping: bad")
    ended = alice.get(f"/hunts/{running}/status").text
    assert "hx-trigger" not in ended and "The hunt stopped with an error" in ended and "mapping: bad" in ended


def test_another_organisations_hunt_is_not_found(world: World, browser: Any, hunts: Hunts) -> None:
    job_id = _job(hunts, world, JobStatus.DONE, result={"hits": []})
    bob = browser("bob@b.example")
    for path in (f"/hunts/{job_id}", f"/hunts/{job_id}/status", f"/hunts/{job_id}/results"):
        assert bob.get(path).status_code == 404, path
    assert f"/hunts/{job_id}" not in bob.get("/hunts").text
    alice = browser("alice@a.example")
    assert "No indicator was found in these logs." in alice.get(f"/hunts/{job_id}").text


@pytest.mark.parametrize(
    ("lang", "direction", "expected"),
    [
        ("en", "ltr", ("Hunts", "Start a hunt", "Indicators found", "Values seen", "Indicators left out", "revoked")),
        (
            "ar",
            "rtl",
            ("التعقّب", "بدء عملية تعقّب", "المؤشرات التي عُثر عليها", "القيم المرصودة", "المؤشرات المستبعدة"),
        ),
        (
            "fr",
            "ltr",
            ("Chasses", "Lancer une chasse", "Indicateurs trouvés", "Valeurs observées", "Indicateurs écartés"),
        ),
    ],
)
def test_the_pages_speak_the_users_language(
    world: World, browser: Any, hunts: Hunts, lang: str, direction: str, expected: tuple[str, ...]
) -> None:
    result = {
        "hits": [
            {
                "indicator_id": VOLYKYC["id"],
                "name": "Simda DGA domain",
                "created_by_ref": None,
                "pattern": VOLYKYC["pattern"],
                "count": 7,
                "first_seen": "1970-01-01T00:10:00.000000Z",
                "last_seen": "1970-01-01T01:00:00.000000Z",
                "samples": [],
            }
        ]
    }
    job_id = _job(hunts, world, JobStatus.DONE, result=result, skipped={"revoked": 2, "pattern_type sigma": 1})
    alice = browser("alice@a.example")
    alice.post("/language", {"lang": lang, "next": "/hunts"})
    listing, page = alice.get("/hunts").text, alice.get(f"/hunts/{job_id}").text
    for text in (listing, page):
        assert f'<html lang="{lang}" dir="{direction}">' in text
    both = listing + page
    for phrase in expected:
        assert phrase in both, (lang, phrase)
    assert "sigma" in page  # the pattern language is named in every language
