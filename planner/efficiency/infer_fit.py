"""Fit the forward-pass model (planner/model/forward_time.py) to the published inference rows: one host floor per
execution mode (µs per kernel, held to its plausible range) and one compute efficiency per GPU architecture family,
jointly, by least squares on ln(predicted/actual). Rows at batch 1 pin the floor, batched rows the efficiency."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from planner.catalog.load import Catalog
from planner.io.profile import resolve_architecture
from planner.model.forward_time import (
    DEFAULT_HOST_FLOOR_US,
    HOST_FLOOR_RANGE_US,
    forward_seconds,
)
from planner.model.workload import Workload, workload_for
from planner.schema.catalog import GpuSpec
from planner.schema.priors import LaunchFloor
from planner.schema.runs import PublishedRun

EFFICIENCY_RANGE = (1e-3, 1.0)
"""A fraction of peak."""
FP32_FACTOR_MAX = 20.0
"""fp32 on CUDA cores reaches a larger share of its (low) peak than tensor cores of theirs: a factor ≥ 1 on the
efficiency (as the training curves' fp32_factor), capped so the product stays a fraction."""


@dataclass(frozen=True)
class InferenceRow:
    """A published forward-pass row in the model's terms."""

    run: PublishedRun
    work: Workload
    gpu: GpuSpec
    peak: float
    """Dense FLOP/s at the row's precision."""
    per_call: float
    """Metric units per forward call (samples or tokens of the batch)."""


def inference_row(run: PublishedRun, catalog: Catalog) -> InferenceRow | None:
    """The row in the forward-pass model's terms (None: not a forward-pass row, or no peak at its precision)."""
    if run.phase != "infer":
        return None
    gpu = catalog.gpu(run.gpu)
    tflops = gpu.peak_tflops.get(run.precision)
    if tflops is None:
        return None
    work = workload_for(resolve_architecture(run.model, catalog, run.id, seq_len=run.seq_len))
    batch = run.batch or 1.0
    per_call = batch * (work.tokens_per_sample if run.metric == "tokens_per_s" else 1.0)
    return InferenceRow(run, work, gpu, tflops * 1e12, per_call)


def row_rate(row: InferenceRow, efficiency: float, floor_us: float, fp32_factor: float = 1.0) -> float:
    """The row's predicted metric (samples/s or tokens/s per GPU count of 1)."""
    fp32 = row.run.precision == "fp32"
    eta = min(1.0, efficiency * (fp32_factor if fp32 else 1.0))
    return row.per_call / forward_seconds(row.work, row.run.batch or 1.0, row.peak * eta, floor_us * 1e-6,
                                          row.gpu.memory_bandwidth_gbs * 1e9, 4.0 if fp32 else 2.0)


def pick_efficiency(floor: LaunchFloor, arch: str) -> tuple[float, str]:
    """The fitted efficiency of a GPU family, else the pooled one; and the family used."""
    if arch in floor.efficiency and arch != "fp32_factor":
        return floor.efficiency[arch], arch
    return floor.efficiency["any"], "any"


def predict_inference_row(row: InferenceRow, floor: LaunchFloor) -> tuple[float, str]:
    """The row's predicted metric from a fitted floor, and the family whose efficiency it used."""
    eta, arch = pick_efficiency(floor, row.gpu.arch)
    return row_rate(row, eta, floor.microseconds, floor.efficiency.get("fp32_factor", 1.0)), arch


def fit_launch_floor(runs: Sequence[PublishedRun], catalog: Catalog) -> LaunchFloor:
    """The eager floor and per-family efficiencies fitted on the forward-pass rows among `runs`. Without rows the
    floor is DEFAULT_HOST_FLOOR_US and the efficiencies the training curves' large-matmul ceilings per GPU
    generation (or 1: the roofline)."""
    import numpy as np
    from scipy.optimize import least_squares

    rows = [r for r in (inference_row(run, catalog) for run in runs) if r is not None]
    archs = sorted({r.gpu.arch for r in rows})
    if not rows:  # no forward-pass rows: the large-matmul ceilings of the training curves (a transfer), else 1
        curves = {c.arch: c for c in catalog.train_curves if "-" not in c.arch}
        ceilings = {arch: c.peak_efficiency for arch, c in curves.items()} or {"any": 1.0}
        ceilings["fp32_factor"] = curves["any"].fp32_factor if "any" in curves else 1.0
        return LaunchFloor(mode="eager", microseconds=DEFAULT_HOST_FLOOR_US, plausible_us=HOST_FLOOR_RANGE_US,
                           efficiency=ceilings, log_sigma=0.0, n=0, runs=[])
    index = [archs.index(r.gpu.arch) for r in rows]
    actual = np.log([r.run.value / (r.run.gpu_count or 1) for r in rows])

    def residuals(theta: np.ndarray) -> np.ndarray:
        floor, fp32_factor = math.exp(theta[0]), math.exp(theta[1])
        return np.array([math.log(row_rate(r, math.exp(theta[2 + i]), floor, fp32_factor))
                         for r, i in zip(rows, index)]) - actual

    low = [math.log(HOST_FLOOR_RANGE_US[0]), 0.0] + [math.log(EFFICIENCY_RANGE[0])] * len(archs)
    high = [math.log(HOST_FLOOR_RANGE_US[1]), math.log(FP32_FACTOR_MAX)] + [math.log(EFFICIENCY_RANGE[1])] * len(archs)
    start = [math.log(DEFAULT_HOST_FLOOR_US), 0.5] + [math.log(0.3)] * len(archs)
    fit = least_squares(residuals, start, bounds=(low, high))
    efficiency: dict[str, float] = {arch: _sig(math.exp(fit.x[2 + i])) for i, arch in enumerate(archs)}
    efficiency["any"] = _sig(math.exp(float(np.mean(fit.x[2:]))))
    efficiency["fp32_factor"] = _sig(math.exp(fit.x[1]))
    sigma = math.sqrt(float(np.mean(fit.fun ** 2)))
    return LaunchFloor(mode="eager", microseconds=_sig(math.exp(fit.x[0])), plausible_us=HOST_FLOOR_RANGE_US,
                       efficiency=efficiency, log_sigma=_sig(min(3.0, sigma)), n=len(rows),
                       runs=sorted(r.run.id for r in rows))


def _sig(value: float) -> float:
    """Four significant figures: what the catalog stores."""
    return float(f"{value:.4g}")
