"""Unit tests of the request-shape checks and headers (the live server is tested elsewhere)."""

import pytest

from components.server import check_callback_payload, security_headers

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
