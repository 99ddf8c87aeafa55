"""A whole indicator set compiled into look-up indexes, so that a log value finds its indicators at once.

``compile_indicators(objects, window=...)`` reads STIX indicators (anything else in ``objects`` is ignored),
skips and counts those that cannot take part in the hunt, and indexes the rest by the comparisons every match
of their pattern must satisfy (``Pattern.required()``, see ``ribat.hunt.patterns``):

* ``=`` and ``IN`` on any object path: a hash map from value to indicators. Hash literals are lower-cased
  when compiled (``fold_hashes``) and so are the records' hash values, so digests match in either case;
* ``ISSUBSET`` on addresses: per prefix length, a hash map from the network's masked start to indicators, so
  that an address finds every network holding it with one look-up per prefix length in use;
* ``LIKE``: an Aho-Corasick automaton over each pattern's longest literal run; a value is a candidate for the
  patterns whose run it contains;
* ``MATCHES``: the compiled regular expressions of the path, tried in turn.

An indicator none of whose observations can be indexed (only ``!=``, ``<``, ``NOT`` and the like) is
*residual*: it is checked against every record that holds an object of the types its observations need.

The indexes are a candidate filter and are never the answer: they may let a record through that does not match
(a case-folded hash, a ``LIKE`` run found in the wrong place), never the reverse. Candidates are then checked
exactly by ``ribat.hunt.evaluate``.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from typing import Any

import ahocorasick
import numpy as np
import pyarrow as pa

from ribat.clock import parse_timestamp_us
from ribat.errors import RibatError
from ribat.hunt._ipv4 import ipv4_numbers
from ribat.hunt.evaluate import Matcher, parse_ip_network
from ribat.hunt.patterns import (
    BoolExpr,
    Comparison,
    CompOp,
    Expr,
    Node,
    ObjectPath,
    Observation,
    ObsOp,
    Pattern,
    ValueKind,
    parse_pattern,
)

__all__ = [
    "CompiledIndicator",
    "CompiledSet",
    "PathIndex",
    "Window",
    "canonical_path",
    "compile_indicators",
    "fold_hashes",
    "fold_record_hashes",
]


@dataclass(frozen=True)
class Window:
    """The time the hunt covers, in µs since the epoch; ``None`` is open. Indicators whose validity does not
    overlap it are skipped."""

    since_us: int | None = None
    until_us: int | None = None


@dataclass(frozen=True)
class CompiledIndicator:
    """One indicator ready to match: its pattern, compiled, and when it is valid (``None``: no bound)."""

    number: int
    id: str
    name: str
    created_by_ref: str | None
    pattern: Pattern
    valid_from_us: int | None
    valid_until_us: int | None

    @cached_property
    def matcher(self) -> Matcher:
        """The exact matcher, built on first use: most indicators of a large set never meet a candidate."""
        return Matcher(self.pattern)

    @property
    def single(self) -> bool:
        """One observation expression, no qualifier: each matching record is a match on its own."""
        return self.pattern.is_single_observation

    def valid_at(self, us: int) -> bool:
        return (self.valid_from_us is None or self.valid_from_us <= us) and (
            self.valid_until_us is None or us < self.valid_until_us
        )


def canonical_path(text: str) -> str:
    """An object path as ``ObjectPath.__str__`` writes it (``file:hashes.'SHA-256'``), whatever its quoting."""
    return str(_path_of(text))


def _path_of(text: str) -> ObjectPath:
    return parse_pattern(f"[{text} = 'x']").comparisons()[0].path


def _is_hash_path(path: ObjectPath) -> bool:
    return any(step == "hashes" for step in path.steps)


def _fold(value: str) -> str:
    return value.casefold()


def fold_hashes(pattern: Pattern) -> Pattern:
    """``pattern`` with the string literals it compares with ``hashes`` values lower-cased.

    Hex digests are compared without regard to case: a log that writes ``D41D8CD9…`` and an indicator that
    writes ``d41d8cd9…`` name the same file. The hunt lower-cases both sides (records through
    ``fold_record_hashes``) and then matches exactly.
    """
    # A path step is written out in the text (bare or quoted, never escaped): no "hashes" there, nothing to fold.
    if "hashes" not in pattern.text or not any(_is_hash_path(c.path) for c in pattern.comparisons()):
        return pattern
    return Pattern(pattern.text, _fold_node(pattern.root))


def _fold_node(node: Node) -> Node:
    if isinstance(node, Observation):
        return Observation(_fold_expr(node.expr))
    if isinstance(node, ObsOp):
        return ObsOp(node.op, tuple(_fold_node(c) for c in node.children))
    return replace(node, child=_fold_node(node.child))


def _fold_expr(expr: Expr) -> Expr:
    if isinstance(expr, BoolExpr):
        return BoolExpr(expr.op, tuple(_fold_expr(c) for c in expr.children))
    if not _is_hash_path(expr.path) or expr.kind is not ValueKind.STRING:
        return expr
    value = expr.value
    if isinstance(value, str):
        return replace(expr, value=value.lower())
    if isinstance(value, frozenset):
        return replace(expr, value=frozenset(v.lower() if isinstance(v, str) else v for v in value))
    return expr


def fold_record_hashes(record: dict[str, Any]) -> dict[str, Any]:
    """Lower-case, in place, the string values under every object's ``hashes``; returns ``record``."""
    objects = record.get("objects")
    if isinstance(objects, dict):
        for obj in objects.values():
            hashes = obj.get("hashes") if isinstance(obj, dict) else None
            if isinstance(hashes, dict):
                for key, value in hashes.items():
                    if isinstance(value, str):
                        hashes[key] = value.lower()
    return record


