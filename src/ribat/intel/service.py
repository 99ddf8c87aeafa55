"""Use cases of the intel context: collections, ingest, reads under TLP, deletion, status."""

from __future__ import annotations

import logging
import re
import threading
from collections import abc
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from ribat.accounts import Accounts, Organisation, OrgKind, Principal, Role
from ribat.clock import Clock, NewId, format_us, new_uuid, now_us, parse_timestamp_us
from ribat.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    StixValidationError,
    ValidationError,
)
from ribat.intel.boundary import Boundary, Provenance, crosses
from ribat.intel.carried import AuthorCard, Carried, attach, detach
from ribat.intel.correlation import Relation, plan, relation_of
from ribat.intel.envelope import read_envelope
from ribat.intel.observables import Observable, classify, indexed, observables_of
from ribat.intel.paging import PageTokens
from ribat.intel.store import IntelStore, NewVersion, SightingReader, StoredRow, TombstoneTarget
from ribat.intel.tlp import (
    Audience,
    Decision,
    Tlp,
    Viewer,
    explain,
    may_read,
    read_rule,
    tlp_from_marking_definition,
    tlp_of_object,
)
from ribat.intel.types import (
    Collection,
    Correlation,
    Flagged,
    Grant,
    ObjectFilter,
    ObjectMeta,
    OverCorrelation,
    Page,
    RelatedItem,
    SharingActivity,
    Status,
    StatusDetail,
)
from ribat.intel.warninglists import WarninglistIndex

__all__ = ["ECHO", "SHARE_EXTENSION", "Intel", "viewer_of"]

log = logging.getLogger(__name__)

# A property extension by which an author names the recipients of an AMBER or RED
# object: ``{"extension_type": "property-extension", "share_with": ["org:<short name>",
# "circle:<name>", "user:<email>"]}``. See docs/intel.md.
SHARE_EXTENSION = "extension-definition--3f3b7c0e-6d0a-4c1e-9a8e-5b2a1f0d7c41"

# The status message of an object a peer hub sent back to the hub it came from: not stored, not an error.
ECHO = "not stored: it came from this hub"
ALREADY = "already stored"


def viewer_of(principal: Principal | None) -> Viewer:
    if principal is None:
        return Viewer.anonymous()
    return Viewer(
        user_id=principal.user.id,
        org_id=principal.org.id,
        circle_ids=principal.circle_ids,
        role=principal.user.role.value,
    )


@dataclass(frozen=True)
class _Recipients:
    orgs: dict[str, str]  # short name / identity id -> org id
    circles: dict[str, str]  # name -> circle id
    users: dict[str, str]  # email -> user id


