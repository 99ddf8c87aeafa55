"""The answers of an assessment as CSV and JSON files, and answers read back from such files. Pure, no I/O.

:func:`export_csv` and :func:`export_json` write every answer of a campaign (the consensus and each contributor's
answer, with the accepted evidence); :func:`read_answers` reads answers from a CSV or JSON file (this module's own
exports, or a hand-made file) and returns what it could read together with a problem line for every row it could
not. The file formats are described in ``docs/capacity-answers.md``.

A CSV cell that a spreadsheet would run as a formula (one starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return) is written with a leading apostrophe; a cell that starts with an apostrophe followed by one of
those characters or by another apostrophe gets one more. :func:`read_answers` removes that apostrophe again, so a
comment survives the round trip unchanged.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from ribat.capacity.assessment import Assessment, Consensus, Contribution, Evidence, EvidenceKind, EvidenceStatus
from ribat.capacity.scoring import Answer, parse_answer
from ribat.capacity.types import Indicator, Model, localized
from ribat.clock import format_us
from ribat.errors import ValidationError

__all__ = [
    "CSV_COLUMNS",
    "MAX_COMMENT",
    "AnswerImport",
    "export_csv",
    "export_json",
    "read_answers",
]

CSV_COLUMNS: Final = (
    "assessment_id",
    "country",
    "model",
    "source",
    "user",
    "dimension_id",
    "factor_id",
    "aspect_id",
    "stage",
    "weight",
    "indicator_id",
    "indicator",
    "answer",
    "comment",
    "evidence",
    "updated",
)
"""The columns of :func:`export_csv`, in order."""

MAX_COMMENT: Final = 4000
"""The longest comment (in characters) :func:`read_answers` accepts."""

_Format = Literal["csv", "json"]

_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")
_ESCAPED: Final = frozenset((*_FORMULA_START, "'"))  # what may follow the apostrophe that _cell adds
_EVIDENCE_SEPARATOR: Final = " | "
_DELIMITERS: Final = (",", ";", "\t", "|")
_REQUIRED: Final = ("indicator_id", "answer")


@dataclass(frozen=True)
class AnswerImport:
    """What :func:`read_answers` read.

    ``answers`` maps indicator id → ``(answer, comment)`` in file order. ``problems`` names, for each row that was
    not read, its place (``line 7`` in a CSV file, a JSON path such as ``$[3].answer``) and what is wrong with it.
    ``skipped`` counts the rows left out on purpose: rows of another source or user and rows without an answer.
    """

    answers: dict[str, tuple[Answer, str]]
    problems: tuple[str, ...]
    skipped: int


# --------------------------------------------------------------------------------------------- export


def _cell(text: str) -> str:
    """``text`` as a CSV cell that a spreadsheet shows as text, never runs as a formula."""
    if text.startswith(_FORMULA_START) or (text[:1] == "'" and text[1:2] in _ESCAPED):
        return "'" + text
    return text


def _uncell(text: str) -> str:
    """The text of a cell written by :func:`_cell` (a cell it would not have changed is returned as is)."""
    if text[:1] == "'" and text[1:2] in _ESCAPED:
        return text[1:]
    return text


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else repr(value)


def _when(us: int | None) -> str | None:
    return None if us is None else format_us(us)


def _check(model: Model, assessment: Assessment, indicator_ids: Sequence[tuple[str, str]]) -> None:
    if model.key != assessment.model_key:
        raise ValidationError("model", f"the assessment uses {assessment.model_key}, not {model.key}")
    known = {indicator.id for indicator in model.indicators()}
    for field, indicator_id in indicator_ids:
        if indicator_id not in known:
            raise ValidationError(field, f"no indicator {indicator_id!r} in model {model.key}")


@dataclass(frozen=True)
class _Campaign:
    """The export's inputs grouped by indicator; contributions sorted by user, evidence by time added."""

    consensus: Mapping[str, Consensus]
    contributions: dict[str, list[Contribution]]
    evidence: dict[str, list[Evidence]]
    users: Mapping[str, str]

    def user(self, user_id: str | None) -> str | None:
        return None if user_id is None else self.users.get(user_id, user_id)


