"""``ribat assess``: capacity assessments from the shell (docs/cli.md, docs/capacity-assessments.md).

Campaign commands open the hub and act as the user given with ``--as`` (default: the first admin) through
:class:`ribat.capacity.Assessments`, which decides what that user may see and do. ``ribat assess score`` and
``ribat assess report`` given ``--answers FILE`` instead of a campaign work offline: they read the model (a shipped
one or ``--model-file``) and the answers, and run the pure scoring and report engines without opening a database.

A domain error is printed as ``error: …`` on stderr with exit code 1; a wrong combination of options exits 2.
``register(app)`` adds the ``assess`` command group to the ``ribat`` application.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import orjson
import typer
from babel.dates import format_date
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ribat.accounts import Principal
from ribat.capacity import (
    Access,
    Answer,
    Assessment,
    Assessments,
    DimensionResult,
    FactorResult,
    GapLine,
    Model,
    ModelResult,
    ParticipantRole,
    StageSummary,
    State,
    Viewer,
    WeightedResult,
    build_roadmap,
    country_name,
    decide,
    load_model,
    localized,
    render_html,
    render_pdf,
    score,
    shipped_models,
)
from ribat.capacity.answers_io import read_answers
from ribat.capacity.benchmark import Aggregate, Position, StageBenchmark, SubjectAggregates
from ribat.capacity.report import render_weighted_html, render_weighted_pdf
from ribat.clock import format_us
from ribat.config import Settings
from ribat.errors import NotFoundError, RibatError
from ribat.hub import Hub

__all__ = ["assess_app", "register"]

assess_app = typer.Typer(
    help="Capacity assessments: maturity models, campaigns, answers, scores, reports and benchmarks.",
    no_args_is_help=True,
)

_out = Console(soft_wrap=True, highlight=False)
_err = Console(stderr=True, soft_wrap=True, highlight=False)

_COUNTRY = re.compile(r"^[A-Za-z]{2}$")


class Language(StrEnum):
    EN = "en"
    AR = "ar"
    FR = "fr"


class ReportFormat(StrEnum):
    HTML = "html"
    PDF = "pdf"


class ExportFormat(StrEnum):
    CSV = "csv"
    JSON = "json"


class Source(StrEnum):
    """Which rows of a file with a ``source`` column are read (rows without a source are always read)."""

    CONSENSUS = "consensus"
    CONTRIBUTOR = "contributor"
    ANY = "any"


AsUser = Annotated[str | None, typer.Option("--as", help="Act as this user (email or id; default: the first admin).")]
Lang = Annotated[Language, typer.Option("--lang", help="Language of names and texts.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def register(app: typer.Typer) -> None:
    """Add ``ribat assess …`` to the ``ribat`` application."""
    app.add_typer(assess_app, name="assess")


# --------------------------------------------------------------------------------------------- plumbing


def _fail(message: str, code: int = 1) -> NoReturn:
    _err.print(f"error: {message}", markup=False)
    raise typer.Exit(code)


@contextmanager
def _session() -> Iterator[tuple[Hub, Assessments]]:
    """The hub and its assessments; a domain error raised inside ends the command with its message."""
    hub = Hub.open(Settings())
    try:
        yield hub, Assessments.for_hub(hub)
    except RibatError as exc:
        _fail(exc.message)
    finally:
        hub.close()


def _acting(hub: Hub, user: str | None) -> Principal:
    from ribat.cli.main import _principal  # the main module imports this one

    return _principal(hub, user)


def _hub_model(assessments: Assessments, key: str) -> Model:
    try:
        return assessments.model(key)
    except NotFoundError:
        known = ", ".join(m.key for m in assessments.models())
        _fail(f"no model {key!r} on this hub (models: {known}); see `ribat assess models`")


def _offline_model(key: str | None, model_file: Path | None) -> Model:
    """The model of an offline command: ``--model-file``, else the shipped model ``key`` (``id`` or ``id@version``)."""
    if (key is None) == (model_file is None):
        _fail("give --model KEY (a shipped model) or --model-file PATH", 2)
    try:
        if model_file is not None:
            return load_model(model_file)
        shipped = shipped_models()
    except RibatError as exc:
        _fail(exc.message)
    assert key is not None
    found = [m for m in shipped if key in (m.key, m.id)]
    if not found:
        known = ", ".join(m.key for m in shipped)
        _fail(f"no shipped model {key!r} (shipped: {known}); use --model-file for another model")
    return max(found, key=lambda m: _version_order(m.version))


def _version_order(version: str) -> list[tuple[int, int, str]]:
    """``2026.10`` after ``2026.9``: numeric parts compare as numbers."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"[.\-]", version)]


