"""Prototype (not used by the planner): closures of the dynamic-batching chain for c ≥ 3 replicas, judged by Monte
Carlo of each approximate chain (so no grid or quadrature error enters) against simulate_dynamic_batching
(planner/model/simulation.py; 200,000 requests, seed 1). Issue 12 item 2; docs/serving.md 'Known limits'.

At a close the exact state is the batch b just closed and the c − 1 other replicas' residuals ρ₁ ≤ … ≤ ρ_{c−1}
(0: idle). With R = min(S(b), ρ₁) and G ~ Exp(λ), the batch closes D = max(T, R − G) after its first request, the
gap between closes is G + D, the next batch carries 1 + Pois(λD), and the new residuals are the old ones (S(b)
included) less the one that frees first, less the gap. A closure keeps (b, ρ₁) (or a few ρ) and replaces the rest:

  exact   the whole residual vector (the same dynamics as the simulation, another random stream: its noise)
  two     c replicas as 2 servers each c/2 as fast: the 2-replica chain with residual S(b)·2/c (latency at S(b))
  gap     ρ₂ = ρ₁ + a gap between closes drawn from the chain's own stationary gaps
  even    ρ₂ = ρ₁ + (S(b) − ρ₁)/(c − 1): the others evenly spaced between ρ₁ and the newest batch
  fifo    replicas free in the order they took batches: R = S(b_{n+1−c}) less the last c − 1 gaps
  H<k>    k earliest residuals tracked, the other c − 1 − k drawn i.i.d. (above the k-th) from the chain's own
          stationary distribution of residuals at closes (a self-consistent fixed point)
  s<k>    k tracked, the rest at i.i.d. spacings drawn from the chain's own stationary spacings

Measured 2026-12-01 on bert-train-then-serve's curves as benchmarks/bench_dynamic_batching_agreement.py builds them
(10 ms delay, the plan's memory limit: RTX 3060 1931, RTX A6000 4096), the worst |error| over p50/p95/p99 and both
GPUs at 65, 80 and 90 % of capacity (* at 80–90 % only; at 1–65 %, exact and two, run there at c = 3 and 4, are
within 2 %; with limit 64, two's worst is 10 % at c = 3 and 16 % at c = 4):

| method | c = 3 | c = 4 | c = 8 | c = 16 | sign |
| --- | --- | --- | --- | --- | --- |
| planner (R = S(b)/c) | 48 % | 55 % | 62 % | 58 % | low |
| exact | 5 % | 4 % | 7 % | 15 %* | noise: the simulation's 95 % half-width reaches 16 % at 90 % |
| two | 18 % | 24 % | 50 % | 77 % | p95/p99 low at c ≤ 4 (−17/−18 % A6000 90 %), p50 +16 to +67 % at 90 % c ≥ 4 |
| gap | 68 % | 67 % | 68 % | 63 % | low: the closure does not pin R's level, R drifts to 0 |
| even | 35 % | 56 % | 63 % | 63 % | low |
| fifo | 85 % | 182 % | 541 % | 1293 % | high: which replica frees first is not the oldest batch's (S(b) spreads) |
| H0 | 31 % | 59 % | 146 % | 165 % | high |
| H1 | 22 % | 22 % | 121 % | 62 % | p50 −14 to −22 % at 90 % c ≤ 4; +26 to +121 % at 80 % c = 8; c = 16 as the planner |
| H2 | (= exact) | 16 %* | 91 %* | 63 %* | as H1 |
| s1 | 37 % | 333 % | 6129 % | 4523 % | high: the spacings feed back and grow |

two solved numerically (two_server_chain: model/pair_chain.py's chain on residuals S(b)·2/c, the latency from
BatchingChain at S(b); 33-point residual grid, 47–60 R states, 71 ms CPU median, 245 ms most, on a shared 2-core
machine) agrees with its Monte Carlo: worst at 65–90 %, limit out of reach, 4/17 % (c = 3, RTX 3060/A6000), 11/25 %
(c = 4), 29/51 % (c = 8), 33/54 % (c = 16); A6000 90 % p95 −17 % (c = 3), −21 % (c = 4).

No closure holds 10 % at every c; two (c = 3 within 10 % on the RTX 3060 curve, −17 % p95 on the A6000 at 90 %)
and H1/H2 (c ≤ 4 within 16–22 %) come nearest. In the exact dynamics, with c = 4 at 80 % the spacing ρ₂ − ρ₁ spans
1.6–16 ms (10–90 %) where the gaps between closes span 10.0–11.6 ms: the batch sizes' spread in S(b) sets the
order in which replicas free, which no closure tried carries; at c = 16, 90 %, a replica is idle at 58 % of closes
and the tail comes from rare stretches with none idle.

Run: .venv/bin/python benchmarks/prototypes/many_replicas_closures.py RULE[,RULE] (or two-numeric) C[,C] [LOAD,LOAD] (simulations
cached in /tmp/many_replicas_sims.json)."""
from __future__ import annotations

