"""Use cases of the feeds context: define feeds, run them (now or when due), read their runs.

A run takes the feed's lease (a conditional UPDATE, so one process runs a feed at a
time), pulls the source batch by batch (``ribat.feeds.sources``), ingests each batch
through ``Intel.ingest`` on behalf of the feed's user, and saves the batch's cursor or
item state only after the batch is committed. Whatever stops a run (the source failing
on page 3, the hub shutting down) leaves what was committed in place, and the next run
resumes from the saved state. Every run is recorded with its counts and problems.
"""

from __future__ import annotations

import builtins
import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from ribat.accounts import Accounts, Principal, Role
from ribat.clock import Clock, NewId, new_uuid, now_us
from ribat.errors import (
    ConflictError,
    InputError,
    NotFoundError,
    PermissionDeniedError,
    RibatError,
    ValidationError,
)
from ribat.feeds.decorate import decorate
from ribat.feeds.fetch import Fetcher
from ribat.feeds.sources import TAXII_PAGE_SIZE, Batch, PullState, SourceError, open_source
from ribat.feeds.store import FeedStore
from ribat.feeds.types import Credentials, Feed, FeedKind, FeedRun, RunStatus, RunTrigger
from ribat.intel import Intel, Tlp
from ribat.intel.tlp import TLP_MARKING_IDS, tlp_from_marking_definition

if TYPE_CHECKING:
    from ribat.hub import Hub

__all__ = ["INGEST_BATCH", "Feeds", "Progress"]

log = logging.getLogger(__name__)

MINUTE_US = 60 * 1_000_000
INGEST_BATCH = 1000  # objects per ingest call (one transaction each)
MAX_PROBLEMS = 200  # problems kept per run record
MAX_INTERVAL_MINUTES = 366 * 24 * 60

Progress = Callable[[int, int | None, str], None]
"""``progress(batches_done, batches_expected or None, label_of_the_last_batch)``."""

_KEEP: Any = object()


