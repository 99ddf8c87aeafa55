"""MISP warninglists: lists of well-known values (public resolvers, RFC 1918 space, empty-file
hashes, top sites) whose presence in an indicator is likely a false positive.

A list is the MISP ``list.json`` format (https://github.com/MISP/misp-warninglists):
``name``, ``version`` (an integer), ``description``, ``type``, ``list`` (the entries) and an
optional ``matching_attributes`` (MISP attribute types the list is meant for; kept, not used to
filter, since Ribat checks values, not MISP attributes).

Matching, per list ``type`` (``WarninglistIndex.hits``)
-------------------------------------------------------
``cidr``
    Entries are IPv4 or IPv6 networks or single addresses (``8.8.8.8`` is ``8.8.8.8/32``;
    host bits are ignored, as ``ipaddress.ip_network(strict=False)`` does). A value hits when
    it is an address or network *contained in* an entry (``10.1.2.3`` and ``10.1.0.0/16`` hit
    ``10.0.0.0/8``; ``8.0.0.0/8`` does not hit ``8.8.8.8``). The host of a URL is checked too.
    The most specific entry is reported. Look-up is one dict probe per prefix length present.
``hostname``
    Entries are domain names. A value hits when its host, or any parent domain of it, equals an
    entry (``www.bit.ly`` hits ``bit.ly``), case-insensitively, trailing dots ignored on both
    sides (as MISP trims entries). The host is taken from a URL (``https://bit.ly/x``), an
    e-mail address (``a@bit.ly``), ``host/path`` or ``host:port``. The most specific entry is
    reported.
``string``
    Exact equality of the whole value with an entry, **case-insensitive**. MISP's own
    ``__evalString`` is an exact, case-sensitive key look-up, but MISP lower-cases hash and
    domain attribute values when it stores them, and lists ship entries in upper case
    (``tlds`` has ``COM``): comparing case-folded values gives the effective MISP behaviour
    for the values these lists hold. Surrounding whitespace is ignored.
``substring``
    A value hits when an entry occurs anywhere in it (MISP ``strpos``), case-insensitively for
    the same reason as ``string``. The first entry found is reported. Empty entries are refused.
``regex``
    Entries are PCRE-style patterns, usually delimited with flags (``/^abuse@.*$/i``); an
    undelimited entry is a bare pattern. ``re.search`` is applied to the value as given. Flags
    ``i``, ``m``, ``s``, ``x`` map to Python's; ``u`` is implied. Each entry is compiled once;
    an entry that does not compile is reported as a problem and the rest of the list is kept.

As in MISP, a composite value ``a|b`` (``domain|ip``, ``filename|md5``) is also checked part by
part. A list contributes at most one ``Hit`` per value.

Loading: ``parse_warninglist`` validates one document and raises ``ValidationError`` naming the
file and field; ``load_directory`` reads ``*/list.json``, reports a bad file as a ``Problem``
and still loads the others. This module does no other I/O.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, cast, get_args
from urllib.parse import urlsplit

from ribat.errors import ValidationError

__all__ = [
    "Hit",
    "ListType",
    "LoadResult",
    "Problem",
    "Warninglist",
    "WarninglistIndex",
    "load_directory",
    "parse_warninglist",
]

ListType = Literal["cidr", "hostname", "string", "substring", "regex"]
LIST_TYPES: tuple[str, ...] = get_args(ListType)

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Warninglist:
    """One MISP warninglist as loaded from ``source`` (a file name, for messages)."""

    name: str
    version: int
    description: str
    type: ListType
    entries: tuple[str, ...]
    matching_attributes: tuple[str, ...] = ()
    source: str = "<memory>"


@dataclass(frozen=True, slots=True)
class Hit:
    """``value`` hits list ``list_name`` (of ``list_type``) through ``matched_entry`` as written."""

    list_name: str
    list_type: ListType
    matched_entry: str


@dataclass(frozen=True, slots=True)
class Problem:
    """A file that could not be loaded, or one entry of a list that was left out."""

    source: str
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: {self.field}: {self.reason}"


@dataclass(frozen=True, slots=True)
class LoadResult:
    index: WarninglistIndex
    problems: list[Problem] = field(default_factory=list)


# -- parsing --------------------------------------------------------------------------------


def parse_warninglist(data: object, source: str = "<memory>") -> Warninglist:
    """Validate one ``list.json`` document; ``ValidationError("<source>: <field>", reason)`` if bad."""

    def fail(name: str, reason: str) -> ValidationError:
        return ValidationError(f"{source}: {name}", reason)

    if not isinstance(data, dict):
        raise fail("(document)", f"expected a JSON object, got {type(data).__name__}")
    for key in ("name", "description"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise fail(key, "required, a non-empty string")
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise fail("version", f"required, an integer (got {version!r})")
    list_type = data.get("type")
    if list_type not in LIST_TYPES:
        raise fail("type", f"must be one of {', '.join(LIST_TYPES)} (got {list_type!r})")
    entries = data.get("list")
    if not isinstance(entries, list):
        raise fail("list", "required, an array of strings")
    for i, entry in enumerate(entries):
        if not isinstance(entry, str):
            raise fail(f"list[{i}]", f"must be a string (got {entry!r})")
    attributes = data.get("matching_attributes", [])
    if not isinstance(attributes, list) or not all(isinstance(a, str) for a in attributes):
        raise fail("matching_attributes", "when present, an array of strings")
    return Warninglist(
        name=data["name"].strip(),
        version=version,
        description=data["description"],
        type=cast(ListType, list_type),
        entries=tuple(entries),
        matching_attributes=tuple(attributes),
        source=source,
    )


def load_directory(path: Path | str) -> LoadResult:
    """Load every ``<path>/*/list.json`` (sorted by directory name) into one index.

    A file that is not JSON or fails validation becomes a ``Problem``; the others still load.
    Entries left out of a list (a bad network, an invalid regex) are problems too.
    """
    root = Path(path)
    lists: list[Warninglist] = []
    problems: list[Problem] = []
    for file in sorted(root.glob("*/list.json")):
        source = str(file.relative_to(root))
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            problems.append(Problem(source, "(file)", f"not readable JSON: {exc}"))
            continue
        try:
            lists.append(parse_warninglist(data, source))
        except ValidationError as exc:
            problems.append(Problem(source, exc.field.removeprefix(f"{source}: "), exc.reason))
    index = WarninglistIndex(lists)
    return LoadResult(index, problems + index.problems)


