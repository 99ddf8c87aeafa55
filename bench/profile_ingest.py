"""``python -m bench.profile_ingest``: where Ribat's ingest and GET page time goes, in process.

Opens a hub on a fresh SQLite file (or PostgreSQL with ``--database-url``) through
``ribat.hub.Hub``, creates an admin and a collection the way ``ribat init`` and
``ribat collection create`` do, prefills it with the benchmark's indicators, then:

1. times each phase of ``Intel.ingest`` for envelopes of 1,000 new indicators
   (``read_envelope``, the per-object loop, the store's ``put_versions``), using a
   timing proxy in front of the store (the store is an injected ``IntelStore``);
2. runs the same envelopes under cProfile and prints the top functions;
3. does the same for the GET page the benchmark asks for (``Intel.objects``) and
   prints the database's plan for that page's query.

The HTTP layers (uvicorn, FastAPI, JSON decoding of the request) are not in this
profile; ``python -m bench`` measures the whole round trip.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from bench.stixgen import BATCH, DEFAULT_SEED, envelope_bytes


class _TimedStore:
    """Delegates to the real store and adds up the seconds spent in chosen methods."""

    def __init__(self, store: Any, methods: tuple[str, ...]) -> None:
        self._store = store
        self._methods = methods
        self.seconds: dict[str, float] = dict.fromkeys(methods, 0.0)

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._store, name)
        if name not in self._methods:
            return target

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return target(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - t0

        return timed


def _print_stats(profile: cProfile.Profile, top: int, title: str) -> None:
    for key in ("tottime", "cumulative"):
        buffer = io.StringIO()
        stats = pstats.Stats(profile, stream=buffer)
        stats.strip_dirs().sort_stats(key).print_stats(top)
        text = buffer.getvalue()
        body = text[text.find("   ncalls") :] if "   ncalls" in text else text
        print(f"\n--- {title}: top {top} by {key} ---\n{body.rstrip()}")


def _ms(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:,.1f} ms (min {min(values) * 1000:,.1f})"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.profile_ingest", description=__doc__.splitlines()[0])
    p.add_argument("--prefill", type=int, default=100_000, help="objects stored before profiling")
    p.add_argument("--envelopes", type=int, default=10, help="envelopes of 1,000 timed and profiled")
    p.add_argument("--gets", type=int, default=10, help="GET pages timed and profiled")
    p.add_argument("--top", type=int, default=30, help="functions listed per profile")
    p.add_argument("--database-url", default=None, help="a fresh, empty database (default: a temporary SQLite)")
    args = p.parse_args(argv)

    from ribat.accounts import OrgKind, Role
    from ribat.config import Settings
    from ribat.hub import Hub
    from ribat.intel import Grant, ObjectFilter
    from ribat.intel.envelope import read_envelope

    workdir = Path(tempfile.mkdtemp(prefix="ribat-profile-"))
    url = args.database_url or f"sqlite:///{workdir / 'ribat.db'}"
    hub = Hub.open(Settings(database_url=url, secret_key="bench-profile"), migrate=True)
    try:
        org = hub.accounts.create_org("Hub operators", "hub", "SA", OrgKind.SECRETARIAT)
        user = hub.accounts.create_user("admin@ribat.local", org.id, Role.ADMIN, name="Administrator")
        principal = hub.accounts.principal_for(user.id)
        collection = hub.intel.create_collection("bench", grants=[Grant("community", "", True, True)])

        def envelope(start: int) -> Any:
            return orjson.loads(envelope_bytes(start, BATCH, DEFAULT_SEED))

        started = time.perf_counter()
        mid_us: int | None = None
        for start in range(0, args.prefill, BATCH):
            if start == (args.prefill // 2) // BATCH * BATCH:
                mid_us = time.time_ns() // 1000
            hub.intel.ingest(principal, collection.id, envelope(start))
        if args.prefill:
            rate = args.prefill / (time.perf_counter() - started)
            print(f"prefilled {args.prefill:,} objects at {rate:,.0f} objects/s (in process, no HTTP)")

        # 1. Phases.
        timed = _TimedStore(hub.intel.store, ("put_versions", "tlp_markings", "collection"))
        hub.intel.store = timed
        totals: list[float] = []
        cpus: list[float] = []
        reads: list[float] = []
        position = args.prefill
        bodies = [envelope(position + k * BATCH) for k in range(args.envelopes)]
        for k, data in enumerate(bodies):
            copy = orjson.loads(orjson.dumps(data))
            t0 = time.perf_counter()
            read_envelope(copy)
            reads.append(time.perf_counter() - t0)
            t0, c0 = time.perf_counter(), time.process_time()
            hub.intel.ingest(principal, collection.id, data)
            totals.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
            position += BATCH
            if k == 0:
                for name in timed.seconds:
                    timed.seconds[name] = 0.0
                totals.clear()
                cpus.clear()
                reads.clear()
        n = len(totals)
        total = sum(totals)
        print(f"\ningest of {n} envelopes of {BATCH:,} into {args.prefill:,}+ objects ({url.split(':')[0]}):")
        print(f"  whole Intel.ingest   {_ms(totals)} per envelope -> {BATCH * n / total:,.0f} objects/s")
        print(f"  of which CPU time    {_ms(cpus)} per envelope (the rest waits on I/O or other processes)")
        print(f"  read_envelope        {_ms(reads)} per envelope (upgrade + validation, timed apart)")
        for name, seconds in timed.seconds.items():
            print(f"  store.{name:<16} {seconds / n * 1000:,.1f} ms per envelope ({seconds / total:.0%})")
        rest = total / n - statistics.fmean(reads) - sum(timed.seconds.values()) / n
        print(f"  everything else      {rest * 1000:,.1f} ms per envelope (per-object loop, authz)")

        # 2. cProfile of ingest.
        bodies = [envelope(position + k * BATCH) for k in range(args.envelopes)]
        profile = cProfile.Profile()
        profile.enable()
        for data in bodies:
            hub.intel.ingest(principal, collection.id, data)
        profile.disable()
        position += BATCH * args.envelopes
        _print_stats(profile, args.top, f"Intel.ingest x {args.envelopes}")
        extra = envelope(position)
        position += BATCH
        _print_plans(hub, lambda: hub.intel.ingest(principal, collection.id, extra), "ingest")

        # 3. GET page.
        flt = ObjectFilter(added_after_us=mid_us, types=("indicator",))

        def page() -> Any:
            return hub.intel.objects(principal, collection.id, flt, limit=1000)

        _time_and_profile(page, args.gets, args.top, "Intel.objects (limit 1000, match[type], added_after)")
        _print_plans(hub, page, "the GET page")
    finally:
        hub.close()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def _print_plans(hub: Any, call: Callable[[], Any], title: str) -> None:
    """The database's plan for each distinct SELECT on ``stix_objects`` that ``call`` runs."""
    from sqlalchemy import event

    seen: dict[str, Any] = {}

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "stix_objects" in statement:
            seen.setdefault(statement, parameters)

    event.listen(hub.db.engine, "before_cursor_execute", capture)
    try:
        call()
    finally:
        event.remove(hub.db.engine, "before_cursor_execute", capture)
    explain = "EXPLAIN QUERY PLAN " if hub.db.is_sqlite else "EXPLAIN ANALYZE "
    for statement, parameters in seen.items():
        with hub.db.read() as conn:
            plan = conn.exec_driver_sql(explain + statement, parameters).all()
        shown = statement if len(statement) < 1500 else statement[:1500] + " ..."
        print(f"\n--- plan of a query of {title} ---\n{shown}\n")
        for row in plan:
            print("  " + " | ".join(str(c) for c in row))


def _time_and_profile(call: Callable[[], Any], times: int, top: int, title: str) -> None:
    call()
    seconds = []
    for _ in range(times):
        t0 = time.perf_counter()
        result = call()
        seconds.append(time.perf_counter() - t0)
    print(f"\n{title}: {_ms(seconds)}; {len(result.bodies)} objects per page")
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(times):
        call()
    profile.disable()
    _print_stats(profile, top, title)


if __name__ == "__main__":
    raise SystemExit(main())
