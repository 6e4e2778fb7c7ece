"""The display frame and the effect plots drawn from it (issue 13): the improvement
direction, one common unit by default, verdicts told apart by shape as well as colour."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from app_fixtures import *  # noqa: F403  (session fixtures: artefacts, app)

from analysis.paths import PROJECT_ROOT
from components.display import VERDICT_MARKERS, forest_display, subgroup_display
from components.figures import make_forest_plot, make_subgroup_plot
from components.theme import VERDICT_COLOURS
from components.views import LEVELS, Spec, ordered, scaled_rows, select


@pytest.fixture(scope="session")
def results(arts):
    return arts.results


@pytest.fixture(scope="session")
def better_in_codebook():
    """outcome -> 'higher' / 'lower', read from the study's codebook file itself."""
    book = yaml.safe_load((PROJECT_ROOT / "data/studies/amk/codebook.yaml").read_text())
    return {name: spec["better"] for name, spec in book["outcomes"].items()}


def _points(fig):
    return {
        o: (x, y)
        for tr in fig.data
        if (tr.meta or {}).get("role") == "point"
        for x, y, o in zip(tr.x, tr.y, tr.customdata, strict=True)
    }


def _intervals(fig, level):
    out = {}
    for tr in fig.data:
        m = tr.meta or {}
        if m.get("role") == "interval" and m.get("level") == level:
            xs, ys = list(tr.x), list(tr.y)
            for i in range(0, len(xs), 3):
                out[ys[i]] = (xs[i], xs[i + 1])
    return out


@pytest.mark.parametrize(
    "spec,scale",
    [
        (Spec(method="did", inference="wild", wave=2), "natural"),
        (Spec(method="ancova", inference="cluster", wave=1), "std"),
    ],
)
def test_improvement_flips_exactly_the_lower_is_better_outcomes(
    results, better_in_codebook, spec, scale
):
    """Against the results table's own numbers and the codebook's ``better``: every
    lower-is-better outcome is mirrored (point and interval ends), every other one is not."""
    table = select(results, spec).set_index("outcome")
    rows = scaled_rows(ordered(select(results, spec)), scale, "q")
    est = make_forest_plot(rows, scale=scale, view="q", direction="estimate")
    imp = make_forest_plot(rows, scale=scale, view="q", direction="improvement")
    p_est, p_imp = _points(est), _points(imp)
    assert set(p_est) == set(p_imp) and len(p_imp) >= 10
    flipped, kept = set(), set()
    for outcome, (x, y) in p_imp.items():
        t = table.loc[outcome]
        # the number on the plot's scale, computed here from the table (indices: already SDs)
        factor = 1.0 if scale == "natural" or t["is_index"] else 1.0 / t["comparison_sd"]
        lower = better_in_codebook.get(outcome, "higher") == "lower"  # indices: higher = better
        sign = -1.0 if lower else 1.0
        assert x == pytest.approx(sign * t["estimate"] * factor, rel=1e-12), outcome
        assert x == pytest.approx(t["improvement"] * factor, rel=1e-12), outcome
        assert p_est[outcome][0] == pytest.approx(t["estimate"] * factor, rel=1e-12)
        for lev in LEVELS:
            lo, hi = _intervals(imp, lev)[y]
            ends = sorted([sign * t[f"ci{lev}_low"] * factor, sign * t[f"ci{lev}_high"] * factor])
            assert (lo, hi) == pytest.approx(tuple(ends), rel=1e-12), (outcome, lev)
        (flipped if x != pytest.approx(p_est[outcome][0]) else kept).add(outcome)
    lower = {o for o in p_imp if better_in_codebook.get(o) == "lower"}
    assert lower and flipped == {o for o in lower if table.loc[o, "estimate"] != 0}
    assert kept and not (kept & lower)
    assert "Improvement" in imp.layout.xaxis.title.text and "better" in imp.layout.xaxis.title.text
    assert "Improvement" not in est.layout.xaxis.title.text


def test_hover_keeps_the_natural_unit_beside_the_number(results):
    rows = scaled_rows(ordered(select(results, Spec())), "std", "q")
    disp = forest_display(rows, scale="std", view="q", direction="improvement")
    hover = disp.points.set_index("outcome")["hover"]
    table = rows.set_index("outcome")
    late = table.loc["late_instalments"]
    text = hover["late_instalments"]
    # the estimate as it is, in instalments; then what the plot shows (SD, flipped)
    assert "instalments" in text and "On the plot:" in text and " SD" in text
    assert "right of zero = better" in text
    assert f"{late['ci95_low']:.2f}"[:4].replace("-", "−") in text.replace("-", "−")


