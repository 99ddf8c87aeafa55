"""How fast does a hunt match STIX indicators against Zeek logs, and does it agree with stix2-matcher?

Run from the repository root::

    python -m bench.bench_hunt                       # parts A, B and C at full size
    python -m bench.bench_hunt --quick               # small sizes, one run (the smoke test)
    python -m bench.bench_hunt --only B --runs 5     # one part
    python -m bench.bench_hunt --profile             # also cProfile the largest hunt (Zeek TSV)

**Data** (seeded; generated once into ``--cache``, keyed by seed and size). Zeek ``conn``, ``dns``,
``http`` and ``files`` logs (60/22/14/4 % of the records), each written twice, as Zeek TSV (with
its ``#fields``/``#types`` header) and as Zeek JSON lines, split in time order into ``--parts``
files per log type. The fields are those of Zeek's logs (the Stratosphere Simda capture in the
shared data shows their shape): internal clients in 10.20.0.0/16, two internal resolvers, a pool
of 30,000 public servers and 15,000 domain names drawn Zipf-like (a few are very common, most
rare), domains resolving consistently to their addresses (some through a CNAME), a few IPv6
link-local multicast queries, HTTP requests with their user agents and MIME types, and file
transfers with MD5, SHA-1 and SHA-256 from a pool of 4,000 files. The records span a day at 1M.

The indicator set (STIX 2.1 indicators) mixes what feeds carry: IPv4 addresses 35.5 %, domains
28.5 %, URLs 15 %, SHA-256 11 %, MD5 6 %, CIDR blocks (/16 to /24) 3 %, and 1 % compound
patterns: ``AND`` inside one observation (a destination address with its port; a domain with the
address it resolves to), ``([…] FOLLOWEDBY […]) WITHIN 300 SECONDS`` (a DGA domain resolved,
then a URL fetched) and ``[…] REPEATS 5 TIMES WITHIN 600 SECONDS`` (beaconing). Indicator values
are drawn from address ranges and name shapes the background traffic never uses, and then a
known number are planted into the logs: about 1 % of the indicators, each in one to forty
records, plus near misses that must not match (a port other than the indicator's, an address
just outside a block, another path on the URL's host, an order or a spacing the qualifier
rejects). So at 1M records about 0.3 % of the records match, and the expected count of every
indicator is known without any matcher.

**Part A, equality with the oracle** (default 1,000 indicators x 1,000 records, 5 runs). stix2-matcher
3.0, as the tests' oracle uses it: each indicator's pattern compiled once (``Pattern``), then for a
single-observation pattern one ``match`` per record over that record's observed-data as a STIX 2.1
bundle, and for a pattern with observation operators or qualifiers one ``match`` over one bundle
of all the records. Its input is given in memory, already converted; Ribat's time includes reading
and parsing the log files (``compile_indicators``, then ``hunt`` over ``open_logs``). The
per-indicator match counts must be equal (for the multi-observation patterns, whether they
match), and equal to the planted counts; otherwise the benchmark exits with status 1 after printing its tables.

**Part B, scale** (default 1,000,000 records x 100,000 indicators, 3 runs each). Each run is a new
process, so that its peak RSS (``getrusage``) is its own: the compile time; the hunt (reading,
matching, exact checks, temporal evaluation; the compiled set given) over all the files, from
Zeek TSV and from Zeek JSON; the read-only floor (``open_logs``, every batch, no matching); each
at a quarter of the records (the first of the time-ordered files) and at all of them. CPU time
(user + system, all threads) is reported beside wall time, since the JSON reader uses threads:
records per CPU-second is the per-core figure. Hits must equal the planted counts, and the TSV
and JSON runs must find the same hits.

**Part C, Dask**: the same hunt over the same Zeek TSV files (one part per file) on a
``LocalCluster`` with 1 and with 2 worker processes (one thread each), through
``hunt_distributed``. The first run on a fresh cluster compiles the indicator set on each worker
(cold); later runs find it compiled (warm). The hits must be identical to a local run's
(counts, first and last seen, samples).

Timings are reported, never asserted: the targets (compile <= 5 s for 100k indicators, >= 1M
records/s/core end to end) are compared with the figures in the output.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import itertools
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import orjson

from bench.stixgen import DEFAULT_SEED

REPO = Path(__file__).resolve().parents[1]
GENERATOR_VERSION = 1  # bump when the generated data changes, so cached data is not reused
BASE_US = 1_763_942_400 * 1_000_000  # 2025-11-24T00:00:00Z, the start of the logs
MIB = 1 << 20

# -- Zeek log layouts ------------------------------------------------------------------------------

_ID = ("ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p")
_ID_TYPES = ("time", "string", "addr", "port", "addr", "port")
LAYOUTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "conn": (
        (*_ID, "proto", "service", "duration", "orig_bytes", "resp_bytes", "conn_state", "local_orig",
         "local_resp", "missed_bytes", "history", "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes",
         "tunnel_parents"),
        (*_ID_TYPES, "enum", "string", "interval", "count", "count", "string", "bool", "bool", "count", "string",
         "count", "count", "count", "count", "set[string]"),
    ),
    "dns": (
        (*_ID, "proto", "trans_id", "rtt", "query", "qclass", "qclass_name", "qtype", "qtype_name", "rcode",
         "rcode_name", "AA", "TC", "RD", "RA", "Z", "answers", "TTLs", "rejected"),
        (*_ID_TYPES, "enum", "count", "interval", "string", "count", "string", "count", "string", "count",
         "string", "bool", "bool", "bool", "bool", "count", "vector[string]", "vector[interval]", "bool"),
    ),
    "http": (
        (*_ID, "trans_depth", "method", "host", "uri", "referrer", "version", "user_agent", "request_body_len",
         "response_body_len", "status_code", "status_msg", "info_code", "info_msg", "tags", "username",
         "password", "proxied", "orig_fuids", "orig_filenames", "orig_mime_types", "resp_fuids",
         "resp_filenames", "resp_mime_types"),
        (*_ID_TYPES, "count", "string", "string", "string", "string", "string", "string", "count", "count",
         "count", "string", "count", "string", "set[enum]", "string", "string", "set[string]", "vector[string]",
         "vector[string]", "vector[string]", "vector[string]", "vector[string]", "vector[string]"),
    ),
    "files": (
        ("ts", "fuid", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "source", "depth", "analyzers",
         "mime_type", "filename", "duration", "local_orig", "is_orig", "seen_bytes", "total_bytes",
         "missing_bytes", "overflow_bytes", "timedout", "parent_fuid", "md5", "sha1", "sha256", "extracted",
         "extracted_cutoff", "extracted_size"),
        ("time", "string", "string", "addr", "port", "addr", "port", "string", "count", "set[string]", "string",
         "string", "interval", "bool", "bool", "count", "count", "count", "count", "bool", "string", "string",
         "string", "string", "string", "bool", "count"),
    ),
}  # fmt: skip
LOG_SHARES = (("conn", 60), ("dns", 22), ("http", 14), ("files", 4))

# -- value spaces ----------------------------------------------------------------------------------
# Background traffic and indicators use disjoint first octets, so a value matches only where planted.
_BACKGROUND_OCTETS = (3, 13, 15, 17, 18, 20, 23, 34, 35, 40, 44, 52, 54, 63, 64, 66, 69, 72, 74, 96, 98, 99, 104,
                      107, 130, 131, 140, 142, 143, 151, 152, 155, 157, 162, 168, 184, 198, 199, 204, 205, 206, 207,
                      208, 209, 216)  # fmt: skip
_IOC_OCTETS = (5, 31, 37, 45, 46, 62, 77, 78, 79, 80, 81, 82, 85, 89, 91, 92, 93, 94, 95, 103, 109, 141, 146, 176,
               178, 185, 188, 193, 194, 195, 212, 213, 217)  # fmt: skip
_CIDR_OCTETS = (36, 39, 42, 49, 58, 59, 60, 61, 101, 106, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119,
                120, 121, 122, 123, 124, 125, 175, 180, 182, 183, 202, 203, 210, 211, 218, 219, 220, 221, 222,
                223)  # fmt: skip
_WORDS = (
    "blue", "river", "stone", "cloud", "north", "pixel", "green", "market", "news", "daily", "metro", "cyber",
    "solar", "data", "media", "smart", "global", "alpha", "delta", "nova", "ocean", "peak", "prime", "quick",
    "royal", "silver", "swift", "urban", "vision", "wave", "bright", "cedar", "harbor", "maple", "orbit", "pine",
    "rapid", "summit", "terra", "vertex", "atlas", "beacon", "coral", "ember", "falcon", "garden", "horizon",
    "island", "jade", "lotus", "mosaic", "nimbus", "opal", "pioneer", "quartz", "radiant", "sierra", "tango",
)  # fmt: skip
_TLDS = ("com", "com", "com", "net", "org", "io", "co", "de", "fr", "my", "sa", "ae", "tr", "id", "pk", "eg")
_SUBS = ("www", "www", "api", "cdn", "static", "img", "mail", "login", "updates", "m", "assets", "media")
_DGA_TLDS = ("com", "net", "info", "biz", "ru", "su", "xyz", "top", "online", "site", "pw", "cc", "club", "in")
_CONSONANTS = "bcdfghjklmnpqrstvwxz"
_VOWELS = "aeiouy"
_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1",
    "Microsoft-CryptoAPI/10.0",
    "Windows-Update-Agent/10.0.10011.16384 Client-Protocol/2.50",
    "curl/8.4.0",
    "Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1; Trident/4.0; SLCC2)",
)  # fmt: skip
_MIME = ("text/html", "text/html", "application/javascript", "image/png", "image/jpeg", "application/json",
         "text/plain", "application/x-dosexec", "application/pdf", "application/zip")  # fmt: skip
_EXTENSIONS = {"text/html": "html", "application/javascript": "js", "image/png": "png", "image/jpeg": "jpg",
               "application/json": "json", "text/plain": "txt", "application/x-dosexec": "exe",
               "application/pdf": "pdf", "application/zip": "zip"}  # fmt: skip


def _zipf_weights(n: int, s: float = 1.05) -> list[float]:
    return list(itertools.accumulate(1.0 / (k + 1) ** s for k in range(n)))


def _dotted(number: int) -> str:
    return f"{number >> 24}.{number >> 16 & 255}.{number >> 8 & 255}.{number & 255}"


def _uid(rng: random.Random, prefix: str) -> str:
    return prefix + base64.b64encode(rng.randbytes(13), altchars=b"Zk").decode()[:17]


def _digests(text: str) -> tuple[str, str, str]:
    data = text.encode()
    return hashlib.md5(data).hexdigest(), hashlib.sha1(data).hexdigest(), hashlib.sha256(data).hexdigest()


class Background:
    """The pools the background traffic draws from (they depend only on the seed)."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(f"{seed}-background")
        self.clients = [f"10.20.{rng.randrange(16)}.{rng.randrange(2, 254)}" for _ in range(3000)]
        self.client_weights = _zipf_weights(len(self.clients), 0.6)
        self.resolvers = ("10.20.0.53", "10.20.0.54")
        servers: dict[str, None] = {}
        while len(servers) < 30_000:
            servers[
                f"{rng.choice(_BACKGROUND_OCTETS)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
            ] = None
        self.servers = list(servers)
        self.server_weights = _zipf_weights(len(self.servers))
        names: dict[str, None] = {}
        while len(names) < 15_000:
            a, b = rng.choice(_WORDS), rng.choice(_WORDS)
            tld = rng.choice(_TLDS)
            shape = rng.random()
            if shape < 0.45:
                name = f"{rng.choice(_SUBS)}.{a}{b}.{tld}"
            elif shape < 0.75:
                name = f"{a}{b}{rng.randrange(100) if rng.random() < 0.3 else ''}.{tld}"
            elif shape < 0.9:
                name = f"{rng.choice(_SUBS)}.{a}-{b}.{tld}"
            else:
                name = f"e{rng.randrange(10_000)}.{rng.choice('abcdfg')}.{a}edge.net"
            names[name] = None
        self.domains = list(names)
        self.domain_weights = _zipf_weights(len(self.domains))
        self.domain_set = frozenset(self.domains)
        n = len(self.servers)
        self.resolves = [
            [self.servers[(d * 7919 + j * 104_729) % n] for j in range(1 + d % 3)] for d in range(len(self.domains))
        ]
        self.cname = {d: self.domains[(d * 31 + 7) % len(self.domains)] for d in range(0, len(self.domains), 9)}
        self.v6 = [f"2606:4700:{rng.randrange(1 << 16):x}::{rng.randrange(1 << 16):x}" for _ in range(500)]
        self.files = []
        for k in range(4000):
            md5, sha1, sha256 = _digests(f"{seed}-file-{k}")
            mime = rng.choice(_MIME)
            name = f"{rng.choice(_WORDS)}{k}.{_EXTENSIONS[mime]}" if rng.random() < 0.3 else None
            self.files.append((md5, sha1, sha256, mime, rng.randrange(200, 3_000_000), name))
        self.file_weights = _zipf_weights(len(self.files))


