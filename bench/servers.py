"""The two servers under test, each a real process on 127.0.0.1 with a fresh store.

``RibatServer`` runs ``ribat init``, ``ribat collection create`` and ``ribat serve``
against a new SQLite file (or a new PostgreSQL database); ``MedallionServer`` runs
medallion 3.0's own entry point with its memory backend, seeded with one empty
collection. Both expose the same few attributes, so ``bench.measure`` drives them with
the same client code.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

import httpx
import psutil

__all__ = ["MedallionServer", "RibatServer", "Server", "peak_rss_bytes"]

TAXII21 = "application/taxii+json;version=2.1"
_STARTUP_SECONDS = 60.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_rss_bytes(pid: int) -> int | None:
    """The process's peak resident set size so far (Linux ``VmHWM``); None when unknown."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def rss_bytes(pid: int) -> int | None:
    try:
        return int(psutil.Process(pid).memory_info().rss)
    except psutil.Error:
        return None


class Server(Protocol):
    name: str
    objects_url: str
    auth: tuple[str, str]

    def start(self) -> None: ...

    @property
    def pid(self) -> int: ...

    def peak_rss(self) -> int | None: ...

    def storage_bytes(self) -> int | None: ...

    def stop(self) -> None: ...


@dataclass
class _Process:
    """A child process whose output goes to a log file, stopped with SIGTERM then SIGKILL."""

    argv: list[str]
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None
    _peak_seen: int = 0

    def start(self) -> None:
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(self.argv, env=self.env, stdout=self._log, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def peak_rss(self) -> int | None:
        """``VmHWM`` where the kernel offers it, else the largest RSS seen when asked."""
        if not self.alive():
            return self._peak_seen or None
        hwm = peak_rss_bytes(self.pid)
        now = rss_bytes(self.pid) or 0
        self._peak_seen = max(self._peak_seen, hwm or 0, now)
        return self._peak_seen or None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.peak_rss()
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=20)
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def _wait_ready(proc: _Process, url: str, headers: dict[str, str], auth: tuple[str, str] | None) -> None:
    deadline = time.monotonic() + _STARTUP_SECONDS
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"{proc.argv[0]} exited during startup:\n{proc.log_tail()}")
        try:
            r = httpx.get(url, headers=headers, auth=auth, timeout=2.0)
            if r.status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {_STARTUP_SECONDS:.0f} s:\n{proc.log_tail()}")


def _ribat_argv(*args: str) -> list[str]:
    """The ``ribat`` CLI run by this interpreter (so the same virtualenv and PYTHONPATH)."""
    return [sys.executable, "-c", "import sys; from ribat.cli import main; sys.argv[0] = 'ribat'; main()", *args]


def _last_line(argv: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[3:])} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout.strip().splitlines()[-1].strip()


