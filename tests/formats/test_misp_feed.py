"""MISP feed directories: what we write is what a MISP instance subscribes to, and reads back."""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from pymisp import MISPEvent

from ribat.errors import ValidationError
from ribat.formats.misp import misp_events, misp_to_stix
from ribat.formats.misp_feed import (
    FeedEvent,
    ManifestEntry,
    parse_hashes_csv,
    parse_manifest,
    read_feed_directory,
    write_feed,
)


@pytest.fixture(scope="module")
def shared(data_dir: Path) -> list[dict[str, Any]]:
    """Every shared MISP event, as ``{"Event": {…}}``."""
    found = []
    for path in sorted((data_dir / "cti" / "misp" / "events").glob("*.json")):
        found += [{"Event": event} for _, event in misp_events(path.read_bytes(), source=path.name)]
    assert len(found) >= 10
    return found


@pytest.fixture
def feed(shared: list[dict[str, Any]], tmp_path: Path) -> Path:
    directory = tmp_path / "feed"
    written = write_feed(copy.deepcopy(shared), directory)
    assert written.refused == []
    assert written.uuids == [e["Event"]["uuid"] for e in shared]
    return directory


def stable(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(objects, key=lambda o: (o["id"], str(o.get("modified", ""))))


def test_a_feed_we_write_reads_back_to_the_same_conversion(shared: list[dict[str, Any]], feed: Path) -> None:
    read = list(read_feed_directory(feed))
    assert [r.problem for r in read] == [None] * len(shared)
    assert [r.uuid for r in read] == [e["Event"]["uuid"] for e in shared]
    for original, back in zip(shared, read, strict=True):
        assert back.event is not None
        before, after = misp_to_stix(original), misp_to_stix(back.event)
        assert stable(after.objects) == stable(before.objects)
        assert [(loss.field, loss.value, loss.reason) for loss in after.losses] == [
            (loss.field, loss.value, loss.reason) for loss in before.losses
        ]
        assert after.counts == before.counts


def test_the_feed_has_misp_s_layout(shared: list[dict[str, Any]], feed: Path) -> None:
    names = {p.name for p in feed.iterdir()}
    assert names == {"manifest.json", "hashes.csv"} | {f"{e['Event']['uuid']}.json" for e in shared}
    manifest = json.loads((feed / "manifest.json").read_text())
    for document in shared:
        event = document["Event"]
        entry = manifest[event["uuid"]]
        assert set(entry) >= {"Orgc", "Tag", "info", "date", "analysis", "threat_level_id", "timestamp"}
        assert entry["info"] == event["info"] and int(entry["timestamp"]) == int(event["timestamp"])
        assert entry["Orgc"]["name"] == event["Orgc"]["name"]
        body = json.loads((feed / f"{event['uuid']}.json").read_text())
        assert set(body) == {"Event"}
        assert {"Orgc", "Tag"} <= set(body["Event"]) and "id" not in body["Event"]
        assert len(body["Event"].get("Attribute", [])) == len(event.get("Attribute", []))
        assert len(body["Event"].get("Object", [])) == len(event.get("Object", []))


def test_hashes_csv_holds_the_md5_of_every_attribute_value(shared: list[dict[str, Any]], feed: Path) -> None:
    expected: Counter[tuple[str, str]] = Counter()
    for document in shared:
        event = document["Event"]
        attributes = [*event.get("Attribute", []), *(a for o in event.get("Object", []) for a in o["Attribute"])]
        for attribute in attributes:
            composite = "|" in attribute["type"] or attribute["type"] == "malware-sample"
            for part in str(attribute["value"]).split("|") if composite else [str(attribute["value"])]:
                expected[(hashlib.md5(part.encode()).hexdigest(), event["uuid"])] += 1
    text = (feed / "hashes.csv").read_text()
    assert Counter(parse_hashes_csv(text)) == expected
    assert all(line.count(",") == 1 for line in text.splitlines())


def test_pymisp_loads_every_event_file_we_write(shared: list[dict[str, Any]], feed: Path) -> None:
    for document in shared:
        loaded = MISPEvent()
        loaded.load_file(str(feed / f"{document['Event']['uuid']}.json"))
        assert loaded.uuid == document["Event"]["uuid"]
        assert loaded.info == document["Event"]["info"]


def test_parse_manifest_reads_every_entry(shared: list[dict[str, Any]], feed: Path) -> None:
    raw = (feed / "manifest.json").read_bytes()
    entries = parse_manifest(raw)
    assert entries == parse_manifest(raw.decode()) == parse_manifest(orjson.loads(raw))
    first = shared[0]["Event"]
    assert entries[0] == ManifestEntry(
        uuid=first["uuid"],
        timestamp=int(first["timestamp"]),
        info=first["info"],
        date=first["date"],
        orgc_name=first["Orgc"]["name"],
        orgc_uuid=first["Orgc"]["uuid"],
        tags=tuple(t["name"] for t in first["Tag"]),
        analysis=str(first["analysis"]),
        threat_level_id=str(first["threat_level_id"]),
    )


def test_since_skips_the_events_that_did_not_change(shared: list[dict[str, Any]], feed: Path) -> None:
    entries = parse_manifest((feed / "manifest.json").read_bytes())
    seen = {e.uuid: e.timestamp for e in entries}
    assert list(read_feed_directory(feed, since=seen)) == []
    changed, dropped = entries[2], entries[5]
    seen[changed.uuid] = changed.timestamp - 1  # the feed has a newer version
    del seen[dropped.uuid]  # never pulled
    seen[entries[7].uuid] = entries[7].timestamp + 100  # pulled later than the feed's version
    assert [r.uuid for r in read_feed_directory(feed, since=seen)] == [changed.uuid, dropped.uuid]


def test_a_missing_or_malformed_event_file_is_reported_and_the_rest_read(feed: Path) -> None:
    entries = parse_manifest((feed / "manifest.json").read_bytes())
    (feed / f"{entries[1].uuid}.json").write_text("{not json")
    (feed / f"{entries[3].uuid}.json").unlink()
    (feed / f"{entries[4].uuid}.json").write_text(json.dumps({"Event": {"uuid": entries[0].uuid}}))
    (feed / f"{entries[6].uuid}.json").write_text(json.dumps(["not", "an", "event"]))
    read = {r.uuid: r for r in read_feed_directory(feed)}
    assert list(read) == [e.uuid for e in entries]
    problems = {u: r.problem for u, r in read.items() if r.problem is not None}
    assert set(problems) == {entries[i].uuid for i in (1, 3, 4, 6)}
    assert "not JSON" in str(problems[entries[1].uuid])
    assert "missing" in str(problems[entries[3].uuid])
    assert f"holds event '{entries[0].uuid}'" in str(problems[entries[4].uuid])
    assert "not a MISP event" in str(problems[entries[6].uuid])
    assert all(read[u].event is None for u in problems)
    assert all(r.event is not None and misp_to_stix(r.event).objects for u, r in read.items() if u not in problems)


def test_a_missing_or_malformed_manifest_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"no manifest\.json in"):
        list(read_feed_directory(tmp_path))
    (tmp_path / "manifest.json").write_text("[1, 2]")
    with pytest.raises(ValidationError) as caught:
        list(read_feed_directory(tmp_path))
    assert caught.value.field == "manifest.json" and "expected an object" in caught.value.reason
    (tmp_path / "manifest.json").write_text("{")
    with pytest.raises(ValidationError, match="not JSON"):
        list(read_feed_directory(tmp_path))


