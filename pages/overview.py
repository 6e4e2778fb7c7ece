"""Overview: headline findings written from the results, the design and sample at a
glance, the MFI profile and the recommendations with the evidence that bears on them."""

from __future__ import annotations

from urllib.parse import urlencode

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

from analysis.decide import JUDGEMENT_RULE, judge_recommendation, where_it_worked
from analysis.findings import finding_sentence
from components import params as qp
from components.decide import judgement_block, where_section
from components.errors import safe_layout
from components.layout import (
    caption,
    notes_alert,
    page_intro,
    problem_page,
    profile_card,
    term,
    verdict_badge,
)
from components.spec import spec_params
from components.static import Static
from components.store import METHOD_LABELS, get_artifacts, per_study
from components.studies import page_title, words
from components.theme import fmt_p, is_missing
from components.views import (
    INFERENCE_LABELS,
    Spec,
    all_sample,
    effect_words,
    effective_inference,
    headline_findings,
    headline_lead,
    options,
    robustness,
    select,
    specification_text,
    wave_labels,
)

dash.register_page(
    __name__,
    draws_figures=False,  # the Link: rel=preload hint for plotly.js (components/delivery.py)
    path="/",
    name="Overview",
    order=0,
    title=page_title("Overview"),
    description="What the programme changed, at a glance: headline findings, the profile and the design",
)

PAGE = "overview"
NOTES = f"{PAGE}-notes"
FINDINGS = f"{PAGE}-findings"
GLANCE = f"{PAGE}-glance"
RECS = f"{PAGE}-recommendations"
WHERE = f"{PAGE}-where"
WAVE_SWITCH = f"{PAGE}-wave-switch"


def param_specs() -> list[qp.Param]:
    """``method``, ``wave`` and ``inference``: the headline follows the view in the address
    (the primary specification by default), like the deck and brief downloaded from here."""
    return spec_params(get_artifacts().results)


def _finding_item(row: dict, spec: Spec) -> html.Li:
    """The outcome's name, the sentence from :mod:`analysis.findings` and its robustness."""
    res = get_artifacts().results
    agree, total = robustness(res, row["outcome"], spec)
    return html.Li(
        [
            html.Span(f"{row['short']}: ", className="fw-semibold"),
            finding_sentence(row),
            html.Span(
                f" Same verdict under {agree} of {total} estimators.",
                className="small text-body-secondary",
            )
            if total
            else None,
        ],
        className="mb-1",
    )


def wave_switch(current: int, search: str = "") -> html.Nav:
    """Links to the headline at each follow-up wave (the choice lives in the URL; the
    other shared filters of ``search`` are kept)."""
    res = get_artifacts().results
    waves = options(res)["wave"]
    wl = wave_labels(res)
    spec = {p.name: p for p in param_specs()}
    default, post = spec["wave"].default, spec["method"].default == "post"
    links = []
    for w in waves:
        own = "" if str(w) == default else f"?wave={w}"
        href = "/" + qp.keep_carried(own, search, ["wave"])
        label = f"{wl.get(w, w)}" if post else f"{wl.get(w, w)} vs baseline"
        if w == current:
            links.append(
                html.Span(label, className="badge text-bg-primary", **{"aria-current": "page"})
            )
        else:
            links.append(
                dcc.Link(
                    label, href=href, className="badge text-bg-light border text-decoration-none"
                )
            )
    return html.Nav(
        links,
        className="d-flex gap-1 small",
        id=WAVE_SWITCH,
        **{"aria-label": "Survey wave of the headline"},
    )


def findings_section(spec: Spec, search: str = "") -> html.Div:
    """Headline findings, written from the results table (never typed in by hand)."""
    arts = get_artifacts()
    res = arts.results
    rows = select(res, spec)
    groups = headline_findings(rows)
    wl = wave_labels(res).get(spec.wave, str(spec.wave))
    improved, worsened, nulls = (
        groups["improved"],
        groups["worsened"],
        groups["no detectable effect"],
    )
    lead = headline_lead(rows, wl)
    blocks: list = [html.P(lead, className="fs-6")]
    if improved:
        blocks += [
            html.H3([verdict_badge("improved"), " outcomes"], className="h6 mt-3"),
            html.Ul([_finding_item(r, spec) for r in improved], className="findings"),
        ]
    if worsened:
        blocks += [
            html.H3([verdict_badge("worsened"), " outcomes"], className="h6 mt-3"),
            html.Ul([_finding_item(r, spec) for r in worsened], className="findings"),
        ]
    if nulls:
        blocks += [
            html.H3([verdict_badge("no detectable effect")], className="h6 mt-3"),
            html.P(
                [
                    ", ".join(r["short"] for r in nulls),
                    html.Span(
                        ". These are not shown to be zero: effects smaller than the ",
                        className="text-body-secondary",
                    ),
                    term("minimum detectable effect", "mde", PAGE),
                    html.Span(" could have been missed.", className="text-body-secondary"),
                ],
                className="mb-1",
            ),
        ]
    blocks.append(
        caption(
            [
                specification_text(
                    rows,
                    spec,
                    method_labels=METHOD_LABELS,
                    manifest=arts.results_manifest,
                    wave_label=wl,
                ),
                " Improved/worsened means the ",
                term("q-value", "q", f"{PAGE}-cap"),
                " across all outcomes and the p-value are both at most 0.05. ",
                dcc.Link(
                    "See every estimate on the Effects page.",
                    href="/effects" + qp.nav_search(search),
                ),
            ]
        )
    )
    return html.Div(blocks, id=FINDINGS)


