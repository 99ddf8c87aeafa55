"""Zeek TSV and JSON logs: records, objects, problems, and the real Simda and WRCCDC captures."""

from __future__ import annotations

import dataclasses
import gzip
from pathlib import Path

import orjson
import pytest

from ribat.hunt.readers import TIME_COLUMN

from .helpers import (
    CONN_FIELDS,
    CONN_TYPES,
    assert_valid_stix,
    check_paths_contract,
    column,
    matches,
    observations,
    read_all,
    zeek_tsv,
)

HEADER_LINES = 8


def conn_row(ts: str, orig: str, oport: str, resp: str, rport: str, proto: str = "tcp", **extra: str) -> list[str]:
    row = dict.fromkeys(CONN_FIELDS, "-")
    row.update({"ts": ts, "uid": "C1", "id.orig_h": orig, "id.orig_p": oport, "id.resp_h": resp, "id.resp_p": rport})
    row.update({"proto": proto, "tunnel_parents": "(empty)", **extra})
    return [row[f] for f in CONN_FIELDS]


# -- conn ----------------------------------------------------------------------------------------


def test_conn_records_become_traffic_between_two_addresses(tmp_path: Path) -> None:
    log = zeek_tsv(
        tmp_path / "conn.log",
        "conn",
        CONN_FIELDS,
        CONN_TYPES,
        [
            conn_row(
                "1714557600.123456",
                "10.0.0.5",
                "51000",
                "198.51.100.7",
                "443",
                service="ssl,http",
                duration="1.500000",
                orig_bytes="120",
                resp_bytes="4000",
                orig_pkts="3",
                resp_pkts="5",
            ),
            conn_row("1714557601.000000", "fe80::1", "5353", "ff02::fb", "5353", "udp"),
        ],
    )
    batches, problems = read_all(log)
    assert problems.count == 0
    assert [b.log_type for b in batches] == ["zeek.conn"]
    first, second = observations(batches)
    assert first["first_observed"] == first["last_observed"] == "2024-05-01T10:00:00.123456Z"
    assert first["number_observed"] == 1
    assert first["objects"] == {
        "0": {"type": "ipv4-addr", "value": "10.0.0.5"},
        "1": {"type": "ipv4-addr", "value": "198.51.100.7"},
        "2": {
            "type": "network-traffic",
            "src_ref": "0",
            "dst_ref": "1",
            "src_port": 51000,
            "dst_port": 443,
            "protocols": ["ipv4", "tcp", "ssl", "http"],
            "start": "2024-05-01T10:00:00.123456Z",
            "end": "2024-05-01T10:00:01.623456Z",
            "src_byte_count": 120,
            "dst_byte_count": 4000,
            "src_packets": 3,
            "dst_packets": 5,
        },
    }
    assert second["objects"]["0"] == {"type": "ipv6-addr", "value": "fe80::1"}
    assert second["objects"]["2"]["protocols"] == ["ipv6", "udp"]
    assert "src_byte_count" not in second["objects"]["2"]  # "-": unset
    for od in (first, second):
        assert_valid_stix(od)
    assert matches("[network-traffic:dst_ref.value = '198.51.100.7' AND network-traffic:dst_port = 443]", first)
    assert matches("[ipv6-addr:value = 'ff02::fb']", second)
    table = batches[0].table
    assert table.column(TIME_COLUMN).to_pylist() == [1714557600123456, 1714557601000000]
    assert table.column("_line").to_pylist() == [HEADER_LINES + 1, HEADER_LINES + 2]
    assert table.column("_file").to_pylist() == [str(log)] * 2


