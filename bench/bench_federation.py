"""How fast do two hubs sync? 100,000 indicators from hub A to hub B on loopback, and 1,000 new objects into a
hub already holding 1,000,000.

Run from the repository root::

    python -m bench.bench_federation                   # 100k, then 1M + 1k increments; SQLite
    python -m bench.bench_federation --quick           # 10k, then 50k + 1k increments
    python -m bench.bench_federation --postgres        # both hubs on fresh PostgreSQL databases
    python -m bench.bench_federation --out bench/RESULTS.md   # ... and replace its section there

Each hub is a database of its own, set up in this process the way ``ribat`` would (organisations registered
under each other's STIX identity, a ``shared`` collection, a peer record on each side); the hub being read from
(pull) or pushed to (push) is a real ``ribat serve`` process on 127.0.0.1, and the syncing hub runs
``Federation.run`` here, as ``ribat sync`` does. The indicators are the TAXII benchmark's (``bench.stixgen``),
all marked TLP:GREEN so that every one may cross.

Reported, each as the median of ``--runs`` runs on a fresh receiving hub:

- **pull**: B pulls A's 100,000 (pages of ``RIBAT_FEDERATION_PAGE_SIZE``, 1,000);
- **push**: A pushes its 100,000 to B (B's server ingests each envelope);
- two reference figures from the same run, which bound any TAXII-based sync from below: reading all 100,000
  from A with taxii2-client (the peer's own client, as B's sync account, the same pages), and storing the same
  100,000 into a fresh hub in process (``Intel.ingest`` in envelopes of 1,000);
- **incremental**: B, already holding 1,000,000 of its own and A's 100,000, pulls 1,000 new objects
  (``--runs`` increments, each timed).

There is no peer implementation to run beside it: MISP synchronises events over its own REST API, not TAXII,
and no open-source TAXII server syncs with another under TLP.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.servers import _Process, _ribat_argv, _wait_ready, free_port
from bench.stixgen import DEFAULT_SEED, indicator

GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SECTION = "## Federation"


def green(i: int, seed: int) -> dict[str, Any]:
    obj = indicator(i, seed)
    obj["object_marking_refs"] = [GREEN]
    obj.pop("created_by_ref", None)
    return obj


@dataclass
class Hub:
    """One hub's database, opened here, and (when started) its ``ribat serve`` process."""

    name: str
    database_url: str
    workdir: Path
    identities: dict[str, str]
    hub: Any = None
    collection_id: str = ""
    process: _Process | None = None
    base_url: str = ""
    extra: list[str] = field(default_factory=list)

    def open(self) -> None:
        from ribat.accounts import Role
        from ribat.config import Settings
        from ribat.hub import Hub as RibatHub

        self.hub = RibatHub.open(Settings(database_url=self.database_url), migrate=True)
        for name, identity in self.identities.items():
            self.hub.accounts.create_org(f"CERT {name.upper()}", f"cert-{name}", "MA", identity_id=identity)
        self.hub.accounts.create_user(f"analyst@{self.name}.example", f"cert-{self.name}", Role.ANALYST)
        own = self.hub.accounts.get_org(f"cert-{self.name}")
        self.collection_id = self.hub.intel.create_collection("shared", alias="shared", owner_org_id=own.id).id

    def analyst(self) -> Any:
        return self.hub.accounts.principal_for(f"analyst@{self.name}.example")

    def fill(self, start: int, count: int, seed: int, progress: Callable[[int], None] | None = None) -> None:
        analyst = self.analyst()
        for offset in range(start, start + count, 1000):
            n = min(1000, start + count - offset)
            status = self.hub.intel.ingest(
                analyst, self.collection_id, {"objects": [green(i, seed) for i in range(offset, offset + n)]}
            )
            assert status.failure_count == 0, status.failures[:3]
            if progress is not None:
                progress(offset + n - start)

    def serve(self) -> None:
        port = free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "RIBAT_DATABASE_URL": self.database_url,
            "RIBAT_FEDERATION_SCHEDULER": "false",
            "RIBAT_FEED_SCHEDULER": "false",
        }
        argv = _ribat_argv("serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning")
        self.process = _Process(argv, env, self.workdir / f"serve-{self.name}.log")
        self.process.start()
        _wait_ready(self.process, f"{self.base_url}/healthz", {}, None)

    @property
    def api_root(self) -> str:
        return f"{self.base_url}/taxii2/root/"

    def close(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None
        if self.hub is not None:
            self.hub.close()
            self.hub = None


class Databases:
    """Fresh databases: SQLite files in a temporary directory, or new PostgreSQL databases."""

    def __init__(self, postgres: bool) -> None:
        self.postgres = postgres
        self.root = Path(tempfile.mkdtemp(prefix="ribat-bench-fed-"))
        self.made: list[str] = []

    def new(self, name: str) -> str:
        if not self.postgres:
            return f"sqlite:///{self.root / f'{name}-{uuid.uuid4().hex[:6]}.db'}"
        import sqlalchemy as sa

        db = f"ribat_bench_fed_{uuid.uuid4().hex[:10]}"
        engine = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{db}"')
        engine.dispose()
        self.made.append(db)
        return PG_ADMIN.rsplit("/", 1)[0] + f"/{db}"

    def drop(self) -> None:
        if self.made:
            import sqlalchemy as sa

            engine = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            with engine.connect() as conn:
                for db in self.made:
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            engine.dispose()
        shutil.rmtree(self.root, ignore_errors=True)


def link(src: Hub, dst: Hub, direction: str, tag: str) -> None:
    """``src`` starts ``direction`` with ``dst`` (which serves it); ``tag`` tells apart the peer records that
    successive receiving hubs leave on ``dst``."""
    from ribat.federation import Federation

    _, key = Federation.for_hub(dst.hub).add(
        f"{src.name}{tag}",
        src.api_root or "http://127.0.0.1:9/taxii2/root/",
        direction="serve",
        pairs=[("shared", "")],
        org=f"cert-{src.name}",
    )
    Federation.for_hub(src.hub).add(
        dst.name,
        dst.api_root,
        key=key.secret,
        direction=direction,
        pairs=[("shared", dst.collection_id)],
        org=f"cert-{dst.name}",
    )


def timed_run(src: Hub, peer: str) -> tuple[float, Any]:
    from ribat.federation import Federation

    fed = Federation.for_hub(src.hub)
    started = time.perf_counter()
    run = fed.run(peer)
    elapsed = time.perf_counter() - started
    assert run.status.value == "ok", (run.status, run.error, run.problems[:3])
    return elapsed, run


def read_all_with_taxii2client(hub: Hub, key: str, expected: int) -> float:
    from taxii2client.v21 import Collection, as_pages

    # HTTP Basic with the key's prefix as the user name, as the TAXII benchmark's client does.
    collection = Collection(f"{hub.api_root}collections/{hub.collection_id}/", user=key.split("_")[1], password=key)
    started = time.perf_counter()
    count = 0
    for envelope in as_pages(collection.get_objects, per_request=1000):
        count += len(envelope.get("objects", []))
    elapsed = time.perf_counter() - started
    assert count == expected, (count, expected)
    return elapsed


def median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--objects", type=int, default=100_000)
    p.add_argument("--held", type=int, default=1_000_000, help="objects the receiving hub holds for the increment")
    p.add_argument("--increment", type=int, default=1_000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--postgres", action="store_true")
    p.add_argument("--quick", action="store_true", help="10k objects, 50k held")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--out", type=Path, default=None, help="replace the federation section of this RESULTS.md")
    args = p.parse_args()
    if args.quick:
        args.objects, args.held = 10_000, 50_000
    dbs = Databases(args.postgres)
    engine = "PostgreSQL" if args.postgres else "SQLite"
    n = args.objects
    results: dict[str, Any] = {"engine": engine, "objects": n, "held": args.held, "increment": args.increment}
    hubs: list[Hub] = []

    def hub(name: str, names: tuple[str, ...]) -> Hub:
        identities = {x: IDENTITIES[x] for x in names}
        made = Hub(name, dbs.new(name), dbs.root, identities)
        made.open()
        hubs.append(made)
        return made

    try:
        print(f"[{engine}] filling hub A with {n:,} indicators …", flush=True)
        a = hub("a", ("a", "b"))
        a.fill(0, n, args.seed)
        a.serve()

        pulls, reads, stores = [], [], []
        for run in range(args.runs):
            b = hub("b", ("a", "b"))
            b.serve()  # gives B an address A's record names; B pulls, so its server is idle
            link(b, a, "pull", f"pull{run}")
            elapsed, sync = timed_run(b, "a")
            assert sync.pulled == n, (sync.pulled, n)
            pulls.append(elapsed)
            print(f"  run {run + 1}: pull {n:,} in {elapsed:.2f} s ({n / elapsed:,.0f} objects/s)", flush=True)
            # The reference figures, in the same run: A's pages read by the peer's own client as B's sync account…
            from ribat.federation import Federation

            key = (
                Federation.for_hub(a.hub)
                .add(
                    f"reader{run}",
                    "http://127.0.0.1:9/taxii2/root/",
                    direction="serve",
                    pairs=[("shared", "")],
                    org="cert-b",
                )[1]
                .secret
            )
            reads.append(read_all_with_taxii2client(a, key, n))
            # … and the same objects stored into a fresh hub in process.
            c = hub("c", ("a", "c"))
            started = time.perf_counter()
            c.fill(0, n, args.seed)
            stores.append(time.perf_counter() - started)
            print(f"         taxii2-client read {reads[-1]:.2f} s; in-process store {stores[-1]:.2f} s", flush=True)
            c.close()
            b.close()

        pushes = []
        for run in range(args.runs):
            b = hub("b", ("a", "b"))
            b.serve()
            link_name = f"b{run}"
            from ribat.federation import Federation

            _, key = Federation.for_hub(b.hub).add(
                "a", a.api_root, direction="serve", pairs=[("shared", "")], org="cert-a"
            )
            Federation.for_hub(a.hub).add(
                link_name,
                b.api_root,
                key=key.secret,
                direction="push",
                pairs=[("shared", b.collection_id)],
                org="cert-b",
            )
            elapsed, sync = timed_run(a, link_name)
            assert sync.pushed == n, (sync.pushed, n)
            pushes.append(elapsed)
            print(f"  run {run + 1}: push {n:,} in {elapsed:.2f} s ({n / elapsed:,.0f} objects/s)", flush=True)
            b.close()

        print(f"[{engine}] filling hub B with {args.held:,} objects of its own …", flush=True)
        b = hub("b", ("a", "b"))
        b.fill(10_000_000, args.held, args.seed + 1)
        b.serve()
        link(b, a, "pull", "increment")
        timed_run(b, "a")  # catch up with A's objects first
        increments = []
        for run in range(args.runs):
            a.fill(20_000_000 + run * args.increment, args.increment, args.seed)
            elapsed, sync = timed_run(b, "a")
            assert sync.pulled == args.increment, (sync.pulled, args.increment)
            increments.append(elapsed)
            print(f"  increment {run + 1}: {args.increment:,} in {elapsed:.3f} s", flush=True)

        results.update(
            pull=pulls,
            push=pushes,
            read=reads,
            store=stores,
            increments=increments,
        )
        table = render(results)
        print(table)
        if args.out is not None:
            replace_section(args.out, table, engine)
    finally:
        for made in hubs:
            made.close()
        dbs.drop()


IDENTITIES = {name: f"identity--{uuid.uuid5(uuid.NAMESPACE_URL, f'ribat-bench-{name}')}" for name in "abc"}


def render(r: dict[str, Any]) -> str:
    n = r["objects"]

    def row(label: str, values: list[float], target: str = "") -> str:
        m = median(values)
        each = ", ".join(f"{v:.2f}" for v in values)
        return f"| {label} | {each} | **{m:.2f} s** | {n / m:,.0f} | {target} |"

    lines = [
        f"### {r['engine']}: {n:,} indicators from hub A to hub B (runs in seconds, median in bold)",
        "",
        "| what | runs (s) | median | objects/s | target |",
        "|---|---|---:|---:|---|",
        row("B pulls from A", r["pull"], "≤ 20 s"),
        row("A pushes to B", r["push"], "≤ 20 s"),
        row("reference: taxii2-client reads A's pages", r["read"]),
        row("reference: the same objects stored in process", r["store"]),
        "",
        f"Pull is {median(r['pull']) / median(r['read']):.1f}× the time taxii2-client takes to read the same "
        f"pages, and {median(r['pull']) / median(r['store']):.2f}× the time storing them costs alone.",
        "",
        f"### {r['engine']}: {r['increment']:,} new objects into a hub holding {r['held']:,} (+ A's {n:,})",
        "",
        "| increments (s) | median | target |",
        "|---|---:|---|",
        f"| {', '.join(f'{v:.3f}' for v in r['increments'])} | **{median(r['increments']):.3f} s** | ≤ 2 s |",
    ]
    return "\n".join(lines) + "\n"


def replace_section(path: Path, table: str, engine: str) -> None:
    """Put ``table`` in the federation section of ``path``, in place of the last run's table on the same engine."""
    start, end = f"<!-- bench:federation:{engine}:start -->", f"<!-- bench:federation:{engine}:end -->"
    text = path.read_text()
    block = f"{start}\n{table}{end}"
    if start in text:
        head, _, rest = text.partition(start)
        _, _, tail = rest.partition(end)
        text = head + block + tail
    elif SECTION in text:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    else:
        text = text.rstrip("\n") + f"\n\n{SECTION}\n\n" + block + "\n"
    path.write_text(text)


if __name__ == "__main__":
    main()
