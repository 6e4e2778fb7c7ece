"""Design diagnostics checked by hand: baseline ICC, unequal-cluster design effect, MDE,
and the joint balance test's counts."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from app_fixtures import *  # noqa: F403  (session fixtures: artefacts, app)
from app_fixtures import text_of
from scipy import stats

from analysis.diagnostics import balance_table, design_effect, design_mde


def test_design_effect_unequal_clusters_by_hand():
    # Eldridge, Ashby & Kerry (2006): DE = 1 + ((cv^2 + 1) m_bar - 1) ICC
    # sizes 4, 8, 12: m_bar = 8, SD (divisor G) = sqrt(32/3), cv^2 = (32/3)/64 = 1/6
    # DE = 1 + ((7/6) 8 - 1) 0.1 = 1 + (28/3 - 1) 0.1 = 1.833333
    assert design_effect([4, 8, 12], 0.1) == pytest.approx(1 + (28 / 3 - 1) * 0.1, rel=1e-12)
    # equal sizes reduce to 1 + (m - 1) ICC
    assert design_effect([8, 8, 8], 0.1) == pytest.approx(1.7, rel=1e-12)


def _panel():
    """Baseline: y has a known ICC; follow-up: a large village-level treatment effect."""
    # 4 villages (2 per arm).  Baseline y: village means 0, 3, 1, 2 with within spread +-1.
    rows = []
    sizes = {"v1": 2, "v2": 4, "v3": 2, "v4": 4}
    arm = {"v1": 0, "v2": 0, "v3": 1, "v4": 1}
    vmean = {"v1": 0.0, "v2": 3.0, "v3": 1.0, "v4": 2.0}
    cid = 0
    for v, m in sizes.items():
        for j in range(m):
            dev = 1.0 if j % 2 == 0 else -1.0
            rows.append(
                {"client_id": cid, "village": v, "arm": arm[v], "wave": 0, "y": vmean[v] + dev}
            )
            # follow-up: the programme's effect (+10 in programme villages) would inflate a
            # follow-up ICC; the same cluster sizes, except one client lost in v2
            if not (v == "v2" and j == 3):
                rows.append({"client_id": cid, "village": v, "arm": arm[v], "wave": 1,
                             "y": vmean[v] + dev + 10 * arm[v]})  # fmt: skip
            cid += 1
    return pd.DataFrame(rows)


def _icc_by_hand(y: np.ndarray, g: np.ndarray) -> float:
    """One-way ANOVA ICC for unbalanced groups (Donner 1986), written out."""
    labels = sorted(set(g))
    n = np.array([(g == lab).sum() for lab in labels], float)
    means = np.array([y[g == lab].mean() for lab in labels])
    big_n, k = n.sum(), len(labels)
    grand = y.mean()
    msb = (n * (means - grand) ** 2).sum() / (k - 1)
    msw = sum(((y[g == lab] - y[g == lab].mean()) ** 2).sum() for lab in labels) / (big_n - k)
    n0 = (big_n - (n**2).sum() / big_n) / (k - 1)
    return max(0.0, (msb - msw) / (msb + (n0 - 1) * msw))


def test_design_mde_uses_baseline_icc_and_unequal_cluster_sizes():
    panel = _panel()
    out = design_mde(panel, {"y": "Y"}, wave=1).iloc[0]
    base = panel[panel["wave"] == 0]
    rho = _icc_by_hand(base["y"].to_numpy(), base["village"].to_numpy())
    assert out["icc"] == pytest.approx(rho, rel=1e-12)
    assert 0.2 < rho < 0.9  # a real baseline ICC, so the design effect matters
    post = panel[panel["wave"] == 1]
    rho_post = _icc_by_hand(post["y"].to_numpy(), post["village"].to_numpy())
    assert rho_post > rho + 0.5  # the follow-up ICC is inflated by the effect; not used
    # follow-up cluster sizes 2, 3, 2, 4: m_bar = 2.75, sum m^2 / sum m = 33/11 = 3
    sizes = np.array([2.0, 3.0, 2.0, 4.0])
    assert out["mean_cluster_size"] == pytest.approx(2.75)
    cv2 = sizes.var() / sizes.mean() ** 2
    assert (cv2 + 1) * 2.75 == pytest.approx(3.0)
    de = 1 + (3.0 - 1) * rho
    assert out["design_effect"] == pytest.approx(de, rel=1e-12)
    sd = base.loc[base["arm"] == 0, "y"].std()
    n_t, n_c = 6, 5
    mult = stats.t.ppf(0.975, 2) + stats.t.ppf(0.80, 2)
    assert out["mde"] == pytest.approx(mult * sd * math.sqrt(de * (1 / n_t + 1 / n_c)), rel=1e-12)


def test_design_mde_on_demo_uses_baseline_icc(demo_panel, codebook):
    from analysis.diagnostics import icc_anova

    out = design_mde(demo_panel, {"late_instalments": "Late"}, wave=2).iloc[0]
    base = demo_panel[demo_panel["wave"] == 0].dropna(subset=["late_instalments"])
    assert out["icc"] == pytest.approx(
        _icc_by_hand(base["late_instalments"].to_numpy(float), base["village"].to_numpy()),
        rel=1e-10,
    )
    post = demo_panel[demo_panel["wave"] == 2].dropna(subset=["late_instalments"])
    assert out["icc"] != pytest.approx(icc_anova(post["late_instalments"], post["village"]))


def test_joint_balance_counts_come_from_the_data(demo_panel, codebook):
    table, joint = balance_table(demo_panel, codebook)
    chars = table[table["kind"] == "characteristic"]
    assert joint["n_rows"] == len(chars)
    assert joint["n_characteristics"] == chars["source"].nunique() == len(codebook.covariates)
    # a categorical characteristic with L levels is L rows in the table and L - 1 regressors
    levels = {n: len(v.values) for n, v in codebook.covariates.items() if v.is_categorical}
    assert joint["n_terms"] == len(chars) - len(levels)
    assert len(joint["characteristics"]) == joint["n_characteristics"]


def test_methods_page_joint_test_label_counts_what_is_listed(dash_app, arts):
    import pages.methods as methods

    txt = text_of(methods.layout())
    m = re.search(r"Joint test of all (\d+) baseline characteristics \(the first (\d+) rows", txt)
    assert m, txt[:2000]
    balance = pd.DataFrame(arts.diagnostics["balance"])
    chars = balance[balance["kind"] == "characteristic"]
    assert int(m.group(1)) == chars["source"].nunique()
    assert int(m.group(2)) == len(chars)
    assert "Intra-cluster correlation (baseline)" in txt
    assert "Design effect (unequal village sizes)" in txt