import bisect
import json
import math
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

import planner
from planner.model.simulation import simulate_dynamic_batching
from planner.model.workload import workload_for
from planner.plans.serving import batch_service_seconds

ROOT = Path(__file__).resolve().parents[2]
LOADS = (0.01, 0.10, 0.30, 0.50, 0.65, 0.80, 0.90)
KEYS = ("latency_p50", "latency_p95", "latency_p99")
CACHE = Path("/tmp/many_replicas_sims.json")
DELAY_CACHE = Path("/tmp/many_replicas_nodelay_sims.json")  # keyed by the delay too (many_replicas_no_delay.py)
BUFFER = 20_000  # the closure's own stationary samples kept (the newest)


def closure_chain(rule: str, c: int, lam: float, T: float, S: Callable[[int], float], limit: int,
                  closes: int = 200_000, seed: int = 1) -> dict[str, float]:
    """Latency p50/p95/p99 of the chain under `rule` (module docstring), from `closes` closes (the first 10 % left out):
    a close's first request waits D, the others a uniform share of it, each then S(b)."""
    rng = np.random.default_rng(seed)
    gs = rng.exponential(1 / lam, closes).tolist()
    us = rng.random(closes * (c + 1)).tolist()
    ui = 0
    two = rule == "two"
    n_c = 2 if two else c
    Sr = (lambda b: S(b) * 2 / c) if two else S  # noqa: E731  the residual's service (two: c/2 as fast)
    k = int(rule[1:]) if rule[0] in "Hs" else 1
    res = [0.0] * (n_c - 1)  # others' residuals (exact: all, sorted; closures: res[:k] tracked)
    s = 0.0
    own: list[float] = [0.0]  # the closure's own samples (gaps, residuals or spacings)
    ordered = [0.0]
    hist_t, hist_s, now = [0.0] * c, [0.0] * c, 0.0
    Ds, Bs = np.empty(closes), np.empty(closes, dtype=np.int64)
    for n in range(closes):
        others = list(res) if rule in ("exact", "two") else list(res[:k])
        if rule[0] in "Hs" and len(others) < n_c - 1:
            lo = others[-1] if others else 0.0
            j0 = bisect.bisect_left(ordered, lo)
            for _ in range(n_c - 1 - len(others)):
                if rule[0] == "s":
                    lo += own[int(us[ui] * len(own))]
                    others.append(lo)
                else:
                    m = len(ordered) - j0
                    others.append(max(lo, ordered[j0 + int(us[ui] * m)]) if m > 0 else lo)
                ui = (ui + 1) % len(us)
        elif rule in ("gap", "even") and n_c > 2:
            others.append(others[0] + (own[int(us[ui] * len(own))] if rule == "gap" else (s - others[0]) / (c - 1)))
            ui = (ui + 1) % len(us)
        if rule == "fifo":
            R = min(s, max(0.0, hist_t[(n + 1) % c] + hist_s[(n + 1) % c] - now)) if n >= c else 0.0
        else:
            R = min([s] + others)
        G = gs[n]
        D = max(T, R - G)
        gap = G + D
        b = min(limit, 1 + int(rng.poisson(lam * D)))
        Ds[n], Bs[n] = D, b
        new = [max(0.0, x - gap) for x in sorted([s] + others)[1:]]
        res = new[:k] if rule[0] in "Hs" or rule in ("gap", "even") else new
        if rule == "fifo":
            now += gap
            hist_t[(n + 1) % c] = now
        sample = {"gap": [gap], "even": []}.get(rule, new if rule[0] == "H" else
                                                   [y - x for x, y in zip(new[k - 1:], new[k:])] if rule[0] == "s"
                                                   else [])
        for x in sample:
            if len(own) < BUFFER:
                own.append(x)
            else:
                own[int(us[ui] * BUFFER)] = x
                ui = (ui + 1) % len(us)
        if n % 1000 == 0 and rule[0] == "H":
            ordered = sorted(own)
        s = Sr(b)
        if rule == "fifo":
            hist_s[(n + 1) % c] = s
    return close_latencies(Ds, Bs, [S(b) for b in range(1, limit + 1)], rng)


