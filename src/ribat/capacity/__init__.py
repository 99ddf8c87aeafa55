"""Capacity: national cybersecurity capacity assessment.

Owns maturity models (loaded from versioned YAML/JSON files, ``ribat.capacity.models``),
assessments, scoring, benchmarking and reports. Calls ``ribat.accounts`` and ``ribat.db``.
The model types (``types``), the loader (``models``), the scoring engine (``scoring``), the
coalition benchmark (``benchmark``) and the roadmap (``roadmap``) are pure and do no I/O beyond
reading the model files they are given; ``report`` renders HTML and PDF (WeasyPrint).
"""

from ribat.capacity.benchmark import StageBenchmark, WeightedBenchmark, benchmark_stages, benchmark_weighted
from ribat.capacity.models import MODEL_SUFFIXES, SHIPPED_MODELS, load_model, load_models, parse_model, shipped_models
from ribat.capacity.report import GapLine, render_html, render_pdf
from ribat.capacity.roadmap import Gap, Roadmap, Strength, build_roadmap, gap_id
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
    "Gap",
    "GapLine",
    "Indicator",
    "Kind",
    "Model",
    "ModelResult",
    "PillarResult",
    "Roadmap",
    "Stage",
    "StageBenchmark",
    "StageResult",
    "StageSummary",
    "Strength",
    "Text",
    "Tier",
    "WeightedBenchmark",
    "WeightedResult",
    "benchmark_stages",
    "benchmark_weighted",
    "build_roadmap",
    "gap_id",
    "load_model",
    "load_models",
    "localized",
    "parse_answer",
    "parse_model",
    "render_html",
    "render_pdf",
    "score",
    "score_factor",
    "score_stages",
    "score_weighted",
    "shipped_models",
    "summarize",
]
