"""Loopback load generation and a gunicorn runner, shared by the load tests and the benchmarks.

Only 127.0.0.1 is ever targeted; every loop stops by itself after a bounded time.
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

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, timeout: float = 10.0) -> tuple[int, dict, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def http_post(url: str, body: bytes, timeout: float = 20.0) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


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
    """gunicorn ``app`` (default ``app:server``) with our config, on a free loopback port."""

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
        try:
            if rnd.random() < 0.3:
                status, _, _ = http_get(base + rnd.choice(pages), timeout=30)
            else:
                body = json.loads(json.dumps(rnd.choice(bodies)))
                for item in body["inputs"]:
                    if item["property"] == "value":
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
                status, _ = http_post(
                    base + "/_dash-update-component", json.dumps(body).encode(), timeout=30
                )
            ok = status < 500
        except OSError:
            ok = False
        with lock:
            stats["n"] += 1
            stats["errors"] += 0 if ok else 1
            stats["lat"].append(time.perf_counter() - t)


def run_load(base: str, bodies: list[dict], users: int, seconds: float, during=None) -> dict:
    """``users`` threads walk pages and fire callbacks for ``seconds``; ``during`` runs a third in."""
    if not base.startswith("http://127.0.0.1:"):
        raise ValueError("load is only ever sent to loopback")
    stop, lock = threading.Event(), threading.Lock()
    stats = {"n": 0, "errors": 0, "lat": []}
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
        "users": users, "seconds": seconds, "requests": stats["n"], "errors": stats["errors"],
        "rps": stats["n"] / seconds, "p95_ms": 1000 * lat[int(0.95 * (len(lat) - 1))] if lat else None,
    }  # fmt: skip


def callback_bodies(dash_app) -> list[dict]:
    """One realistic request body per server-side callback, from Dash's own callback map
    (input values None: each callback falls back to its defaults)."""
    client = dash_app.server.test_client()
    client.get("/")  # Dash merges the pages' callbacks into its map on the first request
    bodies = []
    for key, cb in dash_app.callback_map.items():
        if "callback" not in cb or key.startswith("{"):  # clientside, or pattern-matching ids
            continue
        parsed = []
        for spec in key.strip(".").split("..."):
            ident, _, prop = spec.rpartition(".")
            parsed.append({"id": ident, "property": prop})
        first = cb["inputs"][0] if cb["inputs"] else None
        bodies.append(
            {
                "output": key,
                "outputs": parsed if len(parsed) > 1 else parsed[0],
                "inputs": [
                    {"id": i["id"], "property": i["property"], "value": None} for i in cb["inputs"]
                ],
                "state": [
                    {"id": s["id"], "property": s["property"], "value": None}
                    for s in cb.get("state", [])
                ],
                "changedPropIds": [f"{first['id']}.{first['property']}"] if first else [],
            }
        )
    return bodies
