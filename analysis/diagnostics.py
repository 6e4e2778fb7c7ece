"""Design diagnostics: intra-cluster correlation, balance, attrition, sample flow, MDE."""

from __future__ import annotations

import numpy as np
import pandas as pd


def icc_anova(values: pd.Series | np.ndarray, clusters: pd.Series | np.ndarray) -> float:
    """One-way ANOVA estimate of the intra-cluster correlation (floored at 0).

    Uses the unbalanced-design cluster size n0 = (N - sum n_g^2 / N) / (G - 1).

    Example
    -------
    >>> icc_anova([1, 1, 2, 2], ["a", "a", "b", "b"])
    1.0
    """
    df = pd.DataFrame({"y": np.asarray(values, float), "g": np.asarray(clusters)}).dropna()
    grp = df.groupby("g")["y"]
    n_g = grp.size().to_numpy(float)
    means = grp.mean().to_numpy()
    big_n, g = n_g.sum(), len(n_g)
    if g < 2 or big_n <= g:
        return float("nan")
    grand = df["y"].mean()
    ssb = float((n_g * (means - grand) ** 2).sum())
    ssw = float(((df["y"] - grp.transform("mean")) ** 2).sum())
    msb, msw = ssb / (g - 1), ssw / (big_n - g)
    n0 = (big_n - (n_g**2).sum() / big_n) / (g - 1)
    denom = msb + (n0 - 1) * msw
    if denom <= 0:
        return 0.0
    return float(max(0.0, (msb - msw) / denom))


def _cluster_mean_diff(
    values: np.ndarray, arm: np.ndarray, clusters: np.ndarray
) -> tuple[float, float]:
    """Difference in means (programme - comparison) and its cluster-robust p-value."""
    from analysis.core import EstimationError, cluster_ci, fit_linear

    ok = np.isfinite(values)
    try:
        f = fit_linear(
            values[ok],
            np.column_stack([arm[ok], np.ones(ok.sum())]),
            ["arm", "const"],
            clusters[ok],
        )
    except EstimationError:
        return float("nan"), float("nan")
    _, p, _ = cluster_ci(f, 0)
    return float(f.coef[0]), p


def _baseline_matrix(panel: pd.DataFrame, codebook) -> pd.DataFrame:
    base = panel[panel["wave"] == 0].drop_duplicates("client_id")
    cols = {}
    for name, var in codebook.covariates.items():
        if var.is_categorical:
            for level in var.values.values():
                cols[f"{var.label}: {level}"] = (
                    (base[name] == level).astype(float).where(base[name].notna())
                )
        else:
            cols[var.label] = base[name].astype(float)
    for name, var in codebook.outcomes.items():
        cols[f"{var.short or var.label} (baseline)"] = base[name].astype(float)
    return pd.DataFrame(cols, index=base.index), base


def balance_table(panel: pd.DataFrame, codebook) -> tuple[pd.DataFrame, dict]:
    """Baseline balance by arm: means, difference, clustered p, normalised difference,
    and a joint test (assignment regressed on all baseline covariates)."""
    from analysis.core import EstimationError, fit_linear, wald_test

    mat, base = _baseline_matrix(panel, codebook)
    arm = base["arm"].to_numpy(float)
    vill = base["village"].to_numpy()
    rows = []
    for label, col in mat.items():
        v = col.to_numpy(float)
        t, c = v[(arm == 1) & np.isfinite(v)], v[(arm == 0) & np.isfinite(v)]
        diff, p = _cluster_mean_diff(v, arm, vill)
        sd = np.sqrt((t.var(ddof=1) + c.var(ddof=1)) / 2) if len(t) > 1 and len(c) > 1 else np.nan
        rows.append(
            {
                "variable": label,
                "mean_programme": float(t.mean()) if len(t) else np.nan,
                "mean_comparison": float(c.mean()) if len(c) else np.nan,
                "difference": diff,
                "p_value": p,
                "normalised_difference": float(diff / sd)
                if sd and np.isfinite(sd) and sd > 0
                else np.nan,
                "n_programme": int(len(t)),
                "n_comparison": int(len(c)),
            }
        )
    table = pd.DataFrame(rows)
    # joint test on covariates only (categorical: drop one level), missing filled with the mean
    covs = []
    for name, var in codebook.covariates.items():
        if var.is_categorical:
            levels = list(var.values.values())[1:]
            covs += [(base[name] == lv).astype(float).to_numpy() for lv in levels]
        else:
            x = base[name].astype(float)
            covs.append(x.fillna(x.mean()).to_numpy())
    x = np.column_stack(covs + [np.ones(len(base))])
    keep = x.std(axis=0) > 0
    keep[-1] = True
    x = x[:, keep]
    try:
        f = fit_linear(arm, x, [f"x{i}" for i in range(x.shape[1])], vill)
        r = np.eye(x.shape[1])[:-1]
        fstat, p = wald_test(f.coef, f.vcov, r, f.df_t)
    except EstimationError:
        fstat, p = float("nan"), float("nan")
    return table, {"joint_F": fstat, "joint_p": p, "n_covariates": int(x.shape[1] - 1)}


