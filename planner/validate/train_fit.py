"""Fit the training efficiency curves (efficiency/train_curve.py) to the published training runs, with leave-one-out.

Each run becomes a `RunCase`: the planner's own job, layout and step terms for the run's GPUs (plans/training.py), so the
fit adjusts only the curve's parameters and every other part of the prediction is the planner's model. Parameters
are fitted on ln(predicted / actual) with priors (`_regularised_fit`: each parameter held towards its PLAUSIBLE range,
the families' peaks towards their common level): one peak efficiency per GPU architecture family (GpuSpec.family:
the arch, GeForce cards apart) with at least MIN_CURVE_RUNS runs, and a shared shape (half_side, traffic per workload
kind and attention kernel, fp32 factor; the extra passes of 16-bit NCHW CNNs are counted, not fitted:
train_curve.NCHW_PASSES); the pooled curve ('any', for families without runs) refits the peak alone on all runs with
that shape (scipy.optimize.curve_fit).
"""
from __future__ import annotations

import datetime as dt
import math
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from planner.dataclass import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from planner.catalog.ceilings import TENSOR_PRECISIONS, ceiling_share, tensor_rate
from planner.catalog.load import Catalog, PricedOffer, load_catalog
from planner.efficiency.curve import Num
from planner.efficiency.origin import Efficiency
from planner.efficiency.prior_fit import RECOMPUTE_MODEL_SHARE, implied_efficiency
from planner.efficiency.train_curve import (
    BASELINE_STACK,
    NCHW_PASSES,
    ceiling_factor,
    chip_transfer,
    cnn_traffic,
    curve_value,
    efficiency_cap,
    matrix_side,
    nchw_transposes,
    gpu_peak,
    pick_curve,
    stack_factor,
    traffic_of,
    traffic_ratio,
    uses_flash,
    weight_ratio,
)
from planner.errors import PlannerError
from planner.io.loading import load_model_file
from planner.model.precision import peak_flops
from planner.model.workload import workload_for
from planner.plans.training import (
    ZERO_SHARDING,
    Layout,
    StepTerms,
    TrainingJob,
    fastest_layout,
    launch_floor_seconds,
    step_terms,
    training_memory,
)
from planner.project.load import resolve_architecture
from planner.schema.catalog import GpuSpec, Offer
from planner.schema.priors import TrainCurveFit
from planner.schema.profile import Parallelism
from planner.schema.runs import PublishedRun, PublishedRunsFile, fittable

TRAIN_GROUPS = frozenset({"llm-pretraining", "fine-tuning", "cnn", "encoder", "single-gpu-throughput"})
"""Groups the curves are fitted on ('other' holds approximated architectures: validated, never fitted)."""
MIN_PASSES = 2.0
"""Least memory passes over the stored activations: written in forward, read in backward (the traffic floor)."""
MIN_CURVE_RUNS = 3
MIN_STACK_RUNS = 2
"""A training stack gets its own efficiency factor with at least this many runs stating it; else factor 1 (the
plain-PyTorch baseline) and a wider interval."""
MIN_STACK_SOURCES = 3
"""...and from at least this many publications, so that a factor is never one or two harnesses' bias. Measured with
`validate --cross-validate source` (issue 13): factors for every stack with 2 runs from 2 publications (llm.c ×1.5,
Megatron ×1.13, FSDP ×1.15, Meta's ×1.2) made the held-out training P90 |error| 0.32–0.38 against 0.30 without.
Only fittable runs count (not the independent-check families): Megatron qualifies (4 publications)."""
STACK_FACTOR_RANGE = (0.3, 2.5)
"""Plausible efficiency multiplier of a stack over a plain PyTorch loop: from a stack that loses two thirds of the
step to overheads to hand-fused kernels (llm.c, Megatron's fused layers) at 2.5× — the fit is held to it."""
"""An architecture family gets its own peak efficiency with at least this many runs; else the pooled curve."""
MAX_SEARCH_GPUS = 8192
"""Largest count tried for a run that does not state its GPU count (it gets the count with the fewest GPU-seconds
per sample at the reference efficiency: GPU-hours are what such runs publish)."""


def run_method(run: PublishedRun) -> Literal["full", "lora", "qlora"]:
    """How a published training run trains its weights, as the validation costs it: PublishedRun has no method field,
    so every run is costed as full training (the NeMo LoRA rows stay under `excluded:` in
    catalog/published_runs.yaml for that reason). The accuracy note reads it to say when the evidence for a plan's
    method is another method's (planner/decide/confidence.py)."""
    return "full"


@dataclass(frozen=True)
class RunCase:
    """A published training run reduced to the planner's terms."""

    run: PublishedRun
    job: TrainingJob
    gpu: GpuSpec
    count: int
    layout: Layout
    terms: StepTerms
    rate: bool
    """True: the metric is conv / step seconds (throughput); False: conv × step seconds (hours)."""
    conv: float
    side: float
    ratio: float
    weights: float
    """Weight-traffic ratio (traincurve.weight_ratio) at the case's micro-batch and expert degree."""
    nchw16: bool = False
    """A 16-bit CNN run that kept its activations in NCHW (traincurve.nchw_transposes)."""

    @property
    def arch(self) -> str:
        """GPU architecture family the curves are kept for (GpuSpec.family)."""
        return self.gpu.family

    @property
    def flash(self) -> bool:
        """Transformer work with a flash-style attention kernel."""
        return uses_flash(self.job.work.family, self.job.attention)

    def predict(self, eta: Num) -> Num:
        """The run's metric at compute efficiency eta (float or numpy array)."""
        seconds = self.terms.seconds(eta) if isinstance(eta, float) else _seconds(self.terms, eta)
        return self.conv / seconds if self.rate else self.conv * seconds


