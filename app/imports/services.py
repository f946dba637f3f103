"""Import jobs: upload, check in the background, let the clerk read the report, commit whole.

A job's files live in ``<instance>/imports/<id>/``: the upload as it came
(``package.zip`` or the layer file), ``progress.json`` (stage, done, total,
heartbeat) and ``report.json`` / ``report.geojson``. The row in
``import_jobs`` holds the state. Reading and QA never write to the registry;
the commit writes a whole county in one transaction, and the job's move to
``committed`` is part of that transaction, so a job is never half-done: a
runner that dies mid-way leaves the transaction rolled back and the job
``failed`` as soon as its process is seen gone (``runner.pid``) or its
heartbeat goes stale. Jobs run in a process of their own (:mod:`app.imports.runner`).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select

from app.auth.services import Principal
from app.config import Settings
from app.db import UnitOfWork, refresh_statistics, utcnow
from app.errors import DomainError, NotFound, RuleViolation
from app.imports.convert import convert
from app.imports.models import RUNNING, ImportJob
from app.imports.runner import one_at_a_time
from app.imports.writer import write_collectives
from app.ledger import services as ledger
from app.parcels.queries import ParcelRepository
from app.parties.services import REGISTRY_WRITERS, require_role
from app.rights.services import RightsPolicy
from gis.errors import GeometryInputError
from gis.io import read_package
from gis.qa import check_package

log = logging.getLogger(__name__)

#: A running job whose heartbeat is older than this has lost its runner (a hung one, or one whose pid is
#: another process's now).
STALE_AFTER_S = 120
#: At most this many problems are shown inline; the full list is in the report downloads.
INLINE_PROBLEMS = 1000
IMPORT_READERS = frozenset({"admin", "clerk", "auditor"})
SUFFIXES = (".zip", ".shp", ".gpkg", ".geojson", ".json")


@dataclass(frozen=True)
class ImportPolicy:
    """The settings an import runs under."""

    storage: Path
    max_bytes: int
    max_unpacked_bytes: int
    overlap_tolerance_m2: float = 0.5
    area_tolerance: float = 0.10
    max_parcel_area_m2: float = 10_000_000.0
    rights: RightsPolicy = RightsPolicy()


def import_policy(s: Settings) -> ImportPolicy:
    """The policy an import runs under with these settings (the API, the CLI and the runner process)."""
    return ImportPolicy(
        storage=s.imports_path, max_bytes=s.max_import_bytes, max_unpacked_bytes=s.max_unpacked_bytes,
        overlap_tolerance_m2=s.overlap_tolerance_m2, area_tolerance=s.area_tolerance,
        max_parcel_area_m2=s.max_parcel_area_m2,
        rights=RightsPolicy(max_start_ahead_days=s.right_start_horizon_days, homestead_max_m2=s.homestead_max_m2))


def create_import(uow: UnitOfWork, *, actor: Principal, policy: ImportPolicy, stream: IO[bytes], filename: str,
                  collective: str | None = None, dry_run: bool = False, accept_warnings: bool = False,
                  field_map: dict[str, str] | None = None) -> dict:
    """Store an uploaded package and queue its check.

    The upload is streamed to disk in 1 MB chunks and counted, so a 1 GB
    package never sits in memory.

    Raises:
        RuleViolation: IMPORT_TOO_LARGE.
        DomainError: 422 for a file type that is not a package or layer.
        NotFound: the collective is outside the actor's scope.
    """
    require_role(actor, REGISTRY_WRITERS)
    suffix = Path(filename or "").suffix.lower()
    if suffix not in SUFFIXES:
        raise DomainError(f"请上传 zip 数据包或图层文件（{'、'.join(SUFFIXES)}）",
                          f"upload a zip package or a layer file ({', '.join(SUFFIXES)})", status=422,
                          errors={"file": ["unsupported file type"]})
    if collective is not None and not actor.sees(collective):
        raise NotFound("发包方", "Collective", collective)
    policy.storage.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=policy.storage, prefix=".upload-")
    digest, size = hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(1 << 20):
                size += len(chunk)
                if size > policy.max_bytes:
                    raise RuleViolation("IMPORT_TOO_LARGE", details={"limit": policy.max_bytes})
                digest.update(chunk)
                out.write(chunk)
        with uow:
            job = ImportJob(filename=Path(filename).name[:255], size_bytes=size, sha256=digest.hexdigest(),
                            options={"collective": collective, "dry_run": dry_run, "field_map": field_map,
                                     "accept_warnings": accept_warnings, "uploader": _actor_dict(actor)},
                            status="queued", created_by=actor.name)
            uow.session.add(job)
            uow.session.flush()
            folder = policy.storage / str(job.id)
            folder.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, folder / f"upload{suffix}")
            _write_progress(folder, "queued", 0, 0)
            view = job_view(job, folder)
            uow.commit()
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return view


def get_import(uow: UnitOfWork, *, actor: Principal, policy: ImportPolicy, job_id: int) -> dict:
    """A job's state, progress, counts, QA summary and (the first 1,000) problems.

    ``uow`` may be read-only: reading a job must not wait for another job's long
    commit (SQLite has one writer at a time). Only a job found abandoned (its
    runner's process is gone, or its heartbeat is stale) is written, in a
    transaction of its own, as failed.

    Raises:
        NotFound: unknown job, or its county is outside the actor's scope.
    """
    with uow:
        job = _visible_job(uow.session, actor, job_id)
        folder = policy.storage / str(job.id)
        abandoned = job.status in RUNNING and _abandoned(folder)
        view = job_view(job, folder, problems=True)
    if not abandoned:
        return view
    with uow.another() as writer:
        locked = writer.session.get(ImportJob, job_id, with_for_update=True)
        assert locked is not None, "the job was just read, and jobs are never deleted"
        _fail_if_abandoned(locked, folder)
        writer.commit()
        return job_view(locked, folder, problems=True)


def fail_abandoned(uow: UnitOfWork, *, policy: ImportPolicy) -> list[int]:
    """Mark failed every running job whose runner is gone (``sanquan prepare`` does, as the server starts).

    Returns:
        the ids of the jobs failed.
    """
    with uow:
        failed = [job.id for job in uow.session.scalars(
            select(ImportJob).where(ImportJob.status.in_(RUNNING)).order_by(ImportJob.id).with_for_update())
            if _fail_if_abandoned(job, policy.storage / str(job.id))]
        uow.commit()
    return failed


def _fail_if_abandoned(job: ImportJob, folder: Path) -> bool:
    if job.status not in RUNNING or not _abandoned(folder):
        return False
    _fail(job, "interrupted", "导入中断（处理进程已停止），未写入任何数据，请重新上传",
          "the import was interrupted (its runner stopped); nothing was written, upload it again")
    return True


def list_imports(uow: UnitOfWork, *, actor: Principal, limit: int = 50, cursor: int | None = None) -> dict:
    """Import jobs the actor may see, newest first.

    Raises:
        Forbidden: a role that neither imports nor audits.
    """
    require_role(actor, IMPORT_READERS)
    with uow:
        q = select(ImportJob).order_by(ImportJob.id.desc())
        if cursor:
            q = q.where(ImportJob.id < cursor)
        jobs = [j for j in uow.session.scalars(q.limit(limit + 1)) if _job_visible(actor, j)]
        items = [job_view(j, None) for j in jobs[:limit]]
    return {"items": items, "next_cursor": jobs[limit - 1].id if len(jobs) > limit else None}


def report_path(uow: UnitOfWork, *, actor: Principal, policy: ImportPolicy, job_id: int, kind: str) -> Path:
    """The report file (``json`` or ``geojson``) of a checked job.

    Raises:
        NotFound: unknown job, outside the actor's scope, or not checked yet.
    """
    with uow:
        job = _visible_job(uow.session, actor, job_id)
    path = policy.storage / str(job.id) / f"report.{kind}"
    if not path.exists():
        raise NotFound("导入报告", "Import report", job_id)
    return path


def request_commit(uow: UnitOfWork, *, actor: Principal, policy: ImportPolicy, job_id: int,
                   accept_warnings: bool = False) -> dict:
    """Move a checked job to ``committing``; the runner then writes it.

    Raises:
        RuleViolation: IMPORT_BLOCKED while blocking problems remain; IMPORT_WARNINGS_NOT_ACCEPTED
            when there are warnings and ``accept_warnings`` is not set; IMPORT_NOT_READY when the
            job is not (or no longer) waiting for a commit.
        NotFound: unknown job or outside the actor's scope.
    """
    require_role(actor, REGISTRY_WRITERS)
    with uow:
        job = _visible_job(uow.session, actor, job_id, lock=True)
        _check_committable(job, accept_warnings or job.warnings_accepted)
        job.status = "committing"
        job.warnings_accepted = job.warnings_accepted or accept_warnings
        job.options = {**job.options, "committer": _actor_dict(actor)}
        # A fresh heartbeat: the one the check left may be hours old, and the job is running again.
        _write_progress(policy.storage / str(job.id), "committing", 0, 0)
        view = job_view(job, None)
        uow.commit()
    return view


def _check_committable(job: ImportJob, accept_warnings: bool) -> None:
    if job.status != "ready":
        raise RuleViolation("IMPORT_NOT_READY", details={"status": job.status})
    if job.blocking:
        raise RuleViolation("IMPORT_BLOCKED", details={"blocking": job.blocking, "qa": job.qa})
    if job.warnings and not accept_warnings:
        raise RuleViolation("IMPORT_WARNINGS_NOT_ACCEPTED", details={"warnings": job.warnings})


# --- the background part -----------------------------------------------------------------

def run_job(uow_factory: Callable[[], UnitOfWork], policy: ImportPolicy, job_id: int, *,
            turn_held: bool = False) -> None:
    """Check a queued job and, unless it is a dry run or needs the clerk, commit it; or commit a requested one.

    Runs in a runner process (see :mod:`app.imports.runner`) or in the CLI, one
    job at a time per instance: a job waits here, its heartbeat kept fresh,
    while another one runs (unless ``turn_held``: the caller waited for it,
    :func:`app.imports.runner.one_at_a_time`). Every failure ends as status
    ``failed`` with the reason; nothing is written unless the whole county's
    transaction commits.
    """
    folder = policy.storage / str(job_id)
    record_runner(folder, os.getpid())
    with _Heartbeat(folder), (nullcontext() if turn_held else one_at_a_time(policy.storage)):
        with uow_factory() as uow:
            job = uow.session.get(ImportJob, job_id)
            assert job is not None, "a runner is started for a job created before it, and jobs are never deleted"
            status, options = job.status, dict(job.options)
        try:
            if status == "queued":
                package = _check(uow_factory, policy, job_id, folder, options)
                if package is not None:
                    _commit(uow_factory, policy, job_id, folder, package)
            elif status == "committing":
                _commit(uow_factory, policy, job_id, folder, None)
        except GeometryInputError as e:
            _record_failure(uow_factory, job_id, e.rule, e.message_zh, e.message_en,
                            {"reason": e.reason, **e.details})
        except DomainError as e:
            _record_failure(uow_factory, job_id, e.rule, e.zh, e.en, e.details)
        except Exception:  # noqa: BLE001  a job must end failed, never stuck running
            log.exception("import job %s failed", job_id)
            _record_failure(uow_factory, job_id, None, "导入失败（内部错误），未写入任何数据",
                            "the import failed (internal error); nothing was written", {})
    _forget_runner(folder, os.getpid())


class _Heartbeat:
    """Refresh the job's heartbeat every few seconds while this process works on it.

    A long step (the commit of a large county is one transaction of minutes)
    reports no progress of its own; the heartbeat says the runner is alive,
    and stops when the process does, which is how an abandoned job is told apart.
    """

    EVERY_S = 10

    def __init__(self, folder: Path):
        self.folder = folder
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name=f"heartbeat-{folder.name}")

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()

    def _run(self) -> None:
        while not self.stop.wait(self.EVERY_S):
            with _progress_lock:
                progress = read_progress(self.folder) or {"stage": "…", "done": 0, "total": 0}
                _store_progress(self.folder, {**progress, "heartbeat": time.time()})


def _check(uow_factory, policy: ImportPolicy, job_id: int, folder: Path, options: dict):
    """Read and check the upload; return the package when it is to be committed straight away."""
    seconds, started = {}, time.perf_counter()
    _set_status(uow_factory, job_id, "reading")
    _write_progress(folder, "reading", 0, 0)
    package = read_package(_upload(folder), field_map=options.get("field_map"),
                           max_unpacked_bytes=policy.max_unpacked_bytes,
                           progress=lambda done, total: _write_progress(folder, "reading", done, total))
    seconds["read"] = _lap(started)
    _set_status(uow_factory, job_id, "checking")
    _write_progress(folder, "checking", 0, len(package.parcels))
    county = _county(package)
    with uow_factory().another(write=False) as uow:
        county_longitudes = ParcelRepository(uow.session).county_longitudes(county) if county else None
    report = check_package(package, overlap_tolerance_m2=policy.overlap_tolerance_m2,
                           area_tolerance=policy.area_tolerance, max_area_m2=policy.max_parcel_area_m2,
                           county_longitudes=county_longitudes,
                           progress=lambda done, total: _write_progress(folder, "checking", done, total))
    seconds["qa"] = round(_lap(started) - seconds["read"], 2)
    actor = Principal(**options["uploader"])
    with uow_factory() as uow:
        converted = convert(uow.session, package, actor=actor, policy=policy.rights,
                            overlap_tolerance_m2=policy.overlap_tolerance_m2, collective=options.get("collective"))
        report.add(converted.problems)
        _write_report(folder, report)
        seconds["registry_checks"] = round(_lap(started) - seconds["read"] - seconds["qa"], 2)
        job = uow.session.get(ImportJob, job_id)
        job.counts = {**report.counts, "seconds": seconds}
        job.qa = report.qa
        job.blocking = report.blocking
        job.warnings = len(report.problems) - report.blocking
        job.county_code = county
        job.warnings_accepted = bool(options.get("accept_warnings"))
        job.checked_at = utcnow()
        # Straight on to the commit when nothing needs the clerk; the move is one write, so no reader
        # ever sees a job that is about to commit as waiting.
        auto = not options.get("dry_run") and not job.blocking and (not job.warnings or job.warnings_accepted)
        job.status = "committing" if auto else "ready"
        if auto:
            job.options = {**job.options, "committer": options["uploader"]}
        uow.commit()
    _write_progress(folder, "committing" if auto else "ready", len(package.parcels), len(package.parcels))
    return package if auto else None


def _commit(uow_factory, policy: ImportPolicy, job_id: int, folder: Path, package) -> None:
    started = time.perf_counter()
    with uow_factory() as uow:
        job = uow.session.get(ImportJob, job_id)
        options = dict(job.options)
    if package is None:
        _write_progress(folder, "committing", 0, 0)
        package = read_package(_upload(folder), field_map=options.get("field_map"),
                               max_unpacked_bytes=policy.max_unpacked_bytes)
    actor = Principal(**options["committer"])
    total = len(package.parcels)
    _write_progress(folder, "committing", 0, total)
    with uow_factory() as uow:
        s = uow.session
        converted = convert(s, package, actor=actor, policy=policy.rights,
                            overlap_tolerance_m2=policy.overlap_tolerance_m2, collective=options.get("collective"))
        if converted.blocking:
            # The registry changed since the check (someone registered a code or a parcel).
            raise RuleViolation("IMPORT_BLOCKED", details={"blocking": converted.blocking, "problems": [
                p.message_en for p in converted.problems if p.severity == "blocking"][:20]})
        if len(converted.batches) != 1:
            raise RuleViolation("PACKAGE_INVALID", details={"counties": sorted(converted.batches)},
                                reason_zh="一个数据包只能包含一个县级行政区的数据，请按县拆分后导入",
                                reason_en="a package must hold one county; split it by county")
        (county, batches), = converted.batches.items()
        written = write_collectives(s, batches, county=county, actor=actor)
        job = s.get(ImportJob, job_id, with_for_update=True)
        if job.status != "committing":
            raise RuleViolation("IMPORT_NOT_READY", details={"status": job.status})
        # One entry ties the range to the package: what was loaded, from which file, with which warnings accepted.
        last = ledger.append(s, county=county, kind="import.committed", actor=actor, subjects=[f"import:{job.id}"],
                             data={"import": job.id, "filename": job.filename, "sha256": job.sha256,
                                   "first_seq": written.ledger_first, "counts": written.counts, "qa": job.qa,
                                   "warnings_accepted": job.warnings_accepted})
        first = written.ledger_first or last
        job.status = "committed"
        job.committed_at = utcnow()
        job.ledger_first, job.ledger_last = first, last
        seconds = {**(job.counts or {}).get("seconds", {}), "commit": _lap(started)}
        job.counts = {**(job.counts or {}), "written": written.counts, "seconds": seconds}
        uow.commit()
    try:
        with uow_factory() as uow:  # the tables just grew: plan the next queries on their new sizes
            refresh_statistics(uow.session)
            uow.commit()
    except Exception:  # noqa: BLE001  the county is committed: stale statistics slow queries, they lose nothing
        log.exception("import job %s: statistics not refreshed after the commit", job_id)
    _write_progress(folder, "committed", total, total)


def _lap(started: float) -> float:
    return round(time.perf_counter() - started, 2)


def _county(package) -> str | None:
    codes = package.parcels["DKBM"].dropna()
    return str(codes.iloc[0])[:6] if len(codes) else None


def _actor_dict(actor: Principal) -> dict:
    return {"id": actor.id, "name": actor.name, "role": actor.role, "scope": actor.scope}


def _set_status(uow_factory, job_id: int, status: str) -> None:
    with uow_factory() as uow:
        uow.session.get(ImportJob, job_id).status = status
        uow.commit()


def _record_failure(uow_factory, job_id: int, rule: str | None, zh: str, en: str, details: dict) -> None:
    with uow_factory() as uow:
        job = uow.session.get(ImportJob, job_id)
        job.status = "failed"
        job.error = {"rule": rule, "message_zh": zh, "message_en": en, "details": _jsonable(details)}
        uow.commit()


def _fail(job: ImportJob, reason: str, zh: str, en: str) -> None:
    job.status = "failed"
    job.error = {"rule": None, "message_zh": zh, "message_en": en, "details": {"reason": reason}}


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _upload(folder: Path) -> Path:
    return next(folder.glob("upload.*"))


#: The job's thread and its heartbeat both write progress.json.
_progress_lock = threading.RLock()


def _write_progress(folder: Path, stage: str, done: int, total: int) -> None:
    _store_progress(folder, {"stage": stage, "done": done, "total": total, "heartbeat": time.time()})


def _store_progress(folder: Path, progress: dict) -> None:
    with _progress_lock:
        tmp = folder / ".progress.json"
        tmp.write_text(json.dumps(progress))
        os.replace(tmp, folder / "progress.json")


def read_progress(folder: Path | None) -> dict | None:
    try:
        return json.loads((folder / "progress.json").read_text()) if folder else None
    except (OSError, ValueError):
        return None


def record_runner(folder: Path, pid: int) -> None:
    """Note the process that runs the job in ``folder`` (until it exits)."""
    tmp = folder / ".runner.pid"
    tmp.write_text(str(pid))
    os.replace(tmp, folder / "runner.pid")


def _runner_pid(folder: Path) -> int | None:
    try:
        return int((folder / "runner.pid").read_text())
    except (OSError, ValueError):
        return None


def _forget_runner(folder: Path, pid: int) -> None:
    # Only its own: the job may have a new runner already (a commit requested as the check ended).
    if _runner_pid(folder) == pid:
        (folder / "runner.pid").unlink(missing_ok=True)


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's
        return True
    return True


def _abandoned(folder: Path) -> bool:
    """Whether the running job in ``folder`` has lost its runner: its process is gone, or it has not
    refreshed the heartbeat for two minutes (hung, or the pid is another process's now)."""
    progress = read_progress(folder)
    if progress is None or time.time() - progress.get("heartbeat", 0) > STALE_AFTER_S:
        return True
    pid = _runner_pid(folder)
    return pid is not None and not _process_exists(pid)


def _write_report(folder: Path, report) -> None:
    for kind, content in (("json", report.to_dict()), ("geojson", report.to_geojson())):
        tmp = folder / f".report.{kind}"
        tmp.write_text(json.dumps(content, ensure_ascii=False))
        os.replace(tmp, folder / f"report.{kind}")


def _visible_job(s, actor: Principal, job_id: int, lock: bool = False) -> ImportJob:
    require_role(actor, IMPORT_READERS)
    job = s.get(ImportJob, job_id, with_for_update=lock)
    if job is None or not _job_visible(actor, job):
        raise NotFound("导入任务", "Import", job_id)
    return job


def _job_visible(actor: Principal, job: ImportJob) -> bool:
    """A job is seen by those whose scope holds its uploader's (the package may lie anywhere in it)."""
    return job.options["uploader"]["scope"].startswith(actor.scope)


def job_view(job: ImportJob, folder: Path | None, problems: bool = False) -> dict:
    view = {"id": job.id, "status": job.status, "filename": job.filename, "size_bytes": job.size_bytes,
            "sha256": job.sha256, "county": job.county_code, "dry_run": bool(job.options.get("dry_run")),
            "collective": job.options.get("collective"), "counts": job.counts, "qa": job.qa,
            "blocking": job.blocking, "warnings": job.warnings, "warnings_accepted": job.warnings_accepted,
            "error": job.error, "created_by": job.created_by, "created_at": job.created_at,
            "checked_at": job.checked_at, "committed_at": job.committed_at,
            "ledger": {"first": job.ledger_first, "last": job.ledger_last} if job.ledger_first else None,
            "progress": read_progress(folder)}
    if problems and folder is not None and (folder / "report.json").exists():
        report = json.loads((folder / "report.json").read_text())
        view["problems"] = report["problems"][:INLINE_PROBLEMS]
        view["problems_total"] = len(report["problems"])
    return view
