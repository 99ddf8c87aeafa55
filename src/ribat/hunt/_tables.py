"""Tables of the hunt context.

``hunt_jobs`` records every hunt started from the API or the web interface: who started it, over which uploaded
logs (kept under the hub's hunt directory, by job id, never under the names they were sent with) and which
indicators, its status and progress while it runs, and its result (the hits as JSON) when it ends.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, ForeignKey, Index, Integer, String, Table, Text

from ribat.db import metadata

hunt_jobs = Table(
    "hunt_jobs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("org_id", String(36), ForeignKey("organisations.id"), nullable=False),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("runner", String(300), nullable=False),
    Column("status", String(10), nullable=False),
    Column("params", Text, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("started_us", BigInteger, nullable=True),
    Column("finished_us", BigInteger, nullable=True),
    Column("records", BigInteger, nullable=False, default=0),
    Column("bytes_total", BigInteger, nullable=False, default=0),
    Column("rate", Float, nullable=False, default=0.0),
    Column("matches", BigInteger, nullable=False, default=0),
    Column("indicators", Integer, nullable=False, default=0),
    Column("skipped", Text, nullable=False),
    Column("problems", Text, nullable=False),
    Column("problem_count", Integer, nullable=False, default=0),
    Column("result", Text, nullable=True),
    Column("error", Text, nullable=True),
    Column("shared", Text, nullable=True),
    Index("ix_hunt_jobs_org_created", "org_id", "created_us"),
)