def test_malformed_lines_are_reported_with_their_line_and_their_neighbours_kept(tmp_path: Path) -> None:
    log = zeek_tsv(
        tmp_path / "conn.log",
        "conn",
        CONN_FIELDS,
        CONN_TYPES,
        [
            conn_row("1714557600.000000", "10.0.0.1", "1", "10.0.0.2", "80"),
            "1714557600.5\tC2\t10.0.0.3",  # too few fields
            conn_row("1714557601.000000", "10.0.0.4", "2", "10.0.0.5", "http"),  # bad port: value dropped
            conn_row("yesterday", "10.0.0.6", "3", "10.0.0.7", "80"),  # bad time: line dropped
            "",  # blank line: skipped silently
            conn_row("1714557602.000000", "10.0.0.8", "4", "10.0.0.9", "99999999999999999999"),
            conn_row("1714557603.000000", "10.0.0.10", "5", "10.0.0.11", "53"),
        ],
    )
    batches, problems = read_all(log)
    assert column(batches, "id.orig_h") == ["10.0.0.1", "10.0.0.4", "10.0.0.8", "10.0.0.10"]
    assert column(batches, "_line") == [9, 11, 14, 15]
    assert column(batches, "id.resp_p") == [80, None, None, 53]
    reported = {(p.file, p.line): p.reason for p in problems}
    assert set(reported) == {(str(log), 10), (str(log), 11), (str(log), 12), (str(log), 14)}
    assert "expected 21 fields, found 3" in reported[(str(log), 10)]
    assert "'http'" in reported[(str(log), 11)] and "id.resp_p" in reported[(str(log), 11)]
    assert "yesterday" in reported[(str(log), 12)]
    assert problems.count == 4
    kept = observations(batches)
    assert "dst_port" not in kept[1]["objects"]["2"]
    assert kept[1]["objects"]["1"] == {"type": "ipv4-addr", "value": "10.0.0.5"}


def test_gzip_is_read_by_its_magic_bytes_not_its_name(tmp_path: Path) -> None:
    rows = [conn_row(f"1714557600.{i:06d}", "10.0.0.1", str(1000 + i), "10.0.0.2", "80") for i in range(50)]
    hidden = zeek_tsv(tmp_path / "conn.log", "conn", CONN_FIELDS, CONN_TYPES, rows, compress=True)
    assert hidden.read_bytes()[:2] == b"\x1f\x8b"
    plain = zeek_tsv(tmp_path / "plain.gz", "conn", CONN_FIELDS, CONN_TYPES, rows)
    batches, problems = read_all(hidden, plain, batch_rows=20)
    assert problems.count == 0
    assert [b.num_rows for b in batches] == [20, 20, 10, 20, 20, 10]
    assert column(batches, "id.orig_p") == [1000 + i for i in range(50)] * 2
    assert column(batches, "_line")[:3] == [9, 10, 11]


# -- dns -----------------------------------------------------------------------------------------

DNS_FIELDS = [
    "ts",
    "uid",
    "id.orig_h",
    "id.orig_p",
    "id.resp_h",
    "id.resp_p",
    "proto",
    "trans_id",
    "rtt",
    "query",
    "qclass",
    "qclass_name",
    "qtype",
    "qtype_name",
    "rcode",
    "rcode_name",
    "AA",
    "TC",
    "RD",
    "RA",
    "Z",
    "answers",
    "TTLs",
    "rejected",
]
DNS_TYPES = [
    "time",
    "string",
    "addr",
    "port",
    "addr",
    "port",
    "enum",
    "count",
    "interval",
    "string",
    "count",
    "string",
    "count",
    "string",
    "count",
    "string",
    "bool",
    "bool",
    "bool",
    "bool",
    "count",
    "vector[string]",
    "vector[interval]",
    "bool",
]


def dns_row(ts: str, query: str, answers: str) -> list[str]:
    row = dict.fromkeys(DNS_FIELDS, "-")
    row.update({"ts": ts, "uid": "D1", "id.orig_h": "10.0.0.5", "id.orig_p": "5353", "id.resp_h": "10.0.0.1"})
    row.update({"id.resp_p": "53", "proto": "udp", "query": query, "qtype_name": "A", "answers": answers})
    return [row[f] for f in DNS_FIELDS]


