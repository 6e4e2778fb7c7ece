"""Loopback load generation and a gunicorn runner, shared by the load tests and the benchmarks.

Only 127.0.0.1 is ever targeted; every loop stops by itself after a bounded time.

A callback that raised is an error, although Dash answers it with 200: the app's
``on_error`` handler (``components.errors.on_callback_error``) logs it and sends a
side update that opens the page's error alert.  ``callback_failure`` reads that
from a response body; ``Gunicorn.failures`` reads the server's error log.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from components.errors import APP_ERROR_ID, CALLBACK_FAILED, LAYOUT_FAILED, LAYOUT_FAILED_TITLE
from components.server import UNEXPECTED_ERROR

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# error-log lines that mean a request raised: a callback or a page layout (components.errors), the Flask app
# around Dash (components.server), or gunicorn's worker itself
LOG_FAILURE_MARKS = (
    CALLBACK_FAILED,
    LAYOUT_FAILED,
    UNEXPECTED_ERROR,
    "Error handling request",
    "Exception in worker process",
)


def callback_failure(status: int, body: bytes) -> str | None:
    """Why a callback answer shows that the callback raised or the server failed, else None.

    400 and 413 (the request was rejected before any callback ran) are not failures here;
    a 5xx is; so is a 200 whose body carries the error handler's side update (the page's
    error alert opened), a page whose layout raised (its error panel), or a body that is
    not the JSON Dash sends.
    """
    if status >= 500:
        return f"server error {status}: {body[:200]!r}"
    if status != 200:
        return None
    try:
        doc = json.loads(body)
    except ValueError:
        return f"200 with a body that is not JSON: {body[:200]!r}"
    if not isinstance(doc, dict) or not isinstance(doc.get("response", {}), dict):
        return f"200 with a body that is not a callback answer: {body[:200]!r}"
    side = doc.get("sideUpdate") or {}
    alert = side.get(APP_ERROR_ID) if isinstance(side, dict) else None
    if isinstance(alert, dict) and alert.get("is_open"):
        return f"the callback raised: {str(alert.get('children'))[:200]}"
    if LAYOUT_FAILED_TITLE.encode() in body:
        return "a page layout raised (its error panel was served)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# what browsers send: the load then pays for compression (and the client for decompression)
# as real visits do
ACCEPT = {"Accept-Encoding": "br, gzip"}


def _decoded(headers, data: bytes) -> bytes:
    enc = (headers.get("Content-Encoding") or "").lower()
    if enc == "br":
        import brotli

        return brotli.decompress(data)
    if enc == "gzip":
        import gzip

        return gzip.decompress(data)
    return data


def _fetch(req: urllib.request.Request, timeout: float) -> tuple[int, dict, bytes]:
    """(status, headers, body as sent: still compressed if it was)."""
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def _post_request(url: str, body: bytes, headers: dict | None) -> urllib.request.Request:
    return urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"} | (headers or {})
    )


def http_get(
    url: str, timeout: float = 10.0, headers: dict | None = None
) -> tuple[int, dict, bytes]:
    """(status, headers, body); a compressed body is decompressed."""
    status, hdrs, data = _fetch(urllib.request.Request(url, headers=headers or {}), timeout)
    return status, hdrs, _decoded(hdrs, data)


def http_post(
    url: str, body: bytes, timeout: float = 20.0, headers: dict | None = None
) -> tuple[int, bytes]:
    """(status, body); a compressed body is decompressed."""
    status, hdrs, data = _fetch(_post_request(url, body, headers), timeout)
    return status, _decoded(hdrs, data)


def _wait_healthy(base: str, proc: subprocess.Popen, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited early")
        try:
            if http_get(base + "/healthz", timeout=2)[0] in (200, 503):
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError("server did not start")


class Gunicorn:
    """gunicorn ``app`` (default ``app:server``) with our config, on a free loopback port.

    Its stdout and stderr (gunicorn's error log and the app's logging) go to ``log``.
    """

    def __init__(self, build_dir: Path, log: Path, app: str = "app:server", **env):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        full_env = (
            os.environ
            | {
                "AMK_BUILD_DIR": str(build_dir),
                "AMK_BIND": f"127.0.0.1:{self.port}",
                "AMK_WORKERS": "2",
                "AMK_LOG_LEVEL": "warning",
            }
            | env
        )
        self.log = log
        self._fh = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", app],
            cwd=PROJECT_ROOT, env=full_env, stdout=self._fh, stderr=subprocess.STDOUT,
        )  # fmt: skip
        _wait_healthy(self.base, self.proc)

    def log_size(self) -> int:
        """The error log's length now: pass it to ``failures`` to see only later lines."""
        self._fh.flush()
        return self.log.stat().st_size

    def failures(self, since: int = 0) -> list[str]:
        """Error-log lines (from byte ``since``) that say a request raised."""
        self._fh.flush()
        with open(self.log, "rb") as fh:
            fh.seek(since)
            text = fh.read().decode("utf-8", "replace")
        return [line for line in text.splitlines() if any(m in line for m in LOG_FAILURE_MARKS)]

    def workers(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True)
        return [int(x) for x in out.stdout.split()]

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._fh.close()


