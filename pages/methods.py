"""Methods & data: design, sample flow, balance, attrition, minimum detectable effects,
the estimators in words, provenance, the codebook and aggregate downloads."""

from __future__ import annotations

import json

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import ALL, Input, Output, ctx, dcc, html

from components import params as qp
from components.errors import safe_layout
from components.figures import make_balance_plot, make_sample_flow_plot
from components.layout import (
    caption,
    csv_text,
    graph,
    json_block,
    notes_alert,
    problem_page,
    simple_table,
    term,
)
from components.store import METHOD_LABELS, get_artifacts, per_study
from components.studies import page_title, words
from components.studies import post_only as _post_only
from components.theme import fmt_num, fmt_p, fmt_pct, is_missing
from components.views import (
    INFERENCE_LABELS,
    MDE_DESIGN,
    METHOD_ORDER,
    estimator_words,
    n_estimation,
    n_interviewed,
    wave_labels,
)

dash.register_page(
    __name__,
    draws_figures=True,  # the Link: rel=preload hint for plotly.js (components/delivery.py)
    path="/methods",
    name="Methods & data",
    order=4,
    title=page_title("Methods & data"),
    description="Design, sample, balance, attrition, estimators, provenance, codebook and downloads",
)

PAGE = "methods"
NOTES = f"{PAGE}-notes"
DOWNLOAD = f"{PAGE}-download"
DOWNLOAD_TYPE = f"{PAGE}-download-button"
FLOW_FIG = f"{PAGE}-flow-figure"
BALANCE_FIG = f"{PAGE}-balance-figure"


def sample_flow_note() -> str:
    return (
        f"Each effect is estimated on fewer {words()['units']}: those "
        + n_estimation(_post_only()).removeprefix("in the estimation sample: ")
        + " (the estimation sample, shown next to each effect)."
    )


DOWNLOADS = {
    "results": "Full results table (every outcome, estimator, sample and wave)",
    "balance": "Baseline balance table",
    "attrition": "Attrition by arm and wave",
    "sample_flow": "Sample flow by arm and wave",
    "design_mde": "Minimum detectable effects by outcome and wave",
    "means_by_arm": "Outcome means by arm, wave and group (small cells suppressed)",
    "codebook": "Codebook: outcome definitions",
    "manifests": "Provenance manifests (JSON)",
}


def download_frame(name: str) -> pd.DataFrame:
    """An aggregate table for download (no individual rows exist in any of them)."""
    arts = get_artifacts()
    diag = arts.diagnostics
    if name == "results":
        return arts.results.copy()
    if name == "codebook":
        return codebook_frame()
    if name in ("balance", "attrition", "sample_flow", "design_mde", "means_by_arm"):
        return pd.DataFrame(diag.get(name, []))
    raise KeyError(name)


def codebook_frame() -> pd.DataFrame:
    arts = get_artifacts()
    if arts.codebook is None:
        return pd.DataFrame(columns=["outcome", "label", "family_label", "type", "unit", "better"])
    return arts.codebook.outcome_frame()[
        ["outcome", "label", "short", "family_label", "type", "unit", "better"]
    ]


def download_payload(name: str) -> dict:
    """dcc.Download data for one of ``DOWNLOADS``: CSV (or JSON) with the data label."""
    arts = get_artifacts()
    if name == "manifests":
        doc = {
            "data_label": arts.data_label,
            "panel": arts.panel_manifest,
            "results": arts.results_manifest,
        }
        return {
            "content": json.dumps(doc, indent=2, ensure_ascii=False),
            "filename": f"{words()['slug']}-provenance.json",
            "type": "application/json",
        }
    text = csv_text(
        download_frame(name),
        label=arts.data_label,
        spec=f"{DOWNLOADS[name]}. Results built {arts.results_manifest.get('built_at', '?')}.",
    )
    return {
        "content": text,
        "filename": f"{words()['slug']}-{name.replace('_', '-')}.csv",
        "type": "text/csv",
    }


