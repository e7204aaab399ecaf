"""Serving plans: continuous batching of a decoder on the prefill/decode roofline (paged KV cache, tensor parallel),
dynamic batching of encoders/CNNs/MLPs, replicas from M/D/c queueing for the percentile targets, the monthly bill.

The queueing model (checked by planner/model/simulation.py, which simulates the same system):
- generative: a replica runs `batch` slots; a request holds a slot for the replica's full-load cycle
  D = batch·prefill + output·step (its prefill, its decode steps, and the other slots' prefills that cut in,
  as vLLM/TGI/TensorRT-LLM interleave them); replicas × batch slots form an M/D/c queue.
  TTFT = wait + the running decode step + prefill; TPOT = step + (prefills cutting in)·prefill / output, the
  cut-ins being Poisson with mean (batch − 1)·ρ·(D − prefill)/D, at most batch − 1 (each other slot starts at most
  one request meanwhile): requests arrive as a Poisson stream and, below saturation, start on arrival. A binomial
  over the other slots with the same mean had a thinner tail: with chunked 16k-token prompts on H100
  (tests/test_serving_features.py) its TPOT p95 was 9.3 % under the simulation's, the Poisson's 2.3 %.
- non-generative: dynamic batching with max_queue_delay (batch_latency); batch 1 is M/D/c on the replicas.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Callable
from dataclasses import field, replace
from planner.dataclass import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from planner.catalog.load import Catalog, PricedOffer
from planner.dataclass import maker
from planner.efficiency.origin import Z90, Efficiency, held_out_widened, prior_efficiency
from planner.model.bill import ServingBill
from planner.model.costing import monthly_cost_usd
from planner.model.dynamic_batching import (
    BATCH_KEYS,
    BATCH_RANKED,
    ChainView,
    batch_cycle,
    batch_latency,
    batch_percentiles,
    judged_keys,
)
from planner.model.engine_step import engine_step
from planner.model.forward_time import (
    ExecutionMode,
    execution_mode,
    forward_seconds,
    forward_seconds_of,
    kernels_per_forward,
    shape_efficiency_of,
    shape_note,
)
from planner.model.inference_time import (
    DecodeTerms,
    decode_step_at,
    decode_step_seconds,
    decode_terms,
    default_kv_precision,
    kv_batch_limit,
    tp_allreduce_seconds,
)
from planner.model.interconnect import PlanLinks, intra_node_gbs
from planner.model.md_c import (
    md_c_wait_plus_uniform_quantile,
    quantile_bounds,
    quantile_within,
    quantile_within_known,
)
from planner.model.memory import usable_bytes
from planner.model.percentile import Percentile
from planner.model.precision import COMPUTE_PRECISION, alternative_precision, peak_flops
from planner.model.queueing import poisson_quantile_within, poisson_quantiles
from planner.model.serving_features import (
    cached_prefill_seconds,
    chunked_prefill_seconds,
    slot_hold_seconds,
    expected_tokens_per_round,
    verify_step_seconds,
)
from planner.model.simulation_length import SimulatedLatency, first_requests, requests_for, until_decided
from planner.model.workload import BYTES, Workload, weight_bytes
from planner.plans import verdict
from planner.plans.verdict import Kind, Verdict
from planner.schema.catalog import COMMIT_TERM_HOURS, CommittedPrice, GpuSpec
from planner.schema.profile import Inference, Slo

if TYPE_CHECKING:
    from planner.model.batching_chain import ChainsByCurve
    from planner.model.simulation import DynamicBatchingRuns

TENSOR_PARALLEL = (1, 2, 4, 8)
MAX_REPLICAS = 100_000
MAX_BATCH = 1 << 12
"""Largest batch searched when the profile sets no max_batch."""
LLM_KEYS = ("ttft_p50", "ttft_p95", "tpot_p50", "tpot_p95")


@dataclass(frozen=True)
class ServingEfficiency:
    """Compute efficiency (prefill, forward) and bandwidth efficiency (decode) with their origins."""

    compute: Efficiency
    bandwidth: Efficiency
    host_floor_s: float = 0.0
    """Host time per operator of the engine's execution mode (catalog/priors.yaml launch_floors; 0: none): a forward
    pass or decode step takes at least operators × this."""
    mode: ExecutionMode = "compiled"
    """The engine's execution mode (a forward pass in eager mode also moves its materialised attention scores)."""
    engine_step_s: float = 0.0
    """The engine's host time per decode step, serial with the GPU (catalog/priors.yaml engine_steps,
    planner/model/engine_step.py): every step, and the prefill's, pays it."""


def headroom_factor(eff: ServingEfficiency, key: str) -> float:
    """How much a latency may grow if the GPU reaches the P10 of its efficiency instead of the median:
    exp(Z90 · σ) of the efficiency that sets it (bandwidth for TPOT, compute for TTFT and request latency)."""
    sigma = eff.bandwidth.log_sigma if key.startswith("tpot") else eff.compute.log_sigma
    return math.exp(Z90 * sigma)


def headroom_slo(slo: Slo, eff: ServingEfficiency) -> Slo:
    """The targets a plan meets exactly when it holds `slo` with headroom (at the P10 efficiency): each target ÷
    headroom_factor. The search sizes plans for them (serving_plans) and the decision judges with them
    (rank.holds_with_headroom), so both read one criterion. Kept per (Slo object, the two σ headroom_factor reads):
    the ranking asks for it for every plan, several times an estimate, and pydantic's dump and copy cost ~15 µs."""
    key = (id(slo), eff.bandwidth.log_sigma, eff.compute.log_sigma)
    found = _HEADROOM_SLOS.get(key)
    if found is None or found[0] is not slo:
        if len(_HEADROOM_SLOS) >= 256:
            _HEADROOM_SLOS.clear()
        targets = slo.targets()
        found = _HEADROOM_SLOS[key] = (slo, slo.model_copy(update={
            name: target / headroom_factor(eff, name) for name, target in targets.items()}))
    return found[1]


_HEADROOM_SLOS: dict[tuple[int, float, float], tuple[Slo, Slo]] = {}
"""headroom_slo per (Slo object, bandwidth σ, compute σ), each with its Slo (frozen; held, so its id() is not
reused while kept)."""


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
    verdicts: tuple[Verdict, ...]
    """Why the plan misses its targets or cannot run, as data (empty: it meets them)."""
    timing_s: dict[str, float] = field(default_factory=dict)
    """Per-replica service times behind the plan: prefill, decode_step and hold (generative) or service."""
    autoscaled_replicas: int | None = None
    """Replicas that hold the targets at average_rate × (1 + autoscale_headroom)."""
    simulated_latency_s: dict[str, float] | None = None
    """Percentiles from planner/model/simulation.py (estimate --simulate), beside the analytic latency_s."""
    price_as_of: dt.date | None = None
    """Date of the offer's price (None: no catalog offer, e.g. this machine)."""
    price_flags: tuple[str, ...] = ()
    """Doubts about the price (planner/catalog/trust.py); empty when trusted."""
    assumed_network_gbps: float | None = None
    """Gbit/s between instances this plan assumed because its offer states none (None: stated, or one instance)."""
    links: PlanLinks | None = None
    """The link inside a replica (None: one GPU per replica, or no catalog offer); replicas do not talk to
    each other, so a serving plan never states a network."""
    discount_percent: float = 0.0
    """The user's discount with the provider (constraints.discounts), already in the cost."""
    commitment: CommittedPrice | None = None
    """The committed-term price the plan is priced at (constraints.commitment); None: on demand or spot. A service
    runs the whole term, so its monthly cost is the committed price × instances × the whole month (_plan below)."""
    expert: int = 1
    """Expert-parallel ranks of a replica: a mixture of experts spreads its experts over the replica's GPUs
    (vLLM --enable-expert-parallel) while attention stays tensor parallel; 1 for dense models."""
    billed_hours_per_month: float = 0.0
    """Hours a month the instances are billed: inference.hours_per_month, the whole month (730 h) at a committed
    price (_plan below); 0 for a plan with no instances."""
    bill: ServingBill | None = None
    """Storage and egress of the month (planner/model/bill.py), set per provider by the search; None: not priced."""
    analytic_replicas: int | None = None
    """--simulate: the replicas the analytic model sized where the simulation refuted them (a target missed), this
    plan's being the fewest the simulation accepts (plans/simulated.py); None: not resized."""
    analytic_misses: tuple[str, ...] = ()
    """What the simulation found the analytic_replicas missing, in words (its verdicts' reasons)."""

    @property
    def reasons(self) -> tuple[str, ...]:
        """The verdicts in words."""
        return verdict.reasons(self.verdicts)


_make_plan = maker(ServingPlan)
"""ServingPlan(...) without its per-field setattr (dataclass.py): a plan per offer."""


# ------------------------------------------------------------------------------------------ generative


@dataclass(frozen=True)
class LlmTiming:
    """One (tensor parallel, batch) configuration of a replica: its prefill, decode step and slot hold time."""

    tp: int
    batch: int
    prefill_s: float
    step_s: float
    hold_s: float
    prefill_cut_s: float | None = None
    """What one prefill costs the running batch (chunked prefill: less than prefill_s); None: prefill_s."""

    @property
    def cut_s(self) -> float:
        """Decode time the other slots lose to one prefill."""
        return self.prefill_s if self.prefill_cut_s is None else self.prefill_cut_s

    @property
    def capacity_rps(self) -> float:
        """Requests per second one replica completes at full load."""
        return self.batch / self.hold_s


_make_timing = maker(LlmTiming)
"""LlmTiming(...) without its per-field setattr: ~1,650 a serve-7b-chat search."""


def llm_timing(work: Workload, inf: Inference, gpu: GpuSpec, tp: int, batch: int, link_gbs: float, link: str,
               eff: ServingEfficiency) -> LlmTiming | None:
    """Prefill, decode step (mean context prompt + output/2) and slot hold D = batch·prefill + output·step; with
    prefix caching, chunked prefill and speculative decoding when the profile turns them on
    (model/serving_features.py)."""
    basis = _timing_basis(work, inf, gpu, tp, link_gbs, link, eff)
    return None if basis is None else _timing_at(basis, work, inf, tp, batch, link_gbs, link, eff)


@dataclass(frozen=True)
class _TimingBasis:
    """What llm_timing reads that is the same at every batch of one (GPU, tensor degree, link)."""

    flops: float
    bytes_per_s: float
    kv: str
    output: float
    context: float
    prompt: float
    cached: float
    prefill: float
    """The whole prompt's prefill (chunked prefill replaces it per batch)."""
    host: float
    """Host time of a decode step's operators (an eager engine's step is no shorter: forward_time.py)."""
    decode: DecodeTerms
    """decode_terms at the mean context: what a decode step reads that is the same at every batch."""


def _timing_basis(work: Workload, inf: Inference, gpu: GpuSpec, tp: int, link_gbs: float, link: str,
                  eff: ServingEfficiency) -> _TimingBasis | None:
    peak = peak_flops(gpu, inf.precision)
    if peak is None:
        return None
    flops = peak * eff.compute.value * tp
    bytes_per_s = gpu.memory_bandwidth_gbs * 1e9 * eff.bandwidth.value * tp
    kv = inf.kv_precision or default_kv_precision(inf.precision)
    prompt = float(inf.prompt_tokens or 0.0)
    output = float(inf.output_tokens or 0.0)
    context = prompt + output / 2.0
    cached = prompt * inf.prefix_cache_hit_rate
    prefill = cached_prefill_seconds(work, prompt, cached, inf.precision, flops, bytes_per_s,
                                     tp_allreduce_seconds(work, prompt - cached, tp, link_gbs, link))
    return _TimingBasis(flops, bytes_per_s, kv, output, context, prompt, cached, prefill,
                        kernels_per_forward(work) * eff.host_floor_s, decode_terms(work, context, inf.precision, kv))


