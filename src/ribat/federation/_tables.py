"""Tables of the federation context.

``peers`` holds each peer hub this hub shares with: where it is, the key this hub presents to it (encrypted with
the hub's secret key), what this hub starts (pull, push, both, or nothing: ``serve``), the sharing policy, the local
organisation and ``sync`` account that stand for it, and its schedule and lease (as feeds have: a run is held by
one process at a time). ``peer_collections`` maps local collections to the peer's. ``peer_cursors`` keeps one
checkpoint per peer, collection pair and stream (objects or tombstones, pulled or pushed), advanced only after
the page it follows is committed. ``peer_runs`` records every sync run.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
)

from ribat.db import metadata

peers = Table(
    "peers",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("url", String(500), nullable=False),
    Column("key_cipher", Text, nullable=True),
    Column("direction", String(8), nullable=False),
    Column("interval_seconds", Integer, nullable=False),
    Column("org_id", String(36), ForeignKey("organisations.id"), nullable=False),
    Column("sync_user_id", String(36), ForeignKey("users.id"), nullable=True),
    Column("remote_hub_id", String(64), nullable=True),
    Column("max_tlp", SmallInteger, nullable=False),
    Column("include_types", Text, nullable=False),
    Column("exclude_types", Text, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("next_due_us", BigInteger, nullable=False),
    Column("lease_until_us", BigInteger, nullable=True),
    Column("lease_runner", String(300), nullable=True),
    Column("consecutive_failures", Integer, nullable=False),
    Column("created_us", BigInteger, nullable=False),
)

peer_collections = Table(
    "peer_collections",
    metadata,
    Column("peer_id", String(36), ForeignKey("peers.id"), primary_key=True),
    Column("local_collection_id", String(36), ForeignKey("collections.id"), primary_key=True),
    Column("remote_collection_id", String(120), primary_key=True),
)

peer_cursors = Table(
    "peer_cursors",
    metadata,
    Column("peer_id", String(36), ForeignKey("peers.id"), primary_key=True),
    Column("local_collection_id", String(36), primary_key=True),
    Column("remote_collection_id", String(120), primary_key=True),
    Column("stream", String(20), primary_key=True),
    Column("cursor", Text, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
)

peer_runs = Table(
    "peer_runs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("peer_id", String(36), ForeignKey("peers.id"), nullable=False),
    Column("trigger", String(10), nullable=False),
    Column("runner", String(300), nullable=False),
    Column("status", String(12), nullable=False),
    Column("started_us", BigInteger, nullable=False),
    Column("finished_us", BigInteger, nullable=True),
    Column("pulled", Integer, nullable=False),
    Column("pushed", Integer, nullable=False),
    Column("already", Integer, nullable=False),
    Column("echoes", Integer, nullable=False),
    Column("rejected", Integer, nullable=False),
    Column("deleted", Integer, nullable=False),
    Column("problems", Text, nullable=False),
    Column("error", Text, nullable=True),
    Index("ix_peer_runs_peer_started", "peer_id", "started_us"),
)
