"""Many outcomes: sharpened FDR q-values and standardised family indices.

``sharpened_qvalues`` follows Anderson (2008, JASA), section 3.2 and his Stata
code: the Benjamini-Krieger-Yekutieli (2006) two-stage procedure is run at every
q on a grid from 1 down to 0 in steps of 0.001, and each hypothesis's sharpened
q-value is the smallest q at which it is rejected.

``family_index`` builds the Kling-Liebman-Katz (2007) index: each outcome is
standardised by the comparison group's baseline mean and SD, signed so that
higher is better, and the available components are averaged.

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


def index_name(family: str) -> str:
    return f"index_{family}"


def add_family_indices(panel: pd.DataFrame, codebook: Codebook) -> pd.DataFrame:
    """Return a copy of the panel with one KLK index column per outcome family.

    Components are standardised by the comparison group's baseline mean and SD,
    multiplied by +1/-1 so that higher is better, and averaged over the
    components a client answered in that wave.
    """
    out = panel.copy()
    base_c = panel[(panel["wave"] == 0) & (panel["arm"] == 0)]
    for family in codebook.families:
        members = [n for n, v in codebook.outcomes.items() if v.family == family]
        zs = []
        for name in members:
            mu, sd = base_c[name].mean(), base_c[name].std()
            if not np.isfinite(sd) or sd == 0:
                continue
            zs.append(codebook.outcomes[name].sign * (panel[name] - mu) / sd)
        if zs:
            out[index_name(family)] = pd.concat(zs, axis=1).mean(axis=1, skipna=True)
    return out
