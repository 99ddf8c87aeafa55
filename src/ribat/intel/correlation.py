"""Correlation: "what else is related to this value?", answered from the observable index.

There is no all-pairs table. Ingest stores each version's normalised observables
(``ribat.intel.observables``) with a range key; a question is turned into *probes* on that
index, and only the rows a probe finds are read. A pure engine: this module plans the probes
and classifies what they found; ``SqlIntelStore.correlate`` runs them under the viewer's TLP.

Relations (``Relation``)
------------------------
``same``
    the same normalised value (any kind; a URL's host also counts as a domain).
``within``
    the stored IP network contains the asked address or network (``10.0.0.0/8`` for
    ``10.1.2.3``).
``contains``
    the asked network contains the stored address or network.
``parent-domain``
    the stored domain is a parent of the asked one (``example.com`` for ``www.example.com``);
    parents of one label (top-level domains) are not asked.
``sub-domain``
    the stored domain is below the asked one.

Over-correlation: a stored value related to more readable objects than the cap (a public
resolver, a popular domain) is reported once with the number of readable objects, and its
objects are not listed (MISP's "over-correlating values").
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from ribat.intel.observables import Observable, domain_parents, host_of, range_key

__all__ = ["Plan", "Probe", "Relation", "plan", "relation_of"]


class Relation(StrEnum):
    SAME = "same"
    WITHIN = "within"
    CONTAINS = "contains"
    PARENT_DOMAIN = "parent-domain"
    SUB_DOMAIN = "sub-domain"


class Probe(NamedTuple):
    """A look-up on the index: an exact ``(kind, value)``, or ``kind`` rows whose range key
    lies in ``[low, high]`` (``value`` empty)."""

    kind: str
    value: str
    low: str | None = None
    high: str | None = None


@dataclass(frozen=True)
class Plan:
    asked: tuple[Observable, ...]
    exact: tuple[tuple[str, str], ...]
    ranges: tuple[Probe, ...]


def _networks(obs: Observable) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, list[str], Probe | None]:
    net = ipaddress.ip_network(obs.value, strict=False)
    supernets = []
    for length in range(1, net.prefixlen):
        sup = net.supernet(new_prefix=length)
        supernets.append(str(sup))
    below: Probe | None = None
    if net.prefixlen < net.max_prefixlen:
        width = 8 if net.version == 4 else 32
        below = Probe(
            obs.kind,
            "",
            format(int(net.network_address), f"0{width}x"),
            format(int(net.broadcast_address), f"0{width}x"),
        )
    return net, supernets, below


def plan(asked: list[Observable]) -> Plan:
    """The probes that find everything related to the ``asked`` observables."""
    wanted: list[Observable] = []
    for obs in asked:
        wanted.append(obs)
        if obs.kind == "url" and (host := host_of(obs.value)) is not None:
            wanted.append(host)
    wanted = list(dict.fromkeys(wanted))
    exact: dict[tuple[str, str], None] = {}
    ranges: list[Probe] = []
    for obs in wanted:
        exact[(obs.kind, obs.value)] = None
        if obs.kind in ("ipv4", "ipv6"):
            _, supernets, below = _networks(obs)
            for s in supernets:
                exact[(obs.kind, s)] = None
            if below is not None:
                ranges.append(below)
        elif obs.kind == "domain":
            for parent in domain_parents(obs.value):
                exact[("domain", parent)] = None
            key = range_key(obs)
            assert key is not None
            # Sub-domains: keys that extend "com.example." by a label, which starts with a digit,
            # a letter or "_" (all sort after "0"); "/" sorts right after ".". The domain itself
            # is the exact probe, not part of the range.
            ranges.append(Probe("domain", "", key + "0", key[:-1] + "/"))
    return Plan(tuple(wanted), tuple(exact), tuple(ranges))


def relation_of(asked: tuple[Observable, ...], found: Observable) -> Relation | None:
    """How a stored observable relates to the asked ones (the closest relation), or None when a
    range probe over-reached (a network starting inside the asked one but ending outside it)."""
    best: Relation | None = None
    for obs in asked:
        rel = _relation(obs, found)
        if rel is Relation.SAME:
            return rel
        if rel is not None and best is None:
            best = rel
    return best


def _relation(obs: Observable, found: Observable) -> Relation | None:
    if obs.kind != found.kind:
        return None
    if obs.value == found.value:
        return Relation.SAME
    if obs.kind in ("ipv4", "ipv6"):
        a = ipaddress.ip_network(obs.value, strict=False)
        b = ipaddress.ip_network(found.value, strict=False)
        if a.version != b.version:
            return None
        if a.subnet_of(b):  # type: ignore[arg-type]
            return Relation.WITHIN
        if b.subnet_of(a):  # type: ignore[arg-type]
            return Relation.CONTAINS
        return None
    if obs.kind == "domain":
        if obs.value.endswith("." + found.value):
            return Relation.PARENT_DOMAIN
        if found.value.endswith("." + obs.value):
            return Relation.SUB_DOMAIN
    return None
