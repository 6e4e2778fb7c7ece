"""Figure builders: tidy tables in, plotly figures out.  No callbacks, no data loading."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analysis.findings import nouns_of, take_up_phrase
from analysis.study import Study
from components.display import (
    VERDICT_MARKERS,
    ForestDisplay,
    SubgroupDisplay,
    forest_display,
    wrap_label,
)
from components.theme import (
    ARM_COLOURS,
    FONT,
    GREY,
    POOLED_COLOUR,
    RAW_COLOUR,
    fmt_num,
    fmt_p,
    named,
)
from components.views import LEVELS

# interval widths in px: thick 90%, medium 95%, thin 99%
INTERVAL_WIDTH = {"90": 9, "95": 4, "99": 1.5}
ROW_HEIGHT = 30


def _light_template() -> go.layout.Template:
    """plotly's "plotly_white" template with the defaults of only the trace types the figures
    draw (scatter, bar): the same look, at less than half the bytes in every figure sent
    (7.2 -> 3.4 KB) and less to copy and validate on every build (plotly validates each
    property a template sets).

    Tick labels are never hidden for reaching past the figure (``ticklabeloverflow``
    "allow"; plotly.js's default for a linear axis, "hide past div", measures every label's
    box after drawing, ~100 ms of a slow machine's main thread per forest plot, issue 12):
    the axes' ``automargin`` makes room for the labels, and a label that still reached past
    the figure would be cut by its edge rather than dropped."""
    import plotly.io as pio

    white = pio.templates["plotly_white"]
    template = go.layout.Template(
        layout=white.layout, data={"scatter": white.data.scatter, "bar": white.data.bar}
    )
    template.layout.xaxis.ticklabeloverflow = "allow"
    template.layout.yaxis.ticklabeloverflow = "allow"
    return template


TEMPLATE = _light_template()


def base_layout(*, height: int, left: int = 10) -> dict:
    """The layout every figure starts from, as plotly JSON: a new dict each call, but its
    "template" is one shared dict (``go.Figure`` copies it; do not change it in place)."""
    return {
        "template": _TEMPLATE_JSON,
        "font": {"family": FONT, "size": 13, "color": "#212529"},
        "height": height,
        "margin": {"l": left, "r": 16, "t": 16, "b": 56},
        "hoverlabel": {"bgcolor": "white", "font": {"size": 12, "family": FONT}, "align": "left"},
        "legend": {"orientation": "h", "yanchor": "top", "y": -0.06, "x": 0, "font": {"size": 12}},
    }


_TEMPLATE_JSON = TEMPLATE.to_plotly_json()


def _base_layout(fig: go.Figure, *, height: int, left: int = 10) -> go.Figure:
    """``fig`` with :func:`base_layout` (the template replaces plotly's default one)."""
    fig.update_layout(base_layout(height=height, left=left) | {"template": TEMPLATE})
    return fig


def empty_figure(message: str, height: int = 240) -> go.Figure:
    """A figure that says why there is nothing to plot (never a blank box)."""
    fig = go.Figure()
    fig.add_annotation(
        text=message,
        showarrow=False,
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
        font={"size": 15, "color": GREY},
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _base_layout(fig, height=height)


def arm_name(arm: str, study: Study | None = None) -> str:
    """'Programme' / 'Comparison' (the results' arm labels) in the study's words:
    'Programme villages', 'Associations with consultant visits'."""
    n = nouns_of(study)
    words = {"Programme": n.programme_arm, "Comparison": n.comparison_arm}.get(arm, arm)
    return words[:1].upper() + words[1:]


_wrap = wrap_label  # the one label wrapper (components.display)
# legend entries of the subgroup plots break at this many characters, so that a phone
# (390 px) shows each whole instead of clipping it at the plot's right edge
LEGEND_WRAP = 34


def padded_range(values, pad: float = 0.06) -> list[float] | None:
    """An x range that holds every value and zero, with a margin on both sides."""
    vals = [float(v) for v in values if v is not None and np.isfinite(v)] + [0.0]
    lo, hi = min(vals), max(vals)
    span = (hi - lo) or 1.0
    return [lo - pad * span, hi + pad * span]


def make_forest_plot(
    rows: pd.DataFrame,
    *,
    scale: str,
    view: str,
    level: str = "95",
    direction: str = "estimate",
    study: Study | None = None,
) -> go.Figure:
    """Forest plot of one specification: the display frame of ``rows`` (from
    :func:`components.views.scaled_rows`), drawn by :func:`draw_forest`."""
    return draw_forest(
        forest_display(rows, scale=scale, view=view, level=level, direction=direction, study=study)
    )


def draw_forest(disp: ForestDisplay) -> go.Figure:
    """Draw a forest plot from its display frame: 90/95/99% intervals at once, grouped by
    family; marker shape and colour by verdict; ±MDE ticks for effects not detected.

    Every number and word comes from the frame's columns (components.display).  Written as
    the figure's JSON and handed to plotly without its validation, as
    :func:`make_subgroup_plot`: plotly's property-by-property building was most of a new
    view's server time (a scale, level or estimator not yet shown: 180-490 ms, issue 12).
    ``tests/test_figures_spec.py`` builds the same JSON through plotly's validation.
    """
    pts = disp.points
    if pts.empty:
        return empty_figure("No results for this choice.")
    shown = pts[pts["shown"]]
    hidden = pts[~pts["shown"]]
    data: list[dict] = []
    verdicts = [v for v in VERDICT_MARKERS if v in set(shown["verdict"])]

    # intervals: one trace per verdict and level (a line colour cannot vary within a trace)
    for verdict in ("no detectable effect", "improved", "worsened"):
        grp = shown[shown["verdict"] == verdict]
        if grp.empty:
            continue
        colour = grp["colour"].iloc[0]
        for lev in ("99", "95", "90"):
            xs, ys = [], []
            for lo, hi, y in zip(grp[f"lo{lev}"], grp[f"hi{lev}"], grp["y"], strict=True):
                xs += [lo, hi, None]
                ys += [y, y, None]
            data.append(
                {"type": "scatter", "x": xs, "y": ys, "mode": "lines",
                 "line": {"color": colour, "width": INTERVAL_WIDTH[lev]},
                 "opacity": 0.55 if lev == "90" else 0.9, "hoverinfo": "skip", "showlegend": False,
                 "name": f"{lev}% interval", "meta": {"role": "interval", "level": lev, "verdict": verdict}}
            )  # fmt: skip

    # minimum detectable effect for effects not detected
    nulls = shown[(shown["verdict"] == "no detectable effect") & np.isfinite(shown["mde"])]
    if not nulls.empty:
        data.append(
            {"type": "scatter", "x": [v for m in nulls["mde"] for v in (-m, m)],
             "y": [y for y in nulls["y"] for _ in (0, 1)],
             "mode": "markers", "name": "± minimum detectable effect (effects not detected)", "legendrank": 5,
             "marker": {"symbol": "line-ns-open", "size": 14, "color": GREY, "line": {"width": 2, "color": GREY}},
             "hovertext": [t for t in nulls["mde_hover"] for _ in (0, 1)], "hoverinfo": "text",
             "meta": {"role": "mde"}}
        )  # fmt: skip

    # points: shape and colour by verdict (▲ improved, ▼ worsened, ○ no detectable effect)
    for verdict in verdicts:
        grp = shown[shown["verdict"] == verdict]
        colour = grp["colour"].iloc[0]
        outline = {"width": grp["outline_width"].iloc[0], "color": grp["outline"].iloc[0]}
        data.append(
            {"type": "scatter", "x": grp["x"].tolist(), "y": grp["y"].tolist(), "mode": "markers",
             "name": grp["verdict_label"].iloc[0],
             "marker": {"color": colour, "size": grp["size"].tolist(), "symbol": grp["symbol"].tolist(),
                        "line": dict(outline)},
             "customdata": grp["outcome"].tolist(), "hovertext": grp["hover"].tolist(), "hoverinfo": "text",
             "showlegend": False, "meta": {"role": "point", "verdict": verdict}}
        )  # fmt: skip
        # the legend key: the same shape and colour
        data.append(
            {"type": "scatter", "x": [None], "y": [None], "mode": "markers",
             "name": grp["verdict_label"].iloc[0],
             "marker": {"color": colour, "size": 12, "symbol": grp["symbol"].iloc[0], "line": dict(outline)},
             "meta": {"role": "key", "verdict": verdict}, "legendrank": 1 + verdicts.index(verdict)}
        )  # fmt: skip

    # legend-only keys for the interval widths and the family index's larger marker
    for lev in LEVELS:
        data.append(
            {"type": "scatter", "x": [None], "y": [None], "mode": "lines", "name": f"{lev}% interval",
             "line": {"color": GREY, "width": INTERVAL_WIDTH[lev]}, "meta": {"role": "key"},
             "legendrank": 6 + LEVELS.index(lev)}
        )  # fmt: skip
    if shown["is_index"].any():
        data.append(
            {"type": "scatter", "x": [None], "y": [None], "mode": "markers",
             "name": "Larger marker: family index",
             "marker": {"color": GREY, "size": 16, "symbol": "circle-open", "line": {"width": 2, "color": GREY}},
             "meta": {"role": "key"}, "legendrank": 4}
        )  # fmt: skip

    # suppressed or undefined rows say so in words
    notes = [
        {"x": 0, "y": y, "text": note, "showarrow": False, "font": {"color": GREY, "size": 12},
         "xanchor": "left", "xshift": 6}
        for note, y in zip(hidden["note"], hidden["y"], strict=True)
    ]  # fmt: skip

    headers = disp.headers
    tickvals = [h[0] for h in headers] + pts["y"].tolist()
    ticktext = [f"<b>{_wrap(h[1], 34)}</b>" for h in headers] + pts["tick"].tolist()
    # shade alternate families for reading across
    shapes = []
    for i, (y0, _) in enumerate(headers):
        y_end = headers[i + 1][0] + 0.7 if i + 1 < len(headers) else float(pts["y"].min()) - 0.7
        if i % 2 == 0:
            shapes.append(
                {"type": "rect", "x0": 0, "x1": 1, "xref": "x domain", "y0": y0 + 0.5, "y1": y_end,
                 "yref": "y", "fillcolor": "#f3f5f7", "line": {"width": 0}, "layer": "below"}
            )  # fmt: skip
    shapes.append(
        {"type": "line", "x0": 0, "x1": 0, "xref": "x", "y0": 0, "y1": 1, "yref": "y domain",
         "line": {"color": "#343a40", "width": 1}}
    )  # fmt: skip
    n = len(pts) + len(headers)
    height = max(320, int(n * ROW_HEIGHT) + 150)
    layout = base_layout(height=height)
    layout.update(
        shapes=shapes,
        yaxis={"tickvals": tickvals, "ticktext": ticktext, "range": [min(tickvals) - 0.8, 0.6],
               "showgrid": False, "zeroline": False, "automargin": True},
        xaxis={"title": {"text": _wrap(disp.axis_title, 34), "font": {"size": 12}},
               "zeroline": False, "automargin": True,
               "range": padded_range([v for c in ("lo99", "hi99", "mde") for v in shown[c]]
                                     + [-m for m in shown["mde"]])},
        legend={**layout["legend"], "y": -90 / height - 0.02},
        meta=disp.meta,
    )  # fmt: skip
    if notes:
        layout["annotations"] = notes
    return go.Figure({"data": data, "layout": layout}, _validate=False)


def make_means_plot(
    means: pd.DataFrame,
    *,
    outcome_label: str,
    unit: str,
    wave_labels: dict[int, str],
    study: Study | None = None,
) -> go.Figure:
    """Outcome means by arm over the waves, with 95% intervals of the means."""
    if means.empty:
        return empty_figure("No means by arm for this outcome.")
    units = nouns_of(study).unit.many
    data = []
    for arm in ("Comparison", "Programme"):
        d = means[means["arm"] == arm].sort_values("wave")
        if d.empty:
            continue
        y = d["mean"].astype(float).tolist()
        err = (1.959964 * d["std_error"].astype(float)).tolist()
        labels = [wave_labels.get(int(w), str(w)) for w in d["wave"]]
        text = [
            (
                f"<b>{arm_name(arm, study)}, {lab}</b><br>Average: {fmt_num(m)} {unit}<br>{int(n)} {units} answered"
                if not s
                else f"<b>{arm_name(arm, study)}, {lab}</b><br>too few {units}"
            )
            for lab, m, n, s in zip(labels, y, d["n"], d["suppressed"], strict=True)
        ]
        data.append(
            {"type": "scatter", "x": labels, "y": y, "mode": "lines+markers", "name": arm_name(arm, study),
             "line": {"color": ARM_COLOURS[arm], "width": 3, "dash": "solid" if arm == "Programme" else "dash"},
             "marker": {"size": 10, "symbol": "circle" if arm == "Programme" else "square"},
             "error_y": {"type": "data", "array": err, "visible": True, "thickness": 1.5, "width": 6},
             "hovertext": text, "hoverinfo": "text"}
        )  # fmt: skip
    layout = base_layout(height=340)
    layout.update(
        yaxis={"title": {"text": _wrap(f"{outcome_label} ({unit})", 40), "font": {"size": 12}},
               "automargin": True},
        xaxis={"type": "category"},
        legend={**layout["legend"], "y": -0.15},
    )  # fmt: skip
    # plotly JSON without plotly's validation, as make_subgroup_plot (the first view of
    # each outcome on Effects builds one while the user waits)
    return go.Figure({"data": data, "layout": layout}, _validate=False)


def make_subgroup_plot(disp: SubgroupDisplay) -> go.Figure:
    """Effects by subgroup (any breakdown the study declares), 95% intervals, drawn from
    the display frame :func:`components.display.subgroup_display` makes of one outcome's
    rows (every number and word from its columns)::

        make_subgroup_plot(subgroup_display(rows, unit="instalments", pooled=True))

    A pooled frame shows each group's partially pooled (empirical Bayes) estimate just
    below the raw one; suppressed groups read "too few"; the whole-sample reference is a
    dashed vertical line.  No groups: a figure that says so.

    Written as the figure's JSON and handed to plotly without its validation: each new
    choice of branches on Breakdowns draws a new one while the user waits, and plotly's
    property-by-property building took 28 of a new view's 74 ms (issue 12).
    ``tests/test_figures_spec.py`` builds the same JSON through plotly's validation.  The
    figure returned does not validate later changes either (``update_layout`` on it).
    """
    pts = disp.points
    if pts.empty:
        return empty_figure("No groups selected.")
    off = 0.18 if disp.pooled else 0.0
    data: list[dict] = []
    shapes: list[dict] = []
    notes: list[dict] = []

    def _seg(items, lo, hi, dy):
        xs, yy = [], []
        for a, b, y in zip(items[lo], items[hi], items["y"], strict=True):
            xs += [a, b, None]
            yy += [y + dy] * 2 + [None]
        return xs, yy

    def _vline(x, line):
        return {"type": "line", "x0": x, "x1": x, "xref": "x", "y0": 0, "y1": 1,
                "yref": "y domain", "line": line}  # fmt: skip

    raw = pts[pts["shown"]]
    if not raw.empty:
        xs, yy = _seg(raw, "lo", "hi", off)
        data += [
            {"type": "scatter", "x": xs, "y": yy, "mode": "lines",
             "line": {"color": RAW_COLOUR, "width": 4}, "hoverinfo": "skip",
             "showlegend": False, "meta": {"role": "interval"}},
            {"type": "scatter", "x": raw["x"].tolist(), "y": (raw["y"] + off).tolist(),
             "mode": "markers", "name": _wrap(disp.raw_name, LEGEND_WRAP),
             "marker": {"color": RAW_COLOUR, "size": 11, "symbol": "circle"},
             "customdata": raw["sample"].tolist(), "hovertext": raw["hover"].tolist(),
             "hoverinfo": "text", "meta": {"role": "raw"}},
        ]  # fmt: skip
    eb = pts[pts["eb_shown"]]
    if disp.pooled and not eb.empty:
        xs, yy = _seg(eb, "eb_lo", "eb_hi", -off)
        data += [
            {"type": "scatter", "x": xs, "y": yy, "mode": "lines",
             "line": {"color": POOLED_COLOUR, "width": 4}, "hoverinfo": "skip",
             "showlegend": False, "meta": {"role": "interval"}},
            {"type": "scatter", "x": eb["eb_x"].tolist(), "y": (eb["y"] - off).tolist(),
             "mode": "markers", "name": _wrap(disp.pooled_name, LEGEND_WRAP),
             "marker": {"color": POOLED_COLOUR, "size": 11, "symbol": "diamond"},
             "hovertext": eb["eb_hover"].tolist(), "hoverinfo": "text",
             "meta": {"role": "pooled"}},
        ]  # fmt: skip
    for note, y in zip(pts["note"], pts["y"], strict=True):
        if note:
            notes.append(
                {"x": 0, "y": y, "text": note, "showarrow": False, "xanchor": "left",
                 "xshift": 6, "font": {"color": GREY}}
            )  # fmt: skip
    if disp.reference_x is not None:
        shapes.append(_vline(disp.reference_x, {"color": GREY, "width": 1.5, "dash": "dash"}))
        data.append(
            {"type": "scatter", "x": [None], "y": [None], "mode": "lines",
             "name": _wrap(disp.reference_name, LEGEND_WRAP),
             "line": {"color": GREY, "dash": "dash"}}
        )  # fmt: skip
    shapes.append(_vline(0, {"color": "#343a40", "width": 1}))
    n = len(pts)
    vals = [*raw["lo"], *raw["hi"], *eb["eb_lo"], *eb["eb_hi"]]
    if disp.reference_x is not None:
        vals.append(disp.reference_x)
    layout = base_layout(height=max(220, n * (70 if disp.pooled else 46) + 130))
    layout.update(
        shapes=shapes,
        yaxis={"tickvals": pts["y"].tolist(), "ticktext": pts["tick"].tolist(),
               "range": [-n + 0.4, 0.6], "showgrid": False, "zeroline": False,
               "automargin": True},
        # wrapped as the forest plot's: on a phone a one-line title ran past the plot's edge
        xaxis={"title": {"text": _wrap(disp.axis_title, 34), "font": {"size": 12}},
               "zeroline": False, "automargin": True, "range": padded_range(vals)},
        # the legend above the plot: below it, it ran into the x-axis title once a phone
        # wraps that title onto two lines (components/present.py)
        legend={**layout["legend"], "y": 1.02, "yanchor": "bottom"},
    )  # fmt: skip
    if notes:
        layout["annotations"] = notes
    return go.Figure({"data": data, "layout": layout}, _validate=False)


def named_subgroup_plot(disp: SubgroupDisplay, filename: str) -> go.Figure:
    """``make_subgroup_plot(disp)`` named ``filename`` for its PNG and SVG exports
    (:func:`components.theme.named`).  Built afresh each time: at about 3 ms it costs less
    than hashing its display frame to look a kept one up did."""
    return named(make_subgroup_plot(disp), filename)


def make_exposure_plot(flow: pd.DataFrame, *, study: Study | None = None) -> go.Figure:
    """Share of units who took the programme up, by arm and wave (from the sample flow)."""
    if flow.empty:
        return empty_figure("No sample-flow data.")
    units, took = nouns_of(study).unit.many, take_up_phrase(study)
    fig = go.Figure()
    for arm in ("Programme", "Comparison"):
        d = flow[flow["arm"] == arm].sort_values("wave")
        fig.add_trace(
            go.Bar(
                x=d["wave_label"], y=100 * d["share_received_fe"], name=arm_name(arm, study), marker_color=ARM_COLOURS[arm],
                text=[f"{100 * v:.0f}%" for v in d["share_received_fe"]], textposition="outside",
                hovertext=[f"{arm_name(arm, study)}, {w}: {100 * v:.0f}% of {n} {units} interviewed {took}" for w, v, n in zip(d["wave_label"], d["share_received_fe"], d["n_clients"], strict=True)],
                hoverinfo="text",
            )
        )  # fmt: skip
    fig.update_yaxes(
        title={"text": _wrap(f"% who {took}", 40), "font": {"size": 12}}, range=[0, 110]
    )
    _base_layout(fig, height=300)
    fig.update_layout(barmode="group", legend={"y": -0.15})
    return fig


def make_sample_flow_plot(flow: pd.DataFrame, *, study: Study | None = None) -> go.Figure:
    """Units interviewed by arm and wave."""
    if flow.empty:
        return empty_figure("No sample-flow data.")
    units = nouns_of(study).unit.many
    fig = go.Figure()
    for arm in ("Programme", "Comparison"):
        d = flow[flow["arm"] == arm].sort_values("wave")
        fig.add_trace(
            go.Bar(
                x=d["wave_label"], y=d["n_clients"], name=arm_name(arm, study), marker_color=ARM_COLOURS[arm],
                text=d["n_clients"], textposition="outside",
                hovertext=[f"{arm_name(arm, study)}, {w}: {n} {units} interviewed" for w, n in zip(d["wave_label"], d["n_clients"], strict=True)],
                hoverinfo="text",
            )
        )  # fmt: skip
    fig.update_yaxes(
        title={"text": f"{units[:1].upper()}{units[1:]} interviewed", "font": {"size": 12}},
        rangemode="tozero",
    )
    _base_layout(fig, height=300)
    fig.update_layout(barmode="group", legend={"y": -0.15})
    top = float(flow["n_clients"].max())
    fig.update_yaxes(range=[0, top * 1.15])
    return fig


def make_balance_plot(balance: pd.DataFrame) -> go.Figure:
    """Normalised differences at baseline (programme minus comparison), with the ±0.25 rule of thumb."""
    if balance.empty:
        return empty_figure("No balance table.")
    d = balance.reset_index(drop=True)
    ys = list(range(len(d)))[::-1]
    fig = go.Figure()
    fig.add_vrect(x0=-0.25, x1=0.25, fillcolor="#eef6f2", line_width=0, layer="below")
    fig.add_trace(
        go.Scatter(
            x=d["normalised_difference"], y=ys, mode="markers", name="Normalised difference",
            marker={"color": RAW_COLOUR, "size": 9},
            hovertext=[f"<b>{v}</b><br>Normalised difference: {fmt_num(nd)}<br>p = {fmt_p(p)}" for v, nd, p in zip(d["variable"], d["normalised_difference"], d["p_value"], strict=True)],
            hoverinfo="text", showlegend=False,
        )
    )  # fmt: skip
    fig.add_vline(x=0, line={"color": "#343a40", "width": 1})
    fig.update_yaxes(
        tickvals=ys, ticktext=[_wrap(v, 34) for v in d["variable"]], automargin=True, showgrid=False
    )
    fig.update_xaxes(
        title={
            "text": "Normalised difference (shaded: within ±0.25, conventionally balanced)",
            "font": {"size": 12},
        }
    )
    _base_layout(fig, height=len(d) * 26 + 120)
    return fig
