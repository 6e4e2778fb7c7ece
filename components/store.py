"""The artefacts of each study, loaded once per process through the read-only loaders.

The app serves every shipped study (``analysis.paths.study_ids``); which one a request
is about is the ``study`` query parameter of the page's address (``?study=<id>``,
the default study when absent).  :func:`current_study` answers for the running code:

* page layouts and tests name it explicitly (:func:`using_study`, :func:`per_study`);
* a request to the app (the page itself, the shell's layout, every callback) takes it
  from its address: the page's own query string, or for the requests the page's
  scripts make, the page address the browser sends with them (``Referer``; the
  server's policy ``strict-origin-when-cross-origin`` keeps it whole for the app's
  own requests, and ``history.pushState`` keeps it current).  See
  :func:`study_from_request`.

``get_artifacts()`` returns the current study's artefacts; callbacks read from here
and never change them.  ``reload`` exists for tests that point ``AMK_BUILD_DIR``
somewhere else.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from collections.abc import Iterator
from contextvars import ContextVar
from functools import lru_cache
from urllib.parse import parse_qs, urlparse

import pandas as pd

from analysis.artifacts import Artifacts, Problem, load_artifacts
from analysis.estimators import METHOD_LABELS as _METHOD_LABELS
from analysis.paths import default_study, study_build_dir, study_dir, study_ids
from analysis.study import Study, StudyError, load_study, set_current_study_resolver

# The instrumental-variable row is a local average treatment effect: comparison villages have
# take-up too (two-sided non-compliance), so assignment-instrumented receipt identifies the
# effect on compliers, not on all treated clients (Imbens & Angrist 1994).  The results table
# calls it ``late``; tables built before the rename call it ``tot`` (same estimate, same words).
LATE_LABEL = (
    "LATE (effect on compliers): take-up instrumented by assignment (Imbens & Angrist 1994)"
)
LATE_SHORT = "LATE (effect on compliers)"
METHOD_LABELS = {
    **{k: v for k, v in _METHOD_LABELS.items() if k in ("did", "ancova", "ipw_did", "post")},
    "late": LATE_LABEL,
    "tot": LATE_LABEL,
}
METHOD_SHORT = {
    "post": "Post-only comparison (ITT)",
    "did": "Diff-in-diff (ITT)",
    "ancova": "ANCOVA (ITT)",
    "ipw_did": "Weighted diff-in-diff (ITT)",
    "late": LATE_SHORT,
    "tot": LATE_SHORT,
}


_EXPLICIT: ContextVar[str | None] = ContextVar("study", default=None)
_EXPLICIT_ARM: ContextVar[str | None] = ContextVar("arm", default=None)


def resolve_study(raw: object) -> tuple[str, str | None]:
    """A study id from a link -> (the study to show, a note when it was not understood).

    >>> resolve_study(None)[1] is None
    True
    >>> sid, note = resolve_study("nosuch")
    >>> sid == default_study(), note.startswith("There is no study 'nosuch'")
    (True, True)
    """
    default = default_study()
    if raw is None or raw == "":
        return default, None
    text = raw[-1] if isinstance(raw, list | tuple) and raw else raw
    text = str(text).strip()
    if text in study_ids():
        return text, None
    try:
        name = load_study(default).short_title
    except StudyError:
        name = default
    return default, f"There is no study '{text[:40]}' in this dashboard; showing {name} instead."


def study_from_request() -> str | None:
    """The raw ``study`` parameter of the page the current request belongs to (None outside
    a request, or when the page address has none)."""
    return _from_request("study")


def _from_request(name: str) -> str | None:
    """The raw ``name`` parameter of the page the current request belongs to (None outside a
    request, or when the page address has none): see :func:`study_from_request`."""
    try:
        from flask import has_request_context, request
    except ImportError:  # pragma: no cover - flask comes with dash
        return None
    if not has_request_context():
        return None
    if name in request.args:
        return request.args.get(name)
    if request.path.startswith(("/_dash-", "/_reload-hash", "/_favicon")) and request.referrer:
        query = parse_qs(urlparse(request.referrer).query, keep_blank_values=True)
        if query.get(name):
            return query[name][-1]
    return None


def current_study() -> tuple[str, str | None]:
    """(study id, fallback note) for the running code: explicit, else the request's address."""
    explicit = _EXPLICIT.get()
    return resolve_study(explicit if explicit is not None else study_from_request())


def study_arms(study: str | None = None) -> list[str]:
    """The programme arms of a study's results table (its ``arm`` column, in table order):
    more than one only for a study with three or more arms."""
    return list(_arms(resolve_study(study)[0] if study is not None else current_study()[0]))


@lru_cache(maxsize=16)
def _arms(study: str) -> tuple[str, ...]:
    res = _load(study).results
    if res is None or "arm" not in res.columns:
        return ()
    return tuple(str(a) for a in pd.unique(res["arm"].dropna()))


