"""STIX observed-data (bundles, or one object or bundle per line) to record batches.

Each observed-data is one record with its own ``first_observed``, ``last_observed`` and
``number_observed`` (STIX 2.1 §4.13). STIX 2.0 observed-data carry their objects inline;
STIX 2.1 observed-data list ``object_refs`` to objects elsewhere in the file, which are
embedded (with the objects they refer to) so every record has the STIX 2.0 form that
stix2-matcher takes, references rewritten to the embedded keys.

A bundle is read object by object (the file is never loaded whole), but the non-observed-data
objects of a file are kept until its end, since a STIX 2.1 observed-data may refer to objects
that come after it; an observed-data whose references are still missing then is reported and
kept with the objects that were found. A malformed object inside a bundle ends the reading of
that file (JSON cannot be resynchronised there); in one-object-per-line files, only the bad line
is lost.
"""

from __future__ import annotations

import codecs
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any, BinaryIO

import orjson
import pyarrow as pa

from ribat.hunt.readers import _convert
from ribat.hunt.readers._io import line_chunks, open_binary
from ribat.hunt.readers.base import (
    COUNT_COLUMN,
    FILE_COLUMN,
    LAST_COLUMN,
    LINE_COLUMN,
    OBSERVED_COLUMN,
    TIME_COLUMN,
    Problems,
    RecordBatch,
)

__all__ = ["EXTRACTED", "read_stix"]

_HASHES = ("MD5", "SHA-1", "SHA-256", "SHA-512")
EXTRACTED: tuple[tuple[str, str, tuple[str, ...], type], ...] = (
    ("ipv4-addr:value", "ipv4-addr", ("value",), str),
    ("ipv6-addr:value", "ipv6-addr", ("value",), str),
    ("domain-name:value", "domain-name", ("value",), str),
    ("url:value", "url", ("value",), str),
    ("email-addr:value", "email-addr", ("value",), str),
    ("mac-addr:value", "mac-addr", ("value",), str),
    ("file:name", "file", ("name",), str),
    ("file:hashes.MD5", "file", ("hashes", "MD5"), str),
    ("file:hashes.'SHA-1'", "file", ("hashes", "SHA-1"), str),
    ("file:hashes.'SHA-256'", "file", ("hashes", "SHA-256"), str),
    ("file:hashes.'SHA-512'", "file", ("hashes", "SHA-512"), str),
    ("x509-certificate:hashes.MD5", "x509-certificate", ("hashes", "MD5"), str),
    ("x509-certificate:hashes.'SHA-1'", "x509-certificate", ("hashes", "SHA-1"), str),
    ("x509-certificate:hashes.'SHA-256'", "x509-certificate", ("hashes", "SHA-256"), str),
    ("x509-certificate:serial_number", "x509-certificate", ("serial_number",), str),
    ("x509-certificate:subject", "x509-certificate", ("subject",), str),
    ("x509-certificate:issuer", "x509-certificate", ("issuer",), str),
    ("network-traffic:src_port", "network-traffic", ("src_port",), int),
    ("network-traffic:dst_port", "network-traffic", ("dst_port",), int),
    ("network-traffic:src_ref.value", "network-traffic", ("src_ref", "value"), str),
    ("network-traffic:dst_ref.value", "network-traffic", ("dst_ref", "value"), str),
    ("domain-name:resolves_to_refs[*].value", "domain-name", ("resolves_to_refs", "*", "value"), str),
    ("autonomous-system:number", "autonomous-system", ("number",), int),
    ("mutex:name", "mutex", ("name",), str),
    ("software:name", "software", ("name",), str),
    ("windows-registry-key:key", "windows-registry-key", ("key",), str),
    ("directory:path", "directory", ("path",), str),
)
"""(path, object type, steps, value type) of the object paths given columns for STIX input."""

_ID = re.compile(r"[a-z0-9][a-z0-9-]*--[0-9a-fA-F-]{36}\Z")
_DROPPED = ("id", "spec_version")


def _values(objects: Mapping[str, Any], obj: Mapping[str, Any], steps: tuple[str, ...]) -> list[Any]:
    current: list[Any] = [obj]
    for i, step in enumerate(steps):
        following: list[Any] = []
        for value in current:
            if step == "*":
                if isinstance(value, list):
                    following.extend(value)
                continue
            if not isinstance(value, Mapping):
                continue
            item = value.get(step)
            if item is None:
                continue
            if step.endswith("_ref") and isinstance(item, str):
                item = objects.get(item)
            elif step.endswith("_refs") and isinstance(item, list) and i + 1 < len(steps) and steps[i + 1] == "*":
                item = [objects.get(ref) for ref in item if isinstance(ref, str)]
            if item is not None:
                following.append(item)
        current = following
    return current


