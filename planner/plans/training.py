"""Training plans: the parallel layout (data, tensor inside a node, pipeline across nodes, experts, context for long
sequences, ZeRO/FSDP sharding, recomputation) that fits memory and runs fastest, its step time (compute at the
efficiency curve, the pipeline bubble, tensor-parallel all-reduces, all-to-alls, the context-parallel ring overlapped
with attention, data-parallel all-reduce overlapped with backward), hours and GPU-hours."""
from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Callable, Sequence
from planner.dataclass import dataclass
from typing import Any, NamedTuple

from planner.catalog.load import Catalog, PricedOffer
from planner.dataclass import build, evolve, evolve_with
from planner.efficiency.local_device import LOCAL_PROVIDER
from planner.efficiency.origin import Efficiency, interval
from planner.efficiency.train_curve import efficiency_cap
from planner.model.bill import BillRates
from planner.model.costing import run_costs_usd
from planner.model.decode_ceiling import copy_bytes_per_s
from planner.model.forward_time import kernels_per_forward, training_mode
from planner.model.grad_sync import gradient_messages
from planner.model.interconnect import (
    PlanLinks,
    group_collective_seconds,
    intra_node_gbs,
    pipeline_send_seconds,
    ring_allreduce_seconds,
)
from planner.model.memory import usable_bytes
from planner.model.precision import alternative_precision, master_bytes, peak_flops, training_value_bytes
from planner.model.startup import startup_seconds
from planner.model.workload import (
    NF4_BYTES,
    OPTIMIZER_STATE_BYTES,
    TrainingMemory,
    Workload,
    lora_params,
)
from planner.plans import verdict
from planner.plans.context_parallel import context_degrees, context_problem, ring_comm_and_share, splits_sequence
from planner.plans.expert_parallel import (
    DEFAULT_CAPACITY_FACTOR,
    all_to_all_step_seconds,
    expert_degrees,
    imbalance_factor,
    routed_share,
)
from planner.plans.verdict import Kind, Verdict
from planner.schema.catalog import CommittedPrice, GpuSpec
from planner.schema.profile import OWNED_PROVIDER, Parallelism, Training

ZERO3_PASSES = 3
"""ZeRO-3/FSDP moves ≈1.5× the all-reduce volume: weights all-gathered forward and backward, gradients
reduce-scattered (Rajbhandari et al. 2020, §7) — three collectives per layer, each moving (n−1)/n of the layer's
bytes where an all-reduce moves 2(n−1)/n."""
STARTED_PROVIDERS = frozenset({OWNED_PROVIDER, LOCAL_PROVIDER})
"""Providers whose machines run already: the user's own (constraints.owned) and this machine. Their plans' start-up
has no instance to launch (model/startup.py)."""
_tuple_new = tuple.__new__
"""A named tuple made without its class's Python-level __new__ (~0.3 µs less; a search makes thousands)."""
BACKWARD_SHARE = 2.0 / 3.0
"""Backward is 2/3 of a training step's FLOP (docs/internals.md, 'Training FLOP per token': forward is 1/3);
gradient all-reduce overlaps it."""
TP_ALLREDUCES_PER_LAYER = 4
"""Megatron tensor parallel: 2 all-reduces of the layer's activations in forward and 2 in backward per transformer
layer (Shoeybi et al. 2019, §3, Fig. 4); full recomputation repeats the 2 forward ones."""


@dataclass(frozen=True)
class TrainingJob:
    """What the profile asks to train, reduced to numbers."""

    work: Workload
    samples: float
    """Samples (sequences, images) to process, all epochs together."""
    global_batch_samples: float | None
    micro_batch: int | None
    precision: str
    optimizer: str
    method: str
    lora_rank: int
    recompute: str
    """auto | none | selective | full."""
    attention: str = "flash"
    """Attention kernel of transformer work: flash or standard (traincurve.traffic_of)."""
    capacity_factor: float = DEFAULT_CAPACITY_FACTOR
    """Mixture of experts: tokens the busiest expert-parallel rank processes over the mean."""
    framework: str | None = "fsdp"
    """Training stack (its fitted efficiency factor, train_curve.stack_factor); None: not stated (no factor)."""
    parallelism: Parallelism | None = None
    """Pinned layout parts (training.parallelism); None: everything searched."""
    attention_stated: bool = True
    """False for a published run that does not say its kernel: `attention` is then the curve fit's convention
    (standard), and the memory model keeps no scores for it — the run fit in memory as published, and counting
    scores it may not have kept would force recomputation it did not use (modern stacks run flash kernels)."""
    launch_floor_s: float = 0.0
    """Host seconds per eager-graph operator of the job's stack (catalog/priors.yaml launch_floors of
    training_mode(framework); 0: none): a step takes at least the host time of its forward operators
    (LayoutWork.host_s), however small its work."""
    from_pretrained: bool = False
    """Whether the run reads pretrained weights before its first step (training.from_pretrained; adapters always
    do: starting_weight_bytes)."""
    pipeline_split: str = "even"
    """How the layers split over pipeline stages: even (the transformer layers evenly, the output layer on the last
    stage besides its share: Megatron-Core's default, account_for_embedding/loss_in_pipeline_split False) or
    ends-counted (embedding and loss counted as one layer each); a published run's recipe may state the latter
    (stage_imbalance)."""

    @property
    def tokens(self) -> float:
        """Tokens processed, all epochs."""
        return self.samples * self.work.tokens_per_sample

    @property
    def trainable_params(self) -> float:
        """Parameters that get gradients and optimizer state."""
        return self.work.params if self.method == "full" else lora_params(self.work, self.lora_rank)

    @property
    def model_flops_per_sample(self) -> float:
        """Model FLOP per sample: forward + backward; adapters skip the frozen weights' gradients (2× forward)."""
        return (3.0 if self.method == "full" else 2.0) * self.work.forward_flops_per_sample

    @property
    def model_flops(self) -> float:
        """Model FLOP of the whole job."""
        return self.samples * self.model_flops_per_sample


def launch_floor_seconds(catalog: Catalog, framework: str | None) -> float:
    """Host seconds per forward operator of a training stack: the catalog's launch floor of its execution mode
    (catalog/priors.yaml launch_floors, fitted on forward passes; forward_time.training_mode), 0 without one."""
    mode = training_mode(framework)
    floor = next((f for f in catalog.launch_floors if f.mode == mode), None)
    return floor.microseconds * 1e-6 if floor is not None else 0.0


def training_job(work: Workload, training: Training, launch_floor_s: float = 0.0) -> TrainingJob:
    """The job of a profile's training section (`launch_floor_s`: TrainingJob.launch_floor_s)."""
    dataset = training.dataset
    if dataset.tokens is not None:
        samples = dataset.tokens / work.tokens_per_sample
    else:
        assert dataset.samples is not None  # the Dataset schema requires tokens or samples
        samples = dataset.samples
    batch = training.batch
    global_samples = None
    if batch is not None:
        if batch.global_tokens is not None:
            # whole sequences: a batch of tokens is a number of samples of tokens_per_sample each
            global_samples = float(max(1, round(batch.global_tokens / work.tokens_per_sample)))
        elif batch.global_samples is not None:
            global_samples = batch.global_samples
    pins = training.parallelism
    recompute = pins.recompute if pins is not None and pins.recompute is not None else training.recompute
    return TrainingJob(work, samples * training.epochs, global_samples, batch.micro_batch if batch else None,
                       training.precision, training.optimizer, training.method, training.lora_rank,
                       recompute, training.attention, training.capacity_factor,
                       framework=training.framework, parallelism=pins, launch_floor_s=launch_floor_s,
                       from_pretrained=bool(training.from_pretrained))


def final_weights_bytes(job: TrainingJob) -> float:
    """The weights shipped at the end, in 16 bits: the whole model, or the adapters of LoRA/QLoRA."""
    return job.trainable_params * 2.0


RECOMPUTE_MODES = ("none", "selective", "full")
"""Recomputation, least first: none keeps every activation; selective recomputes the attention core (scores,
softmax, dropout) and keeps the rest (Korthikanti et al. 2022, §5); full keeps each layer's input and reruns it."""
RECOMPUTE_AUTO = ("none", "full")
"""What `recompute: auto` tries, in order, with flash attention (the default, `training.attention: flash`): a flash
kernel never materialises the s×s attention scores, so selective recomputation keeps exactly what none keeps and
only adds the attention core's forward FLOP; it is planned when pinned."""
RECOMPUTE_AUTO_STANDARD = ("none", "selective", "full")
"""What `recompute: auto` tries with a standard attention kernel, whose scores (5·a·s² bytes per layer) selective
recomputation drops at the cost of the attention core's forward (Korthikanti et al. 2022, §5)."""


def recompute_options(job: TrainingJob) -> tuple[str, ...]:
    """The recomputation modes a layout search tries, least first: the pinned one, or the auto order."""
    if job.recompute != "auto":
        return (job.recompute,)
    return RECOMPUTE_AUTO_STANDARD if keeps_scores(job) else RECOMPUTE_AUTO


def keeps_scores(job: TrainingJob) -> bool:
    """Whether the job's attention kernel materialises the s×s scores: a stated standard kernel."""
    return job.attention != "flash" and job.attention_stated


ZERO_SHARDING = ("none", "zero1", "zero2", "zero3")
"""Sharding by ZeRO stage 0–3 (Rajbhandari et al. 2020): optimizer state, + gradients, + weights (FSDP)."""


def recompute_mode(recompute: bool | str) -> str:
    """none | selective | full (True means full, False none: the older boolean spelling)."""
    if isinstance(recompute, bool):
        return "full" if recompute else "none"
    return recompute


def attention_score_bytes(job: TrainingJob, mode: str) -> float:
    """16-bit bytes per sample of the s×s attention scores kept for backward (Korthikanti et al. 2022, §4.1 and §5):
    none with a standard kernel keeps every layer's 5·a·s²; selective and full recompute them, so only the layer
    being rebuilt holds its scores; a flash kernel never materialises them."""
    scores = job.work.attention_score_bytes_per_sample_16bit
    if not keeps_scores(job) or scores <= 0.0:
        return 0.0
    return scores if mode == "none" else scores / max(1, job.work.layers)


def starting_weight_bytes(job: TrainingJob) -> float:
    """Bytes of the pretrained weights a run reads before its first step: the whole model at the training
    precision's value bytes (a QLoRA base is read so and quantized as it loads: bitsandbytes' 4-bit loading), for an
    adapter's run and a full one that says it starts from pretrained weights (training.from_pretrained); else 0."""
    starts = job.method != "full" or job.from_pretrained
    return job.work.params * training_value_bytes(job.precision) if starts else 0.0


def restart_weight_bytes(job: TrainingJob) -> float:
    """Bytes of pretrained weights a restarted run reads again besides its checkpoint: an adapter's frozen base
    (its checkpoint holds the adapters only, plans/spot.checkpoint_bytes); 0 for full training, whose checkpoint
    holds every weight."""
    return 0.0 if job.method == "full" else starting_weight_bytes(job)


def frozen_base(job: TrainingJob, model_split: int, ep: int) -> tuple[float, float]:
    """An adapter's frozen base weights per GPU, (dense part, routed experts' part), split over `model_split`
    (tensor × pipeline) ranks and the routed experts `ep` ways more; (0, 0) for full training."""
    if job.method == "full":
        return 0.0, 0.0
    routed = routed_share(job.work)
    return (job.work.params * (1.0 - routed) / model_split, job.work.params * routed / (model_split * max(1, ep)))


def frozen_value_bytes(job: TrainingJob, value_bytes: float) -> float:
    """Bytes per frozen base weight: NF4 under QLoRA, else the training precision's value bytes."""
    return NF4_BYTES if job.method == "qlora" else value_bytes


QLORA_DEQUANTIZATIONS = {"none": 2, "selective": 2, "full": 3}
"""Times per micro-batch each QLoRA 4-bit linear layer dequantizes its NF4 weight, by recomputation mode: bitsandbytes'
MatMul4Bit (bitsandbytes/autograd/_functions.py @012c660) runs `F.dequantize_4bit(B, quant_state).to(A.dtype)` then
`torch.nn.functional.linear` in forward, and `torch.matmul(grad_output, F.dequantize_4bit(B, ctx.state)...)` in
backward for the input gradient; full recomputation reruns forward, one more. Selective recomputation reruns only the
attention core, which has no linear layer."""


def dequant_bytes(job: TrainingJob, recompute: str, model_split: int, ep: int) -> float:
    """Bytes one GPU's dequantization kernels move per micro-batch under QLoRA (0 for LoRA and full training): each
    dequantization (QLORA_DEQUANTIZATIONS) reads the frozen base's NF4 weights on this GPU (frozen_base over
    `model_split` = tensor × pipeline ranks, the routed experts `ep` ways more; ZeRO-3 gathers the whole layer
    before it dequantizes it) and writes them at the training precision's value bytes (the compute dtype)."""
    if job.method != "qlora":
        return 0.0
    return QLORA_DEQUANTIZATIONS[recompute] * sum(frozen_base(job, model_split, ep)) \
        * (NF4_BYTES + training_value_bytes(job.precision))


def optimizer_step_bytes(job: TrainingJob, layout: Layout) -> float:
    """Bytes one GPU's optimizer update moves per step: for each trainable parameter it updates, the gradient read,
    the fp32 master weight and the optimizer state (OPTIMIZER_STATE_BYTES: Adam's two moments) each read and
    written, the training-precision weight written (and read too without a master copy: training in fp32, where the
    weight is the master). Elementwise, at copy bandwidth like a fused multi-tensor Adam (torch.optim.AdamW's
    foreach/fused kernels, apex FusedAdam): no matmul, so the efficiency curve does not scale it. It runs after the
    step's backward and its gradient reduction, on the parameters this GPU holds: split over tensor × pipeline ranks
    (the routed experts over the expert ranks too) and, from ZeRO-1 on, sharded over the data(·context)-parallel
    group, as training_memory shards the optimizer state."""
    return _optimizer_bytes(_optimizer_bytes_per_param(job), job.trainable_params,
                            routed_share(job.work) if job.method == "full" else 0.0, layout)


def _optimizer_bytes_per_param(job: TrainingJob) -> float:
    """optimizer_step_bytes' bytes per trainable parameter."""
    value_bytes = training_value_bytes(job.precision)
    master = master_bytes(job.precision)
    return value_bytes + 2.0 * (master + OPTIMIZER_STATE_BYTES[job.optimizer]) + value_bytes \
        + (0.0 if master else value_bytes)


