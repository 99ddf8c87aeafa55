"""/api/v1 endpoints: hunts over uploaded logs, run as background jobs (``ribat.hunt.service.Hunts``).

``POST /api/v1/hunts`` takes ``multipart/form-data``: one or more files in the field ``logs``,
``collection`` (repeated) naming the collections of indicators to hunt with, and optionally
``since`` and ``until`` (STIX timestamps, or dates), ``kind`` (the log format), ``mapping`` (a
JSON object for JSON-lines and CSV logs), ``share_to`` (a collection to post the sightings to)
and ``tlp`` (their marking, AMBER by default). The body is streamed: each log is spooled to an
anonymous file in the hub's hunt directory as it arrives (never held in memory), and the
upload is refused with 413 as soon as the logs pass ``RIBAT_HUNT_MAX_UPLOAD_BYTES``. The
answer is 202 with the job; ``GET /api/v1/hunts/{id}`` follows it and
``GET /api/v1/hunts/{id}/results`` gives what it found once done. A job is seen by the users
of the organisation that started it; another organisation's is "not found". See docs/api.md.
"""

from __future__ import annotations

import re
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Annotated, Any, Final

import orjson
from fastapi import APIRouter, Depends, Query, Request
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from ribat.accounts import Principal
from ribat.clock import format_us, parse_timestamp_us
from ribat.errors import PermissionDeniedError, StateError, TooLargeError, ValidationError
from ribat.hub import Hub
from ribat.hunt.compile import Window
from ribat.hunt.readers import KINDS
from ribat.hunt.service import Hunts
from ribat.hunt.sightings import hits_from_json, to_csv, to_stix
from ribat.hunt.types import HuntJob, JobStatus
from ribat.intel import Tlp
from ribat.web.auth import authenticate

__all__ = [
    "RESULT_FORMATS",
    "HuntRequest",
    "SpooledForm",
    "hunt_request",
    "hunts_service",
    "job_resource",
    "parse_moment",
    "read_spooled_form",
    "results_response",
    "router",
    "start_hunt",
]

router = APIRouter()
Caller = Annotated[Principal, Depends(authenticate)]

RESULT_FORMATS: Final = ("json", "csv", "stix")
LOG_FIELD: Final = "logs"
MAX_FILES: Final = 100
MAX_FIELDS: Final = 200
MAX_FIELD_BYTES: Final = 1024 * 1024
"""The form's fields other than the logs, together (the mapping is the largest)."""
_SLACK: Final = MAX_FIELD_BYTES + 1024 * 1024
"""Room for the fields and the multipart framing around the logs, for the declared length."""
_CHUNK: Final = 1024 * 1024
_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DAY_US: Final = 86_400_000_000
_MADE_LOCK = threading.Lock()


def hunts_service(request: Request) -> Hunts:
    """The application's :class:`Hunts` (made at start-up by the lifespan; made here on first use when the
    application runs without one, as in-process tests do)."""
    state = request.app.state
    found: Hunts | None = getattr(state, "hunts", None)
    if found is None:
        with _MADE_LOCK:
            found = getattr(state, "hunts", None)
            if found is None:
                hub: Hub = state.hub
                found = Hunts.for_hub(hub)
                state.hunts = found
    return found


# -- the streamed form ---------------------------------------------------------------------------


@dataclass
class SpooledFile:
    """One uploaded log: the name it was sent with and the anonymous file holding its bytes."""

    filename: str
    file: IO[bytes]
    size: int = 0

    def chunks(self) -> Iterator[bytes]:
        self.file.seek(0)
        while chunk := self.file.read(_CHUNK):
            yield chunk


@dataclass
class SpooledForm:
    """A multipart form read from the request stream: its fields in order and its logs, spooled."""

    fields: list[tuple[str, str]] = field(default_factory=list)
    files: list[SpooledFile] = field(default_factory=list)

    def get(self, name: str, default: str = "") -> str:
        for key, value in self.fields:
            if key == name:
                return value
        return default

    def getlist(self, name: str) -> list[str]:
        return [value for key, value in self.fields if key == name]

    def close(self) -> None:
        for spooled in self.files:
            spooled.file.close()


