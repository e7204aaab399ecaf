"""Queueing: Erlang C and M/M/c waiting-time percentiles, the asymptotic M/D/c tail γ·e^{−δt}, Poisson quantiles.
Pure Python (no numpy). The M/D/c waits the serving plans use are exact (planner/model/md_c.py); the tail form here
is its fallback only where the exact computation would need more than md_c.MAX_FFT_POINTS points (hundreds of
thousands of slots within a few standard deviations of their load)."""
from __future__ import annotations

import math
from functools import lru_cache

WINDOW_SD = 12.0
"""The Erlang B recursion starts this many standard deviations (√a) below the offered load a."""
RECURSION_STEPS = 4096
"""Longest Erlang B recursion run (~1 ms in CPython); past it, C(c, a) comes from the Poisson distribution
(`_erlang_c_poisson`), whose cost does not grow with c: a million servers would otherwise take ~40 ms a call."""


def erlang_c(servers: int, offered_load: float) -> float:
    """Probability that an arrival waits, C(c, a), for c servers and offered load a = λ/μ (1.0 when a ≥ c).

    Erlang B by its recursion B(k) = a·B(k−1) / (k + a·B(k−1)); C = c·B / (c − a·(1 − B)). The recursion starts
    from B = 1 at k₀ = a − 12√a instead of k = 0: B ≤ 1 overestimates, the iterates stay above the true values,
    where B(k) ≥ 1 − k/a the map contracts errors by k/a per step (a product of e^{−72} by k = a), and beyond a it
    never grows relative errors. So the cost is c − a + 12√a steps for any c, at full double precision.
    """
    if offered_load <= 0:
        return 0.0
    if offered_load >= servers:
        return 1.0
    start = max(0, int(offered_load - WINDOW_SD * math.sqrt(offered_load)))
    if servers - start > RECURSION_STEPS:
        return _erlang_c_poisson(servers, offered_load)
    erlang_b = 1.0
    for k in range(start + 1, servers + 1):
        erlang_b = offered_load * erlang_b / (k + offered_load * erlang_b)
        if erlang_b < 1e-300:  # past the load B only falls: nobody waits
            return 0.0
    return servers * erlang_b / (servers - offered_load * (1.0 - erlang_b))


def _erlang_c_poisson(servers: int, offered_load: float) -> float:
    """C(c, a) for large c through Erlang B = P(N = c)/P(N ≤ c), N ~ Poisson(a).

    P(N ≤ c) is scipy's regularised incomplete gamma (`pdtr`); ln P(N = c) is written as
    c·(ln(1 + t) − t) − ½·ln(2πc) − stirlerr(c) with t = (a − c)/c (Loader 2000, "Fast and accurate computation of
    binomial probabilities"), which keeps full precision where c·ln a − a − ln c! would cancel to ~c·1e-16.
    stirlerr(c) = ln c! − (c + ½)·ln c + c − ½·ln 2π ≈ 1/(12c) − 1/(360c³) (Stirling's series; c > 4096 here).
    """
    from scipy.special import pdtr

    c, a = servers, offered_load
    stirlerr = 1.0 / (12.0 * c) - 1.0 / (360.0 * c ** 3)
    t = (a - c) / c
    log_pmf = c * (math.log1p(t) - t) - 0.5 * math.log(2.0 * math.pi * c) - stirlerr
    if log_pmf < -700.0:  # B underflows: nobody waits (as in the recursion)
        return 0.0
    erlang_b = math.exp(log_pmf) / float(pdtr(c, a))
    return c * erlang_b / (c - a * (1.0 - erlang_b))


def wait_quantile(servers: int, arrival_rate: float, service_rate: float, q: float) -> float:
    """The q-quantile of the waiting time in M/M/c: P(W > t) = C·exp(−(cμ − λ)t); inf when unstable."""
    return wait_quantiles(servers, arrival_rate, service_rate, (q,))[0]


def wait_quantiles(servers: int, arrival_rate: float, service_rate: float, qs: tuple[float, ...]) -> list[float]:
    """Several waiting-time quantiles of one M/M/c queue, computing C(c, a) once."""
    capacity = servers * service_rate
    if arrival_rate >= capacity:
        return [math.inf for _ in qs]
    waiting = erlang_c(servers, arrival_rate / service_rate)
    return [0.0 if waiting <= 1.0 - q else math.log(waiting / (1.0 - q)) / (capacity - arrival_rate) for q in qs]


