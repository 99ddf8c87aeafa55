"""Tables of the formats context."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Table, Text

from ribat.db import metadata

# -- imports and report extraction review -------------------------------------------------

# One row per import (a file or a body converted and ingested into a collection), and per
# publication of reviewed report candidates. ``status`` is running, complete or failed;
# the counts are those of the report, which is kept whole as JSON.
import_runs = Table(
    "import_runs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("collection_id", String(36), ForeignKey("collections.id"), nullable=False),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("org_id", String(36), ForeignKey("organisations.id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("name", String(300), nullable=False),
    Column("status", String(10), nullable=False),
    Column("started_us", BigInteger, nullable=False),
    Column("finished_us", BigInteger, nullable=True),
    Column("stored_count", Integer, nullable=False),
    Column("merged_count", Integer, nullable=False),
    Column("failed_count", Integer, nullable=False),
    Column("lost_count", Integer, nullable=False),
    Column("report", Text, nullable=False),
    Index("ix_import_runs_org_started", "org_id", "started_us"),
    Index("ix_import_runs_started", "started_us"),
)

# A report read for candidate indicators, held for review before anything is published.
extractions = Table(
    "extractions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("collection_id", String(36), ForeignKey("collections.id"), nullable=False),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("org_id", String(36), ForeignKey("organisations.id"), nullable=False),
    Column("name", String(300), nullable=False),
    Column("title", String(500), nullable=True),
    Column("format", String(8), nullable=False),
    Column("pages", Integer, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Index("ix_extractions_org_created", "org_id", "created_us"),
)

# The candidates of an extraction: ``status`` pending, accepted (published as
# ``object_id`` by import run ``run_id``) or rejected (kept on record).
extraction_candidates = Table(
    "extraction_candidates",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("extraction_id", String(36), ForeignKey("extractions.id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("value", Text, nullable=False),
    Column("raw", Text, nullable=False),
    Column("sentence", Text, nullable=False),
    Column("page", Integer, nullable=True),
    Column("char_offset", Integer, nullable=False),
    Column("occurrences", Integer, nullable=False),
    Column("status", String(10), nullable=False),
    Column("object_id", String(120), nullable=True),
    Column("run_id", String(36), ForeignKey("import_runs.id"), nullable=True),
    Column("reviewed_us", BigInteger, nullable=True),
    Column("reviewed_by", String(36), ForeignKey("users.id"), nullable=True),
    Index("ix_extraction_candidates_extraction", "extraction_id", "position"),
)
