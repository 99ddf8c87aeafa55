"""Exact evaluation of STIX 2.1 patterns against observed-data (STIX 2.1 §9, ``stix2-matcher``'s semantics).

Input records are observed-data dicts with embedded objects, the form log readers produce::

    {"type": "observed-data", "first_observed": T, "last_observed": T, "number_observed": 1,
     "objects": {"0": {"type": "ipv4-addr", "value": "198.51.100.7"}, "1": {...}}}

``*_ref``/``*_refs`` properties hold keys of ``objects``. STIX 2.1 bundles (an ``objects`` list with
``observed-data`` SDOs pointing at SCOs through ``object_refs``) are accepted too and grouped the way
``stix2-matcher`` groups them (``observed_data_from_bundles``).

* ``compile_observation(obs).matches(record)`` / ``observation_matches(obs, record)`` — one observation
  expression against one observed-data, no time involved. This is the hot path: it runs on the candidate
  records a vectorised prefilter lets through.
* ``Matcher(pattern).match(records)`` — the whole pattern, observation operators and qualifiers included;
  equal to ``stix2matcher.matcher.match(pattern, records, stix_version="2.1")``.
  ``Matcher.binding(records)`` says which records (indexes) a match used; ``Matcher.stream()`` evaluates
  records arriving in time order.

Comparison semantics, as ``stix2-matcher`` defines them
------------------------------------------------------
* An observation expression matches an observed-data when one of its objects satisfies the whole boolean
  expression: comparisons joined by ``AND`` must hold for the *same* object (the object they start from;
  paths through ``*_ref`` may reach others).
* A comparison holds for an object when the object has the path's type and *some* value the path selects
  passes the test. ``NOT`` and ``!=`` negate the test per value; an object without the property never
  passes, whatever the operator.
* Paths: ``.key`` steps into dicts, ``[n]`` into lists (``n >= 0``), ``[*]`` into every element.
  A ``*_ref`` value is replaced by the object it names, a ``*_refs`` list by the list of objects it
  names (references that do not resolve are dropped, so ``[n]`` after ``*_refs`` counts resolved ones).
  Values of ``*_hex`` and ``*_bin`` properties are decoded to bytes.
* Types must agree exactly: integers and floats compare with each other; strings with strings; binary
  with binary, and binary with strings whose characters are all below U+0100 (as Latin-1 bytes);
  booleans only with booleans (``true = 1`` is false). ``t'…'`` literals compare with strings holding
  STIX timestamps. Anything else makes ``=`` false and ``!=`` true, and order comparisons false.
  String comparisons are exact and case-sensitive — hash values included.
* ``IN`` is Python set membership (so ``1.0`` and ``true`` are found in ``(1, 2)``).
* ``LIKE``: ``%`` is any run of characters, ``_`` any one character, the rest literal; the whole value
  must match. ``MATCHES`` is a Python ``re`` search. Both compare Unicode NFC forms, and apply to
  binary values too (``LIKE`` as UTF-8 text, ``MATCHES`` byte-wise when the regex is Latin-1).
* ``ISSUBSET``/``ISSUPERSET``: the value and the literal are IPv4 or IPv6 addresses or CIDR networks.
* Object types that are STIX domain objects (``indicator``, ``observed-data``, …) never match: patterns
  describe cyber-observable objects.

Deliberate differences (where the reference raises an error or contradicts the specification) are listed
in ``docs/hunt-semantics.md``: values an operator cannot read (a malformed IP or timestamp, a reference
that is not a string) behave like a type mismatch instead of raising; ``NOT EXISTS`` is honoured; ``LIKE``
treats newlines as ordinary characters; IPv6 and ``/0`` networks work in ``ISSUBSET``/``ISSUPERSET``.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeAlias

from ribat.errors import ValidationError
from ribat.hunt.patterns import (
    BoolExpr,
    BoolOp,
    Comparison,
    CompOp,
    Expr,
    Network,
    Observation,
    PathStep,
    Pattern,
    ValueKind,
    Wildcard,
    parse_ip_network,
    parse_pattern,
    parse_timestamp,
)
from ribat.hunt.temporal import BindingStream, Occurrence, plan

__all__ = [
    "CompiledObservation",
    "MatchStream",
    "Matcher",
    "compile_observation",
    "observation_matches",
    "observed_data_from_bundles",
    "parse_ip_network",
    "records_to_bundle",
]

# STIX 2.1 object types that are not cyber-observable objects; comparisons on them never hold.
SDO_TYPES = frozenset(
    [
        "attack-pattern",
        "bundle",
        "campaign",
        "course-of-action",
        "extension-definition",
        "grouping",
        "identity",
        "incident",
        "indicator",
        "infrastructure",
        "intrusion-set",
        "language-content",
        "location",
        "malware",
        "malware-analysis",
        "marking-definition",
        "note",
        "observed-data",
        "opinion",
        "relationship",
        "report",
        "threat-actor",
        "tool",
        "sighting",
        "vulnerability",
    ]
)

Check: TypeAlias = Callable[[dict[str, Any], Mapping[str, Any]], bool]
Pred: TypeAlias = Callable[[Any], bool]


# --- IP networks --------------------------------------------------------------------------------------


def _contains(container: Network, containee: Network) -> bool:
    bits, outer, prefix = container
    if bits != containee[0] or prefix > containee[2]:
        return False
    shift = bits - prefix
    return outer >> shift == containee[1] >> shift


# --- value tests ------------------------------------------------------------------------------------------


def _latin1(text: str) -> bytes | None:
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return None


def _timestamp_or_none(value: str) -> int | None:
    try:
        return parse_timestamp(value)
    except ValueError:
        return None


def _nfc(text: str) -> str:
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def _equality(value: Any, kind: ValueKind) -> Pred:
    if kind is ValueKind.STRING:
        text: str = value
        raw = _latin1(text)

        def eq_string(v: Any) -> bool:
            t = type(v)
            if t is str:
                return bool(v == text)
            return t is bytes and raw is not None and v == raw

        return eq_string
    if kind in (ValueKind.INT, ValueKind.FLOAT):
        number: int | float = value

        def eq_number(v: Any) -> bool:
            t = type(v)
            return (t is int or t is float) and bool(v == number)

        return eq_number
    if kind is ValueKind.BOOL:
        flag: bool = value
        return lambda v: type(v) is bool and v == flag
    if kind in (ValueKind.BINARY, ValueKind.HEX):
        blob: bytes = value

        def eq_bytes(v: Any) -> bool:
            t = type(v)
            if t is bytes:
                return bool(v == blob)
            return t is str and _latin1(v) == blob

        return eq_bytes
    stamp: int = value

    def eq_time(v: Any) -> bool:
        return type(v) is str and _timestamp_or_none(v) == stamp

    return eq_time


_ORDER: dict[CompOp, Callable[[Any, Any], bool]] = {
    CompOp.LT: lambda a, b: bool(a < b),
    CompOp.GT: lambda a, b: bool(a > b),
    CompOp.LE: lambda a, b: not a > b,  # as the reference: incomparable values (NaN) count as equal
    CompOp.GE: lambda a, b: not a < b,
}


def _ordering(op: CompOp, value: Any, kind: ValueKind, negated: bool) -> Pred:
    """``<``, ``<=``, ``>``, ``>=``: values of another type fail even under ``NOT`` (as in the reference);
    a string that cannot meet binary as Latin-1 counts as a comparison that came out false."""
    base = _ORDER[op]
    cmp: Callable[[Any, Any], bool] = (lambda a, b: not base(a, b)) if negated else base
    if kind in (ValueKind.INT, ValueKind.FLOAT):

        def order_number(v: Any) -> bool:
            t = type(v)
            return (t is int or t is float) and cmp(v, value)

        return order_number
    if kind is ValueKind.STRING:
        raw = _latin1(value)

        def order_string(v: Any) -> bool:
            t = type(v)
            if t is str:
                return cmp(v, value)
            if t is bytes:
                return cmp(v, raw) if raw is not None else negated
            return False

        return order_string
    if kind in (ValueKind.BINARY, ValueKind.HEX):

        def order_bytes(v: Any) -> bool:
            t = type(v)
            if t is bytes:
                return cmp(v, value)
            if t is str:
                raw_v = _latin1(v)
                return cmp(raw_v, value) if raw_v is not None else negated
            return False

        return order_bytes
    if kind is ValueKind.TIMESTAMP:

        def order_time(v: Any) -> bool:
            if type(v) is not str:
                return False
            stamp = _timestamp_or_none(v)
            return stamp is not None and cmp(stamp, value)

        return order_time
    return lambda v: False  # pragma: no cover - booleans are not orderable in the grammar


def _membership(members: frozenset[Any], kind: ValueKind) -> Pred:
    if kind is ValueKind.TIMESTAMP:

        def in_times(v: Any) -> bool:
            return type(v) is str and _timestamp_or_none(v) in members

        return in_times

    def in_set(v: Any) -> bool:
        try:
            return v in members
        except TypeError:  # lists and dicts are in no set
            return False

    return in_set


def like_regex(pattern: str) -> re.Pattern[str]:
    """The regex a ``LIKE`` operand stands for: ``%`` any run, ``_`` any one character, whole value."""
    parts = [".*" if c == "%" else "." if c == "_" else re.escape(c) for c in unicodedata.normalize("NFC", pattern)]
    return re.compile("".join(parts), re.DOTALL)


def _like(pattern: str) -> Pred:
    regex = like_regex(pattern)
    full = regex.fullmatch
    decodable = all(ord(c) < 256 for c in unicodedata.normalize("NFC", pattern))

    def like(v: Any) -> bool:
        t = type(v)
        if t is bytes:
            if not decodable:
                return False
            try:
                v = v.decode("utf-8")
            except UnicodeDecodeError:
                return False
        elif t is not str:
            return False
        return full(_nfc(v)) is not None

    return like


def _matches(regex_text: str) -> Pred:
    normal = unicodedata.normalize("NFC", regex_text)
    search = re.compile(normal).search
    raw = _latin1(normal)
    search_bytes = re.compile(raw).search if raw is not None else None

    def matches(v: Any) -> bool:
        t = type(v)
        if t is str:
            return search(_nfc(v)) is not None
        if t is bytes:
            return search_bytes is not None and search_bytes(v) is not None
        return False

    return matches


def _cidr(op: CompOp, literal: str) -> Pred:
    network = parse_ip_network(literal)
    if network is None:  # pragma: no cover - parse_pattern rejects these
        return lambda v: False
    fixed: Network = network
    if op is CompOp.ISSUBSET:

        def subset(v: Any) -> bool:
            if type(v) is not str:
                return False
            mine = parse_ip_network(v)
            return mine is not None and _contains(fixed, mine)

        return subset

    def superset(v: Any) -> bool:
        if type(v) is not str:
            return False
        mine = parse_ip_network(v)
        return mine is not None and _contains(mine, fixed)

    return superset


def _predicate(c: Comparison) -> Pred:
    op = c.op
    flip = c.negated
    if op in (CompOp.EQ, CompOp.NE):
        base = _equality(c.value, c.kind)
        flip ^= op is CompOp.NE
    elif op in _ORDER:
        return _ordering(op, c.value, c.kind, c.negated)
    elif op is CompOp.IN:
        assert isinstance(c.value, frozenset)
        base = _membership(c.value, c.kind)
    elif op is CompOp.LIKE:
        assert isinstance(c.value, str)
        base = _like(c.value)
    elif op is CompOp.MATCHES:
        assert isinstance(c.value, str)
        base = _matches(c.value)
    else:
        assert isinstance(c.value, str)
        base = _cidr(op, c.value)
    if flip:
        return lambda v: not base(v)
    return base


# --- object paths -----------------------------------------------------------------------------------------

Values: TypeAlias = list[Any]
Step: TypeAlias = Callable[[Values, Mapping[str, Any]], Values]


def _key_step(key: str) -> Step:
    decode: Callable[[Any], bytes] | None = None
    if key.endswith("_hex"):
        decode = binascii.a2b_hex
    elif key.endswith("_bin"):
        decode = base64.standard_b64decode
    ref = 1 if key.endswith("_ref") else 2 if key.endswith("_refs") else 0

    def step(values: Values, objects: Mapping[str, Any]) -> Values:
        out: Values = []
        for v in values:
            if not isinstance(v, dict) or key not in v:
                continue
            x = v[key]
            if decode is not None:
                try:
                    x = decode(x)
                except (ValueError, TypeError):  # not hex / base64: nothing to select
                    continue
            if ref == 1:
                if not isinstance(x, str) or x not in objects:
                    continue
                x = objects[x]
            elif ref == 2:
                if not isinstance(x, list):
                    continue
                x = [objects[r] for r in x if isinstance(r, str) and r in objects]
                if not x:
                    continue
            out.append(x)
        return out

    return step


def _index_step(index: int) -> Step:
    def step(values: Values, objects: Mapping[str, Any]) -> Values:
        return [v[index] for v in values if isinstance(v, list) and 0 <= index < len(v)]

    return step


def _star_step(values: Values, objects: Mapping[str, Any]) -> Values:
    out: Values = []
    for v in values:
        if isinstance(v, list):
            out.extend(v)
    return out


def _plain(key: PathStep) -> bool:
    return isinstance(key, str) and not key.endswith(("_hex", "_bin", "_ref", "_refs"))


def _selector(steps: tuple[PathStep, ...]) -> Callable[[dict[str, Any], Mapping[str, Any]], Values]:
    compiled: list[Step] = []
    for s in steps:
        if isinstance(s, Wildcard):
            compiled.append(_star_step)
        elif isinstance(s, int):
            compiled.append(_index_step(s))
        else:
            compiled.append(_key_step(s))

    def select(obj: dict[str, Any], objects: Mapping[str, Any]) -> Values:
        values: Values = [obj]
        for step in compiled:
            values = step(values, objects)
            if not values:
                break
        return values

    return select


def _comparison_check(c: Comparison) -> Check:
    steps = c.path.steps
    if c.op is CompOp.EXISTS:
        negated = c.negated
        if len(steps) == 1 and _plain(steps[0]):
            key = steps[0]
            return lambda obj, objects: (key in obj) != negated
        select = _selector(steps)
        return lambda obj, objects: bool(select(obj, objects)) != negated
    pred = _predicate(c)
    if len(steps) == 1 and _plain(steps[0]):
        key = steps[0]

        def check_key(obj: dict[str, Any], objects: Mapping[str, Any]) -> bool:
            return key in obj and pred(obj[key])

        return check_key
    if len(steps) == 2 and _plain(steps[0]) and _plain(steps[1]):
        outer, inner = steps

        def check_two(obj: dict[str, Any], objects: Mapping[str, Any]) -> bool:
            if outer not in obj:
                return False
            sub = obj[outer]
            return isinstance(sub, dict) and inner in sub and pred(sub[inner])

        return check_two
    select = _selector(steps)

    def check_path(obj: dict[str, Any], objects: Mapping[str, Any]) -> bool:
        return any(pred(v) for v in select(obj, objects))

    return check_path


def _all(checks: list[Check]) -> Check:
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        a, b = checks
        return lambda obj, objects: a(obj, objects) and b(obj, objects)

    def every(obj: dict[str, Any], objects: Mapping[str, Any]) -> bool:
        return all(check(obj, objects) for check in checks)

    return every


def _any(checks: list[Check]) -> Check:
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        a, b = checks
        return lambda obj, objects: a(obj, objects) or b(obj, objects)

    def some(obj: dict[str, Any], objects: Mapping[str, Any]) -> bool:
        return any(check(obj, objects) for check in checks)

    return some


def _for_type(expr: Expr, type_: str, cache: dict[int, Check]) -> Check | None:
    """The check of ``expr`` for objects of type ``type_``; ``None`` when it can never hold for them."""
    if isinstance(expr, Comparison):
        if expr.path.type != type_:
            return None
        check = cache.get(id(expr))
        if check is None:
            check = cache[id(expr)] = _comparison_check(expr)
        return check
    assert isinstance(expr, BoolExpr)
    parts = [_for_type(child, type_, cache) for child in expr.children]
    if expr.op is BoolOp.AND:
        if any(p is None for p in parts):
            return None
        return _all([p for p in parts if p is not None])
    kept = [p for p in parts if p is not None]
    return _any(kept) if kept else None


class CompiledObservation:
    """One observation expression compiled for repeated use: ``matches(record)`` is the fast path."""

    __slots__ = ("_by_type", "observation")

    def __init__(self, observation: Observation) -> None:
        self.observation = observation
        cache: dict[int, Check] = {}
        types = {c.path.type for c in observation.comparisons()} - SDO_TYPES
        by_type = {t: _for_type(observation.expr, t, cache) for t in sorted(types)}
        self._by_type: dict[str, Check] = {t: f for t, f in by_type.items() if f is not None}

    def matches(self, observed_data: Mapping[str, Any]) -> bool:
        """Whether one of the record's objects satisfies the observation expression (no time involved)."""
        objects = observed_data.get("objects")
        if not isinstance(objects, dict):
            return False
        by_type = self._by_type
        for obj in objects.values():
            if isinstance(obj, dict):
                kind = obj.get("type")
                if type(kind) is str:
                    check = by_type.get(kind)
                    if check is not None and check(obj, objects):
                        return True
        return False

    def matching_objects(self, observed_data: Mapping[str, Any]) -> list[str]:
        """The keys of the record's objects that satisfy the observation expression."""
        objects = observed_data.get("objects")
        if not isinstance(objects, dict):
            return []
        found = []
        for key, obj in objects.items():
            if isinstance(obj, dict) and type(kind := obj.get("type")) is str:
                check = self._by_type.get(kind)
                if check is not None and check(obj, objects):
                    found.append(key)
        return found


