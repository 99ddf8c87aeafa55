"""Tables of the intel context.

``stix_objects`` holds one row per object *version* per collection. ``date_added_us``
(microseconds since the epoch) is assigned by the server and strictly increases per
collection, so ``(collection_id, date_added_us)`` is unique and paging by it never skips
or repeats. The object's JSON is stored as sent (after a 2.0 → 2.1 upgrade), so custom
types and properties round-trip unchanged.
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
    UniqueConstraint,
)

from ribat.db import metadata

collections = Table(
    "collections",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("alias", String(100), nullable=True, unique=True),
    Column("default_tlp", SmallInteger, nullable=False),
    Column("owner_org_id", String(36), ForeignKey("organisations.id"), nullable=True),
    Column("last_date_added_us", BigInteger, nullable=False, default=0),
    Column("created_us", BigInteger, nullable=False),
)

# Who may read or write a collection: an organisation, a trust circle, or every
# organisation of the community (principal_kind 'community', principal_id '').
collection_grants = Table(
    "collection_grants",
    metadata,
    Column("collection_id", String(36), ForeignKey("collections.id"), primary_key=True),
    Column("principal_kind", String(10), primary_key=True),
    Column("principal_id", String(36), primary_key=True),
    Column("can_read", Boolean, nullable=False),
    Column("can_write", Boolean, nullable=False),
)

stix_objects = Table(
    "stix_objects",
    metadata,
    Column("pk", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("collection_id", String(36), ForeignKey("collections.id"), nullable=False),
    Column("object_id", String(120), nullable=False),
    Column("type", String(100), nullable=False),
    Column("spec_version", String(8), nullable=False),
    Column("version_us", BigInteger, nullable=False),
    Column("version_text", String(40), nullable=False),
    Column("date_added_us", BigInteger, nullable=False),
    Column("tlp", SmallInteger, nullable=False),
    Column("author_org_id", String(36), nullable=True),
    Column("author_user_id", String(36), nullable=True),
    Column("has_recipients", Boolean, nullable=False, default=False),
    Column("revoked", Boolean, nullable=False, default=False),
    Column("deleted_us", BigInteger, nullable=True),
    Column("body", Text, nullable=False),
    # Federation provenance (``ribat.intel.boundary.Provenance``): the hub where the version was first stored and
    # the hubs it passed through (``,a,b,``), and the peer that sent it; all NULL for a version first stored here.
    Column("origin_hub", String(64), nullable=True),
    Column("hops", Text, nullable=True),
    Column("via_peer_id", String(64), nullable=True),
    # A tombstone other hubs should apply: the deletion was made where the version originated, or came from there.
    Column("tombstone_shared", Boolean, nullable=False, default=False),
    UniqueConstraint("collection_id", "date_added_us", name="uq_stix_objects_date_added"),
    # One copy of a version per author organisation (each shares it under its own TLP).
    UniqueConstraint("collection_id", "object_id", "version_us", "author_org_id", name="uq_stix_objects_version"),
    Index("ix_stix_objects_type_added", "collection_id", "type", "date_added_us"),
    Index("ix_stix_objects_deleted", "collection_id", "deleted_us"),
)

# The organisations, trust circles and users an author named as recipients of an
# AMBER or RED object version (kind 'org', 'circle' or 'user').
object_recipients = Table(
    "object_recipients",
    metadata,
    Column("object_pk", BigInteger().with_variant(Integer, "sqlite"), ForeignKey("stix_objects.pk"), primary_key=True),
    Column("kind", String(8), primary_key=True),
    Column("ref_id", String(36), primary_key=True),
)

# Marking definitions seen at ingest that stand for a TLP level under an id of their own.
tlp_markings = Table(
    "tlp_markings",
    metadata,
    Column("marking_id", String(120), primary_key=True),
    Column("tlp", SmallInteger, nullable=False),
)

# TAXII status resources (TAXII 2.1 section 4.3), kept in the database so that any
# worker can answer for any of them.
statuses = Table(
    "statuses",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("collection_id", String(36), ForeignKey("collections.id"), nullable=False),
    Column("user_id", String(36), nullable=True),
    Column("status", String(10), nullable=False),
    Column("request_us", BigInteger, nullable=False),
    Column("total_count", Integer, nullable=False),
    Column("success_count", Integer, nullable=False),
    Column("failure_count", Integer, nullable=False),
    Column("pending_count", Integer, nullable=False),
    Column("successes", Text, nullable=False),
    Column("failures", Text, nullable=False),
    Column("pendings", Text, nullable=False),
)

# The correlation index: the normalised observable values of each stored version
# (``ribat.intel.observables``). ``value`` is the normalised value (long values end in a
# digest, so that the index stays within a B-tree page); ``range_key`` orders values for
# containment look-ups: the fixed-width hex start address of an IP network, and the
# reversed labels of a domain (``com.example.www.``), so that sub-domains are a prefix range.
# The version's collection, object id and policy columns are copied in (a version's TLP,
# author and recipients never change), so that counting the readable objects that hold a
# popular value reads this index alone. A deleted version's rows are removed.
observables = Table(
    "observables",
    metadata,
    Column("object_pk", BigInteger().with_variant(Integer, "sqlite"), ForeignKey("stix_objects.pk"), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("value", String(520), primary_key=True),
    Column("range_key", String(300), nullable=True),
    Column("collection_id", String(36), nullable=False),
    Column("object_id", String(120), nullable=False),
    Column("tlp", SmallInteger, nullable=False),
    Column("author_org_id", String(36), nullable=True),
    Column("author_user_id", String(36), nullable=True),
    Column("has_recipients", Boolean, nullable=False),
    # Both indexes cover what their look-ups read (the value index also the policy columns).
    Index(
        "ix_observables_value",
        "kind",
        "value",
        "collection_id",
        "tlp",
        "author_org_id",
        "object_id",
        "has_recipients",
        "author_user_id",
    ),
    Index("ix_observables_range", "kind", "range_key", "value"),
)

# Warninglist hits found at ingest: which list an indicator's value hit, and the entry.
warninglist_hits = Table(
    "warninglist_hits",
    metadata,
    Column("object_pk", BigInteger().with_variant(Integer, "sqlite"), ForeignKey("stix_objects.pk"), primary_key=True),
    Column("list_name", String(200), primary_key=True),
    Column("value", String(520), primary_key=True),
    Column("entry", String(520), nullable=False),
)