def _seconds(terms: StepTerms, eta: Num) -> Num:
    import numpy as np

    # StepTerms.seconds over an array of eta: the same terms in the same order
    return np.maximum(terms.host_s, terms.compute_s / eta + terms.fixed_comm_s + terms.memory_s
                      + terms.repeats * np.maximum(0.0, terms.overlap_comm_s - terms.window_s / eta)
                      + np.maximum(0.0, terms.ring_comm_s - terms.ring_window_s / eta))


@dataclass(frozen=True)
class RunCluster:
    """The servers a published run ran on: what its source states, the rest from the catalog's offers."""

    gpus_per_node: int
    intra_node: str
    """nvlink | pcie (Offer.intra_node)."""
    network_gbps: float | None
    """Gb/s per node between nodes (None: one node)."""
    origin: str
    """Where the figures come from, in words."""


def run_cluster(run: PublishedRun, gpu: GpuSpec, catalog: Catalog) -> RunCluster:
    """The run's cluster. Fields the run states (gpus_per_node, intra_node, inter_node_gbps: the row's source or
    its cluster_source) win; a field it does not state comes from the catalog's offers, the same `estimate` plans on:
    GPUs per node and their link from the offer of this GPU with the most GPUs per instance, the network from the
    fastest offer of the GPU's generation with that link (large runs that do not name their fabric ran on clusters
    built for training); a GPU no provider offers runs in one node of its NVLink domain (or over PCIe)."""
    offers = sorted(catalog.offers({gpu.id}), key=lambda o: (o.offer.gpus_per_instance, o.offer.network_gbps or 0.0,
                                                             o.offer.intra_node == "nvlink"), reverse=True)
    best = offers[0].offer if offers else None
    stated: list[str] = []
    if run.gpus_per_node:
        per_node = run.gpus_per_node
        stated.append("gpus_per_node")
    elif best is not None:
        per_node = best.gpus_per_instance
    else:
        per_node = max(run.gpu_count or 1, gpu.interconnect.nvlink_gpus or 1)
    if run.intra_node:
        intra = "pcie" if run.intra_node.startswith("pcie") else "nvlink"
        stated.append("intra_node")
    elif best is not None and best.gpus_per_instance >= min(per_node, run.gpu_count or per_node):
        intra = best.intra_node
    else:
        intra = "nvlink" if gpu.interconnect.nvlink_gbs else "pcie"
    if run.inter_node_gbps:
        network: float | None = run.inter_node_gbps
        stated.append("inter_node_gbps")
    else:  # runs that do not state their fabric ran on clusters built for training: the generation's best network
        kin = [o.offer.network_gbps for o in catalog.offers() if o.offer.network_gbps
               and catalog.gpus[o.offer.gpu].arch == gpu.arch and o.offer.intra_node == intra]
        network = max(kin) if kin else None
    missing = [f for f in ("gpus_per_node", "intra_node", "inter_node_gbps") if f not in stated]
    origin = "stated by the run" if not missing else (
        f"{', '.join(missing)} not stated: " + (f"{offers[0].provider} {best.instance}" if best is not None
                                                 else "one node, the GPU's own link"))
    return RunCluster(per_node, intra, network, origin)


def run_offer(run: PublishedRun, gpu: GpuSpec, count: int, catalog: Catalog) -> PricedOffer:
    """The run's cluster as an offer (prices unused), planned through the same layout and network code as
    `estimate`'s offers."""
    cluster = run_cluster(run, gpu, catalog)
    per_node = min(count, cluster.gpus_per_node)
    offer = Offer(instance=f"published run {run.id} ({cluster.origin})", gpu=gpu.id, gpus_per_instance=per_node,
                  usd_per_hour=1.0, intra_node=cluster.intra_node if per_node > 1 else "pcie",
                  network_gbps=cluster.network_gbps if count > per_node else None)
    return PricedOffer("published", offer, 1.0, run_date())


def run_date() -> dt.date:
    """A fixed date for the synthetic offers (prices are not used)."""

    return dt.date(2026, 1, 1)


