"""Decisions a person can act on: every option (offer × count × on-demand/spot) at a confidence level, the
Pareto frontier, three named choices with their trade-offs, the best plan per GPU type and why the rest fail."""
from __future__ import annotations

import dataclasses
import math
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import field
from planner.dataclass import dataclass
from statistics import NormalDist
from typing import Any, TypeVar

from planner.catalog.load import Catalog
from planner.catalog.trust import doubtful_offers
from planner.decide.confidence import (Accuracy, largest_published_batch, nearest_accuracy, serving_group,
                                       training_group)
from planner.decide.understood import Understood, understood
from planner.efficiency.train_curve import uses_flash
from planner.errors import PlannerError, option
from planner.model.startup import startup_note
from planner.plans import verdict
from planner.plans.options import TrainingOption, hours_at_confidence, spot_adjusted
from planner.plans.rank import (
    headroom_factor,
    holds_with_headroom,
    latency_name,
    serving_latency_key,
    serving_rank,
)
from planner.plans.owned import owned_instance
from planner.plans.search import Estimate, TrainingEstimate, planned_owned
from planner.plans.serving import ServingPlan
from planner.plans.spot import CHECKPOINT_WRITE_BYTES_PER_S, INTERRUPTIONS_PER_MONTH
from planner.plans.training import TrainingJob, TrainingPlan, pinned_parts, starting_weight_bytes, virtual_stages
from planner.plans.verdict import Kind, Verdict
from planner.project.load import LoadedProfile
from planner.readable import count_text, fixed, gbps_text, long_duration, percent, usd, whole_ms
from planner.schema.catalog import COMMIT_TERM_HOURS
from planner.schema.profile import Profile, Slo
from planner.schema.units import check_digit_groups

T = TypeVar("T")
__all__ = ["Choice", "Decision", "Rejection", "ServingDecision", "TrainingDecision", "TrainingOption",
           "check_confidence", "decide", "decide_serving", "decide_training", "hours_at_confidence",
           "holds_with_headroom", "latency_name", "pareto_frontier", "serving_latency_key", "spot_adjusted"]


@dataclass(frozen=True)
class Choice:
    """A named choice with the one-line trade-off of picking it."""

    name: str
    option: Any
    """A TrainingOption or a ServingPlan."""
    tradeoff: str


@dataclass(frozen=True)
class Rejection:
    """A GPU type (or offer) that cannot do the job, with the reason of its closest attempt."""

    gpu: str
    provider: str
    reasons: tuple[str, ...]
    verdicts: tuple[Verdict, ...] = ()


@dataclass(frozen=True)
class TrainingDecision:
    """The training decision."""

    confidence: float
    deadline_h: float | None
    budget_usd: float | None
    decided: list[TrainingOption]
    """The options the decision ranked (TrainingEstimate.decided)."""
    frontier: list[TrainingOption]
    choices: list[Choice]
    alternatives: list[Choice]
    best_per_gpu: list[TrainingOption]
    rejected: list[Rejection]
    assumptions: list[str] = field(default_factory=list)
    changes_needed: list[str] = field(default_factory=list)
    """When nothing meets every constraint: what would have to change (deadline, budget, GPU count), in words."""
    section: TrainingEstimate | None = field(default=None, repr=False, compare=False)
    """The estimate decided on, whose `options` are every option searched."""

    @property
    def options(self) -> list[TrainingOption]:
        """Every option searched (the plot draws them all); the decision read `decided`, which holds every one that
        could change it."""
        return self.section.options if self.section is not None else self.decided

    def __repr__(self) -> str:
        return _decision_repr(self)


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
    alternatives: list[Choice] = field(default_factory=list)
    """When no plan meets the targets: the fastest and the cheapest plan that run at all."""
    changes_needed: list[str] = field(default_factory=list)
    """When no plan meets the targets: what would have to change, in words."""
    targeted: bool = True
    """The profile sets a latency target (inference.slo); False: plans keep up with the peak rate, nothing more."""
    other_keys: tuple[str, ...] = ()
    """The other percentiles the profile targets (TPOT p95 beside TTFT p95), shown beside latency_key in the
    decision's tables: the one that decides may be among them (new-user QA round 30: gpt-oss-120b's recommendation
    looked beaten on TTFT and $/month by a plan without TPOT headroom, TPOT in prose only)."""

    def __repr__(self) -> str:
        return _decision_repr(self)


def _decision_repr(section: TrainingDecision | ServingDecision) -> str:
    """A section's decision in one line, its choices by name (the dataclass repr wrote every option, megabytes)."""
    choices = ", ".join(c.name for c in section.choices) or "no choice"
    return (f"{type(section).__name__}({choices}; {len(section.best_per_gpu)} GPU types with a plan, "
            f"{len(section.rejected)} rejected)")


@dataclass(frozen=True)
class Decision:
    """Both sections, what the planner understood, and how sure each section is."""

    training: TrainingDecision | None
    inference: ServingDecision | None
    understood: Understood | None = None
    training_accuracy: Accuracy | None = None
    inference_accuracy: Accuracy | None = None

    def __repr__(self) -> str:
        """The choices of each section in one line (the dataclass repr wrote every option decided on, megabytes)."""
        parts = [f"{name}: {', '.join(c.name for c in section.choices) or 'no choice'}"
                 for name, section in (("training", self.training), ("inference", self.inference))
                 if section is not None]
        return f"Decision({'; '.join(parts)})"


def parse_confidence(text: str) -> float:
    """--confidence as a user writes a quantile: 0.9, 90% or P90 (new-user QA: '--confidence 90%' was Typer's boxed
    'Invalid value for '--confidence': Input should be a valid number'); checked by check_confidence."""
    raw = text.strip()
    try:
        check_digit_groups(raw, "a quantile such as 0.9 (or 90%, P90)")  # float() read '0.9_5' as 0.95
    except ValueError as exc:
        raise PlannerError(f"--confidence: {exc}",
                           hint="Use 0.5 to plan on median hours, 0.9 to plan on P90 hours.") from None
    try:
        if raw[:1] in "pP" and raw[1:]:
            value = float(raw[1:]) / 100.0
        elif raw.endswith("%"):
            value = float(raw[:-1]) / 100.0
        else:
            value = float(raw)
    except ValueError:
        raise PlannerError(f"--confidence {text!r}: expected a quantile such as 0.9 (or 90%, P90)",
                           hint="Use 0.5 to plan on median hours, 0.9 to plan on P90 hours.") from None
    # its range checked here, so that the error quotes what was typed (new-user QA round 12: 'P100' read '1')
    return check_confidence(value, text.strip())


