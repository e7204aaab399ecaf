"""Dynamic batching on several replicas whose batches reach their limit (where model/batching_chain.py _made says:
two or more past MULTI_REPLICA_LOAD, model/chain_scope.py, and below it where more than
batching_chain.WAITING_SHARE of LeftoverChain's closes wait for a replica): a seeded Monte Carlo of the embedded chain at closes, the latency from per-request
samples (where one server c times as fast with what full batches leave behind, LeftoverChain, was −24 to −55 % p95
at 80–90 %, and −72 to +22 % p95 at 10–60 % with no delay).

The state at a close is the c replicas' free times and the arrival of the next batch's first request (before the
close: the oldest of a backlog a full batch left). As simulate_dynamic_batching (model/simulation.py) runs: the next
batch's first request comes at F (the oldest waiting, or the close + Exp(λ)); by the Poisson process's strong Markov
property the arrivals after F are a fresh Poisson process whatever the backlog's count, so the count need not be
kept. The batch's limit-th request comes at A = F + Gamma(limit − 1, 1/λ); the batch closes at max(first replica
free, min(F + T, A)); it is full when A ≤ close (the next first request then A + Exp(λ), waiting if before the
close), else it holds 1 + K, K ~ Binomial(limit − 2, (close − F)/(A − F)) (given A, the limit − 2 between are
uniform on (F, A)), and the next first request comes at close + Exp(λ). The replica that frees first takes it and
frees S(b) after the close. Latency: one request of each batch drawn uniformly (the first at F, the limit-th of a
full one at A, the others uniform on (F, min(A, close))), close + S(b) − its arrival, weighted b: the latency's cdf
over requests is that weighted empirical cdf. Copies run side by side as in model/sampled_chain.py (BURN_CHAINS from
idle until _drifting stops, on the mean R and the mean batch size; copied to CHAINS; blocks of BLOCK closes), the
seed fixed: the same floats run to run. K is drawn only where the batch is not full and its window is open (a
Binomial of a varying p is the dearest draw; a full batch or p = 0 needs none). Recording stops after the first block
where p50, p95 and p99 are each settled (_settled: their Monte Carlo interval to SETTLED_Z standard errors within
SETTLED of the value, the error from GROUPS groups of independent copies), else after RECORD blocks: most chains of
a short delay settle after one block (200,000 draws; 137 of bert-train-then-serve's 177 at 0.1 ms), those on a
staircase curve (kernels' waves: the quantiles on its atoms) keep the 600,000 (a percentile moved ≤ 1.5 %).
Measured: benchmarks/prototypes/many_replicas_filling.py; docs/internals.md 'A short delay'.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from planner.model.sampled_chain import BLOCK, BURN_CHAINS, CHAINS, MAX_BLOCKS, RECORD, SEED, _drifting, taken

GROUPS = 20
"""Groups of copies whose shares below a percentile give its standard error (_settled)."""
SETTLED = 0.02
"""Recording stops after a block where each of p50, p95 and p99 is within this share of its value (_settled)."""
SETTLED_Z = 2.0
"""Standard errors the percentiles' interval spans each side (_settled)."""
QUANTILES = (0.5, 0.95, 0.99)


