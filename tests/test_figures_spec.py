"""Figures written as plotly JSON and handed to plotly without its validation (the forest,
subgroup and means charts, ``components.figures``) are figures plotly's validation accepts as
they are, and the per-view look-ups Breakdowns keeps are the ones a fresh build makes."""

from __future__ import annotations

import json

import plotly.graph_objects as go
import pytest
from app_fixtures import *  # noqa: F403  (session fixtures: artefacts, app)

from components.display import subgroup_display
from components.figures import make_subgroup_plot, named_subgroup_plot
from components.theme import figure_filename


def _rows(res, outcome, sample_type, method="did"):
    wave = int(res.loc[res["outcome"] == outcome, "wave"].max())
    return res[
        (res["outcome"] == outcome)
        & (res["method"] == method)
        & (res["wave"] == wave)
        & (res["inference"] == "wild")
        & (res["sample_type"] == sample_type)
    ]


def _displays(res):
    """Display frames of every shape the chart meets: pooled and not, a reference line or
    none, groups too small to show, the improvement direction, one group, none."""
    out = []
    for outcome in list(dict.fromkeys(res["outcome"]))[:6]:
        all_row = _rows(res, outcome, "all")
        ref = all_row.iloc[0].to_dict() if len(all_row) else None
        unit = str(res.loc[res["outcome"] == outcome, "unit"].iloc[0])
        for sample_type, pooled in (("branch", True), ("province", False), ("sex", False)):
            rows = _rows(res, outcome, sample_type)
            for direction in ("estimate", "improvement"):
                out.append(
                    subgroup_display(
                        rows, unit=unit, pooled=pooled, reference=ref, direction=direction
                    )
                )
            out.append(subgroup_display(rows.iloc[:1], unit=unit, pooled=pooled))
            if len(rows) > 1:  # a group too small to show, and one not estimable
                odd = rows.copy()
                odd.loc[odd.index[0], "suppressed"] = True
                odd.loc[odd.index[1], "estimate"] = float("nan")
                out.append(subgroup_display(odd, unit=unit, pooled=pooled, reference=ref))
    return out


def test_subgroup_plot_is_what_plotly_validation_accepts(dash_app):
    """Built again through plotly's validation (which raises on a misspelt property or a
    value of the wrong kind, and coerces what it accepts), the JSON is the same."""
    from components.store import get_artifacts

    res = get_artifacts().results
    displays = _displays(res)
    assert len(displays) >= 30
    suppressed = 0
    for disp in displays:
        fig = make_subgroup_plot(disp)
        plain = json.loads(fig.to_json())
        checked = json.loads(go.Figure(fig.to_plotly_json()).to_json())
        assert plain == checked
        # every group drawn, each at its display frame's x
        raw = [t for t in plain["data"] if (t.get("meta") or {}).get("role") == "raw"]
        shown = disp.points[disp.points["shown"]]
        assert (raw[0]["x"] if raw else []) == pytest.approx(shown["x"].tolist())
        assert plain["layout"]["yaxis"]["ticktext"] == disp.points["tick"].tolist()
        # the lines, the size and the legend the page's layout relies on
        lay = plain["layout"]
        lines = [(sh["x0"], sh["line"].get("dash")) for sh in lay["shapes"]]
        assert (0, None) in lines and all(sh["yref"] == "y domain" for sh in lay["shapes"])
        if disp.reference_x is not None:
            assert (pytest.approx(disp.reference_x), "dash") in lines
        n = len(disp.points)
        assert lay["height"] == max(220, n * (70 if disp.pooled else 46) + 130)
        assert lay["legend"]["y"] == 1.02 and lay["legend"]["yanchor"] == "bottom"
        lo, hi = lay["xaxis"]["range"]
        drawn = [v for t in plain["data"] for v in (t.get("x") or []) if v is not None]
        assert lo < min([0, *drawn]) and hi > max([0, *drawn])
        notes = [a["text"] for a in plain["layout"].get("annotations", [])]
        assert notes == [n for n in disp.points["note"] if n]
        suppressed += len(notes)
    assert suppressed, "no display had a group too small to show: the notes went untested"


def test_a_misspelt_property_is_caught_by_that_check(dash_app):
    """The check above can fail: plotly's validation rejects what ours does not look at."""
    from components.store import get_artifacts

    rows = _rows(get_artifacts().results, "late_instalments", "branch")
    spec = make_subgroup_plot(subgroup_display(rows, unit="instalments")).to_plotly_json()
    spec["data"][0]["hoverinf"] = spec["data"][0].pop("hoverinfo")
    go.Figure(spec, _validate=False)  # what make_subgroup_plot does: accepted
    with pytest.raises(ValueError, match="hoverinf"):
        go.Figure(spec)


