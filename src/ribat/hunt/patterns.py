"""STIX 2.1 patterns as plain data (STIX 2.1 §9, "STIX Patterning").

``parse_pattern(text)`` turns pattern text into a tree of frozen dataclasses:

* ``Comparison(path, op, value, kind, negated)`` — one comparison expression, e.g.
  ``file:hashes.'SHA-256' = 'ab…'``; ``path`` is an ``ObjectPath(type, steps)``;
* ``BoolExpr(op, children)`` — comparisons joined by ``AND``/``OR`` inside one ``[...]``;
* ``Observation(expr)`` — one observation expression ``[...]``;
* ``ObsOp(op, children)`` — observation expressions joined by ``AND``, ``OR`` or ``FOLLOWEDBY``;
* ``Qualified(child, ...)`` — one qualifier: ``WITHIN n SECONDS``, ``REPEATS n TIMES`` or
  ``START t'…' STOP t'…'``; several qualifiers nest, innermost first.

Literal values are typed: ``'…'`` is ``str``, integers ``int``, floats ``float``, ``true``/``false`` ``bool``,
``b'…'`` and ``h'…'`` are ``bytes``, ``t'…'`` is an ``int`` of microseconds since the Unix epoch (the
``kind`` field tells it apart from an integer), and ``IN (…)`` holds a ``frozenset``.

Prefiltering (what the index compiler relies on)
-----------------------------------------------
A comparison is true for an object only when the object has the type of its path, the path selects a
value, and the value passes the test. An observation expression matches an observed-data when one of its
objects satisfies the whole boolean expression. So, for one observation expression:

* a single comparison is *required*: every match makes it true;
* ``A AND B``: every match makes both true, so indexing the required set of *either* child is enough;
* ``A OR B``: a match may come from either side, so the required sets of *all* children are needed
  (their union); if one child cannot be indexed, the ``OR`` cannot be either.

``Observation.required()`` returns such a set — every observed-data the observation matches makes at
least one of those comparisons true — or ``None`` when no indexable set exists (the observation must then
be checked on every record). ``Pattern.required()`` unions them over all observation expressions: every
observed-data that can take part in a match of the whole pattern (whatever its observation operators and
qualifiers) matches one observation expression, so the union is a sound candidate filter.

Parsing uses the OASIS ``stix2-patterns`` ANTLR grammar; common simple patterns (one observation whose
comparisons test string literals with ``=``, ``!=``, ``LIKE``, ``MATCHES``, ``ISSUBSET``, ``ISSUPERSET``)
take a faster hand-written path that yields the same tree.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import decimal
import enum
import ipaddress
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, TypeAlias

from ribat.errors import ValidationError

__all__ = [
    "ANY_INDEX",
    "KEYWORDS",
    "BoolExpr",
    "BoolOp",
    "CompOp",
    "Comparison",
    "Expr",
    "Network",
    "Node",
    "ObjectPath",
    "ObsOp",
    "ObsOperator",
    "Observation",
    "PathStep",
    "Pattern",
    "Qualified",
    "ValueKind",
    "default_indexable",
    "parse_ip_network",
    "parse_pattern",
    "parse_timestamp",
]


class Wildcard(enum.Enum):
    """The ``[*]`` list step of an object path."""

    ANY = "*"

    def __repr__(self) -> str:
        return "ANY_INDEX"


ANY_INDEX = Wildcard.ANY
PathStep: TypeAlias = str | int | Wildcard  # a dictionary key, a list index, or ``[*]``


class CompOp(enum.StrEnum):
    EQ = "="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    IN = "IN"
    LIKE = "LIKE"
    MATCHES = "MATCHES"
    ISSUBSET = "ISSUBSET"
    ISSUPERSET = "ISSUPERSET"
    EXISTS = "EXISTS"


class ValueKind(enum.StrEnum):
    """What a literal was written as (for ``IN``: what its members were written as; a set of ``b'…'``
    and ``h'…'`` members is ``BINARY``, one mixing integers and floats ``FLOAT``)."""

    STRING = "string"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    BINARY = "binary"  # b'…' (base64)
    HEX = "hex"  # h'…'
    TIMESTAMP = "timestamp"  # t'…', held as microseconds since the epoch
    NONE = "none"  # EXISTS, and the empty set


class BoolOp(enum.StrEnum):
    AND = "AND"
    OR = "OR"


class ObsOperator(enum.StrEnum):
    AND = "AND"
    OR = "OR"
    FOLLOWEDBY = "FOLLOWEDBY"


Scalar: TypeAlias = str | int | float | bool | bytes
Value: TypeAlias = Scalar | frozenset[Scalar] | None


@dataclass(frozen=True, slots=True)
class ObjectPath:
    """``type:step.step[0]…``: the object type and the steps into the object (an object path)."""

    type: str
    steps: tuple[PathStep, ...]

    def __str__(self) -> str:
        out = [self.type, ":"]
        for i, step in enumerate(self.steps):
            if isinstance(step, Wildcard):
                out.append("[*]")
            elif isinstance(step, int):
                out.append(f"[{step}]")
            else:
                if i:
                    out.append(".")
                out.append(step if _IDENT_NO_HYPHEN.fullmatch(step) and step not in KEYWORDS else _quote(step))
        return "".join(out)


@dataclass(frozen=True, slots=True)
class Comparison:
    """One comparison expression. ``negated`` is the ``NOT`` before the operator (or before ``EXISTS``)."""

    path: ObjectPath
    op: CompOp
    value: Value
    kind: ValueKind
    negated: bool = False

    def __str__(self) -> str:
        neg = "NOT " if self.negated else ""
        if self.op is CompOp.EXISTS:
            return f"{neg}EXISTS {self.path}"
        return f"{self.path} {neg}{self.op.value} {_render_value(self.value, self.kind)}"


@dataclass(frozen=True, slots=True)
class BoolExpr:
    """Comparisons joined by one boolean operator inside an observation expression (flattened)."""

    op: BoolOp
    children: tuple[Expr, ...]

    def __str__(self) -> str:
        return f" {self.op.value} ".join(f"({c})" if isinstance(c, BoolExpr) else str(c) for c in self.children)


Expr: TypeAlias = Comparison | BoolExpr


@dataclass(frozen=True, slots=True)
class Observation:
    """One observation expression ``[ … ]``: matched against one observed-data at a time."""

    expr: Expr

    def comparisons(self) -> tuple[Comparison, ...]:
        return tuple(_iter_comparisons(self.expr))

    def types(self) -> frozenset[str]:
        """The object types an object must have for this observation to match it."""
        return _types(self.expr)

    def required(self, indexable: Callable[[Comparison], bool] | None = None) -> tuple[Comparison, ...] | None:
        """Comparisons of which every match makes at least one true, or ``None`` if none can be indexed.

        ``indexable`` says which single comparisons the caller can look up (default:
        ``default_indexable``). Under ``AND`` the child with the most selective indexable set is chosen
        (equality first, then ``IN``, CIDR, ``LIKE``, ``MATCHES``; fewer comparisons first); under ``OR``
        all children must be indexable and their sets are joined. Any choice is sound; the ranking only
        keeps candidate sets small.
        """
        return _required(self.expr, indexable or default_indexable)

    def __str__(self) -> str:
        return f"[{self.expr}]"


@dataclass(frozen=True, slots=True)
class ObsOp:
    """Observation expressions joined by ``AND``, ``OR`` or ``FOLLOWEDBY`` (flattened; all associative)."""

    op: ObsOperator
    children: tuple[Node, ...]

    def __str__(self) -> str:
        return f" {self.op.value} ".join(f"({c})" if isinstance(c, ObsOp) else str(c) for c in self.children)


@dataclass(frozen=True, slots=True)
class Qualified:
    """One qualifier on ``child``: exactly one of ``within_seconds``, ``repeats`` or ``start``/``stop``.

    ``start`` and ``stop`` are microseconds since the epoch. ``within_us`` is the ``WITHIN`` duration in
    microseconds, rounded as Python's ``timedelta`` rounds seconds.
    """

    child: Node
    within_seconds: int | float | None = None
    repeats: int | None = None
    start: int | None = None
    stop: int | None = None
    within_us: int | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        kinds = (self.within_seconds is not None) + (self.repeats is not None) + (self.start is not None)
        if kinds != 1 or (self.start is None) != (self.stop is None):
            raise ValueError("a Qualified node carries exactly one qualifier")
        if self.within_seconds is not None and self.within_us is None:
            object.__setattr__(self, "within_us", _seconds_to_us(self.within_seconds))

    def __str__(self) -> str:
        inner = f"({self.child})" if isinstance(self.child, ObsOp) else str(self.child)
        if self.within_seconds is not None:
            return f"{inner} WITHIN {self.within_seconds} SECONDS"
        if self.repeats is not None:
            return f"{inner} REPEATS {self.repeats} TIMES"
        assert self.start is not None and self.stop is not None
        return f"{inner} START {_render_ts(self.start)} STOP {_render_ts(self.stop)}"


Node: TypeAlias = Observation | ObsOp | Qualified


@dataclass(frozen=True, slots=True)
class Pattern:
    """A parsed pattern: the original ``text`` and the tree under ``root``."""

    text: str
    root: Node

    def observations(self) -> tuple[Observation, ...]:
        """Every observation expression, in the order they appear in the text (repeats included)."""
        return tuple(_iter_observations(self.root))

    def comparisons(self) -> tuple[Comparison, ...]:
        """Every comparison expression, in text order."""
        return tuple(c for obs in _iter_observations(self.root) for c in _iter_comparisons(obs.expr))

    @property
    def is_single_observation(self) -> bool:
        """True when the whole pattern is one observation expression without qualifiers."""
        return isinstance(self.root, Observation)

    def required(self, indexable: Callable[[Comparison], bool] | None = None) -> tuple[Comparison, ...] | None:
        """A candidate filter for the whole pattern (see the module docstring), or ``None``.

        Every observed-data that can take part in any match of this pattern makes at least one of the
        returned comparisons true. Duplicates are removed; text order is kept.
        """
        root = self.root
        if isinstance(root, Observation) and isinstance(root.expr, Comparison):  # the common case, made short
            return (root.expr,) if (indexable or default_indexable)(root.expr) else None
        seen: dict[Comparison, None] = {}
        for obs in _iter_observations(self.root):
            req = obs.required(indexable)
            if req is None:
                return None
            seen.update(dict.fromkeys(req))
        return tuple(seen)


def default_indexable(comparison: Comparison) -> bool:
    """Positive ``=``, ``IN``, ``ISSUBSET``, ``LIKE`` and ``MATCHES`` comparisons can be looked up."""
    return not comparison.negated and comparison.op in _RANK


_RANK = {CompOp.EQ: 0, CompOp.IN: 0, CompOp.ISSUBSET: 1, CompOp.LIKE: 2, CompOp.MATCHES: 3}


def _required(expr: Expr, indexable: Callable[[Comparison], bool]) -> tuple[Comparison, ...] | None:
    if isinstance(expr, Comparison):
        return (expr,) if indexable(expr) else None
    parts = [_required(child, indexable) for child in expr.children]
    if expr.op is BoolOp.OR:
        if any(p is None for p in parts):
            return None
        seen: dict[Comparison, None] = {}
        for p in parts:
            assert p is not None
            seen.update(dict.fromkeys(p))
        return tuple(seen)
    candidates = [p for p in parts if p is not None]
    if not candidates:
        return None
    return min(candidates, key=lambda p: (max(_RANK.get(c.op, 4) for c in p), len(p)))


def _types(expr: Expr) -> frozenset[str]:
    if isinstance(expr, Comparison):
        return frozenset((expr.path.type,))
    sets = [_types(c) for c in expr.children]
    if expr.op is BoolOp.AND:
        return frozenset.intersection(*sets)
    return frozenset.union(*sets)


def _iter_comparisons(expr: Expr) -> Iterator[Comparison]:
    if isinstance(expr, Comparison):
        yield expr
    else:
        for child in expr.children:
            yield from _iter_comparisons(child)


def _iter_observations(node: Node) -> Iterator[Observation]:
    if isinstance(node, Observation):
        yield node
    elif isinstance(node, ObsOp):
        for child in node.children:
            yield from _iter_observations(child)
    else:
        yield from _iter_observations(node.child)


# --- timestamps ------------------------------------------------------------------------------------------

_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_TS = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?Z")
_ONE_US = dt.timedelta(microseconds=1)
_EPOCH = dt.datetime(1970, 1, 1)


def parse_timestamp(text: str) -> int:
    """A STIX timestamp (``YYYY-MM-DDTHH:MM:SS[.fraction]Z``) as microseconds since the epoch.

    Upper-case ``T`` and ``Z`` are required; digits beyond the microsecond are dropped. The accepted
    forms are those ``stix2-matcher`` accepts, including the lenient ones ``strptime`` allows (one-digit
    fields). Raises ``ValueError`` on anything else.
    """
    m = _TS.fullmatch(text)
    if m is not None:
        year, month, day, hour, minute, second, frac = m.groups()
        h, mi, s = int(hour), int(minute), int(second)
        if h > 23 or mi > 59 or s > 59:
            raise ValueError(f"invalid timestamp: {text}")
        ordinal = dt.date(int(year), int(month), int(day)).toordinal()  # validates the date
        us = int((frac + "00000")[:6]) if frac else 0
        return (((ordinal - _EPOCH_ORDINAL) * 86400 + h * 3600 + mi * 60 + s) * 1_000_000) + us
    return _parse_timestamp_lenient(text)


def _parse_timestamp_lenient(text: str) -> int:
    if any(c.islower() for c in text):
        raise ValueError(f"invalid timestamp (T and Z must be upper case): {text}")
    if "." in text:
        head, _, tail = text.partition(".")
        if len(tail) > 7 and tail.endswith("Z") and "." not in tail:
            tail = tail[:6] + "Z"
        parsed = dt.datetime.strptime(f"{head}.{tail}", "%Y-%m-%dT%H:%M:%S.%fZ")
    else:
        parsed = dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
    return (parsed - _EPOCH) // _ONE_US


def _seconds_to_us(seconds: int | float) -> int:
    try:
        return dt.timedelta(seconds=seconds) // _ONE_US
    except OverflowError:
        return 1 << 80  # longer than any span between two representable timestamps


def _render_ts(us: int) -> str:
    s = _EPOCH + dt.timedelta(microseconds=us)
    text = f"{s.year:04d}-{s.month:02d}-{s.day:02d}T{s.hour:02d}:{s.minute:02d}:{s.second:02d}"
    if s.microsecond:
        text += f".{s.microsecond:06d}"
    return f"t'{text}Z'"


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _render_value(value: Value, kind: ValueKind) -> str:
    if isinstance(value, frozenset):
        items = sorted(value, key=repr)
        return "(" + ", ".join(_render_scalar(v, kind) for v in items) + ")"
    assert value is not None
    return _render_scalar(value, kind)


def _render_scalar(value: Scalar, kind: ValueKind) -> str:
    if kind is ValueKind.TIMESTAMP and isinstance(value, int):
        return _render_ts(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        if kind is ValueKind.BINARY and value:  # the grammar has no empty b''
            return "b'" + base64.standard_b64encode(value).decode() + "'"
        return "h'" + value.hex() + "'"
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, float):
        text = format(decimal.Decimal(repr(value)), "f")  # the grammar has no exponent notation
        return text if "." in text else text + ".0"
    return repr(value)


# --- IP addresses and networks (ISSUBSET / ISSUPERSET operands) --------------------------------------

Network: TypeAlias = tuple[int, int, int]  # (bits: 32 or 128, address as int, prefix length)
_IP_CACHE: dict[str, Network | None] = {}


def parse_ip_network(text: str) -> Network | None:
    """``'198.51.100.0/24'``, ``'198.51.100.7'``, ``'2001:db8::/32'`` → ``(bits, int, prefix)``; else ``None``.

    IPv4 must be four decimal octets without leading zeros; a bare address is a host network
    (``/32`` or ``/128``). Host bits after the prefix are kept (and ignored when comparing).
    """
    if text in _IP_CACHE:
        return _IP_CACHE[text]
    parsed = _parse_ip_network(text)
    if len(_IP_CACHE) > 65536:
        _IP_CACHE.clear()
    _IP_CACHE[text] = parsed
    return parsed


def _parse_ip_network(text: str) -> Network | None:
    addr, slash, prefix_text = text.partition("/")
    if ":" in addr:
        bits = 128
        try:
            number = int(ipaddress.IPv6Address(addr))
        except ValueError:
            return None
    else:
        bits = 32
        parts = addr.split(".")
        if len(parts) != 4:
            return None
        number = 0
        for part in parts:
            if not (part.isascii() and part.isdigit()) or len(part) > 3 or (len(part) > 1 and part[0] == "0"):
                return None
            octet = int(part)
            if octet > 255:
                return None
            number = number << 8 | octet
    if not slash:
        return bits, number, bits
    if not (prefix_text.isascii() and prefix_text.isdigit()) or len(prefix_text) > 3:
        return None
    prefix = int(prefix_text)
    if prefix > bits:
        return None
    return bits, number, prefix


# --- parsing -----------------------------------------------------------------------------------------------


def parse_pattern(text: str) -> Pattern:
    """Parse STIX 2.1 pattern text; raises ``ValidationError(field="pattern")`` naming the pattern.

    Beyond the grammar, patterns that can never be evaluated are rejected here: invalid timestamp
    literals, ``IN`` sets mixing kinds (other than integers with floats), ``WITHIN`` of zero seconds,
    ``REPEATS 0 TIMES``, regular expressions Python's ``re`` cannot compile, and CIDR literals that are
    not IPv4/IPv6 addresses or networks.
    """
    if not isinstance(text, str):
        raise ValidationError("pattern", f"a pattern is text, not {type(text).__name__}")
    return _parse_cached(text)


@lru_cache(maxsize=8192)
def _parse_cached(text: str) -> Pattern:
    root = _fast_parse(text)
    if root is None:
        root = _antlr_parse(text)
    return Pattern(text, root)


def _fail(text: str, reason: str) -> ValidationError:
    shown = text if len(text) <= 300 else text[:297] + "..."
    return ValidationError("pattern", f"{reason} in {shown!r}")


def _antlr_parse(text: str) -> Node:
    from stix2patterns.exceptions import ParseException
    from stix2patterns.v21.pattern import Pattern as AntlrPattern

    try:
        tree = AntlrPattern(text).visit(_TreeGrabber())
    except ParseException as exc:
        raise _fail(text, str(exc)) from exc
    return _Builder(text).pattern(tree)


class _TreeGrabber:
    """A stand-in visitor: ``stix2patterns``' ``Pattern.visit`` hands it the parse tree."""

    def visit(self, tree: Any) -> Any:
        return tree


