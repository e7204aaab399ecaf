"""Prototype (its `direct` splits at c = 3, GRID 32, are planner/model/triple_chain.py): the residual chain of
dynamic batching on c ≥ 3 replicas on a grid, as model/pair_chain.py is for c = 2 (issue 12 item 2; docs/serving.md
'Known limits'). Written for c = 3, general in c.

State at a close: the group of S(b) of the batch just dispatched (batch sizes grouped as pair_chain groups them) and
the other replicas' residuals ρ₁ ≤ … ≤ ρ_{c−1}, held as (ρ₁, δ₁, …) = (ρ₁, ρ₂ − ρ₁, …) on the grid 0 … X (GRID cells,
ρ_{c−1} ≤ X; X widened as pair_chain widens it). With R ≤ Q₁ ≤ … the c residuals sorted (R = min(S(b), ρ₁)):
  * G ≥ R − T (probability e^{−λ(R − T)⁺}): D = T, the batch holds 1 + Pois(λT), and the others fall together by
    T + G: (Q_l − T − (R − T)⁺ − E)⁺, E ~ Exp(λ); piece p: the first p at 0, the next falling, the rest above it;
  * G < R − T: D = R − G, the batch's size pair_chain's closed-form mixture at R, and the others are Q_l − R exactly.
Residuals go onto the grid two ways: `gap` splits ρ₁ and each δ linearly on its own (the falling one by
pair_chain's _exponential_on_grid cell moments), so ρ₂ is split twice a close; `direct` (_falling) splits each ρ
once, and integrates the product of the splits along the fall in closed form (per cell, cut where any residual
crosses a grid time). Each branch's transition is (next group) ⊗ (next residuals), so πP is two sparse products and an
outer product; π solves (I − Pᵀ + v1ᵀ)π = v by BiCGSTAB (scipy.sparse.linalg), polished by power iteration to
|Δπ|₁ < 1e-11. The explicit matrix's nonzeros are counted, not built. Latency: BatchingChain (model/batching_chain.py)
from the stationary distribution of R, as pair_chain's.

Measured 2026-12-01 as benchmarks/prototypes/many_replicas_closures.py measures (bert-train-then-serve's curves,
10 ms delay, limit out of reach: RTX 3060 1931, RTX A6000 4096; simulate_dynamic_batching 200,000 requests, seed 1):
signed error p50/p95/p99 %, states (S(b) groups), explicit nonzeros (the factors' nonzeros), CPU ms median of 3 on a
shared 2-core machine (noisy: the same chain ran 232–925 ms on different runs).

c = 3, GRID 32, gap splits
| GPU | load | error | states | nonzeros | CPU ms |
| --- | --- | --- | --- | --- | --- |
| RTX 3060 | 50 % | −0.2/−0.3/+0.0 | 6,732 (12) | 2.2e6 (1.8e5) | 103 |
| RTX 3060 | 65 % | −0.3/−0.1/+1.5 | 6,732 (12) | 2.2e6 (1.8e5) | 38 |
| RTX 3060 | 80 % | −0.5/+0.6/+3.0 | 11,220 (20) | 5.5e6 (3.2e5) | 288 |
| RTX 3060 | 90 % | +1.8/+6.9/+13.0 | 11,781 (21) | 3.2e6 (3.2e5) | 351 |
| RTX A6000 | 50 % | −0.2/−0.4/−0.7 | 6,732 (12) | 1.9e6 (1.6e5) | 40 |
| RTX A6000 | 65 % | −0.3/−0.3/−0.4 | 8,415 (15) | 3.1e6 (2.1e5) | 48 |
| RTX A6000 | 80 % | −0.4/−0.6/+1.3 | 9,537 (17) | 4.2e6 (2.5e5) | 258 |
| RTX A6000 | 90 % | −3.1/−3.5/−1.1 | 11,220 (20) | 4.6e6 (3.0e5) | 232–925 |

c = 3, GRID 32, direct splits: the same states; 50/65/80/90 %: RTX 3060 −0.2/−0.3/+0.0, −0.3/−0.4/+1.0,
−0.6/+0.3/+2.5, +0.8/+4.2/+9.6; RTX A6000 −0.2/−0.4/−0.7, −0.3/−0.3/−0.5, −0.4/−1.5/+0.7, −3.1/−4.1/−1.6 (all within
10 %); nonzeros 2.8–8.0e6 (2.3–4.9e5), 267–2,275 ms (the construction, not the solve: 22–85 products).
c = 3, GRID 48, gap: within 10 % everywhere (90 %: RTX 3060 −0.8/+3.0/+8.0, A6000 −3.8/−5.2/−2.6), 19,600–41,650
states, 1.2–2.9e7 nonzeros (0.7–1.5e6), 0.55–2.6 s. GRID 64, gap, 90 % only: RTX 3060 −2.3/+0.7/+5.3 (87,945 states,
8.2e7 nonzeros), A6000 −3.7/−5.3/−2.8 (81,510, 1.2e8); 4.6–7.2 s under power iteration alone (300–440 products).
Power iteration alone: 16–436 products (BiCGSTAB: 22–85); the CPU then went to construction.

Where the error comes from (RTX 3060, 90 %, p99, the one point past 10 %): the grid. Gap splits +13.0 (GRID 32), +8.0
(48), +5.3 (64): the split residuals spread by up to a step each close and the spread compounds, always upward; S(b)
grouped finer (within ½ or ¼ step, 41/55 groups) +10.8/+10.3; splitting each residual once (direct) +9.6 (branch G < R −
T alone direct: +10.9). The simulation's own noise: over seeds 1–8 the mean percentile is, relative to seed 1's,
−4.0/−1.7/+1.9 % (RTX 3060, 90 %) and −4.4/−5.4/−3.5 % (A6000, 90 %), standard deviation 1.6–3.1 % (80 %: ≤ 2.7 %, sd ≤
1.3 %): against the 8-seed mean the chain's A6000 −3.1/−3.5/−1.1 is +1.4/+2.0/+2.5 and the 3060's gap GRID 32 p99 +13.0
is +10.9. What sets the error is the step h against the delay T = 10 ms: at RTX 3060 90 % X is 316 ms (c = 3, the 1e-6
tail; the mean batch's S(b) 58 ms), so 32 cells are h = 9.9 ms ≈ T (p99 +9.6 direct, +13.0 gap); 24 cells, X widened
once to 475 ms, h = 20 ms: +1.9/+16.3/+21.5 (direct); c = 4 on 24 cells, X 734 ms after two widenings, h = 31 ms:
+51/+65/+75 (gap), +15/+26/+27 (direct); the A6000's X at 90 % is 99–103 ms (h ≤ 4.3 ms on 24 cells: within 7 % there,
though gap splits on 24 cells reach +10.8 p99 at c = 4, 80 %). Keeping h where X widens (KEEP_STEP: more cells) at GRID
24: c = 3 +5.2/+6.1/+11.7 on 21,793 states, c = 4 +8.2/+12.6/+16.0 on 292,448 — no better than 32 cells from the start.
X cannot be shorter: starting it at the one-server chain's 1e-6 tail (TAIL_START) it widens and coarsens (+16.9 p99),
and allowing 1e-4 beyond it (SPAN_TAIL) clips the A6000's tail: −9.7/−12.8/−13.2 at 90 %. A grid fine below a few T and
coarse in the tail would need a non-uniform _exponential_on_grid (pair_chain's assumes one step).

c = 4 (states groups × C(GRID + 3, 3)): GRID 24 (2,925 residual cells), gap: 50/65/80/90 % RTX 3060 −0.0/−0.0/+0.0,
+0.4/+1.9/+5.6, −0.3/+6.5/+8.6, +50.9/+64.7/+75.1; A6000 −0.3/−0.4/−1.5, −0.2/−0.1/+0.0, −0.4/+6.0/+10.8,
−6.6/−3.1/−1.2; 29,250–67,275 states, 1.0–3.6e7 nonzeros (1.0–2.6e6), 0.9–11.7 s. Direct GRID 24: RTX 3060 80 %
−0.7/+3.5/+5.8, 90 % +15.1/+25.5/+27.1, A6000 80 % −0.6/+1.8/+6.4, 90 % −6.0/−4.3/−2.8; 5–34 s. GRID 32 (6,545 cells),
gap, one run each: 65/80/90 % RTX 3060 −0.1/+0.9/+2.7, +3.1/+8.4/+8.5, +2.5/+4.3/+6.5; A6000 −0.2/−0.1/+0.0,
−0.6/−0.1/+3.4, −6.8/−5.2/−3.6 (all within 10 %); 85,085–143,990 states, 9.0e7–1.2e8 nonzeros (6.4–7.0e6)
at 90 %; 4.0–12.3 s.

So: c = 3 holds 10 % at 50–90 % on 32 cells with direct splits (or 48 with gap splits), c = 4 on 32 cells with gap
splits; cost grows as GRID^(c−1): c = 3 7–12 thousand states and 0.04–0.9 s (gap; direct 0.27–2.3 s), c = 4 85–144
thousand and 4–12 s, c = 5 (C(36, 4) = 58,905 cells × ~20 groups ≈ 1.2 million states) out of reach. The planner's
chains at the same points, same machine and run (batching_chain + values, median of 3): the pair chain (c = 2) 30–315
ms, the one-server chain at c = 3 6–79 ms.

Run: .venv/bin/python benchmarks/prototypes/three_replicas_grid.py [GRID[,GRID]] [LOAD,LOAD] [C]
[gap|direct[,keep][,tail]] (simulations cached in /tmp/many_replicas_sims.json, as many_replicas_closures.py caches
them).
"""
from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from many_replicas_closures import CACHE, KEYS, curves, one_server_chain, simulated  # noqa: E402

