"""Two-way fixed effects with clustered errors at AMK scale: ours vs pyfixest vs linearmodels.

Each package fits y ~ d | client + wave with errors clustered by village on the same
synthetic panel (singletons dropped up front).  Times are medians over repeats; peak
memory is the tracemalloc peak of one fit (numpy allocations are traced); the
coefficient difference is the largest absolute difference from each reference.
"""

from __future__ import annotations

import time
import tracemalloc
import warnings

import numpy as np

from analysis.estimators import fit_twfe
from bench.synthetic import synthetic_panel

# clients such that the unbalanced panel has about this many client-waves
SIZES = {"30k": 30_000, "300k": 300_000, "857k": 857_100}
ROWS_PER_CLIENT = 1 + 0.92 + 0.92**2  # ~15% attrition by the third wave


def _time(fn, repeats: int) -> tuple[float, object]:
    out, times = None, []
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times)), out


def run(sizes=("30k", "300k", "857k"), repeats: int = 3) -> dict:
    import pyfixest as pf
    from linearmodels.panel import PanelOLS

    out: dict = {}
    for label in sizes:
        df = synthetic_panel(int(round(SIZES[label] / ROWS_PER_CLIENT)), seed=1)
        indexed = df.set_index(["client", "wave"])

        def ours(df=df):
            return fit_twfe(df, y="y", treat="d", unit="client", time="wave", cluster="village")

        def fixest(df=df):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                m = pf.feols("y ~ d | client + wave", data=df, vcov={"CRV1": "village"})
                return float(m.coef()["d"]), float(m.se()["d"])

        def lm(indexed=indexed):
            r = PanelOLS(indexed["y"], indexed[["d"]], entity_effects=True, time_effects=True).fit(
                cov_type="clustered", clusters=indexed["village"]
            )
            return float(r.params["d"]), float(r.std_errors["d"])

        fixest()  # warm-up (numba compilation) outside the timing
        t_ours, res = _time(ours, repeats)
        t_pf, (c_pf, se_pf) = _time(fixest, repeats)
        t_lm, (c_lm, _) = _time(lm, repeats)
        tracemalloc.start()
        ours()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        out[label] = {
            "rows": int(len(df)),
            "clients": int(df["client"].nunique()),
            "clusters": int(df["village"].nunique()),
            "ours_s": round(t_ours, 3),
            "pyfixest_s": round(t_pf, 3),
            "linearmodels_s": round(t_lm, 3),
            "vs_pyfixest": round(t_ours / t_pf, 3),
            "vs_linearmodels": round(t_ours / t_lm, 3),
            "max_coef_diff_pyfixest": float(abs(res.estimate - c_pf)),
            "max_coef_diff_linearmodels": float(abs(res.estimate - c_lm)),
            "se_ratio_pyfixest": float(res.std_error / se_pf),
            "peak_mb": round(peak / 2**20, 1),
        }
    return out
