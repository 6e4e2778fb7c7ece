"""Page layouts and callbacks called as plain functions (inputs -> outputs)."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from app_fixtures import *  # noqa: F403  (session fixtures: artefacts, app)
from app_fixtures import effects_update_body, find_by_id, text_of

from analysis.artifacts import Problem
from components.errors import APP_ERROR_ID
from components.spec import inference_menu
from components.theme import figure_filename
from components.views import Spec, select


@pytest.fixture(scope="module")
def pages(dash_app):
    import pages.breakdowns as breakdowns
    import pages.effects as effects
    import pages.methods as methods
    import pages.overview as overview
    import pages.results_chain as results_chain

    return {
        "overview": overview,
        "results_chain": results_chain,
        "effects": effects,
        "breakdowns": breakdowns,
        "methods": methods,
    }


def _use(monkeypatch, pages, artifacts):
    """Make every page read ``artifacts`` instead of the session's."""
    for mod in pages.values():
        monkeypatch.setattr(mod, "get_artifacts", lambda: artifacts)


# ---------------------------------------------------------------- registry and shell


def test_pages_registered_with_fixed_urls_and_order(pages):
    import dash

    reg = sorted(dash.page_registry.values(), key=lambda p: p["order"])
    assert [p["path"] for p in reg] == [
        "/",
        "/results-chain",
        "/effects",
        "/breakdowns",
        "/methods",
    ]
    assert all(p["title"] and p["description"] for p in reg)


def test_shell_shows_demo_label_and_navbar(dash_app, arts):
    shell = dash_app.layout() if callable(dash_app.layout) else dash_app.layout
    text = text_of(shell)
    assert arts.data_label in text
    for name in ("Overview", "Results chain", "Effects", "Breakdowns", "Methods & data"):
        assert name in text
    assert find_by_id(shell, APP_ERROR_ID) is not None


@pytest.mark.parametrize("name", ["overview", "results_chain", "effects", "breakdowns", "methods"])
def test_every_layout_renders_with_no_arguments(pages, name):
    lay = pages[name].layout()
    assert "could not be shown" not in text_of(lay)


# ---------------------------------------------------------------- query strings


def test_effects_invalid_query_falls_back_with_visible_note(pages):
    eff = pages["effects"]
    lay = eff.layout(
        method="bogus", wave="9", scale="natural", outcome="insurance_any", colour="red"
    )
    assert find_by_id(lay, eff.METHOD).value == "did"
    assert find_by_id(lay, eff.WAVE).value == "2"
    assert find_by_id(lay, eff.OUTCOME).value == "insurance_any"
    note = find_by_id(lay, eff.NOTES)
    assert note.is_open
    txt = text_of(note)
    assert "Unknown estimator 'bogus'" in txt and "Unknown wave '9'" in txt and "'colour'" in txt


def test_effects_valid_query_sets_controls_without_note(pages):
    eff = pages["effects"]
    lay = eff.layout(
        method="ancova",
        wave="1",
        inference="cluster",
        scale="std",
        level="99",
        mt="qf",
        outcome="debt_handling",
    )
    got = {
        k: find_by_id(lay, getattr(eff, k.upper())).value
        for k in ("method", "wave", "inference", "scale", "level", "mt", "outcome")
    }
    assert got == {
        "method": "ancova",
        "wave": "1",
        "inference": "cluster",
        "scale": "std",
        "level": "99",
        "mt": "qf",
        "outcome": "debt_handling",
    }
    assert not find_by_id(lay, eff.NOTES).is_open


@pytest.mark.parametrize(
    "name,kwargs,expected",
    [
        (
            "breakdowns",
            {"outcome": "nope", "branches": "Atlantis"},
            ["Unknown outcome 'nope'", "'Atlantis'"],
        ),
        ("results_chain", {"node": "moon"}, ["Unknown results-chain node 'moon'"]),
        ("overview", {"wave": "x"}, ["Unknown wave 'x'"]),
        ("methods", {"tab": "1"}, ["'tab' is not used"]),
    ],
)
def test_other_pages_note_invalid_query(pages, name, kwargs, expected):
    mod = pages[name]
    lay = mod.layout(**kwargs)
    txt = text_of(find_by_id(lay, mod.NOTES))
    for e in expected:
        assert e in txt


# ---------------------------------------------------------------- effects callbacks


def test_update_forest_returns_figure_matching_table(pages, results):
    eff = pages["effects"]
    fig, caption, rows, cols, note, _phone = eff.update_forest(
        "ancova", "1", "cluster", "std", "90", "q", "estimate"
    )[:6]
    # the export's file name travels in the figure (a config that changed with the view
    # made plotly.js redraw from scratch); the config is the same for every view
    assert figure_filename(fig) == "amk-fe-effects-ancova-cluster-midline-std-estimate"
    fig = go.Figure(fig)
    table = select(results, Spec(method="ancova", inference="cluster", wave=1)).set_index("outcome")
    pts = {
        o: x
        for tr in fig.data
        if (tr.meta or {}).get("role") == "point"
        for o, x in zip(tr.customdata, tr.x, strict=True)
    }
    for o, x in pts.items():
        # an index is already in SDs of the comparison group at baseline: shown as its estimate
        col = "estimate" if table.loc[o, "is_index"] else "effect_std"
        assert x == pytest.approx(table.loc[o, col])
    assert "ANCOVA" in text_of(caption) and "cluster-robust" in text_of(caption)
    grid = pd.DataFrame(rows).set_index("outcome")
    short = table.set_index("short")
    assert "ci90_low" in grid.columns
    for name, r in grid.iterrows():
        # the table keeps the outcome's own unit; the plot's scale is a column of its own
        col = "estimate" if short.loc[name, "is_index"] else "effect_std"
        assert r["effect_std"] == pytest.approx(short.loc[name, col])
        assert r["effect"] == pytest.approx(short.loc[name, "estimate"])
        assert r["unit"] == short.loc[name, "unit"]
    assert note is None