def _timing_at(basis: _TimingBasis, work: Workload, inf: Inference, tp: int, batch: int, link_gbs: float,
               link: str, eff: ServingEfficiency) -> LlmTiming:
    """llm_timing at one batch from its basis."""
    flops, bytes_per_s, kv, context, prefill = basis.flops, basis.bytes_per_s, basis.kv, basis.context, basis.prefill
    cut = None
    if inf.chunked_prefill is not None:
        prefill, cut = chunked_prefill_seconds(work, basis.prompt, basis.cached, inf.chunked_prefill, batch, context,
                                               inf.precision, kv, flops, bytes_per_s)
    # the host issues every operator of a step: an eager engine's step is no shorter than that (forward_time.py)
    # and the engine's host work between steps, serial with them (planner/model/engine_step.py)
    engine = eff.engine_step_s
    prefill += engine
    step = max(basis.host, decode_step_at(basis.decode, work, batch, inf.precision, flops, bytes_per_s,
                                          tp_allreduce_seconds(work, batch, tp, link_gbs, link))) + engine
    spec = inf.speculative
    if spec is not None and work.draft is not None:
        draft_step = max(kernels_per_forward(work.draft) * eff.host_floor_s,
                         decode_step_seconds(work.draft, batch, context, inf.precision, kv, flops, bytes_per_s,
                                             tp_allreduce_seconds(work.draft, batch, tp, link_gbs, link)))
        verify = verify_step_seconds(work, batch, spec.tokens, context, inf.precision, kv, flops, bytes_per_s,
                                     tp_allreduce_seconds(work, batch * (spec.tokens + 1), tp, link_gbs, link))
        # one scheduler iteration per round of drafts and their verification
        step = (spec.tokens * draft_step + verify + engine) / expected_tokens_per_round(spec.tokens, spec.acceptance)
    # a slot is held for its own prefill, the other batch − 1 slots' prefills cutting into its decode (each costing
    # it cut_s: a whole prefill, or with chunked prefill only the excess of the fused steps), and its decode steps
    # LlmTiming(...) without the frozen dataclass's per-field setattr (dataclass.py): ~1,650 a search
    return _make_timing(tp=tp, batch=batch, prefill_s=prefill, step_s=step,
                 hold_s=slot_hold_seconds(batch, prefill, cut, basis.output, step), prefill_cut_s=cut)


LLM_QUANTILES = (0.50, 0.95)
"""The TTFT and TPOT percentiles of a generative plan (p50, p95)."""
_LARGEST = max(LLM_QUANTILES)


def llm_latency(inf: Inference, timing: LlmTiming, replicas: int | None, rate: float, whole: bool = True
                ) -> dict[str, float]:
    """TTFT and TPOT p50/p95 with `replicas` replicas (None: unlimited replicas, the service-time floor). Not
    `whole`: without the TTFT p50 unless it has a target — what judges and ranks a configuration (_meets,
    _slo_excess, the TTFT p95 tie-break), the p50's queue quantile left for the configuration a plan keeps."""
    latency = {}
    if whole or inf.slo.ttft_p50 is not None:
        latency["ttft_p50"] = _slot_wait(timing, replicas, rate, LLM_QUANTILES[0]) + timing.prefill_s
    latency["ttft_p95"] = _slot_wait(timing, replicas, rate, LLM_QUANTILES[1]) + timing.prefill_s
    latency["tpot_p50"], latency["tpot_p95"] = _tpot(inf, timing, replicas, rate)
    return latency


def _slot_wait(timing: LlmTiming, replicas: int | None, rate: float, q: float) -> float:
    """TTFT less the prefill: the wait for a slot + the rest of the running decode step (uniform); replicas × batch
    slots each held exactly `hold` form an M/D/c queue, whose waiting time is Crommelin's (planner/model/md_c.py)."""
    if replicas is None:
        return q * timing.step_s
    return md_c_wait_plus_uniform_quantile(replicas * timing.batch, rate, timing.hold_s, timing.step_s, q,
                                           max(LLM_QUANTILES))


def _tpot(inf: Inference, timing: LlmTiming, replicas: int | None, rate: float) -> tuple[float, float]:
    """TPOT p50 and p95: a decode step, and the prefills of new requests cutting into the batch (Poisson, at most
    batch − 1)."""
    batch, step, hold, cut = timing.batch, timing.step_s, timing.hold_s, timing.cut_s
    k50, k95 = poisson_quantiles(_cut_in_mean(timing, replicas, rate), LLM_QUANTILES, batch - 1)
    generated = inf.output_tokens or inf.generated  # the field itself where set (the property checks it is: ~0.4 µs)
    return step + k50 * cut / generated, step + k95 * cut / generated


def _cut_in_mean(timing: LlmTiming, replicas: int | None, rate: float) -> float:
    """Mean prefills cutting into a request's decode: (batch − 1)·ρ·(D − cut)/D."""
    batch, hold, cut = timing.batch, timing.hold_s, timing.cut_s
    cut_in = 0.0 if replicas is None else min(1.0, rate * hold / (replicas * batch) * max(0.0, hold - cut) / hold)
    return (batch - 1) * cut_in


def _tpot_meets(inf: Inference, timing: LlmTiming, replicas: int | None, rate: float) -> bool | None:
    """Whether _tpot's percentiles meet their targets (as _within judges them), decided where Chernoff bounds
    settle each (queueing.poisson_quantile_within) without its quantile; None when one is not settled. A TPOT is
    step + k·cut/generated, increasing in the quantile k: it meets a target exactly when k ≤ the largest count whose
    TPOT, computed the same way, does (_tpot_limits: the same at every replica count)."""
    key = (id(inf), id(timing))
    found = _TPOT_LIMITS.get(key)
    if found is None or found[0] is not inf or found[1] is not timing:
        if len(_TPOT_LIMITS) >= 16384:
            _TPOT_LIMITS.clear()
        found = _TPOT_LIMITS[key] = (inf, timing, _tpot_limits(inf, timing))
    return _tpot_settled(found[2], timing, replicas, rate)


def _tpot_settled(limits: tuple[tuple[float, int], ...], timing: LlmTiming, replicas: int | None, rate: float
                  ) -> bool | None:
    """_tpot_meets from the timing's TPOT limits (_tpot_limits)."""
    cap, mean = timing.batch - 1, None
    for q, most in limits:
        if most < 0:
            return False  # k ≥ 0
        if most >= cap:
            continue  # k ≤ cap
        mean = _cut_in_mean(timing, replicas, rate) if mean is None else mean
        settled = poisson_quantile_within(mean, q, cap, most)
        if settled is None or not settled:
            return settled
    return True


def _tpot_limits(inf: Inference, timing: LlmTiming) -> tuple[tuple[float, int], ...]:
    """Per TPOT percentile with a target, in order: the largest quantile k ≤ cap = batch − 1 whose TPOT, on _tpot's
    expression, meets it (−1: not even k = 0; cap: every k)."""
    slo = inf.slo
    step, cut, generated, cap = timing.step_s, timing.cut_s, inf.output_tokens or inf.generated, timing.batch - 1
    limits = []
    for q, target in zip(LLM_QUANTILES, (slo.tpot_p50, slo.tpot_p95)):
        if target is None:
            continue
        limit = target * (1 + 1e-9)
        if not step + 0 * cut / generated <= limit:
            limits.append((q, -1))
            break  # _tpot_meets answers at it
        if step + cap * cut / generated <= limit:
            limits.append((q, cap))
            continue
        # the largest k < cap meeting the target: from the real-valued bound, then checked on _tpot's expression
        most = min(cap - 1, max(0, math.floor((limit - step) * generated / cut))) if cut > 0.0 else cap - 1
        while most > 0 and not step + most * cut / generated <= limit:
            most -= 1
        while most + 1 < cap and step + (most + 1) * cut / generated <= limit:
            most += 1
        limits.append((q, most))
    return tuple(limits)


_TPOT_LIMITS: dict[tuple[int, int], tuple[Inference, LlmTiming, tuple[tuple[float, int], ...]]] = {}
"""_tpot_limits per (inference section, timing) object (held, so their id()s are not reused while kept): a search
asks _tpot_meets ~3,800 times of ~1,700 timings, at other replica counts and rates."""


def llm_meets(inf: Inference, timing: LlmTiming, replicas: int | None, rate: float) -> bool:
    """_meets(llm_latency(…), inf.slo), computing only what decides it: the TPOT percentiles (no queue) first, then
    the TTFT percentiles that have a target — each TTFT quantile is the same number alone as in llm_latency
    (md_c_wait_plus_uniform_quantile), so the answer is too; one that bounds on the wait's tail put surely past or
    surely within its target is not computed (md_c.quantile_within). Replica searches ask this at every count they try and
    need the whole latency only at the count they keep."""
    slo = inf.slo
    tpot = _tpot_meets(inf, timing, replicas, rate)
    if tpot is None:
        tpot50, tpot95 = _tpot(inf, timing, replicas, rate)
        tpot = _within(tpot50, slo.tpot_p50) and _within(tpot95, slo.tpot_p95)
    if not tpot:
        return False
    for q, target in zip(LLM_QUANTILES, (slo.ttft_p50, slo.ttft_p95)):
        if target is None:
            continue
        if replicas is not None:
            # most counts tried are far from the target either way: bounds on the wait's tail say so without the FFT
            servers, wait = replicas * timing.batch, target * (1 + 1e-9) - timing.prefill_s
            settled = quantile_within(servers, rate, timing.hold_s, timing.step_s, q, _LARGEST, wait)
            if settled is None:  # from the queue's distribution, or a neighbour's, without the quantile's search
                settled = quantile_within_known(servers, rate, timing.hold_s, timing.step_s, q, _LARGEST, wait)
            if settled is not None:
                if not settled:
                    return False
                continue
        if not _within(_slot_wait(timing, replicas, rate, q) + timing.prefill_s, target):
            return False
    return True


def _llm_meets_of(inf: Inference, timing: LlmTiming, limits: dict[int, tuple[tuple[float, int], ...]]) -> MeetsOf:
    """llm_meets(inf, timing, ·, ·) with what reads neither the replica count nor the rate worked out once: the
    same operations on the same numbers, so the same answers (tests/test_serving_search_shortcuts.py). `limits`:
    where _tpot_limits(inf, timing) is kept, by batch (its degree's, shared with _Degree.tpot_limits), read when
    first needed. A search asks ~2,700 verdicts of ~900 configurations."""
    slo = inf.slo
    batch, hold, step, prefill = timing.batch, timing.hold_s, timing.step_s, timing.prefill_s
    cap, left = batch - 1, max(0.0, hold - timing.cut_s)
    tpot50, tpot95 = slo.tpot_p50, slo.tpot_p95
    # (q, target, the wait it allows) of each TTFT percentile with a target, as llm_meets works them out
    ttft = tuple((q, target, target * (1 + 1e-9) - prefill)
                 for q, target in zip(LLM_QUANTILES, (slo.ttft_p50, slo.ttft_p95)) if target is not None)
    kept: list[tuple[tuple[float, int], ...]] = []

    def meets(replicas: int | None, rate: float) -> bool:
        if not kept:
            found = limits.get(batch)
            if found is None:
                found = limits[batch] = _tpot_limits(inf, timing)
            kept.append(found)
        # _tpot_settled written out: _cut_in_mean's expression, (batch − 1)·min(1, ρ·(D − cut)/D)
        tpot: bool | None = True
        mean = None
        for q, most in kept[0]:
            if most < 0:
                tpot = False
                break
            if most >= cap:
                continue
            if mean is None:
                mean = cap * (0.0 if replicas is None else min(1.0, rate * hold / (replicas * batch) * left / hold))
            tpot = poisson_quantile_within(mean, q, cap, most)
            if not tpot:
                break
        if tpot is None:
            tpot50_s, tpot95_s = _tpot(inf, timing, replicas, rate)
            tpot = _within(tpot50_s, tpot50) and _within(tpot95_s, tpot95)
        if not tpot:
            return False
        for q, target, wait in ttft:
            if replicas is not None:
                servers = replicas * batch
                settled = quantile_within(servers, rate, hold, step, q, _LARGEST, wait)
                if settled is None:
                    settled = quantile_within_known(servers, rate, hold, step, q, _LARGEST, wait)
                if settled is not None:
                    if not settled:
                        return False
                    continue
            if not _within(_slot_wait(timing, replicas, rate, q) + prefill, target):
                return False
        return True

    return meets