def md_c_decay_rate(servers: int, arrival_rate: float, service_s: float) -> float:
    """Asymptotic decay rate δ of P(W > t) in M/D/c: the positive root of c·ln(1 + δ/λ) = δ·D.

    M/D/c waiting times are those of E_c/D/1 (every c-th arrival goes to the same server; Crommelin 1932), whose
    tail decays as e^{−δt} with E[e^{δ(D − A)}] = 1 for A ~ Gamma(c, λ) (Cramér–Lundberg; Tijms 2003, §5.4).
    """
    c, lam, hold = float(servers), arrival_rate, service_s

    def g(d: float) -> float:
        return c * math.log1p(d / lam) - d * hold

    # g is concave, g(0) = 0, g'(0) = c/λ − D > 0 when stable; small-δ expansion gives δ ≈ 2λ(1 − ρ)
    lo, hi = 0.0, max(2.0 * lam * (1.0 - lam * hold / c), 1e-300)
    while g(hi) > 0:
        lo, hi = hi, hi * 2.0
    delta = hi
    for _ in range(60):  # Newton from the right (where g < 0) stays in the bracket for a concave g
        value = g(delta)
        if abs(value) <= 1e-13 * c * hold * lam:
            break
        if value > 0:
            lo = delta
        else:
            hi = delta
        slope = c / (lam + delta) - hold
        step = delta - value / slope if slope < 0 else (lo + hi) / 2
        delta = step if lo < step < hi else (lo + hi) / 2
        if hi - lo < 1e-12 * hi:
            break
    return delta


def md_c_wait_tail(servers: int, arrival_rate: float, service_s: float) -> tuple[float, float]:
    """(γ, δ) of the M/D/c waiting-time tail P(W > t) ≈ γ·e^{−δt} (Poisson arrivals, c servers, service D).

    γ: the M/M/c probability of waiting C(c, a) times M/D/1's Cramér–Lundberg constant over its P(W > 0) = ρ,
    (1−ρ)/(ρ(ρ·e^{δ₁D} − 1)) (Tijms 2003, §5.4); δ: the exact asymptotic decay (md_c_decay_rate), or slower
    where that matches Cosmetatos' M/D/c mean wait E[W] ≈ ½·(1 + (1−ρ)(c−1)(√(4+5c) − 2)/(16ρc))·E[W_M/M/c]
    (Cosmetatos 1975): δ = min(δ_asymptotic, γ/E[W]). Unstable (a ≥ c): (1, 0).
    """
    load = arrival_rate * service_s
    if load >= servers:
        return 1.0, 0.0
    if load <= 0:
        return 0.0, math.inf
    rho = load / servers
    delta_1 = md_c_decay_rate(1, rho / service_s, service_s)
    shape = (1.0 - rho) / (rho * (rho * math.exp(delta_1 * service_s) - 1.0))
    # C ≤ B/(1 − ρ), B ≤ P(N ≥ c)/P(N ≤ c) ≤ 2·e^{−(c−a)²/(2c)} (Poisson tail bound): skip C when γ < 1e-12
    if 2.0 * math.exp(-(servers - load) ** 2 / (2.0 * servers)) / (1.0 - rho) * shape < 1e-12:
        return 0.0, math.inf
    waiting = erlang_c(servers, load)
    gamma = waiting * shape
    mean = 0.5 * (1.0 + (1.0 - rho) * (servers - 1) * (math.sqrt(4.0 + 5.0 * servers) - 2.0)
                  / (16.0 * rho * servers)) * waiting * service_s / (servers - load)
    delta = min(md_c_decay_rate(servers, arrival_rate, service_s), gamma / mean) if mean > 0 else math.inf
    return min(gamma, 1.0), delta


