"""Unit tests of the request-shape checks and headers (the live server is tested elsewhere)."""

import pytest

from components.server import check_callback_inputs, check_callback_payload, security_headers

KNOWN = {"effects-figure.figure", "..a.children...b.children.."}


def _ok(**kw):
    base = {
        "output": "effects-figure.figure",
        "inputs": [{"id": "x", "property": "value", "value": 1}],
        "changedPropIds": ["x.value"],
    }
    return base | kw


def test_sound_payload_passes():
    assert check_callback_payload(_ok(), KNOWN) is None


def test_pattern_matching_inputs_pass():
    items = [[{"id": {"type": "node", "index": 1}, "property": "n_clicks", "value": 0}]]
    assert check_callback_payload(_ok(inputs=items), KNOWN) is None


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        "text",
        {"output": "nope.children", "inputs": []},
        {"output": 5},
        _ok(inputs="not a list"),
        _ok(inputs=[{"id": "x"}]),
        _ok(inputs=[1, 2]),
        _ok(state=[{"property": "value"}]),
        _ok(changedPropIds=[1]),
        _ok(inputs=[{"id": "x", "property": "value", "value": 1}] * 500),
        _ok(inputs=[{"id": "x", "property": "value", "value": [[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]}]),
    ],
)
def test_junk_is_rejected(payload):
    assert check_callback_payload(payload, KNOWN)


def test_csp_allows_only_hashed_inline_scripts():
    h = security_headers(["sha256-abc"])
    csp = h["Content-Security-Policy"]
    assert "script-src 'self' 'sha256-abc';" in csp
    assert "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert h["X-Content-Type-Options"] == "nosniff"


# ------------------------------------------------------------ inputs against the callback

CB = {
    "inputs": [
        {"id": "m", "property": "value"},
        {"id": '{"index":["ALL"],"type":"node"}', "property": "n_clicks"},
    ],
    "state": [{"id": "loc", "property": "search"}],
}


def _call(method="did", clicks=(("a", 1),), search="?x=1", changed=("m.value",), **kw):
    body = {
        "output": "out.children",
        "inputs": [
            {"id": "m", "property": "value", "value": method},
            [
                {"id": {"type": "node", "index": i}, "property": "n_clicks", "value": n}
                for i, n in clicks
            ],
        ],
        "state": [{"id": "loc", "property": "search", "value": search}],
        "changedPropIds": list(changed),
    }
    return body | kw


@pytest.mark.parametrize(
    "body",
    [
        _call(),
        _call(method=None, clicks=(), search=None, changed=()),
        _call(method=["a", "b"]),  # a multi-choice control
        _call(method=2),
        _call(changed=['{"index":"a","type":"node"}.n_clicks']),
        _call(outputs={"id": "out", "property": "children"}),
    ],
)
def test_inputs_that_fit_the_callback_pass(body):
    assert check_callback_inputs(body, CB) is None


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (_call(method={"a": 1}), "input 1"),
        (_call(method=[["nested"]]), "input 1"),
        (_call(clicks=(("a", "many"),)), "whole number"),
        (_call(clicks=(("a", True),)), "whole number"),
        (_call(clicks=(("a", -1),)), "whole number"),
        (_call(clicks=((["list"], 1),)), "input 2"),  # a wildcard value must be a scalar
        (_call(search=["?a=1"]), "string"),
        (_call(changed=["other.value"]), "changedPropIds"),
        (_call(changed=['{"index":["ALL"],"type":"node"}.n_clicks']), "changedPropIds"),
        (_call(changed=["{not json.n_clicks"]), "changedPropIds"),
        (_call(outputs=5), "outputs"),
        (_call(outputs=[{"id": "out"}]), "outputs"),
        (_call() | {"inputs": [{"id": "m", "property": "value", "value": "did"}]}, "takes 2"),
        (_call() | {"state": []}, "takes 1"),
    ],
)
def test_inputs_that_do_not_fit_are_named(body, words):
    reason = check_callback_inputs(body, CB)
    assert reason and words in reason, reason


