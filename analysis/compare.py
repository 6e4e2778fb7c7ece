"""The difference between two groups' effects, each estimated on its own sample.

Groups of a breakdown whose members are whole clusters (e.g. branches: every village
belongs to one branch) are estimated on disjoint sets of clusters, so their estimates
are independent and the standard error of their difference is the root of the summed
squared standard errors (Altman & Bland 2003, "Interaction revisited: the difference
between two estimates", BMJ 326:219).  With few clusters per group the reference
distribution is Student's t with the smaller of the two groups' degrees of freedom: a
conservative choice, never more degrees of freedom than Welch's (1947) approximation.

This holds for each group's own estimate only.  Partially pooled (empirical Bayes)
estimates borrow from every group, so they are not independent and are never compared
this way.

>>> d = difference(0.30, 0.10, 9, 0.10, 0.05, 9)
>>> round(d.estimate, 3), round(d.std_error, 4)
(0.2, 0.1118)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats


class ComparisonError(ValueError):
    """Two groups' effects cannot be compared (a missing estimate or standard error)."""


@dataclass(frozen=True)
class Difference:
    """``estimate`` = first group's effect minus the second's, with its t-based interval."""

    estimate: float
    std_error: float
    df: int
    ci95_low: float
    ci95_high: float
    p_value: float

    @property
    def distinguishable(self) -> bool:
        """True when the 95% interval of the difference excludes zero (p < 0.05)."""
        return self.p_value < 0.05


def difference(
    est_a: float, se_a: float, df_a: float, est_b: float, se_b: float, df_b: float
) -> Difference:
    """Difference of two independent estimates (a minus b) with a two-sided t test.

    Parameters
    ----------
    est_a, se_a, df_a : the first group's estimate, standard error, degrees of freedom
    est_b, se_b, df_b : the same for the second group

    Raises
    ------
    ComparisonError
        when an estimate or standard error is missing or a standard error is not positive.
    """
    vals = (est_a, se_a, est_b, se_b)
    if any(v is None or not math.isfinite(float(v)) for v in vals):
        raise ComparisonError("an estimate or its standard error is missing")
    if float(se_a) <= 0 or float(se_b) <= 0:
        raise ComparisonError("a standard error is zero or negative")
    dfs = [float(d) for d in (df_a, df_b) if d is not None and math.isfinite(float(d))]
    df = int(min(dfs)) if dfs else 0
    est = float(est_a) - float(est_b)
    se = math.hypot(float(se_a), float(se_b))
    # no degrees of freedom recorded: the normal approximation
    dist = stats.t(df) if df > 0 else stats.norm()
    crit = float(dist.ppf(0.975))
    p = float(2 * dist.sf(abs(est) / se))
    return Difference(est, se, df, est - crit * se, est + crit * se, p)