def _user_loop(
    base: str,
    bodies: list[dict],
    stop: threading.Event,
    stats: dict,
    lock: threading.Lock,
    seed: int,
) -> None:
    import random

    rnd = random.Random(seed)
    pages = ["/", "/effects", "/breakdowns", "/results-chain", "/methods"]
    while not stop.is_set():
        t = time.perf_counter()
        elapsed = None
        raised = False
        try:
            if rnd.random() < 0.3:
                req = urllib.request.Request(base + rnd.choice(pages), headers=ACCEPT)
                status, _, _ = _fetch(req, timeout=30)
            else:
                body = json.loads(json.dumps(rnd.choice(bodies)))
                for item in body["inputs"]:
                    if isinstance(item, dict) and item["property"] == "value":
                        item["value"] = rnd.choice(
                            [
                                None,
                                "did",
                                "ancova",
                                "2",
                                "1",
                                "wild",
                                "cluster",
                                "natural",
                                "std",
                                "95",
                            ]
                        )
                req = _post_request(
                    base + "/_dash-update-component", json.dumps(body).encode(), ACCEPT
                )
                status, hdrs, data = _fetch(req, timeout=30)
                # the server's latency: the clock stops before this process decompresses
                # (it shares the cores with the server; a real browser would not)
                elapsed = time.perf_counter() - t
                if callback_failure(status, _decoded(hdrs, data)):
                    raised = True
            ok = status in (200, 204) and not raised
        except OSError:
            ok = False
        with lock:
            stats["n"] += 1
            stats["errors"] += 0 if ok else 1
            stats["raised"] += 1 if raised else 0
            stats["lat"].append(elapsed if elapsed is not None else time.perf_counter() - t)


def run_load(base: str, bodies: list[dict], users: int, seconds: float, during=None) -> dict:
    """``users`` threads walk pages and fire callbacks for ``seconds``; ``during`` runs a third in.

    ``errors`` counts answers other than 200/204, connection failures and callbacks that
    raised (``callback_failure``); ``raised`` counts the last alone.
    """
    if not base.startswith("http://127.0.0.1:"):
        raise ValueError("load is only ever sent to loopback")
    stop, lock = threading.Event(), threading.Lock()
    stats = {"n": 0, "errors": 0, "raised": 0, "lat": []}
    threads = [
        threading.Thread(target=_user_loop, args=(base, bodies, stop, stats, lock, i), daemon=True)
        for i in range(users)
    ]
    for th in threads:
        th.start()
    if during:
        time.sleep(seconds / 3)
        during()
        time.sleep(seconds * 2 / 3)
    else:
        time.sleep(seconds)
    stop.set()
    for th in threads:
        th.join(timeout=40)
    lat = sorted(stats["lat"])
    return {
        "users": users, "seconds": seconds, "requests": stats["n"], "errors": stats["errors"], "raised": stats["raised"],
        "rps": stats["n"] / seconds, "p95_ms": 1000 * lat[int(0.95 * (len(lat) - 1))] if lat else None,
    }  # fmt: skip


