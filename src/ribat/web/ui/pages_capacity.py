"""Capacity assessments: the list of campaigns, a campaign's overview, answering, review, evidence and results, its
report and answers as files, and the coalition benchmark — pages over ``ribat.capacity.Assessments`` (the same
service as ``/api/v1/assessments``; docs/ui.md, docs/capacity-assessments.md).

A campaign the user may not see is "not found", exactly like a missing one: the service decides, these pages only
show what it returns. What a user may change is shown from their role in the campaign and its state, and the
service checks it again on every form.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from babel.numbers import format_percent
from fastapi import APIRouter, Form, Request
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.responses import Response

from ribat.accounts import Principal, Role
from ribat.capacity import (
    Access,
    AccessDecision,
    Answer,
    Assessment,
    Assessments,
    CampaignView,
    Evidence,
    EvidenceKind,
    EvidenceStatus,
    Indicator,
    Model,
    ModelResult,
    ParticipantRole,
    StageBenchmark,
    State,
    Text,
    Visibility,
    VisibilityScope,
    WeightedBenchmark,
    WeightedResult,
    country_name,
    localized,
)
from ribat.capacity.benchmark import Aggregate, SubjectAggregates, SubjectPosition
from ribat.capacity.report import STRENGTH_SCORE, radar_svg, weighted_gaps
from ribat.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RibatError,
    ValidationError,
)
from ribat.web.ui.charts import bar_chart
from ribat.web.ui.context import Context, Ctx
from ribat.web.ui.i18n import N_, Translator
from ribat.web.ui.pages_formats import Problem

__all__ = [
    "ACTIONS",
    "ANSWERS",
    "EVIDENCE_KINDS",
    "EVIDENCE_STATUSES",
    "REASONS",
    "ROLES",
    "SCOPES",
    "STATES",
    "router",
]

router = APIRouter(include_in_schema=False)

PER_PAGE = 25
REPORT_LANGUAGES = ("en", "ar", "fr")

STATES: dict[str, str] = {
    State.DRAFT: N_("Draft"),
    State.REVIEW: N_("In review"),
    State.FINAL: N_("Final"),
}
assert set(STATES) == {s.value for s in State}
ROLES: dict[str, str] = {
    ParticipantRole.LEAD: N_("Lead assessor"),
    ParticipantRole.REVIEWER: N_("Reviewer"),
    ParticipantRole.CONTRIBUTOR: N_("Contributor"),
    ParticipantRole.OBSERVER: N_("Observer"),
}
assert set(ROLES) == {r.value for r in ParticipantRole}
ANSWERS: dict[str, str] = {
    Answer.MET: N_("Met"),
    Answer.PARTLY_MET: N_("Partly met"),
    Answer.NOT_MET: N_("Not met"),
    Answer.UNKNOWN: N_("Unknown"),
}
assert set(ANSWERS) == {a.value for a in Answer}
SCOPES: dict[str, str] = {
    VisibilityScope.CAMPAIGN: N_("Only the campaign's participants and the assessed organisation"),
    VisibilityScope.CIRCLES: N_("Also the organisations of the trust circles chosen below"),
    VisibilityScope.ORGANISATIONS: N_("Also the organisations chosen below"),
    VisibilityScope.COALITION: N_("Every organisation of the hub"),
}
assert set(SCOPES) == {s.value for s in VisibilityScope}
EVIDENCE_KINDS: dict[str, str] = {
    EvidenceKind.LINK: N_("Link"),
    EvidenceKind.DOCUMENT: N_("Document"),
    EvidenceKind.PLATFORM: N_("Figure from the platform"),
}
assert set(EVIDENCE_KINDS) == {k.value for k in EvidenceKind}
EVIDENCE_STATUSES: dict[str, str] = {
    EvidenceStatus.PROPOSED: N_("Proposed"),
    EvidenceStatus.ACCEPTED: N_("Accepted"),
    EvidenceStatus.REJECTED: N_("Rejected"),
}
assert set(EVIDENCE_STATUSES) == {s.value for s in EvidenceStatus}
# The campaign record's actions (``Assessments._event``); an action not listed is shown as written.
ACTIONS: dict[str, str] = {
    "created": N_("Campaign created"),
    "participant": N_("Participant added or role changed"),
    "participant-removed": N_("Participant removed"),
    "target": N_("Target stage set"),
    "visibility": N_("Visibility changed"),
    "settled": N_("Consensus answers settled"),
    "state": N_("State changed"),
    "evidence": N_("Evidence from the platform proposed"),
}
# Why the viewer sees the campaign (``ribat.capacity.access.decide`` codes).
REASONS: dict[str, str] = {
    "participant": N_("You take part in this campaign as %(role)s."),
    "assessed": N_("Your organisation is the one assessed: you may read the whole campaign."),
    "coalition": N_("The assessed country shared these results with every organisation of the hub."),
    "circle": N_("The assessed country shared these results with a trust circle of yours."),
    "organisation": N_("The assessed country shared these results with your organisation."),
}
# Buttons that move a campaign (``Assessments.transition``), by the state it is in.
TRANSITIONS: dict[State, tuple[tuple[State, str], ...]] = {
    State.DRAFT: ((State.REVIEW, N_("Send to review")),),
    State.REVIEW: ((State.FINAL, N_("Make final")), (State.DRAFT, N_("Reopen the draft"))),
    State.FINAL: (),
}
TRANSITION_DONE: dict[State, str] = {
    State.REVIEW: N_("The campaign is in review: answers are closed, the consensus can be settled."),
    State.DRAFT: N_("The campaign is a draft again: participants may change their answers."),
    State.FINAL: N_("The campaign is final: its answers and results no longer change."),
}
COMPARISON_SCOPES: dict[str, str] = {
    "factor": N_("Factor"),
    "dimension": N_("Dimension"),
    "pillar": N_("Pillar"),
    "overall": N_("Overall"),
}
_NO_STAGE = N_("No stage reached")
_PROBLEM_ID = re.compile(r"^([^:\s]+): (.*)$", re.DOTALL)


# -- shared ------------------------------------------------------------------------------------


def _svc(ctx: Context) -> Assessments:
    """The application's assessments service: made once and kept on ``app.state`` (the API uses the same one)."""
    state = ctx.request.app.state
    found: Assessments | None = getattr(state, "assessments", None)
    if found is None:
        found = Assessments.for_hub(ctx.hub)
        state.assessments = found
    return found


