"""CSV with a header row and a user field mapping (``{object path: field}``) to record batches.

The delimiter is the most frequent of ``,``, tab, ``;`` and ``|`` in the header row. Values may
be quoted (``"a,b"``) but may not span lines. An empty value is unset; a list property
(``network-traffic:protocols[*]``, ``domain-name:resolves_to_refs[*].value``) splits its field
on ``,``. Rows with the wrong number of fields are reported with their line and skipped.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow.compute as pc

from ribat.errors import ValidationError
from ribat.hunt.readers._convert import convert_columns, with_time
from ribat.hunt.readers._io import span_of
from ribat.hunt.readers._tabular import csv_batches, rebatch
from ribat.hunt.readers.base import LINE_COLUMN, LogRange, Problems, RecordBatch
from ribat.hunt.readers.jsonl import layout_of
from ribat.hunt.readers.layout import make_batch
from ribat.hunt.readers.mapping import FieldMapping

__all__ = ["CsvHeader", "parse_csv_header", "read_csv"]


@dataclass(frozen=True)
class CsvHeader:
    delimiter: str
    fields: tuple[str, ...]


def parse_csv_header(data: bytes) -> CsvHeader | None:
    """The header row of a CSV file (first line), or None when there is none."""
    line = data.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", "replace").lstrip("\ufeff")
    if not line.strip():
        return None
    delimiter = max((",", "\t", ";", "|"), key=line.count)
    fields = next(csv.reader([line], delimiter=delimiter))
    return CsvHeader(delimiter, tuple(f.strip() for f in fields))


def check_fields(mapping: FieldMapping, header: CsvHeader, source: str) -> None:
    missing = [name for name in (mapping.time_field, *mapping.field_kinds) if name and name not in header.fields]
    if missing:
        raise ValidationError(
            "mapping", f"{source}: no column {', '.join(map(repr, missing))} (columns: {', '.join(header.fields)})"
        )


def read_csv(
    path: str | os.PathLike[str],
    mapping: FieldMapping,
    header: CsvHeader,
    source: str,
    problems: Problems,
    *,
    batch_rows: int,
    part: LogRange | None = None,
) -> Iterator[RecordBatch]:
    """The records of a CSV file read with ``mapping`` (the whole file, or the lines of ``part``: the header
    row is always the file's first line)."""
    assert mapping.time_field is not None
    span = None if part is None else span_of(part, 1)
    if part is not None and span is None:
        return
    time_field = mapping.time_field
    wanted = [time_field, *(name for name in mapping.field_kinds if name != time_field)]
    layout = layout_of(mapping, "csv")

    def report(line: int, reason: str) -> None:
        problems.add(source, line, reason)

    def classify(text: str, expected: int, actual: int) -> str | None:
        return None if not text.strip() else f"expected {expected} fields, found {actual}"

    batches = csv_batches(
        path,
        column_names=header.fields,
        include=wanted,
        skip_rows=1 if span is None else 0,
        delimiter=header.delimiter,
        quoted=True,
        classify=classify,
        report=report,
        null_values=[""],
        span=span,
    )
    for raw in rebatch(batches, batch_rows):
        blank = None
        for name in wanted:
            empty = pc.is_null(raw.column(name))
            blank = empty if blank is None else pc.and_(blank, empty)
        if blank is not None and pc.any(blank).as_py():
            raw = raw.filter(pc.invert(blank))
        if time_field in mapping.field_kinds:
            raw = raw.append_column("_time_source", raw.column(time_field))
            table = with_time(raw, "_time_source", problems, source)
        else:
            table = with_time(raw, time_field, problems, source)
        table, _ = convert_columns(table, mapping.field_kinds, problems, source)
        if table.num_rows:
            yield make_batch(
                table.select([LINE_COLUMN, *(c for c in table.column_names if c != LINE_COLUMN)]), layout, source
            )
