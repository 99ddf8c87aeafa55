"""The hunt: record batches in, hits out.

For each batch (``ribat.hunt.readers``) the engine

1. keeps the rows inside the hunt's time window;
2. finds *candidate* rows column by column: for every object path the batch publishes and the compiled set
   indexes (``ribat.hunt.compile``), the column is dictionary-encoded once (whatever number of paths share
   it) and every index is looked up on its distinct values only — equality with ``pyarrow.compute.is_in``
   against the path's literal values (or on integers, for many literal IPv4 addresses: ``ribat.hunt._ipv4``),
   IPv4 networks by one search of their merged spans, ``LIKE`` and
   ``MATCHES`` value by value — and the rows follow from the codes; indicators that cannot be indexed
   (*residual*) take every row whose log type can hold their object types;
3. turns only the candidate rows into observed-data and checks each (row, indicator) pair exactly
   (``ribat.hunt.evaluate``), within the indicator's validity;
4. counts the matches of single-observation indicators at once, and keeps the candidate records of the others
   (observation operators, qualifiers) to evaluate them in time order when the input is exhausted.

Nothing here keeps more than one batch of records, plus the candidates of the multi-observation indicators and a
bounded number of samples per indicator, so memory does not grow with the size of the logs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ribat.hunt._ipv4 import ipv4_numbers
from ribat.hunt.compile import CompiledIndicator, CompiledSet, PathIndex, Window, canonical_path, fold_record_hashes
from ribat.hunt.evaluate import compile_observation
from ribat.hunt.hits import Hit, Sample
from ribat.hunt.readers.base import FILE_COLUMN, LINE_COLUMN, TIME_COLUMN, RecordBatch

__all__ = ["Candidate", "HuntResult", "HuntStats", "Progress", "complete", "hunt"]

Progress = Callable[["HuntStats"], None]
"""Called after each batch with the running totals."""


@dataclass
class HuntStats:
    records: int = 0
    in_window: int = 0
    candidates: int = 0
    checked: int = 0
    matches: int = 0
    batches: int = 0
    started: float = field(default_factory=time.perf_counter)

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started

    @property
    def rate(self) -> float:
        """Records read per second so far."""
        elapsed = self.seconds
        return self.records / elapsed if elapsed > 0 else 0.0


Candidate = tuple[int, str, int, dict[str, Any]]
"""A candidate record of a multi-observation indicator: (time µs, file, line, observed-data)."""


@dataclass
class HuntResult:
    """``hits`` by indicator id. ``pending`` holds, by indicator id, the candidate records of multi-observation
    indicators not yet evaluated (a part of a split hunt returns them; :func:`complete` evaluates them)."""

    hits: dict[str, Hit]
    stats: HuntStats
    skipped: Mapping[str, int]
    pending: dict[str, list[Candidate]] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)
    """Seconds spent in each phase of a distributed hunt (``prepare``, ``parts``, ``finish``)."""

    def merge(self, other: HuntResult) -> None:
        """Fold the result of another part of the same hunt into this one."""
        for key, hit in other.hits.items():
            mine = self.hits.get(key)
            if mine is None:
                self.hits[key] = hit
            else:
                mine.merge(hit)
        for key, waiting in other.pending.items():
            self.pending.setdefault(key, []).extend(waiting)
        for name in ("records", "in_window", "candidates", "checked", "matches", "batches"):
            setattr(self.stats, name, getattr(self.stats, name) + getattr(other.stats, name))


class _Canonical(dict[str, str | None]):
    def __missing__(self, key: str) -> str | None:
        try:
            value: str | None = canonical_path(key)
        except Exception:  # a path the pattern grammar cannot read is never indexed
            value = None
        self[key] = value
        return value


_CANONICAL = _Canonical()


def _flatten(column: pa.ChunkedArray) -> tuple[pa.Array, np.ndarray | None]:
    """The column's values as one array and, for a list column, the row of each value."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_list(array.type) or pa.types.is_large_list(array.type):
        parents = pc.list_parent_indices(array).to_numpy(zero_copy_only=False)
        return pc.list_flatten(array), parents
    return array, None


