"""What a feed adds to the objects it imports: its default TLP and its tags. Pure.

- An object that carries no TLP marking gets the feed's TLP as a TLP 2.0 marking
  (``object_marking_refs``); an object that has one keeps it. A feed without a TLP
  leaves unmarked objects to the collection's default.
- The feed's tags are added to the ``labels`` of objects that may have labels (STIX 2.1
  section 3.2: SDOs, SROs and the other objects with ``created``; not cyber-observables
  nor marking definitions), after the labels already there and without duplicates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ribat.intel import Tlp
from ribat.intel.tlp import tlp_of_object

__all__ = ["TLP2_MARKING_IDS", "decorate"]

# The TLP 2.0 marking definitions (STIX extension form, OASIS cti-stix-common-objects).
TLP2_MARKING_IDS: Mapping[Tlp, str] = {
    Tlp.CLEAR: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    Tlp.GREEN: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    Tlp.AMBER: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    Tlp.AMBER_STRICT: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    Tlp.RED: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}


def _may_have_labels(obj: Mapping[str, Any]) -> bool:
    return "created" in obj and obj.get("type") != "marking-definition"


def decorate(objects: Sequence[Any], tlp: Tlp | None, tags: Sequence[str], markings: Mapping[str, Tlp]) -> list[Any]:
    """Copies of ``objects`` with the feed's TLP and tags applied (entries that are not
    JSON objects, and malformed markings or labels, pass through unchanged for ingest
    to report). ``markings`` maps the
    ids of custom TLP marking definitions (seen in the batch or stored) to their level."""
    if tlp is None and not tags:
        return list(objects)
    out: list[Any] = []
    for obj in objects:
        if not isinstance(obj, dict):
            out.append(obj)
            continue
        copy = dict(obj)
        refs = copy.get("object_marking_refs", [])
        if (
            tlp is not None
            and isinstance(refs, list)
            and copy.get("type") != "marking-definition"
            and tlp_of_object(copy, markings) is None
        ):
            copy["object_marking_refs"] = [*refs, TLP2_MARKING_IDS[tlp]]
        labels = copy.get("labels", [])
        if tags and isinstance(labels, list) and _may_have_labels(copy):
            copy["labels"] = labels + [t for t in tags if t not in labels]
        out.append(copy)
    return out
