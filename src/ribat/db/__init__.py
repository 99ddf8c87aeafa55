"""Database plumbing: the engine, transactions and migrations. No domain rules live here.

Owns: ``metadata`` (every context declares its tables on it), ``Database`` (engine plus
read and write transactions; SQLite runs in WAL mode with a single writer), and
``upgrade`` (Alembic migrations). Calls nothing else in Ribat.
"""

from ribat.db._database import Database, metadata
from ribat.db._migrate import current_revision, upgrade

__all__ = ["Database", "current_revision", "metadata", "upgrade"]