def test_dns_answers_split_into_resolved_addresses_and_names(tmp_path: Path) -> None:
    log = zeek_tsv(
        tmp_path / "dns.log",
        "dns",
        DNS_FIELDS,
        DNS_TYPES,
        [
            dns_row("1.0", "www.example.org", "cdn.example.net,192.0.2.10,2001:db8::5,TXT 11 hello world"),
            dns_row("2.0", "empty.example", "(empty)"),
            dns_row("3.0", "unset.example", "-"),
            dns_row("4.0", "caf\\xc3\\xa9.example", "192.0.2.11"),
            dns_row("5.0", "comma\\x2cname.example", "-"),
        ],
    )
    batches, problems = read_all(log)
    assert problems.count == 0
    assert column(batches, "answers") == [
        ["cdn.example.net", "192.0.2.10", "2001:db8::5", "TXT 11 hello world"],
        [],
        None,
        ["192.0.2.11"],
        None,
    ]
    assert column(batches, "query") == [
        "www.example.org",
        "empty.example",
        "unset.example",
        "café.example",
        "comma,name.example",
    ]
    first = observations(batches)[0]
    objects = first["objects"]
    query = next(o for o in objects.values() if o.get("value") == "www.example.org")
    resolved = {objects[k]["type"]: objects[k]["value"] for k in query["resolves_to_refs"]}
    assert resolved == {"domain-name": "cdn.example.net", "ipv4-addr": "192.0.2.10", "ipv6-addr": "2001:db8::5"}
    assert not any("TXT" in str(o.get("value")) for o in objects.values())
    assert matches("[domain-name:resolves_to_refs[*].value = '192.0.2.10']", first)
    assert matches("[domain-name:value = 'café.example']", observations(batches)[3])
    for od in observations(batches):
        assert_valid_stix(od)


def test_text_columns_nothing_derives_from_are_converted_when_read(tmp_path: Path) -> None:
    from ribat.hunt.compile import compile_indicators
    from ribat.hunt.engine import hunt
    from ribat.hunt.readers import open_logs

    rows = [dns_row("1.0", "comma\\x2cname.example", "(empty)"), dns_row("2.0", "plain.example", "192.0.2.1")]
    log = zeek_tsv(tmp_path / "dns.log", "dns", DNS_FIELDS, DNS_TYPES, rows)
    batches, _ = read_all(log)
    (batch,) = batches
    # Held as read until asked for: the table keeps the Zeek text, column() and observed-data the values.
    assert {"query", "answers"} <= set(batch.lazy)
    assert batch.table.column("query").to_pylist() == [b"comma\\x2cname.example", b"plain.example"]
    assert batch.column("query").to_pylist() == ["comma,name.example", "plain.example"]
    assert batch.column("answers").to_pylist() == [[], ["192.0.2.1"]]
    assert any(o.get("value") == "comma,name.example" for o in observations(batches)[0]["objects"].values())
    compiled = compile_indicators(
        [
            {"type": "indicator", "id": f"indicator--{n:08d}-0000-4000-8000-000000000000", "pattern": p}
            for n, p in enumerate(["[domain-name:value = 'comma,name.example']", "[ipv4-addr:value = '192.0.2.1']"])
        ]
    )
    found = hunt(open_logs([log]), compiled)
    assert sorted(h.pattern for h in found.hits.values()) == [
        "[domain-name:value = 'comma,name.example']",
        "[ipv4-addr:value = '192.0.2.1']",
    ]


def test_a_column_held_as_read_is_encoded_before_it_is_converted(tmp_path: Path) -> None:
    from ribat.hunt.compile import compile_indicators
    from ribat.hunt.engine import hunt
    from ribat.hunt.readers import open_logs

    names = ["\\x41bc.example", "Abc.example", "(empty)", "-", "plain.example", "\\x41bc.example"]
    rows = [dns_row(f"{n}.0", name, "(empty)") for n, name in enumerate(names, 1)]
    log = zeek_tsv(tmp_path / "dns.log", "dns", DNS_FIELDS, DNS_TYPES, rows)
    (batch,), _ = read_all(log)
    assert "query" in batch.lazy
    encoded = batch.encoded("query")
    # The distinct values as read, converted: the escaped and the plain spelling are one value twice over.
    assert len(encoded.dictionary) == 5 and encoded.dictionary.to_pylist().count("Abc.example") == 2
    assert encoded.to_pylist() == batch.column("query").to_pylist()
    assert encoded.to_pylist() == ["Abc.example", "Abc.example", "", None, "plain.example", "Abc.example"]
    assert batch.encoded("query").to_pylist() == encoded.to_pylist()  # once converted whole, from the values
    indicator = {"type": "indicator", "id": "indicator--00000001-0000-4000-8000-000000000000"}
    found = hunt(
        open_logs([log]), compile_indicators([{**indicator, "pattern": "[domain-name:value = 'Abc.example']"}])
    )
    assert found.hits[indicator["id"]].count == 3


