"""`gpuplan estimate`: for every candidate GPU offer, the best training and serving plan, sorted best first."""
from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import heapq
import math
import operator
from bisect import bisect_right, insort
from collections.abc import Callable, Iterator, Sequence
from dataclasses import field
from planner.dataclass import dataclass
from typing import Any, TypeVar

from planner.catalog.commitments import committed_offers
from planner.catalog.dominance import undominated
from planner.catalog.load import Catalog, PricedOffer
from planner.catalog.trust import price_flags
from planner.dataclass import evolve, evolve_with
from planner.efficiency.calibrated import EfficiencyBook
from planner.efficiency.local_device import LOCAL_PROVIDER, LocalDevice
from planner.efficiency.origin import Efficiency, prior_efficiency
from planner.model.bill import BillRates, ServingBill, bill_rates, serving_bill
from planner.model.costing import run_cost_usd_each
from planner.model.interconnect import intra_node_gbs, plan_links
from planner.model.precision import COMPUTE_PRECISION
from planner.model.workload import Workload, weight_bytes, workload_for
from planner.plans import bounds
from planner.plans.count_bound import CountBound, boundable
from planner.plans.local import (
    inference_sizes,
    local_serving_plan,
    local_training_target,
    on_one_machine,
)
from planner.plans.no_offer import (
    NO_OFFER,
    mark_serving,
    mark_training,
    no_offer_offers,
    unplanned_gpus,
    unrented_gpus,
)
from planner.plans.options import Judge, TrainingOption
from planner.plans.owned import (
    OWNED,
    BuyVersusRent,
    buy_versus_rent,
    electricity_unpriced,
    owned_instance,
    owned_offers,
    owned_usd_per_hour,
    purchase_basis,
)
from planner.plans.pruning import Witnesses
from planner.plans.rank import holds_with_headroom, serving_latency_key, serving_rank
from planner.plans.serving import (
    Memo,
    ServingEfficiency,
    ServingPlan,
    serving_plans,
    slo_verdicts,
    with_slo,
)
from planner.plans.simulated import SimulationMemo, simulated_plan
from planner.plans.spot import checkpoint_bytes
from planner.plans.training import (
    LayoutMemo,
    TimedPlan,
    TrainingJob,
    TrainingPlan,
    final_weights_bytes,
    instance_shape,
    launch_floor_seconds,
    priced,
    timed_plans,
    training_job,
    unfitted_layout,
)
from planner.plans.verdict import SEVERITY, Kind
from planner.project.load import LoadedProfile, resolve_architecture
from planner.schema.catalog import GpuSpec, Offer
from planner.schema.model import ModelSection
from planner.schema.profile import Inference, OwnedMachine, Parallelism, Slo, Training

INSTANCE_STEPS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048,
                  3072, 4096, 6144, 8192, 12288, 16384, 24576, 32768, 49152, 65536)
"""Instance counts searched: powers of two and their 1.5× midpoints."""


@dataclass(frozen=True)
class TrainingEstimate:
    """The training section of an estimate: every option searched, and the best one per offer, ranked."""

    job: TrainingJob
    ranked: Sequence[TrainingOption]
    """The best option of each offer (and of the measured device), best first (rank.training_rank): a list, or
    RankedRows where the search deferred offers whose rows no decision reads (made when read)."""
    decided: list[TrainingOption] = field(default_factory=list)
    """The options judged, in the search's order: every option that can change the decision (its choices,
    frontiers, best per GPU and rejections) or a ranked row (plans/pruning.py; but the rows of deferred offers,
    RankedRows, made when read); the decision ranks these."""
    confidence: float = 0.5
    rest: _Search | None = field(default=None, repr=False, compare=False)
    """The search, when it left counts out of `decided` (their floors showed they change no output)."""
    most_gpus: dict[str, int] = field(default_factory=dict)
    """Per GPU type, the most GPUs any of its offers was searched on (a rejection of a GPU that fits at no count
    says it)."""

    @functools.cached_property
    def options(self) -> list[TrainingOption]:
        """Every (offer, GPU count, pricing) evaluated, judged at the confidence, in the search's order: `decided`
        and, timed on first read, the counts left out of it (the plot and library users read them all)."""
        return self.decided if self.rest is None else self.rest.complete(self.decided)

    @property
    def plans(self) -> list[TrainingPlan]:
        """The ranked options' plans (their verdicts judged at the confidence)."""
        return [o.plan for o in self.ranked]

    @property
    def feasible(self) -> bool:
        """Some plan meets every constraint."""
        return any(o.feasible for o in self.ranked)

    def __repr__(self) -> str:
        """One line: the ranked plans and the first (the dataclass repr wrote every option searched, megabytes)."""
        first = self.ranked[0].plan if self.ranked else None
        best = f", first {first.gpu_count}× {first.gpu} · {first.provider}" if first is not None else ""
        return f"TrainingEstimate({len(self.ranked)} ranked plans of {len(self.decided)} judged{best})"


@dataclass(frozen=True)
class ServingEstimate:
    """The inference section of an estimate."""

    work: Workload
    plans: list[ServingPlan]
    slo: Slo | None = None
    """The profile's latency targets (inference.slo), which the ranking's headroom reads."""
    alone: dict[str, ServingPlan] = field(default_factory=dict)
    """When no plan meets every target: for each target that no plan meets, the plan with the least of that latency
    when sized for that target alone (_least_alone), which 'To serve it' quotes."""
    pinned: tuple[str, ...] = ()
    """What the profile pins of every serving plan's layout ('batch': inference.batch), listed in the JSON's
    parallelism.pinned as training's pins are."""

    @property
    def feasible(self) -> bool:
        """Some plan meets every latency target."""
        return any(p.meets_slo for p in self.plans)

    def headroom(self, plan: ServingPlan) -> bool | None:
        """Whether a plan that meets the targets still meets them at the P10 efficiency (rank.holds_with_headroom:
        those rank first); None for a plan that misses them."""
        return holds_with_headroom(plan, self.slo) if plan.meets_slo else None

    def __repr__(self) -> str:
        """One line: the plans and the first."""
        first = self.plans[0] if self.plans else None
        best = (f", first {first.replicas}×{first.gpus_per_replica} {first.gpu} · {first.provider}"
                if first is not None else "")
        return f"ServingEstimate({len(self.plans)} plans{best})"


@dataclass(frozen=True)
class Estimate:
    """Everything `gpuplan estimate` reports."""

    profile: str
    catalog_as_of: dt.date
    training: TrainingEstimate | None
    inference: ServingEstimate | None
    warnings: list[str]
    confidence: float = 0.5
    buy_vs_rent: tuple[tuple[str, BuyVersusRent], ...] = ()
    """(section, line) per owned machine with a purchase price (constraints.owned)."""
    unplanned_gpus: tuple[str, ...] = ()
    """Catalog GPUs no searched offer rents, not planned (constraints.gpus names none of them)."""
    discounts: tuple[tuple[str, float], ...] = ()
    """(provider id, percent) of constraints.discounts, as read: the footer names each, shown in a plan or not."""
    network_set: bool = False
    """constraints.assumed_network_gbps was given: the assumed network is the user's, not the catalog's default."""
    providers: tuple[str, ...] = ()
    """constraints.providers, when the profile keeps to some: the GPUs 'not planned' and the rentals a buy-versus-rent
    line compares with are those of these providers only, and the report says so."""
    network_basis: str = ""
    """Why the catalog's default network is what it is (catalog/providers.yaml assumed_network.basis; "" without)."""
    assumed_network_gbps: float | None = None
    """The network offers that state none are planned over (constraints.assumed_network_gbps, else the catalog's
    default): a stated network slower than it is named under the plans (render/report.py _network_note)."""

    @property
    def feasible(self) -> bool:
        """Every requested section has a plan that meets its constraints."""
        return all(s.feasible for s in (self.training, self.inference) if s is not None)

    def __repr__(self) -> str:
        """One line per section asked for (the dataclass repr wrote megabytes)."""
        parts = [f"{self.profile!r}", f"confidence={self.confidence:g}"]
        parts += [f"{name}={section!r}" for name, section in (("training", self.training),
                                                                ("inference", self.inference)) if section is not None]
        return f"Estimate({', '.join(parts)})"


@dataclass(frozen=True)
class Target:
    """Where a training job can run: an offer, its GPU, the efficiency there and the GPU counts to try."""

    offer: PricedOffer
    gpu: GpuSpec
    efficiency: Efficiency
    counts: list[int]
    spot_too: bool = False
    """Also price the counts at the offer's spot rate."""
    job: TrainingJob | None = None
    """The job planned here when it differs from the profile's (the measured device runs its measured precision)."""


