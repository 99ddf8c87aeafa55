"""A peer hub that misbehaves on demand: a real TAXII 2.1 server on 127.0.0.1, in a thread of the test process.

It serves one collection's objects in pages by ``added_after`` (``X-TAXII-Date-Added-Last`` names the last object
of a page, as a Ribat hub does), accepts objects POSTed to it, and answers ``/api/v1/federation/hello`` with 404 —
a plain TAXII server, not a Ribat hub. It records every request. Set ``fault`` to make the objects endpoint (GET,
or POST with ``fault_on="POST"``) answer:

- ``"garbage"``: 200 with a body that is not JSON;
- ``"not-envelope"``: 200 with JSON that is not a TAXII envelope (a list);
- ``"500"``: HTTP 500;
- ``"429"``: HTTP 429 with ``Retry-After: retry_after`` (seconds);
- ``"timeout"``: nothing until ``delay`` seconds have passed (longer than the client's timeout).

``good`` lets that many matching requests through before the fault applies (a peer that serves three good pages
and then fails). ``fault = None`` heals it.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["FaultyPeer", "Request", "faulty_peer", "green_indicator", "stamp"]

TAXII = "application/taxii+json;version=2.1"
GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
COLLECTION = "remote-collection"


def stamp(i: int) -> str:
    """The date_added of the peer's ``i``-th object."""
    return f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}.000000Z"


def green_indicator(i: int, namespace: uuid.UUID = uuid.NAMESPACE_URL) -> dict[str, Any]:
    """A TLP:GREEN indicator whose id is the ``i``-th of ``namespace``."""
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid5(namespace, str(i))}",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "name": f"peer indicator {i}",
        "pattern": f"[ipv4-addr:value = '192.0.2.{i % 250}']",
        "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z",
        "object_marking_refs": [GREEN],
    }


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    params: dict[str, str]


class FaultyPeer:
    def __init__(self, server: ThreadingHTTPServer) -> None:
        self.server = server
        host, port = server.server_address[:2]
        self.base_url = f"http://{host!s}:{port}"
        self.api_root = f"{self.base_url}/taxii2/root/"
        self.objects: list[dict[str, Any]] = []  # served oldest first; object i was added at stamp(i)
        self.namespace = uuid.uuid4()  # each peer's objects are its own
        self.received: list[dict[str, Any]] = []
        self.requests: list[Request] = []
        self.fault: str | None = None
        self.fault_on = "GET"
        self.good = 0
        self.delay = 5.0
        self.retry_after = 7
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def add(self, count: int) -> list[dict[str, Any]]:
        """Add ``count`` new objects to the served collection."""
        with self.lock:
            start = len(self.objects)
            self.objects.extend(green_indicator(i, self.namespace) for i in range(start, start + count))
            return self.objects[start:]

    def calls(self, method: str, suffix: str = "/objects/") -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.method == method and r.path.endswith(suffix)]

    # -- answering ---------------------------------------------------------------------------------

    def answer(self, method: str, path: str, params: dict[str, str], body: bytes) -> tuple[int, bytes, dict[str, str]]:
        """Status, body and headers for one request (and how long to stall first, in ``self.delay``)."""
        with self.lock:
            self.requests.append(Request(method, path, params))
            objects_route = path == f"/taxii2/root/collections/{COLLECTION}/objects/"
            if objects_route and method == self.fault_on and self.fault is not None:
                if self.good > 0:
                    self.good -= 1
                else:
                    return self._fault()
            if objects_route and method == "GET":
                return self._page(params)
            if objects_route and method == "POST":
                return self._accept(body)
        return 404, json.dumps({"title": f"no route {method} {path}"}).encode(), {"Content-Type": "application/json"}

    def _fault(self) -> tuple[int, bytes, dict[str, str]]:
        if self.fault == "garbage":
            return 200, b"<html><body>502 Bad Gateway (from a broken proxy)</body></html>", {"Content-Type": TAXII}
        if self.fault == "not-envelope":
            return 200, b'[{"type": "indicator"}]', {"Content-Type": TAXII}
        if self.fault == "500":
            return 500, b'{"title": "internal error"}', {"Content-Type": "application/json"}
        if self.fault == "429":
            headers = {"Content-Type": "application/json", "Retry-After": str(self.retry_after)}
            return 429, b'{"title": "too many requests"}', headers
        if self.fault == "timeout":
            return -1, b"", {}
        raise AssertionError(f"unknown fault {self.fault!r}")

    def _page(self, params: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        after = params.get("added_after")
        limit = int(params.get("limit", "100"))
        start = 0 if after is None else sum(1 for i in range(len(self.objects)) if stamp(i) <= after)
        chosen = self.objects[start : start + limit]
        more = start + len(chosen) < len(self.objects)
        headers = {"Content-Type": TAXII}
        if chosen:
            headers["X-TAXII-Date-Added-First"] = stamp(start)
            headers["X-TAXII-Date-Added-Last"] = stamp(start + len(chosen) - 1)
        envelope: dict[str, Any] = {"more": more}
        if chosen:
            envelope["objects"] = chosen
        return 200, json.dumps(envelope).encode(), headers

    def _accept(self, body: bytes) -> tuple[int, bytes, dict[str, str]]:
        objects = json.loads(body)["objects"]
        self.received.extend(objects)
        status = {
            "id": f"status-{len(self.requests)}",
            "status": "complete",
            "total_count": len(objects),
            "success_count": len(objects),
            "failure_count": 0,
            "pending_count": 0,
            "successes": [{"id": o["id"], "version": o.get("modified", "")} for o in objects],
        }
        return 202, json.dumps(status).encode(), {"Content-Type": TAXII}


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        peer = self.server.peer
        status, payload, headers = peer.answer(self.command, parts.path, params, body)
        if status < 0:  # stall past the client's timeout; the client gives up first
            peer.stopping.wait(peer.delay)
            return
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass

    do_GET = do_POST = _handle

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    peer: FaultyPeer


@contextmanager
def faulty_peer() -> Iterator[FaultyPeer]:
    server = _Server(("127.0.0.1", 0), _Handler)
    peer = FaultyPeer(server)
    server.peer = peer
    thread = threading.Thread(target=server.serve_forever, name="faulty-peer", daemon=True)
    thread.start()
    try:
        yield peer
    finally:
        peer.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
