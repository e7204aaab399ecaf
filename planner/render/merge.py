"""Plans that differ only by instance type, shown once.

A provider often sells one shape of work under several instance types (a 2-GPU and an 8-GPU instance filled with the
same replicas, two regions' names for one machine): the plans then read the same — GPU, provider, GPU count, layout or
batch, hours or latencies — and differ in price or in the instance name alone. Tables and JSON keep the first of
them in rank order, which is the cheapest (ranking is by cost among plans of equal time), and say how many instance
types give it."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from planner.plans.serving import ServingPlan
from planner.plans.training import TrainingPlan

P = TypeVar("P", TrainingPlan, ServingPlan)

SIGNIFICANT = 3
"""Hours and latencies are compared at 3 significant figures, the precision the tables print."""


def _sig(value: float) -> float:
    return float(f"{value:.{SIGNIFICANT}g}")


def shape(plan: TrainingPlan | ServingPlan) -> tuple[object, ...]:
    """What a reader compares: everything a row shows but the price and the instance name. A committed-term price
    (constraints.commitment) binds the renter to its term, so it is never merged into an on-demand row."""
    term = plan.commitment.term if plan.commitment is not None else None
    if isinstance(plan, TrainingPlan):
        return ("training", plan.gpu, plan.provider, plan.gpu_count, plan.spot, plan.tensor, plan.pipeline,
                plan.expert, plan.context, plan.sharding, plan.recompute_mode, plan.micro_batch,
                _sig(plan.hours_p50), plan.feasible, term)
    return ("serving", plan.gpu, plan.provider, plan.replicas, plan.gpus_per_replica, plan.batch_size,
            tuple(sorted((k, _sig(v)) for k, v in plan.latency_s.items())), plan.meets_slo, term)


def key(plan: TrainingPlan | ServingPlan) -> tuple[object, ...]:
    """(GPU, provider, instance, shape): what names one plan of one offer (an instance name alone may cover several
    GPUs, and one offer can give two serving plans: its cheapest at the targets and its cheapest with headroom)."""
    return plan.gpu, plan.provider, plan.instance, shape(plan)


def merged(plans: Sequence[P]) -> tuple[list[P], dict[tuple[object, ...], list[str]]]:
    """The plans with later near-copies (same shape(), another instance) dropped, and for each kept plan that had
    copies, key(plan) → the other instance types' names."""
    first: dict[tuple[object, ...], P] = {}
    others: dict[tuple[object, ...], list[str]] = {}
    kept: list[P] = []
    for plan in plans:
        seen = shape(plan)
        if seen in first and first[seen].instance != plan.instance:
            others.setdefault(key(first[seen]), []).append(plan.instance)
            continue
        first.setdefault(seen, plan)
        kept.append(plan)
    return kept, others


T = TypeVar("T")


class LazyMerge(Generic[T, P]):
    """merged() of a section's plans, worked out only as far as a report reads it. A plan is a near-copy only of a
    plan of the same GPU and provider (both are in shape()), and each item names those without making its plan (a
    training option's gpu and provider fields: a search makes an option's plan only when read), so the plans are
    merged GPU and provider by GPU and provider, and only the groups a report reads are made: with --top 10, the
    groups of the first ten kept plans (and of any 'local' or no-offer row), not all ~400 plans of a full search.
    Each group's result is merged()'s for its plans, which is merged()'s for all plans restricted to the group.
    Items that make some rows only when read (plans/search.py RankedRows) give a group's items, and the rows made,
    themselves (`group`, `settled`), so the rows past those read are not made."""

    def __init__(self, items: Sequence[T], plan_of: Callable[[T], P]) -> None:
        self._items: Sequence[T] = items
        self._plan_of: Callable[[T], P] = plan_of
        self._group_of: Callable[[str, str], list[T]] | None = getattr(items, "group", None)
        self._groups: dict[tuple[str, str], list[T]] | None = None
        self._dropped: set[int] = set()
        """id() of the items dropped (the items hold them)."""
        self._others: dict[tuple[object, ...], list[str]] = {}
        self._done: set[tuple[str, str]] = set()

    def _members(self, group: tuple[str, str]) -> list[T]:
        """The items of one GPU and provider, in order."""
        if self._group_of is not None:
            return self._group_of(*group)
        if self._groups is None:
            self._groups = {}
            for item in self._items:
                self._groups.setdefault((getattr(item, "gpu"), getattr(item, "provider")), []).append(item)
        return self._groups.get(group, [])

    def _merge(self, group: tuple[str, str]) -> None:
        if group in self._done:
            return
        self._done.add(group)
        items = self._members(group)
        if len(items) <= 1:
            return  # a plan alone in its group is kept, with no copies: its plan need not be made
        plans = [self._plan_of(item) for item in items]
        if any((p.gpu, p.provider) != group for p in plans):  # never, by the items' contract; then merge them all
            self._merge_all()
            return
        kept, others = merged(plans)
        kept_ids = {id(p) for p in kept}
        self._dropped.update(id(item) for item, p in zip(items, plans) if id(p) not in kept_ids)
        for name, instances in others.items():
            self._others.setdefault(name, []).extend(instances)

    def _merge_all(self) -> None:
        """merged() of every plan at once (the fallback when an item's group is not its plan's)."""
        items = list(self._items)
        plans = [self._plan_of(item) for item in items]
        kept, others = merged(plans)
        kept_ids = {id(p) for p in kept}
        self._dropped = {id(item) for item, p in zip(items, plans) if id(p) not in kept_ids}
        self._others = others
        self._done = {(getattr(item, "gpu"), getattr(item, "provider")) for item in items}

    def _kept(self, item: T) -> bool:
        self._merge((getattr(item, "gpu"), getattr(item, "provider")))
        return id(item) not in self._dropped

    def kept(self, index: int) -> bool:
        """Whether the index-th plan is kept (not a near-copy of an earlier plan on another instance type)."""
        return self._kept(self._items[index])

    def shown(self, top: int | None, also: Callable[[T], bool]) -> list[P]:
        """The first `top` kept plans (all when top is None or 0), and after them every kept plan whose item
        `also` accepts: merged(plans)[0][:top] + [p for p in merged(plans)[0][top:] if also(its item)]. Items
        that make rows when read accept `also` on the rows made (`settled`): it accepts none of the others."""
        out: list[P] = []
        items = self._items
        rest = len(items)
        for i in range(len(items)):
            if top and len(out) == top:
                rest = i
                break
            item = items[i]
            if self._kept(item):
                out.append(self._plan_of(item))
        settled: Sequence[T] | None = getattr(items, "settled", None)
        after = settled[rest:] if settled is not None else [items[i] for i in range(rest, len(items))]
        return out + [self._plan_of(item) for item in after if also(item) and self._kept(item)]

    def others(self, plan: TrainingPlan | ServingPlan) -> list[str]:
        """merged(plans)[1].get(key(plan), []): the other instance types merged into a kept plan."""
        self._merge((plan.gpu, plan.provider))
        return self._others.get(key(plan), [])
