"""Layout pieces built from data: banners, captions, the profile card, controls, tables.

Pieces used more than once on a page take an ``id_prefix``.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

from analysis.artifacts import Artifacts, Problem
from components.frames import records
from components.later import blank as later_blank
from components.later import store as later_store
from components.static import Static, StaticSpan
from components.theme import (
    VERDICT_COLOURS,
    VERDICT_LABELS,
    VERDICT_SYMBOLS,
    VERDICT_TEXT_COLOURS,
    graph_config,
    is_missing,
    named,
)

# one sentence each: what a reader needs to know to read the numbers ({units}, {cluster}, ...:
# the study's nouns, filled in by ``glossary``)
GLOSSARY = {
    "ci": "A confidence interval is the range of effects compatible with the data: a 95% interval "
    "would contain the true effect in 95 of 100 repetitions of the study (thick bar 90%, medium 95%, thin 99%).",
    "q": "A q-value is a p-value adjusted for testing many outcomes at once (sharpened false discovery "
    "rate): q ≤ 0.05 means at most about 1 in 20 such findings would be a false alarm.",
    "p": "A p-value is the chance of an effect at least this large if the programme had no effect at all; "
    "it does not account for testing many outcomes.",
    "mde": "The minimum detectable effect is the smallest true effect this study had an 80% chance of "
    "detecting at the 5% level; a null result only rules out effects larger than it. The design MDE "
    "(Methods page) is computed before the data, from the number of {clusters} and the intra-cluster "
    "correlation; the MDE next to an estimate comes from that estimate's own standard error.",
    "itt": "Intention to treat (ITT) compares all {units} of {programme_arm} with {comparison_arm}, "
    "whether or not they actually took part.",
    "late": "The LATE (local average treatment effect) is the effect on compliers: {units} who took part "
    "because their {cluster} was in the programme. Assignment of the {cluster} is the "
    "instrument (Imbens & Angrist 1994); as some comparison {units} took part too, it is not "
    "the effect on every {unit} who took part.",
    "std": "Standardised effects divide by the comparison group's baseline standard deviation, so that "
    "outcomes in different units can be compared (0.2 SD is usually called small, 0.5 medium). Family "
    "indices are already in these units, so their standardised effect is their estimate.",
    "wild": "The wild cluster bootstrap re-draws {cluster}-level residuals many times; it stays reliable "
    "when there are few {clusters}, where ordinary cluster-robust errors are too optimistic.",
    "pooled": "A partially pooled estimate pulls each group towards the average of all groups, more "
    "strongly when the group's own estimate is noisy, so small groups do not dominate.",
    "het": "The heterogeneity test asks whether the effect differs across groups by more than chance "
    "would explain; a small p (below 0.05) means the groups really differ.",
    "index": "A family index averages the standardised outcomes of one family (signed so that higher "
    "is better): one test per family, less prone to lucky findings. Its unit is the standard deviation "
    "of the comparison group at baseline (mean 0, SD 1 there), the same number on every page and export.",
}


def glossary(key: str) -> str:
    """One glossary sentence in the current study's nouns ({units}, {cluster}, ...)."""
    from components.store import get_study

    info = get_study()
    if info is None:
        words = {"unit": "unit", "units": "units", "cluster": "cluster", "clusters": "clusters"}
        words |= {"programme_arm": "programme clusters", "comparison_arm": "comparison clusters"}
    else:
        n = info.nouns
        words = {
            "unit": n.unit.one,
            "units": n.unit.many,
            "cluster": n.cluster.one,
            "clusters": n.cluster.many,
            "programme_arm": n.programme_arm,
            "comparison_arm": n.comparison_arm,
        }
    return GLOSSARY[key].format(**words)