# -- indicators ------------------------------------------------------------------------------------

# (kind, share out of 1,000)
KINDS = (
    ("ipv4", 355), ("domain", 285), ("url", 150), ("sha256", 110), ("md5", 60), ("cidr", 30),
    ("and-traffic", 3), ("and-dns", 2), ("followedby", 3), ("repeats", 2),
)  # fmt: skip
SINGLE_KINDS = ("ipv4", "domain", "url", "sha256", "md5", "cidr")
MULTI_KINDS = ("followedby", "repeats")


class IocValues:
    """Distinct indicator values, none of which the background traffic uses."""

    def __init__(self, seed: int, background: Background) -> None:
        self.rng = random.Random(f"{seed}-ioc")
        self.seed = seed
        self.seen: set[str] = set(background.domain_set)
        self.networks: set[tuple[int, int]] = set()
        self.hashes = 0
        self.background = background

    def _fresh(self, make: Callable[[], str]) -> str:
        while True:
            value = make()
            if value not in self.seen:
                self.seen.add(value)
                return value

    def ipv4(self) -> str:
        r = self.rng
        return self._fresh(
            lambda: f"{r.choice(_IOC_OCTETS)}.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}"
        )

    def network(self) -> tuple[int, int]:
        """(start, prefix length) of a new block."""
        r = self.rng
        while True:
            prefix = r.choices((24, 23, 22, 21, 20, 19, 18, 16), (50, 10, 12, 6, 8, 5, 3, 6))[0]
            number = r.choice(_CIDR_OCTETS) << 24 | r.getrandbits(24)
            start = number >> (32 - prefix) << (32 - prefix)
            if (start, prefix) not in self.networks:
                self.networks.add((start, prefix))
                return start, prefix

    def domain(self) -> str:
        r = self.rng

        def make() -> str:
            letters = [r.choice(_CONSONANTS) if i % 2 == 0 else r.choice(_VOWELS) for i in range(r.randrange(7, 12))]
            return "".join(letters) + "." + r.choice(_DGA_TLDS)

        return self._fresh(make)

    def url(self) -> tuple[str, str]:
        """(host, path) of a new URL ``http://host/path``: a DGA host or a compromised common site."""
        r = self.rng
        host = self.domain() if r.random() < 0.5 else r.choice(self.background.domains)

        def make() -> str:
            token = "".join(r.choice("abcdefghijkmnopqrstuvwxyz0123456789") for _ in range(r.randrange(6, 14)))
            shape = r.randrange(4)
            if shape == 0:
                return f"/wp-content/uploads/2025/{r.randrange(1, 13):02d}/{token}.exe"
            if shape == 1:
                return f"/{token}/gate.php"
            if shape == 2:
                return f"/download.php?id={token}"
            return f"/{r.choice(_WORDS)}/{token}.bin"

        path = self._fresh(make)
        return host, path

    def digest(self, algorithm: str) -> str:
        self.hashes += 1
        return hashlib.new(algorithm, f"{self.seed}-ioc-{self.hashes}".encode()).hexdigest()


@dataclass
class IndicatorSpec:
    number: int
    kind: str
    pattern: str
    values: tuple[Any, ...]