def close_latencies(ds: np.ndarray, bs: np.ndarray, service: list[float], rng: np.random.Generator
                    ) -> dict[str, float]:
    """p50/p95/p99 of the requests' latencies from each close's time since its first arrival D and batch size B (the
    first tenth dropped as warm-up): the first request waits D, the B − 1 others a uniform share of it, each then
    S(B) (`service`: S(1) … S(limit))."""
    start = ds.size // 10
    ds, bs = ds[start:], bs[start:]
    sv = np.array(service)[bs - 1]
    at = np.repeat(np.arange(bs.size), bs - 1)
    latency = np.concatenate([ds + sv, ds[at] * rng.random(at.size) + sv[at]])
    return dict(zip(KEYS, (float(v) for v in np.quantile(latency, [0.5, 0.95, 0.99]))))


def one_server_chain(rate: float, c: int, limit: int, delay: float, S: Callable[[float], float]) -> object:
    """The one-server chain of c replicas, whatever batching_chain follows past MULTI_REPLICA_LOAD (since
    planner/model/triple_chain.py it follows c = 3 on its residuals there): the start the residual prototypes take."""
    import planner.model.batching_chain as chains

    saved = chains.MULTI_REPLICA_LOAD
    chains.MULTI_REPLICA_LOAD = float("inf")
    try:
        return chains.batching_chain(rate, c, limit, delay, S)
    finally:
        chains.MULTI_REPLICA_LOAD = saved


def two_server_chain(rate: float, c: int, limit: int, delay: float, S: Callable[[float], float]) -> object:
    """The two-server reduction solved as the planner solves two replicas: pair_stationary on residuals S(b)·2/c,
    BatchingChain's latency at S(b); the planner's chain where batches reach the limit or no replica is ever busy."""
    from planner.model.batching_chain import BatchingChain, batching_chain
    from planner.model.pair_chain import pair_stationary

    base = batching_chain(rate, c, limit, delay, S)
    if not isinstance(base, BatchingChain) or float(base.r.max(initial=0.0)) == 0.0:
        return base
    pair = pair_stationary(rate, limit, delay, lambda b: S(b) * 2 / c, base.top, max(2 * float(base.r.max()), S(1)))
    if pair is None:
        return base
    weight, r, top = pair
    return BatchingChain(rate, delay, limit, top, S, weight, r)


def curves() -> tuple[float, dict[str, tuple[int, list[float]]]]:
    """bert-train-then-serve's delay, and per GPU the plan's batch limit and S(b) for b = 1 … limit."""
    catalog = planner.load_catalog()
    loaded = planner.load_profile(ROOT / "profiles" / "bert-train-then-serve.yaml", catalog)
    inf, work = loaded.profile.inference, workload_for(loaded.arch)
    plans = {p.gpu: p for p in reversed(planner.plan(loaded, catalog).estimate.inference.plans)}
    out = {}
    for name in ("RTX-3060", "RTX-A6000"):
        plan, gpu = plans[name], catalog.gpus[name]
        out[name] = (plan.batch_size, [batch_service_seconds(work, inf, gpu, plan.efficiency, float(b))
                                       for b in range(1, plan.batch_size + 1)])
    return inf.max_queue_delay or 0.0, out


