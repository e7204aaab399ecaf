"""Prototype harness (issue 12 item 2): the planner's dynamic-batching chain (batching_chain) against
simulate_dynamic_batching at several seeds, where one seed's simulation is too noisy to judge a point by: near
saturation, and on many replicas, the simulation's own p95 moves by 10–30 % between seeds of 200,000 requests (the
arrival streams differ; bert's seed 1 is among the highest of seeds 1–5 at 90–97 % of capacity).

Prints, per point, the simulation's p50/p95/p99 ms at the first seed, the largest batch any seed's run carried, the
spread of p95 over the seeds, and the chain (its class) as signed p50/p95/p99 % against the first seed and against the
seeds' mean, with its CPU. bert-train-then-serve's curves (many_replicas_closures.curves, S(b) read up to the limit),
load the rate over replicas × limit / S(limit); delay 0: none. Simulations cached in /tmp/batching_seeds_sims.json.

Measured 2026-12-02 (docs/serving.md 'Known limits'; figures in planner/model/batching_chain.py and
benchmarks/prototypes/two_replicas_no_delay.py, many_replicas_filling.py):
  * two replicas, limits 64, 256, 512, 1,024 and 4,096, 1–90 %, no delay, 1, 2, 5 and 10 ms, both curves, seeds 1–5
    of 200,000 requests: batches never reach 512 (the simulations' largest 117 on the RTX A6000, 91 on the RTX 3060),
    so limits above 256 are the pair chain with the limit out of reach; it missed 10 % with a short delay (RTX 3060,
    90 %, 1 ms: +6.9/+8.4/+13.1 % against seed 1, +11.9/+12.2/+13.6 against the mean; 512 and 1,024 alike) where the
    grid was extrapolated only without one;
  * limits above 256 that batches reach: two replicas at 95–97 % (limits 300 and 512): the one-server chain with a
    batch at the limit taken as closing there, −18 to −33 % p95 against the seeds' mean, now FillingChain;
  * RTX A6000, 8 replicas, limit 512, 90 %, 10 ms: 1,000,000 and 5,000,000 requests, seeds 1–5;
  * 95 % of capacity, 2, 3, 4 and 8 replicas, limits 16, 64, 256, no delay, 1 and 10 ms: 1,000,000 requests, seeds 1–5.

Run: .venv/bin/python benchmarks/prototypes/batching_seeds.py GPU[,GPU] C[,C] LIMIT[,LIMIT] LOAD[,LOAD]
DELAY_MS[,DELAY_MS] [SEED,SEED] [REQUESTS] (seeds 1–5 and 200,000 requests unless given).
"""
from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from many_replicas_closures import KEYS  # noqa: E402

from planner.model.batching_chain import batching_chain  # noqa: E402
from planner.model.simulation import simulate_dynamic_batching  # noqa: E402

CACHE = Path("/tmp/batching_seeds_sims.json")
QS = [0.5, 0.95, 0.99]


def main() -> int:
    gpus = sys.argv[1].split(",")
    reps, limits = [int(v) for v in sys.argv[2].split(",")], [int(v) for v in sys.argv[3].split(",")]
    loads = [float(v) for v in sys.argv[4].split(",")]
    delays = [float(v) / 1000 for v in sys.argv[5].split(",")]
    seeds = [int(v) for v in sys.argv[6].split(",")] if len(sys.argv) > 6 else [1, 2, 3, 4, 5]
    requests = int(sys.argv[7]) if len(sys.argv) > 7 else 200_000
    curves = service_curves(gpus)
    cache: dict[str, list[float]] = json.loads(CACHE.read_text()) if CACHE.exists() else {}
    print("| GPU | c | limit | delay ms | load | sim ms (seed " + str(seeds[0]) + ") | largest | p95 over seeds ms "
          "| chain: error p50/p95/p99 % first seed ; seeds' mean | CPU s |")
    for delay in delays:
        for name in gpus:
            S = curves[name]
            for c in reps:
                for limit in limits:
                    for load in loads:
                        rate = load * c * limit / S(limit)
                        sims = []
                        for seed in seeds:
                            key = f"{name}|{c}|{limit}|{load}|{delay}|{seed}|{requests}"
                            if key not in cache:
                                got = simulate_dynamic_batching(rate, c, limit, S, delay or None, requests=requests,
                                                                seed=seed)
                                cache[key] = [got.latency_s[k] for k in KEYS] + [got.largest_batch]
                                CACHE.write_text(json.dumps(cache))
                            sims.append(cache[key])
                        mean = [float(np.mean([s[i] for s in sims])) for i in range(3)]
                        t0 = time.process_time()
                        chain = batching_chain(rate, c, limit, delay, S)
                        values = chain.values(QS)
                        cpu = time.process_time() - t0
                        print(f"| {name} | {c} | {limit} | {1000 * delay:g} | {round(100 * load)} % | "
                              + "/".join(f"{1000 * v:.0f}" for v in sims[0][:3])
                              + f" | {max(int(s[3]) for s in sims)} | "
                              + f"{1000 * min(s[1] for s in sims):.0f}–{1000 * max(s[1] for s in sims):.0f} | "
                              + f"{type(chain).__name__} {signed(values, sims[0])} ; {signed(values, mean)} | "
                              + f"{cpu:.2f} |", flush=True)
    return 0


def service_curves(names: list[str]) -> dict[str, Callable[[float], float]]:
    """S(b) on each GPU's curve of bert-train-then-serve's plan, at any batch size (read from the model, kept)."""
    import planner
    from planner.model.workload import workload_for
    from planner.plans.serving import batch_service_seconds

    root = Path(__file__).resolve().parents[2]
    catalog = planner.load_catalog()
    loaded = planner.load_profile(root / "profiles" / "bert-train-then-serve.yaml", catalog)
    inf, work = loaded.profile.inference, workload_for(loaded.arch)
    plans = {p.gpu: p for p in reversed(planner.plan(loaded, catalog).estimate.inference.plans)}
    out = {}
    for name in names:
        gpu, efficiency, seen = catalog.gpus[name], plans[name].efficiency, {}

        def of(b: float, gpu: object = gpu, efficiency: float = efficiency, seen: dict[int, float] = seen) -> float:
            size = int(b)
            if size not in seen:
                seen[size] = batch_service_seconds(work, inf, gpu, efficiency, float(size))  # type: ignore[arg-type]
            return seen[size]
        out[name] = of
    return out


def signed(values: list[float], sim: list[float]) -> str:
    return "/".join(f"{100 * (v / s - 1):+.1f}" for v, s in zip(values, sim))


if __name__ == "__main__":
    sys.exit(main())