def _campaign(
    model: Model,
    assessment: Assessment,
    consensus: Mapping[str, Consensus],
    contributions: Sequence[Contribution],
    evidence: Sequence[Evidence],
    users: Mapping[str, str],
) -> _Campaign:
    _check(
        model,
        assessment,
        [("consensus", c.indicator_id) for c in consensus.values()]
        + [("contributions", c.indicator_id) for c in contributions]
        + [("evidence", e.indicator_id) for e in evidence],
    )
    by_indicator: dict[str, list[Contribution]] = {}
    for contribution in sorted(contributions, key=lambda c: (users.get(c.user_id, c.user_id), c.user_id)):
        by_indicator.setdefault(contribution.indicator_id, []).append(contribution)
    items: dict[str, list[Evidence]] = {}
    for item in sorted(evidence, key=lambda e: (e.added_us, e.id)):
        items.setdefault(item.indicator_id, []).append(item)
    settled = {c.indicator_id: c for c in consensus.values()}
    return _Campaign(settled, by_indicator, items, users)


def _evidence_text(items: Sequence[Evidence]) -> str:
    shown: list[str] = []
    for item in items:
        if item.status is not EvidenceStatus.ACCEPTED:
            continue
        if item.kind is EvidenceKind.LINK:
            shown.append(item.url or item.title)
        elif item.kind is EvidenceKind.DOCUMENT:
            shown.append(item.filename or item.title)
        else:
            name = item.metric or item.title
            shown.append(f"{name}: {item.value}" if item.value else name)
    return _EVIDENCE_SEPARATOR.join(shown)


def export_csv(
    model: Model,
    assessment: Assessment,
    consensus: Mapping[str, Consensus],
    contributions: Sequence[Contribution],
    evidence: Sequence[Evidence],
    *,
    users: Mapping[str, str],
    language: str = "en",
) -> str:
    """Every answer of ``assessment`` as CSV text (RFC 4180: CRLF line ends, a header row of :data:`CSV_COLUMNS`).

    Per indicator, in model file order: one ``consensus`` row (its answer empty while the review has not settled
    one) and one ``contributor`` row per contributor's answer, sorted by the user's email. ``users`` maps user id →
    email (a user missing from it is shown by id); ``indicator`` is the indicator's text in ``language``. Every
    row carries the indicator's accepted evidence. Raises :class:`ValidationError` when ``model`` is not the
    assessment's model or an answer or evidence names an indicator the model lacks.
    """
    campaign = _campaign(model, assessment, consensus, contributions, evidence, users)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)

    def row(indicator: Indicator, source: str, user: str | None, answer: str, comment: str, us: int | None) -> None:
        cells = (
            assessment.id,
            assessment.country,
            model.key,
            source,
            user or "",
            indicator.dimension,
            indicator.factor,
            indicator.aspect or "",
            indicator.stage or "",
            _number(indicator.weight),
            indicator.id,
            localized(indicator.text, language),
            answer,
            comment,
            _evidence_text(campaign.evidence.get(indicator.id, ())),
            _when(us) or "",
        )
        writer.writerow([_cell(value) for value in cells])

    for indicator in model.indicators():
        settled = campaign.consensus.get(indicator.id)
        if settled is None:
            row(indicator, "consensus", None, "", "", None)
        else:
            user = campaign.user(settled.decided_by)
            row(indicator, "consensus", user, settled.answer.value, settled.comment, settled.decided_us)
        for c in campaign.contributions.get(indicator.id, ()):
            row(indicator, "contributor", campaign.user(c.user_id), c.answer.value, c.comment, c.updated_us)
    return buffer.getvalue()


