"""Request bodies read with a size limit, for every endpoint that takes an upload."""

from __future__ import annotations

from fastapi import Request

from ribat.errors import TooLargeError

__all__ = ["read_body"]


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, or ``TooLargeError`` as soon as it (or its declared length) passes
    ``limit`` bytes: an oversized upload is refused before it is held in memory."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLargeError(int(declared), limit)
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLargeError(size, limit)
        chunks.append(chunk)
    return b"".join(chunks)
