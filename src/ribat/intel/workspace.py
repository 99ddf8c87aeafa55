"""The analyst's workspace over the store: search, one object with its versions, links and
sightings, dashboard statistics, and composing an indicator from a value.

Every read goes through the same two gates as TAXII: the collections the principal may
read (``Intel.collections``) and the TLP policy applied inside the query
(``_store_sql.visibility``), then checked again row by row by the policy engine
(``Intel._audited``). Counts and charts are computed from the same predicates, so they
never include what the viewer may not read.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from ribat.accounts import Principal
from ribat.clock import format_us
from ribat.errors import NotFoundError, ValidationError
from ribat.intel._workspace_sql import WEEK_US, SearchSpec, SqlWorkspace, WorkspaceRow
from ribat.intel.patterns import pattern_error
from ribat.intel.service import Intel, _audience, viewer_of
from ribat.intel.tlp import TLP_MARKING_IDS, Decision, Tlp, explain, read_rule
from ribat.intel.types import Collection

__all__ = [
    "INDICATOR_KINDS",
    "WEEK_US",
    "Change",
    "Dashboard",
    "Hit",
    "Link",
    "ObjectVersion",
    "ObjectView",
    "SearchResult",
    "SearchSpec",
    "SqlWorkspace",
    "Workspace",
    "diff_versions",
    "indicator_pattern",
    "make_indicator",
]


# -- plain data ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    object_id: str
    type: str
    name: str
    summary: str
    tlp: Tlp
    author_org_id: str | None
    collection_id: str
    version: str
    date_added_us: int
    revoked: bool


@dataclass(frozen=True)
class SearchResult:
    hits: list[Hit]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


@dataclass(frozen=True)
class ObjectVersion:
    collection_id: str
    version: str
    version_us: int
    date_added_us: int
    tlp: Tlp
    author_org_id: str | None
    revoked: bool
    body: dict[str, Any]


@dataclass(frozen=True)
class Change:
    """One property that differs between two versions; ``kind`` is added, removed or changed."""

    key: str
    kind: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class Link:
    """A relationship the viewer may read, seen from the object: ``direction`` out or in."""

    relationship_id: str
    relationship_type: str
    direction: str
    other_id: str
    other_type: str
    other_name: str | None  # None when the viewer may not read the other end


@dataclass(frozen=True)
class ObjectView:
    object_id: str
    type: str
    name: str
    latest: ObjectVersion
    versions: list[ObjectVersion]  # newest first, one per version
    diffs: list[list[Change]]  # diffs[i]: versions[i + 1] -> versions[i]
    decision: Decision
    collections: list[Collection]
    links: list[Link]
    sightings: list[dict[str, Any]]
    circle_ids: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Dashboard:
    weeks: list[int]  # week numbers since the epoch, oldest first
    per_member_week: dict[str | None, dict[int, int]]  # author org -> week -> versions added
    top_types: list[tuple[str, int]]
    top_sectors: list[tuple[str, int]]
    total: int
    new_sightings: int
    recent_sightings: list[Hit]


# -- pure helpers ----------------------------------------------------------------------------


def name_of(obj: Mapping[str, Any]) -> str:
    for key in ("name", "value", "path", "number", "key", "display_name", "user_id", "relationship_type"):
        value = obj.get(key)
        if isinstance(value, str | int) and str(value):
            return str(value)
    hashes = obj.get("hashes")
    if isinstance(hashes, Mapping) and hashes:
        return str(next(iter(hashes.values())))
    return str(obj.get("id", ""))


def summary_of(obj: Mapping[str, Any], size: int = 160) -> str:
    for key in ("description", "pattern", "value", "opinion", "abstract", "content"):
        value = obj.get(key)
        if isinstance(value, str) and value.strip():
            text = " ".join(value.split())
            return text if len(text) <= size else text[: size - 1] + "…"
    return ""


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return value
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def diff_versions(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """Top-level properties added, removed or changed from ``old`` to ``new``, by name."""
    changes: list[Change] = []
    for key in sorted(set(old) | set(new)):
        if key not in old:
            changes.append(Change(key, "added", None, _shown(new[key])))
        elif key not in new:
            changes.append(Change(key, "removed", _shown(old[key]), None))
        elif old[key] != new[key]:
            changes.append(Change(key, "changed", _shown(old[key]), _shown(new[key])))
    return changes


# Indicator kinds the contribute form offers: kind -> STIX object path of the comparison.
INDICATOR_KINDS: Mapping[str, str] = {
    "ipv4-addr": "ipv4-addr:value",
    "ipv6-addr": "ipv6-addr:value",
    "domain-name": "domain-name:value",
    "url": "url:value",
    "email-addr": "email-addr:value",
    "file-sha256": "file:hashes.'SHA-256'",
    "file-md5": "file:hashes.MD5",
}
_HEX = {"file-sha256": 64, "file-md5": 32}
_TLP2_IDS: dict[Tlp, str] = {}
for _mid, _level in TLP_MARKING_IDS.items():
    _TLP2_IDS.setdefault(_level, _mid)


def indicator_pattern(kind: str, value: str) -> str:
    """A STIX pattern (STIX 2.1 section 9) matching one value of a common kind.

    Raises ValidationError for an unknown kind, an empty value or a hash of the wrong shape;
    the pattern itself is then checked by ``patterns.pattern_error``.
    """
    if kind == "pattern":
        if not value.strip():
            raise ValidationError("value", "must not be empty")
        return value.strip()
    path = INDICATOR_KINDS.get(kind)
    if path is None:
        raise ValidationError("kind", f"unknown indicator kind {kind!r}")
    value = value.strip()
    if not value:
        raise ValidationError("value", "must not be empty")
    if kind in _HEX:
        if not re.fullmatch(rf"[0-9A-Fa-f]{{{_HEX[kind]}}}", value):
            raise ValidationError("value", f"must be {_HEX[kind]} hexadecimal digits")
        value = value.lower()
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"[{path} = '{escaped}']"


def make_indicator(
    *,
    kind: str,
    value: str,
    name: str,
    description: str,
    tlp: Tlp,
    now_us: int,
    new_id: str,
    indicator_types: Sequence[str] = ("malicious-activity",),
) -> dict[str, Any]:
    """A STIX 2.1 indicator for one value, marked with the TLP 2.0 marking of ``tlp``.

    Raises ValidationError when the pattern is not valid STIX patterning.
    """
    pattern = indicator_pattern(kind, value)
    problem = pattern_error(pattern)
    if problem is not None:
        raise ValidationError("pattern", problem)
    stamp = format_us(now_us)
    obj: dict[str, Any] = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{new_id}",
        "created": stamp,
        "modified": stamp,
        "name": name.strip() or value.strip(),
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": stamp,
        "indicator_types": list(indicator_types),
        "object_marking_refs": [_TLP2_IDS[tlp]],
    }
    if description.strip():
        obj["description"] = description.strip()
    return obj


# -- the service -----------------------------------------------------------------------------


class Workspace:
    """Read use cases of the web workspace, composed over ``Intel`` (its collections,
    policy and audit) and a ``SqlWorkspace`` for the queries."""

    def __init__(self, intel: Intel, sql: SqlWorkspace) -> None:
        self.intel = intel
        self.sql = sql

    def readable(self, principal: Principal | None) -> list[Collection]:
        return [c for c in self.intel.collections(principal) if c.can_read]

    def writable(self, principal: Principal | None) -> list[Collection]:
        return [c for c in self.intel.collections(principal) if c.can_write]

    def _scope(self, principal: Principal | None, only: str | None = None) -> list[str]:
        ids = [c.id for c in self.readable(principal)]
        if only is not None:
            ids = [i for i in ids if i == only]
        return ids

    def _audited(self, principal: Principal | None, rows: list[WorkspaceRow]) -> list[WorkspaceRow]:
        kept = {r.pk for r in self.intel._audited(viewer_of(principal), [w.row for w in rows])}
        return [w for w in rows if w.row.pk in kept]

    @staticmethod
    def _body(w: WorkspaceRow) -> dict[str, Any]:
        body: dict[str, Any] = orjson.loads(w.row.body or "{}")
        return body

    def _hit(self, w: WorkspaceRow) -> Hit:
        body = self._body(w)
        return Hit(
            object_id=w.row.object_id,
            type=w.row.type,
            name=name_of(body),
            summary=summary_of(body),
            tlp=w.row.tlp,
            author_org_id=w.row.author_org_id,
            collection_id=w.collection_id,
            version=w.row.version_text,
            date_added_us=w.row.date_added_us,
            revoked=w.row.revoked,
        )

    def types(self, principal: Principal | None) -> list[str]:
        return self.sql.types(read_rule(viewer_of(principal)), self._scope(principal))

    def search(
        self, principal: Principal | None, spec: SearchSpec, *, page: int = 1, per_page: int = 25
    ) -> SearchResult:
        """Full text over the objects' JSON (names, descriptions, patterns, values) and filters."""
        if page < 1:
            raise ValidationError("page", "must be a positive integer")
        rule = read_rule(viewer_of(principal))
        rows, total = self.sql.search(rule, self._scope(principal), spec, (page - 1) * per_page, per_page)
        return SearchResult([self._hit(w) for w in self._audited(principal, rows)], total, page, per_page)

    def object_view(self, principal: Principal | None, object_id: str) -> ObjectView:
        """An object's versions the principal may read (in collections it may read), with the
        policy's reason for the newest, its relationships and sightings; else NotFoundError."""
        readable = self.readable(principal)
        scope = [c.id for c in readable]
        viewer = viewer_of(principal)
        rule = read_rule(viewer)
        rows = self._audited(principal, self.sql.versions(rule, scope, object_id))
        if not rows:
            raise NotFoundError("object", object_id)
        versions: list[ObjectVersion] = []
        seen: set[int] = set()
        for w in rows:
            if w.row.version_us in seen:
                continue
            seen.add(w.row.version_us)
            versions.append(
                ObjectVersion(
                    collection_id=w.collection_id,
                    version=w.row.version_text,
                    version_us=w.row.version_us,
                    date_added_us=w.row.date_added_us,
                    tlp=w.row.tlp,
                    author_org_id=w.row.author_org_id,
                    revoked=w.row.revoked,
                    body=self._body(w),
                )
            )
        newest = rows[0].row
        recipients = self.intel.store.recipients([newest.pk]) if newest.has_recipients else {}
        decision = explain(viewer, _audience(newest, recipients.get(newest.pk, ())))
        diffs = [diff_versions(versions[i + 1].body, versions[i].body) for i in range(len(versions) - 1)]
        in_collections = {w.collection_id for w in rows}
        links = self._links(principal, rule, scope, object_id)
        sightings = [
            self._body(w)
            for w in self._audited(principal, self.sql.referring(rule, scope, "sighting", object_id, 200))
            if self._body(w).get("sighting_of_ref") == object_id
        ]
        latest = versions[0]
        return ObjectView(
            object_id=object_id,
            type=newest.type,
            name=name_of(latest.body),
            latest=latest,
            versions=versions,
            diffs=diffs,
            decision=decision,
            collections=[c for c in readable if c.id in in_collections],
            links=links,
            sightings=sightings,
            circle_ids=viewer.circle_ids,
        )

    def _links(self, principal: Principal | None, rule: Any, scope: list[str], object_id: str) -> list[Link]:
        rels = self._audited(principal, self.sql.referring(rule, scope, "relationship", object_id, 200))
        found: list[tuple[str, str, str, str]] = []
        for w in rels:
            body = self._body(w)
            source, target = body.get("source_ref"), body.get("target_ref")
            kind = str(body.get("relationship_type", ""))
            if source == object_id and isinstance(target, str):
                found.append((w.row.object_id, kind, "out", target))
            elif target == object_id and isinstance(source, str):
                found.append((w.row.object_id, kind, "in", source))
        others = {
            w.row.object_id: self._body(w)
            for w in self._audited(principal, self.sql.latest_of(rule, scope, [f[3] for f in found]))
        }
        links = []
        seen: set[tuple[str, str, str]] = set()
        for rel_id, kind, direction, other in found:
            if (kind, direction, other) in seen:
                continue
            seen.add((kind, direction, other))
            other_body = others.get(other)
            links.append(
                Link(
                    relationship_id=rel_id,
                    relationship_type=kind,
                    direction=direction,
                    other_id=other,
                    other_type=other.split("--", 1)[0],
                    other_name=name_of(other_body) if other_body is not None else None,
                )
            )
        return links

    def dashboard(self, principal: Principal | None, *, now_us: int, weeks: int = 8) -> Dashboard:
        scope = self._scope(principal)
        rule = read_rule(viewer_of(principal))
        this_week = now_us // WEEK_US
        week_list = list(range(this_week - weeks + 1, this_week + 1))
        per: dict[str | None, dict[int, int]] = {}
        for author, week, n in self.sql.per_member_week(rule, scope, week_list[0] * WEEK_US):
            per.setdefault(author, {})[week] = per.get(author, {}).get(week, 0) + n
        sectors: Counter[str] = Counter()
        identities = self._audited(principal, self.sql.of_type(rule, scope, "identity", None, 5000))
        for w in identities:
            for sector in self._body(w).get("sectors") or ():
                if isinstance(sector, str):
                    sectors[sector] += 1
        since = now_us - WEEK_US
        recent = self._audited(principal, self.sql.of_type(rule, scope, "sighting", since, 10))
        return Dashboard(
            weeks=week_list,
            per_member_week=per,
            top_types=self.sql.top_types(rule, scope, 8),
            top_sectors=sorted(sectors.items(), key=lambda kv: (-kv[1], kv[0]))[:8],
            total=self.sql.total(rule, scope),
            new_sightings=self.sql.count_of_type(rule, scope, "sighting", since),
            recent_sightings=[self._hit(w) for w in recent],
        )

    def visible_count(self, principal: Principal | None, collection_id: str) -> int:
        """Objects of one collection the principal may read (newest version each)."""
        return self.sql.total(read_rule(viewer_of(principal)), self._scope(principal, collection_id))
