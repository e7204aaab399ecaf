"""A floor under a training plan's hours at one GPU count, worked out without its layout search: the layouts
candidate_layouts would compare (every tensor and pipeline degree that fits) are found from their memory alone (the
first (recomputation, ZeRO stage) trial that fits, at its micro-batch), and each one's step is at least the communication nothing hides plus the longer of its
compute at its efficiency and its gradient synchronisation (NCCL's least latency per message, the ring's bandwidth)
with the compute that cannot hide it, and at least its host's launches (its accumulation of its stage's forward
kernels; the coarse floor: those of the layout there that launches fewest, CountBound.host_s), of which
StepTerms.seconds takes the longer. Where context parallelism may be tried, each context-parallel degree triple
that some trial fits is floored too (CountBound._contexts): its compute at its least recomputation, its gradient
all-reduce (that of its tensor and pipeline degrees' Shape), and its ring's K,V sends less the attention they hide
behind. A mixture of experts' expert layouts are floored without their memory (CountBound.expert_floor: their compute
at the most efficiency a fit reaches, their all-to-alls and gradient collectives). The step's other terms are left
out, which keeps the floor below it: QLoRA's dequantizations (StepTerms.memory_s) only add to it. The search
(plans/search.py) leaves out the counts whose floors show they change
no output."""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any, NamedTuple

from planner.catalog.load import PricedOffer
from planner.efficiency.origin import Efficiency
from planner.model.forward_time import kernels_per_forward
from planner.model.grad_sync import gradient_messages
from planner.model.interconnect import RING_STEP_LATENCY_S, boundary_senders, intra_node_gbs
from planner.model.memory import usable_bytes
from planner.model.nccl import Collective, least_collectives_s, least_latency_s
from planner.model.precision import training_value_bytes
from planner.model.startup import startup_seconds
from planner.plans.context_parallel import RING_PASSES, context_degrees, kv_block_bytes, splits_sequence
from planner.plans.expert_parallel import ALL_TO_ALLS_PER_MOE_LAYER, expert_degrees, imbalance_factor, routed_share
from planner.plans.training import (
    STARTED_PROVIDERS,
    LATER,
    TP_ALLREDUCES_PER_LAYER,
    ZERO3_PASSES,
    ZERO_SHARDING,
    MemoryOf,
    TrainingJob,
    frozen_base,
    frozen_value_bytes,
    long_sequence,
    recompute_options,
    starting_weight_bytes,
    stage_imbalance,
    tensor_splits,
    training_memory,
)
from planner.schema.catalog import GpuSpec

SLACK = 1.0 - 1e-9
"""Each floor is multiplied by this: it and the plan's hours are the same quantities summed and multiplied in other
orders, each operation off by at most half an ulp (~1e-16 relative), so a floor equal to the hours in exact
arithmetic could come out a few ulps above them; 1e-9 is far above any such error and far below any gap a decision
reads."""
MEMORY_MARGIN = 1.0 - 1e-9
"""A trial's memory at its micro-batch (static + micro-batch × one sample's activations, summed in another order
than training_memory sums it) is taken to fit for sure only below this share of the GPU's usable bytes; nearer, the
floor is not worked out (0.0)."""
UNSURE = -1
"""A fit that rounding could decide either way (MEMORY_MARGIN)."""
_UNSEEN: Any = object()
"""No answer kept yet (Shape.caps holds None for 'no trial fits')."""
_LONG = (-1.0, 0.0, 0.0, 0.0)
"""CountBound.coarse_floors' efficiencies of a count where context parallelism may be tried (its compute alone)."""
COARSE_SLACK = 1.0 - 1e-6
"""CountBound.coarse_floors is multiplied by this: its terms are hours_floors' in other orders, and it must stay under
them (the search orders counts by these before it works out the finer ones)."""
LATENCY_MESSAGE_BYTES = 8 * 2**20
"""A job whose gradient all-reduce moves at most this many bytes per collective has its coarse floors' pipeline
all-reduces at NCCL's least (CountBound.latency_bound): across hundreds of instances a small message's latency is as
large as its bandwidth term (resnet50-imagenet: 51 MB in 54 per-layer messages, ~1 MB each; a stage of 32 across 96
single-GPU instances at 10 Gbit/s: 3.3 ms against a bandwidth term of 2.5 ms). Messages of tens of MB pay latency of a
few percent of their bandwidth term (pretrain-1b-72h: 126 MB), which changes none of its floors' decisions and costs
a look-up per count and depth."""
_tuple_new = tuple.__new__
"""A named tuple made without its class's Python-level __new__ (~0.3 µs less; a search makes thousands)."""
_COMPUTE = itemgetter(5)
"""A Context's compute at efficiency 1 (CountBound._contexts orders them by it)."""
ETA_KEY = 64
"""Fit.eta_key's base: above every tensor degree (16 at most: training._tensor_degrees)."""


def boundable(job: TrainingJob) -> bool:
    """Whether CountBound covers every layout the search can choose for this job: a fixed global batch (its steps
    and each replica's samples are known before the layout), no pinned degrees (training.parallelism's data, tensor,
    pipeline, context, expert or virtual stages: _pinned_layouts lists other layouts, and may interleave the
    pipeline) — a pinned recomputation is the job's own (training.recompute), a pinned ZeRO stage every trial's
    (pinned_sharding), dense jobs only — and for a mixture of experts a busiest expert rank that computes at least
    the mean (imbalance_factor at least 1: the floors of its expert layouts, CountBound.expert_floor, and the coarse
    floors, which leave the stretch out, read it so)."""
    work, pins = job.work, job.parallelism
    return job.global_batch_samples is not None \
        and (pins is None or (pins.data, pins.tensor, pins.pipeline, pins.context, pins.expert, pins.virtual)
             == (None,) * 6 and (pins.zero is None or not work.is_moe)) \
        and (not work.is_moe or (job.capacity_factor >= 1.0 and work.expert_flops_share >= 0.0))


def pinned_sharding(job: TrainingJob) -> str | None:
    """The ZeRO stage training.parallelism pins, as FitTrials tries it (the only stage, every layout), else None."""
    pins = job.parallelism
    return ZERO_SHARDING[pins.zero] if pins is not None and pins.zero is not None else None


class Trial(NamedTuple):
    """One (recomputation, ZeRO stage) trial of _fit_layout at some degrees, with what the floor reads of it."""

    mode: str
    sharding: str
    static: float
    """Bytes per GPU at micro-batch 0 (training_memory: weights, gradients, optimizer state)."""
    one: float
    """Activation bytes of one micro-batch sample."""
    hardware: float
    """FLOP per model FLOP (recomputation reruns forward work: training.layout_work)."""
    per_layer: int
    """Tensor-parallel all-reduces per layer and micro-batch slot."""


class Shape(NamedTuple):
    """What a floor reads of one (count, tensor degree, pipeline depth) besides the GPU and the offer: the same for
    every GPU, so worked out once per search (CountBound.shape)."""

    number: int
    """Its place in CountBound.numbered."""
    tp: int
    pp: int
    dp: int
    per_replica: int
    """The busiest replica's samples per step (training.layout_work)."""
    configs: tuple[tuple[str, str, float, int], ...]
    """_fit_layout's trials in its order: (recomputation, ZeRO stage, FLOP per model FLOP, tensor-parallel
    all-reduces per layer and slot)."""
    trials: list[Trial | None]
    """Each config's Trial, made when first reached (CountBound._fit)."""
    needs: list[float]
    """Each Trial made's bytes at micro-batch 0 plus one sample, in order (CountBound._fit)."""
    fits: dict[int, Fit]
    """The Fit of each (trial, micro-batch) some memory size picks, by micro-batch × ETA_KEY + trial (one int, not a
    tuple: a search makes thousands of these keys)."""
    caps: dict[float, Fit | int | None]
    """CountBound._fit's answer per usable memory: the GPUs per instance and the network do not change it, so every
    offer shape of a memory size whose candidates hold this shape shares it."""
    imbalance: float
    """Compute of the busiest pipeline stage over the mean stage's."""
    grad_bytes: float
    """Gradient bytes per GPU."""
    messages: int
    """Collectives the gradient all-reduce is split into (ZeRO-0/1/2); ZeRO-3 gathers and scatters per layer."""
    zero3_messages: int


class Fit(NamedTuple):
    """The trial _fit_layout picks at some degrees and memory size, its micro-batch and what the step reads of it
    (training.layout_work), flat, in the order CountBound.hours_floors unpacks it."""

    number: int
    """The shape's place in CountBound.numbered, its key in CountBound.comms (a Fit does not hold its Shape, whose
    memos hold the Fit: no reference cycles for the collector)."""
    eta_key: int
    """micro-batch × ETA_KEY + tensor degree: what the layout's efficiency reads of it, as one int (a tuple's hash
    at each of a search's ~40,000 look-ups cost more than the look-up)."""
    micro_flops: float
    """FLOP per GPU of one micro-batch, recomputation and the busiest stage's share included."""
    slots: int
    """Micro-batch slots per step: accumulation plus the pipeline's idle pp − 1."""
    accumulation: int
    size: float
    """The mean micro-batch: the replica's samples over the accumulation."""
    per_layer: int
    """The trial's tensor-parallel all-reduces per layer and slot."""
    zero3: bool
    """The trial shards with ZeRO-3."""
    trial: int
    """The trial's place in its Shape's configs (CountBound.fitted reads its recomputation and ZeRO stage)."""


Comm = tuple[float, float, float, float, float, float, int, str]
"""What a shape's step reads of a GPU's link and an offer's network (CountBound._comm), a plain tuple (a search makes
thousands): NCCL's least latency of a slot's tensor-parallel all-reduces per all-reduce a layer makes; their ring
bandwidth term per sample of the micro-batch, likewise; a slot's two pipeline sends' latency; their seconds per
sample of the micro-batch; the gradient all-reduce (ZeRO-0/1/2: nccl.least_collectives_s); the bandwidth term of
ZeRO-3's gathers and scatters of one micro-batch (CountBound.zero3_s adds latency); the instances the data-parallel
group spans over a network (1: none); the intra-node link (nvlink | pcie)."""

CoarseLinks = tuple[tuple[int, ...], float, list[tuple[Any, ...]], int, float]
"""CountBound._coarse_links: a count's tensor degrees, its data-parallel all-reduce's network term (-1.0: none), per
pipeline depth (sends, the all-reduce's bandwidth term, samples of compute, share of it behind the all-reduce,
least host time, what CountBound._least_allreduce reads and its answers by link kind (None: not worked out)),
the count and its degrees as one int (count × 16 + a bit per degree 2, 4, 8, 16), what coarse_floors keys the
efficiencies by, and the least host time of a step there (CountBound.host_s)."""

EtaRow = tuple[tuple[tuple[float, float, float, float, float], ...], float, bool]
"""CountBound._eta_row: per tensor degree (1, then each of a count's degrees) the batch × the degree, the micro-batch
cap and the curve's 1/η∞, 1/η₁ − 1/η∞ and η₁; the most η₁ of those; whether context parallelism may be tried."""

Fitted = tuple[str, str, int]
"""A fit's recomputation, ZeRO stage and micro-batch (CountBound.fitted)."""

Pipe = tuple[int, int, int, float, float, float, int]
"""A pipeline degree pair of CountBound._candidates, fitted only when a floor reaches it (_pipe_fit): its tensor degree,
pipeline depth, count, slots, mean micro-batch, FLOP per GPU of one micro-batch at the least recomputation (FLOP per
model FLOP 1.0: every trial's is at least that) and Fit.eta_key. None of it depends on the trial: a pipeline's
micro-batch is one (or the pinned one). A plain tuple (a Fit is its own class: the floors tell them apart so)."""

Context = tuple[int, int, int, int, int, float, float, float, float, float, float, float, int, float, bool]
"""A context-parallel degree triple of CountBound._contexts, what its floor reads (CountBound.floors), the same for
every GPU of one memory size: its tensor degree, pipeline depth and context degree; the number of its (count, tensor,
pipeline) Shape, whose gradient all-reduce, tensor-parallel all-reduces and pipeline sends are its own (the data ×
context ranks are that Shape's data ranks: training.step_comm); its key in CountBound.etas (Fit.eta_key where its
micro-batch is known, else the negative key of the most any micro-batch up to its replica's samples reaches); its
compute in FLOP per GPU at efficiency 1; the share of it that cannot hide the gradient all-reduce; its ring's sends
(each pays the link's latency) and their bytes; the attention FLOP their window holds; the micro-batch slots and the
samples (÷ the context degree) its tensor-parallel all-reduces and pipeline sends carry; the all-reduces per layer
and slot; the host's launches in units of launch_s; and whether ZeRO-3 may shard it."""

Candidates = tuple[bool, list[Fit], list[Pipe], list[Context] | None]
"""Whether a count gets no floor (a data-parallel fit is UNSURE), the fits of the data-parallel degrees
candidate_layouts compares there, its pipeline degree pairs (Pipe), fitted when reached, and, where context
parallelism may be tried (long_sequence), its context-parallel degree triples that some trial fits (Context)."""