def glance_section(search: str = "") -> html.Div:
    """Design and sample at a glance, from the diagnostics and the manifests."""
    arts = get_artifacts()
    res = arts.results
    flow = pd.DataFrame(arts.diagnostics.get("sample_flow", []))
    attr = pd.DataFrame(arts.diagnostics.get("attrition", []))
    tiles: list[tuple[str, str, str]] = []
    w = words()
    if not flow.empty:
        base = flow[flow["wave"] == 0]
        tiles.append(
            (
                f"{w['units'].capitalize()} at baseline",
                f"{int(base['n_clients'].sum()):,}",
                " · ".join(f"{int(r.n_clients):,} {r.arm.lower()}" for r in base.itertuples()),
            )
        )
    all_rows = res[res["sample_type"] == "all"]
    roles = arts.codebook.roles if arts.codebook is not None else None
    strata = bool(roles and roles.strata)
    if len(all_rows["n_clusters"].dropna()):
        tiles.append(
            (
                f"{w['clusters'].capitalize()} (unit of assignment)",
                f"{int(all_rows['n_clusters'].max()):,}",
                f"programme assigned by {w['cluster']}"
                + (f" within {w['stratum']}" if strata else ""),
            )
        )
    # the breakdown dimensions the results have (sex is a breakdown, not a design feature)
    groups = {
        t: sorted(res.loc[res["sample_type"] == t, "sample"].unique())
        for t in dict.fromkeys(res["sample_type"])
        if t not in ("all", "sex")
    }
    if groups:
        names = [
            str(arts.codebook.variables[t].label).lower()
            if arts.codebook is not None and t in arts.codebook.variables
            else t
            for t in groups
        ]
        tiles.append(
            (
                "Groups: " + " · ".join(names),
                " · ".join(str(len(v)) for v in groups.values()),
                ", ".join(list(groups.values())[-1]),
            )
        )
    waves = arts.panel_manifest.get("waves") or {}
    if waves:
        tiles.append(("Survey waves", str(len(waves)), " → ".join(str(v) for v in waves.values())))
    if not attr.empty:
        last = attr[attr["wave"] == attr["wave"].max()]
        rate = (last["n_baseline"].sum() - last["n_interviewed"].sum()) / last["n_baseline"].sum()
        tiles.append(
            (
                f"Lost by {last['wave_label'].iloc[0].lower()}",
                f"{100 * rate:.0f}%",
                f"difference between arms p = {fmt_p(last['differential_p'].iloc[0])}",
            )
        )
    if not flow.empty:
        lastw = flow[flow["wave"] == flow["wave"].max()]
        parts = {r.arm: r.share_received_fe for r in lastw.itertuples()}
        if "Programme" in parts:
            tiles.append(
                (
                    "Reached by the programme",
                    f"{100 * parts['Programme']:.0f}%",
                    f"of programme {w['units']} by {lastw['wave_label'].iloc[0].lower()} ({100 * parts.get('Comparison', float('nan')):.0f}% of comparison {w['units']})",
                )
            )
    cols = [
        dbc.Col(
            html.Div(
                [
                    html.Div(label, className="small text-body-secondary"),
                    html.Div(value, className="glance-value"),
                    html.Div(sub, className="small"),
                ],
                className="glance-tile h-100",
            ),
            xs=6,
            md=4,
            xl=2,
        )
        for label, value, sub in tiles
    ]
    return html.Div(
        [
            dbc.Row(cols, className="g-2"),
            caption(
                [
                    f"{w['units'].capitalize()} of {w['programme_arm']} received the innovation; {w['units']} of {w['comparison_arm']} did not. ",
                    "Effects compare the two groups (",
                    term("intention to treat", "itt", f"{PAGE}-glance"),
                    "). ",
                    dcc.Link(
                        "Sample flow, balance and attrition are on the Methods page.",
                        href="/methods" + qp.nav_search(search),
                    ),
                ]
            ),
        ],
        id=GLANCE,
    )


def where_worked_section(spec: Spec) -> html.Div:
    """Where it worked: family indices by province and branch (analysis.decide.where_it_worked)."""
    arts = get_artifacts()
    res = arts.results
    w = where_it_worked(res, method=spec.method, inference=spec.inference, wave=spec.wave)
    cb = arts.codebook
    labels = {
        d.name: str(cb.variables[d.name].label)
        if cb is not None and d.name in cb.variables
        else d.name.capitalize()
        for d in w.dimensions
    }
    nouns = {k: v.lower() + "s" for k, v in labels.items()} | {"all": all_sample(res).lower()}
    return where_section(w, labels, nouns, all_sample(res), WHERE)