def unavailable_note(name: str) -> dbc.Alert | None:
    """Why a diagnostic does not apply to this study (the build says so), or None."""
    reason = (get_artifacts().diagnostics.get("unavailable") or {}).get(name)
    if not reason:
        return None
    return dbc.Alert(
        f"Not available for this study: {reason}.",
        color="secondary",
        className="py-2 small",
        id=f"{PAGE}-{name.replace('_', '-')}-unavailable",
    )


def mde_wide(
    mde: pd.DataFrame, wl: dict[int, str]
) -> tuple[pd.DataFrame, list[tuple[str, str, object]]]:
    """One row per outcome, the MDE of each follow-up wave side by side."""
    nw = words()
    if mde.empty:
        return mde, [("label", "Outcome", None)]
    waves = sorted(int(w) for w in mde["wave"].unique())
    out = mde.drop_duplicates("outcome")[["outcome", "label"]].set_index("outcome")
    cols: list[tuple[str, str, object]] = [("label", "Outcome", None)]
    for w in waves:
        d = mde[mde["wave"] == w].set_index("outcome")
        name = wl.get(w, str(w))
        out[f"mde_{w}"] = d["mde"]
        out[f"mde_std_{w}"] = d["mde_std"]
        cols += [
            (f"mde_{w}", f"{name}: design MDE (natural units)", fmt_num),
            (f"mde_std_{w}", f"{name}: design MDE (SD)", fmt_num),
        ]
    last = mde[mde["wave"] == waves[-1]].set_index("outcome")
    out["icc"] = last["icc"]
    cols += [("icc", "Intra-cluster correlation (baseline)", fmt_num)]
    if "design_effect" in last:
        out["design_effect"] = last["design_effect"]
        cols += [("design_effect", f"Design effect (unequal {nw['cluster']} sizes)", fmt_num)]
    out["n_clusters"] = last["n_clusters"]
    cols += [("n_clusters", nw["clusters"].capitalize(), lambda v: f"{int(v)}")]
    return out.reset_index(), cols


def mde_table(mde: pd.DataFrame, wl: dict[int, str]) -> html.Div:
    frame, cols = mde_wide(mde, wl)
    return simple_table(
        frame,
        cols,
        caption_text=f"{MDE_DESIGN}: minimum detectable effects of the design (80% power, 5% two-sided), by follow-up wave.",
        nowrap=False,
    )


def _manifest_summary(m: dict, keys: list[tuple[str, str]]) -> html.Dl:
    items = []
    for k, lab in keys:
        v = m.get(k)
        if v is None:
            continue
        if isinstance(v, dict):
            v = ", ".join(f"{a}: {b}" for a, b in v.items())
        items += [
            html.Dt(lab, className="col-sm-4 small"),
            html.Dd(str(v), className="col-sm-8 small mb-1 text-break"),
        ]
    return html.Dl(items, className="row mb-2")


@safe_layout
def subsample_notes(attrition: pd.DataFrame, units: str) -> list:
    """One line per wave that asked a designed sub-sample: why its 'Lost' is empty."""
    if "subsample" not in attrition:
        return []
    subs = attrition.dropna(subset=["subsample"]).drop_duplicates("wave")
    return [
        html.P(
            f"{r.wave_label}: {r.subsample}. It asked a designed sub-sample, so {units} not "
            "interviewed there are not counted as lost (no attrition rate or test).",
            className="small text-body-secondary subsample-note",
        )
        for r in subs.itertuples()
    ]


