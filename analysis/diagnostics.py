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
