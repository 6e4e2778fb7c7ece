"""Seeded generator of DEMO raw survey exports that follow the demo study's design.

The institution's client-level survey data is not public.  This module simulates the three
survey waves the way survey software exports them -- one file per wave, in
different formats, with questionnaire variable names that change between waves,
98/99 codes for "don't know"/"refused", value labels and interview dates -- so
that every page of the dashboard works out of the box.  The design and the
planted true effects come from ``data/studies/amk/demo_config.yaml``; the variable names and
codes come from the codebook, so the generator and the panel build can never
disagree about the questionnaire.

The output is *simulated*: a marker file ``DEMO_SIMULATED.json`` written beside
the exports makes the panel build label everything built from it as demo data.

Example
-------
>>> from pathlib import Path; import tempfile
>>> files = write_demo_exports(Path(tempfile.mkdtemp()), seed=1)
>>> sorted(p.suffix for p in files)
['.csv', '.dta', '.sav']
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from analysis.codebook import Codebook, load_codebook
from analysis.io import atomic_write, write_table
from analysis.paths import data_dir

DEMO_MARKER = "DEMO_SIMULATED.json"


def _demo_label() -> str:
    """The demo study's own data line (its study.yaml), or a generic one."""
    from analysis.study import StudyError, load_study

    try:
        study = load_study(folder=data_dir())
    except StudyError:
        study = None
    if study is not None and study.data.status == "demo":
        return study.data.label
    return "Demonstration data — simulated to match the study design; not real survey results"


DEMO_LABEL = _demo_label()
DEFAULT_FORMATS = ("sav", "dta", "csv")

# Value labels for a few questionnaire answers whose codes do not map to an
# obvious label (the codebook maps codes to harmonised values, not to words).
_SPECIAL_LABELS = {
    "female": {1: "Male", 2: "Female"},
    "arm": {1: "Financial-education village", 2: "Comparison village"},
}
_LIKERT_LABELS = {
    1: "Strongly disagree",
    2: "Disagree",
    3: "Neither agree nor disagree",
    4: "Agree",
    5: "Strongly agree",
}


