"""Production serving: gunicorn, headers, Redis cache, crafted payloads, corrupt artefacts.

The fuzz and load tests are marked slow (CI runs them).  Servers listen on loopback
only; every request loop is bounded in count and time.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from app_fixtures import *  # noqa: F403  (artefact_dir, dash_app)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.loadgen import Gunicorn, callback_bodies, free_port, http_get, http_post, run_load

LEAKS = ("Traceback", 'File "', "/work/", "site-packages", '.py"', "Werkzeug", "gunicorn/")


@pytest.fixture(scope="module")
def gunicorn(artifact_dir, tmp_path_factory):
    g = Gunicorn(artifact_dir, tmp_path_factory.mktemp("gunicorn") / "log.txt")
    yield g
    g.stop()


@pytest.fixture(scope="module")
def callback_payloads(dash_app):
    bodies = callback_bodies(dash_app)
    assert len(bodies) >= 8
    return bodies


def test_healthz_reports_fingerprints(gunicorn):
    status, _, body = http_get(gunicorn.base + "/healthz")
    info = json.loads(body)
    assert status == 200
    assert info["status"] == "ok" and info["results_loaded"]
    assert info["panel_sha256"] == info["results_panel_sha256"]
    assert info["data_kind"] == "demo"


def test_security_headers_and_no_version_banner(gunicorn):
    for path in ("/", "/effects", "/healthz", "/no-such-page"):
        status, headers, body = http_get(gunicorn.base + path)
        assert "gunicorn" not in headers.get("Server", "").lower(), headers
        assert "Werkzeug" not in headers.get("Server", "")
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["Referrer-Policy"]
        assert headers.get("X-Request-ID")
        assert not any(leak in body.decode("utf-8", "replace") for leak in LEAKS)


def test_request_body_limit(gunicorn):
    status, body = http_post(
        gunicorn.base + "/_dash-update-component", b"{" + b" " * (400 * 1024) + b"}"
    )
    assert status == 413
    assert b"Traceback" not in body


def test_odd_urls_never_crash(gunicorn):
    for path in ("/effects?method=%00%ff", "/breakdowns?outcome=" + "x" * 5000, "/../../etc/passwd",
                 "/effects?wave=-1&scale=<script>", "/results-chain?node=%27%22", "/_dash-layout?x=1"):  # fmt: skip
        status, _, body = http_get(gunicorn.base + path)
        assert status < 500, path
        text = body.decode("utf-8", "replace")
        assert not any(leak in text for leak in LEAKS), path
        assert (
            "=<script>" not in text and "%27%22" not in text
        )  # query values are never reflected raw


def test_realistic_callbacks_answer(gunicorn, callback_payloads):
    for body in callback_payloads:
        status, resp = http_post(
            gunicorn.base + "/_dash-update-component", json.dumps(body).encode()
        )
        assert status in (200, 204), (body["output"], status, resp[:300])


def test_redis_cache_shared_by_workers(artifact_dir, tmp_path, callback_payloads):
    redis = pytest.importorskip("redis")
    if not shutil.which("redis-server"):
        pytest.fail("redis-server is not installed: run `make sysdeps`")
    port = free_port()
    rproc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        client = redis.Redis(host="127.0.0.1", port=port)
        for _ in range(50):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.1)
        g = Gunicorn(
            artifact_dir, tmp_path / "log.txt", AMK_CACHE_URL=f"redis://127.0.0.1:{port}/0"
        )
        try:
            forest = next(b for b in callback_payloads if "effects-forest.figure" in b["output"])
            first = http_post(g.base + "/_dash-update-component", json.dumps(forest).encode())
            assert first[0] == 200
            keys = client.keys("*amk:*")
            assert keys, "nothing was cached in Redis"
            again = [
                http_post(g.base + "/_dash-update-component", json.dumps(forest).encode())
                for _ in range(6)
            ]
            assert all(a == first for a in again)  # both workers serve the same cached answer
        finally:
            g.stop()
    finally:
        rproc.terminate()
        rproc.wait(timeout=10)


def test_corrupt_results_are_reported_not_served(artifact_dir, tmp_path):
    broken = tmp_path / "build"
    shutil.copytree(artifact_dir, broken)
    (broken / "results.parquet").write_bytes(b"PAR1 this is not a parquet file")
    g = Gunicorn(broken, tmp_path / "log.txt")
    try:
        status, _, body = http_get(g.base + "/healthz")
        assert status == 503
        info = json.loads(body)
        assert not info["results_loaded"]
        assert any("cannot be read" in p and "make data" in p for p in info["problems"])
        status, _, page = http_get(g.base + "/effects")
        assert status == 200  # the page explains; it serves no numbers
        assert b"Traceback" not in page
    finally:
        g.stop()


# ------------------------------------------------------------------ fuzz (slow)

JUNK = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=40)
    | st.sampled_from(["' OR 1=1 --", "<script>alert(1)</script>", "../../etc/passwd", "{{7*7}}", "%s%n", "\x00", "x" * 20000]),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=12,
)  # fmt: skip


@pytest.mark.slow
def test_fuzz_callbacks(dash_app, callback_payloads):
    """2,000+ generated payloads: wrong types, unknown ids, huge strings, nested junk,
    injection strings.  No 5xx, no traceback or file path, and still healthy after."""
    client = dash_app.server.test_client()
    sent = {"n": 0}

    def check(body: bytes) -> None:
        resp = client.post("/_dash-update-component", data=body, content_type="application/json")
        sent["n"] += 1
        assert resp.status_code < 500, (resp.status_code, body[:300])
        text = resp.get_data(as_text=True)
        assert not any(leak in text for leak in LEAKS), text[:500]

    @settings(
        max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
    )
    @given(idx=st.integers(0, len(callback_payloads) - 1), values=st.lists(JUNK, min_size=1, max_size=8),
           mangle=st.sampled_from(["values", "ids", "props", "output", "changed"]))  # fmt: skip
    def valid_shape(idx, values, mangle):
        body = json.loads(json.dumps(callback_payloads[idx]))
        for i, item in enumerate(body["inputs"] + body["state"]):
            item["value"] = values[i % len(values)]
        if mangle == "ids" and body["inputs"]:
            body["inputs"][0]["id"] = str(values[0])[:50]
        elif mangle == "props" and body["inputs"]:
            body["inputs"][0]["property"] = "children"
        elif mangle == "output":
            body["output"] = str(values[0])[:80]
        elif mangle == "changed":
            body["changedPropIds"] = [str(v)[:30] for v in values]
        check(json.dumps(body, default=str).encode())

    @settings(
        max_examples=600, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
    )
    @given(junk=JUNK | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
    def junk_body(junk):
        data = (
            junk.encode("utf-8", "surrogatepass")
            if isinstance(junk, str)
            else json.dumps(junk, default=str).encode()
        )
        check(data)

    valid_shape()
    junk_body()
    assert sent["n"] >= 2000
    assert client.get("/healthz").status_code == 200
    ok = client.post(
        "/_dash-update-component",
        data=json.dumps(callback_payloads[0]),
        content_type="application/json",
    )
    assert ok.status_code in (200, 204)
    print(f"fuzz: {sent['n']} payloads")


def test_no_endpoint_returns_client_rows(dash_app, callback_payloads, artifact_dir):
    """The app never loads the client-level panel; downloads and callbacks carry aggregates."""
    from components.store import get_artifacts

    arts = get_artifacts()
    assert not hasattr(arts, "panel") or getattr(arts, "panel", None) is None
    assert "client_id" not in arts.results.columns
    client = dash_app.server.test_client()
    import pandas as pd

    ids = pd.read_parquet(Path(artifact_dir) / "panel.parquet", columns=["client_id"])[
        "client_id"
    ].astype(str)
    sample_ids = set(ids.sample(50, random_state=1))
    for body in callback_payloads:
        text = client.post(
            "/_dash-update-component", data=json.dumps(body), content_type="application/json"
        ).get_data(as_text=True)
        assert not any(f'"{cid}"' in text for cid in sample_ids)


# ------------------------------------------------------------------ load (slow)


@pytest.mark.slow
def test_load_50_users_then_worker_kill(gunicorn, callback_payloads):
    bodies = [b for b in callback_payloads if b["inputs"] and "download" not in b["output"].lower()]
    steady = run_load(gunicorn.base, bodies, users=50, seconds=20)
    print("load:", steady)
    assert steady["errors"] == 0
    assert steady["requests"] > 100

    def kill_one():
        victim = gunicorn.workers()[0]
        os.kill(victim, signal.SIGKILL)

    before = set(gunicorn.workers())
    killed = run_load(gunicorn.base, bodies, users=50, seconds=20, during=kill_one)
    print("worker kill:", killed)
    assert killed["errors"] / killed["requests"] < 0.01
    time.sleep(2)
    after = set(gunicorn.workers())
    assert len(after) == 2 and after != before  # the master replaced the killed worker
    assert http_get(gunicorn.base + "/healthz")[0] == 200