def _read(path: Path, limit: int | None = None) -> bytes:
    try:
        size = path.stat().st_size
        if limit is not None and size > limit:
            _fail(f"{path}: {size} bytes is over the limit of {limit} bytes (RIBAT_MAX_UPLOAD_BYTES)")
        return path.read_bytes()
    except OSError as exc:
        _fail(f"{path}: {exc.strerror or exc}")


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        _fail(f"{path}: {exc.strerror or exc}")


def _offline_answers(model: Model, path: Path, source: Source) -> dict[str, Answer]:
    """The answers of ``path``; each row that could not be read is reported on stderr."""
    try:
        chosen = None if source is Source.ANY else source.value
        read = read_answers(model, _read(path), filename=path.name, source=chosen)
    except RibatError as exc:
        _fail(f"{path}: {exc.message}")
    for problem in read.problems:
        _err.print(f"warning: {path.name}: {problem}", markup=False)
    if not read.answers:
        _fail(f"{path}: no answer could be read for {model.key}")
    return {key: answer for key, (answer, _) in read.answers.items()}


def _json(data: Any) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _span(low: float | None, high: float | None, unit: str = "") -> str:
    """``low`` or ``low–high`` when unknown answers could move it."""
    if low is None:
        return "-"
    if high is None or _num(high) == _num(low):
        return f"{_num(low)}{unit}"
    return f"{_num(low)}–{_num(high)}{unit}"


def _when(us: int | None) -> str:
    return "-" if us is None else format_us(us)[:16].replace("T", " ")


def _print_table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, whole: Sequence[str] = ()) -> None:
    """A table whose ``whole`` columns (ids, keys, emails) are never cut or wrapped, so they can be copied."""
    table = Table()
    for index, header in enumerate(headers):
        if header in whole:
            width = max([len(header), *(len(row[index]) for row in rows)])
            table.add_column(header, no_wrap=True, min_width=width)
        else:
            table.add_column(header)
    for row in rows:
        table.add_row(*row)
    _out.print(table)


def _emails(hub: Hub) -> dict[str, str]:
    return {u.id: u.email for u in hub.accounts.list_users()}


# --------------------------------------------------------------------------------------------- models


@assess_app.command("models")
def models(as_json: AsJson = False, lang: Lang = Language.EN) -> None:
    """List the maturity models the hub offers (shipped, RIBAT_CAPACITY_MODELS_DIR and pinned): key, kind, title."""
    with _session() as (_, assessments):
        found = assessments.models()
    if as_json:
        _json(
            [
                {
                    "key": m.key,
                    "id": m.id,
                    "version": m.version,
                    "kind": m.kind,
                    "title": dict(m.title),
                    "dimensions": len(m.dimensions),
                    "indicators": sum(1 for _ in m.indicators()),
                }
                for m in found
            ]
        )
        return
    rows = [
        [m.key, m.kind, localized(m.title, lang), str(len(m.dimensions)), str(sum(1 for _ in m.indicators()))]
        for m in found
    ]
    _print_table(["key", "kind", "title", "dimensions", "indicators"], rows, whole=("key",))


def _print_tree(model: Model, lang: str) -> None:
    indicators = sum(1 for _ in model.indicators())
    factors = sum(1 for _ in model.factors())
    _out.print(f"{model.key} ({model.kind}): {localized(model.title, lang)}", markup=False)
    part = "pillars" if model.kind == "weighted" else "dimensions"
    noun = "questions" if model.kind == "weighted" else "indicators"
    _out.print(f"{len(model.dimensions)} {part}, {factors} factors, {indicators} {noun}", markup=False)
    if model.kind == "stages":
        stages = " · ".join(f"{s.level} {localized(s.name, lang)} ({s.id})" for s in model.stages)
        _out.print(f"stages: {stages}", markup=False)
    else:
        tiers = " · ".join(f"{localized(t.name, lang)} from {_num(t.lower_bound)}" for t in model.tiers)
        _out.print(f"tiers: {tiers}", markup=False)
    total = sum(d.weight for d in model.dimensions)
    for dimension in model.dimensions:
        weight = f" — weight {_num(dimension.weight)} ({_num(100 * dimension.weight / total)}%)"
        _out.print(
            f"{dimension.id}  {localized(dimension.name, lang)}{weight if model.kind == 'weighted' else ''}",
            markup=False,
        )
        for factor in dimension.factors:
            if model.kind == "stages":
                counts = ", ".join(
                    f"{s.id} {len(factor.at_stage(s.id))}" for s in model.stages if factor.at_stage(s.id)
                )
                detail = f"{len(factor.indicators)} indicators ({counts})"
            else:
                detail = f"{len(factor.indicators)} questions, weight {_num(sum(i.weight for i in factor.indicators))}"
            _out.print(f"  {factor.id}  {localized(factor.name, lang)} — {detail}", markup=False)


