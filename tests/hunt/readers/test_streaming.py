"""Streaming: memory does not grow with the size of a file; read throughput (reported, not asserted)."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import psutil
import pyarrow as pa
import pytest

from ribat.hunt.readers import Problems, open_logs

from .helpers import CONN_FIELDS, CONN_TYPES

MB = 1 << 20


def write_conn(path: Path, lines: int) -> Path:
    header = [
        "#separator \\x09",
        "#set_separator\t,",
        "#empty_field\t(empty)",
        "#unset_field\t-",
        "#path\tconn",
        "#fields\t" + "\t".join(CONN_FIELDS),
        "#types\t" + "\t".join(CONN_TYPES),
    ]
    with path.open("w") as f:
        f.write("\n".join(header) + "\n")
        step = 50_000
        for start in range(0, lines, step):
            f.write(
                "".join(
                    f"{1714557600 + i / 1000:.6f}\tC{i:017d}\t10.{i % 250}.{i % 199}.{i % 97}\t{1024 + i % 60000}\t"
                    f"198.51.{i % 250}.{i % 89}\t{(53, 80, 443)[i % 3]}\ttcp\thttp\t0.{i % 9}\t{i % 5000}"
                    f"\t{i % 7000}\tSF\tT\tF\t0\tShADadFf\t{i % 40}\t480\t{i % 30}\t371\t(empty)\n"
                    for i in range(start, min(lines, start + step))
                )
            )
    return path


def write_dns_json(path: Path, lines: int) -> Path:
    with path.open("wb") as f:
        step = 50_000
        for start in range(0, lines, step):
            f.write(
                b"".join(
                    orjson.dumps(
                        {
                            "ts": 1714557600 + i / 1000,
                            "uid": f"C{i:017d}",
                            "id.orig_h": f"10.{i % 250}.{i % 199}.{i % 97}",
                            "id.orig_p": 1024 + i % 60000,
                            "id.resp_h": "192.0.2.53",
                            "id.resp_p": 53,
                            "proto": "udp",
                            "trans_id": i % 65536,
                            "query": f"host{i % 5000}.example.com",
                            "qtype_name": "A",
                            "rcode_name": "NOERROR",
                            "answers": [f"198.51.{i % 250}.{i % 89}"],
                            "TTLs": [60.0],
                        }
                    )
                    + b"\n"
                    for i in range(start, min(lines, start + step))
                )
            )
    return path


def memory_while_reading(path: Path) -> tuple[int, list[int], list[int]]:
    """Rows read, and the RSS and Arrow memory in use (above the start) after each batch."""
    gc.collect()
    process = psutil.Process()
    base_rss = process.memory_info().rss
    base_arrow = pa.total_allocated_bytes()
    rss: list[int] = []
    arrow: list[int] = []
    rows = 0
    for batch in open_logs(path, problems=Problems()):
        rows += batch.num_rows
        batch.observed(batch.num_rows - 1)
        rss.append(process.memory_info().rss - base_rss)
        arrow.append(pa.total_allocated_bytes() - base_arrow)
    return rows, rss, arrow


@pytest.mark.slow
@pytest.mark.parametrize(("writer", "lines"), [(write_conn, 1_500_000), (write_dns_json, 1_000_000)])
def test_memory_does_not_grow_with_file_size(tmp_path: Path, writer: Callable[[Path, int], Path], lines: int) -> None:
    """Reading the last two thirds of a big file takes no more memory than reading its first third."""
    path = writer(tmp_path / "big.log", lines)
    size = path.stat().st_size
    rows, rss, arrow = memory_while_reading(path)
    assert rows == lines
    third = len(rss) // 3
    assert third >= 4
    early_rss, late_rss = max(rss[:third]), max(rss[third:])
    early_arrow, late_arrow = max(arrow[:third]), max(arrow[third:])
    print(
        f"\n{writer.__name__} ({size / MB:.0f} MB, {len(rss)} batches): peak RSS growth {early_rss / MB:.0f} MB in "
        f"the first third, {late_rss / MB:.0f} MB after; Arrow memory {early_arrow / MB:.0f} / {late_arrow / MB:.0f} MB"
    )
    assert late_rss < early_rss + 32 * MB
    assert late_arrow < early_arrow + 8 * MB
    assert late_rss < 192 * MB  # batches of 65,536 rows, whatever the size of the file


def _records_per_second(path: Path) -> Iterator[float]:
    for _ in range(3):
        start = time.perf_counter()
        rows = sum(b.num_rows for b in open_logs(path, problems=Problems()))
        yield rows / (time.perf_counter() - start)


@pytest.mark.slow
def test_read_throughput_of_a_million_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tsv = write_conn(tmp_path / "conn.log", 1_000_000)
    jsonl = write_dns_json(tmp_path / "dns.json", 1_000_000)
    best = {name: max(_records_per_second(path)) for name, path in (("Zeek TSV conn", tsv), ("Zeek JSON dns", jsonl))}
    with capsys.disabled():
        for name, rate in best.items():
            print(f"\nread throughput, {name}, 1,000,000 lines: {rate:,.0f} records/s (best of 3, one process)")
    assert all(rate > 0 for rate in best.values())


def test_reading_logs_makes_jemalloc_the_arrow_pool_unless_the_user_named_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ribat.hunt.readers import _io

    log = write_conn(tmp_path / "conn.log", 10)
    before = pa.default_memory_pool()
    try:
        pa.set_memory_pool(pa.system_memory_pool())
        monkeypatch.setenv("ARROW_DEFAULT_MEMORY_POOL", "system")
        monkeypatch.setattr(_io, "_POOL_CHOSEN", False)
        assert sum(b.num_rows for b in open_logs([log], problems=Problems())) == 10
        assert pa.default_memory_pool().backend_name == "system"  # the user's choice stands

        monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL")
        monkeypatch.setattr(_io, "_POOL_CHOSEN", False)
        assert sum(b.num_rows for b in open_logs([log], problems=Problems())) == 10
        expected = "jemalloc" if "jemalloc" in pa.supported_memory_backends() else "system"
        assert pa.default_memory_pool().backend_name == expected
    finally:
        pa.set_memory_pool(before)
