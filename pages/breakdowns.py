"""Breakdowns: one outcome's effect by the study's breakdown dimensions (province, branch,
sex, ...: whatever its codebook declares), next to the institution's profile.

Branch estimates are shown raw and partially pooled side by side, with the
heterogeneity test; cells with too few units say so instead of showing numbers.

The branch choice filters every panel or the panel says why not, two chosen branches are
compared directly, and "CSV" / "Excel (XLSX)" download exactly what the page shows for
every outcome (components/breakdown_data.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, State, dcc, html

from components import breakdown_data as bd
from components import params as qp
from components.cache import memoize
from components.display import DEFAULT_DIRECTION, DIRECTIONS, direction_param, subgroup_display
from components.errors import safe_layout
from components.figures import named_subgroup_plot
from components.frames import records
from components.later import later_figures
from components.layout import (
    caption,
    control,
    graph,
    notes_alert,
    page_intro,
    problem_page,
    profile_card,
    simple_table,
    term,
    verdict_badge,
)
from components.present import FIT, HIDE, present_keep
from components.shown import changed_only, shown_store
from components.spec import (
    default_wave,
    register_inference_menu,
    settle_inference,
    spec_controls,
    spec_params,
)
from components.static import Static
from components.store import METHOD_LABELS, get_artifacts, per_study
from components.studies import page_title, words
from components.studies import post_only as _post_only
from components.theme import fmt_num, fmt_p, is_missing, slug, too_few
from components.urlstate import LOCATION, page_search, search_store
from components.views import (
    Spec,
    cell_rows,
    effective_inference,
    het_sentence,
    n_estimation,
    options,
    outcome_meta,
    per_table_key,
    specification_text,
    wave_labels,
)

dash.register_page(
    __name__,
    draws_figures=True,  # the Link: rel=preload hint for plotly.js (components/delivery.py)
    path="/breakdowns",
    name="Breakdowns",
    order=3,
    title=page_title("Breakdowns"),
    description="Effects by the groups the study declares, with partially pooled estimates",
)

PAGE = "breakdowns"
NOTES = f"{PAGE}-notes"
OUTCOME = f"{PAGE}-outcome"
METHOD = f"{PAGE}-method"
WAVE = f"{PAGE}-wave"
INFERENCE = f"{PAGE}-inference"
BRANCHES = f"{PAGE}-branches"
DIRECTION = f"{PAGE}-direction"
PROVINCE_FIG = f"{PAGE}-province-figure"
BRANCH_FIG = f"{PAGE}-branch-figure"
SEX_FIG = f"{PAGE}-sex-figure"
PROVINCE_CAPTION = f"{PAGE}-province-caption"
BRANCH_CAPTION = f"{PAGE}-branch-caption"
SEX_CAPTION = f"{PAGE}-sex-caption"
BRANCH_TABLE = f"{PAGE}-branch-table"
PROVINCE_TABLE = f"{PAGE}-province-table"
SEX_TABLE = f"{PAGE}-sex-table"
HETEROGENEITY = f"{PAGE}-heterogeneity"
HEADER = f"{PAGE}-header"
PROVINCE_SCOPE = f"{PAGE}-province-scope"
SEX_SCOPE = f"{PAGE}-sex-scope"
HET_SCOPE = f"{PAGE}-heterogeneity-scope"
COMPARE = f"{PAGE}-compare"
CSV_BUTTON = f"{PAGE}-csv-button"
XLSX_BUTTON = f"{PAGE}-xlsx-button"
CSV_DOWNLOAD = f"{PAGE}-csv-download"
XLSX_DOWNLOAD = f"{PAGE}-xlsx-download"
SHOWN = f"{PAGE}-shown"


def n_column() -> str:
    return f"{words()['units'].capitalize()} in the estimation sample (prog. / comp.)"


def verdict_rule() -> str:
    """A group's verdict follows its own p, shown next to it, so the verdict explains itself."""
    return (
        "Verdict: improved or worsened when the group's own p is at most 0.05. "
        f"{words()['units'].capitalize()}: {n_estimation(_post_only())}, so fewer than were interviewed."
    )


