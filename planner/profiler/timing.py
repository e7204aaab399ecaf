"""Timing with torch.utils.benchmark (warm-up, blocked autorange, device synchronisation) and peak memory."""
from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import torch
from torch.utils.benchmark import Timer


@dataclass(frozen=True)
class Timing:
    """Median and interquartile range of one call, seconds."""

    median_s: float
    iqr_s: float
    runs: int

    @property
    def spread(self) -> float:
        """IQR ÷ median."""
        return self.iqr_s / self.median_s if self.median_s > 0 else 0.0


def synchronize(device: str) -> None:
    """Wait for queued device work (CUDA/MPS); a no-op on CPU."""
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    elif device == "mps":
        torch.mps.synchronize()


SPREAD_TARGET = 0.05
"""Timing stops early once IQR/median is below this (issue 3: spread ≤ 5 % for each reported time)."""


def time_call(fn: Callable[[], object], device: str = "cpu", max_run_time: float = 0.5, warmup: int = 1) -> Timing:
    """Time `fn` with Timer.adaptive_autorange after `warmup` calls: blocks of runs until IQR/median falls below
    SPREAD_TARGET or `max_run_time` is spent. The Timer synchronises CUDA itself; MPS gets a synchronisation
    inside the statement."""
    for _ in range(warmup):
        fn()
    synchronize(device)
    stmt = "fn(); sync()" if device == "mps" else "fn()"
    timer = Timer(stmt=stmt, globals={"fn": fn, "sync": lambda: synchronize(device)})
    measurement = timer.adaptive_autorange(threshold=SPREAD_TARGET, min_run_time=0.01, max_run_time=max_run_time)
    return Timing(float(measurement.median), float(measurement.iqr), len(measurement.times))


def peak_memory_bytes(fn: Callable[[], object], device: str = "cpu") -> float:
    """Bytes allocated at the peak of one call of `fn`, beyond what was allocated before it.

    CUDA: the caching allocator's max_memory_allocated. CPU: torch.profiler with profile_memory=True; every op
    reports the bytes it allocated and freed (self_cpu_memory_usage), so the running sum in time order is the live
    allocation and its maximum the peak (resolved per op, so a transient inside one kernel is not seen).
    """
    if device.startswith("cuda"):
        synchronize(device)
        before = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        fn()
        synchronize(device)
        return float(torch.cuda.max_memory_allocated() - before)
    from torch.profiler import ProfilerActivity, profile

    with _quiet_stderr(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    live = peak = 0
    for event in sorted(prof.events(), key=lambda e: e.time_range.start):
        live += event.self_cpu_memory_usage
        peak = max(peak, live)
    return float(peak)


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Kineto prints 'profiler_start/stop' lines straight to file descriptor 2; hide them for the call."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def tensor_bytes(tensors: Iterable[torch.Tensor]) -> float:
    """Bytes held by some tensors, each storage once."""
    seen: set[int] = set()
    total = 0
    for t in tensors:
        if isinstance(t, torch.Tensor):
            key = t.untyped_storage().data_ptr()
            if key not in seen:
                seen.add(key)
                total += t.untyped_storage().nbytes()
    return float(total)
