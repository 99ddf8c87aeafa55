"""How fast is ingest validation? ``validate_object`` and ``pattern_error`` against stix2.

Run from the repository root::

    python -m bench.bench_validation            # or: python bench/bench_validation.py
    python -m bench.bench_validation --count 20000 --baseline-count 20000 --runs 5

It generates distinct, typical STIX 2.1 indicators (an IPv4 address, a domain, a URL
or a SHA-256 file hash; some ORs and ANDs of them; TLP markings, kill-chain phases,
confidence), then times, each as the median of ``--runs`` runs:

- ``stix2.parse(obj, allow_custom=True)`` against ``validate_object(obj)``;
- ``stix2patterns.validator.run_validator`` against ``pattern_error``;
- ``read_envelope`` on the whole set (upgrade check + validation per object).

stix2 is two orders of magnitude slower, so by default it runs on the first
``--baseline-count`` objects only (the rate does not depend on the count); pass
``--baseline-count 20000`` for all of them. Results depend on the machine and its load:
compare the rates within one table, not across machines. The fallback cache of
``pattern_error`` is cleared before every run, and every value is distinct, so no
cache is the source of the speed. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import os
import platform
import statistics
import time
import uuid
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from ribat.intel import patterns as _patterns
from ribat.intel.envelope import read_envelope
from ribat.intel.patterns import pattern_error
from ribat.intel.validation import validate_object

AUTHOR = "identity--5b1a8a61-6f1e-4c44-9a57-0c9d1b2f7e10"
MARKINGS = (
    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
)
PHASES = ("reconnaissance", "delivery", "exploitation", "installation", "command-and-control")


def observable(i: int) -> str:
    """A comparison on a distinct value for each ``i``."""
    kind = i % 4
    if kind == 0:
        n = (i * 2654435761) % 2**32  # an odd multiplier is a bijection modulo 2**32
        return f"ipv4-addr:value = '{n >> 24}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}'"
    if kind == 1:
        return f"domain-name:value = 'update-{i:x}.example.net'"
    if kind == 2:
        return f"url:value = 'http://cdn-{i:x}.example.org/gate.php?id={i}'"
    return f"file:hashes.'SHA-256' = '{hashlib.sha256(str(i).encode()).hexdigest()}'"


def pattern(i: int) -> str:
    shape = i % 10
    if shape == 8:  # two observations
        return f"[{observable(i)}] OR [{observable(i + 1_000_003)}]"
    if shape == 9:  # two comparisons in one observation
        return f"[{observable(i)} AND {observable(i + 2_000_003)}]"
    return f"[{observable(i)}]"


def indicator(i: int) -> dict[str, Any]:
    day = 1 + i % 28
    created = f"2024-03-{day:02d}T{i % 24:02d}:{i % 60:02d}:{(i // 60) % 60:02d}.{i % 1000:03d}Z"
    obj: dict[str, Any] = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.UUID(int=i, version=4)}",
        "created_by_ref": AUTHOR,
        "created": created,
        "modified": created,
        "name": f"Indicator {i}",
        "description": "Seen in command-and-control traffic; reported by a coalition member.",
        "indicator_types": ["malicious-activity"],
        "pattern": pattern(i),
        "pattern_type": "stix",
        "pattern_version": "2.1",
        "valid_from": created,
        "confidence": 30 + i % 70,
        "kill_chain_phases": [{"kill_chain_name": "lockheed-martin-cyber-kill-chain", "phase_name": PHASES[i % 5]}],
    }
    if i % 3:
        obj["object_marking_refs"] = [MARKINGS[i % 3]]
    return obj


def median_rate(runs: int, items: Sequence[Any], work: Callable[[Sequence[Any]], None]) -> float:
    rates = []
    for _ in range(runs):
        _patterns._full_grammar_error.cache_clear()
        gc.collect()
        start = time.perf_counter()
        work(items)
        rates.append(len(items) / (time.perf_counter() - start))
    return statistics.median(rates)


def run_validate(objs: Sequence[dict[str, Any]]) -> None:
    for obj in objs:
        validate_object(obj)


def run_stix2_parse(objs: Sequence[dict[str, Any]]) -> None:
    import stix2

    for obj in objs:
        stix2.parse(obj, allow_custom=True)


def run_pattern_error(texts: Sequence[str]) -> None:
    for text in texts:
        if pattern_error(text) is not None:
            raise AssertionError(text)


def run_stix2_patterns(texts: Sequence[str]) -> None:
    from stix2patterns.validator import run_validator

    for text in texts:
        if run_validator(text, "2.1"):
            raise AssertionError(text)


def run_envelope(objs: Sequence[dict[str, Any]]) -> None:
    if read_envelope(list(objs)).problems:
        raise AssertionError("the generated indicators should all be valid")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=20_000, help="indicators to generate (default 20000)")
    parser.add_argument(
        "--baseline-count", type=int, default=2_000, help="how many of them stix2 and stix2-patterns get (default 2000)"
    )
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement; the median is reported (default 5)")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")  # stix2's deprecation warnings are not what is measured

    objs = [indicator(i) for i in range(args.count)]
    texts = [obj["pattern"] for obj in objs]
    baseline = min(args.baseline_count, args.count)
    fast = sum(_patterns._recognised(text) for text in texts)

    rows = [
        (
            "objects",
            "stix2.parse(allow_custom=True)",
            baseline,
            median_rate(args.runs, objs[:baseline], run_stix2_parse),
        ),
        ("objects", "validate_object", args.count, median_rate(args.runs, objs, run_validate)),
        (
            "patterns",
            "stix2patterns run_validator",
            baseline,
            median_rate(args.runs, texts[:baseline], run_stix2_patterns),
        ),
        ("patterns", "pattern_error", args.count, median_rate(args.runs, texts, run_pattern_error)),
        ("objects", "read_envelope (upgrade + validate)", args.count, median_rate(args.runs, objs, run_envelope)),
    ]
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(
        f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs, "
        f"load {load[0]:.2f}; median of {args.runs} runs; {fast}/{len(texts)} patterns took the fast path.\n"
    )
    print("| measured | implementation | items | median rate (/s) | vs stix2 |")
    print("|---|---|---:|---:|---:|")
    baselines = {"objects": rows[0][3], "patterns": rows[2][3]}
    for kind, name, items, rate in rows:
        print(f"| {kind} | {name} | {items:,} | {rate:,.0f} | {rate / baselines[kind]:,.1f}× |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
