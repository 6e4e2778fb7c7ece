"""The specification controls shared by the Results chain, Effects and Breakdowns pages:
estimator, survey wave and inference -- as URL parameters and as dropdowns."""

from __future__ import annotations

import pandas as pd

from components import params as qp
from components.layout import control, term
from components.store import METHOD_SHORT
from components.views import INFERENCE_LABELS, options, wave_labels


def spec_params(results: pd.DataFrame | None) -> list[qp.Param]:
    """URL parameters ``method``, ``wave`` and ``inference`` with their allowed values."""
    opts = options(results)
    wl = wave_labels(results)
    return [
        qp.Param(
            "method",
            opts["method"],
            "did" if "did" in opts["method"] else opts["method"][0],
            "estimator",
            describe=lambda v: METHOD_SHORT.get(v, v),
        ),
        qp.Param(
            "wave",
            [str(w) for w in opts["wave"]],
            str(max(opts["wave"])),
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
            [(str(w), f"{wl[w]} vs baseline") for w in opts["wave"]],
            values["wave"],
        ),
        control(
            f"{page}-inference",
            term("Inference", "wild", f"{page}-ctl"),
            [(i, INFERENCE_LABELS[i]) for i in opts["inference"]],
            values["inference"],
        ),
    ]