def param_specs(outcome: str | None = None) -> list[qp.Param]:
    """The page's URL parameters; the wave defaults to the last one ``outcome`` was measured in."""
    res = get_artifacts().results
    opts = options(res)
    outcomes = opts["outcome"]
    return [
        qp.Param("outcome", outcomes, outcomes[0], "outcome"),
        *spec_params(res, outcome),
        qp.Param("branches", opts["branch"], tuple(opts["branch"]), "branch", multi=True),
        # the same control and URL parameter as Effects (issue 13): improvement by default
        direction_param(),
    ]


def dimensions() -> dict[str, str]:
    """The study's breakdown dimensions in the results table -> their readable names
    (the codebook's labels).  The first section shows ``province`` when the table has it,
    else the study's first declared dimension; the branch and sex sections only when the
    table has those dimensions."""
    arts = get_artifacts()
    types = list(options(arts.results)["breakdowns"])
    cb = arts.codebook
    out = {}
    for t in types:
        var = cb.variables.get(t) if cb is not None else None
        out[t] = str(var.label) if var is not None else t.replace("_", " ")
    return out


def first_dimension() -> str:
    dims = dimensions()
    if "province" in dims:
        return "province"
    others = [d for d in dims if d not in ("branch", "sex")]
    return others[0] if others else "province"


def subgroup_rows(
    outcome: str, method: str, wave: int, inference: str, sample_type: str
) -> pd.DataFrame:
    rows = cell_rows(get_artifacts().results, outcome, method, wave, inference, sample_type)
    return rows.sort_values("sample", kind="stable")


def _ci(lo, hi) -> str:
    return "–" if is_missing(lo) else f"{fmt_num(lo)} to {fmt_num(hi)}"


def branch_table(rows: pd.DataFrame) -> html.Div:
    """Raw and partially pooled branch estimates side by side; suppressed cells say so."""
    recs = []
    for r in records(rows):
        if r["suppressed"]:
            recs.append(
                {
                    "Branch": r["sample"],
                    "raw": too_few(),
                    "raw_ci": too_few(),
                    "eb": too_few(),
                    "eb_ci": too_few(),
                    "n": too_few(),
                    "p": too_few(),
                    "verdict": "suppressed",
                }
            )
            continue
        recs.append(
            {
                "Branch": r["sample"],
                "raw": fmt_num(r["estimate"]),
                "raw_ci": _ci(r["ci95_low"], r["ci95_high"]),
                "eb": fmt_num(r["eb_estimate"]),
                "eb_ci": _ci(r["eb_ci95_low"], r["eb_ci95_high"]),
                "n": f"{int(r['n_programme'])} / {int(r['n_comparison'])}",
                "p": fmt_p(r["p_value"]),
                "verdict": r["verdict"],
            }
        )
    cols = [
        ("Branch", "Branch", None),
        ("raw", "Branch alone", None),
        ("raw_ci", "95% interval (alone)", None),
        ("eb", "Pooled", None),
        ("eb_ci", "95% interval (pooled)", None),
        ("n", n_column(), None),
        ("p", "p (alone)", None),
        ("verdict", "Verdict (alone)", lambda v: verdict_badge(v)),
    ]
    return simple_table(
        pd.DataFrame(recs),
        cols,
        caption_text="Effect by branch: estimated from the branch alone and partially pooled. "
        + verdict_rule(),
        nowrap=True,
        stack=True,
    )


def group_table(rows: pd.DataFrame, label: str) -> html.Div:
    recs = [
        {
            "group": r["sample"],
            "est": too_few() if r["suppressed"] else fmt_num(r["estimate"]),
            "ci": too_few() if r["suppressed"] else _ci(r["ci95_low"], r["ci95_high"]),
            "n": too_few()
            if r["suppressed"]
            else f"{int(r['n_programme'])} / {int(r['n_comparison'])}",
            "p": too_few() if r["suppressed"] else fmt_p(r["p_value"]),
            "verdict": r["verdict"],
        }
        for r in records(rows)
    ]
    return simple_table(
        pd.DataFrame(recs),
        [
            ("group", label, None),
            ("est", "Effect", None),
            ("ci", "95% interval", None),
            ("n", n_column(), None),
            ("p", "p", None),
            ("verdict", "Verdict", lambda v: verdict_badge(v)),
        ],
        caption_text=f"Effect by {label.lower()}. " + verdict_rule(),
        nowrap=True,
        stack=True,
    )


