"""Shared types of the log readers: record batches, problems, object paths and the object graph.

A record is one log line (or one STIX observed-data) seen as one observation. A reader yields
:class:`RecordBatch` objects: a typed ``pyarrow.Table`` of the columns the engine needs plus, per
STIX object path, the columns that hold the values found at that path, so equality, CIDR and
substring tests can run on whole columns; only candidate rows are turned into observed-data dicts
(:meth:`RecordBatch.observed`) for the exact check (STIX 2.1 §9 patterning semantics, with
stix2-matcher as the oracle).
"""

from __future__ import annotations

import bisect
import re
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from ribat.hunt.patterns import KEYWORDS

__all__ = [
    "FILE_COLUMN",
    "LINE_COLUMN",
    "TIME_COLUMN",
    "LogRange",
    "ObjectBuilder",
    "ObjectGraph",
    "Problem",
    "Problems",
    "RecordBatch",
    "format_path",
    "format_timestamp",
    "parse_path",
]

TIME_COLUMN = "_time_us"
"""Row time, int64 microseconds since the Unix epoch (UTC)."""
LINE_COLUMN = "_line"
"""1-based line number of the record in its file."""
FILE_COLUMN = "_file"
"""The file the record was read from (dictionary-encoded)."""
LAST_COLUMN = "_last_us"
"""``last_observed`` in microseconds, present only where it differs from the row time (STIX input)."""
COUNT_COLUMN = "_count"
"""``number_observed``, present only where it may differ from 1 (STIX input)."""
OBSERVED_COLUMN = "_observed"
"""The observed-data as JSON text, present only for STIX input."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def format_timestamp(value: int | datetime) -> str:
    """A STIX timestamp (RFC 3339, UTC, ``Z``, a four-digit year) from microseconds since the epoch or a datetime."""
    if isinstance(value, datetime):
        m = value.astimezone(UTC)
        fields = (m.year, m.month, m.day, m.hour, m.minute, m.second)
        micros = m.microsecond
    else:
        seconds, micros = divmod(int(value), 1_000_000)
        if _SECONDS_0001 <= seconds < _SECONDS_10000:  # what ``time.gmtime`` and four-digit years can say
            fields = time.gmtime(seconds)[:6]
        else:
            m = _EPOCH + timedelta(microseconds=int(value))  # OverflowError outside years 1 to 9999
            fields = (m.year, m.month, m.day, m.hour, m.minute, m.second)
    year, month, day, hour, minute, second = fields
    text = f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}"
    return f"{text}.{micros:06d}Z" if micros else f"{text}Z"


_SECONDS_0001 = int((datetime(1, 1, 1, tzinfo=UTC) - _EPOCH).total_seconds())
_SECONDS_10000 = int((datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC) - _EPOCH).total_seconds()) + 1


# -- object paths --------------------------------------------------------------------------------

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _bare(name: str) -> bool:
    return bool(_IDENT.match(name)) and name not in KEYWORDS


_TYPE = re.compile(r"(?:x-)?[a-z0-9][a-z0-9-]*[a-z0-9]\Z")
Step = str | int


def _quote(name: str) -> str:
    return "'" + name.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _step_text(step: Step) -> str:
    if isinstance(step, int):
        return f"[{step}]"
    if step == "*":
        return "[*]"
    return f".{step}" if _bare(step) else f".{_quote(step)}"


def format_path(object_type: str, steps: Sequence[Step]) -> str:
    """The canonical text of an object path (STIX 2.1 §9.3), as used as a key of ``RecordBatch.paths``.

    ``steps`` are property names (``str``), list indexes (``int``) or ``"*"`` for any index. A
    property name is quoted only when it is not a plain identifier (or is a pattern keyword), as
    ``ribat.hunt.patterns.ObjectPath`` writes it: ``file:hashes.'SHA-256'``,
    ``file:hashes.MD5``, ``network-traffic:extensions.'http-request-ext'.request_method``.
    """
    if not steps or not isinstance(steps[0], str) or steps[0] == "*":
        raise ValueError("an object path starts with a property name")
    first = steps[0]
    head = first if _bare(first) else _quote(first)
    return f"{object_type}:{head}{''.join(_step_text(s) for s in steps[1:])}"


def parse_path(text: str) -> tuple[str, tuple[Step, ...]]:
    """Split an object path into its object type and steps; raises ``ValueError`` when malformed.

    Accepts quoted or bare property names (``hashes.'MD5'`` and ``hashes.MD5`` are the same path).
    """
    object_type, sep, rest = text.strip().partition(":")
    if not sep or not _TYPE.match(object_type):
        raise ValueError(f"not an object path (expected type:property): {text!r}")
    steps: list[Step] = []
    i = 0
    expect_name = True
    while i < len(rest):
        ch = rest[i]
        if ch == "[":
            end = rest.find("]", i)
            if end < 0:
                raise ValueError(f"unclosed '[' in {text!r}")
            index = rest[i + 1 : end].strip()
            if index == "*":
                steps.append("*")
            elif index.lstrip("-").isdigit():
                steps.append(int(index))
            else:
                raise ValueError(f"bad list index {index!r} in {text!r}")
            i = end + 1
            expect_name = False
            continue
        if ch == ".":
            if expect_name:
                raise ValueError(f"empty property name in {text!r}")
            i += 1
        elif not expect_name:
            raise ValueError(f"unexpected {ch!r} in {text!r}")
        if i < len(rest) and rest[i] == "'":
            j = i + 1
            name_chars: list[str] = []
            while j < len(rest) and rest[j] != "'":
                if rest[j] == "\\" and j + 1 < len(rest):
                    j += 1
                name_chars.append(rest[j])
                j += 1
            if j >= len(rest):
                raise ValueError(f"unclosed quote in {text!r}")
            steps.append("".join(name_chars))
            i = j + 1
        else:
            m = re.match(r"[A-Za-z0-9_-]+", rest[i:])
            if not m:
                raise ValueError(f"empty property name in {text!r}")
            steps.append(m.group(0))
            i += m.end()
        expect_name = False
    if not steps or not isinstance(steps[0], str) or steps[0] == "*":
        raise ValueError(f"not an object path (expected type:property): {text!r}")
    return object_type, tuple(steps)


# -- byte ranges ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogRange:
    """The lines of an uncompressed text log that start in the bytes ``[start, end)``: a block of a big file.

    ``start`` is 0 or just after a newline; ``first_line`` is the (1-based) number of the line that starts
    there, so every ``_line`` and problem line is the line number in the whole file. A line that starts
    before ``end`` is read to its end, so ranges cut anywhere after ``start`` still share the lines out
    exactly once. Header lines (Zeek's ``#`` header, a CSV header row) are taken from the start of the file,
    whichever range is read; a problem of the whole file is reported by the range that starts at 0.
    """

    path: str
    start: int
    end: int
    first_line: int = 1


# -- problems ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """A line (or a whole file, ``line`` None) that could not be read as it is."""

    file: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}" if self.line is not None else f"{self.file}: {self.reason}"


class Problems:
    """A sink for problems: counts all of them and keeps the first ``keep`` (memory stays bounded).

    "First" is in reading order: by file (in the order files first report a problem), then by line (a problem
    of a whole file first), then as reported. So the problems kept do not depend on how a file was cut into
    batches or blocks, nor on the order blocks were read in, as long as blocks of different files are not
    interleaved (see :meth:`absorb`).
    """

    def __init__(self, keep: int = 1000) -> None:
        self.keep = keep
        self.count = 0
        self.items: list[Problem] = []
        self.by_file: Counter[str] = Counter()
        self._rank: dict[str, int] = {}

    def _order(self, problem: Problem) -> tuple[int, int]:
        return (self._rank[problem.file], -1 if problem.line is None else problem.line)

    def add(self, file: str, line: int | None, reason: str) -> None:
        self.count += 1
        self.by_file[file] += 1
        self._rank.setdefault(file, len(self._rank))
        self._keep(Problem(file, line, reason))

    def _keep(self, problem: Problem) -> None:
        kept = self.items
        key = self._order(problem)
        if not kept or key >= self._order(kept[-1]):
            if len(kept) < self.keep:
                kept.append(problem)
            return
        kept.insert(bisect.bisect_right(kept, key, key=self._order), problem)
        del kept[self.keep :]

    def absorb(self, other: Problems) -> None:
        """Fold in the problems another sink gathered after this one's (a later block or file of the same read):
        the count, the count per file and the kept problems are then those of one sink given both in turn (when
        ``other`` keeps at least as many)."""
        for file in sorted(other._rank, key=other._rank.__getitem__):
            self._rank.setdefault(file, len(self._rank))
        for problem in other.items:
            self._keep(problem)
        self.count += other.count
        self.by_file.update(other.by_file)

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[Problem]:
        return iter(self.items)

    def __repr__(self) -> str:
        return f"Problems(count={self.count}, kept={len(self.items)})"


# -- the object graph of one observation --------------------------------------------------------


class ObjectGraph:
    """The ``objects`` map of one STIX 2.0-style observed-data, keyed ``"0"``, ``"1"``, …

    Addresses and domain names are de-duplicated, so a value seen twice in a line is one object
    that several references point to.
    """

    __slots__ = ("_seen", "objects")

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self._seen: dict[tuple[str, str], str] = {}

    def add(self, obj: dict[str, Any]) -> str:
        key = str(len(self.objects))
        self.objects[key] = obj
        return key

    def unique(self, object_type: str, value: str) -> str:
        key = self._seen.get((object_type, value))
        if key is None:
            key = self.add({"type": object_type, "value": value})
            self._seen[(object_type, value)] = key
        return key

    def address(self, value: Any) -> str | None:
        """An ``ipv4-addr`` or ``ipv6-addr`` (by the presence of ``:``) for a non-empty address."""
        if not isinstance(value, str) or not value:
            return None
        return self.unique("ipv6-addr" if ":" in value else "ipv4-addr", value)

    def domain(self, value: Any) -> str | None:
        if not isinstance(value, str) or not value:
            return None
        return self.unique("domain-name", value)

    def resolved(self, value: Any) -> str | None:
        """A DNS answer as an object: an address, a domain name (CNAME, PTR…), or None (TXT…)."""
        if not isinstance(value, str) or not value:
            return None
        if _IPV4.match(value) or (":" in value and _IPV6.match(value)):
            return self.address(value)
        if _HOSTNAME.match(value):
            return self.domain(value)
        return None

    def link(self, key: str, prop: str, target: str | None) -> None:
        """Append ``target`` to the ``prop`` list of references of object ``key`` (once)."""
        if target is None or target == key:
            return
        refs = self.objects[key].setdefault(prop, [])
        if target not in refs:
            refs.append(target)


_IPV4 = re.compile(r"(?:\d{1,3}\.){3}\d{1,3}\Z")
_IPV6 = re.compile(r"[0-9A-Fa-f:.]+(?:%[0-9A-Za-z_.-]+)?\Z")
_HOSTNAME = re.compile(r"[A-Za-z0-9_*](?:[A-Za-z0-9_.-]*[A-Za-z0-9_.])?\Z")


# -- record batches ------------------------------------------------------------------------------


class Conversion(Protocol):
    """A deferred conversion of a column held as read (``RecordBatch.lazy``). ``elementwise`` says whether each
    value converts on its own, so that converting a column's distinct values converts the column."""

    @property
    def elementwise(self) -> bool: ...

    def __call__(self, values: pa.Array) -> pa.Array: ...


class ObjectBuilder(Protocol):
    """Builds the observed objects of one row (a dict of the table's columns)."""

    def __call__(self, row: Mapping[str, Any]) -> dict[str, dict[str, Any]]: ...


def _no_objects(row: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {}


@dataclass(frozen=True)
class RecordBatch:
    """A batch of records read from one file, columnar.

    ``table`` has the columns ``_time_us`` (int64 µs since the epoch, UTC), ``_line`` (1-based line
    number) and ``_file``, then the typed source columns the readers keep, then derived columns
    (names starting with ``_``). ``paths`` maps canonical STIX object paths (:func:`format_path`)
    to the columns that hold the values at that path: for every row, every value that
    :meth:`observed` puts at that path is the value (or an element, for list columns) of one of
    those columns at that row, with the same type (the columns may hold more than that). A path
    that is not a key may still have values in :meth:`observed` and must then be checked on the
    observed-data. ``object_types`` lists the object types :meth:`observed` can produce.

    ``lazy`` maps columns still held as read (raw text) to the conversion that gives their values. A reader
    defers the conversions that can report nothing (text that is only decoded and unescaped), so that a column
    nobody looks up is converted for the few rows turned into observed-data, not for all. Read a column's
    values with :meth:`column`, never from ``table`` directly.
    """

    table: pa.Table
    log_type: str
    paths: Mapping[str, tuple[str, ...]]
    source: str
    object_types: frozenset[str] = frozenset()
    builder: ObjectBuilder = field(default=_no_objects, repr=False, compare=False)
    lazy: Mapping[str, Conversion] = field(default_factory=dict, repr=False, compare=False)
    _converted: dict[str, pa.Array] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def num_rows(self) -> int:
        return int(self.table.num_rows)

    def __len__(self) -> int:
        return self.num_rows

    def column(self, name: str) -> pa.Array | pa.ChunkedArray:
        """The values of a column (converted, for a ``lazy`` one; once per batch)."""
        convert = self.lazy.get(name)
        if convert is None:
            return self.table.column(name)
        done = self._converted.get(name)
        if done is None:
            done = self._converted[name] = convert(self.table.column(name).combine_chunks())
        return done

    def encoded(self, name: str) -> pa.DictionaryArray:
        """A text column dictionary-encoded (a null is a value of the dictionary too).

        A column still held as read is encoded as read, and only its distinct values are converted, when its
        conversion works value by value (``elementwise``): the dictionary may then hold one value twice (two
        spellings of it as read, such as an escaped and a plain one), which a look-up by code does not mind."""
        convert = self.lazy.get(name)
        if convert is None or not convert.elementwise or name in self._converted:
            values = self.column(name)
            return pc.dictionary_encode(
                values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values, null_encoding="encode"
            )
        raw = pc.dictionary_encode(self.table.column(name).combine_chunks(), null_encoding="encode")
        return pa.DictionaryArray.from_arrays(raw.indices, convert(raw.dictionary))

    def with_table(self, table: pa.Table) -> RecordBatch:
        """The same batch over other rows of its table (a filter or a slice of it)."""
        return RecordBatch(table, self.log_type, self.paths, self.source, self.object_types, self.builder, self.lazy)

    def observed(self, row_index: int) -> dict[str, Any]:
        """The observed-data dict of one row, as stix2-matcher takes it (STIX 2.0-style ``objects``)."""
        return self.observed_rows([row_index])[0]

    def observed_rows(self, indexes: Sequence[int] | np.ndarray | pa.Array) -> list[dict[str, Any]]:
        """The observed-data dicts of many rows (one ``take`` and one conversion for all)."""
        taken = self.table.take(indexes)
        for name, convert in self.lazy.items():
            where = taken.schema.get_field_index(name)
            if where >= 0:
                taken = taken.set_column(where, name, convert(taken.column(name).combine_chunks()))
        return [self._observation(row) for row in taken.to_pylist()]

    def lines(self, indexes: Sequence[int] | np.ndarray | pa.Array) -> list[int]:
        return [int(v) for v in self.table.column(LINE_COLUMN).take(indexes).to_pylist()]

    def _observation(self, row: Mapping[str, Any]) -> dict[str, Any]:
        stored = row.get(OBSERVED_COLUMN)
        if stored is not None:
            loaded: dict[str, Any] = orjson.loads(stored)
            return loaded
        first = format_timestamp(row[TIME_COLUMN])
        last_us = row.get(LAST_COLUMN)
        return {
            "type": "observed-data",
            "first_observed": first,
            "last_observed": first if last_us is None else format_timestamp(last_us),
            "number_observed": int(row.get(COUNT_COLUMN) or 1),
            "objects": self.builder(row),
        }


def paths_present(paths: Mapping[str, tuple[str, ...]], table: pa.Table) -> dict[str, tuple[str, ...]]:
    """Keep, per path, only the columns that exist in ``table``; drop paths left with none."""
    names = set(table.column_names)
    kept: dict[str, tuple[str, ...]] = {}
    for path, columns in paths.items():
        present = tuple(c for c in columns if c in names)
        if present:
            kept[path] = present
    return kept
