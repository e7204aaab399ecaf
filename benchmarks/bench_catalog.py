#!/usr/bin/env python3
"""Benchmark of the imported market (not a test): import of the whole SkyPilot snapshot, catalog load, and the full
training and serving searches over it (wall and CPU time; the machine is shared, so CPU time is the steadier one).

Run: .venv/bin/python benchmarks/bench_catalog.py
Targets (issue 15): import of the snapshot ≤ 5 s; full training search ≤ 50 ms, serving ≤ 100 ms.
"""
from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPEATS = 5
sys.path.insert(0, str(ROOT))


def timed(call) -> tuple[float, float]:
    """Median wall and CPU seconds of `call()` over REPEATS runs."""
    walls, cpus = [], []
    for _ in range(REPEATS):
        wall, cpu = time.perf_counter(), time.process_time()
        call()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    from planner.catalog.load import BUNDLED_CATALOG, load_catalog
    from planner.catalog.snapshot_import import import_snapshot
    from planner.plans.search import estimate, searched_offers
    from planner.project.load import load_profile

    snapshot = BUNDLED_CATALOG / "snapshots" / "skypilot-2026-11-30"
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "catalog"
        shutil.copytree(BUNDLED_CATALOG, target, ignore=shutil.ignore_patterns("snapshots"))
        catalog = load_catalog(target)
        wall, cpu = timed(lambda: import_snapshot(snapshot, catalog, target))
        results = import_snapshot(snapshot, catalog, target)
    offers = sum(r.imported + r.kept for r in results)
    print(f"import of the snapshot ({len(results)} provider folders, {offers} offers): "
          f"{wall * 1e3:7.0f} ms wall {cpu * 1e3:7.0f} ms CPU")
    from planner.catalog import load as load_module

    def cold_load() -> None:
        # a new process's load: nothing in memory (the compiled cache on disk, planner/catalog/compiled.py, is what
        # a cold `gpuplan estimate` finds too)
        load_module._LOADED.clear()
        load_catalog()

    wall, cpu = timed(cold_load)
    catalog = load_catalog()
    total = sum(len(p.offers) for p in catalog.providers.values())
    print(f"catalog load ({len(catalog.providers)} providers, {total} offers):      "
          f"{wall * 1e3:7.0f} ms wall {cpu * 1e3:7.0f} ms CPU")
    for name in ("pretrain-1b-72h", "resnet50-imagenet", "serve-7b-chat", "bert-train-then-serve"):
        loaded = load_profile(ROOT / "profiles" / f"{name}.yaml", catalog)
        estimate(loaded, catalog)  # warm the caches the CLI fills once per process
        searched = len(searched_offers(loaded, catalog, __import__("datetime").date.today()))
        wall, cpu = timed(lambda: estimate(loaded, catalog))
        print(f"full search {name:24s} ({searched} offers searched): {wall * 1e3:7.1f} ms wall {cpu * 1e3:7.1f} ms CPU")


if __name__ == "__main__":
    main()
