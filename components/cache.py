"""Memoised view builders (flask-caching).

The page callbacks' view functions are pure in their (validated) arguments and the
loaded results, so their outputs are cached: in Redis when ``AMK_CACHE_URL`` is set
(``redis://host:port/db``; shared by all gunicorn workers), else in a folder when
``AMK_CACHE_DIR`` is set, else in each process's memory.  Keys include the results'
fingerprint, so a rebuilt results table never serves old figures.  Until
``init_cache`` has run (plain unit tests), the functions are simply called.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from typing import Any

from flask_caching import Cache

from components.store import view_key

log = logging.getLogger("amk.cache")
cache = Cache()
_state = {"ready": False, "prefix": "amk"}


def cache_config() -> dict[str, Any]:
    url = os.environ.get("AMK_CACHE_URL", "").strip()
    timeout = int(os.environ.get("AMK_CACHE_TIMEOUT", "3600"))
    if url.startswith(("redis://", "rediss://", "unix://")):
        return {
            "CACHE_TYPE": "RedisCache",
            "CACHE_REDIS_URL": url,
            "CACHE_DEFAULT_TIMEOUT": timeout,
        }
    if os.environ.get("AMK_CACHE_DIR"):
        return {
            "CACHE_TYPE": "FileSystemCache",
            "CACHE_DIR": os.environ["AMK_CACHE_DIR"],
            "CACHE_DEFAULT_TIMEOUT": timeout,
        }
    return {"CACHE_TYPE": "SimpleCache", "CACHE_THRESHOLD": 2000, "CACHE_DEFAULT_TIMEOUT": timeout}


def init_cache(server, fingerprint: str) -> str:
    """Attach the cache to the Flask server; return the backend's name."""
    cfg = cache_config()
    cache.init_app(server, config=cfg)
    _state.update(ready=True, prefix=f"amk:{fingerprint}")
    log.info("view cache: %s", cfg["CACHE_TYPE"])
    return cfg["CACHE_TYPE"]


def _plain(value: Any) -> Any:
    """The JSON form Dash sends anyway (components, figures -> dicts): it unpickles and
    serialises far faster than component trees holding plotly Figure objects."""
    import json

    from plotly.io.json import to_json_plotly

    return json.loads(to_json_plotly(value))


def memoize(func: Callable | None = None, *, keep: Callable[[Any], bool] | None = None):
    """Cache ``func``'s result by its arguments (and the results' fingerprint); with
    ``keep``, only results for which ``keep(plain result)`` is true (``@memoize(keep=...)``)."""
    if func is None:
        return functools.partial(memoize, keep=keep)
    name = f"{func.__module__}.{func.__qualname__}"

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if not _state["ready"]:
            return func(*args, **kwargs)
        # the study (and arm) is part of the key: the same view of another study is another view
        key = f"{_state['prefix']}:{view_key()}:{name}:{args!r}:{sorted(kwargs.items())!r}"
        try:
            hit = cache.get(key)
        except Exception as exc:  # noqa: BLE001 - a cache outage must not take the page down
            log.warning("cache get failed (%s); computing", exc)
            return func(*args, **kwargs)
        if hit is not None:
            return hit
        value = _plain(func(*args, **kwargs))
        if keep is not None and not keep(value):
            return value
        try:
            cache.set(key, value)
        except Exception as exc:  # noqa: BLE001
            log.warning("cache set failed (%s)", exc)
        return value

    wrapper.uncached = func
    return wrapper
