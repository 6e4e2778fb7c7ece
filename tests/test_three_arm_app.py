"""A made-up study with three arms, one long file, sampling weights, an outcome asked at
endline only and a 0-10 scale, loaded as a study of the app: its results hold both contrasts
(each programme arm against the comparison arm) and the pages render each of them, chosen by
the ``arm`` parameter of the address and the "Compared arm" menu.
"""

from __future__ import annotations

import os
import sys
import textwrap

import pandas as pd
import pytest

from analysis.paths import PROJECT_ROOT
from tests.test_studies_app import render, visible_text
from tests.test_study_results import CODEBOOK, _made_up

STUDY_YAML = """
title: Training and visits for savers (made-up test study)
short_title: Three-arm test study
institution: Test savings groups
country: Nowhere
innovation: Training, or training with follow-up visits.
design: Thirty villages in three arms; one long survey file; sampling weights.
data:
  status: demo
  label: Made-up test data — not a real study
nouns:
  unit: {one: saver, many: savers}
  cluster: {one: village, many: villages}
  stratum: {one: stratum, many: strata}
  staff: {one: visitor, many: visitors}
file_prefix: three-arm
"""


@pytest.fixture(scope="module")
def three_arm_app(tmp_path_factory):
    import analysis.paths as paths
    from analysis.codebook import load_codebook
    from analysis.panel import build_panel, write_panel
    from analysis.results import write_results

    root = tmp_path_factory.mktemp("three_arm_app")
    folder = root / "studies" / "threearm"
    folder.mkdir(parents=True)
    _made_up(root, arms=3)  # the raw long file (root/raw) and its codebook
    (folder / "codebook.yaml").write_text(textwrap.dedent(CODEBOOK))
    (folder / "study.yaml").write_text(STUDY_YAML)
    (folder / "profile.yaml").write_text("name: Test savings groups\n")
    build = root / "build" / "threearm"
    build.mkdir(parents=True)
    cb = load_codebook(folder / "codebook.yaml")
    panel, manifest = build_panel(root / "raw", cb)
    write_panel(panel, manifest, build / "panel.parquet")
    write_results(build / "panel.parquet", build / "results.parquet", codebook=cb, draws=99)

    saved = {k: os.environ.get(k) for k in ("AMK_BUILD_DIR", "AMK_STUDY")}
    os.environ["AMK_BUILD_DIR"] = str(root / "build")
    os.environ["AMK_STUDY"] = "threearm"
    old_dir = paths.studies_dir
    paths.studies_dir = lambda: root / "studies"
    if str(PROJECT_ROOT) not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT))
    from components import cache, store

    store.reload()
    import app

    cache._state["ready"] = False
    yield app, pd.read_parquet(build / "results.parquet")
    paths.studies_dir = old_dir
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    store.reload()


ARMS = ["training", "visits"]


def test_results_hold_both_contrasts(three_arm_app):
    _, table = three_arm_app
    assert list(dict.fromkeys(table["arm"])) == ARMS
    assert set(table["contrast"]) == {"training vs control", "visits vs control"}
    # the endline-only 0-10 outcome gets the post-only comparison in each contrast
    conf = table[(table["outcome"] == "confidence") & (table["sample_type"] == "all")]
    assert conf.groupby("arm")["method"].agg(set).to_dict() == {a: {"post"} for a in ARMS}
    assert conf["estimate"].notna().all()


@pytest.mark.parametrize("arm", ARMS)
def test_effects_renders_each_arm(three_arm_app, arm):
    app, table = three_arm_app
    from components.store import get_artifacts, using_study

    text = visible_text(render("effects", study="threearm", arm=arm))
    assert "could not be shown" not in text, text[:500]
    assert "Effects — Three-arm test study" in text
    assert f"the {arm} arm" in text and "the control arm" in text
    # the specification line says the estimates are weighted and what the data is
    assert "Weighted by Sampling weight (sampling weights)" in text
    assert "Data: Made-up test data" in text
    with using_study("threearm", arm):
        shown = get_artifacts().results
    assert set(shown["arm"]) == {arm}
    assert len(shown) == (table["arm"] == arm).sum()
    # the shell's "Compared arm" menu names the arm on screen and offers both
    with app.server.test_request_context(
        "/_dash-layout", headers={"Referer": f"http://127.0.0.1/effects?study=threearm&arm={arm}"}
    ):
        shell = visible_text(app.shell())
    assert f"Compared arm: {arm}" in shell and all(a in shell for a in ARMS)


@pytest.mark.parametrize("page", ["breakdowns", "results_chain", "overview", "methods"])
def test_other_pages_render_for_the_second_arm(three_arm_app, page):
    text = visible_text(render(page, study="threearm", arm="visits"))
    assert "could not be shown" not in text, text[:500]


def test_an_unknown_arm_falls_back_with_a_note(three_arm_app):
    app, _ = three_arm_app
    with app.server.test_request_context(
        "/_dash-layout", headers={"Referer": "http://127.0.0.1/effects?study=threearm&arm=nosuch"}
    ):
        shell = visible_text(app.shell())
    assert "There is no arm 'nosuch'" in shell and "Compared arm: training" in shell


def test_a_two_arm_study_has_no_arm_menu(three_arm_app):
    from components.store import current_arm, using_study

    with using_study("threearm", "visits"):
        assert current_arm()[0] == "visits"
    # the shipped studies have two arms: no menu, no arm (their own app tests cover the rest)
    from analysis.codebook import load_codebook
    from analysis.results import arm_values

    amk = load_codebook(PROJECT_ROOT / "data" / "studies" / "amk" / "codebook.yaml")
    assert len(arm_values(pd.DataFrame({"arm": [0, 1]}), amk)) == 1
