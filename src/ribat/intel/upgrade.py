"""STIX 2.0 objects as STIX 2.1 objects, losing nothing.

Which objects are 2.0 (STIX 2.1 §3.2 ``spec_version``; the rule ``stix2`` applies too):

- an object with ``spec_version`` is of that version;
- an SCO without it is 2.1 (SCOs became top-level objects in 2.1, and 2.1 makes
  ``spec_version`` optional on them with 2.1 as the default);
- any other object without it is 2.0, unless the bundle it came in says otherwise:
  STIX 2.0 bundles carry ``spec_version: "2.0"`` for all their objects, which
  themselves have none; a bundle saying ``"2.1"`` is taken at its word.

What changes from 2.0 to 2.1, and what :func:`upgrade_to_21` does about it:

- ``spec_version`` becomes required on SDOs, SROs and meta objects: set to ``"2.1"``.
- Indicators gain a required ``pattern_type`` (§4.7): ``"stix"`` when absent. The
  pattern stays in the STIX 2.0 patterning language, so ``pattern_version`` is set to
  ``"2.0"`` (§4.7: when absent it would default to the object's new spec_version);
  validation then uses the 2.0 grammar, as ``stix2`` does for that value.
- Malware gains a required ``is_family`` (§4.11): ``true`` when absent. STIX 2.0
  malware objects have a required name and, in published content, describe families;
  a named 2.1 malware object that is not a family is the rarer case.
- The subtype vocabularies moved from ``labels`` to ``indicator_types``,
  ``malware_types``, ``tool_types``, ``threat_actor_types`` and ``report_types``
  (optional in 2.1, but the only place 2.1 consumers look): copied from ``labels``
  when absent. ``labels`` is kept as it was.
- ``identity_class`` (required in 2.0) is optional in 2.1: nothing to do.
- The observable container of observed-data (§2.13, deprecated) keeps its objects,
  but 2.1 references are identifiers, so each contained object gets a deterministic
  id (UUIDv5 of the observed-data id and its key) and every local reference
  ("0", "1", ...) to a key of the container becomes that id.

Properties the object already has are never replaced (2.0 content often carries 2.1
properties already), nothing is removed, custom properties and extensions pass
through, and the input is not modified. Objects that are already 2.1, or carry a
``spec_version`` this module does not know, are returned as they are (the same dict);
validation reports the latter.
"""

from __future__ import annotations

import uuid
from typing import Any, Final

from ribat.intel.validation import SCO_TYPES

__all__ = ["object_spec_version", "upgrade_to_21"]

_TYPES_FROM_LABELS: Final = {
    "indicator": "indicator_types",
    "malware": "malware_types",
    "tool": "tool_types",
    "threat-actor": "threat_actor_types",
    "report": "report_types",
}
# Namespace of the ids given to observables of upgraded observed-data containers; not the
# SCO namespace of §2.9, which is reserved for ids derived from ID contributing properties.
_CONTAINER_NAMESPACE: Final = uuid.uuid5(uuid.NAMESPACE_URL, "urn:ribat:stix-2.0-observable-container")


def object_spec_version(obj: dict[str, Any], bundle_spec_version: str | None = None) -> str | None:
    """The STIX version of ``obj`` by the rules above, or None if it names a non-string one."""
    version = obj.get("spec_version")
    if version is not None:
        return version if isinstance(version, str) else None
    if _is_sco(obj):
        return "2.1"
    return "2.1" if bundle_spec_version == "2.1" else "2.0"


def upgrade_to_21(obj: dict[str, Any], bundle_spec_version: str | None) -> dict[str, Any]:
    """Return ``obj`` as a STIX 2.1 object (see the module docstring)."""
    version = object_spec_version(obj, bundle_spec_version)
    if version == "2.0":
        return _from_20(obj)
    if version == "2.1" and "spec_version" not in obj and not _is_sco(obj):
        return {**obj, "spec_version": "2.1"}
    return obj


def _is_sco(obj: dict[str, Any]) -> bool:
    obj_type = obj.get("type")
    return isinstance(obj_type, str) and obj_type in SCO_TYPES


def _from_20(obj: dict[str, Any]) -> dict[str, Any]:
    new = {**obj, "spec_version": "2.1"}
    obj_type = obj.get("type")
    types_property = _TYPES_FROM_LABELS.get(obj_type) if isinstance(obj_type, str) else None
    labels = obj.get("labels")
    if types_property is not None and types_property not in obj and isinstance(labels, list) and labels:
        new[types_property] = list(labels)
    if obj_type == "indicator":
        new.setdefault("pattern_type", "stix")
        if new["pattern_type"] == "stix":
            new.setdefault("pattern_version", "2.0")
    elif obj_type == "malware":
        new.setdefault("is_family", True)
    elif obj_type == "observed-data":
        container = obj.get("objects")
        object_id = obj.get("id")
        if isinstance(container, dict) and container and isinstance(object_id, str):
            new["objects"] = _identify_container(container, object_id)
    return new


def _identify_container(container: dict[str, Any], observed_data_id: str) -> dict[str, Any]:
    """Give each contained observable an id and point local references at it."""
    ids: dict[str, str] = {}
    for key, observable in container.items():
        if isinstance(observable, dict) and isinstance(observable.get("type"), str):
            given = observable.get("id")
            if isinstance(given, str):
                ids[key] = given
            else:
                name = f"{observed_data_id}/{key}"
                ids[key] = f"{observable['type']}--{uuid.uuid5(_CONTAINER_NAMESPACE, name)}"
    result: dict[str, Any] = {}
    for key, observable in container.items():
        if key in ids:
            rewritten = _rewrite_references(observable, ids)
            result[key] = {**rewritten, "id": ids[key]} if "id" not in observable else rewritten
        else:
            result[key] = observable
    return result


def _rewrite_references(value: Any, ids: dict[str, str]) -> Any:
    """Replace container keys by ids in ``*_ref`` and ``*_refs`` properties, at any depth."""
    if isinstance(value, list):
        return [_rewrite_references(item, ids) for item in value]
    if not isinstance(value, dict):
        return value
    result: dict[str, Any] = {}
    for key, member in value.items():
        if isinstance(key, str) and key.endswith("_ref") and isinstance(member, str):
            result[key] = ids.get(member, member)
        elif isinstance(key, str) and key.endswith("_refs") and isinstance(member, list):
            result[key] = [ids.get(ref, ref) if isinstance(ref, str) else ref for ref in member]
        else:
            result[key] = _rewrite_references(member, ids)
    return result
