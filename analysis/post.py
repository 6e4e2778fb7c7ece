"""Estimators for one follow-up wave: the post-only comparison and ANCOVA, with any number of arms.

* :func:`fit_post` -- intention-to-treat effect from the outcome at one follow-up wave alone:
  OLS of the outcome on the arm indicators (each arm against the comparison arm), strata fixed
  effects and optional controls, optionally weighted.  This is the estimator of a trial with no
  baseline measure of the outcome: Stata's ``reg y i.arm i.strata [pw=w], cluster(c)`` (or
  ``reghdfe y i.arm, absorb(strata) cluster(c)``) followed by ``boottest``.
* :func:`fit_ancova_arms` -- the same regression plus the outcome at the baseline (the first
  period, which must precede the follow-up; 0 plus a missing indicator where a unit's value is
  missing), McKenzie (2012).  A panel whose first period has no outcome values has no baseline:
  that is an error, never a silent substitution of a post-programme round.

Inference is cluster-robust (CR1 with ``G/(G-1) * (N-1)/(N-K)``, t(G-1); Cameron and Miller 2015)
or the wild cluster restricted bootstrap (Cameron, Gelbach and Miller 2008; Roodman et al. 2019),
both from :mod:`analysis.core`.  With two arm values the term is the treatment column's name; with
more, each arm other than the comparison gets its own row, term ``<treat>=<value>``.

Every failure a user can cause (unknown column, a wave that is not in the data, an arm in fewer
than two clusters, an outcome without variation, collinear regressors) raises
:class:`~analysis.core.EstimationError` with a message naming the column or value.

Example
-------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> df = pd.DataFrame({"village": np.repeat(np.arange(30), 20)})
>>> df["arm"] = df["village"] % 3                      # three arms, assigned by village
>>> df["y"] = 0.5 * (df["arm"] == 2) + rng.normal(size=len(df))
>>> [(r.term, round(r.estimate, 2)) for r in fit_post(df, y="y", treat="arm", cluster="village")]
[('arm=1', -0.06), ('arm=2', 0.36)]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from analysis.core import (
    EstimationError,
    demean,
    encode,
    fit_linear,
)
from analysis.estimators import (
    DEFAULT_DRAWS,
    DEFAULT_SEED,
    EffectResult,
    _result,
    check_columns,
)

Inference = Literal["cluster", "wild"]
MAX_ARMS = 10
"""A treatment column with more distinct values than this is not an arm code (likely a typo)."""

__all__ = ["fit_post", "fit_ancova_arms", "match_value", "arm_label", "numeric_column", "MAX_ARMS"]


# --------------------------------------------------------------------------- values


def arm_label(value) -> str:
    """How an arm or wave value is printed: ``2.0`` (as Stata files store codes) prints ``2``."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def match_value(series: pd.Series, value, what: str):
    """The value of ``series`` that ``value`` (often a command-line string) stands for.

    ``"4"`` matches ``4``, ``4.0`` and ``"4"``; an unmatched value is an error listing the
    values present.
    """
    uniques = list(pd.unique(series.dropna()))
    for u in uniques:
        if u == value or arm_label(u) == str(value) or str(u) == str(value):
            return u
    try:
        num = float(value)
    except (TypeError, ValueError):
        num = None
    if num is not None:
        for u in uniques:
            try:
                if float(u) == num:
                    return u
            except (TypeError, ValueError):
                continue
    shown = ", ".join(arm_label(u) for u in _sorted(uniques)[:20])
    raise EstimationError(
        f"{what} {arm_label(value)!r} is not a value of '{series.name}' (values: {shown})"
    )


def _plain(value):
    """A wave value as the results carry it: integer-valued numbers as ``int``."""
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return int(value)
    return value


def _sorted(values: list) -> list:
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=str)


# --------------------------------------------------------------------------- design


def numeric_column(data: pd.DataFrame, col: str, role: str) -> pd.Series:
    """A numeric column; text that is not a number is an error naming an example value."""
    raw = data[col]
    vals = pd.to_numeric(raw, errors="coerce")
    bad = vals.isna() & raw.notna()
    if bad.any():
        example = raw[bad].iloc[0]
        raise EstimationError(
            f"{role} '{col}' must be numeric; found {example!r} in {int(bad.sum())} row(s)"
        )
    return vals.astype(float)


