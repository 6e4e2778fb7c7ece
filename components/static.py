"""Static blocks: a tree of plain HTML components sent to the browser as one component.

Dash's renderer (4.x) pays for every component on a page on every update of its store:
each new component resets its state once, and every component then looks itself up in the
layout again, so a page of N components costs about N x N look-ups when it appears and a
table of k components costs k x N when a filter replaces it (issue 12, README "Why
components cost").  A results table of 12 rows is about 100 components; none of them ever
changes alone or takes a callback.

:class:`Static` is an ``html.Div`` whose children are plain ``dash.html`` components (a
table, its cells, badges, links).  In Python it is an ordinary component tree: a test walks
its ``children`` as before.  Sent to the browser it is **one** ``div`` whose
``data-static-html`` attribute (:data:`MARKUP`) holds the children written out as HTML
(:func:`to_html`); a small script (``assets/static_html.js``) writes that HTML into the div
when it appears or changes.  The page's DOM is the same as if each child were a component.
The children are written when the block is made, so a child the block cannot write raises
where the layout is built, inside the page's error handling.

What a static block may hold (anything else raises ``TypeError``/``ValueError``, naming the
component):

* components of ``dash.html`` only, of the tags in ``_TAG_NAMES`` (no ``dcc``, no
  Bootstrap components, whose markup is made in the browser; no script, frame or form);
* no pattern-matching (dict) ``id`` inside the block: Dash does not know the elements of a
  block, so no callback can reach them.  A string ``id`` is written as the element's HTML
  id, for what HTML itself uses it for (an ``aria-labelledby``, a link's fragment);
* links to ``http(s):``, ``mailto:``, a path on this site or a fragment only;
* ``data-*``/``aria-*`` names of letters, digits and ``-_.`` (not :data:`MARKUP`); style
  keys of letters, and style values without ``;``, braces or ``url(``.

Text and attribute values are escaped (:func:`html.escape`), so a study's labels cannot
inject markup.  Values are written as React writes them: numbers as JavaScript prints them,
a style's number in ``px`` unless the property has no unit, ``True``/``False``/``None``/NaN
as nothing, dates in ISO form, and ``aria-*``/``data-*`` booleans as ``"true"``/``"false"``.
Inline ``style`` is allowed by the app's Content-Security-Policy (``style-src
'unsafe-inline'``, as plotly and Dash need); no script is written.

A callback must not write a block's ``children`` (the script would keep the old markup
beside the new): it replaces the block, or the block's parent (``tests/test_delivery.py``
checks every callback).
"""

from __future__ import annotations

import datetime as _dt
import html as _html
import math
import re
from typing import Any

from dash import html
from dash.development.base_component import Component

# the attribute the browser's script reads (assets/static_html.js); nothing else may set it
MARKUP = "data-static-html"
_HTML_NAMESPACE = "dash_html_components"
# the tags a block may hold (Dash's names)
_TAG_NAMES = {
    "A", "Abbr", "B", "Blockquote", "Br", "Caption", "Cite", "Code", "Col", "Colgroup",
    "Dd", "Del", "Details", "Dfn", "Div", "Dl", "Dt", "Em", "Figcaption", "Figure",
    "H1", "H2", "H3", "H4", "H5", "H6", "Hr", "I", "Ins", "Kbd", "Li", "Mark", "Ol", "P",
    "Pre", "Q", "S", "Samp", "Section", "Small", "Span", "Strong", "Sub", "Summary", "Sup",
    "Table", "Tbody", "Td", "Tfoot", "Th", "Thead", "Time", "Tr", "U", "Ul", "Wbr",
}  # fmt: skip
# Dash's (React's) prop names -> HTML attribute names; the rest are written lower-case
# when they are in _ATTRIBUTES
_RENAMED = {"className": "class", "htmlFor": "for", "tabIndex": "tabindex"}
_ATTRIBUTES = {
    "title", "role", "scope", "colspan", "rowspan", "href", "target", "rel", "lang", "dir",
    "hidden", "headers", "abbr", "open", "datetime", "width", "height", "span",
    "tabindex", "class", "id", "cite", "start", "reversed", "value",
}  # fmt: skip
_BOOLEAN = {"hidden", "open", "reversed"}
# props every html component has that say nothing in static markup
_IGNORED = {"n_clicks", "n_clicks_timestamp", "disable_n_clicks", "key", "loading_state"}
_VOID = {"br", "hr", "wbr", "col"}
# http(s), mailto, a fragment, or a path on this site (not "//host" nor "/\host")
_SAFE_URL = re.compile(r"^(https?:|mailto:|#|\./|/(?![/\\]))", re.IGNORECASE)
_WILDCARD = re.compile(r"^(data|aria)-[A-Za-z0-9_.-]+$")
_STYLE_KEY = re.compile(r"^[A-Za-z]+$")
_STYLE_BAD = re.compile(r"[;{}]|url\(", re.IGNORECASE)
# React writes these style numbers without a unit (the others get "px")
_UNITLESS = {
    "flex", "flexGrow", "flexShrink", "fontWeight", "lineHeight", "opacity", "order",
    "orphans", "widows", "zIndex", "zoom", "gridRow", "gridColumn", "columnCount",
}  # fmt: skip


def _kebab(name: str) -> str:
    return re.sub(r"[A-Z]", lambda m: "-" + m.group(0).lower(), name)


