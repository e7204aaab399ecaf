"""Dynamic batching latency (encoders, CNNs, MLPs served in batches of up to `batch`): the percentiles of a request's
wait for its batch to close, the busy replica's residual and the batch's service time (batch_latency), and the same
percentiles as Percentile objects bisected only as far as a comparison needs (the serving search, planner/plans/
serving.py, compares thousands of them with targets and with each other)."""
from __future__ import annotations

import math
from collections.abc import Callable

from planner.model.md_c import md_c_wait_plus_uniform_quantile
from planner.schema.profile import Inference

BATCH_QUANTILES = (0.50, 0.95, 0.99)
BATCH_RANKED = "latency_p95"
"""The percentile that ranks non-generative configurations meeting the targets (plan_batch_serving)."""
BATCH_KEYS = [(f"latency_p{round(q * 100)}", q) for q in BATCH_QUANTILES]
"""The percentiles of a non-generative plan, by their keys."""


def judged_keys(inf: Inference) -> list[tuple[str, float]]:
    """The percentiles that judge and rank a configuration: those with a target, and the p95 (BATCH_RANKED)."""
    return [(key, q) for key, q in BATCH_KEYS if key == BATCH_RANKED or getattr(inf.slo, key) is not None]


def batch_latency(inf: Inference, replicas: int | None, batch: int, service_of: Callable[[float], float],
                  rate: float, whole: bool = True, state_of: BatchStateOf | None = None,
                  judged: list[tuple[str, float]] | None = None) -> dict[str, float]:
    """Latency p50/p95/p99 of dynamic batching with batches of up to `batch`; service_of(b) is a batch's time. Not
    `whole`: only the percentiles with a target and the p95 (what judges and ranks a configuration; each
    percentile is computed on its own, so each is the same number either way).

    Batch size 1 is FCFS on `replicas` servers: M/D/c waits (md_c.md_c_wait, exact) plus the service.
    Larger batches, per replica (λᵣ = rate/replicas): a batch closes when full or when its oldest request has
    waited fill = min(max_queue_delay, (batch − 1)/λᵣ); it carries b = min(batch, max(1 + λᵣ·fill, λᵣ·S(b)))
    requests (fixed point: a busy replica gathers what arrives during its batch). A request waits for its batch
    to close — the oldest (1 in b) the whole fill, the others a uniform share — then, with probability
    ρ = λᵣ·S(b)/b that the replica is still busy, a uniform residual of S(b); then S(b).
    Unstable (λᵣ·S(batch) ≥ batch): inf. `state_of`: batch_state at a per-replica rate (default: worked out here).
    `judged`: judged_keys(inf), when the caller has it.
    """
    wanted = BATCH_KEYS
    if not whole:
        wanted = judged if judged is not None else judged_keys(inf)
    keys = [key for key, _ in wanted]
    if replicas is None:  # unlimited replicas: batches of one, never waiting
        return dict.fromkeys(keys, service_of(1))
    per_replica = rate / replicas
    if per_replica * service_of(batch) >= batch:
        return dict.fromkeys(keys, math.inf)
    if batch == 1:
        service = service_of(1)
        # md_c_wait_plus_uniform_quantiles(replicas, rate, service, 0.0, BATCH_QUANTILES), one quantile at a time
        return {key: service + md_c_wait_plus_uniform_quantile(replicas, rate, service, 0.0, q, max(BATCH_QUANTILES))
                for key, q in wanted}
    fill, size, service, busy = (state_of(per_replica) if state_of is not None
                                 else batch_state(inf, per_replica, batch, service_of))
    return {key: service + _close_and_residual_quantile(fill, 1.0 / size, service, busy, q) for key, q in wanted}


BatchStateOf = Callable[[float], tuple[float, float, float, float]]


