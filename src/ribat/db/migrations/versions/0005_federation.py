"""federation: peers, checkpoints, runs, and the provenance of stored versions

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("stix_objects") as batch:
        batch.add_column(sa.Column("origin_hub", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("hops", sa.Text(), nullable=True))
        batch.add_column(sa.Column("via_peer_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("tombstone_shared", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_index("ix_stix_objects_deleted", "stix_objects", ["collection_id", "deleted_us"])
    op.create_table(
        "peers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("key_cipher", sa.Text(), nullable=True),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("sync_user_id", sa.String(length=36), nullable=True),
        sa.Column("remote_hub_id", sa.String(length=64), nullable=True),
        sa.Column("max_tlp", sa.SmallInteger(), nullable=False),
        sa.Column("include_types", sa.Text(), nullable=False),
        sa.Column("exclude_types", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("next_due_us", sa.BigInteger(), nullable=False),
        sa.Column("lease_until_us", sa.BigInteger(), nullable=True),
        sa.Column("lease_runner", sa.String(length=300), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"]),
        sa.ForeignKeyConstraint(["sync_user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "peer_collections",
        sa.Column("peer_id", sa.String(length=36), nullable=False),
        sa.Column("local_collection_id", sa.String(length=36), nullable=False),
        sa.Column("remote_collection_id", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(["peer_id"], ["peers.id"]),
        sa.ForeignKeyConstraint(["local_collection_id"], ["collections.id"]),
        sa.PrimaryKeyConstraint("peer_id", "local_collection_id", "remote_collection_id"),
    )
    op.create_table(
        "peer_cursors",
        sa.Column("peer_id", sa.String(length=36), nullable=False),
        sa.Column("local_collection_id", sa.String(length=36), nullable=False),
        sa.Column("remote_collection_id", sa.String(length=120), nullable=False),
        sa.Column("stream", sa.String(length=20), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=False),
        sa.Column("updated_us", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["peer_id"], ["peers.id"]),
        sa.PrimaryKeyConstraint("peer_id", "local_collection_id", "remote_collection_id", "stream"),
    )
    op.create_table(
        "peer_runs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("peer_id", sa.String(length=36), nullable=False),
        sa.Column("trigger", sa.String(length=10), nullable=False),
        sa.Column("runner", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("started_us", sa.BigInteger(), nullable=False),
        sa.Column("finished_us", sa.BigInteger(), nullable=True),
        sa.Column("pulled", sa.Integer(), nullable=False),
        sa.Column("pushed", sa.Integer(), nullable=False),
        sa.Column("already", sa.Integer(), nullable=False),
        sa.Column("echoes", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.Column("problems", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["peer_id"], ["peers.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_peer_runs_peer_started", "peer_runs", ["peer_id", "started_us"])


def downgrade() -> None:
    op.drop_index("ix_peer_runs_peer_started", table_name="peer_runs")
    op.drop_table("peer_runs")
    op.drop_table("peer_cursors")
    op.drop_table("peer_collections")
    op.drop_table("peers")
    op.drop_index("ix_stix_objects_deleted", table_name="stix_objects")
    with op.batch_alter_table("stix_objects") as batch:
        batch.drop_column("tombstone_shared")
        batch.drop_column("via_peer_id")
        batch.drop_column("hops")
        batch.drop_column("origin_hub")
