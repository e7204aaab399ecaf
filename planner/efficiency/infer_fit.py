"""Fit the forward-pass model (planner/model/forward_time.py) to the published inference rows: one host floor per
execution mode (µs per eager-graph operator, held to the mode's plausible range), one compute efficiency per GPU
architecture family and, for the modes other than eager, one efficiency factor relative to eager (fused engines skip
passes eager runs separately), jointly, by least squares on ln(predicted/actual). Rows at batch 1 pin the floors,
batched rows the efficiencies; each row's mode comes from the engine its source states (eager when unstated)."""
from __future__ import annotations

import math
from collections.abc import Sequence
from planner.dataclass import dataclass

from planner.catalog.load import Catalog
from planner.model.forward_time import (
    DEFAULT_HOST_FLOOR_US,
    EXECUTION_MODES,
    ExecutionMode,
    HOST_FLOOR_RANGE_US,
    execution_mode,
    forward_seconds,
)
from planner.model.workload import Workload, workload_for
from planner.project.load import resolve_architecture
from planner.schema.catalog import GpuSpec
from planner.schema.priors import LaunchFloor
from planner.schema.runs import PublishedRun, fittable

EFFICIENCY_RANGE = (1e-3, 1.0)
"""A fraction of peak."""
FP32_KEY = "fp32"
"""The efficiency entry of fp32 rows: one fraction of the fp32 peak shared by all GPU families. fp32 GEMMs run on
CUDA cores, whose share of their (low) peak is about the same on every generation (the published rows: ResNet-50 and
RoBERTa reach 0.35–0.65 of the fp32 peak on T4, V100 and RTX 3090 alike), while the 16-bit tensor-core share varies
by family (0.13–0.15 on T4, 0.2 on V100, 0.33–0.39 on the RTX 3090)."""
NOT_FITTED = ("transformer-xl-inference",)
"""Validation groups predicted but never fitted: the model approximates their architecture (Transformer-XL's relative
attention and adaptive softmax; its 640-token memory is modelled, memory_len), so their rows would bias the
efficiencies of every other model."""
MODE_FACTOR_RANGE = (0.5, 5.0)
"""Compute efficiency of a non-eager mode over eager's: above 1 where fused kernels skip the memory passes eager runs
operator by operator (TensorRT's layer fusion), below 1 where a runtime's kernels are slower than cuBLAS/cuDNN;
products are capped at 1."""


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
    mode: ExecutionMode
    """Execution mode of the engine the source states (planner/model/forward_time.py EXECUTION_MODES)."""


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
    return InferenceRow(run, work, gpu, tflops * 1e12, per_call, execution_mode(run.engine, False))


def row_rate(row: InferenceRow, efficiency: float, floor_us: float, fp32_efficiency: float | None = None) -> float:
    """The row's predicted metric (samples/s or tokens/s per GPU count of 1): an fp32 row runs at
    `fp32_efficiency` (a fraction of the fp32 peak, the mode's factor included) when given, else at `efficiency`."""
    fp32 = row.run.precision == "fp32"
    eta = min(1.0, fp32_efficiency if fp32 and fp32_efficiency is not None else efficiency)
    return row.per_call / forward_seconds(row.work, row.run.batch or 1.0, row.peak * eta, floor_us * 1e-6,
                                          row.gpu.memory_bandwidth_gbs * 1e9, 4.0 if fp32 else 2.0, row.mode,
                                          row.gpu.sms)


def pick_efficiency(floor: LaunchFloor, arch: str) -> tuple[float, str]:
    """The fitted efficiency of a GPU family, else the pooled one; and the family used."""
    if arch in floor.efficiency and arch != FP32_KEY:
        return floor.efficiency[arch], arch
    return floor.efficiency["any"], "any"


def floor_for(floors: Sequence[LaunchFloor], mode: str) -> LaunchFloor | None:
    """The fitted floor of an execution mode (None: the catalog has none for it)."""
    return next((f for f in floors if f.mode == mode), None)


def predict_inference_row(row: InferenceRow, floor: LaunchFloor) -> tuple[float, str]:
    """The row's predicted metric from a fitted floor, and the family whose efficiency it used."""
    eta, arch = pick_efficiency(floor, row.gpu.arch)
    if row.run.precision == "fp32" and FP32_KEY in floor.efficiency:
        return row_rate(row, eta, floor.microseconds, floor.efficiency[FP32_KEY]), arch
    return row_rate(row, eta, floor.microseconds), arch


def _default_floor(mode: ExecutionMode, efficiency: dict[str, float], log_sigma: float) -> LaunchFloor:
    return LaunchFloor(mode=mode, microseconds=DEFAULT_HOST_FLOOR_US[mode],
                       plausible_us=HOST_FLOOR_RANGE_US[mode], efficiency=efficiency, factor=1.0,
                       log_sigma=log_sigma, n=0, runs=[])