# -- http ----------------------------------------------------------------------------------------

HTTP_FIELDS = [
    "ts",
    "uid",
    "id.orig_h",
    "id.orig_p",
    "id.resp_h",
    "id.resp_p",
    "trans_depth",
    "method",
    "host",
    "uri",
    "referrer",
    "version",
    "user_agent",
]
HTTP_TYPES = [
    "time",
    "string",
    "addr",
    "port",
    "addr",
    "port",
    "count",
    "string",
    "string",
    "string",
    "string",
    "string",
    "string",
]


def test_http_gives_url_domain_and_request_extension(tmp_path: Path) -> None:
    base = ["C1", "10.0.0.5", "49152"]
    log = zeek_tsv(
        tmp_path / "http.log",
        "http",
        HTTP_FIELDS,
        HTTP_TYPES,
        [
            ["10.0", *base, "203.0.113.9", "80", "1", "GET", "evil.example", "/gate.php?id=1", "-", "1.1", "Agent/1.0"],
            [
                "11.0",
                *base,
                "203.0.113.9",
                "8080",
                "1",
                "POST",
                "evil.example:8080",
                "/up",
                "http://r.example/",
                "1.0",
                "-",
            ],
            ["12.0", *base, "2001:db8::9", "8080", "1", "GET", "-", "/x", "-", "1.1", "-"],
            [
                "13.0",
                *base,
                "203.0.113.9",
                "3128",
                "1",
                "GET",
                "proxy.example",
                "http://other.example/y",
                "-",
                "1.1",
                "-",
            ],
            ["14.0", *base, "203.0.113.9", "80", "1", "GET", "203.0.113.9", "/ip", "-", "1.1", "-"],
            ["15.0", *base, "203.0.113.9", "80", "1", "-", "-", "-", "-", "-", "-"],
        ],
    )
    batches, problems = read_all(log)
    assert problems.count == 0
    assert column(batches, "_url") == [
        "http://evil.example/gate.php?id=1",
        "http://evil.example:8080/up",
        "http://[2001:db8::9]:8080/x",
        "http://other.example/y",
        "http://203.0.113.9/ip",
        None,
    ]
    assert column(batches, "_domain") == ["evil.example", "evil.example", None, "proxy.example", None, None]
    records = observations(batches)
    traffic = records[0]["objects"]["2"]
    assert traffic["extensions"] == {
        "http-request-ext": {
            "request_method": "get",
            "request_value": "/gate.php?id=1",
            "request_version": "http/1.1",
            "request_header": {"Host": "evil.example", "User-Agent": "Agent/1.0"},
        }
    }
    assert (
        records[1]["objects"]["2"]["extensions"]["http-request-ext"]["request_header"]["Referer"] == "http://r.example/"
    )
    assert "extensions" not in records[5]["objects"]["2"]
    assert matches("[url:value = 'http://evil.example/gate.php?id=1']", records[0])
    assert matches(
        "[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' LIKE 'Agent/%']", records[0]
    )
    assert matches("[domain-name:value = 'evil.example']", records[1])
    assert matches("[network-traffic:dst_port = 8080 AND network-traffic:src_ref.value = '10.0.0.5']", records[1])
    for od in records:
        assert_valid_stix(od)


# -- files, ssl, x509, notice, other logs --------------------------------------------------------

MD5 = "44d88612fea8a8f36de82e1278abb02f"
SHA1 = "3395856ce81f2b7382dee72602f798b642f14140"
SHA256 = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"


