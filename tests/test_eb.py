"""Empirical Bayes partial pooling of branch estimates: Morris (1983), checked by hand.

The reference computation is written out here, independently of analysis.results:
DerSimonian-Laird tau^2, the random-effects mean, B_i = V_i / (V_i + tau^2), and
Morris's standard error with both terms,
    s_i^2 = V_i (1 - (k-1)/k B_i) + 2/(k-3) B_i^2 (y_i - mu)^2.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from analysis.results import empirical_bayes


def _morris_by_hand(y: list[float], se: list[float]):
    k = len(y)
    v = [s * s for s in se]
    w = [1 / vi for vi in v]
    sw = sum(w)
    mu_fe = sum(wi * yi for wi, yi in zip(w, y, strict=True)) / sw
    q = sum(wi * (yi - mu_fe) ** 2 for wi, yi in zip(w, y, strict=True))
    c = sw - sum(wi * wi for wi in w) / sw
    tau2 = max(0.0, (q - (k - 1)) / c)
    wr = [1 / (vi + tau2) for vi in v]
    mu = sum(wi * yi for wi, yi in zip(wr, y, strict=True)) / sum(wr)
    est, sds = [], []
    for yi, vi in zip(y, v, strict=True):
        b = vi / (vi + tau2)
        est.append(mu + (1 - b) * (yi - mu))
        var = vi * (1 - (k - 1) / k * b) + 2 / (k - 3) * b * b * (yi - mu) ** 2
        sds.append(math.sqrt(var))
    return est, sds, tau2, mu


def test_worked_example_equal_variances_numbers_by_hand():
    # k = 6, y = 0..5, V = 1: mean 2.5, Q = 17.5, C = 6 - 6/6 = 5, tau^2 = (17.5 - 5)/5 = 2.5,
    # B = 1/3.5 = 2/7.  y = 0: EB = 2.5 - (5/7) 2.5 = 0.714286;
    # s^2 = 1 - (5/6)(2/7) + (2/3)(4/49)(6.25) = 1 - 0.238095 + 0.340136 = 1.102041
    e, s, tau2, mu = empirical_bayes(np.arange(6.0), np.ones(6))
    assert tau2 == pytest.approx(2.5, rel=1e-12)
    assert mu == pytest.approx(2.5, rel=1e-12)
    assert e[0] == pytest.approx(2.5 - 5 / 7 * 2.5, rel=1e-12)
    assert s[0] == pytest.approx(math.sqrt(1 - 5 / 6 * 2 / 7 + 2 / 3 * 4 / 49 * 6.25), rel=1e-12)
    assert s[0] == pytest.approx(1.049781, abs=1e-6)
    # y = 2: (y - mu)^2 = 0.25 -> s^2 = 0.761905 + 0.013605 = 0.775510
    assert s[2] == pytest.approx(0.880631, abs=1e-6)


def test_worked_example_unequal_variances_matches_hand_formula():
    y = [-0.05, -0.72, -0.71, -0.43, -0.41, -0.74, -0.40]
    se = [0.22, 0.35, 0.15, 0.38, 0.27, 0.18, 0.36]
    e, s, tau2, mu = empirical_bayes(np.array(y), np.array(se))
    he, hs, htau2, hmu = _morris_by_hand(y, se)
    assert tau2 == pytest.approx(htau2, rel=1e-10)
    assert mu == pytest.approx(hmu, rel=1e-10)
    for i in range(len(y)):
        assert e[i] == pytest.approx(he[i], rel=1e-10), i
        assert s[i] == pytest.approx(hs[i], rel=1e-10), i


def test_second_term_matters_when_heterogeneous():
    # the tau^2-estimation term 2/(k-3) B^2 (y - mu)^2 is not negligible for an outlying branch
    y, se = [0.0, 0.1, 0.2, 0.1, 1.5, 0.05], [0.3] * 6
    e, s, tau2, mu = empirical_bayes(np.array(y), np.array(se))
    b = 0.09 / (0.09 + tau2)
    first_only = math.sqrt(0.09 * (1 - 5 / 6 * b))
    assert s[4] > first_only * 1.05


def test_too_few_groups_for_morris_gives_nan():
    e, s, tau2, mu = empirical_bayes(np.array([0.1, 0.2, 0.3]), np.array([0.1, 0.1, 0.1]))
    assert np.isnan(e).all() and np.isnan(s).all() and math.isnan(tau2)


def test_results_table_uses_morris_se_and_t_interval(demo_results):
    rows = demo_results[
        (demo_results["method"] == "did") & (demo_results["inference"] == "cluster")
        & (demo_results["sample_type"] == "branch") & (demo_results["outcome"] == "late_instalments")
        & (demo_results["wave"] == 2)
    ]  # fmt: skip
    he, hs, _, _ = _morris_by_hand(rows["estimate"].tolist(), rows["std_error"].tolist())
    assert rows["eb_estimate"].to_numpy() == pytest.approx(he, rel=1e-10)
    assert rows["eb_std_error"].to_numpy() == pytest.approx(hs, rel=1e-10)
    # the pooled interval uses t(G - 1) like the branch's own interval, not z = 1.96
    crit = stats.t.ppf(0.975, rows["df"].to_numpy(float))
    assert rows["eb_ci95_low"].to_numpy() == pytest.approx(np.array(he) - crit * hs, rel=1e-10)
    assert rows["eb_ci95_high"].to_numpy() == pytest.approx(np.array(he) + crit * hs, rel=1e-10)
    own = (rows["ci95_high"] - rows["estimate"]) / rows["std_error"]
    assert own.to_numpy() == pytest.approx(crit, rel=1e-8)
