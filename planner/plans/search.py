"""`gpuplan estimate`: for every candidate GPU offer, the best training and serving plan, sorted best first."""
from __future__ import annotations

import copy
import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import TypeVar

from planner.catalog.dominance import undominated
from planner.catalog.load import Catalog, PricedOffer
from planner.catalog.trust import price_flags
from planner.efficiency.calibrated import EfficiencyBook
from planner.efficiency.local_device import LocalDevice
from planner.efficiency.origin import Efficiency, prior_efficiency
from planner.io.profile import LoadedProfile, resolve_architecture
from planner.model.bill import training_bill
from planner.model.costing import run_cost_usd
from planner.model.workload import Workload, workload_for
from planner.plans import bounds
from planner.plans.owned import (
    OWNED,
    BuyVersusRent,
    buy_versus_rent,
    owned_instance,
    owned_offers,
)
from planner.plans.serving import (
    COMPUTE_PRECISION,
    ServingEfficiency,
    ServingPlan,
    plan_batch_serving,
    plan_llm_serving,
)
from planner.plans.spot import checkpoint_bytes
from planner.plans.training import (
    TrainingJob,
    TrainingPlan,
    final_weights_bytes,
    plan_training,
    training_job,
)
from planner.schema.catalog import GpuSpec
from planner.schema.model import ModelSection
from planner.schema.profile import Training

INSTANCE_STEPS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048,
                  3072, 4096, 6144, 8192, 12288, 16384, 24576, 32768, 49152, 65536)
"""Instance counts searched: powers of two and their 1.5× midpoints."""
PlanMemo = dict[tuple[object, ...], tuple[Efficiency, TrainingPlan]]
"""Plans already computed in one estimate, by offer shape and count (with the efficiency they used)."""
COST_RISE_STOP = 1.10
"""The count search stops once a feasible plan costs this much more than the cheapest feasible one found: with
sublinear scaling, GPUs × hours only grows with the count (a 10 % margin lets billing rounding and a larger
micro-batch at a higher count show a cheaper plan first)."""


@dataclass(frozen=True)
class TrainingEstimate:
    """The training section of an estimate."""

    job: TrainingJob
    plans: list[TrainingPlan]

    @property
    def feasible(self) -> bool:
        """Some plan meets every constraint."""
        return any(p.feasible for p in self.plans)


@dataclass(frozen=True)
class ServingEstimate:
    """The inference section of an estimate."""

    work: Workload
    plans: list[ServingPlan]

    @property
    def feasible(self) -> bool:
        """Some plan meets every latency target."""
        return any(p.meets_slo for p in self.plans)


@dataclass(frozen=True)
class Estimate:
    """Everything `gpuplan estimate` reports."""

    profile: str
    catalog_as_of: dt.date
    training: TrainingEstimate | None
    inference: ServingEstimate | None
    warnings: list[str]
    buy_vs_rent: tuple[tuple[str, BuyVersusRent], ...] = ()
    """(section, line) per owned machine with a purchase price (constraints.owned)."""

    @property
    def feasible(self) -> bool:
        """Every requested section has a plan that meets its constraints."""
        return all(s.feasible for s in (self.training, self.inference) if s is not None)