def test_files_log_gives_file_objects_with_hashes(tmp_path: Path) -> None:
    fields = [
        "ts",
        "fuid",
        "tx_hosts",
        "rx_hosts",
        "conn_uids",
        "source",
        "depth",
        "analyzers",
        "mime_type",
        "filename",
        "seen_bytes",
        "total_bytes",
        "md5",
        "sha1",
        "sha256",
    ]
    types = [
        "time",
        "string",
        "set[addr]",
        "set[addr]",
        "set[string]",
        "string",
        "count",
        "set[string]",
        "string",
        "string",
        "count",
        "count",
        "string",
        "string",
        "string",
    ]
    log = zeek_tsv(
        tmp_path / "files.log",
        "files",
        fields,
        types,
        [
            [
                "20.0",
                "F1",
                "198.51.100.7",
                "10.0.0.5",
                "C1",
                "HTTP",
                "0",
                "MD5,SHA1,SHA256",
                "application/x-dosexec",
                "eicar.com",
                "68",
                "68",
                MD5,
                SHA1,
                SHA256,
            ],
            [
                "21.0",
                "F2",
                "198.51.100.7,198.51.100.8",
                "10.0.0.5",
                "C2",
                "HTTP",
                "0",
                "MD5",
                "text/plain",
                "-",
                "10",
                "-",
                MD5,
                "-",
                "-",
            ],
            [
                "22.0",
                "F3",
                "198.51.100.7",
                "10.0.0.5",
                "C3",
                "HTTP",
                "0",
                "(empty)",
                "text/html",
                "-",
                "10",
                "-",
                "-",
                "-",
                "-",
            ],
        ],
    )
    batches, problems = read_all(log)
    assert problems.count == 0
    first, second, third = observations(batches)
    files = [o for o in first["objects"].values() if o["type"] == "file"]
    assert files == [
        {
            "type": "file",
            "hashes": {"MD5": MD5, "SHA-1": SHA1, "SHA-256": SHA256},
            "name": "eicar.com",
            "size": 68,
            "mime_type": "application/x-dosexec",
        }
    ]
    assert {o["value"] for o in second["objects"].values() if o["type"] == "ipv4-addr"} == {
        "198.51.100.7",
        "198.51.100.8",
        "10.0.0.5",
    }
    assert next(o for o in second["objects"].values() if o["type"] == "file")["size"] == 10
    assert not [o for o in third["objects"].values() if o["type"] == "file"]  # neither hash nor name
    assert matches(f"[file:hashes.'SHA-256' = '{SHA256}']", first)
    assert matches(f"[file:hashes.MD5 = '{MD5}']", second)
    for od in (first, second, third):
        assert_valid_stix(od)