@per_study
def layout(**kwargs):
    arts = get_artifacts()
    if not arts.ok:
        return problem_page(arts, "Methods & data")
    _, notes = qp.parse([], kwargs)
    diag = arts.diagnostics
    res = arts.results
    flow = pd.DataFrame(diag.get("sample_flow", []))
    balance = pd.DataFrame(diag.get("balance", []))
    attrition = pd.DataFrame(diag.get("attrition", []))
    mde = pd.DataFrame(diag.get("design_mde", []))
    joint = diag.get("balance_joint") or {}
    wl = wave_labels(res)
    settings = arts.results_manifest.get("settings", {})
    weights = res["boot_weights"].dropna().unique().tolist() if "boot_weights" in res else []
    all_rows = res[res["sample_type"] == "all"]
    n_clusters = int(all_rows["n_clusters"].max()) if all_rows["n_clusters"].notna().any() else None
    ev = (arts.profile.get("evaluation") or {}).get("summary", "")
    w = words()

    sections = [
        html.H1("Methods and data", className="h3 mt-3"),
        notes_alert(notes, NOTES),
        html.Section(
            [
                html.H2("Design", className="h5"),
                html.P(ev, className="mb-2") if ev else None,
                html.P(
                    [
                        f"Programme and comparison groups are defined by {w['cluster']}",
                        f" ({n_clusters} {w['clusters']})" if n_clusters else "",
                        ": effects are ",
                        term("intention-to-treat", "itt", PAGE),
                        f" comparisons of all {w['units']} of {w['programme_arm']} with all {w['units']} of {w['comparison_arm']}",
                        *(
                            [
                                ", plus a ",
                                term("LATE (effect on compliers)", "late", PAGE),
                                f": the effect for {w['units']} who took part because their {w['cluster']} was in the programme",
                            ]
                            if set(res["method"]) & {"late", "tot"}
                            else []
                        ),
                        f". Standard errors are clustered by {w['cluster']}, the unit of assignment.",
                    ]
                ),
            ],
            className="mb-4",
        ),
        html.Section(
            [
                html.H2("Sample flow by arm and wave", className="h5"),
                unavailable_note("sample_flow"),
                dbc.Row(
                    [
                        dbc.Col(
                            [
                                graph(
                                    FLOW_FIG,
                                    make_sample_flow_plot(flow),
                                    f"{w['slug']}-sample-flow",
                                    label="the sample-flow chart",
                                ),
                                caption(
                                    f"{n_interviewed()} at each wave by arm. {sample_flow_note()} Data: {arts.data_label}."
                                ),
                            ],
                            xs=12,
                            lg=6,
                        ),
                        dbc.Col(
                            simple_table(
                                flow,
                                [
                                    ("wave_label", "Wave", None),
                                    ("arm", w["clusters"].capitalize(), None),
                                    ("n_clients", n_interviewed(), lambda v: f"{int(v):,}"),
                                    (
                                        "share_received_fe",
                                        "Had taken part",
                                        lambda v: fmt_pct(v),
                                    ),
                                ],
                                caption_text=f"Sample flow (the chart's table): {w['units']} interviewed, not the estimation sample.",
                            ),
                            xs=12,
                            lg=6,
                        ),
                    ],
                    className="g-3",
                ),
            ],
            className="mb-4",
        ),
        html.Section(
            [
                html.H2("Attrition", className="h5"),
                html.P(
                    f"{w['units'].capitalize()} interviewed at baseline but not found again. Attrition that differs between the arms could bias the comparison.",
                    className="small text-body-secondary",
                ),
                simple_table(
                    attrition,
                    [
                        ("wave_label", "Wave", None),
                        ("arm", w["clusters"].capitalize(), None),
                        ("n_baseline", "At baseline", lambda v: f"{int(v):,}"),
                        ("n_interviewed", "Interviewed", lambda v: f"{int(v):,}"),
                        ("attrition_rate", "Lost", lambda v: fmt_pct(v, 1)),
                        (
                            "differential",
                            "Difference between arms",
                            lambda v: "–" if is_missing(v) else f"{100 * float(v):+.1f} points",
                        ),
                        ("differential_p", "p (difference)", fmt_p),
                    ],
                    caption_text="Attrition by arm and wave.",
                ),
                *subsample_notes(attrition, w["units"]),
            ],
            className="mb-4",
        ),
        html.Section(
            [
                html.H2("Balance at baseline", className="h5"),
                html.P(
                    [
                        "Were the two groups alike before the programme? Differences are programme minus comparison. ",
                        f"Joint test of all {joint.get('n_characteristics', '')} baseline characteristics "
                        f"(the first {joint.get('n_rows', '')} rows; a category list counts once): "
                        f"F = {fmt_num(joint.get('joint_F'))}, p = {fmt_p(joint.get('joint_p'))}."
                        if joint
                        else "",
                    ],
                    className="small text-body-secondary",
                ),
                dbc.Row(
                    [
                        dbc.Col(
                            [
                                graph(
                                    BALANCE_FIG,
                                    make_balance_plot(balance),
                                    f"{w['slug']}-baseline-balance",
                                    label="the balance chart",
                                ),
                                caption(
                                    "Normalised difference = difference in means divided by the pooled standard deviation."
                                ),
                            ],
                            xs=12,
                            xl=5,
                        ),
                        dbc.Col(
                            simple_table(
                                balance,
                                [
                                    ("variable", "Characteristic", None),
                                    ("mean_programme", "Programme", fmt_num),
                                    ("mean_comparison", "Comparison", fmt_num),
                                    ("difference", "Difference", fmt_num),
                                    ("normalised_difference", "Normalised", fmt_num),
                                    ("p_value", "p", fmt_p),
                                ],
                                caption_text="Baseline balance (the chart's table).",
                            ),
                            xs=12,
                            xl=7,
                        ),
                    ],
                    className="g-3",
                ),
            ],
            className="mb-4",
        ),
        html.Section(
            [
                html.H2(["Minimum detectable effects of the design", " "], className="h5"),
                html.P(
                    [
                        "The ",
                        term("minimum detectable effect", "mde", f"{PAGE}-mde"),
                        " of the design for each outcome, computed before looking at any effect: "
                        f"from the number of {w['clusters']}, {w['units']} per {w['cluster']} and how alike {w['units']} of a {w['cluster']} are (intra-cluster correlation). "
                        "The Effects page shows a second one next to each estimate, the MDE from that estimate's standard error; "
                        f"it reflects the estimator and the {w['units']} actually analysed, so the two differ.",
                    ],
                    className="small text-body-secondary",
                ),
                unavailable_note("design_mde") or mde_table(mde, wl),
            ],
            className="mb-4",
        ),
        html.Section(
            [
                html.H2("The estimators, in words", className="h5"),
                html.Dl(
                    [
                        x
                        for m in METHOD_ORDER
                        if m in set(res["method"])
                        for x in (
                            html.Dt(METHOD_LABELS.get(m, m)),
                            html.Dd(estimator_words()[m], className="mb-2"),
                        )
                    ],
                ),
                html.H3("Inference", className="h6"),
                html.Ul(
                    [
                        html.Li(
                            [
                                html.Strong(INFERENCE_LABELS["cluster"] + ": "),
                                f"clustered by {w['cluster']} (CR1 small-sample correction), with t-distribution critical values on ({w['clusters']} − 1) degrees of freedom.",
                            ]
                        ),
                        html.Li(
                            [
                                html.Strong(term(INFERENCE_LABELS["wild"], "wild", f"{PAGE}-inf")),
                                f": restricted wild cluster bootstrap with {settings.get('boot_draws', '?')} draws (weights: {', '.join(weights) or 'n/a'}; seed {settings.get('boot_seed', '?')}); p-values and intervals by test inversion.",
                            ]
                        ),
                        html.Li(
                            [
                                html.Strong("Many outcomes: "),
                                term("sharpened q-values", "q", f"{PAGE}-mt"),
                                " (Anderson 2008) across all outcomes and within each family, and a standardised ",
                                term("index per family", "index", f"{PAGE}-mt"),
                                ". For all clients, an outcome is called improved or worsened only when both its q across all outcomes and its p are at most 0.05; "
                                "in a province, branch or group of women or men, when that group's own p is at most 0.05 (shown next to the verdict).",
                            ]
                        ),
                        html.Li(
                            [
                                html.Strong("Groups: "),
                                "each group estimated alone, and ",
                                term("partially pooled", "pooled", f"{PAGE}-eb"),
                                f" (empirical Bayes). Groups with fewer than {settings.get('min_cell', '?')} {w['units']} in an arm are suppressed everywhere.",
                            ]
                        ),
                    ],
                    className="small",
                ),
            ],
            className="mb-4",
        ),
        html.Section(
            [
                html.H2("Provenance", className="h5"),
                dbc.Alert(
                    [arts.data_label, f". {arts.data_credit}" if arts.data_credit else None],
                    color="warning" if arts.data_kind == "demo" else "info",
                    className="py-2",
                ),
                dbc.Row(
                    [
                        dbc.Col(
                            [
                                html.H3("Processed panel", className="h6"),
                                _manifest_summary(
                                    arts.panel_manifest,
                                    [
                                        ("kind", "Kind"),
                                        ("built_at", "Built"),
                                        ("n_rows", f"{w['unit'].capitalize()}-waves"),
                                        (
                                            "n_clients_baseline",
                                            f"{w['units'].capitalize()} at baseline",
                                        ),
                                        ("waves", "Waves"),
                                        ("panel_sha256", "Content hash"),
                                        ("code_version", "Code version"),
                                    ],
                                ),
                                html.Details(
                                    [
                                        html.Summary("Full manifest", className="small"),
                                        json_block(arts.panel_manifest),
                                    ]
                                ),
                            ],
                            xs=12,
                            lg=6,
                        ),
                        dbc.Col(
                            [
                                html.H3("Results table", className="h6"),
                                _manifest_summary(
                                    arts.results_manifest,
                                    [
                                        ("built_at", "Built"),
                                        ("n_rows", "Rows"),
                                        ("panel_sha256", "From panel"),
                                        ("code_fingerprint", "Analysis code"),
                                        ("settings", "Settings"),
                                        ("build_seconds", "Build time (s)"),
                                    ],
                                ),
                                html.Details(
                                    [
                                        html.Summary("Full manifest", className="small"),
                                        json_block(arts.results_manifest),
                                    ]
                                ),
                            ],
                            xs=12,
                            lg=6,
                        ),
                    ],
                    className="g-3",
                ),
            ],
            className="mb-4",
        ),
        html.Section(
            [
                html.H2("Codebook: the outcomes", className="h5"),
                simple_table(
                    codebook_frame(),
                    [
                        ("outcome", "Name", None),
                        ("label", "Question / definition", None),
                        ("family_label", "Family", None),
                        ("type", "Type", None),
                        ("unit", "Unit", None),
                        ("better", "Better when", None),
                    ],
                    caption_text="Outcome definitions from the codebook.",
                ),
            ],
            className="mb-4",
        ),
        html.Section(
            [
                html.H2("Downloads (aggregate tables only)", className="h5"),
                html.P(
                    f"Every file starts with the data-provenance label. No file contains individual {w['units']}.",
                    className="small text-body-secondary",
                ),
                html.Div(
                    [
                        html.Button(
                            label,
                            id={"type": DOWNLOAD_TYPE, "index": key},
                            className="btn btn-outline-primary btn-sm",
                        )
                        for key, label in DOWNLOADS.items()
                    ],
                    className="d-flex flex-wrap gap-2",
                ),
                dcc.Download(id=DOWNLOAD),
            ],
            className="mb-4",
        ),
    ]
    return html.Div(sections)


@dash.callback(
    Output(DOWNLOAD, "data"),
    Input({"type": DOWNLOAD_TYPE, "index": ALL}, "n_clicks"),
    prevent_initial_call=True,
)
def download(_clicks):
    trig = ctx.triggered_id
    if not isinstance(trig, dict) or trig.get("index") not in DOWNLOADS or not any(_clicks or []):
        return dash.no_update
    return download_payload(trig["index"])