def _arms(values: pd.Series, treat: str, control_arm) -> tuple[list[str], list, object]:
    """(terms, arm values, comparison value) for the treatment column of the estimation sample."""
    uniques = _sorted(list(pd.unique(values)))
    if len(uniques) < 2:
        shown = arm_label(uniques[0]) if uniques else "nothing"
        raise EstimationError(
            f"treatment '{treat}' does not vary in the estimation sample (every row is {shown})"
        )
    if len(uniques) > MAX_ARMS:
        raise EstimationError(
            f"treatment '{treat}' has {len(uniques)} distinct values; it must hold arm codes "
            f"(two to {MAX_ARMS} arms, e.g. 0/1 or 0/1/2)"
        )
    control = match_value(values, "0" if control_arm is None else control_arm, "comparison arm")
    treated = [u for u in uniques if u != control]
    if len(uniques) == 2:
        return [treat], treated, control
    return [f"{treat}={arm_label(u)}" for u in treated], treated, control


def _collinear_names(
    cols: list[tuple[str, np.ndarray]], fes: list[tuple[np.ndarray, int]], w: np.ndarray
) -> list[str]:
    """Columns that add no rank after the fixed effects and the columns before them."""
    x = demean(np.column_stack([c for _, c in cols]), fes, w) * np.sqrt(w)[:, None]
    scale = np.abs(x).max(axis=0)
    dropped, kept = [], []
    for j, (name, _) in enumerate(cols):
        if scale[j] <= 1e-12:
            dropped.append(name)
            continue
        trial = x[:, [*kept, j]] / np.maximum(scale[[*kept, j]], 1e-300)
        if np.linalg.matrix_rank(trial, tol=1e-9 * np.sqrt(len(x))) <= len(kept):
            dropped.append(name)
        else:
            kept.append(j)
    return dropped


def _sample(
    df: pd.DataFrame,
    *,
    y: str,
    treat: str,
    cluster: str,
    unit: str | None,
    strata: list[str],
    controls: list[str],
    weights: str | None,
    extra: list[str] = (),
) -> pd.DataFrame:
    """Rows with every used value present (listwise deletion, as Stata and pyfixest do)."""
    cols = list(dict.fromkeys([y, treat, cluster, *strata, *controls, *extra]))
    cols += [c for c in ([unit] if unit else []) + ([weights] if weights else []) if c not in cols]
    data = df[cols].copy()
    data[y] = numeric_column(data, y, "outcome")
    for c in controls:
        data[c] = numeric_column(data, c, "control")
    if weights:
        data[weights] = numeric_column(data, weights, "weight")
        if (data[weights] < 0).any():
            raise EstimationError(f"weight '{weights}' has negative values")
        # a zero sampling weight takes the row out of the sample, as in Stata
        data = data[data[weights] != 0]
    needed = [c for c in cols if c not in extra]
    data = data.dropna(subset=needed)
    if data.empty:
        raise EstimationError(f"no rows with '{y}' and every design column present")
    return data


def _fit_arms(
    data: pd.DataFrame,
    *,
    y: str,
    treat: str,
    cluster: str,
    unit: str | None,
    strata: list[str],
    controls: list[tuple[str, np.ndarray]],
    weights: str | None,
    control_arm,
    inference: str,
    draws: int,
    seed: int,
    method: str,
    wave,
    details: dict,
) -> list[EffectResult]:
    yv = data[y].to_numpy(float)
    if np.nanmax(yv) == np.nanmin(yv):
        raise EstimationError(
            f"outcome '{y}' has no variation in the estimation sample (every value is {yv[0]:g})"
        )
    terms, treated, control = _arms(data[treat], treat, control_arm)
    clusters = data[cluster].to_numpy()
    for value, label in [(control, "comparison arm"), *[(v, f"arm '{t}'") for v, t in zip(treated, terms, strict=True)]]:  # fmt: skip
        g = pd.unique(clusters[(data[treat] == value).to_numpy()]).size
        if g < 2:
            shown = label if label != "comparison arm" else f"comparison arm {arm_label(control)!r}"
            raise EstimationError(
                f"too few clusters: {shown} is in {g} cluster of '{cluster}'; "
                "cluster-robust inference needs every arm in at least 2 clusters"
            )
    arm_cols = [
        (t, (data[treat] == v).to_numpy(float)) for t, v in zip(terms, treated, strict=True)
    ]
    cols = arm_cols + controls
    fes = [encode(data[s]) for s in strata]
    if not fes:
        cols.append(("const", np.ones(len(data))))
    w = data[weights].to_numpy(float) if weights else np.ones(len(data))
    bad = _collinear_names(cols, fes, w)
    if bad:
        where = " and the strata fixed effects" if strata else ""
        raise EstimationError(
            f"collinear design: {', '.join(repr(b) for b in bad)} add(s) nothing beyond the other "
            f"regressors{where}; drop or recode them"
        )
    fit = fit_linear(
        yv,
        np.column_stack([c for _, c in cols]),
        [n for n, _ in cols],
        clusters,
        fes=fes,
        weights=w if weights else None,
    )
    n_units = int(data[unit].nunique()) if unit else len(data)
    return [
        _result(fit, j=j, outcome=y, term=term, method=method, wave=wave, n_clients=n_units,
                inference=inference, draws=draws, seed=seed, details=dict(details))
        for j, term in enumerate(terms)
    ]  # fmt: skip