def _unescape(literal: str) -> str:
    return _ESCAPE.sub(r"\1", literal[1:-1])


_ESCAPE = re.compile(r"\\(['\\])")


class _Builder:
    """Builds the IR from the ANTLR parse tree of ``stix2patterns.v21``."""

    def __init__(self, text: str) -> None:
        from stix2patterns.v21.grammars.STIXPatternParser import STIXPatternParser

        self.text = text
        self.P = STIXPatternParser

    def pattern(self, ctx: Any) -> Node:
        return self.obs_exprs(ctx.observationExpressions())

    # observation level: FOLLOWEDBY < OR < AND, all left-associative; flattened here.
    def obs_exprs(self, ctx: Any) -> Node:
        subs = ctx.observationExpressions()
        if subs:
            return self._join(ObsOperator.FOLLOWEDBY, [self.obs_exprs(s) for s in subs])
        return self.obs_or(ctx.observationExpressionOr())

    def obs_or(self, ctx: Any) -> Node:
        subs = ctx.observationExpressionOr()
        if subs:
            return self._join(ObsOperator.OR, [self.obs_or(s) for s in subs])
        return self.obs_and(ctx.observationExpressionAnd())

    def obs_and(self, ctx: Any) -> Node:
        subs = ctx.observationExpressionAnd()
        if subs:
            return self._join(ObsOperator.AND, [self.obs_and(s) for s in subs])
        return self.obs_expr(ctx.observationExpression())

    def _join(self, op: ObsOperator, parts: list[Node]) -> Node:
        children: list[Node] = []
        for part in parts:
            if isinstance(part, ObsOp) and part.op is op:
                children.extend(part.children)
            else:
                children.append(part)
        return ObsOp(op, tuple(children))

    def obs_expr(self, ctx: Any) -> Node:
        P = self.P
        if isinstance(ctx, P.ObservationExpressionSimpleContext):
            return Observation(self.comp_or(ctx.comparisonExpression()))
        if isinstance(ctx, P.ObservationExpressionCompoundContext):
            return self.obs_exprs(ctx.observationExpressions())
        child = self.obs_expr(ctx.observationExpression())
        if isinstance(ctx, P.ObservationExpressionWithinContext):
            q = ctx.withinQualifier()
            token = q.IntPosLiteral() or q.FloatPosLiteral()
            seconds: int | float = int(token.getText()) if q.IntPosLiteral() else float(token.getText())
            if seconds <= 0:
                raise _fail(self.text, f"WITHIN must be positive, not {token.getText()}")
            return Qualified(child, within_seconds=seconds)
        if isinstance(ctx, P.ObservationExpressionRepeatedContext):
            count = int(ctx.repeatedQualifier().IntPosLiteral().getText())
            if count < 1:
                raise _fail(self.text, f"REPEATS needs at least 1, not {count}")
            return Qualified(child, repeats=count)
        q = ctx.startStopQualifier()
        start = self.timestamp(q.TimestampLiteral(0).getText())
        stop = self.timestamp(q.TimestampLiteral(1).getText())
        return Qualified(child, start=start, stop=stop)

    def timestamp(self, token: str) -> int:
        try:
            return parse_timestamp(token[2:-1])
        except ValueError as exc:
            raise _fail(self.text, f"invalid timestamp {token}") from exc

    # comparison level: OR < AND.
    def comp_or(self, ctx: Any) -> Expr:
        subs = ctx.comparisonExpression()
        if subs:
            return self._bool(BoolOp.OR, [self.comp_or(s) for s in subs])
        return self.comp_and(ctx.comparisonExpressionAnd())

    def comp_and(self, ctx: Any) -> Expr:
        subs = ctx.comparisonExpressionAnd()
        if subs:
            return self._bool(BoolOp.AND, [self.comp_and(s) for s in subs])
        return self.prop_test(ctx.propTest())

    @staticmethod
    def _bool(op: BoolOp, parts: list[Expr]) -> Expr:
        children: list[Expr] = []
        for part in parts:
            if isinstance(part, BoolExpr) and part.op is op:
                children.extend(part.children)
            else:
                children.append(part)
        return BoolExpr(op, tuple(children))

    def prop_test(self, ctx: Any) -> Expr:
        P = self.P
        if isinstance(ctx, P.PropTestParenContext):
            return self.comp_or(ctx.comparisonExpression())
        negated = ctx.NOT() is not None
        path = self.path(ctx.objectPath())
        if isinstance(ctx, P.PropTestExistsContext):
            return Comparison(path, CompOp.EXISTS, None, ValueKind.NONE, negated)
        if isinstance(ctx, P.PropTestEqualContext):
            op = CompOp.EQ if ctx.EQ() is not None else CompOp.NE
            value, kind = self.literal(_first_terminal(ctx.primitiveLiteral()))
            return Comparison(path, op, value, kind, negated)
        if isinstance(ctx, P.PropTestOrderContext):
            if ctx.GT() is not None:
                op = CompOp.GT
            elif ctx.LT() is not None:
                op = CompOp.LT
            elif ctx.GE() is not None:
                op = CompOp.GE
            else:
                op = CompOp.LE
            value, kind = self.literal(_first_terminal(ctx.orderableLiteral()))
            return Comparison(path, op, value, kind, negated)
        if isinstance(ctx, P.PropTestSetContext):
            members, kind = self.set_literal(ctx.setLiteral())
            return Comparison(path, CompOp.IN, members, kind, negated)
        string = _unescape(ctx.StringLiteral().getText())
        if isinstance(ctx, P.PropTestLikeContext):
            return Comparison(path, CompOp.LIKE, string, ValueKind.STRING, negated)
        if isinstance(ctx, P.PropTestRegexContext):
            _check_regex(self.text, string)
            return Comparison(path, CompOp.MATCHES, string, ValueKind.STRING, negated)
        op = CompOp.ISSUBSET if isinstance(ctx, P.PropTestIsSubsetContext) else CompOp.ISSUPERSET
        _check_cidr(self.text, string)
        return Comparison(path, op, string, ValueKind.STRING, negated)

    def path(self, ctx: Any) -> ObjectPath:
        type_token = ctx.objectType().IdentifierWithoutHyphen() or ctx.objectType().IdentifierWithHyphen()
        first = ctx.firstPathComponent()
        steps: list[PathStep] = [self.key(first)]
        component = ctx.objectPathComponent()
        if component is not None:
            self.components(component, steps)
        return ObjectPath(type_token.getText(), tuple(steps))

    def components(self, ctx: Any, out: list[PathStep]) -> None:
        P = self.P
        if isinstance(ctx, P.PathStepContext):
            for sub in ctx.objectPathComponent():
                self.components(sub, out)
        elif isinstance(ctx, P.KeyPathStepContext):
            out.append(self.key(ctx))
        elif ctx.ASTERISK() is not None:
            out.append(ANY_INDEX)
        else:
            out.append(int((ctx.IntPosLiteral() or ctx.IntNegLiteral()).getText()))

    @staticmethod
    def key(ctx: Any) -> str:
        ident = ctx.IdentifierWithoutHyphen()
        if ident is not None:
            return str(ident.getText())
        return _unescape(ctx.StringLiteral().getText())

    def literal(self, terminal: Any) -> tuple[Scalar, ValueKind]:
        P = self.P
        kind = terminal.getSymbol().type
        text = terminal.getText()
        if kind in (P.IntPosLiteral, P.IntNegLiteral):
            return int(text), ValueKind.INT
        if kind in (P.FloatPosLiteral, P.FloatNegLiteral):
            return float(text), ValueKind.FLOAT
        if kind == P.StringLiteral:
            return _unescape(text), ValueKind.STRING
        if kind == P.BoolLiteral:
            return text.lower() == "true", ValueKind.BOOL
        if kind == P.BinaryLiteral:
            try:
                return base64.standard_b64decode(text[2:-1]), ValueKind.BINARY
            except (binascii.Error, ValueError) as exc:  # pragma: no cover - the lexer admits valid base64 only
                raise _fail(self.text, f"invalid binary literal {text}") from exc
        if kind == P.HexLiteral:
            return binascii.a2b_hex(text[2:-1]), ValueKind.HEX
        if kind == P.TimestampLiteral:
            return self.timestamp(text), ValueKind.TIMESTAMP
        raise _fail(self.text, f"unsupported literal {text}")  # pragma: no cover - grammar has no others

    def set_literal(self, ctx: Any) -> tuple[frozenset[Scalar], ValueKind]:
        values: list[Scalar] = []
        kinds: set[ValueKind] = set()
        for node in ctx.primitiveLiteral():
            value, kind = self.literal(_first_terminal(node))
            values.append(value)
            kinds.add(ValueKind.BINARY if kind is ValueKind.HEX else kind)
        if not values:
            return frozenset(), ValueKind.NONE
        if len(kinds) > 1 and kinds != {ValueKind.INT, ValueKind.FLOAT}:
            raise _fail(self.text, f"an IN set must hold values of one kind: {ctx.getText()}")
        kind = kinds.pop() if len(kinds) == 1 else ValueKind.FLOAT
        return frozenset(values), kind


