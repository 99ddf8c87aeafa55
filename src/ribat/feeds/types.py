"""Plain data of the feeds context: a feed's definition and state, and the record of one run."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ribat.intel import Tlp

__all__ = ["Credentials", "Feed", "FeedKind", "FeedRun", "RunStatus", "RunTrigger"]


class FeedKind(StrEnum):
    """Where a feed pulls from, and so how it stays incremental."""

    TAXII = "taxii"  # a remote TAXII 2.1 collection; cursor: the last X-TAXII-Date-Added-Last
    MISP_FEED = "misp-feed"  # manifest.json + <uuid>.json; state: each event's manifest timestamp
    CSV = "csv"  # a CSV document at a URL; cursor: ETag / Last-Modified / content digest
    TEXT = "text"  # a plain IOC list at a URL; cursor as for csv
    DIRECTORY = "directory"  # local STIX 2.x JSON files; state: each file's mtime and size

    @property
    def is_remote(self) -> bool:
        """Sources that are always a URL (a MISP feed may be a URL or a local directory)."""
        return self in (FeedKind.TAXII, FeedKind.CSV, FeedKind.TEXT)


class RunStatus(StrEnum):
    """How a run ended.

    ``ok``: it reached the end of the source and nothing was rejected. ``partial``: it
    reached the end, but some objects, events or files were rejected (listed in the run's
    problems). ``error``: it stopped before the end (the source failed or could not be
    read); what it had committed stays, and the next run resumes from the saved cursor.
    ``running``: not finished yet (or the process running it died; the next claim of the
    feed closes such a run as an error).
    """

    RUNNING = "running"
    OK = "ok"
    PARTIAL = "partial"
    ERROR = "error"


class RunTrigger(StrEnum):
    SCHEDULE = "schedule"
    MANUAL = "manual"


@dataclass(frozen=True)
class Credentials:
    """How to authenticate to a remote source: an API key (sent as ``Authorization: Bearer``)
    or HTTP Basic user and password. Never shown by the API or the command line."""

    api_key: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    def as_json(self) -> dict[str, str]:
        data = {"api_key": self.api_key, "username": self.username, "password": self.password}
        return {k: v for k, v in data.items() if v is not None}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Credentials:
        return cls(api_key=data.get("api_key"), username=data.get("username"), password=data.get("password"))

    @property
    def kind(self) -> str:
        return "api-key" if self.api_key else "basic"


@dataclass(frozen=True)
class FeedRun:
    """One run of a feed. Counts are of STIX objects except ``failed``, which also counts
    source items (pages, events, files) that could not be read or converted; ``lost``
    counts fields the conversion could not carry into STIX 2.1 (each is in ``problems``)."""

    id: int
    feed_id: str
    trigger: RunTrigger
    started_us: int
    finished_us: int | None = None
    status: RunStatus = RunStatus.RUNNING
    fetched: int = 0
    stored: int = 0
    merged: int = 0
    failed: int = 0
    lost: int = 0
    error: str | None = None
    problems: tuple[str, ...] = ()

    @property
    def duration_ms(self) -> int | None:
        if self.finished_us is None:
            return None
        return (self.finished_us - self.started_us) // 1000


@dataclass(frozen=True)
class Feed:
    """A source with a schedule, pulled into a collection on behalf of a user.

    ``cursor`` is the source's small incremental state (TAXII ``added_after``, HTTP
    validators); per-item state (MISP events, files) is kept beside it, one row per item.
    ``mapping`` is the CSV column mapping (STIX field → column), empty for other kinds.
    ``next_due_us`` is when the scheduler runs it next.
    """

    id: str
    name: str
    kind: FeedKind
    source: str
    collection_id: str
    owner_org_id: str
    owner_user_id: str
    interval_minutes: int
    tlp: Tlp | None
    tags: tuple[str, ...]
    mapping: dict[str, str]
    credentials: Credentials | None
    enabled: bool
    next_due_us: int
    consecutive_failures: int
    created_us: int
    cursor: dict[str, Any] = field(default_factory=dict)
    last_run: FeedRun | None = None
