"""Who is calling: HTTP Basic (email + password, or key prefix + API key) and Bearer API keys."""

from __future__ import annotations

import base64
import binascii

from fastapi import Request

from ribat.accounts import Principal
from ribat.errors import AuthenticationError, RateLimitedError
from ribat.hub import Hub
from ribat.web.ratelimit import FailureLimiter

__all__ = ["authenticate"]


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _check(hub: Hub, header: str) -> Principal:
    scheme, _, value = header.partition(" ")
    scheme = scheme.lower()
    value = value.strip()
    if scheme == "bearer" and value:
        return hub.accounts.authenticate_key(value)
    if scheme == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise AuthenticationError("malformed Basic credentials") from None
        username, sep, password = decoded.partition(":")
        if not sep:
            raise AuthenticationError("malformed Basic credentials")
        if "@" in username:
            return hub.accounts.authenticate_password(username, password)
        return hub.accounts.authenticate_key(password, expected_prefix=username)
    raise AuthenticationError("unsupported authorization scheme (use Basic or Bearer)")


def authenticate(request: Request) -> Principal:
    """The caller, or AuthenticationError. Failed attempts are rate-limited per client."""
    hub: Hub = request.app.state.hub
    limiter: FailureLimiter = request.app.state.auth_limiter
    header = request.headers.get("authorization")
    if not header:
        raise AuthenticationError("authentication required (HTTP Basic or Bearer API key)")
    client = _client(request)
    wait = limiter.retry_after(client)
    if wait:
        raise RateLimitedError(wait)
    try:
        principal = _check(hub, header)
    except AuthenticationError:
        limiter.failed(client)
        raise
    return principal