def _evidence_json(item: Evidence, campaign: _Campaign) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": item.id, "kind": item.kind.value, "title": item.title, "status": item.status.value}
    if item.kind is EvidenceKind.LINK:
        entry["url"] = item.url
    elif item.kind is EvidenceKind.DOCUMENT:
        entry.update(filename=item.filename, media_type=item.media_type, size=item.size, sha256=item.sha256)
    else:
        entry.update(
            metric=item.metric,
            query=item.query,
            window_start=_when(item.window_start_us),
            window_end=_when(item.window_end_us),
            value=item.value,
        )
    entry.update(
        added_by=campaign.user(item.added_by),
        added=format_us(item.added_us),
        decided_by=campaign.user(item.decided_by),
        decided=_when(item.decided_us),
    )
    return entry


def export_json(
    model: Model,
    assessment: Assessment,
    consensus: Mapping[str, Consensus],
    contributions: Sequence[Contribution],
    evidence: Sequence[Evidence],
    *,
    users: Mapping[str, str],
    language: str = "en",
) -> dict[str, Any]:
    """Every answer of ``assessment`` as a JSON-serialisable dict (see ``docs/capacity-answers.md``).

    ``{"assessment": {...}, "language": ..., "answers": [...]}`` with one entry per indicator in model file order,
    each holding the consensus (``None`` while not settled), every contributor's answer (sorted by email) and every
    piece of evidence whatever its status. Keys come in a fixed order; times are ISO-8601 UTC; users are shown by
    email (by id when ``users`` lacks them). Raises :class:`ValidationError` as :func:`export_csv` does.
    """
    campaign = _campaign(model, assessment, consensus, contributions, evidence, users)
    answers: list[dict[str, Any]] = []
    for indicator in model.indicators():
        settled = campaign.consensus.get(indicator.id)
        answers.append(
            {
                "indicator_id": indicator.id,
                "indicator": localized(indicator.text, language),
                "dimension_id": indicator.dimension,
                "factor_id": indicator.factor,
                "aspect_id": indicator.aspect,
                "stage": indicator.stage,
                "weight": indicator.weight,
                "consensus": None
                if settled is None
                else {
                    "answer": settled.answer.value,
                    "comment": settled.comment,
                    "decided_by": campaign.user(settled.decided_by),
                    "decided": format_us(settled.decided_us),
                    "disagreement": [
                        {"user": campaign.user(user_id), "answer": answer.value}
                        for user_id, answer in settled.disagreement
                    ],
                },
                "contributions": [
                    {
                        "user": campaign.user(c.user_id),
                        "answer": c.answer.value,
                        "comment": c.comment,
                        "updated": format_us(c.updated_us),
                    }
                    for c in campaign.contributions.get(indicator.id, ())
                ],
                "evidence": [_evidence_json(item, campaign) for item in campaign.evidence.get(indicator.id, ())],
            }
        )
    return {
        "assessment": {
            "id": assessment.id,
            "title": assessment.title,
            "country": assessment.country,
            "org_id": assessment.org_id,
            "model": model.key,
            "state": assessment.state.value,
            "lead": campaign.user(assessment.lead_user_id),
            "target_stage": assessment.target_stage,
            "previous_id": assessment.previous_id,
            "created": format_us(assessment.created_us),
            "updated": format_us(assessment.updated_us),
            "review": _when(assessment.review_us),
            "final": _when(assessment.final_us),
            "final_digest": assessment.final_digest,
        },
        "language": language,
        "answers": answers,
    }


# --------------------------------------------------------------------------------------------- import


