"""Password hashing (argon2id), API keys (random, stored as SHA-256, visible prefix), and
sealing of outbound secrets (credentials the hub must send to others, which cannot be hashed).

An API key looks like ``rbt_<prefix>_<secret>``: the prefix (8 lowercase hex digits) is
shown in lists and used to find the key; the whole key is hashed with SHA-256 (the key
carries 256 bits of randomness, so a slow hash adds nothing) and compared in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken

__all__ = [
    "SecretBox",
    "hash_api_key",
    "hash_password",
    "make_api_key",
    "split_api_key",
    "verify_api_key",
    "verify_password",
]

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters

KEY_SCHEME = "rbt"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def make_api_key() -> tuple[str, str]:
    """A new key: ``(prefix, full_key)``."""
    prefix = secrets.token_hex(4)
    return prefix, f"{KEY_SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"


def split_api_key(key: str) -> str | None:
    """The prefix of a well-formed key, else None."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_SCHEME or len(parts[1]) != 8 or not parts[2]:
        return None
    return parts[1]


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def verify_api_key(stored_hash: str, key: str) -> bool:
    return hmac.compare_digest(stored_hash, hash_api_key(key))


class SecretBox:
    """Seals outbound secrets (a feed's API key or password) before they are stored, with
    Fernet (AES-128-CBC and HMAC-SHA256, from ``cryptography``) under a key derived from the
    hub's secret key: a copy of the database alone does not give them away."""

    def __init__(self, hub_secret: str) -> None:
        digest = hashlib.sha256(b"ribat-secret-box\x00" + hub_secret.encode("utf-8")).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def open(self, token: str) -> str | None:
        """The plaintext, or None when the token was sealed under another hub secret."""
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, ValueError):
            return None
