"""A floor under a training plan's hours at one GPU count, worked out without its layout search: the step of every
layout candidate_layouts could choose is at least the communication nothing hides plus the longer of its compute at
the best efficiency the curve gives it and its gradient all-reduce (at full link bandwidth) with the compute that
cannot hide it. The search (plans/search.py) leaves out the counts whose floors show they change no output."""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

from planner.catalog.load import PricedOffer
from planner.efficiency.origin import Efficiency
from planner.model.interconnect import RING_STEP_LATENCY_S
from planner.model.memory import usable_bytes
from planner.model.precision import training_value_bytes
from planner.plans.context_parallel import splits_sequence
from planner.plans.training import (
    TP_ALLREDUCES_PER_LAYER,
    MemoryOf,
    TrainingJob,
    long_sequence,
    recompute_options,
    stage_imbalance,
    training_memory,
)
from planner.schema.catalog import GpuSpec

SLACK = 1.0 - 1e-9
"""Each floor is multiplied by this: it and the plan's hours are the same quantities summed and multiplied in other
orders, each operation off by at most half an ulp (~1e-16 relative), so a floor equal to the hours in exact
arithmetic could come out a few ulps above them; 1e-9 is far above any such error and far below any gap a decision
reads."""
ROOM_SLACK = 1.0 + 1e-9
"""The same margin on memory: a layout is taken not to fit only when its least memory exceeds the GPU by more."""


def boundable(job: TrainingJob) -> bool:
    """Whether CountBound covers every layout the search can choose for this job: a fixed global batch (its steps
    and each replica's samples are known before the layout), no mixture of experts (expert layouts and all-to-alls),
    no pinned layout parts (training.parallelism, which may interleave the pipeline)."""
    return job.global_batch_samples is not None and not job.work.is_moe and job.parallelism is None


class ShapeWork(NamedTuple):
    """What a floor reads of one (count, tensor degree, pipeline depth) besides the GPU and the offer: the same for
    every GPU, so worked out once per search (CountBound.work)."""

    tp: int
    pp: int
    dp: int
    per_replica: int
    """The busiest replica's samples per step (training.layout_work)."""
    static: float
    """Least bytes per GPU before activations of any (recomputation, ZeRO stage) _fit_layout tries here."""
    one: float
    """Least activation bytes per micro-batch sample of any of them."""
    compute: float
    """FLOP per GPU of one step at η = 1, pipeline bubble included (÷ peak: seconds)."""
    unhidden: float
    """FLOP of the step's compute the gradient all-reduce cannot hide behind (all but the last micro-batch's
    backward); with a free micro-batch (no pipeline, none pinned) the replica's samples: see CountBound._floor."""
    micro: int
    """The micro-batch (a pipeline's 1, or the pinned one); 0 when memory chooses it."""
    fixed_intra: float
    """Tensor-parallel all-reduce bytes × 2(tp − 1)/tp per step (÷ link bytes/s: their bandwidth terms)."""
    sends: float
    """Pipeline sends per step."""
    send_bytes: float
    """Bytes of each pipeline send."""
    grad_bytes: float
    """Gradient bytes per GPU."""


