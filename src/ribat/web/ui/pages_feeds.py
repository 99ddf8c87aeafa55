"""Scheduled feeds: the list with each feed's last run, a feed with its runs, and (for writers)
defining, running, enabling, disabling and removing feeds — over ``ribat.feeds.Feeds``, the
same service as ``/api/v1/feeds`` (docs/feeds.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from starlette.responses import Response

from ribat.accounts import Principal, Role
from ribat.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from ribat.feeds import Credentials, Feed, FeedKind, Feeds, RunStatus, RunTrigger
from ribat.intel import Tlp
from ribat.web.ui.context import Context, Ctx
from ribat.web.ui.i18n import N_
from ribat.web.ui.pages_formats import Problem

__all__ = ["FEED_KINDS", "RUN_STATUSES", "TRIGGERS", "router"]

router = APIRouter(include_in_schema=False)

RUNS_PER_PAGE = 20

FEED_KINDS: dict[str, str] = {
    FeedKind.TAXII: N_("TAXII 2.1 collection"),
    FeedKind.MISP_FEED: N_("MISP feed (URL or directory)"),
    FeedKind.CSV: N_("CSV document at a URL"),
    FeedKind.TEXT: N_("List of indicators at a URL"),
    FeedKind.DIRECTORY: N_("Directory of STIX files on the hub"),
}
assert set(FEED_KINDS) == {k.value for k in FeedKind}
RUN_STATUSES: dict[str, str] = {
    RunStatus.RUNNING: N_("running"),
    RunStatus.OK: N_("succeeded"),
    RunStatus.PARTIAL: N_("partly done"),
    RunStatus.ERROR: N_("stopped by an error"),
}
assert set(RUN_STATUSES) == {s.value for s in RunStatus}
TRIGGERS: dict[str, str] = {
    RunTrigger.SCHEDULE: N_("on schedule"),
    RunTrigger.MANUAL: N_("by hand"),
}
_FIELDS = frozenset({"name", "kind", "source", "collection", "user", "every", "tlp", "tags", "mapping", "credentials"})


def _feeds(ctx: Context) -> Feeds:
    """The application's feeds service (made once; its HTTP client is reused, also by the API)."""
    state = ctx.request.app.state
    feeds: Feeds | None = getattr(state, "feeds", None)
    if feeds is None:
        feeds = Feeds.for_hub(ctx.hub)
        state.feeds = feeds
    return feeds


def _problem(ctx: Context, exc: ValidationError | ConflictError | PermissionDeniedError) -> tuple[str, Problem]:
    if isinstance(exc, ConflictError):
        return "name", Problem(ctx._("A feed with this name already exists: %(name)s", name=exc.key))
    if isinstance(exc, PermissionDeniedError):
        field = "source" if "local files" in exc.target else "user"
        return field, Problem(exc.message, "en")
    if exc.field in _FIELDS:
        return exc.field, Problem(exc.reason, "en")
    return "name", Problem(f"{exc.field}: {exc.reason}", "en")


def _blank_form(principal: Principal, collections: list[str]) -> dict[str, str]:
    return {
        "name": "",
        "kind": FeedKind.TAXII.value,
        "source": "",
        "collection": collections[0] if collections else "",
        "user": principal.user.id,
        "every": "60",
        "tlp": "",
        "tags": "",
        "mapping": "",
        "api_key": "",
        "username": "",
    }


def _feeds_page(
    ctx: Context,
    principal: Principal,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, Problem] | None = None,
    status: int = 200,
) -> Response:
    feeds = _feeds(ctx).list(by=principal)
    collections = ctx.ui.workspace.writable(principal)
    may_define = principal.user.role.can_write and bool(collections)
    users = []
    if principal.user.role is Role.ADMIN:
        users = [u for u in ctx.hub.accounts.list_users() if u.is_active and u.role.can_write]
    return ctx.render(
        "feeds.html",
        status=status,
        feeds=feeds,
        titles={c.id: c.title for c in ctx.hub.intel.all_collections()},
        kinds=FEED_KINDS,
        statuses=RUN_STATUSES,
        may_define=may_define,
        collections=collections,
        users=users,
        levels=list(Tlp),
        tlp_code=lambda level: level.label[4:].lower(),
        form=form or _blank_form(principal, [c.id for c in collections]),
        errors=errors or {},
    )


@router.get("/feeds")
def feeds_page(ctx: Ctx) -> Response:
    return _feeds_page(ctx, ctx.user())


def _mapping(text: str) -> dict[str, str]:
    """``value=host,confidence=score`` → a mapping (the form's text field)."""
    mapping: dict[str, str] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        key, sep, column = part.partition("=")
        if not sep or not key.strip() or not column.strip():
            raise ValidationError("mapping", f"{part.strip()!r}: use FIELD=COLUMN, e.g. value=host,confidence=score")
        mapping[key.strip()] = column.strip()
    return mapping