def estimate(loaded: LoadedProfile, catalog: Catalog, today: dt.date | None = None,
             book: EfficiencyBook | None = None, local: LocalDevice | None = None) -> Estimate:
    """Plans for the profile's training and inference sections over the catalog's offers.

    `book` gives calibrated/transferred efficiencies (default: priors); `local` adds the measured device's row."""
    profile = loaded.profile
    constraints = profile.constraints
    day = today or dt.date.today()
    offers = searched_offers(loaded, catalog, day)
    priced = {(o.provider, o.offer.instance): o for o in offers}
    warnings: list[str] = list(loaded.warnings)
    if not offers:
        warnings.append("no offer in the catalog matches constraints.gpus and constraints.providers")
    training = inference = None
    if profile.training is not None:
        tokens_per_sample = profile.training.dataset.tokens_per_sample
        arch = loaded.arch
        if tokens_per_sample is not None and arch.family in ("decoder", "encoder"):
            arch = bounds.sequence_architecture(profile.model, catalog, profile.name, tokens_per_sample,
                                                loaded.document)
        job = training_job(workload_for(arch), profile.training)
        bounds.check_training(job, profile.training, offers, catalog,
                              lambda offer: candidate_counts(offer, constraints.max_gpus, constraints.gpu_count),
                              loaded.document)
        memo: PlanMemo = {}
        priors: dict[str, Efficiency] = {}
        plans = [plan for offer in offers
                 if (plan := best_training_plan(job, catalog, offer, profile.training.deadline,
                                                profile.training.budget, constraints.gpu_count,
                                                constraints.max_gpus, constraints.spot,
                                                efficiency=(_book_train(book, catalog, offer, job)
                                                            or _prior_train(catalog, offer, job, priors)),
                                                memo=memo)) is not None]
        plans = [_with_bill(_with_price_trust(p, priced, day), catalog, job, profile.training) for p in plans]
        if local is not None:
            from planner.plans.local import local_training_plan

            plans += local_training_plan(local, job, profile.training, warnings)
        training = TrainingEstimate(job, sorted(plans, key=_training_rank))
    if profile.inference is not None:
        work = workload_for(loaded.arch)
        if profile.inference.speculative is not None:  # the draft rides on the same GPUs (load_profile checked it)
            draft = resolve_architecture(ModelSection(preset=profile.inference.speculative.draft), catalog)
            work = dataclasses.replace(work, draft=workload_for(draft))
        bounds.check_serving(work, profile.inference, offers, catalog, loaded.document)
        plans = [serving_plan(work, profile.inference, catalog, offer, eff=_book_serving(book, catalog, offer, work,
                                                                                        profile.inference))
                 for offer in offers]
        plans = [_with_price_trust(p, priced, day) for p in plans]
        if local is not None:
            from planner.plans.local import local_serving_plan

            plans += local_serving_plan(local, work, profile.inference, warnings)
        inference = ServingEstimate(work, sorted(plans, key=_serving_rank))
    lines = _buy_versus_rent(loaded, training, inference)
    return Estimate(profile.name, catalog.as_of, training, inference, warnings, lines)


def _training_rank(plan: TrainingPlan) -> tuple:
    return (not plan.feasible, not plan.fits, plan.cost_usd_p50 if plan.feasible else plan.hours_p50,
            plan.hours_p50, plan.gpu, plan.provider)


def _serving_rank(plan: ServingPlan) -> tuple:
    return (not plan.meets_slo, not plan.fits, plan.monthly_cost_usd if plan.fits else 0.0, plan.gpu_count,
            plan.gpu, plan.provider)


def candidate_counts(offer: PricedOffer, max_gpus: int, pinned: int | None) -> list[int]:
    """GPU counts searched on an offer: whole instances; one instance only when the offer states no network."""
    if pinned is not None:
        return [pinned]
    per = offer.offer.gpus_per_instance
    steps = INSTANCE_STEPS if offer.offer.network_gbps else (1,)
    return [k * per for k in steps if k * per <= max(max_gpus, per)]


