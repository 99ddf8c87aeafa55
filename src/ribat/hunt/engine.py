"""The hunt: record batches in, hits out.

For each batch (``ribat.hunt.readers``) the engine

1. keeps the rows inside the hunt's time window;
2. finds *candidate* rows column by column: for every object path the batch publishes and the compiled set
   indexes (``ribat.hunt.compile``), the column is dictionary-encoded once (whatever number of paths share
   it) and every index is looked up on its distinct values only — equality with ``pyarrow.compute.is_in``
   against the path's literal values, IPv4 networks by one search of their merged spans, ``LIKE`` and
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


def _equality_values(index: PathIndex) -> dict[type, pa.Array]:
    """The index's equality literals grouped by Arrow type, for ``is_in`` on a column of that type."""
    cached: dict[type, pa.Array] | None = getattr(index, "_arrow_values", None)
    if cached is not None:
        return cached
    strings = [k for k in index.equals if isinstance(k, str)]
    numbers = [k for k in index.equals if isinstance(k, int | float) and not isinstance(k, bool)]
    cached = {}
    if strings:
        cached[str] = pa.array(strings, pa.string())
    if numbers:
        cached[float] = pa.array([float(n) for n in numbers], pa.float64())
    index._arrow_values = cached  # type: ignore[attr-defined]
    return cached