class CountBound:
    """Floors of one boundable job (boundable), for every offer and count of a search: the shapes' work once per
    (count, degrees), the curve's best efficiency once per (GPU, efficiency, tensor degree, micro-batch)."""

    def __init__(self, job: TrainingJob, memory_of: MemoryOf = training_memory) -> None:
        assert boundable(job)
        self.job, self.memory_of = job, memory_of
        self.modes = recompute_options(job)
        self.batch = float(job.global_batch_samples or 0)
        self.steps = job.samples / self.batch
        self.flops = job.model_flops_per_sample
        self.unit_activation = job.work.tokens_per_sample * job.work.hidden * training_value_bytes(job.precision)
        self.grad_bytes = job.trainable_params * training_value_bytes(job.precision)
        self.works: dict[tuple[int, int, int], ShapeWork] = {}
        self.etas: dict[tuple[int, int], dict[int, float]] = {}
        self.held: list[object] = []
        """The GPUs and efficiencies keyed by id() in `etas`, held so their ids are not reused."""
        self.long: dict[tuple[float, tuple[int, ...]], bool] = {}
        self.shape_lists: dict[tuple[int, int, bool], tuple[tuple[int, ...], list[ShapeWork]]] = {}
        self.ones: dict[int, float] = {}
        self.statics: dict[tuple[str, int, int], float] = {}

    def hours_floors(self, gpu: GpuSpec, offer: PricedOffer, counts: Sequence[int], efficiency: Efficiency,
                     peak: float, intra: tuple[float, str]) -> list[float]:
        """Per count, a floor under the hours at any confidence ≥ 0.5 of any layout of that many GPUs of this offer
        that fits (0.0: no floor, as where context parallelism may be tried; inf: no layout fits). `peak`: the
        GPU's FLOP/s at the job's precision; `intra`: intra_node_gbs(gpu, offer)."""
        job = self.job
        o = offer.offer
        per_instance, network = o.gpus_per_instance, o.network_gbps
        capacity = usable_bytes(gpu)
        etas = self.etas.get((id(gpu), id(efficiency)))
        if etas is None:
            etas = self.etas[(id(gpu), id(efficiency))] = {}
            self.held += [gpu, efficiency]
        curve: Any = efficiency.curve
        link = intra[0] * 1e9
        net = network / 8.0 * 1e9 if network else 0.0  # bytes/s of one instance's network
        splits = splits_sequence(job.work)
        out = []
        steps = self.steps / 3600.0 * SLACK
        flops = self.flops
        latency = RING_STEP_LATENCY_S["network"]
        for count in counts:
            shapes = self._shapes(count, per_instance, bool(network))
            if splits and self._long(gpu, capacity, shapes[0]):
                out.append(0.0)
                continue
            best = math.inf
            for tp, pp, dp, per_replica, static, one, compute, unhidden, micro, fixed_intra, sends, send_bytes, \
                    grad_bytes in shapes[1]:
                if static + one > capacity * ROOM_SLACK:
                    continue  # no trial at these degrees fits: the search cannot choose them
                if not micro:
                    # accumulation × the mean micro-batch is the replica's samples whatever the micro-batch, which
                    # memory bounds (the least memory's micro-batches) as the replica's samples do; all but the
                    # last micro-batch's backward (2/3 of it) is not behind the all-reduce
                    room = int((capacity - static) / one * ROOM_SLACK) + 1 if one > 0 else 1 << 16
                    micro = min(room, per_replica)
                    unhidden = (per_replica - 2.0 / 3.0 * micro) * flops / tp
                # the curve rises with the micro-batch (its weight passes are shared by the micro-batch's samples:
                # planner/efficiency/train_curve.py weight_ratio): its value at the next power of two is at least
                # the value at the micro-batch
                key = tp << 20 | 1 << (micro - 1).bit_length()
                eta = etas.get(key)
                if eta is None:
                    eta = etas[key] = efficiency.value if curve is None else curve.efficiency(
                        job.work, gpu, job.precision, tp, 1 << (micro - 1).bit_length(), job.attention,
                        job.framework, 1)
                rate = peak * eta
                fixed = fixed_intra / link if tp > 1 else 0.0
                if pp > 1:
                    fixed += sends * (send_bytes * per_instance / net + latency)
                # model/interconnect.py group_collective_seconds's bandwidth term for an all-reduce (a ring inside
                # each instance, then across instances), without NCCL's latencies and bandwidth shares, which only
                # add (model/nccl.py: every algorithm and protocol reaches at most the ring's bandwidth)
                stride = tp * pp
                if dp > 1:
                    local = per_instance // stride
                    local = 1 if local < 1 else min(local, dp)
                    nodes = -(-dp // local)
                    gradient = 2.0 * (local - 1) / local * grad_bytes / link if local > 1 else 0.0
                    if nodes > 1 and net:
                        sharing = local * stride
                        sharing = min(sharing, per_instance)
                        gradient += 2.0 * (nodes - 1) / nodes * grad_bytes / local / (net / sharing)
                else:
                    gradient = 0.0
                comm = gradient + unhidden / rate
                if stride == 1 and dp > 1 and 1.5 * gradient < comm:
                    # ZeRO-3 (tried only without model parallelism) gathers and scatters 3/2 of an all-reduce's
                    # bytes behind each whole micro-batch
                    comm = 1.5 * gradient
                compute = compute / rate
                seconds = fixed + (max(comm, compute))
                best = min(best, seconds)
            out.append(steps * best)
        return out

    def _long(self, gpu: GpuSpec, capacity: float, degrees: tuple[int, ...]) -> bool:
        """long_sequence, once per (memory size, tensor degrees)."""
        key = (capacity, degrees)
        found = self.long.get(key)
        if found is None:
            found = self.long[key] = long_sequence(self.job, gpu, list(degrees), self.memory_of)
        return found

    def _shapes(self, count: int, per_instance: int, networked: bool) -> tuple[tuple[int, ...], list[ShapeWork]]:
        """The tensor degrees of the instance at `count` (_tensor_degrees) and every (tensor, pipeline) degree
        candidate_layouts can try (without pins, experts or context ranks): data parallel, each tensor degree
        inside the instance, and across networked instances pipeline depths (powers of two up to the layers) at
        the widest tensor degree; once per (count, GPUs per instance, networked)."""
        key = (count, per_instance, networked)
        found = self.shape_lists.get(key)
        if found is not None:
            return found
        degrees = [t for t in (2, 4, 8, 16) if t <= per_instance and count % t == 0
                   and self.job.work.hidden % t == 0] if self.job.work.family in ("decoder", "encoder") else []
        shapes = [self.work(count, 1, 1), *(self.work(count, tp, 1) for tp in degrees)]
        if count > per_instance and networked:
            tp, pp = (degrees[-1] if degrees else 1), 2
            while tp * pp <= count and pp <= self.job.work.layers:
                if count % (tp * pp) == 0:
                    shapes.append(self.work(count, tp, pp))
                pp *= 2
        found = self.shape_lists[key] = (tuple(degrees), shapes)
        return found

    def work(self, count: int, tp: int, pp: int) -> ShapeWork:
        """The ShapeWork of (count, tp, pp), once (plans/training.py layout_work and step_comm, each term at its
        least: no recomputation FLOP, no NCCL latency)."""
        key = (count, tp, pp)
        found = self.works.get(key)
        if found is not None:
            return found
        job, memory_of = self.job, self.memory_of
        dp = count // (tp * pp)
        per_replica = math.ceil(self.batch / dp - 1e-9)
        sharding = "none" if dp <= 1 else "zero3" if tp * pp == 1 else "zero1"
        # training_memory reads the tensor and pipeline degrees through their product for the static bytes, and the
        # tensor degree alone for the activations; the data ranks only through the ZeRO shards
        split = tp * pp
        static = self.statics.get((sharding, dp, split))
        if static is None:
            static = self.statics[(sharding, dp, split)] = memory_of(job, 0, self.modes[0], sharding, dp, tp, pp, 1,
                                                                     1).total
        one = self.ones.get(tp)
        if one is None:
            one = self.ones[tp] = min(memory_of(job, 1, mode, "none", 1, tp, 1, 1, 1).activations for mode in self.modes)
        pinned = job.micro_batch
        if pp > 1 or pinned is not None:
            micro = pinned if pinned is not None else 1  # _fit_layout: a pipeline runs micro-batches of one
            accumulation = max(1, math.ceil(per_replica / micro))
            size = per_replica / accumulation
            slots = accumulation + (pp - 1)  # no virtual stages: nothing is pinned
            micro_flops = size * self.flops / (tp * pp)
            if pp > 1:
                micro_flops *= stage_imbalance(job.work, pp, job.pipeline_split)
            compute, unhidden = slots * micro_flops, (slots - 2.0 / 3.0) * micro_flops
            samples = slots * size
        else:
            micro, size, accumulation = 0, 0.0, 1
            compute, unhidden = per_replica * self.flops / tp, 0.0
            # the all-reduces' bandwidth terms are linear in the bytes: `accumulation` slots of size/accumulation
            # move what one slot of the replica's samples moves
            samples = float(per_replica)
        fixed_intra = TP_ALLREDUCES_PER_LAYER * (job.work.layers / pp) * 2.0 * (tp - 1) / tp \
            * samples * self.unit_activation if tp > 1 else 0.0
        found = self.works[key] = ShapeWork(
            tp, pp, dp, per_replica, static, one, compute, unhidden, micro, fixed_intra,
            (accumulation + pp - 1) * 2.0 if pp > 1 else 0.0, size * self.unit_activation / tp,
            self.grad_bytes / (tp * pp))
        return found

