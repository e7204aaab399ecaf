"""Discrete-event simulation (numpy, seeded, vectorised) of the serving systems planner/plans/serving.py models
analytically, to check its queueing approximations and to report simulated percentiles (`--simulate`).

Generative (continuous batching): `replicas × batch` slots behind one first-come-first-served queue; a request
holds a slot for the replica's full-load cycle D (its prefill, its decode steps and the prefills of the other
slots that cut in). With equal holding times, request n starts at max(arrival_n, finish_{n−c}) on the slot request
n−c used (Crommelin 1932, the M/D/c ⇄ E_c/D/1 reduction), so each slot's sequence is a Lindley recursion solved
with one cumulative maximum: start = k·D + cummax(arrival − k·D) down each slot's column (model/slot_queue.py).

Non-generative (dynamic batching, as Triton's dynamic batcher): each free replica takes up to `batch` waiting
requests, waiting at most `max_queue_delay` after the oldest arrived for the batch to fill; one loop step per
batch, vectorised over the requests of a batch.
"""
from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from heapq import heappop, heappush

import numpy as np

from planner.model.order_statistics import counted_quantiles, quantiles_in_place
from planner.model.serving_features import slot_hold_seconds
from planner.model.simulation_length import DEFAULT_REQUESTS, WARMUP_FRACTION, SimulatedLatency
from planner.model.slot_queue import slot_starts, slot_ttft

BATCHES = 10
"""Batch means (Law & Kelton, Simulation Modeling and Analysis, ch. 9): the kept requests are cut into this many
consecutive batches; the spread of a percentile over them gives its confidence interval despite the correlation
of neighbouring requests' waits."""
T_975_9 = 2.262
"""Student t quantile 0.975 with BATCHES − 1 = 9 degrees of freedom: a two-sided 95 % interval."""