@dataclass
class _Collector:
    """Checks candidate answers one by one and keeps the valid ones."""

    model: Model
    source: str | None
    user: str | None
    known: frozenset[str]
    answers: dict[str, tuple[Answer, str]]
    first_seen: dict[str, str]
    problems: list[str]
    skipped: int = 0

    def wanted(self, source: str, user: str) -> bool:
        """Whether a row of ``source`` by ``user`` is read (an empty source always matches the source filter)."""
        if self.source is not None and source and source.casefold() != self.source.casefold():
            return False
        return self.user is None or user.casefold() == self.user.casefold()

    def add(self, where: str, indicator_id: str, answer_text: str, comment: str) -> None:
        """One candidate: ``where`` names it in a problem (``line 7``, ``$[3]``)."""
        indicator_id = indicator_id.strip()
        if not answer_text.strip() and not comment.strip():
            self.skipped += 1
            return
        if not indicator_id:
            self.problems.append(f"{where}: no indicator_id")
            return
        if indicator_id not in self.known:
            self.problems.append(f"{where}: indicator {indicator_id!r} is not in model {self.model.key}")
            return
        if not answer_text.strip():
            self.problems.append(f"{where}: indicator {indicator_id!r} has a comment but no answer")
            return
        try:
            answer = parse_answer(answer_text)
        except ValidationError as exc:
            self.problems.append(f"{where}: indicator {indicator_id!r}: answer {exc.reason}")
            return
        if len(comment) > MAX_COMMENT:
            self.problems.append(
                f"{where}: indicator {indicator_id!r}: the comment has {len(comment):,} characters, "
                f"more than the {MAX_COMMENT:,} allowed"
            )
            return
        if indicator_id in self.answers:
            first = self.first_seen[indicator_id]
            self.problems.append(f"{where}: indicator {indicator_id!r} is answered again (the one at {first} is kept)")
            return
        self.answers[indicator_id] = (answer, comment)
        self.first_seen[indicator_id] = where


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ValidationError("encoding", "the file is UTF-16 text; save it as UTF-8")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ValidationError(
            "encoding", f"the file is not UTF-8: byte 0x{data[exc.start]:02x} on line {line} cannot be read"
        ) from None
    if "\x00" in text:
        raise ValidationError("file", "binary content, not a CSV or JSON file")
    return text


def _format(text: str, filename: str | None, fmt: str | None) -> _Format:
    if fmt is not None:
        chosen = fmt.strip().lower()
        if chosen == "csv":
            return "csv"
        if chosen == "json":
            return "json"
        raise ValidationError("fmt", f"{fmt!r} is not a format (use csv or json)")
    suffix = filename.rsplit(".", 1)[-1].lower() if filename and "." in filename else ""
    if suffix == "csv":
        return "csv"
    if suffix == "json":
        return "json"
    return "json" if text.lstrip()[:1] in ("{", "[") else "csv"


def read_answers(
    model: Model,
    data: bytes,
    *,
    filename: str | None = None,
    fmt: str | None = None,
    source: str | None = "consensus",
    user: str | None = None,
) -> AnswerImport:
    """Read answers to ``model``'s indicators from a CSV or JSON file (``docs/capacity-answers.md``).

    The format is ``fmt`` (``"csv"`` or ``"json"``), else the suffix of ``filename``, else JSON when the first
    non-space character is ``{`` or ``[``. ``data`` is UTF-8, with or without a byte-order mark. Only rows of
    ``source`` are read (rows with an empty source too; ``None`` reads every source) and, when ``user`` is given,
    only rows of that user (the email in the exports); other rows are counted in ``skipped``.

    A row that cannot be read (unknown indicator, a value that is not an answer, an indicator answered twice, a
    comment over :data:`MAX_COMMENT` characters) becomes a problem and every other row is still read. A file that
    cannot be read at all (not UTF-8, not JSON, a CSV file without an ``indicator_id`` or ``answer`` column, empty)
    raises :class:`ValidationError`.
    """
    text = _decode(data)
    if not text.strip():
        raise ValidationError("file", "the file is empty")
    collector = _Collector(
        model=model,
        source=source,
        user=user,
        known=frozenset(indicator.id for indicator in model.indicators()),
        answers={},
        first_seen={},
        problems=[],
    )
    if _format(text, filename, fmt) == "csv":
        _read_csv(text, collector)
    else:
        _read_json(text, collector)
    return AnswerImport(answers=collector.answers, problems=tuple(collector.problems), skipped=collector.skipped)


