"""/api/v1 endpoints: imports with their reports, and report extraction with review.

A file is sent either as ``multipart/form-data`` (the file in the field ``file``; ``kind``,
``name`` and the import options as further fields) or as the raw request body (``kind``,
``name`` and the options as query parameters). Bodies larger than ``RIBAT_MAX_UPLOAD_BYTES``
are refused with 413 before they are read whole. See docs/formats-import.md.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.responses import JSONResponse

from ribat.accounts import Principal
from ribat.clock import format_us
from ribat.errors import TooLargeError, ValidationError
from ribat.formats.imports import Extraction, ImportRun, Imports
from ribat.hub import Hub
from ribat.intel import Tlp
from ribat.web.auth import authenticate
from ribat.web.body import read_body

__all__ = ["extraction_json", "router", "run_json"]

router = APIRouter()
Caller = Annotated[Principal, Depends(authenticate)]

# Room for the multipart framing and the form fields around the file.
_FORM_SLACK = 64 * 1024
_RESERVED = frozenset({"kind", "name", "filename", "file"})


def _imports(request: Request) -> Imports:
    hub: Hub = request.app.state.hub
    return Imports(hub.intel, hub.db, max_upload_bytes=hub.settings.max_upload_bytes)


def _stamp(us: int | None) -> str | None:
    return format_us(us) if us is not None else None


def run_json(run: ImportRun) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": run.id,
        "collection_id": run.collection_id,
        "user_id": run.user_id,
        "org_id": run.org_id,
        "kind": run.kind,
        "name": run.name,
        "status": run.status,
        "started": format_us(run.started_us),
        "finished": _stamp(run.finished_us),
        "stored": run.stored,
        "merged": run.merged,
        "failed": run.failed,
        "lost": run.lost,
    }
    if run.report is not None:
        data["report"] = run.report
    return data


def extraction_json(extraction: Extraction) -> dict[str, Any]:
    return {
        "id": extraction.id,
        "collection_id": extraction.collection_id,
        "user_id": extraction.user_id,
        "org_id": extraction.org_id,
        "name": extraction.name,
        "title": extraction.title,
        "format": extraction.format,
        "pages": extraction.pages,
        "created": format_us(extraction.created_us),
        "candidates": [
            {
                "id": c.id,
                "kind": c.kind,
                "value": c.value,
                "raw": c.raw,
                "sentence": c.sentence,
                "page": c.page,
                "offset": c.offset,
                "count": c.count,
                "status": c.status,
                "object_id": c.object_id,
                "reviewed": _stamp(c.reviewed_us),
            }
            for c in extraction.candidates
        ],
    }


async def _once(data: bytes) -> AsyncGenerator[bytes, None]:
    yield data


async def _upload(request: Request) -> tuple[bytes, dict[str, str], str | None, str | None]:
    """The uploaded file, the other fields (query parameters for a raw body), the file's
    name as the client gave it and its media type."""
    limit: int = request.app.state.hub.settings.max_upload_bytes
    content_type = request.headers.get("content-type", "")
    fields = dict(request.query_params.items())
    if content_type.lower().startswith("multipart/form-data"):
        body = await read_body(request, limit + _FORM_SLACK)
        parser = MultiPartParser(request.headers, _once(body), max_files=1, max_fields=50)
        try:
            form = await parser.parse()
        except MultiPartException as exc:
            raise ValidationError("body", f"not a readable multipart form: {exc.message}") from None
        try:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise ValidationError("file", "the form has no file field named 'file'")
            payload = await upload.read()
        finally:
            await form.close()
        if len(payload) > limit:
            raise TooLargeError(len(payload), limit)
        for key, value in form.multi_items():
            if isinstance(value, str):
                fields[key] = value
        return payload, fields, upload.filename, upload.content_type
    payload = await read_body(request, limit)
    return payload, fields, None, content_type or None


@router.post("/collections/{collection_id}/imports", status_code=201)
async def create_import(request: Request, collection_id: str, principal: Caller) -> JSONResponse:
    """Import a file into a collection: ``kind`` is stix, misp, csv, ioc-list or openioc;
    answers 201 with the run and its report."""
    imports = _imports(request)
    await run_in_threadpool(imports.writable, principal, collection_id)  # permission before the body
    payload, fields, filename, _ = await _upload(request)
    kind = fields.get("kind", "").strip()
    if not kind:
        raise ValidationError("kind", "required: stix, misp, csv, ioc-list or openioc")
    name = fields.get("name") or filename or f"{kind} upload"
    options = {k: v for k, v in fields.items() if k not in _RESERVED}
    run = await run_in_threadpool(
        lambda: imports.run(principal, collection_id, kind, payload, name=name, options=options)
    )
    return JSONResponse(run_json(run), status_code=201)


@router.get("/imports")
async def list_imports(
    request: Request,
    principal: Caller,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> JSONResponse:
    """Import runs of the caller's organisation (every run for an admin), newest first."""
    found = await run_in_threadpool(lambda: _imports(request).runs(principal, limit=limit, offset=offset))
    return JSONResponse(
        {
            "runs": [run_json(r) for r in found.runs],
            "total": found.total,
            "limit": limit,
            "offset": offset,
            "more": offset + len(found.runs) < found.total,
        }
    )