def test_ssl_and_x509_give_certificates_by_fingerprint(tmp_path: Path) -> None:
    fp_server, fp_ca = "a" * 64, "b" * 64
    ssl = zeek_tsv(
        tmp_path / "ssl.log",
        "ssl",
        [
            "ts",
            "uid",
            "id.orig_h",
            "id.orig_p",
            "id.resp_h",
            "id.resp_p",
            "version",
            "cipher",
            "server_name",
            "established",
            "cert_chain_fps",
            "subject",
            "issuer",
        ],
        [
            "time",
            "string",
            "addr",
            "port",
            "addr",
            "port",
            "string",
            "string",
            "string",
            "bool",
            "vector[string]",
            "string",
            "string",
        ],
        [
            [
                "30.0",
                "C1",
                "10.0.0.5",
                "50000",
                "203.0.113.4",
                "443",
                "TLSv12",
                "TLS_AES",
                "c2.example",
                "T",
                f"{fp_server},{fp_ca}",
                "CN=c2.example",
                "CN=Bad CA",
            ]
        ],
    )
    x509 = zeek_tsv(
        tmp_path / "x509.log",
        "x509",
        [
            "ts",
            "fingerprint",
            "certificate.version",
            "certificate.serial",
            "certificate.subject",
            "certificate.issuer",
            "certificate.not_valid_before",
            "certificate.not_valid_after",
            "certificate.key_alg",
            "certificate.sig_alg",
            "certificate.exponent",
            "san.dns",
            "basic_constraints.ca",
        ],
        [
            "time",
            "string",
            "count",
            "string",
            "string",
            "string",
            "time",
            "time",
            "string",
            "string",
            "string",
            "vector[string]",
            "bool",
        ],
        [
            [
                "31.0",
                fp_server,
                "3",
                "0A1B",
                "CN=c2.example",
                "CN=Bad CA",
                "1700000000.000000",
                "1800000000.000000",
                "rsaEncryption",
                "sha256WithRSAEncryption",
                "65537",
                "c2.example,www.c2.example",
                "F",
            ]
        ],
    )
    batches, problems = read_all(ssl, x509)
    assert problems.count == 0
    session, cert = observations(batches)
    certs = [o for o in session["objects"].values() if o["type"] == "x509-certificate"]
    assert certs == [
        {
            "type": "x509-certificate",
            "hashes": {"SHA-256": fp_server},
            "subject": "CN=c2.example",
            "issuer": "CN=Bad CA",
        },
        {"type": "x509-certificate", "hashes": {"SHA-256": fp_ca}},
    ]
    assert matches("[domain-name:value = 'c2.example']", session)
    assert cert["objects"] == {
        "0": {
            "type": "x509-certificate",
            "hashes": {"SHA-256": fp_server},
            "version": "3",
            "serial_number": "0A1B",
            "subject": "CN=c2.example",
            "issuer": "CN=Bad CA",
            "signature_algorithm": "sha256WithRSAEncryption",
            "subject_public_key_algorithm": "rsaEncryption",
            "validity_not_before": "2023-11-14T22:13:20Z",
            "validity_not_after": "2027-01-15T08:00:00Z",
            "subject_public_key_exponent": 65537,
            "x509_v3_extensions": {
                "subject_alternative_name": "DNS:c2.example, DNS:www.c2.example",
                "basic_constraints": "CA:FALSE",
            },
        }
    }
    assert matches(f"[x509-certificate:hashes.'SHA-256' = '{fp_server}']", cert)
    assert matches("[x509-certificate:validity_not_after > t'2026-01-01T00:00:00Z']", cert)
    for od in (session, cert):
        assert_valid_stix(od)


def test_notice_and_unknown_logs_with_a_connection_id(tmp_path: Path) -> None:
    notice = zeek_tsv(
        tmp_path / "notice.log",
        "notice",
        ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "note", "msg", "src", "dst", "p"],
        ["time", "string", "addr", "port", "addr", "port", "enum", "enum", "string", "addr", "addr", "port"],
        [
            [
                "40.0",
                "C1",
                "10.0.0.5",
                "1",
                "203.0.113.1",
                "22",
                "tcp",
                "SSH::Password_Guessing",
                "guessing",
                "10.0.0.5",
                "203.0.113.1",
                "22",
            ],
            ["41.0", "-", "-", "-", "-", "-", "-", "Scan::Port_Scan", "scan", "10.0.0.6", "-", "-"],
        ],
    )
    weird = zeek_tsv(
        tmp_path / "weird.log",
        "weird",
        ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "name"],
        ["time", "string", "addr", "port", "addr", "port", "string"],
        [["42.0", "C9", "10.0.0.7", "1", "10.0.0.8", "2", "bad_TCP_checksum"]],
    )
    stats = zeek_tsv(tmp_path / "stats.log", "stats", ["ts", "mem"], ["time", "count"], [["43.0", "12"]])
    batches, problems = read_all(notice, weird, stats)
    assert [b.log_type for b in batches] == ["zeek.notice", "zeek.weird"]
    assert [p.file for p in problems] == [str(stats)] and problems.items[0].line is None
    first, second, third = observations(batches)
    assert first["objects"]["2"]["protocols"] == ["ipv4", "tcp"]
    assert second["objects"] == {"0": {"type": "ipv4-addr", "value": "10.0.0.6"}}
    assert [o["type"] for o in third["objects"].values()] == ["ipv4-addr", "ipv4-addr", "network-traffic"]
    assert column(batches[:1], "note") == ["SSH::Password_Guessing", "Scan::Port_Scan"]
    for od in (first, second, third):
        assert_valid_stix(od)
        assert not any(key.startswith("x_") for obj in od["objects"].values() for key in obj)


