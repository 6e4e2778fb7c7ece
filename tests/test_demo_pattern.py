"""Plain difference-in-differences of means on the demo panel shows the planted pattern.

This is a sanity check of the generator and the panel build, independent of the
estimators in ``analysis`` (which are tested against reference implementations).
"""

import numpy as np
import pytest


def _did_of_means(panel, outcome, wave=2):
    both = panel[panel["wave"].isin([0, wave])]
    keep = both.groupby("client_id")["wave"].transform("nunique") == 2
    m = both[keep].groupby(["arm", "wave"])[outcome].mean()
    return (m[1, wave] - m[1, 0]) - (m[0, wave] - m[0, 0])


def _baseline_sd(panel, outcome):
    return panel.loc[(panel["wave"] == 0) & (panel["arm"] == 0), outcome].std()


@pytest.fixture(scope="module")
def standardised_improvement(demo_panel, codebook):
    out = {}
    for name, var in codebook.outcomes.items():
        out[name] = var.sign * _did_of_means(demo_panel, name) / _baseline_sd(demo_panel, name)
    return out


def test_improved_outcomes_move_in_the_better_direction(standardised_improvement, demo_config):
    for name in demo_config["expected_pattern"]["improved"]:
        assert standardised_improvement[name] > 0.1, name


def test_repayment_is_the_largest_improvement(standardised_improvement):
    best = max(standardised_improvement, key=standardised_improvement.get)
    assert best in ("repay_difficulty", "late_instalments")


def test_null_outcomes_stay_small(standardised_improvement, demo_config):
    for name in demo_config["expected_pattern"]["null_or_unexpected"]:
        assert abs(standardised_improvement[name]) < 0.15, name


def test_midline_effects_smaller_than_endline(demo_panel, demo_config, codebook):
    mid = [
        codebook.outcomes[n].sign * _did_of_means(demo_panel, n, 1)
        for n in demo_config["expected_pattern"]["improved"]
    ]
    end = [
        codebook.outcomes[n].sign * _did_of_means(demo_panel, n, 2)
        for n in demo_config["expected_pattern"]["improved"]
    ]
    assert np.mean(np.array(mid) / np.array(end)) < 0.8


def test_stronger_in_kompong_cham(demo_panel, demo_config, codebook):
    gaps = []
    for name in demo_config["expected_pattern"]["improved"]:
        sd = _baseline_sd(demo_panel, name)
        kc = _did_of_means(demo_panel[demo_panel["province"] == "Kompong Cham"], name)
        kt = _did_of_means(demo_panel[demo_panel["province"] == "Kompong Thom"], name)
        gaps.append(codebook.outcomes[name].sign * (kc - kt) / sd)
    assert np.mean(gaps) > 0
