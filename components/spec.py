"""The specification controls shared by the Results chain, Effects and Breakdowns pages:
estimator, survey wave and inference -- as URL parameters and as dropdowns."""

from __future__ import annotations

from collections.abc import Mapping

import dash
import pandas as pd
from dash import Input, Output, State, dcc

from components import params as qp
from components.layout import control, term
from components.store import METHOD_SHORT
from components.views import (
    INFERENCE_LABELS,
    effective_inference,
    method_aliases,
    options,
    wave_labels,
)


def default_wave(results: pd.DataFrame, outcome: str | None = None) -> int:
    """The wave a view opens on: the last wave ``outcome`` (else the table's first, headline
    outcome) is measured in -- the endline for a study measuring everything at every wave,
    the last round of the headline outcome for a study whose outcomes come in some waves only."""
    opts = options(results)
    name = outcome if outcome in opts["outcome"] else (opts["outcome"] or [None])[0]
    return opts["last_wave"].get(name, max(opts["wave"]))


def spec_params(results: pd.DataFrame | None, outcome: str | None = None) -> list[qp.Param]:
    """URL parameters ``method``, ``wave`` and ``inference`` with their allowed values
    (defaults from the results table: see :func:`default_wave`)."""
    opts = options(results)
    wl = wave_labels(results)
    return [
        qp.Param(
            "method",
            opts["method"],
            "did" if "did" in opts["method"] else opts["method"][0],
            "estimator",
            describe=lambda v: METHOD_SHORT.get(v, v),
            aliases=method_aliases(opts["method"]),
        ),
        qp.Param(
            "wave",
            [str(w) for w in opts["wave"]],
            str(default_wave(results, outcome)),
            "wave",
            describe=lambda v: wl.get(int(v), v),
        ),
        qp.Param(
            "inference",
            opts["inference"],
            "wild" if "wild" in opts["inference"] else opts["inference"][0],
            "inference",
            describe=lambda v: INFERENCE_LABELS.get(v, v).lower(),
        ),
    ]


def spec_controls(page: str, values: dict, results: pd.DataFrame | None) -> list:
    """The three dropdowns, with ids ``<page>-method``, ``<page>-wave``, ``<page>-inference``."""
    opts = options(results)
    wl = wave_labels(results)
    controls = [
        control(
            f"{page}-method",
            term("Estimator", "itt", f"{page}-ctl"),
            [(m, METHOD_SHORT.get(m, m)) for m in opts["method"]],
            values["method"],
        ),
        control(
            f"{page}-wave",
            "Survey wave",
            # a post-only comparison has no baseline to compare with
            [
                (str(w), wl[w] if values["method"] == "post" else f"{wl[w]} vs baseline")
                for w in opts["wave"]
            ],
            values["wave"],
        ),
        control(
            f"{page}-inference",
            term("Inference", "wild", f"{page}-ctl"),
            *inference_choices(values["method"], values["inference"], results),
        ),
    ]
    # what the Inference menu becomes for each estimator, and the inference the user chose,
    # read by the browser (see register_inference_menu)
    menus = inference_menus(results)
    controls[-1].children.extend(
        [
            dcc.Store(id=f"{page}-inference-menus", data=menus),
            dcc.Store(
                id=f"{page}-inference-asked",
                data=inference_asked(menus, values["method"], values["inference"]),
            ),
        ]
    )
    return controls


def inference_choices(
    method: str, inference: str, results: pd.DataFrame
) -> tuple[list[tuple[str, str]], str]:
    """The Inference menu for ``method``: only the inference that estimator really has, and
    the one in use selected (the LATE has cluster-robust errors only, so the menu offers only them)."""
    opts = options(results)
    have = set(results.loc[results["method"] == method, "inference"]) if method else set()
    choices = [(i, INFERENCE_LABELS.get(i, i)) for i in opts["inference"] if i in have]
    if not choices:
        choices = [(i, INFERENCE_LABELS.get(i, i)) for i in opts["inference"]]
    used, _ = effective_inference(method, inference, results) if have else (inference, None)
    return choices, used


