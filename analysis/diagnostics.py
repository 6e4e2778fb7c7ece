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
    values: np.ndarray, arm: np.ndarray, clusters: np.ndarray, weights: np.ndarray | None = None
) -> tuple[float, float]:
    """Difference in means (programme - comparison) and its cluster-robust p-value
    (weighted means, i.e. WLS, when sampling ``weights`` are given)."""
    from analysis.core import EstimationError, cluster_ci, fit_linear

    ok = np.isfinite(values)
    if weights is not None:
        ok &= np.isfinite(weights) & (weights > 0)
    try:
        f = fit_linear(
            values[ok],
            np.column_stack([arm[ok], np.ones(ok.sum())]),
            ["arm", "const"],
            clusters[ok],
            weights=None if weights is None else weights[ok],
        )
    except EstimationError:
        return float("nan"), float("nan")
    _, p, _ = cluster_ci(f, 0)
    return float(f.coef[0]), p


def _baseline_matrix(panel: pd.DataFrame, codebook) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Baseline rows of the balance table; ``kinds`` maps a row label to (kind, variable)."""
    base = panel[panel["wave"] == 0].drop_duplicates("client_id")
    cols, kinds = {}, {}
    for name, var in codebook.covariates.items():
        if var.is_categorical:
            for level in var.values.values():
                label = f"{var.label}: {level}"
                cols[label] = (base[name] == level).astype(float).where(base[name].notna())
                kinds[label] = ("characteristic", name)
        else:
            cols[var.label] = base[name].astype(float)
            kinds[var.label] = ("characteristic", name)
    for name, var in codebook.outcomes.items():
        if not codebook.has_baseline(name):  # not asked before the programme: nothing to compare
            continue
        label = f"{var.short or var.label} (baseline)"
        cols[label] = base[name].astype(float)
        kinds[label] = ("baseline outcome", name)
    return pd.DataFrame(cols, index=base.index), base, kinds


def balance_table(panel: pd.DataFrame, codebook) -> tuple[pd.DataFrame, dict]:
    """Baseline balance by arm: means, difference, clustered p, normalised difference,
    and a joint test (assignment regressed on all baseline characteristics).

    Each row has ``kind`` (``characteristic`` or ``baseline outcome``) and ``source``
    (the panel column).  The joint test covers every characteristic row: a categorical
    characteristic enters as indicators of all but its first level.  Its counts
    (``n_characteristics`` variables, ``n_rows`` table rows, ``n_terms`` regressors)
    come from the data, so a label can say exactly what was tested.
    """
    from analysis.core import EstimationError, fit_linear, wald_test
    from analysis.multiple import weighted_mean_sd

    mat, base, kinds = _baseline_matrix(panel, codebook)
    arm = base["arm"].to_numpy(float)
    vill = base["village"].to_numpy()
    sampling = codebook.roles.weights
    w = None if sampling is None else base[sampling].to_numpy(float)
    rows = []
    for label, col in mat.items():
        v = col.to_numpy(float)
        t, c = v[(arm == 1) & np.isfinite(v)], v[(arm == 0) & np.isfinite(v)]
        diff, p = _cluster_mean_diff(v, arm, vill, w)
        if w is None:
            mt, mc = (
                (float(t.mean()) if len(t) else np.nan),
                (float(c.mean()) if len(c) else np.nan),
            )
            sd = (
                np.sqrt((t.var(ddof=1) + c.var(ddof=1)) / 2)
                if len(t) > 1 and len(c) > 1
                else np.nan
            )
        else:  # sampling weights: weighted means and SDs (Imbens & Rubin 2015, normalised difference)
            (mt, st), (mc, sc) = (weighted_mean_sd(v[arm == a], w[arm == a]) for a in (1, 0))
            sd = np.sqrt((st**2 + sc**2) / 2)
        rows.append(
            {
                "variable": label,
                "kind": kinds[label][0],
                "source": kinds[label][1],
                "mean_programme": mt,
                "mean_comparison": mc,
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
    covs, tested = [], []
    for name, var in codebook.covariates.items():
        if base[name].notna().sum() == 0:
            continue
        tested.append(name)
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
    n_rows = int(table["source"].isin(tested).sum())
    try:
        f = fit_linear(arm, x, [f"x{i}" for i in range(x.shape[1])], vill, weights=w)
        r = np.eye(x.shape[1])[:-1]
        fstat, p = wald_test(f.coef, f.vcov, r, f.df_t)
    except EstimationError:
        fstat, p = float("nan"), float("nan")
    joint = {
        "joint_F": fstat,
        "joint_p": p,
        "n_characteristics": len(tested),
        "n_rows": n_rows,
        "n_terms": int(x.shape[1] - 1),
        "characteristics": [codebook.covariates[n].label for n in tested],
    }
    if sampling is not None:  # the joint test and every mean are weighted
        joint["weights"] = sampling
    return table, joint


def attrition_table(panel: pd.DataFrame, codebook) -> pd.DataFrame:
    """Attrition by arm and follow-up wave, with a differential-attrition test.

    A wave that asked a designed sub-sample (``codebook.subsample``) is not attrition:
    its rows carry the counts, no attrition rate or test, and ``subsample`` (the
    codebook's description of who was sampled)."""
    base = panel[panel["wave"] == 0].drop_duplicates("client_id").set_index("client_id")
    rows = []
    for wave in sorted(w for w in panel["wave"].unique() if w != 0):
        seen = set(panel.loc[panel["wave"] == wave, "client_id"])
        lost = (~base.index.isin(seen)).astype(float)
        arm = base["arm"].to_numpy(float)
        sub = codebook.subsample(int(wave))
        if sub is None:
            diff, p = _cluster_mean_diff(lost, arm, base["village"].to_numpy())
        else:  # not everyone was meant to be asked: missing units are not lost
            diff, p = float("nan"), float("nan")
        for a in (1, 0):
            sel = arm == a
            row = {
                "wave": int(wave),
                "wave_label": codebook.wave_label(int(wave)),
                "arm": "Programme" if a == 1 else "Comparison",
                "n_baseline": int(sel.sum()),
                "n_interviewed": int(sel.sum() - lost[sel].sum()),
                "attrition_rate": float(lost[sel].mean()) if sub is None else float("nan"),
                "differential": diff,
                "differential_p": p,
            }
            if sub is not None:
                row["subsample"] = sub
            rows.append(row)
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


def design_effect(cluster_sizes, icc: float) -> float:
    """Design effect of a cluster design with unequal cluster sizes (Eldridge, Ashby & Kerry 2006).

    DE = 1 + ((cv^2 + 1) * m_bar - 1) * ICC, with m_bar the mean cluster size and cv the
    coefficient of variation of cluster sizes (SD with divisor G, so that
    (cv^2 + 1) * m_bar = sum m_g^2 / sum m_g exactly).  Equal sizes give 1 + (m - 1) * ICC.

    Example
    -------
    >>> round(design_effect([10, 10, 10], 0.05), 4)
    1.45
    >>> round(design_effect([5, 10, 15], 0.05), 4)
    1.5333
    """
    m = np.asarray(cluster_sizes, float)
    m_bar = m.mean()
    cv = m.std(ddof=0) / m_bar
    return float(1 + ((cv**2 + 1) * m_bar - 1) * icc)


def design_mde(
    panel: pd.DataFrame, outcomes: dict, *, wave: int, power: float = 0.80, alpha: float = 0.05
) -> pd.DataFrame:
    """Minimum detectable effect of a single follow-up comparison (80% power, 5% two-sided).

    MDE = (t_{1-alpha/2} + t_{power}) * SD * sqrt(DE * (1/n_T + 1/n_C)) with G - 2 degrees
    of freedom (Bloom 1995; Duflo, Glennerster & Kremer 2007), where

    * SD is the comparison group's baseline SD;
    * the ICC is estimated on BASELINE data (one-way ANOVA over villages): at a follow-up
      wave the programme's effect differs between clusters and would inflate it;
    * DE is the design effect for unequal cluster sizes (Eldridge, Ashby & Kerry 2006),
      with the cluster sizes and arm sizes of the follow-up wave.
    """
    from scipy import stats

    post = panel[panel["wave"] == wave]
    base = panel[panel["wave"] == 0]
    base_c = base[base["arm"] == 0]
    rows = []
    for name, label in outcomes.items():
        d = post.dropna(subset=[name])
        sizes = d.groupby("village").size().to_numpy(float)
        g = len(sizes)
        m = float(sizes.mean()) if g else np.nan
        cv = float(sizes.std(ddof=0) / m) if g else np.nan
        rho = icc_anova(base[name], base["village"])
        de = design_effect(sizes, rho) if g and np.isfinite(rho) else np.nan
        sd = float(base_c[name].std())
        n_t, n_c = int((d["arm"] == 1).sum()), int((d["arm"] == 0).sum())
        mult = stats.t.ppf(1 - alpha / 2, g - 2) + stats.t.ppf(power, g - 2) if g > 2 else np.nan
        mde = mult * sd * np.sqrt(de * (1 / n_t + 1 / n_c)) if n_t and n_c else np.nan
        rows.append(
            {"outcome": name, "label": label, "wave": wave, "icc": rho, "icc_wave": 0,
             "mean_cluster_size": m, "cv_cluster_size": cv, "design_effect": de, "n_clusters": g,
             "comparison_sd": sd, "mde": float(mde), "mde_std": float(mde / sd) if sd else np.nan}
        )  # fmt: skip
    return pd.DataFrame(rows)


def means_by_arm(
    panel: pd.DataFrame, outcomes: list[str], min_cell: int, samples=None,
    weights: str | None = None,
) -> pd.DataFrame:  # fmt: skip
    """Outcome means by arm and wave, for the full sample and each breakdown level.

    ``samples``: (sample_type, sample, row mask) triples (``analysis.results.samples``);
    default the full sample only.  A cell with fewer than ``min_cell`` units answering is
    suppressed (mean NaN).  ``weights``: a sampling-weight column; means and SDs are then
    weighted (the standard error is the weighted SD over the root of the count).
    """
    from analysis.multiple import weighted_mean_sd

    rows = []
    if samples is None:
        samples = [("all", "All clients", pd.Series(True, index=panel.index))]
    groups = [(stype, sval, panel[mask]) for stype, sval, mask in samples]
    for stype, sval, sub in groups:
        for (wave, arm), cell in sub.groupby(["wave", "arm"]):
            for name in outcomes:
                vals = cell[name].dropna()
                n = int(len(vals))
                ok = n >= min_cell
                if weights is None:
                    mean, sd = float(vals.mean()), float(vals.std(ddof=1))
                else:
                    mean, sd = weighted_mean_sd(vals, cell.loc[vals.index, weights])
                rows.append(
                    {"outcome": name, "sample_type": stype, "sample": sval, "wave": int(wave),
                     "arm": "Programme" if arm == 1 else "Comparison", "n": n,
                     "mean": mean if ok else None,
                     "std_error": sd / np.sqrt(n) if ok and n > 1 else None,
                     "suppressed": not ok}
                )  # fmt: skip
    return pd.DataFrame(rows)