class _Context(NamedTuple):
    """What every panel of one outcome, estimator, wave and inference needs."""

    res: pd.DataFrame
    inf: str
    inf_note: str | None
    wave: int
    wave_label: str | None
    meta: pd.Series
    unit: str
    unit_many: str
    ref: dict | None
    first: str
    first_label: str
    dims: dict[str, str]
    has_branch: bool
    first_all: pd.DataFrame
    branch_all: pd.DataFrame
    sex: pd.DataFrame
    flipped: str
    suppressed_note: str
    base: str
    spec_text: Callable[[pd.DataFrame, str], str]

    def caption(self, rows: pd.DataFrame, stype: str, marks: str = "") -> str:
        """A chart's caption: its specification, what its marks mean, the reference line."""
        return (
            self.spec_text(rows, stype)
            + marks
            + f" Dashed line: all {self.unit_many}."
            + self.flipped
            + self.suppressed_note
        )


_CONTEXTS: dict = {}


def _context(outcome: str, method: str, wave: str, inference: str, direction: str) -> _Context:
    """What every panel of one view reads, whichever branches are chosen: made once per
    results table and arguments (:func:`components.views.per_table_key`), so that a new
    choice of branches does not look it all up again (about 10 of its 60 ms; issue 12)."""
    key = (outcome, method, wave, inference, direction)
    return per_table_key(_CONTEXTS, get_artifacts().results, key, lambda: _make_context(*key))


def _make_context(outcome: str, method: str, wave: str, inference: str, direction: str) -> _Context:
    arts = get_artifacts()
    res = arts.results
    inf, inf_note = effective_inference(method, inference, res)
    w = int(wave)
    wl = wave_labels(res).get(w)
    meta = outcome_meta(res, outcome)
    unit = str(meta["unit"])
    all_row = cell_rows(res, outcome, method, w, inf, "all")
    first = first_dimension()
    dims = dimensions()
    unit_many = arts.study.nouns.unit.many if arts.study is not None else "units"
    better = "higher" if meta["better"] == "higher" else "lower"

    def spec_text(rows, stype):
        return specification_text(
            rows,
            Spec(
                method=method,
                inference=inf,
                wave=w,
                sample_type=stype,
                sample=f"each {stype} separately",
            ),
            method_labels=METHOD_LABELS,
            manifest=arts.results_manifest,
            wave_label=wl,
        )

    return _Context(
        res=res,
        inf=inf,
        inf_note=inf_note,
        wave=w,
        wave_label=wl,
        meta=meta,
        unit=unit,
        unit_many=unit_many,
        ref=all_row.iloc[0].to_dict() if len(all_row) else None,
        first=first,
        first_label=dims.get(first, first).lower(),
        dims=dims,
        has_branch="branch" in dims,
        first_all=subgroup_rows(outcome, method, w, inf, first),
        branch_all=subgroup_rows(outcome, method, w, inf, "branch"),
        sex=subgroup_rows(outcome, method, w, inf, "sex"),
        flipped=(
            f" Lower is better for this outcome, so the charts plot its effects with the sign flipped (right of zero = better); the tables and the hover keep the estimates as they are, in {unit}."
            if direction == "improvement" and better == "lower"
            else ""
        ),
        suppressed_note=(
            f" Groups with fewer than {int(res['min_cell'].iloc[0])} {unit_many} in an arm show “{too_few()}”."
            if "min_cell" in res
            else ""
        ),
        base=slug(arts.study.slug if arts.study is not None else "study", outcome, method, inf, wl),
        spec_text=spec_text,
    )


def _shown_first(c: _Context, branches: tuple[str, ...]) -> tuple[list[str], str]:
    """The first dimension's groups shown for ``branches`` (those holding them), and why."""
    return bd.shown_first(
        c.first,
        sorted(c.first_all["sample"].unique()),
        branches if c.has_branch else (),
        c.first_label,
    )


