"""The provenance a version carries between hubs, as a STIX 2.1 property extension.

Between hubs, and only there, each object travels with::

    "extensions": {
      "extension-definition--36258daf-e59c-40dc-b20f-86d0055500e6": {
        "extension_type": "property-extension",
        "origin_hub": "<hub id where it was first stored>",
        "hops": ["<origin hub id>", "<each hub it was stored in since>", "<the sending hub>"],
        "author": {"identity": "identity--…", "name": "…", "short_name": "…", "country": "MA",
                   "kind": "national-cert"},
        "recipients": ["identity--…", …],
        "tlp": "TLP:GREEN"
      }
    }

``author`` is the organisation that shared it (the receiving hub files the version under the organisation with
that STIX identity, registering it when it is new there), and ``recipients`` are the organisations the author named
for an AMBER version (trust circles expanded to their member organisations by the sending hub, since circles are
each hub's own). ``tlp`` is the level the version is shared under at the sending hub, which may come from that
hub's collection default rather than a marking in the object: the receiving hub never files it under a lower
one. The receiving hub strips the extension before it stores the object and keeps the provenance in
its own columns, so that its readers see the object as its author wrote it; it adds the extension again only
when it sends the object on. The local recipient extension (``share_with`` names, which mean nothing on another
hub) is removed on the way out. See docs/federation.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ribat.errors import StixValidationError
from ribat.intel.tlp import Tlp, tlp_from_name

__all__ = ["PROVENANCE_EXTENSION", "AuthorCard", "Carried", "attach", "detach"]

PROVENANCE_EXTENSION = "extension-definition--36258daf-e59c-40dc-b20f-86d0055500e6"


@dataclass(frozen=True)
class AuthorCard:
    """What a receiving hub needs to file a version under its author organisation."""

    identity: str
    name: str
    short_name: str
    country: str
    kind: str

    def as_json(self) -> dict[str, str]:
        return {
            "identity": self.identity,
            "name": self.name,
            "short_name": self.short_name,
            "country": self.country,
            "kind": self.kind,
        }


@dataclass(frozen=True)
class Carried:
    origin_hub: str
    hops: tuple[str, ...]
    author: AuthorCard | None
    recipients: tuple[str, ...] = ()
    tlp: Tlp | None = None


def attach(obj: Mapping[str, Any], carried: Carried, *, strip: tuple[str, ...] = ()) -> dict[str, Any]:
    """A copy of ``obj`` carrying ``carried``, without the extensions named in ``strip``."""
    out = dict(obj)
    extensions = {k: v for k, v in (obj.get("extensions") or {}).items() if k not in strip}
    ext: dict[str, Any] = {
        "extension_type": "property-extension",
        "origin_hub": carried.origin_hub,
        "hops": list(carried.hops),
    }
    if carried.author is not None:
        ext["author"] = carried.author.as_json()
    if carried.recipients:
        ext["recipients"] = list(carried.recipients)
    if carried.tlp is not None:
        ext["tlp"] = carried.tlp.label
    extensions[PROVENANCE_EXTENSION] = ext
    out["extensions"] = extensions
    return out


def detach(obj: dict[str, Any], *, strip: tuple[str, ...] = ()) -> tuple[dict[str, Any], Carried | None]:
    """Take the provenance (and the extensions in ``strip``) off ``obj``, in place: the object as it is stored, and
    the provenance it carried. Envelopes from peers hold thousands of objects, so nothing is copied.

    Raises StixValidationError naming what is wrong with a malformed provenance extension (``obj`` unchanged)."""
    extensions = obj.get("extensions")
    if not isinstance(extensions, Mapping) or not any(k in extensions for k in (PROVENANCE_EXTENSION, *strip)):
        return obj, None
    oid = obj.get("id") if isinstance(obj.get("id"), str) else None
    rest = {k: v for k, v in extensions.items() if k != PROVENANCE_EXTENSION and k not in strip}
    out = obj
    ext = extensions.get(PROVENANCE_EXTENSION)
    if ext is None:
        if rest:
            out["extensions"] = rest
        else:
            del out["extensions"]
        return out, None
    if not isinstance(ext, Mapping):
        raise StixValidationError(oid, "provenance extension: must be an object")
    origin = ext.get("origin_hub")
    if not isinstance(origin, str) or not origin or "," in origin:
        raise StixValidationError(oid, "provenance extension: origin_hub must be a hub id")
    hops = ext.get("hops", [])
    if not isinstance(hops, list) or not all(isinstance(h, str) and h and "," not in h for h in hops):
        raise StixValidationError(oid, "provenance extension: hops must be a list of hub ids")
    recipients = ext.get("recipients", [])
    if not isinstance(recipients, list) or not all(
        isinstance(r, str) and r.startswith("identity--") for r in recipients
    ):
        raise StixValidationError(oid, "provenance extension: recipients must be a list of identity ids")
    author = None
    card = ext.get("author")
    if card is not None:
        fields = ("identity", "name", "short_name", "country", "kind")
        if not isinstance(card, Mapping) or not all(isinstance(card.get(f), str) for f in fields):
            raise StixValidationError(oid, f"provenance extension: author must have the strings {', '.join(fields)}")
        if not card["identity"].startswith("identity--"):
            raise StixValidationError(oid, "provenance extension: author.identity must be an identity id")
        author = AuthorCard(*(card[f] for f in fields))
    tlp = None
    if "tlp" in ext:
        tlp = tlp_from_name(ext["tlp"]) if isinstance(ext["tlp"], str) else None
        if tlp is None:
            raise StixValidationError(oid, f"provenance extension: tlp {ext['tlp']!r} is not a TLP level")
    if rest:
        out["extensions"] = rest
    else:
        del out["extensions"]
    return out, Carried(origin, tuple(hops), author, tuple(recipients), tlp)