def _within(value: float, target: float | None) -> bool:
    """A value meets its target (None: no target), as _meets judges it."""
    return target is None or value <= target * (1 + 1e-9)


def _meets(latency: dict[str, float], slo: Slo) -> bool:
    """Every percentile with a target within it (to 1e-9 relative)."""
    for key, target in _targets(slo):  # the targets set, not every percentile with a getattr (~3,600 calls)
        value = latency.get(key)
        if value is not None and not value <= target * (1 + 1e-9):
            return False
    return True


def _targets(slo: Slo) -> tuple[tuple[str, float], ...]:
    """slo.targets()'s items, kept per Slo object (held, so its id() is not reused while kept)."""
    found = _TARGETS.get(id(slo))
    if found is None or found[0] is not slo:
        if len(_TARGETS) >= 256:
            _TARGETS.clear()
        found = _TARGETS[id(slo)] = (slo, tuple(slo.targets().items()))
    return found[1]


_TARGETS: dict[int, tuple[Slo, tuple[tuple[str, float], ...]]] = {}


def meets_targets(latency: dict[str, float], slo: Slo) -> bool:
    """Every percentile with a target within it (to 1e-9 relative), as the search judges its plans."""
    return _meets(latency, slo)


def replicas_needed(rate: float, capacity_rps: float, latency_of: Callable[[int | None], dict[str, float]], slo: Slo,
                    cap: int | None = None, meets_of: Callable[[int | None], bool] | None = None,
                    settled: list[tuple[int, int]] | None = None) -> int:
    """Fewest replicas with utilisation < 1 that meet the targets (latency falls with replicas: gallop, then
    bisection). When even unlimited replicas miss a target (latency_of(None)), the stable minimum is returned;
    when more than `cap` replicas would be needed, max(`cap` + 1, the stable minimum) (the caller has a cheaper
    configuration). `meets_of(r)`, when given, says whether `latency_of(r)` meets the targets without working out all
    of it (llm_meets). Without a cap the gallop ends: unlimited replicas meet the targets, and the waiting-time tail
    is exactly 0 once the slots exceed the load by a few standard deviations (md_c.no_wait_bound).

    `settled`: where an answer is the same for every cap from some count on, (that count, the answer) is appended:
    the stable minimum when unlimited replicas miss or it meets (every cap), else the gallop's first meeting count
    h (every cap ≥ h gallops through the same counts to h, which meets, and bisects the same interval below it)."""
    meets = meets_of if meets_of is not None else (lambda r: _meets(latency_of(r), slo))
    low = max(1, math.floor(rate / capacity_rps) + 1)
    if not meets(None) or meets(low):
        if settled is not None:
            settled.append((0, low))
        return low
    cap = cap if cap is not None else _NO_CAP  # a caller's cap is its cheaper plan: MAX_REPLICAS would hide better ones
    if cap <= low:
        return max(cap + 1, low)  # never fewer than the stable minimum: those latencies would be infinite
    step, high = 1, low + 1
    while high <= cap and not meets(high):  # gallop: usually a few above the stable minimum
        low, step = high, step * 2
        high = high + step
    if high > cap:
        if cap <= low or not meets(cap):
            return cap + 1
        high = cap
    elif settled is not None:
        first = high
        while high - low > 1:  # latency_of(low) misses, latency_of(high) meets
            mid = (low + high) // 2
            low, high = (low, mid) if meets(mid) else (mid, high)
        settled.append((first, high))
        return high
    while high - low > 1:  # latency_of(low) misses, latency_of(high) meets
        mid = (low + high) // 2
        low, high = (low, mid) if meets(mid) else (mid, high)
    return high


_NO_CAP = 1 << 62
"""Gallop bound without a caller's cap: beyond any finite plan (the gallop reaches it in ~62 doublings)."""


