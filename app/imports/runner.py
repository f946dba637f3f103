"""Runs each import job in a process of its own, outside the request workers.

``POST /imports`` answers 202 once the upload and the job's row are stored;
the job then runs in a new Python process (``python -m app.imports.runner
JOB``) in a session of its own. It reads the job from the database, writes
its progress to the job's folder and its state to the row, and exits. A
request worker killed on a timeout or restarted takes no import with it, and
no import holds a worker's thread. Jobs of one instance run one at a time
(a lock file), so memory stays bounded: a runner waits for its turn before it
imports anything heavy (about 30 MB, not the 200 MB of the GIS stack)
and keeps its job's heartbeat fresh meanwhile.

The runner's pid is kept in the job's folder (``runner.pid``) until it exits:
a job whose runner died reads as failed at once (see
:func:`app.imports.services.get_import`), and nothing of it was written,
because the commit is one transaction.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields
from pathlib import Path

from app.config import Settings

log = logging.getLogger(__name__)

#: in the imports folder: held by the job that runs, waited on by the others.
LOCK_NAME = ".runner.lock"
#: how often a waiting runner refreshes its job's heartbeat (services.STALE_AFTER_S is 120).
HEARTBEAT_S = 10

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


@contextmanager
def one_at_a_time(storage: Path, folder: Path | None = None) -> Iterator[None]:
    """Hold the instance's import lock: one job's reading, checking or commit at a time, across processes.

    While it waits, the heartbeat in ``folder``'s ``progress.json`` is refreshed, so a job waiting its
    turn never looks abandoned.
    """
    storage.mkdir(parents=True, exist_ok=True)
    with open(storage / LOCK_NAME, "a") as lock:  # closing it, or the process dying, releases the lock
        waited = 0.0
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                time.sleep(0.5)
                waited += 0.5
                if folder is not None and waited % HEARTBEAT_S == 0:
                    _beat(folder)
        yield


def _beat(folder: Path) -> None:
    try:
        progress = json.loads((folder / "progress.json").read_text())
    except (OSError, ValueError):
        return
    tmp = folder / f".progress.{os.getpid()}.json"
    tmp.write_text(json.dumps({**progress, "heartbeat": time.time()}))
    os.replace(tmp, folder / "progress.json")


def main(argv: list[str]) -> int:
    """Run job ``argv[0]`` with the settings in the environment (``SANQUAN_*``)."""
    job_id = int(argv[0])
    settings = Settings.from_env()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s [import %(process)d] %(message)s")
    with one_at_a_time(settings.imports_path, settings.imports_path / str(job_id)):
        from app.db import UnitOfWork, make_engine, make_session_factory
        from app.imports import services
        from app.ledger.services import SIGNER, LedgerSigner

        engine = make_engine(settings.sqlalchemy_url)
        signer = LedgerSigner.load(settings.ledger_key_path, name=settings.ledger_name,
                                   every=settings.checkpoint_every, minutes=settings.checkpoint_minutes)
        factory = make_session_factory(engine, info={SIGNER: signer})
        try:
            services.run_job(lambda: UnitOfWork(factory), services.import_policy(settings), job_id, turn_held=True)
        finally:
            engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