def estimate(loaded: LoadedProfile, catalog: Catalog, today: dt.date | None = None,
             book: EfficiencyBook | None = None, local: LocalDevice | None = None, confidence: float = 0.5,
             simulate: bool = False, seed: int = 0) -> Estimate:
    """Plans for the profile's training and inference sections over the catalog's offers, judged at `confidence`.

    `book` gives calibrated/transferred efficiencies (default: priors); `local` adds the measured device's row;
    `simulate` checks each serving plan with the discrete-event simulation and sizes past what it refutes."""
    profile = loaded.profile
    constraints = profile.constraints
    day = today or dt.date.today()
    offers = searched_offers(loaded, catalog, day)
    priced = {(o.provider, o.offer.instance): o for o in offers}
    # stale prices are warned about in the report, for the providers of the plans shown (render/report.py)
    warnings: list[str] = list(loaded.warnings)
    planned = planned_owned(loaded)
    for machine, gpu_id in planned:
        unpriced = electricity_unpriced(machine, catalog, gpu_id, constraints.usd_per_kwh)
        if unpriced is not None:
            warnings.append(unpriced)
    if constraints.owned and not planned:
        # new-user QA round 29: the machine left out by the providers list was mentioned only by its electricity
        # warning, which read as if it had been planned
        machines = ", ".join(owned_instance(m, g) for m, g in zip(constraints.owned, loaded.owned_gpu_ids))
        warnings.append(f"{machines} not planned: constraints.providers does not list {OWNED!r}; add it to plan "
                        "the machines you own beside these providers")
    # GPUs named with no offer to rent are planned for time only (planner/plans/no_offer.py)
    network = constraints.assumed_network_gbps or catalog.default_network_gbps
    unrented = no_offer_offers(unrented_gpus(loaded.gpu_ids or (), offers), catalog, network, day)
    unplanned = () if loaded.gpu_ids else tuple(unplanned_gpus(catalog, offers))
    if not offers and not unrented:
        warnings.append("no offer in the catalog matches constraints.gpus and constraints.providers")
    if constraints.commitment is not None and not any(o.commitment for o in offers):
        published = sorted({f"{c.provider} {c.instance} ({c.term} {c.payment})" for c in catalog.commitments})
        warnings.append(f"constraints.commitment {constraints.commitment} ({constraints.commitment_payment}): no "
                        "offer searched has a published price for that term in catalog/commitments.yaml"
                        + (f" (it has: {', '.join(published)})" if published else "") + "; on-demand prices only")
    training = inference = None
    if profile.training is not None:
        tokens_per_sample = profile.training.dataset.tokens_per_sample
        arch = loaded.arch
        if tokens_per_sample is not None and arch.family in ("decoder", "encoder"):
            arch = loaded.architecture_at(int(tokens_per_sample)) or bounds.sequence_architecture(
                profile.model, catalog, profile.name, tokens_per_sample, loaded.positions)
        job = training_job(workload_for(arch), profile.training,
                           launch_floor_seconds(catalog, profile.training.framework))
        pins = profile.training.parallelism
        searched = offers + unrented
        # each offer's counts once: the bounds' check and the targets read the same ones
        counts_of = {id(offer): candidate_counts(offer, constraints.max_gpus, constraints.gpu_count, pins)
                     for offer in searched}
        bounds.check_training(job, profile.training, searched, catalog, lambda offer: counts_of[id(offer)],
                              loaded.positions)
        priors: dict[str, Efficiency] = {}  # one per GPU: offers of a GPU share its curve (~10 ms of building)
        targets = [Target(offer, catalog.gpus[offer.offer.gpu],
                          _book_train(book, catalog, offer, job)
                          or priors.get(offer.offer.gpu)
                          or priors.setdefault(offer.offer.gpu, prior_efficiency(catalog, catalog.gpus[offer.offer.gpu],
                                                                                 "train", job.work.family)),
                          counts_of[id(offer)], constraints.spot and offer.offer.spot_usd_per_hour is not None)
                   for offer in searched]
        if any(not t.counts for t in targets):
            # an instance of more GPUs than max_gpus would rent more than the profile allows: not searched
            sizes: dict[str, set[int]] = {}
            for t in targets:
                if not t.counts:
                    sizes.setdefault(t.offer.offer.gpu, set()).add(t.offer.offer.gpus_per_instance)
            wide = ", ".join(f"{gpu} ({', '.join(str(n) for n in sorted(ns))})" for gpu, ns in sorted(sizes.items()))
            warnings.append(f"constraints.max_gpus {constraints.max_gpus}: offers of more GPUs per instance were not "
                            f"searched (GPUs per instance): {wide}")
            targets = [t for t in targets if t.counts]
        if local is not None:
            mine = local_training_target(local, job, warnings)
            targets += [Target(mine.offer, mine.gpu, mine.efficiency, mine.counts, job=mine.job)] if mine else []
        # rows deferred until read (RankedRows) are on-demand rows of rented offers, so that the report's notes on
        # spot, owned, time-only and measured rows read the rows made: only where there are none of those
        defer = all(t.job is None and not t.spot_too and t.offer.provider not in (OWNED, NO_OFFER) for t in targets)
        training = search_training(job, targets, profile.training, confidence,
                                   _market(job, priced, day, catalog, profile.training), defer)
        if unrented:
            options, ranked = mark_training(training.decided, list(training.ranked), network, constraints.providers)
            training = dataclasses.replace(training, decided=options, ranked=ranked)
    if profile.inference is not None:
        work = workload_for(loaded.arch)
        if profile.inference.speculative is not None:  # the draft rides on the same GPUs (load_profile checked it)
            draft = resolve_architecture(ModelSection(preset=profile.inference.speculative.draft), catalog)
            work = dataclasses.replace(work, draft=workload_for(draft))
        bounds.check_serving(work, profile.inference, offers + unrented, catalog, loaded.positions)
        memo: Memo = {}
        simulations = SimulationMemo()

        def sized(inference: Inference, simulate: bool) -> list[ServingPlan]:
            """Every offer's plans for `inference`'s targets (serving_plans), time-only ones marked."""
            plans = []
            for offer in offers + unrented:
                gpu = catalog.gpus[offer.offer.gpu]
                # the offer's cheapest plan at the targets and, when it lacks headroom, its cheapest plan with it
                for plan in serving_plans(work, inference, catalog, offer,
                                          _book_serving(book, catalog, offer, work, inference), memo=memo):
                    if offer.provider == OWNED:  # the user's machine exists once
                        plan = on_one_machine(plan, offer.offer.gpus_per_instance)
                    plans.append(simulated_plan(plan, work, inference, gpu, offer, seed, simulations)
                                 if simulate else plan)
            return mark_serving(plans, constraints.providers)

        plans = sized(profile.inference, simulate)
        alone = _least_alone(plans, profile.inference, lambda inference: sized(inference, False), memo)
        # each plan with its offer's price trust and its provider's bill in one copy (_with_trust_and_bill)
        bills = _ServingBills(catalog, work, profile.inference)
        flags: dict[int, tuple[str, ...]] = {}  # price_flags per offer: its plan at the targets and with headroom
        plans = [_with_trust_and_bill(p, priced, day, catalog, bills, flags) for p in plans]
        alone = {k: _with_trust_and_bill(p, priced, day, catalog, bills, flags) for k, p in alone.items()}
        if local is not None:
            plans += [evolve(p, bill=bills.of(p.provider))
                      for p in local_serving_plan(local, work, profile.inference, warnings)]
        slo = profile.inference.slo
        key = serving_latency_key(plans, slo)
        inference = ServingEstimate(work, sorted(plans, key=lambda p: serving_rank(p, key, slo)), slo, alone,
                                    ("batch",) if profile.inference.batch is not None else ())
    lines = _buy_versus_rent(loaded, catalog, day, training, inference, warnings)
    return Estimate(profile.name, catalog.as_of, training, inference, warnings, confidence, lines, unplanned,
                    loaded.discounts, constraints.assumed_network_gbps is not None, tuple(constraints.providers or ()),
                    catalog.assumed_network.basis if catalog.assumed_network else "", network)


def _least_alone(plans: list[ServingPlan], inference: Inference,
                 sized: Callable[[Inference], list[ServingPlan]], memo: Memo) -> dict[str, ServingPlan]:
    """When no plan meets every target, for each target that no plan meets, the plan with the least of that latency
    among the plans sized for it alone (the other targets dropped), else nothing: the plans sized for all the
    targets at once are the closest to all of them, not the fastest at any one (new-user QA round 23: at
    tpot_p95 3 ms and ttft_p95 100 ms, 'the TTFT p95 target would have to be at least 494 ms' was read from plans
    sized toward the TPOT target, while 100 ms is met once TPOT may be 3.5 ms)."""
    targets = inference.slo.targets()
    if len(targets) < 2 or any(p.meets_slo for p in plans):
        return {}  # one target: the plans are already sized for it alone
    least = {}
    for key, goal in targets.items():
        if any(p.fits and p.latency_s.get(key, math.inf) <= goal for p in plans):
            continue  # met by some plan already
        have = [p for p in sized(with_slo(inference, Slo(**{key: goal}), memo))
                if p.fits and key in p.latency_s]
        if have:
            plan = min(have, key=lambda p: (p.latency_s[key], p.monthly_cost_usd))
            # judged against every target, as the other plans are (it was sized, and judged, for one)
            kept = tuple(v for v in plan.verdicts if v.kind is not Kind.SLO_MISSED)
            least[key] = evolve(plan, meets_slo=False,
                                verdicts=slo_verdicts(plan.latency_s, inference.slo) + kept)
    return least


