"""The composition root: one hub's settings, database and services, wired once."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import ribat.capacity._tables
import ribat.federation._tables
import ribat.feeds._tables
import ribat.formats._tables
import ribat.hunt._tables  # noqa: F401  (their tables join the metadata)
from ribat.accounts import Accounts
from ribat.config import Settings, new_secret_key
from ribat.db import Database, upgrade
from ribat.intel import Intel, PageTokens, SqlIntelStore, Tlp
from ribat.intel.warninglists import WarninglistIndex, load_directory

log = logging.getLogger(__name__)

__all__ = ["Hub"]


@dataclass
class Hub:
    settings: Settings
    db: Database
    accounts: Accounts
    intel: Intel
    secret_key: str

    @classmethod
    def open(cls, settings: Settings, *, migrate: bool = False) -> Hub:
        """Connect to the database (migrating it first when asked) and wire the services."""
        if settings.mode == "production" and not settings.secret_key:
            raise SystemExit("RIBAT_SECRET_KEY must be set in production mode")
        db = Database(settings.database_url)
        if migrate:
            upgrade(db.engine)
        accounts = Accounts(db)
        secret = settings.secret_key or accounts.hub_secret("secret_key", new_secret_key)
        lists_dir = settings.warninglists_dir

        def warninglists() -> WarninglistIndex | None:
            # Loaded on first use (the first ingest or export), not by every `ribat` command.
            if lists_dir is None:
                return None
            loaded = load_directory(lists_dir)
            for problem in loaded.problems:
                log.warning("warninglists: %s", problem)
            return loaded.index

        intel = Intel(
            SqlIntelStore(db),
            accounts,
            PageTokens(secret),
            page_size_cap=settings.page_size_cap,
            default_page_size=min(settings.default_page_size, settings.page_size_cap),
            default_tlp=Tlp.parse(settings.default_tlp),
            warninglists=warninglists,
            correlation_cap=settings.correlation_cap,
        )
        # A peer hub's sync account reads and writes through that peer's boundary (ribat.intel.boundary).
        from ribat.accounts import SecretBox
        from ribat.federation._store_sql import SqlPeerStore
        from ribat.federation.service import PeerBoundaries

        intel.boundaries = PeerBoundaries(SqlPeerStore(db, SecretBox(secret)))
        return cls(settings, db, accounts, intel, secret)

    def close(self) -> None:
        self.db.dispose()
