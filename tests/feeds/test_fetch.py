"""Downloads: retries with exponential backoff on connection errors, 5xx and 429 (honouring
Retry-After), none on other 4xx, and a size limit."""

from __future__ import annotations

import email.utils
import time

import httpx
import pytest

from feeds._support import FileServer
from ribat.feeds import Fetcher, FetchError


def _fetcher(files: FileServer, **kwargs: object) -> tuple[Fetcher, list[float]]:
    waits: list[float] = []
    return Fetcher(files.client(), sleep=waits.append, **kwargs), waits  # type: ignore[arg-type]


def test_connection_errors_and_5xx_are_retried_with_exponential_backoff(files: FileServer) -> None:
    files.put("list.txt", "1.2.3.4\n")
    files.faults["list.txt"] = [0, 503, 502]
    fetcher, waits = _fetcher(files, backoff=0.5)
    fetched = fetcher.get(files.url("list.txt"))
    assert fetched.status == 200 and fetched.content == b"1.2.3.4\n"
    assert waits == [0.5, 1.0, 2.0]
    assert len(files.requests) == 4


def test_retry_after_is_honoured_in_seconds_and_as_a_date(files: FileServer) -> None:
    files.put("list.txt", "x")
    files.extra_headers = {"Retry-After": "7"}
    files.faults["list.txt"] = [429]
    fetcher, waits = _fetcher(files)
    fetcher.get(files.url("list.txt"))
    assert waits == [7.0]

    files.extra_headers = {"Retry-After": email.utils.formatdate(time.time() + 30, usegmt=True)}
    files.faults["list.txt"] = [503]
    fetcher.get(files.url("list.txt"))
    assert 25 <= waits[1] <= 30

    files.extra_headers = {"Retry-After": "100000"}
    files.faults["list.txt"] = [503]
    capped, capped_waits = _fetcher(files, max_wait=60.0)
    capped.get(files.url("list.txt"))
    assert capped_waits == [60.0]


def test_it_gives_up_after_the_last_retry_saying_why(files: FileServer) -> None:
    files.put("list.txt", "x")
    files.faults["list.txt"] = [500] * 10
    fetcher, waits = _fetcher(files, retries=2, backoff=1.0)
    with pytest.raises(FetchError) as caught:
        fetcher.get(files.url("list.txt"))
    assert caught.value.status == 500
    assert "HTTP 500: failure 500 (gave up after 3 attempts)" in str(caught.value)
    assert waits == [1.0, 2.0]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410])
def test_other_4xx_answers_are_final_at_once(files: FileServer, status: int) -> None:
    files.put("list.txt", "x")
    files.faults["list.txt"] = [status]
    fetcher, waits = _fetcher(files)
    with pytest.raises(FetchError) as caught:
        fetcher.get(files.url("list.txt"))
    assert caught.value.status == status and waits == [] and len(files.requests) == 1


def test_a_download_larger_than_the_limit_is_refused(files: FileServer) -> None:
    files.put("big.txt", b"a" * 5000)
    fetcher, _ = _fetcher(files, max_bytes=4096)
    with pytest.raises(FetchError, match="exceeds the limit of 4096 bytes"):
        fetcher.get(files.url("big.txt"))

    def streamed(request: httpx.Request) -> httpx.Response:  # no Content-Length: counted while reading
        return httpx.Response(200, content=iter([b"b" * 3000, b"b" * 3000]))

    with pytest.raises(FetchError, match="exceeds the limit of 4096 bytes"):
        Fetcher(httpx.Client(transport=httpx.MockTransport(streamed)), max_bytes=4096).get("http://x.test/")


def test_304_is_an_answer_only_when_asked_for(files: FileServer) -> None:
    files.put("list.txt", "x")
    fetcher, _ = _fetcher(files)
    etag = fetcher.get(files.url("list.txt")).headers["etag"]
    assert fetcher.get(files.url("list.txt"), headers={"If-None-Match": etag}, accept_not_modified=True).status == 304
    with pytest.raises(FetchError, match="HTTP 304"):
        fetcher.get(files.url("list.txt"), headers={"If-None-Match": etag})


def test_a_real_timeout_is_retried(files: FileServer) -> None:
    calls = []

    def slow_then_fine(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            raise httpx.ReadTimeout("timed out", request=request)
        return httpx.Response(200, text="ok")

    waits: list[float] = []
    fetcher = Fetcher(httpx.Client(transport=httpx.MockTransport(slow_then_fine)), sleep=waits.append)
    assert fetcher.get("http://x.test/").content == b"ok"
    assert waits == [1.0]
