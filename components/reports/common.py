"""The view a report is made for (the pages' link parameters), its file name, its study, and
the text helpers every output shares."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from analysis.artifacts import Artifacts
from analysis.paths import PROJECT_ROOT
from analysis.study import Study, StudyError, load_study
from components import params as qp
from components.display import DEFAULT_DIRECTION, DIRECTIONS
from components.spec import settle_inference, spec_params
from components.theme import (
    slug,
)
from components.views import (
    DEFAULT_SCALE,
    LEVELS,
    MULTIPLE_TESTING,
    SCALES,
    Spec,
    all_sample,
    compared,
    effective_inference,
    method_labels,
    options,
    wave_labels,
)

PPTX_MIME = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
PDF_MIME = "application/pdf"
MAX_BRIEF_PAGES = 4


_MINUS = re.compile(r"(?<![\w.])-(?=\d)")


def typeset(text: str) -> str:
    """Text for print and slides: a minus sign (U+2212) before numbers, never a hyphen.

    A hyphen-minus is a line-break opportunity; a line must not end in "-" and go on
    with "14".  Tests read the numbers back with :func:`untypeset`.
    """
    return _MINUS.sub("\u2212", str(text))


def untypeset(text: str) -> str:
    return str(text).replace("\u2212", "-")


class ReportError(RuntimeError):
    """The deck or brief cannot be made; the message is written for a person."""


# ---------------------------------------------------------------- the view (filters)


@dataclass(frozen=True)
class ReportView:
    """The filters a report is made for: the same names and values as the pages' links."""

    method: str
    inference: str
    wave: int
    outcome: str
    branches: tuple[str, ...]
    scale: str = DEFAULT_SCALE
    direction: str = DEFAULT_DIRECTION
    level: str = "95"
    mt: str = "q"
    sample: str = Spec.sample  # the whole-sample row's label in this table ('All households')

    @property
    def spec(self) -> Spec:
        return Spec(
            method=self.method, inference=self.inference, wave=self.wave, sample=self.sample
        )


def breakdown_dims(results: pd.DataFrame) -> list[str]:
    """The breakdown dimensions a report shows (at most two, in the table's order).

    The one with partially pooled estimates (the strata, e.g. branches) comes last and
    is the one the ``branches`` link parameter filters.
    """
    dims = list(options(results)["breakdowns"])
    pooled = [d for d in dims if _has_pooled(results, d)]
    plain = [d for d in dims if d not in pooled]
    return (plain[:1] + pooled[:1]) if pooled else plain[:2]


def _has_pooled(results: pd.DataFrame, dim: str) -> bool:
    sub = results.loc[results["sample_type"] == dim]
    return "eb_estimate" in sub and bool(sub["eb_estimate"].notna().any())


def filter_dim(results: pd.DataFrame) -> str | None:
    """The breakdown the ``branches`` parameter filters: the pooled one, if any."""
    dims = breakdown_dims(results)
    return dims[-1] if dims and _has_pooled(results, dims[-1]) else None


def chosen_groups(view: ReportView, results: pd.DataFrame) -> tuple[str, ...]:
    """The branches (groups of :func:`filter_dim`) a view is filtered to; () when it shows all."""
    dim = filter_dim(results)
    if dim is None:
        return ()
    every = set(options(results)["breakdowns"].get(dim, []))
    chosen = tuple(b for b in view.branches if b in every)
    return chosen if chosen and set(chosen) != every else ()


def view_name(view: ReportView, results: pd.DataFrame, study: Study | None = None) -> str:
    """The view in words, for a report's title: 'Endline vs baseline · Difference-in-differences
    · Branch filter: Baray, Santuk' (the branches only when the view is filtered)."""
    wl = wave_labels(results).get(view.wave, str(view.wave))
    method = method_labels(study).get(view.method, view.method).split(" (")[0]
    parts = [compared(str(wl), view.method), method]
    chosen = chosen_groups(view, results)
    if chosen:
        dim = filter_dim(results) or "groups"
        parts.append(f"{dim[:1].upper()}{dim[1:]} filter: {', '.join(chosen)}")
    return " · ".join(parts)


