#!/usr/bin/env python3
"""Benchmark (not a test): the analytic TTFT p50/p95 (planner/plans/serving.py llm_latency, M/D/c waits by
Crommelin's formula, planner/model/md_c.py) against the discrete-event simulation of the same system
(planner/model/simulation.py simulate_llm), over loads 1–95 %, batch slots 1–64 and replicas 1–8.

The request is serve-7b-chat's (7B, 512 prompt / 256 output tokens) on one A100-80GB-SXM, timed by llm_timing at each
batch with the catalog's priors. Each simulation runs simulation_length.requests_for(servers, load) requests (2,000,000 at
heavy load), seed 1; its 95 % batch-means half-width says how far the simulated percentile itself may be off.

Ill-conditioned points: where P(W > 0) is within the simulation's reach of 1 − q, the q-quantile of W + U·step sits
on the edge of the no-wait atom and jumps by a whole wait for an arbitrarily small change of load (e.g. one slot at
5 % load: the simulated utilisation differs from ρ by ±0.3 %); they are counted apart ("edge") when the simulated
percentile's own 95 % half-width exceeds 10 %.

Run: .venv/bin/python benchmarks/bench_queue_agreement.py [--quick]
Target (issue 12): |analytic − simulated| ≤ 10 % of the simulated percentile at every point.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import planner
from planner.model.interconnect import intra_node_gbs
from planner.model.simulation import simulate_llm
from planner.model.simulation_length import requests_for
from planner.model.workload import workload_for
from planner.plans.serving import llm_latency, llm_timing

ROOT = Path(__file__).resolve().parent.parent

LOADS = (0.01, 0.02, 0.05, 0.10, 0.20, 0.30, 0.40, 0.50, 0.60, 0.70, 0.80, 0.90, 0.95)
BATCHES = (1, 2, 4, 8, 16, 32, 64)
REPLICAS = (1, 2, 4, 8)
TOLERANCE = 0.10
KEYS = ("ttft_p50", "ttft_p95")


def main() -> int:
    quick = "--quick" in sys.argv
    catalog = planner.load_catalog()
    loaded = planner.load_profile(ROOT / "profiles" / "serve-7b-chat.yaml", catalog,
                                  ["inference.max_batch=1", "constraints.gpus=[A100-80GB-SXM]"])
    inf = loaded.profile.inference
    efficiency = planner.plan(loaded, catalog).estimate.inference.plans[0].efficiency
    gpu = catalog.gpus["A100-80GB-SXM"]
    offer = next(o for o in catalog.offers({"A100-80GB-SXM"}) if o.offer.gpus_per_instance == 1)
    link_gbs, link = intra_node_gbs(gpu, offer)
    work = workload_for(loaded.arch)
    batches, replicas_list = ((1, 8, 64), (1, 4)) if quick else (BATCHES, REPLICAS)
    worst: dict[tuple[str, int, int], tuple[float, float]] = {}
    edge_points = 0
    start = time.perf_counter()
    print(f"{'batch':>5} {'repl':>4} {'load':>5}  {'key':8} {'analytic s':>10} {'simulated s':>11} {'±95%':>6} "
          f"{'error':>7}")
    for batch in batches:
        timing = llm_timing(work, inf, gpu, 1, batch, link_gbs, link, efficiency)
        for replicas in replicas_list:
            for load in LOADS:
                rate = load * replicas * timing.capacity_rps
                analytic = llm_latency(inf, timing, replicas, rate)
                servers = replicas * batch
                sim = simulate_llm(rate, replicas, batch, timing.prefill_s, timing.step_s, int(inf.output_tokens),
                                   requests=requests_for(servers, load), seed=1)
                for key in KEYS:
                    simulated, half = sim.latency_s[key], sim.half_width_s[key]
                    error = analytic[key] / simulated - 1.0
                    edge = half > TOLERANCE * simulated
                    edge_points += edge
                    flag = " edge" if edge else (" MISS" if abs(error) > TOLERANCE else "")
                    print(f"{batch:5d} {replicas:4d} {load:5.2f}  {key:8} {analytic[key]:10.4f} {simulated:11.4f} "
                          f"{half / simulated:6.1%} {error:+7.1%}{flag}", flush=True)
                    group = (key, batch, replicas)
                    if not edge and abs(error) > abs(worst.get(group, (0.0, 0.0))[0]):
                        worst[group] = (error, load)
    print(f"\nworst error per (batch, replicas), over loads {LOADS[0]:.0%}–{LOADS[-1]:.0%} "
          f"(excluding {edge_points} edge points):")
    for key in KEYS:
        print(f"{key}: " + "  ".join(f"b{b}×r{r} {worst.get((key, b, r), (0.0, 0.0))[0]:+.1%}"
                                     for b in batches for r in replicas_list))
    overall = max((abs(e) for e, _ in worst.values()), default=0.0)
    print(f"worst overall {overall:.1%} (target ≤ {TOLERANCE:.0%}); {time.perf_counter() - start:.0f} s")
    return 0 if overall <= TOLERANCE else 1


if __name__ == "__main__":
    raise SystemExit(main())