def term(text: str, key: str, id_prefix: str) -> StaticSpan:
    """Text followed by a focusable (?) that explains the term in one sentence.

    The explanation is in the (?)'s ``data-tip``; ``assets/tooltips.js`` shows it in a
    tooltip on pointing, focus or a tap, kept inside the window.  A screen reader reads it
    in the (?)'s label.  One static component (components.static) where a Bootstrap
    tooltip made three: each component costs the page on every update (issue 12)."""
    tid = f"{id_prefix}-tip-{key}"
    explained = glossary(key)
    return StaticSpan(
        [
            text,
            html.Span(
                "?",
                id=tid,
                className="term-help",
                tabIndex=0,
                role="button",
                **{"aria-label": f"What is {text.lower()}? {explained}", "data-tip": explained},
            ),
        ]
    )


def page_intro(title: Any, lead: Any, *, lead_class: str = "text-body-secondary") -> Static:
    """A page's heading and the paragraph that introduces it, as one static block
    (components.static): the markup of an ``H1`` and a ``P``, one component where they made
    two to ten (every component costs the page on each update of Dash's store, issue 12).
    ``lead`` holds text and plain ``dash.html`` components (a :func:`term` is one)."""
    return Static([html.H1(title, className="h3 mt-3"), html.P(lead, className=lead_class)])


def provenance_banner(arts: Artifacts) -> Static:
    """Always visible: what data the numbers come from (for data under a licence, with
    its attribution line: citation and licence)."""
    kind = arts.data_kind
    colour = "warning" if kind == "demo" else "info"
    built = str(arts.results_manifest.get("built_at", ""))[:10]
    detail = f" · results built {built}" if built else ""
    credit = arts.data_credit
    # one static block (components.static): the markup of Bootstrap's container-xxl, a P
    # and its parts, as one component on every page (issue 12)
    return Static(
        html.Div(
            html.P(
                [
                    html.Strong(arts.data_label, id="provenance-label"),
                    html.Span(f" · {credit}", id="provenance-credit") if credit else None,
                    html.Span(detail, className="ms-1"),
                ],
                className="mb-0 small",
            ),
            className="container-xxl",
        ),
        className=f"provenance provenance-{kind} bg-{colour}-subtle border-bottom border-{colour}",
        role="note",
        **{"aria-label": "Data provenance"},
    )


def problems_alert(problems: Iterable[Problem], *, id: str | None = None) -> html.Div:
    """Blocking problems as a prominent alert; warnings as a compact one."""
    items = list(problems)
    kwargs = {"id": id} if id else {}
    if not items:
        return html.Div(**kwargs)
    if not any(p.blocking for p in items):
        return dbc.Alert(
            [html.Strong("Note: "), " ".join(p.message for p in items)],
            color="warning",
            className="mt-2 mb-0 py-1 px-2 small",
            **kwargs,
        )
    return dbc.Alert(
        [
            html.H2("The results cannot be shown", className="h5"),
            html.Ul([html.Li(p.message) for p in items], className="mb-0"),
        ],
        color="danger",
        className="my-3",
        **kwargs,
    )


def problem_page(arts: Artifacts, title: str) -> html.Div:
    """What a page shows instead of numbers when the artefacts cannot be trusted."""
    return html.Div(
        [
            html.H1(title, className="h3 mt-3"),
            problems_alert(arts.problems),
            html.P(
                [
                    "The dashboard reads a results table that is estimated once from the processed survey panel. ",
                    "In a terminal in the project folder, run ",
                    html.Code("make data"),
                    " and then restart the app.",
                ]
            ),
        ]
    )


def notes_alert(notes: Sequence[str], id: str) -> dbc.Alert:
    """Visible notes about link values that were not understood (or empty, hidden)."""
    return dbc.Alert(
        [html.Ul([html.Li(n) for n in notes], className="mb-0")] if notes else [],
        id=id,
        color="info",
        is_open=bool(notes),
        dismissable=True,
        className="py-2 small",
    )


def caption(children: Any, id: str | None = None) -> html.P:
    kwargs = {"id": id} if id else {}
    return html.P(children, className="figure-caption small text-body-secondary mt-1", **kwargs)


