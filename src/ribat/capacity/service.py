"""Use cases of the capacity context: run assessment campaigns, score them, compare and benchmark them.

Every call takes the acting :class:`~ribat.accounts.Principal`. What they may see is decided by
:func:`ribat.capacity.access.decide` (a campaign they may not see is "not found"); what they may change depends on
their role in the campaign and its state:

============================  ==========================================  ====================
action                        who                                         states
============================  ==========================================  ====================
create a campaign             an admin; an analyst for their own org      —
add/remove participants       the lead                                    draft, review
answer (own answers)          lead, reviewers, contributors               draft
add/remove evidence           lead, reviewers, contributors               draft, review
accept/reject platform items  lead, reviewers                             draft, review
settle consensus answers      lead, reviewers                             review
draft → review → final        the lead (review → draft reopens)           —
target stage                  the lead                                    draft, review
visibility                    the lead; admins/analysts of assessed org   any (also final)
============================  ==========================================  ====================

A final campaign's answers, evidence and participants never change: the store checks the state in the same
transaction as each write. See ``docs/capacity-assessments.md``.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson
from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime

from ribat.accounts import Accounts, Principal, Role
from ribat.capacity.access import Access, AccessDecision, Viewer, decide
from ribat.capacity.answers_io import export_csv, export_json, read_answers
from ribat.capacity.assessment import (
    Assessment,
    AssessmentEvent,
    Consensus,
    Contribution,
    Evidence,
    EvidenceKind,
    EvidenceStatus,
    Participant,
    ParticipantRole,
    State,
    Visibility,
    VisibilityScope,
)
from ribat.capacity.benchmark import (
    MINIMUM_CONTRIBUTORS,
    StageBenchmark,
    SubjectPosition,
    WeightedBenchmark,
    benchmark_stages,
    benchmark_weighted,
    stage_positions,
    weighted_positions,
)
from ribat.capacity.comparison import Comparison, compare
from ribat.capacity.evidence import DEFAULT_WINDOW_DAYS, METRICS, measure, window_for
from ribat.capacity.models import MODEL_SUFFIXES, SHIPPED_MODELS, parse_model
from ribat.capacity.report import GapLine, render_html, render_pdf
from ribat.capacity.roadmap import Roadmap, build_roadmap
from ribat.capacity.scoring import Answer, ModelResult, WeightedResult, parse_answer, score
from ribat.capacity.store import AssessmentStore, PinnedModel
from ribat.capacity.types import LANGUAGES, Model, localized
from ribat.clock import Clock, NewId, new_uuid, now_us
from ribat.errors import (
    ConflictError,
    ModelFileError,
    NotFoundError,
    PermissionDeniedError,
    StateError,
    ValidationError,
)
from ribat.intel import Intel

if TYPE_CHECKING:
    from ribat.hub import Hub

__all__ = [
    "Assessments",
    "BenchmarkView",
    "CampaignView",
    "Outcome",
    "ReviewItem",
]

MAX_COMMENT = 4000
MAX_TITLE = 200
DRAFT_OR_REVIEW = (State.DRAFT, State.REVIEW)
ANY_STATE = (State.DRAFT, State.REVIEW, State.FINAL)

# What a document may be; anything else is refused (the bytes are served back only as an attachment).
DOCUMENT_TYPES = {
    ".pdf": "application/pdf",
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".csv": "text/csv",
    ".json": "application/json",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
}
_UNSAFE_NAME = re.compile(r"[^\w.\- ()]+", re.UNICODE)


@dataclass(frozen=True)
class Outcome:
    """What a batch of answers did: how many were saved and what was wrong with the others."""

    saved: int
    problems: tuple[str, ...]


@dataclass(frozen=True)
class ReviewItem:
    """One indicator in review: every contributor's answer, whether they agree, and the consensus if settled."""

    indicator_id: str
    contributions: tuple[Contribution, ...]
    agreed: Answer | None
    consensus: Consensus | None

    @property
    def disputed(self) -> bool:
        return len({c.answer for c in self.contributions}) > 1


@dataclass(frozen=True)
class CampaignView:
    """A campaign as one viewer sees it: the decision, the pinned model, and the result.

    For a final campaign the result scores the consensus answers. Before that it is *provisional*: it scores the
    consensus where the review settled one, else the contributors' answer where they all agree, else unknown.
    ``comparison`` sets the result beside the previous final campaign (when there is one the viewer may read).
    """

    assessment: Assessment
    decision: AccessDecision
    model: Model
    answers: Mapping[str, Answer]
    result: ModelResult | WeightedResult
    roadmap: Roadmap | None
    comparison: Comparison | None
    provisional: bool


@dataclass(frozen=True)
class BenchmarkView:
    """Coalition aggregates for one model version and, when the viewer's country has a final campaign on it that
    they may read, that campaign's position beside them. ``countries`` is how many countries have a final
    campaign on the version (shown only when at least :data:`MINIMUM_CONTRIBUTORS`). ``benchmark`` is ``None``
    while no country has a final campaign on the version."""

    model: Model
    benchmark: StageBenchmark | WeightedBenchmark | None
    own: Assessment | None
    positions: tuple[SubjectPosition, ...]
    countries: int | None


def viewer_of(principal: Principal) -> Viewer:
    return Viewer(principal.user.id, principal.org.id, principal.circle_ids)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _clean_text(value: str, field: str, limit: int, *, required: bool = False) -> str:
    text = value.strip()
    if required and not text:
        raise ValidationError(field, "must not be empty")
    if len(text) > limit:
        raise ValidationError(field, f"is {len(text)} characters long; the limit is {limit}")
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in text):
        raise ValidationError(field, "contains control characters")
    return text