def _flatten(column: pa.ChunkedArray) -> tuple[pa.Array, np.ndarray | None]:
    """The column's values as one array and, for a list column, the row of each value."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_list(array.type) or pa.types.is_large_list(array.type):
        parents = pc.list_parent_indices(array).to_numpy(zero_copy_only=False)
        return pc.list_flatten(array), parents
    return array, None


class _Column:
    """A column of a batch as the look-ups use it: its values in one array, the row of each value (for a list
    column), and, for text, its dictionary encoding (made once, whatever number of paths share the column)."""

    def __init__(self, array: pa.Array, parents: np.ndarray | None) -> None:
        self.array = array
        self.parents = parents
        self._encoded: pa.DictionaryArray | None = None
        self._codes: np.ndarray | None = None

    @property
    def encoded(self) -> pa.DictionaryArray:
        if self._encoded is None:
            self._encoded = pc.dictionary_encode(self.array, null_encoding="encode")
        return self._encoded

    @property
    def codes(self) -> np.ndarray:
        if self._codes is None:
            self._codes = self.encoded.indices.to_numpy(zero_copy_only=False)
        return self._codes


def _column_candidates(column: _Column, index: PathIndex, add: Callable[[int, set[int]], None]) -> None:
    """Add, for each row of the column, the indicators its value may match."""
    array, parents = column.array, column.parents
    kind = array.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        _text_candidates(column, index, add)
    elif pa.types.is_integer(kind) or pa.types.is_floating(kind):
        literals = _equality_values(index).get(float)
        if literals is not None:
            mask = pc.is_in(pc.cast(array, pa.float64()), value_set=literals)
            hit_rows = np.flatnonzero(mask.to_numpy(zero_copy_only=False))
            if hit_rows.size:
                found = array.take(pa.array(hit_rows)).to_pylist()
                for pos, value in zip(hit_rows.tolist(), found, strict=True):
                    add(pos if parents is None else int(parents[pos]), index.equals.get(value, set()))


def _text_candidates(column: _Column, index: PathIndex, add: Callable[[int, set[int]], None]) -> None:
    """A text column is looked up once per distinct value: logs repeat their addresses and names, so a batch of
    65,536 rows holds a few thousand distinct values. Every index (equality, networks, ``LIKE``, ``MATCHES``)
    runs on those values; the rows follow from the dictionary codes."""
    uniques = column.encoded.dictionary
    found: dict[int, set[int]] = {}
    literals = _equality_values(index).get(str)
    if literals is not None:
        probe = pc.utf8_lower(uniques) if index.folded else uniques
        hit = np.flatnonzero(pc.is_in(probe, value_set=literals).to_numpy(zero_copy_only=False))
        if hit.size:
            for u, value in zip(hit.tolist(), probe.take(pa.array(hit)).to_pylist(), strict=True):
                found[u] = set(index.equals[value])
    if index.networks:
        for u, numbers in _network_hits(uniques, index).items():
            found.setdefault(u, set()).update(numbers)
    if index.like_runs or index.like_any or index.regexes:
        for u, value in enumerate(uniques.to_pylist()):
            if isinstance(value, str):
                numbers = index.lookup_text(value)
                if numbers:
                    found.setdefault(u, set()).update(numbers)
    if not found:
        return
    marked = np.zeros(len(uniques), dtype=bool)
    marked[list(found)] = True
    codes, parents = column.codes, column.parents
    for pos in np.flatnonzero(marked[codes]).tolist():
        add(pos if parents is None else int(parents[pos]), found[int(codes[pos])])


_DOTTED_QUAD = r"^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$"


def _v4_spans(index: PathIndex) -> tuple[np.ndarray, np.ndarray]:
    """The IPv4 networks of the index merged into disjoint ``[low, high)`` spans, sorted: one ``searchsorted``
    tells whether an address lies in any of them, whatever the prefix lengths."""
    cached: tuple[np.ndarray, np.ndarray] | None = getattr(index, "_v4_spans", None)
    if cached is None:
        spans = sorted(
            (start << (32 - prefix), (start + 1) << (32 - prefix))
            for (bits, prefix), starts in index.networks.items()
            if bits == 32
            for start in starts
        )
        lows: list[int] = []
        highs: list[int] = []
        for low, high in spans:
            if highs and low <= highs[-1]:
                highs[-1] = max(highs[-1], high)
            else:
                lows.append(low)
                highs.append(high)
        cached = (np.array(lows, dtype=np.uint64), np.array(highs, dtype=np.uint64))
        index._v4_spans = cached  # type: ignore[attr-defined]
    return cached


def _ipv4_numbers(array: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The positions in ``array`` of dotted-quad IPv4 addresses, and each one's address as an integer.

    The fast way splits every value on dots and casts the parts to integers; when any value is not four plain
    numbers (a hostname, ``-``, an IPv6 address) it falls back to picking the dotted quads with a regular
    expression first. Octets above 255 are left in: the integers are only a prefilter's keys."""
    present = np.asarray(array.is_valid())
    try:
        parts = pc.split_pattern(array, ".")
        if not pc.all(pc.equal(pc.list_value_length(parts), 4)).as_py():
            raise ValueError("not four parts")
        octets = pc.cast(pc.list_flatten(parts), pa.uint64())
        rows = np.flatnonzero(present)
    except (pa.ArrowInvalid, ValueError):
        quad = pc.fill_null(pc.match_substring_regex(array, _DOTTED_QUAD), False)
        rows = np.flatnonzero(quad.to_numpy(zero_copy_only=False))
        if not rows.size:
            return rows, np.empty(0, dtype=np.uint64)
        octets = pc.cast(pc.list_flatten(pc.split_pattern(array.take(pa.array(rows)), ".")), pa.uint64())
    o = octets.to_numpy(zero_copy_only=False).reshape(-1, 4)
    return rows, (o[:, 0] << 24) | (o[:, 1] << 16) | (o[:, 2] << 8) | o[:, 3]


def _network_hits(values: pa.Array, index: PathIndex) -> dict[int, set[int]]:
    """For the distinct ``values`` of a column, the indicators of every indexed network holding each one.

    Dotted-quad IPv4 values become integers and are tested against the merged spans of all IPv4 networks at
    once (numpy); the few inside one are looked up exactly. Anything else (IPv6, a network) is looked up one by
    one, when the index has IPv6 networks or the value is a network."""
    hits: dict[int, set[int]] = {}
    lows, highs = _v4_spans(index)
    quads = np.empty(0, dtype=np.int64)
    if lows.size:
        quads, numbers = _ipv4_numbers(values)
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
        v6 = any(bits != 32 for bits, _ in index.networks)
        texts = values.take(pa.array(others)).to_pylist()
        for u, text in zip(others.tolist(), texts, strict=True):
            if isinstance(text, str) and (v6 or "/" in text):
                numbers_found = index.lookup_network(text)
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
                    column = prepared[name] = _Column(*_flatten(batch.column(name)))
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
