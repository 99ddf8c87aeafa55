"""/api/v1 endpoints of federation: peer hubs (administrators), their status and runs, and the routes peer hubs
call beside TAXII 2.1 (``hello`` and tombstones).

Peers are managed by hub administrators only. A peer's ``sync`` account calls ``hello`` (to say which hub it is)
and reads or sends tombstones — deletions — which TAXII 2.1 has no resource for. Tombstones are read through the
caller's peer boundary, exactly as objects are (``ribat.intel.boundary``). See docs/federation.md.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from ribat.accounts import Principal
from ribat.clock import format_us
from ribat.errors import EnvelopeError, ValidationError
from ribat.federation import Federation, Peer, PeerRun, PeerStatus, parse_pairs
from ribat.federation.service import format_position, parse_position
from ribat.hub import Hub
from ribat.web.auth import authenticate
from ribat.web.body import read_body

__all__ = ["peer_resource", "router", "run_resource", "status_resource"]

router = APIRouter()

Caller = Annotated[Principal, Depends(authenticate)]


def _hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


def federation_of(request: Request) -> Federation:
    """The application's Federation (made on first use)."""
    found: Federation | None = getattr(request.app.state, "federation", None)
    if found is None:
        found = Federation.for_hub(_hub(request))
        request.app.state.federation = found
    return found


def _time(us: int | None) -> str | None:
    return None if us is None else format_us(us)


def run_resource(run: PeerRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "peer_id": run.peer_id,
        "trigger": run.trigger,
        "runner": run.runner,
        "status": run.status.value,
        "started": format_us(run.started_us),
        "finished": _time(run.finished_us),
        "pulled": run.pulled,
        "pushed": run.pushed,
        "already": run.already,
        "echoes": run.echoes,
        "rejected": run.rejected,
        "deleted": run.deleted,
        "problems": list(run.problems),
        "error": run.error,
    }


def peer_resource(peer: Peer) -> dict[str, Any]:
    return {
        "id": peer.id,
        "name": peer.name,
        "url": peer.url,
        "direction": peer.direction.value,
        "collections": [{"local": p.local_id, "remote": p.remote_id} for p in peer.pairs],
        "org_id": peer.org_id,
        "sync_user_id": peer.sync_user_id,
        "remote_hub_id": peer.remote_hub_id,
        "policy": {
            "max_tlp": peer.max_tlp.label,
            "include_types": list(peer.include_types),
            "exclude_types": list(peer.exclude_types),
        },
        "interval_seconds": peer.interval_seconds,
        "enabled": peer.enabled,
        "has_key": peer.has_key,
        "next_due": format_us(peer.next_due_us),
        "consecutive_failures": peer.consecutive_failures,
        "created": format_us(peer.created_us),
    }


def status_resource(status: PeerStatus) -> dict[str, Any]:
    return {
        **peer_resource(status.peer),
        "running": status.running,
        "last_run": None if status.last_run is None else run_resource(status.last_run),
        "last_success": _time(status.last_success_us),
        "lag_seconds": status.lag_seconds,
        "last_error": status.last_error,
    }


class NewPeer(BaseModel):
    """A peer to add. ``collections``: ``LOCAL=REMOTE`` pairs (``LOCAL`` alone for a collection only served);
    ``org``: the local organisation standing for the peer's (id, short name or identity id)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    url: str
    key: str | None = None
    direction: str
    collections: list[str]
    org: str
    circles: list[str] = Field(default_factory=list)
    max_tlp: str = "green"
    include_types: list[str] = Field(default_factory=list)
    exclude_types: list[str] = Field(default_factory=list)
    interval_seconds: int = 300


class PeerChange(BaseModel):
    """What to change; absent fields stay. A ``key`` replaces the stored one."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = None
    key: str | None = None
    direction: str | None = None
    collections: list[str] | None = None
    max_tlp: str | None = None
    include_types: list[str] | None = None
    exclude_types: list[str] | None = None
    interval_seconds: int | None = None
    enabled: bool | None = None


@router.get("/peers")
def list_peers(request: Request, principal: Caller) -> JSONResponse:
    """Every peer with its status: last run, last success, lag and last error."""
    statuses = federation_of(request).statuses(by=principal)
    return JSONResponse({"peers": [status_resource(s) for s in statuses]})


