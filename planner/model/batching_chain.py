"""The stationary chains of dynamic batching (planner/model/dynamic_batching.py describes the system): BatchingChain,
exact in closed form while no batch reaches its limit, LeftoverChain, which follows the requests a full batch
leaves behind, and FillingChain, which samples several replicas' chain with full batches; their latency cdfs and
Percentiles (model/percentile.py). numpy: imported only by runs that size
dynamic batching (dynamic_batching.batch_percentiles)."""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from planner.model.chain_math import EDGE, log_factorials, poisson, solve
from planner.model.chain_scope import KEPT, LEFTOVER_LIMIT, MULTI_REPLICA_LOAD, TAIL_SIGMAS, followed_past, reach
from planner.model.filling_chain import filling_sample
from planner.model.pair_chain import FINE, GRID as PAIR_GRID, SPAN_TAIL, pair_refined
from planner.model.percentile import Percentile
from planner.model.sampled_chain import sampled_stationary

WAITING_SHARE = 0.01
"""Below MULTI_REPLICA_LOAD, the share of the one-server chain's closes that wait for a replica (r > T) above which
three or more replicas are sampled (model/sampled_chain.py): the one-server chain places R wrong (S(b)/c, where a
replica is often free at light load and frees unevenly at heavy), and R enters the latency only at those closes;
p99, the highest percentile a plan reports, leaves 1 % of requests. With bert's 10 ms delay its closes that wait
are ≤ 0.5 % up to 30 % of capacity and 0.4–22 % at 50–60 % (where it held within 6 % too); with no delay every close
waits (r = S(b)/c > 0), and it was +9 to +24 % p99 at 1 % of capacity and −5 to −72 % p95 at 20–50 %
(benchmarks/prototypes/many_replicas_no_delay.py)."""
LEFT_OUT = 1e-7
"""Stationary weight of the least likely batch sizes left out of the latency's mixture (a percentile moves by at
most the cdf's change, ≤ this, far below TOLERANCE's effect)."""
MIXTURE_SIGMAS = 6.0
"""The mixture's request counts reach this many standard deviations (and as many requests) beyond the Poisson means
of the shortest and longest windows: the mass left out is below 1e-8."""
CDF_TERMS = 4096
"""A Percentile refinement evaluates the cdf at up to 31 points at once (narrowing its interval 32-fold): as many as
keep points × states × request counts within this (small chains cost numpy's per-call overhead, long ones their
arithmetic, where bisection's one point a step does the least work)."""


class Chain:
    """A dynamic-batching system's stationary latency distribution: its cdf over requests, bounds, and percentiles
    worked out as far as a comparison needs (Percentile). Subclasses: BatchingChain (no batch reaches its limit),
    LeftoverChain (batches reach the limit and leave requests behind), FillingChain (sampled where they do, on two
    or more replicas past MULTI_REPLICA_LOAD and below it where more than WAITING_SHARE of the one-server
    chain's closes wait for a replica: _made)."""

    __slots__ = ("rate", "delay", "limit", "top", "open", "service", "percentiles", "points")
    rate: float
    delay: float
    limit: int
    top: int
    open: bool  # no batch limit from `top` up changes it
    service: float  # the shortest a request can take
    percentiles: dict[float, Percentile]
    points: int  # cdf points per refinement

    def cdfs(self, xs: np.ndarray) -> np.ndarray:
        """P(latency ≤ x) at each of `xs`, over requests."""
        raise NotImplementedError

    def bounds(self) -> tuple[float, float]:
        """An interval that holds every latency."""
        raise NotImplementedError

    def cdf(self, x: float) -> float:
        """P(latency ≤ x), over requests."""
        return float(self.cdfs(np.array([x]))[0])

    def values(self, qs: list[float]) -> list[float]:
        """The percentiles at `qs`, worked out together: each refinement of each is its own (Percentile.step), with
        the cdf evaluated at all their points in one pass."""
        wanted = [self.percentile(q) for q in qs]
        while True:
            active = [p for p in wanted if p.open()]
            if not active:
                return [p.high for p in wanted]
            grids = [p.grid() for p in active]
            cdf = self.cdfs(np.concatenate(grids))
            at = 0
            for p, points in zip(active, grids):
                p.narrow(points, cdf[at:at + points.size])
                at += points.size

    def percentile(self, q: float) -> Percentile:
        """The q-quantile as a Percentile (one per chain and q)."""
        found = self.percentiles.get(q)
        if found is None:
            lo, hi = self.bounds()
            found = self.percentiles[q] = Percentile(lo, hi, self.cdf, q, self.cdfs, self.points)
        return found