def search_training(job: TrainingJob, targets: list[Target], training: Training, confidence: float,
                    market: Callable[[TrainingPlan], dict[str, object]] | None = None,
                    defer: bool = False) -> TrainingEstimate:
    """Every (target, GPU count, pricing) planned once and judged at `confidence`; the best of each target ranked.
    `market` gives each judged plan's price trust and bill fields (_market), a fresh dict per plan.

    Counts whose floor (plans/count_bound.py: hours no layout can beat, and their cost) shows they can be no
    offer's best, on no frontier and no choice (plans/pruning.py Witnesses) are not timed: the decision reads
    `decided`, and `options` times them when first read. The cheapest count of each target by its
    floors is timed first, then the fastest few by floor, then the rest cheapest floor first, so the options that
    exclude others are seen early. `defer`: a target whose GPU has a feasible option costing less than any of its
    counts can is not timed for its row, which is made when read (_Search.first_counts, RankedRows): a --top 10
    report leaves 240 of pretrain-1b-72h's 392 rows unmade."""
    search = _Search(job, training, confidence, market)
    for index, target in enumerate(targets):
        search.add(index, target)
    search.first_counts(defer)
    search.time_candidates()
    best = []
    deferred, deferred_unusable = search.deferred, search.deferred_unusable
    for index, slots in enumerate(search.slots):
        mine = [o for o in slots if o is not None]
        # (a deferred target's row is made when read: RankedRows)
        if mine and index not in deferred and index not in deferred_unusable:
            best.append(min(mine, key=_rank))
    decided = [o for slots in search.slots for o in slots if o is not None]
    rest = search if any(None in slots for slots in search.slots) else None
    rows = sorted(best, key=_rank)
    ranked: Sequence[TrainingOption] = rows
    if search.deferred or search.deferred_unusable:  # their rows made when read: the floors stay for them
        ranked = RankedRows(rows, search)
        search.unlink_floors()
    else:
        search.forget_floors()
    most: dict[str, int] = {}
    for target in targets:
        most[target.gpu.id] = max(most.get(target.gpu.id, 0), max(target.counts))
    return TrainingEstimate(job, ranked, decided, confidence, rest, most)


FAST_PROBES = 16
"""Candidates taken fastest floor first before the rest, cheapest floor first (search_training)."""
SPLIT_SINGLE = 12
"""A block of at most this many counts whose corner is not excluded goes back as single counts, not halves, each
left out at once where already excluded (_Search.time_candidates): pretrain-1b-72h pops 1,473 blocks and counts for
5,249 exclusion tests, against 5,100 pops and 5,116 tests with halves down to one count."""