class Intel:
    def __init__(
        self,
        store: IntelStore,
        accounts: Accounts,
        tokens: PageTokens,
        *,
        page_size_cap: int = 1000,
        default_page_size: int = 100,
        default_tlp: Tlp = Tlp.AMBER,
        warninglists: WarninglistIndex | Callable[[], WarninglistIndex | None] | None = None,
        correlation_cap: int = 200,
        boundaries: Callable[[Principal], Boundary | None] | None = None,
        now: Clock = now_us,
        new_id: NewId = new_uuid,
    ) -> None:
        self.store = store
        self.accounts = accounts
        self.tokens = tokens
        self.page_size_cap = page_size_cap
        self.default_page_size = default_page_size
        self.default_tlp = default_tlp
        # An index, or a loader run on first use: most `ribat` commands never need the lists.
        self._warninglists: WarninglistIndex | None = None if callable(warninglists) else warninglists
        self._load_warninglists = warninglists if callable(warninglists) else None
        self._warninglists_lock = threading.Lock()
        self.correlation_cap = correlation_cap
        # The sharing policy of the peer hub a ``sync`` account stands for (``ribat.federation`` sets it).
        self.boundaries = boundaries
        self._hub_id: str | None = None
        self.now = now
        self.new_id = new_id

    @property
    def hub_id(self) -> str:
        """This hub's id among federated hubs: made once, kept in the database."""
        if self._hub_id is None:
            self._hub_id = self.accounts.hub_secret("hub_id", new_uuid)
        return self._hub_id

    def boundary(self, principal: Principal | None) -> Boundary | None:
        """The peer boundary a principal reads and writes through: its peer's policy for a ``sync`` account (the
        default policy — GREEN at most, every type — for one no peer names), None for everyone else."""
        if principal is None or principal.user.role is not Role.SYNC:
            return None
        found = self.boundaries(principal) if self.boundaries is not None else None
        return found if found is not None else Boundary(peer_id=f"user:{principal.user.id}")

    @property
    def warninglists(self) -> WarninglistIndex | None:
        """The MISP warninglists indicators are checked against at ingest (None: none configured)."""
        if self._load_warninglists is not None:
            with self._warninglists_lock:
                if self._load_warninglists is not None:
                    self._warninglists = self._load_warninglists()
                    self._load_warninglists = None
        return self._warninglists

    @warninglists.setter
    def warninglists(self, index: WarninglistIndex | None) -> None:
        with self._warninglists_lock:
            self._warninglists = index
            self._load_warninglists = None

    # -- collections ------------------------------------------------------------------

    def create_collection(
        self,
        title: str,
        *,
        description: str = "",
        alias: str | None = None,
        default_tlp: Tlp | None = None,
        owner_org_id: str | None = None,
        grants: Sequence[Grant] = (),
    ) -> Collection:
        title = title.strip()
        if not title:
            raise ValidationError("title", "must not be empty")
        for g in grants:
            if g.principal_kind not in ("org", "circle", "community"):
                raise ValidationError("grant", f"unknown principal kind {g.principal_kind!r}")
        collection = Collection(
            id=self.new_id(),
            title=title,
            description=description,
            alias=alias,
            default_tlp=default_tlp if default_tlp is not None else self.default_tlp,
            owner_org_id=owner_org_id,
            grants=tuple(grants),
        )
        self.store.add_collection(collection, self.now())
        return collection

    def set_grants(self, collection_ref: str, grants: Sequence[Grant]) -> Collection:
        collection = self._collection(collection_ref)
        self.store.set_grants(collection.id, grants)
        return self._collection(collection.id)

    def _collection(self, ref: str) -> Collection:
        found = self.store.collection(ref)
        if found is None:
            raise NotFoundError("collection", ref)
        return found

    @staticmethod
    def _access(principal: Principal | None, collection: Collection) -> tuple[bool, bool]:
        if principal is None:
            return False, False
        if principal.user.role is Role.ADMIN:
            return True, True
        read, write = Intel._granted(principal.org.id, principal.circle_ids, collection)
        return read, write and principal.user.role.can_write

    @staticmethod
    def _granted(org_id: str, circle_ids: frozenset[str], collection: Collection) -> tuple[bool, bool]:
        """What a collection's grants and ownership give an organisation in these trust circles: (read, write)."""
        read = write = False
        for g in collection.grants:
            applies = (
                g.principal_kind == "community"
                or (g.principal_kind == "org" and g.principal_id == org_id)
                or (g.principal_kind == "circle" and g.principal_id in circle_ids)
            )
            if applies:
                read = read or g.can_read
                write = write or g.can_write
        if org_id == collection.owner_org_id:
            read = True
            write = True
        return read, write

    def _with_access(self, principal: Principal | None, collection: Collection) -> Collection:
        read, write = self._access(principal, collection)
        return Collection(
            id=collection.id,
            title=collection.title,
            description=collection.description,
            alias=collection.alias,
            default_tlp=collection.default_tlp,
            owner_org_id=collection.owner_org_id,
            grants=collection.grants,
            can_read=read,
            can_write=write,
        )

    def collections(self, principal: Principal | None) -> list[Collection]:
        """Collections the principal may read or write (TAXII 2.1 section 5.1)."""
        result = []
        for c in self.store.collections():
            c = self._with_access(principal, c)
            if c.can_read or c.can_write:
                result.append(c)
        return result

    def all_collections(self) -> list[Collection]:
        return self.store.collections()

    def collection(self, principal: Principal | None, ref: str) -> Collection:
        """A collection the principal may see; unknown and invisible ones are both 'not found'."""
        found = self.store.collection(ref)
        if found is not None:
            found = self._with_access(principal, found)
            if found.can_read or found.can_write:
                return found
        raise NotFoundError("collection", ref)

    def _readable(self, principal: Principal | None, ref: str) -> Collection:
        c = self.collection(principal, ref)
        if not c.can_read:
            raise PermissionDeniedError("read from", f"collection {c.id}")
        return c

    def _writable(self, principal: Principal | None, ref: str) -> Collection:
        c = self.collection(principal, ref)
        if not c.can_write:
            raise PermissionDeniedError("write to", f"collection {c.id}")
        return c

    # -- ingest -------------------------------------------------------------------------

    def _recipients(self) -> _Recipients:
        orgs: dict[str, str] = {}
        for org in self.accounts.list_orgs():
            orgs[org.short_name.lower()] = org.id
            orgs[org.identity_id] = org.id
        circles = {c.name.lower(): c.id for c in self.accounts.list_circles()}
        users = {u.email: u.id for u in self.accounts.list_users()}
        return _Recipients(orgs, circles, users)

    def _named_recipients(self, obj: Mapping[str, Any], known: _Recipients) -> tuple[tuple[str, str], ...]:
        extensions = obj.get("extensions")
        if not isinstance(extensions, Mapping) or SHARE_EXTENSION not in extensions:
            return ()
        ext = extensions[SHARE_EXTENSION]
        names = ext.get("share_with") if isinstance(ext, Mapping) else None
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise StixValidationError(obj.get("id"), "share_with: must be a list of strings")
        found: list[tuple[str, str]] = []
        for name in names:
            kind, _, ref = name.partition(":")
            table = {"org": known.orgs, "circle": known.circles, "user": known.users}.get(kind)
            key = ref if ref.startswith("identity--") else ref.strip().lower()
            if table is None or key not in table:
                raise StixValidationError(
                    obj.get("id"),
                    f"share_with: unknown recipient {name!r} (use org:<short name>, circle:<name> or user:<email>)",
                )
            found.append((kind, table[key]))
        return tuple(found)

    def ingest(self, principal: Principal, collection_ref: str, data: Any) -> Status:
        """Validate and store an envelope, bundle, array or single object (TAXII 2.1 section 5.5).

        Each invalid object is listed with its reason; the valid ones are stored.
        """
        collection = self._writable(principal, collection_ref)
        request_us = self.now()
        boundary = self.boundary(principal)
        envelope = read_envelope(data)
        failures: list[StatusDetail] = [
            StatusDetail(p.object_id or f"objects[{p.index}]", p.version or "", p.reason) for p in envelope.problems
        ]
        candidates: list[tuple[dict[str, Any], NewVersion]] = []
        extra_markings: dict[str, Tlp] = {}
        for obj in envelope.objects:
            if obj.get("type") == "marking-definition":
                level = tlp_from_marking_definition(obj)
                if level is not None:
                    extra_markings[obj["id"]] = level
        unknown_refs = {
            ref
            for obj in envelope.objects
            for ref in obj.get("object_marking_refs") or ()
            if isinstance(ref, str) and ref not in extra_markings
        }
        stored_markings = self.store.tlp_markings(sorted(unknown_refs)) if unknown_refs else {}
        markings = {**stored_markings, **extra_markings}
        known: _Recipients | None = None
        arrivals = _Arrivals(self) if boundary is not None else None
        echoes: list[StatusDetail] = []
        for obj in envelope.objects:
            try:
                if arrivals is not None and boundary is not None:
                    received = arrivals.receive(obj, principal, boundary)
                    if received is None:
                        echoes.append(StatusDetail(str(obj.get("id", "")), _version_text(obj) or "", ECHO))
                        continue
                    obj, author_org_id, recipients, provenance, floor = received
                    nv = self._new_version(
                        obj,
                        principal,
                        collection,
                        markings,
                        recipients,
                        author_org_id=author_org_id,
                        floor_tlp=floor,
                        provenance=provenance,
                    )
                else:
                    if known is None and "extensions" in obj and SHARE_EXTENSION in obj["extensions"]:
                        known = self._recipients()
                    recipients = self._named_recipients(obj, known) if known is not None else ()
                    nv = self._new_version(obj, principal, collection, markings, recipients)
                candidates.append((obj, nv))
            except (StixValidationError, ValueError) as exc:
                reason = exc.reason if isinstance(exc, StixValidationError) else str(exc)
                failures.append(StatusDetail(str(obj.get("id", "")), _version_text(obj) or "", reason))
        new_markings = {k: v for k, v in extra_markings.items() if k not in stored_markings}

        def status_of(outcomes: list[bool]) -> Status:
            successes = [
                StatusDetail(nv.object_id, nv.version_text or "", None if stored else ALREADY)
                for (_, nv), stored in zip(candidates, outcomes, strict=True)
            ]
            successes.extend(echoes)
            return Status(
                id=self.new_id(),
                collection_id=collection.id,
                status="complete",
                request_timestamp=format_us(request_us),
                total_count=len(successes) + len(failures),
                success_count=len(successes),
                failure_count=len(failures),
                pending_count=0,
                successes=successes,
                failures=failures,
            )

        return self.store.put_versions(
            collection.id,
            [nv for _, nv in candidates],
            new_markings,
            self.now(),
            status_of=status_of,
            user_id=principal.user.id,
        )

    def _new_version(
        self,
        obj: dict[str, Any],
        principal: Principal,
        collection: Collection,
        markings: Mapping[str, Tlp],
        recipients: tuple[tuple[str, str], ...],
        *,
        author_org_id: str | None = None,
        floor_tlp: Tlp | None = None,
        provenance: Provenance | None = None,
    ) -> NewVersion:
        text = _version_text(obj)
        version_us = parse_timestamp_us(text) if text else None
        tlp = tlp_of_object(obj, markings)
        found = observables_of(obj)
        warnings: tuple[tuple[str, str, str], ...] = ()
        warninglists = self.warninglists if found and obj["type"] == "indicator" else None
        if warninglists is not None:
            # One hit per list: a URL's host is indexed beside the URL and would hit again.
            first: dict[str, tuple[str, str, str]] = {}
            for o in found:
                for hit in warninglists.hits(o.value):
                    first.setdefault(hit.list_name, (hit.list_name, o.value, hit.matched_entry[:520]))
            warnings = tuple(first.values())
        return NewVersion(
            object_id=obj["id"],
            type=obj["type"],
            spec_version=str(obj.get("spec_version", "2.1")),
            version_us=version_us,
            version_text=text,
            tlp=_effective_tlp(tlp, collection.default_tlp, floor_tlp),
            author_org_id=author_org_id or principal.org.id,
            author_user_id=principal.user.id,
            revoked=obj.get("revoked") is True,
            body=orjson.dumps(obj).decode(),
            recipients=recipients,
            observables=tuple(indexed(found)),
            warnings=warnings,
            origin_hub=None if provenance is None else provenance.origin_hub,
            hops=None if provenance is None else Provenance.hops_text(provenance.hops),
            via_peer_id=None if provenance is None else provenance.via_peer_id,
        )

    # -- correlation --------------------------------------------------------------------

    def related(self, principal: Principal | None, query: str, *, limit: int = 500) -> Correlation:
        """What the principal may read that is related to ``query``: a value (an address or
        network, a domain, a URL, an e-mail address, a hash) or the id of an object it may
        read, whose observables are then asked about (see ``ribat.intel.correlation``).

        Only the newest readable version of each object in a readable collection is
        considered, so an answer never reveals an object the principal may not read."""
        query = query.strip()
        if not query:
            raise ValidationError("query", "must not be empty")
        readable = [c for c in self.collections(principal) if c.can_read]
        viewer = viewer_of(principal)
        exclude: str | None = None
        if _looks_like_id(query):
            asked = self._observables_of_object(principal, readable, query)
            exclude = query
        else:
            found = classify(query)
            if found is None:
                raise ValidationError(
                    "query", "not an IP address or network, domain, URL, e-mail address, hash or object id"
                )
            asked = [found]
        probes = plan(asked)
        rows, over = self.store.correlate(
            [c.id for c in readable],
            read_rule(viewer),
            probes.exact,
            [(p.kind, p.low or "", p.high or "") for p in probes.ranges],
            self.correlation_cap,
            exclude_object_id=exclude,
            count_limit=self.correlation_cap * COUNT_FACTOR + 1,
        )
        audited = set(r.pk for r in self._audited(viewer, [c.row for c in rows]))
        best: dict[tuple[str, str], RelatedItem] = {}
        order = list(Relation)
        for c in rows:
            if c.row.pk not in audited:
                continue
            relation = relation_of(probes.asked, Observable(c.kind, c.value))
            if relation is None:
                continue
            key = (c.collection_id, c.row.object_id)
            prior = best.get(key)
            if prior is not None and order.index(Relation(prior.relation)) <= order.index(relation):
                continue
            best[key] = RelatedItem(
                relation=relation.value,
                kind=c.kind,
                value=c.value,
                collection_id=c.collection_id,
                object_id=c.row.object_id,
                type=c.row.type,
                name=_name_of(c.row.body),
                tlp=c.row.tlp,
                version=c.row.version_text,
            )
        counted_to = self.correlation_cap * COUNT_FACTOR
        items = sorted(best.values(), key=lambda i: (order.index(Relation(i.relation)), i.kind, i.value, i.object_id))
        return Correlation(
            query=query,
            asked=tuple((o.kind, o.value) for o in probes.asked),
            items=items[:limit],
            over_correlating=[
                OverCorrelation(k, v, min(n, counted_to), at_least=n > counted_to) for (k, v), n in sorted(over.items())
            ],
        )

    def warninglist_flags(
        self, principal: Principal | None, object_ids: Sequence[str]
    ) -> dict[str, list[tuple[str, str, str]]]:
        """``object id -> [(list name, value, matching entry)]`` for the readable objects among
        ``object_ids`` whose newest readable version was flagged at ingest."""
        rows = self._flagged(principal, object_ids=list(object_ids), limit=10_000, offset=0)
        flags: dict[str, list[tuple[str, str, str]]] = {}
        for f in rows:
            flags.setdefault(f.object_id, []).append((f.list_name, f.value, f.entry))
        return flags

    def flagged(self, principal: Principal | None, *, limit: int = 50, offset: int = 0) -> list[Flagged]:
        """The newest warninglist hits in what the principal may read (the UI's hits page)."""
        if limit < 1 or offset < 0:
            raise ValidationError("limit", "must be positive (and the offset not negative)")
        return self._flagged(principal, object_ids=None, limit=min(limit, self.page_size_cap), offset=offset)

    def _flagged(
        self, principal: Principal | None, *, object_ids: list[str] | None, limit: int, offset: int
    ) -> list[Flagged]:
        readable = [c.id for c in self.collections(principal) if c.can_read]
        viewer = viewer_of(principal)
        rows = self.store.warninglist_hits(
            readable, read_rule(viewer), object_ids=object_ids, limit=limit, offset=offset
        )
        audited = {r.pk for r in self._audited(viewer, [f.row for f in rows])}
        return [
            Flagged(
                list_name=f.list_name,
                value=f.value,
                entry=f.entry,
                collection_id=f.collection_id,
                object_id=f.row.object_id,
                type=f.row.type,
                name=_name_of(f.row.body),
                tlp=f.row.tlp,
                date_added=format_us(f.row.date_added_us),
            )
            for f in rows
            if f.row.pk in audited
        ]

    def _observables_of_object(
        self, principal: Principal | None, readable: Sequence[Collection], object_id: str
    ) -> list[Observable]:
        found: dict[Observable, None] = {}
        seen = False
        for c in readable:
            page = self.object(principal, c.id, object_id, ObjectFilter(versions=("last",)))
            for body in page.bodies:
                seen = True
                found.update(dict.fromkeys(observables_of(orjson.loads(body))))
        if not seen:
            raise NotFoundError("object", object_id)
        return list(found)

    # -- reading ------------------------------------------------------------------------

    def _limit(self, limit: int | None) -> int:
        if limit is None:
            return min(self.default_page_size, self.page_size_cap)
        if limit < 1:
            raise ValidationError("limit", "must be a positive integer")
        return min(limit, self.page_size_cap)

    def _facts(self, rows: Sequence[StoredRow], *, provenance: dict[int, Provenance] | None = None) -> _Facts:
        """The recipients and provenance of ``rows``, read once for the audit and the carried extension
        (``provenance`` when the caller already has it)."""
        need = [r.pk for r in rows if r.has_recipients]
        recipients = self.store.recipients(need) if need else {}
        if provenance is None:
            provenance = self.store.provenance([r.pk for r in rows]) if rows else {}
        return _Facts(recipients, provenance)

    def _audited(
        self, viewer: Viewer, rows: list[StoredRow], boundary: Boundary | None = None, facts: _Facts | None = None
    ) -> list[StoredRow]:
        """Second check of every row against the policy engine itself (defence in depth); for a peer hub's
        ``sync`` account, against ``ribat.intel.boundary.crosses``, which is the engine narrowed by the peer's
        policy (``facts``: from ``_facts``, when the caller needs them too)."""
        if facts is None and boundary is not None:
            facts = self._facts(rows)
        if facts is None:
            need = [r.pk for r in rows if r.has_recipients]
            recipients = self.store.recipients(need) if need else {}
        else:
            recipients = facts.recipients
        kept = []
        for r in rows:
            audience = _audience(r, recipients.get(r.pk, ()))
            if boundary is None:
                allowed = may_read(viewer, audience)
            else:
                assert facts is not None  # made above whenever there is a boundary
                allowed = crosses(boundary, viewer, audience, r.type, facts.provenance[r.pk]).allowed
            if allowed:
                kept.append(r)
            else:
                log.error("policy audit removed %s from a page for user %s", r.object_id, viewer.user_id)
        return kept

    # -- federation ------------------------------------------------------------------------

    def _carry(self, rows: Sequence[StoredRow], facts: _Facts) -> list[Carried]:
        """The provenance each row carries to a peer hub (see ``ribat.intel.carried``)."""
        provenance, named = facts.provenance, facts.recipients
        orgs = {org.id: org for org in self.accounts.list_orgs()}
        members: dict[str, frozenset[str]] = {}
        if any(kind == "circle" for found in named.values() for kind, _ in found):
            members = {c.id: c.member_org_ids for c in self.accounts.list_circles()}
        carried = []
        for r in rows:
            p = provenance[r.pk]
            origin = p.origin_hub or self.hub_id
            hops = (*(p.hops or (origin,)), self.hub_id) if p.origin_hub else (self.hub_id,)
            author = orgs.get(r.author_org_id or "")
            card = (
                AuthorCard(author.identity_id, author.name, author.short_name, author.country, author.kind.value)
                if author is not None
                else None
            )
            recipient_orgs: set[str] = set()
            for kind, ref in named.get(r.pk, ()):
                if kind == "org":
                    recipient_orgs.add(ref)
                elif kind == "circle":
                    recipient_orgs.update(members.get(ref, ()))
            identities = sorted(orgs[o].identity_id for o in recipient_orgs if o in orgs)
            carried.append(Carried(origin, hops, card, tuple(identities), r.tlp))
        return carried

    def _carried_bodies(self, rows: Sequence[StoredRow], facts: _Facts) -> list[str]:
        return [
            orjson.dumps(attach(orjson.loads(r.body or "{}"), c, strip=(SHARE_EXTENSION,))).decode()
            for r, c in zip(rows, self._carry(rows, facts), strict=True)
        ]

    def org_for_author(self, card: AuthorCard) -> Organisation:
        """The organisation filed as the author of versions a peer sent on behalf of ``card``: the one with that
        STIX identity, registered here (as a partner, under a free short name) when it is new."""
        try:
            return self.accounts.get_org(card.identity)
        except NotFoundError:
            pass
        kind = card.kind if card.kind in {k.value for k in OrgKind} else OrgKind.PARTNER.value
        base = re.sub(r"[^A-Za-z0-9._-]", "-", card.short_name)[:30].strip("-._") or "org"
        tail = card.identity.rsplit("-", 1)[-1][:8]
        for short in (base, f"{base}-{tail}"):
            try:
                return self.accounts.create_org(
                    card.name or short, short, card.country, kind, identity_id=card.identity
                )
            except ConflictError:
                try:  # another writer registered the same identity meanwhile
                    return self.accounts.get_org(card.identity)
                except NotFoundError:
                    continue
            except ValidationError as exc:
                raise StixValidationError(None, f"provenance extension: author {card.identity}: {exc}") from None
        raise ConflictError("organisation", card.short_name)

    def tombstones(
        self,
        principal: Principal | None,
        collection_ref: str,
        *,
        after: tuple[int, int] | None = None,
        limit: int | None = None,
    ) -> tuple[list[dict[str, Any]], tuple[int, int] | None, bool]:
        """The shared deletions in a collection that the principal may read (through its peer boundary, for a
        ``sync`` account), oldest first after ``after``: wire items, the position of the last one, and whether
        more follow."""
        collection = self._readable(principal, collection_ref)
        viewer = viewer_of(principal)
        boundary = self.boundary(principal)
        found, more = self.store.tombstones(
            collection.id, read_rule(viewer), after, self._limit(limit), boundary=boundary
        )
        rows = [t.row for t in found]
        facts = self._facts(rows, provenance={t.row.pk: t.provenance for t in found})
        kept = {r.pk for r in self._audited(viewer, rows, boundary, facts)}
        kept_found = [t for t in found if t.row.pk in kept]
        carried = self._carry([t.row for t in kept_found], facts)
        items = [
            {
                "id": t.row.object_id,
                "version": t.row.version_text,
                "deleted": format_us(t.deleted_us),
                "origin_hub": c.origin_hub,
                "author": c.author.identity if c.author is not None else None,
            }
            for t, c in zip(kept_found, carried, strict=True)
        ]
        position = (found[-1].deleted_us, found[-1].row.pk) if found else after
        return items, position, more

    def receive_tombstones(
        self, principal: Principal, collection_ref: str, items: Sequence[Any]
    ) -> tuple[int, list[str]]:
        """Apply deletions a peer hub sent (``tombstones`` items): each deletes this hub's copy of the version
        only when the copy came here by federation from the same origin hub, under the same author. Returns how
        many versions were deleted and a problem per malformed item."""
        collection = self._writable(principal, collection_ref)
        if self.boundary(principal) is None:
            raise PermissionDeniedError("send deletions to", f"collection {collection.id} (peer hubs only)")
        targets: list[TombstoneTarget] = []
        problems: list[str] = []
        authors: dict[str, str | None] = {}
        for index, item in enumerate(items):
            if not isinstance(item, Mapping):
                problems.append(f"tombstones[{index}]: must be an object")
                continue
            oid, version, origin, author = (item.get(k) for k in ("id", "version", "origin_hub", "author"))
            if not (isinstance(oid, str) and isinstance(version, str) and isinstance(origin, str)):
                problems.append(f"tombstones[{index}]: id, version and origin_hub must be strings")
                continue
            if not isinstance(author, str):
                problems.append(f"tombstones[{index}] ({oid}): no author identity")
                continue
            if origin == self.hub_id:
                continue  # a deletion made here, coming back: already applied
            try:
                version_us = parse_timestamp_us(version)
            except ValueError:
                problems.append(f"tombstones[{index}] ({oid}): version {version!r} is not a timestamp")
                continue
            if author not in authors:
                try:
                    authors[author] = self.accounts.get_org(author).id
                except NotFoundError:
                    authors[author] = None
            org_id = authors[author]
            if org_id is not None:
                targets.append(TombstoneTarget(oid, version_us, org_id, origin))
        return self.store.apply_tombstones(collection.id, targets, self.now()), problems

    def _page(
        self,
        principal: Principal | None,
        collection_ref: str,
        endpoint: str,
        flt: ObjectFilter,
        limit: int | None,
        next_token: str | None,
        *,
        with_bodies: bool,
        object_id: str | None = None,
    ) -> Page:
        collection = self._readable(principal, collection_ref)
        viewer = viewer_of(principal)
        boundary = self.boundary(principal)
        size = self._limit(limit)
        scope = f"{endpoint}|{collection.id}|{viewer.user_id}|{object_id}|{flt.fingerprint()}"
        after = self.tokens.read(scope, next_token) if next_token else None
        rows, more = self.store.page(
            collection.id,
            read_rule(viewer),
            flt,
            after,
            size,
            with_bodies=with_bodies,
            object_id=object_id,
            boundary=boundary,
        )
        last_position = rows[-1].date_added_us if rows else after
        facts = self._facts(rows) if boundary is not None else None
        rows = self._audited(viewer, rows, boundary, facts)
        if facts is not None and with_bodies:
            bodies = self._carried_bodies(rows, facts)
        else:
            bodies = [r.body or "" for r in rows] if with_bodies else []
        token = self.tokens.make(scope, last_position) if more and last_position is not None else None
        return Page(
            bodies=bodies,
            more=more,
            next=token,
            first_added=format_us(rows[0].date_added_us) if rows else None,
            last_added=format_us(rows[-1].date_added_us) if rows else None,
            make_metas=lambda: [_meta(r) for r in rows],
            position_us=last_position,
        )

    def objects(
        self,
        principal: Principal | None,
        collection_ref: str,
        flt: ObjectFilter,
        *,
        limit: int | None = None,
        next_token: str | None = None,
    ) -> Page:
        return self._page(principal, collection_ref, "objects", flt, limit, next_token, with_bodies=True)

    def manifest(
        self,
        principal: Principal | None,
        collection_ref: str,
        flt: ObjectFilter,
        *,
        limit: int | None = None,
        next_token: str | None = None,
    ) -> Page:
        return self._page(principal, collection_ref, "manifest", flt, limit, next_token, with_bodies=False)

    def object(
        self,
        principal: Principal | None,
        collection_ref: str,
        object_id: str,
        flt: ObjectFilter,
        *,
        limit: int | None = None,
        next_token: str | None = None,
    ) -> Page:
        page = self._page(
            principal,
            collection_ref,
            "object",
            flt,
            limit,
            next_token,
            with_bodies=True,
            object_id=object_id,
        )
        if not page.metas and next_token is None and not self._exists(principal, collection_ref, object_id):
            raise NotFoundError("object", object_id)
        return page

    def versions(
        self,
        principal: Principal | None,
        collection_ref: str,
        object_id: str,
        flt: ObjectFilter,
        *,
        limit: int | None = None,
        next_token: str | None = None,
    ) -> Page:
        flt = ObjectFilter(added_after_us=flt.added_after_us, versions=("all",), spec_versions=flt.spec_versions)
        page = self._page(
            principal,
            collection_ref,
            "versions",
            flt,
            limit,
            next_token,
            with_bodies=False,
            object_id=object_id,
        )
        if not page.metas and next_token is None and not self._exists(principal, collection_ref, object_id):
            raise NotFoundError("object", object_id)
        return page

    def _exists(self, principal: Principal | None, collection_ref: str, object_id: str) -> bool:
        collection = self._readable(principal, collection_ref)
        viewer = viewer_of(principal)
        rows, _ = self.store.page(
            collection.id,
            read_rule(viewer),
            ObjectFilter(versions=("all",)),
            None,
            1,
            with_bodies=False,
            object_id=object_id,
        )
        return bool(rows)

    def delete(self, principal: Principal, collection_ref: str, object_id: str, flt: ObjectFilter) -> int:
        """Delete versions of an object (TAXII 2.1 section 5.7), keeping tombstones.

        Only the author's organisation (or a hub admin) may delete; versions the
        principal cannot read are never touched.
        """
        collection = self._writable(principal, collection_ref)
        viewer = viewer_of(principal)
        author = None if principal.user.role is Role.ADMIN else principal.org.id
        if flt.versions == ("last",) and not flt.ids:
            flt = ObjectFilter(versions=("all",), spec_versions=flt.spec_versions)
        count = self.store.delete(collection.id, read_rule(viewer), object_id, flt, self.now(), author_org_id=author)
        if count == 0:
            if self._exists(principal, collection_ref, object_id):
                raise PermissionDeniedError("delete", f"object {object_id} (only its author's organisation may)")
            raise NotFoundError("object", object_id)
        return count

    def status(self, principal: Principal, status_id: str) -> Status:
        found = self.store.status(status_id)
        if found is None:
            raise NotFoundError("status", status_id)
        status, owner = found
        if owner != principal.user.id and principal.user.role is not Role.ADMIN:
            raise NotFoundError("status", status_id)
        return status

    def explain(self, principal: Principal | None, collection_ref: str, object_id: str) -> Decision:
        """Why the principal can, or cannot, see the latest version of an object."""
        collection = self._readable(principal, collection_ref)
        rows, _ = self.store.page(collection.id, None, ObjectFilter(), None, 1, with_bodies=False, object_id=object_id)
        if not rows:
            raise NotFoundError("object", object_id)
        recipients = self.store.recipients([rows[0].pk]) if rows[0].has_recipients else {}
        return explain(viewer_of(principal), _audience(rows[0], recipients.get(rows[0].pk, ())))

    def count(self, collection_ref: str) -> int:
        return self.store.object_count(self._collection(collection_ref).id)

    # -- sharing activity (evidence for capacity assessments) ------------------------------

    def sharing_activity(self, org_ids: abc.Collection[str], start_us: int, end_us: int) -> SharingActivity:
        """What ``org_ids`` shared on the hub in ``[start_us, end_us)``: the figures behind the platform evidence
        of a capacity assessment (``ribat.capacity.evidence``; definitions in docs/capacity-evidence.md).

        Sightings count towards an indicator only when the organisation that authored it may itself read them:
        in a collection its grants let it read, and under TLP as a viewer standing for the organisation and its
        trust circles (no user, so a RED sighting never counts). Each such sighting is checked again against the
        policy engine before it is counted."""
        orgs = tuple(sorted(set(org_ids)))
        if not orgs:
            raise ValidationError("org_ids", "name at least one organisation")
        if end_us <= start_us:
            raise ValidationError("window", "must end after it starts")
        known = {org.id for org in self.accounts.list_orgs()}
        for org_id in orgs:
            if org_id not in known:
                raise NotFoundError("organisation", org_id)
        circles = self.accounts.list_circles()
        collections = self.store.collections()
        viewers: dict[str, Viewer] = {}
        readers: list[SightingReader] = []
        for org_id in orgs:
            member_of = frozenset(c.id for c in circles if org_id in c.member_org_ids)
            viewers[org_id] = Viewer(user_id=None, org_id=org_id, circle_ids=member_of)
            readable = tuple(c.id for c in collections if self._granted(org_id, member_of, c)[0])
            readers.append(SightingReader(org_id, read_rule(viewers[org_id]), readable))
        sync_users = [u.id for org_id in orgs for u in self.accounts.list_users(org_id) if u.role is Role.SYNC]
        tally = self.store.sharing_tally(orgs, start_us, end_us, sync_user_ids=sync_users, readers=readers)
        by_reader: dict[str, list[tuple[str, StoredRow]]] = {}
        for org_id, indicator_id, row in tally.sightings:
            by_reader.setdefault(org_id, []).append((indicator_id, row))
        sighted: set[str] = set()
        for org_id, found in by_reader.items():
            kept = {row.pk for row in self._audited(viewers[org_id], [row for _, row in found])}
            sighted.update(indicator_id for indicator_id, row in found if row.pk in kept)
        kinds = tally.versions_by_type
        named = ("indicator", "sighting", "report", "observed-data")
        median, p90 = _median_and_p90(tally.first_seen_delays_us)
        return SharingActivity(
            org_ids=orgs,
            start_us=start_us,
            end_us=end_us,
            indicators=kinds.get("indicator", 0),
            sightings=kinds.get("sighting", 0),
            reports=kinds.get("report", 0),
            observed_data=kinds.get("observed-data", 0),
            other=sum(n for kind, n in kinds.items() if kind not in named),
            objects=tally.objects,
            timeliness_measured=len(tally.first_seen_delays_us),
            timeliness_median_hours=median,
            timeliness_p90_hours=p90,
            indicator_objects=tally.indicator_objects,
            sighted_indicators=len(sighted),
            federated_objects=tally.federated_objects,
            federation_users=tally.federation_users,
        )


