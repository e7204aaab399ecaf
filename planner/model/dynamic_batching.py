"""Dynamic batching latency (encoders, CNNs, MLPs served in batches of up to `batch`, as Triton's dynamic batcher and
planner/model/simulation.py simulate_dynamic_batching): the percentiles of a request's latency — its wait for its
batch to close, then the batch's service time S(b) — from the stationary state of an embedded Markov chain, and the
same percentiles as Percentile objects bisected only as far as a comparison needs (the serving search,
planner/plans/serving.py, compares thousands of them with targets and with each other).

The system: one queue in front of `replicas` replicas. A batch opens at its first request; it closes when it holds
`batch` requests, or when its first has waited max_queue_delay T — but never before a replica is free — and takes
what has arrived. With F the first arrival and R the time from the previous batch's close until a replica frees,
the batch closes D = max(T, R − G) after F (G ~ Exp(λ), the time from that close to F: Poisson arrivals are
memoryless), so the gap between closes is max(G + T, R), and the batch carries b = 1 + Poisson(λ·D) requests:
the first waits D, the others arrived uniformly over (0, D) and wait a uniform share of it.

One replica: R = S(b) of the previous batch, so the batch sizes at closes form a Markov chain with, for R = r > T,
    P(b' = 1 + k | b) = e^{−λ(r−T)}·Pois(k; λT) + e^{−λr}·((λr)^{k+1} − (λT)^{k+1})/(k+1)!
(the first term: the first request comes after the replica frees; the second: D = r − G ∈ (T, r), integrated in
closed form), and Pois(k; λT) for r ≤ T. Its stationary distribution and the same integrals, weighted by the
batch's requests, give the latency's cdf exactly (no quadrature) while no batch reaches the limit (BatchingChain).
Where batches can reach it (LeftoverChain), a batch also closes at its B-th request, and one that fills before a
replica frees leaves the rest for the next: the state is then the requests present at a close.
Two replicas: the state at a close is the pair of residual service times, the batch's S(b) and the other
replica's, and R is the shorter (model/pair_chain.py). Three or more: one server c times as fast at closing batches
(R = S(b)/c: at full load they free, in turn, a batch's service apart, and at light load one is free whenever a
batch closes) up to MULTI_REPLICA_LOAD (model/chain_scope.py) where few of its closes wait for a replica; past it,
and wherever more than batching_chain.WAITING_SHARE of its closes wait (with no delay, every close), every
replica's free time, the embedded chain sampled (model/sampled_chain.py). Where batches reach the limit
(model/batching_chain.py _made): two or more past MULTI_REPLICA_LOAD, and below it where more than
batching_chain.WAITING_SHARE of LeftoverChain's closes wait for a replica (R = S(b)/c > T), are that chain sampled with full batches and the requests they leave waiting
(model/filling_chain.py); elsewhere LeftoverChain, one server c times as fast with the requests left behind.
Against the simulation (benchmarks/bench_dynamic_batching_agreement.py, docs/serving.md 'Known limits',
tests/test_dynamic_batching_agreement.py, benchmarks/prototypes/many_replicas_filling.py): p50, p95 and p99 within
8 % at 1–90 % of capacity on one to eight replicas with no delay, 1, 2 or 10 ms, the limit out of reach or filling
(limits 8–1,024 measured), but near saturation where the simulation's own seeds spread (RTX A6000, 8 replicas,
limit 512, 90 %: its seeds 1–5 give p95 169–220 ms; −17 % against seed 1, −5 % against their mean).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol

from planner.model.md_c import md_c_wait_plus_uniform_quantile
from planner.model.percentile import Percentile
from planner.schema.profile import Inference

BATCH_QUANTILES = (0.50, 0.95, 0.99)
BATCH_RANKED = "latency_p95"
"""The percentile that ranks non-generative configurations meeting the targets (plan_batch_serving)."""
BATCH_KEYS = [(f"latency_p{round(q * 100)}", q) for q in BATCH_QUANTILES]
"""The percentiles of a non-generative plan, by their keys."""


def judged_keys(inf: Inference) -> list[tuple[str, float]]:
    """The percentiles that judge and rank a configuration: those with a target, and the p95 (BATCH_RANKED)."""
    return [(key, q) for key, q in BATCH_KEYS if key == BATCH_RANKED or getattr(inf.slo, key) is not None]


def batch_cycle(inf: Inference, per_replica: float, batch: int, service_of: Callable[[float], float]
                ) -> tuple[float, float]:
    """(fill, b): a batch's longest wait to fill, min(max_queue_delay, (batch − 1)/λᵣ), and the requests it carries
    at the mean-field fixed point b = min(batch, max(1 + λᵣ·fill, λᵣ·S(b))) at λᵣ = `per_replica` requests/s: the
    cycle that sizes a simulation's length (plans/serving.py simulate_plan; simulation_length.first_requests)."""
    fill = min((batch - 1) / per_replica, inf.max_queue_delay or 0.0)
    size = min(float(batch), 1.0 + per_replica * fill)
    for _ in range(100):
        grown = min(float(batch), max(1.0 + per_replica * fill, per_replica * service_of(size)))
        if abs(grown - size) <= 1e-9 * size:
            break
        size = grown
    return fill, size


