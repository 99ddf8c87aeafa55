"""Settings: one typed object, read once from the environment (prefix ``RIBAT_``) and passed in.

Every setting carries its help text; ``docs/settings.md`` is generated from it
(``ribat settings --markdown``) and a test fails when the two disagree.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "settings_markdown"]


class Settings(BaseSettings):
    """Hub configuration. Environment variables are ``RIBAT_`` + the upper-case field name."""

    model_config = SettingsConfigDict(env_prefix="RIBAT_", extra="ignore", frozen=True)

    database_url: str = Field(
        default="sqlite:///./ribat.db",
        description=(
            "SQLAlchemy URL of the database. SQLite (`sqlite:///path`) for the embedded "
            "hub; PostgreSQL (`postgresql+psycopg://user@host/db`) in production."
        ),
    )
    secret_key: str | None = Field(
        default=None,
        description=(
            "Key that signs TAXII paging tokens and session cookies. When unset, a random "
            "key is generated on first `ribat init` and stored in the database."
        ),
    )
    mode: Literal["development", "production"] = Field(
        default="development",
        description=(
            "`production` refuses to start without an explicit secret key and never creates "
            "demo data or default credentials."
        ),
    )
    max_envelope_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=1024,
        description="Largest request body accepted by TAXII POST, in bytes (larger gets 413).",
    )
    max_upload_bytes: int = Field(
        default=32 * 1024 * 1024,
        ge=1024,
        description=(
            "Largest file accepted by an import (STIX, MISP, CSV, IOC list, OpenIOC) or a report "
            "extraction (PDF, HTML, text), in bytes, over the API, the web interface and the CLI (larger gets 413)."
        ),
    )
    page_size_cap: int = Field(
        default=1000,
        ge=1,
        le=100_000,
        description="Most objects one TAXII page returns; a larger `limit` is lowered to this.",
    )
    default_page_size: int = Field(
        default=100,
        ge=1,
        description="Objects per TAXII page when the client sends no `limit`.",
    )
    taxii_api_root: str = Field(
        default="root",
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Path segment of the single TAXII API root, served at `/taxii2/<root>/`.",
    )
    hub_title: str = Field(
        default="Ribat hub",
        description="Title shown in TAXII discovery and the web interface.",
    )
    hub_contact: str | None = Field(
        default=None,
        description="Contact address shown in TAXII discovery.",
    )
    default_tlp: Literal["clear", "green", "amber", "amber+strict", "red"] = Field(
        default="amber",
        description="TLP given to new collections' unmarked objects unless the collection sets its own.",
    )
    login_rate_limit: int = Field(
        default=10,
        ge=1,
        description="Failed authentications allowed per client address per minute before 429.",
    )

    session_hours: float = Field(
        default=12.0,
        gt=0,
        le=24 * 30,
        description=(
            "How long a web-interface sign-in lasts, in hours. The session is a cookie signed "
            "with the secret key (HttpOnly, SameSite=Lax, Secure in production mode)."
        ),
    )

    warninglists_dir: Path | None = Field(
        default=None,
        description=(
            "Directory of MISP warninglists (one `<name>/list.json` per list, as in the "
            "misp-warninglists repository). Indicators that hit a list are flagged at ingest, "
            "detection exports leave them out, and `ribat check` reports hits. Unset means none configured."
        ),
    )

    correlation_cap: int = Field(
        default=200,
        ge=1,
        le=100_000,
        description=(
            "Per-value cap of the correlation look-up: a value related to more readable objects than this "
            "(a public resolver, a popular domain) is reported as over-correlating, with its count, "
            "instead of listing the objects."
        ),
    )

    feed_scheduler: bool = Field(
        default=True,
        description=(
            "Whether `ribat serve` runs due feeds in the background (one at a time per process; with "
            "several workers or hubs on one database each due feed is still run by one of them only)."
        ),
    )
    feed_poll_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="Seconds between the background scheduler's looks for due feeds (it also looks at start).",
    )
    feed_timeout: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="Seconds a feed download may wait to connect or between bytes before it is retried.",
    )
    feed_max_bytes: int = Field(
        default=256 * 1024 * 1024,
        ge=1024,
        description="Largest download (a TAXII page, a MISP event, a CSV or IOC list, a local file) a feed accepts.",
    )

    suricata_sid_base: int = Field(
        default=1_000_000_000,
        ge=1,
        le=4_294_966_296,
        description=(
            "First `sid` of exported Suricata rules. Each rule's sid is derived from its indicator and value "
            "into [base, base + 1,000,000,000) (cut at 4294967295), so re-exports keep their sids."
        ),
    )

    federation_scheduler: bool = Field(
        default=True,
        description=(
            "Whether `ribat serve` syncs each due peer hub in the background (one at a time per process; with "
            "several processes, each peer is synced by one of them at a time)."
        ),
    )
    federation_poll_seconds: float = Field(
        default=15.0, gt=0, description="How often the background sync looks for due peer hubs, in seconds."
    )
    federation_timeout: float = Field(
        default=30.0, gt=0, description="Seconds to wait for a peer hub to answer one request before retrying."
    )
    federation_retries: int = Field(
        default=3,
        ge=0,
        le=10,
        description=(
            "How many times a failed request to a peer hub (unreachable, timed out, 5xx, 429, or an answer that is "
            "not TAXII) is retried, with exponential backoff, before the run fails."
        ),
    )
    federation_page_size: int = Field(
        default=1000, ge=1, le=10_000, description="Objects per page pulled from, or pushed to, a peer hub."
    )
    capacity_models_dir: Path | None = Field(
        default=None,
        description=(
            "Directory of extra maturity model files (YAML or JSON, see docs/capacity-models.md) offered beside "
            "the shipped ones. A model version is pinned in the database by the first assessment that uses it."
        ),
    )
    assessment_document_bytes: int = Field(
        default=20 * 1024 * 1024,
        ge=1024,
        le=1024 * 1024 * 1024,
        description="Largest evidence document an assessment accepts (kept in the database, never on disk).",
    )
    benchmark_minimum: int = Field(
        default=3,
        ge=3,
        le=1000,
        description=(
            "Fewest countries a coalition benchmark aggregate may be computed from; smaller groups are "
            "suppressed (at three, a median is one country's own value: raise it for larger coalitions)."
        ),
    )

    hunt_dir: Path = Field(
        default=Path("ribat-hunts"),
        description=(
            "Directory where logs uploaded for a hunt are kept while the hunt runs (one sub-directory per job, "
            "files named by number, never by the names they were sent with); removed when the hunt ends."
        ),
    )
    hunt_max_upload_bytes: int = Field(
        default=2 * 1024**3,
        ge=1024,
        description="Largest total size of the logs uploaded for one hunt (streamed to disk, never held in memory).",
    )

    @field_validator("database_url")
    @classmethod
    def _normalise_postgres_url(cls, value: str) -> str:
        # Plain postgresql:// would pick psycopg2, which is not a dependency.
        for prefix in ("postgresql://", "postgres://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix) :]
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def sqlite_path(self) -> Path | None:
        if not self.is_sqlite:
            return None
        path = self.database_url.split(":///", 1)[-1]
        return None if path in ("", ":memory:") else Path(path)


def new_secret_key() -> str:
    return secrets.token_urlsafe(48)


def settings_markdown() -> str:
    """The settings reference as Markdown, generated from the field declarations."""
    lines = [
        "# Settings",
        "",
        "Generated by `ribat settings --markdown`; do not edit by hand.",
        "Each setting is read from the environment variable shown.",
        "",
        "| variable | default | description |",
        "| --- | --- | --- |",
    ]
    for name, field in Settings.model_fields.items():
        default = field.default
        shown = "(none)" if default is None else f"`{default}`"
        lines.append(f"| `RIBAT_{name.upper()}` | {shown} | {field.description} |")
    return "\n".join(lines) + "\n"
