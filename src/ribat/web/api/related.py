"""/api/v1 endpoints: related items (correlation) and warninglist hits."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from ribat.accounts import Principal
from ribat.hub import Hub
from ribat.intel import Correlation, Flagged
from ribat.web.auth import authenticate

__all__ = ["correlation_json", "router"]

router = APIRouter()
Caller = Annotated[Principal, Depends(authenticate)]


def _hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


def correlation_json(answer: Correlation) -> dict[str, Any]:
    return {
        "query": answer.query,
        "asked": [{"kind": k, "value": v} for k, v in answer.asked],
        "related": [
            {
                "relation": i.relation,
                "kind": i.kind,
                "value": i.value,
                "collection_id": i.collection_id,
                "id": i.object_id,
                "type": i.type,
                "name": i.name,
                "tlp": i.tlp.label,
                "version": i.version,
            }
            for i in answer.items
        ],
        "over_correlating": [
            {"kind": o.kind, "value": o.value, "count": o.count, "at_least": o.at_least}
            for o in answer.over_correlating
        ],
    }


def _flagged_json(f: Flagged) -> dict[str, Any]:
    return {
        "list": f.list_name,
        "value": f.value,
        "entry": f.entry,
        "collection_id": f.collection_id,
        "id": f.object_id,
        "type": f.type,
        "name": f.name,
        "tlp": f.tlp.label,
        "date_added": f.date_added,
    }


@router.get("/related")
async def related(
    request: Request,
    principal: Caller,
    q: Annotated[str, Query(description="A value (IP, network, domain, URL, e-mail, hash) or an object id.")],
) -> JSONResponse:
    """Objects the caller may read that are related to ``q`` (see docs/correlation.md)."""
    answer = await run_in_threadpool(_hub(request).intel.related, principal, q)
    return JSONResponse(correlation_json(answer))


@router.get("/warninglist-hits")
async def warninglist_hits(
    request: Request,
    principal: Caller,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> JSONResponse:
    """Indicators the caller may read that hit a warninglist when they were ingested, newest first."""
    hits = await run_in_threadpool(_hub(request).intel.flagged, principal, limit=limit, offset=offset)
    return JSONResponse({"hits": [_flagged_json(f) for f in hits], "limit": limit, "offset": offset})
