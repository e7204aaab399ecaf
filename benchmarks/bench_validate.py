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
from planner.validate.runs import (  # noqa: E402
    rule_of_thumb_errors,
    summaries,
    validate,
)
from planner.validate.train_fit import (  # noqa: E402
    fit_curves,
    leave_one_out,
    load_published_runs,
    training_cases,
)

TARGETS = {
    # issue 13, `gpuplan validate --cross-validate source`: (group, figure, target, kind)
    ("overall", "median_abs_error"): (0.15, "≤"),
    ("overall", "p90_abs_error"): (0.35, "≤"),
    ("overall", "coverage_p10_p90"): ((0.75, 0.90), "within"),
    ("llm-pretraining ≥ 256 GPUs", "median_abs_error"): (0.15, "≤"),
    ("single-gpu-throughput", "median_abs_error"): (0.15, "≤"),
    ("inference-batch-1", "median_abs_error"): (0.25, "≤"),
    ("serving-decode", "median_abs_error"): (0.15, "≤"),
}


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
    rows = timed("validate --cross-validate source", lambda: validate(BUNDLED_CATALOG, cross_validate="source"))
    timed("validate --cross-validate gpu", lambda: validate(BUNDLED_CATALOG, cross_validate="gpu"))
    timed("validate --cross-validate family", lambda: validate(BUNDLED_CATALOG, cross_validate="family"))
    figures = summaries(rows)
    big = [r for r in rows if r.group == "llm-pretraining" and r.gpu_count >= 256]
    if big:
        figures["llm-pretraining ≥ 256 GPUs"] = summaries(big)["overall"]
    print("\nissue 13 targets, grouped cross-validation by source:")
    for (group, field), (target, kind) in TARGETS.items():
        value = getattr(figures[group], field)
        met = target[0] <= value <= target[1] if isinstance(target, tuple) else value <= target
        wanted = f"{target[0]:.0%}–{target[1]:.0%}" if isinstance(target, tuple) else f"≤ {target:.0%}"
        print(f"  {group:28s} {field:18s} {value:7.1%}  target {wanted:9s} {'met' if met else 'NOT met'}")
    for group, (median, p90, n) in rule_of_thumb_errors(rows, BUNDLED_CATALOG).items():
        print(f"  {group}: planner {figures[group].median_abs_error:.1%} median vs 6·N·D at 40 % of peak "
              f"{median:.1%} ({n} runs)")


if __name__ == "__main__":
    main()
