"""Ingest-side validation of one STIX 2.1 object, as strict as ``stix2`` and much faster.

:func:`validate_object` answers "may this object be stored?" for an object that is
already STIX 2.1 (run :func:`ribat.intel.upgrade.upgrade_to_21` on 2.0 content first).
It accepts what ``stix2.parse(obj, allow_custom=True)`` accepts and rejects what it
rejects for structural reasons, with the documented divergences below, and checks some
60,000 typical indicators/s in pure Python on a busy two-core development machine, 50
times ``stix2`` there (``python -m bench.bench_validation``).

How it is built: one table per type, mirroring the property tables of the STIX 2.1
specification (and ``stix2``'s classes for the same types), maps each property to a
small check; a type's schema adds its required properties and its co-constraints.
Nothing is converted or defaulted: the object is checked exactly as it will be stored
and served, which is why some of ``stix2``'s conversions become rejections here.
Patterns go through :func:`ribat.intel.patterns.pattern_error`.

Rules, by section of STIX 2.1 (OASIS Standard, errata 01 numbering):

- §2 data types: JSON types are exact for integers, booleans, numbers, lists and
  dictionaries; ``string`` properties take any value but null, as ``stix2`` (which
  stringifies them) does, because published content relies on it; lists (§2.12) and
  dictionaries (§2.3) must not be empty; integers fit
  in 54 bits (§2.10); timestamps are ``YYYY-MM-DDTHH:mm:ss[.s+]Z`` (§2.16) with at most
  six fractional digits, as in ``stix2``; identifiers are ``<type>--<UUID>`` with an
  RFC 4122 UUID in its canonical 8-4-4-4-12 form (§2.9); hashes (§2.7) are checked per
  algorithm; external references (§2.5) need a source_name and one of description,
  url or external_id, and hash keys from hash-algorithm-ov.
- §3.1 names: type names are ``[a-z][a-z0-9-]`` without ``--``, 3-250 characters;
  property names outside the specification (custom, §11.1, or from a top-level
  property extension, §7.3) are ``[a-z][a-z0-9_]``, 3-250 characters. Their values
  are not inspected, except that null is refused.
- §3.2 common properties: ``spec_version`` is ``"2.1"`` (required except on SCOs);
  ``id``, ``created`` and ``modified`` are required where the spec says so;
  ``modified >= created``; ``created_by_ref`` references an identity; ``confidence``
  is 0-100; ``lang`` is an RFC 5646 tag; ``object_marking_refs`` reference
  marking-definitions; ``granular_markings`` (§7.2.3) have exactly one of lang and
  marking_ref and selectors that select something in the object.
- §4-§7 per-type tables: required properties of every SDO, SRO, SCO, language-content,
  marking-definition (including the fixed TLP 1.0 definitions) and
  extension-definition; reference targets; enumerations; co-constraints such as
  ``valid_until > valid_from``; the twelve predefined SCO extensions (§3.10). Indicator
  patterns are validated when ``pattern_type`` is ``stix``, with the grammar named by
  ``pattern_version`` (absent or ``"2.1"``: 2.1; anything else: 2.0, as ``stix2``).
- §11.2 custom object types (e.g. ``x-mitre-tactic``) are accepted: their type name,
  id and common properties are checked, the rest is theirs.

Divergences from ``stix2`` 3.0 (each one is tested; see also
docs/decisions/0002-validation-fast-path.md):

Rejected here, accepted by ``stix2``:

1. Values that ``stix2`` coerces: ``"5"`` or ``5.0`` for an integer, ``"true"``/``1``
   for a boolean, a bare string for a list (``"object_marking_refs": "marking-..."``
   would be iterated character by character downstream), a JSON-encoded string for a
   dictionary, non-string hash values.  ``stix2`` serializes the coerced value; we
   store what was sent.
2. ``null`` as a property value (``stix2`` drops it; STIX has no null).
3. Empty lists and dictionaries in specification-defined properties (§2.3, §2.12).
4. Missing properties ``stix2`` fills with a default: ``id``, ``created``,
   ``modified``, ``spec_version`` (SDO/SRO/meta) and indicator ``valid_from``.
5. ``confidence`` outside 0-100 and ``modified`` earlier than ``created`` (§3.2).
6. Identifiers that ``uuid.UUID`` tolerates but §2.9 does not: braces, ``urn:uuid:``,
   missing or moved hyphens; references whose type part is not a type name.
7. Timestamps with single-digit or space-padded fields, non-ASCII digits, or year 0.
8. Integers outside 54 bits (§2.10); ``lang`` that is not an RFC 5646 tag.
9. Custom property names that break §3.1 (``x-foo``, ``xy``, ``Foo``); ``stix2`` only
   wants a lowercase first letter, and nothing at all next to a top-level property
   extension.
10. Hash and hex values with a trailing newline (``stix2``'s regexes end in ``$``), MD6
    values that only start with 32 hex digits.
11. Custom objects with a bad type name, id or common property (``stix2`` passes
    unknown types through unvalidated), and ``spec_version`` values other than 2.1
    (``stix2`` passes unknown versions through unvalidated).
12. An empty ``extensions`` dictionary (§2.3).

Accepted here, rejected by ``stix2``:

13. Granular-marking selectors into embedded objects (``external_references.[0].url``),
    selectors of properties whose value is false, 0 or "", and selectors of a repeated
    list item after its first occurrence: §7.2.3.1 allows them all; ``stix2``'s
    selector walk skips embedded objects, falsy values and duplicates, and runs on the
    object with defaults filled in.
14. A network-traffic ``end`` without ``is_active``: §6.12 only forbids ``end`` when
    ``is_active`` is true; ``stix2`` also demands an explicit ``is_active: false``.

Kept as ``stix2`` has it although the specification differs: at most six fractional
digits in timestamps; lenient base64 (OASIS' own examples carry ``"VBOR...== ..."``);
``definition_type: "tlp"`` only for the four fixed TLP 1.0 definitions.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from ribat.errors import StixValidationError
from ribat.intel.patterns import pattern_error

__all__ = ["SCO_TYPES", "SDO_TYPES", "SRO_TYPES", "is_type_name", "validate_object"]

Check = Callable[[Any], None]
Constraint = Callable[[dict[str, Any]], None]


class _Invalid(Exception):
    """One violation, with the path to it collected on the way out."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.steps: list[str] = []

    def within(self, step: str) -> _Invalid:
        self.steps.append(step)
        return self

    def reason(self, label: str) -> str:
        where = "".join(reversed(self.steps)) if self.steps else label
        return f"{where}: {self.message}"


def validate_object(obj: dict[str, Any]) -> None:
    """Raise :class:`~ribat.errors.StixValidationError` unless ``obj`` is a valid STIX 2.1 object.

    The reason names the property, e.g. ``"indicator: missing required property
    'pattern_type'"`` or ``"created: not a STIX timestamp: '2020-13-01'"``.
    """
    if type(obj) is not dict:
        raise StixValidationError(None, f"a STIX object must be a JSON object, not {_json_type(obj)}")
    object_id = obj.get("id")
    try:
        _validate(obj)
    except _Invalid as exc:
        obj_type = obj.get("type")
        label = obj_type if type(obj_type) is str and obj_type else "object"
        raise StixValidationError(object_id if type(object_id) is str else None, exc.reason(label)) from None


def is_type_name(name: str) -> bool:
    """True if ``name`` is a syntactically valid STIX 2.1 type name (§3.1)."""
    return 3 <= len(name) <= 250 and _TYPE_NAME.fullmatch(name) is not None


# --------------------------------------------------------------------------- basics

_JSON_TYPES: Final = {
    type(None): "null",
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    str: "a string",
    list: "a list",
    dict: "an object",
}