def test_late_with_wild_falls_back_to_cluster_with_note(pages):
    fig, caption, rows, cols, note, _phone = pages["effects"].update_forest(
        "late", "2", "wild", "natural", "95", "q"
    )[:6]
    assert "not available" in text_of(note)
    assert "cluster-robust" in text_of(caption)


def test_percent_scale_notes_outcomes_left_out(pages):
    *_, note, _phone = pages["effects"].update_forest("did", "2", "wild", "pct", "95", "q")[:6]
    assert "not meaningful" in text_of(note) and "index" in text_of(note)


def test_update_forest_validates_garbage_inputs(pages):
    fig, caption, rows, cols, note, _phone = pages["effects"].update_forest(
        "DROP TABLE", None, 3, "pct'", "95", "zzz"
    )[:6]
    assert figure_filename(fig).startswith("amk-fe-effects-did-wild")


def test_write_url_keeps_only_non_defaults(pages):
    eff = pages["effects"]
    # defaults (issue 13): standardised scale, improvement direction
    assert eff.write_url("did", "2", "wild", "std", "95", "q", "repay_difficulty") == ""
    assert (
        eff.write_url("ancova", "1", "wild", "natural", "95", "q", "insurance_any", "estimate")
        == "?method=ancova&wave=1&scale=natural&outcome=insurance_any&direction=estimate"
    )


def test_pick_outcome_from_click(pages):
    eff = pages["effects"]
    assert eff.pick_outcome({"points": [{"customdata": "insurance_any"}]}) == "insurance_any"
    import dash

    assert eff.pick_outcome({"points": [{"customdata": "<script>"}]}) is dash.no_update
    assert eff.pick_outcome(None) is dash.no_update


def test_detail_shows_means_by_arm_over_three_waves(pages, arts):
    fig, title, table, caption = pages["effects"].update_detail(
        "insurance_any", "did", "2", "wild"
    )[:4]
    assert figure_filename(fig) == "amk-fe-means-by-arm-insurance-any"
    fig = go.Figure(fig)
    means = pd.DataFrame(arts.diagnostics["means_by_arm"])
    means = means[(means["outcome"] == "insurance_any") & (means["sample_type"] == "all")]
    for tr in fig.data:
        arm = tr.name.split()[0]
        want = means[means["arm"] == arm].sort_values("wave")["mean"].to_numpy()
        np.testing.assert_allclose(np.asarray(tr.y, float), want)
        assert list(tr.x) == ["Baseline", "Midline", "Endline"]
    assert "Insurance take-up" in title
    assert "LATE (effect on compliers)" in text_of(table)


def test_csv_download_has_label_and_equals_table(pages, arts):
    eff = pages["effects"]
    payload = eff.download_csv(1, "did", "2", "wild", "natural", "95", "q")
    # the provenance is ONE cell in row 1 (Excel shows no '#' lines as data rows)
    first = next(csv.reader(io.StringIO(payload["content"])))
    assert len(first) == 1 and first[0].startswith(arts.data_label)
    assert payload["filename"].endswith(".csv")
    df = pd.read_csv(io.StringIO(payload["content"]), skiprows=1)
    rows, _, _ = eff.view_rows("did", "2", "wild", "natural", "q")
    frame = eff.table_frame(rows, "natural", "95")
    assert list(df.columns) == list(frame.columns)
    np.testing.assert_allclose(df["effect"], frame["effect"].astype(float))
    assert "client_id" not in df.columns and len(df) == len(rows)


def test_csv_download_keeps_the_estimates_own_sign(pages, arts):
    """Whatever the plot's direction, the CSV is programme minus comparison on every scale,
    and says which way is better: compared here with the results table's own rows."""
    eff = pages["effects"]
    payload = eff.download_csv(1, "did", "2", "wild", "std", "95", "q")
    df = pd.read_csv(io.StringIO(payload["content"]), skiprows=1).set_index("outcome")
    res = arts.results
    want = res[
        (res["method"] == "did")
        & (res["inference"] == "wild")
        & (res["wave"] == 2)
        & (res["sample_type"] == "all")
    ].set_index("short")
    assert (want["better"] == "lower").any(), "the check needs a lower-is-better outcome"
    assert df["better"].to_dict() == want["better"].to_dict()
    np.testing.assert_allclose(df["effect"], want.loc[df.index, "estimate"])
    std = want["estimate"].where(want["is_index"], want["effect_std"])
    np.testing.assert_allclose(df["effect_std"], std.loc[df.index])
    first = next(csv.reader(io.StringIO(payload["content"])))[0]
    assert "whatever the plot's direction" in first and "better: which way" in first


# ---------------------------------------------------------------- breakdowns


def _with_suppressed(arts, outcome="repay_difficulty", branch="Baray"):
    res = arts.results.copy()
    hit = (res["outcome"] == outcome) & (res["sample_type"] == "branch") & (res["sample"] == branch)
    numeric = [c for c in res.columns if res[c].dtype.kind == "f"]
    res.loc[hit, numeric] = np.nan
    res.loc[hit, "suppressed"] = True
    res.loc[hit, "verdict"] = "suppressed"
    return dataclasses.replace(arts, results=res)


