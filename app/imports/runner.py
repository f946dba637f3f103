"""Runs import jobs in the background, one at a time per worker process.

A thread is enough: reading and QA spend their time in GDAL and GEOS, which
release the GIL, and one job at a time keeps a worker's memory bounded. A job
is tied to the process that runs it; if that process dies, the job's
heartbeat goes stale and the next read of it reports it failed (nothing was
written: the commit is one transaction).
"""
from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor

from app.db import UnitOfWork
from app.imports.services import ImportPolicy, run_job

_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None


def submit(session_factory, policy: ImportPolicy, job_id: int) -> Future:
    """Queue a job on this process's import thread."""
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sanquan-import")
    return _executor.submit(run_job, lambda: UnitOfWork(session_factory), policy, job_id)