class _Column:
    """A column of a batch as the look-ups use it: its values in one array, the row of each value (for a list
    column), and, for text, its dictionary encoding (made once, whatever number of paths share the column). A
    column given already encoded holds its distinct values in ``array``."""

    def __init__(self, array: pa.Array, parents: np.ndarray | None, encoded: pa.DictionaryArray | None = None) -> None:
        self.array = array
        self.parents = parents
        self._encoded = encoded
        self._codes: np.ndarray | None = None
        self._quads: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def encoded(self) -> pa.DictionaryArray:
        if self._encoded is None:
            self._encoded = pc.dictionary_encode(self.array, null_encoding="encode")
        return self._encoded

    @property
    def uniques(self) -> pa.Array:
        """The distinct values."""
        return self.encoded.dictionary

    @property
    def quads(self) -> tuple[np.ndarray, np.ndarray]:
        """The positions among the distinct values of the dotted-quad IPv4 addresses, and their integers."""
        if self._quads is None:
            self._quads = ipv4_numbers(self.uniques)
        return self._quads

    @property
    def codes(self) -> np.ndarray:
        if self._codes is None:
            self._codes = self.encoded.indices.to_numpy(zero_copy_only=False)
        return self._codes


def _column_of(batch: RecordBatch, name: str) -> _Column:
    """A column of the batch as the look-ups take it. A text column still held as read is dictionary-encoded
    before it is converted (``RecordBatch.encoded``), so only its distinct values are converted."""
    convert = batch.lazy.get(name)
    if convert is not None and convert.elementwise:
        encoded = batch.encoded(name)
        return _Column(encoded.dictionary, None, encoded)
    return _Column(*_flatten(batch.column(name)))


def _column_candidates(column: _Column, index: PathIndex, add: Callable[[int, set[int]], None]) -> None:
    """Add, for each row of the column, the indicators its value may match."""
    array, parents = column.array, column.parents
    kind = array.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        _text_candidates(column, index, add)
    elif pa.types.is_integer(kind) or pa.types.is_floating(kind):
        literals = index.literals().get(float)
        if literals is not None:
            mask = pc.is_in(pc.cast(array, pa.float64()), value_set=literals)
            hit_rows = np.flatnonzero(mask.to_numpy(zero_copy_only=False))
            if hit_rows.size:
                found = array.take(pa.array(hit_rows)).to_pylist()
                for pos, value in zip(hit_rows.tolist(), found, strict=True):
                    add(pos if parents is None else int(parents[pos]), index.equals.get(value, set()))


def _text_candidates(column: _Column, index: PathIndex, add: Callable[[int, set[int]], None]) -> None:
    """A text column is looked up once per distinct value: logs repeat their addresses and names, so a batch of
    65,536 rows holds a few thousand distinct values. Every index runs on those values; the rows follow from the
    dictionary codes."""
    found = _lookup_distinct(column, index)
    if not found:
        return
    marked = np.zeros(len(column.uniques), dtype=bool)
    marked[list(found)] = True
    codes, parents = column.codes, column.parents
    for pos in np.flatnonzero(marked[codes]).tolist():
        add(pos if parents is None else int(parents[pos]), found[int(codes[pos])])


_BY_NUMBER = 1024
"""Literal addresses from which equality is tested on integers rather than with ``is_in``, whose hash table of
the literals is built anew on every call."""


def by_number(index: PathIndex) -> bool:
    """Whether the index's equality is tested on IPv4 integers: when it has many literal addresses, or has
    some and IPv4 networks (whose test needs the column's integers anyway)."""
    numbers, _ = index.quad_literals()
    return numbers.size >= _BY_NUMBER or bool(numbers.size and index.networks)


