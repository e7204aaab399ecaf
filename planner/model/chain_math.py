"""Arithmetic shared by the dynamic-batching chains (model/batching_chain.py, model/pair_chain.py): Poisson
probabilities over arrays, log-factorials, and the stationary distribution of a stochastic matrix."""
from __future__ import annotations

import numpy as np

EDGE = 1e-12
"""Stationary weight allowed at an edge of the states solved exactly (more: the range is widened)."""


_FACTORIALS = np.zeros(1)


def log_factorials(n: int) -> np.ndarray:
    """log k! for k = 0 … n − 1 (read-only; one table, grown as longer ones are asked for)."""
    global _FACTORIALS
    if _FACTORIALS.size < n:
        size = max(n, 2 * _FACTORIALS.size, 256)
        table = np.zeros(size)
        table[1:] = np.cumsum(np.log(np.arange(1, size)))
        table.flags.writeable = False
        _FACTORIALS = table
    return _FACTORIALS[:n]


def poisson(k: np.ndarray, mean: np.ndarray | float, log_factorial: np.ndarray) -> np.ndarray:
    """Pois(k; mean) elementwise (broadcast), mean ≥ 0."""
    mean = np.asarray(mean, dtype=float)
    if mean.size and mean.min() > 0.0:  # no mean of 0 to mend (most calls)
        positive: np.ndarray = np.exp(k * np.log(mean) - mean - log_factorial[k])
        return positive
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.exp(k * np.log(mean) - mean - log_factorial[k])
    out: np.ndarray = np.where(mean > 0.0, value, (k == 0).astype(float))
    return out


def solve(move: np.ndarray) -> np.ndarray:
    """The stationary distribution of a stochastic matrix (rows: from, columns: to)."""
    n = move.shape[0]
    system = move.T - np.eye(n)
    system[-1, :] = 1.0
    rhs = np.zeros(n)
    rhs[-1] = 1.0
    weight: np.ndarray = np.maximum(np.linalg.solve(system, rhs), 0.0)
    out: np.ndarray = weight / weight.sum()
    return out
