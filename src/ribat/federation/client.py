"""Talking to a peer hub: its TAXII 2.1 API root, and the federation routes of a Ribat hub beside it.

Every request is retried with exponential backoff when the peer cannot be reached, times out, answers 5xx or 429
(``Retry-After`` honoured, within a limit), or answers 2xx with a body that is not what TAXII says it must be
(garbage from a broken proxy is as transient as a 502). Any other 4xx is final at once. After the last attempt a
``PeerError`` says which URL failed, how, and how many times it was tried. Adding objects is safe to retry: a
version the peer already holds is stored once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
import orjson

from ribat import __version__
from ribat.feeds.fetch import RETRY_STATUSES, excerpt

__all__ = ["ObjectsPage", "PeerClient", "PeerError", "TombstonesPage", "envelope", "envelopes"]

TAXII = "application/taxii+json;version=2.1"


class PeerError(Exception):
    """A request to a peer that failed for good."""

    def __init__(self, url: str, reason: str, status: int | None = None) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
        self.status = status


class _Garbage(Exception):
    pass


class _Missing(Exception):
    pass


_T = TypeVar("_T")


@dataclass(frozen=True)
class ObjectsPage:
    objects: list[dict[str, Any]]
    more: bool
    next: str | None
    last_added: str | None  # X-TAXII-Date-Added-Last


@dataclass(frozen=True)
class TombstonesPage:
    items: list[dict[str, Any]]
    more: bool
    next: str | None


class PeerClient:
    def __init__(
        self,
        url: str,
        key: str | None,
        *,
        hub_id: str,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 1.0,
        max_wait: float = 60.0,
        sleep: Callable[[float], object] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.api_root = url if url.endswith("/") else url + "/"
        parts = urlsplit(self.api_root)
        prefix = parts.path.split("/taxii2/", 1)[0] if "/taxii2/" in parts.path else ""
        self.base = f"{parts.scheme}://{parts.netloc}{prefix}"
        headers = {"User-Agent": f"ribat/{__version__} (federation)"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self.client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            headers=headers,
            transport=transport,
            follow_redirects=False,
        )
        self.hub_id = hub_id
        # The largest request body the peer accepts, when its hello says (a Ribat hub's does).
        self.max_content_length: int | None = None
        self.retries = retries
        self.backoff = backoff
        self.max_wait = max_wait
        self.sleep = sleep

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> PeerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the requests --------------------------------------------------------------------------

    def hello(self) -> str | None:
        """Tell the peer this hub's id and learn its own; None when the peer is not a Ribat hub."""

        def shape(data: Any) -> str | None:
            hub = data.get("hub_id") if isinstance(data, Mapping) else None
            if not isinstance(hub, str) or not hub or "," in hub or len(hub) > 64:
                raise _Garbage("the answer has no hub_id")
            limit = data.get("max_content_length")
            if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0:
                self.max_content_length = limit
            return hub

        url = f"{self.base}/api/v1/federation/hello"
        try:
            return self._request("POST", url, shape, json={"hub_id": self.hub_id}, missing_ok=True)
        except _Missing:
            return None

    def objects(self, collection_id: str, *, added_after: str | None, limit: int) -> ObjectsPage:
        """One page of every version added after ``added_after``, oldest first."""
        params = {"limit": str(limit), "match[version]": "all"}
        if added_after:
            params["added_after"] = added_after
        url = f"{self.api_root}collections/{collection_id}/objects/"

        def shape(data: Any, headers: httpx.Headers) -> ObjectsPage:
            if not isinstance(data, Mapping):
                raise _Garbage("the envelope is not a JSON object")
            objects = data.get("objects", [])
            if not isinstance(objects, list) or not all(isinstance(o, dict) for o in objects):
                raise _Garbage("the envelope's objects are not a list of objects")
            more = data.get("more", False)
            if not isinstance(more, bool):
                raise _Garbage("the envelope's 'more' is not a boolean")
            nxt = data.get("next")
            return ObjectsPage(
                objects, more, nxt if isinstance(nxt, str) else None, headers.get("X-TAXII-Date-Added-Last")
            )

        return self._request("GET", url, shape, params=params, with_headers=True)

    def add_objects(self, collection_id: str, objects: Sequence[str], *, poll: int = 20) -> dict[str, Any]:
        """POST an envelope (objects as JSON text) and wait for its status to complete; the final status."""
        url = f"{self.api_root}collections/{collection_id}/objects/"
        body = envelope(objects)
        status = self._request(
            "POST", url, _status_shape, content=body, headers={"Content-Type": TAXII, "Accept": TAXII}
        )
        waited = 0
        while status.get("status") != "complete":
            if waited >= poll:
                raise PeerError(url, f"status {status.get('id')} still pending after {poll} polls")
            self.sleep(min(self.backoff * 2**waited, self.max_wait))
            waited += 1
            status = self._request("GET", f"{self.api_root}status/{status['id']}/", _status_shape)
        return status

    def tombstones(self, collection_id: str, *, after: str | None, limit: int) -> TombstonesPage:
        url = f"{self.base}/api/v1/federation/collections/{collection_id}/tombstones"
        params = {"limit": str(limit)}
        if after:
            params["after"] = after

        def shape(data: Any) -> TombstonesPage:
            items = data.get("tombstones") if isinstance(data, Mapping) else None
            if not isinstance(items, list) or not isinstance(data.get("more"), bool):
                raise _Garbage("the answer has no tombstones list and 'more' flag")
            nxt = data.get("next")
            return TombstonesPage(items, data["more"], nxt if isinstance(nxt, str) else None)

        return self._request("GET", url, shape, params=params)

    def send_tombstones(self, collection_id: str, items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        url = f"{self.base}/api/v1/federation/collections/{collection_id}/tombstones"

        def shape(data: Any) -> dict[str, Any]:
            if not isinstance(data, dict) or not isinstance(data.get("deleted"), int):
                raise _Garbage("the answer has no 'deleted' count")
            return data

        return self._request("POST", url, shape, json={"tombstones": list(items)})

    # -- retries ----------------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        url: str,
        shape: Callable[..., _T],
        *,
        with_headers: bool = False,
        missing_ok: bool = False,
        **kwargs: Any,
    ) -> _T:
        attempt = 0
        while True:
            wait: float | None = None
            try:
                response = self.client.request(method, url, **kwargs)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            else:
                status = response.status_code
                if 200 <= status < 300:
                    try:
                        data = orjson.loads(response.content) if response.content else {}
                        return shape(data, response.headers) if with_headers else shape(data)
                    except (orjson.JSONDecodeError, _Garbage) as exc:
                        body = excerpt(response.content)
                        problem = f"HTTP {status} with a body that is not a TAXII answer ({exc}){body}"
                elif status in (404, 405) and missing_ok:
                    raise _Missing
                elif status in RETRY_STATUSES:
                    problem = f"HTTP {status}{excerpt(response.content)}"
                    wait = _retry_after(response.headers.get("retry-after"))
                else:
                    raise PeerError(url, f"HTTP {status}{excerpt(response.content)}", status)
            if attempt >= self.retries:
                tries = f"{attempt + 1} attempt{'s' if attempt else ''}"
                raise PeerError(url, f"{problem} (gave up after {tries})")
            self.sleep(min(self.backoff * 2**attempt if wait is None else wait, self.max_wait))
            attempt += 1


