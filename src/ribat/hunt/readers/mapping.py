"""A user's field mapping for JSON lines and CSV: ``{object path: field name(s)}``.

Example: ``{"time": "ts", "network-traffic:src_ref.value": "src_ip", "network-traffic:dst_port":
"dport", "domain-name:value": "query"}``. ``time`` names the field holding the record's time
(epoch seconds or ISO 8601; when absent, a field named ``ts``, ``timestamp``, ``@timestamp``,
``time`` or ``datetime`` is used). Every other key is a STIX object path (STIX 2.1 §9.3) among
those in :data:`SUPPORTED`; unknown object types and unsupported properties are rejected with a
:class:`~ribat.errors.ValidationError` naming the key.

Objects: one object per object type, holding every mapped property of that type; when a type
has a single mapped property fed by several fields (``{"ipv4-addr:value": ["src", "dst"]}``),
one object per field. ``network-traffic:src_ref.value`` (and ``dst_ref``) make an address
object (``ipv6-addr`` when the value has a ``:``) that the traffic refers to;
``domain-name:resolves_to_refs[*].value`` makes addresses or domain names the domain resolves to.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ribat.errors import ValidationError
from ribat.hunt.readers.base import ObjectGraph, Step, format_path, parse_path

__all__ = ["HASH_ALGORITHMS", "SCO_TYPES", "SUPPORTED", "TIME_CANDIDATES", "FieldMapping", "parse_mapping"]

SCO_TYPES = frozenset(
    {
        "artifact",
        "autonomous-system",
        "directory",
        "domain-name",
        "email-addr",
        "email-message",
        "file",
        "ipv4-addr",
        "ipv6-addr",
        "mac-addr",
        "mutex",
        "network-traffic",
        "process",
        "software",
        "url",
        "user-account",
        "windows-registry-key",
        "x509-certificate",
    }
)
"""The STIX 2.1 Cyber-observable Object types (§6)."""

HASH_ALGORITHMS = ("MD5", "SHA-1", "SHA-256", "SHA-512", "SHA3-256", "SHA3-512", "SSDEEP", "TLSH")
"""The hash-algorithm-ov vocabulary (STIX 2.1 §10.11)."""

_HTTP = "extensions.'http-request-ext'"
SUPPORTED: dict[str, dict[str, str]] = {
    "ipv4-addr": {"value": "str"},
    "ipv6-addr": {"value": "str"},
    "mac-addr": {"value": "str"},
    "domain-name": {"value": "str", "resolves_to_refs[*].value": "resolved"},
    "url": {"value": "str"},
    "email-addr": {"value": "str", "display_name": "str"},
    "file": {"name": "str", "size": "int", "mime_type": "str", "hashes.<algorithm>": "str"},
    "network-traffic": {
        "src_ref.value": "address",
        "dst_ref.value": "address",
        "src_port": "int",
        "dst_port": "int",
        "protocols[*]": "strlist",
        "src_byte_count": "int",
        "dst_byte_count": "int",
        "src_packets": "int",
        "dst_packets": "int",
        f"{_HTTP}.request_method": "str",
        f"{_HTTP}.request_value": "str",
        f"{_HTTP}.request_version": "str",
        f"{_HTTP}.request_header.<name>": "str",
    },
    "x509-certificate": {"hashes.<algorithm>": "str", "serial_number": "str", "subject": "str", "issuer": "str"},
    "autonomous-system": {"number": "int", "name": "str"},
    "user-account": {"user_id": "str", "account_login": "str", "display_name": "str"},
    "process": {"pid": "int", "command_line": "str"},
    "software": {"name": "str", "vendor": "str", "version": "str"},
    "mutex": {"name": "str"},
    "windows-registry-key": {"key": "str"},
    "directory": {"path": "str"},
}
"""Object type → supported property (as written after ``type:``) → value kind."""

TIME_CANDIDATES = ("ts", "timestamp", "@timestamp", "time", "datetime")
RESERVED_FIELDS = frozenset({"_time_us", "_line", "_file"})
_COLUMN_KIND = {"str": "str", "int": "int", "strlist": "strlist", "address": "str", "resolved": "strlist"}


@dataclass(frozen=True)
class Target:
    path: str
    object_type: str
    steps: tuple[Step, ...]
    kind: str
    fields: tuple[str, ...]


def _supported_key(object_type: str, steps: tuple[Step, ...]) -> str | None:
    table = SUPPORTED[object_type]
    text = format_path(object_type, steps).partition(":")[2]
    if text in table:
        return text
    if steps[0] == "hashes" and len(steps) == 2 and steps[1] in HASH_ALGORITHMS and "hashes.<algorithm>" in table:
        return "hashes.<algorithm>"
    http_header = ("extensions", "http-request-ext", "request_header")
    if steps[:3] == http_header and len(steps) == 4 and isinstance(steps[3], str) and steps[3] != "*":
        return f"{_HTTP}.request_header.<name>"
    return None


def _fields_of(key: str, value: Any) -> tuple[str, ...]:
    names = (value,) if isinstance(value, str) else tuple(value) if isinstance(value, list | tuple) else ()
    if not names or not all(isinstance(n, str) and n for n in names):
        raise ValidationError(f"mapping[{key!r}]", "must name a field (a non-empty string) or a list of fields")
    for name in names:
        if name in RESERVED_FIELDS:
            raise ValidationError(f"mapping[{key!r}]", f"{name!r} is a reserved column name")
    return names


@dataclass(frozen=True)
class FieldMapping:
    """A validated mapping; it is also the object builder of the records it reads."""

    time_field: str | None
    targets: tuple[Target, ...]

    @property
    def field_kinds(self) -> dict[str, str]:
        """Field → column kind (``str``, ``int``, ``strlist``)."""
        kinds: dict[str, str] = {}
        for target in self.targets:
            for name in target.fields:
                kinds[name] = _COLUMN_KIND[target.kind]
        return kinds

    @property
    def object_types(self) -> frozenset[str]:
        types = {t.object_type for t in self.targets}
        for t in self.targets:
            if t.kind == "address":
                types |= {"ipv4-addr", "ipv6-addr"}
            elif t.kind == "resolved":
                types |= {"ipv4-addr", "ipv6-addr", "domain-name"}
        return frozenset(types)

    @property
    def paths(self) -> dict[str, tuple[str, ...]]:
        paths: dict[str, list[str]] = {}

        def add(path: str, fields: Sequence[str]) -> None:
            columns = paths.setdefault(path, [])
            columns.extend(f for f in fields if f not in columns)

        for target in self.targets:
            add(target.path, target.fields)
            if target.kind in ("address", "resolved"):
                add("ipv4-addr:value", target.fields)
                add("ipv6-addr:value", target.fields)
            if target.kind == "resolved":
                add("domain-name:value", target.fields)
        return {path: tuple(columns) for path, columns in paths.items()}

    def with_time(self, time_field: str) -> FieldMapping:
        return FieldMapping(time_field, self.targets)

    def __call__(self, row: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        graph = ObjectGraph()
        by_type: dict[str, list[Target]] = {}
        for target in self.targets:
            by_type.setdefault(target.object_type, []).append(target)
        for object_type, targets in by_type.items():
            if len(targets) == 1 and len(targets[0].fields) > 1 and targets[0].kind in ("str", "int"):
                target = targets[0]
                for name in target.fields:
                    _emit(graph, object_type, [(target, [row.get(name)])])
                continue
            _emit(graph, object_type, [(t, [row.get(name) for name in t.fields]) for t in targets])
        return graph.objects


def _flat(values: Sequence[Any]) -> list[Any]:
    out: list[Any] = []
    for value in values:
        if isinstance(value, list):
            out.extend(v for v in value if v is not None and v != "")
        elif value is not None and value != "":
            out.append(value)
    return out


def _emit(graph: ObjectGraph, object_type: str, values: Sequence[tuple[Target, list[Any]]]) -> None:
    obj: dict[str, Any] = {"type": object_type}
    resolved: list[str] = []
    for target, raw in values:
        present = _flat(raw)
        if not present:
            continue
        if target.kind == "address":
            key = graph.address(str(present[0]))
            if key is not None:
                obj[str(target.steps[0])] = key
            continue
        if target.kind == "resolved":
            resolved.extend(k for k in (graph.resolved(str(v)) for v in present) if k is not None)
            continue
        if target.kind == "strlist":
            obj[str(target.steps[0])] = [str(v) for v in present]
            continue
        node = obj
        for step in target.steps[:-1]:
            node = node.setdefault(str(step), {})
        node[str(target.steps[-1])] = present[0]
    if len(obj) == 1:
        return
    if set(obj) == {"type", "value"} and isinstance(obj["value"], str) and not resolved:
        graph.unique(object_type, obj["value"])
        return
    key = graph.add(obj)
    for target_key in resolved:
        graph.link(key, "resolves_to_refs", target_key)


def parse_mapping(mapping: Mapping[str, Any]) -> FieldMapping:
    """Validate a user mapping; raises :class:`ValidationError` naming the bad key."""
    if not isinstance(mapping, Mapping) or not mapping:
        raise ValidationError("mapping", "a mapping needs at least one 'object path': 'field' entry")
    time_field: str | None = None
    targets: list[Target] = []
    for key, value in mapping.items():
        if not isinstance(key, str):
            raise ValidationError("mapping", f"keys are object paths or 'time', not {key!r}")
        if key == "time":
            time_field = _fields_of(key, value)[0]
            continue
        try:
            object_type, steps = parse_path(key)
        except ValueError as exc:
            raise ValidationError(
                f"mapping[{key!r}]", f"{exc}; keys are STIX object paths such as 'ipv4-addr:value'"
            ) from None
        if object_type not in SCO_TYPES:
            raise ValidationError(
                f"mapping[{key!r}]",
                f"unknown STIX cyber-observable type {object_type!r} (known: {', '.join(sorted(SCO_TYPES))})",
            )
        if object_type not in SUPPORTED:
            raise ValidationError(f"mapping[{key!r}]", f"{object_type!r} objects cannot be read from log fields")
        supported = _supported_key(object_type, steps)
        if supported is None:
            choices = ", ".join(f"{object_type}:{p}" for p in SUPPORTED[object_type])
            raise ValidationError(f"mapping[{key!r}]", f"unsupported property; supported: {choices}")
        kind = SUPPORTED[object_type][supported]
        targets.append(Target(format_path(object_type, steps), object_type, steps, kind, _fields_of(key, value)))
    if not targets:
        raise ValidationError("mapping", "map at least one object path to a field")
    by_type: dict[str, list[Target]] = {}
    for target in targets:
        by_type.setdefault(target.object_type, []).append(target)
    for object_type, group in by_type.items():
        for target in group:
            if len(target.fields) > 1 and target.kind == "address":
                raise ValidationError(f"mapping[{target.path!r}]", "a reference takes one field")
            if len(target.fields) > 1 and target.kind in ("str", "int") and len(group) > 1:
                raise ValidationError(
                    f"mapping[{target.path!r}]",
                    f"several fields make several {object_type} objects, so {target.path} must be the only "
                    f"{object_type} property mapped",
                )
    kinds: dict[str, str] = {}
    for target in targets:
        for name in target.fields:
            kind = _COLUMN_KIND[target.kind]
            if kinds.setdefault(name, kind) != kind:
                raise ValidationError(
                    f"mapping[{target.path!r}]", f"field {name!r} is mapped as both {kinds[name]} and {kind}"
                )
    return FieldMapping(time_field, tuple(targets))
