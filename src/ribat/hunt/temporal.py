"""Observation operators and qualifiers over time-ordered observed-data (STIX 2.1 §9, Patterning).

This module knows nothing of STIX objects. It works on:

* ``hits[i]`` — which observed-data (by index) the ``i``-th observation expression of the pattern matches
  (observation expressions numbered in text order, as ``Pattern.observations()`` lists them);
* ``Occurrence(first, last, count)`` per observed-data — its ``first_observed``/``last_observed`` in
  microseconds and its ``number_observed``.

Semantics (those of ``stix2-matcher``, the reference implementation)
--------------------------------------------------------------------
An observed-data seen ``number_observed = n`` times stands for ``n`` interchangeable observations sharing
its time interval. A *binding* assigns observations to the observation expressions of the pattern; no
observation may serve twice. A binding is therefore a multiset of observed-data indexes in which each
index appears at most ``number_observed`` times. The pattern matches when a binding exists:

* ``[…]``: one observation of a matching observed-data;
* ``A OR B``: a binding of ``A`` or one of ``B``;
* ``A AND B``: a binding of ``A`` plus a binding of ``B``, together within the multiplicities;
* ``A FOLLOWEDBY B``: as ``AND``, and the latest ``first_observed`` on the ``A`` side is no later than the
  earliest ``last_observed`` on the ``B`` side (timestamps can be chosen inside each interval so that all
  of ``A`` precedes or equals all of ``B``);
* ``A REPEATS n TIMES``: ``n`` bindings of ``A``, together within the multiplicities;
* ``A WITHIN s SECONDS``: a binding of ``A`` whose latest ``first_observed`` minus earliest
  ``last_observed`` is at most ``s`` (a window of ``s`` seconds touches every interval);
* ``A START t1 STOP t2``: a binding of ``A`` in which every interval overlaps ``[t1, t2)``:
  ``first_observed < t2`` and ``last_observed >= t1`` (and nothing when ``t1 >= t2``).

How it is computed
------------------
Bindings are built bottom-up as multisets (``((index, times), …)``), never as the matcher's per-instance
tuples, so interchangeable observations are not enumerated separately. Three reductions keep the sets
small without changing the answer, because every constraint above only gets harder as a binding grows:

* ``START``/``STOP`` is pushed down to the observation expressions (a binding passes iff every member
  does);
* under a ``WITHIN s`` any partial binding already spanning more than ``s`` is dropped;
* a binding that contains another binding of the same sub-pattern is dropped (the smaller one can stand
  in for it anywhere).

At the top of the pattern only existence is asked, so ``OR`` stops at the first branch that matches,
``X REPEATS n TIMES [WITHIN s]`` over single observations is answered by counting — a sweep over the
intervals — instead of enumerating combinations, and ``X AND|FOLLOWEDBY Y [WITHIN s]`` over single
observations stops at the first pair that fits.

Limits: ``AND``/``FOLLOWEDBY``/``REPEATS`` below the top still enumerate the (reduced) combinations, so a
sub-pattern like ``([a] REPEATS 5 TIMES) FOLLOWEDBY [b]`` with thousands of matching observed-data is
combinatorial, as it is in the reference matcher (which enumerates instances, so worse).

Streaming
---------
``BindingStream`` takes observed-data one at a time in non-decreasing ``first_observed`` order and
reports, for each one, a binding it completes. A pattern whose top is ``WITHIN s`` (or an ``OR`` of such,
or single observation expressions) only keeps what can still meet a later arrival: entries whose
``last_observed`` is older than the newest ``first_observed`` minus the horizon are dropped, so memory is
bounded by the traffic inside the window and the answers equal the batch ones. Other patterns keep every
matching entry up to ``max_buffer`` entries and then drop the oldest (counted in ``dropped``); only then
can a late binding be missed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ribat.errors import ValidationError
from ribat.hunt.patterns import Node, Observation, ObsOp, ObsOperator, Qualified

__all__ = ["BindingStream", "Occurrence", "Plan", "plan"]


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One observed-data in time: ``first``/``last`` observed (µs since the epoch) and ``count`` observed."""

    first: int
    last: int
    count: int