def _nfc(value: str) -> str:
    return value if value.isascii() else unicodedata.normalize("NFC", value)


_LIKE_SPLIT = re.compile(r"[%_]")


@dataclass
class PathIndex:
    """Every index of one object path. ``lookup(value)`` gives the numbers of the candidate indicators."""

    path: str
    folded: bool
    equals: dict[Any, set[int]] = field(default_factory=dict)
    networks: dict[tuple[int, int], dict[int, set[int]]] = field(default_factory=dict)  # (bits, prefix) → start
    like_runs: dict[str, set[int]] = field(default_factory=dict)
    like_any: set[int] = field(default_factory=set)  # LIKE patterns without a literal run: any string
    regexes: list[tuple[re.Pattern[str], int]] = field(default_factory=list)
    _automaton: Any = None
    _literals: dict[type, pa.Array] | None = field(default=None, repr=False, compare=False)
    _spans: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False, compare=False)
    _quads: tuple[np.ndarray, pa.Array | None] | None = field(default=None, repr=False, compare=False)

    def prepare(self) -> None:
        """Build the forms a hunt looks the index up in (its literals as Arrow arrays, its IPv4 spans, its
        ``LIKE`` automaton) now, as part of compiling, rather than on the first batch."""
        self.literals()
        self.quad_literals()
        self.v4_spans()
        self._runs()

    def literals(self) -> dict[type, pa.Array]:
        """The equality literals grouped by Arrow type (``str``, ``float``), for ``is_in`` on a column of that
        type."""
        if self._literals is None:
            strings = [k for k in self.equals if isinstance(k, str)]
            numbers = [float(k) for k in self.equals if isinstance(k, int | float) and not isinstance(k, bool)]
            self._literals = {}
            if strings:
                self._literals[str] = pa.array(strings, pa.string())
            if numbers:
                self._literals[float] = pa.array(numbers, pa.float64())
        return self._literals

    def quad_literals(self) -> tuple[np.ndarray, pa.Array | None]:
        """The text equality literals in two parts: the dotted-quad IPv4 addresses as sorted integers
        (``ribat.hunt._ipv4``), and the other literals as an Arrow array (None when there are none). A value that
        is a dotted quad can only equal a literal of the first part, any other value only one of the second.
        A case-folded index has no first part."""
        if self._quads is None:
            strings = self.literals().get(str)
            if strings is None or self.folded:
                self._quads = (np.empty(0, dtype=np.uint64), strings)
            else:
                rows, numbers = ipv4_numbers(strings)
                others = np.ones(len(strings), dtype=bool)
                others[rows] = False
                rest = strings.filter(pa.array(others)) if others.any() else None
                self._quads = (np.unique(numbers), rest)
        return self._quads

    def v4_spans(self) -> tuple[np.ndarray, np.ndarray]:
        """The IPv4 networks merged into disjoint ``[low, high)`` spans, sorted: one ``searchsorted`` tells
        whether an address lies in any of them, whatever the prefix lengths."""
        if self._spans is None:
            spans = sorted(
                (start << (32 - prefix), (start + 1) << (32 - prefix))
                for (bits, prefix), starts in self.networks.items()
                if bits == 32
                for start in starts
            )
            lows: list[int] = []
            highs: list[int] = []
            for low, high in spans:
                if highs and low <= highs[-1]:
                    highs[-1] = max(highs[-1], high)
                else:
                    lows.append(low)
                    highs.append(high)
            self._spans = (np.array(lows, dtype=np.uint64), np.array(highs, dtype=np.uint64))
        return self._spans

    def add(self, comparison: Comparison, number: int) -> bool:
        """Index ``comparison`` for indicator ``number``; False when it cannot be indexed here."""
        op, value = comparison.op, comparison.value
        if op is CompOp.EQ or op is CompOp.IN:
            members = value if isinstance(value, frozenset) else (value,)
            for member in members:
                key = _fold(member) if self.folded and isinstance(member, str) else member
                if isinstance(key, bytes):
                    return False  # binary literals also equal strings; left to the exact check
                self.equals.setdefault(key, set()).add(number)
                self._literals = self._quads = None
            return True
        if op is CompOp.ISSUBSET and isinstance(value, str):
            network = parse_ip_network(value)
            if network is None:
                return False
            bits, start, prefix = network
            shift = bits - prefix
            self.networks.setdefault((bits, prefix), {}).setdefault(start >> shift, set()).add(number)
            self._spans = None
            return True
        if op is CompOp.LIKE and isinstance(value, str):
            runs = [run for run in _LIKE_SPLIT.split(_nfc(value)) if run]
            if not runs:
                self.like_any.add(number)
            else:
                self.like_runs.setdefault(max(runs, key=len), set()).add(number)
            self._automaton = None
            return True
        if op is CompOp.MATCHES and isinstance(value, str) and comparison.kind is ValueKind.STRING:
            try:
                self.regexes.append((re.compile(_nfc(value)), number))
            except re.error:
                return False
            return True
        return False

    def _runs(self) -> Any:
        if self._automaton is None and self.like_runs:
            automaton = ahocorasick.Automaton()
            for run in self.like_runs:
                automaton.add_word(run, run)
            automaton.make_automaton()
            self._automaton = automaton
        return self._automaton

    def lookup_text(self, value: str) -> set[int]:
        """The ``LIKE`` and ``MATCHES`` part of a look-up (equality and networks are looked up apart)."""
        found: set[int] = set()
        if self.like_runs or self.like_any:
            found |= self.like_any
            automaton = self._runs()
            if automaton is not None:
                for _, run in automaton.iter(_nfc(value)):
                    found |= self.like_runs[run]
        for regex, number in self.regexes:
            if number not in found and regex.search(_nfc(value)):
                found.add(number)
        return found

    def lookup_network(self, value: str) -> set[int]:
        """The networks part of a look-up: every indexed network holding ``value`` (an address or a network)."""
        found: set[int] = set()
        network = parse_ip_network(value)
        if network is not None:
            bits, start, prefix = network
            for (net_bits, net_prefix), starts in self.networks.items():
                if net_bits == bits and net_prefix <= prefix:
                    hit = starts.get(start >> (bits - net_prefix))
                    if hit:
                        found |= hit
        return found

    def lookup(self, value: Any) -> set[int]:
        found: set[int] = set()
        if isinstance(value, str):
            hit = self.equals.get(_fold(value) if self.folded else value)
        elif isinstance(value, int | float):
            hit = self.equals.get(value)
        else:
            return found
        if hit:
            found |= hit
        if not isinstance(value, str):
            return found
        if self.networks:
            network = parse_ip_network(value)
            if network is not None:
                bits, start, prefix = network
                for (net_bits, net_prefix), starts in self.networks.items():
                    if net_bits == bits and net_prefix <= prefix:
                        hit = starts.get(start >> (bits - net_prefix))
                        if hit:
                            found |= hit
        if self.like_runs or self.like_any:
            found |= self.like_any
            automaton = self._runs()
            if automaton is not None:
                for _, run in automaton.iter(_nfc(value)):
                    found |= self.like_runs[run]
        for regex, number in self.regexes:
            if number not in found and regex.search(_nfc(value)):
                found.add(number)
        return found


