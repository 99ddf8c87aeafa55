"""Use cases of the accounts context: organisations, users, API keys, trust circles, sign-in."""

from __future__ import annotations

import functools
import hashlib
import re
import threading
import time
from collections.abc import Iterable
from typing import Any

import orjson
from babel import Locale
from sqlalchemy import Connection, Row, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ribat.accounts import _tables as t
from ribat.accounts.secrets import (
    hash_api_key,
    hash_password,
    make_api_key,
    split_api_key,
    verify_api_key,
    verify_password,
)
from ribat.accounts.types import (
    ApiKey,
    Circle,
    NewApiKey,
    Organisation,
    OrgKind,
    Principal,
    Role,
    User,
)
from ribat.clock import Clock, NewId, format_us, new_uuid, now_us
from ribat.db import Database
from ribat.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    ValidationError,
)

__all__ = ["Accounts"]


_NOT_COUNTRIES = frozenset({"AA", "ZZ", "EU", "EZ", "UN", "AC", "CP", "CQ", "DG", "EA", "IC", "TA"})


_IDENTITY = re.compile(r"^identity--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _is_country(code: str) -> bool:
    """ISO 3166-1 alpha-2, without the user-assigned and grouping codes CLDR also lists
    (AA, QM-QZ, XA-XZ except Kosovo's XK, ZZ) and exceptional reservations (EU, UN, AC …)."""
    if len(code) != 2 or not code.isalpha() or code in _NOT_COUNTRIES:
        return False
    return not (code[0] == "Q" and code[1] >= "M") and not (code[0] == "X" and code != "XK")


@functools.cache
def _countries() -> frozenset[str]:
    return frozenset(code for code in Locale("en").territories if isinstance(code, str) and _is_country(code))


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SHORT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
MIN_PASSWORD = 10


def _org(row: Row[Any]) -> Organisation:
    return Organisation(
        id=row.id,
        name=row.name,
        short_name=row.short_name,
        country=row.country,
        kind=OrgKind(row.kind),
        identity_id=row.identity_id,
        created_us=row.created_us,
    )


def _user(row: Row[Any]) -> User:
    return User(
        id=row.id,
        email=row.email,
        name=row.name,
        org_id=row.org_id,
        role=Role(row.role),
        is_active=bool(row.is_active),
        locale=row.locale,
        created_us=row.created_us,
    )


def _key(row: Row[Any]) -> ApiKey:
    return ApiKey(
        id=row.id,
        user_id=row.user_id,
        name=row.name,
        prefix=row.prefix,
        created_us=row.created_us,
        last_used_us=row.last_used_us,
        revoked_us=row.revoked_us,
    )


class _VerifiedCache:
    """Remembers successful password checks for a short while.

    argon2id costs tens of milliseconds by design; TAXII clients using HTTP Basic send
    the password with every request. Only a digest of (user, stored hash, password) is
    kept, for ``ttl`` seconds, so a changed password or hash invalidates it at once.
    """

    def __init__(self, ttl: float = 60.0, size: int = 1024) -> None:
        self._ttl = ttl
        self._size = size
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _digest(user_id: str, stored: str, password: str) -> str:
        return hashlib.sha256(f"{user_id}\0{stored}\0{password}".encode()).hexdigest()

    def hit(self, user_id: str, stored: str, password: str) -> bool:
        key = self._digest(user_id, stored, password)
        with self._lock:
            expiry = self._seen.get(key)
            return expiry is not None and expiry > time.monotonic()

    def remember(self, user_id: str, stored: str, password: str) -> None:
        key = self._digest(user_id, stored, password)
        with self._lock:
            if len(self._seen) >= self._size:
                self._seen.clear()
            self._seen[key] = time.monotonic() + self._ttl


class Accounts:
    """Organisations, users, API keys and trust circles of one hub."""

    def __init__(self, db: Database, *, now: Clock = now_us, new_id: NewId = new_uuid) -> None:
        self.db = db
        self.now = now
        self.new_id = new_id
        self._verified = _VerifiedCache()

    # -- organisations -------------------------------------------------------------

    def create_org(
        self,
        name: str,
        short_name: str,
        country: str,
        kind: OrgKind | str = OrgKind.NATIONAL_CERT,
        *,
        identity_id: str | None = None,
    ) -> Organisation:
        name = name.strip()
        if not name:
            raise ValidationError("name", "must not be empty")
        if not _SHORT_NAME.match(short_name):
            raise ValidationError(
                "short_name", "1-40 letters, digits, '.', '_' or '-', starting with a letter or digit"
            )
        country = country.strip().upper()
        if country not in _countries():
            raise ValidationError("country", f"{country!r} is not an ISO 3166-1 alpha-2 code")
        try:
            kind = OrgKind(kind)
        except ValueError:
            raise ValidationError("kind", f"must be one of {', '.join(k.value for k in OrgKind)}") from None
        if identity_id is not None and not _IDENTITY.match(identity_id):
            raise ValidationError("identity", f"{identity_id!r} is not a STIX identity id (identity--<uuid>)")
        org_id = self.new_id()
        created = self.now()
        identity_id = identity_id or f"identity--{org_id}"
        stamp = format_us(created)
        identity = {
            "type": "identity",
            "spec_version": "2.1",
            "id": identity_id,
            "created": stamp,
            "modified": stamp,
            "name": name,
            "identity_class": "organization",
            "sectors": ["government"] if kind is not OrgKind.PARTNER else [],
            "roles": [kind.value],
            "contact_information": f"country: {country}",
        }
        if not identity["sectors"]:
            del identity["sectors"]
        try:
            with self.db.write() as conn:
                conn.execute(
                    insert(t.organisations).values(
                        id=org_id,
                        name=name,
                        short_name=short_name,
                        country=country,
                        kind=kind.value,
                        identity_id=identity_id,
                        identity_json=orjson.dumps(identity).decode(),
                        created_us=created,
                    )
                )
        except IntegrityError:
            raise ConflictError("organisation", short_name) from None
        return Organisation(org_id, name, short_name, country, kind, identity_id, created)

    def list_orgs(self) -> list[Organisation]:
        with self.db.read() as conn:
            rows = conn.execute(select(t.organisations).order_by(t.organisations.c.short_name))
            return [_org(r) for r in rows]

    def get_org(self, ref: str) -> Organisation:
        """By id, short name or STIX identity id."""
        with self.db.read() as conn:
            row = conn.execute(
                select(t.organisations).where(
                    (t.organisations.c.id == ref)
                    | (t.organisations.c.short_name == ref)
                    | (t.organisations.c.identity_id == ref)
                )
            ).first()
        if row is None:
            raise NotFoundError("organisation", ref)
        return _org(row)

    def identity_object(self, org_id: str) -> dict[str, Any]:
        with self.db.read() as conn:
            text = conn.execute(
                select(t.organisations.c.identity_json).where(t.organisations.c.id == org_id)
            ).scalar_one_or_none()
        if text is None:
            raise NotFoundError("organisation", org_id)
        result: dict[str, Any] = orjson.loads(text)
        return result

    # -- users ---------------------------------------------------------------------

    def create_user(
        self,
        email: str,
        org: str,
        role: Role | str = Role.ANALYST,
        *,
        name: str | None = None,
        password: str | None = None,
    ) -> User:
        email = email.strip().lower()
        if not _EMAIL.match(email):
            raise ValidationError("email", f"{email!r} is not an email address")
        try:
            role = Role(role)
        except ValueError:
            raise ValidationError("role", f"must be one of {', '.join(r.value for r in Role)}") from None
        if password is not None and len(password) < MIN_PASSWORD:
            raise ValidationError("password", f"must be at least {MIN_PASSWORD} characters")
        organisation = self.get_org(org)
        user_id = self.new_id()
        created = self.now()
        try:
            with self.db.write() as conn:
                conn.execute(
                    insert(t.users).values(
                        id=user_id,
                        email=email,
                        name=name or email.split("@")[0],
                        org_id=organisation.id,
                        role=role.value,
                        password_hash=hash_password(password) if password else None,
                        is_active=True,
                        locale=None,
                        created_us=created,
                    )
                )
        except IntegrityError:
            raise ConflictError("user", email) from None
        return User(user_id, email, name or email.split("@")[0], organisation.id, role, True, None, created)

    def get_user(self, ref: str) -> User:
        """By id or email."""
        with self.db.read() as conn:
            row = conn.execute(
                select(t.users).where((t.users.c.id == ref) | (t.users.c.email == ref.strip().lower()))
            ).first()
        if row is None:
            raise NotFoundError("user", ref)
        return _user(row)

    def list_users(self, org_id: str | None = None) -> list[User]:
        query = select(t.users).order_by(t.users.c.email)
        if org_id is not None:
            query = query.where(t.users.c.org_id == org_id)
        with self.db.read() as conn:
            return [_user(r) for r in conn.execute(query)]

    def set_password(self, user_ref: str, password: str) -> None:
        if len(password) < MIN_PASSWORD:
            raise ValidationError("password", f"must be at least {MIN_PASSWORD} characters")
        user = self.get_user(user_ref)
        with self.db.write() as conn:
            conn.execute(update(t.users).where(t.users.c.id == user.id).values(password_hash=hash_password(password)))

    def set_active(self, user_ref: str, active: bool) -> None:
        user = self.get_user(user_ref)
        with self.db.write() as conn:
            conn.execute(update(t.users).where(t.users.c.id == user.id).values(is_active=active))

    def set_locale(self, user_ref: str, locale: str | None) -> None:
        """The user's language for the web interface (a Babel locale name), or None for the browser's."""
        user = self.get_user(user_ref)
        with self.db.write() as conn:
            conn.execute(update(t.users).where(t.users.c.id == user.id).values(locale=locale))

    def has_admin(self) -> bool:
        with self.db.read() as conn:
            return (
                conn.execute(select(t.users.c.id).where(t.users.c.role == Role.ADMIN.value).limit(1)).first()
                is not None
            )

    # -- API keys ------------------------------------------------------------------

    def create_key(self, user_ref: str, name: str = "default") -> NewApiKey:
        user = self.get_user(user_ref)
        prefix, secret = make_api_key()
        key_id = self.new_id()
        created = self.now()
        with self.db.write() as conn:
            conn.execute(
                insert(t.api_keys).values(
                    id=key_id,
                    user_id=user.id,
                    name=name,
                    prefix=prefix,
                    key_hash=hash_api_key(secret),
                    created_us=created,
                    last_used_us=None,
                    revoked_us=None,
                )
            )
        return NewApiKey(ApiKey(key_id, user.id, name, prefix, created, None, None), secret)

    def list_keys(self, user_ref: str) -> list[ApiKey]:
        user = self.get_user(user_ref)
        with self.db.read() as conn:
            rows = conn.execute(
                select(t.api_keys).where(t.api_keys.c.user_id == user.id).order_by(t.api_keys.c.created_us)
            )
            return [_key(r) for r in rows]

    def revoke_key(self, prefix_or_id: str) -> ApiKey:
        with self.db.write() as conn:
            row = conn.execute(
                select(t.api_keys).where((t.api_keys.c.prefix == prefix_or_id) | (t.api_keys.c.id == prefix_or_id))
            ).first()
            if row is None:
                raise NotFoundError("API key", prefix_or_id)
            if row.revoked_us is None:
                conn.execute(update(t.api_keys).where(t.api_keys.c.id == row.id).values(revoked_us=self.now()))
            row = conn.execute(select(t.api_keys).where(t.api_keys.c.id == row.id)).one()
        return _key(row)

    # -- trust circles ---------------------------------------------------------------

    def create_circle(self, name: str, description: str = "") -> Circle:
        name = name.strip()
        if not name:
            raise ValidationError("name", "must not be empty")
        circle_id = self.new_id()
        try:
            with self.db.write() as conn:
                conn.execute(
                    insert(t.circles).values(id=circle_id, name=name, description=description, created_us=self.now())
                )
        except IntegrityError:
            raise ConflictError("trust circle", name) from None
        return Circle(circle_id, name, description, frozenset())

    def get_circle(self, ref: str) -> Circle:
        with self.db.read() as conn:
            row = conn.execute(select(t.circles).where((t.circles.c.id == ref) | (t.circles.c.name == ref))).first()
            if row is None:
                raise NotFoundError("trust circle", ref)
            members = conn.execute(
                select(t.circle_members.c.org_id).where(t.circle_members.c.circle_id == row.id)
            ).scalars()
            return Circle(row.id, row.name, row.description, frozenset(members))

    def list_circles(self) -> list[Circle]:
        with self.db.read() as conn:
            rows = conn.execute(select(t.circles).order_by(t.circles.c.name)).all()
            members: dict[str, set[str]] = {}
            for cid, oid in conn.execute(select(t.circle_members.c.circle_id, t.circle_members.c.org_id)):
                members.setdefault(cid, set()).add(oid)
        return [Circle(r.id, r.name, r.description, frozenset(members.get(r.id, ()))) for r in rows]

    def add_to_circle(self, circle_ref: str, org_refs: Iterable[str]) -> Circle:
        circle = self.get_circle(circle_ref)
        orgs = [self.get_org(ref) for ref in org_refs]
        with self.db.write() as conn:
            for org in orgs:
                if org.id not in circle.member_org_ids:
                    conn.execute(insert(t.circle_members).values(circle_id=circle.id, org_id=org.id))
        return self.get_circle(circle.id)

    def remove_from_circle(self, circle_ref: str, org_ref: str) -> Circle:
        circle = self.get_circle(circle_ref)
        org = self.get_org(org_ref)
        with self.db.write() as conn:
            conn.execute(
                delete(t.circle_members).where(
                    (t.circle_members.c.circle_id == circle.id) & (t.circle_members.c.org_id == org.id)
                )
            )
        return self.get_circle(circle.id)

    def circles_of(self, conn: Connection, org_id: str) -> frozenset[str]:
        return frozenset(
            conn.execute(select(t.circle_members.c.circle_id).where(t.circle_members.c.org_id == org_id)).scalars()
        )

    # -- authentication --------------------------------------------------------------

    def _principal(self, conn: Connection, user_row: Row[Any], key_id: str | None = None) -> Principal:
        org_row = conn.execute(select(t.organisations).where(t.organisations.c.id == user_row.org_id)).one()
        return Principal(_user(user_row), _org(org_row), self.circles_of(conn, user_row.org_id), key_id)

    def principal_for(self, user_ref: str) -> Principal:
        user = self.get_user(user_ref)
        with self.db.read() as conn:
            row = conn.execute(select(t.users).where(t.users.c.id == user.id)).one()
            return self._principal(conn, row)

    def authenticate_password(self, email: str, password: str) -> Principal:
        with self.db.read() as conn:
            row = conn.execute(select(t.users).where(t.users.c.email == email.strip().lower())).first()
            if row is None or not row.password_hash:
                # Spend comparable time so that unknown emails cannot be told apart.
                verify_password(_dummy_hash(), password)
                raise AuthenticationError("wrong email or password")
            if not self._verified.hit(row.id, row.password_hash, password):
                if not verify_password(row.password_hash, password):
                    raise AuthenticationError("wrong email or password")
                self._verified.remember(row.id, row.password_hash, password)
            if not row.is_active:
                raise AuthenticationError("account is disabled")
            return self._principal(conn, row)

    def authenticate_key(self, key: str, *, expected_prefix: str | None = None) -> Principal:
        prefix = split_api_key(key)
        if prefix is None or (expected_prefix is not None and prefix != expected_prefix):
            raise AuthenticationError("malformed API key")
        with self.db.read() as conn:
            row = conn.execute(select(t.api_keys).where(t.api_keys.c.prefix == prefix)).first()
            if row is None or not verify_api_key(row.key_hash, key):
                raise AuthenticationError("unknown API key")
            if row.revoked_us is not None:
                raise AuthenticationError("API key has been revoked")
            user_row = conn.execute(select(t.users).where(t.users.c.id == row.user_id)).one()
            if not user_row.is_active:
                raise AuthenticationError("account is disabled")
            principal = self._principal(conn, user_row, row.id)
            key_id, last_used = row.id, row.last_used_us
        now = self.now()
        # last-used time is kept to the minute: a write per request would serialise readers.
        if last_used is None or now - last_used > 60_000_000:
            with self.db.write() as conn:
                conn.execute(update(t.api_keys).where(t.api_keys.c.id == key_id).values(last_used_us=now))
        return principal

    # -- hub secrets ---------------------------------------------------------------------

    def hub_secret(self, name: str, make: Any) -> str:
        """The stored secret ``name``, created with ``make()`` the first time it is asked for."""
        with self.db.read() as conn:
            value = conn.execute(select(t.hub_secrets.c.value).where(t.hub_secrets.c.name == name)).scalar_one_or_none()
        if value is not None:
            return str(value)
        try:
            with self.db.write() as conn:
                value = conn.execute(
                    select(t.hub_secrets.c.value).where(t.hub_secrets.c.name == name)
                ).scalar_one_or_none()
                if value is None:
                    value = str(make())
                    conn.execute(insert(t.hub_secrets).values(name=name, value=value))
        except IntegrityError:
            with self.db.read() as conn:
                value = conn.execute(select(t.hub_secrets.c.value).where(t.hub_secrets.c.name == name)).scalar_one()
        return str(value)


@functools.cache
def _dummy_hash() -> str:
    return hash_password("not-a-real-password-for-timing")