class BatchingChain(Chain):
    """The stationary state of dynamic batching at one rate on `replicas` replicas (module docstring): for each batch
    size b at a close, its probability and the time r from that close until a replica frees; the latency's cdf and
    quantiles follow. `top`: the largest batch size followed; below the batch limit, no size above it has any
    weight, so the same chain holds for every limit ≥ top (`open`)."""

    __slots__ = ("weight", "r", "atom", "k", "size", "others", "served", "p_delay", "mean_size", "_log_factorial",
                 "_cont")

    def __init__(self, rate: float, delay: float, limit: int, top: int, service_of: Callable[[float], float],
                 weight: np.ndarray, r: np.ndarray) -> None:
        self.rate, self.delay, self.limit, self.top = rate, delay, limit, top
        self.service = service_of(1.0)  # the shortest a request can take
        self.open = top < limit
        # the latency mixture leaves out the least likely batch sizes, LEFT_OUT of the weight in all
        keep = _kept(weight)
        self.weight, self.r = weight[keep], r[keep]
        lam, top = rate, self.top
        self._log_factorial = lf = log_factorials(top + 2)
        # the requests a batch gathers: Pois(λ·D) with D from T to the longest r kept, to MIXTURE_SIGMAS either side
        self.k = k = np.arange(*_mixture_counts(lam, delay, top, float(self.r.max(initial=0.0))))
        self.size = np.minimum(k + 1, limit)
        self.others = (self.size - 1).astype(float)
        self.served = np.array([service_of(float(b)) for b in self.size.tolist()])
        self.p_delay = poisson(k, lam * delay, lf)
        late = np.maximum(self.r - delay, 0.0)
        # per state: the probability that the first request comes after the replica frees (D = T)
        atom = np.exp(-lam * late)
        self.atom = float(self.weight @ atom)
        cont = self.r > delay
        w, rc, ac = self.weight[cont], self.r[cont], atom[cont]
        # the states where D can exceed T: their weight, r, e^{−λ(r−T)} and the pmfs the cdf subtracts
        at_delay1 = ac[:, None] * poisson(k + 1, lam * delay, lf)[None, :]
        at_r1 = poisson(k + 1, lam * rc[:, None], lf)
        at_r0 = poisson(k, lam * rc[:, None], lf)
        # cdfs' constant operands, made once: the same arrays (and floats) it would make on every call
        k1 = k + 1
        self._cont = (w, rc, at_delay1, at_r0, rc[None, :, None], -lam * rc[None, :, None], k1, lf[k1], lf[k],
                      k > 0, np.maximum(k, 1), 1.0 + self.others)
        self.mean_size = float(self.atom * (self.p_delay @ self.size) + w @ ((at_r1 - at_delay1) @ self.size))
        self.percentiles: dict[float, Percentile] = {}
        self.points = max(1, min(31, CDF_TERMS // max(1, w.size * k.size)))

    def cdfs(self, xs: np.ndarray) -> np.ndarray:
        """cdf at each of `xs` (one pass: the search's bisection asks for several points at once)."""
        lam, delay, k, others, served = self.rate, self.delay, self.k, self.others, self.served
        z = xs[:, None] - served[None, :]  # the wait that leaves room for the batch's service, per x and k
        share = np.minimum(np.maximum(z / delay, 0.0), 1.0) if delay > 0.0 else (z >= 0.0).astype(float)
        total = self.atom * (((z >= delay) + others * share) @ self.p_delay)
        w, rc, at_delay1, at_r0, rc3, shift, k1, lf1, lf0, counted, k_or_1, others1 = self._cont
        if w.size:
            zz = z[:, None, :]  # x, state, k
            # D ≤ y: the first request (and the others by then) done; e^{−λr}(λy)^k/k! = e^{−λ(r−y)}·Pois(k; λy)
            y = np.minimum(np.maximum(zz, delay), rc3)  # np.clip's values, without its wrapper
            with np.errstate(divide="ignore", invalid="ignore"):
                log_ly = np.log(lam * y)
                h1 = np.exp(shift + k1 * log_ly - lf1)
                h0 = np.exp(shift + k * log_ly - lf0)
                if delay <= 0.0:
                    h1 = np.where(y > 0.0, h1, 0.0)
                    h0 = np.where(y > 0.0, h0, np.where(k == 0, np.exp(-lam * rc)[None, :, None], 0.0))
                first = np.maximum(h1 - at_delay1, 0.0)
                # the others: by D ≤ z all of them; beyond, z/D of them (∫ z/u · density, in closed form)
                tail = np.where((zz > 0.0) & counted, zz * lam / k_or_1 * (at_r0 - h0), 0.0)
            total = total + (others1 * first + others * np.maximum(tail, 0.0)).sum(axis=2) @ w
        out: np.ndarray = np.minimum(1.0, total / self.mean_size)
        return out

    def bounds(self) -> tuple[float, float]:
        """Latency is within these: at least the shortest service, at most the longest wait plus the longest one."""
        longest = max(self.delay, float(self.r.max(initial=0.0)))
        return self.service, longest + float(self.served.max(initial=self.service))


class Extrapolated(Chain):
    """One system's chain on two residual grids over the same span, PAIR_GRID and FINE cells (model/pair_chain.py),
    its latency cdf extrapolated to a step of 0: (f²F_fine − g²F_coarse)/(f² − g²), clipped to [0, 1] (Richardson,
    the grid's bias ∝ h²)."""

    __slots__ = ("coarse", "fine")

    def __init__(self, coarse: BatchingChain, fine: BatchingChain) -> None:
        self.coarse, self.fine = coarse, fine
        self.rate, self.delay, self.limit, self.top, self.open = fine.rate, fine.delay, fine.limit, fine.top, fine.open
        self.service = fine.service
        self.percentiles: dict[float, Percentile] = {}
        self.points = min(coarse.points, fine.points)

    def cdfs(self, xs: np.ndarray) -> np.ndarray:
        f, g = FINE ** 2, PAIR_GRID ** 2
        out: np.ndarray = np.clip((f * self.fine.cdfs(xs) - g * self.coarse.cdfs(xs)) / (f - g), 0.0, 1.0)
        return out

    def bounds(self) -> tuple[float, float]:
        low, high = self.coarse.bounds()
        fine_low, fine_high = self.fine.bounds()
        return min(low, fine_low), max(high, fine_high)


class FillingChain(Chain):
    """Several replicas whose batches reach the limit (where _made says): the latency's weighted empirical cdf from a
    seeded Monte Carlo of the embedded chain at closes (model/filling_chain.py)."""

    __slots__ = ("latency", "share")

    def __init__(self, rate: float, delay: float, limit: int, replicas: int,
                 service_of: Callable[[float], float]) -> None:
        self.rate, self.delay, self.limit, self.top, self.open = rate, delay, limit, limit, False
        self.service = service_of(1.0)
        self.latency, self.share = filling_sample(rate, replicas, limit, delay, service_of)
        self.percentiles: dict[float, Percentile] = {}
        self.points = 31  # a cdf point is one binary search

    def cdfs(self, xs: np.ndarray) -> np.ndarray:
        at = np.searchsorted(self.latency, xs, side="right")
        out: np.ndarray = np.where(at > 0, self.share[np.maximum(at - 1, 0)], 0.0)
        return out

    def bounds(self) -> tuple[float, float]:
        return float(self.latency[0]), float(self.latency[-1])


def _mixture_counts(lam: float, delay: float, top: int, longest: float) -> tuple[int, int]:
    """BatchingChain's range of request counts k a batch gathers after its first (the range's start, its end)."""
    low, high = lam * delay, lam * max(delay, longest)
    first = max(0, math.floor(low - MIXTURE_SIGMAS * (math.sqrt(low) + 1.0)))
    return first, min(top, math.ceil(high + MIXTURE_SIGMAS * (math.sqrt(high) + 1.0)) + 1)


ChainsByCurve = dict[tuple[object, ...], list[tuple[tuple[tuple[float, float], ...], "Chain"]]]
"""Chains by everything they are made of: the rate, delay, replicas, the limit where it matters and the service
times of the batch sizes up to the one-server chain's reach; each with the (size, time) pairs it read beyond them,
to match too (none where it read no further), and the chain (batching_chain's `shared`)."""


def batching_chain(rate: float, replicas: int | None, limit: int, delay: float,
                   service_of: Callable[[float], float], shared: ChainsByCurve | None = None) -> Chain:
    """The stationary chain of dynamic batching (module docstring) at `rate` requests/s on `replicas` replicas
    (None: unlimited, every batch closes at its delay) with batches of up to `limit`: a BatchingChain where no batch
    reaches the limit (to TAIL_SIGMAS), else a LeftoverChain (up to LEFTOVER_LIMIT) or FillingChain (_made says
    which). `shared`: chains already made,
    found again for a GPU whose service times are the same floats at every batch size the chain reads (host-bound
    GPUs at small batches: the same host floor), up to DIRECT_STATES sizes."""
    lam = rate
    replicas, top, leftover = reach(rate, replicas, limit, delay, service_of)
    read = limit if leftover else top
    key: tuple[object, ...] | None = None
    if shared is not None and read <= DIRECT_STATES:
        if replicas is None and not leftover:
            # on unlimited replicas a BatchingChain reads S at 1 and at the batch sizes of its mixture alone
            first, stop = _mixture_counts(lam, delay, top, 0.0)
            sizes = range(first + 1, stop + 1)
            key = (rate, delay, None, False, top == limit and limit, top, service_of(1.0),
                   tuple([service_of(float(b)) for b in sizes]))
        else:
            key = (rate, delay, replicas, leftover, top == limit and limit,
                   tuple([service_of(float(b)) for b in range(1, read + 1)]))
        for further, found in shared.get(key, ()):
            if all(service_of(b) == s for b, s in further):
                return found
    if key is None or shared is None:
        return _made(rate, replicas, limit, delay, service_of, top, leftover)
    seen: dict[float, float] = {}

    def reading(b: float) -> float:
        time = seen.get(b)
        if time is None:
            time = seen[b] = service_of(b)
        return time

    chain = _made(rate, replicas, limit, delay, reading, top, leftover)
    # the key holds every S a chain up to `read` reads; one that reads further — a sampled chain past the one-server
    # chain's reach, 21 of the 136 sampled in bert-train-then-serve at 2,000/s, limit 64, 0.1 ms (host-bound GPUs,
    # one curve) — is found again where the curve gives the same floats at every size it read (a chain is a pure
    # function of its arguments and those: model/batching_store.py); one that reads no further first, as before
    made = shared.setdefault(key, [])
    if chain.top <= read:
        made.insert(0, ((), chain))
    else:
        made.append((tuple(seen.items()), chain))
    return chain


def one_server_low(rate: float, replicas: int | None, limit: int, delay: float,
                   service_of: Callable[[float], float]) -> LeftoverChain | None:
    """Where batching_chain follows two or more replicas past MULTI_REPLICA_LOAD whose batches may reach the limit
    past one server as many times as fast (chain_scope.followed_past: filling_chain, three sampled first; 0.2–0.6 s a
    chain), that one-server chain (LeftoverChain, 3–90 ms), which is low there or within
    chain_scope.KNOWN_LOW_MARGIN's measured 3.6 % above (against filling_chain on two and three replicas, limits 16–256, 65–95 %, no delay, 1 ms, 10 ms, both
    GPUs: at most 2.7 % above; benchmarks/prototypes/many_replicas_filling.py's leftover column); None elsewhere (below MULTI_REPLICA_LOAD, where
    filling_chain follows them too where more than WAITING_SHARE of its closes wait, one server was up to 22 % above
    the simulation: no bound)."""
    if replicas is None or not followed_past(rate, replicas, limit, delay, service_of):
        return None
    return LeftoverChain(rate, delay, limit, replicas, service_of)


def _made(rate: float, replicas: int | None, limit: int, delay: float, service_of: Callable[[float], float],
          top: int, leftover: bool) -> Chain:
    """batching_chain's chain, made."""
    lam = rate

    def busy() -> bool:  # past MULTI_REPLICA_LOAD (S(limit) read only where asked)
        return replicas is not None and rate / replicas * service_of(float(limit)) / limit > MULTI_REPLICA_LOAD

    if leftover and replicas is not None and replicas >= 2:
        # batches that fill, on two or more: a seeded Monte Carlo of their chain with full batches (FillingChain,
        # model/filling_chain.py) where one server c times as fast with what they leave behind (LeftoverChain) is
        # low — past MULTI_REPLICA_LOAD, and below it where more than WAITING_SHARE of its closes wait for a
        # replica (limit 64, four replicas at 50 %: −55 % p95 with no delay, −52 % with 1 ms, −35 % with 2 ms; two at
        # 60 %: −34 % with none); three past it are sampled first (model/sampled_chain.py: exact
        # where no batch it draws fills, ~0.2 s). Bert's curves, limits 16–256, 2–8 replicas at 10–90 %, no delay,
        # 1, 2, 5 or 10 ms: within 5.9 % at p50, p95 and p99, 0.1–0.6 s CPU a chain, where what two or three leave
        # behind and the others' residuals (model/leftover_pair_chain.py, model/leftover_triple_chain.py) were up to
        # +12 % p99 (two) and +24 % p50 (three) with no delay or 1 ms, at 0.03–11 s
        # (benchmarks/prototypes/many_replicas_filling.py)
        if replicas == 3 and busy():
            sampled = sampled_stationary(rate, replicas, limit, delay, service_of)
            if sampled is not None:
                weight, r, top = sampled
                return BatchingChain(rate, delay, limit, top, service_of, weight, r)
        if busy():
            return FillingChain(rate, delay, limit, replicas, service_of)
        one = LeftoverChain(rate, delay, limit, replicas, service_of)
        # below it, as three or more without full batches (WAITING_SHARE): one server is kept where at most
        # WAITING_SHARE of its closes wait for a replica (R = S(b)/c > T, only where S(limit)/c > T); bert's curves,
        # 352 points at 10–60 %, 2–8 replicas, limits 16–256, no delay to 10 ms: those 87 within 1.7 % (33 of them
        # FillingChain's under the turn rule), the rest down to −72 % p95
        # (benchmarks/prototypes/many_replicas_filling.py)
        if service_of(float(limit)) / replicas > delay:
            sizes = np.minimum(np.arange(1, one.weight.size + 1), limit)
            r = np.array([service_of(float(b)) for b in sizes.tolist()]) / replicas
            if float(one.weight[r > delay].sum()) > WAITING_SHARE:
                return FillingChain(rate, delay, limit, replicas, service_of)
        return one
    if leftover:
        return LeftoverChain(rate, delay, limit, replicas, service_of)
    if replicas is None:  # the first request never waits for a replica: D = T
        return BatchingChain(rate, delay, limit, top, service_of, np.ones(1), np.zeros(1))
    # one replica: it frees S(b) after the close; c replicas, in turn, free a batch's service apart at full load
    # (module docstring), and at light load a replica is free whenever a batch closes; two on their residuals
    n = replicas

    def r_of(states: np.ndarray) -> np.ndarray:  # states: batch sizes b
        return np.array([service_of(float(b)) for b in states.tolist()]) / n

    lo, weight, r = (0, np.ones(0), np.zeros(0)) if n >= 3 and busy() else _stationary(lam, delay, top, r_of)
    if n >= 3:
        if busy() or float(weight[r > delay].sum()) > WAITING_SHARE:
            # three or more replicas: their embedded chain sampled (model/sampled_chain.py) where one server n times
            # as fast is low — past MULTI_REPLICA_LOAD, and below it where more than WAITING_SHARE of its closes
            # wait for a replica (with no delay, every close); where a batch it draws reaches the limit, their
            # chain with full batches (FillingChain, as above), at any limit: 512 and 1,024 on 3, 4 and 8 at 50–90 %
            # with no delay or 10 ms within 6.9 % but RTX A6000, 8, 512, 90 %, 10 ms: p95 −16.9 % against the
            # simulation's seed 1 of 200,000 requests, its noise (5,000,000 requests, seeds 1–5: +0.1/+1.4/+1.0 %),
            # where one server eight times as fast (a batch at the limit taken as closing there) was −57 %
            sampled = sampled_stationary(rate, n, limit, delay, service_of)
            if sampled is not None:
                weight, r, top = sampled
                return BatchingChain(rate, delay, limit, top, service_of, weight, r)
            return FillingChain(rate, delay, limit, n, service_of)
        return BatchingChain(rate, delay, limit, top, service_of, weight, r)
    if n != 2:
        return BatchingChain(rate, delay, limit, top, service_of, weight, r)
    # two replicas on their residuals (model/pair_chain.py), from where this chain holds them: the residual the
    # stationary state exceeds with probability above SPAN_TAIL, S(b) = 2r, is where its grid starts. Solved on
    # PAIR_GRID and FINE cells and extrapolated to a step of 0 where more than WAITING_SHARE of its closes wait for a
    # replica (R > T), at any delay: each such close moves the other replica's residual by Q − R, which the grid
    # splits between two of its times, and the split compounds (RTX 3060, limits 512–4,096, 90 %, 1 ms: p99 +12.4 to
    # +13.1 % on PAIR_GRID alone against the simulation's seed 1, +11.6 to +14.9 % against its seeds 1–5's mean;
    # extrapolated +4.9 to +5.8 and +4.9 to +7.3; two replicas, limits 64–4,096, 1–90 %, 1–10 ms, both curves:
    # within 14.9 % before, 7.3 % after, against the seeds' mean; benchmarks/prototypes/batching_seeds.py)
    span = _tail_span(weight, r, n, service_of)
    refined = pair_refined(rate, limit, delay, service_of, top, span, WAITING_SHARE)
    if refined is not None:
        (weight, r), fine, top = refined
        coarse = BatchingChain(rate, delay, limit, top, service_of, weight, r)
        if fine is None:
            return coarse
        return Extrapolated(coarse, BatchingChain(rate, delay, limit, top, service_of, *fine))
    if limit <= LEFTOVER_LIMIT and not busy():  # batches reach the limit: followed with what they leave behind
        return LeftoverChain(rate, delay, limit, replicas, service_of)
    # batches reach the limit past MULTI_REPLICA_LOAD, or a limit above LEFTOVER_LIMIT at any load (bert's curves:
    # 95–97 % of capacity, limits 300 and 512, where a batch at the limit taken as closing there was −5 to −33 % p95
    # against the simulation's seeds 1–5's mean, FillingChain +2 to +8 %): their chain with full batches, as above
    return FillingChain(rate, delay, limit, replicas, service_of)


def _tail_span(weight: np.ndarray, r: np.ndarray, replicas: int, service_of: Callable[[float], float]) -> float:
    """Where a residual grid of `replicas` starts: the one-server chain's r that its stationary state exceeds with
    probability above SPAN_TAIL, as a residual S(b) = replicas · r (at least S(1))."""
    order = np.argsort(r)
    beyond = np.cumsum(weight[order][::-1])[::-1]
    return max(replicas * float(r[order][np.flatnonzero(beyond > SPAN_TAIL)[-1]]), service_of(1.0))


def _kept(weight: np.ndarray) -> np.ndarray:
    """The states a BatchingChain's latency mixture keeps, in order: all but the least likely, LEFT_OUT of the
    weight in all."""
    order = np.argsort(weight)
    keep: np.ndarray = np.sort(order[np.cumsum(weight[order]) > LEFT_OUT])
    return keep


LEFTOVER_STATES = 1536
"""The most states (requests present at a close) a LeftoverChain is solved on (a dense solve, ~0.3 s at this size).
The requests left behind reach past it only within a few % of saturation (at a share ρ of the capacity at full
batches, the backlog's tail falls by e^{−2(1 − ρ)/ρ} per request: 1e-12 about 14ρ/(1 − ρ) requests out, ~1,400 at
ρ = 0.99); there the chain stops at this many, the backlog beyond folded onto its last state, so its percentiles
are lower bounds — already a backlog of ~LEFTOVER_STATES/limit full batches' turns."""


NODES = 12
"""Gauss–Legendre nodes over the wait for a replica, W = R − G (LeftoverChain)."""
GRID = 8
"""Cells of the time at which a batch fills, τ, over (R, T) (LeftoverChain)."""


class LeftoverChain(Chain):
    """Dynamic batching whose batches reach their limit B (module docstring: the same system), followed with the
    requests a full batch leaves behind. The state at a close is n, the requests present: the batch takes
    b = min(n, B), L = n − b stay, and a replica frees R = S(b)/c later (0 on unlimited replicas).

    With nothing left (L = 0), the next batch opens at its first request F, G ~ Exp(λ) after the close; with
    W = R − G it closes D = max(W, min(T, τ)) after F, τ the time of the (B − 1)-th arrival after F, and holds
    1 + N(D) requests (N: the arrivals after F). Split on W: below T (probability e^{−λ(R − min(T, R))}, W ≤ 0
    included) it closes at T when N(T) < B − 1, at W when N(W) ≥ B − 1 (filled before the replica frees: requests
    left), and else at τ with exactly B; above T (R > T) it closes at W. W's density λe^{−λ(R − W)} is integrated on
    NODES Gauss–Legendre nodes; τ's spread over (0, T) on GRID cells of P(N(t) ≥ B − 1).
    With L > 0 left, the oldest left request has waited since before the close; the next close comes when a replica
    frees, at R, if B − L more have arrived by then, else when they have (τ' ∈ (R, T)) or at T, whichever is first
    (the oldest's wait taken as starting at the close: an upper bound on D).
    Latency: a close's requests are served in arrival order, B at a time; within a window the requests after F are
    spread evenly over it (each owns an equal share of the window, its wait uniform there). A request beyond the
    first B is left: only a close at R leaves requests, and every close after it until the request's own comes when
    a replica frees (a full batch waits) and starts S(B), so with the other replicas' residuals Q₁ ≤ … ≤ Q_{c−1} at
    the close before, block j ≥ 1 is taken ⌊(j − 1)/c⌋·S(B) + g_{(j − 1) mod c + 1} after it, g_l = Q_l − R and
    g_c = S(B) (exact with no delay; with one, a close that does not fill waits for its delay beyond it); where
    another chain follows the residuals it gives E[Q_l − R | L, R], else (one server c times as fast) g_l = l·S(B)/c:
    S(B)/c a block.
    Against simulate_dynamic_batching (benchmarks/bench_dynamic_batching_agreement.py): within 5 % p95 where
    limits fill, at 1–90 % of capacity, on one replica, two up to MULTI_REPLICA_LOAD and three or more up to it
    where at most WAITING_SHARE of its closes wait for a replica (R > T; docs/serving.md); FillingChain elsewhere."""

    __slots__ = ("weight", "w", "lo", "width", "shift", "total")

    def __init__(self, rate: float, delay: float, limit: int, replicas: int | None,
                 service_of: Callable[[float], float],
                 states: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None) -> None:
        """`states`: the stationary weight of the closes by (L, R, U) — requests left, the time until a replica frees,
        the oldest left request's delay still to run — and E[Q_l − R | L, R] (a column per other replica) where
        another chain follows them (model/leftover_pair_chain.py); else this chain's own, on the requests present,
        R = S(b)/c and U = T."""
        self.rate, self.delay, self.limit, self.top, self.open = rate, delay, limit, limit, False
        self.percentiles: dict[float, Percentile] = {}
        seen: dict[int, float] = {}

        def service(b: int) -> float:
            found = seen.get(b)
            if found is None:
                found = seen[b] = service_of(float(b))
            return found

        self.service = service(1)
        c = replicas or 1
        per_block = service(limit) / c if replicas is not None else 0.0  # a full batch's turn on c replicas
        spacing: np.ndarray | None = None
        if states is not None:
            weight, left, r, due, spacing = states
            window = rate * max(delay, float(r.max()))
            outcomes = _leftover_outcomes(rate, delay, limit, left, r, due,
                                          math.ceil(window + TAIL_SIGMAS * (math.sqrt(window) + 1.0)))
        else:
            window = rate * max(delay, per_block)
            count = limit + math.ceil(window + TAIL_SIGMAS * (math.sqrt(window) + 1.0))
            while True:
                n = np.arange(1, count + 1)
                b = np.minimum(n, limit)
                r = np.zeros(count) if replicas is None else np.array([service(x) for x in b.tolist()]) / c
                outcomes = _leftover_outcomes(rate, delay, limit, n - b, r, np.full(count, delay), count)
                move = np.zeros((count, count))
                np.add.at(move, (outcomes[0], np.minimum(outcomes[2], count) - 1), outcomes[1])
                move /= move.sum(axis=1, keepdims=True)
                weight = solve(move)
                if weight[-1] <= EDGE or count == LEFTOVER_STATES:
                    break
                count = min(LEFTOVER_STATES, count + count // 2 + limit)
        self.weight = weight
        self._mixture(outcomes, weight, limit, service, per_block, spacing)
        self.points = max(1, min(31, CDF_TERMS // max(1, self.w.size)))

    def _mixture(self, outcomes: tuple[np.ndarray, ...], weight: np.ndarray, limit: int,
                 service: Callable[[int], float], per_block: float, spacing: np.ndarray | None) -> None:
        """The latency as a mixture of uniform waits plus a fixed time, one term per block of requests of a close.
        `spacing`: E[Q_l − R] per state (class docstring), else a block waits per_block."""
        src, prob, dest, span, first, left, arrived = outcomes
        rows = np.zeros(weight.size)
        np.add.at(rows, src, prob)
        share = weight[src] * prob / rows[src]
        keep = share > KEPT
        src, share, dest, span, first, left, arrived = (v[keep] for v in (src, share, dest, span, first, left,
                                                                          arrived))
        served = np.array([service(b) for b in np.minimum(dest, limit).tolist()])
        # F waits the whole window, in the close's first batch
        f = first > 0
        w, lo, width, shift = [share[f]], [span[f]], [np.zeros(int(f.sum()))], [served[f]]
        # the others, j = 1 … M in arrival order at positions L + first + j, each owning a 1/M share of the window
        m = arrived - first
        ahead = left + first
        blk0, blk1 = ahead // limit, (ahead + m - 1) // limit
        blocks = np.where(m > 0, blk1 - blk0 + 1, 0)
        at = np.repeat(np.arange(share.size), blocks)
        blk = blk0[at] + np.arange(at.size) - np.repeat(np.cumsum(blocks) - blocks, blocks)
        j_lo = np.maximum(blk * limit + 1 - ahead[at], 1)
        j_hi = np.minimum((blk + 1) * limit - ahead[at], m[at])
        frac = span[at] / m[at]
        w.append(share[at] * (j_hi - j_lo + 1))
        lo.append(span[at] - j_hi * frac)
        width.append((j_hi - j_lo + 1) * frac)
        if spacing is None:
            waited = blk * per_block
        else:  # block j ≥ 1: ⌊(j − 1)/c⌋ turns of S(B), then the ((j − 1) mod c + 1)-th replica to free
            turns, nth = np.divmod(np.maximum(blk - 1, 0), spacing.shape[1] + 1)
            gaps = np.concatenate([spacing[src[at]], np.full((at.size, 1), service(limit))], axis=1)
            waited = np.where(blk > 0, turns * service(limit) + gaps[np.arange(at.size), nth], 0.0)
        shift.append(np.where(blk == 0, served[at], service(limit)) + waited)
        self.w, self.lo, self.width, self.shift = (np.concatenate(v) for v in (w, lo, width, shift))
        self.total = float(self.w.sum())

    def cdfs(self, xs: np.ndarray) -> np.ndarray:
        z = xs[:, None] - self.shift[None, :] - self.lo[None, :]
        wide = self.width > 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            f = np.where(wide, np.clip(z / np.where(wide, self.width, 1.0), 0.0, 1.0), z >= 0.0)
        out: np.ndarray = np.minimum(1.0, (f @ self.w) / self.total)
        return out

    def bounds(self) -> tuple[float, float]:
        return float((self.lo + self.shift).min()), float((self.lo + self.width + self.shift).max())


def _leftover_outcomes(lam: float, delay: float, limit: int, left: np.ndarray, r: np.ndarray, due: np.ndarray,
                       counts: int) -> tuple[np.ndarray, ...]:
    """LeftoverChain's close outcomes from each state i — left[i] requests left at the close, a replica frees r[i]
    after it, and the oldest left request's delay runs out due[i] after it — with up to `counts` arrivals in a
    window: (state index, probability, requests present at the next close, the window D, whether it opens with F,
    requests left before it, requests arriving in it)."""
    T, B = delay, limit
    # the arrivals in one window (at most max(T, R) long) stay within TAIL_SIGMAS of its Poisson mean
    window = lam * max(T, float(r.max()))
    k_all = np.arange(min(counts, math.ceil(window + TAIL_SIGMAS * (math.sqrt(window) + 1.0))) + 1)
    lf = log_factorials(max(int(k_all[-1]), B, int(left.max(initial=0))) + 4)
    x, h = np.polynomial.legendre.leggauss(NODES)
    x, h = (x + 1.0) / 2.0, h / 2.0
    cols: list[list[np.ndarray]] = [[] for _ in range(7)]

    def add(*values: np.ndarray | float | int) -> None:
        arrays = np.broadcast_arrays(*(np.asarray(v) for v in values))
        keep = arrays[1] > 1e-15
        for col, v in zip(cols, arrays):
            col.append(v[keep].ravel())

    s0 = np.flatnonzero(left == 0)
    rr = r[s0]
    m = np.minimum(T, rr)
    below = np.exp(-lam * (rr - m))  # P(W < T), W ≤ 0 included
    k = np.arange(B - 1)
    p_t = poisson(k, lam * T, lf)
    # closes at T: N(T) < B − 1
    add(s0[:, None], below[:, None] * p_t[None, :], 1 + k[None, :], T, 1, 0, 1 + k[None, :])
    # closes at W ∈ (0, min(T, R)), filled before: N(W) ≥ B − 1
    w = m[:, None] * x[None, :]
    dens = m[:, None] * h[None, :] * lam * np.exp(-lam * (rr[:, None] - w))
    kk = np.arange(B - 1, max(B - 1, int(k_all[-1])) + 1)
    filled = dens[:, :, None] * poisson(kk[None, None, :], lam * w[:, :, None], lf)
    add(s0[:, None, None], filled, 1 + kk[None, None, :], w[:, :, None], 1, 0, 1 + kk[None, None, :])
    # closes at τ ∈ (W, T) with B
    p_tau = np.maximum(below * (1.0 - p_t.sum()) - filled.sum(axis=(1, 2)), 0.0)
    edges = T * np.arange(GRID + 1) / GRID
    reached = 1.0 - poisson(k[None, :], lam * edges[:, None], lf).sum(axis=1)
    cells = np.diff(reached)
    if cells.sum() > 0.0:
        add(s0[:, None], p_tau[:, None] * (cells / cells.sum())[None, :], B, ((edges[1:] + edges[:-1]) / 2)[None, :],
            1, 0, B)
    # closes at W ∈ (T, R)
    late = rr > T
    if late.any():
        rl = rr[late]
        w = T + (rl - T)[:, None] * x[None, :]
        dens = (rl - T)[:, None] * h[None, :] * lam * np.exp(-lam * (rl[:, None] - w))
        add(s0[late][:, None, None], dens[:, :, None] * poisson(k_all[None, None, :], lam * w[:, :, None], lf),
            1 + k_all[None, None, :], w[:, :, None], 1, 0, 1 + k_all[None, None, :])
    s1 = np.flatnonzero(left > 0)
    if s1.size:
        ls, rr, us = left[s1], r[s1], due[s1]
        need = np.maximum(B - ls, 0)  # arrivals that fill the batch
        short = (rr < us)[:, None] & (k_all[None, :] < need[:, None])  # too few by R: it waits for τ' or U
        # closes at R: N(R) ≥ need (any N(R) when R ≥ U)
        add(s1[:, None], np.where(short, 0.0, poisson(k_all[None, :], lam * rr[:, None], lf)),
            ls[:, None] + k_all[None, :], rr[:, None], 0, ls[:, None], k_all[None, :])
        # closes at U: N(U) < need
        add(s1[:, None], np.where(short, poisson(k_all[None, :], lam * us[:, None], lf), 0.0),
            ls[:, None] + k_all[None, :], us[:, None], 0, ls[:, None], k_all[None, :])
        # closes at τ' ∈ (R, U) with B: N(R) < need ≤ N(U)
        soon = np.flatnonzero((rr < us) & (need > 0))
        if soon.size:
            rs, ns, ds = rr[soon], need[soon], us[soon]
            edges = rs[:, None] + (ds - rs)[:, None] * (np.arange(GRID + 1) / GRID)[None, :]
            under = k_all[None, None, :] < ns[:, None, None]
            short_by = np.where(under, poisson(k_all[None, None, :], lam * edges[:, :, None], lf), 0.0).sum(axis=2)
            cells = np.maximum(-np.diff(short_by, axis=1), 0.0)
            total = short_by[:, 0] - short_by[:, -1]
            sums = cells.sum(axis=1)
            cells = cells / np.where(sums > 0.0, sums, 1.0)[:, None]
            add(s1[soon][:, None], np.maximum(total, 0.0)[:, None] * cells, B, (edges[:, 1:] + edges[:, :-1]) / 2, 0,
                ls[soon][:, None], ns[:, None])
    return tuple(np.concatenate(col) for col in cols)


DIRECT_STATES = 192
"""Chains up to this many states are solved whole; longer ones (near saturation, up to the batch limit) first on
blocks of states, to find where the stationary weight lies, then exactly on those states alone."""
BLOCKS = 96
"""Blocks of the first, coarse solve of a long chain."""
def _stationary(lam: float, delay: float, top: int, r_of: Callable[[np.ndarray], np.ndarray]
                ) -> tuple[int, np.ndarray, np.ndarray]:
    """The stationary distribution of the batch sizes b = 1 … top at the closes, on the range of sizes that holds
    it: (its first index, the weights, r there). r_of(b): the time from a close with b requests until a replica
    frees; the transitions are in the module docstring. S is worked out only where it is read."""
    lf = log_factorials(top + 2)
    k = np.arange(top)
    p_delay = poisson(k, lam * delay, lf)
    p_delay1 = poisson(k + 1, lam * delay, lf)

    def moves(rows: np.ndarray) -> np.ndarray:  # P(next = 1 + k | r), the last state taking the rest
        # k lies within TAIL_SIGMAS of the Poisson means of the shortest and longest windows, T and max r: only
        # those columns are worked out (near saturation, a few hundred of thousands)
        low, high = lam * delay, lam * max(delay, float(rows.max()))
        first = max(0, math.floor(low - TAIL_SIGMAS * (math.sqrt(low) + 1.0)))
        last = min(top, math.ceil(high + TAIL_SIGMAS * (math.sqrt(high) + 1.0)) + 1)
        band = slice(first, last)
        atom = np.exp(-lam * np.maximum(rows - delay, 0.0))[:, None]
        move = np.zeros((rows.size, top))
        move[:, band] = np.where(
            (rows > delay)[:, None],
            atom * p_delay[None, band] + poisson(k[band] + 1, lam * rows[:, None], lf) - atom * p_delay1[None, band],
            p_delay[None, band])
        move[:, -1] = np.maximum(0.0, 1.0 - move[:, :-1].sum(axis=1))
        return move

    if top <= DIRECT_STATES:
        r = r_of(np.arange(1, top + 1))
        return 0, solve(moves(r)), r
    size = -(-top // BLOCKS)
    blocks = -(-top // size)
    coarse = moves(r_of(np.minimum(np.arange(blocks) * size + size // 2, top - 1) + 1))
    coarse = np.pad(coarse, ((0, 0), (0, blocks * size - top))).reshape(blocks, blocks, size).sum(axis=2)
    held = np.flatnonzero(solve(coarse) > EDGE)
    lo, hi = max(0, (int(held[0]) - 1) * size), min(top, (int(held[-1]) + 2) * size)
    while True:
        r = r_of(np.arange(lo + 1, hi + 1))
        move = moves(r)
        exact = move[:, lo:hi].copy()
        exact[:, 0] += move[:, :lo].sum(axis=1)  # below the range: onto its first state, above: onto its last
        exact[:, -1] += move[:, hi:].sum(axis=1)
        part = solve(exact)
        if not ((lo > 0 and part[0] > EDGE) or (hi < top and part[-1] > EDGE)):
            return lo, part, r
        widen = (hi - lo) // 2 + 1
        lo, hi = max(0, lo - widen), min(top, hi + widen)
