"""Imports with their reports, report extraction with review, and exports: pages over
``ribat.formats.imports.Imports`` and ``ribat.formats.exporting.Exports`` (the same services
as ``/api/v1``; docs/formats-import.md, docs/formats-export.md)."""

from __future__ import annotations

import io
import re
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import IO, Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from starlette.background import BackgroundTask
from starlette.responses import Response, StreamingResponse

from ribat.accounts import Principal
from ribat.errors import (
    EnvelopeError,
    NotFoundError,
    PermissionDeniedError,
    RibatError,
    TooLargeError,
    ValidationError,
)
from ribat.formats.exporting import ExportReport, Exports, hub_orgc
from ribat.formats.exports import BLOCKLIST_KINDS, FORMATS, ExportFilter, SuricataOptions, parse_filter, reason_text
from ribat.formats.imports import KINDS as IMPORT_KIND_CODES
from ribat.formats.imports import Extraction, ExtractionCandidate, Imports
from ribat.intel import Collection, Tlp
from ribat.intel.observables import KINDS as VALUE_KIND_CODES
from ribat.web.ui.context import Context, Ctx
from ribat.web.ui.i18n import N_

__all__ = [
    "CANDIDATE_STATUSES",
    "EXPORT_FORMATS",
    "IMPORT_KINDS",
    "MAP_LABELS",
    "RUN_STATUSES",
    "SKIP_REASONS",
    "VALUE_KINDS",
    "Problem",
    "highlight",
    "router",
]

router = APIRouter(include_in_schema=False)

RUNS_PER_PAGE = 25
REPORT_PER_PAGE = 100
EXTRACTIONS_PER_PAGE = 25

IMPORT_KINDS: dict[str, str] = {
    "stix": N_("STIX bundle or TAXII envelope (2.0 or 2.1)"),
    "misp": N_("MISP event (JSON)"),
    "csv": N_("CSV with a column mapping"),
    "ioc-list": N_("List of indicators, one a line"),
    "openioc": N_("OpenIOC (XML)"),
}
assert tuple(IMPORT_KINDS) == IMPORT_KIND_CODES
# Run kinds: the import kinds, and the publication of a report's reviewed candidates.
RUN_KINDS: dict[str, str] = {
    "stix": N_("STIX file"),
    "misp": N_("MISP event"),
    "csv": N_("CSV file"),
    "ioc-list": N_("Indicator list"),
    "openioc": N_("OpenIOC document"),
    "report": N_("Report review"),
}
RUN_STATUSES: dict[str, str] = {
    "running": N_("running"),
    "complete": N_("complete"),
    "failed": N_("failed"),
}
CANDIDATE_STATUSES: dict[str, str] = {
    "pending": N_("awaiting review"),
    "accepted": N_("published"),
    "rejected": N_("rejected"),
}
# Observable kinds (``ribat.intel.observables.KINDS``): CSV and IOC-list types, candidates, blocklists.
VALUE_KINDS: dict[str, str] = {
    "ipv4": N_("IPv4 address"),
    "ipv6": N_("IPv6 address"),
    "domain": N_("Domain name"),
    "url": N_("URL"),
    "email": N_("Email address"),
    "filename": N_("File name"),
    "md5": N_("File hash (MD5)"),
    "sha1": N_("File hash (SHA-1)"),
    "sha256": N_("File hash (SHA-256)"),
    "sha512": N_("File hash (SHA-512)"),
    "sha3-256": N_("File hash (SHA3-256)"),
    "sha3-512": N_("File hash (SHA3-512)"),
    "ssdeep": N_("Fuzzy hash (ssdeep)"),
    "tlsh": N_("Fuzzy hash (TLSH)"),
}
assert set(VALUE_KINDS) == VALUE_KIND_CODES
BLOCKLIST_LABELS: dict[str, str] = {**VALUE_KINDS, "ip": N_("IP address (IPv4 and IPv6)")}
assert set(BLOCKLIST_KINDS) <= set(BLOCKLIST_LABELS)
EXPORT_FORMATS: dict[str, str] = {
    "stix": N_("STIX 2.1 bundle"),
    "misp": N_("MISP event JSON"),
    "misp-feed": N_("MISP feed (a zip of its directory)"),
    "csv": N_("CSV, one row per detection value"),
    "blocklist": N_("Blocklist of one kind of value"),
    "suricata": N_("Suricata rules"),
    "zeek": N_("Zeek Intel framework file"),
}
assert set(EXPORT_FORMATS) == set(FORMATS)
# Why an export left an object out (``ribat.formats.exports.reason_text``).
SKIP_REASONS: dict[str, str] = {
    "duplicate": N_("already exported from another collection"),
    "type": N_("not of the type asked for"),
    "not_indicator": N_("not an indicator (detection formats list indicator values)"),
    "tlp": N_("TLP above the highest asked for"),
    "revoked": N_("revoked"),
    "undated": N_("no modified or created time to compare with the dates"),
    "before_since": N_("modified before the start date"),
    "after_until": N_("modified after the end date"),
    "no_confidence": N_("no confidence to compare with the minimum"),
    "low_confidence": N_("confidence below the minimum"),
    "expired": N_("indicator past its end of validity"),
    "not_yet_valid": N_("indicator not yet valid"),
    "flagged": N_("a value is on a warninglist"),
    "bad_timestamp": N_("a timestamp that cannot be read"),
    "not_detection_shape": N_("pattern is not a plain list of values"),
    "unsupported_url": N_("URL scheme a Suricata HTTP rule cannot match"),
    "unsafe_value": N_("value with characters the format cannot carry"),
    "duplicate_value": N_("value already written for another indicator"),
    "not_carried_into_misp": N_("not carried into MISP by misp-stix"),
    "refused_by_misp_feed": N_("MISP event the feed writer refused"),
}
_UNSUPPORTED = N_("%(kind)s values cannot be written in this format")
_OTHER_KIND = N_("%(kind)s values, not of the blocklist's kind")

