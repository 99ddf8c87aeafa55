"""Signing in and out, the language switcher, and the user's own account: password and API keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from starlette.responses import Response

from ribat.errors import AuthenticationError, RateLimitedError, ValidationError
from ribat.web.ui.context import Ctx, client_of, safe_next
from ribat.web.ui.i18n import LANGUAGES

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/login")
def login_page(ctx: Ctx, next: str = "/") -> Response:
    if ctx.principal is not None:
        return ctx.redirect(safe_next(next))
    return ctx.render("login.html", next=safe_next(next), email="", error=None)


@router.post("/login")
def login(
    ctx: Ctx,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    ctx.check_csrf(csrf_token)
    limiter = ctx.ui.login_limiter
    client = client_of(ctx.request)
    wait = limiter.retry_after(client)
    if wait:
        error = ctx._("Too many failed attempts. Try again in %(seconds)s seconds.", seconds=ctx.t.number(wait))
        response = ctx.render("login.html", status=429, next=safe_next(next), email=email, error=error)
        response.headers["Retry-After"] = str(wait)
        return response
    try:
        principal = ctx.hub.accounts.authenticate_password(email, password)
    except RateLimitedError:
        raise
    except AuthenticationError:
        limiter.failed(client)
        error = ctx._("Wrong email or password, or the account is disabled.")
        return ctx.render("login.html", status=401, next=safe_next(next), email=email, error=error)
    limiter.succeeded(client)
    ctx.session.sign_in(principal.user.id)
    return ctx.redirect(safe_next(next))


@router.post("/logout")
def logout(ctx: Ctx, csrf_token: Annotated[str, Form()] = "") -> Response:
    ctx.check_csrf(csrf_token)
    ctx.session.sign_out()
    return ctx.redirect("/login", flash=ctx._("You have signed out."))


@router.post("/language")
def language(
    ctx: Ctx,
    lang: Annotated[str, Form()] = "en",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    ctx.check_csrf(csrf_token)
    if lang not in LANGUAGES:
        raise ValidationError("lang", f"must be one of {', '.join(LANGUAGES)}")
    ctx.session.lang = lang
    ctx.session.changed = True
    if ctx.principal is not None:
        ctx.hub.accounts.set_locale(ctx.principal.user.id, lang)
    return ctx.redirect(safe_next(next))


@router.get("/account")
def account(ctx: Ctx) -> Response:
    principal = ctx.user()
    keys = ctx.hub.accounts.list_keys(principal.user.id)
    return ctx.render("account.html", keys=keys, new_key=None, error=None)


@router.post("/account/password")
def change_password(
    ctx: Ctx,
    current: Annotated[str, Form()] = "",
    new: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    principal = ctx.user()
    ctx.check_csrf(csrf_token)
    keys = ctx.hub.accounts.list_keys(principal.user.id)
    client = client_of(ctx.request)
    limiter = ctx.ui.login_limiter
    wait = limiter.retry_after(client)
    if wait:
        error = ctx._("Too many failed attempts. Try again in %(seconds)s seconds.", seconds=ctx.t.number(wait))
        return ctx.render("account.html", status=429, keys=keys, new_key=None, error=error)
    try:
        ctx.hub.accounts.authenticate_password(principal.user.email, current)
    except AuthenticationError:
        limiter.failed(client)
        error = ctx._("The current password is wrong.")
        return ctx.render("account.html", status=400, keys=keys, new_key=None, error=error)
    if new != confirm:
        error = ctx._("The two new passwords differ.")
        return ctx.render("account.html", status=400, keys=keys, new_key=None, error=error)
    try:
        ctx.hub.accounts.set_password(principal.user.id, new)
    except ValidationError:
        error = ctx._("The new password must be at least 10 characters long.")
        return ctx.render("account.html", status=400, keys=keys, new_key=None, error=error)
    ctx.session.sign_in(principal.user.id)
    return ctx.redirect("/account", flash=ctx._("Your password has been changed."))


@router.post("/account/keys")
def create_key(ctx: Ctx, name: Annotated[str, Form()] = "", csrf_token: Annotated[str, Form()] = "") -> Response:
    principal = ctx.user()
    ctx.check_csrf(csrf_token)
    new_key = ctx.hub.accounts.create_key(principal.user.id, name.strip() or "web")
    keys = ctx.hub.accounts.list_keys(principal.user.id)
    response = ctx.render("account.html", keys=keys, new_key=new_key, error=None)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/account/keys/{key_id}/revoke")
def revoke_key(ctx: Ctx, key_id: str, csrf_token: Annotated[str, Form()] = "") -> Response:
    principal = ctx.user()
    ctx.check_csrf(csrf_token)
    own = {k.id for k in ctx.hub.accounts.list_keys(principal.user.id)}
    if key_id not in own:
        from ribat.errors import NotFoundError

        raise NotFoundError("API key", key_id)
    key = ctx.hub.accounts.revoke_key(key_id)
    return ctx.redirect("/account", flash=ctx._("Key %(prefix)s has been revoked.", prefix=key.prefix))
