"""Vectorised column conversions with per-row error reporting.

Every converter returns the converted array and the indexes of the rows whose value was present
but could not be read (those rows get a null and are reported by the caller with their line).
The fast path converts a whole column in one Arrow kernel; only when that fails does a column
fall back to converting value by value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ribat.hunt.readers.base import LINE_COLUMN, TIME_COLUMN, Problems

Converted = tuple[pa.Array, np.ndarray]
_NONE = np.zeros(0, dtype=np.int64)
_NUMBER = re.compile(r"\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*\Z")


def _array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    return values


def _by_value(values: pa.Array, target: pa.DataType, convert: Callable[[Any], Any]) -> Converted:
    out: list[Any] = []
    bad: list[int] = []
    for i, value in enumerate(values.to_pylist()):
        if value is None:
            out.append(None)
            continue
        try:
            out.append(convert(value))
        except (ValueError, TypeError, OverflowError):
            out.append(None)
            bad.append(i)
    return pa.array(out, type=target), np.asarray(bad, dtype=np.int64)


def to_string(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Binary (raw bytes) to UTF-8 strings; invalid UTF-8 bytes are kept as ``\\xNN`` escapes."""
    values = _array(values)
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        return values
    try:
        return values.cast(pa.string())
    except pa.ArrowInvalid:
        return pa.array(
            [None if v is None else v.decode("utf-8", "backslashreplace") for v in values.to_pylist()],
            type=pa.string(),
        )


def _int_of(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("not an integer")
        return int(value)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    number = int(str(value).strip())
    if not -(2**63) <= number < 2**63:
        raise OverflowError("out of range")
    return number


def to_int(values: pa.Array | pa.ChunkedArray) -> Converted:
    values = _array(values)
    if pa.types.is_integer(values.type):
        return values.cast(pa.int64()), _NONE
    try:
        if pa.types.is_floating(values.type):
            raise pa.ArrowInvalid("floats are checked one by one")
        return values.cast(pa.int64()), _NONE
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return _by_value(values, pa.int64(), _int_of)


def _float_of(value: Any) -> float:
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return float(str(value).strip())


def to_float(values: pa.Array | pa.ChunkedArray) -> Converted:
    values = _array(values)
    try:
        return values.cast(pa.float64()), _NONE
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return _by_value(values, pa.float64(), _float_of)


_TRUE = ("T", "true", "True", "TRUE", "1", "yes")
_FALSE = ("F", "false", "False", "FALSE", "0", "no")


def _bool_of(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = value.decode() if isinstance(value, bytes) else str(value)
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError("not a boolean")


def to_bool(values: pa.Array | pa.ChunkedArray) -> Converted:
    values = _array(values)
    if pa.types.is_boolean(values.type):
        return values, _NONE
    if pa.types.is_string(values.type) or pa.types.is_binary(values.type):
        values = to_string(values)
        true = pc.is_in(values, value_set=pa.array(_TRUE))
        false = pc.is_in(values, value_set=pa.array(_FALSE))
        bad = pc.and_(pc.is_valid(values), pc.invert(pc.or_(true, false)))
        result = pc.if_else(true, True, pc.if_else(false, False, pa.scalar(None, pa.bool_())))
        return result, np.flatnonzero(bad.to_numpy(zero_copy_only=False))
    return _by_value(values, pa.bool_(), _bool_of)


# -- time ----------------------------------------------------------------------------------------


def _seconds_to_us(seconds: pa.Array) -> pa.Array:
    return pc.round(pc.multiply(seconds.cast(pa.float64()), 1_000_000.0)).cast(pa.int64())


def _time_of(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError("a boolean is not a time")
    if isinstance(value, int | float):
        return round(float(value) * 1_000_000)
    text = value.decode() if isinstance(value, bytes) else str(value)
    text = text.strip()
    if _NUMBER.match(text):
        return round(float(text) * 1_000_000)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def to_time_us(values: pa.Array | pa.ChunkedArray) -> Converted:
    """Epoch seconds (numbers or numeric text) or ISO 8601 text to int64 microseconds (UTC).

    ISO text without a zone offset is taken as UTC.
    """
    values = _array(values)
    try:
        if pa.types.is_integer(values.type) or pa.types.is_floating(values.type):
            return _seconds_to_us(values), _NONE
        if pa.types.is_timestamp(values.type):
            return values.cast(pa.timestamp("us", "UTC")).cast(pa.int64()), _NONE
        values = to_string(values)
        first = pc.drop_null(values)
        if len(first) == 0:
            return pa.nulls(len(values), pa.int64()), _NONE
        sample = first[0].as_py()
        if _NUMBER.match(sample):
            return _seconds_to_us(values.cast(pa.float64())), _NONE
        if re.search(r"(?:[zZ]|[+-]\d\d:?\d\d)\s*\Z", sample):
            return values.cast(pa.timestamp("us", "UTC")).cast(pa.int64()), _NONE
        return values.cast(pa.timestamp("us")).cast(pa.int64()), _NONE
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return _by_value(values, pa.int64(), _time_of)


# -- lists ---------------------------------------------------------------------------------------


def split_list(values: pa.Array | pa.ChunkedArray, separator: str, empty: str | None) -> pa.Array:
    """A separated text column to ``list<string>``; ``empty`` (Zeek's ``(empty)``) is the empty list."""
    values = to_string(values)
    split = pc.split_pattern(values, pattern=separator)
    if empty is None or not may_contain(values, empty.encode()):
        return split
    is_empty = pc.fill_null(pc.equal(values, empty), False)
    if not pc.any(is_empty).as_py():
        return split
    return pc.if_else(is_empty, pa.scalar([], pa.list_(pa.string())), split)


def _relist(values: pa.Array, flat: pa.Array) -> pa.Array:
    """A list array with the shape (lengths, nulls) of ``values`` and the elements ``flat``."""
    lengths = pc.fill_null(pc.list_value_length(values), 0).to_numpy(zero_copy_only=False)
    offsets = np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), flat, mask=pc.is_null(values))


def list_field(values: pa.Array | pa.ChunkedArray, name: str) -> pa.Array:
    """``list<struct<…name…>>`` to ``list<type of name>`` (the ``name`` of every element)."""
    values = _array(values)
    flat = pc.list_flatten(values)
    inner = pc.struct_field(flat, name) if len(flat) else pa.array([], flat.type.field(name).type)
    return _relist(values, inner)


def map_list(values: pa.Array | pa.ChunkedArray, kernel: Callable[[pa.Array], pa.Array]) -> pa.Array:
    """Apply an element-wise kernel to every element of a list column."""
    values = _array(values)
    return _relist(values, kernel(pc.list_flatten(values)))


# -- Zeek escapes --------------------------------------------------------------------------------

_ZEEK_ESCAPE = re.compile(rb"\\x([0-9A-Fa-f]{2})")


def _unescape(value: str) -> str:
    raw = _ZEEK_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), value.encode("utf-8"))
    return raw.decode("utf-8", "backslashreplace")


