"""Select and rescale rows of the results table for a view.  Pure pandas, no Dash.

Everything the pages show is a filter of the results table plus a change of scale
(natural units, standardised, % of the comparison mean); nothing is re-estimated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.findings import nouns_of, study_or_default, take_up_phrase
from analysis.study import Study
from components.frames import records
from components.theme import fmt_num, fmt_p, fmt_signed, is_missing, is_share

LEVELS = ("90", "95", "99")
SCALES = {
    "natural": "Natural units",
    "std": "Standardised (SDs of the comparison group at baseline)",
    "pct": "% of the comparison group's mean",
}
DEFAULT_SCALE = "std"  # multi-outcome plots share one unit by default (issue 13)
MULTIPLE_TESTING = {
    "q": "q across all outcomes (recommended)",
    "qf": "q within each family",
    "p": "Unadjusted p (over-claims when many outcomes are tested)",
}
INFERENCE_LABELS = {
    "cluster": "Cluster-robust standard errors",
    "wild": "Wild cluster bootstrap",
}
SIGNIFICANCE = 0.05


# Two different unit counts are shown; each says which it is, so the difference explains itself.
def n_interviewed(study: Study | None = None) -> str:
    """'Clients interviewed' in the study's noun for its units."""
    return f"{_cap(nouns_of(study).unit.many)} interviewed"


def n_estimation(post: bool = False) -> str:
    """Which units an effect's counts are: the estimation sample (``post``: no baseline needed)."""
    if post:
        return "in the estimation sample: with an answer for this outcome at this wave"
    return "in the estimation sample: with baseline and follow-up answers for this outcome"


def sample_note(study: Study | None = None, methods: Any = ("did",)) -> str:
    """What the counts next to effects are, for the estimators in the study's results
    (``methods``): post-only rows need an answer at the wave only, the others a baseline too."""
    many = nouns_of(study).unit.many
    methods = set(methods)
    post_only = methods <= {"post"}
    if post_only:
        who = f"{many} with an answer for that outcome at that wave"
    elif "post" in methods:
        who = (
            f"{many} with baseline and follow-up answers for that outcome (an outcome asked at "
            "follow-up only: an answer at that wave)"
        )
    else:
        who = f"{many} with baseline and follow-up answers for that outcome"
    return (
        f"{_cap(many)} counts next to effects are the estimation sample: {who}, so they are a "
        "little below the number interviewed at the follow-up (Methods & data page)."
    )


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


# Two different minimum detectable effects: the design's (before the data) and the estimate's.
MDE_DESIGN = "Design MDE (before the data)"
MDE_ESTIMATE = "MDE from this estimate's standard error"


def estimator_words(study: Study | None = None) -> dict[str, str]:
    """The estimators in words (what each compares, and what it assumes), in the study's nouns."""
    n = nouns_of(study)
    unit, units, cl = n.unit.one, n.unit.many, n.cluster
    words = {
        "did": f"Compares how much each outcome changed between the baseline and the follow-up survey for {units} of {n.programme_arm} "
        f"with the change for {units} of {n.comparison_arm}. Each {unit} is compared with itself ({unit} fixed effects), "
        f"so stable differences between {units} do not bias the result; it assumes both groups would have moved alike without the programme.",
        "ancova": f"Compares programme and comparison {units} at the follow-up survey, holding their own baseline value of the outcome "
        f"and their {n.stratum.one} fixed. More precise than difference-in-differences when outcomes are noisy over time.",
        "ipw_did": f"Difference-in-differences in which comparison {units} are re-weighted by their estimated chance of being in a programme "
        f"{cl.one} (a propensity score from baseline characteristics), so that both groups look alike at baseline.",
        "late": f"The local average treatment effect (LATE): the effect on compliers, the {units} who {take_up_phrase(study)} "
        f"because their {cl.one} was assigned to the programme and would not have otherwise. Assignment is the "
        f"instrument for take-up (Imbens & Angrist 1994). Because some comparison {units} took it up too, it is not the effect "
        f"on every {unit} who did. Larger than the intention-to-treat effects when take-up is incomplete.",
        "post": f"Compares {units} of {n.programme_arm} with {units} of {n.comparison_arm} at one follow-up wave "
        f"(intention to treat), with {n.stratum.one} fixed effects, as randomisation was within {n.stratum.many}. "
        "Used where the outcome was not measured before the programme, so no change over time can be compared.",
    }
    words["tot"] = words["late"]  # results tables built before the rename
    return words