# -- CSV


def _column_name(cell: str) -> str:
    return cell.strip().lower().replace(" ", "_").replace("-", "_")


def _delimiter(text: str) -> str:
    """The delimiter of the header line: the first that splits it into cells naming the required columns."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    for delimiter in _DELIMITERS:
        names = {_column_name(cell) for cell in next(csv.reader([first], delimiter=delimiter), [])}
        if all(name in names for name in _REQUIRED):
            return delimiter
    return ","


def _records(text: str, delimiter: str, problems: list[str]) -> Iterator[tuple[int, list[str]]]:
    """``(first line, cells)`` of each non-blank record; an unreadable record becomes a problem naming its lines
    (strict parsing, so that a quote left open reports the lines it swallowed rather than hiding them in a cell)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            lines = f"lines {start}-{reader.line_num}" if reader.line_num > start else f"line {start}"
            problems.append(f"{lines}: unreadable CSV: {exc}")
            if reader.line_num < start:
                return
            continue
        if any(cell.strip() for cell in row):
            yield start, row


def _read_csv(text: str, collector: _Collector) -> None:
    records = _records(text, _delimiter(text), collector.problems)
    header = next(records, None)
    if header is None:
        raise ValidationError("file", "no header row")
    _, cells = header
    columns: dict[str, int] = {}
    for index, cell in enumerate(cells):
        name = _column_name(_uncell(cell))
        if name in columns and name in (*_REQUIRED, "comment", "source", "user"):
            raise ValidationError("columns", f"the column {name!r} appears twice in the header")
        columns.setdefault(name, index)
    missing = [name for name in _REQUIRED if name not in columns]
    if missing:
        found = ", ".join(repr(c.strip()) for c in cells) or "none"
        raise ValidationError(
            "columns", f"the header row lacks the column {' and '.join(missing)} (columns found: {found})"
        )

    def value(row: list[str], name: str) -> str:
        index = columns.get(name)
        return _uncell(row[index]) if index is not None and index < len(row) else ""

    for line, row in records:
        if not collector.wanted(value(row, "source").strip(), value(row, "user").strip()):
            collector.skipped += 1
            continue
        collector.add(f"line {line}", value(row, "indicator_id"), value(row, "answer"), value(row, "comment"))


# -- JSON


class _Object(dict[str, Any]):
    """A JSON object that keeps the first of duplicate keys and remembers the others."""

    duplicates: tuple[str, ...] = ()


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object()
    duplicates: list[str] = []
    for key, item in pairs:
        if key in obj:
            duplicates.append(key)
        else:
            obj[key] = item
    obj.duplicates = tuple(duplicates)
    return obj