def run_job(run: PublishedRun, catalog: Catalog) -> TrainingJob:
    """The run's training job: throughput rows pin the per-GPU batch; whole runs give the global batch."""
    arch = resolve_architecture(run.model, catalog, run.id, seq_len=run.seq_len)
    work = workload_for(arch)
    if run.tokens is not None:
        samples = run.tokens / work.tokens_per_sample
    else:
        samples = (run.samples or 1.0) * (run.epochs or 1.0)
    count = run.gpu_count or 1
    throughput = run.metric in ("samples_per_s", "tokens_per_s")
    micro = int(run.batch) if throughput and run.batch else None
    global_batch = (run.batch * count if throughput else run.batch) if run.batch else None
    # Megatron's reported TFLOP/s are for full activation recomputation (Narayanan et al. 2021, eq. 3)
    recompute = "full" if run.metric == "tflops_per_gpu" else "auto"
    stated = run.layout
    if stated is not None:
        if stated.recompute is not None:
            recompute = stated.recompute
        replicas = count // ((stated.tp or 1) * (stated.pp or 1)) or 1
        if stated.global_batch is not None:
            global_batch = float(stated.global_batch)
        elif throughput and run.batch:  # the row's per-GPU batch is per data-parallel replica
            global_batch = run.batch * replicas
        if (stated.pp or 1) > 1:
            micro = None  # a pipeline's stated batch is its replica's; its micro-batches are searched (1)
        elif stated.micro_batch is not None:
            micro = stated.micro_batch
    optimizer = "sgd" if work.family == "cnn" else "adamw"  # NVIDIA DLE ResNet-50: SGD with momentum
    return TrainingJob(work, samples, global_batch, micro, run.precision, optimizer, run_method(run), 16, recompute,
                       run.attention or "standard", framework=run.framework, parallelism=stated_parallelism(run),
                       launch_floor_s=launch_floor_seconds(catalog, run.framework),
                       attention_stated=run.attention is not None,
                       pipeline_split=(stated.pipeline_split if stated is not None else None) or "even")