def method_labels(study: Study | None = None) -> dict[str, str]:
    """Each estimator's full name, in the study's nouns (for specification sentences)."""
    n = nouns_of(study)
    late = (
        f"LATE (effect on compliers): take-up instrumented by {n.cluster.one} assignment "
        "(Imbens & Angrist 1994)"
    )
    return {
        "did": f"Difference-in-differences (ITT, {n.unit.one} and wave fixed effects)",
        "ancova": f"ANCOVA (ITT, baseline outcome and {n.stratum.one} strata)",
        "ipw_did": "Inverse-probability-weighted DiD (ITT)",
        "late": late,
        "tot": late,  # the former key of the same estimator
        "post": f"Post-only comparison of the arms (ITT, {n.stratum.one} fixed effects)",
    }


# The default study's wording, for callers that do not pass a study.
N_INTERVIEWED = n_interviewed()
N_ESTIMATION = n_estimation()
SAMPLE_NOTE = sample_note()
ESTIMATOR_WORDS = estimator_words()

# Estimators in display order.  ``late`` was called ``tot`` in older results tables;
# old links (``method=tot``) are read as ``late`` (see ``method_aliases``).
METHOD_ORDER = ("did", "ancova", "ipw_did", "late", "tot", "post")


def method_aliases(methods) -> dict[str, str]:
    """Old or new name of the LATE key -> the name this results table uses."""
    have = set(methods)
    if "late" in have:
        return {"tot": "late"}
    if "tot" in have:
        return {"late": "tot"}
    return {}


@dataclass(frozen=True)
class Spec:
    """A specification: which rows of the results table a view shows."""

    method: str = "did"
    inference: str = "wild"
    wave: int = 2
    sample_type: str = "all"
    sample: str = "All clients"


# per results table: the tables components.store keeps loaded (up to 16 studies and 32 arms)
_PER_TABLE_MAX = 48
_OPTIONS: dict[int, tuple[pd.DataFrame, dict[str, Any]]] = {}


def per_table(cache: dict, results: pd.DataFrame, build: Callable[[], Any]) -> Any:
    """``build()``, computed once per results table (a loaded table is never changed) and
    kept while the table is: keyed by its id, checked by identity (an id is reused only
    after its table is gone), the oldest dropped beyond ``_PER_TABLE_MAX``."""
    hit = cache.get(id(results))
    if hit is not None and hit[0] is results:
        return hit[1]
    value = build()
    cache.pop(id(results), None)
    cache[id(results)] = (results, value)
    _trim(cache, _PER_TABLE_MAX)
    return value


def per_table_key(
    cache: dict, results: pd.DataFrame, key: Any, build: Callable[[], Any], keep: int = 256
) -> Any:
    """``build()`` for ``key``, kept per results table (:func:`per_table`), the oldest of a
    table's values dropped beyond ``keep``: a look-up that depends on the table and on a few
    choices, e.g. everything one Breakdowns view reads whichever branches are chosen."""
    made = per_table(cache, results, dict)
    value = made.get(key)
    if value is None:
        value = made[key] = build()
        _trim(made, keep)
    return value


def _trim(cache: dict, keep: int) -> None:
    """Drop the oldest entries of ``cache`` beyond ``keep``."""
    while len(cache) > keep:
        try:
            cache.pop(next(iter(cache)))
        except (KeyError, RuntimeError, StopIteration):  # another thread evicted it
            break


def options(results: pd.DataFrame) -> dict[str, Any]:
    """Allowed values of each choice, read from the results table itself, and the look-ups
    every callback's validation needs (wave labels, each outcome's last wave).

    Computed once per results table (:func:`per_table`); every callback validates its
    inputs against these, so this must be cheap.
    """
    return per_table(_OPTIONS, results, lambda: _options(results))