def view_params(results: pd.DataFrame) -> list[qp.Param]:
    """Every link parameter a page shares that a report uses, with its allowed values."""
    opts = options(results)
    out = [
        *spec_params(results),
        qp.Param("scale", list(SCALES), DEFAULT_SCALE, "scale"),
        qp.Param("level", list(LEVELS), "95", "interval level"),
        qp.Param("mt", list(MULTIPLE_TESTING), "q", "multiple-testing view"),
        qp.Param("outcome", opts["outcome"], opts["outcome"][0], "outcome"),
        qp.Param("direction", list(DIRECTIONS), DEFAULT_DIRECTION, "plot direction"),
    ]
    dim = filter_dim(results)
    if dim is not None:
        groups = opts["breakdowns"][dim]
        out.append(qp.Param("branches", groups, tuple(groups), dim, multi=True))
    return out


def parse_view(
    results: pd.DataFrame, query: str | Mapping[str, Any] | None = None
) -> tuple[ReportView, list[str]]:
    """A page's query string (or dict) -> the report's view and notes on values not understood.

    Parameters of other pages (``node``) and of the app (``present``) are ignored;
    invalid values fall back to the default, as on the pages.
    """
    if isinstance(query, Mapping):
        raw = dict(query)
    else:  # a query string; anything else (a list, a number) is no view: the default
        raw = qp.query_from_search(query if isinstance(query, str) else None)
    specs = view_params(results)
    names = {p.name for p in specs}
    values, notes = qp.parse(specs, {k: v for k, v in raw.items() if k in names})
    values = settle_inference(values, raw, results)
    inference, note = effective_inference(values["method"], values["inference"], results)
    if note:
        notes.append(note)
    wave, outcome = int(values["wave"]), values["outcome"]
    # an outcome asked in some waves only: the view's wave decides, the outcome follows
    at_wave = results.loc[
        (results["wave"] == wave) & (results["method"] == values["method"]), "outcome"
    ]
    if len(at_wave) and outcome not in set(at_wave):
        first = str(at_wave.iloc[0])
        if "outcome" in raw:
            label = wave_labels(results).get(wave, str(wave))
            notes.append(
                f"The outcome '{outcome}' was not measured at the {label.lower()}; "
                f"showing '{first}' instead."
            )
        outcome = first
    view = ReportView(
        method=values["method"],
        inference=inference,
        wave=wave,
        outcome=outcome,
        branches=tuple(values.get("branches") or ()),
        scale=values["scale"],
        level=values["level"],
        mt=values["mt"],
        direction=values["direction"],
        sample=all_sample(results),
    )
    return view, notes


def _lower_first(text: str) -> str:
    """'Standardised (SDs of ...)' -> 'standardised (SDs of ...)' (abbreviations kept)."""
    return text[:1].lower() + text[1:]


def report_filename(
    view: ReportView, results: pd.DataFrame, kind: str, study: Study | str | None = None
) -> str:
    """``<study id>-slides-<wave>-<method>[-<branch>...].pptx``, e.g.
    ``proirri-brief-quarter-4-post.pdf``; a view filtered to some branches names them
    (``amk-slides-endline-did-baray-santuk.pptx``)."""
    wl = wave_labels(results).get(view.wave, view.wave)
    what = {"pptx": "slides", "pdf": "brief"}[kind]
    sid = study.id if isinstance(study, Study) else (study or "report")
    return f"{slug(sid, what, wl, view.method, *chosen_groups(view, results))}.{kind}"


def study_of(
    arts: Artifacts, query: str | Mapping[str, Any] | None = None, study: Study | None = None
) -> Study | None:
    """The study a report speaks of: ``study``; else the artefacts' own (``arts.study``, or
    the study folder of the codebook the panel was built with); else the link's
    ``?study=``; else the default study.  None only when no study file can be read."""
    if study is not None:
        return study
    own = getattr(arts, "study", None)
    if isinstance(own, Study):
        return own
    if isinstance(own, str):
        try:
            return load_study(own)
        except StudyError:
            pass
    path = (arts.panel_manifest.get("codebook") or {}).get("path")
    if path:
        folder = (PROJECT_ROOT / str(path)).parent
        if (folder / "study.yaml").is_file():
            try:
                return load_study(folder=folder)
            except StudyError:
                pass
    raw = (
        dict(query)
        if isinstance(query, Mapping)
        else qp.query_from_search(query if isinstance(query, str) else None)
    )
    for sid in (raw.get("study"), None):
        try:
            return load_study(sid if isinstance(sid, str) else None)
        except StudyError:
            continue
    return None
