"""Breakdowns for a branch officer: every panel follows the chosen branches (or says why
not), the two branches are compared directly, and the CSV / XLSX downloads hold exactly
the page's numbers for every outcome (read back and checked against the results table)."""

from __future__ import annotations

import base64
import csv
import io

import numpy as np
import openpyxl
import pandas as pd
import pytest
from app_fixtures import *  # noqa: F403  (session fixtures: artefacts, app)
from app_fixtures import text_of
from test_app_pages import _with_suppressed

from components.theme import figure_filename

CHOICE = ("did", "2", "wild")
TWO = ["Baray", "Santuk"]


@pytest.fixture(scope="module")
def bd_page(dash_app):
    import pages.breakdowns as breakdowns

    return breakdowns


def _update(page, outcome, branches, choice=CHOICE):
    out = page.update(outcome, *choice, branches)
    return dict(zip(page.ORDER + ["shown", "search"], out, strict=True))


def _sel(results, method="did", wave=2, inference="wild"):
    return results[
        (results["method"] == method)
        & (results["wave"] == wave)
        & (results["inference"] == inference)
    ]


def _panel_nesting(arts) -> dict[str, str]:
    # independent of the page: straight from the panel file
    p = pd.read_parquet(arts.build_path / "panel.parquet", columns=["province", "branch"])
    return {b: pv for pv, b in p.drop_duplicates().itertuples(index=False, name=None)}


def test_every_panel_follows_the_branches_or_says_why_not(bd_page, arts):
    v = _update(bd_page, "repay_difficulty", TWO)
    nest = _panel_nesting(arts)
    provinces = {nest[b] for b in TWO}
    fig = v["province_figure"]
    fig = fig if isinstance(fig, dict) else fig.to_dict()
    shown = {
        str(x) for tr in fig["data"] for k in ("y", "customdata") for x in list(tr.get(k) or [])
    }
    # the province panel shows the chosen branches' province only, and says what it covers
    assert all(p in text_of(v["province_table"]) for p in provinces)
    others = set(nest.values()) - provinces
    assert not any(o in text_of(v["province_table"]) for o in others)
    assert "uses all its branches" in v["province_scope"]
    assert shown.isdisjoint(others)
    # women and men, and the heterogeneity tests: across all branches, and they say so
    assert "does not follow the branch choice" in v["sex_scope"]
    assert "not recomputed" in v["heterogeneity_scope"]
    # the branch panel has exactly the chosen ones
    assert "Baray" in text_of(v["branch_table"]) and "Stoung" not in text_of(v["branch_table"])


def test_two_branches_compared_directly(bd_page, results):
    v = _update(bd_page, "repay_difficulty", TWO)
    br = _sel(results)
    br = br[(br["outcome"] == "repay_difficulty") & (br["sample_type"] == "branch")]
    br = br.set_index("sample")
    text = text_of(v["compare"])
    d = br.loc["Baray", "estimate"] - br.loc["Santuk", "estimate"]
    assert "Baray minus Santuk" in text
    assert f"{abs(d):.3f}" in text
    assert "cannot be told apart" in text or "differ" in text
    one = text_of(_update(bd_page, "repay_difficulty", ["Baray"])["compare"])
    assert "Choose exactly two branches" in one


def _csv(payload) -> tuple[str, pd.DataFrame]:
    text = payload["content"]
    first = next(csv.reader(io.StringIO(text)))
    assert len(first) == 1, "row 1 must be one cell (the provenance)"
    assert not any(line.startswith("#") for line in text.splitlines())
    return first[0], pd.read_csv(io.StringIO(text), skiprows=1)


def _xlsx(payload) -> openpyxl.Workbook:
    assert payload["filename"].endswith(".xlsx") and payload["base64"]
    return openpyxl.load_workbook(io.BytesIO(base64.b64decode(payload["content"])))


