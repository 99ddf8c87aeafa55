"""/api/v1 endpoints: capacity assessments — maturity models, campaigns, answers, review, evidence, results,
reports and coalition benchmarks.

Every rule lives in :class:`ribat.capacity.Assessments`; this module only reads requests and writes JSON. How the
rules show: a campaign the caller may not see is 404 on every path under it; a final campaign whose results were
shared with the caller (their organisation, one of their trust circles, or the whole coalition) answers its
results (the campaign, ``/result``, ``/compare``, ``/report``) and 403 on its record (contributions, review,
evidence, events); a change the caller's role in the campaign does not allow is 403; a change the campaign's state
forbids (answering outside draft, anything on a final campaign) is 409. See docs/api.md.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from ribat.accounts import Principal
from ribat.capacity import (
    Access,
    AccessDecision,
    Answer,
    Assessment,
    AssessmentEvent,
    Assessments,
    BenchmarkView,
    CampaignView,
    Comparison,
    Consensus,
    Contribution,
    Evidence,
    Model,
    ModelResult,
    Outcome,
    Participant,
    ReviewItem,
    Roadmap,
    StageBenchmark,
    StageSummary,
    State,
    Text,
    Tier,
    Viewer,
    Visibility,
    VisibilityScope,
    WeightedResult,
    decide,
    safe_filename,
)
from ribat.capacity.benchmark import Aggregate, Position, SubjectAggregates, SubjectPosition
from ribat.clock import format_us
from ribat.errors import NotFoundError, PermissionDeniedError, ValidationError
from ribat.hub import Hub
from ribat.web.auth import authenticate
from ribat.web.body import read_body

__all__ = ["assessment_resource", "evidence_resource", "model_resource", "router"]

router = APIRouter()
Caller = Annotated[Principal, Depends(authenticate)]

MAX_ANSWERS = 10_000
"""The most answers one request may carry (a model has a few hundred indicators at most)."""

_ASCII_NAME = re.compile(r"[^A-Za-z0-9._ ()-]+")


def _assessments(request: Request) -> Assessments:
    """The application's Assessments (made on first use: it keeps the parsed model files)."""
    found: Assessments | None = getattr(request.app.state, "assessments", None)
    if found is None:
        hub: Hub = request.app.state.hub
        found = Assessments.for_hub(hub)
        request.app.state.assessments = found
    return found


def _hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


def _time(us: int | None) -> str | None:
    return None if us is None else format_us(us)


def _text(text: Text | None) -> dict[str, str] | None:
    return None if text is None else dict(text)


def _viewer(principal: Principal) -> Viewer:
    return Viewer(principal.user.id, principal.org.id, principal.circle_ids)


# -- resources ---------------------------------------------------------------------------------------------


def model_summary(model: Model) -> dict[str, Any]:
    return {
        "key": model.key,
        "id": model.id,
        "version": model.version,
        "kind": model.kind,
        "title": _text(model.title),
        "description": _text(model.description),
        "counts": {
            "dimensions": len(model.dimensions),
            "factors": sum(1 for _ in model.factors()),
            "indicators": sum(1 for _ in model.indicators()),
            "stages": len(model.stages),
            "tiers": len(model.tiers),
        },
    }


def model_resource(model: Model) -> dict[str, Any]:
    """The whole model: stages or tiers, and the tree of dimensions, factors, aspects and indicators."""
    data = model_summary(model)
    data["stages"] = [
        {"id": s.id, "level": s.level, "name": _text(s.name), "description": _text(s.description)} for s in model.stages
    ]
    data["tiers"] = [{"id": t.id, "lower_bound": t.lower_bound, "name": _text(t.name)} for t in model.tiers]
    data["dimensions"] = [
        {
            "id": d.id,
            "name": _text(d.name),
            "description": _text(d.description),
            "weight": d.weight,
            "factors": [
                {
                    "id": f.id,
                    "name": _text(f.name),
                    "description": _text(f.description),
                    "weight": f.weight,
                    "aspects": [
                        {"id": a.id, "name": _text(a.name), "indicators": [i.id for i in a.indicators]}
                        for a in f.aspects
                    ],
                    "indicators": [
                        {
                            "id": i.id,
                            "stage": i.stage,
                            "weight": i.weight,
                            "aspect": i.aspect,
                            "text": _text(i.text),
                            "evidence": list(i.evidence),
                        }
                        for i in f.indicators
                    ],
                }
                for f in d.factors
            ],
        }
        for d in model.dimensions
    ]
    return data


