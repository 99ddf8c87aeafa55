"""The run: every size, every server in turn, in one process and one sitting.

At each size, for each server still in the race: fill to the size, time GET pages
(the collection holds exactly the size), then time POSTs of new envelopes into it,
then read the process's peak RSS. Servers take turns at each size, so the peer's
figures come from the same run, the same machine state and the same data.

A server leaves the race when a fill step would take longer than its budget, or when
a GET does not answer within the request timeout (the server would go on working on
it and disturb what follows); it is stopped and the reason is recorded. A server
whose GET p50 has passed ``get_give_up`` seconds is not asked for GET pages at larger
sizes, but its ingest is still measured.
"""

from __future__ import annotations

import hashlib
import os
import platform
import sqlite3
import subprocess
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

from bench.measure import Driver, SizeResult, say
from bench.servers import MedallionServer, RibatServer, Server
from bench.stixgen import BATCH, DEFAULT_SEED

__all__ = ["Options", "run"]

QUICK_SIZES = (1000, 3000)
FULL_SIZES = (1000, 10_000, 100_000, 1_000_000)


@dataclass(frozen=True)
class Options:
    sizes: tuple[int, ...] = FULL_SIZES
    posts: int = 5
    gets: int = 20
    get_budget: float = 60.0
    get_give_up: float = 5.0
    fill_budget: float = 3600.0
    peer_fill_budget: float = 300.0
    request_timeout: float = 300.0
    postgres: str | None = None
    peer: bool = True
    seed: int = DEFAULT_SEED

    def __post_init__(self) -> None:
        if not self.sizes or any(s <= 0 or s % BATCH for s in self.sizes):
            raise ValueError(f"sizes must be positive multiples of {BATCH}: {self.sizes}")
        if list(self.sizes) != sorted(set(self.sizes)):
            raise ValueError(f"sizes must increase: {self.sizes}")
        if self.posts < 1 or self.gets < 3:
            raise ValueError("at least 1 timed POST and 3 timed GETs per size")


def _git_commit(repo: Path) -> str:
    try:
        head = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--", "src"], capture_output=True, text=True, check=True
        ).stdout.strip()
        diff = subprocess.run(
            ["git", "-C", str(repo), "diff", "HEAD", "--", "src"], capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    if not dirty:
        return head
    # Two runs on the same commit are comparable only if their uncommitted changes are too.
    return f"{head} + uncommitted changes in src/ (status and diff digest {_digest(dirty.encode() + diff)})"


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:10]


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, Any]:
    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "not installed"

    return {
        "cpu": _cpu_model(),
        "logical_cpus": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "ribat": version("ribat"),
        "ribat_commit": _git_commit(Path(__file__).resolve().parents[1]),
        "medallion": version("medallion"),
        "httpx": version("httpx"),
    }


@dataclass
class _Entry:
    driver: Driver
    notes: list[str] = field(default_factory=list)
    peak_rss_at_stop: int | None = None
    fill_rate_at_stop: float | None = None


def _stop(entry: _Entry) -> None:
    server = entry.driver.server
    entry.peak_rss_at_stop = server.peak_rss()
    entry.driver.close()
    server.stop()


def _measure_size(entry: _Entry, size: int, options: Options) -> None:
    driver = entry.driver
    result = SizeResult(size)
    if not driver.fill(size, result):
        if result.fill_seconds:
            entry.fill_rate_at_stop = result.fill_objects / result.fill_seconds
        _stop(entry)
        return
    if driver.ask_gets:
        result.get = driver.measure_gets(size, options.gets, options.get_budget)
        if result.get is None:
            _stop(entry)
            return
        if result.get.p50_ms / 1000 > options.get_give_up:
            driver.ask_gets = False
            entry.notes.append(
                f"GET pages not asked above {result.get.held:,} objects: p50 was "
                f"{result.get.p50_ms / 1000:,.1f} s there, past the {options.get_give_up:g} s cut-off"
            )
    else:
        result.get_note = "not asked (see notes)"
    result.post = driver.measure_posts(options.posts)
    result.peak_rss = driver.server.peak_rss()
    result.storage_bytes = driver.server.storage_bytes()
    driver.results.append(result)


def run(options: Options) -> dict[str, Any]:
    """Run the benchmark; the results as JSON-ready data (see ``bench.report``)."""
    servers: list[tuple[Server, float]] = [(RibatServer(), options.fill_budget)]
    if options.postgres:
        servers.append((RibatServer(postgres_admin_url=options.postgres), options.fill_budget))
    if options.peer:
        servers.append((MedallionServer(), options.peer_fill_budget))
    started = datetime.now(UTC)
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    entries: list[_Entry] = []
    try:
        for server, budget in servers:
            say(f"starting {server.name}")
            server.start()
            entries.append(_Entry(Driver(server, options.seed, budget, request_timeout=options.request_timeout)))
        for size in options.sizes:
            say(f"== size {size:,} ==")
            for entry in entries:
                if entry.driver.stopped is None:
                    _measure_size(entry, size, options)
        for entry in entries:
            if entry.driver.stopped is None:
                entry.peak_rss_at_stop = entry.driver.server.peak_rss()
    finally:
        for entry in entries:
            if entry.driver.stopped is None:
                entry.driver.close()
            entry.driver.server.stop()
        for server, _ in servers[len(entries) :]:
            server.stop()
    return {
        "started": started.isoformat(timespec="seconds"),
        "minutes": round((time.perf_counter() - t0) / 60, 1),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "machine": machine_info(),
        "options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in options.__dict__.items()},
        "servers": [
            {
                "name": e.driver.name,
                "is_peer": isinstance(e.driver.server, MedallionServer),
                "results": [r.as_dict() for r in e.driver.results],
                "stopped": e.driver.stopped,
                "held_at_end": e.driver.count,
                "fill_rate_at_stop": e.fill_rate_at_stop,
                "peak_rss": e.peak_rss_at_stop,
                "notes": e.notes,
            }
            for e in entries
        ],
    }
