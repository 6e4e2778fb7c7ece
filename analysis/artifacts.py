"""Read-only loaders for what the dashboard shows: built artefacts and the ``data/`` files.

Nothing here estimates anything or writes anything.  ``load_artifacts`` reads the
results table, its manifest, the diagnostics, the panel manifest and the
MFI-specific data files once, checks that they belong together, and returns them
with a list of *problems* written for a person (what is wrong, how to fix it).
A page that finds a blocking problem shows the message instead of numbers.

Example
-------
>>> import tempfile
>>> arts = load_artifacts(tempfile.mkdtemp())   # an empty build folder
>>> arts.ok, arts.results is None
(False, True)
>>> print(arts.problems[0].message.split(".")[0])  # doctest: +ELLIPSIS
No built results were found in ...
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from analysis.codebook import Codebook, CodebookError, load_codebook
from analysis.paths import build_dir, data_dir
from analysis.version import code_fingerprint

REBUILD_HINT = (
    'Rebuild them with "make data" (or "python -m analysis results") and restart the app.'
)

RESULT_COLUMNS = (
    "outcome", "label", "short", "family", "family_label", "is_index", "unit", "better",
    "method", "inference", "sample_type", "sample", "wave", "wave_label",
    "estimate", "std_error", "p_value", "q_value", "q_value_family",
    "ci90_low", "ci90_high", "ci95_low", "ci95_high", "ci99_low", "ci99_high",
    "n_clusters", "comparison_mean", "comparison_sd", "effect_std", "effect_pct", "mde",
    "improvement", "verdict", "heterogeneity_p", "eb_estimate", "eb_ci95_low", "eb_ci95_high",
    "suppressed", "note",
)  # fmt: skip


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the artefacts. ``blocking`` problems mean: show no numbers."""

    message: str
    blocking: bool = True


@dataclass(frozen=True)
class Artifacts:
    """Everything the app reads at start; ``results`` is None when it cannot be trusted."""

    results: pd.DataFrame | None
    results_manifest: dict[str, Any]
    panel_manifest: dict[str, Any]
    diagnostics: dict[str, Any]
    codebook: Codebook | None
    profile: dict[str, Any]
    chain: dict[str, Any]
    recommendations: list[dict[str, Any]]
    problems: tuple[Problem, ...] = field(default_factory=tuple)
    build_path: Path = field(default_factory=build_dir)
    # the study's description (analysis.study.Study) when the app knows which study this is
    study: Any = None

    @property
    def ok(self) -> bool:
        """True when no blocking problem was found (results can be shown)."""
        return self.results is not None and not any(p.blocking for p in self.problems)

    @property
    def data_credit(self) -> str:
        """The attribution line (citation and licence) for data under a licence, else ''."""
        if self.study is None or self.study.data.status == "demo":
            return ""
        return str(self.study.data.credit)

    @property
    def data_kind(self) -> str:
        if self.study is not None:
            return str(self.study.data.status)
        return str(
            self.results_manifest.get("data_kind") or self.panel_manifest.get("kind") or "unknown"
        )

    @property
    def data_label(self) -> str:
        """One line on what the data is: the study's own label (study.yaml), else the build's."""
        if self.study is not None:
            return str(self.study.data.label)
        return str(
            self.results_manifest.get("data_label")
            or self.panel_manifest.get("label")
            or "Data of unknown origin (no provenance manifest found)"
        )


def _read_json(path: Path, what: str, problems: list[Problem]) -> dict[str, Any]:
    if not path.is_file():
        problems.append(
            Problem(f"The {what} ({path.name}) was not found in {path.parent}. {REBUILD_HINT}")
        )
        return {}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        problems.append(Problem(f"The {what} ({path}) cannot be read ({exc}). {REBUILD_HINT}"))
        return {}
    if not isinstance(doc, dict):
        problems.append(Problem(f"The {what} ({path}) is not a JSON object. {REBUILD_HINT}"))
        return {}
    return doc


def _read_yaml(path: Path, what: str, problems: list[Problem], default: Any) -> Any:
    if not path.is_file():
        problems.append(Problem(f"The {what} file ({path}) was not found.", blocking=False))
        return default
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        problems.append(Problem(f"The {what} file ({path}) cannot be read: {exc}", blocking=False))
        return default
    return doc if doc is not None else default


def check_chain(chain: dict[str, Any], outcomes: set[str]) -> list[str]:
    """Consistency errors of a results-chain document (unknown stages, nodes, outcomes)."""
    errors: list[str] = []
    stages = [s.get("id") for s in chain.get("stages", []) if isinstance(s, dict)]
    nodes = chain.get("nodes", [])
    ids = {n.get("id") for n in nodes if isinstance(n, dict)}
    if not stages:
        errors.append("results chain has no stages")
    if len(ids) != len(nodes):
        errors.append("results-chain nodes need unique ids")
    for n in nodes:
        if n.get("stage") not in stages:
            errors.append(f"node '{n.get('id')}' has unknown stage '{n.get('stage')}'")
        for o in n.get("outcomes", []) or []:
            if o not in outcomes:
                errors.append(f"node '{n.get('id')}' names unknown outcome '{o}'")
        idx = n.get("index")
        if idx and idx not in outcomes:
            errors.append(f"node '{n.get('id')}' names unknown index '{idx}'")
    for e in chain.get("edges", []):
        if not (isinstance(e, list | tuple) and len(e) == 2 and e[0] in ids and e[1] in ids):
            errors.append(f"edge {e!r} must join two known node ids")
    return errors


