"""JSON lines with a user field mapping (``{object path: field}``) to record batches.

A field name is looked up as a top-level key first; a dotted name that is not a top-level key
of the first record (``"dns.rrname"``) is read as a path into nested objects.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

import pyarrow as pa

from ribat.errors import ValidationError
from ribat.hunt.readers._io import span_of
from ribat.hunt.readers._jsonlines import JsonField, json_tables, rebatch_tables
from ribat.hunt.readers.base import LogRange, Problems, RecordBatch
from ribat.hunt.readers.layout import Layout, make_batch
from ribat.hunt.readers.mapping import TIME_CANDIDATES, FieldMapping

__all__ = ["layout_of", "read_jsonl", "resolve_time_field"]


def _keys(name: str, first: Mapping[str, Any]) -> tuple[str, ...]:
    if name in first or "." not in name:
        return (name,)
    return tuple(name.split("."))


def _lookup(first: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    value: Any = first
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def resolve_time_field(mapping: FieldMapping, names: Any, where: str) -> FieldMapping:
    """The mapping with its time field set: the one it names, else the first usual name present."""
    if mapping.time_field is not None:
        return mapping
    for candidate in TIME_CANDIDATES:
        if candidate in names:
            return mapping.with_time(candidate)
    raise ValidationError(
        "mapping['time']",
        f"{where}: no time field found (looked for {', '.join(TIME_CANDIDATES)}); add 'time': '<field>' to the mapping",
    )


def layout_of(mapping: FieldMapping, log_type: str) -> Layout:
    return Layout(
        log_type=log_type,
        fields=mapping.field_kinds,
        paths=mapping.paths,
        object_types=mapping.object_types,
        build=mapping,
    )


def read_jsonl(
    path: str | os.PathLike[str],
    mapping: FieldMapping,
    first: Mapping[str, Any],
    source: str,
    problems: Problems,
    *,
    batch_rows: int,
    chunk_bytes: int,
    part: LogRange | None = None,
) -> Iterator[RecordBatch]:
    """The records of JSON lines read with ``mapping`` (the whole file, or the lines of ``part``)."""
    assert mapping.time_field is not None
    span = None if part is None else span_of(part)
    if part is not None and span is None:
        return
    time_keys = _keys(mapping.time_field, first)
    sample = _lookup(first, time_keys)
    time_type = pa.float64() if isinstance(sample, int | float) and not isinstance(sample, bool) else pa.string()
    time_field = JsonField(mapping.time_field, time_keys, "nested", time_type)
    fields = [JsonField(name, _keys(name, first), kind) for name, kind in mapping.field_kinds.items()]
    layout = layout_of(mapping, "jsonl")

    def report(line: int, reason: str) -> None:
        problems.add(source, line, reason)

    tables = json_tables(path, fields, time_field, report, chunk_bytes=chunk_bytes, span=span)
    for table in rebatch_tables(tables, batch_rows):
        yield make_batch(table, layout, source)