def test_wrong_component_or_property_is_named():
    body = _call()
    body["inputs"][0]["id"] = "someone-else"
    assert "component 'm'" in check_callback_inputs(body, CB)
    body = _call()
    body["inputs"][0]["property"] = "children"
    assert "property 'value'" in check_callback_inputs(body, CB)
    body = _call()
    body["inputs"][1] = {"id": {"type": "node", "index": "a"}, "property": "n_clicks", "value": 1}
    assert "list of components" in check_callback_inputs(body, CB)
    body = _call()
    body["inputs"][1][0]["id"] = {"type": "other", "index": "a"}
    assert "does not name" in check_callback_inputs(body, CB)


# ------------------------------------------------------------ seeing a callback that raised


@pytest.fixture(scope="module")
def tiny_app():
    """A two-callback Dash app with the dashboard's error handler and hardening."""
    from dash import Dash, Input, Output, _get_app, dcc, html

    from components.errors import APP_ERROR_ID, on_callback_error
    from components.server import harden

    previous = _get_app.APP  # Dash() makes itself the process's app: give it back after
    app = Dash(__name__, on_error=on_callback_error)
    _get_app.APP = previous
    app.layout = html.Div(
        [dcc.Input(id="x"), html.Div(id="ok"), html.Div(id="bad"), html.Div(id=APP_ERROR_ID)]
    )

    @app.callback(Output("ok", "children"), Input("x", "value"))
    def fine(v):
        return f"got {v}"

    @app.callback(Output("bad", "children"), Input("x", "value"))
    def broken(v):
        raise RuntimeError("boom")

    harden(app, lambda: ({"status": "ok"}, True))
    _get_app.APP = app
    yield app
    _get_app.APP = previous


def _post(app, output):
    body = {
        "output": output,
        "outputs": {"id": output.split(".")[0], "property": "children"},
        "inputs": [{"id": "x", "property": "value", "value": "a"}],
        "changedPropIds": ["x.value"],
    }
    resp = app.server.test_client().post("/_dash-update-component", json=body)
    return resp.status_code, resp.get_data()


def test_callback_failure_sees_a_raised_callback_that_dash_answered_200(tiny_app, caplog):
    from bench.loadgen import callback_failure
    from components.errors import CALLBACK_FAILED

    status, body = _post(tiny_app, "ok.children")
    assert status == 200 and callback_failure(status, body) is None
    with caplog.at_level("ERROR"):
        status, body = _post(tiny_app, "bad.children")
    assert status == 200  # Dash's answer: the status alone cannot tell
    assert "raised" in callback_failure(status, body)
    assert any(CALLBACK_FAILED in r.getMessage() for r in caplog.records)
    assert "Traceback" not in body.decode()


def test_callback_failure_reads_status_and_body():
    from bench.loadgen import callback_failure

    assert callback_failure(204, b"") is None
    assert callback_failure(400, b'{"error": "unknown callback output"}') is None
    assert callback_failure(500, b"oops")
    assert callback_failure(200, b"<html>not json</html>")
    assert callback_failure(200, b'{"multi": true, "response": {"a": {"children": 1}}}') is None


def test_a_location_path_must_start_with_the_prefix():
    cb = {"inputs": [{"id": "loc", "property": "pathname"}], "state": []}

    def body(v):
        return {"inputs": [{"id": "loc", "property": "pathname", "value": v}]}

    assert check_callback_inputs(body("/effects"), cb) is None
    assert check_callback_inputs(body(None), cb) is None
    assert "starting with '/'" in check_callback_inputs(body(""), cb)
    assert "starting with '/app/'" in check_callback_inputs(body("/effects"), cb, "/app/")


def test_outputs_must_name_the_callbacks_outputs():
    cb = {"inputs": [], "state": []}
    key = "..a.children...b.figure@0f3a.."

    def body(outputs):
        return {"output": key, "outputs": outputs}

    both = [{"id": "a", "property": "children"}, {"id": "b", "property": "figure@0f3a"}]
    assert check_callback_inputs(body(both), cb) is None
    assert check_callback_inputs(body([both[0], both[1] | {"property": "figure"}]), cb) is None
    assert "2 output(s)" in check_callback_inputs(body([]), cb)
    assert "2 output(s)" in check_callback_inputs(body(both[0]), cb)
    assert "'b.figure'" in check_callback_inputs(body([both[0], {"id": "c", "property": "x"}]), cb)
    assert "'outputs'" in check_callback_inputs(body([both[0], "b.figure"]), cb)
