"""``csv`` and ``text`` sources: conditional GETs (ETag, Last-Modified, content digest)."""

from __future__ import annotations

from pathlib import Path

from feeds._support import Clock, FileServer, feeds_for, stored_bodies
from ribat.feeds import RunStatus
from support import World

CSV = """indicator,kind,score,comment
198.51.100.7,ip-dst,80,C2 of the loader
evil.example,domain,60,phishing kit host
not a value,domain,10,bad row
"""


def test_a_text_list_is_imported_once_and_then_only_when_it_changes(
    world: World, files: FileServer, data_dir: Path, clock: Clock
) -> None:
    hashes = (data_dir / "cti" / "iocs" / "eset-turla-samples.sha256").read_text()
    count = len({line.strip() for line in hashes.splitlines() if line.strip()})
    files.put("turla.sha256", hashes)
    feeds = feeds_for(world.hub, http=files.client(), now=clock)
    feed = feeds.add(
        "turla hashes", kind="text", source=files.url("turla.sha256"), collection="shared", user="alice@a.example"
    )
    first = feeds.run(feed.id)
    assert (first.status, first.fetched, first.stored, first.failed) == (RunStatus.OK, count, count, 0)

    second = feeds.run(feed.id)
    assert (second.status, second.fetched, second.stored) == (RunStatus.OK, 0, 0)
    assert files.requests[-1].headers["if-none-match"] == feeds.get(feed.id).cursor["etag"]

    clock.advance(minutes=60)
    files.put("turla.sha256", hashes + "0" * 63 + "1\n", modified=1_800_000_000)
    third = feeds.run(feed.id)
    assert third.fetched == count + 1 and third.stored == count + 1, "a changed list is read again, whole"
    assert world.hub.intel.count("shared") == 2 * count + 1


def test_last_modified_alone_makes_a_conditional_get(world: World, files: FileServer) -> None:
    files.etags = False
    files.put("list.txt", "198.51.100.1\n198.51.100.2\n")
    feeds = feeds_for(world.hub, http=files.client())
    feed = feeds.add("lm", kind="text", source=files.url("list.txt"), collection="shared", user="alice@a.example")
    assert feeds.run(feed.id).stored == 2
    again = feeds.run(feed.id)
    assert again.fetched == 0
    assert "if-modified-since" in files.requests[-1].headers


def test_without_validators_an_unchanged_body_is_not_imported_again(world: World, files: FileServer) -> None:
    files.etags = files.last_modified = False
    files.put("list.txt", "198.51.100.1\n")
    feeds = feeds_for(world.hub, http=files.client())
    feed = feeds.add("plain", kind="text", source=files.url("list.txt"), collection="shared", user="alice@a.example")
    assert feeds.run(feed.id).stored == 1
    again = feeds.run(feed.id)
    assert (again.status, again.fetched) == (RunStatus.OK, 0)
    assert len(files.requests) == 2


def test_a_csv_feed_maps_columns_and_reports_rows_it_could_not_map(world: World, files: FileServer) -> None:
    files.put("c2.csv", CSV)
    feeds = feeds_for(world.hub, http=files.client())
    feed = feeds.add(
        "c2 csv",
        kind="csv",
        source=files.url("c2.csv"),
        collection="shared",
        user="alice@a.example",
        mapping={"value": "indicator", "type": "kind", "confidence": "score", "description": "comment"},
        tags=["csv-feed"],
    )
    run = feeds.run(feed.id)
    assert (run.status, run.stored, run.lost) == (RunStatus.OK, 2, 1)
    assert any(p.startswith("lost: line 4: value = 'not a value'") for p in run.problems)
    bodies = {b["name"]: b for b in stored_bodies(world.hub, world.principal("alice@a.example"), "shared")}
    assert bodies["198.51.100.7"]["confidence"] == 80
    assert bodies["198.51.100.7"]["description"] == "C2 of the loader"
    assert bodies["evil.example"]["labels"] == ["csv-feed"]


def test_a_csv_mapping_naming_a_missing_column_fails_the_document_and_it_is_retried(
    world: World, files: FileServer
) -> None:
    files.put("c2.csv", CSV)
    feeds = feeds_for(world.hub, http=files.client())
    feed = feeds.add(
        "wrong column",
        kind="csv",
        source=files.url("c2.csv"),
        collection="shared",
        user="alice@a.example",
        mapping={"value": "ioc"},
    )
    run = feeds.run(feed.id)
    assert (run.status, run.failed, run.stored) == (RunStatus.PARTIAL, 1, 0)
    assert "no column named 'ioc'" in run.problems[0]
    assert feeds.get(feed.id).cursor == {}, "nothing committed, so the next run reads it again"
    feeds.update(feed.id, mapping={"value": "indicator"})
    assert feeds.run(feed.id).stored == 2


def test_an_unreachable_list_is_an_error_run(world: World, files: FileServer) -> None:
    files.faults["gone.txt"] = [0, 0, 0, 0, 0]
    feeds = feeds_for(world.hub, http=files.client())
    feed = feeds.add("down", kind="text", source=files.url("gone.txt"), collection="shared", user="alice@a.example")
    run = feeds.run(feed.id)
    assert run.status is RunStatus.ERROR and "ConnectError" in (run.error or "")
    missing = feeds.run(feed.id)
    assert missing.status is RunStatus.ERROR and "HTTP 404" in (missing.error or "")
    assert feeds.get(feed.id).consecutive_failures == 2
