"""MISP feeds: the directory layout a MISP instance subscribes to, read and written.

A MISP feed is a directory (or the same files under a URL):

- ``manifest.json``: one entry per event, keyed by the event's uuid, with its ``Orgc``,
  ``Tag``, ``info``, ``date``, ``analysis``, ``threat_level_id`` and ``timestamp`` (the
  timestamp tells a subscriber which events changed since its last pull);
- ``hashes.csv``: one line per attribute value, ``md5(value),event_uuid`` (composite values
  such as ``filename|md5`` give one line per part), for correlation without the events;
- ``<uuid>.json``: each event, ``{"Event": {…}}`` with its ``Orgc``, ``Tag``, ``Attribute``,
  ``Object`` and ``EventReport`` lists.

:func:`write_feed` builds those files with PyMISP's own feed output (``MISPEvent.to_feed``,
the same code as the MISP project's feed generator). :func:`parse_manifest` and
:func:`parse_hashes_csv` take bytes, text or parsed JSON and touch no file, so that a feed
fetched over HTTP goes through the same checks as a directory. See docs/formats-misp.md.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import orjson
from pymisp import MISPEvent
from pymisp.abstract import pymisp_json_default

from ribat.errors import ValidationError
from ribat.formats.types import Loss

__all__ = [
    "FeedEvent",
    "FeedWritten",
    "ManifestEntry",
    "parse_hashes_csv",
    "parse_manifest",
    "read_feed_directory",
    "write_feed",
]

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_HEX = re.compile(r"[0-9a-f]+")


@dataclass(frozen=True)
class ManifestEntry:
    """One event of a feed's ``manifest.json``."""

    uuid: str
    timestamp: int
    info: str = ""
    date: str = ""
    orgc_name: str = ""
    orgc_uuid: str = ""
    tags: tuple[str, ...] = ()
    analysis: str = ""
    threat_level_id: str = ""


class FeedEvent(NamedTuple):
    """An event read from a feed: its document (``{"Event": {…}}``), or the problem that kept
    it from being read (``event`` is then None)."""

    uuid: str
    timestamp: int
    event: dict[str, Any] | None
    problem: str | None = None


@dataclass
class FeedWritten:
    """What :func:`write_feed` wrote: the event uuids (manifest order), the number of
    ``hashes.csv`` lines, and a :class:`Loss` for each event it refused."""

    directory: Path
    uuids: list[str] = field(default_factory=list)
    hashes: int = 0
    refused: list[Loss] = field(default_factory=list)


def _is_uuid(value: Any) -> bool:
    return isinstance(value, str) and _UUID.fullmatch(value) is not None


# --------------------------------------------------------------------------------------------
# manifest.json and hashes.csv


