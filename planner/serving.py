"""Serving plans: prefill/decode on the roofline, KV-cache-limited continuous batching, tensor-parallel replicas,
Erlang C replicas for the arrival rate and percentile targets, and the monthly bill."""
from __future__ import annotations

import math
from dataclasses import dataclass

from .catalog import PricedOffer
from .costing import monthly_cost_usd
from .efficiency import Efficiency
from .interconnect import intra_node_gbs, ring_allreduce_seconds
from .memory import usable_bytes
from .queueing import wait_quantiles
from .schema.catalog import GpuSpec
from .schema.profile import Inference
from .workload import BYTES, Workload, decode_flops, kv_bytes_per_token, prefill_flops, weight_bytes

COMPUTE_PRECISION = {"fp32": "fp32", "fp16": "fp16", "bf16": "bf16", "fp8": "fp8", "int8": "fp16", "int4": "fp16"}
"""Matmul precision by weight precision: int8/int4 are weight-only (dequantised to 16-bit, W8A16/W4A16)."""
TENSOR_PARALLEL = (1, 2, 4, 8)
MAX_REPLICAS = 100_000


@dataclass(frozen=True)
class ServingEfficiency:
    """Compute efficiency (prefill, forward) and bandwidth efficiency (decode) with their origins."""

    compute: Efficiency
    bandwidth: Efficiency


@dataclass(frozen=True)
class ServingPlan:
    """Replicas of one GPU offer serving the profile's traffic."""

    gpu: str
    provider: str
    instance: str
    replicas: int
    gpus_per_replica: int
    gpu_count: int
    instances: int
    batch_size: int
    capacity_rps_per_replica: float
    utilization: float
    latency_s: dict[str, float]
    throughput_tokens_per_s: float
    monthly_cost_usd: float
    monthly_cost_autoscaled_usd: float | None
    usd_per_million_output_tokens: float | None
    usd_per_thousand_requests: float
    meets_slo: bool
    fits: bool
    efficiency: ServingEfficiency
    reasons: tuple[str, ...]


def _peak(gpu: GpuSpec, precision: str) -> float | None:
    tflops = gpu.peak_tflops.get(COMPUTE_PRECISION[precision])
    if tflops is None and precision in ("int8", "int4"):
        tflops = gpu.peak_tflops.get("bf16")
    return tflops * 1e12 if tflops else None


def _tp_comm_seconds(work: Workload, tokens: float, tp: int, gpu: GpuSpec, offer: PricedOffer) -> float:
    """Megatron tensor parallel: 2 all-reduces of tokens·d 16-bit activations per layer (Shoeybi et al. 2019)."""
    if tp <= 1:
        return 0.0
    link_gbs, link = intra_node_gbs(gpu, offer)
    return 2 * work.layers * ring_allreduce_seconds(tokens * work.hidden * 2.0, tp, link_gbs, link)


@dataclass(frozen=True)
class _Replica:
    """Per-replica timing of one (GPU, tensor-parallel, batch) configuration."""

    prefill_s: float
    decode_s: float
    service_s: float
    capacity_rps: float


def _llm_replica(work: Workload, inf: Inference, gpu: GpuSpec, offer: PricedOffer, tp: int, batch: int,
                 peak: float, eff: ServingEfficiency) -> _Replica:
    prompt, output = inf.prompt_tokens, inf.output_tokens
    kv_precision = inf.kv_precision or ("fp8" if inf.precision == "fp8" else "bf16")
    weights = weight_bytes(work, inf.precision)
    bandwidth = gpu.memory_bandwidth_gbs * 1e9 * eff.bandwidth.value * tp
    compute = peak * eff.compute.value * tp
    prefill = max(prefill_flops(work, prompt) / compute, weights / bandwidth) \
        + _tp_comm_seconds(work, prompt, tp, gpu, offer)
    context = prompt + output / 2.0
    decode_bytes = weights + batch * context * kv_bytes_per_token(work, kv_precision)
    decode = max(batch * decode_flops(work, context) / compute, decode_bytes / bandwidth) \
        + _tp_comm_seconds(work, batch, tp, gpu, offer)
    # One batch cycle: `batch` prefills (each stalls the running decodes) plus `output` decode iterations.
    cycle = batch * prefill + output * decode
    return _Replica(prefill, decode, cycle, batch / cycle)