@memoize
def breakdown_view(
    outcome: str,
    method: str,
    wave: str,
    inference: str,
    branches: tuple[str, ...],
    direction: str = DEFAULT_DIRECTION,
):
    """Inputs -> everything the page shows (figures named for their export, captions, tables,
    notes): the panels that follow the branches chosen, and the others (:func:`shared_panels`,
    kept per group of the first dimension shown, so that a new choice of branches in the same
    provinces builds only its own panels)."""
    c = _context(outcome, method, wave, inference, direction)
    keep_first, first_scope = _shown_first(c, branches)
    br_all = c.branch_all
    br = br_all[br_all["sample"].isin(branches)]
    br_disp = subgroup_display(br, unit=c.unit, pooled=True, reference=c.ref, direction=direction)
    # the charts that follow the branch choice name it in their PNG file name
    # (like the deck's ``...-baray-santuk.pptx``); all branches: no names
    every = options(c.res)["branch"]
    chosen_tail = slug(*branches) if branches and set(branches) != set(every) else ""
    if c.has_branch and not branches:
        chosen_tail = "no-branches"
    shared = shared_panels(outcome, method, wave, inference, tuple(keep_first), direction)
    return {
        **shared,
        "province_scope": first_scope if c.has_branch else "",
        "compare": compare_block(br_all, branches, c.unit, c.inf) if c.has_branch else None,
        "branch_figure": named_subgroup_plot(br_disp, slug(c.base, "by-branch", chosen_tail)),
        "branch_caption": c.caption(
            br,
            "branch",
            " Circles: the branch's own estimate; diamonds: partially pooled (empirical Bayes)"
            " estimate.",
        ),
        "branch_table": branch_table(br)
        if len(br)
        else html.P("No branch selected.", className="small"),
    }


@memoize
def shared_panels(
    outcome: str,
    method: str,
    wave: str,
    inference: str,
    keep_first: tuple[str, ...],
    direction: str = DEFAULT_DIRECTION,
) -> dict[str, Any]:
    """The panels that do not follow the branches chosen, beyond the groups of the first
    dimension shown (``keep_first``): the header, the first dimension's and the sex panels,
    the heterogeneity tests and the scope notes."""
    c = _context(outcome, method, wave, inference, direction)
    prov_all = c.first_all
    prov = prov_all[prov_all["sample"].isin(keep_first)] if c.has_branch else prov_all
    prov_disp, sex_disp = (
        subgroup_display(g, unit=c.unit, pooled=False, reference=c.ref, direction=direction)
        for g in (prov, c.sex)
    )
    meta = c.meta
    better = "higher" if meta["better"] == "higher" else "lower"
    # the text a panel shows is written as static blocks (components.static): one component
    # each, where a list or a heading and its line made several (issue 12)
    header = [
        Static(
            [
                html.H2(f"{meta['short']}", className="h5 mb-1"),
                html.P(
                    f"{meta['label']} — unit: {c.unit}; {better} is better. {c.wave_label}"
                    + ("." if method == "post" else " vs baseline."),
                    className="small text-body-secondary mb-0",
                ),
            ]
        )
    ]
    if c.inf_note:
        header.append(dbc.Alert(c.inf_note, color="info", className="py-2 small mt-2 mb-0"))
    het = Static(
        html.Ul(
            [
                html.Li(het_sentence(prov_all, c.first_label)),
                html.Li(het_sentence(c.branch_all, "branch")) if "branch" in c.dims else None,
                html.Li(het_sentence(c.sex, "group of women and men")) if "sex" in c.dims else None,
            ],
            className="small mb-0",
        )
    )
    # the first dimension's chart shows the groups holding the chosen branches: it is named
    # after those (so that its figure, and its name, change only when what it shows does)
    every_first = set(prov_all["sample"].unique())
    first_tail = slug(*keep_first) if c.has_branch and set(keep_first) != every_first else ""
    n_branches = len(options(c.res)["branch"])
    return {
        "sex_scope": (
            "All branches: the results hold no estimate for women and men within a "
            "branch (the groups would be small), so this panel does not follow the branch choice."
        )
        if c.has_branch
        else "",
        "heterogeneity_scope": (
            f"Each test compares all the groups of its breakdown (all {n_branches} branches for the "
            "branch test), whatever branches are chosen: a test on part of them would be a "
            "different test, so it is not recomputed."
        )
        if c.has_branch
        else "",
        "header": header,
        "province_figure": named_subgroup_plot(
            prov_disp, slug(c.base, f"by-{c.first_label}", first_tail)
        ),
        "province_caption": c.caption(prov, c.first_label),
        # all branches whatever the choice (see sex_scope), so no branch names
        "sex_figure": named_subgroup_plot(sex_disp, f"{c.base}-by-sex"),
        "sex_caption": c.caption(c.sex, "sex"),
        "province_table": group_table(prov, c.dims.get(c.first, c.first)),
        "sex_table": group_table(c.sex, "Women and men"),
        "heterogeneity": het,
    }