# A binding: ((index, times), …) sorted by index, latest first_observed, earliest last_observed.
Counts = tuple[tuple[int, int], ...]
_Binding = tuple[Counts, int, int]

_LEAF, _OR, _AND, _SEQ, _REP, _WITHIN, _WINDOW = range(7)
_UNBOUNDED = 1 << 80
_MINIMISE_UP_TO = 400  # larger sets skip the containment reduction (an optimisation only)


class Plan:
    """A pattern tree in the shape the evaluator walks; build it once with ``plan(root)``."""

    __slots__ = ("children", "end", "kind", "leaf", "number", "start")

    def __init__(
        self,
        kind: int,
        children: tuple[Plan, ...] = (),
        *,
        leaf: int = -1,
        number: int = 0,
        start: int = 0,
        end: int = 0,
    ) -> None:
        self.kind = kind
        self.children = children
        self.leaf = leaf  # _LEAF: position of the observation expression
        self.number = number  # _REP: times; _WITHIN: microseconds
        self.start = start  # _WINDOW
        self.end = end  # _WINDOW

    @property
    def leaves(self) -> int:
        """How many observation expressions the plan has."""
        if self.kind == _LEAF:
            return 1
        return sum(child.leaves for child in self.children)

    @property
    def horizon(self) -> int | None:
        """The longest time (µs) two observed-data of one binding can be apart, ``None`` if unbounded."""
        if self.kind == _LEAF:
            return 0
        if self.kind == _OR:
            spans = [child.horizon for child in self.children]
            return None if any(s is None for s in spans) else max(s for s in spans if s is not None)
        if self.kind == _WINDOW:
            return self.children[0].horizon
        if self.kind == _WITHIN:
            inner = self.children[0].horizon
            return self.number if inner is None else min(inner, self.number)
        if self.kind == _REP and self.number == 1:
            return self.children[0].horizon
        return None

    # -- batch ------------------------------------------------------------------------------------------

    def exists(self, hits: Sequence[Sequence[int]], occurrences: Mapping[int, Occurrence]) -> bool:
        """Whether some binding exists (the pattern matches)."""
        return _Eval(hits, occurrences).exists(self, ())

    def binding(
        self,
        hits: Sequence[Sequence[int]],
        occurrences: Mapping[int, Occurrence],
        *,
        including: int | None = None,
    ) -> tuple[int, ...] | None:
        """One binding as sorted distinct observed-data indexes, or ``None``.

        Among the bindings the one completed earliest is preferred (smallest largest index, where
        enumeration is needed; the counting shortcuts take the earliest they find). With ``including``,
        only bindings that use that observed-data count.
        """
        return _Eval(hits, occurrences).find(self, (), including)

    def bindings(
        self, hits: Sequence[Sequence[int]], occurrences: Mapping[int, Occurrence]
    ) -> list[tuple[tuple[int, int], ...]]:
        """Every minimal binding as ``((index, times), …)``, in order of completion."""
        found = _minimal(_Eval(hits, occurrences).bindings(self, (), _UNBOUNDED), force=True)
        return sorted((b[0] for b in found), key=lambda c: (c[-1][0], c))


def plan(root: Node) -> Plan:
    """Turn a pattern tree into a ``Plan``; observation expressions are numbered in text order."""
    counter = [0]

    def build(node: Node) -> Plan:
        if isinstance(node, Observation):
            counter[0] += 1
            return Plan(_LEAF, leaf=counter[0] - 1)
        if isinstance(node, ObsOp):
            kind = {ObsOperator.OR: _OR, ObsOperator.AND: _AND, ObsOperator.FOLLOWEDBY: _SEQ}[node.op]
            return Plan(kind, tuple(build(child) for child in node.children))
        assert isinstance(node, Qualified)
        child = build(node.child)
        if node.repeats is not None:
            return Plan(_REP, (child,), number=node.repeats)
        if node.within_us is not None:
            return Plan(_WITHIN, (child,), number=node.within_us)
        assert node.start is not None and node.stop is not None
        return Plan(_WINDOW, (child,), start=node.start, end=node.stop)

    return build(root)