def best_training_plan(job: TrainingJob, catalog: Catalog, offer: PricedOffer, deadline_s: float | None,
                       budget_usd: float | None, pinned: int | None, max_gpus: int, spot: bool,
                       confidence_key: str = "hours_p50", efficiency: Efficiency | None = None,
                       gpu: GpuSpec | None = None,
                       memo: PlanMemo | None = None) -> TrainingPlan | None:
    """The cheapest count meeting deadline and budget on this offer; else the fastest, with its reasons.
    `efficiency` (default: the prior) and `gpu` (default: the offer's catalog GPU) override the catalog's."""
    gpu = gpu or catalog.gpus[offer.offer.gpu]
    efficiency = efficiency or prior_efficiency(catalog, gpu, "train", job.work.family)
    best: TrainingPlan | None = None
    fastest: TrainingPlan | None = None
    counts = candidate_counts(offer, max_gpus, pinned)
    peak = gpu.peak_tflops.get(job.precision)
    if deadline_s is not None and peak and len(counts) > 1:
        # counts whose roofline (every GPU at its dense peak, no communication) misses the deadline can neither meet
        # it nor be the fastest while a larger count passes: beyond the first instance they are skipped
        reach = [c for c in counts if job.model_flops / (c * peak * 1e12) <= deadline_s]
        if reach:
            counts = [c for c in counts if c in reach or c <= offer.offer.gpus_per_instance]
    for count in counts:
        plan = plan_training_shared(job, gpu, offer, count, efficiency, spot, memo)
        reasons = list(plan.reasons)
        meets = deadline_s is None or getattr(plan, confidence_key) * 3600.0 <= deadline_s
        within = budget_usd is None or plan.cost_usd_p50 <= budget_usd
        if not meets:
            reasons.append(f"misses the deadline ({plan.hours_p50:,.1f} h > {deadline_s / 3600:,.1f} h)")
        if not within:
            reasons.append(f"over budget (${plan.cost_usd_p50:,.0f} > ${budget_usd:,.0f})")
        plan = _evolve(plan, reasons=tuple(reasons), meets_deadline=meets, within_budget=within)
        if plan.feasible and (best is None or (plan.cost_usd_p50, plan.hours_p50) < (best.cost_usd_p50,
                                                                                      best.hours_p50)):
            best = plan
        if plan.fits and (fastest is None or plan.hours_p50 < fastest.hours_p50) or fastest is None:
            fastest = plan
        if fastest.fits and plan.fits and plan.hours_p50 > fastest.hours_p50 * 1.05:
            break  # communication-bound: past the fastest count, more GPUs only add time and cost
        if best is not None and plan.feasible and plan.cost_usd_p50 > best.cost_usd_p50 * COST_RISE_STOP:
            break  # past the cheapest feasible count: cost = GPUs × hours only grows while scaling is sublinear
    return best or fastest


T = TypeVar("T")


def _evolve(obj: T, **changes: object) -> T:
    """dataclasses.replace for the plan dataclasses (no __post_init__): a shallow copy with fields set, ~10× faster,
    which matters with thousands of candidate plans per estimate."""
    new = copy.copy(obj)
    for name, value in changes.items():
        object.__setattr__(new, name, value)
    return new


def _prior_train(catalog: Catalog, offer: PricedOffer, job: TrainingJob, priors: dict[str, Efficiency]) -> Efficiency:
    """The prior training efficiency of the offer's GPU, one object per GPU within an estimate (so plans of one
    shape can be shared)."""
    gpu_id = offer.offer.gpu
    if gpu_id not in priors:
        priors[gpu_id] = prior_efficiency(catalog, catalog.gpus[gpu_id], "train", job.work.family)
    return priors[gpu_id]


def plan_training_shared(job: TrainingJob, gpu: GpuSpec, offer: PricedOffer, count: int, efficiency: Efficiency,
                          spot: bool, memo: PlanMemo | None) -> TrainingPlan:
    """plan_training, shared between offers of one shape (GPU, GPUs per instance, link, network): their times are
    the same, so a plan computed for one is repriced for the others (`memo` lives for one estimate)."""
    if memo is None:
        return plan_training(job, gpu, offer, count, efficiency, spot)
    o = offer.offer
    key = (gpu.id, o.gpus_per_instance, o.intra_node, o.network_gbps, count, id(efficiency), spot)
    found = memo.get(key)
    if found is None:
        plan = plan_training(job, gpu, offer, count, efficiency, spot)
        memo[key] = (efficiency, plan)  # the efficiency is kept alive so its id is not reused within the memo
        return plan
    plan = found[1]
    price = o.spot_usd_per_hour if spot and o.spot_usd_per_hour else o.usd_per_hour
    costs = [run_cost_usd(plan.instances, price, h, offer.billing_seconds)
             for h in (plan.hours_p10, plan.hours_p50, plan.hours_p90)]
    return _evolve(plan, provider=offer.provider, instance=o.instance, usd_per_hour=price,
                               cost_usd_p10=costs[0], cost_usd_p50=costs[1], cost_usd_p90=costs[2],
                               billing_seconds=offer.billing_seconds, spot=spot and o.spot_usd_per_hour is not None)


