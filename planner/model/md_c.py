"""Exact M/D/c waiting times (Poisson arrivals at rate λ, c servers, every service exactly D, first come first
served): the distribution the continuous-batching simulation (planner/model/simulation.py) samples.

Crommelin's formula (Crommelin 1932, "Delay probability formulae when the holding times are constant", P.O. Elec.
Engrs. J. 25; in this form Franx 2001, "A simple solution for the M/D/c waiting time distribution", Oper. Res.
Lett. 29). Let X be the number of customers waiting (not in service) at an arbitrary time. Everyone in service at
time s − D has left by s and everyone waiting then has not, so X follows the Lindley recursion
X(s + D) = (X(s) + A − c)⁺ with A ~ Poisson(a), a = λD. A customer arriving at t starts within jD + u
(0 ≤ u < D) exactly when the customers ahead of it still present at t + u — those waiting at s = t + u − D and
those arriving in (s, t) — number at most (j + 1)·c − 1 (FCFS: each D frees c places ahead of it):

    P(W ≤ jD + u) = P(X + A_{λ(D−u)} ≤ (j + 1)·c − 1),   A_μ ~ Poisson(μ) independent of X.

X is the all-time maximum of the random walk with steps A − c, whose generating function comes from the
Wiener–Hopf factorisation of 1 − Φ(z), Φ(z) = E z^{A−c} = z^{−c}·e^{a(z−1)} (Spitzer's identity; Feller 1971,
"An Introduction to Probability Theory and Its Applications" II, ch. XII): on a circle |z| = r between the roots
1 and η of Φ(z) = 1, log(1 − Φ(z)) = Σ ℓ_k z^k, and E z^X = exp(−Σ_{k≥1} ℓ_k·(z^k − 1)). This is the root
factorisation of Crommelin and of Janssen & van Leeuwaarden 2008 ("Back to the roots of the M/D/s queue and the
works of Erlang, Crommelin and Pollaczek", Statistica Neerlandica 62) — the c − 1 roots of z^c = e^{a(z−1)} inside
the unit disk are exactly the zeros the negative-power part removes — computed with two FFTs instead of c roots
(Abate & Whitt 1992, "The Fourier-series method for inverting transforms of probability distributions", Queueing
Systems 10: sampling on a circle, aliasing error bounded by the coefficients N places away).

Error budget. Both halves of the Laurent series decay at least as η^{−|k|/2} on the circle r = √η (the nearest
singularities are z = 1 and z = η), and X's probabilities as η^{−n} (Kingman's bound P(X ≥ n) ≤ η^{−n}); keeping
n·ln η ≤ MASS_DIGITS and N ≥ 2n points leaves aliasing and truncation below 1e-10, and N also exceeds
a + 7√a + 8 + n, so the unit-circle grid holds Q = X + A's mass too. Poisson sums use the terms within 7√μ + 8 of
the mean (what lies beyond is below 1e-11). The waiting-time quantiles are found to 1e-9·D; those of W + U·s on a
trapezoid grid of s/GRID, within 0.1 % (tests/test_md_c.py).
"""
from __future__ import annotations

import math
from dataclasses import field
from functools import lru_cache
from typing import TYPE_CHECKING

from planner.dataclass import dataclass
from planner.model import queueing
from planner.model.queueing import md_c_wait_tail, poisson_quantiles, wait_plus_uniform_quantiles

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np

# numpy is imported inside the functions that compute a distribution, not here: most queues a serving search asks
# about are decided by the pure-Python bounds below (no_wait_bound, quantile_within, the tail fallback), and a
# training estimate asks none, so a run that needs no FFT never pays numpy's import (~140 ms CPU, more than the rest
# of a cold `gpuplan estimate` of a LoRA profile; benchmarks/bench_estimate.py).

MASS_DIGITS = 23.0
"""X's support is kept to n·ln η ≤ this (Kingman: P(X ≥ n) ≤ η^{−n} = e^{−23} ≈ 1e-10 beyond); the FFT has
N ≥ 2n points, so the aliased Laurent coefficients, ≤ η^{−N/2}, are below 1e-10 too."""
POISSON_SD = 7.0
"""Poisson terms kept: within this many standard deviations (+8) of the mean; the rest is below 1e-11."""
NEGLIGIBLE_WAIT = 1e-3
"""P(W > 0) = ε below this, and q ≤ 1 − ε: the q-quantile of W + U·s lies in [q·s, q·s/(1 − ε)] (P(W = 0, U·s ≤ y)
≤ P(W + U·s ≤ y) ≤ P(U·s ≤ y)), so the midpoint is within ε/2 ≤ 0.05 % of it without computing W's distribution."""
GRID = 16
"""Intervals per spread s on which W + U·s is integrated (trapezoid, with nodes at every kink jD and at the atom
t = 0); its quantiles move by < 0.1 % between 16 and 512 intervals (tests/test_md_c.py)."""
MAX_FFT_POINTS = 1 << 18
"""Largest FFT (~30 ms): beyond it — only hundreds of thousands of slots within a few standard deviations of their
load, outside every grid the benchmark checks — the waits come from the asymptotic tail γ·e^{−δt}
(planner/model/queueing.py md_c_wait_tail), whose long-wait decay is exact."""
BRACKET_POINTS = 17
"""Points of each grid that narrows a waiting-time quantile's bracket (16-fold a round)."""


@lru_cache(maxsize=4096)
def growth_root(servers: int, offered_load: float) -> float:
    """η > 1 with c·ln η = a·(η − 1): the positive root of Φ(z) = 1 besides z = 1 (Newton from the right, where
    the concave g(z) = c·ln z − a(z − 1) is negative). Kept per queue: the shortcut bound, the FFT size and the
    distribution each need it."""
    c, a = float(servers), offered_load
    if a <= 0.0:
        return math.inf
    hi = max(2.0, 2.0 * c / a)
    while c * math.log(hi) - a * (hi - 1.0) > 0.0:
        hi *= 2.0
    z = hi
    log = math.log
    peak = c / a
    for _ in range(200):
        step = (c * log(z) - a * (z - 1.0)) / (c / z - a)  # g / g′, g′ < 0 right of the maximum at c/a
        # never left of the maximum, where the other root (1) lies: max(z − step, (z + c/a)/2) written out
        # (the same float: max keeps its first argument unless the second is larger)
        mid = 0.5 * (z + peak)
        z = mid if mid > z - step else z - step
        if abs(step) <= 1e-15 * z:
            break
    return z


