"""analysis.post: the post-only and multi-arm ANCOVA estimators against independent fits.

References are statsmodels (WLS with CR1 cluster covariance, ``G/(G-1) * (N-1)/(N-K)``, t(G-1))
and pyfixest (feols with CRV1, and its wild bootstrap), on regressions written out in the test
with explicit dummy columns, never through the code under test.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from analysis.core import EstimationError
from analysis.estimators import fit_ancova_generic
from analysis.post import fit_ancova_arms, fit_post

RTOL = 1e-8


@pytest.fixture(scope="module")
def trial() -> pd.DataFrame:
    """Three arms assigned by village within district strata, two waves, weights, unbalanced."""
    rng = np.random.default_rng(11)
    villages = pd.DataFrame({"village": np.arange(36)})
    villages["district"] = villages["village"] % 4
    villages["arm"] = rng.permutation(np.tile([0, 1, 2], 12))
    rows = []
    for v in villages.itertuples():
        for i in range(int(rng.integers(8, 20))):
            hh = f"h{v.village}-{i}"
            size = int(rng.integers(1, 9))
            w = float(rng.uniform(0.5, 3.0))
            a = rng.normal() + 0.3 * v.district
            vil = rng.normal(scale=0.5)
            for wave in (0, 1, 2):
                if wave and rng.random() < 0.1:
                    continue
                effect = 0.0 if wave == 0 else (0.05 * (v.arm == 1) + 0.6 * (v.arm == 2)) * wave
                rows.append({
                    "hh": hh, "round": wave, "village": v.village, "district": v.district,
                    "arm": v.arm, "hh_size": size, "w": w,
                    "y": a + vil + 0.2 * wave + 0.1 * size + effect + rng.normal(),
                })  # fmt: skip
    return pd.DataFrame(rows)


def _sm_cluster(y, x, groups, weights=None):
    model = sm.WLS(y, x, weights=weights) if weights is not None else sm.OLS(y, x)
    return model.fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)


def _design(d: pd.DataFrame, arms=(1, 2), strata=True, controls=("hh_size",)) -> pd.DataFrame:
    x = pd.DataFrame({f"arm{a}": (d["arm"] == a).astype(float) for a in arms}, index=d.index)
    for c in controls:
        x[c] = d[c].astype(float)
    x["const"] = 1.0
    if strata:
        x = x.join(pd.get_dummies(d["district"], prefix="d", drop_first=True, dtype=float))
    return x


def test_post_three_arms_weighted_with_strata_matches_statsmodels(trial):
    res = fit_post(trial, y="y", treat="arm", cluster="village", unit="hh", time="round",
                   strata=["district"], controls=["hh_size"], weights="w")  # fmt: skip
    d = trial[trial["round"] == 2]
    ref = _sm_cluster(d["y"], _design(d), d["village"], weights=d["w"])
    assert [r.term for r in res] == ["arm=1", "arm=2"]
    for r, name in zip(res, ["arm1", "arm2"], strict=True):
        assert r.estimate == pytest.approx(ref.params[name], rel=RTOL)
        assert r.std_error == pytest.approx(ref.bse[name], rel=RTOL)
        assert r.p_value == pytest.approx(ref.pvalues[name], rel=1e-6)
        lo, hi = r.cis[0.95]
        assert lo == pytest.approx(ref.conf_int().loc[name, 0], rel=1e-7)
        assert hi == pytest.approx(ref.conf_int().loc[name, 1], rel=1e-7)
        assert r.n_obs == len(d)
        assert r.n_clusters == 36
        assert r.wave == 2


def test_post_unweighted_without_strata_matches_statsmodels_at_an_earlier_wave(trial):
    res = fit_post(trial, y="y", treat="arm", cluster="village", unit="hh", time="round", wave="1")
    d = trial[trial["round"] == 1]
    ref = _sm_cluster(d["y"], _design(d, strata=False, controls=()), d["village"])
    assert res[1].estimate == pytest.approx(ref.params["arm2"], rel=RTOL)
    assert res[1].std_error == pytest.approx(ref.bse["arm2"], rel=RTOL)
    assert res[1].wave == 1


def test_post_matches_pyfixest_absorbed_strata(trial):
    pf = pytest.importorskip("pyfixest")
    res = fit_post(trial, y="y", treat="arm", cluster="village", time="round",
                   strata=["district"], weights="w")  # fmt: skip
    d = trial[trial["round"] == 2].assign(a1=lambda t: (t["arm"] == 1) * 1.0,
                                           a2=lambda t: (t["arm"] == 2) * 1.0)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pf.feols("y ~ a1 + a2 | district", data=d, vcov={"CRV1": "village"}, weights="w")
    assert res[0].estimate == pytest.approx(ref.coef()["a1"], rel=RTOL)
    assert res[1].std_error == pytest.approx(ref.se()["a2"], rel=RTOL)


def test_other_comparison_arm_and_string_arms(trial):
    names = {0: "control", 1: "visits", 2: "grant"}
    d = trial.assign(arm=trial["arm"].map(names))
    res = fit_post(d, y="y", treat="arm", cluster="village", time="round", control_arm="grant")
    assert [r.term for r in res] == ["arm=control", "arm=visits"]
    base = trial[trial["round"] == 2]
    ref = _sm_cluster(base["y"], _design(base, arms=(0, 1), strata=False, controls=()),
                      base["village"])  # fmt: skip
    assert res[0].estimate == pytest.approx(ref.params["arm0"], rel=RTOL)
    assert res[1].std_error == pytest.approx(ref.bse["arm1"], rel=RTOL)


def test_two_arms_term_is_the_column_name(trial):
    two = trial[trial["arm"] != 1]
    (res,) = fit_post(two, y="y", treat="arm", cluster="village", time="round")
    assert res.term == "arm"
    d = two[two["round"] == 2]
    ref = _sm_cluster(d["y"], _design(d, arms=(2,), strata=False, controls=()), d["village"])
    assert res.estimate == pytest.approx(ref.params["arm2"], rel=RTOL)


def test_ancova_three_arms_matches_statsmodels_with_missing_baseline(trial):
    """Follow-up on arms, baseline outcome (0 + indicator where missing), strata: by hand."""
    t = trial.copy()
    drop = t[(t["round"] == 0)].sample(frac=0.2, random_state=1).index
    t = t.drop(drop)  # some households have no baseline row
    res = fit_ancova_arms(t, y="y", treat="arm", unit="hh", time="round", cluster="village",
                          strata=["district"], controls=["hh_size"])  # fmt: skip
    post = t[t["round"] == 2].copy()
    base = t[t["round"] == 0].set_index("hh")["y"]
    post["y0"] = post["hh"].map(base)
    x = _design(post)
    x["baseline"] = post["y0"].fillna(0)
    x["baseline_missing"] = post["y0"].isna().astype(float)
    assert x["baseline_missing"].sum() > 20
    ref = _sm_cluster(post["y"], x, post["village"])
    for r, name in zip(res, ["arm1", "arm2"], strict=True):
        assert r.estimate == pytest.approx(ref.params[name], rel=RTOL)
        assert r.std_error == pytest.approx(ref.bse[name], rel=RTOL)
    assert res[0].details["baseline"] == "0"


def test_ancova_two_arms_equals_the_generic_ancova(trial):
    """The command line's ANCOVA used fit_ancova_generic before; a binary arm gives the same."""
    two = trial[trial["arm"] != 1].assign(arm=lambda d: (d["arm"] == 2).astype(int))
    (ours,) = fit_ancova_arms(two, y="y", treat="arm", unit="hh", time="round", cluster="village")
    old = fit_ancova_generic(two, y="y", treat="arm", unit="hh", time="round", cluster="village")
    assert ours.estimate == pytest.approx(old.estimate, rel=1e-10)
    assert ours.std_error == pytest.approx(old.std_error, rel=1e-10)