def recommendations_section(spec: Spec) -> html.Div:
    """Each recommendation with its judgement (analysis.decide.JUDGEMENT_RULE) and the
    verdicts of the outcomes it cites."""
    arts = get_artifacts()
    sel = select(arts.results, spec)
    rows = sel.set_index("outcome")
    cards = []
    for i, rec in enumerate(arts.recommendations, start=1):
        judgement = judge_recommendation(rec.get("outcomes", []) or [], sel)
        evidence = []
        for name in rec.get("outcomes", []) or []:
            if name not in rows.index:
                continue
            r = rows.loc[name]
            evidence.append(
                html.Li(
                    [
                        verdict_badge(r["verdict"]),
                        " ",
                        r["short"],
                        html.Span(
                            f" ({effect_words(r.to_dict())})"
                            if not is_missing(r["estimate"])
                            else "",
                            className="small text-body-secondary",
                        ),
                    ]
                )
            )
        cards.append(
            html.Div(
                html.Div(
                    html.Div(
                        [
                            html.H3(f"{i}. {rec.get('title', '')}", className="h6"),
                            judgement_block(judgement, f"{RECS}-judgement-{i}"),
                            html.P(rec.get("text", ""), className="small"),
                            html.P("What the results say:", className="small fw-semibold mb-1")
                            if evidence
                            else None,
                            html.Ul(evidence, className="list-unstyled small mb-0 evidence"),
                        ],
                        className="card-body",
                    ),
                    className="card h-100",
                ),
                className="col-12 col-md-6 col-xl-4",
            )
        )
    if not cards:
        return html.P(
            "No recommendations file was found (the study's recommendations.yaml).", id=RECS
        )
    # Bootstrap's grid and card markup, drawn as one component (components.static): nothing
    # in the cards takes a callback, and 130 components cost the browser on every update
    return Static(html.Div(cards, className="row g-3"), id=RECS)


@safe_layout
@per_study
def layout(wave=None, **kwargs):
    arts = get_artifacts()
    if not arts.ok:
        return problem_page(arts, "Overview")
    query = {"wave": wave} if wave is not None else {}
    values, notes = qp.parse(param_specs(), {**query, **kwargs})
    inference, note = effective_inference(values["method"], values["inference"], arts.results)
    notes += [note] if note else []
    spec = Spec(method=values["method"], inference=inference, wave=int(values["wave"]))
    # the address as it came in: the page's links carry its shared filters on
    search = "?" + urlencode({k: v for k, v in {**kwargs, **query}.items() if isinstance(v, str)})
    profile = arts.profile
    inn = profile.get("innovation") or {}
    return html.Div(
        [
            page_intro(
                inn.get("title") or words()["title"],
                [
                    f"What changed for the {words()['units']}: {words()['innovation']} ",
                    f"Headline estimates: {METHOD_LABELS.get(spec.method, spec.method)}; {INFERENCE_LABELS.get(spec.inference, spec.inference).lower()}.",
                ],
                lead_class="text-body-secondary",
            ),
            notes_alert(notes, NOTES),
            dbc.Row(
                [
                    dbc.Col(
                        html.Section(
                            [
                                html.Div(
                                    [
                                        html.H2("Headline findings", className="h5 mb-0"),
                                        wave_switch(spec.wave, search),
                                    ],
                                    className="d-flex flex-wrap justify-content-between align-items-baseline gap-2 mb-2",
                                ),
                                findings_section(spec, search),
                            ],
                            className="card card-body h-100",
                            **{"aria-label": "Headline findings"},
                        ),
                        xs=12,
                        lg=8,
                    ),
                    dbc.Col(
                        profile_card(profile, compact=True, id_prefix=f"{PAGE}-profile"),
                        xs=12,
                        lg=4,
                    ),
                ],
                className="g-3",
            ),
            html.Section(
                [
                    html.H2("Where it worked", className="h5 mt-4"),
                    where_worked_section(spec),
                ],
                **{"aria-label": "Where it worked"},
            ),
            html.Section(
                [
                    html.H2("Design and sample at a glance", className="h5 mt-4"),
                    glance_section(search),
                ],
                **{"aria-label": "Design and sample"},
            ),
            html.Section(
                [
                    html.H2("Recommendations and the evidence behind them", className="h5 mt-4"),
                    html.P(
                        str(
                            (arts.study.extra if arts.study else {}).get("recommendations_intro")
                            or ""
                        )
                        or "Recommendations to the institution, each with the measured effects that bear on it.",
                        className="small text-body-secondary",
                    ),
                    html.P(JUDGEMENT_RULE, className="small text-body-secondary"),
                    recommendations_section(spec),
                ],
                **{"aria-label": "Recommendations"},
            )
            if arts.recommendations
            else None,
        ]
    )