def batch_percentiles(inf: Inference, replicas: int | None, batch: int, service_of: Callable[[float], float],
                      rate: float, state_of: BatchStateOf | None = None,
                      shared: dict[tuple[float, ...], Percentile] | None = None,
                      judged: list[tuple[str, float]] | None = None) -> dict[str, Percentile]:
    """batch_latency(…, whole=False), each percentile as a Percentile worked out when compared. `shared`: the
    percentiles already made, by their arguments: batches that never fill (at a low rate per replica every batch
    limit above the requests one delay gathers carries the same requests) are the same percentile, one object.
    `judged`: judged_keys(inf), when the caller has it (the serving search asks thousands of times)."""
    wanted = judged if judged is not None else judged_keys(inf)
    if replicas is None or batch == 1 or rate / replicas * service_of(batch) >= batch:
        latency = batch_latency(inf, replicas, batch, service_of, rate, whole=False, state_of=state_of,
                                judged=wanted)
        return {key: Percentile(latency[key], exact=True) for key, _ in wanted}
    fill, size, service, busy = (state_of(rate / replicas) if state_of is not None
                                 else batch_state(inf, rate / replicas, batch, service_of))
    out = {}
    for key, q in wanted:
        args = (service, fill, 1.0 / size, busy, q)
        found = None if shared is None else shared.get(args)
        if found is None:
            found = Percentile(*args)
            if shared is not None:
                shared[args] = found
        out[key] = found
    return out


def batch_state(inf: Inference, per_replica: float, batch: int, service_of: Callable[[float], float]
                ) -> tuple[float, float, float, float]:
    """(fill, b, S(b), ρ) of dynamic batching at λᵣ = `per_replica` requests/s: batch_cycle, the service time of the
    batch it carries and the probability that the replica is still busy."""
    fill, size = batch_cycle(inf, per_replica, batch, service_of)
    service = service_of(size)
    return fill, size, service, min(1.0, per_replica * service / size)


def batch_cycle(inf: Inference, per_replica: float, batch: int, service_of: Callable[[float], float]
                ) -> tuple[float, float]:
    """(fill, b) of dynamic batching at λᵣ = `per_replica` requests/s (batch_latency): the longest a batch waits
    to fill, min(max_queue_delay, (batch − 1)/λᵣ), and the requests it carries, the fixed point
    b = min(batch, max(1 + λᵣ·fill, λᵣ·S(b))) (a busy replica finds λᵣ·S(b) requests waiting when it frees)."""
    fill = min((batch - 1) / per_replica, inf.max_queue_delay or 0.0)
    size = min(float(batch), 1.0 + per_replica * fill)
    for _ in range(100):
        grown = min(float(batch), max(1.0 + per_replica * fill, per_replica * service_of(size)))
        if abs(grown - size) <= 1e-9 * size:
            break
        size = grown
    return fill, size


def open_state(inf: Inference, per_replica: float, service_of: Callable[[float], float]
               ) -> tuple[float, tuple[float, float, float, float]]:
    """batch_state with no batch limit binding: (the largest size its fixed point reached, the state). It is
    batch_state's own, the same floats, for every batch b with (b − 1)/λᵣ ≥ max_queue_delay and b ≥ that size:
    neither of batch_cycle's min() then binds, so it takes the same steps. The serving search sizes a dozen batch
    limits per GPU at each rate per replica, and above a few requests most of them never fill."""
    fill = inf.max_queue_delay or 0.0
    size = 1.0 + per_replica * fill
    peak = size
    for _ in range(100):  # batch_cycle's loop without its min(batch, …)
        grown = max(1.0 + per_replica * fill, per_replica * service_of(size))
        if grown > peak:
            peak = grown
        if abs(grown - size) <= 1e-9 * size:
            break
        size = grown
    service = service_of(size)
    return peak, (fill, size, service, min(1.0, per_replica * service / size))


def _uniform_sum_cdf(z: float, a: float, b: float) -> float:
    """P(U(0,a) + U(0,b) ≤ z), widths ≥ 0 (a zero width is a point at 0)."""
    if a > b:
        a, b = b, a
    if z <= 0.0:
        return 0.0 if z < 0.0 or a + b > 0.0 else 1.0
    if z >= a + b:
        return 1.0
    if a == 0.0:
        return z / b
    if z < a:
        return z * z / (2.0 * a * b)
    if z < b:
        return (2.0 * z - a) / (2.0 * b)
    return 1.0 - (a + b - z) ** 2 / (2.0 * a * b)