from planner.model.batching_chain import BatchingChain  # noqa: E402
from planner.model.chain_math import Entries, log_factorials, poisson  # noqa: E402
from planner.model.pair_chain import SPAN_TAIL as PAIR_SPAN_TAIL, _exponential_on_grid, size_groups, widened  # noqa: E402
from planner.model.triple_chain import residual_cells, solve_stationary, split_moments  # noqa: E402

SPAN_TAIL = PAIR_SPAN_TAIL
"""Stationary probability allowed beyond X (pair_chain's; the percentiles up to p99 need far less)."""
DIRECT = False
"""Residuals onto the grid by `direct` splits (module docstring), else `gap` splits."""
KEEP_STEP = False
"""Where X widens, keep the grid's step (more cells), else keep GRID cells (a coarser step), as pair_chain does."""
TAIL_START = False
"""X starts at c times the one-server chain's r at its SPAN_TAIL tail, else at c times its longest r kept."""
GROUP_STEP = 1.0
"""Batch sizes share a group where their service times lie within this many grid steps of the group's first."""


def grid_stationary(rate: float, limit: int, delay: float, service_of: Callable[[float], float], top: int,
                    span: float, grid: int, c: int) -> tuple[np.ndarray, np.ndarray, int, dict[str, float]] | None:
    """pair_stationary's contract for c replicas: (weights, R, top, figures), widening top and span alike (the
    planner's pair_chain.widened, with this chain's grid and figures)."""
    first = span
    kept: dict[str, float] = {"solves": 0}

    def stationary(lam: float, T: float, service: np.ndarray, x: float) -> tuple[np.ndarray, np.ndarray, float, float]:
        cells = round(grid * x / first) if KEEP_STEP else grid
        weight, r, edge, beyond, figures = _stationary(lam, T, service, x, cells, c)
        kept.update(figures, solves=kept["solves"] + 1, span=x)
        return weight, r, edge, beyond

    got = widened(stationary, rate, limit, delay, service_of, top, span)
    if got is None:
        return None
    weight, r, top = got
    kept.update(top=top)
    return weight, r, top, kept


