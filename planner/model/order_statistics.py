"""Sample quantiles with numpy's default (linear, Hyndman & Fan type 7) method, computed faster than np.quantile
for the simulation's few percentiles of long samples — the same numbers, bit for bit.

Why not np.quantile: it partitions at every index it needs at once, plus the first and last (its NaN check), and
numpy's partition with several kth runs a scalar introselect per kth over the whole array, while a single kth goes
to the vectorised selection (x86-simd-sort where the CPU has AVX-512 or AVX2): on this machine 11–15 ns per
element for p50, p95 and p99 against ~3 ns for the chain below (benchmarks/bench_simulate.py, docs/internals.md
'Performance'). An order statistic is the same value whichever way it is found, and the interpolation below is
numpy's own arithmetic (numpy/lib/_function_base_impl.py: `_get_indexes`, `_get_gamma`, `_lerp`), so the result
is identical; tests/test_serving.py checks it against np.quantile, ties and tiny samples included.
"""
from __future__ import annotations

import numpy as np


def lerp(below: np.ndarray, above: np.ndarray, t: np.ndarray) -> np.ndarray:
    """numpy's `_lerp`: from the lower neighbour for t < 0.5, from the upper one otherwise (monotone, exact at
    t = 0 and 1)."""
    diff = above - below
    out: np.ndarray = np.where(t >= 0.5, above - diff * (1 - t), below + diff * t)
    return out


def virtual_indexes(n: int | np.ndarray, qs: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The linear method's virtual index (n − 1)·q of each quantile, as numpy computes it, with its floor and the
    next index (clipped to the last element: numpy takes the last for both when the index is the last)."""
    h = (np.asarray(n) - 1) * np.asarray(qs)
    below = np.floor(h)
    above = np.minimum(below + 1, np.asarray(n) - 1)
    return h, below, above


def quantiles_in_place(rows: np.ndarray, qs: tuple[float, ...]) -> np.ndarray:
    """np.quantile(rows, qs, axis=-1).T of a 2-D float array whose rows are contiguous: (rows, len(qs)).

    Reorders each row in place. The order statistics needed (the floor and the next index of each quantile) are
    selected in ascending order, each by one single-kth partition of what lies above the previous one, so every
    partition after the first works on the upper part only; an order statistic right after the previous one is
    the minimum of the rest (a reduction, nothing moved: the rest still holds exactly the elements ranked from
    there on, which is all the next partition needs)."""
    n = rows.shape[-1]
    h, below, above = virtual_indexes(n, qs)
    wanted = sorted({int(i) for i in below} | {int(i) for i in above})
    values: dict[int, np.ndarray] = {}
    first = 0  # rows[:, first:] holds the elements ranked `first` and above (those before are at or below it)
    for k in wanted:
        rest = rows[:, first:]
        if k == first:
            values[k] = rest.min(axis=-1)
        else:
            rest.partition(k - first, axis=-1)
            values[k] = rows[:, k].copy()
            first = k + 1
    low = np.stack([values[int(i)] for i in below], axis=-1)
    high = np.stack([values[int(i)] for i in above], axis=-1)
    return lerp(low, high, h - below)


def counted_quantiles(levels: np.ndarray, counts: np.ndarray, qs: tuple[float, ...]) -> np.ndarray:
    """np.quantile(sample, qs) (linear method, the same arithmetic) of a sample holding counts[..., k] copies of
    levels[k] (ascending), per row of `counts`: O(levels) from the counts instead of partitioning the sample."""
    n = counts.sum(axis=-1, keepdims=True)  # (rows, 1)
    cum = np.cumsum(counts, axis=-1)
    h, below, above = virtual_indexes(n, qs)  # (rows, len(qs))
    # the i-th order statistic (from 0) is the first level whose cumulative count exceeds i
    a = levels[(cum[:, None, :] <= below[..., None]).sum(axis=-1)]
    b = levels[(cum[:, None, :] <= above[..., None]).sum(axis=-1)]
    return lerp(a, b, h - below)