def indicator_specs(count: int, seed: int, values: IocValues) -> list[IndicatorSpec]:
    counts = {kind: share * count // 1000 for kind, share in KINDS}
    counts["ipv4"] += count - sum(counts.values())
    kinds = [kind for kind, _ in KINDS for _ in range(counts[kind])]
    random.Random(f"{seed}-kinds").shuffle(kinds)
    specs = []
    for number, kind in enumerate(kinds):
        if kind == "ipv4":
            ip = values.ipv4()
            spec = IndicatorSpec(number, kind, f"[ipv4-addr:value = '{ip}']", (ip,))
        elif kind == "cidr":
            start, prefix = values.network()
            spec = IndicatorSpec(
                number, kind, f"[ipv4-addr:value ISSUBSET '{_dotted(start)}/{prefix}']", (start, prefix)
            )
        elif kind == "domain":
            name = values.domain()
            spec = IndicatorSpec(number, kind, f"[domain-name:value = '{name}']", (name,))
        elif kind == "url":
            host, path = values.url()
            spec = IndicatorSpec(number, kind, f"[url:value = 'http://{host}{path}']", (host, path))
        elif kind in ("sha256", "md5"):
            digest = values.digest(kind)
            key = "'SHA-256'" if kind == "sha256" else "MD5"
            spec = IndicatorSpec(number, kind, f"[file:hashes.{key} = '{digest}']", (digest,))
        elif kind == "and-traffic":
            ip, port = values.ipv4(), (443, 8443, 4444, 8080)[number % 4]
            pattern = f"[network-traffic:dst_ref.value = '{ip}' AND network-traffic:dst_port = {port}]"
            spec = IndicatorSpec(number, kind, pattern, (ip, port))
        elif kind == "and-dns":
            name, ip = values.domain(), values.ipv4()
            pattern = f"[domain-name:value = '{name}' AND domain-name:resolves_to_refs[*].value = '{ip}']"
            spec = IndicatorSpec(number, kind, pattern, (name, ip))
        elif kind == "followedby":
            name, (host, path) = values.domain(), values.url()
            pattern = (
                f"([domain-name:value = '{name}'] FOLLOWEDBY [url:value = 'http://{host}{path}']) WITHIN 300 SECONDS"
            )
            spec = IndicatorSpec(number, kind, pattern, (name, host, path))
        else:
            ip = values.ipv4()
            spec = IndicatorSpec(number, kind, f"[ipv4-addr:value = '{ip}'] REPEATS 5 TIMES WITHIN 600 SECONDS", (ip,))
        specs.append(spec)
    return specs


def indicator_object(spec: IndicatorSpec, seed: int) -> dict[str, Any]:
    names = {
        "ipv4": "C2 server address",
        "cidr": "Bulletproof hosting block",
        "domain": "DGA domain",
        "url": "Payload URL",
        "sha256": "Malware sample (SHA-256)",
        "md5": "Malware sample (MD5)",
        "and-traffic": "C2 address and port",
        "and-dns": "Domain resolving to a C2 address",
        "followedby": "DGA lookup then payload download",
        "repeats": "Beaconing to a C2 address",
    }
    ident = uuid.uuid5(uuid.NAMESPACE_URL, f"ribat-bench-hunt/{seed}/{spec.number}")
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{ident}",
        "created": "2025-10-01T00:00:00.000Z",
        "modified": "2025-10-01T00:00:00.000Z",
        "name": names[spec.kind],
        "indicator_types": ["malicious-activity"],
        "pattern": spec.pattern,
        "pattern_type": "stix",
        "valid_from": "2025-10-01T00:00:00Z",
        "created_by_ref": "identity--5b1a8a61-6f1e-4c44-9a57-0c9d1b2f7e10",
    }


