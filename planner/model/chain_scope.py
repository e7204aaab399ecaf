"""Where the dynamic-batching chains hold (planner/model/batching_chain.py, model/pair_chain.py), numpy-free: the
decisions that name the plans past it import this, not the chains; and how far a window reaches (TAIL_SIGMAS,
always_free), which the serving search asks before it looks a chain up (model/batching_store.py: a run whose chains
all come from the store imports no numpy)."""
from __future__ import annotations

import math
from collections.abc import Callable

LEFTOVER_LIMIT = 256
"""The largest batch limit followed with requests left behind (LeftoverChain: its states reach about twice the
limit); above it a batch that reaches the limit is taken as closing at it (BatchingChain's last state), which at
memory-sized limits (hundreds to thousands) happens only within a few % of saturation."""
MULTI_REPLICA_LOAD = 0.60
"""The share of the capacity at full batches (rate over replicas × limit / S(limit)) up to which the one-server
chain of several replicas is within 10 % of the simulation at p50, p95 and p99 where their residuals are not followed
(benchmarks/bench_dynamic_batching_agreement.py: 3 and 4 replicas with the limit out of reach, and 2 or 3 whose
batches reach a limit of 64 at times, p95 within 5 % to 65 %; beyond, 4 replicas −4 to −25 % p95 at 80 % and −8 to
−53 % at 90 %, 3 −23 % at 80 % and −25 to −49 % at 90 %, 2 or 3 with a limit of 64 −11 to −22 % at 80 % and −18 to
−32 % at 90 %). Past it, three replicas with the limit out of reach are followed on their residuals
(model/triple_chain.py), as two are at every load (model/pair_chain.py), four or more on their embedded chain
sampled (model/sampled_chain.py), and two or three whose batches reach the limit on both what full batches leave
behind and the others' residuals (model/leftover_pair_chain.py, model/leftover_triple_chain.py)."""


def known_low(replicas: int, batch: int, utilization: float) -> bool:
    """Whether a plan's dynamic-batching latency is past where its chain is measured to hold, and low: four or more
    replicas whose batches may reach their limit (LeftoverChain, which treats them as one server as many times as
    fast: −4 to −34 % p95 at 80–90 % with a limit of 64), past MULTI_REPLICA_LOAD. One replica, two
    (model/pair_chain.py, and model/leftover_pair_chain.py where batches fill), three (model/triple_chain.py, and
    model/leftover_triple_chain.py where batches fill: limits 8–256 within 8.1 % at p50, p95 and p99 at 65–90 %,
    where one server three times as fast was down to −49 %) and four or more with the limit out of reach
    (model/sampled_chain.py: within 7.5 % at 65–90 %, c = 4, 5, 6, 8) hold at 1–90 % (docs/serving.md 'Known
    limits')."""
    several = replicas >= 4 and batch <= LEFTOVER_LIMIT
    return batch > 1 and several and utilization > MULTI_REPLICA_LOAD


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
