"""The look-ups indexed once per results table (components.views: ``cell_rows``,
``outcome_rows``, ``outcome_meta``) return exactly the rows a boolean filter over the whole
table returns, for every key the table has."""

from __future__ import annotations

import pandas as pd
from app_fixtures import *  # noqa: F403  (session fixtures: artefacts, app)

from components.views import cell_rows, outcome_meta, outcome_rows, per_table


def _results():
    from components.store import get_artifacts

    return get_artifacts().results


def test_cell_rows_are_the_filtered_rows(dash_app):
    res = _results()
    keys = ["outcome", "method", "wave", "inference", "sample_type"]
    cells = res[keys].drop_duplicates()
    assert len(cells) > 500
    for o, m, w, i, t in cells.itertuples(index=False):
        want = res[
            (res["outcome"] == o)
            & (res["method"] == m)
            & (res["wave"] == w)
            & (res["inference"] == i)
            & (res["sample_type"] == t)
        ]
        pd.testing.assert_frame_equal(cell_rows(res, o, m, w, i, t), want)
    assert cell_rows(res, "no such outcome", "did", 2, "wild", "all").empty


def test_outcome_rows_and_meta_are_the_filtered_rows(dash_app):
    res = _results()
    for o, w, t in (
        res[["outcome", "wave", "sample_type"]].drop_duplicates().itertuples(index=False)
    ):
        want = res[(res["outcome"] == o) & (res["wave"] == w) & (res["sample_type"] == t)]
        pd.testing.assert_frame_equal(outcome_rows(res, o, w, t), want)
    for o in res["outcome"].unique():
        pd.testing.assert_series_equal(outcome_meta(res, o), res.loc[res["outcome"] == o].iloc[0])
    assert outcome_rows(res, "no such outcome", 2, "all").empty


def test_per_table_keeps_one_value_per_table_object():
    cache: dict = {}
    a = pd.DataFrame({"x": [1, 2]})
    b = a.copy()  # equal, but another table
    assert per_table(cache, a, lambda: "a") == "a"
    assert per_table(cache, a, lambda: "again") == "a"
    assert per_table(cache, b, lambda: "b") == "b"
