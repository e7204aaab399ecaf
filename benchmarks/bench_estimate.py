#!/usr/bin/env python3
"""Benchmark of `gpuplan estimate` (not a test): cold wall time per example profile vs the import floor, and
the in-process time of a full training search (all GPUs × all offers × counts 1–4096).

Run: .venv/bin/python benchmarks/bench_estimate.py
Targets (issue 2): cold estimate ≤ 0.4 s and ≤ 2× the import floor; full search ≤ 50 ms.
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPEATS = 5


def cold(args: list[str]) -> float:
    """Median wall time of a fresh interpreter running `args`."""
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        subprocess.run(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def full_search_seconds() -> tuple[float, int]:
    """Median in-process time of a training search over every offer and count 1–4096 (catalog cached)."""
    sys.path.insert(0, str(ROOT))
    from planner.catalog.load import load_catalog
    from planner.io.profile import load_profile
    from planner.plans.search import estimate

    catalog = load_catalog()
    loaded = load_profile(ROOT / "profiles" / "pretrain-1b-72h.yaml", catalog)
    times, plans = [], 0
    for _ in range(REPEATS):
        start = time.perf_counter()
        result = estimate(loaded, catalog)
        times.append(time.perf_counter() - start)
        plans = len(result.training.plans)
    return statistics.median(times), plans


def main() -> None:
    python = sys.executable
    floor = cold([python, "-c", "import numpy, scipy, pydantic, yaml"])
    print(f"import floor (numpy, scipy, pydantic, yaml): {floor * 1e3:7.0f} ms")
    for profile in sorted((ROOT / "profiles").glob("*.yaml")):
        wall = cold([python, "-m", "planner", "estimate", str(profile), "--format", "json"])
        print(f"cold estimate {profile.name:28s} {wall * 1e3:7.0f} ms   {wall / floor:4.2f}× floor")
    seconds, plans = full_search_seconds()
    print(f"full training search (all offers × counts 1–4096, {plans} offers): {seconds * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
