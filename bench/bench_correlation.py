"""How fast is "what is related to X" with a million observables indexed?

Run from the repository root::

    python -m bench.bench_correlation                      # 1,000,000 observables, SQLite
    python -m bench.bench_correlation --observables 100000 --queries 500
    python -m bench.bench_correlation --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench

Fills a fresh hub in process through ``Intel.ingest`` (so the index is the one ingest
builds) with the benchmark's generated indicators (``bench.stixgen``: an IPv4 address, a
domain, a URL or a SHA-256 hash each, a third with a TLP marking), re-pointing one in ten at a
pool of 5,000 popular values and one in a hundred at a network, so that values repeat the way
they do in real feeds (and a few over-correlate). Two organisations: the author, and a reader
that may read only the CLEAR and GREEN part, so the TLP predicate is on the path of every
question. Then asks ``Intel.related`` as the reader: a mix of stored values, popular values,
addresses inside stored networks, sub-domains of stored domains, and values never seen.
Reports p50 / p99 / max per question (medians over ``--runs`` rounds of ``--queries``).

There is no peer figure: MISP's correlation is a table of pairs filled at ingest, not a
look-up, and no other open-source STIX server answers this question.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from typing import Any

from bench.inproc import add_common_options, bench_hub
from bench.stixgen import BATCH, indicator

GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
POPULAR = 5_000


def _popular(n: int) -> str:
    if n % 2:
        return f"[ipv4-addr:value = '100.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}']"
    return f"[domain-name:value = 'popular-{n}.example']"


def corpus(i: int, seed: int) -> dict[str, Any]:
    obj = indicator(i, seed)
    roll = i % 100
    if roll < 10:
        # A popular value: a Zipf-like choice, so a few values repeat thousands of times.
        n = int(POPULAR ** random.Random(i).random()) - 1
        obj["pattern"] = _popular(n)
    elif roll == 10:
        obj["pattern"] = f"[ipv4-addr:value ISSUBSET '10.{i // 256 % 256}.{i % 256}.0/24']"
    return obj


def questions(count: int, stored: int, seed: int) -> list[str]:
    from ribat.intel.observables import observables_of

    rng = random.Random(seed)
    asked: list[str] = []
    while len(asked) < count:
        roll = rng.random()
        if roll < 0.4:
            found = observables_of(corpus(rng.randrange(stored), seed))
            if found:
                asked.append(found[0].value)
        elif roll < 0.6:
            n = int(POPULAR ** rng.random()) - 1
            asked.append(f"100.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}" if n % 2 else f"popular-{n}.example")
        elif roll < 0.7:
            asked.append(f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}")
        elif roll < 0.8:
            found = observables_of(corpus(rng.randrange(stored), seed))
            domains = [o.value for o in found if o.kind == "domain"]
            asked.append(f"www.{domains[0]}" if domains else "www.example.org")
        else:
            asked.append(f"never-seen-{rng.randrange(10**9)}.example")
    return asked


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.bench_correlation", description=__doc__.split("\n")[0])
    p.add_argument("--observables", type=int, default=1_000_000, help="observables to index (approximately)")
    p.add_argument("--queries", type=int, default=2000, help="questions per round")
    add_common_options(p, runs_help="rounds; medians are reported")
    args = p.parse_args(argv)

    from ribat.accounts import OrgKind, Role

    with bench_hub(args.database_url, "ribat-corr-") as (hub, who):
        acc = hub.accounts
        b = acc.create_org("Reader CERT", "reader", "OM", OrgKind.NATIONAL_CERT)
        reader = acc.create_user("reader@b.example", b.id, Role.ANALYST)
        # URLs index their host too: about 1.25 observables an indicator.
        total = int(args.observables / 1.25)
        started = time.perf_counter()
        for start in range(0, total, BATCH):
            objs = [corpus(i, args.seed) for i in range(start, min(start + BATCH, total))]
            status = hub.intel.ingest(who, "bench", {"objects": objs})
            assert status.failure_count == 0, status.failures[:3]
        fill = time.perf_counter() - started
        hub.db.refresh_statistics(vacuum=True)  # as `ribat import` does after a bulk load
        with hub.db.read() as conn:
            indexed = conn.exec_driver_sql("SELECT count(*) FROM observables").scalar_one()
        print(f"indexed {indexed:,} observables of {total:,} indicators in {fill:.0f} s ({total / fill:,.0f} ind/s)")

        viewer = acc.principal_for(reader.id)
        asked = questions(args.queries, total, args.seed)
        hub.intel.related(viewer, asked[0])  # warm the connection pool
        p50s, p99s, maxes, hits = [], [], [], []
        for _ in range(args.runs):
            times = []
            found = 0
            for q in asked:
                t0 = time.perf_counter()
                answer = hub.intel.related(viewer, q)
                times.append((time.perf_counter() - t0) * 1000)
                found += bool(answer.items or answer.over_correlating)
            times.sort()
            p50s.append(times[len(times) // 2])
            p99s.append(times[int(len(times) * 0.99)])
            maxes.append(times[-1])
            hits.append(found)
        engine = "PostgreSQL" if hub.db.engine.dialect.name == "postgresql" else "SQLite"
        print()
        print("| engine | observables | questions | p50 ms | p99 ms | max ms | answered with related items |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        print(
            f"| {engine} | {indexed:,} | {len(asked):,} x {args.runs} | {statistics.median(p50s):.2f} | "
            f"{statistics.median(p99s):.2f} | {statistics.median(maxes):.1f} | {statistics.median(hits):,.0f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
