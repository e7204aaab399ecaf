"""Inputs that no plan can satisfy, named before the search: runs smaller than one sample or too large to count,
deadlines and latency targets below the roofline, rates beyond the search. Each bound is computed from the
workload formulas and the catalog's dense peaks (efficiency 1.0, no communication), so it is a true lower bound:
a target under it is impossible on any GPU the profile allows, not merely hard."""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from planner.dataclass import dataclass

from pydantic import ValidationError

from planner.catalog.load import Catalog, PricedOffer
from planner.io.loading import explained
from planner.io.positions import SourcePositions
from planner.model.inference_time import default_kv_precision, kv_batch_limit
from planner.model.precision import peak_flops
from planner.model.workload import Workload, decode_flops, prefill_flops, weight_bytes
from planner.plans.serving import MAX_BATCH, MAX_REPLICAS, TENSOR_PARALLEL
from planner.plans.training import TrainingJob, model_pin_problem, training_memory
from planner.project.load import resolve_architecture
from planner.schema.model import Architecture, ModelSection
from planner.schema.profile import Inference, Training


def human_time(seconds: float) -> str:
    """A duration for a message: '850 ms', '42 s', '31 h', '1.2e+18 h' (three significant figures)."""
    if seconds < 1.0:
        return f"{seconds * 1e3:.3g} ms"
    if seconds < 120.0:
        return f"{seconds:.3g} s"
    if seconds < 7200.0:
        return f"{seconds / 60.0:.3g} min"
    hours = seconds / 3600.0
    return f"{hours:,.0f} h" if hours < 1e6 else f"{hours:.3g} h"


@dataclass(frozen=True)
class Fastest:
    """The quickest any offer can possibly do a piece of work: its time, GPU, GPU count and the peak used."""

    seconds: float
    gpu: str
    count: int
    peak_tflops: float


def check_training(job: TrainingJob, training: Training, offers: list[PricedOffer], catalog: Catalog,
                   counts_of: Callable[[PricedOffer], Iterable[int]], doc: SourcePositions) -> None:
    """Raise a placed InputError when the training section cannot be planned at all.

    `counts_of(offer)` gives the GPU counts the search tries on an offer (estimate.candidate_counts).
    """
    dataset = training.dataset
    data_path = ("training", "dataset", "tokens" if dataset.tokens is not None else "samples")
    if job.samples < 1.0:
        size = f"{dataset.tokens:g} tokens" if dataset.tokens is not None else f"{dataset.samples:g} samples"
        one = f"one {job.work.tokens_per_sample:g}-token sample" if job.work.tokens_per_sample > 1 else "one sample"
        raise doc.error(data_path, f"{size} × {training.epochs:g} epoch(s) is {job.samples:.3g} samples, less than "
                        f"{one}")
    memory = training_memory(job, 1, False, "none", 1).total
    if not (math.isfinite(job.model_flops) and math.isfinite(memory)):
        raise doc.error(data_path, f"{job.samples:.3g} samples × {job.model_flops_per_sample:.3g} FLOP each does "
                        "not fit in a 64-bit float; no run of this size can be planned")
    batch = training.batch
    key = "global_tokens" if batch is not None and batch.global_tokens is not None else "global_samples"
    per_sample = job.work.tokens_per_sample
    if batch is not None and batch.global_tokens is not None and batch.global_tokens < per_sample:
        # the count of samples a step is rounded from the tokens, at least 1 (plans/training.py): 1k tokens of
        # 2,048-token sequences was planned as one whole sequence a step, without a word (new-user QA)
        raise doc.error(("training", "batch", key), f"a global batch of {batch.global_tokens:g} tokens is less than "
                        f"one {per_sample:g}-token sample", hint="Give at least one sample's tokens a step.")
    if job.global_batch_samples is not None and job.global_batch_samples < 1.0:
        raise doc.error(("training", "batch", key), f"a global batch of {job.global_batch_samples:g} samples is "
                        "less than one sample")
    if job.global_batch_samples is not None and job.global_batch_samples > job.samples:
        raise doc.error(("training", "batch", key), f"one optimizer step of {job.global_batch_samples:.3g} samples "
                        f"is more than the whole run ({job.samples:.3g} samples).",
                        hint="Use a smaller batch or more data.")
    if (pinned := model_pin_problem(job)) is not None:
        # the model alone rules the pin out: every plan would be unworkable (new-user QA: tensor 3 on pythia-1b's
        # 8 heads listed every GPU as missing the deadline), so it is bad input at the pin
        field, why = pinned
        raise doc.error(("training", "parallelism", field), why,
                        hint="Pin a degree the model allows, or remove the pin and let the search choose.")
    if training.deadline is None:
        return
    fastest = fastest_training(job, offers, catalog, counts_of)
    if fastest is not None and fastest.seconds > training.deadline:
        raise doc.error(("training", "deadline"),
                        f"{human_time(training.deadline)} is shorter than the roofline allows: even {fastest.count:,} "
                        f"{fastest.gpu} at their dense {job.precision} peak ({fastest.peak_tflops:,.0f} TFLOP/s each, "
                        f"100% utilisation, no communication) need {human_time(fastest.seconds)} for "
                        f"{job.model_flops:.3g} FLOP.",
                        hint="Allow more time, more GPUs (constraints.max_gpus) or less data.")


