"""Effects: a forest plot of every outcome with 90/95/99% intervals, a sortable table,
a CSV download of what is in view, and a per-outcome detail with means by arm."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, State, dcc, html

from analysis.findings import finding_sentence
from components import params as qp
from components.cache import memoize
from components.display import DEFAULT_DIRECTION, DIRECTIONS, direction_param
from components.errors import safe_layout
from components.figures import make_forest_plot, make_means_plot
from components.frames import records
from components.later import later_figures
from components.layout import (
    caption,
    control,
    csv_text,
    data_grid,
    fitted_columns,
    graph,
    notes_alert,
    page_intro,
    problem_page,
    simple_table,
    term,
    verdict_badge,
)
from components.present import FIT, present_keep
from components.shown import changed_only, shown_store
from components.spec import (
    register_inference_menu,
    settle_inference,
    spec_controls,
    spec_params,
)
from components.store import METHOD_LABELS, METHOD_SHORT, get_artifacts, per_study
from components.studies import page_title, words
from components.studies import post_only as _post_only
from components.theme import (
    VERDICT_LABELS,
    fmt_num,
    fmt_p,
    is_missing,
    named,
    slug,
    too_few,
)
from components.urlstate import LOCATION, page_search, search_store
from components.viewport import VIEWPORT, crossed, crossed_store, is_narrow
from components.views import (
    DEFAULT_SCALE,
    INFERENCE_LABELS,
    LEVELS,
    MDE_ESTIMATE,
    METHOD_ORDER,
    MULTIPLE_TESTING,
    SCALES,
    Spec,
    effect_words,
    effective_inference,
    n_estimation,
    options,
    ordered,
    outcome_meta,
    outcome_rows,
    per_table,
    sample_note,
    scaled_rows,
    select,
    specification_text,
    wave_labels,
)

dash.register_page(
    __name__,
    draws_figures=True,  # the Link: rel=preload hint for plotly.js (components/delivery.py)
    path="/effects",
    name="Effects",
    order=2,
    title=page_title("Effects"),
    description="Forest plot and table of every outcome's effect, with intervals and q-values",
)

PAGE = "effects"
NOTES = f"{PAGE}-notes"
METHOD = f"{PAGE}-method"
WAVE = f"{PAGE}-wave"
INFERENCE = f"{PAGE}-inference"
SCALE = f"{PAGE}-scale"
LEVEL = f"{PAGE}-level"
MT = f"{PAGE}-mt"
OUTCOME = f"{PAGE}-outcome"
FOREST = f"{PAGE}-forest"
FOREST_CAPTION = f"{PAGE}-forest-caption"
VIEW_NOTE = f"{PAGE}-view-note"
GRID = f"{PAGE}-grid"
CSV_BUTTON = f"{PAGE}-csv-button"
CSV_DOWNLOAD = f"{PAGE}-csv-download"
MEANS = f"{PAGE}-means"
DETAIL_TITLE = f"{PAGE}-detail-title"
DETAIL_SENTENCE = f"{PAGE}-detail-sentence"
DETAIL_TABLE = f"{PAGE}-detail-table"
DETAIL_CAPTION = f"{PAGE}-detail-caption"
DIRECTION = f"{PAGE}-direction"
PHONE_LIST = f"{PAGE}-phone-list"
FOREST_SHOWN = f"{PAGE}-forest-shown"
# the grid's new rows, handed to the grid once the forest plot has been redrawn (see below)
GRID_ROWS = f"{PAGE}-grid-rows"
DETAIL_SHOWN = f"{PAGE}-detail-shown"
# the page's own view parameters, in the order of its layout's and write_url's arguments
VIEW_NAMES = ("method", "wave", "inference", "scale", "level", "mt", "outcome", "direction")


def param_specs() -> list[qp.Param]:
    arts = get_artifacts()
    opts = options(arts.results)
    outcomes = opts["outcome"]
    return [
        *spec_params(arts.results),
        # one common unit by default: outcomes in different units share one axis (issue 13)
        qp.Param(
            "scale", list(SCALES), DEFAULT_SCALE, "scale", describe=lambda v: SCALES[v].lower()
        ),
        qp.Param("level", list(LEVELS), "95", "interval level", describe=lambda v: f"{v}%"),
        qp.Param(
            "mt",
            list(MULTIPLE_TESTING),
            "q",
            "multiple-testing view",
            describe=lambda v: MULTIPLE_TESTING[v].lower(),
        ),
        qp.Param("outcome", outcomes, outcomes[0], "outcome"),
        direction_param(),
    ]


# ---------------------------------------------------------------- pure view functions


def view_values(method, wave, inference, scale, level, mt, direction=None) -> tuple[str, ...]:
    """The view controls, each checked against its allowed values (defaults otherwise)."""
    names = ("method", "wave", "inference", "scale", "level", "mt", "direction")
    specs = [p for p in param_specs() if p.name in names]
    values, _ = qp.parse(
        specs,
        dict(zip(names, (method, wave, inference, scale, level, mt, direction), strict=True)),
    )
    return tuple(values[n] for n in names)


def view_rows(
    method: str, wave: str, inference: str, scale: str, mt: str
) -> tuple[pd.DataFrame, Spec, str | None]:
    """The rows in view on the chosen scale, the effective specification and a note."""
    res = get_artifacts().results
    inf, note = effective_inference(method, inference, res)
    spec = Spec(method=method, inference=inf, wave=int(wave))
    rows = scaled_rows(ordered(select(res, spec)), scale, mt)
    if scale == "pct":
        skipped = rows.loc[~rows["suppressed"] & ~rows["shown"], "short"].tolist()
        if skipped:
            extra = f"% of the comparison mean is not meaningful for {', '.join(skipped)} (standardised indices and log outcomes); they are left out on this scale."
            note = f"{note} {extra}" if note else extra
    return rows, spec, note


def table_frame(rows: pd.DataFrame, scale: str, level: str) -> pd.DataFrame:
    """The table in view (also the CSV): one row per outcome, the effect, its interval and
    MDE in the outcome's own unit (``unit``), as estimated (programme minus comparison);
    on another scale, the plot's number too (``effect_std`` / ``effect_pct``)."""
    ok = ~rows["suppressed"] & rows["estimate"].notna()
    extra = {} if scale == "natural" else {f"effect_{scale}": rows["x"].where(rows["shown"])}
    out = pd.DataFrame(
        {
            "family": rows["family_label"],
            "outcome": rows["short"],
            "is_index": rows["is_index"],
            "verdict": [VERDICT_LABELS.get(v, v) for v in rows["view_verdict"]],
            "effect": rows["estimate"].where(ok),
            "unit": rows["unit"],
            f"ci{level}_low": rows[f"ci{level}_low"].where(ok),
            f"ci{level}_high": rows[f"ci{level}_high"].where(ok),
            **extra,
            "better": rows["better"],
            "p_value": rows["p_value"],
            "q_value": rows["q_value"],
            "q_value_family": rows["q_value_family"],
            "mde": rows["mde"].where(ok),
            "comparison_mean": rows["comparison_mean"],
            "n_programme": rows["n_programme"],
            "n_comparison": rows["n_comparison"],
            "n_clusters": rows["n_clusters"],
            "note": [
                too_few() if s else ("" if o else "not estimable")
                for s, o in zip(rows["suppressed"], ok, strict=True)
            ],
        }
    )
    return out.reset_index(drop=True)


