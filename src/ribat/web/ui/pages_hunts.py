"""Hunts: the organisation's hunts and a form that starts one over uploaded logs, and a hunt's page with its
progress (refreshed by htmx while it runs), what it found, the problems met reading the logs, the indicators
left out and what sharing the sightings did — over ``ribat.hunt.service.Hunts``, the same service as
``/api/v1/hunts`` (docs/api.md, docs/hunt-output.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ribat.accounts import Principal
from ribat.errors import NotFoundError, PermissionDeniedError, RibatError, TooLargeError, ValidationError
from ribat.hunt.readers import KINDS
from ribat.hunt.sightings import hits_from_json, to_rows
from ribat.hunt.types import HuntJob, JobStatus
from ribat.intel import Tlp
from ribat.web.api.hunts import (
    SpooledForm,
    hunt_request,
    hunts_service,
    read_spooled_form,
    results_response,
    start_hunt,
)
from ribat.web.ui.context import Context, Ctx
from ribat.web.ui.i18n import N_
from ribat.web.ui.pages_formats import Problem

__all__ = ["JOB_STATUSES", "LOG_KINDS", "SKIP_REASONS", "router"]

router = APIRouter(include_in_schema=False)

JOBS_PER_PAGE = 25

JOB_STATUSES: dict[str, str] = {
    JobStatus.QUEUED: N_("waiting to start"),
    JobStatus.RUNNING: N_("running"),
    JobStatus.DONE: N_("finished"),
    JobStatus.FAILED: N_("failed"),
}
assert set(JOB_STATUSES) == {s.value for s in JobStatus}
LOG_KINDS: dict[str, str] = {
    "": N_("Recognised from the content"),
    "zeek": N_("Zeek (tab-separated or JSON)"),
    "zeek-json": N_("Zeek JSON lines"),
    "suricata": N_("Suricata EVE JSON"),
    "stix": N_("STIX bundles or objects"),
    "jsonl": N_("Other JSON lines (with a mapping)"),
    "csv": N_("CSV with a header row (with a mapping)"),
}
assert set(LOG_KINDS) - {""} == set(KINDS)
# Why an indicator was left out of a hunt (``ribat.hunt.compile.compile_indicators``).
SKIP_REASONS: dict[str, str] = {
    "revoked": N_("revoked"),
    "expired": N_("no longer valid in the hunt's time window"),
    "not yet valid": N_("not yet valid in the hunt's time window"),
    "invalid": N_("a pattern or a time that cannot be read"),
}
_PATTERN_TYPE: Final = N_("a pattern in another language (%(kind)s)")
_FIELDS: Final = frozenset({"logs", "collection", "since", "until", "kind", "mapping", "share_to", "tlp"})
_WHERE: Final = re.compile(r"(?P<where>.*?:[0-9]+): (?P<reason>.*)", re.DOTALL)


def _tlp_code(level: Tlp) -> str:
    return level.label[4:].lower()


def _blank_form(collections: list[Any]) -> dict[str, Any]:
    return {
        "collection": [collections[0].id] if len(collections) == 1 else [],
        "since": "",
        "until": "",
        "kind": "",
        "mapping": "",
        "share_to": "",
        "tlp": "amber",
    }


def _field_of(name: str) -> str:
    if name.startswith("mapping"):
        return "mapping"
    if name in ("collection", "collections"):
        return "collection"
    return name if name in _FIELDS else "logs"


def _problem(ctx: Context, exc: RibatError) -> tuple[str, Problem]:
    """The form field a domain error is about, and what to say there."""
    if isinstance(exc, TooLargeError):
        limit = ctx.t.number(exc.limit)
        return "logs", Problem(ctx._("The logs are larger than the limit of %(limit)s bytes.", limit=limit))
    if isinstance(exc, ValidationError):
        return _field_of(exc.field), Problem(exc.reason if _field_of(exc.field) == exc.field else exc.message, "en")
    if isinstance(exc, NotFoundError) and exc.kind == "collection":
        return "collection", Problem(ctx._("There is no such collection, or you may not see it."))
    if isinstance(exc, PermissionDeniedError) and exc.action.startswith("write"):
        return "share_to", Problem(ctx._("You may not write to this collection."))
    if isinstance(exc, PermissionDeniedError) and exc.action.startswith("read"):
        return "collection", Problem(ctx._("You may not read this collection."))
    return "logs", Problem(exc.message, "en")


def _people(ctx: Context, user_ids: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for user_id in dict.fromkeys(user_ids):
        try:
            user = ctx.hub.accounts.get_user(user_id)
        except NotFoundError:
            continue
        found[user_id] = user.name or user.email
    return found


def _titles(ctx: Context) -> dict[str, str]:
    """Collection titles by id and by alias (a hunt names its collections as they were given)."""
    titles: dict[str, str] = {}
    for c in ctx.hub.intel.all_collections():
        titles[c.id] = c.title
        if c.alias:
            titles[c.alias] = c.title
    return titles


def _hunts_page(
    ctx: Context,
    principal: Principal,
    *,
    page: int = 1,
    form: dict[str, Any] | None = None,
    errors: dict[str, Problem] | None = None,
    status: int = 200,
) -> Response:
    page = max(page, 1)
    hunts = hunts_service(ctx.request)
    jobs, total = hunts.jobs(principal, limit=JOBS_PER_PAGE, offset=(page - 1) * JOBS_PER_PAGE)
    readable = ctx.ui.workspace.readable(principal)
    return ctx.render(
        "hunts.html",
        status=status,
        jobs=jobs,
        total=total,
        page=page,
        prev_url="/hunts?" + urlencode({"page": page - 1}) if page > 1 else None,
        next_url="/hunts?" + urlencode({"page": page + 1}) if page * JOBS_PER_PAGE < total else None,
        people=_people(ctx, [j.user_id for j in jobs]),
        statuses=JOB_STATUSES,
        may_start=principal.user.role.can_write and bool(readable),
        collections=readable,
        writable=ctx.ui.workspace.writable(principal),
        kinds=LOG_KINDS,
        levels=list(Tlp),
        tlp_code=_tlp_code,
        limit=hunts.max_upload_bytes,
        form=form or _blank_form(readable),
        errors=errors or {},
    )


@router.get("/hunts")
def hunts_page(ctx: Ctx, page: int = 1) -> Response:
    return _hunts_page(ctx, ctx.user(), page=page)


def _form_values(form: SpooledForm) -> dict[str, Any]:
    return {
        "collection": form.getlist("collection"),
        "since": form.get("since"),
        "until": form.get("until"),
        "kind": form.get("kind"),
        "mapping": form.get("mapping"),
        "share_to": form.get("share_to"),
        "tlp": form.get("tlp") or "amber",
    }


@router.post("/hunts")
async def start_hunt_page(request: Request, ctx: Ctx) -> Response:
    """Start a hunt from the form (multipart: ``logs`` files, ``collection`` repeated, ``since``, ``until``,
    ``kind``, ``mapping``, ``share_to``, ``tlp``, ``csrf_token``); the logs are streamed to disk."""
    principal = ctx.user()
    hunts = hunts_service(request)
    hunts.require_writer(principal)
    values: dict[str, Any] | None = None
    form: SpooledForm | None = None
    try:
        form = await read_spooled_form(request, directory=hunts.directory, limit=hunts.max_upload_bytes)
        ctx.check_csrf(form.get("csrf_token"))
        values = _form_values(form)
        asked = hunt_request(
            collections=values["collection"],
            since=values["since"],
            until=values["until"],
            kind=values["kind"],
            mapping=values["mapping"],
            share_to=values["share_to"],
            tlp=values["tlp"],
        )
        job = await run_in_threadpool(start_hunt, hunts, principal, form, asked)
    except (ValidationError, TooLargeError, NotFoundError, PermissionDeniedError) as exc:
        field, problem = _problem(ctx, exc)
        status = 413 if isinstance(exc, TooLargeError) else 400
        return await run_in_threadpool(
            lambda: _hunts_page(ctx, principal, form=values, errors={field: problem}, status=status)
        )
    finally:
        if form is not None:
            await run_in_threadpool(form.close)
    return ctx.redirect(f"/hunts/{job.id}", flash=ctx._("The hunt has started."))


@dataclass(frozen=True)
class _Line:
    """A problem met reading the logs: where (``file:line``, or the file) and why."""

    where: str
    reason: str


def _line(text: str) -> _Line:
    found = _WHERE.fullmatch(text)
    if found is not None:
        return _Line(found.group("where"), found.group("reason"))
    where, _, reason = text.partition(": ")
    return _Line(where, reason)


def _skipped(ctx: Context, skipped: dict[str, int]) -> list[tuple[str, int]]:
    out = []
    for reason, count in sorted(skipped.items(), key=lambda item: (-item[1], item[0])):
        if reason in SKIP_REASONS:
            label = ctx._(SKIP_REASONS[reason])
        elif reason.startswith("pattern_type "):
            label = ctx._(_PATTERN_TYPE, kind=reason.removeprefix("pattern_type "))
        else:
            label = reason
        out.append((label, count))
    return out


def _job_values(ctx: Context, job: HuntJob) -> dict[str, Any]:
    rows = to_rows(hits_from_json(job.result)) if job.status is JobStatus.DONE and job.result is not None else []
    shared = job.shared or {}
    params = job.params
    return {
        "job": job,
        "params": params,
        "active": job.status in (JobStatus.QUEUED, JobStatus.RUNNING),
        "done": job.status is JobStatus.DONE,
        "statuses": JOB_STATUSES,
        "rows": rows,
        "problems": [_line(p) for p in job.problems],
        "skipped": _skipped(ctx, job.skipped),
        "shared": shared,
        "statuses_shared": list(shared.get("statuses", [])),
        "titles": _titles(ctx),
        "kinds": LOG_KINDS,
        "levels": list(Tlp),
        "tlp_code": _tlp_code,
    }


@router.get("/hunts/{hunt_id}")
def hunt_page(ctx: Ctx, hunt_id: str) -> Response:
    principal = ctx.user()
    job = hunts_service(ctx.request).job(principal, hunt_id)
    who = _people(ctx, [job.user_id]).get(job.user_id, job.user_id)
    return ctx.render("hunt.html", who=who, **_job_values(ctx, job))


@router.get("/hunts/{hunt_id}/status")
def hunt_status(ctx: Ctx, hunt_id: str) -> Response:
    """The changing part of a hunt's page (htmx polls it while the hunt is waiting or running)."""
    principal = ctx.user()
    job = hunts_service(ctx.request).job(principal, hunt_id)
    return ctx.render("_hunt_status.html", **_job_values(ctx, job))


@router.get("/hunts/{hunt_id}/results")
def hunt_results(ctx: Ctx, hunt_id: str, format: str = "json", tlp: str = "amber") -> Response:
    """What the hunt found as a file (``format`` = ``json``, ``csv`` or ``stix``, the bundle marked ``tlp``)."""
    principal = ctx.user()
    hunts = hunts_service(ctx.request)
    return results_response(hunts, principal, hunts.job(principal, hunt_id), format, tlp)
