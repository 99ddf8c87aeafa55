"""/api/v1 endpoints: exports.

``GET /api/v1/collections/{collection_id}/export/{format}`` answers the file: the export is
written to a spooled temporary file first (memory, then disk past 16 MiB), so that a bad
filter, an unreadable collection or a failure half-way is a JSON error rather than a cut file,
and the counts can travel in the ``X-Ribat-Export`` header.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import IO, Annotated

import orjson
from fastapi import APIRouter, Depends, Query, Request
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from ribat.accounts import Principal
from ribat.errors import ValidationError
from ribat.formats.exporting import Exports, hub_orgc
from ribat.formats.exports import SuricataOptions, parse_filter
from ribat.hub import Hub
from ribat.web.auth import authenticate

__all__ = ["router"]

router = APIRouter()

Caller = Annotated[Principal, Depends(authenticate)]

_SPOOL_BYTES = 16 * 1024 * 1024
_CHUNK = 256 * 1024
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


def _flag(name: str, text: str | None) -> bool:
    if text is None:
        return False
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValidationError(name, f"{text!r} is not true or false")


def _stream(spool: IO[bytes]) -> Iterator[bytes]:
    spool.seek(0)
    while chunk := spool.read(_CHUNK):
        yield chunk


@router.get("/collections/{collection_id}/export/{format}")
async def export_collection(
    request: Request,
    collection_id: str,
    format: str,
    principal: Caller,
    type: Annotated[list[str], Query()] = [],  # noqa: B006  (FastAPI copies defaults)
    max_tlp: str | None = None,
    since: str | None = None,
    until: str | None = None,
    min_confidence: str | None = None,
    include_flagged: str | None = None,
    kind: str | None = None,
) -> Response:
    """Export what the caller may read of a collection (docs/formats-export.md)."""
    hub: Hub = request.app.state.hub
    flt = parse_filter(
        types=type,
        max_tlp=max_tlp,
        since=since,
        until=until,
        min_confidence=min_confidence,
        include_flagged=_flag("include_flagged", include_flagged),
    )
    exports = Exports(
        hub.intel,
        warninglists=hub.intel.warninglists,
        suricata=SuricataOptions(sid_base=hub.settings.suricata_sid_base),
        feed_orgc=hub_orgc(hub.settings.hub_title),
        page_size=hub.settings.page_size_cap,
    )
    target = await run_in_threadpool(exports.target, principal, collection_id, format, kind=kind)
    # Closed by the response's background task once streamed.
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES, mode="w+b")  # noqa: SIM115
    try:
        report = await run_in_threadpool(
            exports.export,
            principal,
            target,
            format,
            flt,
            spool,
            object_url=str(request.base_url) + "objects/",
        )
    except BaseException:
        spool.close()
        raise
    summary = {
        "objects": report.tally.objects,
        "values": report.tally.values,
        "skipped": dict(sorted(report.tally.skipped.items())),
    }
    headers = {
        "Content-Disposition": f'attachment; filename="{report.filename}"',
        "X-Ribat-Export": orjson.dumps(summary).decode(),
    }
    return StreamingResponse(
        _stream(spool),
        media_type=report.media_type,
        headers=headers,
        background=BackgroundTask(spool.close),
    )