def _check_against_results(df: pd.DataFrame, results: pd.DataFrame, branches) -> None:
    sel = _sel(results)
    n_out = sel["outcome"].nunique()
    assert df["outcome"].nunique() == n_out  # every outcome measured at the wave
    for row in df.itertuples():
        if row.breakdown == "branch difference":
            b = sel[(sel["outcome"] == row.outcome) & (sel["sample_type"] == "branch")]
            b = b.set_index("sample")
            want = b.loc[branches[0], "estimate"] - b.loc[branches[1], "estimate"]
            assert row.effect == pytest.approx(want, abs=1e-9)
            continue
        stype = {"All clients": "all", "Province": "province", "Branch office": "branch"}.get(
            row.breakdown, "sex"
        )
        r = sel[
            (sel["outcome"] == row.outcome)
            & (sel["sample_type"] == stype)
            & (sel["sample"] == row.group)
        ]
        assert len(r) == 1, (row.outcome, row.breakdown, row.group)
        r = r.iloc[0]
        if r["suppressed"]:
            assert np.isnan(row.effect) and np.isnan(row.ci95_low)
            continue
        assert row.effect == pytest.approx(r["estimate"], abs=1e-9)
        assert row.ci95_low == pytest.approx(r["ci95_low"], abs=1e-9)
        assert row.ci95_high == pytest.approx(r["ci95_high"], abs=1e-9)
        assert row.p_value == pytest.approx(r["p_value"], abs=1e-9)
        assert row.n_programme == r["n_programme"] and row.verdict == r["verdict"]
        if stype == "branch":
            assert row.pooled_effect == pytest.approx(r["eb_estimate"], abs=1e-9)
    chosen = set(df.loc[df["breakdown"] == "Branch office", "group"])
    assert chosen == set(branches)


def test_csv_download_is_the_page_for_every_outcome(bd_page, results, arts):
    payload = bd_page.download_csv(1, "repay_difficulty", *CHOICE, TWO)
    about, df = _csv(payload)
    assert about.startswith(arts.data_label) and "Branches chosen: Baray, Santuk" in about
    assert "baray-santuk" in payload["filename"]
    _check_against_results(df, results, TWO)
    assert "client_id" not in df.columns and "village" not in df.columns


def test_xlsx_download_has_the_same_numbers_and_an_about_sheet(bd_page, results):
    wb = _xlsx(bd_page.download_xlsx(1, "repay_difficulty", *CHOICE, TWO))
    assert wb.sheetnames == ["Breakdowns", "About"]
    assert wb["Breakdowns"]["A1"].value.startswith("Demonstration data")
    rows = list(wb["Breakdowns"].iter_rows(min_row=2, values_only=True))
    df = pd.DataFrame(rows[1:], columns=rows[0]).astype({"effect": float, "ci95_low": float})
    _check_against_results(df, results, TWO)
    about = {r[0]: r[1] for r in wb["About"].iter_rows(values_only=True) if r[0]}
    assert "SIMULATED" in about["Data"] and about["Data kind"] == "demo"
    assert about["Branches chosen"] == "Baray, Santuk"
    for col in df.columns:  # every column defined
        assert about.get(col), col


def test_suppressed_cells_stay_suppressed_in_both_files(bd_page, arts, monkeypatch):
    import components.breakdown_data as bdata

    fake = _with_suppressed(arts)
    monkeypatch.setattr(bd_page, "get_artifacts", lambda: fake)
    monkeypatch.setattr(bdata, "get_artifacts", lambda: fake)
    _, df = _csv(bd_page.download_csv(1, "repay_difficulty", *CHOICE, TWO))
    wb = _xlsx(bd_page.download_xlsx(1, "repay_difficulty", *CHOICE, TWO))
    rows = list(wb["Breakdowns"].iter_rows(min_row=2, values_only=True))
    xl = pd.DataFrame(rows[1:], columns=rows[0])
    for frame in (df, xl):
        hit = frame[(frame["outcome"] == "repay_difficulty") & (frame["group"] == "Baray")]
        assert len(hit) == 1
        numbers = hit[["effect", "ci95_low", "ci95_high", "pooled_effect", "n_programme"]]
        assert numbers.isna().all(axis=None)
        assert hit["verdict"].iloc[0] == "too few clients"
        diff = frame[
            (frame["outcome"] == "repay_difficulty") & (frame["group"] == "Baray minus Santuk")
        ]
        assert diff["effect"].isna().all() and "Cannot be told" in diff["verdict"].iloc[0]


def test_the_deck_gets_the_chosen_branches(bd_page, results):
    from components.reports.common import parse_view, report_filename

    v = _update(bd_page, "repay_difficulty", TWO)
    view, _ = parse_view(results, v["search"])
    assert view.branches == tuple(TWO)
    # the deck's file name (components/reports) then names them
    name = report_filename(view, results, "pptx", "amk")
    assert name.endswith("-baray-santuk.pptx"), name


def _points(fig, role) -> dict[str, float]:
    fig = fig if isinstance(fig, dict) else fig.to_dict()
    out = {}
    for tr in fig["data"]:
        if (tr.get("meta") or {}).get("role") == role:
            ys = tr["y"]
            names = tr.get("customdata")
            out.update(dict(zip(names or ys, tr["x"], strict=True)))
    return out


