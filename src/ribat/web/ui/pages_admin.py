"""Administration (admins only): organisations, users and their keys, trust circles, collections."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from starlette.responses import Response

from ribat.accounts import OrgKind, Role
from ribat.errors import ConflictError, NotFoundError, ValidationError
from ribat.intel import Grant, Tlp
from ribat.web.ui.context import Context, Ctx
from ribat.web.ui.i18n import N_

__all__ = ["router"]

router = APIRouter(prefix="/admin", include_in_schema=False)

ORG_KINDS = {
    OrgKind.NATIONAL_CERT: N_("National CERT"),
    OrgKind.SECTOR_CERT: N_("Sector CERT"),
    OrgKind.GOVERNMENT: N_("Government"),
    OrgKind.SECRETARIAT: N_("Secretariat"),
    OrgKind.PARTNER: N_("Partner"),
}
ROLES = {
    Role.ADMIN: N_("Administrator"),
    Role.ANALYST: N_("Analyst"),
    Role.READER: N_("Reader"),
    Role.SYNC: N_("Peer hub (sync)"),
}


def _problem(ctx: Context, exc: ValidationError | ConflictError) -> str:
    if isinstance(exc, ConflictError):
        return ctx._("This already exists: %(key)s", key=exc.key)
    return ctx._("Not accepted (%(field)s): %(reason)s", field=exc.field, reason=exc.reason)


# -- organisations -------------------------------------------------------------------------------


def _orgs_page(ctx: Context, *, status: int = 200, error: str | None = None) -> Response:
    return ctx.render("admin/orgs.html", status=status, orgs=ctx.hub.accounts.list_orgs(), kinds=ORG_KINDS, error=error)


@router.get("/organisations")
def orgs(ctx: Ctx) -> Response:
    ctx.admin()
    return _orgs_page(ctx)


@router.post("/organisations")
def create_org(
    ctx: Ctx,
    name: Annotated[str, Form()] = "",
    short_name: Annotated[str, Form()] = "",
    country: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "national-cert",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    ctx.admin()
    ctx.check_csrf(csrf_token)
    try:
        org = ctx.hub.accounts.create_org(name, short_name, country, kind)
    except (ValidationError, ConflictError) as exc:
        return _orgs_page(ctx, status=400, error=_problem(ctx, exc))
    return ctx.redirect("/admin/organisations", flash=ctx._("Organisation %(name)s created.", name=org.short_name))


# -- users and keys ------------------------------------------------------------------------------


def _users_page(ctx: Context, *, status: int = 200, error: str | None = None) -> Response:
    return ctx.render(
        "admin/users.html",
        status=status,
        users=ctx.hub.accounts.list_users(),
        orgs=ctx.hub.accounts.list_orgs(),
        roles=ROLES,
        error=error,
    )


@router.get("/users")
def users(ctx: Ctx) -> Response:
    ctx.admin()
    return _users_page(ctx)


@router.post("/users")
def create_user(
    ctx: Ctx,
    email: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    org: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "analyst",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    ctx.admin()
    ctx.check_csrf(csrf_token)
    try:
        user = ctx.hub.accounts.create_user(email, org, role, name=name or None, password=password or None)
    except (ValidationError, ConflictError) as exc:
        return _users_page(ctx, status=400, error=_problem(ctx, exc))
    except NotFoundError:
        return _users_page(ctx, status=400, error=ctx._("Choose an organisation."))
    return ctx.redirect(f"/admin/users/{user.id}", flash=ctx._("User %(email)s created.", email=user.email))


@router.get("/users/{user_id}")
def user_detail(ctx: Ctx, user_id: str) -> Response:
    ctx.admin()
    user = ctx.hub.accounts.get_user(user_id)
    return ctx.render("admin/user.html", user=user, keys=ctx.hub.accounts.list_keys(user.id), roles=ROLES, new_key=None)


@router.post("/users/{user_id}/active")
def set_active(
    ctx: Ctx, user_id: str, active: Annotated[str, Form()] = "", csrf_token: Annotated[str, Form()] = ""
) -> Response:
    principal = ctx.admin()
    ctx.check_csrf(csrf_token)
    user = ctx.hub.accounts.get_user(user_id)
    if user.id == principal.user.id:
        return ctx.redirect(f"/admin/users/{user.id}", flash=ctx._("You cannot disable your own account."))
    ctx.hub.accounts.set_active(user.id, active == "1")
    return ctx.redirect(f"/admin/users/{user.id}", flash=ctx._("Saved."))


@router.post("/users/{user_id}/keys")
def create_user_key(
    ctx: Ctx, user_id: str, name: Annotated[str, Form()] = "", csrf_token: Annotated[str, Form()] = ""
) -> Response:
    ctx.admin()
    ctx.check_csrf(csrf_token)
    user = ctx.hub.accounts.get_user(user_id)
    new_key = ctx.hub.accounts.create_key(user.id, name.strip() or "admin")
    response = ctx.render(
        "admin/user.html", user=user, keys=ctx.hub.accounts.list_keys(user.id), roles=ROLES, new_key=new_key
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/keys/{key_id}/revoke")
def revoke_key(ctx: Ctx, key_id: str, csrf_token: Annotated[str, Form()] = "") -> Response:
    ctx.admin()
    ctx.check_csrf(csrf_token)
    key = ctx.hub.accounts.revoke_key(key_id)
    return ctx.redirect(
        f"/admin/users/{key.user_id}", flash=ctx._("Key %(prefix)s has been revoked.", prefix=key.prefix)
    )


# -- trust circles -------------------------------------------------------------------------------


def _circles_page(ctx: Context, *, status: int = 200, error: str | None = None) -> Response:
    return ctx.render(
        "admin/circles.html",
        status=status,
        circles=ctx.hub.accounts.list_circles(),
        orgs=ctx.hub.accounts.list_orgs(),
        error=error,
    )


@router.get("/circles")
def circles(ctx: Ctx) -> Response:
    ctx.admin()
    return _circles_page(ctx)


@router.post("/circles")
def create_circle(
    ctx: Ctx,
    name: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    ctx.admin()
    ctx.check_csrf(csrf_token)
    try:
        circle = ctx.hub.accounts.create_circle(name, description)
    except (ValidationError, ConflictError) as exc:
        return _circles_page(ctx, status=400, error=_problem(ctx, exc))
    return ctx.redirect("/admin/circles", flash=ctx._("Trust circle %(name)s created.", name=circle.name))


@router.post("/circles/{circle_id}/members")
def add_member(
    ctx: Ctx, circle_id: str, org: Annotated[str, Form()] = "", csrf_token: Annotated[str, Form()] = ""
) -> Response:
    ctx.admin()
    ctx.check_csrf(csrf_token)
    ctx.hub.accounts.add_to_circle(circle_id, [org])
    return ctx.redirect("/admin/circles", flash=ctx._("Saved."))


@router.post("/circles/{circle_id}/members/{org_id}/remove")
def remove_member(ctx: Ctx, circle_id: str, org_id: str, csrf_token: Annotated[str, Form()] = "") -> Response:
    ctx.admin()
    ctx.check_csrf(csrf_token)
    ctx.hub.accounts.remove_from_circle(circle_id, org_id)
    return ctx.redirect("/admin/circles", flash=ctx._("Saved."))


# -- collections ---------------------------------------------------------------------------------


def _collections_page(ctx: Context, *, status: int = 200, error: str | None = None) -> Response:
    principal = ctx.admin()
    collections = ctx.hub.intel.all_collections()
    counts = {c.id: ctx.ui.workspace.visible_count(principal, c.id) for c in collections}
    return ctx.render(
        "admin/collections.html",
        status=status,
        collections=collections,
        counts=counts,
        orgs=ctx.hub.accounts.list_orgs(),
        circles=ctx.hub.accounts.list_circles(),
        levels=list(Tlp),
        error=error,
    )


@router.get("/collections")
def collections(ctx: Ctx) -> Response:
    ctx.admin()
    return _collections_page(ctx)


def _grant(ctx: Context, target: str, access: str) -> Grant | None:
    """``community``, ``org:<id>`` or ``circle:<id>`` with ``read`` or ``write`` access."""
    if not target or access not in ("read", "write"):
        return None
    kind, _, ref = target.partition(":")
    if kind == "community":
        return Grant("community", "", True, access == "write")
    if kind == "org":
        return Grant("org", ctx.hub.accounts.get_org(ref).id, True, access == "write")
    if kind == "circle":
        return Grant("circle", ctx.hub.accounts.get_circle(ref).id, True, access == "write")
    raise ValidationError("grant", f"unknown grant target {target!r}")


@router.post("/collections")
def create_collection(
    ctx: Ctx,
    title: Annotated[str, Form()] = "",
    alias: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    default_tlp: Annotated[str, Form()] = "amber",
    owner: Annotated[str, Form()] = "",
    grant: Annotated[str, Form()] = "",
    access: Annotated[str, Form()] = "read",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    ctx.admin()
    ctx.check_csrf(csrf_token)
    try:
        level = Tlp.parse(default_tlp)
        found = _grant(ctx, grant, access)
        collection = ctx.hub.intel.create_collection(
            title,
            description=description,
            alias=alias.strip() or None,
            default_tlp=level,
            owner_org_id=ctx.hub.accounts.get_org(owner).id if owner else None,
            grants=[found] if found else [],
        )
    except ValueError:
        return _collections_page(ctx, status=400, error=ctx._("Choose a TLP level."))
    except (ValidationError, ConflictError) as exc:
        return _collections_page(ctx, status=400, error=_problem(ctx, exc))
    return ctx.redirect("/admin/collections", flash=ctx._("Collection %(title)s created.", title=collection.title))


@router.post("/collections/{collection_id}/grants")
def add_grant(
    ctx: Ctx,
    collection_id: str,
    grant: Annotated[str, Form()] = "",
    access: Annotated[str, Form()] = "read",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    ctx.admin()
    ctx.check_csrf(csrf_token)
    collection = next((c for c in ctx.hub.intel.all_collections() if c.id == collection_id), None)
    if collection is None:
        raise NotFoundError("collection", collection_id)
    found = _grant(ctx, grant, access)
    if found is not None:
        kept = [
            g
            for g in collection.grants
            if (g.principal_kind, g.principal_id) != (found.principal_kind, found.principal_id)
        ]
        ctx.hub.intel.set_grants(collection.id, [*kept, found])
    return ctx.redirect("/admin/collections", flash=ctx._("Saved."))


@router.post("/collections/{collection_id}/grants/remove")
def remove_grant(
    ctx: Ctx,
    collection_id: str,
    kind: Annotated[str, Form()] = "",
    principal_id: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    ctx.admin()
    ctx.check_csrf(csrf_token)
    collection = next((c for c in ctx.hub.intel.all_collections() if c.id == collection_id), None)
    if collection is None:
        raise NotFoundError("collection", collection_id)
    kept = [g for g in collection.grants if (g.principal_kind, g.principal_id) != (kind, principal_id)]
    ctx.hub.intel.set_grants(collection.id, kept)
    return ctx.redirect("/admin/collections", flash=ctx._("Saved."))