_OVERHEAD = len(b'{"objects":[]}')


def envelope(objects: Sequence[str]) -> bytes:
    """A TAXII envelope of objects given as JSON text."""
    return b'{"objects":[' + ",".join(objects).encode() + b"]}"


def envelopes(objects: Sequence[str], limit: int | None) -> tuple[list[list[str]], list[str]]:
    """``objects`` (JSON text) in order, grouped into envelopes of at most ``limit`` bytes each; and those too large
    to fit in any envelope on their own."""
    if limit is None:
        return ([list(objects)] if objects else []), []
    groups: list[list[str]] = []
    current: list[str] = []
    size = _OVERHEAD
    too_large: list[str] = []
    for text in objects:
        n = len(text.encode())
        if _OVERHEAD + n > limit:
            too_large.append(text)
            continue
        added = n + (1 if current else 0)
        if current and size + added > limit:
            groups.append(current)
            current, size, added = [], _OVERHEAD, n
        current.append(text)
        size += added
    if current:
        groups.append(current)
    return groups, too_large


def _status_shape(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict) or not isinstance(data.get("id"), str) or not isinstance(data.get("status"), str):
        raise _Garbage("the answer is not a TAXII status resource")
    return data


def _retry_after(value: str | None) -> float | None:
    if value and value.strip().isdigit():
        return float(value.strip())
    return None
