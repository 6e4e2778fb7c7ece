"""The display frame: every value and string an effect plot shows, prepared in one step.

:func:`components.views.scaled_rows` selects and rescales rows of the results table
(numbers only).  :func:`forest_display` turns those rows into what a forest plot draws:
one row per outcome with its position, the plotted estimate and interval ends (on the
chosen scale and in the chosen direction), the marker's symbol, size and colour, the
verdict's label, the tick label and the hover text.  The figure builders in
:mod:`components.figures` only draw these columns; they never compute or word anything.

Direction: ``estimate`` plots each effect with the sign of the raw difference between
the arms; ``improvement`` flips the sign of outcomes where lower is better (the
codebook's ``better``), so that right of zero always means better and outcomes in
different directions can be read on one axis (the ``improvement`` column of the
results table, rescaled).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.findings import finding_sentence, nouns_of
from analysis.study import Study
from components.frames import records
from components.params import Param
from components.theme import (
    GREY,
    VERDICT_COLOURS,
    VERDICT_LABELS,
    VERDICT_TEXT_COLOURS,
    fmt_num,
    fmt_p,
    fmt_signed,
    is_missing,
)
from components.views import LEVELS, effect_words, scale_unit, view_verdict

DIRECTIONS = {
    "improvement": "Improvement (right of zero = better)",
    "estimate": "As estimated (programme minus comparison)",
}
DEFAULT_DIRECTION = "improvement"


def direction_param() -> Param:
    """The ``direction`` URL parameter (``improvement`` | ``estimate``), the same on every
    page that plots effects (issue 13)."""
    return Param(
        "direction",
        list(DIRECTIONS),
        DEFAULT_DIRECTION,
        "plot direction",
        describe=lambda v: DIRECTIONS[v].lower(),
    )


# Marker shape by verdict, so that the verdict does not rest on colour alone (the chain
# diagram and the slides use the same ▲ ▼ ● symbols, components.theme.VERDICT_SYMBOLS).
VERDICT_MARKERS = {
    "improved": "triangle-up",
    "worsened": "triangle-down",
    "no detectable effect": "circle-open",
}
MARKER_SIZE = {"outcome": 13, "index": 17}

AXIS_UNITS = {
    "natural": "in each outcome's own unit",
    "std": "in SDs of the comparison group",
    "pct": "% of the comparison mean",
}


def axis_title(scale: str, direction: str) -> str:
    """The x-axis title: what is plotted, in which unit and which side is better."""
    if direction == "improvement":
        return f"Improvement, {AXIS_UNITS[scale]} (right of zero = better)"
    return f"Effect, {AXIS_UNITS[scale]} (programme minus comparison)"


def direction_sign(rows: pd.DataFrame, direction: str) -> np.ndarray:
    """+1 or −1 per row: −1 for lower-is-better outcomes when plotting improvement."""
    if direction == "estimate":
        return np.ones(len(rows))
    if direction != "improvement":
        raise ValueError(f"unknown direction {direction!r}; expected one of {list(DIRECTIONS)}")
    return np.where(rows["better"].astype(str).to_numpy() == "lower", -1.0, 1.0)


@dataclass
class ForestDisplay:
    """What a forest plot shows: ``points`` (one row per outcome, in plot order), the
    family ``headers`` (y, label), the axis title and the figure's meta."""

    points: pd.DataFrame
    headers: list[tuple[float, str]]
    axis_title: str
    meta: dict = field(default_factory=dict)


def _positions(rows: pd.DataFrame) -> tuple[list[float], list[tuple[float, str]], list[int]]:
    """y of each row grouped by family (index first), family headers, and the row order."""
    ys: list[float] = []
    order: list[int] = []
    headers: list[tuple[float, str]] = []
    y = 0.0
    recs = rows.reset_index(drop=True)
    for fam in dict.fromkeys(recs["family"]):
        sub = recs[recs["family"] == fam]
        sub = pd.concat([sub[sub["is_index"]], sub[~sub["is_index"]]])
        headers.append((y, str(sub["family_label"].iloc[0])))
        y -= 1
        for i in sub.index:
            order.append(int(i))
            ys.append(y)
            y -= 1
        y -= 0.4
    return ys, headers, order


