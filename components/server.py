"""Server-side hardening of the Flask app under Dash.

``harden(app)`` adds, once:

* security headers on every response: a Content-Security-Policy that Dash works
  under (its inline scripts are allowed by hash, nothing else inline), no
  framing, ``nosniff``, a strict referrer policy; no ``Server`` version banner;
* a request body limit (``AMK_MAX_BODY_KB``, default 256 KiB) -> 413;
* a check of every callback request's shape and target before Dash sees it:
  malformed JSON, unknown outputs, oversize or deeply nested payloads -> 400;
* a check of every callback request's inputs against the callback it names
  (``check_callback_inputs``): the same ids and properties in the same order,
  and each value of the JSON type its property carries (a dropdown's ``value``
  is a string, number or flat list; ``n_clicks`` a count; a URL's ``search`` a
  string ...) -> 400 naming the input.  This is the one place where callback
  inputs are validated, so no callback sees a value of a type it cannot handle;
  values of the right type but not allowed are the callbacks' business
  (``components.params`` falls back to the default with a note);
* a request id on every request (``X-Request-ID``), in the logs and in any error;
* error handlers that turn any unexpected exception into a short message with
  the request id -- never a traceback or a file path in a response; the
  exception itself goes to the error log under ``UNEXPECTED_ERROR`` (the server
  tests count those lines, and callback failures, as failures);
* ``/healthz``: whether the panel and results loaded, and their fingerprints.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from typing import Any

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger("amk.server")

# the first words of the error-log line of an exception no handler expected (tests grep for it)
UNEXPECTED_ERROR = "unexpected error"

CALLBACK_PATH = "/_dash-update-component"
MAX_DEPTH = 12
MAX_ITEMS = 200


def _max_body() -> int:
    try:
        return max(16, int(os.environ.get("AMK_MAX_BODY_KB", "256"))) * 1024
    except ValueError:
        return 256 * 1024


def _depth(obj: Any, level: int = 0) -> int:
    if level > MAX_DEPTH:
        return level
    if isinstance(obj, dict):
        return max([_depth(v, level + 1) for v in obj.values()] or [level + 1])
    if isinstance(obj, list):
        return max([_depth(v, level + 1) for v in obj] or [level + 1])
    return level


def _bad(message: str, status: int = 400) -> Response:
    rid = getattr(g, "request_id", "-")
    log.warning("rejected request %s %s: %s", rid, request.path, message)
    resp = jsonify({"error": message, "request_id": rid})
    resp.status_code = status
    return resp


def check_callback_payload(payload: Any, known_outputs: set[str]) -> str | None:
    """Return a reason to reject a callback payload, or None when its shape is sound.

    Values are not judged here (the callbacks validate them against the allowed
    values); this only keeps junk away from Dash's dispatcher.
    """
    if not isinstance(payload, dict):
        return "the request body must be a JSON object"
    output = payload.get("output")
    if not isinstance(output, str) or output not in known_outputs:
        return "unknown callback output"
    for key in ("inputs", "state"):
        items = payload.get(key, [])
        if not isinstance(items, list) or len(items) > MAX_ITEMS:
            return f"'{key}' must be a list"
        for item in items:
            if isinstance(item, list):  # pattern-matching (ALL) inputs
                if not all(isinstance(i, dict) and "id" in i and "property" in i for i in item):
                    return f"malformed '{key}' entry"
            elif not (isinstance(item, dict) and "id" in item and "property" in item):
                return f"malformed '{key}' entry"
    changed = payload.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(isinstance(c, str) for c in changed):
        return "'changedPropIds' must be a list of strings"
    if _depth(payload) > MAX_DEPTH:
        return "payload is nested too deeply"
    return None


# ------------------------------------------------------------ callback inputs


def _scalar(v: Any) -> bool:
    return v is None or isinstance(v, str | int | float | bool)


def _count(v: Any) -> bool:
    return v is None or (isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**31)


# The JSON values a property of an input may carry, by property name (what Dash's components
# send); a property not listed may carry any JSON value (a dcc.Store's ``data``).
PROPERTY_VALUES: dict[str, tuple[Any, str]] = {
    "value": (
        lambda v: _scalar(v) or (isinstance(v, list) and all(_scalar(i) for i in v)),
        "a string, a number or a list of them",
    ),
    "n_clicks": (_count, "a whole number of clicks"),
    "search": (lambda v: v is None or isinstance(v, str), "a string"),
    "hash": (lambda v: v is None or isinstance(v, str), "a string"),
    "href": (lambda v: v is None or isinstance(v, str), "a string"),
    "clickData": (lambda v: v is None or isinstance(v, dict), "an object"),
    "hoverData": (lambda v: v is None or isinstance(v, dict), "an object"),
    "selectedData": (lambda v: v is None or isinstance(v, dict), "an object"),
}
WILDCARDS = ("ALL", "ALLSMALLER", "MATCH")


def _pattern(declared_id: str) -> dict | None:
    """A pattern-matching id as Dash stores it (``'{"index":["ALL"],"type":"node"}'``), else None."""
    if not declared_id.startswith("{"):
        return None
    try:
        parsed = json.loads(declared_id)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _wild(v: Any) -> bool:
    return isinstance(v, list) and len(v) == 1 and v[0] in WILDCARDS


def _matches_pattern(ident: Any, pattern: dict) -> bool:
    """A concrete dict id fits a pattern: same keys, fixed values equal, wildcards scalar."""
    if not isinstance(ident, dict) or set(ident) != set(pattern):
        return False
    for key, want in pattern.items():
        got = ident[key]
        if _wild(want):
            if not isinstance(got, str | int | float) or isinstance(got, bool):
                return False
        elif got != want:
            return False
    return True


def _check_item(item: Any, declared: dict, where: str, prefix: str) -> str | None:
    prop = declared["property"]
    pattern = _pattern(str(declared["id"]))
    if pattern is not None:
        many = any(_wild(v) and v[0] != "MATCH" for v in pattern.values())
        items = item if many else [item]
        if not isinstance(items, list):
            return f"{where} must be a list of components"
        for one in items:
            if not (isinstance(one, dict) and _matches_pattern(one.get("id"), pattern)):
                return f"{where} does not name a component this callback listens to"
            if one.get("property") != prop:
                return f"{where} must be the property '{prop}'"
            reason = _check_value(one.get("value"), prop, where, prefix)
            if reason:
                return reason
        return None
    if not isinstance(item, dict) or item.get("id") != declared["id"]:
        return f"{where} must be the component '{declared['id']}'"
    if item.get("property") != prop:
        return f"{where} must be the property '{prop}'"
    return _check_value(item.get("value"), prop, where, prefix)


def _check_value(value: Any, prop: str, where: str, prefix: str = "/") -> str | None:
    if prop == "pathname":  # a browser's path always starts with the app's prefix
        rule = (
            lambda v: v is None or (isinstance(v, str) and v.startswith(prefix)),
            f"a path starting with '{prefix}'",
        )
    else:
        rule = PROPERTY_VALUES.get(prop)
    if rule and not rule[0](value):
        return f"the value of {where} must be {rule[1]}"
    return None


def _changed_ok(prop_id: str, declared: list[dict]) -> bool:
    ident, _, prop = prop_id.rpartition(".")
    for d in declared:
        if d["property"] != prop:
            continue
        pattern = _pattern(str(d["id"]))
        if pattern is None and ident == d["id"]:
            return True
        if pattern is not None and ident.startswith("{"):
            try:
                parsed = json.loads(ident)
            except ValueError:
                return False
            if _matches_pattern(parsed, pattern):
                return True
    return False


def _output_specs(key: str) -> list[str]:
    """Dash's output key -> its ``id.property`` parts (``..a.x...b.y..`` for several)."""
    if key.startswith("..") and key.endswith(".."):
        return key[2:-2].split("...")
    return [key]


