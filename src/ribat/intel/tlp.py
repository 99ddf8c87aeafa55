"""The TLP 2.0 policy engine: who may read an object. Pure; every read path goes through it.

TLP 2.0 (FIRST, https://www.first.org/tlp/) as this hub applies it, on top of the
collection's own read permission:

- CLEAR: anyone allowed to read the collection.
- GREEN: every organisation of the community (any authenticated member organisation).
- AMBER: the author's organisation, plus the organisations and trust circles the author named.
- AMBER+STRICT: the author's organisation only.
- RED: the named users only (and the authoring user).

Markings are read from STIX ``object_marking_refs`` and ``granular_markings``: the
TLP 2.0 marking definitions (STIX extension form), the TLP 1.0 marking definitions of
STIX 2.1 section 7.2.1.4 (``white`` becomes CLEAR), and MISP-style tags (``tlp:white``,
``tlp:amber+strict``). When an object carries several TLP markings, the most
restrictive governs the whole object. An object without one gets the collection default.

``may_read`` decides one object; ``read_rule`` gives the same decision as data for a
viewer, so that a store can apply it inside a query (paging must not filter after the
fact); ``explain`` says why, in words.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

__all__ = [
    "TLP_MARKING_IDS",
    "Audience",
    "Decision",
    "ReadRule",
    "Tlp",
    "Viewer",
    "explain",
    "may_read",
    "read_rule",
    "tlp_from_marking_definition",
    "tlp_from_name",
    "tlp_of_object",
]


class Tlp(IntEnum):
    CLEAR = 0
    GREEN = 1
    AMBER = 2
    AMBER_STRICT = 3
    RED = 4

    @property
    def label(self) -> str:
        return _LABELS[self]

    @classmethod
    def parse(cls, text: str) -> Tlp:
        level = tlp_from_name(text)
        if level is None:
            raise ValueError(f"not a TLP level: {text!r} (use clear, green, amber, amber+strict, red)")
        return level


_LABELS = {
    Tlp.CLEAR: "TLP:CLEAR",
    Tlp.GREEN: "TLP:GREEN",
    Tlp.AMBER: "TLP:AMBER",
    Tlp.AMBER_STRICT: "TLP:AMBER+STRICT",
    Tlp.RED: "TLP:RED",
}

# TLP 2.0 marking definitions (OASIS cti-stix-common-objects, extension form) and the
# TLP 1.0 ones fixed by STIX 2.1 section 7.2.1.4.
TLP_MARKING_IDS: Mapping[str, Tlp] = {
    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487": Tlp.CLEAR,
    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb": Tlp.GREEN,
    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421": Tlp.AMBER,
    "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003": Tlp.AMBER_STRICT,
    "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1": Tlp.RED,
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": Tlp.CLEAR,
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": Tlp.GREEN,
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": Tlp.AMBER,
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": Tlp.RED,
}

_NAMES = {
    "clear": Tlp.CLEAR,
    "white": Tlp.CLEAR,
    "green": Tlp.GREEN,
    "amber": Tlp.AMBER,
    "amber+strict": Tlp.AMBER_STRICT,
    "amber_strict": Tlp.AMBER_STRICT,
    "amber-strict": Tlp.AMBER_STRICT,
    "red": Tlp.RED,
}


def tlp_from_name(text: str) -> Tlp | None:
    """``"tlp:white"``, ``"TLP:AMBER+STRICT"``, ``"green"`` → the TLP 2.0 level, else None."""
    value = text.strip().lower()
    for prefix in ("tlp:", "tlp "):
        if value.startswith(prefix):
            value = value[len(prefix) :].strip()
            break
    value = value.strip('"')
    return _NAMES.get(value)


def tlp_from_marking_definition(obj: Mapping[str, Any]) -> Tlp | None:
    """The level a marking-definition object stands for, or None if it is not a TLP marking."""
    known = TLP_MARKING_IDS.get(str(obj.get("id", "")))
    if known is not None:
        return known
    if obj.get("definition_type") == "tlp":
        definition = obj.get("definition")
        if isinstance(definition, Mapping) and isinstance(definition.get("tlp"), str):
            return tlp_from_name(definition["tlp"])
    extensions = obj.get("extensions")
    if isinstance(extensions, Mapping):
        for ext in extensions.values():
            if isinstance(ext, Mapping) and isinstance(ext.get("tlp_2_0"), str):
                return tlp_from_name(ext["tlp_2_0"])
    name = obj.get("name")
    if isinstance(name, str) and name.upper().startswith("TLP:"):
        return tlp_from_name(name)
    return None


def _marking_refs(obj: Mapping[str, Any]) -> Iterable[str]:
    refs = obj.get("object_marking_refs")
    if isinstance(refs, list):
        yield from (r for r in refs if isinstance(r, str))
    granular = obj.get("granular_markings")
    if isinstance(granular, list):
        for g in granular:
            if isinstance(g, Mapping) and isinstance(g.get("marking_ref"), str):
                yield g["marking_ref"]


def tlp_of_object(obj: Mapping[str, Any], extra_markings: Mapping[str, Tlp] | None = None) -> Tlp | None:
    """The most restrictive TLP among the object's markings, or None when it has none.

    A TLP marking-definition object is itself public (CLEAR): it names a level, it
    does not carry intelligence. ``extra_markings`` maps further marking ids (custom
    TLP marking definitions seen at ingest) to their level.
    """
    if obj.get("type") == "marking-definition" and tlp_from_marking_definition(obj) is not None:
        return Tlp.CLEAR
    found: Tlp | None = None
    for ref in _marking_refs(obj):
        level = TLP_MARKING_IDS.get(ref)
        if level is None and extra_markings is not None:
            level = extra_markings.get(ref)
        if level is not None and (found is None or level > found):
            found = level
    return found


@dataclass(frozen=True)
class Viewer:
    """Who is reading. ``org_id`` None means an anonymous reader (sees CLEAR only)."""

    user_id: str | None
    org_id: str | None
    circle_ids: frozenset[str] = field(default_factory=frozenset)
    role: str = "reader"

    @classmethod
    def anonymous(cls) -> Viewer:
        return cls(user_id=None, org_id=None)


@dataclass(frozen=True)
class Audience:
    """Who an object version is for: its TLP, its author and the recipients the author named."""

    tlp: Tlp
    author_org_id: str | None
    author_user_id: str | None = None
    org_ids: frozenset[str] = field(default_factory=frozenset)
    circle_ids: frozenset[str] = field(default_factory=frozenset)
    user_ids: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str


def explain(viewer: Viewer, audience: Audience) -> Decision:
    """Decide and say why, in words an analyst can read."""
    tlp = audience.tlp
    label = tlp.label
    if tlp is Tlp.CLEAR:
        return Decision(True, f"{label}: anyone who may read the collection may read it")
    if viewer.org_id is None:
        return Decision(False, f"{label}: anonymous readers see TLP:CLEAR only")
    if tlp is Tlp.GREEN:
        return Decision(True, f"{label}: shared with every organisation of the community")
    own_org = audience.author_org_id is not None and viewer.org_id == audience.author_org_id
    if tlp is Tlp.AMBER:
        if own_org:
            return Decision(True, f"{label}: your organisation is the author")
        if viewer.org_id in audience.org_ids:
            return Decision(True, f"{label}: the author named your organisation as a recipient")
        shared = sorted(viewer.circle_ids & audience.circle_ids)
        if shared:
            return Decision(
                True, f"{label}: the author shared it with trust circle(s) you belong to: {', '.join(shared)}"
            )
        return Decision(False, f"{label}: only the author's organisation and the recipients it named")
    if tlp is Tlp.AMBER_STRICT:
        if own_org:
            return Decision(True, f"{label}: your organisation is the author")
        return Decision(False, f"{label}: only the author's organisation")
    # RED
    if viewer.user_id is not None and viewer.user_id == audience.author_user_id:
        return Decision(True, f"{label}: you are the author")
    if viewer.user_id is not None and viewer.user_id in audience.user_ids:
        return Decision(True, f"{label}: the author named you as a recipient")
    return Decision(False, f"{label}: only the people the author named")


def may_read(viewer: Viewer, audience: Audience) -> bool:
    """``explain(viewer, audience).allowed``, without composing the reason (read paths
    call it for every object they return)."""
    tlp = audience.tlp
    if tlp is Tlp.CLEAR:
        return True
    if viewer.org_id is None:
        return False
    if tlp is Tlp.GREEN:
        return True
    if tlp is Tlp.AMBER:
        return (
            viewer.org_id == audience.author_org_id
            or viewer.org_id in audience.org_ids
            or not viewer.circle_ids.isdisjoint(audience.circle_ids)
        )
    if tlp is Tlp.AMBER_STRICT:
        return viewer.org_id == audience.author_org_id
    return viewer.user_id is not None and (
        viewer.user_id == audience.author_user_id or viewer.user_id in audience.user_ids
    )


@dataclass(frozen=True)
class ReadRule:
    """``may_read`` for one viewer, as data a store can turn into a query predicate.

    An object is readable iff its ``tlp`` <= ``open_up_to``, or it is AMBER and
    (author org == ``org_id`` or a recipient org == ``org_id`` or a recipient circle in
    ``circle_ids``), or it is AMBER+STRICT and author org == ``org_id``, or it is RED
    and (author user == ``user_id`` or a recipient user == ``user_id``).
    """

    open_up_to: Tlp
    org_id: str | None
    circle_ids: frozenset[str]
    user_id: str | None


def read_rule(viewer: Viewer) -> ReadRule:
    open_up_to = Tlp.CLEAR if viewer.org_id is None else Tlp.GREEN
    return ReadRule(
        open_up_to=open_up_to,
        org_id=viewer.org_id,
        circle_ids=viewer.circle_ids if viewer.org_id is not None else frozenset(),
        user_id=viewer.user_id,
    )
