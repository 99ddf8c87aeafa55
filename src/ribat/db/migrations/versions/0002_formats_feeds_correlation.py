"""correlation index, warninglist hits, imports and extraction review, feeds

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    _intel_up()
    _formats_up()
    _feeds_up()


def downgrade() -> None:
    _feeds_down()
    _formats_down()
    _intel_down()


# -- intel: the correlation index and warninglist hits ----------------------------------


def _intel_up() -> None:
    op.create_table(
        "observables",
        sa.Column("object_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=520), nullable=False),
        sa.Column("range_key", sa.String(length=300), nullable=True),
        sa.Column("collection_id", sa.String(length=36), nullable=False),
        sa.Column("object_id", sa.String(length=120), nullable=False),
        sa.Column("tlp", sa.SmallInteger(), nullable=False),
        sa.Column("author_org_id", sa.String(length=36), nullable=True),
        sa.Column("author_user_id", sa.String(length=36), nullable=True),
        sa.Column("has_recipients", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["object_pk"], ["stix_objects.pk"], name=op.f("fk_observables_object_pk_stix_objects")),
        sa.PrimaryKeyConstraint("object_pk", "kind", "value", name=op.f("pk_observables")),
    )
    op.create_index("ix_observables_range", "observables", ["kind", "range_key", "value"], unique=False)
    op.create_index(
        "ix_observables_value",
        "observables",
        ["kind", "value", "collection_id", "tlp", "author_org_id", "object_id", "has_recipients", "author_user_id"],
        unique=False,
    )
    op.create_table(
        "warninglist_hits",
        sa.Column("object_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("list_name", sa.String(length=200), nullable=False),
        sa.Column("value", sa.String(length=520), nullable=False),
        sa.Column("entry", sa.String(length=520), nullable=False),
        sa.ForeignKeyConstraint(
            ["object_pk"], ["stix_objects.pk"], name=op.f("fk_warninglist_hits_object_pk_stix_objects")
        ),
        sa.PrimaryKeyConstraint("object_pk", "list_name", "value", name=op.f("pk_warninglist_hits")),
    )


def _intel_down() -> None:
    op.drop_table("warninglist_hits")
    op.drop_index("ix_observables_value", table_name="observables")
    op.drop_index("ix_observables_range", table_name="observables")
    op.drop_table("observables")


# -- formats: import runs and report extraction review ----------------------------------


def _formats_up() -> None:
    op.create_table(
        "import_runs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("collection_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("started_us", sa.BigInteger(), nullable=False),
        sa.Column("finished_us", sa.BigInteger(), nullable=True),
        sa.Column("stored_count", sa.Integer(), nullable=False),
        sa.Column("merged_count", sa.Integer(), nullable=False),
        sa.Column("failed_count", sa.Integer(), nullable=False),
        sa.Column("lost_count", sa.Integer(), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["collection_id"], ["collections.id"], name=op.f("fk_import_runs_collection_id_collections")
        ),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_import_runs_org_id_organisations")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_import_runs_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_runs")),
    )
    op.create_index("ix_import_runs_org_started", "import_runs", ["org_id", "started_us"], unique=False)
    op.create_index("ix_import_runs_started", "import_runs", ["started_us"], unique=False)
    op.create_table(
        "extractions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("collection_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=True),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["collection_id"], ["collections.id"], name=op.f("fk_extractions_collection_id_collections")
        ),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_extractions_org_id_organisations")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_extractions_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_extractions")),
    )
    op.create_index("ix_extractions_org_created", "extractions", ["org_id", "created_us"], unique=False)
    op.create_table(
        "extraction_candidates",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("extraction_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("sentence", sa.Text(), nullable=False),
        sa.Column("page", sa.Integer(), nullable=True),
        sa.Column("char_offset", sa.Integer(), nullable=False),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("object_id", sa.String(length=120), nullable=True),
        sa.Column("run_id", sa.String(length=36), nullable=True),
        sa.Column("reviewed_us", sa.BigInteger(), nullable=True),
        sa.Column("reviewed_by", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["extraction_id"],
            ["extractions.id"],
            name=op.f("fk_extraction_candidates_extraction_id_extractions"),
        ),
        sa.ForeignKeyConstraint(["reviewed_by"], ["users.id"], name=op.f("fk_extraction_candidates_reviewed_by_users")),
        sa.ForeignKeyConstraint(
            ["run_id"], ["import_runs.id"], name=op.f("fk_extraction_candidates_run_id_import_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_extraction_candidates")),
    )
    op.create_index(
        "ix_extraction_candidates_extraction", "extraction_candidates", ["extraction_id", "position"], unique=False
    )


def _formats_down() -> None:
    op.drop_index("ix_extraction_candidates_extraction", table_name="extraction_candidates")
    op.drop_table("extraction_candidates")
    op.drop_index("ix_extractions_org_created", table_name="extractions")
    op.drop_table("extractions")
    op.drop_index("ix_import_runs_started", table_name="import_runs")
    op.drop_index("ix_import_runs_org_started", table_name="import_runs")
    op.drop_table("import_runs")


# -- feeds: sources, schedules and runs -------------------------------------------------


def _feeds_up() -> None:
    op.create_table(
        "feeds",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("collection_id", sa.String(length=36), nullable=False),
        sa.Column("owner_org_id", sa.String(length=36), nullable=False),
        sa.Column("owner_user_id", sa.String(length=36), nullable=False),
        sa.Column("interval_minutes", sa.Integer(), nullable=False),
        sa.Column("tlp", sa.SmallInteger(), nullable=True),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("mapping", sa.Text(), nullable=False),
        sa.Column("credentials", sa.Text(), nullable=True),
        sa.Column("cursor", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("next_due_us", sa.BigInteger(), nullable=False),
        sa.Column("lease_until_us", sa.BigInteger(), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("updated_us", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["collection_id"], ["collections.id"], name=op.f("fk_feeds_collection_id_collections")),
        sa.ForeignKeyConstraint(
            ["owner_org_id"], ["organisations.id"], name=op.f("fk_feeds_owner_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(["owner_user_id"], ["users.id"], name=op.f("fk_feeds_owner_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feeds")),
        sa.UniqueConstraint("name", name=op.f("uq_feeds_name")),
    )
    op.create_index("ix_feeds_due", "feeds", ["enabled", "next_due_us"], unique=False)
    op.create_table(
        "feed_items",
        sa.Column("feed_id", sa.String(length=36), nullable=False),
        sa.Column("item_key", sa.String(length=1000), nullable=False),
        sa.Column("marker", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["feed_id"], ["feeds.id"], name=op.f("fk_feed_items_feed_id_feeds")),
        sa.PrimaryKeyConstraint("feed_id", "item_key", name=op.f("pk_feed_items")),
    )
    op.create_table(
        "feed_runs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("feed_id", sa.String(length=36), nullable=False),
        sa.Column("trigger", sa.String(length=10), nullable=False),
        sa.Column("started_us", sa.BigInteger(), nullable=False),
        sa.Column("finished_us", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("fetched", sa.Integer(), nullable=False),
        sa.Column("stored", sa.Integer(), nullable=False),
        sa.Column("merged", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("lost", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("problems", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["feed_id"], ["feeds.id"], name=op.f("fk_feed_runs_feed_id_feeds")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_runs")),
    )
    op.create_index("ix_feed_runs_feed", "feed_runs", ["feed_id", "started_us"], unique=False)


def _feeds_down() -> None:
    op.drop_index("ix_feed_runs_feed", table_name="feed_runs")
    op.drop_table("feed_runs")
    op.drop_table("feed_items")
    op.drop_index("ix_feeds_due", table_name="feeds")
    op.drop_table("feeds")
