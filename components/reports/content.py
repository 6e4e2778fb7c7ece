"""What the deck and the brief say: words, tables and rows, computed once from the artefacts."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from analysis.artifacts import Artifacts
from analysis.decide import Judgement, judge_recommendation, where_it_worked
from analysis.findings import (
    _unit_words,
    finding_sentence,
    fmt,
    nouns_of,
    shown_value,
)
from analysis.paths import study_dir
from analysis.study import Study
from components.chain import exposure_notes
from components.reports.common import (
    ReportError,
    ReportView,
    _has_pooled,
    _lower_first,
    breakdown_dims,
    filter_dim,
    study_of,
    view_name,
)
from components.theme import (
    fmt_p,
)
from components.views import (
    MULTIPLE_TESTING,
    SCALES,
    all_sample,
    compared,
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
    judgement: Judgement | None = None  # analysis.decide.JUDGEMENT_RULE on the evidence


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
    view_name: str = ""  # the view in words: comparison, estimator, chosen branches
    where: list[str] = field(default_factory=list)  # analysis.decide: can groups be told apart?
    where_full: list[str] = field(default_factory=list)  # the same in full sentences
    profile_as_of: str = ""  # profile.yaml as_of: when the profile's figures were true
    notes: list[str] = field(default_factory=list)


def effect_line(row: Mapping[str, Any], *, study: Study | None = None) -> str:
    """The effect with its 95% interval, numbers formatted exactly as in the finding sentence."""
    if bool(row.get("suppressed")):
        return f"too few {nouns_of(study).unit.many} to estimate"
    est, lo, hi = (shown_value(row, k) for k in ("estimate", "ci95_low", "ci95_high"))
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

    chain_notes = exposure_notes(
        chain, arts.diagnostics.get("sample_flow", []), view.wave, wl, study
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
        f"is better), {_lower_first(vs)}, 95% intervals. "
        # the charts follow the view's direction, as the Breakdowns page does
        + (
            "Lower is better for this outcome, so the charts plot its effects with the sign "
            "flipped (right of zero = better); the numbers in the text are the estimates as they "
            "are. "
            if view.direction == "improvement" and meta["better"] == "lower"
            else ""
        )
        + "Circles: the group's own estimate; "
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
        judgement = judge_recommendation(rec.get("outcomes", []) or [], rows)
        recs.append(
            Recommendation(str(rec.get("title", "")), str(rec.get("text", "")), ev, judgement)
        )
    where = where_it_worked(res, method=view.method, inference=view.inference, wave=view.wave)
    where_nouns = {d.name: _dimension_nouns(arts, study, d.name)[1] for d in where.dimensions}
    where_nouns["all"] = all_sample(res).lower()

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
        indicators=_indicators(res, rows),
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
        view_name=view_name(view, res, study),
        where=where.brief(where_nouns),
        where_full=where.summary(where_nouns),
        profile_as_of=str(profile.get("as_of") or ""),
    )


def _indicators(res: pd.DataFrame, rows: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """Outcome -> (short label, verdict) for the results chain (components.chain)."""
    from components.chain import chain_indicators

    return chain_indicators(res, rows)


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
    if isinstance(profile, dict):
        from analysis.artifacts import counted_profile

        # figures counted from the data (profile.yaml ``count:``): only from this study's build
        same = arts.study is not None and arts.study.folder.resolve() == study.folder.resolve()
        profile = counted_profile(profile, arts.diagnostics.get("counts") or {} if same else {}, [])
    return (
        profile if isinstance(profile, dict) else {},
        chain if isinstance(chain, dict) else {},
        [r for r in recs if isinstance(r, dict)] if isinstance(recs, list) else [],
    )
