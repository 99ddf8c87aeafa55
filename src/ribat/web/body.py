"""Request bodies read with a size limit, for every endpoint that takes an upload."""

from __future__ import annotations

from fastapi import Request
from starlette.requests import ClientDisconnect

from ribat.errors import TooLargeError
from ribat.web.errors import HttpProblem

__all__ = ["read_body"]


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, or ``TooLargeError`` as soon as it (or its declared length) passes
    ``limit`` bytes: an oversized upload is refused before it is held in memory."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLargeError(int(declared), limit)
    chunks = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise TooLargeError(size, limit)
            chunks.append(chunk)
    except ClientDisconnect:
        # The client went away mid-upload (a peer hub killed while pushing, say): nothing to store, nobody to
        # answer, and no fault of the server's.
        raise HttpProblem(400, "Client disconnected", "the client closed the connection during its upload") from None
    return b"".join(chunks)