def test_manifest_errors_name_the_field() -> None:
    good = {"Orgc": {"name": "A", "uuid": str(uuid.uuid4())}, "Tag": [], "info": "i", "timestamp": "1600000000"}
    event_uuid = str(uuid.uuid4())
    cases = {
        "../../etc/passwd": (good, "manifest.json[../../etc/passwd]"),
        event_uuid: ({**good, "timestamp": "soon"}, f"manifest.json[{event_uuid}].timestamp"),
    }
    for key, (entry, field) in cases.items():
        with pytest.raises(ValidationError) as caught:
            parse_manifest({key: entry})
        assert caught.value.field == field
    with pytest.raises(ValidationError) as caught:
        parse_manifest({event_uuid: {**good, "Tag": [{"colour": "#fff"}]}})
    assert caught.value.field == f"manifest.json[{event_uuid}].Tag[0].name"
    problems: list[ValidationError] = []
    third = str(uuid.uuid4())
    entries = parse_manifest({"x": good, event_uuid: good, third: {**good, "Orgc": "A"}}, problems=problems)
    assert [e.uuid for e in entries] == [event_uuid]
    assert [p.field for p in problems] == ["manifest.json[x]", f"manifest.json[{third}].Orgc"]


def test_a_bad_manifest_entry_is_a_problem_of_its_own_when_reading_a_directory(tmp_path: Path) -> None:
    event_uuid = str(uuid.uuid4())
    (tmp_path / "manifest.json").write_text(json.dumps({"nope": {"timestamp": 1}, event_uuid: {"timestamp": 1}}))
    (tmp_path / f"{event_uuid}.json").write_text(json.dumps({"Event": {"uuid": event_uuid, "info": "x"}}))
    read = list(read_feed_directory(tmp_path))
    assert read[0] == FeedEvent("nope", 0, None, read[0].problem) and "not an event uuid" in str(read[0].problem)
    assert read[1].uuid == event_uuid and read[1].event is not None