def check_confidence(confidence: float, typed: str | None = None) -> float:
    """The confidence level, or a PlannerError when it is outside [0.5, 1) or not a number (new-user QA, notebook:
    confidence="0.9" was an internal TypeError). `typed`: the option as the user wrote it, which the error quotes
    (else the number as Python writes it, not rounded)."""
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)):
        raise PlannerError(f"{option('--confidence')} {confidence!r} is not a number",
                           hint="Use 0.5 to plan on median hours, 0.9 to plan on P90 hours.")
    if not (0.5 <= confidence < 1.0) or math.isnan(confidence):
        hint = "Use 0.5 to plan on median hours, 0.9 to plan on P90 hours."
        if 50 <= confidence < 100:  # a percentile written as one (new-user QA round 8: '--confidence 95')
            hint = f"For P{confidence:g} write {confidence / 100:g} (or {confidence:g}%, P{confidence:g}). " + hint
        raise PlannerError(f"{option('--confidence')} {typed or repr(confidence)} is outside [0.5, 1)", hint=hint)
    return confidence


def pareto_frontier(points: Sequence[T], cost: Callable[[T], float], time: Callable[[T], float],
                    order: Callable[[T], tuple[float, float]] | None = None) -> list[T]:
    """The points no other point beats on both cost and time, cheapest first. `order`: (cost, time) of a point in
    one call, when the caller has a faster one (an attrgetter over thousands of training options)."""
    return frontier_of_sorted(sorted(points, key=order or (lambda p: (cost(p), time(p)))), time)


def frontier_of_sorted(points: Sequence[T], time: Callable[[T], float]) -> list[T]:
    """pareto_frontier of points already in its order (cost, then time; equal pairs in the order given)."""
    frontier: list[T] = []
    for point in points:
        if not frontier or time(point) < time(frontier[-1]):
            frontier.append(point)
    return frontier


BALANCED_MAX_EXTRA_COST = 0.25
"""'balanced' pays at most this share more than the cheapest viable plan for its speed. A stated policy, not a fit:
a faster finish is worth something to a team, but not any price; the trade-off line prints the share."""


def _balanced(frontier: list[T], cost: Callable[[T], float], time: Callable[[T], float],
              max_extra: float = BALANCED_MAX_EXTRA_COST) -> T | None:
    """The fastest frontier point costing at most (1 + max_extra) × the cheapest's cost (the frontier is sorted
    cheapest first, so its first point is the cheapest). With no such faster point the cheapest is balanced."""
    if not frontier:
        return None
    limit = cost(frontier[0]) * (1.0 + max_extra)
    within = [p for p in frontier if cost(p) <= limit * (1 + 1e-12)]
    return min(within, key=lambda p: (time(p), cost(p)))


def hours_text(hours: float) -> str:
    """Hours for people: minutes below one hour."""
    return f"{fixed(hours)} h" if hours >= 1 else f"{fixed(hours * 60)} min"


_usd = usd


def extrapolation_caveat(plan: TrainingPlan) -> str:
    """'; caveat: …' when the plan's efficiency rests on no published run of its GPU architecture or scale (the
    interval is widened for it: catalog/priors.yaml extrapolation), else ''."""
    flags = [f for f in plan.efficiency.extrapolations if f.startswith(("architecture:", "scale:"))]
    if not flags:
        return ""
    return "; caveat: extrapolated efficiency (" + "; ".join(flags) + "), see its P90"


def network_caveat(plan: TrainingPlan) -> str:
    """'; caveat: …' when the plan spans instances whose offer states no network, over the assumed one (new-user QA:
    lora-7b-a6000's balanced choice, 32 single-GPU vast-ai instances over an assumed 10 Gb/s, read like any other;
    the footer's 'Assumed network' line names rows of the plans table only), else ''."""
    if not plan.assumed_network_gbps or plan.instances <= 1:
        return ""
    return f"; caveat: {plan.instances} instances over an assumed {gbps_text(plan.assumed_network_gbps)} Gb/s network " \
           "(the offer states none)"


def startup_caveat(option: TrainingOption) -> str:
    """'; caveat: …' when more than half of the option's hours are the start-up (planner/model/startup.py:
    provisioning, NCCL set-up and rendezvous, reading the starting weights), which more GPUs do not shorten (new-user
    QA round 27: bert-train-then-serve's fastest, 4096 B200s for $22,528, ran 130 s, 108 s of them starting), else ''."""
    startup, total = option.plan.startup_s, option.hours * 3600.0
    if not option.plan.predicted or startup * 2.0 <= total:
        return ""
    return (f"; caveat: {percent(startup / total)} of its {long_duration(total)} is start-up (provisioning, NCCL, "
            "weights), which more GPUs do not shorten")


def batch_caveat(plan: TrainingPlan, job: TrainingJob, largest: tuple[float, str] | None) -> str:
    """'; caveat: …' when, without a global batch (training.batch), the plan's step takes more tokens than any
    published run with a stated global batch did (largest: confidence.largest_published_batch), else ''. Its hours
    assume the optimizer converges in the same samples at that batch, which no run in the data shows (new-user QA:
    lora-7b without a batch chose 4,096 B200 for 1 s, 65,536 samples of 1,024 tokens a step)."""
    if largest is None or job.global_batch_samples is not None or job.work.family not in ("decoder", "encoder"):
        return ""
    tokens = plan.data * plan.micro_batch * max(1, plan.grad_accumulation) * job.work.tokens_per_sample
    if tokens <= largest[0]:
        return ""
    return (f"; caveat: {count_text(tokens)} tokens a step, more than any published run with a stated batch took "
            f"({count_text(largest[0])}, {largest[1]}): set training.batch to a batch known to train well")


