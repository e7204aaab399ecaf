"""Fit efficiency against problem size: e = e_max · x / (x + x_half [+ per_param · N]), with the fit's
uncertainty. No torch.

Why this form: a call of x FLOP on a device of peak P takes t = x/(e_max·P) + t_0 + k·N — work at a saturated
rate, a fixed overhead t_0 (kernel launches, Python) and, for a training step, a part proportional to the N
parameters (optimizer update, gradient zeroing: memory-bound). Then e = x/(P·t) equals
e_max · x / (x + e_max·P·t_0 + e_max·P·k·N), so x_half = e_max·P·t_0 and per_param = e_max·P·k. The
per-parameter term is fitted only when the points span several model sizes.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where a fit is made: an estimate evaluates curves (saturating) and fits none, and the
    # record models' classes cost ~3 ms of its start (docs/internals.md 'Start-up: what every run pays')
    from planner.schema.record import EfficiencyFit

Num = Any
"""A float or a numpy array: the curves are evaluated on both."""

E_MAX_BOUND = 1.0
"""Efficiencies are relative to the measured matmul peak (the fastest the device multiplied matrices): a step that
is made of matmuls and other work cannot beat it, so the saturated efficiency is bounded by 1. The profiler records
single points above 1 (timing noise) at 1, and records holding more are refused (planner/schema/record.py)."""


def saturating(x: Num, e_max: Num, x_half: Num) -> Num:
    """Efficiency rises with problem size and saturates at e_max (half of it at x_half): a kernel's fixed
    overhead t0 plus work at a saturated rate, t = t0 + x/(e_max·P), gives this form with x_half = t0·e_max·P."""
    return e_max * x / (x + x_half)


def fit_efficiency_curve(sizes: list[float], efficiencies: list[float],
                         params: list[float] | None = None) -> EfficiencyFit:
    """Least squares in log space (scipy.optimize.curve_fit); log_sigma combines the residual spread and the
    standard error of e_max. Too few points, or a failed fit, give a flat curve at the points' median."""
    import numpy as np
    from scipy.optimize import curve_fit

    from planner.schema.record import EfficiencyFit

    x = np.asarray(sizes, dtype=float)
    e = np.asarray(efficiencies, dtype=float)
    n_params = np.asarray(params if params is not None else [0.0] * len(sizes), dtype=float)
    n = len(x)
    with_params = len(set(n_params.tolist())) >= 2 and n >= 4
    k = 3 if with_params else 2
    if n >= k + 1:
        try:
            def log_model(data: tuple[Num, Num], log_e_max: float, log_x_half: float, *rest: float) -> Num:
                xs, ns = data
                per_param = math.exp(rest[0]) if rest else 0.0
                return np.log(np.exp(log_e_max) * xs / (xs + np.exp(log_x_half) + per_param * ns))

            start = [min(math.log(float(e.max())), math.log(E_MAX_BOUND) - 1e-3), math.log(float(np.median(x)) * 0.1)]
            low, high = [-np.inf, -np.inf], [math.log(E_MAX_BOUND), np.inf]
            if with_params:
                start.append(math.log(float(np.median(x / np.maximum(n_params, 1.0))) * 0.1))
                low.append(-np.inf)
                high.append(np.inf)
            # xdata is a tuple of arrays, which curve_fit passes through to the model (its stubs say an array)
            fitted, cov = curve_fit(log_model, (x, n_params), np.log(e), p0=start,  # type: ignore[arg-type]
                                    maxfev=20000, bounds=(low, high))
            residual = np.log(e) - log_model((x, n_params), *fitted)
            resid_sigma = float(math.sqrt(float(np.sum(residual**2)) / max(1, n - k)))
            log_e_sigma = float(math.sqrt(max(0.0, float(cov[0, 0])))) if np.all(np.isfinite(cov)) else resid_sigma
            e_max, x_half = float(math.exp(fitted[0])), float(math.exp(fitted[1]))
            if e_max >= E_MAX_BOUND * (1 - 1e-3):
                # the points never approach saturation (overhead-bound throughout): e_max sits at its bound and is
                # not a fitted parameter, so only the residual spread measures the curve's uncertainty
                log_e_sigma = 0.0
            per_param = float(math.exp(fitted[2])) if with_params else 0.0
            if 0 < e_max <= E_MAX_BOUND and math.isfinite(x_half) and math.isfinite(per_param):
                return EfficiencyFit(e_max=e_max, size_half=x_half, per_param=per_param,
                                     e_max_sigma=e_max * log_e_sigma,
                                     log_sigma=min(3.0, math.hypot(resid_sigma, log_e_sigma)), n=n)
        except (RuntimeError, ValueError, OverflowError):
            pass  # curve_fit did not converge: fall back to the flat curve below
    median = float(np.median(e))
    spread = float(np.std(np.log(e))) if n > 1 else 0.0
    return EfficiencyFit(e_max=min(E_MAX_BOUND, median), size_half=0.0, e_max_sigma=median * spread,
                         log_sigma=min(3.0, spread), n=n)