def unescape_zeek(values: pa.Array) -> pa.Array:
    """Undo Zeek's ``\\xNN`` escapes (separators, non-printable bytes) in a string or list column."""
    if pa.types.is_list(values.type):
        flat = pc.list_flatten(values)
        fixed = unescape_zeek(flat)
        return values if fixed is flat else _relist(values, fixed)
    if len(values) == 0:
        return values
    if not may_contain(values, b"\\x"):
        return values
    escaped = pc.fill_null(pc.match_substring(values, "\\x"), False)
    if not pc.any(escaped).as_py():
        return values
    texts: list[str | None] = values.to_pylist()
    for i in np.flatnonzero(escaped.to_numpy(zero_copy_only=False)):
        text = texts[i]
        if text is not None:
            texts[i] = _unescape(text)
    return pa.array(texts, type=pa.string())


def may_contain(values: pa.Array, needle: bytes) -> bool:
    """Whether any value of a text or binary array may contain ``needle``: a search of the array's data buffer,
    which is far cheaper than a kernel over every value. It may answer True for bytes outside the array's slice
    (then the caller's exact kernel decides); it never answers False when a value holds ``needle``."""
    kind = values.type
    if not (pa.types.is_string(kind) or pa.types.is_binary(kind)):
        return True
    data = values.buffers()[2]
    return data is not None and _finder(needle).search(data) is not None


@lru_cache(maxsize=16)
def _finder(needle: bytes) -> re.Pattern[bytes]:
    """A search for ``needle`` that reads an Arrow buffer in place: a regular expression takes any buffer, where
    ``in`` needs the buffer copied to ``bytes`` first (on a batch's text column, about three times slower)."""
    return re.compile(re.escape(needle))