@dataclass
class CompiledSet:
    """The compiled indicators and their indexes.

    ``paths`` maps a canonical object path to its index; ``residual`` holds the numbers of the indicators that
    must be checked on every record holding an object of ``residual_types[number]``; ``skipped`` counts the
    indicators left out, by reason; ``problems`` names each one left out for a fault of its own.
    """

    indicators: list[CompiledIndicator] = field(default_factory=list)
    paths: dict[str, PathIndex] = field(default_factory=dict)
    residual: list[int] = field(default_factory=list)
    residual_types: dict[int, frozenset[str]] = field(default_factory=dict)
    skipped: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    temporal: dict[str, CompiledIndicator] = field(default_factory=dict)
    """The multi-observation indicators (observation operators, qualifiers) by id: those a hunt evaluates
    over their candidate records once the input is read."""

    def index_for(self, path: str) -> PathIndex | None:
        return self.paths.get(path)

    def candidates(self, path: str, value: Any) -> set[int]:
        """The indicators a record's ``value`` at ``path`` may match (before the exact check)."""
        index = self.paths.get(path)
        return index.lookup(value) if index is not None else set()

    def types(self) -> frozenset[str]:
        """Every object type some compiled indicator's pattern names."""
        return frozenset(c.path.type for ind in self.indicators for c in ind.pattern.comparisons())