class _Spooler:
    """The callbacks of ``python_multipart``'s parser: file parts go to anonymous files in ``directory``
    (bytes to write are queued, written off the event loop), other parts into ``form.fields``."""

    def __init__(self, form: SpooledForm, directory: Path, limit: int) -> None:
        self.form = form
        self.directory = directory
        self.limit = limit
        self.file_bytes = 0
        self.field_bytes = 0
        self.pending: list[tuple[IO[bytes], bytes]] = []
        self._headers: dict[bytes, bytes] = {}
        self._header_name = b""
        self._header_value = b""
        self._field: str | None = None
        self._data = bytearray()
        self._file: SpooledFile | None = None

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
        }

    def on_part_begin(self) -> None:
        self._headers = {}
        self._field = None
        self._file = None
        self._data = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._header_name.lower()] = self._header_value
        self._header_name = self._header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition"))
        raw_name = options.get(b"name")
        if raw_name is None:
            raise ValidationError("body", "a part of the form has no name")
        name = raw_name.decode("utf-8", "replace")
        if b"filename" in options:
            if name != LOG_FIELD:
                raise ValidationError(name, f"files are taken in the field {LOG_FIELD!r} only")
            if len(self.form.files) >= MAX_FILES:
                raise ValidationError(LOG_FIELD, f"send at most {MAX_FILES} files in one hunt")
            filename = options[b"filename"].decode("utf-8", "replace")
            # Closed by SpooledForm.close; anonymous, so nothing named is ever left in the directory.
            spooled = SpooledFile(filename, tempfile.TemporaryFile(dir=self.directory))  # noqa: SIM115
            self.form.files.append(spooled)
            self._file = spooled
        else:
            if len(self.form.fields) >= MAX_FIELDS:
                raise ValidationError("body", f"the form has more than {MAX_FIELDS} fields")
            self._field = name

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        piece = bytes(data[start:end])
        if self._file is not None:
            self.file_bytes += len(piece)
            if self.file_bytes > self.limit:
                raise TooLargeError(self.file_bytes, self.limit)
            self._file.size += len(piece)
            self.pending.append((self._file.file, piece))
        else:
            self.field_bytes += len(piece)
            if self.field_bytes > MAX_FIELD_BYTES:
                raise ValidationError(self._field or "body", f"the fields pass {MAX_FIELD_BYTES} bytes")
            self._data.extend(piece)

    def on_part_end(self) -> None:
        if self._field is not None:
            self.form.fields.append((self._field, self._data.decode("utf-8", "replace")))
        self._field = None
        self._file = None

    def flush(self) -> None:
        for target, piece in self.pending:
            target.write(piece)
        self.pending.clear()


async def read_spooled_form(request: Request, *, directory: Path, limit: int) -> SpooledForm:
    """The request's ``multipart/form-data`` body, read as it arrives: logs (field ``logs``) spooled to
    anonymous files in ``directory`` (nothing named is left there, whatever happens), at most ``limit``
    bytes of them (:class:`TooLargeError` as soon as they pass it, or before reading when the declared
    length already does). Uploads with no name and no bytes (an empty file input) are dropped."""
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise ValidationError("body", "send the logs as multipart/form-data, each file in the field 'logs'")
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise ValidationError("body", "the multipart content type has no boundary")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + _SLACK:
        raise TooLargeError(int(declared), limit)
    directory.mkdir(parents=True, exist_ok=True)
    form = SpooledForm()
    spooler = _Spooler(form, directory, limit)
    try:
        parser = MultipartParser(boundary, spooler.callbacks())  # type: ignore[arg-type]
        async for chunk in request.stream():
            parser.write(chunk)
            if spooler.pending:
                await run_in_threadpool(spooler.flush)
        parser.finalize()
        await run_in_threadpool(spooler.flush)
    except FormParserError:
        form.close()
        raise ValidationError("body", "not a readable multipart form") from None
    except BaseException:
        form.close()
        raise
    kept = [f for f in form.files if f.filename or f.size]
    for dropped in form.files:
        if dropped not in kept:
            dropped.file.close()
    form.files = kept
    return form


# -- what a hunt asks --------------------------------------------------------------------------


