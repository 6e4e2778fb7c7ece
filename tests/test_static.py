"""Static blocks (components/static.py): a tree of dash.html components sent as one component
whose markup a browser parses back into the same tree, text and attributes escaped."""

from __future__ import annotations

import datetime as dt
import json
import re
from html.parser import HTMLParser

import numpy as np
import pytest
from app_fixtures import *  # noqa: F403  (session fixtures: artefacts, app)
from app_fixtures import text_of
from dash import dcc, html
from plotly.io.json import to_json_plotly

from components.static import MARKUP, Static, StaticSpan, to_html

NASTY = '<script>alert("x")</script> & <b>bold</b> "quoted" \'single\''


class _Tree(HTMLParser):
    """The standard library's HTML parser, building (tag, attrs, children) nodes: an
    independent reading of the markup, as a browser's would be."""

    VOID = {"br", "hr", "img", "wbr", "col"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = ("root", {}, [])
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        node = (tag, dict(attrs), [])
        self.stack[-1][2].append(node)
        if tag not in self.VOID:
            self.stack.append(node)

    def handle_endtag(self, tag):
        assert self.stack[-1][0] == tag, f"</{tag}> closes <{self.stack[-1][0]}>"
        self.stack.pop()

    def handle_data(self, data):
        self.stack[-1][2].append(data)


def parse(markup: str):
    p = _Tree()
    p.feed(markup)
    p.close()
    assert len(p.stack) == 1, "an element is left open"
    return p.root[2]


def text(nodes) -> str:
    return "".join(n if isinstance(n, str) else text(n[2]) for n in nodes)


def tags(nodes) -> list[str]:
    return [t for n in nodes if not isinstance(n, str) for t in [n[0], *tags(n[2])]]


def test_markup_reads_back_as_the_same_tree_with_text_escaped():
    tree = html.Table(
        [
            html.Caption(NASTY),
            html.Tbody(
                html.Tr(
                    [
                        html.Th("Baray", scope="row", colSpan=2),
                        html.Td(
                            [html.Span("▲", **{"aria-hidden": "true"}), " 0.12", html.Br()],
                            className="where-cell x",
                            title=NASTY,
                            style={"borderColor": "#123456", "fontWeight": 600},
                            **{"data-label": 'p "alone"', "aria-label": "a < b"},
                        ),
                        html.Td(3.5),
                    ]
                )
            ),
        ],
        className="table",
    )
    nodes = parse(to_html(tree))
    # no element the text could have smuggled in
    assert tags(nodes) == ["table", "caption", "tbody", "tr", "th", "td", "span", "br", "td"]
    assert text(nodes) == "".join(
        [NASTY, "Baray", "▲", " 0.12", "3.5"]
    )  # every text node, in order, unescaped by the parser as by a browser
    table = nodes[0]
    assert table[1] == {"class": "table"}
    th, td, _ = table[2][1][2][0][2]
    assert th[1] == {"scope": "row", "colspan": "2"}
    assert td[1] == {
        "class": "where-cell x",
        "title": NASTY,
        "style": "border-color: #123456; font-weight: 600",
        "data-label": 'p "alone"',
        "aria-label": "a < b",
    }
    assert td[2][0] == ("span", {"aria-hidden": "true"}, ["▲"])


def test_a_static_block_is_sent_as_one_component_and_reads_as_its_tree_in_python():
    inner = html.Table(html.Tbody(html.Tr([html.Td("a"), html.Td(NASTY)])))
    block = Static(inner, className="table-responsive", id="t", tabIndex=0, role="region")
    sent = json.loads(to_json_plotly(block))
    assert sent["type"] == "Div" and sent["namespace"] == "dash_html_components"
    assert "children" not in sent["props"]
    assert {k: v for k, v in sent["props"].items() if k != MARKUP} == {
        "className": "table-responsive",
        "id": "t",
        "tabIndex": 0,
        "role": "region",
    }
    assert text(parse(sent["props"][MARKUP])) == "a" + NASTY
    # in Python the block is still the tree (tests and helpers walk it as before)
    assert text_of(block) == "a " + NASTY


@pytest.mark.parametrize(
    ("inside", "error", "words"),
    [
        (dcc.Graph(figure={}), TypeError, "dash.html components and text only, not Graph"),
        (html.Script("alert(1)"), TypeError, "does not write Script elements"),
        (html.Span("x", id={"type": "cell", "i": 1}), ValueError, "no callback can reach it"),
        (html.A("x", href="javascript:alert(1)"), ValueError, "links to 'javascript:alert(1)'"),
        (html.A("x", href="//evil.example/"), ValueError, "links to '//evil.example/'"),
        (html.A("x", href="/\\evil.example/"), ValueError, "links to"),
        (html.A("x", href=" javascript:alert(1)"), ValueError, "links to"),
        (html.Span("x", contentEditable="true"), ValueError, "'contentEditable'"),
        # a wildcard name that would break out of the attribute, or the block's own attribute
        (html.Td(**{'data-x="1" onmouseover="alert(1)" y': "z"}), ValueError, "attribute name"),
        (html.Td(**{MARKUP: "<b id=pwn>x</b>"}), ValueError, "attribute name"),
        # a style value that would add declarations, or load something
        (html.Span(style={"color": "red; position: fixed; inset: 0"}), ValueError, "style"),
        (html.Span(style={"background": "url(/x)"}), ValueError, "style"),
        (html.Br(children="x"), ValueError, "cannot have children"),
        (html.Td(object()), TypeError, "cannot write the object"),
    ],
)
def test_what_static_markup_cannot_keep_is_refused_by_name_where_the_block_is_made(
    inside, error, words
):
    with pytest.raises(error, match=re.escape(words)):
        Static(html.Div(inside))


# what JavaScript's String(v) printed for these numbers (node 20, 2026-12-01): React writes a
# number child that way
JS_STRINGS = {
    3.0: "3", 1e-5: "0.00001", 0.1: "0.1", 1.5e-8: "1.5e-8", 1e22: "1e+22",
    12345.678: "12345.678", -0.00012: "-0.00012", 1.234e-6: "0.000001234",
    2.5e20: "250000000000000000000", 1e16 + 2: "10000000000000002", -3.5e-7: "-3.5e-7",
    123456789012345680000.0: "123456789012345680000", 9007199254740993.0: "9007199254740992",
    1e21: "1e+21", 5e-324: "5e-324", -1.7976931348623157e308: "-1.7976931348623157e+308",
}  # fmt: skip


def test_values_are_written_as_react_writes_them():
    for v, js in JS_STRINGS.items():
        assert to_html(html.Td(v)) == f"<td>{js}</td>", v
    # React writes nothing for None, booleans and NaN (Dash sends NaN as null)
    assert to_html(html.Td([None, True, False, float("nan"), "x"])) == "<td>x</td>"
    assert to_html(html.Td([np.int64(7), " ", np.float64(0.5)])) == "<td>7 0.5</td>"
    assert to_html(html.Td(dt.date(2019, 3, 1))) == "<td>2019-03-01</td>"
    # a style number gets px unless the property has no unit; aria booleans are words
    got = parse(
        to_html(
            html.Span(
                "x",
                style={"width": 10, "fontWeight": 600, "marginTop": 0, "color": None},
                hidden=True,
                **{"aria-hidden": True, "aria-expanded": False},
            )
        )
    )
    assert got == [
        (
            "span",
            {
                "style": "width: 10px; font-weight: 600; margin-top: 0",
                "hidden": None,
                "aria-hidden": "true",
                "aria-expanded": "false",
            },
            ["x"],
        )
    ]


def test_links_string_ids_and_blocks_in_blocks_are_kept():
    nodes = parse(to_html(html.P([html.A("docs", href="/methods#mde", target="_blank"), 7])))
    assert nodes == [
        ("p", {}, [("a", {"href": "/methods#mde", "target": "_blank"}, ["docs"]), "7"])
    ]
    # a string id is the element's HTML id (an aria-labelledby may point at it)
    assert parse(to_html(html.H2("AMK", id="profile-title"))) == [
        ("h2", {"id": "profile-title"}, ["AMK"])
    ]
    # a block inside a block is written as its tag; a span block stands where a div may not
    sent = json.loads(to_json_plotly(StaticSpan([html.B("x"), Static("y", className="c")])))
    assert sent["type"] == "Span"
    assert parse(sent["props"][MARKUP]) == [("b", {}, ["x"]), ("div", {"class": "c"}, ["y"])]


COMPONENTS_PER_TABLE = ("Table", "Thead", "Tbody", "Tr", "Td", "Th", "Caption")


def _types(layout) -> list[str]:
    if isinstance(layout, dict):
        own = [layout["type"]] if "namespace" in layout and "type" in layout else []
        return own + [t for v in layout.values() for t in _types(v)]
    if isinstance(layout, list):
        return [t for v in layout for t in _types(v)]
    return []


@pytest.mark.parametrize("path", ["/", "/effects", "/breakdowns", "/results-chain", "/methods"])
def test_every_page_sends_its_tables_as_markup_not_as_components(dash_app, path):
    client = dash_app.server.test_client()
    got = client.get("/_dash-layout", headers={"Referer": "http://localhost" + path})
    assert got.status_code == 200
    layout = got.get_json()
    types = _types(layout)
    assert not set(types) & set(COMPONENTS_PER_TABLE), path
    markup = [m for m in _find(layout, MARKUP)]
    tables = [m for m in markup if "table" in tags(parse(m))]
    assert tables, path
    assert all("td" in tags(parse(m)) or "th" in tags(parse(m)) for m in tables)


def _find(layout, key):
    if isinstance(layout, dict):
        if key in layout:
            yield layout[key]
        for v in layout.values():
            yield from _find(v, key)
    elif isinstance(layout, list):
        for v in layout:
            yield from _find(v, key)


def _elements(nodes, cls):
    for n in nodes:
        if isinstance(n, str):
            continue
        if cls in n[1].get("class", "").split():
            yield n
        yield from _elements(n[2], cls)


@pytest.mark.parametrize("path", ["/", "/effects", "/breakdowns", "/results-chain", "/methods"])
def test_terms_arrive_as_markup_with_their_explanation(dash_app, path):
    """A term's (?) is markup inside a static block, not three components (a span, the (?)
    and a Bootstrap tooltip): it carries the glossary's sentence in data-tip, which
    assets/tooltips.js shows, and in its label, which a screen reader reads."""
    from components.layout import GLOSSARY

    client = dash_app.server.test_client()
    layout = client.get("/_dash-layout", headers={"Referer": "http://localhost" + path}).get_json()
    assert "Tooltip" not in _types(layout), path
    helps = [h for m in _find(layout, MARKUP) for h in _elements(parse(m), "term-help")]
    assert helps, path
    for _tag, attrs, kids in helps:
        key = attrs["id"].rsplit("-tip-", 1)[1]
        assert key in GLOSSARY
        assert kids == ["?"]
        assert attrs["role"] == "button" and attrs["tabindex"] == "0"
        # the study's nouns are filled in: no {placeholder} is left
        assert attrs["data-tip"] and "{" not in attrs["data-tip"]
        assert attrs["aria-label"].endswith("? " + attrs["data-tip"])