def wait_plus_uniform_quantiles(gamma: float, delta: float, spread: float, qs: tuple[float, ...]) -> list[float]:
    """Quantiles of W + U·s for W with P(W > t) = γ·e^{−δt} and U ~ Uniform(0, 1) independent, s = spread.

    P(W + U·s > y) = (1 − y/s) + γ(1 − e^{−δy})/(δs) for y ≤ s, and γ·e^{−δy}(e^{δs} − 1)/(δs) beyond;
    each quantile by Newton's method inside a bisection bracket (the tail falls with y).
    """
    if delta == 0.0:
        return [math.inf for _ in qs]
    if spread <= 0.0:
        return [0.0 if gamma <= 1.0 - q else math.log(gamma / (1.0 - q)) / delta for q in qs]

    if gamma <= 0.0 or delta == math.inf:
        return [q * spread for q in qs]
    scale = math.log(math.expm1(delta * spread) / (delta * spread)) if delta * spread < 700 else math.inf

    def tail_and_slope(y: float) -> tuple[float, float]:
        if y <= spread:
            decay = math.exp(-delta * y)
            return (1.0 - y / spread) + gamma * (1.0 - decay) / (delta * spread), (gamma * decay - 1.0) / spread
        value = gamma * math.exp(-delta * y + scale)
        return value, -delta * value

    out = []
    for q in qs:
        target = 1.0 - q
        lo, hi = 0.0, spread
        while tail_and_slope(hi)[0] > target:
            lo, hi = hi, hi * 2.0
        y = (lo + hi) / 2
        for _ in range(100):  # Newton, kept inside the bracket by bisection
            value, slope = tail_and_slope(y)
            if abs(value - target) <= 1e-9 * target or hi - lo <= 1e-9 * hi:
                break
            if value > target:
                lo = y
            else:
                hi = y
            step = y - (value - target) / slope if slope < 0 else (lo + hi) / 2
            y = step if lo < step < hi else (lo + hi) / 2
        out.append(y)
    return out


def poisson_quantile(mean: float, q: float, cap: int) -> int:
    """Smallest k with P(Poisson(mean) ≤ k) ≥ q, at most `cap` (pure Python: the mean is at most a batch size).
    The sum starts 40 standard deviations below the mean, where the mass left out is under 1e-300 (and e^−mean
    would underflow for a mean over ~700)."""
    return poisson_quantiles(mean, (q,), cap)[0]


PoissonKey = tuple[float, tuple[float, ...], int]
"""(mean, qs, cap): poisson_quantiles' arguments."""
KNOWN_POISSON: dict[PoissonKey, tuple[int, ...]] = {}
"""poisson_quantiles' answers that earlier runs of this same code worked out (planner/model/md_c_store.py loads them
with the M/D/c quantiles, keyed by this module's content): a second serving estimate of a profile asks the same ~900
(serve-7b-chat), each a pass over the distribution. Empty unless loaded."""
COMPUTED_POISSON: dict[PoissonKey, tuple[int, ...]] = {}
"""poisson_quantiles' answers this process worked out while a store is in use (POISSON_STORING), for it to keep."""
POISSON_STORING = [False]
"""Set while the answers are kept between runs (md_c_store.load)."""


@lru_cache(maxsize=16384)
def poisson_quantiles(mean: float, qs: tuple[float, ...], cap: int) -> tuple[int, ...]:
    """poisson_quantile(mean, q, cap) for every q of `qs`, in one pass over the distribution (the same running sum,
    so the same answers as one pass per q): the serving search asks for p50 and p95 of every configuration it
    sizes, most twice (whether a replica count meets the targets, then the latency of the count kept); a pure
    function of its arguments, kept for the run, and read from KNOWN_POISSON where an earlier run worked it out.
    _quick_poisson_quantiles answers first where it is sure to give the same answers."""
    key = (mean, qs, cap)
    known = KNOWN_POISSON.get(key)
    if known is not None:
        return known
    found = _poisson_quantiles(mean, qs, cap)
    if POISSON_STORING[0]:
        COMPUTED_POISSON[key] = found
    return found


def _poisson_quantiles(mean: float, qs: tuple[float, ...], cap: int) -> tuple[int, ...]:
    if mean <= 0.0 or cap <= 0:
        return tuple(0 for _ in qs)
    order = sorted(range(len(qs)), key=lambda i: qs[i])
    reached = [qs[i] - 1e-12 for i in order]  # the thresholds the running sum must reach, ascending
    out = [cap] * len(qs)
    if not order:
        return ()
    if _quick_poisson_quantiles(mean, order, reached, out, cap):
        return tuple(out)
    out = [cap] * len(qs)
    done, target = 0, reached[0]
    start = max(0, int(mean - 40.0 * math.sqrt(mean)))
    log_mean = math.log(mean)
    logs = _logs_to(cap)  # math.log(k + 1) from a table: the same numbers, without a call per term
    log_pmf, cdf = start * log_mean - mean - math.lgamma(start + 1), 0.0
    for k in range(start, cap):
        cdf += math.exp(log_pmf)
        if cdf >= target:
            while done < len(order) and cdf >= reached[done]:
                out[order[done]] = k
                done += 1
            if done == len(order):
                break
            target = reached[done]
        log_pmf += log_mean - logs[k + 1]
    return tuple(out)