def test_named_subgroup_plot_carries_its_export_name(dash_app):
    from components.store import get_artifacts

    disp = subgroup_display(
        _rows(get_artifacts().results, "late_instalments", "branch"), unit="instalments"
    )
    fig = named_subgroup_plot(disp, "study-late-by-branch")
    assert figure_filename(fig) == "study-late-by-branch"
    assert figure_filename(make_subgroup_plot(disp)) is None


def test_breakdowns_context_is_kept_per_table_and_equals_a_fresh_one(dash_app):
    import pandas as pd

    import pages.breakdowns as bd

    args = ("late_instalments", "did", "2", "wild", "estimate")
    first = bd._context(*args)
    assert bd._context(*args) is first
    fresh = bd._make_context(*args)
    for name, kept in first._asdict().items():
        new = getattr(fresh, name)
        if isinstance(kept, pd.DataFrame | pd.Series):
            assert kept.equals(new), name
        elif isinstance(kept, dict):  # a row as a dict: NaN where the table has none
            assert pd.Series(kept).equals(pd.Series(new)), name
        elif not callable(kept):
            assert kept == new, name
    assert bd._context("late_instalments", "did", "2", "wild", "improvement") is not first


def test_means_plot_is_what_plotly_validation_accepts(dash_app):
    """The means chart, written as JSON too: the same figure through plotly's validation,
    and each arm's points are its means, its error bars 1.96 standard errors."""
    import numpy as np
    import pandas as pd

    from components.figures import make_means_plot
    from components.store import get_artifacts

    arts = get_artifacts()
    means = pd.DataFrame(arts.diagnostics["means_by_arm"])
    means = means[means["sample_type"] == "all"]
    waves = {int(w): f"wave {w}" for w in means["wave"].unique()}
    checked = 0
    for outcome, rows in means.groupby("outcome"):
        fig = make_means_plot(rows, outcome_label=str(outcome), unit="u", wave_labels=waves)
        plain = json.loads(fig.to_json())
        assert plain == json.loads(go.Figure(fig.to_plotly_json()).to_json())
        for trace in plain["data"]:
            name = trace["name"]
            arm = rows[[a in name for a in rows["arm"]]].sort_values("wave")
            want = arm["mean"].astype(float).to_numpy()
            got = np.array([np.nan if v is None else v for v in trace["y"]], dtype=float)
            np.testing.assert_allclose(got, want, equal_nan=True)
            err = np.array(
                [np.nan if v is None else v for v in trace["error_y"]["array"]], dtype=float
            )
            np.testing.assert_allclose(err, 1.959964 * arm["std_error"].to_numpy(float))
            checked += 1
    assert checked >= 20


def test_forest_plot_is_what_plotly_validation_accepts(dash_app):
    """The forest plot, written as JSON too: for every estimator, scale, level and
    direction, the same figure through plotly's validation; each verdict's points at its
    display frame's x, the family shading and the zero line where the page expects them."""
    import itertools

    from components.display import forest_display
    from components.figures import draw_forest
    from components.store import get_artifacts
    from components.views import Spec, scaled_rows, select

    res = get_artifacts().results
    checked = 0
    for method, scale, level, direction in itertools.product(
        sorted(set(res["method"])), ("std", "pct", "natural"), ("90", "99"),
        ("improvement", "estimate"),
    ):  # fmt: skip
        rows = select(res, Spec(method=method, inference="wild", wave=int(res["wave"].max())))
        if rows.empty:
            rows = select(
                res, Spec(method=method, inference="cluster", wave=int(res["wave"].max()))
            )
        disp = forest_display(
            scaled_rows(rows, scale), scale=scale, view="q", level=level, direction=direction
        )
        fig = draw_forest(disp)
        plain = json.loads(fig.to_json())
        assert plain == json.loads(go.Figure(fig.to_plotly_json()).to_json())
        shown = disp.points[disp.points["shown"]]
        for trace in plain["data"]:
            meta = trace.get("meta") or {}
            if meta.get("role") == "point":
                want = shown[shown["verdict"] == meta["verdict"]]["x"].tolist()
                assert trace["x"] == pytest.approx(want)
        lay = plain["layout"]
        rects = [s for s in lay["shapes"] if s["type"] == "rect"]
        assert [r["y0"] for r in rects] == [h[0] + 0.5 for h in disp.headers[::2]]
        assert lay["shapes"][-1]["x0"] == 0 and lay["shapes"][-1]["yref"] == "y domain"
        assert lay["meta"] == json.loads(json.dumps(disp.meta, default=str))
        checked += 1
    assert checked >= 24
