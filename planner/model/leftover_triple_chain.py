"""Dynamic batching on three replicas whose batches reach their limit B (planner/model/dynamic_batching.py describes
the system), followed on both what a full batch leaves behind (as model/leftover_pair_chain.py) and the other two
replicas' residuals (as model/triple_chain.py): past MULTI_REPLICA_LOAD (model/chain_scope.py) one server three
times as fast with what full batches leave behind was −22 % p95 at 80 % and down to −49 % p99 at 90 % of capacity;
this chain is within 8.1 % at p50, p95 and p99 for limits 8–256 at 65–90 %, 0.1–2 s a chain
(benchmarks/prototypes/three_replicas_leftover.py).

The state at a close: n, the requests present (the batch takes b = min(n, B), L = n − b stay), and the other two
replicas' residuals ρ₁ ≤ ρ₂, held as (ρ₁, ρ₂ − ρ₁) on triple_chain's grid (GRID cells over 0 … X, ρ₂ ≤ X; X widened
as leftover_pair_chain widens it, up to S(B)). With nothing left the class is b's group of service times
(pair_chain.size_groups); with L > 0 the batch is full, S(B) (clipped at X), and the class is L. R ≤ Q₁ ≤ Q₂ are the
three residuals sorted, m = min(T, R). From L = 0 the next batch's first request F comes G ~ Exp(λ) after the close,
and it closes (leftover_pair_chain's branches, with two other residuals instead of one)
  * at R, holding 1 + k (leftover_pair_chain's closed form; k + 1 > B: requests left), the others Q_l − R;
  * T after F (G > (R − T)⁺) with N(T) < B − 1, 1 + N(T) requests, or when it fills, at the B-th arrival y beyond
    max(R, T): in both the others fall together by T + (R − T)⁺ + Exp(λ) (triple_chain's fall), independent of the
    batch (an outer product);
  * when it fills at y ∈ (R, T) (Erlang, on NODES Gauss–Legendre nodes): B requests, the others (Q_l − y)⁺.
From L > 0 (need = B − L more fill it; U = (T − L/λ)⁺ the oldest left request's delay still to run, as
leftover_pair_chain takes it): at R = ρ₁ if N(R) ≥ need or R ≥ U (L + N(R) present, the others (ρ₂ − ρ₁, X − ρ₁):
grid times again), at U if N(U) < need (Q_l − U), else when it fills at τ ∈ (R, U) (B present, Q_l − τ). Residuals
off the grid are split linearly between the grid times around them (mean kept); along a fall exactly
(triple_chain._falling).

πP is never formed: a sparse product or an outer product per branch; the L > 0 closes at R, the most of the states,
move each cell to one cell and L to L + N(x_a) − B, a convolution along L per cell (by FFT), less the closes that
N(R) < need keeps from happening while R < U. π by triple_chain.solve_stationary (restarted as leftover_pair_chain
restarts it), from the last solve's answer as the backlog followed widens. Latency: LeftoverChain's mixture over the
stationary weight of (L, R, U), with E[Q_l − R | L, R], the times from a close that leaves requests to the next two
replicas to free (requests are left only by closes at R; L > 0: Q₁ − R = ρ₂ − ρ₁, Q₂ − R = X − ρ₁).
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from planner.model.chain_math import EDGE, Entries, log_factorials, poisson
from planner.model.chain_scope import KEPT, TAIL_SIGMAS
from planner.model.leftover_pair_chain import LEFT_START, MOST_LEFT, NODES, RESTARTS, SMALL, _reach, remaining
from planner.model.pair_chain import SPAN_TAIL, size_groups
from planner.model.triple_chain import GRID, M, _linear, add_falls, residual_cells, solve_stationary


def leftover_triple_stationary(rate: float, limit: int, delay: float, service_of: Callable[[float], float],
                               span: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The stationary weight of (L, R) at the closes of three replicas at `rate` with batches of up to `limit`
    (module docstring): (weights, L, R, U, E[Q_l − R | L, R] by column), leftover_pair_stationary's contract. The
    residual grid spans min(span, S(limit)), widened 1.5-fold while more than SPAN_TAIL of the weight lies at its end:
    at once to S(limit) where the closes that leave requests hold more than SPAN_TAIL (their S(B), clipped at the
    grid's end, is there until the grid reaches it)."""
    service = np.array([service_of(float(b)) for b in range(1, limit + 1)])
    longest = float(service[-1])
    left = LEFT_START
    while True:
        end = min(span, longest)
        weight, left_of, r, spacing, beyond, backlog, left = _stationary(rate, delay, service, end, left)
        if beyond + backlog <= SPAN_TAIL or end >= longest:
            return weight, left_of, r, remaining(delay, left_of, rate), spacing
        span = longest if backlog > SPAN_TAIL else 1.5 * end


