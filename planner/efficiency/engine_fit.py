"""Fit each inference engine's host time per decode step (planner/model/engine_step.py) on the decode rows whose
source states that engine: a straight line through the rows' mean step time against their step's bytes over the
GPU's copy bandwidth (catalog/gpus.yaml bandwidth_ceiling), whose intercept is the host time and whose slope the
inverse of the bandwidth share the engine's kernels reach. Only an engine whose rows span two or more GPUs of
different copy bandwidth is fitted (on one GPU the two cannot be told apart); the intercept is held to the engine's
plausible range. Every other engine keeps its documented prior."""
from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Sequence

from planner.catalog.load import Catalog
from planner.model.decode_ceiling import copy_bytes_per_s
from planner.model.engine_step import prior_step
from planner.model.workload import weight_bytes, workload_for
from planner.project.load import resolve_architecture
from planner.schema.priors import EngineStep
from planner.schema.runs import PublishedRun, fittable


@dataclasses.dataclass(frozen=True)
class StepPoint:
    """One decode row: seconds per engine iteration against seconds of its bytes at the copy bandwidth."""

    run: PublishedRun
    copy_s: float
    step_s: float


def step_point(run: PublishedRun, catalog: Catalog) -> StepPoint | None:
    """The row as a step point: a one-GPU decode row timed end to end (input and output tokens stated: one batched
    prefill reading the weights once, then output − 1 steps at the mean context), each of its output_tokens engine
    iterations paying the host time once. None: another kind of row, or no copy bandwidth."""
    if run.phase != "decode" or run.input_tokens is None or run.output_tokens is None or (run.gpu_count or 1) != 1:
        return None
    copy = copy_bytes_per_s(catalog.gpu(run.gpu))
    if copy is None:
        return None
    work = workload_for(resolve_architecture(run.model, catalog, run.id, seq_len=run.seq_len))
    batch, out = run.batch or 1.0, run.output_tokens
    context = run.input_tokens + out / 2.0
    step_bytes = weight_bytes(work, run.precision) + batch * context * work.kv_bytes_per_token_16bit
    total_bytes = weight_bytes(work, run.precision) + (out - 1) * step_bytes
    return StepPoint(run, total_bytes / copy / out, batch / run.value)


def fit_engine_steps(runs: Sequence[PublishedRun], catalog: Catalog) -> tuple[EngineStep, ...]:
    """One host time per engine with fittable rows on two or more GPUs (module docstring)."""
    by_engine: dict[str, list[StepPoint]] = defaultdict(list)
    for run in fittable(list(runs)):
        if run.engine is not None and run.group == "serving-decode":
            point = step_point(run, catalog)
            if point is not None:
                by_engine[run.engine].append(point)
    out = []
    for engine, points in sorted(by_engine.items()):
        xs = [p.copy_s for p in points]
        if len({round(x, 12) for x in xs}) < 2 or len({p.run.gpu for p in points}) < 2:
            continue
        ys = [p.step_s for p in points]
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
        if slope <= 0:
            continue
        prior = prior_step(engine)
        low, high = prior.plausible_ms
        ms = min(high, max(low, (my - slope * mx) * 1e3))
        gpus = sorted({p.run.gpu for p in points})
        out.append(EngineStep(
            engine=engine, milliseconds=round(ms, 3), plausible_ms=prior.plausible_ms, n=len(points),
            runs=sorted(p.run.id for p in points),
            basis=(f"fitted on {len(points)} decode row(s) on {', '.join(gpus)}: step = bytes / ({1 / slope:.3g} x "
                   f"copy bandwidth) + host time")))
    return tuple(out)