def counted_profile(
    profile: dict[str, Any], counts: dict[str, int], problems: list
) -> dict[str, Any]:
    """The profile with every figure that says ``count: <name>`` given its value from the
    data (the diagnostics' ``counts``: units, clusters, programme_clusters, strata, ...), so
    a count the data knows is computed, not typed; profile.yaml keeps what it cannot know."""
    figures = []
    for fig in profile.get("figures") or []:
        if isinstance(fig, dict) and "count" in fig:
            name = fig["count"]
            if name in counts:
                fig = {**fig, "value": counts[name]}
            else:
                problems.append(
                    Problem(
                        f"Profile figure '{fig.get('label', name)}': count '{name}' is not one "
                        f"the data gives ({', '.join(sorted(counts)) or 'none: rebuild the results'})",
                        blocking=False,
                    )
                )
                continue
        figures.append(fig)
    return {**profile, "figures": figures} if "figures" in profile else profile


def load_artifacts(build: Path | str | None = None, data: Path | str | None = None) -> Artifacts:
    """Read the results table, manifests, diagnostics and data files; report what is wrong.

    Blocking problems (results missing, unreadable, or built from another panel)
    leave ``results`` as None so that no page shows numbers that may be wrong.
    """
    bdir = Path(build) if build is not None else build_dir()
    ddir = Path(data) if data is not None else data_dir()
    problems: list[Problem] = []

    panel_manifest = _read_json(
        bdir / "panel.manifest.json", "processed panel's manifest", problems
    )
    results_manifest = _read_json(
        bdir / "results.manifest.json", "results table's manifest", problems
    )
    diagnostics = _read_json(bdir / "diagnostics.json", "design diagnostics", problems)

    names = ("panel.manifest.json", "results.manifest.json", "diagnostics.json", "results.parquet")
    if not any((bdir / n).exists() for n in names):
        problems = [
            Problem(
                f'No built results were found in {bdir}. Build them with "make data" and restart the app.'
            )
        ]

    results: pd.DataFrame | None = None
    rpath = bdir / "results.parquet"
    if not rpath.is_file():
        if not (len(problems) == 1 and "No built results" in problems[0].message):
            problems.append(
                Problem(f"The results table ({rpath.name}) was not found in {bdir}. {REBUILD_HINT}")
            )
    else:
        try:
            results = pd.read_parquet(rpath)
        except Exception as exc:  # pyarrow raises several unrelated types for a damaged file
            problems.append(
                Problem(f"The results table ({rpath}) cannot be read ({exc}). {REBUILD_HINT}")
            )
    if results is not None:
        missing = [c for c in RESULT_COLUMNS if c not in results.columns]
        if missing:
            problems.append(
                Problem(
                    f"The results table lacks columns {', '.join(missing)}: it was built by an older version. {REBUILD_HINT}"
                )
            )

    if panel_manifest and results_manifest:
        psha = panel_manifest.get("panel_sha256")
        rsha = results_manifest.get("panel_sha256")
        if not psha or psha != rsha:
            problems.append(
                Problem(
                    "The results table is stale: it was estimated from a different processed panel "
                    f"(results built from {str(rsha)[:12] or 'unknown'}, current panel {str(psha)[:12] or 'unknown'}). "
                    + REBUILD_HINT
                )
            )
        elif results_manifest.get("code_fingerprint") not in (None, code_fingerprint()):
            problems.append(
                Problem(
                    "The results were estimated by an earlier version of the analysis code; the numbers "
                    "match the current panel but may differ from what the current code gives. "
                    + REBUILD_HINT,
                    blocking=False,
                )
            )
    if panel_manifest.get("warning"):
        problems.append(Problem(f"Panel manifest: {panel_manifest['warning']}. {REBUILD_HINT}"))

    codebook: Codebook | None
    try:
        codebook = load_codebook(ddir / "codebook.yaml")
    except CodebookError as exc:
        codebook = None
        problems.append(Problem(f"The codebook cannot be read: {exc}", blocking=False))

    profile_doc = _read_yaml(ddir / "profile.yaml", "institution profile", problems, {})
    if isinstance(profile_doc, dict):
        profile_doc = counted_profile(profile_doc, diagnostics.get("counts") or {}, problems)
    chain_doc = _read_yaml(ddir / "results_chain.yaml", "results chain", problems, {})
    # recommendations are optional: a study without the file simply has none
    recs_path = ddir / "recommendations.yaml"
    recs_doc = _read_yaml(recs_path, "recommendations", problems, {}) if recs_path.is_file() else {}
    recs = recs_doc.get("recommendations", []) if isinstance(recs_doc, dict) else recs_doc

    if results is not None and isinstance(chain_doc, dict) and chain_doc:
        errs = check_chain(chain_doc, set(results["outcome"].unique()))
        if errs:
            problems.append(Problem("Results chain file: " + "; ".join(errs), blocking=False))

    blocking = any(p.blocking for p in problems)
    return Artifacts(
        results=None if blocking else results,
        results_manifest=results_manifest,
        panel_manifest=panel_manifest,
        diagnostics=diagnostics,
        codebook=codebook,
        profile=profile_doc if isinstance(profile_doc, dict) else {},
        chain=chain_doc if isinstance(chain_doc, dict) else {},
        recommendations=list(recs) if isinstance(recs, list) else [],
        problems=tuple(problems),
        build_path=bdir,
    )
