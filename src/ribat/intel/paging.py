"""Self-contained TAXII ``next`` tokens (TAXII 2.1 section 3.4).

A token carries the position (the ``date_added`` of the last item served) and a digest
of the collection, endpoint, filters and viewer it was made for, signed with the hub's
secret key. No paging state lives in the server, so a token works on any worker and
after a restart; a token from another query, or a forged one, is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

import orjson

from ribat.errors import BadPageTokenError

__all__ = ["PageTokens"]


class PageTokens:
    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(("ribat-page-token\0" + secret).encode()).digest()

    def _scope_digest(self, scope: str) -> str:
        return hashlib.sha256(scope.encode()).hexdigest()[:16]

    def _sign(self, payload: bytes) -> str:
        return hmac.new(self._key, payload, hashlib.sha256).hexdigest()[:32]

    def make(self, scope: str, position: int) -> str:
        payload = orjson.dumps({"p": position, "s": self._scope_digest(scope)})
        body = base64.urlsafe_b64encode(payload).decode().rstrip("=")
        return f"{body}.{self._sign(payload)}"

    def read(self, scope: str, token: str) -> int:
        """The position in ``token``; raises BadPageTokenError if it is not valid for ``scope``."""
        body, _, signature = token.partition(".")
        try:
            payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except (ValueError, TypeError):
            raise BadPageTokenError("the next token is malformed") from None
        if not signature or not hmac.compare_digest(signature, self._sign(payload)):
            raise BadPageTokenError("the next token was not issued by this hub")
        try:
            data = orjson.loads(payload)
            position = int(data["p"])
            digest = str(data["s"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            raise BadPageTokenError("the next token is malformed") from None
        if digest != self._scope_digest(scope):
            raise BadPageTokenError("the next token belongs to a different request (filters or collection differ)")
        return position