Expert = tuple[int, int, int, int, int, float, float, float, float, float, int, int, tuple[int, int, int], int, int]
"""An expert layout's degrees as CountBound.expert_floor reads them, whatever its memory (_expert_list): its tensor
degree, pipeline depth, expert degree, data degree, the most micro-batch samples it can run (its efficiency's), and
what its step holds at least of any fit — micro-batch slots (each pays its collectives' latencies), samples summed
over the slots (their bytes), samples the all-to-alls move over the slots, FLOP per GPU (the busiest expert rank's
and pipeline stage's, at FLOP per model FLOP 1.0) —, its gradient bytes per GPU, gradient all-reduces per step and
ZeRO-3 collectives per step (0: ZeRO-3 is not tried there), its efficiency's key (tensor degree, micro-batch, expert
degree), how many entries of its tensor and pipeline degrees are left from it on (widest expert degree first: the
step to the next degrees' first) and the number of what its communication reads alike at every expert degree
(_expert_group: the entries of one (count, tensor and pipeline degrees) share it, unless their gradient bytes
differ)."""

ExpertComm = tuple[float, float, float, float]
"""What expert_floor reads of an Expert on a link and network (_expert_comm): the communication nothing hides
(tensor-parallel all-reduces, pipeline sends, all-to-alls), the gradient all-reduce, ZeRO-3's gathers and scatters
(inf: not tried) and the share of the compute the all-reduce cannot hide behind."""


