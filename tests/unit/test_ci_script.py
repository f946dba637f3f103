"""`.ci/run` is what CI executes from a clean clone: it must parse, and lint before it tests."""
from __future__ import annotations

import subprocess
from pathlib import Path

CI = Path(__file__).resolve().parents[2] / ".ci" / "run"


def test_the_ci_script_parses_and_runs_lint_then_the_suite():
    parsed = subprocess.run(["bash", "-n", str(CI)], capture_output=True, text=True)
    assert parsed.returncode == 0, parsed.stderr
    commands = [line.strip() for line in CI.read_text().splitlines() if line.strip().startswith("make ")]
    assert commands == ["make lint", "make test"]