def rows_where(mask: pa.Array) -> np.ndarray:
    return np.flatnonzero(pc.fill_null(mask, False).to_numpy(zero_copy_only=False))


def take_values(values: pa.Array, rows: Sequence[int] | np.ndarray) -> list[Any]:
    return list(values.take(pa.array(np.asarray(rows, dtype=np.int64))).to_pylist())


# -- whole tables --------------------------------------------------------------------------------


def _report_rows(
    problems: Problems, source: str, lines: np.ndarray, rows: np.ndarray, column: str, values: pa.Array, kind: str
) -> None:
    for row, value in zip(rows, take_values(values, rows), strict=True):
        problems.add(source, int(lines[row]), f"{column}: cannot read {value!r} as {kind}")


@dataclass(frozen=True)
class TextConversion:
    """Raw text (or bytes) to a ``str`` or ``strlist`` column's values. It reports nothing, so a reader may
    apply it late, to the rows that need it (``RecordBatch.lazy``)."""

    kind: str
    set_separator: str = ","
    empty: str | None = None
    unescape: bool = False

    @property
    def elementwise(self) -> bool:
        """Whether each value converts on its own, so that converting a column's distinct values converts it."""
        return self.kind == "str"

    def __call__(self, values: pa.Array | pa.ChunkedArray) -> pa.Array:
        raw = to_string(values) if pa.types.is_binary(values.type) else _array(values)
        converted: pa.Array
        if self.kind == "str":
            converted = raw
            if self.empty is not None and may_contain(raw, self.empty.encode()):
                is_empty = pc.fill_null(pc.equal(raw, self.empty), False)
                if pc.any(is_empty).as_py():
                    converted = pc.if_else(is_empty, "", raw)
        else:
            converted = raw if pa.types.is_list(raw.type) else split_list(raw, self.set_separator, self.empty)
        return unescape_zeek(converted) if self.unescape else converted


def convert_columns(
    table: pa.Table,
    kinds: Mapping[str, str],
    problems: Problems,
    source: str,
    *,
    set_separator: str = ",",
    empty: str | None = None,
    unescape: bool = False,
    defer: Collection[str] = (),
) -> tuple[pa.Table, dict[str, TextConversion]]:
    """Text columns to their kinds; a bad value becomes null and is reported with its line.

    The ``str`` and ``strlist`` columns named in ``defer`` are left as read and returned with their
    conversions, for ``RecordBatch.lazy``."""
    lines = table.column(LINE_COLUMN).to_numpy()
    columns: dict[str, pa.Array] = {}
    lazy: dict[str, TextConversion] = {}
    for name in table.column_names:
        if name in (LINE_COLUMN, TIME_COLUMN) or name not in kinds:
            columns[name] = _array(table.column(name))
            continue
        kind = kinds[name]
        raw = _array(table.column(name))
        converted: pa.Array
        if kind in ("str", "strlist"):
            text = TextConversion(kind, set_separator, empty, unescape)
            if name in defer:
                lazy[name] = text
                converted = raw
            else:
                converted = text(raw)
        else:
            if kind != "time" and pa.types.is_binary(raw.type):
                raw = to_string(raw)
            if kind == "int":
                converted, bad = to_int(raw)
            elif kind == "float":
                converted, bad = to_float(raw)
            elif kind == "bool":
                converted, bad = to_bool(raw)
            else:
                converted, bad = to_time_us(raw)
                converted = converted.cast(pa.timestamp("us", "UTC"))
            if len(bad):
                _report_rows(problems, source, lines, bad, name, raw, kind)
        columns[name] = converted
    return pa.table(columns), lazy


def with_time(table: pa.Table, column: str, problems: Problems, source: str) -> pa.Table:
    raw = _array(table.column(column))
    micros, _ = to_time_us(raw)
    missing = rows_where(pc.is_null(micros))
    table = table.drop_columns([column])
    table = table.add_column(1 if LINE_COLUMN in table.column_names else 0, TIME_COLUMN, micros)
    if len(missing):
        lines = table.column(LINE_COLUMN).to_numpy()
        for row, value in zip(missing, take_values(raw, missing), strict=True):
            shown = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
            problems.add(source, int(lines[row]), f"{column}: no readable time ({shown!r})")
        keep = np.ones(table.num_rows, dtype=bool)
        keep[missing] = False
        table = table.filter(pa.array(keep))
    return table
