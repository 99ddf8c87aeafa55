"""Use cases of the federation context: peers, their policy, and the sync engine.

A peer is another Ribat hub (or any TAXII 2.1 server, for pulling and pushing without provenance). On this hub
it is three things: a **record** (where it is, the key this hub presents to it, what this hub starts — pull, push,
both, or ``serve`` — and which local collection pairs with which of its collections); an **organisation** that
stands for the peer's operator, whose trust circles are part of the peer's policy; and a **sync account** in that
organisation, whose key the peer uses to read and write here. Everything the peer reads through that key, and
everything this hub pushes to it, passes the one boundary of ``ribat.intel.boundary`` (the TLP engine for the
peer's organisation, narrowed by the peer's ceiling and types, never back to where it came from).

A run syncs each collection pair in four checkpointed streams: objects pulled (by the peer's ``date_added``),
tombstones pulled, objects pushed (by this hub's ``date_added``) and tombstones pushed. A checkpoint moves only
after the page it follows is committed on the receiving side, so a run killed at any point resumes without loss,
and a page sent twice is stored once. A run is held by one process at a time (a lease, as for feeds); a lease
left by a process of this host that has died is broken at once, others when they expire.
"""

from __future__ import annotations

import builtins
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import orjson

from ribat.accounts import Accounts, NewApiKey, Principal, Role
from ribat.clock import Clock, NewId, new_uuid, now_us, parse_timestamp_us
from ribat.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from ribat.federation.client import ObjectsPage, PeerClient, PeerError, envelopes
from ribat.federation.store import PeerStore
from ribat.federation.types import Direction, Peer, PeerPair, PeerRun, PeerStatus, RunStatus, Stream
from ribat.intel import Grant, Intel, ObjectFilter, Page, Status, Tlp
from ribat.intel.boundary import HIGHEST_CEILING, Boundary
from ribat.intel.service import ALREADY, ECHO

if TYPE_CHECKING:
    from ribat.hub import Hub

__all__ = ["Federation", "PeerBoundaries"]

log = logging.getLogger(__name__)

SECOND_US = 1_000_000
_A = TypeVar("_A")
_R = TypeVar("_R")
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
_TYPE = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")


class PeerBoundaries:
    """``Intel.boundaries``: the boundary of the peer whose ``sync`` account a principal is."""

    def __init__(self, store: PeerStore) -> None:
        self.store = store

    def __call__(self, principal: Principal) -> Boundary | None:
        peer = self.store.by_sync_user(principal.user.id)
        return None if peer is None else boundary_of(peer)


def boundary_of(peer: Peer) -> Boundary:
    return Boundary(
        peer_id=peer.id,
        ceiling=peer.max_tlp,
        include_types=frozenset(peer.include_types),
        exclude_types=frozenset(peer.exclude_types),
        hubs=frozenset([peer.remote_hub_id]) if peer.remote_hub_id else frozenset(),
    )


@dataclass
class _Tally:
    pulled: int = 0
    pushed: int = 0
    already: int = 0
    echoes: int = 0
    rejected: int = 0
    deleted: int = 0
    problems: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        if len(self.problems) < 200:
            self.problems.append(text)

    def count(self, status: Mapping[str, Any] | Status, *, pushed: bool, where: str) -> None:
        """Count a TAXII status's outcomes: stored, already held, echo, refused."""
        if isinstance(status, Status):
            successes = [(d.id, d.message) for d in status.successes]
            failures = [(d.id, d.message) for d in status.failures]
        else:
            successes = [(d.get("id", ""), d.get("message")) for d in status.get("successes", []) or []]
            failures = [(d.get("id", ""), d.get("message")) for d in status.get("failures", []) or []]
            # A status may list no details: its counts still say how many.
            if not successes and not failures:
                if pushed:
                    self.pushed += int(status.get("success_count", 0) or 0)
                self.rejected += int(status.get("failure_count", 0) or 0)
                return
        for _, message in successes:
            if message == ECHO:
                self.echoes += 1
            elif message == ALREADY:
                self.already += 1
            elif pushed:
                self.pushed += 1
            else:
                self.pulled += 1
        for oid, message in failures:
            self.rejected += 1
            self.note(f"{where}: {oid}: {message or 'refused'}")


