"""Reading a log in byte ranges (blocks) gives exactly the records, line numbers and problems of one whole read."""

from __future__ import annotations

import gzip
import itertools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest

from ribat.errors import ValidationError
from ribat.hunt.distributed import Part, parts_of
from ribat.hunt.readers import LogRange, Problems, RecordBatch, open_logs, split_log

# -- the logs: each format with good lines, bad lines and bad values ------------------------------

DNS_FIELDS = [
    "ts",
    "uid",
    "id.orig_h",
    "id.orig_p",
    "id.resp_h",
    "id.resp_p",
    "proto",
    "trans_id",
    "query",
    "qtype_name",
    "rcode_name",
    "answers",
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
    "string",
    "string",
    "string",
    "vector[string]",
]


def _zeek_tsv(rows: int) -> tuple[list[str], int]:
    header = [
        "#separator \\x09",
        "#set_separator\t,",
        "#empty_field\t(empty)",
        "#unset_field\t-",
        "#path\tdns",
        "#open\t2024-05-01-10-00-00",
        "#fields\t" + "\t".join(DNS_FIELDS),
        "#types\t" + "\t".join(DNS_TYPES),
    ]
    lines = list(header)
    for i in range(rows):
        answers = "(empty)" if i % 5 == 0 else f"198.51.100.{i},n{i}.example"
        query = "caf\\xc3\\xa9.example" if i % 9 == 0 else f"q{i}.example"
        port = "http" if i == 13 else str(1024 + i)
        ts = "-" if i == 21 else f"{1714557600 + i}.{i:06d}"
        lines.append(
            "\t".join([ts, f"C{i}", f"10.0.0.{i}", port, "192.0.2.53", "53", "udp", str(i), query, "A", "NOERROR"])
            + f"\t{answers}"
        )
        if i == 7:
            lines.append("this line is not zeek")
        if i == 17:
            lines.append("")
        if i == 30:
            lines.append("#a comment\twith\ttabs")
    lines.append("#close\t2024-05-01-11-00-00")
    return lines, len(header)


def _zeek_json(rows: int) -> tuple[list[str], int]:
    lines = []
    for i in range(rows):
        record: dict[str, Any] = {
            "ts": 1714557600 + i / 8,
            "uid": f"C{i}",
            "id.orig_h": f"10.0.0.{i}",
            "id.orig_p": "http" if i == 11 else 1024 + i,
            "id.resp_h": "192.0.2.53",
            "id.resp_p": 53,
            "proto": "udp",
            "query": f"q{i}.example",
            "answers": [f"198.51.100.{i}"],
        }
        if i == 19:
            del record["ts"]
        lines.append(orjson.dumps(record).decode())
        if i == 5:
            lines.append("{broken")
        if i == 25:
            lines.append("")
        if i == 29:
            lines.append("[1, 2]")
    return lines, 0


def _eve(rows: int) -> tuple[list[str], int]:
    lines = []
    for i in range(rows):
        base: dict[str, Any] = {
            "timestamp": f"2024-05-01T12:00:{i % 60:02d}.{i:06d}+0200",
            "src_ip": f"10.0.0.{i}",
            "src_port": 40000 + i,
            "dest_ip": "203.0.113.9",
            "dest_port": 53 if i % 3 == 0 else 443,
            "proto": "UDP" if i % 3 == 0 else "TCP",
        }
        if i % 3 == 0:
            event = {**base, "event_type": "dns", "dns": {"type": "query", "id": i, "rrname": f"q{i}.example"}}
        elif i % 3 == 1:
            event = {**base, "event_type": "tls", "tls": {"sni": f"s{i}.example", "version": "TLS 1.3"}}
        else:
            event = {
                **base,
                "event_type": "alert",
                "alert": {"signature_id": 2000000 + i, "signature": "ET x", "severity": 2},
                "http": {"hostname": f"h{i}.example", "url": f"/p{i}", "http_method": "GET", "status": 200},
            }
        if i == 12:
            event["timestamp"] = "soon"
        lines.append(orjson.dumps(event).decode())
        if i == 9:
            lines.append('{"timestamp": "2024-05-01T12:00:00Z", "event_type": "dns", "dns": {')
        if i == 20:
            lines.append(orjson.dumps({"timestamp": "2024-05-01T12:00:00Z", "event_type": "stats"}).decode())
    return lines, 0