def fit_launch_floor(runs: Sequence[PublishedRun], catalog: Catalog) -> tuple[LaunchFloor, ...]:
    """One floor per execution mode, with the per-family efficiencies of that mode, fitted on the forward-pass rows
    among `runs`. A mode without rows gets its documented default floor (DEFAULT_HOST_FLOOR_US) and eager's
    efficiencies (factor 1); without any rows the efficiencies are the training curves' large-matmul ceilings per
    GPU generation (or 1: the roofline)."""
    import numpy as np
    from scipy.optimize import least_squares

    rows = [r for r in (inference_row(run, catalog) for run in fittable(list(runs)) if run.group not in NOT_FITTED)
            if r is not None]
    archs = sorted({r.gpu.arch for r in rows})
    if not rows:  # no forward-pass rows: the large-matmul ceilings of the training curves (a transfer), else 1
        curves = {c.arch: c for c in catalog.train_curves if "-" not in c.arch}
        ceilings = {arch: c.peak_efficiency for arch, c in curves.items()} or {"any": 1.0}
        return tuple(_default_floor(mode, ceilings, 0.0) for mode in EXECUTION_MODES)
    modes = [m for m in EXECUTION_MODES if any(r.mode == m for r in rows)]
    factored = [m for m in modes if m != "eager"]
    n_modes, n_arch = len(modes), len(archs)
    arch_index = [archs.index(r.gpu.arch) for r in rows]
    mode_index = [modes.index(r.mode) for r in rows]
    actual = np.log([r.run.value / (r.run.gpu_count or 1) for r in rows])

    def unpack(theta: np.ndarray) -> tuple[list[float], float, list[float], dict[str, float]]:
        floors = [math.exp(t) for t in theta[:n_modes]]
        fp32 = math.exp(theta[n_modes])
        effs = [math.exp(t) for t in theta[n_modes + 1:n_modes + 1 + n_arch]]
        factors: dict[str, float] = {m: math.exp(theta[n_modes + 1 + n_arch + i]) for i, m in enumerate(factored)}
        return floors, fp32, effs, factors

    def residuals(theta: np.ndarray) -> np.ndarray:
        floors, fp32, effs, factors = unpack(theta)
        return np.array([math.log(row_rate(r, effs[a] * factors.get(r.mode, 1.0), floors[m],
                                           fp32 * factors.get(r.mode, 1.0)))
                         for r, a, m in zip(rows, arch_index, mode_index)]) - actual

    low = ([math.log(HOST_FLOOR_RANGE_US[m][0]) for m in modes] + [math.log(EFFICIENCY_RANGE[0])]
           + [math.log(EFFICIENCY_RANGE[0])] * n_arch + [math.log(MODE_FACTOR_RANGE[0])] * len(factored))
    high = ([math.log(HOST_FLOOR_RANGE_US[m][1]) for m in modes] + [math.log(EFFICIENCY_RANGE[1])]
            + [math.log(EFFICIENCY_RANGE[1])] * n_arch + [math.log(MODE_FACTOR_RANGE[1])] * len(factored))
    start = ([math.log(DEFAULT_HOST_FLOOR_US[m]) for m in modes] + [math.log(0.4)] + [math.log(0.3)] * n_arch
             + [0.0] * len(factored))
    fit = least_squares(residuals, start, bounds=(low, high))
    floors, fp32, effs, factors = unpack(fit.x)
    pooled = math.exp(float(np.mean(fit.x[n_modes + 1:n_modes + 1 + n_arch])))
    overall = _sig(min(3.0, math.sqrt(float(np.mean(fit.fun ** 2)))))
    out = []
    for mode in EXECUTION_MODES:
        factor = factors.get(mode, 1.0)
        efficiency: dict[str, float] = {arch: _sig(min(1.0, effs[i] * factor)) for i, arch in enumerate(archs)}
        efficiency["any"] = _sig(min(1.0, pooled * factor))
        if any(r.run.precision == "fp32" for r in rows):
            efficiency[FP32_KEY] = _sig(min(1.0, fp32 * factor))
        if mode not in modes:
            out.append(_default_floor(mode, efficiency, overall))
            continue
        mine = [i for i, r in enumerate(rows) if r.mode == mode]
        sigma = math.sqrt(float(np.mean(fit.fun[mine] ** 2)))
        out.append(LaunchFloor(mode=mode, microseconds=_sig(floors[modes.index(mode)]),
                               plausible_us=HOST_FLOOR_RANGE_US[mode], efficiency=efficiency, factor=_sig(factor),
                               log_sigma=_sig(min(3.0, sigma)), n=len(mine),
                               runs=sorted(rows[i].run.id for i in mine)))
    return tuple(out)


def _sig(value: float) -> float:
    """Four significant figures: what the catalog stores."""
    return float(f"{value:.4g}")
