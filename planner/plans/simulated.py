"""`gpuplan estimate --simulate`: the shown serving plans re-run through the discrete-event simulation."""
from __future__ import annotations

import dataclasses

from planner.catalog.load import Catalog
from planner.io.profile import LoadedProfile
from planner.plans.search import Estimate
from planner.plans.serving import ServingPlan, simulate_plan
from planner.schema.profile import Slo

SIMULATE_SEED = 0
"""Fixed seed: the same profile prints the same simulated percentiles."""


def simulate_estimate(est: Estimate, loaded: LoadedProfile, catalog: Catalog, top: int | None,
                      seed: int = SIMULATE_SEED) -> Estimate:
    """The estimate with the first `top` serving plans (all when None) carrying simulated percentiles; a plan whose
    simulated percentile misses a target is marked so and moves behind the plans that meet theirs."""
    inference = loaded.profile.inference
    if est.inference is None or inference is None:
        return est
    plans = list(est.inference.plans)
    done: set[int] = set()
    while True:  # refuted plans move down, so plans from further down are simulated until the shown ones all are
        shown = [i for i, p in enumerate(plans[:top] if top else plans)
                 if id(p) not in done and p.replicas >= 1 and p.gpu in catalog.gpus]
        if not shown:
            break
        for i in shown:
            plans[i] = _judged(simulate_plan(plans[i], est.inference.work, inference, catalog.gpus[plans[i].gpu],
                                             seed), inference.slo)
            done.add(id(plans[i]))
        plans.sort(key=lambda p: (not p.meets_slo, not p.fits))  # stable: the estimate's order otherwise
    return dataclasses.replace(est, inference=dataclasses.replace(est.inference, plans=plans))


def _judged(plan: ServingPlan, slo: Slo) -> ServingPlan:
    """A plan whose simulated percentiles miss a target no longer meets its targets, and says so."""
    misses = [f"simulation misses {key.replace('_', ' ')} ({value * 1e3:.0f} ms > {getattr(slo, key) * 1e3:.0f} ms)"
              for key, value in (plan.simulated_latency_s or {}).items()
              if getattr(slo, key, None) is not None and value > getattr(slo, key)]
    if not misses or not plan.meets_slo:
        return plan
    return dataclasses.replace(plan, meets_slo=False, reasons=plan.reasons + ("; ".join(misses),))
