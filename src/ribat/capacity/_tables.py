"""Tables of the capacity context.

``capacity_models`` pins the exact text of every model version an assessment has used, so that a campaign is
always scored against the model it was answered on, whatever files the hub loads later. The other tables hold
campaigns (``assessments``), their participants, each participant's answer per indicator
(``assessment_contributions``), the review's consensus answer per indicator with the disagreement it settled
(``assessment_consensus``), evidence (an uploaded document's bytes live in ``assessment_documents``), and a record
of what happened (``assessment_events``).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)

from ribat.db import metadata

capacity_models = Table(
    "capacity_models",
    metadata,
    Column("model_id", String(100), primary_key=True),
    Column("version", String(40), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("source_name", String(200), nullable=False),
    Column("source", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("pinned_us", BigInteger, nullable=False),
)

assessments = Table(
    "assessments",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("title", String(200), nullable=False),
    Column("country", String(2), nullable=False),
    Column("org_id", String(36), ForeignKey("organisations.id"), nullable=False),
    Column("model_id", String(100), nullable=False),
    Column("model_version", String(40), nullable=False),
    Column("state", String(8), nullable=False),
    Column("lead_user_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("created_by", String(36), ForeignKey("users.id"), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
    Column("visibility", Text, nullable=False),
    Column("target_stage", String(100), nullable=True),
    Column("previous_id", String(36), ForeignKey("assessments.id"), nullable=True),
    Column("review_us", BigInteger, nullable=True),
    Column("final_us", BigInteger, nullable=True),
    Column("final_digest", String(64), nullable=True),
    Index("ix_assessments_country_model", "country", "model_id", "state"),
)

assessment_participants = Table(
    "assessment_participants",
    metadata,
    Column("assessment_id", String(36), ForeignKey("assessments.id"), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id"), primary_key=True, index=True),
    Column("org_id", String(36), ForeignKey("organisations.id"), nullable=False),
    Column("role", String(12), nullable=False),
    Column("added_us", BigInteger, nullable=False),
)

assessment_contributions = Table(
    "assessment_contributions",
    metadata,
    Column("assessment_id", String(36), ForeignKey("assessments.id"), primary_key=True),
    Column("indicator_id", String(200), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id"), primary_key=True),
    Column("answer", String(12), nullable=False),
    Column("comment", Text, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
)

assessment_consensus = Table(
    "assessment_consensus",
    metadata,
    Column("assessment_id", String(36), ForeignKey("assessments.id"), primary_key=True),
    Column("indicator_id", String(200), primary_key=True),
    Column("answer", String(12), nullable=False),
    Column("comment", Text, nullable=False),
    Column("decided_by", String(36), ForeignKey("users.id"), nullable=False),
    Column("decided_us", BigInteger, nullable=False),
    Column("disagreement", Text, nullable=False),
)

assessment_evidence = Table(
    "assessment_evidence",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("assessment_id", String(36), ForeignKey("assessments.id"), nullable=False, index=True),
    Column("indicator_id", String(200), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("title", String(300), nullable=False),
    Column("status", String(10), nullable=False),
    Column("added_by", String(36), ForeignKey("users.id"), nullable=False),
    Column("added_us", BigInteger, nullable=False),
    Column("url", Text, nullable=True),
    Column("filename", String(255), nullable=True),
    Column("media_type", String(100), nullable=True),
    Column("size", BigInteger, nullable=True),
    Column("sha256", String(64), nullable=True),
    Column("metric", String(100), nullable=True),
    Column("query", Text, nullable=True),
    Column("window_start_us", BigInteger, nullable=True),
    Column("window_end_us", BigInteger, nullable=True),
    Column("value", Text, nullable=True),
    Column("decided_by", String(36), ForeignKey("users.id"), nullable=True),
    Column("decided_us", BigInteger, nullable=True),
)

assessment_documents = Table(
    "assessment_documents",
    metadata,
    Column("evidence_id", String(36), ForeignKey("assessment_evidence.id"), primary_key=True),
    Column("content", LargeBinary, nullable=False),
)

assessment_events = Table(
    "assessment_events",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("assessment_id", String(36), ForeignKey("assessments.id"), nullable=False, index=True),
    Column("at_us", BigInteger, nullable=False),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("action", String(40), nullable=False),
    Column("detail", Text, nullable=False),
)