def _visibility(visibility: Visibility) -> dict[str, Any]:
    return {
        "scope": visibility.scope.value,
        "circles": sorted(visibility.circle_ids),
        "organisations": sorted(visibility.org_ids),
    }


def _participants(hub: Hub, people: Sequence[Participant]) -> list[dict[str, Any]]:
    shown = []
    for p in people:
        try:
            user = hub.accounts.get_user(p.user_id)
            email: str | None = user.email
            name: str | None = user.name
        except NotFoundError:
            email = name = None
        shown.append(
            {
                "user_id": p.user_id,
                "email": email,
                "name": name,
                "org_id": p.org_id,
                "role": p.role.value,
                "added": format_us(p.added_us),
            }
        )
    return shown


def assessment_resource(found: Assessment, decision: AccessDecision, principal: Principal) -> dict[str, Any]:
    """A campaign as ``principal`` sees it (without its participants). Who leads it and whom it is shared with
    are part of the campaign record: a viewer who only sees the shared results gets ``null`` for them."""
    full = decision.access is Access.CAMPAIGN
    mine = found.participant(principal.user.id)
    data: dict[str, Any] = {
        "id": found.id,
        "title": found.title,
        "country": found.country,
        "org_id": found.org_id,
        "model": found.model_key,
        "model_id": found.model_id,
        "model_version": found.model_version,
        "state": found.state.value,
        "target_stage": found.target_stage,
        "previous_id": found.previous_id,
        "created": format_us(found.created_us),
        "updated": format_us(found.updated_us),
        "review_started": _time(found.review_us),
        "finalised": _time(found.final_us),
        "final_digest": found.final_digest,
        "access": {"level": decision.access.name.lower(), "code": decision.code, "reason": decision.reason},
        "role": None if mine is None else mine.role.value,
        "lead_user_id": found.lead_user_id if full else None,
        "created_by": found.created_by if full else None,
        "visibility": _visibility(found.visibility) if full else None,
    }
    return data


def _campaign(request: Request, principal: Principal, found: Assessment, *, status: int = 200) -> JSONResponse:
    """The campaign with its participants (``null`` for a viewer of the shared results only)."""
    decision = decide(_viewer(principal), found)
    data = assessment_resource(found, decision, principal)
    full = decision.access is Access.CAMPAIGN
    data["participants"] = _participants(_hub(request), found.participants) if full else None
    return JSONResponse(data, status_code=status)


def _contribution(item: Contribution) -> dict[str, Any]:
    return {
        "indicator_id": item.indicator_id,
        "user_id": item.user_id,
        "answer": item.answer.value,
        "comment": item.comment,
        "updated": format_us(item.updated_us),
    }


def _consensus(item: Consensus | None) -> dict[str, Any] | None:
    if item is None:
        return None
    return {
        "answer": item.answer.value,
        "comment": item.comment,
        "decided_by": item.decided_by,
        "decided": format_us(item.decided_us),
        "disagreement": [{"user_id": user_id, "answer": answer.value} for user_id, answer in item.disagreement],
    }


def _review_item(item: ReviewItem) -> dict[str, Any]:
    return {
        "indicator_id": item.indicator_id,
        "contributions": [_contribution(c) for c in item.contributions],
        "agreed": None if item.agreed is None else item.agreed.value,
        "disputed": item.disputed,
        "consensus": _consensus(item.consensus),
    }