def test_default_scale_is_standardised_and_direction_is_improvement(dash_app):
    import pages.effects as eff

    specs = {p.name: p for p in eff.param_specs()}
    assert specs["scale"].default == "std"
    assert specs["direction"].default == "improvement"
    fig, *_ = eff.update_forest("did", "2", "wild", None, "95", "q", None)
    assert fig.layout.meta["scale"] == "std" and fig.layout.meta["direction"] == "improvement"
    assert "SDs" in fig.layout.xaxis.title.text


def test_verdicts_differ_by_marker_shape_and_the_legend_says_so(results):
    rows = scaled_rows(ordered(select(results, Spec())), "std", "q")
    fig = make_forest_plot(rows, scale="std", view="q", direction="improvement")
    shapes = {}
    for tr in fig.data:
        m = tr.meta or {}
        if m.get("role") == "point":
            shapes[m["verdict"]] = set(tr.marker.symbol)
    assert {"improved", "no detectable effect"} <= set(shapes), shapes
    assert all(len(s) == 1 for s in shapes.values())
    assert len({next(iter(s)) for s in shapes.values()}) == len(shapes)  # one shape each
    keys = {
        (tr.meta or {}).get("verdict"): tr.marker.symbol
        for tr in fig.data
        if (tr.meta or {}).get("role") == "key" and (tr.meta or {}).get("verdict")
    }
    for verdict, sym in shapes.items():
        assert keys[verdict] == next(iter(sym))  # the legend shows the same shape
    assert len(set(VERDICT_MARKERS.values())) == 3


def test_verdict_colours_stay_apart_under_deuteranopia():
    """Colour alone is weak under deuteranopia (simulated as in Machado, Oliveira & Fernandes
    2009, full severity): improved vs worsened falls from a CAM02-UCS distance of about 50
    to about 23, improved vs no effect to about 20.  Each pair stays above 15 (a
    'just noticeable' difference is about 1-2), and the marker shapes differ as well."""
    from colorspacious import cspace_convert, deltaE

    cvd = {"name": "sRGB1+CVD", "cvd_type": "deuteranomaly", "severity": 100}

    def seen(hex_colour):
        rgb = np.array([int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
        return np.clip(cspace_convert(rgb, cvd, "sRGB1"), 0, 1)

    verdicts = ("improved", "worsened", "no detectable effect")
    for i, a in enumerate(verdicts):
        for b in verdicts[i + 1 :]:
            d = deltaE(seen(VERDICT_COLOURS[a]), seen(VERDICT_COLOURS[b]), input_space="sRGB1")
            assert d > 15, (a, b, d)
            assert VERDICT_MARKERS[a] != VERDICT_MARKERS[b], (a, b)


def test_subgroup_plot_can_show_improvement(results):
    sub = results[
        (results["sample_type"] == "province")
        & (results["method"] == "did")
        & (results["inference"] == "wild")
        & (results["wave"] == 2)
        & (results["outcome"] == "late_instalments")
    ]
    est = make_subgroup_plot(subgroup_display(sub, unit="instalments"))
    imp = make_subgroup_plot(subgroup_display(sub, unit="instalments", direction="improvement"))
    xe = next(tr for tr in est.data if (tr.meta or {}).get("role") == "raw").x
    xi = next(tr for tr in imp.data if (tr.meta or {}).get("role") == "raw").x
    np.testing.assert_allclose(np.asarray(xi, float), -np.asarray(xe, float))
    np.testing.assert_allclose(np.asarray(xe, float), sub.loc[~sub["suppressed"], "estimate"])
    assert "better" in imp.layout.xaxis.title.text


def test_export_names_are_capped_and_stay_distinct():
    """A long choice of groups (or a name in another script) would make a file name past the
    255 bytes file systems take: the slug keeps its start and ends with a digest."""
    import hashlib

    from components.theme import SLUG_MAX, slug

    assert slug("amk-breakdowns", "did", "Midline", "Baray", "Santuk") == (
        "amk-breakdowns-did-midline-baray-santuk"
    )  # short names as before
    many = [f"Branch {i:02d}" for i in range(40)]
    long_a = slug("amk-breakdowns", "did", "Midline", *many)
    long_b = slug("amk-breakdowns", "did", "Midline", *many[1:])
    assert len(long_a.encode()) <= SLUG_MAX and len(long_b.encode()) <= SLUG_MAX
    assert long_a.startswith("amk-breakdowns-did-midline-branch-00-branch-01")
    assert long_a != long_b  # the digest tells two long choices apart
    full = "amk-breakdowns-did-midline-" + "-".join(f"branch-{i:02d}" for i in range(40))
    assert long_a.endswith("-" + hashlib.sha1(full.encode()).hexdigest()[:8])
    khmer = slug("amk", *["បាធាយ"] * 10)  # 63 letters, 3 bytes each in UTF-8
    assert len(khmer.encode()) <= SLUG_MAX
    khmer.encode().decode()  # not cut inside a letter
    assert khmer.startswith("amk-បាធាយ-បាធាយ")
