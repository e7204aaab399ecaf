"""Dynamic batching on two replicas (planner/model/dynamic_batching.py describes the system), on the state that
decides it: at a batch close, S(b) of the batch just dispatched and ρ, what the other replica still has to serve.
The next batch depends on them only through R = min(S(b), ρ), the time until a replica frees, so BatchingChain
(model/batching_chain.py) gives the latency from the stationary distribution of R, as it does for one replica
(R = S(b)). The one-server-twice-as-fast chain (R = S(b)/2) misses that a replica may free soon after a close and
idle until the delay runs out: −17 % to −35 % p95 at 80–90 % of capacity (docs/serving.md 'Known limits').

From a close with residuals R ≤ Q, the next batch's first request comes G ~ Exp(λ) later; the batch closes
D = max(T, R − G) after it, and the replica that frees at R takes it:
  * G ≥ R − T (probability e^{−λ(R − T)⁺}): D = T, the batch holds 1 + Pois(λT), and the other replica's residual
    becomes (Q − T − G)⁺ — an atom at 0 and a truncated exponential, independent of the batch;
  * G < R − T: D = R − G, the batch's size is BatchingChain's closed-form mixture at r = R, and the other residual
    is Q − R.
ρ lives on a grid of GRID + 1 times, 0 … X, X the residual that the stationary state exceeds with probability at
most SPAN_TAIL (longer residuals are taken as X); a residual between two grid times is split between them linearly
(its mean kept): the exponential's mass by its cell moments, in closed form. The new batch's S(b) is not split: it
is the state's other coordinate, batch sizes grouped where their service times lie within one grid step (a split
service time spreads every batch's residual by up to a step, and the spread compounds from close to close: +15 to
+50 % p95 at 90 % of capacity where the grouped state is within 3 %). Without a delay (T = 0) the grid is what
limits it: on bert's RTX 3060 curve p99 +6 % at 80 % and +14 % at 90 % of capacity (+7 % on a 65-point grid, at
four times the states); the one-server chain was down to −21 % there, and −37 % on the RTX A6000. There the chain
is solved on GRID and FINE cells and the latency extrapolated to a step of 0 (FINE): within 6.4 %. A delay does not
remove it (every close with R > T moves the other residual by Q − R): with 1 ms p99 +13.1 % at 90 % on GRID alone,
+5.8 % extrapolated, so it is extrapolated at any delay where more than batching_chain.WAITING_SHARE of the closes
wait (pair_refined's `waiting`).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from planner.model.chain_math import EDGE, log_factorials, poisson, solve

GRID = 32
"""Cells of the residual grid over 0 … X."""
FINE = 48
"""Where closes wait for a replica (with no delay, every close that finds the other busy) the chain is solved again on
this many cells over the same X, and the latency's cdf is extrapolated to a step of 0 from the two
(batching_chain.Extrapolated), the grid's bias taken as ∝ h² (each split adds a variance h²u(1 − u)): RTX 3060, 90 %,
p50/p95/p99 +7.9/+9.5/+14.2 % on GRID alone, +3.3/+6.0/+10.2 on FINE alone, −0.2/+2.8/+6.4 extrapolated, 78 → 234 ms;
within 2.8 % at every other load and on the RTX A6000 (benchmarks/prototypes/two_replicas_no_delay.py)."""
SPAN_TAIL = 1e-6
"""Stationary probability allowed beyond the residual grid's last time X (there taken as X); more: X widens."""


def pair_stationary(rate: float, limit: int, delay: float, service_of: Callable[[float], float], top: int,
                    span: float) -> tuple[np.ndarray, np.ndarray, int] | None:
    """The stationary distribution of R at the closes of two replicas at `rate` with batches of up to `limit`
    (module docstring): (weights, R, the batch sizes followed). Batch sizes start at `top` and residuals at `span`,
    each widened until the stationary weight at its end is below EDGE (sizes) or SPAN_TAIL (residuals); None where
    batches reach the limit (LeftoverChain follows them)."""
    return widened(_stationary, rate, limit, delay, service_of, top, span)


