"""Peer hubs (administrators only): the list with each peer's status, adding a peer (its sync key shown once), a
peer with its checkpoints and runs, and syncing now, enabling, disabling and removing peers — over
``ribat.federation.Federation``, the same service as ``/api/v1/peers`` (docs/federation.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ribat.accounts import NewApiKey, Principal
from ribat.clock import parse_timestamp_us
from ribat.errors import ConflictError, NotFoundError, ValidationError
from ribat.federation import Direction, Federation, Peer, PeerStatus, RunStatus, Stream, parse_pairs
from ribat.intel import Tlp
from ribat.intel.boundary import HIGHEST_CEILING
from ribat.web.api.federation import federation_of
from ribat.web.ui.context import Context, Ctx
from ribat.web.ui.i18n import N_
from ribat.web.ui.pages_formats import Problem

__all__ = ["DIRECTIONS", "RUN_STATUSES", "STREAMS", "router"]

router = APIRouter(include_in_schema=False)

RUNS_PER_PAGE = 20

DIRECTIONS: dict[str, str] = {
    Direction.PULL: N_("Pull from the peer"),
    Direction.PUSH: N_("Push to the peer"),
    Direction.BOTH: N_("Pull and push"),
    Direction.SERVE: N_("Serve only (the peer pulls and pushes)"),
}
assert set(DIRECTIONS) == {d.value for d in Direction}
RUN_STATUSES: dict[str, str] = {
    RunStatus.RUNNING: N_("running"),
    RunStatus.OK: N_("succeeded"),
    RunStatus.PARTIAL: N_("partly done"),
    RunStatus.FAILED: N_("failed"),
    RunStatus.INTERRUPTED: N_("interrupted"),
}
assert set(RUN_STATUSES) == {s.value for s in RunStatus}
STREAMS: dict[str, str] = {
    Stream.PULL_OBJECTS: N_("objects pulled"),
    Stream.PULL_TOMBSTONES: N_("deletions pulled"),
    Stream.PUSH_OBJECTS: N_("objects pushed"),
    Stream.PUSH_TOMBSTONES: N_("deletions pushed"),
}
assert set(STREAMS) == {s.value for s in Stream}
TRIGGERS: dict[str, str] = {"schedule": N_("on schedule"), "manual": N_("by hand")}
# The ceilings a policy may set: AMBER+STRICT and RED never leave the hub.
CEILINGS = [level for level in Tlp if level <= HIGHEST_CEILING]
_FIELDS = frozenset(
    {
        "name",
        "url",
        "key",
        "direction",
        "collections",
        "org",
        "circles",
        "max_tlp",
        "include_types",
        "exclude_types",
        "every",
    }
)


def _federation(ctx: Context) -> Federation:
    """The application's Federation, shared with ``/api/v1/peers``."""
    return federation_of(ctx.request)


def _tlp_code(level: Tlp) -> str:
    return level.label[4:].lower()


def _names(text: str) -> list[str]:
    return [n for n in (s.strip() for s in text.split(",")) if n]


def _problem(ctx: Context, exc: ValidationError | ConflictError | NotFoundError) -> tuple[str, Problem]:
    """The form field a domain error is about, and what to say there."""
    if isinstance(exc, ConflictError):
        return "name", Problem(
            ctx._("A peer, or the sync account of one, already has this name: %(name)s", name=exc.key)
        )
    if isinstance(exc, NotFoundError):
        if exc.kind == "collection":
            return "collections", Problem(ctx._("There is no local collection %(ref)s.", ref=exc.key))
        if exc.kind == "trust circle":
            return "circles", Problem(ctx._("There is no trust circle %(ref)s.", ref=exc.key))
        return "org", Problem(ctx._("Choose an organisation."))
    if exc.field == "interval":
        return "every", Problem(exc.reason, "en")
    if exc.field in _FIELDS:
        return exc.field, Problem(exc.reason, "en")
    return "name", Problem(f"{exc.field}: {exc.reason}", "en")