def _number_format(dec: int) -> dict:
    # a non-zero number never reads 0: below half a unit of the last decimal, two significant figures
    return {
        "function": f"params.value == null ? (params.data.note || '–') : "
        f"(params.value !== 0 && Math.abs(params.value) < 0.5e-{dec} ? d3.format('.2r')(params.value) "
        f": d3.format(',.{dec}f')(params.value))"
    }


def grid_columns(scale: str, level: str) -> list[dict]:
    """The table's columns: the outcome, its verdict, then the effect in the outcome's own
    unit (the unit beside it), then the plot's scale when that is another one."""
    w = words()
    num = _number_format(3)
    pfmt = {
        "function": "params.value == null ? '–' : (params.value < 0.001 ? '< 0.001' : d3.format('.3f')(params.value))"
    }
    cnt = {"function": "params.value == null ? '–' : d3.format(',')(params.value)"}
    on_scale = (
        []
        if scale == "natural"
        else [
            {
                "field": f"effect_{scale}",
                "headerName": "Effect (SD)" if scale == "std" else "Effect (% of comparison mean)",
                "headerTooltip": f"The effect as the forest plot's scale shows it: {SCALES[scale]}; "
                "as estimated (programme minus comparison).",
                "type": "rightAligned",
                "valueFormatter": _number_format(1 if scale == "pct" else 3),
            }
        ]
    )
    return [
        {
            "field": "outcome",
            "headerName": "Outcome",
            "minWidth": 170,
            "pinned": "left",
            "cellClass": "fw-semibold",
        },
        {"field": "verdict", "headerName": "Verdict", "minWidth": 130},
        {
            "field": "effect",
            "headerName": "Effect (outcome's own unit)",
            "headerTooltip": "Programme minus comparison, in the unit in the next column.",
            "type": "rightAligned",
            "valueFormatter": num,
        },
        {"field": "unit", "headerName": "Unit", "minWidth": 150},
        {
            "field": f"ci{level}_low",
            "headerName": f"{level}% CI low (own unit)",
            "type": "rightAligned",
            "valueFormatter": num,
        },
        {
            "field": f"ci{level}_high",
            "headerName": f"{level}% CI high (own unit)",
            "type": "rightAligned",
            "valueFormatter": num,
        },
        *on_scale,
        {"field": "better", "headerName": "Better when", "minWidth": 110},
        {
            "field": "q_value",
            "headerName": "q (all outcomes)",
            "type": "rightAligned",
            "valueFormatter": pfmt,
        },
        {
            "field": "q_value_family",
            "headerName": "q (family)",
            "type": "rightAligned",
            "valueFormatter": pfmt,
        },
        {"field": "p_value", "headerName": "p", "type": "rightAligned", "valueFormatter": pfmt},
        {
            "field": "mde",
            "headerName": "MDE (from this estimate's SE, own unit)",
            "headerTooltip": f"{MDE_ESTIMATE} (80% power, 5% level). The design MDE on the Methods & data page is computed before the data, so it differs.",
            "type": "rightAligned",
            "valueFormatter": num,
        },
        {
            "field": "comparison_mean",
            "headerName": "Comparison mean",
            "type": "rightAligned",
            "valueFormatter": {
                "function": "params.value == null ? '–' : d3.format(',.3~f')(params.value)"
            },
        },
        {"field": "family", "headerName": "Family", "minWidth": 130},
        {
            "field": "n_programme",
            "headerName": f"Programme {w['units']} (estimation sample)",
            "headerTooltip": f"Programme {w['units']} {n_estimation(_post_only())}.",
            "type": "rightAligned",
            "valueFormatter": cnt,
        },
        {
            "field": "n_comparison",
            "headerName": f"Comparison {w['units']} (estimation sample)",
            "headerTooltip": f"Comparison {w['units']} {n_estimation(_post_only())}.",
            "type": "rightAligned",
            "valueFormatter": cnt,
        },
    ]


