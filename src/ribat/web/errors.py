"""The one place domain errors become HTTP responses.

TAXII paths (``/taxii2/...``) answer with a TAXII 2.1 error message (section 3.6.1,
media type ``application/taxii+json;version=2.1``); every other path answers with
``{"error": {"code", "title", "detail", ...fields}}`` as JSON.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from ribat import errors as e

__all__ = ["TAXII_MEDIA_TYPE", "HttpProblem", "error_response", "install", "status_for"]

TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1"

_STATUS: list[tuple[type[e.RibatError], int, str]] = [
    (e.TooLargeError, 413, "Request body too large"),
    (e.RateLimitedError, 429, "Too many attempts"),
    (e.AuthenticationError, 401, "Authentication required"),
    (e.PermissionDeniedError, 403, "Forbidden"),
    (e.NotFoundError, 404, "Not found"),
    (e.ConflictError, 409, "Conflict"),
    (e.StixValidationError, 422, "Invalid STIX content"),
    (e.EnvelopeError, 422, "Unprocessable envelope"),
    (e.InputError, 400, "Bad request"),
]


class HttpProblem(Exception):
    """A protocol-level problem with no domain meaning (406, 415 …), raised by adapters."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail


def status_for(error: e.RibatError) -> tuple[int, str]:
    for cls, status, title in _STATUS:
        if isinstance(error, cls):
            return status, title
    return 500, "Internal error"


def _fields(error: Exception) -> dict[str, Any]:
    skip = {"message", "args"}
    return {
        k: v for k, v in vars(error).items() if k not in skip and not k.startswith("_") and isinstance(v, str | int)
    }


def error_response(request: Request, status: int, title: str, detail: str, fields: dict[str, Any]) -> Response:
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="ribat", Bearer realm="ribat"'
    if status == 429 and "retry_after" in fields:
        headers["Retry-After"] = str(fields["retry_after"])
    if request.url.path.startswith("/taxii2"):
        body: dict[str, Any] = {"title": title, "description": detail, "http_status": str(status)}
        if fields:
            body["details"] = fields
        return Response(orjson.dumps(body), status_code=status, media_type=TAXII_MEDIA_TYPE, headers=headers)
    payload = {"error": {"code": status, "title": title, "detail": detail, **fields}}
    return Response(orjson.dumps(payload), status_code=status, media_type="application/json", headers=headers)


def install(app: Any) -> None:
    """Register the handlers on a FastAPI application."""

    async def on_domain(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, e.RibatError)
        status, title = status_for(exc)
        return error_response(request, status, title, exc.message, _fields(exc))

    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HttpProblem)
        return error_response(request, exc.status, exc.title, exc.detail, {})

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        return error_response(request, exc.status_code, str(exc.detail), str(exc.detail), {})

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err.get('loc', ()))}: {err.get('msg', '')}" for err in exc.errors()
        )
        return error_response(request, 400, "Bad request", problems or "invalid request", {})

    app.add_exception_handler(e.RibatError, on_domain)
    app.add_exception_handler(HttpProblem, on_problem)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
