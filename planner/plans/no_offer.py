"""GPUs with no rentable offer: time-only plans (hours, GPU-hours, latency), marked "no offer", instead of nothing.

A GPU named in constraints.gpus that no offer in the catalog rents (after the provider filter) is planned on the
machine its datasheet describes: one NVLink domain per instance (`interconnect.nvlink_gpus`, e.g. 8 on an HGX board,
72 in an NVL72 rack), or one card per instance for a GPU without NVLink; instances joined by the network offers that
state none are assumed to have (constraints.assumed_network_gbps, default catalog/providers.yaml assumed_network).
Its price is unknown, so the plan carries no cost: it is never a choice, and among its own GPU counts the search
keeps the one with the fewest GPU-hours that meets the deadline (what any per-GPU-hour price would make cheapest)."""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from typing import Literal, TypeVar

from planner.catalog.load import Catalog, PricedOffer
from planner.plans.options import TrainingOption, training_rank
from planner.plans.serving import ServingPlan
from planner.plans.training import TrainingPlan
from planner.plans.verdict import Kind, Verdict
from planner.schema.catalog import GpuSpec, Offer

P = TypeVar("P", TrainingPlan, ServingPlan)

NO_OFFER = "no-offer"
"""Provider id of the time-only plans."""


def instance_name(gpu: GpuSpec) -> str:
    """The hypothetical instance a time-only plan runs on, in words."""
    per, link = machine_shape(gpu)
    return f"{per}x {gpu.id} ({link}), no offer"


def machine_shape(gpu: GpuSpec) -> tuple[int, Literal["nvlink", "pcie"]]:
    """GPUs per machine and their link, from the datasheet: the NVLink domain, else one PCIe card."""
    link = gpu.interconnect
    if link.nvlink_gbs and link.nvlink_gpus:
        return link.nvlink_gpus, "nvlink"
    return 1, "pcie"


def unrented_gpus(named: Iterable[str], offers: Iterable[PricedOffer]) -> list[str]:
    """The named GPU ids (constraints.gpus) that none of the searched offers rents, sorted."""
    rented = {o.offer.gpu for o in offers}
    return sorted(g for g in set(named) if g not in rented)


def unplanned_gpus(catalog: Catalog, offers: Iterable[PricedOffer]) -> list[str]:
    """Catalog GPUs no searched offer rents (listed in the output when constraints.gpus names none of them)."""
    rented = {o.offer.gpu for o in offers}
    return sorted(g for g in catalog.gpus if g not in rented)


def no_offer_offers(gpu_ids: Iterable[str], catalog: Catalog, network_gbps: float | None,
                    today: dt.date) -> list[PricedOffer]:
    """One priceless offer per GPU id, on its datasheet machine (built without the catalog's price check: the
    price is 0 only so that nothing is charged; the plans carry no cost)."""
    out = []
    for gpu_id in gpu_ids:
        gpu = catalog.gpus[gpu_id]
        per, link = machine_shape(gpu)
        offer = Offer.model_construct(
            instance=instance_name(gpu), gpu=gpu_id, gpus_per_instance=per, usd_per_hour=0.0,
            spot_usd_per_hour=None, intra_node=link, network_gbps=network_gbps, region=None, as_of=None,
            source="no offer in the catalog", doubtful=None, notes=None, usd_per_hour_max=None, network_source=None)
        out.append(PricedOffer(NO_OFFER, offer, 1.0, today, network_assumed=network_gbps is not None))
    return out


def is_no_offer(plan: TrainingPlan | ServingPlan) -> bool:
    """A time-only plan (provider no-offer)."""
    return plan.provider == NO_OFFER


def _marked_plan(plan: P, providers: Iterable[str] | None = None) -> P:
    """The plan with the no-offer verdict (a serving plan no longer counts as meeting its targets: no cost);
    `providers`: constraints.providers, when the profile keeps to some (the verdict names them: other providers may
    rent the GPU)."""
    verdict = Verdict(Kind.NO_OFFER, detail=", ".join(providers) if providers else "")
    if isinstance(plan, ServingPlan):
        return dataclasses.replace(plan, verdicts=(*plan.verdicts, verdict), meets_slo=False)
    return dataclasses.replace(plan, verdicts=(*plan.verdicts, verdict))


def mark_training(options: list[TrainingOption], ranked: list[TrainingOption], network_gbps: float | None,
                  providers: Iterable[str] | None = None) -> tuple[list[TrainingOption], list[TrainingOption]]:
    """Every time-only option with the no-offer verdict; each time-only target's row in `ranked` is its option
    with the fewest GPU-hours that meets the deadline (else its fastest), ranked again."""
    if not any(is_no_offer(o.plan) for o in ranked):
        return options, ranked
    done: dict[int, TrainingOption] = {}
    groups: dict[tuple[str, str], list[TrainingOption]] = {}
    for o in options:
        if is_no_offer(o.plan):
            plan = _marked_plan(o.plan, providers)
            if plan.instances > 1:
                plan = dataclasses.replace(plan, assumed_network_gbps=network_gbps)
            done[id(o)] = dataclasses.replace(o, plan=plan)
            groups.setdefault((plan.gpu, plan.instance), []).append(done[id(o)])
    options = [done.get(id(o), o) for o in options]
    best = [o for o in ranked if not is_no_offer(o.plan)]
    best += [min(group, key=_fewest_gpu_hours) for group in groups.values()]
    return options, sorted(best, key=training_rank)


def _fewest_gpu_hours(o: TrainingOption) -> tuple[object, ...]:
    """Any price per GPU-hour makes the option with the fewest GPU-hours the cheapest: that one among those that fit
    and meet the deadline, else the fastest."""
    plan = o.plan
    return (not plan.fits, not plan.meets_deadline, plan.gpu_hours if plan.meets_deadline else o.hours,
            plan.gpu_count)


def mark_serving(plans: list[ServingPlan], providers: Iterable[str] | None = None) -> list[ServingPlan]:
    """Time-only serving plans with the no-offer verdict (they keep their latencies; they meet no target as a
    choice, having no cost); `providers` as in _marked_plan."""
    return [_marked_plan(p, providers) if is_no_offer(p) else p for p in plans]