def stated_layout(job: TrainingJob, gpu: GpuSpec, offer: PricedOffer, count: int, peak: float
                  ) -> tuple[Layout, Efficiency, StepTerms] | None:
    """The run's stated layout as it ran, for a run whose layout the planner's memory model says does not fit
    (its activation model is the flash-free upper bound): tensor, pipeline, expert degrees and ZeRO stage as pinned,
    the stated recomputation (else full), micro-batch 1 in a pipeline. None when the pins do not fill the count."""
    pins = job.parallelism
    if pins is None or pins.data is None:
        return None
    tp, pp, ep, cp = pins.tensor or 1, pins.pipeline or 1, pins.expert or 1, pins.context or 1
    sharding = ZERO_SHARDING[pins.zero] if pins.zero is not None else ("zero1" if pins.data > 1 else "none")
    recompute = "none" if job.recompute == "auto" else job.recompute
    micro = job.micro_batch if job.micro_batch and pp == 1 else 1
    virtual = pins.virtual if pins.virtual and pp > 1 and (job.work.layers // pp) % pins.virtual == 0 else 1
    layout = Layout(pins.data, tp, pp, sharding, recompute, micro,
                    training_memory(job, micro, recompute, sharding, pins.data, tp, pp, ep, cp), ep, virtual, cp)
    return layout, Efficiency(1.0, 0.0, "prior", "stated layout"), step_terms(job, gpu, offer, count, layout, peak)


def stated_parallelism(run: PublishedRun) -> Parallelism | None:
    """The layout a run's source states, as the pins a user reproducing it would set (training.parallelism):
    tensor, pipeline, expert and context degrees, ZeRO stage (FSDP: 3), and the data degree when it completes the
    count. None: nothing stated or no GPU count."""
    stated, count = run.layout, run.gpu_count
    if stated is None or count is None:
        return None
    zero = 3 if stated.fsdp else stated.zero_stage
    tp, pp, cp = stated.tp or 1, stated.pp or 1, stated.cp or 1
    data = count // (tp * pp * cp) if count % (tp * pp * cp) == 0 else None
    pins = Parallelism(data=data, tensor=stated.tp or (1 if data is not None else None),
                       pipeline=stated.pp or (1 if data is not None else None), expert=stated.ep,
                       context=stated.cp or (1 if data is not None else None), zero=zero,
                       virtual=stated.vp if stated.vp and stated.vp > 1 else None)
    return pins if pins != Parallelism() else None


def build_case(run: PublishedRun, catalog: Catalog, reference: Efficiency) -> RunCase | None:
    """The run as a case; None when the planner cannot express it (no peak at its precision)."""
    gpu = catalog.gpu(run.gpu)
    peak = peak_flops(gpu, run.precision)
    if peak is None:
        return None
    job = run_job(run, catalog)
    per_node = run_cluster(run, gpu, catalog).gpus_per_node
    counts = [run.gpu_count] if run.gpu_count else [per_node * 2**k for k in range(11)
                                                    if per_node * 2**k <= MAX_SEARCH_GPUS]
    best, count, cost = None, counts[0], math.inf
    for candidate in counts:  # count not published: the one spending the fewest GPU-seconds per sample
        found = fastest_layout(job, gpu, run_offer(run, gpu, candidate, catalog), candidate, reference, peak)
        if found is None and job.parallelism is not None:  # the stated layout, even where the memory model
            found = stated_layout(job, gpu, run_offer(run, gpu, candidate, catalog), candidate, peak)  # disagrees
        if found is not None:
            layout, eff, terms = found
            gpu_seconds = terms.seconds(eff.value) * candidate / terms.samples_per_step
            if gpu_seconds < cost:
                best, count, cost = found, candidate, gpu_seconds
    offer = run_offer(run, gpu, count, catalog)
    if best is None:  # the planner's memory model says it does not fit: predict at the lightest layout anyway
        sharding = "zero3" if count > 1 else "none"
        layout = Layout(count, 1, 1, sharding, "full", job.micro_batch or 1,
                        training_memory(job, job.micro_batch or 1, True, sharding, count))
        terms = step_terms(job, gpu, offer, count, layout, peak)
    else:
        layout, _, terms = best
    samples_per_step = terms.samples_per_step
    if run.metric == "samples_per_s":
        rate, conv = True, samples_per_step
    elif run.metric == "tokens_per_s":
        rate, conv = True, samples_per_step * job.work.tokens_per_sample
    elif run.metric == "tflops_per_gpu":
        rate, conv = True, samples_per_step * job.model_flops_per_sample / (count * RECOMPUTE_MODEL_SHARE * 1e12)
    else:
        steps = job.samples / samples_per_step
        rate, conv = False, steps / 3600.0 * (count if run.metric == "gpu_hours" else 1)
    return RunCase(run, job, gpu, count, layout, terms, rate, conv, matrix_side(job.work, layout.tensor),
                   traffic_ratio(job.work, gpu, run.precision),
                   weight_ratio(job.work, gpu, run.precision, layout.micro_batch, layout.expert),
                   nchw_transposes(job.work, run.precision, run.memory_format))


def reference_efficiency(runs: list[PublishedRun], catalog: Catalog) -> Efficiency:
    """The efficiency layouts are compared at while fitting: the median implied MFU of the training runs."""
    values = [p.efficiency for r in fittable(runs) if r.group in TRAIN_GROUPS
              if (p := implied_efficiency(r, catalog)) is not None]
    return Efficiency(statistics.median(values), 0.0, "prior", "median implied MFU of the published training runs")


def training_cases(runs: list[PublishedRun], catalog: Catalog, groups: frozenset[str] = TRAIN_GROUPS
                   ) -> list[RunCase]:
    """Cases of the training runs in `groups` (all train-phase runs with groups=None)."""
    reference = reference_efficiency(runs, catalog)
    chosen = [r for r in runs if r.phase == "train" and (groups is None or r.group in groups)]
    return [c for r in chosen if (c := build_case(r, catalog, reference)) is not None]


# ----------------------------------------------------------------------------------------------- fitting


def _arrays(cases: list[RunCase]) -> dict[str, Any]:
    import numpy as np

    def col(f: Callable[[RunCase], float]) -> Any:
        return np.array([f(c) for c in cases], dtype=float)

    return {"compute": col(lambda c: c.terms.compute_s), "fixed": col(lambda c: c.terms.fixed_comm_s),
            "overlap": col(lambda c: c.terms.overlap_comm_s), "window": col(lambda c: c.terms.window_s),
            "repeats": col(lambda c: c.terms.repeats), "ring": col(lambda c: c.terms.ring_comm_s),
            "ring_window": col(lambda c: c.terms.ring_window_s), "host": col(lambda c: c.terms.host_s),
            # QLoRA's dequantizations (StepTerms.memory_s): 0 for every published run so far, none is QLoRA
            "memory": col(lambda c: c.terms.memory_s),
            "rate": col(lambda c: c.rate),
            "conv": col(lambda c: c.conv), "side": col(lambda c: c.side), "ratio": col(lambda c: c.ratio),
            "weights": col(lambda c: c.weights),
            "cnn": col(lambda c: c.job.work.family == "cnn"), "fp32": col(lambda c: c.run.precision == "fp32"),
            "nchw16": col(lambda c: c.nchw16), "flash": col(lambda c: c.flash),
            "actual": col(lambda c: c.run.value)}


def _log_predicted(a: dict[str, Any], peak: Num, half_side: Num, traffic_t: Num, traffic_c: Num, fp32_factor: Num,
                   nchw_passes: Num, traffic_f: Num, stack: Num = 1.0) -> Num:
    import numpy as np

    peak = np.minimum(1.0, peak * np.where(a["fp32"] > 0, fp32_factor, 1.0))  # traincurve.peak_of
    traffic = np.where(a["cnn"] > 0, cnn_traffic(traffic_c, nchw_passes, a["nchw16"] > 0),
                       np.where(a["flash"] > 0, traffic_f, traffic_t))
    # capped at the peak, not at each GPU's matmul ceiling as the planner caps a step (train_curve.efficiency_cap):
    # at the fitted figures no published run comes near its ceiling (tests/test_crossval.py checks), and in the
    # objective the ceiling would only steer the optimizer's path to other figures
    eta = np.minimum(1.0, curve_value(peak, half_side, traffic, a["side"], a["ratio"], a["weights"]) * stack)
    seconds = np.maximum(a["host"], a["compute"] / eta + a["fixed"] + a["memory"]
                         + a["repeats"] * np.maximum(0.0, a["overlap"] - a["window"] / eta)
                         + np.maximum(0.0, a["ring"] - a["ring_window"] / eta))
    return np.where(a["rate"] > 0, np.log(a["conv"] / seconds), np.log(a["conv"] * seconds))


WHOLE_RUN_METRICS = frozenset({"wall_clock_hours", "gpu_hours"})
"""Metrics that time a whole run rather than its steady steps: validated, never fitted (fits_curves)."""


def fits_curves(case: RunCase) -> bool:
    """Whether a case is fitted on: not an independent-check row (never fitted), not a mixture of experts, and not a
    whole run's hours. MoE rows are validated (the `moe` group), never fitted: the curve has no term for routing,
    token permutation, grouped expert GEMMs or the all-to-all, so an MoE row's residual is the expert-parallel step
    model's (plans/expert_parallel.py); fitted on, the curve's flat directions (the fp32 factor) moved unrelated
    groups whenever that model changed (docs/accuracy.md, moe). A whole run's wall-clock or GPU hours hold its
    evaluation passes, data loading, checkpoints and restarts, which the step model has no term for (the 90-epoch
    ResNet-50 times in NVIDIA DLE's README are 1.05-1.56x what its own throughput table implies: rows S35 against
    DLE-004/005/008 in catalog/published_runs.yaml); fitted on, they pulled the CNN traffic from 16 to 28 passes
    whenever the DLE throughput rows were held out (docs/accuracy.md, cnn)."""
    return (case.run.check_family is None and not case.job.work.is_moe
            and case.run.metric not in WHOLE_RUN_METRICS)


def fit_curves(cases: list[RunCase], near: Sequence[TrainCurveFit] = ()) -> list[TrainCurveFit]:
    """Curves per architecture family (≥ MIN_CURVE_RUNS runs) and the pooled 'any' curve; log_sigma 0, n and runs
    filled in (the spread comes from leave-one-out, `fit_with_spread`). `near`: curves fitted on nearly the same
    cases (a refit without one run or one fold), whose parameters the search starts from (`_start_from`)."""
    import numpy as np
    from scipy.optimize import curve_fit

    cases = [c for c in cases if fits_curves(c)]
    counts = Counter(c.arch for c in cases)
    archs = sorted(a for a, n in counts.items() if n >= MIN_CURVE_RUNS)
    own = [c for c in cases if c.arch in archs]
    a = _arrays(own)
    index = np.array([archs.index(c.arch) for c in own])
    k = len(archs)
    stack_counts = Counter(c.job.framework for c in own if c.job.framework not in (None, BASELINE_STACK))
    stack_sources: dict[str, set[str]] = {}
    for c in own:
        stack_sources.setdefault(str(c.job.framework), set()).add(c.run.source.split(" ")[0])
    stacks = sorted(str(f) for f, n in stack_counts.items()
                    if n >= MIN_STACK_RUNS and len(stack_sources[str(f)]) >= MIN_STACK_SOURCES)

    def stack_column(members: list[RunCase], factors: np.ndarray) -> np.ndarray:
        # stacks without a factor of their own (or not stated) run at the curve itself, as stack_factor does
        return np.array([factors[stacks.index(str(c.job.framework))] if c.job.framework in stacks else 1.0
                         for c in members])

    # each run carried from its family's GPUs to its own (train_curve.chip_transfer; 1 for fp32 runs and where a
    # figure is missing)
    chip = [(ceiling_share(c.gpu, "bf16"), tensor_rate(c.gpu)) if c.run.precision in TENSOR_PRECISIONS
            else (None, None) for c in own]
    fit_share = {arch: _median_of([s for (s, _), c in zip(chip, own) if c.arch == arch]) for arch in archs}
    fit_rate = {arch: _median_of([r for (_, r), c in zip(chip, own) if c.arch == arch]) for arch in archs}
    carried = [i for i, ((s, r), c) in enumerate(zip(chip, own)) if s and r and fit_share[c.arch] and fit_rate[c.arch]]
    carried_at = np.array(carried, dtype=int)
    chip_arrays = [np.array(column, dtype=float) for column in zip(
        *[(fit_share[own[i].arch], fit_rate[own[i].arch], chip[i][0], chip[i][1]) for i in carried])]

    def model(_: object, *theta: float) -> Num:
        peaks = np.exp(np.asarray(theta[:k]))[index]
        if carried:
            peaks[carried_at] = peaks[carried_at] * chip_transfer(peaks[carried_at], *chip_arrays)
        half_side, traffic_t, traffic_c, fp32_factor = np.exp(theta[k:k + 4])
        stack = stack_column(own, np.exp(np.asarray(theta[k + 5:])))
        return _log_predicted(a, peaks, half_side, traffic_t, traffic_c, fp32_factor, NCHW_PASSES, theta[k + 4],
                              stack)

    # every stored activation is written once in forward and read once in backward: no kernel fusion makes fewer
    # than MIN_PASSES passes, so the traffic coefficients start there (traffic_flash on a linear scale)
    start = [math.log(0.5)] * k + [math.log(300.0), math.log(3.0), math.log(3.0), 0.0, 3.0] + [0.0] * len(stacks)
    lower = [math.log(1e-3)] * k + [math.log(1e-3)] + [math.log(MIN_PASSES)] * 2 + [math.log(0.05), MIN_PASSES] \
        + [math.log(STACK_FACTOR_RANGE[0])] * len(stacks)
    upper = [0.0] * k + [math.log(1e5), math.log(1e3), math.log(1e3), math.log(20.0), 1e3] \
        + [math.log(STACK_FACTOR_RANGE[1])] * len(stacks)
    start = _start_from(near, archs, stacks) or start
    theta = _regularised_fit(model, np.log(a["actual"]), start, lower, upper, k, len(stacks))
    half_side, traffic_t, traffic_c, fp32_factor = (float(x) for x in np.exp(theta[k:k + 4]))
    nchw_passes, traffic_f = NCHW_PASSES, float(theta[k + 4])
    factors = np.exp(np.asarray(theta[k + 5:]))
    stack_factors = {f: _sig(float(factors[i])) for i, f in enumerate(stacks)}
    stack_runs = {f: stack_counts[f] for f in stacks}
    everything = _arrays(cases)
    # the pooled curve stands for architectures without runs, each scaled by its matmul ceiling over the runs' GPUs'
    # (train_curve.ceiling_factor): fitted the same way, each run scaled by its own GPU's
    per_case = [ceiling_share(c.gpu, c.run.precision) for c in cases]
    shares = [s for s in per_case if s]
    reference = _sig(statistics.median(shares)) if shares else None
    ceilings = np.array([s / reference if reference and s else 1.0 for s in per_case])
    everything_stack = stack_column(cases, factors) * ceilings

    def pooled(_: object, log_peak: float) -> Num:
        return _log_predicted(everything, math.exp(log_peak), half_side, traffic_t, traffic_c, fp32_factor,
                              nchw_passes, traffic_f, everything_stack)

    (log_peak,), _ = curve_fit(pooled, np.zeros(len(cases)), np.log(everything["actual"]),
                               p0=[math.log(0.5)], bounds=([math.log(1e-3)], [0.0]))

    def curve(arch: str, peak: float, members: list[RunCase]) -> TrainCurveFit:
        return TrainCurveFit(arch=arch, peak_efficiency=_sig(peak), half_side=_sig(half_side),
                             ceiling_share=reference if arch == "any" else fit_share[arch],
                             sm_rate=None if arch == "any" else fit_rate[arch],
                             traffic_transformer=_sig(traffic_t), traffic_flash=_sig(traffic_f),
                             traffic_cnn=_sig(traffic_c), fp32_factor=_sig(fp32_factor),
                             nchw_passes=_sig(nchw_passes), log_sigma=0.0,
                             n=len(members), runs=sorted(c.run.id for c in members),
                             stack_factors=stack_factors, stack_runs=stack_runs)

    fits = [curve(arch, math.exp(theta[i]), [c for c in own if c.arch == arch]) for i, arch in enumerate(archs)]
    return fits + [curve("any", math.exp(log_peak), cases)]


PLAUSIBLE = {"peak": (0.3, 0.95), "traffic": (MIN_PASSES, 100.0), "flash_traffic": (MIN_PASSES, 100.0),
             "fp32_factor": (0.5, 4.0), "stack": STACK_FACTOR_RANGE}
"""Plausible range of each regularised curve parameter, read as its prior's ±2σ in log space (the fit is a maximum a
posteriori estimate, `_regularised_fit`): an architecture's large-matmul peak efficiency between 0.3 and 0.95 of the
dense datasheet peak (the best measured matmuls reach 0.51-0.97 of it: stas00/ml-engineering compute/accelerator
README.md @744d01e, MAMF table); memory passes over the stored activations from MIN_PASSES to 100 (an eager step with
every element-wise operator in its own kernel; the flash traffic's prior centred at FLASH_PASSES); fp32 on CUDA cores reaching 0.5-4× the fraction of its peak that
tensor cores reach of theirs; a stack factor within STACK_FACTOR_RANGE. half_side has no published figure to centre a
prior on: it is left free."""
FLASH_PASSES = 224.0 / 34.0
"""Where the flash traffic's prior is centred (6.6 passes), counted rather than fitted: the bytes every kernel of a
pre-LN GPT layer with flash attention (4d GeLU MLP, dropout after the projection and the MLP, 16-bit) reads and
writes of its activations, once each, per token and per unit of the hidden size d, over the 34 bytes the layer
stores (model/workload.py, Korthikanti et al. 2022 §4.1). Forward 86: LayerNorms 4 + 4, the QKV, projection, fc1 and
fc2 GEMMs' inputs and outputs 8 + 4 + 10 + 10, flash attention 8 (Q, K, V read, O written), two dropouts 5 + 5 (mask
written), two residual adds 6 + 6, GeLU 16. Backward 138: the GEMMs' data and weight gradients 16 + 8 + 20 + 20
(each reads its output's gradient and its input, writes its input's gradient), flash attention 16 (Q, K, V, O, dO
read; dQ, dK, dV written), GeLU 24, LayerNorms 6 + 6, dropouts 5 + 5, the residual branches' gradient sums 6 + 6.
llm-foundry is the one fitted source that states a flash kernel (catalog/published_runs.yaml); held out, the fit
had only the prior to go on, then centred at the range's geometric middle, 14.1 passes, and predicted its A100 runs
17-32 % too slow (fitted on them: 8.5 passes; docs/accuracy.md, llm-pretraining)."""
PRIOR_CENTRE = {"flash_traffic": FLASH_PASSES}
"""Priors centred on a counted value instead of their plausible range's geometric middle."""
ARCH_SPREAD = 0.1
"""σ of ln(peak efficiency) between architecture families around their common level (a hierarchical prior): twice the
spread of the measured matmul ceilings of NVIDIA's data-centre parts (σ of ln(MAMF / dense peak) = 0.056 over A100
SXM and PCIe, GH200, H100, B200, B300, GB200, MAMF table above), the rest left to their software. Without it a
family's peak follows its few fitted sources: with Volta's 10 runs its peak sat at the bound 1.0 and the fp32 factor
at 9 (docs/accuracy.md, "A fit with priors")."""
FIT_ROUNDS = 3
"""Rounds of the fit: each weighs the priors against the data by the previous round's residual σ."""


def _start_from(curves: Sequence[TrainCurveFit], archs: list[str], stacks: list[str]) -> list[float] | None:
    """fit_curves' parameter vector read back from curves that hold every family and stack factor of this fit (the
    same optimum is found from there in a few evaluations; refits in leave-one-out and cross-validation), else
    None."""
    by_arch = {c.arch: c for c in curves}
    if not curves or any(a not in by_arch for a in archs) or any(f not in curves[0].stack_factors for f in stacks):
        return None
    first = curves[0]
    shape = [first.half_side, first.traffic_transformer, first.traffic_cnn, first.fp32_factor]
    # the shape's lower bounds are 1e-3 (half_side) and MIN_PASSES (flash traffic): a stored, rounded value stays in
    return [math.log(by_arch[a].peak_efficiency) for a in archs] + [math.log(max(v, 1e-3)) for v in shape] \
        + [first.traffic_flash or MIN_PASSES] + [math.log(first.stack_factors[f]) for f in stacks]


def _regularised_fit(model: Callable[..., Any], y: Any, start: list[float], lower: list[float], upper: list[float],
                     k: int, n_stacks: int) -> Any:
    """Maximum a posteriori fit of the curve parameters θ (fit_curves' order: k family peaks, half_side, the
    transformer and CNN traffic, the fp32 factor, the flash traffic, the stack factors): least squares on the log
    residuals plus, per parameter with a PLAUSIBLE range, (ln θ − ln centre) / (¼ ln(high / low)) (centre: the range's
    geometric middle, or PRIOR_CENTRE's counted value), and per family
    peak its deviation from the families' mean over ARCH_SPREAD, all weighted by the data's residual σ (unit-σ
    priors against residuals of σ), by scipy.optimize.least_squares within the bounds."""
    import numpy as np
    from scipy.optimize import least_squares

    names = ["peak"] * k + ["half_side", "traffic", "traffic", "fp32_factor", "flash_traffic"] + ["stack"] * n_stacks
    chosen = np.array([i for i, n in enumerate(names) if n in PLAUSIBLE])
    centre = np.array([math.log(PRIOR_CENTRE.get(names[i]) or math.sqrt(PLAUSIBLE[names[i]][0] * PLAUSIBLE[names[i]][1]))
                       for i in chosen])
    width = np.array([math.log(PLAUSIBLE[names[i]][1] / PLAUSIBLE[names[i]][0]) / 4 for i in chosen])
    flash = k + 4  # the flash traffic is fitted on a linear scale

    def logs(theta: Any) -> Any:
        out = np.array(theta, dtype=float)
        out[flash] = math.log(max(float(theta[flash]), MIN_PASSES))
        return out[chosen]

    sigma, theta = 0.3, np.array(start, dtype=float)  # round 1: σ of the order of the curves' log_sigma
    for _ in range(FIT_ROUNDS):
        def residuals(t: Any, s: float = sigma) -> Any:
            peaks = t[:k]
            return np.concatenate([model(None, *t) - y, s * (logs(t) - centre) / width,
                                   s * (peaks - peaks.mean()) / ARCH_SPREAD])

        theta = least_squares(residuals, theta, bounds=(lower, upper)).x
        sigma = float(np.sqrt(np.mean((model(None, *theta) - y) ** 2)))
    return theta


def _sig(value: float) -> float:
    """Four significant figures: what the catalog stores."""
    return float(f"{value:.4g}")


def _median_of(values: Sequence[float | None]) -> float | None:
    """The median of the figures given, at the catalog's four significant figures (None: none given)."""
    known = [v for v in values if v]
    return _sig(statistics.median(known)) if known else None


def case_efficiency(case: RunCase, curves: list[TrainCurveFit] | tuple[TrainCurveFit, ...]) -> tuple[float, str]:
    """The compute efficiency these curves give the run, and the arch of the curve used."""
    fit = pick_curve(curves, case.arch)
    assert fit is not None  # curves always hold the pooled "any" curve
    traffic = traffic_of(fit, case.job.work.family, case.job.attention, case.nchw16)
    eta = float(curve_value(gpu_peak(fit, case.gpu, case.run.precision), fit.half_side, traffic, case.side, case.ratio,
                            case.weights))
    return min(efficiency_cap(case.gpu, case.run.precision),
               eta * stack_factor(fit, case.job.framework) * ceiling_factor(fit, case.gpu, case.run.precision)), \
        fit.arch


def case_prediction(case: RunCase, curves: list[TrainCurveFit] | tuple[TrainCurveFit, ...]) -> tuple[float, str]:
    """The run's predicted metric with these curves, and the arch of the curve used."""
    eta, arch = case_efficiency(case, curves)
    return case.predict(eta), arch


@dataclass(frozen=True)
class LeaveOneOut:
    """Each case predicted by curves fitted without it."""

    cases: list[RunCase]
    predicted: list[float]
    curve_arch: list[str]
    """Which curve predicted it ('any' when its family had too few other runs)."""

    @property
    def log_residuals(self) -> list[float]:
        """ln(predicted / actual) per case."""
        return [math.log(p / c.run.value) for p, c in zip(self.predicted, self.cases)]


class Refits:
    """fit_curves on subsets of one list of cases, each started from the curves fitted on all of them (`near`), each
    distinct set of fitted cases fitted once. fit_curves reads only the cases it fits on (fits_curves), in order, and
    its start, so leaving out a case it never fits on (an independent-check or MoE row) or a fold of such cases leaves
    the same refit: leave-one-out and cross-validation run it once for all of them (bit-identical to refitting each
    time)."""

    def __init__(self, near: Sequence[TrainCurveFit]) -> None:
        self.near = near
        self._fitted: dict[tuple[int, ...], list[TrainCurveFit]] = {}

    def fit(self, cases: list[RunCase]) -> list[TrainCurveFit]:
        """fit_curves(cases, near), once per set of fitted cases (the curves are shared: read them, never mutate)."""
        key = tuple(id(c) for c in cases if fits_curves(c))
        if key not in self._fitted:
            self._fitted[key] = fit_curves(cases, self.near)
        return self._fitted[key]


def leave_one_out(cases: list[RunCase], full: Sequence[TrainCurveFit] | None = None) -> LeaveOneOut:
    """Refit without each case in turn and predict it. full: the curves fitted on every case, when already fitted."""
    predicted, used = [], []
    refits = Refits(fit_curves(cases) if full is None else full)
    for i, case in enumerate(cases):
        curves = refits.fit(cases[:i] + cases[i + 1:])
        value, arch = case_prediction(case, curves)
        predicted.append(value)
        used.append(arch)
    return LeaveOneOut(cases, predicted, used)


def rms(values: Sequence[float]) -> float:
    """Root mean square (bias counts as spread: the interval must cover it): the one used for every residual
    spread (curve σ here, interval σ in planner/validate/crossval.py, the extrapolation σ of scripts/fit_priors.py)."""
    return math.sqrt(sum(v * v for v in values) / len(values)) if values else 0.0


def spread_by_arch(loo: LeaveOneOut, curves: list[TrainCurveFit], exclude: int | None = None) -> dict[str, float]:
    """log_sigma per curve: RMS of the leave-one-out residuals of the runs it covers (optionally leaving one out)."""
    residuals = loo.log_residuals
    out = {}
    for fit in curves:
        chosen = [r for i, (r, c) in enumerate(zip(residuals, loo.cases))
                  if i != exclude and (fit.arch == "any" or c.arch == fit.arch)]
        out[fit.arch] = min(3.0, rms(chosen))
    return out


def fit_with_spread(cases: list[RunCase]) -> tuple[list[TrainCurveFit], LeaveOneOut]:
    """The catalog's curves: fitted on every case, log_sigma from the leave-one-out residuals."""
    curves = fit_curves(cases)
    loo = leave_one_out(cases, curves)
    sigma = spread_by_arch(loo, curves)
    return [c.model_copy(update={"log_sigma": _sig(sigma[c.arch])}) for c in curves], loo


def load_published_runs(catalog_dir: Path | str, catalog: Catalog) -> list[PublishedRun]:
    """The catalog's published runs, each GPU id and model preset checked against the catalog (a bad one is an
    InputError placed at its line of published_runs.yaml)."""
    from pathlib import Path

    runs, doc = load_model_file(Path(catalog_dir) / "published_runs.yaml", PublishedRunsFile, "published runs")
    for i, run in enumerate(runs.runs):
        for field, check in (("gpu", lambda r: catalog.gpu(r.gpu)),
                             ("model", lambda r: resolve_architecture(r.model, catalog, r.id, seq_len=r.seq_len))):
            try:
                check(run)
            except PlannerError as exc:
                if exc.file:
                    raise
                raise doc.error(("runs", i, field), exc.message, hint=exc.hint) from None
    return runs.runs


@lru_cache(maxsize=2)
def cached_cases(catalog_dir: str) -> list[RunCase]:
    """The training cases of a catalog directory's published runs, built once per process."""
    catalog = load_catalog(catalog_dir)
    return training_cases(load_published_runs(catalog_dir, catalog), catalog)


@lru_cache(maxsize=2)
def cached_leave_one_out(catalog_dir: str) -> tuple[list[TrainCurveFit], LeaveOneOut, list[RunCase]]:
    """fit_with_spread over a catalog directory's published runs, computed once per process."""
    cases = cached_cases(catalog_dir)
    curves, loo = fit_with_spread(cases)
    return curves, loo, cases