class Federation:
    def __init__(
        self,
        store: PeerStore,
        intel: Intel,
        accounts: Accounts,
        *,
        page_size: int = 1000,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 1.0,
        lease_seconds: float = 300.0,
        max_backoff_seconds: float = 3600.0,
        sleep: Callable[[float], object] = time.sleep,
        transport: httpx.BaseTransport | None = None,
        now: Clock = now_us,
        new_id: NewId = new_uuid,
    ) -> None:
        self.store = store
        self.intel = intel
        self.accounts = accounts
        self.page_size = page_size
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.lease_us = int(lease_seconds * SECOND_US)
        self.max_backoff_us = int(max_backoff_seconds * SECOND_US)
        self.sleep = sleep
        self.transport = transport
        self.now = now
        self.new_id = new_id
        self.runner = f"{socket.gethostname()}:{os.getpid()}"

    @classmethod
    def for_hub(cls, hub: Hub, **kwargs: Any) -> Federation:
        from ribat.accounts import SecretBox
        from ribat.federation._store_sql import SqlPeerStore

        s = hub.settings
        kwargs.setdefault("page_size", min(s.federation_page_size, s.page_size_cap))
        kwargs.setdefault("timeout", s.federation_timeout)
        kwargs.setdefault("retries", s.federation_retries)
        return cls(SqlPeerStore(hub.db, SecretBox(hub.secret_key)), hub.intel, hub.accounts, **kwargs)

    # -- peers ------------------------------------------------------------------------------------

    def add(
        self,
        name: str,
        url: str,
        *,
        direction: Direction | str,
        pairs: Iterable[tuple[str, str]],
        org: str,
        key: str | None = None,
        circles: Iterable[str] = (),
        max_tlp: Tlp | str = Tlp.GREEN,
        include_types: Iterable[str] = (),
        exclude_types: Iterable[str] = (),
        interval_seconds: int = 300,
        by: Principal | None = None,
    ) -> tuple[Peer, NewApiKey]:
        """Add a peer: its record, its ``sync`` account (whose key, returned once, the peer's operator configures
        on the peer) and its policy. The peer's organisation is put in ``circles`` and given read and write on the
        mapped local collections."""
        _check_admin(by)
        name = _name(name)
        direction = _direction(direction)
        url = _url(url)
        if direction is not Direction.SERVE and not key:
            raise ValidationError("key", f"a peer this hub {direction.value}s needs the key the peer gave this hub")
        organisation = self.accounts.get_org(org)
        circle_ids = [self.accounts.get_circle(ref).id for ref in circles]
        resolved = self._pairs(pairs, direction)
        # Everything is checked before the sync account is made: a refused peer leaves no account behind.
        interval = _interval(interval_seconds)
        ceiling = _ceiling(max_tlp)
        included = _types(include_types, "include_types")
        excluded = _types(exclude_types, "exclude_types")
        if self.store.get(name) is not None:
            raise ConflictError("peer", name)
        peer_id = self.new_id()
        try:
            user = self.accounts.create_user(
                f"{name}@peers.ribat.invalid", organisation.id, Role.SYNC, name=f"Peer hub {name} (sync)"
            )
        except ConflictError:
            # The account of a removed peer of that name: it stays switched off, and this peer gets its own.
            user = self.accounts.create_user(
                f"{name}.{peer_id[:8]}@peers.ribat.invalid", organisation.id, Role.SYNC, name=f"Peer hub {name} (sync)"
            )
        peer = Peer(
            id=peer_id,
            name=name,
            url=url,
            direction=direction,
            interval_seconds=interval,
            org_id=organisation.id,
            sync_user_id=user.id,
            remote_hub_id=None,
            max_tlp=ceiling,
            include_types=included,
            exclude_types=excluded,
            enabled=True,
            next_due_us=self.now(),
            consecutive_failures=0,
            created_us=self.now(),
            pairs=resolved,
        )
        self.store.add(peer, key)
        for circle_id in circle_ids:
            self.accounts.add_to_circle(circle_id, [organisation.id])
        self._grant(organisation.id, resolved)
        secret = self.accounts.create_key(user.id, f"peer {name}")
        return self.get(peer.id), secret

    def update(
        self,
        ref: str,
        *,
        url: str | None = None,
        key: str | None = None,
        direction: Direction | str | None = None,
        pairs: Iterable[tuple[str, str]] | None = None,
        max_tlp: Tlp | str | None = None,
        include_types: Iterable[str] | None = None,
        exclude_types: Iterable[str] | None = None,
        interval_seconds: int | None = None,
        enabled: bool | None = None,
        by: Principal | None = None,
    ) -> Peer:
        """Change what is given (the policy's circles are the organisation's: change them on the circles)."""
        _check_admin(by)
        peer = self.get(ref)
        new_direction = peer.direction if direction is None else _direction(direction)
        new = replace(
            peer,
            url=peer.url if url is None else _url(url),
            direction=new_direction,
            pairs=peer.pairs if pairs is None else self._pairs(pairs, new_direction),
            max_tlp=peer.max_tlp if max_tlp is None else _ceiling(max_tlp),
            include_types=peer.include_types if include_types is None else _types(include_types, "include_types"),
            exclude_types=peer.exclude_types if exclude_types is None else _types(exclude_types, "exclude_types"),
            interval_seconds=peer.interval_seconds if interval_seconds is None else _interval(interval_seconds),
            enabled=peer.enabled if enabled is None else enabled,
        )
        if new.direction is not Direction.SERVE and not (key or peer.has_key):
            raise ValidationError("key", f"a peer this hub {new.direction.value}s needs the key the peer gave this hub")
        if new.direction is not Direction.SERVE and any(not pair.remote_id for pair in new.pairs):
            raise ValidationError(
                "collections", "name the peer's collection (LOCAL=REMOTE) of each pair for a peer this hub syncs with"
            )
        self.store.update(new, key, replace_key=key is not None)
        if pairs is not None:
            self._grant(peer.org_id, new.pairs)
        return self.get(peer.id)

    def remove(self, ref: str, *, by: Principal | None = None) -> Peer:
        """Forget a peer and switch its sync account off (what it synced stays)."""
        _check_admin(by)
        peer = self.get(ref)
        self.store.remove(peer.id)
        if peer.sync_user_id is not None:
            self.accounts.set_active(peer.sync_user_id, False)
        return peer

    def get(self, ref: str, *, by: Principal | None = None) -> Peer:
        _check_admin(by)
        found = self.store.get(ref.strip())
        if found is None:
            raise NotFoundError("peer", ref)
        return found

    def list(self, *, by: Principal | None = None) -> builtins.list[Peer]:
        _check_admin(by)
        return self.store.list_peers()

    def runs(
        self, ref: str, *, limit: int = 20, offset: int = 0, by: Principal | None = None
    ) -> builtins.list[PeerRun]:
        if limit < 1 or offset < 0:
            raise ValidationError("limit", "must be positive (and the offset not negative)")
        return self.store.runs(self.get(ref, by=by).id, min(limit, 200), offset)

    def statuses(self, *, by: Principal | None = None) -> builtins.list[PeerStatus]:
        """Every peer with its last run, lag and last error."""
        peers = self.list(by=by)
        ids = [p.id for p in peers]
        last = self.store.last_runs(ids)
        success = self.store.last_success(ids)
        now = self.now()
        found = []
        for peer in peers:
            run = last.get(peer.id)
            done = success.get(peer.id)
            found.append(
                PeerStatus(
                    peer=peer,
                    last_run=run,
                    last_success_us=done,
                    lag_seconds=None if done is None else max(0.0, (now - done) / SECOND_US),
                    last_error=None if run is None else run.error,
                    running=peer.leased(now) and not _dead_here(peer.lease_runner or ""),
                )
            )
        return found

    def status(self, ref: str, *, by: Principal | None = None) -> PeerStatus:
        peer = self.get(ref, by=by)
        return next(s for s in self.statuses(by=by) if s.peer.id == peer.id)

    def cursors(self, ref: str, *, by: Principal | None = None) -> dict[tuple[str, str, str], str]:
        return self.store.cursors(self.get(ref, by=by).id)

    def hello(self, principal: Principal, hub_id: str) -> dict[str, str]:
        """A peer says which hub it is (its sync account calls): remembered, so that nothing that passed through
        that hub is sent to it. Answers this hub's id."""
        if principal.user.role is not Role.SYNC:
            raise PermissionDeniedError("introduce a hub", "this hub (peer sync accounts only)")
        hub_id = hub_id.strip() if isinstance(hub_id, str) else ""
        if not hub_id or "," in hub_id or len(hub_id) > 64:
            raise ValidationError("hub_id", "must be a hub id (1-64 characters, no comma)")
        if hub_id == self.intel.hub_id:
            raise ValidationError("hub_id", "is this hub's own id: a hub cannot be its own peer")
        peer = self.store.by_sync_user(principal.user.id)
        if peer is not None and peer.remote_hub_id != hub_id:
            self.store.set_remote_hub(peer.id, hub_id)
        return {"hub_id": self.intel.hub_id}

    def _pairs(self, pairs: Iterable[tuple[str, str]], direction: Direction) -> tuple[PeerPair, ...]:
        found: dict[tuple[str, str], None] = {}
        for local, remote in pairs:
            collection = self.intel._collection(local.strip())
            remote = remote.strip()
            if remote and not re.fullmatch(r"[A-Za-z0-9._~:-]{1,120}", remote):
                raise ValidationError("collections", f"{remote!r} is not a collection id")
            if not remote and direction is not Direction.SERVE:
                raise ValidationError(
                    "collections", f"{local}: name the peer's collection (LOCAL=REMOTE) for a peer this hub syncs with"
                )
            found[(collection.id, remote)] = None
        if not found:
            raise ValidationError("collections", "name at least one collection (LOCAL=REMOTE, or LOCAL to serve)")
        return tuple(PeerPair(local, remote) for local, remote in found)

    def _grant(self, org_id: str, pairs: Sequence[PeerPair]) -> None:
        """Give the peer's organisation read and write on the mapped local collections (keeping other grants)."""
        for local_id in sorted({pair.local_id for pair in pairs}):
            collection = self.intel._collection(local_id)
            grants = [g for g in collection.grants if not (g.principal_kind == "org" and g.principal_id == org_id)]
            grants.append(Grant("org", org_id, can_read=True, can_write=True))
            self.intel.set_grants(collection.id, grants)

    # -- running ------------------------------------------------------------------------------------

    def run(self, ref: str, *, by: Principal | None = None, stop: threading.Event | None = None) -> PeerRun:
        """Sync with a peer now (and push its next scheduled run one interval on). ConflictError when another
        live process is syncing with it."""
        peer = self.get(ref, by=by)
        if peer.direction is Direction.SERVE:
            raise ValidationError("direction", f"peer {peer.name!r} is served only: this hub starts nothing with it")
        now = self.now()
        if not self.store.claim(peer.id, now, now + self.lease_us, self.runner, due_only=False):
            holder, _ = self.store.lease_holder(peer.id)
            if not (holder is not None and _dead_here(holder) and self.store.break_lease(peer.id, holder)):
                busy = ConflictError("sync with peer", peer.name)
                busy.message = f"peer {peer.name!r} is already being synced (by {holder})"
                busy.args = (busy.message,)
                raise busy
            if not self.store.claim(peer.id, now, now + self.lease_us, self.runner, due_only=False):
                raise ConflictError("sync with peer", peer.name)
        return self._run_claimed(peer.id, "manual", stop)

    def run_due(self, *, stop: threading.Event | None = None) -> builtins.list[PeerRun]:
        """Sync every due peer, one at a time, each only if this process wins its lease (a lease left by a dead
        process of this host is broken first, so a restarted hub does not wait for it to expire)."""
        done: builtins.list[PeerRun] = []
        self._break_dead_leases()
        for peer in self.store.due(self.now()):
            if stop is not None and stop.is_set():
                break
            now = self.now()
            if self.store.claim(peer.id, now, now + self.lease_us, self.runner, due_only=True):
                done.append(self._run_claimed(peer.id, "schedule", stop))
        return done

    def _break_dead_leases(self) -> None:
        now = self.now()
        for peer in self.store.list_peers():
            if peer.leased(now) and peer.lease_runner is not None and _dead_here(peer.lease_runner):
                self.store.break_lease(peer.id, peer.lease_runner)

    def _run_claimed(self, peer_id: str, trigger: str, stop: threading.Event | None) -> PeerRun:
        peer = self.get(peer_id)
        run = PeerRun(
            id=self.new_id(),
            peer_id=peer.id,
            trigger=trigger,
            runner=self.runner,
            status=RunStatus.RUNNING,
            started_us=self.now(),
        )
        failures = peer.consecutive_failures
        tally = _Tally()
        error: str | None = None
        try:
            self.store.start_run(run)
            self._sync(peer, tally, stop)
        except PeerError as exc:
            error = str(exc)
        except Exception as exc:  # a run's failure is recorded, never raised into the scheduler
            log.exception("sync with peer %s failed", peer.name)
            error = f"{type(exc).__name__}: {exc}"
        finally:
            finished = self.now()
            if error is not None:
                status = RunStatus.FAILED
            elif stop is not None and stop.is_set():
                status, error = RunStatus.FAILED, "stopped before the end (the hub is shutting down)"
            else:
                status = RunStatus.PARTIAL if tally.rejected else RunStatus.OK
            run = replace(
                run,
                status=status,
                finished_us=finished,
                pulled=tally.pulled,
                pushed=tally.pushed,
                already=tally.already,
                echoes=tally.echoes,
                rejected=tally.rejected,
                deleted=tally.deleted,
                problems=tuple(tally.problems),
                error=error,
            )
            try:
                self.store.finish_run(run)
            finally:
                failures = failures + 1 if status is RunStatus.FAILED else 0
                self.store.release(peer.id, finished + self._delay_us(peer, failures), failures)
        return run

    def _delay_us(self, peer: Peer, failures: int) -> int:
        """The interval after a good run; after ``failures`` failed runs in a row, the interval doubled that many
        times, up to the backoff cap (or the interval, when it is longer than the cap)."""
        interval = peer.interval_seconds * SECOND_US
        backoff: int = interval * 2 ** min(failures, 20)
        return min(backoff, max(interval, self.max_backoff_us))

    def _client(self, peer: Peer) -> PeerClient:
        return PeerClient(
            peer.url,
            self.store.key(peer.id),
            hub_id=self.intel.hub_id,
            timeout=self.timeout,
            retries=self.retries,
            backoff=self.backoff,
            sleep=self.sleep,
            transport=self.transport,
        )

    def _sync(self, peer: Peer, tally: _Tally, stop: threading.Event | None) -> None:
        if peer.sync_user_id is None:
            raise ValidationError("peer", f"{peer.name} has no sync account")
        principal = self.accounts.principal_for(peer.sync_user_id)
        with self._client(peer) as client:
            remote_hub = client.hello()
            if remote_hub is not None and remote_hub != peer.remote_hub_id:
                if remote_hub == self.intel.hub_id:
                    raise PeerError(peer.url, "the peer is this hub itself")
                self.store.set_remote_hub(peer.id, remote_hub)
            for pair in peer.pairs:
                if not pair.remote_id:
                    continue
                # TAXII 2.1 has no deletions: they travel only between Ribat hubs (those that answer hello).
                link = _Link(peer, pair, client, principal, tally, stop)
                if peer.direction.pulls:
                    self._pull_objects(link)
                    if remote_hub is not None:
                        self._pull_tombstones(link)
                if peer.direction.pushes:
                    self._push_objects(link)
                    if remote_hub is not None:
                        self._push_tombstones(link)

    def _keep_lease(self, peer: Peer) -> None:
        self.store.renew(peer.id, self.now() + self.lease_us)

    def _pull_objects(self, link: _Link) -> None:
        peer, pair, client, principal, tally = link.peer, link.pair, link.client, link.principal, link.tally
        cursor = self.store.cursor(peer.id, pair, Stream.PULL_OBJECTS)
        where = f"pull {pair.remote_id}"

        def fetch(after: str | None) -> ObjectsPage:
            return client.objects(pair.remote_id, added_after=after, limit=self.page_size)

        # The next page is fetched while this one is stored; the checkpoint still moves only after the store.
        with _Ahead() as ahead:
            coming: Future[ObjectsPage] | None = ahead.submit(fetch, cursor)
            while coming is not None:
                page = coming.result()
                position = page.last_added
                if position is not None and position != cursor:
                    try:
                        parse_timestamp_us(position)
                    except ValueError:
                        raise PeerError(
                            client.api_root, f"X-TAXII-Date-Added-Last {position!r} is not a timestamp"
                        ) from None
                elif page.more:
                    raise PeerError(
                        client.api_root, "the peer says more objects follow but the page moved no checkpoint"
                    )
                stopping = link.stopped
                coming = ahead.submit(fetch, position) if page.more and not stopping else None
                if page.objects:
                    status = self.intel.ingest(principal, pair.local_id, {"objects": page.objects})
                    tally.count(status, pushed=False, where=where)
                if position is not None and position != cursor:
                    self.store.save_cursor(peer.id, pair, Stream.PULL_OBJECTS, position, self.now())
                    cursor = position
                self._keep_lease(peer)

    def _pull_tombstones(self, link: _Link) -> None:
        peer, pair, client, principal, tally = link.peer, link.pair, link.client, link.principal, link.tally
        cursor = self.store.cursor(peer.id, pair, Stream.PULL_TOMBSTONES)
        while not link.stopped:
            page = client.tombstones(pair.remote_id, after=cursor, limit=self.page_size)
            if page.items:
                deleted, problems = self.intel.receive_tombstones(principal, pair.local_id, page.items)
                tally.deleted += deleted
                for problem in problems:
                    tally.note(f"pull deletions {pair.remote_id}: {problem}")
            if page.next is not None and page.next != cursor:
                self.store.save_cursor(peer.id, pair, Stream.PULL_TOMBSTONES, page.next, self.now())
                cursor = page.next
            elif page.more:
                raise PeerError(client.base, "the peer says more deletions follow but the page moved no checkpoint")
            self._keep_lease(peer)
            if not page.more:
                return

    def _push_objects(self, link: _Link) -> None:
        peer, pair, client, principal, tally = link.peer, link.pair, link.client, link.principal, link.tally
        saved = self.store.cursor(peer.id, pair, Stream.PUSH_OBJECTS)
        cursor = int(saved) if saved else None
        where = f"push {pair.remote_id}"

        def read(after: int | None) -> Page:
            # The peer's sync account reads: the same boundary as when the peer pulls.
            return self.intel.objects(
                principal, pair.local_id, ObjectFilter(added_after_us=after, versions=("all",)), limit=self.page_size
            )

        # The next page is read while this one is sent; the checkpoint moves only once the peer has stored it.
        with _Ahead() as ahead:
            coming: Future[Page] | None = ahead.submit(read, cursor)
            while coming is not None:
                page = coming.result()
                stopping = link.stopped
                coming = ahead.submit(read, page.position_us) if page.more and not stopping else None
                # Envelopes within what the peer said it accepts; an object too large for any is refused here.
                limit = client.max_content_length
                groups, too_large = envelopes(page.bodies, limit)
                for group in groups:
                    self._send(link, group)
                for text in too_large:
                    tally.rejected += 1
                    tally.note(
                        f"{where}: {_id_of(text)}: {len(text.encode()):,} bytes, more than the peer accepts in one "
                        f"request ({limit or 0:,} bytes)"
                    )
                if page.position_us is not None and page.position_us != cursor:
                    self.store.save_cursor(peer.id, pair, Stream.PUSH_OBJECTS, str(page.position_us), self.now())
                    cursor = page.position_us
                self._keep_lease(peer)

    def _send(self, link: _Link, group: Sequence[str]) -> None:
        """POST one envelope; one the peer refuses as too large (413, from a peer that did not say its limit) is
        sent again in halves, down to a single object, which is then counted as refused."""
        where = f"push {link.pair.remote_id}"
        try:
            link.tally.count(link.client.add_objects(link.pair.remote_id, group), pushed=True, where=where)
        except PeerError as exc:
            if exc.status != 413:
                raise
            if len(group) == 1:
                link.tally.rejected += 1
                link.tally.note(f"{where}: {_id_of(group[0])}: refused by the peer as too large (HTTP 413)")
                return
            half = len(group) // 2
            self._send(link, group[:half])
            self._send(link, group[half:])

    def _push_tombstones(self, link: _Link) -> None:
        peer, pair, client, principal, tally = link.peer, link.pair, link.client, link.principal, link.tally
        saved = self.store.cursor(peer.id, pair, Stream.PUSH_TOMBSTONES)
        after = parse_position(saved) if saved else None
        while not link.stopped:
            items, position, more = self.intel.tombstones(principal, pair.local_id, after=after, limit=self.page_size)
            if items:
                answer = client.send_tombstones(pair.remote_id, items)
                tally.deleted += int(answer.get("deleted", 0))
                for problem in answer.get("problems", []) or []:
                    tally.note(f"push deletions {pair.remote_id}: {problem}")
            if position is not None and position != after:
                self.store.save_cursor(peer.id, pair, Stream.PUSH_TOMBSTONES, format_position(position), self.now())
                after = position
            self._keep_lease(peer)
            if not more:
                return


