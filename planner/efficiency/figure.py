"""An efficiency figure: a fraction of peak with its log-normal spread and where it came from (its origin)."""
from __future__ import annotations

import math
from planner.dataclass import dataclass

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


def interval(p50: float, log_sigma: float, cap: float = 1.0) -> tuple[float, float, float]:
    """P10, P50, P90 of an efficiency, log-normal with median p50 and log-spread log_sigma; the P90 at most `cap` (1,
    or a training step's train_curve.efficiency_cap: the GPU's matmul ceiling), since no step runs faster than the peak
    it is a fraction of (a wide spread, e.g. a measured curve extrapolated far past its calls, would otherwise put the
    fast end above it), and never below the P50."""
    spread = math.exp(Z90 * log_sigma)
    high = min(cap, p50 * spread)
    return p50 / spread, p50, high if high > p50 else p50
