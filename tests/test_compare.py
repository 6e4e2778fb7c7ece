"""The difference of two groups' own effects (analysis.compare) against an independent
computation: the interaction term of one fully interacted regression (statsmodels)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from analysis.compare import ComparisonError, difference


def _two_groups(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 400
    g = np.repeat([0, 1], n // 2)
    t = rng.integers(0, 2, n)
    # different effects and different noise in the two groups
    y = 1.0 + 0.4 * t * (g == 0) + 0.1 * t * (g == 1) + rng.normal(0, np.where(g == 0, 1.0, 2.0))
    return pd.DataFrame({"y": y, "t": t, "g": g})


def test_difference_equals_the_interaction_of_a_fully_interacted_regression():
    d = _two_groups()
    sep = {k: smf.ols("y ~ t", data=d[d.g == k]).fit(cov_type="HC0") for k in (0, 1)}
    got = difference(
        sep[0].params["t"], sep[0].bse["t"], 9, sep[1].params["t"], sep[1].bse["t"], 12
    )
    # independent: one regression with every term interacted; the t:g term is the
    # second group's effect minus the first's, and its HC0 standard error is the
    # standard error of that difference
    full = smf.ols("y ~ t * g", data=d).fit(cov_type="HC0")
    assert got.estimate == pytest.approx(-full.params["t:g"], rel=1e-10)
    assert got.std_error == pytest.approx(full.bse["t:g"], rel=1e-10)


def test_interval_uses_t_with_the_smaller_degrees_of_freedom():
    got = difference(0.30, 0.10, 9, 0.10, 0.05, 20)
    se = np.hypot(0.10, 0.05)
    # t(9) two-sided 95% critical value from printed tables: 2.262
    assert got.df == 9
    assert got.ci95_low == pytest.approx(0.20 - 2.262 * se, abs=1e-3)
    assert got.ci95_high == pytest.approx(0.20 + 2.262 * se, abs=1e-3)
    assert not got.distinguishable  # t = 1.79 < 2.262


def test_a_clear_difference_is_distinguishable():
    got = difference(1.0, 0.1, 30, 0.0, 0.1, 30)
    assert got.distinguishable and got.p_value < 1e-6


def test_missing_numbers_say_what_is_wrong():
    with pytest.raises(ComparisonError, match="missing"):
        difference(float("nan"), 0.1, 9, 0.2, 0.1, 9)
    with pytest.raises(ComparisonError, match="zero or negative"):
        difference(0.1, 0.0, 9, 0.2, 0.1, 9)