DOUBTED_PRICE_CAVEAT = "; caveat: its price is in doubt (†)"
"""A choice priced on an offer whose price the catalog doubts (Offer.doubtful; the † footnote says why)."""

UNDOUBTED_CHOICE = "cheapest with an undoubted price"
"""The alternative named beside a first choice priced on a doubted offer (new-user QA round 26: three of the eight
example profiles recommended a mithril plan whose price the catalog marks as possibly a spot or auction price, and
the cheapest plan without a doubt was left to the reader to find in the plans table)."""


def doubted(option: TrainingOption | ServingPlan, doubtful: frozenset[tuple[str, str]]) -> bool:
    """The option is priced on an offer whose price the catalog doubts (catalog/trust.py doubtful_offers)."""
    return (option.provider, option.instance) in doubtful


def _versus(a: TrainingOption, b: TrainingOption, other: str) -> str:
    """What `a` costs or saves against `b`, in money and hours."""
    dc, dh = a.cost_usd - b.cost_usd, a.hours - b.hours
    if abs(dc) < 0.005 and abs(dh) < 0.005:
        return f"same as {other}"
    if dc >= 0:
        return f"{_usd(dc)} more than {other} to finish {hours_text(-dh)} sooner" if dh < 0 else \
            f"{_usd(dc)} more than {other}" + (f", {hours_text(dh)} longer" if dh >= 0.005 else "")
    return f"{hours_text(dh)} longer than {other} to save {_usd(-dc)}"


def _training_tradeoffs(cheapest: TrainingOption, balanced: TrainingOption, fastest: TrainingOption,
                        job: TrainingJob | None = None, largest: tuple[float, str] | None = None,
                        doubtful: frozenset[tuple[str, str]] = frozenset()) -> list[Choice]:
    versus = _versus

    def caveats(option: TrainingOption) -> str:  # what each choice's words end on, in this order
        return (extrapolation_caveat(option.plan) + network_caveat(option.plan) + startup_caveat(option)
                + (batch_caveat(option.plan, job, largest) if job is not None else "")
                + (DOUBTED_PRICE_CAVEAT if doubted(option, doubtful) else ""))

    share = f"{BALANCED_MAX_EXTRA_COST:.0%}"
    return [
        Choice("cheapest viable", cheapest,
               ("gives up speed: " + versus(cheapest, fastest, "the fastest") if cheapest is not fastest
                else "also the fastest: nothing to give up") + caveats(cheapest)),
        Choice("balanced", balanced, f"the fastest plan costing at most {share} more than the cheapest: "
               + (versus(balanced, cheapest, "the cheapest") if balanced is not cheapest
                  else f"none is faster within {share}, so it is the cheapest") + caveats(balanced)),
        Choice("fastest", fastest,
               ("gives up money: " + versus(fastest, cheapest, "the cheapest") if fastest is not cheapest
                else "also the cheapest: nothing to give up") + caveats(fastest)),
    ]


SAME_PLAN = "the same plan as"
"""How a choice that is another's plan reads (in the JSON; the tables name both on one row and say it once)."""
SAME_AS_FASTEST = f"{SAME_PLAN} the fastest possible"
"""A closest plan's 'cheapest possible' trade-off where the fastest is also the cheapest (left out of the lines under the
choices, which already name both: new-user QA round 25 read '113 ms TTFT p95 for $0.00/month; $0.00/month at 113 ms
TTFT p95')."""


def collapse_choices(choices: list[Choice]) -> list[tuple[list[str], Any, list[str]]]:
    """Choices that are the same plan as one entry: (every name, the plan, every trade-off worth reading), in the
    order of their first name. A trade-off that only says the plan equals another choice is left out."""
    groups: dict[int, tuple[list[str], Any, list[str]]] = {}
    for choice in choices:
        names, option, tradeoffs = groups.setdefault(id(choice.option), ([], choice.option, []))
        names.append(choice.name)
        if choice.tradeoff and not choice.tradeoff.startswith(SAME_PLAN) and not any(
                t in choice.tradeoff for t in ("nothing to give up", "so it is the cheapest", "so balanced is the cheapest")):
            tradeoffs.append(choice.tradeoff)
    return list(groups.values())


def _rejections(options: Sequence[T], gpu_of: Callable[[T], str], provider_of: Callable[[T], str],
                good: Callable[[T], bool], rank: Callable[[T], tuple[object, ...]],
                verdicts_of: Callable[[T], tuple[Verdict, ...]],
                most_gpus: Mapping[str, int] | None = None) -> list[Rejection]:
    """Per GPU type with no good option, its closest option (by `rank`), nearest misses first.
    `most_gpus`: per GPU type, the most GPUs searched; a closest option that does not fit is then the count nearest
    to fitting (verdict.unfit_key) of a GPU where none fits, and its verdict says how far the search went."""
    by_gpu: dict[str, list[T]] = {}
    for option in options:
        by_gpu.setdefault(gpu_of(option), []).append(option)
    closest = [min(group, key=rank) for gpu, group in sorted(by_gpu.items()) if not any(good(o) for o in group)]
    closest.sort(key=rank)  # the nearest misses first
    out = []
    for o in closest:
        verdicts = verdicts_of(o)
        most = most_gpus.get(gpu_of(o)) if most_gpus else None
        if most:
            verdicts = tuple(dataclasses.replace(v, most_gpus=most) if v.kind is Kind.DOES_NOT_FIT else v
                             for v in verdicts)
        out.append(Rejection(gpu_of(o), provider_of(o), verdict.reasons(verdicts), verdicts))
    return out


