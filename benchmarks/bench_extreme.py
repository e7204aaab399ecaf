#!/usr/bin/env python3
"""Benchmark of huge but valid loads (not a test): Erlang C, Poisson form vs the recursion, at the size a 1e8/s
service reaches (3 million replicas × 256 slots), and the in-process serving search for 1e8 requests/s on a 7B
model.

Run: .venv/bin/python benchmarks/bench_extreme.py
Target (issue 8): the 1e8/s serving search under 1 s (it took ~18 s before Erlang C had its Poisson form).
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PROFILE = """name: serve-7b-huge
model: {preset: llama-2-7b}
inference: {rate: 1e8/s, average_rate: 4e7/s, prompt_tokens: 512, output_tokens: 256, precision: bf16,
            slo: {ttft_p95: 500ms, tpot_p95: 50ms}}
"""


def main() -> None:
    from planner.catalog.load import load_catalog
    from planner.model import queueing
    from planner.plans.search import estimate
    from planner.project.load import load_profile

    servers, load = 845_000_000, 844_000_000.0
    queueing.erlang_c(servers, load)  # imports scipy.special once
    start = time.perf_counter()
    fast = queueing.erlang_c(servers, load)
    fast_s = time.perf_counter() - start
    queueing.RECURSION_STEPS, saved = 10**12, queueing.RECURSION_STEPS
    start = time.perf_counter()
    slow = queueing.erlang_c(servers, load)
    slow_s = time.perf_counter() - start
    queueing.RECURSION_STEPS = saved
    print(f"erlang_c({servers:,}, {load:,.0f}): Poisson {fast_s * 1e3:.3f} ms, recursion {slow_s * 1e3:.1f} ms "
          f"(×{slow_s / fast_s:,.0f}); relative difference {abs(fast / slow - 1):.1e}")

    catalog = load_catalog()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "huge.yaml"
        path.write_text(PROFILE, encoding="utf-8")
        loaded = load_profile(path, catalog)
        start = time.perf_counter()
        result = estimate(loaded, catalog)
        took = time.perf_counter() - start
    best = result.inference.plans[0]
    print(f"1e8 requests/s serving search: {took:.2f} s (target < 1 s); "
          f"best: {best.replicas:,}×{best.gpus_per_replica} {best.gpu} on {best.provider}, ${best.monthly_cost_usd:.3g}/month, utilisation {best.utilization:.1%}")


if __name__ == "__main__":
    main()
