"""The eleven TAXII 2.1 endpoints (sections 4.1-5.8)."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ribat.accounts import Principal
from ribat.errors import EnvelopeError, NotFoundError, ValidationError
from ribat.hub import Hub
from ribat.intel import Collection, Page, Status
from ribat.taxii._params import check_accept, check_content_type, object_filter, page_limit
from ribat.web.auth import authenticate
from ribat.web.body import read_body

__all__ = ["MEDIA_TYPE_TAXII21", "router"]

MEDIA_TYPE_TAXII21 = "application/taxii+json;version=2.1"
MEDIA_TYPE_STIX21 = "application/stix+json;version=2.1"

router = APIRouter()

Caller = Annotated[Principal, Depends(authenticate)]


def _hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type=MEDIA_TYPE_TAXII21, headers=headers)


def _check_root(hub: Hub, api_root: str) -> None:
    if api_root != hub.settings.taxii_api_root:
        raise NotFoundError("API root", api_root)


def _page_headers(page: Page) -> dict[str, str]:
    headers = {}
    if page.first_added is not None and page.last_added is not None:
        headers["X-TAXII-Date-Added-First"] = page.first_added
        headers["X-TAXII-Date-Added-Last"] = page.last_added
    return headers


def _collection_resource(c: Collection) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "id": c.id,
        "title": c.title,
        "can_read": c.can_read,
        "can_write": c.can_write,
        "media_types": [MEDIA_TYPE_STIX21],
    }
    if c.description:
        resource["description"] = c.description
    if c.alias:
        resource["alias"] = c.alias
    return resource


def _status_resource(s: Status) -> dict[str, Any]:
    def details(items: list[Any]) -> list[dict[str, Any]]:
        out = []
        for d in items:
            entry = {"id": d.id, "version": d.version}
            if d.message:
                entry["message"] = d.message
            out.append(entry)
        return out

    resource: dict[str, Any] = {
        "id": s.id,
        "status": s.status,
        "request_timestamp": s.request_timestamp,
        "total_count": s.total_count,
        "success_count": s.success_count,
        "failure_count": s.failure_count,
        "pending_count": s.pending_count,
    }
    if s.successes:
        resource["successes"] = details(s.successes)
    if s.failures:
        resource["failures"] = details(s.failures)
    if s.pendings:
        resource["pendings"] = details(s.pendings)
    return resource


def _envelope(page: Page) -> bytes:
    """The envelope (section 3.7) built from stored JSON text, without re-parsing it."""
    head = b'{"more":true,' if page.more else b'{"more":false,'
    if page.next is not None:
        head += b'"next":' + orjson.dumps(page.next) + b","
    if not page.bodies:
        return head[:-1] + b"}"
    return head + b'"objects":[' + ",".join(page.bodies).encode() + b"]}"


@router.get("/taxii2/")
def discovery(request: Request, principal: Caller) -> Response:
    """Server discovery (section 4.1)."""
    check_accept(request.headers.get("accept"))
    hub = _hub(request)
    root = f"/taxii2/{hub.settings.taxii_api_root}/"
    data: dict[str, Any] = {
        "title": hub.settings.hub_title,
        "description": "Ribat TAXII 2.1 server",
        "default": root,
        "api_roots": [root],
    }
    if hub.settings.hub_contact:
        data["contact"] = hub.settings.hub_contact
    return _json(data)


@router.get("/taxii2/{api_root}/")
def api_root_information(request: Request, api_root: str, principal: Caller) -> Response:
    """API root information (section 4.2)."""
    check_accept(request.headers.get("accept"))
    hub = _hub(request)
    _check_root(hub, api_root)
    return _json(
        {
            "title": hub.settings.hub_title,
            "description": "Collections of STIX 2.1 intelligence shared under TLP 2.0",
            "versions": [MEDIA_TYPE_TAXII21],
            "max_content_length": hub.settings.max_envelope_bytes,
        }
    )


@router.get("/taxii2/{api_root}/status/{status_id}/")
def get_status(request: Request, api_root: str, status_id: str, principal: Caller) -> Response:
    """A status resource (section 4.3)."""
    check_accept(request.headers.get("accept"))
    hub = _hub(request)
    _check_root(hub, api_root)
    return _json(_status_resource(hub.intel.status(principal, status_id)))


@router.get("/taxii2/{api_root}/collections/")
def get_collections(request: Request, api_root: str, principal: Caller) -> Response:
    """Collections the caller may read or write (section 5.1)."""
    check_accept(request.headers.get("accept"))
    hub = _hub(request)
    _check_root(hub, api_root)
    collections = hub.intel.collections(principal)
    data: dict[str, Any] = {}
    if collections:
        data["collections"] = [_collection_resource(c) for c in collections]
    return _json(data)


@router.get("/taxii2/{api_root}/collections/{collection_id}/")
def get_collection(request: Request, api_root: str, collection_id: str, principal: Caller) -> Response:
    """One collection (section 5.2)."""
    check_accept(request.headers.get("accept"))
    hub = _hub(request)
    _check_root(hub, api_root)
    return _json(_collection_resource(hub.intel.collection(principal, collection_id)))


@router.get("/taxii2/{api_root}/collections/{collection_id}/manifest/")
def get_manifest(request: Request, api_root: str, collection_id: str, principal: Caller) -> Response:
    """Manifest (section 5.3)."""
    check_accept(request.headers.get("accept"))
    hub = _hub(request)
    _check_root(hub, api_root)
    params = dict(request.query_params)
    page = hub.intel.manifest(
        principal, collection_id, object_filter(params), limit=page_limit(params), next_token=params.get("next")
    )
    data: dict[str, Any] = {"more": page.more}
    if page.next is not None:
        data["next"] = page.next
    if page.metas:
        data["objects"] = [
            {"id": m.object_id, "date_added": m.date_added, "version": m.version, "media_type": m.media_type}
            for m in page.metas
        ]
    return _json(data, headers=_page_headers(page))


@router.get("/taxii2/{api_root}/collections/{collection_id}/objects/")
def get_objects(request: Request, api_root: str, collection_id: str, principal: Caller) -> Response:
    """Objects (section 5.4)."""
    check_accept(request.headers.get("accept"))
    hub = _hub(request)
    _check_root(hub, api_root)
    params = dict(request.query_params)
    page = hub.intel.objects(
        principal, collection_id, object_filter(params), limit=page_limit(params), next_token=params.get("next")
    )
    return Response(_envelope(page), media_type=MEDIA_TYPE_TAXII21, headers=_page_headers(page))


@router.post("/taxii2/{api_root}/collections/{collection_id}/objects/")
async def add_objects(request: Request, api_root: str, collection_id: str, principal: Caller) -> Response:
    """Add objects (section 5.5): every valid object is stored, every invalid one reported."""
    check_accept(request.headers.get("accept"))
    hub = _hub(request)
    _check_root(hub, api_root)
    # Permission before reading a large body.
    await run_in_threadpool(hub.intel.collection, principal, collection_id)
    check_content_type(request.headers.get("content-type"))
    body = await read_body(request, hub.settings.max_envelope_bytes)
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise EnvelopeError(f"body is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("objects"), list):
        raise EnvelopeError("the body must be a TAXII envelope: a JSON object with an 'objects' list")
    status = await run_in_threadpool(hub.intel.ingest, principal, collection_id, data)
    return _json(_status_resource(status), status=202)


@router.get("/taxii2/{api_root}/collections/{collection_id}/objects/{object_id}/")
def get_object(request: Request, api_root: str, collection_id: str, object_id: str, principal: Caller) -> Response:
    """One object's versions (section 5.6)."""
    check_accept(request.headers.get("accept"))
    hub = _hub(request)
    _check_root(hub, api_root)
    params = dict(request.query_params)
    page = hub.intel.object(
        principal,
        collection_id,
        object_id,
        object_filter(params),
        limit=page_limit(params),
        next_token=params.get("next"),
    )
    return Response(_envelope(page), media_type=MEDIA_TYPE_TAXII21, headers=_page_headers(page))


