"""Prototype harness (issue 12 item 2): dynamic batching on c ≥ 3 replicas at every load, with no delay (T = 0, a
profile without inference.max_queue_delay) and with bert's 10 ms: the one-server chain (c times as fast), the
sampled embedded chain (planner/model/sampled_chain.py) and the planner's chain (batching_chain) against
simulate_dynamic_batching (200,000 requests, seed 1), on bert-train-then-serve's curves at the plans' limits (RTX 3060
1,931, RTX A6000 4,096: out of reach).

Measured 2026-12-02, signed error p50/p95/p99 % against the simulation at seed 1 (docs/serving.md 'Known limits'
has the p95 table):
  * no delay, c = 3, 4, 6, 8, both GPUs, 1, 5, 10, 20, 30, 50, 65, 80, 90 %: one server c times as fast +24 % (p95,
    p99) at 1–10 % down to −75 % at 50–90 %; three replicas' triple_chain past 60 % +7 to +32 % at 80–90 % (1.2–5.4 s
    a chain); the sampled chain within 6.3 % (worst −6.3/−3.4/−3.3 RTX 3060, c = 3, 90 %), 0.06–0.24 s a chain, 0.38 s
    at RTX A6000, c = 8, 20 % (burn-in 29 blocks). There, with burn-in on the mean R alone (main 686bd9f),
    +1.9/+22.0/+11.1: the replicas' phases settle over ~1,500 closes (the chain's own Monte Carlo over 200,000
    sequential closes: p95 18.19 ms, the simulation 18.33), which _drifting now waits for.
  * the sampling's seeds 1–5 (no delay, c = 3, 4, 8, 5/20/50/90 %): a percentile moves by at most 1.4 points, except
    RTX A6000, c = 8, 20 %: p95 6.3 points (−4.7 to +1.6 %; the simulation's own seeds 1–5 give 15.3–18.3 ms there).
  * 1 ms delay, c = 4, 8, 5–50 %: one server −52 % p95 at 50 % (RTX A6000), +14 % p99 at 5 %; sampled within 3.1 %.
  * 10 ms (bert's), c = 3, 4, 5, 6, 8 at 1–60 %: one server within 1.6 % but −5.9 % p99 at RTX 3060, c = 3, 60 %;
    its closes that wait for a replica ≤ 0.5 % up to 30 %. c = 3 at 65–90 %: sampled within 5.0 % (0.12–0.16 s),
    triple_chain within 9.6 % (0.09–2.1 s). c = 4, 8, limit 1,024 at 65–90 %: batches do not reach it, sampled
    within 6.6 %.
  * limit 64, c = 4 (batches fill: LeftoverChain, one server four times as fast): no delay −22 to −55 % p95 at
    30–50 %, 1 ms −12 to −52 % at 50 % (chain_scope.known_low named them; now FillingChain: many_replicas_filling.py).

  * batches that fill on four or more (issue 12 item 2, not yet followed: LeftoverChain, one server c times as fast),
    bert's 10 ms, p50/p95/p99 at 65/80/90 %: limit 16 within 6.9 % (c = 4, 6, 8); limit 64: RTX 3060 −22.6/−28.1 at
    80 % and −34.4/−31.9 at 90 % (c = 4), −41.2 p95 at 90 % (c = 6), −37.7 (c = 8); RTX A6000 within 9.7 % (−8.4 p95,
    c = 4, 90 %); limit 256: −24 to −55 % p95/p99 at 80–90 % (RTX A6000, c = 4, 90 %: −51.9/−55.4); all flagged by
    chain_scope.known_low (past 60 %, limit ≤ 256; since removed). Limit 1,024: not reached at 65–90 %, sampled,
    within 6.6 %.

Run: .venv/bin/python benchmarks/prototypes/many_replicas_no_delay.py DELAY C[,C] [LOAD,LOAD] [METHODS]
(DELAY in ms, 0: none; METHODS from one,sampled,planner; simulations cached in /tmp/many_replicas_nodelay_sims.json)
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from many_replicas_closures import DELAY_CACHE as CACHE, KEYS, curves, one_server_chain, simulated  # noqa: E402

from planner.model.batching_chain import BatchingChain, batching_chain  # noqa: E402
import planner.model.sampled_chain as sampling  # noqa: E402
from planner.model.sampled_chain import sampled_stationary  # noqa: E402

LOADS = (0.01, 0.05, 0.10, 0.20, 0.30, 0.50, 0.65, 0.80, 0.90)


BURN = [0]
_drifting = sampling._drifting


def _counted(early, late):  # burn-in blocks, counted
    BURN[0] += 1
    return _drifting(early, late)


sampling._drifting = _counted


def sampled_chain(rate: float, c: int, limit: int, delay: float, S, seed: int | None = None) -> object:
    got = sampled_stationary(rate, c, limit, delay, S, seed)
    if got is None:
        return None
    weight, r, top = got
    return BatchingChain(rate, delay, limit, top, S, weight, r)


METHODS = {"one": lambda rate, c, limit, delay, S: one_server_chain(rate, c, limit, delay, S),
           "sampled": sampled_chain,
           "planner": lambda rate, c, limit, delay, S: batching_chain(rate, c, limit, delay, S)}


def main() -> int:
    delay = float(sys.argv[1]) / 1000
    reps = [int(v) for v in sys.argv[2].split(",")]
    loads = [float(v) for v in sys.argv[3].split(",")] if len(sys.argv) > 3 else list(LOADS)
    methods = sys.argv[4].split(",") if len(sys.argv) > 4 else ["one", "sampled"]
    _, gpus = curves()
    cache = json.loads(CACHE.read_text()) if CACHE.exists() else {}
    print(f"delay {delay * 1000:g} ms; error p50/p95/p99 % against the simulation (seed 1), CPU s a chain")
    print("| GPU | c | load | " + " | ".join(methods) + " | sim p95 ms |")
    for c in reps:
        for name, (limit, table) in gpus.items():
            def S(b: float, table: list[float] = table) -> float:
                return table[int(b) - 1]
            for load in loads:
                rate, sim = simulated(cache, name, limit, c, load, delay, S, CACHE, keyed=True)
                cells = []
                for m in methods:
                    BURN[0] = 0
                    t0 = time.process_time()
                    chain = METHODS[m](rate, c, limit, delay, S)
                    if chain is None:
                        cells.append("none")
                        continue
                    got = chain.values([0.5, 0.95, 0.99])  # type: ignore[attr-defined]
                    cpu = time.process_time() - t0
                    cells.append("/".join(f"{100 * (g / sim[q] - 1):+.1f}" for g, q in zip(got, KEYS))
                                 + f" ({cpu:.2f}" + (f", {BURN[0] + 1}" if BURN[0] else "") + ")")
                print(f"| {name} | {c} | {round(load * 100)} % | " + " | ".join(cells)
                      + f" | {1000 * sim['latency_p95']:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