def evidence_resource(assessment_id: str, item: Evidence) -> dict[str, Any]:
    return {
        "id": item.id,
        "indicator_id": item.indicator_id,
        "kind": item.kind.value,
        "title": item.title,
        "status": item.status.value,
        "added_by": item.added_by,
        "added": format_us(item.added_us),
        "url": item.url,
        "filename": item.filename,
        "media_type": item.media_type,
        "size": item.size,
        "sha256": item.sha256,
        "content": (
            f"/api/v1/assessments/{quote(assessment_id, safe='')}/evidence/{quote(item.id, safe='')}/content"
            if item.filename is not None
            else None
        ),
        "metric": item.metric,
        "query": item.query,
        "window_start": _time(item.window_start_us),
        "window_end": _time(item.window_end_us),
        "value": item.value,
        "decided_by": item.decided_by,
        "decided": _time(item.decided_us),
    }


def _event(item: AssessmentEvent) -> dict[str, Any]:
    return {"at": format_us(item.at_us), "user_id": item.user_id, "action": item.action, "detail": item.detail}


def _stage_id(model: Model, level: int | None) -> str | None:
    if level is None or level < 1 or level > len(model.stages):
        return None
    return model.stages[level - 1].id


def _summary(summary: StageSummary) -> dict[str, Any]:
    return {"minimum": summary.minimum, "median": summary.median, "mean": summary.mean, "count": summary.count}


def _stages_result(model: Model, result: ModelResult) -> dict[str, Any]:
    return {
        "top_stage": result.top_stage,
        "summary": _summary(result.summary),
        "summary_high": _summary(result.summary_high),
        "completion": result.completion,
        "completion_high": result.completion_high,
        "dimensions": [
            {
                "id": d.dimension_id,
                "summary": _summary(d.summary),
                "summary_high": _summary(d.summary_high),
                "completion": d.completion,
                "completion_high": d.completion_high,
                "factors": [
                    {
                        "id": f.factor_id,
                        "stage": f.stage,
                        "stage_id": _stage_id(model, f.stage),
                        "stage_high": f.stage_high,
                        "stage_high_id": _stage_id(model, f.stage_high),
                        "completion": f.completion,
                        "completion_high": f.completion_high,
                        "next_stage": f.next_stage,
                        "blocking": list(f.blocking),
                        "met": list(f.met),
                        "partly_met": list(f.partly_met),
                        "not_met": list(f.not_met),
                        "unknown": list(f.unknown),
                    }
                    for f in d.factors
                ],
            }
            for d in result.dimensions
        ],
    }


def _weighted_result(result: WeightedResult) -> dict[str, Any]:
    def tier(t: Tier) -> dict[str, Any]:
        return {"id": t.id, "lower_bound": t.lower_bound, "name": _text(t.name)}

    return {
        "score": result.score,
        "score_high": result.score_high,
        "tier": tier(result.tier),
        "tier_high": tier(result.tier_high),
        "pillars": [
            {
                "id": p.dimension_id,
                "weight": p.weight,
                "score": p.score,
                "score_high": p.score_high,
                "yes": list(p.yes),
                "no": list(p.no),
                "partly_met": list(p.partly_met),
                "unknown": list(p.unknown),
            }
            for p in result.pillars
        ],
    }


def _roadmap(roadmap: Roadmap | None) -> dict[str, Any] | None:
    if roadmap is None:
        return None
    return {
        "target": roadmap.target,
        "gaps": [
            {
                "id": g.id,
                "factor_id": g.factor_id,
                "dimension_id": g.dimension_id,
                "current_stage": g.current_stage,
                "target_stage": g.target_stage,
                "target_stage_id": g.target_stage_id,
                "to_meet": list(g.to_meet),
                "partly_met": list(g.partly_met),
                "unknown": list(g.unknown),
                "missing_weight": g.missing_weight,
                "distance": g.distance,
                "priority": g.priority,
            }
            for g in roadmap.gaps
        ],
        "strengths": [
            {"factor_id": s.factor_id, "dimension_id": s.dimension_id, "stage": s.stage, "target_stage": s.target_stage}
            for s in roadmap.strengths
        ],
    }


