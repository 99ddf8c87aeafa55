"""Exports: which objects leave the hub (the selection rules) and the files they leave in
(the renderers). Pure: no I/O; ``ribat.formats.exporting`` reads the hub and writes the file.

Selection (``Selector``)
------------------------
Each object is checked in this order and the first rule it fails is the reason it is
skipped (``ExportTally.skipped`` counts objects per reason and keeps a few ids of each):

``duplicate``
    an object id already exported (several collections hold it: the first one wins);
``type``
    its type is not among the types asked for;
``not_indicator``
    the format lists detection values, which only indicators carry;
``tlp``
    its TLP (the hub's stored TLP when the caller has it, else its markings) is above the
    highest TLP asked for;
``revoked``
    ``revoked: true``;
``undated`` / ``before_since`` / ``after_until``
    a date filter was asked for and the object's ``modified`` (else ``created``) is missing,
    earlier than ``since`` or later than ``until`` (both inclusive);
``no_confidence`` / ``low_confidence``
    a minimum confidence was asked for and the object has none, or a lower one;
``expired`` / ``not_yet_valid``
    an indicator whose ``valid_until`` is not after now, or whose ``valid_from`` is after
    now (``now`` is injected);
``flagged``
    one of its values hits a MISP warninglist (``warninglist_flags``); kept and marked with
    the list names when ``include_flagged`` is set.

Renderers then skip *values* they cannot express, counted per reason as well:
``not_detection_shape`` (an indicator whose pattern is not a plain OR of equalities, see
``ribat.intel.observables.detection_observables``: it is never widened into a list of values),
``unsupported:<kind>`` (a kind the format has no place for: e-mail addresses in Suricata rules),
``other_kind:<kind>`` (a value of another kind than the blocklist asked for),
``unsupported_url`` (a URL whose scheme a Suricata HTTP rule cannot match),
``duplicate_value`` (a value already written by another indicator).

Formats (``FORMATS``)
---------------------
``stix`` (a STIX 2.1 bundle of the selected objects as stored), ``misp`` (MISP event JSON via
``ribat.formats.misp``), ``misp-feed`` (a MISP feed directory via ``ribat.formats.misp_feed``),
``csv`` (one row per detection value), ``blocklist`` (one value a line, of one kind),
``suricata`` (rules) and ``zeek`` (an Intel framework file). The last four are *detection*
formats: they read indicators only. docs/formats-export.md describes each file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import ipaddress
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

import orjson

from ribat.clock import parse_timestamp_us
from ribat.errors import ValidationError
from ribat.intel.observables import HASH_KINDS, Observable, detection_observables, observables_of
from ribat.intel.tlp import Tlp, tlp_of_object
from ribat.intel.warninglists import WarninglistIndex

__all__ = [
    "BLOCKLIST_KINDS",
    "FORMATS",
    "SAMPLE_SIZE",
    "ExportFilter",
    "ExportFormat",
    "ExportTally",
    "Selected",
    "Selector",
    "SuricataOptions",
    "ZeekOptions",
    "blocklist_values",
    "detection_values",
    "parse_filter",
    "reason_text",
    "render_blocklist",
    "render_csv",
    "render_stix",
    "render_suricata",
    "render_zeek",
    "select",
    "suricata_content",
    "suricata_msg",
    "warninglist_flags",
    "zeek_field",
]

SAMPLE_SIZE: Final = 10
_CHUNK: Final = 1000  # lines per yielded chunk


@dataclass(frozen=True)
class ExportFormat:
    name: str
    media_type: str
    extension: str
    detection: bool  # lists indicator values (and so reads indicators only)
    description: str


FORMATS: Final[Mapping[str, ExportFormat]] = {
    f.name: f
    for f in (
        ExportFormat("stix", "application/stix+json;version=2.1", "json", False, "STIX 2.1 bundle"),
        ExportFormat("misp", "application/json", "json", False, "MISP event JSON"),
        ExportFormat("misp-feed", "application/zip", "zip", False, "MISP feed directory"),
        ExportFormat("csv", "text/csv; charset=utf-8", "csv", True, "CSV, one row per detection value"),
        ExportFormat("blocklist", "text/plain; charset=utf-8", "txt", True, "plain blocklist of one kind"),
        ExportFormat("suricata", "text/plain; charset=utf-8", "rules", True, "Suricata rules"),
        ExportFormat("zeek", "text/plain; charset=utf-8", "intel", True, "Zeek Intel framework file"),
    )
}

# Blocklist kinds: every observable kind a device blocks on (``ip`` is IPv4 and IPv6 together).
BLOCKLIST_KINDS: Final[Mapping[str, frozenset[str]]] = {
    "ip": frozenset({"ipv4", "ipv6"}),
    "ipv4": frozenset({"ipv4"}),
    "ipv6": frozenset({"ipv6"}),
    "domain": frozenset({"domain"}),
    "url": frozenset({"url"}),
    "email": frozenset({"email"}),
    **{k: frozenset({k}) for k in sorted(HASH_KINDS)},
}

_REASONS: Final = {
    "duplicate": "already exported from another collection",
    "type": "type not asked for",
    "not_indicator": "not an indicator (detection formats list indicator values)",
    "tlp": "TLP above the highest asked for",
    "revoked": "revoked",
    "undated": "no modified or created time to compare with the date filter",
    "before_since": "modified before 'since'",
    "after_until": "modified after 'until'",
    "no_confidence": "no confidence to compare with the minimum",
    "low_confidence": "confidence below the minimum",
    "expired": "indicator past its valid_until",
    "not_yet_valid": "indicator valid_from in the future",
    "flagged": "a value hits a warninglist",
    "bad_timestamp": "a timestamp that cannot be read",
    "not_detection_shape": "pattern not a plain OR of equalities: not expressible as a list of values",
    "unsupported_url": "URL scheme a Suricata HTTP rule cannot match",
    "unsafe_value": "value with characters the format cannot carry",
    "duplicate_value": "value already written for another indicator",
    "not_carried_into_misp": "not carried into MISP by misp-stix",
    "refused_by_misp_feed": "MISP event the feed writer refused",
}


def reason_text(reason: str, fmt: str | None = None) -> str:
    """Words for a skip reason (``unsupported:<kind>`` names the kind and the format)."""
    if reason.startswith("unsupported:"):
        kind = reason.partition(":")[2]
        return f"{kind} values are not expressible in {fmt or 'this format'}"
    if reason.startswith("other_kind:"):
        return f"{reason.partition(':')[2]} values, not of the blocklist's kind"
    return _REASONS.get(reason, reason)


@dataclass
class ExportTally:
    """What an export wrote and what it left out, by reason (a few object ids per reason)."""

    objects: int = 0  # objects selected
    values: int = 0  # lines, rows or rules written (detection formats), objects otherwise
    skipped: Counter[str] = field(default_factory=Counter)
    samples: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def skip(self, reason: str, object_id: str) -> None:
        self.skipped[reason] += 1
        sample = self.samples.setdefault(reason, [])
        if len(sample) < SAMPLE_SIZE and object_id not in sample:
            sample.append(object_id)

    def as_dict(self, fmt: str | None = None) -> dict[str, Any]:
        return {
            "objects": self.objects,
            "values": self.values,
            "skipped": {
                reason: {"count": n, "reason": reason_text(reason, fmt), "sample": self.samples.get(reason, [])}
                for reason, n in sorted(self.skipped.items())
            },
            "notes": list(self.notes),
        }


# -- filters ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportFilter:
    """What to export. Every field is optional; ``types`` are ORed."""

    types: tuple[str, ...] = ()
    max_tlp: Tlp | None = None
    since_us: int | None = None
    until_us: int | None = None
    min_confidence: int | None = None
    include_flagged: bool = False


_TYPE_NAME: Final = re.compile(r"[a-z0-9][a-z0-9-]{0,249}")


def _timestamp(name: str, text: str) -> int:
    value = text.strip()
    if len(value) == 10:  # a plain date means its first microsecond
        value += "T00:00:00Z"
    try:
        return parse_timestamp_us(value)
    except ValueError:
        raise ValidationError(name, f"{text!r} is not a date (YYYY-MM-DD) or UTC timestamp ending in Z") from None


def parse_filter(
    *,
    types: Iterable[str] = (),
    max_tlp: str | None = None,
    since: str | None = None,
    until: str | None = None,
    min_confidence: str | int | None = None,
    include_flagged: bool = False,
) -> ExportFilter:
    """An ``ExportFilter`` from text (query parameters, command options); ``ValidationError``
    naming the parameter when one is wrong. ``types`` entries may hold comma-separated lists."""
    found: list[str] = []
    for entry in types:
        for name in entry.split(","):
            name = name.strip()
            if not name:
                continue
            if not _TYPE_NAME.fullmatch(name):
                raise ValidationError("type", f"{name!r} is not a STIX type name")
            if name not in found:
                found.append(name)
    level = None
    if max_tlp is not None and max_tlp.strip():
        try:
            level = Tlp.parse(max_tlp)
        except ValueError as exc:
            raise ValidationError("max_tlp", str(exc)) from None
    since_us = _timestamp("since", since) if since is not None and since.strip() else None
    until_us = None
    if until is not None and until.strip():
        until_us = _timestamp("until", until)
        if len(until.strip()) == 10:
            until_us += 86_400_000_000 - 1  # a plain date includes the whole day
    if since_us is not None and until_us is not None and since_us > until_us:
        raise ValidationError("until", "is before 'since'")
    confidence = None
    if min_confidence is not None and str(min_confidence).strip():
        try:
            confidence = int(str(min_confidence).strip())
        except ValueError:
            raise ValidationError("min_confidence", f"{min_confidence!r} is not an integer") from None
        if not 0 <= confidence <= 100:
            raise ValidationError("min_confidence", "must be between 0 and 100")
    return ExportFilter(tuple(found), level, since_us, until_us, confidence, include_flagged)


# -- selection --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Selected:
    """An object that passed the selection, with its TLP, the warninglists it hits (only
    when flagged objects were asked for) and its stored JSON text when the caller has it."""

    obj: Mapping[str, Any]
    tlp: Tlp
    flags: tuple[str, ...] = ()
    body: str | None = None

    @property
    def id(self) -> str:
        return str(self.obj.get("id", ""))


FlagsOf = Callable[[Mapping[str, Any]], Sequence[str]]


def _values_to_check(obj: Mapping[str, Any]) -> list[Observable]:
    found = detection_observables(obj)
    return found if found is not None else observables_of(obj)


def warninglist_flags(index: WarninglistIndex) -> FlagsOf:
    """The names of the lists an object's values hit (its detection values, else all its
    observables), each value looked up once per export."""
    cache: dict[str, tuple[str, ...]] = {}

    def flags_of(obj: Mapping[str, Any]) -> tuple[str, ...]:
        names: dict[str, None] = {}
        for obs in _values_to_check(obj):
            hit = cache.get(obs.value)
            if hit is None:
                hit = tuple(h.list_name for h in index.hits(obs.value))
                cache[obs.value] = hit
            names.update(dict.fromkeys(hit))
        return tuple(names)

    return flags_of


def _time_of(obj: Mapping[str, Any], key: str) -> int | None:
    value = obj.get(key)
    if not isinstance(value, str):
        return None
    return parse_timestamp_us(value)


class Selector:
    """Applies the selection rules (module doc) one object at a time, counting skips."""

    def __init__(
        self,
        flt: ExportFilter,
        *,
        now_us: int,
        detection: bool,
        flags_of: FlagsOf | None = None,
        tally: ExportTally | None = None,
    ) -> None:
        self.flt = flt
        self.now_us = now_us
        self.detection = detection
        self.flags_of = flags_of
        self.tally = tally if tally is not None else ExportTally()
        self._types = frozenset(flt.types)
        self._seen: set[str] = set()

    def consider(self, obj: Mapping[str, Any], tlp: Tlp, body: str | None = None) -> Selected | None:
        oid = str(obj.get("id", "<no id>"))
        reason = self._reason(obj, oid, tlp)
        if reason is not None:
            self.tally.skip(reason, oid)
            return None
        flags: tuple[str, ...] = ()
        if self.flags_of is not None:
            flags = tuple(self.flags_of(obj))
            if flags and not self.flt.include_flagged:
                self.tally.skip("flagged", oid)
                return None
        self._seen.add(oid)
        self.tally.objects += 1
        return Selected(obj, tlp, flags, body)

    def _reason(self, obj: Mapping[str, Any], oid: str, tlp: Tlp) -> str | None:
        flt = self.flt
        kind = obj.get("type")
        if oid in self._seen:
            return "duplicate"
        if self._types and kind not in self._types:
            return "type"
        if self.detection and kind != "indicator":
            return "not_indicator"
        if flt.max_tlp is not None and tlp > flt.max_tlp:
            return "tlp"
        if obj.get("revoked") is True:
            return "revoked"
        try:
            if flt.since_us is not None or flt.until_us is not None:
                when = _time_of(obj, "modified")
                if when is None:
                    when = _time_of(obj, "created")
                if when is None:
                    return "undated"
                if flt.since_us is not None and when < flt.since_us:
                    return "before_since"
                if flt.until_us is not None and when > flt.until_us:
                    return "after_until"
            if flt.min_confidence is not None:
                confidence = obj.get("confidence")
                if not isinstance(confidence, int) or isinstance(confidence, bool):
                    return "no_confidence"
                if confidence < flt.min_confidence:
                    return "low_confidence"
            if kind == "indicator":
                until = _time_of(obj, "valid_until")
                if until is not None and until <= self.now_us:
                    return "expired"
                start = _time_of(obj, "valid_from")
                if start is not None and start > self.now_us:
                    return "not_yet_valid"
        except ValueError:
            return "bad_timestamp"
        return None


def select(
    objects: Iterable[Mapping[str, Any]],
    flt: ExportFilter,
    *,
    now_us: int,
    detection: bool = False,
    flags_of: FlagsOf | None = None,
    markings: Mapping[str, Tlp] | None = None,
    default_tlp: Tlp = Tlp.AMBER,
) -> tuple[list[Selected], ExportTally]:
    """The objects that pass the selection and the tally of those that did not. An object's
    TLP is read from its markings (``markings`` adds custom TLP marking definitions); one
    without a TLP marking gets ``default_tlp``."""
    selector = Selector(flt, now_us=now_us, detection=detection, flags_of=flags_of)
    kept = []
    for obj in objects:
        tlp = tlp_of_object(obj, markings)
        found = selector.consider(obj, tlp if tlp is not None else default_tlp)
        if found is not None:
            kept.append(found)
    return kept, selector.tally


def detection_values(items: Iterable[Selected], tally: ExportTally) -> Iterator[tuple[Selected, Observable]]:
    """Each selected indicator's detection values; an indicator whose pattern is not a plain
    OR of equalities is counted as ``not_detection_shape`` and yields nothing."""
    for item in items:
        values = detection_observables(item.obj)
        if values is None:
            tally.skip("not_detection_shape", item.id)
            continue
        for obs in values:
            yield item, obs


def _chunks(lines: Iterable[str], size: int = _CHUNK) -> Iterator[str]:
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= size:
            yield "".join(batch)
            batch = []
    if batch:
        yield "".join(batch)


def _name_of(obj: Mapping[str, Any]) -> str:
    name = obj.get("name")
    return name if isinstance(name, str) and name.strip() else str(obj.get("id", ""))


_TLP_WORD: Final = {
    Tlp.CLEAR: "clear",
    Tlp.GREEN: "green",
    Tlp.AMBER: "amber",
    Tlp.AMBER_STRICT: "amber+strict",
    Tlp.RED: "red",
}


# -- STIX bundle ------------------------------------------------------------------------------


def render_stix(items: Iterable[Selected], tally: ExportTally, *, bundle_id: str) -> Iterator[str]:
    """A STIX 2.1 bundle (STIX 2.1 §8) of the selected objects, each as stored."""
    yield '{"type":"bundle","id":' + orjson.dumps(bundle_id).decode() + ',"objects":['

    def bodies() -> Iterator[str]:
        first = True
        for item in items:
            text = item.body if item.body is not None else orjson.dumps(item.obj).decode()
            tally.values += 1
            yield text if first else "," + text
            first = False

    yield from _chunks(bodies(), 200)
    yield "]}\n"


# -- CSV --------------------------------------------------------------------------------------

CSV_COLUMNS: Final = (
    "indicator_id",
    "kind",
    "value",
    "name",
    "tlp",
    "confidence",
    "valid_from",
    "valid_until",
    "labels",
    "warninglists",
)
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str) -> str:
    """Free text as a CSV cell a spreadsheet will not run as a formula (a leading ``'``)."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def render_csv(items: Iterable[Selected], tally: ExportTally) -> Iterator[str]:
    """One row per detection value (RFC 4180, CRLF line ends), columns ``CSV_COLUMNS``.
    ``labels`` and ``warninglists`` are joined with ``;``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield buffer.getvalue()

    def rows() -> Iterator[str]:
        for item, obs in detection_values(items, tally):
            obj = item.obj
            labels = obj.get("labels")
            confidence = obj.get("confidence")
            buffer.seek(0)
            buffer.truncate()
            writer.writerow(
                (
                    item.id,
                    obs.kind,
                    _cell(obs.value),
                    _cell(_name_of(obj)),
                    _TLP_WORD[item.tlp],
                    confidence if isinstance(confidence, int) else "",
                    obj.get("valid_from", ""),
                    obj.get("valid_until", ""),
                    _cell(";".join(str(x) for x in labels)) if isinstance(labels, list) else "",
                    _cell(";".join(item.flags)),
                )
            )
            tally.values += 1
            yield buffer.getvalue()

    yield from _chunks(rows())


# -- blocklists -------------------------------------------------------------------------------


def _ip_order(value: str) -> tuple[int, int, int]:
    net = ipaddress.ip_network(value, strict=False)
    return (net.version, int(net.network_address), net.prefixlen)


def blocklist_values(items: Iterable[Selected], tally: ExportTally, kind: str) -> list[str]:
    """The distinct values of ``kind`` (see ``BLOCKLIST_KINDS``), sorted: addresses and
    networks numerically (IPv4 first), others as text."""
    kinds = BLOCKLIST_KINDS.get(kind)
    if kinds is None:
        raise ValidationError("kind", f"{kind!r} is not a blocklist kind (use {', '.join(BLOCKLIST_KINDS)})")
    found: dict[str, None] = {}
    for item, obs in detection_values(items, tally):
        if obs.kind not in kinds:
            tally.skip(f"other_kind:{obs.kind}", item.id)
        elif "\n" in obs.value or "\r" in obs.value:
            tally.skip("unsafe_value", item.id)
        elif obs.value in found:
            tally.skip("duplicate_value", item.id)
        else:
            found[obs.value] = None
    if kinds <= {"ipv4", "ipv6"}:
        return sorted(found, key=_ip_order)
    return sorted(found)


_BLOCKLIST_WHAT: Final = {
    "ip": "IPv4 and IPv6 addresses and networks (CIDR)",
    "ipv4": "IPv4 addresses and networks (CIDR)",
    "ipv6": "IPv6 addresses and networks (CIDR)",
    "domain": "domain names",
    "url": "URLs",
    "email": "e-mail addresses",
}


def render_blocklist(
    items: Iterable[Selected], tally: ExportTally, kind: str, *, generated: str, source: str
) -> Iterator[str]:
    """One value a line under a ``#`` header saying what, from where and when."""
    values = blocklist_values(items, tally, kind)
    what = _BLOCKLIST_WHAT.get(kind, f"{kind} values")
    yield (
        f"# Ribat blocklist: {what}\n# source: {_one_line(source)}\n# generated: {generated}\n# values: {len(values)}\n"
    )
    tally.values += len(values)
    yield from _chunks(v + "\n" for v in values)


def _one_line(text: str) -> str:
    return " ".join(text.split())


# -- Suricata ---------------------------------------------------------------------------------

# Content bytes: printable ASCII as is, except the four the rule language reserves inside a
# content string (and the backslash), which go as hex; everything else as hex.
_CONTENT_ASCII: Final = {i: f"|{i:02X}|" for i in range(128) if i < 0x20 or i == 0x7F}
_CONTENT_ASCII.update({ord(c): f"|{ord(c):02X}|" for c in '";:|\\'})
_CONTENT_BYTE: Final = [chr(b) if 0x20 <= b < 0x7F and chr(b) not in '";:|\\' else f"|{b:02X}|" for b in range(256)]
# Line breaks of any kind become spaces (a rule is one line, whatever reads it).
_BREAKS: Final = {**{chr(i): " " for i in range(0x20)}, "\x7f": " ", "\x85": " ", "\u2028": " ", "\u2029": " "}
_MSG: Final = str.maketrans({"\\": "\\\\", '"': '\\"', ";": "\\;", **_BREAKS})
_META_UNSAFE: Final = re.compile(r"[^A-Za-z0-9 ._+/-]+")
_MSG_NAME_MAX: Final = 200


def suricata_content(value: str) -> str:
    """``value`` as the inside of a Suricata ``content:"…"`` string: ``"`` ``;`` ``:`` ``|``
    ``\\``, control characters and non-ASCII bytes as ``|XX|`` hex, consecutive hex bytes in
    one group (Suricata user guide, payload keywords: content)."""
    if value.isascii():
        text = value.translate(_CONTENT_ASCII)
    else:
        text = "".join(_CONTENT_BYTE[b] for b in value.encode("utf-8", "surrogatepass"))
    return text.replace("||", " ")


def suricata_msg(text: str) -> str:
    """``text`` as the inside of ``msg:"…"``: ``\\``, ``"`` and ``;`` escaped with a backslash
    (Suricata user guide, meta keywords: msg), control characters as spaces."""
    return text.translate(_MSG)


_SID_MAX: Final = 0xFFFFFFFF


@dataclass(frozen=True)
class SuricataOptions:
    """``sid_base``/``sid_range``: sids are drawn from [sid_base, sid_base + sid_range);
    ``home_net``: the protected side of every rule; ``subdomains``: domain rules also match
    sub-domains (``dotprefix``), else the exact name only."""

    sid_base: int = 1_000_000_000
    sid_range: int | None = None  # None: 1,000,000,000, cut at the largest sid (4294967295)
    classtype: str = "bad-unknown"
    home_net: str = "$HOME_NET"
    subdomains: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.sid_base <= _SID_MAX:
            raise ValidationError("sid_base", f"must be between 1 and {_SID_MAX}")
        if self.sid_range is None:
            object.__setattr__(self, "sid_range", min(1_000_000_000, _SID_MAX - self.sid_base + 1))
        if self.range < 1000:
            raise ValidationError("sid_base", "leaves fewer than 1000 sids below 4294967296")
        if self.sid_base + self.range - 1 > _SID_MAX:
            raise ValidationError("sid_range", "sid_base + sid_range must stay within 32 bits (4294967296)")
        if not re.fullmatch(r"[a-z0-9-]+", self.classtype):
            raise ValidationError("classtype", f"{self.classtype!r} is not a classtype name")
        if not re.fullmatch(r"[$A-Za-z0-9_.:/!\[\],-]+", self.home_net):
            raise ValidationError("home_net", f"{self.home_net!r} is not a rule address")

    @property
    def range(self) -> int:
        assert self.sid_range is not None
        return self.sid_range


class _Sids:
    """Stable sids: a BLAKE2b digest of the rule's key modulo the range. A key whose sid is
    already taken by another key tries ``key#1``, ``key#2`` … (the first comer keeps its sid)."""

    def __init__(self, base: int, size: int) -> None:
        self.base = base
        self.size = size
        self.taken: dict[int, str] = {}
        self.collisions = 0

    def sid(self, key: str) -> int:
        attempt = 0
        while True:
            probe = key if attempt == 0 else f"{key}#{attempt}"
            digest = hashlib.blake2b(probe.encode("utf-8", "surrogatepass"), digest_size=8).digest()
            sid = self.base + int.from_bytes(digest, "big") % self.size
            owner = self.taken.get(sid)
            if owner is None:
                self.taken[sid] = key
                return sid
            if owner == key:
                return sid
            self.collisions += 1
            attempt += 1


def _rev(obj: Mapping[str, Any]) -> int:
    """The indicator's ``modified`` in seconds since 1970: a new version has a higher rev."""
    for key in ("modified", "created"):
        try:
            when = _time_of(obj, key)
        except ValueError:
            continue
        if when is not None and 0 < when // 1_000_000 <= 0xFFFFFFFF:
            return when // 1_000_000
    return 1


def _metadata(item: Selected, kind: str) -> str:
    parts = [f"stix_id {item.id}", f"tlp {_TLP_WORD[item.tlp]}", f"ribat_kind {kind}"]
    parts += [f"warninglist {_META_UNSAFE.sub('_', name).strip() or '_'}" for name in item.flags]
    return ", ".join(parts)


_SURICATA_KINDS: Final = frozenset({"ipv4", "ipv6", "domain", "url"})


def _url_parts(url: str) -> tuple[str, str, str] | None:
    """(host, port or 'any', request URI) of an http(s) URL, None when not one."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    uri = parts.path or "/"
    if parts.query:
        uri += "?" + parts.query
    return parts.hostname, str(port) if port is not None else "any", uri


def render_suricata(
    items: Iterable[Selected],
    tally: ExportTally,
    options: SuricataOptions,
    *,
    generated: str,
    source: str,
) -> Iterator[str]:
    """Suricata rules, one per value and protocol (docs/formats-export.md shows each shape):

    * ``ipv4``/``ipv6`` (address or CIDR): ``alert ip <home_net> any <> <value> any``;
    * ``domain``: a ``dns.query`` rule, a ``tls.sni`` rule and an ``http.host`` rule;
    * ``url`` (http/https): ``http.host`` (exact, port in the header when the URL names one)
      and, unless the URL is the bare host, ``http.uri`` exact (``http.uri.raw`` when the URI
      holds ``%``-escapes, so that it is compared as sent);
    * other kinds are counted as ``unsupported:<kind>`` (hashes: see the blocklists, which
      are the list files ``filemd5``/``filesha1``/``filesha256`` read).

    Each rule carries ``msg`` (the indicator's name), ``metadata`` (STIX id, TLP, kind and any
    warninglist), ``classtype``, a stable ``sid`` (``_Sids``) and ``rev`` (``_rev``).
    """
    sids = _Sids(options.sid_base, options.range)
    home = options.home_net
    yield (
        f"# Ribat Suricata rules\n"
        f"# source: {_one_line(source)}\n"
        f"# generated: {generated}\n"
        f"# sids: {options.sid_base}-{options.sid_base + options.range - 1}, stable per indicator and value\n"
    )
    seen: set[tuple[str, str]] = set()

    def tail(item: Selected, obs: Observable, variant: str, rev: int) -> str:
        sid = sids.sid(f"{item.id}|{obs.kind}|{obs.value}|{variant}")
        return f"metadata:{_metadata(item, obs.kind)}; classtype:{options.classtype}; sid:{sid}; rev:{rev};)\n"

    def rules() -> Iterator[str]:
        for item, obs in detection_values(items, tally):
            if obs.kind not in _SURICATA_KINDS:
                tally.skip(f"unsupported:{obs.kind}", item.id)
                continue
            if (obs.kind, obs.value) in seen:
                tally.skip("duplicate_value", item.id)
                continue
            name = suricata_msg(_name_of(item.obj)[:_MSG_NAME_MAX])
            rev = _rev(item.obj)
            if obs.kind in ("ipv4", "ipv6"):
                out = [f'alert ip {home} any <> {obs.value} any (msg:"RIBAT IP {name}"; ' + tail(item, obs, "ip", rev)]
            elif obs.kind == "domain":
                if options.subdomains:
                    match = f'dotprefix; content:"{suricata_content("." + obs.value)}"; nocase; endswith;'
                else:
                    size = len(obs.value.encode("utf-8"))
                    match = f'content:"{suricata_content(obs.value)}"; nocase; bsize:{size};'
                out = [
                    f'alert dns {home} any -> any any (msg:"RIBAT DNS query {name}"; dns.query; {match} '
                    + tail(item, obs, "dns", rev),
                    f'alert tls {home} any -> any any (msg:"RIBAT TLS SNI {name}"; tls.sni; {match} '
                    + tail(item, obs, "tls", rev),
                    f'alert http {home} any -> any any (msg:"RIBAT HTTP host {name}"; '
                    f"flow:established,to_server; http.host; {match} " + tail(item, obs, "http", rev),
                ]
            else:
                parts = _url_parts(obs.value)
                if parts is None:
                    tally.skip("unsupported_url", item.id)
                    continue
                host, port, uri = parts
                rule = (
                    f'alert http {home} any -> any {port} (msg:"RIBAT URL {name}"; flow:established,to_server; '
                    f'http.host; content:"{suricata_content(host)}"; bsize:{len(host.encode("utf-8"))}; '
                )
                if uri != "/":
                    buffer = "http.uri.raw" if "%" in uri else "http.uri"
                    size = len(uri.encode("utf-8", "surrogatepass"))
                    rule += f'{buffer}; content:"{suricata_content(uri)}"; bsize:{size}; '
                out = [rule + tail(item, obs, "url", rev)]
            seen.add((obs.kind, obs.value))
            tally.values += len(out)
            yield from out

    yield from _chunks(rules())
    if sids.collisions:
        tally.notes.append(f"{sids.collisions} sid collision(s) resolved by re-hashing")
    yield f"# {tally.values} rules\n"


# -- Zeek Intel -------------------------------------------------------------------------------

ZEEK_HEADER: Final = "#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\tmeta.url\n"
_ZEEK_ESCAPE: Final = {i: f"\\x{i:02x}" for i in range(0x20)}
_ZEEK_ESCAPE.update(
    {0x7F: "\\x7f", ord("\\"): "\\x5c", 0x85: "\\xc2\\x85", 0x2028: "\\xe2\\x80\\xa8", 0x2029: "\\xe2\\x80\\xa9"}
)
_ZEEK_HASHES: Final = frozenset({"md5", "sha1", "sha256"})


def zeek_field(text: str) -> str:
    """A value for one field of a Zeek ASCII input file: ``-`` when empty (unset); TAB,
    newlines, other control characters and ``\\`` as ``\\xHH``, which Zeek's ASCII reader
    decodes back; a lone ``-`` as ``\\x2d`` so that it is not read as unset."""
    if not text:
        return "-"
    if text == "-":
        return "\\x2d"
    return text.translate(_ZEEK_ESCAPE)


@dataclass(frozen=True)
class ZeekOptions:
    """``source``: the ``meta.source`` of every line; ``object_url``: the hub's object page
    prefix (``https://hub.example/objects/``) for ``meta.url``, ``-`` when None."""

    source: str = "ribat"
    object_url: str | None = None


def _zeek_url(url: str) -> str:
    """A URL as Zeek's ``Intel::URL`` holds it: without the scheme, as ``HTTP::build_url``
    writes what it sees (the host, ``:port`` unless 80, then the request URI)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    rest = rest.split("#", 1)[0]
    host, slash, tail = rest.partition("/")
    if scheme.lower() == "http" and host.endswith(":80"):
        host = host[:-3]
    return f"{host}/{tail}" if slash else f"{host}/"


def _zeek_item(obs: Observable) -> tuple[str, str] | None:
    if obs.kind in ("ipv4", "ipv6"):
        return obs.value, "Intel::SUBNET" if "/" in obs.value else "Intel::ADDR"
    if obs.kind == "domain":
        return obs.value, "Intel::DOMAIN"
    if obs.kind == "url":
        return _zeek_url(obs.value), "Intel::URL"
    if obs.kind == "email":
        return obs.value, "Intel::EMAIL"
    if obs.kind in _ZEEK_HASHES:
        return obs.value, "Intel::FILE_HASH"
    if obs.kind == "filename":
        return obs.value, "Intel::FILE_NAME"
    return None


def render_zeek(items: Iterable[Selected], tally: ExportTally, options: ZeekOptions) -> Iterator[str]:
    """A Zeek Intel framework input file: the ``ZEEK_HEADER`` line, then one TAB-separated
    line per value (``indicator``, ``indicator_type``, ``meta.source``, ``meta.desc`` — the
    indicator's name, its STIX id and TLP —, ``meta.url``). Kinds Zeek has no type for (SHA-512,
    SSDEEP, TLSH …) are counted as ``unsupported:<kind>``."""
    yield ZEEK_HEADER
    source = zeek_field(options.source)
    seen: set[tuple[str, str]] = set()

    def lines() -> Iterator[str]:
        for item, obs in detection_values(items, tally):
            found = _zeek_item(obs)
            if found is None:
                tally.skip(f"unsupported:{obs.kind}", item.id)
                continue
            value, kind = found
            if (kind, value) in seen:
                tally.skip("duplicate_value", item.id)
                continue
            seen.add((kind, value))
            desc = f"{_name_of(item.obj)} ({item.id}, TLP:{_TLP_WORD[item.tlp].upper()})"
            if item.flags:
                desc += " [warninglist: " + "; ".join(item.flags) + "]"
            url = options.object_url + item.id if options.object_url else ""
            tally.values += 1
            yield f"{zeek_field(value)}\t{kind}\t{source}\t{zeek_field(desc)}\t{zeek_field(url)}\n"

    yield from _chunks(lines())