_US_PER_HOUR = 3_600_000_000


def _median_and_p90(delays_us: Sequence[int]) -> tuple[float | None, float | None]:
    """The median (the mean of the two middle values for an even count) and the 90th percentile by nearest
    rank (the smallest value at least 90 % of the values do not exceed), in hours; ``None`` for no values."""
    if not delays_us:
        return None, None
    ordered = sorted(delays_us)
    n = len(ordered)
    middle = n // 2
    median = ordered[middle] if n % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    rank = (9 * n + 9) // 10  # ceil(0.9 n), in integers
    return median / _US_PER_HOUR, ordered[rank - 1] / _US_PER_HOUR


def _version_text(obj: Mapping[str, Any]) -> str | None:
    for key in ("modified", "created"):
        value = obj.get(key)
        if isinstance(value, str):
            return value
    return None


_NOBODY: frozenset[str] = frozenset()


@dataclass(frozen=True)
class _Facts:
    """What the policy audit and the carried extension need of a page's rows beyond the rows themselves."""

    recipients: dict[int, tuple[tuple[str, str], ...]]
    provenance: dict[int, Provenance]


class _Arrivals:
    """Objects arriving from a peer hub within one envelope: their provenance taken off and checked, their author
    and recipients found among this hub's organisations (by STIX identity, looked up once per envelope)."""

    def __init__(self, intel: Intel) -> None:
        self.intel = intel
        self.authors: dict[str, str] = {}
        self.recipients: dict[str, str | None] = {}

    def receive(
        self, obj: dict[str, Any], principal: Principal, boundary: Boundary
    ) -> tuple[dict[str, Any], str, tuple[tuple[str, str], ...], Provenance, Tlp | None] | None:
        """The object as it is stored, its author organisation, recipients, provenance and the TLP it was shared
        under at the sender; None for an echo."""
        hub_id = self.intel.hub_id
        obj, carried = detach(obj, strip=(SHARE_EXTENSION,))
        if carried is None:
            origin = boundary.origin_hub
            return obj, principal.org.id, (), Provenance(origin, (origin,), boundary.peer_id), None
        if carried.origin_hub == hub_id or hub_id in carried.hops:
            return None
        author_org_id = principal.org.id
        if carried.author is not None:
            identity = carried.author.identity
            if identity not in self.authors:
                self.authors[identity] = self.intel.org_for_author(carried.author).id
            author_org_id = self.authors[identity]
        recipients: list[tuple[str, str]] = []
        for identity in carried.recipients:
            if identity not in self.recipients:
                try:
                    self.recipients[identity] = self.intel.accounts.get_org(identity).id
                except NotFoundError:
                    self.recipients[identity] = None  # not known here: nobody here is that recipient
            org_id = self.recipients[identity]
            if org_id is not None:
                recipients.append(("org", org_id))
        hops = carried.hops or (carried.origin_hub,)
        provenance = Provenance(carried.origin_hub, hops, boundary.peer_id)
        return obj, author_org_id, tuple(recipients), provenance, carried.tlp