def verdict_badge(verdict: str, text: str | None = None) -> html.Span:
    """A verdict said three ways: symbol, word and colour."""
    colour = VERDICT_COLOURS.get(verdict, "#595959")
    return html.Span(
        [
            html.Span(
                VERDICT_SYMBOLS.get(verdict, "•"), className="me-1", **{"aria-hidden": "true"}
            ),
            text or VERDICT_LABELS.get(verdict, verdict),
        ],
        className="verdict-badge",
        style={"borderColor": colour, "color": VERDICT_TEXT_COLOURS.get(verdict, "#404040")},
    )


def control(
    id: str,
    label: Any,
    options: Sequence[tuple[Any, str]],
    value: Any,
    *,
    width: dict | None = None,
) -> dbc.Col:
    """A labelled native select (keyboard-friendly, readable by screen readers)."""
    return dbc.Col(
        [
            dbc.Label(label, html_for=id, className="small fw-semibold mb-1"),
            dbc.Select(
                id=id,
                options=[{"label": lab, "value": str(v)} for v, lab in options],
                value=str(value),
                size="sm",
            ),
        ],
        **(width or {"xs": 12, "sm": 6, "lg": True}),
        className="mb-2",
    )


def graph(
    id: str,
    figure: Any,
    filename: str | None = None,
    *,
    svg: bool = True,
    label: str = "",
    later: bool = False,
) -> html.Div:
    """A figure with a loading state, PNG export from the modebar and an SVG button, both
    saved as ``filename`` (None: the figure is already :func:`components.theme.named`, as a
    figure that a callback replaces must be).  ``later``: drawn after the page's first
    figure (components.later; the page registers it with ``later_figures``)."""
    if filename is not None:
        figure = named(figure, filename)
    frame = "dash-graph-frame"
    children: list[Any] = []
    if later:
        children.append(later_store(id, figure))
        figure, frame = later_blank(figure), f"{frame} figure-later"
    children.insert(
        0,
        dcc.Loading(
            dcc.Graph(id=id, figure=figure, config=graph_config(), className=frame),
            type="default",
            delay_show=250,
        ),
    )
    if svg:
        children.append(
            html.Div(
                [
                    html.Span(
                        "Export: camera icon in the figure's toolbar for PNG, or ",
                        className="small text-body-secondary",
                    ),
                    html.Button(
                        "download SVG",
                        id={"type": "svg-export", "index": id},
                        className="btn btn-link btn-sm p-0 align-baseline",
                        **{"aria-label": f"download SVG of {label or 'this figure'}"},
                    ),
                ],
                className="export-row",
            )
        )
    return html.Div(children, className="figure-block")


def simple_table(
    df: pd.DataFrame,
    columns: Sequence[tuple[str, str, Any]],
    *,
    id: str | None = None,
    caption_text: str | None = None,
    nowrap: bool = False,
    stack: bool = False,
) -> html.Div:
    """A static, responsive HTML table: (column, header, formatter) triples.

    ``stack``: on a phone each row becomes a block of "header: value" lines (the header
    from the cell's ``data-label``, assets/app.css), so no column is off-screen.
    """
    head = html.Thead(html.Tr([html.Th(h, scope="col") for _, h, _ in columns]))
    body_rows = []
    for rec in records(df):
        cells = []
        for col, head_text, fmt in columns:
            v = rec.get(col)
            extra = {"data-label": head_text} if stack else {}
            cells.append(html.Td(fmt(v) if fmt else ("–" if is_missing(v) else str(v)), **extra))
        body_rows.append(html.Tr(cells))
    kids = [html.Caption(caption_text)] if caption_text else []
    kids += [head, html.Tbody(body_rows)]
    kwargs = {"id": id} if id else {}
    return Static(
        html.Table(kids, className="table table-sm table-striped table-hover mb-0 align-middle"),
        className="table-responsive"
        + (" table-nowrap" if nowrap else "")
        + (" table-stack" if stack else ""),
        # focusable so that a table wider than the screen can be scrolled with the keyboard
        tabIndex=0,
        role="region",
        **{"aria-label": caption_text or "Table"},
        **kwargs,
    )