def grid_records(frame: pd.DataFrame) -> list[dict]:
    """JSON-safe records (NaN -> None, numpy/Int64 -> Python)."""
    clean = frame.astype(object).where(frame.notna(), None)
    return records(clean)


@memoize
def forest_view(
    method: str,
    wave: str,
    inference: str,
    scale: str,
    level: str,
    mt: str,
    direction: str = DEFAULT_DIRECTION,
):
    """Inputs of the view -> (figure (named for its export), caption, grid rows, grid columns, note, phone list)."""
    arts = get_artifacts()
    rows, spec, note = view_rows(method, wave, inference, scale, mt)
    wl = wave_labels(arts.results).get(spec.wave)
    fig = make_forest_plot(rows, scale=scale, view=mt, level=level, direction=direction)
    filename = slug(
        f"{words()['slug']}-effects",
        spec.method,
        spec.inference,
        wl,
        scale,
        None if direction == DEFAULT_DIRECTION else direction,
    )
    rule = (
        "p at most 0.05"
        if mt == "p"
        else f"{MULTIPLE_TESTING[mt].split(' (')[0]} and p both at most 0.05"
    )
    flipped = (
        " Outcomes where lower is better have their sign flipped, so right of zero is better for every outcome."
        if direction == "improvement"
        else " Each effect has the sign of programme minus comparison: for outcomes where lower is better, left of zero is better."
    )
    cap = [
        specification_text(
            rows, spec, method_labels=METHOD_LABELS, manifest=arts.results_manifest, wave_label=wl
        ),
        f" Plotted: {DIRECTIONS[direction].split(' (')[0].lower()}, {SCALES[scale].lower()}.{flipped}"
        " The table and the hover give each effect in the outcome's own unit.",
        f" Thick bar: 90% interval; medium: 95%; thin line: 99%. ▲ improved and ▼ worsened ({rule}); "
        "○ no detectable effect. Larger markers are family indices. Grey ticks at ± the minimum detectable effect for effects not detected "
        "(the MDE from each estimate's standard error; the design MDE on the Methods & data page is computed before the data).",
    ]
    records = grid_records(table_frame(rows, scale, level))
    note_children = dbc.Alert(note, color="info", className="py-2 small mb-2") if note else None
    return (
        named(fig, filename),
        cap,
        records,
        fitted_columns(records, grid_columns(scale, level)),
        note_children,
        phone_list(rows, level),
    )


