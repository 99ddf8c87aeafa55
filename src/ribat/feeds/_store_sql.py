"""The feeds store on SQLAlchemy Core: SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, and_, delete, func, insert, or_, select, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from ribat.accounts import SecretBox
from ribat.db import Database
from ribat.errors import ConflictError
from ribat.feeds import _tables as t
from ribat.feeds.types import Credentials, Feed, FeedKind, FeedRun, RunStatus, RunTrigger
from ribat.intel import Tlp

__all__ = ["SqlFeedStore"]

f = t.feeds
r = t.feed_runs
i = t.feed_items

INTERRUPTED = "interrupted: the process running this feed stopped before the run finished"


def _json(data: Any) -> str:
    return orjson.dumps(data).decode()


def _definition(feed: Feed, box: SecretBox) -> dict[str, Any]:
    return {
        "name": feed.name,
        "kind": feed.kind.value,
        "source": feed.source,
        "collection_id": feed.collection_id,
        "owner_org_id": feed.owner_org_id,
        "owner_user_id": feed.owner_user_id,
        "interval_minutes": feed.interval_minutes,
        "tlp": None if feed.tlp is None else int(feed.tlp),
        "tags": orjson.dumps(list(feed.tags)).decode(),
        "mapping": orjson.dumps(feed.mapping).decode(),
        # Sealed: the hub must send them, so they cannot be hashed; the database alone does not reveal them.
        "credentials": None
        if feed.credentials is None
        else box.seal(orjson.dumps(feed.credentials.as_json()).decode()),
        "enabled": feed.enabled,
        "next_due_us": feed.next_due_us,
    }


def _feed(row: Any, box: SecretBox, last_run: FeedRun | None = None) -> Feed:
    opened = box.open(row.credentials) if row.credentials else None
    # Sealed under another hub secret (the key was changed): the feed runs without them, and
    # the remote answers 401 until they are set again.
    credentials = orjson.loads(opened) if opened else None
    return Feed(
        id=row.id,
        name=row.name,
        kind=FeedKind(row.kind),
        source=row.source,
        collection_id=row.collection_id,
        owner_org_id=row.owner_org_id,
        owner_user_id=row.owner_user_id,
        interval_minutes=row.interval_minutes,
        tlp=None if row.tlp is None else Tlp(row.tlp),
        tags=tuple(orjson.loads(row.tags)),
        mapping=dict(orjson.loads(row.mapping)),
        credentials=None if credentials is None else Credentials.from_json(credentials),
        enabled=bool(row.enabled),
        next_due_us=row.next_due_us,
        consecutive_failures=row.consecutive_failures,
        created_us=row.created_us,
        cursor=dict(orjson.loads(row.cursor)),
        last_run=last_run,
    )


def _run(row: Any) -> FeedRun:
    return FeedRun(
        id=row.id,
        feed_id=row.feed_id,
        trigger=RunTrigger(row.trigger),
        started_us=row.started_us,
        finished_us=row.finished_us,
        status=RunStatus(row.status),
        fetched=row.fetched,
        stored=row.stored,
        merged=row.merged,
        failed=row.failed,
        lost=row.lost,
        error=row.error,
        problems=tuple(orjson.loads(row.problems)),
    )


def _run_values(run: FeedRun) -> dict[str, Any]:
    return {
        "finished_us": run.finished_us,
        "status": run.status.value,
        "fetched": run.fetched,
        "stored": run.stored,
        "merged": run.merged,
        "failed": run.failed,
        "lost": run.lost,
        "error": run.error,
        "problems": orjson.dumps(list(run.problems)).decode(),
    }


class SqlFeedStore:
    def __init__(self, db: Database, box: SecretBox) -> None:
        self.db = db
        self.box = box

    # -- definitions ----------------------------------------------------------------------

    def add(self, feed: Feed, now_us: int) -> None:
        try:
            with self.db.write() as conn:
                conn.execute(
                    insert(f).values(
                        id=feed.id,
                        **_definition(feed, self.box),
                        cursor=orjson.dumps(feed.cursor).decode(),
                        lease_until_us=None,
                        consecutive_failures=feed.consecutive_failures,
                        created_us=feed.created_us,
                        updated_us=now_us,
                    )
                )
        except IntegrityError:
            raise ConflictError("feed", feed.name) from None

    def update(self, feed: Feed, now_us: int) -> None:
        try:
            with self.db.write() as conn:
                conn.execute(
                    update(f).where(f.c.id == feed.id).values(**_definition(feed, self.box), updated_us=now_us)
                )
        except IntegrityError:
            raise ConflictError("feed", feed.name) from None

    def get(self, ref: str) -> Feed | None:
        with self.db.read() as conn:
            row = conn.execute(select(f).where(f.c.id == ref)).first()
            if row is None:
                row = conn.execute(select(f).where(f.c.name == ref)).first()
            if row is None:
                return None
            last = self._last_runs(conn, [row.id])
        return _feed(row, self.box, last.get(row.id))

    def list_feeds(self, owner_org_id: str | None = None) -> list[Feed]:
        query = select(f).order_by(f.c.name)
        if owner_org_id is not None:
            query = query.where(f.c.owner_org_id == owner_org_id)
        with self.db.read() as conn:
            rows = conn.execute(query).all()
            last = self._last_runs(conn, [row.id for row in rows])
        return [_feed(row, self.box, last.get(row.id)) for row in rows]

    def remove(self, feed_id: str) -> None:
        with self.db.write() as conn:
            conn.execute(delete(r).where(r.c.feed_id == feed_id))
            conn.execute(delete(i).where(i.c.feed_id == feed_id))
            conn.execute(delete(f).where(f.c.id == feed_id))

    # -- schedule and lease -----------------------------------------------------------------

    def due(self, now_us: int) -> list[Feed]:
        query = (
            select(f)
            .where(
                f.c.enabled == true(),
                f.c.next_due_us <= now_us,
                or_(f.c.lease_until_us.is_(None), f.c.lease_until_us <= now_us),
            )
            .order_by(f.c.next_due_us, f.c.name)
        )
        with self.db.read() as conn:
            rows = conn.execute(query).all()
        return [_feed(row, self.box) for row in rows]

    def claim(self, feed_id: str, now_us: int, lease_until_us: int, *, due_only: bool) -> bool:
        conditions = [f.c.id == feed_id, or_(f.c.lease_until_us.is_(None), f.c.lease_until_us <= now_us)]
        if due_only:
            conditions += [f.c.enabled == true(), f.c.next_due_us <= now_us]
        with self.db.write() as conn:
            result = conn.execute(update(f).where(and_(*conditions)).values(lease_until_us=lease_until_us))
        return result.rowcount == 1

    def renew(self, feed_id: str, lease_until_us: int) -> None:
        with self.db.write() as conn:
            conn.execute(update(f).where(f.c.id == feed_id).values(lease_until_us=lease_until_us))

    def release(self, feed_id: str, next_due_us: int, consecutive_failures: int) -> None:
        with self.db.write() as conn:
            conn.execute(
                update(f)
                .where(f.c.id == feed_id)
                .values(lease_until_us=None, next_due_us=next_due_us, consecutive_failures=consecutive_failures)
            )

    # -- incremental state ------------------------------------------------------------------

    def save_cursor(self, feed_id: str, cursor: Mapping[str, Any]) -> None:
        with self.db.write() as conn:
            conn.execute(update(f).where(f.c.id == feed_id).values(cursor=orjson.dumps(dict(cursor)).decode()))

    def items(self, feed_id: str) -> dict[str, str]:
        with self.db.read() as conn:
            rows = conn.execute(select(i.c.item_key, i.c.marker).where(i.c.feed_id == feed_id)).all()
        return {row.item_key: row.marker for row in rows}

    def set_items(self, feed_id: str, updates: Mapping[str, str | None]) -> None:
        if not updates:
            return
        gone = [key for key, marker in updates.items() if marker is None]
        kept = [{"feed_id": feed_id, "item_key": k, "marker": m} for k, m in updates.items() if m is not None]
        with self.db.write() as conn:
            if gone:
                conn.execute(delete(i).where(i.c.feed_id == feed_id, i.c.item_key.in_(gone)))
            if kept:
                conn.execute(self._upsert(conn), kept)

    @staticmethod
    def _upsert(conn: Connection) -> Any:
        if conn.dialect.name == "postgresql":
            pg = pg_insert(i)
            return pg.on_conflict_do_update(
                index_elements=[i.c.feed_id, i.c.item_key], set_={"marker": pg.excluded.marker}
            )
        lite = sqlite_insert(i)
        return lite.on_conflict_do_update(
            index_elements=[i.c.feed_id, i.c.item_key], set_={"marker": lite.excluded.marker}
        )

    # -- runs -----------------------------------------------------------------------------------

    def start_run(self, run: FeedRun) -> FeedRun:
        with self.db.write() as conn:
            conn.execute(
                update(r)
                .where(r.c.feed_id == run.feed_id, r.c.status == RunStatus.RUNNING.value)
                .values(status=RunStatus.ERROR.value, error=INTERRUPTED, finished_us=run.started_us)
            )
            result = conn.execute(
                insert(r).values(
                    feed_id=run.feed_id, trigger=run.trigger.value, started_us=run.started_us, **_run_values(run)
                )
            )
            run_id = result.inserted_primary_key[0] if result.inserted_primary_key else None
        assert run_id is not None
        return FeedRun(
            id=int(run_id),
            feed_id=run.feed_id,
            trigger=run.trigger,
            started_us=run.started_us,
            status=run.status,
        )

    def finish_run(self, run: FeedRun) -> None:
        with self.db.write() as conn:
            conn.execute(update(r).where(r.c.id == run.id).values(**_run_values(run)))

    def runs(self, feed_id: str, limit: int, offset: int) -> list[FeedRun]:
        query = select(r).where(r.c.feed_id == feed_id).order_by(r.c.started_us.desc(), r.c.id.desc())
        with self.db.read() as conn:
            rows = conn.execute(query.limit(limit).offset(offset)).all()
        return [_run(row) for row in rows]

    def last_runs(self, feed_ids: Sequence[str]) -> dict[str, FeedRun]:
        with self.db.read() as conn:
            return self._last_runs(conn, feed_ids)

    @staticmethod
    def _last_runs(conn: Connection, feed_ids: Sequence[str]) -> dict[str, FeedRun]:
        if not feed_ids:
            return {}
        latest = (
            select(r.c.feed_id, func.max(r.c.id).label("run_id"))
            .where(r.c.feed_id.in_(list(feed_ids)))
            .group_by(r.c.feed_id)
            .subquery()
        )
        rows = conn.execute(select(r).join(latest, r.c.id == latest.c.run_id)).all()
        return {row.feed_id: _run(row) for row in rows}