# Column widths are worked out here from the text each column shows.  The grid used to
# measure every cell in the browser (columnSize="autoSize") and then every header's height
# (autoHeaderHeight): about 150 forced layouts of the page and 0.4-0.5 s of the main thread
# in the 2 s after the first figure, which a user's first change of a filter waited behind
# (issue 12).  A column is as wide as its header on one line or its widest value, with the
# grid's padding.  The widths per character are the largest measured in Chromium for the
# grid's 14 px font (7.6 px in a long header, 7.95 in a cell, 8.0 in a bold cell), so that
# no text is cut; a narrower system font leaves a little room.
HEADER_CHAR_PX = 7.6
CELL_CHAR_PX = 8.0
BOLD_CHAR_PX = 8.4
HEADER_PAD_PX = 56  # the cell's padding, the sort arrow and the resize handle
CELL_PAD_PX = 36
MIN_COLUMN_PX = 90


def _shown_length(value: Any) -> int:
    """Characters the grid shows for ``value``, at most: numbers are formatted in the browser
    (d3), with at most three decimals, a thousands comma and a sign or a "< " prefix."""
    if value is None or (isinstance(value, float) and value != value):
        return 1  # "–"
    if isinstance(value, bool):
        return len(str(value))
    if isinstance(value, int):
        return len(f"{value:,}") + 1
    if isinstance(value, float):
        return len(f"{value:,.3f}") + 2
    return len(str(value))


def fitted_columns(rows: Sequence[dict], column_defs: Sequence[dict]) -> list[dict]:
    """``column_defs`` with each column's ``width`` fitted to its header and to the values
    of ``rows`` it shows (see above); a column's own ``minWidth`` is kept as a floor."""
    out = []
    for col in column_defs:
        field = col.get("field")
        per_char = BOLD_CHAR_PX if "fw-semibold" in str(col.get("cellClass", "")) else CELL_CHAR_PX
        widest = max((_shown_length(r.get(field)) for r in rows), default=1)
        width = max(
            len(str(col.get("headerName", field or ""))) * HEADER_CHAR_PX + HEADER_PAD_PX,
            widest * per_char + CELL_PAD_PX,
            col.get("minWidth", MIN_COLUMN_PX),
        )
        out.append({**col, "width": math.ceil(width)})
    return out


def data_grid(
    id: str, rows: list[dict], column_defs: list[dict], *, height: int | None = None
) -> dag.AgGrid:
    """A sortable, keyboard-navigable table (dash-ag-grid).  The grid does not size its
    columns: pass ``column_defs`` with their widths, from :func:`fitted_columns` for these
    ``rows`` (where the columns are made, so that a callback sending new columns sends the
    same widths as the layout)."""
    style = {"height": f"{height}px"} if height else {"height": None}
    return dag.AgGrid(
        id=id,
        rowData=rows,
        columnDefs=column_defs,
        defaultColDef={
            "sortable": True,
            "resizable": True,
            "filter": False,
            "wrapHeaderText": True,
            "minWidth": MIN_COLUMN_PX,
        },
        dashGridOptions={
            "domLayout": "autoHeight" if not height else "normal",
            "animateRows": False,
            "suppressDragLeaveHidesColumns": True,
            "enableCellTextSelection": True,
            "ensureDomOrder": True,
            "suppressColumnVirtualisation": True,
        },
        className="ag-theme-quartz amk-grid",
        style=style,
    )