def fastest_training(job: TrainingJob, offers: list[PricedOffer], catalog: Catalog,
                     counts_of: Callable[[PricedOffer], Iterable[int]]) -> Fastest | None:
    """The shortest time any offer could take: model FLOP ÷ (most GPUs searched × dense peak)."""
    best: Fastest | None = None
    for offer in offers:
        gpu = catalog.gpus[offer.offer.gpu]
        peak = peak_flops(gpu, job.precision)
        counts = counts_of(offer)
        if peak is None or not counts:
            continue
        count = max(counts)
        seconds = job.model_flops / (count * peak)
        if best is None or seconds < best.seconds:
            best = Fastest(seconds, gpu.id, count, peak / 1e12)
    return best


def check_serving(work: Workload, inference: Inference, offers: list[PricedOffer], catalog: Catalog,
                  doc: SourcePositions) -> None:
    """Raise a placed InputError when the inference section cannot be planned at all."""
    if work.is_generative:
        for key in ("prompt_tokens", "output_tokens"):
            value = getattr(inference, key)
            if value is not None and value < 1.0:
                raise doc.error(("inference", key), f"a request has at least one token (got {value:g})")
        flops = prefill_flops(work, inference.prompt) \
            + inference.generated * decode_flops(work, inference.prompt)
    else:
        flops = work.forward_flops_per_sample
    peaks = [(p, catalog.gpus[o.offer.gpu].id) for o in offers
             if (p := peak_flops(catalog.gpus[o.offer.gpu], inference.precision)) is not None]
    if not peaks:
        return
    peak, gpu = max(peaks)
    # rate × (FLOP ÷ peak), the small factor first: rate × FLOP overflowed for a rate of 1e300/s, and the message
    # said 'needs at least inf GPUs' (new-user QA round 17); past a float's range, its power of ten
    gpus_needed = inference.rate * (flops / peak)
    limit = MAX_REPLICAS * max(TENSOR_PARALLEL)
    if not math.isfinite(gpus_needed) or gpus_needed > limit:
        decade = math.log10(inference.rate) + math.log10(flops) - math.log10(peak)
        needed = f"{gpus_needed:.3g}" if math.isfinite(gpus_needed) else \
            f"{10 ** (decade % 1):.3g}e+{math.floor(decade)}"
        raise doc.error(("inference", "rate"),
                        f"{inference.rate:.3g} requests/s × {flops:.3g} FLOP each needs at least {needed} "
                        f"GPUs even at the dense {inference.precision} peak of {gpu} ({peak / 1e12:,.0f} TFLOP/s); "
                        f"the search stops at {MAX_REPLICAS:,} replicas of up to {max(TENSOR_PARALLEL)} GPUs")
    _check_latency_floor(work, inference, offers, catalog, doc)
    _check_batch_pin(work, inference, offers, catalog, doc)