def forest_display(
    rows: pd.DataFrame,
    *,
    scale: str,
    view: str,
    level: str = "95",
    direction: str = "estimate",
    study: Study | None = None,
) -> ForestDisplay:
    """Rows of :func:`components.views.scaled_rows` -> the forest plot's display frame."""
    if rows.empty:
        return ForestDisplay(rows.copy(), [], axis_title(scale, direction), {"scale": scale})
    ys, headers, order = _positions(rows)
    d = rows.reset_index(drop=True).iloc[order].reset_index(drop=True)
    sign = direction_sign(d, direction)
    out = pd.DataFrame({"outcome": d["outcome"], "y": ys, "is_index": d["is_index"].astype(bool)})
    out["x"] = d["x"].to_numpy(dtype=float) * sign
    for lev in LEVELS:
        lo = d[f"lo{lev}"].to_numpy(dtype=float) * sign
        hi = d[f"hi{lev}"].to_numpy(dtype=float) * sign
        out[f"lo{lev}"], out[f"hi{lev}"] = np.fmin(lo, hi), np.fmax(lo, hi)
    out["mde"] = d["mde_x"].to_numpy(dtype=float)
    out["sign"] = sign
    out["shown"] = d["shown"].to_numpy(dtype=bool)
    out["verdict"] = d["view_verdict"].to_numpy()
    out["verdict_label"] = [VERDICT_LABELS.get(v, v) for v in out["verdict"]]
    out["colour"] = [VERDICT_COLOURS.get(v, GREY) for v in out["verdict"]]
    out["symbol"] = [VERDICT_MARKERS.get(v, "circle-open") for v in out["verdict"]]
    out["size"] = [MARKER_SIZE["index" if i else "outcome"] for i in out["is_index"]]
    # a filled marker gets a darker rim of its colour, so that it stands out from its own
    # interval bar (an open one keeps its colour)
    out["outline"] = [
        c if sym.endswith("-open") else VERDICT_TEXT_COLOURS.get(v, c)
        for c, sym, v in zip(out["colour"], out["symbol"], out["verdict"], strict=True)
    ]
    out["outline_width"] = [2.0 if sym.endswith("-open") else 1.5 for sym in out["symbol"]]
    out["tick"] = [
        "<i>Family index</i>" if i else wrap_label(s, 34)
        for s, i in zip(d["short"], out["is_index"], strict=True)
    ]
    units = nouns_of(study).unit.many
    out["note"] = [
        f"too few {units}"
        if s
        else ("" if sh else ("not meaningful on this scale" if scale == "pct" else "not estimable"))
        for s, sh in zip(d["suppressed"], out["shown"], strict=True)
    ]
    out["mde_hover"] = [
        "Smallest effect this estimate could reliably detect (80% power; MDE from this "
        f"estimate's standard error): ±{fmt_num(m)}"
        for m in out["mde"]
    ]
    out["hover"] = [
        hover_text(r, scale, view, level, direction=direction, study=study) for r in records(d)
    ]
    meta = {"scale": scale, "view": view, "direction": direction}
    return ForestDisplay(out, headers, axis_title(scale, direction), meta)


def wrap_label(text: str, width: int = 26) -> str:
    """Break a label into lines of about ``width`` characters (plotly ``<br>``)."""
    words, lines, cur = str(text).split(), [], ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > width:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    if cur:
        lines.append(cur)
    return "<br>".join(lines)


def natural_interval(row: dict, level: str = "95") -> str:
    """'−0.20 to −0.08 share of clients': the interval in the outcome's own unit."""
    lo, hi = row.get(f"ci{level}_low"), row.get(f"ci{level}_high")
    return f"{fmt_num(lo)} to {fmt_num(hi)} {row.get('unit') or ''}".rstrip()