def _json_type(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _expected(what: str, value: Any) -> _Invalid:
    return _Invalid(f"must be {what}, not {_json_type(value)}")


def _noop(value: Any) -> None:
    """For properties checked elsewhere: ``type``, ``id`` and ``spec_version`` before the
    member loop, a marking definition's ``definition`` by its co-constraint."""


def _text(value: Any) -> None:
    """A ``string`` property (§2.15), as ``stix2`` takes it: any value but null and [].

    ``stix2`` stringifies whatever it is given, and published content relies on it (a
    Unit 42 playbook has ``"identity_class": ["unknown"]``), so a non-string is kept as
    sent. Properties whose value the hub interprets (identifiers, timestamps, patterns,
    enumerations, hashes, selectors, ``lang``) have stricter checks of their own.
    (:func:`_check_members` applies this rule inline; the function serves as its marker.)
    """
    if value == []:
        raise _empty_list()


def _filled_text(value: Any) -> None:
    """:func:`_text`, but not "", 0, false or {}: ``stix2`` drops such values of
    ``relationship_type`` and a statement marking's ``statement`` (its constructors take
    them as keyword arguments and test them for truth) and then reports them missing."""
    if not value:
        raise _Invalid(f"must not be empty, not {value!r}")


def _string(value: Any) -> None:
    if type(value) is not str:
        raise _expected("a string", value)


def _boolean(value: Any) -> None:
    if value is not True and value is not False:
        raise _expected("true or false", value)


_INT_LIMIT: Final = 2**53 - 1  # §2.10: a signed 54-bit value


def _integer(minimum: int = -_INT_LIMIT, maximum: int = _INT_LIMIT) -> Check:
    def check(value: Any) -> None:
        if type(value) is not int:
            raise _expected("an integer", value)
        if value < minimum or value > maximum:
            raise _Invalid(f"must be an integer from {minimum} to {maximum}, not {value}")

    return check


def _number(minimum: float = -math.inf, maximum: float = math.inf) -> Check:
    def check(value: Any) -> None:
        if type(value) is not float and type(value) is not int:
            raise _expected("a number", value)
        if not math.isfinite(value):
            raise _Invalid(f"must be a finite number, not {value}")
        if value < minimum or value > maximum:
            raise _Invalid(f"must be a number from {minimum:g} to {maximum:g}, not {value}")

    return check


def _enum(*allowed: str) -> Check:
    values = frozenset(allowed)

    def check(value: Any) -> None:
        if type(value) is not str:
            raise _expected("a string", value)
        if value not in values:
            raise _Invalid(f"{value!r} is not one of {', '.join(sorted(values))}")

    return check


_TIMESTAMP: Final = re.compile(
    r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?Z"
)
_DAYS: Final = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _timestamp(value: Any) -> None:
    """§2.16; at most six fractional digits and year 1-9999, as ``stix2`` can hold."""
    if type(value) is not str or _TIMESTAMP.fullmatch(value) is None:
        raise _Invalid(f"not a STIX timestamp: {value!r}")
    if value[8:10] > "28":
        year, month, day = int(value[:4]), int(value[5:7]), int(value[8:10])
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        if day > _DAYS[month] or (month == 2 and day == 29 and not leap):
            raise _Invalid(f"not a STIX timestamp: {value!r} (no such day)")
    if value.startswith("0000"):
        raise _Invalid(f"not a STIX timestamp: {value!r} (year 0)")


def _instant(timestamp: str) -> str:
    """A key that sorts validated timestamps by the instant they denote."""
    return timestamp[:19] + timestamp[20:-1].ljust(6, "0")


_UUID: Final = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}")
_TYPE_NAME: Final = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*-?")


def _identifier_error(value: str) -> _Invalid:
    return _Invalid(f"not a STIX identifier (<type>--<RFC 4122 UUID>): {value!r}")


def _ref(allowed: Iterable[str] | None = None, forbidden: Iterable[str] = ()) -> Check:
    """An identifier (§2.9) of one of ``allowed`` types, or of any type but ``forbidden``."""
    allow = frozenset(allowed) if allowed is not None else None
    forbid = frozenset(forbidden)
    wanted = " or ".join(sorted(allow)) if allow else ""

    def check(value: Any) -> None:
        if type(value) is not str:
            raise _expected("an identifier string", value)
        sep = value.find("--")
        if sep < 0 or _UUID.fullmatch(value, sep + 2) is None:
            raise _identifier_error(value)
        ref_type = value[:sep]
        if allow is not None:
            if ref_type not in allow:
                raise _Invalid(f"must reference {wanted}, not {ref_type}: {value!r}")
        elif not is_type_name(ref_type):
            raise _identifier_error(value)
        elif ref_type in forbid:
            raise _Invalid(f"must not reference a {ref_type}: {value!r}")

    return check


def _list(item: Check) -> Check:
    def check(value: Any) -> None:
        if type(value) is not list:
            raise _expected("a list", value)
        if not value:
            raise _empty_list()
        index = 0
        try:
            for index, member in enumerate(value):  # noqa: B007 - used by the handler
                item(member)
        except _Invalid as exc:
            raise exc.within(f"[{index}]") from None

    return check


def _list_of_strings(value: Any) -> None:
    """A list of ``string`` (§2.12); members are taken like :func:`_text` takes values."""
    if type(value) is not list:
        raise _expected("a list", value)
    if not value:
        raise _empty_list()
    for index, member in enumerate(value):
        if member is None:
            raise _null().within(f"[{index}]")
        if member == []:
            raise _empty_list().within(f"[{index}]")


_DICT_KEY: Final = re.compile(r"[a-zA-Z0-9_-]{1,250}")


def _dictionary(value: Any) -> None:
    """§2.3: keys of a-z A-Z 0-9 ``-`` ``_`` up to 250 characters; values are free but not null."""
    if type(value) is not dict:
        raise _expected("an object", value)
    if not value:
        raise _Invalid("must not be an empty dictionary (omit the property instead)")
    for key, member in value.items():
        if type(key) is not str or _DICT_KEY.fullmatch(key) is None:
            raise _Invalid(f"dictionary key {key!r} must be 1-250 of a-z, A-Z, 0-9, - and _")
        if member is None:
            raise _Invalid("null is not a valid value").within(f".{key}")


def _hex(value: Any) -> None:
    """§2.8: an even number (at least two) of hexadecimal digits."""
    if type(value) is not str:
        raise _expected("a string", value)
    if not value or len(value) % 2 or value.strip(_HEX_DIGITS):
        raise _Invalid(f"must be an even number of hexadecimal digits, not {value!r}")


_HEX_DIGITS: Final = "0123456789abcdefABCDEF"


def _binary(value: Any) -> None:
    """§2.1 base64, decoded as ``stix2`` decodes it: characters outside the alphabet are
    skipped (OASIS' own examples carry truncated payloads such as ``"VBOR...== ..."``)."""
    if type(value) is not str:
        raise _expected("a string", value)
    try:
        base64.b64decode(value)
    except (binascii.Error, ValueError):
        raise _Invalid("must be base64 (RFC 4648)") from None


# ------------------------------------------------------------------------------ hashes


@dataclass(frozen=True, slots=True)
class _Algorithm:
    name: str
    lengths: tuple[int, ...] = ()  # hex digits; empty for SSDEEP

    def accepts(self, value: str) -> bool:
        if not self.lengths:
            return 1 <= len(value) <= 128 and _SSDEEP.fullmatch(value) is not None
        return len(value) in self.lengths and not value.strip(_HEX_DIGITS)


