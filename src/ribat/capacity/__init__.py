"""Capacity: national cybersecurity capacity assessment.

Owns maturity models (loaded from versioned YAML/JSON files, ``ribat.capacity.models``),
assessments, scoring, benchmarking and reports. Calls ``ribat.accounts`` and ``ribat.db``.
The model types (``types``), the loader (``models``) and the scoring engine (``scoring``) are
pure and do no I/O beyond reading the model files they are given.
"""

from ribat.capacity.models import MODEL_SUFFIXES, SHIPPED_MODELS, load_model, load_models, parse_model, shipped_models
from ribat.capacity.scoring import (
    Answer,
    Answers,
    DimensionResult,
    FactorResult,
    ModelResult,
    PillarResult,
    StageResult,
    StageSummary,
    WeightedResult,
    parse_answer,
    score,
    score_factor,
    score_stages,
    score_weighted,
    summarize,
)
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
    localized,
)

__all__ = [
    "KINDS",
    "LANGUAGES",
    "MODEL_SUFFIXES",
    "SHIPPED_MODELS",
    "Answer",
    "Answers",
    "Aspect",
    "Dimension",
    "DimensionResult",
    "Factor",
    "FactorResult",
    "Indicator",
    "Kind",
    "Model",
    "ModelResult",
    "PillarResult",
    "Stage",
    "StageResult",
    "StageSummary",
    "Text",
    "Tier",
    "WeightedResult",
    "load_model",
    "load_models",
    "localized",
    "parse_answer",
    "parse_model",
    "score",
    "score_factor",
    "score_stages",
    "score_weighted",
    "shipped_models",
    "summarize",
]