def hover_text(
    row: dict,
    scale: str,
    view: str,
    level: str = "95",
    *,
    direction: str = "estimate",
    study: Study | None = None,
) -> str:
    """Plain-language hover text for one effect: short lines (HTML breaks) that fit a phone.

    The effect and its interval are in the outcome's own unit (the unit beside the
    number); when the plot shows another scale or direction, one more line says what
    the point on the plot is.
    """
    name = row.get("short") or row.get("outcome")
    fam = row.get("family_label") or ""
    if row.get("suppressed"):
        return f"<b>{name}</b><br>Too few {nouns_of(study).unit.many} in this group<br>to report an effect."
    verdict = row.get("view_verdict") or view_verdict(row, view)
    better = "higher is better" if row.get("better") == "higher" else "lower is better"
    words = effect_words(row, "natural", study=study)
    if " percentage points)" in words:  # a share: the amount, then the same in points
        amount, points = words[:-1].split(" (", 1)
        effect_lines = [f"Effect: {amount}", f"  = {points}"]
    else:
        effect_lines = [f"Effect: {words}"]
    lines = [
        f"<b>{name}</b>",
        f"{fam}; {better}",
        *effect_lines,
        f"{level}% confidence interval: {natural_interval(row, level)}",
    ]
    x = row.get("x")
    flip = direction == "improvement" and row.get("better") == "lower"
    if (scale != "natural" or flip) and not is_missing(x):
        what = (
            "as improvement: right of zero = better"
            if direction == "improvement"
            else "as estimated"
        )
        shown = -float(x) if flip else float(x)
        lines.append(f"On the plot: {fmt_signed(shown)} {scale_unit(row, scale)}")
        lines.append(f"({what})")
    cm = row.get("comparison_mean")
    if not is_missing(cm) and not row.get("is_index"):
        lines.append(f"Comparison average: {fmt_num(cm)} {row.get('unit')}")
    qname = {"p": "p", "qf": "q within family", "q": "q across outcomes"}[view]
    qval = (
        row.get("p_value")
        if view == "p"
        else (row.get("q_value_family") if view == "qf" else row.get("q_value"))
    )
    if view == "qf" and is_missing(qval):
        qname, qval = "q across indices", row.get("q_value")
    if verdict in ("improved", "worsened"):
        lines += [
            f"<b>{verdict.capitalize()}</b> ({qname} = {fmt_p(qval)}):",
            "unlikely to be a chance finding",
        ]
    else:
        lines.append(f"<b>No detectable effect</b> ({qname} = {fmt_p(qval)})")
        mde = row.get("mde_x")
        if not is_missing(mde):
            lines.append(
                f"Could detect effects of ±{fmt_num(mde)} {scale_unit(row, scale)} or larger"
            )
            lines.append("(MDE from this estimate's standard error)")
    if view == "q" and verdict in ("improved", "worsened", "no detectable effect"):
        # the plain-language sentence (its verdict wording is the across-outcomes q view's)
        lines += ["<i>In words:</i>", *textwrap.wrap(finding_sentence(row, study=study), 46)]
    return "<br>".join(lines)


# ---------------------------------------------------------------- effects by subgroup


@dataclass
class SubgroupDisplay:
    """What a subgroup plot shows: ``points`` (one row per group, top to bottom) with the
    group's own estimate (``x``, ``lo``, ``hi``, ``hover``) and, when pooled, its partially
    pooled one (``eb_x``, ``eb_lo``, ``eb_hi``, ``eb_hover``); the reference line; names."""

    points: pd.DataFrame
    axis_title: str
    raw_name: str
    pooled_name: str
    pooled: bool
    reference_x: float | None = None
    reference_name: str = ""


