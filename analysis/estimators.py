"""Impact estimators for the study panel, and generic two-way fixed-effects / ANCOVA.

Each ``fit_*`` takes the long panel (one row per client x wave, columns
``client_id, wave, village, branch, arm, exposure`` plus outcomes) and returns an
:class:`EffectResult`, whose ``tidy()`` is one row with fixed column names.

* ``fit_did``   -- intention-to-treat difference-in-differences with client and
  wave fixed effects on baseline + one follow-up wave (clients seen in both).
* ``fit_ancova`` -- follow-up outcome on assignment, the baseline value of the
  outcome (0 plus a missing indicator where it is missing) and branch strata.
* ``fit_ipw_did`` -- the DiD above, weighted by inverse-probability (ATT) weights
  from a logit of assignment on baseline covariates; propensity scores outside
  ``trim`` are dropped.  Its errors treat the weights as known (conditional on
  the propensity model), as is usual.
* ``fit_late``  -- the effect of receiving FE topics on compliers (LATE; Imbens &
  Angrist 1994): receipt instrumented by assignment x follow-up, with client and
  wave fixed effects; first stage reported.  Comparison clients receive FE too
  (two-sided non-compliance), so this is not the effect on the treated.
  ``fit_tot`` is kept as an alias (results key ``"tot"``).

Inference is cluster-robust (CR1, t(G-1)) at the village, the unit of assignment,
or the wild cluster restricted bootstrap (``inference="wild"``: p-value and
intervals from the bootstrap; ``std_error`` stays the cluster-robust one).
The bootstrap is not offered for the IV estimator.

Example
-------
>>> from analysis.demo import simulate_truth
>>> panel = simulate_truth(1)[0].rename(columns={"client_no": "client_id", "village_code": "village"})
>>> res = fit_did(panel, "repay_difficulty", wave=2)
>>> res.n_clusters, bool(res.estimate < 0), bool(res.cis[0.95][0] < res.estimate < res.cis[0.95][1])
(80, True, True)
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from analysis.core import (
    LEVELS,
    EstimationError,
    LinearFit,
    cluster_ci,
    encode,
    fit_linear,
    wald_test,
    wild_bootstrap,
)

Method = Literal["did", "ancova", "ipw_did", "late", "tot"]
Inference = Literal["cluster", "wild"]
METHODS: tuple[str, ...] = ("did", "ancova", "ipw_did", "late")
# the IV estimator is a LATE (Imbens & Angrist 1994); "tot" is its former key
IV_METHODS = ("late", "tot")
LATE_LABEL = "Effect on compliers (LATE, IV: take-up instrumented by assignment)"
METHOD_LABELS = {
    "did": "Difference-in-differences (ITT, unit and wave fixed effects)",
    "ancova": "ANCOVA (ITT, baseline outcome and strata fixed effects)",
    "post": "Post-only comparison (ITT at one follow-up wave, strata fixed effects where declared)",
    "ipw_did": "Inverse-probability-weighted DiD (ITT)",
    "late": LATE_LABEL,
    "tot": LATE_LABEL,  # the former key of the same estimator
    "twfe": "Two-way fixed effects",
}
DEFAULT_DRAWS = 999
DEFAULT_SEED = 20100201
PROPENSITY_COVARIATES = (
    "female",
    "age",
    "hh_size",
    "literate",
    "loan_cycle",
    "loan_amount",
    "main_activity",
)

TIDY_COLUMNS = [
    "outcome", "method", "term", "inference", "wave", "estimate", "std_error", "t_stat", "df",
    "p_value", "ci90_low", "ci90_high", "ci95_low", "ci95_high", "ci99_low", "ci99_high",
    "n_obs", "n_clients", "n_clusters", "boot_draws", "boot_weights", "boot_seed",
]  # fmt: skip


@dataclass(frozen=True)
class EffectResult:
    """One estimated effect with its inference; attributes are read-only."""

    outcome: str
    method: str
    term: str
    inference: str
    wave: int | None
    estimate: float
    std_error: float
    t_stat: float
    df: int
    p_value: float
    cis: dict[float, tuple[float, float]]
    n_obs: int
    n_clients: int
    n_clusters: int
    boot_draws: int | None = None
    boot_weights: str | None = None
    boot_seed: int | None = None
    details: dict[str, Any] = field(default_factory=dict)
    fit: LinearFit | None = field(default=None, repr=False, compare=False)

    def tidy(self) -> pd.DataFrame:
        """One row, fixed columns (see ``TIDY_COLUMNS``)."""
        row = {
            "outcome": self.outcome,
            "method": self.method,
            "term": self.term,
            "inference": self.inference,
            "wave": self.wave,
            "estimate": self.estimate,
            "std_error": self.std_error,
            "t_stat": self.t_stat,
            "df": self.df,
            "p_value": self.p_value,
            "n_obs": self.n_obs,
            "n_clients": self.n_clients,
            "n_clusters": self.n_clusters,
            "boot_draws": self.boot_draws,
            "boot_weights": self.boot_weights,
            "boot_seed": self.boot_seed,
        }
        for lev in LEVELS:
            tag = int(round(lev * 100))
            row[f"ci{tag}_low"], row[f"ci{tag}_high"] = self.cis[lev]
        return pd.DataFrame([row], columns=TIDY_COLUMNS)

    def summary(self) -> str:
        lo, hi = self.cis[0.95]
        lines = [
            f"{METHOD_LABELS.get(self.method, self.method)} -- outcome '{self.outcome}'"
            + (f", wave {self.wave}" if self.wave is not None else ""),
            f"  {self.term}: {self.estimate:.4f} (s.e. {self.std_error:.4f}), "
            f"95% CI [{lo:.4f}, {hi:.4f}], p = {self.p_value:.4f}",
            f"  inference: {self.inference}"
            + (
                f" ({self.boot_draws} draws, {self.boot_weights} weights, seed {self.boot_seed})"
                if self.inference == "wild"
                else f" (CR1, t with {self.df} df)"
            ),
            f"  {self.n_obs} observations, {self.n_clients} units, {self.n_clusters} clusters",
        ]
        for key, val in self.details.items():
            if not isinstance(val, dict | list):
                lines.append(f"  {key}: {val}")
        return "\n".join(lines)


def _result(
    fit: LinearFit,
    *,
    outcome: str,
    method: str,
    term: str,
    wave: Any,
    n_clients: int,
    inference: str,
    draws: int,
    seed: int,
    details: dict | None = None,
    j: int = 0,
) -> EffectResult:
    """The effect of regressor ``j`` of ``fit`` with cluster-robust or wild-bootstrap inference."""
    t, p, cis = cluster_ci(fit, j)
    boot = dict(boot_draws=None, boot_weights=None, boot_seed=None)
    if inference == "wild":
        if draws < 1:
            raise EstimationError(f"--draws must be at least 1 (got {draws})")
        wr = wild_bootstrap(fit, j, draws=draws, seed=seed)
        p, cis = wr.p_value, wr.cis
        boot = dict(boot_draws=wr.draws, boot_weights=wr.weights, boot_seed=wr.seed)
    elif inference != "cluster":
        raise EstimationError(f"unknown inference '{inference}' (use 'cluster' or 'wild')")
    return EffectResult(
        outcome=outcome,
        method=method,
        term=term,
        inference=inference,
        wave=wave,
        estimate=float(fit.coef[j]),
        std_error=fit.se(j),
        t_stat=float(t),
        df=fit.df_t,
        p_value=float(p),
        cis=cis,
        n_obs=fit.n_obs,
        n_clients=n_clients,
        n_clusters=fit.n_clusters,
        details=details or {},
        fit=fit,
        **boot,
    )


# --------------------------------------------------------------------------- generic


def check_columns(df: pd.DataFrame, columns: list[str]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise EstimationError(
            f"unknown column(s): {', '.join(missing)}; available: {', '.join(map(str, df.columns))}"
        )


def _binary(series: pd.Series, name: str) -> np.ndarray:
    vals = pd.to_numeric(series, errors="coerce")
    if vals.isna().any() or not vals.isin([0, 1]).all():
        raise EstimationError(
            f"treatment column '{name}' must be 0/1 (found {sorted(series.dropna().unique()[:5])})"
        )
    return vals.to_numpy(float)


def fit_twfe(
    df: pd.DataFrame,
    *,
    y: str,
    treat: str,
    unit: str,
    time: str,
    cluster: str | None = None,
    controls: tuple[str, ...] | list[str] = (),
    weights: np.ndarray | None = None,
    inference: Inference = "cluster",
    draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
    method: str = "twfe",
    wave: int | None = None,
) -> EffectResult:
    """Two-way fixed-effects regression of ``y`` on ``treat`` (+ controls) on any panel.

    ``treat`` is the unit's 0/1 treatment status in that period.  Rows with a
    missing value in any used column are dropped, then units observed once
    (singletons) are dropped, as in reghdfe/pyfixest.  ``cluster`` defaults to the unit.
    """
    cluster = cluster or unit
    cols = list(dict.fromkeys([y, treat, unit, time, cluster, *controls]))
    check_columns(df, cols)
    data = df[cols].copy()
    if weights is not None:
        data["_w"] = np.asarray(weights, float)
    data[y] = pd.to_numeric(data[y], errors="coerce")
    for c in controls:
        data[c] = pd.to_numeric(data[c], errors="coerce")
    data = data.dropna()
    data = data[data.groupby(unit)[time].transform("size") > 1]
    if data.empty:
        raise EstimationError("no unit is observed in two periods with the outcome present")
    d = _binary(data[treat], treat)
    if d.min() == d.max():
        raise EstimationError(f"treatment '{treat}' does not vary in the estimation sample")
    fes = [encode(data[unit]), encode(data[time])]
    codes, n_units = fes[0]
    share = np.bincount(codes, weights=d, minlength=n_units) / np.bincount(codes, minlength=n_units)
    if not ((share > 0) & (share < 1)).any():
        raise EstimationError(
            f"treatment '{treat}' never changes within a unit, so the unit fixed effects absorb it; "
            "for twfe pass the unit's treatment status in each period (e.g. assignment x post-period)"
        )
    yv = data[y].to_numpy(float)
    if yv.min() == yv.max():
        raise EstimationError(f"outcome '{y}' has no variation in the estimation sample")
    x = np.column_stack([d, *[data[c].to_numpy(float) for c in controls]])
    fit = fit_linear(
        yv,
        x,
        [treat, *controls],
        data[cluster].to_numpy(),
        fes=fes,
        weights=data["_w"].to_numpy() if weights is not None else None,
    )
    return _result(
        fit,
        outcome=y,
        method=method,
        term=treat,
        wave=wave,
        n_clients=int(n_units),
        inference=inference,
        draws=draws,
        seed=seed,
    )


def fit_ancova_generic(
    df: pd.DataFrame,
    *,
    y: str,
    treat: str,
    unit: str,
    time: str,
    cluster: str | None = None,
    controls: tuple[str, ...] | list[str] = (),
    strata: str | None = None,
    inference: Inference = "cluster",
    draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
    method: str = "ancova",
) -> EffectResult:
    """ANCOVA on any panel: last period's outcome on treatment and the first period's outcome.

    The first period is the baseline; the last period is the follow-up.  A missing
    baseline value is set to 0 with a missing indicator.
    """
    cluster = cluster or unit
    cols = list(
        dict.fromkeys([y, treat, unit, time, cluster, *controls] + ([strata] if strata else []))
    )
    check_columns(df, cols)
    data = df[cols].copy()
    data[y] = pd.to_numeric(data[y], errors="coerce")
    periods = np.sort(data[time].dropna().unique())
    if len(periods) < 2:
        raise EstimationError("ANCOVA needs at least two periods (baseline and follow-up)")
    first, last = periods[0], periods[-1]
    base = data[data[time] == first].drop_duplicates(unit).set_index(unit)[y]
    post = data[data[time] == last].copy()
    post["_y0"] = post[unit].map(base)
    return _ancova_fit(
        post, y=y, treat=treat, unit=unit, cluster=cluster, controls=list(controls), strata=strata,
        inference=inference, draws=draws, seed=seed, method=method, wave=None,
    )  # fmt: skip


def _ancova_fit(
    post: pd.DataFrame,
    *,
    y: str,
    treat: str,
    unit: str,
    cluster: str,
    controls: list[str],
    strata: str | None,
    inference: str,
    draws: int,
    seed: int,
    method: str,
    wave: int | None,
    extra_x: list[tuple[str, np.ndarray]] | None = None,
    weights: str | None = None,
) -> EffectResult:
    post = post.dropna(
        subset=[y, treat, cluster, *controls] + ([strata] if strata else [])
        + ([weights] if weights else [])
    )  # fmt: skip
    if weights:
        post = post[post[weights] > 0]
    if post.empty:
        raise EstimationError("no follow-up observations with the outcome present")
    d = _binary(post[treat], treat)
    if np.unique(d).size < 2:
        raise EstimationError(f"treatment '{treat}' does not vary in the follow-up sample")
    miss = post["_y0"].isna().to_numpy(float)
    y0 = post["_y0"].fillna(0).to_numpy(float)
    cols = [("treat", d), ("baseline", y0)]
    if miss.any() and not miss.all():
        cols.append(("baseline_missing", miss))
    cols += [
        (c, pd.to_numeric(post[c], errors="coerce").fillna(0).to_numpy(float)) for c in controls
    ]
    fes = []
    if strata:
        fes.append(encode(post[strata]))
    else:
        cols.append(("const", np.ones(len(post))))
    names = [c[0] for c in cols]
    fit = fit_linear(
        post[y].to_numpy(float),
        np.column_stack([c[1] for c in cols]),
        names,
        post[cluster].to_numpy(),
        fes=fes,
        weights=post[weights].to_numpy(float) if weights else None,
    )
    return _result(
        fit,
        outcome=y,
        method=method,
        term=treat,
        wave=wave,
        n_clients=int(post[unit].nunique()),
        inference=inference,
        draws=draws,
        seed=seed,
    )


# --------------------------------------------------------------------------- study panel


def did_sample(panel: pd.DataFrame, outcome: str, wave: int) -> pd.DataFrame:
    """Baseline + follow-up rows of clients observed in both with the outcome present."""
    check_columns(panel, ["client_id", "wave", "arm", "village", outcome])
    d = panel.loc[panel["wave"].isin([0, wave]) & panel[outcome].notna()]
    d = d[d.groupby("client_id")["wave"].transform("size") == 2].copy()
    d["post"] = (d["wave"] == wave).astype(float)
    d["itt"] = d["arm"] * d["post"]
    return d


def fit_did(
    panel: pd.DataFrame,
    outcome: str,
    *,
    wave: int = 2,
    cluster: str = "village",
    inference: Inference = "cluster",
    draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
    weights: np.ndarray | None = None,
    method: str = "did",
    sample: pd.DataFrame | None = None,
) -> EffectResult:
    """Intention-to-treat DiD with client and wave fixed effects, clustered by village."""
    d = did_sample(panel, outcome, wave) if sample is None else sample
    if d.empty:
        raise EstimationError(f"no client has '{outcome}' at baseline and wave {wave}")
    return fit_twfe(
        d, y=outcome, treat="itt", unit="client_id", time="wave", cluster=cluster,
        weights=weights, inference=inference, draws=draws, seed=seed, method=method, wave=wave,
    )  # fmt: skip


def ancova_sample(panel: pd.DataFrame, outcome: str, wave: int) -> pd.DataFrame:
    check_columns(panel, ["client_id", "wave", "arm", "village", outcome])
    base = panel.loc[panel["wave"] == 0].set_index("client_id")[outcome]
    post = panel.loc[(panel["wave"] == wave) & panel[outcome].notna()].copy()
    post["_y0"] = post["client_id"].map(base)
    return post


def fit_ancova(
    panel: pd.DataFrame,
    outcome: str,
    *,
    wave: int = 2,
    strata: str | None = "branch",
    cluster: str = "village",
    inference: Inference = "cluster",
    draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
    weights: str | None = None,
) -> EffectResult:
    """ANCOVA on the follow-up wave with the baseline outcome and strata fixed effects;
    ``weights``: a sampling-weight column (WLS)."""
    if strata is not None:
        check_columns(panel, [strata])
    post = ancova_sample(panel, outcome, wave)
    return _ancova_fit(
        post, y=outcome, treat="arm", unit="client_id", cluster=cluster, controls=[], strata=strata,
        inference=inference, draws=draws, seed=seed, method="ancova", wave=wave, weights=weights,
    )  # fmt: skip


def propensity_scores(
    panel: pd.DataFrame, covariates: tuple[str, ...] = PROPENSITY_COVARIATES
) -> tuple[pd.Series, dict[str, Any]]:
    """Logit of assignment on baseline covariates; one score per client.

    Categorical covariates become dummies (a missing value is a level of its own);
    a missing numeric covariate is set to its mean with a missing indicator.  Loan
    amount enters in logs.
    """
    import statsmodels.api as sm

    base = panel.loc[panel["wave"] == 0].drop_duplicates("client_id").set_index("client_id")
    parts = []
    for c in covariates:
        if c not in base:
            continue
        col = base[c]
        if col.dtype == object or pd.api.types.is_string_dtype(col):
            # a missing category is its own level, not lumped with the reference level
            parts.append(
                pd.get_dummies(
                    col, prefix=c, drop_first=True, dtype=float, dummy_na=bool(col.isna().any())
                )
            )
            continue
        vals = col.astype(float)
        if c == "loan_amount":
            vals = np.log(vals.where(vals > 0))
        if vals.isna().any():
            parts.append(vals.isna().astype(float).rename(f"{c}_missing"))
        parts.append(vals.fillna(vals.mean()).rename(c))
    x = pd.concat(parts, axis=1)
    x = x.loc[:, x.std() > 0]
    x = sm.add_constant(x, has_constant="add")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = sm.Logit(base["arm"].astype(float), x).fit(disp=False, maxiter=200)
    score = pd.Series(model.predict(x), index=base.index, name="pscore")
    info = {
        "propensity_covariates": [c for c in x.columns if c != "const"],
        "propensity_pseudo_r2": float(model.prsquared),
        "propensity_coefficients": {k: float(v) for k, v in model.params.items()},
    }
    return score, info


def ipw_weights(
    panel: pd.DataFrame,
    trim: tuple[float, float] = (0.05, 0.95),
    covariates: tuple[str, ...] = PROPENSITY_COVARIATES,
) -> tuple[pd.Series, dict[str, Any]]:
    """ATT weights per client (1 for programme clients, p/(1-p) for comparison),
    with clients whose score falls outside ``trim`` dropped (weight NaN).  ``covariates``:
    the baseline covariates of the propensity model (the codebook's ``roles.covariates``)."""
    score, info = propensity_scores(panel, covariates)
    arm = panel.loc[panel["wave"] == 0].drop_duplicates("client_id").set_index("client_id")["arm"]
    arm = arm.reindex(score.index)
    keep = score.between(*trim)
    w = pd.Series(np.where(arm == 1, 1.0, score / (1 - score)), index=score.index).where(keep)
    comp = w[(arm == 0) & keep]
    info |= {
        "trim": list(trim),
        "n_trimmed": int((~keep).sum()),
        "pscore_range_programme": [float(score[arm == 1].min()), float(score[arm == 1].max())],
        "pscore_range_comparison": [float(score[arm == 0].min()), float(score[arm == 0].max())],
        "effective_n_comparison": float(comp.sum() ** 2 / (comp**2).sum()) if len(comp) else 0.0,
    }
    return w, info


def fit_ipw_did(
    panel: pd.DataFrame,
    outcome: str,
    *,
    wave: int = 2,
    trim: tuple[float, float] = (0.05, 0.95),
    cluster: str = "village",
    inference: Inference = "cluster",
    draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
    weights: pd.Series | None = None,
    weight_info: dict | None = None,
) -> EffectResult:
    """DiD weighted by inverse-probability (ATT) weights from baseline covariates.

    ``weights`` (per client_id) may be passed in to reuse one propensity model
    across outcomes; otherwise it is estimated on ``panel``.
    """
    if weights is None:
        weights, weight_info = ipw_weights(panel, trim)
    d = did_sample(panel, outcome, wave)
    d = d.assign(_w=d["client_id"].map(weights)).dropna(subset=["_w"])
    d = d[d.groupby("client_id")["wave"].transform("size") == 2]
    res = fit_did(
        panel, outcome, wave=wave, cluster=cluster, inference=inference, draws=draws, seed=seed,
        weights=d["_w"].to_numpy(), method="ipw_did", sample=d,
    )  # fmt: skip
    return _with_details(res, weight_info or {})


def _with_details(res: EffectResult, details: dict) -> EffectResult:
    from dataclasses import replace

    return replace(res, details={**res.details, **details})


def fit_late(
    panel: pd.DataFrame,
    outcome: str,
    *,
    wave: int = 2,
    cluster: str = "village",
    inference: Inference = "cluster",
    draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
    method: str = "late",
    weights: str | None = None,
) -> EffectResult:
    """Effect of receiving FE topics on compliers (LATE; Imbens & Angrist 1994).

    ``weights`` names a sampling-weight column (constant within a unit): both stages are
    then weighted (weighted 2SLS, as Stata's ``ivreghdfe ... [pw=w]``); rows with a missing
    or zero weight are left out.

    Receipt is instrumented by assignment x follow-up (2SLS, client and wave fixed
    effects).  Comparison clients can receive FE too (two-sided non-compliance), so
    the estimate is the effect on clients whose receipt the programme changed, not
    the effect on the treated.  The first stage is in ``details``; ``method`` is the
    key written to the result (``"tot"`` through the :func:`fit_tot` alias).
    """
    if inference != "cluster":
        raise EstimationError(
            "the effect on compliers (LATE) is reported with cluster-robust inference only"
        )
    d = did_sample(panel, outcome, wave)
    check_columns(d, ["exposure"])
    d = d.dropna(subset=["exposure"])
    if weights is not None:
        check_columns(d, [weights])
        d = d[d[weights].notna() & (d[weights] > 0)]
    d = d[d.groupby("client_id")["wave"].transform("size") == 2]
    w = None if weights is None else d[weights].to_numpy(float)
    fes = [encode(d["client_id"]), encode(d["wave"])]
    clusters = d[cluster].to_numpy()
    first = fit_linear(
        d["exposure"].to_numpy(float),
        d[["itt"]].to_numpy(float),
        ["itt"],
        clusters,
        fes=fes,
        weights=w,
    )
    if abs(first.coef[0]) < 1e-12:
        raise EstimationError("assignment does not move FE receipt: the first stage is zero")
    fit = fit_linear(
        d[outcome].to_numpy(float),
        d[["exposure"]].to_numpy(float),
        ["exposure"],
        clusters,
        fes=fes,
        weights=w,
        instruments=d[["itt"]].to_numpy(float),
    )
    ft, fp, _ = cluster_ci(first, 0)
    details = {
        "first_stage_estimate": float(first.coef[0]),
        "first_stage_std_error": first.se(0),
        "first_stage_F": float(ft**2),
        "first_stage_p": fp,
    }
    return _result(
        fit, outcome=outcome, method=method, term="exposure", wave=wave,
        n_clients=int(d["client_id"].nunique()), inference="cluster", draws=draws, seed=seed,
        details=details,
    )  # fmt: skip


def fit_tot(panel: pd.DataFrame, outcome: str, **kwargs) -> EffectResult:
    """Alias of :func:`fit_late` under the former results key ``"tot"`` (the estimate is a
    LATE, the effect on compliers, not the effect on the treated)."""
    kwargs.setdefault("method", "tot")
    return fit_late(panel, outcome, **kwargs)


def fit(
    panel: pd.DataFrame,
    outcome: str,
    method: Method,
    *,
    wave: int = 2,
    inference: Inference = "cluster",
    **kwargs,
) -> EffectResult:
    """Dispatch to the estimator named ``method``."""
    funcs = {
        "did": fit_did, "ancova": fit_ancova, "ipw_did": fit_ipw_did, "late": fit_late,
        "tot": fit_tot,
    }  # fmt: skip
    if method not in funcs:
        raise ValueError(f"unknown method '{method}' (use one of {', '.join(funcs)})")
    return funcs[method](panel, outcome, wave=wave, inference=inference, **kwargs)


@dataclass(frozen=True)
class InteractionResult:
    """The pooled, fully interacted model behind a heterogeneity test.

    ``estimates``/``vcov`` are the subgroup effects (one per level, in ``levels``
    order) and their joint cluster-robust covariance; ``f_stat``/``p_value`` test
    that all subgroup effects are equal (F with ``df_num`` and ``df_denom`` = G-1).
    """

    levels: tuple
    estimates: np.ndarray
    vcov: np.ndarray
    f_stat: float
    df_num: int
    df_denom: int
    p_value: float
    n_obs: int
    n_clusters: int


def _subgroup_sample(d: pd.DataFrame, by: str, unit: str = "client_id") -> pd.DataFrame:
    """Rows whose ``by`` value is known and the same in every row of the unit (a unit
    whose subgroup changes between waves belongs to no subgroup sample)."""
    d = d[d[by].notna()]
    return d[d.groupby(unit)[by].transform("nunique") == 1]


def interaction_fit(
    panel: pd.DataFrame,
    outcome: str,
    method: Method,
    by: str,
    *,
    wave: int = 2,
    weights: pd.Series | None = None,
    strata: str | Sequence[str] | None = "branch",
    sampling: str | None = None,
) -> InteractionResult | None:
    """Fit the fully interacted model and test that the effect is equal across ``by``.

    DiD and IPW-DiD: the outcome on ``itt x level`` for every level, with client
    fixed effects and level x wave fixed effects, so each subgroup's effect is
    measured against its own comparison trend; a shock common to both arms of one
    subgroup changes nothing, and each subgroup effect equals the DiD fitted on that
    subgroup alone.  ANCOVA: the follow-up outcome on ``arm x level`` with the
    baseline outcome and strata and level fixed effects.  Post-only: the same without
    the baseline outcome (the follow-up wave alone).  The test is a cluster-robust Wald
    F test with denominator df G-1 (the same convention as the estimates' t(G-1)).
    ``sampling`` names a sampling-weight column (WLS; multiplies the IPW weights).
    ``None`` when fewer than two levels have data; not defined for the IV estimator.
    """
    if method in IV_METHODS:
        return None
    check_columns(panel, [by] + ([sampling] if sampling else []))
    strata = [strata] if isinstance(strata, str) else list(strata or [])
    if method in ("did", "ipw_did"):
        d = _subgroup_sample(did_sample(panel, outcome, wave), by)
        d = d.assign(_w=1.0)
        if method == "ipw_did":
            if weights is None:
                weights, _ = ipw_weights(panel)
            d = d.assign(_w=d["client_id"].map(weights))
        if sampling:
            d = d.assign(_w=d["_w"] * d[sampling].where(d[sampling] > 0))
        d = d.dropna(subset=["_w"])
        d = d[d.groupby("client_id")["wave"].transform("size") == 2]
        w = d["_w"].to_numpy() if method == "ipw_did" or sampling else None
        levels = sorted(d[by].unique())
        if len(levels) < 2:
            return None
        x = [(d["itt"] * (d[by] == lv)).to_numpy(float) for lv in levels]
        # level x wave fixed effects contain the wave effects: subgroup-specific trends
        level_wave = d[by].astype(str) + "\x1f" + d["wave"].astype(str)
        fes = [encode(d["client_id"]), encode(level_wave)]
        extra: list[str] = []
    elif method in ("ancova", "post"):
        if method == "ancova":
            d = ancova_sample(panel, outcome, wave)
        else:
            d = panel.loc[(panel["wave"] == wave) & panel[outcome].notna()].copy()
        d = d[d[by].notna()]
        if sampling:
            d = d[d[sampling].notna() & (d[sampling] > 0)]
        w = d[sampling].to_numpy(float) if sampling else None
        levels = sorted(d[by].unique())
        if len(levels) < 2:
            return None
        x = [(d["arm"] * (d[by] == lv)).to_numpy(float) for lv in levels]
        extra = []
        if method == "ancova":
            miss = d["_y0"].isna().to_numpy(float)
            x.append(d["_y0"].fillna(0).to_numpy(float))
            extra.append("y0")
            if miss.any() and not miss.all():
                x.append(miss)
                extra.append("y0")
        # strata and level effects; where one is nested in the other (branches in a
        # province) the degrees of freedom count the levels once (core.dof_k)
        fes = [encode(d[s]) for s in strata] + [encode(d[by])]
    else:
        raise ValueError(f"unknown method '{method}' (use did, ancova, ipw_did, post or late)")
    f = fit_linear(
        d[outcome].to_numpy(float),
        np.column_stack(x),
        [str(v) for v in levels] + extra,
        d["village"].to_numpy(),
        fes=fes,
        weights=w,
    )
    k = len(levels)
    r = np.zeros((k - 1, f.coef.size))
    for i in range(k - 1):
        r[i, i], r[i, i + 1] = 1.0, -1.0
    stat, p = wald_test(f.coef, f.vcov, r, f.df_t)
    return InteractionResult(
        levels=tuple(levels),
        estimates=f.coef[:k].copy(),
        vcov=f.vcov[:k, :k].copy(),
        f_stat=stat,
        df_num=k - 1,
        df_denom=f.df_t,
        p_value=p,
        n_obs=f.n_obs,
        n_clusters=f.n_clusters,
    )


def interaction_test(
    panel: pd.DataFrame,
    outcome: str,
    method: Method,
    by: str,
    *,
    wave: int = 2,
    weights: pd.Series | None = None,
    strata: str | Sequence[str] | None = "branch",
    sampling: str | None = None,
) -> float:
    """p-value of the test that the effect is equal across the levels of ``by``.

    See :func:`interaction_fit` for the model (a full interaction: subgroup-specific
    wave effects).  NaN for the IV estimator or fewer than two levels.

    Example
    -------
    >>> from analysis.demo import simulate_truth
    >>> panel = simulate_truth(1)[0].rename(columns={"client_no": "client_id", "village_code": "village"})
    >>> p = interaction_test(panel, "repay_difficulty", "did", "branch")
    >>> bool(0 <= p <= 1)
    True
    """
    res = interaction_fit(
        panel, outcome, method, by, wave=wave, weights=weights, strata=strata, sampling=sampling
    )
    return float("nan") if res is None else res.p_value


__all__ = [
    "EffectResult",
    "EstimationError",
    "InteractionResult",
    "fit",
    "fit_did",
    "fit_ancova",
    "fit_ipw_did",
    "fit_late",
    "fit_tot",
    "fit_twfe",
    "fit_ancova_generic",
    "interaction_fit",
    "interaction_test",
    "ipw_weights",
    "propensity_scores",
]
