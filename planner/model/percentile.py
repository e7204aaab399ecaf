"""A percentile of a latency distribution bisected on its cdf only as far as a comparison needs: the serving search
(planner/plans/serving.py) compares thousands of dynamic-batching percentiles (model/batching_chain.py) with targets
and with each other."""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

TOLERANCE = 1e-4
"""A percentile is worked out to this fraction of its upper bound (5 µs of a 50 ms p95: a twentieth of the
printed precision, 0.1 ms)."""


_RAMPS: dict[int, np.ndarray] = {}
"""1 … n as floats, by n (Percentile.grid)."""


class Percentile:
    """One percentile of a dynamic-batching configuration, bisected on its cdf as far as needed: a search that only
    compares it (with a target, or with another configuration's) stops as soon as the comparison is decided. Each
    step evaluates the cdf at `points` points across [low, high] at once, on its own grid alone (never in one call
    with another percentile's: numpy's matrix products need not give a row the same floats in a taller matrix), and
    keeps the cell the quantile is in, so its intervals are one nested sequence whatever comparisons are made, and a
    comparison decided on one interval is decided the same on every later one (model/batching_store.py keeps them
    between runs). An exact value (batches of one, unstable) is its own bounds (low == high)."""

    __slots__ = ("cdf", "cdfs", "q", "low", "high", "tolerance", "points")

    def __init__(self, low: float, high: float, cdf: Callable[[float], float] | None = None, q: float = 0.5,
                 cdfs: Callable[[np.ndarray], np.ndarray] | None = None, points: int = 1) -> None:
        self.low, self.high, self.cdf, self.cdfs, self.q, self.points = low, high, cdf, cdfs, q, points
        self.tolerance = TOLERANCE * high if math.isfinite(high) else 0.0

    def open(self) -> bool:
        """Not yet worked out to its tolerance."""
        return self.cdf is not None and self.high - self.low > self.tolerance

    def grid(self) -> np.ndarray:
        """The points of the next refinement: np.linspace(low, high, points + 2)[1:-1], the same floats (its
        arange · step + low) without its checks and conversions (hundreds of refinements per plan)."""
        step = (self.high - self.low) / (self.points + 1)
        ramp = _RAMPS.get(self.points)
        if ramp is None or step == 0.0:  # step 0: linspace's own path for subnormal steps
            import numpy as np  # only with a cdf (model/batching_chain.py), which has imported it

            if step == 0.0:
                return np.linspace(self.low, self.high, self.points + 2)[1:-1]
            ramp = _RAMPS[self.points] = np.arange(1.0, self.points + 1.0)
        out: np.ndarray = ramp * step
        out += self.low
        return out

    def narrow(self, points: np.ndarray, cdf: np.ndarray) -> None:
        """Keep the cell of `points` (the grid) that holds the quantile, from the cdf there."""
        below = int((cdf < self.q).sum())  # the cdf rises: the points below q come first
        if below:
            self.low = float(points[below - 1])
        if below < points.size:
            self.high = float(points[below])

    def step(self) -> bool:
        """One refinement (False: the value is reached)."""
        if not self.open():
            return False
        if self.cdfs is None:
            assert self.cdf is not None
            mid = (self.low + self.high) / 2
            if self.cdf(mid) < self.q:
                self.low = mid
            else:
                self.high = mid
            return True
        points = self.grid()
        self.narrow(points, self.cdfs(points))
        return True

    def value(self) -> float:
        """The percentile (batch_latency's number)."""
        while self.step():
            pass
        return self.high

    def within(self, limit: float) -> bool:
        """value() <= limit, stepping only until the bounds say so. Not the cdf at the limit: that says whether the
        true quantile is within the limit, and value() (up to TOLERANCE above it) may not be; an interval kept
        between runs (model/batching_store.py) decides value()'s comparisons alone."""
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
