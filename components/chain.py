"""The results-chain diagram, drawn from the study's ``results_chain.yaml``.

Stages are columns (stacked on narrow screens); every node is a button (keyboard
usable) with a pattern-matching id.  Outcome nodes list their indicators with the
measured verdict (symbol, word and colour).  Selecting a node highlights the
nodes it is linked to by the chain's edges.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from dash import html

from analysis.findings import nouns_of, take_up_phrase
from analysis.study import Study
from components.static import Static, StaticSpan
from components.theme import VERDICT_COLOURS, VERDICT_LABELS, VERDICT_SYMBOLS

NODE_TYPE = "chain-node"
# pale fills of outcome boxes in the static figure, by the family index's verdict
TINTS = {"improved": "#e6f5ef", "worsened": "#fbebe0"}


def neighbours(chain: dict[str, Any], node_id: str) -> tuple[list[str], list[str]]:
    """(nodes leading to ``node_id``, nodes it leads to), in file order."""
    edges = [tuple(e) for e in chain.get("edges", [])]
    upstream = [a for a, b in edges if b == node_id]
    downstream = [b for a, b in edges if a == node_id]
    return upstream, downstream


def node_by_id(chain: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["id"]: n for n in chain.get("nodes", [])}


def node_class(node: dict[str, Any], selected: str | None, linked: set[str]) -> str:
    cls = f"chain-node chain-stage-{node.get('stage')}"
    if node["id"] == selected:
        cls += " is-selected"
    elif node["id"] in linked:
        cls += " is-linked"
    return cls


def linked_nodes(chain: dict[str, Any], selected: str | None) -> set[str]:
    if not selected:
        return set()
    up, down = neighbours(chain, selected)
    return set(up) | set(down)


def chain_indicators(res: pd.DataFrame, rows: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """Outcome -> (short label, verdict) for the results chain from the view's ``rows``; an
    outcome that was not measured at the view's wave says so ('other wave') with its label,
    never its bare column name."""
    shorts = res.drop_duplicates("outcome").set_index("outcome")["short"]
    out = {str(o): (f"{s} (other wave)", "not estimable") for o, s in shorts.items()}
    out.update({r.outcome: (r.short, r.verdict) for r in rows.itertuples()})
    return out


def _indicator_line(name: str, label: str, verdict: str) -> html.Li:
    return html.Li(
        [
            html.Span(
                VERDICT_SYMBOLS.get(verdict, "•"),
                className="ind-symbol",
                style={"color": VERDICT_COLOURS.get(verdict)},
                **{"aria-hidden": "true"},
            ),
            html.Span(label, className="ind-label"),
            html.Span(
                f": {VERDICT_LABELS.get(verdict, verdict).lower()}", className="visually-hidden"
            ),
        ],
        className=f"ind ind-{verdict.replace(' ', '-')}",
        title=f"{label}: {VERDICT_LABELS.get(verdict, verdict)}",
    )


def exposure_notes(
    chain: dict[str, Any],
    sample_flow: Any,
    wave: int,
    wave_label: str,
    study: Study | None = None,
) -> dict[str, str]:
    """The take-up line under a node measured by the exposure (``measure: exposure``), from
    the diagnostics' sample flow at ``wave``: 'By the endline: 83% of clients in programme
    villages received ... (7% in comparison villages)'.  Shared by the web diagram, the
    slide and the brief."""
    flow = pd.DataFrame(sample_flow if isinstance(sample_flow, list) else [])
    if flow.empty or "share_received_fe" not in flow:
        return {}
    reach = flow[flow["wave"] == wave]
    share = {r.arm: r.share_received_fe for r in reach.itertuples()}
    if "Programme" not in share:
        return {}
    n = nouns_of(study)
    return {
        node["id"]: (
            f"By the {str(wave_label).lower()}: {100 * share['Programme']:.0f}% of {n.unit.many} in "
            f"{n.programme_arm} {take_up_phrase(study)} "
            f"({100 * share.get('Comparison', float('nan')):.0f}% in {n.comparison_arm})"
        )
        for node in chain.get("nodes", [])
        if node.get("measure") == "exposure"
    }


def chain_diagram(
    chain: dict[str, Any],
    indicators: dict[str, tuple[str, str]],
    selected: str | None,
    notes: dict[str, str] | None = None,
) -> html.Div:
    """The diagram. ``indicators`` maps outcome name -> (short label, verdict); ``notes``
    adds a line under a node (the take-up of :func:`exposure_notes`)."""
    notes = notes or {}
    linked = linked_nodes(chain, selected)
    columns = []
    for stage in chain.get("stages", []):
        nodes = [n for n in chain.get("nodes", []) if n.get("stage") == stage["id"]]
        buttons = []
        for n in nodes:
            kids: list[Any] = [html.Span(n.get("label", n["id"]), className="chain-node-label")]
            if n["id"] in notes:
                kids.append(html.Span(notes[n["id"]], className="chain-note small d-block"))
            outs = n.get("outcomes") or []
            if outs:
                kids.append(
                    html.Ul(
                        [
                            _indicator_line(o, *indicators.get(o, (o, "not estimable")))
                            for o in outs
                        ],
                        className="chain-indicators",
                    )
                )
                idx = n.get("index")
                if idx and idx in indicators:
                    _, iv = indicators[idx]
                    kids.append(
                        html.Span(
                            [
                                html.Span("Index: ", className="small"),
                                html.Span(
                                    VERDICT_LABELS.get(iv, iv).lower(),
                                    className="small fw-semibold",
                                ),
                            ],
                            className="chain-index",
                            style={"borderColor": VERDICT_COLOURS.get(iv)},
                        )
                    )
            buttons.append(
                html.Button(
                    # the box's text as one component (components.static); the button
                    # itself is a component, since a click on it is a callback's input
                    StaticSpan(kids, className="chain-node-body"),
                    id={"type": NODE_TYPE, "index": n["id"]},
                    className=node_class(n, selected, linked),
                    n_clicks=0,
                    **{"aria-pressed": "true" if n["id"] == selected else "false"},
                )
            )
        columns.append(
            html.Section(
                [
                    html.H2(stage.get("label", stage["id"]), className="chain-stage-title h6"),
                    html.Div(buttons, className="chain-stage-nodes"),
                ],
                className=f"chain-stage chain-stage-col-{stage['id']}",
                **{"aria-label": f"Stage: {stage.get('label', stage['id'])}"},
            )
        )
    return html.Div(columns, className="chain-diagram")


def chain_legend() -> Static:
    """A key to every convention of the diagram: indicator symbols, the index bar and
    the outlines of the chosen step and of the steps linked to it."""
    items = []
    for v in ("improved", "worsened", "no detectable effect"):
        items.append(
            html.Span(
                [
                    html.Span(
                        VERDICT_SYMBOLS[v],
                        style={"color": VERDICT_COLOURS[v]},
                        className="me-1",
                        **{"aria-hidden": "true"},
                    ),
                    VERDICT_LABELS[v],
                ],
                className="me-3 text-nowrap",
            )
        )
    items += [
        html.Span(
            [
                html.Span(className="legend-swatch legend-index", **{"aria-hidden": "true"}),
                "Bar beside “Index”: the family index's verdict, in the same colours",
            ],
            className="me-3",
        ),
        html.Span(
            [
                html.Span(className="legend-swatch legend-selected", **{"aria-hidden": "true"}),
                "Solid blue outline: the step you chose",
            ],
            className="me-3 d-inline-block",
        ),
        html.Span(
            [
                html.Span(className="legend-swatch legend-linked", **{"aria-hidden": "true"}),
                "Dashed outline: steps directly before or after it",
            ],
            className="me-3 d-inline-block",
        ),
    ]
    # one static block (components.static), not 13 components (issue 12)
    return Static(
        items, className="chain-legend small", role="note", **{"aria-label": "Key to the diagram"}
    )


def edges_table_rows(chain: dict[str, Any]) -> list[tuple[str, str]]:
    """(from label, to label) for each edge: the diagram's text alternative."""
    by = node_by_id(chain)
    return [
        (by[a].get("label", a), by[b].get("label", b))
        for a, b in (tuple(e) for e in chain.get("edges", []))
        if a in by and b in by
    ]


