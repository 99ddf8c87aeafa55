"""The hunt: record batches in, hits out.

For each batch (``ribat.hunt.readers``) the engine

1. keeps the rows inside the hunt's time window;
2. finds *candidate* rows column by column: for every object path the batch publishes and the compiled set
   indexes (``ribat.hunt.compile``), equality is tested on the whole column at once (``pyarrow.compute.is_in``
   against the path's literal values), and networks, ``LIKE`` and ``MATCHES`` once per distinct value of the
   column; indicators that cannot be indexed (*residual*) take every row whose log type can hold their object
   types;
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


def _column_candidates(
    array: pa.Array, parents: np.ndarray | None, index: PathIndex, add: Callable[[int, set[int]], None]
) -> None:
    """Add, for each row of ``array`` (mapped through ``parents``), the indicators its value may match."""
    values = _equality_values(index)
    kind = array.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        probe = pc.utf8_lower(array) if index.folded else array
        literals = values.get(str)
        if literals is not None:
            mask = pc.is_in(probe, value_set=literals)
            hit_rows = np.flatnonzero(mask.to_numpy(zero_copy_only=False) & ~np.asarray(probe.is_null()))
            if hit_rows.size:
                found = probe.take(pa.array(hit_rows)).to_pylist()
                for pos, value in zip(hit_rows.tolist(), found, strict=True):
                    add(pos if parents is None else int(parents[pos]), index.equals[value])
        if index.networks:
            _network_candidates(array, parents, index, add)
        if index.like_runs or index.like_any or index.regexes:
            _per_unique(array, parents, index.lookup_text, add)
    elif pa.types.is_integer(kind) or pa.types.is_floating(kind):
        literals = values.get(float)
        if literals is not None:
            mask = pc.is_in(pc.cast(array, pa.float64()), value_set=literals)
            hit_rows = np.flatnonzero(mask.to_numpy(zero_copy_only=False))
            if hit_rows.size:
                found = array.take(pa.array(hit_rows)).to_pylist()
                for pos, value in zip(hit_rows.tolist(), found, strict=True):
                    add(pos if parents is None else int(parents[pos]), index.equals.get(value, set()))


def _per_unique(
    array: pa.Array, parents: np.ndarray | None, lookup: Callable[[str], set[int]], add: Callable[[int, set[int]], None]
) -> None:
    """``lookup`` once per distinct value of the column, then every row holding a value it found something for."""
    encoded = pc.dictionary_encode(array)
    uniques = encoded.dictionary.to_pylist()
    per_unique = [lookup(u) if isinstance(u, str) else set() for u in uniques]
    wanted = [i for i, found in enumerate(per_unique) if found]
    if not wanted:
        return
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(np.isin(codes, wanted))
    for pos in rows.tolist():
        add(pos if parents is None else int(parents[pos]), per_unique[int(codes[pos])])


_DOTTED_QUAD = r"^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$"


def _v4_tables(index: PathIndex) -> list[tuple[int, np.ndarray, dict[int, set[int]]]]:
    """Per IPv4 prefix length in the index: (shift, sorted network starts, start → indicators)."""
    cached: list[tuple[int, np.ndarray, dict[int, set[int]]]] | None = getattr(index, "_v4", None)
    if cached is None:
        cached = [
            (32 - prefix, np.array(sorted(starts), dtype=np.uint64), starts)
            for (bits, prefix), starts in sorted(index.networks.items())
            if bits == 32
        ]
        index._v4 = cached  # type: ignore[attr-defined]
    return cached


def _ipv4_numbers(array: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The rows of ``array`` holding a dotted-quad IPv4 address, and each one's address as an integer.

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


def _network_candidates(
    array: pa.Array, parents: np.ndarray | None, index: PathIndex, add: Callable[[int, set[int]], None]
) -> None:
    """Rows whose address lies in an indexed network. Dotted-quad IPv4 values are converted to integers and
    looked up in each prefix length's sorted network starts at once (numpy); anything else (IPv6, networks) is
    looked up once per distinct value."""
    tables = _v4_tables(index)
    rows, numbers = _ipv4_numbers(array) if tables else (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.uint64))
    for shift, starts, table in tables:
        shifted = numbers >> np.uint64(shift)
        slot = np.minimum(np.searchsorted(starts, shifted), len(starts) - 1)
        for i in np.flatnonzero(starts[slot] == shifted).tolist():
            pos = int(rows[i])
            add(pos if parents is None else int(parents[pos]), table[int(shifted[i])])
    mask = np.ones(len(array), dtype=bool)
    mask[rows] = False
    rest = np.flatnonzero(mask & np.asarray(array.is_valid()))
    if rest.size and (any(bits != 32 for bits, _ in index.networks) or _has_slash(array, rest)):
        others = array.take(pa.array(rest))
        sub_parents = rest if parents is None else parents[rest]
        _per_unique(others, sub_parents, index.lookup_network, add)


def _has_slash(array: pa.Array, rows: np.ndarray) -> bool:
    """Whether any of ``rows`` holds a network (``a.b.c.d/n``) rather than an address."""
    return bool(pc.any(pc.match_substring(array.take(pa.array(rows)), "/")).as_py())


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
            batch = RecordBatch(table, batch.log_type, batch.paths, batch.source, batch.object_types, batch.builder)
        rows_in = table.num_rows
        stats.in_window += rows_in
        if not rows_in:
            if progress is not None:
                progress(stats)
            continue
        candidates: dict[int, set[int]] = {}
        add = _adder(candidates)

        for path, columns in batch.paths.items():
            key = _CANONICAL[path]
            index = compiled.paths.get(key) if key is not None else None
            if index is None:
                continue
            for name in columns:
                array, parents = _flatten(table.column(name))
                _column_candidates(array, parents, index, add)
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
    by_id = {ind.id: ind for ind in compiled.indicators}
    hit_of = _hit_of(result.hits)
    for key in sorted(result.pending):
        _temporal(by_id[key], result.pending[key], hit_of, result.stats)
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
