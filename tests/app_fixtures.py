"""Fixtures shared by the dashboard tests (``test_app_*`` and ``test_browser``).

The dashboard reads built artefacts.  ``artifact_dir`` reuses ``build/`` when the demo's
results in ``build/amk/`` were estimated from its panel by the current analysis code;
otherwise it builds a fresh demo panel and results table (199 bootstrap draws) into a
temporary folder once per test session (the flat layout, read for the default study).
``AMK_BUILD_DIR`` then points there; the demo's own files are under
``analysis.paths.study_build_dir()``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from analysis.paths import PROJECT_ROOT

__all__ = ["artifact_dir", "arts", "dash_app", "results", "find_by_id", "text_of"]

_BUILT: dict[str, Path] = {}
TEST_DRAWS = 199


def _fresh(build: Path) -> bool:
    from analysis.version import code_fingerprint

    try:
        pman = json.loads((build / "panel.manifest.json").read_text())
        rman = json.loads((build / "results.manifest.json").read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return (
        (build / "results.parquet").is_file()
        and (build / "diagnostics.json").is_file()
        and bool(pman.get("panel_sha256"))
        and pman.get("panel_sha256") == rman.get("panel_sha256")
        and rman.get("code_fingerprint") == code_fingerprint()
    )


def build_artifacts(out: Path) -> Path:
    """Demo exports -> panel -> results table, into ``out`` (about 30-40 s)."""
    from analysis.demo import write_demo_exports
    from analysis.panel import build_panel, write_panel
    from analysis.results import write_results

    raw = out / "raw_demo"
    write_demo_exports(raw)
    panel, manifest = build_panel(raw)
    panel_path = write_panel(panel, manifest, out / "panel.parquet")
    write_results(panel_path, out / "results.parquet", draws=TEST_DRAWS)
    return out


@pytest.fixture(scope="session")
def artifact_dir(tmp_path_factory) -> Path:
    """A folder with fresh artefacts; ``AMK_BUILD_DIR`` is set to it for the session."""
    if "dir" not in _BUILT:
        default = PROJECT_ROOT / "build"
        # make data builds the demo into build/amk/; AMK_BUILD_DIR names the folder of studies
        chosen = (
            default
            if _fresh(default / "amk")
            else build_artifacts(tmp_path_factory.mktemp("amk_build"))
        )
        _BUILT["dir"] = chosen
    os.environ["AMK_BUILD_DIR"] = str(_BUILT["dir"])
    return _BUILT["dir"]


@pytest.fixture(scope="session")
def dash_app(artifact_dir):
    """The Dash app (pages registered) reading the session's artefacts."""
    import sys

    if str(PROJECT_ROOT) not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT))
    from components import store

    store.reload()
    import app as app_module
    from components import cache

    # callbacks are tested here on what they compute (plotly Figures, components); the cached,
    # JSON-form path is exercised against live gunicorn servers in test_server.py
    cache._state["ready"] = False
    return app_module.app


@pytest.fixture(scope="session")
def arts(dash_app):
    from components.store import get_artifacts

    a = get_artifacts()
    assert a.ok, [p.message for p in a.problems]
    return a


@pytest.fixture(scope="session")
def results(arts):
    return arts.results


def find_by_id(component, wanted):
    """The first component in a layout tree whose id equals ``wanted``."""
    if component is None or isinstance(component, str | int | float):
        return None
    if isinstance(component, list | tuple):
        return next((h for h in (find_by_id(c, wanted) for c in component) if h is not None), None)
    if getattr(component, "id", None) == wanted:
        return component
    children = getattr(component, "children", None)
    if isinstance(children, list | tuple):
        for ch in children:
            hit = find_by_id(ch, wanted)
            if hit is not None:
                return hit
    elif children is not None:
        return find_by_id(children, wanted)
    return None


def find_in_json(node, ident):
    """A component (as JSON: a layout as the server sends it) with id ``ident`` anywhere in
    ``node``; None when there is none."""
    if isinstance(node, dict):
        if node.get("props", {}).get("id") == ident:
            return node
        for value in node.values():
            hit = find_in_json(value, ident)
            if hit is not None:
                return hit
    elif isinstance(node, list):
        for value in node:
            hit = find_in_json(value, ident)
            if hit is not None:
                return hit
    return None


def text_of(component) -> str:
    """All text in a layout tree, joined."""
    if component is None:
        return ""
    if isinstance(component, str | int | float):
        return str(component)
    if isinstance(component, list | tuple):
        return " ".join(text_of(c) for c in component)
    return text_of(getattr(component, "children", None))


def effects_update_body(dash_app, changed: str, **view) -> dict:
    """A request body for the Effects page's callback, as the browser sends it: the view's
    controls (the defaults, or ``view``: control id -> value), empty shown stores, a wide
    screen; ``changed`` is the control id whose change it reports."""
    import pages.effects as eff

    key = next(k for k in dash_app.callback_map if k.startswith("..effects-forest.figure"))
    values = {eff.METHOD: "did", eff.WAVE: "2", eff.INFERENCE: "wild", eff.SCALE: "std",
              eff.LEVEL: "95", eff.MT: "q", eff.DIRECTION: "improvement",
              eff.OUTCOME: "repay_difficulty", **view}  # fmt: skip
    return {
        # an output written by other callbacks too is named "…@<hash>" by Dash
        "output": key,
        "outputs": [
            {"id": o.component_id, "property": o.component_property.split("@")[0]}
            for o in dash_app.callback_map[key]["output"]
        ],
        "inputs": [{"id": i, "property": "value", "value": v} for i, v in values.items()]
        + [{"id": eff.crossed(eff.PAGE), "property": "data", "value": 0}],
        "changedPropIds": [f"{changed}.value"],
        "state": [
            {"id": eff.FOREST_SHOWN, "property": "data", "value": None},
            {"id": eff.DETAIL_SHOWN, "property": "data", "value": None},
            {"id": eff.LOCATION, "property": "search", "value": ""},
            {"id": eff.VIEWPORT, "property": "data", "value": {"narrow": False}},
        ],
    }
