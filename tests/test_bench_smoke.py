"""The benchmark script runs end to end at a tiny size (no timing is asserted)."""

import json
import os
import subprocess
import sys

from app_fixtures import *  # noqa: F403  (artifact_dir)

from analysis.paths import PROJECT_ROOT

KEYS = [
    "callback_p95_vs_floor", "results_rebuild_s", "results_rebuild_vs_pyfixest",
    "twfe_857k_vs_pyfixest", "twfe_857k_vs_linearmodels", "twfe_857k_peak_mb",
    "load_50_p95_ms", "load_50_errors", "cold_start_s", "machine",
    "load_50_p95_vs_uncompressed",
    # the browser part (bench/browser.py)
    "page_bytes_cold_kb", "slow4g_first_figure_s", "slow4g_first_figure_vs_floor",
    "warm_first_figure_s", "interaction_p95_ms", "interaction_p95_vs_floor",
]  # fmt: skip


def test_bench_smoke(artifact_dir, tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run", "--smoke", "--out", str(out)],
        cwd=PROJECT_ROOT, env=os.environ | {"AMK_BUILD_DIR": str(artifact_dir)},
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    figures = json.loads(out.read_text())
    for key in KEYS:
        assert key in figures, key
    assert figures["smoke"] is True
    assert figures["load_50_errors"] == 0
    assert figures["twfe_857k_max_coef_diff"] < 1e-8  # same coefficients as both references
    assert "callback p95" in proc.stdout
    for key in KEYS[-6:]:
        assert isinstance(figures[key], int | float) and figures[key] > 0, key
    browser = figures["browser"]
    assert browser["offsite_requests"] == []  # nothing left the machine
    assert browser["interaction"]["changes"] >= 2 and browser["floor_interaction"]["changes"] >= 2
    effects = browser["pages"]["/effects"]
    assert effects["requests"] > 5 and effects["warm_kb"] < effects["kb"]  # the cache is used
    assert "/effects" in browser["floor"]
    assert "browser /effects" in proc.stdout


def test_browser_bench_names_a_page_it_does_not_know():
    """``python -m bench.browser --pages`` measures the pages named (the interactions, which
    include Breakdowns, run whatever the choice); a page it has no figure for is an error
    before anything starts."""
    proc = subprocess.run(
        [sys.executable, "-m", "bench.browser", "--pages", "/effects", "/nope"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "--pages: not pages of the bench: ['/nope']" in proc.stderr
    assert "Traceback" not in proc.stderr