def comparison_resource(comparison: Comparison) -> dict[str, Any]:
    return {
        "before": comparison.before_key,
        "after": comparison.after_key,
        "changes": [
            {"scope": c.scope, "subject_id": c.subject_id, "before": c.before, "after": c.after, "delta": c.delta}
            for c in comparison.changes
        ],
        "improved": len(comparison.improved()),
        "declined": len(comparison.declined()),
        "added": list(comparison.added),
        "removed": list(comparison.removed),
    }


def result_resource(shown: CampaignView) -> dict[str, Any]:
    found, model, result = shown.assessment, shown.model, shown.result
    data: dict[str, Any] = {
        "assessment_id": found.id,
        "model": model.key,
        "kind": model.kind,
        "state": found.state.value,
        "provisional": shown.provisional,
        "answers": {key: answer.value for key, answer in sorted(shown.answers.items())},
        "stages": _stages_result(model, result) if isinstance(result, ModelResult) else None,
        "weighted": _weighted_result(result) if isinstance(result, WeightedResult) else None,
        "roadmap": _roadmap(shown.roadmap),
        "comparison": None,
    }
    if shown.comparison is not None:
        data["comparison"] = {"previous_id": found.previous_id, **comparison_resource(shown.comparison)}
    return data


def _aggregate(agg: Aggregate | None) -> dict[str, Any] | None:
    """A suppressed aggregate says only that it is suppressed and why: no count, no quartile."""
    if agg is None:
        return None
    if agg.values is None:
        return {"suppressed": True, "reason": agg.reason}
    v = agg.values
    return {"suppressed": False, "count": v.count, "q1": v.q1, "median": v.median, "q3": v.q3}


def _subject(subject: SubjectAggregates) -> dict[str, Any]:
    return {
        "scope": subject.scope,
        "id": subject.subject_id,
        "level": _aggregate(subject.level),
        "completion": _aggregate(subject.completion),
    }


def _position(position: Position | None) -> dict[str, Any] | None:
    if position is None:
        return None
    return {"value": position.value, "below_q1": position.below_q1, "above_q3": position.above_q3}


def _subject_position(item: SubjectPosition) -> dict[str, Any]:
    return {
        "scope": item.scope,
        "id": item.subject_id,
        "level": _position(item.level),
        "completion": _position(item.completion),
    }


def benchmark_resource(view: BenchmarkView) -> dict[str, Any]:
    bench = view.benchmark
    data: dict[str, Any] = {
        "model": view.model.key,
        "kind": view.model.kind,
        "available": bench is not None,
        "countries": view.countries,
        "overall": None if bench is None else _subject(bench.overall),
        "dimensions": [],
        "factors": [],
        "own": None,
    }
    if isinstance(bench, StageBenchmark):
        data["dimensions"] = [_subject(s) for s in bench.dimensions]
        data["factors"] = [_subject(s) for s in bench.factors]
    elif bench is not None:
        data["dimensions"] = [_subject(s) for s in bench.pillars]
    if view.own is not None:
        data["own"] = {
            "assessment_id": view.own.id,
            "country": view.own.country,
            "positions": [_subject_position(p) for p in view.positions],
        }
    return data


# -- request bodies ----------------------------------------------------------------------------------------


class NewAssessment(BaseModel):
    """A campaign to open. ``org`` (id or short name) is the assessed organisation; ``model`` is ``id@version``
    or an id (its newest version); ``lead`` (email or id) is the lead assessor, the caller by default."""

    model_config = ConfigDict(extra="forbid")

    org: str
    model: str
    title: str
    lead: str | None = None
    target_stage: str | None = None


class NewParticipant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: str = Field(description="Email or id of the user.")
    role: str = Field(default="contributor", description="lead, reviewer, contributor or observer.")


class AnswerItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    indicator_id: str
    answer: str = Field(description="met, partly_met, not_met or unknown.")
    comment: str = ""


class AnswerBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answers: list[AnswerItem] = Field(max_length=MAX_ANSWERS)


class StateChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: str


class VisibilityChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scope: str
    circles: list[str] = Field(default_factory=list, max_length=1000)
    organisations: list[str] = Field(default_factory=list, max_length=1000)


class TargetChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stage: str | None


class NewLink(BaseModel):
    model_config = ConfigDict(extra="forbid")

    indicator_id: str
    url: str
    title: str = ""


class PlatformRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    days: int = Field(default=365, ge=1, description="The window: the days before now that are measured.")
    language: str = Field(default="en", description="The language of the items' titles and descriptions.")


class EvidenceDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    accept: StrictBool


def _batch(body: AnswerBatch) -> tuple[dict[str, tuple[Answer | str, str]], list[str]]:
    """The answers by indicator; an indicator given twice keeps its first answer and the repeat is a problem."""
    given: dict[str, tuple[Answer | str, str]] = {}
    problems: list[str] = []
    for item in body.answers:
        if item.indicator_id in given:
            problems.append(f"{item.indicator_id}: given more than once; the first answer was kept")
            continue
        given[item.indicator_id] = (item.answer, item.comment)
    return given, problems


def _outcome(outcome: Outcome, earlier: list[str]) -> JSONResponse:
    """200 with what was saved and each problem; 400 when there were problems and nothing could be saved."""
    problems = earlier + list(outcome.problems)
    if outcome.saved == 0 and problems:
        raise ValidationError("answers", "nothing was saved: " + "; ".join(problems))
    return JSONResponse({"saved": outcome.saved, "problems": problems})


# -- models and benchmarks ---------------------------------------------------------------------------------


@router.get("/capacity/models")
def list_models(request: Request, principal: Caller) -> JSONResponse:
    """Every maturity model version the hub offers."""
    return JSONResponse({"models": [model_summary(m) for m in _assessments(request).models()]})


@router.get("/capacity/models/{model_key}")
def get_model(request: Request, model_key: str, principal: Caller) -> JSONResponse:
    """One model version (``id@version``, or ``id`` for its newest version) with its whole tree."""
    return JSONResponse(model_resource(_assessments(request).model(model_key)))


@router.get("/capacity/benchmarks/{model_key}")
def get_benchmark(request: Request, model_key: str, principal: Caller) -> JSONResponse:
    """Coalition aggregates of the final campaigns on a model version, and the caller's country beside them."""
    return JSONResponse(benchmark_resource(_assessments(request).benchmark(principal, model_key)))


# -- campaigns ---------------------------------------------------------------------------------------------