# ---------------------------------------------------------------- static figure (slides, brief)


def _pieces(text: str) -> list[str]:
    """Words, with hyphenated compounds breakable after each hyphen."""
    out = []
    for w in str(text).split():
        parts = w.split("-")
        out += [p + "-" for p in parts[:-1]] + [parts[-1]]
    return [p for p in out if p]


def _wrap_words(text: str, width: int) -> list[str]:
    lines, cur = [], ""
    for w in _pieces(text):
        if cur and len(cur) + (0 if cur.endswith("-") else 1) + len(w) > width:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur}{w}" if cur.endswith("-") else f"{cur} {w}".strip()
    if cur:
        lines.append(cur)
    return lines or [""]


def _node_lines(
    node: dict[str, Any],
    indicators: dict[str, tuple[str, str]],
    notes: dict[str, str],
    chars: int,
) -> list[tuple[str, str | None, bool]]:
    """(text, verdict or None, bold) per line of one node box."""
    bold_chars = max(6, int(chars * 0.86))  # bold glyphs are wider
    lines: list[tuple[str, str | None, bool]] = [
        (t, None, True) for t in _wrap_words(node.get("label", node["id"]), bold_chars)
    ]
    for o in node.get("outcomes") or []:
        label, verdict = indicators.get(o, (o, "not estimable"))
        for i, t in enumerate(_wrap_words(label, chars - 2)):
            lines.append((t, verdict if i == 0 else "", False))
    idx = node.get("index")
    if idx and idx in indicators:
        _, iv = indicators[idx]
        text = f"Index: {VERDICT_LABELS.get(iv, iv).lower()}"
        for i, t in enumerate(_wrap_words(text, chars - 2)):
            lines.append((t, iv if i == 0 else "", False))
    if node["id"] in notes:
        lines += [(t, None, False) for t in _wrap_words(notes[node["id"]], chars)]
    return lines


