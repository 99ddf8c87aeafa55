"""Source adapters: each reads one kind of source incrementally and yields :class:`Batch` es.

A source does the I/O of fetching and the conversion to STIX (through ``ribat.formats``),
never touches the database: the service ingests each batch and only then saves the
batch's cursor or item state, so a run that stops half-way resumes after the last
committed batch. A batch with ``problems`` and no state change is an item (an event, a
file) that could not be read or converted: the item is retried on the next run, the run
goes on with the others. A :class:`SourceError` stops the run.

- ``taxii``: GET ``<collection>/objects/`` with ``added_after`` = the last
  ``X-TAXII-Date-Added-Last`` committed, following ``next`` (TAXII 2.1 sections 3.4, 5.4);
  one batch per page, the cursor advanced after each.
- ``misp-feed``: ``manifest.json`` lists events with their timestamps; only events whose
  timestamp differs from the one committed are fetched (``<uuid>.json``), one batch each.
- ``csv`` / ``text``: a conditional GET (``If-None-Match`` / ``If-Modified-Since``); a
  304, or a body whose SHA-256 equals the last one committed, is nothing to do.
- ``directory``: ``*.json`` files (bundles, arrays or single objects, STIX 2.0 or 2.1)
  below a directory; a file is read again when its mtime or size changed.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urljoin

import httpx
import orjson

from ribat.clock import parse_timestamp_us
from ribat.errors import RibatError, ValidationError
from ribat.feeds.fetch import Fetcher, FetchError
from ribat.feeds.types import Credentials, Feed, FeedKind
from ribat.formats.types import Loss

__all__ = ["Batch", "PullState", "Source", "SourceError", "open_source"]

log = logging.getLogger(__name__)

MEDIA_TYPE_TAXII21 = "application/taxii+json;version=2.1"
TAXII_PAGE_SIZE = 1000
MAX_PAGES = 1_000_000  # a guard against a server whose 'next' never ends


class SourceError(Exception):
    """The source cannot be read on: the run stops here (what was committed stays)."""


@dataclass
class Batch:
    """Objects to ingest, and the state to save once they are committed.

    ``cursor`` (when not None) replaces the feed's cursor; ``items`` sets (or, with None,
    forgets) per-item markers. ``head`` is the top of a STIX bundle the objects came from
    (its ``spec_version`` tells a 2.0 bundle). ``fetched`` counts source records when the
    objects are not them (events, lines); it defaults to the object count.
    """

    label: str
    objects: list[Any] = field(default_factory=list)  # entries that are not JSON objects fail at ingest
    cursor: dict[str, Any] | None = None
    items: dict[str, str | None] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # worth telling, not failures
    losses: list[Loss] = field(default_factory=list)
    head: dict[str, Any] | None = None


@dataclass
class PullState:
    """What the service tells a source: the committed cursor and item markers, and a
    callback to announce how many batches (events, files) this run will yield."""

    cursor: Mapping[str, Any]
    items: Mapping[str, str]
    announce: Callable[[int], None] = lambda total: None


class Source(Protocol):
    def pull(self, state: PullState) -> Iterator[Batch]: ...


def open_source(feed: Feed, fetcher: Fetcher, *, taxii_page_size: int = TAXII_PAGE_SIZE) -> Source:
    if feed.kind is FeedKind.TAXII:
        return TaxiiSource(feed.source, fetcher, feed.credentials, taxii_page_size)
    if feed.kind is FeedKind.MISP_FEED:
        return MispFeedSource(feed.source, fetcher, feed.credentials)
    if feed.kind is FeedKind.CSV:
        return DocumentSource(feed.source, fetcher, feed.credentials, mapping=feed.mapping)
    if feed.kind is FeedKind.TEXT:
        return DocumentSource(feed.source, fetcher, feed.credentials, mapping=None)
    return DirectorySource(Path(feed.source), fetcher.max_bytes)


def _auth(credentials: Credentials | None) -> tuple[httpx.Auth | None, dict[str, str]]:
    if credentials is None:
        return None, {}
    if credentials.api_key:
        return None, {"Authorization": f"Bearer {credentials.api_key}"}
    return httpx.BasicAuth(credentials.username or "", credentials.password or ""), {}


def _fetch(fetcher: Fetcher, url: str, **kwargs: Any) -> Any:
    try:
        return fetcher.get(url, **kwargs)
    except FetchError as exc:
        raise SourceError(str(exc)) from None


def _json(content: bytes, what: str) -> Any:
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"{what} is not valid JSON ({exc})") from None


# -- TAXII 2.1 ------------------------------------------------------------------------------


class TaxiiSource:
    def __init__(
        self, url: str, fetcher: Fetcher, credentials: Credentials | None, page_size: int = TAXII_PAGE_SIZE
    ) -> None:
        base = url if url.endswith("/") else url + "/"
        if base.endswith("/objects/"):
            base = base[: -len("objects/")]
        self.objects_url = base + "objects/"
        self.fetcher = fetcher
        self.auth, auth_headers = _auth(credentials)
        self.headers = {"Accept": MEDIA_TYPE_TAXII21, **auth_headers}
        self.page_size = page_size

    def pull(self, state: PullState) -> Iterator[Batch]:
        params = {"limit": str(self.page_size), "match[version]": "all"}
        added_after = state.cursor.get("added_after")
        if isinstance(added_after, str):
            params["added_after"] = added_after
        cursor = dict(state.cursor)
        token: str | None = None
        for number in range(1, MAX_PAGES + 1):
            query = {**params, "next": token} if token else params
            fetched = _fetch(self.fetcher, self.objects_url, params=query, headers=self.headers, auth=self.auth)
            label = f"page {number}"
            try:
                page = _json(fetched.content, label)
            except ValueError as exc:
                raise SourceError(f"{self.objects_url}: {exc}") from None
            if not isinstance(page, dict):
                raise SourceError(f"{self.objects_url}: {label} is not a TAXII envelope")
            objects = page.get("objects", [])
            if not isinstance(objects, list):
                raise SourceError(f"{self.objects_url}: {label}: 'objects' is not a list")
            notes: list[str] = []
            last = fetched.headers.get("x-taxii-date-added-last")
            if last is not None:
                try:
                    parse_timestamp_us(last)
                    cursor = {**cursor, "added_after": last}
                except ValueError:
                    notes.append(f"{label}: X-TAXII-Date-Added-Last {last!r} is not a timestamp; cursor kept")
            elif objects:
                notes.append(f"{label}: the server sent no X-TAXII-Date-Added-Last; cursor kept")
            yield Batch(label, objects, cursor=cursor, notes=notes)
            more = page.get("more") is True
            next_token = page.get("next")
            if not more:
                return
            if not objects:
                raise SourceError(f"{self.objects_url}: {label} is empty but says more=true")
            if isinstance(next_token, str) and next_token:
                token = next_token
            elif "added_after" in cursor:
                # TAXII 2.1 allows paging by added_after alone: start again after the last one seen.
                params = {**params, "added_after": cursor["added_after"]}
                token = None
            else:
                raise SourceError(f"{self.objects_url}: more=true with neither 'next' nor X-TAXII-Date-Added-Last")
        raise SourceError(f"{self.objects_url}: stopped after {MAX_PAGES} pages")


# -- MISP feeds -------------------------------------------------------------------------------


class MispFeedSource:
    """A MISP feed at a URL or in a local directory (``manifest.json``, ``<uuid>.json``)."""

    def __init__(self, location: str, fetcher: Fetcher, credentials: Credentials | None) -> None:
        self.remote = location.startswith(("http://", "https://"))
        self.base = (location if location.endswith("/") else location + "/") if self.remote else location
        self.fetcher = fetcher
        self.auth, self.headers = _auth(credentials)

    def _where(self, name: str) -> str:
        return urljoin(self.base, name) if self.remote else str(Path(self.base) / name)

    def _read(self, name: str) -> bytes:
        """The file's bytes; FileNotFoundError when the feed lacks it; SourceError when the
        source itself fails (unreachable, 5xx after retries)."""
        if self.remote:
            try:
                return self.fetcher.get(self._where(name), headers=self.headers, auth=self.auth).content
            except FetchError as exc:
                if exc.status in (404, 410):
                    raise FileNotFoundError(self._where(name)) from None
                raise SourceError(str(exc)) from None
        path = Path(self.base) / name
        try:
            size = path.stat().st_size
            if size > self.fetcher.max_bytes:
                raise SourceError(f"{path}: {size} bytes exceeds the limit of {self.fetcher.max_bytes} bytes")
            return path.read_bytes()
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise SourceError(f"{path}: {exc.strerror or exc}") from None

    def pull(self, state: PullState) -> Iterator[Batch]:
        from ribat.formats.misp import misp_to_stix
        from ribat.formats.misp_feed import parse_manifest

        try:
            raw = self._read("manifest.json")
        except FileNotFoundError:
            raise SourceError(f"{self._where('manifest.json')}: not found (is this a MISP feed?)") from None
        bad_entries: list[ValidationError] = []
        try:
            entries = parse_manifest(raw, problems=bad_entries)
        except RibatError as exc:
            raise SourceError(f"{self._where('manifest.json')}: {exc.message}") from None
        if bad_entries:  # each bad entry is one failed event; the others are read
            yield Batch("manifest.json", problems=[f"manifest.json: {problem.message}" for problem in bad_entries])
        markers = {entry.uuid: str(entry.timestamp) for entry in entries}
        todo = sorted(
            (entry for entry in entries if state.items.get(entry.uuid) != markers[entry.uuid]),
            key=lambda entry: (int(entry.timestamp), entry.uuid),
        )
        state.announce(len(todo))
        for entry in todo:
            name = f"{entry.uuid}.json"
            label = f"event {entry.uuid}"
            try:
                conversion = misp_to_stix(self._read(name), source=name)
            except FileNotFoundError:
                yield Batch(label, problems=[f"{label}: {self._where(name)} is listed in the manifest but missing"])
                continue
            except (ValueError, KeyError, TypeError, RibatError) as exc:
                reason = exc.message if isinstance(exc, RibatError) else str(exc)
                yield Batch(label, problems=[f"{label}: cannot be read: {reason}"])
                continue
            if conversion.counts.get("events_failed") or not conversion.counts.get("events"):
                reasons = "; ".join(loss.reason for loss in conversion.losses if loss.field == "Event")
                yield Batch(label, problems=[f"{label}: not converted: {reasons or 'no event in the file'}"])
                continue
            yield Batch(
                label,
                conversion.objects,
                items={entry.uuid: markers[entry.uuid]},
                losses=list(conversion.losses),
            )
        stale: dict[str, str | None] = {key: None for key in state.items if key not in markers}
        if stale:
            yield Batch("events no longer in the manifest", items=stale)


# -- CSV and plain IOC lists ----------------------------------------------------------------------


def _text(content: bytes, content_type: str | None) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    charset = None
    for part in (content_type or "").split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset":
            charset = value.strip().strip('"')
    if charset:
        try:
            return content.decode(charset)
        except (LookupError, UnicodeDecodeError):
            pass
    return content.decode("latin-1")


class DocumentSource:
    """One CSV document (``mapping`` given) or one plain IOC list at a URL."""

    def __init__(
        self, url: str, fetcher: Fetcher, credentials: Credentials | None, *, mapping: Mapping[str, str] | None
    ) -> None:
        self.url = url
        self.fetcher = fetcher
        self.auth, self.headers = _auth(credentials)
        self.mapping = mapping

    def pull(self, state: PullState) -> Iterator[Batch]:
        from ribat.formats.tabular import csv_to_stix, ioc_list_to_stix, parse_mapping

        headers = dict(self.headers)
        if isinstance(state.cursor.get("etag"), str):
            headers["If-None-Match"] = state.cursor["etag"]
        if isinstance(state.cursor.get("last_modified"), str):
            headers["If-Modified-Since"] = state.cursor["last_modified"]
        fetched = _fetch(self.fetcher, self.url, headers=headers, auth=self.auth, accept_not_modified=True)
        if fetched.status == 304:
            return
        digest = hashlib.sha256(fetched.content).hexdigest()
        cursor = {"sha256": digest}
        for header, key in (("etag", "etag"), ("last-modified", "last_modified")):
            value = fetched.headers.get(header)
            if value:
                cursor[key] = value
        state.announce(1)
        if state.cursor.get("sha256") == digest:
            yield Batch("unchanged document", cursor=cursor)
            return
        text = _text(fetched.content, fetched.headers.get("content-type"))
        try:
            if self.mapping is not None:
                conversion = csv_to_stix(text, parse_mapping(dict(self.mapping) or None), source=self.url)
            else:
                conversion = ioc_list_to_stix(text, source=self.url)
        except (ValueError, RibatError) as exc:
            yield Batch("document", problems=[f"{self.url}: cannot be converted: {exc}"])
            return
        yield Batch("document", conversion.objects, cursor=cursor, losses=list(conversion.losses))


# -- local directories ------------------------------------------------------------------------------


class DirectorySource:
    """STIX 2.x JSON files below a local directory; a file is re-read when it changed."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def pull(self, state: PullState) -> Iterator[Batch]:
        if not self.root.is_dir():
            raise SourceError(f"{self.root}: not a directory (any more)")
        markers: dict[str, str] = {}
        paths: dict[str, Path] = {}
        for path in sorted(self.root.rglob("*.json")):
            try:
                st = path.stat()
            except OSError:
                continue
            if not path.is_file():
                continue
            key = path.relative_to(self.root).as_posix()
            markers[key] = f"{st.st_mtime_ns}:{st.st_size}"
            paths[key] = path
        todo = [key for key in markers if state.items.get(key) != markers[key]]
        state.announce(len(todo))
        for key in todo:
            label = f"file {key}"
            path = paths[key]
            try:
                size = path.stat().st_size
                if size > self.max_bytes:
                    raise ValueError(f"{size} bytes exceeds the limit of {self.max_bytes} bytes")
                data = _json(path.read_bytes(), key)
            except OSError as exc:
                yield Batch(label, problems=[f"{label}: cannot be read: {exc.strerror or exc}"])
                continue
            except ValueError as exc:
                yield Batch(label, problems=[f"{label}: {exc}"])
                continue
            head: dict[str, Any] | None = None
            if isinstance(data, list):
                objects = data
            elif isinstance(data, dict) and isinstance(data.get("objects"), list):
                objects = data["objects"]
                head = {k: v for k, v in data.items() if k != "objects"} if data.get("type") == "bundle" else None
            elif isinstance(data, dict) and "type" in data:
                objects = [data]
            else:
                yield Batch(label, problems=[f"{label}: not a STIX bundle, envelope, array or object"])
                continue
            yield Batch(label, objects, items={key: markers[key]}, head=head)
        stale: dict[str, str | None] = {key: None for key in state.items if key not in markers}
        if stale:
            yield Batch("files no longer present", items=stale)
