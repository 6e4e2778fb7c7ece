"""The results table: every number the dashboard shows, estimated once and cached.

One row per outcome x estimator x inference x sample x follow-up wave.  Columns
(fixed; the app relies on them):

=====================  ==================================================================
outcome, label, short  harmonised outcome name and its codebook labels (indices: ``index_<family>``)
phrase                 binary outcomes: what a client does, for plain-language sentences
family, family_label   outcome family; ``is_index`` marks the family indices
unit, better, type     codebook metadata (``better`` is ``higher`` or ``lower``)
method                 ``did`` | ``ancova`` | ``ipw_did`` | ``late`` (IV: the effect on compliers,
                       a LATE, Imbens & Angrist 1994 -- not a TOT, the comparison villages have take-up too)
                       for outcomes with a baseline; ``post`` (the follow-up wave alone, strata fixed
                       effects) for outcomes without one -- a post-programme round is never a baseline
inference              ``cluster`` (CR1, t(G-1)) | ``wild`` (wild cluster restricted bootstrap)
sample_type, sample    ``all``/``All <units>``, then one type per breakdown the codebook's roles declare
                       (its ``dimension`` name, e.g. ``province``, ``branch``, ``sex``) with its levels
wave, wave_label       follow-up wave (1 midline, 2 endline)
estimate, std_error    effect in natural units; ``std_error`` is cluster-robust for both inferences
t_stat, df, p_value    p from t(G-1), or from the bootstrap for ``wild``
ci90/95/99_low/high    intervals (bootstrap test inversion for ``wild``)
q_value                sharpened FDR q (Anderson 2008) across the 13 outcomes (indices: across indices),
                       within the row's sample
q_value_family         the same within the outcome's family
n_obs, n_clients, n_clusters, n_programme, n_comparison
comparison_mean        comparison group's mean at the follow-up wave (in the sample)
comparison_sd          comparison group's SD at baseline (in the sample)
effect_std, effect_pct estimate / comparison_sd, and 100 * estimate / comparison_mean; intervals
                       on these scales are the natural ones times the same factor.  Family indices
                       are already in comparison-group baseline SDs (full sample; KLK 2007), so for an
                       index row ``comparison_sd`` is 1 and ``effect_std`` equals ``estimate``
mde                    minimum detectable effect, 80% power, 5% two-sided: (t.975 + t.80) x std_error
improvement            estimate signed so that positive means better
verdict                ``improved`` / ``worsened`` / ``no detectable effect`` / ``suppressed`` /
                       ``not estimable``.  All-clients rows: q <= 0.05 and p <= 0.05; subgroup rows:
                       the row's own p <= 0.05 (a q within one subgroup does not decide), so a
                       subgroup verdict agrees with its 95% interval
verdict_basis          what decided the verdict: ``p and q`` (all clients) or ``p`` (subgroups)
heterogeneity_p        subgroup rows: p of the test that the effect is equal across the dimension
eb_estimate, eb_std_error, eb_ci95_low, eb_ci95_high
                       branch rows: partially pooled (empirical Bayes) estimate, Morris (1983)
                       standard error, interval with t(G-1) like the branch's own interval
suppressed, note       cell with fewer than ``min_cell`` clients in either arm: no numbers
boot_draws, boot_weights, boot_seed   wild bootstrap settings
arm, contrast          the programme arm of the row (its value as text, the pages' ``arm`` URL
                       parameter) and ``<arm> vs <comparison>``
=====================  ==================================================================

Studies with three or more arms: every programme arm is compared with the comparison arm,
one contrast at a time, on the units of those two arms (pairwise).  Every estimator is then
the two-arm one -- post-only, DiD, ANCOVA; the IPW-DiD propensity model is P(this arm | x)
among the two arms' units, and the LATE instruments take-up by this arm's assignment, which
is what a complier means in a pairwise comparison.  Family indices are standardised by the
comparison arm, which is the same for every contrast.  Against one regression with all arm
indicators (what ``python -m analysis estimate`` runs for a three-valued ``--treat``) the point
estimates agree without strata or controls and differ slightly with them, because strata fixed
effects and the ANCOVA baseline slope are estimated from the two arms only.  Multiple-testing
families (``q_value``, ``q_value_family``), heterogeneity tests and partial pooling are
computed within a contrast: each contrast is its own set of hypotheses.  A two-arm study has a
single contrast and its table is what it was before arms were added (same rows and numbers).

The table is stamped (``results.manifest.json``) with the panel's content hash, the
analysis code fingerprint and the settings; ``build_results`` is skipped when they
match.  Diagnostics (balance, attrition, sample flow, design MDE, propensity model)
are written beside it as ``diagnostics.json``.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from analysis.codebook import Codebook, load_codebook
from analysis.core import EstimationError, wild_bootstrap
from analysis.diagnostics import (
    attrition_table,
    balance_table,
    design_mde,
    means_by_arm,
    sample_flow,
)
from analysis.estimators import (
    DEFAULT_DRAWS,
    DEFAULT_SEED,
    EffectResult,
    did_sample,
    fit_ancova,
    fit_did,
    fit_ipw_did,
    fit_late,
    interaction_test,
    ipw_weights,
)
from analysis.io import atomic_write
from analysis.multiple import (
    add_family_indices,
    index_name,
    sharpened_qvalues,
    weighted_mean_sd,
)
from analysis.panel import read_panel
from analysis.post import fit_post
from analysis.version import code_fingerprint

DEFAULT_MIN_CELL = 10
INFERENCES = ("cluster", "wild")
# ``late``: receipt instrumented by assignment.  Comparison villages have take-up too
# (two-sided non-compliance), so the IV estimand is the local average treatment effect
# on compliers (Imbens & Angrist 1994), not the effect of treatment on the treated.
METHODS: tuple[str, ...] = ("did", "ancova", "ipw_did", "late")
IV_METHOD = "late"
POST_METHOD = "post"
# Internal column names of the analysis frame.  The estimators work on these, whatever the
# study calls the variables: the codebook's roles say which variable plays which part, and
# ``analysis_frame`` renames them.
INTERNAL = {"unit": "client_id", "cluster": "village", "arm": "arm", "exposure": "exposure"}


def min_cell_default() -> int:
    """The minimum cell size: ``AMK_MIN_CELL`` or 10.  Enforced here, once, for every view."""
    try:
        return max(1, int(os.environ.get("AMK_MIN_CELL", DEFAULT_MIN_CELL)))
    except ValueError:
        return DEFAULT_MIN_CELL


def results_manifest_path(results_path: str | Path) -> Path:
    p = Path(results_path)
    return p.with_name(p.stem + ".manifest.json")


def diagnostics_path(results_path: str | Path) -> Path:
    return Path(results_path).with_name("diagnostics.json")


def outcome_catalogue(codebook: Codebook) -> pd.DataFrame:
    """Outcome metadata, the family indices included."""
    rows = codebook.outcome_frame().assign(is_index=False)
    idx = [
        {
            "outcome": index_name(f),
            "label": f"{codebook.family_label(f)} index (standardised, higher = better)",
            "short": f"{codebook.family_label(f)} index",
            "phrase": None,
            "family": f,
            "family_label": codebook.family_label(f),
            "type": "index",
            # standardised at baseline where the family was asked there, else at each
            # follow-up wave (multiple.add_family_indices)
            "unit": "comparison-group baseline SDs"
            if any(codebook.has_baseline(n) for n, v in codebook.outcomes.items() if v.family == f)
            else "comparison-group SDs at that wave",
            "better": "higher",
            "is_index": True,
        }
        for f in codebook.families
    ]
    return pd.concat([rows, pd.DataFrame(idx)], ignore_index=True)


def arm_values(panel: pd.DataFrame, codebook: Codebook) -> list:
    """The programme arms (every arm value other than the comparison), in the codebook's order
    (its code list) or sorted; the first is the one the pages open on."""
    roles = codebook.roles
    present = list(pd.unique(panel[roles.arm].dropna()))
    if roles.comparison not in present:
        raise EstimationError(
            f"no unit is in the comparison arm ({roles.arm} = {roles.comparison!r}); arms found: "
            + ", ".join(map(str, sorted(present, key=str)))
        )
    coded = codebook.variables[roles.arm].values
    order = list(dict.fromkeys(coded.values())) if coded else []
    ranked = [v for v in order if v in present] + sorted(
        (v for v in present if v not in order), key=str
    )
    return [v for v in ranked if v != roles.comparison]


def arm_text(value) -> str:
    """An arm value as the results table's ``arm`` column and the ``arm`` URL parameter carry it
    (``1.0`` as Stata stores codes prints ``1``)."""
    from analysis.post import arm_label

    return arm_label(value)


def analysis_frame(panel: pd.DataFrame, codebook: Codebook, arm=None) -> pd.DataFrame:
    """The panel with the design roles under the estimators' internal names (``INTERNAL``)
    and the arm coded 1 (programme) / 0 (comparison).

    A study with three or more arms is compared one programme arm at a time: ``arm`` names
    the programme arm (default: the first, see :func:`arm_values`) and the frame holds the
    units of that arm and of the comparison arm only (a pairwise contrast)."""
    roles = codebook.roles
    rename = {}
    for role, internal in INTERNAL.items():
        name = getattr(roles, role)
        if name is None or name == internal:
            continue
        if internal in panel.columns:
            raise EstimationError(
                f"the study's variable '{internal}' has the name the analysis uses for the "
                f"{role} ('{name}'); rename it in the codebook"
            )
        rename[name] = internal
    programme = arm_values(panel, codebook)
    if not programme:
        raise EstimationError(
            f"every unit is in the comparison arm ({roles.arm} = {roles.comparison!r}); "
            "there is no programme arm to compare with it"
        )
    data = panel.rename(columns=rename)
    if len(programme) > 1:
        chosen = programme[0] if arm is None else arm
        if chosen not in programme:
            raise EstimationError(
                f"arm {chosen!r} is not a programme arm of '{roles.arm}' (arms: "
                + ", ".join(map(arm_text, programme))
                + ")"
            )
        data = data[data["arm"].isin([chosen, roles.comparison])].copy()
    if set(data["arm"].dropna().unique()) != {0, 1} or roles.comparison != 0:
        data["arm"] = (data["arm"] != roles.comparison).astype("int64")
    return data


def dimensions(codebook: Codebook) -> dict[str, str]:
    """Breakdown dimension (the results' ``sample_type``) -> the variable that defines it."""
    return {(codebook.variables[n].dimension or n): n for n in codebook.roles.breakdowns}


def samples(
    panel: pd.DataFrame, codebook: Codebook | None = None, all_label: str = "All clients"
) -> list[tuple[str, str, pd.Series]]:
    """(sample_type, sample, row mask) for the full sample and every breakdown level."""
    cb = codebook or load_codebook()
    out = [("all", all_label, pd.Series(True, index=panel.index))]
    for dim, name in dimensions(cb).items():
        var = cb.variables[name]
        if var.levels:
            for value, label in var.levels.items():
                out.append((dim, str(label), panel[name] == value))
        else:
            for level in sorted(panel[name].dropna().unique(), key=str):
                out.append((dim, str(level), panel[name] == level))
    return out


def _units(codebook: Codebook) -> str:
    """'clients', 'households': the study's noun for its units (its study.yaml beside the
    codebook), else 'clients'."""
    from analysis.study import StudyError, load_study

    try:
        return load_study(folder=codebook.path.parent).nouns.unit.many
    except StudyError:
        return "clients"


def _all_label(codebook: Codebook) -> str:
    """'All clients', 'All households': the study's noun for its units."""
    return f"All {_units(codebook)}"


def _has_baseline(codebook: Codebook, outcome: str, catalogue: pd.DataFrame) -> bool:
    """Whether an outcome (or, for an index, any of its family's components) was measured at
    the baseline wave."""
    if outcome in codebook.outcomes:
        return codebook.has_baseline(outcome)
    family = catalogue.loc[outcome, "family"]
    return any(codebook.has_baseline(n) for n, v in codebook.outcomes.items() if v.family == family)


def _outcome_waves(codebook: Codebook, outcome: str, catalogue: pd.DataFrame) -> set[int]:
    if outcome in codebook.outcomes:
        return set(codebook.outcome_waves(outcome))
    family = catalogue.loc[outcome, "family"]
    return {w for n, v in codebook.outcomes.items() if v.family == family for w in v.raw}


def _fit_one(
    method: str, data: pd.DataFrame, outcome: str, wave: int, weights, winfo, strata=None,
    sampling: str | None = None,
) -> EffectResult:  # fmt: skip
    """One estimate; ``sampling`` names the study's sampling-weight column (constant within a
    unit), which then weights DiD and ANCOVA (WLS) and multiplies the IPW-DiD weights."""
    if method == "did":
        if sampling is None:
            return fit_did(data, outcome, wave=wave)
        d = did_sample(data, outcome, wave)
        d = d[d[sampling].notna() & (d[sampling] > 0)]
        d = d[d.groupby("client_id")["wave"].transform("size") == 2]
        return fit_did(data, outcome, wave=wave, sample=d, weights=d[sampling].to_numpy(float))
    if method == "ancova":
        return fit_ancova(data, outcome, wave=wave, strata=strata, weights=sampling)
    if method == "ipw_did":
        if sampling is not None:
            per_unit = data.drop_duplicates("client_id").set_index("client_id")[sampling]
            weights = weights * per_unit.reindex(weights.index)
        return fit_ipw_did(data, outcome, wave=wave, weights=weights, weight_info=winfo)
    if method == IV_METHOD:
        return fit_late(data, outcome, wave=wave, weights=sampling)
    raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")


def _row_from(res: EffectResult, wild: bool, draws: int, seed: int) -> dict[str, Any]:
    row = res.tidy().iloc[0].to_dict()
    if wild:
        wr = wild_bootstrap(res.fit, 0, draws=draws, seed=seed)
        row.update(
            inference="wild",
            p_value=wr.p_value,
            boot_draws=wr.draws,
            boot_weights=wr.weights,
            boot_seed=wr.seed,
        )
        for lev, (lo, hi) in wr.cis.items():
            tag = int(round(lev * 100))
            row[f"ci{tag}_low"], row[f"ci{tag}_high"] = lo, hi
    return row


def empirical_bayes(est: np.ndarray, se: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Partial pooling of k subgroup estimates: parametric empirical Bayes (Morris 1983).

    tau^2 is the DerSimonian-Laird (1986) moment estimate, mu the random-effects mean
    with weights 1 / (V_i + tau^2), B_i = V_i / (V_i + tau^2) the shrinkage factor.
    The pooled estimate is mu + (1 - B_i)(y_i - mu); its standard error is Morris's
    (1983, eq. 4.3 with unequal variances) approximation with both terms,

        s_i^2 = V_i (1 - (k - 1)/k * B_i) + 2/(k - 3) * B_i^2 * (y_i - mu)^2,

    the first for estimating mu, the second for estimating tau^2.  The second term
    needs k > 3: with fewer than 4 usable estimates nothing is pooled (all NaN).

    Returns pooled estimates, their standard errors, tau^2 and mu.

    Example
    -------
    >>> e, s, tau2, mu = empirical_bayes([0.0, 1.0, 2.0, 3.0], [1.0, 1.0, 1.0, 1.0])
    >>> round(tau2, 4), round(mu, 4), [round(float(x), 4) for x in e]
    (0.6667, 1.5, [0.9, 1.3, 1.7, 2.1])
    """
    est, se = np.asarray(est, float), np.asarray(se, float)
    ok = np.isfinite(est) & np.isfinite(se) & (se > 0)
    out_e, out_s = np.full(est.shape, np.nan), np.full(est.shape, np.nan)
    k = int(ok.sum())
    if k < 4:
        return out_e, out_s, float("nan"), float("nan")
    b, v = est[ok], se[ok] ** 2
    w = 1 / v
    mu_fe = (w * b).sum() / w.sum()
    q = (w * (b - mu_fe) ** 2).sum()
    tau2 = max(0.0, (q - (k - 1)) / (w.sum() - (w**2).sum() / w.sum()))
    wr = 1 / (v + tau2)
    mu = (wr * b).sum() / wr.sum()
    shrink = v / (v + tau2)  # B_i: weight on the common mean
    out_e[ok] = mu + (1 - shrink) * (b - mu)
    var = v * (1 - (k - 1) / k * shrink) + 2 / (k - 3) * shrink**2 * (b - mu) ** 2
    out_s[ok] = np.sqrt(var)
    return out_e, out_s, float(tau2), float(mu)


def build_results(
    panel: pd.DataFrame,
    codebook: Codebook | None = None,
    *,
    methods: tuple[str, ...] = METHODS,
    waves: tuple[int, ...] | None = None,
    min_cell: int | None = None,
    draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
    sample_types: tuple[str, ...] | None = None,
    progress=None,
) -> pd.DataFrame:
    """Estimate every outcome x method x inference x sample x wave; return the tidy table.

    Outcomes measured at the baseline get the DiD, ANCOVA, IPW-DiD and LATE estimators
    (LATE only where the study records take-up); outcomes without a baseline get the
    post-only comparison at each follow-up wave in which they were asked.  A cell that
    cannot be estimated gets a row with the reason and no numbers.
    """
    cb = codebook or load_codebook()
    min_cell = min_cell_default() if min_cell is None else min_cell
    programme = arm_values(panel, cb)
    tables = []
    for value in programme:
        if progress and len(programme) > 1:
            progress(f"arm {arm_text(value)} vs {arm_text(cb.roles.comparison)}")
        table = _build_contrast(
            analysis_frame(panel, cb, arm=value), cb, methods=methods, waves=waves,
            min_cell=min_cell, draws=draws, seed=seed, sample_types=sample_types,
            progress=progress,
        )  # fmt: skip
        table["arm"] = arm_text(value)
        table["contrast"] = f"{arm_text(value)} vs {arm_text(cb.roles.comparison)}"
        tables.append(table)
    return pd.concat(tables, ignore_index=True)


def _build_contrast(
    frame: pd.DataFrame, cb: Codebook, *, methods, waves, min_cell, draws, seed, sample_types,
    progress,
) -> pd.DataFrame:  # fmt: skip
    """The results of one contrast: ``frame`` is the analysis frame (arm coded 1/0)."""
    sampling = cb.roles.weights
    units = _units(cb)
    data = add_family_indices(frame, cb, weights=sampling)
    strata = list(cb.roles.strata)
    base_wave = cb.baseline_wave
    if cb.roles.exposure is None:
        methods = tuple(m for m in methods if m != IV_METHOD)
    # integer codes for the identifiers: same groupings, far cheaper than string columns
    for col in ("client_id", "village"):
        data[col] = pd.factorize(data[col])[0]
    catalogue = outcome_catalogue(cb).set_index("outcome")
    outcomes = list(catalogue.index)
    waves = waves or tuple(sorted(int(w) for w in frame["wave"].unique() if w != base_wave))
    with_base = {o: _has_baseline(cb, o, catalogue) for o in outcomes}
    asked = {o: _outcome_waves(cb, o, catalogue) for o in outcomes}
    weights, winfo, ipw_problem = None, {}, "no outcome has a baseline"
    if "ipw_did" in methods and any(with_base.values()):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                weights, winfo = ipw_weights(data, covariates=tuple(cb.roles.covariates))
        except (EstimationError, KeyError, ValueError, np.linalg.LinAlgError) as exc:
            ipw_problem = f"propensity model: {exc}"
    winfo_scalar = {k: v for k, v in winfo.items() if not isinstance(v, dict)}
    rows: list[dict[str, Any]] = []
    for stype, sval, mask in samples(data, cb, _all_label(cb)):
        if sample_types is not None and stype not in sample_types:
            continue
        sub = data[mask]
        if progress:
            progress(f"{stype}: {sval}")
        base_c = sub[(sub["wave"] == base_wave) & (sub["arm"] == 0)]
        for wave in waves:
            post = sub[sub["wave"] == wave]
            for outcome in outcomes:
                if wave not in asked[outcome]:
                    continue
                if outcome not in data.columns:  # a family index that could not be formed
                    rows.extend(
                        {"outcome": outcome, "sample_type": stype, "sample": sval, "wave": wave,
                         "method": m, "inference": inf, "suppressed": False,
                         "note": "not estimable: the family index has no variance in the "
                                 "comparison group (no component varies)"}
                        for m in (methods if with_base[outcome] else (POST_METHOD,))
                        for inf in (("cluster",) if m == IV_METHOD else INFERENCES)
                    )  # fmt: skip
                    continue
                observed = post.dropna(subset=[outcome])
                n_prog = int(observed.loc[observed["arm"] == 1, "client_id"].nunique())
                n_comp = int(observed.loc[observed["arm"] == 0, "client_id"].nunique())
                common = {
                    "outcome": outcome,
                    "sample_type": stype,
                    "sample": sval,
                    "wave": wave,
                    "n_programme": n_prog,
                    "n_comparison": n_comp,
                    "comparison_mean": _stat(observed[observed["arm"] == 0], outcome, sampling)[0],
                    # the comparison group's SD at baseline; without a baseline, at this wave
                    "comparison_sd": _stat(
                        base_c if with_base[outcome] else observed[observed["arm"] == 0],
                        outcome, sampling,
                    )[1],
                }  # fmt: skip
                suppressed = min(n_prog, n_comp) < min_cell
                for method in methods if with_base[outcome] else (POST_METHOD,):
                    infs = ("cluster",) if method == IV_METHOD else INFERENCES
                    if suppressed:
                        for inf in infs:
                            rows.append(
                                common
                                | {
                                    "method": method,
                                    "inference": inf,
                                    "suppressed": True,
                                    "note": f"too few {units} (fewer than {min_cell} in an arm)",
                                    "comparison_mean": np.nan,
                                    "comparison_sd": np.nan,
                                }
                            )
                        continue
                    if method == POST_METHOD:
                        rows.extend(
                            _post_rows(sub, outcome, wave, strata, cb.roles.weights, common,
                                       draws=draws, seed=seed)
                        )  # fmt: skip
                        continue
                    if method == "ipw_did" and weights is None:
                        rows.extend(
                            common | {"method": method, "inference": inf, "suppressed": False,
                                      "note": f"not estimable: {ipw_problem}"}
                            for inf in infs
                        )  # fmt: skip
                        continue
                    try:
                        res = _fit_one(
                            method, sub, outcome, wave, weights, winfo_scalar,
                            strata=strata[0] if strata else None, sampling=cb.roles.weights,
                        )  # fmt: skip
                    except (EstimationError, np.linalg.LinAlgError) as exc:
                        for inf in infs:
                            rows.append(
                                common
                                | {
                                    "method": method,
                                    "inference": inf,
                                    "suppressed": False,
                                    "note": f"not estimable: {exc}",
                                }
                            )
                        continue
                    for inf in infs:
                        row = _row_from(res, inf == "wild", draws, seed)
                        row.update(common, method=method, suppressed=False, note="")
                        rows.append(row)
    table = pd.DataFrame(rows)
    table = _finish(table, catalogue, cb, data, weights, min_cell)
    return table


def _stat(rows: pd.DataFrame, outcome: str, sampling: str | None) -> tuple[float, float]:
    """Mean and SD of an outcome in some rows, weighted by the sampling weights if declared."""
    if sampling is None:
        return float(rows[outcome].mean()), float(rows[outcome].std())
    return weighted_mean_sd(rows[outcome], rows[sampling])


def _post_rows(
    sub: pd.DataFrame, outcome: str, wave: int, strata: list[str], weights: str | None,
    common: dict[str, Any], *, draws: int, seed: int,
) -> list[dict[str, Any]]:  # fmt: skip
    """Post-only rows (cluster-robust and wild bootstrap) of one outcome at one wave, or a
    row with the reason when the cell cannot be estimated."""
    rows = []
    # strata that do not vary in this sample (e.g. a province's own breakdown) drop out
    strata = [c for c in strata if sub.loc[sub["wave"] == wave, c].nunique() > 1]
    for inf in INFERENCES:
        try:
            res = fit_post(
                sub, y=outcome, treat="arm", cluster="village", unit="client_id", time="wave",
                wave=wave, strata=strata, weights=weights, control_arm=0, inference=inf,
                draws=draws, seed=seed,
            )[0]  # fmt: skip
        except (EstimationError, np.linalg.LinAlgError) as exc:
            rows.append(
                common
                | {"method": POST_METHOD, "inference": inf, "suppressed": False,
                   "note": f"not estimable: {exc}"}
            )  # fmt: skip
            continue
        row = res.tidy().iloc[0].to_dict()
        row.pop("term", None)
        row.update(common, method=POST_METHOD, suppressed=False, note="")
        rows.append(row)
    return rows


def _finish(
    table: pd.DataFrame,
    catalogue: pd.DataFrame,
    cb: Codebook,
    data: pd.DataFrame,
    weights: pd.Series | None,
    min_cell,
) -> pd.DataFrame:
    meta_cols = [
        "label",
        "short",
        "phrase",
        "family",
        "family_label",
        "type",
        "unit",
        "better",
        "is_index",
    ]
    table = table.join(catalogue[meta_cols], on="outcome")
    table["wave_label"] = table["wave"].map(cb.wave_label)
    table["suppressed"] = table["suppressed"].astype(bool)
    for col in [
        "estimate",
        "std_error",
        "t_stat",
        "p_value",
        "df",
        "n_obs",
        "n_clients",
        "n_clusters",
    ]:
        if col not in table:
            table[col] = np.nan
    sign = np.where(table["better"] == "lower", -1.0, 1.0)
    table["improvement"] = sign * table["estimate"]
    # a family index is standardised in the full sample's comparison group at baseline
    # (multiple.add_family_indices, KLK 2007): its unit is already an SD, never divide again
    table.loc[table["is_index"] & table["comparison_sd"].notna(), "comparison_sd"] = 1.0
    table["effect_std"] = table["estimate"] / table["comparison_sd"]
    table["effect_pct"] = 100 * table["estimate"] / table["comparison_mean"]
    crit = stats.t.ppf(0.975, table["df"]) + stats.t.ppf(0.80, table["df"])
    table["mde"] = crit * table["std_error"]

    keys = ["method", "inference", "sample_type", "sample", "wave"]
    table["q_value"] = np.nan
    table["q_value_family"] = np.nan
    for _, idx in table.groupby(keys + ["is_index"]).groups.items():
        table.loc[idx, "q_value"] = sharpened_qvalues(table.loc[idx, "p_value"].to_numpy())
    main = table[~table["is_index"]]
    for _, idx in main.groupby(keys + ["family"]).groups.items():
        table.loc[idx, "q_value_family"] = sharpened_qvalues(table.loc[idx, "p_value"].to_numpy())

    # All clients: sharpened q-values can be smaller than p, so a verdict needs both at 5%.
    # Subgroups: the row's own p decides (with its sign), so the verdict agrees with the
    # 95% interval shown next to it; a q within one subgroup is not a verdict rule.
    is_all = table["sample_type"] == "all"
    table["verdict_basis"] = np.where(is_all, "p and q", "p")
    sig = (table["p_value"] <= 0.05) & ((table["q_value"] <= 0.05) | ~is_all)
    table["verdict"] = np.select(
        [table["suppressed"], sig & (table["improvement"] > 0), sig & (table["improvement"] < 0)],
        ["suppressed", "improved", "worsened"],
        default="no detectable effect",
    )
    table.loc[table["estimate"].isna() & ~table["suppressed"], "verdict"] = "not estimable"
    table.loc[table["verdict"].isin(["suppressed", "not estimable"]), "verdict_basis"] = ""

    # heterogeneity tests (cluster-robust Wald, pooled sample with full interactions)
    table["heterogeneity_p"] = np.nan
    dims = dimensions(cb)
    sub_rows = table[table["sample_type"].isin(list(dims)) & ~table["suppressed"]]
    combos = sub_rows[["outcome", "method", "wave", "sample_type"]].drop_duplicates()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for combo in combos.itertuples(index=False):
            if combo.method == IV_METHOD:
                continue
            try:
                p = interaction_test(
                    data,
                    combo.outcome,
                    combo.method,
                    dims[combo.sample_type],
                    wave=combo.wave,
                    weights=weights,
                    strata=list(cb.roles.strata),
                    sampling=cb.roles.weights,
                )
            except (EstimationError, KeyError, ValueError, np.linalg.LinAlgError):
                p = np.nan  # one cell's test failing leaves its p empty, not the build crashed
            sel = (
                (table["outcome"] == combo.outcome)
                & (table["method"] == combo.method)
                & (table["wave"] == combo.wave)
                & (table["sample_type"] == combo.sample_type)
            )
            table.loc[sel, "heterogeneity_p"] = p

    # partial pooling of branch estimates
    for col in ["eb_estimate", "eb_std_error", "eb_ci95_low", "eb_ci95_high"]:
        table[col] = np.nan
    # (every breakdown with at least 4 levels: Morris's formula needs k > 3)
    pooled_dims = [d for d in dims if table.loc[table["sample_type"] == d, "sample"].nunique() >= 4]
    br = table[table["sample_type"].isin(pooled_dims)]
    for _, idx in br.groupby(
        ["sample_type", "outcome", "method", "inference", "wave"]
    ).groups.items():
        e, s, _, _ = empirical_bayes(
            table.loc[idx, "estimate"].to_numpy(), table.loc[idx, "std_error"].to_numpy()
        )
        table.loc[idx, "eb_estimate"] = e
        table.loc[idx, "eb_std_error"] = s
        # the same t(G-1) critical value as the branch's own interval, not z = 1.96
        crit = stats.t.ppf(0.975, table.loc[idx, "df"].to_numpy(float))
        table.loc[idx, "eb_ci95_low"] = e - crit * s
        table.loc[idx, "eb_ci95_high"] = e + crit * s

    # suppressed cells carry no numbers at all
    numeric = [
        "estimate", "std_error", "t_stat", "p_value", "q_value", "q_value_family", "ci90_low", "ci90_high",
        "ci95_low", "ci95_high", "ci99_low", "ci99_high", "n_obs", "n_clients", "n_clusters", "n_programme",
        "n_comparison", "comparison_mean", "comparison_sd", "effect_std", "effect_pct", "mde", "improvement",
        "eb_estimate", "eb_std_error", "eb_ci95_low", "eb_ci95_high", "heterogeneity_p",
    ]  # fmt: skip
    table.loc[table["suppressed"], numeric] = np.nan
    table["min_cell"] = min_cell
    order = [
        "outcome", "label", "short", "phrase", "family", "family_label", "is_index", "type", "unit", "better",
        "method", "inference", "sample_type", "sample", "wave", "wave_label",
        "estimate", "std_error", "t_stat", "df", "p_value", "q_value", "q_value_family",
        "ci90_low", "ci90_high", "ci95_low", "ci95_high", "ci99_low", "ci99_high",
        "n_obs", "n_clients", "n_clusters", "n_programme", "n_comparison",
        "comparison_mean", "comparison_sd", "effect_std", "effect_pct", "mde", "improvement", "verdict",
        "verdict_basis", "heterogeneity_p", "eb_estimate", "eb_std_error", "eb_ci95_low", "eb_ci95_high",
        "suppressed", "note", "min_cell", "boot_draws", "boot_weights", "boot_seed",
    ]  # fmt: skip
    for col in order:
        if col not in table:
            table[col] = np.nan
    table = table[order].sort_values(
        ["method", "inference", "sample_type", "sample", "wave"], kind="stable"
    )
    table["boot_draws"] = table["boot_draws"].astype("Int64")
    table["boot_seed"] = table["boot_seed"].astype("Int64")
    for col in ["n_obs", "n_clients", "n_clusters", "n_programme", "n_comparison", "df"]:
        table[col] = table[col].astype("Int64")
    return table.reset_index(drop=True)


def build_diagnostics(
    panel: pd.DataFrame, codebook: Codebook, *, min_cell: int | None = None
) -> dict[str, Any]:
    """Balance, attrition, sample flow, design MDE, the propensity model and outcome
    means by arm and wave (small cells suppressed), as a JSON-able dict.

    With three or more arms the top level is the first programme arm against the comparison
    arm, and ``by_arm`` holds the same parts for every programme arm (keyed by the results'
    ``arm`` column)."""
    programme = arm_values(panel, codebook)
    out = _diagnostics(panel, codebook, programme[0] if programme else None, min_cell)
    out["counts"] = design_counts(panel, codebook)
    if len(programme) > 1:
        out["by_arm"] = {arm_text(programme[0]): dict(out)} | {
            arm_text(v): _diagnostics(panel, codebook, v, min_cell) for v in programme[1:]
        }
        out["arm"] = arm_text(programme[0])
    return out


def design_counts(panel: pd.DataFrame, codebook: Codebook) -> dict[str, int]:
    """Counts the data knows, for the profile card (profile.yaml ``count:``): ``units``,
    ``clusters``, ``programme_clusters`` (every arm but the comparison), ``comparison_clusters``,
    ``strata`` (distinct values of the first stratum) and one per breakdown variable."""
    roles = codebook.roles
    units = panel.drop_duplicates(roles.unit)
    by_cluster = units.drop_duplicates(roles.cluster)
    out = {
        "units": int(units[roles.unit].nunique()),
        "clusters": int(by_cluster[roles.cluster].nunique()),
        "programme_clusters": int((by_cluster[roles.arm] != roles.comparison).sum()),
        "comparison_clusters": int((by_cluster[roles.arm] == roles.comparison).sum()),
    }
    if roles.strata:
        out["strata"] = int(units[roles.strata[0]].nunique())
    for name in roles.breakdowns:
        out[name] = int(units[name].nunique())
    return out


def _diagnostics(panel: pd.DataFrame, codebook: Codebook, arm, min_cell: int | None):
    min_cell = min_cell_default() if min_cell is None else min_cell
    panel = analysis_frame(panel, codebook, arm=arm)
    with_idx = add_family_indices(panel, codebook, weights=codebook.roles.weights)
    labels = {n: (v.short or v.label) for n, v in codebook.outcomes.items()}
    waves = sorted(int(w) for w in panel["wave"].unique() if w != codebook.baseline_wave)

    def records(df: pd.DataFrame) -> list[dict]:
        return json.loads(df.to_json(orient="records"))

    out: dict[str, Any] = {"min_cell": int(min_cell), "unavailable": {}}
    if codebook.roles.weights is not None:  # the pages' captions say "weighted"
        out["weights"] = _weights_info(codebook)

    def part(key: str, make) -> None:
        """One diagnostic; one that does not apply to this study's design says why."""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out[key] = make()
        except (EstimationError, KeyError, ValueError, np.linalg.LinAlgError) as exc:
            out["unavailable"][key] = f"{type(exc).__name__}: {exc}"

    def balance():
        table, joint = balance_table(panel, codebook)
        out["balance_joint"] = joint
        return records(table)

    has_base = any(codebook.has_baseline(n) for n in codebook.outcomes)
    part("balance", balance)
    part("attrition", lambda: records(attrition_table(panel, codebook)))
    if codebook.roles.exposure is not None:
        part("sample_flow", lambda: records(sample_flow(panel, codebook)))
    else:
        out["unavailable"]["sample_flow"] = "the study records no take-up (no exposure role)"
    if has_base:
        part(
            "design_mde",
            lambda: records(
                pd.concat([design_mde(panel, labels, wave=w) for w in waves], ignore_index=True)
            ),
        )
        part(
            "propensity",
            lambda: ipw_weights(with_idx, covariates=tuple(codebook.roles.covariates))[1],
        )
    else:
        out["unavailable"]["design_mde"] = "no outcome was measured at baseline"
    part(
        "means_by_arm",
        lambda: records(
            means_by_arm(
                with_idx,
                list(outcome_catalogue(codebook)["outcome"]),
                min_cell,
                samples(with_idx, codebook, _all_label(codebook)),
                weights=codebook.roles.weights,
            )
        ),
    )
    return out


def _weights_info(codebook: Codebook) -> dict[str, str]:
    """The declared sampling weights: the column and its codebook label."""
    name = codebook.roles.weights
    return {"column": name, "label": codebook.variables[name].label}


def settings(min_cell: int, draws: int, seed: int) -> dict[str, Any]:
    return {"min_cell": int(min_cell), "boot_draws": int(draws), "boot_seed": int(seed)}


def is_fresh(results_path: str | Path, panel_sha: str, cfg: dict[str, Any]) -> bool:
    """True when the results on disk were built from this panel, code and settings."""
    results_path = Path(results_path)
    mpath = results_manifest_path(results_path)
    if not (
        results_path.is_file() and mpath.is_file() and diagnostics_path(results_path).is_file()
    ):
        return False
    try:
        m = json.loads(mpath.read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return (
        m.get("panel_sha256") == panel_sha
        and m.get("code_fingerprint") == code_fingerprint()
        and m.get("settings") == cfg
    )


def write_results(
    panel_path: str | Path,
    out: str | Path,
    *,
    codebook: Codebook | None = None,
    min_cell: int | None = None,
    draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
    force: bool = False,
    progress=None,
) -> tuple[Path, bool]:
    """Build (if stale) and write the results table, its manifest and the diagnostics.

    Returns the results path and whether it was rebuilt.
    """
    cb = codebook or load_codebook()
    panel, pman = read_panel(panel_path)
    min_cell = min_cell_default() if min_cell is None else min_cell
    cfg = settings(min_cell, draws, seed)
    panel_sha = pman.get("panel_sha256") or ""
    out = Path(out)
    if not force and is_fresh(out, panel_sha, cfg):
        return out, False
    t0 = time.perf_counter()
    table = build_results(panel, cb, min_cell=min_cell, draws=draws, seed=seed, progress=progress)
    diag = build_diagnostics(panel, cb, min_cell=min_cell)
    elapsed = time.perf_counter() - t0
    manifest = {
        "panel_sha256": panel_sha,
        "code_fingerprint": code_fingerprint(),
        "settings": cfg,
        "data_kind": pman.get("kind", "unknown"),
        "data_label": pman.get("label", ""),
        "panel_built_at": pman.get("built_at"),
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "build_seconds": round(elapsed, 2),
        "n_rows": int(len(table)),
    }
    if cb.roles.weights is not None:  # every estimate, mean and index is weighted
        manifest["weights"] = _weights_info(cb)
    atomic_write(diagnostics_path(out), json.dumps(diag, indent=1, default=float).encode())
    atomic_write(out, lambda tmp: table.to_parquet(tmp, index=False))
    atomic_write(results_manifest_path(out), json.dumps(manifest, indent=2).encode())
    return out, True