def phone_list(rows: pd.DataFrame, level: str) -> list:
    """The table for a narrow screen: per outcome its verdict, effect and interval in its own
    unit, on a few short lines (no sideways scrolling).  Shown below 768 px instead of the grid."""
    items = []
    for r in records(rows):
        if r["suppressed"] or is_missing(r["estimate"]):
            effect, ci = (too_few() if r["suppressed"] else "not estimable"), ""
        else:
            effect = effect_words(r)
            ci = f"{level}% interval: {fmt_num(r[f'ci{level}_low'])} to {fmt_num(r[f'ci{level}_high'])}"
        items.append(
            html.Li(
                [
                    html.Div(
                        [
                            html.Span(r["short"], className="fw-semibold"),
                            verdict_badge(r["view_verdict"]),
                        ],
                        className="d-flex justify-content-between align-items-start gap-2",
                    ),
                    html.Div(effect, className="phone-effect"),
                    html.Div(ci, className="small text-body-secondary") if ci else None,
                ],
                className="list-group-item px-2 py-1",
                **{"data-outcome": r["outcome"]},
            )
        )
    return [html.Ul(items, className="list-group list-group-flush small")]


# the means by arm of the artefacts that hold that results table (their diagnostics)
_MEANS: dict = {}


@memoize
def detail_view(outcome: str, method: str, wave: str, inference: str):
    """One outcome: means by arm over the waves and its effect under every estimator."""
    arts = get_artifacts()
    w = words()
    res = arts.results
    inf, _ = effective_inference(method, inference, res)
    meta = outcome_meta(res, outcome)
    wl = wave_labels(res, arts.panel_manifest)
    means = per_table(_MEANS, res, lambda: pd.DataFrame(arts.diagnostics.get("means_by_arm", [])))
    if not means.empty:
        means = means[(means["outcome"] == outcome) & (means["sample_type"] == "all")]
    fig = make_means_plot(
        means, outcome_label=str(meta["short"]), unit=str(meta["unit"]), wave_labels=wl
    )
    sub = outcome_rows(res, outcome, int(wave), "all")
    rows = []
    sentence = ""
    for m in METHOD_ORDER:
        g = sub[sub["method"] == m]
        if g.empty:
            continue
        pick = g[g["inference"] == inf]
        r = (pick if not pick.empty else g).iloc[0]
        if m == method:
            sentence = finding_sentence(r.to_dict())
        rows.append(
            {
                "Estimator": METHOD_SHORT.get(m, m) + (" (selected)" if m == method else ""),
                "Inference": INFERENCE_LABELS.get(r["inference"], r["inference"]),
                "Effect": effect_words(r.to_dict()),
                "95% interval": too_few()
                if r["suppressed"]
                else f"{fmt_num(r['ci95_low'])} to {fmt_num(r['ci95_high'])}",
                "q": fmt_p(r["q_value"]),
                "p": fmt_p(r["p_value"]),
                "Verdict": r["verdict"],
            }
        )
    table = simple_table(
        pd.DataFrame(rows),
        [
            ("Estimator", "Estimator", None),
            ("Inference", "Inference", None),
            ("Effect", "Effect", None),
            ("95% interval", "95% interval", None),
            ("q", "q (all outcomes)", None),
            ("p", "p", None),
            ("Verdict", "Verdict", lambda v: verdict_badge(v)),
        ],
        caption_text=f"{meta['short']}: the same effect under every estimator ({wl.get(int(wave))}{'' if method == 'post' else ' vs baseline'}, all {w['units']}).",
    )
    if not rows:
        asked = sorted(int(x) for x in res.loc[res["outcome"] == outcome, "wave"].unique())
        sentence = (
            f"{meta['short']} was not measured at {wl.get(int(wave), wave)}; it was measured at "
            + ", ".join(str(wl.get(x, x)) for x in asked)
            + ". Choose one of those waves above."
        )
    table = html.Div([html.P(sentence, className="mb-2", id=DETAIL_SENTENCE), table])
    title = f"{meta['short']} — {meta['label']}"
    cap = (
        f"Average of {meta['short'].lower()} in {w['programme_arm']} and {w['comparison_arm']} at each survey wave (all {w['units']} interviewed at that wave), "
        f"with 95% intervals of the means. Unit: {meta['unit']}; {'higher' if meta['better'] == 'higher' else 'lower'} is better. "
        f"Cells with fewer than {arts.diagnostics.get('min_cell', '?')} {w['units']} are not shown. Data: {arts.data_label}."
    )
    return named(fig, slug(f"{w['slug']}-means-by-arm", outcome)), title, table, cap