def _refs(value: Any) -> Iterator[str]:
    """Every ``*_ref``/``*_refs`` target inside an object (extensions included)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key.endswith("_ref") and isinstance(item, str):
                yield item
            elif key.endswith("_refs") and isinstance(item, list):
                yield from (ref for ref in item if isinstance(ref, str))
            elif isinstance(item, dict | list):
                yield from _refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)


def _rewrite(value: Any, keys: Mapping[str, str]) -> Any:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key.endswith("_ref") and isinstance(item, str):
                out[key] = keys.get(item, item)
            elif key.endswith("_refs") and isinstance(item, list):
                out[key] = [keys.get(ref, ref) if isinstance(ref, str) else ref for ref in item]
            else:
                out[key] = _rewrite(item, keys)
        return out
    if isinstance(value, list):
        return [_rewrite(item, keys) for item in value]
    return value


def _embed(object_refs: list[Any], index: Mapping[str, dict[str, Any]]) -> tuple[dict[str, Any], list[str]]:
    """STIX 2.1 ``object_refs`` (and what they refer to) as a STIX 2.0 ``objects`` map."""
    keys: dict[str, str] = {}
    order: list[str] = []
    missing: list[str] = []
    queue = [ref for ref in object_refs if isinstance(ref, str)]
    while queue:
        ref = queue.pop(0)
        if ref in keys or ref in missing:
            continue
        obj = index.get(ref)
        if obj is None:
            if ref in object_refs:
                missing.append(ref)
            continue
        keys[ref] = str(len(order))
        order.append(ref)
        queue.extend(r for r in _refs(obj) if _ID.match(r) and r not in keys)
    objects = {keys[ref]: {k: v for k, v in _rewrite(index[ref], keys).items() if k not in _DROPPED} for ref in order}
    return objects, missing


class _Records:
    """Rows of observed-data, turned into record batches every ``batch_rows``."""

    def __init__(self, source: str, problems: Problems, batch_rows: int) -> None:
        self.source = source
        self.problems = problems
        self.batch_rows = batch_rows
        self._clear()

    def _clear(self) -> None:
        self.rows: dict[str, list[Any]] = {
            name: [] for name in (LINE_COLUMN, TIME_COLUMN, LAST_COLUMN, COUNT_COLUMN, "id", OBSERVED_COLUMN)
        }
        self.values: dict[str, list[list[Any]]] = {path: [] for path, *_ in EXTRACTED}
        self.mistyped: set[str] = set()
        self.types: set[str] = set()

    def add(self, line: int, observed: dict[str, Any]) -> Iterator[RecordBatch]:
        first, last = observed.get("first_observed"), observed.get("last_observed")
        try:
            first_us = _convert._time_of(first)
            last_us = _convert._time_of(last if last is not None else first)
        except (ValueError, TypeError, OverflowError):
            self.problems.add(self.source, line, f"observed-data {observed.get('id')}: no readable first/last_observed")
            return
        count = observed.get("number_observed", 1)
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            self.problems.add(self.source, line, f"observed-data {observed.get('id')}: bad number_observed {count!r}")
            return
        objects = observed.get("objects") or {}
        record = {
            "type": "observed-data",
            **({"id": observed["id"]} if isinstance(observed.get("id"), str) else {}),
            "first_observed": first,
            "last_observed": last if last is not None else first,
            "number_observed": count,
            "objects": objects,
        }
        for name, value in (
            (LINE_COLUMN, line),
            (TIME_COLUMN, first_us),
            (LAST_COLUMN, last_us),
            (COUNT_COLUMN, count),
            ("id", record.get("id")),
            (OBSERVED_COLUMN, orjson.dumps(record).decode()),
        ):
            self.rows[name].append(value)
        self.types.update(
            o["type"] for o in objects.values() if isinstance(o, Mapping) and isinstance(o.get("type"), str)
        )
        for path, object_type, steps, kind in EXTRACTED:
            found: list[Any] = []
            for obj in objects.values():
                if isinstance(obj, Mapping) and obj.get("type") == object_type:
                    for value in _values(objects, obj, steps):
                        if isinstance(value, kind) and not isinstance(value, bool):
                            found.append(value)
                        elif value is not None:
                            self.mistyped.add(path)
            self.values[path].append(found)
        if len(self.rows[LINE_COLUMN]) >= self.batch_rows:
            yield self.flush()

    def flush(self) -> RecordBatch:
        columns: dict[str, pa.Array] = {
            TIME_COLUMN: pa.array(self.rows[TIME_COLUMN], pa.int64()),
            LINE_COLUMN: pa.array(self.rows[LINE_COLUMN], pa.int64()),
        }
        n = len(self.rows[LINE_COLUMN])
        columns[FILE_COLUMN] = pa.DictionaryArray.from_arrays(pa.array([0] * n, pa.int32()), pa.array([self.source]))
        columns[LAST_COLUMN] = pa.array(self.rows[LAST_COLUMN], pa.int64())
        columns[COUNT_COLUMN] = pa.array(self.rows[COUNT_COLUMN], pa.int64())
        columns["id"] = pa.array(self.rows["id"], pa.string())
        columns[OBSERVED_COLUMN] = pa.array(self.rows[OBSERVED_COLUMN], pa.string())
        paths: dict[str, tuple[str, ...]] = {}
        for path, _type, _steps, kind in EXTRACTED:
            values = self.values[path]
            columns[path] = pa.array(values, pa.list_(pa.int64() if kind is int else pa.string()))
            if path not in self.mistyped:
                paths[path] = (path,)
        batch = RecordBatch(
            table=pa.table(columns),
            log_type="stix",
            paths=paths,
            source=self.source,
            object_types=frozenset(self.types),
        )
        self._clear()
        return batch


# -- reading objects -------------------------------------------------------------------------------


def _objects_of_lines(stream: BinaryIO, report: Callable[[int, str], None]) -> Iterator[tuple[int, dict[str, Any]]]:
    for chunk in line_chunks(stream):
        for offset, raw in enumerate(bytes(chunk.data).split(b"\n")[: chunk.lines]):
            line = chunk.first_line + offset
            if not raw.strip():
                continue
            try:
                value = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                report(line, f"not valid JSON: {exc}")
                continue
            if not isinstance(value, dict):
                report(line, "not a STIX object")
                continue
            if value.get("type") == "bundle":
                inner = [obj for obj in value.get("objects") or () if isinstance(obj, dict)]
                # the objects observed-data refer to first, so a one-line bundle resolves in place
                inner.sort(key=lambda obj: obj.get("type") == "observed-data")
                for obj in inner:
                    yield line, obj
            else:
                yield line, value


class _Document:
    """Top-level values of one JSON document read from a stream piece by piece."""

    def __init__(self, stream: BinaryIO, piece: int = 1 << 20) -> None:
        self.stream = stream
        self.piece = piece
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.json = json.JSONDecoder()
        self.buf = ""
        self.pos = 0
        self.line = 1
        self.mark = 0
        self.eof = False

    def _fill(self) -> bool:
        if self.eof:
            return False
        block = self.stream.read(self.piece)
        if not block:
            self.eof = True
            self.buf += self.decoder.decode(b"", final=True)
            return False
        if self.pos > self.piece:
            self.here()
            self.buf = self.buf[self.pos :]
            self.pos = self.mark = 0
        self.buf += self.decoder.decode(bytes(block))
        return True

    def peek(self) -> str:
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in " \t\r\n":
                self.pos += 1
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._fill():
                return ""

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise ValueError(f"expected {char!r}")
        self.pos += 1

    def here(self) -> int:
        """The line of the current position (positions only move forward)."""
        self.line += self.buf.count("\n", self.mark, self.pos)
        self.mark = self.pos
        return self.line

    def value(self) -> Any:
        self.peek()
        while True:
            try:
                value, end = self.json.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError:
                if self._fill():
                    continue
                raise
            if end >= len(self.buf) and not isinstance(value, dict | list | str) and self._fill():
                continue
            self.pos = end
            return value


def _objects_of_bundle(stream: BinaryIO, report: Callable[[int, str], None]) -> Iterator[tuple[int, dict[str, Any]]]:
    doc = _Document(stream)
    try:
        doc.expect("{")
        while doc.peek() not in ("}", ""):
            key = doc.value()
            doc.expect(":")
            if key == "objects" and doc.peek() == "[":
                doc.expect("[")
                while doc.peek() not in ("]", ""):
                    line = doc.here()
                    obj = doc.value()
                    if isinstance(obj, dict):
                        yield line, obj
                    else:
                        report(line, "not a STIX object")
                    if doc.peek() == ",":
                        doc.pos += 1
                doc.expect("]")
            else:
                doc.value()
            if doc.peek() == ",":
                doc.pos += 1
    except (ValueError, json.JSONDecodeError) as exc:
        report(doc.here(), f"the bundle is not valid JSON from here ({exc}); the rest of the file is not read")


def read_stix(
    path: str | os.PathLike[str], source: str, problems: Problems, *, batch_rows: int, one_per_line: bool
) -> Iterator[RecordBatch]:
    def report(line: int, reason: str) -> None:
        problems.add(source, line, reason)

    records = _Records(source, problems, batch_rows)
    index: dict[str, dict[str, Any]] = {}
    waiting: list[tuple[int, dict[str, Any]]] = []
    with open_binary(path) as stream:
        objects = _objects_of_lines(stream, report) if one_per_line else _objects_of_bundle(stream, report)
        for line, obj in objects:
            if obj.get("type") != "observed-data":
                if isinstance(obj.get("id"), str):
                    index[obj["id"]] = obj
                continue
            if isinstance(obj.get("objects"), dict):
                yield from records.add(line, obj)
                continue
            refs = obj.get("object_refs")
            if not isinstance(refs, list) or not refs:
                report(line, f"observed-data {obj.get('id')}: neither objects nor object_refs")
                continue
            if all(ref in index for ref in refs):
                embedded, _ = _embed(refs, index)
                yield from records.add(line, {**obj, "objects": embedded})
            else:
                waiting.append((line, obj))
    for line, obj in waiting:
        embedded, missing = _embed(obj["object_refs"], index)
        if missing:
            report(line, f"observed-data {obj.get('id')}: object_refs not in the file: {', '.join(missing)}")
        if embedded:
            yield from records.add(line, {**obj, "objects": embedded})
    if records.rows[LINE_COLUMN]:
        yield records.flush()