class _Search:
    """search_training's state: the memos per job, the plans timed per (shape, count), each target's options in
    the order of its counts (None: not timed yet) and what has been judged (Witnesses)."""

    def __init__(self, job: TrainingJob, training: Training, confidence: float,
                 market: Callable[[TrainingPlan], dict[str, object]] | None) -> None:
        self.job, self.training, self.confidence, self.market = job, training, confidence, market
        self.timed: dict[tuple[int, int], TimedPlan] = {}
        """Plans per (shape, count): offers of one GPU and instance shape at several providers or regions take the
        same time, planned once and priced per offer."""
        self.shapes: dict[tuple[object, ...], int] = {}
        self.efficiency_keys: dict[int, tuple[object, ...]] = {}
        """_efficiency_key per efficiency object (by id(): the targets hold them)."""
        self.memos: dict[int, LayoutMemo] = {}  # layouts shared across GPUs of one memory size, per job
        self.judges: dict[int, Judge] = {}
        self.bounds: dict[int, CountBound] = {}
        self.floor_maps: dict[int, dict[int, float]] = {}
        """Each shape's floors worked out, by count (_Floors.floor)."""
        self.coarse_lists: dict[int, tuple[list[int], list[float], list[int]]] = {}
        """Each shape's counts, their coarse floors (CountBound.coarse_floors) and their instances, in order."""
        self.fines: dict[int, Callable[[int], float]] = {}
        """Each shape's finer floor of one count (CountBound.floors)."""
        self.targets: list[Target] = []
        self.keys: list[int] = []
        """Each target's shape number."""
        self.slots: list[list[TrainingOption | None]] = []
        self.witnesses = Witnesses(training.deadline, training.budget)
        self.candidates: dict[int, _Floors] = {}
        """Per target whose other counts are left to decide, in target order: its floors (and the count timed
        first)."""
        self.far: list[tuple[int, int]] = []
        """(target, count index) of the unusable counts left (unusable)."""
        self.far_floors: dict[int, _Floors] = {}
        """Per unusable target, its floors."""
        self.nearest: dict[int, tuple[int, float]] = {}
        """Per target, the least (worst verdict, hours or memory ratio) of its unusable options judged: what leads
        their ranks (options.training_rank)."""
        self.firsts: list[tuple[int, _Floors]] = []
        """(target, floors) of the targets added whose cheapest count is left for first_counts."""
        self.gpu_best: dict[str, float] = {}
        """Per GPU, the least cost of its feasible options judged (the decision's best per GPU is among them)."""
        self.gpu_best_undoubted: dict[str, float] = {}
        """Per GPU, the least cost of its feasible options judged on offers whose price the catalog does not doubt
        (the decision's cheapest with an undoubted price is among them: decide/choices.py UNDOUBTED_CHOICE)."""
        self.deferred: dict[int, _Floors] = {}
        """Per target deferred (first_counts), its floors: timed when its row is read (row)."""
        self.grouped = False
        """Whether the targets whose GPU lacks the job's precision are searched per GPU, their rows made when read
        (first_counts' `defer`: unusable_by_gpu)."""
        self.unusables: list[tuple[int, _Floors]] = []
        """(target, floors) of those targets, for unusable_by_gpu."""
        self.gpu_near: dict[str, tuple[int, float]] = {}
        """Per such GPU, the least (worst verdict, hours or memory ratio) of its options judged (unusable_by_gpu)."""
        self.deferred_unusable: dict[int, _Floors] = {}
        """Per such target, its floors: its row made when read (row, _unusable_row)."""
        self.late: dict[tuple[int, int], TrainingOption] = {}
        """The options `row` judged, by (target, count index), for `complete`."""

    @property
    def floors(self) -> dict[tuple[int, int], float]:
        """The floor of each (shape, count) worked out (the tests compare them with the plans): made on read."""
        return {(shape, count): hours for shape, known in self.floor_maps.items() for count, hours in known.items()}

    def add(self, index: int, target: Target) -> None:
        """The target's options: every one timed, or, where the job's floors apply, the cheapest and the fastest by
        floor timed and the rest left as candidates."""
        this_job = target.job or self.job
        memo = self.memos.get(id(this_job))
        if memo is None:
            memo = self.memos[id(this_job)] = LayoutMemo()
            self.judges[id(this_job)] = Judge(this_job, self.confidence, self.training.deadline, self.training.budget)
        offer = target.offer
        # a small number per (job, GPU, instance shape, efficiency): hashing that nested tuple at every count cost more
        efficiency = target.efficiency  # offers of a GPU share its prior efficiency: its key once (held in targets)
        efficiency_key = self.efficiency_keys.get(id(efficiency))
        if efficiency_key is None:
            efficiency_key = self.efficiency_keys[id(efficiency)] = _efficiency_key(efficiency)
        shape = self.shapes.setdefault((id(this_job), target.gpu.id, instance_shape(offer), efficiency_key),
                                       len(self.shapes))
        self.targets.append(target)
        self.keys.append(shape)
        counts = target.counts
        self.slots.append([None] * (len(counts) * (2 if target.spot_too else 1)))
        peak = memo.peak_flops(target.gpu, this_job.precision)
        # spot options carry their interruption overhead; time-only offers are chosen by GPU-hours (no_offer.py) and
        # the measured device by its own job: all of those are timed
        if target.job is not None or target.spot_too or offer.provider == NO_OFFER or not boundable(this_job):
            for i in range(len(counts)):
                self.judge(index, i)
            return
        bound = self.bounds.get(id(this_job))
        if bound is None:
            bound = self.bounds[id(this_job)] = CountBound(this_job, memo.training_memory)
            memo.fitted = bound.fitted  # the layout search reads the floors' fits (until forget_floors)
            memo.pipe_fitted = bound.pipe_fitted
        known = self.floor_maps.get(shape)
        if known is None:
            known = self.floor_maps[shape] = {}
        gpu = target.gpu
        # a GPU without the precision is timed at its fp32 peak (training.timed_plans)
        at = peak if peak is not None else gpu.peak_tflops.fp32 * 1e12
        intra = intra_node_gbs(gpu, offer)
        coarse = self.coarse_lists.get(shape)
        if coarse is None or coarse[0] != counts:
            per = offer.offer.gpus_per_instance
            coarse = self.coarse_lists[shape] = (counts, bound.coarse_floors(gpu, offer, counts, efficiency, at),
                                                 [-(-count // per) for count in counts])
        fine = self.fines.get(shape)
        if fine is None:  # what the finer floors read is the shape's (GPU, instance shape, efficiency, peak, link)
            fine = self.fines[shape] = bound.floors(gpu, offer, efficiency, at, intra)
        floors = _Floors(fine, target, known, coarse[1], coarse[2])
        if peak is None:
            self.unusables.append((index, floors))  # searched in first_counts (unusable, unusable_by_gpu)
            return
        floors.by_cost = sorted(range(len(counts)), key=floors.coarse_costs.__getitem__)
        self.firsts.append((index, floors))

    def first_counts(self, defer: bool) -> None:
        """Each target added with its floors: its cheapest count by floor timed (_cheapest), in target order. With
        `defer`, cheapest least coarse cost first instead, and a target is deferred (timed only when its row is read:
        RankedRows) when its GPU already has a feasible option costing less than any of its counts can (for an offer
        the catalog does not doubt, an option on such an offer): none of its options can then be its GPU's best, the
        cheapest viable choice, the cheapest with an undoubted price or a reason to reject its GPU (feasible ranks
        lead with cost: plans/options.py training_rank). Its counts still wait in time_candidates, judged unless
        what has been judged shows they are on neither frontier, neither the fastest nor the cheapest within budget
        (Witnesses.apart)."""
        self.grouped = defer
        if defer:
            self.unusable_by_gpu()
        else:
            for index, floors in self.unusables:
                self.unusable(index, floors)
        self.unusables = []
        firsts = self.firsts
        if defer:
            firsts = sorted(firsts, key=lambda pair: (pair[1].coarse_costs[pair[1].by_cost[0]], pair[0]))
        for index, floors in firsts:
            target = self.targets[index]
            # an offer the catalog does not doubt is kept while it could be the cheapest plan without a doubt
            gpu_best = self.gpu_best if target.offer.offer.doubtful else self.gpu_best_undoubted
            best = gpu_best.get(target.gpu.id, math.inf) if defer else math.inf
            if best < floors.coarse_costs[floors.by_cost[0]]:
                self._defer(index, floors)
                continue
            first = floors.first = self._within(floors)
            if best < math.inf and best < self.least_cost(floors):
                self._defer(index, floors)  # (its floors worked out stay known)
                continue
            self.judge(index, first)
            self.candidates[index] = floors
        self.firsts = []
        if defer:  # time_candidates reads them in target order (its heap's ties), as without deferral
            self.candidates = dict(sorted(self.candidates.items()))

    def _defer(self, index: int, floors: _Floors) -> None:
        """Leave the target's row to be made when read (row); its counts wait with the others' (time_candidates),
        judged where they could be on a frontier or the fastest or cheapest within budget."""
        floors.first = -1
        self.deferred[index] = self.candidates[index] = floors
        self.witnesses.apart(index)

    @staticmethod
    def least_cost(floors: _Floors) -> float:
        """The least cost any count's option can have: its floor's where worked out, else its coarse floor's."""
        costs, coarse = floors.costs, floors.coarse_costs
        return min(coarse[i] if cost is None else cost for i, cost in enumerate(costs))

    def _within(self, floors: _Floors) -> int:
        """The index of the target's count with the least (floor cost, floor hours, count index) within the deadline
        and budget, else of all: the finer floors worked out cheapest coarse floor first, until the coarse cost
        passes the least within found (the finer floor is at least the coarse one, in cost too); a count whose
        coarse floor misses the deadline or the budget is not within, and is worked out only when no count is."""
        deadline, budget = self.training.deadline, self.training.budget
        coarse_costs, coarse_hours = floors.coarse_costs, floors.coarse_hours
        order = floors.by_cost
        within: tuple[float, float, int] | None = None
        for i in order:
            cost = coarse_costs[i]
            if within is not None and cost > within[0]:
                break  # its floor costs more than the least within: so does every count after it
            if (deadline is not None and coarse_hours[i] * 3600.0 > deadline) or (budget is not None and cost > budget):
                continue
            cost, hours = floors.floor(i)
            key = (cost, hours, i)
            if (within is None or key < within) and (deadline is None or hours * 3600.0 <= deadline) \
                    and (budget is None or cost <= budget):
                within = key
        if within is None:
            # none within: the least (floor cost, floor hours, index) of all, in coarse cost order, which stops where
            # the coarse cost passes the least found (every count after it costs more: RunPod's pods at 0.1 Gb/s,
            # none within a deadline, had every count's finer floor worked out)
            least: tuple[float, float, int] | None = None
            for i in order:
                if least is not None and coarse_costs[i] > least[0]:
                    break
                key = (*floors.floor(i), i)
                if least is None or key < least:
                    least = key
            assert least is not None
            within = least
        return within[2]

    def _cheapest(self, index: int, floors: _Floors) -> None:
        """Time the target's cheapest count by floor (_within) and leave its other counts to time_candidates."""
        cheapest = floors.first = self._within(floors)
        self.judge(index, cheapest)
        self.candidates[index] = floors

    def row(self, index: int) -> TrainingOption:
        """A deferred target's row: its option of least rank, as the search would have found it. Its options
        time_candidates judged, its cheapest count by floor, then each count whose floor cost is at most the least
        feasible cost found (all of them while none is feasible): a count costing more ranks after that option.
        The options judged here are judged without witnessing (`decided` was read) and kept for `complete`; their
        slots stay empty."""
        if index in self.deferred_unusable:
            return self._unusable_row(index)
        floors = self.deferred.pop(index)
        slots = self.slots[index]
        made = {i: option for i, option in enumerate(slots) if option is not None}
        least = min((option.cost_usd for option in made.values() if option.feasible), default=None)
        first = self._within(floors)
        coarse_costs = floors.coarse_costs
        for i in [first] + [i for i in floors.by_cost if i != first]:
            if i in made:
                continue
            if least is not None:
                if coarse_costs[i] > least:
                    break  # by_cost is in coarse cost order: every count after it costs more too
                if floors.floor(i)[0] > least:
                    continue
            self.judge(index, i, witness=False)
            option = slots[i]
            assert option is not None
            slots[i] = None
            made[i] = self.late[(index, i)] = option
            if option.feasible and (least is None or option.cost_usd < least):
                least = option.cost_usd
        return min(made.values(), key=_rank)

    def unusable(self, index: int, floors: _Floors) -> None:
        """A target whose GPU has no unit for the job's precision: every option is unusable, and they rank among
        themselves (options.training_rank) by their worst verdict, then by hours where a layout fits, else by the
        memory needed per GPU over the GPU's. The count first by its floor is timed; the rest are timed only when no option of the target judged
        surely ranks before them (time_candidates). A count's floor is worked out only where its coarse floor could
        not decide: (no precision, coarse hours, index) is under its (worst verdict, hours or memory ratio, index),
        since a floor is at least its coarse floor and a count where no layout fits ranks after every one that
        fits (its worst verdict is the more severe)."""
        coarse = floors.coarse_hours
        probe: tuple[int, float, int] | None = None
        # the least (worst verdict, hours or memory ratio, index) by floor: worked out in (coarse hours, index) order
        # until a count's coarse key passes the least found
        for i in sorted(range(len(coarse)), key=coarse.__getitem__):
            if probe is not None and (_NO_PRECISION, coarse[i], i) > probe:
                break
            key = self._first(index, floors, i)
            if probe is None or key < probe:
                probe = key
        assert probe is not None  # a target has counts (estimate drops those without)
        self.judge(index, probe[2])
        self.far_floors[index] = floors
        self.far += [(index, i) for i in range(len(coarse)) if i != probe[2]]

    def unusable_by_gpu(self) -> None:
        """unusable for every target of a GPU at once: the decision reads of them only each GPU's closest option
        (its rejection: decide/choices.py _rejections, the least rank of the GPU's options judged), and their rows
        rank after every usable one (RankedRows: made when read, _unusable_row). Per GPU, the count first by its
        floor key over all its targets is timed, and the rest at the end of time_candidates only where their floor
        key is at most the least key judged of the GPU (gpu_near), not of their own target: so every option of the
        GPU that ranks at or before its closest is judged, and no other whose floor key passes it."""
        groups: dict[str, list[tuple[int, _Floors]]] = {}
        for index, floors in self.unusables:
            groups.setdefault(self.targets[index].gpu.id, []).append((index, floors))
        for gpu, members in groups.items():
            probe: tuple[int, float, int, int] | None = None
            for index, floors in members:
                coarse = floors.coarse_hours
                for i in sorted(range(len(coarse)), key=coarse.__getitem__):
                    if probe is not None and (_NO_PRECISION, coarse[i]) > probe[:2]:
                        break
                    worst, key, _ = self._first(index, floors, i)
                    if probe is None or (worst, key, index, i) < probe:
                        probe = (worst, key, index, i)
            assert probe is not None  # a target has counts (estimate drops those without)
            self.judge(probe[2], probe[3])
            self.gpu_near[gpu] = self.nearest[probe[2]]
            for index, floors in members:
                self.far_floors[index] = floors
                self.deferred_unusable[index] = floors
                self.far += [(index, i) for i in range(len(floors.coarse_hours)) if (index, i) != probe[2:]]

    def _unusable_row(self, index: int) -> TrainingOption:
        """The row of a target searched with its GPU's (unusable_by_gpu): its options judged, then each count whose
        floor key is at most the least key among them (unusable's search, its counts timed without witnessing and
        kept for `complete`, as `row` does)."""
        floors = self.deferred_unusable.pop(index)
        slots = self.slots[index]
        made = {i: option for i, option in enumerate(slots) if option is not None}
        near: tuple[int, float] | None = None
        for option in made.values():
            _, worst, _, key = option.rank[:4]
            assert isinstance(worst, int) and isinstance(key, (int, float))
            if near is None or (worst, float(key)) < near:
                near = (worst, float(key))
        coarse = floors.coarse_hours
        for i in sorted(range(len(coarse)), key=coarse.__getitem__):
            if i in made:
                continue
            if near is not None and ((_NO_PRECISION, coarse[i]) > near or self._first(index, floors, i)[:2] > near):
                continue
            self.judge(index, i, witness=False)
            judged = slots[i]
            assert judged is not None
            slots[i] = None
            made[i] = self.late[(index, i)] = judged
            _, worst, _, key = judged.rank[:4]
            assert isinstance(worst, int) and isinstance(key, (int, float))
            if near is None or (worst, float(key)) < near:
                near = (worst, float(key))
        return min(made.values(), key=_rank)

    def _first(self, index: int, floors: _Floors, i: int) -> tuple[int, float, int]:
        """The least (worst verdict, hours or memory ratio, index) the i-th count's option of an unusable target can
        rank at: its floor's, or, where no layout fits, its own: the memory its layout nearest to fitting needs per
        GPU over the GPU's (options.unfit_key, of the verdict training._unfitted gives it). An infinite floor is
        that verdict, DOES_NOT_FIT, never the milder PIN_UNWORKABLE this key would overstate: a job with pinned
        parallelism is not boundable (count_bound.boundable), so its counts are all timed and never reach here,
        and without pins training.timed_plans asks no pin_problem (checked on fp8 plans of three example profiles:
        3,935 counts, 22 with an infinite floor, none keyed above its option's rank)."""
        hours = floors.floor(i)[1]
        if hours != math.inf:
            return _NO_PRECISION, hours, i
        target = self.targets[index]
        memory = unfitted_layout(target.job or self.job, floors.counts[i])[-1].total
        return _DOES_NOT_FIT, memory / (target.gpu.memory_gb * 1e9), i

    def time_candidates(self) -> None:
        """Each candidate count, cheapest floor first: left out when what has been judged excludes it, else
        timed and judged.

        The counts of one target wait in blocks, each under its least coarse floor cost and least coarse floor
        hours (CountBound.coarse_floors, under the finer floors): a block comes off the heap before any of its counts
        would, and when what has been judged excludes that corner (Witnesses.excludes rises with the hours and the
        cost, and with every option judged) it excludes each of its counts then and at its own turn; else it splits
        in two. A count alone comes off under its coarse floor, and unless that is excluded goes back under its
        finer floor (_Floors.floor), at whose turn it is tested again. The counts timed, and their order, are those
        of one sorted pass over every count by its finer floor."""
        excludes = self.witnesses.excludes
        candidates = self.candidates
        # the fastest few by floor first: the fastest option within budget and the frontier's fast end exclude most
        # of the many counts that are only faster than their offer's cheapest (ties in target and count order); a
        # count comes off under its coarse floor hours first, then goes back under its floor's
        # each target's counts wait in (coarse hours, index) order behind one heap entry, which brings in the next
        # when it comes off: a few dozen come off of ~7,000 counts, so the rest are never made into heap entries
        orders: dict[int, list[int]] = {}
        waiting: list[tuple[float, int, int, int]] = []
        for index, floors in candidates.items():
            coarse = floors.coarse_hours
            order = orders[index] = sorted(range(len(coarse)), key=coarse.__getitem__)
            if floors.first >= 0:  # (a deferred target has none timed)
                order.remove(floors.first)
            if order:
                waiting.append((coarse[order[0]], index, order[0], 0))
        heapq.heapify(waiting)
        probes: list[tuple[float, int, int]] = []
        while waiting and len(probes) < FAST_PROBES:
            key, index, i, place = heapq.heappop(waiting)
            floors = candidates[index]
            if place >= 0:  # a target's next count by coarse hours (its place in `orders`) comes in behind it
                order = orders[index]
                place += 1
                if place < len(order):
                    heapq.heappush(waiting, (floors.coarse_hours[order[place]], index, order[place], place))
            hours = floors.hours[i]
            if hours is None:
                hours = floors.floor(i)[1]
            if key < hours:
                heapq.heappush(waiting, (hours, index, i, -1))  # back under its floor
            else:
                probes.append((key, index, i))
        for hours, index, i in probes:
            floors = candidates[index]
            if not excludes(index, hours, floors.costs[i]):  # type: ignore[arg-type]
                self.judge(index, i)
        taken: dict[int, set[int]] = {}  # the probes' count indices, per target
        for _, index, i in probes:
            taken.setdefault(index, set()).add(i)
        heap: list[Block] = []
        for index, floors in candidates.items():
            first = floors.first
            # in (coarse cost, count index) order (add sorted them so): the first costs least
            probed = taken.get(index)
            members = [i for i in floors.by_cost if i != first] if probed is None \
                else [i for i in floors.by_cost if i != first and i not in probed]
            if members:
                heap.append(_block(index, floors, members, len(heap)))
        heapq.heapify(heap)
        made = len(heap)
        while heap:
            cost, hours, index, i, _, members = heapq.heappop(heap)
            if excludes(index, hours, cost):
                continue
            floors = candidates[index]
            if len(members) > SPLIT_SINGLE:
                half = len(members) // 2
                heapq.heappush(heap, _block(index, floors, members[:half], made))
                heapq.heappush(heap, _block(index, floors, members[half:], made + 1))
                made += 2
            elif members:
                # a few counts whose corner is not excluded: most halves of them would not be either (each then
                # popped and tested again), so each goes back alone under its own floor (_block), unless what has
                # been judged excludes it already (it would then be excluded at its turn too)
                known_hours, known_costs = floors.hours, floors.costs
                for j in members:  # each as _block(index, floors, [j], made) makes it
                    at_hours, at_cost = known_hours[j], known_costs[j]
                    if at_hours is None or at_cost is None:
                        at_hours, at_cost = floors.coarse_hours[j], floors.coarse_costs[j]
                    if not excludes(index, at_hours, at_cost):
                        heapq.heappush(heap, (at_cost, at_hours, index, j, made, _ALONE))
                        made += 1
            elif floors.hours[i] is None or hours < floors.hours[i]:  # type: ignore[operator]
                cost, hours = floors.floor(i)  # under its coarse floor: back under its floor
                heapq.heappush(heap, (cost, hours, index, i, made, _ALONE))
                made += 1
            else:
                self.judge(index, i)
        nearest, far_floors, gpu_near, targets = self.nearest, self.far_floors, self.gpu_near, self.targets
        for index, i in self.far:
            # (unusable_by_gpu: the least key judged of the target's GPU)
            near = gpu_near[targets[index].gpu.id] if self.grouped else nearest[index]
            floors = far_floors[index]
            # its coarse key past the nearest: so is its own (unusable)
            if near >= (_NO_PRECISION, floors.coarse_hours[i]) and near >= self._first(index, floors, i)[:2]:
                self.judge(index, i)
                if self.grouped and nearest[index] < near:
                    gpu_near[targets[index].gpu.id] = nearest[index]

    def forget_floors(self) -> None:
        """Drop the floors' working state once every count is decided (the floors themselves stay in floor_maps)."""
        self.candidates.clear()
        self.far_floors.clear()
        self.coarse_lists.clear()
        self.fines.clear()
        for bound in self.bounds.values():
            bound.forget()
        for memo in self.memos.values():
            memo.fitted = memo.pipe_fitted = None  # (they held the bound: a reference cycle while the search ran)

    def unlink_floors(self) -> None:
        """Keep the floors (deferred rows read them) but let the layout search fit layouts itself from now on: the
        memos held the floors' bound methods, and the bound holds a memo's, a reference cycle that would leave the
        estimate to the cyclic collector."""
        for memo in self.memos.values():
            memo.fitted = memo.pipe_fitted = None

    def plan(self, index: int, i: int) -> TimedPlan:
        """The target's plan at its i-th count, timed once per (shape, count)."""
        target, shape = self.targets[index], self.keys[index]
        count = target.counts[i]
        plan = self.timed.get((shape, count))
        if plan is None:
            this_job = target.job or self.job
            plan = self.timed[(shape, count)] = timed_plans(this_job, target.gpu, target.offer, (count,),
                                                            target.efficiency, memo=self.memos[id(this_job)])[0]
        return plan

    def judge(self, index: int, i: int, witness: bool = True) -> None:
        """The options of the target's i-th count (on demand, and spot when asked), judged into its slots."""
        target = self.targets[index]
        plan = self.plan(index, i)
        judge = self.judges[id(target.job or self.job)]
        offer, market = target.offer, self.market
        # the plan was timed on the first offer of this shape: priced on this one unless it is that offer
        elsewhere = None if plan.provider == offer.provider and plan.instance == offer.offer.instance else offer
        # on demand: the option's plan copy (priced on this offer, with the market's fields) is made when read
        option = judge.lazily(plan, elsewhere, market)
        slots = self.slots[index]
        if target.spot_too:
            here = priced(plan.plan(), offer, True)
            slots[2 * i], slots[2 * i + 1] = option, judge(here, market(here) if market else {})
        else:
            slots[i] = option
        if witness and not option.usable:
            # (not feasible, worst verdict, not over budget only, hours or memory ratio, ...): options.training_rank
            _, worst, _, key = option.rank[:4]
            assert isinstance(worst, int) and isinstance(key, (int, float))
            near = (worst, float(key))
            if index not in self.nearest or near < self.nearest[index]:
                self.nearest[index] = near
        # time-only offers' options are marked afterwards (no_offer.py: unusable): they exclude nothing
        if witness and offer.provider != NO_OFFER:
            gpu_best, undoubted = self.gpu_best, None if offer.offer.doubtful else self.gpu_best_undoubted
            for made in slots[2 * i:2 * i + 2] if target.spot_too else (option,):
                assert made is not None
                self.witnesses.add(made, index)
                if made.feasible and made.cost_usd < gpu_best.get(made.gpu, math.inf):
                    gpu_best[made.gpu] = made.cost_usd
                if undoubted is not None and made.feasible and made.cost_usd < undoubted.get(made.gpu, math.inf):
                    undoubted[made.gpu] = made.cost_usd

    def complete(self, decided: list[TrainingOption]) -> list[TrainingOption]:
        """Every option in the search's order: `decided` (the options judged, as the estimate holds them: time-only
        ones marked) with the counts left out timed and judged in their places."""
        kept = iter(decided)
        out = []
        for index, slots in enumerate(self.slots):
            for i, option in enumerate(slots):
                if option is None:
                    made = self.late.get((index, i))  # judged for a deferred target's row
                    if made is None:
                        self.judge(index, i, witness=False)
                        made = slots[i]
                        assert made is not None
                        slots[i] = None  # the slots keep saying what the decision read
                    out.append(made)
                else:
                    out.append(next(kept))
        return out


Block = tuple[float, float, int, int, int, list[int]]
"""A heap entry of _Search.time_candidates: (floor cost, floor hours, target, count index, number, []) for one
count, under its floor or, when that is not worked out, its coarse floor; (least coarse floor cost, least coarse floor
hours, target, -1, number, its count indices) for a block of one target's counts, which orders before each of them."""


_ALONE: list[int] = []
"""The members of a single count's heap entry (Block): none, shared (never changed)."""


class RankedRows(Sequence[TrainingOption]):
    """TrainingEstimate.ranked of a search that deferred targets (_Search.first_counts): the rows known, best
    first, and each deferred target under the least rank its row can have — (feasible, the least cost of its counts'
    floors, _Search.least_cost), at or under that of every option of its counts — made (_Search.row) when a read
    reaches past it. A row
    is read only once every deferred target that could rank at or before it is made, so every row read, and their
    order, are those of the search without deferral; reading them all (len is known) makes them all. The rows
    deferred are on-demand rows of rented offers (estimate defers only without spot, owned, time-only or measured
    targets): `settled` holds every spot, owned, time-only and measured row."""

    def __init__(self, rows: list[TrainingOption], search: _Search) -> None:
        self._rows = rows
        self._search = search
        # a target without the job's precision (_Search.unusable_by_gpu) under (not feasible, NO_PRECISION, not over
        # budget only, its least coarse floor hours): its options' ranks lead so, with a verdict at least as severe
        # and, where one fits, hours at least its floor (options.training_rank)
        self._pending = sorted([((False, 0, True, search.least_cost(floors)), index)
                                for index, floors in search.deferred.items()]
                               + [((True, _NO_PRECISION, True, min(floors.coarse_hours)), index)
                                  for index, floors in search.deferred_unusable.items()])

    @property
    def settled(self) -> list[TrainingOption]:
        """The rows made so far, best first (not yet every row while some target is deferred)."""
        return self._rows

    def _settle(self, n: int) -> None:
        """Make deferred rows until the first n rows are final."""
        rows, pending = self._rows, self._pending
        while pending and (len(rows) < n or not pending[0][0] > rows[n - 1].rank):
            index = pending.pop(0)[1]
            insort(rows, self._search.row(index), key=_rank)

    def group(self, gpu: str, provider: str) -> list[TrainingOption]:
        """Every row of this GPU and provider, best first (the deferred ones made)."""
        search = self._search
        mine = [p for p in self._pending
                if search.targets[p[1]].gpu.id == gpu and search.targets[p[1]].offer.provider == provider]
        for entry in mine:
            self._pending.remove(entry)
            insort(self._rows, search.row(entry[1]), key=_rank)
        return [o for o in self._rows if o.gpu == gpu and o.provider == provider]

    def __len__(self) -> int:
        return len(self._rows) + len(self._pending)

    def __getitem__(self, i: int | slice) -> Any:
        if isinstance(i, slice):
            start, stop, step = i.indices(len(self))
            self._settle(len(self) if step < 0 else stop)
            return self._rows[i]
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("ranked row index out of range")
        self._settle(i + 1)
        return self._rows[i]

    def __iter__(self) -> Iterator[TrainingOption]:
        i = 0
        while i < len(self):
            yield self[i]
            i += 1

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (list, RankedRows)):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(list(self))


def _block(index: int, floors: _Floors, members: list[int], number: int) -> Block:
    """The heap entry of target `index`'s counts `members` (in (coarse floor cost, count index) order), a single
    count as itself."""
    if len(members) == 1:
        i = members[0]
        hours = floors.hours[i]
        if hours is not None:
            cost = floors.costs[i]
            assert cost is not None
            return cost, hours, index, i, number, _ALONE
        return floors.coarse_costs[i], floors.coarse_hours[i], index, i, number, _ALONE
    coarse_hours = floors.coarse_hours
    return floors.coarse_costs[members[0]], min(map(coarse_hours.__getitem__, members)), index, -1, number, members


class _Floors:
    """One target's floors (plans/count_bound.py): the coarse floor of every count at once, the finer floor of a
    count worked out when the search needs it (at most once per offer shape and count: `known`), each with its
    cost by the plan's own cost formula (the cost rises with the hours)."""

    __slots__ = ("billing", "by_cost", "coarse_costs", "coarse_hours", "counts", "costs", "fine", "first", "hours",
                 "instances", "known", "price", "term")

    def __init__(self, fine: Callable[[int], float], target: Target, known: dict[int, float],
                 coarse_hours: list[float], instances: list[int]) -> None:
        self.known, self.counts = known, target.counts
        self.fine = fine
        offer = target.offer
        o = offer.offer
        self.price, self.billing, self.term = o.usd_per_hour, offer.billing_seconds, _term_hours(offer)
        self.instances = instances  # each count's instances: the shape's (the same GPUs per instance)
        self.coarse_hours = coarse_hours
        self.coarse_costs = run_cost_usd_each(self.instances, self.price, coarse_hours, self.billing, self.term)
        self.hours: list[float | None] = [None] * len(coarse_hours)
        """Each count's floor, where worked out: the finer floor, or the coarse one where that is higher (the finer
        is 0.0 where a fit is too near the GPU's memory to call)."""
        self.costs: list[float | None] = [None] * len(coarse_hours)
        self.first = -1
        """The count timed first (the cheapest by floor)."""
        self.by_cost: list[int] = []
        """The count indices in (coarse floor cost, index) order (_Search.add)."""

    def floor(self, i: int) -> tuple[float, float]:
        """The i-th count's floor cost and hours, worked out once."""
        hours = self.hours[i]
        if hours is None:
            count = self.counts[i]
            hours = self.known.get(count)
            if hours is None:
                fine = self.fine(count)
                coarse = self.coarse_hours[i]
                hours = self.known[count] = fine if fine >= coarse else coarse
            self.hours[i] = hours
            # run_cost_usd_each's arithmetic for one count
            billing, term = self.billing, self.term
            if hours == math.inf:
                self.costs[i] = math.inf
            else:
                billed = 0.0 if hours <= 0 else (math.ceil(hours * 3600.0 / billing - 1e-9) or 1) * billing / 3600.0
                self.costs[i] = self.instances[i] * self.price * (billed if billed >= term else term)
        cost = self.costs[i]
        assert cost is not None
        return cost, hours


_NO_PRECISION, _DOES_NOT_FIT = SEVERITY[Kind.NO_PRECISION], SEVERITY[Kind.DOES_NOT_FIT]
"""The worst verdicts of an unusable target's options (_Search.unusable): where a layout fits, and where none does."""


def _term_hours(offer: PricedOffer) -> float:
    """The hours a committed-term price owes (0: on demand)."""
    return offer.commitment.term_hours if offer.commitment is not None else 0.0


_rank: Callable[[TrainingOption], tuple[object, ...]] = operator.attrgetter("rank")
"""An option's rank.training_rank, remembered on the option (TrainingOption.rank)."""


def _efficiency_key(efficiency: Efficiency) -> tuple[object, ...]:
    """What a plan's time depends on in an efficiency (beside the GPU, which keys the plan too): its figures, its
    origin in words and the kind of curve, which is built the same way from the catalog for every offer of a GPU."""
    curve = type(efficiency.curve).__name__ if efficiency.curve is not None else None
    return efficiency.value, efficiency.log_sigma, efficiency.source, efficiency.detail, curve


def candidate_counts(offer: PricedOffer, max_gpus: int, pinned: int | None,
                     parallelism: Parallelism | None = None) -> list[int]:
    """GPU counts searched on an offer: whole instances up to max_gpus (none when one instance holds more: renting
    it would exceed the profile's limit); one instance only when the offer states no network.
    Pinned data × tensor × pipeline (× context) degrees fix the count (the first three) or keep the counts they
    divide."""
    if pinned is not None:
        return [pinned]
    if parallelism is not None and None not in (parallelism.data, parallelism.tensor, parallelism.pipeline):
        return [parallelism.data * parallelism.tensor * parallelism.pipeline  # type: ignore[operator]
                * (parallelism.context or 1)]
    per = offer.offer.gpus_per_instance
    steps = INSTANCE_STEPS if offer.offer.network_gbps else (1,)
    limit = max_gpus
    # steps ascend: those with k × per ≤ limit are the first bisect_right(steps, limit // per) of them
    counts = [k * per for k in steps[:bisect_right(steps, limit // per)]]
    if parallelism is not None:
        fixed = (parallelism.data or 1) * (parallelism.tensor or 1) * (parallelism.pipeline or 1) \
            * (parallelism.context or 1)
        # and whole instances that the pinned degrees fill: the least common multiple of the pinned product and an
        # instance, times the steps (new-user QA round 25: data 100 alone on 8-GPU instances, whose grid holds no
        # multiple of 100, was refused everywhere with 'data 100 does not fill 1 GPUs'); where the product's odd part
        # divides the instance's, these counts are already on the grid (the same counts as before)
        least = fixed * per // math.gcd(fixed, per)
        # no more instances than the offer may span (one where it states no network: its `steps`)
        filled = {least * k for k in steps[:bisect_right(steps, limit // least)] if least * k // per <= steps[-1]}
        if fixed > limit and least // per <= steps[-1]:  # past an unwritten max_gpus (a written one below the pins
            filled.add(least)  # is refused: project/load.py _check_max_gpus), pins are planned: the fewest they fill
        counts = sorted(filled.union(c for c in counts if c % fixed == 0)) or counts  # none: the plans say why
    return counts


def _book_train(book: EfficiencyBook | None, catalog: Catalog, offer: PricedOffer, job: TrainingJob) -> Efficiency | None:
    """Training efficiency from the calibration book at one sample's training FLOP (None: use the prior)."""
    if book is None or not book.calibrated:
        return None
    return book.get(catalog.gpus[offer.offer.gpu], "train", job.work.family, job.precision,
                    job.work.train_flops_per_sample, job.trainable_params)


def _book_serving(book: EfficiencyBook | None, catalog: Catalog, offer: PricedOffer, work: Workload,
                  inference: Inference) -> ServingEfficiency | None:
    """Serving efficiencies from the calibration book (None: use the priors); sizes in inference_sizes."""
    if book is None or not book.calibrated:
        return None
    gpu = catalog.gpus[offer.offer.gpu]
    (ck, cs), (bk, bs) = inference_sizes(work, inference)
    family_b = work.family if work.is_generative else "any"
    precision = COMPUTE_PRECISION[inference.precision]
    return ServingEfficiency(book.get(gpu, ck, work.family, precision, cs, work.params),
                             book.get(gpu, bk, family_b, precision, bs))


def _market(job: TrainingJob, priced: dict[tuple[str, str], PricedOffer], today: dt.date, catalog: Catalog,
            training: Training) -> Callable[[TrainingPlan], dict[str, object]]:
    """A plan's price trust and whole bill as fields, set as it is judged (neither changes the compute cost the
    deadline and budget verdicts read). The doubts are worked out once per offer and the bill's rates once per
    provider (planner/model/bill.py BillRates): thousands of options share them."""
    trust: dict[tuple[str, str, bool, bool], dict[str, object]] = {}
    rates: dict[str, BillRates] = {}
    checkpoint_gb, weights_gb = checkpoint_bytes(job) / 1e9, final_weights_bytes(job) / 1e9

    def market(plan: TrainingPlan) -> dict[str, object]:
        # a training plan's trust fields read its offer and whether it spans instances (_trust_changes)
        key = (plan.provider, plan.instance, plan.instances > 1, plan.gpu_count > 1)
        changes = trust.get(key)
        if changes is None:
            offer = priced.get(key[:2])
            changes = trust[key] = _trust_changes(plan, offer, price_flags(offer, today), catalog.gpus[plan.gpu]) \
                if offer is not None else {}
        bill = rates.get(plan.provider)
        if bill is None:
            bill = rates[plan.provider] = bill_rates(catalog.facts.get(plan.provider), training.dataset_gb,
                                                     checkpoint_gb, training.checkpoints_kept,
                                                     training.retention_days, weights_gb,
                                                     plan.provider in OWN_MACHINES)
        return {**changes, "storage_usd": bill.storage_usd(plan.hours_p50), "egress_usd": bill.egress_usd,
                "bill_notes": bill.notes, "bill_rates": bill}

    return market


OWN_MACHINES = frozenset({OWNED, LOCAL_PROVIDER})
"""The providers that are the user's own machines (constraints.owned) or the measured one: nothing bills their disk
and network."""


class _ServingBills:
    """Each provider's month of storage and egress for the served weights (and a speculative draft's) at the served
    precision and the profile's egress volume (planner/model/bill.py ServingBill), once per provider."""

    def __init__(self, catalog: Catalog, work: Workload, inference: Inference) -> None:
        weights = weight_bytes(work, inference.precision)
        if work.draft is not None:
            weights += weight_bytes(work.draft, inference.precision)
        self.catalog, self.weights, self.egress = catalog, weights, inference.egress_gb_per_month
        self.bills: dict[str, ServingBill] = {}

    def of(self, provider: str) -> ServingBill:
        bill = self.bills.get(provider)
        if bill is None:
            bill = self.bills[provider] = serving_bill(self.catalog.facts.get(provider), self.weights / 1e9,
                                                       self.egress, provider in OWN_MACHINES)
        return bill


def _with_trust_and_bill(plan: ServingPlan, priced: dict[tuple[str, str], PricedOffer], today: dt.date,
                         catalog: Catalog, bills: _ServingBills, flags: dict[int, tuple[str, ...]]) -> ServingPlan:
    """_with_price_trust and the provider's bill in one copy of the plan (the same fields: each plan was copied
    twice, ~550 a serve-7b-chat estimate); `flags`: price_flags kept per offer."""
    offer = priced.get((plan.provider, plan.instance))
    if offer is None:
        return evolve(plan, bill=bills.of(plan.provider))
    found = flags.get(id(offer))
    if found is None:
        found = flags[id(offer)] = price_flags(offer, today)
    changes = _trust_changes(plan, offer, found, catalog.gpus[plan.gpu])
    changes["bill"] = bills.of(plan.provider)
    return evolve_with(plan, changes)


P = TypeVar("P", TrainingPlan, ServingPlan)


def _with_price_trust(plan: P, priced: dict[tuple[str, str], PricedOffer], today: dt.date, catalog: Catalog) -> P:
    """The plan with its offer's price date and doubts (planner/catalog/trust.py), its links and the network it
    assumed."""
    offer = priced.get((plan.provider, plan.instance))
    if offer is None:
        return plan
    return evolve(plan, **_trust_changes(plan, offer, price_flags(offer, today), catalog.gpus[plan.gpu]))


def _trust_changes(plan: TrainingPlan | ServingPlan, offer: PricedOffer, flags: tuple[str, ...], gpu: GpuSpec
                   ) -> dict[str, object]:
    """The price date, the doubts `flags`, the links, the assumed network and the discount of the plan's offer, as
    fields."""
    spans = isinstance(plan, TrainingPlan) and plan.instances > 1  # serving replicas do not talk to each other
    assumed = offer.offer.network_gbps if offer.network_assumed and spans else None
    linked = plan.gpu_count > 1 if isinstance(plan, TrainingPlan) else plan.gpus_per_replica > 1
    changes: dict[str, object] = {"price_as_of": offer.as_of, "price_flags": flags, "assumed_network_gbps": assumed,
                                  "links": plan_links(gpu, offer, spans) if linked else None,
                                  "discount_percent": offer.discount_percent, "commitment": offer.commitment}
    return changes


def _buy_versus_rent(loaded: LoadedProfile, catalog: Catalog, today: dt.date, training: TrainingEstimate | None,
                     inference: ServingEstimate | None, warnings: list[str]) -> tuple[tuple[str, BuyVersusRent], ...]:
    """Each owned machine with a lifetime and a purchase price (the profile's, else the catalog's sourced card
    price) against the cheapest rental plan meeting the targets; a lifetime with no price found is warned about."""
    lines: list[tuple[str, BuyVersusRent]] = []
    for machine, gpu_id in planned_owned(loaded):
        instance = owned_instance(machine, gpu_id)
        purchase = purchase_basis(machine, gpu_id, catalog, today)
        # one running cost for both lines (serving's was its month's cost ÷ its hours: $0.90/h beside training's
        # $0.91/h for the same machine at $0.905/h)
        running = owned_usd_per_hour(machine, catalog, gpu_id, loaded.profile.constraints.usd_per_kwh,
                                     loaded.profile.constraints.pue)
        if machine.lifetime_years is not None and purchase is None:
            warnings.append(f"{instance}: no buy-versus-rent line: catalog/purchase_prices.yaml has no sourced price "
                            f"for {gpu_id}; give constraints.owned[].purchase_usd")
        if training is not None:
            # a plan that cannot run (does not fit, pins unworkable, no precision) has stand-in hours, null in the
            # JSON: the line compared them (new-user QA: Llama-2-70B on 2 RTX 4090s, 560 GB a GPU, 'owning pays off
            # above 27% utilisation' over 182.7 h the machine cannot do)
            # the hours and cost at the planning confidence, as the tables and the ranking have them (new-user QA:
            # at --confidence 0.9 the line quoted P50 figures, unlabelled, beside tables at P90)
            mine = [o for o in training.ranked if o.provider == OWNED and o.plan.instance == instance]
            own = next((o for o in mine if o.usable), None)
            rent = next((o for o in training.ranked if o.provider not in (OWNED, "local") and o.feasible), None)
            if own is None and mine and machine.lifetime_years is not None and purchase is not None:
                warnings.append(f"{instance}: no buy-versus-rent line for training: the machine cannot run this job "
                                f"({mine[0].plan.reasons[0]})")
            if own is not None:
                r = rent.plan if rent else None
                line = buy_versus_rent(machine, instance, running, own.hours,
                                       f"{r.gpu_count}x {r.gpu} at {r.provider} ({r.instance})" if r else None,
                                       rent.cost_usd if rent else None, purchase, training.confidence)
                if line is not None:
                    lines.append(("training", line))
        if inference is not None and loaded.profile.inference is not None:
            own_s = next((p for p in inference.plans if p.provider == OWNED and p.instance == instance), None)
            rent_s = next((p for p in inference.plans if p.provider not in (OWNED, "local") and p.meets_slo), None)
            if own_s is not None and not own_s.meets_slo and machine.lifetime_years is not None \
                    and purchase is not None:
                # as for training above (new-user QA: a serving profile's owned machine that could not hold the
                # targets got no line and no word why)
                warnings.append(f"{instance}: no buy-versus-rent line for serving: the machine cannot hold the "
                                f"targets ({own_s.reasons[0] if own_s.reasons else 'targets missed'})")
            if own_s is not None and own_s.meets_slo:
                hours = loaded.profile.inference.hours_per_month
                line = buy_versus_rent(machine, instance, running, hours,
                                       f"{rent_s.replicas}×{rent_s.gpus_per_replica} {rent_s.gpu} at "
                                       f"{rent_s.provider} ({rent_s.instance})" if rent_s else None,
                                       rent_s.monthly_cost_usd if rent_s else None, purchase)
                if line is not None:
                    lines.append(("inference", line))
    return tuple(lines)


def searched_offers(loaded: LoadedProfile, catalog: Catalog, today: dt.date) -> list[PricedOffer]:
    """The offers a search plans on: those the constraints allow, less the dominated ones, with the assumed
    network for offers that state none."""
    constraints = loaded.profile.constraints
    offers = catalog.offers(set(loaded.gpu_ids) if loaded.gpu_ids else None,
                            set(loaded.provider_ids) if loaded.provider_ids else None)
    # committed-term prices (from the undiscounted list prices) are offers of their own, kept out of the dominance
    # check: a committed price must never silently replace the on-demand offer it belongs to
    committed = committed_offers(offers, catalog, constraints.commitment, constraints.commitment_payment)
    offers = with_discounts(offers, dict(loaded.discounts))
    assumed = constraints.assumed_network_gbps or catalog.default_network_gbps
    rented = with_assumed_network(undominated(offers, today, assumed or 0.0, constraints.spot) + committed, assumed)
    machines = planned_owned(loaded)
    return rented + owned_offers([m for m, _ in machines], tuple(g for _, g in machines), catalog,
                                 constraints.usd_per_kwh, constraints.pue, today)


def planned_owned(loaded: LoadedProfile) -> list[tuple[OwnedMachine, str]]:
    """The owned machines (with their GPU ids) planned: every one unless constraints.providers leaves out `owned`
    (new-user QA: with `providers: [lambda]` the owned 8× H100 was still recommended, and `diff` of the two said
    nothing changed). constraints.gpus chooses among the rentals: a machine the profile lists is planned whatever
    GPUs it names (lora-7b-a6000 with an owned pair of RTX 4090s beside its workstation cards)."""
    if loaded.provider_ids is not None and OWNED not in loaded.provider_ids:
        return []
    return list(zip(loaded.profile.constraints.owned, loaded.owned_gpu_ids))


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
    instances (planner/catalog/load.py: default_network_gbps is the default)."""
    if not gbps:
        return offers
    # evolve: dataclasses.replace without rerunning the frozen __init__ (~300 offers a search)
    return [evolve(o, offer=_with_network(o.offer, gbps), network_assumed=True)
            if o.offer.network_gbps is None else o for o in offers]


_set = object.__setattr__


def _with_network(offer: Offer, gbps: float) -> Offer:
    """offer.model_copy(update={"network_gbps": gbps}): the same instance state (pydantic's __copy__: the fields'
    dict, extra and private copied, network_gbps marked set), without model_copy's dispatch (~9 µs a copy, ~380 a
    search); a model with extra or private state goes through model_copy itself."""
    if offer.__pydantic_extra__ is not None or getattr(offer, "__pydantic_private__", None) is not None:
        return offer.model_copy(update={"network_gbps": gbps})
    new = object.__new__(type(offer))
    _set(new, "__dict__", {**offer.__dict__, "network_gbps": gbps})
    _set(new, "__pydantic_extra__", None)
    _set(new, "__pydantic_fields_set__", offer.__pydantic_fields_set__ | {"network_gbps"})
    _set(new, "__pydantic_private__", None)
    return new