def profile_card(
    profile: dict[str, Any], *, compact: bool = False, id_prefix: str = "profile"
) -> html.Section | dbc.Card:
    """The institution profile from the study's ``profile.yaml``: figures, mission, products, the innovation."""
    if not profile:
        return dbc.Card(
            dbc.CardBody("No institution profile file was found (the study's profile.yaml)."),
            className="h-100",
        )
    figs = []
    for f in profile.get("figures", []):
        try:
            value = str(f.get("format", "{}")).format(f.get("value"))
        except (ValueError, TypeError):
            value = str(f.get("value"))
        figs.append(
            html.Div(
                [
                    html.Dt(f.get("label", ""), className="small text-body-secondary fw-normal"),
                    html.Dd(
                        [
                            html.Span(value, className="fw-semibold"),
                            html.Span(f" ({f['note']})", className="small")
                            if f.get("note")
                            else None,
                        ],
                        className="mb-2",
                    ),
                ],
                className="profile-figure",
            )
        )
    body: list[Any] = [
        html.H2(profile.get("name", ""), className="h5 mb-0", id=f"{id_prefix}-title"),
        html.P(
            f"{profile.get('full_name', '')} · {profile.get('country', '')}",
            className="small text-body-secondary mb-2",
        ),
        html.Dl(figs, className="profile-figures mb-1"),
        # when the figures were true (profile.yaml ``as_of``): a count of borrowers has a date
        html.P(f"Figures as of: {profile['as_of']}", className="small text-body-secondary mb-2")
        if profile.get("as_of")
        else None,
    ]
    if not compact:
        # mission and products only where the profile states them
        body += [
            html.P(
                [html.Span("Mission: ", className="fw-semibold"), profile["mission"]],
                className="small mb-2",
            )
            if profile.get("mission")
            else None,
            html.P(
                [
                    html.Span("Products: ", className="fw-semibold"),
                    ", ".join(profile["products"]),
                ],
                className="small mb-2",
            )
            if profile.get("products")
            else None,
        ]
    inn = profile.get("innovation") or {}
    ev = profile.get("evaluation") or {}
    if inn and not compact:
        body += [
            html.H3("The innovation", className="h6 mt-2 mb-1"),
            html.P(html.Em(inn.get("title", "")), className="small mb-1"),
            html.P(inn.get("summary", ""), className="small mb-1"),
        ]
    if ev:
        body += [
            html.H3("The evaluation", className="h6 mt-2 mb-1"),
            html.P(ev.get("summary", ""), className="small mb-1"),
        ]
    if profile.get("programme"):
        funder = f"; funded by the {profile['funder']}" if profile.get("funder") else ""
        body.append(
            html.P(
                f"{profile['programme']}{funder}.",
                className="small text-body-secondary mb-0 mt-2",
            )
        )
    return html.Section(
        # Bootstrap's card markup as one component (components.static): the card changes
        # only with the study
        Static(html.Div(body, className="card-body"), className="card profile-card h-100"),
        className="h-100",
        **{"aria-labelledby": f"{id_prefix}-title"},
    )


def provenance_line(*, label: str, spec: str = "") -> str:
    """The data label, licence credit (data under a licence, e.g. CC BY 4.0), the view's
    specification and the aggregate-only promise, as one line of text."""
    from components.store import get_artifacts

    credit = get_artifacts().data_credit
    parts = [label]
    if credit and credit not in label:
        parts.append(credit)
    if spec:
        parts.append(spec)
    parts.append("Aggregate results only: no individual rows.")
    parts = [" ".join(str(p).split()) for p in parts if str(p).strip()]
    return " ".join(p if p[-1] in ".!?)" else p + "." for p in parts)


def csv_text(df: pd.DataFrame, *, label: str, spec: str = "") -> str:
    """CSV whose first row is the provenance line as ONE quoted cell (Excel shows it in A1,
    not spread over data rows as ``#`` comment lines were); the table's header is row 2.

    Read it back with ``pd.read_csv(path, skiprows=1)``.
    """
    buf = io.StringIO()
    line = provenance_line(label=label, spec=spec)
    # a leading = + - @ would make a spreadsheet read the cell as a formula
    if line[:1] in "=+-@":
        line = "'" + line
    csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\n").writerow([line])
    df.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue()


def json_block(doc: dict[str, Any]) -> html.Pre:
    return html.Pre(
        json.dumps(doc, indent=2, ensure_ascii=False, default=str),
        className="small bg-body-tertiary p-2 border rounded manifest-json",
        tabIndex=0,
    )
