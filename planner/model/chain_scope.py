"""Where the dynamic-batching chains hold (planner/model/batching_chain.py, model/pair_chain.py), numpy-free, and how
far a window reaches (TAIL_SIGMAS, always_free), which the serving search asks before it looks a chain up
(model/batching_store.py: a run whose chains all come from the store imports no numpy)."""
from __future__ import annotations

import math
from collections.abc import Callable

LEFTOVER_LIMIT = 256
"""The largest batch limit followed with requests left behind (LeftoverChain, on one replica, or several up to
MULTI_REPLICA_LOAD where at most batching_chain.WAITING_SHARE of its closes wait for a replica; its states reach about twice the limit); above it a
batch that reaches the limit is taken as closing at it (BatchingChain's last state), which at memory-sized limits
(hundreds to thousands) happens only within a few % of saturation. Three or more whose sampled chain draws a batch
at the limit, and two whose pair chain reaches it (bert's curves: 95–97 % of capacity at limits 300 and 512, where
the one-server chain was −5 to −33 % p95), are sampled with full batches at any limit (model/filling_chain.py)."""
MULTI_REPLICA_LOAD = 0.60
"""The share of the capacity at full batches (rate over replicas × limit / S(limit)) up to which the one-server
chain of several replicas is within 10 % of the simulation at p50, p95 and p99 where their residuals are not followed
(benchmarks/bench_dynamic_batching_agreement.py: 3 and 4 replicas with the limit out of reach, and 2 or 3 whose
batches reach a limit of 64 at times, p95 within 5 % to 65 %; beyond, 4 replicas −4 to −25 % p95 at 80 % and −8 to
−53 % at 90 %, 3 −23 % at 80 % and −25 to −49 % at 90 %, 2 or 3 with a limit of 64 −11 to −22 % at 80 % and −18 to
−32 % at 90 %). Past it, three or more replicas with the limit out of reach are followed on their embedded chain
sampled (model/sampled_chain.py; below it too wherever the one-server chain's closes wait for a replica, with no
delay at every load: batching_chain WAITING_SHARE), two on their residuals at every load (model/pair_chain.py),
and two or more whose batches reach the limit sampled with full batches (model/filling_chain.py; below it too where
more than batching_chain.WAITING_SHARE of the one-server chain's closes wait for a replica, as without full batches:
one server c times as fast with what they leave behind was −72 to +22 % p95 at 10–60 % with no delay, −61 to +18 %
with 1 ms and down to −43 % with 2 ms, and within 1.7 % wherever at most 1 % of its closes waited)."""


KEPT = 1e-13
"""Share of all requests below which a LeftoverChain's close outcome is left out of the latency's mixture
(model/batching_chain.py; a state whose weight is at most it adds nothing: model/leftover_triple_chain.py)."""

TAIL_SIGMAS = 8.0
"""The chain's states reach past the Poisson mean of the longest window by this many standard deviations (and as
many requests): the probability left beyond is below 1e-14."""


def always_free(rate: float, replicas: int, limit: int, delay: float, service_of: Callable[[float], float]
                ) -> bool:
    """Whether a replica is free whenever a batch's delay runs out: every batch closes at its delay (D = T) and
    carries 1 + Pois(λT) requests, so R = S(b)/c ≤ T for every b it reaches (to TAIL_SIGMAS) — the chain of
    unlimited replicas, whatever the count. Not where a batch can reach the limit: it closes when it fills, before
    T, and a replica may still be busy then."""
    window = rate * delay
    reach = math.ceil(1.0 + window + TAIL_SIGMAS * (math.sqrt(window) + 1.0))
    return reach <= limit and service_of(float(reach)) / replicas <= delay


def reach(rate: float, replicas: int | None, limit: int, delay: float, service_of: Callable[[float], float]
          ) -> tuple[int | None, int, bool]:
    """batching_chain's replicas (None where a replica is always free), the one-server chain's largest batch size
    `top`, and whether batches may reach the limit and are followed with what they leave behind."""
    if replicas is not None and always_free(rate, replicas, limit, delay, service_of):
        replicas = None  # the same chain, exactly: no batch ever waits for a replica
    top = min(limit, 16)
    while True:
        # a batch of b ≤ top is followed by 1 + Pois(λ·max(T, S(b)/c)) requests (S rises with b, model/forward_time.py):
        # the chain stays below `top` when the longest window's Poisson tail does
        window = rate * max(delay, service_of(float(top)) / (replicas or 1))
        need = math.ceil(1.0 + window + TAIL_SIGMAS * (math.sqrt(window) + 1.0))
        if need <= top or top == limit:
            break
        top = min(limit, max(2 * top, need))
    return replicas, top, need > limit and limit <= LEFTOVER_LIMIT


def followed_past(rate: float, replicas: int, limit: int, delay: float, service_of: Callable[[float], float]) -> bool:
    """Whether batching_chain follows `replicas` past one server as many times as fast: two or more past
    MULTI_REPLICA_LOAD whose batches may reach the limit (on their residuals, or sampled: model/batching_chain.py
    one_server_low)."""
    if replicas < 2 or rate / replicas * service_of(float(limit)) >= limit:
        return False
    followed, _, leftover = reach(rate, replicas, limit, delay, service_of)
    return followed is not None and leftover and rate / replicas * service_of(float(limit)) / limit > MULTI_REPLICA_LOAD


KNOWN_LOW_MARGIN = 1.25
"""A percentile of one server c times as fast with what full batches leave behind (model/batching_chain.py
LeftoverChain) above its target by this factor: the chain batching_chain follows there is above the target too
(batching_chain.one_server_low; here, numpy-free, for plans/serving.py's known_over on a kept bound). Measured
(2026-12-02, bert-train-then-serve's RTX 3060 and RTX A6000 curves; 2, 3, 4 and 8 replicas; no delay, 0.1 ms, 1 ms
and 10 ms; limits 16, 64, 256; 65, 80 and 95 % of capacity; 273 cases): the one-server p50, p95 and p99 at most
3.6 % above the followed chain's (RTX A6000, three replicas, limit 16, 95 %, 10 ms), −60 % where furthest below; so a
one-server percentile past 1.25 × its target leaves the followed chain's past 1.2 × it."""