# ---------------------------------------------------------------- layout


@safe_layout
@per_study
def layout(
    method=None,
    wave=None,
    inference=None,
    scale=None,
    level=None,
    mt=None,
    outcome=None,
    direction=None,
    **kwargs,
):
    arts = get_artifacts()
    if not arts.ok:
        return problem_page(arts, "Effects")
    specs = param_specs()
    asked = (method, wave, inference, scale, level, mt, outcome, direction)
    query = {k: v for k, v in zip(VIEW_NAMES, asked, strict=True) if v is not None}
    values, notes = qp.parse(specs, {**query, **kwargs})
    values = settle_inference(values, {**query, **kwargs}, arts.results)
    res = arts.results
    w = words()
    outcome_opts = res.drop_duplicates("outcome")[["outcome", "short", "is_index"]]
    forest_args = [
        values[k] for k in ("method", "wave", "inference", "scale", "level", "mt", "direction")
    ]
    detail_args = [values[k] for k in ("outcome", "method", "wave", "inference")]
    # built for a wide screen: the phone list, hidden there, is built once the browser says
    # the screen is narrow (components.viewport)
    fig, cap, grid_rows, grid_cols, note, phone = on_screen(*forest_args, False)
    mfig, dtitle, dtable, dcap = detail_view(*detail_args)
    forest = graph(FOREST, fig, label="the forest plot")
    means = graph(MEANS, mfig, label="the means-by-arm chart", later=True)
    return html.Div(
        [
            page_intro(
                f"Effects — {w['title']}",
                [
                    f"Each row is one outcome of the {w['units']}: the dot is the estimated effect of the programme ({w['units']} of {w['programme_arm']} compared with {w['comparison_arm']}), the bars its ",
                    term("confidence intervals", "ci", PAGE),
                    ". Rows are grouped by outcome family; the ",
                    term("family index", "index", PAGE),
                    " sums each family up. Significance is judged with ",
                    term("q-values", "q", PAGE),
                    " so that testing many outcomes does not produce lucky findings; for effects not detected, the ",
                    term("minimum detectable effect", "mde", PAGE),
                    " says how large an effect could have been missed.",
                ],
                lead_class="lead-sm present-hide",
            ),
            notes_alert(notes, NOTES),
            dbc.Row(
                [
                    *present_keep(spec_controls(PAGE, values, arts.results), WAVE),
                    control(
                        SCALE,
                        term("Scale", "std", f"{PAGE}-ctl"),
                        [(k, v.split(" (")[0]) for k, v in SCALES.items()],
                        values["scale"],
                    ),
                    control(
                        DIRECTION,
                        "Plot direction",
                        [(k, v.split(" (")[0]) for k, v in DIRECTIONS.items()],
                        values["direction"],
                    ),
                    control(
                        LEVEL,
                        "Interval in table",
                        [(lev, f"{lev}%") for lev in LEVELS],
                        values["level"],
                    ),
                    control(
                        MT,
                        term("Multiple testing", "q", f"{PAGE}-ctl"),
                        [(k, v.split(" (")[0]) for k, v in MULTIPLE_TESTING.items()],
                        values["mt"],
                    ),
                ],
                className="controls present-bar g-2 align-items-end",
            ),
            html.Div(note, id=VIEW_NOTE),
            # what the page shows, digested: the wide screen's table (the phone list is
            # empty until the browser says the screen is narrow), the outcome's detail
            shown_store(FOREST_SHOWN, (fig, cap, grid_rows, grid_cols, note, phone)),
            shown_store(DETAIL_SHOWN, (mfig, dtitle, dtable, dcap)),
            dcc.Store(id=GRID_ROWS),
            crossed_store(PAGE),
            search_store(PAGE),
            html.Section(
                [
                    html.H2("Forest plot", className="h5 mt-2 present-hide"),
                    html.Div(forest, className=FIT),
                    caption(cap, id=FOREST_CAPTION),
                    html.P(
                        "Click a point to see that outcome's detail below.",
                        className="small text-body-secondary present-hide",
                    ),
                ],
                **{"aria-label": "Forest plot of effects"},
            ),
            html.Section(
                [
                    html.Div(
                        [
                            html.H2("Table of effects", className="h5 mb-0"),
                            html.Button(
                                "Download CSV of this table",
                                id=CSV_BUTTON,
                                className="btn btn-outline-primary btn-sm",
                            ),
                        ],
                        className="d-flex flex-wrap gap-2 justify-content-between align-items-center mt-3 mb-2",
                    ),
                    html.P(
                        "The same numbers as the plot (its text alternative). Click a column header to sort. "
                        + sample_note(methods=res["method"].unique() if res is not None else ()),
                        className="small text-body-secondary mb-1",
                    ),
                    html.Div(data_grid(GRID, grid_rows, grid_cols), className="d-none d-md-block"),
                    html.Div(
                        phone,
                        id=PHONE_LIST,
                        className="d-md-none",
                        role="region",
                        **{"aria-label": "Effects, one outcome per item"},
                    ),
                    dcc.Download(id=CSV_DOWNLOAD),
                ],
                **{"aria-label": "Table of effects"},
            ),
            html.Section(
                [
                    html.H2("One outcome in detail", className="h5 mt-4"),
                    dbc.Row(
                        present_keep(
                            [
                                control(
                                    OUTCOME,
                                    "Outcome",
                                    [(r.outcome, r.short) for r in outcome_opts.itertuples()],
                                    values["outcome"],
                                    width={"xs": 12, "md": 6, "lg": 4},
                                )
                            ],
                            OUTCOME,
                        )
                    ),
                    html.H3(dtitle, id=DETAIL_TITLE, className="h6 mt-2"),
                    dbc.Row(
                        [
                            dbc.Col([means, caption(dcap, id=DETAIL_CAPTION)], xs=12, xl=5),
                            dbc.Col(html.Div(dtable, id=DETAIL_TABLE), xs=12, xl=7),
                        ],
                        className="g-3",
                    ),
                ],
                **{"aria-label": "One outcome in detail"},
            ),
        ]
    )