@router.get("/assessments")
def list_assessments(
    request: Request,
    principal: Caller,
    country: str | None = None,
    model: str | None = None,
    state: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> JSONResponse:
    """The campaigns the caller may see, newest first."""
    wanted: State | None = None
    if state:
        try:
            wanted = State(state)
        except ValueError:
            raise ValidationError("state", f"{state!r} is not one of {', '.join(s.value for s in State)}") from None
    items, total = _assessments(request).campaigns(
        principal,
        country=country.strip().upper() if country else None,
        model_id=model or None,
        state=wanted,
        limit=limit,
        offset=offset,
    )
    viewer = _viewer(principal)
    following = offset + len(items)
    return JSONResponse(
        {
            "items": [assessment_resource(x, decide(viewer, x), principal) for x in items],
            "total": total,
            "limit": limit,
            "offset": offset,
            "next": following if following < total else None,
        }
    )


@router.post("/assessments", status_code=201)
def create_assessment(request: Request, body: NewAssessment, principal: Caller) -> JSONResponse:
    """Open a draft campaign (admins; analysts for their own organisation)."""
    found = _assessments(request).create(
        principal,
        org_ref=body.org,
        model_key=body.model,
        title=body.title,
        lead_ref=body.lead,
        target_stage=body.target_stage,
    )
    return _campaign(request, principal, found, status=201)


@router.get("/assessments/{assessment_id}")
def get_assessment(request: Request, assessment_id: str, principal: Caller) -> JSONResponse:
    return _campaign(request, principal, _assessments(request).get(principal, assessment_id))


@router.post("/assessments/{assessment_id}/participants")
def add_participant(request: Request, assessment_id: str, body: NewParticipant, principal: Caller) -> JSONResponse:
    """Add a participant or change their role (the lead; draft or review)."""
    found = _assessments(request).add_participant(principal, assessment_id, body.user, body.role)
    return _campaign(request, principal, found)


@router.delete("/assessments/{assessment_id}/participants/{user}")
def remove_participant(request: Request, assessment_id: str, user: str, principal: Caller) -> JSONResponse:
    found = _assessments(request).remove_participant(principal, assessment_id, user)
    return _campaign(request, principal, found)


@router.post("/assessments/{assessment_id}/state")
def change_state(request: Request, assessment_id: str, body: StateChange, principal: Caller) -> JSONResponse:
    """draft → review, review → draft, review → final (the lead)."""
    found = _assessments(request).transition(principal, assessment_id, body.state)
    return _campaign(request, principal, found)


@router.put("/assessments/{assessment_id}/visibility")
def change_visibility(request: Request, assessment_id: str, body: VisibilityChange, principal: Caller) -> JSONResponse:
    """Who beyond the campaign may read its results once final. Organisations and circles are named by id or
    short name / name; an unknown one is a 400 naming it."""
    try:
        scope = VisibilityScope(body.scope)
    except ValueError:
        allowed = ", ".join(s.value for s in VisibilityScope)
        raise ValidationError("scope", f"{body.scope!r} is not one of {allowed}") from None
    accounts = _hub(request).accounts

    def org_id(ref: str) -> str:
        try:
            return accounts.get_org(ref).id
        except NotFoundError:
            return ref  # the service names it as unknown

    def circle_id(ref: str) -> str:
        try:
            return accounts.get_circle(ref).id
        except NotFoundError:
            return ref

    visibility = Visibility(
        scope,
        frozenset(circle_id(c) for c in body.circles),
        frozenset(org_id(o) for o in body.organisations),
    )
    found = _assessments(request).set_visibility(principal, assessment_id, visibility)
    return _campaign(request, principal, found)


@router.put("/assessments/{assessment_id}/target")
def change_target(request: Request, assessment_id: str, body: TargetChange, principal: Caller) -> JSONResponse:
    """The stage the roadmap aims at (a stage id), or ``null`` for each factor's next stage."""
    found = _assessments(request).set_target(principal, assessment_id, body.stage)
    return _campaign(request, principal, found)


@router.get("/assessments/{assessment_id}/events")
def list_events(request: Request, assessment_id: str, principal: Caller) -> JSONResponse:
    """The campaign's record: who did what and when, oldest first."""
    events = _assessments(request).events(principal, assessment_id)
    return JSONResponse({"events": [_event(e) for e in events]})


# -- answers and review ------------------------------------------------------------------------------------


@router.put("/assessments/{assessment_id}/answers")
def put_answers(request: Request, assessment_id: str, body: AnswerBatch, principal: Caller) -> JSONResponse:
    """Set the caller's own answers (draft). Each bad item is reported and left out, the others are saved."""
    given, problems = _batch(body)
    return _outcome(_assessments(request).answer(principal, assessment_id, given), problems)


@router.post("/assessments/{assessment_id}/answers/import")
async def import_answers(
    request: Request,
    assessment_id: str,
    principal: Caller,
    format: str | None = None,
    filename: str | None = None,
    source: str = "consensus",
    consensus: bool = False,
) -> JSONResponse:
    """Answers from a CSV or JSON file (the body; see docs/capacity-answers.md): saved as the caller's own answers,
    or with ``consensus=true`` settled as consensus answers. ``source`` picks the rows of a file with a source
    column (``consensus``, ``contributor``, or ``any``). 200 with what was saved and each problem by line."""
    assessments = _assessments(request)
    await run_in_threadpool(assessments.get, principal, assessment_id)
    data = await read_body(request, assessments.max_document_bytes)
    outcome = await run_in_threadpool(
        lambda: assessments.import_answers(
            principal,
            assessment_id,
            data,
            filename=filename,
            fmt=format,
            source=source,
            as_consensus=consensus,
        )
    )
    return _outcome(outcome, [])


@router.get("/assessments/{assessment_id}/contributions")
def list_contributions(request: Request, assessment_id: str, principal: Caller) -> JSONResponse:
    """Every participant's own answers."""
    items = _assessments(request).contributions(principal, assessment_id)
    return JSONResponse({"contributions": [_contribution(c) for c in items]})


@router.get("/assessments/{assessment_id}/review")
def get_review(request: Request, assessment_id: str, principal: Caller) -> JSONResponse:
    """Every indicator, in model order, with the contributions, whether they agree, and the consensus."""
    items = _assessments(request).review(principal, assessment_id)
    return JSONResponse(
        {
            "items": [_review_item(i) for i in items],
            "indicators": len(items),
            "settled": sum(1 for i in items if i.consensus is not None),
            "disputed": sum(1 for i in items if i.disputed),
            "unsettled": sum(1 for i in items if i.consensus is None),
        }
    )


@router.put("/assessments/{assessment_id}/consensus")
def put_consensus(request: Request, assessment_id: str, body: AnswerBatch, principal: Caller) -> JSONResponse:
    """Settle consensus answers (lead and reviewers, in review); disagreements are kept beside them."""
    given, problems = _batch(body)
    return _outcome(_assessments(request).settle(principal, assessment_id, given), problems)


@router.post("/assessments/{assessment_id}/consensus/agreed")
def settle_agreed(request: Request, assessment_id: str, principal: Caller) -> JSONResponse:
    """Settle every unsettled indicator on which all contributors gave the same answer."""
    outcome = _assessments(request).settle_agreed(principal, assessment_id)
    return JSONResponse({"saved": outcome.saved, "problems": list(outcome.problems)})


# -- evidence ----------------------------------------------------------------------------------------------


@router.get("/assessments/{assessment_id}/evidence")
def list_evidence(request: Request, assessment_id: str, principal: Caller) -> JSONResponse:
    items = _assessments(request).evidence(principal, assessment_id)
    return JSONResponse({"evidence": [evidence_resource(assessment_id, e) for e in items]})


@router.post("/assessments/{assessment_id}/evidence", status_code=201)
def add_link(request: Request, assessment_id: str, body: NewLink, principal: Caller) -> JSONResponse:
    """A link (http or https) as evidence for one indicator."""
    item = _assessments(request).add_link(principal, assessment_id, body.indicator_id, body.url, body.title)
    return JSONResponse(evidence_resource(assessment_id, item), status_code=201)


@router.post("/assessments/{assessment_id}/evidence/platform")
def propose_platform_evidence(
    request: Request, assessment_id: str, principal: Caller, body: PlatformRequest | None = None
) -> JSONResponse:
    """Measure what the assessed country's organisations did on the hub and propose each figure as evidence to the
    indicators that name its metric; answers the new items (a figure already proposed for the same indicator and
    window is not proposed again)."""
    wanted = body or PlatformRequest()
    items = _assessments(request).propose_platform_evidence(
        principal, assessment_id, days=wanted.days, language=wanted.language
    )
    return JSONResponse({"proposed": len(items), "evidence": [evidence_resource(assessment_id, e) for e in items]})


def _may_add_evidence(assessments: Assessments, principal: Principal, assessment_id: str) -> None:
    """Refuse a caller who may not add evidence before their upload is read (the service checks again)."""
    mine = assessments.get(principal, assessment_id).participant(principal.user.id)
    if mine is None or not mine.role.answers:
        raise PermissionDeniedError("add evidence to", f"assessment {assessment_id}")


@router.post("/assessments/{assessment_id}/evidence/documents", status_code=201)
async def add_document(
    request: Request,
    assessment_id: str,
    principal: Caller,
    indicator_id: str,
    filename: str,
    title: str = "",
) -> JSONResponse:
    """A document as evidence: the raw bytes are the body (any content type); ``filename`` gives its name and
    type. Over the hub's document limit is a 413."""
    assessments = _assessments(request)
    await run_in_threadpool(_may_add_evidence, assessments, principal, assessment_id)
    content = await read_body(request, assessments.max_document_bytes)
    item = await run_in_threadpool(
        lambda: assessments.add_document(principal, assessment_id, indicator_id, filename, content, title)
    )
    return JSONResponse(evidence_resource(assessment_id, item), status_code=201)


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII ``filename`` and the exact name as an RFC 5987 ``filename*``."""
    name = safe_filename(name)
    fallback = _ASCII_NAME.sub("_", name).strip(" .") or "document"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


@router.get("/assessments/{assessment_id}/evidence/{evidence_id}/content")
def get_document(request: Request, assessment_id: str, evidence_id: str, principal: Caller) -> Response:
    """A document's bytes, always as an attachment of its stored media type."""
    item, content = _assessments(request).document(principal, assessment_id, evidence_id)
    return Response(
        content,
        media_type=item.media_type or "application/octet-stream",
        headers={
            "Content-Disposition": content_disposition(item.filename or "document"),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-store",
        },
    )


@router.post("/assessments/{assessment_id}/evidence/{evidence_id}/decision")
def decide_evidence(
    request: Request, assessment_id: str, evidence_id: str, body: EvidenceDecision, principal: Caller
) -> JSONResponse:
    """Accept or reject an evidence item (lead and reviewers)."""
    item = _assessments(request).decide_evidence(principal, assessment_id, evidence_id, body.accept)
    return JSONResponse(evidence_resource(assessment_id, item))


@router.delete("/assessments/{assessment_id}/evidence/{evidence_id}", status_code=204)
def remove_evidence(request: Request, assessment_id: str, evidence_id: str, principal: Caller) -> Response:
    """Remove an evidence item (whoever added it, the lead and reviewers)."""
    _assessments(request).remove_evidence(principal, assessment_id, evidence_id)
    return Response(status_code=204)


# -- results -----------------------------------------------------------------------------------------------


@router.get("/assessments/{assessment_id}/result")
def get_result(request: Request, assessment_id: str, principal: Caller) -> JSONResponse:
    """The scored answers, the roadmap and the comparison with the previous final campaign."""
    return JSONResponse(result_resource(_assessments(request).view(principal, assessment_id)))


@router.get("/assessments/{assessment_id}/compare/{other_id}")
def compare_assessments(request: Request, assessment_id: str, other_id: str, principal: Caller) -> JSONResponse:
    """``other_id``'s result (before) beside ``assessment_id``'s (after)."""
    comparison = _assessments(request).compare(principal, assessment_id, other_id)
    return JSONResponse({"before_id": other_id, "after_id": assessment_id, **comparison_resource(comparison)})


@router.get("/assessments/{assessment_id}/report")
def get_report(
    request: Request,
    assessment_id: str,
    principal: Caller,
    lang: str = "en",
    fmt: Annotated[str, Query(alias="format")] = "html",
) -> Response:
    """The report in English, Arabic or French, as HTML or PDF."""
    content = _assessments(request).report(principal, assessment_id, language=lang, fmt=fmt)
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"}
    if fmt == "pdf":
        headers["Content-Disposition"] = content_disposition(f"assessment-{assessment_id}-{lang}.pdf")
        return Response(content, media_type="application/pdf", headers=headers)
    headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    return Response(content, media_type="text/html; charset=utf-8", headers=headers)


_EXPORT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


@router.get("/assessments/{assessment_id}/export")
def export_answers(
    request: Request,
    assessment_id: str,
    principal: Caller,
    lang: str = "en",
    fmt: Annotated[str, Query(alias="format")] = "csv",
) -> Response:
    """Every answer as a CSV or JSON file (docs/capacity-answers.md): the consensus with each contributor's answer
    and the evidence for the campaign, the consensus alone for a viewer of shared results."""
    content = _assessments(request).export(principal, assessment_id, fmt=fmt, language=lang)
    headers = {
        "Content-Disposition": content_disposition(f"assessment-{assessment_id}.{fmt}"),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
    }
    return Response(content, media_type=_EXPORT_TYPES[fmt], headers=headers)