class ChainView(Protocol):
    """What the search reads of a chain: model/batching_chain.py's Chain, or model/batching_store.py's KnownChain."""

    open: bool
    top: int

    def percentile(self, q: float) -> Percentile:
        ...


BatchingOf = Callable[[float, int | None], ChainView]
"""The chain at (rate, replicas) of one batch limit on one GPU (a caller's cache of batching_store.stored_chain)."""


def batch_latency(inf: Inference, replicas: int | None, batch: int, service_of: Callable[[float], float],
                  rate: float, whole: bool = True, state_of: BatchingOf | None = None,
                  judged: list[tuple[str, float]] | None = None) -> dict[str, float]:
    """Latency p50/p95/p99 of dynamic batching with batches of up to `batch`; service_of(b) is a batch's time. Not
    `whole`: only the percentiles with a target and the p95 (what judges and ranks a configuration; each
    percentile is computed on its own, so each is the same number either way).

    Batch size 1 is FCFS on `replicas` servers: M/D/c waits (md_c.md_c_wait, exact) plus the service. Larger
    batches: the chain (module docstring). Unstable (rate/replicas · S(batch) ≥ batch): inf. `state_of`: the
    caller's cache of batching_chain. `judged`: judged_keys(inf), when the caller has it.
    """
    wanted = BATCH_KEYS if whole else (judged if judged is not None else judged_keys(inf))
    # each percentile worked out on its own grid (Percentile.value), never the chain's values() of all at once: the
    # stored intervals (model/batching_store.py) must lie on the one sequence each percentile's own steps take
    return {key: p.value() for key, p in batch_percentiles(inf, replicas, batch, service_of, rate, state_of,
                                                            judged=wanted).items()}


def batch_percentiles(inf: Inference, replicas: int | None, batch: int, service_of: Callable[[float], float],
                      rate: float, state_of: BatchingOf | None = None,
                      judged: list[tuple[str, float]] | None = None, whole: bool = False) -> dict[str, Percentile]:
    """batch_latency's percentiles as Percentile objects, worked out when compared (`whole`: all of BATCH_KEYS;
    else those of `judged`, judged_keys(inf) when not given)."""
    wanted = BATCH_KEYS if whole else (judged if judged is not None else judged_keys(inf))
    if replicas is not None and rate / replicas * service_of(batch) >= batch:
        return {key: Percentile(math.inf, math.inf) for key, _ in wanted}
    if batch == 1:
        service = service_of(1)
        if replicas is None:
            return {key: Percentile(service, service) for key, _ in wanted}
        # md_c_wait_plus_uniform_quantiles(replicas, rate, service, 0.0, BATCH_QUANTILES), one quantile at a time
        return {key: Percentile(*(2 * (service + md_c_wait_plus_uniform_quantile(replicas, rate, service, 0.0, q,
                                                                                 max(BATCH_QUANTILES)),)))
                for key, q in wanted}
    chain = _chain(inf, replicas, batch, service_of, rate, state_of)
    return {key: chain.percentile(q) for key, q in wanted}


def _chain(inf: Inference, replicas: int | None, batch: int, service_of: Callable[[float], float], rate: float,
           state_of: BatchingOf | None) -> ChainView:
    """The caller's chain (state_of), or one made (or found in the store: model/batching_store.py)."""
    if state_of is not None:
        return state_of(rate, replicas)
    from planner.model.batching_store import stored_chain

    return stored_chain(rate, replicas, batch, inf.max_queue_delay or 0.0, service_of)
