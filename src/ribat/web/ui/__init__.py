"""The web interface: server-rendered pages (Jinja2, htmx for partial updates) in Arabic,
English and French over the same services as the API.

``mount_ui`` adds the pages, the static files and the answers to UI errors to an app:
domain errors raised by a page become an HTML page with the status ``web.errors.status_for``
gives (the one mapping), a page that needs a user redirects to the sign-in page, and a
POST without the session's CSRF token is refused with 403.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

from ribat.errors import RibatError
from ribat.hub import Hub
from ribat.intel import SqlWorkspace, Workspace
from ribat.web.errors import status_for
from ribat.web.ratelimit import FailureLimiter
from ribat.web.ui import (
    pages_account,
    pages_admin,
    pages_capacity,
    pages_feeds,
    pages_formats,
    pages_hunts,
    pages_intel,
    pages_peers,
)
from ribat.web.ui.context import Context, CsrfError, LoginRequired, Ui, make_env
from ribat.web.ui.i18n import N_
from ribat.web.ui.session import SessionCodec

__all__ = ["mount_ui"]

STATIC = Path(__file__).resolve().parents[1] / "static"

_TITLES = {
    400: N_("The request was not accepted."),
    403: N_("You are not allowed to do this."),
    404: N_("Not found."),
    409: N_("This already exists."),
    413: N_("The content is too large."),
    422: N_("The content was not accepted."),
    429: N_("Too many attempts. Wait a moment and try again."),
    500: N_("Something went wrong on the hub."),
}


def _error_page(ctx: Context, status: int, detail: str | None) -> Response:
    title = _TITLES.get(status, _TITLES[500])
    return ctx.render("error.html", status=status, title=ctx._(title), detail=detail)


def mount_ui(app: FastAPI, hub: Hub) -> None:
    production = hub.settings.mode == "production"
    app.state.ui = Ui(
        hub=hub,
        workspace=Workspace(hub.intel, SqlWorkspace(hub.db)),
        codec=SessionCodec(hub.secret_key, max_age_s=int(hub.settings.session_hours * 3600), secure=production),
        login_limiter=FailureLimiter(hub.settings.login_rate_limit),
        env=make_env(),
    )
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    for module in (
        pages_account,
        pages_intel,
        pages_formats,
        pages_feeds,
        pages_hunts,
        pages_capacity,
        pages_admin,
        pages_peers,
    ):
        app.include_router(module.router)

    previous: Any = app.exception_handlers.get(RibatError)

    async def on_domain(request: Request, exc: Exception) -> Response:
        ctx = getattr(request.state, "ui_context", None)
        if ctx is None:
            return await previous(request, exc)  # type: ignore[no-any-return]
        assert isinstance(exc, RibatError)
        status, _title = status_for(exc)
        return _error_page(ctx, status, exc.message)

    async def on_login_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        ctx: Context = request.state.ui_context
        if request.headers.get("hx-request"):
            response = Response(status_code=401, headers={"HX-Redirect": "/login"})
            return response
        from urllib.parse import urlencode

        return ctx.redirect("/login?" + urlencode({"next": exc.next_path}))

    async def on_csrf(request: Request, exc: Exception) -> Response:
        ctx: Context = request.state.ui_context
        return ctx.render(
            "error.html",
            status=403,
            title=ctx._("This form has expired. Go back, reload the page and try again."),
            detail=None,
        )

    app.add_exception_handler(RibatError, on_domain)
    app.add_exception_handler(LoginRequired, on_login_required)
    app.add_exception_handler(CsrfError, on_csrf)
