"""Decisions a person can act on: every option (offer × count × on-demand/spot) at a confidence level, the
Pareto frontier, three named choices with their trade-offs, the best plan per GPU type and why the rest fail."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from statistics import NormalDist

from planner.catalog.load import Catalog
from planner.efficiency.origin import prior_efficiency
from planner.efficiency.train_curve import uses_flash
from planner.errors import PlannerError
from planner.io.profile import LoadedProfile
from planner.model.costing import run_cost_usd
from planner.plans.search import Estimate, candidate_counts
from planner.plans.serving import ServingPlan
from planner.plans.spot import SpotOverhead, spot_overhead
from planner.plans.training import TrainingJob, TrainingPlan, plan_training
from planner.render.readable import fixed, usd

CHOICE_NAMES = ("cheapest viable", "balanced", "fastest")


@dataclass(frozen=True)
class TrainingOption:
    """One training plan judged at the decision's confidence (spot: with its expected interruption overhead)."""

    plan: TrainingPlan
    hours: float
    """Wall-clock hours at the confidence level, interruptions included."""
    cost_usd: float
    spot: SpotOverhead | None
    meets_deadline: bool
    within_budget: bool
    reasons: tuple[str, ...]

    @property
    def usable(self) -> bool:
        """Fits and runs on its offer (deadline and budget aside)."""
        return not self.plan.reasons

    @property
    def feasible(self) -> bool:
        """Meets every constraint."""
        return not self.reasons

    @property
    def label(self) -> str:
        """GPU, provider, count and pricing, in words."""
        pricing = "spot" if self.spot else "on-demand"
        return f"{self.plan.gpu_count}× {self.plan.gpu} on {self.plan.provider} ({pricing})"


@dataclass(frozen=True)
class Choice:
    """A named choice with the one-line trade-off of picking it."""

    name: str
    option: object
    """A TrainingOption or a ServingPlan."""
    tradeoff: str


@dataclass(frozen=True)
class Rejection:
    """A GPU type (or offer) that cannot do the job, with the reason of its closest attempt."""

    gpu: str
    provider: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class TrainingDecision:
    """The training decision."""

    confidence: float
    deadline_h: float | None
    budget_usd: float | None
    options: list[TrainingOption]
    frontier: list[TrainingOption]
    choices: list[Choice]
    alternatives: list[Choice]
    best_per_gpu: list[TrainingOption]
    rejected: list[Rejection]
    assumptions: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ServingDecision:
    """The serving decision: cheapest that meets every percentile target, and the alternatives."""

    latency_key: str
    options: list[ServingPlan]
    frontier: list[ServingPlan]
    choices: list[Choice]
    best_per_gpu: list[ServingPlan]
    rejected: list[Rejection]
    assumptions: list[str] = field(default_factory=list)
    target_s: float | None = None
    """The profile's target for `latency_key`, seconds."""


@dataclass(frozen=True)
class Decision:
    """Both sections."""

    training: TrainingDecision | None
    inference: ServingDecision | None


def check_confidence(confidence: float) -> float:
    """The confidence level, or a PlannerError when it is outside [0.5, 1)."""
    if not (0.5 <= confidence < 1.0) or math.isnan(confidence):
        raise PlannerError(f"--confidence {confidence:g} is outside [0.5, 1)",
                           hint="Use 0.5 to plan on median hours, 0.9 to plan on P90 hours.")
    return confidence


def hours_at_confidence(plan: TrainingPlan, confidence: float) -> float:
    """Hours the plan takes with probability `confidence`: the compute share scaled by the efficiency's log-normal
    quantile exp(z·σ) (communication is not scaled, as in the P10/P90 of plan_training)."""
    z = NormalDist().inv_cdf(confidence)
    steps = plan.hours_p50 * 3600.0 / plan.step_time_s
    return steps * (plan.compute_time_s * math.exp(z * plan.efficiency.log_sigma) + plan.exposed_comm_time_s) / 3600.0


