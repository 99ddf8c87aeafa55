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
        sa.ForeignKeyConstraint(["object_pk"], ["stix_objects.pk"], name=op.f("fk_observables_object_pk_stix_objects")),
        sa.PrimaryKeyConstraint("object_pk", "kind", "value", name=op.f("pk_observables")),
    )
    op.create_index("ix_observables_range", "observables", ["kind", "range_key"], unique=False)
    op.create_index("ix_observables_value", "observables", ["kind", "value"], unique=False)
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
    pass


def _formats_down() -> None:
    pass


# -- feeds: sources, schedules and runs -------------------------------------------------


def _feeds_up() -> None:
    pass


def _feeds_down() -> None:
    pass
