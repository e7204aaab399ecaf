"""How long the serving simulation (planner/model/simulation.py) runs and when its percentiles are settled: the
simulated result type, the run lengths (first_requests, requests_for) and the doubling that stops once every
target's verdict is settled (until_decided).

Pure Python, apart from the simulation itself: the serving search (planner/plans/serving.py) imports these at
start-up, and the numpy engine only when `--simulate` asks for a run, so an estimate without it never imports
numpy for the simulation (docs/internals.md, 'Performance').
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import field
from planner.dataclass import dataclass

WARMUP_FRACTION = 0.1
"""Share of the simulated requests dropped from the statistics: the queue starts empty."""
DEFAULT_REQUESTS = 200_000



PRECISION = 0.25
"""Relative 95 % half-width at which a settled percentile is printed: within ±25 % of the simulated system's
long-run value. The analytic percentile stays the plan's figure; the simulation checks its verdict, and a tighter
bound (±15 %, what 200,000 requests gave at ρ = 0.9) costs 2.7× the requests on serve-7b-chat (75 M vs 28 M)."""

@dataclass(frozen=True)
class SimulatedLatency:
    """Latency percentiles (seconds) of a simulated run, with what was simulated."""

    latency_s: dict[str, float]
    requests: int
    utilization: float
    half_width_s: dict[str, float] = field(default_factory=dict)
    """Half-width of each percentile's 95 % batch-means confidence interval."""
    largest_batch: int = 0
    """Dynamic batching: the most requests any batch carried (DynamicBatchingRuns shares runs below the cap)."""

    def precise(self, keys: dict[str, float]) -> bool:
        """Every key's 95 % half-width is within PRECISION of its percentile (what `--simulate` prints is that close)."""
        return all(self.half_width_s.get(k, float("inf")) <= PRECISION * self.latency_s[k]
                   for k in keys if k in self.latency_s)

    def decided(self, targets: dict[str, float]) -> bool:
        """Every target's percentile is above or below it with 95 % confidence (the plan's verdict is settled)."""
        return all(abs(self.latency_s[k] - t) > self.half_width_s.get(k, float("inf"))
                   for k, t in targets.items() if k in self.latency_s)



def until_decided(run: Callable[[int, frozenset[str]], SimulatedLatency], targets: dict[str, float], first: int,
                  most: int) -> SimulatedLatency:
    """`run(n, settled)` with n doubling from `first` until the targets' verdicts are settled, or cannot be settled
    within `most` requests (the relaxation-time bound of requests_for).

    Why stopping is safe. A simulated percentile matters through its comparison with the target and as a printed
    figure. Settled: the 95 % batch-means interval lies wholly on one side of every target, so more requests narrow
    it without flipping the verdict, and it is within ±PRECISION of the percentile, so the printed figure is too.
    Futile: an unsettled target is nearer its percentile than the half-width projected to `most` requests
    (half-widths shrink as 1/√n), so even the full horizon would leave the comparison a toss-up; the printed
    percentile of such a close call is within that half-width of the target either way.

    The same holds for each metric on its own (`ttft`, `tpot`, `latency`: the keys' prefix): once every target of
    a metric is settled, its percentiles are kept from that run and the longer runs are told to skip it (`settled`:
    continuous batching then skips the cut-in count, nearly half a run's work, while TTFT alone is still open).

    n doubles, except that a decided target whose percentile cannot become precise before `most` — its half-width
    shrunk as 1/√n to `most` still above PRECISION of it — sends the next run to `most` at once: the runs in
    between could not settle it, and the run at `most` is the same whichever way it is reached."""
    n = min(first, most)
    kept: dict[str, SimulatedLatency] = {}  # metric → the run at which its targets settled
    while True:
        sim = _with_settled(run(n, frozenset(kept)), kept)
        if n >= most or (sim.decided(targets) and sim.precise(targets)) or _futile(sim, targets, n, most):
            return sim
        for metric in {k.rsplit("_", 1)[0] for k in sim.latency_s} - set(kept):
            own = {k: t for k, t in targets.items() if k.rsplit("_", 1)[0] == metric}
            if sim.decided(own) and sim.precise(own):
                kept[metric] = sim
        n = most if _beyond_reach(sim, targets, n, most) else min(2 * n, most)