def _uses(counts: Counts, index: int) -> bool:
    return any(i == index for i, _ in counts)


def _merge(a: Counts, b: Counts, occ: Mapping[int, Occurrence]) -> Counts | None:
    """The multiset sum of two bindings, or ``None`` if some observed-data would be used too often."""
    if len(b) == 1:
        ((j, m),) = b
        out = list(a)
        for pos, (i, n) in enumerate(a):
            if i == j:
                if n + m > occ[i].count:
                    return None
                out[pos] = (i, n + m)
                return tuple(out)
            if i > j:
                out.insert(pos, (j, m))
                return tuple(out)
        out.append((j, m))
        return tuple(out)
    merged: dict[int, int] = dict(a)
    for j, m in b:
        total = merged.get(j, 0) + m
        if total > occ[j].count:
            return None
        merged[j] = total
    return tuple(sorted(merged.items()))


def _contains(big: Counts, small: Counts) -> bool:
    have = dict(big)
    return all(have.get(i, 0) >= n for i, n in small)


def _minimal(bindings: list[_Binding], *, force: bool = False) -> list[_Binding]:
    """Drop duplicates and bindings that contain another binding."""
    unique = list({b[0]: b for b in bindings}.values())
    if len(unique) < 2 or (len(unique) > _MINIMISE_UP_TO and not force):
        return unique
    unique.sort(key=lambda b: sum(n for _, n in b[0]))
    kept: list[_Binding] = []
    for b in unique:
        size = sum(n for _, n in b[0])
        if not any(sum(n for _, n in k[0]) < size and _contains(b[0], k[0]) for k in kept):
            kept.append(b)
    return kept


Windows = tuple[tuple[int, int], ...]