def _close_and_residual_cdf(fill: float, oldest: float, service: float, busy: float) -> Callable[[float], float]:
    """The cdf of X + Y: X = fill w.p. `oldest`, else U(0, fill); Y = U(0, service) w.p. `busy`, else 0.

    _uniform_sum_cdf's three cases written out, the same operations on the same numbers (so the same bisection):
    the search bisects ~20 times per quantile and asks for thousands of quantiles, where the calls cost more than
    the arithmetic."""
    idle, young, whole = 1.0 - busy, 1.0 - oldest, fill + service
    short, long = (service, fill) if fill > service else (fill, service)  # as _uniform_sum_cdf orders the widths

    def cdf(z: float) -> float:
        x = z - fill  # _uniform_sum_cdf(z - fill, 0.0, service)
        if x <= 0.0:
            residual = 0.0 if x < 0.0 or service > 0.0 else 1.0
        elif x >= service:
            residual = 1.0
        else:
            residual = x / service
        if z <= 0.0:  # _uniform_sum_cdf(z, fill, 0.0) and _uniform_sum_cdf(z, fill, service)
            closing = 0.0 if z < 0.0 or fill > 0.0 else 1.0
            both = 0.0 if z < 0.0 or whole > 0.0 else 1.0
        else:
            closing = 1.0 if z >= fill else z / fill
            if z >= whole:
                both = 1.0
            elif short == 0.0:
                both = z / long
            elif z < short:
                both = z * z / (2.0 * short * long)
            elif z < long:
                both = (2.0 * z - short) / (2.0 * long)
            else:
                both = 1.0 - (whole - z) ** 2 / (2.0 * short * long)
        return oldest * (idle * (z >= fill) + busy * residual) + young * (idle * closing + busy * both)

    return cdf


def _close_and_residual_quantile(fill: float, oldest: float, service: float, busy: float, q: float) -> float:
    """q-quantile of X + Y (_close_and_residual_cdf), by bisection to 1e-6 of its range."""
    cdf = _close_and_residual_cdf(fill, oldest, service, busy)
    lo, hi = 0.0, fill + service
    while hi - lo > 1e-6 * (fill + service):  # the cdf increases: bisection to 1e-6 of its range
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if cdf(mid) < q else (lo, mid)
    return hi


class Percentile:
    """One percentile of a dynamic-batching configuration, service + _close_and_residual_quantile(…), worked out a
    bisection step at a time: a search that only compares it (with a target, or with another configuration's)
    stops as soon as the comparison is decided. The steps are the quantile's own, in its order, so the value it
    ends on is the same number; at every step it lies in [low, high] (the quantile is in [lo, hi], and a float sum
    is monotone). An exact value (no bisection: batches of one, unlimited replicas, unstable) is its own bounds."""

    __slots__ = ("cdf", "q", "service", "lo", "hi", "tolerance", "low", "high")

    def __init__(self, service: float, fill: float = 0.0, oldest: float = 1.0, busy: float = 0.0, q: float = 0.5,
                 exact: bool = False) -> None:
        self.service, self.q = service, q
        self.lo, self.hi = 0.0, fill + service
        self.tolerance = 1e-6 * (fill + service)
        self.cdf: Callable[[float], float] | None = None if exact else _close_and_residual_cdf(fill, oldest, service,
                                                                                               busy)
        if exact:
            self.low = self.high = service
        else:
            self.low, self.high = service + self.lo, service + self.hi

    def step(self) -> bool:
        """One bisection step (False: the value is reached)."""
        if self.cdf is None or not self.hi - self.lo > self.tolerance:
            return False
        mid = (self.lo + self.hi) / 2
        if self.cdf(mid) < self.q:
            self.lo = mid
            self.low = self.service + mid
        else:
            self.hi = mid
            self.high = self.service + mid
        return True

    def value(self) -> float:
        """The percentile (batch_latency's number)."""
        while self.step():
            pass
        return self.high

    def within(self, limit: float) -> bool:
        """value() <= limit, stepping only until that is decided."""
        while True:
            if self.high <= limit:
                return True
            if self.low > limit or not self.step():
                return self.high <= limit

    def below(self, other: Percentile) -> bool:
        """value() < other.value(), stepping each only until that is decided."""
        if self is other:
            return False
        while True:
            if self.high < other.low:
                return True
            if self.low >= other.high:
                return False
            wider = self if self.high - self.low >= other.high - other.low else other
            if not wider.step() and not (other if wider is self else self).step():
                return self.high < other.high