MAPPING: dict[str, Any] = {
    "time": "when",
    "network-traffic:src_ref.value": "src_ip",
    "network-traffic:dst_ref.value": "dst_ip",
    "network-traffic:dst_port": "dport",
    "network-traffic:protocols[*]": "proto",
    "domain-name:value": "query",
}


def _jsonl(rows: int) -> tuple[list[str], int]:
    lines = []
    for i in range(rows):
        record: dict[str, Any] = {
            "when": 1714557600 + i if i % 2 else f"2024-05-01T10:00:{i % 60:02d}Z",
            "src_ip": f"10.0.0.{i}",
            "dst_ip": f"198.51.100.{i}",
            "dport": "https" if i == 15 else 443,
            "proto": ["ipv4", "tcp"],
            "query": f"q{i}.example",
        }
        lines.append(orjson.dumps(record).decode())
        if i == 3:
            lines.append("{broken")
    return lines, 0


def _csv(rows: int) -> tuple[list[str], int]:
    lines = ["when,src_ip,dst_ip,dport,proto,query,note"]
    for i in range(rows):
        when = "soon" if i == 23 else f"2024-05-01T10:00:{i % 60:02d}Z"
        port = "https" if i == 8 else "443"
        lines.append(f'{when},10.0.0.{i},198.51.100.{i},{port},"tcp,http",q{i}.example,"note, {i}"')
        if i == 4:
            lines.append(f"{when},10.0.0.{i},198.51.100.{i}")
        if i == 16:
            lines.append("")
    return lines, 1


FORMATS: dict[str, tuple[Callable[[int], tuple[list[str], int]], dict[str, Any]]] = {
    "zeek": (_zeek_tsv, {}),
    "zeek-json": (_zeek_json, {}),
    "suricata": (_eve, {}),
    "jsonl": (_jsonl, {"mapping": MAPPING}),
    "csv": (_csv, {"mapping": MAPPING}),
}


def write(path: Path, lines: Sequence[str], *, newline: str = "\n", final: bool = True) -> Path:
    text = newline.join(lines) + (newline if final else "")
    path.write_bytes(text.encode())
    return path


# -- reading -------------------------------------------------------------------------------------


def canonical(batches: Sequence[RecordBatch]) -> tuple[list[Any], set[Any]]:
    """Every record (line, log type, columns, observed-data) in line order, and every batch's shape."""
    records = []
    shapes = set()
    for batch in batches:
        observed = batch.observed_rows(list(range(batch.num_rows)))
        for row, od in zip(batch.table.to_pylist(), observed, strict=True):
            records.append((row["_line"], batch.log_type, row, od))
        shapes.add(
            (
                batch.log_type,
                batch.table.schema.to_string(show_schema_metadata=False),
                tuple(sorted(batch.paths.items())),
                batch.object_types,
            )
        )
    records.sort(key=lambda r: (r[0], r[1]))
    return records, shapes


def read(targets: Sequence[Path | LogRange], **options: Any) -> tuple[list[Any], set[Any], list[Any]]:
    problems = Problems()
    records, shapes = canonical(list(open_logs(list(targets), problems=problems, **options)))
    return records, shapes, [(p.file, p.line, p.reason) for p in problems]


def line_starts(path: Path) -> list[int]:
    data = path.read_bytes()
    starts = [0]
    at = data.find(b"\n")
    while at >= 0:
        if at + 1 < len(data):
            starts.append(at + 1)
        at = data.find(b"\n", at + 1)
    return starts


def ranges_at(path: Path, cuts: Sequence[int]) -> list[LogRange]:
    """Ranges cut at the line starts ``cuts``, their first lines counted here."""
    data = path.read_bytes()
    edges = sorted({0, *cuts, len(data)})
    return [
        LogRange(str(path), start, end, data.count(b"\n", 0, start) + 1) for start, end in itertools.pairwise(edges)
    ]