def attrition_table(panel: pd.DataFrame, codebook) -> pd.DataFrame:
    """Attrition by arm and follow-up wave, with a differential-attrition test."""
    base = panel[panel["wave"] == 0].drop_duplicates("client_id").set_index("client_id")
    rows = []
    for wave in sorted(w for w in panel["wave"].unique() if w != 0):
        seen = set(panel.loc[panel["wave"] == wave, "client_id"])
        lost = (~base.index.isin(seen)).astype(float)
        arm = base["arm"].to_numpy(float)
        diff, p = _cluster_mean_diff(lost, arm, base["village"].to_numpy())
        for a in (1, 0):
            sel = arm == a
            rows.append(
                {
                    "wave": int(wave),
                    "wave_label": codebook.wave_label(int(wave)),
                    "arm": "Programme" if a == 1 else "Comparison",
                    "n_baseline": int(sel.sum()),
                    "n_interviewed": int(sel.sum() - lost[sel].sum()),
                    "attrition_rate": float(lost[sel].mean()),
                    "differential": diff,
                    "differential_p": p,
                }
            )
    return pd.DataFrame(rows)


def sample_flow(panel: pd.DataFrame, codebook) -> pd.DataFrame:
    """Clients interviewed, and share who had received FE topics, by wave and arm."""
    g = panel.groupby(["wave", "arm"])
    out = pd.DataFrame(
        {"n_clients": g["client_id"].nunique(), "share_received_fe": g["exposure"].mean()}
    ).reset_index()
    out["wave_label"] = out["wave"].map(codebook.wave_label)
    out["arm"] = out["arm"].map({1: "Programme", 0: "Comparison"})
    return out[["wave", "wave_label", "arm", "n_clients", "share_received_fe"]]


def design_mde(
    panel: pd.DataFrame, outcomes: dict, *, wave: int, power: float = 0.80, alpha: float = 0.05
) -> pd.DataFrame:
    """Minimum detectable effect of a single follow-up comparison (80% power, 5% two-sided),
    inflated by the design effect 1 + (m - 1) * ICC with the observed ICC."""
    from scipy import stats

    post = panel[panel["wave"] == wave]
    base_c = panel[(panel["wave"] == 0) & (panel["arm"] == 0)]
    rows = []
    for name, label in outcomes.items():
        d = post.dropna(subset=[name])
        g = d["village"].nunique()
        m = len(d) / g if g else np.nan
        rho = icc_anova(d[name], d["village"])
        sd = float(base_c[name].std())
        n_t, n_c = int((d["arm"] == 1).sum()), int((d["arm"] == 0).sum())
        mult = stats.t.ppf(1 - alpha / 2, g - 2) + stats.t.ppf(power, g - 2)
        mde = (
            mult * sd * np.sqrt((1 + (m - 1) * rho) * (1 / n_t + 1 / n_c))
            if n_t and n_c
            else np.nan
        )
        rows.append(
            {"outcome": name, "label": label, "wave": wave, "icc": rho, "mean_cluster_size": m, "n_clusters": g,
             "comparison_sd": sd, "mde": float(mde), "mde_std": float(mde / sd) if sd else np.nan}
        )  # fmt: skip
    return pd.DataFrame(rows)


def means_by_arm(panel: pd.DataFrame, outcomes: list[str], min_cell: int) -> pd.DataFrame:
    """Outcome means by arm and wave, for the full sample, provinces and branches.

    A cell with fewer than ``min_cell`` clients answering is suppressed (mean NaN).
    """
    rows = []
    groups = [("all", "All clients", panel)]
    groups += [("province", k, g) for k, g in panel.groupby("province")]
    groups += [("branch", k, g) for k, g in panel.groupby("branch")]
    for stype, sval, sub in groups:
        for (wave, arm), cell in sub.groupby(["wave", "arm"]):
            for name in outcomes:
                vals = cell[name].dropna()
                n = int(len(vals))
                ok = n >= min_cell
                rows.append(
                    {"outcome": name, "sample_type": stype, "sample": sval, "wave": int(wave),
                     "arm": "Programme" if arm == 1 else "Comparison", "n": n,
                     "mean": float(vals.mean()) if ok else None,
                     "std_error": float(vals.std(ddof=1) / np.sqrt(n)) if ok and n > 1 else None,
                     "suppressed": not ok}
                )  # fmt: skip
    return pd.DataFrame(rows)