class _Eval:
    __slots__ = ("hits", "occ")

    def __init__(self, hits: Sequence[Sequence[int]], occurrences: Mapping[int, Occurrence]) -> None:
        self.hits = hits
        self.occ = occurrences

    # -- all bindings ---------------------------------------------------------------------------------

    def bindings(self, p: Plan, windows: Windows, limit: int) -> list[_Binding]:
        kind = p.kind
        occ = self.occ
        if kind == _LEAF:
            out: list[_Binding] = []
            for i in dict.fromkeys(self.hits[p.leaf]):
                o = occ[i]
                if all(o.first < stop and o.last >= start for start, stop in windows):
                    out.append((((i, 1),), o.first, o.last))
            return out
        if kind == _WINDOW:
            if p.start >= p.end:
                return []
            return self.bindings(p.children[0], (*windows, (p.start, p.end)), limit)
        if kind == _WITHIN:
            span = min(limit, p.number)
            return [b for b in self.bindings(p.children[0], windows, span) if b[1] - b[2] <= p.number]
        if kind == _OR:
            union: list[_Binding] = []
            for child in p.children:
                union.extend(self.bindings(child, windows, limit))
            return _minimal(union)
        if kind == _REP:
            base = self.bindings(p.children[0], windows, limit)
            acc = base
            for _ in range(p.number - 1):
                acc = self._combine(acc, base, limit, ordered=False)
                if not acc:
                    break
            return acc
        # AND / FOLLOWEDBY
        acc = self.bindings(p.children[0], windows, limit)
        for child in p.children[1:]:
            if not acc:
                return []
            acc = self._combine(acc, self.bindings(child, windows, limit), limit, ordered=kind == _SEQ)
        return acc

    def _combine(self, left: list[_Binding], right: list[_Binding], limit: int, *, ordered: bool) -> list[_Binding]:
        occ = self.occ
        out: dict[Counts, _Binding] = {}
        for counts_a, first_a, last_a in left:
            for counts_b, first_b, last_b in right:
                if ordered and first_a > last_b:
                    continue
                first = first_a if first_a > first_b else first_b
                last = last_a if last_a < last_b else last_b
                if first - last > limit:
                    continue
                counts = _merge(counts_a, counts_b, occ)
                if counts is not None and counts not in out:
                    out[counts] = (counts, first, last)
        return _minimal(list(out.values()))

    # -- the top of the pattern: one binding is enough ----------------------------------------------

    def exists(self, p: Plan, windows: Windows) -> bool:
        if p.kind == _OR:
            return any(self.exists(child, windows) for child in p.children)
        if p.kind == _WINDOW:
            if p.start >= p.end:
                return False
            return self.exists(p.children[0], (*windows, (p.start, p.end)))
        pair = self.pair_of_singles(p, windows)
        if pair is not None:
            return self.pair_exists(*pair)
        return self.find(p, windows, None) is not None

    def pair_of_singles(self, p: Plan, windows: Windows) -> tuple[bool, int | None, set[int], set[int]] | None:
        """``(ordered, s, left, right)`` when ``p`` is ``X AND|FOLLOWEDBY Y [WITHIN s]`` over single observations."""
        within = None
        if p.kind == _WITHIN:
            within = p.number
            p = p.children[0]
        if p.kind not in (_AND, _SEQ) or len(p.children) != 2:
            return None
        left = self.singles(p.children[0], windows)
        right = self.singles(p.children[1], windows) if left is not None else None
        if left is None or right is None:
            return None
        return p.kind == _SEQ, within, left, right

    def pair_exists(self, ordered: bool, within: int | None, left: set[int], right: set[int]) -> bool:
        """Existence for a pair of single observations: stops at the first pair that fits."""
        occ = self.occ
        limit = _UNBOUNDED if within is None else within
        rights = [(j, occ[j]) for j in right]
        for i in left:
            a = occ[i]
            for j, b in rights:
                if i == j and a.count < 2:
                    continue
                if ordered and a.first > b.last:
                    continue
                if max(a.first, b.first) - min(a.last, b.last) <= limit:
                    return True
        return False

    def find(self, p: Plan, windows: Windows, including: int | None) -> tuple[int, ...] | None:
        kind = p.kind
        if kind == _OR:
            found = [f for child in p.children if (f := self.find(child, windows, including)) is not None]
            return min(found, key=lambda f: (f[-1], f)) if found else None
        if kind == _WINDOW:
            if p.start >= p.end:
                return None
            return self.find(p.children[0], (*windows, (p.start, p.end)), including)
        singles = self.singles(p, windows)
        if singles is not None:
            if including is not None:
                return (including,) if including in singles else None
            return (min(singles),) if singles else None
        shape = self.repeat_of_singles(p, windows)
        if shape is not None:
            return self.counted_repeat(*shape, including)
        every = self.bindings(p, windows, _UNBOUNDED)
        if including is not None:
            every = [b for b in every if _uses(b[0], including)]
        if not every:
            return None
        best = min(every, key=lambda b: (b[0][-1][0], [i for i, _ in b[0]]))
        return tuple(i for i, _ in best[0])

    def singles(self, p: Plan, windows: Windows) -> set[int] | None:
        """For a sub-pattern whose bindings are single observations, the observed-data that bind it."""
        kind = p.kind
        if kind == _LEAF:
            occ = self.occ
            return {
                i
                for i in self.hits[p.leaf]
                if all(occ[i].first < stop and occ[i].last >= start for start, stop in windows)
            }
        if kind == _OR:
            out: set[int] = set()
            for child in p.children:
                sub = self.singles(child, windows)
                if sub is None:
                    return None
                out |= sub
            return out
        if kind == _WINDOW:
            if p.start >= p.end:
                return set()
            return self.singles(p.children[0], (*windows, (p.start, p.end)))
        if kind == _WITHIN or (kind == _REP and p.number == 1):
            # one observation spans first - last <= 0, so WITHIN never removes it
            return self.singles(p.children[0], windows)
        return None

    def repeat_of_singles(self, p: Plan, windows: Windows) -> tuple[int, int | None, set[int]] | None:
        """``(n, s, candidates)`` when ``p`` is ``X REPEATS n TIMES [WITHIN s]`` over single observations."""
        within = None
        if p.kind == _WITHIN:
            within = p.number
            p = p.children[0]
        if p.kind != _REP:
            return None
        singles = self.singles(p.children[0], windows)
        return None if singles is None else (p.number, within, singles)

    def counted_repeat(
        self, times: int, within: int | None, singles: set[int], including: int | None
    ) -> tuple[int, ...] | None:
        """A binding of ``X REPEATS times TIMES [WITHIN within]`` over ``singles``, found by counting."""
        if including is not None and including not in singles:
            return None
        occ = self.occ
        if within is None:
            order = sorted(singles)
            if including is not None:
                order.remove(including)
                order.insert(0, including)
            return _take(order, times, occ)
        # Sweep: an observed-data can join a window anchored at L (every member's last >= L and
        # first <= L + within) for L in [first - within, last]; find an L where enough can join.
        lo, hi = -_UNBOUNDED, _UNBOUNDED
        if including is not None:
            lo, hi = occ[including].first - within, occ[including].last
        events: list[tuple[int, int, int]] = []
        for i in singles:
            o = occ[i]
            start, end = max(o.first - within, lo), min(o.last, hi)
            if start <= end:
                events.append((start, 0, i))
                events.append((end, 1, i))
        events.sort()
        active: dict[int, None] = {}
        total = 0
        for _, leaving, i in events:
            if leaving:
                total -= occ[i].count
                del active[i]
                continue
            active[i] = None
            total += occ[i].count
            if total >= times and (including is None or including in active):
                order = sorted(active)
                if including is not None:
                    order.remove(including)
                    order.insert(0, including)
                return _take(order, times, occ)
        return None


