"""Efficiency by origin: what fraction of a GPU's peak a kind of work reaches, and where that figure came from."""
from __future__ import annotations

import dataclasses

from planner.catalog.load import Catalog
from planner.efficiency.figure import Z90, Efficiency, interval
from planner.efficiency.train_curve import curve_efficiency, pick_curve
from planner.schema.catalog import GpuSpec

__all__ = ["Z90", "Efficiency", "interval", "prior_efficiency", "held_out_widened"]

HELD_OUT_GROUP = {"decode": "serving-decode", "prefill": "serving-prefill", "infer": "inference-batched"}
"""The validation group whose held-out error a serving efficiency's interval spans (catalog/accuracy.yaml)."""


def held_out_widened(efficiency: Efficiency, catalog: Catalog, group: str) -> Efficiency:
    """The efficiency with its σ at least the held-out σ of its validation group (planner/catalog/held_out.py): a
    prior fitted on a few runs from one or two publications spreads less than those publications disagree, so its
    interval alone would be narrower than the error `gpuplan validate --cross-validate source` measures. The σ are
    the catalog's, worked out once when it was loaded (Catalog.held_out)."""
    found = catalog.held_out.get(group)
    if found is None or found[0] <= efficiency.log_sigma:
        return efficiency
    sigma, n, median = found
    return dataclasses.replace(efficiency, log_sigma=round(sigma, 4), detail=(
        f"{efficiency.detail}; interval at the held-out error of {n} published {group} rows ({median:.0%} median "
        f"|error|, σ {sigma:.2f} > the fitted {efficiency.log_sigma:.2f})"))


def prior_efficiency(catalog: Catalog, gpu: GpuSpec, kind: str, family: str, fp16_accumulate: bool = False
                     ) -> Efficiency:
    """The most specific fitted prior: (arch, family), then (any arch, family), then (arch, any), then (any, any).

    Priors are fitted from published runs by scripts/fit_priors.py and stored in catalog/priors.yaml.
    A fallback level borrows its median from broader data, so its spread is the broader level's spread.
    Prefill without any prefill prior (no fittable prefill run: the llama.cpp rows are an independent check) is
    transferred from the training curves: a prompt is large GEMMs, so it takes the large-matmul efficiency of the
    GPU family's curve (with FP16 accumulation, llama.cpp's, the generation's curve rather than the GeForce one,
    whose higher share makes up for half-rate FP32 accumulation).
    """
    if kind == "train" and catalog.train_curves:
        return curve_efficiency(catalog, gpu)
    order = ((gpu.arch, family), ("any", family), (gpu.arch, "any"), ("any", "any"))
    for arch, fam in order:
        for prior in catalog.priors:
            if prior.kind == kind and prior.arch == arch and prior.family == fam:
                scope = f"{prior.arch if arch != 'any' else 'all'} GPUs, {fam if fam != 'any' else 'all'} models"
                found = Efficiency(prior.efficiency, prior.log_sigma, "prior",
                                   f"{kind} prior fitted on {prior.n} published run(s) ({scope})")
                return held_out_widened(found, catalog, HELD_OUT_GROUP[kind]) if kind in HELD_OUT_GROUP else found
    if kind == "prefill" and catalog.train_curves:
        fit = pick_curve(catalog.train_curves, gpu.arch if fp16_accumulate else gpu.family)
        if fit is not None:
            return held_out_widened(Efficiency(fit.peak_efficiency, fit.log_sigma, "transferred",
                                               f"no prefill runs: the large-matmul efficiency of the {fit.arch} "
                                               "training curve"), catalog, HELD_OUT_GROUP["prefill"])
    from planner.errors import MissingPriorError

    raise MissingPriorError(f"the catalog has no {kind} efficiency prior (priors.yaml missing or incomplete), so "
                            f"nothing can be planned", hint="Copy priors.yaml from the bundled catalog, or run "
                                                          "scripts/fit_priors.py.")
