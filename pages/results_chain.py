"""Results chain: inputs → activities → outputs → outcomes → impact, from the data file.

Outcome nodes carry their indicators coloured by the measured verdict; selecting a
node shows its indicators' effects with intervals (or, for an output node measured
by the exposure, the share who took part).
"""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import ALL, Input, Output, State, dcc, html

from analysis.findings import finding_sentence
from components import params as qp
from components.cache import memoize
from components.chain import (
    NODE_TYPE,
    chain_diagram,
    chain_indicators,
    chain_legend,
    edges_table_rows,
    exposure_notes,
    neighbours,
    node_by_id,
)
from components.display import DEFAULT_DIRECTION, DIRECTIONS
from components.errors import safe_layout
from components.figures import make_exposure_plot, make_forest_plot
from components.frames import records
from components.layout import (
    caption,
    control,
    graph,
    notes_alert,
    page_intro,
    problem_page,
    simple_table,
    term,
    verdict_badge,
)
from components.present import FIT, present_keep
from components.spec import (
    register_inference_menu,
    settle_inference,
    spec_controls,
    spec_params,
)
from components.store import METHOD_LABELS, get_artifacts, per_study
from components.studies import page_title, words
from components.theme import fmt_num, fmt_p, slug, too_few
from components.urlstate import LOCATION, page_search, search_store
from components.views import (
    Spec,
    effect_words,
    effective_inference,
    scaled_rows,
    select,
    specification_text,
    wave_labels,
)

dash.register_page(
    __name__,
    draws_figures=True,  # the Link: rel=preload hint for plotly.js (components/delivery.py)
    path="/results-chain",
    name="Results chain",
    order=1,
    title=page_title("Results chain"),
    description="From inputs to outcomes: the results chain with the measured effects",
)

PAGE = "chain"
NOTES = f"{PAGE}-notes"
METHOD = f"{PAGE}-method"
WAVE = f"{PAGE}-wave"
INFERENCE = f"{PAGE}-inference"
DIAGRAM = f"{PAGE}-diagram"
DETAIL = f"{PAGE}-detail"
SELECTED = f"{PAGE}-selected"
DETAIL_FIG = f"{PAGE}-detail-figure"
SCROLL = f"{PAGE}-scroll"
FOCUS = f"{PAGE}-focus"
SENTENCES = f"{PAGE}-detail-sentences"
DETAIL_TITLE = f"{PAGE}-detail-title"
DIRECTION = f"{PAGE}-direction"


def param_specs() -> list[qp.Param]:
    arts = get_artifacts()
    nodes = [n["id"] for n in arts.chain.get("nodes", [])]
    default_node = next(
        (n["id"] for n in arts.chain.get("nodes", []) if n.get("outcomes")),
        nodes[0] if nodes else "",
    )
    return [
        qp.Param("node", nodes, default_node, "results-chain node"),
        *spec_params(arts.results),
        qp.Param("direction", list(DIRECTIONS), DEFAULT_DIRECTION, "plot direction"),
    ]


def indicator_verdicts(spec: Spec) -> dict[str, tuple[str, str]]:
    """outcome -> (short label, verdict) for the chosen specification."""
    res = get_artifacts().results
    return chain_indicators(res, select(res, spec))