def _stationary(lam: float, T: float, service: np.ndarray, X: float, most: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float, float, int]:
    """(weight, L, R, E[Q_l − R | L, R] by column) summed by (L, R), the weight of the closes that leave none with a
    residual at the grid's end and of those that leave requests, and the left requests followed (from `most`, widened
    until the weight at the last is below EDGE, unless the grid must widen first: X < S(B) and the closes that leave
    requests hold more than SPAN_TAIL)."""
    import scipy.fft as sfft
    import scipy.sparse as sp

    B = service.size
    h = X / GRID
    x = h * np.arange(GRID + 1)
    group, groups, s_of = size_groups(service, X, h)
    full = int(group[B - 1])
    mesh, index = residual_cells(GRID, M)
    cells = mesh.shape[1]
    xg, hg = np.polynomial.legendre.leggauss(NODES)
    xg, hg = (xg + 1.0) / 2.0, hg / 2.0
    window = lam * max(T, X)
    k = np.arange(math.ceil(window + TAIL_SIGMAS * (math.sqrt(window) + 1.0)) + 1)
    lf = log_factorials(B + MOST_LEFT + k.size + 4)

    def cell(pos: np.ndarray) -> np.ndarray:  # grid indices of the two residuals (rows, any order) → cell
        low = np.minimum(pos[0], pos[1])
        out: np.ndarray = index[low, np.maximum(pos[0], pos[1]) - low]
        return out

    def split(frm: np.ndarray, cls: np.ndarray, v: np.ndarray, q: list[np.ndarray]) -> None:
        """Entries from `frm` into class `cls` with probability v, the two residuals q split onto the grid."""
        splits = [_linear(r, h) for r in q]
        for corner in range(2 ** M):
            pos = np.stack(np.broadcast_arrays(*[below + ((corner >> l) & 1) for l, (below, _) in
                                                 enumerate(splits)]))
            share = np.prod(np.broadcast_arrays(*[up if (corner >> l) & 1 else 1.0 - up for l, (_, up) in
                                                  enumerate(splits)]), axis=0)
            entries.add(frm, cls * cells + cell(np.minimum(pos, GRID)), v * share)

    entries = Entries(SMALL)
    # L = 0 states: (group, cell), group-major
    head = groups * cells
    s_a = np.repeat(s_of, cells)
    others = np.tile(np.cumsum(h * mesh, axis=0), (1, groups))  # ρ₁ ≤ ρ₂
    ordered = np.sort(np.vstack([s_a[None, :], others]), axis=0)
    R, Q = ordered[0], ordered[1:]
    state = np.arange(head)
    # closes at R: the batch depends on R alone (its values), the residuals Q_l − R on the state
    values, which = np.unique(R, return_inverse=True)
    split(state, which, np.ones(head), [q - R for q in Q])
    shift = entries.matrix((values.size * cells, head), transposed=True)
    m = np.minimum(T, values)
    at_r = np.maximum(poisson(k[None, :] + 1, lam * values[:, None], lf) - (k[None, :] < B - 1)
                      * np.exp(-lam * (values - m))[:, None] * poisson(k[None, :] + 1, lam * m[:, None], lf), 0.0)
    # closes T after F (N(T) < B − 1), or fills at y beyond max(R, T) = T + G₀, G₀ = (R − T)⁺ (density
    # λe^{−λy}(λT)^{B−1}/(B − 1)!: y − T − G₀ ~ Exp(λ), mass Pois(B − 1; λT)e^{−λG₀}): in both the others fall
    # together by T + G₀ + Exp(λ), so each is (next class: 1 + N(T), N(T) ≤ B − 1) ⊗ (the others falling)
    g0 = np.maximum(R - T, 0.0)
    add_falls(entries.add, cell, lam, Q - T - g0, np.exp(-lam * g0), h)
    fall = entries.matrix((cells, head), transposed=True)
    p_t = poisson(np.arange(B), lam * T, lf)
    # fills at y ∈ (R, T): Erlang on nodes
    soon = np.flatnonzero(R < T)
    if soon.size:
        rs = R[soon]
        y = rs[:, None] + (T - rs)[:, None] * xg[None, :]
        dens = (T - rs)[:, None] * hg[None, :] * lam * poisson(np.full(y.shape, B - 1), lam * y, lf)
        mass = np.maximum(poisson(np.arange(B)[None, :], lam * rs[:, None], lf).sum(axis=1)
                          - float(poisson(np.arange(B), lam * T, lf).sum()), 0.0)
        sums = dens.sum(axis=1)
        dens = dens * (mass / np.where(sums > 0.0, sums, 1.0))[:, None]
        split(soon[:, None], np.array([[full]]), dens, [q[soon][:, None] - y for q in Q])
    fill_head = entries.matrix((groups * cells, head), transposed=True)
    fall_sum = np.asarray(fall.sum(axis=0)).ravel()
    fill_sum = np.asarray(fill_head.sum(axis=0)).ravel()
    # L > 0 states: (L, cell); R = ρ₁ (S(B), clipped at X, is the longest), the others (ρ₂ − ρ₁, X − ρ₁) on the grid
    a_of, b_of = mesh  # ρ₁ and ρ₂ − ρ₁ in grid steps
    moved = index[b_of, GRID - a_of - b_of]  # each cell's residuals after R: a permutation of the cells
    first_of_a = np.searchsorted(a_of, np.arange(GRID + 1))  # the cells are ρ₁-major
    pieces = [(a, slice(int(first_of_a[a]), int(first_of_a[a + 1]) if a < GRID else cells)) for a in range(GRID + 1)]
    p_r = poisson(k[None, :], lam * x[:, None], lf)  # N(R) at R = x_a: (a, k)
    starts = np.flatnonzero(np.diff(group, prepend=-1))  # each group's first batch size (index)
    guess: np.ndarray | None = None
    while True:
        classes = groups + most
        n = classes * cells

        def dest(count: np.ndarray) -> np.ndarray:  # requests present at the next close → its class
            out: np.ndarray = np.where(count <= B, group[np.clip(count, 1, B) - 1],
                                       groups + np.minimum(count - B, most) - 1)
            return out

        mix = np.zeros((values.size, classes))
        np.add.at(mix, (np.arange(values.size)[:, None], dest(1 + k)[None, :]), at_r)
        p_class = np.bincount(group, p_t, classes)
        left = np.arange(1, most + 1)
        need = B - left
        U = remaining(T, left, lam)
        # closes at R = x_a: L + N(x_a) present, a convolution along L per cell (by FFT), less the closes too short to
        # happen (N(R) < need while R < U: those close at U or τ)
        size = sfft.next_fast_len(max(most + k.size - 1, B + most))
        kernel = sfft.rfft(p_r, size, axis=1).T[:, a_of]  # (frequency, cell)
        tail_l, tail_c = np.nonzero(x[a_of][None, :] < U[:, None])
        kk = np.arange(min(int(need[tail_l].max(initial=1)), k.size))
        too_short = np.where(kk[None, :] < need[tail_l][:, None], p_r[a_of[tail_c]][:, kk], 0.0)
        on = too_short > 0.0
        frm_s = np.broadcast_to((tail_l * cells + tail_c)[:, None], on.shape)[on]
        to_s = ((tail_l[:, None] + kk[None, :]) * cells + tail_c[:, None])[on]
        rows_c = most + k.size - 1
        # by FFT where it takes fewer operations than the dense product of each cell's Toeplitz matrix (few left)
        dense = rows_c * most < size * (5.0 * math.log2(size) + 3.0)
        if dense:
            toeplitz = np.zeros((GRID + 1, max(rows_c, B + most), most))
            lower = np.arange(most)
            toeplitz[:, lower[None, :] + k[:, None], lower[None, :]] = p_r[:, :, None]
        less = sp.csr_matrix((-too_short[on], (to_s, frm_s)), shape=(rows_c * cells, most * cells))
        at_r_total = np.repeat(p_r.sum(axis=1)[a_of][None, :], most, axis=0)
        at_r_total[tail_l, tail_c] -= too_short.sum(axis=1)
        # closes at U (N(U) < need) and fills at τ ∈ (R, U): the states with R < U
        frm = head + tail_l * cells + tail_c
        if frm.size:
            lu = left[tail_l]
            uu, rr, nn = U[tail_l], x[a_of][tail_c], need[tail_l]
            q = [x[a_of + b_of][tail_c], np.full(tail_c.size, X)]
            kk = np.arange(int(nn.max()))
            p_u = np.where(kk[None, :] < nn[:, None], poisson(kk[None, :], lam * uu[:, None], lf), 0.0)
            split(frm[:, None], group[np.minimum(lu[:, None] + kk[None, :], B) - 1], p_u,
                  [(v - uu)[:, None] for v in q])
            y = rr[:, None] + (uu - rr)[:, None] * xg[None, :]
            dens = (uu - rr)[:, None] * hg[None, :] * lam * poisson((nn - 1)[:, None], lam * y, lf)
            under = kk[None, :] < nn[:, None]
            mass = np.maximum((poisson(kk[None, :], lam * rr[:, None], lf) * under).sum(axis=1)
                              - (p_u * under).sum(axis=1), 0.0)
            sums = dens.sum(axis=1)
            split(frm[:, None], np.array([[full]]), dens * (mass / np.where(sums > 0.0, sums, 1.0))[:, None],
                  [v[:, None] - y for v in q])
        direct = entries.matrix((n, n), transposed=True)
        total = np.asarray(direct.sum(axis=0)).ravel()
        total[:head] += shift.T @ np.repeat(mix.sum(axis=1), cells) + fall_sum * float(p_t.sum()) + fill_sum
        total[head:] += at_r_total.ravel()
        scale = 1.0 / total  # each row renormalised: the probabilities left out, ≤ SMALL each and the Poisson tails

        def step(pi: np.ndarray) -> np.ndarray:  # π ↦ πP
            pi = pi * scale
            front, back = pi[:head], pi[head:]
            out = mix.T @ (shift @ front).reshape(values.size, cells)
            out[:groups] += np.outer(p_class[:groups], fall @ front) + (fill_head @ front).reshape(groups, cells)
            if dense:
                count = np.empty((max(rows_c, B + most), cells))
                for a, piece in pieces:
                    np.matmul(toeplitz[a], back.reshape(most, cells)[:, piece], out=count[:, piece])
            else:
                count = sfft.irfft(sfft.rfft(back.reshape(most, cells), size, axis=0) * kernel, size, axis=0)
            count[:rows_c] += (less @ back).reshape(rows_c, cells)  # row: requests present − 1
            to = np.empty((classes, cells))
            to[:groups] = np.add.reduceat(count[:B], starts, axis=0)
            to[groups:-1] = count[B:B + most - 1]
            to[-1] = count[B + most - 1:].sum(axis=0)
            out[:, moved] += to
            flat: np.ndarray = out.ravel()
            flat += direct @ pi
            return flat

        if guess is not None:  # the last solve's answer, none beyond the backlog it followed
            guess = np.concatenate([guess, np.zeros(n - guess.size)])
        pi = solve_stationary(step, n, RESTARTS, guess)
        by_left = pi[head:].reshape(most, cells).sum(axis=1)
        if by_left[-1] <= EDGE or most >= MOST_LEFT or (X < service[-1] and by_left.sum() > SPAN_TAIL):
            break
        most = min(MOST_LEFT, _reach(by_left, most))
        guess = pi
    edge = float(pi[:head][(s_a >= X) | (others[-1] >= X)].sum())
    # by (L, R): L = 0 by R's values, L > 0 by R = x_a (the cells ρ₁-major)
    weight = np.concatenate([np.bincount(which, pi[:head], values.size),
                             np.add.reduceat(pi[head:].reshape(most, cells), first_of_a, axis=1).ravel()])
    left_of = np.concatenate([np.zeros(values.size, dtype=int), np.repeat(left, GRID + 1)])
    r = np.concatenate([values, np.tile(x, most)])
    # E[Q_l − R | L, R]: L = 0 by R's values; L > 0 ρ₂ − ρ₁ = h·b and X − ρ₁ per cell, by R = x_a
    back = pi[head:].reshape(most, cells)
    spacing = np.stack([np.concatenate([np.bincount(which, pi[:head] * (q - R), values.size),
                                        np.add.reduceat(back * gap, first_of_a, axis=1).ravel()])
                        for q, gap in zip(Q, (h * b_of, X - x[a_of]))], axis=1)
    spacing /= np.where(weight > 0.0, weight, 1.0)[:, None]
    held = weight > KEPT  # (no outcome of a state of at most KEPT enters LeftoverChain's mixture: its share ≤ it)
    return weight[held], left_of[held], r[held], spacing[held], edge, float(pi[head:].sum()), most