# ---------------------------------------------------------------- callbacks (thin)


@dash.callback(
    Output(FOREST, "figure"),
    Output(FOREST_CAPTION, "children"),
    Output(GRID_ROWS, "data"),  # the grid's rowData, a frame later (see below)
    Output(GRID, "columnDefs"),
    Output(VIEW_NOTE, "children"),
    Output(PHONE_LIST, "children"),
    Output(MEANS, "figure"),
    Output(DETAIL_TITLE, "children"),
    Output(DETAIL_TABLE, "children"),
    Output(DETAIL_CAPTION, "children"),
    Output(FOREST_SHOWN, "data"),
    Output(DETAIL_SHOWN, "data"),
    Output(page_search(PAGE), "data"),  # to the address (components.urlstate)
    Input(METHOD, "value"),
    Input(WAVE, "value"),
    Input(INFERENCE, "value"),
    Input(SCALE, "value"),
    Input(LEVEL, "value"),
    Input(MT, "value"),
    Input(DIRECTION, "value"),
    Input(OUTCOME, "value"),
    Input(crossed(PAGE), "data"),
    State(FOREST_SHOWN, "data"),
    State(DETAIL_SHOWN, "data"),
    State(LOCATION, "search"),
    State(VIEWPORT, "data"),
    prevent_initial_call=True,
)
def update(
    method,
    wave,
    inference,
    scale,
    level,
    mt,
    direction=None,
    outcome=None,
    _crossed=None,
    forest_shown=None,
    detail_shown=None,
    current=None,
    screen=None,
):
    """Every change of the page's controls, in one answer: the forest part
    (``update_forest``), the detail part (``update_detail``), each only the outputs that
    changed, and the address.  One callback, not one per part: each request costs the
    browser a round of Dash's bookkeeping, and a change of estimator, wave or inference
    concerns both parts (issue 12)."""
    # a crossing of the breakpoint (_crossed) changes ``screen``, which is read as a State
    *forest, forest_store, search = update_forest(
        method, wave, inference, scale, level, mt, direction, outcome,
        shown=forest_shown, current=current, screen=screen,
    )  # fmt: skip
    if _triggered() in (SCALE, LEVEL, MT, DIRECTION, crossed(PAGE)):
        # the detail does not depend on these: not even built (a worker whose cache lacks it)
        return (*forest, *[dash.no_update] * 4, forest_store, dash.no_update, search)
    *detail, detail_store = update_detail(outcome, method, wave, inference, shown=detail_shown)
    return (*forest, *detail, forest_store, detail_store, search)