# The CSV mapping's fields (``ribat.formats.tabular.parse_mapping``), each a form field ``map_<field>``.
MAP_LABELS: dict[str, str] = {
    "value": N_("Value column"),
    "type": N_("Type column"),
    "name": N_("Name column"),
    "description": N_("Description column"),
    "valid_from": N_("Valid-from column"),
    "confidence": N_("Confidence column"),
    "labels": N_("Labels column"),
    "tlp": N_("TLP column"),
}
_CSV_MAP_FIELDS = tuple(MAP_LABELS)
DELIMITERS: dict[str, str] = {
    "": N_("Recognised from the file"),
    "comma": N_("Comma (,)"),
    "semicolon": N_("Semicolon (;)"),
    "tab": N_("Tab"),
    "pipe": N_("Vertical bar (|)"),
}
_DELIMITERS = {"": "", "comma": ",", "semicolon": ";", "tab": "\t", "pipe": "|"}
_IMPORT_FIELDS = frozenset({"kind", "collection", "file", "name", "map", "type", "delimiter", "header", "tlp"})
_EXPORT_FIELDS = frozenset({"collection", "format", "kind", "type", "max_tlp", "since", "until", "min_confidence"})


@dataclass(frozen=True)
class Problem:
    """What is wrong with one form field: a message in the page's language, or a reason
    given by the hub's services (in English, ``lang`` = ``en``)."""

    text: str
    lang: str | None = None


def _tlp_code(level: Tlp) -> str:
    return level.label[4:].lower()


