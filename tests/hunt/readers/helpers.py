"""Shared helpers for the reader tests: fixture files, STIX checks, the paths contract."""

from __future__ import annotations

import gzip
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import stix2
from stix2matcher.matcher import match

from ribat.hunt.readers import Problems, RecordBatch, open_logs, parse_path

CONN_FIELDS = [
    "ts",
    "uid",
    "id.orig_h",
    "id.orig_p",
    "id.resp_h",
    "id.resp_p",
    "proto",
    "service",
    "duration",
    "orig_bytes",
    "resp_bytes",
    "conn_state",
    "local_orig",
    "local_resp",
    "missed_bytes",
    "history",
    "orig_pkts",
    "orig_ip_bytes",
    "resp_pkts",
    "resp_ip_bytes",
    "tunnel_parents",
]
CONN_TYPES = [
    "time",
    "string",
    "addr",
    "port",
    "addr",
    "port",
    "enum",
    "string",
    "interval",
    "count",
    "count",
    "string",
    "bool",
    "bool",
    "count",
    "string",
    "count",
    "count",
    "count",
    "count",
    "set[string]",
]


def zeek_tsv(
    path: Path,
    log: str,
    fields: Sequence[str],
    types: Sequence[str],
    rows: Iterable[Sequence[str] | str],
    *,
    close: bool = True,
    compress: bool = False,
) -> Path:
    """A Zeek ASCII log: the header, ``rows`` (lists joined by tabs, or raw text lines), ``#close``."""
    lines = [
        "#separator \\x09",
        "#set_separator\t,",
        "#empty_field\t(empty)",
        "#unset_field\t-",
        f"#path\t{log}",
        "#open\t2024-05-01-10-00-00",
        "#fields\t" + "\t".join(fields),
        "#types\t" + "\t".join(types),
    ]
    lines += [row if isinstance(row, str) else "\t".join(row) for row in rows]
    if close:
        lines.append("#close\t2024-05-01-11-00-00")
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def read_all(*paths: Path | str, **options: Any) -> tuple[list[RecordBatch], Problems]:
    problems = Problems()
    batches = list(open_logs([*paths], problems=problems, **options))
    return batches, problems


def observations(batches: Sequence[RecordBatch]) -> list[dict[str, Any]]:
    return [od for b in batches for od in b.observed_rows(list(range(b.num_rows)))]


def column(batches: Sequence[RecordBatch], name: str) -> list[Any]:
    return [v for b in batches for v in b.column(name).to_pylist()]


def full_observed_data(observed: dict[str, Any]) -> dict[str, Any]:
    """An observed-data record with the common properties a STIX 2.0 SDO needs."""
    return {
        **observed,
        "id": f"observed-data--{uuid.uuid4()}",
        "created": "2024-01-01T00:00:00.000Z",
        "modified": "2024-01-01T00:00:00.000Z",
    }


def assert_valid_stix(observed: dict[str, Any]) -> None:
    """``stix2`` (strict, no custom content) accepts the record as a STIX 2.0 observed-data."""
    stix2.parse(full_observed_data(observed), allow_custom=False, version="2.0")


def matches(pattern: str, observed: dict[str, Any]) -> bool:
    """The oracle: does stix2-matcher match ``pattern`` against this one observation?"""
    return bool(match(pattern, [full_observed_data(observed)]))


def values_at(observed: dict[str, Any], path: str) -> list[Any]:
    """Every value at an object path in one observation, the way the STIX pattern matcher walks it."""
    object_type, steps = parse_path(path)
    objects = observed["objects"]
    found: list[Any] = []
    for obj in objects.values():
        if obj.get("type") != object_type:
            continue
        current: list[Any] = [obj]
        for i, step in enumerate(steps):
            nxt: list[Any] = []
            for value in current:
                if step == "*":
                    if isinstance(value, list):
                        nxt.extend(value)
                elif isinstance(step, int):
                    if isinstance(value, list) and -len(value) <= step < len(value):
                        nxt.append(value[step])
                elif isinstance(value, dict) and step in value:
                    item = value[step]
                    if step.endswith("_ref"):
                        item = objects.get(item)
                    elif step.endswith("_refs") and i + 1 < len(steps) and steps[i + 1] == "*":
                        item = [objects[r] for r in item if r in objects]
                    if item is not None:
                        nxt.append(item)
            current = nxt
        found.extend(v for v in current if not isinstance(v, dict | list))
    return found


def check_paths_contract(batch: RecordBatch) -> int:
    """Every value ``observed(i)`` holds at a published path is in one of that path's columns at row i.

    Returns how many (row, path, value) triples were checked.
    """
    checked = 0
    observed = batch.observed_rows(list(range(batch.num_rows)))
    columns = {name: batch.column(name).to_pylist() for cols in batch.paths.values() for name in cols}
    for row, od in enumerate(observed):
        for path, names in batch.paths.items():
            present: list[Any] = []
            for name in names:
                value = columns[name][row]
                present.extend(value if isinstance(value, list) else [value])
            for value in values_at(od, path):
                assert any(value == p and type(value) is type(p) for p in present), (
                    f"{batch.log_type} row {row}: {path} = {value!r} not in columns {names}: {present!r}"
                )
                checked += 1
        for obj in od["objects"].values():
            assert obj["type"] in batch.object_types
    return checked
