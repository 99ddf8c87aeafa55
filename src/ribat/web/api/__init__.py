"""The hub's JSON API beyond TAXII (``/api/v1``): related items, imports, exports, feeds, hunts, capacity
assessments, peer hubs (federation).

Every endpoint authenticates like TAXII (HTTP Basic or a Bearer API key) and answers
errors with the JSON error shape of ``ribat.web.errors``.
"""

from __future__ import annotations

from fastapi import APIRouter

from ribat.web.api import assessments, exports, federation, feeds, hunts, imports, related

__all__ = ["router"]

router = APIRouter(prefix="/api/v1")
router.include_router(related.router)
router.include_router(imports.router)
router.include_router(exports.router)
router.include_router(feeds.router)
router.include_router(hunts.router)
router.include_router(assessments.router)
router.include_router(federation.router)