def _arrivals(rate: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """Poisson arrival times: cumulative exponential gaps."""
    return np.cumsum(rng.exponential(1.0 / rate, n))


TRAFFIC_BLOCK = 1 << 15
"""Smallest traffic drawn (_traffic): requests are drawn in powers of two from this up."""
_DRAWN: dict[tuple[float, int], tuple[np.ndarray, np.ndarray]] = {}
"""The longest traffic drawn per (rate, seed), the latest two (_traffic)."""


def _traffic(rate: float, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The first n Poisson arrival times at `rate` (as _arrivals with default_rng(seed)) and n uniforms from a
    second stream, (seed, 1), both read-only and shared: every continuous-batching simulation of an estimate — one
    rate, one seed, plans that differ in their servers — sees the same requests (common random numbers: the plans
    are compared on the same traffic, and it is drawn once). Each stream is generated value after value, so the
    first n of a longer draw are the n of a shorter one: the result depends on (rate, n, seed) alone, and the
    longest draw so far serves every shorter run (drawn again, twice as long, only when a run is longer)."""
    key = (rate, seed)
    drawn = _DRAWN.pop(key, None)
    if drawn is None or drawn[0].size < n:
        size = max(TRAFFIC_BLOCK, 1 << (n - 1).bit_length())
        arrivals = _arrivals(rate, size, np.random.default_rng(seed))
        uniforms = np.random.default_rng((seed, 1)).random(size)
        arrivals.flags.writeable = False
        uniforms.flags.writeable = False
        drawn = (arrivals, uniforms)
    _DRAWN[key] = drawn  # most recent last
    while len(_DRAWN) > 2:
        del _DRAWN[next(iter(_DRAWN))]
    return drawn[0][:n], drawn[1][:n]


def _percentiles(values: np.ndarray, prefix: str, qs: tuple[float, ...], overwrite: bool = False
                 ) -> dict[str, float]:
    """`values`' quantiles by name, as np.quantile gives them (overwrite: the array may be reordered instead of
    copied)."""
    rows = (values if overwrite else values.copy()).reshape(1, -1)
    return {f"{prefix}_p{round(q * 100)}": float(v) for q, v in zip(qs, quantiles_in_place(rows, qs)[0])}


def _half_widths(values: np.ndarray, prefix: str, qs: tuple[float, ...], overwrite: bool = False
                 ) -> dict[str, float]:
    """95 % batch-means half-widths of the percentiles of `values` (in request order; overwrite: each batch may be
    reordered within its place)."""
    usable = values[: values.size - values.size % BATCHES]
    per_batch = quantiles_in_place((usable if overwrite else usable.copy()).reshape(BATCHES, -1), qs)
    return _spread(np.ascontiguousarray(per_batch.T), prefix, qs)  # (len(qs), BATCHES)


def _spread(per_batch: np.ndarray, prefix: str, qs: tuple[float, ...]) -> dict[str, float]:
    spread = per_batch.std(axis=1, ddof=1) / np.sqrt(BATCHES) * T_975_9
    return {f"{prefix}_p{round(q * 100)}": float(w) for q, w in zip(qs, spread)}


def _count_percentiles(counts: np.ndarray, levels: np.ndarray, prefix: str, qs: tuple[float, ...]
                       ) -> tuple[dict[str, float], dict[str, float]]:
    """_percentiles and _half_widths of the sample levels[counts] (counts: small non-negative integers, in request
    order), from per-batch tallies."""
    k = levels.size
    size = counts.size - counts.size % BATCHES
    width = size // BATCHES
    # one tally per batch, and the whole sample's as their sum plus the few left over: one pass over the counts
    tallies = np.stack([np.bincount(counts[b * width:(b + 1) * width], minlength=k) for b in range(BATCHES)])
    whole = (tallies.sum(axis=0) + np.bincount(counts[size:], minlength=k))[None, :]
    values = counted_quantiles(levels, whole, qs)[0]
    per_batch = np.ascontiguousarray(counted_quantiles(levels, tallies, qs).T)  # (len(qs), BATCHES)
    return ({f"{prefix}_p{round(q * 100)}": float(v) for q, v in zip(qs, values)},
            _spread(per_batch, prefix, qs))


def _cut_ins(starts: np.ndarray, replicas: int, prefill_s: float, hold_s: float) -> np.ndarray:
    """Per request: the starts on its own replica while it decodes, in (start + prefill, start + hold).

    Round-robin over replicas × batch slots puts request n on replica n mod replicas (servers is a multiple of
    replicas), and FCFS with equal holds starts requests in arrival order, so each replica's starts are the sorted
    column starts[r::replicas]. Shifting column r by r·offset (offset beyond every time of the run) and laying the
    columns end to end gives one sorted array, searched with sorted queries: no per-replica loop.

    The searches are merges: the keys and the (sorted) queries laid end to end are two sorted runs, which a stable
    sort (timsort) merges in linear time, and the i-th query lands at i + the keys before it — queries first on
    ties for keys < query, keys first for keys ≤ query. The same counts as np.searchsorted ('left', 'right'), in
    about half its time (two binary searches per request).

    What is merged is the values themselves, not their order (an indirect sort takes ~40 % longer): every time is
    positive and finite, and the bits of a positive IEEE-754 double read as an unsigned integer order as the
    values do, so shifted left by one (the sign bit, 0, drops out) they leave the lowest bit free to mark keys (1)
    against queries (0): sorted, a query precedes the keys equal to it, and the zero bits are the queries, in
    order."""
    n = starts.size
    rows = -(-n // replicas)
    last = float(starts.max(initial=0.0)) + hold_s
    grid = np.empty((rows, replicas))
    grid.reshape(-1)[:n] = starts
    grid.reshape(-1)[n:] = last + 0.5  # padding: after every query of the column, before the next column
    np.maximum.accumulate(grid, axis=0, out=grid)  # float rounding never unsorts a column
    offset = last + 1.0
    columns = np.empty((replicas, rows))  # the columns end to end, written in one pass
    np.add(grid.T, (np.arange(replicas) * offset)[:, None], out=columns)
    keys = columns.reshape(-1)
    size = keys.size
    # #keys < key + hold: the query's place in the merge less its own index i
    merged = np.empty(2 * size, dtype=np.uint64)
    np.left_shift((keys + hold_s).view(np.uint64), 1, out=merged[:size])
    np.left_shift(keys.view(np.uint64), 1, out=merged[size:])
    merged[size:] |= 1
    merged.sort(kind="stable")
    counts = np.flatnonzero((merged & 1) == 0)
    # minus #keys ≤ key + prefill: the i + 1 keys up to the key itself and the few after it that start within a
    # prefill, counted by stepping ahead while any does (the keys are sorted, so those are the next ones): one pass
    # over the requests, then passes over the few still within a prefill, instead of a second merge
    counts -= 2 * np.arange(size) + 1
    within = keys + prefill_s
    # the key `step` places ahead is within a prefill only where the one `step − 1` ahead is (the keys are
    # sorted): compared as shifted slices while many are (no gathers), then followed by index
    step, active = 1, None
    while active is None and step < size:
        ahead = keys[step:] <= within[:-step]
        found = int(np.count_nonzero(ahead))
        if 8 * found < size - step:  # few left: follow them by index
            active = np.flatnonzero(ahead)
        else:
            counts[:-step] -= ahead
            step += 1
    while active is not None and active.size:
        counts[active] -= 1
        step += 1
        active = active[active + step < size]
        active = active[keys[active + step] <= within[active]]
    cut_ins: np.ndarray = counts.reshape(replicas, rows).T.ravel()[:n]
    return cut_ins


def simulate_llm(rate: float, replicas: int, batch: int, prefill_s: float, step_s: float, output_tokens: int,
                 requests: int = DEFAULT_REQUESTS, seed: int = 0, cut_s: float | None = None,
                 skip: frozenset[str] = frozenset()) -> SimulatedLatency:
    """TTFT and TPOT percentiles of continuous batching on `replicas` replicas of `batch` slots.

    TTFT = queueing for a slot + the running decode step (uniform phase) + the request's prefill.
    TPOT = a decode step + what the prefills started on the same replica during the request's decode cost it,
    spread over its output tokens: each a whole prefill, or with chunked prefill (`cut_s`, Sarathi-Serve: the
    prompt rides along decode steps in chunks) only the excess of the fused steps over plain ones
    (model/serving_features.py). A slot is held prefill + (batch − 1)·cut + output·step. Requests are routed
    round-robin: slot j belongs to replica j mod replicas. `skip`: metrics ("tpot") not computed (until_decided
    has them from a shorter run).
    """
    cut = prefill_s if cut_s is None else cut_s
    hold = slot_hold_seconds(batch, prefill_s, cut_s, output_tokens, step_s)
    servers = replicas * batch
    arrivals, uniforms = _traffic(rate, requests, seed)
    starts = None if "tpot" in skip else np.empty(requests)
    # TTFT = start − arrival + the rest of the running decode step + the prefill (a longer run of the same system
    # continues the previous one: slot_queue.slot_ttft)
    ttft = slot_ttft(arrivals, uniforms, (rate, seed), servers, hold, step_s, prefill_s, starts)
    keep = slice(int(requests * WARMUP_FRACTION), requests)
    qs = (0.50, 0.95, 0.99)
    tpot: dict[str, float] = {}
    tpot_widths: dict[str, float] = {}
    if starts is not None:
        cut_ins = _cut_ins(starts, replicas, prefill_s, hold)
        # TPOT takes one value per cut-in count (at most batch − 1): percentiles from counts, not a partition
        levels = step_s + np.arange(int(cut_ins.max(initial=0)) + 1, dtype=float) * cut / output_tokens
        tpot, tpot_widths = _count_percentiles(cut_ins[keep], levels, "tpot", qs)
    # half-widths first: they partition each batch of the kept TTFTs in place, which leaves the whole's quantiles
    # (a function of the values, not their order) to partition the same array without a copy
    widths = {**_half_widths(ttft[keep], "ttft", qs, overwrite=True), **tpot_widths}
    latency = {**_percentiles(ttft[keep], "ttft", qs, overwrite=True), **tpot}
    span = arrivals[-1] - arrivals[0]
    return SimulatedLatency(latency, requests, float(requests * hold / (servers * span)), widths)


def simulate_dynamic_batching(rate: float, replicas: int, batch: int, service_of: Callable[[int], float],
                              max_queue_delay: float | None,
                              requests: int = DEFAULT_REQUESTS, seed: int = 0) -> SimulatedLatency:
    """Latency percentiles of dynamic batching: a free replica takes up to `batch` waiting requests, after waiting
    up to `max_queue_delay` from the oldest one's arrival for the batch to fill (none: it never waits to fill).

    `service_of(b)` is the service time of a batch of b requests (seconds).
    """
    rng = np.random.default_rng(seed)
    arrivals = _arrivals(rate, requests, rng)
    service: dict[int, float] = {}  # by batch size, as batches of it form (a cap of thousands may never be reached)
    if batch == 1:  # one request per batch: FCFS on `replicas` servers with equal service, solved in one pass
        one = service_of(1)
        done = slot_starts(arrivals, replicas, one) + one
        busy = requests * one
        largest = 1
    else:
        delay = 0.0 if max_queue_delay is None else max_queue_delay
        free = [0.0] * replicas  # a heap of the times the replicas come free
        finishes: list[float] = []
        sizes: list[int] = []
        busy = 0.0
        arr = arrivals.tolist()
        i = 0
        while i < requests:  # one step per batch; plain comparisons, not max()/min() calls: this loop is the cost
            first = arr[i]
            ready = heappop(free)
            if first > ready:
                ready = first
            last = i + batch - 1 if i + batch < requests else requests - 1
            # the batch closes when it is full, or when the oldest has waited `delay` (not before the replica is free)
            close = first + delay
            if arr[last] < close:
                close = arr[last]
            if ready > close:
                close = ready
            j = bisect_right(arr, close, i + 1, last + 1)  # the requests arrived by then (arrivals are sorted)
            size = j - i
            took = service.get(size)
            if took is None:
                took = service[size] = service_of(size)
            finish = close + took
            finishes.append(finish)
            sizes.append(size)
            busy += took
            heappush(free, finish)
            i = j
        done = np.repeat(np.array(finishes), sizes)
        largest = max(sizes)
    latency = done - arrivals
    keep = slice(int(requests * WARMUP_FRACTION), requests)
    span = arrivals[-1] - arrivals[0]
    qs = (0.50, 0.95, 0.99)
    return SimulatedLatency(_percentiles(latency[keep], "latency", qs), requests, float(busy / (replicas * span)),
                            _half_widths(latency[keep], "latency", qs), largest)


class DynamicBatchingRuns:
    """simulate_dynamic_batching runs shared by the systems of one estimate whose runs are provably the same.

    Two systems with the same rate, replicas, max_queue_delay, requests and seed draw the same arrivals. If no batch
    of a run reached its cap (largest_batch < batch), every batch closed at max(free, oldest + delay) with fewer
    requests than the cap, and under any cap above largest_batch the same batch closes at the same time; with equal
    service times for the batch sizes the run formed, the replicas come free at the same times too, so by induction
    over batches the run — percentiles, half-widths, utilisation — is the same, bit for bit. Runs that filled their
    cap are shared only at the same cap. What it saves: a host-bound model (bert-base at 200/s) has the same service
    time at the small batches that form on every GPU type, whatever each GPU's largest batch."""

    def __init__(self) -> None:
        self._runs: dict[tuple[float, int, float | None, int, int],
                         list[tuple[dict[int, float], int, SimulatedLatency]]] = {}
        self.simulated = 0
        """Runs simulated (the others were shared)."""

    def run(self, rate: float, replicas: int, batch: int, service_of: Callable[[int], float],
            max_queue_delay: float | None, requests: int, seed: int) -> SimulatedLatency:
        """simulate_dynamic_batching(...), or the run of a system it provably equals."""
        key = (rate, replicas, max_queue_delay, requests, seed)
        for formed, cap, done in self._runs.get(key, []):
            below_both = done.largest_batch < cap and done.largest_batch < batch
            if (below_both or cap == batch) and all(service_of(b) == t for b, t in formed.items()):
                return done
        used: dict[int, float] = {}

        def recorded(b: int) -> float:
            used[b] = service_of(b)
            return used[b]

        sim = simulate_dynamic_batching(rate, replicas, batch, recorded, max_queue_delay, requests, seed)
        self._runs.setdefault(key, []).append((used, batch, sim))
        self.simulated += 1
        return sim
