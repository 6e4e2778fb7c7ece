"""The artefacts, loaded once per process through the read-only loaders.

Callbacks read from here and never change it.  ``reload`` exists for tests that
point ``AMK_BUILD_DIR`` somewhere else.
"""

from __future__ import annotations

from functools import lru_cache

from analysis.artifacts import Artifacts, load_artifacts
from analysis.estimators import METHOD_LABELS as _METHOD_LABELS

# The instrumental-variable row is a local average treatment effect: comparison villages have
# take-up too (two-sided non-compliance), so assignment-instrumented receipt identifies the
# effect on compliers, not on all treated clients (Imbens & Angrist 1994).  The results table
# calls it ``late``; tables built before the rename call it ``tot`` (same estimate, same words).
LATE_LABEL = (
    "LATE (effect on compliers): FE receipt instrumented by village assignment "
    "(Imbens & Angrist 1994)"
)
LATE_SHORT = "LATE (effect on compliers)"
METHOD_LABELS = {
    **{k: v for k, v in _METHOD_LABELS.items() if k in ("did", "ancova", "ipw_did")},
    "late": LATE_LABEL,
    "tot": LATE_LABEL,
}
METHOD_SHORT = {
    "did": "Diff-in-diff (ITT)",
    "ancova": "ANCOVA (ITT)",
    "ipw_did": "Weighted diff-in-diff (ITT)",
    "late": LATE_SHORT,
    "tot": LATE_SHORT,
}


@lru_cache(maxsize=1)
def get_artifacts() -> Artifacts:
    return load_artifacts()


def reload() -> Artifacts:
    get_artifacts.cache_clear()
    return get_artifacts()


def health() -> tuple[dict, bool]:
    """What ``/healthz`` reports: did the panel and results load, and their fingerprints."""
    arts = get_artifacts()
    info = {
        "status": "ok" if arts.ok else "degraded",
        "results_loaded": arts.results is not None,
        "results_rows": 0 if arts.results is None else int(len(arts.results)),
        "panel_sha256": arts.panel_manifest.get("panel_sha256"),
        "results_panel_sha256": arts.results_manifest.get("panel_sha256"),
        "code_fingerprint": arts.results_manifest.get("code_fingerprint"),
        "data_kind": arts.data_kind,
        "problems": [p.message for p in arts.problems],
    }
    return info, arts.ok