def _kv_batch_limit(work: Workload, inf: Inference, gpu: GpuSpec, tp: int) -> int:
    kv_precision = inf.kv_precision or ("fp8" if inf.precision == "fp8" else "bf16")
    free = usable_bytes(gpu) * tp - weight_bytes(work, inf.precision)
    per_sequence = (inf.prompt_tokens + inf.output_tokens) * kv_bytes_per_token(work, kv_precision)
    return int(free // per_sequence) if free > 0 else 0


def plan_llm_serving(work: Workload, inf: Inference, gpu: GpuSpec, offer: PricedOffer,
                     eff: ServingEfficiency) -> ServingPlan:
    """The cheapest (tensor parallel, batch, replicas) on this offer meeting the TTFT/TPOT targets."""
    peak = _peak(gpu, inf.precision)
    if peak is None:
        return _unusable(gpu, offer, eff, f"no {COMPUTE_PRECISION[inf.precision]} on this GPU")
    slo = inf.slo
    best: ServingPlan | None = None
    closest: ServingPlan | None = None
    for tp in TENSOR_PARALLEL:
        if tp > offer.offer.gpus_per_instance:
            break
        limit = min(_kv_batch_limit(work, inf, gpu, tp), inf.max_batch or 1 << 16)
        if limit < 1:
            continue
        batch = 1
        while batch <= limit:
            plan = _llm_plan_at(work, inf, gpu, offer, eff, tp, batch, peak)
            if plan.meets_slo and (best is None or plan.monthly_cost_usd < best.monthly_cost_usd):
                best = plan
            if closest is None or _slo_excess(plan, slo) < _slo_excess(closest, slo):
                closest = plan
            batch = batch * 2 if batch * 2 <= limit or batch == limit else limit
        if best is not None and best.gpus_per_replica == tp:
            continue
    if best is not None:
        return best
    if closest is None:
        needed = weight_bytes(work, inf.precision) / 1e9
        return _unusable(gpu, offer, eff, f"does not fit in memory ({needed:.1f} GB of weights and KV cache for one "
                                          f"request on up to {min(8, offer.offer.gpus_per_instance)} GPU(s))")
    return closest


def _slo_excess(plan: ServingPlan, slo) -> float:
    excess = 0.0
    for key in ("ttft_p50", "ttft_p95", "tpot_p50", "tpot_p95"):
        target = getattr(slo, key)
        if target is not None:
            excess += max(0.0, plan.latency_s[key] / target - 1.0)
    return excess + plan.monthly_cost_usd * 1e-12


def _llm_plan_at(work: Workload, inf: Inference, gpu: GpuSpec, offer: PricedOffer, eff: ServingEfficiency,
                 tp: int, batch: int, peak: float) -> ServingPlan:
    rep = _llm_replica(work, inf, gpu, offer, tp, batch, peak, eff)
    slo = inf.slo
    slot_rate = 1.0 / rep.service_s
    replicas = _replicas_needed(inf.rate, batch, slot_rate, lambda r: _llm_latency(inf, rep, r, batch), slo)
    replicas, instances = _fill_instances(replicas, tp, offer.offer.gpus_per_instance)
    latency = _llm_latency(inf, rep, replicas, batch)
    meets = all(getattr(slo, key) is None or latency[key] <= getattr(slo, key) * (1 + 1e-9)
                for key in ("ttft_p50", "ttft_p95", "tpot_p50", "tpot_p95"))
    monthly = monthly_cost_usd(instances, offer.offer.usd_per_hour, inf.hours_per_month)
    autoscaled = None
    if inf.average_rate is not None:
        avg_reps = _replicas_needed(inf.average_rate, batch, slot_rate,
                                    lambda r: _llm_latency(inf, rep, r, batch, inf.average_rate), slo)
        _, avg_instances = _fill_instances(avg_reps, tp, offer.offer.gpus_per_instance)
        autoscaled = monthly_cost_usd(avg_instances, offer.offer.usd_per_hour, inf.hours_per_month)
    month_rate = inf.average_rate or inf.rate
    requests = month_rate * inf.hours_per_month * 3600.0
    bill = autoscaled if autoscaled is not None else monthly
    return ServingPlan(
        gpu=gpu.id, provider=offer.provider, instance=offer.offer.instance, replicas=replicas,
        gpus_per_replica=tp, gpu_count=replicas * tp, instances=instances, batch_size=batch,
        capacity_rps_per_replica=rep.capacity_rps, utilization=inf.rate / (replicas * rep.capacity_rps),
        latency_s=latency, throughput_tokens_per_s=inf.rate * inf.output_tokens,
        monthly_cost_usd=monthly, monthly_cost_autoscaled_usd=autoscaled,
        usd_per_million_output_tokens=bill / (requests * inf.output_tokens) * 1e6,
        usd_per_thousand_requests=bill / requests * 1e3,
        meets_slo=meets, fits=True, efficiency=eff, reasons=() if meets else (_miss_reason(latency, slo),),
    )


def _llm_latency(inf: Inference, rep: _Replica, replicas: int | None, batch: int, rate: float | None = None
                 ) -> dict[str, float]:
    """TTFT and TPOT percentiles with `replicas` replicas of `batch` slots each (Erlang C on the slots).

    replicas=None: as many as it takes for no request to queue (the service-time floor of the latencies).
    """
    rate = inf.rate if rate is None else rate
    slot_rate = 1.0 / rep.service_s
    if replicas is None:
        busy, wait50, wait95 = 0.0, 0.0, 0.0
    else:
        slots = replicas * batch
        busy = min(1.0, rate / (slots * slot_rate))
        # a new request waits for a free slot (queue), then for the running decode iteration, then its prefill
        wait50, wait95 = wait_quantiles(slots, rate, slot_rate, (0.50, 0.95))
    # TPOT: a decode iteration at the running batch, plus the prefills that cut in, spread over the output
    mean_batch = max(1.0, busy * batch)
    tpot50 = rep.decode_s + mean_batch * rep.prefill_s / inf.output_tokens
    tpot95 = rep.decode_s + batch * rep.prefill_s / inf.output_tokens
    return {"ttft_p50": wait50 + rep.prefill_s + rep.decode_s / 2.0,
            "ttft_p95": wait95 + rep.prefill_s + rep.decode_s,
            "tpot_p50": tpot50, "tpot_p95": tpot95}


def _replicas_needed(rate: float, batch: int, slot_rate: float, latency_of, slo) -> int:
    """Fewest replicas keeping utilisation < 1 and, where more replicas can reach them, the latency targets."""
    def meets(latency: dict[str, float]) -> bool:
        return all(getattr(slo, key, None) is None or latency[key] <= getattr(slo, key) for key in latency)

    replicas = max(1, math.floor(rate / (batch * slot_rate)) + 1)
    if not meets(latency_of(None)):
        return replicas  # the service time itself misses a target: no number of replicas helps
    latency = latency_of(replicas)
    while not meets(latency) and replicas < MAX_REPLICAS:
        more = min(MAX_REPLICAS, replicas + max(1, replicas // 8))
        next_latency = latency_of(more)
        if max(next_latency.values()) >= max(latency.values()):
            return replicas  # latency no longer falls with replicas (e.g. batches take longer to fill)
        replicas, latency = more, next_latency
    return replicas


def _fill_instances(replicas: int, gpus_per_replica: int, gpus_per_instance: int) -> tuple[int, int]:
    """Round replicas up so the rented instances are fully used; returns (replicas, instances)."""
    instances = -(-replicas * gpus_per_replica // gpus_per_instance)
    return instances * gpus_per_instance // gpus_per_replica, instances


def _miss_reason(latency: dict[str, float], slo) -> str:
    misses = [f"misses {key.replace('_', ' ')} ({latency[key] * 1e3:.0f} ms > {getattr(slo, key) * 1e3:.0f} ms)"
              for key in latency if getattr(slo, key, None) is not None and latency[key] > getattr(slo, key)]
    return "; ".join(misses) or "misses its latency targets"


def _unusable(gpu: GpuSpec, offer: PricedOffer, eff: ServingEfficiency, reason: str) -> ServingPlan:
    return ServingPlan(
        gpu=gpu.id, provider=offer.provider, instance=offer.offer.instance, replicas=0, gpus_per_replica=1,
        gpu_count=0, instances=0, batch_size=0, capacity_rps_per_replica=0.0, utilization=0.0, latency_s={},
        throughput_tokens_per_s=0.0, monthly_cost_usd=0.0, monthly_cost_autoscaled_usd=None,
        usd_per_million_output_tokens=None, usd_per_thousand_requests=0.0, meets_slo=False,
        fits=not reason.startswith("does not fit"), efficiency=eff, reasons=(reason,),
    )


# ------------------------------------------------------------------------------------------ non-generative


def plan_batch_serving(work: Workload, inf: Inference, gpu: GpuSpec, offer: PricedOffer,
                       eff: ServingEfficiency) -> ServingPlan:
    """Dynamic batching for encoders, CNNs and MLPs: the cheapest (batch, replicas) meeting latency targets."""
    peak = _peak(gpu, inf.precision)
    if peak is None:
        return _unusable(gpu, offer, eff, f"no {COMPUTE_PRECISION[inf.precision]} on this GPU")
    weights = weight_bytes(work, inf.precision)
    per_sample_act = work.activation_bytes_per_sample_16bit / work.layers * BYTES[inf.precision] / 2.0
    free = usable_bytes(gpu) - weights
    if free <= per_sample_act:
        return _unusable(gpu, offer, eff, f"does not fit in memory ({weights / 1e9:.1f} GB of weights)")
    limit = min(int(free // max(per_sample_act, 1.0)), inf.max_batch or 1 << 12, 1 << 12)
    best = closest = None
    batch = 1
    while batch <= limit:
        service = max(batch * work.forward_flops_per_sample / (peak * eff.compute.value),
                      (weights + batch * per_sample_act) / (gpu.memory_bandwidth_gbs * 1e9 * eff.bandwidth.value))
        plan = _batch_plan_at(inf, gpu, offer, eff, batch, service)
        if plan.meets_slo and (best is None or plan.monthly_cost_usd < best.monthly_cost_usd):
            best = plan
        if closest is None or _latency_excess(plan, inf) < _latency_excess(closest, inf):
            closest = plan
        batch *= 2
    return best or closest


def _latency_excess(plan: ServingPlan, inf: Inference) -> float:
    return sum(max(0.0, plan.latency_s[k] / getattr(inf.slo, k) - 1.0) for k in plan.latency_s
               if getattr(inf.slo, k, None) is not None) + plan.monthly_cost_usd * 1e-12


def _batch_latency(inf: Inference, replicas: int | None, batch: int, service: float, rate: float
                   ) -> dict[str, float]:
    """Latency percentiles: queueing for a batch slot, gathering the batch, and the batch's service time."""
    quantiles = (0.50, 0.95, 0.99)
    if replicas is None:  # no queueing and a batch that is always already gathered: the floor
        return {f"latency_p{round(q * 100)}": service for q in quantiles}
    fill = (batch - 1) / (rate / replicas) if batch > 1 else 0.0  # time to gather a full batch at this rate
    if inf.max_queue_delay is not None:
        fill = min(fill, inf.max_queue_delay)
    waits = wait_quantiles(replicas * batch, rate, 1.0 / service, quantiles)
    return {f"latency_p{round(q * 100)}": wait + fill * q + service for q, wait in zip(quantiles, waits)}


def _batch_plan_at(inf: Inference, gpu: GpuSpec, offer: PricedOffer, eff: ServingEfficiency, batch: int,
                   service: float) -> ServingPlan:
    slo = inf.slo
    replicas = _replicas_needed(inf.rate, batch, 1.0 / service,
                                lambda r: _batch_latency(inf, r, batch, service, inf.rate), slo)
    replicas, instances = _fill_instances(replicas, 1, offer.offer.gpus_per_instance)
    latency = _batch_latency(inf, replicas, batch, service, inf.rate)
    meets = all(getattr(slo, k) is None or latency[k] <= getattr(slo, k) * (1 + 1e-9) for k in latency)
    monthly = monthly_cost_usd(instances, offer.offer.usd_per_hour, inf.hours_per_month)
    autoscaled = None
    if inf.average_rate is not None:
        avg = _replicas_needed(inf.average_rate, batch, 1.0 / service,
                               lambda r: _batch_latency(inf, r, batch, service, inf.average_rate), slo)
        autoscaled = monthly_cost_usd(_fill_instances(avg, 1, offer.offer.gpus_per_instance)[1],
                                      offer.offer.usd_per_hour, inf.hours_per_month)
    requests = (inf.average_rate or inf.rate) * inf.hours_per_month * 3600.0
    bill = autoscaled if autoscaled is not None else monthly
    return ServingPlan(
        gpu=gpu.id, provider=offer.provider, instance=offer.offer.instance, replicas=replicas,
        gpus_per_replica=1, gpu_count=replicas, instances=instances, batch_size=batch,
        capacity_rps_per_replica=batch / service, utilization=inf.rate * service / (replicas * batch),
        latency_s=latency, throughput_tokens_per_s=0.0, monthly_cost_usd=monthly,
        monthly_cost_autoscaled_usd=autoscaled, usd_per_million_output_tokens=None,
        usd_per_thousand_requests=bill / requests * 1e3, meets_slo=meets, fits=True, efficiency=eff,
        reasons=() if meets else (_miss_reason(latency, slo),),
    )
