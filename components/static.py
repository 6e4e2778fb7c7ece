"""Static blocks: a tree of plain HTML components sent to the browser as one component.

Dash's renderer (4.x) pays for every component on a page on every update of its store:
each new component resets its state once, and every component then looks itself up in the
layout again, so a page of N components costs about N x N look-ups when it appears and a
table of k components costs k x N when a filter replaces it (issue 12, README "Why
components cost").  A results table of 12 rows is about 100 components; none of them ever
changes alone or takes a callback.

:class:`Static` is an ``html.Div`` whose children are plain ``dash.html`` components (a
table, its cells, badges, links).  In Python it is an ordinary component tree: a test walks
its ``children`` as before.  Sent to the browser it is **one** ``div`` whose ``data-html``
attribute holds the children written out as HTML (:func:`to_html`); a small script
(``assets/static_html.js``) writes that HTML into the div when it appears or changes.  The
page's DOM is the same as if each child were a component.

What a static block may hold (anything else raises ``TypeError``/``ValueError`` when the
block is sent, naming the component):

* components of ``dash.html`` only (no ``dcc``, no Bootstrap components: their markup is
  made in the browser);
* no pattern-matching (dict) ``id`` inside the block: Dash does not know the elements of a
  block, so no callback can reach them.  A string ``id`` is written as the element's HTML
  id, for what HTML itself uses it for (an ``aria-labelledby``, a link's fragment);
* links to ``http(s):``, ``mailto:``, a path or a fragment only.

Text and attribute values are escaped (:func:`html.escape`), so a study's labels cannot
inject markup.  Inline ``style`` is allowed by the app's Content-Security-Policy
(``style-src 'unsafe-inline'``, as plotly and Dash need); scripts are not written.
"""

from __future__ import annotations

import html as _html
import re
from typing import Any

from dash import html
from dash.development.base_component import Component

_HTML_NAMESPACE = "dash_html_components"
# Dash's names that are not the tag's name
_TAGS = {"MapEl": "map", "ObjectEl": "object"}
# Dash's (React's) prop names -> HTML attribute names; other props are written lower-case
# when they are in _ATTRIBUTES
_RENAMED = {"className": "class", "htmlFor": "for", "tabIndex": "tabindex"}
_ATTRIBUTES = {
    "title", "role", "scope", "colspan", "rowspan", "href", "target", "rel", "lang", "dir",
    "hidden", "headers", "abbr", "open", "datetime", "width", "height", "alt", "src",
    "tabindex", "class", "for", "download", "id",
}  # fmt: skip
# props every html component has that say nothing in static markup
_IGNORED = {"n_clicks", "n_clicks_timestamp", "disable_n_clicks", "key", "loading_state"}
_VOID = {"br", "hr", "img", "wbr", "col"}
_SAFE_URL = re.compile(r"^(https?:|mailto:|/|#|\.)", re.IGNORECASE)


def _kebab(name: str) -> str:
    return re.sub(r"[A-Z]", lambda m: "-" + m.group(0).lower(), name)


def _style(style: dict) -> str:
    return "; ".join(f"{_kebab(k)}: {v}" for k, v in style.items() if v is not None)


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
            text = _style(value)
            if text:
                out.append(f' style="{_html.escape(text)}"')
            continue
        name = _RENAMED.get(key, key)
        if not (name.lower() in _ATTRIBUTES or name.startswith(("data-", "aria-"))):
            raise ValueError(f"{where} has the property {key!r}, which static markup cannot keep")
        name = name.lower() if not name.startswith(("data-", "aria-")) else name
        if name in ("href", "src") and not _SAFE_URL.match(str(value)):
            raise ValueError(f"{where} links to {value!r}: only http(s), mailto and paths")
        if value is True:
            out.append(f" {name}")
        elif value is not False:
            out.append(f' {name}="{_html.escape(str(value), quote=True)}"')
    return "".join(out)


def to_html(node: Any) -> str:
    """``node`` (a ``dash.html`` component, text, a number, a list of them, or None) as
    HTML; text escaped."""
    if node is None:
        return ""
    if isinstance(node, str):
        return _html.escape(node, quote=False)
    if isinstance(node, bool):
        raise TypeError("True/False in a static block: write the text instead")
    if isinstance(node, int | float):
        return _html.escape(str(node), quote=False)
    if isinstance(node, list | tuple):
        return "".join(to_html(n) for n in node)
    if not isinstance(node, Component) or node._namespace != _HTML_NAMESPACE:
        raise TypeError(
            f"a static block holds dash.html components and text only, not {type(node).__name__}"
        )
    tag = _TAGS.get(node._type, node._type.lower())
    attrs = _attributes(node)
    if tag in _VOID:
        return f"<{tag}{attrs}>"
    return f"<{tag}{attrs}>{to_html(getattr(node, 'children', None))}</{tag}>"


def _own_props(block: _Static) -> dict:
    plain = Component.to_plotly_json(block)["props"]
    return {k: v for k, v in plain.items() if k != "children"}


class _Static:
    def to_plotly_json(self):
        props = _own_props(self)
        props["data-html"] = to_html(getattr(self, "children", None))
        return {"props": props, "type": self._type, "namespace": self._namespace}


class Static(_Static, html.Div):
    """A ``div`` whose children (``dash.html`` components and text) reach the browser as one
    component: their HTML in ``data-html`` (see the module).  Takes what ``html.Div``
    takes; the ``id``, class and attributes are the div's own."""


class StaticSpan(_Static, html.Span):
    """:class:`Static` as a ``span``, for where a ``div`` may not stand (in a button)."""
