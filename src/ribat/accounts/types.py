"""Plain data of the accounts context."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["ApiKey", "Circle", "NewApiKey", "OrgKind", "Organisation", "Principal", "Role", "User"]


class Role(StrEnum):
    """What a user may do. ``sync`` is for peer hubs' service accounts."""

    ADMIN = "admin"
    ANALYST = "analyst"
    READER = "reader"
    SYNC = "sync"

    @property
    def can_write(self) -> bool:
        return self in (Role.ADMIN, Role.ANALYST, Role.SYNC)


class OrgKind(StrEnum):
    NATIONAL_CERT = "national-cert"
    SECTOR_CERT = "sector-cert"
    GOVERNMENT = "government"
    SECRETARIAT = "secretariat"
    PARTNER = "partner"


@dataclass(frozen=True)
class Organisation:
    id: str
    name: str
    short_name: str
    country: str
    kind: OrgKind
    identity_id: str
    created_us: int


@dataclass(frozen=True)
class User:
    id: str
    email: str
    name: str
    org_id: str
    role: Role
    is_active: bool
    locale: str | None
    created_us: int


@dataclass(frozen=True)
class ApiKey:
    id: str
    user_id: str
    name: str
    prefix: str
    created_us: int
    last_used_us: int | None
    revoked_us: int | None


@dataclass(frozen=True)
class NewApiKey:
    """A freshly made key: ``secret`` is shown once and never stored."""

    key: ApiKey
    secret: str


@dataclass(frozen=True)
class Circle:
    id: str
    name: str
    description: str
    member_org_ids: frozenset[str]


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: the user, their organisation and its trust circles."""

    user: User
    org: Organisation
    circle_ids: frozenset[str]
    via_key_id: str | None = None