def training_option(job: TrainingJob, plan: TrainingPlan, confidence: float, deadline_s: float | None,
                    budget_usd: float | None) -> TrainingOption:
    """Judge one plan at `confidence`: spot adds its expected overhead; deadline and budget are checked."""
    hours = hours_at_confidence(plan, confidence)
    overhead = None
    if plan.spot:
        overhead = spot_overhead(job, plan, hours)
        hours *= 1.0 + overhead.overhead_fraction
    cost = run_cost_usd(plan.instances, plan.usd_per_hour, hours, plan.billing_seconds)
    reasons = list(plan.reasons)
    meets = deadline_s is None or hours * 3600.0 <= deadline_s
    within = budget_usd is None or cost <= budget_usd
    level = f"P{confidence * 100:g}"
    if not meets:
        reasons.append(f"misses the deadline ({hours_text(hours)} at {level} > {hours_text(deadline_s / 3600)})")
    if not within:
        reasons.append(f"over budget (${cost:,.0f} at {level} > ${budget_usd:,.0f})")
    return TrainingOption(plan, hours, cost, overhead, meets, within, tuple(reasons))


def pareto_frontier(points: list, cost, time) -> list:
    """The points no other point beats on both cost and time, cheapest first."""
    frontier = []
    for point in sorted(points, key=lambda p: (cost(p), time(p))):
        if not frontier or time(point) < time(frontier[-1]):
            frontier.append(point)
    return frontier


def _balanced(frontier: list, cost, time):
    """The knee of the frontier (Satopää et al. 2011, 'Kneedle'): with cost and time scaled to the frontier's span,
    the point farthest above the straight line from the cheapest to the fastest — past it, time saved costs more
    than before. With no point above that line (two points or a straight frontier) the cheapest is balanced."""
    if len(frontier) < 3:
        return frontier[0] if frontier else None
    xs = [cost(p) for p in frontier]
    ys = [time(p) for p in frontier]
    span_x, span_y = (xs[-1] - xs[0]) or 1.0, (ys[0] - ys[-1]) or 1.0
    u = [(x - xs[0]) / span_x for x in xs]  # 0 at the cheapest, 1 at the fastest
    v = [(ys[0] - y) / span_y for y in ys]  # 0 at the cheapest, 1 at the fastest
    gain = [vi - ui for ui, vi in zip(u, v)]  # height above the chord u = v: speed bought beyond proportion
    best = max(range(len(frontier)), key=lambda i: (gain[i], -i))
    return frontier[best] if gain[best] > 1e-12 else frontier[0]


def hours_text(hours: float) -> str:
    """Hours for people: minutes below one hour."""
    return f"{fixed(hours)} h" if hours >= 1 else f"{fixed(hours * 60)} min"


_usd = usd


def _training_tradeoffs(cheapest: TrainingOption, balanced: TrainingOption, fastest: TrainingOption) -> list[Choice]:
    def versus(a: TrainingOption, b: TrainingOption, other: str) -> str:
        dc, dh = a.cost_usd - b.cost_usd, a.hours - b.hours
        if abs(dc) < 0.005 and abs(dh) < 0.005:
            return f"same as {other}"
        if dc >= 0:
            return f"{_usd(dc)} more than {other} to finish {fixed(-dh)} h sooner"
        return f"{fixed(dh)} h longer than {other} to save {_usd(-dc)}"

    return [
        Choice("cheapest viable", cheapest,
               "gives up speed: " + versus(cheapest, fastest, "the fastest") if cheapest is not fastest
               else "also the fastest: nothing to give up"),
        Choice("balanced", balanced, "knee of the cost–time frontier: "
               + (versus(balanced, cheapest, "the cheapest") if balanced is not cheapest else "it is the cheapest")),
        Choice("fastest", fastest,
               "gives up money: " + versus(fastest, cheapest, "the cheapest") if fastest is not cheapest
               else "also the cheapest: nothing to give up"),
    ]


def _rejections(options: list, gpu_of, provider_of, good, closeness, reasons_of) -> list[Rejection]:
    by_gpu: dict[str, list] = {}
    for option in options:
        by_gpu.setdefault(gpu_of(option), []).append(option)
    closest = [min(group, key=closeness) for gpu, group in sorted(by_gpu.items()) if not any(good(o) for o in group)]
    closest.sort(key=closeness)  # the nearest misses first
    return [Rejection(gpu_of(o), provider_of(o), tuple(reasons_of(o))) for o in closest]


