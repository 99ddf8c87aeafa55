"""How long does a detection export of 100,000 indicators take?

Run from the repository root::

    python -m bench.bench_exports                     # 100,000 indicators, SQLite, 3 runs
    python -m bench.bench_exports --count 20000 --runs 2
    python -m bench.bench_exports --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench

Fills a fresh hub in process through ``Intel.ingest`` with the benchmark's generated
indicators (``bench.stixgen``: an IPv4 address, a domain, a URL or a SHA-256 hash each; a fifth
with a ``valid_until`` in 2024, so expired now and skipped), then exports the collection as the
author with ``ribat.formats.exporting.Exports`` to an in-memory file, per format, and reports the
median time of ``--runs`` runs, the values written and the rate.

Beside it, in the same run, the floor: reading the same objects through ``Intel.objects``
(TLP-checked pages of 1,000, which every export does) and parsing their JSON, without selecting
or rendering anything. The difference is what selection and rendering cost.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time

import orjson

from bench.inproc import add_common_options, bench_hub
from bench.stixgen import BATCH, indicator

FORMATS = ("suricata", "zeek", "csv", "stix")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.bench_exports", description=__doc__.split("\n")[0])
    p.add_argument("--count", type=int, default=100_000, help="indicators in the collection")
    add_common_options(p, runs_help="runs per format; medians are reported")
    args = p.parse_args(argv)

    from ribat.formats.exporting import Exports
    from ribat.formats.exports import parse_filter
    from ribat.intel import ObjectFilter

    with bench_hub(args.database_url, "ribat-exports-") as (hub, who):
        started = time.perf_counter()
        for start in range(0, args.count, BATCH):
            objs = [indicator(i, args.seed) for i in range(start, min(start + BATCH, args.count))]
            status = hub.intel.ingest(who, "bench", {"objects": objs})
            assert status.failure_count == 0, status.failures[:3]
        print(f"stored {args.count:,} indicators in {time.perf_counter() - started:.0f} s")
        hub.db.refresh_statistics(vacuum=True)  # as `ribat import` does after a bulk load

        def read_all() -> int:
            n = 0
            token = None
            while True:
                page = hub.intel.objects(who, "bench", ObjectFilter(), limit=1000, next_token=token)
                n += sum(1 for body in page.bodies if orjson.loads(body))
                if not page.more:
                    return n
                token = page.next

        floor = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            read = read_all()
            floor.append(time.perf_counter() - t0)
        assert read == args.count

        exports = Exports(hub.intel, warninglists=None)
        flt = parse_filter()
        rows = [("read + parse only (the floor)", statistics.median(floor), read, "objects")]
        for fmt in FORMATS:
            times = []
            written = 0
            for _ in range(args.runs):
                out = io.BytesIO()
                t0 = time.perf_counter()
                report = exports.export(who, "bench", fmt, flt, out)
                times.append(time.perf_counter() - t0)
                written = report.tally.values if fmt != "stix" else report.tally.objects
            unit = {"suricata": "rules", "stix": "objects"}.get(fmt, "values")
            rows.append((fmt, statistics.median(times), written, unit))
        engine = "PostgreSQL" if hub.db.engine.dialect.name == "postgresql" else "SQLite"
        print()
        print(f"| export ({engine}, {args.count:,} indicators) | median s | written | per second |")
        print("| --- | ---: | ---: | ---: |")
        for name, seconds, n, unit in rows:
            print(f"| {name} | {seconds:.2f} | {n:,} {unit} | {n / seconds:,.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