def _first_terminal(ctx: Any) -> Any:
    while ctx.getChildCount():
        ctx = ctx.getChild(0)
    return ctx


def _check_regex(text: str, regex: str) -> None:
    import unicodedata

    normal = unicodedata.normalize("NFC", regex)
    try:
        re.compile(normal)
        if all(ord(c) < 256 for c in normal):
            re.compile(normal.encode("latin-1"))
    except re.error as exc:
        raise _fail(text, f"invalid regular expression {regex!r}: {exc}") from exc


def _check_cidr(text: str, literal: str) -> None:
    if parse_ip_network(literal) is None:
        raise _fail(text, f"not an IP address or CIDR network: {literal!r}")


# --- the fast path ----------------------------------------------------------------------------------------
#
# One observation expression whose comparisons are ``path op 'string'`` with op among =, !=, LIKE,
# MATCHES, ISSUBSET, ISSUPERSET (optionally NOT), joined by AND/OR without parentheses, with plain spaces.
# Anything else (or anything doubtful) returns None and goes to the ANTLR grammar. The tests check that
# both paths give the same tree.

KEYWORDS = frozenset(
    [
        "AND",
        "OR",
        "NOT",
        "FOLLOWEDBY",
        "LIKE",
        "MATCHES",
        "ISSUPERSET",
        "ISSUBSET",
        "EXISTS",
        "LAST",
        "IN",
        "START",
        "STOP",
        "SECONDS",
        "true",
        "false",
        "WITHIN",
        "REPEATS",
        "TIMES",
    ]
)
_IDENT_NO_HYPHEN = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_TOKEN = re.compile(
    r"""(?P<ws>\ +)
      |(?P<str>'(?:[^'\\]|\\['\\])*')
      |(?P<word>[a-zA-Z_][a-zA-Z0-9_-]*)
      |(?P<op>!=|=)
      |(?P<punct>[\[\]:.])
    """,
    re.VERBOSE,
)
_WORD_OPS = {
    "LIKE": CompOp.LIKE,
    "MATCHES": CompOp.MATCHES,
    "ISSUBSET": CompOp.ISSUBSET,
    "ISSUPERSET": CompOp.ISSUPERSET,
}