def decide_training(section: TrainingEstimate, profile: Profile, largest_batch: tuple[float, str] | None = None,
                    doubtful: frozenset[tuple[str, str]] = frozenset()) -> TrainingDecision:
    """The decision over the options the search evaluated (each judged at the section's confidence): the frontier,
    the three named choices, the best per GPU type and the GPU types that cannot do the job. The first choice is
    the search's first plan: both take the minimum of the same rank."""
    training, constraints = profile.training, profile.constraints
    assert training is not None
    options = section.decided
    usable = [o for o in options if o.usable]
    # each option's rank once (TrainingOption.rank): the sorts and minima below share it with the search
    rank: Callable[[TrainingOption], tuple[object, ...]] = operator.attrgetter("rank")

    feasible = sorted((o for o in usable if o.feasible), key=rank)
    # C-level getters: the frontier sorts thousands of options by them
    cost: Callable[[TrainingOption], float] = operator.attrgetter("cost_usd")
    time: Callable[[TrainingOption], float] = operator.attrgetter("hours")

    order: Callable[[TrainingOption], tuple[float, float]] = operator.attrgetter("cost_usd", "hours")
    frontier = pareto_frontier(usable, cost, time, order)
    choices: list[Choice] = []
    alternatives: list[Choice] = []
    if feasible:
        cheapest = feasible[0]
        in_budget = [o for o in usable if o.within_budget]
        fastest = min(in_budget, key=operator.attrgetter("hours", "cost_usd"))
        # a feasible option's rank is (False, 0, True, cost, hours, names…): `feasible` is already in the frontier's
        # (cost, hours) order, equal pairs as its stable sort would leave them, so it is not sorted again
        balanced = _balanced(frontier_of_sorted(feasible, time), cost, time) or cheapest
        choices = _training_tradeoffs(cheapest, balanced, fastest, section.job, largest_batch, doubtful)
        anyway = min(in_budget, key=order)
        if anyway.cost_usd < cheapest.cost_usd:
            alternatives.append(Choice("cheapest regardless of deadline", anyway,
                                       f"saves {_usd(cheapest.cost_usd - anyway.cost_usd)} but takes "
                                       f"{fixed(anyway.hours)} h"))
        undoubted = next((o for o in feasible if not doubted(o, doubtful)), None) \
            if doubted(cheapest, doubtful) else None
        if undoubted is not None:
            named = next((c.name for c in choices if c.option is undoubted), None)
            alternatives.append(Choice(UNDOUBTED_CHOICE, undoubted, f"{SAME_PLAN} {named}" if named else
                                       _versus(undoubted, cheapest, "the cheapest viable")))
    changes: list[str] = []
    if not feasible:
        alternatives, changes = _training_impossible(usable, training.deadline, training.budget,
                                                     constraints.max_gpus, constraints.gpu_count)
    by_gpu: dict[str, list[TrainingOption]] = {}  # one pass: thousands of options over dozens of GPU types
    for o in feasible:
        by_gpu.setdefault(o.gpu, []).append(o)
    best_per_gpu = [min(by_gpu[gpu], key=rank) for gpu in sorted(by_gpu)]
    best_per_gpu.sort(key=rank)
    # the options' own GPU and provider fields: reading `plan` would make every option's plan copy (Judge.lazily)
    rejected = _rejections(options, operator.attrgetter("gpu"), operator.attrgetter("provider"),
                           operator.attrgetter("feasible"), rank, operator.attrgetter("verdicts"), section.most_gpus)
    deadline_h = training.deadline / 3600.0 if training.deadline else None
    decision = TrainingDecision(section.confidence, deadline_h, training.budget, options, frontier, choices,
                                alternatives, best_per_gpu, rejected, changes_needed=changes, section=section)
    decision.assumptions.extend(_training_assumptions(decision, constraints.spot, section.job,
                                                      constraints.commitment))
    return decision


def _training_impossible(usable: list[TrainingOption], deadline_s: float | None, budget_usd: float | None,
                         max_gpus: int, pinned: int | None) -> tuple[list[Choice], list[str]]:
    """Nothing meets every constraint: the fastest and the cheapest plan that run at all, and what would have to
    change for some plan to qualify (a later deadline, a larger budget, more GPUs)."""
    if not usable:
        return [], ["No offer fits the model in memory: a GPU with more memory, a smaller model or a lower "
                    "precision would have to change."]
    fastest = min(usable, key=lambda o: (o.hours, o.cost_usd))
    cheapest = min(usable, key=lambda o: (o.cost_usd, o.hours))
    alternatives = [Choice("fastest possible", fastest, f"{hours_text(fastest.hours)} for {_usd(fastest.cost_usd)}"),
                    Choice("cheapest possible", cheapest, SAME_AS_FASTEST if cheapest is fastest else
                           f"{_usd(cheapest.cost_usd)} over {hours_text(cheapest.hours)}")]
    changes: list[str] = []
    late = deadline_s is not None and fastest.hours * 3600.0 > deadline_s
    if deadline_s is not None and late:
        changes.append(f"time: the deadline would have to be at least {hours_text(fastest.hours)} "
                       f"(now {hours_text(deadline_s / 3600.0)}): the fastest plan is {fastest.label}.")
    if budget_usd is not None:
        on_time = [o for o in usable if o.meets_deadline]
        base = min(on_time, key=lambda o: (o.cost_usd, o.hours)) if on_time else fastest
        if base.cost_usd > budget_usd:
            changes.append(f"budget: at least {_usd(base.cost_usd)} (now {_usd(budget_usd)}) for "
                           f"{'the cheapest plan on time' if on_time else 'the fastest plan'}, {base.label}.")
    # more GPUs shorten a run, they do not make it cheaper: said only when the deadline is what no plan meets
    if late and fastest.plan.gpu_count >= (pinned or max_gpus):
        what = f"constraints.gpu_count is pinned at {pinned}" if pinned else f"max_gpus is {max_gpus}"
        plan = fastest.plan
        waits = plan.exposed_comm_time_s / plan.step_time_s if plan.step_time_s > 0 else 0.0
        links = plan.links
        if pinned and plan.instances > 1 and waits >= 0.5 and links is not None and links.inter_node_gbps:
            # a pinned count's step that already waits on the network gains nothing from more instances, and no
            # other count was searched (new-user QA round 30: 16 H100 on two RunPod pods at 0.1 Gb/s took 434 h, 8 in
            # one pod 11 h, and the advice was more GPUs); unpinned, the fastest is already the fastest count
            network = (f"an assumed {gbps_text(links.inter_node_gbps)} Gb/s" if links.inter_node_assumed
                       else f"a stated {gbps_text(links.inter_node_gbps)} Gb/s")
            changes.append(f"count: the fastest plan uses every GPU allowed ({what}) on {plan.instances} instances, "
                           f"and {percent(waits)} of its step waits on the network between them ({network}): fewer "
                           f"GPUs on fewer instances, or a faster network, could be faster; more GPUs would not.")
        else:
            changes.append(f"count: the fastest plan uses every GPU allowed ({what}); more GPUs could be faster.")
    return alternatives, changes