def test_every_zeek_fixture_keeps_the_paths_contract(tmp_path: Path) -> None:
    test_dns_answers_split_into_resolved_addresses_and_names(tmp_path)
    test_http_gives_url_domain_and_request_extension(tmp_path)
    test_files_log_gives_file_objects_with_hashes(tmp_path)
    test_ssl_and_x509_give_certificates_by_fingerprint(tmp_path)
    batches, _ = read_all(*sorted(tmp_path.glob("*.log")))
    assert {b.log_type for b in batches} == {"zeek.dns", "zeek.http", "zeek.files", "zeek.ssl", "zeek.x509"}
    assert sum(check_paths_contract(b) for b in batches) > 40


# -- Zeek JSON -----------------------------------------------------------------------------------


def test_zeek_json_lines_with_epoch_or_iso_times_and_bad_lines(tmp_path: Path) -> None:
    def line(ts: object, port: object = 53, **extra: object) -> bytes:
        record = {"ts": ts, "uid": "C1", "id.orig_h": "10.0.0.5", "id.orig_p": 5000, "id.resp_h": "10.0.0.1"}
        record.update({"id.resp_p": port, "proto": "udp", "query": "x.example", "answers": ["192.0.2.1"], **extra})
        return orjson.dumps(record)

    epoch = tmp_path / "dns.json"
    epoch.write_bytes(b"\n".join([line(1714557600.5), line(1714557601.25)]) + b"\n")
    iso = tmp_path / "dns-iso.json"
    iso.write_bytes(
        b"\n".join(
            [
                line("2024-05-01T10:00:00.500000Z"),
                b'{"ts": "2024-05-01T10:00:01Z", "uid": ',  # cut short
                b"",
                line("2024-05-01T10:00:02Z", port="53"),  # a port as text is still a port
                line("2024-05-01T10:00:03Z", port="domain"),
                line("not a time"),
                b"[1, 2]",
                line("2024-05-01T10:00:04Z"),
            ]
        )
    )
    batches, problems = read_all(epoch, iso)
    assert [b.log_type for b in batches] == ["zeek.dns", "zeek.dns"]
    assert column(batches, TIME_COLUMN) == [
        1714557600500000,
        1714557601250000,
        1714557600500000,
        1714557602000000,
        1714557603000000,
        1714557604000000,
    ]
    assert column(batches[1:], "_line") == [1, 4, 5, 8]
    assert column(batches, "id.resp_p") == [53, 53, 53, 53, None, 53]
    assert sorted((p.line or 0) for p in problems) == [2, 5, 6, 7]
    assert all(p.file == str(iso) for p in problems)
    record = observations(batches)[0]
    assert_valid_stix(record)
    assert matches("[domain-name:resolves_to_refs[*].value = '192.0.2.1']", record)


# -- the real captures ---------------------------------------------------------------------------

SIMDA_DGA = {"gatyfus.com": 3, "lyvyxor.com": 3, "qexylup.com": 5, "puzybep.com": 5, "qeqyqiv.com": 3, "vowycac.com": 3}


@pytest.fixture(scope="module")
def simda(data_dir: Path) -> Path:
    return data_dir / "cti" / "logs" / "stratosphere-005-simda"


def test_simda_zeek_logs_give_one_record_per_data_line(simda: Path) -> None:
    for name in ("conn", "dns", "http"):
        path = simda / f"{name}.log"
        data_lines = [n for n, text in enumerate(path.read_text().splitlines(), 1) if not text.startswith("#")]
        batches, problems = read_all(path, batch_rows=300)
        assert problems.count == 0, list(problems)
        assert {b.log_type for b in batches} == {f"zeek.{name}"}
        assert sum(b.num_rows for b in batches) == len(data_lines) == 992
        assert column(batches, "_line") == data_lines
        for b in batches:
            check_paths_contract(b)