def _fill_instances(replicas: int, gpus_per_replica: int, gpus_per_instance: int) -> tuple[int, int]:
    """Round replicas up so the rented instances hold as many as fit; returns (replicas, instances). A replica's
    tensor-parallel group stays inside one instance (its all-reduces run on the intra-node link), so an instance
    holds ⌊GPUs per instance / GPUs per replica⌋ of them: a 4-GPU replica on a 6-GPU machine leaves 2 GPUs idle."""
    per_instance = gpus_per_instance // gpus_per_replica
    instances = -(-replicas // per_instance)
    return instances * per_instance, instances


@dataclass(frozen=True)
class _Candidate:
    """A configuration with its replicas at peak and under autoscaling (independent of the offer's price)."""

    timing: LlmTiming | float
    batch: int
    tp: int
    replicas: int
    instances: int
    judged: dict[str, float] | None
    """The percentiles that judge and rank it (llm_latency(whole=False)); None: worked out from `percentiles` when
    first read (`latency`). _plan reads the whole from latency_at."""
    meets: bool
    capacity_rps: float
    latency_at: LatencyOf
    """latency_at(replicas, rate) → latency percentiles of this configuration."""
    gpus_per_instance: int
    autoscaled: list[tuple[int | None, int | None]] = field(default_factory=list, compare=False)
    """(replicas, instances) under autoscaling, computed once for the configuration that gets chosen."""
    meets_at: MeetsOf | None = field(default=None, compare=False)
    """meets_at(replicas, rate) → whether latency_at(replicas, rate) meets the targets (None: judge latency_at's)."""
    percentiles: dict[str, Percentile] | None = field(default=None, compare=False)
    """Dynamic batching: the judging percentiles, worked out as far as comparisons need them."""
    judged_at: LatencyOf | None = field(default=None, compare=False)
    """Generative: judged_at(replicas, rate) → the judging percentiles (llm_latency(whole=False)), worked out when
    first read: `meets` is decided without them, and the ranking reads them only among ties."""
    rate: float = field(default=0.0, compare=False)
    """The rate judged_at is read at (the peak)."""

    @property
    def latency(self) -> dict[str, float]:
        """The percentiles that judge and rank it."""
        if self.judged is not None:
            return self.judged
        if self.judged_at is not None:
            return self.judged_at(self.replicas, self.rate)
        assert self.percentiles is not None
        return {key: p.value() for key, p in self.percentiles.items()}

    def ranked_below(self, other: _Candidate) -> bool:
        """latency[BATCH_RANKED] < other's, worked out only as far as that takes."""
        if self.percentiles is not None and other.percentiles is not None:
            return self.percentiles[BATCH_RANKED].below(other.percentiles[BATCH_RANKED])
        return self.latency[BATCH_RANKED] < other.latency[BATCH_RANKED]

    def autoscale(self, inf: Inference) -> tuple[int | None, int | None]:
        """Replicas and instances holding the targets at average_rate × (1 + autoscale_headroom)."""
        if not self.autoscaled:
            self.autoscaled.append(_autoscaled(inf, self.capacity_rps, self.latency_at, self.tp,
                                               self.gpus_per_instance, self.meets_at))
        return self.autoscaled[0]


_make_candidate = maker(_Candidate)
"""_Candidate(...) without its per-field setattr: one per instance shape a generative search chooses."""


class _Sizing(NamedTuple):
    """A generative configuration sized on one instance shape: what _least_llm compares. A search sizes ~2,400 and
    chooses one per shape, which alone becomes a _Candidate (_candidate_of): the ~2,000 others cost a tuple each."""

    config: _Configuration
    batch: int
    tp: int
    replicas: int
    instances: int
    meets: bool
    judged: dict[str, float] | None
    """The latency with unlimited replicas of a configuration no replica count helps ('closest' only); None: sized."""
    rate: float

    @property
    def timing(self) -> LlmTiming | float:
        return self.config.timing

    @property
    def latency(self) -> dict[str, float]:
        """The percentiles that judge and rank it, as _Candidate.latency reads them."""
        return self.judged if self.judged is not None else self.config.judged_at(self.replicas, self.rate)


_Ranked = TypeVar("_Ranked", _Candidate, _Sizing)
"""What the ranking's bounds read (timing, replicas, judged, latency): a sizing, or a candidate (tests)."""


def _candidate_of(s: _Sizing, gpus_per_instance: int) -> _Candidate:
    """The _Candidate the search made of a sizing before (one no replica count helps: judged by its unlimited
    latency, without meets_at or judged_at)."""
    config = s.config
    if s.judged is not None:
        return _make_candidate(timing=config.timing, batch=s.batch, tp=s.tp, replicas=s.replicas,
                               instances=s.instances, judged=s.judged, meets=False,
                               capacity_rps=config.capacity_rps, latency_at=config.latency_at,
                               gpus_per_instance=gpus_per_instance)
    return _make_candidate(timing=config.timing, batch=s.batch, tp=s.tp, replicas=s.replicas, instances=s.instances,
                           judged=None, meets=s.meets, capacity_rps=config.capacity_rps,
                           latency_at=config.latency_at, gpus_per_instance=gpus_per_instance,
                           meets_at=config.meets_at, judged_at=config.judged_at, rate=s.rate)


Memo = dict[tuple[object, ...], Any]
"""Candidates already sized in one estimate, by everything they depend on (offers of one GPU share them); made
per estimate and dropped with it, so nothing outlives the inputs it was computed from."""


def _context(memo: Memo | None, work: Workload, inf: Inference, gpu: GpuSpec, eff: ServingEfficiency) -> object:
    """A token standing for (workload, inference section, GPU, efficiencies) in the memo's keys: those are hashed
    once per offer here rather than at each of the search's tens of thousands of look-ups (hashing a workload and
    a profile section field by field costs microseconds). The same objects again (the offers of one GPU share its
    priors: _priors) find their token by identity, without hashing them at all; the memo holds them, so no other
    object takes their ids while it lives."""
    if memo is None:
        return None
    same = ("same context", id(work), id(inf), gpu.id, id(eff))
    found = memo.get(same)
    if found is None:
        found = memo[same] = (memo.setdefault(("context", work, inf, gpu.id, eff), object()), work, inf, eff)
    return found[0]


def _memoised(memo: Memo | None, key: tuple[object, ...], build: Callable[[], list[_Candidate]]
              ) -> list[_Candidate]:
    if memo is None:
        return build()
    found: list[_Candidate] | None = memo.get(key)
    if found is None:
        found = memo[key] = build()
    return found


LatencyOf = Callable[[int | None, float], dict[str, float]]
MeetsOf = Callable[[int | None, float], bool]


Verdicts = dict[tuple[int | None, float], bool]
"""A configuration's verdicts (meets the targets) by (replicas, rate)."""
Latencies = dict[tuple[int | None, float], dict[str, float]]
"""A configuration's latencies by (replicas, rate)."""


def _remembering(latency_at: LatencyOf, judged_at: LatencyOf, meets_at: MeetsOf, slo: Slo,
                 seen: Latencies | None = None, parts: Latencies | None = None, decided: Verdicts | None = None,
                 looser: Verdicts | None = None) -> tuple[LatencyOf, LatencyOf, MeetsOf]:
    """latency_at, judged_at and meets_at of one configuration, their answers kept: the replica search asks for the
    same counts again (the gallop, the bisection, the count kept, autoscaling), and one GPU's configurations are
    sized again for every instance size it is offered in, at the same replica counts (_Configuration). A count
    whose whole latency is already worked out is judged as it is.

    `seen`, `parts`, `decided`: the dicts to keep them in (new ones when None): the latencies do not read the
    targets, so a configuration sized for the headroom targets shares them with the same configuration sized for
    the profile's (_Degree). `looser`: the verdicts of the same configuration under targets each at least these
    (the profile's, for the headroom search): a count that misses those misses these too (a latency above
    target·(1 + 1e-9) is above (target ÷ f)·(1 + 1e-9) for f ≥ 1), and is not judged again."""
    seen = {} if seen is None else seen
    parts = {} if parts is None else parts
    decided = {} if decided is None else decided

    def latency(replicas: int | None, rate: float) -> dict[str, float]:
        found = seen.get((replicas, rate))
        if found is None:
            found = seen[(replicas, rate)] = latency_at(replicas, rate)
        return found

    def judged(replicas: int | None, rate: float) -> dict[str, float]:
        found = parts.get((replicas, rate))
        if found is None:
            found = parts[(replicas, rate)] = judged_at(replicas, rate)
        return found

    def meets(replicas: int | None, rate: float) -> bool:
        found = decided.get((replicas, rate))
        if found is None:
            whole = seen.get((replicas, rate))
            if whole is not None:
                found = _meets(whole, slo)
            elif looser is not None and looser.get((replicas, rate)) is False:
                found = False
            else:
                found = meets_at(replicas, rate)
            decided[(replicas, rate)] = found
        return found

    return latency, judged, meets


@dataclass(frozen=True)
class _Configuration:
    """A (tensor parallel, batch) configuration of one GPU with its link and efficiencies: what sizes it at any
    instance size. Offers of one GPU in several instance sizes share it through the estimate's memo: replica
    counts and latencies do not depend on the instance, only the rounding to whole instances and the cost bound
    (the cap of _sized) do."""

    timing: LlmTiming | float
    capacity_rps: float
    stable: int
    """Fewest replicas with utilisation < 1, as the cost bound of the candidate searches counts them."""
    latency_at: LatencyOf
    judged_at: LatencyOf
    meets_at: MeetsOf
    unreachable: dict[str, float] | None = None
    """Generative batch above 1 that no replica count brings within the targets: its latency with unlimited
    replicas (the configuration is kept only as a 'closest' plan); None otherwise."""
    percentiles_at: Callable[[int | None, float], dict[str, Percentile]] | None = None
    """Dynamic batching: judged_at's percentiles as Percentile, worked out when compared (None: generative)."""
    needed: dict[int | None, int] = field(default_factory=dict, compare=False)
    """replicas_needed at the rate, by the caller's cap (None: no cap)."""
    settled: list[tuple[int, int]] = field(default_factory=list, compare=False)
    """replicas_needed's `settled`: (h, n) when its answer at the rate is n for every cap ≥ h (and no cap)."""


_make_configuration = maker(_Configuration)
"""_Configuration(...) without its per-field setattr: ~900 a serve-7b-chat search."""


def _searched_batches(limit: int, pinned: int | None) -> list[int]:
    """Batches to size, largest first (most capacity, so the cost bound prunes most); a pinned batch alone, when
    memory allows it."""
    if pinned is not None:
        return [pinned] if pinned <= limit else []
    return list(reversed(_batches(limit)))


def _batches(limit: int) -> list[int]:
    """Batch sizes searched: powers of two up to the limit, and the limit itself."""
    sizes, b = [], 1
    while b < limit:
        sizes.append(b)
        b *= 2
    return sizes + [limit]


def _autoscaled(inf: Inference, capacity: float, latency_at: LatencyOf, tp: int, gpus_per_instance: int,
                meets_at: MeetsOf | None = None) -> tuple[int | None, int | None]:
    if inf.average_rate is None:
        return None, None
    rate = min(inf.rate, inf.average_rate * (1.0 + inf.autoscale_headroom))
    reps = replicas_needed(rate, capacity, lambda r: latency_at(r, rate), inf.slo,
                           meets_of=None if meets_at is None else lambda r: meets_at(r, rate))
    return _fill_instances(reps, tp, gpus_per_instance)


def _llm_chosen(work: Workload, inf: Inference, gpu: GpuSpec, gpus_per_instance: int, link_gbs: float, link: str,
                eff: ServingEfficiency, memo: Memo | None = None, ctx: object = None) -> _Candidate | None:
    """The candidate _least_llm chooses among the configurations sized on one instance shape (None: none fits).
    The choice is made as they are sized: once one meets the targets, those that do not are never chosen, and a
    meeting one is kept only while tied with the least (instances, GPUs) so far (_Choice)."""
    choice = _Choice()
    fewest: float = math.inf  # instances of the best configuration meeting the targets so far
    for tp in TENSOR_PARALLEL:
        if tp > gpus_per_instance:
            break
        if work.attention_heads % tp:
            continue  # each rank serves whole heads (vLLM refuses other degrees)
        degree = _degree(memo, ctx, work, inf, gpu, tp, link_gbs, link, eff)
        per_instance = gpus_per_instance // tp  # replicas an instance holds: _fill_instances' instances written out
        found = degree.sized.get((per_instance, fewest))
        if found is None:
            found = degree.sized[(per_instance, fewest)] = _degree_sized(inf, degree, tp, per_instance, fewest)
        sizings, fewest = found
        for sized in sizings:
            choice.add(sized)
    if choice.empty:
        return None
    return _candidate_of(_least_llm(choice.tied or choice.closest, inf), gpus_per_instance)


def _degree_sized(inf: Inference, degree: _Degree, tp: int, per_instance: int, fewest: float
                  ) -> tuple[tuple[_Sizing, ...], float]:
    """The sizings of one tensor degree on instances of `per_instance` replicas, in order, where a configuration
    meeting the targets on `fewest` instances is known (inf: none), and the fewest instances after them. The same
    for every instance shape holding as many replicas of the degree after the same fewest (_Degree.sized: one GPU
    over several links shares its single-GPU degree, and 2- and 3-GPU instances hold one 2-GPU replica)."""
    out: list[_Sizing] = []
    rate = inf.rate
    for i, batch in enumerate(degree.batches):
        if fewest < math.inf and -(-degree.stable(batch) // per_instance) > fewest:
            # the bound below (config.stable, from the timing alone) prunes it, and a candidate kept only as a
            # 'closest' plan is never chosen once one meets the targets (_least_llm): its configuration is not
            # made (half of a search's configurations were made only to be pruned here)
            if -(-degree.least_stable(i) // per_instance) > fewest:
                break  # and every batch after it (`fewest` only falls)
            continue
        config = degree.at(batch)
        if config.unreachable is not None:
            if fewest == math.inf:  # no replica count helps this batch; kept only as a 'closest' plan
                instances = -(-config.stable // per_instance)
                out.append(_Sizing(config, batch, tp, instances * per_instance, instances, False,
                                   config.unreachable, 0.0))
            continue
        if fewest < math.inf and -(-config.stable // per_instance) > fewest:
            continue  # even the fewest stable replicas cost more than a configuration that meets the targets
        reps = _needed_within(inf, config, per_instance, fewest)
        if reps is None:
            continue
        instances = -(-reps // per_instance)
        reps = instances * per_instance
        meets = config.meets_at(reps, rate)
        out.append(_Sizing(config, batch, tp, reps, instances, meets, None, rate))
        if meets and instances < fewest:
            fewest = instances
    if inf.batch is None and fewest < math.inf and degree.batches:
        between = _between_batches(inf, degree, tp, per_instance, int(fewest))
        if between is not None and between.meets:
            out.append(between)
            fewest = min(fewest, between.instances)
    return tuple(out), fewest


class _Choice:
    """What _least_llm reads of a shape's sizings, in the order sized: those tied with the least (instances, GPUs)
    among the ones meeting the targets, and, until one meets them, the others ('closest'). _least_llm chooses among
    the meeting ones the first of the least (instances, GPUs, TTFT p95), and among all only when none meets: the same
    candidate from these."""

    __slots__ = ("tied", "least", "closest", "empty")

    def __init__(self) -> None:
        self.tied: list[_Sizing] = []
        self.least: tuple[int, int] | None = None
        self.closest: list[_Sizing] = []
        self.empty = True

    def add(self, s: _Sizing) -> None:
        self.empty = False
        if not s.meets:
            if self.least is None:
                self.closest.append(s)
            return
        key = (s.instances, s.replicas * s.tp)
        if self.least is None or key < self.least:
            self.least, self.tied = key, [s]
            self.closest = []
        elif key == self.least:
            self.tied.append(s)


def _between_batches(inf: Inference, degree: _Degree, tp: int, per_instance: int, fewest: int
                     ) -> _Sizing | None:
    """A batch off the searched grid (_batches: powers of two) on fewer than `fewest` instances, the fewest any
    batch up to the limit needs; None when none needs fewer. A pinned batch of 48 must not beat the search's 32
    and 64 (new-user QA: serve-7b-chat pinned at 48 was 26 % cheaper than the free search).

    With r replicas, a larger batch has a longer decode step and more prefills cutting in (both grow with the
    batch), so the TPOT percentiles grow with the batch and the largest batch meeting the TPOT targets is found by
    bisection; it is also the batch with the most slots at the lowest utilisation (a slot's hold grows more slowly
    than the batch: batch·prefill + output·step), so the one whose TTFT is least: r replicas serve the targets
    with some batch when they do with that one. More replicas only help (replicas_needed), so the fewest instances
    are found by bisection over the instances too. Each candidate found is sized as the grid's are (_sized)."""
    limit = degree.batches[0]  # largest first
    # a batch's full-load capacity grows with the batch: no batch is stable on fewer instances than the limit's
    low = -(-degree.stable(limit) // per_instance)
    if limit <= 2 or low >= fewest:
        return None

    def batch_meeting(instances: int) -> int | None:
        """The largest batch meeting the TPOT targets on `instances`, when it meets every target there."""
        return degree.batch_meeting(instances * per_instance)

    most = fewest - 1
    batch = batch_meeting(most)
    if batch is None:
        return None
    while low < most:  # batch_meeting(most) is a batch; below `low` none is stable
        mid = (low + most) // 2
        found = batch_meeting(mid)
        if found is not None:
            most, batch = mid, found
        else:
            low = mid + 1
    config = degree.at(batch)
    reps = _needed_within(inf, config, per_instance, most)
    if reps is None:
        return None
    instances = -(-reps // per_instance)
    reps = instances * per_instance
    return _Sizing(config, batch, tp, reps, instances, config.meets_at(reps, inf.rate), None, inf.rate)


class _Degree:
    """One tensor degree of a GPU over one link: the batches searched (those the KV cache holds; none without a
    peak at the precision, which plan_llm_serving refuses before searching), what their timings share, and their
    configurations, each made when first asked. Kept in the estimate's memo: the same GPU offered in several
    instance sizes times and sizes the same configurations."""

    __slots__ = ("work", "inf", "tp", "link_gbs", "link", "eff", "basis", "batches", "configs", "timings",
                 "latencies", "verdicts", "looser", "meeting", "tpot_most", "stables", "floors", "sized", "limits")
    basis: _TimingBasis | None
    batches: list[int]
    timings: dict[int, LlmTiming]
    latencies: dict[int, tuple[Latencies, Latencies]]
    """Each batch's whole and judged latencies, the same under any targets with a target for the same percentiles
    (llm_latency reads only which have one)."""
    verdicts: dict[int, Verdicts]
    """Each batch's verdicts under this degree's targets."""
    sized: dict[tuple[int, float], tuple[tuple[_Sizing, ...], float]]
    """_degree_sized's answers by (replicas an instance holds, fewest instances before)."""

    def __init__(self, work: Workload, inf: Inference, gpu: GpuSpec, tp: int, link_gbs: float, link: str,
                 eff: ServingEfficiency, looser: _Degree | None = None) -> None:
        self.work, self.inf, self.tp, self.link_gbs, self.link, self.eff = work, inf, tp, link_gbs, link, eff
        self.configs: dict[int, _Configuration] = {}
        self.verdicts = {}
        self.meeting: dict[int, int | None] = {}
        self.tpot_most: dict[int, int] = {}
        self.stables: dict[int, int] = {}
        self.floors: list[int] = []
        self.sized = {}
        self.limits: dict[int, tuple[tuple[float, int], ...]] = {}
        self.looser = looser
        if looser is not None:
            # the same GPU, degree, link, efficiencies and inference section but for stricter targets (_degree):
            # the same batches and timings, and latencies, which do not read the targets
            self.basis, self.batches = looser.basis, looser.batches
            self.timings, self.latencies = looser.timings, looser.latencies
            return
        kv = inf.kv_precision or default_kv_precision(inf.precision)
        # a pinned batch is sized, not searched: MAX_BATCH does not cap it (new-user QA round 12: batch 5,000 on 8 B200,
        # whose KV cache holds 80,282 such sequences, read "the KV cache holds at most 80282 sequences")
        limit = min(kv_batch_limit(work, gpu, tp, inf.precision, kv, inf.prompt + inf.generated),
                    inf.max_batch or max(MAX_BATCH, inf.batch or 0))
        self.basis = _timing_basis(work, inf, gpu, tp, link_gbs, link, eff) if limit >= 1 else None
        self.batches = _searched_batches(limit, inf.batch) if self.basis is not None else []
        self.timings = {}
        self.latencies = {}

    def at(self, batch: int) -> _Configuration:
        """The configuration of `batch` sequences."""
        found = self.configs.get(batch)
        if found is None:
            latencies = self.latencies.get(batch)
            if latencies is None:
                latencies = self.latencies[batch] = ({}, {})
            verdicts = self.verdicts.get(batch)
            if verdicts is None:
                verdicts = self.verdicts[batch] = {}
            looser = None
            if self.looser is not None:  # the looser degree's verdicts of this batch, kept there when it sizes it
                looser = self.looser.verdicts.get(batch)
                if looser is None:
                    looser = self.looser.verdicts[batch] = {}
            found = self.configs[batch] = _llm_config(self.inf, self.timing(batch), latencies, verdicts, looser,
                                                      self.limits)
        return found

    def batch_meeting(self, replicas: int) -> int | None:
        """The largest batch up to the limit meeting the TPOT targets with `replicas` replicas, when it meets every
        target there (_between_batches), kept per count: instance sizes of the GPU holding 1, 2, 4 or 8 replicas
        an instance ask for the same counts."""
        found = self.meeting.get(replicas, 0)  # 0: not asked yet (never a batch)
        if found == 0:
            found = self.meeting[replicas] = self._batch_meeting(replicas)
        return found

    def _batch_meeting(self, replicas: int) -> int | None:
        limit = self.batches[0]  # largest first
        # the TPOT percentiles fall with more replicas (fewer prefills cut in: _cut_in_mean) and grow with the
        # batch, so the largest batch meeting them with other counts (tpot_most: 0 when not even batch 1 does)
        # answers some of this count's questions: a batch meeting them with fewer replicas meets them here, one
        # missing them with more misses them here; the bisection asks the same batches, the rest answered
        meets, misses = 0, limit + 1
        for count, most in self.tpot_most.items():
            if count <= replicas and most > meets:
                meets = most
            if count >= replicas and most < misses - 1:
                misses = most + 1

        def within(batch: int) -> bool:
            return batch <= meets or (batch < misses and self._tpot_within(batch, replicas))

        if not within(1):
            self.tpot_most[replicas] = 0
            return None
        good, bad = 1, limit + 1
        if within(limit):
            good = limit
        else:
            bad = limit
        while bad - good > 1:
            mid = (good + bad) // 2
            good, bad = (mid, bad) if within(mid) else (good, mid)
        self.tpot_most[replicas] = good
        return good if self.at(good).meets_at(replicas, self.inf.rate) else None

    def tpot_limits(self, batch: int) -> tuple[tuple[float, int], ...]:
        """_tpot_limits of `batch` sequences under this degree's targets, kept per batch: the TPOT checks of the
        off-grid batches' bisection and the configuration's verdicts read them at every replica count."""
        found = self.limits.get(batch)
        if found is None:
            found = self.limits[batch] = _tpot_limits(self.inf, self.timing(batch))
        return found

    def _tpot_within(self, batch: int, replicas: int) -> bool:
        inf = self.inf
        timing, rate, slo = self.timing(batch), inf.rate, inf.slo
        within = _tpot_settled(self.tpot_limits(batch), timing, replicas, rate)
        if within is None:
            tpot50, tpot95 = _tpot(inf, timing, replicas, rate)
            within = _within(tpot50, slo.tpot_p50) and _within(tpot95, slo.tpot_p95)
        return within

    def stable(self, batch: int) -> int:
        """The configuration's `stable` (fewest replicas with utilisation < 1), from the timing alone: the cost
        bound prunes most batches without their configuration. Kept per batch: every instance size of the GPU
        asks for it (~6,000 asks a serve-7b-chat search)."""
        found = self.stables.get(batch)
        if found is None:
            found = self.stables[batch] = math.floor(self.inf.rate / self.timing(batch).capacity_rps) + 1
        return found

    def least_stable(self, index: int) -> int:
        """The least `stable` of the batches from batches[index] on (instances grow with replicas: when it fills
        more instances than a configuration meeting the targets, every one of those batches does)."""
        if len(self.floors) != len(self.batches):
            least, floors = MAX_REPLICAS * MAX_BATCH, []
            for batch in reversed(self.batches):
                least = min(least, self.stable(batch))
                floors.append(least)
            self.floors = floors[::-1]
        return self.floors[index]

    def timing(self, batch: int) -> LlmTiming:
        """The timing of `batch` sequences (_between_batches reads it at batches it does not size)."""
        found = self.timings.get(batch)
        if found is None:
            assert self.basis is not None  # no batches are searched without it
            found = self.timings[batch] = _timing_at(self.basis, self.work, self.inf, self.tp, batch, self.link_gbs,
                                                     self.link, self.eff)
        return found


def _degree(memo: Memo | None, ctx: object, work: Workload, inf: Inference, gpu: GpuSpec, tp: int,
            link_gbs: float, link: str, eff: ServingEfficiency) -> _Degree:
    """The tensor degree, kept in the estimate's memo. One GPU has no all-reduce (tp_allreduce_seconds), so its
    configurations are the same over every link. An inference section that differs from another only by stricter
    targets (with_slo: the headroom search) shares that one's degree's timings and latencies, and reads its
    verdicts."""
    if memo is None:
        return _Degree(work, inf, gpu, tp, link_gbs, link, eff)
    key = ("degree", ctx, tp, link_gbs, link) if tp > 1 else ("degree", ctx, tp)
    found: _Degree | None = memo.get(key)
    if found is None:
        looser = None
        stricter_than = memo.get(("stricter than", id(inf)))
        if stricter_than is not None:
            base: Inference = stricter_than[1]
            looser = _degree(memo, _context(memo, work, base, gpu, eff), work, base, gpu, tp, link_gbs, link, eff)
        found = memo[key] = _Degree(work, inf, gpu, tp, link_gbs, link, eff, looser)
    return found


def _llm_config(inf: Inference, timing: LlmTiming, latencies: tuple[Latencies, Latencies] | None = None,
                verdicts: Verdicts | None = None, looser: Verdicts | None = None,
                limits: dict[int, tuple[tuple[float, int], ...]] | None = None) -> _Configuration:
    """The configuration of `timing`; `limits`: the _tpot_limits of its degree's batches, by batch (_Degree)."""
    def latency_at(r: int | None, rate: float) -> dict[str, float]:
        return llm_latency(inf, timing, r, rate)

    def judged_at(r: int | None, rate: float) -> dict[str, float]:
        return llm_latency(inf, timing, r, rate, whole=False)

    meets_at = _llm_meets_of(inf, timing, {} if limits is None else limits)

    seen, parts = latencies if latencies is not None else (None, None)
    latency, judged, meets = _remembering(latency_at, judged_at, meets_at, inf.slo, seen, parts, verdicts, looser)
    unreachable = None
    if timing.batch > 1:
        unlimited = latency(None, inf.rate)
        if not _meets(unlimited, inf.slo):
            unreachable = unlimited
    capacity = timing.capacity_rps
    # _Configuration(...) without the frozen dataclass's per-field setattr (dataclass.py): ~1,200 a search
    return _make_configuration(timing=timing, capacity_rps=capacity, stable=math.floor(inf.rate / capacity) + 1,
                 latency_at=latency, judged_at=judged, meets_at=meets, unreachable=unreachable)


def _needed_within(inf: Inference, config: _Configuration, per_instance: int, fewest: float) -> int | None:
    """The fewest replicas of a configuration meeting the targets (replicas_needed), searched no further than
    `fewest` instances of `per_instance` replicas (the cheapest configuration already meeting them); None when it
    needs more: it could never be the plan chosen (the cheapest meeting configuration is, by instances first, and
    `fewest` is finite only when one meets), and its latency need not be worked out. Kept per cap on the
    configuration, and read from its `settled` answer where that holds for the cap."""
    cap = None if fewest == math.inf else int(fewest) * per_instance
    reps = config.needed.get(cap)
    if reps is None:
        settled = config.settled
        if settled and (cap is None or cap >= settled[0][0]):
            reps = settled[0][1]  # the same answer replicas_needed would reach again (its `settled`)
        else:
            rate, latency_at, meets_at = inf.rate, config.latency_at, config.meets_at
            reps = replicas_needed(rate, config.capacity_rps, lambda r: latency_at(r, rate), inf.slo, cap,
                                   lambda r: meets_at(r, rate), None if settled else settled)
        config.needed[cap] = reps
    return None if cap is not None and reps > cap else reps


def _sized(inf: Inference, config: _Configuration, batch: int, tp: int, gpus_per_instance: int, fewest: float
           ) -> _Candidate | None:
    """A dynamic-batching configuration with the fewest replicas meeting the targets, searched no further than
    `fewest` instances (_needed_within); None when it needs more."""
    reps = _needed_within(inf, config, gpus_per_instance // tp, fewest)
    if reps is None:
        return None
    reps, instances = _fill_instances(reps, tp, gpus_per_instance)
    assert config.percentiles_at is not None  # a generative configuration is sized by _llm_chosen
    # judged as far as its verdict needs (the same verdict: meets_at): its percentiles first, meets_at then reads
    # them rather than bound them (_batch_configuration known_over)
    percentiles = config.percentiles_at(reps, inf.rate)
    meets = config.meets_at(reps, inf.rate)
    # _Candidate(...) without the frozen dataclass's per-field setattr (dataclass.py): a search sizes thousands of
    # configurations
    return _make_candidate(timing=config.timing, batch=batch, tp=tp, replicas=reps, instances=instances,
                           judged=None, meets=meets, capacity_rps=config.capacity_rps, latency_at=config.latency_at,
                           gpus_per_instance=gpus_per_instance, meets_at=config.meets_at, percentiles=percentiles)


def plan_llm_serving(work: Workload, inf: Inference, gpu: GpuSpec, offer: PricedOffer,
                     eff: ServingEfficiency, memo: Memo | None = None) -> ServingPlan:
    """The cheapest (tensor parallel, batch, replicas) on this offer meeting the TTFT/TPOT targets."""
    if peak_flops(gpu, inf.precision) is None:
        return _unusable(gpu, offer, eff, _no_precision(gpu, inf.precision))
    per_instance = offer.offer.gpus_per_instance
    link_gbs, link = intra_node_gbs(gpu, offer)
    ctx = _context(memo, work, inf, gpu, eff)
    key = ("llm", ctx, per_instance, link_gbs, link)
    if memo is None:
        chosen = _llm_chosen(work, inf, gpu, per_instance, link_gbs, link, eff)
    elif key in memo:
        chosen = memo[key]
    else:  # every offer of one GPU and instance shape (several providers and prices) chooses the same
        chosen = memo[key] = _llm_chosen(work, inf, gpu, per_instance, link_gbs, link, eff, memo, ctx)
    if chosen is None:
        kv = inf.kv_precision or default_kv_precision(inf.precision)
        widest = max(t for t in TENSOR_PARALLEL if t <= per_instance)
        most = kv_batch_limit(work, gpu, widest, inf.precision, kv, inf.prompt + inf.generated)
        if inf.batch is not None and most >= 1:
            return _unusable(gpu, offer, eff, Verdict(
                Kind.PIN_UNWORKABLE, float(inf.batch), float(most),
                f"batch {inf.batch}: the KV cache holds at most {most} sequence{'' if most == 1 else 's'} of "
                f"{inf.prompt + inf.generated:g} tokens on {widest} {gpu.id}"))
        return _unusable(gpu, offer, eff, Verdict(
            Kind.DOES_NOT_FIT, weight_bytes(work, inf.precision), widest * gpu.memory_gb * 1e9,
            f"of weights plus the KV cache of one {inf.prompt + inf.generated:g}-token {kv} sequence "
            f"on {widest} GPU(s)"))
    return _plan(work, inf, gpu, offer, eff, chosen)


def _chosen(memo: Memo | None, key: tuple[object, ...], choose: Callable[[], _Candidate]) -> _Candidate:
    """The candidate chosen among those kept under `key`, chosen once per estimate: every offer sharing them (one
    GPU and instance shape at several providers and prices) chooses the same, the price entering only _plan."""
    if memo is None:
        return choose()
    found: _Candidate | None = memo.get(("chosen", key))
    if found is None:
        found = memo[("chosen", key)] = choose()
    return found


def _least_llm(candidates: list[_Sizing], inf: Inference) -> _Sizing:
    meeting = [c for c in candidates if c.meets]
    if meeting:
        # min by (instances, GPUs, TTFT p95): the first of the least, the p95 read only among the ties
        fewest = min((c.instances, c.replicas * c.tp) for c in meeting)
        tied = [c for c in meeting if (c.instances, c.replicas * c.tp) == fewest]
        if len(tied) > 1:
            tied = _maybe_least_ttft(tied, inf.rate)
        return tied[0] if len(tied) == 1 else min(tied, key=lambda c: c.latency["ttft_p95"])
    return min(_maybe_least_excess(candidates, inf), key=lambda c: (_slo_excess(c.latency, inf.slo), c.instances))


def _maybe_least_excess(candidates: list[_Ranked], inf: Inference) -> list[_Ranked]:
    """The candidates, in order, less those whose excess over the targets (_slo_excess) is surely above another's:
    the closest configuration of a GPU that meets no target is often one no replica count helps (its latency, with
    unlimited replicas, already known), beside the stable minimum of batch 1, whose queue is near saturation — the
    largest FFTs of a search (16,384 points and more) for a TTFT far past any other's. Its TTFT p95 alone is past
    T·(1 + e − its TPOT excess), T the target and e a known excess, when md_c.quantile_within says so (the computed
    quantile, not only the true one: its margin is ten times the quantile's error); then its excess is above e, so
    it is not the least and its queue is not worked out. The least of the rest is the least of all, the first of
    the least the same candidate."""
    target = inf.slo.ttft_p95
    known = [_slo_excess(c.latency, inf.slo) for c in candidates if c.judged is not None]
    if target is None or not known or len(candidates) == len(known):
        return candidates
    least = min(known)
    kept = []
    for c in candidates:
        t = c.timing
        if c.judged is None and isinstance(t, LlmTiming):
            tpot = _slo_excess(dict(zip(("tpot_p50", "tpot_p95"), _tpot(inf, t, c.replicas, inf.rate))), inf.slo)
            if tpot > least:
                continue  # its TPOT alone is further from the targets (the sum adds terms ≥ 0 to it)
            wait = target * (1.0 + least - tpot) - t.prefill_s
            if wait > 0.0 and quantile_within(c.replicas * t.batch, inf.rate, t.hold_s, t.step_s, LLM_QUANTILES[1],
                                              max(LLM_QUANTILES), wait) is False:
                continue  # surely further from the targets than a candidate already known
        kept.append(c)
    return kept


def _maybe_least_ttft(tied: list[_Ranked], rate: float) -> list[_Ranked]:
    """The candidates whose TTFT p95 may be the least, in order: those whose lower bound (md_c.quantile_bounds) is
    above another's upper bound cannot be, nor those md_c.quantile_within puts surely past it, and their queue's
    quantile is not worked out. The least of the rest is the
    least of all, and the first of the least the same candidate."""
    ranges = []
    for c in tied:
        t = c.timing
        assert isinstance(t, LlmTiming)
        lo, hi = quantile_bounds(c.replicas * t.batch, rate, t.hold_s, t.step_s, LLM_QUANTILES[1], max(LLM_QUANTILES))
        ranges.append((lo + t.prefill_s, hi + t.prefill_s))
    top = min(hi for _, hi in ranges)
    kept = []
    for c, (lo, hi) in zip(tied, ranges):
        if lo > top:
            continue
        t = c.timing
        assert isinstance(t, LlmTiming)
        if hi > top and quantile_within(c.replicas * t.batch, rate, t.hold_s, t.step_s, LLM_QUANTILES[1],
                                        max(LLM_QUANTILES), top - t.prefill_s) is False:
            continue  # surely past another's upper bound
        kept.append(c)
    return kept


def _slo_excess(latency: dict[str, float], slo: Slo) -> float:
    return float(sum(max(0.0, latency[key] / getattr(slo, key) - 1.0) for key in latency
                     if getattr(slo, key, None) is not None))


def _plan(work: Workload, inf: Inference, gpu: GpuSpec, offer: PricedOffer, eff: ServingEfficiency,
          c: _Candidate) -> ServingPlan:
    price = offer.offer.usd_per_hour
    latency = c.latency_at(c.replicas, inf.rate)  # the whole of it (c.latency may hold only what judged c)
    # at a committed-term price the service's instances are owed every hour of the term: the whole month (730 h)
    # even when inference.hours_per_month is less, and no autoscaling saves anything
    owed = COMMIT_TERM_HOURS["1m"] if offer.commitment is not None else 0.0
    monthly = monthly_cost_usd(c.instances, price, inf.hours_per_month, owed)
    billed_hours = max(inf.hours_per_month, owed)
    auto_replicas, auto_instances = c.autoscale(inf)
    autoscaled = None if auto_instances is None else monthly if offer.commitment is not None else \
        monthly_cost_usd(auto_instances, price, inf.hours_per_month)
    requests = (inf.average_rate or inf.rate) * inf.hours_per_month * 3600.0
    bill = autoscaled if autoscaled is not None else monthly
    if isinstance(c.timing, LlmTiming):
        t = c.timing
        capacity, timing = t.capacity_rps, {"prefill": t.prefill_s, "decode_step": t.step_s, "hold": t.hold_s}
        if t.prefill_cut_s is not None:
            timing["prefill_cut"] = t.prefill_cut_s
        tokens = inf.rate * inf.generated
        per_million = bill / (requests * inf.generated) * 1e6
    else:
        capacity, timing = c.batch / c.timing, {"service": c.timing}
        tokens, per_million = 0.0, None
    return _make_plan(  # ServingPlan(...) without its per-field setattr (dataclass.py)
        gpu=gpu.id, provider=offer.provider, instance=offer.offer.instance, replicas=c.replicas,
        gpus_per_replica=c.tp, gpu_count=c.replicas * c.tp, instances=c.instances, batch_size=c.batch,
        capacity_rps_per_replica=capacity, utilization=inf.rate / (c.replicas * capacity),
        latency_s=latency, throughput_tokens_per_s=tokens, monthly_cost_usd=monthly,
        monthly_cost_autoscaled_usd=autoscaled, usd_per_million_output_tokens=per_million,
        usd_per_thousand_requests=bill / requests * 1e3, meets_slo=c.meets, fits=True, efficiency=eff,
        verdicts=() if c.meets else slo_verdicts(latency, inf.slo), timing_s=timing,
        autoscaled_replicas=auto_replicas, expert=c.tp if work.is_moe else 1, commitment=offer.commitment,
        billed_hours_per_month=billed_hours,
    )


def slo_verdicts(latency: dict[str, float], slo: Slo, kind: Kind = Kind.SLO_MISSED) -> tuple[Verdict, ...]:
    """One verdict per percentile above its target."""
    return tuple(Verdict(kind, latency[key], getattr(slo, key), key) for key in latency
                 if getattr(slo, key, None) is not None and latency[key] > getattr(slo, key))


def _no_precision(gpu: GpuSpec, precision: str) -> Verdict:
    """The GPU has no matmul unit for the served precision, with the same-size precision it has (bf16 -> fp16)."""
    return Verdict(Kind.NO_PRECISION, detail=COMPUTE_PRECISION[precision],
                   alternative=alternative_precision(gpu, precision) or "", setting="inference.precision")


def _unusable(gpu: GpuSpec, offer: PricedOffer, eff: ServingEfficiency, why: Verdict) -> ServingPlan:
    return ServingPlan(
        gpu=gpu.id, provider=offer.provider, instance=offer.offer.instance, replicas=0, gpus_per_replica=1,
        gpu_count=0, instances=0, batch_size=0, capacity_rps_per_replica=0.0, utilization=0.0, latency_s={},
        throughput_tokens_per_s=0.0, monthly_cost_usd=0.0, monthly_cost_autoscaled_usd=None,
        usd_per_million_output_tokens=None, usd_per_thousand_requests=0.0, meets_slo=False,
        # no configuration was found to run (no precision, a pin it cannot hold, weights too large): nothing was
        # placed in memory, so the plan cannot claim it fits (new-user QA: a T4 rejected for "no bf16" read fits: true)
        fits=False, efficiency=eff, verdicts=(why,),
    )


# ------------------------------------------------------------------------------------------ non-generative


def batch_service_seconds(work: Workload, inf: Inference, gpu: GpuSpec, eff: ServingEfficiency, batch: float
                          ) -> float:
    """Forward pass of `batch` samples: the forward model the launch floors are fitted with
    (model/forward_time.py: matmuls at the compute efficiency plus passes over the layer outputs and, in eager mode,
    the attention scores, or the host launching its operators, whichever is longer), and never shorter than one read
    of the weights at the bandwidth efficiency (_service_of: the same floats, for many batch sizes)."""
    peak = peak_flops(gpu, inf.precision)
    assert peak is not None  # plan_batch_serving refuses a GPU without this precision before sizing
    return max(forward_seconds(work, batch, peak * eff.compute.value, eff.host_floor_s,
                               gpu.memory_bandwidth_gbs * 1e9, BYTES[inf.precision], eff.mode, gpu.sms),
               weight_bytes(work, inf.precision) / (gpu.memory_bandwidth_gbs * 1e9 * eff.bandwidth.value))


def _activation_bytes(work: Workload, inf: Inference) -> float:
    """Bytes of one sample's largest layer activations at the serving precision (inference keeps one layer)."""
    return work.activation_bytes_per_sample_16bit / work.layers * BYTES[inf.precision] / 2.0


def _batch_candidates(work: Workload, inf: Inference, gpu: GpuSpec, gpus_per_instance: int,
                      eff: ServingEfficiency, memo: Memo | None = None, ctx: object = None) -> list[_Candidate]:
    per_sample = _activation_bytes(work, inf)
    free = usable_bytes(gpu) - weight_bytes(work, inf.precision)
    if free <= per_sample:
        return []
    limit = min(int(free // max(per_sample, 1.0)), inf.max_batch or MAX_BATCH, MAX_BATCH)
    out: list[_Candidate] = []
    service_of = _service_of(memo, ctx, work, inf, gpu, eff)
    fewest = math.inf  # instances of the best batch meeting the targets so far
    for batch in _dynamic_batches(limit, inf.batch):
        config = _batch_configuration(memo, ctx, inf, service_of, batch)
        if _fill_instances(config.stable, 1, gpus_per_instance)[1] > fewest:
            continue  # even the fewest stable replicas cost more than a batch that meets the targets
        sized = _sized(inf, config, batch, 1, gpus_per_instance, fewest)
        if sized is not None:
            out.append(sized)
            if sized.meets:
                fewest = min(fewest, sized.instances)
    return out


def _dynamic_batches(limit: int, pinned: int | None) -> list[int]:
    """Batch limits of dynamic batching to size: the most that fits in memory, and batches of one (no waiting for
    a batch to fill: M/D/c); a pinned limit alone. A limit below what memory allows changes nothing until batches
    reach it (a batch closes at its max_queue_delay, model/dynamic_batching.py); where they do, it closes batches
    sooner and leaves requests behind (model/batching_chain.py LeftoverChain follows them), which can lower the
    latency at high rates. Those limits are not searched: the powers of two up to memory's took bert-train-then-serve's
    plan() from ~0.4 s to ~3.5 s of CPU (2026-12-01); a pinned limit (inference.batch) is judged the same way."""
    if pinned is not None:
        return [pinned] if pinned <= limit else []
    return [limit, 1] if limit > 1 else [1]


def _service_of(memo: Memo | None, ctx: object, work: Workload, inf: Inference, gpu: GpuSpec,
                eff: ServingEfficiency) -> Callable[[float], float]:
    """batch_service_seconds of this GPU, its answers kept in the estimate's memo (every instance size of the GPU
    and every batch's fill fixed point ask for the same batch sizes again)."""
    if memo is not None and ("service", ctx) in memo:
        found: Callable[[float], float] = memo[("service", ctx)]
        return found
    seen: dict[float, float] = {}
    # the matmuls' tile and wave quantisation depends on the batch and the SM count alone: GPUs of one SM count
    # (and every efficiency) share it (~40 % of bert-train-then-serve's service times, 2026-12-01)
    shapes: dict[float, float] = {} if memo is None else memo.setdefault(("shape efficiency", work, gpu.sms), {})
    # its batch-independent terms once per workload and SM count
    shape_of: Callable[[float], float] | None = None if memo is None else memo.get(("shape of", work, gpu.sms))
    if shape_of is None:
        shape_of = shape_efficiency_of(work, gpu.sms)
        if memo is not None:
            memo[("shape of", work, gpu.sms)] = shape_of
    # batch_service_seconds, the same floats, its batch-independent terms once
    peak = peak_flops(gpu, inf.precision)
    assert peak is not None  # plan_batch_serving refuses a GPU without this precision before sizing
    forward = forward_seconds_of(work, peak * eff.compute.value, eff.host_floor_s, gpu.memory_bandwidth_gbs * 1e9,
                                 BYTES[inf.precision], eff.mode)
    weights = weight_bytes(work, inf.precision) / (gpu.memory_bandwidth_gbs * 1e9 * eff.bandwidth.value)

    def service_of(b: float) -> float:
        found = seen.get(b)
        if found is None:
            shape = shapes.get(b)
            if shape is None:
                shape = shapes[b] = shape_of(b)
            found = seen[b] = max(forward(b, shape), weights)
        return found

    if memo is not None:
        memo[("service", ctx)] = service_of
    return service_of


def _batch_configuration(memo: Memo | None, ctx: object, inf: Inference, service_of: Callable[[float], float],
                         batch: int) -> _Configuration:
    """Dynamic batching with batches of up to `batch` on this GPU, kept in the estimate's memo (_Configuration)."""
    from planner.model.batching_store import kept, stored_chain, stored_one_server
    from planner.model.chain_scope import KNOWN_LOW_MARGIN, always_free, followed_past

    key = ("configuration", ctx, batch)
    if memo is not None and key in memo:
        found: _Configuration = memo[key]
        return found
    service = service_of(batch)

    chains: dict[tuple[float, int | None], ChainView] = {}  # this limit's chains, by (rate, replicas)
    # the GPU's chains that no batch limit from their `top` up changes (BatchingChain.open), shared by those limits
    opened: dict[tuple[float, int | None], ChainView] = \
        {} if memo is None else memo.setdefault(("open chains", ctx), {})
    delay = inf.max_queue_delay or 0.0
    # every GPU's chains by their curve: host-bound GPUs share their small batches' service times
    shared: ChainsByCurve | None = None if memo is None else memo.setdefault(("chains by curve",), {})
    # every GPU's one-server bounds (known_over) by their arguments and curve, as `shared` keeps the chains
    lows: dict[tuple[object, ...], ChainView] | None = \
        None if memo is None else memo.setdefault(("one-server bounds by curve",), {})

    def state_of(rate: float, r: int | None) -> ChainView:
        found = chains.get((rate, r))
        if found is None and r is not None and always_free(rate, r, batch, delay, service_of):
            found = chains[(rate, r)] = state_of(rate, None)  # one chain (and its percentiles) for these counts
        if found is None:
            open_ = opened.get((rate, r))
            if open_ is not None and batch >= open_.top:
                found = open_
            else:
                found = stored_chain(rate, r, batch, delay, service_of, shared)
                if found.open:
                    opened[(rate, r)] = found
            chains[(rate, r)] = found
        return found

    def latency_at(r: int | None, rate: float) -> dict[str, float]:
        return batch_latency(inf, r, batch, service_of, rate, state_of=state_of)

    percentiles: dict[tuple[int | None, float], dict[str, Percentile]] = {}
    limits = [(key, target * (1 + 1e-9)) for key, _ in BATCH_KEYS if (target := getattr(inf.slo, key)) is not None]
    judged_here = judged_keys(inf)

    def percentiles_at(r: int | None, rate: float) -> dict[str, Percentile]:
        found = percentiles.get((r, rate))
        if found is None:
            found = percentiles[(r, rate)] = batch_percentiles(inf, r, batch, service_of, rate, state_of,
                                                               judged_here)
        return found

    def judged_at(r: int | None, rate: float) -> dict[str, float]:
        return {key: p.value() for key, p in percentiles_at(r, rate).items()}

    targets = [(q, target * (1 + 1e-9)) for key, q in BATCH_KEYS if (target := getattr(inf.slo, key)) is not None]

    def known_over(r: int, rate: float) -> bool:
        """Whether one server r times as fast, known low where batching_chain follows r replicas past it
        (batching_chain.one_server_low, 3–90 ms a chain, where the followed one takes 0.2–8 s), already puts a judged
        percentile past KNOWN_LOW_MARGIN × its target: then the count misses, and its own chain is not made. Only for
        a chain not made or kept already (model/batching_store.py), so a count's verdict is the one its chain gives
        (bert-train-then-serve at 2,000 req/s, limit 64, 0.1 ms: 14 of its 26 misses on 2–10 replicas past
        MULTI_REPLICA_LOAD)."""
        if batch == 1 or (rate, r) in chains or not followed_past(rate, r, batch, delay, service_of) \
                or kept(rate, r, batch, delay, service_of):
            return False
        # shared by curve, as the chains are: the headroom search's configuration, and GPUs of one curve, ask again
        # (the one-server chain reads S at 1 … batch alone); kept between runs as the chains are (stored_one_server:
        # a rerun decides these counts from the kept intervals, without numpy)
        key = (rate, delay, r, batch, tuple([service_of(float(b)) for b in range(1, batch + 1)]))
        low = None if lows is None else lows.get(key)
        if low is None:
            low = stored_one_server(rate, r, batch, delay, service_of)
            if low is None:
                return False
            if lows is not None:
                lows[key] = low
        return any(not low.percentile(q).within(limit * KNOWN_LOW_MARGIN) for q, limit in targets)

    def meets_at(r: int | None, rate: float) -> bool:
        # _meets(judged_at(r, rate)): each target decided without more of its bisection than that takes
        if r is not None and (r, rate) not in percentiles and known_over(r, rate):
            return False
        found = percentiles_at(r, rate)
        for key, limit in limits:  # all(…), in the same order, without a generator per call
            if not found[key].within(limit):
                return False
        return True

    latency, judged, meets = _remembering(latency_at, judged_at, meets_at, inf.slo)
    config = _Configuration(service, batch / service, math.floor(inf.rate * service / batch) + 1, latency, judged,
                            meets, percentiles_at=percentiles_at)
    if memo is not None:
        memo[key] = config
    return config


def plan_batch_serving(work: Workload, inf: Inference, gpu: GpuSpec, offer: PricedOffer,
                       eff: ServingEfficiency, memo: Memo | None = None) -> ServingPlan:
    """Dynamic batching for encoders, CNNs and MLPs: the cheapest (batch, replicas) meeting latency targets."""
    if peak_flops(gpu, inf.precision) is None:
        return _unusable(gpu, offer, eff, _no_precision(gpu, inf.precision))
    per_instance = offer.offer.gpus_per_instance
    ctx = _context(memo, work, inf, gpu, eff)
    key = ("batch", ctx, per_instance)
    candidates = _memoised(memo, key, lambda: _batch_candidates(work, inf, gpu, per_instance, eff, memo, ctx))
    if not candidates and inf.batch is not None and usable_bytes(gpu) > weight_bytes(work, inf.precision):
        return _unusable(gpu, offer, eff, Verdict(
            Kind.PIN_UNWORKABLE, float(inf.batch), None,
            f"batch {inf.batch}: its activations do not fit beside the weights on one {gpu.id}"))
    if not candidates:
        return _unusable(gpu, offer, eff, Verdict(Kind.DOES_NOT_FIT, weight_bytes(work, inf.precision),
                                                  gpu.memory_gb * 1e9, "of weights"))
    return _plan(work, inf, gpu, offer, eff, _chosen(memo, key, lambda: _least_batch(candidates, inf)))


def _least_batch(candidates: list[_Candidate], inf: Inference) -> _Candidate:
    meeting = [c for c in candidates if c.meets]
    if meeting:  # min by (instances, replicas, latency[BATCH_RANKED]): the first of the least, the percentile
        fewest = min((c.instances, c.replicas) for c in meeting)  # compared only among the ties, and only as
        tied = [c for c in meeting if (c.instances, c.replicas) == fewest]  # far as each comparison needs
        best = tied[0]
        for c in tied[1:]:
            if c.ranked_below(best):
                best = c
        return best
    return min(candidates, key=lambda c: (_slo_excess(c.latency, inf.slo), c.instances))


def serving_plan(work: Workload, inference: Inference, catalog: Catalog | None, offer: PricedOffer,
                 eff: ServingEfficiency | None = None, gpu: GpuSpec | None = None,
                 memo: Memo | None = None) -> ServingPlan:
    """The cheapest serving configuration on one offer (or the closest, with its reasons); `eff` and `gpu`
    override the priors and the offer's catalog GPU."""
    from_catalog = gpu is None
    if gpu is None:
        assert catalog is not None, "give the catalog or the GPU"
        gpu = catalog.gpus[offer.offer.gpu]
    plan = plan_llm_serving if work.is_generative else plan_batch_serving
    if eff is None:
        assert catalog is not None, "priors come from the catalog"
        eff = _priors(catalog, gpu, work, inference, memo if from_catalog else None)
    return plan(work, inference, gpu, offer, eff, memo)


def serving_plans(work: Workload, inference: Inference, catalog: Catalog | None, offer: PricedOffer,
                  eff: ServingEfficiency | None = None, gpu: GpuSpec | None = None,
                  memo: Memo | None = None) -> list[ServingPlan]:
    """What the decision needs of one offer: serving_plan (the cheapest configuration meeting the targets at the
    median efficiency, or the closest) and, when that one does not hold them with headroom (at the P10 efficiency:
    headroom_slo), the cheapest configuration that does — sized by the same search for those targets, so that the
    cheapest with headroom is a plan the search produced, not a by-product of the cheapest at the median (none
    when no configuration on the offer holds them)."""
    plan = serving_plan(work, inference, catalog, offer, eff, gpu, memo)
    if not plan.meets_slo:
        return [plan]  # nothing meets the targets: nothing holds them with headroom either
    strict = headroom_slo(inference.slo, plan.efficiency)
    if _meets(plan.latency_s, strict):
        return [plan]  # the cheapest at the targets already holds them with headroom: no plan with it is cheaper
    safe = serving_plan(work, with_slo(inference, strict, memo), catalog, offer, plan.efficiency, gpu, memo)
    return [plan, safe] if safe.meets_slo else [plan]


def with_slo(inf: Inference, slo: Slo, memo: Memo | None) -> Inference:
    """The inference section with other targets, one object per targets in an estimate (`memo`), so that the
    offers of one GPU find their configurations under one context (_context)."""
    if memo is None:
        return inf.model_copy(update={"slo": slo})
    key = ("with slo", id(inf), slo)
    found = memo.get(key)
    if found is None:
        found = memo[key] = (inf, inf.model_copy(update={"slo": slo}))  # holds inf: its id is not reused
        if _stricter(slo, inf.slo):  # its search reads inf's timings, latencies and verdicts (_degree)
            memo[("stricter than", id(found[1]))] = (found[1], inf)  # holds it: its id is not reused
    with_slo: Inference = found[1]
    return with_slo


def _stricter(slo: Slo, than: Slo) -> bool:
    """Whether `slo` has a target for exactly the percentiles `than` has, each no larger: a latency missing one of
    `than`'s misses `slo`'s, and a search for either reads the same percentiles (llm_latency)."""
    mine, theirs = slo.targets(), than.targets()  # model_dump(exclude_none=True) without building a serializer
    return mine.keys() == theirs.keys() and all(mine[key] <= theirs[key] for key in mine)


def _priors(catalog: Catalog, gpu: GpuSpec, work: Workload, inference: Inference, memo: Memo | None
            ) -> ServingEfficiency:
    """llm_efficiency or forward_efficiency of a catalog GPU, once per estimate (`memo`): its offers share them
    (~50 µs each to look up and describe)."""
    key = ("priors", gpu.id, work.is_generative, work.family, inference.engine, inference.precision)
    if memo is not None and key in memo:
        found: ServingEfficiency = memo[key]
        return found
    eff = llm_efficiency(catalog, gpu, work.family, inference.engine, memo) if work.is_generative else \
        forward_efficiency(catalog, gpu, work.family, inference.engine, inference.precision)
    if memo is not None:
        memo[key] = eff
    return eff


def llm_efficiency(catalog: Catalog, gpu: GpuSpec, family: str, engine: str | None, memo: Memo | None = None
                   ) -> ServingEfficiency:
    """Generative serving: the prefill and decode priors (pooled over the engines of the published rows) and the
    host floor per operator of the engine's execution mode (vllm by default: CUDA graphs), which bounds a decode
    step from below (an eager engine such as hf-transformers is host-bound at small batch). `memo`: an estimate's
    (_priors), where the GPUs share the engine's note and floors, and those of one architecture (and family, which
    the fallbacks read) the prefill prior."""
    key = ("prefill prior", gpu.arch, gpu.family, family, engine)
    found = None if memo is None else memo.get(key)
    if found is None:
        found = _prefill_and_engine(catalog, gpu, family, engine)
        if memo is not None:
            memo[key] = found
    compute, floor_s, step_s = found
    return ServingEfficiency(compute, prior_efficiency(catalog, gpu, "decode", family), floor_s, engine_step_s=step_s)


def _prefill_and_engine(catalog: Catalog, gpu: GpuSpec, family: str, engine: str | None
                        ) -> tuple[Efficiency, float, float]:
    """llm_efficiency's prefill prior with the engine's note, its host floor per operator and its host time per step:
    read of the GPU's architecture and family alone (prior_efficiency's prefill levels and fallbacks)."""
    name = engine or "vllm"
    floor = next((f for f in catalog.launch_floors if f.mode == execution_mode(name, True)), None)
    assumed = "" if engine else " (the default; set inference.engine to plan another)"
    compute = prior_efficiency(catalog, gpu, "prefill", family)
    note = f"; engine {name}{assumed}"
    if floor is not None:
        note += f", decode steps no shorter than {floor.microseconds:g} µs of host time per operator ({floor.mode} mode" \
                + ("" if floor.n else ", documented default") + ")"
    step = engine_step(catalog.engine_steps, name)
    if step.milliseconds > 0:
        note += f", plus {step.milliseconds:.3g} ms of {name}'s host time per step (" + (
            f"fitted on {step.n} decode rows)" if step.n else "documented prior)")
    else:  # said, so that an engine without a figure does not look cheaper than vLLM, which has one, unremarked
        vllm = engine_step(catalog.engine_steps, "vllm")
        note += f", and no host time per step beyond that ({name}: none fitted or documented, where vLLM's is " \
                f"{vllm.milliseconds:.3g} ms)"
    return (dataclasses.replace(compute, detail=compute.detail + note),
            floor.microseconds * 1e-6 if floor is not None else 0.0, step.milliseconds * 1e-3)


def forward_efficiency(catalog: Catalog, gpu: GpuSpec, family: str, engine: str | None, precision: str = "bf16"
                       ) -> ServingEfficiency:
    """Non-generative serving: the launch-floor fit of the engine's execution mode (planner/model/forward_time.py
    ENGINE_MODE; torch-eager by default): compute efficiency of the GPU's family with the mode's factor and the
    mode's host floor per operator (catalog/priors.yaml launch_floors). A mode with no published rows keeps its
    documented default floor, and the detail says so; without any floors, the forward prior and no floor. fp32 runs
    at the fp32 fraction fitted across families (CUDA cores, planner/efficiency/infer_fit.py FP32_KEY)."""
    bandwidth = prior_efficiency(catalog, gpu, "decode", "any")
    name = engine or "torch-eager"
    floor = next((f for f in catalog.launch_floors if f.mode == execution_mode(name, False)), None)
    if floor is not None:
        value = floor.efficiency.get(gpu.arch, floor.efficiency["any"])
        scope: str = gpu.arch if gpu.arch in floor.efficiency else "all"
        if precision == "fp32" and "fp32" in floor.efficiency:
            value, scope = floor.efficiency["fp32"], "fp32 on all"
        assumed = "" if engine else " (the default; set inference.engine to plan another)"
        if floor.n:
            basis = (f"forward efficiency fitted on {floor.n} published {floor.mode}-mode run(s) ({scope} GPUs), "
                     f"engine {name}{assumed} with a {floor.microseconds:g} µs host floor per operator")
        else:
            basis = (f"forward efficiency of the other modes ({scope} GPUs), engine {name}{assumed}: no published "
                     f"{floor.mode}-mode rows, documented {floor.microseconds:g} µs host floor per operator")
        compute = held_out_widened(Efficiency(value, floor.log_sigma, "prior", basis + "; " + shape_note(gpu)),
                                   catalog, "inference-batched")
        return ServingEfficiency(compute, bandwidth, floor.microseconds * 1e-6, execution_mode(name, False))
    compute = prior_efficiency(catalog, gpu, "infer", family)
    return ServingEfficiency(dataclasses.replace(compute, detail=compute.detail + f"; engine {name}: no host floor "
                                                 "fitted"), bandwidth, 0.0, execution_mode(name, False))


def resized(plan: ServingPlan, work: Workload, inf: Inference, gpu: GpuSpec, offer: PricedOffer,
            replicas: int) -> ServingPlan:
    """The plan's configuration (tensor parallel, batch) with `replicas` replicas (rounded up to whole instances):
    what sizing does when the simulation refutes the analytic replica count."""
    tp, batch = plan.gpus_per_replica, plan.batch_size
    if "hold" in plan.timing_s:
        t = LlmTiming(tp, batch, plan.timing_s["prefill"], plan.timing_s["decode_step"], plan.timing_s["hold"],
                      plan.timing_s.get("prefill_cut"))
        timing: LlmTiming | float = t
        capacity = t.capacity_rps

        def latency_at(r: int | None, rate: float) -> dict[str, float]:
            return llm_latency(inf, t, r, rate)
    else:
        timing = plan.timing_s["service"]
        capacity = batch / timing

        def service_of(b: float) -> float:
            return batch_service_seconds(work, inf, gpu, plan.efficiency, b)

        def latency_at(r: int | None, rate: float) -> dict[str, float]:
            return batch_latency(inf, r, batch, service_of, rate)
    reps, instances = _fill_instances(replicas, tp, offer.offer.gpus_per_instance)
    latency = latency_at(reps, inf.rate)
    return _plan(work, inf, gpu, offer, plan.efficiency, _Candidate(
        timing, batch, tp, reps, instances, latency, _meets(latency, inf.slo), capacity, latency_at,
        offer.offer.gpus_per_instance))


# ------------------------------------------------------------------------------------------ simulation


def simulate_plan(plan: ServingPlan, work: Workload, inf: Inference, gpu: GpuSpec, seed: int = 0,
                  requests: int | None = None, runs: DynamicBatchingRuns | None = None) -> ServingPlan:
    """The plan with simulated_latency_s filled in by the discrete-event simulation of the same system (`runs`:
    dynamic-batching runs shared with the other plans of one estimate)."""
    # the simulation's numpy engine only here, for `--simulate`: an estimate without it never imports numpy for it
    from planner.model.simulation import DynamicBatchingRuns, simulate_llm

    if plan.replicas < 1 or not plan.timing_s:
        return plan
    servers = plan.replicas * plan.batch_size
    if "hold" in plan.timing_s:
        cycle = inf.rate * plan.timing_s["hold"]  # λ·D: the slots busy on average

        def run(n: int, settled: frozenset[str] = frozenset()) -> SimulatedLatency:
            return simulate_llm(inf.rate, plan.replicas, plan.batch_size, plan.timing_s["prefill"],
                                plan.timing_s["decode_step"], int(round(inf.generated)), n, seed,
                                cut_s=plan.timing_s.get("prefill_cut"), skip=settled)
    else:
        def service_of(b: float) -> float:
            return batch_service_seconds(work, inf, gpu, plan.efficiency, b)

        fill, size = batch_cycle(inf, inf.rate / plan.replicas, plan.batch_size, service_of)
        cycle = inf.rate * (fill + service_of(size))  # requests arriving while one waits for its batch and is served
        shared = runs if runs is not None else DynamicBatchingRuns()

        def run(n: int, settled: frozenset[str] = frozenset()) -> SimulatedLatency:  # one metric: none settled
            return shared.run(inf.rate, plan.replicas, plan.batch_size, service_of, inf.max_queue_delay, n, seed)
    if requests is not None:
        sim = run(requests)
    else:  # stop once the targets' verdicts are settled (simulation_length.until_decided says why that is safe)
        targets = {k: v for k, v in inf.slo.targets().items() if isinstance(v, (int, float))}
        most = requests_for(servers, plan.utilization)
        sim = until_decided(run, targets, first_requests(cycle), most)
    keys = LLM_KEYS if "hold" in plan.timing_s else tuple(sim.latency_s)
    return replace(plan, simulated_latency_s={k: sim.latency_s[k] for k in keys})