def _periods(df: pd.DataFrame, time: str) -> list:
    """The periods in time order.  Text periods are ordered only when they are all numbers or
    all dates: "baseline" < "endline" < "midline" alphabetically, which is not time order."""
    uniques = list(pd.unique(df[time].dropna()))
    if not uniques:
        raise EstimationError(f"period column '{time}' has no values")
    if pd.api.types.is_numeric_dtype(df[time]) or pd.api.types.is_datetime64_any_dtype(df[time]):
        return _sorted(uniques)
    for convert in (
        lambda v: pd.to_numeric(pd.Series(v), errors="coerce"),
        lambda v: pd.to_datetime(pd.Series(v, dtype=str), errors="coerce", format="ISO8601"),
    ):
        keys = convert(uniques)
        if keys.notna().all():
            return [uniques[i] for i in np.argsort(keys.to_numpy(), kind="stable")]
    shown = ", ".join(map(str, _sorted(uniques)[:10]))
    raise EstimationError(
        f"the periods in '{time}' are text ({shown}), so which comes first is unknown; code them "
        "as numbers or dates (YYYY-MM-DD), or name the follow-up with --wave (post only)"
    )


def _measured(df: pd.DataFrame, rows: pd.DataFrame, y: str, time: str, wave) -> None:
    """An outcome not asked at the chosen wave is an error naming the waves that have it."""
    if rows[y].notna().any():
        return
    have = _sorted(list(pd.unique(df.loc[df[y].notna(), time].dropna())))
    where = (
        f"it is measured in {time} = {', '.join(arm_label(h) for h in have)}; choose one with --wave"
        if have
        else "it has no values in any period"
    )
    raise EstimationError(f"outcome '{y}' is not measured in {time} = {arm_label(wave)}: {where}")


def _unique_units(rows: pd.DataFrame, unit: str | None, time: str, wave) -> None:
    if unit is None:
        return
    dup = rows[unit].duplicated()
    if dup.any():
        raise EstimationError(
            f"unit {arm_label(rows.loc[dup, unit].iloc[0])!r} appears more than once in "
            f"{time} = {arm_label(wave)}; '{unit}' must identify one row per period"
        )


# --------------------------------------------------------------------------- public


def fit_post(
    df: pd.DataFrame,
    *,
    y: str,
    treat: str,
    cluster: str | None = None,
    unit: str | None = None,
    time: str | None = None,
    wave=None,
    strata: Sequence[str] = (),
    controls: Sequence[str] = (),
    weights: str | None = None,
    control_arm=None,
    inference: Inference = "cluster",
    draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
) -> list[EffectResult]:
    """Post-only ITT: the outcome at one wave on arm indicators, strata fixed effects and controls.

    Parameters
    ----------
    df : long panel (one row per unit and period) or a cross-section (``time=None``).
    y, treat : outcome column; assignment column (two or more arm codes).
    cluster : unit of assignment (default: ``unit``, else every row its own cluster).
    time, wave : period column and the follow-up to use (default: the last period).
    strata : columns whose levels enter as fixed effects (randomisation strata).
    controls : numeric covariates.
    weights : sampling-weight column (rows with weight 0 or missing are left out).
    control_arm : the comparison arm's value (default 0).

    Returns
    -------
    One :class:`EffectResult` per arm other than the comparison arm.
    """
    return _fit_wave(baseline=False, **locals())  # every argument, as given


