"""Load and validate maturity model files (YAML or JSON) into :mod:`ribat.capacity.types`.

Files are parsed with PyYAML's composer so every node keeps its line; any fault raises
:class:`ribat.errors.ModelFileError` whose message names the file, the line and the field, e.g.
``models/bad.yaml:14: dimensions[1].factors[0].indicators[2].stage: 'expert' is not a stage of this model``.
The file format is described in ``docs/capacity-models.md``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ribat.capacity.evidence import METRIC_IDS
from ribat.capacity.types import (
    KINDS,
    LANGUAGES,
    Aspect,
    Dimension,
    Factor,
    Indicator,
    Kind,
    Model,
    Stage,
    Text,
    Tier,
)
from ribat.errors import ModelFileError

__all__ = ["MODEL_SUFFIXES", "SHIPPED_MODELS", "load_model", "load_models", "parse_model", "shipped_models"]

MODEL_SUFFIXES = (".yaml", ".yml", ".json")
SHIPPED_MODELS = Path(__file__).resolve().parent / "models"
"""The directory of the models that ship with Ribat."""

_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_T = TypeVar("_T")

_MODEL_KEYS = {"id", "version", "kind", "title", "description", "stages", "tiers", "dimensions"}
_STAGE_KEYS = {"id", "name", "description"}
_TIER_KEYS = {"id", "lower_bound", "name"}
_DIMENSION_KEYS = {"id", "name", "description", "weight", "factors"}
_FACTOR_KEYS = {"id", "name", "description", "weight", "aspects", "indicators"}
_ASPECT_KEYS = {"id", "name", "indicators"}
_INDICATOR_KEYS = {"id", "stage", "weight", "text", "evidence"}


def load_model(path: str | Path) -> Model:
    """Read and validate one model file (``.yaml``, ``.yml`` or ``.json``)."""
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelFileError(str(path), None, "", f"cannot read the file: {exc}") from exc
    return parse_model(raw, str(path))


def load_models(directory: str | Path) -> list[Model]:
    """Every model file in ``directory`` (not recursive), sorted by file name.

    Two files declaring the same ``id`` and ``version`` are refused.
    """
    directory = Path(directory)
    models: list[Model] = []
    seen: dict[str, Path] = {}
    for path in sorted(p for p in directory.iterdir() if p.is_file() and p.suffix.lower() in MODEL_SUFFIXES):
        model = load_model(path)
        if model.key in seen:
            raise ModelFileError(str(path), 1, "id", f"model {model.key} is also defined in {seen[model.key]}")
        seen[model.key] = path
        models.append(model)
    return models


def shipped_models() -> list[Model]:
    """The models that ship with Ribat (``coalition-cmm``, ``gci-style``)."""
    return load_models(SHIPPED_MODELS)


def parse_model(text: str, source: str = "<model>") -> Model:
    """Validate a model given as YAML or JSON ``text``; ``source`` names it in error messages."""
    if source.lower().endswith(".json"):
        try:
            json.loads(text)
        except json.JSONDecodeError as exc:
            raise ModelFileError(source, exc.lineno, "", f"invalid JSON: {exc.msg}") from exc
        # A raw tab cannot occur inside a JSON string, so every tab is whitespace, which YAML refuses.
        text = text.replace("\t", " ")
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise ModelFileError(source, line, "", f"invalid YAML: {exc.problem or exc.context}") from exc
    except yaml.YAMLError as exc:
        raise ModelFileError(source, None, "", f"invalid YAML: {exc}") from exc
    finally:
        loader.dispose()
    if root is None:
        raise ModelFileError(source, 1, "", "the file is empty")
    return _Reader(source, loader).model(root)


@dataclass
class _Reader:
    source: str
    loader: yaml.SafeLoader
    ids: dict[str, str] = field(default_factory=dict)
    stage_ids: tuple[str, ...] = ()
    kind: Kind = "stages"

    # -- errors and primitives -------------------------------------------------------------

    def fail(self, node: Node, where: str, reason: str) -> ModelFileError:
        return ModelFileError(self.source, node.start_mark.line + 1, where, reason)

    def mapping(self, node: Node, where: str, allowed: set[str], required: set[str]) -> dict[str, tuple[Node, Node]]:
        """The mapping's ``key → (key node, value node)``; refuses unknown, duplicate and missing keys."""
        if not isinstance(node, MappingNode):
            raise self.fail(node, where or "<document>", f"must be a mapping, not {_describe(node)}")
        entries: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, ScalarNode) else None
            if not isinstance(key, str):
                raise self.fail(key_node, where or "<document>", "keys must be plain strings")
            here = _join(where, key)
            if key in entries:
                raise self.fail(key_node, here, "duplicate key")
            if key not in allowed:
                raise self.fail(key_node, here, f"unknown key (allowed: {', '.join(sorted(allowed))})")
            entries[key] = (key_node, value_node)
        for key in sorted(required - entries.keys()):
            raise self.fail(node, _join(where, key), "required field is missing")
        return entries

    def scalar(self, node: Node, where: str) -> object:
        if not isinstance(node, ScalarNode):
            raise self.fail(node, where, f"must be a single value, not {_describe(node)}")
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            problem = exc.problem if isinstance(exc, yaml.MarkedYAMLError) else exc
            raise self.fail(node, where, f"cannot read the value {node.value!r}: {problem}") from exc

    def string(self, node: Node, where: str) -> str:
        value = self.scalar(node, where)
        if not isinstance(value, str):
            hint = f' (quote it: "{node.value}")' if isinstance(node, ScalarNode) else ""
            raise self.fail(node, where, f"must be a string, not {type(value).__name__}{hint}")
        if not value.strip():
            raise self.fail(node, where, "must not be empty")
        return value.strip()

    def identifier(self, node: Node, where: str, *, register: bool = True) -> str:
        value = self.string(node, where)
        if not _ID.match(value):
            raise self.fail(node, where, f"{value!r} is not a valid id (lower-case letters, digits, '.', '_', '-')")
        if register:
            if value in self.ids:
                raise self.fail(node, where, f"duplicate id {value!r} (first used at {self.ids[value]})")
            self.ids[value] = where
        return value

    def number(self, node: Node, where: str) -> float:
        value = self.scalar(node, where)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self.fail(
                node, where, f"must be a number, not {node.value!r}" if isinstance(node, ScalarNode) else ""
            )
        return float(value)

    def weight(self, node: Node, where: str) -> float:
        value = self.number(node, where)
        if value <= 0:
            raise self.fail(node, where, f"must be a positive number, not {_num(value)}")
        return value

    def text(self, node: Node, where: str) -> Text:
        if not isinstance(node, MappingNode):
            raise self.fail(node, where, f"must be a mapping of language to text ({', '.join(LANGUAGES)})")
        texts: dict[str, str] = {}
        for key_node, value_node in node.value:
            language = key_node.value if isinstance(key_node, ScalarNode) else None
            if not isinstance(language, str) or not _LANGUAGE.match(language):
                raise self.fail(key_node, where, f"{language!r} is not a language code")
            if language in texts:
                raise self.fail(key_node, f"{where}.{language}", "duplicate language")
            texts[language] = self.string(value_node, f"{where}.{language}")
        for language in LANGUAGES:
            if language not in texts:
                raise self.fail(node, f"{where}.{language}", "text is missing in this language")
        return MappingProxyType(texts)

    def sequence(self, node: Node, where: str, *, allow_empty: bool = False) -> Iterator[tuple[Node, str]]:
        if not isinstance(node, SequenceNode):
            raise self.fail(node, where, f"must be a list, not {_describe(node)}")
        if not node.value and not allow_empty:
            raise self.fail(node, where, "must not be empty")
        for index, item in enumerate(node.value):
            yield item, f"{where}[{index}]"

    def optional(
        self, entries: dict[str, tuple[Node, Node]], key: str, where: str, read: Callable[[Node, str], _T]
    ) -> _T | None:
        if key not in entries:
            return None
        return read(entries[key][1], _join(where, key))

    # -- the tree --------------------------------------------------------------------------

    def model(self, node: Node) -> Model:
        entries = self.mapping(node, "", _MODEL_KEYS, {"id", "version", "kind", "title", "dimensions"})
        model_id = self.identifier(entries["id"][1], "id", register=False)
        version = self.string(entries["version"][1], "version")
        kind_node = entries["kind"][1]
        kind = self.string(kind_node, "kind")
        if kind not in KINDS:
            raise self.fail(kind_node, "kind", f"{kind!r} is not a model kind (use {', '.join(KINDS)})")
        self.kind = kind
        title = self.text(entries["title"][1], "title")
        description = self.optional(entries, "description", "", self.text)
        stages = self.stages(node, entries)
        tiers = self.tiers(node, entries)
        dimensions = tuple(self.dimension(n, w) for n, w in self.sequence(entries["dimensions"][1], "dimensions"))
        return Model(
            id=model_id,
            version=version,
            kind=self.kind,
            title=title,
            dimensions=dimensions,
            stages=stages,
            tiers=tiers,
            description=description,
        )

    def stages(self, root: Node, entries: dict[str, tuple[Node, Node]]) -> tuple[Stage, ...]:
        if self.kind == "weighted":
            if "stages" in entries:
                raise self.fail(entries["stages"][0], "stages", "a weighted model has no stages (it has tiers)")
            return ()
        if "stages" not in entries:
            raise self.fail(root, "stages", "required field is missing for a model of kind 'stages'")
        stages: list[Stage] = []
        for level, (node, where) in enumerate(self.sequence(entries["stages"][1], "stages"), start=1):
            fields = self.mapping(node, where, _STAGE_KEYS, {"id", "name"})
            id_node = fields["id"][1]
            stage_id = self.identifier(id_node, f"{where}.id", register=False)
            if stage_id in (s.id for s in stages):
                raise self.fail(id_node, f"{where}.id", f"duplicate stage id {stage_id!r}")
            stages.append(
                Stage(
                    id=stage_id,
                    level=level,
                    name=self.text(fields["name"][1], f"{where}.name"),
                    description=self.optional(fields, "description", where, self.text),
                )
            )
        self.stage_ids = tuple(s.id for s in stages)
        return tuple(stages)

    def tiers(self, root: Node, entries: dict[str, tuple[Node, Node]]) -> tuple[Tier, ...]:
        if self.kind == "stages":
            if "tiers" in entries:
                raise self.fail(entries["tiers"][0], "tiers", "a model of kind 'stages' has no tiers (it has stages)")
            return ()
        if "tiers" not in entries:
            raise self.fail(root, "tiers", "required field is missing for a weighted model")
        tiers: list[Tier] = []
        for node, where in self.sequence(entries["tiers"][1], "tiers"):
            fields = self.mapping(node, where, _TIER_KEYS, {"id", "lower_bound", "name"})
            id_node = fields["id"][1]
            tier_id = self.identifier(id_node, f"{where}.id", register=False)
            if tier_id in (t.id for t in tiers):
                raise self.fail(id_node, f"{where}.id", f"duplicate tier id {tier_id!r}")
            bound_node = fields["lower_bound"][1]
            bound = self.number(bound_node, f"{where}.lower_bound")
            if not 0 <= bound <= 100:
                raise self.fail(bound_node, f"{where}.lower_bound", f"must be between 0 and 100, not {_num(bound)}")
            if not tiers and bound != 0:
                raise self.fail(bound_node, f"{where}.lower_bound", "the first tier must start at 0")
            if tiers and bound <= tiers[-1].lower_bound:
                raise self.fail(
                    bound_node,
                    f"{where}.lower_bound",
                    f"tiers must be in ascending order: {_num(bound)} is not above {_num(tiers[-1].lower_bound)}",
                )
            tiers.append(Tier(id=tier_id, lower_bound=bound, name=self.text(fields["name"][1], f"{where}.name")))
        return tuple(tiers)

    def dimension(self, node: Node, where: str) -> Dimension:
        fields = self.mapping(node, where, _DIMENSION_KEYS, {"id", "name", "factors"})
        dimension_id = self.identifier(fields["id"][1], f"{where}.id")
        factors = tuple(
            self.factor(n, w, dimension_id) for n, w in self.sequence(fields["factors"][1], f"{where}.factors")
        )
        return Dimension(
            id=dimension_id,
            name=self.text(fields["name"][1], f"{where}.name"),
            factors=factors,
            weight=self.optional(fields, "weight", where, self.weight) or 1.0,
            description=self.optional(fields, "description", where, self.text),
        )

    def factor(self, node: Node, where: str, dimension_id: str) -> Factor:
        fields = self.mapping(node, where, _FACTOR_KEYS, {"id", "name"})
        factor_id = self.identifier(fields["id"][1], f"{where}.id")
        name = self.text(fields["name"][1], f"{where}.name")
        if "aspects" not in fields and "indicators" not in fields:
            raise self.fail(
                node, f"{where}.indicators", "required field is missing (a factor needs indicators or aspects)"
            )
        indicators: list[Indicator] = []
        if "indicators" in fields:
            for n, w in self.sequence(fields["indicators"][1], f"{where}.indicators"):
                indicators.append(self.indicator(n, w, dimension_id, factor_id, None))
        aspects: list[Aspect] = []
        if "aspects" in fields:
            for n, w in self.sequence(fields["aspects"][1], f"{where}.aspects"):
                aspect = self.aspect(n, w, dimension_id, factor_id)
                aspects.append(aspect)
                indicators.extend(aspect.indicators)
        return Factor(
            id=factor_id,
            name=name,
            indicators=tuple(indicators),
            aspects=tuple(aspects),
            weight=self.optional(fields, "weight", where, self.weight) or 1.0,
            description=self.optional(fields, "description", where, self.text),
        )

    def aspect(self, node: Node, where: str, dimension_id: str, factor_id: str) -> Aspect:
        fields = self.mapping(node, where, _ASPECT_KEYS, {"id", "name", "indicators"})
        aspect_id = self.identifier(fields["id"][1], f"{where}.id")
        name = self.text(fields["name"][1], f"{where}.name")
        indicators = tuple(
            self.indicator(n, w, dimension_id, factor_id, aspect_id)
            for n, w in self.sequence(fields["indicators"][1], f"{where}.indicators")
        )
        return Aspect(id=aspect_id, name=name, indicators=indicators)

    def indicator(self, node: Node, where: str, dimension_id: str, factor_id: str, aspect_id: str | None) -> Indicator:
        required = {"id", "weight", "text"} | ({"stage"} if self.kind == "stages" else set())
        fields = self.mapping(node, where, _INDICATOR_KEYS, required)
        indicator_id = self.identifier(fields["id"][1], f"{where}.id")
        stage: str | None = None
        if "stage" in fields:
            key_node, stage_node = fields["stage"]
            if self.kind == "weighted":
                raise self.fail(key_node, f"{where}.stage", "indicators of a weighted model have no stage")
            stage = self.string(stage_node, f"{where}.stage")
            if stage not in self.stage_ids:
                raise self.fail(
                    stage_node,
                    f"{where}.stage",
                    f"{stage!r} is not a stage of this model (use {', '.join(self.stage_ids)})",
                )
        return Indicator(
            id=indicator_id,
            stage=stage,
            weight=self.weight(fields["weight"][1], f"{where}.weight"),
            text=self.text(fields["text"][1], f"{where}.text"),
            dimension=dimension_id,
            factor=factor_id,
            aspect=aspect_id,
            evidence=self.optional(fields, "evidence", where, self.metrics) or (),
        )

    def metrics(self, node: Node, where: str) -> tuple[str, ...]:
        """An indicator's ``evidence``: ids of the metrics the platform can offer for it (docs/capacity-evidence.md)."""
        found: list[str] = []
        for item, here in self.sequence(node, where, allow_empty=True):
            metric = self.string(item, here)
            if metric not in METRIC_IDS:
                raise self.fail(
                    item, here, f"{metric!r} is not a platform metric (use {', '.join(sorted(METRIC_IDS))})"
                )
            if metric in found:
                raise self.fail(item, here, f"duplicate metric {metric!r}")
            found.append(metric)
        return tuple(found)


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _describe(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    return f"the value {node.value!r}"


def _num(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)