def serving_plan(work: Workload, inference, catalog: Catalog, offer: PricedOffer,
                 eff: ServingEfficiency | None = None, gpu: GpuSpec | None = None) -> ServingPlan:
    """The cheapest serving configuration on one offer (or the closest, with its reasons); `eff` and `gpu`
    override the priors and the offer's catalog GPU."""
    gpu = gpu or catalog.gpus[offer.offer.gpu]
    if eff is not None:
        return (plan_llm_serving if work.is_generative else plan_batch_serving)(work, inference, gpu, offer, eff)
    if work.is_generative:
        eff = ServingEfficiency(prior_efficiency(catalog, gpu, "prefill", work.family),
                                prior_efficiency(catalog, gpu, "decode", work.family))
        return plan_llm_serving(work, inference, gpu, offer, eff)
    eff = forward_efficiency(catalog, gpu, work.family, getattr(inference, "engine", None))
    return plan_batch_serving(work, inference, gpu, offer, eff)


def forward_efficiency(catalog: Catalog, gpu: GpuSpec, family: str, engine: str | None) -> ServingEfficiency:
    """Non-generative serving: torch-eager (the default engine) at the launch-floor fit (compute efficiency of the
    GPU's family and the host floor per kernel, catalog/priors.yaml launch_floors); another engine at the forward
    prior without a host floor (no published rows for it: its detail says so)."""
    bandwidth = prior_efficiency(catalog, gpu, "decode", "any")
    eager = (engine or "torch-eager") == "torch-eager"
    if eager and catalog.launch_floors:
        floor = catalog.launch_floors[0]
        value = floor.efficiency.get(gpu.arch, floor.efficiency["any"])
        scope = gpu.arch if gpu.arch in floor.efficiency else "all"
        compute = Efficiency(value, floor.log_sigma, "prior",
                             f"forward efficiency fitted on {floor.n} published run(s) ({scope} GPUs), engine "
                             f"torch-eager with a {floor.microseconds:g} µs host floor per kernel; set "
                             "inference.engine to plan another")
        return ServingEfficiency(compute, bandwidth, floor.microseconds * 1e-6)
    compute = prior_efficiency(catalog, gpu, "infer", family)
    note = "" if eager else f"; engine {engine}: no published rows, no host floor assumed"
    return ServingEfficiency(dataclasses.replace(compute, detail=compute.detail + note), bandwidth)


def _book_train(book, catalog: Catalog, offer: PricedOffer, job: TrainingJob) -> Efficiency | None:
    """Training efficiency from the calibration book at one sample's training FLOP (None: use the prior)."""
    if book is None or not book.calibrated:
        return None
    return book.get(catalog.gpus[offer.offer.gpu], "train", job.work.family, job.precision,
                    job.work.train_flops_per_sample, job.trainable_params)


def _book_serving(book, catalog: Catalog, offer: PricedOffer, work: Workload, inference) -> ServingEfficiency | None:
    """Serving efficiencies from the calibration book (None: use the priors); sizes in inference_sizes."""
    if book is None or not book.calibrated:
        return None
    from planner.plans.local import inference_sizes

    gpu = catalog.gpus[offer.offer.gpu]
    (ck, cs), (bk, bs) = inference_sizes(work, inference)
    family_b = work.family if work.is_generative else "any"
    precision = COMPUTE_PRECISION[inference.precision]
    return ServingEfficiency(book.get(gpu, ck, work.family, precision, cs, work.params),
                             book.get(gpu, bk, family_b, precision, bs))


P = TypeVar("P", TrainingPlan, ServingPlan)


def _with_price_trust(plan: P, priced: dict[tuple[str, str], PricedOffer], today: dt.date) -> P:
    """The plan with its offer's price date and doubts (planner/catalog/trust.py), and the network it assumed."""
    offer = priced.get((plan.provider, plan.instance))
    if offer is None:
        return plan
    spans = isinstance(plan, TrainingPlan) and plan.instances > 1  # serving replicas do not talk to each other
    assumed = offer.offer.network_gbps if offer.network_assumed and spans else None
    return _evolve(plan, price_as_of=offer.as_of, price_flags=price_flags(offer, today), assumed_network_gbps=assumed,
                   discount_percent=offer.discount_percent)