_SSDEEP: Final = re.compile(r"[a-zA-Z0-9/+:.]+")
# The algorithms ``stix2`` recognises, keyed as it infers them (upper case, no hyphens),
# with the spec's name (§10.7 hash-algorithm-ov) where it has one.
_ALGORITHMS: Final = {
    "MD5": _Algorithm("MD5", (32,)),
    "MD6": _Algorithm("MD6", (32, 40, 56, 64, 96, 128)),
    "RIPEMD160": _Algorithm("RIPEMD-160", (40,)),
    "SHA1": _Algorithm("SHA-1", (40,)),
    "SHA224": _Algorithm("SHA-224", (56,)),
    "SHA256": _Algorithm("SHA-256", (64,)),
    "SHA384": _Algorithm("SHA-384", (96,)),
    "SHA512": _Algorithm("SHA-512", (128,)),
    "SHA3224": _Algorithm("SHA3-224", (56,)),
    "SHA3256": _Algorithm("SHA3-256", (64,)),
    "SHA3384": _Algorithm("SHA3-384", (96,)),
    "SHA3512": _Algorithm("SHA3-512", (128,)),
    "SSDEEP": _Algorithm("SSDEEP"),
    "WHIRLPOOL": _Algorithm("WHIRLPOOL", (128,)),
    "TLSH": _Algorithm("TLSH", (70,)),
}
_HASH_ALGORITHM_OV: Final = frozenset({"MD5", "SHA-1", "SHA-256", "SHA-512", "SHA3-256", "SHA3-512", "SSDEEP", "TLSH"})


def _hashes(*, vocabulary_only: bool) -> Check:
    """§2.7 hashes; ``vocabulary_only`` for external references (§2.5: keys from the OV)."""

    def check(value: Any) -> None:
        if type(value) is not dict:
            raise _expected("an object", value)
        if not value:
            raise _Invalid("must not be an empty dictionary (omit the property instead)")
        for key, digest in value.items():
            if type(key) is not str or _DICT_KEY.fullmatch(key) is None:
                raise _Invalid(f"{key!r} is not a hash algorithm name")
            if type(digest) is not str:
                raise _expected("a string", digest).within(f".{key}")
            algorithm = _ALGORITHMS.get(key.replace("-", "").upper())
            if algorithm is not None and not algorithm.accepts(digest):
                raise _Invalid(f"{digest!r} is not a valid {algorithm.name} hash").within(f".{key}")
            if vocabulary_only and (algorithm is None or algorithm.name not in _HASH_ALGORITHM_OV):
                raise _Invalid(f"{key!r} is not in hash-algorithm-ov").within(f".{key}")

    return check


# ----------------------------------------------------------------------------- schemas


@dataclass(frozen=True, slots=True)
class _Schema:
    """The properties of one object type or embedded type, and its co-constraints."""

    props: Mapping[str, Check]
    required: tuple[str, ...] = ()
    constraints: tuple[Constraint, ...] = ()
    required_set: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "required_set", frozenset(self.required))


_CUSTOM_NAME: Final = re.compile(r"[a-z][a-z0-9_]{2,249}")
_NAME_RULE: Final = "3-250 of a-z, 0-9 and _, starting with a letter"


def _check_members(schema: _Schema, obj: dict[str, Any], *, nested: bool = True) -> None:
    """Check each member of ``obj`` against ``schema``; paths get a "." unless top-level."""
    props = schema.props
    for key, value in obj.items():
        check = props.get(key)
        if check is None:
            if type(key) is not str or _CUSTOM_NAME.fullmatch(key) is None:
                raise _Invalid(f"{key!r} is not a valid property name ({_NAME_RULE})")
            if value is None:
                raise _null().within(f".{key}" if nested else key)
            continue
        if value is None:
            raise _null().within(f".{key}" if nested else key)
        if check is _noop:
            continue
        if check is _text:  # inline: the most common check, and a trivial one
            if value == []:
                raise _empty_list().within(f".{key}" if nested else key)
            continue
        try:
            check(value)
        except _Invalid as exc:
            raise exc.within(f".{key}" if nested else key) from None
    if not schema.required_set <= obj.keys():
        missing = next(name for name in schema.required if name not in obj)
        raise _Invalid(f"missing required property {missing!r}")
    for constraint in schema.constraints:
        constraint(obj)


def _empty_list() -> _Invalid:
    return _Invalid("must not be an empty list (omit the property instead)")


def _null() -> _Invalid:
    return _Invalid("null is not a valid value (omit the property instead)")


def _embedded(schema: _Schema) -> Check:
    def check(value: Any) -> None:
        if type(value) is not dict:
            raise _expected("an object", value)
        _check_members(schema, value)

    return check


# Co-constraints ------------------------------------------------------------------------


def _at_least_one(*names: str) -> Constraint:
    def check(obj: dict[str, Any]) -> None:
        if not any(name in obj for name in names):
            raise _Invalid(f"needs at least one of {', '.join(names)}")

    return check


def _exactly_one(first: str, second: str) -> Constraint:
    def check(obj: dict[str, Any]) -> None:
        if (first in obj) == (second in obj):
            raise _Invalid(f"needs exactly one of {first} and {second}")

    return check


def _requires(present: str, needed: str) -> Constraint:
    def check(obj: dict[str, Any]) -> None:
        if present in obj and needed not in obj:
            raise _Invalid(f"{present} requires {needed}")

    return check


def _not_before(earlier: str, later: str, *, strictly: bool = False) -> Constraint:
    def check(obj: dict[str, Any]) -> None:
        first, last = obj.get(earlier), obj.get(later)
        if first is None or last is None:
            return
        if len(first) == len(last):  # the same layout: the text sorts like the instant
            a, b = first, last
        else:
            a, b = _instant(first), _instant(last)
        if b < a or (strictly and b == a):
            relation = "later than" if strictly else "later than or equal to"
            raise _Invalid(f"{later} must be {relation} {earlier}")

    return check


_SELECTOR: Final = re.compile(r"[a-z0-9_-]{3,250}(?:\.(?:\[[0-9]+\]|[a-z0-9_-]{1,250}))*|id")


def _selectors_select(obj: dict[str, Any]) -> None:
    """§7.2.3: each granular-marking selector must select something in this object."""
    for index, marking in enumerate(obj.get("granular_markings", ())):
        for position, selector in enumerate(marking["selectors"]):
            if not _selects(obj, selector):
                raise _Invalid(
                    f"granular_markings[{index}].selectors[{position}]: {selector!r} does not select "
                    "anything in this object"
                )


def _selects(obj: dict[str, Any], selector: str) -> bool:
    current: Any = obj
    for step in selector.split("."):
        if step[0] == "[":
            position = int(step[1:-1])
            if type(current) is not list or position >= len(current):
                return False
            current = current[position]
        elif type(current) is dict and step in current:
            current = current[step]
        else:
            return False
    return True


def _selector(value: Any) -> None:
    if type(value) is not str or _SELECTOR.fullmatch(value) is None:
        raise _Invalid(f"not a selector (§7.2.3.1): {value!r}")


# Embedded types ---------------------------------------------------------------------

_EXTERNAL_REFERENCE: Final = _Schema(
    {
        "source_name": _text,
        "description": _text,
        "url": _text,
        "hashes": _hashes(vocabulary_only=True),
        "external_id": _text,
    },
    required=("source_name",),
    constraints=(_at_least_one("description", "external_id", "url"),),
)
_KILL_CHAIN_PHASE: Final = _Schema(
    {"kill_chain_name": _text, "phase_name": _text},
    required=("kill_chain_name", "phase_name"),
)
_GRANULAR_MARKING: Final = _Schema(
    {"lang": _text, "marking_ref": _ref({"marking-definition"}), "selectors": _list(_selector)},
    required=("selectors",),
    constraints=(_exactly_one("lang", "marking_ref"),),
)

