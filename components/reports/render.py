"""The report's figures, sized for slides and print, rendered to PNG by kaleido (the OS's Chromium)."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import plotly.graph_objects as go

from components.chain import chain_figure
from components.display import subgroup_display, wrap_label
from components.figures import make_forest_plot, make_subgroup_plot
from components.reports.common import ReportError
from components.reports.content import Content

# ---------------------------------------------------------------- figures -> PNG

_RENDER_LOCK = threading.Lock()
CSS_PX_PER_INCH = 96


def render_png(fig: go.Figure, width_px: int, height_px: int, *, scale: float = 2.5) -> bytes:
    """PNG bytes of ``fig`` at ``width_px`` x ``height_px`` CSS pixels (times ``scale``).

    One kaleido server (one Chromium) per process, started on first use; renders are
    serialised because kaleido's server is not thread-safe.  MathJax is switched off
    so that nothing is fetched from the network.
    """
    import kaleido
    from kaleido.errors import ChromeNotFoundError

    with _RENDER_LOCK:
        try:
            kaleido.start_sync_server(mathjax=False, silence_warnings=True)
            return kaleido.calc_fig_sync(
                fig.to_dict(),
                opts={"format": "png", "width": width_px, "height": height_px, "scale": scale},
            )
        except ChromeNotFoundError as exc:
            raise ReportError(
                "Figures are rendered with the OS's Chromium, which was not found "
                "(install it with `make sysdeps`, or set BROWSER_PATH)."
            ) from exc


def _restyle(
    fig: go.Figure, width: int, height: int, font: int, legend_columns: int = 3
) -> go.Figure:
    """A page figure made static: fixed size, larger type, the legend in a grid above the plot
    (``legend_columns=0``: in one column right of the plot, leaving the rows the height)."""
    fig = go.Figure(fig)
    if legend_columns:
        # columns of equal width (plotly otherwise gives every entry the widest one's width)
        legend = {"orientation": "h", "yanchor": "bottom", "y": 1.01, "x": 0, "xanchor": "left",
                  "entrywidth": 1 / legend_columns, "entrywidthmode": "fraction"}  # fmt: skip
    else:
        legend = {"orientation": "v", "yanchor": "top", "y": 1, "x": 1.01, "xanchor": "left"}
    fig.update_layout(
        width=width,
        height=height,
        font={"size": font},
        margin={"l": 8, "r": 16, "t": 8, "b": 8},
        legend={**legend, "font": {"size": font - 1}},
    )
    for tr in fig.data:
        role = (tr.meta or {}).get("role")
        if role == "mde":
            tr.name = "± minimum detectable effect"
        elif role == "pooled":
            tr.name = "Partially pooled estimate (95% interval)"
    fig.update_xaxes(title_font={"size": font}, tickfont={"size": font - 1}, automargin=True)
    fig.update_yaxes(tickfont={"size": font}, automargin=True)
    for a in fig.layout.annotations or []:
        a.font = {**(a.font.to_plotly_json() if a.font else {}), "size": font - 1}
    return fig


def figure(
    content: Content,
    which: str,
    width: int,
    height: int,
    font: int,
    families: Sequence[str] | None = None,
) -> go.Figure:
    """One of the report's figures, sized: ``chain``, ``forest``, or ``breakdown-<i>`` (the
    i-th of :attr:`Content.breakdowns`).  ``families``: the forest of those families only, on
    the x range of every outcome (so that the parts of a forest split over slides compare)."""
    if which == "chain":
        return chain_figure(
            content.chain,
            content.indicators,
            notes=content.chain_notes,
            width=width,
            height=height,
            font_size=font + 2,
        )
    if which in ("forest", "forest-families"):
        v = content.view
        rows = content.forest_rows
        if which == "forest-families":  # one summary per family: few rows, legible when projected
            rows = rows[rows["is_index"].astype(bool)]

        def forest(rows):
            return make_forest_plot(
                rows,
                scale=v.scale,
                view=v.mt,
                level=v.level,
                direction=v.direction,
                study=content.study,
            )

        fig = forest(rows)
        if families is not None:
            x_range = fig.layout.xaxis.range
            fig = forest(rows[rows["family"].isin(families)])
            fig.update_xaxes(range=x_range)
        if width > 900:  # a slide-wide figure: the axis title on one line leaves rows the height
            fig.update_xaxes(title_text=fig.layout.xaxis.title.text.replace("<br>", " "))
        # large projected type needs fewer legend columns to keep entries apart; a part of the
        # every-outcome forest puts its legend at the side, so that its rows have the height
        columns = 0 if families is not None else 3 if width > 760 and font < 20 else 2
        return _restyle(fig, width, height, font, legend_columns=columns)
    if which.startswith("breakdown-"):
        b = content.breakdowns[int(which.split("-", 1)[1])]
        fig = make_subgroup_plot(
            subgroup_display(
                b.rows,
                unit=content.outcome_unit,
                pooled=b.pooled,
                reference=content.reference,
                study=content.study,
                groups=b.many,
                direction=content.view.direction,  # as the Breakdowns page: the view's direction
            )
        )
        fig = _restyle(fig, width, height, font, legend_columns=1 if b.pooled or width < 600 else 2)
        # the words break to the figure's width (a narrow chart beside another clipped them)
        chars = max(14, width // font)
        for tr in fig.data:
            if tr.name:
                tr.name = wrap_label(tr.name.replace("<br>", " "), chars)
        title = fig.layout.xaxis.title.text or ""
        return fig.update_xaxes(title_text=wrap_label(title.replace("<br>", " "), chars))
    raise ValueError(f"unknown figure {which!r}")


def figure_png(
    content: Content,
    which: str,
    width_in: float,
    height_in: float,
    font: int,
    families: Sequence[str] | None = None,
) -> bytes:
    """PNG of :func:`figure` for a box ``width_in`` x ``height_in`` inches: one CSS pixel is
    1/96 inch, so a ``font`` of 20 (px) reads as 15 pt where the picture fills the box."""
    w, h = int(width_in * CSS_PX_PER_INCH), int(height_in * CSS_PX_PER_INCH)
    return render_png(figure(content, which, w, h, font, families), w, h)


def alt_text(content: Content, which: str, families: Sequence[str] | None = None) -> str:
    """Alternative text of a report figure, for screen readers (``families``: the families a
    part of the every-outcome forest shows)."""
    if which == "chain":
        return (
            "Results chain: inputs, activities, outputs, outcomes and impact; each outcome lists "
            "its indicators marked improved, worsened or no detectable effect."
        )
    if which == "forest-families":
        return "Forest plot: the effect on each family index (standardised, improvement to the right) with 90, 95 and 99% intervals."
    if which == "forest" and families is not None:
        rows = content.forest_rows
        labels = dict.fromkeys(rows.loc[rows["family"].isin(families), "family_label"])
        return (
            "Forest plot: the effect on every outcome of the families "
            f"{', '.join(map(str, labels))}, with 90, 95 and 99% intervals."
        )
    if which == "forest":
        return "Forest plot: the effect on every outcome with 90, 95 and 99% intervals, grouped by family."
    b = content.breakdowns[int(which.split("-", 1)[1])]
    whole = str((content.reference or {}).get("sample") or "the whole sample")
    own = "own and partially pooled estimates" if b.pooled else "estimates"
    return (
        f"Effect by {b.one}: {own} with 95% intervals; dashed line: {whole[:1].lower()}{whole[1:]}."
    )
