"""``open_logs``: format detection, options, errors; object paths, timestamps and the problem sink."""

from __future__ import annotations

import gzip
import logging
import pickle
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from ribat.errors import ValidationError
from ribat.hunt.readers import Problems, detect, format_path, format_timestamp, open_logs, parse_path

from .helpers import CONN_FIELDS, CONN_TYPES, matches, read_all, zeek_tsv


def conn_rows(n: int) -> list[list[str]]:
    rows = []
    for i in range(n):
        row = dict.fromkeys(CONN_FIELDS, "-")
        row.update(
            {"ts": f"{1714557600 + i}.000000", "id.orig_h": "10.0.0.1", "id.orig_p": str(i), "id.resp_h": "10.0.0.2"}
        )
        row.update({"id.resp_p": "80", "proto": "tcp"})
        rows.append([row[f] for f in CONN_FIELDS])
    return rows


def test_formats_are_detected_from_content(tmp_path: Path) -> None:
    zeek = zeek_tsv(tmp_path / "a", "conn", CONN_FIELDS, CONN_TYPES, conn_rows(1))
    zeek_json = tmp_path / "b"
    zeek_json.write_bytes(orjson.dumps({"ts": 1.0, "uid": "C1", "id.orig_h": "10.0.0.1"}) + b"\n")
    eve = tmp_path / "c"
    eve.write_bytes(gzip.compress(orjson.dumps({"timestamp": "2024-05-01T00:00:00Z", "event_type": "dns"}) + b"\n"))
    stix_line = tmp_path / "d"
    stix_line.write_bytes(orjson.dumps({"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000000"}))
    stix_doc = tmp_path / "e"
    stix_doc.write_text('{\n  "type": "bundle",\n  "objects": []\n}\n')
    jsonl = tmp_path / "f"
    jsonl.write_text('{"a": 1}\n')
    csv = tmp_path / "g"
    csv.write_text("a,b\n1,2\n")
    empty = tmp_path / "h"
    empty.write_text("\n\n")
    found = {
        p.name: (d.kind, d.compression)
        for p in (zeek, zeek_json, eve, stix_line, stix_doc, jsonl, csv, empty)
        if (d := detect(p))
    }
    assert found == {
        "a": ("zeek", None),
        "b": ("zeek-json", None),
        "c": ("suricata", "gzip"),
        "d": ("stix", None),
        "e": ("stix", None),
        "f": ("jsonl", None),
        "g": ("csv", None),
        "h": (None, None),
    }
    assert not detect(stix_doc).one_per_line
    batches, problems = read_all(empty)
    assert batches == [] and problems.count == 0


def test_kind_forces_a_format_and_a_mapping_can_read_built_in_logs_differently(tmp_path: Path) -> None:
    eve = tmp_path / "eve.json"
    eve.write_bytes(orjson.dumps({"timestamp": "2024-05-01T00:00:00Z", "event_type": "x", "host": "h.example"}) + b"\n")
    batches, _ = read_all(eve, kind="jsonl", mapping={"time": "timestamp", "domain-name:value": "host"})
    assert [b.log_type for b in batches] == ["jsonl"]
    assert matches("[domain-name:value = 'h.example']", batches[0].observed(0))
    with pytest.raises(ValidationError, match="unknown log kind"):
        open_logs(eve, kind="syslog")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="not a Zeek TSV log"):
        open_logs(eve, kind="zeek")
    with pytest.raises(ValidationError, match="cannot read"):
        open_logs(tmp_path / "missing.log")
    with pytest.raises(ValidationError, match="batch_rows"):
        open_logs(eve, batch_rows=0)


def test_all_files_are_checked_before_the_first_batch(tmp_path: Path) -> None:
    good = zeek_tsv(tmp_path / "conn.log", "conn", CONN_FIELDS, CONN_TYPES, conn_rows(2))
    other = tmp_path / "notes.txt"
    other.write_text("just,some\ntext,here\n")
    with pytest.raises(ValidationError, match="csv needs a mapping"):
        open_logs([good, other])


