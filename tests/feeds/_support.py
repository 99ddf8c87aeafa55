"""Helpers of the feeds tests: a settable clock, HTTP servers behind ``httpx.MockTransport``
(a file server with validators and faults; a second Ribat hub serving TAXII in process),
and a MISP feed built from the shared MISP events."""

from __future__ import annotations

import email.utils
import hashlib
import json
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import httpx

from ribat.config import Settings
from ribat.feeds import Feeds
from ribat.hub import Hub
from ribat.intel import ObjectFilter
from ribat.web import create_app
from support import AsgiClient, World

START_US = 1_750_000_000_000_000


class Clock:
    """``now()`` for the service: fixed until advanced."""

    def __init__(self, start_us: int = START_US) -> None:
        self.us = start_us

    def __call__(self) -> int:
        return self.us

    def advance(self, *, minutes: float = 0, seconds: float = 0) -> None:
        self.us += int((minutes * 60 + seconds) * 1_000_000)


def feeds_for(hub: Hub, *, http: httpx.Client | None = None, **kwargs: Any) -> Feeds:
    """The hub's feeds with downloads through ``http`` and backoff that does not sleep."""
    kwargs.setdefault("sleep", lambda seconds: None)
    return Feeds.for_hub(hub, http=http, **kwargs)


def stored_bodies(hub: Hub, principal: Any, collection: str) -> list[dict[str, Any]]:
    """Every version in a collection that ``principal`` may read."""
    bodies: list[dict[str, Any]] = []
    token = None
    while True:
        page = hub.intel.objects(principal, collection, ObjectFilter(versions=("all",)), limit=1000, next_token=token)
        bodies.extend(json.loads(b) for b in page.bodies)
        if not page.more:
            return bodies
        token = page.next


# -- a file server -------------------------------------------------------------------------------


class FileServer:
    """Serves ``files`` (path → bytes) at ``http://files.test/<path>``.

    Answers conditional GETs (``ETag`` / ``Last-Modified``, each switchable), logs every
    request, and answers ``faults[path]`` (a list of status codes, consumed one per
    request; a status of 0 raises a connection error) before serving the file.
    """

    base = "http://files.test/"

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.modified: dict[str, int] = {}
        self.requests: list[httpx.Request] = []
        self.faults: dict[str, list[int]] = {}
        self.broken: Callable[[httpx.Request], int | None] = lambda request: None
        self.etags = True
        self.last_modified = True
        self.extra_headers: dict[str, str] = {}

    def put(self, path: str, content: bytes | str, *, modified: int = 1_700_000_000) -> None:
        self.files[path] = content.encode() if isinstance(content, str) else content
        self.modified[path] = modified

    def url(self, path: str = "") -> str:
        return self.base + path

    def paths_requested(self) -> list[str]:
        return [r.url.path.lstrip("/") for r in self.requests]

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path.lstrip("/")
        queued = self.faults.get(path)
        status = queued.pop(0) if queued else self.broken(request)
        if status == 0:
            raise httpx.ConnectError("connection refused", request=request)
        if status is not None:
            return httpx.Response(status, headers=self.extra_headers, text=f"failure {status}")
        if path not in self.files:
            return httpx.Response(404, text="not found")
        content = self.files[path]
        headers = dict(self.extra_headers)
        etag = '"' + hashlib.sha256(content).hexdigest()[:16] + '"'
        stamp = email.utils.formatdate(self.modified[path], usegmt=True)
        if self.etags:
            headers["ETag"] = etag
            if request.headers.get("if-none-match") == etag:
                return httpx.Response(304, headers=headers)
        if self.last_modified:
            headers["Last-Modified"] = stamp
            since = request.headers.get("if-modified-since")
            if since and not self.etags and email.utils.parsedate_to_datetime(since).timestamp() >= self.modified[path]:
                return httpx.Response(304, headers=headers)
        return httpx.Response(200, headers=headers, content=content)


# -- a second hub as a remote TAXII server -------------------------------------------------------------


