"""Breakdowns for a chosen set of branches (the pooled breakdown's groups): which
groups each panel shows, the direct comparison of two chosen branches, and the
download of exactly what the page shows, for every outcome, as CSV and XLSX.

Every panel follows the branch choice or says why it does not:

* the first breakdown (e.g. province) shows the groups that contain a chosen branch,
  when the panel says which branch lies in which group; each estimate still uses all
  the group's branches (the results table holds no estimate for part of a province);
* women and men, and the heterogeneity tests, are across all branches: the table holds
  no estimate by sex within a branch, and a test of "the same effect everywhere" is a
  statement about every group, never recomputed on a subset.
"""

from __future__ import annotations

import functools
import io
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import pandas as pd
from dash import dcc

from analysis.compare import ComparisonError, difference
from components.frames import records
from components.layout import csv_text, provenance_line
from components.store import METHOD_LABELS, get_artifacts
from components.theme import slug, too_few
from components.views import INFERENCE_LABELS

POOLED = "branch"  # the breakdown with partially pooled estimates, filtered by the page
DIFFERENCE = "branch difference"

# the download's columns and what each means (the XLSX "About" sheet lists them)
COLUMNS = {
    "outcome": "Outcome code (the codebook's variable name).",
    "outcome_name": "Outcome, in words.",
    "unit": "Unit of the effect and its interval.",
    "better": "Whether a higher or a lower value is the better result.",
    "wave": "Survey wave number.",
    "wave_label": "Survey wave.",
    "estimator": "Estimator.",
    "inference": "How the interval and p were computed.",
    "breakdown": "The panel of the page the row comes from.",
    "group": "The group within the breakdown (or the two branches compared).",
    "covers": "Which clients the estimate uses, given the branches chosen.",
    "effect": "Estimated effect of the programme in the group, in the outcome's unit "
    "(for a branch difference: the first branch's effect minus the second's).",
    "ci95_low": "Lower end of the 95% interval of the effect.",
    "ci95_high": "Upper end of the 95% interval of the effect.",
    "pooled_effect": "Partially pooled (empirical Bayes) effect: the branch's own estimate "
    "shrunk toward the average of all branches (branches only).",
    "pooled_ci95_low": "Lower end of the 95% interval of the pooled effect.",
    "pooled_ci95_high": "Upper end of the 95% interval of the pooled effect.",
    "n_programme": "Units in the estimation sample, programme arm.",
    "n_comparison": "Units in the estimation sample, comparison arm.",
    "p_value": "Two-sided p of the group's own effect (of the difference, for a branch difference).",
    "verdict": "Improved or worsened when the group's own p is at most 0.05; "
    "for a branch difference whether the two branches' effects can be told apart.",
    "heterogeneity_p": "p of the test that the effect is the same in every group of the "
    "breakdown (computed across all its groups, whatever is chosen).",
    "suppressed": "True when a group has too few units in an arm: its numbers are left "
    "empty (the verdict says 'too few' and the study's units).",
}
NUMBERS = [
    "effect",
    "ci95_low",
    "ci95_high",
    "pooled_effect",
    "pooled_ci95_low",
    "pooled_ci95_high",
    "n_programme",
    "n_comparison",
    "p_value",
    "heterogeneity_p",
]


@functools.lru_cache(maxsize=8)
def _nesting_at(path: str, mtime: float, outer: str, inner: str) -> tuple[tuple[str, str], ...]:
    cols = pd.read_parquet(path, columns=[outer, inner]).dropna().drop_duplicates()
    if cols.groupby(inner)[outer].nunique().max() != 1:
        return ()  # a branch in two provinces: no nesting to filter by
    return tuple((str(i), str(o)) for i, o in zip(cols[inner], cols[outer], strict=True))


def nesting(outer: str, inner: str = POOLED) -> dict[str, str]:
    """``inner`` group -> the ``outer`` group it lies in (branch -> province), read from
    the study's panel (two columns, no individual data leaves this function); {} when
    the panel lacks either column or the groups are not nested."""
    path = Path(get_artifacts().build_path) / "panel.parquet"
    try:
        import pyarrow.parquet as pq

        names = set(pq.read_schema(path).names)
    except (OSError, ValueError):
        return {}
    if outer not in names or inner not in names or outer == inner:
        return {}
    return dict(_nesting_at(str(path), path.stat().st_mtime, outer, inner))


def shown_first(
    first: str, all_groups: list[str], branches: tuple[str, ...], label: str | None = None
) -> tuple[list[str], str]:
    """The first breakdown's (``first``, in words ``label``) groups the page shows for
    ``branches`` and a sentence saying what they cover."""
    nest = nesting(first)
    first = (label or first).lower()
    if not nest or not branches:
        why = (
            "No branch is chosen, so every group is shown."
            if nest
            else f"The branch choice does not filter this panel: the data do not say which {first} each branch lies in."
        )
        return list(all_groups), why
    keep = [g for g in all_groups if g in {nest.get(b) for b in branches}]
    if not keep:
        return list(
            all_groups
        ), "None of the chosen branches lies in these groups, so every group is shown."
    return keep, (
        f"Shown: the {first} of the chosen branches ({', '.join(keep)}). "
        f"Each {first}'s estimate uses all its branches, not only the chosen ones; "
        "the results have no estimate for part of it."
    )