@router.get("/imports/{run_id}")
async def get_import(request: Request, run_id: str, principal: Caller) -> JSONResponse:
    """One run with its whole report (the importer's organisation and admins only)."""
    run = await run_in_threadpool(_imports(request).run_report, principal, run_id)
    return JSONResponse(run_json(run))


@router.post("/collections/{collection_id}/extractions", status_code=201)
async def create_extraction(request: Request, collection_id: str, principal: Caller) -> JSONResponse:
    """Read a report (PDF, HTML or text) for candidate indicators, held for review."""
    imports = _imports(request)
    await run_in_threadpool(imports.writable, principal, collection_id)
    payload, fields, filename, media_type = await _upload(request)
    name = fields.get("name") or fields.get("filename") or filename or "report"
    extraction = await run_in_threadpool(
        lambda: imports.extract(principal, collection_id, name, payload, media_type=media_type)
    )
    return JSONResponse(extraction_json(extraction), status_code=201)


@router.get("/extractions/{extraction_id}")
async def get_extraction(request: Request, extraction_id: str, principal: Caller) -> JSONResponse:
    """An extraction and its candidates with their review status."""
    extraction = await run_in_threadpool(_imports(request).extraction, principal, extraction_id)
    return JSONResponse(extraction_json(extraction))


def _ids(data: dict[str, Any], key: str) -> list[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError(key, "must be a list of candidate ids")
    return value


@router.post("/extractions/{extraction_id}/review")
async def review_extraction(request: Request, extraction_id: str, principal: Caller) -> JSONResponse:
    """``{"accept": [ids], "reject": [ids], "tlp": "green"}``: publish the accepted candidates
    as indicators into the extraction's collection; keep the rejected ones on record."""
    body = await read_body(request, 1024 * 1024)
    try:
        data = orjson.loads(body or b"{}")
    except orjson.JSONDecodeError as exc:
        raise ValidationError("body", f"not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValidationError("body", "must be a JSON object with 'accept', 'reject' and 'tlp'")
    unknown = sorted(set(data) - {"accept", "reject", "tlp"})
    if unknown:
        raise ValidationError("body", f"unknown member(s) {', '.join(unknown)}")
    tlp_text = data.get("tlp")
    tlp: Tlp | None = None
    if tlp_text is not None:
        if not isinstance(tlp_text, str):
            raise ValidationError("tlp", "must be a string")
        try:
            tlp = Tlp.parse(tlp_text)
        except ValueError as exc:
            raise ValidationError("tlp", str(exc)) from None
    accept, reject = _ids(data, "accept"), _ids(data, "reject")
    review = await run_in_threadpool(
        lambda: _imports(request).review(principal, extraction_id, accept, reject, tlp=tlp)
    )
    result = extraction_json(review.extraction)
    result["run"] = run_json(review.run) if review.run is not None else None
    return JSONResponse(result)