def current_arm(study: str | None = None) -> tuple[str | None, str | None]:
    """(programme arm on screen, fallback note) for a study with three or more arms: the
    ``arm`` parameter of the address (explicit in layouts and tests), else the first arm;
    (None, None) for a two-arm study."""
    arms = study_arms(study)
    if len(arms) < 2:
        return None, None
    explicit = _EXPLICIT_ARM.get()
    raw = explicit if explicit is not None else _from_request("arm")
    if raw is None or raw == "" or raw in arms:
        return (raw or arms[0]), None
    return arms[0], f"There is no arm '{str(raw)[:40]}' in this study; showing {arms[0]} instead."


def view_key() -> str:
    """What, besides a view's own arguments, decides what it shows: the study and, for a study
    with three or more arms, the arm (the cached views' key, components.cache)."""
    study = current_study()[0]
    arm = current_arm()[0]
    return study if arm is None else f"{study}/arm={arm}"


@contextlib.contextmanager
def using_study(study: str | None, arm: str | None = None) -> Iterator[None]:
    """Run a block for one study (a page layout given ``study=``, a test), and one of its
    programme arms when it has three or more."""
    token = _EXPLICIT.set(study)
    arm_token = _EXPLICIT_ARM.set(arm)
    try:
        yield
    finally:
        _EXPLICIT_ARM.reset(arm_token)
        _EXPLICIT.reset(token)


def per_study(layout):
    """Decorate a page layout: its ``study`` (and ``arm``) query parameters choose what it renders."""

    @functools.wraps(layout)
    def wrapper(*args, **kwargs):
        # ``study`` and ``arm`` stay in kwargs: the page's links carry them on (components.params)
        study, arm = kwargs.get("study"), kwargs.get("arm")
        if study is None and arm is None:
            return layout(*args, **kwargs)
        with using_study(study, arm if isinstance(arm, str) else None):
            return layout(*args, **kwargs)

    return wrapper


@lru_cache(maxsize=16)
def study_info(study: str) -> Study | None:
    """The study's description (study.yaml), or None when it cannot be read."""
    try:
        return load_study(study)
    except StudyError:
        return None


def get_study() -> Study | None:
    """The current study's description."""
    return study_info(current_study()[0])


# sentences built without an explicit study (analysis.findings) follow the study on screen
set_current_study_resolver(get_study)


def quick_to_select(results: pd.DataFrame | None) -> pd.DataFrame | None:
    """The results table with its text columns held as Python strings (``object``) rather
    than pandas' arrow-backed ``str``, and its columns of one dtype stored together (the
    copy consolidates them: 12 blocks, not 31); the values are the same.  A row selection
    takes every block, an arrow column's take has a fixed cost (~50 µs) however few the
    rows, and a view is built from dozens of selections: on the 55-column table one cost
    3.1 ms, now 1.1 ms (issue 12: the server time of an Effects outcome change)."""
    if results is None:
        return None
    text = [c for c in results.columns if pd.api.types.is_string_dtype(results[c].dtype)]
    return results.astype(dict.fromkeys(text, object)).copy()


@lru_cache(maxsize=16)
def _load(study: str) -> Artifacts:
    arts = load_artifacts(study_build_dir(study), _data_dir(study))
    arts = dataclasses.replace(arts, results=quick_to_select(arts.results))
    info = study_info(study)
    if info is not None:
        arts = dataclasses.replace(arts, study=info)
    else:
        try:
            load_study(study)
        except StudyError as exc:
            problem = Problem(f"The study description cannot be read: {exc}", blocking=False)
            arts = dataclasses.replace(arts, problems=(*arts.problems, problem))
    return arts


def _data_dir(study: str):
    import os

    # AMK_DATA_DIR points the default study at another folder of data files (analysis.paths)
    override = os.environ.get("AMK_DATA_DIR")
    return override if override and study == default_study() else study_dir(study)


def get_artifacts(study: str | None = None) -> Artifacts:
    """The artefacts of ``study`` (default: the current study, see the module docstring).

    For a study with three or more arms, the results and diagnostics are those of the arm
    on screen against the comparison arm (:func:`current_arm`), so every page shows one
    contrast at a time."""
    sid = resolve_study(study)[0] if study is not None else current_study()[0]
    arm = current_arm(sid)[0]
    return _load(sid) if arm is None else _load_arm(sid, arm)


@lru_cache(maxsize=32)
def _load_arm(study: str, arm: str) -> Artifacts:
    """One contrast of a multi-arm study: its rows of the results, its diagnostics."""
    arts = _load(study)
    results = arts.results[arts.results["arm"].astype(str) == arm].reset_index(drop=True)
    diagnostics = {**arts.diagnostics, **arts.diagnostics.get("by_arm", {}).get(arm, {})}
    return dataclasses.replace(arts, results=results, diagnostics=diagnostics)


def reload() -> Artifacts:
    _load.cache_clear()
    _load_arm.cache_clear()
    _arms.cache_clear()
    study_info.cache_clear()
    return get_artifacts()


def health() -> tuple[dict, bool]:
    """What ``/healthz`` reports: did the panel and results load, and their fingerprints."""
    arts = get_artifacts(default_study())
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