def _lookup_distinct(column: _Column, index: PathIndex) -> dict[int, set[int]]:
    """Every index looked up on the distinct values of a text column: equality on IPv4 integers or with ``is_in``,
    IPv4 networks with one search of their merged spans, ``LIKE`` and ``MATCHES`` value by value. Keyed by
    position among the distinct values."""
    uniques = column.uniques
    found: dict[int, set[int]] = {}
    literals = index.literals().get(str)
    if literals is not None:
        numbers, others = index.quad_literals()
        if by_number(index):
            rows, keys = column.quads
            slot = np.minimum(np.searchsorted(numbers, keys), numbers.size - 1)
            _equal_hits(uniques, rows[numbers[slot] == keys], index, found)
            if others is not None and rows.size < len(uniques):
                rest = np.ones(len(uniques), dtype=bool)
                rest[rows] = False
                where = np.flatnonzero(rest)
                hit = pc.is_in(uniques.take(pa.array(where)), value_set=others).to_numpy(zero_copy_only=False)
                _equal_hits(uniques, where[hit], index, found)
        else:
            probe = pc.utf8_lower(uniques) if index.folded else uniques
            hit = pc.is_in(probe, value_set=literals).to_numpy(zero_copy_only=False)
            _equal_hits(probe, np.flatnonzero(hit), index, found)
    if index.networks:
        for u, numbers_found in _network_hits(column, index).items():
            found.setdefault(u, set()).update(numbers_found)
    if index.like_runs or index.like_any or index.regexes:
        for u, value in enumerate(uniques.to_pylist()):
            if isinstance(value, str):
                numbers_found = index.lookup_text(value)
                if numbers_found:
                    found.setdefault(u, set()).update(numbers_found)
    return found


def _equal_hits(values: pa.Array, at: np.ndarray, index: PathIndex, found: dict[int, set[int]]) -> None:
    """Record the indicators whose literal equals the value at each position ``at`` (compared as text: the
    integers of two addresses may agree where their text does not)."""
    if at.size:
        for u, value in zip(at.tolist(), values.take(pa.array(at)).to_pylist(), strict=True):
            numbers = index.equals.get(value)
            if numbers:
                found[u] = set(numbers)


def _network_hits(column: _Column, index: PathIndex) -> dict[int, set[int]]:
    """For the distinct values of a column, the indicators of every indexed network holding each one.

    Dotted-quad IPv4 values are tested against the merged spans of all IPv4 networks at once (numpy); the few
    inside one are looked up exactly. Anything else (IPv6, a network) is looked up one by one, when the index
    has IPv6 networks or the value is a network."""
    values = column.uniques
    hits: dict[int, set[int]] = {}
    lows, highs = index.v4_spans()
    quads = np.empty(0, dtype=np.int64)
    if lows.size:
        quads, numbers = column.quads
        slot = np.searchsorted(lows, numbers, side="right") - 1
        inside = (slot >= 0) & (numbers < highs[np.maximum(slot, 0)])
        for i in np.flatnonzero(inside).tolist():
            u = int(quads[i])
            text = values[u].as_py()
            numbers_found = index.lookup_network(text) if isinstance(text, str) else set()
            if numbers_found:
                hits[u] = numbers_found
    rest = np.ones(len(values), dtype=bool)
    rest[quads] = False
    rest &= np.asarray(values.is_valid())
    others = np.flatnonzero(rest)
    if others.size:
        texts = values.take(pa.array(others))
        if not any(bits != 32 for bits, _ in index.networks):  # IPv4 networks only: a network as text may be in one
            slash = pc.fill_null(pc.match_substring(texts, "/"), False).to_numpy(zero_copy_only=False)
            others, texts = others[slash], texts.filter(pa.array(slash))
        for u, text in zip(others.tolist(), texts.to_pylist(), strict=True):
            numbers_found = index.lookup_network(text) if isinstance(text, str) else set()
            if numbers_found:
                hits[u] = numbers_found
    return hits


_OPEN = Window()


