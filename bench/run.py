"""Benchmarks: ``python -m bench.run [--smoke] [--out bench/last-run.json]``.

Prints a table and writes the figures as JSON.  Every speed figure is a ratio
against a named reference measured in the same run (these machines are shared
and noisy); absolute times are reported for context only.

1. In the browser (``bench/browser.py``): page weight, first figure on a cold and a warm
   cache over "slow 4G", interaction latency -- against the floor app (``bench/floor_app.py``,
   one ``dcc.Graph`` with the same figure JSON) measured in the same run.
2. Callback latency: each page's main callback through the Flask test client with
   realistic inputs (a mix of views users switch between), server time p50/p95; kept as
   information (the server answers in milliseconds; the browser figures are the targets).
3. Results-table rebuild: ours vs pyfixest running the same regressions.
4. TWFE with clustered errors at 30k/300k/857k client-waves vs pyfixest and linearmodels.
5. Load: 10/50/100 concurrent users on 2 gunicorn workers over loopback (accepting brotli
   like a browser), and 50 users again with compression switched off, for comparison.
6. Cold start: process start to the first 200 on ``/``.

``--smoke`` runs every part at a tiny size so the script cannot rot (part of ``make test``).
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np

from bench.loadgen import PROJECT_ROOT, Gunicorn, callback_bodies, free_port, run_load

# realistic inputs per page: (callback output key fragment, input values in order)
VIEWS = {
    "effects": (
        "effects-forest.figure",
        [dict(zip(("method", "wave", "inference", "scale", "level", "mt"), v, strict=True))
         for v in itertools.product(("did", "ancova"), ("2", "1"), ("wild", "cluster"), ("natural", "std"), ("95",), ("q",))],
    ),
    "breakdowns": (
        "breakdowns-header.children",
        [{"outcome": o, "method": "did", "wave": "2", "inference": i}
         for o in ("repay_difficulty", "insurance_any", "index_repayment") for i in ("wild", "cluster")],
    ),
    "results-chain": (
        "chain-diagram.children",
        [{"node": n, "method": m, "wave": "2", "inference": "wild"}
         for n in ("repayment", "asset_building", "risk_management") for m in ("did", "ancova")],
    ),
}  # fmt: skip


def machine() -> dict:
    pkgs = {}
    for name in ("dash", "plotly", "pandas", "numpy", "pyfixest", "linearmodels", "gunicorn"):
        try:
            pkgs[name] = md.version(name)
        except md.PackageNotFoundError:
            pkgs[name] = None
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "packages": pkgs,
    }


def _figure_of(response: dict) -> dict | None:
    """The largest plotly figure anywhere in a callback response (a prop, or nested in children)."""
    found: list[dict] = []

    def walk(obj) -> None:
        if isinstance(obj, dict):
            if "data" in obj and "layout" in obj:
                found.append(obj)
                return
            for v in obj.values():
                walk(v)
        elif isinstance(obj, list):
            for v in obj:
                walk(v)

    walk(response.get("response", {}))
    return max(found, key=lambda f: len(json.dumps(f, default=str)), default=None)


def callback_latency(repeats: int) -> dict:
    import plotly
    import plotly.graph_objects as go

    import app as dash_module

    bodies = {b["output"]: b for b in callback_bodies(dash_module.app)}
    client = dash_module.server.test_client()
    out = {}
    for page, (fragment, combos) in VIEWS.items():
        key = next(k for k in bodies if fragment in k)
        body = bodies[key]
        times, floors, misses = [], [], 0
        seen = set()
        for values in itertools.islice(itertools.cycle(combos), repeats * len(combos)):
            payload = json.loads(json.dumps(body))
            for item in payload["inputs"]:
                if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                    continue  # a pattern-matching input (the viewport's crossing count)
                name = item["id"].split("-", 1)[-1]
                if name in values:
                    item["value"] = values[name]
            misses += tuple(values.items()) not in seen
            seen.add(tuple(values.items()))
            t = time.perf_counter()
            resp = client.post("/_dash-update-component", json=payload)
            times.append(time.perf_counter() - t)
            if resp.status_code != 200:
                raise RuntimeError(f"{page}: callback answered {resp.status_code}")
            # the floor: plotly serialising the same figure (a Figure object) to JSON
            fig = go.Figure(_figure_of(resp.get_json()))
            t = time.perf_counter()
            plotly.io.to_json(fig)
            floors.append(time.perf_counter() - t)
        p50, p95 = np.percentile(times, [50, 95])
        floor = statistics.median(floors)
        out[page] = {
            "calls": len(times), "distinct_views": len(combos), "first_calls_uncached": misses,
            "p50_ms": round(1000 * p50, 2), "p95_ms": round(1000 * p95, 2),
            "floor_ms": round(1000 * floor, 3), "p95_vs_floor": round(p95 / floor, 2),
        }  # fmt: skip
    return out


def cold_start(build_dir: Path, runs: int) -> float:
    times = []
    for _ in range(runs):
        port = free_port()
        env = os.environ | {"AMK_BUILD_DIR": str(build_dir), "PORT": str(port), "HOST": "127.0.0.1"}
        t = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "app.py"], cwd=PROJECT_ROOT, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    if proc.poll() is not None or time.perf_counter() - t > 120:
                        raise RuntimeError("the app did not start") from None
                    time.sleep(0.05)
            times.append(time.perf_counter() - t)
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    return round(statistics.median(times), 2)


def load(build_dir: Path, users: tuple[int, ...], seconds: float, **env) -> dict:
    import app as dash_module

    bodies = [
        b
        for b in callback_bodies(dash_module.app)
        if b["inputs"] and "download" not in b["output"].lower()
    ]
    g = Gunicorn(build_dir, PROJECT_ROOT / "build" / "bench-gunicorn.log", **env)
    try:
        return {str(u): run_load(g.base, bodies, users=u, seconds=seconds) for u in users}
    finally:
        g.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks the script runs")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "bench" / "last-run.json")
    args = parser.parse_args(argv)
    smoke = args.smoke

    from analysis.panel import read_panel
    from analysis.paths import study_build_dir
    from bench import bench_results, bench_twfe

    bdir = study_build_dir()  # the default study's artefacts (build/amk/)
    if not (bdir / "results.parquet").is_file():
        print("artefacts missing: run `make data` first", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    fig: dict = {"machine": machine(), "smoke": smoke}
    print("callback latency ...", flush=True)
    fig["callbacks"] = callback_latency(repeats=1 if smoke else 30)
    fig["callback_p95_vs_floor"] = max(v["p95_vs_floor"] for v in fig["callbacks"].values())
    print("results rebuild ...", flush=True)
    panel, _ = read_panel(bdir / "panel.parquet")
    fig["results"] = bench_results.run(panel, smoke=smoke)
    fig["results_rebuild_s"] = fig["results"]["results_rebuild_s"]
    fig["results_rebuild_vs_pyfixest"] = fig["results"]["results_rebuild_vs_pyfixest"]
    print("TWFE at scale ...", flush=True)
    sizes = ("30k",) if smoke else ("30k", "300k", "857k")
    fig["twfe"] = bench_twfe.run(sizes, repeats=1 if smoke else 3)
    top = fig["twfe"][sizes[-1]]
    fig["twfe_857k_vs_pyfixest"] = top["vs_pyfixest"]
    fig["twfe_857k_vs_linearmodels"] = top["vs_linearmodels"]
    fig["twfe_857k_peak_mb"] = top["peak_mb"]
    fig["twfe_857k_max_coef_diff"] = max(
        top["max_coef_diff_pyfixest"], top["max_coef_diff_linearmodels"]
    )
    if smoke:
        fig["twfe_note"] = "smoke run: the 857k keys hold the 30k figures"
    print("load ...", flush=True)
    fig["load"] = load(bdir, (10,) if smoke else (10, 50, 100), 3 if smoke else 15)
    key = "10" if smoke else "50"
    fig["load_50_p95_ms"] = round(fig["load"][key]["p95_ms"], 1)
    fig["load_50_errors"] = fig["load"][key]["errors"]
    # the same load with compression switched off: compression must not cost the server
    fig["load_uncompressed"] = load(bdir, (int(key),), 3 if smoke else 15, AMK_COMPRESS="0")
    plain = fig["load_uncompressed"][key]
    fig["load_50_p95_ms_uncompressed"] = round(plain["p95_ms"], 1)
    fig["load_50_p95_vs_uncompressed"] = round(fig["load"][key]["p95_ms"] / plain["p95_ms"], 2)
    print("browser ...", flush=True)
    from bench import browser

    fig["browser"] = browser.run(bdir, smoke=smoke)
    for k in BROWSER_KEYS:
        fig[k] = fig["browser"].get(k)
    print("cold start ...", flush=True)
    fig["cold_start_s"] = cold_start(bdir, 1 if smoke else 3)
    fig["total_s"] = round(time.perf_counter() - t0, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(fig, indent=2, default=float))
    print(render(fig))
    return 0


BROWSER_KEYS = (
    "page_bytes_cold_kb",
    "slow4g_first_figure_s",
    "slow4g_first_figure_vs_floor",
    "warm_first_figure_s",
    "interaction_p95_ms",
    "interaction_p95_vs_floor",
    "browser_load_avg_1m",
)


def render(fig: dict) -> str:
    rows = [
        ("cold page KB over the wire (largest page)", fig["page_bytes_cold_kb"], "<= 1500"),
        ("slow 4G first figure, s (worst page, cold)", fig["slow4g_first_figure_s"], "<= 10"),
        ("slow 4G first figure / floor app", fig["slow4g_first_figure_vs_floor"], "<= 1.3"),
        ("slow 4G first figure, s (warm cache)", fig["warm_first_figure_s"], "<= 2"),
        ("interaction p95 ms (filter change to redraw)", fig["interaction_p95_ms"], ""),
        ("interaction p95 / floor app", fig["interaction_p95_vs_floor"], "<= 1.5"),
        ("callback p95 / serialisation (information)", fig["callback_p95_vs_floor"], ""),
        ("results rebuild, s", fig["results_rebuild_s"], ""),
        ("results rebuild / pyfixest", fig["results_rebuild_vs_pyfixest"], "<= 1.0"),
        ("TWFE 857k / pyfixest", fig["twfe_857k_vs_pyfixest"], "<= 1.0"),
        ("TWFE 857k / linearmodels", fig["twfe_857k_vs_linearmodels"], "<= 1.0"),
        ("TWFE 857k peak MB", fig["twfe_857k_peak_mb"], ""),
        (
            "TWFE 857k largest coefficient difference",
            f"{fig['twfe_857k_max_coef_diff']:.1e}",
            "~1e-10",
        ),
        ("load 50 users p95 ms", fig["load_50_p95_ms"], ""),
        ("load 50 users errors", fig["load_50_errors"], "0"),
        ("load 50 users p95 / uncompressed", fig["load_50_p95_vs_uncompressed"], "<= ~1"),
        ("cold start, s", fig["cold_start_s"], ""),
    ]
    w = max(len(r[0]) for r in rows)
    lines = [f"{'figure':<{w}}  {'value':>12}  target", "-" * (w + 24)]
    lines += [f"{name:<{w}}  {str(val):>12}  {target}" for name, val, target in rows]
    for page, v in fig["callbacks"].items():
        lines.append(
            f"  callback {page}: p50 {v['p50_ms']} ms, p95 {v['p95_ms']} ms, floor {v['floor_ms']} ms"
        )
    for u, v in fig["load"].items():
        lines.append(
            f"  load {u} users: {v['requests']} requests, {v['rps']:.0f}/s, p95 {v['p95_ms']:.0f} ms, {v['errors']} errors"
        )
    for page, v in fig["browser"]["pages"].items():
        lines.append(
            f"  browser {page}: {v['kb']} KB in {v['requests']} requests; first figure"
            f" {v['cold_s']} s unthrottled, slow 4G {v['slow4g_cold_s']} s cold, {v['slow4g_warm_s']} s warm"
            f" (medians; warm visits {v.get('slow4g_warm_runs')})"
        )
    for page, v in fig["browser"]["floor"].items():
        lines.append(
            f"  floor {page}: {v['kb']} KB; slow 4G {v['slow4g_cold_s']} s cold, {v['slow4g_warm_s']} s warm"
        )
    lines.append(f"total {fig['total_s']} s")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