def test_breakdowns_suppressed_branch_says_too_few_clients(pages, arts, monkeypatch):
    fake = _with_suppressed(arts)
    _use(monkeypatch, pages, fake)
    out = pages["breakdowns"].update("repay_difficulty", "did", "2", "wild", ["Baray", "Santuk"])
    values = dict(zip(pages["breakdowns"].ORDER + ["shown", "search"], out, strict=True))
    table = text_of(values["branch_table"])
    assert "too few clients" in table
    baray = table.split("Baray", 1)[1].split("Santuk", 1)[0]
    assert not any(ch.isdigit() for ch in baray)
    fig = values["branch_figure"]
    assert any(a.text == "too few clients" for a in fig.layout.annotations)
    raw = [tr for tr in fig.data if (tr.meta or {}).get("role") == "raw"][0]
    assert list(raw.customdata) == ["Santuk"]
    assert values["search"] == "?branches=Baray%2CSantuk"


def test_breakdowns_raw_and_pooled_side_by_side(pages, results):
    out = pages["breakdowns"].update("insurance_any", "ancova", "1", "cluster", None)
    values = dict(zip(pages["breakdowns"].ORDER + ["shown", "search"], out, strict=True))
    assert "branches=" in values["search"]  # nothing selected is written to the link
    out = pages["breakdowns"].update("insurance_any", "ancova", "1", "cluster", ["Stoung", "Baray"])
    values = dict(zip(pages["breakdowns"].ORDER + ["shown", "search"], out, strict=True))
    br = results[
        (results["outcome"] == "insurance_any")
        & (results["method"] == "ancova")
        & (results["inference"] == "cluster")
        & (results["wave"] == 1)
        & (results["sample_type"] == "branch")
    ].set_index("sample")
    roles = {(tr.meta or {}).get("role"): tr for tr in values["branch_figure"].data}
    for name, x in zip(roles["pooled"].hovertext, roles["pooled"].x, strict=True):
        b = name.split("</b>")[0].replace("<b>", "")
        assert x == pytest.approx(br.loc[b, "eb_estimate"])
    het = text_of(values["heterogeneity"])
    p = br["heterogeneity_p"].iloc[0]
    assert (f"p = {p:.3f}" if p >= 0.001 else "p = < 0.001") in het
    assert "Pooled" in text_of(values["branch_table"])


def test_breakdowns_late_has_no_heterogeneity_test(pages):
    out = pages["breakdowns"].update("insurance_any", "late", "2", "cluster", ["Baray"])
    values = dict(zip(pages["breakdowns"].ORDER + ["shown", "search"], out, strict=True))
    assert "not available" in text_of(values["heterogeneity"])


# ---------------------------------------------------------------- results chain


def _indicator_items(component, out):
    cls = getattr(component, "className", "") or ""
    if cls.startswith("ind "):
        out[component.title.split(":")[0]] = cls.split("ind-", 1)[1].replace("-", " ")
    kids = getattr(component, "children", None)
    for k in kids if isinstance(kids, list) else [kids]:
        if k is not None and not isinstance(k, str):
            _indicator_items(k, out)
    return out


@pytest.mark.parametrize(
    "method,wave,inference", [("did", "2", "wild"), ("ipw_did", "1", "cluster")]
)
def test_chain_outcome_node_colours_follow_results(pages, results, method, wave, inference):
    diagram, _, _ = pages["results_chain"].chain_view("repayment", method, wave, inference)
    shown = _indicator_items(diagram, {})
    table = select(results, Spec(method=method, inference=inference, wave=int(wave)))
    expected = {r.short: r.verdict for r in table.itertuples() if not r.is_index}
    assert shown == expected


def test_chain_click_selects_node_and_writes_url(pages, arts):
    rc = pages["results_chain"]
    diagram, detail, search = rc.chain_view("risk-management", "did", "2", "wild")
    assert search == "?node=risk-management"
    txt = text_of(detail)
    assert "Risk management" in txt and "Emergency savings" in txt
    fig = find_by_id(detail, rc.DETAIL_FIG)
    pts = {
        o for tr in fig.figure.data if (tr.meta or {}).get("role") == "point" for o in tr.customdata
    }
    assert pts == {"index_risk_management", "emergency_savings", "shock_borrowed"}
    selected = find_by_id(diagram, {"type": "chain-node", "index": "risk-management"})
    assert "is-selected" in selected.className
    linked = find_by_id(diagram, {"type": "chain-node", "index": "over-indebtedness"})
    assert "is-linked" in linked.className


def test_chain_exposure_node_shows_sample_flow(pages, arts):
    _, detail, _ = pages["results_chain"].chain_view("clients-reached", "did", "2", "wild")
    flow = pd.DataFrame(arts.diagnostics["sample_flow"])
    prog = flow[(flow["arm"] == "Programme") & (flow["wave"] == 2)]["share_received_fe"].iloc[0]
    assert f"{100 * prog:.0f}%" in text_of(detail)


def test_an_unknown_node_shows_the_default_step(pages):
    """The chosen box reaches the page's callback from the browser (a clientside choice,
    tests/test_browser_views.py): a node the chain does not have, as a crafted request would
    send, shows the default step, as no node does."""
    import json

    from plotly.utils import PlotlyJSONEncoder

    rc = pages["results_chain"]
    as_json = lambda x: json.dumps(x, cls=PlotlyJSONEncoder, sort_keys=True)  # noqa: E731
    unknown = rc.chain_view("nowhere", "did", "2", "wild")
    default = rc.chain_view(None, "did", "2", "wild")
    assert as_json(unknown[:2]) == as_json(default[:2])
    chosen = rc.chain_view("clients-reached", "did", "2", "wild")
    assert as_json(chosen[:2]) != as_json(default[:2]) and "node=clients-reached" in chosen[2]


# ---------------------------------------------------------------- overview: written from results


