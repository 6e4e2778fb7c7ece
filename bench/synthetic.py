"""Synthetic AMK-scale panels for the benchmarks (clients x 3 waves, village clusters)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def synthetic_panel(n_clients: int, *, n_villages: int = 9300, seed: int = 0) -> pd.DataFrame:
    """A long panel like AMK's portfolio: clients in villages (the clusters), programme
    assigned by village, three waves with ~15% attrition, a true effect of 0.2."""
    rng = np.random.default_rng(seed)
    village = rng.integers(0, n_villages, n_clients)
    arm = (rng.random(n_villages) < 0.5).astype(np.int8)[village]
    alpha = rng.normal(size=n_clients)
    vshock = rng.normal(scale=0.3, size=(n_villages, 3))
    frames = []
    present = np.ones(n_clients, bool)
    for wave, keep in ((0, 1.0), (1, 0.92), (2, 0.92)):
        present &= rng.random(n_clients) < keep
        idx = np.flatnonzero(present)
        d = (arm[idx] * (wave > 0)).astype(np.int8)
        y = (
            alpha[idx]
            + 0.1 * wave
            + 0.2 * d
            + vshock[village[idx], wave]
            + rng.normal(size=idx.size)
        )
        frames.append(
            pd.DataFrame({"client": idx, "wave": wave, "village": village[idx], "d": d, "y": y})
        )
    panel = pd.concat(frames, ignore_index=True)
    # drop singletons up front so every package sees exactly the same sample
    return panel[panel.groupby("client")["wave"].transform("size") > 1].reset_index(drop=True)