def test_hashes_csv_errors_name_the_line() -> None:
    event_uuid = str(uuid.uuid4())
    assert parse_hashes_csv(f"\nABCDEF0123,{event_uuid}\n\n".encode()) == [("abcdef0123", event_uuid)]
    with pytest.raises(ValidationError) as caught:
        parse_hashes_csv(f"abc,{event_uuid}\nnot-hex,{event_uuid}\n")
    assert caught.value.field == "hashes.csv line 2"
    problems: list[ValidationError] = []
    pairs = parse_hashes_csv(f"abc,{event_uuid}\nabc\nabc,../x\n", problems=problems)
    assert pairs == [("abc", event_uuid)]
    assert [p.field for p in problems] == ["hashes.csv line 2", "hashes.csv line 3"]


def test_write_feed_refuses_what_cannot_be_a_feed_event(shared: list[dict[str, Any]], tmp_path: Path) -> None:
    good = copy.deepcopy(shared[3])
    traversal = copy.deepcopy(shared[4])
    traversal["Event"]["uuid"] = "../../outside"
    twin = copy.deepcopy(shared[3])
    orphan = copy.deepcopy(shared[5]["Event"])  # bare, and without its creator
    del orphan["Orgc"]
    directory = tmp_path / "out"
    written = write_feed([good, traversal, twin, orphan, "junk"], directory)  # type: ignore[list-item]
    assert written.uuids == [good["Event"]["uuid"]]
    assert [(loss.where, loss.field) for loss in written.refused] == [
        ("events[1]", "uuid"),
        ("events[2]", "uuid"),
        ("events[3]", "Orgc"),
        ("events[4]", "Event"),
    ]
    assert not (tmp_path / "outside.json").exists()
    assert sorted(p.name for p in directory.iterdir()) == sorted(
        ["manifest.json", "hashes.csv", f"{good['Event']['uuid']}.json"]
    )
    with_creator = write_feed([orphan], tmp_path / "second", orgc={"name": "CERT Test", "uuid": str(uuid.uuid4())})
    assert with_creator.uuids == [orphan["uuid"]] and with_creator.refused == []
    assert parse_manifest((tmp_path / "second" / "manifest.json").read_bytes())[0].orgc_name == "CERT Test"
