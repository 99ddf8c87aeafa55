"""Intel: the STIX 2.1 store, its collections, the TLP 2.0 policy engine and ingest validation.

Owns the ``collections``, ``collection_grants``, ``stix_objects``, ``object_recipients``,
``tlp_markings``, ``statuses``, ``observables`` (the correlation index) and
``warninglist_hits`` tables. Calls ``ribat.accounts`` (to resolve named
recipients) and ``ribat.db``. Pure engines (``tlp``, ``validation``, ``patterns``,
``upgrade``, ``envelope``, ``observables``, ``correlation``, ``warninglists``) do no I/O.
"""

from ribat.intel._store_sql import SqlIntelStore
from ribat.intel.observables import Observable, classify, detection_observables, observables_of, pattern_for
from ribat.intel.paging import PageTokens
from ribat.intel.service import SHARE_EXTENSION, Intel, viewer_of
from ribat.intel.store import IntelStore
from ribat.intel.tlp import Audience, Decision, Tlp, Viewer, explain, may_read
from ribat.intel.types import (
    MEDIA_TYPE_STIX21,
    Collection,
    Correlation,
    Flagged,
    Grant,
    ObjectFilter,
    ObjectMeta,
    OverCorrelation,
    Page,
    RelatedItem,
    SharingActivity,
    Status,
    StatusDetail,
)
from ribat.intel.workspace import SearchSpec, SqlWorkspace, Workspace

__all__ = [
    "MEDIA_TYPE_STIX21",
    "SHARE_EXTENSION",
    "Audience",
    "Collection",
    "Correlation",
    "Decision",
    "Flagged",
    "Grant",
    "Intel",
    "IntelStore",
    "ObjectFilter",
    "ObjectMeta",
    "Observable",
    "OverCorrelation",
    "Page",
    "PageTokens",
    "RelatedItem",
    "SearchSpec",
    "SharingActivity",
    "SqlIntelStore",
    "SqlWorkspace",
    "Status",
    "StatusDetail",
    "Tlp",
    "Viewer",
    "Workspace",
    "classify",
    "detection_observables",
    "explain",
    "may_read",
    "observables_of",
    "pattern_for",
    "viewer_of",
]