def _blank_form() -> dict[str, str]:
    return {
        "name": "",
        "url": "",
        "direction": Direction.PULL.value,
        "collections": "",
        "org": "",
        "max_tlp": "green",
        "include_types": "",
        "exclude_types": "",
        "every": "300",
    }


def _peers_page(
    ctx: Context,
    principal: Principal,
    *,
    form: dict[str, str] | None = None,
    chosen_circles: list[str] | None = None,
    errors: dict[str, Problem] | None = None,
    added: tuple[Peer, NewApiKey] | None = None,
    status: int = 200,
) -> Response:
    statuses = _federation(ctx).statuses(by=principal)
    response = ctx.render(
        "peers.html",
        status=status,
        statuses=statuses,
        directions=DIRECTIONS,
        run_statuses=RUN_STATUSES,
        collections=ctx.hub.intel.all_collections(),
        orgs=ctx.hub.accounts.list_orgs(),
        circles=ctx.hub.accounts.list_circles(),
        ceilings=CEILINGS,
        tlp_code=_tlp_code,
        form=form or _blank_form(),
        chosen_circles=chosen_circles or [],
        errors=errors or {},
        added=added,
    )
    if added is not None:
        response.headers["Cache-Control"] = "no-store"  # the sync key is in the page
    return response


@router.get("/peers")
def peers_page(ctx: Ctx) -> Response:
    return _peers_page(ctx, ctx.admin())