# The commonest shape of all, one comparison with one or two path steps, in one regular expression. What it
# does not take goes through the tokens below, which read the same texts the same way.
_ONE = re.compile(
    r"""\[(?P<type>[a-zA-Z_][a-zA-Z0-9_-]*):(?P<first>[a-zA-Z_][a-zA-Z0-9_]*)
      (?:\.(?:(?P<word>[a-zA-Z_][a-zA-Z0-9_]*)|(?P<quoted>'(?:[^'\\]|\\['\\])*')))?
      \ (?P<op>=|!=|LIKE|MATCHES|ISSUBSET|ISSUPERSET)\ (?P<value>'(?:[^'\\]|\\['\\])*')\]""",
    re.VERBOSE,
)
_ONE_OPS = {"=": CompOp.EQ, "!=": CompOp.NE, **_WORD_OPS}


def _fast_one(text: str) -> Node | None:
    m = _ONE.fullmatch(text)
    if m is None:
        return None
    type_name, first, word, quoted = m.group("type", "first", "word", "quoted")
    if type_name in KEYWORDS or first in KEYWORDS or word in KEYWORDS:
        return None
    steps: tuple[PathStep, ...] = (first,)
    if word is not None:
        steps = (first, word)
    elif quoted is not None:
        steps = (first, _unescape(quoted))
    op = _ONE_OPS[m.group("op")]
    value = _unescape(m.group("value"))
    if op is CompOp.MATCHES:
        _check_regex(text, value)
    elif op in (CompOp.ISSUBSET, CompOp.ISSUPERSET):
        _check_cidr(text, value)
    return Observation(Comparison(ObjectPath(type_name, steps), op, value, ValueKind.STRING, False))


