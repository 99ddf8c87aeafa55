"""CSV files with a column mapping, and plain IOC lists → STIX 2.1 indicators. Pure: no I/O.

Both converters make one STIX 2.1 ``indicator`` per value (STIX 2.1 §4.7), with a
``stix`` pattern from :func:`ribat.intel.observables.pattern_for`:

* The indicator's id is a UUIDv5 of the import's ``source`` (its name), the value's kind
  and its normal form (:func:`indicator_id`), so importing the same list again names the
  same indicators and the store merges them instead of holding duplicates.
* ``created``, ``modified`` and ``valid_from`` are the conversion time (an injected clock)
  unless the source gives ``valid_from``. ``created_by_ref`` is left out: the hub knows
  who imports.
* A value seen twice in one file makes one indicator; a second row for the same value
  with other details is a :class:`~ribat.formats.types.Loss` (its details were not kept).

Every line that cannot become an indicator is a ``Loss`` located as ``line N`` with the
reason; a field that cannot be read (a confidence of ``high``, an unreadable date) is a
``Loss`` naming the field, and the indicator is kept without it. An unknown TLP rejects
its row rather than letting the collection's default share it more widely than meant.

Value types (a CSV type column, ``CsvMapping.fixed_type``, ``default_type``) are the
observable kinds of :mod:`ribat.intel.observables` (``ipv4``, ``ipv6``, ``domain``,
``url``, ``email``, ``md5``, ``sha1``, ``sha256``, ``sha512``, ``ssdeep``, ``filename`` …)
or a common spelling of one of them (:data:`TYPE_NAMES`: STIX ``ipv4-addr``,
``domain-name``; MISP ``ip-dst``, ``hostname``, ``email-src``; ``ip`` and ``hash``
decided by the value). Without a type, the kind is recognised from the value
(:func:`ribat.intel.observables.classify`; file names are never guessed).
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import urlsplit

from ribat.clock import Clock, format_us, now_us
from ribat.errors import ValidationError
from ribat.formats.extraction import refang
from ribat.formats.types import Conversion, Loss
from ribat.intel.observables import KINDS, Observable, classify, normalise, pattern_for
from ribat.intel.tlp import TLP_MARKING_IDS, Tlp, tlp_from_name

__all__ = [
    "TYPE_NAMES",
    "CsvMapping",
    "csv_to_stix",
    "indicator_for",
    "indicator_id",
    "ioc_list_to_stix",
    "marking_ref",
    "observable_of",
    "parse_mapping",
]

# The namespace of the UUIDv5 ids of converted indicators (fixed: changing it would make
# every re-import a new set of indicators).
NAMESPACE: Final = uuid.UUID("6f1c2a8e-3b7d-5e49-9a0c-4d2e8b1f7c63")

# Type names accepted in a type column or option → an observable kind, or "ip"/"hash"
# (decided by the value).
TYPE_NAMES: Final[Mapping[str, str]] = {
    **{kind: kind for kind in KINDS},
    "ip": "ip",
    "ip-address": "ip",
    "ipaddress": "ip",
    "ip-dst": "ip",
    "ip-src": "ip",
    "ipv4-addr": "ipv4",
    "ipv6-addr": "ipv6",
    "domain-name": "domain",
    "hostname": "domain",
    "host": "domain",
    "fqdn": "domain",
    "uri": "url",
    "link": "url",
    "email-addr": "email",
    "email-src": "email",
    "email-dst": "email",
    "e-mail": "email",
    "mail": "email",
    "hash": "hash",
    "sha-1": "sha1",
    "sha-256": "sha256",
    "sha-512": "sha512",
    "file-name": "filename",
    "file": "filename",
}
_HASHES: Final = frozenset({"md5", "sha1", "sha256", "sha512"})

# The TLP 2.0 marking definition of each level (the first id of each level in
# TLP_MARKING_IDS is its TLP 2.0 marking).
_TLP2: dict[Tlp, str] = {}
for _id, _level in TLP_MARKING_IDS.items():
    _TLP2.setdefault(_level, _id)


def marking_ref(tlp: Tlp) -> str:
    """The id of the TLP 2.0 marking definition of ``tlp``."""
    return _TLP2[tlp]


def indicator_id(source: str, obs: Observable) -> str:
    """``indicator--<uuid5>`` of the import's source name and the normalised value."""
    name = "\x1f".join((source, obs.kind, obs.value))
    return f"indicator--{uuid.uuid5(NAMESPACE, name)}"