_LANG: Final = re.compile(r"(?:[A-Za-z]{2,8}|[xXiI])(?:-[A-Za-z0-9]{1,8})*")


def _lang(value: Any) -> None:
    if type(value) is not str or _LANG.fullmatch(value) is None:
        raise _Invalid(f"not an RFC 5646 language tag: {value!r}")


# Extensions (§3.10 predefined SCO extensions, §7.3 extension definitions) -----------------


def _extension(
    props: Mapping[str, Check],
    *,
    required: tuple[str, ...] = (),
    constraints: tuple[Constraint, ...] = (),
) -> _Schema:
    """A predefined extension: its own properties, at least one of them present."""
    return _Schema(props, required, (*constraints, _at_least_one(*props)))


_SOCKET_OPTION_PREFIXES: Final = (
    "SO_",
    "ICMP_",
    "ICMP6_",
    "IP_",
    "IPV6_",
    "MCAST_",
    "TCP_",
    "IRLMP_",
)


def _socket_options(obj: dict[str, Any]) -> None:
    for key, value in obj.get("options", {}).items():
        if key[: key.find("_") + 1] not in _SOCKET_OPTION_PREFIXES:
            prefixes = ", ".join(_SOCKET_OPTION_PREFIXES)
            raise _Invalid(f"option {key!r} must start with one of {prefixes}").within(".options")
        if type(value) is not int:
            raise _expected("an integer", value).within(f".options.{key}")


_WINDOWS_PE_OPTIONAL_HEADER_PROPS: Final[dict[str, Check]] = {
    "magic_hex": _hex,
    "major_linker_version": _integer(),
    "minor_linker_version": _integer(),
    "size_of_code": _integer(0),
    "size_of_initialized_data": _integer(0),
    "size_of_uninitialized_data": _integer(0),
    "address_of_entry_point": _integer(),
    "base_of_code": _integer(),
    "base_of_data": _integer(),
    "image_base": _integer(),
    "section_alignment": _integer(),
    "file_alignment": _integer(),
    "major_os_version": _integer(),
    "minor_os_version": _integer(),
    "major_image_version": _integer(),
    "minor_image_version": _integer(),
    "major_subsystem_version": _integer(),
    "minor_subsystem_version": _integer(),
    "win32_version_value_hex": _hex,
    "size_of_image": _integer(0),
    "size_of_headers": _integer(0),
    "checksum_hex": _hex,
    "subsystem_hex": _hex,
    "dll_characteristics_hex": _hex,
    "size_of_stack_reserve": _integer(0),
    "size_of_stack_commit": _integer(0),
    "size_of_heap_reserve": _integer(0),
    "size_of_heap_commit": _integer(0),
    "loader_flags_hex": _hex,
    "number_of_rva_and_sizes": _integer(),
    "hashes": _hashes(vocabulary_only=False),
}
_WINDOWS_PE_OPTIONAL_HEADER: Final = _Schema(
    _WINDOWS_PE_OPTIONAL_HEADER_PROPS,
    constraints=(_at_least_one(*_WINDOWS_PE_OPTIONAL_HEADER_PROPS),),
)
_WINDOWS_PE_SECTION: Final = _Schema(
    {
        "name": _text,
        "size": _integer(0),
        "entropy": _number(),
        "hashes": _hashes(vocabulary_only=False),
    },
    required=("name",),
)
_ALTERNATE_DATA_STREAM: Final = _Schema(
    {"name": _text, "hashes": _hashes(vocabulary_only=False), "size": _integer()},
    required=("name",),
)

_PREDEFINED_EXTENSIONS: Final[dict[str, _Schema]] = {
    "archive-ext": _extension(
        {"contains_refs": _list(_ref({"file", "directory"})), "comment": _text},
        required=("contains_refs",),
    ),
    "ntfs-ext": _extension({"sid": _text, "alternate_data_streams": _list(_embedded(_ALTERNATE_DATA_STREAM))}),
    "pdf-ext": _extension(
        {
            "version": _text,
            "is_optimized": _boolean,
            "document_info_dict": _dictionary,
            "pdfid0": _text,
            "pdfid1": _text,
        }
    ),
    "raster-image-ext": _extension(
        {
            "image_height": _integer(),
            "image_width": _integer(),
            "bits_per_pixel": _integer(),
            "exif_tags": _dictionary,
        }
    ),
    "windows-pebinary-ext": _extension(
        {
            "pe_type": _text,
            "imphash": _text,
            "machine_hex": _hex,
            "number_of_sections": _integer(0),
            "time_date_stamp": _timestamp,
            "pointer_to_symbol_table_hex": _hex,
            "number_of_symbols": _integer(0),
            "size_of_optional_header": _integer(0),
            "characteristics_hex": _hex,
            "file_header_hashes": _hashes(vocabulary_only=False),
            "optional_header": _embedded(_WINDOWS_PE_OPTIONAL_HEADER),
            "sections": _list(_embedded(_WINDOWS_PE_SECTION)),
        },
        required=("pe_type",),
    ),
    "http-request-ext": _extension(
        {
            "request_method": _text,
            "request_value": _text,
            "request_version": _text,
            "request_header": _dictionary,
            "message_body_length": _integer(),
            "message_body_data_ref": _ref({"artifact"}),
        },
        required=("request_method", "request_value"),
    ),
    "icmp-ext": _extension(
        {"icmp_type_hex": _hex, "icmp_code_hex": _hex},
        required=("icmp_type_hex", "icmp_code_hex"),
    ),
    "socket-ext": _extension(
        {
            "address_family": _enum(
                "AF_UNSPEC",
                "AF_INET",
                "AF_IPX",
                "AF_APPLETALK",
                "AF_NETBIOS",
                "AF_INET6",
                "AF_IRDA",
                "AF_BTH",
            ),
            "is_blocking": _boolean,
            "is_listening": _boolean,
            "options": _dictionary,
            "socket_type": _enum("SOCK_STREAM", "SOCK_DGRAM", "SOCK_RAW", "SOCK_RDM", "SOCK_SEQPACKET"),
            "socket_descriptor": _integer(0),
            "socket_handle": _integer(),
        },
        required=("address_family",),
        constraints=(_socket_options,),
    ),
    "tcp-ext": _extension({"src_flags_hex": _hex, "dst_flags_hex": _hex}),
    "unix-account-ext": _extension({"gid": _integer(), "groups": _list_of_strings, "home_dir": _text, "shell": _text}),
    "windows-process-ext": _extension(
        {
            "aslr_enabled": _boolean,
            "dep_enabled": _boolean,
            "priority": _text,
            "owner_sid": _text,
            "window_title": _text,
            "startup_info": _dictionary,
            "integrity_level": _enum("low", "medium", "high", "system"),
        }
    ),
    "windows-service-ext": _extension(
        {
            "service_name": _text,
            "descriptions": _list_of_strings,
            "display_name": _text,
            "group_name": _text,
            "start_type": _enum(
                "SERVICE_AUTO_START",
                "SERVICE_BOOT_START",
                "SERVICE_DEMAND_START",
                "SERVICE_DISABLED",
                "SERVICE_SYSTEM_ALERT",
            ),
            "service_dll_refs": _list(_ref({"file"})),
            "service_type": _enum(
                "SERVICE_KERNEL_DRIVER",
                "SERVICE_FILE_SYSTEM_DRIVER",
                "SERVICE_WIN32_OWN_PROCESS",
                "SERVICE_WIN32_SHARE_PROCESS",
            ),
            "service_status": _enum(
                "SERVICE_CONTINUE_PENDING",
                "SERVICE_PAUSE_PENDING",
                "SERVICE_PAUSED",
                "SERVICE_RUNNING",
                "SERVICE_START_PENDING",
                "SERVICE_STOP_PENDING",
                "SERVICE_STOPPED",
            ),
        }
    ),
}
_EXTENSION_DEFINITION_PREFIX: Final = "extension-definition--"


