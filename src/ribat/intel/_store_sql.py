"""The intel store on SQLAlchemy Core: SQLite (WAL, one writer) and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from contextlib import closing
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    case,
    delete,
    distinct,
    exists,
    false,
    func,
    insert,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ribat.clock import format_us, parse_timestamp_us
from ribat.db import Database
from ribat.intel import _tables as t
from ribat.intel.boundary import Boundary, Provenance
from ribat.intel.store import (
    CorrelatedRow,
    FlaggedRow,
    NewVersion,
    SharingTally,
    SightingReader,
    StoredRow,
    Tombstone,
    TombstoneTarget,
)
from ribat.intel.tlp import ReadRule, Tlp
from ribat.intel.types import Collection, Grant, ObjectFilter, Status, StatusDetail

__all__ = ["SqlIntelStore"]

_CHUNK = 500
o = t.stix_objects


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def visibility(rule: ReadRule, obj: Any = o, pk: Any = None) -> ColumnElement[bool]:
    """``ribat.intel.tlp.ReadRule`` as a SQL predicate on a ``stix_objects`` alias (or on any
    table with its policy columns, whose version key column is ``pk``)."""
    rec = t.object_recipients
    if pk is None:
        pk = obj.c.pk
    conds: list[ColumnElement[bool]] = [obj.c.tlp <= int(rule.open_up_to)]
    if rule.org_id is not None:
        named = [and_(rec.c.kind == "org", rec.c.ref_id == rule.org_id)]
        if rule.circle_ids:
            named.append(and_(rec.c.kind == "circle", rec.c.ref_id.in_(sorted(rule.circle_ids))))
        amber_named = exists().where(rec.c.object_pk == pk, or_(*named))
        conds.append(
            and_(
                obj.c.tlp == int(Tlp.AMBER),
                or_(
                    obj.c.author_org_id == rule.org_id,
                    and_(obj.c.has_recipients == true(), amber_named),
                ),
            )
        )
        conds.append(and_(obj.c.tlp == int(Tlp.AMBER_STRICT), obj.c.author_org_id == rule.org_id))
    if rule.user_id is not None:
        red_named = exists().where(rec.c.object_pk == pk, rec.c.kind == "user", rec.c.ref_id == rule.user_id)
        conds.append(
            and_(
                obj.c.tlp == int(Tlp.RED),
                or_(
                    obj.c.author_user_id == rule.user_id,
                    and_(obj.c.has_recipients == true(), red_named),
                ),
            )
        )
    return or_(*conds)


def boundary_predicate(boundary: Boundary, obj: Any = o) -> ColumnElement[bool]:
    """``ribat.intel.boundary.crosses`` (less the TLP engine's own rule, which ``visibility`` is) as a SQL
    predicate on ``stix_objects`` (or an alias of it)."""
    conds: list[ColumnElement[bool]] = [obj.c.tlp <= int(boundary.ceiling)]
    if boundary.include_types:
        conds.append(obj.c.type.in_(sorted(boundary.include_types)))
    if boundary.exclude_types:
        conds.append(obj.c.type.not_in(sorted(boundary.exclude_types)))
    conds.append(or_(obj.c.via_peer_id.is_(None), obj.c.via_peer_id != boundary.peer_id))
    for hub in sorted(boundary.hubs):
        conds.append(or_(obj.c.hops.is_(None), ~obj.c.hops.contains(f",{hub},", autoescape=True)))
    return and_(*conds)


def _version_predicate(
    versions: Sequence[str], rule: ReadRule | None, *, one_copy: bool = True, boundary: Boundary | None = None
) -> ColumnElement[bool]:
    """TAXII ``match[version]`` (``last``, ``first``, ``all`` or exact timestamps, ORed),
    judged among the versions the viewer may read, one copy per version.

    ``last`` is the newest version the viewer may read: a newer version it may not read
    must neither hide the object nor reveal that it exists. When several organisations
    hold the same version, the viewer gets the first copy it may read. For a peer hub, what
    it may read is what crosses its ``boundary``: a copy or a newer version held back by the
    peer's policy must not hide one that crosses.
    """
    other = o.alias("other")
    same_object = [
        other.c.collection_id == o.c.collection_id,
        other.c.object_id == o.c.object_id,
        other.c.deleted_us.is_(None),
    ]
    if rule is not None:
        same_object.append(visibility(rule, other))
    if boundary is not None:
        same_object.append(boundary_predicate(boundary, other))
    first_copy: ColumnElement[bool] = (
        ~exists().where(*same_object, other.c.version_us == o.c.version_us, other.c.pk < o.c.pk) if one_copy else true()
    )
    conds: list[ColumnElement[bool]] = []
    stamps: list[int] = []
    for v in versions:
        if v == "all":
            return first_copy
        if v == "last":
            conds.append(~exists().where(*same_object, other.c.version_us > o.c.version_us))
        elif v == "first":
            conds.append(~exists().where(*same_object, other.c.version_us < o.c.version_us))
        else:
            stamps.append(parse_timestamp_us(v))
    if stamps:
        conds.append(o.c.version_us.in_(stamps))
    return and_(or_(*conds), first_copy) if conds else false()


_TLPS = tuple(Tlp)


def stored_row(r: Any, with_body: bool) -> StoredRow:
    """A row selected as ``(*META_COLUMNS, body?)`` as a StoredRow."""
    return StoredRow(
        r[0],
        r[1],
        r[2],
        r[3],
        r[4],
        r[5],
        r[6],
        _TLPS[r[7]],
        r[8],
        r[9],
        bool(r[10]),
        bool(r[11]),
        r[12] if with_body else None,
    )


META_COLUMNS = (
    o.c.pk,
    o.c.object_id,
    o.c.type,
    o.c.spec_version,
    o.c.version_us,
    o.c.version_text,
    o.c.date_added_us,
    o.c.tlp,
    o.c.author_org_id,
    o.c.author_user_id,
    o.c.has_recipients,
    o.c.revoked,
)


_INSERT_COLUMNS = (
    "collection_id",
    "object_id",
    "type",
    "spec_version",
    "version_us",
    "version_text",
    "date_added_us",
    "tlp",
    "author_org_id",
    "author_user_id",
    "has_recipients",
    "revoked",
    "body",
    "origin_hub",
    "hops",
    "via_peer_id",
    "tombstone_shared",
)


_INDEX_COLUMNS = (
    "object_pk, kind, value, range_key, collection_id, object_id, tlp, author_org_id, author_user_id, has_recipients"
)


class _GrowthSchedule:
    """When to refresh the planner's statistics while the store grows: after this process
    has written ``first`` versions, then each time that count doubles. Without statistics
    PostgreSQL plans the ingest's existence check as a scan, and an import of a few hundred
    thousand objects into a fresh database slows down twentyfold before it ends; a handful of
    ``ANALYZE`` runs (each sampling at most 30,000 rows) keeps it flat."""

    def __init__(self, first: int = 10_000) -> None:
        self._written = 0
        self._next = first
        self._lock = threading.Lock()

    def wrote(self, count: int) -> bool:
        with self._lock:
            self._written += count
            if self._written < self._next:
                return False
            self._next = self._written * 2
            return True


class SqlIntelStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._statistics = _GrowthSchedule()
        mark = "?" if db.is_sqlite else "%s"
        # Built from constants only (table and column names), never from input.
        self._insert_sql = (
            f"INSERT INTO {o.name} ({', '.join(_INSERT_COLUMNS)}) VALUES ({', '.join([mark] * len(_INSERT_COLUMNS))})"  # noqa: S608
        )

    # -- collections -------------------------------------------------------------

    def add_collection(self, collection: Collection, created_us: int) -> None:
        with self.db.write() as conn:
            conn.execute(
                insert(t.collections).values(
                    id=collection.id,
                    title=collection.title,
                    description=collection.description,
                    alias=collection.alias,
                    default_tlp=int(collection.default_tlp),
                    owner_org_id=collection.owner_org_id,
                    last_date_added_us=0,
                    created_us=created_us,
                )
            )
            self._write_grants(conn, collection.id, collection.grants)

    def _write_grants(self, conn: Connection, collection_id: str, grants: Sequence[Grant]) -> None:
        conn.execute(delete(t.collection_grants).where(t.collection_grants.c.collection_id == collection_id))
        merged: dict[tuple[str, str], Grant] = {}
        for g in grants:
            key = (g.principal_kind, g.principal_id)
            prev = merged.get(key)
            if prev is not None:
                g = Grant(
                    g.principal_kind,
                    g.principal_id,
                    g.can_read or prev.can_read,
                    g.can_write or prev.can_write,
                )
            merged[key] = g
        if merged:
            conn.execute(
                insert(t.collection_grants),
                [
                    {
                        "collection_id": collection_id,
                        "principal_kind": g.principal_kind,
                        "principal_id": g.principal_id,
                        "can_read": g.can_read,
                        "can_write": g.can_write,
                    }
                    for g in merged.values()
                ],
            )

    def set_grants(self, collection_id: str, grants: Sequence[Grant]) -> None:
        with self.db.write() as conn:
            self._write_grants(conn, collection_id, grants)

    def _collections(self, conn: Connection, where: ColumnElement[bool] | None) -> list[Collection]:
        query = select(t.collections).order_by(t.collections.c.created_us, t.collections.c.id)
        if where is not None:
            query = query.where(where)
        rows = conn.execute(query).all()
        if not rows:
            return []
        grants: dict[str, list[Grant]] = {}
        for g in conn.execute(
            select(t.collection_grants).where(t.collection_grants.c.collection_id.in_([r.id for r in rows]))
        ):
            grants.setdefault(g.collection_id, []).append(
                Grant(g.principal_kind, g.principal_id, bool(g.can_read), bool(g.can_write))
            )
        return [
            Collection(
                id=r.id,
                title=r.title,
                description=r.description,
                alias=r.alias,
                default_tlp=Tlp(r.default_tlp),
                owner_org_id=r.owner_org_id,
                grants=tuple(sorted(grants.get(r.id, []), key=lambda g: (g.principal_kind, g.principal_id))),
            )
            for r in rows
        ]

    def collections(self) -> list[Collection]:
        with self.db.read() as conn:
            return self._collections(conn, None)

    def collection(self, ref: str) -> Collection | None:
        with self.db.read() as conn:
            found = self._collections(conn, or_(t.collections.c.id == ref, t.collections.c.alias == ref))
        return found[0] if found else None

    # -- writing object versions --------------------------------------------------------

    def tlp_markings(self, marking_ids: Sequence[str]) -> dict[str, Tlp]:
        if not marking_ids:
            return {}
        found: dict[str, Tlp] = {}
        with self.db.read() as conn:
            for chunk in _chunks(sorted(set(marking_ids))):
                for mid, level in conn.execute(
                    select(t.tlp_markings.c.marking_id, t.tlp_markings.c.tlp).where(
                        t.tlp_markings.c.marking_id.in_(chunk)
                    )
                ):
                    found[mid] = Tlp(level)
        return found

    def _insert_ignore(self, conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        stmt = (pg_insert if not self.db.is_sqlite else sqlite_insert)(table).on_conflict_do_nothing()
        conn.execute(stmt, rows)

    def put_versions(
        self,
        collection_id: str,
        versions: Sequence[NewVersion],
        tlp_markings: Mapping[str, Tlp],
        now_us: int,
        *,
        status_of: Callable[[list[bool]], Status],
        user_id: str | None,
    ) -> Status:
        with self.db.write() as conn:
            coll = t.collections
            query = select(coll.c.last_date_added_us).where(coll.c.id == collection_id)
            if not self.db.is_sqlite:
                query = query.with_for_update()
            last = conn.execute(query).scalar_one()

            self._insert_ignore(
                conn,
                t.tlp_markings,
                [{"marking_id": k, "tlp": int(v)} for k, v in tlp_markings.items()],
            )

            # What the same author organisation already holds: (author, object_id,
            # version_us) -> (pk, deleted?), and for version-less objects (SCOs) the
            # bodies, to recognise a repeat of the same content. Another organisation's
            # copy of the same version is not a duplicate: each organisation shares its
            # copy under its own TLP, and telling a poster "already stored" about a copy
            # it cannot read would reveal it.
            ids = sorted({v.object_id for v in versions})
            authors = sorted({v.author_org_id for v in versions if v.author_org_id is not None})
            same_author = o.c.author_org_id.in_(authors) if authors else o.c.author_org_id.is_(None)
            existing: dict[tuple[str | None, str, int], tuple[int, bool]] = {}
            versionless_ids = sorted({v.object_id for v in versions if v.version_us is None})
            bodies: dict[tuple[str | None, str, str], tuple[int, bool]] = {}
            stored = self._existing_versions(conn, collection_id, ids, authors, same_author)
            for pk, author, oid, ver, deleted in stored:
                existing[(author, oid, ver)] = (pk, deleted is not None)
            for chunk in _chunks(versionless_ids):
                for pk, author, oid, body, deleted in conn.execute(
                    select(o.c.pk, o.c.author_org_id, o.c.object_id, o.c.body, o.c.deleted_us).where(
                        o.c.collection_id == collection_id, o.c.object_id.in_(chunk), same_author
                    )
                ):
                    bodies[(author, oid, body)] = (pk, deleted is not None)

            stamp = max(last, now_us - 1)
            first_stamp = stamp + 1
            rows: list[tuple[Any, ...]] = []
            with_recipients: list[tuple[int, tuple[tuple[str, str], ...]]] = []
            with_index: list[tuple[int, NewVersion]] = []
            replaced: list[int] = []
            outcomes: list[bool] = []
            seen_in_batch: set[tuple[str | None, str, Any]] = set()
            for v in versions:
                if v.version_us is None:
                    key: tuple[str | None, str, Any] = (v.author_org_id, v.object_id, v.body)
                    hit = bodies.get(key)
                else:
                    key = (v.author_org_id, v.object_id, v.version_us)
                    hit = existing.get(key)
                if key in seen_in_batch:
                    outcomes.append(False)
                    continue
                seen_in_batch.add(key)
                if hit is not None:
                    prior_pk, prior_deleted = hit
                    if not prior_deleted or v.via_peer_id is not None:
                        # A peer sending a version deleted here does not bring it back: the deletion travels
                        # on its own, and a peer that had not heard of it yet must not undo it.
                        outcomes.append(False)
                        continue
                    # Sent again after it was deleted: the new post replaces the tombstone.
                    replaced.append(prior_pk)
                stamp += 1
                version_us = v.version_us if v.version_us is not None else stamp
                rows.append(
                    (
                        collection_id,
                        v.object_id,
                        v.type,
                        v.spec_version,
                        version_us,
                        v.version_text or format_us(stamp),
                        stamp,
                        int(v.tlp),
                        v.author_org_id,
                        v.author_user_id,
                        bool(v.recipients),
                        v.revoked,
                        v.body,
                        v.origin_hub,
                        v.hops,
                        v.via_peer_id,
                        False,
                    )
                )
                if v.recipients:
                    with_recipients.append((stamp, v.recipients))
                if v.observables or v.warnings:
                    with_index.append((stamp, v))
                outcomes.append(True)

            for chunk in _chunks(replaced):
                for side in (t.object_recipients, t.observables, t.warninglist_hits):
                    conn.execute(delete(side).where(side.c.object_pk.in_(chunk)))
                conn.execute(delete(o).where(o.c.pk.in_(chunk)))
            if rows:
                self._bulk_insert(conn, rows)
            pks: dict[int, int] = {}
            if with_recipients or with_index:
                # The rows just inserted hold the date_added stamps first_stamp..stamp.
                for pk, added in conn.execute(
                    select(o.c.pk, o.c.date_added_us).where(
                        o.c.collection_id == collection_id,
                        o.c.date_added_us >= first_stamp,
                        o.c.date_added_us <= stamp,
                    )
                ):
                    pks[added] = pk
            if with_index:
                self._insert_index(conn, collection_id, pks, with_index)
            if with_recipients:
                by_stamp = dict(with_recipients)
                conn.execute(
                    insert(t.object_recipients),
                    [
                        {"object_pk": pks[s], "kind": kind, "ref_id": ref}
                        for s, recipients in by_stamp.items()
                        for kind, ref in sorted(set(recipients))
                    ],
                )
            if stamp != last:
                conn.execute(update(coll).where(coll.c.id == collection_id).values(last_date_added_us=stamp))
            status = status_of(outcomes)
            self._insert_status(conn, status, user_id)
        if rows and self._statistics.wrote(len(rows)):
            self.db.refresh_statistics()
        return status

    def _existing_versions(
        self,
        conn: Connection,
        collection_id: str,
        ids: list[str],
        authors: list[str],
        same_author: ColumnElement[bool],
    ) -> Iterator[tuple[Any, ...]]:
        """(pk, author_org_id, object_id, version_us, deleted_us) of the stored versions of
        ``ids`` by ``authors``. Runs on every envelope, so the SQL goes straight to the
        driver: compiling a 500-value ``IN`` through SQLAlchemy cost more than the lookup."""
        columns = "pk, author_org_id, object_id, version_us, deleted_us"
        if not authors:
            for chunk in _chunks(ids):
                yield from conn.execute(
                    select(o.c.pk, o.c.author_org_id, o.c.object_id, o.c.version_us, o.c.deleted_us).where(
                        o.c.collection_id == collection_id, o.c.object_id.in_(chunk), same_author
                    )
                )
            return
        if not self.db.is_sqlite:
            sql = (
                f"SELECT {columns} FROM {o.name} "  # noqa: S608  (constants only)
                "WHERE collection_id = %s AND object_id = ANY(%s) AND author_org_id = ANY(%s)"
            )
            yield from conn.exec_driver_sql(sql, (collection_id, ids, authors))
            return
        author_marks = ", ".join("?" * len(authors))
        for chunk in _chunks(ids):
            sql = (
                f"SELECT {columns} FROM {o.name} WHERE collection_id = ? "  # noqa: S608  (constants only)
                f"AND object_id IN ({', '.join('?' * len(chunk))}) AND author_org_id IN ({author_marks})"
            )
            yield from conn.exec_driver_sql(sql, (collection_id, *chunk, *authors))

    def _insert_index(
        self, conn: Connection, collection_id: str, pks: Mapping[int, int], versions: list[tuple[int, NewVersion]]
    ) -> None:
        """The correlation index and warninglist rows of freshly inserted versions."""
        index_rows = [
            (
                pks[s],
                kind,
                value,
                key,
                collection_id,
                v.object_id,
                int(v.tlp),
                v.author_org_id,
                v.author_user_id,
                bool(v.recipients),
            )
            for s, v in versions
            for kind, value, key in v.observables
        ]
        warning_rows = [(pks[s], name, value, entry) for s, v in versions for name, value, entry in v.warnings]
        mark = "?" if self.db.is_sqlite else "%s"
        if index_rows:
            if self.db.is_sqlite:
                conn.exec_driver_sql(
                    f"INSERT INTO {t.observables.name} ({_INDEX_COLUMNS}) "  # noqa: S608
                    f"VALUES ({', '.join([mark] * 10)})",
                    index_rows,
                )
            else:
                cursor = conn.connection.cursor()
                try:
                    with cursor.copy(f"COPY {t.observables.name} ({_INDEX_COLUMNS}) FROM STDIN") as copy:
                        for row in index_rows:
                            copy.write_row(row)
                finally:
                    cursor.close()
        if warning_rows:
            conn.exec_driver_sql(
                f"INSERT INTO {t.warninglist_hits.name} (object_pk, list_name, value, entry) "  # noqa: S608
                f"VALUES ({mark}, {mark}, {mark}, {mark})",
                warning_rows,
            )

    def _bulk_insert(self, conn: Connection, rows: list[tuple[Any, ...]]) -> None:
        """Insert object rows through the driver: ``executemany`` on SQLite, ``COPY`` on
        PostgreSQL. Building SQLAlchemy parameter dicts for thousands of rows costs more
        than the insert itself."""
        if self.db.is_sqlite:
            conn.exec_driver_sql(self._insert_sql, rows)
            return
        cursor = conn.connection.cursor()
        try:
            with cursor.copy(f"COPY {o.name} ({', '.join(_INSERT_COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        finally:
            cursor.close()

    # -- reading -------------------------------------------------------------------------

    def page(
        self,
        collection_id: str,
        rule: ReadRule | None,
        flt: ObjectFilter,
        after_us: int | None,
        limit: int,
        *,
        with_bodies: bool,
        object_id: str | None = None,
        boundary: Boundary | None = None,
    ) -> tuple[list[StoredRow], bool]:
        columns = (*META_COLUMNS, o.c.body) if with_bodies else META_COLUMNS
        conds: list[ColumnElement[bool]] = [
            o.c.collection_id == collection_id,
            o.c.deleted_us.is_(None),
        ]
        if object_id is not None:
            conds.append(o.c.object_id == object_id)
        if flt.ids:
            conds.append(o.c.object_id.in_(flt.ids))
        if flt.types:
            conds.append(o.c.type.in_(flt.types))
        if flt.spec_versions:
            conds.append(o.c.spec_version.in_(flt.spec_versions))
        lower = max(x for x in (flt.added_after_us, after_us, -(2**62)) if x is not None)
        conds.append(o.c.date_added_us > lower)
        if rule is not None:
            conds.append(visibility(rule))
        if boundary is not None:
            conds.append(boundary_predicate(boundary))
        conds.append(_version_predicate(flt.versions, rule, boundary=boundary))
        query = select(*columns).where(*conds).order_by(o.c.date_added_us).limit(limit + 1)
        with self.db.read() as conn:
            rows = conn.execute(query).all()
        more = len(rows) > limit
        return [stored_row(r, with_bodies) for r in rows[:limit]], more

    def recipients(self, pks: Sequence[int]) -> dict[int, tuple[tuple[str, str], ...]]:
        rec = t.object_recipients
        found: dict[int, list[tuple[str, str]]] = {}
        with self.db.read() as conn:
            for chunk in _chunks(sorted(set(pks))):
                for pk, kind, ref in conn.execute(
                    select(rec.c.object_pk, rec.c.kind, rec.c.ref_id).where(rec.c.object_pk.in_(chunk))
                ):
                    found.setdefault(pk, []).append((kind, ref))
        return {pk: tuple(v) for pk, v in found.items()}

    def delete(
        self,
        collection_id: str,
        rule: ReadRule | None,
        object_id: str,
        flt: ObjectFilter,
        now_us: int,
        *,
        author_org_id: str | None = None,
    ) -> int:
        conds: list[ColumnElement[bool]] = [
            o.c.collection_id == collection_id,
            o.c.object_id == object_id,
            o.c.deleted_us.is_(None),
            _version_predicate(flt.versions, rule, one_copy=False),
        ]
        if flt.spec_versions:
            conds.append(o.c.spec_version.in_(flt.spec_versions))
        if rule is not None:
            conds.append(visibility(rule))
        if author_org_id is not None:
            conds.append(o.c.author_org_id == author_org_id)
        with self.db.write() as conn:
            pks = list(conn.execute(select(o.c.pk).where(*conds)).scalars())
            if pks:
                # A deletion made where the version originated is shared with the peers; one of a copy received
                # from elsewhere stays on this hub.
                self._tombstone(conn, collection_id, pks, now_us, shared=o.c.origin_hub.is_(None))
        return len(pks)

    def _tombstone(
        self, conn: Connection, collection_id: str, pks: Sequence[int], now_us: int, *, shared: ColumnElement[bool]
    ) -> None:
        """Turn versions into tombstones stamped from the collection's ``date_added`` counter (under its row
        lock), so that tombstones, like versions, become visible in the order of their stamps."""
        coll = t.collections
        query = select(coll.c.last_date_added_us).where(coll.c.id == collection_id)
        if not self.db.is_sqlite:
            query = query.with_for_update()
        stamp = max(conn.execute(query).scalar_one(), now_us - 1) + 1
        conn.execute(update(coll).where(coll.c.id == collection_id).values(last_date_added_us=stamp))
        for chunk in _chunks(list(pks)):
            conn.execute(
                update(o)
                .where(o.c.pk.in_(chunk))
                .values(deleted_us=stamp, tombstone_shared=case((shared, true()), else_=false()))
            )
            conn.execute(delete(t.observables).where(t.observables.c.object_pk.in_(chunk)))

    def provenance(self, pks: Sequence[int]) -> dict[int, Provenance]:
        found = dict.fromkeys(pks, Provenance())
        with self.db.read() as conn:
            for chunk in _chunks(sorted(set(pks))):
                for pk, origin, hops, via in conn.execute(
                    select(o.c.pk, o.c.origin_hub, o.c.hops, o.c.via_peer_id).where(
                        o.c.pk.in_(chunk), o.c.origin_hub.is_not(None)
                    )
                ):
                    found[pk] = Provenance.parse(origin, hops, via)
        return found

    def tombstones(
        self,
        collection_id: str,
        rule: ReadRule | None,
        after: tuple[int, int] | None,
        limit: int,
        *,
        boundary: Boundary | None = None,
    ) -> tuple[list[Tombstone], bool]:
        conds: list[ColumnElement[bool]] = [
            o.c.collection_id == collection_id,
            o.c.deleted_us.is_not(None),
            o.c.tombstone_shared == true(),
        ]
        if after is not None:
            conds.append(or_(o.c.deleted_us > after[0], and_(o.c.deleted_us == after[0], o.c.pk > after[1])))
        if rule is not None:
            conds.append(visibility(rule))
        if boundary is not None:
            conds.append(boundary_predicate(boundary))
        query = (
            select(*META_COLUMNS, o.c.deleted_us, o.c.origin_hub, o.c.hops, o.c.via_peer_id)
            .where(*conds)
            .order_by(o.c.deleted_us, o.c.pk)
            .limit(limit + 1)
        )
        with self.db.read() as conn:
            rows = conn.execute(query).all()
        n = len(META_COLUMNS)
        found = [
            Tombstone(stored_row(r, False), r[n], Provenance.parse(r[n + 1], r[n + 2], r[n + 3])) for r in rows[:limit]
        ]
        return found, len(rows) > limit

    def apply_tombstones(self, collection_id: str, targets: Sequence[TombstoneTarget], now_us: int) -> int:
        if not targets:
            return 0
        with self.db.write() as conn:
            pks: list[int] = []
            for target in targets:
                pks.extend(
                    conn.execute(
                        select(o.c.pk).where(
                            o.c.collection_id == collection_id,
                            o.c.object_id == target.object_id,
                            o.c.version_us == target.version_us,
                            o.c.author_org_id == target.author_org_id,
                            o.c.origin_hub == target.origin_hub,
                            o.c.deleted_us.is_(None),
                        )
                    ).scalars()
                )
            if pks:
                self._tombstone(conn, collection_id, pks, now_us, shared=true())
        return len(pks)

    # -- correlation ---------------------------------------------------------------------

    def correlate(
        self,
        collection_ids: Sequence[str],
        rule: ReadRule,
        exact: Sequence[tuple[str, str]],
        ranges: Sequence[tuple[str, str, str]],
        cap: int,
        *,
        exclude_object_id: str | None = None,
        count_limit: int = 100_000,
    ) -> tuple[list[CorrelatedRow], dict[tuple[str, str], int]]:
        """Index rows of the newest readable version of each object that match an exact
        ``(kind, value)`` or a ``(kind, low, high)`` range-key probe, in readable collections.

        Returns the rows, and the values over ``cap`` readable objects with their readable count
        (capped at ``count_limit``) instead of their rows."""
        if not collection_ids or (not exact and not ranges):
            return [], {}
        ob = t.observables
        # One index probe per condition: an OR of them (or a row-value IN) makes the planners
        # scan the table instead.
        by_kind: dict[str, list[str]] = {}
        for kind, value in exact:
            by_kind.setdefault(kind, []).append(value)
        probe_conds: list[ColumnElement[bool]] = [
            and_(ob.c.kind == kind, ob.c.value.in_(values)) for kind, values in by_kind.items()
        ]
        for kind, low, high in ranges:
            probe_conds.append(and_(ob.c.kind == kind, ob.c.range_key >= low, ob.c.range_key <= high))
        readable = [
            o.c.collection_id.in_(list(collection_ids)),
            o.c.deleted_us.is_(None),
            visibility(rule),
            _version_predicate(["last"], rule),
        ]
        if exclude_object_id is not None:
            readable.append(o.c.object_id != exclude_object_id)
        joined = ob.join(o, o.c.pk == ob.c.object_pk)
        with self.db.read() as conn:
            # Raw (unfiltered) counts are cheap, index-only; they are never shown, only used to
            # pick the values that need a readable count before their rows are fetched.
            raw = {
                (row[0], row[1]): row[2]
                for cond in probe_conds
                for row in conn.execute(
                    select(ob.c.kind, ob.c.value, func.count())
                    .where(cond)
                    .group_by(ob.c.kind, ob.c.value)
                    .limit(10_000)
                )
            }
            small = [(k, v) for (k, v), n in raw.items() if n <= cap]
            over: dict[tuple[str, str], int] = {}
            for (k, v), n in raw.items():
                if n <= cap:
                    continue
                # Readable objects holding the value in a readable version, from the index alone
                # (the newest-version test per row would cost more than a question may).
                inner = (
                    select(ob.c.collection_id, ob.c.object_id)
                    .distinct()
                    .where(
                        ob.c.kind == k,
                        ob.c.value == v,
                        ob.c.collection_id.in_(list(collection_ids)),
                        visibility(rule, ob, ob.c.object_pk),
                    )
                )
                visible = conn.execute(
                    select(func.count()).select_from(inner.limit(count_limit).subquery())
                ).scalar_one()
                if visible > cap:
                    over[(k, v)] = visible
                elif visible:
                    small.append((k, v))
            rows: list[CorrelatedRow] = []
            wanted: dict[str, list[str]] = {}
            for kind, value in dict.fromkeys(small):
                wanted.setdefault(kind, []).append(value)
            for kind, values in wanted.items():
                for chunk in _chunks(values):
                    query = (
                        select(ob.c.kind, ob.c.value, *META_COLUMNS, o.c.collection_id, o.c.body)
                        .select_from(joined)
                        .where(ob.c.kind == kind, ob.c.value.in_(list(chunk)), *readable)
                        .order_by(ob.c.value, o.c.date_added_us.desc())
                    )
                    rows.extend(self._correlated(conn, query))
        return rows, over

    @staticmethod
    def _correlated(conn: Connection, query: Any) -> Iterator[CorrelatedRow]:
        for r in conn.execute(query):
            yield CorrelatedRow(r[0], r[1], r[-2], stored_row((*r[2:-2], r[-1]), True))

    def warninglist_hits(
        self,
        collection_ids: Sequence[str],
        rule: ReadRule,
        *,
        object_ids: Sequence[str] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[FlaggedRow]:
        """Warninglist hits of the newest readable version of each object, newest first."""
        if not collection_ids:
            return []
        w = t.warninglist_hits
        conds = [
            o.c.collection_id.in_(list(collection_ids)),
            o.c.deleted_us.is_(None),
            visibility(rule),
            _version_predicate(["last"], rule),
        ]
        if object_ids is not None:
            conds.append(o.c.object_id.in_(list(object_ids)))
        query = (
            select(w.c.list_name, w.c.value, w.c.entry, *META_COLUMNS, o.c.collection_id, o.c.body)
            .select_from(w.join(o, o.c.pk == w.c.object_pk))
            .where(*conds)
            .order_by(o.c.date_added_us.desc(), w.c.list_name, w.c.value)
            .limit(limit)
            .offset(offset)
        )
        with self.db.read() as conn:
            return [
                FlaggedRow(r[0], r[1], r[2], r[-2], stored_row((*r[3:-2], r[-1]), True)) for r in conn.execute(query)
            ]

    def object_count(self, collection_id: str) -> int:
        with self.db.read() as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(o)
                    .where(o.c.collection_id == collection_id, o.c.deleted_us.is_(None))
                ).scalar_one()
            )

    # -- sharing activity (evidence for capacity assessments) --------------------------------

    def sharing_tally(
        self,
        org_ids: Sequence[str],
        start_us: int,
        end_us: int,
        *,
        sync_user_ids: Sequence[str],
        readers: Sequence[SightingReader],
        page_size: int = 1000,
    ) -> SharingTally:
        """Counts in SQL; first-seen delays and sighting references read from the bodies, streamed
        ``page_size`` rows at a time. Everything comes from one read transaction (one snapshot)."""
        orgs = sorted(set(org_ids))
        window = [o.c.date_added_us >= start_us, o.c.date_added_us < end_us, o.c.deleted_us.is_(None)]
        authored = [o.c.author_org_id.in_(orgs), *window]
        with self.db.read() as conn:
            versions = select(o.c.type, o.c.object_id, o.c.version_us).distinct().where(*authored).subquery()
            by_type = {
                str(kind): int(n)
                for kind, n in conn.execute(select(versions.c.type, func.count()).group_by(versions.c.type))
            }
            objects = int(conn.execute(select(func.count(distinct(o.c.object_id))).where(*authored)).scalar_one())
            federated = users = 0
            if sync_user_ids:
                federated, users = conn.execute(
                    select(func.count(distinct(o.c.object_id)), func.count(distinct(o.c.author_user_id))).where(
                        o.c.author_user_id.in_(sorted(set(sync_user_ids))), *window
                    )
                ).one()
            delays = self._first_seen_delays(conn, orgs, start_us, end_us, page_size)
            authors: dict[str, set[str]] = {}
            query = select(o.c.object_id, o.c.author_org_id).distinct().where(*authored, o.c.type == "indicator")
            for rows in _streamed(conn, query, page_size):
                for object_id, org_id in rows:
                    authors.setdefault(object_id, set()).add(org_id)
            sightings: list[tuple[str, str, StoredRow]] = []
            for reader in readers:
                mine = {object_id for object_id, by in authors.items() if reader.org_id in by}
                if mine and reader.collection_ids:
                    sightings += self._sightings_naming(conn, reader, mine, end_us, page_size)
        return SharingTally(
            versions_by_type=by_type,
            objects=objects,
            first_seen_delays_us=delays,
            indicator_objects=len(authors),
            sightings=sightings,
            federated_objects=int(federated),
            federation_users=int(users),
        )

    @staticmethod
    def _first_seen_delays(
        conn: Connection, orgs: Sequence[str], start_us: int, end_us: int, page_size: int
    ) -> list[int]:
        """``date_added - first seen`` of each object whose first (non-deleted) version by ``orgs`` was added
        in the window, when that version states when it was first seen and the delay is not negative."""
        stated = [o.c.author_org_id.in_(orgs), o.c.deleted_us.is_(None), o.c.type.in_(sorted(_FIRST_SEEN))]
        first_added = func.min(o.c.date_added_us)
        first = (
            select(o.c.object_id, first_added.label("first_added"))
            .where(*stated)
            .group_by(o.c.object_id)
            .having(first_added >= start_us, first_added < end_us)
            .subquery()
        )
        query = (
            select(o.c.object_id, o.c.type, o.c.date_added_us, o.c.body)
            .select_from(
                o.join(first, and_(o.c.object_id == first.c.object_id, o.c.date_added_us == first.c.first_added))
            )
            .where(*stated)
        )
        delays: list[int] = []
        seen: set[str] = set()
        for rows in _streamed(conn, query, page_size):
            for object_id, kind, added_us, body in rows:
                if object_id in seen:  # the same first version in two collections at the same instant
                    continue
                seen.add(object_id)
                first_seen = _first_seen_us(kind, body)
                if first_seen is not None and added_us >= first_seen:
                    delays.append(added_us - first_seen)
        return delays

    @staticmethod
    def _sightings_naming(
        conn: Connection, reader: SightingReader, indicator_ids: set[str], before_us: int, page_size: int
    ) -> list[tuple[str, str, StoredRow]]:
        """One sighting per indicator of ``indicator_ids`` that names it, added before ``before_us`` in a
        collection the reader may read, and readable under its rule."""
        query = select(*META_COLUMNS, o.c.body).where(
            o.c.collection_id.in_(list(reader.collection_ids)),
            o.c.type == "sighting",
            o.c.deleted_us.is_(None),
            o.c.date_added_us < before_us,
            visibility(reader.rule),
        )
        found: list[tuple[str, str, StoredRow]] = []
        named: set[str] = set()
        with closing(_streamed(conn, query, page_size)) as pages:
            for rows in pages:
                for r in rows:
                    ref = _sighting_of(r[-1])
                    if ref is not None and ref in indicator_ids and ref not in named:
                        named.add(ref)
                        found.append((reader.org_id, ref, stored_row(r, False)))
                if len(named) == len(indicator_ids):
                    break
        return found

    # -- status resources -------------------------------------------------------------------

    def save_status(self, status: Status, user_id: str | None) -> None:
        with self.db.write() as conn:
            self._insert_status(conn, status, user_id)

    def _insert_status(self, conn: Connection, status: Status, user_id: str | None) -> None:
        def dump(details: list[StatusDetail]) -> str:
            return orjson.dumps(
                [
                    {
                        "id": d.id,
                        "version": d.version,
                        **({"message": d.message} if d.message else {}),
                    }
                    for d in details
                ]
            ).decode()

        conn.execute(
            insert(t.statuses).values(
                id=status.id,
                collection_id=status.collection_id,
                user_id=user_id,
                status=status.status,
                request_us=parse_timestamp_us(status.request_timestamp),
                total_count=status.total_count,
                success_count=status.success_count,
                failure_count=status.failure_count,
                pending_count=status.pending_count,
                successes=dump(status.successes),
                failures=dump(status.failures),
                pendings=dump(status.pendings),
            )
        )

    def status(self, status_id: str) -> tuple[Status, str | None] | None:
        with self.db.read() as conn:
            r = conn.execute(select(t.statuses).where(t.statuses.c.id == status_id)).first()
        if r is None:
            return None

        def load(text: str) -> list[StatusDetail]:
            return [StatusDetail(d["id"], d["version"], d.get("message")) for d in orjson.loads(text)]

        return (
            Status(
                id=r.id,
                collection_id=r.collection_id,
                status=r.status,
                request_timestamp=format_us(r.request_us),
                total_count=r.total_count,
                success_count=r.success_count,
                failure_count=r.failure_count,
                pending_count=r.pending_count,
                successes=load(r.successes),
                failures=load(r.failures),
                pendings=load(r.pendings),
            ),
            r.user_id,
        )


# What each kind of object says about when it was first seen (STIX 2.1 sections 4.7, 4.14 and 5.2).
_FIRST_SEEN = {"indicator": "valid_from", "sighting": "first_seen", "observed-data": "first_observed"}


def _streamed(conn: Connection, query: Select[Any], page_size: int) -> Generator[Sequence[Any], None, None]:
    """The rows of ``query`` in pages of ``page_size`` (a server-side cursor on PostgreSQL)."""
    result = conn.execute(query.execution_options(yield_per=page_size))
    try:
        yield from result.partitions()
    finally:
        result.close()


def _body_field(body: str, name: str) -> object:
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return obj.get(name) if isinstance(obj, dict) else None


def _first_seen_us(kind: str, body: str) -> int | None:
    value = _body_field(body, _FIRST_SEEN[kind])
    if not isinstance(value, str):
        return None
    try:
        return parse_timestamp_us(value)
    except ValueError:
        return None


def _sighting_of(body: str) -> str | None:
    value = _body_field(body, "sighting_of_ref")
    return value if isinstance(value, str) else None