@dataclass(frozen=True)
class _Link:
    """One collection pair of a run: what each of its four streams works with."""

    peer: Peer
    pair: PeerPair
    client: PeerClient
    principal: Principal
    tally: _Tally
    stop: threading.Event | None

    @property
    def stopped(self) -> bool:
        return self.stop is not None and self.stop.is_set()


class _Ahead:
    """One background thread that does the next page's I/O while the current page is handled. On the way out it
    does not wait for work nobody will use (a fetch still retrying after the run failed ends on its own)."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ribat-sync-ahead")

    def submit(self, fn: Callable[[_A], _R], arg: _A) -> Future[_R]:
        return self._pool.submit(fn, arg)

    def __enter__(self) -> _Ahead:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _id_of(text: str) -> str:
    try:
        found = orjson.loads(text).get("id")
    except (orjson.JSONDecodeError, AttributeError):
        return "an object"
    return found if isinstance(found, str) else "an object"


def parse_pairs(specs: Iterable[str]) -> list[tuple[str, str]]:
    """Collection pairs as operators write them: ``LOCAL=REMOTE`` (or ``LOCAL`` alone, served only), several per
    item when comma-separated: ``["a=x, b", "c=y"]`` → ``[("a", "x"), ("b", ""), ("c", "y")]``. ``add`` and
    ``update`` check them."""
    pairs = []
    for spec in specs:
        for part in spec.split(","):
            if part.strip():
                local, _, remote = part.partition("=")
                pairs.append((local.strip(), remote.strip()))
    return pairs


def format_position(position: tuple[int, int]) -> str:
    """A tombstone position on the wire: ``<deleted_us>:<pk>``."""
    return f"{position[0]}:{position[1]}"


def parse_position(text: str) -> tuple[int, int]:
    us, sep, pk = text.partition(":")
    if not sep or not us.isdigit() or not pk.isdigit():
        raise ValidationError("after", f"{text!r} is not a tombstone position (<deleted_us>:<pk>)")
    return int(us), int(pk)


def _dead_here(runner: str) -> bool:
    """True when ``runner`` (host:pid) is a process of this host that no longer runs."""
    host, _, pid = runner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return int(pid) != os.getpid() and _zombie(int(pid))


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[-1].split()[0] == "Z"
    except OSError:
        return False


def _check_admin(by: Principal | None) -> None:
    if by is not None and by.user.role is not Role.ADMIN:
        raise PermissionDeniedError("manage", "peer hubs (administrators only)")


def _name(name: str) -> str:
    name = name.strip().lower()
    if not _NAME.match(name):
        raise ValidationError(
            "name", "1-63 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return name


def _direction(direction: Direction | str) -> Direction:
    try:
        return Direction(direction)
    except ValueError:
        raise ValidationError("direction", f"must be one of {', '.join(d.value for d in Direction)}") from None


def _url(url: str) -> str:
    url = url.strip()
    parts = httpx.URL(url) if url else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.host:
        raise ValidationError("url", f"{url!r} is not an http(s) URL of the peer's TAXII 2.1 API root")
    return url if url.endswith("/") else url + "/"


def _interval(seconds: int) -> int:
    if not isinstance(seconds, int) or not 10 <= seconds <= 7 * 24 * 3600:
        raise ValidationError("interval", "must be between 10 seconds and a week")
    return seconds


def _ceiling(tlp: Tlp | str) -> Tlp:
    try:
        level = tlp if isinstance(tlp, Tlp) else Tlp.parse(tlp)
    except ValueError as exc:
        raise ValidationError("max_tlp", str(exc)) from None
    if level > HIGHEST_CEILING:
        raise ValidationError("max_tlp", f"{level.label} never leaves the hub: the ceiling is at most TLP:AMBER")
    return level


def _types(types: Iterable[str], field_name: str) -> tuple[str, ...]:
    found = sorted({t.strip() for t in types if t.strip()})
    for t in found:
        if not _TYPE.match(t):
            raise ValidationError(field_name, f"{t!r} is not a STIX object type")
    return tuple(found)
