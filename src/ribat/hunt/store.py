"""The storage interface of the hunt context (a ``typing.Protocol``); ``_store_sql.SqlHuntStore`` implements it."""

from __future__ import annotations

from typing import Any, Protocol

from ribat.hunt.types import HuntJob

__all__ = ["HuntStore"]


class HuntStore(Protocol):
    def add(self, job: HuntJob) -> None: ...

    def get(self, job_id: str) -> HuntJob | None: ...

    def list_jobs(self, org_id: str, limit: int, offset: int) -> tuple[list[HuntJob], int]:
        """The organisation's jobs, newest first, one page, and how many there are."""
        ...

    def update(self, job_id: str, **values: Any) -> None:
        """Set columns of a job (``status``, progress figures, ``result``…; dicts and lists are stored as JSON)."""
        ...

    def runners(self) -> list[str]:
        """The processes (``host:pid``) that hold queued or running jobs."""
        ...

    def interrupt(self, runner: str, now_us: int, reason: str) -> int:
        """Mark the queued and running jobs of ``runner`` as failed with ``reason``; returns how many."""
        ...
