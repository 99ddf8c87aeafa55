"""JSON lines to typed tables: pyarrow's JSON reader per chunk, line by line when a chunk is bad.

A chunk of whole lines is parsed by pyarrow against an explicit schema (only the fields needed,
others ignored). If that fails (a malformed line, a value of an unexpected type, a blank line)
the chunk is parsed again line by line with orjson: bad lines and bad values are reported with
their line numbers and every good line is kept.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from ribat.hunt.readers import _convert
from ribat.hunt.readers._io import Chunk, Span, iter_lines, line_chunks, open_binary
from ribat.hunt.readers.base import LINE_COLUMN, TIME_COLUMN

Report = Callable[[int, str], None]

KIND_TYPES: dict[str, pa.DataType] = {
    "str": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "strlist": pa.list_(pa.string()),
}


@dataclass(frozen=True)
class JsonField:
    """One output column: where it is in each JSON object, and how to read it."""

    column: str
    keys: tuple[str, ...]
    kind: str
    """``str``, ``int``, ``float``, ``bool``, ``strlist``, ``time`` or ``nested`` (kept as ``type``)."""
    type: pa.DataType | None = None
    """The Arrow type of a ``nested`` field, or the type the time field has in the file."""

    @property
    def arrow_type(self) -> pa.DataType:
        if self.kind == "time":
            return pa.int64()
        if self.kind == "nested":
            assert self.type is not None
            return self.type
        return KIND_TYPES[self.kind]

    @property
    def read_type(self) -> pa.DataType:
        """The type asked of pyarrow's JSON reader."""
        if self.kind == "time":
            return self.type or pa.string()
        return self.arrow_type


def _schema(fields: Sequence[JsonField]) -> pa.Schema | None:
    """The nested schema of the JSON objects, or None when two fields clash (one inside the other)."""
    tree: dict[str, Any] = {}
    for f in fields:
        node = tree
        for key in f.keys[:-1]:
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                return None
            node = child
        if f.keys[-1] in node:
            return None
        node[f.keys[-1]] = f.read_type

    def build(node: dict[str, Any]) -> list[pa.Field]:
        return [pa.field(k, pa.struct(build(v)) if isinstance(v, dict) else v) for k, v in node.items()]

    return pa.schema(build(tree))


def _flatten(table: pa.Table) -> pa.Table:
    while any(pa.types.is_struct(t) for t in table.schema.types):
        table = table.flatten()
    return table


class _SlowPath(Exception):
    pass


def _fast(chunk: Chunk, schema: pa.Schema, fields: Sequence[JsonField]) -> pa.Table:
    table = pajson.read_json(
        pa.BufferReader(pa.py_buffer(chunk.data)),
        read_options=pajson.ReadOptions(use_threads=True, block_size=1 << 20),
        parse_options=pajson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore"),
    )
    if table.num_rows != chunk.lines:
        raise _SlowPath("blank lines")
    flat = _flatten(table)
    columns = {".".join(f.keys): f for f in fields}
    arrays: list[pa.Array] = []
    names: list[str] = []
    for name, f in columns.items():
        arrays.append(_convert._array(flat.column(name)))
        names.append(f.column)
    lines = chunk.first_line + np.arange(table.num_rows, dtype=np.int64)
    return pa.Table.from_arrays([pa.array(lines), *arrays], names=[LINE_COLUMN, *names])


def _lookup(obj: dict[str, Any], keys: tuple[str, ...]) -> Any:
    if len(keys) > 1:
        flat = obj.get(".".join(keys))
        if flat is not None:
            return flat
    value: Any = obj
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _conform(value: Any, kind: pa.DataType) -> Any:
    """Bend a decoded JSON value to an Arrow type; what cannot fit becomes None."""
    if value is None:
        return None
    if pa.types.is_struct(kind):
        if not isinstance(value, dict):
            return None
        return {
            kind.field(i).name: _conform(value.get(kind.field(i).name), kind.field(i).type)
            for i in range(kind.num_fields)
        }
    if pa.types.is_list(kind):
        items = value if isinstance(value, list) else [value]
        return [_conform(v, kind.value_type) for v in items]
    if pa.types.is_string(kind):
        if isinstance(value, dict | list):
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)
    if pa.types.is_integer(kind):
        try:
            return _convert._int_of(value)
        except (ValueError, TypeError, OverflowError):
            return None
    if pa.types.is_floating(kind):
        try:
            return _convert._float_of(value)
        except (ValueError, TypeError):
            return None
    if pa.types.is_boolean(kind):
        try:
            return _convert._bool_of(value)
        except (ValueError, TypeError):
            return None
    return None


