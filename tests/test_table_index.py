"""The look-ups indexed once per results table (components.views: ``cell_rows``,
``outcome_rows``, ``outcome_meta``) return exactly the rows a boolean filter over the whole
table returns, for every key the table has."""

from __future__ import annotations

import pandas as pd
from app_fixtures import *  # noqa: F403  (session fixtures: artefacts, app)

from components.views import cell_rows, outcome_meta, outcome_rows, per_table, per_table_key


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


def test_per_table_key_keeps_values_per_table_and_key_and_drops_the_oldest():
    cache: dict = {}
    a, b = pd.DataFrame({"x": [1]}), pd.DataFrame({"x": [1]})
    built = []

    def make(v):
        built.append(v)
        return v

    assert per_table_key(cache, a, "k1", lambda: make("a1"), keep=2) == "a1"
    assert per_table_key(cache, a, "k1", lambda: make("again"), keep=2) == "a1"
    assert per_table_key(cache, b, "k1", lambda: make("b1"), keep=2) == "b1"  # another table
    per_table_key(cache, a, "k2", lambda: make("a2"), keep=2)
    per_table_key(cache, a, "k3", lambda: make("a3"), keep=2)  # k1 of a is now dropped
    assert per_table_key(cache, a, "k1", lambda: make("a1 again"), keep=2) == "a1 again"
    assert per_table_key(cache, b, "k1", lambda: make("b1 again"), keep=2) == "b1"
    assert built == ["a1", "b1", "a2", "a3", "a1 again"]
