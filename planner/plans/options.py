"""Training options: one plan (offer × GPU count × on-demand/spot) judged at the planning confidence — hours and
cost at that quantile, spot interruptions, and the deadline and budget verdicts. Search makes them once; the
estimate's rows and the decision both read them."""
from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import field
from planner.dataclass import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

from planner.catalog.load import PricedOffer
from planner.dataclass import evolve_with
from planner.efficiency.local_device import LOCAL_PROVIDER
from planner.model.costing import run_cost_usd
from planner.plans.owned import OWNED
from planner.plans.spot import SpotOverhead, spot_overhead
from planner.plans.training import TimedPlan, TrainingJob, TrainingPlan, priced
from planner.plans.verdict import Kind, Verdict, closeness, unfit_key


@dataclass(frozen=True)
class TrainingOption:
    """One training plan judged at a confidence level (spot: with its expected interruption overhead)."""

    plan: TrainingPlan
    """The plan, its verdicts including the deadline and budget at this confidence."""
    hours: float
    """Wall-clock hours at the confidence level, interruptions included."""
    cost_usd: float
    """Cost at the confidence level (at a committed-term price: the whole term at least, plans/training.py)."""
    spot: SpotOverhead | None
    confidence: float = 0.5
    usable: bool = field(init=False, repr=False, compare=False)
    """Fits and runs on its offer (deadline and budget aside): the plan's, kept as a field (the decision and the plot
    filter thousands of options by these flags)."""
    feasible: bool = field(init=False, repr=False, compare=False)
    """Meets every constraint: the plan's."""
    meets_deadline: bool = field(init=False, repr=False, compare=False)
    """Hours at the confidence within the deadline (or no deadline): the plan's."""
    within_budget: bool = field(init=False, repr=False, compare=False)
    """Cost at the confidence within the budget (or no budget): the plan's."""
    gpu: str = field(init=False, repr=False, compare=False)
    """The plan's GPU, kept as a field: the decision groups thousands of options by it without reading their plans
    (a search's options make their judged plan copies only when read: Judge.lazily)."""
    provider: str = field(init=False, repr=False, compare=False)
    """The plan's provider, kept as a field for the same reason."""
    instance: str = field(init=False, repr=False, compare=False)
    """The plan's instance type, kept as a field for the same reason (the decision looks its offer's doubts up)."""

    def __post_init__(self) -> None:
        plan = self.plan
        object.__setattr__(self, "usable", plan.usable)
        object.__setattr__(self, "feasible", plan.feasible)
        object.__setattr__(self, "meets_deadline", plan.meets_deadline)
        object.__setattr__(self, "within_budget", plan.within_budget)
        object.__setattr__(self, "gpu", plan.gpu)
        object.__setattr__(self, "provider", plan.provider)
        object.__setattr__(self, "instance", plan.instance)

    @property
    def verdicts(self) -> tuple[Verdict, ...]:
        """Why the option fails, as data."""
        return self.plan.verdicts

    @property
    def reasons(self) -> tuple[str, ...]:
        """The verdicts in words."""
        return self.plan.reasons

    if TYPE_CHECKING:  # at run time a non-data descriptor (_RememberedRank, set below the class)
        @property
        def rank(self) -> tuple[object, ...]:
            """training_rank, worked out once."""

    @property
    def label(self) -> str:
        """GPU, provider, count and pricing, in words (machines the user owns, or this one, are not rented)."""
        if self.plan.provider in (OWNED, LOCAL_PROVIDER):
            whose = "owned" if self.plan.provider == OWNED else "this machine"
            return f"{self.plan.gpu_count}× {self.plan.gpu} ({whose})"
        c = self.plan.commitment
        pricing = "spot" if self.spot else f"{c.term} commitment" if c is not None else "on-demand"
        return f"{self.plan.gpu_count}× {self.plan.gpu} on {self.plan.provider} ({pricing})"


def training_rank(o: TrainingOption) -> tuple[object, ...]:
    """Feasible first, cheapest at the confidence (then fastest); the rest by how far they are from working, then
    fastest (or, for a plan no layout runs, nearest to fitting, unfit_key: its hours mean nothing; for one that is
    only over budget, cheapest: its cost is how far it is from working, e.g. a committed term a short job cannot
    fill). Names and counts break ties so the order never depends on the catalog's file order."""
    return rank_of(o.plan, o.hours, o.cost_usd)


