"""Request bodies: the size limit, and a client that goes away mid-upload."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi import Request

from ribat.errors import TooLargeError
from ribat.web.body import read_body
from ribat.web.errors import HttpProblem


def _request(messages: list[dict[str, Any]], headers: list[tuple[bytes, bytes]] | None = None) -> Request:
    queue = list(messages)

    async def receive() -> dict[str, Any]:
        return queue.pop(0)

    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers or [], "query_string": b""}
    return Request(scope, receive)


def test_the_whole_body_is_read_across_chunks() -> None:
    request = _request(
        [
            {"type": "http.request", "body": b"ab", "more_body": True},
            {"type": "http.request", "body": b"cd", "more_body": False},
        ]
    )
    assert asyncio.run(read_body(request, 10)) == b"abcd"


def test_a_body_over_the_limit_is_refused_as_it_arrives() -> None:
    request = _request(
        [
            {"type": "http.request", "body": b"abcdef", "more_body": True},
            {"type": "http.request", "body": b"ghijkl", "more_body": False},
        ]
    )
    with pytest.raises(TooLargeError):
        asyncio.run(read_body(request, 10))


def test_a_client_that_disconnects_mid_upload_is_a_client_problem_not_a_server_error() -> None:
    request = _request([{"type": "http.request", "body": b"abc", "more_body": True}, {"type": "http.disconnect"}])
    with pytest.raises(HttpProblem) as raised:
        asyncio.run(read_body(request, 1000))
    assert raised.value.status == 400 and "closed the connection" in raised.value.detail
