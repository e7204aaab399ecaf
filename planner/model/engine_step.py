"""Host time an inference engine adds to every decode step, serial with the GPU's kernels.

A serving engine's step is more than its kernels: between two steps the host schedules the batch, prepares the next
step's inputs, copies the sampled tokens back and processes them. Where that work waits for the GPU (vLLM's
scheduler until its multi-step and asynchronous modes), the GPU idles through it, so a decode step takes the GPU's
streaming time plus this host time, and the host time does not shrink on a faster GPU. That is what separates
vLLM's own latency benchmark on three GPUs (catalog/published_runs.yaml, buildkite.com/vllm/performance-benchmark:
Llama 3.1 8B, batch 8, 128 tokens): 12.3 ms a step on an A100, 7.8 on an H100, 6.5 on an H200, a line with slope
≈ 1 over each GPU's copy-bandwidth time plus ≈ 2.5 ms.

Per engine the figure is fitted on the decode rows whose source states that engine, when they span at least two
GPUs (planner/efficiency/engine_fit.py; on one GPU a step's host time and its bandwidth share cannot be told apart);
otherwise, and for a held-out engine in cross-validation, it is the documented prior below. The launch floor per
operator (catalog/priors.yaml launch_floors) stays a separate lower bound on the GPU part of a step.
"""
from __future__ import annotations

from collections.abc import Sequence

from planner.schema.priors import EngineStep

STEP_PRIOR_MS: dict[str, tuple[float, tuple[float, float], str]] = {
    "vllm": (4.0, (0.1, 13.0), (
        "vLLM issue #6854 (RFC: Multi-Step Scheduling, 2024-07-26: 'Each highlighted redbox is about 4ms of GPU "
        "bubble ... For baseline, this overhead is incurred on every decode'; 'GPU is often idle, waiting for CPU "
        "operations (5-13ms of GPU bubble)'); range: 0.1 ms (vLLM PR #46112: the V1 scheduler's update_from_output, "
        "0.13-0.29 ms at batch 128-256) to 13 ms (#6854)")),
}
"""Documented per-step host time of an engine (ms), its plausible range and the source: the figure an engine without
fitted rows gets. vLLM's is its own measurement of the GPU's idle gap between decode steps (v0.5, Llama 3 8B on
one H100). Engines not listed add no host time beyond the launch floor: gpt-fast's torch.compile step is one CUDA
graph replay, TensorRT-LLM and llama.cpp schedule in C++."""
DEFAULT_RANGE_MS = (0.0, 13.0)
"""The range a fit of an engine without a documented prior is held to (#6854's largest gap)."""


def prior_step(engine: str) -> EngineStep:
    """The documented per-step host time of an engine (0 for an engine with none)."""
    ms, plausible, source = STEP_PRIOR_MS.get(engine, (0.0, DEFAULT_RANGE_MS, "no documented per-step host time"))
    return EngineStep(engine=engine, milliseconds=ms, plausible_ms=plausible, n=0, runs=[], basis=source)


def engine_step(steps: Sequence[EngineStep], engine: str) -> EngineStep:
    """The catalog's figure for an engine, else its documented prior."""
    return next((s for s in steps if s.engine == engine), None) or prior_step(engine)


def engine_step_seconds(steps: Sequence[EngineStep], engine: str | None) -> float:
    """Host seconds per decode step of an engine (engine_step); 0 for a row that states none."""
    return engine_step(steps, engine).milliseconds * 1e-3 if engine else 0.0