@router.post("/peers")
def add_peer(
    ctx: Ctx,
    name: Annotated[str, Form()] = "",
    url: Annotated[str, Form()] = "",
    key: Annotated[str, Form()] = "",
    direction: Annotated[str, Form()] = "",
    collections: Annotated[str, Form()] = "",
    org: Annotated[str, Form()] = "",
    circles: Annotated[list[str], Form()] = [],  # noqa: B006  (FastAPI copies defaults)
    max_tlp: Annotated[str, Form()] = "green",
    include_types: Annotated[str, Form()] = "",
    exclude_types: Annotated[str, Form()] = "",
    every: Annotated[str, Form()] = "300",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    principal = ctx.admin()
    ctx.check_csrf(csrf_token)
    # The key the peer gave is not sent back into the page.
    form = {
        "name": name,
        "url": url,
        "direction": direction,
        "collections": collections,
        "org": org,
        "max_tlp": max_tlp,
        "include_types": include_types,
        "exclude_types": exclude_types,
        "every": every,
    }
    try:
        if not org:
            raise NotFoundError("organisation", "")
        try:
            seconds = int(every.strip())
        except ValueError:
            raise ValidationError("every", "must be a whole number of seconds") from None
        try:
            ceiling = Tlp.parse(max_tlp)
        except ValueError:
            raise ValidationError("max_tlp", f"{max_tlp!r} is not a TLP level") from None
        added = _federation(ctx).add(
            name,
            url,
            direction=direction,
            pairs=parse_pairs([collections]),
            org=org,
            key=key.strip() or None,
            circles=circles,
            max_tlp=ceiling,
            include_types=_names(include_types),
            exclude_types=_names(exclude_types),
            interval_seconds=seconds,
            by=principal,
        )
    except (ValidationError, ConflictError, NotFoundError) as exc:
        field, problem = _problem(ctx, exc)
        return _peers_page(ctx, principal, form=form, chosen_circles=circles, errors={field: problem}, status=400)
    return _peers_page(ctx, principal, added=added)


def _position_us(stream: str, cursor: str) -> int | None:
    """When a checkpoint stands (for showing it): a timestamp, microseconds, or ``<deleted_us>:<pk>``."""
    try:
        if stream == Stream.PULL_OBJECTS:
            return parse_timestamp_us(cursor)
        return int(cursor.partition(":")[0])
    except ValueError:
        return None


def _peer_view(ctx: Context, principal: Principal, status: PeerStatus, *, page: int = 1) -> Response:
    fed = _federation(ctx)
    peer = status.peer
    page = max(page, 1)
    runs = fed.runs(peer.id, limit=RUNS_PER_PAGE + 1, offset=(page - 1) * RUNS_PER_PAGE, by=principal)
    checkpoints = [
        (local, remote, stream, cursor, _position_us(stream, cursor))
        for (local, remote, stream), cursor in sorted(fed.cursors(peer.id, by=principal).items())
    ]
    sync_user = None
    if peer.sync_user_id is not None:
        try:
            sync_user = ctx.hub.accounts.get_user(peer.sync_user_id)
        except NotFoundError:
            sync_user = None
    return ctx.render(
        "peer.html",
        status=200,
        s=status,
        peer=peer,
        runs=runs[:RUNS_PER_PAGE],
        page=page,
        more=len(runs) > RUNS_PER_PAGE,
        checkpoints=checkpoints,
        sync_user=sync_user,
        titles={c.id: c.title for c in ctx.hub.intel.all_collections()},
        peer_circles=[c.name for c in ctx.hub.accounts.list_circles() if peer.org_id in c.member_org_ids],
        directions=DIRECTIONS,
        run_statuses=RUN_STATUSES,
        streams=STREAMS,
        triggers=TRIGGERS,
    )


@router.get("/peers/{peer_ref}")
def peer_page(ctx: Ctx, peer_ref: str, page: int = 1) -> Response:
    principal = ctx.admin()
    return _peer_view(ctx, principal, _federation(ctx).status(peer_ref, by=principal), page=page)


@router.post("/peers/{peer_ref}/sync")
async def sync_peer(
    ctx: Ctx, peer_ref: str, back: Annotated[str, Form()] = "", csrf_token: Annotated[str, Form()] = ""
) -> Response:
    """Sync now; the run talks to the peer over the network, so it runs in the thread pool."""
    principal = ctx.admin()
    ctx.check_csrf(csrf_token)
    fed = _federation(ctx)
    peer = await run_in_threadpool(fed.get, peer_ref, by=principal)
    here = "/peers" if back == "list" else f"/peers/{peer.name}"
    if peer.direction is Direction.SERVE:
        return ctx.redirect(here, flash=ctx._("This hub only serves this peer: the peer starts every sync."))
    try:
        run = await run_in_threadpool(fed.run, peer.id, by=principal)
    except ConflictError:
        return ctx.redirect(here, flash=ctx._("This peer is already being synced. Try again later."))
    flash = ctx._(
        "Sync with %(name)s finished (%(status)s): %(pulled)s pulled, %(pushed)s pushed, %(already)s already held, "
        "%(echoes)s echoes left out, %(rejected)s refused, %(deleted)s deleted.",
        name=peer.name,
        status=ctx._(RUN_STATUSES.get(run.status, run.status)),
        pulled=ctx.t.number(run.pulled),
        pushed=ctx.t.number(run.pushed),
        already=ctx.t.number(run.already),
        echoes=ctx.t.number(run.echoes),
        rejected=ctx.t.number(run.rejected),
        deleted=ctx.t.number(run.deleted),
    )
    return ctx.redirect(here, flash=flash)


@router.post("/peers/{peer_ref}/enabled")
def enable_peer(
    ctx: Ctx, peer_ref: str, enabled: Annotated[str, Form()] = "", csrf_token: Annotated[str, Form()] = ""
) -> Response:
    principal = ctx.admin()
    ctx.check_csrf(csrf_token)
    if enabled not in ("0", "1"):
        raise ValidationError("enabled", "must be 1 or 0")
    peer = _federation(ctx).update(peer_ref, enabled=enabled == "1", by=principal)
    message = (
        N_("Scheduled syncs with %(name)s are on.") if peer.enabled else N_("Scheduled syncs with %(name)s are off.")
    )
    return ctx.redirect(f"/peers/{peer.name}", flash=ctx._(message, name=peer.name))


@router.post("/peers/{peer_ref}/remove")
def remove_peer(ctx: Ctx, peer_ref: str, csrf_token: Annotated[str, Form()] = "") -> Response:
    principal = ctx.admin()
    ctx.check_csrf(csrf_token)
    peer = _federation(ctx).remove(peer_ref, by=principal)
    return ctx.redirect(
        "/peers",
        flash=ctx._(
            "Peer %(name)s removed; its sync account is switched off and what it synced stays.", name=peer.name
        ),
    )