ORDER = [
    "header",
    "province_figure",
    "province_caption",
    "branch_figure",
    "branch_caption",
    "sex_figure",
    "sex_caption",
    "branch_table",
    "province_table",
    "sex_table",
    "heterogeneity",
    "province_scope",
    "sex_scope",
    "heterogeneity_scope",
    "compare",
]


def compare_block(
    rows: pd.DataFrame, branches: tuple[str, ...], unit: str, inference: str
) -> Static:
    """The chosen branches side by side in words, and whether their effects differ (one
    static block)."""
    shown = rows[rows["sample"].isin(branches)]
    items = []
    for r in records(shown):
        if r["suppressed"]:
            items.append(html.Li(f"{r['sample']}: {too_few()}."))
            continue
        items.append(
            html.Li(
                f"{r['sample']}: {fmt_num(r['estimate'])} ({_ci(r['ci95_low'], r['ci95_high'])}) "
                f"on its own; {fmt_num(r['eb_estimate'])} ({_ci(r['eb_ci95_low'], r['eb_ci95_high'])}) "
                f"pooled — {r['verdict']}."
            )
        )
    cmp = bd.compare_two(rows, branches)
    d = cmp.get("difference")
    if d is None:
        verdict = html.P(cmp["status"], className="small mb-0 fw-semibold")
        how = None
    else:
        verdict = html.P(
            [
                html.Strong(f"{cmp['a']} minus {cmp['b']}: {fmt_num(d.estimate)} {unit} "),
                f"(95% interval {_ci(d.ci95_low, d.ci95_high)}; p = {fmt_p(d.p_value)}): ",
                html.Strong(
                    "the two branches' effects differ."
                    if d.distinguishable
                    else "the two branches' effects cannot be told apart."
                ),
            ],
            className="small mb-0",
        )
        arts = get_artifacts()
        clusters = arts.study.nouns.cluster.many if arts.study is not None else "clusters"
        how = html.P(
            f"How: from each branch's own estimate. The branches have separate {clusters}, so "
            "their estimates are independent and the difference's standard error is the root of "
            "the summed squares"
            + (
                " (their cluster-robust standard errors with a t reference, not the wild bootstrap)"
                if inference == "wild"
                else ""
            )
            + ". The pooled estimates borrow from every branch, so they are not compared.",
            className=f"small text-body-secondary mb-0 mt-1 {HIDE}",
        )
    return Static(
        [
            html.Ul(items, className="small mb-1")
            if items
            else html.P("No branch chosen.", className="small mb-1"),
            verdict,
            how,
        ]
    )