def _extensions(value: Any) -> None:
    """§3.2 ``extensions``: predefined ones are checked; others must be objects."""
    if type(value) is not dict:
        raise _expected("an object", value)
    if not value:
        raise _Invalid("must not be an empty dictionary (omit the property instead)")
    for key, extension in value.items():
        try:
            if type(extension) is not dict:
                raise _expected("an object", extension)
            schema = _PREDEFINED_EXTENSIONS.get(key)
            if schema is not None:
                _check_members(schema, extension)
            elif (
                type(key) is str
                and key.startswith(_EXTENSION_DEFINITION_PREFIX)
                and _UUID.fullmatch(key, len(_EXTENSION_DEFINITION_PREFIX)) is None
            ):
                raise _Invalid(f"{key!r} is not an extension-definition identifier")
        except _Invalid as exc:
            raise exc.within(f".{key}") from None


# Type classification, as stix2 3.0 registers the 2.1 types ----------------------------

SDO_TYPES: Final = frozenset(
    {
        "attack-pattern", "campaign", "course-of-action", "extension-definition", "grouping",
        "identity", "incident", "indicator", "infrastructure", "intrusion-set", "location",
        "malware", "malware-analysis", "note", "observed-data", "opinion", "report",
        "threat-actor", "tool", "vulnerability",
    }
)  # fmt: skip
"""Types a reference constrained to "SDO" may name (``stix2`` counts extension-definition)."""
SRO_TYPES: Final = frozenset({"relationship", "sighting"})
SCO_TYPES: Final = frozenset(
    {
        "artifact", "autonomous-system", "directory", "domain-name", "email-addr",
        "email-message", "file", "ipv4-addr", "ipv6-addr", "mac-addr", "mutex",
        "network-traffic", "process", "software", "url", "user-account",
        "windows-registry-key", "x509-certificate",
    }
)  # fmt: skip

# With custom content allowed, a reference constrained to a class of types accepts any
# type not known to be of another class (custom types included), as stix2 does.
_ANY_SDO: Final = _ref(forbidden=SCO_TYPES | SRO_TYPES)
_ANY_SCO: Final = _ref(forbidden=SDO_TYPES | SRO_TYPES)
_ANY_SCO_OR_SRO: Final = _ref(forbidden=SDO_TYPES)
_ANY_OBJECT: Final = _ref()


# Common properties (§3.2) ---------------------------------------------------------------

_CREATED_BY: Final = _ref({"identity"})
_MARKING_REFS: Final = _list(_ref({"marking-definition"}))
_GRANULAR_MARKINGS: Final = _list(_embedded(_GRANULAR_MARKING))
_EXTERNAL_REFERENCES: Final = _list(_embedded(_EXTERNAL_REFERENCE))
_KILL_CHAIN_PHASES: Final = _list(_embedded(_KILL_CHAIN_PHASE))
_CONFIDENCE: Final = _integer(0, 100)

_SDO_COMMON: Final[dict[str, Check]] = {
    "type": _noop,
    "spec_version": _noop,
    "id": _noop,
    "created_by_ref": _CREATED_BY,
    "created": _timestamp,
    "modified": _timestamp,
    "revoked": _boolean,
    "labels": _list_of_strings,
    "confidence": _CONFIDENCE,
    "lang": _lang,
    "external_references": _EXTERNAL_REFERENCES,
    "object_marking_refs": _MARKING_REFS,
    "granular_markings": _GRANULAR_MARKINGS,
    "extensions": _extensions,
}
_SCO_COMMON: Final[dict[str, Check]] = {
    "type": _noop,
    "spec_version": _noop,
    "id": _noop,
    "object_marking_refs": _MARKING_REFS,
    "granular_markings": _GRANULAR_MARKINGS,
    "defanged": _boolean,
    "extensions": _extensions,
}
_VERSIONED: Final = ("created", "modified")
_MODIFIED_NOT_BEFORE_CREATED: Final = _not_before("created", "modified")


def _sdo(
    props: Mapping[str, Check],
    required: tuple[str, ...] = (),
    constraints: tuple[Constraint, ...] = (),
) -> _Schema:
    return _Schema(
        {**_SDO_COMMON, **props},
        (*_VERSIONED, *required),
        (_MODIFIED_NOT_BEFORE_CREATED, *constraints, _selectors_select),
    )


def _sco(
    props: Mapping[str, Check],
    required: tuple[str, ...] = (),
    constraints: tuple[Constraint, ...] = (),
) -> _Schema:
    return _Schema({**_SCO_COMMON, **props}, required, (*constraints, _selectors_select))


_FIRST_LAST_SEEN: Final = _not_before("first_seen", "last_seen")
_RELATIONSHIP_ENDPOINT: Final = _ref(
    forbidden=("bundle", "language-content", "marking-definition", "relationship", "sighting")
)


def _observable_container(value: Any) -> None:
    """§2.13 (deprecated): a dictionary of SCOs; ids optional, references are identifiers.

    Custom observable types in the container are not inspected (``stix2`` neither);
    :mod:`ribat.intel.upgrade` turns STIX 2.0 local references ("0", "1") into ids.
    """
    if type(value) is not dict:
        raise _expected("an object", value)
    if not value:
        raise _Invalid("must not be an empty dictionary")
    for key, observable in value.items():
        try:
            if type(observable) is not dict:
                raise _expected("an object", observable)
            obj_type = observable.get("type")
            if obj_type is None:
                raise _Invalid("missing required property 'type'")
            if type(obj_type) is not str:
                raise _expected("a string", obj_type).within(".type")
            schema = _SCO_SCHEMAS.get(obj_type)
            if schema is not None:
                _check_top(observable, obj_type, schema, sco=True, contained=True)
        except _Invalid as exc:
            raise exc.within(f".{key}") from None


# SDO co-constraints -------------------------------------------------------------------


def _indicator_pattern(obj: dict[str, Any]) -> None:
    """§4.7: a ``stix`` pattern must parse under the grammar of ``pattern_version``."""
    if obj.get("pattern_type") != "stix":
        return
    version = obj.get("pattern_version")
    error = pattern_error(obj["pattern"], str(version) if version else "2.1")
    if error is not None:
        raise _Invalid(error).within("pattern")


def _location(obj: dict[str, Any]) -> None:
    """§4.10: precision needs coordinates; latitude and longitude go together."""
    if "precision" in obj and ("latitude" not in obj or "longitude" not in obj):
        raise _Invalid("precision requires latitude and longitude")
    if ("latitude" in obj) != ("longitude" in obj):
        raise _Invalid("latitude and longitude must both be present or both absent")
    if "region" not in obj and "country" not in obj and "latitude" not in obj:
        raise _Invalid("needs region, country, or latitude and longitude")


def _malware_family_name(obj: dict[str, Any]) -> None:
    if obj["is_family"] is True and "name" not in obj:
        raise _Invalid("name is required when is_family is true")