def _type_name(text: str) -> str | None:
    key = re.sub(r"[\s_]+", "-", text.strip().lower())
    return TYPE_NAMES.get(key)


def observable_of(value: str, type_name: str | None = None) -> Observable | str:
    """The observable ``value`` is, as the type ``type_name`` (a kind or one of ``TYPE_NAMES``)
    or recognised from the value when no type is given; else the reason it is none.

    Defanged values (``hxxp://``, ``[.]``, ``(dot)``, ``[@]``) are refanged first.
    """
    text = refang(value.strip())
    if not text:
        return "empty value"
    if type_name is None or not type_name.strip():
        found = classify(text)
        if found is None:
            return "not an IP address, domain, URL, e-mail address or hash (give a type for other values)"
        return found
    kind = _type_name(type_name)
    if kind is None:
        return f"unknown type {type_name!r}"
    if kind in ("ip", "hash"):
        found = classify(text)
        wanted = ("ipv4", "ipv6") if kind == "ip" else _HASHES
        if found is None or found.kind not in wanted:
            return f"not {'an IP address or network' if kind == 'ip' else 'an MD5, SHA-1, SHA-256 or SHA-512 hash'}"
        return found
    normal = normalise(kind, text)
    if normal is None or (kind == "url" and not _url_like(text)):
        return f"not a valid {kind}"
    return Observable(kind, normal)


def _url_like(text: str) -> bool:
    """A URL (with or without its scheme) whose host is a domain or an IP address."""
    if any(ch.isspace() for ch in text):
        return False
    try:
        host = urlsplit(text if "://" in text else f"//{text}").hostname
    except ValueError:
        return False
    found = classify(host) if host else None
    return found is not None and found.kind in ("domain", "ipv4", "ipv6")


def indicator_for(
    obs: Observable,
    *,
    source: str,
    stamp: str,
    name: str | None = None,
    description: str | None = None,
    valid_from: str | None = None,
    confidence: int | None = None,
    labels: Sequence[str] = (),
    tlp: Tlp | None = None,
) -> dict[str, Any]:
    """A STIX 2.1 indicator (§4.7) matching exactly ``obs``, created at ``stamp``."""
    obj: dict[str, Any] = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": indicator_id(source, obs),
        "created": stamp,
        "modified": stamp,
        "name": (name or "").strip() or obs.value,
        "pattern": pattern_for(obs),
        "pattern_type": "stix",
        "pattern_version": "2.1",
        "valid_from": valid_from or stamp,
    }
    if description and description.strip():
        obj["description"] = description.strip()
    if confidence is not None:
        obj["confidence"] = confidence
    if labels:
        obj["labels"] = list(dict.fromkeys(labels))
    if tlp is not None:
        obj["object_marking_refs"] = [marking_ref(tlp)]
    return obj


# -- field readers ------------------------------------------------------------------------------


def _confidence(text: str) -> int | str:
    """A STIX confidence (§3.9: an integer 0–100) from a score or confidence text."""
    t = text.strip().rstrip("%").strip()
    try:
        number = float(t)
    except ValueError:
        return "not a number from 0 to 100"
    if not 0 <= number <= 100:
        return "outside 0–100"
    return round(number)


_DATE_ONLY: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MICRO: Final = timedelta(microseconds=1)