def _check_outputs(outputs: Any, key: str) -> str | None:
    """``outputs`` as the renderer sends it: one {id, property} for a single output, else
    a list of them in the order of the callback's outputs."""
    specs = _output_specs(key)
    items = outputs if key.startswith("..") else [outputs]
    if not isinstance(items, list) or len(items) != len(specs):
        return f"'outputs' must list the callback's {len(specs)} output(s)"
    for item, spec in zip(items, specs, strict=True):
        if not isinstance(item, dict):
            return "'outputs' must list the callback's outputs (id and property)"
        ident, prop = item.get("id"), item.get("property")
        if spec.startswith("{"):  # a pattern-matching output: its id is an object
            ok = isinstance(ident, dict) and isinstance(prop, str)
        else:
            # allow_duplicate outputs carry '@<hash>' after the property
            ok = isinstance(prop, str) and f"{ident}.{prop.split('@')[0]}" == spec.split("@")[0]
        if not ok:
            return f"'outputs' must name the callback's output '{spec.split('@')[0]}'"
    return None


def check_callback_inputs(payload: dict, callback: dict, path_prefix: str = "/") -> str | None:
    """Return a reason to reject a callback request whose inputs do not fit the callback.

    ``callback`` is the callback's entry in Dash's ``callback_map`` (its declared
    ``inputs`` and ``state``).  Checked: the number of inputs and states, each one's
    component id and property (for pattern-matching inputs, ids that fit the
    pattern), each value's JSON type by property (``PROPERTY_VALUES``; a Location's
    ``pathname`` must start with ``path_prefix``, Dash's ``requests_pathname_prefix``)
    and that ``changedPropIds`` names only inputs of this callback; ``outputs``, when
    sent, must name the callback's outputs.  ``check_callback_payload``
    runs first (the payload is an object with well-formed lists).

    >>> cb = {"inputs": [{"id": "m", "property": "value"}], "state": []}
    >>> check_callback_inputs({"inputs": [{"id": "m", "property": "value", "value": "did"}]}, cb)
    >>> check_callback_inputs({"inputs": [{"id": "m", "property": "value", "value": {"a": 1}}]}, cb)
    'the value of input 1 (m.value) must be a string, a number or a list of them'
    """
    for key, word in (("inputs", "input"), ("state", "state")):
        declared = callback.get(key, [])
        items = payload.get(key, [])
        if len(items) != len(declared):
            return f"this callback takes {len(declared)} {word}(s), the request sent {len(items)}"
        for n, (item, decl) in enumerate(zip(items, declared, strict=True), start=1):
            where = f"{word} {n} ({decl['id']}.{decl['property']})"
            reason = _check_item(item, decl, where, path_prefix)
            if reason:
                return reason
    if "outputs" in payload:
        reason = _check_outputs(payload["outputs"], str(payload.get("output", "")))
        if reason:
            return reason
    changed = payload.get("changedPropIds", [])
    if not all(_changed_ok(c, callback.get("inputs", [])) for c in changed):
        return "'changedPropIds' names a property that is not an input of this callback"
    return None