def _take(order: list[int], times: int, occ: Mapping[int, Occurrence]) -> tuple[int, ...] | None:
    total = 0
    used: list[int] = []
    for i in order:
        used.append(i)
        total += occ[i].count
        if total >= times:
            return tuple(sorted(used))
    return None


class BindingStream:
    """Incremental evaluation for observed-data arriving in time order (see the module docstring).

    ``push(hits, occurrence)`` takes the positions of the observation expressions the new observed-data
    matches and its occurrence, and returns the sequence numbers (0, 1, … in arrival order) of a binding
    that uses it, or ``None``.
    """

    def __init__(self, root: Plan, *, max_buffer: int = 100_000) -> None:
        self.plan = root
        self.max_buffer = max_buffer
        self.horizon = root.horizon
        self.dropped = 0
        self._leaves = root.leaves
        self._occ: dict[int, Occurrence] = {}
        self._hits: dict[int, tuple[int, ...]] = {}
        self._next = 0
        self._clock: int | None = None

    def __len__(self) -> int:
        return len(self._occ)

    def push(self, hits: Sequence[int], occurrence: Occurrence) -> tuple[int, ...] | None:
        seq = self._next
        self._next += 1
        if self._clock is not None and occurrence.first < self._clock:
            raise ValidationError("first_observed", "observed-data must arrive in time order")
        self._clock = occurrence.first
        self._evict(occurrence.first)
        if not hits:
            return None
        if self.plan.kind == _LEAF:
            return (seq,)
        self._occ[seq] = occurrence
        self._hits[seq] = tuple(hits)
        if len(self._occ) > self.max_buffer:
            oldest = next(iter(self._occ))
            del self._occ[oldest]
            del self._hits[oldest]
            self.dropped += 1
        per_leaf: list[list[int]] = [[] for _ in range(self._leaves)]
        for s, leaves in self._hits.items():
            for leaf in leaves:
                per_leaf[leaf].append(s)
        return self.plan.binding(per_leaf, self._occ, including=seq)

    def _evict(self, now: int) -> None:
        if self.horizon is None:
            return
        cutoff = now - self.horizon
        stale = [s for s, o in self._occ.items() if o.last < cutoff]
        for s in stale:
            del self._occ[s]
            del self._hits[s]
