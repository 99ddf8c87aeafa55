"""What every page handler gets: the hub's services, the session, who is signed in, the
language, and how to answer (a rendered page, a redirect), saving the session as it goes."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import jinja2
from fastapi import Depends, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ribat.accounts import Principal, Role
from ribat.errors import NotFoundError, PermissionDeniedError
from ribat.hub import Hub
from ribat.intel import Tlp, Workspace
from ribat.web.ratelimit import FailureLimiter
from ribat.web.ui.i18n import LANGUAGES, Translator, negotiate, translator
from ribat.web.ui.session import Session, SessionCodec

__all__ = ["Context", "CsrfError", "Ctx", "LoginRequired", "Ui", "client_of", "safe_next"]

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


class LoginRequired(Exception):
    """The page needs a signed-in user; answered with a redirect to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class CsrfError(Exception):
    """A POST form without this session's CSRF token; answered with 403."""


@dataclass
class Ui:
    hub: Hub
    workspace: Workspace
    codec: SessionCodec
    login_limiter: FailureLimiter
    env: jinja2.Environment


def make_env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.globals["Tlp"] = Tlp
    env.globals["LANGUAGES"] = LANGUAGES
    env.filters["urlquote"] = lambda s: quote(str(s), safe="")
    return env


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def safe_next(path: str | None) -> str:
    """A local path to go to after signing in; anything else goes to the dashboard."""
    if path and path.startswith("/") and not path.startswith("//") and "\\" not in path:
        return path
    return "/"


class Context:
    def __init__(self, request: Request, ui: Ui) -> None:
        self.request = request
        self.ui = ui
        self.hub = ui.hub
        self.session: Session = ui.codec.load(request)
        self.principal: Principal | None = None
        if self.session.user_id is not None:
            try:
                principal = self.hub.accounts.principal_for(self.session.user_id)
            except NotFoundError:
                principal = None
            if principal is None or not principal.user.is_active:
                self.session.sign_out()
            else:
                self.principal = principal
        user_lang = self.principal.user.locale if self.principal else None
        self.t: Translator = translator(negotiate(user_lang, self.session.lang, request.headers.get("accept-language")))

    # -- who ------------------------------------------------------------------------------

    def user(self) -> Principal:
        if self.principal is None:
            path = self.request.url.path
            if self.request.url.query:
                path += "?" + self.request.url.query
            raise LoginRequired(path)
        return self.principal

    def admin(self) -> Principal:
        principal = self.user()
        if principal.user.role is not Role.ADMIN:
            raise PermissionDeniedError("open", "the administration pages")
        return principal

    @property
    def is_admin(self) -> bool:
        return self.principal is not None and self.principal.user.role is Role.ADMIN

    def check_csrf(self, token: str | None) -> None:
        if not self.session.valid_csrf(token):
            raise CsrfError()

    # -- names ----------------------------------------------------------------------------

    @functools.cached_property
    def org_names(self) -> dict[str, str]:
        return {o.id: o.short_name for o in self.hub.accounts.list_orgs()}

    def org_name(self, org_id: str | None) -> str:
        if org_id is None:
            return "—"
        return self.org_names.get(org_id, org_id)

    @functools.cached_property
    def circle_names(self) -> dict[str, str]:
        return {c.id: c.name for c in self.hub.accounts.list_circles()}

    # -- answers --------------------------------------------------------------------------

    def _(self, message: str, **values: Any) -> str:
        return self.t.gettext(message, **values)

    def render(self, template: str, *, status: int = 200, **values: Any) -> HTMLResponse:
        t = self.t
        html = self.ui.env.get_template(template).render(
            _=t.gettext,
            ngettext=t.ngettext,
            t=t,
            ctx=self,
            principal=self.principal,
            csrf=self.session.csrf,
            flash=self.session.pop_flash(),
            path=self.request.url.path,
            here=self._here(),
            hub_title=self.hub.settings.hub_title,
            **values,
        )
        response = HTMLResponse(html, status_code=status, headers={"Content-Language": t.lang})
        self.ui.codec.save(self.session, response)
        return response

    def _here(self) -> str:
        url = self.request.url
        return url.path + ("?" + url.query if url.query else "")

    def redirect(self, url: str, *, flash: str | None = None) -> Response:
        if flash is not None:
            self.session.set_flash(flash)
        response = RedirectResponse(url, status_code=303)
        self.ui.codec.save(self.session, response)
        return response


def get_context(request: Request) -> Context:
    ui: Ui = request.app.state.ui
    context = Context(request, ui)
    request.state.ui_context = context
    return context


Ctx = Annotated[Context, Depends(get_context)]