def _optimizer_bytes(per_param: float, trainable: float, routed: float, layout: Layout) -> float:
    """optimizer_step_bytes from its bytes per parameter, the job's trainable parameters and their routed share."""
    model_split, ep, cp = layout.tensor * layout.pipeline, max(1, layout.expert), max(1, layout.context)
    dense, experts = trainable * (1.0 - routed) / model_split, trainable * routed / (model_split * ep)
    if layout.sharding in ("zero1", "zero2", "zero3"):
        dense, experts = dense / (max(1, layout.data) * cp), experts / (max(1, layout.data // ep) * cp)
    return (dense + experts) * per_param


def dequant_bandwidth(gpu: GpuSpec) -> float:
    """Bytes/s a dequantization kernel streams at on `gpu`: it reads one array and writes another, as a copy kernel
    does, so the GPU's copy bandwidth (datasheet × GpuSpec.bandwidth_ceiling.share: model/decode_ceiling.py); the
    datasheet bandwidth when the catalog measures no GPU (no ceiling: the time is then a lower bound)."""
    found = copy_bytes_per_s(gpu)
    return found if found is not None else gpu.memory_bandwidth_gbs * 1e9


_NOTHING_FROZEN = (0.0, 0.0)
"""frozen_base of full training."""
_new = object.__new__
MemoryTerms = tuple[float, float, float, float, float, dict[str, float], dict[tuple[int, int], tuple[float, float]]]
"""What training_memory reads of the job alone (memory_terms): the same at every layout."""


def memory_terms(job: TrainingJob) -> MemoryTerms:
    """training_memory's job-only quantities, in its own expressions: the value bytes, the routed experts' share of
    the trainable parameters, the trainable parameters, the bytes of a frozen weight, the optimizer state bytes per
    trainable parameter, one sample's activation bytes per recomputation mode and a dict for frozen_base by (tensor ×
    pipeline ranks, expert ranks), filled as asked (LayoutMemo works them out once for the ~1,500 layouts a search
    fits)."""
    value_bytes = training_value_bytes(job.precision)
    routed = routed_share(job.work) if job.method == "full" else 0.0
    state_bytes = OPTIMIZER_STATE_BYTES[job.optimizer] + master_bytes(job.precision)
    per_sample = {}
    for mode in ("none", "selective", "full"):
        one = job.work.recompute_activation_bytes_per_sample_16bit if mode == "full" \
            else job.work.activation_bytes_per_sample_16bit
        one += attention_score_bytes(job, mode)
        per_sample[mode] = one
    return value_bytes, routed, job.trainable_params, frozen_value_bytes(job, value_bytes), state_bytes, per_sample, {}


def training_memory(job: TrainingJob, micro_batch: int, recompute: bool | str, sharding: str, dp: int,
                    tp: int = 1, pp: int = 1, ep: int = 1, cp: int = 1,
                    terms: MemoryTerms | None = None) -> TrainingMemory:
    """Bytes per GPU (docs/internals.md, 'Memory'): mixed-precision weights, gradients, fp32 master + optimizer state
    split over tp·pp model-parallel ranks and sharded per ZeRO stage over `dp` ranks, and activations of one
    micro-batch: s·b·h·(34 + 5·a·s/h) per layer without recomputation (the scores term only with a standard
    attention kernel), the scores of one layer with selective, 2·s·b·h per layer plus one layer's working set with
    full. Tensor parallel with sequence parallelism divides activations by tp; a 1F1B pipeline's first stage
    keeps pp micro-batches of L/pp layers, i.e. one micro-batch's worth of all layers (Korthikanti et al. 2022, §4).
    A mixture of experts' routed experts split ep-ways more, and their ZeRO shards span dp/ep ranks
    (plans/expert_parallel.py). Context parallelism keeps s/cp tokens of every sample per GPU, so 1/cp of the
    activations, and replicates the weights like data parallelism: ZeRO shards span the dp·cp ranks
    (plans/context_parallel.py). `terms`: memory_terms(job), when the caller keeps it."""
    value_bytes, routed, trainable_params, frozen_bytes, state_bytes, per_samples, frozens = \
        terms if terms is not None else memory_terms(job)
    # max(1, …) as conditionals: ~1,500 calls a search, six builtin calls each
    tp, pp, ep, cp = tp if tp > 1 else 1, pp if pp > 1 else 1, ep if ep > 1 else 1, cp if cp > 1 else 1
    model_split = tp * pp
    # (dense part, expert part) per GPU of each quantity; adapters are spread like the dense weights
    trainable = (trainable_params * (1.0 - routed) / model_split,
                 trainable_params * routed / (model_split * ep))
    frozen = _NOTHING_FROZEN if job.method == "full" else frozens.get((model_split, ep))
    if frozen is None:
        frozen = frozens[(model_split, ep)] = frozen_base(job, model_split, ep)
    # ZeRO shards over the data(·context)-parallel / expert-data-parallel group
    groups = ((dp if dp > 1 else 1) * cp, (dp // ep if dp // ep > 1 else 1) * cp)
    state = grads = weights = 0.0
    shards_state = sharding in ("zero1", "zero2", "zero3")
    shards_grads = shards_state and sharding != "zero1"
    shards_weights = sharding == "zero3"
    # a part with nothing trainable and nothing frozen (a dense model's experts) adds exact zeros to each sum (x + 0.0
    # is x): only the other is summed
    for part, still, n in zip(trainable, frozen, groups) if trainable[1] or frozen[1] else \
            ((trainable[0], frozen[0], groups[0]),):
        part_state, part_grads = part * state_bytes, part * value_bytes
        part_weights = part * value_bytes + still * frozen_bytes
        if shards_state:
            part_state /= n
        if shards_grads:
            part_grads /= n
        if shards_weights:
            part_weights /= n
        state, grads, weights = state + part_state, grads + part_grads, weights + part_weights
    mode = recompute if recompute.__class__ is str else recompute_mode(recompute)
    activations = per_samples[mode] * micro_batch * (value_bytes / 2.0) / (tp * cp)
    # TrainingMemory(weights, grads, state, activations) without the frozen __init__'s setattr per field (~3,000 a
    # search of a mixture of experts; dataclass.py does the same for plans)
    memory = _new(TrainingMemory)
    fields = memory.__dict__
    fields["weights"], fields["gradients"], fields["optimizer"], fields["activations"] = \
        weights, grads, state, activations
    return memory


MemoryOf = Callable[[TrainingJob, int, "bool | str", str, int, int, int, int, int], TrainingMemory]
"""training_memory's signature: how layouts get their memory (LayoutMemo passes a remembering one)."""
FitLayout = Callable[[int, int, tuple[str, ...], int, int], "Layout | None"]
"""_fit_layout of one job, GPU and count at (tensor, pipeline, ZeRO stages tried, expert, context): how
candidate_layouts fits its layouts (LayoutMemo passes a remembering one)."""


@dataclass(frozen=True)
class TrainingPlan:
    """One GPU type, offer and count, with its time, cost and whether it works."""

    gpu: str
    provider: str
    instance: str
    gpu_count: int
    instances: int
    sharding: str
    recompute: bool
    micro_batch: int
    grad_accumulation: int
    memory_per_gpu_bytes: float
    fits: bool
    step_time_s: float
    compute_time_s: float
    exposed_comm_time_s: float
    tokens_per_s: float
    samples_per_s: float
    mfu: float
    efficiency: Efficiency
    hours_p10: float
    hours_p50: float
    hours_p90: float
    gpu_hours: float
    usd_per_hour: float
    billing_seconds: float
    spot: bool
    cost_usd_p10: float
    cost_usd_p50: float
    cost_usd_p90: float
    verdicts: tuple[Verdict, ...]
    """Why the plan fails its constraints, as data (empty: it works)."""
    meets_deadline: bool = True
    within_budget: bool = True
    tensor: int = 1
    """Tensor-parallel ranks (inside one node)."""
    pipeline: int = 1
    """Pipeline stages (across nodes)."""
    bubble_fraction: float = 0.0
    """Share of the step the pipeline stands idle: (pp − 1) / (micro-batches + pp − 1)."""
    expert: int = 1
    """Expert-parallel ranks (out of the data-parallel ones; 1: every GPU holds every expert)."""
    context: int = 1
    """Context-parallel ranks splitting each sample's sequence (1: every GPU holds whole samples)."""
    price_as_of: dt.date | None = None
    """Date of the offer's price (None: no catalog offer, e.g. this machine)."""
    price_flags: tuple[str, ...] = ()
    """Doubts about the price (planner/catalog/trust.py); empty when trusted."""
    assumed_network_gbps: float | None = None
    """Gbit/s between instances this plan assumed because its offer states none (None: stated, or one instance)."""
    links: PlanLinks | None = None
    """The links the plan runs on (None: one GPU, or no catalog offer)."""
    discount_percent: float = 0.0
    """The user's discount with the provider (constraints.discounts), already in the cost."""
    commitment: CommittedPrice | None = None
    """The committed-term price the plan is priced at (constraints.commitment); None: on demand or spot. Its costs
    are then the whole term's: price × instances × max(job hours, term hours)."""
    storage_usd: float | None = None
    """Storage of data and checkpoints at P50 (planner/model/bill.py); None: price unknown."""
    egress_usd: float | None = None
    """Egress of the final weights (planner/model/bill.py); None: price unknown."""
    bill_notes: tuple[str, ...] = ()
    """What the storage and egress lines leave out, in words."""
    bill_rates: BillRates | None = None
    """The provider's storage and egress rates for the job the lines above come from (None: not priced), so the
    report can say what each line counts (planner/render/bill.py)."""
    recompute_mode: str = "none"
    """none | selective | full (`recompute` is true for the last two)."""
    pinned: tuple[str, ...] = ()
    """Which layout parts the profile pinned (training.parallelism keys)."""
    host_time_s: float = 0.0
    """The host's time to launch a step's forward operators (StepTerms.host_s): no step is shorter, at any
    efficiency."""
    dequant_time_s: float = 0.0
    """Seconds of a step QLoRA's NF4 dequantization kernels take at the GPU's copy bandwidth (StepTerms.dequant_s;
    0 for LoRA and full training): in step_time_s, neither compute nor communication, the same at any efficiency."""
    optimizer_time_s: float = 0.0
    """Seconds of a step the optimizer's update takes at the GPU's copy bandwidth (StepTerms.optimizer_s): in
    step_time_s, neither compute nor communication, the same at any efficiency."""
    memory_time_s: float = 0.0
    """Both together (StepTerms.memory_s): what the hours at any confidence add unscaled."""
    startup_s: float = 0.0
    """Seconds before the first step (planner/model/startup.py), in every one of the hours: instances starting, the
    process group and communicators set up."""

    @property
    def term_hours(self) -> float:
        """Hours of the committed term owed whether used or not (0: no commitment)."""
        return self.commitment.term_hours if self.commitment is not None else 0.0

    @property
    def commitment_usd(self) -> float | None:
        """What the committed term binds to: price × instances × term hours (None: no commitment)."""
        return self.usd_per_hour * self.instances * self.term_hours if self.commitment is not None else None

    @property
    def term_used(self) -> float | None:
        """Share of the committed term the job uses at P50 (above 1: it runs past the term; None: no commitment)."""
        return self.hours_p50 / self.term_hours if self.commitment is not None else None

    @property
    def zero(self) -> int:
        """ZeRO stage 0–3 of the sharding."""
        return ZERO_SHARDING.index(self.sharding)

    @property
    def data(self) -> int:
        """Data-parallel replicas."""
        return self.gpu_count // (self.tensor * self.pipeline * self.context)

    @property
    def reasons(self) -> tuple[str, ...]:
        """The verdicts in words."""
        return verdict.reasons(self.verdicts)

    @property
    def usable(self) -> bool:
        """Fits and runs on this offer (deadline and budget aside)."""
        return not self.verdicts or not any(v.intrinsic for v in self.verdicts)  # most plans have none

    @property
    def feasible(self) -> bool:
        """Fits, runs on this offer, and meets the deadline and budget."""
        return not self.verdicts

    @property
    def predicted(self) -> bool:
        """Whether its time, cost and layout figures are a prediction: not when its pinned degrees cannot run on its
        offer (PIN_UNWORKABLE) or no layout fits its memory (DOES_NOT_FIT), where they are _unfitted's stand-in
        layout's (new-user QA: they read like a slow plan's, 1,281 h and $89.74 at 55 % MFU for a 70B model on one
        12 GB GPU, with a whole bill), or the GPU lacks the job's precision (NO_PRECISION), where they are at its fp32
        peak (a V100 asked for bf16 read 'over budget ($31,547)': its fp16 run is several times cheaper)."""
        return not self.verdicts or not any(v.kind in (Kind.PIN_UNWORKABLE, Kind.DOES_NOT_FIT, Kind.NO_PRECISION)
                                            for v in self.verdicts)


@dataclass(frozen=True)
class Layout:
    """How a job is spread over its GPUs: count = data × tensor × pipeline × context; expert-parallel ranks come out
    of the data-parallel ones (expert divides data)."""

    data: int
    tensor: int
    pipeline: int
    sharding: str
    recompute: str
    """none | selective | full."""
    micro_batch: int
    memory: TrainingMemory
    expert: int = 1
    virtual: int = 1
    """Virtual pipeline stages per rank (interleaved 1F1B; 1: plain 1F1B)."""
    context: int = 1
    """Context-parallel ranks splitting each sample's sequence (plans/context_parallel.py)."""
    accumulation: int = 1
    """Micro-batches per step where no global batch sets them: a pipeline's (FitTrials.first_fit); with a global
    batch layout_work works them out from it."""

    @property
    def gpus(self) -> int:
        """GPUs the layout spans."""
        return self.data * self.tensor * self.pipeline * self.context


def _layout(data: int, tensor: int, pipeline: int, sharding: str, recompute: str, micro_batch: int,
            memory: TrainingMemory, expert: int, virtual: int, context: int, accumulation: int = 1) -> Layout:
    """Layout(...) without the frozen dataclass's per-field setattr (~5 µs less: a search makes hundreds)."""
    layout: Layout = _new(Layout)
    layout.__dict__.update(data=data, tensor=tensor, pipeline=pipeline, sharding=sharding, recompute=recompute,
                           micro_batch=micro_batch, memory=memory, expert=expert, virtual=virtual, context=context,
                           accumulation=accumulation)
    return layout


class StepTerms(NamedTuple):
    """A layout's step time, split by how it depends on the compute efficiency η:
    step = compute/η + fixed_comm + memory + repeats · max(0, overlap_comm − window/η).

    A named tuple, not a frozen dataclass: a search builds one per (plan, layout), ~12,000, and a frozen
    dataclass's __init__ sets each field through object.__setattr__ (~1 µs more each)."""

    compute_s: float
    """Compute seconds of one step at η = 1, pipeline bubble included."""
    fixed_comm_s: float
    """Communication nothing hides: tensor-parallel all-reduces and pipeline sends."""
    overlap_comm_s: float
    """Gradient all-reduce (or ZeRO-3 gather/scatter) that runs behind compute."""
    window_s: float
    """Compute seconds at η = 1 it hides behind (backward of the last micro-batch; a whole micro-batch for ZeRO-3)."""
    repeats: int
    """How often per step the overlapped communication happens."""
    accumulation: int
    samples_per_step: float
    bubble_fraction: float
    ring_comm_s: float = 0.0
    """Context-parallel K,V sends of one step, each behind the attention of the block before it."""
    ring_window_s: float = 0.0
    """Attention compute seconds at η = 1 the ring sends hide behind (equal blocks: the sum of the per-send
    max(0, send − block/η) is max(0, ring_comm − ring_window/η))."""
    host_s: float = 0.0
    """The host's time to launch a step's forward operators (LayoutWork.host_s): the step takes at least this."""
    memory_s: float = 0.0
    """Memory-bound kernels outside the efficiency curve, at the GPU's copy bandwidth, whatever η: QLoRA's NF4
    dequantizations of one step (slots × LayoutWork.dequant_bytes / dequant_bandwidth; 0 otherwise) and the
    optimizer's update (optimizer_s). They run on the GPU's stream between (or after) the matmuls, so no
    communication window hides them and the curve does not scale them."""
    optimizer_s: float = 0.0
    """The optimizer's update of one step (LayoutWork.optimizer_bytes / dequant_bandwidth), part of memory_s."""

    @property
    def dequant_s(self) -> float:
        """QLoRA's dequantizations of one step: memory_s less the optimizer's update (an exact 0.0 without QLoRA)."""
        return self.memory_s - self.optimizer_s

    def device_seconds(self, eta: float) -> float:
        """The GPUs' step time at compute efficiency eta: compute and the communication it does not hide."""
        # max(0, x) as conditionals: the search asks ~18,000 times
        exposed = self.overlap_comm_s - self.window_s / eta
        ring = self.ring_comm_s - self.ring_window_s / eta
        return self.compute_s / eta + self.fixed_comm_s + self.memory_s \
            + self.repeats * (exposed if exposed > 0.0 else 0.0) + (ring if ring > 0.0 else 0.0)

    def seconds(self, eta: float) -> float:
        """Step time at compute efficiency eta: the GPUs' or the host's, whichever is longer (the host launches
        kernels ahead of the GPUs, asynchronously, so the slower of the two sets the pace: forward_time.py)."""
        device = self.device_seconds(eta)
        return device if device >= self.host_s else self.host_s

    def exposed_comm_s(self, eta: float) -> float:
        """Communication not hidden behind compute at eta (the memory-bound kernels are not communication)."""
        return self.device_seconds(eta) - self.compute_s / eta - self.memory_s


def _fit_layout(job: TrainingJob, gpu: GpuSpec, count: int, tp: int, pp: int,
                stages: tuple[str, ...], ep: int = 1, memory_of: MemoryOf = training_memory,
                cp: int = 1) -> Layout | None:
    """The first (least recomputation first, lowest ZeRO stage first) layout at this tp × pp that fits, with the
    largest power-of-two micro-batch that fits (1 in a pipeline, whose bubble shrinks with more micro-batches:
    Narayanan et al. 2021, §2.2), or the pinned one. A pinned recomputation or ZeRO stage is the only one tried."""
    return fit_trials(job, count, tp, pp, stages, ep, cp).first_fit(usable_bytes(gpu), memory_of)


class FitTrials:
    """What _fit_layout tries at one count and tp × pp (× ep × cp), in order, before it reads the GPU: each
    (recomputation, ZeRO stage) with its memory at micro-batch 0 and one micro-batch's activations, worked out when
    first reached. None of it depends on the GPU, so GPUs of every memory size share them (LayoutMemo.fit_layout),
    and the layouts found; only the capacity test and the micro-batch read the GPU's usable memory."""

    __slots__ = ("job", "tp", "pp", "ep", "cp", "dp", "per_replica", "dataset_share", "virtual", "configs", "sizes",
                 "found")

    def __init__(self, job: TrainingJob, count: int, tp: int, pp: int, stages: tuple[str, ...], ep: int,
                 cp: int) -> None:
        self.job, self.tp, self.pp, self.ep, self.cp = job, tp, pp, ep, cp
        self.dp = dp = count // (tp * pp * cp)
        stages = _pinned_stages(job, stages)
        self.per_replica = None if job.global_batch_samples is None \
            else max(1, math.ceil(job.global_batch_samples / dp - 1e-9))
        """The busiest replica's samples per step (layout_work): ⌈B/dp⌉."""
        self.dataset_share = max(1, math.ceil(job.samples / dp - 1e-9))
        """Each replica's share of the whole dataset, ⌈samples/dp⌉: the most a micro-batch can hold."""
        self.virtual = virtual_stages(job, pp)
        pinned_zero = job.parallelism is not None and job.parallelism.zero is not None
        # one replica (and no context ranks to shard over): every stage is none
        self.configs = tuple((recompute, sharding) for recompute in recompute_options(job)
                             for sharding in (stages if dp * cp > 1 or pinned_zero else ("none",)))
        self.sizes: list[tuple[float, float] | None] = [None] * len(self.configs)
        """Per trial: bytes at micro-batch 0 and of one micro-batch's activations."""
        self.found: dict[tuple[int, int, int], Layout] = {}
        """The layout of (trial, micro-batch), shared by every capacity that picks it."""

    def first_fit(self, capacity: float, memory_of: MemoryOf) -> Layout | None:
        """The first trial that fits `capacity` bytes, at the largest power-of-two micro-batch that fits (or the
        pinned one; 1 in a pipeline); None: none fits. `memory_of`: the one the trials were made with (not held:
        a LayoutMemo's bound method would make the memo a reference cycle, freed only by the collector)."""
        job, sizes = self.job, self.sizes
        dp, tp, pp, ep, cp = self.dp, self.tp, self.pp, self.ep, self.cp
        mode: bool | str | None = None  # the trial before's recomputation and its sample's activations
        sample = 0.0
        statics: dict[str, float] = {}  # each ZeRO stage's bytes at micro-batch 0, by the trials so far
        for i, (recompute, sharding) in enumerate(self.configs):
            size = sizes[i]
            if size is None:
                # at micro-batch 0 nothing reads the recomputation (training_memory: no activations), and a sample's
                # activations read the recomputation, not the ZeRO stage: the trials share both
                static = statics.get(sharding)
                if static is None:
                    static = memory_of(job, 0, recompute, sharding, dp, tp, pp, ep, cp).total
                one = sample if recompute == mode else \
                    memory_of(job, 1, recompute, sharding, dp, tp, pp, ep, cp).activations
                size = sizes[i] = (static, one)
            total, one = size
            statics[sharding] = total
            mode, sample = recompute, one
            if total + one > capacity:
                continue
            held = 1  # the layout's own accumulation (Layout.accumulation): a pipeline's without a global batch
            if job.micro_batch is not None or pp > 1:
                micro = job.micro_batch if job.micro_batch is not None else 1
                if pp > 1 and self.per_replica is None:
                    # no global batch: each GPU of a pipeline replica takes per step the samples its memory holds
                    # at once, as a data-parallel GPU does with its largest micro-batch. 1F1B's first stage keeps pp
                    # micro-batches of its L/pp layers (training_memory: one micro-batch's worth of all layers), so
                    # `fit` such micro-batches' room holds fit × pp samples of a stage's layers: the replica's pp
                    # GPUs take fit × pp samples a step (a power of two, at most its share of the dataset), in
                    # micro-batches of `micro`, and the bubble is (pp − 1) of that many slots, not of one (new-user
                    # QA round 20: 7B on 16 L40S at pipeline 2 and one micro-batch a step planned 70 h against
                    # 8 GPUs' 19.7 h)
                    fit = int((capacity - total) // one) if one > 0 else 1 << 16
                    samples = 1 << int(math.log2(max(1, min(fit * pp, 1 << 16, self.dataset_share))))
                    held = max(1, samples // micro)
            else:
                fit = int((capacity - total) // one) if one > 0 else 1 << 16
                per_replica = self.per_replica
                if per_replica is None:  # samples per step grow with the replicas: the largest power of two,
                    # never more than the replica's share of the whole dataset (a step cannot take samples it lacks)
                    micro = 1 << int(math.log2(max(1, min(fit, 1 << 16, self.dataset_share))))
                else:
                    # a fixed global batch: the busiest replica's ⌈B/dp⌉ samples in as few micro-batches as memory
                    # holds, balanced (171 samples with room for 128 run as 2 of 86, not 128 + 43)
                    accumulation = -(-per_replica // max(1, min(fit, per_replica)))
                    micro = -(-per_replica // accumulation)
            layout = self.found.get((i, micro, held))
            if layout is None:
                memory = memory_of(job, micro, recompute, sharding, dp, tp, pp, ep, cp)
                if memory.total > capacity:
                    continue
                layout = self.found[(i, micro, held)] = _layout(dp, tp, pp, sharding, recompute, micro, memory, ep,
                                                                self.virtual, cp, held)
            elif layout.memory.total > capacity:
                continue
            return layout
        return None


def fit_trials(job: TrainingJob, count: int, tp: int, pp: int, stages: tuple[str, ...], ep: int = 1,
               cp: int = 1) -> FitTrials:
    """The (recomputation, ZeRO stage) trials of _fit_layout at this count and degrees."""
    return FitTrials(job, count, tp, pp, stages, ep, cp)


def virtual_stages(job: TrainingJob, pp: int) -> int:
    """Interleaving of a pipeline: the pinned virtual stages when they divide each stage's layers, else 1."""
    pins = job.parallelism
    if pp <= 1 or pins is None or not pins.virtual:
        return 1
    return pins.virtual if (job.work.layers // pp) % pins.virtual == 0 else 1


def _pinned_stages(job: TrainingJob, stages: tuple[str, ...]) -> tuple[str, ...]:
    pins = job.parallelism
    return (ZERO_SHARDING[pins.zero],) if pins is not None and pins.zero is not None else stages


def tensor_splits(work: Workload, degree: int) -> bool:
    """Whether tensor parallelism of `degree` splits the model's matmuls evenly: the degree divides the hidden size
    and the attention heads (each rank computes whole heads; Megatron-LM and vLLM refuse other degrees)."""
    return work.hidden % degree == 0 and (work.attention_heads == 0 or work.attention_heads % degree == 0)


def _tensor_degrees(job: TrainingJob, offer: PricedOffer, count: int) -> list[int]:
    """Tensor-parallel degrees a Megatron user would try: powers of two inside one instance that divide the
    hidden size, the attention heads (tensor_splits) and the GPU count (transformers only). Across instances a
    degree must also divide the GPUs per instance, so that no group straddles two machines (2 on a 3-GPU machine
    would put every other group's all-reduces on the network)."""
    if job.work.family not in ("decoder", "encoder"):
        return []
    per_instance = offer.offer.gpus_per_instance
    return [t for t in (2, 4, 8, 16) if t <= per_instance and count % t == 0 and tensor_splits(job.work, t)
            and (count <= per_instance or per_instance % t == 0)]


def candidate_layouts(job: TrainingJob, gpu: GpuSpec, offer: PricedOffer, count: int,
                      memory_of: MemoryOf = training_memory, fit: FitLayout | None = None) -> list[Layout]:
    """The layouts worth comparing: data parallel with ZeRO-0…3/FSDP; each tensor-parallel degree inside a node
    with a distributed (ZeRO-1) optimizer; across networked nodes every pipeline depth (powers of two up to the
    layers) at no and at each tensor degree (Megatron-LM's rule: tensor inside the node, pipeline across); and, when
    one sample's activations outgrow a GPU, context parallelism (_context_layouts). Every degree that fits, not the
    least: over a slow network more model parallelism shrinks the data-parallel gradient all-reduce (each GPU holds
    1/(tp·pp) of the gradients) by more than its bubble and sends cost (new-user QA: 13B on 8 single-GPU instances
    at 10 Gb/s, pipeline 8 at 2.5 h against the least that fits, pipeline 2, at 5.0 h), so the least is not always
    the fastest and the free search must see every layout a pin could ask for (tests/test_layout_choice.py). `fit`:
    _fit_layout at (tp, pp, stages, ep, cp) for this job, GPU and count (LayoutMemo passes a remembering one)."""
    if fit is None:
        def fit(tp: int, pp: int, stages: tuple[str, ...], ep: int, cp: int) -> Layout | None:
            return _fit_layout(job, gpu, count, tp, pp, stages, ep, memory_of, cp)
    pins = job.parallelism
    if pins is not None and (pins.data, pins.tensor, pins.pipeline, pins.context, pins.expert) != (None,) * 5:
        return _pinned_layouts(job, gpu, offer, count, pins, memory_of, fit)
    batch = job.global_batch_samples
    if batch is not None:
        # more replicas than samples per step is not a layout anyone runs: where one with at most `batch` fits, the
        # others are dropped, so they are first left unfitted wherever the list's own choices do not read their fit
        # (_listed's `over`), and fitted only where none with at most `batch` fits
        usable = [layout for layout in _listed(job, gpu, offer, count, memory_of, fit, batch)
                  if layout.data <= batch]
        if usable:
            return usable
    return _listed(job, gpu, offer, count, memory_of, fit, None)


def _listed(job: TrainingJob, gpu: GpuSpec, offer: PricedOffer, count: int, memory_of: MemoryOf, fit: FitLayout,
            over: float | None) -> list[Layout]:
    """candidate_layouts' list before it drops the layouts with more replicas than samples per step; with `over`,
    less those of more than `over` replicas that it would fit only to list them (the choices of _expert_layouts and
    _expert_pipeline_layouts, the least degree at which one fits, still fit them where a layout of at most `over`
    can follow)."""
    if over is None:
        some = fit
    else:
        def some(tp: int, pp: int, stages: tuple[str, ...], ep: int, cp: int) -> Layout | None:
            return None if count // (tp * pp * cp) > over else fit(tp, pp, stages, ep, cp)
    layouts: list[Layout] = []
    data = some(1, 1, ZERO_SHARDING, 1, 1)
    if data is not None:
        layouts.append(data)
    degrees = _tensor_degrees(job, offer, count)
    for tp in degrees:
        layout = some(tp, 1, ("none", "zero1"), 1, 1)
        if layout is not None:
            layouts.append(layout)
    if count > offer.offer.gpus_per_instance and offer.offer.network_gbps:
        for tp in (1, *degrees):
            pp = 2
            while tp * pp <= count and pp <= job.work.layers:
                if count % (tp * pp) == 0:
                    layout = some(tp, pp, ("none", "zero1"), 1, 1)
                    if layout is not None:
                        layouts.append(layout)
                pp *= 2
    layouts += _expert_layouts(job, count > offer.offer.gpus_per_instance and bool(offer.offer.network_gbps), count,
                               degrees, fit, some, over)
    if long_sequence(job, gpu, degrees, memory_of):
        layouts += _context_layouts(job, offer, count, degrees, some)
    return layouts


def _expert_layouts(job: TrainingJob, spans: bool, count: int, degrees: list[int],
                    fit: FitLayout, some: FitLayout | None = None, over: float | None = None) -> list[Layout]:
    """Mixture of experts: for each EP degree, the data-parallel layout (ZeRO-0…3) and the least tensor parallelism
    that fits with it; across networked nodes also pipeline stages, at no and at the widest tensor degree, the
    least pipeline depth at which some EP degree fits, with every EP degree that fits there (Megatron-Core combines
    EP with TP, PP and a distributed optimizer: DeepSeek-V3 was trained at PP 16 × EP 64, DeepSeek-V3 report
    §3.2.1)."""
    layouts: list[Layout] = []
    if not job.work.is_moe:  # no EP degree to try (expert_degrees), and the loops below would find none
        return layouts
    for ep in expert_degrees(job.work, count, 1, 1):
        layout = (some or fit)(1, 1, ("none", "zero1", "zero2", "zero3"), ep, 1)
        if layout is not None:
            layouts.append(layout)
    # the least tensor degree at which some EP degree fits: each degree's fits decide whether the loop goes on, so
    # they are tried unless even the widest's replicas (the fewest) are more than `over`
    if degrees and (over is None or count // degrees[-1] <= over):
        for tp in degrees:
            fitted = [layout for ep in expert_degrees(job.work, count, tp, 1)
                      if (layout := fit(tp, 1, ("none", "zero1"), ep, 1)) is not None]
            if fitted:
                layouts += fitted
                break
    if spans:  # across networked instances
        for tp in dict.fromkeys((1, degrees[-1] if degrees else 1)):
            layouts += _expert_pipeline_layouts(job, count, tp, fit, over)
    return layouts


def _expert_pipeline_layouts(job: TrainingJob, count: int, tp: int, fit: FitLayout,
                             over: float | None = None) -> list[Layout]:
    """EP × PP at tensor degree `tp`: the fewest pipeline stages (powers of two up to the layers) at which some EP
    degree fits, with every EP degree that fits there; none where even the deepest's replicas (the fewest) are more
    than `over` (_listed)."""
    depths = []
    pp = 2
    while tp * pp <= count and pp <= job.work.layers:
        if count % (tp * pp) == 0:
            depths.append(pp)
        pp *= 2
    if over is not None and (not depths or count // (tp * depths[-1]) > over):
        return []
    for pp in depths:
        fitted = [layout for ep in expert_degrees(job.work, count, tp, pp)
                  if (layout := fit(tp, pp, ("none", "zero1"), ep, 1)) is not None]
        if fitted:
            return fitted
    return []


def long_sequence(job: TrainingJob, gpu: GpuSpec, degrees: list[int], memory_of: MemoryOf = training_memory) -> bool:
    """Whether one sample's activations without recomputation outgrow a GPU even split over the widest tensor
    degree of the instance (`degrees`, _tensor_degrees): then the choice is recomputation or splitting the sequence,
    and context parallelism is worth trying (Megatron-LM context_parallel docs: long context's activation OOM, which
    recomputation fixes at ~30 % more compute and wider tensor parallelism only within a node)."""
    if not splits_sequence(job.work):
        return False
    widest = max(degrees, default=1)
    return memory_of(job, 1, "none", "none", 1, widest, 1, 1, 1).activations > usable_bytes(gpu)


def _context_layouts(job: TrainingJob, offer: PricedOffer, count: int, degrees: list[int],
                     fit: FitLayout) -> list[Layout]:
    """Context parallelism for long sequences: for each CP degree every tensor degree inside the node that fits next
    to it (Megatron's TP × CP combinations), and across networked nodes every pipeline depth at no and at each tensor
    degree (as candidate_layouts: not the least that fits, which a slow network can make the slowest); a mixture of
    experts also with every EP degree of the data-parallel ranks left (Megatron-Core combines CP with EP)."""
    layouts: list[Layout] = []

    def fitted(tp: int, pp: int, cp: int, stages: tuple[str, ...]) -> list[Layout]:
        experts = [1, *expert_degrees(job.work, count // cp, tp, pp)]
        return [layout for ep in experts
                if (layout := fit(tp, pp, stages, ep, cp)) is not None]

    networked = count > offer.offer.gpus_per_instance and bool(offer.offer.network_gbps)
    for cp in context_degrees(job.work, count, 1, 1):
        for tp in (1, *degrees):
            if count % (tp * cp) == 0:
                layouts += fitted(tp, 1, cp, ZERO_SHARDING if tp == 1 else ("none", "zero1"))
            pp = 2
            while networked and tp * pp * cp <= count and pp <= job.work.layers:
                if count % (tp * pp * cp) == 0:
                    layouts += fitted(tp, pp, cp, ("none", "zero1"))
                pp *= 2
    return layouts


def _pinned_layouts(job: TrainingJob, gpu: GpuSpec, offer: PricedOffer, count: int, pins: Parallelism,
                    memory_of: MemoryOf, fit: FitLayout) -> list[Layout]:
    """Layouts with the pinned degrees; an unpinned degree takes every value that completes the count (tensor: the
    degrees of _tensor_degrees; pipeline: powers of two up to the layers; context: 1, and the CP degrees of a
    sequence too long for the widest tensor degree; expert: 1 and, for a mixture of experts, every EP degree that
    divides the data-parallel ranks and the experts)."""
    tensors = [pins.tensor] if pins.tensor else [1, *_tensor_degrees(job, offer, count)]
    pipelines = [pins.pipeline] if pins.pipeline else [p for p in (1, 2, 4, 8, 16, 32, 64, 128)
                                                       if p <= max(1, job.work.layers)]
    long = long_sequence(job, gpu, _tensor_degrees(job, offer, count), memory_of)
    contexts = [pins.context] if pins.context else [1, *(context_degrees(job.work, count, 1, 1) if long else [])]
    layouts = []
    for cp in contexts:
        for tp in tensors:
            for pp in pipelines:
                if count % (tp * pp * cp) or (pins.data is not None and pins.data * tp * pp * cp != count):
                    continue
                experts = [pins.expert] if pins.expert else [1, *expert_degrees(job.work, count // cp, tp, pp)]
                for ep in experts:
                    if (count // (tp * pp * cp)) % ep:
                        continue
                    layout = fit(tp, pp, ZERO_SHARDING if tp * pp == 1 else ("none", "zero1"), ep, cp)
                    if layout is not None:
                        layouts.append(layout)
    return layouts


def model_pin_problem(job: TrainingJob) -> tuple[str, str] | None:
    """The first pinned degree the model itself rules out on any GPU, whatever the offer or count: (the
    parallelism field, why in words); None when every pin could run somewhere. planner/plans/bounds.py refuses such
    a profile as bad input; pin_problem says it per plan for library callers that skip the bounds."""
    pins, work = job.parallelism, job.work
    if pins is None:
        return None
    if pins.tensor is not None and pins.tensor > 1:
        if work.family not in ("decoder", "encoder"):
            return "tensor", f"tensor {pins.tensor}: tensor parallelism splits transformer matmuls; a " \
                             f"{work.family} model has none"
        if work.hidden % pins.tensor:
            return "tensor", f"tensor {pins.tensor} does not divide the hidden size {work.hidden}"
        if not tensor_splits(work, pins.tensor):
            return "tensor", f"tensor {pins.tensor} does not divide the {work.attention_heads} attention heads"
    if pins.expert is not None and pins.expert > 1:
        if not work.is_moe:
            return "expert", f"expert {pins.expert}: expert parallelism splits experts; this model has none"
        if work.experts % pins.expert:
            return "expert", f"expert {pins.expert} does not divide the {work.experts} experts"
    if pins.pipeline is not None and pins.pipeline > max(1, work.layers):
        return "pipeline", f"pipeline {pins.pipeline} is more stages than the model's {work.layers} layers"
    if pins.context is not None and (problem := context_problem(work, pins.context)) is not None:
        return "context", problem
    return None


def pin_problem(job: TrainingJob, offer: PricedOffer, count: int) -> str | None:
    """Why the pinned degrees cannot run on `count` GPUs of this offer, in words (None: they can)."""
    pins = job.parallelism
    if pins is None:
        return None
    if (model := model_pin_problem(job)) is not None:
        return model[1]
    per_instance = offer.offer.gpus_per_instance
    if pins.tensor is not None and pins.tensor > 1:
        if pins.tensor > per_instance:
            return f"tensor {pins.tensor} spans more than one {per_instance}-GPU instance"
        if count > per_instance and per_instance % pins.tensor:
            return f"tensor {pins.tensor} groups would straddle the {per_instance}-GPU instances"
    return pins.unfilled(count)


def stage_imbalance(work: Workload, pp: int, split: str = "even") -> float:
    """Compute of the busiest pipeline stage over the mean stage's (1 without a pipeline). Every micro-batch passes
    every stage, so the step runs at the busiest stage's pace. Megatron-Core's default ("even") splits the L
    transformer layers evenly and puts the output layer, H forward FLOP of the model's F, on the last stage besides
    its share: (F + (pp − 1)·H)/F — ×1.3 for gpt-oss-120b's 201k-vocabulary head in 4 stages (its Megatron-Bridge
    recipe keeps the default: catalog/published_runs.yaml notes), ×1.03 for Llama-3.1-405B in 8. With
    account_for_embedding/loss_in_pipeline_split ("ends-counted") the embedding and the loss count as one layer each
    in the split: every stage gets (L + 2)/pp slots, the first and last one layer fewer, so the last holds
    ((L + 2)/pp − 1) layers and the head — ×1.09 for Qwen3-235B-A22B in 8 stages (its head is two layers' worth)."""
    head, total = work.head_flops_per_sample, work.forward_flops_per_sample
    if pp <= 1 or head <= 0.0 or total <= head or not work.layers:
        return 1.0
    mean = total / pp
    if split == "even":
        return ((total - head) / pp + head) / mean
    layer = (total - head) / work.layers
    slots = (work.layers + 2) / pp
    return max((slots - 1) * layer + head, slots * layer) / mean


class LayoutWork(NamedTuple):
    """What a layout's step terms read of the job and the layout alone, not of the GPU or the offer (step_terms):
    a search meets each layout on every GPU and every instance shape, so LayoutMemo works these out once per
    layout configuration. Each product is kept as the prefix that step_terms multiplies left to right, so the terms
    come out bit for bit as if worked out in place. A named tuple for the same reason as StepTerms."""

    accumulation: int
    slots: float
    """Micro-batch slots per step: accumulation plus the pipeline's idle (pp − 1)/virtual."""
    virtual: int
    micro_flops: float
    """FLOP of one micro-batch per GPU, recomputation included (÷ peak: its compute seconds at η = 1)."""
    value_bytes: float
    activation_bytes: float
    """Each GPU's share of a micro-batch's activations: s/cp tokens of it."""
    tp_allreduces: float
    """Tensor-parallel all-reduces of the activations per step (slots × per layer × layers per stage)."""
    pipeline_sends: float
    """Pipeline sends per step, each counted as in step_terms: (accumulation + pp − 1) × 2 × virtual."""
    grad_bytes: float
    """Gradient bytes per GPU (expert gradients 1/ep of them: they live in the expert-data-parallel group)."""
    grad_messages: int
    """Collectives the gradient synchronisation is split into (ZeRO-3: all-gathers and reduce-scatters per layer)."""
    samples_per_step: float
    """Samples a step trains on: the global batch when fixed, else data ranks × micro-batch."""
    host_s: float
    """The host's time to launch one step's forward operators on a GPU: its stage's share of the eager graph
    (forward_time.kernels_per_forward ÷ pipeline stages; twice with full recomputation, which reruns forward) per
    micro-batch × the job's launch floor. Backward kernels are left out: autograd launches them from C++, at no
    published cost per operator, so this stays a lower bound."""
    gather_bytes: float
    """Weight bytes per GPU that each of ZeRO-3's all-gathers moves: the trainable weights (grad_bytes) and, for an
    adapter, its frozen base, which ZeRO-3 shards too (training_memory) and so gathers for every forward and
    backward pass (FSDP wraps the base with the adapters; with QLoRA the gathered base is NF4)."""
    dequant_bytes: float = 0.0
    """Bytes QLoRA's dequantizations move on one GPU per micro-batch (dequant_bytes; 0 without QLoRA)."""
    optimizer_bytes: float = 0.0
    """Bytes the optimizer's update moves on one GPU per step (optimizer_step_bytes)."""


class WorkConstants(NamedTuple):
    """What layout_work reads of the job alone, the same for every layout (LayoutMemo keeps it: a search works out
    hundreds of layouts' work, and these properties and calls were a third of each)."""

    batch: float | None
    flops: float
    """TrainingJob.model_flops_per_sample."""
    attention_flops: float
    forward_flops: float
    value_bytes: float
    tokens: float
    hidden: float
    layers: int
    routed: float
    """routed_share of full training, else 0."""
    trainable: float
    """TrainingJob.trainable_params."""
    kernels: float
    """kernels_per_forward of the work."""
    per_param: float
    """Bytes the optimizer's update moves per trainable parameter (optimizer_step_bytes)."""
    frozen: float
    """frozen_value_bytes (gather_bytes of an adapter's frozen base)."""
    imbalances: dict[int, float]
    """stage_imbalance per pipeline depth, filled as asked."""


def work_constants(job: TrainingJob) -> WorkConstants:
    """The job's WorkConstants."""
    work = job.work
    value_bytes = training_value_bytes(job.precision)
    return WorkConstants(job.global_batch_samples, job.model_flops_per_sample, work.attention_flops_per_sample,
                         work.forward_flops_per_sample, value_bytes, work.tokens_per_sample, work.hidden, work.layers,
                         routed_share(work) if job.method == "full" else 0.0, job.trainable_params,
                         kernels_per_forward(work), _optimizer_bytes_per_param(job),
                         frozen_value_bytes(job, value_bytes), {})


def layout_work(job: TrainingJob, layout: Layout, constants: WorkConstants | None = None) -> LayoutWork:
    """The job-and-layout parts of step_terms (LayoutWork); `constants`: work_constants(job), when the caller keeps
    it (LayoutMemo)."""
    batch, flops, attention_flops, forward_flops, value_bytes, tokens, hidden, layers, routed, trainable, kernels, \
        per_param, frozen, imbalances = constants or work_constants(job)
    dp, tp, pp, cp, micro = layout.data, layout.tensor, layout.pipeline, layout.context, layout.micro_batch
    if batch:
        # a fixed global batch: the busiest replica takes ceil(B/dp) samples in `accumulation` micro-batches of at
        # most `micro` (balanced, so their mean size is what each slot computes); the step yields B samples, never the
        # padded dp·ceil(B/dp) (DDP's uneven inputs wait for the busiest replica)
        per_replica = math.ceil(batch / dp - 1e-9)
        accumulation = max(1, math.ceil(per_replica / micro))
        size = per_replica / accumulation
        samples = float(batch)
    else:  # the layout's own accumulation (a pipeline's: FitTrials.first_fit), each micro-batch full
        accumulation = layout.accumulation
        samples, size = float(dp * micro * accumulation), float(micro)
    recompute, expert = layout.recompute, layout.expert
    # recomputation reruns forward work in backward: all of it (full) or the attention core (selective)
    rerun = 0.0 if recompute == "none" else attention_flops if recompute == "selective" else forward_flops
    hardware_factor = 1.0 + rerun / flops
    # context parallelism splits every sample's FLOP evenly over its cp ranks (load-balanced causal chunks)
    micro_flops = size * flops * hardware_factor / (tp * pp * cp)
    if pp > 1:  # a pipeline runs at its busiest stage's pace
        imbalance = imbalances.get(pp)
        if imbalance is None:
            imbalance = imbalances[pp] = stage_imbalance(job.work, pp, job.pipeline_split)
        micro_flops *= imbalance
    # 1F1B: the pipeline fills and drains once per step, idle (pp − 1) micro-batch slots; the interleaved schedule
    # with v virtual stages per rank cuts the idle slots to (pp − 1)/v and sends v times as often (Narayanan et al.
    # 2021, §2.2)
    virtual = max(1, layout.virtual) if pp > 1 else 1
    slots = accumulation + (pp - 1) / virtual
    activation_bytes = size * tokens * hidden * value_bytes / cp
    full = recompute == "full"
    per_layer = TP_ALLREDUCES_PER_LAYER + (2 if full else 0)
    tp_allreduces = slots * per_layer * (layers / pp)
    pipeline_sends = (accumulation + pp - 1) * 2.0 * virtual
    # expert gradients live in the expert-data-parallel group: 1/ep of them per GPU
    grad_bytes = trainable * (1.0 - routed + routed / expert) / (tp * pp) * value_bytes
    # context ranks hold the same weights: gradients reduce over the data × context group
    if layout.sharding == "zero3":
        messages = ZERO3_PASSES * math.ceil(layers / pp)
    else:
        messages = gradient_messages(job.framework, grad_bytes, value_bytes, dp * cp, math.ceil(layers / pp))
    gather_bytes = grad_bytes
    full_training = job.method == "full"
    if not full_training:  # the frozen base per GPU as training_memory holds it before ZeRO-3 shards it
        gather_bytes += sum(frozen_base(job, tp * pp, expert)) * frozen
    host_s = accumulation * kernels / pp * (2.0 if full else 1.0) * job.launch_floor_s
    return _tuple_new(LayoutWork, (accumulation, slots, virtual, micro_flops, value_bytes, activation_bytes,
                                   tp_allreduces, pipeline_sends, grad_bytes, messages, samples, host_s, gather_bytes,
                                   0.0 if full_training else dequant_bytes(job, recompute, tp * pp, expert),
                                   _optimizer_bytes(per_param, trainable, routed, layout)))


def step_terms(job: TrainingJob, gpu: GpuSpec, offer: PricedOffer, count: int, layout: Layout,
               peak: float, shared: LayoutWork | None = None, intra: tuple[float, str] | None = None) -> StepTerms:
    """The η-independent parts of a layout's step time. `shared`: layout_work(job, layout), when the caller keeps
    it (LayoutMemo); `intra`: intra_node_gbs(gpu, offer), when the caller has it."""
    lw = shared or layout_work(job, layout)
    return terms_at(lw, step_comm(job, gpu, offer, layout, lw, intra or intra_node_gbs(gpu, offer)), peak,
                    dequant_bandwidth(gpu))


class StepComm(NamedTuple):
    """What a layout's step terms read of the GPU's links and the offer's network but not of the GPU's peak
    (step_comm): GPUs of one link speed on offers of one network and instance size meet the same ones, so a search
    works them out once per (layout, link, network) and only divides by each GPU's peak (terms_at). A named tuple
    for the same reason as StepTerms."""

    fixed_comm_s: float
    """StepTerms.fixed_comm_s: tensor-parallel all-reduces, pipeline sends, all-to-alls."""
    overlap_comm_s: float
    """StepTerms.overlap_comm_s: the gradient all-reduce, or ZeRO-3's gathers and scatters."""
    imbalance: float | None
    """The busiest expert-parallel rank's compute stretch (None without expert parallelism: no factor)."""
    zero3: bool
    """ZeRO-3 prefetches behind each whole micro-batch (window: the micro-batch's compute, once per micro-batch)."""
    ring_comm_s: float
    """StepTerms.ring_comm_s (the slots' context-parallel sends)."""
    ring_share: float
    """The ring's window as a share of the stage's attention seconds (context_parallel.ring_comm_and_share)."""
    attention_flops: float
    """This GPU's forward attention FLOP of one micro-batch on its stage (÷ peak: its seconds at η = 1)."""
    bubble_fraction: float
    window_micro_batches: float = 1.0
    """Micro-batch backward passes the data-parallel gradient reduction hides behind: ((v − 1)·pp + 1)/v with v
    model chunks per rank, so 1 without interleaving (the reduction starts, bucket by bucket, in the step's last
    backward: PyTorch DDP, Megatron's overlap_grad_reduce). With an interleaved pipeline a rank's chunks finish their
    gradients one after another: in the interleaved 1F1B schedule each chunk's last backward comes pp micro-batch
    slots of 1/v of the stage's work before the next chunk's (Narayanan et al. 2021, §2.2), so the gradients of the
    first v − 1 chunks reduce behind (v − 1)·pp/v micro-batch backward passes, the last chunk's behind its own 1/v."""


def step_comm(job: TrainingJob, gpu: GpuSpec, offer: PricedOffer, layout: Layout, lw: LayoutWork,
              intra: tuple[float, str]) -> StepComm:
    """The peak-free parts of step_terms (StepComm): what they read of the GPU is its intra-node link (`intra`:
    intra_node_gbs(gpu, offer)), of the offer its GPUs per instance and network."""
    dp, tp, pp, cp, micro = layout.data, layout.tensor, layout.pipeline, layout.context, layout.micro_batch
    slots, virtual, value_bytes = lw.slots, lw.virtual, lw.value_bytes
    work, recompute = job.work, layout.recompute
    # the all-to-alls and the busiest rank's stretch only exist with expert parallelism (an exact 0 and 1 without:
    # the search skips the calls, a few µs each over thousands of layouts)
    experts = layout.expert > 1 and work.is_moe
    fixed = 0.0
    if tp > 1:
        # tensor_parallel_allreduce_seconds on the link at hand
        fixed += lw.tp_allreduces * ring_allreduce_seconds(lw.activation_bytes, tp, intra[0], intra[1])
    if pp > 1:
        fixed += lw.pipeline_sends * pipeline_send_seconds(lw.activation_bytes / tp, offer, layout.gpus, intra,
                                                           layout.gpus // pp)
    if experts:
        fixed += slots * all_to_all_step_seconds(work, micro, value_bytes, tp, pp, layout.expert,
                                                 recompute == "full", gpu, offer, cp, dp, intra)
    ring_comm = share = attention = 0.0
    if cp > 1:
        # context parallelism: K,V blocks around the ring, behind this GPU's attention of the block before each send
        attention = micro * work.attention_flops_per_sample / (tp * pp * cp)
        ring_comm, share = ring_comm_and_share(work, micro, value_bytes, tp, pp, cp, recompute != "none", gpu, offer,
                                            intra)
    o = offer.offer  # hierarchical_allreduce_seconds reads its GPUs per instance and network
    zero3 = layout.sharding == "zero3"
    if zero3:
        # parameters gathered and gradients scattered for every micro-batch, prefetched behind its compute: FSDP
        # wraps each layer, so each layer pays an all-gather forward, one backward (the weights, an adapter's frozen
        # base included) and a reduce-scatter (the trainable gradients): ZERO3_PASSES collectives
        comm = group_collective_seconds((ZERO3_PASSES - 1) * lw.gather_bytes + lw.grad_bytes, dp * cp,
                                        o.gpus_per_instance, o.network_gbps, tp * pp, intra[0], intra[1],
                                        lw.grad_messages, "allgather")
    else:
        comm = group_collective_seconds(lw.grad_bytes, dp * cp, o.gpus_per_instance, o.network_gbps, tp * pp,
                                        intra[0], intra[1], lw.grad_messages, "allreduce")
    return _tuple_new(StepComm, (fixed, comm,
                                 imbalance_factor(work, layout.expert, job.capacity_factor) if experts else None,
                                 zero3, slots * ring_comm, share, attention, (pp - 1) / virtual / slots,
                                 ((virtual - 1) * pp + 1) / virtual))


def terms_at(lw: LayoutWork, comm: StepComm, peak: float, bandwidth: float) -> StepTerms:
    """step_terms from the layout's work, its StepComm, the GPU's peak FLOP/s and its dequant_bandwidth (the same
    operations in the same order as worked out in one piece). The dequantizations run in every micro-batch slot, the
    pipeline's idle ones included, as the compute does: each stage's slot is its micro-batch's matmuls plus its
    dequantizations."""
    micro_compute = lw.micro_flops / peak
    if comm.imbalance is not None:
        micro_compute *= comm.imbalance
    slots = lw.slots
    if comm.zero3:
        window, repeats = micro_compute, lw.accumulation
    else:
        window, repeats = BACKWARD_SHARE * micro_compute * comm.window_micro_batches, 1
    optimizer = lw.optimizer_bytes / bandwidth
    return _tuple_new(StepTerms, (slots * micro_compute, comm.fixed_comm_s, comm.overlap_comm_s, window, repeats,
                                  lw.accumulation, lw.samples_per_step, comm.bubble_fraction, comm.ring_comm_s,
                                  slots * (comm.ring_share * (comm.attention_flops / peak)), lw.host_s,
                                  slots * lw.dequant_bytes / bandwidth + optimizer, optimizer))


def layout_efficiency(efficiency: Efficiency, job: TrainingJob, gpu: GpuSpec, layout: Layout,
                      value: float | None = None) -> Efficiency:
    """The efficiency at this layout: a fitted curve's value at the layout's matrix sizes and micro-batch (`value`:
    curve_value, already worked out), else the figure given."""
    curve = getattr(efficiency, "curve", None)
    if curve is None:
        return efficiency
    if value is None:
        value = curve_value(curve, job, gpu, layout)
    widened: Efficiency = curve.widened(at_curve_value(efficiency, job, value), job.framework, layout.gpus)
    return widened


def at_curve_value(efficiency: Efficiency, job: TrainingJob, value: float) -> Efficiency:
    """A curve's efficiency set to its `value` at a layout, its detail noting the training stack assumed (before
    the interval is widened for the GPU count: TrainCurve.widened)."""
    curve: Any = efficiency.curve  # a TrainCurve (planner/efficiency/train_curve.py), typed object where it is held
    note = curve.stack_note(job.framework)
    detail = efficiency.detail if note in efficiency.detail else f"{efficiency.detail}; {note}"
    # evolve: the same fields as dataclasses.replace, without rerunning __init__ (a search makes hundreds)
    return evolve(efficiency, value=value, detail=detail)


def widened_changes(efficiency: Efficiency, job: TrainingJob, gpus: int) -> dict[str, object]:
    """What at_curve_value and then TrainCurve.widened at `gpus` change of a curve's efficiency besides its value:
    the detail, and the σ and flags where widened widens it. Neither reads the value, and widened reads of the GPU
    count only TrainCurve.widening_count, so every layout of one (GPU, efficiency) at one widening gets the same
    (LayoutMemo.layout_efficiency)."""
    curve: Any = efficiency.curve
    base = at_curve_value(efficiency, job, efficiency.value)
    widened = curve.widened(base, job.framework, gpus)
    if widened is base:
        return {"detail": base.detail}
    return {"detail": base.detail, "log_sigma": widened.log_sigma, "extrapolations": widened.extrapolations}


class LayoutEntry(NamedTuple):
    """A candidate layout as fastest_layout reads it: the layout, its layout_work, and the tensor degree,
    micro-batch, expert degree and GPUs that key its efficiency (LayoutMemo.layout_efficiency), read once."""

    layout: Layout
    work: LayoutWork
    tensor: int
    micro_batch: int
    expert: int
    gpus: int


LATER: tuple[str, str, int] = ("", "", 0)
"""A pipeline degree pair's fit the floors have not worked out yet (CountBound.fitted with `later`): the layout search
asks for it (LayoutMemo.pipe_fitted) when it cannot rule the pipeline out."""


class LazyPipe(NamedTuple):
    """A pipeline candidate whose fit the search's floors know (CountBound.fitted) but whose layout is made only
    when the layout search cannot rule it out (LayoutMemo.layouts_with_work, _fastest): what a step's floor reads of
    it without its recomputation — FLOP per GPU of one micro-batch at FLOP per model FLOP 1.0 (recomputation only
    adds), in layout_work's order — and what makes the layout."""

    tensor: int
    pipeline: int
    micro: int
    slots: float
    least_flops: float
    picked: tuple[str, str, int]
    """The fit's recomputation, ZeRO stage and micro-batch, or LATER."""
    gpus: int
    reading: tuple[object, ...]
    """The reading_key it was listed under (LayoutMemo.pipe_fitted)."""


Candidate = LayoutEntry | LazyPipe | None
"""An entry of the layout search's candidate lists (LayoutMemo.layouts_with_work): a layout with its work, a pipeline
not made yet, or one that turned out not to fit (None)."""


@dataclass
class LayoutMemo:
    """The layouts and layout efficiencies of one job, shared by the plans of one search: thousands of (offer,
    count) plans repeat the same few GPU memory sizes and GPU types (the memo is only valid for one job)."""

    layouts: dict[tuple[object, ...], list[Layout]] = dataclasses.field(default_factory=dict)
    efficiencies: dict[tuple[object, ...], Efficiency] = dataclasses.field(default_factory=dict)
    memories: dict[tuple[object, ...], TrainingMemory] = dataclasses.field(default_factory=dict)
    values: dict[tuple[int, int, int, int], float] = dataclasses.field(default_factory=dict)
    """The curve's value at (efficiency token, tensor degree, micro-batch, expert degree) over one expert rank (at one:
    curve_values)."""
    widenings: dict[tuple[int, int], dict[str, object]] = dataclasses.field(default_factory=dict)
    """widened_changes per (efficiency token, TrainCurve.widening_count)."""
    contents: dict[tuple[object, ...], int] = dataclasses.field(default_factory=dict)
    tokens: dict[tuple[int, int], tuple[int, GpuSpec, Efficiency]] = dataclasses.field(default_factory=dict)
    works: dict[tuple[object, ...], list[Candidate]] = dataclasses.field(default_factory=dict)
    """Each layouts_key's candidate layouts with their layout_work (layouts_with_work)."""
    configs: dict[tuple[object, ...], LayoutWork] = dataclasses.field(default_factory=dict)
    """layout_work per layout configuration (what it reads of a layout: every field but the memory)."""
    fits: dict[tuple[object, ...], Layout | None] = dataclasses.field(default_factory=dict)
    """_fit_layout of every layout tried (fit_layout)."""
    views: dict[tuple[int, int, int], TargetView] = dataclasses.field(default_factory=dict)
    """view per (GPU, offer, efficiency) object."""
    peaks: dict[int, tuple[float | None, GpuSpec]] = dataclasses.field(default_factory=dict)
    """peak_flops per GPU object (peak_flops)."""
    pinned: tuple[str, ...] | None = None
    """_pinned_keys of the job (pinned_keys)."""
    memory_terms: MemoryTerms | None = None
    """memory_terms of the memo's one job (training_memory)."""
    constants: WorkConstants | None = None
    """work_constants of the memo's one job (layout_work)."""
    trials: dict[tuple[object, ...], FitTrials] = dataclasses.field(default_factory=dict)
    """fit_trials per (count, degrees, stages): every memory size tries the same ones."""
    entries: dict[int, LayoutEntry] = dataclasses.field(default_factory=dict)
    comm_tokens: dict[tuple[object, ...], int] = dataclasses.field(default_factory=dict)
    """Small numbers for TargetView.comm and TargetView.link (view)."""
    comms: dict[tuple[int, int], StepComm] = dataclasses.field(default_factory=dict)
    intervals: dict[tuple[int, float], tuple[tuple[float, float, float], Efficiency]] = \
        dataclasses.field(default_factory=dict)
    """interval(value, log_sigma, cap) per (efficiency object, cap), held with it (timed_plans)."""
    alike: dict[tuple[object, ...], list[Candidate]] = dataclasses.field(default_factory=dict)
    """layouts_with_work per reading_key: layouts keys that differ only in what candidate_layouts does not read
    (GPUs per instance beyond the tensor degrees they allow) share one list."""
    """step_comm per (TargetView.link, layout object): GPUs of every memory size meet the same layouts."""
    rows: dict[tuple[int, int], tuple[list[Candidate], list[StepComm | None]]] = \
        dataclasses.field(default_factory=dict)
    """Each (comm token, count)'s candidate layouts with their StepComm, each worked out when first asked for (None
    until then: comm_rows, _fastest): ~2,000 of a search's ~5,400 plans, since GPUs of one link speed on offers of one
    network and instance size share them."""
    """The LayoutEntry of each layout object (its id(): the entry holds the layout, so the id is not reused while the
    memo lives): a search's layouts_keys list ~5,000 layouts, ~900 distinct."""
    fitted: Callable[..., dict[tuple[int, int], tuple[str, str, int] | None] | None] | None = None
    """A search's floors' fits by reading_key (count_bound.CountBound.fitted), set while they are kept: each degree
    pair's trial and micro-batch, or None where none fits, so candidate_layouts need not try the trials again."""
    picked: dict[tuple[object, ...], Layout] = dataclasses.field(default_factory=dict)
    """fitted_layout per (count, degrees, trial, micro-batch)."""
    pipe_fitted: Callable[[Any, int, int], tuple[str, str, int] | None] | None = None
    """The floors' fit of one pipeline degree pair at a reading_key (count_bound.CountBound.pipe_fitted), set with
    `fitted`: a LazyPipe left LATER is fitted only when made."""
    pipe_terms: dict[tuple[int, int, int, int], tuple[float, float]] = dataclasses.field(default_factory=dict)
    """A LazyPipe's slots and least FLOP per micro-batch per (count, tensor degree, pipeline depth, micro-batch)."""
    curve_values: dict[tuple[int, int, int], float] = dataclasses.field(default_factory=dict)
    """A LazyPipe's efficiency value per (efficiency token, tensor degree, micro-batch) (lazy_value)."""

    def candidate_layouts(self, job: TrainingJob, gpu: GpuSpec, offer: PricedOffer, count: int,
                          reading: tuple[object, ...] | None = None) -> list[Layout]:
        """candidate_layouts, once per layouts_key, with each memory worked out once (it does not depend on the
        GPU: every memory size tries the same configurations). `reading`: its reading_key, under which the search's
        floors may already know each degree pair's fit (`fitted`)."""
        key = layouts_key(gpu, offer, count)
        found = self.layouts.get(key)
        if found is None:
            capacity = usable_bytes(gpu)
            known = self.fitted(reading) if reading is not None and self.fitted is not None else None

            def fit(tp: int, pp: int, stages: tuple[str, ...], ep: int, cp: int) -> Layout | None:
                if known is not None and ep == 1 and cp == 1:
                    picked = known.get((tp, pp), _UNKNOWN)
                    if picked is None:
                        return None
                    if picked is not _UNKNOWN:
                        layout = self.fitted_layout(job, count, tp, pp, picked)
                        if layout.memory.total <= capacity:  # as first_fit tests it (the floors say it is)
                            return layout
                return self.fit_layout(job, gpu, capacity, count, tp, pp, stages, ep, cp)

            found = self.layouts[key] = candidate_layouts(job, gpu, offer, count, self.training_memory, fit)
        return found

    def fitted_layout(self, job: TrainingJob, count: int, tp: int, pp: int, picked: tuple[str, str, int]) -> Layout:
        """The layout FitTrials.first_fit makes of a (recomputation, ZeRO stage) trial at a micro-batch, once per
        (count, degrees, trial, micro-batch)."""
        key = (count, tp, pp, *picked)
        found = self.picked.get(key)
        if found is None:
            recompute, sharding, micro = picked
            dp = count // (tp * pp)
            found = self.picked[key] = _layout(dp, tp, pp, sharding, recompute, micro,
                                               self.training_memory(job, micro, recompute, sharding, dp, tp, pp),
                                               1, virtual_stages(job, pp), 1)
        return found

    def fit_layout(self, job: TrainingJob, gpu: GpuSpec, capacity: float, count: int, tp: int, pp: int,
                   stages: tuple[str, ...], ep: int = 1, cp: int = 1) -> Layout | None:
        """_fit_layout, once per usable memory (`capacity`: usable_bytes(gpu), all it reads of the GPU), count,
        degrees and stages: instance shapes of one memory size and count try the same ones."""
        key = (capacity, count, tp, pp, stages, ep, cp)
        if key in self.fits:
            return self.fits[key]
        trials = self.trials.get(key[1:])
        if trials is None:
            trials = self.trials[key[1:]] = fit_trials(job, count, tp, pp, stages, ep, cp)
        found = self.fits[key] = trials.first_fit(capacity, self.training_memory)
        return found

    def layouts_with_work(self, job: TrainingJob, gpu: GpuSpec, offer: PricedOffer,
                          count: int) -> list[Candidate]:
        """candidate_layouts, each with its layout_work and what the efficiency look-up reads of it (LayoutEntry):
        all once per layouts_key, and one list for layouts keys that read alike (reading_key)."""
        key = layouts_key(gpu, offer, count)
        found = self.works.get(key)
        if found is None:
            alike = reading_key(job, gpu, offer, count)
            found = self.alike.get(alike)
            if found is None:
                entries = self.entries
                found = self.lazy_entries(job, gpu, count, alike)
                if found is None:
                    found = [entries.get(id(layout)) or self.entry(job, layout)
                             for layout in self.candidate_layouts(job, gpu, offer, count, alike)]
                self.alike[alike] = found
            self.works[key] = found
        return found

    def lazy_entries(self, job: TrainingJob, gpu: GpuSpec, count: int,
                     reading: tuple[object, ...]) -> list[Candidate] | None:
        """candidate_layouts' list from the floors' fits (`fitted`), each data-parallel and tensor-parallel layout
        made as candidate_layouts makes it (the same fit, in its order) and each pipeline left as a LazyPipe for
        _fastest to make when it cannot rule it out (made_pipe); None where the floors do not know every degree
        pair's fit. Where some fitting pair has more replicas than the batch has samples, candidate_layouts keeps
        only the layouts with at most as many if any fits: so does this list, once one of those is known to fit (made
        here, fitted by the floors, or a pipeline left for later fitted now); else it is None. A mixture of experts'
        expert layouts follow, fitted here as candidate_layouts fits them (the floors do not), those of at most the
        batch's replicas: None where no layout within it is known to fit."""
        known = self.fitted(reading, True) if self.fitted is not None and job.parallelism is None else None
        batch = job.global_batch_samples
        if known is None or batch is None:
            return None
        capacity = usable_bytes(gpu)
        entries = self.entries
        out: list[Candidate] = []
        pinned = job.micro_batch
        over, kept = False, False  # a fitting pair with more replicas than samples left out; a made one kept
        for (tp, pp), picked in known.items():
            if picked is None:
                continue
            dp = count // (tp * pp)
            if dp > batch:  # left out, as candidate_layouts does when some layout with at most `batch` fits
                over = True
                continue
            if pp == 1:
                layout = self.fitted_layout(job, count, tp, pp, picked)
                if layout.memory.total > capacity:  # as first_fit tests it (the floors say it is)
                    found = self.fit_layout(job, gpu, capacity, count, tp, pp, ZERO_SHARDING if tp == 1
                                            else ("none", "zero1"))
                    if found is None:
                        continue
                    layout = found
                out.append(entries.get(id(layout)) or self.entry(job, layout))
                kept = True
                continue
            # a pipeline's micro-batch is one, or the pinned one, whatever trial fits (FitTrials.first_fit)
            micro = picked[2] if picked is not LATER else pinned if pinned is not None else 1
            terms = self.pipe_terms.get((count, tp, pp, micro))
            if terms is None:
                # layout_work's slots and micro-batch FLOP (virtual stages 1: no pins), recomputation left out
                per_replica = math.ceil(batch / dp - 1e-9)
                accumulation = max(1, math.ceil(per_replica / micro))
                size = per_replica / accumulation
                terms = self.pipe_terms[(count, tp, pp, micro)] = (
                    accumulation + (pp - 1) / 1,
                    size * job.model_flops_per_sample * 1.0 / (tp * pp * 1)
                    * stage_imbalance(job.work, pp, job.pipeline_split))
            out.append(_tuple_new(LazyPipe, (tp, pp, micro, *terms, picked, count, reading)))
            if picked is not LATER:  # the floors fitted it (clear of the memory by MEMORY_MARGIN): made_pipe makes it
                kept = True
        experts: list[Layout] = []
        if job.work.is_moe:
            # the expert layouts candidate_layouts lists after these (_listed with `over`: _expert_layouts), fitted
            # as its own `fit` fits them (the floors do not), those of at most `batch` replicas kept
            def fit(tp: int, pp: int, stages: tuple[str, ...], ep: int, cp: int) -> Layout | None:
                return self.fit_layout(job, gpu, capacity, count, tp, pp, stages, ep, cp)

            def some(tp: int, pp: int, stages: tuple[str, ...], ep: int, cp: int) -> Layout | None:
                return None if count // (tp * pp * cp) > batch else fit(tp, pp, stages, ep, cp)

            degrees: Any = reading[1]
            experts = [layout for layout in _expert_layouts(job, bool(reading[2]), count, list(degrees), fit, some,
                                                            batch)
                       if layout.data <= batch]
            kept = kept or bool(experts)
        if over and not kept:
            # whether candidate_layouts drops the pairs with more replicas than samples: some pipeline left for later
            # (all that is left) fits
            resolve = self.pipe_fitted
            lazy: Any
            for lazy in out:
                fits = resolve(reading, lazy.tensor, lazy.pipeline) if resolve is not None else LATER
                if fits is LATER:  # rounding could decide its fit, or no floors: candidate_layouts decides
                    return None
                if fits is not None:
                    kept = True
                    break
            if not kept:
                return None
        if job.work.is_moe:
            if not kept:  # nothing within the batch known to fit: candidate_layouts may list every expert layout
                return None
            out += [entries.get(id(layout)) or self.entry(job, layout) for layout in experts]
        return out

    def made_pipe(self, job: TrainingJob, gpu: GpuSpec, lazy: LazyPipe) -> LayoutEntry | None:
        """A LazyPipe's layout and its LayoutEntry, as candidate_layouts fits it (None: it does not fit after all)."""
        tp, pp, _, _, _, picked, count, reading = lazy
        capacity = usable_bytes(gpu)
        if picked is LATER and self.pipe_fitted is not None:
            found = self.pipe_fitted(reading, tp, pp)
            if found is None:  # no trial fits
                return None
            picked = found
        layout: Layout | None = None
        if picked is not LATER:
            layout = self.fitted_layout(job, count, tp, pp, picked)
        if layout is None or layout.memory.total > capacity:  # as first_fit tests it (the floors say it is)
            layout = self.fit_layout(job, gpu, capacity, count, tp, pp, ("none", "zero1"))
        if layout is None:
            return None
        return self.entries.get(id(layout)) or self.entry(job, layout)

    def lazy_value(self, job: TrainingJob, gpu: GpuSpec, efficiency: Efficiency, token: int, tp: int,
                   micro: int) -> float:
        """The layout efficiency's value at (tensor degree, micro-batch, no expert ranks): the curve's value there,
        which the widening leaves as it is (layout_efficiency), else the figure given; once per (token, degrees)."""
        key = (token, tp, micro)
        found = self.curve_values.get(key)
        if found is None:
            curve: Any = efficiency.curve
            found = self.curve_values[key] = efficiency.value if curve is None else \
                curve.efficiency(job.work, gpu, job.precision, tp, micro, job.attention, job.framework, 1)
        return found

    def comm_rows(self, job: TrainingJob, gpu: GpuSpec, offer: PricedOffer, count: int,
                  view: TargetView) -> tuple[list[Candidate], list[StepComm | None]]:
        """layouts_with_work, and beside them a list for each layout's StepComm on this GPU's link and this offer's
        network (_fastest fills it), once per (view.comm, count)."""
        entries = self.works.get((*view.layouts_prefix, count))
        if entries is None:
            entries = self.layouts_with_work(job, gpu, offer, count)
        found = self.rows[(view.comm, count)] = (entries, [None] * len(entries))
        return found

    def entry(self, job: TrainingJob, layout: Layout) -> LayoutEntry:
        """The layout's LayoutEntry, made once per layout object."""
        made = self.entries[id(layout)] = _tuple_new(LayoutEntry, (layout, self.layout_work(job, layout),
                                                                   layout.tensor, layout.micro_batch, layout.expert,
                                                                   layout.gpus))
        return made

    def layout_work(self, job: TrainingJob, layout: Layout) -> LayoutWork:
        """layout_work, once per configuration: GPUs of every memory size meet the same ones."""
        key = (layout.data, layout.tensor, layout.pipeline, layout.context, layout.expert, layout.virtual,
               layout.micro_batch, layout.recompute, layout.sharding, layout.accumulation)
        found = self.configs.get(key)
        if found is None:
            constants = self.constants
            if constants is None:
                constants = self.constants = work_constants(job)
            found = self.configs[key] = layout_work(job, layout, constants)
        return found

    def training_memory(self, job: TrainingJob, micro_batch: int, recompute: bool | str, sharding: str, dp: int,
                        tp: int = 1, pp: int = 1, ep: int = 1, cp: int = 1) -> TrainingMemory:
        """training_memory, once per configuration."""
        key = (micro_batch, recompute, sharding, dp, tp, pp, ep, cp)
        found = self.memories.get(key)
        if found is None:
            terms = self.memory_terms
            if terms is None:
                terms = self.memory_terms = memory_terms(job)
            found = self.memories[key] = training_memory(job, micro_batch, recompute, sharding, dp, tp, pp, ep, cp,
                                                         terms)
        return found

    def layout_efficiency(self, efficiency: Efficiency, job: TrainingJob, gpu: GpuSpec, layout: Layout,
                          token: int | None = None) -> Efficiency:
        """layout_efficiency, once per GPU, efficiency and what of the layout it reads (`token`:
        efficiency_token(gpu, efficiency), when the caller asks for several layouts)."""
        if token is None:
            token = self.efficiency_token(gpu, efficiency)
        tensor, micro, expert = layout.tensor, layout.micro_batch, layout.expert
        curve: Any = efficiency.curve  # a TrainCurve, as in at_curve_value
        widening = curve.widening_count(layout.gpus) if curve is not None else 0
        key = (token, tensor, micro, expert, widening)
        found = self.efficiencies.get(key)
        if found is None:
            if curve is None:
                found = efficiency
            else:
                # at_curve_value then TrainCurve.widened, in one copy: the curve's value is the layout's own, once per
                # (token, tensor degree, micro-batch, expert degree) — lazy_value's at one expert rank, the same call —
                # and what the two copies change besides it (the detail with the stack note, the widened σ and flags)
                # is the same for every layout of the (GPU, efficiency) at one widening (widened_changes)
                if expert == 1:
                    value = self.curve_values.get((token, tensor, micro))
                    if value is None:
                        value = self.curve_values[(token, tensor, micro)] = curve_value(curve, job, gpu, layout)
                else:
                    value = self.values.get((token, tensor, micro, expert))
                    if value is None:
                        value = self.values[(token, tensor, micro, expert)] = curve_value(curve, job, gpu, layout)
                changes = self.widenings.get((token, widening))
                if changes is None:
                    changes = self.widenings[(token, widening)] = widened_changes(efficiency, job, layout.gpus)
                found = evolve_with(efficiency, {"value": value, **changes})
            self.efficiencies[key] = found
        return found

    def view(self, job: TrainingJob, gpu: GpuSpec, offer: PricedOffer, efficiency: Efficiency) -> TargetView:
        """The TargetView of a GPU, offer and efficiency, once: a search plans ~20 counts of each."""
        key = (id(gpu), id(offer), id(efficiency))
        found = self.views.get(key)
        if found is None:
            prefix, intra = layouts_key(gpu, offer, 0)[:-1], intra_node_gbs(gpu, offer)
            tokens = self.comm_tokens
            link = tokens.setdefault((intra, prefix[1], offer.offer.network_gbps), len(tokens))
            comm = tokens.setdefault((prefix, intra, offer.offer.network_gbps), len(tokens))
            found = self.views[key] = TargetView(prefix, intra, self.efficiency_token(gpu, efficiency), comm, link,
                                                 (gpu, offer, efficiency), self.peak_flops(gpu, job.precision),
                                                 efficiency_cap(gpu, job.precision), dequant_bandwidth(gpu))
        return found

    def peak_flops(self, gpu: GpuSpec, precision: str) -> float | None:
        """peak_flops, once per GPU object (held with its figure, so its id() is not reused while the memo lives;
        one job, one precision)."""
        held = self.peaks.get(id(gpu))
        if held is None:
            held = self.peaks[id(gpu)] = (peak_flops(gpu, precision), gpu)
        return held[0]

    def pinned_keys(self, job: TrainingJob) -> tuple[str, ...]:
        """_pinned_keys of the memo's one job, once."""
        if self.pinned is None:
            self.pinned = _pinned_keys(job)
        return self.pinned

    def efficiency_token(self, gpu: GpuSpec, efficiency: Efficiency) -> int:
        """A small number naming the (GPU, efficiency) pair by content: every offer of a GPU gets its own Efficiency
        object with the same figures, and hashing those figures at every look-up cost more than the look-up. The
        objects are held in `self.tokens` with their number, so their id() cannot be reused while the memo lives."""
        held = self.tokens.get((id(gpu), id(efficiency)))
        if held is None:
            curve = efficiency.curve
            content = (gpu.id, efficiency.value, efficiency.log_sigma, efficiency.source, efficiency.detail,
                       efficiency.extrapolations, type(curve).__name__ if curve is not None else None)
            number = self.contents.setdefault(content, len(self.contents))
            held = self.tokens[(id(gpu), id(efficiency))] = (number, gpu, efficiency)
        return held[0]


_UNKNOWN: Any = object()
"""A degree pair the floors did not try (LayoutMemo.candidate_layouts): fitted as usual."""


def curve_value(curve: Any, job: TrainingJob, gpu: GpuSpec, layout: Layout) -> float:
    """A training curve's efficiency at the layout's tensor degree, micro-batch and expert degree (all it reads of
    the layout)."""
    value: float = curve.efficiency(job.work, gpu, job.precision, layout.tensor, layout.micro_batch, job.attention,
                                    job.framework, layout.expert)
    return value


def layouts_key(gpu: GpuSpec, offer: PricedOffer, count: int) -> tuple[object, ...]:
    """What candidate_layouts reads of the GPU and the offer (beside the job): the usable memory (_fit_layout), GPUs
    per instance (_tensor_degrees) and whether instances are networked (pipeline stages)."""
    return usable_bytes(gpu), offer.offer.gpus_per_instance, bool(offer.offer.network_gbps), count


def reading_key(job: TrainingJob, gpu: GpuSpec, offer: PricedOffer, count: int) -> tuple[object, ...]:
    """What candidate_layouts reads, less than layouts_key: of the GPUs per instance only the tensor degrees they
    allow (_tensor_degrees) and whether the count spans networked instances (pipeline, expert and context stages
    across nodes); a CNN (no tensor degrees) on 3 or 5 GPUs per instance plans the same layouts as on 2 or 4."""
    o = offer.offer
    return (usable_bytes(gpu), tuple(_tensor_degrees(job, offer, count)),
            bool(count > o.gpus_per_instance and o.network_gbps), count)


def fastest_layout(job: TrainingJob, gpu: GpuSpec, offer: PricedOffer, count: int, efficiency: Efficiency,
                   peak: float, memo: LayoutMemo | None = None) -> tuple[Layout, Efficiency, StepTerms] | None:
    """The fitting layout with the shortest step, its efficiency and step terms (None: nothing fits)."""
    found = _fastest(job, gpu, offer, count, efficiency, peak, memo,
                     memo.view(job, gpu, offer, efficiency) if memo is not None else None)
    return found[:3] if found is not None else None


def _fastest(job: TrainingJob, gpu: GpuSpec, offer: PricedOffer, count: int, efficiency: Efficiency, peak: float,
             memo: LayoutMemo | None, view: TargetView | None) -> tuple[Layout, Efficiency, StepTerms, float] | None:
    """fastest_layout, with the step's seconds at the layout's efficiency; `view`: memo.view(job, gpu, offer,
    efficiency), given with the memo.

    Layouts are compared by the job's time, steps × step: with a fixed global batch every layout's step trains the
    same samples, so the step alone decides (and is what is compared, bit for bit); without one a step trains data ×
    micro-batch samples, which differ between layouts (a pipeline's micro-batch is 1, a data-parallel one the largest
    that fits), so the step time is scaled by the steps the job takes (timed_plans: samples / samples per step, at
    least one)."""
    best = None
    fastest = math.inf
    per_sample = job.global_batch_samples is None
    samples = job.samples
    if memo is None or view is None:
        intra = intra_node_gbs(gpu, offer)  # one link for every layout's all-reduces
        for candidate in candidate_layouts(job, gpu, offer, count):
            eff = layout_efficiency(efficiency, job, gpu, candidate)
            terms = step_terms(job, gpu, offer, count, candidate, peak, None, intra)
            seconds = terms.seconds(eff.value)
            key = seconds * max(1.0, samples / terms.samples_per_step) if per_sample else seconds
            if best is None or key < fastest:
                best, fastest = (candidate, eff, terms, seconds), key
        return best
    token = view.token
    curve: Any = efficiency.curve  # a TrainCurve, as in at_curve_value
    rows = memo.rows.get((view.comm, count))
    if rows is None:
        rows = memo.comm_rows(job, gpu, offer, count, view)
    entries, comms = rows
    efficiencies, lazy_values, made_comms, link = memo.efficiencies, memo.curve_values, memo.comms, view.link
    bandwidth = view.bandwidth
    # expert ranks stretch the compute by imbalance_factor, at least 1.0 where these hold (the profile's
    # capacity_factor is at least 1): the floor below then holds for their layouts too
    stretches = job.capacity_factor >= 1.0 and job.work.expert_flops_share >= 0.0
    chosen = None
    counted, widening = 0, 0  # a count's layouts all span its GPUs: the widening is asked once per count
    entry: Any
    for index, entry in enumerate(entries):
        if entry.__class__ is not LayoutEntry:
            if entry is None:  # a LazyPipe that did not fit after all
                continue
            if chosen is not None:
                # a pipeline not made yet (LazyPipe): its floor below (the step less the communication) is at
                # least its slots of compute at the least recomputation, the same operations on smaller FLOP
                # (IEEE rounding is monotone), so at or past the fastest key it is not made
                tensor, _, micro, slots, least, _, _, _ = entry
                eta = lazy_values.get((token, tensor, micro)) \
                    or memo.lazy_value(job, gpu, efficiency, token, tensor, micro)
                if slots * (least / peak) / eta >= fastest:
                    continue
            entry = entries[index] = memo.made_pipe(job, gpu, entry)
            if entry is None:
                continue
        candidate, shared, tensor, micro, expert, gpus = entry
        if curve is None:
            eff = efficiency
        else:
            if gpus != counted:
                counted, widening = gpus, curve.widening_count(gpus)
            # LayoutMemo.layout_efficiency's look-up, in place (the same key): ~12,000 per search
            eff = efficiencies.get((token, tensor, micro, expert, widening)) \
                or memo.layout_efficiency(efficiency, job, gpu, candidate, token)
        # terms_at and StepTerms.seconds written out, the same operations in the same order (the step terms of
        # the fastest alone are made, below)
        eta = eff.value
        micro_compute = shared.micro_flops / peak
        slots = shared.slots
        memory = slots * shared.dequant_bytes / bandwidth + shared.optimizer_bytes / bandwidth
        comm = comms[index]
        if comm is None:
            if chosen is not None and (expert == 1 or stretches):
                # the layout's floor: its step less the communication, its compute unstretched (expert ranks'
                # imbalance, at least 1.0, only multiplies it). IEEE rounding is monotone, so a factor of at least
                # 1.0 and adding the communication's non-negative terms to the same sum can only raise it: a floor
                # at or past the fastest key means a key at or past it, which the strict comparison below never
                # chooses, and the StepComm is not worked out
                floor = slots * micro_compute / eta + memory
                if floor < shared.host_s:
                    floor = shared.host_s
                if per_sample:
                    steps = samples / shared.samples_per_step
                    if steps > 1.0:
                        floor = floor * steps
                if floor >= fastest:
                    continue
            # the layout's StepComm on this link and network, once per (layout, link and network) whatever the
            # memory size (the entry holds the layout: its id is not reused while the memo lives)
            comm = made_comms.get((link, id(candidate)))
            if comm is None:
                comm = made_comms[(link, id(candidate))] = step_comm(job, gpu, offer, candidate, shared, view.intra)
            comms[index] = comm
        if comm.imbalance is not None:
            micro_compute *= comm.imbalance
        if comm.zero3:
            exposed = comm.overlap_comm_s - micro_compute / eta
            seconds = slots * micro_compute / eta + comm.fixed_comm_s + memory \
                + shared.accumulation * (exposed if exposed > 0.0 else 0.0)
        else:
            exposed = comm.overlap_comm_s - BACKWARD_SHARE * micro_compute / eta
            seconds = slots * micro_compute / eta + comm.fixed_comm_s + memory + (exposed if exposed > 0.0 else 0.0)
        if comm.ring_comm_s:  # without context ranks the ring adds an exact 0.0
            ring = comm.ring_comm_s - slots * (comm.ring_share * (comm.attention_flops / peak)) / eta
            seconds += ring if ring > 0.0 else 0.0
        if seconds < shared.host_s:
            seconds = shared.host_s
        if per_sample:
            steps = samples / shared.samples_per_step
            key = seconds * steps if steps > 1.0 else seconds
        else:
            key = seconds
        if chosen is None or key < fastest:
            chosen, fastest = (candidate, eff, shared, comm, seconds), key
    if chosen is None:
        return None
    candidate, eff, shared, comm, seconds = chosen
    return candidate, eff, terms_at(shared, comm, peak, bandwidth), seconds


class TargetView(NamedTuple):
    """What every plan of one (GPU, offer, efficiency) reads alike (LayoutMemo.view)."""

    layouts_prefix: tuple[object, ...]
    """layouts_key less the count."""
    intra: tuple[float, str]
    """intra_node_gbs(gpu, offer)."""
    token: int
    """LayoutMemo.efficiency_token(gpu, efficiency)."""
    comm: int
    """A LayoutMemo.comm_tokens number of the layouts key's prefix, the intra-node link and the network: the
    candidate layouts and what their StepComm read (LayoutMemo.comm_rows)."""
    link: int
    """A LayoutMemo.comm_tokens number of the intra-node link, the GPUs per instance and the network: what a
    layout's StepComm reads of the GPU and the offer."""
    held: tuple[object, ...]
    """The GPU, offer and efficiency, held so their id() is not reused while the memo lives."""
    peak_found: float | None
    """LayoutMemo.peak_flops(gpu, job.precision) (None: the GPU lacks the precision)."""
    cap: float
    """efficiency_cap(gpu, job.precision)."""
    bandwidth: float
    """dequant_bandwidth(gpu)."""


def plan_training(job: TrainingJob, gpu: GpuSpec, offer: PricedOffer, count: int, efficiency: Efficiency,
                  spot: bool = False, memo: LayoutMemo | None = None) -> TrainingPlan:
    """Time and memory of the job on `count` GPUs of this offer, fastest fitting layout (reasons list what makes
    it unusable); `memo` shares layouts between the plans of one job."""
    return timed_plan(job, gpu, offer, count, efficiency, spot, memo).plan()


def timed_plan(job: TrainingJob, gpu: GpuSpec, offer: PricedOffer, count: int, efficiency: Efficiency,
               spot: bool = False, memo: LayoutMemo | None = None) -> TimedPlan:
    """plan_training's plan before it is made into a TrainingPlan (TimedPlan)."""
    return timed_plans(job, gpu, offer, (count,), efficiency, spot, memo)[0]


def timed_plans(job: TrainingJob, gpu: GpuSpec, offer: PricedOffer, counts: Sequence[int], efficiency: Efficiency,
                spot: bool = False, memo: LayoutMemo | None = None) -> list[TimedPlan]:
    """timed_plan at each of `counts`, what every count reads alike (the peak, the memo's view, the price, the
    pinned keys) worked out once: a search times ~20 counts of each (GPU, instance shape)."""
    o = offer.offer
    per_instance, networked = o.gpus_per_instance, bool(o.network_gbps)
    if memo is not None:
        view: TargetView | None = memo.view(job, gpu, offer, efficiency)
        assert view is not None
        peak_found, cap = view.peak_found, view.cap
    else:
        view, peak_found, cap = None, peak_flops(gpu, job.precision), efficiency_cap(gpu, job.precision)
    peak = gpu.peak_tflops.fp32 * 1e12 if peak_found is None else peak_found
    price = o.spot_usd_per_hour if spot and o.spot_usd_per_hour else o.usd_per_hour
    is_spot = spot and o.spot_usd_per_hour is not None
    pinned_keys = memo.pinned_keys(job) if memo else _pinned_keys(job)
    gpu_id, provider, instance, billing, commitment = gpu.id, offer.provider, o.instance, offer.billing_seconds, \
        offer.commitment
    provisioned = provider not in STARTED_PROVIDERS
    read = starting_weight_bytes(job)
    samples, batch, pins = job.samples, job.global_batch_samples, job.parallelism
    # interval() per efficiency object and cap, held with it (its id is not reused while held): counts and GPUs share
    # them
    intervals: dict[tuple[int, float], tuple[tuple[float, float, float], Efficiency]] = \
        memo.intervals if memo is not None else {}
    plans = []
    for count in counts:
        verdicts: list[Verdict] = []
        instances = -(-count // per_instance)
        if instances > 1 and not networked:
            verdicts.append(Verdict(Kind.NO_NETWORK, float(instances), 1.0))
        if peak_found is None:
            verdicts.append(Verdict(Kind.NO_PRECISION, detail=job.precision,
                                    alternative=alternative_precision(gpu, job.precision) or "",
                                    setting="training.precision"))
        problem = pin_problem(job, offer, count) if pins is not None else None
        best = None if problem else _fastest(job, gpu, offer, count, efficiency, peak, memo, view)
        fits = best is not None
        if best is None:
            best = _unfitted(job, gpu, offer, count, efficiency, peak, problem, verdicts)
        layout, eff, terms, step_time = best
        if batch is not None and batch < layout.data:
            verdicts.append(Verdict(Kind.BATCH_TOO_SMALL, batch, float(layout.data)))
        value = eff.value
        compute_time = terms.compute_s / value
        memory = terms.memory_s
        # the communication compute does not hide (step_time less compute and the memory-bound kernels, unless the
        # host's launches set the pace)
        exposed = step_time - compute_time - memory if step_time > terms.host_s \
            else terms.device_seconds(value) - compute_time - memory
        host = terms.host_s
        steps = samples / terms.samples_per_step
        if steps < 1.0:  # replicas beyond the dataset's samples idle through the one step the run takes
            steps = 1.0
        held = intervals.get((id(eff), cap))
        if held is None:
            held = intervals[(id(eff), cap)] = (interval(value, eff.log_sigma, cap), eff)
        low, mid, high = held[0]
        # hours at the efficiency's P90 (fast) / P50 / P10 (slow) after the run's start-up; communication and the
        # memory-bound kernels are not scaled
        startup = startup_seconds(count, provisioned, read)
        hours = ((steps * max(host, compute_time * value / high + exposed + memory) + startup) / 3600.0,
                 (steps * max(host, compute_time * value / mid + exposed + memory) + startup) / 3600.0,
                 (steps * max(host, compute_time * value / low + exposed + memory) + startup) / 3600.0)
        plans.append(_tuple_new(TimedPlan, (gpu_id, provider, instance, count, instances, fits,
                                            tuple(verdicts) if verdicts else (), step_time, compute_time, exposed,
                                            eff, hours[1], price, billing, is_spot, commitment, hours, layout, terms,
                                            peak, job, pinned_keys, [], startup)))
    return plans


def unfitted_layout(job: TrainingJob, count: int) -> tuple[int, int, int, str, str, TrainingMemory]:
    """The layout nearest to fitting on `count` GPUs within what is pinned (_unfitted): its tensor, pipeline and
    context degrees, ZeRO stage, recomputation and memory per GPU (the search reads its memory to rank a count where
    no layout fits before timing it: plans/search.py _Search._first)."""
    pins = job.parallelism
    tp = pins.tensor if pins and pins.tensor and count % pins.tensor == 0 else 1
    pp = pins.pipeline if pins and pins.pipeline and count % (tp * pins.pipeline) == 0 else 1
    cp = pins.context if pins and pins.context and count % (tp * pp * pins.context) == 0 else 1
    sharding = _pinned_stages(job, ("zero3" if count > 1 else "none",))[0]
    mode = "full" if job.recompute == "auto" else job.recompute
    return tp, pp, cp, sharding, mode, training_memory(job, 1, mode, sharding, max(1, count // (tp * pp * cp)), tp,
                                                       pp, 1, cp)


def _unfitted(job: TrainingJob, gpu: GpuSpec, offer: PricedOffer, count: int, efficiency: Efficiency, peak: float,
              problem: str | None, verdicts: list[Verdict]) -> tuple[Layout, Efficiency, StepTerms, float]:
    """When no layout fits (or the pinned degrees cannot run): the layout nearest to fitting within what is pinned
    (most sharding, most recomputation; a pinned `recompute: none` stays none, and the message says so), with its
    efficiency, step terms and seconds; the verdict saying why is added to `verdicts`."""
    pins = job.parallelism
    tp, pp, cp, sharding, mode, memory = unfitted_layout(job, count)
    if problem:
        verdicts.append(Verdict(Kind.PIN_UNWORKABLE, detail=f"parallelism: {problem}"))
    else:
        pinned = [f"recompute {job.recompute}"] if job.recompute != "auto" else []
        if pins is not None:
            pinned += [f"{k} {v}" for k, v in (("data", pins.data), ("tensor", pins.tensor),
                                                ("pipeline", pins.pipeline), ("context", pins.context),
                                                ("zero", pins.zero))
                       if v is not None]
        where = f" with the pinned {', '.join(pinned)}" if pinned else ""
        verdicts.append(Verdict(Kind.DOES_NOT_FIT, memory.total, gpu.memory_gb * 1e9,
                                f"needed per GPU at micro-batch 1 on {count:,} GPU{'' if count == 1 else 's'}"
                                f"{' sharded with ZeRO-3' if sharding == 'zero3' else ''}{where}"))
    layout = Layout(max(1, count // (tp * pp * cp)), tp, pp, sharding, mode, 1, memory, context=cp)
    eff = layout_efficiency(efficiency, job, gpu, layout)
    terms = step_terms(job, gpu, offer, count, layout, peak)
    return layout, eff, terms, terms.seconds(eff.value)


class TimedPlan(NamedTuple):
    """A training plan worked out but not yet made into its TrainingPlan (`plan()` makes it, once): a search times
    thousands of (GPU, instance shape, count) plans and reads a few numbers of each to judge its options
    (options.Judge.lazily); the plan object, its costs and rates are made only for the options whose plan is read.
    The fields read by the judge carry TrainingPlan's names and values."""

    gpu: str
    provider: str
    instance: str
    gpu_count: int
    instances: int
    fits: bool
    verdicts: tuple[Verdict, ...]
    step_time_s: float
    compute_time_s: float
    exposed_comm_time_s: float
    efficiency: Efficiency
    hours_p50: float
    usd_per_hour: float
    billing_seconds: float
    spot: bool
    commitment: CommittedPrice | None
    hours: tuple[float, float, float]
    """P10, P50, P90 hours."""
    layout: Layout
    terms: StepTerms
    peak: float
    job: TrainingJob
    pinned: tuple[str, ...]
    made: list[TrainingPlan]
    """The TrainingPlan once made (plan())."""
    startup_s: float

    @property
    def term_hours(self) -> float:
        """TrainingPlan.term_hours: a committed term is owed whole."""
        return self.commitment.term_hours if self.commitment is not None else 0.0

    def plan(self) -> TrainingPlan:
        """The TrainingPlan, made on the first call."""
        if self.made:
            return self.made[0]
        job, layout, terms, hours, count = self.job, self.layout, self.terms, self.hours, self.gpu_count
        price, step_time, commitment = self.usd_per_hour, self.step_time_s, self.commitment
        term = commitment.term_hours if commitment is not None else 0.0  # a committed term is owed whole
        costs = run_costs_usd(self.instances, price, hours, self.billing_seconds, term)
        samples_per_step = terms.samples_per_step
        mfu = (samples_per_step * job.model_flops_per_sample) / (step_time * count * self.peak)
        plan = build(  # TrainingPlan(...) without its per-field setattr: thousands per search (dataclass.py)
            TrainingPlan,
            gpu=self.gpu, provider=self.provider, instance=self.instance, gpu_count=count, instances=self.instances,
            sharding=layout.sharding, recompute=layout.recompute != "none", micro_batch=layout.micro_batch,
            grad_accumulation=terms.accumulation,
            memory_per_gpu_bytes=layout.memory.total, fits=self.fits, step_time_s=step_time,
            compute_time_s=self.compute_time_s, exposed_comm_time_s=self.exposed_comm_time_s,
            tokens_per_s=samples_per_step * job.work.tokens_per_sample / step_time,
            samples_per_s=samples_per_step / step_time, mfu=mfu, efficiency=self.efficiency,
            hours_p10=hours[0], hours_p50=hours[1], hours_p90=hours[2], gpu_hours=hours[1] * count,
            usd_per_hour=price, cost_usd_p10=costs[0], cost_usd_p50=costs[1], cost_usd_p90=costs[2],
            billing_seconds=self.billing_seconds, spot=self.spot,
            verdicts=self.verdicts, tensor=layout.tensor, pipeline=layout.pipeline,
            bubble_fraction=terms.bubble_fraction, expert=layout.expert, context=layout.context,
            recompute_mode=layout.recompute, commitment=commitment, pinned=self.pinned, host_time_s=terms.host_s,
            dequant_time_s=terms.dequant_s, optimizer_time_s=terms.optimizer_s, memory_time_s=terms.memory_s,
            startup_s=self.startup_s,
        )
        self.made.append(plan)
        return plan




def priced(plan: TrainingPlan, offer: PricedOffer, spot: bool = False) -> TrainingPlan:
    """The same plan on another offer with the same GPU and instance shape (GPUs per instance, link, network):
    only the provider, the price, the billing and any committed term differ, so the hours stay and the costs are
    recomputed."""
    price = offer.offer.spot_usd_per_hour if spot and offer.offer.spot_usd_per_hour else offer.offer.usd_per_hour
    commitment = offer.commitment
    term = commitment.term_hours if commitment is not None else 0.0
    costs = run_costs_usd(plan.instances, price, (plan.hours_p10, plan.hours_p50, plan.hours_p90),
                          offer.billing_seconds, term)
    return evolve(
        plan, provider=offer.provider, instance=offer.offer.instance, usd_per_hour=price, cost_usd_p10=costs[0],
        cost_usd_p50=costs[1], cost_usd_p90=costs[2], billing_seconds=offer.billing_seconds,
        spot=spot and offer.offer.spot_usd_per_hour is not None, commitment=commitment)


def instance_shape(offer: PricedOffer) -> tuple[object, ...]:
    """What of an offer a plan's time depends on: GPUs per instance, the link inside, the network between, and
    whether its instances must first be started (startup_seconds)."""
    o = offer.offer
    return o.gpu, o.gpus_per_instance, o.intra_node, o.network_gbps, offer.provider in STARTED_PROVIDERS


def pinned_parts(job: TrainingJob) -> list[str]:
    """The layout parts the profile pins, in words ("tensor 8", "zero 3", "recompute none"), in _pinned_keys' order."""
    pins = job.parallelism
    return [f"{k} {job.recompute if k == 'recompute' else getattr(pins, k)}" for k in _pinned_keys(job)]


def _pinned_keys(job: TrainingJob) -> tuple[str, ...]:
    pins = job.parallelism
    keys = [k for k in ("data", "tensor", "pipeline", "expert", "context", "zero", "virtual")
            if pins is not None and getattr(pins, k) is not None]
    return (*keys, "recompute") if job.recompute != "auto" else tuple(keys)
