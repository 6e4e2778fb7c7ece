"""`python -m analysis estimate` on panels that are not ours, and its errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.__main__ import main

ROOT = Path(__file__).resolve().parent.parent
pf = pytest.importorskip("pyfixest")


@pytest.fixture(scope="module")
def other(tmp_path_factory) -> dict[str, Path]:
    """An unbalanced, staggered panel with integer ids and other names, in three formats."""
    rng = np.random.default_rng(5)
    rows = []
    for i in range(300):
        start = rng.choice([1, 2, 3, 9])
        a = rng.normal()
        for t in range(5):
            if rng.random() < 0.15:
                continue
            d = int(t >= start)
            rows.append({"hh": 1000 + i, "round": t, "district": i % 17, "fe_access": d,
                         "spend": a + 0.2 * t + 0.7 * d + rng.normal(), "hours": a + rng.normal(), "rain": rng.normal()})  # fmt: skip
    df = pd.DataFrame(rows)
    out = tmp_path_factory.mktemp("other")
    paths = {"parquet": out / "p.parquet", "csv": out / "p.csv", "dta": out / "p.dta"}
    df.to_parquet(paths["parquet"])
    df.to_csv(paths["csv"], index=False)
    df.to_stata(paths["dta"], write_index=False)
    return paths


def _run(capsys, *args) -> tuple[int, str, str]:
    rc = main(["estimate", *map(str, args)])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


@pytest.mark.parametrize("fmt", ["parquet", "csv", "dta"])
def test_twfe_any_format_matches_pyfixest(other, capsys, fmt):
    rc, out, err = _run(capsys, other[fmt], "--unit", "hh", "--time", "round", "--treat", "fe_access",
                        "--outcome", "spend", "--outcome", "hours", "--cluster", "district", "--controls", "rain")  # fmt: skip
    assert rc == 0, err
    res = pd.read_csv(__import__("io").StringIO(out))
    assert list(res.columns[:11]) == [
        "outcome",
        "method",
        "term",
        "estimate",
        "std_error",
        "ci_low",
        "ci_high",
        "p_value",
        "n_obs",
        "n_units",
        "n_clusters",
    ]
    df = pd.read_parquet(other["parquet"])
    df = df[df.groupby("hh")["round"].transform("size") > 1]
    ref = pf.feols("spend ~ fe_access + rain | hh + round", data=df, vcov={"CRV1": "district"})
    row = res.set_index("outcome").loc["spend"]
    assert row["estimate"] == pytest.approx(ref.coef()["fe_access"], rel=1e-8)
    assert row["std_error"] == pytest.approx(ref.se()["fe_access"], rel=1e-8)
    assert row["n_clusters"] == 17


def test_ancova_json_and_wild(other, capsys):
    rc, out, err = _run(capsys, other["parquet"], "--unit", "hh", "--time", "round", "--treat", "fe_access",
                        "--outcome", "spend", "--method", "ancova", "--inference", "wild", "--draws", "199",
                        "--cluster", "district", "--format", "json")  # fmt: skip
    assert rc == 0, err
    rows = json.loads(out)
    assert rows[0]["method"] == "ancova"
    assert rows[0]["boot_draws"] == 199
    assert rows[0]["ci_low"] < rows[0]["estimate"] < rows[0]["ci_high"]


def test_string_ids_work(other, capsys, tmp_path):
    df = pd.read_parquet(other["parquet"])
    df["hh"] = "house-" + df["hh"].astype(str)
    df["district"] = "d" + df["district"].astype(str)
    path = tmp_path / "s.parquet"
    df.to_parquet(path)
    rc, out, err = _run(
        capsys,
        path,
        "--unit",
        "hh",
        "--time",
        "round",
        "--treat",
        "fe_access",
        "--outcome",
        "spend",
        "--cluster",
        "district",
    )
    assert rc == 0, err
    assert "spend" in out


@pytest.mark.parametrize(
    "args,message",
    [
        (["--outcome", "nope"], "unknown column(s): nope"),
        (["--outcome", "spend", "--cluster", "nowhere"], "unknown column(s): nowhere"),
        (["--outcome", "spend", "--treat", "spend"], "must be 0/1"),
        (["--outcome", "spend", "--cluster", "one"], "only one cluster"),
        (["--outcome", "flat"], "no variation"),
        (["--outcome", "spend", "--treat", "always"], "does not vary"),
    ],
)
def test_clear_errors(other, capsys, tmp_path, args, message):
    df = pd.read_parquet(other["parquet"]).assign(one=1, flat=3.0, always=1)
    path = tmp_path / "e.parquet"
    df.to_parquet(path)
    base = ["--unit", "hh", "--time", "round"]
    if "--treat" not in args:
        base += ["--treat", "fe_access"]
    rc, out, err = _run(capsys, path, *base, *args)
    assert rc == 2
    assert message in err
    assert "Traceback" not in err


def test_unreadable_and_missing_files(tmp_path, capsys):
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet")
    rc, _, err = _run(capsys, bad, "--unit", "a", "--time", "b", "--treat", "c", "--outcome", "d")
    assert rc == 2 and "cannot be read" in err
    rc, _, err = _run(
        capsys,
        tmp_path / "none.csv",
        "--unit",
        "a",
        "--time",
        "b",
        "--treat",
        "c",
        "--outcome",
        "d",
    )
    assert rc == 2 and "file not found" in err
    other = tmp_path / "x.json"
    other.write_text("{}")
    rc, _, err = _run(capsys, other, "--unit", "a", "--time", "b", "--treat", "c", "--outcome", "d")
    assert rc == 2 and "unsupported panel format" in err


def test_results_command_end_to_end(tmp_path):
    from analysis.demo import write_demo_exports

    raw = tmp_path / "raw"
    write_demo_exports(raw, seed=11)
    panel = tmp_path / "panel.parquet"
    env_cmd = [sys.executable, "-m", "analysis"]

    def run(*a):
        return subprocess.run([*env_cmd, *a], capture_output=True, text=True, cwd=ROOT, timeout=600)

    assert run("build", "--raw", str(raw), "--out", str(panel)).returncode == 0
    first = run(
        "results", "--panel", str(panel), "--out", str(tmp_path / "r.parquet"), "--draws", "49"
    )
    assert first.returncode == 0, first.stderr
    assert "wrote" in first.stdout
    second = run(
        "results", "--panel", str(panel), "--out", str(tmp_path / "r.parquet"), "--draws", "49"
    )
    assert "up to date" in second.stdout
    missing = run(
        "results", "--panel", str(tmp_path / "none.parquet"), "--out", str(tmp_path / "r2.parquet")
    )
    assert missing.returncode == 2 and "panel not found" in missing.stderr