def hunt(
    batches: Iterable[RecordBatch],
    compiled: CompiledSet,
    *,
    window: Window = _OPEN,
    progress: Progress | None = None,
    finish: bool = True,
) -> HuntResult:
    """Match ``compiled`` against every record of ``batches`` (see the module docstring). With ``finish`` false
    the multi-observation indicators are left in ``pending`` for :func:`complete`."""
    stats = HuntStats()
    hits: dict[str, Hit] = {}
    pending: dict[str, list[Candidate]] = {}
    indicators = compiled.indicators
    hit_of = _hit_of(hits)

    for batch in batches:
        stats.batches += 1
        table = batch.table
        stats.records += table.num_rows
        times = table.column(TIME_COLUMN)
        keep = None
        if window.since_us is not None:
            keep = pc.greater_equal(times, window.since_us)
        if window.until_us is not None:
            upper = pc.less(times, window.until_us)
            keep = upper if keep is None else pc.and_(keep, upper)
        if keep is not None:
            table = table.filter(keep)
            batch = batch.with_table(table)
        rows_in = table.num_rows
        stats.in_window += rows_in
        if not rows_in:
            if progress is not None:
                progress(stats)
            continue
        candidates: dict[int, set[int]] = {}
        add = _adder(candidates)
        prepared: dict[str, _Column] = {}

        for path, columns in batch.paths.items():
            key = _CANONICAL[path]
            index = compiled.paths.get(key) if key is not None else None
            if index is None:
                continue
            for name in columns:
                column = prepared.get(name)
                if column is None:
                    column = prepared[name] = _column_of(batch, name)
                _column_candidates(column, index, add)
        residual = [n for n in compiled.residual if compiled.residual_types[n] & batch.object_types]
        if residual:
            every = set(residual)
            for row in range(rows_in):
                add(row, every)
        if candidates:
            stats.candidates += len(candidates)
            _check(batch, candidates, indicators, hit_of, pending, stats)
        if progress is not None:
            progress(stats)

    result = HuntResult(hits, stats, dict(compiled.skipped), pending)
    if finish:
        complete(result, compiled)
    return result


def _hit_of(hits: dict[str, Hit]) -> Callable[[CompiledIndicator], Hit]:
    def hit_of(ind: CompiledIndicator) -> Hit:
        found = hits.get(ind.id)
        if found is None:
            found = hits[ind.id] = Hit(ind.id, ind.name, ind.created_by_ref, ind.pattern.text)
        return found

    return hit_of


def complete(result: HuntResult, compiled: CompiledSet) -> HuntResult:
    """Evaluate the pending multi-observation indicators over their candidates in time order."""
    hit_of = _hit_of(result.hits)
    for key in sorted(result.pending):
        _temporal(compiled.temporal[key], result.pending[key], hit_of, result.stats)
    result.pending = {}
    return result


def _adder(candidates: dict[int, set[int]]) -> Callable[[int, set[int]], None]:
    def add(row: int, found: set[int]) -> None:
        if found:
            have = candidates.get(row)
            if have is None:
                candidates[row] = set(found)
            else:
                have |= found

    return add


def _check(
    batch: RecordBatch,
    candidates: dict[int, set[int]],
    indicators: list[CompiledIndicator],
    hit_of: Callable[[CompiledIndicator], Hit],
    pending: dict[str, list[Candidate]],
    stats: HuntStats,
) -> None:
    rows = sorted(candidates)
    records = batch.observed_rows(rows)
    taken = batch.table.select([TIME_COLUMN, LINE_COLUMN, FILE_COLUMN]).take(pa.array(rows, pa.int64()))
    times = taken.column(TIME_COLUMN).to_pylist()
    lines = taken.column(LINE_COLUMN).to_pylist()
    files = taken.column(FILE_COLUMN).to_pylist()
    for pos, row in enumerate(rows):
        record = fold_record_hashes(records[pos])
        t = int(times[pos])
        for number in candidates[row]:
            ind = indicators[number]
            if not ind.valid_at(t):
                continue
            stats.checked += 1
            if ind.single:
                observation = compile_observation(ind.pattern.observations()[0])
                matched = observation.matching_objects(record)
                if matched:
                    stats.matches += 1
                    hit_of(ind).add(Sample(str(files[pos]), int(lines[pos]), t, record["objects"], tuple(matched)))
            else:
                pending.setdefault(ind.id, []).append((t, str(files[pos]), int(lines[pos]), record))


def _temporal(
    ind: CompiledIndicator, waiting: list[Candidate], hit_of: Callable[[CompiledIndicator], Hit], stats: HuntStats
) -> None:
    """Evaluate a multi-observation indicator over its candidate records in time order (then file, then line);
    each record that completes a match counts one match, sampled by the records that match used."""
    ordered = sorted(waiting, key=lambda r: (r[0], r[1], r[2]))
    stream = ind.matcher.stream()
    for t, file, line, record in ordered:
        done = stream.push(record)
        if done is None:
            continue
        stats.matches += 1
        used = [ordered[arrival] for arrival in done] or [(t, file, line, record)]
        hit_of(ind).add(*(Sample(f, ln, at, rec["objects"]) for at, f, ln, rec in used))
