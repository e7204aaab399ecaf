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
idle until _drifting stops, on the mean R and the mean batch size; copied to CHAINS; RECORD blocks of BLOCK
closes), the seed fixed: the same floats run to run. Measured: benchmarks/prototypes/many_replicas_filling.py.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from planner.model.sampled_chain import BLOCK, BURN_CHAINS, CHAINS, MAX_BLOCKS, RECORD, SEED, _drifting, taken


def filling_sample(rate: float, replicas: int, limit: int, delay: float, service_of: Callable[[float], float],
                   seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Latencies sampled (sorted) and their cumulative share of requests (module docstring); `seed`: SEED unless
    given (the prototype's spread over seeds)."""
    lam, T, c, n = rate, delay, replicas, BURN_CHAINS
    rng = np.random.default_rng(SEED if seed is None else seed)
    table = np.array([service_of(float(b)) for b in range(1, limit + 1)])
    free = np.zeros((c, n))  # each replica's free time from the current close, sorted up a copy's column (taken)
    nxt = rng.exponential(1.0 / lam, n)  # the next batch's first request, from the current close
    burning, kept_lat, kept_w = True, [], []
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
            k = rng.binomial(max(limit - 2, 0), np.clip(p, 0.0, 1.0))
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
            kept_lat.append(np.concatenate(lat_blk))
            kept_w.append(np.concatenate(w_blk))
            if len(kept_lat) == RECORD:
                break
    lat = np.concatenate(kept_lat)
    order = stable_order(lat)
    ordered = lat[order]
    cum = np.cumsum(np.concatenate(kept_w)[order], dtype=np.float64)
    return ordered, cum / cum[-1]


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