def test_simda_dga_domains_appear_in_dns_records_and_match_as_stix(simda: Path) -> None:
    batches, _ = read_all(simda / "dns.log")
    queries = column(batches, "query")
    for domain, count in SIMDA_DGA.items():
        assert queries.count(domain) == count, domain
    batch = batches[0]
    rows = [i for i, q in enumerate(batch.column("query").to_pylist()) if q in SIMDA_DGA]
    records = batch.observed_rows(rows)
    for record in records:
        assert_valid_stix(record)
        domain = next(o["value"] for o in record["objects"].values() if o["type"] == "domain-name")
        assert matches(f"[domain-name:value = '{domain}']", record)
        assert not matches("[domain-name:value = 'not-simda.example']", record)
    resolved = [r for r in records if matches("[domain-name:resolves_to_refs[*].value = '217.70.184.38']", r)]
    assert resolved


def test_simda_http_requests_name_the_dga_hosts(simda: Path) -> None:
    batches, _ = read_all(simda / "http.log")
    urls = set(column(batches, "_url"))
    assert "http://gatyfus.com/login.php" in urls
    records = observations(batches)
    for record in records[:50]:
        assert_valid_stix(record)
    assert sum(matches("[url:value = 'http://gatyfus.com/login.php']", r) for r in records) == 3


def test_wrccdc_gzipped_zeek_json_dns(data_dir: Path) -> None:
    path = data_dir / "cti" / "logs" / "wrccdc-2018-zeek" / "dns.json.gz"
    with gzip.open(path) as f:
        lines = sum(1 for _ in f)
    batches, problems = read_all(path, batch_rows=20_000)
    assert problems.count == 0
    assert [b.num_rows for b in batches] == [20_000, 20_000, lines - 40_000]
    assert column(batches[:1], "_line")[:3] == [1, 2, 3]
    first = batches[0].observed(0)
    assert first["first_observed"] == "2018-03-24T17:15:20.865716Z"
    assert_valid_stix(first)
    assert matches(
        "[domain-name:value = 'ise.wrccdc.org' AND domain-name:resolves_to_refs[*].value = '134.71.3.16']", first
    )
    for b in batches:
        sample = b.observed_rows(list(range(0, b.num_rows, 997)))
        for record in sample:
            assert_valid_stix(record)
    check_paths_contract(dataclasses.replace(batches[-1], table=batches[-1].table.slice(0, 3000)))


def test_concatenated_logs_with_the_same_header_read_through(tmp_path: Path) -> None:
    part = zeek_tsv(
        tmp_path / "part.log",
        "conn",
        CONN_FIELDS,
        CONN_TYPES,
        [conn_row("1.0", "10.0.0.1", "1", "10.0.0.2", "80"), conn_row("2.0", "10.0.0.3", "2", "10.0.0.4", "80")],
    ).read_text()
    other = part.replace("#fields\tts\tuid", "#fields\tts\tuuid")
    log = tmp_path / "conn.log"
    log.write_text(part + part + other)
    batches, problems = read_all(log)
    per_part = HEADER_LINES + 2 + 1
    assert column(batches, "_line") == [9, 10, per_part + 9, per_part + 10, 2 * per_part + 9, 2 * per_part + 10]
    assert [(p.line, p.reason) for p in problems] == [
        (2 * per_part + 7, "the header changes here (a concatenated log): read the parts as separate files")
    ]


def test_bytes_that_are_not_utf8_are_kept_as_escapes(tmp_path: Path) -> None:
    log = tmp_path / "http.log"
    zeek_tsv(
        log,
        "http",
        HTTP_FIELDS,
        HTTP_TYPES,
        [["10.0", "C1", "10.0.0.5", "1", "203.0.113.9", "80", "1", "GET", "bin.example", "/raw", "-", "1.1", "-"]],
    )
    log.write_bytes(log.read_bytes().replace(b"/raw", b"/r\xffw"))
    batches, problems = read_all(log)
    assert problems.count == 0
    assert column(batches, "uri") == ["/r\\xffw"]
    assert_valid_stix(batches[0].observed(0))


def test_a_first_line_longer_than_the_peek_is_still_detected(tmp_path: Path) -> None:
    log = tmp_path / "dns.json"
    record = {"ts": 1.0, "uid": "C1", "id.orig_h": "10.0.0.1", "query": "long.example", "padding": "x" * 200_000}
    log.write_bytes(orjson.dumps(record) + b"\n")
    batches, problems = read_all(log)
    assert problems.count == 0 and column(batches, "query") == ["long.example"]
