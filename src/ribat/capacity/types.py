"""Plain data of a maturity model: stages, dimensions, factors, aspects, indicators and tiers.

A model is a tree ``Model → Dimension → Factor → Aspect (optional) → Indicator``. Two kinds exist:

* ``stages`` (CMM style): each indicator sits at one of the model's ordered stages; a factor reaches
  a stage when the indicators of that stage and of every lower stage are met.
* ``weighted`` (GCI style): each indicator is a weighted yes/no question; dimensions ("pillars")
  carry weights; the result is a 0–100 score placed in one of the model's tiers.

Every human-readable text is a :data:`Text`: a mapping of language code to string with ``en``,
``ar`` and ``fr`` always present and non-empty (the loader guarantees it).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

from ribat.errors import NotFoundError

__all__ = [
    "KINDS",
    "LANGUAGES",
    "Aspect",
    "Dimension",
    "Factor",
    "Indicator",
    "Kind",
    "Model",
    "Stage",
    "Text",
    "Tier",
    "localized",
]

Text = Mapping[str, str]
"""Language code → string; ``en``, ``ar`` and ``fr`` are always present."""

LANGUAGES: tuple[str, ...] = ("en", "ar", "fr")
"""The languages every text of a model must carry."""

Kind = Literal["stages", "weighted"]
KINDS: tuple[Kind, ...] = ("stages", "weighted")


def localized(text: Text, language: str) -> str:
    """``text`` in ``language``, falling back to English for a language the text lacks."""
    return text.get(language) or text["en"]


@dataclass(frozen=True)
class Stage:
    """One maturity stage; ``level`` is its 1-based rank (1 = lowest) in ``Model.stages``."""

    id: str
    level: int
    name: Text
    description: Text | None = None


@dataclass(frozen=True)
class Tier:
    """A band of the 0–100 score of a weighted model: scores ``>= lower_bound`` (up to the next tier) fall in it."""

    id: str
    lower_bound: float
    name: Text


@dataclass(frozen=True)
class Indicator:
    """One thing an assessor answers.

    ``stage`` is a stage id of the model for ``stages`` models and ``None`` for ``weighted`` models.
    ``weight`` is positive; in a weighted model it is the question's share within its dimension.
    ``dimension``, ``factor`` and ``aspect`` are the ids of the containing nodes (``aspect`` is
    ``None`` when the indicator sits directly under its factor). ``evidence`` names the metrics the
    platform can offer as evidence for it (ids of ``ribat.capacity.evidence.METRICS``).
    """

    id: str
    stage: str | None
    weight: float
    text: Text
    dimension: str
    factor: str
    aspect: str | None = None
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class Aspect:
    """An optional grouping of indicators inside a factor."""

    id: str
    name: Text
    indicators: tuple[Indicator, ...]


@dataclass(frozen=True)
class Factor:
    """A factor of a dimension.

    ``indicators`` holds *every* indicator of the factor, those under its aspects included, in file
    order; ``aspects`` keeps the grouping (each aspect's indicators are also in ``indicators``).
    """

    id: str
    name: Text
    indicators: tuple[Indicator, ...]
    aspects: tuple[Aspect, ...] = ()
    weight: float = 1.0
    description: Text | None = None

    def at_stage(self, stage: str) -> tuple[Indicator, ...]:
        """The factor's indicators at ``stage`` (a stage id)."""
        return tuple(i for i in self.indicators if i.stage == stage)


@dataclass(frozen=True)
class Dimension:
    """A dimension (a "pillar" in a weighted model); ``weight`` is its share of the overall score."""

    id: str
    name: Text
    factors: tuple[Factor, ...]
    weight: float = 1.0
    description: Text | None = None

    def indicators(self) -> Iterator[Indicator]:
        for factor in self.factors:
            yield from factor.indicators


@dataclass(frozen=True)
class Model:
    """A versioned maturity model. ``stages`` is empty for ``weighted`` models; ``tiers`` (ascending
    lower bounds, the first at 0) is empty for ``stages`` models."""

    id: str
    version: str
    kind: Kind
    title: Text
    dimensions: tuple[Dimension, ...]
    stages: tuple[Stage, ...] = ()
    tiers: tuple[Tier, ...] = ()
    description: Text | None = None

    @property
    def key(self) -> str:
        """``id@version``: what an assessment pins."""
        return f"{self.id}@{self.version}"

    def indicators(self) -> Iterator[Indicator]:
        """Every indicator, in file order."""
        for dimension in self.dimensions:
            yield from dimension.indicators()

    def factors(self) -> Iterator[tuple[Dimension, Factor]]:
        """Every ``(dimension, factor)`` pair, in file order."""
        for dimension in self.dimensions:
            for factor in dimension.factors:
                yield dimension, factor

    def indicator(self, indicator_id: str) -> Indicator:
        for indicator in self.indicators():
            if indicator.id == indicator_id:
                return indicator
        raise NotFoundError("indicator", indicator_id)

    def dimension(self, dimension_id: str) -> Dimension:
        for dimension in self.dimensions:
            if dimension.id == dimension_id:
                return dimension
        raise NotFoundError("dimension", dimension_id)

    def factor(self, factor_id: str) -> Factor:
        for _, factor in self.factors():
            if factor.id == factor_id:
                return factor
        raise NotFoundError("factor", factor_id)

    def stage(self, stage_id: str) -> Stage:
        for stage in self.stages:
            if stage.id == stage_id:
                return stage
        raise NotFoundError("stage", stage_id)

    def tier_for(self, score: float) -> Tier:
        """The tier holding ``score`` (0–100): the one with the highest lower bound not above it."""
        if not self.tiers:
            raise NotFoundError("tier", f"{self.key} has no tiers")
        chosen = self.tiers[0]
        for tier in self.tiers:
            if score >= tier.lower_bound:
                chosen = tier
        return chosen