# -- matching helpers -----------------------------------------------------------------------

_REGEX_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE, "u": 0}
_CLOSING = {"(": ")", "{": "}", "[": "]", "<": ">"}


def _compile_misp_regex(entry: str) -> re.Pattern[str]:
    """Compile a PCRE-style ``/pattern/flags`` (or bare) entry; ``ValueError`` if it cannot."""
    first = entry[:1]
    if first and not first.isalnum() and first not in "\\ ":
        closing = _CLOSING.get(first, first)
        end = entry.rfind(closing)
        if end > 0:
            flags = 0
            for letter in entry[end + 1 :]:
                if letter not in _REGEX_FLAGS:
                    raise ValueError(f"unsupported regex flag {letter!r}")
                flags |= _REGEX_FLAGS[letter]
            return re.compile(entry[1:end], flags)
    return re.compile(entry)


def _host_of(value: str) -> str:
    """The host named by a URL, e-mail address, ``host/path``, ``host:port`` or bare host."""
    text = value.strip()
    if "://" in text:
        try:
            host = urlsplit(text).hostname or ""
        except ValueError:
            return ""
    elif "@" in text:
        host = text.rsplit("@", 1)[1]
    else:
        host = text.split("/", 1)[0]
        name, colon, port = host.rpartition(":")
        if colon and port.isdigit() and ":" not in name:
            host = name
    return host.rstrip(".").lower()


def _network(text: str) -> _Network | None:
    try:
        return ipaddress.ip_network(text.strip().strip("[]"), strict=False)
    except ValueError:
        return None


class _CidrTable:
    """Networks keyed per (IP version, prefix length) by their leading bits: a containment
    query is one dict probe per prefix length present, not a scan of the entries."""

    def __init__(self) -> None:
        self._tables: dict[int, dict[int, dict[int, list[tuple[int, str]]]]] = {4: {}, 6: {}}
        self._lengths: dict[int, list[int]] = {4: [], 6: []}

    def add(self, network: _Network, list_no: int, entry: str) -> None:
        by_length = self._tables[network.version].setdefault(network.prefixlen, {})
        key = int(network.network_address) >> (network.max_prefixlen - network.prefixlen)
        by_length.setdefault(key, []).append((list_no, entry))

    def freeze(self) -> None:
        for version, tables in self._tables.items():
            self._lengths[version] = sorted(tables, reverse=True)

    def containing(self, network: _Network) -> Iterable[tuple[int, str]]:
        """``(list_no, entry)`` for every entry containing ``network``, most specific first."""
        tables = self._tables[network.version]
        address = int(network.network_address)
        for length in self._lengths[network.version]:
            if length <= network.prefixlen:
                yield from tables[length].get(address >> (network.max_prefixlen - length), ())