def subgroup_display(
    rows: pd.DataFrame,
    *,
    unit: str,
    pooled: bool = False,
    reference: dict | None = None,
    study: Study | None = None,
    groups: str | None = None,
    direction: str = "estimate",
) -> SubgroupDisplay:
    """Rows of one outcome by subgroup -> the subgroup plot's display frame.

    ``direction="improvement"`` flips the plotted numbers of an outcome where lower is
    better (right of zero = better); the hover keeps the estimate as it is, in ``unit``.
    """
    nouns = nouns_of(study)
    groups = groups or nouns.stratum.many
    d = rows.reset_index(drop=True)
    sg = direction_sign(d, direction) if len(d) and "better" in d else np.ones(len(d))

    def col(name):
        return d[name].to_numpy(dtype=float) if name in d else np.full(len(d), np.nan)

    est, lo, hi = col("estimate"), col("ci95_low"), col("ci95_high")
    eb, eb_lo, eb_hi = col("eb_estimate"), col("eb_ci95_low"), col("eb_ci95_high")
    suppressed = d["suppressed"].to_numpy(dtype=bool) if len(d) else np.zeros(0, bool)
    shown = ~suppressed & np.isfinite(est)
    out = pd.DataFrame(
        {
            "sample": d["sample"] if len(d) else [],
            "y": -np.arange(len(d), dtype=float),
            "tick": [wrap_label(n, 18) for n in d["sample"]] if len(d) else [],
            "shown": shown,
            "note": [
                "" if ok else (f"too few {nouns.unit.many}" if s else "not estimable")
                for ok, s in zip(shown, suppressed, strict=True)
            ],
            "x": sg * est,
            "lo": np.fmin(sg * lo, sg * hi),
            "hi": np.fmax(sg * lo, sg * hi),
            "eb_shown": shown & np.isfinite(eb) & pooled,
            "eb_x": sg * eb,
            "eb_lo": np.fmin(sg * eb_lo, sg * eb_hi),
            "eb_hi": np.fmax(sg * eb_lo, sg * eb_hi),
        }
    )
    recs = records(d)
    out["hover"] = [
        f"<b>{r['sample']}</b><br>Effect: {fmt_num(r['estimate'])} {unit}<br>95% interval: "
        f"{fmt_num(r['ci95_low'])} to {fmt_num(r['ci95_high'])} {unit}"
        f"<br>p = {fmt_p(r.get('p_value'))}"
        f"<br>{_count(r.get('n_programme'))} programme and {_count(r.get('n_comparison'))} "
        f"comparison {nouns.unit.many}<br>(estimation sample)"
        for r in recs
    ]
    out["eb_hover"] = [
        f"<b>{r['sample']}</b> (partially pooled)<br>Effect: {fmt_num(r.get('eb_estimate'))} {unit}"
        f"<br>95% interval: {fmt_num(r.get('eb_ci95_low'))} to {fmt_num(r.get('eb_ci95_high'))} {unit}"
        f"<br>Pulled towards the average of all {groups}, more so for noisy {groups}"
        for r in recs
    ]
    ref_x, ref_name = None, ""
    if reference is not None and not is_missing(reference.get("estimate")):
        ref_x = (float(sg[0]) if len(sg) else 1.0) * float(reference["estimate"])
        # the number the dashed line is drawn at (flipped with the points when plotting
        # improvement), so that the legend and the axis agree
        ref_name = f"{reference.get('sample') or 'All ' + nouns.unit.many}: {fmt_num(ref_x)}"
    title = (
        f"Improvement ({unit}; right of zero = better)"
        if direction == "improvement"
        else f"Effect ({unit}; programme minus comparison)"
    )
    return SubgroupDisplay(
        points=out,
        axis_title=title,
        raw_name="Estimate for the group alone (95% interval)"
        if pooled
        else "Estimate (95% interval)",
        pooled_name=f"Partially pooled estimate (borrows strength from the other {groups})",
        pooled=pooled,
        reference_x=ref_x,
        reference_name=ref_name,
    )


def _count(n) -> str:
    return "–" if is_missing(n) else f"{int(n)}"