_COMPILED: dict[int, tuple[Observation, CompiledObservation]] = {}


def compile_observation(observation: Observation) -> CompiledObservation:
    """Compile an observation expression (cached per object)."""
    hit = _COMPILED.get(id(observation))
    if hit is not None and hit[0] is observation:
        return hit[1]
    compiled = CompiledObservation(observation)
    if len(_COMPILED) > 65536:
        _COMPILED.clear()
    _COMPILED[id(observation)] = (observation, compiled)
    return compiled


def observation_matches(observation: Observation, observed_data: Mapping[str, Any]) -> bool:
    """Whether one observed-data satisfies one observation expression (time and counts play no part)."""
    return compile_observation(observation).matches(observed_data)


# --- records ----------------------------------------------------------------------------------------------


def observed_data_from_bundles(bundles: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """STIX 2.1 bundles → records with embedded objects, grouped as ``stix2-matcher`` groups them.

    Every ``observed-data`` (in order, across all bundles) becomes one record; its ``objects`` are the
    objects its ``object_refs`` name, found among all non-``observed-data`` objects of all bundles (a later
    object with the same id wins), plus the observed-data itself, keyed by id.
    """
    observed: list[Mapping[str, Any]] = []
    others: dict[str, Any] = {}
    for bundle in bundles:
        for obj in bundle.get("objects") or ():
            if not isinstance(obj, Mapping):
                continue
            if obj.get("type") == "observed-data":
                observed.append(obj)
            elif isinstance(obj.get("id"), str):
                others[obj["id"]] = obj
    records: list[dict[str, Any]] = []
    for od in observed:
        refs = od.get("object_refs")
        if not isinstance(refs, list):
            raise ValidationError("object_refs", f"observed-data {od.get('id')} has no object_refs list")
        objects: dict[str, Any] = {}
        if isinstance(od.get("id"), str):
            objects[od["id"]] = od
        for ref in refs:
            if isinstance(ref, str) and ref in others:
                objects[ref] = others[ref]
        record = {k: od[k] for k in ("id", "first_observed", "last_observed", "number_observed") if k in od}
        record["type"] = "observed-data"
        record["objects"] = objects
        records.append(record)
    return records


def records_to_bundle(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Records with embedded objects → one STIX 2.1 bundle: an ``observed-data`` per record with ``object_refs``,
    and its objects with ids, every ``*_ref``/``*_refs`` rewritten to them (the inverse of
    :func:`observed_data_from_bundles`). Ids are UUIDv5 of the record's position and key, so the same records
    give the same bundle."""
    objects: list[dict[str, Any]] = []
    for i, record in enumerate(records):
        embedded = record["objects"]
        ids = {key: f"{obj['type']}--{uuid.uuid5(uuid.NAMESPACE_OID, f'{i}.{key}')}" for key, obj in embedded.items()}
        objects.append(
            {
                "type": "observed-data",
                "spec_version": "2.1",
                "id": f"observed-data--{uuid.uuid5(uuid.NAMESPACE_OID, str(i))}",
                "first_observed": record["first_observed"],
                "last_observed": record["last_observed"],
                "number_observed": record["number_observed"],
                "object_refs": list(ids.values()),
            }
        )
        objects.extend({**_with_ids(obj, ids), "id": ids[key]} for key, obj in embedded.items())
    return {"type": "bundle", "id": f"bundle--{uuid.uuid5(uuid.NAMESPACE_OID, str(len(records)))}", "objects": objects}


def _with_ids(value: Any, ids: Mapping[str, str]) -> Any:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key.endswith("_ref") and isinstance(item, str):
                out[key] = ids.get(item, item)
            elif key.endswith("_refs") and isinstance(item, list):
                out[key] = [ids.get(r, r) if isinstance(r, str) else r for r in item]
            else:
                out[key] = _with_ids(item, ids)
        return out
    if isinstance(value, list):
        return [_with_ids(v, ids) for v in value]
    return value


def _as_records(observed: Sequence[Mapping[str, Any]]) -> Sequence[Mapping[str, Any]]:
    if isinstance(observed, Mapping):
        raise ValidationError("observed", "give a list of observed-data, not one")
    bundles = sum(1 for r in observed if isinstance(r.get("objects"), list))
    if not bundles:
        return observed
    if bundles != len(observed):
        raise ValidationError("observed", "mixes STIX 2.1 bundles with observed-data that embed their objects")
    return observed_data_from_bundles(observed)


def occurrence(record: Mapping[str, Any]) -> Occurrence:
    """A record's place in time; ``ValidationError`` if its timestamps or count are unusable."""
    try:
        first = parse_timestamp(record["first_observed"])
        last = parse_timestamp(record["last_observed"])
    except KeyError as exc:
        raise ValidationError(str(exc.args[0]), "observed-data needs first_observed and last_observed") from exc
    except (ValueError, TypeError) as exc:
        raise ValidationError("first_observed", f"not a STIX timestamp: {exc}") from exc
    count = record.get("number_observed")
    if type(count) is not int or count < 1:
        raise ValidationError("number_observed", f"must be an integer of at least 1, not {count!r}")
    if first > last:
        raise ValidationError("last_observed", "last_observed is before first_observed")
    return Occurrence(first, last, count)


class _Occurrences(dict[int, Occurrence]):
    """Parses a record's timestamps only when the temporal logic asks for them."""

    def __init__(self, records: Sequence[Mapping[str, Any]]) -> None:
        super().__init__()
        self.records = records

    def __missing__(self, index: int) -> Occurrence:
        found = self[index] = occurrence(self.records[index])
        return found


class Matcher:
    """A whole pattern, compiled once: ``match``, ``binding``, ``bindings``, ``hits`` and ``stream``."""

    __slots__ = ("_leaf_slot", "_plan", "_single", "_unique", "pattern")

    def __init__(self, pattern: Pattern | str) -> None:
        self.pattern = parse_pattern(pattern) if isinstance(pattern, str) else pattern
        unique: dict[Observation, int] = {}
        slots: list[int] = []
        for obs in self.pattern.observations():
            slots.append(unique.setdefault(obs, len(unique)))
        self._unique = tuple(CompiledObservation(obs) for obs in unique)
        self._leaf_slot = tuple(slots)
        self._plan = plan(self.pattern.root)
        self._single = self.pattern.is_single_observation

    def hits(self, observed: Sequence[Mapping[str, Any]]) -> tuple[tuple[int, ...], ...]:
        """For each observation expression (text order), the indexes of the records it matches."""
        return self._hits(_as_records(observed))

    def _hits(self, records: Sequence[Mapping[str, Any]]) -> tuple[tuple[int, ...], ...]:
        per_unique = [tuple(i for i, r in enumerate(records) if c.matches(r)) for c in self._unique]
        return tuple(per_unique[slot] for slot in self._leaf_slot)

    def match(self, observed: Sequence[Mapping[str, Any]]) -> bool:
        """Whether the pattern matches the records (``stix2-matcher``'s answer)."""
        records = _as_records(observed)
        if self._single:
            matches = self._unique[0].matches
            return any(matches(r) for r in records)
        hits = self._hits(records)
        if not any(hits):
            return False
        return self._plan.exists(hits, _Occurrences(records))

    def binding(self, observed: Sequence[Mapping[str, Any]]) -> tuple[int, ...] | None:
        """The indexes of the records one match uses (the earliest completed), or ``None``."""
        records = _as_records(observed)
        hits = self._hits(records)
        if not any(hits):
            return None
        return self._plan.binding(hits, _Occurrences(records))

    def bindings(self, observed: Sequence[Mapping[str, Any]]) -> list[tuple[tuple[int, int], ...]]:
        """Every minimal match as ``((record index, observations used), …)``; enumerates, so can be costly."""
        records = _as_records(observed)
        hits = self._hits(records)
        if not any(hits):
            return []
        return self._plan.bindings(hits, _Occurrences(records))

    def stream(self, *, max_buffer: int = 100_000) -> MatchStream:
        """A streaming evaluator for records arriving in ``first_observed`` order."""
        return MatchStream(self, max_buffer=max_buffer)


class MatchStream:
    """Feed records in time order with ``push``; each call returns the arrival numbers of a match it completes.

    See ``ribat.hunt.temporal`` for the memory bound and its one inexactness (``dropped``).
    """

    __slots__ = ("_matcher", "_stream")

    def __init__(self, matcher: Matcher, *, max_buffer: int = 100_000) -> None:
        self._matcher = matcher
        self._stream = BindingStream(matcher._plan, max_buffer=max_buffer)

    @property
    def dropped(self) -> int:
        return self._stream.dropped

    def __len__(self) -> int:
        return len(self._stream)

    def push(self, observed_data: Mapping[str, Any]) -> tuple[int, ...] | None:
        m = self._matcher
        matched = [c.matches(observed_data) for c in m._unique]
        hits = [pos for pos, slot in enumerate(m._leaf_slot) if matched[slot]]
        return self._stream.push(hits, occurrence(observed_data))
