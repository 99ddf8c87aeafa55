"""JSON lines and CSV read with a user mapping ``{object path: field}``; the mapping is validated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from ribat.errors import ValidationError
from ribat.hunt.readers import open_logs, parse_mapping

from .helpers import assert_valid_stix, check_paths_contract, column, matches, observations, read_all

MAPPING: dict[str, Any] = {
    "time": "when",
    "network-traffic:src_ref.value": "src_ip",
    "network-traffic:dst_ref.value": "dst_ip",
    "network-traffic:dst_port": "dport",
    "network-traffic:protocols[*]": "proto",
    "domain-name:value": "query",
    "file:hashes.'SHA-256'": "sha256",
}


# -- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"ipv4-adr:value": "src"}, "unknown STIX cyber-observable type 'ipv4-adr'"),
        ({"ipv4-addr:address": "src"}, "unsupported property"),
        ({"file:hashes.SHA256": "h"}, "unsupported property"),
        ({"artifact:payload_bin": "x"}, "cannot be read from log fields"),
        ({"not a path": "x"}, "object path"),
        ({"ipv4-addr:value": ""}, "must name a field"),
        ({"ipv4-addr:value": "_line"}, "reserved"),
        ({"time": "ts"}, "at least one object path"),
        ({}, "at least one"),
        ({"network-traffic:src_ref.value": ["a", "b"]}, "one field"),
        ({"file:name": ["a", "b"], "file:size": "s"}, "must be the only file property"),
        ({"network-traffic:dst_port": "x", "domain-name:value": "x"}, "both int and str"),
    ],
)
def test_bad_mappings_are_rejected_with_the_key_named(mapping: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_mapping(mapping)
    assert message in str(caught.value)


def test_mapping_paths_cover_the_objects_references_make() -> None:
    parsed = parse_mapping({**MAPPING, "file:hashes.'SHA-256'": "sha256", "file:hashes.MD5": "md5"})
    assert parsed.time_field == "when"
    assert parsed.paths == {
        "network-traffic:src_ref.value": ("src_ip",),
        "ipv4-addr:value": ("src_ip", "dst_ip"),
        "ipv6-addr:value": ("src_ip", "dst_ip"),
        "network-traffic:dst_ref.value": ("dst_ip",),
        "network-traffic:dst_port": ("dport",),
        "network-traffic:protocols[*]": ("proto",),
        "domain-name:value": ("query",),
        "file:hashes.'SHA-256'": ("sha256",),
        "file:hashes.MD5": ("md5",),
    }
    assert parse_mapping({"file:hashes.'MD5'": "h"}).paths == {"file:hashes.MD5": ("h",)}


# -- JSON lines ----------------------------------------------------------------------------------


def test_json_lines_with_a_mapping(tmp_path: Path) -> None:
    rows = [
        {
            "when": 1714557600,
            "src_ip": "10.0.0.5",
            "dst_ip": "198.51.100.7",
            "dport": 443,
            "proto": ["ipv4", "tcp"],
            "query": "a.example",
        },
        {
            "when": "2024-05-01T10:00:01Z",
            "src_ip": "2001:db8::1",
            "dst_ip": "2001:db8::2",
            "dport": "8443",
            "proto": "tcp",
        },
        {"when": 1714557602.5, "src_ip": "10.0.0.6", "sha256": "ab" * 32, "extra": {"ignored": True}},
    ]
    log = tmp_path / "custom.jsonl"
    log.write_bytes(b"\n".join(orjson.dumps(r) for r in rows) + b"\n{broken\n")
    batches, problems = read_all(log, mapping=MAPPING)
    assert [b.log_type for b in batches] == ["jsonl"]
    assert [(p.line, p.reason[:14]) for p in problems] == [(4, "not valid JSON")]
    first, second, third = observations(batches)
    assert first["objects"] == {
        "0": {"type": "ipv4-addr", "value": "10.0.0.5"},
        "1": {"type": "ipv4-addr", "value": "198.51.100.7"},
        "2": {"type": "network-traffic", "src_ref": "0", "dst_ref": "1", "dst_port": 443, "protocols": ["ipv4", "tcp"]},
        "3": {"type": "domain-name", "value": "a.example"},
    }
    assert second["first_observed"] == "2024-05-01T10:00:01Z"
    assert second["objects"]["0"] == {"type": "ipv6-addr", "value": "2001:db8::1"}
    assert second["objects"]["2"]["dst_port"] == 8443
    assert second["objects"]["2"]["protocols"] == ["tcp"]
    assert third["objects"] == {
        "0": {"type": "ipv4-addr", "value": "10.0.0.6"},
        "1": {"type": "network-traffic", "src_ref": "0"},  # no protocols field: not valid STIX, still matchable
        "2": {"type": "file", "hashes": {"SHA-256": "ab" * 32}},
    }
    assert matches("[network-traffic:dst_port = 443 AND network-traffic:dst_ref.value = '198.51.100.7']", first)
    assert matches("[ipv6-addr:value = '2001:db8::2']", second)
    for record in (first, second):
        assert_valid_stix(record)
    for b in batches:
        check_paths_contract(b)


def test_nested_json_fields_and_a_guessed_time_field(tmp_path: Path) -> None:
    log = tmp_path / "nested.json"
    log.write_bytes(
        orjson.dumps(
            {
                "@timestamp": "2024-05-01T10:00:00+00:00",
                "source": {"ip": "10.0.0.5"},
                "dns": {"question": {"name": "n.example"}},
            }
        )
        + b"\n"
    )
    mapping = {"ipv4-addr:value": "source.ip", "domain-name:value": "dns.question.name"}
    batches, problems = read_all(log, mapping=mapping)
    assert problems.count == 0
    [record] = observations(batches)
    assert record["first_observed"] == "2024-05-01T10:00:00Z"
    assert matches("[domain-name:value = 'n.example']", record)
    assert matches("[ipv4-addr:value = '10.0.0.5']", record)


def test_json_lines_need_a_mapping_and_a_time_field(tmp_path: Path) -> None:
    log = tmp_path / "plain.jsonl"
    log.write_bytes(b'{"a": "10.0.0.1"}\n')
    with pytest.raises(ValidationError, match="needs a mapping"):
        open_logs(log)
    with pytest.raises(ValidationError, match="no time field"):
        open_logs(log, mapping={"ipv4-addr:value": "a"})


def test_several_fields_for_one_property_make_several_objects(tmp_path: Path) -> None:
    log = tmp_path / "pairs.jsonl"
    log.write_bytes(b'{"ts": 1, "a": "10.0.0.1", "b": "10.0.0.2"}\n{"ts": 2, "a": "10.0.0.3", "b": "10.0.0.3"}\n')
    batches, _ = read_all(log, mapping={"ipv4-addr:value": ["a", "b"]})
    first, second = observations(batches)
    assert sorted(o["value"] for o in first["objects"].values()) == ["10.0.0.1", "10.0.0.2"]
    assert list(second["objects"].values()) == [{"type": "ipv4-addr", "value": "10.0.0.3"}]


# -- CSV -----------------------------------------------------------------------------------------


def test_csv_with_a_mapping_quotes_and_bad_rows(tmp_path: Path) -> None:
    log = tmp_path / "proxy.csv"
    log.write_text(
        "when,src_ip,dst_ip,dport,proto,query,sha256,note\n"
        '2024-05-01T10:00:00Z,10.0.0.5,198.51.100.7,443,tcp,a.example,,"first, with a comma"\n'
        "2024-05-01T10:00:01Z,10.0.0.6,198.51.100.8\n"
        "\n"
        "2024-05-01T10:00:02Z,10.0.0.7,198.51.100.9,https,tcp,b.example,,x\n"
        "soon,10.0.0.8,198.51.100.10,80,tcp,c.example,,x\n"
        '1714557603,10.0.0.9,198.51.100.11,80,"tcp,http",d.example,,x\n'
    )
    batches, problems = read_all(log, mapping=MAPPING)
    assert [b.log_type for b in batches] == ["csv"]
    assert column(batches, "_line") == [2, 5, 7]
    assert {p.line: p.reason for p in problems}.keys() == {3, 5, 6}
    assert column(batches, "dport") == [443, None, 80]
    first, second, third = observations(batches)
    assert first["objects"]["2"] == {
        "type": "network-traffic",
        "src_ref": "0",
        "dst_ref": "1",
        "dst_port": 443,
        "protocols": ["tcp"],
    }
    assert "dst_port" not in second["objects"]["2"]
    assert third["objects"]["2"]["protocols"] == ["tcp", "http"]
    assert third["first_observed"] == "2024-05-01T10:00:03Z"
    assert matches("[domain-name:value = 'b.example']", second)
    for record in (first, second, third):
        assert_valid_stix(record)
    for b in batches:
        check_paths_contract(b)


def test_csv_delimiters_and_missing_columns(tmp_path: Path) -> None:
    tsv = tmp_path / "log.txt"
    tsv.write_text("ts\tclient\n1714557600\t10.0.0.5\n")
    batches, problems = read_all(tsv, kind="csv", mapping={"ipv4-addr:value": "client"})
    assert problems.count == 0
    assert matches("[ipv4-addr:value = '10.0.0.5']", observations(batches)[0])
    semi = tmp_path / "log.csv"
    semi.write_text("ts;client\n1714557600;10.0.0.5\n")
    with pytest.raises(ValidationError, match="no column 'server'"):
        open_logs(semi, mapping={"ipv4-addr:value": "server"})