def rank_of(plan: TrainingPlan, hours: float, cost: float) -> tuple[object, ...]:
    """training_rank of a judged plan with its hours and cost at the confidence."""
    return _rank_values(plan.verdicts, plan.fits, plan.gpu_count, plan.gpu, plan.provider, plan.instance, plan.spot,
                        hours, cost)


def _rank_values(verdicts: tuple[Verdict, ...], fits: bool, gpu_count: int, gpu: str, provider: str, instance: str,
                 spot: bool, hours: float, cost: float) -> tuple[object, ...]:
    """rank_of from the judged plan's fields, for an option whose plan copy is not made yet (Judge.lazily)."""
    feasible = not verdicts
    near = closeness(verdicts)[0] if not feasible else 0
    # a plan only over budget meets the deadline, so it came before those that miss it when these were ordered by
    # hours alone: it still does, now cheapest first
    budget_only = _over_budget_only(verdicts)
    key = cost if feasible or budget_only else (hours if fits else unfit_key(verdicts, gpu_count))
    return (not feasible, near, not budget_only, key, hours, gpu, provider, instance, gpu_count, spot)



def _over_budget_only(verdicts: tuple[Verdict, ...]) -> bool:
    """The plan works and meets the deadline, and only its cost is over the budget."""
    return bool(verdicts) and all(v.kind is Kind.OVER_BUDGET for v in verdicts)


def level_name(confidence: float) -> str:
    """'P50', 'P90', 'P97.5'."""
    return f"P{confidence * 100:g}"


@functools.lru_cache(maxsize=16)
def z_score(confidence: float) -> float:
    """The standard normal quantile at `confidence`, remembered: a pure function of one number, asked once per
    option (thousands per search) at one or two confidences."""
    return NormalDist().inv_cdf(confidence)


def hours_at_confidence(plan: TrainingPlan, confidence: float) -> float:
    """Hours the plan takes with probability `confidence`: the compute share scaled by the efficiency's log-normal
    quantile exp(z·σ) (communication and the memory-bound kernels, QLoRA's dequantizations and the optimizer's update, are not scaled, as in the P10/P90 of
    plan_training)."""
    z = z_score(confidence)
    startup = plan.startup_s
    steps = (plan.hours_p50 * 3600.0 - startup) / plan.step_time_s
    return (steps * max(plan.host_time_s, plan.compute_time_s * math.exp(z * plan.efficiency.log_sigma)
                        + plan.exposed_comm_time_s + plan.memory_time_s) + startup) / 3600.0


def judge_training(job: TrainingJob, plan: TrainingPlan, confidence: float, deadline_s: float | None,
                   budget_usd: float | None, annotations: Mapping[str, object] | None = None) -> TrainingOption:
    """Judge one plan at `confidence`: spot adds its expected overhead; the deadline and budget verdicts are added
    to the plan's own (memory, network, precision). `annotations`: further plan fields none of this reads (price
    trust, bill), set in the same copy."""
    return Judge(job, confidence, deadline_s, budget_usd)(plan, {**annotations} if annotations else {})



def _judged(verdicts: tuple[Verdict, ...], hours: float, cost: float, deadline_s: float | None,
            budget_usd: float | None, level: str) -> tuple[tuple[Verdict, ...], bool]:
    """A plan's verdicts at the judged hours and cost: its own, less any earlier deadline and budget verdicts, plus
    those of this judgement; and whether the plan is usable (TrainingPlan.usable: no intrinsic verdict — the deadline
    and budget verdicts are not intrinsic)."""
    kept = [v for v in verdicts if v.kind not in (Kind.MISSES_DEADLINE, Kind.OVER_BUDGET)] if verdicts else []
    usable = not kept or not any(v.intrinsic for v in kept)
    if kept and any(v.kind in (Kind.PIN_UNWORKABLE, Kind.DOES_NOT_FIT, Kind.NO_PRECISION) for v in kept):
        # the pinned degrees cannot run on this offer, no layout fits its memory, or the GPU lacks the precision: its
        # hours are those of a stand-in (plans/training.py _unfitted, or the fp32 peak), not a prediction, so no
        # deadline or budget is judged on them
        # (new-user QA: every unworkable plan read "misses the deadline (85.0 h at P50 > 72.0 h)")
        return tuple(kept), usable
    if deadline_s is not None and hours * 3600.0 > deadline_s:
        kept.append(Verdict(Kind.MISSES_DEADLINE, hours, deadline_s / 3600.0, level))
    if budget_usd is not None and cost > budget_usd:
        kept.append(Verdict(Kind.OVER_BUDGET, cost, budget_usd, level))
    return tuple(kept), usable

