"""Browser journeys: Playwright for Python driving Debian's Chromium against a server started as `make run`
starts it, with a database of its own, on SQLite and (with ``SANQUAN_TEST_DATABASE_URL``) PostGIS.

Never ``playwright install``: it downloads a browser, and this machine has none to download. ``.ci/run``
installs Debian's ``chromium``; without it the journeys skip and say so. Every page a journey opens is
watched: a console error or a request to another host fails it. Screenshots go to
``build/browser/<test>/``, kept as the run's artifacts (git ignores ``build/``).
"""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import PG_URL, SKIP_PG
from tests.integration.test_server import BIN, ROOT, _free_port, _get, _make_run_commands, serving

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "build" / "browser"
ADMIN_TOKEN = "sq_browser_journeys_admin_token_0123456789abcdef"
#: where ``make screenshots`` (SANQUAN_README_SCREENSHOTS=1) writes the README's pictures of the console
README_SHOTS = Path("docs") / "images" / "console"

pytestmark = pytest.mark.slow


def _needs_chromium():
    if not CHROMIUM.exists():
        pytest.skip("the browser journeys need Debian's chromium (apt-get install chromium; .ci/run does)")
    if not (BIN / "gunicorn").exists():
        pytest.skip("needs gunicorn next to the interpreter (make install-dev)")


@pytest.fixture(scope="module", params=["sqlite", "postgis"])
def server(request, tmp_path_factory):
    """A registry served as `make run` serves it, with a database of its own and the demo county: (base URL,
    admin token, port)."""
    _needs_chromium()
    base = tmp_path_factory.mktemp(f"browser-{request.param}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANQUAN_")}
    port = _free_port()
    env.update(SANQUAN_INSTANCE=str(base / "instance"), SANQUAN_PORT=str(port), SANQUAN_DEMO="1",
               SANQUAN_ADMIN_TOKEN=ADMIN_TOKEN, THREADS="4")
    database = None
    if request.param == "postgis":
        if PG_URL is None:
            pytest.skip(SKIP_PG)
        database, url = _fresh_pg_database(f"sanquan_browser_{os.getpid()}")
        env["SANQUAN_DATABASE_URL"] = url
    prepare, serve = _make_run_commands(env)
    import subprocess

    subprocess.run(prepare, cwd=ROOT, env=env, check=True, capture_output=True, timeout=180)
    try:
        with serving(serve, env, base / "server.log", port):
            yield f"http://127.0.0.1:{port}", ADMIN_TOKEN, port
    finally:
        if database is not None:
            _drop_pg_database(database)


def _fresh_pg_database(name: str) -> tuple[str, str]:
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(PG_URL)
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name} TEMPLATE template0 LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'")
    with psycopg.connect(url.set(drivername="postgresql", database=name).render_as_string(hide_password=False),
                         autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    return name, url.set(database=name).render_as_string(hide_password=False)


def _drop_pg_database(name: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    admin = make_url(PG_URL).set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def api(server, method: str, path: str, body: dict | None = None, token: str | None = None) -> dict:
    """Call the API of the served registry (as the admin unless ``token``); the answer's JSON."""
    _, admin, port = server
    status, data = _get(port, f"/api/v1{path}", token=token or admin, body=body) if method == "POST" else \
        _get(port, f"/api/v1{path}", token=token or admin)
    assert 200 <= status < 300, (status, data)
    return json.loads(data)


@pytest.fixture
def browser():
    _needs_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            yield chromium
        finally:
            chromium.close()


class Watched:
    """A page whose console errors and requests to other hosts are collected, with numbered screenshots."""

    def __init__(self, page, base: str, folder: Path, readme: Path | None = None):
        self.page, self.base, self.folder, self.readme_folder = page, base, folder, readme
        self.errors: list[str] = []
        self.foreign: list[str] = []
        self.shots = 0
        origin = re.match(r"https?://[^/]+", base)[0]
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        #: what a "Failed to load resource" on the console was
        self.failed: list[str] = []
        page.on("response", lambda r: self.failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        page.on("request", lambda r: None if r.url.startswith((origin, "data:", "blob:", "about:"))
                else self.foreign.append(r.url))

    def go(self, path: str):
        return self.page.goto(self.base + path)

    def shot(self, name: str) -> Path:
        self.shots += 1
        path = self.folder / f"{self.shots:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def readme(self, name: str, at: str | None = None) -> None:
        """A screenshot for the README (the window as a clerk sees it, 1366×768, scrolled to centre the
        element ``at`` when given), written to ``docs/images/console/`` by ``make screenshots`` (journeys on
        SQLite only); nothing otherwise."""
        if self.readme_folder is not None:
            self.readme_folder.mkdir(parents=True, exist_ok=True)
            if at is not None:
                self.page.eval_on_selector(at, "e => e.scrollIntoView({block: 'center'})")
            self.page.screenshot(path=str(self.readme_folder / f"{name}.png"))

    def assert_clean(self, allowed_errors: tuple[str, ...] = ()) -> None:
        errors = [e for e in self.errors if not any(a in e for a in allowed_errors)]
        assert errors == [], (errors, self.failed)
        assert self.foreign == [], self.foreign


@pytest.fixture
def watched(browser, server, request):
    """A fresh browser context (1366×768, Chinese) on the served registry, watched."""
    base = server[0]
    folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = context.new_page()
    engine = request.node.callspec.params.get("server") if hasattr(request.node, "callspec") else None
    readme = ROOT / README_SHOTS if os.environ.get("SANQUAN_README_SCREENSHOTS") == "1" and engine == "sqlite" \
        else None
    w = Watched(page, base, folder, readme)
    try:
        yield w
    finally:
        context.close()
