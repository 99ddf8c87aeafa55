"""Downloads for feeds: httpx with timeouts, a size limit, and retries with exponential backoff.

A connection error, a timeout, a 5xx or a 429 answer is retried (``Retry-After`` is
honoured, within ``max_wait``); any other 4xx is final at once. The ``httpx.Client`` is
injectable, so tests pass one over ``httpx.MockTransport`` or point at a real server, and
so is ``sleep``, so that backoff costs tests no time.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from ribat import __version__

__all__ = ["RETRY_STATUSES", "FetchError", "Fetched", "Fetcher", "excerpt"]

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class FetchError(Exception):
    """A download that failed for good: the URL, why, and the HTTP status if there was one."""

    def __init__(self, url: str, reason: str, status: int | None = None) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class Fetched:
    url: str
    status: int
    headers: httpx.Headers
    content: bytes


class Fetcher:
    """GET with retries. Owns (and closes) its client unless one was given."""

    def __init__(
        self,
        client: httpx.Client | None = None,
        *,
        timeout: float = 60.0,
        max_bytes: int = 256 * 1024 * 1024,
        retries: int = 4,
        backoff: float = 1.0,
        max_wait: float = 300.0,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        self._owned = client is None
        self.client = client or httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 15.0)),
            follow_redirects=True,
            headers={"User-Agent": f"ribat/{__version__} (feeds)"},
        )
        self.max_bytes = max_bytes
        self.retries = retries
        self.backoff = backoff
        self.max_wait = max_wait
        self.sleep = sleep

    def close(self) -> None:
        if self._owned:
            self.client.close()

    def get(
        self,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | None = None,
        accept_not_modified: bool = False,
    ) -> Fetched:
        """The body of a 2xx answer (or an empty 304 when ``accept_not_modified``).

        Raises FetchError after the last retry, at once for other 4xx answers, and when
        the body exceeds ``max_bytes``.
        """
        attempt = 0
        while True:
            try:
                fetched = self._once(url, params, headers, auth)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                wait = None
                status = None
            else:
                status = fetched.status
                if 200 <= status < 300 or (status == 304 and accept_not_modified):
                    return fetched
                if status not in RETRY_STATUSES:
                    raise FetchError(url, f"HTTP {status}{excerpt(fetched.content)}", status)
                problem = f"HTTP {status}{excerpt(fetched.content)}"
                wait = _retry_after(fetched.headers.get("retry-after"))
            if attempt >= self.retries:
                tries = f"{attempt + 1} attempt{'s' if attempt else ''}"
                raise FetchError(url, f"{problem} (gave up after {tries})", status)
            delay = self.backoff * (2**attempt) if wait is None else wait
            self.sleep(min(delay, self.max_wait))
            attempt += 1

    def _once(
        self,
        url: str,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        auth: httpx.Auth | None,
    ) -> Fetched:
        with self.client.stream("GET", url, params=params, headers=headers, auth=auth) as response:
            declared = response.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
                raise FetchError(url, f"the answer of {declared} bytes exceeds the limit of {self.max_bytes} bytes")
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self.max_bytes:
                    raise FetchError(url, f"the answer exceeds the limit of {self.max_bytes} bytes")
                chunks.append(chunk)
            return Fetched(str(response.url), response.status_code, response.headers, b"".join(chunks))


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def excerpt(content: bytes, limit: int = 200) -> str:
    """``": <the start of a body, on one line>"`` for an error message (empty for an empty body)."""
    text = content[:limit].decode("utf-8", "replace").strip()
    if not text:
        return ""
    text = " ".join(text.split())
    return f": {text}{'…' if len(content) > limit else ''}"