@lru_cache(maxsize=8192)
def no_wait_bound(servers: int, offered_load: float, eta: float) -> float:
    """Upper bound on P(W > 0) = P(X + A ≥ c), by Chernoff: ≤ E[z^X]·Φ(z) for 1 < z < η, with
    E[z^X] ≤ 1 + (z − 1)/(η − z) from Kingman's P(X ≥ n) ≤ η^{−n}; the least over a few z. Pure Python: it spares
    the FFT (and numpy) for the many sizings where nobody waits. Kept per queue (the search asks for it again with
    each quantile and bound of the queue)."""
    if not math.isfinite(eta):
        return 0.0
    best = 1.0
    rise, log, exp = eta - 1.0, math.log, math.exp
    for k in (1, 2, 3, 4, 5, 6, 7):  # min(best, …) written out, the same floats (~1,700 queues a search)
        z = 1.0 + rise * k / 8.0
        bound = (1.0 + (z - 1.0) / (eta - z)) * exp(-servers * log(z) + offered_load * (z - 1.0))
        if bound < best:
            best = bound
    return best


def _pow2_at_least(n: float) -> int:
    return 1 << max(6, math.ceil(math.log2(max(n, 2.0))))


@dataclass(frozen=True)
class MdcWait:
    """The waiting-time distribution of one M/D/c queue: P(W ≤ t) by Crommelin's formula."""

    servers: int
    arrival_rate: float
    service_s: float
    waiting_cdf: np.ndarray
    """P(X ≤ n), n = 0, 1, …: customers waiting at an arbitrary time (beyond the array: 1)."""
    system_cdf: np.ndarray
    """P(Q ≤ n) for Q = X + Poisson(a): customers in the system at an arbitrary time."""
    grids: dict[tuple[float, float], np.ndarray] = field(default_factory=dict, compare=False, repr=False)
    """P(W ≤ t) on each bracket grid worked out (by its ends): the p50 and the p95 of a queue in one interval
    [jD, (j + 1)D) start from the same grid (and often narrow through the same next one): ~15 % of a serving
    search's grids."""

    @property
    def no_wait(self) -> float:
        """P(W = 0) = P(Q ≤ c − 1)."""
        return _at(self.system_cdf, self.servers - 1)

    def cdf(self, t: np.ndarray) -> np.ndarray:
        """P(W ≤ t) for every t (0 for t < 0)."""
        import numpy as np
        t = np.asarray(t, dtype=float)
        out = np.zeros_like(t)
        c, lam, hold = self.servers, self.arrival_rate, self.service_s
        j = np.floor(np.maximum(t, 0.0) / hold)
        inside = j[t >= 0.0]
        if inside.size == 0:
            return out
        first = inside[0]
        # a bracket's grid lies within one interval [jD, (j+1)D): one group, without np.unique
        for jj in ((first,) if (inside == first).all() else np.unique(inside)):
            sel = (t >= 0.0) & (j == jj)
            tau = (jj + 1.0) * hold - t[sel]  # D − u, in (0, D]
            out[sel] = _poisson_mix(self.waiting_cdf, int(jj + 1) * c - 1, lam * np.maximum(tau, 0.0))
        return out

    def _cdf_ascending(self, t: np.ndarray, servers: int | None = None) -> np.ndarray:
        """cdf(t) for increasing t ≥ 0 (the bracket's grids and the trapezoid's nodes), the same numbers: each
        interval [jD, (j + 1)D) is then a contiguous run of t, mixed as one slice, with the run's means already
        ordered (decreasing: μ = λ·((j + 1)D − t)), so no masks, np.unique or min/max reductions are needed — the
        same elements in the same order reach _poisson_mix. About half of an FFT-path quantile's time was these
        calls' overhead on arrays of 17–50 points.

        `servers`: P(X + A ≤ (j + 1)·servers − 1) instead, this queue's X with another queue's thresholds (the
        bounds of quantile_within_known)."""
        import numpy as np
        c, lam, hold = self.servers if servers is None else servers, self.arrival_rate, self.service_s
        first, last = math.floor(float(t[0]) / hold), math.floor(float(t[-1]) / hold)
        if first == last:
            means = lam * np.maximum((first + 1.0) * hold - t, 0.0)
            return _poisson_mix(self.waiting_cdf, (first + 1) * c - 1, means, float(means[-1]), float(means[0]))
        out = np.empty_like(t)
        j = np.floor(t / hold)
        start = 0
        for jj in range(first, last + 1):
            end = int(j.searchsorted(jj, side="right"))
            if end > start:
                means = lam * np.maximum((jj + 1.0) * hold - t[start:end], 0.0)
                out[start:end] = _poisson_mix(self.waiting_cdf, (jj + 1) * c - 1, means, float(means[-1]),
                                              float(means[0]))
            start = end
        return out

    def bracket(self, q: float, width: float) -> tuple[float, float]:
        """(lo, hi) with P(W ≤ lo) < q ≤ P(W ≤ hi) and hi − lo ≤ width; (0, 0) when q ≤ P(W = 0)."""
        import numpy as np
        if q <= self.no_wait:
            return 0.0, 0.0
        c, hold = self.servers, self.service_s
        # P(W ≤ jD) = P(Q ≤ (j + 1)c − 1): the interval holding the quantile, then grids inside it
        j = 0
        while _at(self.system_cdf, (j + 2) * c - 1) < q:
            j += 1
        lo, hi = j * hold, (j + 1) * hold
        while hi - lo > width:
            grid = _grid(lo, hi)
            values = self.grids.get((lo, hi))
            if values is None:
                values = self.grids[(lo, hi)] = self._cdf_ascending(grid)
            # the first grid point with P(W ≤ t) ≥ q (here and below ndarray's own searchsorted, cumsum and clip:
            # the numbers of np.searchsorted, np.cumsum and np.clip without their dispatch, ~1-3 µs a call)
            k = int(values.searchsorted(q))
            k = min(max(k, 1), BRACKET_POINTS - 1)
            lo, hi = float(grid[k - 1]), float(grid[k])
        return lo, hi

    def quantile(self, q: float) -> float:
        """Smallest t with P(W ≤ t) ≥ q, within 1e-9·D."""
        return self.bracket(q, 1e-9 * self.service_s)[1]

    def plus_uniform_quantiles(self, spread: float, qs: tuple[float, ...]) -> list[float]:
        """Quantiles of W + U·s, U ~ Uniform(0, 1) independent of W, s = spread (the rest of the running decode step
        a new request waits for): P(W + U·s ≤ y) = (1/s)·∫_{y−s}^{y} P(W ≤ t) dt."""
        if spread <= 0.0:
            return [self.quantile(q) for q in qs]
        return [self._plus_uniform(spread, q) for q in qs]

    def _plus_uniform(self, spread: float, q: float) -> float:
        import numpy as np
        # P(W ≤ y − s) ≤ P(W + U·s ≤ y) ≤ P(W ≤ y): the quantile lies in [w_q, w_q + s], w_q ∈ [lo, hi]
        lo, hi = self.bracket(q, spread / 4.0)
        start = max(0.0, lo - spread)
        h = spread / GRID
        nodes = start + h * np.arange(math.ceil((hi + spread - start) / h) + 1)
        kinks = np.arange(math.ceil(start / self.service_s), math.floor(nodes[-1] / self.service_s) + 1)
        marks = kinks * self.service_s
        # the nodes are increasing: merged with the kinks only when one is not already a node (the kink at 0 of a
        # grid starting at 0 is its first node)
        if marks.size == 0 or (marks.size == 1 and marks[0] == nodes[0]):
            t = nodes
        else:  # np.unique's values (sorted, each once) without its dispatch
            t = np.concatenate([nodes, marks])
            t.sort()
            t = t[np.concatenate([[True], t[1:] != t[:-1]])]
        values = self._cdf_ascending(t)
        # the trapezoid's running sum (np.diff's subtraction, np.concatenate's numbers, written in place)
        integral = np.empty(t.size)
        integral[0] = 0.0
        ((t[1:] - t[:-1]) * (values[1:] + values[:-1]) / 2.0).cumsum(out=integral[1:])
        ys = t[int(t.searchsorted(lo)):]  # t ≥ lo: t increases
        below = np.interp(ys - spread, t, integral, left=0.0)  # P(W ≤ t) = 0 left of max(0, lo − s)
        mixed = (np.interp(ys, t, integral) - below) / spread
        k = int(mixed.searchsorted(q))
        if k == 0:
            return float(ys[0])
        if k >= ys.size:
            return float(ys[-1])
        y0, y1, g0, g1 = ys[k - 1], ys[k], mixed[k - 1], mixed[k]
        return float(y0 + (y1 - y0) * (q - g0) / (g1 - g0)) if g1 > g0 else float(y1)