class CountBound:
    """Floors of one boundable job (boundable), for every offer and count of a search: each (count, degrees)'s
    trials once, each fit once per memory size, each efficiency once per (GPU, efficiency, tensor degree,
    micro-batch) and NCCL's least latency once per group."""

    def __init__(self, job: TrainingJob, memory_of: MemoryOf = training_memory) -> None:
        assert boundable(job)
        self.job, self.memory_of = job, memory_of
        work = job.work
        self.modes = recompute_options(job)
        self.configs: dict[tuple[bool, bool], tuple[tuple[str, str, float, int], ...]] = {}
        """FitTrials' (recomputation, ZeRO stage) trials by (no model parallelism, several replicas), each with its
        FLOP per model FLOP (training.layout_work) and tensor-parallel all-reduces per layer and slot."""
        self.pinned = pinned_sharding(job)
        """The pinned ZeRO stage (FitTrials: the only one tried, at one replica too), else None."""
        for alone in (True, False):
            for replicas in (True, False):
                # one replica (and no context ranks to shard over): every stage is none
                stages = (self.pinned,) if self.pinned is not None else ("none",) if not replicas \
                    else ZERO_SHARDING if alone else ("none", "zero1")
                self.configs[(alone, replicas)] = tuple(
                    (mode, sharding, 1.0 + (0.0 if mode == "none" else job.work.attention_flops_per_sample
                                            if mode == "selective" else job.work.forward_flops_per_sample)
                     / job.model_flops_per_sample, TP_ALLREDUCES_PER_LAYER + (2 if mode == "full" else 0))
                    for mode in self.modes for sharding in stages)
        assert all(len(trials) < ETA_KEY for trials in self.configs.values())  # Shape.fits' keys
        self.batch = float(job.global_batch_samples or 0)
        self.steps = job.samples / self.batch
        self.flops = job.model_flops_per_sample
        self.value_bytes = training_value_bytes(job.precision)
        self.unit_activation = work.tokens_per_sample * work.hidden * self.value_bytes
        self.grad_bytes = job.trainable_params * self.value_bytes
        self.shapes: dict[tuple[int, int, int], Shape] = {}
        self.numbered: list[Shape] = []
        """Every Shape made, by its number."""
        self.candidates: dict[tuple[float, int, bool], dict[int, Candidates]] = {}
        """_candidates by (usable memory, GPUs per instance, networked), then by count."""
        self.alike: dict[tuple[float, tuple[int, ...], bool, int], Candidates] = {}
        """_candidates by what they read: (usable memory, tensor degrees, spanning networked instances, count)."""
        self.tried: dict[tuple[float, tuple[int, ...], bool, int],
                         tuple[list[tuple[int, int]], list[Shape | None]]] = {}
        """The degree pairs _candidates tried and their shapes (a pipeline's made only when reached: _pipe_fit), by
        the same key (fitted)."""
        self.comms: dict[tuple[int, float, float, str], dict[int, Comm]] = {}
        self.sends: dict[tuple[int, float, float, str], dict[tuple[int, int, int], tuple[float, float, float, float]]] \
            = {}
        """_sends per (GPUs per instance, network, link), by tensor degree × ETA_KEY + pipeline depth."""
        self.pipes: dict[tuple[int, int, int], Pipe] = {}
        """_pipe per (count, tensor degree, pipeline depth)."""
        self.pipe_lists: dict[tuple[int, int, bool], list[Pipe]] = {}
        """_candidates' pipelines per (count, GPUs per instance, networked), in _list's order."""
        self.imbalances: dict[int, float] = {}
        """stage_imbalance per pipeline depth."""
        self.lists: dict[tuple[int, int, bool], tuple[tuple[int, ...], list[tuple[int, int]], list[Shape | None]]] = {}
        self.etas: dict[tuple[int, int], dict[int, float]] = {}
        self.statics: dict[tuple[str, int, int], float] = {}
        self.ones: dict[tuple[str, int], float] = {}
        self.splits = splits_sequence(work)
        self.mode_terms = {config[0]: config[2:] for configs in self.configs.values() for config in configs}
        """Per recomputation its FLOP per model FLOP and tensor-parallel all-reduces per layer and slot (_contexts)."""
        self.context_triples: dict[tuple[int, tuple[int, ...], bool],
                                   list[tuple[list[float], list[Context]]]] = {}
        """_context_triples per (count, tensor degrees, spanning networked instances)."""
        self.context_ones: dict[tuple[str, int, int], float] = {}
        """One sample's activation bytes per (recomputation, tensor degree, context degree) (_contexts)."""
        self.longs: dict[tuple[float, int], bool] = {}
        self.held: list[object] = []
        self.floors_known: dict[tuple[object, ...], dict[int, float]] = {}
        """floors' floor of each count asked, per (GPU, efficiency by id(), held in `held`; GPUs per instance, network,
        start-up, peak, link)."""
        """The GPUs and efficiencies keyed by id() in `etas`, held so their ids are not reused."""
        self.ends: dict[tuple[int, int, int], tuple[float, float]] = {}
        self.mosts: dict[tuple[int, int], float] = {}
        self.micro_caps: dict[float, dict[int, float]] = {}
        self.coarse_links: dict[tuple[int, float | None], dict[int, CoarseLinks]] = {}
        """_coarse_links per (GPUs per instance, network), by count."""
        self.link_terms: dict[tuple[int, int], tuple[Any, ...]] = {}
        """_coarse_links' terms of a networked count that no network changes, per (count, GPUs per instance): each
        provider's own network (RunPod's pods, AWS's sizes) asks for the same count again."""
        self.coarse_ends: dict[tuple[int, int], dict[int, tuple[float, float, float]] | None] = {}
        """coarse_floors' terms of the curve's ends per (GPU, efficiency), by id() (held in `held`)."""
        self.coarse_startups: tuple[dict[int, float], dict[int, float]] = ({}, {})
        """coarse_floors' start-up hours per count (COARSE_SLACK applied), not provisioned and provisioned."""
        self.coarse_etas: dict[tuple[int, int], dict[int, tuple[float, float, float, float]]] = {}
        self.eta_rows: dict[tuple[int, int], dict[int, EtaRow]] = {}
        """_eta_row per (GPU, efficiency), by id() (held in `held`), then by the bits of the tensor degrees."""
        """_coarse_etas per (GPU, efficiency), by id() (held in `held`), then by CoarseLinks' key of the count and its
        degrees (_LONG where context parallelism may be tried)."""
        self.launch_s = kernels_per_forward(work) * job.launch_floor_s
        """The host's time to launch one micro-batch's forward operators on a GPU without a pipeline
        (training.layout_work's host_s at accumulation 1, without full recomputation, which doubles it)."""
        self.hosts: dict[int, float] = {}
        """host_s per count where pipelines may be tried."""
        self.latencies: dict[tuple[Collective, int, int, str], float] = {}
        self.tensor_terms: dict[tuple[int, int, float, str], tuple[float, float]] = {}
        """_comm's tensor-parallel (latency, bandwidth) terms by (tensor degree, pipeline depth, link)."""
        self.withins: dict[tuple[float, int, int], float] = {}
        """_within by (usable memory, count, the candidates' pipelines by id(): held in pipe_lists)."""
        self.frozen: dict[tuple[int, int], float] = {}
        """An adapter's frozen base bytes per GPU by (tensor × pipeline ranks, expert degree) (_gathered)."""
        self.read = starting_weight_bytes(job)
        """The starting weights every plan of the job reads before its first step (training.timed_plans' start-up):
        an adapter's base, ~89 s of lora-mixtral-8x7b's start-up."""
        self.moe = work.is_moe
        """A mixture of experts: every count's floor also covers its expert layouts (expert_floor)."""
        routed = routed_share(work) if job.method == "full" else 0.0  # training.layout_work's expert gradients
        self.routed = routed
        self.coarse_grad_bytes = self.grad_bytes * (1.0 - routed + routed / work.experts) if work.is_moe \
            else self.grad_bytes
        self.latency_bound = not work.is_moe and self.grad_bytes <= LATENCY_MESSAGE_BYTES * gradient_messages(
            job.framework, self.grad_bytes, self.value_bytes, 1, work.layers)
        """Whether coarse_floors takes a pipeline's gradient all-reduce at NCCL's least (_least_allreduce) where its
        bandwidth term alone leaves it under the best step: a dense job whose gradient all-reduce moves at most
        LATENCY_MESSAGE_BYTES per collective (all its bytes on one rank over the collectives gradient_messages
        splits them into)."""
        """The least gradient bytes per GPU (× tensor and pipeline degrees) of any layout: expert layouts hold 1/ep
        of the routed experts' gradients (full training), ep at most the experts (coarse_floors)."""
        self.expert_lists: dict[tuple[int, int, bool], list[Expert]] = {}
        """_expert_list per (count, GPUs per instance, networked)."""
        self.expert_alike: dict[tuple[int, tuple[int, ...], bool], list[Expert]] = {}
        """_expert_list per (count, tensor degrees, spanning networked instances): what it reads."""
        self.expert_blocks: dict[tuple[int, int, int], list[Expert]] = {}
        """_expert_list's entries of one (count, tensor degree, pipeline depth), widest expert degree first: lists of
        other tensor degrees share them (of a lora-mixtral-8x7b search's ~500 blocks, ~280 distinct)."""
        self.trainable = job.trainable_params
        self.routed_unit = work.tokens_per_sample * work.experts_per_token * work.hidden * self.value_bytes
        """The bytes of one sample's tokens × top-k hidden vectors (expert_parallel.all_to_all_step_seconds)."""
        self.expert_groups: dict[tuple[int, float | None, tuple[float, str]],
                                 dict[int, tuple[float, float, int, float]]] = {}
        """_expert_group per (GPUs per instance, network, link), by the Expert's group number."""
        self.expert_groups_made = 0
        """Group numbers given (_expert_block)."""
        self.expert_keys: dict[tuple[int, tuple[int, ...]], list[tuple[tuple[int, int, int], tuple[int, int, int]]]] \
            = {}
        """_expert_coarse_etas' efficiency keys per (count, tensor degrees): per tensor degree with expert degrees,
        (its most micro-batch samples, one sample or the pinned micro-batch) at the widest expert degree."""
        self.expert_comms: dict[tuple[int, float, float, str],
                                dict[int, tuple[list[ExpertComm | None], list[float | None]]]] = {}
        """Each _expert_list entry's _expert_comm and its _expert_all_to_alls, each worked out when first needed (None
        until then), per (GPUs per instance, network, link), by count."""
        self.expert_etas: dict[tuple[int, int], dict[tuple[int, int, int], float]] = {}
        """_expert_eta per (GPU, efficiency), by id() (held in `held`), then by (tensor degree, micro-batch, expert
        degree)."""

    def forget(self) -> None:
        """Drop what the floors remembered (the search is done with them): the estimate keeps its search for the
        counts it left out, and the cyclic collector would otherwise scan these thousands of objects with it."""
        for memo in (self.shapes, self.candidates, self.alike, self.tried, self.comms, self.sends, self.pipes,
                     self.pipe_lists,
                     self.imbalances, self.lists, self.etas, self.statics, self.ones,
                     self.longs, self.ends, self.mosts, self.micro_caps, self.coarse_links, self.link_terms, self.coarse_ends,
                     self.coarse_etas, self.eta_rows, self.latencies, self.tensor_terms, self.hosts,
                     self.context_ones, self.context_triples, self.expert_lists, self.expert_alike, self.expert_blocks,
                     self.expert_comms,
                     self.expert_etas, self.expert_keys, self.expert_groups, self.frozen, self.withins,
                     *self.coarse_startups):
            memo.clear()
        self.held.clear()
        self.floors_known.clear()
        self.numbered.clear()

    def hours_floors(self, gpu: GpuSpec, offer: PricedOffer, counts: Sequence[int], efficiency: Efficiency,
                     peak: float, intra: tuple[float, str]) -> list[float]:
        """Per count, a floor under the hours at any confidence ≥ 0.5 of the plan of that many GPUs of this offer,
        if some layout fits (0.0: no floor, where rounding could decide a fit; inf: no layout fits).
        `peak`: the GPU's FLOP/s at the job's precision; `intra`: intra_node_gbs(gpu, offer)."""
        floor = self.floors(gpu, offer, efficiency, peak, intra)
        return [floor(count) for count in counts]

    def floors(self, gpu: GpuSpec, offer: PricedOffer, efficiency: Efficiency, peak: float,
               intra: tuple[float, str]) -> Callable[[int], float]:
        """hours_floors of one count at a time, for this GPU, offer and efficiency (what every count reads alike
        worked out once), each count's kept per (GPU, efficiency, GPUs per instance, network, start-up, peak, link):
        coarse_floors reads them too where context parallelism may be tried. (The floors are kept, not the function,
        which holds this bound: no reference cycle for the collector.)"""
        o = offer.offer
        per_instance, network = o.gpus_per_instance, o.network_gbps
        provisioned = offer.provider not in STARTED_PROVIDERS  # the plans' start-up (training.timed_plans)
        key = (id(gpu), id(efficiency), per_instance, network, provisioned, peak, intra)
        known = self.floors_known.get(key)
        if known is None:
            known = self.floors_known[key] = {}
            self.held += [gpu, efficiency]  # (their ids key floors_known)
        work_out = self._floors(gpu, offer, efficiency, peak, intra)

        def floor(count: int) -> float:
            found = known.get(count)
            if found is None:
                found = known[count] = work_out(count)
            return found

        return floor

    def _floors(self, gpu: GpuSpec, offer: PricedOffer, efficiency: Efficiency, peak: float,
                intra: tuple[float, str]) -> Callable[[int], float]:
        """floors, each count worked out when asked."""
        o = offer.offer
        per_instance, network = o.gpus_per_instance, o.network_gbps
        networked = bool(network)
        capacity = usable_bytes(gpu)
        etas = self._etas(gpu, efficiency)
        links = (per_instance, network or 0.0, intra[0], intra[1])
        comms = self.comms.get(links)
        if comms is None:
            comms = self.comms[links] = {}
        sends = self.sends.get(links)
        if sends is None:
            sends = self.sends[links] = {}
        steps = self.steps / 3600.0 * SLACK
        provisioned = offer.provider not in STARTED_PROVIDERS  # the plans' start-up (training.timed_plans)
        group = self.candidates.get((capacity, per_instance, networked))
        if group is None:
            group = self.candidates[(capacity, per_instance, networked)] = {}
        numbered = self.numbered
        launch, hosts = self.launch_s, self.hosts
        moe, read, batch = self.moe, self.read, self.batch
        # what expert_floor reads of this GPU, efficiency, link and network, for every count (a mixture of experts)
        expert_rows: dict[int, tuple[list[ExpertComm | None], list[float | None]]] = {}
        expert_etas: dict[tuple[int, int, int], float] = {}
        if moe:
            expert_rows = self.expert_comms.setdefault(links, expert_rows)
            known_etas = self.expert_etas.get((id(gpu), id(efficiency)))
            if known_etas is None:
                self.expert_etas[(id(gpu), id(efficiency))] = expert_etas
                self.held += [gpu, efficiency]
            else:
                expert_etas = known_etas

        def floor(count: int) -> float:
            found = group.get(count)
            if found is None:
                found = self._candidates(gpu, capacity, count, per_instance, networked, group)
            unsure, fits, pipes, contexts = found
            # rounding could decide a fit, or context parallelism may be tried on a mixture of experts (its expert
            # ranks beside the context ranks, which no floor covers): no floor
            if unsure or (moe and contexts is not None):
                return 0.0
            best = math.inf
            if contexts:  # first: the least of its triples' floors passes over most of the layouts below
                best = self._context_floor(gpu, efficiency, etas, contexts, best, peak, per_instance, network, intra,
                                           comms)
            # candidate_layouts keeps only the layouts of at most `batch` replicas where one fits (_within)
            limit = math.inf if count <= batch else self._within(capacity, count, fits, pipes)
            entries: list[Any] = fits + pipes if pipes else fits
            for entry in entries:
                if entry.__class__ is tuple:
                    # a pipeline degree pair (Pipe), fitted only when its least step can be under the least found:
                    # every trial's micro-batch FLOP are at least those at FLOP per model FLOP 1.0 and its
                    # all-reduces per layer at least TP_ALLREDUCES_PER_LAYER, summed below in the same order as
                    # the step (IEEE rounding is monotone), so a step at or past `best` is never taken below
                    tp, pp, _, slots, size, flops, eta_key = entry
                    if count > limit * (tp * pp):  # more replicas than the batch's samples: not a candidate
                        continue
                    eta = etas.get(eta_key)
                    if eta is None:
                        eta = etas[eta_key] = self._eta(gpu, efficiency, eta_key % ETA_KEY, eta_key // ETA_KEY)
                    compute = slots * (flops / peak / eta)
                    if compute >= best:
                        continue
                    # its host's launches: its accumulation (slots less the pp − 1 idle) of its stage's share
                    host = (slots - pp + 1) * launch / pp
                    if host >= best:
                        continue
                    # the GPUs sending over an instance's network at once, at the fewest (interconnect.boundary_senders:
                    # no more than a stated fabric's rails, so every floor is under both)
                    sharing = boundary_senders(per_instance, count // pp)
                    terms = sends.get((tp, pp, sharing))
                    if terms is None:
                        terms = sends[(tp, pp, sharing)] = self._sends(tp, pp, sharing, network, intra)
                    if slots * (TP_ALLREDUCES_PER_LAYER * (terms[0] + size * terms[1]) + terms[2]
                                + size * terms[3]) + compute >= best:
                        continue
                    state = self._pipe_fit(entry, capacity)
                    if state is None:
                        continue
                    if isinstance(state, int):  # UNSURE: rounding could decide its fit, no floor
                        return 0.0
                    # (its efficiency is the one above: the same tensor degree and micro-batch)
                    number, _, micro_flops, slots, accumulation, size, per_layer, zero3, _ = state
                else:
                    number, eta_key, micro_flops, slots, accumulation, size, per_layer, zero3, _ = entry
                    if numbered[number].dp > limit:  # more replicas than the batch's samples: not a candidate
                        continue
                    host = accumulation * launch  # (no pipeline: every kernel, once per micro-batch)
                    eta = etas.get(eta_key)
                    if eta is None:
                        eta = etas[eta_key] = self._eta(gpu, efficiency, eta_key % ETA_KEY, eta_key // ETA_KEY)
                # one micro-batch's compute at the layout's efficiency (training.terms_at), the step's slots of it
                micro_s = micro_flops / peak / eta
                compute = slots * micro_s
                if compute >= best:  # the step is at least its compute: this layout's floor cannot be the least
                    continue
                comm = comms.get(number)
                if comm is None:
                    comm = comms[number] = self._comm(numbered[number], per_instance, network, intra)
                tp_latency, tp_bytes, pp_latency, pp_bytes, allreduce, _, _, _ = comm
                if zero3:
                    # gathers and scatters behind each micro-batch, `accumulation` times: step = compute +
                    # acc·max(0, comm − micro) ≥ the bubble's slots of compute + acc·comm
                    hidden = (slots - accumulation) * micro_s + accumulation * self.zero3_s(numbered[number], comm)
                else:
                    # step = compute + max(0, comm − window), the window 2/3 of one micro-batch's compute
                    hidden = allreduce + (slots - 2.0 / 3.0) * micro_s
                # each slot's tensor-parallel all-reduces and its two pipeline sends (nothing hides them)
                fixed = slots * (per_layer * (tp_latency + size * tp_bytes) + pp_latency + size * pp_bytes)
                seconds = fixed + (compute if compute > hidden else hidden)
                if host > seconds:  # the host's launches set the pace (StepTerms.seconds)
                    seconds = host
                if seconds < best:
                    best = seconds
            if moe:  # a mixture of experts: its expert layouts too (expert_floor)
                best = self.expert_floor(gpu, efficiency, peak, count, per_instance, network, intra, best,
                                         expert_rows, expert_etas, limit)
            host = launch if count <= per_instance or not networked else hosts.get(count)
            if host is None:
                host = self.host_s(count, True)
            if host > best:  # no step is shorter than its host's launches (host_s)
                best = host
            return steps * best + startup_seconds(count, provisioned, read) / 3600.0 * SLACK

        return floor

    def coarse_floors(self, gpu: GpuSpec, offer: PricedOffer, counts: Sequence[int], efficiency: Efficiency,
                      peak: float, each: bool = False) -> list[float]:
        """Per count, a floor under hours_floors' floor of that count where it is above 0.0 (and so under the
        plan's hours), worked out from the degrees alone, without a layout's memory: the search times or rules out
        most counts on these (plans/search.py) and works out the finer floor only where they do not decide. Where
        context parallelism may be tried, the compute at the best efficiency (_eta_most) and the host's launches
        alone: a context-parallel layout computes the batch too, and its host_s is at least the count's.

        Every (tensor, pipeline) pair hours_floors may compare at a count takes at least the compute of the batch
        at the best efficiency its GPU reaches (at any tensor degree and micro-batch: _eta_most); across networked
        instances a data-parallel one (pipeline depth 1) also waits for its gradient all-reduce's network
        bandwidth term, 2(1 − 1/instances) × gradient bytes / network, the same at every tensor degree that
        divides the instance, behind at most 2/3 of its compute (ZeRO-3: 1.5 × that term, hidden by none); a
        pipeline of depth pp runs at least samples × pp / count + pp − 1 slots, each sending two activations over
        the network (÷ its tensor degree, at most the widest), and its gradient all-reduce's bandwidth term is least
        at the widest stride; each depth is bounded on its own (the sends grow with it, the all-reduce shrinks). The
        step is at least the host's launches of any layout there (host_s), as in hours_floors.

        Worked out for all the counts at once: what the efficiency's terms read of the GPU once per set of tensor
        degrees (_eta_row), _coarse_etas' sums written out per count, and a pipeline depth passed over where its
        seconds' least on any GPU (_coarse_links' `low`) is not under the best step found. `each`: as before those
        (_coarse_etas per count, every depth's seconds), the same floors bit for bit (tests/test_count_bound.py)."""
        o = offer.offer
        per_instance, network = o.gpus_per_instance, o.network_gbps
        capacity = usable_bytes(gpu)
        most = self._eta_most(gpu, efficiency)
        if most <= 0.0:
            return [0.0] * len(counts)
        steps = self.steps / 3600.0 * COARSE_SLACK
        provisioned = offer.provider not in STARTED_PROVIDERS  # the plans' start-up (training.timed_plans)
        compute_all = self.batch * self.flops / peak  # the batch's compute on one GPU at efficiency 1
        links = self.coarse_links.get((per_instance, network))
        if links is None:
            links = self.coarse_links[(per_instance, network)] = {}
        key = (id(gpu), id(efficiency))  # held by _eta_most
        efficiencies = self.coarse_etas.get(key)
        if efficiencies is None:
            efficiencies = self.coarse_etas[key] = {}
        # the curve's two ends per tensor degree (_eta), where its formula holds (_coarse_etas), as its terms
        ends = self.coarse_ends.get(key, _UNSEEN)
        if ends is _UNSEEN:
            ends = self.coarse_ends[key] = {
                tp: (1.0 / unbounded, 1.0 / one - 1.0 / unbounded, one)
                for tp in (1, 2, 4, 8, 16) for unbounded, one in (self.ends[(key[0], key[1], tp)],)} \
                if efficiency.curve is not None and most < 1.0 else None
        caps = self._micro_caps(capacity)
        startups = self.coarse_startups[provisioned]  # (a bool indexes the pair)
        per_sample = compute_all / self.batch if self.batch else 0.0  # a sample's compute (the pipelines' below)
        fine: Callable[[int], float] | None = None  # floors, where context parallelism may be tried
        out: list[float] = []
        append = out.append
        kind = ""  # the intra-node link's kind, once a pipeline's all-reduce at NCCL's least asks for it
        # _coarse_etas written out per count (a mixture of experts: per count and degrees, with its expert terms),
        # what it reads of the GPU once per set of tensor degrees (_eta_row)
        rows = self.eta_rows.get(key)
        if rows is None:
            rows = self.eta_rows[key] = {}
        curved, pinned, moe = ends is not None, self.job.micro_batch, self.moe
        longs, splits = self.longs, self.splits
        for count in counts:
            found = links.get(count)
            degrees, spread, piped, at, host = found if found is not None \
                else self._coarse_links(count, per_instance, network, links)
            if moe or each:  # per count (a mixture of experts: with its expert layouts' terms)
                etas = efficiencies.get(at)
                if etas is None:
                    long = splits and longs.get((capacity, degrees[-1] if degrees else 1))
                    if long is None:
                        long = self._long(gpu, capacity, degrees)
                    etas = _LONG if long else self._coarse_etas(ends, caps, count, degrees, most)
                    if moe and not long:
                        etas = self._expert_coarse_etas(etas, gpu, efficiency, count, degrees, curved)
                    efficiencies[at] = etas
                eta, fewest, alone, single = etas
            else:
                row = rows.get(at & 15)  # the bits of the degrees (CoarseLinks' key)
                if row is None:
                    row = rows[at & 15] = self._eta_row(gpu, capacity, degrees, ends, caps)
                terms, single, long = row
                if long:  # the GPU's memory is the same for every count: the context test too
                    eta, fewest, alone, single = _LONG
                else:  # _coarse_etas written out: at tensor degree 1 (alone: the first held), then at each degree
                    micro: float
                    eta, fewest, alone = 0.0, math.inf, 0.0
                    for batch_tp, cap, unbounded, spread_, one in terms:
                        share = batch_tp / count
                        if pinned:
                            micro = pinned
                        else:
                            micro = -(-share // 1) or 1.0
                            if cap < micro:
                                micro = cap
                        held = share / micro
                        if held < fewest:
                            fewest = held
                        if not alone:  # held > 0: the first term's, tensor degree 1
                            alone = held
                        if curved:
                            value = 1.0 / (unbounded + spread_ / micro)
                            if one > value:
                                value = one
                            if value > eta:
                                eta = value
                    if not curved:
                        eta = single = most
                    elif pinned:
                        single = eta
            startup = startups.get(count)
            if startup is None:
                startup = startups[count] = startup_seconds(count, provisioned, self.read) / 3600.0 * COARSE_SLACK
            if eta < 0.0:  # _LONG: the context-parallel layouts too, at the most any layout reaches
                compute = compute_all / count / most
                low = steps * (compute if compute > host else host) + startup
                # the compute alone leaves these counts' floors far under their plans where the ring or the
                # gradient all-reduce crosses a slow network: the finer floor itself (its memory fits and
                # context-parallel triples; kept for the search's floors), a hair under it
                if fine is None:
                    fine = self.floors(gpu, offer, efficiency, peak, intra_node_gbs(gpu, offer))
                finer = fine(count) * COARSE_SLACK
                append(finer if finer > low else low)
                continue
            compute = compute_all / count / eta
            if spread < 0.0:  # one instance, or none networked
                append(steps * (compute if compute > host else host) + startup)
                continue
            # data parallel: max(compute, all-reduce + (1 − 2/(3 slots)) compute); ZeRO-3 (tensor degree 1 alone)
            # max(compute, 1.5× the all-reduce per micro-batch of the accumulation)
            exposed = spread + (1.0 - 2.0 / (3.0 * fewest) if fewest > 1.0 else 1.0 / 3.0) * compute
            # (a pinned ZeRO-3 layout at a tensor degree past 1 is at least as exposed as the data-parallel bound:
            # 1.5× the all-reduce's bytes each micro-batch, behind at most that micro-batch's compute)
            sharded = 1.5 * spread * (alone if alone > 1.0 else 1.0)
            if exposed > sharded:
                exposed = sharded
            best = compute if compute > exposed else exposed
            # a pipeline: its sends, and its all-reduce behind part of its compute at a micro-batch of one, and at
            # least its host's launches
            sample = per_sample / single
            for sent, synced, bubble, kept, launched, low, pending in piped:
                if low >= best:  # its seconds are at least low (_coarse_links): not below best
                    if sent >= best:  # nor are a deeper pipeline's, whose sends are more (they grow with the depth)
                        break
                    if not each:
                        continue
                bubble *= sample
                hidden = synced + kept * bubble
                seconds = sent + (bubble if bubble > hidden else hidden)
                if seconds < launched:
                    seconds = launched
                if seconds < best and pending is not None:
                    # under best on the all-reduce's bandwidth term alone: at NCCL's least too (the higher of the
                    # two floors, worked out once per count, depth and intra-node link kind), whose latencies across
                    # hundreds of instances the bandwidth term leaves out (latency_bound)
                    if not kind:
                        kind = intra_node_gbs(gpu, offer)[1]
                    answers = pending[5]
                    exact = answers.get(kind)
                    if exact is None:
                        exact = self._least_allreduce(pending, kind)
                        if exact < synced:
                            exact = synced
                        answers[kind] = exact
                    hidden = exact + kept * bubble
                    seconds = sent + (bubble if bubble > hidden else hidden)
                    if seconds < launched:
                        seconds = launched
                if seconds < best:
                    best = seconds
            append(steps * (best if best > host else host) + startup)  # no step is shorter than its host's launches
        return out

    def expert_floor(self, gpu: GpuSpec, efficiency: Efficiency, peak: float, count: int, per_instance: int,
                     network: float | None, intra: tuple[float, str], best: float,
                     rows: dict[int, tuple[list[ExpertComm | None], list[float | None]]],
                     etas: dict[tuple[int, int, int], float],
                     limit: float = math.inf) -> float:
        """The least of `best` and a floor under the step of every expert layout _expert_layouts may compare at
        `count` (a mixture of experts; floors adds it to the others' least), whatever its memory (_expert_list).
        Per layout: its compute at the most efficiency any of its fits reaches (the curve at its most micro-batch
        samples and its expert degree: the curve only rises with both) and at the busiest expert rank's stretch, the
        communication nothing hides (each slot's tensor-parallel all-reduces and pipeline sends, as the other floors
        take them, and each slot's four all-to-alls per MoE layer, interconnect.expert_all_to_all_seconds: the
        slower path's bytes and latency steps, over at least the replica's samples), and the gradient all-reduce
        (nccl.least_collectives_s) behind all but 2/3 of one micro-batch's compute, or ZeRO-3's gathers and scatters
        (CountBound.zero3_s's terms) behind none of it. StepTerms.seconds sums the same terms, each at least these.
        A layout's communication is worked out only when its compute is under `best` (two in three are not); one of
        more than `limit` data-parallel replicas is left out (floors: not a candidate there, _within). `rows`: the
        link and network's expert_comms, `etas`: the GPU and efficiency's expert_etas (floors finds them once)."""
        networked = bool(network)
        entries = self.expert_lists.get((count, per_instance, networked))
        if entries is None:
            entries = self._expert_list(count, per_instance, networked)
        found = rows.get(count)
        if found is None:
            found = rows[count] = ([None] * len(entries), [None] * len(entries))
        row, a2as = found
        j, total = 0, len(entries)
        while j < total:
            entry = entries[j]
            if entry[3] > limit:  # (so are its narrower expert degrees': the same data degree)
                j += entry[13]
                continue
            eta = etas.get(entry[12])
            if eta is None:
                eta = self._expert_eta(gpu, efficiency, entry[0], entry[4], entry[2])
            compute = entry[8] / peak / eta
            if compute >= best:  # the step is at least its compute, and so are its narrower expert degrees' steps
                j += entry[13]
                continue
            comm = row[j]
            if comm is None:
                # its all-to-alls first: the communication nothing hides is at least they (IEEE rounding is
                # monotone), and most layouts that reach here are past `best` on them alone (~4 in 5 of
                # lora-mixtral-8x7b's), so their other collectives (_expert_group) are not worked out
                a2a = a2as[j]
                if a2a is None:
                    a2a = a2as[j] = self._expert_all_to_alls(entry, per_instance, network, intra)
                if compute + a2a >= best:
                    j += 1
                    continue
                comm = row[j] = self._expert_comm(entry, per_instance, network, intra, a2a)
            fixed, allreduce, zero3, kept = comm
            if compute + fixed >= best:
                j += 1
                continue
            hidden = allreduce + kept * compute
            if zero3 < hidden:
                hidden = zero3
            seconds = fixed + (compute if compute > hidden else hidden)
            if seconds < best:
                best = seconds
            j += 1
        return best

    def _within(self, capacity: float, count: int, fits: list[Fit], pipes: list[Pipe]) -> float:
        """The global batch's samples where a layout of at most that many data-parallel replicas surely fits at
        `count` (a Fit of the data-parallel and tensor-parallel pairs, else a pipeline's, fitted here in _list's
        order until one does), else inf: candidate_layouts then lists only layouts of at most that many replicas
        (_listed tries every such pair without the expert and context ones), so the floors may leave the others
        out. Once per (usable memory, count) and candidates."""
        key = (capacity, count, id(pipes))
        found = self.withins.get(key)
        if found is not None:
            return found
        batch, numbered = self.batch, self.numbered
        found = math.inf
        if any(numbered[fit.number].dp <= batch for fit in fits):
            found = batch
        else:
            for pipe in pipes:
                if count <= batch * (pipe[0] * pipe[1]) and isinstance(self._pipe_fit(pipe, capacity), Fit):
                    found = batch
                    break
        self.withins[key] = found
        return found

    def _expert_eta(self, gpu: GpuSpec, efficiency: Efficiency, tp: int, micro: int, ep: int) -> float:
        """The layout efficiency of an expert layout at (tensor degree, micro-batch, expert degree): the curve's value
        there (training.curve_value), else the figure given; kept in expert_etas (its caller made the dict)."""
        curve: Any = efficiency.curve
        job = self.job
        value: float = efficiency.value if curve is None else \
            curve.efficiency(job.work, gpu, job.precision, tp, micro, job.attention, job.framework, ep)
        self.expert_etas[(id(gpu), id(efficiency))][(tp, micro, ep)] = value
        return value

    def _expert_list(self, count: int, per_instance: int, networked: bool) -> list[Expert]:
        """Every expert layout _expert_layouts may compare at `count` (Expert), without its memory: each expert degree
        (expert_parallel.expert_degrees) at tensor degree 1 and at each tensor degree of the instance, and across
        networked instances at each pipeline depth at tensor degree 1 and the widest. Memory only picks among these
        and sets the micro-batch, the recomputation and the ZeRO stage: without a pipeline (or a pinned micro-batch)
        the micro-batch is at most the replica's samples, the slots at least one, the slots × micro-batch at least
        the replica's samples; a pipeline's micro-batch is one (or the pinned one), its slots known
        (training.layout_work); recomputation only adds FLOP and collectives. Once per (count, tensor degrees,
        spanning networked instances): all it reads of the GPUs per instance and the network (kept in expert_lists
        per (count, GPUs per instance, networked) too)."""
        key = (count, per_instance, networked)
        found = self.expert_lists.get(key)
        if found is not None:
            return found
        work = self.job.work
        degrees = self._list(count, per_instance, networked)[0]
        spans = count > per_instance and networked
        reading = (count, degrees, spans)
        found = self.expert_alike.get(reading)
        if found is not None:
            self.expert_lists[key] = found
            return found
        pairs = [(tp, 1) for tp in (1, *degrees)]
        if spans:
            for tp in dict.fromkeys((1, degrees[-1] if degrees else 1)):
                pp = 2
                while tp * pp <= count and pp <= work.layers:
                    if count % (tp * pp) == 0:
                        pairs.append((tp, pp))
                    pp *= 2
        blocks = self.expert_blocks
        out: list[Expert] = []
        for tp, pp in pairs:
            block = blocks.get((count, tp, pp))
            if block is None:
                block = blocks[(count, tp, pp)] = self._expert_block(count, tp, pp)
            out += block
        self.expert_lists[key] = self.expert_alike[reading] = out
        return out

    def _expert_block(self, count: int, tp: int, pp: int) -> list[Expert]:
        """_expert_list's entries of one (count, tensor degree, pipeline depth), widest expert degree first (none:
        no expert degree there)."""
        job, work = self.job, self.job.work
        eps = expert_degrees(work, count, tp, pp)
        if not eps:
            return []
        pinned, value_bytes, routed = job.micro_batch, self.value_bytes, self.routed
        stretch = imbalance_factor(work, 2, job.capacity_factor)  # the same at every expert degree above 1
        dp = count // (tp * pp)
        per_replica = max(1, math.ceil(self.batch / dp - 1e-9))
        if pp > 1 or pinned is not None:
            micro = pinned if pinned is not None else 1
            accumulation = max(1, math.ceil(per_replica / micro))
            slots = accumulation + pp - 1
            summed, moved = slots * (per_replica / accumulation), float(slots * micro)
        else:  # the micro-batch is what memory holds, at most the replica's samples
            micro, slots, summed, moved = per_replica, 1, float(per_replica), float(per_replica)
        stage = 1.0
        if pp > 1:
            stage = self.imbalances.get(pp) or self.imbalances.setdefault(
                pp, stage_imbalance(work, pp, job.pipeline_split))
        layers = math.ceil(work.layers / pp)
        flops = summed * self.flops / (tp * pp) * stage * stretch
        zero3 = ZERO3_PASSES * layers if tp * pp == 1 else 0
        grads = messages = None
        group = 0
        # the widest expert degree first: the curve's efficiency only rises with it (the routed weights count
        # 1/ep), so once one's compute reaches the least step found, the narrower ones' do too (expert_floor)
        out: list[Expert] = []
        left = len(eps)
        for ep in reversed(eps):
            if grads is None or routed:
                grads = self.trainable * (1.0 - routed + routed / ep) / (tp * pp) * value_bytes
                # (a hair less than the search's sum, as Shape.messages: never more buckets than the search's)
                messages = gradient_messages(job.framework, grads * (1.0 - 1e-12), value_bytes, dp, layers)
                group = self.expert_groups_made = self.expert_groups_made + 1
            assert messages is not None
            out.append((tp, pp, ep, dp, micro, float(slots), summed, moved, flops, grads, messages, zero3,
                        (tp, micro, ep), left, group))
            left -= 1
        return out

    def _expert_comm(self, entry: Expert, per_instance: int, network: float | None, intra: tuple[float, str],
                     moved: float) -> ExpertComm:
        """An Expert's communication on this link and network (ExpertComm), as step_comm works it out, each collective
        at NCCL's least latency per message and the ring's bandwidth term (as _comm); what does not read the expert
        degree (_expert_group) once per (count, tensor and pipeline degrees, gradient bytes). `moved`: its
        all-to-alls (_expert_all_to_alls)."""
        tp, pp, ep, dp, _, slots, _, _, _, grads, _, zero3_messages, _, _, number = entry
        groups = self.expert_groups.get((per_instance, network, intra))
        if groups is None:
            groups = self.expert_groups[(per_instance, network, intra)] = {}
        group = groups.get(number)
        if group is None:
            group = groups[number] = self._expert_group(entry, per_instance, network, intra)
        fixed, allreduce, nodes, unit = group
        fixed += moved
        # ZeRO-3's gathers and scatters (as _comm's, zero3_s)
        zero3 = zero3_messages * self._latency("allgather", dp, nodes, intra[1]) \
            + unit * self._gathered(tp * pp, ep, grads) if zero3_messages else math.inf
        return fixed, allreduce, zero3, 1.0 - 2.0 / (3.0 * slots)

    def _expert_all_to_alls(self, entry: Expert, per_instance: int, network: float | None,
                            intra: tuple[float, str]) -> float:
        """An Expert's all-to-alls of a step on this link and network: four per MoE layer of its stage and slot
        (expert_parallel.all_to_all_step_seconds, interconnect.expert_all_to_all_seconds), each of a micro-batch
        sample's tokens × top-k hidden vectors over at least the replica's samples, split over the tensor ranks:
        the expert ranks tp apart (ep ≤ dp), `local` of them inside an instance; the slower path's bytes and its
        latency step per peer."""
        tp, pp, ep, _, _, slots, _, moved, _, _, _, _, _, _, _ = entry
        link, kind = intra[0] * 1e9, intra[1]
        work = self.job.work
        size = self.routed_unit / tp
        local = per_instance // tp
        if local > ep:
            local = ep
        if local < 1:
            local = 1
        if local >= ep or not network:
            a2a = moved * ((ep - 1) / ep * size / link) + slots * ((ep - 1) * RING_STEP_LATENCY_S[kind])
        else:
            net = network / 8.0 * 1e9  # bytes/s of one instance's network
            near = moved * ((local - 1) / ep * size / link) + slots * ((local - 1) * RING_STEP_LATENCY_S[kind])
            far = moved * ((ep - local) / ep * size / (net / per_instance)) \
                + slots * ((ep - local) * RING_STEP_LATENCY_S["network"])
            a2a = near if near > far else far
        return ALL_TO_ALLS_PER_MOE_LAYER * (work.moe_layers / pp) * a2a

    def _expert_group(self, entry: Expert, per_instance: int, network: float | None,
                      intra: tuple[float, str]) -> tuple[float, float, int, float]:
        """What _expert_comm reads alike at every expert degree of a (count, tensor and pipeline degrees) with the same
        gradient bytes: the slots' tensor-parallel all-reduces and pipeline sends, the gradient all-reduce over the
        data ranks tp × pp apart (as _comm), the nodes they span and the ring's seconds per byte of ZeRO-3's
        all-gathers over them (passes 1: an all-reduce's two)."""
        tp, pp, _, dp, _, slots, summed, _, _, grads, messages, _, _, _, _ = entry
        link, kind = intra[0] * 1e9, intra[1]
        net = network / 8.0 * 1e9 if network else 0.0  # bytes/s of one instance's network
        work = self.job.work
        unit = self.unit_activation
        fixed = 0.0
        if tp > 1:
            found = self.tensor_terms.get((tp, pp, link, kind))
            if found is None:
                layers = work.layers / pp
                found = self.tensor_terms[(tp, pp, link, kind)] = (
                    layers * self._latency("allreduce", tp, 1, kind), layers * 2.0 * (tp - 1) / tp * unit / link)
            fixed += TP_ALLREDUCES_PER_LAYER * (slots * found[0] + summed * found[1])
        if pp > 1:  # (only across networked instances: _expert_list)
            fixed += slots * 2.0 * RING_STEP_LATENCY_S["network"] \
                + summed * 2.0 * unit / tp * boundary_senders(per_instance, tp * dp) / net
        stride = tp * pp
        local = per_instance // stride
        if local > dp:
            local = dp
        if local < 1:
            local = 1
        nodes = -(-dp // local)
        per_byte = (local - 1) / local / link if local > 1 else 0.0
        if nodes > 1 and net:
            sharing = local * stride if local * stride < per_instance else per_instance
            per_byte += (nodes - 1) / nodes / local / (net / sharing)
        else:
            nodes = 1
        allreduce = least_collectives_s("allreduce", dp, nodes, kind, messages, 2.0 * per_byte * grads)
        return fixed, allreduce, nodes, per_byte

    def _expert_coarse_etas(self, etas: tuple[float, float, float, float], gpu: GpuSpec, efficiency: Efficiency,
                            count: int, degrees: tuple[int, ...], curve: bool) -> tuple[float, float, float, float]:
        """_coarse_etas' terms widened to a mixture of experts' expert layouts, whatever their memory: a data-parallel
        one's efficiency at most the curve's at the replica's samples and the widest expert degree (the curve rises
        with both), a pipeline's at one sample (or the pinned micro-batch) and that degree; one micro-batch a step
        at the fewest. `curve`: the efficiencies are the curve's (else `most` already bounds them all)."""
        eta, fewest, alone, single = etas
        if curve:
            etas_of = self.expert_etas.get((id(gpu), id(efficiency)))
            if etas_of is None:
                etas_of = self.expert_etas[(id(gpu), id(efficiency))] = {}
                self.held += [gpu, efficiency]
            keys = self.expert_keys.get((count, degrees))
            if keys is None:
                keys = self.expert_keys[(count, degrees)] = []
                pinned = self.job.micro_batch
                for tp in (1, *degrees):
                    eps = expert_degrees(self.job.work, count, tp, 1)
                    if eps:
                        most = pinned if pinned is not None else max(1, math.ceil(self.batch / (count // tp) - 1e-9))
                        keys.append(((tp, most, eps[-1]), (tp, pinned if pinned is not None else 1, eps[-1])))
            for top, one in keys:
                value = etas_of.get(top)
                if value is None:
                    value = self._expert_eta(gpu, efficiency, *top)
                if value > eta:
                    eta = value
                value = etas_of.get(one)
                if value is None:
                    value = self._expert_eta(gpu, efficiency, *one)
                if value > single:
                    single = value
        return eta, (fewest if fewest < 1.0 else 1.0), 1.0, single

    def host_s(self, count: int, piped: bool) -> float:
        """The least host time of a step (training.layout_work host_s: accumulation × forward kernels ÷ pipeline
        stages, doubled by full recomputation, × the launch floor) of any layout at `count` GPUs; `piped`: pipelines
        may be tried there (across networked instances). StepTerms.seconds and the plan's hours take the longer of it
        and the GPUs' step, so a floor's step may too. Without a pipeline the accumulation is at least 1: launch_s. A
        pipeline of depth pp (a power of two, at most the layers and the count: _list) at data degree dp = count ÷
        (tp × pp) accumulates at least max(1, ⌈B/dp⌉ ÷ micro-batch) micro-batches of one sample (or the pinned
        micro-batch): accumulation ÷ pp ≥ max(1/pp, B × tp ÷ (count × micro-batch)), at least max(1/D, B ÷ (count ×
        micro-batch)) at the deepest D."""
        launch = self.launch_s
        if not piped or launch <= 0.0:
            return launch
        found = self.hosts.get(count)
        if found is not None:
            return found
        deepest, reach = 1, min(self.job.work.layers, count)
        while deepest * 2 <= reach:
            deepest *= 2
        share = self.batch / (count * (self.job.micro_batch or 1))
        least = 1.0 / deepest if 1.0 / deepest > share else share
        found = self.hosts[count] = launch * least if least < 1.0 else launch
        return found

    def _coarse_links(self, count: int, per_instance: int, network: float | None,
                      links: dict[int, CoarseLinks]) -> CoarseLinks:
        """What coarse_floors reads of a count on an offer's instances and network, the same for every GPU: the
        tensor degrees (_list), the gradient all-reduce's network term for a data-parallel layout (-1.0: the count
        does not span networked instances) and per pipeline depth its sends, its gradient all-reduce, its compute in
        samples at a micro-batch of one, the share of it the all-reduce cannot hide behind, its host's launches and
        what _least_allreduce reads (none: no pipeline); `links`: where it is kept (coarse_links).

        A pipeline of depth d at tensor degree tp ≤ the widest runs slots ≥ max(1, samples × tp × d / count ÷
        micro-batch) + d − 1 (its micro-batch is one, or the pinned one), each sending two activations over the
        network (latency + bytes ÷ tp), and its all-reduce's bandwidth term, behind all but 2/3 of a slot's compute
        (ZeRO-3 shards only layouts without model parallelism), is least at the widest stride (the instance's whole
        network shared by a stride wider than it); so its step is at least sends + all-reduce + the rest of its
        compute, and at least its host's launches (host_s: accumulation ÷ d × launch_s)."""
        networked = bool(network)
        found = self.lists.get((count, per_instance, networked))
        degrees = (found if found is not None else self._list(count, per_instance, networked))[0]
        at = count * 16 + sum(degrees) // 2  # a bit per degree 2, 4, 8, 16 (each once): half their sum
        if count <= per_instance or not network:
            made = links[count] = (degrees, -1.0, [], at, self.launch_s)
            return made
        net = network / 8.0 * 1e9
        terms = self.link_terms.get((count, per_instance))
        if terms is None:
            terms = self.link_terms[(count, per_instance)] = self._link_terms(count, per_instance, degrees)
        spread_bytes, rows, host = terms
        spread = spread_bytes / net  # instances = count / GPUs per instance
        latency = 2.0 * RING_STEP_LATENCY_S["network"]
        sends = 2.0 * self.unit_activation / net  # a slot's two sends at tensor degree 1, per GPU sharing the network
        latency_bound = self.latency_bound
        piped: list[tuple[Any, ...]] = []
        for depth, slots, replica_term, sharing, synced_bytes, bubble, kept, launched in rows:
            sent = latency * slots + replica_term * sends * sharing
            if synced_bytes is None:
                synced = spread
            elif synced_bytes == 0.0:
                synced = 0.0
            else:
                synced = synced_bytes / net
                if synced > spread:
                    synced = spread
            # what every GPU's seconds there are at least: its sends and all-reduce (the compute's share behind it is
            # not negative), and its host's launches
            low = sent + synced
            piped.append((sent, synced, bubble, kept, launched, low if low > launched else launched,
                          (count, depth, degrees, per_instance, net, {}) if synced > 0.0 and latency_bound else None))
        made = links[count] = (degrees, spread, piped, at, host)
        return made

    def _link_terms(self, count: int, per_instance: int, degrees: tuple[int, ...]) -> tuple[Any, ...]:
        """What _coarse_links reads of a count spanning networked instances that no network changes: the gradient
        all-reduce's bytes term (2(1 − 1/instances) × gradient bytes, over the network's bytes/s a time), and per
        pipeline depth its slots, its sends' samples and sharing GPUs, its all-reduce's bytes term (None: the data
        parallel one's; 0.0: none), the share of its compute the all-reduce cannot hide behind and its host's
        launches; and the count's host_s. The same arithmetic, in the same order, as when the network was in it."""
        grads, batch = self.coarse_grad_bytes, self.batch
        spread_bytes = 2.0 * (1.0 - per_instance / count) * grads
        share = batch / count
        launch, micro = self.launch_s, float(self.job.micro_batch or 1)  # a pipeline's micro-batch (_pipe)
        widest = degrees[-1] if degrees else 1
        rows: list[tuple[Any, ...]] = []
        depth = 2
        while depth <= self.job.work.layers:
            replica = share * depth  # ≤ the busiest replica's samples at any tensor degree (at least 1)
            # slots ≥ accumulation + d − 1, the accumulation at least 1 and the replica's samples over the micro-batch
            slots = (replica / micro if replica > micro else 1.0) + depth - 1
            # at the fewest GPUs sharing the network (interconnect.boundary_senders: count ÷ d of them, at most the
            # instance's);
            # replica × that is min(samples × d × per instance ÷ count, samples) and (d − 1) × that grows with d
            # too, so the sends still grow with the depth
            sharing = count / depth if count / depth < per_instance else float(per_instance)
            stride = widest * depth
            synced_bytes: float | None
            if stride >= count or self.pinned == "zero3":
                # one replica: no all-reduce; a pinned ZeRO-3 pipeline gathers and scatters per micro-batch behind
                # its compute (training.terms_at), none of it surely exposed: its compute and sends alone
                synced_bytes = 0.0
            elif stride > per_instance:
                synced_bytes = 2.0 * (1.0 / stride - 1.0 / count) * grads * per_instance
            else:
                synced_bytes = None
            # the compute: slots × micro-batch ≥ samples × tp × d / count + d − 1, over tp × d GPUs (per sample);
            # the all-reduce behind all but 2/3 of a slot's (ZeRO-3 shards only layouts without model parallelism);
            # its host's launches: accumulation ÷ depth ≥ max(1/d, samples × tp ÷ (count × micro-batch)) (host_s);
            # the all-reduce at NCCL's least per link kind, worked out when it could decide (coarse_floors)
            launched = launch * (1.0 / depth if 1.0 / depth > share / micro else share / micro)
            rows.append((depth, slots, replica + (depth - 1) / widest, sharing, synced_bytes,
                         share + (depth - 1) / (widest * depth), 1.0 - 2.0 / (3.0 * slots), launched))
            depth *= 2
        return spread_bytes, rows, self.host_s(count, True)

    def _least_allreduce(self, pending: tuple[int, int, tuple[int, ...], int, float, dict[str, float]],
                         kind: str) -> float:
        """A floor under the gradient all-reduce (ZeRO-0/1/2) of every pipeline of one depth at a count
        (_coarse_links' `pending`: the count, the depth, the count's tensor degrees, the GPUs per instance and the
        network's bytes/s; its answers by link kind) over an intra-node link of `kind`, whatever the link's speed
        and the GPU: the least over the pairs _list tries at that depth of _comm's all-reduce, its intra-node
        bandwidth term left out (nccl.least_collectives_s only grows with it), over the same ranks, nodes and
        messages as the layout's Shape (inf: _list tries none).

        Of the strides of one replica (tensor × pipeline degree) at or past an instance (one GPU of each replica
        per node), only the widest: each candidate's latency only grows with the ranks, its bandwidth term (the
        tree's volume dp/(dp − 1) included: 2 × gradient bytes ÷ stride × GPUs per instance ÷ network) only falls
        with the stride, and so do the messages (gradient_messages: fewer bytes per rank; Megatron's bucket at
        least as large per byte)."""
        count, pp, degrees, per_instance, net, _ = pending
        best = math.inf
        wide = False
        for tp in (*degrees[::-1], 1):
            stride = tp * pp
            if stride > count or count % stride or pp > self.job.work.layers:
                continue  # not a pair _list tries
            if stride >= per_instance:
                if wide:
                    continue  # a wider stride at or past an instance was taken (the least of these)
                wide = True
            dp = count // stride
            if dp <= 1:
                return 0.0
            local = per_instance // stride  # max(1, min(dp, …)) as _comm
            if local > dp:
                local = dp
            if local < 1:
                local = 1
            nodes = -(-dp // local)
            grad_bytes = self.grad_bytes / stride  # (Shape.grad_bytes)
            bandwidth = 0.0
            if nodes > 1:
                sharing = local * stride if local * stride < per_instance else per_instance
                bandwidth = 2.0 * (nodes - 1) / nodes * grad_bytes / local / (net / sharing)
            else:
                nodes = 1
            messages = gradient_messages(self.job.framework, grad_bytes * (1.0 - 1e-12), self.value_bytes, dp,
                                         math.ceil(self.job.work.layers / pp))  # (Shape.messages)
            seconds = least_collectives_s("allreduce", dp, nodes, kind, messages, bandwidth)
            if seconds < best:
                best = seconds
        return best

    def _eta_row(self, gpu: GpuSpec, capacity: float, degrees: tuple[int, ...],
                 ends: dict[int, tuple[float, float, float]] | None, caps: dict[int, float]) -> EtaRow:
        """What coarse_floors reads of a GPU at every count of one set of tensor degrees: per tensor degree (1, then
        each of `degrees`) the batch × the degree, the micro-batch cap (_micro_caps) and the curve's ends (`ends`:
        ones where the curve is not read), the most of the curve's values at one sample over them, and whether
        context parallelism may be tried there (_LONG). _coarse_etas' terms, looked up once per set."""
        batch = self.batch
        terms = [(batch * tp, caps[tp], *(ends[tp] if ends is not None else (1.0, 0.0, 0.0))) for tp in (1, *degrees)]
        single = 0.0
        for term in terms:
            if term[4] > single:
                single = term[4]
        long = self.splits and self.longs.get((capacity, degrees[-1] if degrees else 1))
        if long is None:
            long = self._long(gpu, capacity, degrees)
        return tuple(terms), single, bool(long)

    def _coarse_etas(self, ends: dict[int, tuple[float, float, float]] | None, caps: dict[int, float], count: int,
                     degrees: tuple[int, ...], most: float) -> tuple[float, float, float, float]:
        """What coarse_floors reads of the efficiency at a count: the most any layout reaches (a data-parallel
        layout's micro-batch is at most its replica's samples and what the GPU's memory holds of their activations,
        or the pinned one; a pipeline's is one unless pinned), the fewest micro-batches a data-parallel replica
        accumulates (its samples over that micro-batch), those at tensor degree 1, and the most a pipeline
        reaches. The curve's efficiency at any micro-batch up to m is at most max(η₁, 1/(1/η∞ + (1/η₁ − 1/η∞)/m))
        (_eta); where _eta asks the curve itself (`ends` None), at most `most` (_eta_most). `caps`: _micro_caps.
        `ends`: per tensor degree 1/η∞, 1/η₁ − 1/η∞ and η₁ (coarse_floors), _eta's terms worked out once."""
        pinned, batch = self.job.micro_batch, self.batch
        eta, fewest, alone, single = 0.0, math.inf, 1.0, 0.0
        for tp in (1, *degrees):
            share = batch * tp / count
            micro: float
            if pinned:
                micro = pinned
            else:  # min(⌈share⌉ or 1, the cap) without the builtin's call
                micro = -(-share // 1) or 1.0
                cap = caps[tp]
                if cap < micro:
                    micro = cap
            held = share / micro
            if held < fewest:
                fewest = held
            if tp == 1:
                alone = held
            if ends is not None:
                unbounded, spread, one = ends[tp]
                value = 1.0 / (unbounded + spread / micro)
                if one > value:
                    value = one
                if value > eta:
                    eta = value
                if one > single:
                    single = one
        if ends is None:
            eta = single = most
        elif pinned:
            single = eta
        return eta, fewest, alone, single

    def _micro_caps(self, capacity: float) -> dict[int, float]:
        """Per tensor degree, the most micro-batch samples a data-parallel layout there takes in `capacity` bytes:
        what its first trial leaves room for where that trial surely fits, else what the activations alone (at the
        recomputation that keeps fewest) fill with nothing else, a hair over (the search's own sums may round the
        other way): no fit at that degree takes more.

        The first trial (the least recomputation, no ZeRO stage: FitTrials' and _fit's order) holds its weights,
        gradients and optimizer state whatever the data ranks, so its bytes at micro-batch 0 are the same at every
        count; where they and one sample fit, every count's fit is that trial, at a micro-batch no larger than
        (capacity − those bytes) ÷ one sample's (first_fit's `fit`), unless the memory there is within
        MEMORY_MARGIN of the GPU's (rounding could then send first_fit to a later trial, with more room)."""
        found = self.micro_caps.get(capacity)
        if found is None:
            found = self.micro_caps[capacity] = {}
            mode = self.modes[0]
            for tp in (1, 2, 4, 8, 16):
                one = min(self._one(each, tp) for each in self.modes)
                cap = max(1.0, float(capacity * (1.0 + 1e-6) // one)) if one > 0 else math.inf
                first = self._one(mode, tp)
                # (a pinned ZeRO stage past 0 shards what the first trial holds by the count's data ranks)
                if first > 0 and self.pinned in (None, "none"):
                    static = self.statics.get(("none", 0, tp))  # _trial's key: no shards, tp × pp ranks
                    if static is None:
                        static = self.statics[("none", 0, tp)] = \
                            self.memory_of(self.job, 0, mode, "none", 1, tp, 1, 1, 1).total
                    if not static + first > capacity:  # the first trial fits: every count's fit is it
                        fit = int((capacity - static) // first)
                        most = fit if fit > 1 else 1
                        if static + most * first <= capacity * MEMORY_MARGIN and most < cap:
                            cap = float(most)
                found[tp] = cap
        return found

    def _one(self, mode: str, tp: int) -> float:
        """One micro-batch sample's activation bytes at a recomputation and tensor degree (all they read), once."""
        one = self.ones.get((mode, tp))
        if one is None:
            one = self.ones[(mode, tp)] = self.memory_of(self.job, 1, mode, "none", 1, tp, 1, 1, 1).activations
        return one

    def _eta_most(self, gpu: GpuSpec, efficiency: Efficiency) -> float:
        """The most _eta gives at any tensor degree and micro-batch: the curve's 1/(1/η∞ + (1/η₁ − 1/η∞)/micro)
        lies between its values at one and without a micro-batch; where _eta asks the curve itself, the curve's
        cap (at most 1)."""
        key = (id(gpu), id(efficiency))
        found = self.mosts.get(key)
        if found is not None:
            return found
        if efficiency.curve is None:
            most = efficiency.value
        else:
            most = 0.0
            for tp in (1, 2, 4, 8, 16):
                self._eta(gpu, efficiency, tp, 1)  # keeps the curve's two ends in self.ends
                unbounded, single = self.ends[(id(gpu), id(efficiency), tp)]
                top = 1.0 if unbounded >= 1.0 or single <= 0.0 else max(unbounded, single)
                if top > most:
                    most = top
        self.mosts[key] = most
        self.held += [gpu, efficiency]
        return most

    def _comm(self, shape: Shape, per_instance: int, network: float | None, intra: tuple[float, str]) -> Comm:
        """What a shape's step reads of the GPU's link and the offer's network (Comm), each collective at NCCL's
        least latency per message and the ring's bandwidth term (model/interconnect.py group_collective_seconds,
        ring_allreduce_seconds; model/nccl.py: every algorithm and protocol adds its latency and reaches at most
        the ring's bandwidth), the gradient all-reduce at the least of the algorithms' and protocols' sums
        (nccl.least_collectives_s); pipeline sends as training.pipeline_send_seconds."""
        tp, pp, dp = shape.tp, shape.pp, shape.dp
        link, kind = intra[0] * 1e9, intra[1]
        net = network / 8.0 * 1e9 if network else 0.0  # bytes/s of one instance's network
        unit, layers = self.unit_activation, self.job.work.layers / pp
        pp_latency = pp_bytes = 0.0
        if tp > 1:
            # the same for every count, GPUs per instance and network: once per (degrees, link)
            found = self.tensor_terms.get((tp, pp, link, kind))
            if found is None:
                found = self.tensor_terms[(tp, pp, link, kind)] = (
                    layers * self._latency("allreduce", tp, 1, kind), layers * 2.0 * (tp - 1) / tp * unit / link)
            tp_latency, tp_bytes = found
        else:
            tp_latency = tp_bytes = 0.0
        if pp > 1 and tp * pp * dp <= per_instance:  # one instance: the stages send over its own link
            pp_latency = 2.0 * RING_STEP_LATENCY_S[kind]
            pp_bytes = 2.0 * unit / tp / link
        elif pp > 1 and net:
            pp_latency = 2.0 * RING_STEP_LATENCY_S["network"]
            pp_bytes = 2.0 * unit / tp * boundary_senders(per_instance, tp * dp) / net
        allreduce = zero3 = 0.0
        nodes = 1
        if dp > 1:
            stride = tp * pp
            local = per_instance // stride  # max(1, min(dp, …)) without the builtins' calls
            if local > dp:
                local = dp
            if local < 1:
                local = 1
            nodes = -(-dp // local)
            # ZeRO-3's gathers (the weights, an adapter's frozen base too) and scatter (the gradients), one pass each
            gathered = self._gathered(stride, 1, shape.grad_bytes)
            bandwidth = 2.0 * (local - 1) / local * shape.grad_bytes / link if local > 1 else 0.0
            zero3 = (local - 1) / local * gathered / link if local > 1 else 0.0
            if nodes > 1 and net:
                sharing = local * stride if local * stride < per_instance else per_instance
                bandwidth += 2.0 * (nodes - 1) / nodes * shape.grad_bytes / local / (net / sharing)
                zero3 += (nodes - 1) / nodes * gathered / local / (net / sharing)
            else:
                nodes = 1
            # each message at the algorithm and protocol that suits the whole reduction (least_collectives_s): over
            # many nodes a ring's latency grows with the nodes and a tree's bandwidth term is twice the ring's, so the
            # least latency plus the ring's bandwidth (least_latency_s) falls well under either
            allreduce = least_collectives_s("allreduce", dp, nodes, kind, shape.messages, bandwidth)
            # (ZeRO-3's latencies worked out when a fit picks it: zero3_s)
        return tp_latency, tp_bytes, pp_latency, pp_bytes, allreduce, zero3, nodes, kind

    def zero3_s(self, shape: Shape, comm: Comm) -> float:
        """ZeRO-3's gathers and scatters of one micro-batch: their ring bandwidth term (Comm.zero3: the bytes
        step_comm's all-gathers move, _gathered) and NCCL's least latency of an all-gather per message."""
        return shape.zero3_messages * self._latency("allgather", shape.dp, comm[6], comm[7]) + comm[5]

    def _gathered(self, split: int, ep: int, grads: float) -> float:
        """The bytes ZeRO-3's collectives move per GPU and micro-batch (training.step_comm: ZERO3_PASSES − 1
        all-gathers of the weights — LayoutWork.gather_bytes: the trainable ones and an adapter's frozen base, split
        over `split` tensor × pipeline ranks and the routed experts `ep` ways more — and a reduce-scatter of the
        `grads` gradient bytes)."""
        frozen = self.frozen.get((split, ep))
        if frozen is None:
            frozen = self.frozen[(split, ep)] = sum(frozen_base(self.job, split, ep)) \
                * frozen_value_bytes(self.job, self.value_bytes)
        return (ZERO3_PASSES - 1) * (grads + frozen) + grads

    def _etas(self, gpu: GpuSpec, efficiency: Efficiency) -> dict[int, float]:
        """The efficiencies found for a (GPU, efficiency) pair, by Fit.eta_key."""
        found = self.etas.get((id(gpu), id(efficiency)))
        if found is None:
            found = self.etas[(id(gpu), id(efficiency))] = {}
            self.held += [gpu, efficiency]
        return found

    def _eta(self, gpu: GpuSpec, efficiency: Efficiency, tp: int, micro: int) -> float:
        """The layout efficiency at (tp, micro): the curve's value (training.curve_value), else the figure given.
        The curve is min(1, K/(A + W/micro)) (planner/efficiency/train_curve.py: its weight passes are shared by the
        micro-batch's samples, weight_ratio), so its values without a micro-batch (W/micro = 0) and at one give
        every other: 1/(1/η∞ + (1/η₁ − 1/η∞)/micro), two curve evaluations per (GPU, efficiency, tensor degree)
        instead of one per micro-batch; where K/A reaches 1 the curve itself is asked."""
        curve: Any = efficiency.curve
        if curve is None:
            return efficiency.value
        ends = self.ends.get((id(gpu), id(efficiency), tp))
        if ends is None:
            job = self.job
            ends = self.ends[(id(gpu), id(efficiency), tp)] = tuple(
                curve.efficiency(job.work, gpu, job.precision, tp, micro_batch, job.attention, job.framework, 1)
                for micro_batch in (None, 1))
        unbounded, single = ends
        if unbounded >= 1.0 or single <= 0.0:
            job = self.job
            value: float = curve.efficiency(job.work, gpu, job.precision, tp, micro, job.attention, job.framework, 1)
            return value
        return 1.0 / (1.0 / unbounded + (1.0 / single - 1.0 / unbounded) / micro)

    def _latency(self, kind: Collective, ranks: int, nodes: int, link: str) -> float:
        """least_latency_s, once per group."""
        key = (kind, ranks, nodes, link)
        found = self.latencies.get(key)
        if found is None:
            found = self.latencies[key] = least_latency_s(kind, ranks, nodes, link)
        return found

    def _candidates(self, gpu: GpuSpec, capacity: float, count: int, per_instance: int, networked: bool,
                    group: dict[int, Candidates]) -> Candidates:
        """candidate_layouts without pins or experts, from memory alone: every (tensor, pipeline) degree pair of
        _list that fits. A fit that rounding could decide (UNSURE) gives the count no floor. Where context
        parallelism may be tried (long_sequence, which reads the GPU's memory alone), its degree triples too
        (_contexts). Once per (memory size, count, GPUs per instance, networked), kept in `group`."""
        found = self.lists.get((count, per_instance, networked))
        degrees, pairs, made = found if found is not None else self._list(count, per_instance, networked)
        # of the GPUs per instance and the network, only the tensor degrees and whether the count spans networked
        # instances decide the pairs (_list) and the context test (training.reading_key): a CNN's counts on 1-, 2-,
        # 4- and 8-GPU instances of one memory size share their candidates
        reading = (capacity, degrees, count > per_instance and networked, count)
        alike = self.alike.get(reading)
        if alike is not None:
            group[count] = alike
            return alike
        out = []
        # the pipelines (_list puts them after the data-parallel and tensor-parallel pairs), fitted when a floor
        # reaches them (Pipe): one list per (count, GPUs per instance, networked)
        pipes = self.pipe_lists.get((count, per_instance, networked))
        if pipes is None:
            pipes = self.pipe_lists[(count, per_instance, networked)] = [self.pipes.get((count, tp, pp)) or self._pipe(count, tp, pp)
                                                 for tp, pp in pairs[1 + len(degrees):]]
        unsure = False
        for j in range(1 + len(degrees)):
            shape = made[j]
            if shape is None:
                tp, pp = pairs[j]
                shape = made[j] = self.shape(count, tp, pp)
            caps = shape.caps
            fit = caps.get(capacity, _UNSEEN)
            if fit is _UNSEEN:
                fit = caps[capacity] = self._fit(shape, capacity)
            if fit is None:
                continue
            if isinstance(fit, Fit):
                out.append(fit)
            else:
                unsure = True
        contexts = None
        if not unsure and self.splits:
            long = self.longs.get((capacity, max(degrees, default=1)))
            if long if long is not None else self._long(gpu, capacity, degrees):
                contexts = self._contexts(capacity, count, degrees, reading[2])
        result = group[count] = self.alike[reading] = (unsure, out, pipes, contexts)
        self.tried[reading] = (pairs, made)
        return result

    def _contexts(self, capacity: float, count: int, degrees: tuple[int, ...], spans: bool) -> list[Context]:
        """The context-parallel degree triples training._context_layouts tries at `count` (each context degree at
        every tensor degree of the instance and, across networked instances (`spans`), every pipeline depth) that
        some trial fits, each as Context at its least recomputation, by their compute at efficiency 1 (the floor
        passes over those whose compute is past the least step found). A triple's least recomputation is that of
        the first (recomputation, ZeRO stage) trial whose bytes at micro-batch 0 plus one sample fit
        (FitTrials.first_fit's own test on the same numbers; the least over the ZeRO stages of their sums passes it
        where some stage's does): the trial first_fit picks passes that test, so it recomputes at least as much
        (more FLOP, ring passes, tensor-parallel all-reduces and launches), and a triple no trial passes has no
        layout."""
        key = (count, degrees, spans)
        triples = self.context_triples.get(key)
        if triples is None:
            triples = self.context_triples[key] = self._context_triples(count, degrees, spans)
        out: list[Context] = []
        for needs, entries in triples:
            for need, entry in zip(needs, entries):
                if not need > capacity:
                    out.append(entry)
                    break
        out.sort(key=_COMPUTE)
        return out

    def _context_triples(self, count: int, degrees: tuple[int, ...], spans: bool
                         ) -> list[tuple[list[float], list[Context]]]:
        """_contexts' triples before the GPU's memory: per triple, each recomputation's bytes at micro-batch 0 plus
        one sample at the ZeRO stage that shards most (training_memory's weights, gradients and optimizer state each
        only shrink with the stage, and IEEE rounding is monotone: the least sum of the stages it may try), and its
        Context; once per (count, tensor degrees, spanning networked instances), for every memory size."""
        job, work, memory_of = self.job, self.job.work, self.memory_of
        pinned, layers, value_bytes, batch, flops = job.micro_batch, work.layers, self.value_bytes, self.batch, \
            self.flops
        ring_layers = float(max(1, layers))  # context_parallel.ring_comm_and_share
        statics, ones = self.statics, self.context_ones
        modes = [(mode, *self.mode_terms[mode], RING_PASSES + (0 if mode == "none" else 1)) for mode in self.modes]
        out: list[tuple[list[float], list[Context]]] = []
        for cp in context_degrees(work, count, 1, 1):
            for tp in (1, *degrees):
                if count % (tp * cp):  # nor does any pipeline depth divide it
                    continue
                samples_ones = []
                for mode, _, _, _ in modes:
                    one = ones.get((mode, tp, cp))
                    if one is None:
                        one = ones[(mode, tp, cp)] = memory_of(job, 1, mode, "none", 1, tp, 1, 1, cp).activations
                    samples_ones.append(one)
                block = kv_block_bytes(work, 1, value_bytes, tp, cp)
                pp = 1
                while pp == 1 or (spans and tp * pp * cp <= count and pp <= layers):
                    if count % (tp * pp * cp):
                        pp *= 2
                        continue
                    dp = count // (tp * pp * cp)
                    # _trial's key: the data × context ranks shard, the tensor × pipeline ranks split
                    sharding = self.pinned or ("zero3" if tp == 1 and pp == 1 else "zero1")
                    key = (sharding, dp * cp, tp * pp)
                    static = statics.get(key)
                    if static is None:
                        static = statics[key] = memory_of(job, 0, self.modes[0], sharding, dp, tp, pp, 1, cp).total
                    per_replica = max(1, math.ceil(batch / dp - 1e-9))
                    if pp > 1 or pinned is not None:
                        # the micro-batch is known (one in a pipeline, or the pinned one): training.layout_work
                        micro = pinned if pinned is not None else 1
                        accumulation = max(1, math.ceil(per_replica / micro))
                        size = per_replica / accumulation
                        slots = accumulation + pp - 1
                        samples, carried, sends = slots * size, float(slots * micro), float(slots)
                        eta_key = micro * ETA_KEY + tp
                        share = 1.0 - 2.0 / (3.0 * slots)
                        host = accumulation / pp
                        imbalance = self.imbalances.get(pp) if pp > 1 else 1.0
                        if imbalance is None:
                            imbalance = self.imbalances[pp] = stage_imbalance(work, pp, job.pipeline_split)
                    else:
                        # a micro-batch of at most the replica's samples in `accumulation` ≥ 1 slots: their samples
                        # are the replica's, the micro-batches' at least as many (the ring's sends and window read
                        # the micro-batch); one micro-batch's compute at most the step's (slots ≥ 1), so the
                        # all-reduce hides behind at most 2/3 of it; the ring's latencies are left out
                        slots, samples, carried, sends = 1, float(per_replica), float(per_replica), 0.0
                        eta_key = -(per_replica * ETA_KEY + tp)
                        share, host, imbalance = 1.0 / 3.0, 1.0, 1.0
                    number = self.shape(count, tp, pp).number
                    split = tp * pp * cp
                    compute = samples * flops / split * imbalance
                    attention = carried * work.attention_flops_per_sample / split
                    rounds = (cp - 1) * ring_layers / pp
                    out.append(([static + one for one in samples_ones], [
                        (tp, pp, cp, number, eta_key, compute * hardware, share, passes * rounds * sends,
                         passes * rounds * carried * block, passes * (cp - 1) / cp * attention, float(slots),
                         samples / cp, per_layer, host, sharding == "zero3")
                        for _, hardware, per_layer, passes in modes]))
                    pp *= 2
        return out

    def _context_floor(self, gpu: GpuSpec, efficiency: Efficiency, etas: dict[int, float], contexts: list[Context],
                       best: float, peak: float, per_instance: int, network: float | None, intra: tuple[float, str],
                       comms: dict[int, Comm]) -> float:
        """The least of `best` and each context-parallel triple's floor (floors): its communication nothing hides
        (tensor-parallel all-reduces and pipeline sends of 1/cp of the activations) plus, at 1/η of at least
        1/(the most its efficiency reaches), the least of compute/η + the gradient all-reduce it cannot hide (ZeRO-3:
        its gathers and scatters), plus the ring's K,V sends less the attention they hide behind, if more
        (training.StepTerms.device_seconds). Each part is a convex piecewise-linear function of 1/η, so the least is
        at 1/η's bound or a point where a part bends."""
        numbered = self.numbered
        for entry in contexts:
            tp, pp, cp, number, eta_key, flops, share, sends, sent, window, slots, samples, per_layer, host, \
                sharded = entry
            eta = etas.get(eta_key)
            if eta is None:
                eta = etas[eta_key] = self._context_eta(gpu, efficiency, eta_key)
            compute = flops / peak
            lowest = 1.0 / eta
            if compute * lowest >= best:  # the step is at least its compute
                continue
            comm = comms.get(number)
            if comm is None:
                comm = comms[number] = self._comm(numbered[number], per_instance, network, intra)
            tp_latency, tp_bytes, pp_latency, pp_bytes, allreduce = comm[:5]
            fixed = slots * (per_layer * tp_latency + pp_latency) + samples * (per_layer * tp_bytes + pp_bytes)
            if fixed + compute * lowest >= best:
                continue
            if tp * cp <= per_instance or not network:  # interconnect.group_link
                bandwidth, kind = intra[0] * 1e9, intra[1]
            else:
                bandwidth, kind = network / 8.0 / per_instance * 1e9, "network"
            ring = sends * RING_STEP_LATENCY_S[kind] + sent / bandwidth
            held = window / peak
            zero3 = self.zero3_s(numbered[number], comm) if sharded else -1.0
            least = math.inf
            for x in (lowest, allreduce / ((1.0 - share) * compute), zero3 / compute, ring / held if held > 0 else 0):
                if x < lowest:
                    continue
                spent = compute * x
                hidden = allreduce + share * spent
                step = spent if spent > hidden else hidden
                if sharded:
                    gathered = spent if spent > zero3 else zero3
                    if gathered < step:
                        step = gathered
                exposed = ring - held * x
                if exposed > 0.0:
                    step += exposed
                if step < least:
                    least = step
            seconds = fixed + least
            host *= self.launch_s
            if host > seconds:
                seconds = host
            if seconds < best:
                best = seconds
        return best

    def _context_eta(self, gpu: GpuSpec, efficiency: Efficiency, eta_key: int) -> float:
        """The efficiency of a Context's key: _eta where its micro-batch is known, else the most any micro-batch up
        to its replica's samples reaches (the curve's 1/(1/η∞ + (1/η₁ − 1/η∞)/micro) moves one way with the
        micro-batch, so the more of its two ends; where _eta asks the curve itself, its cap, 1)."""
        if eta_key > 0:
            return self._eta(gpu, efficiency, eta_key % ETA_KEY, eta_key // ETA_KEY)
        tp, most = -eta_key % ETA_KEY, -eta_key // ETA_KEY
        if efficiency.curve is None:
            return efficiency.value
        single = self._eta(gpu, efficiency, tp, 1)
        unbounded, one = self.ends[(id(gpu), id(efficiency), tp)]
        if unbounded >= 1.0 or one <= 0.0:
            return 1.0
        widest = self._eta(gpu, efficiency, tp, most)
        return widest if widest > single else single

    def _pipe(self, count: int, tp: int, pp: int) -> Pipe:
        """A pipeline degree pair's Pipe: its slots, mean micro-batch and FLOP per GPU of one micro-batch at FLOP per
        model FLOP 1.0 as shape and _fit work them out for every trial (a pipeline's micro-batch is one, or the pinned
        one), once per (count, degrees)."""
        dp = count // (tp * pp)
        per_replica = max(1, math.ceil(self.batch / dp - 1e-9))
        pinned = self.job.micro_batch
        micro = pinned if pinned is not None else 1
        accumulation = max(1, math.ceil(per_replica / micro))
        size = per_replica / accumulation
        imbalance = self.imbalances.get(pp)
        if imbalance is None:
            imbalance = self.imbalances[pp] = stage_imbalance(self.job.work, pp, self.job.pipeline_split)
        found = self.pipes[(count, tp, pp)] = (tp, pp, count, accumulation + pp - 1, size,
                                               size * self.flops * 1.0 / (tp * pp) * imbalance, micro * ETA_KEY + tp)
        return found

    def _pipe_fit(self, pipe: Pipe, capacity: float) -> Fit | int | None:
        """A Pipe's fit at a usable memory (its Shape made when first reached)."""
        tp, pp, count = pipe[:3]
        shape = self.shapes.get((count, tp, pp))
        if shape is None:
            shape = self.shape(count, tp, pp)
        fit = shape.caps.get(capacity, _UNSEEN)
        if fit is _UNSEEN:
            fit = shape.caps[capacity] = self._fit(shape, capacity)
        found: Fit | int | None = fit
        return found

    def _sends(self, tp: int, pp: int, sharing: int, network: float | None,
               intra: tuple[float, str]) -> tuple[float, float, float, float]:
        """A pipeline degree pair's tensor-parallel (latency, bandwidth) and pipeline-send (latency, bytes) terms,
        as _comm works them out (a pipeline pair spans networked instances: _list); `sharing`:
        interconnect.boundary_senders'."""
        link, kind = intra[0] * 1e9, intra[1]
        net = network / 8.0 * 1e9 if network else 0.0
        unit = self.unit_activation
        if tp > 1:
            found = self.tensor_terms.get((tp, pp, link, kind))
            if found is None:
                layers = self.job.work.layers / pp
                found = self.tensor_terms[(tp, pp, link, kind)] = (
                    layers * self._latency("allreduce", tp, 1, kind), layers * 2.0 * (tp - 1) / tp * unit / link)
            tp_latency, tp_bytes = found
        else:
            tp_latency = tp_bytes = 0.0
        return tp_latency, tp_bytes, 2.0 * RING_STEP_LATENCY_S["network"], 2.0 * unit / tp * sharing / net

    def fitted(self, reading: tuple[float, tuple[int, ...], bool, int], later: bool = False
               ) -> dict[tuple[int, int], Fitted | None] | None:
        """What _fit found at a (usable memory, tensor degrees, spanning networked instances, count) — the
        training.reading_key of a layout search — per (tensor, pipeline) degree pair _list tries: the trial's
        recomputation and ZeRO stage and the micro-batch, or None where no trial fits; None where the floors have
        not worked it out, or left it without a floor (UNSURE), and where context parallelism may be tried (the
        floors do not fit its triples: the layout search does). These are the layouts
        FitTrials.first_fit picks there: the same first trial (each trial's bytes at micro-batch 0 plus one sample,
        the same sums on the same numbers), the same micro-batch, and at it a memory clear of the GPU's by
        MEMORY_MARGIN, so first_fit's own test passes too (LayoutMemo.candidate_layouts). `later`: a pipeline no
        floor has fitted yet is left so (training.LATER), for pipe_fitted to fit when the layout search reaches it."""
        found = self.alike.get(reading)
        tried = self.tried.get(reading)
        if found is None or found[0] or found[3] is not None or tried is None:
            return None
        capacity, count = reading[0], reading[3]
        out: dict[tuple[int, int], Fitted | None] = {}
        for j, (tp, pp) in enumerate(tried[0]):
            fit: Fit | int | None
            if pp > 1:  # a pipeline (Pipe): fitted when first reached
                shape = self.shapes.get((count, tp, pp))
                fit = shape.caps.get(capacity, _UNSEEN) if shape is not None else _UNSEEN
                if fit is _UNSEEN:
                    if later:
                        out[(tp, pp)] = LATER
                        continue
                    fit = self._pipe_fit(self.pipes.get((count, tp, pp)) or self._pipe(count, tp, pp), capacity)
                    shape = self.shapes[(count, tp, pp)]
            else:
                shape = tried[1][j]
                if shape is None:  # not reached (cannot be, once _candidates has run): let the layout search fit it
                    return None
                fit = shape.caps.get(capacity)
            if isinstance(fit, Fit):
                assert shape is not None
                mode, sharding = shape.configs[fit.trial][:2]
                out[(tp, pp)] = (mode, sharding, fit.eta_key // ETA_KEY)
            elif fit is None:
                out[(tp, pp)] = None
            else:
                return None
        return out

    def pipe_fitted(self, reading: tuple[float, tuple[int, ...], bool, int], tp: int, pp: int) -> Fitted | None:
        """fitted's answer for one pipeline degree pair it left LATER, fitted now; LATER where rounding could decide
        its fit (UNSURE): the layout search then fits it itself."""
        count = reading[3]
        fit = self._pipe_fit(self.pipes.get((count, tp, pp)) or self._pipe(count, tp, pp), reading[0])
        if fit is None:
            return None
        if isinstance(fit, Fit):
            mode, sharding = self.shapes[(count, tp, pp)].configs[fit.trial][:2]
            return mode, sharding, fit.eta_key // ETA_KEY
        return LATER

    def _long(self, gpu: GpuSpec, capacity: float, degrees: tuple[int, ...]) -> bool:
        """long_sequence(job, gpu, degrees), once per (usable memory, widest degree): all it reads of the GPU and of
        the degrees."""
        key = (capacity, max(degrees, default=1))
        found = self.longs.get(key)
        if found is None:
            found = self.longs[key] = long_sequence(self.job, gpu, list(degrees), self.memory_of)
        return found

    def _fit(self, shape: Shape, capacity: float) -> Fit | int | None:
        """FitTrials.first_fit from the trials' memory: the first trial whose micro-batch 0 and one sample fit, at
        the micro-batch it would pick (the replica's samples in as few balanced micro-batches as memory holds; one
        in a pipeline; the pinned one). None: no trial fits; UNSURE: the micro-batch's memory within MEMORY_MARGIN of
        the GPU's, where _fit_layout's own sum could go to a later trial."""
        trials, needs, configs, pinned = shape.trials, shape.needs, shape.configs, self.job.micro_batch
        # the first trial whose micro-batch 0 plus one sample fits: each trial's sum kept in `needs` (made in order,
        # as reached), so the ~17 memory sizes a shape meets compare floats, not trials
        k, made = 0, len(needs)
        while True:
            if k < made:
                need = needs[k]
            elif k < len(configs):
                made_trial = trials[k] = self._trial(shape, configs[k])
                need = made_trial.static + made_trial.one
                needs.append(need)
                made += 1
            else:
                return None
            if not need > capacity:
                break
            k += 1
        trial = trials[k]
        assert trial is not None  # made above
        _, sharding, total, one, hardware, per_layer = trial
        per_replica = shape.per_replica
        if pinned is not None:
            micro = pinned
        elif shape.pp > 1:
            micro = 1
        else:
            fit = int((capacity - total) // one) if one > 0 else 1 << 16
            most = fit if fit < per_replica else per_replica  # max(1, min(fit, per_replica))
            accumulation = -(-per_replica // (most if most > 1 else 1))
            micro = -(-per_replica // accumulation)
        if total + micro * one > capacity * MEMORY_MARGIN:
            return UNSURE
        found = shape.fits.get(micro * ETA_KEY + k)  # k < ETA_KEY: fewer trials than ETA_KEY
        if found is None:
            accumulation = max(1, math.ceil(per_replica / micro))  # training.layout_work
            size = per_replica / accumulation
            found = shape.fits[micro * ETA_KEY + k] = _tuple_new(Fit, (
                shape.number, micro * ETA_KEY + shape.tp,
                size * self.flops * hardware / (shape.tp * shape.pp) * shape.imbalance,
                accumulation + shape.pp - 1, accumulation, size, per_layer, sharding == "zero3", k))
        return found

    def _trial(self, shape: Shape, config: tuple[str, str, float, int]) -> Trial:
        """A trial's memory: training_memory reads the tensor and pipeline degrees through their product for the
        bytes before activations, the data ranks only through the ZeRO shards, and the tensor degree alone (with
        the recomputation) for the activations; each worked out once."""
        job, memory_of = self.job, self.memory_of
        mode, sharding, hardware, per_layer = config
        tp, pp, dp = shape.tp, shape.pp, shape.dp
        skey = (sharding, dp if sharding != "none" else 0, tp * pp)
        static = self.statics.get(skey)
        if static is None:
            static = self.statics[skey] = memory_of(job, 0, mode, sharding, dp, tp, pp, 1, 1).total
        one = self.ones.get((mode, tp))
        if one is None:
            one = self.ones[(mode, tp)] = memory_of(job, 1, mode, sharding, dp, tp, pp, 1, 1).activations
        return _tuple_new(Trial, (mode, sharding, static, one, hardware, per_layer))

    def _list(self, count: int, per_instance: int, networked: bool
              ) -> tuple[tuple[int, ...], list[tuple[int, int]], list[Shape | None]]:
        """The tensor degrees of the instance at `count` (training._tensor_degrees) and every (tensor, pipeline)
        degree candidate_layouts tries, in its order: data parallel, each tensor degree inside the instance, and
        across networked instances pipeline depths (powers of two up to the layers) at no and at each tensor degree,
        with a place for each one's Shape, made when _candidates first reaches it; once per (count, GPUs per
        instance, networked)."""
        key = (count, per_instance, networked)
        found = self.lists.get(key)
        if found is not None:
            return found
        work = self.job.work
        # training._tensor_degrees: across instances a degree also divides the GPUs per instance (no group straddles
        # two machines), so the pipeline depths below are tried at the search's widest degree
        degrees = [t for t in (2, 4, 8, 16) if t <= per_instance and count % t == 0 and tensor_splits(work, t)
                   and (count <= per_instance or per_instance % t == 0)] \
            if work.family in ("decoder", "encoder") else []
        pairs = [(1, 1), *((tp, 1) for tp in degrees)]
        if count > per_instance and networked:
            for tp in (1, *degrees):
                pp = 2
                while tp * pp <= count and pp <= work.layers:
                    if count % (tp * pp) == 0:
                        pairs.append((tp, pp))
                    pp *= 2
        made: list[Shape | None] = [None] * len(pairs)
        found = self.lists[key] = (tuple(degrees), pairs, made)
        return found

    def shape(self, count: int, tp: int, pp: int) -> Shape:
        """The Shape of (count, tp, pp), once."""
        key = (count, tp, pp)
        found = self.shapes.get(key)
        if found is not None:
            return found
        job, work = self.job, self.job.work
        dp = count // (tp * pp)
        configs = self.configs[(tp * pp == 1, dp > 1)]
        # the gradient bytes summed in another order than layout_work sums them: a hair less, so the number of
        # buckets is never more than the search's
        grad_bytes = self.grad_bytes / (tp * pp)
        found = self.shapes[key] = Shape(
            len(self.numbered), tp, pp, dp, max(1, math.ceil(self.batch / dp - 1e-9)), configs, [None] * len(configs), [], {}, {},
            stage_imbalance(work, pp, job.pipeline_split) if pp > 1 else 1.0, grad_bytes,
            gradient_messages(job.framework, grad_bytes * (1.0 - 1e-12), self.value_bytes, dp,
                              math.ceil(work.layers / pp)),
            ZERO3_PASSES * math.ceil(work.layers / pp))
        self.numbered.append(found)
        return found