@router.delete("/taxii2/{api_root}/collections/{collection_id}/objects/{object_id}/")
def delete_object(request: Request, api_root: str, collection_id: str, object_id: str, principal: Caller) -> Response:
    """Delete an object (section 5.7); ``match[version]`` and ``match[spec_version]`` narrow it."""
    check_accept(request.headers.get("accept"))
    hub = _hub(request)
    _check_root(hub, api_root)
    params = dict(request.query_params)
    for name in params:
        if name not in ("match[version]", "match[spec_version]"):
            raise ValidationError(name, "unsupported query parameter for DELETE")
    hub.intel.delete(principal, collection_id, object_id, object_filter(params))
    return Response(status_code=200, media_type=MEDIA_TYPE_TAXII21)


@router.get("/taxii2/{api_root}/collections/{collection_id}/objects/{object_id}/versions/")
def get_versions(request: Request, api_root: str, collection_id: str, object_id: str, principal: Caller) -> Response:
    """An object's versions (section 5.8)."""
    check_accept(request.headers.get("accept"))
    hub = _hub(request)
    _check_root(hub, api_root)
    params = dict(request.query_params)
    if "match[version]" in params or "match[id]" in params or "match[type]" in params:
        raise ValidationError("match", "versions accepts added_after, limit, next and match[spec_version] only")
    page = hub.intel.versions(
        principal,
        collection_id,
        object_id,
        object_filter(params, allow_version=False),
        limit=page_limit(params),
        next_token=params.get("next"),
    )
    data: dict[str, Any] = {"more": page.more}
    if page.next is not None:
        data["next"] = page.next
    if page.metas:
        data["versions"] = [m.version for m in page.metas]
    return _json(data, headers=_page_headers(page))
