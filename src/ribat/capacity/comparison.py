"""Progress over time: a later result beside an earlier one of the same country and model.

Pure. Two results of the same model id compare subject by subject (factor, dimension or pillar, and overall),
matched by id, so that a later model *version* still compares on every factor both versions have; a subject only
one side has is listed as ``added`` or ``removed`` rather than compared.
"""

from __future__ import annotations

from dataclasses import dataclass

from ribat.capacity.scoring import ModelResult, WeightedResult
from ribat.errors import ValidationError

__all__ = ["Change", "Comparison", "compare"]


@dataclass(frozen=True)
class Change:
    """One subject's value before and after: stage levels (stages models) or 0–100 scores (weighted models)."""

    scope: str
    subject_id: str
    before: float | None
    after: float | None

    @property
    def delta(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before


@dataclass(frozen=True)
class Comparison:
    before_key: str
    after_key: str
    changes: tuple[Change, ...]
    added: tuple[str, ...]
    removed: tuple[str, ...]

    def improved(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if (c.delta or 0) > 0)

    def declined(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if (c.delta or 0) < 0)


def _model_id(key: str) -> str:
    return key.rsplit("@", 1)[0]


def compare(before: ModelResult | WeightedResult, after: ModelResult | WeightedResult) -> Comparison:
    if _model_id(before.model_key) != _model_id(after.model_key):
        raise ValidationError("model", f"cannot compare {before.model_key} with {after.model_key}: different models")
    if isinstance(before, ModelResult) and isinstance(after, ModelResult):
        old = {("factor", f.factor_id): float(f.stage) for d in before.dimensions for f in d.factors}
        new = {("factor", f.factor_id): float(f.stage) for d in after.dimensions for f in d.factors}
        for d in before.dimensions:
            old[("dimension", d.dimension_id)] = d.summary.mean
        for d in after.dimensions:
            new[("dimension", d.dimension_id)] = d.summary.mean
        old[("overall", "")] = before.summary.mean
        new[("overall", "")] = after.summary.mean
    elif isinstance(before, WeightedResult) and isinstance(after, WeightedResult):
        old = {("pillar", q.dimension_id): q.score for q in before.pillars}
        new = {("pillar", q.dimension_id): q.score for q in after.pillars}
        old[("overall", "")] = before.score
        new[("overall", "")] = after.score
    else:
        raise ValidationError("model", "cannot compare a stages result with a weighted one")
    changes = tuple(
        Change(scope, sid, old[(scope, sid)], new[(scope, sid)]) for scope, sid in new if (scope, sid) in old
    )
    added = tuple(f"{scope}:{sid}" for scope, sid in new if (scope, sid) not in old)
    removed = tuple(f"{scope}:{sid}" for scope, sid in old if (scope, sid) not in new)
    return Comparison(before.model_key, after.model_key, changes, added, removed)
