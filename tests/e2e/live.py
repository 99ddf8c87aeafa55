"""A real hub for end-to-end tests: a database, the ``ribat`` command, a ``ribat serve`` process.

``start_hub`` sets a hub up the way an operator would (``ribat init``, ``org create``,
``user create``, ``key create``, ``circle create/add``, ``collection create``) and then
serves it with ``ribat serve`` on a free port of 127.0.0.1. Each ``ribat`` process
spends about two seconds importing, so the set-up commands run through the command's
own Typer application in one helper process (``_cli_batch.py``) instead of one
process each; ``ribat serve``, ``ribat import`` and ``ribat export`` run as the real
console script.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

TAXII = "application/taxii+json;version=2.1"
SHARE_EXTENSION = "extension-definition--3f3b7c0e-6d0a-4c1e-9a8e-5b2a1f0d7c41"
PG_ADMIN_URL = os.environ.get("RIBAT_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BATCH_SCRIPT = Path(__file__).with_name("_cli_batch.py")

# TLP 2.0 marking definitions (STIX extension form, OASIS cti-stix-common-objects).
TLP_CLEAR = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
TLP_GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
TLP_AMBER = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
TLP_AMBER_STRICT = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
TLP_RED = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"


# -- what to set up ---------------------------------------------------------------------


@dataclass(frozen=True)
class Org:
    short: str
    name: str
    country: str
    kind: str = "national-cert"
    identity: str | None = None  # a STIX identity id the organisation already has (on a peer hub)


@dataclass(frozen=True)
class User:
    email: str
    org: str
    role: str = "analyst"


@dataclass(frozen=True)
class CollectionSpec:
    """``ribat collection create``; ``read`` and ``write`` are ``org:X``, ``circle:X`` or ``community``."""

    alias: str
    title: str
    default_tlp: str = "amber"
    owner: str | None = None
    read: tuple[str, ...] = ()
    write: tuple[str, ...] = ()


@dataclass(frozen=True)
class Coalition:
    orgs: tuple[Org, ...] = ()
    users: tuple[User, ...] = ()
    circles: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    collections: tuple[CollectionSpec, ...] = ()


# -- what was set up ------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    """A user of the live hub with both kinds of credentials."""

    email: str
    org: str
    password: str
    key: str

    @property
    def key_prefix(self) -> str:
        """The 8 hex characters of ``rbt_<prefix>_<secret>``."""
        return self.key.split("_")[1]


class BearerAuth(httpx.Auth):
    def __init__(self, key: str) -> None:
        self.key = key

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        request.headers["Authorization"] = f"Bearer {self.key}"
        yield request


@dataclass
class LiveHub:
    backend: str
    base_url: str
    env: dict[str, str]
    workdir: Path
    admin_key: str
    members: dict[str, Member]
    collections: dict[str, str]  # alias -> id
    log_path: Path

    @property
    def discovery_url(self) -> str:
        return f"{self.base_url}/taxii2/"

    @property
    def api_root_url(self) -> str:
        return f"{self.base_url}/taxii2/root/"

    def collection_url(self, alias: str) -> str:
        return f"{self.api_root_url}collections/{self.collections[alias]}/"

    def http(self, email: str | None = None) -> httpx.Client:
        """An HTTP client authenticated with the member's API key (the admin's when None)."""
        key = self.admin_key if email is None else self.members[email].key
        return httpx.Client(base_url=self.base_url, auth=BearerAuth(key), headers={"Accept": TAXII}, timeout=60.0)

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run the real ``ribat`` console script against this hub's database."""
        proc = subprocess.run(
            [*ribat_command(), *args], env=self.env, cwd=self.workdir, capture_output=True, text=True, timeout=300
        )
        if check and proc.returncode != 0:
            pytest.fail(f"ribat {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
        return proc


def ribat_command() -> list[str]:
    script = Path(sys.executable).parent / "ribat"
    return [str(script)] if script.exists() else [sys.executable, "-m", "ribat.cli"]


# -- databases ------------------------------------------------------------------------------


@contextmanager
def database(backend: str, workdir: Path) -> Iterator[str]:
    """A fresh, empty database URL: a file for SQLite, a new database for PostgreSQL."""
    if backend == "sqlite":
        yield f"sqlite:///{workdir / 'ribat.db'}"
        return
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except sa.exc.OperationalError as exc:
        admin.dispose()
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI but unreachable at {PG_ADMIN_URL}: {exc}")
        pytest.skip(f"PostgreSQL unreachable at {PG_ADMIN_URL}")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"ribat_e2e_{worker}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.engine.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


# -- set-up through the ribat command ---------------------------------------------------------


def _run_batch(env: Mapping[str, str], workdir: Path, commands: Sequence[dict[str, Any]]) -> list[str]:
    """Run ``ribat`` commands in one process; the last stdout line of each, in order."""
    proc = subprocess.run(
        [sys.executable, str(BATCH_SCRIPT)],
        input=json.dumps(list(commands)),
        env=dict(env),
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode != 0:
        pytest.fail(f"ribat set-up failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    results = json.loads(proc.stdout)
    last_lines = []
    for result in results:
        lines = result["stdout"].splitlines()
        if result["code"] != 0 or not lines:
            pytest.fail(
                f"ribat {' '.join(result['args'])} exited {result['code']}:\n{result['stdout']}{result['stderr']}"
            )
        last_lines.append(lines[-1].strip())
    return last_lines


def set_up(
    coalition: Coalition, env: Mapping[str, str], workdir: Path
) -> tuple[str, dict[str, Member], dict[str, str]]:
    """``ribat init`` and the coalition's set-up commands; returns the admin key, members, collection ids."""
    commands: list[dict[str, Any]] = [{"args": ["init"]}]
    for org in coalition.orgs:
        args = ["org", "create", org.name, "--short", org.short, "--country", org.country, "--kind", org.kind]
        if org.identity:
            args += ["--identity", org.identity]
        commands.append({"args": args})
    passwords = {u.email: f"pw-{secrets.token_urlsafe(12)}" for u in coalition.users}
    for user in coalition.users:
        commands.append(
            {
                "args": ["user", "create", user.email, "--org", user.org, "--role", user.role, "--password-stdin"],
                "stdin": passwords[user.email] + "\n",
            }
        )
    for user in coalition.users:
        commands.append({"args": ["key", "create", user.email]})
    for circle, orgs in coalition.circles.items():
        commands.append({"args": ["circle", "create", circle]})
        commands.append({"args": ["circle", "add", circle, *orgs]})
    for c in coalition.collections:
        args = ["collection", "create", c.title, "--alias", c.alias, "--default-tlp", c.default_tlp]
        if c.owner:
            args += ["--owner", c.owner]
        for spec in c.read:
            args += ["--read", spec]
        for spec in c.write:
            args += ["--write", spec]
        commands.append({"args": args})

    lines = iter(_run_batch(env, workdir, commands))
    admin_key = next(lines)
    for _ in coalition.orgs:
        next(lines)
    for _ in coalition.users:
        next(lines)
    members = {}
    for user in coalition.users:
        key = next(lines)
        assert key.startswith("rbt_"), key
        members[user.email] = Member(user.email, user.org, passwords[user.email], key)
    for _ in coalition.circles:
        next(lines)
        next(lines)
    collections = {c.alias: next(lines) for c in coalition.collections}
    assert admin_key.startswith("rbt_"), admin_key
    return admin_key, members, collections


# -- serving -----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_healthy(proc: subprocess.Popen[bytes], url: str, log_path: Path, deadline_s: float = 60.0) -> bool:
    """Poll ``/healthz`` until it answers 200; False if the server exited first."""
    deadline = time.monotonic() + deadline_s
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return False
            try:
                if client.get(f"{url}/healthz").status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            time.sleep(0.05)
    proc.kill()
    pytest.fail(f"ribat serve did not become healthy in {deadline_s} s:\n{log_path.read_text()}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


@contextmanager
def serving(env: Mapping[str, str], workdir: Path, log_path: Path) -> Iterator[str]:
    """``ribat serve`` on a free port of 127.0.0.1; yields its base URL, stops it on exit.

    On exit, fails when the server logged a traceback (an unhandled error, answered with a
    500) or a policy audit (a row the SQL read rule let through and the TLP engine refused).
    """
    for _attempt in range(3):
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        with log_path.open("ab") as log:
            proc = subprocess.Popen(
                [*ribat_command(), "serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                env=dict(env),
                cwd=workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            if _wait_healthy(proc, url, log_path):
                break
        except BaseException:
            _stop(proc)
            raise
        if "address already in use" not in log_path.read_text().lower():
            pytest.fail(f"ribat serve exited with {proc.returncode}:\n{log_path.read_text()}")
    else:
        pytest.fail(f"ribat serve found no free port:\n{log_path.read_text()}")
    try:
        yield url
    finally:
        _stop(proc)
    log_text = log_path.read_text()
    if "Traceback" in log_text or "policy audit removed" in log_text:
        pytest.fail(f"ribat serve logged an error:\n{log_text}")


@contextmanager
def start_hub(
    backend: str, coalition: Coalition, workdir: Path, settings: Mapping[str, str] | None = None
) -> Iterator[LiveHub]:
    """``settings``: extra ``RIBAT_*`` environment variables for every command and the server."""
    with database(backend, workdir) as db_url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RIBAT_")}
        env["RIBAT_DATABASE_URL"] = db_url
        env["RIBAT_MODE"] = "development"
        env.update(settings or {})
        admin_key, members, collections = set_up(coalition, env, workdir)
        log_path = workdir / "serve.log"
        with serving(env, workdir, log_path) as url:
            yield LiveHub(backend, url, env, workdir, admin_key, members, collections, log_path)


# -- TAXII helpers over httpx ---------------------------------------------------------------------


def stix_envelope(*objects: Mapping[str, Any]) -> dict[str, Any]:
    return {"objects": list(objects)}


def post_objects(client: httpx.Client, collection_url: str, objects: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """TAXII 2.1 Add Objects; the status resource (which must be final: this hub ingests synchronously)."""
    response = client.post(
        f"{collection_url}objects/", json={"objects": list(objects)}, headers={"Content-Type": TAXII}
    )
    assert response.status_code == 202, response.text
    status: dict[str, Any] = response.json()
    assert status["status"] == "complete", status
    return status


def get_all(
    client: httpx.Client, url: str, params: Mapping[str, str] | None = None, *, limit: int = 100, key: str = "objects"
) -> list[Any]:
    """Every item of a paged TAXII endpoint, following ``next`` until ``more`` is false."""
    items: list[Any] = []
    query = {**(params or {}), "limit": str(limit)}
    for _ in range(100_000):
        response = client.get(url, params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        batch = page.get(key, [])
        assert len(batch) <= limit
        items.extend(batch)
        if not page["more"]:
            return items
        assert batch, "a page with more=true must not be empty"
        query = {**(params or {}), "limit": str(limit), "next": page["next"]}
    raise AssertionError("paging did not end")