@router.post("/feeds")
def add_feed(
    ctx: Ctx,
    name: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "",
    source: Annotated[str, Form()] = "",
    collection: Annotated[str, Form()] = "",
    user: Annotated[str, Form()] = "",
    every: Annotated[str, Form()] = "60",
    tlp: Annotated[str, Form()] = "",
    tags: Annotated[str, Form()] = "",
    mapping: Annotated[str, Form()] = "",
    api_key: Annotated[str, Form()] = "",
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    principal = ctx.user()
    ctx.check_csrf(csrf_token)
    # The secrets are not sent back into the page.
    form = {
        "name": name,
        "kind": kind,
        "source": source,
        "collection": collection,
        "user": user,
        "every": every,
        "tlp": tlp,
        "tags": tags,
        "mapping": mapping,
        "api_key": "",
        "username": username,
    }
    try:
        try:
            minutes = int(every.strip())
        except ValueError:
            raise ValidationError("every", "must be a whole number of minutes") from None
        credentials = None
        if api_key or username or password:
            credentials = Credentials(api_key=api_key or None, username=username or None, password=password or None)
        feed = _feeds(ctx).add(
            name,
            kind=kind,
            source=source,
            collection=collection,
            user=user if user and principal.user.role is Role.ADMIN else principal.user.id,
            every=minutes,
            tlp=tlp or None,
            tags=[t for t in (s.strip() for s in tags.split(",")) if t],
            mapping=_mapping(mapping) if kind == FeedKind.CSV else None,
            credentials=credentials,
            by=principal,
        )
    except (ValidationError, ConflictError, PermissionDeniedError) as exc:
        field, problem = _problem(ctx, exc)
        return _feeds_page(ctx, principal, form=form, errors={field: problem}, status=400)
    return ctx.redirect(f"/feeds/{feed.id}", flash=ctx._("Feed %(name)s defined.", name=feed.name))


def _feed_view(ctx: Context, principal: Principal, feed: Feed, *, page: int = 1) -> Response:
    page = max(page, 1)
    runs = _feeds(ctx).runs(feed.id, RUNS_PER_PAGE + 1, (page - 1) * RUNS_PER_PAGE, by=principal)
    owner_name = feed.owner_user_id
    try:
        owner = ctx.hub.accounts.get_user(feed.owner_user_id)
        owner_name = owner.name or owner.email
    except NotFoundError:
        pass
    title = {c.id: c.title for c in ctx.hub.intel.all_collections()}.get(feed.collection_id, feed.collection_id)
    return ctx.render(
        "feed.html",
        feed=feed,
        runs=runs[:RUNS_PER_PAGE],
        page=page,
        more=len(runs) > RUNS_PER_PAGE,
        owner_name=owner_name,
        collection_title=title,
        kinds=FEED_KINDS,
        statuses=RUN_STATUSES,
        triggers=TRIGGERS,
        may_manage=principal.user.role.can_write,
    )


@router.get("/feeds/{feed_id}")
def feed_page(ctx: Ctx, feed_id: str, page: int = 1) -> Response:
    principal = ctx.user()
    feed = _feeds(ctx).get(feed_id, by=principal)
    return _feed_view(ctx, principal, feed, page=page)


@router.post("/feeds/{feed_id}/run")
def run_feed(ctx: Ctx, feed_id: str, csrf_token: Annotated[str, Form()] = "") -> Response:
    principal = ctx.user()
    ctx.check_csrf(csrf_token)
    feeds = _feeds(ctx)
    feed = feeds.get(feed_id, by=principal)
    try:
        run = feeds.run(feed.id, by=principal)
    except ConflictError:
        return ctx.redirect(f"/feeds/{feed.id}", flash=ctx._("This feed is already running. Try again later."))
    flash = ctx._(
        "Run finished (%(status)s): %(fetched)s fetched, %(stored)s stored, %(merged)s merged, %(failed)s failed.",
        status=ctx._(RUN_STATUSES.get(run.status, run.status)),
        fetched=ctx.t.number(run.fetched),
        stored=ctx.t.number(run.stored),
        merged=ctx.t.number(run.merged),
        failed=ctx.t.number(run.failed),
    )
    return ctx.redirect(f"/feeds/{feed.id}", flash=flash)


@router.post("/feeds/{feed_id}/enabled")
def enable_feed(
    ctx: Ctx, feed_id: str, enabled: Annotated[str, Form()] = "", csrf_token: Annotated[str, Form()] = ""
) -> Response:
    principal = ctx.user()
    ctx.check_csrf(csrf_token)
    if enabled not in ("0", "1"):
        raise ValidationError("enabled", "must be 1 or 0")
    feeds = _feeds(ctx)
    feed = feeds.enable(feed_id, by=principal) if enabled == "1" else feeds.disable(feed_id, by=principal)
    message = N_("Feed %(name)s enabled.") if feed.enabled else N_("Feed %(name)s disabled.")
    return ctx.redirect(f"/feeds/{feed.id}", flash=ctx._(message, name=feed.name))


@router.post("/feeds/{feed_id}/remove")
def remove_feed(ctx: Ctx, feed_id: str, csrf_token: Annotated[str, Form()] = "") -> Response:
    principal = ctx.user()
    ctx.check_csrf(csrf_token)
    feed = _feeds(ctx).remove(feed_id, by=principal)
    return ctx.redirect("/feeds", flash=ctx._("Feed %(name)s removed; what it imported stays.", name=feed.name))