def loose_ranges(path: Path, offsets: Sequence[int]) -> list[LogRange]:
    """Ranges that end anywhere (in the middle of a line too); each starts at the first line start at or after
    the previous end, so a line belongs to the range it starts in."""
    data = path.read_bytes()
    starts = line_starts(path)
    edges = sorted({0, *offsets, len(data)})
    out = []
    for begin, end in itertools.pairwise(edges):
        start = next((s for s in starts if s >= begin), len(data))
        if start < end:
            out.append(LogRange(str(path), start, end, data.count(b"\n", 0, start) + 1))
    return out


def cut_sets(path: Path, header_lines: int, problem_lines: Sequence[int]) -> dict[str, list[LogRange]]:
    starts = line_starts(path)
    size = path.stat().st_size
    sets = {
        "every line": ranges_at(path, starts),
        "right after the header": ranges_at(path, [starts[max(1, header_lines)]]),
        "each bad line alone": ranges_at(
            path, [c for line in problem_lines for c in starts[line - 1 : line + 1] if line <= len(starts)]
        ),
        "loose ends": loose_ranges(path, [size // 7, size // 3, size // 3 + 1, size // 2, size - 1]),
    }
    for block in (64, 300, 1500):
        sets[f"split at {block} bytes"] = split_log(path, block) or []
    return sets


@pytest.mark.parametrize("kind", list(FORMATS))
@pytest.mark.parametrize(("newline", "final"), [("\n", True), ("\r\n", True), ("\n", False)])
def test_blocks_read_exactly_what_the_whole_file_gives(tmp_path: Path, kind: str, newline: str, final: bool) -> None:
    make, options = FORMATS[kind]
    lines, header_lines = make(40)
    path = write(tmp_path / f"{kind}.log", lines, newline=newline, final=final)
    whole = read([path], **options)
    records, _, problems = whole
    assert len(records) >= 30 and len(problems) >= 2
    assert [r[0] for r in records] == sorted({r[0] for r in records})
    problem_lines = sorted({line for _, line, _ in problems if line is not None})
    for name, ranges in cut_sets(path, header_lines, problem_lines).items():
        assert len(ranges) >= 2, name
        assert read(ranges, **options) == whole, name


def test_a_block_holding_only_a_bad_line_reports_it_with_its_line(tmp_path: Path) -> None:
    lines, _ = _zeek_tsv(12)
    path = write(tmp_path / "dns.log", lines)
    bad = lines.index("this line is not zeek") + 1
    starts = line_starts(path)
    block = LogRange(str(path), starts[bad - 1], starts[bad], bad)
    records, _, problems = read([block])
    assert records == []
    assert problems == [(str(path), bad, f"expected {len(DNS_FIELDS)} fields, found 1")]


def test_line_numbers_and_problems_are_those_of_the_whole_file(tmp_path: Path) -> None:
    lines, _ = _jsonl(10)
    path = write(tmp_path / "events.jsonl", lines)
    ranges = ranges_at(path, line_starts(path)[4:6])
    assert [(r.first_line, r.start > 0) for r in ranges] == [(1, False), (5, True), (6, True)]
    _, _, problems = read([ranges[1]], mapping=MAPPING)
    assert [(line, reason[:14]) for _, line, reason in problems] == [(5, "not valid JSON")]
    records, _, _ = read([ranges[2]], mapping=MAPPING)
    assert [r[0] for r in records] == list(range(6, 12))
    assert records[0][3]["objects"]["3"] == {"type": "domain-name", "value": "q4.example"}


def test_a_problem_of_the_whole_file_is_reported_once(tmp_path: Path) -> None:
    lines = ["#separator \\x09", "#path\tweird", "#fields\tts\tcolour", "#types\ttime\tstring"]
    lines += [f"{1714557600 + i}.0\tblue" for i in range(20)]
    path = write(tmp_path / "weird.log", lines)
    whole = read([path])
    assert whole[0] == [] and [line for _, line, _ in whole[2]] == [None]
    assert read(split_log(path, 40) or [], kind="zeek") == whole


# -- cutting -------------------------------------------------------------------------------------


@pytest.mark.parametrize("block", [1, 10, 100, 1000])
def test_split_log_cuts_at_line_starts_and_numbers_the_lines(tmp_path: Path, block: int) -> None:
    lines, _ = _zeek_json(30)
    path = write(tmp_path / "dns.json", lines, final=False)
    data = path.read_bytes()
    ranges = split_log(path, block)
    assert ranges is not None
    assert ranges[0].start == 0 and ranges[-1].end == len(data)
    assert all(a.end == b.start for a, b in itertools.pairwise(ranges))
    starts = set(line_starts(path))
    for r in ranges:
        assert r.start in starts and r.end > r.start
        assert r.first_line == data.count(b"\n", 0, r.start) + 1
        if r is not ranges[-1]:
            assert r.end - r.start >= block or data.count(b"\n", r.start, r.end) == 1
    if block == 1:
        assert len(ranges) == len(starts)


def test_files_that_cannot_be_split_are_read_whole(tmp_path: Path) -> None:
    lines, _ = _zeek_tsv(30)
    text = ("\n".join(lines) + "\n").encode()
    plain = tmp_path / "dns.log"
    plain.write_bytes(text)
    packed = tmp_path / "dns.log.gz"
    packed.write_bytes(gzip.compress(text))
    stix = tmp_path / "observed.jsonl"
    stix.write_bytes(
        b"\n".join(
            orjson.dumps(
                {
                    "type": "observed-data",
                    "id": f"observed-data--{i:08d}-0000-4000-8000-000000000000",
                    "first_observed": "2024-05-01T10:00:00Z",
                    "last_observed": "2024-05-01T10:00:00Z",
                    "number_observed": 1,
                    "objects": {"0": {"type": "ipv4-addr", "value": f"10.0.0.{i}"}},
                }
            )
            for i in range(30)
        )
    )
    assert split_log(plain, len(text)) is None
    assert split_log(packed, 64) is None and split_log(stix, 64) is None
    assert parts_of([packed, stix], 64) == [Part(str(packed)), Part(str(stix))]
    assert len(parts_of([plain], 64)) > 4 and parts_of([plain]) == [Part(str(plain))]
    with pytest.raises(ValidationError, match="gzip file cannot be read by byte range"):
        open_logs([LogRange(str(packed), 0, 64)])
    with pytest.raises(ValidationError, match="STIX content cannot be read by byte range"):
        open_logs([LogRange(str(stix), 0, 64)])


def test_a_range_must_start_at_a_line_start(tmp_path: Path) -> None:
    lines, _ = _jsonl(5)
    path = write(tmp_path / "events.jsonl", lines)
    with pytest.raises(ValidationError, match="must start at a line start"):
        open_logs([LogRange(str(path), 3, 100, 2)], mapping=MAPPING)
    with pytest.raises(ValidationError, match="not a byte range of lines"):
        open_logs([LogRange(str(path), 0, 100, 4)], mapping=MAPPING)


# -- problems ------------------------------------------------------------------------------------


def test_problems_are_kept_in_file_then_line_order_whatever_order_they_come_in() -> None:
    sink = Problems(keep=4)
    for file, line in [("a", 9), ("a", 3), ("b", 1), ("a", None), ("a", 5), ("b", 0)]:
        sink.add(file, line, "bad")
    assert [(p.file, p.line) for p in sink] == [("a", None), ("a", 3), ("a", 5), ("a", 9)]
    assert sink.count == 6 and sink.by_file == {"a": 4, "b": 2}


def test_absorbing_sinks_in_turn_equals_one_sink() -> None:
    reports = [("a", 7), ("a", 2), ("b", 4), ("b", 1), ("c", None), ("a", 9), ("c", 3)]
    one = Problems(keep=5)
    for file, line in reports:
        one.add(file, line, f"{file}{line}")
    parts = [Problems(keep=5) for _ in range(3)]
    for n, (file, line) in enumerate(reports):
        parts[min(n // 3, 2)].add(file, line, f"{file}{line}")
    merged = Problems(keep=5)
    for part in parts:
        merged.absorb(part)
    assert merged.items == one.items and merged.count == one.count and merged.by_file == one.by_file