def _dict_ids(component, found: list[dict]) -> None:
    if isinstance(component, list | tuple):
        for c in component:
            _dict_ids(c, found)
        return
    ident = getattr(component, "id", None)
    if isinstance(ident, dict):
        found.append(ident)
    children = getattr(component, "children", None)
    if children is not None and not isinstance(children, str | int | float):
        _dict_ids(children, found)


def _page_dict_ids() -> list[dict]:
    """The dict (pattern-matching) ids in every page's default layout."""
    import dash

    found: list[dict] = []
    for page in dash.page_registry.values():
        layout = page.get("layout")
        _dict_ids(layout() if callable(layout) else layout, found)
    return found


def _fits(ident: dict, pattern: dict) -> bool:
    return set(ident) == set(pattern) and all(
        isinstance(v, list) or ident[k] == v for k, v in pattern.items()
    )


def _prop_id(ident) -> str:
    # Dash's renderer writes a dict id as JSON with sorted keys and no spaces
    return (
        json.dumps(ident, sort_keys=True, separators=(",", ":"))
        if isinstance(ident, dict)
        else ident
    )


def callback_bodies(dash_app) -> list[dict]:
    """One realistic request body per server-side callback, from Dash's own callback map.

    Input values are None (each callback falls back to its defaults), except that a
    pattern-matching (ALL) input lists the matching components of the pages' layouts
    with the first one clicked once, as the browser sends it after that click, and the
    pages' router is called once more for each page's path."""
    import dash

    client = dash_app.server.test_client()
    client.get("/")  # Dash merges the pages' callbacks into its map on the first request
    dict_ids = _page_dict_ids()
    paths = sorted(p["relative_path"] for p in dash.page_registry.values())

    def item(spec: dict) -> dict | list:
        ident = spec["id"]
        if ident.startswith("{"):
            pattern = json.loads(ident)
            if not any(isinstance(v, list) for v in pattern.values()):
                # a dict id without wildcards names one component (a page's viewport store)
                return {"id": pattern, "property": spec["property"], "value": None}
            matches = [d for d in dict_ids if _fits(d, pattern)]
            return [
                {"id": d, "property": spec["property"], "value": 1 if i == 0 else None}
                for i, d in enumerate(matches)
            ]
        return {"id": ident, "property": spec["property"], "value": None}

    bodies = []
    for key, cb in dash_app.callback_map.items():
        if "callback" not in cb or key.startswith("{"):  # clientside, or pattern-matching outputs
            continue
        parsed = []
        for spec in key.strip(".").split("..."):
            ident, _, prop = spec.rpartition(".")
            # a dict id (a page's search store) is sent as the object, as the browser does
            parsed.append(
                {"id": json.loads(ident) if ident.startswith("{") else ident, "property": prop}
            )
        inputs = [item(i) for i in cb["inputs"]]
        changed = []
        if inputs:
            first = inputs[0]
            if isinstance(first, list):
                changed = [f"{_prop_id(first[0]['id'])}.{first[0]['property']}"] if first else []
            else:
                changed = [f"{_prop_id(first['id'])}.{first['property']}"]
        body = {
            "output": key,
            "outputs": parsed if len(parsed) > 1 else parsed[0],
            "inputs": inputs,
            "state": [item(s) for s in cb.get("state", [])],
            "changedPropIds": changed,
        }
        bodies.append(body)
        # the pages' router (a Location's pathname): once more for each page, with its path
        for n, i in enumerate(inputs):
            if isinstance(i, dict) and i["property"] == "pathname":
                for path in paths:
                    again = json.loads(json.dumps(body))
                    again["inputs"][n]["value"] = path
                    bodies.append(again)
    return bodies
