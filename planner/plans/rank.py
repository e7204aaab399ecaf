"""The one order of plans, best first: the estimate's rows and the decision's choices both sort by these keys, so
the first row is the first choice (a training option's key, training_rank, lives with the options in
planner/plans/options.py: each option remembers its own)."""
from __future__ import annotations

import math

from planner.plans import serving
from planner.plans.serving import ServingPlan
from planner.plans.verdict import closeness, unfit_key
from planner.schema.profile import Slo


def serving_latency_key(plans: list[ServingPlan], slo: Slo | None = None) -> str:
    """The latency decisions trade against cost: TTFT p95 for generative serving, else latency p95; a profile that
    targets another percentile of it and not p95 (latency_p99, latency_p50, ttft_p50) is judged on that one (new-user
    QA: a CNN served at latency_p99 30 ms was shown, ranked and plotted by its p95, the target's p99 nowhere)."""
    keys: set[str] = set().union(*(p.latency_s for p in plans)) if plans else set()
    kind = "ttft" if "ttft_p95" in keys else "latency"
    targets = slo.targets() if slo is not None else {}
    if f"{kind}_p95" not in targets:
        for key in (f"{kind}_p99", f"{kind}_p50"):
            if key in targets and key in keys:
                return key
    return f"{kind}_p95"


def latency_name(key: str) -> str:
    """A latency key as the tables head it: 'TTFT p95', 'latency p99'."""
    kind, level = key.rsplit("_", 1)
    return f"{kind.upper() if kind in ('ttft', 'tpot') else kind} {level}"


def serving_rank(p: ServingPlan, latency_key: str, slo: Slo | None = None) -> tuple[object, ...]:
    """Plans meeting every target first — with `slo`, those holding every target with headroom before the rest
    (the decision recommends the cheapest of them, so the list's first plan is the recommendation) — cheapest (then
    lowest p95 latency); the rest by how far they are from working, then the cost of the closest configuration (for
    a model that fits nowhere on the offer, its weights over the memory of the widest replica tried there: the offer
    that comes nearest is the one a rejection names, new-user QA round 11)."""
    near = closeness(p.verdicts)[0] if not p.meets_slo else 0
    thin = p.meets_slo and slo is not None and not holds_with_headroom(p, slo)
    return (not p.meets_slo, thin, near, p.monthly_cost_usd if p.fits else unfit_key(p.verdicts, 0),
            p.latency_s.get(latency_key, math.inf), p.gpu_count, p.gpu, p.provider, p.instance)


def headroom_factor(plan: ServingPlan, key: str) -> float:
    """How much a latency may grow if the GPU reaches the P10 of its efficiency instead of the median:
    exp(Z90 · σ) of the efficiency that sets it (bandwidth for TPOT, compute for TTFT and request latency)."""
    return serving.headroom_factor(plan.efficiency, key)


def holds_with_headroom(plan: ServingPlan, slo: Slo | None) -> bool:
    """Meets every latency target even at the P10 efficiency: each percentile within its target ÷ headroom_factor
    (serving.headroom_slo, the targets the search sizes the plans with headroom for)."""
    if not plan.meets_slo:
        return False
    return slo is None or serving.meets_targets(plan.latency_s, serving.headroom_slo(slo, plan.efficiency))