def node_detail(node_id: str, spec: Spec, direction: str = DEFAULT_DIRECTION) -> list:
    """What selecting a node shows: its text, links and its indicators' effects."""
    arts = get_artifacts()
    chain = arts.chain
    by = node_by_id(chain)
    node = by.get(node_id)
    if node is None:
        return [html.P("Choose a box in the diagram to see what was measured there.")]
    up, down = neighbours(chain, node_id)
    stage = next(
        (s.get("label") for s in chain.get("stages", []) if s.get("id") == node.get("stage")), ""
    )
    kids: list = [
        # focusable (not in the Tab order): choosing a step moves focus here
        html.H2(node.get("label", node_id), className="h5 mb-1", id=DETAIL_TITLE, tabIndex="-1"),
        html.P(html.Span(stage, className="badge text-bg-secondary"), className="mb-1"),
        html.P(node.get("text", ""), className="mb-2"),
    ]
    links = []
    if up:
        links.append(html.Li(["Comes from: ", ", ".join(by[u].get("label", u) for u in up)]))
    if down:
        links.append(html.Li(["Leads to: ", ", ".join(by[d].get("label", d) for d in down)]))
    if links:
        kids.append(html.Ul(links, className="small mb-2"))
    outcomes = list(node.get("outcomes") or [])
    if node.get("index"):
        outcomes = [node["index"], *outcomes]
    wl = wave_labels(arts.results).get(spec.wave)
    if outcomes:
        rows = select(arts.results, spec)
        rows = rows[rows["outcome"].isin(outcomes)]
        if rows.empty:
            res = arts.results
            asked = sorted(int(x) for x in res.loc[res["outcome"].isin(outcomes), "wave"].unique())
            names = wave_labels(res)
            kids.append(
                html.P(
                    f"This step's indicators were not measured at {wl or spec.wave}; they were "
                    f"measured at {', '.join(str(names.get(x, x)) for x in asked) or 'no wave'}. "
                    "Choose one of those waves above.",
                    className="small text-body-secondary",
                )
            )
            return kids
        rows = scaled_rows(rows, "std", "q")
        fig = make_forest_plot(rows, scale="std", view="q", direction=direction)
        table_rows = [
            {
                "name": r["short"],
                "effect": effect_words(r),
                "ci": too_few()
                if r["suppressed"]
                else f"{fmt_num(r['ci95_low'])} to {fmt_num(r['ci95_high'])}",
                "q": fmt_p(r["q_value"]),
                "p": fmt_p(r["p_value"]),
                "verdict": r["verdict"],
            }
            for r in records(rows)
        ]
        kids += [
            html.H3("Measured effects", className="h6 mt-2"),
            graph(
                DETAIL_FIG,
                fig,
                slug(f"{words()['slug']}-chain", node_id, spec.method, wl),
                label="the indicators chart",
            ),
            caption(
                [
                    specification_text(
                        rows,
                        spec,
                        method_labels=METHOD_LABELS,
                        manifest=arts.results_manifest,
                        wave_label=wl,
                    ),
                    " Effects in standard deviations of the comparison group at baseline, so that indicators can be compared; natural units in the table. ",
                    "Right of zero is better for every indicator (indicators where lower is better have their sign flipped). "
                    if direction == "improvement"
                    else "Each effect has the sign of programme minus comparison. ",
                    "Thick bar 90%, medium 95%, thin 99% interval; ▲ improved, ▼ worsened (q and p ≤ 0.05), ○ no detectable effect.",
                ]
            ),
            simple_table(
                pd.DataFrame(table_rows),
                [
                    ("name", "Indicator", None),
                    ("effect", "Effect (natural units)", None),
                    ("ci", "95% interval", None),
                    ("q", "q (all outcomes)", None),
                    ("p", "p", None),
                    ("verdict", "Verdict", lambda v: verdict_badge(v)),
                ],
                caption_text=f"Indicators of “{node.get('label')}”.",
            ),
            html.H3("In words", className="h6 mt-3"),
            html.Ul(
                [
                    html.Li(
                        [html.Span(f"{r['short']}: ", className="fw-semibold"), finding_sentence(r)]
                    )
                    for r in records(rows)
                ],
                id=SENTENCES,
                className="findings small mb-0",
            ),
        ]
    elif node.get("measure") == "exposure" and arts.diagnostics.get("sample_flow"):
        w = words()
        flow = pd.DataFrame(arts.diagnostics.get("sample_flow", []))
        flow = flow[flow["wave"] > 0] if not flow.empty else flow
        kids += [
            html.H3("Measured: who took part", className="h6 mt-2"),
            graph(
                DETAIL_FIG,
                make_exposure_plot(flow),
                f"{w['slug']}-chain-exposure",
                label="the exposure chart",
            ),
            caption(
                f"Share of {w['units']} interviewed at each follow-up who said they had taken part, by arm. Data: {arts.data_label}."
            ),
            simple_table(
                flow,
                [
                    ("wave_label", "Wave", None),
                    ("arm", w["clusters"].capitalize(), None),
                    (
                        "n_clients",
                        f"{w['units'].capitalize()} interviewed",
                        lambda v: f"{int(v):,}",
                    ),
                    ("share_received_fe", "Took part", lambda v: f"{100 * float(v):.0f}%"),
                ],
                caption_text="Exposure to the programme by arm and wave.",
            ),
        ]
    else:
        kids.append(
            html.P(
                "No survey indicator measures this step directly.",
                className="small text-body-secondary",
            )
        )
    return kids


