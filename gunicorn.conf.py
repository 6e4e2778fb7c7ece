"""gunicorn settings for `gunicorn app:server` (read automatically from the working directory).

Environment: AMK_WORKERS (default 2), AMK_BIND (default 0.0.0.0:8050), AMK_TIMEOUT (60 s),
AMK_LOG_LEVEL (info).  Logs go to stdout/stderr.
"""

import os

import gunicorn.http.wsgi

# no server name or version in the Server header
gunicorn.http.wsgi.SERVER = "web"

bind = os.environ.get("AMK_BIND", "0.0.0.0:8050")
workers = int(os.environ.get("AMK_WORKERS", "2"))
threads = int(os.environ.get("AMK_THREADS", "1"))
timeout = int(os.environ.get("AMK_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
max_requests = 2000  # recycle workers now and then
max_requests_jitter = 200
limit_request_line = 8190
limit_request_fields = 100
preload_app = True  # load the artefacts once, before forking
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("AMK_LOG_LEVEL", "info")


def when_ready(server):
    """In the master, after the app is loaded and before the workers fork: the app's pages
    made once, so that the workers inherit them (app.warm_up; AMK_WARM_S bounds it)."""
    import sys

    app = sys.modules.get("app")
    if app is not None and callable(getattr(app, "warm_up", None)):
        try:
            made = app.warm_up()
        except Exception as exc:  # noqa: BLE001 - a head start only: serve without it
            server.log.warning("pages not made before forking: %s", exc)
        else:
            server.log.info("pages made before forking: %d", len(made))
    # what the workers inherit is never freed: kept out of the garbage collector's scans.
    # A worker's first full collection otherwise walks every inherited object, writing to
    # each one's page (copy on write): a 0.3 s stall in the middle of a request (issue 12)
    import gc

    gc.collect()
    gc.freeze()
