"""The federation store on SQLAlchemy Core: SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import and_, delete, func, insert, or_, select, true, update
from sqlalchemy.exc import IntegrityError

from ribat.accounts import SecretBox
from ribat.db import Database
from ribat.errors import ConflictError
from ribat.federation import _tables as t
from ribat.federation.types import Direction, Peer, PeerPair, PeerRun, RunStatus
from ribat.intel import Tlp

__all__ = ["SqlPeerStore"]

p = t.peers
c = t.peer_collections
k = t.peer_cursors
r = t.peer_runs

INTERRUPTED = "interrupted: the process running this sync stopped before the run finished"
_DONE = (RunStatus.OK.value, RunStatus.PARTIAL.value)


def _definition(peer: Peer) -> dict[str, Any]:
    return {
        "name": peer.name,
        "url": peer.url,
        "direction": peer.direction.value,
        "interval_seconds": peer.interval_seconds,
        "org_id": peer.org_id,
        "sync_user_id": peer.sync_user_id,
        "max_tlp": int(peer.max_tlp),
        "include_types": orjson.dumps(list(peer.include_types)).decode(),
        "exclude_types": orjson.dumps(list(peer.exclude_types)).decode(),
        "enabled": peer.enabled,
    }


def _run(row: Any) -> PeerRun:
    return PeerRun(
        id=row.id,
        peer_id=row.peer_id,
        trigger=row.trigger,
        runner=row.runner,
        status=RunStatus(row.status),
        started_us=row.started_us,
        finished_us=row.finished_us,
        pulled=row.pulled,
        pushed=row.pushed,
        already=row.already,
        echoes=row.echoes,
        rejected=row.rejected,
        deleted=row.deleted,
        problems=tuple(orjson.loads(row.problems)),
        error=row.error,
    )


class SqlPeerStore:
    def __init__(self, db: Database, box: SecretBox) -> None:
        self.db = db
        self.box = box

    # -- peers ---------------------------------------------------------------------------

    def add(self, peer: Peer, key: str | None) -> None:
        try:
            with self.db.write() as conn:
                conn.execute(
                    insert(p).values(
                        id=peer.id,
                        key_cipher=None if key is None else self.box.seal(key),
                        remote_hub_id=peer.remote_hub_id,
                        next_due_us=peer.next_due_us,
                        consecutive_failures=0,
                        created_us=peer.created_us,
                        **_definition(peer),
                    )
                )
                self._write_pairs(conn, peer)
        except IntegrityError:
            raise ConflictError("peer", peer.name) from None

    def update(self, peer: Peer, key: str | None, *, replace_key: bool) -> None:
        values = _definition(peer)
        if replace_key:
            values["key_cipher"] = None if key is None else self.box.seal(key)
        try:
            with self.db.write() as conn:
                conn.execute(update(p).where(p.c.id == peer.id).values(**values))
                conn.execute(delete(c).where(c.c.peer_id == peer.id))
                self._write_pairs(conn, peer)
        except IntegrityError:
            raise ConflictError("peer", peer.name) from None

    @staticmethod
    def _write_pairs(conn: Any, peer: Peer) -> None:
        if peer.pairs:
            conn.execute(
                insert(c),
                [
                    {"peer_id": peer.id, "local_collection_id": pair.local_id, "remote_collection_id": pair.remote_id}
                    for pair in peer.pairs
                ],
            )

    def _peers(self, where: Any) -> list[Peer]:
        with self.db.read() as conn:
            rows = conn.execute(select(p).where(where).order_by(p.c.name)).all()
            pairs: dict[str, list[PeerPair]] = {}
            if rows:
                for pr in conn.execute(
                    select(c)
                    .where(c.c.peer_id.in_([row.id for row in rows]))
                    .order_by(c.c.local_collection_id, c.c.remote_collection_id)
                ):
                    pairs.setdefault(pr.peer_id, []).append(PeerPair(pr.local_collection_id, pr.remote_collection_id))
        return [
            Peer(
                id=row.id,
                name=row.name,
                url=row.url,
                direction=Direction(row.direction),
                interval_seconds=row.interval_seconds,
                org_id=row.org_id,
                sync_user_id=row.sync_user_id,
                remote_hub_id=row.remote_hub_id,
                max_tlp=Tlp(row.max_tlp),
                include_types=tuple(orjson.loads(row.include_types)),
                exclude_types=tuple(orjson.loads(row.exclude_types)),
                enabled=bool(row.enabled),
                next_due_us=row.next_due_us,
                consecutive_failures=row.consecutive_failures,
                created_us=row.created_us,
                pairs=tuple(pairs.get(row.id, ())),
                has_key=row.key_cipher is not None,
                lease_runner=row.lease_runner,
                lease_until_us=row.lease_until_us,
            )
            for row in rows
        ]

    def get(self, ref: str) -> Peer | None:
        found = self._peers(or_(p.c.id == ref, p.c.name == ref))
        return found[0] if found else None

    def list_peers(self) -> list[Peer]:
        return self._peers(true())

    def by_sync_user(self, user_id: str) -> Peer | None:
        found = self._peers(p.c.sync_user_id == user_id)
        return found[0] if found else None

    def key(self, peer_id: str) -> str | None:
        with self.db.read() as conn:
            sealed = conn.execute(select(p.c.key_cipher).where(p.c.id == peer_id)).scalar_one_or_none()
        return self.box.open(sealed) if sealed else None

    def set_remote_hub(self, peer_id: str, hub_id: str) -> None:
        with self.db.write() as conn:
            conn.execute(update(p).where(p.c.id == peer_id).values(remote_hub_id=hub_id))

    def remove(self, peer_id: str) -> None:
        with self.db.write() as conn:
            for table in (r, k, c):
                conn.execute(delete(table).where(table.c.peer_id == peer_id))
            conn.execute(delete(p).where(p.c.id == peer_id))

    # -- schedule and lease -------------------------------------------------------------------

    def due(self, now_us: int) -> list[Peer]:
        starts = [d.value for d in Direction if d is not Direction.SERVE]
        return sorted(
            self._peers(
                and_(
                    p.c.enabled == true(),
                    p.c.direction.in_(starts),
                    p.c.next_due_us <= now_us,
                    or_(p.c.lease_until_us.is_(None), p.c.lease_until_us <= now_us),
                )
            ),
            key=lambda peer: peer.next_due_us,
        )

    def claim(self, peer_id: str, now_us: int, lease_until_us: int, runner: str, *, due_only: bool) -> bool:
        conditions = [p.c.id == peer_id, or_(p.c.lease_until_us.is_(None), p.c.lease_until_us <= now_us)]
        if due_only:
            conditions += [p.c.enabled == true(), p.c.next_due_us <= now_us]
        with self.db.write() as conn:
            result = conn.execute(
                update(p).where(and_(*conditions)).values(lease_until_us=lease_until_us, lease_runner=runner)
            )
        return result.rowcount == 1

    def lease_holder(self, peer_id: str) -> tuple[str | None, int | None]:
        with self.db.read() as conn:
            row = conn.execute(select(p.c.lease_runner, p.c.lease_until_us).where(p.c.id == peer_id)).first()
        return (None, None) if row is None else (row.lease_runner, row.lease_until_us)

    def break_lease(self, peer_id: str, runner: str) -> bool:
        with self.db.write() as conn:
            result = conn.execute(
                update(p)
                .where(p.c.id == peer_id, p.c.lease_runner == runner, p.c.lease_until_us.is_not(None))
                .values(lease_until_us=None, lease_runner=None)
            )
        return result.rowcount == 1

    def renew(self, peer_id: str, lease_until_us: int) -> None:
        with self.db.write() as conn:
            conn.execute(update(p).where(p.c.id == peer_id).values(lease_until_us=lease_until_us))

    def release(self, peer_id: str, next_due_us: int, consecutive_failures: int) -> None:
        with self.db.write() as conn:
            conn.execute(
                update(p)
                .where(p.c.id == peer_id)
                .values(
                    lease_until_us=None,
                    lease_runner=None,
                    next_due_us=next_due_us,
                    consecutive_failures=consecutive_failures,
                )
            )

    # -- checkpoints ----------------------------------------------------------------------------

    def cursor(self, peer_id: str, pair: PeerPair, stream: str) -> str | None:
        with self.db.read() as conn:
            found = conn.execute(
                select(k.c.cursor).where(
                    k.c.peer_id == peer_id,
                    k.c.local_collection_id == pair.local_id,
                    k.c.remote_collection_id == pair.remote_id,
                    k.c.stream == stream,
                )
            ).scalar_one_or_none()
        return None if found is None else str(found)

    def save_cursor(self, peer_id: str, pair: PeerPair, stream: str, cursor: str, now_us: int) -> None:
        key = {
            "peer_id": peer_id,
            "local_collection_id": pair.local_id,
            "remote_collection_id": pair.remote_id,
            "stream": stream,
        }
        with self.db.write() as conn:
            changed = conn.execute(
                update(k)
                .where(*(k.c[name] == value for name, value in key.items()))
                .values(cursor=cursor, updated_us=now_us)
            )
            if changed.rowcount == 0:
                conn.execute(insert(k).values(cursor=cursor, updated_us=now_us, **key))

    def cursors(self, peer_id: str) -> dict[tuple[str, str, str], str]:
        with self.db.read() as conn:
            rows = conn.execute(select(k).where(k.c.peer_id == peer_id)).all()
        return {(row.local_collection_id, row.remote_collection_id, row.stream): row.cursor for row in rows}

    # -- runs -----------------------------------------------------------------------------------

    def start_run(self, run: PeerRun) -> None:
        with self.db.write() as conn:
            conn.execute(
                update(r)
                .where(r.c.peer_id == run.peer_id, r.c.status == RunStatus.RUNNING.value)
                .values(status=RunStatus.INTERRUPTED.value, error=INTERRUPTED, finished_us=run.started_us)
            )
            conn.execute(insert(r).values(**self._values(run)))

    def finish_run(self, run: PeerRun) -> None:
        with self.db.write() as conn:
            conn.execute(update(r).where(r.c.id == run.id).values(**self._values(run)))

    @staticmethod
    def _values(run: PeerRun) -> dict[str, Any]:
        return {
            "id": run.id,
            "peer_id": run.peer_id,
            "trigger": run.trigger,
            "runner": run.runner,
            "status": run.status.value,
            "started_us": run.started_us,
            "finished_us": run.finished_us,
            "pulled": run.pulled,
            "pushed": run.pushed,
            "already": run.already,
            "echoes": run.echoes,
            "rejected": run.rejected,
            "deleted": run.deleted,
            "problems": orjson.dumps(list(run.problems)).decode(),
            "error": run.error,
        }

    def runs(self, peer_id: str, limit: int, offset: int) -> list[PeerRun]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(r)
                .where(r.c.peer_id == peer_id)
                .order_by(r.c.started_us.desc(), r.c.id)
                .limit(limit)
                .offset(offset)
            ).all()
        return [_run(row) for row in rows]

    def last_runs(self, peer_ids: Sequence[str]) -> dict[str, PeerRun]:
        if not peer_ids:
            return {}
        newest = (
            select(r.c.peer_id, func.max(r.c.started_us).label("started"))
            .where(r.c.peer_id.in_(list(peer_ids)))
            .group_by(r.c.peer_id)
            .subquery()
        )
        with self.db.read() as conn:
            rows = conn.execute(
                select(r).join(newest, and_(r.c.peer_id == newest.c.peer_id, r.c.started_us == newest.c.started))
            ).all()
        return {row.peer_id: _run(row) for row in rows}

    def last_success(self, peer_ids: Sequence[str]) -> dict[str, int]:
        if not peer_ids:
            return {}
        with self.db.read() as conn:
            rows = conn.execute(
                select(r.c.peer_id, func.max(r.c.finished_us))
                .where(r.c.peer_id.in_(list(peer_ids)), r.c.status.in_(_DONE))
                .group_by(r.c.peer_id)
            ).all()
        return {peer_id: finished for peer_id, finished in rows if finished is not None}
