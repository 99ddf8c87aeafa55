"""capacity assessments: pinned models, campaigns, participants, answers, consensus, evidence, record

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PK_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "capacity_models",
        sa.Column("model_id", sa.String(length=100), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source_name", sa.String(length=200), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("pinned_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("model_id", "version"),
    )
    op.create_table(
        "assessments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("model_id", sa.String(length=100), nullable=False),
        sa.Column("model_version", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("lead_user_id", sa.String(length=36), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("updated_us", sa.BigInteger(), nullable=False),
        sa.Column("visibility", sa.Text(), nullable=False),
        sa.Column("target_stage", sa.String(length=100), nullable=True),
        sa.Column("previous_id", sa.String(length=36), nullable=True),
        sa.Column("review_us", sa.BigInteger(), nullable=True),
        sa.Column("final_us", sa.BigInteger(), nullable=True),
        sa.Column("final_digest", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"]),
        sa.ForeignKeyConstraint(["lead_user_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"]),
        sa.ForeignKeyConstraint(["previous_id"], ["assessments.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_assessments_country_model", "assessments", ["country", "model_id", "state"])
    op.create_table(
        "assessment_participants",
        sa.Column("assessment_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("role", sa.String(length=12), nullable=False),
        sa.Column("added_us", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["assessment_id"], ["assessments.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"]),
        sa.PrimaryKeyConstraint("assessment_id", "user_id"),
    )
    op.create_index("ix_assessment_participants_user_id", "assessment_participants", ["user_id"])
    op.create_table(
        "assessment_contributions",
        sa.Column("assessment_id", sa.String(length=36), nullable=False),
        sa.Column("indicator_id", sa.String(length=200), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("answer", sa.String(length=12), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("updated_us", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["assessment_id"], ["assessments.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("assessment_id", "indicator_id", "user_id"),
    )
    op.create_table(
        "assessment_consensus",
        sa.Column("assessment_id", sa.String(length=36), nullable=False),
        sa.Column("indicator_id", sa.String(length=200), nullable=False),
        sa.Column("answer", sa.String(length=12), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(length=36), nullable=False),
        sa.Column("decided_us", sa.BigInteger(), nullable=False),
        sa.Column("disagreement", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["assessment_id"], ["assessments.id"]),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("assessment_id", "indicator_id"),
    )
    op.create_table(
        "assessment_evidence",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("assessment_id", sa.String(length=36), nullable=False),
        sa.Column("indicator_id", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("added_by", sa.String(length=36), nullable=False),
        sa.Column("added_us", sa.BigInteger(), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=True),
        sa.Column("media_type", sa.String(length=100), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("metric", sa.String(length=100), nullable=True),
        sa.Column("query", sa.Text(), nullable=True),
        sa.Column("window_start_us", sa.BigInteger(), nullable=True),
        sa.Column("window_end_us", sa.BigInteger(), nullable=True),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=36), nullable=True),
        sa.Column("decided_us", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["assessment_id"], ["assessments.id"]),
        sa.ForeignKeyConstraint(["added_by"], ["users.id"]),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_assessment_evidence_assessment_id", "assessment_evidence", ["assessment_id"])
    op.create_table(
        "assessment_documents",
        sa.Column("evidence_id", sa.String(length=36), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["evidence_id"], ["assessment_evidence.id"]),
        sa.PrimaryKeyConstraint("evidence_id"),
    )
    op.create_table(
        "assessment_events",
        sa.Column("id", _PK_BIGINT, autoincrement=True, nullable=False),
        sa.Column("assessment_id", sa.String(length=36), nullable=False),
        sa.Column("at_us", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["assessment_id"], ["assessments.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_assessment_events_assessment_id", "assessment_events", ["assessment_id"])


def downgrade() -> None:
    op.drop_index("ix_assessment_events_assessment_id", table_name="assessment_events")
    op.drop_table("assessment_events")
    op.drop_table("assessment_documents")
    op.drop_index("ix_assessment_evidence_assessment_id", table_name="assessment_evidence")
    op.drop_table("assessment_evidence")
    op.drop_table("assessment_consensus")
    op.drop_table("assessment_contributions")
    op.drop_index("ix_assessment_participants_user_id", table_name="assessment_participants")
    op.drop_table("assessment_participants")
    op.drop_index("ix_assessments_country_model", table_name="assessments")
    op.drop_table("assessments")
    op.drop_table("capacity_models")
