"""Use cases of the hunt context: hunt logs with the hub's indicators, share the sightings, run hunts as jobs.

* :meth:`Hunts.indicators` reads the indicators of a collection the caller may read (through ``Intel.objects``,
  so TLP applies exactly as for TAXII) and remembers each one's author organisation;
* :meth:`Hunts.run` hunts log files here or on a Dask cluster (``ribat hunt``);
* :meth:`Hunts.share` posts the sightings to a collection as the hunter's organisation, marked with the TLP the
  hunter chose (AMBER by default) and shared with each indicator's author;
* :meth:`Hunts.start` saves uploaded logs under the hub's hunt directory (by job id and number, never under the
  names they were sent with) and runs the hunt in the background; :meth:`Hunts.job` follows it. A job is seen
  by the users of the organisation that started it.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from ribat.accounts import Accounts, Principal
from ribat.clock import Clock, NewId, new_uuid, now_us
from ribat.errors import NotFoundError, PermissionDeniedError, RibatError, TooLargeError, ValidationError
from ribat.hunt.compile import Window
from ribat.hunt.distributed import hunt_distributed, hunt_local
from ribat.hunt.engine import HuntResult, HuntStats, Progress
from ribat.hunt.hits import Hit, Sample
from ribat.hunt.readers import KINDS, Problem, Problems
from ribat.hunt.sightings import to_json, to_stix
from ribat.hunt.store import HuntStore
from ribat.hunt.types import HuntJob, JobStatus
from ribat.intel import Intel, ObjectFilter, Tlp

if TYPE_CHECKING:
    from ribat.hub import Hub

__all__ = ["Hunts", "IndicatorSet", "ShareOutcome"]

log = logging.getLogger(__name__)

PAGE = 1000
PROGRESS_SECONDS = 1.0
INTERRUPTED = "interrupted: the hub stopped while this hunt ran"


@dataclass
class IndicatorSet:
    """Indicators to hunt with, and the author organisation (short name) of each one the hub knows."""

    objects: list[dict[str, Any]] = field(default_factory=list)
    authors: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ShareOutcome:
    """What sharing did: the status of each post (one per recipient group) and how many sightings it held."""

    statuses: tuple[dict[str, Any], ...]
    sightings: int


class Hunts:
    """The hunts of one hub. ``directory`` keeps uploaded logs while their job runs (removed after);
    ``max_upload_bytes`` caps one job's uploads."""

    def __init__(
        self,
        store: HuntStore,
        intel: Intel,
        accounts: Accounts,
        *,
        directory: Path,
        max_upload_bytes: int = 2 * 1024**3,
        now: Clock = now_us,
        new_id: NewId = new_uuid,
        workers: int = 1,
    ) -> None:
        self.store = store
        self.intel = intel
        self.accounts = accounts
        self.directory = directory
        self.max_upload_bytes = max_upload_bytes
        self.now = now
        self.new_id = new_id
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ribat-hunt")
        self._stopping = threading.Event()
        self.runner = f"{socket.gethostname()}:{os.getpid()}"

    @classmethod
    def for_hub(cls, hub: Hub, **kwargs: Any) -> Hunts:
        from ribat.hunt._store_sql import SqlHuntStore

        kwargs.setdefault("directory", hub.settings.hunt_dir)
        kwargs.setdefault("max_upload_bytes", hub.settings.hunt_max_upload_bytes)
        return cls(SqlHuntStore(hub.db), hub.intel, hub.accounts, **kwargs)

    def close(self) -> None:
        """Stop: queued hunts are dropped and a running one stops after its current batch; both are recorded
        as interrupted."""
        self._stopping.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.store.interrupt(self.runner, self.now(), INTERRUPTED)
        self._sweep()

    # -- indicators ----------------------------------------------------------------------------

    def indicators(self, principal: Principal | None, collection_refs: Sequence[str]) -> IndicatorSet:
        """The newest version of every indicator ``principal`` may read in the collections."""
        shorts = {o.id: o.short_name for o in self.accounts.list_orgs()}
        found = IndicatorSet()
        query = ObjectFilter(types=("indicator",), versions=("last",))
        for ref in collection_refs:
            token: str | None = None
            while True:
                page = self.intel.objects(principal, ref, query, limit=PAGE, next_token=token)
                for body, meta in zip(page.bodies, page.metas, strict=True):
                    obj = orjson.loads(body)
                    found.objects.append(obj)
                    short = shorts.get(meta.author_org_id or "")
                    if short:
                        found.authors[meta.object_id] = short
                if not page.more or page.next is None:
                    break
                token = page.next
        return found

    # -- hunting -------------------------------------------------------------------------------

    def run(
        self,
        paths: Sequence[str | Path],
        indicators: Sequence[Mapping[str, Any]],
        *,
        window: Window = Window(),  # noqa: B008  (immutable)
        kind: str | None = None,
        mapping: Mapping[str, Any] | None = None,
        scheduler: Any = None,
        problems: Problems | None = None,
        progress: Progress | None = None,
    ) -> HuntResult:
        """Hunt ``paths`` with ``indicators`` here, or on the Dask cluster at ``scheduler``. ``progress`` is
        called after each batch of a hunt run here (a cluster reports only at the end)."""
        if kind is not None and kind not in KINDS:
            raise ValidationError("kind", f"{kind!r} is not one of {', '.join(KINDS)}")
        files = [str(p) for p in paths]
        if not files:
            raise ValidationError("logs", "name at least one log file")
        if scheduler is not None:
            return hunt_distributed(
                files, indicators, scheduler=scheduler, window=window, kind=kind, mapping=mapping, problems=problems
            )
        return hunt_local(
            files, indicators, window=window, kind=kind, mapping=mapping, problems=problems, progress=progress
        )

    def share(
        self,
        principal: Principal,
        hits: Iterable[Hit],
        collection_ref: str,
        *,
        authors: Mapping[str, str],
        tlp: Tlp = Tlp.AMBER,
        also: Sequence[str] = (),
    ) -> ShareOutcome:
        """Post the sightings of ``hits`` to ``collection_ref`` as ``principal``'s organisation. Each indicator's
        sightings are shared with its author (``authors``: indicator id → organisation short name) and with
        ``also``; the hits are grouped by recipients, one post per group."""
        identity = self.accounts.identity_object(principal.org.id)
        groups: dict[tuple[str, ...], list[Hit]] = {}
        for hit in hits:
            names = list(also)
            author = authors.get(hit.indicator_id)
            if author and author != principal.org.short_name and f"org:{author}" not in names:
                names.append(f"org:{author}")
            groups.setdefault(tuple(names), []).append(hit)
        statuses = []
        count = 0
        for recipients, group in groups.items():
            bundle = to_stix(
                group, hunter_identity=identity, tlp=tlp, share_with=recipients, now_us=self.now(), new_id=self.new_id
            )
            status = self.intel.ingest(principal, collection_ref, bundle)
            count += len(group)
            statuses.append(
                {
                    "id": status.id,
                    "share_with": list(recipients),
                    "success_count": status.success_count,
                    "failure_count": status.failure_count,
                    "failures": [{"id": f.id, "message": f.message} for f in status.failures][:50],
                }
            )
        return ShareOutcome(tuple(statuses), count)

    # -- jobs ----------------------------------------------------------------------------------

    def _job_dir(self, job_id: str) -> Path:
        return self.directory / job_id

    def start(
        self,
        principal: Principal,
        uploads: Sequence[tuple[str, Iterable[bytes]]],
        *,
        collections: Sequence[str],
        window: Window = Window(),  # noqa: B008  (immutable)
        kind: str | None = None,
        mapping: Mapping[str, Any] | None = None,
        share_to: str | None = None,
        tlp: Tlp = Tlp.AMBER,
    ) -> HuntJob:
        """Keep the uploaded logs (name as sent, chunks of bytes) and run the hunt in the background.

        The indicators are read now, as ``principal``; the logs are written to ``<hunt dir>/<job id>/<n>.log``
        with at most ``max_upload_bytes`` in all (a :class:`TooLargeError` leaves nothing behind)."""
        self.require_writer(principal)
        if not uploads:
            raise ValidationError("logs", "upload at least one log file")
        if not collections:
            raise ValidationError("collections", "name at least one collection of indicators")
        if kind is not None and kind not in KINDS:
            raise ValidationError("kind", f"{kind!r} is not one of {', '.join(KINDS)}")
        if share_to is not None and not self.intel.collection(principal, share_to).can_write:
            raise PermissionDeniedError("share sightings to", f"collection {share_to}")
        chosen = self.indicators(principal, collections)
        job_id = self.new_id()
        folder = self._job_dir(job_id)
        folder.mkdir(parents=True, exist_ok=False)
        names: list[str] = []
        paths: list[str] = []
        total = 0
        try:
            for number, (name, chunks) in enumerate(uploads):
                target = folder / f"{number}.log"
                with target.open("wb") as out:
                    for chunk in chunks:
                        total += len(chunk)
                        if total > self.max_upload_bytes:
                            raise TooLargeError(total, self.max_upload_bytes)
                        out.write(chunk)
                names.append(Path(name.replace("\\", "/")).name[:200] or f"log {number + 1}")
                paths.append(str(target))
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        params = {
            "logs": names,
            "collections": list(collections),
            "since_us": window.since_us,
            "until_us": window.until_us,
            "kind": kind,
            "mapping": dict(mapping) if mapping else None,
            "share_to": share_to,
            "tlp": tlp.label if share_to else None,
        }
        job = HuntJob(
            id=job_id,
            org_id=principal.org.id,
            user_id=principal.user.id,
            runner=self.runner,
            status=JobStatus.QUEUED,
            params=params,
            created_us=self.now(),
            bytes_total=total,
        )
        self.store.add(job)
        self._pool.submit(self._run_job, principal, job, paths, chosen, window)
        return job

    def _run_job(
        self, principal: Principal, job: HuntJob, paths: list[str], chosen: IndicatorSet, window: Window
    ) -> None:
        params = job.params
        problems = Problems(keep=200)
        last = [0.0]

        def progress(stats: HuntStats) -> None:
            if self._stopping.is_set():
                raise _Stopped
            now = time.monotonic()
            if now - last[0] >= PROGRESS_SECONDS:
                last[0] = now
                self.store.update(job.id, records=stats.records, rate=stats.rate, matches=stats.matches)

        try:
            self.store.update(job.id, status=JobStatus.RUNNING, started_us=self.now(), indicators=len(chosen.objects))
            from ribat.hunt.compile import compile_indicators
            from ribat.hunt.engine import hunt
            from ribat.hunt.readers import open_logs

            compiled = compile_indicators(chosen.objects, window=window)
            batches = open_logs(paths, kind=params["kind"], mapping=params["mapping"], problems=problems)
            result = hunt(batches, compiled, window=window, progress=progress)
            names = dict(zip(paths, params["logs"], strict=True))
            for hit in result.hits.values():
                hit.samples = [_renamed(s, names) for s in hit.samples]
            self.store.update(
                job.id,
                records=result.stats.records,
                rate=result.stats.rate,
                matches=result.stats.matches,
                skipped=dict(result.skipped),
                problems=[str(_renamed_problem(p, names)) for p in problems.items],
                problem_count=problems.count,
                result=to_json(result.hits.values()),
            )
            shared: dict[str, Any] | None = None
            if params["share_to"] and result.hits:
                # The results are kept whatever sharing does; a failure to share is reported beside them.
                try:
                    outcome = self.share(
                        principal,
                        result.hits.values(),
                        params["share_to"],
                        authors=chosen.authors,
                        tlp=Tlp.parse(params["tlp"]),
                    )
                    shared = {"sightings": outcome.sightings, "statuses": list(outcome.statuses)}
                except RibatError as exc:
                    shared = {"sightings": 0, "statuses": [], "error": exc.message}
            self.store.update(job.id, status=JobStatus.DONE, finished_us=self.now(), shared=shared)
        except _Stopped:
            self.store.update(job.id, status=JobStatus.FAILED, finished_us=self.now(), error=INTERRUPTED)
        except Exception as exc:
            log.exception("hunt %s failed", job.id)
            message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            self.store.update(job.id, status=JobStatus.FAILED, finished_us=self.now(), error=str(message)[:2000])
        finally:
            shutil.rmtree(self._job_dir(job.id), ignore_errors=True)

    def job(self, principal: Principal, job_id: str) -> HuntJob:
        """A job of ``principal``'s organisation (another organisation's is "not found")."""
        found = self.store.get(job_id)
        if found is None or found.org_id != principal.org.id:
            raise NotFoundError("hunt", job_id)
        return found

    def jobs(self, principal: Principal, *, limit: int = 50, offset: int = 0) -> tuple[list[HuntJob], int]:
        if not 1 <= limit <= 500:
            raise ValidationError("limit", "must be between 1 and 500")
        if offset < 0:
            raise ValidationError("offset", "must not be negative")
        return self.store.list_jobs(principal.org.id, limit, offset)

    def wait(self, principal: Principal, job_id: str, timeout: float = 60.0) -> HuntJob:
        """The job once it is done or failed (for tests and the CLI), polling the store."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.job(principal, job_id)
            if found.status in (JobStatus.DONE, JobStatus.FAILED) or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def recover(self) -> int:
        """At start: jobs left queued or running by a hub process of this machine that no longer runs are marked
        failed; logs left behind by finished or unknown jobs are removed. Jobs of live processes (other workers
        of the same hub) and of other machines are left alone. Returns how many jobs were marked."""
        host = socket.gethostname()
        count = 0
        for runner in self.store.runners():
            name, _, pid = runner.rpartition(":")
            if name == host and pid.isdigit() and not _alive(int(pid)) and runner != self.runner:
                count += self.store.interrupt(runner, self.now(), INTERRUPTED)
        self._sweep()
        return count

    def _sweep(self) -> None:
        """Remove the uploaded logs of every job that is over (or unknown)."""
        if not self.directory.exists():
            return
        for child in self.directory.iterdir():
            found = self.store.get(child.name) if child.is_dir() else None
            if child.is_dir() and (found is None or found.status in (JobStatus.DONE, JobStatus.FAILED)):
                shutil.rmtree(child, ignore_errors=True)

    def require_writer(self, principal: Principal) -> None:
        if not principal.user.role.can_write:
            raise PermissionDeniedError("start a hunt as", principal.user.email)


class _Stopped(Exception):
    """The hub is stopping: the running hunt ends after its current batch."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _renamed(sample: Sample, names: Mapping[str, str]) -> Sample:
    """The sample with the log's name as it was uploaded in place of the path it was kept under."""
    return replace(sample, file=names.get(sample.file, sample.file))


def _renamed_problem(problem: Problem, names: Mapping[str, str]) -> Problem:
    return replace(problem, file=names.get(problem.file, problem.file))
