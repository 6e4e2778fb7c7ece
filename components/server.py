"""Server-side hardening of the Flask app under Dash.

``harden(app)`` adds, once:

* security headers on every response: a Content-Security-Policy that Dash works
  under (its inline scripts are allowed by hash, nothing else inline), no
  framing, ``nosniff``, a strict referrer policy; no ``Server`` version banner;
* a request body limit (``AMK_MAX_BODY_KB``, default 256 KiB) -> 413;
* a check of every callback request's shape and target before Dash sees it:
  malformed JSON, unknown outputs, oversize or deeply nested payloads -> 400;
* a request id on every request (``X-Request-ID``), in the logs and in any error;
* error handlers that turn any unexpected exception into a short message with
  the request id -- never a traceback or a file path in a response;
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
            reason = check_callback_payload(payload, known)
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
        log.exception("unexpected error, request %s %s", rid, request.path)
        if request.path == CALLBACK_PATH:
            # a callback that raised on a value it did not expect: the request was at fault
            return _bad("the request could not be processed")
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