def _linear(v: np.ndarray, h: float, last: int) -> tuple[np.ndarray, np.ndarray]:
    """v split between grid indices below and below + 1 (mean kept, clipped at `last`): (below, share above)."""
    spot = np.maximum(v, 0.0) / h
    below = np.minimum(spot.astype(int), last - 1)
    return below, np.minimum(spot - below, 1.0)


def _stationary(lam: float, T: float, service: np.ndarray, span: float, grid: int, c: int
                ) -> tuple[np.ndarray, np.ndarray, float, float, dict[str, float]]:
    """(weight, R) summed by R, the weight at the largest batch size followed, the weight at the grid's end, figures."""

    top = service.size
    h = span / grid
    x = h * np.arange(grid + 1)
    group, groups, s_of = size_groups(service, span, GROUP_STEP * h)  # pair_chain's, within GROUP_STEP steps
    # residual cells: (ρ₁, δ₁, …) grid indices with ρ_{c−1} = their sum ≤ grid
    m = c - 1
    mesh, index = residual_cells(grid, m)
    cells = mesh.shape[1]
    n = groups * cells
    s = np.repeat(s_of, cells)
    others = np.tile(np.cumsum(x[mesh], axis=0), (1, groups))  # ρ₁ ≤ … ≤ ρ_{c−1}
    ordered = np.sort(np.vstack([s[None, :], others]), axis=0)
    R, Q = ordered[0], ordered[1:]
    gaps = np.diff(Q, axis=0)  # δ_l = Q_{l+1} − Q_l
    lf = log_factorials(top + 2)
    k = np.arange(top)

    def by_group(pmf: np.ndarray) -> np.ndarray:
        cum = np.cumsum(pmf, axis=-1)
        ends = cum[..., np.flatnonzero(np.diff(group, append=groups))]
        out: np.ndarray = np.diff(ends, axis=-1, prepend=0.0)
        return out

    def cell(coords: list[np.ndarray]) -> np.ndarray:  # grid indices → cell, ρ's past X taken as X
        pos = np.minimum(np.cumsum(np.broadcast_arrays(*coords), axis=0), grid)
        return index[tuple(np.diff(pos, axis=0, prepend=0))]

    entries = Entries()
    add = entries.add

    def corners(fixed: list[tuple[np.ndarray, np.ndarray]]) -> list[tuple[list[np.ndarray], np.ndarray]]:
        """Every combination of the linear splits (below, share above) of `fixed`: (indices, weight)."""
        out: list[tuple[list[np.ndarray], np.ndarray]] = [([], np.ones(1))]
        for below, up in fixed:
            out = [(idx + [below + e], w * (up if e else 1.0 - up)) for idx, w in out for e in (0, 1)]
        return out

    splits = [_linear(g, h, grid) for g in gaps]  # each δ's linear split
    # branch A (D = T): the residuals fall together by T + G; piece p: the first p at 0, the p-th gap running
    g0 = np.maximum(R - T, 0.0)
    atom = np.exp(-lam * g0)
    p_t = poisson(k, lam * T, lf)
    p_t[-1] += max(0.0, 1.0 - float(p_t.sum()))
    on = np.arange(n)[:, None]
    gi = np.arange(grid + 1)[None, :]
    u = np.cumsum(np.vstack([(Q[0] - T - g0)[None, :], gaps]), axis=0)  # u_l: where the l-th residual reaches 0
    reach = np.ones(n)  # P(the first p residuals all reach 0)
    start = np.zeros(n)
    for p in range(m):
        if DIRECT:
            last = p == m - 1
            for w_, idx in _falling(lam, u[p] - start, u[p:] - u[p], h, grid, last):
                pos = _ordered(np.concatenate([np.zeros((p,) + idx.shape[1:], dtype=int), idx]))
                add(on.reshape((-1,) + (1,) * (w_.ndim - 1)), index[tuple(np.diff(pos, axis=0, prepend=0))],
                    (atom * reach).reshape((-1,) + (1,) * (w_.ndim - 1)) * w_)
            zero = np.exp(-lam * np.maximum(u[p] - start, 0.0))
            reach = reach * zero
            start = np.maximum(u[p], start)
            continue
        run = _exponential_on_grid(lam, u[p] - start, x, h)
        zero = np.exp(-lam * np.maximum(u[p] - start, 0.0))
        if p < m - 1:
            run[:, 0] -= zero  # the atom: on to the next piece
        zeros = [np.zeros((1, 1), dtype=int)] * p
        for idx, w in corners([(b[:, None], f[:, None]) for b, f in splits[p:]]):
            add(on, cell(zeros + [gi] + idx), (atom * reach)[:, None] * run * w)
        reach = reach * zero
        start = np.maximum(u[p], start)
    res_a = entries.matrix((n, cells))
    pt_g = by_group(p_t)
    edge = atom * float(p_t[-1])
    # branch B (D = R − G): the batch depends on R alone, the residuals on nothing random (they fall by R)
    late = np.flatnonzero(R > T)
    values, which = np.unique(R[late], return_inverse=True)
    a = np.exp(-lam * (values - T))
    mix = np.maximum(poisson(k[None, :] + 1, lam * values[:, None], lf)
                     - a[:, None] * poisson(k + 1, lam * T, lf)[None, :], 0.0)
    mix[:, -1] += np.maximum(1.0 - a - mix.sum(axis=1), 0.0)
    edge[late] += mix[which, -1]
    mix_g = by_group(mix)
    if DIRECT:  # each residual split on its own (one split per close), the corners sorted
        for idx, w in corners([_linear((q - R)[late], h, grid) for q in Q]):
            pos = _ordered(np.minimum(np.stack(idx), grid))
            add(late, which * cells + index[tuple(np.diff(pos, axis=0, prepend=0))], w)
    else:
        for idx, w in corners([_linear((Q[0] - R)[late], h, grid)] + [(b[late], f[late]) for b, f in splits]):
            add(late, which * cells + cell(idx), w)
    res_b = entries.matrix((n, max(1, values.size) * cells))
    # the explicit matrix's nonzeros: A's residual entries × next groups, B's × its mixture's groups
    nnz_b = int((np.diff(res_b.indptr)[late] * (mix_g[which] > 0).sum(axis=1)).sum())
    nnz = int(res_a.nnz * (pt_g > 0).sum()) + nnz_b
    res_at, res_bt = res_a.T.tocsr(), res_b.T.tocsr()

    def step(pi: np.ndarray) -> np.ndarray:  # π ↦ πP
        nxt = np.outer(pt_g, res_at @ pi)
        if values.size:
            nxt += mix_g.T @ (res_bt @ pi).reshape(values.size, cells)
        return nxt.ravel()

    pi, steps = _solve(step, n)
    beyond = float(pi[(s >= span) | (others[-1] >= span)].sum())
    values, which = np.unique(R, return_inverse=True)
    figures = {"states": float(n), "groups": float(groups), "nnz": float(nnz), "steps": float(steps),
               "factored": float(res_a.nnz + res_b.nnz)}
    return np.bincount(which, pi, values.size), values, float(pi @ edge), beyond, figures