class RemoteHub:
    """Another Ribat hub (SQLite) serving TAXII 2.1 in process at ``http://remote.test``.

    ``fail(request)`` may answer a status code instead of the hub (to break a page)."""

    base = "http://remote.test"

    def __init__(self, workdir: Path, template: Path) -> None:
        path = workdir / "remote.db"
        shutil.copyfile(template, path)
        self.hub = Hub.open(Settings(database_url=f"sqlite:///{path}", secret_key="remote-hub-secret-key"))
        self.world = World(self.hub)
        self.asgi = AsgiClient(create_app(hub=self.hub))
        self.requests: list[httpx.Request] = []
        self.fail: Callable[[httpx.Request], int | None] = lambda request: None

    @property
    def collection_url(self) -> str:
        return f"{self.base}/taxii2/root/collections/{self.world.collection.id}/"

    def key(self, email: str) -> str:
        return self.world.keys[email]

    def publish(self, objects: Iterable[dict[str, Any]], email: str = "alice@a.example") -> None:
        status = self.hub.intel.ingest(self.world.principal(email), "shared", {"objects": list(objects)})
        assert status.failure_count == 0, status.failures

    def objects_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path.endswith("/objects/")]

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status = self.fail(request)
        if status is not None:
            return httpx.Response(status, text=f"failure {status}")
        answer = self.asgi.request(request.method, str(request.url), headers=request.headers, content=request.content)
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)

    def close(self) -> None:
        self.asgi.close()
        self.hub.close()


# -- a MISP feed from the shared MISP events --------------------------------------------------------------

SMALL_EVENTS = (
    "circl-ransomware-xorist-2016.json",
    "eset-turla-outlook-2018.json",
    "eset-oceanlotus-macos-2019.json",
    "eset-sednit-zebrocy-2019.json",
    "pymisp-japanese-unicode-test.json",
)


def misp_event(path: Path) -> dict[str, Any]:
    """The event of a MISP JSON file in any of its three wrappings."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict) and isinstance(data.get("response"), list):
        data = data["response"][0]
    event: dict[str, Any] = data.get("Event", data)
    return event


def manifest_entry(event: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "info": event.get("info", ""),
        "date": event.get("date", "2020-01-01"),
        "analysis": event.get("analysis", "0"),
        "threat_level_id": event.get("threat_level_id", "4"),
        "timestamp": str(event["timestamp"]),
    }
    if isinstance(event.get("Orgc"), dict):
        entry["Orgc"] = {k: event["Orgc"][k] for k in ("name", "uuid") if k in event["Orgc"]}
    if isinstance(event.get("Tag"), list):
        entry["Tag"] = [{"name": t["name"], "colour": t.get("colour", "#ffffff")} for t in event["Tag"] if "name" in t]
    return entry


def misp_feed_files(events_dir: Path, names: Iterable[str] = SMALL_EVENTS) -> dict[str, bytes]:
    """``manifest.json``, ``hashes.csv`` and ``<uuid>.json`` of a MISP feed of the named events."""
    files: dict[str, bytes] = {}
    manifest: dict[str, Any] = {}
    hashes: list[str] = []
    for name in names:
        event = misp_event(events_dir / name)
        manifest[event["uuid"]] = manifest_entry(event)
        files[f"{event['uuid']}.json"] = json.dumps({"Event": event}, ensure_ascii=False).encode()
        for attribute in event.get("Attribute", []):
            hashes.append(f"{hashlib.md5(str(attribute.get('value', '')).encode()).hexdigest()},{event['uuid']}")
    files["manifest.json"] = json.dumps(manifest).encode()
    files["hashes.csv"] = ("\n".join(hashes) + "\n").encode()
    return files


def write_files(directory: Path, files: dict[str, bytes]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (directory / name).write_bytes(content)
    return directory


def events_by_time(files: dict[str, bytes]) -> list[str]:
    """The feed's event uuids, oldest first (the order a run fetches them in)."""
    manifest = json.loads(files["manifest.json"])
    return sorted(manifest, key=lambda uuid: (int(manifest[uuid]["timestamp"]), uuid))
