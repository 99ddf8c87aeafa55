"""The same hunt on a Dask distributed cluster, with results identical to a local run.

The logs are split into *parts* (each file is one part); every part runs the local engine on a worker with
``finish=False``, so that each returns its hits and the candidate records of the multi-observation indicators.
The client merges the parts (hits keep the earliest samples by time, file and line, whatever the order parts
finish in) and evaluates the multi-observation indicators over all their candidates in time order, exactly as
a local run does. Workers compile the indicator set once each (it is sent once, by digest, and kept).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from ribat.hunt.compile import CompiledSet, Window, compile_indicators
from ribat.hunt.engine import HuntResult, HuntStats, Progress, complete, hunt
from ribat.hunt.readers import Problem, Problems, open_logs

__all__ = ["Part", "PartResult", "hunt_distributed", "hunt_local", "parts_of"]


@dataclass(frozen=True)
class Part:
    """One unit of work: a log file."""

    path: str


@dataclass
class PartResult:
    result: HuntResult
    problems: list[Problem]
    problem_count: int


def parts_of(paths: Sequence[str | os.PathLike[str]]) -> list[Part]:
    return [Part(os.fspath(p)) for p in paths]


_COMPILED: dict[str, CompiledSet] = {}


def _compiled(digest: str, indicators: Sequence[Mapping[str, Any]], window: Window) -> CompiledSet:
    found = _COMPILED.get(digest)
    if found is None:
        if len(_COMPILED) >= 2:
            _COMPILED.clear()
        found = _COMPILED[digest] = compile_indicators(indicators, window=window)
    return found


def _run_part(
    part: Part,
    digest: str,
    indicators: Sequence[Mapping[str, Any]],
    window: Window,
    kind: str | None,
    mapping: Mapping[str, Any] | None,
) -> PartResult:
    problems = Problems()
    compiled = _compiled(digest, indicators, window)
    batches = open_logs([part.path], kind=kind, mapping=mapping, problems=problems)  # type: ignore[arg-type]
    result = hunt(batches, compiled, window=window, finish=False)
    return PartResult(result, problems.items, problems.count)


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
) -> HuntResult:
    """The hunt on a Dask cluster: ``scheduler`` is a ``distributed.Client`` or a scheduler address
    (``tcp://host:port``). Every worker must be able to read the log paths."""
    import distributed

    # distributed's API is untyped: held as Any.
    Client: Any = distributed.Client
    as_completed: Any = distributed.as_completed
    client: Any = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    try:
        listed = list(indicators)
        digest = digest_of(listed, window)
        shipped = client.scatter(listed, broadcast=True, hash=False)
        futures = [
            client.submit(_run_part, part, digest, shipped, window, kind, mapping, pure=False)
            for part in parts_of(paths)
        ]
        merged = HuntResult({}, HuntStats(), {})
        sink = Problems() if problems is None else problems
        for future in as_completed(futures):
            part: PartResult = future.result()
            merged.merge(part.result)
            merged.skipped = part.result.skipped
            for problem in part.problems:
                sink.add(problem.file, problem.line, problem.reason)
            sink.count += part.problem_count - len(part.problems)
    finally:
        if client is not scheduler:
            client.close()
    compiled = compile_indicators(listed, window=window)
    merged.skipped = dict(compiled.skipped)
    return complete(merged, compiled)