def filling_sample(rate: float, replicas: int, limit: int, delay: float, service_of: Callable[[float], float],
                   seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Latencies sampled (sorted) and their cumulative share of requests (module docstring); `seed`: SEED unless
    given (the prototype's spread over seeds)."""
    lam, T, c, n = rate, delay, replicas, BURN_CHAINS
    rng = np.random.default_rng(SEED if seed is None else seed)
    table = np.array([service_of(float(b)) for b in range(1, limit + 1)])
    free = np.zeros((c, n))  # each replica's free time from the current close, sorted up a copy's column (taken)
    nxt = rng.exponential(1.0 / lam, n)  # the next batch's first request, from the current close
    burning, blocks = True, 0
    lat: np.ndarray | None = None
    w = groups = np.empty(0)
    seen: list[np.ndarray] = []  # burn-in: each block's per-copy means of R and of the batch size
    while True:
        lat_blk, w_blk = [], []
        stat = np.empty((2, BLOCK, n))
        for step in range(BLOCK):
            ready = free[0]
            f = nxt
            a = f + rng.gamma(limit - 1, 1.0 / lam, n) if limit > 1 else f
            close = np.maximum(ready, np.minimum(f + T, a))
            full = a <= close
            p = np.where(full, 1.0, (close - f) / np.maximum(a - f, 1e-300))
            k = np.zeros(n, dtype=np.int64)
            drawn = ~full & (p > 0.0)
            if limit > 2 and drawn.any():  # K alone where a batch is not full and its window is open
                k[drawn] = rng.binomial(limit - 2, np.minimum(p[drawn], 1.0))
            b = np.where(full, limit, 1 + k)
            took = table[b - 1]
            stat[0, step] = np.maximum(ready, 0.0)
            stat[1, step] = b
            if not burning:
                end = np.where(full, a, close)
                j = rng.integers(0, b)  # the request drawn: 0 the first, limit − 1 a full batch's last
                arr = f + rng.random(n) * (end - f)
                arr = np.where(j == 0, f, np.where(full & (j == limit - 1), a, arr))
                lat_blk.append(close + took - arr)
                w_blk.append(b)
            nxt = np.where(full, a, close) + rng.exponential(1.0 / lam, n) - close
            free = taken(free, close, took)
        if burning:
            seen.append(np.stack([stat[0].mean(axis=0), stat[1].mean(axis=0)]))
            burning = len(seen) < 2 or len(seen) < MAX_BLOCKS and _drifting(seen[len(seen) // 2 - 1], seen[-1])
            if not burning:  # each copy filled up, copied to make CHAINS, each copy then on its own draws
                free = np.tile(free, (1, CHAINS // n))
                nxt = np.tile(nxt, CHAINS // n)
                n = free.shape[1]
        else:
            blk_lat, blk_w = np.concatenate(lat_blk), np.concatenate(w_blk).astype(np.float64)
            order = stable_order(blk_lat)
            blk_lat, blk_w = blk_lat[order], blk_w[order]
            group = (order % n) % BURN_CHAINS // (BURN_CHAINS // GROUPS)  # copies of one burnt-in copy: one group
            if lat is None:
                lat, w, groups = blk_lat, blk_w, group
            else:  # merged: the stable sort of the blocks' concatenation (two sorted runs, timsort merges them)
                merged = np.argsort(np.concatenate([lat, blk_lat]), kind="stable")
                lat = np.concatenate([lat, blk_lat])[merged]
                w = np.concatenate([w, blk_w])[merged]
                groups = np.concatenate([groups, group])[merged]
            blocks += 1
            if blocks == RECORD or _settled(lat, w, groups):
                break
    cum = np.cumsum(w)
    return lat, cum / cum[-1]


def _settled(lat: np.ndarray, w: np.ndarray, groups: np.ndarray) -> bool:
    """Whether p50, p95 and p99 of the latencies sampled so far (sorted, weights `w`) are each within SETTLED of
    their value to SETTLED_Z Monte Carlo standard errors: the share of requests below each percentile in each of
    GROUPS groups of independent copies (batch means, each copy's closes in one group), its standard error across
    them, read back onto the latency through the pooled cdf."""
    cum = np.cumsum(w)
    total = cum[-1]
    mass = np.bincount(groups, weights=w, minlength=GROUPS)
    for q in QUANTILES:
        at = min(int(np.searchsorted(cum, q * total)), lat.size - 1)
        below = np.bincount(groups[: at + 1], weights=w[: at + 1], minlength=GROUPS) / mass
        se = float(below.std(ddof=1)) / math.sqrt(GROUPS)
        lo = lat[min(int(np.searchsorted(cum, max(q - SETTLED_Z * se, 0.0) * total)), lat.size - 1)]
        hi = lat[min(int(np.searchsorted(cum, min(q + SETTLED_Z * se, 1.0) * total)), lat.size - 1)]
        if hi - lo > 2.0 * SETTLED * lat[at]:
            return False
    return True


def stable_order(values: np.ndarray) -> np.ndarray:
    """np.argsort(values, kind="stable") (equal values in their order: the weights' sums follow it), from the default
    sort (AVX2's, where the stable one is timsort: 15 % of a chain's instructions) with its runs of equal values alone
    put in order (copies made from one at the end of burn-in can close alike at their first recorded close)."""
    order = np.argsort(values)
    ordered = values[order]
    same = ordered[1:] == ordered[:-1]
    if same.any():
        tied = np.flatnonzero(np.concatenate([same, [False]]) | np.concatenate([[False], same]))
        run = np.concatenate([[0], np.cumsum(~same)])[tied]  # each tied value's run, rising along `tied`
        order[tied] = order[tied][np.argsort(run * values.size + order[tied])]
    return order