@safe_layout
@per_study
def layout(node=None, method=None, wave=None, inference=None, direction=None, **kwargs):
    arts = get_artifacts()
    if not arts.ok:
        return problem_page(arts, "Results chain")
    if not arts.chain.get("nodes"):
        return html.Div(
            [
                html.H1("Results chain", className="h3 mt-3"),
                dbc.Alert(
                    "No results-chain file was found (the study's results_chain.yaml).",
                    color="warning",
                ),
            ]
        )
    specs = param_specs()
    query = {
        k: v
        for k, v in dict(
            node=node, method=method, wave=wave, inference=inference, direction=direction
        ).items()
        if v is not None
    }
    values, notes = qp.parse(specs, {**query, **kwargs})
    values = settle_inference(values, {**query, **kwargs}, arts.results)
    res = arts.results
    inf, _ = effective_inference(values["method"], values["inference"], res)
    spec = Spec(method=values["method"], inference=inf, wave=int(values["wave"]))
    edges = edges_table_rows(arts.chain)
    return html.Div(
        [
            dcc.Store(id=SELECTED, data=values["node"]),
            dcc.Store(id=SCROLL),
            dcc.Store(id=FOCUS),
            search_store(PAGE),
            page_intro(
                arts.chain.get("title", "Results chain"),
                [
                    "How the programme was meant to work, step by step. Each outcome box lists the survey indicators that measure it, marked by what the evaluation found: improved or worsened when both the ",
                    term("q-value", "q", PAGE),
                    " across all outcomes and the p-value are at most 0.05. Select a box to see its measured effects.",
                ],
                lead_class="text-body-secondary present-hide",
            ),
            notes_alert(notes, NOTES),
            dbc.Row(
                [
                    *present_keep(spec_controls(PAGE, values, arts.results), WAVE),
                    control(
                        DIRECTION,
                        "Plot direction",
                        [(k, v.split(" (")[0]) for k, v in DIRECTIONS.items()],
                        values["direction"],
                    ),
                ],
                className="controls present-bar g-2 align-items-end",
            ),
            chain_legend(),
            html.Div(
                chain_diagram(
                    arts.chain, indicator_verdicts(spec), values["node"], take_up_notes(spec)
                ),
                id=DIAGRAM,
                className=FIT,
                role="group",
                **{"aria-label": "Results-chain diagram"},
            ),
            html.Section(
                node_detail(values["node"], spec, values["direction"]),
                id=DETAIL,
                className="card card-body mt-3",
                **{"aria-live": "polite", "aria-label": "Selected step"},
            ),
            html.Details(
                [
                    html.Summary("The chain as a table (text alternative)"),
                    simple_table(
                        pd.DataFrame(edges, columns=["from", "to"]),
                        [("from", "From", None), ("to", "Leads to", None)],
                    ),
                ],
                className="mt-3 small",
            ),
        ]
    )