def test_wild_bootstrap_of_the_second_arm_matches_pyfixest(trial):
    """The bootstrap tests the requested arm's coefficient, not the first column."""
    pf = pytest.importorskip("pyfixest")
    draws = 9999
    res = fit_post(trial, y="y", treat="arm", cluster="village", time="round", inference="wild",
                   draws=draws, seed=4)  # fmt: skip
    d = trial[trial["round"] == 2].assign(a1=lambda t: (t["arm"] == 1) * 1.0,
                                           a2=lambda t: (t["arm"] == 2) * 1.0)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = pf.feols("y ~ a1 + a2", data=d, vcov={"CRV1": "village"})
        refs = [float(model.wildboottest(param=p, reps=draws, seed=9)["Pr(>|t|)"]) for p in ("a1", "a2")]  # fmt: skip
    assert abs(refs[0] - refs[1]) > 0.2  # the two arms are told apart
    for r, p_ref in zip(res, refs, strict=True):
        mc = math.sqrt(max(p_ref * (1 - p_ref), 1e-4) * 2 / draws)
        assert abs(r.p_value - p_ref) <= 4 * mc, (r.term, r.p_value, p_ref)
        assert r.boot_draws == draws and r.boot_weights == "rademacher"


# --------------------------------------------------------------------------- errors