def fit_ancova_arms(
    df: pd.DataFrame,
    *,
    y: str,
    treat: str,
    unit: str,
    time: str,
    wave=None,
    cluster: str | None = None,
    strata: Sequence[str] = (),
    controls: Sequence[str] = (),
    weights: str | None = None,
    control_arm=None,
    inference: Inference = "cluster",
    draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
) -> list[EffectResult]:
    """ANCOVA: :func:`fit_post` at the follow-up ``wave`` plus the outcome at the baseline.

    The baseline is the first period and must come before ``wave`` (default: the last period),
    and the outcome must be measured there for at least some units.  A unit without a baseline
    value keeps its row with the baseline set to 0 and a missing-value indicator (McKenzie 2012).
    """
    return _fit_wave(baseline=True, **locals())  # every argument, as given


def _fit_wave(
    df: pd.DataFrame,
    *,
    baseline: bool,
    y: str,
    treat: str,
    cluster: str | None,
    unit: str | None,
    time: str | None,
    wave,
    strata: Sequence[str],
    controls: Sequence[str],
    weights: str | None,
    control_arm,
    inference: Inference,
    draws: int,
    seed: int,
) -> list[EffectResult]:
    """The body of both estimators: the outcome at the follow-up ``wave`` on the arm indicators,
    strata fixed effects and controls, and with ``baseline`` also on the outcome in the first
    period (0 plus a missing indicator where a unit has none; McKenzie 2012)."""
    strata, controls = list(strata), list(controls)
    cluster = cluster or unit
    check_columns(
        df, [c for c in [y, treat, cluster, unit, time, weights, *strata, *controls] if c]
    )
    if baseline:
        first, wave, base = _baseline(df, y=y, unit=unit, time=time, wave=wave)
    elif time is not None:
        wave = _periods(df, time)[-1] if wave is None else match_value(df[time], wave, "wave")
    rows = df
    if time is not None:
        rows = df[df[time] == wave]
        _measured(df, rows, y, time, wave)
        _unique_units(rows, unit, time, wave)
    if cluster is None:
        rows = rows.assign(_row=np.arange(len(rows)))
        cluster = "_row"
    regressors, details = [], {}
    if baseline:
        rows = rows.assign(_y0=rows[unit].map(base))
        if rows["_y0"].isna().all():
            raise EstimationError(
                f"no unit in {time} = {arm_label(wave)} has a baseline value of '{y}' "
                f"({time} = {arm_label(first)}); use --method post for this outcome"
            )
    data = _sample(rows, y=y, treat=treat, cluster=cluster, unit=unit, strata=strata,
                   controls=controls, weights=weights, extra=["_y0"] if baseline else [])  # fmt: skip
    if baseline:
        miss = data["_y0"].isna().to_numpy(float)
        regressors.append(("baseline", data["_y0"].fillna(0).to_numpy(float)))
        if miss.any():
            regressors.append(("baseline_missing", miss))
        details["baseline"] = arm_label(first)
    return _fit_arms(
        data, y=y, treat=treat, cluster=cluster, unit=unit, strata=strata,
        controls=regressors + [(c, data[c].to_numpy(float)) for c in controls], weights=weights,
        control_arm=control_arm, inference=inference, draws=draws, seed=seed,
        method="ancova" if baseline else "post", wave=None if wave is None else _plain(wave),
        details={**details, "strata": strata, "controls": controls, "weights": weights},
    )  # fmt: skip


def _baseline(df: pd.DataFrame, *, y: str, unit: str, time: str, wave) -> tuple:
    """(first period, follow-up wave, each unit's outcome in the first period) for ANCOVA; the
    first period is the baseline and must precede the follow-up and hold some values of ``y``."""
    periods = _periods(df, time)
    if len(periods) < 2:
        raise EstimationError(
            f"ANCOVA needs a baseline period before the follow-up, but '{time}' has a single "
            f"period ({arm_label(periods[0])}); use --method post"
        )
    first = periods[0]
    wave = periods[-1] if wave is None else match_value(df[time], wave, "wave")
    if wave == first:
        raise EstimationError(
            f"--wave {arm_label(wave)} is the first period of '{time}', which ANCOVA uses as the "
            f"baseline; choose a later follow-up ({', '.join(arm_label(p) for p in periods[1:])}) "
            "or use --method post"
        )
    base_rows = df[df[time] == first]
    _unique_units(base_rows, unit, time, first)
    base = pd.to_numeric(base_rows.set_index(unit)[y], errors="coerce").dropna()
    if base.empty:
        raise EstimationError(
            f"outcome '{y}' is not measured in the first period ({time} = {arm_label(first)}), "
            "so there is no baseline to condition on; use --method post for this outcome"
        )
    return first, wave, base