def pair_refined(rate: float, limit: int, delay: float, service_of: Callable[[float], float], top: int,
                 span: float, waiting: float = 0.0
                 ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray] | None, int] | None:
    """pair_stationary, and the same chain on FINE cells over the residual span GRID's widened to: ((weights, R) on
    GRID, (weights, R) on FINE, the batch sizes followed); None where batches reach the limit. The FINE solve only
    where more than `waiting` of GRID's stationary weight has R > delay (closes that wait for a replica: only they
    move the other residual by the Q − R the grid splits), else None in its place."""
    spans: list[float] = []

    def coarse(lam: float, T: float, service: np.ndarray, x: float) -> tuple[np.ndarray, np.ndarray, float, float]:
        spans.append(x)
        return _stationary(lam, T, service, x)

    got = widened(coarse, rate, limit, delay, service_of, top, span)
    if got is None:
        return None
    weight, r, top = got
    if float(weight[r > delay].sum()) <= waiting:
        return (weight, r), None, top
    service = np.array([service_of(float(b)) for b in range(1, top + 1)])
    fine_weight, fine_r, _, _ = _stationary(rate, delay, service, spans[-1], FINE)
    return (weight, r), (fine_weight, fine_r), top


Stationary = Callable[[float, float, np.ndarray, float], tuple[np.ndarray, np.ndarray, float, float]]
"""(λ, T, S(1 … top), span) ↦ (weight, R) summed by R, the weight at the largest batch size followed, and the
weight at the residual grid's end (_stationary's contract; model/triple_chain.py's too)."""