def parse_moment(name: str, text: str, *, end: bool = False) -> int | None:
    """A STIX timestamp, or a date (its first microsecond, or its last when ``end``), in µs; None when blank."""
    text = text.strip()
    if not text:
        return None
    if _DATE.fullmatch(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise ValidationError(name, f"{text!r} is not a date") from None
        start = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * 1_000_000
        return start + _DAY_US - 1 if end else start
    try:
        return parse_timestamp_us(text)
    except ValueError:
        raise ValidationError(name, "use a STIX timestamp such as 2024-05-14T00:00:00Z, or a date YYYY-MM-DD") from None


@dataclass(frozen=True)
class HuntRequest:
    """The fields of a hunt form, checked."""

    collections: tuple[str, ...]
    window: Window
    kind: str | None
    mapping: dict[str, Any] | None
    share_to: str | None
    tlp: Tlp


def hunt_request(
    *,
    collections: list[str],
    since: str = "",
    until: str = "",
    kind: str = "",
    mapping: str = "",
    share_to: str = "",
    tlp: str = "",
) -> HuntRequest:
    """Check a hunt's fields (``collections`` may also be comma-separated). Raises :class:`ValidationError`."""
    names = [part.strip() for value in collections for part in value.split(",") if part.strip()]
    if not names:
        raise ValidationError("collection", "name at least one collection of indicators to hunt with")
    since_us = parse_moment("since", since)
    until_us = parse_moment("until", until, end=True)
    if since_us is not None and until_us is not None and until_us < since_us:
        raise ValidationError("until", "must not be before since")
    parsed_mapping: dict[str, Any] | None = None
    if mapping.strip():
        try:
            value = orjson.loads(mapping)
        except orjson.JSONDecodeError as exc:
            raise ValidationError("mapping", f"not valid JSON: {exc}") from None
        if not isinstance(value, dict):
            raise ValidationError("mapping", 'must be a JSON object such as {"ipv4-addr:value": "src"}')
        parsed_mapping = value
    try:
        level = Tlp.parse(tlp) if tlp.strip() else Tlp.AMBER
    except ValueError as exc:
        raise ValidationError("tlp", str(exc)) from None
    return HuntRequest(
        collections=tuple(dict.fromkeys(names)),
        window=Window(since_us, until_us),
        kind=kind.strip() or None,
        mapping=parsed_mapping,
        share_to=share_to.strip() or None,
        tlp=level,
    )


def start_hunt(hunts: Hunts, principal: Principal, form: SpooledForm, asked: HuntRequest) -> HuntJob:
    """Start the hunt over the form's logs (blocking: it copies them into the job's folder)."""
    if not form.files:
        raise ValidationError(LOG_FIELD, "upload at least one log file")
    if asked.share_to is not None:
        target = hunts.intel.collection(principal, asked.share_to)
        if not target.can_write:
            raise PermissionDeniedError("write to", f"collection {asked.share_to}")
    return hunts.start(
        principal,
        [(f.filename, f.chunks()) for f in form.files],
        collections=asked.collections,
        window=asked.window,
        kind=asked.kind,
        mapping=asked.mapping,
        share_to=asked.share_to,
        tlp=asked.tlp,
    )


# -- answers -----------------------------------------------------------------------------------


def _time(us: int | None) -> str | None:
    return None if us is None else format_us(us)


def job_resource(job: HuntJob, *, full: bool = True) -> dict[str, Any]:
    """The job as JSON; ``full`` adds the problems and what sharing did."""
    params = job.params
    base = f"/api/v1/hunts/{job.id}"
    data: dict[str, Any] = {
        "id": job.id,
        "status": job.status.value,
        "org_id": job.org_id,
        "user_id": job.user_id,
        "created": format_us(job.created_us),
        "started": _time(job.started_us),
        "finished": _time(job.finished_us),
        "logs": list(params.get("logs", [])),
        "bytes": job.bytes_total,
        "collections": list(params.get("collections", [])),
        "since": _time(params.get("since_us")),
        "until": _time(params.get("until_us")),
        "kind": params.get("kind"),
        "mapping": params.get("mapping"),
        "share_to": params.get("share_to"),
        "tlp": params.get("tlp"),
        "records": job.records,
        "rate": job.rate,
        "matches": job.matches,
        "indicators": job.indicators,
        "hits": None if job.result is None else len(job.result.get("hits", [])),
        "skipped": dict(job.skipped),
        "problem_count": job.problem_count,
        "error": job.error,
        "links": {
            "self": base,
            "page": f"/hunts/{job.id}",
            "results": {fmt: f"{base}/results?format={fmt}" for fmt in RESULT_FORMATS},
        },
    }
    if full:
        data["problems"] = list(job.problems)
        data["shared"] = job.shared
    return data


def results_response(hunts: Hunts, principal: Principal, job: HuntJob, fmt: str, tlp: str = "amber") -> Response:
    """What a finished job found as a file: ``json`` (hits with samples), ``csv`` (one row per indicator) or
    ``stix`` (a bundle of sightings by ``principal``'s organisation, marked ``tlp``). A job that is not done
    is a :class:`StateError` (409)."""
    if fmt not in RESULT_FORMATS:
        raise ValidationError("format", f"use one of {', '.join(RESULT_FORMATS)}")
    try:
        level = Tlp.parse(tlp)
    except ValueError as exc:
        raise ValidationError("tlp", str(exc)) from None
    if job.status is not JobStatus.DONE or job.result is None:
        raise StateError("hunt", job.id, job.status.value, "give its results before it is done")
    headers = {"Content-Disposition": f'attachment; filename="hunt-{job.id}.{fmt}"'}
    if fmt == "json":
        return Response(orjson.dumps(job.result), media_type="application/json", headers=headers)
    hits = hits_from_json(job.result)
    if fmt == "csv":
        return Response(to_csv(hits), media_type="text/csv; charset=utf-8", headers=headers)
    bundle = to_stix(
        hits,
        hunter_identity=hunts.accounts.identity_object(principal.org.id),
        tlp=level,
        now_us=hunts.now(),
        new_id=hunts.new_id,
    )
    return Response(orjson.dumps(bundle), media_type="application/stix+json;version=2.1", headers=headers)


# -- routes ------------------------------------------------------------------------------------


_FORM_SCHEMA: Final = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["logs", "collection"],
                    "properties": {
                        "logs": {"type": "array", "items": {"type": "string", "format": "binary"}},
                        "collection": {"type": "array", "items": {"type": "string"}},
                        "since": {"type": "string", "description": "STIX timestamp or YYYY-MM-DD"},
                        "until": {"type": "string", "description": "STIX timestamp or YYYY-MM-DD (the whole day)"},
                        "kind": {"type": "string", "enum": list(KINDS)},
                        "mapping": {"type": "string", "description": "a JSON object: object path -> field(s)"},
                        "share_to": {"type": "string", "description": "a collection to post the sightings to"},
                        "tlp": {"type": "string", "description": "TLP of the sightings (amber by default)"},
                    },
                }
            }
        },
    }
}