def _beyond_reach(sim: SimulatedLatency, targets: dict[str, float], n: int, most: int) -> bool:
    """A target is decided but its percentile's half-width, shrunk as 1/√n to `most` requests, would still exceed
    PRECISION of it: no run before `most` can make it precise, so doubling up to it only repeats work."""
    shrink = (n / most) ** 0.5
    return any(sim.half_width_s.get(k, 0.0) * shrink > PRECISION * sim.latency_s[k]
               for k, t in targets.items() if k in sim.latency_s and abs(sim.latency_s[k] - t) > sim.half_width_s[k])


def _with_settled(sim: SimulatedLatency, kept: dict[str, SimulatedLatency]) -> SimulatedLatency:
    """The run's percentiles, with those of the settled metrics from the runs at which they settled."""
    if not kept:
        return sim
    latency, widths = dict(sim.latency_s), dict(sim.half_width_s)
    for metric, earlier in kept.items():
        for key in earlier.latency_s:
            if key.rsplit("_", 1)[0] == metric:
                latency[key] = earlier.latency_s[key]
                widths[key] = earlier.half_width_s[key]
    return dataclasses.replace(sim, latency_s=latency, half_width_s=widths)


def _futile(sim: SimulatedLatency, targets: dict[str, float], n: int, most: int) -> bool:
    open_ = [k for k, t in targets.items()
             if k in sim.latency_s and abs(sim.latency_s[k] - t) <= sim.half_width_s.get(k, float("inf"))]
    shrink = (n / most) ** 0.5
    return bool(open_) and all(abs(sim.latency_s[k] - targets[k]) < sim.half_width_s[k] * shrink for k in open_)



HEAVY_TRAFFIC_REQUESTS = 20_000
"""Requests × (1 − ρ)² simulated: queues relax in a time that grows as 1/(1 − ρ)² (Kingman). Measured on the
serve-7b-chat plans at ρ = 0.9: 200,000 requests put the TTFT p95 within ±15 % across seeds, 2,000,000 within ±3 %."""
MAX_REQUESTS = 2_000_000


FIRST_REQUESTS = 25_000
"""Where until_decided starts at least: 22,500 kept requests, 2,250 per batch, so each batch's p99 rests on ~22
requests."""
CYCLES_PER_RUN = 400
"""first_requests: kept requests per request arriving during one holding cycle, so each of the BATCHES batch-means
batches spans ≥ 40 cycles of the system."""


def first_requests(cycle_requests: float) -> int:
    """Where until_decided starts for a system in which `cycle_requests` requests arrive while one is held (λ·D of
    continuous batching: the slots busy on average; λ·(fill + S(b)) of dynamic batching).

    The system forgets its state within a few such cycles away from heavy traffic (an idle slot carries none of
    it; heavy traffic is the (1 − ρ)⁻² term of requests_for, the bound of the doubling), so batches of ≥ 40 cycles
    give batch means that are nearly independent, which the batch-means interval assumes. Idle slots no longer
    count, as they did when every slot had to serve 400 requests: serve-7b-chat's first runs were 444 per slot,
    113,778 requests for 256 slots of which ~160 were busy."""
    return int(min(MAX_REQUESTS, max(FIRST_REQUESTS, CYCLES_PER_RUN * cycle_requests / (1.0 - WARMUP_FRACTION))))



def requests_for(servers: int, utilization: float = 0.0, minimum: int = DEFAULT_REQUESTS) -> int:
    """Requests to simulate: every slot serves a few hundred after the warm-up, and heavy traffic runs longer."""
    slack = max(1.0 - utilization, 1e-3)
    return int(min(MAX_REQUESTS, max(minimum, 400 * servers / (1.0 - WARMUP_FRACTION),
                                     HEAVY_TRAFFIC_REQUESTS / slack**2)))