def _read_value(value: Any, f: JsonField) -> Any:
    """A field's value in its kind; raises ValueError/TypeError when it cannot be read."""
    if f.kind == "str":
        if isinstance(value, dict | list):
            raise TypeError("an object or list is not text")
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)
    if f.kind == "int":
        return _convert._int_of(value)
    if f.kind == "float":
        return _convert._float_of(value)
    if f.kind == "bool":
        return _convert._bool_of(value)
    if f.kind == "strlist":
        items = value if isinstance(value, list) else [value]
        return [None if v is None else v if isinstance(v, str) else orjson.dumps(v).decode() for v in items]
    if f.kind == "time":
        return _convert._time_of(value)
    return _conform(value, f.arrow_type)


def _slow(chunk: Chunk, fields: Sequence[JsonField], time_field: JsonField, report: Report) -> pa.Table:
    lines: list[int] = []
    columns: list[list[Any]] = [[] for _ in fields]
    times: list[int] = []
    for number, raw in iter_lines(chunk):
        if not raw.strip():
            continue
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            report(number, f"not valid JSON: {exc}")
            continue
        if not isinstance(obj, dict):
            report(number, "not a JSON object")
            continue
        moment = _lookup(obj, time_field.keys)
        try:
            if moment is None:
                raise ValueError("missing")
            micros = _convert._time_of(moment)
        except (ValueError, TypeError, OverflowError):
            report(number, f"{time_field.column}: no readable time ({moment!r})")
            continue
        lines.append(number)
        times.append(micros)
        for column, f in zip(columns, fields, strict=True):
            value = _lookup(obj, f.keys)
            if value is None:
                column.append(None)
                continue
            try:
                column.append(_read_value(value, f))
            except (ValueError, TypeError, OverflowError):
                report(number, f"{f.column}: cannot read {value!r} as {f.kind}")
                column.append(None)
    arrays = [pa.array(lines, pa.int64()), pa.array(times, pa.int64())]
    arrays += [pa.array(values, f.arrow_type) for values, f in zip(columns, fields, strict=True)]
    return pa.Table.from_arrays(arrays, names=[LINE_COLUMN, TIME_COLUMN, *(f.column for f in fields)])


def json_tables(
    path: str | os.PathLike[str],
    fields: Sequence[JsonField],
    time_field: JsonField,
    report: Report,
    *,
    chunk_bytes: int,
    span: Span | None = None,
) -> Iterator[pa.Table]:
    """Tables with ``_line``, ``_time_us`` and one column per field, one per chunk of lines (of the file, or of
    ``span``).

    Lines without a readable time are reported and left out (a record needs a time).
    """
    schema = _schema([time_field, *fields])
    first_line = 1 if span is None else span.first_line
    with open_binary(path) if span is None else span.open(path) as stream:
        for chunk in line_chunks(stream, chunk_bytes, first_line):
            table: pa.Table | None = None
            if schema is not None:
                try:
                    table = _fast(chunk, schema, [time_field, *fields])
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, KeyError, _SlowPath):
                    table = None
            if table is None:
                yield _slow(chunk, fields, time_field, report)
                continue
            raw_time = table.column(time_field.column)
            micros, _ = _convert.to_time_us(raw_time)
            table = table.drop_columns([time_field.column]).add_column(1, TIME_COLUMN, micros)
            missing = _convert.rows_where(pc.is_null(micros))
            if len(missing):
                line_values = table.column(LINE_COLUMN).to_numpy()
                raw_values = _convert.take_values(_convert._array(raw_time), missing)
                for row, value in zip(missing, raw_values, strict=True):
                    report(int(line_values[row]), f"{time_field.column}: no readable time ({value!r})")
                keep = np.ones(table.num_rows, dtype=bool)
                keep[missing] = False
                table = table.filter(pa.array(keep))
            yield table


def rebatch_tables(tables: Iterator[pa.Table], rows: int) -> Iterator[pa.Table]:
    """Regroup tables of one schema into tables of ``rows`` rows (the last may be shorter)."""
    pending: list[pa.Table] = []
    count = 0
    for table in tables:
        if table.num_rows == 0:
            continue
        pending.append(table)
        count += table.num_rows
        while count >= rows:
            whole = pa.concat_tables(pending) if len(pending) > 1 else pending[0]
            yield whole.slice(0, rows)
            rest = whole.slice(rows)
            pending = [rest] if rest.num_rows else []
            count = rest.num_rows
    if count:
        yield pa.concat_tables(pending) if len(pending) > 1 else pending[0]