def safe_filename(name: str) -> str:
    """The last path component of ``name``, reduced to letters, digits and ``.-_ ()``; never a path."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = unicodedata.normalize("NFC", base)
    base = _UNSAFE_NAME.sub("_", base).strip(" .")
    return base[:200] or "document"


class Assessments:
    """The capacity assessments of one hub.

    ``models_dir`` is a directory of extra model files (YAML/JSON) loaded beside the shipped ones. A model version
    is *pinned* (its text kept in the database) by the first campaign that uses it, and campaigns are always scored
    with the pinned text. ``max_document_bytes`` caps an uploaded evidence document. ``intel`` computes the
    platform's evidence items from the hub's intelligence (``ribat.capacity.evidence``); without it, none are
    offered.
    """

    def __init__(
        self,
        store: AssessmentStore,
        accounts: Accounts,
        *,
        models_dir: Path | None = None,
        now: Clock = now_us,
        new_id: NewId = new_uuid,
        max_document_bytes: int = 20 * 1024 * 1024,
        benchmark_minimum: int = MINIMUM_CONTRIBUTORS,
        intel: Intel | None = None,
    ) -> None:
        if benchmark_minimum < MINIMUM_CONTRIBUTORS:
            raise ValidationError("benchmark_minimum", f"must be at least {MINIMUM_CONTRIBUTORS}")
        self.store = store
        self.accounts = accounts
        self.models_dir = models_dir
        self.now = now
        self.new_id = new_id
        self.max_document_bytes = max_document_bytes
        self.benchmark_minimum = benchmark_minimum
        self.intel = intel
        self._files: dict[str, tuple[str, str]] | None = None
        self._parsed: dict[str, Model] = {}

    @classmethod
    def for_hub(cls, hub: Hub, **kwargs: Any) -> Assessments:
        """Assessments wired to a hub's database and accounts, with the hub's settings."""
        from ribat.capacity._store_sql import SqlAssessmentStore

        settings = hub.settings
        kwargs.setdefault("models_dir", settings.capacity_models_dir)
        kwargs.setdefault("max_document_bytes", settings.assessment_document_bytes)
        kwargs.setdefault("benchmark_minimum", settings.benchmark_minimum)
        kwargs.setdefault("intel", hub.intel)
        return cls(SqlAssessmentStore(hub.db), hub.accounts, **kwargs)

    # -- models --------------------------------------------------------------------------------

    def _model_files(self) -> dict[str, tuple[str, str]]:
        """``id@version`` → (file name, text) of every model file the hub loads (shipped, then ``models_dir``)."""
        if self._files is None:
            found: dict[str, tuple[str, str]] = {}
            for directory in (SHIPPED_MODELS, self.models_dir):
                if directory is None:
                    continue
                for path in sorted(q for q in Path(directory).iterdir() if q.suffix.lower() in MODEL_SUFFIXES):
                    try:
                        text = path.read_text(encoding="utf-8")
                    except (OSError, UnicodeDecodeError) as exc:
                        raise ModelFileError(str(path), None, "", f"cannot read the file: {exc}") from exc
                    model = parse_model(text, str(path))
                    if model.key in found:
                        raise ModelFileError(
                            str(path), 1, "id", f"model {model.key} is also defined in {found[model.key][0]}"
                        )
                    found[model.key] = (str(path), text)
                    self._parsed[f"{model.key}#{_digest(text)}"] = model
            self._files = found
        return self._files

    def _parse(self, key: str, source_name: str, text: str) -> Model:
        cache_key = f"{key}#{_digest(text)}"
        model = self._parsed.get(cache_key)
        if model is None:
            model = parse_model(text, source_name)
            self._parsed[cache_key] = model
        return model

    def models(self) -> list[Model]:
        """Every model version the hub offers: the files it loads and every version a campaign has pinned."""
        found: dict[str, Model] = {}
        for pinned in self.store.pinned_models():
            key = f"{pinned.model_id}@{pinned.version}"
            found[key] = self._parse(key, pinned.source_name, pinned.source)
        for key, (name, text) in self._model_files().items():
            found.setdefault(key, self._parse(key, name, text))
        return sorted(found.values(), key=lambda m: (m.id, m.version))

    def model(self, key: str) -> Model:
        """A model version by ``id@version`` (the pinned text when a campaign used it), or by ``id`` alone (its
        newest version)."""
        if "@" not in key:
            versions = [m for m in self.models() if m.id == key]
            if not versions:
                raise NotFoundError("model", key)
            return max(versions, key=lambda m: _version_order(m.version))
        model_id, version = key.rsplit("@", 1)
        pinned = self.store.pinned_model(model_id, version)
        if pinned is not None:
            return self._parse(key, pinned.source_name, pinned.source)
        files = self._model_files()
        if key not in files:
            raise NotFoundError("model", key)
        name, text = files[key]
        return self._parse(key, name, text)

    def _pin(self, model: Model) -> None:
        files = self._model_files()
        if model.key not in files:
            return  # already pinned: it came from the database
        name, text = files[model.key]
        wanted = PinnedModel(model.id, model.version, model.kind, Path(name).name, text, _digest(text))
        kept = self.store.pin_model(wanted, self.now())
        if kept.sha256 != wanted.sha256:
            raise ConflictError(
                "model version",
                f"{model.key}: {name} differs from the text pinned by earlier campaigns; give the model a new version",
            )

    # -- reading -------------------------------------------------------------------------------

    def _get(self, assessment_id: str) -> Assessment:
        found = self.store.get(assessment_id)
        if found is None:
            raise NotFoundError("assessment", assessment_id)
        return found

    def _seen(self, principal: Principal, assessment_id: str, needed: Access = Access.RESULTS) -> Assessment:
        """The campaign, if ``principal`` may see it at ``needed``; else "not found" (no level: it does not exist
        for them) or "not allowed" (they see its results but not the campaign)."""
        found = self.store.get(assessment_id)
        if found is None:
            raise NotFoundError("assessment", assessment_id)
        decision = decide(viewer_of(principal), found)
        if decision.access is Access.NONE:
            raise NotFoundError("assessment", assessment_id)
        if decision.access < needed:
            raise PermissionDeniedError("read the campaign record of", f"assessment {assessment_id}")
        return found

    def decision(self, principal: Principal, assessment_id: str) -> AccessDecision:
        found = self._seen(principal, assessment_id)
        return decide(viewer_of(principal), found)

    def get(self, principal: Principal, assessment_id: str) -> Assessment:
        return self._seen(principal, assessment_id)

    def campaigns(
        self,
        principal: Principal,
        *,
        country: str | None = None,
        model_id: str | None = None,
        state: State | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[Assessment], int]:
        """The campaigns ``principal`` may see (newest first), one page, and how many there are in all.

        Campaigns are few (a handful per country), so the visibility rule runs here on every campaign rather than
        in SQL."""
        if limit < 1 or limit > 500:
            raise ValidationError("limit", "must be between 1 and 500")
        if offset < 0:
            raise ValidationError("offset", "must not be negative")
        viewer = viewer_of(principal)
        visible = [
            x
            for x in self.store.list_assessments(country=country, model_id=model_id, state=state)
            if decide(viewer, x).access is not Access.NONE
        ]
        return visible[offset : offset + limit], len(visible)

    def contributions(self, principal: Principal, assessment_id: str) -> list[Contribution]:
        self._seen(principal, assessment_id, Access.CAMPAIGN)
        return self.store.contributions(assessment_id)

    def consensus(self, principal: Principal, assessment_id: str) -> dict[str, Consensus]:
        found = self._seen(principal, assessment_id)
        settled = self.store.consensus(assessment_id)
        if decide(viewer_of(principal), found).access is Access.CAMPAIGN:
            return settled
        # Shared results carry the consensus answers, not who disagreed with whom.
        return {key: replace(item, disagreement=(), decided_by="") for key, item in settled.items()}

    def evidence(self, principal: Principal, assessment_id: str) -> list[Evidence]:
        self._seen(principal, assessment_id, Access.CAMPAIGN)
        return self.store.evidence(assessment_id)

    def events(self, principal: Principal, assessment_id: str) -> list[AssessmentEvent]:
        self._seen(principal, assessment_id, Access.CAMPAIGN)
        return self.store.events(assessment_id)

    def review(self, principal: Principal, assessment_id: str) -> list[ReviewItem]:
        """Every indicator of the model with its contributions and consensus, in model order."""
        found = self._seen(principal, assessment_id, Access.CAMPAIGN)
        model = self.model(found.model_key)
        by_indicator: dict[str, list[Contribution]] = {}
        for item in self.store.contributions(assessment_id):
            by_indicator.setdefault(item.indicator_id, []).append(item)
        settled = self.store.consensus(assessment_id)
        items = []
        for indicator in model.indicators():
            given = tuple(by_indicator.get(indicator.id, ()))
            answers = {c.answer for c in given}
            agreed = next(iter(answers)) if len(answers) == 1 else None
            items.append(ReviewItem(indicator.id, given, agreed, settled.get(indicator.id)))
        return items

    def document(self, principal: Principal, assessment_id: str, evidence_id: str) -> tuple[Evidence, bytes]:
        self._seen(principal, assessment_id, Access.CAMPAIGN)
        item = next((e for e in self.store.evidence(assessment_id) if e.id == evidence_id), None)
        content = self.store.document(assessment_id, evidence_id) if item is not None else None
        if item is None or content is None:
            raise NotFoundError("document", evidence_id)
        return item, content

    # -- results -------------------------------------------------------------------------------

    def answers_of(self, found: Assessment) -> tuple[dict[str, Answer], bool]:
        """The answers the campaign is scored on, and whether they are provisional (see :class:`CampaignView`)."""
        settled = self.store.consensus(found.id)
        answers = {key: item.answer for key, item in settled.items()}
        if found.state is State.FINAL:
            return answers, False
        by_indicator: dict[str, set[Answer]] = {}
        for item in self.store.contributions(found.id):
            by_indicator.setdefault(item.indicator_id, set()).add(item.answer)
        for indicator_id, given in by_indicator.items():
            if indicator_id not in answers and len(given) == 1:
                answers[indicator_id] = next(iter(given))
        return answers, True

    def _result(self, found: Assessment) -> tuple[Model, dict[str, Answer], ModelResult | WeightedResult, bool]:
        model = self.model(found.model_key)
        answers, provisional = self.answers_of(found)
        known = {key: value for key, value in answers.items() if _has(model, key)}
        return model, known, score(model, known), provisional

    def view(self, principal: Principal, assessment_id: str) -> CampaignView:
        found = self._seen(principal, assessment_id)
        decision = decide(viewer_of(principal), found)
        model, answers, result, provisional = self._result(found)
        roadmap = build_roadmap(model, result, target=found.target_stage) if isinstance(result, ModelResult) else None
        comparison = None
        if found.previous_id is not None:
            previous = self.store.get(found.previous_id)
            if previous is not None and decide(viewer_of(principal), previous).access is not Access.NONE:
                _, _, before, _ = self._result(previous)
                try:
                    comparison = compare(before, result)
                except ValidationError:
                    comparison = None
        return CampaignView(found, decision, model, answers, result, roadmap, comparison, provisional)

    def compare(self, principal: Principal, assessment_id: str, other_id: str) -> Comparison:
        """``other_id``'s result before ``assessment_id``'s (both readable by ``principal``, same model)."""
        later = self._seen(principal, assessment_id)
        earlier = self._seen(principal, other_id)
        _, _, before, _ = self._result(earlier)
        _, _, after, _ = self._result(later)
        return compare(before, after)

    def benchmark(self, principal: Principal, model_key: str) -> BenchmarkView:
        """Coalition aggregates of the newest final campaign of each country on ``model_key``.

        Every final campaign counts towards the aggregates, whatever its visibility, since an aggregate of at least
        ``benchmark_minimum`` countries names none of them; an aggregate of fewer is suppressed by the engine. A
        country's own values are shown only from a campaign the viewer may read."""
        model = self.model(model_key)
        newest: dict[str, Assessment] = {}
        for found in self.store.finals(model.id, model.version):
            newest.setdefault(found.country, found)
        results: dict[str, ModelResult | WeightedResult] = {}
        for country, found in newest.items():
            results[country] = self._result(found)[2]
        minimum = self.benchmark_minimum
        bench: StageBenchmark | WeightedBenchmark | None = None
        stage_rows = [(c, r) for c, r in results.items() if isinstance(r, ModelResult)]
        weighted_rows = [(c, r) for c, r in results.items() if isinstance(r, WeightedResult)]
        if stage_rows:
            bench = benchmark_stages(stage_rows, minimum=minimum)
        elif weighted_rows:
            bench = benchmark_weighted(weighted_rows, minimum=minimum)
        own = newest.get(principal.org.country)
        positions: tuple[SubjectPosition, ...] = ()
        if own is not None and decide(viewer_of(principal), own).access is not Access.NONE:
            mine = results[own.country]
            if isinstance(bench, StageBenchmark) and isinstance(mine, ModelResult):
                positions = stage_positions(bench, mine)
            elif isinstance(bench, WeightedBenchmark) and isinstance(mine, WeightedResult):
                positions = weighted_positions(bench, mine)
        else:
            own = None
        countries = len(newest) if len(newest) >= minimum else None
        return BenchmarkView(model, bench, own, positions, countries)

    def report(self, principal: Principal, assessment_id: str, *, language: str = "en", fmt: str = "html") -> bytes:
        """The campaign's report (``fmt`` ``html`` or ``pdf``) in ``language`` (``en``, ``ar`` or ``fr``), from the
        same result as :meth:`view`: for a stages model the radar chart, stage table, strengths and the prioritised
        roadmap; for a weighted model the score and tier, the pillar chart and table, strengths and the ranked gaps."""
        from ribat.capacity.report import render_weighted_html, render_weighted_pdf

        if fmt not in ("html", "pdf"):
            raise ValidationError("format", f"{fmt!r} is not one of html, pdf")
        if language not in LANGUAGES:
            raise ValidationError("language", f"{language!r} is not one of {', '.join(LANGUAGES)}")
        shown = self.view(principal, assessment_id)
        found, model, result = shown.assessment, shown.model, shown.result
        when = found.final_us or found.updated_us
        assessed = format_datetime(datetime.fromtimestamp(when / 1e6, tz=UTC), "medium", locale=language)
        if shown.provisional:
            assessed = f"{assessed} ({_PROVISIONAL[language]})"
        if isinstance(result, WeightedResult):
            weighted: dict[str, Any] = {
                "country": found.country,
                "country_name": country_name(found.country, language),
                "language": language,
                "assessed": assessed,
            }
            if fmt == "pdf":
                return render_weighted_pdf(model, result, **weighted)
            return render_weighted_html(model, result, **weighted).encode("utf-8")
        if shown.roadmap is None:
            raise ValidationError("model", f"{model.key}: no roadmap for this result")
        gaps = [
            GapLine(
                id=gap.id,
                factor=localized(model.factor(gap.factor_id).name, language),
                current_stage=gap.current_stage,
                target_stage=gap.target_stage,
                todo=len(gap.to_meet),
            )
            for gap in shown.roadmap.gaps
        ]
        strengths = [
            f"{localized(model.factor(s.factor_id).name, language)} — "
            f"{localized(model.stages[s.stage - 1].name, language)}"
            for s in shown.roadmap.strengths
            if s.stage >= 1
        ]
        options: dict[str, Any] = {
            "country": found.country,
            "country_name": country_name(found.country, language),
            "language": language,
            "assessed": assessed,
            "gaps": gaps,
            "strengths": strengths,
        }
        if fmt == "pdf":
            return render_pdf(model, result, **options)
        return render_html(model, result, **options).encode("utf-8")

    def export(self, principal: Principal, assessment_id: str, *, fmt: str = "csv", language: str = "en") -> bytes:
        """Every answer of the campaign as CSV or JSON (``ribat.capacity.answers_io``, ``docs/capacity-answers.md``).

        Participants and the assessed organisation get the consensus with each contributor's answer and the
        evidence; a viewer of shared results gets the consensus answers alone, without who settled them."""
        if fmt not in ("csv", "json"):
            raise ValidationError("format", f"{fmt!r} is not one of csv, json")
        if language not in LANGUAGES:
            raise ValidationError("language", f"{language!r} is not one of {', '.join(LANGUAGES)}")
        found = self._seen(principal, assessment_id)
        model = self.model(found.model_key)
        full = decide(viewer_of(principal), found).access is Access.CAMPAIGN
        if not full:
            # Shared results name no one: not the lead, not the creator, not the participants.
            found = replace(found, lead_user_id="", created_by="", participants=())
        settled = self.consensus(principal, assessment_id)
        given = self.store.contributions(assessment_id) if full else []
        items = self.store.evidence(assessment_id) if full else []
        people = {p.user_id for p in found.participants} | {c.user_id for c in given}
        people |= {c.decided_by for c in settled.values() if c.decided_by}
        users = {}
        for user_id in people:
            try:
                users[user_id] = self.accounts.get_user(user_id).email
            except NotFoundError:
                users[user_id] = user_id
        if fmt == "csv":
            text = export_csv(model, found, settled, given, items, users=users, language=language)
            return text.encode("utf-8")
        data = export_json(model, found, settled, given, items, users=users, language=language)
        return orjson.dumps(data, option=orjson.OPT_INDENT_2)

    def import_answers(
        self,
        principal: Principal,
        assessment_id: str,
        data: bytes,
        *,
        filename: str | None = None,
        fmt: str | None = None,
        source: str = "consensus",
        as_consensus: bool = False,
    ) -> Outcome:
        """Answers read from a CSV or JSON file (``answers_io.read_answers``) saved as the caller's own answers, or
        with ``as_consensus`` settled as consensus answers (review). Problems of the file and of the answers are
        reported together, each naming its line; the valid answers are saved. ``source`` picks the rows of a file
        that has a source column: ``consensus`` rows, the caller's own ``contributor`` rows, or ``any`` row."""
        found = self._seen(principal, assessment_id, Access.CAMPAIGN)
        if source not in ("consensus", "contributor", "any"):
            raise ValidationError("source", f"{source!r} is not one of consensus, contributor, any")
        parsed = read_answers(
            self.model(found.model_key),
            data,
            filename=filename,
            fmt=fmt,
            source=None if source == "any" else source,
            user=principal.user.email if source == "contributor" else None,
        )
        given: dict[str, tuple[Answer | str, str]] = dict(parsed.answers)
        if as_consensus:
            done = self.settle(principal, assessment_id, given)
        else:
            done = self.answer(principal, assessment_id, given)
        return Outcome(done.saved, (*parsed.problems, *done.problems))

    # -- creating and managing -----------------------------------------------------------------

    def create(
        self,
        principal: Principal,
        *,
        org_ref: str,
        model_key: str,
        title: str,
        lead_ref: str | None = None,
        target_stage: str | None = None,
    ) -> Assessment:
        """A new draft campaign assessing ``org_ref``'s country on ``model_key`` (pinned now).

        The creator becomes the lead, or an observer when ``lead_ref`` names someone else. The campaign is compared
        with the country's newest final campaign on the same model, if any."""
        org = self.accounts.get_org(org_ref)
        if principal.user.role is not Role.ADMIN and not (
            principal.user.role is Role.ANALYST and principal.org.id == org.id
        ):
            raise PermissionDeniedError("create an assessment of", org.short_name)
        model = self.model(model_key)
        title = _clean_text(title, "title", MAX_TITLE, required=True)
        if target_stage is not None:
            if model.kind != "stages":
                raise ValidationError("target_stage", f"{model.key} is a weighted model: it has no stages")
            model.stage(target_stage)
        lead = principal.user if lead_ref is None else self.accounts.get_user(lead_ref)
        if not lead.is_active:
            raise ValidationError("lead", f"{lead.email} is not an active user")
        if lead.role is Role.SYNC:
            raise ValidationError("lead", "a peer hub's service account cannot take part in an assessment")
        self._pin(model)
        now = self.now()
        people = [Participant(lead.id, lead.org_id, ParticipantRole.LEAD, now)]
        if lead.id != principal.user.id:
            people.append(Participant(principal.user.id, principal.org.id, ParticipantRole.OBSERVER, now))
        previous = self.store.latest_final(org.country, model.id)
        found = Assessment(
            id=self.new_id(),
            title=title,
            country=org.country,
            org_id=org.id,
            model_id=model.id,
            model_version=model.version,
            state=State.DRAFT,
            lead_user_id=lead.id,
            created_by=principal.user.id,
            created_us=now,
            updated_us=now,
            target_stage=target_stage,
            previous_id=None if previous is None else previous.id,
            participants=tuple(people),
        )
        self.store.add(found, AssessmentEvent(now, principal.user.id, "created", f"{model.key} {org.short_name}"))
        return found

    def _role(self, principal: Principal, found: Assessment) -> ParticipantRole | None:
        mine = found.participant(principal.user.id)
        return None if mine is None else mine.role

    def _require(
        self, principal: Principal, found: Assessment, allowed: Sequence[ParticipantRole], action: str
    ) -> None:
        role = self._role(principal, found)
        if role is None or role not in allowed:
            raise PermissionDeniedError(action, f"assessment {found.id}")

    def _event(self, principal: Principal, action: str, detail: str = "") -> AssessmentEvent:
        return AssessmentEvent(self.now(), principal.user.id, action, detail)

    def add_participant(self, principal: Principal, assessment_id: str, user_ref: str, role: str) -> Assessment:
        found = self._seen(principal, assessment_id, Access.CAMPAIGN)
        self._require(principal, found, (ParticipantRole.LEAD,), "manage the participants of")
        try:
            wanted = ParticipantRole(role)
        except ValueError:
            raise ValidationError(
                "role", f"{role!r} is not one of {', '.join(r.value for r in ParticipantRole)}"
            ) from None
        user = self.accounts.get_user(user_ref)
        if not user.is_active:
            raise ValidationError("user", f"{user.email} is not an active user")
        if user.role is Role.SYNC:
            raise ValidationError("user", "a peer hub's service account cannot take part in an assessment")
        if user.id == found.lead_user_id and wanted is not ParticipantRole.LEAD:
            raise ValidationError("role", "appoint another lead first: a campaign always has one")
        self.store.put_participant(
            assessment_id,
            DRAFT_OR_REVIEW,
            Participant(user.id, user.org_id, wanted, self.now()),
            self._event(principal, "participant", f"{user.email} {wanted.value}"),
        )
        return self._get(assessment_id)

    def remove_participant(self, principal: Principal, assessment_id: str, user_ref: str) -> Assessment:
        found = self._seen(principal, assessment_id, Access.CAMPAIGN)
        self._require(principal, found, (ParticipantRole.LEAD,), "manage the participants of")
        user = self.accounts.get_user(user_ref)
        if user.id == found.lead_user_id:
            raise ValidationError("user", "the lead cannot be removed; appoint another lead first")
        self.store.remove_participant(
            assessment_id, DRAFT_OR_REVIEW, user.id, self._event(principal, "participant-removed", user.email)
        )
        return self._get(assessment_id)

    def set_target(self, principal: Principal, assessment_id: str, target_stage: str | None) -> Assessment:
        found = self._seen(principal, assessment_id, Access.CAMPAIGN)
        self._require(principal, found, (ParticipantRole.LEAD,), "set the target of")
        model = self.model(found.model_key)
        if target_stage is not None:
            if model.kind != "stages":
                raise ValidationError("target_stage", f"{model.key} is a weighted model: it has no stages")
            model.stage(target_stage)
        self.store.set_target(
            assessment_id, DRAFT_OR_REVIEW, target_stage, self._event(principal, "target", target_stage or "next")
        )
        return self._get(assessment_id)

    def set_visibility(self, principal: Principal, assessment_id: str, visibility: Visibility) -> Assessment:
        """Who beyond the campaign may read its results once final. Decided by the lead or by an admin or analyst
        of the assessed organisation: it is the assessed country's choice."""
        found = self._seen(principal, assessment_id, Access.CAMPAIGN)
        own_org = principal.org.id == found.org_id and principal.user.role in (Role.ADMIN, Role.ANALYST)
        if not own_org and self._role(principal, found) is not ParticipantRole.LEAD:
            raise PermissionDeniedError("set who may see", f"assessment {assessment_id}")
        if visibility.scope is VisibilityScope.CIRCLES:
            if not visibility.circle_ids:
                raise ValidationError("circles", "name at least one trust circle")
            circles = {c.id for c in self.accounts.list_circles()}
            unknown = sorted(visibility.circle_ids - circles)
            if unknown:
                raise ValidationError("circles", f"unknown trust circle(s): {', '.join(unknown)}")
        elif visibility.circle_ids:
            raise ValidationError("circles", f"circles are named only with the scope {VisibilityScope.CIRCLES.value}")
        if visibility.scope is VisibilityScope.ORGANISATIONS:
            if not visibility.org_ids:
                raise ValidationError("organisations", "name at least one organisation")
            orgs = {o.id for o in self.accounts.list_orgs()}
            unknown = sorted(visibility.org_ids - orgs)
            if unknown:
                raise ValidationError("organisations", f"unknown organisation(s): {', '.join(unknown)}")
        elif visibility.org_ids:
            raise ValidationError(
                "organisations", f"organisations are named only with the scope {VisibilityScope.ORGANISATIONS.value}"
            )
        self.store.set_visibility(
            assessment_id, ANY_STATE, visibility, self._event(principal, "visibility", visibility.scope.value)
        )
        return self._get(assessment_id)

    # -- answering -----------------------------------------------------------------------------

    def answer(
        self, principal: Principal, assessment_id: str, answers: Mapping[str, tuple[Answer | str, str]]
    ) -> Outcome:
        """Set the caller's own answers (indicator id → (answer, comment)). Each bad item is reported and left out;
        the others are saved together."""
        found = self._seen(principal, assessment_id, Access.CAMPAIGN)
        role = self._role(principal, found)
        if role is None or not role.answers:
            raise PermissionDeniedError("answer in", f"assessment {assessment_id}")
        model = self.model(found.model_key)
        good, problems = self._check_answers(model, answers)
        if not good:
            if found.state is not State.DRAFT:
                raise StateError("assessment", assessment_id, found.state.value, "change answers")
            return Outcome(0, tuple(problems))
        self.store.put_contributions(assessment_id, (State.DRAFT,), principal.user.id, good, self.now())
        return Outcome(len(good), tuple(problems))

    def _check_answers(
        self, model: Model, answers: Mapping[str, tuple[Answer | str, str]]
    ) -> tuple[dict[str, tuple[Answer, str]], list[str]]:
        good: dict[str, tuple[Answer, str]] = {}
        problems: list[str] = []
        for indicator_id, (value, comment) in answers.items():
            if not _has(model, indicator_id):
                problems.append(f"{indicator_id}: not an indicator of {model.key}")
                continue
            try:
                answer = value if isinstance(value, Answer) else parse_answer(str(value))
                text = _clean_text(comment or "", "comment", MAX_COMMENT)
            except ValidationError as exc:
                problems.append(f"{indicator_id}: {exc.message}")
                continue
            good[indicator_id] = (answer, text)
        return good, problems

    def settle(
        self, principal: Principal, assessment_id: str, answers: Mapping[str, tuple[Answer | str, str]]
    ) -> Outcome:
        """Settle consensus answers in review. Where the contributors' answers differ, each one's answer is kept
        with the consensus."""
        found = self._seen(principal, assessment_id, Access.CAMPAIGN)
        self._require(principal, found, (ParticipantRole.LEAD, ParticipantRole.REVIEWER), "settle answers in")
        model = self.model(found.model_key)
        good, problems = self._check_answers(model, answers)
        given: dict[str, list[Contribution]] = {}
        for item in self.store.contributions(assessment_id):
            given.setdefault(item.indicator_id, []).append(item)
        now = self.now()
        items = []
        for indicator_id, (answer, comment) in good.items():
            theirs = given.get(indicator_id, [])
            disagreement = tuple((c.user_id, c.answer) for c in theirs) if len({c.answer for c in theirs}) > 1 else ()
            items.append(Consensus(indicator_id, answer, comment, principal.user.id, now, disagreement))
        if not items:
            if found.state is not State.REVIEW:
                raise StateError("assessment", assessment_id, found.state.value, "settle answers")
            return Outcome(0, tuple(problems))
        disputed = sum(1 for item in items if item.disagreement)
        self.store.put_consensus(
            assessment_id,
            (State.REVIEW,),
            items,
            self._event(principal, "settled", f"{len(items)} answer(s), {disputed} disputed"),
        )
        return Outcome(len(items), tuple(problems))

    def settle_agreed(self, principal: Principal, assessment_id: str) -> Outcome:
        """Settle, as they stand, every indicator not yet settled on which all contributors gave the same answer."""
        pending: dict[str, tuple[Answer | str, str]] = {}
        for item in self.review(principal, assessment_id):
            if item.consensus is None and item.agreed is not None:
                comments = " / ".join(c.comment for c in item.contributions if c.comment)
                pending[item.indicator_id] = (item.agreed, comments[:MAX_COMMENT])
        return self.settle(principal, assessment_id, pending)

    def transition(self, principal: Principal, assessment_id: str, to: State | str) -> Assessment:
        """Move the campaign: draft → review, review → draft (reopen), review → final. Only the lead may.

        Going final needs a consensus answer for every indicator ("unknown" is an answer); the final campaign keeps
        a digest of its model text and answers, and changes no more."""
        found = self._seen(principal, assessment_id, Access.CAMPAIGN)
        self._require(principal, found, (ParticipantRole.LEAD,), "change the state of")
        try:
            target = State(to)
        except ValueError:
            raise ValidationError("state", f"{to!r} is not one of {', '.join(s.value for s in State)}") from None
        now = self.now()
        if (found.state, target) == (State.DRAFT, State.REVIEW):
            self.store.set_state(
                assessment_id, (State.DRAFT,), State.REVIEW, self._event(principal, "state", "review"), review_us=now
            )
        elif (found.state, target) == (State.REVIEW, State.DRAFT):
            self.store.set_state(assessment_id, (State.REVIEW,), State.DRAFT, self._event(principal, "state", "draft"))
        elif (found.state, target) == (State.REVIEW, State.FINAL):
            model = self.model(found.model_key)
            settled = self.store.consensus(assessment_id)
            missing = [i.id for i in model.indicators() if i.id not in settled]
            if missing:
                shown = ", ".join(missing[:10]) + (" …" if len(missing) > 10 else "")
                raise ValidationError("state", f"{len(missing)} indicator(s) have no consensus answer yet: {shown}")
            pinned = self.store.pinned_model(model.id, model.version)
            canonical = orjson.dumps(
                {
                    "model": model.key,
                    "model_sha256": None if pinned is None else pinned.sha256,
                    "answers": {key: [item.answer.value, item.comment] for key, item in sorted(settled.items())},
                },
                option=orjson.OPT_SORT_KEYS,
            )
            self.store.set_state(
                assessment_id,
                (State.REVIEW,),
                State.FINAL,
                self._event(principal, "state", "final"),
                final_us=now,
                final_digest=hashlib.sha256(canonical).hexdigest(),
            )
        else:
            raise ValidationError("state", f"cannot go from {found.state.value} to {target.value}")
        return self._get(assessment_id)

    # -- evidence ------------------------------------------------------------------------------

    def _evidence_check(self, principal: Principal, assessment_id: str, indicator_id: str) -> Assessment:
        found = self._seen(principal, assessment_id, Access.CAMPAIGN)
        role = self._role(principal, found)
        if role is None or not role.answers:
            raise PermissionDeniedError("add evidence to", f"assessment {assessment_id}")
        if not _has(self.model(found.model_key), indicator_id):
            raise ValidationError("indicator", f"{indicator_id!r} is not an indicator of {found.model_key}")
        return found

    def add_link(
        self, principal: Principal, assessment_id: str, indicator_id: str, url: str, title: str = ""
    ) -> Evidence:
        self._evidence_check(principal, assessment_id, indicator_id)
        url = url.strip()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValidationError("url", "must be an http or https address")
        if len(url) > 2000:
            raise ValidationError("url", "is longer than 2000 characters")
        item = Evidence(
            id=self.new_id(),
            indicator_id=indicator_id,
            kind=EvidenceKind.LINK,
            title=_clean_text(title, "title", 300) or url[:300],
            status=EvidenceStatus.ACCEPTED,
            added_by=principal.user.id,
            added_us=self.now(),
            url=url,
        )
        self.store.add_evidence(assessment_id, DRAFT_OR_REVIEW, [item])
        return item

    def add_document(
        self,
        principal: Principal,
        assessment_id: str,
        indicator_id: str,
        filename: str,
        content: bytes,
        title: str = "",
    ) -> Evidence:
        """Keep an uploaded document (in the database: the name given is never used as a path)."""
        self._evidence_check(principal, assessment_id, indicator_id)
        if len(content) > self.max_document_bytes:
            raise ValidationError("document", f"is {len(content)} bytes; the limit is {self.max_document_bytes} bytes")
        if not content:
            raise ValidationError("document", "is empty")
        name = safe_filename(filename)
        suffix = Path(name).suffix.lower()
        if suffix not in DOCUMENT_TYPES:
            allowed = ", ".join(sorted(DOCUMENT_TYPES))
            raise ValidationError("document", f"{suffix or 'no extension'} is not accepted; use one of {allowed}")
        if suffix == ".pdf" and not content.startswith(b"%PDF-"):
            raise ValidationError("document", "is named .pdf but is not a PDF")
        item = Evidence(
            id=self.new_id(),
            indicator_id=indicator_id,
            kind=EvidenceKind.DOCUMENT,
            title=_clean_text(title, "title", 300) or name,
            status=EvidenceStatus.ACCEPTED,
            added_by=principal.user.id,
            added_us=self.now(),
            filename=name,
            media_type=DOCUMENT_TYPES.get(suffix) or mimetypes.types_map.get(suffix, "application/octet-stream"),
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
        )
        self.store.add_evidence(assessment_id, DRAFT_OR_REVIEW, [item], content)
        return item

    def remove_evidence(self, principal: Principal, assessment_id: str, evidence_id: str) -> None:
        found = self._seen(principal, assessment_id, Access.CAMPAIGN)
        item = next((e for e in self.store.evidence(assessment_id) if e.id == evidence_id), None)
        if item is None:
            raise NotFoundError("evidence", evidence_id)
        role = self._role(principal, found)
        if not (role is not None and (role.settles or (role.answers and item.added_by == principal.user.id))):
            raise PermissionDeniedError("remove evidence from", f"assessment {assessment_id}")
        self.store.remove_evidence(assessment_id, DRAFT_OR_REVIEW, evidence_id)

    def propose_platform_evidence(
        self,
        principal: Principal,
        assessment_id: str,
        *,
        days: int = DEFAULT_WINDOW_DAYS,
        end_us: int | None = None,
        language: str = "en",
    ) -> list[Evidence]:
        """Measure, over the ``days`` days before ``end_us`` (now), what the assessed country's organisations did on
        the hub, and propose each figure as evidence to every indicator of the model that names its metric. The
        lead or a reviewer then accepts or rejects each. A figure already proposed for the same indicator and window
        is not proposed twice. Returns the new items."""
        found = self._seen(principal, assessment_id, Access.CAMPAIGN)
        role = self._role(principal, found)
        if role is None or not role.answers:
            raise PermissionDeniedError("add evidence to", f"assessment {assessment_id}")
        if self.intel is None:
            raise ValidationError("evidence", "this hub computes no platform evidence")
        if days > 3660:
            raise ValidationError("days", f"must be at most 3660, not {days}")
        window = window_for(self.now() if end_us is None else end_us, days)
        model = self.model(found.model_key)
        wanted = [(i.id, metric) for i in model.indicators() for metric in i.evidence]
        if not wanted:
            return []
        orgs = [o for o in self.accounts.list_orgs() if o.country == found.country]
        activity = self.intel.sharing_activity([o.id for o in orgs], window.start_us, window.end_us)
        names = [o.name for o in orgs]
        values = {
            metric: measure(metric, activity, organisations=names, language=language)
            for metric in {m for _, m in wanted}
        }
        have = {
            (e.indicator_id, e.metric, e.window_start_us, e.window_end_us)
            for e in self.store.evidence(assessment_id)
            if e.kind is EvidenceKind.PLATFORM
        }
        now = self.now()
        items = []
        for indicator_id, metric in wanted:
            value = values[metric]
            if (indicator_id, metric, value.window_start_us, value.window_end_us) in have:
                continue
            items.append(
                Evidence(
                    id=self.new_id(),
                    indicator_id=indicator_id,
                    kind=EvidenceKind.PLATFORM,
                    title=localized(METRICS[metric].title, language),
                    status=EvidenceStatus.PROPOSED,
                    added_by=principal.user.id,
                    added_us=now,
                    metric=metric,
                    query=value.query,
                    window_start_us=value.window_start_us,
                    window_end_us=value.window_end_us,
                    value=value.value,
                )
            )
        self.store.add_evidence(assessment_id, DRAFT_OR_REVIEW, items)
        return items

    def decide_evidence(self, principal: Principal, assessment_id: str, evidence_id: str, accept: bool) -> Evidence:
        found = self._seen(principal, assessment_id, Access.CAMPAIGN)
        self._require(principal, found, (ParticipantRole.LEAD, ParticipantRole.REVIEWER), "decide on evidence in")
        status = EvidenceStatus.ACCEPTED if accept else EvidenceStatus.REJECTED
        self.store.decide_evidence(assessment_id, DRAFT_OR_REVIEW, evidence_id, status, principal.user.id, self.now())
        return next(e for e in self.store.evidence(assessment_id) if e.id == evidence_id)


_PROVISIONAL = {"en": "provisional", "ar": "مؤقت", "fr": "provisoire"}


def country_name(code: str, language: str) -> str:
    """The country's name in ``language`` (CLDR, through Babel), or the code when CLDR has none."""
    try:
        names = Locale.parse(language).territories
    except (ValueError, UnknownLocaleError):
        names = Locale("en").territories
    return str(names.get(code.upper(), code))


def _has(model: Model, indicator_id: str) -> bool:
    return indicator_id in _indicator_ids(model)


_IDS: dict[int, tuple[Model, frozenset[str]]] = {}


def _indicator_ids(model: Model) -> frozenset[str]:
    """The model's indicator ids (remembered per model object: models are immutable and few)."""
    kept = _IDS.get(id(model))
    if kept is None or kept[0] is not model:
        kept = (model, frozenset(i.id for i in model.indicators()))
        _IDS[id(model)] = kept
    return kept[1]


def _version_order(version: str) -> tuple[Any, ...]:
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"[.\-]", version))
