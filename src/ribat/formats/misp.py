"""MISP events ⇄ STIX 2.1, through the MISP project's own ``misp-stix`` library.

The mapping is misp-stix's (``MISPtoSTIX21Parser`` one way, ``InternalSTIX2toMISPParser`` and
``ExternalSTIX2toMISPParser`` the other); this module does not map anything itself. What it
adds around it:

- every wrapping MISP data comes in (``{"Event": …}``, ``{"response": […]}``, a bare event, a
  list of any of these, bytes or text), each event converted on its own, so that one broken
  event costs that event alone;
- TLP: the event's TLP is carried to every object written for the event (misp-stix marks the
  report alone, which would leave the indicators to a collection default that may be laxer);
- a comment misp-stix writes nowhere (attributes without an indicator) is kept as
  ``x_misp_comment``, and read back on export;
- a loss report: what went in is compared with what came out, and every attribute, object,
  value, field, tag, galaxy cluster, sighting or event report misp-stix did not carry is a
  :class:`~ribat.formats.types.Loss`. The comparison indexes the output once (dicts and sets)
  and looks each input record up in it.

Pure: no I/O, no database. The rules are in docs/formats-misp.md.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import orjson
from misp_stix_converter import ExternalSTIX2toMISPParser, InternalSTIX2toMISPParser, MISPtoSTIX21Parser
from misp_stix_converter.tools import load_stix2_content
from stix2.serialization import STIXJSONEncoder

from ribat.errors import ValidationError
from ribat.formats.types import Conversion, Loss
from ribat.intel.tlp import TLP_MARKING_IDS, Tlp, tlp_from_marking_definition, tlp_from_name
from ribat.intel.validation import SCO_TYPES

__all__ = ["MispExport", "misp_events", "misp_to_stix", "stix_to_misp"]

# The TLP 2.0 marking definitions (OASIS cti-stix-common-objects), for a TLP tag misp-stix
# does not turn into a marking itself (``TLP:RED`` in capitals, ``tlp:amber+strict``).
_TLP2_REFS: Mapping[Tlp, str] = {
    Tlp.CLEAR: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    Tlp.GREEN: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    Tlp.AMBER: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    Tlp.AMBER_STRICT: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    Tlp.RED: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
# Objects that take no TLP from the event: marking definitions, and the organisation
# identities every event of an organisation shares (they name the producer).
_SUPPORT_TYPES = frozenset({"marking-definition", "identity", "extension-definition", "language-content"})
_CONTAINER_TYPES = frozenset({"report", "grouping"})
_CONTEXT_TYPES = frozenset({"relationship", "sighting", "note", "opinion"})
_SCO_META = frozenset(
    {"type", "id", "spec_version", "defanged", "extensions", "object_marking_refs", "granular_markings"}
)
# Labels misp-stix puts on the report or grouping it makes of an event; not tags of the event.
_MISP_STIX_TOOL_LABELS = frozenset({'misp:tool="MISP-STIX-Converter"', 'misp:tool="misp2stix2"'})
_MISP_STIX_LABELS = _MISP_STIX_TOOL_LABELS | {"Threat-Report"}
_STIX_LITERAL = re.compile(r"'((?:[^'\\]|\\.)*)'")
_UNESCAPE = re.compile(r"\\(.)")
_UUID_IN_TEXT = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_STIX_ID = re.compile(
    r"\b[a-z][a-z0-9-]*--[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
)
_SHORT = 200
_MISP_STIX_COUNTS = (
    "events",
    "events_failed",
    "attributes",
    "objects",
    "tags",
    "galaxies",
    "sightings",
    "event_reports",
    "stix_objects",
)


@dataclass
class MispExport:
    """MISP event documents (``{"Event": {…}}``) made from STIX 2.1 objects, and what could
    not be carried into them. ``counts``: ``stix_objects`` (read), ``events`` (written)."""

    events: list[dict[str, Any]] = field(default_factory=list)
    losses: list[Loss] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Small helpers


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= _SHORT else text[: _SHORT - 1] + "…"


def _error(exc: Exception) -> str:
    return _short(f"{type(exc).__name__}: {exc}")


def _message(text: str) -> str:
    """A misp-stix message without the Python traceback some of them carry: what comes before
    it, and the exception's own last line."""
    if 'File "' in text:
        head = text.split('File "', 1)[0].strip().rstrip(":").strip()
        lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
        return _short(f"{head}: {lines[-1].rstrip('.')}")
    return _short(" ".join(text.split()))


def _uuid_of(stix_id: str) -> str:
    return stix_id.partition("--")[2]


def _cluster_tag(galaxy_type: Any, value: Any) -> str:
    return f'misp-galaxy:{galaxy_type}="{value}"'


def _cluster_name(galaxy: Mapping[str, Any], cluster: Mapping[str, Any]) -> str:
    return _short(f'{cluster.get("type") or galaxy.get("type")}="{cluster.get("value")}"')


def _label_value(labels: Iterable[str], prefix: str) -> str | None:
    """``misp:type="domain"`` → ``domain`` for ``prefix`` ``misp:type``."""
    start = f'{prefix}="'
    return next((label[len(start) : -1] for label in labels if label.startswith(start) and label.endswith('"')), None)


