"""Queueing: Erlang C waiting probability and waiting-time percentiles for M/M/c (FORMULAS.md, 'Time and queues')."""
from __future__ import annotations

import math


def erlang_c(servers: int, offered_load: float) -> float:
    """Probability that an arrival waits, C(c, a), for c servers and offered load a = λ/μ (1.0 when a ≥ c).

    Computed from Poisson terms in log space, so it stays finite for thousands of servers:
    Erlang B = P(N=c)/P(N≤c) for N ~ Poisson(a); C = c·B / (c − a·(1 − B)).
    """
    if offered_load <= 0:
        return 0.0
    if offered_load >= servers:
        return 1.0
    if servers <= 64:  # Erlang B recursion B(k) = a·B(k−1) / (k + a·B(k−1)): exact and cheap for few servers
        erlang_b = 1.0
        for k in range(1, servers + 1):
            erlang_b = offered_load * erlang_b / (k + offered_load * erlang_b)
        return servers * erlang_b / (servers - offered_load * (1.0 - erlang_b))
    import numpy as np  # only for many servers; keeps numpy off the start-up path

    k = np.arange(servers + 1, dtype=float)
    log_fact = np.concatenate(([0.0], np.cumsum(np.log(k[1:]))))
    log_terms = k * math.log(offered_load) - log_fact
    top = float(log_terms.max())
    log_sum = top + math.log(float(np.exp(log_terms - top).sum()))
    erlang_b = math.exp(log_terms[-1] - log_sum)
    return float(servers * erlang_b / (servers - offered_load * (1.0 - erlang_b)))


def wait_quantile(servers: int, arrival_rate: float, service_rate: float, q: float) -> float:
    """The q-quantile of the waiting time in M/M/c: P(W > t) = C·exp(−(cμ − λ)t); inf when unstable."""
    capacity = servers * service_rate
    if arrival_rate >= capacity:
        return math.inf
    waiting = erlang_c(servers, arrival_rate / service_rate)
    tail = 1.0 - q
    if waiting <= tail:
        return 0.0
    return math.log(waiting / tail) / (capacity - arrival_rate)


def wait_quantiles(servers: int, arrival_rate: float, service_rate: float, qs: tuple[float, ...]) -> list[float]:
    """Several waiting-time quantiles of one M/M/c queue, computing C(c, a) once."""
    capacity = servers * service_rate
    if arrival_rate >= capacity:
        return [math.inf for _ in qs]
    waiting = erlang_c(servers, arrival_rate / service_rate)
    return [0.0 if waiting <= 1.0 - q else math.log(waiting / (1.0 - q)) / (capacity - arrival_rate) for q in qs]
