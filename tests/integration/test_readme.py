"""The README's walkthrough, run as written against a server started as `make run` starts it.

The ```sh blocks of the README's "Walkthrough" section are run in order by one
bash with ``set -euo pipefail``, in a scratch folder standing in for the
checkout (``instance`` and ``tests`` link to the real ones), against a fresh
SQLite instance with the demo county on a free port (``SANQUAN_PORT``). curl is
wrapped to log every answer's status; ``head`` drains what it does not print, so
that a pipe cut short is not a failure under ``pipefail``. A line marked
``# needs: TOOL`` is left out when TOOL is not installed.

What the comments claim is checked against what the server answered: each
refusal they announce ("409 PARCEL_OVERLAP"), in order and nothing else
refused, and each number they quote (``"overlap_m2": 1599.77``). Then the
outcomes: the transfer completed, the dispute finalized and its parcels moved,
the settled household's lease awarded at the desk and completed, in the auditor's
report, the ledger verifies.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from tests.integration.test_server import BIN, ROOT, _free_port, _get, _make_run_commands, serving

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(any(shutil.which(tool) is None for tool in ("make", "bash", "curl", "date"))
                       or not (BIN / "gunicorn").exists(),
                       reason="needs make, bash, curl, GNU date and gunicorn next to the interpreter"),
]

NEEDS = re.compile(r"#\s*needs:\s*(\S+)")
#: a refusal a comment announces: "409 PARCEL_OVERLAP"
REFUSAL = re.compile(r"\b([45]\d\d) ([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)\b")
#: a number a comment quotes from an answer: "overlap_m2": 1599.77
QUOTED = re.compile(r'"(\w+)": (-?\d+(?:\.\d+)?)\b')

PRELUDE = """\
set -euo pipefail
curl() { command curl -w '%{stderr}%{http_code} %{method} %{url_effective}\\n' "$@" 2>>"$WALK_STATUS"; }
head() { command head "$@"; cat >/dev/null; }
"""
#: the walkthrough's variables the checks below follow
EPILOGUE = """
printf '%s\\n' "CASE=$CASE" "GIVE=$GIVE" "TAKE=$TAKE" "H1=$H1" "H2=$H2" "LAND=$LAND" "LISTING=$LISTING" \\
  "LEASE=$LEASE" "MR=$MR" >"$WALK_VARS"
