"""Many outcomes: sharpened FDR q-values and standardised family indices.

``sharpened_qvalues`` follows Anderson (2008, JASA), section 3.2 and his Stata
code: the Benjamini-Krieger-Yekutieli (2006) two-stage procedure is run at every
q on a grid from 1 down to 0 in steps of 0.001, and each hypothesis's sharpened
q-value is the smallest q at which it is rejected.

``add_family_indices`` builds the Kling-Liebman-Katz (2007) summary index: each
outcome is standardised by the comparison group's baseline mean and SD and signed
so that higher is better; a component a client did not answer is imputed at the
mean of its arm x wave group (KLK 2007, appendix: "missing values ... imputed at
the random assignment group mean"); the components are averaged, and the average
is standardised again to mean 0, SD 1 in the comparison group at baseline
(as in Anderson 2008), so an effect on an index is in comparison-group baseline SDs.

Example
-------
>>> sharpened_qvalues([0.001, 0.01, 0.04, 0.2]).round(3).tolist()
[0.005, 0.016, 0.028, 0.057]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.codebook import Codebook


def sharpened_qvalues(pvalues, step: float = 0.001) -> np.ndarray:
    """Anderson (2008) sharpened two-stage q-values; NaN p-values stay NaN."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    pv = p[ok]
    m = pv.size
    if m == 0:
        return out
    order = np.argsort(pv, kind="stable")
    sorted_p = pv[order]
    ranks = np.arange(1, m + 1)
    grid = np.arange(int(round(1 / step)), 0, -1) * step  # 1.000, 0.999, ..., step
    q1 = grid / (1 + grid)
    # stage 1: Benjamini-Hochberg at q1 -> r1 rejections; stage 2 at q1 * m / (m - r1)
    r1 = np.where(sorted_p[None, :] <= ranks[None, :] / m * q1[:, None], ranks[None, :], 0).max(
        axis=1
    )
    q2 = np.where(r1 == m, q1, q1 * m / np.maximum(m - r1, 1))
    r2 = np.where(sorted_p[None, :] <= ranks[None, :] / m * q2[:, None], ranks[None, :], 0).max(
        axis=1
    )
    rejected = ranks[None, :] <= r2[:, None]  # grid x hypotheses
    # smallest q on the grid at which each hypothesis is rejected (1 if never)
    q_of = np.where(rejected, grid[:, None], 1.0).min(axis=0)
    res = np.empty(m)
    res[order] = q_of
    out[ok] = np.minimum(res, 1.0)
    return out


def weighted_mean_sd(values, weights=None) -> tuple[float, float]:
    """Mean and SD of the finite values; with sampling weights, the weighted mean and the
    weighted SD with the weights scaled to sum to the number of values (statsmodels'
    ``DescrStatsW``, ddof 1), so equal weights give the unweighted sample SD.

    >>> weighted_mean_sd([1.0, 2.0, 3.0])
    (2.0, 1.0)
    >>> m, s = weighted_mean_sd([1.0, 2.0, 3.0], [1.0, 1.0, 2.0]); round(m, 4), round(s, 4)
    (2.25, 1.0155)
    """
    x = np.asarray(values, float)
    if weights is None:
        x = x[np.isfinite(x)]
        if x.size == 0:
            return float("nan"), float("nan")
        return float(x.mean()), float(x.std(ddof=1)) if x.size > 1 else float("nan")
    from statsmodels.stats.weightstats import DescrStatsW

    w = np.asarray(weights, float)
    ok = np.isfinite(x) & np.isfinite(w) & (w > 0)
    x, w = x[ok], w[ok]
    if x.size == 0:
        return float("nan"), float("nan")
    stats = DescrStatsW(x, weights=w * x.size / w.sum(), ddof=1)
    return float(stats.mean), float(stats.std) if x.size > 1 else float("nan")


def index_name(family: str) -> str:
    return f"index_{family}"


def add_family_indices(
    panel: pd.DataFrame, codebook: Codebook, weights: str | None = None
) -> pd.DataFrame:
    """Return a copy of the panel with one KLK (2007) index column per outcome family.

    1. Each component is standardised by the comparison group's baseline mean and SD
       and multiplied by +1/-1 so that higher is better.
    2. A client who answered at least one component has each missing component imputed
       at that component's mean in the client's arm x wave group (Kling, Liebman & Katz
       2007); a client who answered none stays missing.
    3. The components are averaged with equal weights, and the average is standardised
       to mean 0, SD 1 in the comparison group at baseline.

    ``weights`` names a sampling-weight column: the comparison group's means and SDs of
    steps 1 and 3 are then weighted (:func:`weighted_mean_sd`), so the index is in the
    population's comparison-group SDs; the imputation of step 2 stays the group's plain mean.

    Example
    -------
    >>> from analysis.codebook import load_codebook
    >>> cb = load_codebook()
    >>> fam = next(iter(cb.families))
    >>> panel = pd.DataFrame({"client_id": range(4), "wave": 0, "arm": [0, 0, 1, 1]}
    ...                      | {n: [0.0, 1.0, 1.0, 0.0] for n in cb.outcomes})
    >>> idx = add_family_indices(panel, cb)[index_name(fam)]
    >>> float(round(idx[panel["arm"] == 0].std(), 6)), float(round(idx[panel["arm"] == 0].mean(), 6))
    (1.0, 0.0)
    """
    out = panel.copy()
    base_c = ((panel["wave"] == codebook.baseline_wave) & (panel["arm"] == 0)).to_numpy()
    groups = [panel["arm"], panel["wave"]]
    w = None if weights is None else panel[weights].to_numpy(float)
    for family in codebook.families:
        members = [n for n, v in codebook.outcomes.items() if v.family == family]
        if any(codebook.has_baseline(n) for n in members):
            refs = [(base_c, np.ones(len(panel), bool))]
        else:
            # no baseline measure: standardise within each follow-up wave by that wave's
            # comparison group (the index is then in SDs of the comparison group at that wave)
            refs = [
                (
                    ((panel["wave"] == w) & (panel["arm"] == 0)).to_numpy(),
                    (panel["wave"] == w).to_numpy(),
                )
                for w in sorted(panel["wave"].unique())
            ]
        index = pd.Series(np.nan, index=panel.index)
        for ref, rows in refs:
            zs = {}
            for name in members:
                comp = panel[name].astype(float)
                if w is None:
                    mu, sd = comp[ref].mean(), comp[ref].std()
                else:
                    mu, sd = weighted_mean_sd(comp[ref], w[ref])
                if not np.isfinite(sd) or sd == 0:
                    continue
                zs[name] = codebook.outcomes[name].sign * (comp - mu) / sd
            if not zs:
                continue
            z = pd.DataFrame(zs, index=panel.index)
            answered = z.notna().any(axis=1)
            # KLK (2007): impute a missing component at its arm x wave group mean
            z = z.fillna(z.groupby(groups, dropna=False).transform("mean"))
            raw = z.mean(axis=1).where(answered)
            if w is None:
                mu, sd = raw[ref].mean(), raw[ref].std()
            else:
                mu, sd = weighted_mean_sd(raw[ref], w[ref])
            if not np.isfinite(sd) or sd == 0:
                continue
            index[rows] = ((raw - mu) / sd)[rows]
        if index.notna().any():
            out[index_name(family)] = index
    return out