@safe_layout
@per_study
def layout(
    outcome=None, method=None, wave=None, inference=None, branches=None, direction=None, **kwargs
):
    arts = get_artifacts()
    if not arts.ok:
        return problem_page(arts, "Breakdowns")
    specs = param_specs(outcome if isinstance(outcome, str) else None)
    query = {
        k: v
        for k, v in dict(
            outcome=outcome,
            method=method,
            wave=wave,
            inference=inference,
            branches=branches,
            direction=direction,
        ).items()
        if v is not None
    }
    values, notes = qp.parse(specs, {**query, **kwargs})
    values = settle_inference(values, {**query, **kwargs}, arts.results)
    res = arts.results
    opts = options(res)
    args = [values[k] for k in ("outcome", "method", "wave", "inference", "branches", "direction")]
    v = breakdown_view(*args)
    outcome_opts = res.drop_duplicates("outcome")[["outcome", "short"]]
    dims = dimensions()
    first = first_dimension()
    cluster_many = arts.study.nouns.cluster.many if arts.study is not None else "clusters"
    return html.Div(
        [
            page_intro(
                "Where did the programme work?",
                [
                    f"Effects of one outcome by {', '.join(d.lower() for d in dims.values()) or 'group'}. ",
                    *(
                        [
                            f"Branches have few {cluster_many} each, so their own estimates are noisy; the ",
                            term("partially pooled", "pooled", PAGE),
                            " estimate is a steadier guide, and the ",
                        ]
                        if "branch" in dims
                        else ["The "]
                    ),
                    term("heterogeneity test", "het", PAGE),
                    " says whether the groups really differ.",
                ],
                lead_class=f"text-body-secondary {HIDE}",
            ),
            notes_alert(notes, NOTES),
            dbc.Row(
                present_keep(
                    [
                        control(
                            OUTCOME,
                            "Outcome",
                            [(r.outcome, r.short) for r in outcome_opts.itertuples()],
                            values["outcome"],
                        ),
                        *spec_controls(PAGE, values, res),
                        control(
                            DIRECTION,
                            "Plot direction",
                            [(k, v.split(" (")[0]) for k, v in DIRECTIONS.items()],
                            values["direction"],
                        ),
                    ],
                    OUTCOME,
                    WAVE,
                ),
                className="controls g-2 align-items-end",
            ),
            html.Fieldset(
                [
                    html.Legend(
                        "Branches (every panel below follows this choice or says why not)",
                        className="small fw-semibold mb-1 float-none w-auto",
                    ),
                    dbc.Checklist(
                        id=BRANCHES,
                        options=[{"label": b, "value": b} for b in opts["branch"]],
                        value=list(values["branches"]),
                        inline=True,
                        className="small",
                    ),
                ],
                className="branch-filter mt-2",
                hidden="branch" not in dims,
            ),
            html.Div(
                [
                    html.Span(
                        "Download this page's numbers, every outcome:",
                        className="small text-body-secondary",
                    ),
                    html.Button("CSV", id=CSV_BUTTON, className="btn btn-outline-primary btn-sm"),
                    html.Button(
                        "Excel (XLSX)", id=XLSX_BUTTON, className="btn btn-outline-primary btn-sm"
                    ),
                    dcc.Download(id=CSV_DOWNLOAD),
                    dcc.Download(id=XLSX_DOWNLOAD),
                    shown_store(SHOWN, [v[k] for k in ORDER]),
                    search_store(PAGE),
                ],
                className=f"page-downloads {HIDE} d-flex flex-wrap gap-2 align-items-center mt-2",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            html.Div(v["header"], id=HEADER, className="mb-2"),
                            html.Section(
                                [
                                    html.H3("Is the effect the same everywhere?", className="h6"),
                                    html.Div(v["heterogeneity"], id=HETEROGENEITY),
                                    html.P(
                                        v["heterogeneity_scope"],
                                        id=HET_SCOPE,
                                        className="small text-body-secondary mb-0",
                                    ),
                                ],
                                className="card card-body mb-3 py-2",
                                **{"aria-label": "Heterogeneity tests"},
                            ),
                            html.Section(
                                [
                                    html.H3(f"By {dims.get(first, first).lower()}", className="h6"),
                                    html.P(
                                        v["province_scope"],
                                        id=PROVINCE_SCOPE,
                                        className="small text-body-secondary mb-1",
                                    ),
                                    graph(
                                        PROVINCE_FIG,
                                        v["province_figure"],
                                        label="the province chart",
                                        # after the branch chart, the page's main one,
                                        # where there is one
                                        later="branch" in dims,
                                    ),
                                    caption(v["province_caption"], id=PROVINCE_CAPTION),
                                    html.Div(v["province_table"], id=PROVINCE_TABLE),
                                ],
                                **{"aria-label": f"Effects by {dims.get(first, first).lower()}"},
                            ),
                        ],
                        xs=12,
                        lg=8,
                    ),
                    dbc.Col(
                        profile_card(arts.profile, compact=True, id_prefix=f"{PAGE}-profile"),
                        xs=12,
                        lg=4,
                    ),
                ],
                className="g-3 mt-1",
            ),
            html.Section(
                [
                    html.H3("By branch", className="h6 mt-3"),
                    html.Section(
                        [
                            html.H3("Your branches compared", className="h6"),
                            html.Div(v["compare"], id=COMPARE),
                        ],
                        className="card card-body mb-3 py-2",
                        **{"aria-label": "The chosen branches compared"},
                    ),
                    dbc.Row(
                        [
                            dbc.Col(
                                [
                                    graph(
                                        BRANCH_FIG,
                                        v["branch_figure"],
                                        label="the branch chart",
                                    ),
                                ],
                                xs=12,
                                xl=7,
                                # the page's main figure: fitted to the screen when presenting
                                className=FIT,
                            ),
                            dbc.Col(caption(v["branch_caption"], id=BRANCH_CAPTION), xs=12, xl=5),
                            dbc.Col(html.Div(v["branch_table"], id=BRANCH_TABLE), xs=12),
                        ],
                        className="g-3",
                    ),
                ],
                **{"aria-label": "Effects by branch"},
                hidden="branch" not in dims,
            ),
            html.Section(
                [
                    html.H3("Women and men", className="h6 mt-3"),
                    html.P(
                        v["sex_scope"], id=SEX_SCOPE, className="small text-body-secondary mb-1"
                    ),
                    dbc.Row(
                        [
                            dbc.Col(
                                [
                                    graph(
                                        SEX_FIG,
                                        v["sex_figure"],
                                        label="the chart by sex",
                                        later=True,
                                    ),
                                    caption(v["sex_caption"], id=SEX_CAPTION),
                                ],
                                xs=12,
                                xl=5,
                            ),
                            dbc.Col(html.Div(v["sex_table"], id=SEX_TABLE), xs=12, xl=7),
                        ],
                        className="g-3",
                    ),
                ],
                **{"aria-label": "Effects by sex and tables"},
                hidden="sex" not in dims,
            ),
        ]
    )