class WarninglistIndex:
    """The compiled lists; ``hits(value)`` says which lists a value hits (semantics: module doc)."""

    def __init__(self, lists: Iterable[Warninglist]) -> None:
        self.lists: tuple[Warninglist, ...] = tuple(lists)
        self.problems: list[Problem] = []
        self._cidr = _CidrTable()
        self._hostnames: dict[str, list[tuple[int, str]]] = {}
        self._strings: dict[str, list[tuple[int, str]]] = {}
        self._substrings: list[tuple[int, tuple[tuple[str, str], ...]]] = []
        self._regexes: list[tuple[int, tuple[tuple[re.Pattern[str], str], ...]]] = []
        for list_no, wl in enumerate(self.lists):
            self._add(list_no, wl)
        self._cidr.freeze()

    def _skip(self, wl: Warninglist, i: int, reason: str) -> None:
        self.problems.append(Problem(wl.source, f"list[{i}]", f"{reason}; entry left out of {wl.name!r}"))

    def _add(self, list_no: int, wl: Warninglist) -> None:
        substrings: list[tuple[str, str]] = []
        regexes: list[tuple[re.Pattern[str], str]] = []
        for i, entry in enumerate(wl.entries):
            if wl.type == "cidr":
                network = _network(entry)
                if network is None:
                    self._skip(wl, i, f"{entry!r} is not an IP address or network")
                else:
                    self._cidr.add(network, list_no, entry)
            elif wl.type == "hostname":
                host = entry.strip().strip(".").lower()
                if host:
                    self._hostnames.setdefault(host, []).append((list_no, entry))
                else:
                    self._skip(wl, i, "empty hostname")
            elif wl.type == "string":
                self._strings.setdefault(entry.strip().casefold(), []).append((list_no, entry))
            elif wl.type == "substring":
                if entry.strip():
                    substrings.append((entry.strip().casefold(), entry))
                else:
                    self._skip(wl, i, "empty substring would match every value")
            else:
                try:
                    regexes.append((_compile_misp_regex(entry), entry))
                except (re.error, ValueError) as exc:
                    self._skip(wl, i, f"invalid regex {entry!r}: {exc}")
        if substrings:
            self._substrings.append((list_no, tuple(substrings)))
        if regexes:
            self._regexes.append((list_no, tuple(regexes)))

    def hits(self, value: str) -> list[Hit]:
        """The lists ``value`` hits, one ``Hit`` per list, in the order the lists were given."""
        found: dict[int, str] = {}
        candidates = [value]
        if "|" in value:
            candidates += [part for part in value.split("|") if part.strip()]
        for candidate in candidates:
            self._match(candidate, found)
        return [
            Hit(self.lists[list_no].name, self.lists[list_no].type, entry) for list_no, entry in sorted(found.items())
        ]

    def _match(self, value: str, found: dict[int, str]) -> None:
        def note(pairs: Iterable[tuple[int, str]]) -> None:
            for list_no, entry in pairs:
                found.setdefault(list_no, entry)

        host = _host_of(value)
        host_network = _network(host) if host else None
        network = _network(value) or host_network  # a network value, else a URL's IP host
        if network is not None:
            note(self._cidr.containing(network))
        labels = [] if host_network else [label for label in host.split(".") if label]
        for start in range(len(labels)):
            note(self._hostnames.get(".".join(labels[start:]), ()))
        folded = value.strip().casefold()
        note(self._strings.get(folded, ()))
        for list_no, substrings in self._substrings:
            if list_no not in found:
                first = next((entry for needle, entry in substrings if needle in folded), None)
                note([(list_no, first)] if first is not None else ())
        for list_no, patterns in self._regexes:
            if list_no not in found:
                first = next((entry for pattern, entry in patterns if pattern.search(value)), None)
                note([(list_no, first)] if first is not None else ())
