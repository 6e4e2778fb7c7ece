"""The OS's Chromium as the tests and the browser benchmark start it (one definition)."""

from __future__ import annotations

CHROMIUM = "/usr/bin/chromium"
# headless in a container: no sandbox (no user namespaces), no GPU, and nothing that
# phones home (background networking, component updates, sync)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def launch(playwright):
    """A Chromium browser from a Playwright instance, with the flags above."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
