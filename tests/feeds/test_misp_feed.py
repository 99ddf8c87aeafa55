"""The ``misp-feed`` source, from a directory and from a URL, built from the shared MISP
events: incremental by the manifest's timestamps, failure half-way and resume."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from feeds._support import FileServer, events_by_time, feeds_for, misp_feed_files, stored_bodies, write_files
from ribat.feeds import RunStatus
from support import World


def test_a_feed_directory_is_imported_then_only_new_or_changed_events(
    world: World, tmp_path: Path, data_dir: Path
) -> None:
    files = misp_feed_files(data_dir / "cti" / "misp" / "events")
    feed_dir = write_files(tmp_path / "feed", files)
    uuids = events_by_time(files)
    feeds = feeds_for(world.hub)
    feed = feeds.add("misp dir", kind="misp-feed", source=str(feed_dir), collection="shared", user="alice@a.example")

    first = feeds.run(feed.id)
    assert (first.status, first.failed) == (RunStatus.OK, 0) and first.stored > 0
    assert all(p.startswith("lost: ") for p in first.problems), "what misp-stix did not carry is reported as lost"
    assert set(feeds.store.items(feed.id)) == set(uuids)
    stored = world.hub.intel.count("shared")

    again = feeds.run(feed.id)
    assert (again.status, again.fetched, again.stored) == (RunStatus.OK, 0, 0)

    # One event changes: a new timestamp in the manifest and a new attribute in the file.
    changed = uuids[1]
    manifest = json.loads(files["manifest.json"])
    event = json.loads(files[f"{changed}.json"])["Event"]
    new_time = str(int(event["timestamp"]) + 3600)
    event["timestamp"] = manifest[changed]["timestamp"] = new_time
    event["Attribute"].append(
        {
            "uuid": "4b1c1f7e-9a3d-4f0e-8c2b-6d5e7f8a9b01",
            "type": "ip-dst",
            "category": "Network activity",
            "to_ids": True,
            "value": "203.0.113.77",
            "timestamp": new_time,
            "comment": "added later",
        }
    )
    (feed_dir / f"{changed}.json").write_text(json.dumps({"Event": event}))
    (feed_dir / "manifest.json").write_text(json.dumps(manifest))
    third = feeds.run(feed.id)
    assert third.status is RunStatus.OK and third.fetched > 0 and third.stored >= 1
    assert feeds.store.items(feed.id)[changed] == new_time
    assert world.hub.intel.count("shared") > stored
    assert "203.0.113.77" in json.dumps(stored_bodies(world.hub, world.principal("alice@a.example"), "shared"))


def test_a_malformed_event_fails_alone_and_is_retried_until_fixed(world: World, tmp_path: Path, data_dir: Path) -> None:
    files = misp_feed_files(data_dir / "cti" / "misp" / "events")
    uuids = events_by_time(files)
    bad = uuids[2]
    good = files[f"{bad}.json"]
    files[f"{bad}.json"] = good[: len(good) // 2]  # cut in the middle: not JSON
    feed_dir = write_files(tmp_path / "feed", files)
    feeds = feeds_for(world.hub)
    feed = feeds.add("misp", kind="misp-feed", source=str(feed_dir), collection="shared", user="alice@a.example")

    run = feeds.run(feed.id)
    assert (run.status, run.failed) == (RunStatus.PARTIAL, 1)
    assert any(p.startswith(f"failed: event {bad}: cannot be read") for p in run.problems)
    assert set(feeds.store.items(feed.id)) == set(uuids) - {bad}
    count = world.hub.intel.count("shared")
    assert count > 0

    retried = feeds.run(feed.id)
    assert (retried.status, retried.failed, retried.stored) == (RunStatus.PARTIAL, 1, 0)

    (feed_dir / f"{bad}.json").write_bytes(good)
    fixed = feeds.run(feed.id)
    assert (fixed.status, fixed.failed) == (RunStatus.OK, 0) and fixed.stored > 0
    assert set(feeds.store.items(feed.id)) == set(uuids)


def test_a_server_error_on_the_third_event_keeps_the_first_two_and_the_next_run_resumes(
    world: World, files: FileServer, data_dir: Path
) -> None:
    feed_files = misp_feed_files(data_dir / "cti" / "misp" / "events")
    for name, content in feed_files.items():
        files.put(f"feed/{name}", content)
    uuids = events_by_time(feed_files)
    broken = {"on": True}

    def fail_third(request: httpx.Request) -> int | None:
        return 503 if broken["on"] and request.url.path == f"/feed/{uuids[2]}.json" else None

    files.broken = fail_third
    feeds = feeds_for(world.hub, http=files.client())
    feed = feeds.add(
        "misp url", kind="misp-feed", source=files.url("feed"), collection="shared", user="alice@a.example"
    )

    failed = feeds.run(feed.id)
    assert failed.status is RunStatus.ERROR
    assert f"{uuids[2]}.json: HTTP 503" in (failed.error or "")
    assert set(feeds.store.items(feed.id)) == set(uuids[:2]), "the first two events are committed"
    after_failure = world.hub.intel.count("shared")
    assert failed.stored > 0 and after_failure == failed.stored

    broken["on"] = False
    files.requests.clear()
    resumed = feeds.run(feed.id)
    assert resumed.status is RunStatus.OK and resumed.stored > 0
    fetched = files.paths_requested()
    assert fetched == ["feed/manifest.json", *(f"feed/{u}.json" for u in uuids[2:])], (
        "events 1 and 2 are not fetched again"
    )
    assert set(feeds.store.items(feed.id)) == set(uuids)

    files.requests.clear()
    assert feeds.run(feed.id).fetched == 0
    assert files.paths_requested() == ["feed/manifest.json"]


def test_an_event_missing_from_the_feed_is_reported_and_the_others_imported(
    world: World, files: FileServer, data_dir: Path
) -> None:
    feed_files = misp_feed_files(data_dir / "cti" / "misp" / "events")
    uuids = events_by_time(feed_files)
    for name, content in feed_files.items():
        if name != f"{uuids[0]}.json":
            files.put(f"feed/{name}", content)
    feeds = feeds_for(world.hub, http=files.client())
    feed = feeds.add("holey", kind="misp-feed", source=files.url("feed/"), collection="shared", user="alice@a.example")
    run = feeds.run(feed.id)
    assert (run.status, run.failed) == (RunStatus.PARTIAL, 1)
    assert "listed in the manifest but missing" in run.problems[0]
    assert set(feeds.store.items(feed.id)) == set(uuids[1:])


def test_a_url_without_a_manifest_is_not_a_misp_feed(world: World, files: FileServer) -> None:
    feeds = feeds_for(world.hub, http=files.client())
    feed = feeds.add(
        "nothing", kind="misp-feed", source=files.url("none/"), collection="shared", user="alice@a.example"
    )
    run = feeds.run(feed.id)
    assert run.status is RunStatus.ERROR and "manifest.json: not found" in (run.error or "")