def origin_lines(pairs: Iterable[tuple[str, str]]) -> list[str]:
    """One 'Efficiency origin' line per distinct origin, naming the GPUs of the shown plans it holds for (an origin
    can be particular to a GPU: the ampere curve carried to an RTX A6000's chip)."""
    gpus: dict[str, list[str]] = {}
    for gpu, origin in pairs:
        names = gpus.setdefault(origin, [])
        if gpu not in names:
            names.append(gpu)
    return [f"Efficiency origin ({', '.join(names)}) — {origin}." for origin, names in gpus.items()]


def growing_batch_line(job: TrainingJob, plans: Sequence[TrainingPlan]) -> str:
    """What planning without a global batch means for the choices shown: each replica runs its micro-batches, so a
    step's samples (data × micro-batch × accumulation) grow with the GPU count, and the steps the dataset makes
    shrink; a fixed-batch recipe (training.batch) gives other hours."""
    spans = sorted({(p.data * p.micro_batch * max(1, p.grad_accumulation)) for p in plans})
    steps = sorted({max(1, math.ceil(job.samples / s)) for s in spans})
    batches = " to ".join(f"{count_text(s)}" for s in (spans[0], spans[-1])) if len(spans) > 1 \
        else count_text(spans[0])
    few = f" ({steps[0]:,} to {steps[-1]:,} optimizer steps)" if len(steps) > 1 else f" ({steps[0]:,} optimizer steps)"
    return (f"No global batch given (training.batch): the batch grows with the GPUs, each replica running its "
            f"micro-batches, so the choices above take {batches} samples a step{few}. A recipe with a fixed "
            "batch trains differently: `--set training.batch.global_samples=N` plans at one.")


def _virtual_line(decision: TrainingDecision, job: TrainingJob) -> list[str]:
    """The choices a pinned training.parallelism.virtual does not apply to, and why: interleaving needs a pipeline
    of two or more stages whose layers it divides (plans/training.py virtual_stages), and without one the plain
    schedule is planned, which neither the tables nor the JSON showed (new-user QA round 12: `virtual: 4` with the
    pipeline left to the search planned every choice at pipeline 1, the pin named as honoured)."""
    pins = job.parallelism
    if pins is None or not pins.virtual or pins.virtual <= 1:
        return []
    layers = job.work.layers
    missed = []
    for names, option, _ in collapse_choices(decision.choices):
        pp = option.plan.pipeline
        if virtual_stages(job, pp) == 1:
            why = "one pipeline stage" if pp <= 1 else f"{pp} pipeline stages of {layers // pp} layers"
            missed.append(f"{', '.join(names)} ({why})")
    if not missed:
        return []
    fix = ("Pin training.parallelism.pipeline too, to plan the interleaved schedule." if pins.pipeline is None else
           f"Pin a virtual degree that divides the {layers // max(1, pins.pipeline)} layers of a stage."
           if pins.pipeline > 1 else "Pin training.parallelism.pipeline to 2 or more, or remove virtual.")
    return [f"training.parallelism.virtual {pins.virtual} interleaves a pipeline of two or more stages whose layers it "
            f"divides; not applied, planned with the plain schedule: {'; '.join(missed)}. {fix}"]


def _training_assumptions(decision: TrainingDecision, spot: bool, job: TrainingJob,
                          commitment: str | None = None) -> list[str]:
    level = decision.confidence
    lines = [f"Hours are planned at P{level * 100:g}: the efficiency's log-normal spread at z = "
             f"{NormalDist().inv_cdf(level):.2f} (P50 plans on the median)."
             if level != 0.5 else "Hours are planned at P50 (the median efficiency); use --confidence 0.9 for P90."]
    shown = [c.option for c in decision.choices] + decision.best_per_gpu[:3]
    lines += origin_lines((o.gpu, f"{o.plan.efficiency.source}: {o.plan.efficiency.detail}") for o in shown)
    context = " × context" if any(o.plan.context > 1 for o in shown) else ""
    # new-user QA: with training.parallelism pinned, this line still called the whole layout the planner's choice
    pinned = pinned_parts(job)
    around = f", around what the profile pins ({', '.join(pinned)})" if pinned else ""
    lines.append(f"Each plan's layout (data × tensor × pipeline{context}, ZeRO stage, recomputation) is the planner's "
                 f"choice that fits memory{around}; cost is whole instances billed at each provider's granularity "
                 f"from launch. {startup_note(starting_weight_bytes(job))}")
    lines += _virtual_line(decision, job)
    if context:
        lines.append("Context parallelism splits each sequence over the context ranks (Megatron-LM "
                     "context_parallel_size, ring attention): 1/context of the activations per GPU, K,V blocks "
                     "passed around a ring behind the attention compute.")
    if job.global_batch_samples is None and decision.choices:
        # every row of the Choices table: the alternatives too (new-user QA round 21: 'cheapest regardless of
        # deadline', 2 samples a step, was left out of '8 to 8,192')
        lines.append(growing_batch_line(job, [c.option.plan for c in decision.choices + decision.alternatives]))
    if uses_flash(job.work.family, job.attention):
        lines.append("Attention: flash (FlashAttention / PyTorch scaled_dot_product_attention), whose curve is "
                     "fitted on A100 runs; `--set training.attention=standard` plans materialised scores.")
        if job.recompute == "selective":
            # new-user QA round 21: pinned, it cost 4-5 % more time at the same memory, and nothing said why
            # (plans/training.py RECOMPUTE_AUTO: a flash kernel keeps no scores for selective recomputation to drop)
            lines.append("Selective recomputation, as pinned: it reruns the attention core to drop its s×s scores, "
                         "which flash attention never keeps, so it saves no memory here and adds the attention "
                         "core's forward FLOP to every step; `recompute: none` keeps the same memory, `full` less.")
    if spot:
        lines.append(f"Spot: {INTERRUPTIONS_PER_MONTH:.0%} of instances reclaimed per month (AWS Spot Instance "
                     f"Advisor band for H100), checkpoints written at {CHECKPOINT_WRITE_BYTES_PER_S / 2**20:,.0f} "
                     f"MiB/s (EBS gp3) and read back after the start-up again; interval by Young's formula.")
    else:
        lines.append(("On-demand prices only" if commitment is None else
                      f"On-demand prices, and {commitment} committed-term prices where published "
                      f"(constraints.commitment: a committed plan costs the whole term, "
                      f"{fixed(COMMIT_TERM_HOURS[commitment], 0)} h per instance, however few hours the job uses)")
                     + " (constraints.spot: false); `--set constraints.spot=true` compares spot "
                     "with its expected interruption overhead.")
    return lines