def _leaves(value: Any, out: set[str]) -> None:
    """Every string, and every number as text, anywhere in a JSON value."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.add(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, int | float) and not isinstance(item, bool):
            out.add(str(item))


def _pattern_literals(obj: Mapping[str, Any]) -> Iterator[str]:
    pattern = obj.get("pattern")
    if obj.get("type") == "indicator" and obj.get("pattern_type") == "stix" and isinstance(pattern, str):
        for literal in _STIX_LITERAL.findall(pattern):
            yield _UNESCAPE.sub(r"\1", literal)


def _value_text(value: Any) -> str:
    if isinstance(value, datetime | date):
        return str(value)
    return value if isinstance(value, str) else str(value)


def _carried(value: str, texts: set[str]) -> bool:
    """Written verbatim, or a composite value (``filename|md5``) written part by part."""
    if value in texts:
        return True
    return "|" in value and all(part in texts for part in value.split("|"))


def _same_value(a: str, b: str) -> bool:
    """Two spellings MISP reads as one value: ``AS64500``/``64500``, or two writings of one
    date and time."""
    if a == b:
        return True
    x, y = a.strip().upper().removeprefix("AS"), b.strip().upper().removeprefix("AS")
    if x == y and x.isdigit():
        return True
    try:
        return datetime.fromisoformat(a.strip()) == datetime.fromisoformat(b.strip())
    except ValueError:
        return False


def _carried_as(value: str, texts: set[str]) -> bool:
    return _carried(value, texts) or any(_same_value(value, text) for text in texts)


def _records(event: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The attributes, the objects and the objects' attributes of an event."""
    for attribute in _list(event.get("Attribute")):
        if isinstance(attribute, Mapping):
            yield attribute
    for obj in _list(event.get("Object")):
        if isinstance(obj, Mapping):
            yield obj
            for attribute in _list(obj.get("Attribute")):
                if isinstance(attribute, Mapping):
                    yield attribute


def _clusters(holder: Mapping[str, Any]) -> Iterator[tuple[Mapping[str, Any], Mapping[str, Any]]]:
    for galaxy in _list(holder.get("Galaxy")):
        if isinstance(galaxy, Mapping):
            for cluster in _list(galaxy.get("GalaxyCluster")):
                if isinstance(cluster, Mapping):
                    yield galaxy, cluster


def _tlp_markings(objects: Iterable[Mapping[str, Any]]) -> dict[str, Tlp]:
    """The TLP marking definitions among ``objects``, id → level (beside the well-known ids)."""
    return {
        o["id"]: level
        for o in objects
        if o["type"] == "marking-definition"
        for level in [tlp_from_marking_definition(o)]
        if level is not None
    }


def _tlp_level(ref: Any, markings: Mapping[str, Tlp]) -> Tlp | None:
    if not isinstance(ref, str):
        return None
    level = TLP_MARKING_IDS.get(ref)
    return level if level is not None else markings.get(ref)


# --------------------------------------------------------------------------------------------
# Reading MISP documents


def misp_events(document: Any, *, source: str = "<memory>") -> Iterator[tuple[str, Any]]:
    """Every event in a MISP document, as ``(where, event)``, ``event`` being the inner event
    object (or, for a list item that is no event, the item itself, for the caller to report).

    Accepts ``{"Event": {…}}``, ``{"response": [{"Event": {…}}, …]}``, a bare event, a list of
    any of these, and bytes or text holding one of them. A document that is not JSON, or holds
    no event at all, is a :class:`~ribat.errors.ValidationError` naming ``source``.
    """
    if isinstance(document, bytes | bytearray | memoryview | str):
        try:
            document = orjson.loads(document)
        except orjson.JSONDecodeError as exc:
            raise ValidationError(source, f"not JSON: {exc}") from None
    found = False
    for path, event in _unwrap(document, ""):
        found = True
        yield (f"{source}: {path}" if path else source), event
    if not found:
        raise ValidationError(
            source,
            'no MISP event found: expected {"Event": {…}}, {"response": [{"Event": {…}}, …]}, '
            "a bare event, or a list of them",
        )