def settle_inference(values: dict, query: Mapping, results: pd.DataFrame) -> dict:
    """A link without ``inference`` gets what its estimator really has, silently (the LATE:
    cluster-robust errors); a link that asks for an inference the estimator lacks keeps it,
    so that the page says it is not available."""
    if query.get("inference") is not None:
        return values
    used, _ = effective_inference(values["method"], values["inference"], results)
    return {**values, "inference": used}


def inference_menu(method, inference, results: pd.DataFrame) -> tuple[list[dict], str]:
    """Callback output for the Inference select: (options, value) after an estimator change."""
    spec = {p.name: p for p in spec_params(results)}
    m, _ = spec["method"].check(method)
    i, _ = spec["inference"].check(inference)
    choices, used = inference_choices(m, i, results)
    return [{"label": lab, "value": v} for v, lab in choices], used


def inference_menus(results: pd.DataFrame | None) -> dict:
    """The Inference menu for every (estimator, inference asked), worked out here by
    :func:`inference_menu`: ``{"method": default, "inference": default, "menus": {method:
    {"options": [...], "value": {inference asked: inference shown}}}}``.  The browser only
    looks the answer up, so that an estimator change needs no server round trip before the
    page's own callback (one round trip per filter change)."""
    if results is None:
        return {}
    spec = {p.name: p for p in spec_params(results)}
    opts = options(results)
    menus = {}
    for m in opts["method"]:
        choices, _ = inference_menu(m, None, results)
        menus[m] = {
            "options": choices,
            "value": {i: inference_menu(m, i, results)[1] for i in opts["inference"]},
        }
    return {
        "method": spec["method"].default,
        "inference": spec["inference"].default,
        "menus": menus,
    }


def inference_asked(menus: dict, method: str, inference: str) -> str | None:
    """The inference the user chose, as the page opens: ``inference`` when ``method``'s menu
    really offered a choice and shows it as asked; None (the default) when the estimator
    forced it -- the LATE's cluster-robust errors are not a choice to carry to the next
    estimator."""
    menu = (menus.get("menus") or {}).get(method)
    if not menu or len(menu["options"]) < 2 or menu["value"].get(inference) != inference:
        return None
    return inference


# the look-up in the browser.  A change of the Inference menu (the user's choice) is
# remembered in <page>-inference-asked; a change of estimator shows the new estimator's
# menu with the remembered choice where it offers it, else the default -- never a value
# the previous estimator forced (the LATE's cluster-robust errors).  An unknown estimator
# or inference reads as the default (as params.Param.check does); what does not change is
# not sent again.
_MENU_LOOKUP = """
function(method, inference, data, before, asked) {
    const nu = window.dash_clientside.no_update;
    const ctx = window.dash_clientside.callback_context || {};
    const picked = (ctx.triggered || []).some(
        t => typeof t.prop_id === 'string' && t.prop_id.endsWith('-inference.value'));
    if (picked) { return [nu, nu, typeof inference === 'string' ? inference : null]; }
    const has = (o, k) => typeof k === 'string' && Object.prototype.hasOwnProperty.call(o, k);
    if (!data || !data.menus) { return [nu, nu, nu]; }
    const menu = data.menus[has(data.menus, method) ? method : data.method];
    if (!menu) { return [nu, nu, nu]; }
    const value = menu.value[has(menu.value, asked) ? asked : data.inference];
    return [
        JSON.stringify(before) === JSON.stringify(menu.options) ? nu : menu.options,
        value === inference ? nu : value,
        nu,
    ];
}
"""


def register_inference_menu(page: str) -> None:
    """The Inference menu of ``page`` follows its Estimator menu, in the browser (a
    clientside callback; the page's CSP allows it by hash, see components.server).  The
    menu's value is both an input (the user's choice, remembered) and an output (what an
    estimator change shows): Dash runs a callback whose output is also its input once, not
    again for its own output."""
    dash.clientside_callback(
        _MENU_LOOKUP,
        Output(f"{page}-inference", "options"),
        Output(f"{page}-inference", "value"),
        Output(f"{page}-inference-asked", "data"),
        Input(f"{page}-method", "value"),
        Input(f"{page}-inference", "value"),
        State(f"{page}-inference-menus", "data"),
        State(f"{page}-inference", "options"),
        State(f"{page}-inference-asked", "data"),
        prevent_initial_call=True,
    )
