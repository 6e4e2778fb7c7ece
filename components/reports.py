"""Outputs for presenting: a slide deck (PPTX) and a printable brief (PDF) of one view.

Pure: no Dash server is needed.  The content comes from the results table (through
the same row selection, sentence generator and figure builders as the pages), the
diagnostics, the manifests and the ``data/`` files; nothing is typed in by hand.
Figures are rendered to PNG by kaleido, which drives the OS's Chromium.

Command line (``make report`` runs it for the default view)::

    python -m components.reports --out reports [--view "?wave=1&method=ancova"]
        [--study ID] [--build DIR] [--data DIR] [--formats pptx,pdf]

Example
-------
>>> import pandas as pd
>>> params = view_params(pd.DataFrame({
...     "method": ["did"], "inference": ["wild"], "wave": [2], "outcome": ["x"],
...     "sample_type": ["all"], "sample": ["All clients"], "wave_label": ["Endline"]}))
>>> [p.name for p in params]
['method', 'wave', 'inference', 'scale', 'level', 'mt', 'outcome', 'branches']
"""

from __future__ import annotations

import argparse
import io
import math
import re
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pandas as pd
import plotly.graph_objects as go

from analysis.artifacts import Artifacts, load_artifacts
from analysis.findings import _f, _unit_words, finding_sentence, fmt, nouns_of, take_up_phrase
from analysis.paths import PROJECT_ROOT, build_dir, study_dir
from analysis.study import Study, StudyError, load_study
from components import params as qp
from components.chain import chain_figure
from components.figures import make_forest_plot, make_subgroup_plot
from components.spec import settle_inference, spec_params
from components.theme import (
    VERDICT_COLOURS,
    VERDICT_LABELS,
    VERDICT_SYMBOLS,
    VERDICT_TEXT_COLOURS,
    fmt_p,
    slug,
)
from components.views import (
    LEVELS,
    MULTIPLE_TESTING,
    SCALES,
    Spec,
    all_sample,
    compared,
    effective_inference,
    estimator_words,
    headline_findings,
    headline_lead,
    het_sentence,
    method_labels,
    options,
    ordered,
    scaled_rows,
    select,
    specification_text,
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
    scale: str = "natural"
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


def view_params(results: pd.DataFrame) -> list[qp.Param]:
    """Every link parameter a page shares that a report uses, with its allowed values."""
    opts = options(results)
    out = [
        *spec_params(results),
        qp.Param("scale", list(SCALES), "natural", "scale"),
        qp.Param("level", list(LEVELS), "95", "interval level"),
        qp.Param("mt", list(MULTIPLE_TESTING), "q", "multiple-testing view"),
        qp.Param("outcome", opts["outcome"], opts["outcome"][0], "outcome"),
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
        sample=all_sample(results),
    )
    return view, notes


def _lower_first(text: str) -> str:
    """'Standardised (SDs of ...)' -> 'standardised (SDs of ...)' (abbreviations kept)."""
    return text[:1].lower() + text[1:]


def report_filename(
    view: ReportView, results: pd.DataFrame, kind: str, study: Study | str | None = None
) -> str:
    """``<study id>-slides-<wave>-<method>.pptx``, e.g. ``proirri-brief-quarter-4-post.pdf``."""
    wl = wave_labels(results).get(view.wave, view.wave)
    what = {"pptx": "slides", "pdf": "brief"}[kind]
    sid = study.id if isinstance(study, Study) else (study or "report")
    return f"{slug(sid, what, wl, view.method)}.{kind}"


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


# ---------------------------------------------------------------- content (words and tables)


@dataclass
class Finding:
    outcome: str
    short: str
    verdict: str
    sentence: str


@dataclass
class Evidence:
    outcome: str
    short: str
    verdict: str
    effect: str


@dataclass
class Recommendation:
    title: str
    text: str
    evidence: list[Evidence]


@dataclass
class Breakdown:
    """Effects by one breakdown dimension (e.g. province), for one outcome."""

    dim: str  # the sample type in the results table
    one: str  # 'province'
    many: str  # 'provinces'
    rows: pd.DataFrame  # the groups shown (filtered by the view for the pooled dimension)
    all_rows: pd.DataFrame  # every group (for the heterogeneity test)
    pooled: bool


@dataclass
class Content:
    """Everything the deck and the brief say, computed once from the artefacts."""

    view: ReportView
    label: str
    kind: str
    provenance: str
    title: str
    subtitle: str
    programme: str
    wave_label: str
    spec_text: str
    lead: str
    findings: list[Finding]
    nulls: list[Finding]
    other: list[Finding]
    chain: dict[str, Any]
    indicators: dict[str, tuple[str, str]]
    chain_notes: dict[str, str]
    forest_rows: pd.DataFrame
    forest_caption: str
    outcome_short: str
    outcome_sentence: str
    outcome_unit: str
    breakdowns: list[Breakdown]
    reference: dict[str, Any] | None
    heterogeneity: list[str]
    breakdown_caption: str
    profile_name: str
    profile_full_name: str
    profile_facts: list[tuple[str, str]]
    profile_text: str
    recommendations: list[Recommendation]
    methods: list[str]
    study: Study | None = None
    credit: str = ""  # the attribution line (citation and licence) of public or real data
    vs: str = ""  # what the view compares: 'Endline vs baseline'
    notes: list[str] = field(default_factory=list)


def effect_line(row: Mapping[str, Any], *, study: Study | None = None) -> str:
    """The effect with its 95% interval, numbers formatted exactly as in the finding sentence."""
    if bool(row.get("suppressed")):
        return f"too few {nouns_of(study).unit.many} to estimate"
    est, lo, hi = _f(row, "estimate"), _f(row, "ci95_low"), _f(row, "ci95_high")
    if not math.isfinite(est):
        return "not estimable"
    units = _unit_words(row)
    pct = "%" if units == "%" else ""
    shown = fmt(row, est)
    sign = "+" if est > 0 and float(shown) != 0 else ""
    after = "" if pct else f" {units}"
    return f"{sign}{shown}{pct}{after} (95% CI {fmt(row, lo)}{pct} to {fmt(row, hi)}{pct})"


def _profile_facts(profile: Mapping[str, Any]) -> list[tuple[str, str]]:
    facts = []
    for f in profile.get("figures", []) or []:
        try:
            value = str(f.get("format", "{}")).format(f.get("value"))
        except (ValueError, TypeError):
            value = str(f.get("value"))
        if f.get("note"):
            value = f"{value} ({f['note']})"
        facts.append((str(f.get("label", "")), value))
    return facts


def _subgroup(res: pd.DataFrame, view: ReportView, sample_type: str) -> pd.DataFrame:
    m = (
        (res["outcome"] == view.outcome)
        & (res["method"] == view.method)
        & (res["wave"] == view.wave)
        & (res["inference"] == view.inference)
        & (res["sample_type"] == sample_type)
    )
    return res.loc[m].sort_values("sample", kind="stable")


def _dimension_nouns(arts: Artifacts, study: Study | None, dim: str) -> tuple[str, str]:
    """('province', 'provinces') for a breakdown: the study's stratum noun for its strata,
    else the codebook's label of the variable, else the results table's name."""
    roles = arts.panel_manifest.get("roles") or {}
    nouns = nouns_of(study)
    if dim in (roles.get("strata") or []) or (not roles and dim == nouns.stratum.one):
        return nouns.stratum.one, nouns.stratum.many
    cb = arts.codebook
    var = cb.design.get(dim) if cb is not None else None
    if var is not None and getattr(var, "label", None):
        one = str(var.label).split(" (")[0].lower()
        return one, one if one.endswith("s") else one + "s"
    return dim, dim if dim.endswith("s") else dim + "s"


def _methods_note(
    arts: Artifacts, view: ReportView, rows: pd.DataFrame, wl: str, study: Study | None
) -> list[str]:
    res = arts.results
    diag = arts.diagnostics
    n = nouns_of(study)
    units = n.unit.many
    out: list[str] = []
    flow = pd.DataFrame(
        diag.get("sample_flow", []) if isinstance(diag.get("sample_flow"), list) else []
    )
    all_rows = res[res["sample_type"] == "all"]
    opts = options(res)
    design = []
    if not flow.empty:
        base = flow[flow["wave"] == flow["wave"].min()]
        arms = {r.arm: int(r.n_clients) for r in base.itertuples()}
        design.append(
            f"{sum(arms.values()):,} {units} at baseline ({arms.get('Programme', 0):,} in "
            f"{n.programme_arm}, {arms.get('Comparison', 0):,} in {n.comparison_arm})"
        )
    if all_rows["n_clusters"].notna().any():
        design.append(n.cluster.count(int(all_rows["n_clusters"].max())))
    for dim, groups in opts["breakdowns"].items():
        if dim in breakdown_dims(res):
            one, many = _dimension_nouns(arts, study, dim)
            names = f" ({', '.join(groups)})" if len(groups) <= 4 else ""
            design.append(f"{len(groups)} {one if len(groups) == 1 else many}{names}")
    waves = arts.panel_manifest.get("waves") or {}
    wave_txt = f" Surveys: {' → '.join(str(v) for v in waves.values())}." if waves else ""
    lead = f"Design: {study.design} " if study is not None else "Design: "
    out.append(lead + "In the results: " + ", ".join(design) + "." + wave_txt)
    words = estimator_words(study)
    out.append(
        specification_text(
            rows,
            view.spec,
            method_labels=method_labels(study),
            manifest=arts.results_manifest,
            wave_label=wl,
            study=study,
        )
        + (f" How it works: {words[view.method]}" if view.method in words else "")
    )
    attr = pd.DataFrame(
        diag.get("attrition", []) if isinstance(diag.get("attrition"), list) else []
    )
    if view.method != "post" and not attr.empty and (attr["wave"] == view.wave).any():
        last = attr[attr["wave"] == view.wave]
        rate = (last["n_baseline"].sum() - last["n_interviewed"].sum()) / last["n_baseline"].sum()
        out.append(
            f"Attrition: {100 * rate:.0f}% of baseline {units} were not interviewed at the "
            f"{last['wave_label'].iloc[0].lower()} (difference between arms p = "
            f"{fmt_p(last['differential_p'].iloc[0])})."
        )
    n_out = int((~rows["is_index"]).sum())
    dims = [_dimension_nouns(arts, study, d)[0] for d in breakdown_dims(res)]
    groups = f" (in a {' or '.join(dims)}: when that group's own p is at most 0.05)" if dims else ""
    out.append(
        f"Reading the results: an outcome counts as improved or worsened only when the sharpened "
        f"q-value across all {n_out} outcomes and the p-value are both at most 0.05{groups}. 'No detectable "
        "effect' is not proof of no effect: effects smaller than the minimum detectable effect "
        "(80% power, 5% level) could have been missed."
    )
    min_cell = arts.results_manifest.get("settings", {}).get("min_cell")
    small = (
        f" Groups with fewer than {min_cell} {units} in an arm are not shown." if min_cell else ""
    )
    pooled = [d for d in breakdown_dims(res) if _has_pooled(res, d)]
    if pooled:
        one, many = _dimension_nouns(arts, study, pooled[0])
        out.append(
            f"{one[:1].upper()}{one[1:]} estimates are also shown partially pooled (empirical "
            f"Bayes), so that small, noisy {many} do not dominate." + small
        )
    elif small:
        out.append(small.strip())
    unavailable = diag.get("unavailable") or {}
    if isinstance(unavailable, dict) and unavailable:
        what = {
            "sample_flow": "take-up by arm",
            "design_mde": "the design's minimum detectable effects",
        }
        out.append(
            "Not shown: "
            + "; ".join(f"{what.get(k, k.replace('_', ' '))} ({v})" for k, v in unavailable.items())
            + "."
        )
    pm, rm = arts.panel_manifest, arts.results_manifest
    credit = f" {_credit(arts, study)}" if _credit(arts, study) else ""
    out.append(
        f"Provenance: {_data_label(arts, study)}.{credit} Processed panel "
        f"{str(pm.get('panel_sha256', ''))[:12]} built {str(pm.get('built_at', ''))[:10]}; results "
        f"built {str(rm.get('built_at', ''))[:10]} by analysis code {rm.get('code_fingerprint', 'unknown')}."
    )
    return out


def _study_describes_data(arts: Artifacts, study: Study | None) -> bool:
    """Whether study.yaml's data line describes the built data: a demo study's demo build, a
    real or public study's real build (a team that imports its own exports into a demo
    study's folder gets the manifest's label instead, never the demo one)."""
    if study is None:
        return False
    built_demo = arts.data_kind == "demo"
    return built_demo == (study.data.status == "demo")


def _data_label(arts: Artifacts, study: Study | None) -> str:
    """The data line's first part: the study's label (demo / public), else the manifest's."""
    return study.data.label if _study_describes_data(arts, study) else arts.data_label


def _credit(arts: Artifacts, study: Study | None) -> str:
    """The attribution line (citation and licence) of real or public data, else ''."""
    if _study_describes_data(arts, study) and study.data.status != "demo":
        return study.data.credit
    return ""


def build_content(arts: Artifacts, view: ReportView, study: Study | None = None) -> Content:
    """Everything the deck and the brief say for ``view``, from the artefacts, in the words of
    ``study`` (see :func:`study_of` for the default)."""
    if not arts.ok or arts.results is None:
        raise ReportError(
            "The results cannot be shown: "
            + " ".join(p.message for p in arts.problems if p.blocking)
        )
    study = study_of(arts, None, study)
    n = nouns_of(study)
    units = n.unit.many
    res = arts.results
    spec = view.spec
    wl = wave_labels(res).get(view.wave, str(view.wave))
    vs = compared(wl, view.method)
    rows = ordered(select(res, spec))
    if rows.empty:
        raise ReportError("The results table has no rows for this choice of estimator and wave.")
    profile, chain, recommendations = study_files(arts, study)
    groups = headline_findings(rows)

    def finding(r: Mapping[str, Any]) -> Finding:
        return Finding(r["outcome"], r["short"], r["verdict"], finding_sentence(r, study=study))

    findings = [finding(r) for v in ("improved", "worsened") for r in groups[v]]
    nulls = [finding(r) for r in groups["no detectable effect"]]
    other = [finding(r) for v in ("suppressed", "not estimable") for r in groups[v]]

    sf = arts.diagnostics.get("sample_flow", [])
    flow = pd.DataFrame(sf if isinstance(sf, list) else [])
    chain_notes: dict[str, str] = {}
    reach = flow[flow["wave"] == view.wave] if not flow.empty else flow
    if not reach.empty:
        share = {r.arm: r.share_received_fe for r in reach.itertuples()}
        for node in chain.get("nodes", []):
            if node.get("measure") == "exposure" and "Programme" in share:
                chain_notes[node["id"]] = (
                    f"By the {wl.lower()}: {100 * share['Programme']:.0f}% of {units} in "
                    f"{n.programme_arm} {take_up_phrase(study)} "
                    f"({100 * share.get('Comparison', float('nan')):.0f}% in {n.comparison_arm})"
                )

    forest_rows = scaled_rows(rows, view.scale, view.mt)
    spec_text = specification_text(
        rows,
        spec,
        method_labels=method_labels(study),
        manifest=arts.results_manifest,
        wave_label=wl,
        study=study,
    )
    forest_caption = (
        f"Effects on every outcome, {_lower_first(SCALES[view.scale])}; thick bar 90%, medium 95%, thin 99% "
        f"interval; filled marker: significant under {MULTIPLE_TESTING[view.mt].split(' (')[0]} "
        f"and p ≤ 0.05; grey ticks: ± minimum detectable effect where no effect was detected. {spec_text}"
    )

    meta = res.loc[res["outcome"] == view.outcome].iloc[0]
    ref_rows = _subgroup(res, view, "all")
    reference = ref_rows.iloc[0].to_dict() if len(ref_rows) else None
    min_cell = arts.results_manifest.get("settings", {}).get("min_cell")
    breakdowns: list[Breakdown] = []
    fdim = filter_dim(res)
    for dim in breakdown_dims(res):
        every = _subgroup(res, view, dim)
        shown = every[every["sample"].isin(view.branches)] if dim == fdim else every
        one, many = _dimension_nouns(arts, study, dim)
        breakdowns.append(Breakdown(dim, one, many, shown, every, _has_pooled(res, dim)))
    pooled = [b for b in breakdowns if b.pooled]
    whole = str(reference["sample"]) if reference else f"all {units}"
    breakdown_caption = (
        f"{meta['label']}; effect in {meta['unit']} ({'higher' if meta['better'] == 'higher' else 'lower'} "
        f"is better), {_lower_first(vs)}, 95% intervals. Circles: the group's own estimate; "
        + (f"diamonds: partially pooled {pooled[0].one} estimate; " if pooled else "")
        + f"dashed line: {whole[:1].lower()}{whole[1:]}."
        + (
            f" Groups with fewer than {min_cell} {units} in an arm are not shown."
            if min_cell
            else ""
        )
        # a filtered chart says so: the reader cannot tell from the figure alone
        + "".join(
            f" {b.many[:1].upper()}{b.many[1:]} shown: {', '.join(view.branches)} "
            f"({len(view.branches)} of {b.all_rows['sample'].nunique()})."
            for b in pooled
            if set(b.all_rows["sample"]) - set(view.branches)
        )
    )

    recs = []
    by_outcome = rows.set_index("outcome")
    for rec in recommendations:
        ev = []
        for name in rec.get("outcomes", []) or []:
            if name in by_outcome.index:
                r = {**by_outcome.loc[name].to_dict(), "outcome": name}
                ev.append(Evidence(name, r["short"], r["verdict"], effect_line(r, study=study)))
        recs.append(Recommendation(str(rec.get("title", "")), str(rec.get("text", "")), ev))

    rm = arts.results_manifest
    label = _data_label(arts, study)
    provenance = (
        f"{label} · results built {str(rm.get('built_at', ''))[:10]} · "
        f"panel {str(rm.get('panel_sha256', ''))[:12]}"
    )
    credit = _credit(arts, study)
    kind = arts.data_kind
    inn = profile.get("innovation") or {}
    name = str(profile.get("name") or (study.institution if study else "the institution"))
    if view.method == "post":
        subtitle = f"What changed for the {units} by {wl[:1].lower()}{wl[1:]}: {n.programme_arm} compared with {n.comparison_arm}"
    else:
        subtitle = f"What changed for the {units}: {wl.lower()} survey compared with the baseline"
    programme = (study.programme if study is not None else None) or profile.get("programme")
    funder = profile.get("funder")
    return Content(
        view=view,
        label=label,
        kind=kind,
        provenance=provenance,
        title=study.short_title if study is not None else str(inn.get("title") or name),
        subtitle=subtitle,
        programme=(
            f"{programme}; funded by the {funder}" if programme and funder else str(programme or "")
        ),
        wave_label=wl,
        spec_text=spec_text,
        lead=headline_lead(rows, wl, study=study),
        findings=findings,
        nulls=nulls,
        other=other,
        chain=chain,
        indicators={r.outcome: (r.short, r.verdict) for r in rows.itertuples()},
        chain_notes=chain_notes,
        forest_rows=forest_rows,
        forest_caption=forest_caption,
        outcome_short=str(meta["short"]),
        outcome_sentence=finding_sentence(reference, study=study) if reference else "",
        outcome_unit=str(meta["unit"]),
        breakdowns=breakdowns,
        reference=reference,
        heterogeneity=[het_sentence(b.all_rows, b.one) for b in breakdowns],
        breakdown_caption=breakdown_caption,
        profile_name=name,
        profile_full_name=" · ".join(
            str(x)
            for x in (
                profile.get("full_name"),
                profile.get("country") or (study.country if study else None),
            )
            if x
        ),
        profile_facts=_profile_facts(profile),
        profile_text=str(inn.get("summary") or (study.innovation if study else "")),
        recommendations=recs,
        methods=_methods_note(arts, view, rows, wl, study),
        study=study,
        credit=credit,
        vs=vs,
    )


def study_files(
    arts: Artifacts, study: Study | None
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """(profile, results chain, recommendations) of ``study``.

    The artefacts' files serve the default study (they may come from ``AMK_DATA_DIR``);
    another study's report reads its own folder, so that no other study's profile,
    chain or recommendations ever appear in it.  A file the study lacks is empty.
    """
    if study is None or study.folder.resolve() == study_dir().resolve():
        return arts.profile, arts.chain, arts.recommendations
    import yaml

    def read(name: str) -> Any:
        path = study.folder / name
        try:
            return yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            return None

    profile, chain, recs = (
        read("profile.yaml"),
        read("results_chain.yaml"),
        read("recommendations.yaml"),
    )
    recs = recs.get("recommendations", []) if isinstance(recs, dict) else recs
    return (
        profile if isinstance(profile, dict) else {},
        chain if isinstance(chain, dict) else {},
        [r for r in recs if isinstance(r, dict)] if isinstance(recs, list) else [],
    )


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
    """A page figure made static: fixed size, larger type, the legend in a grid above the plot."""
    fig = go.Figure(fig)
    fig.update_layout(
        width=width,
        height=height,
        font={"size": font},
        margin={"l": 8, "r": 16, "t": 8, "b": 8},
        legend={
            "orientation": "h",
            "yanchor": "bottom",
            "y": 1.01,
            "x": 0,
            "xanchor": "left",
            "font": {"size": font - 1},
            # columns of equal width (plotly otherwise gives every entry the widest one's width)
            "entrywidth": 1 / legend_columns,
            "entrywidthmode": "fraction",
        },
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


def figure(content: Content, which: str, width: int, height: int, font: int) -> go.Figure:
    """One of the report's figures, sized: ``chain``, ``forest``, or ``breakdown-<i>`` (the
    i-th of :attr:`Content.breakdowns`)."""
    if which == "chain":
        return chain_figure(
            content.chain,
            content.indicators,
            notes=content.chain_notes,
            width=width,
            height=height,
            font_size=font + 2,
        )
    if which == "forest":
        v = content.view
        fig = make_forest_plot(
            content.forest_rows, scale=v.scale, view=v.mt, level=v.level, study=content.study
        )
        return _restyle(fig, width, height, font, legend_columns=3 if width > 760 else 2)
    if which.startswith("breakdown-"):
        b = content.breakdowns[int(which.split("-", 1)[1])]
        fig = make_subgroup_plot(
            b.rows,
            unit=content.outcome_unit,
            pooled=b.pooled,
            reference=content.reference,
            study=content.study,
            groups=b.many,
        )
        return _restyle(fig, width, height, font, legend_columns=1 if b.pooled else 2)
    raise ValueError(f"unknown figure {which!r}")


def figure_png(content: Content, which: str, width_in: float, height_in: float, font: int) -> bytes:
    w, h = int(width_in * CSS_PX_PER_INCH), int(height_in * CSS_PX_PER_INCH)
    return render_png(figure(content, which, w, h, font), w, h)


def alt_text(content: Content, which: str) -> str:
    """Alternative text of a report figure, for screen readers."""
    if which == "chain":
        return (
            "Results chain: inputs, activities, outputs, outcomes and impact; each outcome lists "
            "its indicators marked improved, worsened or no detectable effect."
        )
    if which == "forest":
        return "Forest plot: the effect on every outcome with 90, 95 and 99% intervals, grouped by family."
    b = content.breakdowns[int(which.split("-", 1)[1])]
    whole = str((content.reference or {}).get("sample") or "the whole sample")
    own = "own and partially pooled estimates" if b.pooled else "estimates"
    return (
        f"Effect by {b.one}: {own} with 95% intervals; dashed line: {whole[:1].lower()}{whole[1:]}."
    )


# ---------------------------------------------------------------- the slide deck


def _rgb(hex_colour: str):
    from pptx.dml.color import RGBColor

    return RGBColor.from_string(hex_colour.lstrip("#").upper())


def _fit_size(paragraphs: list[str], width_in: float, height_in: float, top: int, low: int) -> int:
    """The largest font (pt) between ``low`` and ``top`` at which the text fits the box.

    An estimate (average glyph 0.56 em, line 1.22 em, paragraph gap 0.5 em), made
    generous so that the text fits in PowerPoint (Calibri) and LibreOffice (whose
    fallback fonts are wider) alike.
    """
    for size in range(top, low - 1, -1):
        per_line = max(10, int(width_in * 72 / (size * 0.56)))
        lines = sum(max(1, math.ceil(len(p) / per_line)) for p in paragraphs)
        need = (lines * 1.22 + len(paragraphs) * 0.5) * size / 72
        if need <= height_in:
            return size
    return low


class Deck:
    """A 16:9 deck with a title, a provenance footer and a slide number on every slide."""

    W, H = 13.333, 7.5
    MARGIN = 0.45
    FOOTER_H = 0.42

    def __init__(self, content: Content):
        from pptx import Presentation
        from pptx.util import Inches

        self.c = content
        self.prs = Presentation()
        self.prs.slide_width = Inches(self.W)
        self.prs.slide_height = Inches(self.H)
        self.blank = self.prs.slide_layouts[6]
        self.body_top = 1.45
        # public or real data: a second footer line carries the citation and licence
        self.footer_h = self.FOOTER_H + (0.36 if content.credit else 0.0)
        self.body_bottom = self.H - self.footer_h - 0.12

    # -- pieces
    def text(self, slide, x, y, w, h, paragraphs, *, size=16, colour="#212529", anchor="top"):
        """A text box.  Each paragraph is a str, a list of runs [(text, options)], or
        (runs, paragraph options); options: bold, italic, colour, size, space_after."""
        from pptx.enum.text import MSO_ANCHOR
        from pptx.util import Inches, Pt

        box = slide.shapes.add_textbox(Inches(x), Inches(y), Inches(w), Inches(h))
        tf = box.text_frame
        tf.word_wrap = True
        tf.margin_left = tf.margin_right = Inches(0.05)
        tf.margin_top = tf.margin_bottom = Inches(0.03)
        tf.vertical_anchor = {"top": MSO_ANCHOR.TOP, "middle": MSO_ANCHOR.MIDDLE}[anchor]
        for i, para in enumerate(paragraphs):
            if isinstance(para, str):
                runs, opts = [(para, {})], {}
            elif isinstance(para, tuple):
                runs, opts = para
            else:
                runs, opts = para, {}
            p = tf.paragraphs[0] if i == 0 else tf.add_paragraph()
            p.space_after = Pt(opts.get("space_after", size * 0.45))
            for text, ro in runs:
                r = p.add_run()
                r.text = typeset(text)
                r.font.size = Pt(ro.get("size", opts.get("size", size)))
                r.font.bold = ro.get("bold", opts.get("bold", False))
                r.font.italic = ro.get("italic", False)
                r.font.color.rgb = _rgb(ro.get("colour", opts.get("colour", colour)))
        return box

    def picture(self, slide, png: bytes, x, y, w, h, alt: str):
        from pptx.util import Inches

        pic = slide.shapes.add_picture(io.BytesIO(png), Inches(x), Inches(y), Inches(w), Inches(h))
        pic._element.nvPicPr.cNvPr.set("descr", alt)  # alternative text for screen readers
        return pic

    def box(self, slide, x, y, w, h, fill: str, line: str | None = None):
        from pptx.enum.shapes import MSO_SHAPE
        from pptx.util import Inches, Pt

        shp = slide.shapes.add_shape(
            MSO_SHAPE.RECTANGLE, Inches(x), Inches(y), Inches(w), Inches(h)
        )
        shp.fill.solid()
        shp.fill.fore_color.rgb = _rgb(fill)
        if line:
            shp.line.color.rgb = _rgb(line)
            shp.line.width = Pt(1.25)
        else:
            shp.line.fill.background()
        shp.shadow.inherit = False
        return shp

    def slide(self, title: str, subtitle: str | None = None, notes: str | None = None):
        s = self.prs.slides.add_slide(self.blank)
        m = self.MARGIN
        w = self.W - 2 * m
        size = next((z for z in range(28, 17, -1) if len(title) * z * 0.5 <= w * 72), 18)
        self.text(s, m, 0.25, w, 0.66, [title], size=size, colour="#1b2a41", anchor="middle")
        self.box(s, m, 0.95, 1.2, 0.05, "#0072B2")
        if subtitle:
            sub = _fit_size([subtitle], w, 0.42, 15, 11)
            self.text(s, m, 1.02, w, 0.42, [subtitle], size=sub, colour="#495057")
        if notes:
            s.notes_slide.notes_text_frame.text = typeset(notes)
        return s

    def footers(self):
        """The provenance label and the slide number on every slide (after all are added)."""
        demo = self.c.kind not in ("real", "public")
        fill, line, ink = (
            ("#FFF3CD", "#E0A800", "#3b2f00") if demo else ("#E7F1FF", "#0B5ED7", "#0a2a5c")
        )
        total = len(self.prs.slides)
        rest = self.c.provenance[len(self.c.label) :]
        fh = self.footer_h
        lines = [([(self.c.label, {"bold": True}), (rest, {})], {"space_after": 0})]
        if self.c.credit:
            lines.append(([(self.c.credit, {"size": 8})], {"space_after": 0}))
        for i, s in enumerate(self.prs.slides, start=1):
            y = self.H - fh
            self.box(s, 0, y, self.W, fh, fill, line)
            self.text(
                s, self.MARGIN, y + 0.03, self.W - 2 * self.MARGIN - 0.8, fh - 0.06,
                lines, size=11, colour=ink, anchor="middle",
            )  # fmt: skip
            self.text(
                s, self.W - self.MARGIN - 0.75, y + 0.03, 0.75, fh - 0.06,
                [([(f"{i} / {total}", {})], {"space_after": 0})], size=11, colour=ink,
                anchor="middle",
            )  # fmt: skip

    # -- the slides
    def title_slide(self):
        c = self.c
        s = self.prs.slides.add_slide(self.blank)
        m = self.MARGIN
        self.box(s, 0, 0, self.W, 3.15, "#1b2a41")
        self.text(s, m + 0.2, 0.55, self.W - 2 * m - 0.4, 1.6, [c.title], size=34, colour="#ffffff")
        self.text(
            s, m + 0.2, 2.2, self.W - 2 * m - 0.4, 0.8, [c.subtitle], size=20, colour="#dbe4f0"
        )
        demo = c.kind not in ("real", "public")
        fill, line = ("#FFF3CD", "#E0A800") if demo else ("#E7F1FF", "#0B5ED7")
        self.box(s, m + 0.2, 3.55, self.W - 2 * m - 0.4, 1.55, fill, line)
        self.text(
            s, m + 0.4, 3.62, self.W - 2 * m - 0.8, 1.45,
            [
                ([("Data provenance", {"bold": True})], {"size": 14}),
                ([(c.label, {"bold": True})], {"size": 20}),
                ([(c.provenance[len(c.label) + 3 :], {})], {"size": 14 if not c.credit else 12}),
                *([([(c.credit, {})], {"size": 11})] if c.credit else []),
            ],
            colour="#3b2f00" if demo else "#0a2a5c",
        )  # fmt: skip
        self.text(
            s, m + 0.2, 5.3, self.W - 2 * m - 0.4, 1.2,
            [c.spec_text, c.programme] if c.programme else [c.spec_text],
            size=13, colour="#495057",
        )  # fmt: skip

    def findings_slide(self):
        c = self.c
        units = nouns_of(c.study).unit.many
        s = self.slide(f"What changed for the {units}", notes=c.spec_text)
        m = self.MARGIN
        paras: list = [([(c.lead, {"bold": True})], {})]
        for f in c.findings:
            paras.append(
                [
                    (VERDICT_SYMBOLS[f.verdict] + " ", {"colour": VERDICT_COLOURS[f.verdict]}),
                    (f"{f.short}: ", {"bold": True}),
                    (f.sentence, {}),
                ]
            )
        if c.nulls:
            paras.append(
                [
                    (VERDICT_SYMBOLS["no detectable effect"] + " ", {"colour": VERDICT_COLOURS["no detectable effect"]}),
                    ("No detectable effect: ", {"bold": True}),
                    (", ".join(f.short for f in c.nulls) + ". These are not shown to be zero: effects "
                     "smaller than the minimum detectable effect could have been missed.", {}),
                ]
            )  # fmt: skip
        for f in c.other:
            paras.append(f.sentence)
        top = 1.15
        h = self.body_bottom - top
        size = _fit_size(_plain(paras), self.W - 2 * m, h, 18, 10)
        self.text(s, m, top, self.W - 2 * m, h, paras, size=size)

    def chain_slide(self):
        c = self.c
        s = self.slide(
            "The results chain: where the programme made a difference",
            f"Indicators marked by what the evaluation found, {_lower_first(c.vs)}",
            notes=c.spec_text,
        )
        m = self.MARGIN
        w, h = self.W - 2 * m, self.body_bottom - self.body_top
        png = figure_png(c, "chain", w, h, 15)
        self.picture(s, png, m, self.body_top, w, h, alt_text(c, "chain"))

    def forest_slide(self):
        c = self.c
        s = self.slide("Effects on every outcome", notes=c.forest_caption)
        m = self.MARGIN
        top = 1.2
        w, h = 8.2, self.body_bottom - top
        png = figure_png(c, "forest", w, h, 12)
        self.picture(s, png, m, top, w, h, alt_text(c, "forest"))
        x = m + w + 0.3
        guide = [
            (
                [
                    (
                        f"{c.vs}; {_lower_first(SCALES[c.view.scale])}",
                        {"bold": True},
                    )
                ],
                {},
            ),
            ([("How to read the chart", {"bold": True})], {}),
            "Each dot is the estimated effect of the programme on one outcome; the bars are its "
            "90% (thick), 95% (medium) and 99% (thin) confidence intervals.",
            "Filled, coloured dots: effects that survive the adjustment for testing many outcomes "
            "at once. Open grey dots: not distinguishable from zero; the grey ticks mark the "
            "minimum detectable effect, below which effects could have been missed.",
            "Diamonds: family indices, one standardised summary per family of outcomes.",
        ]
        gw = self.W - x - m
        gh = 3.9
        size = _fit_size(_plain(guide), gw, gh, 15, 10)
        self.text(s, x, top, gw, gh, guide, size=size)
        rest = self.body_bottom - top - gh - 0.1
        small = _fit_size([c.spec_text], gw, rest, 11, 8)
        self.text(s, x, top + gh + 0.1, gw, rest, [c.spec_text], size=small, colour="#495057")

    def breakdown_slide(self):
        c = self.c
        s = self.slide(f"Where did it work? {c.outcome_short}", notes=c.breakdown_caption)
        m = self.MARGIN
        left_w = 8.4
        sent = _fit_size([c.outcome_sentence], left_w, 0.62, 15, 11)
        self.text(s, m, 1.04, left_w, 0.62, [c.outcome_sentence], size=sent, colour="#212529")
        y = 1.72
        avail = self.body_bottom - y
        bs = c.breakdowns
        if len(bs) == 1:
            heights = [avail]
        else:  # the first (a few groups) as high as it needs, the pooled one the rest
            first = min(avail * 0.45, 0.9 + 0.3 * len(bs[0].rows)) if bs else 0.0
            heights = [first, avail - first - 0.08][: len(bs)]
        for i, ph in enumerate(heights):
            png = figure_png(c, f"breakdown-{i}", left_w, ph, 13)
            self.picture(s, png, m, y, left_w, ph, alt_text(c, f"breakdown-{i}"))
            y += ph + 0.08
        if not bs:
            self.text(
                s,
                m,
                y,
                left_w,
                1,
                [
                    f"The results table has no breakdown of this study's {nouns_of(c.study).unit.many}."
                ],
                size=13,
            )
        x = m + left_w + 0.3
        w = self.W - x - m
        top = 1.1
        self.box(s, x, top, w, self.body_bottom - top, "#f4f6f8", "#ced4da")
        facts: list = [
            ([(c.profile_name, {"bold": True})], {"size": 18, "space_after": 0}),
            ([(c.profile_full_name, {})], {"size": 11, "colour": "#495057"}),
        ]
        facts += [
            ([(f"{k}: ", {"bold": True}), (v, {})], {"size": 12, "space_after": 3})
            for k, v in c.profile_facts
        ]
        facts += [([(c.profile_text, {})], {"size": 11, "space_after": 8})]
        facts += [
            ([(t, {"italic": True})], {"size": 11, "space_after": 4}) for t in c.heterogeneity
        ]
        self.text(s, x + 0.1, top + 0.08, w - 0.2, self.body_bottom - top - 0.16, facts, size=12)

    def recommendations_slide(self):
        c = self.c
        s = self.slide(
            "Recommendations and the evidence behind them",
            f"Evidence: {_lower_first(c.vs)}, {method_labels(c.study).get(c.view.method, c.view.method)}",
            notes="\n\n".join(
                f"{i}. {r.title}: {r.text}" for i, r in enumerate(c.recommendations, 1)
            ),
        )
        m = self.MARGIN
        recs = c.recommendations
        if not recs:
            self.text(s, m, self.body_top, 8, 1, ["No recommendations file was found."])
            return
        per_row = 3
        cells = len(recs) + 1  # and a key to the marks
        rows = math.ceil(cells / per_row)
        gap = 0.2
        top = self.body_top
        cw = (self.W - 2 * m - gap * (per_row - 1)) / per_row
        ch = (self.body_bottom - top - gap * (rows - 1)) / rows
        texts = []
        for i, r in enumerate(recs):
            paras: list = [([(f"{i + 1}. {r.title}", {"bold": True})], {"colour": "#1b2a41"})]
            for e in r.evidence:
                paras.append(
                    [
                        (VERDICT_SYMBOLS[e.verdict] + " ", {"colour": VERDICT_COLOURS[e.verdict]}),
                        (f"{e.short}: ", {"bold": True}),
                        (f"{VERDICT_LABELS[e.verdict].lower()}, ", {"colour": VERDICT_TEXT_COLOURS[e.verdict]}),
                        (e.effect, {}),
                    ]
                )  # fmt: skip
            texts.append(paras)
        key: list = [([("Reading the evidence", {"bold": True})], {"colour": "#1b2a41"})]
        for v in ("improved", "worsened", "no detectable effect"):
            key.append(
                [
                    (VERDICT_SYMBOLS[v] + " ", {"colour": VERDICT_COLOURS[v]}),
                    (VERDICT_LABELS[v], {"bold": True}),
                ]
            )
        key.append(
            "Improved or worsened: the q-value across all outcomes and the p-value are both at "
            "most 0.05. Effects in natural units with 95% confidence intervals. The full text of "
            "each recommendation is in the speaker notes."
        )
        size = min(_fit_size(_plain(p), cw - 0.3, ch - 0.2, 15, 9) for p in [*texts, key])
        for i, paras in enumerate([*texts, key]):
            x = m + (i % per_row) * (cw + gap)
            y = top + (i // per_row) * (ch + gap)
            is_key = i == len(texts)
            self.box(s, x, y, cw, ch, "#f4f6f8" if is_key else "#ffffff", "#adb5bd")
            self.text(s, x + 0.1, y + 0.08, cw - 0.2, ch - 0.16, paras, size=size)

    def methods_slide(self):
        c = self.c
        s = self.slide("Methods and data", notes="\n\n".join(c.methods))
        m = self.MARGIN
        half = (self.W - 2 * m - 0.4) / 2
        top = 1.15
        h = self.body_bottom - top
        # split where the two columns are closest in length
        lengths = [len(p) for p in c.methods]
        split = min(
            range(1, len(lengths)), key=lambda k: abs(sum(lengths[:k]) - sum(lengths[k:]))
        ) if len(lengths) > 1 else 1  # fmt: skip
        cols = [c.methods[:split], c.methods[split:]]
        size = min(_fit_size(col, half, h, 15, 9) for col in cols if col)
        for i, col in enumerate(cols):
            self.text(s, m + i * (half + 0.4), top, half, h, col, size=size)

    def build(self) -> bytes:
        self.title_slide()
        self.findings_slide()
        if self.c.chain.get("nodes"):  # a study without a results-chain file has no chain slide
            self.chain_slide()
        self.forest_slide()
        self.breakdown_slide()
        if self.c.recommendations:  # recommendations are optional (recommendations.yaml)
            self.recommendations_slide()
        self.methods_slide()
        self.footers()
        self.prs.core_properties.title = self.c.title
        self.prs.core_properties.subject = self.c.label
        buf = io.BytesIO()
        self.prs.save(buf)
        return buf.getvalue()


def _plain(paras: list) -> list[str]:
    """The text of text-box paragraphs (for sizing)."""
    out = []
    for p in paras:
        if isinstance(p, str):
            out.append(p)
        else:
            runs = p[0] if isinstance(p, tuple) else p
            out.append("".join(t for t, _ in runs))
    return out


def build_deck(content: Content) -> bytes:
    """The PPTX deck for ``content``, as bytes."""
    return Deck(content).build()


# ---------------------------------------------------------------- the printed brief

_FONT_CANDIDATES = (
    ("DejaVuSans", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    ("DejaVuSans-Bold", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    ("DejaVuSans-Oblique", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Oblique.ttf"),
)
# glyphs the standard PDF fonts lack, for the fallback when DejaVu is not installed
_ASCII = {"−": "-", "≤": "<=", "≥": ">=", "→": "->", "▲": "+", "▼": "-", "●": "o", "±": "+/-"}


def _fonts() -> tuple[str, str, str]:
    """(regular, bold, italic) font names; DejaVu Sans (covers ▲ ▼ ● − ≤) when installed."""
    from reportlab.lib.fonts import addMapping
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if all(Path(p).is_file() for _, p in _FONT_CANDIDATES):
        if "DejaVuSans" not in pdfmetrics.getRegisteredFontNames():
            for name, path in _FONT_CANDIDATES:
                pdfmetrics.registerFont(TTFont(name, path))
            addMapping("DejaVuSans", 0, 0, "DejaVuSans")
            addMapping("DejaVuSans", 1, 0, "DejaVuSans-Bold")
            addMapping("DejaVuSans", 0, 1, "DejaVuSans-Oblique")
            addMapping("DejaVuSans", 1, 1, "DejaVuSans-Bold")
        return "DejaVuSans", "DejaVuSans-Bold", "DejaVuSans-Oblique"
    return "Helvetica", "Helvetica-Bold", "Helvetica-Oblique"


def build_brief(content: Content) -> bytes:
    """The printable brief (A4, at most four pages) for ``content``, as PDF bytes."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_LEFT
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import (
        Image,
        KeepInFrame,
        PageBreak,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    c = content
    regular, bold, italic = _fonts()
    plain = regular == "Helvetica"

    def t(text: str) -> str:
        text = escape(typeset(text))
        if plain:
            for k, v in _ASCII.items():
                text = text.replace(k, v)
        return text

    base = ParagraphStyle("base", fontName=regular, fontSize=9, leading=11.5, alignment=TA_LEFT)
    small = ParagraphStyle(
        "small", parent=base, fontSize=7.5, leading=9.5, textColor=colors.HexColor("#495057")
    )
    h1 = ParagraphStyle(
        "h1",
        parent=base,
        fontName=bold,
        fontSize=17,
        leading=21,
        textColor=colors.HexColor("#1b2a41"),
    )
    h2 = ParagraphStyle(
        "h2",
        parent=base,
        fontName=bold,
        fontSize=12,
        leading=15,
        spaceBefore=4,
        spaceAfter=3,
        textColor=colors.HexColor("#1b2a41"),
    )
    bullet = ParagraphStyle(
        "bullet", parent=base, fontSize=8.5, leading=10.8, leftIndent=10, spaceAfter=2
    )
    lead = ParagraphStyle("lead", parent=base, fontSize=9.5, leading=12.5, spaceAfter=4)  # fmt: skip

    page_w, page_h = A4
    margin = 15 * mm
    from reportlab.lib.utils import simpleSplit

    top_gap = 12 * mm
    # public or real data: the band also carries the citation and licence, wrapped
    credit_lines = simpleSplit(t(c.credit).replace("&amp;", "&"), regular, 6.5, page_w - 2 * 15 * mm) if c.credit else []  # fmt: skip
    band_h = 11 * mm + len(credit_lines) * 2.8 * mm
    foot_gap = band_h + 3 * mm
    frame_w = page_w - 2 * margin - 12  # the frame's own padding, 6 pt a side
    frame_h = page_h - top_gap - foot_gap - 12  # the frame's own padding
    demo = c.kind not in ("real", "public")
    band_fill = colors.HexColor("#FFF3CD" if demo else "#E7F1FF")
    band_line = colors.HexColor("#E0A800" if demo else "#0B5ED7")

    def on_page(canvas, doc):
        canvas.saveState()
        canvas.setFillColor(band_fill)
        canvas.setStrokeColor(band_line)
        canvas.rect(-1, -1, page_w + 2, band_h + 1, stroke=1, fill=1)
        canvas.setFillColor(colors.HexColor("#3b2f00" if demo else "#0a2a5c"))
        label = typeset(c.label) if not plain else t(c.label).replace("&amp;", "&")
        rest = c.provenance[len(c.label) :].strip(" ·")
        up = len(credit_lines) * 2.8 * mm
        canvas.setFont(bold, 8)
        canvas.drawString(margin, up + 6.2 * mm, label)
        canvas.setFont(regular, 7)
        canvas.drawString(margin, up + 2.6 * mm, t(rest).replace("&amp;", "&"))
        canvas.setFont(regular, 6.5)
        for k, text in enumerate(credit_lines):
            canvas.drawString(margin, up - (k + 1) * 2.8 * mm + 0.8 * mm, text)
        canvas.setFillColor(colors.HexColor("#6c757d"))
        canvas.setFont(regular, 7)
        canvas.drawString(margin, page_h - 8 * mm, t(c.title).replace("&amp;", "&")[:120])
        canvas.drawRightString(
            page_w - margin, page_h - 8 * mm, f"Page {doc.page} of {MAX_BRIEF_PAGES}"
        )
        canvas.restoreState()

    def img(which: str, w_pt: float, h_pt: float, font: int) -> Image:
        png = figure_png(c, which, w_pt / 72, h_pt / 72, font)
        im = Image(io.BytesIO(png), width=w_pt, height=h_pt)
        im.hAlign = "LEFT"
        return im

    def verdict_mark(v: str) -> str:
        sym = _ASCII.get(VERDICT_SYMBOLS[v], VERDICT_SYMBOLS[v]) if plain else VERDICT_SYMBOLS[v]
        return f'<font color="{VERDICT_COLOURS[v]}">{sym}</font>'

    def page(flowables: list) -> KeepInFrame:
        return KeepInFrame(frame_w, frame_h, flowables, mode="shrink")

    # page 1: title, provenance, headline findings, results chain
    prov = Table(
        [
            [
                Paragraph(
                    f"<b>{t(c.label)}</b><br/>{t(c.provenance[len(c.label) + 3 :])}"
                    + (f"<br/>{t(c.credit)}" if c.credit else ""),
                    base,
                )
            ]
        ],
        colWidths=[frame_w],
    )
    prov.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, -1), band_fill),
                ("BOX", (0, 0), (-1, -1), 1, band_line),
                ("LEFTPADDING", (0, 0), (-1, -1), 6),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
            ]
        )
    )
    p1: list = [
        Paragraph(t(c.title), h1),
        Paragraph(t(c.subtitle), ParagraphStyle("sub", parent=base, fontSize=11, leading=14, textColor=colors.HexColor("#495057"))),
        Spacer(1, 5),
        prov,
        Spacer(1, 6),
        Paragraph("Headline findings", h2),
        Paragraph(f"<b>{t(c.lead)}</b>", lead),
    ]  # fmt: skip
    for f in c.findings:
        p1.append(
            Paragraph(f"{verdict_mark(f.verdict)} <b>{t(f.short)}:</b> {t(f.sentence)}", bullet)
        )
    if c.nulls:
        p1.append(
            Paragraph(
                f"{verdict_mark('no detectable effect')} <b>No detectable effect:</b> "
                f"{t(', '.join(f.short for f in c.nulls))}. These are not shown to be zero: effects "
                "smaller than the minimum detectable effect could have been missed.",
                bullet,
            )
        )
    for f in c.other:
        p1.append(Paragraph(t(f.sentence), bullet))
    # the chain takes the rest of the first page (a study without a chain file has none)
    if c.chain.get("nodes"):
        used = sum(f.wrap(frame_w, frame_h)[1] + f.getSpaceBefore() + f.getSpaceAfter() for f in p1)  # noqa: E501
        heading = Paragraph("The results chain", h2)
        used += (
            heading.wrap(frame_w, frame_h)[1] + heading.getSpaceBefore() + heading.getSpaceAfter()
        )
        chain_h = max(200.0, frame_h - used - 12)
        p1 += [Spacer(1, 4), heading, img("chain", frame_w, chain_h, 10)]

    # page 2: every outcome; the forest plot takes what the words leave
    def height(flowables: list) -> float:
        return sum(
            f.wrap(frame_w, frame_h)[1] + f.getSpaceBefore() + f.getSpaceAfter() for f in flowables
        )

    head2 = [
        Paragraph("Effects on every outcome", h2),
        Paragraph(t(f"{c.vs} · {SCALES[c.view.scale]}"), small),
        Spacer(1, 4),
    ]
    tail2: list = [Spacer(1, 4), Paragraph(t(c.forest_caption), small)]
    if c.nulls:
        tail2 += [Spacer(1, 6), Paragraph("The other outcomes, in words", h2)]
        tail2 += [
            Paragraph(f"{verdict_mark(f.verdict)} <b>{t(f.short)}:</b> {t(f.sentence)}", ParagraphStyle("b2", parent=bullet, fontSize=8, leading=10))
            for f in c.nulls
        ]  # fmt: skip
    forest_h = min(560.0, max(380.0, frame_h - height(head2) - height(tail2) - 8))
    p2: list = [*head2, img("forest", frame_w, forest_h, 11), *tail2]

    # page 3: where it worked, next to the MFI profile
    left_w = frame_w * 0.64
    right_w = frame_w - left_w - 8
    left: list = [
        Paragraph(t(c.outcome_sentence), base),
        Spacer(1, 4),
    ]
    for i, b in enumerate(c.breakdowns):
        h = min(420.0, 130.0 + 40.0 * len(b.rows)) if b.pooled else 100.0 + 20.0 * len(b.rows)
        left += [
            Paragraph(f"By {t(b.one)}", ParagraphStyle(f"h3{i}", parent=base, fontName=bold)),
            img(f"breakdown-{i}", left_w, h, 10),
            Spacer(1, 4),
        ]
    left += [
        Paragraph(t(c.breakdown_caption), small),
    ]
    left += [Paragraph(t(s), ParagraphStyle("het", parent=base, fontName=italic, fontSize=8.5, leading=11)) for s in c.heterogeneity]  # fmt: skip
    right: list = [
        Paragraph(f"<b>{t(c.profile_name)}</b>", ParagraphStyle("pn", parent=base, fontSize=13, leading=16)),
        Paragraph(t(c.profile_full_name), small),
        Spacer(1, 4),
    ]  # fmt: skip
    right += [Paragraph(f"<b>{t(k)}:</b> {t(v)}", ParagraphStyle("pf", parent=base, fontSize=8.5, leading=11, spaceAfter=2)) for k, v in c.profile_facts]  # fmt: skip
    right += [Spacer(1, 4), Paragraph(t(c.profile_text), ParagraphStyle("pt", parent=base, fontSize=8, leading=10.5))]  # fmt: skip
    grid = Table([[left, right]], colWidths=[left_w + 8, right_w])
    grid.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BACKGROUND", (1, 0), (1, 0), colors.HexColor("#f4f6f8")),
                ("BOX", (1, 0), (1, 0), 0.75, colors.HexColor("#ced4da")),
                ("LEFTPADDING", (0, 0), (0, 0), 0),
                ("RIGHTPADDING", (0, 0), (0, 0), 8),
                ("LEFTPADDING", (1, 0), (1, 0), 6),
                ("RIGHTPADDING", (1, 0), (1, 0), 6),
                ("TOPPADDING", (1, 0), (1, 0), 6),
            ]
        )
    )
    p3: list = [
        Paragraph(
            t(
                f"Where did it work? {c.outcome_short} by {' and '.join(b.one for b in c.breakdowns)}"
            )
            if c.breakdowns
            else t(f"Where did it work? {c.outcome_short}"),
            h2,
        ),
        grid,
    ]

    # page 4: recommendations with their evidence; methods
    p4: list = (
        [Paragraph("Recommendations and the evidence behind them", h2)] if c.recommendations else []
    )
    ev_style = ParagraphStyle("ev", parent=base, fontSize=8.5, leading=11, leftIndent=10)
    for i, r in enumerate(c.recommendations, start=1):
        p4.append(Paragraph(f"<b>{i}. {t(r.title)}.</b> {t(r.text)}", ParagraphStyle("rec", parent=base, spaceBefore=3, spaceAfter=1)))  # fmt: skip
        for e in r.evidence:
            p4.append(
                Paragraph(
                    f"{verdict_mark(e.verdict)} <b>{t(e.short)}:</b> "
                    f'<font color="{VERDICT_TEXT_COLOURS[e.verdict]}">{t(VERDICT_LABELS[e.verdict].lower())}</font>, '
                    f"{t(e.effect)}",
                    ev_style,
                )
            )
    p4 += [Spacer(1, 6), Paragraph("Methods and data", h2)]
    p4 += [Paragraph(t(m), ParagraphStyle("m", parent=base, fontSize=8, leading=10.5, spaceAfter=3)) for m in c.methods]  # fmt: skip

    story = []
    for i, pg in enumerate((p1, p2, p3, p4)):
        if i:
            story.append(PageBreak())
        story.append(page(pg))
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=margin,
        rightMargin=margin,
        topMargin=top_gap,
        bottomMargin=foot_gap,
        title=c.title,
        subject=c.label,
        author=(c.study.institution if c.study is not None else "Impact dashboard"),
    )
    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buf.getvalue()


# ---------------------------------------------------------------- entry points

_CACHE: dict[tuple, bytes] = {}
_CACHE_LOCK = threading.Lock()


def make_report(
    arts: Artifacts,
    kind: str,
    query: str | Mapping[str, Any] | None = None,
    *,
    study: Study | None = None,
) -> tuple[str, bytes, list[str]]:
    """(file name, bytes, notes) of the ``kind`` (``pptx`` or ``pdf``) report for a view.

    The report speaks of ``study`` (default: :func:`study_of` the artefacts and link);
    its file name starts with the study's id.

    The last few reports are kept in memory, keyed by the results' fingerprint and
    the view, so a second click does not render again.
    """
    if kind not in ("pptx", "pdf"):
        raise ValueError(f"unknown report kind {kind!r}")
    if not arts.ok or arts.results is None:
        raise ReportError(
            "The results cannot be shown: "
            + " ".join(p.message for p in arts.problems if p.blocking)
        )
    view, notes = parse_view(arts.results, query)
    study = study_of(arts, query, study)
    key = (
        kind,
        study.id if study is not None else None,
        arts.results_manifest.get("panel_sha256"),
        arts.results_manifest.get("built_at"),
        str(arts.build_path),
        view,
    )
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
    if hit is None:
        content = build_content(arts, view, study)
        hit = build_deck(content) if kind == "pptx" else build_brief(content)
        with _CACHE_LOCK:
            if len(_CACHE) >= 8:
                _CACHE.pop(next(iter(_CACHE)))
            _CACHE[key] = hit
    return report_filename(view, arts.results, kind, study), hit, notes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m components.reports",
        description="Write the slide deck (PPTX) and the printable brief (PDF) of one dashboard view.",
    )
    ap.add_argument("--out", default="reports", help="output folder (default: reports)")
    ap.add_argument(
        "--view",
        default="",
        help="the view as a dashboard query string, e.g. '?wave=1&method=ancova' (default view if empty)",
    )
    ap.add_argument("--build", default=None, help="folder with the built artefacts (AMK_BUILD_DIR)")
    ap.add_argument("--data", default=None, help="folder with the MFI's data files (AMK_DATA_DIR)")
    ap.add_argument("--formats", default="pptx,pdf", help="comma-separated: pptx, pdf")
    ap.add_argument(
        "--study",
        default=None,
        help="a shipped study's id (data/studies/<id>/; its artefacts in build/<id>/ unless --build)",
    )
    args = ap.parse_args(argv)
    study = None
    if args.study is not None:
        try:
            study = load_study(args.study)
        except StudyError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        if args.build is None and (build_dir() / study.id).is_dir():
            args.build = str(build_dir() / study.id)
        if args.data is None:
            args.data = str(study.folder)
    arts = load_artifacts(args.build, args.data)
    if not arts.ok:
        for p in arts.problems:
            print(f"error: {p.message}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    kinds = [k.strip() for k in args.formats.split(",") if k.strip()]
    bad = [k for k in kinds if k not in ("pptx", "pdf")]
    if bad:
        print(f"error: unknown format(s) {', '.join(bad)} (use pptx, pdf)", file=sys.stderr)
        return 2
    try:
        for kind in kinds:
            name, data, notes = make_report(arts, kind, args.view, study=study)
            for n in notes:
                print(f"note: {n}", file=sys.stderr)
            path = out / name
            tmp = path.with_suffix(path.suffix + ".tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
            print(f"wrote {path} ({len(data) / 1024:.0f} KiB)")
    except ReportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