@dash.callback(
    Output(HEADER, "children"),
    Output(PROVINCE_FIG, "figure"),
    Output(PROVINCE_CAPTION, "children"),
    Output(BRANCH_FIG, "figure"),
    Output(BRANCH_CAPTION, "children"),
    Output(SEX_FIG, "figure"),
    Output(SEX_CAPTION, "children"),
    Output(BRANCH_TABLE, "children"),
    Output(PROVINCE_TABLE, "children"),
    Output(SEX_TABLE, "children"),
    Output(HETEROGENEITY, "children"),
    Output(PROVINCE_SCOPE, "children"),
    Output(SEX_SCOPE, "children"),
    Output(HET_SCOPE, "children"),
    Output(COMPARE, "children"),
    Output(SHOWN, "data"),
    Output(page_search(PAGE), "data"),  # to the address (components.urlstate)
    Input(OUTCOME, "value"),
    Input(METHOD, "value"),
    Input(WAVE, "value"),
    Input(INFERENCE, "value"),
    Input(BRANCHES, "value"),
    Input(DIRECTION, "value"),
    State(SHOWN, "data"),
    State(LOCATION, "search"),
    prevent_initial_call=True,
)
def update(outcome, method, wave, inference, branches, direction=None, shown=None, current=None):
    """Every panel (only the outputs that changed, see components.shown) and the view in
    the address bar."""
    args = view_args(outcome, method, wave, inference, branches, direction)
    v = breakdown_view(*args)
    out, sums = changed_only([v[k] for k in ORDER], shown)
    specs = param_specs()
    single = [p for p in specs if p.name != "branches"]
    names = ("outcome", "method", "wave", "inference", "branches", "direction")
    values = dict(zip(names, args, strict=True))
    chosen, allowed = values["branches"], options(get_artifacts().results)["branch"]
    # "branches=" says "none chosen"; a study without branches has nothing to choose
    own = qp.to_search(single, values)
    search = (
        qp.to_search(specs, values)
        if chosen or not allowed
        else own + ("&" if own else "?") + "branches="
    )
    # the shared filters this page does not set, and presentation mode, stay in the address
    search = qp.keep_carried(search, current, [p.name for p in specs])
    return (*out, sums, search)


def view_args(outcome, method, wave, inference, branches, direction=None) -> tuple:
    """The controls, each checked against its allowed values (defaults otherwise):
    ``breakdown_view``'s arguments."""
    single = [p for p in param_specs() if p.name != "branches"]
    values, _ = qp.parse(
        single,
        dict(outcome=outcome, method=method, wave=wave, inference=inference, direction=direction),
    )
    chosen = qp.chosen(branches, options(get_artifacts().results)["branch"])
    return (
        values["outcome"],
        values["method"],
        values["wave"],
        values["inference"],
        chosen,
        values["direction"],
    )