def _check_batch_pin(work: Workload, inference: Inference, offers: list[PricedOffer], catalog: Catalog,
                     doc: SourcePositions) -> None:
    """A pinned inference.batch that no plan can run, refused at the pin: a decoder's batch that no offer's KV cache
    holds, on the widest tensor-parallel group its instance allows (the most any plan has), or a dynamic batch above
    the MAX_BATCH that non-generative serving is sized up to (new-user QA round 12: batch 4,096 of 768-token
    sequences listed every GPU type as 'pinned batch 4096: the KV cache holds at most …', exit 1; batch 5,000 on an
    encoder said 'its activations do not fit beside the weights' on every GPU)."""
    batch = inference.batch
    if batch is None:
        return
    if not work.is_generative:
        if batch > MAX_BATCH:
            raise doc.error(("inference", "batch"), f"batch {batch:,} is above the {MAX_BATCH:,} requests a batch "
                            "that dynamic batching is planned for", hint=f"Pin at most {MAX_BATCH:,}.")
        return
    kv = inference.kv_precision or default_kv_precision(inference.precision)
    tokens = inference.prompt + inference.generated
    most: tuple[int, int, str] | None = None  # sequences held, GPUs, GPU id
    for offer in offers:
        gpu = catalog.gpus[offer.offer.gpu]
        if peak_flops(gpu, inference.precision) is None:
            continue
        tp = max((t for t in TENSOR_PARALLEL if t <= offer.offer.gpus_per_instance), default=1)
        held = kv_batch_limit(work, gpu, tp, inference.precision, kv, tokens)
        if most is None or held > most[0]:
            most = (held, tp, gpu.id)
    # none holds one sequence: the weights do not fit, which the plans say
    if most is not None and 1 <= most[0] < batch:
        raise doc.error(("inference", "batch"), f"batch {batch:,}: no offer searched holds that many "
                        f"{tokens:g}-token sequences in its KV cache; the most is {most[0]:,}, on {most[1]} {most[2]}",
                        hint="Pin a smaller batch, or remove inference.batch and let the search choose.")


def _check_latency_floor(work: Workload, inference: Inference, offers: list[PricedOffer], catalog: Catalog,
                         doc: SourcePositions) -> None:
    """TTFT/TPOT/latency targets below one request's roofline time on the best offer (widest tensor parallel)."""
    slo = inference.slo
    weights = weight_bytes(work, inference.precision)
    if work.is_generative:
        work_of = {"ttft": (prefill_flops(work, inference.prompt),
                            f"to prefill a {inference.prompt_tokens:g}-token prompt"),
                   "tpot": (decode_flops(work, inference.prompt), "for one decode step (weights read once)")}
    else:
        work_of = {"latency": (work.forward_flops_per_sample, "for one forward pass")}
    for kind, (flops, what) in work_of.items():
        targets = [(key, getattr(slo, key)) for key in (f"{kind}_p50", f"{kind}_p95", f"{kind}_p99")
                   if getattr(slo, key, None) is not None]
        if not targets:
            continue
        fastest = _fastest_request(flops, weights, inference.precision, offers, catalog, work.is_generative)
        if fastest is None:
            continue
        for key, target in targets:
            if target < fastest.seconds:
                raise doc.error(("inference", "slo", key),
                                f"{human_time(target)} is below what the hardware allows: even {fastest.count} "
                                f"{fastest.gpu} at their dense {inference.precision} peak and full memory bandwidth "
                                f"need {human_time(fastest.seconds)} {what}.",
                                hint="Relax the target or use a smaller model or lower precision.")


def _fastest_request(flops: float, weights: float, precision: str, offers: list[PricedOffer], catalog: Catalog,
                     tensor_parallel: bool) -> Fastest | None:
    best: Fastest | None = None
    for offer in offers:
        gpu = catalog.gpus[offer.offer.gpu]
        peak = peak_flops(gpu, precision)
        if peak is None:
            continue
        tp = max((t for t in TENSOR_PARALLEL if t <= offer.offer.gpus_per_instance), default=1) \
            if tensor_parallel else 1
        seconds = max(flops / (tp * peak), weights / (tp * gpu.memory_bandwidth_gbs * 1e9))
        # GPUs at the same time (B200 and GB200 at the same peaks) named by id, not by which offer came first: the
        # offers searched change with the dominance check (a spot price kept one offer in, then not)
        if best is None or (seconds, gpu.id) < (best.seconds, best.gpu):
            best = Fastest(seconds, gpu.id, tp, peak / 1e12)
    return best


def sequence_architecture(section: ModelSection, catalog: Catalog, name: str, tokens_per_sample: float,
                          doc: SourcePositions) -> Architecture:
    """The architecture trained at `tokens_per_sample` tokens per sequence; an unusable length is a placed error."""
    try:
        return resolve_architecture(section, catalog, name, seq_len=int(tokens_per_sample))
    except ValidationError as exc:
        # the architecture's words for its own field (new-user QA round 18: pydantic's 'Input should be greater than
        # or equal to 1'), without its 'got 0': the value the user wrote is named first
        first = exc.errors(include_url=False)[0]
        problem, _ = explained(first, Architecture, tuple(first["loc"]), None)
        problem = re.sub(r", got .*$", "", problem)
        written = f"{tokens_per_sample:,.0f}" if tokens_per_sample.is_integer() and tokens_per_sample < 1e15 \
            else f"{tokens_per_sample:g}"
        raise doc.error(("training", "dataset", "tokens_per_sample"),
                        f"{written} tokens per sample is not a usable sequence length: {problem}") from None