def _number(v: float) -> str | None:
    """A float as JavaScript's ``String(v)`` prints it; None for NaN and infinities (Dash
    sends them as null, which React does not write)."""
    if not math.isfinite(v):
        return None
    if v.is_integer() and abs(v) < 2**53:
        return str(int(v))
    text = repr(v)  # the shortest digits that read back as v, as JavaScript's
    if "e" not in text:
        return text.removesuffix(".0")
    digits, _, exp = text.partition("e")
    if not 1e-6 <= abs(v) < 1e21:  # JavaScript keeps the exponent, without leading zeros
        return f"{digits}e{'-' if exp.startswith('-') else '+'}{int(exp.lstrip('+-'))}"
    sign = "-" if digits.startswith("-") else ""
    whole, _, frac = digits.lstrip("-").partition(".")
    mantissa, point = whole + frac, len(whole) + int(exp)
    if point <= 0:
        return f"{sign}0.{'0' * -point}{mantissa}"
    if point >= len(mantissa):
        return sign + mantissa + "0" * (point - len(mantissa))
    return f"{sign}{mantissa[:point]}.{mantissa[point:]}"


def _value(v: Any) -> str | None:
    """A value as React writes it: None, booleans and NaN as nothing (None)."""
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, str):
        return v
    if hasattr(v, "item") and callable(v.item):  # a numpy scalar
        return _value(v.item())
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return _number(v)
    if isinstance(v, _dt.date | _dt.time):
        return v.isoformat()
    raise TypeError(f"a static block cannot write the {type(v).__name__} {v!r}")


def _style(style: dict, where: str) -> str:
    parts = []
    for key, value in style.items():
        text = _value(value)
        if text is None or text == "":
            continue
        if not _STYLE_KEY.match(str(key)) or _STYLE_BAD.search(text):
            raise ValueError(f"{where} has the style {key!r}: {value!r}, which it cannot write")
        if not isinstance(value, str) and key not in _UNITLESS and text != "0":
            text += "px"
        parts.append(f"{_kebab(key)}: {text}")
    return "; ".join(parts)


def _attributes(c: Component) -> str:
    where = f"{c._type} in a static block"
    out = []
    # the component's own props (a block inside a block is written as any other element)
    for key, value in Component.to_plotly_json(c)["props"].items():
        if key == "children" or key in _IGNORED or value is None:
            continue
        if key == "id" and not isinstance(value, str):
            raise ValueError(f"{where} has the id {value!r}: no callback can reach it")
        if key == "style":
            text = _style(value, where)
            if text:
                out.append(f' style="{_html.escape(text)}"')
            continue
        if key.startswith(("data-", "aria-")):
            if not _WILDCARD.match(key) or key == MARKUP:
                raise ValueError(f"{where} has the attribute name {key!r}, which it cannot write")
            text = ("true" if value else "false") if isinstance(value, bool) else _value(value)
            if text is not None:
                out.append(f' {key}="{_html.escape(text, quote=True)}"')
            continue
        name = _RENAMED.get(key, key).lower()
        if name not in _ATTRIBUTES:
            raise ValueError(f"{where} has the property {key!r}, which static markup cannot keep")
        if name in _BOOLEAN:
            if value:
                out.append(f" {name}")
            continue
        text = _value(value)
        if text is None:
            continue
        if name == "href" and not _SAFE_URL.match(text):
            raise ValueError(f"{where} links to {text!r}: only http(s), mailto and this site")
        out.append(f' {name}="{_html.escape(text, quote=True)}"')
    return "".join(out)


def to_html(node: Any) -> str:
    """``node`` (a ``dash.html`` component, text, a number, a list of them, or None) as
    HTML; text escaped."""
    if isinstance(node, list | tuple):
        return "".join(to_html(n) for n in node)
    if isinstance(node, Component):
        if node._namespace != _HTML_NAMESPACE:
            raise TypeError(
                f"a static block holds dash.html components and text only, not {node._type}"
            )
        if node._type not in _TAG_NAMES:
            raise TypeError(f"a static block does not write {node._type} elements")
        tag = node._type.lower()
        attrs = _attributes(node)
        kids = getattr(node, "children", None)
        if tag in _VOID:
            if kids not in (None, [], ()):
                raise ValueError(f"{node._type} in a static block cannot have children")
            return f"<{tag}{attrs}>"
        return f"<{tag}{attrs}>{to_html(kids)}</{tag}>"
    text = _value(node)
    return "" if text is None else _html.escape(text, quote=False)


def _own_props(block: Component) -> dict:
    plain = Component.to_plotly_json(block)["props"]
    return {k: v for k, v in plain.items() if k not in ("children", MARKUP)}


class _Static:
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        kids = getattr(self, "children", None)
        self._written = (kids, to_html(kids))  # (the children written, their markup)

    def _markup(self) -> str:
        kids = getattr(self, "children", None)
        if kids is not self._written[0]:  # children replaced since the block was made
            self._written = (kids, to_html(kids))
        return self._written[1]

    def to_plotly_json(self):
        props = _own_props(self)
        props[MARKUP] = self._markup()
        return {"props": props, "type": self._type, "namespace": self._namespace}


class Static(_Static, html.Div):
    """A ``div`` whose children (``dash.html`` components and text) reach the browser as one
    component: their HTML in ``data-static-html`` (see the module).  Takes what
    ``html.Div`` takes; the ``id``, class and attributes are the div's own."""


class StaticSpan(_Static, html.Span):
    """:class:`Static` as a ``span``, for where a ``div`` may not stand (in a button)."""