class Judge:
    """judge_training for one job, confidence, deadline and budget, set up once for the thousands of plans of a
    search (the z of the confidence and the level's name worked out once). Each option is made with its rank."""

    def __init__(self, job: TrainingJob, confidence: float, deadline_s: float | None,
                 budget_usd: float | None) -> None:
        self.job, self.confidence, self.deadline_s, self.budget_usd = job, confidence, deadline_s, budget_usd
        self.z, self.level = z_score(confidence), level_name(confidence)

    def __call__(self, plan: TrainingPlan, fields: dict[str, object]) -> TrainingOption:
        """The option of `plan`; `fields`: further plan fields none of this reads (price trust, bill), a dict of
        the caller's that the judged copy is made from (the verdicts are added to it)."""
        # hours_at_confidence, written out; spot's overhead is on the steps' hours (the start-up is not interrupted)
        startup = plan.startup_s
        steps = (plan.hours_p50 * 3600.0 - startup) / plan.step_time_s
        hours = steps * max(plan.host_time_s, plan.compute_time_s * math.exp(self.z * plan.efficiency.log_sigma)
                            + plan.exposed_comm_time_s + plan.memory_time_s) / 3600.0
        overhead = None
        if plan.spot:
            overhead = spot_overhead(self.job, plan, hours)
            hours *= 1.0 + overhead.overhead_fraction
        hours += startup / 3600.0
        cost = run_cost_usd(plan.instances, plan.usd_per_hour, hours, plan.billing_seconds, plan.term_hours)
        deadline_s, budget_usd = self.deadline_s, self.budget_usd
        meets = deadline_s is None or hours * 3600.0 <= deadline_s
        within = budget_usd is None or cost <= budget_usd
        verdicts, usable = _judged(plan.verdicts, hours, cost, deadline_s, budget_usd, self.level)
        fields["verdicts"] = verdicts
        fields["meets_deadline"] = meets
        fields["within_budget"] = within
        judged = evolve_with(plan, fields)
        # TrainingOption(judged, hours, cost, overhead, confidence) without the frozen dataclass's per-field
        # setattr (its flags as __post_init__ sets them), its rank remembered at once (TrainingOption.rank: the search and the decision read every one)
        option: TrainingOption = object.__new__(TrainingOption)
        option.__dict__.update(plan=judged, hours=hours, cost_usd=cost, spot=overhead, confidence=self.confidence,
                               usable=usable, feasible=not verdicts, meets_deadline=meets, within_budget=within,
                               gpu=judged.gpu, provider=judged.provider, instance=judged.instance,
                               rank=rank_of(judged, hours, cost))
        return option

    def lazily(self, plan: TimedPlan, offer: PricedOffer | None,
               market: Callable[[TrainingPlan], dict[str, object]] | None) -> TrainingOption:
        """The on-demand option of `plan` priced on `offer` (None: the plan's own offer), equal to
        `self(priced(plan.plan(), offer), market(...))`, but its plan (made from the TimedPlan) and the plan's copy
        (priced, with the market's fields and the verdicts) are made only when `option.plan` is first read
        (_LazyPlan): a search judges thousands of options and the report prints a few hundred of them. Hours, cost,
        flags and rank are worked out now, with __call__'s arithmetic on the priced copy (which shares the plan's
        hours and step times)."""
        if offer is None:
            provider, instance, price = plan.provider, plan.instance, plan.usd_per_hour
            billing, commitment = plan.billing_seconds, plan.commitment
        else:  # training.priced's price, billing and term, on demand
            provider, instance, price = offer.provider, offer.offer.instance, offer.offer.usd_per_hour
            billing, commitment = offer.billing_seconds, offer.commitment
        term = commitment.term_hours if commitment is not None else 0.0
        startup = plan.startup_s
        steps = (plan.hours_p50 * 3600.0 - startup) / plan.step_time_s
        hours = (steps * max(plan.terms.host_s, plan.compute_time_s * math.exp(self.z * plan.efficiency.log_sigma)
                             + plan.exposed_comm_time_s + plan.terms.memory_s) + startup) / 3600.0
        cost = run_cost_usd(plan.instances, price, hours, billing, term)
        deadline_s, budget_usd = self.deadline_s, self.budget_usd
        meets = deadline_s is None or hours * 3600.0 <= deadline_s
        within = budget_usd is None or cost <= budget_usd
        if plan.verdicts or not meets or not within:
            judged, usable = _judged(plan.verdicts, hours, cost, deadline_s, budget_usd, self.level)
        else:
            judged, usable = (), True
        rank = _rank_values(judged, plan.fits, plan.gpu_count, plan.gpu, provider, instance, False, hours, cost)
        option: TrainingOption = object.__new__(TrainingOption)
        option.__dict__.update(hours=hours, cost_usd=cost, spot=None, confidence=self.confidence, usable=usable,
                               feasible=not judged, meets_deadline=meets, within_budget=within, gpu=plan.gpu,
                               provider=provider, instance=instance, rank=rank,
                               _lazy=(plan, offer, market, judged, meets, within))
        return option