@router.post("/peers", status_code=201)
def add_peer(request: Request, body: NewPeer, principal: Caller) -> JSONResponse:
    """Add a peer. The answer holds the key of the peer's sync account, shown this once."""
    peer, key = federation_of(request).add(
        body.name,
        body.url,
        direction=body.direction,
        pairs=parse_pairs(body.collections),
        org=body.org,
        key=body.key,
        circles=body.circles,
        max_tlp=body.max_tlp,
        include_types=body.include_types,
        exclude_types=body.exclude_types,
        interval_seconds=body.interval_seconds,
        by=principal,
    )
    return JSONResponse({**peer_resource(peer), "sync_key": key.secret}, status_code=201)


@router.get("/peers/{peer_ref}")
def get_peer(request: Request, peer_ref: str, principal: Caller) -> JSONResponse:
    fed = federation_of(request)
    status = fed.status(peer_ref, by=principal)
    cursors = [
        {"local": local, "remote": remote, "stream": stream, "cursor": cursor}
        for (local, remote, stream), cursor in sorted(fed.cursors(peer_ref, by=principal).items())
    ]
    return JSONResponse({**status_resource(status), "checkpoints": cursors})


@router.patch("/peers/{peer_ref}")
def change_peer(request: Request, peer_ref: str, body: PeerChange, principal: Caller) -> JSONResponse:
    options: dict[str, Any] = {
        name: getattr(body, name)
        for name in body.model_fields_set
        if getattr(body, name) is not None and name != "collections"
    }
    if body.collections is not None:
        options["pairs"] = parse_pairs(body.collections)
    return JSONResponse(peer_resource(federation_of(request).update(peer_ref, by=principal, **options)))


@router.delete("/peers/{peer_ref}", status_code=204)
def remove_peer(request: Request, peer_ref: str, principal: Caller) -> Response:
    """Forget a peer and switch its sync account off; what it synced stays."""
    federation_of(request).remove(peer_ref, by=principal)
    return Response(status_code=204)


@router.post("/peers/{peer_ref}/sync")
async def sync_peer(request: Request, peer_ref: str, principal: Caller) -> JSONResponse:
    """Sync with the peer now and answer the run (409 when it is already being synced)."""
    run = await run_in_threadpool(federation_of(request).run, peer_ref, by=principal)
    return JSONResponse(run_resource(run))


@router.get("/peers/{peer_ref}/runs")
def peer_runs(
    request: Request,
    peer_ref: str,
    principal: Caller,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> JSONResponse:
    """The peer's runs, newest first."""
    runs = federation_of(request).runs(peer_ref, limit=limit, offset=offset, by=principal)
    return JSONResponse({"runs": [run_resource(r) for r in runs]})


# -- called by peer hubs ---------------------------------------------------------------------------


class Hello(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hub_id: str


@router.post("/federation/hello")
def hello(request: Request, body: Hello, principal: Caller) -> JSONResponse:
    """A peer hub's sync account says which hub it is; the answer is this hub's id and the largest request body it
    accepts (``max_content_length``, as in its TAXII API root resource)."""
    answer = federation_of(request).hello(principal, body.hub_id)
    return JSONResponse({**answer, "max_content_length": _hub(request).settings.max_envelope_bytes})


@router.get("/federation/collections/{collection_id}/tombstones")
def tombstones(
    request: Request,
    collection_id: str,
    principal: Caller,
    after: str | None = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
) -> JSONResponse:
    """Shared deletions in the collection after the position ``after`` (``<deleted_us>:<pk>``), oldest first,
    through the caller's peer boundary."""
    position = parse_position(after) if after else None
    items, last, more = _hub(request).intel.tombstones(principal, collection_id, after=position, limit=limit)
    return JSONResponse({"tombstones": items, "more": more, "next": None if last is None else format_position(last)})


@router.post("/federation/collections/{collection_id}/tombstones")
async def receive_tombstones(request: Request, collection_id: str, principal: Caller) -> JSONResponse:
    """Deletions a peer hub sends: each deletes this hub's copy of that version when it came from the same
    origin hub. Answers how many versions were deleted and a problem per malformed item."""
    hub = _hub(request)
    await run_in_threadpool(hub.intel.collection, principal, collection_id)
    body = await read_body(request, hub.settings.max_envelope_bytes)
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise EnvelopeError(f"body is not valid JSON: {exc}") from None
    items = data.get("tombstones") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ValidationError("tombstones", "the body must be a JSON object with a 'tombstones' list")
    deleted, problems = await run_in_threadpool(hub.intel.receive_tombstones, principal, collection_id, items)
    return JSONResponse({"deleted": deleted, "problems": problems})