_SDO_SCHEMAS: Final[dict[str, _Schema]] = {
    "attack-pattern": _sdo(
        {
            "name": _text,
            "description": _text,
            "aliases": _list_of_strings,
            "kill_chain_phases": _KILL_CHAIN_PHASES,
        },
        ("name",),
    ),
    "campaign": _sdo(
        {
            "name": _text,
            "description": _text,
            "aliases": _list_of_strings,
            "first_seen": _timestamp,
            "last_seen": _timestamp,
            "objective": _text,
        },
        ("name",),
        (_FIRST_LAST_SEEN,),
    ),
    "course-of-action": _sdo({"name": _text, "description": _text}, ("name",)),
    "grouping": _sdo(
        {
            "name": _text,
            "description": _text,
            "context": _text,
            "object_refs": _list(_ANY_OBJECT),
        },
        ("context", "object_refs"),
    ),
    "identity": _sdo(
        {
            "name": _text,
            "description": _text,
            "roles": _list_of_strings,
            "identity_class": _text,
            "sectors": _list_of_strings,
            "contact_information": _text,
        },
        ("name",),
    ),
    "incident": _sdo(
        {"name": _text, "description": _text, "kill_chain_phases": _KILL_CHAIN_PHASES},
        ("name",),
    ),
    "indicator": _sdo(
        {
            "name": _text,
            "description": _text,
            "indicator_types": _list_of_strings,
            "pattern": _string,
            "pattern_type": _text,
            "pattern_version": _text,
            "valid_from": _timestamp,
            "valid_until": _timestamp,
            "kill_chain_phases": _KILL_CHAIN_PHASES,
        },
        ("pattern", "pattern_type", "valid_from"),
        (_not_before("valid_from", "valid_until", strictly=True), _indicator_pattern),
    ),
    "infrastructure": _sdo(
        {
            "name": _text,
            "description": _text,
            "infrastructure_types": _list_of_strings,
            "aliases": _list_of_strings,
            "kill_chain_phases": _KILL_CHAIN_PHASES,
            "first_seen": _timestamp,
            "last_seen": _timestamp,
        },
        ("name",),
        (_FIRST_LAST_SEEN,),
    ),
    "intrusion-set": _sdo(
        {
            "name": _text,
            "description": _text,
            "aliases": _list_of_strings,
            "first_seen": _timestamp,
            "last_seen": _timestamp,
            "goals": _list_of_strings,
            "resource_level": _text,
            "primary_motivation": _text,
            "secondary_motivations": _list_of_strings,
        },
        ("name",),
        (_FIRST_LAST_SEEN,),
    ),
    "location": _sdo(
        {
            "name": _text,
            "description": _text,
            "latitude": _number(-90.0, 90.0),
            "longitude": _number(-180.0, 180.0),
            "precision": _number(0.0),
            "region": _text,
            "country": _text,
            "administrative_area": _text,
            "city": _text,
            "street_address": _text,
            "postal_code": _text,
        },
        (),
        (_location,),
    ),
    "malware": _sdo(
        {
            "name": _text,
            "description": _text,
            "malware_types": _list_of_strings,
            "is_family": _boolean,
            "aliases": _list_of_strings,
            "kill_chain_phases": _KILL_CHAIN_PHASES,
            "first_seen": _timestamp,
            "last_seen": _timestamp,
            "operating_system_refs": _list(_ref({"software"})),
            "architecture_execution_envs": _list_of_strings,
            "implementation_languages": _list_of_strings,
            "capabilities": _list_of_strings,
            "sample_refs": _list(_ref({"artifact", "file"})),
        },
        ("is_family",),
        (_FIRST_LAST_SEEN, _malware_family_name),
    ),
    "malware-analysis": _sdo(
        {
            "product": _text,
            "version": _text,
            "host_vm_ref": _ref({"software"}),
            "operating_system_ref": _ref({"software"}),
            "installed_software_refs": _list(_ref({"software"})),
            "configuration_version": _text,
            "modules": _list_of_strings,
            "analysis_engine_version": _text,
            "analysis_definition_version": _text,
            "submitted": _timestamp,
            "analysis_started": _timestamp,
            "analysis_ended": _timestamp,
            "result_name": _text,
            "result": _text,
            "analysis_sco_refs": _list(_ANY_SCO),
            "sample_ref": _ANY_SCO,
        },
        ("product",),
        (_at_least_one("result", "analysis_sco_refs"),),
    ),
    "note": _sdo(
        {
            "abstract": _text,
            "content": _text,
            "authors": _list_of_strings,
            "object_refs": _list(_ANY_OBJECT),
        },
        ("content", "object_refs"),
    ),
    "observed-data": _sdo(
        {
            "first_observed": _timestamp,
            "last_observed": _timestamp,
            "number_observed": _integer(1, 999_999_999),
            "objects": _observable_container,
            "object_refs": _list(_ANY_SCO_OR_SRO),
        },
        ("first_observed", "last_observed", "number_observed"),
        (_not_before("first_observed", "last_observed"), _exactly_one("objects", "object_refs")),
    ),
    "opinion": _sdo(
        {
            "explanation": _text,
            "authors": _list_of_strings,
            "opinion": _enum("strongly-disagree", "disagree", "neutral", "agree", "strongly-agree"),
            "object_refs": _list(_ANY_OBJECT),
        },
        ("opinion", "object_refs"),
    ),
    "report": _sdo(
        {
            "name": _text,
            "description": _text,
            "report_types": _list_of_strings,
            "published": _timestamp,
            "object_refs": _list(_ANY_OBJECT),
        },
        ("name", "published", "object_refs"),
    ),
    "threat-actor": _sdo(
        {
            "name": _text,
            "description": _text,
            "threat_actor_types": _list_of_strings,
            "aliases": _list_of_strings,
            "first_seen": _timestamp,
            "last_seen": _timestamp,
            "roles": _list_of_strings,
            "goals": _list_of_strings,
            "sophistication": _text,
            "resource_level": _text,
            "primary_motivation": _text,
            "secondary_motivations": _list_of_strings,
            "personal_motivations": _list_of_strings,
        },
        ("name",),
        (_FIRST_LAST_SEEN,),
    ),
    "tool": _sdo(
        {
            "name": _text,
            "description": _text,
            "tool_types": _list_of_strings,
            "aliases": _list_of_strings,
            "kill_chain_phases": _KILL_CHAIN_PHASES,
            "tool_version": _text,
        },
        ("name",),
    ),
    "vulnerability": _sdo({"name": _text, "description": _text}, ("name",)),
    # §5 relationship objects
    "relationship": _sdo(
        {
            "relationship_type": _filled_text,
            "description": _text,
            "source_ref": _RELATIONSHIP_ENDPOINT,
            "target_ref": _RELATIONSHIP_ENDPOINT,
            "start_time": _timestamp,
            "stop_time": _timestamp,
        },
        ("relationship_type", "source_ref", "target_ref"),
        (_not_before("start_time", "stop_time", strictly=True),),
    ),
    "sighting": _sdo(
        {
            "description": _text,
            "first_seen": _timestamp,
            "last_seen": _timestamp,
            "count": _integer(0, 999_999_999),
            "sighting_of_ref": _ANY_SDO,
            "observed_data_refs": _list(_ref({"observed-data"})),
            "where_sighted_refs": _list(_ref({"identity", "location"})),
            "summary": _boolean,
        },
        ("sighting_of_ref",),
        (_FIRST_LAST_SEEN,),
    ),
}


# §7 meta objects ------------------------------------------------------------------------

_TLP_V1: Final = {
    "white": "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
    "green": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
    "amber": "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
    "red": "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
}
_TLP_V1_CREATED: Final = _instant("2017-01-20T00:00:00.000Z")
_MARKING_DEFINITIONS: Final = {
    "tlp": _Schema({"tlp": _text}, required=("tlp",)),
    "statement": _Schema({"statement": _filled_text}, required=("statement",)),
}


