"""Timing with torch.utils.benchmark (warm-up, blocked autorange, device synchronisation) and peak memory."""
from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch._C._profiler import _ExtraFields_Allocation
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

    CUDA: the caching allocator's max_memory_allocated. CPU: torch.profiler with profile_memory=True records every
    allocation and free with its size, in nanoseconds of one clock; the largest running sum during the call is the
    peak (transients inside a kernel included, as max_memory_allocated sees them). `fn` runs twice under the
    profiler and the second call is measured: a block allocated before profiling is freed without a size, so a
    step that frees the previous step's gradients (zero_grad) and allocates new ones would otherwise count them
    twice. Summing each op's net memory at its start time instead, as this did before, undercounts (an op's frees
    after its children count before the children allocate) and depends on how times round: a 1 MB swing between
    runs of the same step (issue 17)."""
    if device.startswith("cuda"):
        synchronize(device)
        before = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        fn()
        synchronize(device)
        return float(torch.cuda.max_memory_allocated() - before)
    from torch.autograd.profiler import record_function
    from torch.profiler import ProfilerActivity, profile

    with _quiet_stderr(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
        with record_function(_MEASURED):
            fn()
    return float(_allocation_peak(prof.profiler.kineto_results.experimental_event_tree()))


_MEASURED = "gpuplan::measured_call"


def _allocation_peak(roots: list[Any]) -> int:
    """Largest rise of the allocator's live bytes after the start of the _MEASURED call, from the event tree that
    torch.profiler's own memory timeline reads (allocation records carry alloc_size, negative for a free)."""
    records: list[tuple[int, int]] = []
    start: int | None = None
    stack = list(roots)
    while stack:
        event = stack.pop()
        stack.extend(event.children)
        if event.name == _MEASURED:
            start = event.start_time_ns
        fields = event.extra_fields
        if isinstance(fields, _ExtraFields_Allocation) and str(fields.device).startswith("cpu"):
            records.append((event.start_time_ns, int(fields.alloc_size)))
    if start is None:
        raise RuntimeError("torch.profiler recorded no measured call")
    live = peak = 0
    for time_ns, size in sorted(records):
        if time_ns >= start:
            live += size
            peak = max(peak, live)
    return peak


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