def load_demo_config(path: str | Path | None = None) -> dict[str, Any]:
    """Read the demo design and planted effects (``data/studies/amk/demo_config.yaml``)."""
    path = Path(path) if path is not None else data_dir() / "demo_config.yaml"
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def simulate_truth(
    seed: int = 20100201,
    *,
    config: dict[str, Any] | None = None,
    codebook: Codebook | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Simulate the harmonised long panel (before attrition codes and export).

    Returns the panel of *interviewed* client-waves in harmonised units and a
    dict with the draws a test may want (branch multipliers, village arms).
    """
    cfg = config or load_demo_config()
    cb = codebook or load_codebook()
    rng = np.random.default_rng(seed)
    design = cfg["design"]

    branch_codes = {name: code for code, name in cb.design["branch"].values.items()}
    province_codes = {name: code for code, name in cb.design["province"].values.items()}
    villages = []
    for province, branches in design["provinces"].items():
        for branch in branches:
            bcode = branch_codes[branch]
            n_v = int(design["villages_per_branch"])
            n_prog = int(round(n_v * float(design.get("programme_share", 0.5))))
            arms = np.array([1] * n_prog + [0] * (n_v - n_prog))
            rng.shuffle(arms)  # programme assigned by village within branch
            for j in range(n_v):
                villages.append(
                    {
                        "province": province,
                        "province_code": province_codes[province],
                        "branch": branch,
                        "branch_code": bcode,
                        "village_code": bcode * 100 + j + 1,
                        "arm": int(arms[j]),
                    }
                )
    vil = pd.DataFrame(villages)
    n = int(design["n_clients"])
    sizes = rng.multinomial(n, np.full(len(vil), 1 / len(vil)))
    cl = vil.loc[np.repeat(vil.index.to_numpy(), sizes)].reset_index(drop=True)
    cl.insert(0, "client_no", np.arange(1, n + 1) + 10000)

    cl["female"] = (rng.random(n) < design["share_women"]).astype(int)
    cl["age"] = np.clip(np.round(rng.normal(41, 11, n)), 18, 75).astype(int)
    cl["hh_size"] = np.clip(1 + rng.poisson(3.8, n), 1, 25).astype(int)
    cl["literate"] = (rng.random(n) < np.where(cl["female"] == 1, 0.66, 0.8)).astype(int)
    acts = list(cb.covariates["main_activity"].values.values())
    cl["main_activity"] = rng.choice(acts, size=n, p=[0.38, 0.14, 0.16, 0.22, 0.10])
    cl["loan_cycle"] = np.clip(1 + rng.poisson(2.2, n), 1, 40).astype(int)
    cl["loan_amount"] = np.clip(
        np.round(np.exp(rng.normal(np.log(1_800_000), 0.55, n)), -4), 200_000, 20_000_000
    ).astype(int)

    # Attrition: monotone, younger clients a little more likely to leave.
    waves = sorted(int(w) for w in design["waves"])
    present = {0: np.ones(n, bool)}
    weight = np.exp(-0.02 * (cl["age"].to_numpy() - 41))
    prev_rate = 0.0
    for w in waves[1:]:
        rate = float(design["attrition"][w])
        cond = (rate - prev_rate) / (1 - prev_rate)
        p = np.clip(cond * weight / weight.mean(), 0, 1)
        present[w] = present[waves[waves.index(w) - 1]] & (rng.random(n) >= p)
        prev_rate = rate

    # Imperfect compliance: cumulative receipt of FE topics.
    u = rng.random(n)
    received = {0: np.zeros(n, int)}
    arm = cl["arm"].to_numpy()
    for w in waves[1:]:
        share = np.where(
            arm == 1, design["take_up"]["programme"][w], design["take_up"]["comparison"][w]
        )
        received[w] = (u < share).astype(int)

    eff = cfg["effects"]
    branch_names = list(vil["branch"].unique())
    branch_mult = dict(
        zip(
            branch_names,
            np.round(1 + rng.normal(0, eff["branch_multiplier_sd"], len(branch_names)), 4),
            strict=True,
        )
    )
    mult = (
        cl["province"].map(eff["province_multiplier"]).to_numpy()
        * cl["branch"].map(branch_mult).to_numpy()
        * np.where(
            cl["female"] == 1, eff["sex_multiplier"]["female"], eff["sex_multiplier"]["male"]
        )
    )
    wave_share = {0: 0.0, waves[1]: float(eff["midline_share"]), waves[-1]: 1.0}

    vidx = pd.factorize(cl["village_code"])[0]
    n_vil = vidx.max() + 1
    rows = []
    outcome_draws = {}
    for name, oc in cfg["outcomes"].items():
        a = rng.normal(0, oc["client_sd"], n)
        v = rng.normal(0, oc["village_sd"], n_vil)[vidx]
        outcome_draws[name] = (a, v)
    for w in waves:
        d = received[w]
        frame = cl.copy()
        frame["wave"] = w
        frame["exposure"] = d
        for name, oc in cfg["outcomes"].items():
            a, v = outcome_draws[name]
            kind = cb.outcomes[name].type
            tau = oc["effect"] * wave_share[w] * mult * d
            mean = oc["baseline"] + a + v + oc.get("trend", 0.0) * w + tau
            if (
                oc.get("village_wave_sd", 0.0) > 0
            ):  # local shocks (flood, price) hitting a village in one wave
                mean = mean + rng.normal(0, oc["village_wave_sd"], n_vil)[vidx]
            if kind == "binary":
                y = (rng.random(n) < np.clip(mean, 0.01, 0.99)).astype(float)
            elif kind == "count":
                y = rng.poisson(np.clip(mean, 0.02, None)).astype(float)
            elif kind == "likert":
                y = np.clip(np.round(mean + rng.normal(0, oc["noise_sd"], n)), 1, 5)
            else:
                y = mean + rng.normal(0, oc["noise_sd"], n)
                if name == "debt_service_ratio":
                    y = np.clip(y, 0.01, None)
            frame[name] = y
        rows.append(frame[present[w]])
    panel = pd.concat(rows, ignore_index=True)

    start = pd.Timestamp(design["baseline_start"])
    days = rng.integers(0, 7 * int(design["fieldwork_weeks"]), len(panel))
    offsets = panel["wave"].map({int(k): int(m) for k, m in design["waves"].items()})
    panel["interview_date"] = [
        start + pd.DateOffset(months=int(m)) + pd.Timedelta(days=int(dd))
        for m, dd in zip(offsets, days, strict=True)
    ]
    extra = {"branch_multipliers": {k: float(x) for k, x in branch_mult.items()}}
    return panel, extra


def _value_labels(cb: Codebook, name: str, values: dict | None) -> dict[int, str] | None:
    if not values:
        return None
    if name in _SPECIAL_LABELS:
        labels = dict(_SPECIAL_LABELS[name])
    elif cb.variables[name].type == "likert":
        labels = dict(_LIKERT_LABELS)
    elif set(values.values()) <= {0, 1}:
        labels = {int(k): ("Yes" if v == 1 else "No") for k, v in values.items()}
    else:
        labels = {int(k): str(v) for k, v in values.items()}
    return labels


def _encode_wave(
    truth: pd.DataFrame, wave: int, cb: Codebook, rng: np.random.Generator, nonresponse: float
) -> tuple[pd.DataFrame, dict[str, dict[int, str]], dict[str, str]]:
    """Turn harmonised values for one wave into questionnaire codes and names."""
    df = truth[truth["wave"] == wave].reset_index(drop=True)
    n = len(df)
    raw: dict[str, Any] = {}
    labels: dict[str, dict[int, str]] = {}
    col_labels: dict[str, str] = {}
    harmonised_source = {
        "client_id": df["client_no"],
        "interview_date": df["interview_date"],
        "province": df["province"],
        "branch": df["branch"],
        "village": df["village_code"],
        "arm": df["arm"],
    }
    for name, var in cb.variables.items():
        src = var.raw.get(wave)
        if src is None:
            continue
        if var.transform == "ratio":
            income = np.round(np.exp(df["log_income"].to_numpy()), -3)
            repay = np.round(df[name].to_numpy() * income, -2)
            values = [repay, income]
        elif var.transform == "log":
            values = [np.round(np.exp(df[name].to_numpy()), -3)]
        else:
            series = harmonised_source.get(name, df[name] if name in df else None)
            vals = series.to_numpy()
            if src.values is not None:
                inverse = {v: k for k, v in src.values.items()}
                vals = np.array([inverse[x] for x in vals])
            values = [vals]
        for col, vals in zip(src.names, values, strict=True):
            if col in raw:  # a raw column shared by two harmonised variables
                continue
            vals = np.asarray(vals)
            if src.missing_codes and name not in harmonised_source and vals.dtype != object:
                vals = vals.astype(float)
                hit = rng.random(n) < nonresponse
                vals[hit] = rng.choice(src.missing_codes, hit.sum())
            raw[col] = vals
            col_labels[col] = var.label
            vl = _value_labels(cb, name, src.values)
            if vl is not None:
                if src.missing_codes:
                    vl.update(
                        {
                            int(c): ("Don't know" if c == 98 else "Refused")
                            for c in src.missing_codes
                        }
                    )
                labels[col] = vl
    out = pd.DataFrame(raw)
    for col in out.columns:
        if out[col].dtype.kind == "f" and np.all(
            np.isnan(out[col]) | (out[col] == np.round(out[col]))
        ):
            if not out[col].isna().any():
                out[col] = out[col].astype("int64")
    return out, labels, col_labels


def write_demo_exports(
    out_dir: str | Path,
    *,
    seed: int = 20100201,
    formats: tuple[str, ...] = DEFAULT_FORMATS,
    config_path: str | Path | None = None,
    codebook: Codebook | None = None,
) -> list[Path]:
    """Write one simulated export per wave into ``out_dir`` and a demo marker.

    Parameters
    ----------
    out_dir : folder to write to (created if needed; existing wave files are replaced).
    seed : random seed; the same seed gives the same data.
    formats : one format per wave, among ``csv``, ``xlsx``, ``dta``, ``sav``.
    """
    cb = codebook or load_codebook()
    cfg = load_demo_config(config_path)
    waves = sorted(cb.waves)
    if len(formats) != len(waves):
        raise ValueError(f"need one format per wave ({len(waves)}), got {len(formats)}")
    for f in formats:
        if f not in ("csv", "xlsx", "dta", "sav"):
            raise ValueError(f"unknown export format '{f}' (use csv, xlsx, dta or sav)")
    truth, extra = simulate_truth(seed, config=cfg, codebook=cb)
    rng = np.random.default_rng([seed, 1])
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for wave, fmt in zip(waves, formats, strict=True):
        df, labels, col_labels = _encode_wave(
            truth, wave, cb, rng, cfg["design"]["item_nonresponse"]
        )
        year = truth.loc[truth["wave"] == wave, "interview_date"].min().year
        stem = f"amk_{cb.wave_label(wave).lower()}_{year}"
        # remove exports of this wave in another format so the build finds exactly one
        for old in out_dir.glob(f"amk_{cb.wave_label(wave).lower()}_*"):
            old.unlink()
        path = out_dir / f"{stem}.{fmt}"
        write_table(df, path, value_labels=labels, column_labels=col_labels)
        files.append(path)
    cfg_text = Path(config_path or data_dir() / "demo_config.yaml").read_bytes()
    marker = {
        "demo": True,
        "label": DEMO_LABEL,
        "seed": seed,
        "config_sha256": hashlib.sha256(cfg_text).hexdigest(),
        "branch_multipliers": extra["branch_multipliers"],
    }
    atomic_write(out_dir / DEMO_MARKER, json.dumps(marker, indent=2).encode("utf-8"))
    return files
