"""Efficiency by origin: what fraction of a GPU's peak a kind of work reaches, and where that figure came from."""
from __future__ import annotations

import dataclasses

from planner.catalog.load import Catalog
from planner.efficiency.figure import Z90, Efficiency, interval
from planner.efficiency.train_curve import curve_efficiency, pick_curve
from planner.errors import MissingPriorError
from planner.model.decode_ceiling import copy_bytes_per_s, share_of_peak
from planner.schema.catalog import GpuSpec

__all__ = ["Z90", "Efficiency", "interval", "prior_efficiency", "held_out_widened", "forward_fit_efficiency"]

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
    transferred from the forward-pass fit (forward_fit_efficiency): a prompt is one forward pass through the same
    matmuls as a batched inference call, not a training step. Measured by `gpuplan validate --cross-validate
    source` (serving-prefill, median / P90 |error|): 43.9 / 59.4 % transferred from the training curves' peak,
    23.7 / 40.5 % from the forward fit. Without a fitted forward mode, the large-matmul efficiency of the GPU
    family's training curve (with FP16 accumulation, llama.cpp's, the generation's curve rather than the GeForce
    one, whose higher share makes up for half-rate FP32 accumulation).
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
                if kind == "decode":
                    found = _decode_share(found, gpu)
                return held_out_widened(found, catalog, HELD_OUT_GROUP[kind]) if kind in HELD_OUT_GROUP else found
    forward = forward_fit_efficiency(catalog, gpu) if kind == "prefill" else None
    if forward is not None:
        return held_out_widened(forward, catalog, HELD_OUT_GROUP["prefill"])
    if kind == "prefill" and catalog.train_curves:
        fit = pick_curve(catalog.train_curves, gpu.arch if fp16_accumulate else gpu.family)
        if fit is not None:
            return held_out_widened(Efficiency(fit.peak_efficiency, fit.log_sigma, "transferred",
                                               f"no prefill runs: the large-matmul efficiency of the {fit.arch} "
                                               "training curve"), catalog, HELD_OUT_GROUP["prefill"])
    raise MissingPriorError(f"the catalog has no {kind} efficiency prior (priors.yaml missing or incomplete), so "
                            f"nothing can be planned", hint="Copy priors.yaml from the bundled catalog, or run "
                                                          "scripts/fit_priors.py.")


def forward_fit_efficiency(catalog: Catalog, gpu: GpuSpec, detail: str = "no prefill runs") -> Efficiency | None:
    """The forward-pass compute efficiency of the GPU's architecture family fitted with the host floors
    (catalog/priors.yaml launch_floors, planner/efficiency/infer_fit.py; pooled 'any' for a family without rows),
    from the first execution mode fitted on published rows; None when no mode was. The map is one fit shared by the
    modes (each mode's factor included: 1 for a mode without rows)."""
    floor = next((f for f in catalog.launch_floors if f.n), None)
    if floor is None:
        return None
    value = floor.efficiency.get(gpu.arch, floor.efficiency["any"])
    scope = gpu.arch if gpu.arch in floor.efficiency else "all"
    return Efficiency(value, floor.log_sigma, "transferred", f"{detail}: the forward-pass efficiency fitted on "
                                                             f"{floor.n} published inference run(s) ({scope} GPUs)")


def _decode_share(prior: Efficiency, gpu: GpuSpec) -> Efficiency:
    """A decode prior (a share of the GPU's copy bandwidth) as a share of `gpu`'s datasheet bandwidth
    (planner/model/decode_ceiling.py); without a bandwidth ceiling (a catalog that measures no GPU), the prior itself
    as a share of the datasheet bandwidth, and the detail says so."""
    share, ceiling = share_of_peak(gpu, prior.value), gpu.bandwidth_ceiling
    if share is None or ceiling is None:
        return dataclasses.replace(prior, value=min(1.0, prior.value), detail=(
            f"{prior.detail}; {gpu.id} has no copy bandwidth in the catalog: the prior taken as a share of its "
            "datasheet bandwidth"))
    copy = (copy_bytes_per_s(gpu) or 0.0) / 1e9
    return dataclasses.replace(prior, value=share, detail=(
        f"{prior.detail}: {prior.value:.3g} of {gpu.id}'s copy bandwidth ({copy:,.0f} GB/s, "
        f"{'measured' if ceiling.measured else 'transferred'}), {share:.0%} of its peak bandwidth"))
