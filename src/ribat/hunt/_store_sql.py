"""The hunt job store on SQLAlchemy Core: SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import func, insert, or_, select, update

from ribat.db import Database
from ribat.hunt import _tables as t
from ribat.hunt.types import HuntJob, JobStatus

__all__ = ["SqlHuntStore"]

j = t.hunt_jobs
_JSON = {"params", "skipped", "problems", "result", "shared"}
_unfinished = or_(j.c.status == JobStatus.RUNNING.value, j.c.status == JobStatus.QUEUED.value)


def _job(row: Any) -> HuntJob:
    return HuntJob(
        id=row.id,
        org_id=row.org_id,
        user_id=row.user_id,
        runner=row.runner,
        status=JobStatus(row.status),
        params=orjson.loads(row.params),
        created_us=row.created_us,
        started_us=row.started_us,
        finished_us=row.finished_us,
        records=row.records,
        bytes_total=row.bytes_total,
        rate=row.rate,
        matches=row.matches,
        indicators=row.indicators,
        skipped=orjson.loads(row.skipped),
        problems=tuple(orjson.loads(row.problems)),
        problem_count=row.problem_count,
        result=None if row.result is None else orjson.loads(row.result),
        error=row.error,
        shared=None if row.shared is None else orjson.loads(row.shared),
    )


def _values(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key in _JSON:
            out[key] = None if value is None else orjson.dumps(value).decode()
        elif isinstance(value, JobStatus):
            out[key] = value.value
        else:
            out[key] = value
    return out


class SqlHuntStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, job: HuntJob) -> None:
        with self.db.write() as conn:
            conn.execute(
                insert(j).values(
                    **_values(
                        {
                            "id": job.id,
                            "org_id": job.org_id,
                            "user_id": job.user_id,
                            "runner": job.runner,
                            "status": job.status,
                            "params": job.params,
                            "created_us": job.created_us,
                            "records": 0,
                            "bytes_total": job.bytes_total,
                            "rate": 0.0,
                            "matches": 0,
                            "indicators": 0,
                            "skipped": {},
                            "problems": [],
                            "problem_count": 0,
                        }
                    )
                )
            )

    def get(self, job_id: str) -> HuntJob | None:
        with self.db.read() as conn:
            row = conn.execute(select(j).where(j.c.id == job_id)).first()
        return None if row is None else _job(row)

    def list_jobs(self, org_id: str, limit: int, offset: int) -> tuple[list[HuntJob], int]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(j)
                .where(j.c.org_id == org_id)
                .order_by(j.c.created_us.desc(), j.c.id)
                .limit(limit)
                .offset(offset)
            ).all()
            total = conn.execute(select(func.count()).select_from(j).where(j.c.org_id == org_id)).scalar_one()
        return [_job(r) for r in rows], int(total)

    def update(self, job_id: str, **values: Any) -> None:
        with self.db.write() as conn:
            conn.execute(update(j).where(j.c.id == job_id).values(**_values(values)))

    def runners(self) -> list[str]:
        with self.db.read() as conn:
            rows = conn.execute(select(j.c.runner).where(_unfinished).distinct()).all()
        return sorted(r.runner for r in rows)

    def interrupt(self, runner: str, now_us: int, reason: str) -> int:
        with self.db.write() as conn:
            done = conn.execute(
                update(j)
                .where(j.c.runner == runner, _unfinished)
                .values(status=JobStatus.FAILED.value, finished_us=now_us, error=reason)
            ).rowcount
        return int(done)