def _marking_definition(obj: dict[str, Any]) -> None:
    """§7.2.1: a ``tlp`` or ``statement`` definition, or an extension; TLP 1.0 ones are fixed."""
    definition_type = obj.get("definition_type")
    if "definition" in obj:
        schema = _MARKING_DEFINITIONS.get(definition_type) if type(definition_type) is str else None
        if schema is None:
            raise _Invalid("definition needs definition_type 'tlp' or 'statement'").within(
                "definition_type" if definition_type is not None else "definition"
            )
        definition = obj["definition"]
        if type(definition) is not dict:
            raise _expected("an object", definition).within("definition")
        try:
            _check_members(schema, definition)
        except _Invalid as exc:
            raise exc.within("definition") from None
    elif "extensions" not in obj:
        raise _Invalid("needs definition_type and definition, or extensions")
    elif definition_type == "tlp":
        raise _Invalid("definition_type 'tlp' needs a definition").within("definition_type")
    if definition_type == "tlp":
        color = obj["definition"]["tlp"]
        fixed = _TLP_V1.get(color) if type(color) is str else None
        if fixed is None:
            raise _Invalid(f"{color!r} is not a TLP 1.0 colour (white, green, amber, red)").within("definition.tlp")
        if obj["id"] != fixed or _instant(obj["created"]) != _TLP_V1_CREATED:
            raise _Invalid(
                f"the TLP:{color.upper()} marking definition is fixed: id {fixed!r}, created 2017-01-20T00:00:00.000Z"
            )


_META_SCHEMAS: Final[dict[str, _Schema]] = {
    "language-content": _Schema(
        {
            "type": _noop,
            "spec_version": _noop,
            "id": _noop,
            "created_by_ref": _CREATED_BY,
            "created": _timestamp,
            "modified": _timestamp,
            "object_ref": _ANY_OBJECT,
            "object_modified": _timestamp,
            "contents": _dictionary,
            "revoked": _boolean,
            "labels": _list_of_strings,
            "confidence": _CONFIDENCE,
            "external_references": _EXTERNAL_REFERENCES,
            "object_marking_refs": _MARKING_REFS,
            "granular_markings": _GRANULAR_MARKINGS,
            "extensions": _extensions,
        },
        ("created", "modified", "object_ref", "contents"),
        (_MODIFIED_NOT_BEFORE_CREATED, _selectors_select),
    ),
    "marking-definition": _Schema(
        {
            "type": _noop,
            "spec_version": _noop,
            "id": _noop,
            "created_by_ref": _CREATED_BY,
            "created": _timestamp,
            "definition_type": _text,
            "name": _text,
            "definition": _noop,  # checked with definition_type by _marking_definition
            "external_references": _EXTERNAL_REFERENCES,
            "object_marking_refs": _MARKING_REFS,
            "granular_markings": _GRANULAR_MARKINGS,
            "extensions": _extensions,
        },
        ("created",),
        (_marking_definition, _selectors_select),
    ),
    "extension-definition": _Schema(
        {
            "type": _noop,
            "spec_version": _noop,
            "id": _noop,
            "created_by_ref": _CREATED_BY,
            "created": _timestamp,
            "modified": _timestamp,
            "name": _text,
            "description": _text,
            "schema": _text,
            "version": _text,
            "extension_types": _list(
                _enum(
                    "new-sdo",
                    "new-sco",
                    "new-sro",
                    "property-extension",
                    "toplevel-property-extension",
                )
            ),
            "extension_properties": _list_of_strings,
            "revoked": _boolean,
            "labels": _list_of_strings,
            "external_references": _EXTERNAL_REFERENCES,
            "object_marking_refs": _MARKING_REFS,
            "granular_markings": _GRANULAR_MARKINGS,
        },
        ("created", "modified", "created_by_ref", "name", "schema", "version", "extension_types"),
        (_MODIFIED_NOT_BEFORE_CREATED, _selectors_select),
    ),
}


# §6 cyber-observable objects --------------------------------------------------------------


def _email_message(obj: dict[str, Any]) -> None:
    if obj["is_multipart"] is False and "body_multipart" in obj:
        raise _Invalid("body_multipart requires is_multipart to be true")
    if obj["is_multipart"] is True and "body" in obj and str(obj["body"]):
        raise _Invalid("body must not be used when is_multipart is true")


def _network_traffic_end(obj: dict[str, Any]) -> None:
    if "end" in obj and obj.get("is_active") is True:
        raise _Invalid("end must not be present when is_active is true")


_PROCESS_PROPERTIES: Final = (
    "is_hidden", "pid", "created_time", "cwd", "command_line", "environment_variables",
    "opened_connection_refs", "creator_user_ref", "image_ref", "parent_ref", "child_refs",
    "object_marking_refs", "granular_markings",
)  # fmt: skip


def _process(obj: dict[str, Any]) -> None:
    if "extensions" not in obj and not any(name in obj for name in _PROCESS_PROPERTIES):
        raise _Invalid("needs at least one property besides type, id, spec_version and defanged")


_EMAIL_MIME_COMPONENT: Final = _Schema(
    {
        "body": _text,
        "body_raw_ref": _ref({"artifact", "file"}),
        "content_type": _text,
        "content_disposition": _text,
    },
    constraints=(_at_least_one("body", "body_raw_ref"),),
)
_REGISTRY_DATATYPES: Final = (
    "REG_NONE", "REG_SZ", "REG_EXPAND_SZ", "REG_BINARY", "REG_DWORD", "REG_DWORD_BIG_ENDIAN",
    "REG_DWORD_LITTLE_ENDIAN", "REG_LINK", "REG_MULTI_SZ", "REG_RESOURCE_LIST",
    "REG_FULL_RESOURCE_DESCRIPTION", "REG_RESOURCE_REQUIREMENTS_LIST", "REG_QWORD",
    "REG_INVALID_TYPE",
)  # fmt: skip
_WINDOWS_REGISTRY_VALUE: Final = _Schema({"name": _text, "data": _text, "data_type": _enum(*_REGISTRY_DATATYPES)})
_X509_V3_STRINGS: Final = (
    "basic_constraints", "name_constraints", "policy_constraints", "key_usage",
    "extended_key_usage", "subject_key_identifier", "authority_key_identifier",
    "subject_alternative_name", "issuer_alternative_name", "subject_directory_attributes",
    "crl_distribution_points", "inhibit_any_policy", "certificate_policies", "policy_mappings",
)  # fmt: skip
_X509_V3_EXTENSIONS: Final = _Schema(
    {
        **dict.fromkeys(_X509_V3_STRINGS, _text),
        "private_key_usage_period_not_before": _timestamp,
        "private_key_usage_period_not_after": _timestamp,
    }
)
_X509_PROPERTIES: Final = {
    "is_self_signed": _boolean,
    "hashes": _hashes(vocabulary_only=False),
    "version": _text,
    "serial_number": _text,
    "signature_algorithm": _text,
    "issuer": _text,
    "validity_not_before": _timestamp,
    "validity_not_after": _timestamp,
    "subject": _text,
    "subject_public_key_algorithm": _text,
    "subject_public_key_modulus": _text,
    "subject_public_key_exponent": _integer(),
    "x509_v3_extensions": _embedded(_X509_V3_EXTENSIONS),
}
_ADDRESS: Final = _ref({"ipv4-addr", "ipv6-addr", "mac-addr", "domain-name"})
_IP_ADDRESS: Final = {
    "value": _text,
    "resolves_to_refs": _list(_ref({"mac-addr"})),
    "belongs_to_refs": _list(_ref({"autonomous-system"})),
}
_EMAIL_ADDRS: Final = _list(_ref({"email-addr"}))