def _fast_parse(text: str) -> Node | None:
    one = _fast_one(text)
    if one is not None:
        return one
    tokens: list[tuple[str, str]] = []
    pos = 0
    n = len(text)
    while pos < n:
        m = _TOKEN.match(text, pos)
        if m is None:
            return None
        kind = m.lastgroup
        assert kind is not None
        if kind != "ws":
            tokens.append((kind, m.group()))
        pos = m.end()
    if len(tokens) < 7 or tokens[0] != ("punct", "[") or tokens[-1] != ("punct", "]"):
        return None
    toks = tokens[1:-1]
    i = 0
    ors: list[Expr] = []
    ands: list[Expr] = []
    while True:
        parsed = _fast_comparison(toks, i, text)
        if parsed is None:
            return None
        comparison, i = parsed
        ands.append(comparison)
        if i == len(toks):
            break
        if toks[i] == ("word", "AND"):
            i += 1
        elif toks[i] == ("word", "OR"):
            ors.append(ands[0] if len(ands) == 1 else BoolExpr(BoolOp.AND, tuple(ands)))
            ands = []
            i += 1
        else:
            return None
    ors.append(ands[0] if len(ands) == 1 else BoolExpr(BoolOp.AND, tuple(ands)))
    return Observation(ors[0] if len(ors) == 1 else BoolExpr(BoolOp.OR, tuple(ors)))


