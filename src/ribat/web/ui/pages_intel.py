"""The intelligence workspace: dashboard, search, object detail, contribute, STIX upload."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, File, Form, UploadFile
from starlette.responses import Response

from ribat.errors import EnvelopeError, PermissionDeniedError, ValidationError
from ribat.intel import SearchSpec, Tlp
from ribat.intel.patterns import pattern_error
from ribat.intel.tlp import Decision
from ribat.intel.workspace import INDICATOR_KINDS, WEEK_US, ObjectView, indicator_pattern, make_indicator
from ribat.web.ui.charts import GraphNode, bar_chart, graph, stacked_weeks
from ribat.web.ui.context import Context, Ctx
from ribat.web.ui.i18n import N_

__all__ = ["KIND_LABELS", "REASONS", "explain_reason", "router"]

router = APIRouter(include_in_schema=False)

PER_PAGE = 25

# The policy engine's reasons (``ribat.intel.tlp.explain``), after the "TLP:X: " label.
RELATIONS: dict[str, str] = {
    "same": N_("same value"),
    "within": N_("a network containing it"),
    "contains": N_("inside this network"),
    "parent-domain": N_("parent domain"),
    "sub-domain": N_("sub-domain"),
}

REASONS: dict[str, str] = {
    "anyone who may read the collection may read it": N_("anyone who may read the collection may read it"),
    "anonymous readers see TLP:CLEAR only": N_("anonymous readers see TLP:CLEAR only"),
    "shared with every organisation of the community": N_("shared with every organisation of the community"),
    "your organisation is the author": N_("your organisation is the author"),
    "the author named your organisation as a recipient": N_("the author named your organisation as a recipient"),
    "only the author's organisation and the recipients it named": N_(
        "only the author's organisation and the recipients it named"
    ),
    "only the author's organisation": N_("only the author's organisation"),
    "you are the author": N_("you are the author"),
    "the author named you as a recipient": N_("the author named you as a recipient"),
    "only the people the author named": N_("only the people the author named"),
}
_CIRCLES_PREFIX = "the author shared it with trust circle(s) you belong to: "
_CIRCLES = N_("the author shared it with trust circle(s) you belong to: %(circles)s")

KIND_LABELS: dict[str, str] = {
    "ipv4-addr": N_("IPv4 address"),
    "ipv6-addr": N_("IPv6 address"),
    "domain-name": N_("Domain name"),
    "url": N_("URL"),
    "email-addr": N_("Email address"),
    "file-sha256": N_("File hash (SHA-256)"),
    "file-md5": N_("File hash (MD5)"),
    "pattern": N_("STIX pattern (advanced)"),
}
assert set(KIND_LABELS) == {*INDICATOR_KINDS, "pattern"}


def explain_reason(ctx: Context, decision: Decision, circle_names: dict[str, str]) -> tuple[str, str]:
    """The policy engine's reason in the page's language: (TLP label, reason)."""
    label, _, rest = decision.reason.partition(": ")
    if rest.startswith(_CIRCLES_PREFIX):
        ids = rest[len(_CIRCLES_PREFIX) :].split(", ")
        names = ", ".join(circle_names.get(i, i) for i in ids)
        return label, ctx._(_CIRCLES, circles=names)
    message = REASONS.get(rest)
    return (label, ctx._(message)) if message else ("", decision.reason)


def _day_us(text: str, field: str) -> int | None:
    if not text:
        return None
    try:
        day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise ValidationError(field, "must be a date (YYYY-MM-DD)") from None
    return int(day.timestamp()) * 1_000_000


# -- dashboard ---------------------------------------------------------------------------------


@router.get("/")
def dashboard(ctx: Ctx) -> Response:
    principal = ctx.user()
    board = ctx.ui.workspace.dashboard(principal, now_us=ctx.hub.intel.now())
    series = sorted(
        ((ctx.org_name(org), counts) for org, counts in board.per_member_week.items()),
        key=lambda s: -sum(s[1].values()),
    )
    week_starts = [w * WEEK_US for w in board.weeks]
    t = ctx.t
    charts = {
        "weeks": stacked_weeks(board.weeks, week_starts, series, t, ctx._("Objects shared per member and week")),
        "types": bar_chart(board.top_types, t, ctx._("Most shared object types")),
        "sectors": bar_chart(board.top_sectors, t, ctx._("Most named sectors")),
    }
    return ctx.render("dashboard.html", board=board, series=series, week_starts=week_starts, charts=charts)


# -- search ------------------------------------------------------------------------------------


@router.get("/search")
def search(
    ctx: Ctx,
    q: str = "",
    type: str = "",
    tlp: str = "",
    org: str = "",
    collection: str = "",
    added_from: str = "",
    added_to: str = "",
    page: int = 1,
) -> Response:
    principal = ctx.user()
    workspace = ctx.ui.workspace
    collections = workspace.readable(principal)
    error = None
    try:
        level = Tlp.parse(tlp) if tlp else None
    except ValueError:
        raise ValidationError("tlp", f"not a TLP level: {tlp!r}") from None
    to_us = _day_us(added_to, "added_to")
    spec = SearchSpec(
        text=q,
        types=(type,) if type else (),
        tlp=level,
        author_org_id=org or None,
        collection_ids=(collection,) if collection else (),
        added_from_us=_day_us(added_from, "added_from"),
        added_to_us=to_us + 24 * 3600 * 1_000_000 if to_us is not None else None,
    )
    result = workspace.search(principal, spec, page=max(1, page), per_page=PER_PAGE)
    params = {
        k: v
        for k, v in {
            "q": q,
            "type": type,
            "tlp": tlp,
            "org": org,
            "collection": collection,
            "added_from": added_from,
            "added_to": added_to,
        }.items()
        if v
    }

    def page_url(n: int) -> str:
        return "/search?" + urlencode({**params, "page": n})

    return ctx.render(
        "search.html",
        result=result,
        form=params,
        types=workspace.types(principal),
        collections=collections,
        collection_titles={c.id: c.title for c in collections},
        orgs=ctx.hub.accounts.list_orgs(),
        page_url=page_url,
        error=error,
    )


# -- object detail -------------------------------------------------------------------------------


def _graph(ctx: Context, view: ObjectView) -> Any:
    nodes = [
        GraphNode(
            label=link.other_name or link.other_id,
            kind=link.other_type,
            edge=link.relationship_type,
            outgoing=link.direction == "out",
            href=f"/objects/{link.other_id}" if link.other_name is not None else None,
        )
        for link in view.links[:24]
    ]
    return graph(view.name, nodes, ctx.t, ctx._("Relationships of %(name)s", name=view.name))


@router.get("/objects/{object_id}")
def object_detail(ctx: Ctx, object_id: str) -> Response:
    principal = ctx.user()
    view = ctx.ui.workspace.object_view(principal, object_id)
    related = ctx.hub.intel.related(principal, object_id, limit=100)
    flags = ctx.hub.intel.warninglist_flags(principal, [object_id]).get(object_id, [])
    return ctx.render(
        "object.html",
        view=view,
        related=related,
        relation_names={k: ctx._(v) for k, v in RELATIONS.items()},
        flags=flags,
        reason=explain_reason(ctx, view.decision, ctx.circle_names),
        graph=_graph(ctx, view) if view.links else None,
        raw=orjson.dumps(view.latest.body, option=orjson.OPT_INDENT_2).decode(),
        collection_titles={c.id: c.title for c in view.collections},
    )


# -- contribute ----------------------------------------------------------------------------------


def _writable(ctx: Context) -> list[Any]:
    principal = ctx.user()
    collections = ctx.ui.workspace.writable(principal)
    if not collections:
        raise PermissionDeniedError("contribute to", "any collection")
    return collections


def _contribute_page(ctx: Context, *, status: int = 200, form: dict[str, str], error: str | None) -> Response:
    return ctx.render(
        "contribute.html",
        status=status,
        collections=_writable(ctx),
        kinds=KIND_LABELS,
        form=form,
        error=error,
        check=_check(ctx, form.get("kind", "ipv4-addr"), form.get("value", "")),
    )


def _check(ctx: Context, kind: str, value: str) -> dict[str, str | None]:
    if not value.strip():
        return {"pattern": None, "error": None}
    try:
        pattern = indicator_pattern(kind, value)
    except ValidationError as exc:
        return {"pattern": None, "error": _field_reason(ctx, exc)}
    return {"pattern": pattern, "error": pattern_error(pattern)}


def _field_reason(ctx: Context, exc: ValidationError) -> str:
    if exc.reason.startswith("must be") and "hexadecimal" in exc.reason:
        digits = exc.reason.split()[2]
        return ctx._("A hash of this kind has %(digits)s hexadecimal digits.", digits=digits)
    if exc.reason == "must not be empty":
        return ctx._("Enter a value.")
    return exc.reason


@router.get("/contribute")
def contribute_page(ctx: Ctx) -> Response:
    collections = _writable(ctx)
    form = {
        "kind": "ipv4-addr",
        "value": "",
        "name": "",
        "description": "",
        "tlp": "amber",
        "collection": collections[0].id,
    }
    return _contribute_page(ctx, form=form, error=None)


@router.get("/contribute/check")
def contribute_check(ctx: Ctx, kind: str = "ipv4-addr", value: str = "") -> Response:
    ctx.user()
    return ctx.render("_pattern_check.html", check=_check(ctx, kind, value))


@router.post("/contribute")
def contribute(
    ctx: Ctx,
    kind: Annotated[str, Form()] = "ipv4-addr",
    value: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    tlp: Annotated[str, Form()] = "amber",
    collection: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    principal = ctx.user()
    ctx.check_csrf(csrf_token)
    form = {
        "kind": kind,
        "value": value,
        "name": name,
        "description": description,
        "tlp": tlp,
        "collection": collection,
    }
    try:
        level = Tlp.parse(tlp)
        indicator = make_indicator(
            kind=kind,
            value=value,
            name=name,
            description=description,
            tlp=level,
            now_us=ctx.hub.intel.now(),
            new_id=ctx.hub.intel.new_id(),
        )
    except ValueError:
        return _contribute_page(ctx, status=400, form=form, error=ctx._("Choose a TLP level."))
    except ValidationError as exc:
        return _contribute_page(ctx, status=400, form=form, error=_field_reason(ctx, exc))
    status = ctx.hub.intel.ingest(principal, collection, {"objects": [indicator]})
    if status.failures:
        reason = status.failures[0].message or ""
        return _contribute_page(
            ctx, status=400, form=form, error=ctx._("The hub refused the indicator: %(reason)s", reason=reason)
        )
    return ctx.redirect(f"/objects/{indicator['id']}", flash=ctx._("Indicator shared."))


# -- upload --------------------------------------------------------------------------------------


@router.get("/upload")
def upload_page(ctx: Ctx) -> Response:
    return ctx.render("upload.html", collections=_writable(ctx), status_resource=None, error=None)


@router.post("/upload")
def upload(
    ctx: Ctx,
    file: Annotated[UploadFile, File()],
    collection: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    principal = ctx.user()
    ctx.check_csrf(csrf_token)
    collections = _writable(ctx)
    limit = ctx.hub.settings.max_envelope_bytes
    data = file.file.read(limit + 1)
    error = None
    result = None
    if len(data) > limit:
        error = ctx._("The file is larger than the limit of %(limit)s bytes.", limit=ctx.t.number(limit))
    else:
        try:
            result = ctx.hub.intel.ingest(principal, collection, orjson.loads(data))
        except orjson.JSONDecodeError:
            error = ctx._("The file is not JSON.")
        except EnvelopeError as exc:
            error = ctx._("The file is not a STIX bundle or envelope: %(reason)s", reason=exc.reason)
    return ctx.render(
        "upload.html", status=400 if error else 200, collections=collections, status_resource=result, error=error
    )


# -- warninglist hits ----------------------------------------------------------------------------

HITS_PER_PAGE = 50


@router.get("/warninglists")
def warninglist_hits(ctx: Ctx, page: int = 1) -> Response:
    principal = ctx.user()
    page = max(page, 1)
    hits = ctx.hub.intel.flagged(principal, limit=HITS_PER_PAGE + 1, offset=(page - 1) * HITS_PER_PAGE)
    return ctx.render(
        "warninglists.html",
        hits=hits[:HITS_PER_PAGE],
        page=page,
        more=len(hits) > HITS_PER_PAGE,
        configured=ctx.hub.intel.warninglists is not None,
        list_count=len(ctx.hub.intel.warninglists.lists) if ctx.hub.intel.warninglists is not None else 0,
    )