def test_overview_headline_counts_come_from_results(pages, results):
    ov = pages["overview"]
    rows = select(results, Spec())
    n_improved = int(((rows["verdict"] == "improved") & ~rows["is_index"]).sum())
    n_out = int((~rows["is_index"]).sum())
    txt = text_of(ov.findings_section(Spec()))
    assert f"improved {n_improved} of {n_out} client outcomes" in txt


def test_overview_headline_changes_when_results_change(pages, arts, monkeypatch):
    res = arts.results.copy()
    main = (
        (res["method"] == "did")
        & (res["inference"] == "wild")
        & (res["wave"] == 2)
        & (res["sample_type"] == "all")
        & ~res["is_index"]
    )
    res.loc[main, "verdict"] = "no detectable effect"
    _use(monkeypatch, pages, dataclasses.replace(arts, results=res))
    txt = text_of(pages["overview"].findings_section(Spec()))
    assert "no client outcome improved measurably" in txt


def test_overview_recommendations_carry_evidence(pages, arts):
    txt = text_of(pages["overview"].recommendations_section(Spec()))
    for rec in arts.recommendations:
        assert rec["title"] in txt


# ---------------------------------------------------------------- problems and errors


def test_pages_show_rebuild_message_not_numbers_when_results_are_stale(pages, arts, monkeypatch):
    broken = dataclasses.replace(
        arts,
        results=None,
        problems=(Problem("The results table is stale: ... Rebuild them with `make data`."),),
    )
    _use(monkeypatch, pages, broken)
    for mod in pages.values():
        txt = text_of(mod.layout())
        assert "make data" in txt and "cannot be shown" in txt
        assert find_by_id(mod.layout(), "effects-forest") is None


