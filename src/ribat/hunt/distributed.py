"""The same hunt on a Dask distributed cluster, with results identical to a local run.

The logs are split into *parts*, by file and block: a file larger than ``block_bytes`` (uncompressed, in a line
format) is cut at line starts into blocks of about that size, each read as a
:class:`~ribat.hunt.readers.LogRange` with its first line number counted on the client, so line numbers are
those of the whole file; any other file is one part. Every part runs the local engine on a worker with
``finish=False``, so that each returns its hits and the candidate records of the multi-observation indicators.
The client merges the parts (hits keep the earliest samples by time, file and line, whatever the order parts
finish in; problems are folded in part order) and evaluates the multi-observation indicators over all their
candidates in time order, exactly as a local run does. Workers compile the indicator set once each (it is sent
once, by digest, and kept).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ribat.hunt.compile import CompiledSet, Window, compile_indicators
from ribat.hunt.engine import HuntResult, HuntStats, Progress, complete, hunt
from ribat.hunt.readers import Kind, LogRange, Problems, open_logs, split_log

__all__ = ["BLOCK_BYTES", "Part", "PartResult", "hunt_distributed", "hunt_local", "parts_of"]

BLOCK_BYTES = 64 << 20
"""The default size of a block of a big log file (64 MiB)."""


@dataclass(frozen=True)
class Part:
    """One unit of work: a log file, or one ``block`` of it (the lines that start in a byte range)."""

    path: str
    block: LogRange | None = None

    @property
    def target(self) -> str | LogRange:
        """What the readers are given: the path, or the block."""
        return self.path if self.block is None else self.block


@dataclass
class PartResult:
    result: HuntResult
    problems: Problems


def parts_of(
    paths: Sequence[str | os.PathLike[str]], block_bytes: int = BLOCK_BYTES, *, kind: Kind | None = None
) -> list[Part]:
    """The parts of a hunt over ``paths``, in reading order: a file larger than ``block_bytes`` that can be cut
    (uncompressed, not STIX) is cut at line starts into blocks of about that size (reading it once here to
    number their lines); any other file, or one this process cannot read, is one part."""
    parts: list[Part] = []
    for path in paths:
        name = os.fspath(Path(path))  # as open_logs names a file, so that samples and problems name it alike
        try:
            blocks = split_log(name, block_bytes, kind=kind)
        except OSError:
            blocks = None
        parts.extend([Part(name)] if blocks is None else [Part(name, block) for block in blocks])
    return parts


_COMPILED: dict[str, CompiledSet] = {}


def _compiled(digest: str, indicators: bytes | Sequence[Mapping[str, Any]], window: Window) -> CompiledSet:
    """The compiled set for ``digest``, compiled once per process. ``indicators`` travel as one JSON document
    (bytes): Dask would scatter a list element by element, one task key per indicator."""
    found = _COMPILED.get(digest)
    if found is None:
        if len(_COMPILED) >= 2:
            _COMPILED.clear()
        listed = orjson.loads(indicators) if isinstance(indicators, bytes) else indicators
        found = _COMPILED[digest] = compile_indicators(listed, window=window)
    return found


def _run_part(
    part: Part,
    digest: str,
    indicators: bytes | Sequence[Mapping[str, Any]],
    window: Window,
    kind: str | None,
    mapping: Mapping[str, Any] | None,
    keep: int = 1000,
) -> PartResult:
    problems = Problems(keep=keep)
    compiled = _compiled(digest, indicators, window)
    batches = open_logs([part.target], kind=kind, mapping=mapping, problems=problems)  # type: ignore[arg-type]
    result = hunt(batches, compiled, window=window, finish=False)
    return PartResult(result, problems)


def digest_of(indicators: Sequence[Mapping[str, Any]], window: Window) -> str:
    text = orjson.dumps([list(indicators), window.since_us, window.until_us], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(text).hexdigest()


def hunt_local(
    paths: Sequence[str | os.PathLike[str]],
    indicators: Sequence[Mapping[str, Any]],
    *,
    window: Window = Window(),  # noqa: B008  (immutable)
    kind: str | None = None,
    mapping: Mapping[str, Any] | None = None,
    problems: Problems | None = None,
    progress: Progress | None = None,
) -> HuntResult:
    """The whole hunt in this process (what :func:`hunt_distributed` must equal); ``progress`` is called after
    each batch with the running totals."""
    compiled = compile_indicators(indicators, window=window)
    sink = Problems() if problems is None else problems
    batches = open_logs(list(paths), kind=kind, mapping=mapping, problems=sink)  # type: ignore[arg-type]
    return hunt(batches, compiled, window=window, progress=progress)


def hunt_distributed(
    paths: Sequence[str | os.PathLike[str]],
    indicators: Sequence[Mapping[str, Any]],
    *,
    scheduler: Any,
    window: Window = Window(),  # noqa: B008  (immutable)
    kind: str | None = None,
    mapping: Mapping[str, Any] | None = None,
    problems: Problems | None = None,
    block_bytes: int = BLOCK_BYTES,
) -> HuntResult:
    """The hunt on a Dask cluster: ``scheduler`` is a ``distributed.Client`` or a scheduler address
    (``tcp://host:port``). Every worker must be able to read the log paths; files larger than ``block_bytes``
    are cut into blocks (see :func:`parts_of`) when this process can read them too."""
    import distributed

    # distributed's API is untyped: held as Any.
    Client: Any = distributed.Client
    as_completed: Any = distributed.as_completed
    client: Any = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    sink = Problems() if problems is None else problems
    try:
        listed = list(indicators)
        digest = digest_of(listed, window)
        parts = parts_of(paths, block_bytes, kind=kind)  # type: ignore[arg-type]
        shipped = client.scatter(orjson.dumps(listed), broadcast=True, hash=False)
        futures = [
            client.submit(_run_part, part, digest, shipped, window, kind, mapping, sink.keep, pure=False)
            for part in parts
        ]
        order = {future.key: n for n, future in enumerate(futures)}
        found: list[Problems | None] = [None] * len(futures)
        merged = HuntResult({}, HuntStats(), {})
        for future in as_completed(futures):
            done: PartResult = future.result()
            merged.merge(done.result)
            merged.skipped = done.result.skipped  # every part compiled the same set: the same counts
            found[order[future.key]] = done.problems
            future.release()
        for part_problems in found:
            assert part_problems is not None
            sink.absorb(part_problems)
    finally:
        if client is not scheduler:
            client.close()
    # Only the multi-observation indicators with candidates are left to evaluate here: compile just those.
    waiting = set(merged.pending)
    compiled = compile_indicators((i for i in listed if i.get("id") in waiting), window=window)
    skipped = dict(merged.skipped)
    complete(merged, compiled)
    merged.skipped = skipped
    return merged