def _problem(ctx: Context, exc: RibatError, fields: frozenset[str], default: str) -> tuple[str, Problem]:
    """The form field a domain error is about, and what to say there."""
    if isinstance(exc, TooLargeError):
        limit = ctx.t.number(exc.limit)
        return "file", Problem(ctx._("The file is larger than the limit of %(limit)s bytes.", limit=limit))
    if isinstance(exc, EnvelopeError):
        return "file", Problem(ctx._("The file is not a STIX bundle or envelope: %(reason)s", reason=exc.reason))
    if isinstance(exc, ValidationError):
        if exc.field in fields:
            return exc.field, Problem(exc.reason, "en")
        return default, Problem(f"{exc.field}: {exc.reason}", "en")
    if isinstance(exc, NotFoundError) and exc.kind == "collection":
        return "collection", Problem(ctx._("There is no such collection, or you may not see it."))
    if isinstance(exc, PermissionDeniedError):
        if exc.action.startswith("write"):
            return "collection", Problem(ctx._("You may not write to this collection."))
        if exc.action.startswith("read"):
            return "collection", Problem(ctx._("You may not read this collection."))
    return default, Problem(exc.message, "en")


def _imports(ctx: Context) -> Imports:
    hub = ctx.hub
    return Imports(hub.intel, hub.db, max_upload_bytes=hub.settings.max_upload_bytes)


def _read_upload(ctx: Context, file: UploadFile | None) -> tuple[bytes, str, str | None]:
    """The uploaded file's bytes (TooLargeError past the upload limit), its name and media type."""
    if file is None or not file.filename:
        raise ValidationError("file", "choose a file")
    limit = ctx.hub.settings.max_upload_bytes
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise TooLargeError(len(data), limit)
    return data, file.filename, file.content_type


