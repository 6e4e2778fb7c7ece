"""Monte Carlo on the demo generator: bias and coverage of the main estimator, and the
size of cluster-robust vs wild-bootstrap tests with few clusters.  Marked slow; CI runs it."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from scipy import stats

from analysis.core import wild_bootstrap
from analysis.demo import load_demo_config, simulate_truth
from analysis.estimators import fit_ancova, fit_did
from analysis.paths import build_dir

pytestmark = pytest.mark.slow


def _panel(seed: int, cfg: dict):
    p, _ = simulate_truth(seed, config=cfg)
    return p.rename(columns={"client_no": "client_id"}).assign(
        village=lambda d: d["village_code"].astype(str)
    )


def _homogeneous(cfg: dict, effect: float) -> dict:
    c = copy.deepcopy(cfg)
    c["effects"]["province_multiplier"] = {k: 1.0 for k in c["effects"]["province_multiplier"]}
    c["effects"]["branch_multiplier_sd"] = 0.0
    for k in c["outcomes"]:
        c["outcomes"][k]["effect"] = 0.0
    c["outcomes"]["log_income"]["effect"] = effect
    return c


def _record(name: str, figures: dict) -> None:
    """Keep the figures for the record (printed with -s; saved for the closing note)."""
    print(name, figures)
    path = build_dir() / "montecarlo.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(path.read_text()) if path.is_file() else {}
    data[name] = figures
    path.write_text(json.dumps(data, indent=2))


def test_did_bias_and_coverage():
    cfg = load_demo_config()
    effect = 0.10
    c = _homogeneous(cfg, effect)
    take = c["design"]["take_up"]
    true_itt = effect * (take["programme"][2] - take["comparison"][2])
    reps = 300
    est, se, covered = np.empty(reps), np.empty(reps), np.zeros(reps, bool)
    for r in range(reps):
        res = fit_did(_panel(5000 + r, c), "log_income", wave=2)
        est[r], se[r] = res.estimate, res.std_error
        lo, hi = res.cis[0.95]
        covered[r] = lo <= true_itt <= hi
    bias = est.mean() - true_itt
    figures = {"reps": reps, "true_itt": true_itt, "mean_estimate": est.mean(), "bias": bias,
               "mean_se": se.mean(), "sd_estimates": est.std(ddof=1), "coverage95": covered.mean()}  # fmt: skip
    _record("did_bias_coverage", figures)
    assert abs(bias) < 0.1 * se.mean()
    assert 0.91 <= covered.mean() <= 0.985
    assert se.mean() == pytest.approx(est.std(ddof=1), rel=0.15)  # errors match the spread


def test_size_with_few_clusters_wild_vs_cluster():
    cfg = _homogeneous(load_demo_config(), 0.0)
    # one branch: 10 villages, 3 in the programme, local shocks hitting villages each wave
    cfg["design"]["provinces"] = {"Kompong Cham": ["Cheung Prey"]}
    cfg["design"]["n_clients"] = 200
    cfg["design"]["villages_per_branch"] = 10
    cfg["design"]["programme_share"] = 0.3
    cfg["outcomes"]["log_income"]["village_wave_sd"] = 0.15
    reps = 600
    rej = {"did_cluster": 0, "did_wild": 0, "ancova_cluster": 0, "ancova_wild": 0}
    for r in range(reps):
        panel = _panel(9000 + r, cfg)
        for name, f in (("did", fit_did), ("ancova", fit_ancova)):
            res = f(panel, "log_income", wave=2)
            rej[f"{name}_cluster"] += res.p_value < 0.05
            rej[f"{name}_wild"] += wild_bootstrap(res.fit, 0, draws=399, seed=r).p_value < 0.05
    rates = {k: v / reps for k, v in rej.items()}
    _record(
        "size_10_clusters_3_programme",
        {"reps": reps, "clusters": 10, "programme_clusters": 3, **rates},
    )
    for name in ("did", "ancova"):
        assert 0.02 <= rates[f"{name}_wild"] <= 0.075  # ~2.8 MC SE above 5% at 600 reps
        assert rates[f"{name}_cluster"] > rates[f"{name}_wild"]


# 700 replications: the Monte-Carlo SE of a 5% rejection rate is sqrt(.05 * .95 / 700) = 0.82
# points, so the 7.5% bound is 3 MC SE above the nominal size; a test that truly rejects
# 7.5% of the time passes by chance about half the time, one at 9% almost never.
MC_REPS = 700
SIZE_BOUND = 0.075


def _few_clusters_sample(rng: np.random.Generator, g: int):
    """Cross-section of g clusters of unequal size (10-40), half of them treated, a cluster
    effect and errors twice as noisy under treatment; the true effect is 0."""
    from analysis.core import fit_linear

    sizes = rng.integers(10, 41, size=g)
    cl = np.repeat(np.arange(g), sizes)
    treated = np.zeros(g)
    treated[rng.permutation(g)[: g // 2]] = 1
    d = treated[cl]
    y = rng.normal(scale=0.5, size=g)[cl] + rng.normal(size=cl.size) * (1 + d)
    return fit_linear(y, np.column_stack([d, np.ones_like(y)]), ["d", "const"], cl)


@pytest.mark.parametrize(
    ("weights", "g", "draws"),
    [
        ("webb", 12, 999),
        ("rademacher", 12, 999),  # 4,096 sign patterns: random draws
        ("rademacher", 10, 1024),  # all 1,024 sign patterns (full enumeration)
    ],
)
def test_wild_bootstrap_size_and_coverage_with_few_clusters(weights, g, draws):
    rng = np.random.default_rng(777 + g + draws)
    rejected = covered = cr1_rejected = 0
    for r in range(MC_REPS):
        fit = _few_clusters_sample(rng, g)
        wr = wild_bootstrap(fit, 0, draws=draws, weights=weights, seed=r, levels=(0.95,))
        assert wr.weights == weights
        rejected += wr.p_value < 0.05
        lo, hi = wr.cis[0.95]
        covered += lo <= 0.0 <= hi
        cr1_rejected += abs(fit.coef[0] / fit.se(0)) > stats.t.ppf(0.975, fit.df_t)
    size, coverage = rejected / MC_REPS, covered / MC_REPS
    _record(
        f"wild_{weights}_{g}_clusters_{draws}_draws",
        {"reps": MC_REPS, "clusters": g, "draws": draws, "size5": size,
         "coverage95": coverage, "cr1_t_size5": cr1_rejected / MC_REPS},
    )  # fmt: skip
    assert 0.025 <= size <= SIZE_BOUND
    assert 1 - SIZE_BOUND <= coverage <= 0.975
    # the interval is the set of nulls the test does not reject
    assert abs((1 - coverage) - size) <= 0.01