def _ordered(pos: np.ndarray) -> np.ndarray:
    """Grid indices of residuals (rows) sorted per column (the residuals are a set)."""
    if pos.shape[0] == 2:
        return np.stack([np.minimum(pos[0], pos[1]), np.maximum(pos[0], pos[1])])
    out: np.ndarray = np.sort(pos, axis=0)
    return out


def _falling(lam: float, run: np.ndarray, off: np.ndarray, h: float, grid: int, last: bool
             ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Residuals y + off_l (off: rows l, off_0 = 0) falling together, y = (run − E)⁺, E ~ Exp(λ), while y > 0, each
    split linearly onto the grid (step h, indices 0 … grid, beyond: grid) exactly: per state, y's range is cut where any
    residual crosses a grid time, and on each piece the product of the splits (a polynomial in y) is integrated
    against the density λe^{−λ(run − y)} in closed form. [(weights, grid indices per residual)], per state; y = 0
    (probability e^{−λ run⁺}) included where `last` (every residual at 0 then), else left to the next piece."""
    L, n = off.shape
    top = grid * h
    U = np.maximum(run, 0.0)
    frac = (off / h) % 1.0  # y crosses a grid time for residual l at x_i + h(1 − frac_l) within cell i
    cuts = np.sort(np.concatenate([np.zeros((1, n)), np.where(frac > 0.0, 1.0 - frac, 0.0)[1:], np.ones((1, n))]),
                   axis=0)  # (L + 1, n) fractions of a cell
    cell0 = np.arange(grid)[None, :, None]
    lo = np.minimum(h * (cell0 + cuts[:-1].T[:, None, :]), U[:, None, None])  # (n, grid, L)
    hi = np.minimum(h * (cell0 + cuts[1:].T[:, None, :]), U[:, None, None])
    width = hi - lo
    mid = (lo + hi) / 2.0
    f_lo, f_hi = np.exp(-lam * (U[:, None, None] - lo)), np.exp(-lam * (U[:, None, None] - hi))
    moments = [f_hi - f_lo]  # J_m = ∫ z^m λe^{−λ(run − lo − z)} dz over (0, width)
    for j in range(1, L + 1):
        moments.append(width ** j * f_hi - j / lam * moments[-1])
    out: list[tuple[np.ndarray, np.ndarray]] = []
    # per residual: its position in grid units at lo, the cell below it (at mid: constant on the piece), clipped at X
    spots = [(lo + off[l][:, None, None]) / h for l in range(L)]
    below = [np.minimum(np.floor((mid + off[l][:, None, None]) / h).astype(int), grid) for l in range(L)]
    out += [(w.reshape(n, -1), idx.reshape(L, n, -1)) for w, idx in split_moments(spots, below, moments, h, grid)]
    # beyond X: every residual there; y = 0: the last piece's atom, every residual at its offset (0 for l = 0)
    far = np.maximum(1.0 - np.exp(-lam * np.maximum(U - top, 0.0)), 0.0)
    out.append((far[:, None], np.full((L, n, 1), grid)))
    if last:
        out.append((np.exp(-lam * U)[:, None], np.zeros((L, n, 1), dtype=int)))
    return out


def _solve(step: Callable[[np.ndarray], np.ndarray], n: int) -> tuple[np.ndarray, int]:
    """The stationary distribution of the chain whose step π ↦ πP is `step`, by the planner's solver
    (planner/model/triple_chain.py solve_stationary: BiCGSTAB, then power iteration to |Δπ|₁ < TOL), and the steps taken."""
    steps = 0

    def counted(y: np.ndarray) -> np.ndarray:
        nonlocal steps
        steps += 1
        return step(y)

    return solve_stationary(counted, n), steps


def grid_chain(rate: float, c: int, limit: int, delay: float, S: Callable[[float], float], grid: int
               ) -> tuple[object, dict[str, float]]:
    """The grid chain on c replicas as a BatchingChain, started where two_server_chain starts the pair chain (the
    planner's chain where batches reach the limit or no replica is ever busy)."""
    base = one_server_chain(rate, c, limit, delay, S)  # the one-server chain, as measured
    if not isinstance(base, BatchingChain) or float(base.r.max(initial=0.0)) == 0.0:
        return base, {}
    # X starts where model/batching_chain.py starts the pair chain's: c times the one-server chain's r that its
    # stationary state exceeds with probability above SPAN_TAIL (TAIL_START: c times its longest r)
    if TAIL_START:
        order = np.argsort(base.r)
        beyond = np.cumsum(base.weight[order][::-1])[::-1]
        span = max(c * float(base.r[order][np.flatnonzero(beyond > SPAN_TAIL)[-1]]), S(1))
    else:
        span = max(c * float(base.r.max()), S(1))
    got = grid_stationary(rate, limit, delay, S, base.top, span, grid, c)
    if got is None:
        return base, {}
    weight, r, top, figures = got
    return BatchingChain(rate, delay, limit, top, S, weight, r), figures


def main() -> int:
    grids = [int(v) for v in sys.argv[1].split(",")] if len(sys.argv) > 1 else [32]
    loads = [float(v) for v in sys.argv[2].split(",")] if len(sys.argv) > 2 else [0.5, 0.65, 0.8, 0.9]
    c = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    global DIRECT, KEEP_STEP, TAIL_START
    DIRECT = len(sys.argv) > 4 and "direct" in sys.argv[4]
    KEEP_STEP = len(sys.argv) > 4 and "keep" in sys.argv[4]
    TAIL_START = len(sys.argv) > 4 and "tail" in sys.argv[4]
    delay, gpus = curves()
    cache = json.loads(CACHE.read_text()) if CACHE.exists() else {}
    for grid in grids:
        options = (", step kept" if KEEP_STEP else "") + (", X from the tail" if TAIL_START else "")
        print(f"\nc = {c}, GRID {grid}, {'direct' if DIRECT else 'gap'} splits{options}\n"
              "| GPU | load | error p50/p95/p99 % | "
              "states (groups) | nonzeros (factored) | products (solves) | CPU ms, median of 3 |")
        for name, (limit, table) in gpus.items():
            def S(b: float, table: list[float] = table) -> float:
                return table[int(b) - 1]
            for load in loads:
                rate, sim = simulated(cache, name, limit, c, load, delay, S)
                times = []
                for _ in range(3):
                    t0 = time.process_time()
                    chain, fig = grid_chain(rate, c, limit, delay, S, grid)
                    got = dict(zip(KEYS, chain.values([0.5, 0.95, 0.99])))  # type: ignore[attr-defined]
                    times.append(time.process_time() - t0)
                err = "/".join(f"{100 * (got[q] / sim[q] - 1):+.1f}" for q in KEYS)
                print(f"| {name} | {round(load * 100)} % | {err} | {fig.get('states', 0):.0f} "
                      f"({fig.get('groups', 0):.0f}) | {fig.get('nnz', 0):.3g} ({fig.get('factored', 0):.3g}) | "
                      f"{fig.get('steps', 0):.0f} ({fig.get('solves', 0):.0f}) | "
                      f"{1000 * statistics.median(times):.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
