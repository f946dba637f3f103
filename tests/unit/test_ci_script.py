"""`.ci/run` is what CI executes from a clean clone: it must parse, lint before it tests, and end with the
suite on the Citus cluster; `.ci/citus-cluster`, which `make test-citus` runs, must parse too."""
from __future__ import annotations

import subprocess
from pathlib import Path

CI = Path(__file__).resolve().parents[2] / ".ci" / "run"


def test_the_ci_script_parses_and_runs_lint_then_the_suite_then_the_cluster():
    parsed = subprocess.run(["bash", "-n", str(CI)], capture_output=True, text=True)
    assert parsed.returncode == 0, parsed.stderr
    commands = [line.strip() for line in CI.read_text().splitlines() if line.strip().startswith("make ")]
    assert commands == ["make lint", "make test", "make test-citus"]


def test_the_cluster_script_parses_and_names_its_commands():
    script = CI.with_name("citus-cluster")
    parsed = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert parsed.returncode == 0, parsed.stderr
    usage = subprocess.run(["bash", str(script)], capture_output=True, text=True)
    assert usage.returncode == 2 and "up|add-node|url|down" in usage.stderr
    url = subprocess.run(["bash", str(script), "url"], capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin", "SANQUAN_CITUS_PORT": "6543"})
    assert url.stdout.strip() == "postgresql+psycopg://root@127.0.0.1:6543/sanquan", url.stderr