@router.post("/hunts", status_code=202, openapi_extra=_FORM_SCHEMA)
async def create_hunt(request: Request, principal: Caller) -> JSONResponse:
    """Start a hunt over uploaded logs (writers); answers 202 with the queued job."""
    hunts = hunts_service(request)
    hunts.require_writer(principal)  # before the body is read
    form = await read_spooled_form(request, directory=hunts.directory, limit=hunts.max_upload_bytes)
    try:
        asked = hunt_request(
            collections=form.getlist("collection") + form.getlist("collections"),
            since=form.get("since"),
            until=form.get("until"),
            kind=form.get("kind"),
            mapping=form.get("mapping"),
            share_to=form.get("share_to"),
            tlp=form.get("tlp"),
        )
        job = await run_in_threadpool(start_hunt, hunts, principal, form, asked)
    finally:
        await run_in_threadpool(form.close)
    return JSONResponse(job_resource(job), status_code=202, headers={"Location": f"/api/v1/hunts/{job.id}"})


@router.get("/hunts")
def list_hunts(
    request: Request,
    principal: Caller,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> JSONResponse:
    """The hunts of the caller's organisation, newest first."""
    jobs, total = hunts_service(request).jobs(principal, limit=limit, offset=offset)
    return JSONResponse(
        {
            "hunts": [job_resource(j, full=False) for j in jobs],
            "total": total,
            "limit": limit,
            "offset": offset,
            "more": offset + len(jobs) < total,
        }
    )


@router.get("/hunts/{hunt_id}")
def get_hunt(request: Request, hunt_id: str, principal: Caller) -> JSONResponse:
    """One hunt: its status and progress, the first problems, what was skipped and shared."""
    return JSONResponse(job_resource(hunts_service(request).job(principal, hunt_id)))


@router.get("/hunts/{hunt_id}/results")
def hunt_results(
    request: Request,
    hunt_id: str,
    principal: Caller,
    format: Annotated[str, Query()] = "json",
    tlp: Annotated[str, Query()] = "amber",
) -> Response:
    """What a finished hunt found, as ``json``, ``csv`` or ``stix``; 409 until it is done."""
    hunts = hunts_service(request)
    return results_response(hunts, principal, hunts.job(principal, hunt_id), format, tlp)