# The grid's new rows reach the grid a frame after the answer, once the forest plot has
# been redrawn: the grid re-renders its rows (tens of ms of the main thread), and in the
# same answer it held back the plot a user looks at first (issue 12).  No rows (None, or an
# answer that left them as they were): nothing to do.
dash.clientside_callback(
    """
    function(rows) {
        if (!rows) { return window.dash_clientside.no_update; }
        return new Promise(function(resolve) {
            requestAnimationFrame(function() { setTimeout(function() { resolve(rows); }, 0); });
        });
    }
    """,
    Output(GRID, "rowData"),
    Input(GRID_ROWS, "data"),
    prevent_initial_call=True,
)


def _triggered():
    """The id of the control whose change ran the callback (None when called directly)."""
    try:
        return dash.ctx.triggered_id
    except dash.exceptions.MissingCallbackContextException:
        return None


def update_forest(
    method, wave, inference, scale, level, mt, direction=None, outcome=None, *,
    shown=None, current=None, screen=None,
):  # fmt: skip
    """The forest part of :func:`update`: the forest plot, its table and captions (only the
    outputs that changed, see components.shown), its shown store's new value, and the view
    in the address bar (``write_url``)."""
    args = (*view_values(method, wave, inference, scale, level, mt, direction), is_narrow(screen))
    out, sums = changed_only(on_screen(*args), shown)
    return (*out, sums, write_url(*args[:6], outcome, args[6], current))


def on_screen(*args) -> tuple:
    """What the page shows of ``forest_view(*view)`` on a screen that is ``narrow`` (the last
    argument; components.viewport): on a wide one (False) the phone list, hidden there, is
    left empty so that the browser does not build it; None (not known) keeps both tables."""
    *view, narrow = args
    out = forest_view(*view)
    return (*out[:5], []) if narrow is False else tuple(out)


