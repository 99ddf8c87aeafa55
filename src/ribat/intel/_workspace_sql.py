"""The workspace's read queries on SQLAlchemy Core: search, one object's versions, links,
statistics. Every query takes the viewer's ``ReadRule`` and the collections it may read,
and applies the TLP policy inside SQL with ``_store_sql.visibility`` (the same predicate
the TAXII reads use), so counts and charts are right and never include a row the viewer
may not read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select

from ribat.db import Database
from ribat.intel import _tables as t
from ribat.intel._store_sql import META_COLUMNS, _version_predicate, stored_row, visibility
from ribat.intel.store import StoredRow
from ribat.intel.tlp import ReadRule, Tlp

__all__ = ["SearchSpec", "SqlWorkspace", "WorkspaceRow"]

o = t.stix_objects
WEEK_US = 7 * 24 * 3600 * 1_000_000


@dataclass(frozen=True)
class SearchSpec:
    """What to search for; empty fields do not filter."""

    text: str = ""
    types: tuple[str, ...] = ()
    tlp: Tlp | None = None
    author_org_id: str | None = None
    collection_ids: tuple[str, ...] = ()
    added_from_us: int | None = None
    added_to_us: int | None = None


@dataclass(frozen=True)
class WorkspaceRow:
    row: StoredRow
    collection_id: str


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _columns() -> tuple[Any, ...]:
    return (*META_COLUMNS, o.c.body, o.c.collection_id)


def _to_row(r: Any) -> WorkspaceRow:
    return WorkspaceRow(stored_row(r, with_body=True), r.collection_id)


class SqlWorkspace:
    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def _base(rule: ReadRule, collection_ids: Sequence[str], *, latest: bool) -> list[ColumnElement[bool]]:
        conds: list[ColumnElement[bool]] = [
            o.c.collection_id.in_(sorted(collection_ids)),
            o.c.deleted_us.is_(None),
            visibility(rule),
        ]
        if latest:
            conds.append(_version_predicate(("last",), rule))
        return conds

    def _search_conds(
        self, rule: ReadRule, collection_ids: Sequence[str], spec: SearchSpec
    ) -> list[ColumnElement[bool]]:
        ids = [c for c in collection_ids if not spec.collection_ids or c in spec.collection_ids]
        conds = self._base(rule, ids, latest=True)
        if spec.text.strip():
            for word in spec.text.lower().split():
                conds.append(func.lower(o.c.body).like(f"%{_like_escape(word)}%", escape="\\"))
        if spec.types:
            conds.append(o.c.type.in_(spec.types))
        if spec.tlp is not None:
            conds.append(o.c.tlp == int(spec.tlp))
        if spec.author_org_id is not None:
            conds.append(o.c.author_org_id == spec.author_org_id)
        if spec.added_from_us is not None:
            conds.append(o.c.date_added_us >= spec.added_from_us)
        if spec.added_to_us is not None:
            conds.append(o.c.date_added_us < spec.added_to_us)
        return conds

    def search(
        self, rule: ReadRule, collection_ids: Sequence[str], spec: SearchSpec, offset: int, limit: int
    ) -> tuple[list[WorkspaceRow], int]:
        """One page of the newest visible version of each matching object, newest first, and the total."""
        if not collection_ids:
            return [], 0
        conds = self._search_conds(rule, collection_ids, spec)
        query = select(*_columns()).where(*conds).order_by(o.c.date_added_us.desc(), o.c.pk.desc())
        count = select(func.count()).select_from(o).where(*conds)
        with self.db.read() as conn:
            total = int(conn.execute(count).scalar_one())
            rows = conn.execute(query.offset(offset).limit(limit)).all()
        return [_to_row(r) for r in rows], total

    def versions(self, rule: ReadRule, collection_ids: Sequence[str], object_id: str) -> list[WorkspaceRow]:
        """Every visible version of one object in the given collections, newest first."""
        if not collection_ids:
            return []
        conds = [*self._base(rule, collection_ids, latest=False), o.c.object_id == object_id]
        query = select(*_columns()).where(*conds).order_by(o.c.version_us.desc(), o.c.date_added_us.desc())
        with self.db.read() as conn:
            return [_to_row(r) for r in conn.execute(query)]

    def referring(
        self, rule: ReadRule, collection_ids: Sequence[str], object_type: str, object_id: str, limit: int
    ) -> list[WorkspaceRow]:
        """Newest visible versions of ``object_type`` objects whose JSON mentions ``object_id``."""
        if not collection_ids:
            return []
        conds = [
            *self._base(rule, collection_ids, latest=True),
            o.c.type == object_type,
            o.c.body.like(f'%"{_like_escape(object_id)}"%', escape="\\"),
        ]
        query = select(*_columns()).where(*conds).order_by(o.c.date_added_us.desc()).limit(limit)
        with self.db.read() as conn:
            return [_to_row(r) for r in conn.execute(query)]

    def latest_of(self, rule: ReadRule, collection_ids: Sequence[str], object_ids: Sequence[str]) -> list[WorkspaceRow]:
        if not collection_ids or not object_ids:
            return []
        conds = [*self._base(rule, collection_ids, latest=True), o.c.object_id.in_(sorted(set(object_ids)))]
        with self.db.read() as conn:
            return [_to_row(r) for r in conn.execute(select(*_columns()).where(*conds))]

    # -- statistics ----------------------------------------------------------------------------

    def _grouped(self, query: Select[Any]) -> list[tuple[Any, ...]]:
        with self.db.read() as conn:
            return [tuple(r) for r in conn.execute(query)]

    def per_member_week(
        self, rule: ReadRule, collection_ids: Sequence[str], since_us: int
    ) -> list[tuple[str | None, int, int]]:
        """(author organisation, week number since the epoch, versions added) for visible versions."""
        if not collection_ids:
            return []
        week = (o.c.date_added_us // WEEK_US).label("week")
        conds = [*self._base(rule, collection_ids, latest=False), o.c.date_added_us >= since_us]
        query = select(o.c.author_org_id, week, func.count()).where(*conds).group_by(o.c.author_org_id, week)
        return [(a, int(w), int(n)) for a, w, n in self._grouped(query)]

    def top_types(self, rule: ReadRule, collection_ids: Sequence[str], limit: int) -> list[tuple[str, int]]:
        if not collection_ids:
            return []
        n = func.count().label("n")
        query = (
            select(o.c.type, n)
            .where(*self._base(rule, collection_ids, latest=True))
            .group_by(o.c.type)
            .order_by(n.desc(), o.c.type)
            .limit(limit)
        )
        return [(str(ty), int(c)) for ty, c in self._grouped(query)]

    def total(self, rule: ReadRule, collection_ids: Sequence[str]) -> int:
        if not collection_ids:
            return 0
        query = select(func.count()).select_from(o).where(*self._base(rule, collection_ids, latest=True))
        with self.db.read() as conn:
            return int(conn.execute(query).scalar_one())

    def of_type(
        self, rule: ReadRule, collection_ids: Sequence[str], object_type: str, since_us: int | None, limit: int
    ) -> list[WorkspaceRow]:
        """Newest visible versions of one type, newest first."""
        if not collection_ids:
            return []
        conds = [*self._base(rule, collection_ids, latest=True), o.c.type == object_type]
        if since_us is not None:
            conds.append(o.c.date_added_us >= since_us)
        query = select(*_columns()).where(*conds).order_by(o.c.date_added_us.desc()).limit(limit)
        with self.db.read() as conn:
            return [_to_row(r) for r in conn.execute(query)]

    def count_of_type(self, rule: ReadRule, collection_ids: Sequence[str], object_type: str, since_us: int) -> int:
        if not collection_ids:
            return 0
        conds = [
            *self._base(rule, collection_ids, latest=True),
            o.c.type == object_type,
            o.c.date_added_us >= since_us,
        ]
        with self.db.read() as conn:
            return int(conn.execute(select(func.count()).select_from(o).where(*conds)).scalar_one())

    def types(self, rule: ReadRule, collection_ids: Sequence[str]) -> list[str]:
        if not collection_ids:
            return []
        query = select(o.c.type).where(*self._base(rule, collection_ids, latest=False)).distinct().order_by(o.c.type)
        with self.db.read() as conn:
            return [str(x) for x in conn.execute(query).scalars()]
