"""What a hunt found, written out: STIX 2.1 sightings to share, and a table, CSV and JSON to read.

:func:`to_stix` turns :class:`~ribat.hunt.hits.Hit` objects into a STIX 2.1 bundle (§8) the hunting
organisation can share back, usually with the indicator's author:

- the hunter's ``identity`` (§4.6), as given;
- per hit, one ``sighting`` (§5.2): ``sighting_of_ref`` the indicator, ``where_sighted_refs`` the
  hunter, ``count``, ``first_seen``/``last_seen`` over every match, ``observed_data_refs`` the
  samples;
- per sample, one ``observed-data`` (§4.13) of the record, ``number_observed`` 1, its
  ``first_observed`` and ``last_observed`` the record's time, ``object_refs`` its objects;
- the record's objects as top-level STIX 2.1 cyber-observable objects (§6) with deterministic ids
  (§2.9: UUIDv5 in the SCO namespace of the JSON canonicalisation of the type's ID contributing
  properties), the records' local references ``"0"``, ``"1"``… rewritten to those ids.

Everything the hunter writes is marked with the chosen TLP 2.0 marking definition and, when
recipients are named, carries :data:`ribat.intel.SHARE_EXTENSION` naming them. Ids that the
specification does not derive (sightings, observed-data, the bundle, observables without ID
contributing properties) come from ``new_id``; times from ``now_us``. File names and line numbers
stay in the local outputs (:func:`to_rows`, :func:`to_csv`, :func:`to_json`, :func:`render_table`)
and are never put in the bundle.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import PurePath
from typing import Any, Final

import orjson

from ribat.clock import NewId, format_us, new_uuid, parse_timestamp_us
from ribat.errors import ValidationError
from ribat.hunt.hits import Hit, Sample
from ribat.intel import SHARE_EXTENSION, Tlp

__all__ = [
    "CSV_COLUMNS",
    "ID_CONTRIBUTING_PROPERTIES",
    "LIST_SEPARATOR",
    "MAX_COUNT",
    "SCO_NAMESPACE",
    "TABLE_WIDTHS",
    "TLP2_MARKING_IDS",
    "author_recipient",
    "hits_from_json",
    "main_values",
    "render_table",
    "sco_id",
    "scos_of",
    "to_csv",
    "to_json",
    "to_rows",
    "to_stix",
]

SCO_NAMESPACE: Final = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")
"""The namespace of deterministic SCO ids (STIX 2.1 §2.9)."""

ID_CONTRIBUTING_PROPERTIES: Final[Mapping[str, tuple[str, ...]]] = {
    "artifact": ("hashes", "payload_bin"),
    "autonomous-system": ("number",),
    "directory": ("path",),
    "domain-name": ("value",),
    "email-addr": ("value",),
    "email-message": ("from_ref", "subject", "body"),
    "file": ("hashes", "name", "extensions", "parent_directory_ref"),
    "ipv4-addr": ("value",),
    "ipv6-addr": ("value",),
    "mac-addr": ("value",),
    "mutex": ("name",),
    "network-traffic": ("start", "end", "src_ref", "dst_ref", "src_port", "dst_port", "protocols", "extensions"),
    "process": (),
    "software": ("name", "cpe", "swid", "vendor", "version"),
    "url": ("value",),
    "user-account": ("account_type", "user_id", "account_login"),
    "windows-registry-key": ("key", "values"),
    "x509-certificate": ("hashes", "serial_number"),
}
"""Per STIX 2.1 SCO type, the properties its deterministic id is derived from (STIX 2.1 §6)."""

TLP2_MARKING_IDS: Final[Mapping[Tlp, str]] = {
    Tlp.CLEAR: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    Tlp.GREEN: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    Tlp.AMBER: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    Tlp.AMBER_STRICT: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    Tlp.RED: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
"""The TLP 2.0 marking definition (OASIS extension form) of each level; all are known to
:data:`ribat.intel.tlp.TLP_MARKING_IDS`, so a hub resolves them without the definitions."""

CSV_COLUMNS: Final = (
    "indicator_id",
    "name",
    "count",
    "first_seen",
    "last_seen",
    "files",
    "sample_values",
    "pattern",
)
"""The columns of :func:`to_rows` and :func:`to_csv`."""

MAX_COUNT: Final = 999_999_999
"""The largest ``count`` a sighting may carry (STIX 2.1 §5.2); a higher count is written as this."""

_HASH_PREFERENCE: Final = ("MD5", "SHA-1", "SHA-256", "SHA-512")
_HASH_NAMES: Final = {
    "md5": "MD5",
    "sha1": "SHA-1",
    "sha256": "SHA-256",
    "sha512": "SHA-512",
    "sha3256": "SHA3-256",
    "sha3512": "SHA3-512",
    "ssdeep": "SSDEEP",
    "tlsh": "TLSH",
}
_TIMESTAMPS: Final = {"network-traffic": ("start", "end")}
_STIX_ID: Final = re.compile(
    r"[a-z0-9][a-z0-9-]*--[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
_TYPE_NAME: Final = re.compile(r"[a-z0-9][a-z0-9-]*[a-z0-9]")
_TIMESTAMP: Final = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.([0-9]+))?Z")
_RECIPIENT: Final = re.compile(r"(?:org|user|circle):\S.*")


# -- deterministic identifiers (STIX 2.1 §2.9) ---------------------------------------------------


def _canonical(value: Any) -> str:
    """RFC 8785 (JSON Canonicalization Scheme), as STIX 2.1 §2.9 requires for deterministic ids."""
    from stix2.canonicalization.Canonicalize import canonicalize

    text: str = canonicalize(value, utf8=False)
    return text


def _one_hash(hashes: Any) -> dict[str, Any] | None:
    """The one hash that stands for ``hashes`` in an id: MD5, else SHA-1, SHA-256, SHA-512, else the first."""
    if not isinstance(hashes, Mapping) or not hashes:
        return None
    for name in _HASH_PREFERENCE:
        if name in hashes:
            return {name: hashes[name]}
    first = next(iter(hashes))
    return {first: hashes[first]}


def sco_id(obj: Mapping[str, Any]) -> str | None:
    """The deterministic id of a STIX 2.1 cyber-observable object whose references are already ids.

    UUIDv5 in :data:`SCO_NAMESPACE` of the canonical JSON of the ID contributing properties the
    object has (STIX 2.1 §2.9), ``hashes`` reduced to one hash. :data:`~ribat.intel.SHARE_EXTENSION`
    names recipients, not the observation, and so does not contribute. None when the type has no
    such properties (``process``, custom types) or the object has none of them.
    """
    kind = obj.get("type")
    names = ID_CONTRIBUTING_PROPERTIES.get(kind) if isinstance(kind, str) else None
    if not names:
        return None
    contributing: dict[str, Any] = {}
    for name in names:
        value = obj.get(name)
        if name == "hashes":
            value = _one_hash(value)
        elif name == "extensions" and isinstance(value, Mapping):
            value = {k: v for k, v in value.items() if k != SHARE_EXTENSION} or None
        if value is not None:
            contributing[name] = value
    if not contributing:
        return None
    return f"{kind}--{uuid.uuid5(SCO_NAMESPACE, _canonical(contributing))}"


def _stix_timestamp(value: Any) -> Any:
    """A timestamp with the trailing zeros of its fraction dropped, as ``stix2`` writes it (the id
    is derived from the text, so both must agree)."""
    if not isinstance(value, str):
        return value
    match = _TIMESTAMP.fullmatch(value)
    if match is None:
        return value
    fraction = (match.group(2) or "").rstrip("0")
    return f"{match.group(1)}.{fraction}Z" if fraction else f"{match.group(1)}Z"


def _hash_name(name: str) -> str:
    return _HASH_NAMES.get(name.lower().replace("-", "").replace("_", ""), name)


def _convert(value: Any, resolve: Callable[[str], str | None]) -> Any:
    """A value with its ``*_ref``/``*_refs`` resolved (unresolvable references dropped), nulls,
    empty lists and empty dictionaries dropped (STIX forbids them), and hash names normalised."""
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key.endswith("_ref") and isinstance(item, str):
                item = resolve(item)
            elif key.endswith("_refs") and isinstance(item, list):
                item = [r for r in (resolve(ref) for ref in item if isinstance(ref, str)) if r is not None]
            elif key == "hashes" and isinstance(item, Mapping):
                item = {_hash_name(str(k)): v for k, v in item.items() if v is not None and v != ""}
            else:
                item = _convert(item, resolve)
            if item is None or (isinstance(item, list | dict) and not item):
                continue
            out[key] = item
        return out
    if isinstance(value, list):
        return [_convert(item, resolve) for item in value if item is not None]
    return value


def scos_of(objects: Mapping[str, Mapping[str, Any]], *, new_id: NewId = new_uuid) -> dict[str, dict[str, Any]]:
    """A record's STIX 2.0-style ``objects`` (keyed ``"0"``, ``"1"``…) as top-level STIX 2.1 SCOs.

    Returns ``key -> SCO`` with every object after the objects it refers to. Each SCO's id is
    derived from its ID contributing properties with its references resolved first (so a
    ``network-traffic`` id depends on its addresses' ids); an object without any gets
    ``<type>--<new_id()>``, as does one whose ID contributing references lead back to itself. A
    reference to a key that is not there is dropped, unless it already is a STIX id. Entries
    without a valid ``type`` are left out.
    """
    valid = {
        key: obj
        for key, obj in objects.items()
        if isinstance(obj, Mapping) and isinstance(obj.get("type"), str) and _TYPE_NAME.fullmatch(obj["type"])
    }
    ids: dict[str, str] = {}
    visiting: set[str] = set()

    def resolve(ref: str) -> str | None:
        if ref in valid:
            return id_of(ref)
        return ref if _STIX_ID.fullmatch(ref) else None

    def body(obj: Mapping[str, Any], names: Iterable[str] | None = None) -> dict[str, Any]:
        kept = {k: v for k, v in obj.items() if k not in ("id", "spec_version") and (names is None or k in names)}
        converted: dict[str, Any] = _convert(kept, resolve)
        for name in _TIMESTAMPS.get(str(obj["type"]), ()):
            if name in converted:
                converted[name] = _stix_timestamp(converted[name])
        return converted

    def id_of(key: str) -> str:
        found = ids.get(key)
        if found is not None:
            return found
        obj = valid[key]
        kind = str(obj["type"])
        if key in visiting:
            ids[key] = f"{kind}--{new_id()}"
            return ids[key]
        visiting.add(key)
        try:
            names = ID_CONTRIBUTING_PROPERTIES.get(kind, ())
            derived = sco_id({"type": kind, **body(obj, names)}) if names else None
        finally:
            visiting.discard(key)
        return ids.setdefault(key, derived or f"{kind}--{new_id()}")

    converted: dict[str, dict[str, Any]] = {}
    for key, obj in valid.items():
        id_of(key)
        rest = body(obj)
        rest.pop("type", None)
        converted[key] = {"type": obj["type"], "spec_version": "2.1", "id": ids[key], **rest}

    by_id = {sco["id"]: key for key, sco in converted.items()}
    ordered: dict[str, dict[str, Any]] = {}
    in_progress: set[str] = set()  # objects whose references are being visited: a cycle of references ends here

    def visit(key: str) -> None:
        if key in ordered or key in in_progress:
            return
        in_progress.add(key)
        for ref in _refs(converted[key]):
            target = by_id.get(ref)
            if target is not None:
                visit(target)
        in_progress.discard(key)
        ordered[key] = converted[key]

    for key in converted:
        visit(key)
    return ordered


def _refs(value: Any) -> Iterable[str]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key.endswith("_ref") and isinstance(item, str):
                yield item
            elif key.endswith("_refs") and isinstance(item, list):
                yield from (r for r in item if isinstance(r, str))
            elif isinstance(item, Mapping | list):
                yield from _refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)


# -- STIX bundle ---------------------------------------------------------------------------------


def author_recipient(created_by_ref: str | None, identity_to_org_short: Mapping[str, str]) -> str | None:
    """The ``share_with`` name (``org:<short name>``) of an indicator's author, given the hub's map of
    organisation identity ids to short names; None when the author is unknown or not an organisation
    of the hub."""
    if created_by_ref is None:
        return None
    short = identity_to_org_short.get(created_by_ref)
    return f"org:{short}" if short else None


def _ordered(hits: Iterable[Hit]) -> list[Hit]:
    return sorted(hits, key=lambda h: (-h.count, h.name.casefold(), h.indicator_id))


def to_stix(
    hits: Iterable[Hit],
    *,
    hunter_identity: Mapping[str, Any],
    tlp: Tlp = Tlp.AMBER,
    share_with: Sequence[str] = (),
    now_us: int,
    new_id: NewId = new_uuid,
) -> dict[str, Any]:
    """The hits as a STIX 2.1 bundle of sightings, observed-data and SCOs (see the module docstring).

    ``hunter_identity`` is the hunting organisation's STIX ``identity``; ``share_with`` names
    recipients as ``org:<short name>``, ``circle:<name>`` or ``user:<email>`` (see
    :func:`author_recipient`). A record sampled by several hits is one observed-data, and an
    observable seen in several records is one object (the first one seen).
    """
    hunter_id = hunter_identity.get("id")
    if (
        hunter_identity.get("type") != "identity"
        or not isinstance(hunter_id, str)
        or not hunter_id.startswith("identity--")
        or not _STIX_ID.fullmatch(hunter_id)
    ):
        raise ValidationError("hunter_identity", "must be a STIX identity object with an identity-- id")
    recipients: list[str] = []
    for name in share_with:
        if not isinstance(name, str) or not _RECIPIENT.fullmatch(name):
            raise ValidationError("share_with", f"{name!r}: use org:<short name>, circle:<name> or user:<email>")
        if name not in recipients:
            recipients.append(name)
    marking = TLP2_MARKING_IDS[tlp]
    created = format_us(now_us)
    share: dict[str, Any] = (
        {SHARE_EXTENSION: {"extension_type": "property-extension", "share_with": recipients}} if recipients else {}
    )

    def marked(obj: dict[str, Any]) -> dict[str, Any]:
        refs = [r for r in obj.get("object_marking_refs") or () if isinstance(r, str) and r != marking]
        obj["object_marking_refs"] = [*refs, marking]
        if share:
            extensions = obj.get("extensions")
            obj["extensions"] = {**(extensions if isinstance(extensions, Mapping) else {}), **share}
        return obj

    scos: dict[str, dict[str, Any]] = {}
    observed: list[dict[str, Any]] = []
    records: dict[tuple[str, int, int, str], str] = {}
    sightings: list[dict[str, Any]] = []

    def observation(sample: Sample) -> str | None:
        key = (
            sample.file,
            sample.line,
            sample.time_us,
            orjson.dumps(sample.objects, option=orjson.OPT_SORT_KEYS).decode(),
        )
        if key in records:
            return records[key]
        refs: list[str] = []
        for sco in scos_of(sample.objects, new_id=new_id).values():
            if sco["id"] not in scos:
                scos[sco["id"]] = marked(sco)
            if sco["id"] not in refs:
                refs.append(sco["id"])
        if not refs:
            return None
        stamp = format_us(sample.time_us)
        obj = marked(
            {
                "type": "observed-data",
                "spec_version": "2.1",
                "id": f"observed-data--{new_id()}",
                "created_by_ref": hunter_id,
                "created": created,
                "modified": created,
                "first_observed": stamp,
                "last_observed": stamp,
                "number_observed": 1,
                "object_refs": refs,
            }
        )
        observed.append(obj)
        records[key] = obj["id"]
        return str(obj["id"])

    for hit in _ordered(hits):
        sighting: dict[str, Any] = {
            "type": "sighting",
            "spec_version": "2.1",
            "id": f"sighting--{new_id()}",
            "created_by_ref": hunter_id,
            "created": created,
            "modified": created,
            "sighting_of_ref": hit.indicator_id,
            "where_sighted_refs": [hunter_id],
            "count": min(hit.count, MAX_COUNT),
        }
        if hit.first_seen_us is not None:
            sighting["first_seen"] = format_us(hit.first_seen_us)
        if hit.last_seen_us is not None:
            sighting["last_seen"] = format_us(hit.last_seen_us)
        refs = []
        for sample in hit.samples:
            ref = observation(sample)
            if ref is not None and ref not in refs:
                refs.append(ref)
        if refs:
            sighting["observed_data_refs"] = refs
        sightings.append(marked(sighting))

    return {
        "type": "bundle",
        "id": f"bundle--{new_id()}",
        "objects": [dict(hunter_identity), *scos.values(), *observed, *sightings],
    }


# -- rows, CSV, JSON -----------------------------------------------------------------------------


def _address(objects: Mapping[str, Mapping[str, Any]], ref: Any, port: Any) -> str:
    target = objects.get(ref) if isinstance(ref, str) else None
    value = target.get("value") if isinstance(target, Mapping) else None
    host = str(value) if value is not None else "?"
    if ":" in host and port is not None:
        host = f"[{host}]"
    return f"{host}:{port}" if port is not None else host


_VALUE_PROPERTIES: Final = (
    "value",
    "name",
    "path",
    "key",
    "account_login",
    "user_id",
    "subject",
    "command_line",
    "serial_number",
)


def _values_of(obj: Mapping[str, Any], objects: Mapping[str, Mapping[str, Any]]) -> list[str]:
    kind = obj.get("type")
    if kind == "network-traffic":
        src = _address(objects, obj.get("src_ref"), obj.get("src_port"))
        dst = _address(objects, obj.get("dst_ref"), obj.get("dst_port"))
        return [f"{src} -> {dst}"]
    if kind == "autonomous-system" and obj.get("number") is not None:
        return [f"AS{obj['number']}"]
    hashes = obj.get("hashes")
    if isinstance(hashes, Mapping) and hashes:
        return [str(v) for v in hashes.values() if v]
    for name in (
        "value",
        "name",
        "path",
        "key",
        "account_login",
        "user_id",
        "subject",
        "command_line",
        "serial_number",
    ):
        value = obj.get(name)
        if value is not None and value != "":
            return [str(value)]
    return []


def main_values(sample: Sample) -> list[str]:
    """The values that identify what matched in a record: addresses, domain names, URLs, e-mail
    addresses (``value``), file and certificate hashes, names, paths and keys, connections as
    ``src:port -> dst:port``. Of the ``matched`` objects, or of all objects when none is named."""
    keys = sample.matched or tuple(sample.objects)
    found: list[str] = []
    for key in keys:
        obj = sample.objects.get(key)
        if isinstance(obj, Mapping):
            for value in _values_of(obj, sample.objects):
                if value not in found:
                    found.append(value)
    return found


def _distinct(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def to_rows(hits: Iterable[Hit]) -> list[dict[str, Any]]:
    """One row per hit, most matches first (then by name): the :data:`CSV_COLUMNS`, ``files`` and
    ``sample_values`` as lists over the samples kept, times as STIX timestamps (None without a match)."""
    return [
        {
            "indicator_id": hit.indicator_id,
            "name": hit.name,
            "count": hit.count,
            "first_seen": None if hit.first_seen_us is None else format_us(hit.first_seen_us),
            "last_seen": None if hit.last_seen_us is None else format_us(hit.last_seen_us),
            "files": _distinct(s.file for s in hit.samples),
            "sample_values": _distinct(v for s in hit.samples for v in main_values(s)),
            "pattern": hit.pattern,
        }
        for hit in _ordered(hits)
    ]


_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")
LIST_SEPARATOR: Final = " | "
"""How :func:`to_csv` joins the files and the sample values of a row."""


def _cell(value: Any) -> str:
    """A CSV cell a spreadsheet shows as text and never runs as a formula (a leading ``'``)."""
    if value is None:
        return ""
    if isinstance(value, list):
        value = LIST_SEPARATOR.join(value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def to_csv(hits: Iterable[Hit]) -> str:
    """:func:`to_rows` as CSV (RFC 4180, CRLF line ends, a header row of :data:`CSV_COLUMNS`), lists
    joined with :data:`LIST_SEPARATOR`, every cell safe from formula injection."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in to_rows(hits):
        writer.writerow([_cell(row[c]) for c in CSV_COLUMNS])
    return buffer.getvalue()


def to_json(hits: Iterable[Hit]) -> dict[str, Any]:
    """The hits as JSON-ready data, samples included: ``{"hits": [{indicator_id, name,
    created_by_ref, pattern, count, first_seen, last_seen, samples: [{file, line, time, objects,
    matched}]}]}``, times as STIX timestamps (microseconds). :func:`hits_from_json` reads it back."""
    return {
        "hits": [
            {
                "indicator_id": hit.indicator_id,
                "name": hit.name,
                "created_by_ref": hit.created_by_ref,
                "pattern": hit.pattern,
                "count": hit.count,
                "first_seen": None if hit.first_seen_us is None else format_us(hit.first_seen_us),
                "last_seen": None if hit.last_seen_us is None else format_us(hit.last_seen_us),
                "samples": [
                    {
                        "file": s.file,
                        "line": s.line,
                        "time": format_us(s.time_us),
                        "objects": s.objects,
                        "matched": list(s.matched),
                    }
                    for s in hit.samples
                ],
            }
            for hit in _ordered(hits)
        ]
    }


def hits_from_json(data: Any) -> list[Hit]:
    """The hits written by :func:`to_json` (parsed JSON), in its order. Raises
    :class:`~ribat.errors.ValidationError` naming the first thing that is not as written."""

    def fail(where: str, reason: str) -> ValidationError:
        return ValidationError(where, reason)

    def time_of(value: Any, where: str) -> int | None:
        if value is None:
            return None
        try:
            return parse_timestamp_us(value)
        except (TypeError, ValueError):
            raise fail(where, "must be a STIX timestamp or null") from None

    if not isinstance(data, Mapping) or not isinstance(data.get("hits"), list):
        raise fail("hits", "expected an object with a list of hits")
    hits: list[Hit] = []
    for i, item in enumerate(data["hits"]):
        where = f"hits[{i}]"
        if not isinstance(item, Mapping):
            raise fail(where, "must be an object")
        for name in ("indicator_id", "name", "pattern"):
            if not isinstance(item.get(name), str):
                raise fail(f"{where}.{name}", "must be a string")
        author = item.get("created_by_ref")
        count = item.get("count")
        samples = item.get("samples")
        if author is not None and not isinstance(author, str):
            raise fail(f"{where}.created_by_ref", "must be a string or null")
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise fail(f"{where}.count", "must be a non-negative integer")
        if not isinstance(samples, list):
            raise fail(f"{where}.samples", "must be a list")
        kept: list[Sample] = []
        for j, s in enumerate(samples):
            at = f"{where}.samples[{j}]"
            if (
                not isinstance(s, Mapping)
                or not isinstance(s.get("file"), str)
                or not isinstance(s.get("line"), int)
                or not isinstance(s.get("objects"), dict)
                or not isinstance(s.get("matched", []), list)
            ):
                raise fail(at, "must have a file, a line, a time, objects and matched keys")
            t = time_of(s.get("time"), f"{at}.time")
            if t is None:
                raise fail(f"{at}.time", "must be a STIX timestamp")
            kept.append(Sample(s["file"], s["line"], t, s["objects"], tuple(str(k) for k in s.get("matched", []))))
        hits.append(
            Hit(
                indicator_id=item["indicator_id"],
                name=item["name"],
                created_by_ref=author,
                pattern=item["pattern"],
                count=count,
                first_seen_us=time_of(item.get("first_seen"), f"{where}.first_seen"),
                last_seen_us=time_of(item.get("last_seen"), f"{where}.last_seen"),
                samples=kept,
            )
        )
    return hits


# -- the terminal table --------------------------------------------------------------------------

_BIDI_CONTROLS: Final = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_ELLIPSIS: Final = "…"
TABLE_WIDTHS: Final[Mapping[str, int]] = {"indicator": 40, "files": 28, "values": 48}
"""The widest the free-text columns of :func:`render_table` grow (terminal cells)."""


def _printable(text: str) -> str:
    """Text safe to print on a terminal: control characters (escape sequences, line breaks) and
    bidirectional overrides from the logs shown as ``\\xNN``/``\\uNNNN`` escapes."""
    if text.isprintable() and not _BIDI_CONTROLS.intersection(text):
        return text
    out = []
    for ch in text:
        if ch in _BIDI_CONTROLS or unicodedata.category(ch) == "Cc":
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def _char_width(ch: str) -> int:
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _width(text: str) -> int:
    return sum(_char_width(ch) for ch in text)


def _fit(text: str, width: int, *, right: bool = False) -> str:
    """``text`` in exactly ``width`` terminal cells: cut with an ellipsis when longer, padded when shorter."""
    if _width(text) > width:
        kept: list[str] = []
        used = 0
        for ch in text:
            w = _char_width(ch)
            if used + w > width - 1:
                break
            kept.append(ch)
            used += w
        text = "".join(kept) + _ELLIPSIS
    pad = " " * (width - _width(text))
    return pad + text if right else text + pad


def _short_time(us: int | None) -> str:
    return "-" if us is None else format_us(us)[:19].replace("T", " ")


def render_table(hits: Iterable[Hit]) -> str:
    """The hits as a fixed-width text table for a terminal, most matches first (then by name).

    Columns: count, indicator (its name, else its id), first and last seen (UTC, to the second),
    the files and the values of the samples kept. Text columns grow to at most
    :data:`TABLE_WIDTHS` cells and longer text ends in an ellipsis; characters from the logs that
    would drive the terminal are shown escaped.
    """
    ordered = _ordered(hits)
    rows = [
        (
            str(hit.count),
            _printable(hit.name or hit.indicator_id),
            _short_time(hit.first_seen_us),
            _short_time(hit.last_seen_us),
            _printable(", ".join(_distinct(PurePath(s.file).name or s.file for s in hit.samples))),
            _printable(", ".join(_distinct(v for s in hit.samples for v in main_values(s)))),
        )
        for hit in ordered
    ]
    header = ("COUNT", "INDICATOR", "FIRST SEEN (UTC)", "LAST SEEN (UTC)", "FILES", "VALUES")
    caps = (None, TABLE_WIDTHS["indicator"], None, None, TABLE_WIDTHS["files"], TABLE_WIDTHS["values"])
    widths = []
    for i, cap in enumerate(caps):
        widest = max([_width(header[i]), *(_width(r[i]) for r in rows)])
        widths.append(widest if cap is None else min(widest, cap))

    def line(cells: Sequence[str]) -> str:
        parts = [_fit(c, w, right=(i == 0)) for i, (c, w) in enumerate(zip(cells, widths, strict=True))]
        return "  ".join(parts).rstrip()

    out = [line(header), "  ".join("-" * w for w in widths)]
    out.extend(line(r) for r in rows)
    total = sum(h.count for h in ordered)
    if ordered:
        out.append(
            f"{len(ordered)} indicator{'s' if len(ordered) != 1 else ''}, {total} match{'es' if total != 1 else ''}"
        )
    else:
        out.append("no matches")
    return "\n".join(out) + "\n"