def _json(data: bytes | bytearray | memoryview | str, name: str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ValidationError(name, f"not JSON: {exc}") from None


def _text(value: Any, name: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str | int) and not isinstance(value, bool):
        return str(value)
    raise ValidationError(name, f"expected a string, got {type(value).__name__}")


def _entry(key: Any, value: Any) -> ManifestEntry:
    where = f"manifest.json[{key!r}]" if not isinstance(key, str) else f"manifest.json[{key}]"
    if not _is_uuid(key):
        raise ValidationError(where, "the key is not an event uuid (8-4-4-4-12 hex digits)")
    if not isinstance(value, Mapping):
        raise ValidationError(where, f"expected an object, got {type(value).__name__}")
    stamp = value.get("timestamp")
    if isinstance(stamp, str) and stamp.isascii() and stamp.isdigit():
        timestamp = int(stamp)
    elif isinstance(stamp, int) and not isinstance(stamp, bool) and stamp >= 0:
        timestamp = stamp
    else:
        raise ValidationError(f"{where}.timestamp", f"expected a Unix time in seconds, got {stamp!r}")
    orgc = value.get("Orgc", {})
    if not isinstance(orgc, Mapping):
        raise ValidationError(f"{where}.Orgc", f"expected an object, got {type(orgc).__name__}")
    tags = value.get("Tag", [])
    if not isinstance(tags, list):
        raise ValidationError(f"{where}.Tag", f"expected a list, got {type(tags).__name__}")
    names: list[str] = []
    for i, tag in enumerate(tags):
        name = tag.get("name") if isinstance(tag, Mapping) else None
        if not isinstance(name, str):
            raise ValidationError(f"{where}.Tag[{i}].name", "expected a tag name")
        names.append(name)
    return ManifestEntry(
        uuid=key,
        timestamp=timestamp,
        info=_text(value.get("info"), f"{where}.info"),
        date=_text(value.get("date"), f"{where}.date"),
        orgc_name=_text(orgc.get("name"), f"{where}.Orgc.name"),
        orgc_uuid=_text(orgc.get("uuid"), f"{where}.Orgc.uuid"),
        tags=tuple(names),
        analysis=_text(value.get("analysis"), f"{where}.analysis"),
        threat_level_id=_text(value.get("threat_level_id"), f"{where}.threat_level_id"),
    )


def parse_manifest(
    data: bytes | bytearray | memoryview | str | Mapping[str, Any],
    *,
    problems: list[ValidationError] | None = None,
) -> list[ManifestEntry]:
    """The entries of a feed's ``manifest.json``, in the order the file lists them.

    A manifest that is not JSON, or not a JSON object, is a :class:`ValidationError` naming
    ``manifest.json``. An entry with a bad uuid key, timestamp, ``Orgc`` or ``Tag`` is a
    :class:`ValidationError` naming that field; with ``problems`` given, the error is
    appended there instead and the other entries are kept.
    """
    entries: list[ManifestEntry] = []
    for _key, entry in _entries(data):
        if isinstance(entry, ManifestEntry):
            entries.append(entry)
        elif problems is None:
            raise entry
        else:
            problems.append(entry)
    return entries


def _entries(
    data: bytes | bytearray | memoryview | str | Mapping[str, Any],
) -> Iterator[tuple[str, ManifestEntry | ValidationError]]:
    if isinstance(data, bytes | bytearray | memoryview | str):
        data = _json(data, "manifest.json")
    if not isinstance(data, Mapping):
        raise ValidationError("manifest.json", f"expected an object keyed by event uuid, got {type(data).__name__}")
    for key, value in data.items():
        try:
            yield str(key), _entry(key, value)
        except ValidationError as exc:
            yield str(key), exc


def parse_hashes_csv(text: bytes | str, *, problems: list[ValidationError] | None = None) -> list[tuple[str, str]]:
    """``(hash, event_uuid)`` for each line of a feed's ``hashes.csv`` (blank lines skipped).

    A line that is not ``<hex hash>,<event uuid>`` is a :class:`ValidationError` naming the
    line; with ``problems`` given, it is appended there instead and the other lines are kept.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValidationError("hashes.csv", f"not UTF-8: {exc}") from None
    pairs: list[tuple[str, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        parts = [part.strip() for part in line.split(",")]
        try:
            if len(parts) != 2:
                raise ValidationError(f"hashes.csv line {number}", f"expected 'hash,event_uuid', got {line[:80]!r}")
            digest, event_uuid = parts[0].lower(), parts[1].lower()
            if not _HEX.fullmatch(digest):
                raise ValidationError(f"hashes.csv line {number}", f"not a hex hash: {parts[0][:80]!r}")
            if not _is_uuid(event_uuid):
                raise ValidationError(f"hashes.csv line {number}", f"not an event uuid: {parts[1][:80]!r}")
        except ValidationError as exc:
            if problems is None:
                raise
            problems.append(exc)
            continue
        pairs.append((digest, event_uuid))
    return pairs


# --------------------------------------------------------------------------------------------
# Reading a feed directory


def read_feed_directory(path: Path, *, since: Mapping[str, int] | None = None) -> Iterator[FeedEvent]:
    """The events of the feed in ``path`` that are new or changed, in manifest order.

    An event is skipped when ``since`` maps its uuid to a timestamp at least the manifest's
    (the caller keeps that map between pulls). A missing or malformed ``manifest.json`` is a
    :class:`ValidationError`; a bad manifest entry, or a missing, unreadable or malformed
    ``<uuid>.json``, is a :class:`FeedEvent` with ``event`` None and a ``problem``, and the
    other events are read.
    """
    manifest_path = Path(path) / "manifest.json"
    try:
        raw = manifest_path.read_bytes()
    except FileNotFoundError:
        raise ValidationError("manifest.json", f"no manifest.json in {path}") from None
    except OSError as exc:
        raise ValidationError("manifest.json", f"cannot read {manifest_path}: {exc.strerror}") from None
    for key, entry in list(_entries(raw)):  # a malformed manifest fails before any event is read
        if isinstance(entry, ValidationError):
            yield FeedEvent(key, 0, None, entry.message)
            continue
        if since is not None and entry.uuid in since and since[entry.uuid] >= entry.timestamp:
            continue
        yield _read_event(Path(path), entry)


def _read_event(directory: Path, entry: ManifestEntry) -> FeedEvent:
    name = f"{entry.uuid}.json"  # the uuid was checked against the UUID pattern: no path in it
    try:
        raw = (directory / name).read_bytes()
    except FileNotFoundError:
        return FeedEvent(entry.uuid, entry.timestamp, None, f"{name} is listed in manifest.json but missing")
    except OSError as exc:
        return FeedEvent(entry.uuid, entry.timestamp, None, f"cannot read {name}: {exc.strerror}")
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return FeedEvent(entry.uuid, entry.timestamp, None, f"{name} is not JSON: {exc}")
    event = document.get("Event") if isinstance(document, dict) else None
    if not isinstance(event, dict):
        return FeedEvent(entry.uuid, entry.timestamp, None, f'{name} is not a MISP event ({{"Event": {{…}}}})')
    if event.get("uuid") not in (None, entry.uuid):
        return FeedEvent(
            entry.uuid, entry.timestamp, None, f"{name} holds event {event.get('uuid')!r}, not {entry.uuid}"
        )
    return FeedEvent(entry.uuid, entry.timestamp, document)


# --------------------------------------------------------------------------------------------
# Writing a feed directory


def write_feed(
    events: Iterable[Mapping[str, Any]],
    directory: Path,
    *,
    orgc: Mapping[str, str] | None = None,
) -> FeedWritten:
    """Write ``events`` (MISP event documents, ``{"Event": {…}}`` or bare) as a MISP feed in
    ``directory`` (created if missing): one ``<uuid>.json`` each, then ``hashes.csv``, then
    ``manifest.json``, each written to a temporary name and renamed into place, so that a
    subscriber never reads a half-written file. The manifest lists exactly these events.

    An event whose uuid is not a UUID (which would name a file elsewhere), a second event with
    the same uuid, an event without ``Orgc`` when no ``orgc`` (``{"name", "uuid"}``) is given,
    and an event PyMISP cannot load are refused, a :class:`Loss` each, and the others written.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = FeedWritten(directory)
    manifest: dict[str, Any] = {}
    hashes: list[str] = []
    for index, document in enumerate(events):
        where = f"events[{index}]"
        event = document.get("Event", document) if isinstance(document, Mapping) else None
        if not isinstance(event, Mapping):
            written.refused.append(Loss(where, "Event", repr(document)[:200], "not a MISP event"))
            continue
        event_uuid = event.get("uuid")
        if not _is_uuid(event_uuid):
            reason = "not a UUID (8-4-4-4-12 hex digits), so it cannot name the event's file"
            written.refused.append(Loss(where, "uuid", repr(event_uuid)[:200], reason))
            continue
        assert isinstance(event_uuid, str)
        if event_uuid in manifest:
            written.refused.append(Loss(where, "uuid", event_uuid, "a second event with this uuid"))
            continue
        event = dict(event)
        if not isinstance(event.get("Orgc"), Mapping):
            if orgc is None:
                written.refused.append(
                    Loss(where, "Orgc", event_uuid, "a feed event needs its creator organisation (Orgc)")
                )
                continue
            event["Orgc"] = dict(orgc)
        try:
            misp_event = MISPEvent()
            misp_event.load({"Event": copy.deepcopy(event)})  # PyMISP pops what it loads
            feed = misp_event.to_feed(with_meta=True)["Event"]
        except Exception as exc:
            written.refused.append(Loss(where, "Event", event_uuid, f"PyMISP cannot load it: {exc}"[:300]))
            continue
        _keep_context(event, feed)
        manifest.update(feed.pop("_manifest"))
        hashes.extend(f"{digest},{event_uuid}\n" for digest in feed.pop("_hashes"))
        _write_atomically(directory / f"{event_uuid}.json", orjson.dumps({"Event": feed}, default=pymisp_json_default))
        written.uuids.append(event_uuid)
    _write_atomically(directory / "hashes.csv", "".join(hashes).encode("utf-8"))
    _write_atomically(directory / "manifest.json", orjson.dumps(manifest, default=pymisp_json_default))
    written.hashes = len(hashes)
    return written


def _keep_context(event: Mapping[str, Any], feed: dict[str, Any]) -> None:
    """PyMISP's feed output names galaxy clusters by their tags alone and leaves sightings
    out; the ``Galaxy`` and ``Sighting`` lists of the MISP event format are put back (a MISP
    subscriber reads them as in any event it imports), so that reading the feed back converts
    to the same STIX as the event it was written from."""
    if isinstance(event.get("Galaxy"), list) and event["Galaxy"]:
        feed["Galaxy"] = event["Galaxy"]
    extra: dict[str, dict[str, Any]] = {}
    attributes = [a for a in event.get("Attribute") or [] if isinstance(a, Mapping)]
    for obj in event.get("Object") or []:
        if isinstance(obj, Mapping):
            attributes.extend(a for a in obj.get("Attribute") or [] if isinstance(a, Mapping))
    for attribute in attributes:
        kept = {k: attribute[k] for k in ("Galaxy", "Sighting") if isinstance(attribute.get(k), list) and attribute[k]}
        if kept:
            extra[str(attribute.get("uuid"))] = kept
    if not extra:
        return
    targets = list(feed.get("Attribute", []))
    for obj in feed.get("Object", []):
        targets.extend(obj.get("Attribute", []))
    for attribute in targets:
        attribute.update(extra.get(str(attribute.get("uuid")), {}))


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
