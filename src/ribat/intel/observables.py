"""Observable values in STIX objects, normalised: the keys of correlation, warninglist checks
and detection exports. A pure engine: no I/O.

What is read (``observables_of``)
---------------------------------
* an ``indicator`` whose ``pattern_type`` is ``stix`` (or absent): every comparison
  ``<path> = '<string>'`` (also ``==`` and ``ISSUBSET`` for networks) whose object path names a
  value we index (``PATHS``), wherever it stands in the pattern;
* the cyber-observable objects ``ipv4-addr``, ``ipv6-addr``, ``domain-name``, ``url``,
  ``email-addr``, ``file`` and ``artifact`` (hashes and file name);
* ``observed-data`` carrying its observables inline (STIX 2.0 ``objects``).

A URL also yields its host (a domain or an address), so that a URL indicator is related to an
indicator on the same domain.

Normal forms (``normalise``)
----------------------------
``ipv4``/``ipv6``: the address (``10.0.0.1``) or, for a network, ``ipaddress``'s network form
with host bits cleared (``10.0.0.0/8``); ``domain``: lower case, no trailing dot; ``url``: scheme
and host lower-cased, the rest unchanged; ``email``: lower case; hashes (``md5``, ``sha1``,
``sha256``, ``sha512``, ``sha3-256``, ``sha3-512``, ``tlsh``): lower-case hex; ``ssdeep`` and
``filename``: as given, surrounding white space removed. A value longer than ``MAX_VALUE``
characters keeps its first part and ends in ``#sha256:<digest of the whole value>``, so that it
still fits one B-tree index entry and equal values still compare equal.

Detection shape (``detection_observables``)
-------------------------------------------
Blocklists, Suricata rules and Zeek Intel files can only say "this value is bad". An indicator
has that shape when its pattern is a disjunction of equality comparisons, each on one indexed
value, with no qualifier: ``[ipv4-addr:value = '1.2.3.4']``, ``[domain-name:value = 'a.example'
OR domain-name:value = 'b.example']``, ``[url:value = 'x'] OR [url:value = 'y']``. Anything else
(AND, FOLLOWEDBY, other operators, qualifiers) is not a plain list of values and is reported as
such by the exports rather than widened into one.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final, NamedTuple
from urllib.parse import urlsplit, urlunsplit

from ribat.intel.patterns import (
    _CLOSE,
    _COMPARISON,
    _COMPARISON_JOIN,
    _END,
    _OBSERVATION_JOIN,
    _OPEN,
    _STRING,
    _WS,
)

__all__ = [
    "HASH_KINDS",
    "KINDS",
    "MAX_VALUE",
    "Observable",
    "classify",
    "detection_observables",
    "domain_parents",
    "indexed",
    "normalise",
    "observables_of",
    "pattern_for",
    "range_key",
]

MAX_VALUE: Final = 512

# STIX hash algorithm names (§10.1 hash-algorithm-ov, with the usual spellings) → our kind.
_HASH_NAMES: Final = {
    "MD5": "md5",
    "SHA1": "sha1",
    "SHA256": "sha256",
    "SHA512": "sha512",
    "SHA3256": "sha3-256",
    "SHA3512": "sha3-512",
    "SSDEEP": "ssdeep",
    "TLSH": "tlsh",
}
HASH_KINDS: Final = frozenset(_HASH_NAMES.values())
KINDS: Final = frozenset({"ipv4", "ipv6", "domain", "url", "email", "filename", *HASH_KINDS})
_HEX_LENGTH: Final = {"md5": 32, "sha1": 40, "sha256": 64, "sha512": 128, "sha3-256": 64, "sha3-512": 128}

# Object paths whose string value is an observable, by kind ("ip" = decided by the value).
PATHS: Final = {
    "ipv4-addr:value": "ip",
    "ipv6-addr:value": "ip",
    "domain-name:value": "domain",
    "url:value": "url",
    "email-addr:value": "email",
    "email-message:from_ref.value": "email",
    "email-message:sender_ref.value": "email",
    "email-message:to_refs[*].value": "email",
    "email-message:cc_refs[*].value": "email",
    "file:name": "filename",
    "network-traffic:dst_ref.value": "ip-or-domain",
    "network-traffic:src_ref.value": "ip-or-domain",
}
# The STIX path each kind is written back as (``pattern_for``).
_PATH_OF_KIND: Final = {
    "ipv4": "ipv4-addr:value",
    "ipv6": "ipv6-addr:value",
    "domain": "domain-name:value",
    "url": "url:value",
    "email": "email-addr:value",
    "filename": "file:name",
}
_STIX_HASH_NAME: Final = {
    "md5": "MD5",
    "sha1": "SHA-1",
    "sha256": "SHA-256",
    "sha512": "SHA-512",
    "sha3-256": "SHA3-256",
    "sha3-512": "SHA3-512",
    "ssdeep": "SSDEEP",
    "tlsh": "TLSH",
}

_DOMAIN: Final = re.compile(r"(?=.{1,253}\Z)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)+[a-z][a-z0-9-]{0,62}")
_EMAIL: Final = re.compile(r"[^@\s]{1,64}@[^@\s]+")
_HEX: Final = re.compile(r"[0-9a-f]+")
_SSDEEP: Final = re.compile(r"\d+:[A-Za-z0-9/+]+:[A-Za-z0-9/+]+(?:,.*)?")
_ANY_COMPARISON: Final = re.compile(
    rf"(?P<path>[A-Za-z0-9_-]+:[^\s=!<>]+){_WS}*(?P<op>==|=|ISSUBSET){_WS}*(?P<string>{_STRING})"
)
_UNESCAPE: Final = re.compile(r"\\(['\\])")


class Observable(NamedTuple):
    kind: str
    value: str


def _shorten(value: str) -> str:
    if len(value) <= MAX_VALUE:
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    tail = f"#sha256:{digest}"
    return value[: MAX_VALUE - len(tail)] + tail


_DOTTED_QUAD: Final = re.compile(
    r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
    r"(?:\.(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}"
)


def _ip(value: str) -> Observable | None:
    if _DOTTED_QUAD.fullmatch(value):  # the common case, already in normal form
        return Observable("ipv4", value)
    try:
        net = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return None
    kind = "ipv4" if net.version == 4 else "ipv6"
    text = str(net.network_address) if net.prefixlen == net.max_prefixlen else str(net)
    return Observable(kind, text)


def normalise(kind: str, value: str) -> str | None:
    """The normal form of ``value`` as a ``kind`` observable, or None if it is not one."""
    if not isinstance(value, str):
        return None
    v = value.strip()
    if not v:
        return None
    if kind in ("ipv4", "ipv6"):
        found = _ip(v)
        return found.value if found is not None and found.kind == kind else None
    if kind == "domain":
        d = v.lower().rstrip(".")
        return d if _DOMAIN.fullmatch(d) else None
    if kind == "url":
        try:
            parts = urlsplit(v)
        except ValueError:
            return None
        if not parts.scheme or not parts.netloc:
            return _shorten(v)
        return _shorten(
            urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, parts.query, parts.fragment))
        )
    if kind == "email":
        e = v.lower()
        return _shorten(e) if _EMAIL.fullmatch(e) else None
    if kind in _HEX_LENGTH or kind == "tlsh":
        h = v.lower()
        if not _HEX.fullmatch(h):
            return None
        if kind in _HEX_LENGTH and len(h) != _HEX_LENGTH[kind]:
            return None
        return h
    if kind == "ssdeep":
        return _shorten(v) if _SSDEEP.fullmatch(v) else None
    if kind == "filename":
        return _shorten(v)
    return None


def host_of(url: str) -> Observable | None:
    """The host of a URL as a domain or IP observable."""
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return None
    if not host:
        return None
    found = _ip(host)
    if found is not None:
        return found
    d = normalise("domain", host)
    return Observable("domain", d) if d else None


def classify(text: str) -> Observable | None:
    """What a bare value is (an address or network, a hash by its length, an e-mail address,
    a URL, a domain), normalised; None if it is none of these. File names are never guessed."""
    v = text.strip()
    if not v:
        return None
    found = _ip(v) if (":" in v or v[0].isdigit()) else None
    if found is not None:
        return found
    low = v.lower()
    if _HEX.fullmatch(low):
        for kind, length in (("md5", 32), ("sha1", 40), ("sha256", 64), ("sha512", 128)):
            if len(low) == length:
                return Observable(kind, low)
        return None
    if "://" in v:
        u = normalise("url", v)
        return Observable("url", u) if u else None
    if "@" in v:
        e = normalise("email", v)
        return Observable("email", e) if e else None
    if _SSDEEP.fullmatch(v):
        return Observable("ssdeep", v)
    d = normalise("domain", v)
    return Observable("domain", d) if d else None


def _hash_kind(name: str) -> str | None:
    return _HASH_NAMES.get(name.upper().replace("-", "").replace("_", "").replace("'", ""))


def _from_path(path: str, raw: str) -> Observable | None:
    """The observable a comparison of ``path`` to the string ``raw`` names, if any."""
    kind = PATHS.get(path)
    if kind is None:
        if ":hashes." in path:
            obj_type, _, rest = path.partition(":hashes.")
            if obj_type in ("file", "artifact") and "." not in rest.strip("'"):
                kind = _hash_kind(rest.strip("'"))
        if kind is None:
            return None
    if kind == "ip":
        return _ip(raw)
    if kind == "ip-or-domain":
        return _ip(raw) or (Observable("domain", d) if (d := normalise("domain", raw)) else None)
    value = normalise(kind, raw)
    return Observable(kind, value) if value is not None else None


def _unquote(literal: str) -> str:
    return _UNESCAPE.sub(r"\1", literal[1:-1])


def _pattern_observables(pattern: str) -> Iterator[Observable]:
    for m in _ANY_COMPARISON.finditer(pattern):
        path = m["path"]
        if m["op"] == "ISSUBSET" and PATHS.get(path) != "ip":
            continue
        found = _from_path(path, _unquote(m["string"]))
        if found is not None:
            yield found
            if found.kind == "url" and (host := host_of(found.value)) is not None:
                yield host


def _sco_observables(obj: Mapping[str, Any]) -> Iterator[Observable]:
    kind = obj.get("type")
    value = obj.get("value")
    if kind in ("ipv4-addr", "ipv6-addr") and isinstance(value, str):
        found = _ip(value)
        if found is not None:
            yield found
    elif kind in ("domain-name", "url", "email-addr") and isinstance(value, str):
        k = {"domain-name": "domain", "url": "url", "email-addr": "email"}[kind]
        v = normalise(k, value)
        if v is not None:
            yield Observable(k, v)
            if k == "url" and (host := host_of(v)) is not None:
                yield host
    elif kind in ("file", "artifact"):
        hashes = obj.get("hashes")
        if isinstance(hashes, Mapping):
            for name, h in hashes.items():
                hk = _hash_kind(str(name))
                if hk is not None and isinstance(h, str) and (v := normalise(hk, h)) is not None:
                    yield Observable(hk, v)
        name = obj.get("name")
        if kind == "file" and isinstance(name, str) and (v := normalise("filename", name)) is not None:
            yield Observable("filename", v)


def observables_of(obj: Mapping[str, Any]) -> list[Observable]:
    """The distinct observables of a STIX object, in order of appearance (see the module doc)."""
    found: Iterable[Observable]
    kind = obj.get("type")
    if kind == "indicator":
        pattern = obj.get("pattern")
        if not isinstance(pattern, str) or obj.get("pattern_type", "stix") != "stix":
            return []
        found = _pattern_observables(pattern)
    elif kind == "observed-data":
        inline = obj.get("objects")
        if not isinstance(inline, Mapping):
            return []
        found = (o for sco in inline.values() if isinstance(sco, Mapping) for o in _sco_observables(sco))
    else:
        found = _sco_observables(obj)
    return list(dict.fromkeys(found))


def detection_observables(obj: Mapping[str, Any]) -> list[Observable] | None:
    """The values of an indicator whose pattern is a plain disjunction of equalities (see the
    module doc), or None when it is not of that shape or not a STIX-pattern indicator."""
    if obj.get("type") != "indicator" or obj.get("pattern_type", "stix") != "stix":
        return None
    pattern = obj.get("pattern")
    if not isinstance(pattern, str):
        return None
    match = _OPEN.match(pattern)
    if match is None:
        return None
    pos = match.end()
    found: list[Observable] = []
    while True:
        comparison = _COMPARISON.match(pattern, pos)
        if comparison is None or comparison["eq"] not in ("=", "==") or comparison["string"] is None:
            return None
        obs = _from_path(comparison["path"], _unquote(comparison["string"]))
        if obs is None:
            return None
        found.append(obs)
        pos = comparison.end()
        join = _COMPARISON_JOIN.match(pattern, pos)
        if join is not None:
            if "OR" not in join.group():
                return None
            pos = join.end()
            continue
        close = _CLOSE.match(pattern, pos)
        if close is None:
            return None
        pos = close.end()
        join = _OBSERVATION_JOIN.match(pattern, pos)
        if join is not None:
            if join.group().split()[0] != "OR":
                return None
            pos = join.end()
            continue
        if _END.match(pattern, pos) is None:
            return None
        return list(dict.fromkeys(found))


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def pattern_for(obs: Observable) -> str:
    """The STIX pattern that matches exactly this observable."""
    if obs.kind in _STIX_HASH_NAME:
        return f"[file:hashes.{_quote(_STIX_HASH_NAME[obs.kind])} = {_quote(obs.value)}]"
    if obs.kind in ("ipv4", "ipv6") and "/" in obs.value:
        return f"[{_PATH_OF_KIND[obs.kind]} ISSUBSET {_quote(obs.value)}]"
    return f"[{_PATH_OF_KIND[obs.kind]} = {_quote(obs.value)}]"


def range_key(obs: Observable) -> str | None:
    """The ordering key of containment look-ups: the fixed-width hex of a network's first
    address (8 digits for IPv4, 32 for IPv6), and a domain's labels reversed
    (``www.example.com`` → ``com.example.www.``), so that sub-domains form a prefix range."""
    if obs.kind in ("ipv4", "ipv6"):
        net = ipaddress.ip_network(obs.value, strict=False)
        width = 8 if net.version == 4 else 32
        return format(int(net.network_address), f"0{width}x")
    if obs.kind == "domain":
        return ".".join(reversed(obs.value.split("."))) + "."
    return None


def domain_parents(domain: str) -> list[str]:
    """The parent domains of ``domain`` with at least two labels (``a.b.example.com`` →
    ``b.example.com``, ``example.com``)."""
    labels = domain.split(".")
    return [".".join(labels[i:]) for i in range(1, len(labels) - 1)]


def indexed(observables: Iterable[Observable]) -> list[tuple[str, str, str | None]]:
    """``(kind, value, range_key)`` rows for the correlation index."""
    return [(o.kind, o.value, range_key(o)) for o in observables]
