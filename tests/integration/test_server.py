"""The server `make run` starts, started the same way: slow clients do not hold up everyone else.

The commands come from ``make -n run`` (the Makefile's own recipe, nothing
retyped here), run against an embedded SQLite instance in a temporary folder
on a free port, with the demo county off.
"""
from __future__ import annotations

import contextlib
import http.client
import io
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.skipif(shutil.which("make") is None or not (BIN / "gunicorn").exists(),
                                reason="needs make and gunicorn next to the interpreter")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _make_run_commands(env: dict) -> tuple[list[str], list[str]]:
    """`sanquan prepare` and the gunicorn command of `make run`, as make would run them."""
    out = subprocess.run(["make", "-s", "-n", "run", f"BIN={BIN}"], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout
    lines = [shlex.split(line) for line in out.splitlines()]
    prepare = next(cmd for cmd in lines if cmd[:2] == [str(BIN / "sanquan"), "prepare"])
    serve = next(cmd for cmd in lines if str(BIN / "gunicorn") in cmd)
    return prepare, serve[1:] if serve[0] == "exec" else serve


def _get(port: int, path: str, timeout: float = 5.0, token: str | None = None, body: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if body is None:
            conn.request("GET", path, headers=headers)
        else:
            conn.request("POST", path, body=json.dumps(body), headers={**headers, "Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@contextlib.contextmanager
def serving(serve: list[str], env: dict, log_path: Path, port: int):
    """Run the server command until the block ends; it answers health before the block starts."""
    log = open(log_path, "wb")  # noqa: SIM115  closed below
    process = subprocess.Popen(serve, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _get(port, "/api/v1/health", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "the server did not come up within 60 s"
            time.sleep(0.2)
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`make run` on SQLite in a temporary instance; yields (port, admin token)."""
    instance = tmp_path_factory.mktemp("served") / "instance"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANQUAN_")}
    env.update(SANQUAN_INSTANCE=str(instance), SANQUAN_DEMO="0", SANQUAN_PORT=str(port))
    prepare, serve = _make_run_commands(env)
    subprocess.run(prepare, cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)
    with serving(serve, env, instance / "server.log", port):
        yield port, (instance / "admin-token").read_text().strip()


def test_slow_and_idle_clients_do_not_delay_other_requests(server):
    port, _ = server
    stop = threading.Event()
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(4)]

    def trickle():
        with socket.create_connection(("127.0.0.1", port)) as s:
            for byte in b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 1000:
                if stop.wait(2):
                    return
                s.sendall(bytes([byte]))

    tricklers = [threading.Thread(target=trickle, daemon=True) for _ in range(4)]
    for t in tricklers:
        t.start()
    try:
        timings = []
        until = time.monotonic() + 12  # past the 5 s an idle connection is waited on in a thread
        while time.monotonic() < until:
            started = time.monotonic()
            status, _ = _get(port, "/api/v1/health", timeout=5)
            timings.append(time.monotonic() - started)
            assert status == 200
            time.sleep(0.2)
    finally:
        stop.set()
        for s in idle:
            s.close()
        for t in tricklers:
            t.join(5)
    assert len(timings) >= 20 and max(timings) < 1.0, f"slowest health check {max(timings):.2f} s"


def test_concurrent_writes_through_the_server_all_commit_once_each(server):
    port, token = server
    codes = [f"2106811010{n:02d}01" for n in range(1, 17)]

    def create(code: str) -> int:
        return _get(port, "/api/v1/collectives", timeout=30, token=token, body={"code": code, "name": f"组{code}"})[0]

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(create, codes))
    assert statuses == [201] * len(codes)
    status, body = _get(port, "/api/v1/ledger/210681", token=token)
    assert status == 200 and json.loads(body)["size"] == len(codes)
    status, body = _get(port, "/api/v1/ledger/210681/verify", token=token)
    assert status == 200 and json.loads(body)["ok"], body


def test_an_import_runs_in_its_own_process_and_the_workers_keep_answering(server, tmp_path):
    from werkzeug.test import EnvironBuilder

    from tests.packages import small_package, zip_folder

    port, token = server
    package = zip_folder(small_package(tmp_path), tmp_path / "pkg.zip")
    request = EnvironBuilder(method="POST", data={"file": (io.BytesIO(package.read_bytes()), "pkg.zip")}).get_request()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", "/api/v1/imports", body=request.get_data(),
                     headers={"Authorization": f"Bearer {token}", "Content-Type": request.content_type})
        response = conn.getresponse()
        job = json.loads(response.read())
    finally:
        conn.close()
    assert response.status == 202, job
    deadline = time.monotonic() + 120
    while job["status"] not in ("ready", "committed", "failed"):
        assert time.monotonic() < deadline, job
        started = time.monotonic()
        status, body = _get(port, f"/api/v1/imports/{job['id']}", token=token)
        assert status == 200 and time.monotonic() - started < 1
        job = json.loads(body)
        time.sleep(0.2)
    assert job["status"] == "committed", job["error"]