_GRID_STEPS: list[np.ndarray] = []
"""0, 1, …, BRACKET_POINTS − 1 as floats (read-only), made on first use."""


def _grid(lo: float, hi: float) -> np.ndarray:
    """np.linspace(lo, hi, BRACKET_POINTS), the same numbers (its steps times (hi − lo)/(points − 1), plus lo, the
    last point hi) without its dispatch, ~6 µs of each of a quantile's bracket rounds."""
    import numpy as np
    step = (hi - lo) / (BRACKET_POINTS - 1)
    if step == 0.0:  # linspace's own path for a zero step
        return np.linspace(lo, hi, BRACKET_POINTS)
    if not _GRID_STEPS:
        steps = np.arange(BRACKET_POINTS, dtype=float)
        steps.flags.writeable = False
        _GRID_STEPS.append(steps)
    grid = _GRID_STEPS[0] * step
    grid += lo
    grid[-1] = hi
    return grid


def _at(cdf: np.ndarray, n: int) -> float:
    if n < 0:
        return 0.0
    return float(cdf[n]) if n < cdf.size else 1.0


def _poisson_mix(cdf: np.ndarray, top: int, means: np.ndarray, mu_lo: float | None = None,
                 mu_hi: float | None = None) -> np.ndarray:
    """Σ_i P(Poisson(μ) = i)·P(X ≤ top − i) for every μ in `means` (i ≤ top); `mu_lo`, `mu_hi`: the least and
    the largest of `means` when the caller knows them (MdcWait._cdf_ascending)."""
    import numpy as np
    if means.size == 0:
        return means
    if mu_lo is None or mu_hi is None:
        mu_lo, mu_hi = float(means.min()), float(means.max())
    lo = max(0, int(mu_lo - POISSON_SD * math.sqrt(mu_lo) - 8.0))
    hi = min(top, int(mu_hi + POISSON_SD * math.sqrt(mu_hi) + 8.0))
    if hi < lo:
        return np.zeros_like(means)
    i = np.arange(lo, hi + 1, dtype=float)
    log_fact = _log_factorials(hi)[lo:hi + 1]
    safe = np.maximum(means, 1e-300)
    # exp(i·ln μ − μ − ln i!), the same operations in the same order, in one buffer
    pmf = np.multiply.outer(np.log(safe), i)
    pmf -= safe[:, None]
    pmf -= log_fact
    np.exp(pmf, out=pmf)
    if mu_lo <= 0.0:  # a zero mean is a point mass at 0
        pmf[means <= 0.0, :] = 0.0
        if lo == 0:
            pmf[means <= 0.0, 0] = 1.0
    # P(X ≤ top − i) for i = lo…hi: a reversed slice of the CDF (1 beyond its end), copied — BLAS sums a
    # negatively strided vector in another order, which would move the last bits
    if top - lo < cdf.size:
        weights = cdf[top - hi:top - lo + 1][::-1].copy()
    else:
        index = top - np.arange(lo, hi + 1)  # ≥ 0 since i ≤ top
        weights = np.where(index < cdf.size, cdf[np.minimum(index, cdf.size - 1)], 1.0)
    mixed: np.ndarray = np.minimum(np.maximum(pmf @ weights, 0.0), 1.0)  # np.clip's values, without its dispatch
    return mixed


def _log_factorials(n: int) -> np.ndarray:
    """ln k! for k = 0…n: chain_math's table, kept for the process (a running sum's prefix does not depend on how
    long it runs, so every CDF evaluation reads the same numbers)."""
    from planner.model.chain_math import log_factorials  # numpy: only the quantiles that sum Poisson terms

    return log_factorials(n + 1)


