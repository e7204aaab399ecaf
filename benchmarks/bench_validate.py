#!/usr/bin/env python3
"""Benchmark of `gpuplan validate` (not a test): in-process time of building the training cases, one curve fit,
the full leave-one-out, and `validate` with and without --leave-one-out.

Run: .venv/bin/python benchmarks/bench_validate.py
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from planner.catalog.load import BUNDLED_CATALOG, load_catalog  # noqa: E402
from planner.efficiency.train_fit import (  # noqa: E402
    fit_curves,
    leave_one_out,
    load_published_runs,
    training_cases,
)
from planner.validate.runs import validate  # noqa: E402


def timed(label: str, func):
    start = time.perf_counter()
    result = func()
    print(f"{label:44s} {1e3 * (time.perf_counter() - start):8.0f} ms")
    return result


def main() -> None:
    catalog = load_catalog(BUNDLED_CATALOG)
    runs = load_published_runs(BUNDLED_CATALOG, catalog)
    cases = timed(f"training cases ({len(runs)} runs)", lambda: training_cases(runs, catalog))
    timed(f"one curve fit ({len(cases)} cases)", lambda: fit_curves(cases))
    timed("leave-one-out (one refit per case)", lambda: leave_one_out(cases))
    timed("validate (after the cached leave-one-out)", lambda: validate(BUNDLED_CATALOG))
    timed("validate --leave-one-out", lambda: validate(BUNDLED_CATALOG, leave_one_out=True))


if __name__ == "__main__":
    main()
