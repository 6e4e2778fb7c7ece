"""The specification controls shared by the Results chain, Effects and Breakdowns pages:
estimator, survey wave and inference -- as URL parameters and as dropdowns."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

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
    waves = results.loc[results["outcome"] == name, "wave"]
    return int(waves.max()) if len(waves) else max(opts["wave"])


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
    return [
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