@lru_cache(maxsize=32)
def _upper_circle(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """θ_k = 2πk/n as iθ_k, e^{iθ_k} and e^{iθ_k} − 1 for k = 0…n/2, and 1, 2, …, n/2 as floats (read-only): the
    sample points of every n-point transform, the same for all queues of that size (the serving search asks for
    hundreds of queues, mostly of 128–1,024 points). iθ is kept as the product 1j·θ md_c_wait took at every queue
    (the same numbers)."""
    import numpy as np
    theta = 2.0 * np.pi * np.arange(n // 2 + 1) / n
    roots = np.exp(1j * theta)
    shifted = np.expm1(1j * theta)
    itheta = 1j * theta
    powers = np.arange(1, n // 2 + 1, dtype=float)  # np.arange(1, top)'s values (top ≤ n/2)
    for array in (itheta, roots, shifted, powers):
        array.flags.writeable = False
    return itheta, roots, shifted, powers


@lru_cache(maxsize=8192)
def fft_points(servers: int, offered_load: float) -> int:
    """Points of md_c_wait's FFTs: twice X's kept support, and Q = X + A's. Kept per queue: every bound and
    quantile of a queue asks first whether its FFT would be too large (~1,300 asks a serve-7b-chat search)."""
    top = math.ceil(MASS_DIGITS / math.log(growth_root(servers, offered_load))) + 1
    a = offered_load
    return _pow2_at_least(max(2.0 * top + 2.0, a + POISSON_SD * math.sqrt(a) + 8.0 + top))


def md_c_wait(servers: int, arrival_rate: float, service_s: float) -> MdcWait | None:
    """The M/D/c waiting-time distribution; None when unstable (a = λD ≥ c)."""
    import numpy as np
    c, a = servers, arrival_rate * service_s
    if a >= c:
        return None
    rfft, irfft = _transforms()
    eta = growth_root(c, a)
    log_eta = math.log(eta)
    top = math.ceil(MASS_DIGITS / log_eta) + 1  # X's support kept, and the ℓ_k used (both ≤ η^{−k} beyond)
    n = fft_points(c, a)
    r = math.sqrt(eta)
    # every series here has real coefficients: sample the upper half circle, transform with rfft/irfft (n is a
    # power of two: _transforms). The complex arithmetic stays in new arrays: numpy's complex multiply written
    # over one of its operands rounds some products differently (the CDFs moved in their last bits)
    itheta, roots, shifted, powers = _upper_circle(n)
    # log z = ln r + iθ on the circle, written out: np.log(z) went through libm's clog, whose |z|² − 1 for |z|
    # near 1 sums exact products sorted by qsort at every point, ~9 % of a cold serve-7b-chat search's
    # instructions (docs/internals.md 'Performance'); the quantiles move by < 1e-10 relative, far inside GRID's
    # 0.1 %, and no printed figure moves
    log_phi = -c * (math.log(r) + itheta) + a * (r * roots - 1.0)
    # log(1 − Φ) (|Φ| ≤ Φ(r) < 1 on the circle: no branch cut is crossed), conjugated, in log_phi's buffer: the
    # same operations as np.conj(np.log1p(-np.exp(log_phi))) without three temporaries
    np.exp(log_phi, out=log_phi)
    np.negative(log_phi, out=log_phi)
    np.log1p(log_phi, out=log_phi)
    np.conjugate(log_phi, out=log_phi)
    # ℓ_k r^k, 0 ≤ k < n/2 (negative k at the top)
    scaled = irfft(log_phi, n)
    ell = np.zeros(n)
    ell[1:top] = scaled[1:top] / r ** powers[:top - 1]  # r^k ≤ e^{MASS_DIGITS/2}: no overflow
    series = rfft(ell)
    np.conjugate(series, out=series)  # Σ_{k≥1} ℓ_k e^{ikθ} on the upper half of the unit circle
    x_values = np.exp(ell.sum() - series)
    x_pmf = irfft(np.conjugate(x_values), n)
    shift = x_values * np.exp(a * shifted)
    q_pmf = irfft(np.conjugate(shift, out=shift), n)
    # clip(0, 1)'s values without ndarray.clip's Python-level wrapper (numpy/_core/_methods.py)
    waiting_cdf = np.minimum(np.maximum(np.maximum.accumulate(x_pmf[:min(n, top)].cumsum()), 0.0), 1.0)
    system_cdf = np.minimum(np.maximum(np.maximum.accumulate(q_pmf.cumsum()), 0.0), 1.0)
    return MdcWait(c, arrival_rate, service_s, waiting_cdf, system_cdf)


_TRANSFORMS: list[tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray, int], np.ndarray]]] = []
"""(rfft, irfft) as md_c_wait calls them, made on first use."""