def _options(results: pd.DataFrame) -> dict[str, Any]:
    methods, infs = set(results["method"].unique()), set(results["inference"].unique())
    value = {
        "method": [m for m in METHOD_ORDER if m in methods],
        "inference": [i for i in ("wild", "cluster") if i in infs],
        "wave": sorted(int(w) for w in results["wave"].unique()),
        "outcome": list(dict.fromkeys(results["outcome"])),
        "branch": sorted(results.loc[results["sample_type"] == "branch", "sample"].unique()),
        "province": sorted(results.loc[results["sample_type"] == "province", "sample"].unique()),
        # every breakdown dimension the table has (sample types other than "all"), in table order
        "breakdowns": {
            t: sorted(results.loc[results["sample_type"] == t, "sample"].unique())
            for t in dict.fromkeys(results["sample_type"])
            if t != "all"
        },
        "all_sample": all_sample(results),
        # wave number -> its label, and each outcome's last wave (every callback's
        # validation needs them: a pass over the whole table each time cost ~6 ms)
        "wave_label": {
            int(w): str(lab)
            for w, lab in results[["wave", "wave_label"]].drop_duplicates().to_numpy()
        },
        "last_wave": {str(o): int(w) for o, w in results.groupby("outcome")["wave"].max().items()},
    }
    return value


def all_sample(results: pd.DataFrame) -> str:
    """The whole-sample row's label in this table: 'All clients', 'All households'."""
    labels = results.loc[results["sample_type"] == "all", "sample"]
    return str(labels.iloc[0]) if len(labels) else Spec.sample


def wave_labels(results: pd.DataFrame, panel_manifest: dict | None = None) -> dict[int, str]:
    """Wave number -> label: follow-up waves from the results, baseline from the panel manifest."""
    out = {int(k): str(v) for k, v in ((panel_manifest or {}).get("waves") or {}).items()}
    out.update(options(results)["wave_label"])
    return out


def effective_inference(
    method: str, inference: str, results: pd.DataFrame
) -> tuple[str, str | None]:
    """The inference actually available for ``method`` (the LATE has cluster-robust only)."""
    have = set(results.loc[results["method"] == method, "inference"])
    if inference in have:
        return inference, None
    fallback = "cluster" if "cluster" in have else sorted(have)[0]
    return fallback, (
        f"{INFERENCE_LABELS.get(inference, inference)} is not available for this estimator; "
        f"showing {INFERENCE_LABELS.get(fallback, fallback).lower()}."
    )


def select(results: pd.DataFrame, spec: Spec) -> pd.DataFrame:
    """Rows of one specification, in the table's outcome order."""
    m = (
        (results["method"] == spec.method)
        & (results["inference"] == spec.inference)
        & (results["wave"] == spec.wave)
        & (results["sample_type"] == spec.sample_type)
        # the whole sample has one row per outcome whatever the study calls it
        & ((results["sample"] == spec.sample) | (spec.sample_type == "all"))
    )
    return results.loc[m].copy()


_CELLS: dict[int, tuple[pd.DataFrame, dict[tuple, Any]]] = {}


def cell_rows(
    results: pd.DataFrame, outcome: str, method: str, wave: int, inference: str, sample_type: str
) -> pd.DataFrame:
    """The rows of one outcome, estimator, wave and inference for one kind of sample (every
    group of a breakdown), in table order.  The table is indexed once (like ``options``):
    five comparisons over the whole table on every call cost a new Breakdowns view ~5 ms
    each time."""
    keys = ["outcome", "method", "wave", "inference", "sample_type"]
    index = per_table(
        _CELLS, results, lambda: results[keys].astype(object).groupby(keys, sort=False).indices
    )
    pos = index.get((outcome, method, int(wave), inference, sample_type))
    return results.iloc[pos] if pos is not None else results.iloc[:0]


_OUTCOME_ROWS: dict[int, tuple[pd.DataFrame, Any]] = {}


def _outcome_index(results: pd.DataFrame) -> tuple[dict[str, int], dict[tuple, Any]]:
    first = {}
    for i, o in enumerate(results["outcome"]):
        first.setdefault(o, i)
    keys = ["outcome", "wave", "sample_type"]
    return first, results[keys].astype(object).groupby(keys, sort=False).indices


