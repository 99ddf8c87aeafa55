"""Log readers: files → columnar record batches → STIX observed-data (see ``docs/hunt-logs.md``).

``open_logs(paths)`` detects each file's format from its content (compression by magic bytes,
never by name): Zeek TSV by its ``#separator``/``#fields`` header, Zeek JSON by ``ts`` with
``uid`` or ``id.orig_h``, Suricata EVE by ``event_type``, STIX by a bundle or observed-data;
other JSON lines and CSV need a ``mapping`` ``{object path: field}``. Files are streamed in
batches of ``batch_rows`` rows, so memory does not grow with the size of a file. Malformed lines
go to ``problems`` with their file and line; the lines around them are kept.

A :class:`LogRange` in place of a path reads only the lines that start in a byte range of an
uncompressed file (a block of a big log, for a hunt spread over workers), with the same records,
line numbers and problems as the whole file gives for those lines; :func:`split_log` cuts a file
into such ranges.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ribat.errors import ValidationError
from ribat.hunt.readers import _io
from ribat.hunt.readers.base import (
    FILE_COLUMN,
    LINE_COLUMN,
    TIME_COLUMN,
    LogRange,
    ObjectGraph,
    Problem,
    Problems,
    RecordBatch,
    format_path,
    format_timestamp,
    parse_path,
)
from ribat.hunt.readers.csvmap import check_fields, parse_csv_header, read_csv
from ribat.hunt.readers.jsonl import read_jsonl, resolve_time_field
from ribat.hunt.readers.mapping import SUPPORTED, FieldMapping, parse_mapping
from ribat.hunt.readers.stix import read_stix
from ribat.hunt.readers.suricata import read_eve
from ribat.hunt.readers.zeek import first_json_object, parse_header, read_zeek_json, read_zeek_tsv

__all__ = [
    "FILE_COLUMN",
    "KINDS",
    "LINE_COLUMN",
    "SUPPORTED",
    "TIME_COLUMN",
    "Detected",
    "FieldMapping",
    "Kind",
    "LogRange",
    "ObjectGraph",
    "Problem",
    "Problems",
    "RecordBatch",
    "detect",
    "format_path",
    "format_timestamp",
    "open_logs",
    "parse_mapping",
    "parse_path",
    "split_log",
]

log = logging.getLogger(__name__)

Kind = Literal["zeek", "zeek-json", "suricata", "stix", "jsonl", "csv"]
KINDS: tuple[str, ...] = ("zeek", "zeek-json", "suricata", "stix", "jsonl", "csv")
_BUNDLE = re.compile(rb'"type"\s*:\s*"bundle"')
_STIX_ID = re.compile(r"[a-z0-9][a-z0-9-]*--[0-9a-fA-F-]{36}\Z")


@dataclass(frozen=True)
class Detected:
    """What a file holds. ``kind`` is None for an empty file."""

    kind: str | None
    compression: str | None
    one_per_line: bool = True


def _is_stix(obj: Mapping[str, Any]) -> bool:
    kind = obj.get("type")
    if kind in ("bundle", "observed-data"):
        return True
    ident = obj.get("id")
    return isinstance(kind, str) and isinstance(ident, str) and bool(_STIX_ID.match(ident)) and ident.startswith(kind)


def detect(path: str | os.PathLike[str], head: bytes | None = None) -> Detected:
    """The format of a log file, from its first bytes (decompressed)."""
    compression = _io.compression_of(path)
    data = _io.head(path) if head is None else head
    text = data.lstrip(b"\xef\xbb\xbf").lstrip()
    if not text:
        return Detected(None, compression)
    if text.startswith(b"#") and parse_header(text) is not None:
        return Detected("zeek", compression)
    if text.startswith((b"{", b"[")):
        first = first_json_object(text)
        if first is None:
            if _BUNDLE.search(text):
                return Detected("stix", compression, one_per_line=False)
            return Detected("jsonl", compression)
        if _is_stix(first):
            return Detected("stix", compression)
        if "event_type" in first and ("timestamp" in first or "src_ip" in first):
            return Detected("suricata", compression)
        if "ts" in first and ("uid" in first or "id.orig_h" in first or "_path" in first):
            return Detected("zeek-json", compression)
        return Detected("jsonl", compression)
    return Detected("csv", compression)


def _chunk_bytes(head: bytes, batch_rows: int) -> int:
    lines = max(1, head.count(b"\n"))
    average = max(16, len(head) // lines)
    return int(min(4 << 20, max(1 << 20, batch_rows * average * 1.1)))


@dataclass(frozen=True)
class _Plan:
    path: str
    source: str
    kind: str
    head: bytes
    one_per_line: bool
    mapping: FieldMapping | None
    extra: Any = None
    part: LogRange | None = None


def _plan(target: str | LogRange, kind: str | None, mapping: FieldMapping | None) -> _Plan | None:
    part = target if isinstance(target, LogRange) else None
    path = target.path if isinstance(target, LogRange) else target
    source = os.fspath(path)
    try:
        head = _io.head(path)
    except OSError as exc:
        raise ValidationError("paths", f"{source}: cannot read ({exc})") from None
    found = detect(path, head)
    if found.kind is None:
        return None
    chosen = found.kind if kind is None else kind
    if chosen == "zeek" and found.kind == "zeek-json":
        chosen = "zeek-json"
    if part is not None:
        _check_range(part, found, chosen)
    if chosen == "zeek" and parse_header(head.lstrip()) is None:
        raise ValidationError("kind", f"{source}: not a Zeek TSV log (no #fields header)")
    if chosen in ("zeek-json", "suricata", "jsonl") and first_json_object(head) is None:
        raise ValidationError("kind", f"{source}: not JSON lines (the first line is not a JSON object)")
    if chosen in ("jsonl", "csv"):
        if mapping is None:
            raise ValidationError(
                "mapping",
                f"{source}: {chosen} needs a mapping of STIX object paths to fields, e.g. "
                "{'ipv4-addr:value': 'src_ip', 'domain-name:value': 'query'}",
            )
        if chosen == "jsonl":
            first = first_json_object(head) or {}
            mapping = resolve_time_field(mapping, first, source)
            return _Plan(source, source, chosen, head, True, mapping, first, part)
        header = parse_csv_header(head)
        if header is None:
            raise ValidationError("paths", f"{source}: a CSV file needs a header row")
        mapping = resolve_time_field(mapping, header.fields, source)
        check_fields(mapping, header, source)
        return _Plan(source, source, chosen, head, True, mapping, header, part)
    return _Plan(source, source, chosen, head, found.one_per_line, None, None, part)


def _check_range(part: LogRange, found: Detected, chosen: str) -> None:
    where = f"{part.path}[{part.start}:{part.end}]"
    if found.compression is not None:
        raise ValidationError("paths", f"{where}: a {found.compression} file cannot be read by byte range")
    if chosen == "stix":
        raise ValidationError("paths", f"{where}: STIX content cannot be read by byte range")
    if part.start < 0 or part.end < part.start or part.first_line < 1 or (part.start == 0) != (part.first_line == 1):
        raise ValidationError("paths", f"{where}: not a byte range of lines (first line {part.first_line})")
    if not _io.starts_a_line(part.path, part.start):
        raise ValidationError("paths", f"{where}: a range must start at a line start (0 or just after a newline)")


def splittable(path: str | os.PathLike[str], kind: Kind | None = None) -> bool:
    """Whether a file can be read in byte ranges: uncompressed text in a line format (not STIX)."""
    found = detect(path)
    if found.kind is None or found.compression is not None:
        return False
    chosen = found.kind if kind is None else kind
    return chosen != "stix" and found.kind != "stix"


def split_log(path: str | os.PathLike[str], block_bytes: int, *, kind: Kind | None = None) -> list[LogRange] | None:
    """Cut a log file into ranges of about ``block_bytes`` at line starts, each with its first line number (the
    file is read once, up to the last cut, to count lines). None when the file is to be read whole: compressed,
    STIX, empty, or no larger than ``block_bytes``."""
    if block_bytes < 1:
        raise ValidationError("block_bytes", "must be at least 1")
    source = os.fspath(path)
    if os.path.getsize(source) <= block_bytes or not splittable(source, kind):
        return None
    blocks = _io.cut_lines(source, block_bytes)
    if len(blocks) < 2:
        return None
    return [LogRange(source, start, end, line) for start, end, line in blocks]


def _read(plan: _Plan, problems: Problems, batch_rows: int) -> Iterator[RecordBatch]:
    chunk = _chunk_bytes(plan.head, batch_rows)
    part = plan.part
    if plan.kind == "zeek":
        header = parse_header(plan.head.lstrip())
        assert header is not None
        yield from read_zeek_tsv(plan.path, header, plan.source, problems, batch_rows=batch_rows, part=part)
    elif plan.kind == "zeek-json":
        first = first_json_object(plan.head) or {}
        yield from read_zeek_json(
            plan.path, first, plan.source, problems, batch_rows=batch_rows, chunk_bytes=chunk, part=part
        )
    elif plan.kind == "suricata":
        yield from read_eve(plan.path, plan.source, problems, batch_rows=batch_rows, chunk_bytes=chunk, part=part)
    elif plan.kind == "stix":
        yield from read_stix(plan.path, plan.source, problems, batch_rows=batch_rows, one_per_line=plan.one_per_line)
    elif plan.kind == "jsonl":
        assert plan.mapping is not None
        yield from read_jsonl(
            plan.path,
            plan.mapping,
            plan.extra,
            plan.source,
            problems,
            batch_rows=batch_rows,
            chunk_bytes=chunk,
            part=part,
        )
    else:
        assert plan.mapping is not None
        yield from read_csv(
            plan.path, plan.mapping, plan.extra, plan.source, problems, batch_rows=batch_rows, part=part
        )


def _logged(problems: Problems, plans: list[_Plan], batches: Iterator[RecordBatch]) -> Iterator[RecordBatch]:
    yield from batches
    for source in dict.fromkeys(plan.source for plan in plans):
        count = problems.by_file.get(source, 0)
        if count:
            shown = "; ".join(str(p) for p in problems.items if p.file == source)[:500]
            log.warning("%s: %d problem line(s): %s", source, count, shown)


Target = str | os.PathLike[str] | LogRange


def open_logs(
    paths: Target | Iterable[Target],
    *,
    kind: Kind | None = None,
    mapping: Mapping[str, Any] | FieldMapping | None = None,
    batch_rows: int = 65536,
    problems: Problems | None = None,
) -> Iterator[RecordBatch]:
    """Read log files as :class:`RecordBatch` es, file after file.

    ``kind`` forces a format (``zeek`` covers TSV and JSON); ``mapping`` maps STIX object paths
    to the fields of JSON lines or CSV (it is not used for the built-in formats unless ``kind``
    is ``jsonl`` or ``csv``). Formats and mappings are checked for every file before the first
    batch is read: a file that cannot be read as asked raises :class:`ValidationError`. Bad
    lines are recorded in ``problems`` (or logged when no sink is given) and skipped.

    A :class:`LogRange` among the paths reads only the lines that start in its byte range (an
    uncompressed file in a line format, not STIX; the range must start at a line start), with
    line numbers in the whole file, the header taken from the file's start.
    """
    if kind is not None and kind not in KINDS:
        raise ValidationError("kind", f"unknown log kind {kind!r} (known: {', '.join(KINDS)})")
    _io.prefer_jemalloc()
    if batch_rows < 1:
        raise ValidationError("batch_rows", "must be at least 1")
    if isinstance(paths, str | os.PathLike | LogRange):
        paths = [paths]
    parsed = mapping if isinstance(mapping, FieldMapping) or mapping is None else parse_mapping(mapping)
    targets = [p if isinstance(p, LogRange) else os.fspath(Path(p)) for p in paths]
    plans = [plan for plan in (_plan(t, kind, parsed) for t in targets) if plan is not None]
    sink = Problems() if problems is None else problems

    def batches() -> Iterator[RecordBatch]:
        for plan in plans:
            yield from _read(plan, sink, batch_rows)

    return _logged(sink, plans, batches()) if problems is None else batches()