_MAX_PROBLEMS = 1000


@lru_cache(maxsize=4096)
def _timestamp_us(text: str) -> int:
    """``parse_timestamp_us``, remembered: an indicator set repeats its ``valid_from`` texts (a feed stamps a
    whole batch alike)."""
    return parse_timestamp_us(text)


def _timestamp(obj: Mapping[str, Any], key: str) -> int | None:
    text = obj.get(key)
    return _timestamp_us(text) if isinstance(text, str) else None


def _modified(obj: Mapping[str, Any]) -> int:
    """When this version was made (``modified``, else ``created``); -1 when neither can be read."""
    for key in ("modified", "created"):
        text = obj.get(key)
        if isinstance(text, str):
            try:
                return _timestamp_us(text)
            except ValueError:
                return -1
    return -1


def compile_indicators(objects: Iterable[Mapping[str, Any]], *, window: Window = Window()) -> CompiledSet:
    """Compile every usable STIX indicator of ``objects``.

    Skipped, and counted in ``skipped`` under the reason: ``revoked``; ``expired`` (``valid_until`` at or before
    the window's start); ``not yet valid`` (``valid_from`` after the window's end); ``pattern_type <x>`` for a
    pattern that is not STIX (snort, yara, sigma, …); ``invalid`` for a pattern or timestamp that cannot be
    read (named in ``problems``); ``duplicate`` for each further copy of an indicator id (the newest version by
    ``modified`` is kept, so that a match is never counted twice). Objects that are not indicators are ignored.
    """
    out = CompiledSet()
    newest: dict[str, Mapping[str, Any]] = {}
    for obj in objects:
        if obj.get("type") != "indicator":
            continue
        key = str(obj.get("id", ""))
        kept = newest.get(key)
        if kept is None:
            newest[key] = obj
            continue
        out.skipped["duplicate"] += 1
        if _modified(obj) > _modified(kept):
            newest[key] = obj
    for obj in newest.values():
        ident = str(obj.get("id", ""))
        if obj.get("revoked") is True:
            out.skipped["revoked"] += 1
            continue
        kind = obj.get("pattern_type", "stix")
        if kind != "stix":
            out.skipped[f"pattern_type {kind}"] += 1
            continue
        try:
            valid_from = _timestamp(obj, "valid_from")
            valid_until = _timestamp(obj, "valid_until")
            text = obj.get("pattern")
            if not isinstance(text, str):
                raise RibatError("the indicator has no pattern")
            pattern = fold_hashes(parse_pattern(text))
        except (RibatError, ValueError) as exc:
            out.skipped["invalid"] += 1
            if len(out.problems) < _MAX_PROBLEMS:
                out.problems.append(f"{ident}: {getattr(exc, 'message', exc)}")
            continue
        if valid_until is not None and window.since_us is not None and valid_until <= window.since_us:
            out.skipped["expired"] += 1
            continue
        if valid_from is not None and window.until_us is not None and valid_from > window.until_us:
            out.skipped["not yet valid"] += 1
            continue
        number = len(out.indicators)
        name = obj.get("name")
        creator = obj.get("created_by_ref")
        out.indicators.append(
            CompiledIndicator(
                number=number,
                id=ident,
                name=name if isinstance(name, str) else "",
                created_by_ref=creator if isinstance(creator, str) else None,
                pattern=pattern,
                valid_from_us=valid_from,
                valid_until_us=valid_until,
            )
        )
        if not out.indicators[-1].single:
            out.temporal[ident] = out.indicators[-1]
        if not _index(out, pattern, number):
            out.residual.append(number)
            out.residual_types[number] = frozenset(t for obs in pattern.observations() for t in obs.types())
    for index in out.paths.values():
        index.prepare()
    return out