_LATENCY_MISSES = (Kind.SLO_MISSED, Kind.SIMULATION_MISSED)


def decide_serving(plans: list[ServingPlan], slo: Slo | None = None, generative: bool = True,
                   alone: dict[str, ServingPlan] | None = None,
                   doubtful: frozenset[tuple[str, str]] = frozenset()) -> ServingDecision:
    """The recommendation is the cheapest plan that holds every percentile target with headroom (at the P10
    efficiency); beside it, the cheapest that meets the targets at the median efficiency, and the fastest.
    A latency far below its target is no benefit, so 'balanced' is the plan with headroom, never a faster one.
    generative: the plans decode tokens (their efficiency notes name the decode bandwidth); alone: when none meets
    every target, the plan with the least of each latency sized for that target alone (ServingEstimate.alone)."""
    key = serving_latency_key(plans, slo)

    def rank(p: ServingPlan) -> tuple[object, ...]:
        return serving_rank(p, key, slo)

    def at_targets(p: ServingPlan) -> tuple[object, ...]:
        return serving_rank(p, key)  # the targets at the median efficiency, headroom aside

    good = [p for p in plans if p.meets_slo]
    untargeted = slo is None or not slo.targets()

    def cost(p: ServingPlan) -> float:
        return p.monthly_cost_usd

    def time(p: ServingPlan) -> float:
        return p.latency_s.get(key, math.inf)

    frontier = pareto_frontier([p for p in plans if p.fits], cost, time)
    choices: list[Choice] = []
    name = latency_name(key)
    changes: list[str] = []
    alternatives: list[Choice] = []
    if good:
        cheapest = min(good, key=at_targets)
        fastest = min(good, key=lambda p: (time(p), cost(p)))
        safe = [p for p in good if holds_with_headroom(p, slo)]
        recommended = min(safe, key=lambda p: (cost(p), time(p))) if safe else cheapest
        if cost(recommended) <= cost(cheapest):
            # nothing is saved by giving up headroom (an offer's plan with it can cost what its plan without it does,
            # plans/serving.py serving_plans): the cheapest at the targets is the recommendation, not a faster tie
            cheapest = recommended

        def versus(a: ServingPlan, b: ServingPlan, other: str) -> str:
            dc, dt = cost(a) - cost(b), time(a) - time(b)
            if abs(dc) < 0.005 and abs(dt) < 0.005e-3:
                return f"same as {other}"
            if dc >= 0:
                return f"{_usd(dc)}/month more than {other} for {whole_ms(-dt)} lower {name}"
            return f"{whole_ms(dt)} higher {name} than {other} to save {_usd(-dc)}/month"

        def fastest_trade(fastest: ServingPlan, recommended: ServingPlan) -> str:
            """What the fastest plan gives up against the recommendation: money, or — when it costs less, which only
            a plan without the recommendation's headroom can — the headroom (new-user QA round 12: 'gives up money:
            0 ms higher TTFT p95 than the recommendation to save $52,560/month')."""
            if fastest is recommended:
                return "also the recommendation: nothing to give up"
            if cost(fastest) >= cost(recommended):
                return "gives up money: " + versus(fastest, recommended, "the recommendation")
            faster = time(recommended) - time(fastest)
            saves = f"{_usd(cost(recommended) - cost(fastest))}/month less than the recommendation" + (
                f" and {whole_ms(faster)} lower {name}" if faster >= 0.005e-3 else f" at the same {name}")
            if not (safe and not holds_with_headroom(fastest, slo)):
                return saves
            miss = _headroom_miss(fastest, slo)
            return (f"gives up headroom: {saves}, but meets the targets at the median efficiency only"
                    + (f" ({miss})" if miss else ""))

        if untargeted:  # nothing to hold (new-user QA: "holds every target even at the P10 efficiency" with none set)
            lead = ("no latency target given (inference.slo): the cheapest plan that keeps up with the peak rate, at "
                    "whatever latency that gives")
        elif safe:
            lead = "holds every target even at the P10 efficiency" + (
                f": {_usd(cost(recommended) - cost(cheapest))}/month more than the cheapest at the targets"
                if recommended is not cheapest else "")
        else:
            lead = "no plan holds the targets with headroom (at the P10 efficiency each misses one): the cheapest"
        miss = _headroom_miss(cheapest, slo)
        choices = [
            Choice("cheapest with headroom", recommended, lead),
            Choice("balanced", recommended, "a latency below its target is no benefit, so balanced is the cheapest "
                                            "plan with headroom"),
            Choice("cheapest at the targets", cheapest,
                   f"saves {_usd(cost(recommended) - cost(cheapest))}/month but meets the targets at the median "
                   f"efficiency only" + (f" ({miss})" if miss else "") if cheapest is not recommended
                   else f"{SAME_PLAN} the recommendation"),
            Choice("fastest", fastest, fastest_trade(fastest, recommended)),
        ]
        choices = [Choice(c.name, c.option, c.tradeoff + DOUBTED_PRICE_CAVEAT) if c.tradeoff
                   and doubted(c.option, doubtful) else c for c in choices]
        pool = safe if safe and recommended in safe else good
        choices = [Choice(c.name, c.option, c.tradeoff + committed_caveat(c.option, pool)) if c.tradeoff else c
                   for c in choices]
        # beside a recommendation priced on a doubted offer, the cheapest plan of the same standing without a doubt
        undoubted = min((p for p in (safe or good) if not doubted(p, doubtful)), key=lambda p: (cost(p), time(p)),
                        default=None) if doubted(recommended, doubtful) else None
        if undoubted is not None:
            dc = cost(undoubted) - cost(recommended)
            named = next((c.name for c in choices if c.option is undoubted), None)
            alternatives.append(Choice(UNDOUBTED_CHOICE, undoubted, f"{SAME_PLAN} {named}" if named else (
                f"{_usd(dc)}/month more than the recommendation" if dc >= 0 else
                f"{_usd(-dc)}/month less than the recommendation")
                + ("; it too holds every target even at the P10 efficiency" if safe and not untargeted else "")))
    elif any(p.fits for p in plans):
        # with the plans sized for one target alone: the fastest of all may be among them (new-user QA round 23)
        usable = [p for p in [*plans, *(alone or {}).values()] if p.fits and key in p.latency_s]
        if usable:
            quick = min(usable, key=lambda p: (time(p), cost(p)))
            cheap = min(usable, key=lambda p: (cost(p), time(p)))
            # each target no plan meets, with the least any plan gives (new-user QA: a TPOT target of 1 ms that no
            # GPU meets was reported as the TTFT p95 target having to be at least 229 ms, which 500 ms already was)
            # least: sized for that target alone where the search did so (ServingEstimate.alone), not the plans
            # sized toward every target at once
            missed = []
            for target_key, goal in (slo.targets() if slo is not None else {}).items():
                have = [p for p in plans if p.fits and target_key in p.latency_s]
                if have:
                    least = (alone or {}).get(target_key) or min(
                        have, key=lambda p: (p.latency_s[target_key], cost(p)))
                    if least.latency_s[target_key] > goal:
                        missed.append((target_key, goal, least))
            for target_key, goal, least in missed:
                changes.append(f"latency: the {latency_name(target_key)} target would have to be at least "
                               f"{whole_ms(least.latency_s[target_key])} (now {whole_ms(goal)}): "
                               f"the fastest plan for it is {_serving_label(least)}.")
            for target_key, met in (alone or {}).items():
                if slo is not None and met.latency_s[target_key] <= slo.targets()[target_key]:
                    # a target the closest plans all miss, met once the others are relaxed (their figures there)
                    others = ", ".join(f"{latency_name(k)} {whole_ms(met.latency_s[k])}" for k in slo.targets()
                                       if k != target_key and k in met.latency_s)
                    changes.append(f"latency: the {latency_name(target_key)} target alone is met, by "
                                   f"{_serving_label(met)} at {whole_ms(met.latency_s[target_key])}"
                                   + (f" ({others})" if others else "") + ", not beside the other targets.")
            # a plan meeting every latency target that cannot run for another reason (an owned machine with too
            # few GPUs: new-user QA round 24 read 'no plan meets every target at once' where one did, on 74 GPUs)
            on_time = [p for p in usable if not any(v.kind in _LATENCY_MISSES for v in p.verdicts)]
            blocked = min(on_time, key=lambda p: (cost(p), time(p))) if on_time and not missed else None
            if blocked is not None:
                changes.append(f"every latency target is met by {_serving_label(blocked)}, which cannot run: "
                               + "; ".join(verdict.reasons(blocked.verdicts)) + ".")
            elif not missed:
                changes.append(f"latency: no plan meets every target at once (each alone is met by some plan); "
                               f"the fastest plan by {name} is {_serving_label(quick)}.")
            # the fastest plan's misses, less the targets and the blocker said above ('misses tpot p95 (3 ms > 1 ms)')
            said = {k for k, _, _ in missed} | set(alone or {})
            rest = tuple(v for v in quick.verdicts if not (v.kind is Kind.SLO_MISSED and v.detail in said)
                         and not (blocked is not None and v in blocked.verdicts))
            changes += [f"also: {r}" for r in verdict.reasons(rest)][:2]
            alternatives = [Choice("fastest possible", quick, f"{whole_ms(time(quick))} {name} for "
                                                              f"{_usd(cost(quick))}/month"),
                            Choice("cheapest possible", cheap, SAME_AS_FASTEST if cheap is quick else
                                   f"{_usd(cost(cheap))}/month at {whole_ms(time(cheap))} {name}")]
    else:
        changes.append("No offer fits the model in memory: more GPU memory per replica, a smaller model or "
                       "lower-precision weights would have to change.")
    by_gpu: dict[str, list[ServingPlan]] = {}
    for p in good:  # each GPU's plans in `good`'s order, in one pass rather than one per GPU (~500 plans, ~45 GPUs)
        by_gpu.setdefault(p.gpu, []).append(p)
    best_per_gpu = sorted((min(by_gpu[g], key=rank) for g in {p.gpu for p in good}), key=rank)
    # a GPU type's closest plan misses its targets by the least (verdict.closeness: worst kind, then summed excess),
    # not the cheapest miss: new-user QA round 24 showed H100's 2-GPU plan at 27 ms > 9 ms where 8 GPUs give 10 ms
    rejected = _rejections(plans, lambda p: p.gpu, lambda p: p.provider, lambda p: p.meets_slo,
                           lambda p: (verdict.closeness(p.verdicts), rank(p)), lambda p: p.verdicts)
    shown = [c.option for c in choices] + best_per_gpu[:3]
    # the bandwidth (decode) efficiency paces generative plans only: an encoder's or CNN's forward pass is its compute
    assumptions = origin_lines((p.gpu, f"{p.efficiency.compute.source}: {p.efficiency.compute.detail}"
                                       + (f"; {p.efficiency.bandwidth.detail}" if generative else "")) for p in shown)
    batched = [p for p in shown if not generative and p.batch_size > 1]
    if untargeted:
        assumptions.append("No latency target (inference.slo): each plan has the fewest replicas that keep up with "
                           "the peak rate (utilisation below 100%), so requests may queue; the latencies shown are "
                           "what that gives. Set inference.slo (e.g. {ttft_p95: 500ms, tpot_p95: 50ms}) to size for "
                           "targets. The monthly bill keeps the replicas up all month (autoscaled bill shown "
                           "separately where average_rate is given).")
    else:
        sized = ("the M/D/c waiting time" if not batched else
                 "the M/D/c waiting time (batches of one) or the dynamic-batching model (below)")
        assumptions.append(f"Replicas sized by {sized} for the percentile targets at the peak rate; the monthly bill "
                           "keeps them up all month (autoscaled bill shown separately where average_rate is given).")
    if batched:
        # dynamic batching's percentiles are not M/D/c's: batches of up to batch_size close at max_queue_delay; the
        # model is measured against the simulation in docs/serving.md 'Known limits'
        # (benchmarks/bench_dynamic_batching_agreement.py, benchmarks/prototypes/many_replicas_filling.py): within 8 %
        # at p50, p95 and p99 at 1–90 % of capacity
        checked = all(p.simulated_latency_s is not None for p in batched)
        limits = ", ".join(str(b) for b in sorted({p.batch_size for p in batched}))
        assumptions.append(f"Dynamic batching (batches of up to {limits}): its latency is from a Markov chain at batch "
                           "closes, within 8% of the simulation at 1–90% of capacity (docs/serving.md, Known limits); "
                           + ("--simulate checked the plans shown (simulated percentiles beside the analytic ones)."
                              if checked else "--simulate checks the plans shown and sizes more replicas where it "
                              "refutes them."))
    if not untargeted:
        assumptions.append("Headroom: a plan holds a target with headroom when its percentile still meets it at the "
                           "P10 efficiency (× exp(1.28 σ) of the efficiency behind that latency).")
    target = getattr(slo, key, None) if slo is not None else None
    present = set().union(*(p.latency_s for p in plans)) if plans else set()
    other_keys = tuple(k for k in (slo.targets() if slo is not None else {}) if k != key and k in present)
    return ServingDecision(key, plans, frontier, choices, best_per_gpu, rejected, assumptions, target,
                           alternatives, changes, targeted=not untargeted, other_keys=other_keys)