def security_headers(csp_hashes: list[str]) -> dict[str, str]:
    script_src = " ".join(["'self'", *(f"'{h.strip(chr(39))}'" for h in csp_hashes)])
    csp = (
        "default-src 'self'; "
        f"script-src {script_src}; "
        "style-src 'self' 'unsafe-inline'; "  # plotly and Dash set inline styles
        "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )
    return {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    }


def harden(app, health: callable) -> Flask:
    """Attach headers, limits, payload checks, error handlers and ``/healthz`` to a Dash app.

    ``health`` returns the JSON-able health dict (and whether the app is healthy).
    """
    server: Flask = app.server
    server.config["MAX_CONTENT_LENGTH"] = _max_body()
    server.config["PROPAGATE_EXCEPTIONS"] = False
    headers_cache: dict[str, dict[str, str]] = {}

    def headers() -> dict[str, str]:
        if "h" not in headers_cache:
            try:
                hashes = app.csp_hashes()
            except Exception:  # noqa: BLE001 - before the first request the layout may not be ready
                hashes = []
            headers_cache["h"] = security_headers(hashes)
        return headers_cache["h"]

    @server.before_request
    def _before():
        g.request_id = request.headers.get("X-Request-ID", "")[:64] or uuid.uuid4().hex[:16]
        if request.path == CALLBACK_PATH and request.method == "POST":
            length = request.content_length or 0
            if length > server.config["MAX_CONTENT_LENGTH"]:
                return _bad("request body too large", 413)
            try:
                payload = json.loads(request.get_data(cache=True) or b"null")
            except (ValueError, UnicodeDecodeError):
                return _bad("the request body is not valid JSON")
            known = {k for k, v in app.callback_map.items() if "callback" in v}  # server-side only
            reason = check_callback_payload(payload, known) or check_callback_inputs(
                payload,
                app.callback_map[payload["output"]],
                app.config.requests_pathname_prefix or "/",
            )
            if reason:
                return _bad(reason)
        return None

    @server.after_request
    def _after(resp: Response) -> Response:
        for k, v in headers().items():
            resp.headers.setdefault(k, v)
        resp.headers["X-Request-ID"] = getattr(g, "request_id", "-")
        resp.headers.pop("Server", None)
        return resp

    @server.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        rid = getattr(g, "request_id", "-")
        if request.path.startswith("/_dash") or request.is_json:
            resp = jsonify({"error": exc.name, "request_id": rid})
            resp.status_code = exc.code or 500
            return resp
        body = f"{exc.code} {exc.name}. Request id {rid}."
        return Response(body, status=exc.code or 500, mimetype="text/plain")

    @server.errorhandler(Exception)
    def _unexpected(exc: Exception):
        rid = getattr(g, "request_id", "-")
        log.exception("%s, request %s %s", UNEXPECTED_ERROR, rid, request.path)
        if request.path == CALLBACK_PATH:
            # every payload was checked before Dash saw it, so this is a fault of ours: a 500
            # (the callbacks' own exceptions are caught by components.errors.on_callback_error)
            return _bad("the view could not be updated", 500)
        body = f"Something went wrong on our side. Request id {rid}."
        return Response(body, status=500, mimetype="text/plain")

    @server.route("/healthz")
    def _healthz():
        info, healthy = health()
        resp = jsonify(info)
        resp.status_code = 200 if healthy else 503
        resp.headers["Cache-Control"] = "no-store"
        return resp

    return server
