"""Efficiency by origin: what fraction of a GPU's peak a kind of work reaches, and where that figure came from."""
from __future__ import annotations

from dataclasses import dataclass

from planner.catalog.load import Catalog
from planner.schema.catalog import GpuSpec

Z90 = 1.2815515655446004
"""Standard normal quantile at 0.90 (scipy.stats.norm.ppf(0.9)); P10/P90 = median · exp(∓Z90 · σ)."""


@dataclass(frozen=True)
class Efficiency:
    """A fraction of peak with its spread (σ of its logarithm) and its origin."""

    value: float
    log_sigma: float
    source: str
    """prior | calibrated | transferred | measured"""
    detail: str
    """Which runs or record it came from, in words."""
    curve: object | None = None
    """A training efficiency curve (traincurve.TrainCurve): the plan evaluates it at its layout's matrix sizes."""
    extrapolations: tuple[str, ...] = ()
    """Why the figure rests on data from elsewhere (an architecture, stack or scale without published runs); its
    log_sigma is widened for each (catalog/priors.yaml extrapolation)."""


def prior_efficiency(catalog: Catalog, gpu: GpuSpec, kind: str, family: str) -> Efficiency:
    """The most specific fitted prior: (arch, family), then (any arch, family), then (arch, any), then (any, any).

    Priors are fitted from published runs by scripts/fit_priors.py and stored in catalog/priors.yaml.
    A fallback level borrows its median from broader data, so its spread is the broader level's spread.
    """
    if kind == "train" and catalog.train_curves:
        from planner.efficiency.train_curve import curve_efficiency

        return curve_efficiency(catalog, gpu)
    order = ((gpu.arch, family), ("any", family), (gpu.arch, "any"), ("any", "any"))
    for arch, fam in order:
        for prior in catalog.priors:
            if prior.kind == kind and prior.arch == arch and prior.family == fam:
                scope = f"{prior.arch if arch != 'any' else 'all'} GPUs, {fam if fam != 'any' else 'all'} models"
                return Efficiency(prior.efficiency, prior.log_sigma, "prior",
                                  f"{kind} prior fitted on {prior.n} published run(s) ({scope})")
    raise LookupError(f"no {kind} efficiency prior in the catalog; run scripts/fit_priors.py")


def interval(p50: float, log_sigma: float) -> tuple[float, float, float]:
    """P10, P50, P90 of a log-normal quantity with median p50 and log-spread log_sigma."""
    import math

    spread = math.exp(Z90 * log_sigma)
    return p50 / spread, p50, p50 * spread
