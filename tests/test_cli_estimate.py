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
    header_only = tmp_path / "h.csv"
    header_only.write_text("a,b,c,d\n")
    rc, _, err = _run(capsys, header_only, "--unit", "a", "--time", "b", "--treat", "c", "--outcome", "d")  # fmt: skip
    assert rc == 2 and "the file has no rows" in err


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


# --------------------------------------------------------------------------- post, arms, waves


@pytest.fixture(scope="module")
def arms_panel(tmp_path_factory) -> Path:
    """Three arms by village within two strata columns, a baseline round and two follow-ups."""
    rng = np.random.default_rng(8)
    rows = []
    for v in range(30):
        arm = ["none", "sms", "visit"][v % 3]
        for i in range(12):
            a = rng.normal()
            for t in (0, 1, 2):
                lift = {"none": 0.0, "sms": 0.1, "visit": 0.8}[arm] * (t > 0)
                rows.append({"hh": f"{v}-{i}", "round": t, "village": v, "arm": arm,
                             "region": v % 2, "lender": (v // 2) % 3, "w": 1 + (i % 4),
                             "size": 1 + (i % 5), "y": a + 0.3 * t + lift + rng.normal(),
                             "late_q": np.nan if t < 2 else a + lift + rng.normal()})  # fmt: skip
    path = tmp_path_factory.mktemp("arms") / "arms.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


ARMS = ["--unit", "hh", "--time", "round", "--treat", "arm", "--cluster", "village"]


def test_post_multi_arm_rows_match_pyfixest(arms_panel, capsys):
    rc, out, err = _run(capsys, arms_panel, *ARMS, "--outcome", "y", "--method", "post",
                        "--wave", "1", "--strata", "region", "lender", "--controls", "size",
                        "--weights", "w", "--control-arm", "none", "--format", "json")  # fmt: skip
    assert rc == 0, err
    rows = json.loads(out)
    assert [r["term"] for r in rows] == ["arm=sms", "arm=visit"]
    assert list(rows[0])[:11] == ["outcome", "method", "term", "estimate", "std_error", "ci_low",
                                  "ci_high", "p_value", "n_obs", "n_units", "n_clusters"]  # fmt: skip
    d = pd.read_csv(arms_panel)
    d = d[d["round"] == 1].assign(sms=lambda t: (t["arm"] == "sms") * 1.0,
                                   visit=lambda t: (t["arm"] == "visit") * 1.0)  # fmt: skip
    ref = pf.feols("y ~ sms + visit + size | region + lender", data=d,
                   vcov={"CRV1": "village"}, weights="w")  # fmt: skip
    for row, name in zip(rows, ["sms", "visit"], strict=True):
        assert row["method"] == "post"
        assert row["estimate"] == pytest.approx(ref.coef()[name], rel=1e-8)
        assert row["std_error"] == pytest.approx(ref.se()[name], rel=1e-8)
        assert row["n_obs"] == 360 and row["n_units"] == 360 and row["n_clusters"] == 30


def test_post_defaults_to_the_last_wave_and_two_arms_keep_the_column_name(
    arms_panel, capsys, tmp_path
):
    d = pd.read_csv(arms_panel)
    d = d[d["arm"] != "sms"].assign(arm=lambda t: (t["arm"] == "visit").astype(int))
    path = tmp_path / "two.parquet"
    d.to_parquet(path)
    rc, out, err = _run(capsys, path, *ARMS, "--outcome", "y", "--outcome", "late_q", "--method", "post")  # fmt: skip
    assert rc == 0, err
    res = pd.read_csv(__import__("io").StringIO(out)).set_index("outcome")
    assert (res["term"] == "arm").all()
    last = d[d["round"] == 2]
    ref = pf.feols("late_q ~ arm", data=last, vcov={"CRV1": "village"})
    assert res.loc["late_q", "estimate"] == pytest.approx(ref.coef()["arm"], rel=1e-8)
    assert res.loc["late_q", "std_error"] == pytest.approx(ref.se()["arm"], rel=1e-8)


def test_ancova_multi_arm_with_wave(arms_panel, capsys):
    rc, out, err = _run(capsys, arms_panel, *ARMS, "--outcome", "y", "--method", "ancova",
                        "--wave", "1", "--control-arm", "none")  # fmt: skip
    assert rc == 0, err
    res = pd.read_csv(__import__("io").StringIO(out))
    assert list(res["term"]) == ["arm=sms", "arm=visit"]
    d = pd.read_csv(arms_panel)
    post = d[d["round"] == 1].copy()
    post["y0"] = post["hh"].map(d[d["round"] == 0].set_index("hh")["y"])
    post = post.assign(sms=(post["arm"] == "sms") * 1.0, visit=(post["arm"] == "visit") * 1.0)
    ref = pf.feols("y ~ sms + visit + y0", data=post, vcov={"CRV1": "village"})
    assert res.loc[1, "estimate"] == pytest.approx(ref.coef()["visit"], rel=1e-8)
    assert res.loc[1, "std_error"] == pytest.approx(ref.se()["visit"], rel=1e-8)


@pytest.mark.parametrize(
    "args,message",
    [
        (["--outcome", "y", "--method", "post", "--wave", "7"],
         "wave '7' is not a value of 'round' (values: 0, 1, 2)"),
        (["--outcome", "y", "--method", "post"], "comparison arm '0' is not a value of 'arm'"),
        (["--outcome", "y", "--method", "ancova", "--wave", "0", "--control-arm", "none"],
         "is the first period of 'round', which ANCOVA uses as the baseline"),
        (["--outcome", "late_q", "--method", "ancova", "--control-arm", "none"],
         "'late_q' is not measured in the first period (round = 0)"),
        (["--outcome", "y", "--method", "post", "--strata", "nowhere"], "unknown column(s): nowhere"),
        (["--outcome", "y", "--method", "post", "--weights", "gone"], "unknown column(s): gone"),
        (["--outcome", "y", "--wave", "1"], "--wave is for --method post or ancova"),
        (["--outcome", "y", "--strata", "region"], "--strata is for --method post or ancova"),
        (["--outcome", "y", "--method", "post", "--control-arm", "none", "--inference", "wild",
          "--draws", "0"], "--draws must be at least 1"),
    ],
)  # fmt: skip
def test_post_and_ancova_clear_errors(arms_panel, capsys, args, message):
    rc, out, err = _run(capsys, arms_panel, *ARMS, *args)
    assert rc == 2
    assert message in err
    assert out == ""
    assert "Traceback" not in err


def test_every_failing_outcome_is_named_and_nothing_is_half_printed(arms_panel, capsys, tmp_path):
    d = pd.read_csv(arms_panel).assign(flat=1.0, lonely=lambda t: np.where(t["village"] == 0, "x", t["arm"]))  # fmt: skip
    path = tmp_path / "fail.csv"
    d.to_csv(path, index=False)
    rc, out, err = _run(capsys, path, *ARMS, "--method", "post", "--control-arm", "none",
                        "--outcome", "y", "--outcome", "flat")  # fmt: skip
    assert rc == 2 and out == ""
    assert "cannot estimate:\n  outcome 'flat' has no variation" in err
    assert "outcome 'y'" not in err
    rc, out, err = _run(capsys, path, *ARMS[:5], "lonely", *ARMS[6:], "--method", "post",
                        "--control-arm", "none", "--outcome", "y")  # fmt: skip
    assert rc == 2 and "too few clusters: arm 'lonely=x' is in 1 cluster" in err


def test_no_baseline_ancova_fails_as_a_process(arms_panel):
    """The reported defect: ANCOVA on a study without a baseline measure exited 0 with a number."""
    done = subprocess.run(
        [sys.executable, "-m", "analysis", "estimate", str(arms_panel), *ARMS, "--outcome",
         "late_q", "--method", "ancova", "--control-arm", "none"],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("error: ") and "--method post" in done.stderr
    assert "Traceback" not in done.stderr


def test_twfe_weights_match_pyfixest(other, capsys, tmp_path):
    df = pd.read_parquet(other["parquet"])
    df["wt"] = 0.5 + (df["hh"] % 7) / 3
    path = tmp_path / "w.parquet"
    df.to_parquet(path)
    rc, out, err = _run(capsys, path, "--unit", "hh", "--time", "round", "--treat", "fe_access",
                        "--outcome", "spend", "--cluster", "district", "--weights", "wt")  # fmt: skip
    assert rc == 0, err
    row = pd.read_csv(__import__("io").StringIO(out)).iloc[0]
    d = df[df.groupby("hh")["round"].transform("size") > 1]
    ref = pf.feols(
        "spend ~ fe_access | hh + round", data=d, vcov={"CRV1": "district"}, weights="wt"
    )
    assert row["estimate"] == pytest.approx(ref.coef()["fe_access"], rel=1e-8)
    assert row["std_error"] == pytest.approx(ref.se()["fe_access"], rel=1e-8)
    rc, out, err = _run(capsys, path, "--unit", "hh", "--time", "round", "--treat", "fe_access",
                        "--outcome", "spend", "--weights", "spend")  # fmt: skip
    assert rc == 2 and "weight 'spend' has negative values" in err
