"""Plain data of the hunt context's jobs: a hunt started from the API or the web interface."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["HuntJob", "JobStatus"]


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class HuntJob:
    """A hunt job, run by the hub process ``runner`` (``host:pid``). ``params`` holds what was asked (the log names
    as sent, the collection, the window, the log kind and mapping, sharing); ``result`` the hits as
    ``ribat.hunt.sightings.to_json`` writes them, once done; ``shared`` what sharing the sightings did (the TAXII
    statuses), when asked."""

    id: str
    org_id: str
    user_id: str
    runner: str
    status: JobStatus
    params: dict[str, Any]
    created_us: int
    started_us: int | None = None
    finished_us: int | None = None
    records: int = 0
    bytes_total: int = 0
    rate: float = 0.0
    matches: int = 0
    indicators: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    problems: tuple[str, ...] = ()
    problem_count: int = 0
    result: dict[str, Any] | None = None
    error: str | None = None
    shared: dict[str, Any] | None = None