def _transforms() -> tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray, int], np.ndarray]]:
    """np.fft.rfft(x) and np.fft.irfft(x, n) for even n, from numpy 2's pocketfft ufuncs called the way those
    functions call them (rfft unscaled, irfft scaled by 1/n, into a new array): the same numbers without the
    wrappers' argument handling, ~4 µs of each of a queue's four transforms. numpy 1.x, which has no such ufuncs,
    gets the functions themselves."""
    if not _TRANSFORMS:
        import numpy as np
        try:
            from numpy.fft import _pocketfft_umath as pocketfft  # type: ignore[attr-defined]
        except ImportError:
            _TRANSFORMS.append((np.fft.rfft, np.fft.irfft))
        else:
            axes = [(0,), (), (0,)]
            forward, inverse, empty = pocketfft.rfft_n_even, pocketfft.irfft, np.empty

            def rfft(x: np.ndarray) -> np.ndarray:
                out: np.ndarray = forward(x, 1, axes=axes, out=empty(x.size // 2 + 1, dtype=complex))
                return out

            def irfft(x: np.ndarray, n: int) -> np.ndarray:
                out: np.ndarray = inverse(x, 1.0 / n, axes=axes, out=empty(n))
                return out

            _TRANSFORMS.append((rfft, irfft))
    return _TRANSFORMS[0]


QuantileKey = tuple[int, float, float, float, float, float]
"""(servers, arrival_rate, service_s, spread, q, largest): md_c_wait_plus_uniform_quantile's arguments."""
KNOWN_QUANTILES: dict[QuantileKey, float] = {}
"""Quantiles that earlier runs of this same code computed (planner/model/md_c_store.py loads them for `gpuplan
estimate`, keyed by the code's content): md_c_wait_plus_uniform_quantile takes one from here instead of computing
it, so a run whose queues are all here needs neither an FFT nor numpy, nor the no-wait shortcut's bound
(growth_root and no_wait_bound: ~1,000 queues of a serve-7b-chat search). Empty unless loaded."""
COMPUTED_QUANTILES: dict[QuantileKey, float] = {}
"""Quantiles of the FFT path this process computed, and while a store is in use (STORING) those of the no-wait
shortcut and the asymptotic tail too, for the store to keep."""


@lru_cache(maxsize=4096)
def md_c_wait_plus_uniform_quantiles(servers: int, arrival_rate: float, service_s: float, spread: float,
                                     qs: tuple[float, ...]) -> tuple[float, ...]:
    """Quantiles of W + U·s for the M/D/c wait W (md_c_wait); inf when unstable.

    A pure function of its arguments, kept for the run (lru_cache): the serving search asks for the same queue
    again where offers share a GPU configuration and where a non-generative model's batch-1 service time is the
    same on every GPU (bert-train-then-serve: 210 calls, 11 distinct). Each quantile is
    md_c_wait_plus_uniform_quantile's, with the shortcut decided on the largest q of `qs`."""
    largest = max(qs, default=0.0)
    return tuple(md_c_wait_plus_uniform_quantile(servers, arrival_rate, service_s, spread, q, largest) for q in qs)


@lru_cache(maxsize=8192)
def md_c_wait_plus_uniform_quantile(servers: int, arrival_rate: float, service_s: float, spread: float, q: float,
                                    largest: float) -> float:
    """The q-quantile of W + U·s, taking the no-wait shortcut only where it also holds for `largest` (the largest
    quantile asked of this queue together). Each quantile is computed on its own (MdcWait.plus_uniform_quantiles
    brackets each q apart), so one asked alone is the same number as when asked with others: the serving search
    decides most replica counts on the quantiles that have targets and computes the rest for the plans it keeps."""
    c, a = servers, arrival_rate * service_s
    if a >= c:
        return math.inf
    key = (servers, arrival_rate, service_s, spread, q, largest)
    known = KNOWN_QUANTILES.get(key)
    if known is not None:  # an earlier run's answer, whichever way below it took: the same number
        return known
    waits = no_wait_bound(c, a, growth_root(c, a))
    if waits < NEGLIGIBLE_WAIT and largest <= 1.0 - waits:  # nobody waits, to within 0.05 %
        value = q * spread * (1.0 + 1.0 / (1.0 - waits)) / 2.0
        if STORING[0]:
            COMPUTED_QUANTILES[key] = value
        return value
    if fft_points(c, a) > MAX_FFT_POINTS:
        gamma, delta = md_c_wait_tail(c, arrival_rate, service_s)
        value = wait_plus_uniform_quantiles(gamma, delta, spread, (q,))[0]
        if STORING[0]:
            COMPUTED_QUANTILES[key] = value
        return value
    wait = _kept_wait(servers, arrival_rate, service_s)
    assert wait is not None
    waits = 1.0 - wait.no_wait
    if waits < NEGLIGIBLE_WAIT and largest <= 1.0 - waits:
        value = q * spread * (1.0 + 1.0 / (1.0 - waits)) / 2.0
    else:
        value = wait.plus_uniform_quantiles(spread, (q,))[0]
    COMPUTED_QUANTILES[key] = value
    return value


@lru_cache(maxsize=256)
def _kept_wait(servers: int, arrival_rate: float, service_s: float) -> MdcWait | None:
    """md_c_wait, kept for the run: a queue's other quantile is often asked later (for the plan kept). Each is also
    filed by its arrivals and service time (_BY_ARRIVALS) for quantile_within_known."""
    wait = md_c_wait(servers, arrival_rate, service_s)
    if wait is not None:
        if _FILED[0] >= 256:  # as many as _kept_wait keeps: the memory stays bounded
            _BY_ARRIVALS.clear()
            _FILED[0] = 0
        _BY_ARRIVALS.setdefault((arrival_rate, service_s), {})[servers] = wait
        _FILED[0] += 1
    return wait


STORING = [False]
"""Set while the quantiles are kept between runs (planner/model/md_c_store.py, the CLI): every quantile a verdict
asks for is then computed, so that the next run finds it stored and needs neither the FFT nor numpy, and
quantile_within_known leaves its verdicts to them."""
_BY_ARRIVALS: dict[tuple[float, float], dict[int, MdcWait]] = {}
"""The distributions _kept_wait worked out, by (arrival rate, service time), then servers."""
_FILED = [0]
"""How many _BY_ARRIVALS holds."""
BOUND_STEPS = 16
"""Intervals of quantile_within_known's sums over the spread (the same as the trapezoid's, GRID)."""


def quantile_within_known(servers: int, arrival_rate: float, service_s: float, spread: float, q: float,
                          largest: float, wait: float) -> bool | None:
    """quantile_within's answer for a queue its bounds leave open, from an M/D/c distribution worked out: its own,
    computed here when no other decides (the FFT its quantile would take; the search then needs only which side of
    `wait` the quantile lies on, not the number), or another of the same arrivals and service time.

    X, the customers waiting, falls with more servers (the Lindley recursion X(s + D) = (X(s) + A − c)⁺ of the same
    arrivals is smaller at every step), so with X′ from c′ ≤ c servers P(W ≤ jD + v) = P(X + A ≤ (j + 1)c − 1) ≥
    P(X′ + A ≤ (j + 1)c − 1), and from c′ ≥ c it is ≤ (c′ = c: the queue's own CDF). P(W ≤ t) increases, so
    P(W + U·s ≤ y) = (1/s)∫_{y−s}^{y} P(W ≤ t) dt lies between its sums on BOUND_STEPS intervals at their left and
    right ends. As in quantile_within, the quantile is within `wait` when the lower sum at y = wait/(1 + SURE_MARGIN)
    reaches q + SURE_LEVEL, past it when the upper sum at (1 + SURE_MARGIN)·wait is below q − SURE_LEVEL (the CDFs
    are exact to ~1e-10, and SURE_MARGIN is ten times the 0.1 % within which the quantile is computed); None
    otherwise, and where the quantile is already known or takes no FFT (the shortcut, the tail), cheaper read."""
    if wait <= 0.0 or STORING[0] or not _takes_fft(servers, arrival_rate, service_s, largest):
        return None
    key = (servers, arrival_rate, service_s, spread, q, largest)
    if key in COMPUTED_QUANTILES or key in KNOWN_QUANTILES:
        return None
    c = servers
    filed = _BY_ARRIVALS.get((arrival_rate, service_s), {})
    own = filed.get(c)
    if own is None:
        fewer = max((n for n in filed if n < c), default=0)
        if fewer and _sum_at_least(filed[fewer], c, spread, wait / (1.0 + SURE_MARGIN), q + SURE_LEVEL):
            return True
        more = min((n for n in filed if n > c), default=0)
        if more and not _sum_at_least(filed[more], c, spread, (1.0 + SURE_MARGIN) * wait, q - SURE_LEVEL, True):
            return False
        own = _kept_wait(servers, arrival_rate, service_s)
        assert own is not None  # a < c
    waits = 1.0 - own.no_wait
    if waits < NEGLIGIBLE_WAIT and largest <= 1.0 - waits:
        return None  # the quantile is the shortcut's after the FFT: cheaper computed
    if _sum_at_least(own, c, spread, wait / (1.0 + SURE_MARGIN), q + SURE_LEVEL):
        return True
    if not _sum_at_least(own, c, spread, (1.0 + SURE_MARGIN) * wait, q - SURE_LEVEL, True):
        return False
    return None


@lru_cache(maxsize=8192)
def _takes_fft(servers: int, arrival_rate: float, service_s: float, largest: float) -> bool:
    """Whether the queue's quantiles come from its FFT (md_c_wait_plus_uniform_quantile): stable, past the
    no-wait shortcut and within MAX_FFT_POINTS. Kept per queue: the search asks quantile_within_known at every
    count its bounds leave open, most of them answered by the shortcut."""
    c, a = servers, arrival_rate * service_s
    if a >= c:
        return False
    waits = no_wait_bound(c, a, growth_root(c, a))
    return not ((waits < NEGLIGIBLE_WAIT and largest <= 1.0 - waits) or fft_points(c, a) > MAX_FFT_POINTS)


def _sum_at_least(wait: MdcWait, servers: int, spread: float, y: float, level: float, upper: bool = False
                  ) -> bool:
    """Whether (1/s)·Σ h·P(X + A ≤ (j + 1)·servers − 1) over BOUND_STEPS intervals h of [max(0, y − s), y] (X:
    `wait`'s), at each interval's left end (right end if `upper`), reaches `level`; at s = 0 the one point y."""
    import numpy as np
    if spread <= 0.0:
        return float(wait._cdf_ascending(np.array([y]), servers)[0]) >= level
    start = max(0.0, y - spread)
    width = (y - start) / BOUND_STEPS
    t = start + width * np.arange(1 if upper else 0, BOUND_STEPS + 1 if upper else BOUND_STEPS)
    return float(wait._cdf_ascending(t, servers).sum()) * width / spread >= level


SURE_MARGIN = 0.01
"""How far from a wait the bounds must place a quantile before quantile_within trusts them: ten times the 0.1 %
within which the W + U·s quantiles are computed (GRID), so the computed quantile is on the same side of the wait."""
SURE_LEVEL = 1e-6
"""How far from 1 − q the bounds on P(W > u) must be (the Poisson sums below are exact to ~1e-15)."""


WithinKey = tuple[int, float, float, float, float, float, float]
"""(servers, arrival_rate, service_s, spread, q, largest, wait): quantile_within's arguments."""
KNOWN_WITHIN: dict[WithinKey, bool | None] = {}
"""quantile_within's verdicts that earlier runs of this same code reached (planner/model/md_c_store.py loads them
with the quantiles, keyed by the code's content): a second serving estimate of a profile asks the same ~1,900 and
redid their Poisson sums (~30 % of serve-7b-chat's search). Empty unless loaded."""
COMPUTED_WITHIN: dict[WithinKey, bool | None] = {}
"""quantile_within's verdicts this process reached while a store is in use (STORING), for the store to keep."""


@lru_cache(maxsize=8192)
def quantile_within(servers: int, arrival_rate: float, service_s: float, spread: float, q: float, largest: float,
                    wait: float) -> bool | None:
    """_quantile_within's verdict, read from KNOWN_WITHIN where an earlier run reached it (a pure function of its
    arguments and of this module's code, which the store's file name holds), kept for the run."""
    key = (servers, arrival_rate, service_s, spread, q, largest, wait)
    if key in KNOWN_WITHIN:
        return KNOWN_WITHIN[key]
    verdict = _quantile_within(servers, arrival_rate, service_s, spread, q, largest, wait)
    if STORING[0]:
        COMPUTED_WITHIN[key] = verdict
    return verdict


def _quantile_within(servers: int, arrival_rate: float, service_s: float, spread: float, q: float, largest: float,
                     wait: float) -> bool | None:
    """Whether md_c_wait_plus_uniform_quantile(servers, arrival_rate, service_s, spread, q, largest) ≤ `wait`,
    decided without the FFT: True when surely within it, False when surely past it, None when not known — or when
    the quantile is not an FFT's (an unstable queue, the no-wait shortcut, the asymptotic tail), which is cheaper
    computed than bounded. The serving search asks this at every replica count it tries; most are far from their
    target either way, and only the few near it need the distribution.

    The quantile is past u = (1 + SURE_MARGIN)·wait when P(W + U·s ≤ u) ≤ P(W ≤ u)·min(1, u/s) is below q, with
    P(W ≤ u) from a lower bound on P(W > u) (wait_tail_bounds); it is within y = wait/(1 + SURE_MARGIN) when
    P(W + U·s ≤ y) ≥ max(P(W ≤ y − s), P(W = 0)·min(1, y/s)) reaches q, with upper bounds on P(W > y − s) and
    P(W > 0). SURE_MARGIN is ten times the 0.1 % within which the FFT path computes the quantile, so the computed one
    is on the same side of `wait`. A pure function of its arguments, kept for the run like the quantiles it stands
    in for (tests/test_serving_search_shortcuts.py holds it against them)."""
    c, a = servers, arrival_rate * service_s
    if wait <= 0.0 or a >= c:
        return None
    eta = growth_root(c, a)
    waits = no_wait_bound(c, a, eta)
    if (waits < NEGLIGIBLE_WAIT and largest <= 1.0 - waits) or fft_points(c, a) > MAX_FFT_POINTS:
        return None  # the quantile is the shortcut's or the tail's: no FFT to spare
    below = wait / (1.0 + SURE_MARGIN)
    # Each check below is the float expression of the full bound; its Poisson sums stop early (_settles_upper,
    # _surely_past) only once their partial sums — lower bounds, float addition of terms ≥ 0 being monotone —
    # already give the answer the full sums would, so every answer is the full bounds' (most checks fail or pass
    # within a few terms of a ~100-term sum: the sums were ~12 % of a serve-7b-chat search).
    if spread > 0.0:
        # P(W = 0) ≥ 1 − no_wait_bound (Chernoff, kept per queue), else ≥ 1 − _busy_bound (the Poisson sums)
        share = min(1.0, below / spread)
        if (1.0 - waits) * share >= q + SURE_LEVEL or \
                _settles_upper(c, arrival_rate, service_s, 0.0, share, q + SURE_LEVEL):
            return True
    if below >= spread and _chernoff_tail(c, arrival_rate, service_s, below - spread) <= 1.0 - q - SURE_LEVEL:
        return True
    above = (1.0 + SURE_MARGIN) * wait
    share = min(1.0, above / spread) if spread > 0.0 else 1.0
    if _surely_past(c, arrival_rate, service_s, above, share, q - SURE_LEVEL):
        return False
    if below >= spread and _settles_upper(c, arrival_rate, service_s, below - spread, 1.0, q + SURE_LEVEL):
        return True
    return None


def _settles_upper(servers: int, arrival_rate: float, service_s: float, u: float, share: float, level: float
                   ) -> bool:
    """(1 − _tail_upper(…, u))·share ≥ level (at u = 0 the kept _busy_bound), its sums stopped once their lower
    bounds fail it."""
    key = (servers, arrival_rate, service_s)
    if u == 0.0 and key in _BUSY:
        return (1.0 - _BUSY[key]) * share >= level
    mu, n, eta = _tail_point(servers, arrival_rate, service_s, u)
    enough = 1.0 - level / share  # past it, the check fails (verified below on the float expression)
    reach, exact = _poisson_side(mu, n - 1, True, enough)
    if exact:
        scale = _waiting_scale(mu, n, eta)
        inside, exact = _poisson_side(mu * eta, n - 1, False, (enough - reach) / scale if scale > 0.0 else math.inf)
        upper = min(1.0, reach + scale * inside + 1e-15)
    else:
        upper = min(1.0, reach + 1e-15)  # ≤ reach + waiting + 1e-15, waiting ≥ 0
    if exact:
        if u == 0.0:
            _BUSY[key] = upper
        return (1.0 - upper) * share >= level
    if (1.0 - upper) * share < level:
        return False  # the full upper bound is no less: it fails too
    upper = _busy_bound(servers, arrival_rate, service_s) if u == 0.0 else \
        _tail_upper(servers, arrival_rate, service_s, u)
    return (1.0 - upper) * share >= level


def _surely_past(servers: int, arrival_rate: float, service_s: float, u: float, share: float, level: float
                 ) -> bool:
    """(1 − wait_tail_bounds(…, u)[0])·share < level, its sums stopped once their lower bounds settle it (the
    overshoot factor's sums only when P(A ≥ n) alone does not)."""
    mu, n, eta = _tail_point(servers, arrival_rate, service_s, u)
    enough = 1.0 - level / share
    reach, exact = _poisson_side(mu, n - 1, True, enough)
    if (1.0 - reach) * share < level:
        return True  # the lower bound reach + L·waiting is no less
    if not exact:
        reach = _poisson_side(mu, n - 1, True)[0]
    weight = _overshoot_factor(servers, arrival_rate * service_s)
    scale = _waiting_scale(mu, n, eta)
    inside, exact = _poisson_side(mu * eta, n - 1, False,
                                  (enough - reach) / (weight * scale) if weight * scale > 0.0 else math.inf)
    if (1.0 - (reach + weight * (scale * inside))) * share < level:
        return True
    if exact:
        return False
    inside = _poisson_side(mu * eta, n - 1, False)[0]
    return (1.0 - (reach + weight * (scale * inside))) * share < level


_BUSY: dict[tuple[int, float, float], float] = {}
"""_busy_bound per queue, kept for the run."""


def _busy_bound(servers: int, arrival_rate: float, service_s: float) -> float:
    """An upper bound on P(W > 0) (wait_tail_bounds at 0), kept per queue."""
    key = (servers, arrival_rate, service_s)
    found = _BUSY.get(key)
    if found is None:
        found = _BUSY[key] = _tail_upper(servers, arrival_rate, service_s, 0.0)
    return found


KNOWN_BOUNDS: dict[QuantileKey, tuple[float, float]] = {}
"""quantile_bounds' pairs that earlier runs of this same code worked out (loaded as KNOWN_WITHIN is): each upper
one sums a queue's P(W > 0) bound term by term (~10 % of a second serve-7b-chat search). Empty unless loaded."""
COMPUTED_BOUNDS: dict[QuantileKey, tuple[float, float]] = {}
"""quantile_bounds' pairs this process worked out while a store is in use (STORING), for the store to keep."""


@lru_cache(maxsize=8192)
def quantile_bounds(servers: int, arrival_rate: float, service_s: float, spread: float, q: float, largest: float
                    ) -> tuple[float, float]:
    """_quantile_bounds' pair, read from KNOWN_BOUNDS where an earlier run worked it out, kept for the run."""
    key = (servers, arrival_rate, service_s, spread, q, largest)
    known = KNOWN_BOUNDS.get(key)
    if known is not None:
        return known
    pair = _quantile_bounds(servers, arrival_rate, service_s, spread, q, largest)
    if STORING[0]:
        COMPUTED_BOUNDS[key] = pair
    return pair


def _quantile_bounds(servers: int, arrival_rate: float, service_s: float, spread: float, q: float, largest: float
                     ) -> tuple[float, float]:
    """(lo, hi) around md_c_wait_plus_uniform_quantile(servers, arrival_rate, service_s, spread, q, largest) without
    the FFT: the number itself where it takes none (an unstable queue, the no-wait shortcut, the asymptotic tail);
    else W + U·s ≥ U·s puts the quantile at q·s or above, and P(W + U·s > y) ≤ ε + (1 − y/s) for y ≤ s, ε ≥ P(W > 0)
    (wait_tail_bounds at 0), at s·(q + ε) or below when q + ε ≤ 1 (hi is inf otherwise); each widened by
    SURE_MARGIN, ten times the 0.1 % within which the quantile is computed. The serving search's ranking reads the
    TTFT p95 of configurations tied on instances and GPUs: those these bounds put above another's need no FFT."""
    c, a = servers, arrival_rate * service_s
    if a >= c or fft_points(c, a) > MAX_FFT_POINTS:
        exact = md_c_wait_plus_uniform_quantile(servers, arrival_rate, service_s, spread, q, largest)
        return exact, exact
    waits = no_wait_bound(c, a, growth_root(c, a))
    if waits < NEGLIGIBLE_WAIT and largest <= 1.0 - waits:
        exact = md_c_wait_plus_uniform_quantile(servers, arrival_rate, service_s, spread, q, largest)
        return exact, exact
    lo = q * spread / (1.0 + SURE_MARGIN)
    busy = _busy_bound(c, arrival_rate, service_s)
    hi = spread * (q + busy) * (1.0 + SURE_MARGIN) if q + busy <= 1.0 and spread > 0.0 else math.inf
    return lo, hi


def wait_tail_bounds(servers: int, arrival_rate: float, service_s: float, u: float) -> tuple[float, float]:
    """(lower, upper) bounds on P(W > u), u ≥ 0, of a stable queue, in pure Python.

    With u = jD + v (0 ≤ v < D), n = (j + 1)·c and A ~ Poisson(μ = λ(D − v)), Crommelin's formula gives
    P(W > u) = P(X + A ≥ n) = P(A ≥ n) + Σ_{k<n} P(A = k)·P(X ≥ n − k). X is the all-time maximum of the walk with
    steps ξ = A′ − c, A′ ~ Poisson(a); tilting by η^ξ (E η^ξ = 1) makes A′ ~ Poisson(aη) and the walk drift upwards,
    and P(X ≥ m) = η^{−m}·E_η[η^{−O}] for m ≥ 1, O ≥ 0 the overshoot past m (Asmussen 2003, "Applied Probability and
    Queues", XIII.5: Lundberg's inequality and Cramér–Lundberg). Kingman's bound takes E_η[η^{−O}] ≤ 1; below, the
    overshoot of a step that must climb d ≥ 1 is ξ − d given ξ ≥ d, stochastically largest at d = 1 (a Poisson law is
    log-concave, so its residuals shrink as d grows), so E_η[η^{−O}] ≥ L = E_η[η^{−(ξ−1)} | ξ ≥ 1]
    = η·P(A′ ≥ c + 1)/P(Poisson(aη) ≥ c + 1). And Σ_{k<n} P(A = k)·η^{k−n} = η^{−n}·e^{μ(η−1)}·P(Poisson(μη) ≤ n − 1),
    so both bounds are four Poisson sums (L's two kept per queue)."""
    reach, waiting = _tail_terms(servers, arrival_rate, service_s, u)
    return (reach + _overshoot_factor(servers, arrival_rate * service_s) * waiting,
            min(1.0, reach + waiting + 1e-15))


def _tail_upper(servers: int, arrival_rate: float, service_s: float, u: float) -> float:
    """wait_tail_bounds' upper bound alone (without L's sums)."""
    reach, waiting = _tail_terms(servers, arrival_rate, service_s, u)
    return min(1.0, reach + waiting + 1e-15)


def _tail_terms(servers: int, arrival_rate: float, service_s: float, u: float) -> tuple[float, float]:
    """P(A ≥ n) and Σ_{k<n} P(A = k)·η^{k−n} of wait_tail_bounds."""
    mu, n, eta = _tail_point(servers, arrival_rate, service_s, u)
    reach = _poisson_side(mu, n - 1, True)[0]
    return reach, _waiting_scale(mu, n, eta) * _poisson_side(mu * eta, n - 1, False)[0]


def _tail_point(servers: int, arrival_rate: float, service_s: float, u: float) -> tuple[float, int, float]:
    """(μ, n, η) of wait_tail_bounds at u = jD + v: μ = λ(D − v), n = (j + 1)·c."""
    hold = service_s
    eta = growth_root(servers, arrival_rate * hold)
    j = math.floor(u / hold)
    return arrival_rate * (hold - (u - j * hold)), (j + 1) * servers, eta


def _waiting_scale(mu: float, n: int, eta: float) -> float:
    """η^{−n}·e^{μ(η−1)} (≤ 1: c·ln η = a(η − 1) and μ ≤ a, n ≥ c)."""
    return math.exp(mu * (eta - 1.0) - n * math.log(eta))


def _chernoff_tail(servers: int, arrival_rate: float, service_s: float, u: float) -> float:
    """wait_tail_bounds' upper bound with each Poisson sum replaced by its Chernoff bound (P(Poisson(m) ≥ k) ≤
    e^{−m·h(k/m)} for k > m, P(Poisson(m) ≤ k) ≤ e^{−m·h(k/m)} for k < m, h(x) = x·ln x − x + 1; 1 otherwise): looser,
    in closed form, enough where the tail is far below what a target allows."""
    c, hold = servers, service_s
    eta = growth_root(c, arrival_rate * hold)
    j = math.floor(u / hold)
    mu = arrival_rate * (hold - (u - j * hold))
    n = (j + 1) * c
    reach = math.exp(-_chernoff_rate(mu, n)) if n > mu else 1.0
    tilted = mu * eta
    inside = math.exp(-_chernoff_rate(tilted, n - 1)) if n - 1 < tilted else 1.0
    return reach + math.exp(mu * (eta - 1.0) - n * math.log(eta)) * inside


def _chernoff_rate(mean: float, k: float) -> float:
    """m·h(k/m), h(x) = x·ln x − x + 1 (0 at k = 0: h(0) = 1, the rate is m)."""
    if mean <= 0.0:
        return math.inf
    if k <= 0.0:
        return mean
    return k * math.log(k / mean) - k + mean


@lru_cache(maxsize=4096)
def _overshoot_factor(servers: int, offered_load: float) -> float:
    """L = η·P(Poisson(a) ≥ c + 1)/P(Poisson(aη) ≥ c + 1) of wait_tail_bounds (aη > c: the tilted walk climbs)."""
    eta = growth_root(servers, offered_load)
    return eta * _poisson_split(offered_load, servers)[1] / _poisson_split(offered_load * eta, servers)[1]


def _poisson_split(mean: float, k: int) -> tuple[float, float]:
    """(P(A ≤ k), P(A > k)) for A ~ Poisson(mean): the side away from the mean summed term by term outwards from k
    (each term the one before times i/μ or μ/i, stopping once below 1e-18 of the sum), the other side 1 less it;
    terms beyond 12 standard deviations (+12) of the mean, under 1e-30 in all, are left out."""
    total, above, _ = _poisson_sum(mean, k, math.inf)
    return (1.0 - total, total) if above else (total, 1.0 - total)


def _poisson_side(mean: float, k: int, above: bool, enough: float = math.inf) -> tuple[float, bool]:
    """(P(A > k) if `above` else P(A ≤ k), True): _poisson_split's number, bit for bit — unless that is the side
    it sums term by term and the running sum reaches `enough`: then (that partial sum, False), a lower bound."""
    total, summed_above, exact = _poisson_sum(mean, k, enough if above == _sums_above(mean, k) else math.inf)
    return (total, exact) if summed_above == above else (1.0 - total, True)


def _sums_above(mean: float, k: int) -> bool:
    """Whether _poisson_sum sums P(A > k) (else P(A ≤ k))."""
    return not (k < 0 or mean <= 0.0 or k < mean)


def _poisson_sum(mean: float, k: int, enough: float) -> tuple[float, bool, bool]:
    """(the side of _poisson_split summed term by term, whether it is P(A > k), whether whole): the sum stops
    early, not whole, once it reaches `enough`."""
    if k < 0:
        return 0.0, False, True
    if mean <= 0.0:
        return 1.0, False, True
    reach = 12.0 * math.sqrt(mean) + 12.0
    if k < mean - reach:
        return 0.0, False, True
    if k > mean + reach:
        return 0.0, True, True
    if k < mean:  # P(A ≤ k): from k downwards
        i = k
        term = math.exp(i * math.log(mean) - mean - math.lgamma(i + 1.0))
        total = 0.0
        while i >= 0:
            total += term
            if term < 1e-18 * total or total == 0.0:
                break
            if total >= enough:
                return total, False, False
            term *= i / mean
            i -= 1
        return total, False, True
    i = k + 1  # P(A > k): from k + 1 upwards
    term = math.exp(i * math.log(mean) - mean - math.lgamma(i + 1.0))
    total = 0.0
    while True:
        total += term
        if term < 1e-18 * total or total == 0.0:
            break
        if total >= enough:
            return total, True, False
        i += 1
        term *= mean / i
    return total, True, True


def clear_memos() -> None:
    """Forget the kept quantiles and tables, the queue's and the serving search's Poisson ones, and any quantiles
    loaded from the store (benchmarks time cold searches with it), and that a store is in use (STORING)."""
    KNOWN_QUANTILES.clear()
    COMPUTED_QUANTILES.clear()
    KNOWN_WITHIN.clear()
    COMPUTED_WITHIN.clear()
    KNOWN_BOUNDS.clear()
    COMPUTED_BOUNDS.clear()
    md_c_wait_plus_uniform_quantiles.cache_clear()
    poisson_quantiles.cache_clear()  # the TPOT quantiles the serving search keeps beside these
    queueing.KNOWN_POISSON.clear()
    queueing.COMPUTED_POISSON.clear()
    queueing.POISSON_STORING[0] = False
    md_c_wait_plus_uniform_quantile.cache_clear()
    quantile_within.cache_clear()
    quantile_bounds.cache_clear()
    _BUSY.clear()
    _overshoot_factor.cache_clear()
    _kept_wait.cache_clear()
    _BY_ARRIVALS.clear()
    _FILED[0] = 0
    _takes_fft.cache_clear()
    STORING[0] = False
    growth_root.cache_clear()
    fft_points.cache_clear()
    _upper_circle.cache_clear()