def _unwrap(document: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(document, list):
        for i, item in enumerate(document):
            yield from _unwrap(item, f"{path}[{i}]")
    elif not isinstance(document, Mapping):
        if path:  # an item of a list: the caller reports it and keeps the rest
            yield path, document
    elif isinstance(document.get("response"), list | Mapping):
        yield from _unwrap(document["response"], f"{path}response" if path else "response")
    elif "Event" in document:
        inner = document["Event"]
        yield from _unwrap(inner, f"{path}Event") if isinstance(inner, list) else [(path, inner)]
    elif path or any(key in document for key in ("info", "Attribute", "Object", "Orgc", "EventReport")):
        yield path, document


# --------------------------------------------------------------------------------------------
# MISP → STIX 2.1


def misp_to_stix(document: Any, *, source: str = "<memory>") -> Conversion:
    """Convert every event of a MISP document to STIX 2.1 dicts with misp-stix, reporting losses.

    ``document`` is anything :func:`misp_events` accepts. Each event is converted on its own:
    an event misp-stix cannot convert is one :class:`Loss` (``field="Event"``) and the other
    events are kept. The objects are plain JSON dicts (``spec_version`` 2.1) ready for
    ``Intel.ingest``. An event without a TLP tag gives objects without a TLP marking (the
    collection's default then applies); an event's TLP goes to every object of the event that
    has none of its own. ``counts``: ``events``, ``events_failed``, ``attributes`` (object
    attributes included), ``objects``, ``tags``, ``galaxies`` (clusters), ``sightings``,
    ``event_reports``, ``stix_objects``.
    """
    result = Conversion(counts=dict.fromkeys(_MISP_STIX_COUNTS, 0))
    shared: dict[str, dict[str, Any]] = {}  # identities and marking definitions: written once
    for where, event in misp_events(document, source=source):
        converted = _convert_event(event, where)
        result.losses.extend(converted.losses)
        for key, value in converted.counts.items():
            result.counts[key] += value
        for obj in converted.objects:
            if obj["type"] in ("identity", "marking-definition"):
                if shared.get(obj["id"]) == obj:
                    continue
                shared.setdefault(obj["id"], obj)
            result.objects.append(obj)
    result.counts["stix_objects"] = len(result.objects)
    return result


def _convert_event(event: Any, where: str) -> Conversion:
    out = Conversion()
    if not isinstance(event, Mapping):
        out.counts["events_failed"] = 1
        out.losses.append(Loss(where, "Event", _short(event), "not a MISP event (expected a JSON object)"))
        return out
    event = dict(event)
    event_uuid = str(event.get("uuid") or "")
    where = f"{where} event {event_uuid}" if event_uuid else where
    out.counts.update(_input_counts(event))
    try:
        objects, parser = _run_misp_stix(event)
    except Exception as exc:  # misp-stix raised out of the event: find the part it cannot take
        objects, parser = _convert_without_failing_parts(event, where, exc, out)
    containers = [_uuid_of(o["id"]) for o in objects if o["type"] in _CONTAINER_TYPES]
    if not event_uuid and len(containers) == 1:  # an event without a uuid gets one from pymisp
        event["uuid"] = event_uuid = containers[0]
    if parser is not None and event_uuid not in containers:
        reason = "; ".join(dict.fromkeys(_parser_messages(parser))) or "misp-stix wrote no report for it"
        out.losses.append(Loss(where, "Event", _short(event.get("info", "")), f"not converted: {_short(reason)}"))
        parser = None
    if parser is None:
        out.counts["events_failed"] = 1
        return out
    out.counts["events"] = 1
    _keep_comments(event, objects)
    _carry_tlp(event, objects)
    _EventAccount(event, parser, objects, where, out.losses).run()
    out.objects = objects
    return out


def _run_misp_stix(event: Mapping[str, Any]) -> tuple[list[dict[str, Any]], Any]:
    parser = MISPtoSTIX21Parser()
    parser.parse_misp_event({"Event": event})
    # misp-stix's own serialisation of its result (as its command line writes it), read back.
    text = json.dumps(parser.bundle, cls=STIXJSONEncoder)
    objects: list[dict[str, Any]] = orjson.loads(text).get("objects", [])
    return objects, parser


def _convert_without_failing_parts(
    event: dict[str, Any], where: str, error: Exception, out: Conversion
) -> tuple[list[dict[str, Any]], Any]:
    """misp-stix survives a failing attribute or object, but not a failing event-level galaxy
    or event report. Try each of those alone in an event holding nothing else, leave out the
    ones that fail (a Loss each), and convert the event again."""
    skeleton: dict[str, Any] = {
        k: event[k] for k in ("uuid", "info", "date", "timestamp", "Orgc", "published") if k in event
    }
    kept: dict[str, list[Any]] = {}
    for part in ("Galaxy", "EventReport"):
        items = _list(event.get(part))
        if not items:
            continue
        kept[part] = []
        for item in items:
            try:
                _run_misp_stix({**skeleton, part: [item]})
            except Exception as exc:
                out.losses.extend(_part_losses(part, item, where, exc))
            else:
                kept[part].append(item)
    info = _short(event.get("info", ""))
    if all(len(kept[part]) == len(event[part]) for part in kept):  # none of them is at fault
        out.losses.append(Loss(where, "Event", info, f"misp-stix failed: {_error(error)}"))
        return [], None
    event.update(kept)  # the parts left out are reported: the accounting looks at the rest
    try:
        return _run_misp_stix(event)
    except Exception as exc:
        out.losses.append(Loss(where, "Event", info, f"misp-stix failed: {_error(exc)}"))
        return [], None


def _part_losses(part: str, item: Any, where: str, exc: Exception) -> list[Loss]:
    reason = f"misp-stix cannot convert it: {_error(exc)}"
    if part == "Galaxy" and isinstance(item, Mapping):
        losses = [Loss(where, "Galaxy", _cluster_name(item, c), reason) for _, c in _clusters({"Galaxy": [item]})]
        return losses or [Loss(where, "Galaxy", _short(item.get("type", "")), reason)]
    name = item.get("name", "") if isinstance(item, Mapping) else item
    report_uuid = item.get("uuid", "") if isinstance(item, Mapping) else ""
    return [Loss(f"{where}/event-report {report_uuid}", "EventReport", _short(name), reason)]


def _parser_messages(parser: Any) -> list[str]:
    messages: list[str] = []
    for bucket in (parser.errors, parser.warnings):
        for values in bucket.values():
            messages.extend(_message(v) for v in values)
    return messages


def _input_counts(event: Mapping[str, Any]) -> dict[str, int]:
    objects = [o for o in _list(event.get("Object")) if isinstance(o, Mapping)]
    attributes = [a for a in _list(event.get("Attribute")) if isinstance(a, Mapping)]
    attributes += [a for o in objects for a in _list(o.get("Attribute")) if isinstance(a, Mapping)]
    return {
        "attributes": len(attributes),
        "objects": len(objects),
        "tags": len(_list(event.get("Tag"))) + sum(len(_list(a.get("Tag"))) for a in attributes),
        "galaxies": sum(1 for holder in [event, *attributes] for _ in _clusters(holder)),
        "sightings": sum(len(_list(a.get("Sighting"))) for a in attributes),
        "event_reports": len(_list(event.get("EventReport"))),
    }


# Comments -----------------------------------------------------------------------------------


def _keep_comments(event: Mapping[str, Any], objects: list[dict[str, Any]]) -> None:
    """misp-stix writes an attribute's comment as its indicator's description, and nowhere when
    it writes no indicator (an observed-data has no description in STIX 2.1, nor does the
    campaign it makes of a campaign-name). Such a comment goes on the attribute's main object
    as ``x_misp_comment``, the name misp-stix gives it on its own custom objects;
    :func:`stix_to_misp` reads it back."""
    main: dict[str, dict[str, Any]] = {}
    said: dict[str, set[str]] = defaultdict(set)
    for obj in objects:
        uid = _uuid_of(obj["id"])
        for key in ("description", "x_misp_comment"):
            if isinstance(obj.get(key), str):
                said[uid].add(obj[key])
        if obj["type"] not in SCO_TYPES and obj["type"] not in _CONTAINER_TYPES | _CONTEXT_TYPES:
            main.setdefault(uid, obj)
    for attribute in _list(event.get("Attribute")):
        if isinstance(attribute, Mapping):
            comment, uid = attribute.get("comment"), str(attribute.get("uuid") or "")
            target = main.get(uid)
            if isinstance(comment, str) and comment and target is not None and comment not in said[uid]:
                target["x_misp_comment"] = comment


# TLP ----------------------------------------------------------------------------------------


def _tag_levels(holders: Iterable[Mapping[str, Any]]) -> set[Tlp]:
    return {
        level
        for holder in holders
        for tag in _list(holder.get("Tag"))
        if isinstance(tag, Mapping) and isinstance(tag.get("name"), str)
        for level in [tlp_from_name(tag["name"])]
        if level is not None
    }


def _carry_tlp(event: Mapping[str, Any], objects: list[dict[str, Any]]) -> None:
    """Give every object written for the event the TLP of the MISP record it came from.

    A record's TLP is that of its own tags (an object's: its attributes' tags), as misp-stix
    wrote it as markings plus, for a TLP tag misp-stix left as a label (``TLP:RED``), the TLP
    2.0 marking of that level. An object of a record gets the record's markings it lacks; an
    object of no record of its own (an observable, a relationship, a sighting, a note) those
    of the records it is linked to; and an object still without any TLP, the event's. Several
    markings on one object are read as the most restrictive (ribat.intel.tlp).
    """
    markings = _tlp_markings(objects)
    record_refs: dict[str, list[str]] = defaultdict(list)
    for obj in objects:
        if obj["type"] not in _SUPPORT_TYPES:
            refs = record_refs[_uuid_of(obj["id"])]
            for ref in _list(obj.get("object_marking_refs")):
                if _tlp_level(ref, markings) is not None and ref not in refs:
                    refs.append(ref)
    tagged: list[tuple[str, set[Tlp]]] = [(str(event.get("uuid") or ""), _tag_levels([event]))]
    for record in _records(event):
        holders = [record, *_list(record.get("Attribute"))] if "Attribute" in record else [record]
        tagged.append((str(record.get("uuid") or ""), _tag_levels(a for a in holders if isinstance(a, Mapping))))
    for uid, levels in tagged:
        refs = record_refs[uid]
        have = {_tlp_level(r, markings) for r in refs}
        refs.extend(_TLP2_REFS[level] for level in sorted(levels) if level not in have)
    event_refs = record_refs[str(event.get("uuid") or "")]
    referrers: dict[str, list[str]] = defaultdict(list)
    for obj in objects:
        if obj["type"] == "observed-data":
            for ref in _list(obj.get("object_refs")):
                referrers[ref].append(obj["id"])
    for obj in objects:
        if obj["type"] in _SUPPORT_TYPES:
            continue
        wanted = record_refs.get(_uuid_of(obj["id"])) or []
        if not wanted:
            for other in [*referrers.get(obj["id"], ()), *_linked_ids(obj)]:
                wanted += [r for r in record_refs.get(_uuid_of(other), ()) if r not in wanted]
        current = _list(obj.get("object_marking_refs"))
        if not wanted and all(_tlp_level(r, markings) is None for r in current):
            wanted = event_refs
        missing = [r for r in wanted if r not in current]
        if missing:
            obj["object_marking_refs"] = [*current, *missing]


def _linked_ids(obj: Mapping[str, Any]) -> list[str]:
    """The objects a relationship, sighting, note or opinion is about."""
    kind = obj.get("type")
    if kind == "relationship":
        return [str(obj.get("source_ref", "")), str(obj.get("target_ref", ""))]
    if kind == "sighting":
        return [str(obj.get("sighting_of_ref", "")), *map(str, _list(obj.get("observed_data_refs")))]
    if kind in ("note", "opinion"):
        return [str(r) for r in _list(obj.get("object_refs"))]
    return []


# Loss accounting, MISP → STIX ---------------------------------------------------------------


class _Output:
    """The STIX objects written for one event, indexed once for the comparison."""

    def __init__(self, objects: list[dict[str, Any]]) -> None:
        self.by_id = {o["id"]: o for o in objects}
        self.by_uuid: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._texts: dict[str, set[str]] = {}
        self.labels: set[str] = set()
        self.all_texts: set[str] = set()
        self.markings = _tlp_markings(objects)
        self.cluster_names: set[tuple[str, str]] = set()  # (galaxy type, name) of the clusters written
        for obj in objects:
            self.by_uuid[_uuid_of(obj["id"])].append(obj)
            labels = [label for label in _list(obj.get("labels")) if isinstance(label, str)]
            self.labels.update(labels)
            galaxy_type = _label_value(labels, "misp:galaxy-type")
            if galaxy_type is not None and isinstance(obj.get("name"), str):
                self.cluster_names.add((galaxy_type, obj["name"]))
            self.all_texts |= self.texts_of(obj)

    def has_cluster(self, galaxy_type: Any, value: Any) -> bool:
        """A cluster is written with its tag as a label, or, when it has no tag name, as an
        object of its galaxy type named after it (``Name - T1234`` becomes ``Name``)."""
        if _cluster_tag(galaxy_type, value) in self.labels:
            return True
        name = str(value)
        return (str(galaxy_type), name) in self.cluster_names or (
            " - " in name and (str(galaxy_type), name.rsplit(" - ", 1)[0]) in self.cluster_names
        )

    def texts_of(self, obj: Mapping[str, Any]) -> set[str]:
        texts = self._texts.get(obj["id"])
        if texts is None:
            texts = set()
            _leaves(obj, texts)
            texts.update(_pattern_literals(obj))
            self._texts[obj["id"]] = texts
        return texts

    def record_texts(self, uid: str) -> set[str]:
        """Every value written for a MISP record: its own objects, and the observables they
        reference."""
        texts: set[str] = set()
        seen: set[str] = set()
        stack = [o["id"] for o in self.by_uuid.get(uid, ())]
        while stack:
            oid = stack.pop()
            obj = self.by_id.get(oid)
            if oid in seen or obj is None:
                continue
            seen.add(oid)
            texts |= self.texts_of(obj)
            if obj["type"] == "observed-data" or obj["type"] in SCO_TYPES:
                stack.extend(_references(obj))
        return texts

    def types_of(self, uid: str) -> set[str]:
        return {o["type"] for o in self.by_uuid.get(uid, ())}

    def tlp_levels(self, uid: str) -> set[Tlp]:
        return {
            level
            for obj in self.by_uuid.get(uid, ())
            for ref in _list(obj.get("object_marking_refs"))
            for level in [_tlp_level(ref, self.markings)]
            if level is not None
        }


def _references(obj: Mapping[str, Any]) -> Iterator[str]:
    """The ids an object references, its creator and markings aside."""
    for key, value in obj.items():
        if key in ("created_by_ref", "object_marking_refs"):
            continue
        if key.endswith("_ref") and isinstance(value, str):
            yield value
        elif key.endswith("_refs") and isinstance(value, list):
            yield from (v for v in value if isinstance(v, str))


class _EventAccount:
    """Compares one MISP event with the STIX objects misp-stix wrote for it, and adds a Loss
    for each thing of the event they do not carry."""

    def __init__(
        self, event: Mapping[str, Any], parser: Any, objects: list[dict[str, Any]], where: str, losses: list[Loss]
    ) -> None:
        self.event = event
        self.output = _Output(objects)
        self.messages = list(dict.fromkeys(_parser_messages(parser)))
        self.said: dict[str, list[str]] = defaultdict(list)  # uuid → the messages naming it
        for message in self.messages:
            for named in set(_UUID_IN_TEXT.findall(message)):
                self.said[named.lower()].append(message)
        self.where = where
        self.losses = losses
        # The event as pymisp loaded it: what misp-stix converted, values normalised and all.
        loaded = getattr(parser, "_misp_event", None)
        self.loaded: dict[str, Any] = {}
        for attribute in getattr(loaded, "attributes", None) or ():
            self.loaded[str(attribute.uuid)] = attribute
        for obj in getattr(loaded, "objects", None) or ():
            for attribute in obj.attributes:
                self.loaded[str(attribute.uuid)] = attribute
        self.cluster_tags = {
            _cluster_tag(c.get("type") or g.get("type"), c.get("value"))
            for holder in [event, *_records(event)]
            for g, c in _clusters(holder)
        }

    def loss(self, where: str, field_name: str, value: Any, reason: str) -> None:
        self.losses.append(Loss(where, field_name, _short(value), reason))

    def reason_for(self, uid: str, default: str) -> str:
        """What misp-stix said about a record, if it named it; else ``default``."""
        said = self.said.get(uid.lower()) if uid else None
        return _short("; ".join(said)) if said else default

    def run(self) -> None:
        event_uuid = str(self.event.get("uuid") or "")
        for attribute in _list(self.event.get("Attribute")):
            if isinstance(attribute, Mapping):
                self.attribute(attribute, self.where)
        for obj in _list(self.event.get("Object")):
            if isinstance(obj, Mapping):
                self.misp_object(obj)
        container = self.output.record_texts(event_uuid)
        self.tags(self.event, event_uuid, container, self.where)
        self.galaxies(self.event, self.where)
        for report in _list(self.event.get("EventReport")):
            report_uuid = str(report.get("uuid") or "") if isinstance(report, Mapping) else ""
            if isinstance(report, Mapping) and report_uuid not in self.output.by_uuid:
                self.loss(
                    f"{self.where}/event-report {report_uuid}",
                    "EventReport",
                    report.get("name", ""),
                    self.reason_for(report_uuid, "misp-stix wrote no note for it"),
                )
        for proposal in _list(self.event.get("ShadowAttribute")):
            if isinstance(proposal, Mapping):
                value = f"{proposal.get('type')}: {proposal.get('value')}"
                reason = "misp-stix does not convert proposals"
                self.loss(f"{self.where}/proposal {proposal.get('uuid', '')}", "ShadowAttribute", value, reason)
        # Errors misp-stix reported about nothing of the event it named.
        uuids = {str(r.get("uuid")).lower() for r in _records(self.event)} | {event_uuid.lower()}
        for message in self.messages:
            if message.startswith("Error") and not {u.lower() for u in _UUID_IN_TEXT.findall(message)} & uuids:
                self.loss(self.where, "misp-stix", "", message)

    def attribute(self, attribute: Mapping[str, Any], at: str, folded: set[str] | None = None) -> None:
        """An attribute of the event (``folded`` None) or of an object (``folded``: the texts
        written for the object, which carries the attribute's type, category and flags)."""
        uid = str(attribute.get("uuid") or "")
        at = f"{at}/attribute {uid}"
        raw = attribute.get("value")
        in_output = uid in self.output.by_uuid
        if folded is None and not in_output:
            reason = self.reason_for(uid, "misp-stix wrote no STIX object for it")
            self.loss(at, "Attribute", f"{attribute.get('type')}: {raw}", reason)
            return
        texts = self.output.record_texts(uid) if in_output else set()
        if folded is not None:
            texts |= folded
        value = _value_text(raw)
        loaded = self.loaded.get(uid)
        written = _value_text(loaded.value) if loaded is not None else value
        if not _carried(value, texts):
            if written != value and _carried(written, texts):
                if not _same_value(value, written):
                    self.loss(at, "value", value, f"misp-stix writes it as pymisp reads it: {_short(written)}")
            elif not _carried_as(value, texts):
                self.loss(at, "value", value, "the value is not in the STIX objects written for it")
        self.tags(attribute, uid, texts, at)
        self.galaxies(attribute, at)
        self.sightings(attribute, at)
        if folded is not None:
            return
        kind, category, comment = attribute.get("type"), attribute.get("category"), attribute.get("comment")
        if kind and f'misp:type="{kind}"' not in texts and kind not in texts:
            self.loss(at, "type", kind, "the STIX objects do not say the MISP type")
        if category and f'misp:category="{category}"' not in texts and category not in texts:
            self.loss(at, "category", category, "the STIX objects do not say the MISP category")
        if comment and comment not in texts:
            self.loss(at, "comment", comment, "misp-stix writes no comment on what it makes of this attribute")
        to_ids = bool(loaded.to_ids) if loaded is not None else bool(attribute.get("to_ids"))
        types = self.output.types_of(uid)
        if to_ids and "indicator" not in types:
            self.loss(at, "to_ids", "true", f"misp-stix wrote no indicator, only {', '.join(sorted(types))}")
        elif not to_ids and "indicator" in types:
            self.loss(at, "to_ids", "false", "misp-stix wrote an indicator, which reads as to_ids true")

    def misp_object(self, obj: Mapping[str, Any]) -> None:
        uid = str(obj.get("uuid") or "")
        at = f"{self.where}/object {uid}"
        name = obj.get("name")
        attributes = [a for a in _list(obj.get("Attribute")) if isinstance(a, Mapping)]
        if uid in self.output.by_uuid:
            texts = self.output.record_texts(uid)
            if name and f'misp:name="{name}"' not in texts and name not in texts:
                self.loss(at, "name", name, "the STIX objects do not say the MISP object name")
        else:
            # misp-stix folds some objects into another one (a PE into its file's extension):
            # their values are then written under the uuid of the object that holds them.
            texts = self.output.all_texts
            if not any(_carried(_value_text(a.get("value")), texts) for a in attributes):
                self.loss(at, "Object", name, self.reason_for(uid, "misp-stix wrote no STIX object for it"))
                return
        for attribute in attributes:
            self.attribute(attribute, at, texts)

    def tags(self, holder: Mapping[str, Any], uid: str, texts: set[str], at: str) -> None:
        levels = self.output.tlp_levels(uid)
        for tag in _list(holder.get("Tag")):
            name = tag.get("name") if isinstance(tag, Mapping) else None
            if not isinstance(name, str) or name in self.cluster_tags or name in texts:
                continue  # a galaxy cluster's tag is accounted for with its cluster
            level = tlp_from_name(name)
            if level is None or level not in levels:
                self.loss(at, "Tag", name, "misp-stix wrote no label or marking for this tag")

    def galaxies(self, holder: Mapping[str, Any], at: str) -> None:
        first_with_uuid: dict[str, str] = {}
        for galaxy, cluster in _clusters(holder):
            name = _cluster_name(galaxy, cluster)
            cluster_uuid = str(cluster.get("uuid") or "")
            if self.output.has_cluster(cluster.get("type") or galaxy.get("type"), cluster.get("value")):
                first_with_uuid.setdefault(cluster_uuid, name)
                continue
            if cluster_uuid in first_with_uuid:
                reason = (
                    f"it shares its uuid {cluster_uuid} with cluster {first_with_uuid[cluster_uuid]}, "
                    "and misp-stix writes one STIX object per uuid"
                )
            else:
                reason = self.reason_for(cluster_uuid, "misp-stix wrote no STIX object for this cluster")
            self.losses.append(Loss(at, "Galaxy", name, reason))

    def sightings(self, holder: Mapping[str, Any], at: str) -> None:
        for sighting in _list(holder.get("Sighting")):
            if not isinstance(sighting, Mapping):
                continue
            sighting_uuid = str(sighting.get("uuid") or "")
            if sighting_uuid and sighting_uuid in self.output.by_uuid:
                continue
            kind = str(sighting.get("type", "0"))
            default = (
                "misp-stix writes no STIX object for an expiration sighting (type 2)"
                if kind == "2"
                else "misp-stix wrote no sighting or opinion for it"
            )
            where = f"{at}/sighting {sighting_uuid}"
            value = f"type {kind} at {sighting.get('date_sighting', '?')}"
            self.loss(where, "Sighting", value, self.reason_for(sighting_uuid, default))


# --------------------------------------------------------------------------------------------
# STIX 2.1 → MISP


def stix_to_misp(objects: Iterable[Mapping[str, Any]]) -> MispExport:
    """MISP event documents (``{"Event": {…}}``) for STIX 2.1 objects, with misp-stix.

    Events: each ``report`` or ``grouping`` becomes one event holding what it references (the
    rule of misp-stix; for the reports misp-stix wrote, this gives the original event back).
    The objects that no report or grouping reaches, directly or through what it references,
    go together into one more event, ``info`` "STIX objects outside any report". Reports
    misp-stix wrote (labelled ``misp:tool="MISP-STIX-Converter"``) go through its internal
    parser, others through its external parser. Of several versions of an object the latest
    ``modified`` is used.

    ``losses``: a :class:`Loss` for each error misp-stix reports, and for each attribute,
    object, field, tag, galaxy cluster or observable the STIX objects hold that the MISP
    events do not.
    """
    latest: dict[str, dict[str, Any]] = {}
    losses: list[Loss] = []
    for index, obj in enumerate(objects):
        if not isinstance(obj, Mapping) or not isinstance(obj.get("id"), str) or not isinstance(obj.get("type"), str):
            losses.append(Loss(f"objects[{index}]", "STIX object", _short(obj), "not a STIX object (no id or type)"))
            continue
        current = latest.get(obj["id"])
        if current is None or str(obj.get("modified", "")) >= str(current.get("modified", "")):
            latest[obj["id"]] = dict(obj)
    result = MispExport(losses=losses, counts={"stix_objects": len(latest), "events": 0})
    containers = [o for o in latest.values() if o["type"] in _CONTAINER_TYPES]
    others = [o for o in latest.values() if o["type"] not in _CONTAINER_TYPES]
    reached = _reachable([r for c in containers for r in _list(c.get("object_refs")) if isinstance(r, str)], latest)
    reached |= {
        o["id"]
        for o in others
        if o["type"] in ("relationship", "sighting") and all(e in reached for e in _linked_ids(o))
    }
    internal = [c for c in containers if _written_by_misp_stix(c)]
    external = [c for c in containers if not _written_by_misp_stix(c)]
    loose = [o["id"] for o in others if o["id"] not in reached and o["type"] not in _SUPPORT_TYPES]
    runs: list[tuple[list[dict[str, Any]], bool, str | None]] = []
    if internal:
        runs.append(([*internal, *others], True, None))
    if external:
        runs.append(([*external, *others], False, None))
    if loose:
        needed = _reachable(loose, latest)
        bundle = [o for o in others if o["id"] in needed or o["type"] in _SUPPORT_TYPES]
        runs.append((bundle, any(_misp_labelled(latest[i]) for i in loose), "STIX objects outside any report"))
    for bundle, from_misp, title in runs:
        events, run_losses = _run_stix_to_misp(bundle, from_misp, title)
        if from_misp:
            _restore_comments(bundle, events)
        _restore_orgc(bundle, events)
        result.events.extend(events)
        result.losses.extend(run_losses)
    result.counts["events"] = len(result.events)
    result.losses.extend(_ExportAccount(result.events).run(list(latest.values())))
    return result


def _written_by_misp_stix(container: Mapping[str, Any]) -> bool:
    return any(label in _MISP_STIX_TOOL_LABELS for label in _list(container.get("labels")))


def _misp_labelled(obj: Mapping[str, Any]) -> bool:
    return any(isinstance(label, str) and label.startswith("misp:") for label in _list(obj.get("labels")))


def _reachable(start: Iterable[str], by_id: Mapping[str, Mapping[str, Any]]) -> set[str]:
    """``start`` and every id reached from it through references (creators and markings aside)."""
    reached: set[str] = set()
    stack = list(start)
    while stack:
        oid = stack.pop()
        if oid in reached:
            continue
        reached.add(oid)
        obj = by_id.get(oid)
        if obj is not None:
            stack.extend(_references(obj))
    return reached


def _run_stix_to_misp(
    objects: list[dict[str, Any]], from_misp: bool, title: str | None
) -> tuple[list[dict[str, Any]], list[Loss]]:
    seed = ",".join(sorted(o["id"] for o in objects))
    bundle_id = f"bundle--{uuid.uuid5(uuid.NAMESPACE_URL, 'ribat:misp-export:' + seed)}"
    parser: Any = InternalSTIX2toMISPParser() if from_misp else ExternalSTIX2toMISPParser()
    try:
        parser.load_stix_bundle(load_stix2_content({"type": "bundle", "id": bundle_id, "objects": objects}))
        parser.parse_stix_bundle(title=title)
    except Exception as exc:
        return [], [Loss(bundle_id, "bundle", "", f"misp-stix could not convert the objects: {_error(exc)}")]
    produced = parser.misp_events
    events = produced if isinstance(produced, list) else [produced]
    losses = []
    for identifier, messages in parser.errors.items():
        for message in dict.fromkeys(messages):
            named = _STIX_ID.search(message)
            losses.append(Loss(named.group(0) if named else str(identifier), "misp-stix", "", _message(message)))
    documents = []
    for event in events:
        document: dict[str, Any] = orjson.loads(event.to_json())
        documents.append({"Event": document})
    return documents, losses


def _stix_comments(objects: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """uuid of a MISP attribute → the comment its STIX objects carry: its indicator's
    description, or the ``x_misp_comment`` of another of its objects."""
    comments: dict[str, str] = {}
    for obj in objects:
        if _misp_labelled(obj):
            text = obj.get("description") if obj["type"] == "indicator" else obj.get("x_misp_comment")
            if isinstance(text, str) and text:
                comments.setdefault(_uuid_of(obj["id"]), text)
    return comments


def _restore_comments(objects: list[dict[str, Any]], events: list[dict[str, Any]]) -> None:
    """misp-stix's import of its own STIX leaves an attribute's comment out when it builds the
    attribute from the observed-data beside the indicator, and does not read
    ``x_misp_comment``: put the comment back from the STIX."""
    comments = _stix_comments(objects)
    for document in events if comments else ():
        for attribute in _list(document["Event"].get("Attribute")):
            if isinstance(attribute, dict) and not attribute.get("comment"):
                comment = comments.get(str(attribute.get("uuid")))
                if comment is not None:
                    attribute["comment"] = comment


def _restore_orgc(objects: list[dict[str, Any]], events: list[dict[str, Any]]) -> None:
    """misp-stix names an event's producer with a ``misp-galaxy:producer`` tag only; a MISP
    event (and a MISP feed) also wants its creator organisation, ``Orgc``: the identity the
    event's report or grouping is ``created_by_ref``, or, for the event of objects outside any
    report, the one identity all of them name."""
    by_id = {o["id"]: o for o in objects}
    containers = {_uuid_of(o["id"]): o for o in objects if o["type"] in _CONTAINER_TYPES}
    creators = {o.get("created_by_ref") for o in objects if o["type"] not in _SUPPORT_TYPES}
    for document in events:
        event = document["Event"]
        if isinstance(event.get("Orgc"), Mapping):
            continue
        container = containers.get(str(event.get("uuid")))
        if container is not None:
            ref = container.get("created_by_ref")
        else:
            ref = next(iter(creators)) if len(creators) == 1 else None
        identity = by_id.get(ref) if isinstance(ref, str) else None
        if identity is not None and identity["type"] == "identity" and isinstance(identity.get("name"), str):
            event["Orgc"] = {"name": identity["name"], "uuid": _uuid_of(identity["id"])}


# Loss accounting, STIX → MISP ---------------------------------------------------------------


class _ExportAccount:
    """What the STIX objects say of MISP records (misp-stix's labels), tags and clusters that
    the MISP events do not hold, and the other producers' objects that left no trace in them."""

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.records: dict[str, Mapping[str, Any]] = {}
        self.texts: set[str] = set()
        self.tags: set[str] = set()
        self.clusters: set[str] = set()
        self.cluster_values: set[str] = set()
        for document in events:
            event = document["Event"]
            _leaves(event, self.texts)
            for holder in [event, *_records(event)]:
                self.records[str(holder.get("uuid"))] = holder
                self.tags.update(t["name"] for t in _list(holder.get("Tag")) if isinstance(t, Mapping) and "name" in t)
                for galaxy, cluster in _clusters(holder):
                    self.clusters.add(_cluster_tag(cluster.get("type") or galaxy.get("type"), cluster.get("value")))
                    self.cluster_values.add(str(cluster.get("value")))
                    self.records[str(cluster.get("uuid"))] = cluster
                for sighting in _list(holder.get("Sighting")):
                    if isinstance(sighting, Mapping):
                        self.records[str(sighting.get("uuid"))] = sighting
            for report in _list(event.get("EventReport")):
                if isinstance(report, Mapping):
                    self.records[str(report.get("uuid"))] = report

    def run(self, objects: list[dict[str, Any]]) -> list[Loss]:
        losses: list[Loss] = []
        groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for obj in objects:
            groups[_uuid_of(obj["id"])].append(obj)
        for uid, group in groups.items():
            losses.extend(self.group(uid, group))
        return losses

    def group(self, uid: str, group: list[dict[str, Any]]) -> list[Loss]:
        """The objects sharing one uuid: misp-stix writes one MISP record as several objects
        with its uuid (observed-data, indicator, observables)."""
        labels = {label for o in group for label in _list(o.get("labels")) if isinstance(label, str)}
        types = {o["type"] for o in group}
        where = ", ".join(sorted(o["id"] for o in group))
        record = self.records.get(uid)
        if types & _CONTAINER_TYPES:
            missing = sorted(
                label
                for label in labels - _MISP_STIX_LABELS
                if not label.startswith("misp:") and label not in self.tags and label not in self.clusters
            )
            return [Loss(where, "Tag", _short(label), "the MISP event has no such tag") for label in missing]
        if _label_value(labels, "misp:galaxy-type") is not None:
            return [
                Loss(where, "Galaxy", _short(label.removeprefix("misp-galaxy:")), self.cluster_reason(record))
                for label in sorted(labels)
                if label.startswith("misp-galaxy:") and label not in self.clusters and label not in self.tags
            ]
        kind, name = _label_value(labels, "misp:type"), _label_value(labels, "misp:name")
        if kind is not None or name is not None:
            if record is None:
                what = f"attribute {kind}" if kind is not None else f"object {name}"
                return [Loss(where, "Attribute" if kind is not None else "Object", what, "not in the MISP events")]
            if kind is not None:
                return _compare_attribute(where, group, kind, labels, record)
            if record.get("name") != name:
                return [Loss(where, "name", _short(name), f"misp-stix named the object {record.get('name')!r}")]
            return []
        if record is not None or types <= _CONTEXT_TYPES | _SUPPORT_TYPES:
            return []
        if types <= SCO_TYPES:
            losses = []
            for obj in group:
                values: set[str] = set()
                _leaves(
                    {k: v for k, v in obj.items() if k not in _SCO_META and not k.endswith(("_ref", "_refs"))}, values
                )
                if values and not values & self.texts:
                    losses.append(Loss(obj["id"], "STIX object", _short(min(values)), "not in the MISP events"))
            return losses
        names = [str(o["name"]) for o in group if isinstance(o.get("name"), str)]
        if names and all(n in self.texts or n in self.cluster_values for n in names):
            return []
        return [Loss(where, "STIX object", _short(names[0] if names else ""), "not in the MISP events")]

    @staticmethod
    def cluster_reason(record: Mapping[str, Any] | None) -> str:
        if record is not None and "value" in record:
            return f"misp-stix rebuilt the cluster as {record.get('value')!r}"
        return "the MISP events have no such galaxy cluster or tag"


def _compare_attribute(
    where: str, group: list[dict[str, Any]], kind: str, labels: set[str], record: Mapping[str, Any]
) -> list[Loss]:
    """An attribute's STIX objects against the attribute misp-stix made of them."""
    losses: list[Loss] = []
    category = _label_value(labels, "misp:category")
    if record.get("type") != kind:
        losses.append(Loss(where, "type", kind, f"misp-stix made it {record.get('type')!r}"))
    if category is not None and record.get("category") != category:
        losses.append(Loss(where, "category", category, f"misp-stix made it {record.get('category')!r}"))
    has_indicator = any(o["type"] == "indicator" for o in group)
    if bool(record.get("to_ids")) != has_indicator:
        reason = (
            "the STIX objects hold an indicator, but misp-stix set to_ids false"
            if has_indicator
            else "the STIX objects hold no indicator, but misp-stix set to_ids true"
        )
        losses.append(Loss(where, "to_ids", str(has_indicator).lower(), reason))
    comment = _stix_comments(group).get(_uuid_of(group[0]["id"]))
    if comment is not None and record.get("comment") != comment:
        losses.append(Loss(where, "comment", _short(comment), "misp-stix did not carry it into the attribute"))
    texts: set[str] = set()
    for obj in group:
        _leaves(obj, texts)
        texts.update(_pattern_literals(obj))
    value = _value_text(record.get("value"))
    if texts and not _carried_as(value, texts):
        losses.append(Loss(where, "value", _short(value), "misp-stix changed the value"))
    return losses