class _LazyPlan:
    """TrainingOption.plan of an option made by Judge.lazily: read once, the judged plan copy is made and kept in
    the option's __dict__ (a non-data descriptor: an option holding its plan never reaches here)."""

    def __get__(self, option: TrainingOption | None, owner: type | None = None) -> Any:
        if option is None:
            return self
        state = option.__dict__
        if "_lazy" not in state:
            raise AttributeError("plan")
        plan, offer, market, verdicts, meets, within = state["_lazy"]
        made = plan.plan()
        here = made if offer is None else priced(made, offer)
        fields = market(here) if market else {}
        fields["verdicts"], fields["meets_deadline"], fields["within_budget"] = verdicts, meets, within
        judged = state["plan"] = evolve_with(here, fields)
        del state["_lazy"]
        return judged


def plan_is_spot(option: TrainingOption) -> bool:
    """`option.plan.spot`, without making the plan of an option Judge.lazily made: that option is its timed plan
    (spot as timed) or the timed plan priced on demand on another offer (priced(): not spot)."""
    lazy = option.__dict__.get("_lazy")
    if lazy is None:
        return bool(option.plan.spot)
    timed, offer = lazy[0], lazy[1]
    return bool(timed.spot) if offer is None else False


class _RememberedRank:
    """TrainingOption.rank: training_rank, worked out once: the search takes each offer's best by it and the decision
    sorts, takes minima and groups by it again, thousands of options each time. A non-data descriptor: the first read
    keeps the rank in the option's __dict__ (Judge sets it there at once), so every later read is a plain attribute
    read, which the sorts' C-level attrgetter makes without a Python call. Not a field: dataclasses.replace makes a
    new option, ranked afresh."""

    def __get__(self, option: TrainingOption | None, owner: type | None = None) -> Any:
        if option is None:
            return self
        found = option.__dict__["rank"] = training_rank(option)
        return found


setattr(TrainingOption, "rank", _RememberedRank())

# set after the dataclass is made, so it is no default of the field: options made by __init__ or Judge.__call__ hold
# their plan in __dict__, which a non-data descriptor does not shadow
setattr(TrainingOption, "plan", _LazyPlan())


def spot_adjusted(job: TrainingJob, plan: TrainingPlan) -> TrainingPlan:
    """A spot plan with its expected interruption overhead in its hours, GPU-hours and cost (P10, P50, P90), so the
    plans table and JSON print the same hours and cost as the decision, and its storage over those longer P50 hours
    (the data and checkpoints stay stored while the run is interrupted); an on-demand plan unchanged."""
    if not plan.spot:
        return plan
    hours = {}
    startup = plan.startup_s / 3600.0  # (not interrupted: the overhead is on the steps' hours, as Judge's)
    for q in ("p10", "p50", "p90"):
        h = getattr(plan, f"hours_{q}") - startup
        hours[q] = h * (1.0 + spot_overhead(job, plan, h).overhead_fraction) + startup
    cost = {q: run_cost_usd(plan.instances, plan.usd_per_hour, h, plan.billing_seconds, plan.term_hours)
            for q, h in hours.items()}
    return dataclasses.replace(plan, hours_p10=hours["p10"], hours_p50=hours["p50"], hours_p90=hours["p90"],
                               gpu_hours=plan.gpu_hours * hours["p50"] / plan.hours_p50 if plan.hours_p50 else
                               plan.gpu_hours, cost_usd_p10=cost["p10"], cost_usd_p50=cost["p50"],
                               cost_usd_p90=cost["p90"],
                               storage_usd=plan.bill_rates.storage_usd(hours["p50"]) if plan.bill_rates is not None
                               else plan.storage_usd)