@dataclass
class RibatServer:
    """``ribat serve`` on a fresh SQLite file, or a fresh database on a PostgreSQL server."""

    postgres_admin_url: str | None = None
    name: str = ""
    objects_url: str = ""
    auth: tuple[str, str] = ("", "")
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="ribat-bench-")))
    database_url: str = ""
    _pg_database: str | None = None
    _process: _Process | None = None

    def __post_init__(self) -> None:
        self.name = self.name or f"Ribat ({self.engine})"

    @property
    def engine(self) -> str:
        return "PostgreSQL" if self.postgres_admin_url else "SQLite"

    def start(self) -> None:
        if self.postgres_admin_url:
            self._pg_database = f"ribat_bench_{uuid.uuid4().hex[:10]}"
            self._admin_sql(f'CREATE DATABASE "{self._pg_database}"')
            base, _, _ = self.postgres_admin_url.rpartition("/")
            self.database_url = f"{base}/{self._pg_database}"
        else:
            self.database_url = f"sqlite:///{self.workdir / 'ribat.db'}"
        env = {**os.environ, "RIBAT_DATABASE_URL": self.database_url}
        key = _last_line(_ribat_argv("init"), env)
        collection_id = _last_line(_ribat_argv("collection", "create", "bench", "--write", "community"), env)
        prefix = key.split("_")[1]
        self.auth = (prefix, key)
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        self.objects_url = f"{base_url}/taxii2/root/collections/{collection_id}/objects/"
        argv = _ribat_argv("serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning")
        self._process = _Process(argv, env, self.workdir / "serve.log")
        self._process.start()
        _wait_ready(self._process, f"{base_url}/taxii2/", {"Accept": TAXII21}, self.auth)

    def _admin_sql(self, sql: str) -> object:
        import sqlalchemy as sa

        assert self.postgres_admin_url is not None
        engine = sa.create_engine(self.postgres_admin_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                return conn.exec_driver_sql(sql).scalar()
        except sa.exc.ResourceClosedError:
            return None
        finally:
            engine.dispose()

    def storage_bytes(self) -> int | None:
        """Size of the database: the SQLite file with its WAL, or the PostgreSQL database."""
        if self._pg_database is not None:
            size = self._admin_sql(f"SELECT pg_database_size('{self._pg_database}')")
            return int(size) if isinstance(size, int) else None
        return sum(p.stat().st_size for p in self.workdir.glob("ribat.db*"))

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def peak_rss(self) -> int | None:
        return self._process.peak_rss() if self._process else None

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop()
        if self._pg_database is not None:
            self._admin_sql(f'DROP DATABASE IF EXISTS "{self._pg_database}" WITH (FORCE)')
            self._pg_database = None
        shutil.rmtree(self.workdir, ignore_errors=True)


@dataclass
class MedallionServer:
    """medallion 3.0 (the OASIS TAXII 2.1 reference server) with its memory backend."""

    name: str = "medallion"
    objects_url: str = ""
    auth: tuple[str, str] = ("bench", "bench-password")
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="medallion-bench-")))
    _process: _Process | None = None

    def start(self) -> None:
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        collection_id = str(uuid.uuid4())
        data = {
            "/discovery": {
                "title": "medallion (benchmark peer)",
                "default": f"{base_url}/api1/",
                "api_roots": [f"{base_url}/api1/"],
            },
            "api1": {
                "information": {
                    "title": "Benchmark API root",
                    "versions": [TAXII21],
                    "max_content_length": 64 * 1024 * 1024,
                },
                "status": [],
                "collections": [
                    {
                        "id": collection_id,
                        "title": "bench",
                        "can_read": True,
                        "can_write": True,
                        "media_types": ["application/stix+json;version=2.1"],
                        "objects": [],
                        "manifest": [],
                    }
                ],
            },
        }
        data_path = self.workdir / "data.json"
        data_path.write_text(json.dumps(data))
        config = {
            "backend": {
                "module": "medallion.backends.memory_backend",
                "module_class": "MemoryBackend",
                "filename": str(data_path),
            },
            "users": {self.auth[0]: self.auth[1]},
            "taxii": {"max_page_size": 1000},
        }
        config_path = self.workdir / "config.json"
        config_path.write_text(json.dumps(config))
        self.objects_url = f"{base_url}/api1/collections/{collection_id}/objects/"
        argv = [
            sys.executable, "-m", "medallion.scripts.run",
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "WARN", str(config_path),
        ]  # fmt: skip
        # Only the virtualenv: a PYTHONPATH meant for Ribat (e.g. a sitecustomize) would
        # load Ribat's modules into medallion's process and inflate its RSS.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        self._process = _Process(argv, env, self.workdir / "medallion.log")
        self._process.start()
        _wait_ready(self._process, f"{base_url}/taxii2/", {"Accept": TAXII21}, self.auth)

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def peak_rss(self) -> int | None:
        return self._process.peak_rss() if self._process else None

    def storage_bytes(self) -> int | None:
        """The memory backend keeps everything in the process: its RSS is its storage."""
        return None

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)