def _people(ctx: Context, user_ids: Sequence[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for user_id in dict.fromkeys(user_ids):
        try:
            user = ctx.hub.accounts.get_user(user_id)
        except NotFoundError:
            continue
        found[user_id] = user.name or user.email
    return found


def _collection_titles(ctx: Context) -> dict[str, str]:
    # Runs and extractions are shown to their organisation (and admins) only, and name the
    # collection the organisation wrote to.
    return {c.id: c.title for c in ctx.hub.intel.all_collections()}


@dataclass(frozen=True)
class _Pager:
    """Links to the previous and next pages of a list (None at either end)."""

    prev: str | None = None
    next: str | None = None

    def __bool__(self) -> bool:
        return self.prev is not None or self.next is not None


def _pager(base: str, params: Mapping[str, Any], page: int, more: bool, *, key: str = "page") -> _Pager:
    return _Pager(
        prev=base + "?" + urlencode({**params, key: page - 1}) if page > 1 else None,
        next=base + "?" + urlencode({**params, key: page + 1}) if more else None,
    )


# -- imports -------------------------------------------------------------------------------------


def _blank_import_form(collections: list[Collection]) -> dict[str, str]:
    form = {
        "kind": "stix",
        "collection": collections[0].id if collections else "",
        "name": "",
        "type": "",
        "delimiter": "",
        "header": "",
        "tlp": "",
    }
    form.update({f"map_{f}": "" for f in _CSV_MAP_FIELDS})
    return form


def _imports_page(
    ctx: Context,
    principal: Principal,
    *,
    page: int = 1,
    form: dict[str, str] | None = None,
    errors: dict[str, Problem] | None = None,
    status: int = 200,
) -> Response:
    page = max(page, 1)
    found = _imports(ctx).runs(principal, limit=RUNS_PER_PAGE, offset=(page - 1) * RUNS_PER_PAGE)
    collections = ctx.ui.workspace.writable(principal)
    return ctx.render(
        "imports.html",
        status=status,
        runs=found.runs,
        total=found.total,
        page=page,
        pages=max(1, -(-found.total // RUNS_PER_PAGE)),
        pager=_pager("/imports", {}, page, page * RUNS_PER_PAGE < found.total),
        people=_people(ctx, [r.user_id for r in found.runs]),
        titles=_collection_titles(ctx),
        collections=collections,
        kinds=IMPORT_KINDS,
        run_kinds=RUN_KINDS,
        statuses=RUN_STATUSES,
        value_kinds=VALUE_KINDS,
        map_labels=MAP_LABELS,
        delimiters=DELIMITERS,
        levels=list(Tlp),
        tlp_code=_tlp_code,
        form=form or _blank_import_form(collections),
        errors=errors or {},
    )


@router.get("/imports")
def imports_page(ctx: Ctx, page: int = 1) -> Response:
    return _imports_page(ctx, ctx.user(), page=page)


def _csv_map(form: Mapping[str, str]) -> str:
    parts = []
    for name in _CSV_MAP_FIELDS:
        column = form[f"map_{name}"].strip()
        if not column:
            continue
        if "," in column:
            raise ValidationError("map", f"{name}: a column name with a comma cannot be mapped; give its number")
        parts.append(f"{name}={column}")
    return ",".join(parts)


def _import_options(kind: str, form: Mapping[str, str]) -> dict[str, str]:
    """The options ``Imports.run`` takes for ``kind``, from the form's fields."""
    options: dict[str, str] = {}
    if kind in ("csv", "ioc-list", "openioc") and form["tlp"]:
        options["tlp"] = form["tlp"]
    if kind in ("csv", "ioc-list") and form["type"]:
        options["type"] = form["type"]
    if kind == "csv":
        mapping = _csv_map(form)
        if mapping:
            options["map"] = mapping
        if form["delimiter"] not in _DELIMITERS:
            raise ValidationError("delimiter", "choose a comma, a semicolon, a tab or a vertical bar")
        if form["delimiter"]:
            options["delimiter"] = _DELIMITERS[form["delimiter"]]
        if form["header"] not in ("", "yes", "no"):
            raise ValidationError("header", "must be yes or no")
        if form["header"]:
            options["header"] = form["header"]
    return options


@router.post("/imports")
def import_file(
    ctx: Ctx,
    file: Annotated[UploadFile | None, File()] = None,
    kind: Annotated[str, Form()] = "",
    collection: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    type: Annotated[str, Form()] = "",
    delimiter: Annotated[str, Form()] = "",
    header: Annotated[str, Form()] = "",
    tlp: Annotated[str, Form()] = "",
    map_value: Annotated[str, Form()] = "",
    map_type: Annotated[str, Form()] = "",
    map_name: Annotated[str, Form()] = "",
    map_description: Annotated[str, Form()] = "",
    map_valid_from: Annotated[str, Form()] = "",
    map_confidence: Annotated[str, Form()] = "",
    map_labels: Annotated[str, Form()] = "",
    map_tlp: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    principal = ctx.user()
    ctx.check_csrf(csrf_token)
    form = {
        "kind": kind,
        "collection": collection,
        "name": name,
        "type": type,
        "delimiter": delimiter,
        "header": header,
        "tlp": tlp,
        "map_value": map_value,
        "map_type": map_type,
        "map_name": map_name,
        "map_description": map_description,
        "map_valid_from": map_valid_from,
        "map_confidence": map_confidence,
        "map_labels": map_labels,
        "map_tlp": map_tlp,
    }
    imports = _imports(ctx)
    try:
        if kind not in IMPORT_KINDS:
            raise ValidationError("kind", f"choose one of {', '.join(IMPORT_KINDS)}")
        if not collection:
            raise ValidationError("collection", "choose a collection")
        imports.writable(principal, collection)
        options = _import_options(kind, form)
        payload, filename, _media_type = _read_upload(ctx, file)
        run = imports.run(
            principal, collection, kind, payload, name=name.strip() or filename or f"{kind} upload", options=options
        )
    except (ValidationError, EnvelopeError, TooLargeError, NotFoundError, PermissionDeniedError) as exc:
        field, problem = _problem(ctx, exc, _IMPORT_FIELDS, "file")
        return _imports_page(ctx, principal, form=form, errors={field: problem}, status=400)
    flash = ctx._(
        "Imported: %(stored)s stored, %(merged)s merged, %(failed)s failed, %(lost)s lost.",
        stored=ctx.t.number(run.stored),
        merged=ctx.t.number(run.merged),
        failed=ctx.t.number(run.failed),
        lost=ctx.t.number(run.lost),
    )
    return ctx.redirect(f"/imports/{run.id}", flash=flash)


@router.get("/imports/{run_id}")
def import_run(ctx: Ctx, run_id: str, failures_page: int = 1, losses_page: int = 1) -> Response:
    principal = ctx.user()
    run = _imports(ctx).run_report(principal, run_id)
    report: dict[str, Any] = run.report or {}
    failures: list[dict[str, Any]] = list(report.get("failures", []))
    losses: list[dict[str, Any]] = list(report.get("losses", []))
    failures_page, losses_page = max(failures_page, 1), max(losses_page, 1)
    here = {"failures_page": failures_page, "losses_page": losses_page}
    base = f"/imports/{run.id}"

    def cut(rows: list[dict[str, Any]], page: int) -> list[dict[str, Any]]:
        return rows[(page - 1) * REPORT_PER_PAGE : page * REPORT_PER_PAGE]

    counts = report.get("counts", {})
    options = report.get("options", {})
    return ctx.render(
        "import_run.html",
        run=run,
        who=_people(ctx, [run.user_id]).get(run.user_id, run.user_id),
        collection_title=_collection_titles(ctx).get(run.collection_id, run.collection_id),
        run_kinds=RUN_KINDS,
        statuses=RUN_STATUSES,
        counts=counts if isinstance(counts, dict) else {},
        options=options if isinstance(options, dict) else {},
        error=report.get("error"),
        truncated=report.get("truncated"),
        extraction_id=report.get("extraction_id"),
        failures=cut(failures, failures_page),
        failures_total=len(failures),
        failures_first=(failures_page - 1) * REPORT_PER_PAGE + 1,
        failures_pager=_pager(
            base, here, failures_page, failures_page * REPORT_PER_PAGE < len(failures), key="failures_page"
        ),
        losses=cut(losses, losses_page),
        losses_total=len(losses),
        losses_first=(losses_page - 1) * REPORT_PER_PAGE + 1,
        losses_pager=_pager(base, here, losses_page, losses_page * REPORT_PER_PAGE < len(losses), key="losses_page"),
    )


# -- report extraction ---------------------------------------------------------------------------


def highlight(sentence: str, raw: str, value: str) -> tuple[str, str, str]:
    """``sentence`` cut around the first place it names the value (as written, else in its
    normal form, ignoring case): (before, the value, after); the value part is empty when the
    sentence does not hold it."""
    for needle in (raw, value):
        if not needle:
            continue
        found = re.search(re.escape(needle), sentence, re.IGNORECASE)
        if found is not None:
            return sentence[: found.start()], found.group(0), sentence[found.end() :]
    return sentence, "", ""


def _extractions_page(
    ctx: Context,
    principal: Principal,
    *,
    page: int = 1,
    form: dict[str, str] | None = None,
    errors: dict[str, Problem] | None = None,
    status: int = 200,
) -> Response:
    page = max(page, 1)
    found = _imports(ctx).extractions(
        principal, limit=EXTRACTIONS_PER_PAGE + 1, offset=(page - 1) * EXTRACTIONS_PER_PAGE
    )
    collections = ctx.ui.workspace.writable(principal)
    shown = found[:EXTRACTIONS_PER_PAGE]
    return ctx.render(
        "extractions.html",
        status=status,
        extractions=shown,
        page=page,
        pager=_pager("/extractions", {}, page, len(found) > EXTRACTIONS_PER_PAGE),
        people=_people(ctx, [x.user_id for x in shown]),
        titles=_collection_titles(ctx),
        collections=collections,
        form=form or {"collection": collections[0].id if collections else "", "name": ""},
        errors=errors or {},
    )


@router.get("/extractions")
def extractions_page(ctx: Ctx, page: int = 1) -> Response:
    return _extractions_page(ctx, ctx.user(), page=page)


@router.post("/extractions")
def extract_report(
    ctx: Ctx,
    file: Annotated[UploadFile | None, File()] = None,
    collection: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    principal = ctx.user()
    ctx.check_csrf(csrf_token)
    form = {"collection": collection, "name": name}
    imports = _imports(ctx)
    try:
        if not collection:
            raise ValidationError("collection", "choose a collection")
        imports.writable(principal, collection)
        payload, filename, media_type = _read_upload(ctx, file)
        extraction = imports.extract(principal, collection, name.strip() or filename, payload, media_type=media_type)
    except (ValidationError, TooLargeError, NotFoundError, PermissionDeniedError) as exc:
        field, problem = _problem(ctx, exc, frozenset({"collection", "file", "name"}), "file")
        return _extractions_page(ctx, principal, form=form, errors={field: problem}, status=400)
    flash = ctx.t.ngettext(
        "%(num)s candidate indicator found; review it below.",
        "%(num)s candidate indicators found; review them below.",
        len(extraction.candidates),
    )
    return ctx.redirect(f"/extractions/{extraction.id}", flash=flash)


def _extraction_page(
    ctx: Context,
    principal: Principal,
    extraction: Extraction,
    *,
    run_id: str | None = None,
    chosen: Mapping[str, set[str]] | None = None,
    tlp: str = "",
    error: Problem | None = None,
    status: int = 200,
) -> Response:
    candidates: list[tuple[ExtractionCandidate, tuple[str, str, str]]] = [
        (c, highlight(c.sentence, c.raw, c.value)) for c in extraction.candidates
    ]
    counts = {s: sum(1 for c in extraction.candidates if c.status == s) for s in CANDIDATE_STATUSES}
    run = None
    if run_id:
        try:
            run = _imports(ctx).run_report(principal, run_id)
        except NotFoundError:
            run = None
    may_review = any(c.id == extraction.collection_id for c in ctx.ui.workspace.writable(principal))
    return ctx.render(
        "extraction.html",
        status=status,
        extraction=extraction,
        candidates=candidates,
        counts=counts,
        published=[c for c in extraction.candidates if c.status == "accepted"],
        run=run,
        may_review=may_review,
        who=_people(ctx, [extraction.user_id]).get(extraction.user_id, extraction.user_id),
        collection_title=_collection_titles(ctx).get(extraction.collection_id, extraction.collection_id),
        statuses=CANDIDATE_STATUSES,
        value_kinds=VALUE_KINDS,
        chosen=chosen or {"accept": set(), "reject": set()},
        tlp=tlp,
        levels=list(Tlp),
        tlp_code=_tlp_code,
        error=error,
    )


@router.get("/extractions/{extraction_id}")
def extraction_page(ctx: Ctx, extraction_id: str, run: str = "") -> Response:
    principal = ctx.user()
    extraction = _imports(ctx).extraction(principal, extraction_id)
    return _extraction_page(ctx, principal, extraction, run_id=run or None)


@router.post("/extractions/{extraction_id}/review")
def review_extraction(
    ctx: Ctx,
    extraction_id: str,
    accept: Annotated[list[str], Form()] = [],  # noqa: B006  (FastAPI copies defaults)
    reject: Annotated[list[str], Form()] = [],  # noqa: B006
    tlp: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    principal = ctx.user()
    ctx.check_csrf(csrf_token)
    imports = _imports(ctx)
    extraction = imports.extraction(principal, extraction_id)
    try:
        level: Tlp | None = None
        if tlp:
            try:
                level = Tlp.parse(tlp)
            except ValueError as exc:
                raise ValidationError("tlp", str(exc)) from None
        review = imports.review(principal, extraction.id, accept, reject, tlp=level)
    except (ValidationError, PermissionDeniedError) as exc:
        _field, problem = _problem(ctx, exc, frozenset(), "candidates")
        chosen = {"accept": set(accept), "reject": set(reject)}
        return _extraction_page(ctx, principal, extraction, chosen=chosen, tlp=tlp, error=problem, status=400)
    published = sum(1 for c in review.extraction.candidates if c.id in set(accept) and c.status == "accepted")
    flash = ctx._(
        "Review saved: %(published)s published, %(rejected)s rejected.",
        published=ctx.t.number(published),
        rejected=ctx.t.number(len(set(reject))),
    )
    target = f"/extractions/{extraction.id}"
    if review.run is not None:
        target += "?" + urlencode({"run": review.run.id})
    return ctx.redirect(target, flash=flash)


# -- exports -------------------------------------------------------------------------------------

_SPOOL_BYTES = 16 * 1024 * 1024
_CHUNK = 256 * 1024


class _Discard(io.RawIOBase):
    """A stream that only counts what is written (the preview of an export)."""

    def __init__(self) -> None:
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        n = len(data)
        self.size += n
        return n


@dataclass(frozen=True)
class _ExportRequest:
    collections: list[str]
    format: str
    kind: str
    type: str
    max_tlp: str
    since: str
    until: str
    min_confidence: str
    include_flagged: bool

    def query(self) -> str:
        pairs: list[tuple[str, str]] = [("collection", c) for c in self.collections]
        pairs.append(("format", self.format))
        for key in ("kind", "type", "max_tlp", "since", "until", "min_confidence"):
            value = getattr(self, key)
            if value and (key != "kind" or self.format == "blocklist"):
                pairs.append((key, value))
        if self.include_flagged:
            pairs.append(("include_flagged", "1"))
        return urlencode(pairs)

    def filter(self) -> ExportFilter:
        return parse_filter(
            types=[self.type] if self.type else [],
            max_tlp=self.max_tlp,
            since=self.since,
            until=self.until,
            min_confidence=self.min_confidence,
            include_flagged=self.include_flagged,
        )


def _export_engine(ctx: Context) -> Exports:
    hub = ctx.hub
    return Exports(
        hub.intel,
        warninglists=hub.intel.warninglists,
        suricata=SuricataOptions(sid_base=hub.settings.suricata_sid_base),
        feed_orgc=hub_orgc(hub.settings.hub_title),
        page_size=hub.settings.page_size_cap,
    )


def _run_export(ctx: Context, principal: Principal, asked: _ExportRequest, out: IO[bytes]) -> ExportReport:
    if not asked.collections:
        raise ValidationError("collection", "choose at least one collection")
    flt = asked.filter()
    exports = _export_engine(ctx)
    kind = asked.kind if asked.format == "blocklist" else None
    target = exports.target(principal, asked.collections, asked.format, kind=kind)
    object_url = str(ctx.request.base_url) + "objects/"
    return exports.export(principal, target, asked.format, flt, out, object_url=object_url)


def _skipped(ctx: Context, report: ExportReport) -> list[tuple[str, str, int, list[str]]]:
    """(code, words in the page's language, count, a few object ids) per reason an export
    left objects out."""
    rows = []
    for code, count in sorted(report.tally.skipped.items(), key=lambda kv: (-kv[1], kv[0])):
        head, _, kind = code.partition(":")
        label = VALUE_KINDS.get(kind, kind)
        if head == "unsupported" and kind:
            words = ctx._(_UNSUPPORTED, kind=ctx._(label))
        elif head == "other_kind" and kind:
            words = ctx._(_OTHER_KIND, kind=ctx._(label))
        elif code in SKIP_REASONS:
            words = ctx._(SKIP_REASONS[code])
        else:
            words = reason_text(code, report.format)
        rows.append((code, words, count, report.tally.samples.get(code, [])))
    return rows


def _exports_page(
    ctx: Context,
    principal: Principal,
    asked: _ExportRequest,
    *,
    report: ExportReport | None = None,
    size: int | None = None,
    errors: dict[str, Problem] | None = None,
    status: int = 200,
) -> Response:
    return ctx.render(
        "exports.html",
        status=status,
        collections=ctx.ui.workspace.readable(principal),
        types=ctx.ui.workspace.types(principal),
        formats=EXPORT_FORMATS,
        blocklist_kinds={k: BLOCKLIST_LABELS[k] for k in BLOCKLIST_KINDS},
        levels=list(Tlp),
        tlp_code=_tlp_code,
        asked=asked,
        report=report,
        size=size,
        skipped=_skipped(ctx, report) if report is not None else [],
        download=("/exports/download?" + asked.query()) if report is not None else None,
        errors=errors or {},
    )


def _asked(
    collection: Annotated[list[str], Query()] = [],  # noqa: B006  (FastAPI copies defaults)
    format: str = "stix",
    kind: str = "ip",
    type: str = "",
    max_tlp: str = "",
    since: str = "",
    until: str = "",
    min_confidence: str = "",
    include_flagged: str = "",
) -> _ExportRequest:
    """The export form's query parameters (the page and the download take the same ones);
    ``kind`` only counts for blocklists."""
    return _ExportRequest(
        collections=[c for c in collection if c],
        format=format,
        kind=kind,
        type=type.strip(),
        max_tlp=max_tlp,
        since=since.strip(),
        until=until.strip(),
        min_confidence=min_confidence.strip(),
        include_flagged=include_flagged.strip().lower() in ("1", "true", "yes", "on"),
    )


Asked = Annotated[_ExportRequest, Depends(_asked)]


@router.get("/exports")
def exports_page(ctx: Ctx, asked: Asked, preview: str = "") -> Response:
    """The export form; with ``preview`` set, the export is run into nothing and its counts
    shown, with the link that downloads the same file."""
    principal = ctx.user()
    if not preview:
        if not asked.collections:
            readable = ctx.ui.workspace.readable(principal)
            asked = replace(asked, collections=[readable[0].id] if readable else [])
        return _exports_page(ctx, principal, asked)
    counter = _Discard()
    sink = io.BufferedWriter(counter)
    try:
        report = _run_export(ctx, principal, asked, sink)
        sink.flush()
    except (ValidationError, NotFoundError, PermissionDeniedError) as exc:
        field, problem = _problem(ctx, exc, _EXPORT_FIELDS, "format")
        return _exports_page(ctx, principal, asked, errors={field: problem}, status=400)
    finally:
        sink.close()
    return _exports_page(ctx, principal, asked, report=report, size=counter.size)


def _stream(spool: IO[bytes]) -> Iterator[bytes]:
    spool.seek(0)
    while chunk := spool.read(_CHUNK):
        yield chunk


@router.get("/exports/download")
def export_download(ctx: Ctx, asked: Asked) -> Response:
    """The file, with what the signed-in user may read only; a bad choice shows the form
    with the field at fault instead."""
    principal = ctx.user()
    # Closed by the response's background task once streamed.
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES, mode="w+b")  # noqa: SIM115
    try:
        report = _run_export(ctx, principal, asked, spool)
    except (ValidationError, NotFoundError, PermissionDeniedError) as exc:
        spool.close()
        field, problem = _problem(ctx, exc, _EXPORT_FIELDS, "format")
        return _exports_page(ctx, principal, asked, errors={field: problem}, status=400)
    except BaseException:
        spool.close()
        raise
    headers = {"Content-Disposition": f'attachment; filename="{report.filename}"'}
    return StreamingResponse(
        _stream(spool), media_type=report.media_type, headers=headers, background=BackgroundTask(spool.close)
    )