def _effective_tlp(marked: Tlp | None, default: Tlp, floor: Tlp | None) -> Tlp:
    """The object's own marking, else the collection default; never below the level a peer shared it under (which
    stands in for the collection default when the object is unmarked)."""
    if floor is None:
        return default if marked is None else marked
    return floor if marked is None else max(marked, floor)


def _audience(row: StoredRow, recipients: Iterable[tuple[str, str]]) -> Audience:
    recipients = tuple(recipients)
    if not recipients:
        return Audience(row.tlp, row.author_org_id, row.author_user_id, _NOBODY, _NOBODY, _NOBODY)
    return Audience(
        tlp=row.tlp,
        author_org_id=row.author_org_id,
        author_user_id=row.author_user_id,
        org_ids=frozenset(r for k, r in recipients if k == "org"),
        circle_ids=frozenset(r for k, r in recipients if k == "circle"),
        user_ids=frozenset(r for k, r in recipients if k == "user"),
    )


def _meta(row: StoredRow) -> ObjectMeta:
    return ObjectMeta(
        object_id=row.object_id,
        type=row.type,
        version=row.version_text,
        date_added=format_us(row.date_added_us),
        date_added_us=row.date_added_us,
        spec_version=row.spec_version,
        tlp=row.tlp,
        author_org_id=row.author_org_id,
        revoked=row.revoked,
    )


# An over-correlating value is counted up to this many times the cap, then reported as "at
# least" that many: the count of a value held by half the store would otherwise cost more than
# the whole question may (docs/correlation.md).
COUNT_FACTOR = 10

_ID_SHAPE = re.compile(r"[a-z0-9][a-z0-9-]*--[0-9a-fA-F-]{36}")


def _looks_like_id(text: str) -> bool:
    return _ID_SHAPE.fullmatch(text) is not None


def _name_of(body: str | None) -> str:
    if not body:
        return ""
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        return ""
    for key in ("name", "value", "pattern"):
        value = obj.get(key)
        if isinstance(value, str):
            return value[:200]
    return ""
