"""Helpers of the federation tests: a settable clock, a fake TAXII 2.1 peer hub behind ``httpx.MockTransport``,
a peer of ``World``'s hub, and provenance for objects as a peer hub would send them."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import sqlalchemy as sa

from ribat.accounts import NewApiKey, Principal
from ribat.federation import Federation, Peer
from ribat.hub import Hub
from ribat.intel import Tlp
from ribat.intel._tables import stix_objects
from ribat.intel.carried import AuthorCard, Carried, attach
from support import World

START_US = 1_750_000_000_000_000
SECOND_US = 1_000_000
PEER_ROOT = "http://peer.test/taxii2/root/"
TLP = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
}

Obj = dict[str, Any]


class Clock:
    """``now()`` for the service: fixed until advanced."""

    def __init__(self, start_us: int = START_US) -> None:
        self.us = start_us

    def __call__(self) -> int:
        return self.us

    def advance(self, seconds: float) -> None:
        self.us += int(seconds * SECOND_US)


class FakePeer:
    """A peer hub that speaks TAXII 2.1 and the federation routes, in memory.

    ``pages`` are what its collections serve, oldest first: (objects, X-TAXII-Date-Added-Last); a request
    ``added_after`` the position of one page gets the next. It keeps whatever objects and deletions it is sent
    (``received``, ``deletions``), lists ``tombstones``, answers hello with ``hub_id`` (404 when None: a plain TAXII
    server) and with ``max_content_length`` when it is set, and ``fail(request)`` may answer a status code instead
    of all that."""

    def __init__(self, hub_id: str | None = "hub-peer") -> None:
        self.hub_id = hub_id
        self.max_content_length: int | None = None
        self.pages: list[tuple[list[Obj], str]] = []
        self.received: list[Obj] = []
        self.tombstones: list[Obj] = []  # the deletions it lists, at positions "1:<index + 1>"
        self.deletions: list[Obj] = []  # the deletions it was sent
        self.requests: list[httpx.Request] = []
        self.fail: Callable[[httpx.Request], int | None] = lambda request: None
        self._lock = threading.Lock()

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests.append(request)
            status = self.fail(request)
            if status is not None:
                return httpx.Response(status, text=f"failure {status}")
            return self._answer(request)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/federation/hello"):
            if self.hub_id is None:
                return httpx.Response(404, json={"title": "not found"})
            hello: dict[str, Any] = {"hub_id": self.hub_id}
            if self.max_content_length is not None:
                hello["max_content_length"] = self.max_content_length
            return httpx.Response(200, json=hello)
        if path.endswith("/tombstones"):
            if request.method == "POST":
                items = json.loads(request.content)["tombstones"]
                self.deletions.extend(items)
                return httpx.Response(200, json={"deleted": len(items), "problems": []})
            after = request.url.params.get("after")
            start = 0 if after is None else int(after.rpartition(":")[2])
            served = self.tombstones[start:]
            position = f"1:{len(self.tombstones)}" if served else after
            return httpx.Response(200, json={"tombstones": served, "more": False, "next": position})
        if path.endswith("/objects/") and request.method == "GET":
            after = request.url.params.get("added_after")
            positions = [last for _, last in self.pages]
            index = 0 if after is None else positions.index(after) + 1 if after in positions else len(self.pages)
            if index >= len(self.pages):
                return httpx.Response(200, json={"more": False})
            objects, last = self.pages[index]
            more = index + 1 < len(self.pages)
            return httpx.Response(
                200, json={"objects": objects, "more": more}, headers={"X-TAXII-Date-Added-Last": last}
            )
        if path.endswith("/objects/") and request.method == "POST":
            objects = json.loads(request.content)["objects"]
            self.received.extend(objects)
            details = [{"id": o["id"], "version": o.get("modified", "")} for o in objects]
            return httpx.Response(
                202,
                json={
                    "id": f"status-{len(self.requests)}",
                    "status": "complete",
                    "total_count": len(objects),
                    "success_count": len(objects),
                    "failure_count": 0,
                    "pending_count": 0,
                    "successes": details,
                },
            )
        return httpx.Response(404, json={"title": f"no route {request.method} {path}"})

    def calls(self, path_end: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path.endswith(path_end)]


def federation(
    hub: Hub, *, peer: FakePeer | None = None, waits: list[float] | None = None, **options: Any
) -> Federation:
    """The hub's Federation, talking to ``peer`` (if any), whose retries wait for nothing (the waits it asks for are
    recorded in ``waits``)."""
    recorded = waits if waits is not None else []
    options.setdefault("sleep", recorded.append)
    if peer is not None:
        options.setdefault("transport", peer.transport())
    return Federation.for_hub(hub, **options)


def add_peer(
    world: World,
    name: str = "partner",
    *,
    fed: Federation | None = None,
    direction: str = "serve",
    org: str = "cert-b",
    pairs: Sequence[tuple[str, str]] = (("shared", ""),),
    url: str = PEER_ROOT,
    **options: Any,
) -> tuple[Peer, NewApiKey, Principal]:
    """A peer of the world's hub, its sync key, and the principal that key authenticates as."""
    fed = fed or federation(world.hub)
    if direction != "serve":
        options.setdefault("key", "rbt_00000000_the-peers-key")
    peer, key = fed.add(name, url, direction=direction, pairs=pairs, org=org, **options)
    return peer, key, world.hub.accounts.authenticate_key(key.secret)


def card(org: Any) -> AuthorCard:
    """The author card a peer hub sends for one of its organisations (an ``Organisation``)."""
    return AuthorCard(org.identity_id, org.name, org.short_name, org.country, org.kind.value)


def carrying(
    obj: Obj,
    *,
    origin: str = "hub-far",
    hops: Sequence[str] | None = None,
    author: AuthorCard | None = None,
    recipients: Sequence[str] = (),
    tlp: Tlp | None = None,
) -> Obj:
    """``obj`` as a peer hub sends it: with the provenance extension."""
    return attach(obj, Carried(origin, tuple(hops if hops is not None else (origin,)), author, tuple(recipients), tlp))


def stored_rows(hub: Hub, object_id: str) -> list[Any]:
    """Every stored copy of an object (deleted ones too), with its author and provenance columns."""
    o = stix_objects
    query = (
        sa.select(
            o.c.pk,
            o.c.collection_id,
            o.c.version_text,
            o.c.tlp,
            o.c.author_org_id,
            o.c.origin_hub,
            o.c.hops,
            o.c.via_peer_id,
            o.c.deleted_us,
            o.c.tombstone_shared,
            o.c.body,
        )
        .where(o.c.object_id == object_id)
        .order_by(o.c.pk)
    )
    with hub.db.read() as conn:
        return list(conn.execute(query).all())
