"""Dynamic batching on two replicas whose batches reach their limit B (planner/model/dynamic_batching.py describes the
system), followed on both what a full batch leaves behind (as LeftoverChain, model/batching_chain.py) and the other
replica's residual (as model/pair_chain.py): past MULTI_REPLICA_LOAD (model/chain_scope.py) one server twice as fast
with what full batches leave behind was −11 to −22 % p95 at 80 % and −18 to −32 % at 90 % of capacity, and −12 % p99
at 65 %; this chain is within 6.3 % at p50, p95 and p99 there (benchmarks/prototypes/leftover_replicas.py).

The state at a close: n, the requests present (the batch takes b = min(n, B), L = n − b stay), and ρ, the other
replica's residual, on pair_chain's grid of GRID cells over 0 … X (X widened as pair_chain widens it, up to S(B):
no residual is longer). With nothing left the class is b's group of service times (pair_chain.size_groups); with
L > 0 the batch is full, S(B), and the class is L. R = min(S(b), ρ) and Q = max(S(b), ρ) are the two residuals,
m = min(T, R). From L = 0, the next batch's first request F comes G ~ Exp(λ) after the close, and it closes
  * at R (the other residual becomes Q − R), holding 1 + k, where the replica frees after F and either R − G ≥ T or
    the batch filled by then: e^{−λR}[(λR)^{k+1} − 1{k < B − 1}(λm)^{k+1}]/(k + 1)!  (k + 1 > B: requests left);
  * T after F (G > (R − T)⁺) with N(T) < B − 1: 1 + Pois(λT) requests, the other residual (Q − T − G)⁺ — independent
    of the batch (pair_chain's outer product);
  * when it fills, at the B-th arrival y > R, before T after F: B requests, the other residual (Q − y)⁺; y's density
    is λe^{−λy}(λ min(T, y))^{B−1}/(B − 1)! (Erlang on (R, T), on NODES Gauss–Legendre nodes; exponential beyond T).
From L > 0 (need = B − L more fill it), the oldest left request's delay has U = (T − L/λ)⁺ to run (the L left are
the window's last arrivals, L/λ their mean span; LeftoverChain takes U = T, an upper bound: +11 % p95 at 90 % where
one in eight closes leaves requests, and U = 0 is +14 % on a host-bound curve): the next close is at R if
N(R) ≥ need or R ≥ U (L + N(R) present, the other residual Q − R), at U if N(U) < need (Q − U), else when it
fills, τ ∈ (R, U) (B present, Q − τ; τ Erlang(need)). Residuals go onto the grid split linearly (mean kept).
The backlog is followed to MOST_LEFT requests, first to LEFT_START, then as far as its geometric decay over the
upper half puts EDGE (×1.25). πP is a sparse product plus an outer product; π by BiCGSTAB, restarted (_solve).
Latency: LeftoverChain's mixture over the stationary weight of (L, R, U), with E[Q − R | L, R], the time from a close
that leaves requests to the next replica to free (the requests are left only by closes at R: Q − R is exact but for
the mean over the ρ a state (L, R) holds; L > 0: Q = X).
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from planner.model.chain_math import EDGE, Entries, log_factorials, poisson
from planner.model.chain_scope import TAIL_SIGMAS
from planner.model.pair_chain import GRID, SPAN_TAIL, _exponential_on_grid, size_groups
from planner.model.triple_chain import solve_stationary

NODES = 12
"""Gauss–Legendre nodes over the time a batch fills, within the delay."""
LEFT_START = 16
"""Requests left behind followed at first."""
MOST_LEFT = 1536
"""Requests left behind followed at most (LeftoverChain's LEFTOVER_STATES: beyond, the backlog is folded onto the
last state and the percentiles are lower bounds)."""
RESTARTS = 5
"""BiCGSTAB runs at most 1 + this many times, each from the last one's answer (_solve)."""
SMALL = 1e-16
"""Transition probabilities below this are left out (the rows are renormalised)."""


def _solve(step: Callable[[np.ndarray], np.ndarray], n: int) -> np.ndarray:
    """The stationary distribution of the chain whose step π ↦ πP is `step`: triple_chain's BiCGSTAB restarted up to
    RESTARTS times from its answer before power iteration: a long backlog mixes slowly (RTX A6000, limit 16, 90 %, no
    delay: from BiCGSTAB's first answer, 7e-9 off, power iteration ran MAX_STEPS products, 13 s; a second BiCGSTAB,
    73 products, to 1e-13)."""
    return solve_stationary(step, n, RESTARTS)