def write_url(method, wave, inference, scale, level, mt, outcome, direction=None, current=None):
    """The view in the address bar, so that it can be shared and reloaded (the shared
    filters this page does not set, and presentation mode, are kept)."""
    specs = param_specs()
    asked = (method, wave, inference, scale, level, mt, outcome, direction)
    values, _ = qp.parse(specs, dict(zip(VIEW_NAMES, asked, strict=True)))
    return qp.keep_carried(qp.to_search(specs, values), current, [p.name for p in specs])


def update_detail(outcome, method, wave, inference, shown=None):
    """The detail part of :func:`update`: one outcome in detail (only the outputs that
    changed) and its shown store's new value."""
    out, sums = changed_only(detail_view(*detail_values(outcome, method, wave, inference)), shown)
    return (*out, sums)


def detail_values(outcome, method, wave, inference) -> tuple[str, ...]:
    """The detail's controls, each checked against its allowed values (defaults otherwise)."""
    specs = param_specs()
    values, _ = qp.parse(
        [p for p in specs if p.name in ("outcome", "method", "wave", "inference")],
        dict(outcome=outcome, method=method, wave=wave, inference=inference),
    )
    return (values["outcome"], values["method"], values["wave"], values["inference"])


@dash.callback(
    Output(OUTCOME, "value"),
    Input(FOREST, "clickData"),
    prevent_initial_call=True,
)
def pick_outcome(click):
    """A click on a point chooses that outcome for the detail."""
    try:
        outcome = click["points"][0]["customdata"]
    except (TypeError, KeyError, IndexError):
        return dash.no_update
    return outcome if outcome in options(get_artifacts().results)["outcome"] else dash.no_update


@dash.callback(
    Output(CSV_DOWNLOAD, "data"),
    Input(CSV_BUTTON, "n_clicks"),
    State(METHOD, "value"),
    State(WAVE, "value"),
    State(INFERENCE, "value"),
    State(SCALE, "value"),
    State(LEVEL, "value"),
    State(MT, "value"),
    prevent_initial_call=True,
)
def download_csv(n_clicks, method, wave, inference, scale, level, mt):
    if not n_clicks:
        return dash.no_update
    method, wave, inference, scale, level, mt, _direction = view_values(
        method, wave, inference, scale, level, mt
    )
    return csv_download(method, wave, inference, scale, level, mt)


def csv_download(method: str, wave: str, inference: str, scale: str, level: str, mt: str) -> dict:
    """The CSV of the table in view; row 1 holds the data label and specification as one cell.

    The CSV is the table's numbers, whatever the plot's direction: every effect, interval and
    ``effect_<scale>`` carries the estimate's own sign (programme minus comparison), and the
    column ``better`` says which way is an improvement ("higher" or "lower"), ``verdict``
    whether the effect improved or worsened the outcome."""
    arts = get_artifacts()
    rows, spec, _ = view_rows(method, wave, inference, scale, mt)
    wl = wave_labels(arts.results).get(spec.wave)
    text = csv_text(
        table_frame(rows, scale, level),
        label=arts.data_label,
        spec=specification_text(
            rows, spec, method_labels=METHOD_LABELS, manifest=arts.results_manifest, wave_label=wl
        )
        + " Effect, intervals and MDE in each outcome's own unit (column unit), programme minus comparison, whatever the plot's direction"
        + ("." if scale == "natural" else f"; effect_{scale}: the plot's scale ({SCALES[scale]}).")
        + " better: which way is an improvement (higher or lower)."
        + f" Significance: {MULTIPLE_TESTING[mt]}."
        + f" n_programme, n_comparison: {words()['units']} {n_estimation(_post_only())}. mde: {MDE_ESTIMATE}.",
    )
    return {
        "content": text,
        "filename": slug(f"{words()['slug']}-effects", spec.method, spec.inference, wl, scale)
        + ".csv",
        "type": "text/csv",
    }


# the Inference menu follows the Estimator menu in the browser (no extra round trip)
register_inference_menu(PAGE)
# the means chart, below the table, is drawn after the forest plot (components.later)
later_figures(MEANS)
