"""One httpx client per server, the same code for every server: fill, POST timing, GET timing.

A :class:`Driver` owns a server's share of the generated sequence: it posts envelopes
of 1,000 new indicators in order and remembers, for each envelope, the client's clock
just before sending it. ``added_after`` for the GET measurement is that instant for
the envelope holding the middle object, so on both servers the query selects the
second half of the collection and the page holds the same objects.

Timings are wall-clock round trips seen by the client (request sent, full response
read); bodies are encoded before the clock starts and parsed after it stops.
"""

from __future__ import annotations

import statistics
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import psutil

from bench.servers import TAXII21, Server
from bench.stixgen import BATCH, envelope_bytes

__all__ = ["Driver", "GetTiming", "PostTiming", "SizeResult", "nearest_rank"]

_HEADERS = {"Accept": TAXII21, "Content-Type": TAXII21}


def nearest_rank(values: list[float], q: float) -> float:
    """The ``q`` quantile (0 < q <= 1) by the nearest-rank method: an observed value."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 1))  # ceil(n * q), at least 1
    return ordered[int(rank) - 1]


def _taxii_time(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def _cpu_seconds(pid: int) -> float | None:
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return None
    return float(times.user + times.system)


def _cpu_used(pid: int, before: float | None) -> float | None:
    after = _cpu_seconds(pid)
    return None if before is None or after is None else after - before


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class BenchError(RuntimeError):
    """A server answered something other than what the benchmark needs to count the work."""


@dataclass
class PostTiming:
    """Envelopes of 1,000 new objects posted one after another into a collection of ``held`` objects."""

    held: int
    seconds: list[float]
    server_cpu_seconds: float | None = None
    """CPU time the server process used over the timed requests (user + system, all threads)."""

    @property
    def rates(self) -> list[float]:
        return [BATCH / s for s in self.seconds]

    @property
    def median_rate(self) -> float:
        return statistics.median(self.rates)


@dataclass
class GetTiming:
    """``limit=1000&match[type]=indicator&added_after=<middle>`` requests; ``held`` objects stored."""

    held: int
    added_after: str
    objects_per_page: int
    seconds: list[float]
    server_cpu_seconds: float | None = None

    @property
    def p50_ms(self) -> float:
        return nearest_rank(self.seconds, 0.5) * 1000

    @property
    def p95_ms(self) -> float:
        return nearest_rank(self.seconds, 0.95) * 1000


@dataclass
class SizeResult:
    """What one server did at one target size."""

    size: int
    fill_seconds: float = 0.0
    fill_objects: int = 0
    get: GetTiming | None = None
    get_note: str | None = None
    post: PostTiming | None = None
    peak_rss: int | None = None
    storage_bytes: int | None = None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.post is not None:
            data["post"]["median_rate"] = self.post.median_rate
        if self.get is not None:
            data["get"]["p50_ms"] = self.get.p50_ms
            data["get"]["p95_ms"] = self.get.p95_ms
        return data


@dataclass
class Driver:
    """Drives one server: its position in the generated sequence, its client and its results."""

    server: Server
    seed: int
    fill_budget: float
    request_timeout: float = 600.0
    count: int = 0
    sent_at: list[float] = field(default_factory=list)
    results: list[SizeResult] = field(default_factory=list)
    stopped: str | None = None
    ask_gets: bool = True
    _client: httpx.Client | None = None

    @property
    def name(self) -> str:
        return self.server.name

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(auth=self.server.auth, headers=_HEADERS, timeout=self.request_timeout)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # -- posting ------------------------------------------------------------------------

    def _post(self, body: bytes) -> float:
        """POST the next envelope; the seconds it took. Checks every object was stored."""
        self.sent_at.append(time.time())
        started = time.perf_counter()
        response = self.client.post(self.server.objects_url, content=body)
        elapsed = time.perf_counter() - started
        if response.status_code != 202:
            raise BenchError(f"{self.name}: POST answered {response.status_code}: {response.text[:500]}")
        status = response.json()
        stored = int(status.get("success_count", 0)) - sum(
            1 for s in status.get("successes", ()) if isinstance(s, dict) and s.get("message")
        )
        if stored != BATCH or status.get("failure_count", 0):
            raise BenchError(
                f"{self.name}: {stored} of {BATCH} objects stored; failures: {status.get('failures', [])[:3]}"
            )
        self.count += BATCH
        return elapsed

    def fill(self, target: int, result: SizeResult) -> bool:
        """POST envelopes until ``target`` objects are stored; False if the budget stops it.

        The step stops as soon as its elapsed time plus the remaining envelopes at the
        mean time of the last five would exceed ``fill_budget`` (a lower bound when, as
        with medallion, each envelope takes longer than the one before).
        """
        start_count = self.count
        todo = (target - self.count + BATCH - 1) // BATCH
        if todo <= 0:
            return True
        say(f"[{self.name}] filling {self.count:,} -> {target:,} objects ({todo} envelopes of {BATCH:,})")
        started = time.perf_counter()
        last_report = started
        recent: list[float] = []
        with ThreadPoolExecutor(max_workers=1) as pool:
            upcoming: Future[bytes] = pool.submit(envelope_bytes, self.count, BATCH, self.seed)
            while self.count < target:
                body = upcoming.result()
                if self.count + BATCH < target:
                    upcoming = pool.submit(envelope_bytes, self.count + BATCH, BATCH, self.seed)
                recent = [*recent[-4:], self._post(body)]
                now = time.perf_counter()
                elapsed = now - started
                remaining = (target - self.count + BATCH - 1) // BATCH
                projected = elapsed + remaining * statistics.fmean(recent)
                if remaining and len(recent) >= 3 and projected > self.fill_budget:
                    result.fill_seconds += elapsed
                    result.fill_objects += self.count - start_count
                    self.stopped = (
                        f"stopped while filling to {target:,}: held {self.count:,} objects after "
                        f"{_duration(elapsed)}; the last envelopes took {statistics.fmean(recent):.1f} s each, "
                        f"so the remaining {remaining} would take at least {_duration(projected - elapsed)} "
                        f"(budget {_duration(self.fill_budget)} per fill step)"
                    )
                    say(f"[{self.name}] {self.stopped}")
                    return False
                if now - last_report >= 10 or self.count >= target:
                    done = self.count - start_count
                    rate = done / elapsed
                    eta = (target - self.count) / rate if rate else 0
                    say(
                        f"[{self.name}]   {self.count:>10,} / {target:,}  {rate:8,.0f} objects/s"
                        f"  elapsed {_duration(elapsed)}  eta {_duration(eta)}"
                    )
                    last_report = now
        result.fill_seconds += time.perf_counter() - started
        result.fill_objects += self.count - start_count
        return True

    def measure_posts(self, envelopes: int) -> PostTiming:
        """Time ``envelopes`` POSTs of 1,000 new objects each (generated before the clock starts)."""
        held = self.count
        bodies = [envelope_bytes(self.count + k * BATCH, BATCH, self.seed) for k in range(envelopes)]
        cpu = _cpu_seconds(self.server.pid)
        seconds = [self._post(body) for body in bodies]
        timing = PostTiming(held, seconds, _cpu_used(self.server.pid, cpu))
        cpu_note = (
            f"; server CPU {timing.server_cpu_seconds / envelopes * 1000:,.0f} ms per envelope"
            if timing.server_cpu_seconds is not None
            else ""
        )
        say(
            f"[{self.name}] POST at {held:,}: median {timing.median_rate:,.0f} objects/s "
            f"({', '.join(f'{s * 1000:.0f}' for s in seconds)} ms per envelope{cpu_note})"
        )
        return timing

    # -- reading ------------------------------------------------------------------------

    def added_after(self, size: int) -> tuple[str, int]:
        """``added_after`` selecting objects ``size // 2`` onwards (rounded down to an envelope)."""
        envelope = (size // 2) // BATCH
        return _taxii_time(self.sent_at[envelope]), envelope * BATCH

    def measure_gets(self, size: int, requests: int, budget: float) -> GetTiming | None:
        """One warm-up then up to ``requests`` timed GETs of a page of 1,000 objects.

        Stops early, once at least three are timed, when the requests at this size have
        used ``budget`` seconds. A request that times out stops the driver (the server
        would go on working on it and disturb every later measurement): None.
        """
        added_after, first_index = self.added_after(size)
        expected = min(1000, self.count - first_index)
        params = {"limit": "1000", "match[type]": "indicator", "added_after": added_after}
        seconds: list[float] = []
        cpu: float | None = None
        started = time.perf_counter()
        for k in range(requests + 1):
            t0 = time.perf_counter()
            try:
                response = self.client.get(self.server.objects_url, params=params)
            except httpx.TimeoutException:
                self.stopped = (
                    f"stopped at {self.count:,} objects: a GET page did not answer within {self.request_timeout:.0f} s"
                )
                say(f"[{self.name}] {self.stopped}")
                return None
            elapsed = time.perf_counter() - t0
            if response.status_code != 200:
                raise BenchError(f"{self.name}: GET answered {response.status_code}: {response.text[:500]}")
            got = len(orjson.loads(response.content).get("objects", ()))
            if got != expected:
                raise BenchError(f"{self.name}: GET returned {got} objects, expected {expected}")
            if k == 0:
                say(f"[{self.name}] GET at {self.count:,}: warm-up {elapsed * 1000:,.0f} ms")
                cpu = _cpu_seconds(self.server.pid)
            else:
                seconds.append(elapsed)
            if len(seconds) >= 3 and time.perf_counter() - started > budget:
                break
        timing = GetTiming(self.count, added_after, expected, seconds, _cpu_used(self.server.pid, cpu))
        say(
            f"[{self.name}] GET at {self.count:,}: p50 {timing.p50_ms:,.1f} ms, p95 {timing.p95_ms:,.1f} ms "
            f"over {len(seconds)} requests"
        )
        return timing
