"""What a client may post, unwrapped into STIX 2.1 objects and per-object problems.

:func:`read_envelope` accepts the four shapes STIX content arrives in:

- a STIX bundle (STIX 2.1 §8; a STIX 2.0 bundle carries ``spec_version: "2.0"``),
- a TAXII 2.1 envelope (TAXII 2.1 §3.7: ``objects``, ``more``, ``next``),
- a bare JSON array of objects (e.g. cti-python-stix2's ``sco-examples-bundle.json``),
- a single STIX object.

Every entry is upgraded to STIX 2.1 (:func:`ribat.intel.upgrade.upgrade_to_21`) and
then validated (:func:`ribat.intel.validation.validate_object`) here, not by the
caller: ingest must store the valid objects and report each invalid one with its
reason (TAXII 2.1 §5.5, status ``failures``), and one bad object must not cost the
others. So the result holds only valid objects, and a :class:`Problem` for each entry
that is not a JSON object or fails validation. Only a top-level value that is none of
the four shapes is an :class:`~ribat.errors.EnvelopeError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ribat.errors import EnvelopeError, StixValidationError
from ribat.intel.upgrade import upgrade_to_21
from ribat.intel.validation import validate_object

__all__ = ["Envelope", "Problem", "read_envelope"]

Kind = Literal["bundle", "envelope", "list", "object"]
_ENVELOPE_KEYS = frozenset({"objects", "more", "next"})


@dataclass(frozen=True, slots=True)
class Problem:
    """An entry that was not stored: its position, id and version if it has them, and why."""

    index: int
    object_id: str | None
    version: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class Envelope:
    """The valid objects (as STIX 2.1) and the problems, each in input order."""

    kind: Kind
    objects: list[dict[str, Any]] = field(default_factory=list)
    indexes: list[int] = field(default_factory=list)
    """``indexes[i]`` is the position of ``objects[i]`` in the input."""
    problems: list[Problem] = field(default_factory=list)
    spec_version: str | None = None
    """The bundle's ``spec_version`` (STIX 2.0 bundles only)."""
    more: bool | None = None
    next: str | None = None

    def entries(self) -> list[tuple[int, dict[str, Any]]]:
        """``(index, object)`` pairs of the valid objects."""
        return list(zip(self.indexes, self.objects, strict=True))


def read_envelope(data: Any) -> Envelope:
    """Unwrap, upgrade and validate parsed JSON ``data`` (see the module docstring)."""
    kind: Kind
    more: bool | None = None
    next_token: str | None = None
    bundle_version: str | None = None
    if isinstance(data, list):
        kind, items = "list", data
    elif not isinstance(data, dict):
        raise EnvelopeError(
            "expected a STIX bundle, a TAXII envelope, a JSON array of STIX objects or one "
            f"STIX object, not {_json_type(data)}"
        )
    elif data.get("type") == "bundle":
        kind, items = "bundle", _objects_of(data, "the bundle's")
        version = data.get("spec_version")
        if version is not None and not isinstance(version, str):
            raise EnvelopeError("the bundle's spec_version must be a string")
        bundle_version = version
    elif "type" in data:
        kind, items = "object", [data]
    elif data.keys() <= _ENVELOPE_KEYS:
        kind, items = "envelope", _objects_of(data, "the envelope's")
        more, next_token = data.get("more"), data.get("next")
        if more is not None and not isinstance(more, bool):
            raise EnvelopeError("the envelope's 'more' must be true or false")
        if next_token is not None and not isinstance(next_token, str):
            raise EnvelopeError("the envelope's 'next' must be a string")
    else:
        raise EnvelopeError(
            "a JSON object without 'type' must be a TAXII envelope, with no properties but 'objects', 'more' and 'next'"
        )
    objects: list[dict[str, Any]] = []
    indexes: list[int] = []
    problems: list[Problem] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            problems.append(Problem(index, None, None, f"not a JSON object but {_json_type(item)}"))
            continue
        try:
            obj = upgrade_to_21(item, bundle_version)
            validate_object(obj)
        except StixValidationError as exc:
            problems.append(Problem(index, exc.object_id, _version_of(item), exc.reason))
            continue
        objects.append(obj)
        indexes.append(index)
    return Envelope(kind, objects, indexes, problems, bundle_version, more, next_token)


def _objects_of(data: dict[str, Any], owner: str) -> list[Any]:
    items = data.get("objects", [])
    if not isinstance(items, list):
        raise EnvelopeError(f"{owner} 'objects' must be a JSON array, not {_json_type(items)}")
    return items


def _version_of(obj: dict[str, Any]) -> str | None:
    for key in ("modified", "created"):
        value = obj.get(key)
        if isinstance(value, str):
            return value
    return None


def _json_type(value: Any) -> str:
    names = {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        type(None): "null",
    }
    if type(value) in names:
        return names[type(value)]
    if isinstance(value, int | float):
        return "a number"
    return type(value).__name__