def remaining(delay: float, left: np.ndarray, rate: float) -> np.ndarray:
    """U: how long the oldest of `left` requests left at a close has still to wait for the delay to run out, the
    left requests taken as the window's last arrivals, spread over L/λ before the close."""
    out: np.ndarray = np.maximum(delay - left / rate, 0.0)
    return out


def leftover_pair_stationary(rate: float, limit: int, delay: float, service_of: Callable[[float], float],
                             span: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The stationary weight of (L, R) at the closes of two replicas at `rate` with batches of up to `limit` (module
    docstring): (weights, L, R, U, E[Q − R | L, R] as a column). The residual grid spans min(span, S(limit)),
    widened 1.5-fold while more than SPAN_TAIL of the weight lies at its end."""
    service = np.array([service_of(float(b)) for b in range(1, limit + 1)])
    longest = float(service[-1])
    left = LEFT_START
    while True:
        end = min(span, longest)
        weight, left_of, r, spacing, beyond, left = _stationary(rate, delay, service, end, left)
        if beyond <= SPAN_TAIL or end >= longest:
            return weight, left_of, r, remaining(delay, left_of, rate), spacing[:, None]
        span = 1.5 * end


def _split(v: np.ndarray, h: float) -> tuple[np.ndarray, np.ndarray]:
    """v split between grid indices below and below + 1 (mean kept, clipped at GRID): (below, share above)."""
    spot = np.maximum(v, 0.0) / h
    below = np.minimum(spot.astype(int), GRID - 1)
    return below, np.clip(spot - below, 0.0, 1.0)


def _reach(by_left: np.ndarray, most: int) -> int:
    """The next count of left requests to follow: where the backlog's weight falls below EDGE on its geometric decay
    over the upper half of `by_left`, × 1.25 (at least 1.5 times as many; twice where it shows no decay)."""
    a, b = most // 2, most - 2
    if b <= a or by_left[b] <= 0.0 or by_left[b] >= by_left[a]:
        return 2 * most
    slope = (math.log(by_left[a]) - math.log(by_left[b])) / (b - a)
    return max(most + most // 2, math.ceil(1.25 * (b + math.log(by_left[b] / EDGE) / slope)))


def _stationary(lam: float, T: float, service: np.ndarray, X: float, most: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float, int]:
    """(weight, L, R, E[Q − R | L, R]) summed by (L, R), the weight with a residual at the grid's end, and the left
    requests followed (from `most`, widened until the weight at the last is below EDGE)."""

    B = service.size
    h = X / GRID
    x = h * np.arange(GRID + 1)
    cells = GRID + 1
    group, groups, s_of = size_groups(service, X, h)
    full = int(group[B - 1])
    xg, hg = np.polynomial.legendre.leggauss(NODES)
    xg, hg = (xg + 1.0) / 2.0, hg / 2.0
    window = lam * max(T, X)
    k = np.arange(math.ceil(window + TAIL_SIGMAS * (math.sqrt(window) + 1.0)) + 1)
    # L = 0 states (group-major, then ρ), whose rows do not change as the backlog followed widens
    s_a, rho_a = np.repeat(s_of, cells), np.tile(x, groups)
    head = groups * cells
    while True:
        classes = groups + most
        n = classes * cells
        lf = log_factorials(B + most + k.size + 4)
        entries = Entries(SMALL)

        def dest(count: np.ndarray) -> np.ndarray:  # requests present at the next close → its class
            out: np.ndarray = np.where(count <= B, group[np.clip(count, 1, B) - 1],
                                       groups + np.minimum(count - B, most) - 1)
            return out

        def add(frm: np.ndarray, cls: np.ndarray, v: np.ndarray, rho: np.ndarray) -> None:
            below, up = _split(rho, h)
            for at, share in ((below, 1.0 - up), (below + 1, up)):
                entries.add(frm, cls * cells + at, v * share)

        state = np.arange(head)
        R, Q = np.minimum(s_a, rho_a), np.maximum(s_a, rho_a)
        m = np.minimum(T, R)
        # closes at R
        at_r = np.maximum(poisson(k[None, :] + 1, lam * R[:, None], lf) - (k[None, :] < B - 1)
                          * np.exp(-lam * (R - m))[:, None] * poisson(k[None, :] + 1, lam * m[:, None], lf), 0.0)
        add(state[:, None], dest(1 + k)[None, :], at_r, (Q - R)[:, None])
        # closes T after F: (next class) ⊗ (the other residual), summed over states in the product
        g0 = np.maximum(R - T, 0.0)
        fall = np.exp(-lam * g0)[:, None] * _exponential_on_grid(lam, Q - T - g0, x, h)
        p_t = poisson(np.arange(B - 1), lam * T, lf)
        p_class = np.bincount(group[: B - 1], p_t, classes)
        # fills at y > R: beyond max(R, T), exponential; within (R, T), Erlang(B) on nodes (scaled to its mass)
        late = np.maximum(R, T)
        beyond = (float(poisson(np.array([B - 1]), lam * T, lf)[0]) * np.exp(-lam * (late - T)))[:, None] \
            * _exponential_on_grid(lam, Q - late, x, h)
        f_rows, f_cols = np.nonzero(beyond)
        entries.extend(state[f_rows], full * cells + f_cols, beyond[f_rows, f_cols])
        y = R[:, None] + (T - R)[:, None] * xg[None, :]
        dens = (T - R)[:, None] * hg[None, :] * lam * poisson(np.full(y.shape, B - 1), lam * y, lf)
        mass = np.maximum(poisson(np.arange(B)[None, :], lam * R[:, None], lf).sum(axis=1)
                          - float(poisson(np.arange(B), lam * T, lf).sum()), 0.0)
        sums = dens.sum(axis=1)
        dens = np.where((R < T)[:, None], dens * (mass / np.where(sums > 0.0, sums, 1.0))[:, None], 0.0)
        add(state[:, None], np.array([[full]]), dens, Q[:, None] - y)
        # L > 0 states: S(B) (clipped at X as size_groups clips it) against the other residual
        left = np.repeat(np.arange(1, most + 1), cells)
        rho_b = np.tile(x, most)
        state = head + np.arange(most * cells)
        R, Q = np.minimum(X, rho_b), np.maximum(X, rho_b)
        need = B - left
        U = remaining(T, left, lam)
        counts = dest(left[:, None] + k[None, :])
        short = (k[None, :] < need[:, None]) & (R < U)[:, None]
        add(state[:, None], counts, np.where(short, 0.0, poisson(k[None, :], lam * R[:, None], lf)), (Q - R)[:, None])
        add(state[:, None], counts, np.where(short, poisson(k[None, :], lam * U[:, None], lf), 0.0), (Q - U)[:, None])
        soon = np.flatnonzero((R < U) & (need > 0))
        if soon.size:
            rs, ns, us = R[soon], need[soon], U[soon]
            y = rs[:, None] + (us - rs)[:, None] * xg[None, :]
            dens = (us - rs)[:, None] * hg[None, :] * lam * poisson((ns - 1)[:, None], lam * y, lf)
            under = k[None, :] < ns[:, None]
            mass = np.maximum((poisson(k[None, :], lam * rs[:, None], lf) * under).sum(axis=1)
                              - (poisson(k[None, :], lam * us[:, None], lf) * under).sum(axis=1), 0.0)
            sums = dens.sum(axis=1)
            add(state[soon][:, None], np.array([[full]]), dens * (mass / np.where(sums > 0.0, sums, 1.0))[:, None],
                Q[soon][:, None] - y)
        move = entries.matrix((n, n), transposed=True)
        total = np.asarray(move.sum(axis=0)).ravel()
        total[:head] += fall.sum(axis=1) * float(p_t.sum())
        scale = 1.0 / total  # each row renormalised: the probabilities left out, ≤ SMALL each and the Poisson tails

        def step(pi: np.ndarray) -> np.ndarray:  # π ↦ πP
            pi = pi * scale
            out: np.ndarray = move @ pi
            out += np.outer(p_class, fall.T @ pi[:head]).ravel()
            return out

        pi = _solve(step, n)
        by_left = pi[head:].reshape(most, cells).sum(axis=1)
        if by_left[-1] <= EDGE or most >= MOST_LEFT:
            break
        most = min(MOST_LEFT, _reach(by_left, most))
    left_all = np.concatenate([np.zeros(head, dtype=int), left])
    r_all = np.concatenate([np.minimum(s_a, rho_a), R])
    gap_all = np.concatenate([np.abs(s_a - rho_a), Q - R])  # Q − R
    # at the grid's end: a residual there, or S(B) clipped to X (every L > 0 state, until X reaches S(B))
    edge = float(pi[np.concatenate([(s_a >= X) | (rho_a >= X), np.ones(left.size, dtype=bool)])].sum())
    keys, which = np.unique(np.stack([left_all.astype(float), r_all]), axis=1, return_inverse=True)
    weight = np.bincount(which.ravel(), pi, keys.shape[1])
    spacing = np.bincount(which.ravel(), pi * gap_all, keys.shape[1]) / np.where(weight > 0.0, weight, 1.0)
    return weight, keys[0].astype(int), keys[1], spacing, edge, most
