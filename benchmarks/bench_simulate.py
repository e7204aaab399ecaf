#!/usr/bin/env python3
"""Benchmark (not a test): `gpuplan estimate PROFILE --simulate --top 0` on every example profile, CPU seconds of
the whole command (wall time on a shared machine measures the neighbours).

Run: .venv/bin/python benchmarks/bench_simulate.py
Target (issue 17): ≤ 3 s per profile. Before the batch-means stop and the per-system cache the 7B serving profile
took 14.4 s CPU (16–18 s wall) for 120 simulations of up to 2,000,000 requests; planner/model/simulation.py
until_decided says why stopping earlier cannot change a plan's verdict. Before the first run scaled with one
holding cycle's requests (simulation.first_requests) bert-train-then-serve took 68 s (2,000,000-request runs for
a batch cap of 4,096 that never formed); figures in docs/internals.md, 'Performance'.
"""
from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 3.0


def cpu_seconds(args: list[str]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one child command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def main() -> int:
    gpuplan = str(Path(sys.executable).with_name("gpuplan"))
    worst = 0.0
    for profile in sorted((ROOT / "profiles").glob("*.yaml")):
        cpu, wall = cpu_seconds([gpuplan, "estimate", str(profile), "--simulate", "--top", "0"])
        worst = max(worst, cpu)
        print(f"{profile.name:32s} {cpu:6.2f} s CPU {wall:6.2f} s wall")
    print(f"worst {worst:.2f} s CPU (target ≤ {TARGET_S:g} s)")
    return 0 if worst <= TARGET_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