@assess_app.command("model")
def model_tree(
    key: Annotated[str | None, typer.Argument(help="Model key: id@version, or id for its newest version.")] = None,
    model_file: Annotated[
        Path | None, typer.Option("--model-file", help="Check and summarise a model file instead (offline).")
    ] = None,
    lang: Lang = Language.EN,
) -> None:
    """Summarise a model's tree: stages or tiers, then each dimension (pillar) and its factors with their counts."""
    if model_file is not None:
        if key is not None:
            _fail("give a model KEY or --model-file, not both", 2)
        _print_tree(_offline_model(None, model_file), lang)
        return
    if key is None:
        _fail("give a model KEY (see `ribat assess models`) or --model-file PATH", 2)
    with _session() as (_, assessments):
        found = _hub_model(assessments, key)
    _print_tree(found, lang)


# --------------------------------------------------------------------------------------------- campaigns


@assess_app.command("list")
def list_campaigns(
    country: Annotated[str | None, typer.Option("--country", help="Only this country (ISO 3166-1 alpha-2).")] = None,
    model: Annotated[str | None, typer.Option("--model", help="Only this model id.")] = None,
    state: Annotated[State | None, typer.Option("--state", help="Only campaigns in this state.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="How many, newest first (at most 500).")] = 50,
    as_user: AsUser = None,
    as_json: AsJson = False,
) -> None:
    """List the campaigns the user may see, newest first."""
    with _session() as (hub, assessments):
        principal = _acting(hub, as_user)
        model_id = model.split("@", 1)[0] if model else None
        found, total = assessments.campaigns(
            principal, country=country.upper() if country else None, model_id=model_id, state=state, limit=limit
        )
        emails = _emails(hub)
    shown = [_campaign_json(a, emails, full=_full(principal, a)) for a in found]
    if as_json:
        _json({"total": total, "assessments": shown})
        return
    if not found:
        _out.print("no campaign")
        return
    # One line per campaign (a table of seven columns is unreadable in 80 columns): the id first, to copy.
    for a, data in zip(found, shown, strict=True):
        lead = f"lead {data['lead']}, " if data["lead"] else ""
        _out.print(
            f"{a.id}  {a.state.value:<6}  {a.country}  {a.model_key}  {a.title}  ({lead}updated {_when(a.updated_us)})",
            markup=False,
        )
    _out.print(f"{len(found)} of {total} campaign(s)")


def _full(principal: Principal, a: Assessment) -> bool:
    """Whether ``principal`` sees the campaign record (participants, lead, visibility), not only shared results."""
    viewer = Viewer(principal.user.id, principal.org.id, principal.circle_ids)
    return decide(viewer, a).access is Access.CAMPAIGN


def _campaign_json(a: Assessment, emails: Mapping[str, str], *, full: bool) -> dict[str, Any]:
    """The campaign as in the API: who leads it, whom it is shared with and who takes part are ``null`` for a
    viewer of the shared results only."""
    return {
        "id": a.id,
        "title": a.title,
        "country": a.country,
        "org_id": a.org_id,
        "model": a.model_key,
        "state": a.state.value,
        "lead": emails.get(a.lead_user_id, a.lead_user_id) if full else None,
        "target_stage": a.target_stage,
        "visibility": a.visibility.scope.value if full else None,
        "previous_id": a.previous_id,
        "created": format_us(a.created_us),
        "updated": format_us(a.updated_us),
        "final": None if a.final_us is None else format_us(a.final_us),
        "participants": [{"user": emails.get(p.user_id, p.user_id), "role": p.role.value} for p in a.participants]
        if full
        else None,
    }


@assess_app.command("create")
def create(
    org: Annotated[str, typer.Option("--org", help="The assessed organisation (short name or id).")],
    model: Annotated[str, typer.Option("--model", help="Model key: id@version, or id for its newest version.")],
    title: Annotated[str, typer.Option("--title", help="The campaign's title.")],
    lead: Annotated[
        str | None, typer.Option("--lead", help="Lead assessor (email or id; default: the acting user).")
    ] = None,
    target: Annotated[
        str | None, typer.Option("--target", help="Stage id the roadmap aims for (stages models).")
    ] = None,
    as_user: AsUser = None,
) -> None:
    """Create a draft campaign assessing an organisation's country; prints its id on the last line."""
    with _session() as (hub, assessments):
        principal = _acting(hub, as_user)
        key = _hub_model(assessments, model).key
        found = assessments.create(
            principal, org_ref=org, model_key=key, title=title, lead_ref=lead, target_stage=target
        )
        lead_email = hub.accounts.get_user(found.lead_user_id).email
        _out.print(
            f"created campaign {found.title!r}: {found.country} on {found.model_key}, lead {lead_email}, "
            f"{found.state.value}",
            markup=False,
        )
        print(found.id)


def _print_participants(hub: Hub, found: Assessment) -> None:
    emails = _emails(hub)
    orgs = {o.id: o.short_name for o in hub.accounts.list_orgs()}
    rows = [
        [emails.get(p.user_id, p.user_id), orgs.get(p.org_id, p.org_id), p.role.value, _when(p.added_us)]
        for p in found.participants
    ]
    _print_table(["user", "organisation", "role", "since"], rows, whole=("user",))


@assess_app.command("show")
def show(
    assessment_id: Annotated[str, typer.Argument(help="The campaign's id.")],
    lang: Lang = Language.EN,
    as_user: AsUser = None,
    as_json: AsJson = False,
) -> None:
    """Show a campaign: state, model, lead, participants and how far the answers have come (the record and the
    progress only to those who take part, not to viewers of its shared results)."""
    with _session() as (hub, assessments):
        principal = _acting(hub, as_user)
        found = assessments.get(principal, assessment_id)
        decision = assessments.decision(principal, assessment_id)
        model = assessments.model(found.model_key)
        progress: dict[str, int] | None = None
        if decision.access >= Access.CAMPAIGN:
            items = assessments.review(principal, assessment_id)
            progress = {
                "indicators": len(items),
                "answered": sum(1 for i in items if i.contributions),
                "agreed": sum(1 for i in items if i.agreed is not None),
                "disputed": sum(1 for i in items if i.disputed),
                "settled": sum(1 for i in items if i.consensus is not None),
            }
        emails = _emails(hub)
        org = hub.accounts.get_org(found.org_id)
        full = progress is not None
        if as_json:
            _json({**_campaign_json(found, emails, full=full), "access": decision.reason, "progress": progress})
            return
        lines = [
            ("id", found.id),
            ("title", found.title),
            ("country", f"{country_name(found.country, lang)} ({found.country}), organisation {org.short_name}"),
            ("model", f"{found.model_key} — {localized(model.title, lang)}"),
            ("state", found.state.value),
        ]
        if full:
            lines.append(("lead", emails.get(found.lead_user_id, found.lead_user_id)))
            lines.append(("visibility", found.visibility.scope.value))
        lines += [
            ("created", _when(found.created_us)),
            ("updated", _when(found.updated_us)),
        ]
        if model.kind == "stages":
            lines.append(("target stage", found.target_stage or "the next stage of each factor"))
        if found.review_us is not None:
            lines.append(("in review since", _when(found.review_us)))
        if found.final_us is not None:
            lines.append(("final", f"{_when(found.final_us)} (digest {found.final_digest})"))
        if found.previous_id is not None:
            lines.append(("previous", found.previous_id))
        lines.append(("you", decision.reason))
        for label, value in lines:
            _out.print(f"{label + ':':<16} {value}", markup=False)
        if progress is None:
            _out.print("the campaign's record and progress are shown to its participants only", markup=False)
            return
        _print_participants(hub, found)
        _out.print(
            f"progress: {progress['answered']} of {progress['indicators']} indicators answered "
            f"({progress['agreed']} agreed, {progress['disputed']} disputed), {progress['settled']} settled",
            markup=False,
        )


@assess_app.command("participant")
def participant(
    assessment_id: Annotated[str, typer.Argument(help="The campaign's id.")],
    user: Annotated[str, typer.Argument(help="The participant (email or id).")],
    role: Annotated[ParticipantRole | None, typer.Argument(help="Their role (not needed with --remove).")] = None,
    remove: Annotated[bool, typer.Option("--remove", help="Remove the participant instead.")] = False,
    as_user: AsUser = None,
) -> None:
    """Add a participant to a campaign, change their role, or remove them (the lead only, in draft or review)."""
    if remove and role is not None:
        _fail("give a ROLE to add or change a participant, or --remove, not both", 2)
    if not remove and role is None:
        _fail("give the participant's ROLE (lead, reviewer, contributor, observer), or --remove", 2)
    with _session() as (hub, assessments):
        principal = _acting(hub, as_user)
        if remove:
            found = assessments.remove_participant(principal, assessment_id, user)
            _out.print(f"removed {user} from {assessment_id}", markup=False)
        else:
            assert role is not None
            found = assessments.add_participant(principal, assessment_id, user, role.value)
            _out.print(f"{user} is {role.value} in {assessment_id}", markup=False)
        _print_participants(hub, found)


# --------------------------------------------------------------------------------------------- answers


def _problems(problems: Sequence[str]) -> None:
    for problem in problems:
        _err.print(f"  {problem}", markup=False)


@assess_app.command("import")
def import_answers(
    assessment_id: Annotated[str, typer.Argument(help="The campaign's id.")],
    file: Annotated[Path, typer.Argument(help="Answers as CSV or JSON (docs/capacity-answers.md).")],
    source: Annotated[
        Source,
        typer.Option(
            "--source",
            help="Rows of an exported file to read: consensus, your own contributor rows, or any "
            "(rows without a source are always read).",
        ),
    ] = Source.CONSENSUS,
    consensus: Annotated[
        bool, typer.Option("--consensus", help="Settle them as consensus answers (review; lead or reviewer).")
    ] = False,
    fmt: Annotated[
        ExportFormat | None, typer.Option("--format", help="csv or json (default: by the file's suffix or content).")
    ] = None,
    as_user: AsUser = None,
) -> None:
    """Set answers from a file as the acting user's own answers (draft), or with --consensus settle them.

    Prints how many were saved and every row that was not, with its line; exit 0 when some were saved, 1 when none."""
    with _session() as (hub, assessments):
        principal = _acting(hub, as_user)
        data = _read(file, hub.settings.max_upload_bytes)
        done = assessments.import_answers(
            principal,
            assessment_id,
            data,
            filename=file.name,
            fmt=None if fmt is None else fmt.value,
            source=source.value,
            as_consensus=consensus,
        )
    kind = "consensus answer(s)" if consensus else f"answer(s) of {principal.user.email}"
    _out.print(f"saved {done.saved} {kind} from {file.name}; {len(done.problems)} problem(s)", markup=False)
    _problems(done.problems)
    if done.saved == 0:
        raise typer.Exit(1)


@assess_app.command("export")
def export(
    assessment_id: Annotated[str, typer.Argument(help="The campaign's id.")],
    fmt: Annotated[ExportFormat, typer.Option("--format", help="File format.")] = ExportFormat.CSV,
    lang: Annotated[Language, typer.Option("--lang", help="Language of the indicator texts.")] = Language.EN,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write here (default: standard output).")] = None,
    as_user: AsUser = None,
) -> None:
    """Export every answer of a campaign (consensus, and each contributor's for participants) as CSV or JSON."""
    with _session() as (hub, assessments):
        principal = _acting(hub, as_user)
        data = assessments.export(principal, assessment_id, fmt=fmt.value, language=lang.value)
    if out_file is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    _write(out_file, data)
    _out.print(f"wrote {fmt.value.upper()} of {assessment_id} ({len(data)} bytes) to {out_file}", markup=False)


@assess_app.command("state")
def state(
    assessment_id: Annotated[str, typer.Argument(help="The campaign's id.")],
    to: Annotated[State, typer.Argument(help="review, draft (reopen) or final.")],
    as_user: AsUser = None,
) -> None:
    """Move a campaign: draft → review, review → draft, review → final (the lead only)."""
    with _session() as (hub, assessments):
        principal = _acting(hub, as_user)
        before = assessments.get(principal, assessment_id).state
        after = assessments.transition(principal, assessment_id, to)
    _out.print(f"{assessment_id}: {before.value} → {after.state.value}", markup=False)
    if after.final_digest:
        _out.print(f"digest {after.final_digest}", markup=False)


@assess_app.command("settle-agreed")
def settle_agreed(
    assessment_id: Annotated[str, typer.Argument(help="The campaign's id.")],
    as_user: AsUser = None,
) -> None:
    """Settle, as consensus, every indicator not yet settled on which all contributors agree (review)."""
    with _session() as (hub, assessments):
        principal = _acting(hub, as_user)
        done = assessments.settle_agreed(principal, assessment_id)
        left = sum(1 for item in assessments.review(principal, assessment_id) if item.consensus is None)
    _out.print(f"settled {done.saved} agreed answer(s); {left} indicator(s) still to settle", markup=False)
    _problems(done.problems)


# --------------------------------------------------------------------------------------------- scores


def _stage_name(model: Model, level: int, lang: str) -> str:
    return localized(model.stages[level - 1].name, lang) if level >= 1 else "none"


def _summary_json(summary: StageSummary) -> dict[str, Any]:
    return {"minimum": summary.minimum, "median": summary.median, "mean": summary.mean, "count": summary.count}


def _factor_json(model: Model, f: FactorResult, lang: str) -> dict[str, Any]:
    return {
        "id": f.factor_id,
        "name": localized(model.factor(f.factor_id).name, lang),
        "stage": f.stage,
        "stage_name": _stage_name(model, f.stage, lang),
        "stage_high": f.stage_high,
        "stage_high_name": _stage_name(model, f.stage_high, lang),
        "completion": f.completion,
        "completion_high": f.completion_high,
        "met": list(f.met),
        "partly_met": list(f.partly_met),
        "not_met": list(f.not_met),
        "unknown": list(f.unknown),
    }


def _dimension_json(model: Model, d: DimensionResult, lang: str) -> dict[str, Any]:
    return {
        "id": d.dimension_id,
        "name": localized(model.dimension(d.dimension_id).name, lang),
        "summary": _summary_json(d.summary),
        "summary_high": _summary_json(d.summary_high),
        "completion": d.completion,
        "completion_high": d.completion_high,
        "factors": [_factor_json(model, f, lang) for f in d.factors],
    }


def _result_json(model: Model, result: ModelResult | WeightedResult, lang: str) -> dict[str, Any]:
    if isinstance(result, ModelResult):
        return {
            "model": result.model_key,
            "kind": "stages",
            "top_stage": result.top_stage,
            "summary": _summary_json(result.summary),
            "summary_high": _summary_json(result.summary_high),
            "completion": result.completion,
            "completion_high": result.completion_high,
            "dimensions": [_dimension_json(model, d, lang) for d in result.dimensions],
        }
    return {
        "model": result.model_key,
        "kind": "weighted",
        "score": result.score,
        "score_high": result.score_high,
        "tier": {"id": result.tier.id, "name": localized(result.tier.name, lang)},
        "tier_high": {"id": result.tier_high.id, "name": localized(result.tier_high.name, lang)},
        "pillars": [
            {
                "id": p.dimension_id,
                "name": localized(model.dimension(p.dimension_id).name, lang),
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


def _print_result(model: Model, result: ModelResult | WeightedResult, lang: str) -> None:
    if isinstance(result, ModelResult):
        # Four columns, so that factor names fit in 80: each dimension's row (its mean stage) heads its factors.
        table = Table("dimension / factor", "stage", "range", "completion")
        for d in result.dimensions:
            if d is not result.dimensions[0]:
                table.add_section()
            table.add_row(
                Text(localized(model.dimension(d.dimension_id).name, lang), style="bold"),
                f"mean {_num(d.summary.mean)}",
                _span(d.summary.mean, d.summary_high.mean),
                _span(d.completion, d.completion_high, "%"),
            )
            for f in d.factors:
                table.add_row(
                    Text(f"  {localized(model.factor(f.factor_id).name, lang)}"),
                    _stage_name(model, f.stage, lang),
                    _span(f.stage, f.stage_high),
                    _span(f.completion, f.completion_high, "%"),
                )
        _out.print(table)
        s, high = result.summary, result.summary_high
        _out.print(
            f"overall: mean stage {_span(s.mean, high.mean)} of {result.top_stage} (median {_num(s.median)}, "
            f"lowest {s.minimum}), completion {_span(result.completion, result.completion_high, '%')}",
            markup=False,
        )
        return
    table = Table("pillar", "weight", "score", "range", "yes", "no", "partly", "unknown")
    total = sum(p.weight for p in result.pillars)
    for p in result.pillars:
        table.add_row(
            localized(model.dimension(p.dimension_id).name, lang),
            f"{_num(100 * p.weight / total)}%",
            _num(p.score),
            _span(p.score, p.score_high),
            str(len(p.yes)),
            str(len(p.no)),
            str(len(p.partly_met)),
            str(len(p.unknown)),
        )
    _out.print(table)
    tier = localized(result.tier.name, lang)
    if result.tier_high.id != result.tier.id:
        tier = f"{tier} (up to {localized(result.tier_high.name, lang)} if every unknown answer were yes)"
    _out.print(f"score: {_span(result.score, result.score_high)} of 100, tier: {tier}", markup=False)


def _offline_options(
    assessment_id: str | None, model: str | None, model_file: Path | None, answers: Path | None
) -> bool:
    """Whether the command runs offline; refuses a mix of a campaign id and offline options."""
    offline = answers is not None or model is not None or model_file is not None
    if assessment_id is not None and offline:
        _fail("give a campaign ID, or --answers FILE with --model/--model-file, not both", 2)
    if assessment_id is None and answers is None:
        _fail("give a campaign ID, or --answers FILE with --model KEY or --model-file PATH", 2)
    return offline


ModelKey = Annotated[str | None, typer.Option("--model", help="Offline: a shipped model (id or id@version).")]
ModelFile = Annotated[Path | None, typer.Option("--model-file", help="Offline: a model file (YAML or JSON).")]
AnswersFile = Annotated[
    Path | None, typer.Option("--answers", help="Offline: answers as CSV or JSON (docs/capacity-answers.md).")
]
SourceOption = Annotated[
    Source,
    typer.Option(
        "--source",
        help="Offline: rows of an exported answers file to read (contributor: every contributor's; the first answer "
        "of an indicator is kept).",
    ),
]


@assess_app.command("score")
def score_command(
    assessment_id: Annotated[str | None, typer.Argument(help="The campaign's id (or use --answers).")] = None,
    model: ModelKey = None,
    model_file: ModelFile = None,
    answers: AnswersFile = None,
    source: SourceOption = Source.CONSENSUS,
    lang: Lang = Language.EN,
    as_user: AsUser = None,
    as_json: AsJson = False,
) -> None:
    """Score a campaign, or offline a file of answers: each factor's stage, range and completion, or each pillar's
    score with the overall score and tier."""
    if _offline_options(assessment_id, model, model_file, answers):
        assert answers is not None
        found = _offline_model(model, model_file)
        result = score(found, _offline_answers(found, answers, source))
        provisional: bool | None = None
    else:
        assert assessment_id is not None
        with _session() as (hub, assessments):
            view = assessments.view(_acting(hub, as_user), assessment_id)
        found, result, provisional = view.model, view.result, view.provisional
    if as_json:
        _json({**_result_json(found, result, lang), "provisional": provisional})
        return
    _print_result(found, result, lang)
    if provisional:
        _out.print(
            "provisional: the consensus where settled, else the contributors' answer where they agree, else unknown",
            markup=False,
        )


# --------------------------------------------------------------------------------------------- reports


def _render_offline(
    model: Model, result: ModelResult | WeightedResult, fmt: ReportFormat, target: str | None, **options: Any
) -> bytes:
    """The report of an offline result; for a stages model with the gaps and strengths of its roadmap, as the hub's
    report of a campaign has them."""
    if isinstance(result, WeightedResult):
        if target is not None:
            _fail("--target is for stages models; a weighted model has no stages", 2)
        if fmt is ReportFormat.PDF:
            return render_weighted_pdf(model, result, **options)
        return render_weighted_html(model, result, **options).encode("utf-8")
    lang = options["language"]
    roadmap = build_roadmap(model, result, target=target)
    options["gaps"] = [
        GapLine(
            id=gap.id,
            factor=localized(model.factor(gap.factor_id).name, lang),
            current_stage=gap.current_stage,
            target_stage=gap.target_stage,
            todo=len(gap.to_meet),
        )
        for gap in roadmap.gaps
    ]
    options["strengths"] = [
        f"{localized(model.factor(s.factor_id).name, lang)} — {localized(model.stages[s.stage - 1].name, lang)}"
        for s in roadmap.strengths
        if s.stage >= 1
    ]
    if fmt is ReportFormat.PDF:
        return render_pdf(model, result, **options)
    return render_html(model, result, **options).encode("utf-8")


@assess_app.command("report")
def report(
    out_file: Annotated[Path, typer.Option("--out", help="Where to write the report.")],
    assessment_id: Annotated[str | None, typer.Argument(help="The campaign's id (or use --answers).")] = None,
    lang: Annotated[Language, typer.Option("--lang", help="Language of the report.")] = Language.EN,
    fmt: Annotated[
        ReportFormat | None, typer.Option("--format", help="html or pdf (default: by the suffix of --out).")
    ] = None,
    model: ModelKey = None,
    model_file: ModelFile = None,
    answers: AnswersFile = None,
    source: SourceOption = Source.CONSENSUS,
    country: Annotated[
        str | None, typer.Option("--country", help="Offline: the assessed country (ISO 3166-1 alpha-2).")
    ] = None,
    assessed: Annotated[
        str | None, typer.Option("--assessed", help="Offline: the assessment date as printed (default: today).")
    ] = None,
    target: Annotated[
        str | None, typer.Option("--target", help="Offline, stages models: the stage id the roadmap aims for.")
    ] = None,
    as_user: AsUser = None,
) -> None:
    """Write a campaign's report, or offline the report of a file of answers, as HTML or PDF in English, Arabic
    or French."""
    chosen = fmt or (ReportFormat.PDF if out_file.suffix.lower() == ".pdf" else ReportFormat.HTML)
    if _offline_options(assessment_id, model, model_file, answers):
        assert answers is not None
        if country is None or not _COUNTRY.match(country):
            _fail("offline reports need --country CC (an ISO 3166-1 alpha-2 code)", 2)
        found = _offline_model(model, model_file)
        result = score(found, _offline_answers(found, answers, source))
        try:
            data = _render_offline(
                found,
                result,
                chosen,
                target,
                country=country.upper(),
                country_name=country_name(country, lang.value),
                language=lang.value,
                assessed=assessed or format_date(date.today(), "medium", locale=lang.value),
            )
        except RibatError as exc:
            _fail(exc.message)
    else:
        assert assessment_id is not None
        if country is not None or assessed is not None or target is not None:
            _fail("--country, --assessed and --target are for offline reports; a campaign has its own", 2)
        with _session() as (hub, assessments):
            data = assessments.report(_acting(hub, as_user), assessment_id, language=lang.value, fmt=chosen.value)
    _write(out_file, data)
    _out.print(f"wrote {chosen.value.upper()} report ({len(data)} bytes) to {out_file}", markup=False)


# --------------------------------------------------------------------------------------------- benchmark


def _aggregate(value: Aggregate | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if value.values is None:
        return f"hidden ({value.reason} countries)"
    q = value.values
    return f"Q1 {_num(q.q1)}{unit} · median {_num(q.median)}{unit} · Q3 {_num(q.q3)}{unit} ({q.count} countries)"


def _aggregate_json(value: Aggregate | None) -> dict[str, Any] | None:
    if value is None:
        return None
    if value.values is None:
        return {"hidden": f"{value.reason} countries"}
    q = value.values
    return {"count": q.count, "q1": q.q1, "median": q.median, "q3": q.q3}


def _position(position: Position | None, unit: str = "") -> str:
    if position is None or position.value is None:
        return "-"
    where = " (below Q1)" if position.below_q1 else " (above Q3)" if position.above_q3 else ""
    return f"{_num(position.value)}{unit}{where}"


def _scope(model: Model, row: SubjectAggregates) -> str:
    return "pillar" if row.scope == "dimension" and model.kind == "weighted" else row.scope


def _subject_name(model: Model, row: SubjectAggregates, lang: str) -> str:
    if row.scope == "factor":
        return localized(model.factor(row.subject_id).name, lang)
    if row.scope == "dimension":
        return localized(model.dimension(row.subject_id).name, lang)
    return "overall"


@assess_app.command("benchmark")
def benchmark(
    key: Annotated[str, typer.Argument(help="Model key: id@version, or id for its newest version.")],
    lang: Lang = Language.EN,
    as_user: AsUser = None,
    as_json: AsJson = False,
) -> None:
    """Coalition aggregates (first quartile, median, third quartile) of the newest final campaign of each country
    on a model, beside the acting user's country; aggregates of too few countries are hidden."""
    with _session() as (hub, assessments):
        principal = _acting(hub, as_user)
        view = assessments.benchmark(principal, _hub_model(assessments, key).key)
        minimum = assessments.benchmark_minimum
    model, bench = view.model, view.benchmark
    if bench is None:
        if as_json:
            _json({"model": model.key, "countries": 0, "rows": []})
            return
        _out.print(f"no country has a final campaign on {model.key} yet", markup=False)
        return
    subjects: list[SubjectAggregates] = (
        [*bench.factors, *bench.dimensions, bench.overall]
        if isinstance(bench, StageBenchmark)
        else [*bench.pillars, bench.overall]
    )
    own = {(p.scope, p.subject_id): p for p in view.positions}
    countries = view.countries if view.countries is not None else f"hidden (fewer than {minimum} countries)"
    if as_json:
        _json(
            {
                "model": model.key,
                "countries": view.countries,
                "own": None if view.own is None else view.own.id,
                "rows": [
                    {
                        "scope": _scope(model, row),
                        "subject_id": row.subject_id,
                        "name": _subject_name(model, row, lang),
                        "level": _aggregate_json(row.level),
                        "completion": _aggregate_json(row.completion),
                        "own": None
                        if (row.scope, row.subject_id) not in own
                        else own[(row.scope, row.subject_id)].level.value,
                    }
                    for row in subjects
                ],
            }
        )
        return
    _out.print(f"{model.key}: countries with a final campaign: {countries}", markup=False)
    measure = "stage" if isinstance(bench, StageBenchmark) else "score"
    for row in subjects:
        parts = [f"{measure} {_aggregate(row.level)}"]
        if row.completion is not None:
            parts.append(f"completion {_aggregate(row.completion, '%')}")
        mine = own.get((row.scope, row.subject_id))
        if view.own is not None and mine is not None:
            parts.append(f"{view.own.country} {_position(mine.level)}")
        _out.print(f"{_scope(model, row):<9} {_subject_name(model, row, lang)}: {'; '.join(parts)}", markup=False)
