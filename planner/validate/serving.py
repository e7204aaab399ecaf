"""Predicted decode and prefill tokens/s for published serving rows (groups serving-decode, serving-prefill), for
`gpuplan validate` and the README's error figure. The same roofline as the serving plans (inference_time.py)."""
from __future__ import annotations

import dataclasses
import statistics

from planner.catalog.load import Catalog
from planner.efficiency.origin import Efficiency, prior_efficiency
from planner.io.profile import resolve_architecture
from planner.model.inference_time import (
    decode_tokens_per_s,
    fp16_accumulate_factor,
    prefill_tokens_per_s,
)
from planner.model.workload import workload_for
from planner.schema.runs import PublishedRun

SERVING_GROUPS = ("serving-decode", "serving-prefill")
DEFAULT_DECODE_TOKENS = 512
"""A decode row without a length: llama-bench's default tg test generates 128…512 tokens; 512 is its longest."""
LLAMA_CPP_UBATCH = 512
"""llama.cpp's default physical batch (--ubatch-size 512): a prompt is processed in micro-batches of this size."""


def accumulate_factor(run: PublishedRun, gpu) -> float:
    """llama.cpp's 16-bit GEMMs accumulate in FP16 (ggml-cuda calls cublasGemmEx with CUBLAS_COMPUTE_16F), so
    its ceiling is the FP16-accumulate peak; other frameworks accumulate in FP32 (the catalog's fp16 figure)."""
    if run.precision in ("fp16", "bf16") and run.engine == "llama.cpp":
        return fp16_accumulate_factor(gpu)
    return 1.0


def layer_split_speedup(gpus: int, phase: str, tokens: float) -> float:
    """Speed-up of a llama.cpp layer split over one GPU holding every layer.

    Decode at batch 1 runs the GPUs one after another: 1. Prefill pipelines its m = ⌈tokens/ubatch⌉ micro-batches
    through the g stages (llama.cpp pipeline parallelism, PR #6017): m·g / (m + g − 1), the GPipe fill-and-drain.
    """
    if gpus <= 1 or phase != "prefill":
        return 1.0
    micro = max(1, -(-int(tokens) // LLAMA_CPP_UBATCH))
    return micro * gpus / (micro + gpus - 1)


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
    Decode: batch `run.batch` (default 1) at the mean context seq_len/2 (tg tests start from an empty context).
    Prefill: one prompt of seq_len tokens.
    """
    if run.phase not in ("decode", "prefill"):
        raise ValueError(f"{run.id} is a {run.phase} row, not decode or prefill")
    gpu = catalog.gpu(run.gpu)
    arch = resolve_architecture(run.model, catalog, run.id, seq_len=run.seq_len)
    work = workload_for(arch)
    compute = prior_efficiency(catalog, gpu, "prefill", arch.family)
    bandwidth = prior_efficiency(catalog, gpu, "decode", arch.family)
    if run.phase == "decode":
        generated = run.seq_len or DEFAULT_DECODE_TOKENS
        rate = decode_tokens_per_s(work, gpu, run.precision, run.batch or 1.0, generated / 2.0,
                                   compute.value * accumulate_factor(run, gpu),
                                   bandwidth.value, kv_precision="fp16")
    else:
        prompt = run.seq_len or arch.seq_len
        rate = prefill_tokens_per_s(work, gpu, run.precision, prompt, compute.value * accumulate_factor(run, gpu),
                                    bandwidth.value) \
            * layer_split_speedup(run.gpu_count or 1, "prefill", prompt)
    return ServingPrediction(rate, compute, bandwidth)


def serving_errors(runs: list[PublishedRun], catalog: Catalog, leave_one_out: bool = False
                   ) -> dict[str, float]:
    """Signed relative error (predicted − actual) / actual per serving row id.

    leave_one_out: each row is predicted from priors refitted without it (scripts/fit_priors.py's method), so
    the row does not grade the efficiency it helped fit.
    """
    from planner.efficiency.prior_fit import fit_priors

    errors = {}
    for run in runs:
        if run.group not in SERVING_GROUPS:
            continue
        cat = catalog
        if leave_one_out:
            others = [r for r in runs if r.id != run.id]
            cat = dataclasses.replace(catalog, priors=tuple(fit_priors(others, catalog)))
        errors[run.id] = (predict_serving_run(run, cat).tokens_per_s - run.value) / run.value
    return errors


def median_abs_error(errors: dict[str, float]) -> float:
    """Median |error| of a set of rows."""
    return statistics.median(abs(e) for e in errors.values())