def _fast_comparison(toks: list[tuple[str, str]], i: int, text: str) -> tuple[Comparison, int] | None:
    # type ':' key ('.' key)* ['NOT'] op 'string'
    if i + 5 > len(toks):
        return None
    (k0, type_name), colon = toks[i], toks[i + 1]
    if k0 != "word" or type_name in KEYWORDS or colon != ("punct", ":"):
        return None
    i += 2
    steps: list[PathStep] = []
    while True:
        kind, tok = toks[i]
        if kind == "word":
            if "-" in tok or tok in KEYWORDS:
                return None
            steps.append(tok)
        elif kind == "str":
            steps.append(_unescape(tok))
        else:
            return None
        i += 1
        if i < len(toks) and toks[i] == ("punct", "."):
            i += 1
            if i >= len(toks):
                return None
            continue
        break
    negated = False
    if i < len(toks) and toks[i] == ("word", "NOT"):
        negated = True
        i += 1
    if i + 2 > len(toks):
        return None
    (kind, tok), (vkind, vtok) = toks[i], toks[i + 1]
    if kind == "op":
        op = CompOp.EQ if tok == "=" else CompOp.NE
    elif kind == "word" and tok in _WORD_OPS:
        op = _WORD_OPS[tok]
    else:
        return None
    if vkind != "str":
        return None
    value = _unescape(vtok)
    if op is CompOp.MATCHES:
        _check_regex(text, value)
    elif op in (CompOp.ISSUBSET, CompOp.ISSUPERSET):
        _check_cidr(text, value)
    path = ObjectPath(type_name, tuple(steps))
    return Comparison(path, op, value, ValueKind.STRING, negated), i + 2