def decide_training(job: TrainingJob, loaded: LoadedProfile, catalog: Catalog, confidence: float,
                    ranked: list[TrainingPlan] = ()) -> TrainingDecision:
    """Every (offer, count, pricing) option judged at `confidence`, and the decision over them.

    `ranked` are the estimate's plans: each offer's efficiency is taken from its plan there (so calibrated or
    measured efficiencies carry over), and plans on no catalog offer (the local machine) join as they are."""
    efficiencies = {(p.provider, p.instance, p.gpu): p.efficiency for p in ranked}
    profile = loaded.profile
    training, constraints = profile.training, profile.constraints
    offers = catalog.offers(set(loaded.gpu_ids) if loaded.gpu_ids else None,
                            set(loaded.provider_ids) if loaded.provider_ids else None)
    options: list[TrainingOption] = []
    for offer in offers:
        gpu = catalog.gpus[offer.offer.gpu]
        efficiency = efficiencies.get((offer.provider, offer.offer.instance, gpu.id)) or prior_efficiency(
            catalog, gpu, "train", job.work.family)
        pricings = (False, True) if constraints.spot and offer.offer.spot_usd_per_hour else (False,)
        for count in candidate_counts(offer, constraints.max_gpus, constraints.gpu_count):
            for spot in pricings:
                plan = plan_training(job, gpu, offer, count, efficiency, spot)
                options.append(training_option(job, plan, confidence, training.deadline, training.budget))
    searched = {(o.provider, o.offer.instance) for o in offers}
    for plan in ranked:
        if (plan.provider, plan.instance) not in searched:
            bare = dataclasses.replace(plan, reasons=tuple(r for r in plan.reasons if not r.startswith(
                ("misses the deadline", "over budget"))))
            options.append(training_option(job, bare, confidence, training.deadline, training.budget))
    usable = [o for o in options if o.usable]
    feasible = [o for o in usable if o.feasible]
    cost, time = (lambda o: o.cost_usd), (lambda o: o.hours)
    frontier = pareto_frontier(usable, cost, time)
    choices: list[Choice] = []
    alternatives: list[Choice] = []
    if feasible:
        cheapest = min(feasible, key=lambda o: (o.cost_usd, o.hours))
        fastest = min((o for o in usable if o.within_budget), key=lambda o: (o.hours, o.cost_usd))
        balanced = _balanced(pareto_frontier(feasible, cost, time), cost, time)
        choices = _training_tradeoffs(cheapest, balanced, fastest)
        in_budget = [o for o in usable if o.within_budget]
        anyway = min(in_budget, key=lambda o: (o.cost_usd, o.hours))
        if anyway.cost_usd < cheapest.cost_usd:
            alternatives.append(Choice("cheapest regardless of deadline", anyway,
                                       f"saves {_usd(cheapest.cost_usd - anyway.cost_usd)} but takes "
                                       f"{fixed(anyway.hours)} h"))
    best_per_gpu = []
    for gpu in sorted({o.plan.gpu for o in feasible}):
        best_per_gpu.append(min((o for o in feasible if o.plan.gpu == gpu), key=lambda o: (o.cost_usd, o.hours)))
    best_per_gpu.sort(key=lambda o: (o.cost_usd, o.hours))
    rejected = _rejections(options, lambda o: o.plan.gpu, lambda o: o.plan.provider, lambda o: o.feasible,
                           lambda o: (not o.plan.fits, len(o.plan.reasons), len(o.reasons), o.hours),
                           lambda o: o.reasons)
    deadline_h = training.deadline / 3600.0 if training.deadline else None
    decision = TrainingDecision(confidence, deadline_h, training.budget, options, frontier, choices, alternatives,
                                best_per_gpu, rejected)
    decision.assumptions.extend(_training_assumptions(decision, constraints.spot, job))
    return decision


def _training_assumptions(decision: TrainingDecision, spot: bool, job: TrainingJob) -> list[str]:
    from planner.plans.spot import (
        CHECKPOINT_WRITE_BYTES_PER_S,
        INTERRUPTIONS_PER_MONTH,
        RESTART_S,
    )

    level = decision.confidence
    lines = [f"Hours are planned at P{level * 100:g}: the efficiency's log-normal spread at z = "
             f"{NormalDist().inv_cdf(level):.2f} (P50 plans on the median)."
             if level != 0.5 else "Hours are planned at P50 (the median efficiency); use --confidence 0.9 for P90."]
    shown = [c.option for c in decision.choices] + decision.best_per_gpu[:3]
    origins = dict.fromkeys(f"{o.plan.efficiency.source}: {o.plan.efficiency.detail}" for o in shown)
    lines += [f"Efficiency origin — {origin}." for origin in origins]
    lines.append("Each plan's layout (data × tensor × pipeline, ZeRO stage, recomputation) is the planner's choice "
                 "that fits memory; cost is whole instances billed at each provider's granularity.")
    if uses_flash(job.work.family, job.attention):
        lines.append("Attention: flash (FlashAttention / PyTorch scaled_dot_product_attention), whose curve is "
                     "fitted on A100 runs; `--set training.attention=standard` plans materialised scores.")
    if spot:
        lines.append(f"Spot: {INTERRUPTIONS_PER_MONTH:.0%} of instances reclaimed per month (AWS Spot Instance "
                     f"Advisor band for H100), checkpoints written at {CHECKPOINT_WRITE_BYTES_PER_S / 2**20:,.0f} "
                     f"MiB/s (EBS gp3), {RESTART_S / 60:g} min to restart; interval by Young's formula.")
    else:
        lines.append("On-demand prices only (constraints.spot: false); `--set constraints.spot=true` compares spot "
                     "with its expected interruption overhead.")
    return lines


