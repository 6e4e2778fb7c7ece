"""The results-chain diagram, drawn from ``data/results_chain.yaml``.

Stages are columns (stacked on narrow screens); every node is a button (keyboard
usable) with a pattern-matching id.  Outcome nodes list their indicators with the
measured verdict (symbol, word and colour).  Selecting a node highlights the
nodes it is linked to by the chain's edges.
"""

from __future__ import annotations

from typing import Any

from dash import html

from components.theme import VERDICT_COLOURS, VERDICT_LABELS, VERDICT_SYMBOLS

NODE_TYPE = "chain-node"


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


def chain_diagram(
    chain: dict[str, Any], indicators: dict[str, tuple[str, str]], selected: str | None
) -> html.Div:
    """The diagram. ``indicators`` maps outcome name -> (short label, verdict)."""
    linked = linked_nodes(chain, selected)
    columns = []
    for stage in chain.get("stages", []):
        nodes = [n for n in chain.get("nodes", []) if n.get("stage") == stage["id"]]
        buttons = []
        for n in nodes:
            kids: list[Any] = [html.Span(n.get("label", n["id"]), className="chain-node-label")]
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
                    kids,
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


def chain_legend() -> html.Div:
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
    return html.Div(items, className="chain-legend small")


def edges_table_rows(chain: dict[str, Any]) -> list[tuple[str, str]]:
    """(from label, to label) for each edge: the diagram's text alternative."""
    by = node_by_id(chain)
    return [
        (by[a].get("label", a), by[b].get("label", b))
        for a, b in (tuple(e) for e in chain.get("edges", []))
        if a in by and b in by
    ]