def compare_two(rows: pd.DataFrame, branches: tuple[str, ...]) -> dict:
    """The direct comparison of exactly two chosen branches: each one's own estimate and
    the difference (Altman & Bland 2003; analysis.compare).  ``status`` says why there is
    no difference when there is none."""
    if len(branches) != 2:
        return {"status": "Choose exactly two branches to compare them directly."}
    by = rows.set_index("sample")
    a, b = branches
    if a not in by.index or b not in by.index:
        return {"status": "One of the chosen branches has no estimate for this outcome and wave."}
    ra, rb = by.loc[a], by.loc[b]
    if bool(ra["suppressed"]) or bool(rb["suppressed"]):
        return {
            "status": f"Cannot be told: a chosen branch has {too_few()} in an arm, so its "
            "estimate is suppressed."
        }
    try:
        d = difference(
            ra["estimate"], ra["std_error"], _num(ra.get("df")),
            rb["estimate"], rb["std_error"], _num(rb.get("df")),
        )  # fmt: skip
    except ComparisonError as exc:
        return {"status": f"Cannot be told: {exc}."}
    return {"status": "", "a": a, "b": b, "difference": d}


def _num(v) -> float:
    try:
        out = float(v)
    except (TypeError, ValueError):
        return math.nan
    return out


def difference_verdict(d) -> str:
    return "the effects differ" if d.distinguishable else "cannot be told apart"


def page_frame(
    *,
    method: str,
    wave: int,
    inference: str,
    branches: tuple[str, ...],
    first: str,
    labels: dict[str, str],
    all_label: str,
    outcomes: list[str] | None = None,
) -> pd.DataFrame:
    """Exactly what the Breakdowns page shows for these choices, for every outcome (or
    ``outcomes``): one row per group, suppressed groups with empty numbers, and the
    difference of two chosen branches.  ``labels``: breakdown -> readable name."""
    res = get_artifacts().results
    sel = res[
        (res["method"] == method) & (res["wave"] == int(wave)) & (res["inference"] == inference)
    ]
    if outcomes is not None:
        sel = sel[sel["outcome"].isin(outcomes)]
    firsts = sorted(sel.loc[sel["sample_type"] == first, "sample"].unique())
    keep_first, _ = shown_first(first, firsts, branches)
    has_branch = (sel["sample_type"] == POOLED).any()
    wanted = sel[
        (sel["sample_type"] == "all")
        | ((sel["sample_type"] == first) & sel["sample"].isin(keep_first))
        | ((sel["sample_type"] == POOLED) & sel["sample"].isin(branches))
        | ((sel["sample_type"] == "sex") & (first != "sex"))
    ]
    order = {"all": 0, first: 1, POOLED: 2, "sex": 3}
    wanted = wanted.assign(_o=wanted["sample_type"].map(order)).sort_values(
        ["_o", "sample"], kind="stable"
    )
    outcome_order = list(dict.fromkeys(sel["outcome"]))
    recs = []
    for outcome in outcome_order:
        rows = wanted[wanted["outcome"] == outcome]
        for r in records(rows):
            st = r["sample_type"]
            covers = {
                "all": "all branches",
                first: "all branches of the group" if has_branch else "the group",
                POOLED: "the branch",
                "sex": "all branches",
            }[st]
            rec = _base(r, method, inference) | {
                "breakdown": all_label if st == "all" else labels.get(st, st),
                "group": r["sample"],
                "covers": covers,
                "effect": r["estimate"],
                "ci95_low": r["ci95_low"],
                "ci95_high": r["ci95_high"],
                "pooled_effect": r["eb_estimate"] if st == POOLED else math.nan,
                "pooled_ci95_low": r["eb_ci95_low"] if st == POOLED else math.nan,
                "pooled_ci95_high": r["eb_ci95_high"] if st == POOLED else math.nan,
                "n_programme": r["n_programme"],
                "n_comparison": r["n_comparison"],
                "p_value": r["p_value"],
                "verdict": r["verdict"],
                "heterogeneity_p": r["heterogeneity_p"] if st != "all" else math.nan,
                "suppressed": bool(r["suppressed"]),
            }
            if rec["suppressed"]:
                rec.update({k: math.nan for k in NUMBERS if k != "heterogeneity_p"})
                rec["verdict"] = too_few()
            recs.append(rec)
        if has_branch and len(branches) == 2 and len(rows):
            cmp = compare_two(rows[rows["sample_type"] == POOLED], branches)
            d = cmp.get("difference")
            rec = _base(rows.iloc[0].to_dict(), method, inference) | {
                "breakdown": DIFFERENCE,
                "group": f"{branches[0]} minus {branches[1]}",
                "covers": "the two branches",
                **{k: math.nan for k in NUMBERS},
                "verdict": difference_verdict(d) if d else cmp["status"],
                "suppressed": False,
            }
            if d:
                rec.update(
                    effect=d.estimate, ci95_low=d.ci95_low, ci95_high=d.ci95_high, p_value=d.p_value
                )
            recs.append(rec)
    out = pd.DataFrame(recs, columns=list(COLUMNS))
    for c in ("n_programme", "n_comparison"):
        out[c] = pd.to_numeric(out[c]).astype("Int64")
    return out


