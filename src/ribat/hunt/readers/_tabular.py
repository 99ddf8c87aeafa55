"""Streaming delimited text (Zeek TSV, CSV) with pyarrow, keeping every row's line number.

pyarrow's streaming CSV reader parses blocks in C++; rows with the wrong number of fields go to
an invalid-row handler, which reports them with their line and skips them. The reader runs on
one thread (that is where the handler is told line numbers, and on these logs it is as fast as
the multi-threaded reader); the lines of the kept rows are computed around the skipped ones.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from ribat.hunt.readers._io import Span, open_arrow
from ribat.hunt.readers.base import LINE_COLUMN

Classify = Callable[[str, int, int], str | None]
"""(row text, expected fields, actual fields) → the reason to report, or None to skip silently."""
Report = Callable[[int, str], None]


def _lines_around(base: int, count: int, start: int, invalid: Sequence[int]) -> np.ndarray:
    """Line numbers of ``count`` kept rows, the first being kept row ``start`` after line ``base``.

    ``invalid`` holds the (1-based) lines skipped since ``base``; kept row ``k`` is on line
    ``base + k + j`` where ``j`` is the number of skipped lines before it.
    """
    ks = np.arange(start, start + count, dtype=np.int64)
    if not invalid:
        return base + ks
    skipped = np.sort(np.asarray(invalid, dtype=np.int64))
    before = skipped - base - np.arange(len(skipped), dtype=np.int64)
    return base + ks + np.searchsorted(before, ks, side="right")


def csv_batches(
    path: str | os.PathLike[str],
    *,
    column_names: Sequence[str],
    include: Sequence[str],
    skip_rows: int,
    delimiter: str,
    quoted: bool,
    classify: Classify,
    report: Report,
    null_values: Sequence[str] = (),
    block_size: int = 1 << 20,
    span: Span | None = None,
) -> Iterator[pa.RecordBatch]:
    """Record batches (binary columns ``include`` plus ``_line``) of the data after ``skip_rows`` lines (of the
    file, or of ``span``: its bytes only, its first line numbered ``span.first_line``)."""
    convert = pacsv.ConvertOptions(
        include_columns=list(include),
        column_types={name: pa.binary() for name in include},
        null_values=list(null_values),
        strings_can_be_null=bool(null_values),
        quoted_strings_can_be_null=False,
    )
    offset = 0 if span is None else span.first_line - 1
    base = offset + skip_rows + 1
    invalid: list[int] = []

    def skip(row: pacsv.InvalidRow) -> str:
        line = offset + int(row.number) if row.number is not None else base + len(invalid)
        invalid.append(line)
        reason = classify(row.text, row.expected_columns, row.actual_columns)
        if reason is not None:
            report(line, reason)
        return "skip"

    with open_arrow(path) if span is None else span.open(path) as stream:
        reader = pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(
                column_names=list(column_names), skip_rows=skip_rows, use_threads=False, block_size=block_size
            ),
            parse_options=_parse_options(delimiter, quoted, skip),
            convert_options=convert,
        )
        kept = 0
        for batch in reader:
            lines = _lines_around(base, batch.num_rows, kept, invalid)
            kept += batch.num_rows
            yield batch.append_column(LINE_COLUMN, pa.array(lines))


def _parse_options(delimiter: str, quoted: bool, handler: Callable[[pacsv.InvalidRow], str]) -> pacsv.ParseOptions:
    return pacsv.ParseOptions(
        delimiter=delimiter,
        quote_char='"' if quoted else False,
        double_quote=quoted,
        escape_char=False,
        newlines_in_values=False,
        ignore_empty_lines=False,
        invalid_row_handler=handler,
    )


def rebatch(batches: Iterator[pa.RecordBatch], rows: int) -> Iterator[pa.Table]:
    """Regroup record batches into tables of ``rows`` rows (the last may be shorter)."""
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        pending.append(batch)
        count += batch.num_rows
        while count >= rows:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, rows)
            rest = table.slice(rows)
            pending = rest.to_batches() if rest.num_rows else []
            count = rest.num_rows
    if count:
        yield pa.Table.from_batches(pending)
