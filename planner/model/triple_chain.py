"""Dynamic batching on three replicas (planner/model/dynamic_batching.py describes the system) on their residuals, as
model/pair_chain.py follows two: past MULTI_REPLICA_LOAD (model/chain_scope.py) the one-server chain three times as
fast (R = S(b)/3) is low, −4 to −25 % p95 at 80 % and down to −53 % at 90 % on several replicas, as it misses that a
replica may free soon after a close and idle until the delay runs out.

The state at a close: the group of S(b) of the batch just dispatched (batch sizes grouped as pair_chain groups them)
and the other two replicas' residuals ρ₁ ≤ ρ₂, held as (ρ₁, ρ₂ − ρ₁) on the grid 0 … X (GRID cells, ρ₂ ≤ X; X widened
as pair_chain widens it). With R ≤ Q₁ ≤ Q₂ the three residuals sorted (R = min(S(b), ρ₁)), the next batch's first
request comes G ~ Exp(λ) later:
  * G ≥ R − T (probability e^{−λ(R − T)⁺}): D = T, the batch holds 1 + Pois(λT), and the others fall together by
    T + G: (Q_l − T − (R − T)⁺ − E)⁺, E ~ Exp(λ) — piece p of the fall has the first p at 0;
  * G < R − T: D = R − G, the batch's size pair_chain's closed-form mixture at R (late_sizes), and the others are
    Q_l − R exactly.
Each residual goes onto the grid split linearly between the two grid times around it (mean kept), once a close: along
the fall the product of the splits is a polynomial in the fall, integrated against the exponential in closed form per
piece of a cell cut where any residual crosses a grid time (_falling). Splitting the gaps ρ₁, ρ₂ − ρ₁ instead (ρ₂
split twice a close) is cheaper to build but the spread compounds: +13 % p99 at 90 % (RTX 3060) on 32 cells, within
10 % only on 48 (three times the states, 0.55–2.6 s; benchmarks/prototypes/three_replicas_grid.py).

Each branch's transition is (next group) ⊗ (next residuals), so πP is two sparse products and an outer product, never
the matrix (2–8e6 nonzeros); π solves (I − Pᵀ + v1ᵀ)π = v by BiCGSTAB, polished by power iteration to |Δπ|₁ < TOL.
Latency: BatchingChain (model/batching_chain.py) from the stationary distribution of R, as pair_chain's.
Measured against simulate_dynamic_batching in docs/serving.md 'Known limits' (tests/test_dynamic_batching_agreement.py).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from planner.model.chain_math import Entries, log_factorials, poisson
from planner.model.pair_chain import by_group, late_sizes, size_groups, widened

GRID = 32
"""Cells of the residual grid over 0 … X: the step h = X/GRID sets the error against the delay T (RTX 3060, 90 %: X
316 ms, h 9.9 ms ≈ T, p99 +9.6 %; 24 cells, h 20 ms: +21.5 %; benchmarks/prototypes/three_replicas_grid.py)."""
TOL = 1e-11
"""Power iteration stops when a step moves the distribution by less than this (L1)."""
MAX_STEPS = 20_000
"""Products πP at most (BiCGSTAB's and power iteration's together; 22–85 measured)."""
REPLICAS = 3
M = REPLICAS - 1
"""The other replicas' residuals in the state."""


def triple_stationary(rate: float, limit: int, delay: float, service_of: Callable[[float], float], top: int,
                      span: float) -> tuple[np.ndarray, np.ndarray, int] | None:
    """pair_stationary's contract (model/pair_chain.py) for three replicas: (weights, R, the batch sizes followed),
    or None where batches reach the limit."""
    return widened(_stationary, rate, limit, delay, service_of, top, span)