"""


def walkthrough_blocks(readme: str) -> list[str]:
    """The ```sh blocks of the README's Walkthrough section, in order."""
    section = readme.split("\n## Walkthrough\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```sh\n(.*?)^```", section, re.S | re.M)


def runnable(block: str) -> str:
    """The block without the lines that need a tool this machine lacks."""
    return "\n".join(":  # left out: " + line.strip() if (m := NEEDS.search(line)) and shutil.which(m[1]) is None
                     else line for line in block.splitlines())


def comments(blocks: list[str]) -> str:
    return "\n".join(line.split("#", 1)[1] for b in blocks for line in b.splitlines() if line.lstrip().startswith("#"))


@pytest.fixture
def walked(tmp_path_factory):
    """Run the walkthrough once; yields what it printed, the statuses curl logged, its variables, the
    scratch folder, the port and the admin token."""
    base = tmp_path_factory.mktemp("readme")
    instance, checkout = base / "instance", base / "checkout"
    checkout.mkdir()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANQUAN_")}
    env.update(SANQUAN_INSTANCE=str(instance), SANQUAN_PORT=str(port), SANQUAN_DEMO="1",
               WALK_STATUS=str(base / "status.log"), WALK_VARS=str(base / "vars"))
    prepare, serve = _make_run_commands(env)
    subprocess.run(prepare, cwd=ROOT, env=env, check=True, capture_output=True, timeout=180)
    (checkout / "instance").symlink_to(instance)
    (checkout / "tests").symlink_to(ROOT / "tests")
    blocks = walkthrough_blocks((ROOT / "README.md").read_text(encoding="utf-8"))
    script = base / "walkthrough.sh"
    script.write_text(PRELUDE + "\n".join(runnable(b) for b in blocks) + EPILOGUE, encoding="utf-8")
    with serving(serve, env, base / "server.log", port):
        run = subprocess.run(["bash", str(script)], cwd=checkout, env=env, capture_output=True, text=True,
                             timeout=300)
        statuses = [line.split(" ", 2) for line in (base / "status.log").read_text().splitlines()]
        assert run.returncode == 0, (f"the walkthrough stopped (exit {run.returncode}) after "
                                     f"{statuses[-1:] or 'no request'}:\n{run.stderr[-3000:]}")
        variables = dict(line.split("=", 1) for line in (base / "vars").read_text().splitlines())
        yield {"out": run.stdout, "statuses": statuses, "vars": variables, "checkout": checkout, "blocks": blocks,
               "port": port, "token": (instance / "admin-token").read_text().strip()}


def _json(walked, path):
    import json

    status, body = _get(walked["port"], f"/api/v1{path}", token=walked["token"])
    assert status == 200, body
    return json.loads(body)


def every_refusal_announced_happens_in_order_and_nothing_else_is_refused(walked):
    announced = REFUSAL.findall(comments(walked["blocks"]))
    assert len(announced) >= 5
    refused = [(status, method, url) for status, method, url in walked["statuses"] if not status.startswith("2")]
    assert [status for status, _, _ in refused] == [status for status, _ in announced], refused
    out, at = walked["out"], 0
    for status, code in announced:  # each refusal's answer names its rule, in the same order
        found = re.compile(rf'"rule":\s*"{code}"').search(out, at)
        assert found, f"{status} {code} announced but not answered after output offset {at}"
        at = found.end()


def every_number_a_comment_quotes_is_what_the_server_answered(walked):
    quoted = QUOTED.findall(comments(walked["blocks"]))
    assert ("overlap_m2", "1599.77") in quoted
    for key, value in quoted:
        assert re.search(rf'"{key}":\s*{re.escape(value)}\b', walked["out"]), f'"{key}": {value} not in any answer'


def the_transfer_completes_and_the_dispute_ends_finalized_with_the_parcels_swapped(walked):
    v, out = walked["vars"], walked["out"]
    assert '"status":"ok"' in out.splitlines()[0]
    assert re.search(r'"rights_retained":\[\{', out), "the settlement keeps the household's rights"
    assert '"status":"completed"' in out
    case = _json(walked, f"/disputes/{v['CASE']}")
    assert (case["status"], case["freeze"], case["binding"]) == ("finalized", False, True)
    assert set(case["events"]) >= {"received", "accepted", "award_made", "award_served", "finalized"}
    h1 = {p["code"] for p in _json(walked, f"/rights/{v['H1']}J")["parcels"]}
    h2 = {p["code"] for p in _json(walked, f"/rights/{v['H2']}J")["parcels"]}
    assert v["GIVE"] in h2 and v["GIVE"] not in h1 and v["TAKE"] in h1 and v["TAKE"] not in h2
    assert v["LAND"] in h2  # the transfer's parcel stayed where the transfer put it
    assert _json(walked, "/ledger/210681/verify")["ok"] is True


def the_settled_households_lease_goes_from_the_desk_to_its_certificate_and_the_auditors_report(walked):
    v = walked["vars"]
    listing = _json(walked, f"/listings/{v['LISTING']}")
    assert (listing["status"], listing["kind"], listing["transfer"]) == ("awarded", "lease", int(v["LEASE"]))
    assert listing["award"]["rule"] == "PRIORITY_RIGHT" and listing["award"]["method"] == "bidding", listing["award"]
    lease = _json(walked, f"/transfers/{v['LEASE']}")
    assert (lease["status"], lease["from"], lease["to"]) == ("completed", v["H1"], v["H2"])
    assert lease["contract_terms"]["use"] == "种植水稻"
    right = _json(walked, f"/management-rights/{v['MR']}")
    assert (right["holder"]["household"], right["registrable"], right["registration"]) == (v["H2"], False, None)
    assert _json(walked, f"/rights/{v['H1']}J")["valid_to"] is None  # the household keeps its contract
    report = _json(walked, "/compliance/settlement-exits?within=210681")
    assert [i["transfer"] for i in report["items"] if i["listing"] == int(v["LISTING"])] == [int(v["LEASE"])]


def the_files_fetched_are_in_the_scratch_folder_only(walked):
    checkout = walked["checkout"]
    assert {p.name for p in checkout.iterdir()} == {"instance", "tests", "scratch"}
    scratch = checkout / "scratch"
    magic = {"certificate.pdf": b"%PDF", "award.pdf": b"%PDF", "parcel.png": b"\x89PNG", "parcels.gpkg": b"SQLite",
             "package.zip": b"PK", "report.geojson": b"{", "announcement.pdf": b"%PDF", "lease-contract.pdf": b"%PDF",
             "transaction-certificate.pdf": b"%PDF"}
    for name, start in magic.items():
        assert (scratch / name).read_bytes().startswith(start), name


def test_the_readme_walkthrough_runs_as_written_and_does_what_its_comments_say(walked):
    """One test, so that the walkthrough runs once however the suite is spread over workers."""
    every_refusal_announced_happens_in_order_and_nothing_else_is_refused(walked)
    every_number_a_comment_quotes_is_what_the_server_answered(walked)
    the_transfer_completes_and_the_dispute_ends_finalized_with_the_parcels_swapped(walked)
    the_settled_households_lease_goes_from_the_desk_to_its_certificate_and_the_auditors_report(walked)
    the_files_fetched_are_in_the_scratch_folder_only(walked)


def test_every_picture_the_readme_shows_is_there_and_is_taken_by_a_browser_journey():
    text = (ROOT / "README.md").read_text()
    pictures = re.findall(r"!\[[^\]]+\]\(([^)]+)\)", text)
    assert pictures, "the README shows the console"
    journeys = (ROOT / "tests" / "browser" / "test_journeys.py").read_text()
    for picture in pictures:
        path = ROOT / picture
        assert path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", picture
        taken = re.search(rf'w\.readme\("{path.stem}"[,)]', journeys)
        assert taken, f"{picture}: `make screenshots` would not retake it"