def _key_path(path: str, key: str) -> str:
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _read_json(text: str, collector: _Collector) -> None:
    try:
        document = json.loads(text, object_pairs_hook=_object)
    except json.JSONDecodeError as exc:
        raise ValidationError("file", f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise ValidationError("file", "not valid JSON: nested too deeply") from None
    if isinstance(document, list):
        _read_entries(document, "$", collector)
    elif isinstance(document, dict):
        inner = document.get("answers")
        if isinstance(inner, list):
            _read_entries(inner, "$.answers", collector)
        elif isinstance(inner, dict):
            _read_mapping(inner, "$.answers", collector)
        else:
            _read_mapping(document, "$", collector)
    else:
        raise ValidationError("file", f"the JSON must be an object or a list, not {_type_name(document)}")


def _duplicates(obj: dict[str, Any], path: str, collector: _Collector, what: str) -> None:
    for key in getattr(obj, "duplicates", ()):
        collector.problems.append(f"{_key_path(path, key)}: {what} {key!r} appears again (the first is kept)")


def _string(value: object, path: str, collector: _Collector) -> str | None:
    """``value`` when it is a string, ``""`` for null or absent; a problem and ``None`` otherwise."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    collector.problems.append(f"{path}: must be a string, not {_type_name(value)}")
    return None


def _read_mapping(mapping: dict[str, Any], path: str, collector: _Collector) -> None:
    """``{indicator id: answer text}`` or ``{indicator id: {"answer": …, "comment": …}}``."""
    _duplicates(mapping, path, collector, "indicator")
    for indicator_id, item in mapping.items():
        where = _key_path(path, indicator_id)
        if isinstance(item, dict):
            _duplicates(item, where, collector, "key")
            answer = _string(item.get("answer"), f"{where}.answer", collector)
            comment = _string(item.get("comment"), f"{where}.comment", collector)
        else:
            answer, comment = _string(item, where, collector), ""
        if answer is not None and comment is not None:
            collector.add(where, indicator_id, answer, comment)


def _read_entries(entries: list[Any], path: str, collector: _Collector) -> None:
    """A list of ``{"indicator_id", "answer", "comment"}`` or of entries of :func:`export_json`."""
    for index, entry in enumerate(entries):
        where = f"{path}[{index}]"
        if not isinstance(entry, dict):
            collector.problems.append(f"{where}: must be an object, not {_type_name(entry)}")
            continue
        _duplicates(entry, where, collector, "key")
        indicator_id = _string(entry.get("indicator_id"), f"{where}.indicator_id", collector)
        if indicator_id is None:
            continue
        if "consensus" in entry or "contributions" in entry:
            _read_exported(entry, indicator_id, where, collector)
            continue
        source = _string(entry.get("source"), f"{where}.source", collector)
        user = _string(entry.get("user"), f"{where}.user", collector)
        if source is None or user is None:
            continue
        if not collector.wanted(source.strip(), user.strip()):
            collector.skipped += 1
            continue
        answer = _string(entry.get("answer"), f"{where}.answer", collector)
        comment = _string(entry.get("comment"), f"{where}.comment", collector)
        if answer is not None and comment is not None:
            collector.add(where, indicator_id, answer, comment)


def _read_exported(entry: dict[str, Any], indicator_id: str, where: str, collector: _Collector) -> None:
    """One entry of :func:`export_json`: its consensus, or its contributions when the source filter asks for them."""
    candidates: list[tuple[str, str, object]] = []
    settled = entry.get("consensus")
    if settled is None:
        collector.skipped += 1  # no consensus yet: nothing to read as the consensus
    elif isinstance(settled, dict):
        candidates.append((f"{where}.consensus", "consensus", settled))
    else:
        collector.problems.append(f"{where}.consensus: must be an object or null, not {_type_name(settled)}")
    contributions = entry.get("contributions", [])
    if isinstance(contributions, list):
        candidates += [(f"{where}.contributions[{n}]", "contributor", c) for n, c in enumerate(contributions)]
    else:
        collector.problems.append(f"{where}.contributions: must be a list, not {_type_name(contributions)}")
    for path, source, item in candidates:
        if not isinstance(item, dict):
            collector.problems.append(f"{path}: must be an object, not {_type_name(item)}")
            continue
        key = "user" if source == "contributor" else "decided_by"
        person = _string(item.get(key), f"{path}.{key}", collector)
        if person is None:
            continue
        if not collector.wanted(source, person.strip()):
            collector.skipped += 1
            continue
        _duplicates(item, path, collector, "key")
        answer = _string(item.get("answer"), f"{path}.answer", collector)
        comment = _string(item.get("comment"), f"{path}.comment", collector)
        if answer is not None and comment is not None:
            collector.add(path, indicator_id, answer, comment)
