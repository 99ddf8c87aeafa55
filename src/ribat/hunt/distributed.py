"""The same hunt on a Dask distributed cluster, with results identical to a local run.

The logs are split into *parts*, by file and block: a file larger than ``block_bytes`` (uncompressed, in a line
format) is cut at line starts into blocks of about that size, each read as a
:class:`~ribat.hunt.readers.LogRange` with its first line number counted on the client, so line numbers are
those of the whole file; any other file is one part. The parts are submitted biggest first, so that the last to
run are small ones. Every part runs the local engine on a worker with
``finish=False``, so that each returns its hits and the candidate records of the multi-observation indicators.
The client merges the parts (hits keep the earliest samples by time, file and line, whatever the order parts
finish in; problems are folded in part order) and evaluates the multi-observation indicators over all their
candidates in time order, exactly as a local run does. Workers compile the indicator set once each and keep it
by digest; a cluster whose workers all hold it is sent the digest alone. ``HuntResult.phases`` gives the
seconds spent before the parts (digest, cutting files, shipping), on them (the cluster's share) and after them
(this process's share).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ribat.hunt.compile import CompiledSet, Window, compile_indicators
from ribat.hunt.engine import HuntResult, HuntStats, Progress, complete, hunt
from ribat.hunt.readers import Kind, LogRange, Problems, open_logs, split_log

__all__ = ["BLOCK_BYTES", "NotCompiled", "Part", "PartResult", "hunt_distributed", "hunt_local", "parts_of"]

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

    def size(self) -> int:
        """The bytes of the part (of the file as stored, for a whole file; 0 when it cannot be read here)."""
        if self.block is not None:
            return self.block.end - self.block.start
        try:
            return os.path.getsize(self.path)
        except OSError:
            return 0


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


class NotCompiled(LookupError):
    """A part reached a worker that does not hold the compiled set and was not given the indicators."""


def _compiled(digest: str, indicators: bytes | None, window: Window) -> CompiledSet:
    """The compiled set for ``digest``, compiled once per process. ``indicators`` travel as one JSON document
    (bytes), and only to workers that do not hold the set yet: Dask would scatter a list element by element,
    one task key per indicator."""
    found = _COMPILED.get(digest)
    if found is None:
        if indicators is None:
            raise NotCompiled(digest)
        if len(_COMPILED) >= 2:
            _COMPILED.clear()
        found = _COMPILED[digest] = compile_indicators(orjson.loads(indicators), window=window)
    return found


def _holds(digest: str) -> bool:
    """Run on each worker: whether it holds the compiled set of ``digest``."""
    return digest in _COMPILED


def _run_part(
    part: Part,
    digest: str,
    indicators: bytes | None,
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


def digest_of(document: bytes, window: Window) -> str:
    """The key of a compiled set: the indicators as shipped (one JSON document) and the window."""
    digest = hashlib.sha256(orjson.dumps([window.since_us, window.until_us]))
    digest.update(document)
    return digest.hexdigest()


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
    started = time.perf_counter()
    try:
        listed = list(indicators)
        document = orjson.dumps(listed)
        digest = digest_of(document, window)
        parts = parts_of(paths, block_bytes, kind=kind)  # type: ignore[arg-type]
        # A warm cluster (every worker holds the compiled set) is sent the digest alone; otherwise the document
        # goes once to every worker. A part that lands on a worker without the set (one that joined since) is
        # sent again with the document.
        holding = client.run(_holds, digest)
        shipped: Any = None
        if not holding or not all(holding.values()):
            shipped = client.scatter(document, broadcast=True, hash=False)

        def submit(n: int, payload: Any, priority: int) -> Any:
            return client.submit(
                _run_part, parts[n], digest, payload, window, kind, mapping, sink.keep, pure=False, priority=priority
            )

        submitted = time.perf_counter()
        # The biggest parts first (the higher priority), so that the last to run are small ones and no worker
        # idles long at the end.
        by_size = sorted(range(len(parts)), key=lambda n: parts[n].size(), reverse=True)
        futures = [submit(n, shipped, len(parts) - rank) for rank, n in enumerate(by_size)]
        order = {future.key: n for n, future in zip(by_size, futures, strict=True)}
        found: list[Problems | None] = [None] * len(parts)
        merged = HuntResult({}, HuntStats(), {})
        # Results are fetched as parts finish, in the client's event loop, while the next ones run.
        running = as_completed(futures, with_results=True, raise_errors=False)
        for future, outcome in running:
            n = order[future.key]
            if future.status != "finished":
                if future.status != "error":  # cancelled: the cluster or the client went away
                    raise RuntimeError(f"part {n + 1} of {len(parts)} ({parts[n].path}) was {future.status}")
                _, error, trace = outcome
                if not isinstance(error, NotCompiled):
                    raise error.with_traceback(trace)
                if shipped is None:
                    shipped = client.scatter(document, broadcast=True, hash=False)
                again = submit(n, shipped, len(parts) + 1)
                order[again.key] = n
                running.add(again)
                continue
            done: PartResult = outcome
            merged.merge(done.result)
            merged.skipped = done.result.skipped  # every part compiled the same set: the same counts
            found[n] = done.problems
            future.release()
        for part_problems in found:
            assert part_problems is not None
            sink.absorb(part_problems)
        gathered = time.perf_counter()
    finally:
        if client is not scheduler:
            client.close()
    # Only the multi-observation indicators with candidates are left to evaluate here: compile just those.
    waiting = set(merged.pending)
    compiled = compile_indicators((i for i in listed if i.get("id") in waiting), window=window)
    skipped = dict(merged.skipped)
    complete(merged, compiled)
    merged.skipped = skipped
    merged.phases = {
        "prepare": submitted - started,
        "parts": gathered - submitted,
        "finish": time.perf_counter() - gathered,
    }
    return merged