def serving_latency_key(plans: list[ServingPlan]) -> str:
    """The p95 latency the decision trades against cost: TTFT p95 for generative serving, else latency p95."""
    keys = set().union(*(p.latency_s for p in plans)) if plans else set()
    return "ttft_p95" if "ttft_p95" in keys else "latency_p95"


def decide_serving(plans: list[ServingPlan], slo=None) -> ServingDecision:
    """The cheapest plan meeting every percentile target, the fastest (lowest p95) and the balanced one."""
    key = serving_latency_key(plans)
    good = [p for p in plans if p.meets_slo]
    cost = lambda p: p.monthly_cost_usd  # noqa: E731
    time = lambda p: p.latency_s.get(key, math.inf)  # noqa: E731
    frontier = pareto_frontier([p for p in plans if p.fits], cost, time)
    choices: list[Choice] = []
    name = key.replace("_p95", "").upper() + " p95" if key != "latency_p95" else "latency p95"
    if good:
        cheapest = min(good, key=lambda p: (cost(p), time(p)))
        fastest = min(good, key=lambda p: (time(p), cost(p)))
        balanced = _balanced(pareto_frontier(good, cost, time), cost, time)

        def versus(a: ServingPlan, b: ServingPlan, other: str) -> str:
            dc, dt = cost(a) - cost(b), (time(a) - time(b)) * 1e3
            if abs(dc) < 0.005 and abs(dt) < 0.005:
                return f"same as {other}"
            if dc >= 0:
                return f"{_usd(dc)}/month more than {other} for {fixed(-dt, 0)} ms lower {name}"
            return f"{fixed(dt, 0)} ms higher {name} than {other} to save {_usd(-dc)}/month"

        choices = [
            Choice("cheapest viable", cheapest, "gives up latency headroom: " + versus(cheapest, fastest, "the fastest")
                   if cheapest is not fastest else "also the fastest: nothing to give up"),
            Choice("balanced", balanced, "knee of the cost–latency frontier: "
                   + (versus(balanced, cheapest, "the cheapest") if balanced is not cheapest else "it is the cheapest")),
            Choice("fastest", fastest, "gives up money: " + versus(fastest, cheapest, "the cheapest")
                   if fastest is not cheapest else "also the cheapest: nothing to give up"),
        ]
    best_per_gpu = sorted((min((p for p in good if p.gpu == g), key=lambda p: (cost(p), time(p)))
                           for g in {p.gpu for p in good}), key=lambda p: (cost(p), time(p)))
    rejected = _rejections(plans, lambda p: p.gpu, lambda p: p.provider, lambda p: p.meets_slo,
                           lambda p: (not p.fits, len(p.reasons), cost(p)), lambda p: p.reasons)
    shown = [c.option for c in choices] + best_per_gpu[:3]
    assumptions = [f"Efficiency origin — {o}." for o in dict.fromkeys(
        f"{p.efficiency.compute.source}: {p.efficiency.compute.detail}; {p.efficiency.bandwidth.detail}"
        for p in shown)]
    assumptions.append("Replicas sized by Erlang C for the percentile targets at the peak rate; the monthly bill "
                       "keeps them up all month (autoscaled bill shown separately where average_rate is given).")
    target = getattr(slo, key, None) if slo is not None else None
    return ServingDecision(key, plans, frontier, choices, best_per_gpu, rejected, assumptions, target)


def decide(loaded: LoadedProfile, catalog: Catalog, est: Estimate, confidence: float = 0.5) -> Decision:
    """The decision for both sections of an estimate."""
    check_confidence(confidence)
    training = (decide_training(est.training.job, loaded, catalog, confidence, est.training.plans)
                if est.training else None)
    inference = decide_serving(est.inference.plans, loaded.profile.inference.slo) if est.inference else None
    return Decision(training, inference)
