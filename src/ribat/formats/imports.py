"""Imports: files converted to STIX 2.1 and ingested into a collection, each run recorded with
its report; and threat reports read for candidate indicators, held for an analyst's review.

Kinds of import (``KINDS``):

``stix``
    a STIX 2.0 or 2.1 bundle, a TAXII envelope, a JSON array of objects or one object
    (2.0 is upgraded by the intel ingest);
``misp``
    a MISP event in any of its wrappings (``ribat.formats.misp``);
``csv``
    CSV with a column mapping (``ribat.formats.tabular``; options ``map``, ``type``,
    ``delimiter``, ``header``);
``ioc-list``
    one value a line, ``value;score`` lines, ``#`` comments naming reports (option ``type``);
``openioc``
    OpenIOC 1.0 or 1.1 XML (``ribat.formats.openioc``).

The option ``tlp`` marks the indicators a ``csv``, ``ioc-list`` or ``openioc`` import makes
(rows with a TLP of their own keep it); anything left unmarked gets the collection's default
TLP, as every ingest does.

Objects are ingested through ``Intel.ingest`` in batches of ``BATCH``. The run's report says
what was **stored**, what was **merged** (the same version was already stored), what
**failed** at ingest (each with the reason), and what was **lost** in the conversion (each
``Loss``: where, which field, the value, why). The indicators the converters make have ids
derived from the import's name and the value, so importing the same file again merges:
an indicator whose content is unchanged keeps its stored ``created``/``modified`` (and is
reported as merged), and one whose content changed becomes a new version of it.

Only the importing organisation (and hub admins) may read a run or an extraction.

Report extraction (``extract`` then ``review``) stores the candidates of a PDF, HTML or text
report (``ribat.formats.extraction``) as *pending*, publishing nothing. A review accepts
some — they are published as indicators into the extraction's collection, through the same
ingest, as an import run of kind ``report`` — and rejects others, which stay on record.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import orjson
from sqlalchemy import func, select, update

from ribat.accounts import Principal, Role
from ribat.clock import Clock, NewId, format_us, new_uuid, now_us, parse_timestamp_us
from ribat.db import Database
from ribat.errors import (
    EnvelopeError,
    NotFoundError,
    PermissionDeniedError,
    RibatError,
    TooLargeError,
    ValidationError,
)
from ribat.formats import _tables as t
from ribat.formats.extraction import Candidate, extract_report
from ribat.formats.openioc import openioc_to_stix
from ribat.formats.tabular import csv_to_stix, indicator_for, ioc_list_to_stix, marking_ref, parse_mapping
from ribat.formats.types import Conversion, Loss
from ribat.intel import Collection, Intel, ObjectFilter, Tlp
from ribat.intel.observables import Observable

__all__ = [
    "BATCH",
    "KINDS",
    "Extraction",
    "ExtractionCandidate",
    "ImportRun",
    "Imports",
    "Review",
    "RunList",
    "summary",
]

KINDS: Final = ("stix", "misp", "csv", "ioc-list", "openioc")
BATCH: Final = 1000
# Report entries kept per list (failures, losses); the counts are always whole.
REPORT_LIMIT: Final = 10_000
_OPTIONS: Final = {
    "stix": frozenset(),
    "misp": frozenset(),
    "csv": frozenset({"map", "type", "delimiter", "header", "tlp"}),
    "ioc-list": frozenset({"type", "tlp"}),
    "openioc": frozenset({"tlp"}),
}
_CONVERTED: Final = frozenset({"csv", "ioc-list", "openioc", "report"})
_ENVELOPE_KEYS: Final = frozenset({"objects", "more", "next"})


@dataclass(frozen=True)
class ImportRun:
    """One import: where to, by whom, what, when, and its counts. ``report`` (the whole
    report as JSON data) is filled when one run is read."""

    id: str
    collection_id: str
    user_id: str
    org_id: str
    kind: str
    name: str
    status: str  # running | complete | failed
    started_us: int
    finished_us: int | None
    stored: int
    merged: int
    failed: int
    lost: int
    report: dict[str, Any] | None = None


@dataclass(frozen=True)
class RunList:
    runs: list[ImportRun]
    total: int


@dataclass(frozen=True)
class ExtractionCandidate:
    """A candidate held for review: ``status`` pending, accepted (published as
    ``object_id``) or rejected."""

    id: str
    kind: str
    value: str
    raw: str
    sentence: str
    page: int | None
    offset: int
    count: int
    status: str
    object_id: str | None = None
    reviewed_us: int | None = None


@dataclass(frozen=True)
class Extraction:
    id: str
    collection_id: str
    user_id: str
    org_id: str
    name: str
    title: str | None
    format: str
    pages: int
    created_us: int
    candidates: list[ExtractionCandidate] = field(default_factory=list)


@dataclass(frozen=True)
class Review:
    """The extraction after a review, and the import run that published the accepted
    candidates (None when none was accepted)."""

    extraction: Extraction
    run: ImportRun | None


def _safe_name(name: str) -> str:
    """A display name for an uploaded file: its last path component, without control
    characters, at most 200 characters. Never used as a path."""
    base = re.split(r"[\\/]", name)[-1]
    clean = "".join(ch for ch in base if ch.isprintable()).strip()
    return clean[:200] or "upload"


def _decode(payload: bytes, what: str) -> str:
    if b"\x00" in payload[:8192]:
        raise ValidationError("file", f"not a {what} file (binary content)")
    try:
        return payload.decode("utf-8-sig")
    except UnicodeDecodeError:
        return payload.decode("cp1252", errors="replace")


def _json(payload: bytes, what: str) -> Any:
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        if what == "STIX":
            raise EnvelopeError(f"not valid JSON: {exc}") from None
        raise ValidationError("file", f"not valid {what} JSON: {exc}") from None


def _stix_batches(data: Any) -> tuple[list[Any], dict[str, Any]]:
    """The entries of a STIX payload and the head each batch carries (a bundle's type, id
    and spec_version: a 2.0 bundle states its version only there)."""
    if isinstance(data, list):
        return data, {}
    if isinstance(data, dict):
        if data.get("type") == "bundle":
            items = data.get("objects", [])
            if not isinstance(items, list):
                raise EnvelopeError("the bundle's 'objects' must be a JSON array")
            return items, {k: v for k, v in data.items() if k != "objects"}
        if "type" in data:
            return [data], {}
        if data.keys() <= _ENVELOPE_KEYS and isinstance(data.get("objects", []), list):
            return list(data.get("objects", [])), {}
    raise EnvelopeError("expected a STIX bundle, a TAXII envelope, a JSON array of STIX objects or one STIX object")


def _loss_data(loss: Loss) -> dict[str, str]:
    return {"where": loss.where, "field": loss.field, "value": loss.value, "reason": loss.reason}


def _run(row: Any, *, with_report: bool = False) -> ImportRun:
    return ImportRun(
        id=row.id,
        collection_id=row.collection_id,
        user_id=row.user_id,
        org_id=row.org_id,
        kind=row.kind,
        name=row.name,
        status=row.status,
        started_us=row.started_us,
        finished_us=row.finished_us,
        stored=row.stored_count,
        merged=row.merged_count,
        failed=row.failed_count,
        lost=row.lost_count,
        report=orjson.loads(row.report) if with_report else None,
    )


def _next_version(new: dict[str, Any], prior: Mapping[str, Any], now: int) -> dict[str, Any]:
    """``new`` as the next version of ``prior`` (same id): the same ``created``; the same
    ``modified`` when nothing else changed (so the store merges it), else a later one. A
    ``valid_from`` the converter defaulted to the import time keeps the stored one."""
    defaulted = new.get("valid_from") == new.get("created")
    ignored = {"created", "modified"} | ({"valid_from"} if defaulted else set())
    result = dict(new)
    if "created" in prior:
        result["created"] = prior["created"]
    if defaulted and "valid_from" in prior:
        result["valid_from"] = prior["valid_from"]
    same = {k: v for k, v in new.items() if k not in ignored} == {k: v for k, v in prior.items() if k not in ignored}
    prior_modified = prior.get("modified")
    if same and isinstance(prior_modified, str):
        result["modified"] = prior_modified
        return result
    floor = parse_timestamp_us(prior_modified) + 1 if isinstance(prior_modified, str) else 0
    result["modified"] = format_us(max(now, floor))
    return result


def _report(tally: _Tally, conversion: Conversion, extra: Mapping[str, Any]) -> dict[str, Any]:
    """A run's report: the counts, every ingest failure and every conversion loss (the lists cut
    at ``REPORT_LIMIT`` entries, with a note)."""
    report: dict[str, Any] = {
        **extra,
        "counts": dict(conversion.counts),
        **tally.counts(len(conversion.losses)),
        "failures": tally.failures[:REPORT_LIMIT],
        "losses": [_loss_data(loss) for loss in conversion.losses[:REPORT_LIMIT]],
    }
    if len(tally.failures) > REPORT_LIMIT or len(conversion.losses) > REPORT_LIMIT:
        report["truncated"] = f"the report lists the first {REPORT_LIMIT} failures and losses; the counts are whole"
    return report


@dataclass
class _Tally:
    stored: int = 0
    merged: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)

    def counts(self, lost: int) -> dict[str, int]:
        return {"stored": self.stored, "merged": self.merged, "failed": len(self.failures), "lost": lost}


class Imports:
    """The imports use case (see the module docstring)."""

    def __init__(
        self,
        intel: Intel,
        db: Database,
        *,
        max_upload_bytes: int = 32 * 1024 * 1024,
        now: Clock = now_us,
        new_id: NewId = new_uuid,
    ) -> None:
        self.intel = intel
        self.db = db
        self.max_upload_bytes = max_upload_bytes
        self.now = now
        self.new_id = new_id

    # -- checks ---------------------------------------------------------------------------

    def _check_size(self, payload: bytes) -> None:
        if len(payload) > self.max_upload_bytes:
            raise TooLargeError(len(payload), self.max_upload_bytes)

    def writable(self, principal: Principal, collection_ref: str) -> Collection:
        """The collection, if the principal may write to it (else NotFoundError or
        PermissionDeniedError)."""
        collection = self.intel.collection(principal, collection_ref)
        if not collection.can_write:
            raise PermissionDeniedError("write to", f"collection {collection.id}")
        return collection

    @staticmethod
    def _may_read(principal: Principal, org_id: str) -> bool:
        return principal.user.role is Role.ADMIN or principal.org.id == org_id

    # -- conversion -----------------------------------------------------------------------

    def _options(self, kind: str, options: Mapping[str, str] | None) -> dict[str, str]:
        given = {str(k).strip().lower(): str(v) for k, v in (options or {}).items() if v is not None and str(v) != ""}
        unknown = sorted(set(given) - _OPTIONS[kind])
        if unknown:
            allowed = ", ".join(sorted(_OPTIONS[kind])) or "none"
            raise ValidationError(
                "options", f"{', '.join(unknown)} not understood for a {kind} import (use: {allowed})"
            )
        return given

    def _convert(self, kind: str, payload: bytes, name: str, options: dict[str, str]) -> Conversion:
        if kind == "csv":
            header_text = options.get("header")
            header: bool | None = None
            if header_text is not None:
                if header_text.lower() not in ("true", "false", "yes", "no", "1", "0"):
                    raise ValidationError("header", "must be true or false")
                header = header_text.lower() in ("true", "yes", "1")
            mapping = parse_mapping(
                options.get("map"), fixed_type=options.get("type"), delimiter=options.get("delimiter"), header=header
            )
            return csv_to_stix(_decode(payload, "CSV"), mapping, source=name, now=self.now)
        if kind == "ioc-list":
            text = _decode(payload, "text")
            return ioc_list_to_stix(text, source=name, default_type=options.get("type"), now=self.now)
        if kind == "openioc":
            return openioc_to_stix(payload, source=name, now=self.now)
        if kind == "misp":
            with warnings.catch_warnings():
                # misp-stix's dependencies (six's meta-path importer) warn when first imported.
                warnings.simplefilter("ignore", ImportWarning)
                from ribat.formats.misp import misp_to_stix

            return misp_to_stix(_json(payload, "MISP"), source=name)
        raise AssertionError(kind)

    @staticmethod
    def _mark(objects: list[dict[str, Any]], tlp_text: str | None) -> None:
        if tlp_text is None:
            return
        try:
            ref = marking_ref(Tlp.parse(tlp_text))
        except ValueError as exc:
            raise ValidationError("tlp", str(exc)) from None
        for obj in objects:
            if not obj.get("object_marking_refs"):
                obj["object_marking_refs"] = [ref]

    # -- ingest ---------------------------------------------------------------------------

    def _stored_versions(
        self, principal: Principal, collection_id: str, ids: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        """The newest readable stored version of each id (this organisation's copy first)."""
        found: dict[str, tuple[bool, dict[str, Any]]] = {}
        token: str | None = None
        while True:
            try:
                page = self.intel.objects(
                    principal, collection_id, ObjectFilter(ids=tuple(ids)), limit=BATCH, next_token=token
                )
            except PermissionDeniedError:
                return {}
            for meta, body in zip(page.metas, page.bodies, strict=True):
                own = meta.author_org_id == principal.org.id
                seen = found.get(meta.object_id)
                if seen is None or (own and not seen[0]):
                    found[meta.object_id] = (own, orjson.loads(body))
            if not page.more or page.next is None:
                break
            token = page.next
        return {k: v for k, (_, v) in found.items()}

    def _ingest(
        self,
        principal: Principal,
        collection: Collection,
        items: list[Any],
        head: Mapping[str, Any],
        tally: _Tally,
        *,
        settle: bool,
    ) -> None:
        """Ingest ``items`` batch by batch, counting into ``tally`` as each batch commits."""
        for start in range(0, len(items), BATCH):
            batch = items[start : start + BATCH]
            if settle:
                prior = self._stored_versions(principal, collection.id, [o["id"] for o in batch])
                now = self.now()
                batch = [_next_version(o, prior[o["id"]], now) if o["id"] in prior else o for o in batch]
            envelope = {**head, "objects": batch} if head.get("type") == "bundle" else {"objects": batch}
            status = self.intel.ingest(principal, collection.id, envelope)
            for s in status.successes:
                if s.message:
                    tally.merged += 1
                else:
                    tally.stored += 1
            tally.failures.extend(
                {"id": f.id, "version": f.version, "reason": f.message or ""} for f in status.failures
            )

    # -- runs -----------------------------------------------------------------------------

    def _start(self, principal: Principal, collection: Collection, kind: str, name: str) -> str:
        run_id = self.new_id()
        started = self.now()
        with self.db.write() as conn:
            conn.execute(
                t.import_runs.insert().values(
                    id=run_id,
                    collection_id=collection.id,
                    user_id=principal.user.id,
                    org_id=principal.org.id,
                    kind=kind,
                    name=name,
                    status="running",
                    started_us=started,
                    finished_us=None,
                    stored_count=0,
                    merged_count=0,
                    failed_count=0,
                    lost_count=0,
                    report="{}",
                )
            )
        return run_id

    def _finish(self, run_id: str, status: str, counts: Mapping[str, int], report: dict[str, Any]) -> None:
        values = {
            "status": status,
            "finished_us": self.now(),
            "stored_count": counts.get("stored", 0),
            "merged_count": counts.get("merged", 0),
            "failed_count": counts.get("failed", 0),
            "lost_count": counts.get("lost", 0),
            "report": orjson.dumps(report).decode(),
        }
        with self.db.write() as conn:
            conn.execute(update(t.import_runs).where(t.import_runs.c.id == run_id).values(**values))

    def _publish(
        self,
        principal: Principal,
        collection: Collection,
        kind: str,
        name: str,
        conversion: Conversion,
        head: Mapping[str, Any],
        items: list[Any],
        extra: Mapping[str, Any],
    ) -> tuple[ImportRun, list[dict[str, str]]]:
        """Ingest ``items`` (the conversion's objects, or a STIX payload's entries) and record
        the run with its report; returns the run and the ingest failures."""
        run_id = self._start(principal, collection, kind, name)
        tally = _Tally()
        lost = len(conversion.losses)
        try:
            self._ingest(principal, collection, items, head, tally, settle=kind in _CONVERTED)
        except Exception as exc:
            # What was committed before the error stays stored, and the run says so.
            reason = exc.message if isinstance(exc, RibatError) else f"{type(exc).__name__}: {exc}"
            report = _report(tally, conversion, {**extra, "error": reason})
            self._finish(run_id, "failed", tally.counts(lost), report)
            raise
        self._finish(run_id, "complete", tally.counts(lost), _report(tally, conversion, extra))
        with self.db.read() as conn:
            row = conn.execute(select(t.import_runs).where(t.import_runs.c.id == run_id)).one()
        return _run(row, with_report=True), tally.failures

    def run(
        self,
        principal: Principal,
        collection_ref: str,
        kind: str,
        payload: bytes,
        *,
        name: str,
        options: Mapping[str, str] | None = None,
    ) -> ImportRun:
        """Convert ``payload`` as ``kind``, ingest it into the collection and record the run.

        A payload that cannot be read at all (not JSON, not XML, a CSV mapping naming a
        column the file lacks) is an error and records nothing; within a readable file, every
        bad record is reported and the others are imported.
        """
        if kind not in KINDS:
            raise ValidationError("kind", f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")
        self._check_size(payload)
        collection = self.writable(principal, collection_ref)
        given = self._options(kind, options)
        name = _safe_name(name)
        head: dict[str, Any] = {}
        if kind == "stix":
            conversion = Conversion()
            items, head = _stix_batches(_json(payload, "STIX"))
            conversion.counts["objects"] = len(items)
        else:
            conversion = self._convert(kind, payload, name, given)
            self._mark(conversion.objects, given.get("tlp"))
            items = conversion.objects
        extra = {"options": given} if given else {}
        run, _ = self._publish(principal, collection, kind, name, conversion, head, items, extra)
        return run

    def runs(self, principal: Principal, limit: int = 50, offset: int = 0) -> RunList:
        """The runs the principal may read (its organisation's; every run for an admin),
        newest first, without their reports."""
        if limit < 1 or limit > 1000:
            raise ValidationError("limit", "must be from 1 to 1000")
        if offset < 0:
            raise ValidationError("offset", "must not be negative")
        r = t.import_runs
        columns = [c for c in r.c if c.name != "report"]
        query = select(*columns)
        count = select(func.count()).select_from(r)
        if principal.user.role is not Role.ADMIN:
            query = query.where(r.c.org_id == principal.org.id)
            count = count.where(r.c.org_id == principal.org.id)
        query = query.order_by(r.c.started_us.desc(), r.c.id).limit(limit).offset(offset)
        with self.db.read() as conn:
            rows = conn.execute(query).all()
            total = conn.execute(count).scalar_one()
        return RunList([_run(row) for row in rows], total)

    def run_report(self, principal: Principal, run_id: str) -> ImportRun:
        """One run with its whole report; another organisation's run is 'not found'."""
        with self.db.read() as conn:
            row = conn.execute(select(t.import_runs).where(t.import_runs.c.id == run_id)).one_or_none()
        if row is None or not self._may_read(principal, row.org_id):
            raise NotFoundError("import run", run_id)
        return _run(row, with_report=True)

    # -- report extraction ----------------------------------------------------------------

    def extract(
        self,
        principal: Principal,
        collection_ref: str,
        filename: str,
        payload: bytes,
        *,
        media_type: str | None = None,
    ) -> Extraction:
        """Read a report (PDF, HTML or text) and hold its candidate indicators for review in
        the collection they would be published to. Publishes nothing."""
        self._check_size(payload)
        collection = self.writable(principal, collection_ref)
        name = _safe_name(filename)
        report = extract_report(payload, filename=name, media_type=media_type)
        extraction_id = self.new_id()
        created = self.now()
        with self.db.write() as conn:
            conn.execute(
                t.extractions.insert().values(
                    id=extraction_id,
                    collection_id=collection.id,
                    user_id=principal.user.id,
                    org_id=principal.org.id,
                    name=name,
                    title=(report.title or "")[:500] or None,
                    format=report.format,
                    pages=report.pages,
                    created_us=created,
                )
            )
            rows = [self._candidate_row(extraction_id, i, c) for i, c in enumerate(report.candidates)]
            if rows:
                conn.execute(t.extraction_candidates.insert(), rows)
        return self.extraction(principal, extraction_id)

    def _candidate_row(self, extraction_id: str, position: int, c: Candidate) -> dict[str, Any]:
        return {
            "id": self.new_id(),
            "extraction_id": extraction_id,
            "position": position,
            "kind": c.kind,
            "value": c.value,
            "raw": c.raw,
            "sentence": c.sentence,
            "page": c.page,
            "char_offset": c.offset,
            "occurrences": c.count,
            "status": "pending",
            "object_id": None,
            "run_id": None,
            "reviewed_us": None,
            "reviewed_by": None,
        }

    def extraction(self, principal: Principal, extraction_id: str) -> Extraction:
        """An extraction with its candidates; another organisation's is 'not found'."""
        with self.db.read() as conn:
            row = conn.execute(select(t.extractions).where(t.extractions.c.id == extraction_id)).one_or_none()
            if row is None or not self._may_read(principal, row.org_id):
                raise NotFoundError("extraction", extraction_id)
            c = t.extraction_candidates
            candidates = conn.execute(select(c).where(c.c.extraction_id == extraction_id).order_by(c.c.position)).all()
        return Extraction(
            id=row.id,
            collection_id=row.collection_id,
            user_id=row.user_id,
            org_id=row.org_id,
            name=row.name,
            title=row.title,
            format=row.format,
            pages=row.pages,
            created_us=row.created_us,
            candidates=[
                ExtractionCandidate(
                    id=r.id,
                    kind=r.kind,
                    value=r.value,
                    raw=r.raw,
                    sentence=r.sentence,
                    page=r.page,
                    offset=r.char_offset,
                    count=r.occurrences,
                    status=r.status,
                    object_id=r.object_id,
                    reviewed_us=r.reviewed_us,
                )
                for r in candidates
            ],
        )

    def extractions(self, principal: Principal, limit: int = 50, offset: int = 0) -> list[Extraction]:
        """The extractions the principal may read, newest first, without their candidates."""
        if limit < 1 or limit > 1000:
            raise ValidationError("limit", "must be from 1 to 1000")
        if offset < 0:
            raise ValidationError("offset", "must not be negative")
        x = t.extractions
        query = select(x).order_by(x.c.created_us.desc(), x.c.id).limit(limit).offset(offset)
        if principal.user.role is not Role.ADMIN:
            query = query.where(x.c.org_id == principal.org.id)
        with self.db.read() as conn:
            rows = conn.execute(query).all()
        return [
            Extraction(r.id, r.collection_id, r.user_id, r.org_id, r.name, r.title, r.format, r.pages, r.created_us)
            for r in rows
        ]

    @staticmethod
    def _indicator(extraction: Extraction, c: ExtractionCandidate, tlp: Tlp | None, stamp: str) -> dict[str, Any]:
        where = f"{extraction.name}, page {c.page}" if c.page is not None else extraction.name
        return indicator_for(
            Observable(c.kind, c.value),
            source=f"report\x1f{extraction.name}",
            stamp=stamp,
            description=f"Reported in {where}: “{c.sentence}”",
            tlp=tlp,
        )

    def review(
        self,
        principal: Principal,
        extraction_id: str,
        accept: Iterable[str] = (),
        reject: Iterable[str] = (),
        *,
        tlp: Tlp | None = None,
    ) -> Review:
        """Publish the accepted candidates as indicators (each described by the report's name
        and the sentence it came from, marked ``tlp`` or else given the collection's
        default) and record the rejected ones. A candidate already published cannot be
        rejected; a rejected one may still be accepted. Unknown ids reject the whole review."""
        accepted_ids = list(dict.fromkeys(accept))
        rejected_ids = list(dict.fromkeys(reject))
        both = sorted(set(accepted_ids) & set(rejected_ids))
        if both:
            raise ValidationError("accept", f"candidates both accepted and rejected: {', '.join(both)}")
        extraction = self.extraction(principal, extraction_id)
        collection = self.writable(principal, extraction.collection_id)
        by_id = {c.id: c for c in extraction.candidates}
        unknown = [i for i in (*accepted_ids, *rejected_ids) if i not in by_id]
        if unknown:
            raise ValidationError("candidates", f"not candidates of extraction {extraction_id}: {', '.join(unknown)}")
        published = [i for i in rejected_ids if by_id[i].status == "accepted"]
        if published:
            raise ValidationError("reject", f"already published, cannot be rejected: {', '.join(published)}")
        if not accepted_ids and not rejected_ids:
            raise ValidationError("accept", "name at least one candidate to accept or reject")
        now = self.now()
        run: ImportRun | None = None
        published_as: dict[str, str] = {}
        if accepted_ids:
            stamp = format_us(now)
            objects = [self._indicator(extraction, by_id[i], tlp, stamp) for i in accepted_ids]
            conversion = Conversion(objects=objects, counts={"accepted": len(objects)})
            extra = {"extraction_id": extraction.id}
            run, failures = self._publish(
                principal, collection, "report", extraction.name, conversion, {}, objects, extra
            )
            failed = {f["id"] for f in failures}
            published_as = {i: o["id"] for i, o in zip(accepted_ids, objects, strict=True) if o["id"] not in failed}
        c = t.extraction_candidates
        with self.db.write() as conn:
            for candidate_id, object_id in published_as.items():
                conn.execute(
                    update(c)
                    .where(c.c.id == candidate_id)
                    .values(
                        status="accepted",
                        object_id=object_id,
                        run_id=run.id if run else None,
                        reviewed_us=now,
                        reviewed_by=principal.user.id,
                    )
                )
            if rejected_ids:
                conn.execute(
                    update(c)
                    .where(c.c.id.in_(rejected_ids))
                    .values(status="rejected", reviewed_us=now, reviewed_by=principal.user.id)
                )
        return Review(self.extraction(principal, extraction_id), run)


def summary(run: ImportRun) -> str:
    """One line for a person: ``stored 3, merged 1, failed 0, lost 2``."""
    return f"stored {run.stored}, merged {run.merged}, failed {run.failed}, lost {run.lost}"