def simulated(cache: dict[str, dict[str, float]], name: str, limit: int, c: int, load: float, delay: float,
              S: Callable[[float], float], store: Path = CACHE, keyed: bool = False) -> tuple[float, dict[str, float]]:
    """The rate at `load` of c replicas' capacity at full batches, and the simulation's latencies there (200,000
    requests, seed 1; delay 0: none), from `cache` (kept in `store`) or simulated once; `keyed`: the delay is in the
    key (DELAY_CACHE's keys, as many_replicas_no_delay.py writes them; CACHE's are bert's 10 ms)."""
    rate = load * c * limit / S(limit)
    key = f"{name}|{limit}|{c}|{load}" + (f"|{delay}" if keyed else "")
    if key not in cache:
        cache[key] = simulate_dynamic_batching(rate, c, limit, S, delay or None, requests=200_000,
                                               seed=1).latency_s
        store.write_text(json.dumps(cache))
    return rate, cache[key]


def runs(c: int, limits: list[int] | None, loads: list[float], delay: float | None = None
         ) -> Iterator[tuple[str, Callable[[float], float], float, int, float, float, dict[str, float]]]:
    """Each (GPU, S, delay, limit, load, rate, simulated latencies) of c replicas over curves()' GPUs, at `limits`
    (None: each GPU's plan limit) and `loads`, with bert's delay (None) or `delay` s (0: none), simulations from
    CACHE (DELAY_CACHE where a delay is given) or made once."""
    own_delay, gpus = curves()
    keyed = delay is not None
    store = DELAY_CACHE if keyed else CACHE
    delay = own_delay if delay is None else delay
    cache = json.loads(store.read_text()) if store.exists() else {}
    for name, (own, table) in gpus.items():
        def S(b: float, table: list[float] = table) -> float:
            return table[int(b) - 1]
        for limit in ([own] if limits is None else limits):
            for load in loads:
                rate, sim = simulated(cache, name, limit, c, load, delay, S, store, keyed)
                yield name, S, delay, limit, load, rate, sim


def cases(c: int, default_limits: list[int], default_loads: list[float]
          ) -> Iterator[tuple[str, Callable[[float], float], float, int, float, float, dict[str, float]]]:
    """runs() of c replicas at the limits and loads from argv[1] and argv[2] (comma-separated) else the defaults."""
    limits = [int(v) for v in sys.argv[1].split(",")] if len(sys.argv) > 1 else default_limits
    loads = [float(v) for v in sys.argv[2].split(",")] if len(sys.argv) > 2 else default_loads
    return runs(c, limits, loads)


def main() -> int:
    rules = sys.argv[1].split(",")
    reps = [int(x) for x in sys.argv[2].split(",")] if len(sys.argv) > 2 else [3, 4, 8, 16]
    loads = [float(x) for x in sys.argv[3].split(",")] if len(sys.argv) > 3 else list(LOADS)
    delay, gpus = curves()
    cache = json.loads(CACHE.read_text()) if CACHE.exists() else {}
    for rule in rules:
        print(f"\n{rule}: error p50/p95/p99 %\n| GPU, limit, c | " + " | ".join(f"{round(x * 100)} %" for x in loads) + " |")
        for c in reps:
            for name, (limit, table) in gpus.items():
                def S(b: float, table: list[float] = table) -> float:
                    return table[int(b) - 1]
                cells = []
                for load in loads:
                    rate, sim = simulated(cache, name, limit, c, load, delay, S)
                    if rule == "two-numeric":
                        chain = two_server_chain(rate, c, limit, delay, S)
                        got = dict(zip(KEYS, chain.values([0.5, 0.95, 0.99])))  # type: ignore[attr-defined]
                    else:
                        got = closure_chain(rule, c, rate, delay, lambda b, S=S: S(b), limit)
                    cells.append("/".join(f"{100 * (got[q] / sim[q] - 1):+.0f}" for q in KEYS))
                print(f"| {name}, {limit}, {c} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