# choosing a step (click, Enter or Space) rebuilds the diagram, so the pressed button is
# gone: focus moves to the chosen step's detail (its heading), which is scrolled into view.
# The step is remembered when it is chosen; the move happens once its detail has arrived.
dash.clientside_callback(
    """
    function(node) {
        window.chainFocusPending = node;
        return window.dash_clientside.no_update;
    }
    """,
    Output(SCROLL, "data"),
    Input(SELECTED, "data"),
    prevent_initial_call=True,
)
dash.clientside_callback(
    """
    function(detail) {
        if (!window.chainFocusPending) { return window.dash_clientside.no_update; }
        window.chainFocusPending = null;
        const move = function(tries) {
            const el = document.getElementById('chain-detail-title');
            if (!el) { if (tries > 0) { setTimeout(function() { move(tries - 1); }, 50); } return; }
            document.getElementById('chain-detail').scrollIntoView({block: 'start'});
            el.focus({preventScroll: true});
        };
        setTimeout(function() { move(20); }, 0);
        return window.dash_clientside.no_update;
    }
    """,
    Output(FOCUS, "data"),
    Input(DETAIL, "children"),
    prevent_initial_call=True,
)


# The box that was clicked becomes the selected node, in the browser: a server callback cost
# a round trip before the page's own (the box, then the view), and one more after every
# rebuild of the diagram, whose new boxes set it off with no click (issue 12).  The index is
# a box's own id; ``chain_view`` checks the node against the chain (a crafted one shows the
# default step).
dash.clientside_callback(
    """
    function(clicks) {
        const trig = window.dash_clientside.callback_context.triggered_id;
        if (!trig || typeof trig !== 'object' || !(clicks || []).some(Boolean)) {
            return window.dash_clientside.no_update;
        }
        return trig.index;
    }
    """,
    Output(SELECTED, "data"),
    Input({"type": NODE_TYPE, "index": ALL}, "n_clicks"),
    prevent_initial_call=True,
)


@dash.callback(
    Output(DIAGRAM, "children"),
    Output(DETAIL, "children"),
    Output(page_search(PAGE), "data"),  # to the address (components.urlstate)
    Input(SELECTED, "data"),
    Input(METHOD, "value"),
    Input(WAVE, "value"),
    Input(INFERENCE, "value"),
    Input(DIRECTION, "value"),
    State(LOCATION, "search"),
    prevent_initial_call=True,
)
def update(node, method, wave, inference, direction=None, current=None):
    diagram, detail, search = chain_view(node, method, wave, inference, direction)
    # the shared filters this page does not set, and presentation mode, stay in the address
    own = [p.name for p in param_specs()]
    return diagram, detail, qp.keep_carried(search, current, own)


def take_up_notes(spec: Spec) -> dict[str, str]:
    """The take-up line under the chain's exposure node, as on the slide and in the brief."""
    arts = get_artifacts()
    wl = wave_labels(arts.results).get(spec.wave, str(spec.wave))
    return exposure_notes(arts.chain, arts.diagnostics.get("sample_flow", []), spec.wave, wl)


@memoize
def chain_view(node: str, method: str, wave: str, inference: str, direction: str | None = None):
    """Inputs -> (diagram, detail of the selected node, URL search)."""
    arts = get_artifacts()
    specs = param_specs()
    values, _ = qp.parse(
        specs,
        dict(node=node, method=method, wave=wave, inference=inference, direction=direction),
    )
    inf, note = effective_inference(values["method"], values["inference"], arts.results)
    spec = Spec(method=values["method"], inference=inf, wave=int(values["wave"]))
    diagram = chain_diagram(
        arts.chain, indicator_verdicts(spec), values["node"], take_up_notes(spec)
    )
    detail = node_detail(values["node"], spec, values["direction"])
    if note:
        detail = [dbc.Alert(note, color="info", className="py-2 small"), *detail]
    return diagram, detail, qp.to_search(specs, values)


# the Inference menu follows the Estimator menu in the browser (no extra round trip)
register_inference_menu(PAGE)