def _buy_versus_rent(loaded: LoadedProfile, training: TrainingEstimate | None,
                     inference: ServingEstimate | None) -> tuple[tuple[str, BuyVersusRent], ...]:
    """Each owned machine with a purchase price against the cheapest rental plan meeting the targets."""
    lines: list[tuple[str, BuyVersusRent]] = []
    constraints = loaded.profile.constraints
    for machine, gpu_id in zip(constraints.owned, loaded.owned_gpu_ids):
        instance = owned_instance(machine, gpu_id)
        if training is not None:
            own = next((p for p in training.plans if p.provider == OWNED and p.instance == instance), None)
            rent = next((p for p in training.plans if p.provider not in (OWNED, "local") and p.feasible), None)
            if own is not None:
                line = buy_versus_rent(machine, instance, own.usd_per_hour, own.hours_p50,
                                       f"{rent.gpu_count}x {rent.gpu} at {rent.provider} ({rent.instance})"
                                       if rent else None, rent.cost_usd_p50 if rent else None)
                if line is not None:
                    lines.append(("training", line))
        if inference is not None and loaded.profile.inference is not None:
            own_s = next((p for p in inference.plans if p.provider == OWNED and p.instance == instance), None)
            rent_s = next((p for p in inference.plans if p.provider not in (OWNED, "local") and p.meets_slo), None)
            if own_s is not None and own_s.meets_slo:
                hours = loaded.profile.inference.hours_per_month
                line = buy_versus_rent(machine, instance, own_s.monthly_cost_usd / hours, hours,
                                       f"{rent_s.replicas}x{rent_s.gpus_per_replica} {rent_s.gpu} at "
                                       f"{rent_s.provider} ({rent_s.instance})" if rent_s else None,
                                       rent_s.monthly_cost_usd if rent_s else None)
                if line is not None:
                    lines.append(("inference", line))
    return tuple(lines)


def searched_offers(loaded: LoadedProfile, catalog: Catalog, today: dt.date) -> list[PricedOffer]:
    """The offers a search plans on: those the constraints allow, less the dominated ones, with the assumed
    network for offers that state none."""
    constraints = loaded.profile.constraints
    offers = catalog.offers(set(loaded.gpu_ids) if loaded.gpu_ids else None,
                            set(loaded.provider_ids) if loaded.provider_ids else None)
    offers = with_discounts(offers, dict(loaded.discounts))
    rented = with_assumed_network(undominated(offers, today), constraints.assumed_network_gbps
                                  or catalog.slowest_stated_network_gbps)
    return rented + owned_offers(constraints.owned, loaded.owned_gpu_ids, catalog, constraints.usd_per_kwh,
                                 constraints.pue, today)


def _with_bill(plan: TrainingPlan, catalog: Catalog, job: TrainingJob, training: Training) -> TrainingPlan:
    """The plan with its storage and egress lines (planner/model/bill.py)."""
    bill = training_bill(catalog.facts.get(plan.provider), plan.hours_p50, training.dataset_gb,
                         checkpoint_bytes(job) / 1e9, training.checkpoints_kept, training.retention_days,
                         final_weights_bytes(job) / 1e9)
    return _evolve(plan, storage_usd=bill.storage_usd, egress_usd=bill.egress_usd, bill_notes=bill.notes)


def with_discounts(offers: list[PricedOffer], discounts: dict[str, float]) -> list[PricedOffer]:
    """Offers of providers the user holds a discount with, at the discounted on-demand and spot prices."""
    if not discounts:
        return offers
    out = []
    for o in offers:
        pct = discounts.get(o.provider)
        if not pct:
            out.append(o)
            continue
        factor = 1.0 - pct / 100.0
        spot = o.offer.spot_usd_per_hour
        out.append(dataclasses.replace(o, discount_percent=pct, offer=o.offer.model_copy(update={
            "usd_per_hour": o.offer.usd_per_hour * factor,
            "spot_usd_per_hour": spot * factor if spot is not None else None})))
    return out


def with_assumed_network(offers: list[PricedOffer], gbps: float | None) -> list[PricedOffer]:
    """Offers that state no network get `gbps` between instances, marked as assumed, so they can still span
    instances (planner/catalog/load.py: slowest_stated_network_gbps is the default)."""
    if not gbps:
        return offers
    return [dataclasses.replace(o, offer=o.offer.model_copy(update={"network_gbps": gbps}), network_assumed=True)
            if o.offer.network_gbps is None else o for o in offers]