def _headroom_miss(plan: ServingPlan, slo: Slo | None) -> str:
    """The first target the plan misses at the P10 efficiency, in words ('' when it holds them all)."""
    for key, target in (slo.targets().items() if slo is not None else ()):
        if key in plan.latency_s:
            factor = headroom_factor(plan, key)
            if plan.latency_s[key] * factor > target:
                return (f"{key.replace('_', ' ')} {whole_ms(plan.latency_s[key], 1)} × {factor:.2f} > "
                        f"{whole_ms(target)}")
    return ""


def committed_caveat(option: ServingPlan, pool: list[ServingPlan]) -> str:
    """'; caveat: …' when `option` is priced at a committed term and an on-demand plan of `pool` (those of its
    standing), autoscaled to inference.average_rate, costs less a month; else ''. The ranking reads the peak bill,
    which a commitment pays every hour of its term: new-user QA round 29 was recommended a 1-year commitment at
    $6,833/month beside the same plan on demand at $5,434/month autoscaled, and nothing said so."""
    if option.commitment is None:
        return ""
    rivals = [p for p in pool if p.commitment is None and p.monthly_cost_autoscaled_usd is not None
              and p.monthly_cost_autoscaled_usd < option.monthly_cost_usd - 0.005]
    if not rivals:
        return ""
    best = min(rivals, key=lambda p: (p.monthly_cost_autoscaled_usd or 0.0, p.monthly_cost_usd))
    return (f"; caveat: on demand and autoscaled to the average rate, {_serving_label(best)} costs "
            f"{_usd(best.monthly_cost_autoscaled_usd or 0.0)}/month, less than this commitment's "
            f"{_usd(option.monthly_cost_usd)}, which bills every hour of the term")


