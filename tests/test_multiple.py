"""Sharpened q-values (Anderson 2008) and the family indices."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
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


def _raw_average(panel, codebook, family):
    """The KLK average of signed z-scores, written out here (missing -> arm x wave mean)."""
    base_c = panel[(panel["wave"] == 0) & (panel["arm"] == 0)]
    members = [n for n, v in codebook.outcomes.items() if v.family == family]
    zs = {}
    for n in members:
        sign = -1.0 if codebook.outcomes[n].better == "lower" else 1.0
        zs[n] = sign * (panel[n] - base_c[n].mean()) / base_c[n].std()
    z = pd.DataFrame(zs)
    filled = z.copy()
    for (_arm, _wave), idx in panel.groupby(["arm", "wave"]).groups.items():
        filled.loc[idx] = z.loc[idx].fillna(z.loc[idx].mean())
    return filled.mean(axis=1).where(z.notna().any(axis=1))


def test_family_index_is_standardised_in_the_comparison_group_at_baseline(demo_panel, codebook):
    out = add_family_indices(demo_panel, codebook)
    base_c = (out["wave"] == 0) & (out["arm"] == 0)
    for family in codebook.families:
        col = index_name(family)
        assert out.loc[base_c, col].mean() == pytest.approx(0, abs=1e-12), family
        assert out.loc[base_c, col].std() == pytest.approx(1, rel=1e-12), family


def test_family_index_is_signed_standardised_mean(demo_panel, codebook):
    out = add_family_indices(demo_panel, codebook)
    col = index_name("repayment")
    raw = _raw_average(demo_panel, codebook, "repayment")
    base_c = (demo_panel["wave"] == 0) & (demo_panel["arm"] == 0)
    expected = (raw - raw[base_c].mean()) / raw[base_c].std()
    assert np.allclose(out[col], expected, equal_nan=True, rtol=0, atol=1e-12)
    # both components are "lower is better": clients with more late instalments score lower
    both = out.dropna(subset=["repay_difficulty", "late_instalments"])
    worse = both["late_instalments"] > both["late_instalments"].median()
    assert both.loc[worse, col].mean() < both.loc[~worse, col].mean()
    assert set(index_name(f) for f in codebook.families) <= set(out.columns)


def _tiny():
    """Two components: ``a`` (higher is better) and ``b`` (lower is better)."""
    cb = SimpleNamespace(
        baseline_wave=0,
        has_baseline=lambda name: True,
        families={"fam": {"label": "Family"}},
        outcomes={
            "a": SimpleNamespace(family="fam", sign=1, better="higher"),
            "b": SimpleNamespace(family="fam", sign=-1, better="lower"),
        },
    )
    nan = np.nan
    rows = [  # wave, arm, a, b
        (0, 0, 1, 2), (0, 0, 2, 6), (0, 0, 3, 4),
        (0, 1, 2, nan), (0, 1, 4, 2), (0, 1, 3, 0), (0, 1, nan, nan),
        (1, 0, nan, 4), (1, 0, 3, 2), (1, 0, 5, 8),
    ]  # fmt: skip
    panel = pd.DataFrame(rows, columns=["wave", "arm", "a", "b"])
    panel["client_id"] = range(len(panel))
    return panel, cb


def test_klk_imputation_on_a_tiny_panel():
    # comparison baseline: a = 1, 2, 3 (mean 2, SD 1); b = 2, 6, 4 (mean 4, SD 2), b signed -1
    # z_a = a - 2, z_b = -(b - 4) / 2
    # baseline comparison: (z_a, z_b) = (-1, 1), (0, -1), (1, 0) -> averages 0, -0.5, 0.5:
    #   mean 0, SD 0.5 -> index 0, -1, 1
    # baseline programme: z_a = 0, 2, 1, -; z_b = -, 1, 2, -; missing z_b imputed at the
    #   programme x baseline mean of z_b, (1 + 2) / 2 = 1.5 -> averages 0.75, 1.5, 1.5, missing
    #   -> index 1.5, 3, 3, NaN (the last client answered nothing)
    # follow-up comparison: z_a = -, 1, 3 (missing -> that group's mean 2); z_b = 0, 1, -2
    #   -> averages 1, 1, 0.5 -> index 2, 2, 1
    panel, cb = _tiny()
    out = add_family_indices(panel, cb)
    expected = [0, -1, 1, 1.5, 3, 3, np.nan, 2, 2, 1]
    assert np.allclose(out[index_name("fam")], expected, equal_nan=True, rtol=0, atol=1e-12)


def test_klk_imputation_differs_from_averaging_what_was_answered():
    # the old rule (mean of answered components) gives client 3 an index of 0, not 1.5
    panel, cb = _tiny()
    out = add_family_indices(panel, cb)
    assert out.loc[3, index_name("fam")] == pytest.approx(1.5)
