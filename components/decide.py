"""Rendering of :mod:`analysis.decide` for the Overview: the "where it worked" table by
province and branch, and each recommendation's judgement (Dash components, no numbers
computed here beyond formatting)."""

from __future__ import annotations

from dash import html

from analysis.decide import (
    MIXED,
    NOT_SUPPORTED,
    SUPPORTED,
    Judgement,
    WhereItWorked,
)
from components.layout import caption
from components.static import Static
from components.theme import VERDICT_COLOURS, VERDICT_TEXT_COLOURS, fmt_p, fmt_signed

# the interval of a cell, said three ways like a verdict: symbol, word and colour
SIGN_STYLE = {
    "above": ("▲", "improved", "95% interval above zero: better here"),
    "spans": ("●", "no detectable effect", "95% interval includes zero: no clear change"),
    "below": ("▼", "worsened", "95% interval below zero: worse here"),
}
JUDGEMENT_STYLE = {
    SUPPORTED: ("✔", "improved"),
    MIXED: ("◐", "no detectable effect"),
    NOT_SUPPORTED: ("✘", "worsened"),
}


def _cell(est: float, low: float, high: float, sign: str, *, suppressed: bool = False):
    if suppressed:
        return html.Td("too few", className="where-cell text-body-secondary small")
    sym, verdict, words = SIGN_STYLE.get(sign, ("–", "not estimable", "not estimated"))
    return html.Td(
        [
            html.Span(
                [
                    html.Span(sym, className="me-1", **{"aria-hidden": "true"}),
                    fmt_signed(est, 2),
                ],
                style={"color": VERDICT_TEXT_COLOURS.get(verdict)},
                className="fw-semibold",
            ),
            html.Span(f"{fmt_signed(low, 2)} to {fmt_signed(high, 2)}", className="where-ci"),
        ],
        className=f"where-cell where-{sign or 'none'}",
        title=words,
        **{
            "aria-label": f"{fmt_signed(est, 2)} (95% interval {fmt_signed(low, 2)} to {fmt_signed(high, 2)}); {words}"
        },
    )


def where_table(w: WhereItWorked, labels: dict[str, str], all_label: str) -> html.Div:
    """Groups (rows, fixed alphabetical order within each dimension) by family index (columns)."""
    head = html.Thead(
        html.Tr(
            [html.Th("", scope="col")]
            + [html.Th(w.labels[o], scope="col", className="small") for o in w.outcomes]
        )
    )
    rows = []
    ov = w.overall.set_index("outcome")
    rows.append(
        html.Tr(
            [html.Th(all_label, scope="row")]
            + [
                _cell(ov.at[o, "estimate"], ov.at[o, "low"], ov.at[o, "high"], ov.at[o, "sign"])
                for o in w.outcomes
            ],
            className="where-all",
        )
    )
    for dim in w.dimensions:
        kind = "partially pooled estimates" if dim.pooled else "each group's own estimate"
        rows.append(
            html.Tr(
                html.Th(
                    f"{labels.get(dim.name, dim.name)} ({kind})",
                    colSpan=len(w.outcomes) + 1,
                    scope="colgroup",
                    className="small text-body-secondary pt-2",
                )
            )
        )
        cells = dim.cells.set_index(["group", "outcome"])
        for g in dim.groups:
            tds = []
            for o in w.outcomes:
                if (g, o) not in cells.index:
                    tds.append(html.Td("–"))
                    continue
                c = cells.loc[(g, o)]
                tds.append(
                    _cell(c["estimate"], c["low"], c["high"], c["sign"], suppressed=c["suppressed"])
                )
            rows.append(html.Tr([html.Th(g, scope="row", className="fw-normal")] + tds))
        rows.append(
            html.Tr(
                [html.Th("Told apart?", scope="row", className="small fw-normal fst-italic")]
                + [
                    html.Td(
                        "test n/a"
                        if dim.apart(o) is None
                        else ("yes" if dim.apart(o) else "no")
                        + f", p = {fmt_p(dim.heterogeneity_p[o])}",
                        className="small fst-italic text-body-secondary",
                    )
                    for o in w.outcomes
                ],
                className="where-apart",
            )
        )
    return Static(
        html.Table([head, html.Tbody(rows)], className="table table-sm where-table mb-1"),
        className="table-responsive",
    )


def where_legend() -> html.P:
    items = []
    for sym, verdict, words in SIGN_STYLE.values():
        items.append(
            html.Span(
                [html.Span(sym, className="me-1", **{"aria-hidden": "true"}), words],
                style={"color": VERDICT_TEXT_COLOURS.get(verdict)},
                className="me-3 d-inline-block",  # each item whole; the line breaks between them
            )
        )
    return html.P(items, className="small mb-1 where-legend")


def where_section(
    w: WhereItWorked, labels: dict[str, str], nouns: dict[str, str], all_label: str, id: str
) -> html.Div:
    """Summary sentences, the legend, the table and what the numbers are."""
    if not w.dimensions or not w.outcomes:
        return html.P(
            "The results have no breakdown by place for this estimator, so where it worked "
            "cannot be told from them.",
            id=id,
        )
    return html.Div(
        [
            html.Ul([html.Li(s) for s in w.summary(nouns)], className="mb-2 where-summary"),
            where_legend(),
            where_table(w, labels, all_label),
            caption(
                "Each cell: the effect on a family index, in standard deviations of the comparison "
                "group (one common unit; above zero is better for every family), with its 95% "
                "interval underneath. Groups are listed alphabetically, not ranked. Partially pooled "
                "estimates (empirical Bayes, Morris 1983) pull each group's noisy estimate towards "
                "the average in proportion to its noise; where they are all alike, the data show no "
                "sign that the groups differ. 'Told apart?' is the test that the effect is the same "
                "in every group."
            ),
        ],
        id=id,
    )


def judgement_badge(j: Judgement) -> html.Span:
    sym, verdict = JUDGEMENT_STYLE.get(j.judgement, ("–", "not estimable"))
    return html.Span(
        [html.Span(sym, className="me-1", **{"aria-hidden": "true"}), j.label],
        className="verdict-badge judgement-badge",
        style={
            "borderColor": VERDICT_COLOURS.get(verdict),
            "color": VERDICT_TEXT_COLOURS.get(verdict),
        },
        **{"data-judgement": j.judgement},
    )


def judgement_block(j: Judgement, id: str) -> html.Details:
    """The judgement (always visible) with the counts behind it one click away (the rule,
    :data:`analysis.decide.JUDGEMENT_RULE`, is stated once above the cards)."""
    return html.Details(
        [
            html.Summary(
                [
                    judgement_badge(j),
                    # said without opening: the judgement rests mostly on nulls
                    html.Span(
                        " rests mostly on no detectable effect", className="small fw-semibold"
                    )
                    if j.mostly_null
                    else None,
                    html.Span(" why?", className="small text-body-secondary"),
                ],
                className="judgement-summary",
            ),
            html.P(j.because(), className="small mb-1 mt-1 judgement-because"),
        ],
        id=id,
        className="judgement mb-2",
    )
