"""Predicted decode and prefill tokens/s for published serving rows (groups serving-decode, serving-prefill), for
`gpuplan validate` and the error figure of docs/serving.md. The same roofline as the serving plans (inference_time.py)."""
from __future__ import annotations

import dataclasses

from planner.catalog.load import Catalog
from planner.efficiency.origin import Efficiency, forward_fit_efficiency, prior_efficiency
from planner.model.engine_step import engine_step_seconds
from planner.model.forward_time import execution_mode, kernels_per_forward
from planner.model.inference_time import (
    decode_step_seconds,
    decode_tokens_per_s,
    prefill_tokens_per_s,
)
from planner.model.llama_cpp import accumulate_factor, layer_split_speedup
from planner.model.precision import COMPUTE_PRECISION, peak_flops
from planner.model.workload import (
    Workload,
    prefill_flops,
    weights_read_bytes,
    workload_for,
)
from planner.project.load import resolve_architecture
from planner.schema.catalog import GpuSpec
from planner.schema.runs import PublishedRun

SERVING_GROUPS = ("serving-decode", "serving-prefill")
DEFAULT_DECODE_TOKENS = 512
"""A decode row without a length: llama-bench's default tg test generates 128…512 tokens; 512 is its longest."""


KIND_FALLBACK = {"prefill": ("infer",), "infer": ("prefill",), "decode": ()}
"""Where a forward-pass kind with no fitted runs borrows its efficiency: prefill and batched inference are both
forward passes through the same matmuls; decode (bandwidth-bound) has no kin."""


def prior_or_roofline(catalog: Catalog, gpu: GpuSpec, kind: str, family: str, fp16_accumulate: bool = False
                      ) -> Efficiency:
    """The catalog's prior for this kind of work (for prefill without prefill rows, the forward-pass fit:
    planner/efficiency/origin.py prior_efficiency); without one, the prior of a kindred kind (KIND_FALLBACK; for
    batched inference the forward efficiency fitted with the host floors); without any, the roofline itself
    (efficiency 1: no data, so no discount), its detail saying so."""
    try:
        return prior_efficiency(catalog, gpu, kind, family, fp16_accumulate)
    except LookupError:
        pass
    forward = forward_fit_efficiency(catalog, gpu, f"no {kind} runs") if "infer" in KIND_FALLBACK.get(kind, ()) \
        else None
    if forward is not None:  # batched forward passes net of host-bound calls
        return forward
    for borrowed in KIND_FALLBACK.get(kind, ()):
        try:
            found = prior_efficiency(catalog, gpu, borrowed, family)
        except LookupError:
            continue
        return dataclasses.replace(found, detail=f"no {kind} runs: {found.detail}")
    return Efficiency(1.0, 0.0, "prior", f"no {kind} runs: the roofline at peak")


def end_to_end_decode_tokens_per_s(work: Workload, gpu: GpuSpec, precision: str, batch: float, input_tokens: int,
                                    output_tokens: int, compute_efficiency: float, bandwidth_efficiency: float,
                                    host_s: float = 0.0, engine_s: float = 0.0) -> float:
    """Generated tokens/s of one static batch timed end to end (vLLM's benchmark_latency, gpt-fast's generate.py):
    one batched prefill of batch × input_tokens (its FLOP, or one read of the weights, whichever is longer; it
    yields the first token), then output_tokens − 1 decode steps at the mean context input + output/2, each no
    shorter than the host floor `host_s` — the prefill and decode-step roofline of estimate's llm_timing, with
    the prompts prefilled together as these benchmarks do; each of the output_tokens engine iterations also pays
    the engine's host time `engine_s` (planner/model/engine_step.py)."""
    peak = peak_flops(gpu, precision)
    if peak is None:
        raise ValueError(f"{gpu.id} has no {COMPUTE_PRECISION[precision]} peak")
    flops = peak * compute_efficiency
    bytes_per_s = gpu.memory_bandwidth_gbs * 1e9 * bandwidth_efficiency
    prefill = max(batch * prefill_flops(work, input_tokens) / flops,
                  weights_read_bytes(work, precision, batch * input_tokens) / bytes_per_s)
    context = input_tokens + output_tokens / 2.0
    step = max(host_s, decode_step_seconds(work, batch, context, precision, "fp16", flops, bytes_per_s))
    return batch * output_tokens / (prefill + (output_tokens - 1) * step + output_tokens * engine_s)