QUICK_MARGIN = 1e-8
"""How far from a threshold _quick_poisson_quantiles' running sum must be, on both sides of its crossing, for its
answer to be poisson_quantiles' own: the two sums differ by their rounding (≲ 1e-11: a term's log summed in ≤ 4,096
steps, or a product of as many ratios) and the mass left below the start (< 3e-11: QUICK_START_SD)."""
QUICK_START_SD = 7.0
"""_quick_poisson_quantiles starts this many standard deviations below the mean: the mass below is at most
e^{−μ·h(k/μ)} (Chernoff, h(x) = x·ln x − x + 1 ≥ (1 − x)²/2 for x ≤ 1), e^{−24.5} < 3e-11, far inside QUICK_MARGIN.
(It started at 10 standard deviations + 10: ~30 % more terms, ~1,400 such passes a serve-7b-chat search.)"""


def _quick_poisson_quantiles(mean: float, order: list[int], reached: list[float], out: list[int], cap: int) -> bool:
    """poisson_quantiles' pass with each term the one before times mean/(k + 1) (no exp per term), from
    QUICK_START_SD standard deviations below the mean; fills `out` and returns True only where every crossing is clear of
    its threshold by QUICK_MARGIN on both sides, so the loop that sums exp(log pmf) from 40 standard deviations
    below crosses at the same k (both sums increase)."""
    start = max(0, int(mean - QUICK_START_SD * math.sqrt(mean)))
    pmf = math.exp(start * math.log(mean) - mean - math.lgamma(start + 1))
    done, target, cdf = 0, reached[0], 0.0
    for k in range(start, cap):
        before = cdf
        cdf += pmf
        if cdf >= target:
            while done < len(order) and cdf >= reached[done]:
                if cdf - reached[done] < QUICK_MARGIN or reached[done] - before < QUICK_MARGIN:
                    return False
                out[order[done]] = k
                done += 1
            if done == len(order):
                return True
            target = reached[done]
        pmf *= mean / (k + 1)
    return cdf < target - QUICK_MARGIN  # the cap: not reached, and clearly so


SURE_QUANTILE_MARGIN = 1e-8
"""How far a Chernoff bound must put P(Poisson(mean) ≤ k) from q for poisson_quantile_within to answer: the sums of
poisson_quantiles are within ~1e-11 of the true distribution (QUICK_MARGIN's rounding and truncation)."""


def poisson_quantile_within(mean: float, q: float, cap: int, k: int) -> bool | None:
    """Whether poisson_quantiles(mean, qs, cap)'s q-quantile is ≤ k, decided by Chernoff bounds without summing
    the distribution (None: not sure). P(Poisson(m) > k) ≤ e^{−m·h((k + 1)/m)} for k + 1 > m and
    P(Poisson(m) ≤ k) ≤ e^{−m·h(k/m)} for k < m, h(x) = x·ln x − x + 1 (0·ln 0 = 0); an answer is given only where
    the bound clears q by SURE_QUANTILE_MARGIN, far more than the sums' error, so it is the sums' answer. The
    serving search asks this of the TPOT percentiles at most replica counts it tries, where only a target's side
    matters, not the quantile (~1,400 passes over the distribution a serve-7b-chat search)."""
    if k >= cap:
        return True  # the quantile is at most the cap
    if k < 0:
        return False
    if mean <= 0.0:
        return True  # a point mass at 0
    if k + 1 > mean and math.exp(-_poisson_rate(mean, k + 1)) <= 1.0 - q - SURE_QUANTILE_MARGIN:
        return True  # P(≤ k) ≥ q + margin: the running sum crosses q at k or before
    if k < mean and math.exp(-_poisson_rate(mean, k)) < q - SURE_QUANTILE_MARGIN:
        return False  # P(≤ k) < q − margin: it crosses after k (and k < cap)
    return None


def _poisson_rate(mean: float, k: float) -> float:
    """m·h(k/m) = k·ln(k/m) − k + m (m at k = 0)."""
    return mean if k <= 0 else k * math.log(k / mean) - k + mean


def _logs_to(n: int) -> tuple[float, ...]:
    """math.log(k) for k = 1…n at index k (index 0 unused), for the smallest power of two ≥ n: one table serves
    every batch cap of a search (kept per power of two, not per cap: serve-7b-chat asks for 300 caps of 10 sizes)."""
    return _log_table(1 << max(6, (n - 1).bit_length()))


@lru_cache(maxsize=8)
def _log_table(size: int) -> tuple[float, ...]:
    return (0.0, *(math.log(k) for k in range(1, size + 1)))
