"""STIX observed-data as records: 2.0 embedded objects, 2.1 object_refs, bundles and lines."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import orjson

from .helpers import check_paths_contract, column, matches, observations, read_all


def sid(kind: str, n: int) -> str:
    return f"{kind}--00000000-0000-4000-8000-{n:012d}"


OD20 = {
    "type": "observed-data",
    "id": sid("observed-data", 1),
    "created": "2024-05-01T00:00:00.000Z",
    "modified": "2024-05-01T00:00:00.000Z",
    "first_observed": "2024-05-01T10:00:00Z",
    "last_observed": "2024-05-01T11:00:00.5Z",
    "number_observed": 3,
    "objects": {
        "0": {"type": "ipv4-addr", "value": "198.51.100.7"},
        "1": {"type": "network-traffic", "dst_ref": "0", "dst_port": 443, "protocols": ["tcp"]},
    },
}


def bundle21() -> dict[str, Any]:
    od = {
        "type": "observed-data",
        "spec_version": "2.1",
        "id": sid("observed-data", 2),
        "created": "2024-05-01T00:00:00.000Z",
        "modified": "2024-05-01T00:00:00.000Z",
        "first_observed": "2024-05-02T10:00:00Z",
        "last_observed": "2024-05-02T10:00:00Z",
        "number_observed": 1,
        "object_refs": [sid("network-traffic", 3), sid("domain-name", 5)],
    }
    missing = {**od, "id": sid("observed-data", 9), "object_refs": [sid("url", 99), sid("domain-name", 5)]}
    return {
        "type": "bundle",
        "id": sid("bundle", 1),
        "objects": [
            od,
            missing,
            {
                "type": "network-traffic",
                "spec_version": "2.1",
                "id": sid("network-traffic", 3),
                "src_ref": sid("ipv4-addr", 4),
                "dst_port": 53,
                "protocols": ["udp", "dns"],
            },
            {"type": "ipv4-addr", "spec_version": "2.1", "id": sid("ipv4-addr", 4), "value": "10.0.0.5"},
            {
                "type": "domain-name",
                "spec_version": "2.1",
                "id": sid("domain-name", 5),
                "value": "evil.example",
                "resolves_to_refs": [sid("ipv4-addr", 6)],
            },
            {"type": "ipv4-addr", "spec_version": "2.1", "id": sid("ipv4-addr", 6), "value": "203.0.113.9"},
        ],
    }


def test_a_pretty_printed_stix_20_bundle(tmp_path: Path) -> None:
    path = tmp_path / "bundle.json"
    path.write_text(
        json.dumps(
            {
                "type": "bundle",
                "id": sid("bundle", 2),
                "spec_version": "2.0",
                "objects": [OD20, {**OD20, "id": sid("observed-data", 7)}],
            },
            indent=2,
        )
    )
    batches, problems = read_all(path)
    assert problems.count == 0
    assert [b.log_type for b in batches] == ["stix"]
    first, second = observations(batches)
    assert second["id"] == sid("observed-data", 7)
    assert first == {
        "type": "observed-data",
        "id": OD20["id"],
        "first_observed": "2024-05-01T10:00:00Z",
        "last_observed": "2024-05-01T11:00:00.5Z",
        "number_observed": 3,
        "objects": OD20["objects"],
    }
    starts = [n for n, text in enumerate(path.read_text().splitlines(), 1) if '"type": "observed-data"' in text]
    assert column(batches, "_line") == [s - 1 for s in starts]  # the line of each object's "{"
    assert column(batches, "_time_us")[0] == 1714557600000000
    assert column(batches, "_last_us")[0] == 1714561200500000
    assert column(batches, "_count") == [3, 3]
    assert column(batches, "id") == [OD20["id"], sid("observed-data", 7)]
    assert matches("[network-traffic:dst_ref.value = '198.51.100.7']", first)
    check_paths_contract(batches[0])


def test_stix_21_object_refs_are_embedded_with_what_they_refer_to(tmp_path: Path) -> None:
    path = tmp_path / "bundle21.json.gz"
    path.write_bytes(gzip.compress(json.dumps(bundle21(), indent=1).encode()))
    batches, problems = read_all(path)
    assert [p.reason for p in problems] == [
        f"observed-data {sid('observed-data', 9)}: object_refs not in the file: {sid('url', 99)}"
    ]
    complete, partial = observations(batches)
    assert complete["objects"] == {
        "0": {"type": "network-traffic", "src_ref": "2", "dst_port": 53, "protocols": ["udp", "dns"]},
        "1": {"type": "domain-name", "value": "evil.example", "resolves_to_refs": ["3"]},
        "2": {"type": "ipv4-addr", "value": "10.0.0.5"},
        "3": {"type": "ipv4-addr", "value": "203.0.113.9"},
    }
    assert matches("[network-traffic:src_ref.value = '10.0.0.5' AND network-traffic:dst_port = 53]", complete)
    assert matches("[domain-name:resolves_to_refs[*].value = '203.0.113.9']", complete)
    assert [o["type"] for o in partial["objects"].values()] == ["domain-name", "ipv4-addr"]
    for b in batches:
        check_paths_contract(b)
    assert column(batches, "domain-name:resolves_to_refs[*].value") == [["203.0.113.9"], ["203.0.113.9"]]


def test_one_object_or_bundle_per_line_and_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "stix.jsonl"
    mistyped = {
        **OD20,
        "id": sid("observed-data", 8),
        "objects": {"0": {"type": "network-traffic", "dst_port": "443", "protocols": ["tcp"]}},
    }
    path.write_bytes(
        b"\n".join(
            [
                orjson.dumps(bundle21()),
                b'{"type": "observed-data", "id": ',
                orjson.dumps(OD20),
                orjson.dumps({**OD20, "id": sid("observed-data", 10), "first_observed": "tuesday"}),
                orjson.dumps(mistyped),
            ]
        )
    )
    batches, problems = read_all(path)
    assert sorted(p.line or 0 for p in problems) == [1, 2, 4]
    assert column(batches, "_line") == [1, 3, 5, 1]
    [batch] = batches
    assert "network-traffic:dst_port" not in batch.paths  # a text port: left to the exact check
    assert "network-traffic:dst_ref.value" in batch.paths
    check_paths_contract(batch)


def test_a_broken_bundle_keeps_what_came_before(tmp_path: Path) -> None:
    good = json.dumps(OD20)
    path = tmp_path / "broken.json"
    path.write_text(
        '{"type": "bundle", "id": "' + sid("bundle", 3) + '", "objects": [\n' + good + ",\n" + good[:40] + "\n"
    )
    batches, problems = read_all(path)
    assert sum(b.num_rows for b in batches) == 1
    assert [p.line for p in problems] == [3]
    assert "rest of the file is not read" in problems.items[0].reason
