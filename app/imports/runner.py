"""Runs each import job in a process of its own, outside the request workers.

``POST /imports`` answers 202 once the upload and the job's row are stored;
the job then runs in a new Python process (``python -m app.imports.runner
JOB``) in a session of its own. It reads the job from the database, writes
its progress to the job's folder and its state to the row, and exits. A
request worker killed on a timeout or restarted takes no import with it, and
no import holds a worker's thread. Jobs of one instance run one at a time
(:func:`app.imports.services.run_job` takes a lock file), so memory stays
bounded; a job waiting its turn keeps its heartbeat fresh.

The runner's pid is kept in the job's folder (``runner.pid``) until it exits:
a job whose runner died reads as failed at once (see
:func:`app.imports.services.get_import`), and nothing of it was written,
because the commit is one transaction.
"""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from dataclasses import fields

from app.config import Settings

log = logging.getLogger(__name__)

_lock = threading.Lock()
#: the runners this process started and has not yet seen exit.
_children: set[subprocess.Popen] = set()


def _environment(settings: Settings) -> dict[str, str]:
    """The environment that gives the runner the settings this process runs with."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANQUAN_")}
    for f in fields(Settings):
        value = getattr(settings, f.name)
        if f.name == "instance":
            value = str(settings.instance_path)
        elif isinstance(value, bool):
            value = "1" if value else "0"
        env[f"SANQUAN_{f.name.upper()}"] = str(value)
    return env


def start(settings: Settings, job_id: int) -> subprocess.Popen:
    """Start the runner process of a queued (or committing) job and return at once."""
    from app.imports.services import record_runner

    process = subprocess.Popen([sys.executable, "-m", "app.imports.runner", str(job_id)],
                               env=_environment(settings), stdin=subprocess.DEVNULL, close_fds=True,
                               start_new_session=True)  # a signal to the server's process group spares it
    record_runner(settings.imports_path / str(job_id), process.pid)
    with _lock:
        _children.add(process)
    # Reap it when it ends, so its pid is free and a dead runner is seen as dead.
    threading.Thread(target=_reap, args=(process,), daemon=True, name=f"import-runner-{job_id}").start()
    return process


def _reap(process: subprocess.Popen) -> None:
    process.wait()
    with _lock:
        _children.discard(process)


def wait(timeout: float) -> None:
    """Wait for the runners this process started; kill those still running after ``timeout`` seconds.

    For tests (no job outlives the test that started it) and for scripts that must not leave jobs behind.
    """
    deadline = time.monotonic() + timeout
    with _lock:
        running = list(_children)
    for process in running:
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main(argv: list[str]) -> int:
    """Run job ``argv[0]`` with the settings in the environment (``SANQUAN_*``)."""
    from app.db import UnitOfWork, make_engine, make_session_factory
    from app.imports import services
    from app.ledger.services import SIGNER, LedgerSigner

    job_id = int(argv[0])
    settings = Settings.from_env()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s [import %(process)d] %(message)s")
    engine = make_engine(settings.sqlalchemy_url)
    signer = LedgerSigner.load(settings.ledger_key_path, name=settings.ledger_name, every=settings.checkpoint_every,
                               minutes=settings.checkpoint_minutes)
    factory = make_session_factory(engine, info={SIGNER: signer})
    try:
        services.run_job(lambda: UnitOfWork(factory), services.import_policy(settings), job_id)
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