def _err(fn, **kw) -> str:
    with pytest.raises(EstimationError) as info:
        fn(**kw)
    return str(info.value)


@pytest.mark.parametrize(
    "change,kwargs,message",
    [
        (lambda d: d.assign(flat=2.0), {"y": "flat"}, "has no variation"),
        (lambda d: d.assign(size2=2 * d["hh_size"]), {"controls": ["hh_size", "size2"]},
         "collinear design: 'size2'"),
        (lambda d: d.assign(dist_x=d["district"] * 1.0), {"strata": ["district"], "controls": ["dist_x"]},
         "collinear design: 'dist_x'"),
        (lambda d: d.assign(arm=np.where(d["village"] == 0, 3, d["arm"])), {},
         "too few clusters: arm 'arm=3' is in 1 cluster"),
        (lambda d: d, {"control_arm": "7"}, "comparison arm '7' is not a value of 'arm'"),
        (lambda d: d, {"wave": "5"}, "wave '5' is not a value of 'round' (values: 0, 1, 2)"),
        (lambda d: d.assign(arm=d["y"]), {}, "must hold arm codes"),
        (lambda d: d.assign(y=d["y"].astype(str).where(d.index % 7 > 0, "n/a")), {},
         "outcome 'y' must be numeric; found 'n/a'"),
        (lambda d: d.assign(w=-d["w"]), {"weights": "w"}, "negative values"),
        (lambda d: d, {"controls": ["nowhere"]}, "unknown column(s): nowhere"),
        (lambda d: pd.concat([d, d.tail(1)]), {}, "appears more than once in round = 2"),
        (lambda d: d.assign(arm=np.where(d["round"] == 2, 1, d["arm"])), {}, "does not vary"),
        (lambda d: d.assign(y=d["y"].where(d["round"] < 2)), {},
         "outcome 'y' is not measured in round = 2: it is measured in round = 0, 1"),
    ],
)  # fmt: skip
def test_post_clear_errors(trial, change, kwargs, message):
    args = dict(y="y", treat="arm", cluster="village", unit="hh", time="round") | kwargs
    assert message in _err(fit_post, df=change(trial), **args)


def test_ancova_never_uses_a_post_round_as_baseline(trial):
    args = dict(y="y", treat="arm", unit="hh", time="round", cluster="village")
    one = trial[trial["round"] == 2]
    assert "single period" in _err(fit_ancova_arms, df=one, **args)
    assert "is the first period" in _err(fit_ancova_arms, df=trial, wave="0", **args)
    # a study with no baseline measure: the first period exists but the outcome is not asked
    no_base = trial.assign(y=trial["y"].where(trial["round"] > 0))
    msg = _err(fit_ancova_arms, df=no_base, **args)
    assert "not measured in the first period (round = 0)" in msg and "--method post" in msg
    # the baseline is measured only for units that are gone at the follow-up
    gone = trial[~((trial["round"] == 2) & trial["hh"].isin(trial.loc[trial["round"] == 0, "hh"]))]
    gone = pd.concat([gone, trial[trial["round"] == 2].assign(hh=lambda d: d["hh"] + "-new")])
    assert "has a baseline value" in _err(fit_ancova_arms, df=gone, **args)


def test_text_periods_are_ordered_only_when_they_are_numbers_or_dates(trial):
    args = dict(y="y", treat="arm", unit="hh", cluster="village")
    ref = fit_ancova_arms(trial, time="round", **args)
    dates = trial.assign(
        round=trial["round"].map({0: "2019-11-02", 1: "2020-05-30", 2: "2021-01-09"})
    )
    for data in (trial.assign(round=trial["round"].astype(str)), dates):
        got = fit_ancova_arms(data, time="round", **args)
        assert got[1].estimate == pytest.approx(ref[1].estimate, rel=1e-12)
    words = trial.assign(round=trial["round"].map({0: "baseline", 1: "midline", 2: "endline"}))
    assert "which comes first is unknown" in _err(fit_ancova_arms, df=words, time="round", **args)
    assert "which comes first is unknown" in _err(fit_post, df=words, time="round", **args)
    (named,) = fit_post(words[words["arm"] != 1], time="round", wave="endline", **args)
    assert named.estimate == pytest.approx(
        fit_post(trial[trial["arm"] != 1], time="round", **args)[0].estimate, rel=1e-12
    )