def _base(r: dict, method: str, inference: str) -> dict:
    return {
        "outcome": r["outcome"],
        "outcome_name": r["short"],
        "unit": r["unit"],
        "better": r["better"],
        "wave": int(r["wave"]),
        "wave_label": r["wave_label"],
        "estimator": METHOD_LABELS.get(method, method),
        "inference": inference,
    }


def about_rows(spec: str, branches: tuple[str, ...], missing: list[str]) -> list[tuple[str, str]]:
    """The XLSX "About" sheet: provenance, the demo/real label with licence credit, the
    choices, then a definition for every column."""
    arts = get_artifacts()
    kind = arts.data_kind
    rows = [
        (
            "About this file",
            "Breakdowns: the effects shown on the dashboard's Breakdowns page, for every outcome.",
        ),
        ("Data", ("SIMULATED DEMONSTRATION DATA. " if kind == "demo" else "") + arts.data_label),
        ("Data kind", kind),
    ]
    if arts.data_credit:
        rows.append(("Licence and credit", arts.data_credit))
    rows += [
        ("Specification", spec),
        ("Branches chosen", ", ".join(branches) or "none"),
        ("Results built", str(arts.results_manifest.get("built_at", "unknown"))),
        (
            "Results fingerprint",
            str(
                arts.results_manifest.get("results_sha256")
                or arts.results_manifest.get("panel_sha256")
                or "unknown"
            ),
        ),
        ("File made", datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")),
        (
            "Privacy",
            f"Aggregate results only: no individual rows. Groups with {too_few()} in an arm have empty numbers.",
        ),
    ]
    if missing:
        rows.append(("Outcomes not measured in this wave", ", ".join(missing)))
    rows.append(("", ""))
    rows.append(("Column", "Definition"))
    rows += list(COLUMNS.items())
    return rows


def spec_sentence(method: str, inference: str, wave_label: str) -> str:
    inf = INFERENCE_LABELS.get(inference, inference)
    return f"Estimator: {METHOD_LABELS.get(method, method)}; inference: {inf}; wave: {wave_label}."


def file_base(
    study_slug: str, method: str, inference: str, wave_label: str, branches: tuple[str, ...]
) -> str:
    return slug(f"{study_slug}-breakdowns", method, inference, wave_label, *branches)


def csv_payload(frame: pd.DataFrame, *, spec: str, branches: tuple[str, ...], base: str) -> dict:
    """dcc.Download data: the CSV with the provenance as one cell in row 1."""
    arts = get_artifacts()
    chosen = f"Branches chosen: {', '.join(branches) or 'none'}." if branches else ""
    text = csv_text(frame, label=arts.data_label, spec=f"{spec} {chosen}".strip())
    return {"content": text, "filename": f"{base}.csv", "type": "text/csv"}


def xlsx_bytes(frame: pd.DataFrame, about: list[tuple[str, str]], *, spec: str) -> bytes:
    """The workbook: the "Breakdowns" sheet (row 1: the provenance line, row 2: the header)
    and the "About" sheet."""
    arts = get_artifacts()
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        frame.to_excel(xw, sheet_name="Breakdowns", index=False, startrow=1)
        ws = xw.sheets["Breakdowns"]
        ws["A1"] = provenance_line(label=arts.data_label, spec=spec)
        ws.freeze_panes = "A3"
        pd.DataFrame(about, columns=["Item", "Value"]).to_excel(
            xw, sheet_name="About", index=False, header=False
        )
        about_ws = xw.sheets["About"]
        about_ws.column_dimensions["A"].width = 34
        about_ws.column_dimensions["B"].width = 110
    return buf.getvalue()


def download_data(
    kind: Literal["csv", "xlsx"],
    frame: pd.DataFrame,
    *,
    spec: str,
    about: list[tuple[str, str]],
    base: str,
    branches: tuple[str, ...],
) -> dict:
    """dcc.Download data of the page's table ``frame``: the CSV (:func:`csv_payload`) or the
    workbook with its "About" sheet (:func:`xlsx_bytes`), named ``<base>.csv`` / ``.xlsx``."""
    if kind == "csv":
        return csv_payload(frame, spec=spec, branches=branches, base=base)
    return dcc.send_bytes(xlsx_bytes(frame, about, spec=spec), f"{base}.xlsx")
