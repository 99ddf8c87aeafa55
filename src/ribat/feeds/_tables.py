"""Tables of the feeds context.

``feeds`` holds each feed's definition, its small incremental cursor (JSON), its schedule
(``next_due_us``) and the lease a process takes while it runs the feed (``lease_until_us``:
a conditional UPDATE claims it, so two hub processes never run one feed at once).
``feed_items`` holds per-item incremental state (a MISP event's manifest timestamp, a
file's mtime and size), one row per item so that committing one event writes one row.
``feed_runs`` records every run.
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

feeds = Table(
    "feeds",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("source", Text, nullable=False),
    Column("collection_id", String(36), ForeignKey("collections.id"), nullable=False),
    Column("owner_org_id", String(36), ForeignKey("organisations.id"), nullable=False),
    Column("owner_user_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("interval_minutes", Integer, nullable=False),
    Column("tlp", SmallInteger, nullable=True),
    Column("tags", Text, nullable=False),
    Column("mapping", Text, nullable=False),
    Column("credentials", Text, nullable=True),
    Column("cursor", Text, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("next_due_us", BigInteger, nullable=False),
    Column("lease_until_us", BigInteger, nullable=True),
    Column("consecutive_failures", Integer, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
    Index("ix_feeds_due", "enabled", "next_due_us"),
)

feed_items = Table(
    "feed_items",
    metadata,
    Column("feed_id", String(36), ForeignKey("feeds.id"), primary_key=True),
    Column("item_key", String(1000), primary_key=True),
    Column("marker", String(200), nullable=False),
)

feed_runs = Table(
    "feed_runs",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("feed_id", String(36), ForeignKey("feeds.id"), nullable=False),
    Column("trigger", String(10), nullable=False),
    Column("started_us", BigInteger, nullable=False),
    Column("finished_us", BigInteger, nullable=True),
    Column("status", String(10), nullable=False),
    Column("fetched", Integer, nullable=False),
    Column("stored", Integer, nullable=False),
    Column("merged", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("lost", Integer, nullable=False),
    Column("error", Text, nullable=True),
    Column("problems", Text, nullable=False),
    Index("ix_feed_runs_feed", "feed_id", "started_us"),
)
