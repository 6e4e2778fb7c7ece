"""Production serving: gunicorn, headers, Redis cache, crafted payloads, corrupt artefacts.

Every callback test runs against a real gunicorn (our config, two workers) and counts a
callback that raised as a failure twice over: from the answer's body (Dash answers a
raised callback with 200 and the error handler's side update; ``callback_failure``)
and from gunicorn's error log (``Gunicorn.failures``).  ``test_a_raising_callback_is_seen``
proves both see one.  The fuzz and load tests are marked slow (CI runs them).  Servers
listen on loopback only; every request loop is bounded in count and time.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from app_fixtures import *  # noqa: F403  (artefact_dir, dash_app)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.paths import study_build_dir
from bench.loadgen import (
    Gunicorn,
    callback_bodies,
    callback_failure,
    free_port,
    http_get,
    http_post,
    run_load,
)

TESTS_DIR = Path(__file__).resolve().parent
CALLBACK = "/_dash-update-component"

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


def post_callback(base: str, body, referer: str | None = None) -> tuple[int, bytes]:
    data = body if isinstance(body, bytes) else json.dumps(body, default=str).encode()
    # a slide or brief download renders figures with Chromium: the first one in a worker
    # can take half a minute on a busy machine (gunicorn's own limit is 60 s)
    headers = {"Referer": referer} if referer is not None else None
    return http_post(base + CALLBACK, data, timeout=90, headers=headers)


def test_realistic_callbacks_answer(gunicorn, callback_payloads):
    since = gunicorn.log_size()
    for body in callback_payloads:
        status, resp = post_callback(gunicorn.base, body)
        assert status in (200, 204), (body["output"], status, resp[:300])
        assert callback_failure(status, resp) is None, (
            body["output"],
            callback_failure(status, resp),
        )
        if status == 200:
            assert isinstance(json.loads(resp)["response"], dict), body["output"]
    assert gunicorn.failures(since) == []


def test_a_raising_callback_is_seen(artifact_dir, tmp_path, callback_payloads):
    """The checks above can fail: served with one callback that raises (tests/raising_app.py),
    its answer is flagged from the body and the error log has the failure, the load
    generator counts it as an error, and the other callbacks still answer cleanly."""
    raising_output = "..effects-forest.figure"  # raising_app.RAISING_OUTPUT (not imported here:
    # importing it would make the callback raise in this process too)
    g = Gunicorn(
        artifact_dir, tmp_path / "log.txt", app="raising_app:server", PYTHONPATH=str(TESTS_DIR)
    )
    try:
        flagged = []
        for body in callback_payloads:
            since = g.log_size()
            status, resp = post_callback(g.base, body)
            from_body, from_log = callback_failure(status, resp), g.failures(since)
            if body["output"].startswith(raising_output):
                assert (
                    status == 200
                )  # what Dash answers, which is why the status alone is not enough
                assert from_body and "raised" in from_body
                assert len(from_log) == 1 and "callback failed" in from_log[0]
                flagged.append(body["output"])
            else:
                assert from_body is None and from_log == [], (body["output"], from_body, from_log)
        assert len(flagged) == 1
        # the load generator counts it as an error too
        raising = [b for b in callback_payloads if b["output"].startswith(raising_output)]
        load = run_load(g.base, raising, users=2, seconds=3)
        assert load["raised"] > 0 and load["errors"] >= load["raised"], load
    finally:
        g.stop()


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
    shutil.copytree(artifact_dir, broken, ignore=shutil.ignore_patterns("compressed"))
    # the default study's results (build/amk/, or the folder itself in a flat test build)
    target = broken / study_build_dir().relative_to(artifact_dir) / "results.parquet"
    target.write_bytes(b"PAR1 this is not a parquet file")
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


def _set_values(items: list, values: list) -> None:
    """Junk into every value, including those of pattern-matching (ALL) inputs."""
    n = 0
    for item in items:
        for one in item if isinstance(item, list) else [item]:
            one["value"] = values[n % len(values)]
            n += 1


SCALAR = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=40) | st.sampled_from(
    ["' OR 1=1 --", "<script>alert(1)</script>", "../../etc/passwd", "{{7*7}}", "%s%n", "\x00", "x" * 20000,
     "did", "ancova", "iv", "ipw_did", "late", "1", "2", "99", "natural", "std", "95", "q", "p", "amk", "proirri"]
)  # fmt: skip
QUERY = st.lists(
    st.tuples(st.sampled_from(["study", "method", "wave", "inference", "scale", "level", "mt", "outcome", "branches", "node", "present", "x"]), SCALAR),
    max_size=5,
).map(lambda kv: "?" + "&".join(f"{k}={v}" for k, v in kv))  # fmt: skip
PLAUSIBLE = {
    "value": SCALAR | st.lists(SCALAR, max_size=6),
    "n_clicks": st.none() | st.integers(0, 40),
    "search": st.none() | st.text(max_size=60) | QUERY,
    "pathname": st.sampled_from(["/", "/effects", "/breakdowns", "/results-chain", "/methods"])
    | st.text(max_size=30).map(lambda t: "/" + t),
    "clickData": st.none()
    | st.dictionaries(st.text(max_size=8), JUNK, max_size=3)
    | st.fixed_dictionaries(
        {"points": st.lists(st.fixed_dictionaries({"customdata": JUNK}), max_size=2)}
    ),
}


# a callback's study is its page's (the Referer's query string, components.store)
REFERER = (
    st.none()
    | st.tuples(st.sampled_from(["/", "/effects", "/breakdowns", "/results-chain", "/methods"]), QUERY).map(lambda pq: "http://127.0.0.1" + pq[0] + pq[1])
    | st.text(max_size=60)
).map(lambda r: r if r is None else quote(r, safe=":/?&="))  # fmt: skip


def _set_plausible(items: list, data) -> None:
    """Each value of the JSON type its property carries (as the server's check wants) but
    not necessarily an allowed one: what reaches the callbacks themselves."""
    for item in items:
        for one in item if isinstance(item, list) else [item]:
            one["value"] = data.draw(PLAUSIBLE.get(one["property"], JUNK))


@pytest.mark.slow
def test_fuzz_callbacks_against_gunicorn(gunicorn, callback_payloads):
    """2,000+ generated payloads sent to gunicorn: wrong types, unknown ids, huge strings,
    nested junk, injection strings; and values of the right type that are not allowed
    (unknown methods, numbers for names, lists for single choices, junk links, junk page
    addresses in the Referer, which names the study), which reach the callbacks.  Every answer is a clear 400 (413 for size) or a
    sane 200/204; no callback raises (body and error log), no traceback or file path
    is shown, and the server is still healthy after."""
    sent = {"n": 0, "rejected": 0, "plausible": 0}
    since = gunicorn.log_size()

    def check(body: bytes, referer: str | None = None) -> None:
        before = gunicorn.log_size()
        status, resp = post_callback(gunicorn.base, body, referer)
        sent["n"] += 1
        # 431: gunicorn itself refuses an oversized header (e.g. a fuzzed Referer) -- also clear
        sent["rejected"] += status in (400, 413, 431)
        assert status in (200, 204, 400, 413, 431), (status, body[:300], resp[:300])
        assert callback_failure(status, resp) is None, (callback_failure(status, resp), body[:300])
        assert gunicorn.failures(before) == [], body[:300]
        text = resp.decode("utf-8", "replace")
        assert not any(leak in text for leak in LEAKS), text[:500]
        if status in (400, 413):
            assert json.loads(resp)["error"]  # a sentence saying what was wrong

    @settings(
        max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
    )
    @given(idx=st.integers(0, len(callback_payloads) - 1), values=st.lists(JUNK, min_size=1, max_size=8),
           mangle=st.sampled_from(["plausible"] * 5 + ["values", "values", "ids", "props", "output", "outputs", "changed", "count"]),
           data=st.data())  # fmt: skip
    def valid_shape(idx, values, mangle, data):
        body = json.loads(json.dumps(callback_payloads[idx]))
        if (
            mangle == "plausible"
        ):  # values of the type each property carries, not the values allowed
            _set_plausible(body["inputs"] + body["state"], data)
        else:
            _set_values(body["inputs"] + body["state"], values)
        first = body["inputs"][0] if body["inputs"] else None
        first = first[0] if isinstance(first, list) and first else first
        if mangle == "ids" and isinstance(first, dict):
            first["id"] = values[0] if isinstance(values[0], dict) else str(values[0])[:50]
        elif mangle == "props" and isinstance(first, dict):
            first["property"] = "children"
        elif mangle == "output":
            body["output"] = str(values[0])[:80]
        elif mangle == "outputs":
            body["outputs"] = values[0]
        elif mangle == "changed":
            body["changedPropIds"] = [str(v)[:30] for v in values]
        elif mangle == "count":
            body["inputs"] = body["inputs"][1:] + body["inputs"][:1] * 2
        sent["plausible"] += mangle == "plausible"
        referer = data.draw(REFERER) if mangle == "plausible" else None
        check(json.dumps(body, default=str).encode(), referer)

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
    assert gunicorn.failures(since) == []
    assert http_get(gunicorn.base + "/healthz")[0] == 200
    status, resp = post_callback(gunicorn.base, callback_payloads[0])
    assert status in (200, 204) and callback_failure(status, resp) is None
    print(
        f"fuzz: {sent['n']} payloads ({sent['plausible']} of plausible types), "
        f"{sent['rejected']} rejected with 400/413"
    )
    assert sent["plausible"] >= 400


def test_no_endpoint_returns_client_rows(dash_app, callback_payloads, artifact_dir):
    """The app never loads the client-level panel; downloads and callbacks carry aggregates."""
    from components.store import get_artifacts

    arts = get_artifacts()
    assert not hasattr(arts, "panel") or getattr(arts, "panel", None) is None
    assert "client_id" not in arts.results.columns
    client = dash_app.server.test_client()
    import pandas as pd

    ids = pd.read_parquet(study_build_dir() / "panel.parquet", columns=["client_id"])[
        "client_id"
    ].astype(str)
    sample_ids = set(ids.sample(50, random_state=1))
    for body in callback_payloads:
        resp = client.post(CALLBACK, data=json.dumps(body), content_type="application/json")
        assert callback_failure(resp.status_code, resp.get_data()) is None, body["output"]
        text = resp.get_data(as_text=True)
        assert not any(f'"{cid}"' in text for cid in sample_ids)


# ------------------------------------------------------------------ load (slow)


@pytest.mark.slow
def test_load_50_users_then_worker_kill(gunicorn, callback_payloads):
    bodies = [b for b in callback_payloads if b["inputs"] and "download" not in b["output"].lower()]
    since = gunicorn.log_size()
    steady = run_load(gunicorn.base, bodies, users=50, seconds=20)
    print("load:", steady)
    assert steady["errors"] == 0 and steady["raised"] == 0
    assert steady["requests"] > 100
    assert gunicorn.failures(since) == []

    def kill_one():
        victim = gunicorn.workers()[0]
        os.kill(victim, signal.SIGKILL)

    before = set(gunicorn.workers())
    since = gunicorn.log_size()
    killed = run_load(gunicorn.base, bodies, users=50, seconds=20, during=kill_one)
    print("worker kill:", killed)
    assert killed["errors"] / killed["requests"] < 0.01
    assert killed["raised"] == 0  # requests cut off by the kill are errors; none may have raised
    assert gunicorn.failures(since) == []
    time.sleep(2)
    after = set(gunicorn.workers())
    assert len(after) == 2 and after != before  # the master replaced the killed worker
    assert http_get(gunicorn.base + "/healthz")[0] == 200