def test_layout_error_becomes_a_friendly_message(pages, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(pages["effects"], "forest_view", boom)
    txt = text_of(pages["effects"].layout())
    assert "could not be shown" in txt and "secret internals" not in txt and "Traceback" not in txt


def test_callback_error_becomes_friendly_message_in_page(dash_app, pages, monkeypatch):
    """A failing callback, called through Dash's HTTP endpoint, answers with a message."""

    def boom(*a, **k):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(pages["effects"], "forest_view", boom)
    body = effects_update_body(dash_app, pages["effects"].SCALE)
    client = dash_app.server.test_client()
    client.get("/effects")
    r = client.post("/_dash-update-component", json=body)
    text = r.get_data(as_text=True)
    assert "secret internals" not in text and "Traceback" not in text
    doc = json.loads(text) if r.status_code == 200 else {}
    side = json.dumps(doc.get("sideUpdate", {}))
    assert r.status_code == 200 and APP_ERROR_ID in side and "Something went wrong" in side


# ---------------------------------------------------------------- methods


def test_methods_downloads_are_aggregate_and_labelled(pages, arts):
    m = pages["methods"]
    for key in m.DOWNLOADS:
        payload = m.download_payload(key)
        content = payload["content"]
        assert arts.data_label in content.splitlines()[0] or (
            key == "manifests" and arts.data_label in content
        )
        if key != "manifests":
            # row 1 is the provenance as one cell; no '#' lines a spreadsheet shows as data
            first = next(csv.reader(io.StringIO(content)))
            assert len(first) == 1 and first[0].startswith(arts.data_label)
            assert not any(line.startswith("#") for line in content.splitlines())
            df = pd.read_csv(io.StringIO(content), skiprows=1)
            assert not {"client_id", "village"} & set(df.columns)
            assert len(df) > 0


def test_methods_page_shows_design_tables(pages, arts):
    txt = text_of(pages["methods"].layout())
    for piece in (
        "Sample flow",
        "Attrition",
        "Balance at baseline",
        "Minimum detectable effects",
        "The estimators, in words",
        "Provenance",
        "Codebook",
    ):
        assert piece in txt
    assert arts.results_manifest["panel_sha256"] in txt


def test_overview_wave_link_switches_headline(pages, results):
    midline = min(int(w) for w in results["wave"].unique())
    lay = pages["overview"].layout(wave=str(midline))
    txt = text_of(find_by_id(lay, pages["overview"].FINDINGS))
    label = results.loc[results["wave"] == midline, "wave_label"].iloc[0].lower()
    assert f"By the {label} survey" in txt
    switch = find_by_id(lay, pages["overview"].WAVE_SWITCH)
    assert [getattr(c, "href", None) for c in switch.children] == [None, "/"]


def test_detail_sentence_is_the_findings_sentence(pages, results):
    from analysis.findings import finding_sentence

    *_, table, _ = pages["effects"].update_detail("late_instalments", "ancova", "1", "cluster")[:4]
    row = (
        select(results, Spec(method="ancova", inference="cluster", wave=1))
        .set_index("outcome")
        .loc["late_instalments"]
    )
    assert find_by_id(table, pages["effects"].DETAIL_SENTENCE).children == finding_sentence(
        {**row.to_dict(), "outcome": "late_instalments"}
    )


# ---------------------------------------------------------------- what the screen says (issue 10)


def _late(results) -> str:
    """The LATE's key in this results table (``late``; ``tot`` in tables built before the rename)."""
    methods = set(results["method"])
    return "late" if "late" in methods else "tot"


def _walk(component):
    """Every component in a layout tree."""
    if component is None or isinstance(component, str | int | float):
        return
    if isinstance(component, list | tuple):
        for c in component:
            yield from _walk(c)
        return
    yield component
    yield from _walk(getattr(component, "children", None))


OLD_NAMES = ("treated", "tot)", "(tot", " tot ")


@pytest.mark.parametrize("name", ["effects", "breakdowns", "results_chain"])
@pytest.mark.parametrize("link", ["tot", "late"])
def test_old_and_new_method_links_show_the_late(pages, results, name, link):
    """``method=tot`` (old links) and ``method=late`` both open the LATE view, with no note."""
    mod = pages[name]
    lay = mod.layout(method=link, inference="cluster")
    assert find_by_id(lay, mod.METHOD).value == _late(results)
    assert not find_by_id(lay, mod.NOTES).is_open
    options = {o["value"]: o["label"] for o in find_by_id(lay, mod.METHOD).options}
    assert options[_late(results)] == "LATE (effect on compliers)"
    text = text_of(lay).lower()
    assert "effect on compliers" in text
    for old in OLD_NAMES:
        assert old not in text, old


def test_report_links_with_tot_make_the_late_report(results):
    from components.reports import parse_view

    for link in ("?method=tot", "?method=late"):
        view, notes = parse_view(results, link)
        assert view.method == _late(results)
        assert notes == []  # no inference asked for: the LATE's own, silently
    view, notes = parse_view(results, "?method=tot&inference=wild")
    assert view.inference == "cluster" and any("not available" in n for n in notes)


def test_a_late_link_without_inference_needs_no_note(pages, results):
    eff = pages["effects"]
    lay = eff.layout(method="late")
    assert find_by_id(lay, eff.INFERENCE).value == "cluster"
    assert not text_of(find_by_id(lay, eff.VIEW_NOTE)).strip()
    assert "cluster-robust" in text_of(find_by_id(lay, eff.FOREST_CAPTION))
    lay = eff.layout(method="late", inference="wild")  # asked for: the page says why not
    assert "not available" in text_of(find_by_id(lay, eff.VIEW_NOTE))


def test_late_is_named_a_late_in_methods_glossary_and_brief_text(pages, arts, results):
    from components.layout import GLOSSARY
    from components.reports import build_content, parse_view

    assert "tot" not in GLOSSARY
    assert "compliers" in GLOSSARY["late"] and "Imbens & Angrist 1994" in GLOSSARY["late"]
    methods_text = text_of(pages["methods"].layout())
    assert "LATE (effect on compliers)" in methods_text
    assert "treated" not in methods_text.lower()
    view, _ = parse_view(results, f"?method={_late(results)}")
    content = build_content(arts, view)
    methods_note = " ".join(content.methods)
    assert "LATE (effect on compliers)" in methods_note
    assert "treated" not in methods_note.lower()


@pytest.mark.parametrize("name", ["effects", "breakdowns", "results_chain"])
def test_inference_menu_offers_only_what_the_late_uses(pages, results, name):
    """The LATE has cluster-robust errors only: the menu must not say wild bootstrap."""
    mod = pages[name]
    late = _late(results)
    have = set(results.loc[results["method"] == late, "inference"])
    assert have == {"cluster"}
    # a link asking for the bootstrap: the menu shows what is used, the caption agrees
    lay = mod.layout(method=late, inference="wild")
    menu = find_by_id(lay, mod.INFERENCE)
    assert [o["value"] for o in menu.options] == ["cluster"]
    assert menu.value == "cluster"
    assert "Wild cluster bootstrap" not in [o["label"] for o in menu.options]
    # choosing the LATE in the Estimator menu while the bootstrap is selected: the menu's
    # clientside callback (its own JavaScript, run by node) on the data the page carries
    data = find_by_id(lay, f"{mod.PAGE}-inference-menus").data
    # the LATE's forced value is not a choice the user made; a link's choice among two is
    assert find_by_id(lay, f"{mod.PAGE}-inference-asked").data is None
    chosen = mod.layout(method="did", inference="cluster")
    assert find_by_id(chosen, f"{mod.PAGE}-inference-asked").data == "cluster"
    both = [{"label": "x", "value": "cluster"}, {"label": "y", "value": "wild"}]
    options, value, asked = _menu_in_browser(data, late, "wild", both, "wild")
    assert [o["value"] for o in options] == ["cluster"] and value == "cluster"
    assert asked is NO_UPDATE
    # back to an estimator with both: both offered, and the user's choice (the bootstrap)
    # again -- not the cluster-robust errors the LATE forced
    options, value, _ = _menu_in_browser(data, "did", "cluster", options, "wild")
    assert {o["value"] for o in options} == {"cluster", "wild"} and value == "wild"
    # no choice remembered (the page opened on the LATE): the default
    _, value, _ = _menu_in_browser(data, "did", "cluster", options, None)
    assert value == data["inference"] == "wild"
    # the user picks cluster-robust errors: remembered, the menu left as it is ...
    assert _menu_in_browser(data, "did", "cluster", options, "wild", by="inference") == (
        NO_UPDATE,
        NO_UPDATE,
        "cluster",
    )
    # ... and kept by an estimator that offers it, through the LATE and back
    late_options, value, _ = _menu_in_browser(data, late, "cluster", options, "cluster")
    assert value is NO_UPDATE
    options, value, _ = _menu_in_browser(data, "did", "cluster", late_options, "cluster")
    assert len(options) == 2 and value is NO_UPDATE
    options, value, _ = _menu_in_browser(data, "did", "wild", options, "wild")
    assert options is NO_UPDATE and value is NO_UPDATE
    # garbage in: a sane menu out
    options, value, _ = _menu_in_browser(data, ["x"], {"a": 1}, None, {"b": 2})
    assert value in {o["value"] for o in options}
    assert _menu_in_browser(data, "did", {"a": 1}, None, "wild", by="inference")[2] is None
    # what the page carries is what the server-side rule says, for every pair
    for m in set(results["method"]):
        for i in set(results["inference"]):
            want_options, want_value = inference_menu(m, i, results)
            assert data["menus"][m]["options"] == want_options
            assert data["menus"][m]["value"][i] == want_value


NO_UPDATE = object()


def _menu_in_browser(data, method, inference, before, asked, by="method"):
    """components.spec's clientside look-up, run by node, as if the Estimator menu (``by``
    "method") or the Inference menu ("inference") had changed: (options, value, asked),
    NO_UPDATE for what it leaves as it is."""
    import shutil
    import subprocess

    from components.spec import _MENU_LOOKUP

    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (tests/test_browser.py covers the menu in Chromium)")
    script = (
        "window = {dash_clientside: {no_update: '__NO_UPDATE__', callback_context: "
        f"{{triggered: [{{prop_id: 'effects-{by}.value', value: null}}]}}}}}};\n"
        f"const f = {_MENU_LOOKUP.strip()};\n"
        f"process.stdout.write(JSON.stringify(f(...{json.dumps([method, inference, data, before, asked])})));"
    )
    out = json.loads(subprocess.run([node, "-e", script], capture_output=True, text=True,
                                    check=True, timeout=30).stdout)  # fmt: skip
    return tuple(NO_UPDATE if v == "__NO_UPDATE__" else v for v in out)


def test_late_view_caption_and_inference_menu_agree(pages, results):
    late = _late(results)
    eff = pages["effects"]
    data = find_by_id(eff.layout(), f"{eff.PAGE}-inference-menus").data
    options, value, _ = _menu_in_browser(data, late, "wild", None, "wild")
    fig, caption, rows, cols, note, _phone = eff.update_forest(
        late, "2", value, "natural", "95", "q"
    )[:6]
    assert value == "cluster" and "cluster-robust" in text_of(caption)
    assert "bootstrap" not in text_of(caption)
    assert note is None  # nothing to explain: the menu already shows what is used


def _configs(component) -> list[dict]:
    return [c.config for c in _walk(component) if type(c).__name__ == "Graph"]


def _assert_no_upload(config: dict) -> None:
    assert config.get("showSendToCloud") is False
    assert config.get("showEditInChartStudio") is False
    assert config.get("showLink") is False and config.get("sendData") is False
    assert "plotlyServerURL" not in config
    removed = set(config.get("modeBarButtonsToRemove", []))
    assert {"sendDataToCloud", "editInChartStudio"} <= removed


@pytest.mark.parametrize("name", ["overview", "results_chain", "effects", "breakdowns", "methods"])
def test_no_modebar_button_sends_data_off_the_machine(pages, name):
    """No "Share chart" / "Edit in Chart Studio" on any rendered figure."""
    configs = _configs(pages[name].layout())
    if name != "overview":
        assert configs, "the page should have figures"
    for config in configs:
        _assert_no_upload(config)


def test_figure_configs_sent_by_callbacks_never_upload(dash_app, pages, results):
    # a graph's config comes from the layout only: no callback replaces one (plotly.js would
    # redraw the figure from scratch, and the config would escape the layout's checks above)
    for cb in dash_app.callback_map.values():
        outs = cb["output"] if isinstance(cb["output"], list) else [cb["output"]]
        assert not any(o.component_property == "config" for o in outs), outs
    diagram, detail, _ = pages["results_chain"].update("repayment", "did", "2", "wild")
    for config in _configs(detail):
        _assert_no_upload(config)


def _point_x(fig, outcome) -> float:
    for tr in fig.data:
        if (tr.meta or {}).get("role") == "point":
            for o, x in zip(tr.customdata, tr.x, strict=True):
                if o == outcome:
                    return float(x)
    raise AssertionError(f"{outcome} not plotted")


def test_an_index_effect_is_one_number_everywhere(pages, arts, results):
    """The Repayment behaviour index: the same number on the Results-chain plot, the Effects page
    (natural and standardised scale), the cards, the slide/brief figure and the brief's sentence;
    its unit (SD of the comparison group at baseline) is stated in the glossary."""
    from analysis.findings import finding_sentence
    from components.layout import GLOSSARY
    from components.reports import build_content, figure, parse_view
    from components.theme import fmt_signed
    from components.views import effect_words

    idx = "index_repayment"
    row = select(results, Spec()).set_index("outcome").loc[idx]
    e = float(row["estimate"])
    # the results table states the index's unit: comparison-baseline SDs (analysis/results.py)
    assert row["comparison_sd"] == 1.0 and row["effect_std"] == pytest.approx(e, rel=1e-12)
    for scale in ("natural", "std"):
        fig, *_ = pages["effects"].update_forest("did", "2", "wild", scale, "95", "q")[:7]
        assert _point_x(fig, idx) == pytest.approx(e, rel=1e-12), scale
    node = next(n["id"] for n in arts.chain["nodes"] if n.get("index") == idx)
    _diagram, detail, _ = pages["results_chain"].update(node, "did", "2", "wild")
    chain_fig = next(c.figure for c in _walk(detail) if type(c).__name__ == "Graph")
    assert _point_x(chain_fig, idx) == pytest.approx(e, rel=1e-12)
    for scale in ("natural", "std"):
        view, _ = parse_view(results, f"?scale={scale}")
        content = build_content(arts, view)
        assert _point_x(figure(content, "forest", 900, 700, 12), idx) == pytest.approx(e, rel=1e-12)
        assert fmt_signed(e) in effect_words(row.to_dict(), scale)
    assert f"{abs(e):.2f} standard deviations" in finding_sentence(row.to_dict())
    assert "standard deviation of the comparison group at baseline" in GLOSSARY["index"]


def _table_rows(table) -> tuple[list[str], list[list[str]]]:
    """(header texts, body rows as texts) of a ``simple_table``."""
    tab = next(c for c in _walk(table) if type(c).__name__ == "Table")
    head = next(c for c in _walk(tab) if type(c).__name__ == "Thead")
    body = next(c for c in _walk(tab) if type(c).__name__ == "Tbody")
    headers = [text_of(th) for th in _walk(head) if type(th).__name__ == "Th"]
    rows = [
        [text_of(cell) for cell in tr.children] for tr in _walk(body) if type(tr).__name__ == "Tr"
    ]
    return headers, rows


def test_sample_sizes_say_which_count_they_are(pages, arts, results):
    """Methods counts clients interviewed (e.g. 505/525 at endline); Effects and Breakdowns count the
    estimation sample (e.g. 498/518): each is labelled so that the difference explains itself."""
    flow = pd.DataFrame(arts.diagnostics["sample_flow"])
    endline = flow[flow["wave"] == 2].set_index("arm")["n_clients"]
    rows = select(results, Spec())
    main = rows[~rows["is_index"]]
    # the two counts really differ, and the estimation sample is never larger
    assert (main["n_programme"] <= endline["Programme"]).all()
    assert (main["n_comparison"] <= endline["Comparison"]).all()
    assert (main["n_programme"] < endline["Programme"]).any()
    methods_text = text_of(pages["methods"].layout())
    assert f"{int(endline['Programme']):,}" in methods_text
    assert "Clients interviewed" in methods_text
    assert "estimation sample" in methods_text
    assert "with baseline and follow-up answers for this outcome" in methods_text
    eff = pages["effects"]
    lay = eff.layout()
    cols = {c["field"]: c for c in find_by_id(lay, eff.GRID).columnDefs}
    for field in ("n_programme", "n_comparison"):
        assert "estimation sample" in cols[field]["headerName"]
        assert "with baseline and follow-up answers" in cols[field]["headerTooltip"]
    grid = pd.DataFrame(find_by_id(lay, eff.GRID).rowData).set_index("outcome")
    first = main.iloc[0]
    assert grid.loc[first["short"], "n_programme"] == first["n_programme"]
    assert "estimation sample" in text_of(lay) and "interviewed" in text_of(lay)
    out = pages["breakdowns"].update("insurance_any", "did", "2", "wild", ["Baray"])
    values = dict(zip(pages["breakdowns"].ORDER + ["shown", "search"], out, strict=True))
    for key in ("province_table", "sex_table", "branch_table"):
        headers, _ = _table_rows(values[key])
        assert any("estimation sample" in h for h in headers), key
        assert "with baseline and follow-up answers for this outcome" in text_of(values[key])


def test_the_two_minimum_detectable_effects_say_which_is_which(pages, results):
    from components.layout import GLOSSARY

    methods_text = text_of(pages["methods"].layout())
    assert "Design MDE (before the data)" in methods_text
    assert "design MDE (natural units)" in methods_text
    assert "from that estimate's standard error" in methods_text
    eff = pages["effects"]
    lay = eff.layout()
    cols = {c["field"]: c for c in find_by_id(lay, eff.GRID).columnDefs}
    assert "from this estimate's SE" in cols["mde"]["headerName"]
    assert "design MDE" in cols["mde"]["headerTooltip"]
    assert "design MDE" in text_of(find_by_id(lay, eff.FOREST_CAPTION))
    assert "design MDE" in GLOSSARY["mde"] and "standard error" in GLOSSARY["mde"]
    grid = pd.DataFrame(find_by_id(lay, eff.GRID).rowData).set_index("outcome")
    table = select(results, Spec()).set_index("short")
    np.testing.assert_allclose(grid["mde"], table.loc[grid.index, "mde"], rtol=1e-12)


def test_breakdowns_show_the_p_next_to_each_verdict(pages, results):
    """Every subgroup verdict has its own p next to it (the value in the results table)."""
    out = pages["breakdowns"].update("late_instalments", "did", "2", "wild", ["Baray", "Batheay"])
    values = dict(zip(pages["breakdowns"].ORDER + ["shown", "search"], out, strict=True))
    for key, stype, p_header in (
        ("province_table", "province", "p"),
        ("sex_table", "sex", "p"),
        ("branch_table", "branch", "p (alone)"),
    ):
        headers, body = _table_rows(values[key])
        assert p_header in headers, (key, headers)
        assert "own p is at most 0.05" in text_of(values[key])
        sub = results[
            (results["outcome"] == "late_instalments")
            & (results["method"] == "did")
            & (results["inference"] == "wild")
            & (results["wave"] == 2)
            & (results["sample_type"] == stype)
        ].set_index("sample")
        pcol = headers.index(p_header)
        checked = 0
        for cells in body:
            r = sub.loc[cells[0]]
            if r["suppressed"]:
                continue
            p = r["p_value"]
            assert cells[pcol] == ("< 0.001" if p < 0.001 else f"{p:.3f}"), (key, cells)
            # the verdict follows from the p next to it
            verdict = cells[
                headers.index("Verdict (alone)" if key == "branch_table" else "Verdict")
            ]
            assert ("No detectable effect" in verdict) == (p > 0.05), (key, cells)
            checked += 1
        assert checked >= 2, key
    # the chart says it too: each group's hover carries its p
    raw = next(t for t in values["province_figure"].data if (t.meta or {}).get("role") == "raw")
    for sample, hover in zip(raw.customdata, raw.hovertext, strict=True):
        p = results[
            (results["outcome"] == "late_instalments")
            & (results["method"] == "did")
            & (results["inference"] == "wild")
            & (results["wave"] == 2)
            & (results["sample"] == sample)
        ]["p_value"].iloc[0]
        assert f"p = {'< 0.001' if p < 0.001 else f'{p:.3f}'}" in hover


@pytest.mark.parametrize("outcome", ["late_instalments", "repay_difficulty", "insurance_any"])
def test_no_subgroup_verdict_contradicts_its_interval_or_p(pages, results, outcome):
    """On every Breakdowns table a 95% interval that excludes zero never says "No detectable
    effect", and every verdict agrees with the p shown next to it."""
    for method in ("did", "ancova"):
        out = pages["breakdowns"].update(outcome, method, "2", "wild", ["Baray", "Batheay"])
        values = dict(zip(pages["breakdowns"].ORDER + ["shown", "search"], out, strict=True))
        for key in ("province_table", "sex_table", "branch_table"):
            headers, body = _table_rows(values[key])
            vcol = headers.index("Verdict (alone)" if key == "branch_table" else "Verdict")
            pcol = headers.index("p (alone)" if key == "branch_table" else "p")
            ccol = headers.index(
                "95% interval (alone)" if key == "branch_table" else "95% interval"
            )
            for cells in body:
                if cells[pcol].startswith("too few"):
                    continue
                lo, hi = (
                    float(t.replace("−", "-").replace(",", "")) for t in cells[ccol].split(" to ")
                )
                p = 0.0 if cells[pcol] == "< 0.001" else float(cells[pcol])
                null = "No detectable effect" in cells[vcol]
                assert null == (p > 0.05), (outcome, method, key, cells)
                if lo > 0 or hi < 0:
                    assert not null, (outcome, method, key, cells)


def test_grid_columns_are_fitted_to_their_header_and_widest_value():
    """components.layout.fitted_columns: a column is as wide as its header on one line or
    its widest value shown (numbers as the browser formats them), never under its minWidth."""
    from components.layout import fitted_columns

    defs = [
        {"field": "outcome", "headerName": "Outcome", "cellClass": "fw-semibold"},
        {"field": "unit", "headerName": "Unit", "minWidth": 150},
        {"field": "mde", "headerName": "MDE (from this estimate's SE, own unit)"},
        {"field": "n", "headerName": "n"},
    ]
    rows = [
        {"outcome": "Checks repayments against income", "unit": "share", "mde": 0.1, "n": 12},
        {"outcome": "Income", "unit": "share", "mde": -1234.5678, "n": 123456},
    ]
    w = {c["field"]: c["width"] for c in fitted_columns(rows, defs)}
    # 32 bold characters at 8.4 px, plus the cell's padding
    assert w["outcome"] == math.ceil(32 * 8.4 + 36)
    assert w["unit"] == 150  # its floor
    # the header on one line: 39 characters at 7.6 px plus the header's padding
    assert w["mde"] == math.ceil(39 * 7.6 + 56)
    # "123,456" and room for a sign: wider than the 90 px floor
    assert w["n"] == math.ceil(8 * 8.0 + 36)
    longer = fitted_columns([*rows, {"outcome": "x" * 60}], defs)
    assert longer[0]["width"] > w["outcome"]
    assert fitted_columns([], defs)[3]["width"] == 90


def test_effects_layout_sends_the_grid_columns_fitted_to_its_rows(pages):
    """The grid does not size its columns (components.layout.data_grid): the Effects layout
    sends them with the widths fitted_columns gives for the rows it sends."""
    from components.layout import fitted_columns

    eff = pages["effects"]
    grid = find_by_id(eff.layout(), eff.GRID)
    assert all(isinstance(c.get("width"), int) for c in grid.columnDefs)
    bare = [{k: v for k, v in c.items() if k != "width"} for c in grid.columnDefs]
    assert fitted_columns(grid.rowData, bare) == grid.columnDefs


def test_the_results_table_is_read_with_the_same_values_held_for_quick_selection(artifact_dir):
    """The app holds the built table's text columns as Python strings, stored together
    (components.store.quick_to_select): every value as built, gaps included."""
    from components.store import quick_to_select

    built = pd.read_parquet(artifact_dir / "amk" / "results.parquet")
    built.loc[built.index[0], "note"] = None  # a gap in a text column
    held = quick_to_select(built)
    text = [c for c in built.columns if built[c].dtype == "str"]
    assert text and all(held[c].dtype == object for c in text)
    assert all(held[c].dtype == built[c].dtype for c in built.columns if c not in text)
    pd.testing.assert_frame_equal(held, built, check_dtype=False)
    assert pd.isna(held["note"].iloc[0]) and built["note"].dtype == "str"  # the input as it was
    mask = (built["method"] == "did").to_numpy()
    pd.testing.assert_frame_equal(held[mask], built[mask], check_dtype=False)
    assert quick_to_select(None) is None


def test_rows_as_records_are_those_pandas_gives(artifact_dir):
    """components.frames.records against pandas' own ``to_dict("records")``: the same
    values of the same Python types, on both built results tables (text, Int64 with gaps,
    booleans, NaN) and on the other dtypes a view may hold."""
    from components.frames import records
    from components.store import quick_to_select

    other = pd.DataFrame(
        {
            "when": pd.to_datetime(["2024-01-01", None]),
            "cat": pd.Categorical(["a", None]),
            "f32": np.array([1.5, np.nan], dtype="float32"),
            "n": pd.array([1, None], dtype="Int64"),
            "flag": [True, False],
            "obj": [None, {"k": 1}],
        }
    )
    tables = [pd.read_parquet(artifact_dir / s / "results.parquet") for s in ("amk", "proirri")]
    for df in [*tables, *(quick_to_select(t) for t in tables), other, other.iloc[:0]]:
        mine, theirs = records(df), df.to_dict("records")
        assert len(mine) == len(theirs) and [list(r) for r in mine] == [list(r) for r in theirs]
        for a, b in zip(mine, theirs, strict=True):
            for k in b:
                same = a[k] is b[k] or a[k] == b[k] or (pd.isna(a[k]) and pd.isna(b[k]))
                assert same and type(a[k]) is type(b[k]), (k, a[k], b[k])
