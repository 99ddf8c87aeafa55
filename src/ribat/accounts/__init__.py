"""Accounts: organisations (member teams), users, API keys, roles and trust circles.

Owns the ``organisations``, ``users``, ``api_keys``, ``circles`` and ``hub_secrets``
tables. Calls ``ribat.db`` only. Other contexts import from here, never from the
private modules.
"""

from ribat.accounts.secrets import SecretBox
from ribat.accounts.service import Accounts
from ribat.accounts.types import ApiKey, Circle, NewApiKey, Organisation, OrgKind, Principal, Role, User

__all__ = [
    "Accounts",
    "ApiKey",
    "Circle",
    "NewApiKey",
    "OrgKind",
    "Organisation",
    "Principal",
    "Role",
    "SecretBox",
    "User",
]
