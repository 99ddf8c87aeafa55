"""The web session: a cookie signed with the hub's secret key, and its CSRF token.

The cookie holds only the signed-in user's id, the session's CSRF token, the language
chosen with the switcher and a one-time message; it is HttpOnly, SameSite=Lax, and
Secure in production mode. Every POST form carries the token and is refused without it.
Signing out clears the cookie; signing in and changing one's password issue a new token.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

__all__ = ["COOKIE", "Session", "SessionCodec"]

COOKIE = "ribat_session"


@dataclass
class Session:
    user_id: str | None = None
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    lang: str | None = None
    flash: str | None = None
    changed: bool = False

    def valid_csrf(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf, str(token))

    def sign_in(self, user_id: str) -> None:
        self.user_id = user_id
        self.csrf = secrets.token_urlsafe(24)
        self.changed = True

    def sign_out(self) -> None:
        self.user_id = None
        self.csrf = secrets.token_urlsafe(24)
        self.flash = None
        self.changed = True

    def set_flash(self, message: str) -> None:
        self.flash = message
        self.changed = True

    def pop_flash(self) -> str | None:
        message, self.flash = self.flash, None
        if message is not None:
            self.changed = True
        return message


class SessionCodec:
    def __init__(self, secret_key: str, *, max_age_s: int, secure: bool) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt="ribat.web.session")
        self.max_age_s = max_age_s
        self.secure = secure

    def load(self, request: Request) -> Session:
        raw = request.cookies.get(COOKIE)
        if raw:
            try:
                data: dict[str, Any] = self._serializer.loads(raw, max_age=self.max_age_s)
            except BadSignature:
                data = {}
            if isinstance(data, dict) and isinstance(data.get("csrf"), str):
                return Session(
                    user_id=data.get("uid") if isinstance(data.get("uid"), str) else None,
                    csrf=data["csrf"],
                    lang=data.get("lang") if isinstance(data.get("lang"), str) else None,
                    flash=data.get("flash") if isinstance(data.get("flash"), str) else None,
                )
        return Session(changed=True)

    def save(self, session: Session, response: Response) -> None:
        if not session.changed:
            return
        value = self._serializer.dumps(
            {"uid": session.user_id, "csrf": session.csrf, "lang": session.lang, "flash": session.flash}
        )
        response.set_cookie(
            COOKIE,
            value,
            max_age=self.max_age_s,
            path="/",
            httponly=True,
            samesite="lax",
            secure=self.secure,
        )
