"""The hub's JSON API beyond TAXII (``/api/v1``): related items, imports, exports, feeds, hunts, capacity
assessments, peer hubs (federation).

Every endpoint authenticates like TAXII (HTTP Basic or a Bearer API key) and answers
errors with the JSON error shape of ``ribat.web.errors``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from ribat.accounts import Principal, Role
from ribat.errors import PermissionDeniedError
from ribat.web.api import assessments, exports, federation, feeds, hunts, imports, related
from ribat.web.auth import authenticate

__all__ = ["router"]

router = APIRouter(prefix="/api/v1")


def members_only(principal: Annotated[Principal, Depends(authenticate)]) -> None:
    """Peer hubs' ``sync`` accounts use TAXII 2.1 and the federation routes, which apply their peer's boundary;
    every other route is for the hub's members."""
    if principal.user.role is Role.SYNC:
        raise PermissionDeniedError("use", "this route (peer hub accounts use TAXII 2.1 and /api/v1/federation only)")


_members = [Depends(members_only)]
router.include_router(related.router, dependencies=_members)
router.include_router(imports.router, dependencies=_members)
router.include_router(exports.router, dependencies=_members)
router.include_router(feeds.router, dependencies=_members)
router.include_router(hunts.router, dependencies=_members)
router.include_router(assessments.router, dependencies=_members)
router.include_router(federation.router)
