"""Run every benchmark for each engine and size; print a table; write bench/out/results.json.

    python -m bench.run_all [--engines sqlite,postgis] [--sizes 10000,200000]
    make bench

The first run loads the synthetic county for each engine and size (about
two minutes per 200,000 parcels per engine on 2 cores); later runs reuse the
loaded databases. PostGIS needs a server reachable as ``SANQUAN_BENCH_PG_URL``
(default ``postgresql+psycopg://root@127.0.0.1:5432/``) by a role that may
create databases; the postgis extension must be installed there.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time

from bench import parcels
from bench.common import OUT, log, prepare

#: The issue's targets.
LOOKUP_P99_TARGET_MS = 20.0
#: "Independent of parcel count": p50 at the large size within this factor of the small one.
SCALING_TOLERANCE = 1.5


def machine() -> dict:
    def sh(cmd: str) -> str:
        try:
            return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=10,
                                  check=False).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    model = next((ln.split(":", 1)[1].strip() for ln in sh("cat /proc/cpuinfo").splitlines()
                  if ln.startswith("model name")), "")
    mem = next((ln.split()[1] for ln in sh("free -h").splitlines() if ln.startswith("Mem:")), "")
    return {"cpus": os.cpu_count(), "cpu_model": model, "memory": mem, "python": platform.python_version(),
            "sqlite": __import__("sqlite3").sqlite_version, "wrk": bool(sh("command -v wrk")),
            "postgres": sh("psql --version"), "kernel": platform.release()}


def _fmt(v, nd=1) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.{nd}f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def _table(headers: list[str], rows: list[list]) -> str:
    cells = [headers] + [[_fmt(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(r: list[str]) -> str:
        return "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))

    return "\n".join([line(cells[0]), line(["-" * w for w in widths])] + [line(r) for r in cells[1:]])


def summarise(results: dict) -> str:
    out = []
    loads = [[f"{r['engine']}", r["n"], r["load_s"], r["parcels_per_s"], r["peak_rss_mb"], r["db_size_mb"],
              "reused" if r.get("reused") else "fresh"] for r in results["load"]]
    out += ["Load (load_demo, one transaction per collective)",
            _table(["engine", "parcels", "load s", "parcels/s", "peak RSS MB", "db MB", "this run"], loads), ""]
    rows = []
    for r in results["create"]:
        for w in ("refused", "accepted"):
            x = r[w]
            rows.append([r["engine"], r["n"], w, x["count"], x["p50"], x["p95"], x["p99"], x["max"],
                         x["throughput_rps"], x["unexpected"]])
    out += ["Parcel creation, POST /api/v1/parcels in-process (Flask test client, one client), ms",
            _table(["engine", "parcels", "workload", "count", "p50", "p95", "p99", "max", "req/s", "unexpected"],
                   rows), ""]
    if results["scaling"]:
        rows = [[s["engine"], s["workload"], s["small"], s["large"], s["p50_small"], s["p50_large"],
                 s["p50_ratio"], s["p99_ratio"], "yes" if s["met"] else "NO"] for s in results["scaling"]]
        out += [f"Overlap check vs parcel count (target: p50 ratio <= {SCALING_TOLERANCE})",
                _table(["engine", "workload", "small", "large", "p50 small", "p50 large", "p50 ratio",
                        "p99 ratio", "met"], rows), ""]
    rows = [[r["engine"], r["n"], r["tool"], r["connections"], r["requests"], r["rps"], r["p50"], r["p90"],
             r["p99"], r["non200"] + r["empty"] + r["socket_errors"],
             "yes" if r["p99"] is not None and r["p99"] <= LOOKUP_P99_TARGET_MS else "NO"]
            for r in results["lookup"]]
    out += [f"Point lookup GET /api/v1/parcels?contains=, gunicorn 2 workers "
            f"(target: p99 <= {LOOKUP_P99_TARGET_MS:g} ms)",
            _table(["engine", "parcels", "tool", "conns", "requests", "req/s", "p50", "p90", "p99", "bad",
                    "met"], rows)]
    return "\n".join(out)


def scaling(create: list[dict]) -> list[dict]:
    out = []
    for engine in sorted({r["engine"] for r in create}):
        runs = sorted((r for r in create if r["engine"] == engine), key=lambda r: r["n"])
        if len(runs) < 2:
            continue
        small, large = runs[0], runs[-1]
        for w in ("refused", "accepted"):
            ratio = large[w]["p50"] / small[w]["p50"]
            out.append({"engine": engine, "workload": w, "small": small["n"], "large": large["n"],
                        "p50_small": small[w]["p50"], "p50_large": large[w]["p50"],
                        "p50_ratio": round(ratio, 2), "p99_ratio": round(large[w]["p99"] / small[w]["p99"], 2),
                        "met": ratio <= SCALING_TOLERANCE})
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.run_all", description=__doc__.split("\n")[0])
    p.add_argument("--engines", default="sqlite,postgis")
    p.add_argument("--sizes", default="10000,200000")
    p.add_argument("--duration", type=float, default=10.0, help="seconds of lookup load per run")
    p.add_argument("--max-requests", type=int, default=parcels.CREATE_MAX_REQUESTS,
                   help="requests per creation workload")
    p.add_argument("--tool", choices=("auto", "wrk", "python"), default="auto", help="lookup load generator")
    p.add_argument("--skip", default="", help="comma list of create,lookup to skip")
    p.add_argument("--reload", action="store_true", help="reload the databases even if loaded ones match")
    a = p.parse_args(argv)
    engines = [e for e in a.engines.split(",") if e]
    sizes = [int(s) for s in a.sizes.split(",") if s]
    skip = set(a.skip.split(",")) - {""}
    results = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": machine(),
               "args": vars(a), "load": [], "create": [], "lookup": []}
    t0 = time.perf_counter()
    for engine in engines:
        for n in sizes:
            # Load (or reuse) right before use, so the figures belong to the data measured.
            results["load"].append(prepare(engine, n, force=a.reload))
            if "create" not in skip:
                results["create"].append(parcels.bench_create(engine, n, max_requests=a.max_requests,
                                                              ensure=False))
            if "lookup" not in skip:
                results["lookup"] += parcels.bench_lookup(engine, n, duration=a.duration, tool=a.tool,
                                                          ensure=False)
    results["scaling"] = scaling(results["create"])
    results["elapsed_s"] = round(time.perf_counter() - t0, 1)
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "results.json"
    path.write_text(json.dumps(results, indent=2, default=str, ensure_ascii=False))
    print(summarise(results))
    print(f"\nmachine: {results['machine']['cpus']} CPUs ({results['machine']['cpu_model']}), "
          f"{results['machine']['memory']} RAM; elapsed {results['elapsed_s']} s; full results in {path}")
    log("done")


if __name__ == "__main__":
    main()
