"""Suricata EVE JSON: one log type per event type, objects from every section of an event."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import orjson

from .helpers import assert_valid_stix, check_paths_contract, column, matches, observations, read_all

SHA256 = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"
TUPLE = {"src_ip": "10.0.0.5", "src_port": 49152, "dest_ip": "203.0.113.9", "dest_port": 80, "proto": "TCP"}


def event(event_type: str, second: int, **sections: Any) -> dict[str, Any]:
    return {
        "timestamp": f"2024-05-01T12:00:{second:02d}.250000+0200",
        "flow_id": 1234567890123456,
        "event_type": event_type,
        **TUPLE,
        **sections,
    }


EVENTS: list[dict[str, Any]] = [
    event(
        "alert",
        0,
        app_proto="http",
        alert={
            "action": "allowed",
            "gid": 1,
            "signature_id": 2018358,
            "rev": 10,
            "signature": "ET POLICY x",
            "severity": 2,
        },
        http={
            "hostname": "evil.example",
            "url": "/gate.php",
            "http_user_agent": "Agent/1.0",
            "http_method": "GET",
            "protocol": "HTTP/1.1",
            "status": 200,
        },
    ),
    event(
        "dns",
        1,
        **{"src_port": 5353, "dest_port": 53, "proto": "UDP"},
        dns={"type": "query", "id": 1, "rrname": "evil.example", "rrtype": "A", "tx_id": 0},
    ),
    event(
        "dns",
        2,
        **{"src_port": 5353, "dest_port": 53, "proto": "UDP"},
        dns={
            "version": 2,
            "type": "answer",
            "id": 1,
            "rrname": "www.evil.example",
            "rrtype": "A",
            "rcode": "NOERROR",
            "answers": [
                {"rrname": "www.evil.example", "rrtype": "CNAME", "ttl": 60, "rdata": "evil.example"},
                {"rrname": "evil.example", "rrtype": "A", "ttl": 60, "rdata": "203.0.113.9"},
                {"rrname": "evil.example", "rrtype": "TXT", "ttl": 60, "rdata": "v=spf1 -all"},
            ],
        },
    ),
    event(
        "dns",
        3,
        **{"src_port": 5353, "dest_port": 53, "proto": "UDP"},
        dns={
            "version": 2,
            "type": "answer",
            "rrname": "grouped.example",
            "grouped": {"A": ["192.0.2.1", "192.0.2.2"], "AAAA": ["2001:db8::1"]},
        },
    ),
    event(
        "dns",
        4,
        **{"src_port": 5353, "dest_port": 53, "proto": "UDP"},
        dns={
            "version": 3,
            "type": "response",
            "queries": [{"rrname": "v3.example", "rrtype": "AAAA"}],
            "answers": [{"rrname": "v3.example", "rrtype": "AAAA", "rdata": "2001:db8::2"}],
        },
    ),
    event(
        "tls",
        5,
        **{"dest_port": 443},
        tls={
            "subject": "CN=c2.example",
            "issuerdn": "CN=Bad CA",
            "serial": "0C:00:99",
            "fingerprint": "8F:51:12:06:a0:cc:4e:cd:e8:a3:8b:38:f8:87:59:e5:af:95:ca:cd",
            "sni": "c2.example",
            "version": "TLS 1.2",
            "notbefore": "2024-01-04T10:48:43",
            "notafter": "2024-03-29T10:18:00",
        },
    ),
    event(
        "fileinfo",
        6,
        app_proto="http",
        http={"hostname": "files.example", "http_port": 8080, "url": "/dl/payload.exe", "http_method": "GET"},
        fileinfo={
            "filename": "/dl/payload.exe",
            "magic": "PE32",
            "state": "CLOSED",
            "md5": "44d88612fea8a8f36de82e1278abb02f",
            "sha256": SHA256,
            "stored": False,
            "size": 68,
        },
    ),
    event(
        "flow",
        7,
        app_proto="failed",
        flow={
            "pkts_toserver": 3,
            "pkts_toclient": 2,
            "bytes_toserver": 180,
            "bytes_toclient": 120,
            "start": "2024-05-01T12:00:01.000000+0200",
            "end": "2024-05-01T12:00:07.000000+0200",
            "state": "closed",
        },
    ),
    event(
        "smtp",
        8,
        **{"dest_port": 25},
        smtp={"helo": "mx", "mail_from": "<a@evil.example>", "rcpt_to": ["<b@victim.example>", "<c@victim.example>"]},
    ),
    {"timestamp": "2024-05-01T12:00:09.000000+0200", "event_type": "stats", "stats": {"uptime": 9}},
]


def write_eve(path: Path, lines: list[bytes], *, compress: bool = False) -> Path:
    data = b"\n".join(lines) + b"\n"
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def by_type(batches: list[Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for b in batches:
        out.setdefault(b.log_type, []).extend(b.observed_rows(list(range(b.num_rows))))
    return out


def test_each_event_type_is_its_own_log_type_and_stats_are_left_out(tmp_path: Path) -> None:
    eve = write_eve(tmp_path / "eve.json", [orjson.dumps(e) for e in EVENTS])
    batches, problems = read_all(eve)
    assert problems.count == 0
    assert [b.log_type for b in batches] == [
        "suricata.alert",
        "suricata.dns",
        "suricata.tls",
        "suricata.fileinfo",
        "suricata.flow",
        "suricata.smtp",
    ]
    assert column(batches, "_line") == [1, 2, 3, 4, 5, 6, 7, 8, 9]
    assert column(batches, "_time_us")[0] == 1714557600250000  # 12:00:00.25 at +02:00 is 10:00:00.25Z
    for record in observations(batches):
        assert_valid_stix(record)
    for b in batches:
        check_paths_contract(b)


def test_alert_with_http_metadata_gives_the_url_and_request(tmp_path: Path) -> None:
    batches, _ = read_all(write_eve(tmp_path / "eve.json", [orjson.dumps(EVENTS[0])]))
    [alert] = by_type(batches)["suricata.alert"]
    assert alert["first_observed"] == "2024-05-01T10:00:00.250000Z"
    objects = list(alert["objects"].values())
    assert objects[2] == {
        "type": "network-traffic",
        "src_ref": "0",
        "dst_ref": "1",
        "src_port": 49152,
        "dst_port": 80,
        "protocols": ["ipv4", "tcp", "http"],
        "extensions": {
            "http-request-ext": {
                "request_method": "get",
                "request_value": "/gate.php",
                "request_version": "http/1.1",
                "request_header": {"Host": "evil.example", "User-Agent": "Agent/1.0"},
            }
        },
    }
    assert {"type": "url", "value": "http://evil.example/gate.php"} in objects
    assert matches("[url:value = 'http://evil.example/gate.php']", alert)
    assert column(batches, "alert.signature_id") == [2018358]


def test_dns_versions_resolve_names_to_addresses(tmp_path: Path) -> None:
    batches, _ = read_all(write_eve(tmp_path / "eve.json", [orjson.dumps(e) for e in EVENTS[1:5]]))
    query, detailed, grouped, v3 = by_type(batches)["suricata.dns"]
    assert matches("[domain-name:value = 'evil.example']", query)
    assert not matches("[domain-name:resolves_to_refs[*].value = '203.0.113.9']", query)
    names = {o["value"]: o for o in detailed["objects"].values() if o["type"] == "domain-name"}
    www, apex = names["www.evil.example"], names["evil.example"]
    assert [detailed["objects"][k]["value"] for k in www["resolves_to_refs"]] == ["evil.example"]
    assert [detailed["objects"][k]["value"] for k in apex["resolves_to_refs"]] == ["203.0.113.9"]
    assert not any("spf" in str(o.get("value")) for o in detailed["objects"].values())
    assert matches(
        "[domain-name:value = 'evil.example' AND domain-name:resolves_to_refs[*].value = '203.0.113.9']", detailed
    )
    assert matches("[domain-name:resolves_to_refs[*].value = '2001:db8::1']", grouped)
    assert matches("[ipv4-addr:value = '192.0.2.2']", grouped)
    assert matches("[domain-name:value = 'v3.example' AND domain-name:resolves_to_refs[*].value = '2001:db8::2']", v3)


def test_tls_fileinfo_flow_and_smtp_sections(tmp_path: Path) -> None:
    batches, _ = read_all(write_eve(tmp_path / "eve.json", [orjson.dumps(e) for e in EVENTS[5:9]]))
    records = by_type(batches)
    [tls] = records["suricata.tls"]
    cert = next(o for o in tls["objects"].values() if o["type"] == "x509-certificate")
    assert cert == {
        "type": "x509-certificate",
        "hashes": {"SHA-1": "8f511206a0cc4ecde8a38b38f88759e5af95cacd"},
        "subject": "CN=c2.example",
        "issuer": "CN=Bad CA",
        "serial_number": "0C:00:99",
        "validity_not_before": "2024-01-04T10:48:43Z",
        "validity_not_after": "2024-03-29T10:18:00Z",
    }
    assert matches("[x509-certificate:hashes.'SHA-1' = '8f511206a0cc4ecde8a38b38f88759e5af95cacd']", tls)
    assert matches("[domain-name:value = 'c2.example']", tls)
    [fileinfo] = records["suricata.fileinfo"]
    file = next(o for o in fileinfo["objects"].values() if o["type"] == "file")
    assert file == {
        "type": "file",
        "hashes": {"MD5": "44d88612fea8a8f36de82e1278abb02f", "SHA-256": SHA256},
        "name": "payload.exe",
        "size": 68,
    }
    assert matches("[url:value = 'http://files.example:8080/dl/payload.exe']", fileinfo)
    assert matches(f"[file:hashes.'SHA-256' = '{SHA256}' AND file:name = 'payload.exe']", fileinfo)
    [flow] = records["suricata.flow"]
    traffic = flow["objects"]["2"]
    assert traffic["protocols"] == ["ipv4", "tcp"]  # app_proto "failed" is no protocol
    assert (traffic["src_byte_count"], traffic["dst_byte_count"], traffic["src_packets"], traffic["dst_packets"]) == (
        180,
        120,
        3,
        2,
    )
    assert (traffic["start"], traffic["end"]) == ("2024-05-01T10:00:01Z", "2024-05-01T10:00:07Z")
    [smtp] = records["suricata.smtp"]
    emails = sorted(o["value"] for o in smtp["objects"].values() if o["type"] == "email-addr")
    assert emails == ["a@evil.example", "b@victim.example", "c@victim.example"]
    assert matches("[email-addr:value = 'b@victim.example']", smtp)


def test_bad_lines_and_unexpected_shapes_in_eve(tmp_path: Path) -> None:
    odd = event("http", 10, http={"hostname": "odd.example", "url": "/", "status": "200", "http_method": "GET"})
    no_time = {k: v for k, v in event("alert", 11).items() if k != "timestamp"}
    eve = write_eve(
        tmp_path / "eve.json.gz",
        [
            orjson.dumps(EVENTS[1]),
            b'{"timestamp": "2024-05-01T12:00:01Z", "event_type": "dns", "src_ip": ',
            orjson.dumps(odd),  # status as text: read line by line, kept
            orjson.dumps(no_time),
            b"not json at all",
            orjson.dumps(EVENTS[0]),
        ],
        compress=True,
    )
    batches, problems = read_all(eve)
    assert sorted((p.line or 0) for p in problems) == [2, 4, 5]
    assert {b.log_type: column([b], "_line") for b in batches} == {
        "suricata.dns": [1],
        "suricata.http": [3],
        "suricata.alert": [6],
    }
    http = next(b for b in batches if b.log_type == "suricata.http")
    assert column([http], "http.status") == [200]
    assert matches("[domain-name:value = 'odd.example']", http.observed(0))