_SCO_SCHEMAS: Final[dict[str, _Schema]] = {
    "artifact": _sco(
        {
            "mime_type": _text,
            "payload_bin": _binary,
            "url": _text,
            "hashes": _hashes(vocabulary_only=False),
            "encryption_algorithm": _enum("AES-256-GCM", "ChaCha20-Poly1305", "mime-type-indicated"),
            "decryption_key": _text,
        },
        (),
        (_exactly_one("payload_bin", "url"), _requires("url", "hashes")),
    ),
    "autonomous-system": _sco({"number": _integer(), "name": _text, "rir": _text}, ("number",)),
    "directory": _sco(
        {
            "path": _text,
            "path_enc": _text,
            "ctime": _timestamp,
            "mtime": _timestamp,
            "atime": _timestamp,
            "contains_refs": _list(_ref({"file", "directory"})),
        },
        ("path",),
    ),
    "domain-name": _sco(
        {
            "value": _text,
            "resolves_to_refs": _list(_ref({"ipv4-addr", "ipv6-addr", "domain-name"})),
        },
        ("value",),
    ),
    "email-addr": _sco(
        {"value": _text, "display_name": _text, "belongs_to_ref": _ref({"user-account"})},
        ("value",),
    ),
    "email-message": _sco(
        {
            "is_multipart": _boolean,
            "date": _timestamp,
            "content_type": _text,
            "from_ref": _ref({"email-addr"}),
            "sender_ref": _ref({"email-addr"}),
            "to_refs": _EMAIL_ADDRS,
            "cc_refs": _EMAIL_ADDRS,
            "bcc_refs": _EMAIL_ADDRS,
            "message_id": _text,
            "subject": _text,
            "received_lines": _list_of_strings,
            "additional_header_fields": _dictionary,
            "body": _text,
            "body_multipart": _list(_embedded(_EMAIL_MIME_COMPONENT)),
            "raw_email_ref": _ref({"artifact"}),
        },
        ("is_multipart",),
        (_email_message,),
    ),
    "file": _sco(
        {
            "hashes": _hashes(vocabulary_only=False),
            "size": _integer(0),
            "name": _text,
            "name_enc": _text,
            "magic_number_hex": _hex,
            "mime_type": _text,
            "ctime": _timestamp,
            "mtime": _timestamp,
            "atime": _timestamp,
            "parent_directory_ref": _ref({"directory"}),
            "contains_refs": _list(_ANY_SCO),
            "content_ref": _ref({"artifact"}),
        },
        (),
        (_at_least_one("hashes", "name"),),
    ),
    "ipv4-addr": _sco(_IP_ADDRESS, ("value",)),
    "ipv6-addr": _sco(_IP_ADDRESS, ("value",)),
    "mac-addr": _sco({"value": _text}, ("value",)),
    "mutex": _sco({"name": _text}, ("name",)),
    "network-traffic": _sco(
        {
            "start": _timestamp,
            "end": _timestamp,
            "is_active": _boolean,
            "src_ref": _ADDRESS,
            "dst_ref": _ADDRESS,
            "src_port": _integer(0, 65535),
            "dst_port": _integer(0, 65535),
            "protocols": _list_of_strings,
            "src_byte_count": _integer(0),
            "dst_byte_count": _integer(0),
            "src_packets": _integer(0),
            "dst_packets": _integer(0),
            "ipfix": _dictionary,
            "src_payload_ref": _ref({"artifact"}),
            "dst_payload_ref": _ref({"artifact"}),
            "encapsulates_refs": _list(_ref({"network-traffic"})),
            "encapsulated_by_ref": _ref({"network-traffic"}),
        },
        ("protocols",),
        (_at_least_one("src_ref", "dst_ref"), _not_before("start", "end"), _network_traffic_end),
    ),
    "process": _sco(
        {
            "is_hidden": _boolean,
            "pid": _integer(),
            "created_time": _timestamp,
            "cwd": _text,
            "command_line": _text,
            "environment_variables": _dictionary,
            "opened_connection_refs": _list(_ref({"network-traffic"})),
            "creator_user_ref": _ref({"user-account"}),
            "image_ref": _ref({"file"}),
            "parent_ref": _ref({"process"}),
            "child_refs": _list(_ref({"process"})),
        },
        (),
        (_process,),
    ),
    "software": _sco(
        {
            "name": _text,
            "cpe": _text,
            "swid": _text,
            "languages": _list_of_strings,
            "vendor": _text,
            "version": _text,
        },
        ("name",),
    ),
    "url": _sco({"value": _text}, ("value",)),
    "user-account": _sco(
        {
            "user_id": _text,
            "credential": _text,
            "account_login": _text,
            "account_type": _text,
            "display_name": _text,
            "is_service_account": _boolean,
            "is_privileged": _boolean,
            "can_escalate_privs": _boolean,
            "is_disabled": _boolean,
            "account_created": _timestamp,
            "account_expires": _timestamp,
            "credential_last_changed": _timestamp,
            "account_first_login": _timestamp,
            "account_last_login": _timestamp,
        }
    ),
    "windows-registry-key": _sco(
        {
            "key": _text,
            "values": _list(_embedded(_WINDOWS_REGISTRY_VALUE)),
            "modified_time": _timestamp,
            "creator_user_ref": _ref({"user-account"}),
            "number_of_subkeys": _integer(),
        }
    ),
    "x509-certificate": _sco(_X509_PROPERTIES, (), (_at_least_one(*_X509_PROPERTIES),)),
}


# §11.2 custom objects --------------------------------------------------------------------

_CUSTOM_OBJECT: Final = _Schema(
    {**_SDO_COMMON, "defanged": _boolean},
    (),
    (_MODIFIED_NOT_BEFORE_CREATED, _selectors_select),
)

_SCHEMAS: Final[dict[str, _Schema]] = {**_SDO_SCHEMAS, **_META_SCHEMAS, **_SCO_SCHEMAS}


# ------------------------------------------------------------------------------ driver


def _validate(obj: dict[str, Any]) -> None:
    obj_type = obj.get("type")
    if obj_type is None:
        raise _Invalid("missing required property 'type'")
    if type(obj_type) is not str:
        raise _expected("a string", obj_type).within("type")
    schema = _SCHEMAS.get(obj_type)
    if schema is not None:
        _check_top(obj, obj_type, schema, sco=obj_type in SCO_TYPES, contained=False)
        return
    if obj_type == "bundle":
        raise _Invalid("a bundle is an envelope, not a STIX object: submit the objects it contains")
    if not is_type_name(obj_type):
        raise _Invalid(
            f"{obj_type!r} is not a STIX type name (3-250 of a-z, 0-9 and single hyphens, starting with a letter)"
        ).within("type")
    _check_top(obj, obj_type, _CUSTOM_OBJECT, sco=_declares_new_sco(obj), contained=False)


def _declares_new_sco(obj: dict[str, Any]) -> bool:
    """A custom object whose extension-definition says it is a new SCO (§7.3)."""
    extensions = obj.get("extensions")
    return type(extensions) is dict and any(
        type(ext) is dict and ext.get("extension_type") == "new-sco" for ext in extensions.values()
    )


def _check_top(obj: dict[str, Any], obj_type: str, schema: _Schema, *, sco: bool, contained: bool) -> None:
    object_id = obj.get("id")
    if object_id is None:
        if not contained:
            raise _Invalid("missing required property 'id'")
    elif (
        type(object_id) is not str
        or not object_id.startswith(obj_type)
        or object_id[len(obj_type) : len(obj_type) + 2] != "--"
        or _UUID.fullmatch(object_id, len(obj_type) + 2) is None
    ):
        raise _Invalid(f"must be {obj_type}--<RFC 4122 UUID>, not {object_id!r}").within(".id" if contained else "id")
    version = obj.get("spec_version")
    if version is None:
        if not sco:
            raise _Invalid(
                "missing required property 'spec_version' (without it this is a STIX 2.0 object: upgrade it first)"
            )
    elif version != "2.1":
        raise _Invalid(f"must be '2.1', not {version!r}").within(".spec_version" if contained else "spec_version")
    _check_members(schema, obj, nested=contained)