# -- the logs --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sizes:
    records: int
    indicators: int
    parts: int

    @property
    def span_us(self) -> int:
        """The time the logs span: a day at a million records, at least an hour."""
        return max(3600 * 1_000_000, self.records * 86_400)

    def per_type(self) -> dict[str, int]:
        counts = {lt: self.records * share // 100 for lt, share in LOG_SHARES}
        counts["conn"] += self.records - sum(counts.values())
        return counts


def row_time(n: int, g: int, span_us: int) -> int:
    """The time (µs) of row ``g`` of ``n`` of one log type: evenly spread with a fixed jitter, increasing."""
    return BASE_US + ((g * 1_000_000 + (g * 7_919_993 + 17) % 1_000_000) * span_us) // (n * 1_000_000)


@dataclass
class Plan:
    """What is planted: edits by (log type, row), and what every indicator must then match."""

    edits: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    expected: Counter[str] = field(default_factory=Counter)
    """Single-observation indicators (by pattern): how many records match them (absent: none)."""
    multi_match: set[str] = field(default_factory=set)
    multi_planted_miss: set[str] = field(default_factory=set)
    matching_rows: set[tuple[str, int]] = field(default_factory=set)
    near_misses: int = 0


class _Planter:
    def __init__(self, sizes: Sizes, seed: int, background: Background) -> None:
        self.n = sizes.per_type()
        self.span = sizes.span_us
        self.rng = random.Random(f"{seed}-plant")
        self.background = background
        self.plan = Plan()
        self.filler = 0
        self.seed = seed

    def free(self, lt: str) -> int:
        while True:
            g = self.rng.randrange(self.n[lt])
            if (lt, g) not in self.plan.edits:
                return g

    def after(self, lt: str, t_us: int) -> int:
        """The first free row of ``lt`` at or after ``t_us`` (else the last free row before it)."""
        n = self.n[lt]
        g = min(n - 1, max(0, (t_us - BASE_US) * n // self.span))
        while g > 0 and row_time(n, g - 1, self.span) >= t_us:
            g -= 1
        while g < n - 1 and row_time(n, g, self.span) < t_us:
            g += 1
        for candidate in itertools.chain(range(g, n), range(g - 1, -1, -1)):
            if (lt, candidate) not in self.plan.edits:
                return candidate
        raise RuntimeError(f"no free {lt} row left")

    def time(self, lt: str, g: int) -> int:
        return row_time(self.n[lt], g, self.span)

    def client(self) -> dict[str, Any]:
        return {
            "id.orig_h": self.rng.choice(self.background.clients),
            "id.orig_p": self.rng.randrange(49152, 65535),
            "proto": "tcp",
        }

    def connection(self, ip: str, port: int) -> dict[str, Any]:
        service = {443: "ssl", 8443: "ssl", 80: "http", 8080: "http"}.get(port)
        return {**self.client(), "id.resp_h": ip, "id.resp_p": port, "service": service}

    def resolution(self, name: str, answers: list[str]) -> dict[str, Any]:
        edit = {
            "id.orig_h": self.rng.choice(self.background.clients),
            "id.resp_h": self.background.resolvers[0],
            "id.resp_p": 53,
            "proto": "udp",
            "query": name,
            "qtype": 1,
            "qtype_name": "A",
        }
        if answers:
            edit.update(answers=answers, TTLs=[300.0] * len(answers), rcode=0, rcode_name="NOERROR")
        else:
            edit.update(answers=None, TTLs=None, rcode=3, rcode_name="NXDOMAIN")
        return edit

    def request(self, host: str, path: str) -> dict[str, Any]:
        return {
            **self.client(),
            "id.resp_h": self.rng.choice(self.background.servers),
            "id.resp_p": 80,
            "host": host,
            "uri": path,
            "method": "GET",
        }

    def fresh_digests(self) -> tuple[str, str, str]:
        self.filler += 1
        return _digests(f"{self.seed}-filler-{self.filler}")

    def put(self, lt: str, g: int, edit: dict[str, Any]) -> None:
        self.plan.edits[(lt, g)] = edit


def plan_plants(sizes: Sizes, seed: int, background: Background, specs: list[IndicatorSpec]) -> Plan:
    """Choose the indicators to plant and where (about 1 % of each kind), with near misses."""
    planter = _Planter(sizes, seed, background)
    rng = planter.rng
    by_kind: dict[str, list[IndicatorSpec]] = {}
    for spec in specs:
        by_kind.setdefault(spec.kind, []).append(spec)
    cap = max(1, sizes.records // 400)
    repeats = [1] * 50 + [2] * 20 + [3] * 10 + [5] * 10 + [10] * 7 + [40] * 3
    for kind, members in by_kind.items():
        floor = 1 if kind in MULTI_KINDS or kind.startswith("and-") else 2
        if kind in MULTI_KINDS:
            floor = min(2, len(members))  # one to match, one near miss
        chosen = rng.sample(members, min(len(members), max(floor, round(len(members) / 100))))
        for k, spec in enumerate(chosen):
            times = 1 if kind in MULTI_KINDS else min(cap, rng.choice(repeats))
            for _ in range(times):
                _plant(planter, spec, positive=k % 2 == 0)
    _expect(planter.plan, specs)
    return planter.plan


def _plant(p: _Planter, spec: IndicatorSpec, *, positive: bool) -> None:
    rng = p.rng
    kind = spec.kind
    if kind == "ipv4":
        (ip,) = spec.values
        where = rng.choices(("conn", "dns", "http", "files"), (70, 15, 10, 5))[0]
        if where == "dns":
            name = rng.choice(p.background.domains)
            p.put("dns", p.free("dns"), p.resolution(name, [ip]))
        elif where == "http":
            p.put("http", p.free("http"), {**p.request(rng.choice(p.background.domains), "/"), "id.resp_h": ip})
        else:
            p.put(where, p.free(where), p.connection(ip, rng.choice((443, 443, 80, 8080, 4444))))
    elif kind == "cidr":
        start, prefix = spec.values
        size = 1 << (32 - prefix)
        inside = _dotted(start + rng.randrange(1, size - 1))
        p.put("conn", p.free("conn"), p.connection(inside, 443))
        if rng.random() < 0.25:  # a near miss: just outside the block
            outside = _dotted(start - 1 if rng.random() < 0.5 else start + size)
            p.put("conn", p.free("conn"), p.connection(outside, 443))
            p.plan.near_misses += 1
    elif kind == "domain":
        (name,) = spec.values
        if rng.random() < 0.8:
            answers = [rng.choice(p.background.servers)] if rng.random() < 0.7 else []
            p.put("dns", p.free("dns"), p.resolution(name, answers))
        else:
            p.put("http", p.free("http"), p.request(name, "/"))
    elif kind == "url":
        host, path = spec.values
        p.put("http", p.free("http"), p.request(host, path))
        if rng.random() < 0.2:  # a near miss: the same host, another path
            p.put("http", p.free("http"), p.request(host, "/index.html"))
            p.plan.near_misses += 1
    elif kind in ("sha256", "md5"):
        (digest,) = spec.values
        md5, sha1, sha256 = p.fresh_digests()
        edit = {**p.connection(rng.choice(p.background.servers), 80), "sha1": sha1, "md5": md5, "sha256": sha256}
        edit["md5" if kind == "md5" else "sha256"] = digest
        p.put("files", p.free("files"), edit)
    elif kind == "and-traffic":
        ip, port = spec.values
        p.put("conn", p.free("conn"), p.connection(ip, port))
        p.put("conn", p.free("conn"), p.connection(ip, 80))  # a near miss: another port
        p.plan.near_misses += 1
    elif kind == "and-dns":
        name, ip = spec.values
        p.put("dns", p.free("dns"), p.resolution(name, [ip]))
        p.put("dns", p.free("dns"), p.resolution(name, [rng.choice(p.background.servers)]))  # a near miss
        p.plan.near_misses += 1
    elif kind == "followedby":
        name, host, path = spec.values
        g = p.free("dns")
        t = p.time("dns", g)
        p.put("dns", g, p.resolution(name, [rng.choice(p.background.servers)]))
        # To match: the download 5 to 60 s after the look-up. A miss: 20 minutes before it (after it, near the start).
        if positive:
            wanted = t + rng.randrange(5, 60) * 1_000_000
        else:
            wanted = t - 1200 * 1_000_000 if t - 1200 * 1_000_000 >= BASE_US else t + 1200 * 1_000_000
        h = p.after("http", wanted)
        p.put("http", h, p.request(host, path))
        gap = p.time("http", h) - t
        _classify(p.plan, spec, 1_000_000 <= gap <= 290 * 1_000_000, [("dns", g), ("http", h)])
    elif kind == "repeats":
        (ip,) = spec.values
        g = p.free("conn")
        t = p.time("conn", g)
        rows = [g]
        p.put("conn", g, p.connection(ip, 443))
        for k in range(1, 6 if positive else 3):  # six beacons a minute apart, or only three
            h = p.after("conn", t + k * 60 * 1_000_000)
            p.put("conn", h, p.connection(ip, 443))
            rows.append(h)
        times = [p.time("conn", r) for r in rows]
        _classify(
            p.plan, spec, len(rows) >= 5 and max(times) - min(times) <= 590 * 1_000_000, [("conn", r) for r in rows]
        )


def _classify(plan: Plan, spec: IndicatorSpec, matches: bool, rows: list[tuple[str, int]]) -> None:
    """Record a multi-observation plant as a match (its rows are matching records) or as near misses."""
    if matches:
        plan.multi_match.add(spec.pattern)
        plan.matching_rows.update(rows)
    else:
        plan.multi_planted_miss.add(spec.pattern)
        plan.near_misses += len(rows)


def _expect(plan: Plan, specs: list[IndicatorSpec]) -> None:
    """Every edited row's single-observation matches, by a look-up independent of the engine."""
    equal: dict[tuple[str, str], list[str]] = {}
    networks: dict[tuple[int, int], list[str]] = {}
    ands: dict[tuple[str, Any, Any], list[str]] = {}
    for spec in specs:
        if spec.kind == "ipv4":
            equal.setdefault(("ip", spec.values[0]), []).append(spec.pattern)
        elif spec.kind == "domain":
            equal.setdefault(("domain", spec.values[0]), []).append(spec.pattern)
        elif spec.kind == "url":
            equal.setdefault(("url", f"http://{spec.values[0]}{spec.values[1]}"), []).append(spec.pattern)
        elif spec.kind in ("sha256", "md5"):
            equal.setdefault((spec.kind, spec.values[0]), []).append(spec.pattern)
        elif spec.kind == "cidr":
            start, prefix = spec.values
            networks.setdefault((prefix, start >> (32 - prefix)), []).append(spec.pattern)
        elif spec.kind in ("and-traffic", "and-dns"):
            ands.setdefault((spec.kind, *spec.values), []).append(spec.pattern)
    prefixes = sorted({prefix for prefix, _ in networks})
    for (lt, g), edit in plan.edits.items():
        found: set[str] = set()
        addresses = [edit.get("id.orig_h"), edit.get("id.resp_h"), *(edit.get("answers") or ())]
        for ip in addresses:
            if not ip or ":" in ip:
                continue
            found.update(equal.get(("ip", ip), ()))
            a, b, c, d = (int(x) for x in ip.split("."))
            number = a << 24 | b << 16 | c << 8 | d
            for prefix in prefixes:
                found.update(networks.get((prefix, number >> (32 - prefix)), ()))
        if lt == "dns":
            found.update(equal.get(("domain", edit["query"]), ()))
            for answer in edit.get("answers") or ():
                found.update(ands.get(("and-dns", edit["query"], answer), ()))
        if lt == "http":
            found.update(equal.get(("domain", edit["host"]), ()))
            found.update(equal.get(("url", f"http://{edit['host']}{edit['uri']}"), ()))
        if lt == "files":
            found.update(equal.get(("sha256", edit.get("sha256", "")), ()))
            found.update(equal.get(("md5", edit.get("md5", "")), ()))
        if lt in ("conn", "http", "files"):
            found.update(ands.get(("and-traffic", edit["id.resp_h"], edit["id.resp_p"]), ()))
        plan.expected.update(found)
        if found:
            plan.matching_rows.add((lt, g))


class _RowMaker:
    """Background rows of one log type, as lists of typed values in the layout's field order."""

    def __init__(self, lt: str, background: Background, rng: random.Random) -> None:
        self.lt = lt
        self.b = background
        self.rng = rng
        self.fields = LAYOUTS[lt][0]

    def rows(self, times: list[int]) -> list[list[Any]]:
        make = getattr(self, f"_{self.lt}")
        result: list[list[Any]] = make(times)
        return result

    def _clients(self, n: int) -> list[str]:
        return self.rng.choices(self.b.clients, cum_weights=self.b.client_weights, k=n)

    def _conn(self, times: list[int]) -> list[list[Any]]:
        rng, b = self.rng, self.b
        n = len(times)
        clients = self._clients(n)
        servers = rng.choices(b.servers, cum_weights=b.server_weights, k=n)
        rows = []
        for i, t in enumerate(times):
            roll = rng.random()
            orig, resp = clients[i], servers[i]
            local_resp = False
            if roll < 0.02:  # link-local multicast name resolution, as in the Simda capture
                orig, resp = f"fe80::{rng.randrange(1 << 16):x}:{rng.randrange(1 << 16):x}", "ff02::1:3"
                proto, port, service = "udp", 5355, "dns"
            elif roll < 0.20:
                resp, proto, port, service = b.resolvers[roll < 0.19], "udp", 53, "dns"
                local_resp = True
            elif roll < 0.22:
                proto, port, service = "udp", 123, None
            elif roll < 0.25:  # inbound scans of the perimeter
                orig, resp, local_resp = resp, clients[i], True
                proto, port, service = "tcp", rng.choice((22, 23, 445, 3389, 8080)), None
            else:
                proto = "tcp"
                port = rng.choices((443, 80, 8443, 22, 993), (70, 22, 4, 2, 2))[0]
                service = {443: "ssl", 8443: "ssl", 80: "http", 22: "ssh", 993: "ssl"}[port]
            if proto == "tcp" and rng.random() < 0.08:
                state, history, duration, ob, rb, op, rp = "S0", "S", None, 0, 0, 1, 0
            elif proto == "tcp":
                state = "SF" if rng.random() < 0.85 else "RSTO"
                history = "ShADadFf" if state == "SF" else "ShADadR"
                duration = rng.expovariate(1 / 8)
                ob, rb = int(rng.paretovariate(1.2) * 300), int(rng.paretovariate(1.1) * 2000)
                op, rp = 3 + ob // 1400, 2 + rb // 1400
            else:
                state, history = ("SF", "Dd") if port != 5355 else ("S0", "D")
                duration = rng.uniform(0.0005, 0.05)
                ob, rb = rng.randrange(30, 80), rng.randrange(0, 300) if port != 5355 else 0
                op, rp = 1, 1 if rb else 0
            rows.append(
                [t, _uid(rng, "C"), orig, rng.randrange(1024, 65535), resp, port, proto, service, duration, ob, rb,
                 state, not orig.startswith(_BACKGROUND_PREFIXES), local_resp, 0, history, op,
                 op * 40 + ob, rp, rp * 40 + rb, []]
            )  # fmt: skip
        return rows

    def _dns(self, times: list[int]) -> list[list[Any]]:
        rng, b = self.rng, self.b
        n = len(times)
        clients = self._clients(n)
        picks = rng.choices(range(len(b.domains)), cum_weights=b.domain_weights, k=n)
        rows = []
        for i, t in enumerate(times):
            d = picks[i]
            qtype, qname = rng.choices(((1, "A"), (28, "AAAA"), (65, "HTTPS"), (12, "PTR")), (70, 20, 8, 2))[0]
            answers: list[str] | None
            if rng.random() < 0.06:
                rcode, rcode_name, answers = 3, "NXDOMAIN", None
            else:
                rcode, rcode_name = 0, "NOERROR"
                if qtype == 1:
                    answers = list(b.resolves[d])
                elif qtype == 28:
                    answers = [b.v6[d % len(b.v6)]]
                else:
                    answers = None
                if answers and d in b.cname:
                    answers = [b.cname[d], *answers]
            ttls = None if answers is None else [float(rng.choice((60, 300, 3600)))] * len(answers)
            rows.append(
                [t, _uid(rng, "C"), clients[i], rng.randrange(1024, 65535), b.resolvers[i % 7 == 0], 53, "udp",
                 rng.randrange(65536), rng.uniform(0.0004, 0.09) if rcode == 0 else None, b.domains[d], 1,
                 "C_INTERNET", qtype, qname, rcode, rcode_name, False, False, True, True, 0, answers, ttls, False]
            )  # fmt: skip
        return rows

    def _http(self, times: list[int]) -> list[list[Any]]:
        rng, b = self.rng, self.b
        n = len(times)
        clients = self._clients(n)
        picks = rng.choices(range(len(b.domains)), cum_weights=b.domain_weights, k=n)
        rows = []
        for i, t in enumerate(times):
            d = picks[i]
            word = rng.choice(_WORDS)
            uri = rng.choice(
                ("/", "/index.html", "/favicon.ico", f"/api/v2/{word}?id={rng.randrange(10**6)}",
                 f"/static/{word}.{rng.randrange(10**4)}.js", f"/images/{word}{rng.randrange(500)}.png",
                 f"/search?q={word}", "/msdownload/update/v3/static/trustedr/en/authrootstl.cab")
            )  # fmt: skip
            method = rng.choices(("GET", "POST", "HEAD"), (88, 10, 2))[0]
            status, message = rng.choices(((200, "OK"), (304, "Not Modified"), (404, "Not Found"), (302, "Found")),
                                          (75, 12, 8, 5))[0]  # fmt: skip
            mime = [rng.choice(_MIME)] if status == 200 else None
            rows.append(
                [t, _uid(rng, "C"), clients[i], rng.randrange(1024, 65535), b.resolves[d][0], 80, 1 + (i % 5 == 0),
                 method, b.domains[d], uri, None if rng.random() < 0.6 else f"http://{b.domains[picks[i - 1]]}/",
                 "1.1", rng.choice(_AGENTS), rng.randrange(40, 900) if method == "POST" else 0,
                 rng.randrange(0, 200_000) if status == 200 else 0, status, message, None, None, [], None, None,
                 None, None, None, None, [_uid(rng, "F")] if mime else None, None, mime]
            )  # fmt: skip
        return rows

    def _files(self, times: list[int]) -> list[list[Any]]:
        rng, b = self.rng, self.b
        n = len(times)
        clients = self._clients(n)
        picks = rng.choices(b.files, cum_weights=b.file_weights, k=n)
        servers = rng.choices(b.servers, cum_weights=b.server_weights, k=n)
        rows = []
        for i, t in enumerate(times):
            md5, sha1, sha256, mime, size, name = picks[i]
            rows.append(
                [t, _uid(rng, "F"), _uid(rng, "C"), clients[i], rng.randrange(1024, 65535), servers[i], 80, "HTTP",
                 0, ["MD5", "SHA1", "SHA256"], mime, name, rng.uniform(0, 2), False, False, size, size, 0, 0, False,
                 None, md5, sha1, sha256, None, None, None]
            )  # fmt: skip
        return rows


_BACKGROUND_PREFIXES = tuple(f"{octet}." for octet in _BACKGROUND_OCTETS)


def _edit_row(lt: str, row: list[Any], edit: dict[str, Any]) -> None:
    fields = LAYOUTS[lt][0]
    for name, value in edit.items():
        if name in fields:  # conn has proto and service, dns proto; the others neither
            row[fields.index(name)] = value


# -- writing ---------------------------------------------------------------------------------------


def _tsv_cell(kind: str) -> Callable[[Any], str]:
    if kind == "time":
        return lambda v: f"{v // 1_000_000}.{v % 1_000_000:06d}"
    if kind == "interval":
        return lambda v: f"{v:.6f}"
    if kind == "bool":
        return lambda v: "T" if v else "F"
    if kind.startswith(("set[", "vector[")):
        inner = _tsv_cell(kind[kind.index("[") + 1 : -1])
        return lambda v: ",".join(inner(x) for x in v) if v else "(empty)"
    return str


def _json_value(kind: str) -> Callable[[Any], Any]:
    if kind == "time":
        return lambda v: v / 1_000_000
    if kind == "interval":
        return lambda v: round(v, 6)
    if kind.startswith("vector[interval"):
        return lambda v: [round(x, 6) for x in v]
    return lambda v: v


def _write(lt: str, rows: list[list[Any]], tsv: Path, jsonl: Path) -> None:
    fields, types = LAYOUTS[lt]
    cells = [_tsv_cell(k) for k in types]
    values = [_json_value(k) for k in types]
    opened = datetime.fromtimestamp(rows[0][0] / 1e6, UTC).strftime("%Y-%m-%d-%H-%M-%S") if rows else "-"
    header = (
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n"
        f"#path\t{lt}\n#open\t{opened}\n#fields\t" + "\t".join(fields) + "\n#types\t" + "\t".join(types) + "\n"
    )
    with tsv.open("w", encoding="utf-8") as out:
        out.write(header)
        out.writelines(
            "\t".join("-" if v is None else cell(v) for v, cell in zip(row, cells, strict=True)) + "\n" for row in rows
        )
        out.write(f"#close\t{opened}\n")
    with jsonl.open("wb") as out:
        out.writelines(
            orjson.dumps({name: conv(v) for name, v, conv in zip(fields, row, values, strict=True) if v is not None})
            + b"\n"
            for row in rows
        )


@dataclass
class Dataset:
    folder: Path
    sizes: Sizes
    tsv: list[list[str]]
    """Per part, the Zeek TSV files (one per log type)."""
    json: list[list[str]]
    indicators: Path
    expected: dict[str, Any]

    def files(self, fmt: str, parts: int | None = None) -> list[str]:
        chosen = self.tsv if fmt == "tsv" else self.json
        return [f for part in chosen[: parts if parts is not None else len(chosen)] for f in part]

    def records(self, parts: int | None = None) -> int:
        n = self.sizes.per_type()
        p = self.sizes.parts
        upto = p if parts is None else parts
        return sum(n[lt] * upto // p for lt in n)

    def load_indicators(self) -> list[dict[str, Any]]:
        loaded: list[dict[str, Any]] = orjson.loads(self.indicators.read_bytes())
        return loaded


def dataset(cache: Path, sizes: Sizes, seed: int, say: Callable[[str], None]) -> Dataset:
    """The generated logs and indicators for ``sizes`` (generated unless already in ``cache``)."""
    name = f"v{GENERATOR_VERSION}-seed{seed}-{sizes.records}r-{sizes.indicators}i-{sizes.parts}p"
    folder = cache / name
    parts = [[f"{lt}.{p:02d}" for lt, _ in LOG_SHARES] for p in range(sizes.parts)]
    tsv = [[str(folder / "tsv" / f"{stem}.log") for stem in part] for part in parts]
    jsonl = [[str(folder / "json" / f"{stem}.json") for stem in part] for part in parts]
    done = folder / "complete.json"
    if done.exists():
        expected = orjson.loads(done.read_bytes())
        return Dataset(folder, sizes, tsv, jsonl, folder / "indicators.json", expected)
    say(f"generating {sizes.records:,} records and {sizes.indicators:,} indicators in {folder} …")
    started = time.perf_counter()
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "tsv").mkdir(parents=True)
    (folder / "json").mkdir(parents=True)
    background = Background(seed)
    specs = indicator_specs(sizes.indicators, seed, IocValues(seed, background))
    objects = [indicator_object(s, seed) for s in specs]
    (folder / "indicators.json").write_bytes(orjson.dumps(objects))
    plan = plan_plants(sizes, seed, background, specs)
    by_pattern = {s.pattern: o["id"] for s, o in zip(specs, objects, strict=True)}
    counts = sizes.per_type()
    span = sizes.span_us
    for p in range(sizes.parts):
        for k, (lt, _) in enumerate(LOG_SHARES):
            n = counts[lt]
            lo, hi = n * p // sizes.parts, n * (p + 1) // sizes.parts
            maker = _RowMaker(lt, background, random.Random(f"{seed}-{lt}-{p}"))
            rows = maker.rows([row_time(n, g, span) for g in range(lo, hi)])
            for g in range(lo, hi):
                edit = plan.edits.get((lt, g))
                if edit is not None:
                    _edit_row(lt, rows[g - lo], edit)
            _write(lt, rows, Path(tsv[p][k]), Path(jsonl[p][k]))
    expected = {
        "counts": {by_pattern[pattern]: count for pattern, count in plan.expected.items()},
        "multi_match": sorted(by_pattern[p] for p in plan.multi_match),
        "multi_planted_miss": sorted(by_pattern[p] for p in plan.multi_planted_miss),
        "multi": sorted(o["id"] for s, o in zip(specs, objects, strict=True) if s.kind in MULTI_KINDS),
        "matching_records": len(plan.matching_rows),
        "near_misses": plan.near_misses,
        "kinds": dict(Counter(s.kind for s in specs)),
        "planted_indicators": len(plan.expected) + len(plan.multi_match),
    }
    done.write_bytes(orjson.dumps(expected))
    say(f"generated in {time.perf_counter() - started:.0f} s")
    return Dataset(folder, sizes, tsv, jsonl, folder / "indicators.json", expected)


# -- checking hits ---------------------------------------------------------------------------------


def hit_counts(hits: dict[str, Any]) -> dict[str, int]:
    return {key: hit.count for key, hit in hits.items()}


def hits_digest(hits: dict[str, Any], *, with_places: bool = True) -> str:
    """A digest of the hits: counts, first and last seen, and the samples (their file and line too, unless
    ``with_places`` is false, to compare the same records read from another format)."""
    shape = []
    for key in sorted(hits):
        h = hits[key]
        samples = [
            (os.path.basename(s.file), s.line, s.time_us, list(s.matched)) if with_places else (s.time_us,)
            for s in h.samples
        ]
        shape.append((key, h.count, h.first_seen_us, h.last_seen_us, samples))
    return hashlib.sha256(orjson.dumps(shape)).hexdigest()[:16]


def check_against_plan(counts: dict[str, int], expected: dict[str, Any]) -> list[str]:
    """Differences between the hits' counts and what was planted (empty when they agree)."""
    problems = []
    multi = set(expected["multi"])
    want = expected["counts"]
    for key in sorted(set(want) | {k for k in counts if k not in multi}):
        if counts.get(key, 0) != want.get(key, 0):
            problems.append(f"{key}: {counts.get(key, 0)} matches, {want.get(key, 0)} planted")
    for key in sorted(multi):
        if (key in counts) != (key in set(expected["multi_match"])):
            problems.append(f"{key}: {'matched' if key in counts else 'did not match'} against the plan")
    return problems


# -- child processes (one measurement each, so that peak RSS is its own) -----------------------------


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _rss() -> int:
    with open("/proc/self/statm", encoding="ascii") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def run_child(spec: dict[str, Any]) -> dict[str, Any]:
    from ribat.hunt.compile import compile_indicators
    from ribat.hunt.engine import hunt
    from ribat.hunt.readers import Problems, open_logs

    out: dict[str, Any] = {"mode": spec["mode"]}
    problems = Problems()
    files = spec["files"]
    if spec["mode"] == "read":
        out["rss_before"] = _rss()
        c0, t0 = _cpu(), time.perf_counter()
        records = sum(batch.num_rows for batch in open_logs(files, problems=problems))
        out.update(seconds=time.perf_counter() - t0, cpu=_cpu() - c0, records=records)
    else:
        indicators = orjson.loads(Path(spec["indicators"]).read_bytes())
        c0, t0 = _cpu(), time.perf_counter()
        compiled = compile_indicators(indicators)
        out.update(compile_seconds=time.perf_counter() - t0, compile_cpu=_cpu() - c0)
        out["compiled"] = len(compiled.indicators)
        del indicators
        out["rss_before"] = _rss()
        if spec.get("warm"):  # hunt once first, untimed, as a Dask worker has before a warm run
            hunt(open_logs(spec["warm"], problems=Problems()), compiled)
        start_at = spec.get("start_at")
        if start_at is not None:  # several children hunt at once: wait for the agreed moment
            out["late"] = time.time() > start_at
            time.sleep(max(0.0, start_at - time.time()))
        c0, t0 = _cpu(), time.perf_counter()
        result = hunt(open_logs(files, problems=problems), compiled)
        out.update(seconds=time.perf_counter() - t0, cpu=_cpu() - c0, records=result.stats.records)
        out["ended_at"] = time.time()
        out["stats"] = {k: getattr(result.stats, k) for k in ("candidates", "checked", "matches", "batches")}
        out["counts"] = hit_counts(result.hits)
        out["digest"] = hits_digest(result.hits)
        out["digest_times"] = hits_digest(result.hits, with_places=False)
    out["problems"] = problems.count
    out["peak_rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return out


def spawn(spec: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.bench_hunt", "--child", json.dumps(spec)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"child {spec['mode']} failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# -- the parts -------------------------------------------------------------------------------------


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def _rate(n: float, seconds: float) -> str:
    return f"{n / seconds:,.0f}" if seconds > 0 else "–"


def part_a(data: Dataset, runs: int, report: dict[str, Any]) -> list[str]:
    """Ribat and stix2-matcher on the same indicators and records; per-indicator counts must be equal."""
    import warnings

    from ribat.hunt.compile import compile_indicators, fold_record_hashes
    from ribat.hunt.engine import hunt
    from ribat.hunt.evaluate import records_to_bundle as to_bundle
    from ribat.hunt.readers import Problems, open_logs

    warnings.filterwarnings("ignore", category=DeprecationWarning)
    from stix2matcher.matcher import Pattern

    indicators = data.load_indicators()
    files = data.files("tsv")
    records: list[dict[str, Any]] = []
    for batch in open_logs(files, problems=Problems()):
        records.extend(fold_record_hashes(r) for r in batch.observed_rows(list(range(batch.num_rows))))
    bundles = [to_bundle([r]) for r in records]
    everything = to_bundle(records)
    multi = set(data.expected["multi"])
    pairs = len(indicators) * len(records)
    say(f"[A] {len(indicators):,} indicators x {len(records):,} records = {pairs:,} pairs, {runs} runs")

    peer_times, peer_compile, peer_counts = [], [], {}
    ribat_times, ribat_compile, ribat_counts = [], [], {}
    for run in range(runs):
        c0 = time.perf_counter()
        compiled_peer = [(ind["id"], Pattern(ind["pattern"], "2.1")) for ind in indicators]
        t0 = time.perf_counter()
        counts: dict[str, int] = {}
        for key, pattern in compiled_peer:
            if key in multi:
                found = int(bool(pattern.match([everything])))
            else:
                found = sum(1 for bundle in bundles if pattern.match([bundle]))
            if found:
                counts[key] = found
        end = time.perf_counter()
        peer_times.append(end - c0)
        peer_compile.append(t0 - c0)
        peer_counts = counts
        say(f"[A] run {run + 1}: stix2-matcher {end - c0:.1f} s")

        c0 = time.perf_counter()
        compiled = compile_indicators(indicators)
        t0 = time.perf_counter()
        result = hunt(open_logs(files, problems=Problems()), compiled)
        end = time.perf_counter()
        ribat_times.append(end - c0)
        ribat_compile.append(t0 - c0)
        ribat_counts = hit_counts(result.hits)
        say(f"[A] run {run + 1}: Ribat {end - c0:.3f} s")

    failures = []
    ribat_view = {k: (int(bool(v)) if k in multi else v) for k, v in ribat_counts.items()}
    if ribat_view != peer_counts:
        differing = sorted(
            set(ribat_view) ^ set(peer_counts) | {k for k in ribat_view if ribat_view[k] != peer_counts.get(k)}
        )
        failures.append(f"Part A: Ribat and stix2-matcher differ on {len(differing)} indicators: {differing[:5]}")
    failures.extend(f"Part A (plan): {p}" for p in check_against_plan(ribat_counts, data.expected))
    peer, ribat = _median(peer_times), _median(ribat_times)
    report["A"] = {
        "indicators": len(indicators),
        "records": len(records),
        "runs": runs,
        "peer_seconds": peer_times,
        "peer_compile_seconds": peer_compile,
        "ribat_seconds": ribat_times,
        "ribat_compile_seconds": ribat_compile,
        "matching_indicators": len(peer_counts),
        "matches": sum(v for k, v in peer_counts.items() if k not in multi),
        "multi_matching": sum(1 for k in peer_counts if k in multi),
        "equal": not failures,
    }
    print()
    print(f"### Part A: equality with stix2-matcher ({len(indicators):,} indicators x {len(records):,} records)")
    print()
    print(f"| matcher | median s (of {runs}) | of which compiling | pairs/s | x stix2-matcher |")
    print("| --- | ---: | ---: | ---: | ---: |")
    print(f"| stix2-matcher 3.0 | {peer:.2f} | {_median(peer_compile):.2f} | {_rate(pairs, peer)} | 1 |")
    print(f"| Ribat | {ribat:.3f} | {_median(ribat_compile):.3f} | {_rate(pairs, ribat)} | **{peer / ribat:,.0f}** |")
    print()
    print(
        f"Matching indicators: {len(peer_counts)} ({report['A']['matches']} single-observation matches, "
        f"{report['A']['multi_matching']} multi-observation patterns matched); "
        f"per-indicator counts equal: {'yes' if not failures else 'NO'}."
    )
    return failures


def part_b(data: Dataset, runs: int, report: dict[str, Any]) -> list[str]:
    quarter = data.sizes.parts // 4 or None
    sizes = [(quarter, data.records(quarter))] if quarter else []
    sizes.append((None, data.records()))
    rows = []
    failures: list[str] = []
    digests: dict[tuple[str, int], set[str]] = {}
    raw: list[dict[str, Any]] = []
    for fmt in ("tsv", "json"):
        for parts, records in sizes:
            files = data.files(fmt, parts)
            for mode in ("read", "hunt"):
                results = []
                for run in range(runs):
                    spec = {"mode": mode, "files": files, "indicators": str(data.indicators)}
                    got = spawn(spec)
                    if got["records"] != records:
                        failures.append(f"Part B: {fmt} {mode} read {got['records']:,} records, not {records:,}")
                    if got["problems"]:
                        failures.append(f"Part B: {fmt} {mode} reported {got['problems']} problem lines")
                    results.append(got)
                    say(
                        f"[B] {fmt} {records:,} {mode} run {run + 1}: {got['seconds']:.2f} s"
                        + (f" (compile {got['compile_seconds']:.2f} s)" if mode == "hunt" else "")
                        + f", peak RSS {got['peak_rss'] / MIB:,.0f} MiB"
                    )
                raw.append({"format": fmt, "records": records, "mode": mode, "runs": results})
                if mode == "hunt":
                    for got in results:
                        digests.setdefault(("times", records), set()).add(got["digest_times"])
                    if parts is None:
                        failures.extend(
                            f"Part B ({fmt}, plan): {p}"
                            for p in check_against_plan(results[0]["counts"], data.expected)
                        )
                        report.setdefault("local_digest", {})[fmt] = results[0]["digest"]
                rows.append((fmt, records, mode, results))
    for (_, records), found in digests.items():
        if len(found) != 1:
            failures.append(f"Part B: the hunts over {records:,} records found different hits ({sorted(found)})")
    report["B"] = raw
    _print_b(rows, data)
    return failures


def _print_b(rows: list[tuple[str, int, str, list[dict[str, Any]]]], data: Dataset) -> None:
    names = {"tsv": "Zeek TSV", "json": "Zeek JSON"}
    print()
    print(f"### Part B: {data.sizes.indicators:,} indicators, medians of {len(rows[0][3])} runs (a new process each)")
    print()
    print(
        "| input | records | what | wall s | CPU s | records/s (wall) | records/CPU-s | compile s (CPU s) "
        "| compile + hunt, wall s | RSS before | peak RSS |"
    )
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for fmt, records, mode, results in rows:
        wall = _median(r["seconds"] for r in results)
        cpu = _median(r["cpu"] for r in results)
        before = _median(r["rss_before"] for r in results) / MIB
        peak = _median(r["peak_rss"] for r in results) / MIB
        if mode == "hunt":
            compile_s = _median(r["compile_seconds"] for r in results)
            compiled = f"{compile_s:.2f} ({_median(r['compile_cpu'] for r in results):.2f})"
            total = f"{_median(r['compile_seconds'] + r['seconds'] for r in results):.2f}"
        else:
            compiled = total = "–"
        what = "read only (floor)" if mode == "read" else "hunt"
        print(
            f"| {names[fmt]} | {records:,} | {what} | {wall:.2f} | {cpu:.2f} | {_rate(records, wall)} | "
            f"{_rate(records, cpu)} | {compiled} | {total} | {before:,.0f} MiB | {peak:,.0f} MiB |"
        )
    hunts = [r for row in rows if row[2] == "hunt" and row[1] == data.records() for r in row[3]]
    if not hunts:
        return
    stats = hunts[0]["stats"]
    print()
    print(
        f"Hunt over {data.records():,} records: {stats['candidates']:,} candidate records, {stats['checked']:,} "
        f"exact checks, {stats['matches']:,} matches by {len(hunts[0]['counts']):,} indicators "
        f"(planted: {data.expected['matching_records']:,} matching records, "
        f"{data.expected['planted_indicators']:,} indicators, {data.expected['near_misses']:,} near misses)."
    )
    compile_s = _median(r["compile_seconds"] for r in hunts)
    print()
    print(f"| target ({data.sizes.indicators:,} indicators, {data.records():,} records) | measured | met |")
    print("| --- | --- | --- |")
    print(f"| compile <= 5 s | {compile_s:.2f} s wall (median of all hunts) | {'yes' if compile_s <= 5 else 'no'} |")
    for fmt, records, mode, results in rows:
        if mode == "hunt" and records == data.records():
            per_cpu = records / _median(r["cpu"] for r in results)
            per_wall = records / _median(r["seconds"] for r in results)
            print(
                f"| >= 1,000,000 records/s/core end to end, {names[fmt]} | {per_cpu:,.0f} records/CPU-s "
                f"({per_wall:,.0f}/s wall) | {'yes' if per_cpu >= 1_000_000 else 'no'} |"
            )


def _plain_processes(files: Sequence[str], data: Dataset, compile_seconds: float, count: int) -> float | None:
    """Wall seconds for ``count`` plain processes to hunt a share of the files each (every ``count``-th file),
    started together after compiling and after one untimed hunt over the smallest file (warm, as the Dask
    workers of a warm run are): what this machine gives one or two processes without Dask. None when one was
    not ready in time."""
    from concurrent.futures import ThreadPoolExecutor

    shares = [list(files[k::count]) for k in range(count)]  # files sort by log type: each share gets some of each
    warm = [min(files, key=lambda f: Path(f).stat().st_size)]
    start_at = time.time() + 5 + 3 * compile_seconds  # they compile at once first, on the same two cores
    with ThreadPoolExecutor(count) as pool:
        specs = [
            {"mode": "hunt", "files": share, "indicators": str(data.indicators), "start_at": start_at, "warm": warm}
            for share in shares
        ]
        outs = list(pool.map(spawn, specs))
    if any(o["late"] for o in outs) or sum(o["records"] for o in outs) != data.records():
        return None
    wall: float = max(o["ended_at"] for o in outs) - start_at
    say(f"[C] {count} plain process(es), no Dask, warm: {wall:.2f} s")
    return wall


def part_c(data: Dataset, runs: int, workers: Sequence[int], report: dict[str, Any]) -> list[str]:
    import logging

    from distributed import Client, LocalCluster

    from ribat.hunt.distributed import hunt_distributed

    logging.getLogger("distributed").setLevel(logging.ERROR)
    files = data.files("tsv")
    indicators = data.load_indicators()
    local = report.get("local_digest", {}).get("tsv")
    if local is None:
        local = spawn({"mode": "hunt", "files": files, "indicators": str(data.indicators)})["digest"]
    failures = []
    measured = []
    for n in workers:
        with (
            LocalCluster(
                n_workers=n,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                silence_logs=logging.CRITICAL,
            ) as cluster,
            Client(cluster) as client,
        ):
            times = []
            spans = []
            for run in range(runs + 1):
                t0 = time.perf_counter()
                result = hunt_distributed(files, indicators, scheduler=client)
                times.append(time.perf_counter() - t0)
                spans.append(result.phases["parts"])
                digest = hits_digest(result.hits)
                if digest != local:
                    failures.append(f"Part C: {n} worker(s), run {run + 1}: hits differ from the local run")
                if result.stats.records != data.records():
                    failures.append(f"Part C: {n} worker(s) read {result.stats.records:,} records")
                say(f"[C] {n} worker(s) run {run + 1} ({'cold' if run == 0 else 'warm'}): {times[-1]:.2f} s")
        measured.append((n, times, spans))
    b_runs = [r for r in report.get("B", []) if r["mode"] == "hunt" and r["records"] == data.records()]
    compile_seconds = max((x["compile_seconds"] for r in b_runs for x in r["runs"]), default=10.0)
    plain: dict[int, list[float]] = {}
    for n in workers:
        tried = [_plain_processes(files, data, compile_seconds, n) for _ in range(runs)]
        plain[n] = [p for p in tried if p is not None]
    report["C"] = {
        "files": len(files),
        "runs": [{"workers": n, "seconds": t, "parts_seconds": p} for n, t, p in measured],
        "plain_processes_seconds": plain,
    }
    print()
    print(f"### Part C: Dask LocalCluster, {data.records():,} records in {len(files)} Zeek TSV files")
    print()
    print(
        "| workers | cold run s (compiles on each worker) | warm runs, median s | records/s (warm) | speed-up (warm) "
        "| of which the parts, median s | speed-up of the parts |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    base = base_parts = None
    for n, times, spans in measured:
        warm = _median(times[1:]) if len(times) > 1 else times[0]
        parts = _median(spans[1:]) if len(spans) > 1 else spans[0]
        base = base or warm
        base_parts = base_parts or parts
        print(
            f"| {n} | {times[0]:.2f} | {warm:.2f} | {_rate(data.records(), warm)} | {base / warm:.2f}x "
            f"| {parts:.2f} | {base_parts / parts:.2f}x |"
        )
    local_runs = [r for r in report.get("B", []) if r["format"] == "tsv" and r["mode"] == "hunt"]
    local_runs = [r for r in local_runs if r["records"] == data.records()]
    if local_runs:
        wall = _median(x["compile_seconds"] + x["seconds"] for x in local_runs[0]["runs"])
        rate = _rate(data.records(), wall)
        print(f"| local, no Dask (part B: compile + hunt) | – | {wall:.2f} | {rate} | – | – | – |")
    one = _median(plain[workers[0]]) if plain.get(workers[0]) else None
    for n in workers:
        if plain.get(n):
            wall = _median(plain[n])
            ratio = f"{one / wall:.2f}x" if one else "–"
            print(
                f"| reference: {n} plain process(es), no Dask, warm (hunt only) | – | {wall:.2f} "
                f"| {_rate(data.records(), wall)} | {ratio} | – | – |"
            )
    print()
    print(f"Hits identical to the local run: {'yes' if not failures else 'NO'}.")
    return failures


def profile(data: Dataset) -> None:
    import cProfile
    import pstats

    from ribat.hunt.compile import compile_indicators
    from ribat.hunt.engine import hunt
    from ribat.hunt.readers import Problems, open_logs

    indicators = data.load_indicators()
    profiler = cProfile.Profile()
    profiler.enable()
    compiled = compile_indicators(indicators)
    hunt(open_logs(data.files("tsv"), problems=Problems()), compiled)
    profiler.disable()
    stats = pstats.Stats(profiler, stream=sys.stdout)
    print()
    print(f"### Profile: compile + hunt, {data.records():,} records (Zeek TSV) x {data.sizes.indicators:,} indicators")
    print("```")
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(30)
    print("```")


def machine() -> str:
    from bench.runner import _cpu_model, _git_commit

    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "not installed"

    import psutil

    load = "/".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{_cpu_model()}, {os.cpu_count()} logical CPUs, {psutil.virtual_memory().total / 2**30:.1f} GiB RAM, "
        f"{platform.system()} {platform.release()}; Python {platform.python_version()}, pyarrow "
        f"{version('pyarrow')}, stix2-matcher {version('stix2-matcher')}, dask {version('distributed')}; "
        f"ribat at {_git_commit(REPO)}; load average {load}"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.bench_hunt", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes and one run each (the smoke test)")
    p.add_argument("--runs", type=int, default=None, help="runs of parts B and C (default 3; quick 1)")
    p.add_argument("--oracle-runs", type=int, default=None, help="runs of part A (default 5; quick 1)")
    p.add_argument("--records", type=int, default=None, help="records of parts B and C (default 1,000,000)")
    p.add_argument("--indicators", type=int, default=None, help="indicators of parts B and C (default 100,000)")
    p.add_argument("--oracle-size", type=int, default=None, help="indicators and records of part A (default 1,000)")
    p.add_argument("--parts", type=int, default=4, help="files per log type, in time order (default 4)")
    p.add_argument("--workers", default="1,2", help="Dask worker processes to compare (default 1,2)")
    p.add_argument("--only", nargs="+", choices=("A", "B", "C"), default=("A", "B", "C"))
    p.add_argument("--cache", type=Path, default=Path("/tmp/ribat-bench-hunt"), help="where generated data is kept")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--profile", action="store_true", help="also cProfile the part B hunt (Zeek TSV)")
    p.add_argument("--json", type=Path, default=None, help="write the raw figures here")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(run_child(json.loads(args.child))))
        return 0
    runs = args.runs or (1 if args.quick else 3)
    oracle_runs = args.oracle_runs or (1 if args.quick else 5)
    records = args.records or (8_000 if args.quick else 1_000_000)
    count = args.indicators or (2_000 if args.quick else 100_000)
    oracle = args.oracle_size or (200 if args.quick else 1_000)
    workers = [int(w) for w in args.workers.split(",")]

    started = datetime.now(UTC)
    print(f"## Hunt benchmark, {started:%Y-%m-%d %H:%M} UTC")
    print()
    print(f"Machine: {machine()}.")
    report: dict[str, Any] = {"started": started.isoformat(), "options": {k: str(v) for k, v in vars(args).items()}}
    failures: list[str] = []
    if "A" in args.only:
        small = dataset(args.cache, Sizes(oracle, oracle, 1), args.seed, say)
        failures += part_a(small, oracle_runs, report)
    big = None
    if "B" in args.only or "C" in args.only or args.profile:
        big = dataset(args.cache, Sizes(records, count, args.parts), args.seed, say)
        e = big.expected
        print()
        per_type = ", ".join(f"{lt} {n:,}" for lt, n in big.sizes.per_type().items())
        kinds = ", ".join(f"{k} {v:,}" for k, v in e["kinds"].items())
        print(
            f"Data: {records:,} records ({per_type}) in {args.parts} files per log type; {count:,} indicators "
            f"({kinds}); "
            f"planted: {e['planted_indicators']:,} indicators in {e['matching_records']:,} records "
            f"({e['matching_records'] / records:.2%}), {e['near_misses']:,} near misses."
        )
    if "B" in args.only and big is not None:
        failures += part_b(big, runs, report)
    if "C" in args.only and big is not None:
        failures += part_c(big, runs, workers, report)
    if args.profile and big is not None:
        profile(big)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=str))
    if failures:
        print()
        print("**Correctness checks failed:**")
        for failure in failures[:50]:
            print(f"- {failure}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