@dash.callback(
    Output(WAVE, "value"),
    Input(OUTCOME, "value"),
    State(WAVE, "value"),
    prevent_initial_call=True,
)
def wave_for_outcome(outcome, wave):
    """An outcome asked in some waves only: choosing it moves the wave to its last one when
    the wave on screen did not ask it (the wave is kept when it did)."""
    return wave_asked(outcome, wave)


def wave_asked(outcome, wave) -> str:
    """The wave an outcome change shows (no_update: the wave on screen); app.warm_up makes
    each outcome's view at the wave this says."""
    res = get_artifacts().results
    if outcome not in options(res)["outcome"]:
        return dash.no_update
    asked = {str(int(w)) for w in res.loc[res["outcome"] == outcome, "wave"].unique()}
    return dash.no_update if str(wave) in asked else str(default_wave(res, outcome))


# the Inference menu follows the Estimator menu in the browser (no extra round trip)
register_inference_menu(PAGE)
# the branch chart, the page's main figure, is drawn first (components.later)
later_figures(PROVINCE_FIG, SEX_FIG)


def download_values(outcome, method, wave, inference, branches) -> dict:
    """The page's choices as the browser sends them, checked like the main callback."""
    specs = param_specs()
    values, _ = qp.parse(
        specs[:4], dict(outcome=outcome, method=method, wave=wave, inference=inference)
    )
    res = get_artifacts().results
    values["branches"] = qp.chosen(branches, options(res)["branch"])
    values["inference"], _ = effective_inference(values["method"], values["inference"], res)
    return values


def download_parts(outcome, method, wave, inference, branches):
    """(frame, spec sentence, About rows, file name base) of exactly what the page shows."""
    arts = get_artifacts()
    res = arts.results
    v = download_values(outcome, method, wave, inference, branches)
    w = int(v["wave"])
    wl = wave_labels(res).get(w) or str(w)
    dims = dimensions()
    unit_many = arts.study.nouns.unit.many if arts.study is not None else "units"
    frame = bd.page_frame(
        method=v["method"],
        wave=w,
        inference=v["inference"],
        branches=v["branches"],
        first=first_dimension(),
        labels={**dims, **({"sex": "Women and men"} if dims.get("sex") == "sex" else {})},
        all_label=f"All {unit_many}",
    )
    measured = set(frame["outcome"])
    missing = [
        str(r.short)
        for r in res.drop_duplicates("outcome").itertuples()
        if r.outcome not in measured
    ]
    spec = bd.spec_sentence(v["method"], v["inference"], wl)
    about = bd.about_rows(spec, v["branches"], missing)
    base = bd.file_base(words()["slug"], v["method"], v["inference"], wl, v["branches"])
    return frame, spec, about, base, v["branches"]


def download(kind, n_clicks, outcome, method, wave, inference, branches):
    """The page's download (``kind`` "csv" or "xlsx") of exactly what it shows."""
    if not n_clicks:
        return dash.no_update
    frame, spec, about, base, chosen = download_parts(outcome, method, wave, inference, branches)
    return bd.download_data(kind, frame, spec=spec, about=about, base=base, branches=chosen)


# the page's choices, as both downloads read them
DOWNLOAD_STATE = [State(i, "value") for i in (OUTCOME, METHOD, WAVE, INFERENCE, BRANCHES)]


@dash.callback(
    Output(CSV_DOWNLOAD, "data"),
    Input(CSV_BUTTON, "n_clicks"),
    *DOWNLOAD_STATE,
    prevent_initial_call=True,
)
def download_csv(n_clicks, outcome, method, wave, inference, branches):
    """The CSV of the page for every outcome: row 1 the provenance as one cell."""
    return download("csv", n_clicks, outcome, method, wave, inference, branches)


@dash.callback(
    Output(XLSX_DOWNLOAD, "data"),
    Input(XLSX_BUTTON, "n_clicks"),
    *DOWNLOAD_STATE,
    prevent_initial_call=True,
)
def download_xlsx(n_clicks, outcome, method, wave, inference, branches):
    """The same numbers as an Excel workbook with an "About" sheet."""
    return download("xlsx", n_clicks, outcome, method, wave, inference, branches)