def residual_cells(grid: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """The cells of m sorted residuals on a grid of `grid` steps, as (ρ₁, ρ₂ − ρ₁, …) grid indices whose sum (the
    largest residual) is at most `grid`: (indices, one column a cell; each index tuple's cell number, −1 off the
    grid)."""
    mesh = np.indices((grid + 1,) * m).reshape(m, -1)
    mesh = mesh[:, mesh.sum(axis=0) <= grid]
    index = -np.ones((grid + 1,) * m, dtype=int)
    index[tuple(mesh)] = np.arange(mesh.shape[1])
    return mesh, index


def _stationary(lam: float, T: float, service: np.ndarray, span: float
                ) -> tuple[np.ndarray, np.ndarray, float, float]:
    """(weight, R) summed by R, the weight at the largest batch size followed, the weight at the grid's end."""
    import scipy.sparse as sp

    top = service.size
    h = span / GRID
    group, groups, s_of = size_groups(service, span, h)
    # residual cells: (ρ₁, ρ₂ − ρ₁) grid indices, ρ₂ ≤ X
    mesh, index = residual_cells(GRID, M)
    cells = mesh.shape[1]
    n = groups * cells
    s = np.repeat(s_of, cells)
    others = np.tile(np.cumsum(h * mesh, axis=0), (1, groups))  # ρ₁ ≤ ρ₂
    ordered = np.sort(np.vstack([s[None, :], others]), axis=0)
    R, Q = ordered[0], ordered[1:]
    lf = log_factorials(top + 2)
    k = np.arange(top)

    def cell(pos: np.ndarray) -> np.ndarray:  # grid indices of the two residuals (rows, any order) → cell
        low = np.minimum(pos[0], pos[1])
        out: np.ndarray = index[low, np.maximum(pos[0], pos[1]) - low]
        return out

    entries = Entries()
    add = entries.add

    def matrix(columns: int) -> sp.csr_matrix:  # the entries added, transposed (to, from): π ↦ πP is matrix @ π
        return entries.matrix((columns, n), transposed=True)

    # G ≥ R − T (D = T): the residuals fall together by T + G; piece p: the first p at 0, the p-th falling
    g0 = np.maximum(R - T, 0.0)
    atom = np.exp(-lam * g0)
    p_t = poisson(k, lam * T, lf)
    p_t[-1] += max(0.0, 1.0 - float(p_t.sum()))
    add_falls(add, cell, lam, Q - T - g0, atom, h)
    fall = matrix(cells)
    pt_g = by_group(p_t, group, groups)
    edge = atom * float(p_t[-1])
    # G < R − T (D = R − G): the batch depends on R alone, the residuals on nothing random (they fall by R)
    late = np.flatnonzero(R > T)
    values, which = np.unique(R[late], return_inverse=True)
    mix = late_sizes(lam, T, values, top, lf)
    edge[late] += mix[which, -1]
    mix_g = by_group(mix, group, groups)
    splits = [_linear((q - R)[late], h) for q in Q]
    for corner in range(2 ** M):
        pos = np.stack([below + ((corner >> l) & 1) for l, (below, _) in enumerate(splits)])
        share = np.prod([up if (corner >> l) & 1 else 1.0 - up for l, (_, up) in enumerate(splits)], axis=0)
        add(late, which * cells + cell(np.minimum(pos, GRID)), share)
    shift = matrix(max(1, values.size) * cells)

    def step(pi: np.ndarray) -> np.ndarray:  # π ↦ πP
        nxt = np.outer(pt_g, fall @ pi)
        if values.size:
            nxt += mix_g.T @ (shift @ pi).reshape(values.size, cells)
        out: np.ndarray = nxt.ravel()
        return out

    pi = solve_stationary(step, n)
    beyond = float(pi[(s >= span) | (others[-1] >= span)].sum())
    values, which = np.unique(R, return_inverse=True)
    return np.bincount(which, pi, values.size), values, float(pi @ edge), beyond


def add_falls(add: Callable[[np.ndarray, np.ndarray, np.ndarray], None], cell: Callable[[np.ndarray], np.ndarray],
              lam: float, u: np.ndarray, weight: np.ndarray, h: float) -> None:
    """Entries (state, cell, probability × weight) of the M residuals (u_l − E)⁺ falling together, E ~ Exp(λ), each
    split onto the grid (_falling): u (rows l, sorted) where each reaches 0; piece p of the fall has the first p at 0
    (model/leftover_triple_chain.py's falls too). `cell`: grid indices of the residuals (rows) → cell."""
    n = u.shape[1]
    reach = weight  # P(the first p residuals all reach 0), × weight
    start = np.zeros(n)
    for p in range(M):
        for on, w, idx in _falling(lam, u[p] - start, u[p:] - u[p], h, p == M - 1):
            pos = np.concatenate([np.zeros((p,) + idx.shape[1:], dtype=int), idx])
            add(on, cell(pos), reach[on] * w)
        reach = reach * np.exp(-lam * np.maximum(u[p] - start, 0.0))
        start = np.maximum(u[p], start)


def split_moments(spots: list[np.ndarray], below: list[np.ndarray], moments: list[np.ndarray], h: float, grid: int
                  ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Residuals falling linearly over a piece, each split between the grid cells below and above it (its share
    above linear in the fall z: a polynomial in z per combination of below / above), integrated against `moments`
    (J_m = ∫ z^m density): per combination (weight, the residuals' cells stacked). `spots`: each residual's position
    in grid units at the piece's start; `below`: its cell (grid: past X, where it stays)."""
    out = []
    for choice in range(2 ** len(spots)):
        poly = [np.ones_like(moments[0])]  # coefficients of z^0, z^1, …
        idx = []
        for l, (spot, cell) in enumerate(zip(spots, below)):
            up = (choice >> l) & 1
            at_top = cell >= grid
            a = spot - cell  # the share above at z = 0
            c0 = np.where(at_top, float(not up), a if up else 1.0 - a)
            c1 = np.where(at_top, 0.0, 1.0 / h if up else -1.0 / h)
            poly = ([poly[0] * c0] + [poly[j] * c0 + poly[j - 1] * c1 for j in range(1, len(poly))]
                    + [poly[-1] * c1])
            idx.append(np.minimum(cell + up, grid))
        w = sum(cf * mo for cf, mo in zip(poly, moments))
        out.append((np.asarray(w), np.stack(idx)))
    return out


def _linear(v: np.ndarray, h: float) -> tuple[np.ndarray, np.ndarray]:
    """v split between grid indices below and below + 1 (mean kept, clipped at GRID): (below, share above)."""
    spot = np.maximum(v, 0.0) / h
    below = np.minimum(spot.astype(int), GRID - 1)
    return below, np.minimum(spot - below, 1.0)


def _falling(lam: float, run: np.ndarray, off: np.ndarray, h: float, last: bool
             ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Residuals y + off_l (off: rows l, off_0 = 0) falling together, y = (run − E)⁺, E ~ Exp(λ), while y > 0, each
    split linearly onto the grid (step h, indices 0 … GRID, beyond: GRID) exactly: per state, y's range is cut where
    any residual crosses a grid time, and on each piece the product of the splits (a polynomial in y) is integrated
    against the density λe^{−λ(run − y)} in closed form. [(states, weights, grid indices per residual)]; y = 0
    (probability e^{−λ run⁺}) included where `last` (every residual at 0 then), else left to the next piece."""
    L, n = off.shape
    U = np.maximum(run, 0.0)
    # only the cells y reaches (below U): a state's others hold no weight (most states: U is mostly well below X)
    reached = np.minimum(np.ceil(U / h).astype(int), GRID)
    st = np.repeat(np.arange(n), reached)
    i = np.arange(st.size) - np.repeat(np.cumsum(reached) - reached, reached)  # the cell of each (state, cell)
    frac = (off / h) % 1.0  # y crosses a grid time for residual l at x_i + h(1 − frac_l) within cell i
    cuts = np.sort(np.concatenate([np.zeros((1, n)), np.where(frac > 0.0, 1.0 - frac, 0.0)[1:], np.ones((1, n))]),
                   axis=0)[:, st]  # (L + 1, pairs) fractions of a cell
    Us = U[st]
    lo = np.minimum(h * (i + cuts[:-1]), Us)  # (L pieces, pairs)
    hi = np.minimum(h * (i + cuts[1:]), Us)
    width = hi - lo
    mid = (lo + hi) / 2.0
    f_lo, f_hi = np.exp(-lam * (Us - lo)), np.exp(-lam * (Us - hi))
    moments = [f_hi - f_lo]  # J_m = ∫ z^m λe^{−λ(run − lo − z)} dz over (0, width)
    for j in range(1, L + 1):
        moments.append(width ** j * f_hi - j / lam * moments[-1])
    rows = np.broadcast_to(st, lo.shape)
    out: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    # per residual: its position in grid units at lo, the cell below it (at mid: constant on the piece), clipped at X
    spots = [(lo + off[l][st]) / h for l in range(L)]
    below = [np.minimum(np.floor((mid + off[l][st]) / h).astype(int), GRID) for l in range(L)]
    out += [(rows, w, idx) for w, idx in split_moments(spots, below, moments, h, GRID)]
    # beyond X: every residual there; y = 0: the last piece's atom, every residual at its offset (0 for l = 0)
    every = np.arange(n)
    far = np.maximum(1.0 - np.exp(-lam * np.maximum(U - GRID * h, 0.0)), 0.0)
    out.append((every, far, np.full((L, n), GRID)))
    if last:
        out.append((every, np.exp(-lam * U), np.zeros((L, n), dtype=int)))
    return out


def solve_stationary(step: Callable[[np.ndarray], np.ndarray], n: int, restarts: int = 0,
                     guess: np.ndarray | None = None) -> np.ndarray:
    """The stationary distribution of the chain whose step π ↦ πP is `step`: BiCGSTAB on (I − Pᵀ + v1ᵀ)π = v (v
    uniform: nonsingular where the chain has one stationary distribution), run again from its answer (stepped once)
    up to `restarts` times while a step moves it by TOL or more, then power iteration until a step moves π by less
    than TOL (a long backlog mixes slowly: model/leftover_pair_chain.py restarts). `guess`: BiCGSTAB's first start
    (else v)."""
    import scipy.sparse.linalg as spl

    v = np.full(n, 1.0 / n)
    steps = 0

    def product(y: np.ndarray) -> np.ndarray:
        nonlocal steps
        steps += 1
        out: np.ndarray = y - step(y) + v * y.sum()
        return out

    operator = spl.LinearOperator((n, n), matvec=product, dtype=float)
    start = v if guess is None else guess
    for _ in range(restarts + 1):
        pi, _ = spl.bicgstab(operator, v, x0=start, rtol=1e-12, atol=0.0, maxiter=MAX_STEPS)
        pi = np.maximum(pi, 0.0)
        pi /= pi.sum()
        start = step(pi)
        steps += 1
        start /= start.sum()
        if float(np.abs(start - pi).sum()) < TOL:
            return start
    pi = start
    while steps < MAX_STEPS:
        steps += 1
        nxt = step(pi)
        nxt /= nxt.sum()
        moved = float(np.abs(nxt - pi).sum())
        pi = nxt
        if moved < TOL:
            break
    return pi