def _serving_label(p: ServingPlan) -> str:
    return f"{p.replicas}×{p.gpus_per_replica} {p.gpu} on {p.provider}" + (
        f" ({p.commitment.term} commitment)" if p.commitment is not None else "")


def _no_lifetime_lines(loaded: LoadedProfile) -> list[str]:
    """How to get the buy-versus-rent line, per owned machine planned without lifetime_years (new-user QA round 26:
    an owned machine planned without one got no line and no word on what would give it)."""
    return [f"Buy versus rent: {owned_instance(machine, gpu_id)} has no lifetime_years (constraints.owned); with the "
            "years it is written off over (and purchase_usd, else the card's street price in "
            "catalog/purchase_prices.yaml) the report adds its amortised cost and the utilisation above which owning "
            "beats renting." for machine, gpu_id in planned_owned(loaded) if machine.lifetime_years is None]


def decide(loaded: LoadedProfile, catalog: Catalog, est: Estimate, confidence: float | None = None) -> Decision:
    """The decision for both sections of an estimate, ranked from the options its search judged (at the estimate's
    confidence), with the header of what was understood and the accuracy of the validation group nearest each
    section."""
    if confidence is not None and confidence != est.confidence:
        raise ValueError(f"the estimate was judged at {est.confidence:g}, not {confidence:g}: plan() again")
    profile = loaded.profile
    # the published runs' largest batch, read only where a plan's batch grows with its GPUs (no training.batch)
    largest = largest_published_batch(catalog.directory) if est.training is not None and catalog.directory \
        and est.training.job.global_batch_samples is None else None
    doubtful = doubtful_offers(catalog)
    training = decide_training(est.training, profile, largest, doubtful) if est.training is not None else None
    inference = (decide_serving(est.inference.plans, profile.inference.slo, est.inference.work.is_generative,
                                est.inference.alone, doubtful)
                 if est.inference is not None and profile.inference is not None else None)
    train_acc = nearest_accuracy(catalog.directory, training_group(est.training.job.work.family,
                                                                   est.training.job.method,
                                                                   est.training.job.from_pretrained),
                                 est.training.job.method) \
        if est.training and catalog.directory else None
    serve_acc = nearest_accuracy(catalog.directory, serving_group(est.inference.work.is_generative)) \
        if est.inference and catalog.directory else None
    for section in (training, inference):
        if section is not None:
            section.assumptions.extend(_no_lifetime_lines(loaded))
    chosen = training.choices[0].option.plan if training is not None and training.choices else None
    chosen_s = inference.choices[0].option if inference is not None and inference.choices else None
    return Decision(training, inference, understood(loaded, est, chosen, chosen_s), train_acc, serve_acc)