def _branch_rows(results, outcome, branches):
    br = _sel(results)
    br = br[(br["outcome"] == outcome) & (br["sample_type"] == "branch")]
    return br[br["sample"].isin(branches) & ~br["suppressed"]].set_index("sample")


def test_breakdowns_plot_improvement_by_default_and_keep_it_in_the_url(bd_page, results):
    """repay_difficulty is lower-is-better: on the default (improvement) its branch points
    are the results table's estimates with the sign flipped; direction=estimate plots them
    as estimated and the address says so; a higher-is-better outcome is never flipped."""
    outcome = "repay_difficulty"
    assert results.loc[results["outcome"] == outcome, "better"].iloc[0] == "lower"
    rows = _branch_rows(results, outcome, TWO)
    assert len(rows) == 2
    imp = _update(bd_page, outcome, TWO)
    got = _points(imp["branch_figure"], "raw")
    assert set(got) == set(TWO)
    for b in TWO:
        assert got[b] == pytest.approx(-rows.loc[b, "estimate"], abs=1e-12)
    assert "direction" not in imp["search"]  # the default stays out of the address
    assert "sign flipped" in imp["branch_caption"]
    fig = imp["branch_figure"]
    fig = fig if isinstance(fig, dict) else fig.to_dict()
    assert "right of zero = better" in fig["layout"]["xaxis"]["title"]["text"].replace("<br>", " ")
    # the dashed line (all clients) is mirrored too, and its legend gives the number drawn
    allrow = _sel(results)
    allrow = allrow[(allrow["outcome"] == outcome) & (allrow["sample_type"] == "all")].iloc[0]
    dashed = [sh["x0"] for sh in fig["layout"]["shapes"] if sh["line"].get("dash") == "dash"]
    assert dashed == [pytest.approx(-allrow["estimate"], abs=1e-12)]
    ref = [tr["name"] for tr in fig["data"] if tr.get("line", {}).get("dash") == "dash"]
    drawn = f"{-allrow['estimate']:.3f}".replace("-", "\N{MINUS SIGN}")
    assert ref and ref[0].replace("<br>", " ").endswith(f": {drawn}"), ref
    # as estimated: the same points unflipped, and the URL keeps the choice
    out = bd_page.update(outcome, *CHOICE, TWO, "estimate")
    est = dict(zip(bd_page.ORDER + ["shown", "search"], out, strict=True))
    got = _points(est["branch_figure"], "raw")
    for b in TWO:
        assert got[b] == pytest.approx(rows.loc[b, "estimate"], abs=1e-12)
    assert "direction=estimate" in est["search"]
    assert "sign flipped" not in est["branch_caption"]
    # a higher-is-better outcome is plotted as estimated either way
    up = "savings_any"
    rows = _branch_rows(results, up, TWO)
    got = _points(_update(bd_page, up, TWO)["branch_figure"], "raw")
    for b in rows.index:
        assert got[b] == pytest.approx(rows.loc[b, "estimate"], abs=1e-12)


def test_direction_from_the_address_reaches_the_page(bd_page):
    from app_fixtures import find_by_id

    page = bd_page.layout(outcome="repay_difficulty", direction="estimate")
    assert find_by_id(page, bd_page.DIRECTION).value == "estimate"
    assert find_by_id(bd_page.layout(outcome="repay_difficulty"), bd_page.DIRECTION).value == (
        "improvement"
    )


def test_png_file_names_name_what_each_chart_shows(bd_page, arts):
    # the file name travels in the figure (components.theme.named), not in the graph's config
    v = _update(bd_page, "repay_difficulty", TWO)
    name = figure_filename(v["branch_figure"])
    assert name.endswith("-by-branch-baray-santuk"), name
    # the province chart shows the provinces holding the chosen branches: named after them
    nest = _panel_nesting(arts)
    mine = sorted({nest[b] for b in TWO})
    prov = figure_filename(v["province_figure"])
    if set(mine) == set(nest.values()):
        assert prov.endswith("-by-province"), prov
    else:
        tail = "-".join(m.lower().replace(" ", "-") for m in mine)
        assert prov.endswith("-by-province-" + tail), prov
    # the chart by sex covers every branch whatever the choice, so it names none
    sex = figure_filename(v["sex_figure"])
    assert "baray" not in sex and sex.endswith("-by-sex"), sex
    # all branches chosen: no list of every branch in the name
    branches = bd_page.options(bd_page.get_artifacts().results)["branch"]
    every = _update(bd_page, "repay_difficulty", list(branches))
    assert figure_filename(every["branch_figure"]).endswith("-by-branch")
    assert figure_filename(every["province_figure"]).endswith("-by-province")
