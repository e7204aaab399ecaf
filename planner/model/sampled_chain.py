"""Dynamic batching on three or more replicas (planner/model/dynamic_batching.py describes the system) past
MULTI_REPLICA_LOAD (model/chain_scope.py), where one server c times as fast (R = S(b)/c) is −25 to −62 % at p95/p99
at 80–90 % of capacity: it misses that replicas free unevenly, and one that frees soon after another close idles
until the delay runs out; and below it wherever that chain's closes wait for a replica (batching_chain
WAITING_SHARE; with no delay, every close), where it misses that at light load a replica is usually free: with no
delay +9 to +24 % p99 at 1 % of capacity, −5 to −72 % p95 at 20–50 %. Here the embedded chain at closes is followed
exactly and its stationary law sampled.

The state at a close is the c replicas' free times (the batch just dispatched among them); R, the time from the close
until the first frees, is the next batch's only input. With G ~ Exp(λ) the next batch's first request comes G after
the close, the batch closes D = max(T, R − G) after it (the replica that frees at R takes it) with 1 + Pois(λD)
requests, and that replica frees S(b) after the close — the same dynamics as simulate_dynamic_batching
(model/simulation.py), at closes only. Copies of the chain run side by side (numpy, one close of every copy a step)
with one fixed seed (the same floats run to run: model/batching_store.py keeps the result), in blocks of BLOCK
closes: BURN_CHAINS from every replica idle until neither the mean R nor the share of closes with R > T has moved
between the block halfway back and the latest (_drifting), then each copied to make CHAINS, and RECORD blocks more, whose R at every close is the sample. R's law
goes onto a grid of step T/CELLS above T, split linearly (mean kept; every R ≤ T is one state, the batch closing at
T), and BatchingChain (model/batching_chain.py) gives the latency from it, as pair_chain's (model/pair_chain.py)
does, the window's arrivals integrated in closed form. Batches that may reach the limit (drawn, or to TAIL_SIGMAS of
the longest window sampled) are left to the one-server chains (None).

No closure: pair laws closed along the sorted residuals held 65–80 % within 5 % but missed 10 % at 90 % (p99 +11 to
+21 %) at 0.7–116 s a chain; one order up (v_{l+1} given v_{l−1}, v_l), by Monte Carlo, held it at the cost of a
sequential loop (benchmarks/prototypes/many_replicas_pairs.py). Measured (many_replicas_sampled.py) against
simulate_dynamic_batching (200,000 requests, seed 1) on bert-train-then-serve's curves, 10 ms delay, c = 4, 5, 6, 8,
the plans' limits (1,931, 4,096: out of reach), 65/80/90 %: p50, p95 and p99 within 7.5 % (worst −2.6/−7.5/−3.6 at
RTX 3060, c = 8, 90 %, where the simulation's own seeds 1–5 give p95 283–311 ms), and within 3.2 % of the mean of
the simulation's seeds 1–5 (at 4,096 on the RTX 3060 there, −11.2 % p95 against seed 1, its highest, 325 ms against
278–286; −0.5 % against the mean); seeds 1–5 of the sampling move a percentile by at most 1.0 point; 0.11–0.24 s CPU a
chain (one server c times as fast: 4–183 ms). Without a delay (T = 0; R's grid then in steps of S(1)/CELLS) within
4.2 % at 65–90 % on c = 4 and 8, where one server c times as fast is −25 to −75 %.

Burn-in on the mean R alone stopped too soon where the replicas' phases settle slowly: no delay, RTX A6000, c = 8,
20 % of capacity, the share of closes finding every replica busy creeps from 0.93 to 0.975 over ~1,500 closes while
the mean R moves by 2 %; sampled after 4 blocks, p95 +22 % (the chain's own Monte Carlo over 200,000 closes and the
simulation agree within 1 %); with _drifting 29 blocks, −0.6 %. Measured then (many_replicas_no_delay.py, seed 1, both
GPUs, the plans' limits), p50/p95/p99 within: no delay, c = 3, 4, 6, 8 at 1–90 %: 6.3 % (worst −6.3/−3.4/−3.3 at RTX
3060, c = 3, 90 %; the one-server chain +24 % to −75 %, triple_chain +32 % at 90 %); a 1 ms delay, c = 4, 8 at
5–50 %: 3.1 %; 10 ms, c = 3 at 65–90 %: 5.0 % (triple_chain: 9.6 %), c = 4, 8, limit 1,024 at 65–90 %: 6.6 %.
0.06–0.24 s CPU a chain, 0.38 s where burn-in runs 29 blocks.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from planner.model.chain_scope import TAIL_SIGMAS

CHAINS = 2000
"""Copies of the chain run side by side: each close of the sample is CHAINS draws of R."""
BURN_CHAINS = 500
"""Copies run from idle until they have filled up; then each is copied CHAINS / BURN_CHAINS times."""
BLOCK = 100
"""Closes a block: burn-in ends at the first block that has not drifted from the block halfway back (_drifting; from
idle at 90 % of capacity the copies fill up over ~200 closes, RTX 3060, c = 8; with no delay at 20 %, RTX A6000,
c = 8, over ~1,500)."""
RECORD = 3
"""Blocks sampled after burn-in: CHAINS × BLOCK × RECORD draws of R (600,000)."""
DRIFT_Z = 2.0
"""Standard errors beyond which burn-in takes a change for drift (a two-sided test at about 95 %)."""
MAX_BLOCKS = 30
"""Burn-in stops here whatever the means do (near saturation the copies fill for longer)."""
SEED = 1
CELLS = 16
"""Cells of R's grid per delay T (T = 0: per S(1)): R enters the latency through e^{−λ(R − T)} and the late batch's
window, smooth on this scale (RTX A6000, c = 4, 90 %: T/10 and T/50 within 0.1 point at p50, p95 and p99)."""


def _drifting(early: np.ndarray, late: np.ndarray) -> bool:
    """Whether the copies' mean R or share of closes waiting for a replica (R > T) still moves between an early
    block and the latest (the same copies, paired): a change beyond DRIFT_Z standard errors of the paired
    difference across copies. Comparing with the block halfway back, not the one before, sees a slow drift that
    moves each block by less than its noise."""
    diff = late - early
    return bool(np.any(np.abs(diff.mean(axis=1)) > DRIFT_Z * diff.std(axis=1) / math.sqrt(diff.shape[1])))


def taken(free: np.ndarray, gap: np.ndarray, busy: np.ndarray) -> np.ndarray:
    """The free times (a column per copy, sorted up it) a gap later, the least (the first row) then busy for `busy`:
    the others less `gap` (their order kept: x − g rises with x in floating point too), `busy` put in order among
    them — row j of the merge is max(rest[j − 1], min(rest[j], busy)), exactly the floats of either."""
    rest = free[1:]
    rest -= gap
    out = np.empty_like(free)
    if not rest.size:
        out[0] = busy
        return out
    np.minimum(rest, busy, out=out[:-1])
    np.maximum(out[1:-1], rest[:-1], out=out[1:-1])
    np.maximum(rest[-1], busy, out=out[-1])
    return out


def sampled_stationary(rate: float, replicas: int, limit: int, delay: float,
                       service_of: Callable[[float], float], seed: int | None = None
                       ) -> tuple[np.ndarray, np.ndarray, int] | None:
    """The stationary law of R at the closes of `replicas` replicas (module docstring): (weights, R, the batch sizes
    followed), or None where batches may reach the limit. S(b) is read at the sizes drawn;
    `seed`: SEED unless given (the prototypes' spread over seeds)."""
    lam, T, c, n = rate, delay, replicas, BURN_CHAINS
    rng = np.random.default_rng(SEED if seed is None else seed)
    times = [service_of(1.0)]  # S(1 + k), read as far as a draw of k asks
    table = np.array(times)
    # each replica's free time from the current close, a column per copy, sorted up it: the replicas are alike, so
    # a copy's state is the set of its free times, and the least of them, the one taking the next batch, is the
    # first row (np.argmin along a copy's replicas and the indexing at it were ~30 % of a chain's instructions)
    free = np.zeros((c, n))
    burning, kept = True, []
    seen: list[np.ndarray] = []  # burn-in: each block's per-copy means of R and of R > T
    while True:
        sample = np.empty((BLOCK, n))
        for step in range(BLOCK):
            r = np.maximum(free[0], 0.0)
            sample[step] = r
            g = rng.exponential(1.0 / lam, n)
            d = np.maximum(T, r - g)
            if T > 0.0:
                k = rng.poisson(lam * d)
            else:  # no delay: a batch that finds a replica free holds its first request alone (d = 0)
                k = np.zeros(n, dtype=np.int64)
                late = np.flatnonzero(d > 0.0)
                k[late] = rng.poisson(lam * d[late])
            most = int(k.max())
            if most >= limit - 1:  # a batch of the limit drawn: it fills (LeftoverChain's case)
                return None
            if most >= table.size:
                times.extend(service_of(float(b)) for b in range(table.size + 1, most + 2))
                table = np.array(times)
            gap = g + d
            free = taken(free, gap, table[k])
        if burning:
            seen.append(np.stack([sample.mean(axis=0), (sample > T).mean(axis=0)]))
            burning = len(seen) < 2 or len(seen) < MAX_BLOCKS and _drifting(seen[len(seen) // 2 - 1], seen[-1])
            if not burning:  # each copy filled up, copied to make CHAINS, each copy then on its own draws
                free = np.tile(free, (1, CHAINS // n))
                n = free.shape[1]
        else:
            kept.append(sample)
            if len(kept) == RECORD:
                break
    r = np.concatenate(kept).ravel()
    h = (T if T > 0.0 else times[0]) / CELLS
    spot = np.maximum(r - T, 0.0) / h
    below = spot.astype(np.int64)
    up = spot - below
    size = int(below.max()) + 2
    weight = (np.bincount(below, 1.0 - up, size) + np.bincount(below + 1, up, size)) / r.size
    grid = T + h * np.arange(size)
    keep = weight > 0.0
    weight, grid = weight[keep], grid[keep]
    window = lam * max(T, float(grid[-1]))
    top = math.ceil(1.0 + window + TAIL_SIGMAS * (math.sqrt(window) + 1.0))
    if top > limit:
        return None
    return weight, grid, top