def outcome_meta(results: pd.DataFrame, outcome: str) -> pd.Series:
    """The outcome's first row (its label, unit, better direction, family ...); indexed
    once per table, like :func:`cell_rows`.  KeyError for an outcome not in the table."""
    first, _ = per_table(_OUTCOME_ROWS, results, lambda: _outcome_index(results))
    return results.iloc[first[outcome]]


def outcome_rows(results: pd.DataFrame, outcome: str, wave: int, sample_type: str) -> pd.DataFrame:
    """The rows of one outcome at one wave for one kind of sample (every estimator and
    inference), in table order; indexed once per table, like :func:`cell_rows`."""
    _, index = per_table(_OUTCOME_ROWS, results, lambda: _outcome_index(results))
    pos = index.get((outcome, int(wave), sample_type))
    return results.iloc[pos] if pos is not None else results.iloc[:0]


def family_order(rows: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(rows["family"]))


def ordered(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows grouped by family (in table order), each family's index first: the plot's order."""
    fam_rank = {f: i for i, f in enumerate(family_order(rows))}
    key = rows["family"].map(fam_rank) * 2 + (~rows["is_index"]).astype(int)
    return rows.assign(_k=key).sort_values("_k", kind="stable").drop(columns="_k")


def pct_not_meaningful(row: pd.Series | dict) -> bool:
    """% of the comparison mean means nothing for indices (mean ~0) and log outcomes."""
    unit = str(row.get("unit") or "")
    return bool(row.get("is_index")) or "log" in unit.lower()


def scale_factor(row: pd.Series | dict, scale: str) -> float:
    """Multiply natural-unit numbers by this to get the chosen scale (NaN when undefined)."""
    if scale == "natural":
        return 1.0
    if scale == "std":
        if row.get("is_index"):
            # a family index is already in SDs of the comparison group at baseline (Kling, Liebman
            # & Katz 2007): dividing by the index's own SD again would give a second, larger number
            return 1.0
        sd = row.get("comparison_sd")
        return 1.0 / float(sd) if not is_missing(sd) and float(sd) > 0 else float("nan")
    if scale == "pct":
        mean = row.get("comparison_mean")
        if pct_not_meaningful(row) or is_missing(mean) or float(mean) == 0:
            return float("nan")
        return 100.0 / float(mean)
    raise ValueError(f"unknown scale {scale!r}")


def significant(row: pd.Series | dict, view: str) -> bool:
    """Is the effect significant at 5% under the chosen multiple-testing view?

    As in the results table's verdict, an adjusted view needs both the q-value and
    the p-value at 5% (sharpened q-values can fall below p).
    """
    p = row.get("p_value")
    p_ok = not is_missing(p) and float(p) <= SIGNIFICANCE
    if view == "p":
        return p_ok
    if view == "qf":
        v = row.get("q_value_family")
        if is_missing(v):  # indices are adjusted across indices only
            v = row.get("q_value")
    else:
        v = row.get("q_value")
    return p_ok and not is_missing(v) and float(v) <= SIGNIFICANCE


def view_verdict(row: pd.Series | dict, view: str) -> str:
    """The verdict under the chosen view; equals the table's ``verdict`` for the default view."""
    verdict = str(row.get("verdict"))
    if verdict in ("suppressed", "not estimable"):
        return verdict
    if not significant(row, view):
        return "no detectable effect"
    return "improved" if float(row.get("improvement")) > 0 else "worsened"


def scaled_rows(rows: pd.DataFrame, scale: str, view: str = "q") -> pd.DataFrame:
    """Add the view's columns: ``x``, ``lo90``..``hi99``, ``mde_x``, ``view_verdict`` and ``shown``.

    ``x`` equals ``estimate`` (natural), ``effect_std`` (std) or ``effect_pct`` (pct);
    interval ends are the natural ones times the same factor.
    """
    out = rows.copy()
    # the scale and the verdict read only the table's own columns: one list of rows
    recs = records(rows)
    factor = np.array([scale_factor(r, scale) for r in recs], dtype=float)
    out["factor"] = factor
    out["x"] = out["estimate"].to_numpy(dtype=float) * factor
    for lev in LEVELS:
        lo = out[f"ci{lev}_low"].to_numpy(dtype=float) * factor
        hi = out[f"ci{lev}_high"].to_numpy(dtype=float) * factor
        # a negative factor (negative comparison mean) flips the ends
        out[f"lo{lev}"] = np.fmin(lo, hi)
        out[f"hi{lev}"] = np.fmax(lo, hi)
    out["mde_x"] = out["mde"].to_numpy(dtype=float) * np.abs(factor)
    out["view_verdict"] = [view_verdict(r, view) for r in recs]
    out["shown"] = ~out["suppressed"] & np.isfinite(out["x"])
    return out


def scale_unit(row: pd.Series | dict, scale: str) -> str:
    if scale == "std":
        return "SD"
    if scale == "pct":
        return "% of comparison mean"
    return str(row.get("unit") or "")


def effect_words(
    row: pd.Series | dict, scale: str = "natural", *, study: Study | None = None
) -> str:
    """The effect in words, e.g. '−0.138 share of clients (−13.8 percentage points)'."""
    if row.get("suppressed"):
        return f"too few {nouns_of(study).unit.many}"
    factor = scale_factor(row, scale)
    est = row.get("estimate")
    if is_missing(est) or is_missing(factor):
        return "–"
    x = float(est) * factor
    if scale == "natural" and is_share(row.get("unit")):
        return f"{fmt_signed(x)} {row.get('unit')} ({fmt_signed(100 * x, 1)} percentage points)"
    if scale == "pct":
        return f"{fmt_signed(x, 1)}% of the comparison mean"
    return f"{fmt_signed(x)} {scale_unit(row, scale)}"


def specification_text(
    rows: pd.DataFrame,
    spec: Spec,
    *,
    method_labels: dict[str, str],
    manifest: dict[str, Any],
    wave_label: str | None = None,
    study: Study | None = None,
) -> str:
    """One sentence with the specification of a figure: estimator, errors, clusters, draws, data."""
    cl = nouns_of(study).cluster
    clusters = rows["n_clusters"].dropna()
    n_cl = cl.count(int(clusters.max())) if len(clusters) else cl.many
    if spec.inference == "wild":
        draws = rows["boot_draws"].dropna() if "boot_draws" in rows else pd.Series(dtype=float)
        weights = (
            rows["boot_weights"].dropna() if "boot_weights" in rows else pd.Series(dtype=object)
        )
        d = int(draws.iloc[0]) if len(draws) else manifest.get("settings", {}).get("boot_draws")
        w = f" {weights.iloc[0]}" if len(weights) else ""
        se = f"wild cluster bootstrap ({d}{w} draws), clustered by {cl.one} ({n_cl})"
    else:
        se = f"cluster-robust (CR1) standard errors, clustered by {cl.one} ({n_cl})"
    # what the study's files say the data is ("Public replication data"), else the build's kind
    kind = data_words(study, manifest)
    version = (
        f"{kind}, panel {str(manifest.get('panel_sha256', ''))[:12]}, "
        f"results built {str(manifest.get('built_at', ''))[:10]}"
    )
    wl = wave_label or f"wave {spec.wave}"
    # the whole sample under the name the study's results give it
    sample = all_sample(rows) if spec.sample_type == "all" and len(rows) else spec.sample
    return (
        f"Estimator: {method_labels.get(spec.method, spec.method)}. {compared(wl, spec.method)}; "
        f"sample: {sample}. Inference: {se}.{weighted_note(manifest)} Data: {version}."
    )


def data_words(study: Study | None, manifest: dict[str, Any]) -> str:
    """What the data is, for a specification line: the study's own label ('Public replication
    data'), unless the study is a demo and the results were built from other data (then the
    build's own label)."""
    info = study_or_default(study)
    built = str(manifest.get("data_kind") or "unknown")
    if info is None or (info.data.status == "demo" and built not in ("demo", "unknown")):
        return str(manifest.get("data_label") or f"{built} data")
    return str(info.data.label)


def weighted_note(manifest: dict[str, Any]) -> str:
    """' Weighted by <the weight's label> (sampling weights): estimates, means and indices.'
    when the study declares sampling weights (the results manifest says so), else ''."""
    w = manifest.get("weights")
    if not w:
        return ""
    return f" Weighted by {w.get('label') or w.get('column')} (sampling weights): estimates, means and indices."


def compared(wave_label: str, method: str) -> str:
    """'Endline vs baseline', or for a post-only comparison 'Quarter 4: arms compared at that wave'."""
    if method == "post":
        return f"{wave_label}: arms compared at that wave (no baseline)"
    return f"{wave_label} vs baseline"


def headline_findings(rows: pd.DataFrame) -> dict[str, list[dict]]:
    """Outcome rows (not indices) of one specification grouped by verdict, strongest first."""
    main = rows[~rows["is_index"]].copy()
    main["abs_std"] = (main["improvement"] / main["comparison_sd"]).abs()
    out: dict[str, list[dict]] = {}
    for verdict in ("improved", "worsened", "no detectable effect", "suppressed", "not estimable"):
        sub = main[main["verdict"] == verdict].sort_values("abs_std", ascending=False)
        out[verdict] = records(sub)
    return out


def robustness(results: pd.DataFrame, outcome: str, spec: Spec) -> tuple[int, int]:
    """In how many estimators (same wave and sample) is the verdict the same as in ``spec``?"""
    sub = results[
        (results["outcome"] == outcome)
        & (results["wave"] == spec.wave)
        & (results["sample_type"] == spec.sample_type)
        & (results["sample"] == spec.sample)
    ]
    ref = sub[(sub["method"] == spec.method) & (sub["inference"] == spec.inference)]
    if ref.empty:
        return 0, 0
    verdict = ref["verdict"].iloc[0]
    per_method = []
    for _m, g in sub.groupby("method", sort=False):
        pick = g[g["inference"] == spec.inference]
        if pick.empty:
            pick = g
        per_method.append(pick["verdict"].iloc[0] == verdict)
    return int(sum(per_method)), len(per_method)


def headline_lead(rows: pd.DataFrame, wave_label: str, *, study: Study | None = None) -> str:
    """The opening paragraph of the headline findings of one specification, from the table.

    Shared by the Overview page, the slide deck and the printed brief.
    """
    groups = headline_findings(rows)
    improved, worsened = groups["improved"], groups["worsened"]
    n_out = int((~rows["is_index"]).sum())
    wl = str(wave_label).lower()
    unit = nouns_of(study).unit
    when = wl if "survey" in wl else f"{wl} survey"  # 'endline survey', never 'survey survey'
    if improved:
        top = improved[0]
        parts = [
            f"By the {when}, the programme measurably improved {len(improved)} of {n_out} {unit.one} outcomes. "
            f"The largest improvement, relative to how much {unit.many} differ, is in {top['short'].lower()} "
            f"({fmt_num(abs(top['improvement'] / top['comparison_sd']))} standard deviations)."
        ]
    else:
        parts = [
            f"By the {when}, no {unit.one} outcome improved measurably after adjusting for multiple testing."
        ]
    if worsened:
        names = ", ".join(r["short"].lower() for r in worsened)
        parts.append(f" {len(worsened)} moved in the unwanted direction ({names}).")
    fam = rows[rows["is_index"]]
    fam_improved = fam[fam["verdict"] == "improved"]["family_label"].tolist()
    if fam_improved:
        parts.append(f" Family indices improved for: {', '.join(f.lower() for f in fam_improved)}.")
    return "".join(parts)


def het_sentence(rows: pd.DataFrame, dimension: str) -> str:
    """Plain words for the test that an effect is the same in every group of ``dimension``."""
    p = rows["heterogeneity_p"].dropna() if "heterogeneity_p" in rows else pd.Series(dtype=float)
    if p.empty:
        return f"The test that the effect is the same in every {dimension} is not available for this estimator or outcome."
    pv = float(p.iloc[0])
    verdict = (
        "the effect differs across them by more than chance would explain"
        if pv < 0.05
        else "no evidence that the effect differs across them"
    )
    return f"Same effect in every {dimension}? p = {fmt_p(pv)}: {verdict}."