def test_batches_hold_at_most_batch_rows_and_pickle(tmp_path: Path) -> None:
    log = zeek_tsv(tmp_path / "conn.log", "conn", CONN_FIELDS, CONN_TYPES, conn_rows(25))
    batches, _ = read_all(log, batch_rows=10)
    assert [b.num_rows for b in batches] == [10, 10, 5]
    copy = pickle.loads(pickle.dumps(batches[1]))
    assert copy.observed(0) == batches[1].observed(0)
    assert copy.observed(0)["objects"]["2"]["src_port"] == 10


def test_problems_are_logged_when_no_sink_is_given(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    log = zeek_tsv(tmp_path / "conn.log", "conn", CONN_FIELDS, CONN_TYPES, [*conn_rows(2), "broken\tline"])
    with caplog.at_level(logging.WARNING, logger="ribat.hunt.readers"):
        rows = sum(b.num_rows for b in open_logs(log))
    assert rows == 2
    assert f"{log}: 1 problem line(s): {log}:11: expected 21 fields, found 2" in caplog.text


def test_the_problem_sink_counts_everything_and_keeps_the_first() -> None:
    sink = Problems(keep=2)
    for line in range(5):
        sink.add("f.log", line, "bad")
    sink.add("g.log", None, "unreadable")
    assert len(sink) == 6 and [p.line for p in sink] == [0, 1]
    assert sink.by_file == {"f.log": 5, "g.log": 1}
    assert str(sink.items[0]) == "f.log:0: bad"


@pytest.mark.parametrize(
    ("text", "canonical", "parsed"),
    [
        ("file:hashes.'SHA-256'", "file:hashes.'SHA-256'", ("file", ("hashes", "SHA-256"))),
        ("file:hashes.'MD5'", "file:hashes.MD5", ("file", ("hashes", "MD5"))),
        ("domain-name:resolves_to_refs[*].value", None, ("domain-name", ("resolves_to_refs", "*", "value"))),
        (
            "network-traffic:extensions.'http-request-ext'.request_header.'User-Agent'",
            None,
            ("network-traffic", ("extensions", "http-request-ext", "request_header", "User-Agent")),
        ),
        ("x-thing:values[2].'it''s'", None, None),
        ("email-message:body_multipart[0].'IN'", None, ("email-message", ("body_multipart", 0, "IN"))),
    ],
)
def test_object_paths_round_trip(
    text: str, canonical: str | None, parsed: tuple[str, tuple[object, ...]] | None
) -> None:
    if parsed is None:
        with pytest.raises(ValueError):
            parse_path(text)
        return
    assert parse_path(text) == parsed
    assert format_path(*parse_path(text)) == (canonical or text)


def test_timestamps_are_stix_utc_with_microseconds() -> None:
    assert format_timestamp(0) == "1970-01-01T00:00:00Z"
    assert format_timestamp(1714557600123456) == "2024-05-01T10:00:00.123456Z"
    assert format_timestamp(-1) == "1969-12-31T23:59:59.999999Z"


@pytest.mark.parametrize(
    "micros",
    [
        0,
        1,
        999_999,
        951_782_400_000_000,  # 2000-02-29, a leap day
        -62_135_596_800_000_000,  # 0001-01-01, the first instant with a four-digit year
        -62_135_596_800_000_001,  # before it: past what a STIX timestamp can say
        253_402_300_799_999_999,  # 9999-12-31T23:59:59.999999
        253_402_300_800_000_000,
    ],
)
def test_timestamps_agree_with_datetime_formatting_at_every_range(micros: int) -> None:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    try:
        moment = epoch + timedelta(microseconds=micros)
    except OverflowError:
        with pytest.raises(OverflowError):
            format_timestamp(micros)
        return
    text = f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}"
    expected = f"{text}.{moment.microsecond:06d}Z" if moment.microsecond else f"{text}Z"
    assert format_timestamp(micros) == expected
    assert format_timestamp(moment) == expected
