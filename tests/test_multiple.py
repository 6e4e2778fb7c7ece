"""Sharpened q-values (Anderson 2008) and the family indices."""

import numpy as np
import pytest
from statsmodels.stats.multitest import fdrcorrection_twostage

from analysis.multiple import add_family_indices, index_name, sharpened_qvalues


def test_worked_example():
    # computed by hand with the two-stage procedure at q = 0.028: stage 1 at
    # q1 = 0.028/1.028 = 0.02724 rejects p(1)=0.001 <= 1/4*q1 and p(2)=0.01 <= 2/4*q1
    # -> r1 = 2, stage 2 at q2 = q1 * 4/2 = 0.05447 rejects 0.04 <= 3/4*q2 = 0.0409
    q = sharpened_qvalues([0.001, 0.01, 0.04, 0.2])
    assert q.tolist() == pytest.approx([0.005, 0.016, 0.028, 0.057])


def test_matches_statsmodels_bky_on_every_grid_point():
    rng = np.random.default_rng(0)
    for _ in range(60):
        p = np.concatenate([rng.uniform(0, 1, 9), rng.uniform(0, 0.02, rng.integers(0, 6))])
        q = sharpened_qvalues(p)
        for alpha in np.arange(0.005, 1.0, 0.013):
            rejected = fdrcorrection_twostage(p, alpha=alpha, method="bky", maxiter=1)[0]
            assert (rejected == (q <= alpha + 1e-12)).all()


def test_nan_pvalues_stay_nan():
    q = sharpened_qvalues([0.01, np.nan, 0.5])
    assert np.isnan(q[1])
    assert np.isfinite(q[[0, 2]]).all()


def test_q_never_below_p_times_nothing_and_at_most_one():
    q = sharpened_qvalues(np.linspace(0.0001, 0.9, 13))
    assert (q <= 1).all()
    assert (np.diff(q) >= 0).all()  # ordered like the p-values


def test_family_index_is_signed_standardised_mean(demo_panel, codebook):
    out = add_family_indices(demo_panel, codebook)
    col = index_name("repayment")
    base_c = out[(out["wave"] == 0) & (out["arm"] == 0)]
    assert base_c[col].mean() == pytest.approx(0, abs=0.05)
    # both components are "lower is better": clients with more late instalments score lower
    row = out.dropna(subset=["repay_difficulty", "late_instalments"]).iloc[0]
    z1 = (
        -(row["repay_difficulty"] - base_c["repay_difficulty"].mean())
        / base_c["repay_difficulty"].std()
    )
    z2 = (
        -(row["late_instalments"] - base_c["late_instalments"].mean())
        / base_c["late_instalments"].std()
    )
    assert row[col] == pytest.approx((z1 + z2) / 2)
    assert set(index_name(f) for f in codebook.families) <= set(out.columns)