def chain_figure(
    chain: dict[str, Any],
    indicators: dict[str, tuple[str, str]],
    *,
    notes: dict[str, str] | None = None,
    width: int = 1200,
    height: int = 560,
    font_size: int = 20,
    orientation: str = "auto",
):
    """The results chain as a static plotly figure (for the slide deck and the printed brief).

    The same content as :func:`chain_diagram`: stages in order, each outcome node with
    its indicators marked by verdict (symbol and colour) and its family index;
    ``notes`` adds text under a node (e.g. the share of clients reached).  Stages run
    left to right (``horizontal``, for slides) or top to bottom (``vertical``, for a
    portrait page); ``auto`` takes the one that allows the larger type.  The font is
    the largest up to ``font_size`` px for which everything fits.
    """
    import plotly.graph_objects as go  # local: the web pages import this module too

    from components.theme import FONT

    notes = notes or {}
    stages = [s for s in chain.get("stages", []) if isinstance(s, dict)]
    nodes = [n for n in chain.get("nodes", []) if isinstance(n, dict)]
    fig = go.Figure()
    if not stages or not nodes:
        fig.add_annotation(text="No results-chain file was found.", showarrow=False)
        fig.update_layout(width=width, height=height)
        return fig
    members = {s["id"]: [n for n in nodes if n.get("stage") == s["id"]] for s in stages}
    longest = max((len(w) for n in nodes for w in _pieces(n.get("label", ""))), default=8)
    gap, inner, pad, edge = 34, 10, 6, 2  # px: between stages, between boxes, in a box, at edges
    key_lines = 2

    def box_chars(w: float, fs: int) -> int | None:
        """Characters per line in a box ``w`` px wide, or None when a word would not fit."""
        if longest * fs * 0.66 > w - 2 * pad:  # a bold word wider than its box
            return None
        return max(8, int((w - 2 * pad) / (fs * 0.56)))

    def horizontal(fs: int):
        """Stages as columns; a stage with more than four nodes split into columns."""
        for split in (2, 1, 3):
            cols_of = {}
            for s in stages:
                ms = members[s["id"]]
                k = min(split, len(ms)) if len(ms) > 4 else 1
                per = -(-len(ms) // k) if ms else 0
                cols_of[s["id"]] = [ms[i * per : (i + 1) * per] for i in range(k)]
            units = sum(len(c) for c in cols_of.values())
            col_w = (
                width - 2 * edge - gap * (len(stages) - 1)
                - inner * sum(len(c) - 1 for c in cols_of.values())
            ) / units  # fmt: skip
            chars = box_chars(col_w, fs)
            if chars is None:
                continue
            line_h, title_h = fs * 1.28, fs * 2.0
            boxes, titles, arrows = [], [], []
            x = float(edge)
            for si, s in enumerate(stages):
                cols = cols_of[s["id"]]
                stage_w = col_w * len(cols) + inner * (len(cols) - 1)
                titles.append((s, x, 0.0, stage_w, "center"))
                for ci, col in enumerate(cols):
                    left, y = x + ci * (col_w + inner), title_h
                    for n in col:
                        lines = _node_lines(n, indicators, notes, chars)
                        h = len(lines) * line_h + 2 * pad
                        boxes.append((n, left, y, col_w, h, lines))
                        y += h + inner
                if si < len(stages) - 1:
                    arrows.append((x + stage_w + gap / 2, 0.0, "→"))
                x += stage_w + gap
            lowest = max(b[2] + b[4] for b in boxes)
            if lowest + fs * 1.28 * key_lines + fs <= height - edge:
                return boxes, titles, arrows, lowest
        return None

    def vertical(fs: int):
        """Stages as bands from top to bottom, their nodes side by side (wrapped in rows)."""
        label_w = max(len(str(s.get("label", s["id"]))) for s in stages) * fs * 0.74 + 12
        area = width - 2 * edge - label_w
        for per_row in (3, 4, 2):
            line_h = fs * 1.28
            boxes, titles, arrows = [], [], []
            y = float(edge)
            ok = True
            for si, s in enumerate(stages):
                ms = members[s["id"]]
                k = max(1, min(per_row, len(ms)))
                w = (area - inner * (k - 1)) / k
                chars = box_chars(w, fs)
                if chars is None:
                    ok = False
                    break
                titles.append((s, edge, y + pad, label_w, "left"))
                top = y
                for r in range(0, len(ms), k):
                    row = ms[r : r + k]
                    lines = [_node_lines(n, indicators, notes, chars) for n in row]
                    h = max(len(ln) for ln in lines) * line_h + 2 * pad
                    for i, (n, ln) in enumerate(zip(row, lines, strict=True)):
                        boxes.append((n, edge + label_w + i * (w + inner), y, w, h, ln))
                    y += h + inner
                y = max(y, top + fs * 2.4)
                if si < len(stages) - 1:
                    arrows.append((edge + label_w / 2 - fs, y - inner / 2 - fs * 0.2, "↓"))
                    y += fs * 0.8
            if not ok:
                continue
            lowest = max(b[2] + b[4] for b in boxes)
            if lowest + fs * 1.28 * key_lines + fs <= height - edge:
                return boxes, titles, arrows, lowest
        return None

    planners = {"horizontal": [horizontal], "vertical": [vertical]}.get(
        orientation, [horizontal, vertical]
    )
    plan = None
    for fs in range(font_size, 6, -1):
        plan = next((p for p in (f(fs) for f in planners) if p), None)
        if plan:
            break
    if plan is None:  # too small to fit: draw at the smallest size anyway
        fs = 7
        plan = horizontal(fs) or vertical(fs)
    if plan is None:
        fig.add_annotation(text="The results chain does not fit in this size.", showarrow=False)
        fig.update_layout(width=width, height=height)
        return fig
    boxes, titles, arrows, lowest = plan
    line_h = fs * 1.28

    def px(x: float, y: float) -> tuple[float, float]:
        return x / width, 1 - y / height

    for s, x, y, w, align in titles:
        tx, ty = px(x + (w / 2 if align == "center" else 0), y)
        fig.add_annotation(
            x=tx, y=ty, xref="paper", yref="paper", xanchor=align, yanchor="top",
            text=f"<b>{str(s.get('label', s['id'])).upper()}</b>", showarrow=False,
            font={"size": fs, "color": "#495057"},
        )  # fmt: skip
        if align == "center":
            x0, y0 = px(x, fs * 2.0 - 8)
            x1, _ = px(x + w, 0)
            fig.add_shape(
                type="line", x0=x0, x1=x1, y0=y0, y1=y0, xref="paper", yref="paper",
                line={"color": "#adb5bd", "width": 2},
            )  # fmt: skip
    for x, y, glyph in arrows:
        ax, ay = px(x, y)
        fig.add_annotation(
            x=ax, y=ay, xref="paper", yref="paper", yanchor="top", text=f"<b>{glyph}</b>",
            showarrow=False, font={"size": fs * 1.2, "color": "#495057"},
        )  # fmt: skip
    for n, left, y, w, h, lines in boxes:
        idx = n.get("index")
        iv = indicators.get(idx, ("", ""))[1] if idx else ""
        border = VERDICT_COLOURS.get(iv, "#6c757d") if iv else "#6c757d"
        bx0, by0 = px(left, y)
        bx1, by1 = px(left + w, y + h)
        fig.add_shape(
            type="rect", x0=bx0, x1=bx1, y0=by1, y1=by0, xref="paper", yref="paper",
            line={"color": border, "width": 2.5 if iv else 1.5}, fillcolor=TINTS.get(iv, "#ffffff"),
            layer="below",
        )  # fmt: skip
        text = []
        for t, verdict, bold in lines:
            if verdict:
                sym = VERDICT_SYMBOLS.get(verdict, "•")
                colour = VERDICT_COLOURS.get(verdict, "#595959")
                text.append(f"<span style='color:{colour}'>{sym}</span> {t}")
            elif verdict == "":
                text.append(f"   {t}")
            else:
                text.append(f"<b>{t}</b>" if bold else t)
        tx, ty = px(left + pad, y + pad)
        fig.add_annotation(
            x=tx, y=ty, xref="paper", yref="paper", xanchor="left", yanchor="top",
            align="left", showarrow=False, text="<br>".join(text),
            font={"size": fs, "color": "#212529"},
        )  # fmt: skip
    verdicts = ("improved", "worsened", "no detectable effect")
    key = "   ".join(
        f"<span style='color:{VERDICT_COLOURS[v]}'>{VERDICT_SYMBOLS[v]}</span> {VERDICT_LABELS[v]}"
        for v in verdicts
    )
    why = "improved or worsened: q-value across outcomes and p-value both ≤ 0.05; box outline: the family index"
    plain_len = sum(len(VERDICT_LABELS[v]) + 5 for v in verdicts) + len(why) + 5
    sep = "   (" if plain_len * fs * 0.56 < width else "<br>("
    kx, ky = px(edge, min(lowest + fs * 0.6, height - line_h * key_lines - edge))
    fig.add_annotation(
        x=kx, y=ky, xref="paper", yref="paper", xanchor="left", yanchor="top",
        align="left", showarrow=False, font={"size": fs, "color": "#212529"},
        text=f"{key}{sep}{why})",
    )  # fmt: skip
    fig.update_xaxes(visible=False, range=[0, 1])
    fig.update_yaxes(visible=False, range=[0, 1])
    fig.update_layout(
        width=width, height=height, margin={"l": 0, "r": 0, "t": 0, "b": 0},
        plot_bgcolor="white", paper_bgcolor="white", showlegend=False,
        font={"family": FONT, "size": fs},
        meta={"role": "results-chain", "font_size": fs,
              "orientation": "horizontal" if titles and titles[0][4] == "center" else "vertical"},
    )  # fmt: skip
    return fig