def widened(stationary: Stationary, rate: float, limit: int, delay: float, service_of: Callable[[float], float],
            top: int, span: float) -> tuple[np.ndarray, np.ndarray, int] | None:
    """`stationary` solved with batch sizes from `top` and residuals from `span` widened until the weight at each
    end is below EDGE (sizes) or SPAN_TAIL (residuals): (weights, R, top); None where batches reach the limit."""
    seen: list[float] = []

    def services(n: int) -> np.ndarray:
        seen.extend(service_of(float(b)) for b in range(len(seen) + 1, n + 1))
        return np.array(seen[:n])

    while True:
        weight, r, edge, beyond = stationary(rate, delay, services(top), span)
        if edge > EDGE:
            if top >= limit:
                return None
            top = min(limit, top + top // 2 + 1)
        elif beyond > SPAN_TAIL:
            span *= 1.5
        else:
            return weight, r, top


def size_groups(service: np.ndarray, span: float, h: float) -> tuple[np.ndarray, int, np.ndarray]:
    """Batch sizes grouped where their service times lie within a grid step h of the group's first (beyond the
    span, one group at the span): (each size's group, the groups, each group's mean S(b))."""
    top = service.size
    clipped = np.minimum(service, span)
    group = np.zeros(top, dtype=int)
    first = clipped[0]
    for b in range(1, top):
        if clipped[b] - first > h:
            first = clipped[b]
            group[b] = group[b - 1] + 1
        else:
            group[b] = group[b - 1]
    groups = int(group[-1]) + 1
    s_of = np.bincount(group, clipped, groups) / np.bincount(group, None, groups)
    return group, groups, s_of


def by_group(pmf: np.ndarray, group: np.ndarray, groups: int) -> np.ndarray:
    """pmfs over batch sizes 1 + k (last axis), summed by group."""
    cum = np.cumsum(pmf, axis=-1)
    ends = cum[..., np.flatnonzero(np.diff(group, append=groups))]
    out: np.ndarray = np.diff(ends, axis=-1, prepend=0.0)
    return out


def late_sizes(lam: float, T: float, values: np.ndarray, top: int, lf: np.ndarray) -> np.ndarray:
    """Per R in `values` (all > T), the batch's size 1 + k, k < top, where its first request comes G < R − T after
    the close (D = R − G), with the weight e^{−λ(R − T)} of G ≥ R − T taken out: BatchingChain's closed-form
    mixture at r = R; sizes at or past `top` on the last."""
    k = np.arange(top)
    a = np.exp(-lam * (values - T))
    mix: np.ndarray = np.maximum(poisson(k[None, :] + 1, lam * values[:, None], lf)
                                 - a[:, None] * poisson(k + 1, lam * T, lf)[None, :], 0.0)
    mix[:, -1] += np.maximum(1.0 - a - mix.sum(axis=1), 0.0)
    return mix


def _stationary(lam: float, T: float, service: np.ndarray, span: float, grid: int = GRID
                ) -> tuple[np.ndarray, np.ndarray, float, float]:
    """(weight, R) of the stationary state, summed by R; the stationary probability that a batch holds the
    largest size followed (len(service)); and that a residual reaches the grid's last time (`grid` cells)."""
    top = service.size
    h = span / grid
    x = h * np.arange(grid + 1)
    # batch sizes grouped where their service times lie within a grid step of the group's first; beyond the span,
    # one group at the span
    group, groups, s_of = size_groups(service, span, h)
    s = np.repeat(s_of, grid + 1)  # states: (group, grid time of ρ), group-major
    rho = np.tile(x, groups)
    R, Q = np.minimum(s, rho), np.maximum(s, rho)
    n = R.size
    lf = log_factorials(top + 2)
    k = np.arange(top)

    # G ≥ R − T: D = T
    g0 = np.maximum(R - T, 0.0)
    atom = np.exp(-lam * g0)
    p_t = poisson(k, lam * T, lf)
    p_t[-1] += max(0.0, 1.0 - float(p_t.sum()))
    move = ((atom[:, None] * _exponential_on_grid(lam, Q - T - g0, x, h))[:, None, :]
            * by_group(p_t, group, groups)[None, :, None])
    edge = atom * float(p_t[-1])
    # G < R − T (R > T): D = R − G, the other residual Q − R; the batch depends on R alone
    late = np.flatnonzero(R > T)
    if late.size:
        values, which = np.unique(R[late], return_inverse=True)
        mix = late_sizes(lam, T, values, top, lf)
        edge[late] += mix[which, -1]
        sizes = by_group(mix, group, groups)[which]
        spot = (Q - R)[late] / h
        below = np.minimum(spot.astype(int), grid - 1)
        up = np.minimum(spot - below, 1.0)
        move[late, :, below] += sizes * (1.0 - up)[:, None]
        move[late, :, below + 1] += sizes * up[:, None]
    flat = move.reshape(n, n)
    flat /= flat.sum(axis=1, keepdims=True)
    weight = solve(flat)
    # residuals at the grid's end: the batch's own (its group at the span) or the other's
    beyond = float(weight[(s >= span) | (rho >= span)].sum())
    values, which = np.unique(R, return_inverse=True)
    return np.bincount(which, weight, values.size), values, float(weight @ edge), beyond


def _exponential_on_grid(lam: float, u: np.ndarray, x: np.ndarray, h: float) -> np.ndarray:
    """The distribution of (u − E)⁺, E ~ Exp(λ), per u, on the grid times x (spacing h; beyond the last, at it): the
    atom e^{−λu} at 0 (all of it for u ≤ 0) and the density λe^{−λ(u − y)} on (0, u), each cell's mass split between
    its ends by its first moment (linear interpolation, mean kept)."""
    a, b = x[None, :-1], x[None, 1:]
    uu = u[:, None]
    top = np.maximum(uu, 0.0)
    lo, hi = np.minimum(a, top), np.minimum(b, top)
    cdf_lo, cdf_hi = np.exp(-lam * (uu - lo)), np.exp(-lam * (uu - hi))  # P((u − E)⁺ ≤ y) = e^{−λ(u − y)}, y ≤ u
    m0 = cdf_hi - cdf_lo
    m1 = cdf_hi * (hi - 1.0 / lam) - cdf_lo * (lo - 1.0 / lam)  # ∫ y λe^{−λ(u − y)} dy
    upper = np.clip((m1 - a * m0) / h, 0.0, m0)
    out = np.zeros((u.size, x.size))
    out[:, :-1] += m0 - upper
    out[:, 1:] += upper
    out[:, 0] += np.exp(-lam * np.maximum(u, 0.0))
    out[:, -1] += np.maximum(1.0 - out.sum(axis=1), 0.0)  # beyond the grid
    return out