def _timestamp(text: str) -> str:
    """A STIX timestamp from an ISO 8601 date or date-time (UTC when no offset is given)."""
    t = text.strip()
    if _DATE_ONLY.fullmatch(t):
        t += "T00:00:00"
    try:
        moment = datetime.fromisoformat(t.replace(" ", "T", 1))
    except ValueError:
        raise ValueError("not an ISO 8601 date or date-time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return format_us((moment.astimezone(UTC) - _EPOCH) // _ONE_MICRO)


def _labels(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,;|]", text) if part.strip()]


def _short(value: str, size: int = 200) -> str:
    return value if len(value) <= size else value[: size - 1] + "…"


class _Indicators:
    """Indicators of one conversion, one per id, with the losses of later duplicates."""

    def __init__(self, conversion: Conversion, *, join_descriptions: bool = False) -> None:
        self.conversion = conversion
        self.by_id: dict[str, tuple[str, dict[str, Any]]] = {}
        # A value listed under two reports keeps both descriptions (IOC lists).
        self.join_descriptions = join_descriptions

    def add(self, where: str, obj: dict[str, Any]) -> None:
        seen = self.by_id.get(obj["id"])
        if seen is None:
            self.by_id[obj["id"]] = (where, obj)
            self.conversion.objects.append(obj)
            return
        first_where, first = seen
        self.conversion.counts["duplicates"] = self.conversion.counts.get("duplicates", 0) + 1
        differing = sorted(k for k in set(first) | set(obj) if first.get(k) != obj.get(k))
        if self.join_descriptions and "description" in differing and "description" in obj:
            known = first.get("description")
            first["description"] = f"{known}\n{obj['description']}" if known else obj["description"]
            differing.remove("description")
        if differing:
            self.conversion.losses.append(
                Loss(
                    where,
                    ", ".join(differing),
                    _short(obj["name"]),
                    f"the same value as {first_where}, whose details were kept",
                )
            )


# -- CSV ---------------------------------------------------------------------------------------


Column = str | int
"""A column by header name (matched without regard to case) or by number, 1 for the first."""


@dataclass(frozen=True)
class CsvMapping:
    """Which columns of a CSV file hold what.

    ``value`` is required. The type comes from the ``type`` column, else ``fixed_type``,
    else is recognised from the value. ``labels`` may hold several labels separated by
    ``,``, ``;`` or ``|``. ``delimiter`` is sniffed when not given. ``header`` says whether
    the first row names the columns; when not given, it does if any column is given by
    name, else if the first row's value cell is not a recognisable value.
    """

    value: Column
    type: Column | None = None
    fixed_type: str | None = None
    name: Column | None = None
    description: Column | None = None
    valid_from: Column | None = None
    confidence: Column | None = None
    labels: Column | None = None
    tlp: Column | None = None
    delimiter: str | None = None
    header: bool | None = None

    def columns(self) -> dict[str, Column]:
        """The mapped fields and their columns."""
        found: dict[str, Column] = {}
        for key in ("value", "type", "name", "description", "valid_from", "confidence", "labels", "tlp"):
            ref = getattr(self, key)
            if ref is not None:
                found[key] = ref
        return found


_MAPPING_KEYS: Final = frozenset({"value", "type", "name", "description", "valid_from", "confidence", "labels", "tlp"})


def parse_mapping(
    spec: str | Mapping[str, str] | None,
    *,
    fixed_type: str | None = None,
    delimiter: str | None = None,
    header: bool | None = None,
) -> CsvMapping:
    """A mapping from ``value=col,type=col,…`` (or a dict of the same); a column that is all
    digits is a column number (1 for the first), else a header name. Without a spec the
    value is in the first column."""
    pairs: dict[str, str] = {}
    if isinstance(spec, str):
        for part in spec.split(","):
            if not part.strip():
                continue
            key, sep, column = part.partition("=")
            if not sep or not column.strip():
                raise ValidationError("map", f"{part.strip()!r}: use FIELD=COLUMN, e.g. value=indicator,type=2")
            pairs[key.strip().lower()] = column.strip()
    elif spec is not None:
        pairs = {str(k).strip().lower(): str(v).strip() for k, v in spec.items()}
    unknown = sorted(set(pairs) - _MAPPING_KEYS)
    if unknown:
        known = ", ".join(sorted(_MAPPING_KEYS))
        raise ValidationError("map", f"unknown field(s) {', '.join(unknown)}; known: {known}")
    columns: dict[str, Column] = {}
    for key, text in pairs.items():
        if not text:
            raise ValidationError("map", f"{key}: no column given")
        columns[key] = int(text) if text.isdigit() else text
    if "value" not in columns:
        if pairs:
            raise ValidationError("map", "no value column: add value=COLUMN")
        columns["value"] = 1
    if fixed_type is not None and _type_name(fixed_type) is None:
        raise ValidationError("type", f"unknown type {fixed_type!r}; known: {', '.join(sorted(TYPE_NAMES))}")
    if delimiter is not None and len(delimiter) != 1:
        raise ValidationError("delimiter", "must be one character")
    return CsvMapping(
        value=columns["value"],
        type=columns.get("type"),
        fixed_type=fixed_type,
        name=columns.get("name"),
        description=columns.get("description"),
        valid_from=columns.get("valid_from"),
        confidence=columns.get("confidence"),
        labels=columns.get("labels"),
        tlp=columns.get("tlp"),
        delimiter=delimiter,
        header=header,
    )


def _sniff(text: str) -> str:
    sample = "\n".join(line for line in text[:65536].splitlines()[:50] if line and not line.startswith("#"))
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _rows(text: str, delimiter: str, losses: list[Loss]) -> Iterator[tuple[int, list[str]]]:
    """``(line number, cells)`` of each record; comment lines are given with cells ``["#…"]``."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            losses.append(Loss(f"line {start}", "", "", f"unreadable CSV: {exc}"))
            if reader.line_num < start:
                return
            continue
        yield start, row


def _resolve(ref: Column, header: list[str] | None, field_name: str) -> int:
    if isinstance(ref, int):
        if ref < 1:
            raise ValidationError("map", f"{field_name}: column numbers start at 1")
        return ref - 1
    if header is not None:
        wanted = ref.strip().lower()
        for index, name in enumerate(header):
            if name.strip().lower() == wanted:
                return index
    if ref.strip().isdigit():
        return _resolve(int(ref.strip()), header, field_name)
    shown = ", ".join(repr(h) for h in header) if header else "no header row"
    raise ValidationError("map", f"{field_name}: no column named {ref!r} (columns: {shown})")


def _has_column(row: list[str], ref: Column) -> bool:
    try:
        _resolve(ref, row, "value")
    except ValidationError:
        return False
    return True


def _header(
    row: list[str], last_comment: list[str] | None, mapping: CsvMapping, named: bool
) -> tuple[list[str] | None, bool]:
    """The header row (if any) and whether ``row``, the first record, is it."""
    if mapping.header is not None:
        return (row if mapping.header else None), mapping.header
    if named:
        # A header in the file's last comment line ("# id,date,url") when the first record
        # does not name the value column.
        commented = last_comment is not None and _has_column(last_comment, mapping.value)
        if commented and last_comment is not None and not _has_column(row, mapping.value):
            return last_comment, False
        return row, True
    position = _resolve(mapping.value, None, "value")
    first = row[position] if position < len(row) else ""
    type_name = mapping.fixed_type
    if mapping.type is not None:
        type_position = _resolve(mapping.type, None, "type")
        type_name = row[type_position] if type_position < len(row) else None
    is_header = isinstance(observable_of(first, type_name), str)
    return (row if is_header else None), is_header


def csv_to_stix(text: str, mapping: CsvMapping, *, source: str, now: Clock = now_us) -> Conversion:
    """Convert CSV ``text`` with ``mapping`` (see the module docstring).

    A mapping that names a column the file does not have is a ValidationError (nothing
    could be imported); every bad row is a ``Loss`` and the other rows are kept.
    """
    conversion = Conversion()
    indicators = _Indicators(conversion)
    stamp = format_us(now())
    text = text.removeprefix("\ufeff")
    delimiter = mapping.delimiter or _sniff(text)
    named = any(isinstance(ref, str) and not ref.strip().isdigit() for ref in mapping.columns().values())
    last_comment: list[str] | None = None
    index: dict[str, int] | None = None
    rows = 0
    fixed = mapping.fixed_type
    for line, row in _rows(text, delimiter, conversion.losses):
        if not row or not any(cell.strip() for cell in row):
            continue
        if row[0].lstrip().startswith("#"):
            # A commented header ("# id,date,url") is taken when the file has no other.
            stripped = [row[0].lstrip().lstrip("#").strip(), *row[1:]]
            last_comment = stripped if len(row) > 1 else None
            conversion.counts["comments"] = conversion.counts.get("comments", 0) + 1
            continue
        if index is None:
            header, is_header = _header(row, last_comment, mapping, named)
            index = {key: _resolve(ref, header, key) for key, ref in mapping.columns().items()}
            if is_header:
                continue
        rows += 1
        _csv_row(line, row, index, fixed, source, stamp, indicators)
    conversion.counts["rows"] = rows
    conversion.counts["indicators"] = len(conversion.objects)
    return conversion


def _csv_row(
    line: int,
    row: list[str],
    index: dict[str, int],
    fixed_type: str | None,
    source: str,
    stamp: str,
    indicators: _Indicators,
) -> None:
    where = f"line {line}"
    losses = indicators.conversion.losses

    def cell(key: str) -> str | None:
        position = index.get(key)
        if position is None or position >= len(row):
            return None
        text = row[position].strip()
        return text or None

    value = cell("value")
    if value is None:
        reason = "empty value" if index["value"] < len(row) else f"no column {index['value'] + 1} (row has {len(row)})"
        losses.append(Loss(where, "value", "", reason))
        return
    type_name = cell("type") if "type" in index else fixed_type
    found = observable_of(value, type_name)
    if isinstance(found, str):
        losses.append(Loss(where, "value", _short(value), found))
        return
    tlp: Tlp | None = None
    tlp_text = cell("tlp")
    if tlp_text is not None:
        tlp = tlp_from_name(tlp_text)
        if tlp is None:
            losses.append(
                Loss(where, "tlp", _short(tlp_text), "not a TLP level; the row is left out rather than shared wider")
            )
            return
    confidence: int | None = None
    confidence_text = cell("confidence")
    if confidence_text is not None:
        read = _confidence(confidence_text)
        if isinstance(read, str):
            losses.append(Loss(where, "confidence", _short(confidence_text), read + "; the indicator has none"))
        else:
            confidence = read
    valid_from: str | None = None
    valid_text = cell("valid_from")
    if valid_text is not None:
        try:
            valid_from = _timestamp(valid_text)
        except ValueError as exc:
            losses.append(Loss(where, "valid_from", _short(valid_text), f"{exc}; the import time is used"))
    labels_text = cell("labels")
    indicators.add(
        where,
        indicator_for(
            found,
            source=source,
            stamp=stamp,
            name=cell("name"),
            description=cell("description"),
            valid_from=valid_from,
            confidence=confidence,
            labels=_labels(labels_text) if labels_text else (),
            tlp=tlp,
        ),
    )


# -- plain IOC lists ---------------------------------------------------------------------------

_SCORED: Final = re.compile(r"(?P<value>.+?) *(?P<sep>[;,\t])\s*(?P<score>[-+]?\d+(?:\.\d+)?)")
_TRAILING_COMMENT: Final = re.compile(r"\s+#.*\Z")


def ioc_list_to_stix(
    text: str,
    *,
    source: str,
    default_type: str | None = None,
    now: Clock = now_us,
) -> Conversion:
    """Convert a plain list of values, one a line (see the module docstring).

    ``#`` starts a comment (a whole line, or after white space at the end of a value
    line). The comment lines directly above a run of values — not separated from them
    by a blank line — name where those values come from (a report, a campaign), and
    become their indicators' description. ``value;score``, ``value,score`` and
    ``value<TAB>score`` lines give a score, kept as the indicator's ``confidence`` (0–100).
    ``default_type`` types every value (say ``filename``); otherwise it is recognised.
    """
    if default_type is not None and _type_name(default_type) is None:
        raise ValidationError("type", f"unknown type {default_type!r}; known: {', '.join(sorted(TYPE_NAMES))}")
    conversion = Conversion()
    indicators = _Indicators(conversion, join_descriptions=True)
    stamp = format_us(now())
    pending: list[str] = []  # comment lines since the last value or blank line
    description: str | None = None
    previous = "blank"
    values = 0
    for number, raw in enumerate(text.removeprefix("\ufeff").splitlines(), start=1):
        line = raw.strip()
        if not line:
            if previous == "comment":
                pending = []
            elif previous == "value":
                description = None
            previous = "blank"
            continue
        if line.startswith("#"):
            if previous != "comment":
                pending = []
            note = line.lstrip("#").strip()
            if note:
                pending.append(note)
            conversion.counts["comments"] = conversion.counts.get("comments", 0) + 1
            previous = "comment"
            continue
        if previous == "comment":
            description = " ".join(pending) or None
            pending = []
        previous = "value"
        values += 1
        _list_line(number, _TRAILING_COMMENT.sub("", line), default_type, description, source, stamp, indicators)
    conversion.counts["values"] = values
    conversion.counts["indicators"] = len(conversion.objects)
    return conversion


def _list_line(
    number: int,
    line: str,
    default_type: str | None,
    description: str | None,
    source: str,
    stamp: str,
    indicators: _Indicators,
) -> None:
    where = f"line {number}"
    losses = indicators.conversion.losses
    value, score = line, None
    scored = _SCORED.fullmatch(line)
    # "value;score" and "value<TAB>score" always; "value,score" when the whole line is not
    # itself a value (a URL may hold a comma).
    if scored is not None and (scored["sep"] != "," or not isinstance(observable_of(line, default_type), Observable)):
        value, score = scored["value"], scored["score"]
    found = observable_of(value, default_type)
    if isinstance(found, str):
        losses.append(Loss(where, "value", _short(value), found))
        return
    confidence: int | None = None
    if score is not None:
        read = _confidence(score)
        if isinstance(read, str):
            losses.append(Loss(where, "score", score, read + "; the indicator has no confidence"))
        else:
            confidence = read
    indicators.add(
        where,
        indicator_for(found, source=source, stamp=stamp, description=description, confidence=confidence),
    )