@dataclass(frozen=True)
class _Person:
    name: str
    email: str

    @property
    def label(self) -> str:
        return f"{self.name} <{self.email}>" if self.name and self.name != self.email else self.email


def _people(ctx: Context, user_ids: Sequence[str]) -> dict[str, _Person]:
    found: dict[str, _Person] = {}
    for user_id in dict.fromkeys(user_ids):
        if not user_id:
            continue
        try:
            user = ctx.hub.accounts.get_user(user_id)
        except NotFoundError:
            found[user_id] = _Person("", user_id)
            continue
        found[user_id] = _Person(user.name, user.email)
    return found


@dataclass(frozen=True)
class _Pager:
    prev: str | None = None
    next: str | None = None

    def __bool__(self) -> bool:
        return self.prev is not None or self.next is not None


class _Words:
    """Numbers and model texts in the page's language, for the templates."""

    def __init__(self, t: Translator, model: Model | None = None) -> None:
        self.t = t
        self.model = model

    def loc(self, text: Text | None) -> str:
        return "" if text is None else localized(text, self.t.lang)

    def num(self, value: float | None, digits: int = 1) -> str:
        return "—" if value is None else self.t.number(round(value, digits))

    def pct(self, value: float | None) -> str:
        return "—" if value is None else str(format_percent(value / 100, locale=self.t.lang))

    def stage(self, level: int) -> str:
        if self.model is None or level < 1 or level > len(self.model.stages):
            return self.t.gettext(_NO_STAGE)
        return self.loc(self.model.stages[level - 1].name)

    def stage_of(self, indicator: Indicator) -> str:
        if self.model is None or indicator.stage is None:
            return ""
        return self.loc(self.model.stage(indicator.stage).name)


@dataclass(frozen=True)
class _Campaign:
    """A campaign as the signed-in user sees it: what they may see and, from their role, what they may do."""

    assessment: Assessment
    model: Model
    decision: AccessDecision
    principal: Principal

    @property
    def id(self) -> str:
        return self.assessment.id

    @property
    def full(self) -> bool:
        """The whole campaign (answers, review, evidence, record), not only its shared results."""
        return self.decision.access is Access.CAMPAIGN

    @property
    def role(self) -> ParticipantRole | None:
        mine = self.assessment.participant(self.principal.user.id)
        return None if mine is None else mine.role

    @property
    def open(self) -> bool:
        return self.assessment.state in (State.DRAFT, State.REVIEW)

    @property
    def is_lead(self) -> bool:
        return self.role is ParticipantRole.LEAD

    @property
    def may_answer(self) -> bool:
        return self.role is not None and self.role.answers and self.assessment.state is State.DRAFT

    @property
    def may_add_evidence(self) -> bool:
        return self.role is not None and self.role.answers and self.open

    @property
    def may_settle(self) -> bool:
        return self.role is not None and self.role.settles and self.assessment.state is State.REVIEW

    @property
    def may_decide_evidence(self) -> bool:
        return self.role is not None and self.role.settles and self.open

    @property
    def may_manage(self) -> bool:
        return self.is_lead and self.open

    @property
    def may_set_visibility(self) -> bool:
        user = self.principal.user
        own_org = self.principal.org.id == self.assessment.org_id and user.role in (Role.ADMIN, Role.ANALYST)
        return self.full and (own_org or self.is_lead)

    def may_remove(self, item: Evidence) -> bool:
        role = self.role
        if role is None or not self.open:
            return False
        return role.settles or (role.answers and item.added_by == self.principal.user.id)

    @property
    def base(self) -> str:
        return f"/assessments/{quote(self.id, safe='')}"


def _campaign(ctx: Context, principal: Principal, assessment_id: str) -> _Campaign:
    svc = _svc(ctx)
    found = svc.get(principal, assessment_id)  # "not found" for whoever may not see it
    return _Campaign(found, svc.model(found.model_key), svc.decision(principal, assessment_id), principal)


def _render(ctx: Context, template: str, c: _Campaign, tab: str, *, status: int = 200, **values: Any) -> Response:
    a = c.assessment
    reason = REASONS.get(c.decision.code)
    if reason is None:
        why = c.decision.reason
    elif c.decision.code == "participant" and c.role is not None:
        why = ctx._(reason, role=ctx._(ROLES[c.role]))
    else:
        why = ctx._(reason)
    return ctx.render(
        template,
        status=status,
        c=c,
        a=a,
        model=c.model,
        tab=tab,
        w=_Words(ctx.t, c.model),
        country=country_name(a.country, ctx.t.lang),
        why=why,
        states=STATES,
        roles=ROLES,
        answers=ANSWERS,
        kinds=EVIDENCE_KINDS,
        statuses=EVIDENCE_STATUSES,
        **values,
    )


def _problem(exc: RibatError) -> Problem:
    """A service's reason, in English (the pages show it as such, marked ``lang="en"``)."""
    if isinstance(exc, ValidationError):
        return Problem(exc.reason if exc.field in ("", "state") else f"{exc.field}: {exc.reason}", "en")
    return Problem(exc.message, "en")


def _local(path: str, c: _Campaign, default: str) -> str:
    """``path`` when it is a page of this campaign (where a form came from), else ``default``."""
    inside = path == c.base or path.startswith(c.base + "/") or path.startswith(c.base + "?")
    return path if inside and "//" not in path and "\\" not in path else default