def _index(out: CompiledSet, pattern: Pattern, number: int) -> bool:
    """Index the pattern's required comparisons; False (nothing indexed) when some cannot be."""
    required = pattern.required()
    if required is None:
        return False
    staged: list[tuple[PathIndex, Comparison]] = []
    fresh: dict[str, PathIndex] = {}
    for comparison in required:
        key = str(comparison.path)
        index = out.paths.get(key) or fresh.get(key)
        if index is None:
            index = fresh[key] = PathIndex(key, folded=_is_hash_path(comparison.path))
        staged.append((index, comparison))
    # Index all or nothing: a pattern half indexed would lose the matches of its other half.
    if not all(_indexable_here(c) for _, c in staged):
        return False
    for index, comparison in staged:
        index.add(comparison, number)
        out.paths.setdefault(index.path, index)
    return True


def _indexable_here(comparison: Comparison) -> bool:
    """Whether ``PathIndex.add`` takes ``comparison`` (checked before anything is added)."""
    op, value = comparison.op, comparison.value
    if op is CompOp.EQ or op is CompOp.IN:
        members = value if isinstance(value, frozenset) else (value,)
        return not any(isinstance(m, bytes) for m in members)
    if op is CompOp.ISSUBSET:
        return isinstance(value, str) and parse_ip_network(value) is not None
    if op is CompOp.LIKE:
        return isinstance(value, str)
    if op is CompOp.MATCHES and isinstance(value, str) and comparison.kind is ValueKind.STRING:
        try:
            re.compile(_nfc(value))
        except re.error:
            return False
        return True
    return False