@dataclasses.dataclass(frozen=True)
class ServingPrediction:
    """A predicted rate with the efficiencies behind it."""

    tokens_per_s: float
    compute: Efficiency
    bandwidth: Efficiency


def predict_serving_run(run: PublishedRun, catalog: Catalog) -> ServingPrediction:
    """Decode or prefill tokens/s of one published row on its GPU, from the fitted priors.

    Rows on several GPUs are llama.cpp layer splits: the GPUs run their layers one after another, so a token
    costs the sum of the per-GPU times — the rate of one GPU holding every layer (memory aside) — times the
    prefill's pipelining (layer_split_speedup).
    Decode: with input_tokens and output_tokens stated, one batch timed end to end
    (end_to_end_decode_tokens_per_s); else batch `run.batch` (default 1) at the mean context seq_len/2 (llama.cpp's
    tg tests start from an empty context).
    Prefill: one prompt of seq_len tokens.
    """
    if run.phase not in ("decode", "prefill"):
        raise ValueError(f"{run.id} is a {run.phase} row, not decode or prefill")
    gpu = catalog.gpu(run.gpu)
    arch = resolve_architecture(run.model, catalog, run.id, seq_len=run.seq_len)
    work = workload_for(arch)
    compute = prior_or_roofline(catalog, gpu, "prefill", arch.family,
                                fp16_accumulate=accumulate_factor(run.precision, run.engine, gpu) > 1.0)
    bandwidth = prior_or_roofline(catalog, gpu, "decode", arch.family)
    if run.phase == "decode":
        batch = run.batch or 1.0
        # the host issues every operator of a step (the floor of the engine's mode, as estimate's llm_timing)
        floor = next((f for f in catalog.launch_floors if f.mode == execution_mode(run.engine, True)), None)
        host_s = kernels_per_forward(work) * floor.microseconds * 1e-6 if floor is not None else 0.0
        factor = accumulate_factor(run.precision, run.engine, gpu)
        # and the engine's host time per step, serial with the GPU (fitted per engine, else its documented prior)
        engine_s = engine_step_seconds(catalog.engine_steps, run.engine)
        if run.input_tokens is not None and run.output_tokens is not None:
            rate = end_to_end_decode_tokens_per_s(work, gpu, run.precision, batch, run.input_tokens,
                                                  run.output_tokens, compute.value * factor, bandwidth.value, host_s,
                                                  engine_s)
        else:
            generated = run.seq_len or DEFAULT_DECODE_TOKENS
            rate = decode_tokens_per_s(work, gpu, run.precision, batch, generated / 2.0, compute.value * factor,
                                       bandwidth.value, kv_precision="fp16")
            if host_s > 0:
                rate = min(rate, batch / host_s)
            rate = batch / (batch / rate + engine_s)
    else:
        prompt = run.seq_len or arch.context
        factor = accumulate_factor(run.precision, run.engine, gpu)
        rate = prefill_tokens_per_s(work, gpu, run.precision, prompt, compute.value * factor,
                                    bandwidth.value) \
            * layer_split_speedup(run.gpu_count or 1, "prefill", prompt)
    return ServingPrediction(rate, compute, bandwidth)


def serving_errors(runs: list[PublishedRun], catalog: Catalog, leave_one_out: bool = False
                   ) -> dict[str, float]:
    """Signed relative error (predicted − actual) / actual per serving row id.

    leave_one_out: each row is predicted from priors refitted without it (scripts/fit_priors.py's method), so
    the row does not grade the efficiency it helped fit.
    """
    from planner.efficiency.engine_fit import fit_engine_steps
    from planner.efficiency.prior_fit import fit_priors

    errors = {}
    for run in runs:
        if run.group not in SERVING_GROUPS:
            continue
        cat = catalog
        if leave_one_out:
            others = [r for r in runs if r.id != run.id]
            cat = dataclasses.replace(catalog, engine_steps=fit_engine_steps(others, catalog))
            cat = dataclasses.replace(cat, priors=tuple(fit_priors(others, cat)))
        errors[run.id] = (predict_serving_run(run, cat).tokens_per_s - run.value) / run.value
    return errors