# -- the list ------------------------------------------------------------------------------------


def _blank_form(principal: Principal) -> dict[str, str]:
    return {"organisation": principal.org.id, "model": "", "title": "", "lead": "", "target": ""}


def _list_page(
    ctx: Context,
    principal: Principal,
    *,
    state: str = "",
    page: int = 1,
    form: dict[str, str] | None = None,
    errors: dict[str, Problem] | None = None,
    status: int = 200,
) -> Response:
    svc = _svc(ctx)
    try:
        wanted = State(state) if state else None
    except ValueError:
        raise ValidationError("state", f"{state!r} is not one of {', '.join(s.value for s in State)}") from None
    page = max(page, 1)
    rows, total = svc.campaigns(principal, state=wanted, limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
    models = svc.models()
    by_key = {m.key: m for m in models}
    may_create = principal.user.role in (Role.ADMIN, Role.ANALYST)
    orgs = ctx.hub.accounts.list_orgs() if principal.user.role is Role.ADMIN else [principal.org]
    params = {"state": state} if state else {}
    pages = max(1, -(-total // PER_PAGE))
    pager = _Pager(
        prev="/assessments?" + urlencode({**params, "page": page - 1}) if page > 1 else None,
        next="/assessments?" + urlencode({**params, "page": page + 1}) if page * PER_PAGE < total else None,
    )
    return ctx.render(
        "capacity/list.html",
        status=status,
        rows=rows,
        total=total,
        page=page,
        pages=pages,
        pager=pager,
        state=state,
        states=STATES,
        models=models,
        by_key=by_key,
        w=_Words(ctx.t),
        country=lambda code: country_name(code, ctx.t.lang),
        may_create=may_create,
        orgs=orgs,
        form=form or _blank_form(principal),
        errors=errors or {},
    )


@router.get("/assessments")
def assessments_page(ctx: Ctx, state: str = "", page: int = 1) -> Response:
    return _list_page(ctx, ctx.user(), state=state, page=page)


_NOT_FOUND: dict[str, tuple[str, str]] = {
    "organisation": ("organisation", N_("There is no such organisation.")),
    "model": ("model", N_("There is no such model version on this hub.")),
    "user": ("lead", N_("There is no user with this email address.")),
    "stage": ("target", N_("This stage is not a stage of the chosen model.")),
}


def _create_problem(ctx: Context, exc: RibatError) -> tuple[str, Problem]:
    if isinstance(exc, ValidationError):
        field = {"title": "title", "lead": "lead", "target_stage": "target", "model": "model"}.get(exc.field, "title")
        return field, Problem(exc.reason, "en")
    if isinstance(exc, NotFoundError) and exc.kind in _NOT_FOUND:
        field, message = _NOT_FOUND[exc.kind]
        return field, Problem(ctx._(message))
    if isinstance(exc, PermissionDeniedError):
        return "organisation", Problem(ctx._("Analysts may create assessments of their own organisation only."))
    return "model", Problem(exc.message, "en")


@router.post("/assessments")
def create_assessment(
    ctx: Ctx,
    organisation: Annotated[str, Form()] = "",
    model: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "",
    lead: Annotated[str, Form()] = "",
    target: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    principal = ctx.user()
    ctx.check_csrf(csrf_token)
    form = {"organisation": organisation, "model": model, "title": title, "lead": lead, "target": target}
    try:
        found = _svc(ctx).create(
            principal,
            org_ref=organisation,
            model_key=model,
            title=title,
            lead_ref=lead.strip() or None,
            target_stage=target or None,
        )
    except (ValidationError, NotFoundError, PermissionDeniedError, ConflictError) as exc:
        field, problem = _create_problem(ctx, exc)
        return _list_page(ctx, principal, form=form, errors={field: problem}, status=400)
    return ctx.redirect(
        f"/assessments/{quote(found.id, safe='')}", flash=ctx._("Assessment “%(title)s” created.", title=found.title)
    )


# -- overview --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Progress:
    name: str
    total: int
    answered: int
    settled: int
    mine: int


def _progress(ctx: Context, c: _Campaign) -> list[_Progress]:
    svc = _svc(ctx)
    given = svc.contributions(c.principal, c.id)
    settled = svc.consensus(c.principal, c.id)
    answered = {g.indicator_id for g in given}
    mine = {g.indicator_id for g in given if g.user_id == c.principal.user.id}
    rows = []
    words = _Words(ctx.t, c.model)
    for dimension in c.model.dimensions:
        ids = [i.id for i in dimension.indicators()]
        rows.append(
            _Progress(
                name=words.loc(dimension.name),
                total=len(ids),
                answered=sum(1 for i in ids if i in answered),
                settled=sum(1 for i in ids if i in settled),
                mine=sum(1 for i in ids if i in mine),
            )
        )
    return rows


def _overview(ctx: Context, c: _Campaign, *, errors: dict[str, Problem] | None = None, status: int = 200) -> Response:
    svc = _svc(ctx)
    a = c.assessment
    events = list(reversed(svc.events(c.principal, c.id))) if c.full else []
    progress = _progress(ctx, c) if c.full else []
    # Who takes part is the campaign's own business: a viewer of shared results is not told.
    people = _people(ctx, [p.user_id for p in a.participants] + [e.user_id for e in events]) if c.full else {}
    previous = None
    if a.previous_id is not None:
        try:
            previous = svc.get(c.principal, a.previous_id)
        except (NotFoundError, PermissionDeniedError):
            previous = None
    totals = _Progress(
        name="",
        total=sum(p.total for p in progress),
        answered=sum(p.answered for p in progress),
        settled=sum(p.settled for p in progress),
        mine=sum(p.mine for p in progress),
    )
    return _render(
        ctx,
        "capacity/overview.html",
        c,
        "overview",
        status=status,
        events=events,
        actions=ACTIONS,
        progress=progress,
        totals=totals,
        people=people,
        previous=previous,
        transitions=TRANSITIONS[a.state] if c.is_lead else (),
        scopes=SCOPES,
        circles=ctx.hub.accounts.list_circles() if c.may_set_visibility else [],
        orgs=ctx.hub.accounts.list_orgs() if c.may_set_visibility else [],
        errors=errors or {},
    )


@router.get("/assessments/{assessment_id}")
def assessment_page(ctx: Ctx, assessment_id: str) -> Response:
    principal = ctx.user()
    return _overview(ctx, _campaign(ctx, principal, assessment_id))


def _overview_form(
    ctx: Context, assessment_id: str, csrf_token: str, section: str, act: Callable[[Assessments, _Campaign], str]
) -> Response:
    """Run one of the overview's forms: back to the overview with a message, or the error at its section."""
    principal = ctx.user()
    ctx.check_csrf(csrf_token)
    c = _campaign(ctx, principal, assessment_id)
    try:
        message = act(_svc(ctx), c)
    except NotFoundError as exc:
        if exc.kind == "assessment":
            raise
        return _overview(ctx, _campaign(ctx, principal, assessment_id), errors={section: _problem(exc)}, status=400)
    except (ValidationError, ConflictError) as exc:
        status = 409 if isinstance(exc, ConflictError) else 400
        return _overview(ctx, _campaign(ctx, principal, assessment_id), errors={section: _problem(exc)}, status=status)
    return ctx.redirect(c.base, flash=message)


@router.post("/assessments/{assessment_id}/state")
def change_state(
    ctx: Ctx, assessment_id: str, to: Annotated[str, Form()] = "", csrf_token: Annotated[str, Form()] = ""
) -> Response:
    def act(svc: Assessments, c: _Campaign) -> str:
        found = svc.transition(c.principal, c.id, to)
        return ctx._(TRANSITION_DONE[found.state])

    return _overview_form(ctx, assessment_id, csrf_token, "state", act)


@router.post("/assessments/{assessment_id}/participants")
def add_participant(
    ctx: Ctx,
    assessment_id: str,
    user: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    def act(svc: Assessments, c: _Campaign) -> str:
        if not user.strip():
            raise ValidationError("user", "choose a user")
        svc.add_participant(c.principal, c.id, user.strip(), role)
        label = ROLES.get(role, role)
        return ctx._("%(user)s takes part as %(role)s.", user=user.strip(), role=ctx._(label))

    return _overview_form(ctx, assessment_id, csrf_token, "participants", act)


@router.post("/assessments/{assessment_id}/participants/remove")
def remove_participant(
    ctx: Ctx, assessment_id: str, user: Annotated[str, Form()] = "", csrf_token: Annotated[str, Form()] = ""
) -> Response:
    def act(svc: Assessments, c: _Campaign) -> str:
        svc.remove_participant(c.principal, c.id, user)
        person = _people(ctx, [user]).get(user)
        return ctx._("%(user)s no longer takes part.", user=person.email if person else user)

    return _overview_form(ctx, assessment_id, csrf_token, "participants", act)


@router.post("/assessments/{assessment_id}/visibility")
def set_visibility(
    ctx: Ctx,
    assessment_id: str,
    scope: Annotated[str, Form()] = "",
    circles: Annotated[list[str], Form()] = [],  # noqa: B006  (FastAPI copies defaults)
    organisations: Annotated[list[str], Form()] = [],  # noqa: B006
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    def act(svc: Assessments, c: _Campaign) -> str:
        try:
            chosen = VisibilityScope(scope)
        except ValueError:
            raise ValidationError("scope", "choose who may see the results") from None
        # Only the list that goes with the scope counts: the other one's boxes may still be ticked.
        visibility = Visibility(
            chosen,
            frozenset(circles) if chosen is VisibilityScope.CIRCLES else frozenset(),
            frozenset(organisations) if chosen is VisibilityScope.ORGANISATIONS else frozenset(),
        )
        svc.set_visibility(c.principal, c.id, visibility)
        return ctx._("Who may see the results is saved.")

    return _overview_form(ctx, assessment_id, csrf_token, "visibility", act)


@router.post("/assessments/{assessment_id}/target")
def set_target(
    ctx: Ctx, assessment_id: str, target: Annotated[str, Form()] = "", csrf_token: Annotated[str, Form()] = ""
) -> Response:
    def act(svc: Assessments, c: _Campaign) -> str:
        svc.set_target(c.principal, c.id, target or None)
        return ctx._("The target stage is saved.")

    return _overview_form(ctx, assessment_id, csrf_token, "target", act)


# -- answering ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Typed:
    """What was typed for one indicator in a form that is shown again (its save had a problem)."""

    answer: str
    comment: str


def _answer_page(
    ctx: Context,
    c: _Campaign,
    dimension_id: str,
    *,
    problems: Sequence[Problem] = (),
    typed: Mapping[str, _Typed] | None = None,
    saved: str | None = None,
    status: int = 200,
) -> Response:
    svc = _svc(ctx)
    if not c.full:
        raise PermissionDeniedError("read the answers of", f"assessment {c.id}")
    model = c.model
    dimension = model.dimension(dimension_id) if dimension_id else model.dimensions[0]
    me = c.principal.user.id
    given = svc.contributions(c.principal, c.id)
    mine = {g.indicator_id: g for g in given if g.user_id == me}
    settled = svc.consensus(c.principal, c.id)
    evidence: dict[str, list[Evidence]] = {}
    for item in svc.evidence(c.principal, c.id):
        evidence.setdefault(item.indicator_id, []).append(item)
    people = _people(ctx, [e.added_by for items in evidence.values() for e in items])
    tabs = []
    for d in model.dimensions:
        ids = [i.id for i in d.indicators()]
        tabs.append((d, sum(1 for i in ids if i in mine), len(ids)))
    return _render(
        ctx,
        "capacity/answer.html",
        c,
        "answer",
        status=status,
        dimension=dimension,
        dimension_tabs=tabs,
        mine=mine,
        settled=settled,
        evidence=evidence,
        people=people,
        problems=problems,
        typed=typed or {},
        saved=saved,
    )


@router.get("/assessments/{assessment_id}/answer")
def answer_page(ctx: Ctx, assessment_id: str, dimension: str = "") -> Response:
    principal = ctx.user()
    return _answer_page(ctx, _campaign(ctx, principal, assessment_id), dimension)


def _text(form: FormData, key: str) -> str:
    value = form.get(key)
    return value if isinstance(value, str) else ""


def _upload(form: FormData, key: str) -> UploadFile | None:
    value = form.get(key)
    if isinstance(value, UploadFile) and value.filename:
        return value
    return None


def _split(problem: str) -> tuple[str | None, str]:
    found = _PROBLEM_ID.match(problem)
    return (found.group(1), found.group(2)) if found else (None, problem)


def _save_answers(ctx: Context, assessment_id: str, form: FormData) -> Response:
    principal = ctx.user()
    ctx.check_csrf(_text(form, "csrf_token"))
    svc = _svc(ctx)
    c = _campaign(ctx, principal, assessment_id)
    dimension_id = _text(form, "dimension")
    model = c.model
    if dimension_id:
        model.dimension(dimension_id)  # "not found" for a dimension the model lacks
    indicators = [i for i in model.indicators() if not dimension_id or i.dimension == dimension_id]
    me = principal.user.id
    mine = {g.indicator_id: g for g in svc.contributions(principal, c.id) if g.user_id == me}
    problems: list[Problem] = []
    typed: dict[str, _Typed] = {}
    changed: dict[str, tuple[Answer | str, str]] = {}
    for indicator in indicators:
        value = _text(form, f"answer:{indicator.id}")
        comment = _text(form, f"comment:{indicator.id}").replace("\r\n", "\n")
        had = mine.get(indicator.id)
        if not value:
            if comment.strip() and (had is None or comment.strip() != had.comment):
                typed[indicator.id] = _Typed("", comment)
                problems.append(
                    Problem(ctx._("%(indicator)s: choose an answer to save the comment with.", indicator=indicator.id))
                )
            continue
        if had is not None and had.answer.value == value and had.comment == comment.strip():
            continue
        changed[indicator.id] = (value, comment)
        typed[indicator.id] = _Typed(value, comment)
    saved = 0
    if changed:
        if not c.may_answer:
            raise PermissionDeniedError("answer in", f"assessment {c.id}")
        outcome = svc.answer(principal, c.id, changed)
        saved = outcome.saved
        failed = set()
        for line in outcome.problems:
            indicator_id, _reason = _split(line)
            if indicator_id is not None:
                failed.add(indicator_id)
            problems.append(Problem(line, "en"))
        typed = {key: value for key, value in typed.items() if key in failed or not value.answer}
    added = 0
    limit = svc.max_document_bytes
    for indicator in indicators:
        url = _text(form, f"link:{indicator.id}").strip()
        upload = _upload(form, f"file:{indicator.id}")
        if not (url or upload):
            continue
        if not c.may_add_evidence:
            raise PermissionDeniedError("add evidence to", f"assessment {c.id}")
        if url:
            try:
                svc.add_link(principal, c.id, indicator.id, url, _text(form, f"link_title:{indicator.id}"))
                added += 1
            except (ValidationError, ConflictError) as exc:
                problems.append(Problem(f"{indicator.id}: {_problem(exc).text}", "en"))
        if upload is not None:
            content = upload.file.read(limit + 1)
            if len(content) > limit:
                problems.append(
                    Problem(
                        ctx._(
                            "%(indicator)s: the document is larger than the limit of %(limit)s bytes.",
                            indicator=indicator.id,
                            limit=ctx.t.number(limit),
                        )
                    )
                )
                continue
            try:
                svc.add_document(
                    principal,
                    c.id,
                    indicator.id,
                    upload.filename or "",
                    content,
                    _text(form, f"file_title:{indicator.id}"),
                )
                added += 1
            except (ValidationError, ConflictError) as exc:
                problems.append(Problem(f"{indicator.id}: {_problem(exc).text}", "en"))
    summary = ctx._(
        "Answers saved: %(answers)s. Evidence added: %(evidence)s.",
        answers=ctx.t.number(saved),
        evidence=ctx.t.number(added),
    )
    if problems:
        c = _campaign(ctx, principal, assessment_id)
        return _answer_page(ctx, c, dimension_id, problems=problems, typed=typed, saved=summary, status=400)
    if not saved and not added:
        summary = ctx._("Nothing to save: no answer changed and no evidence was given.")
    target = f"{c.base}/answer?" + urlencode({"dimension": dimension_id}) if dimension_id else f"{c.base}/answer"
    return ctx.redirect(target, flash=summary)


@router.post("/assessments/{assessment_id}/answer")
async def save_answers(request: Request, ctx: Ctx, assessment_id: str) -> Response:
    """Save the caller's answers for one dimension, with the links and documents given beside them; every
    problem is reported by indicator and what was valid is kept."""
    form = await request.form(max_files=500, max_fields=5000)
    try:
        return await run_in_threadpool(_save_answers, ctx, assessment_id, form)
    finally:
        await form.close()


# -- evidence --------------------------------------------------------------------------------------------


def _evidence_page(
    ctx: Context, c: _Campaign, *, error: Problem | None = None, status: int = 200, kind: str = "", show: str = ""
) -> Response:
    svc = _svc(ctx)
    if not c.full:
        raise PermissionDeniedError("read the evidence of", f"assessment {c.id}")
    order = {i.id: n for n, i in enumerate(c.model.indicators())}
    items = sorted(svc.evidence(c.principal, c.id), key=lambda e: (order.get(e.indicator_id, len(order)), e.added_us))
    if kind in EVIDENCE_KINDS:
        items = [e for e in items if e.kind == kind]
    if show in EVIDENCE_STATUSES:
        items = [e for e in items if e.status == show]
    texts = {i.id: i for i in c.model.indicators()}
    people = _people(ctx, [e.added_by for e in items] + [e.decided_by or "" for e in items])
    return _render(
        ctx,
        "capacity/evidence.html",
        c,
        "evidence",
        status=status,
        items=items,
        indicators=texts,
        people=people,
        may_compute=svc.intel is not None and c.may_decide_evidence,
        error=error,
        kind=kind,
        show=show,
    )


@router.get("/assessments/{assessment_id}/evidence")
def evidence_page(ctx: Ctx, assessment_id: str, kind: str = "", status: str = "") -> Response:
    principal = ctx.user()
    return _evidence_page(ctx, _campaign(ctx, principal, assessment_id), kind=kind, show=status)


def _evidence_form(
    ctx: Context, assessment_id: str, csrf_token: str, back: str, act: Callable[[Assessments, _Campaign], str]
) -> Response:
    principal = ctx.user()
    ctx.check_csrf(csrf_token)
    c = _campaign(ctx, principal, assessment_id)
    try:
        message = act(_svc(ctx), c)
    except NotFoundError as exc:
        if exc.kind == "assessment":
            raise
        return _evidence_page(ctx, c, error=_problem(exc), status=404)
    except (ValidationError, ConflictError) as exc:
        status = 409 if isinstance(exc, ConflictError) else 400
        return _evidence_page(ctx, c, error=_problem(exc), status=status)
    return ctx.redirect(_local(back, c, f"{c.base}/evidence"), flash=message)


@router.post("/assessments/{assessment_id}/evidence/{evidence_id}/decision")
def decide_evidence(
    ctx: Ctx,
    assessment_id: str,
    evidence_id: str,
    decision: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    def act(svc: Assessments, c: _Campaign) -> str:
        if decision not in ("accept", "reject"):
            raise ValidationError("decision", "must be accept or reject")
        item = svc.decide_evidence(c.principal, c.id, evidence_id, decision == "accept")
        if item.status is EvidenceStatus.ACCEPTED:
            return ctx._("Evidence “%(title)s” accepted.", title=item.title)
        return ctx._("Evidence “%(title)s” rejected.", title=item.title)

    return _evidence_form(ctx, assessment_id, csrf_token, back, act)


@router.post("/assessments/{assessment_id}/evidence/{evidence_id}/remove")
def remove_evidence(
    ctx: Ctx,
    assessment_id: str,
    evidence_id: str,
    back: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    def act(svc: Assessments, c: _Campaign) -> str:
        svc.remove_evidence(c.principal, c.id, evidence_id)
        return ctx._("Evidence removed.")

    return _evidence_form(ctx, assessment_id, csrf_token, back, act)


@router.post("/assessments/{assessment_id}/evidence/platform")
def compute_platform_evidence(ctx: Ctx, assessment_id: str, csrf_token: Annotated[str, Form()] = "") -> Response:
    """Measure what the assessed country's teams did on the hub and propose each figure as evidence."""

    def act(svc: Assessments, c: _Campaign) -> str:
        proposed = svc.propose_platform_evidence(c.principal, c.id, language=ctx.t.lang)
        return ctx.t.ngettext(
            "%(num)s figure from the platform proposed; accept or reject it below.",
            "%(num)s figures from the platform proposed; accept or reject them below.",
            len(proposed),
        )

    return _evidence_form(ctx, assessment_id, csrf_token, "", act)


def _disposition(filename: str) -> str:
    """``attachment`` with the (already safe) name: ASCII for old clients, UTF-8 (RFC 6266/8187) for the rest."""
    ascii_name = filename.encode("ascii", "replace").decode("ascii").replace("?", "_").replace('"', "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


@router.get("/assessments/{assessment_id}/evidence/{evidence_id}/content")
def evidence_content(ctx: Ctx, assessment_id: str, evidence_id: str) -> Response:
    """An evidence document's bytes, always as a download: never shown in the hub's pages, never sniffed."""
    principal = ctx.user()
    item, content = _svc(ctx).document(principal, assessment_id, evidence_id)
    headers = {
        "Content-Disposition": _disposition(item.filename or "document"),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store",
    }
    return Response(content, media_type=item.media_type or "application/octet-stream", headers=headers)


# -- review ----------------------------------------------------------------------------------------------


def _review_page(
    ctx: Context,
    c: _Campaign,
    *,
    problems: Sequence[Problem] = (),
    typed: Mapping[str, _Typed] | None = None,
    show: str = "",
    status: int = 200,
) -> Response:
    svc = _svc(ctx)
    items = svc.review(c.principal, c.id)  # "not allowed" for a viewer of shared results
    counts = {
        "settled": sum(1 for i in items if i.consensus is not None),
        "disputed": sum(1 for i in items if i.disputed and i.consensus is None),
        "agreed": sum(1 for i in items if i.agreed is not None and i.consensus is None),
        "unanswered": sum(1 for i in items if not i.contributions and i.consensus is None),
    }
    if show == "disputed":
        items = [i for i in items if i.disputed]
    elif show == "pending":
        items = [i for i in items if i.consensus is None]
    ids = [g.user_id for i in items for g in i.contributions]
    ids += [i.consensus.decided_by for i in items if i.consensus is not None]
    ids += [user for i in items if i.consensus is not None for user, _answer in i.consensus.disagreement]
    by_dimension: dict[str, list[Any]] = {}
    indicators = {i.id: i for i in c.model.indicators()}
    for item in items:
        by_dimension.setdefault(indicators[item.indicator_id].dimension, []).append(item)
    return _render(
        ctx,
        "capacity/review.html",
        c,
        "review",
        status=status,
        groups=[(d, by_dimension[d.id]) for d in c.model.dimensions if d.id in by_dimension],
        indicators=indicators,
        counts=counts,
        people=_people(ctx, ids),
        problems=problems,
        typed=typed or {},
        show=show,
    )


@router.get("/assessments/{assessment_id}/review")
def review_page(ctx: Ctx, assessment_id: str, show: str = "") -> Response:
    principal = ctx.user()
    return _review_page(ctx, _campaign(ctx, principal, assessment_id), show=show)


def _settle(ctx: Context, assessment_id: str, form: FormData) -> Response:
    principal = ctx.user()
    ctx.check_csrf(_text(form, "csrf_token"))
    svc = _svc(ctx)
    c = _campaign(ctx, principal, assessment_id)
    settled = svc.consensus(principal, c.id)
    chosen: dict[str, tuple[Answer | str, str]] = {}
    typed: dict[str, _Typed] = {}
    for indicator in c.model.indicators():
        value = _text(form, f"consensus:{indicator.id}")
        if not value:
            continue
        comment = _text(form, f"note:{indicator.id}").replace("\r\n", "\n")
        had = settled.get(indicator.id)
        if had is not None and had.answer.value == value and had.comment == comment.strip():
            continue
        chosen[indicator.id] = (value, comment)
        typed[indicator.id] = _Typed(value, comment)
    if not chosen:
        return ctx.redirect(f"{c.base}/review", flash=ctx._("Nothing to save: no consensus answer changed."))
    outcome = svc.settle(principal, c.id, chosen)
    flash = ctx.t.ngettext("%(num)s consensus answer saved.", "%(num)s consensus answers saved.", outcome.saved)
    if outcome.problems:
        failed = {_split(line)[0] for line in outcome.problems}
        kept = {key: value for key, value in typed.items() if key in failed}
        problems = [Problem(line, "en") for line in outcome.problems]
        ctx.session.set_flash(flash)
        return _review_page(ctx, _campaign(ctx, principal, assessment_id), problems=problems, typed=kept, status=400)
    return ctx.redirect(f"{c.base}/review", flash=flash)


@router.post("/assessments/{assessment_id}/review")
async def settle(request: Request, ctx: Ctx, assessment_id: str) -> Response:
    """Settle the consensus answers chosen in the review form (only those that changed)."""
    form = await request.form(max_files=0, max_fields=5000)
    try:
        return await run_in_threadpool(_settle, ctx, assessment_id, form)
    finally:
        await form.close()


@router.post("/assessments/{assessment_id}/review/agreed")
def settle_agreed(ctx: Ctx, assessment_id: str, csrf_token: Annotated[str, Form()] = "") -> Response:
    principal = ctx.user()
    ctx.check_csrf(csrf_token)
    c = _campaign(ctx, principal, assessment_id)
    outcome = _svc(ctx).settle_agreed(principal, c.id)
    flash = ctx.t.ngettext(
        "%(num)s answer all contributors agreed on is settled.",
        "%(num)s answers all contributors agreed on are settled.",
        outcome.saved,
    )
    return ctx.redirect(f"{c.base}/review", flash=flash)


@router.post("/assessments/{assessment_id}/review/unanswered")
def settle_unanswered(ctx: Ctx, assessment_id: str, csrf_token: Annotated[str, Form()] = "") -> Response:
    """Settle as "unknown" every indicator that nobody answered and the review has not settled."""
    principal = ctx.user()
    ctx.check_csrf(csrf_token)
    c = _campaign(ctx, principal, assessment_id)
    svc = _svc(ctx)
    pending: dict[str, tuple[Answer | str, str]] = {
        item.indicator_id: (Answer.UNKNOWN, "")
        for item in svc.review(principal, c.id)
        if item.consensus is None and not item.contributions
    }
    outcome = svc.settle(principal, c.id, pending)
    flash = ctx.t.ngettext(
        "%(num)s indicator nobody answered is settled as unknown.",
        "%(num)s indicators nobody answered are settled as unknown.",
        outcome.saved,
    )
    return ctx.redirect(f"{c.base}/review", flash=flash)


# -- results ---------------------------------------------------------------------------------------------


def _subject(words: _Words, model: Model, scope: str, subject_id: str) -> str:
    try:
        if scope == "factor":
            return words.loc(model.factor(subject_id).name)
        if scope in ("dimension", "pillar"):
            return words.loc(model.dimension(subject_id).name)
    except NotFoundError:
        return subject_id
    return words.t.gettext(COMPARISON_SCOPES["overall"])


def _chart(ctx: Context, view: CampaignView, words: _Words) -> Markup:
    model, result = view.model, view.result
    if isinstance(result, ModelResult):
        labels = [words.loc(model.dimension(d.dimension_id).name) for d in result.dimensions]
        return radar_svg(
            labels,
            [d.summary.mean for d in result.dimensions],
            high=[d.summary_high.mean for d in result.dimensions],
            maximum=result.top_stage,
            title=ctx._("Mean stage of each dimension"),
        )
    return bar_chart(
        [(words.loc(model.dimension(p.dimension_id).name), round(p.score)) for p in result.pillars],
        ctx.t,
        ctx._("Score of each pillar (0–100)"),
    )


@router.get("/assessments/{assessment_id}/results")
def results_page(ctx: Ctx, assessment_id: str) -> Response:
    principal = ctx.user()
    c = _campaign(ctx, principal, assessment_id)
    svc = _svc(ctx)
    view = svc.view(principal, c.id)
    words = _Words(ctx.t, view.model)
    previous = None
    if view.comparison is not None and c.assessment.previous_id is not None:
        try:
            previous = svc.get(principal, c.assessment.previous_id)
        except (NotFoundError, PermissionDeniedError):
            previous = None
    comparison = None
    if view.comparison is not None:
        comparison = {
            "improved": [
                (ctx._(COMPARISON_SCOPES.get(x.scope, x.scope)), _subject(words, view.model, x.scope, x.subject_id), x)
                for x in view.comparison.improved()
            ],
            "declined": [
                (ctx._(COMPARISON_SCOPES.get(x.scope, x.scope)), _subject(words, view.model, x.scope, x.subject_id), x)
                for x in view.comparison.declined()
            ],
            "same": sum(1 for x in view.comparison.changes if not x.delta),
        }
    stages = isinstance(view.result, ModelResult)
    questions = weighted_gaps(view.model, view.result) if isinstance(view.result, WeightedResult) else ()
    strong = (
        [p for p in view.result.pillars if p.score >= STRENGTH_SCORE] if isinstance(view.result, WeightedResult) else []
    )
    reports = [
        (
            lang,
            f"{c.base}/report?" + urlencode({"lang": lang, "format": "html"}),
            f"{c.base}/report?" + urlencode({"lang": lang, "format": "pdf"}),
        )
        for lang in REPORT_LANGUAGES
    ]
    exports = [(fmt, f"{c.base}/export?" + urlencode({"format": fmt})) for fmt in ("csv", "json")]
    return _render(
        ctx,
        "capacity/results.html",
        c,
        "results",
        view=view,
        result=view.result,
        stages=stages,
        weighted=isinstance(view.result, WeightedResult),
        chart=_chart(ctx, view, words),
        comparison=comparison,
        previous=previous,
        questions=questions,
        strong_pillars=strong,
        strength_score=STRENGTH_SCORE,
        reports=reports,
        exports=exports,
        language_names={"en": "English", "ar": "العربية", "fr": "Français"},
    )


@router.get("/assessments/{assessment_id}/report")
def report(ctx: Ctx, assessment_id: str, lang: str = "en", format: str = "html") -> Response:
    """The campaign's report in HTML (shown) or PDF (downloaded), in English, Arabic or French."""
    principal = ctx.user()
    svc = _svc(ctx)
    found = svc.get(principal, assessment_id)
    body = svc.report(principal, found.id, language=lang, fmt=format)
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"}
    if format == "pdf":
        name = f"assessment-{found.country.lower()}-{found.model_id}-{lang}.pdf"
        headers["Content-Disposition"] = _disposition(re.sub(r"[^A-Za-z0-9.\-]+", "-", name))
        return Response(body, media_type="application/pdf", headers=headers)
    headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    return Response(body, media_type="text/html; charset=utf-8", headers=headers)


@router.get("/assessments/{assessment_id}/export")
def export(ctx: Ctx, assessment_id: str, format: str = "csv") -> Response:
    """Every answer of the campaign as a CSV or JSON download (``Assessments.export``)."""
    principal = ctx.user()
    svc = _svc(ctx)
    found = svc.get(principal, assessment_id)
    body = svc.export(principal, found.id, fmt=format, language=ctx.t.lang)
    media = "text/csv; charset=utf-8" if format == "csv" else "application/json"
    name = re.sub(r"[^A-Za-z0-9.\-]+", "-", f"assessment-{found.country.lower()}-{found.id[:8]}.{format}")
    headers = {
        "Content-Disposition": _disposition(name),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
    }
    return Response(body, media_type=media, headers=headers)


# -- benchmark ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _BenchRow:
    """One line of the benchmark table: a subject, its aggregates, and the viewer's own country's values."""

    scope: str
    name: str
    level: Aggregate
    completion: Aggregate | None
    own: SubjectPosition | None


def _bench_rows(
    words: _Words, model: Model, subjects: Sequence[SubjectAggregates], positions: Mapping[tuple[str, str], Any]
) -> list[_BenchRow]:
    rows = []
    for s in subjects:
        rows.append(
            _BenchRow(
                scope=s.scope,
                name=_subject(words, model, s.scope, s.subject_id),
                level=s.level,
                completion=s.completion,
                own=positions.get((s.scope, s.subject_id)),
            )
        )
    return rows


@router.get("/benchmarks")
def benchmarks_page(ctx: Ctx, model: str = "") -> Response:
    principal = ctx.user()
    svc = _svc(ctx)
    models = svc.models()
    key = model or (models[0].key if models else "")
    if not key:
        raise NotFoundError("model", "")
    view = svc.benchmark(principal, key)
    words = _Words(ctx.t, view.model)
    positions: dict[tuple[str, str], SubjectPosition] = {(p.scope, p.subject_id): p for p in view.positions}
    bench = view.benchmark
    rows: list[_BenchRow] = []
    if isinstance(bench, StageBenchmark):
        factors = {s.subject_id: s for s in bench.factors}
        for dimension_aggregates in bench.dimensions:
            rows += _bench_rows(words, view.model, [dimension_aggregates], positions)
            try:
                dimension = view.model.dimension(dimension_aggregates.subject_id)
            except NotFoundError:
                continue
            rows += _bench_rows(
                words, view.model, [factors[f.id] for f in dimension.factors if f.id in factors], positions
            )
    elif isinstance(bench, WeightedBenchmark):
        rows += _bench_rows(words, view.model, bench.pillars, positions)
    if bench is not None:
        rows += _bench_rows(words, view.model, [bench.overall], positions)
    return ctx.render(
        "capacity/benchmarks.html",
        models=models,
        model=view.model,
        view=view,
        rows=rows,
        w=words,
        minimum=svc.benchmark_minimum,
        own_country=country_name(principal.org.country, ctx.t.lang),
        own_base=None if view.own is None else f"/assessments/{quote(view.own.id, safe='')}",
    )