@dataclass
class _Tally:
    fetched: int = 0
    stored: int = 0
    merged: int = 0
    failed: int = 0
    lost: int = 0
    problems: list[str] = field(default_factory=list)
    dropped: int = 0

    def note(self, text: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(text)
        else:
            self.dropped += 1

    def problem_lines(self) -> tuple[str, ...]:
        if self.dropped:
            return (*self.problems, f"… and {self.dropped} more")
        return tuple(self.problems)


class Feeds:
    """The feeds of one hub.

    ``http`` is the ``httpx.Client`` downloads go through (tests pass one over
    ``httpx.MockTransport``); without it a client with ``timeout`` is made on first use.
    ``sleep`` is what backoff waits with. ``lease_minutes`` bounds how long a process that
    died mid-run keeps others from running the feed (a live run renews it after each batch).
    ``taxii_page_size`` is the ``limit`` asked of TAXII servers (they may serve fewer).
    """

    def __init__(
        self,
        store: FeedStore,
        intel: Intel,
        accounts: Accounts,
        *,
        now: Clock = now_us,
        new_id: NewId = new_uuid,
        http: httpx.Client | None = None,
        timeout: float = 60.0,
        max_bytes: int = 256 * 1024 * 1024,
        retries: int = 4,
        sleep: Callable[[float], object] = time.sleep,
        lease_minutes: int = 15,
        taxii_page_size: int = TAXII_PAGE_SIZE,
    ) -> None:
        self.store = store
        self.intel = intel
        self.accounts = accounts
        self.now = now
        self.new_id = new_id
        self._http = http
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.retries = retries
        self.sleep = sleep
        self.lease_us = lease_minutes * MINUTE_US
        self.taxii_page_size = taxii_page_size
        self._fetcher: Fetcher | None = None
        self._lock = threading.Lock()

    @classmethod
    def for_hub(cls, hub: Hub, **kwargs: Any) -> Feeds:
        """Feeds wired to a hub's database, intel and accounts, with the hub's settings."""
        from ribat.accounts import SecretBox
        from ribat.feeds._store_sql import SqlFeedStore

        settings = hub.settings
        kwargs.setdefault("timeout", settings.feed_timeout)
        kwargs.setdefault("max_bytes", settings.feed_max_bytes)
        return cls(SqlFeedStore(hub.db, SecretBox(hub.secret_key)), hub.intel, hub.accounts, **kwargs)

    def fetcher(self) -> Fetcher:
        with self._lock:
            if self._fetcher is None:
                self._fetcher = Fetcher(
                    self._http, timeout=self.timeout, max_bytes=self.max_bytes, retries=self.retries, sleep=self.sleep
                )
            return self._fetcher

    def close(self) -> None:
        """Close the HTTP client this made (not one passed in)."""
        with self._lock:
            if self._fetcher is not None:
                self._fetcher.close()
                self._fetcher = None

    # -- definitions --------------------------------------------------------------------------

    def add(
        self,
        name: str,
        *,
        kind: FeedKind | str,
        source: str,
        collection: str,
        user: str,
        every: int = 60,
        tlp: Tlp | str | None = None,
        tags: Iterable[str] = (),
        mapping: Mapping[str, str] | None = None,
        credentials: Credentials | None = None,
        enabled: bool = True,
        by: Principal | None = None,
    ) -> Feed:
        """Define a feed; it is due at once when enabled.

        ``user`` (email or id) is whom objects are ingested for: they must be active and
        allowed to write to ``collection``. ``by`` is who asks (None: the hub's operator at
        the command line): an admin, or a writer defining a feed for a user of their own
        organisation; only admins may define feeds that read the hub's local files.
        """
        _check_writer(by)
        now = self.now()
        feed_kind = _kind(kind)
        owner = self._owner_principal(user, by)
        feed = Feed(
            id=self.new_id(),
            name=_name(name),
            kind=feed_kind,
            source=_source(feed_kind, source, by),
            collection_id=self._writable_collection(owner, collection),
            owner_org_id=owner.org.id,
            owner_user_id=owner.user.id,
            interval_minutes=_interval(every),
            tlp=_tlp(tlp),
            tags=_tags(tags),
            mapping=_mapping(feed_kind, mapping),
            credentials=_credentials(feed_kind, source, credentials),
            enabled=bool(enabled),
            next_due_us=now,
            consecutive_failures=0,
            created_us=now,
        )
        self.store.add(feed, now)
        return feed

    def update(
        self,
        ref: str,
        *,
        name: str | None = None,
        source: str | None = None,
        collection: str | None = None,
        user: str | None = None,
        every: int | None = None,
        tlp: Tlp | str | None = _KEEP,
        tags: Iterable[str] | None = None,
        mapping: Mapping[str, str] | None = None,
        credentials: Credentials | None = _KEEP,
        enabled: bool | None = None,
        by: Principal | None = None,
    ) -> Feed:
        """Change a feed. A new source (or new credentials for it) starts it afresh: its
        cursor and item state are forgotten. ``tlp=None`` / ``credentials=None`` clear them."""
        _check_writer(by)
        feed = self._visible(by, ref)
        owner_org_id, owner_user_id, collection_id = feed.owner_org_id, feed.owner_user_id, feed.collection_id
        if user is not None or collection is not None:  # else a disabled owner can still be switched off
            owner = self._owner_principal(user if user is not None else feed.owner_user_id, by)
            collection_id = self._writable_collection(owner, collection if collection is not None else collection_id)
            owner_org_id, owner_user_id = owner.org.id, owner.user.id
        new_source = _source(feed.kind, source, by) if source is not None else feed.source
        new_credentials = feed.credentials if credentials is _KEEP else credentials
        changed = replace(
            feed,
            name=_name(name) if name is not None else feed.name,
            source=new_source,
            collection_id=collection_id,
            owner_org_id=owner_org_id,
            owner_user_id=owner_user_id,
            interval_minutes=_interval(every) if every is not None else feed.interval_minutes,
            tlp=feed.tlp if tlp is _KEEP else _tlp(tlp),
            tags=_tags(tags) if tags is not None else feed.tags,
            mapping=_mapping(feed.kind, mapping) if mapping is not None else feed.mapping,
            credentials=_credentials(feed.kind, new_source, new_credentials),
            enabled=feed.enabled if enabled is None else bool(enabled),
            last_run=None,
        )
        self.store.update(changed, self.now())
        if changed.source != feed.source or changed.collection_id != feed.collection_id:
            self.store.save_cursor(feed.id, {})
            self.store.set_items(feed.id, dict.fromkeys(self.store.items(feed.id)))
            changed = replace(changed, cursor={})
        return self.get(changed.id)

    def enable(self, ref: str, *, by: Principal | None = None) -> Feed:
        return self.update(ref, enabled=True, by=by)

    def disable(self, ref: str, *, by: Principal | None = None) -> Feed:
        return self.update(ref, enabled=False, by=by)

    def remove(self, ref: str, *, by: Principal | None = None) -> Feed:
        """Delete a feed and its run records; the objects it imported stay."""
        _check_writer(by)
        feed = self._visible(by, ref)
        self.store.remove(feed.id)
        return feed

    def get(self, ref: str, *, by: Principal | None = None) -> Feed:
        """A feed by id or name, with its last run. With ``by``, only an admin or a member
        of the feed's organisation finds it."""
        return self._visible(by, ref)

    def list(self, *, by: Principal | None = None) -> list[Feed]:
        """Every feed (with ``by``: those of its organisation, or all for an admin), by name."""
        if by is None or by.user.role is Role.ADMIN:
            return self.store.list_feeds()
        return self.store.list_feeds(owner_org_id=by.org.id)

    def runs(
        self, ref: str, limit: int = 20, offset: int = 0, *, by: Principal | None = None
    ) -> builtins.list[FeedRun]:
        """The feed's runs, newest first."""
        if limit < 1 or limit > 1000:
            raise ValidationError("limit", "must be between 1 and 1000")
        if offset < 0:
            raise ValidationError("offset", "must not be negative")
        return self.store.runs(self._visible(by, ref).id, limit, offset)

    def due(self, now: int | None = None) -> builtins.list[Feed]:
        """Enabled feeds due at ``now`` that no process is running, earliest first."""
        return self.store.due(self.now() if now is None else now)

    # -- running ---------------------------------------------------------------------------------

    def run(self, ref: str, *, by: Principal | None = None, progress: Progress | None = None) -> FeedRun:
        """Run a feed now (enabled or not), and push its next scheduled run one interval on.

        ConflictError when another process is running it.
        """
        _check_writer(by)
        feed = self._visible(by, ref)
        now = self.now()
        if not self.store.claim(feed.id, now, now + self.lease_us, due_only=False):
            busy = ConflictError("run of feed", feed.name)
            busy.message = f"feed {feed.name!r} is already running (in this or another process)"
            busy.args = (busy.message,)
            raise busy
        return self._run_claimed(feed.id, RunTrigger.MANUAL, progress, None)

    def run_due(self, *, stop: threading.Event | None = None) -> builtins.list[FeedRun]:
        """Run every due feed, one at a time, each only if this process wins its claim."""
        done: builtins.list[FeedRun] = []
        for feed in self.due():
            if stop is not None and stop.is_set():
                break
            now = self.now()
            if self.store.claim(feed.id, now, now + self.lease_us, due_only=True):
                done.append(self._run_claimed(feed.id, RunTrigger.SCHEDULE, None, stop))
        return done

    def _run_claimed(
        self, feed_id: str, trigger: RunTrigger, progress: Progress | None, stop: threading.Event | None
    ) -> FeedRun:
        feed = self.store.get(feed_id)  # as it is now that it is ours (another process may have run it)
        if feed is None:
            raise NotFoundError("feed", feed_id)
        run: FeedRun | None = None
        failures = feed.consecutive_failures
        try:
            run = self.store.start_run(FeedRun(id=0, feed_id=feed.id, trigger=trigger, started_us=self.now()))
            run = self._execute(feed, run, progress, stop)
            failures = failures + 1 if run.status is RunStatus.ERROR else 0
            return run
        finally:
            finished = run.finished_us if run is not None and run.finished_us is not None else self.now()
            next_due = finished + feed.interval_minutes * MINUTE_US
            self.store.release(feed.id, next_due, failures)

    def _execute(self, feed: Feed, run: FeedRun, progress: Progress | None, stop: threading.Event | None) -> FeedRun:
        tally = _Tally()
        error: str | None = None
        expected: builtins.list[int | None] = [None]
        done = 0

        def announce(total: int) -> None:
            expected[0] = total

        try:
            principal = self._runner(feed)
            items = self.store.items(feed.id) if feed.kind in (FeedKind.MISP_FEED, FeedKind.DIRECTORY) else {}
            batches = open_source(feed, self.fetcher(), taxii_page_size=self.taxii_page_size).pull(
                PullState(feed.cursor, items, announce)
            )
            while True:
                if stop is not None and stop.is_set():
                    error = "stopped: the hub is shutting down (the next run resumes)"
                    break
                batch = next(batches, None)
                if batch is None:
                    break
                self._commit(feed, principal, batch, tally)
                done += 1
                self.store.renew(feed.id, self.now() + self.lease_us)
                if progress is not None:
                    progress(done, expected[0], batch.label)
        except SourceError as exc:
            error = str(exc)
        except RibatError as exc:
            error = exc.message
        except Exception as exc:  # a run never takes the scheduler down; the record says what happened
            log.exception("feed %s: run %s failed", feed.name, run.id)
            error = f"unexpected {type(exc).__name__}: {exc}"
        if error is not None:
            status = RunStatus.ERROR
        elif tally.failed:
            status = RunStatus.PARTIAL
        else:
            status = RunStatus.OK
        finished = replace(
            run,
            finished_us=self.now(),
            status=status,
            fetched=tally.fetched,
            stored=tally.stored,
            merged=tally.merged,
            failed=tally.failed,
            lost=tally.lost,
            error=error,
            problems=tally.problem_lines(),
        )
        self.store.finish_run(finished)
        log.info(
            "feed %s: %s; fetched %d, stored %d, merged %d, failed %d%s",
            feed.name,
            status.value,
            tally.fetched,
            tally.stored,
            tally.merged,
            tally.failed,
            f"; {error}" if error else "",
        )
        return finished

    def _commit(self, feed: Feed, principal: Principal, batch: Batch, tally: _Tally) -> None:
        """Ingest one batch, then (and only then) save the state it carries."""
        for problem in batch.problems:
            tally.failed += 1
            tally.note(f"failed: {problem}")
        for loss in batch.losses:
            tally.lost += 1
            tally.note(f"lost: {loss.where}: {loss.field} = {loss.value!r}: {loss.reason}")
        for note in batch.notes:
            tally.note(f"note: {note}")
        objects = decorate(batch.objects, feed.tlp, feed.tags, self._markings(batch.objects))
        tally.fetched += len(objects)
        for start in range(0, len(objects), INGEST_BATCH):
            chunk = objects[start : start + INGEST_BATCH]
            envelope = {**batch.head, "objects": chunk} if batch.head else {"objects": chunk}
            try:
                status = self.intel.ingest(principal, feed.collection_id, envelope)
            except InputError as exc:
                tally.failed += len(chunk)
                tally.note(f"failed: {batch.label}: {exc.message}")
                continue
            for success in status.successes:
                if success.message:
                    tally.merged += 1
                else:
                    tally.stored += 1
            for failure in status.failures:
                tally.failed += 1
                tally.note(f"failed: {batch.label}: {failure.id}: {failure.message or 'rejected'}")
        if batch.cursor is not None:
            self.store.save_cursor(feed.id, batch.cursor)
        if batch.items:
            self.store.set_items(feed.id, batch.items)

    def _markings(self, objects: Sequence[Any]) -> dict[str, Tlp]:
        """TLP levels of the custom TLP marking definitions the objects may reference:
        those in the batch, and those stored before."""
        found: dict[str, Tlp] = {}
        refs: set[str] = set()
        for obj in objects:
            if not isinstance(obj, dict):
                continue
            if obj.get("type") == "marking-definition":
                level = tlp_from_marking_definition(obj)
                if level is not None and isinstance(obj.get("id"), str):
                    found[obj["id"]] = level
            marking_refs = obj.get("object_marking_refs")
            if isinstance(marking_refs, list):
                refs.update(r for r in marking_refs if isinstance(r, str))
        unknown = sorted(r for r in refs if r not in TLP_MARKING_IDS and r not in found)
        if unknown:
            found.update(self.intel.store.tlp_markings(unknown))
        return found

    # -- people and permissions ---------------------------------------------------------------------

    def _visible(self, by: Principal | None, ref: str) -> Feed:
        feed = self.store.get(ref)
        if feed is None or not _may_see(by, feed):
            raise NotFoundError("feed", ref)
        return feed

    def _owner_principal(self, user: str, by: Principal | None) -> Principal:
        try:
            owner = self.accounts.principal_for(user)
        except NotFoundError:
            raise ValidationError("user", f"no user {user!r}") from None
        if not owner.user.is_active:
            raise ValidationError("user", f"{owner.user.email} is disabled")
        if not owner.user.role.can_write:
            raise ValidationError("user", f"{owner.user.email} is a {owner.user.role.value} and may not write")
        if by is not None and by.user.role is not Role.ADMIN and owner.org.id != by.org.id:
            raise PermissionDeniedError("define", f"a feed for {owner.user.email} (of another organisation)")
        return owner

    def _writable_collection(self, owner: Principal, ref: str) -> str:
        try:
            collection = self.intel.collection(owner, ref)
        except NotFoundError:
            raise ValidationError("collection", f"no collection {ref!r} that {owner.user.email} can see") from None
        if not collection.can_write:
            raise ValidationError("collection", f"{owner.user.email} may not write to collection {collection.title!r}")
        return collection.id

    def _runner(self, feed: Feed) -> Principal:
        """The feed's user, still active and still allowed to write to its collection."""
        try:
            principal = self.accounts.principal_for(feed.owner_user_id)
        except NotFoundError:
            raise SourceError("the feed's user no longer exists") from None
        if not principal.user.is_active:
            raise SourceError(f"the feed's user {principal.user.email} is disabled")
        return principal


# -- validation -------------------------------------------------------------------------------------


def _check_writer(by: Principal | None) -> None:
    if by is not None and not by.user.role.can_write:
        raise PermissionDeniedError("change", "feeds (readers may only look at them)")


def _may_see(by: Principal | None, feed: Feed) -> bool:
    return by is None or by.user.role is Role.ADMIN or by.org.id == feed.owner_org_id


def _kind(kind: FeedKind | str) -> FeedKind:
    try:
        return FeedKind(kind)
    except ValueError:
        raise ValidationError("kind", f"{kind!r} is not one of {', '.join(k.value for k in FeedKind)}") from None


def _name(name: str) -> str:
    name = name.strip()
    if not name:
        raise ValidationError("name", "must not be empty")
    if len(name) > 100:
        raise ValidationError("name", "must be at most 100 characters")
    if any(not ch.isprintable() for ch in name):
        raise ValidationError("name", "must be printable text")
    return name


def _is_url(source: str) -> bool:
    return "://" in source


def _check_url(source: str) -> str:
    parts = urlsplit(source.strip())
    if parts.scheme.lower() not in ("http", "https"):
        raise ValidationError("source", f"must be an http:// or https:// URL, not {source!r}")
    if not parts.hostname:
        raise ValidationError("source", f"{source!r} has no host")
    if parts.username is not None or parts.password is not None:
        raise ValidationError("source", "put credentials in the feed's credentials, not in the URL")
    return source.strip()


def _on_the_hubs_network(url: str) -> bool:
    """Whether the URL's host is, or resolves to, a loopback, private, link-local or otherwise
    non-global address: a feed there would let a member reach the hub's own network (SSRF).
    Checked when a non-admin defines the feed; a name that does not resolve yet is allowed
    (it is fetched only if it resolves later, and then as any other public URL)."""
    host = urlsplit(url).hostname or ""
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        except OSError:
            return False
        addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    return any(not a.is_global for a in addresses)


def _source(kind: FeedKind, source: str, by: Principal | None) -> str:
    source = source.strip()
    if not source:
        raise ValidationError("source", "must not be empty")
    if kind.is_remote or (kind is FeedKind.MISP_FEED and _is_url(source)):
        checked = _check_url(source)
        if by is not None and by.user.role is not Role.ADMIN and _on_the_hubs_network(checked):
            raise PermissionDeniedError("define", "a feed on a loopback, private or link-local address (admins only)")
        return checked
    if _is_url(source):
        raise ValidationError("source", f"a {kind.value} feed reads a local directory, not a URL ({source!r})")
    if by is not None and by.user.role is not Role.ADMIN:
        raise PermissionDeniedError("define", "a feed that reads the hub's local files (admins only)")
    path = Path(source).expanduser()
    if not path.is_dir():
        raise ValidationError("source", f"{source} is not an existing directory")
    return str(path.resolve())


def _interval(every: int) -> int:
    if isinstance(every, bool) or not isinstance(every, int):
        raise ValidationError("every", "must be a whole number of minutes")
    if every < 1:
        raise ValidationError("every", "must be at least 1 minute")
    if every > MAX_INTERVAL_MINUTES:
        raise ValidationError("every", f"must be at most {MAX_INTERVAL_MINUTES} minutes (a year)")
    return every


def _tlp(tlp: Tlp | str | None) -> Tlp | None:
    if tlp is None or isinstance(tlp, Tlp):
        return tlp
    try:
        return Tlp.parse(tlp)
    except ValueError as exc:
        raise ValidationError("tlp", str(exc)) from None


def _tags(tags: Iterable[str]) -> tuple[str, ...]:
    if isinstance(tags, str):
        tags = [tags]
    found: list[str] = []
    for tag in tags:
        tag = tag.strip() if isinstance(tag, str) else ""
        if not tag:
            raise ValidationError("tags", "a tag must be non-empty text")
        if len(tag) > 100:
            raise ValidationError("tags", f"{tag[:20]!r}…: a tag must be at most 100 characters")
        if tag not in found:
            found.append(tag)
    return tuple(found)


def _mapping(kind: FeedKind, mapping: Mapping[str, str] | None) -> dict[str, str]:
    """A csv feed's column mapping (STIX field → column name or number, as
    ``ribat.formats.tabular.parse_mapping`` reads it; empty: the value is in column 1)."""
    if kind is not FeedKind.CSV:
        if mapping:
            raise ValidationError("mapping", f"only csv feeds take a column mapping, not {kind.value} feeds")
        return {}
    from ribat.formats.tabular import parse_mapping

    checked: dict[str, str] = {}
    for key, column in (mapping or {}).items():
        if not isinstance(key, str) or not isinstance(column, str | int) or isinstance(column, bool):
            raise ValidationError("mapping", f"{key!r}={column!r}: give FIELD=COLUMN as text")
        checked[key.strip().lower()] = str(column).strip()
    try:
        parse_mapping(checked or None)
    except ValidationError as exc:
        raise ValidationError("mapping", exc.reason) from None
    return checked


def _credentials(kind: FeedKind, source: str, credentials: Credentials | None) -> Credentials | None:
    if credentials is None or not (credentials.api_key or credentials.username or credentials.password):
        return None
    if not _is_url(source):
        raise ValidationError("credentials", f"a {kind.value} feed reading a local directory takes no credentials")
    if credentials.api_key and (credentials.username or credentials.password):
        raise ValidationError("credentials", "give an API key or a user name and password, not both")
    if not credentials.api_key and not (credentials.username and credentials.password):
        raise ValidationError("credentials", "HTTP Basic needs both a user name and a password")
    return credentials
