"""Arithmetic shared by the dynamic-batching chains (model/batching_chain.py, model/pair_chain.py): Poisson
probabilities over arrays, log-factorials, and the stationary distribution of a stochastic matrix."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import scipy.sparse as sp

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


class Entries:
    """A sparse transition matrix's entries gathered in pieces: (from, to, probability) arrays broadcast together,
    those not above `least` left out (model/triple_chain.py, model/leftover_pair_chain.py)."""

    def __init__(self, least: float = 0.0) -> None:
        self.least = least
        self.rows: list[np.ndarray] = []
        self.cols: list[np.ndarray] = []
        self.vals: list[np.ndarray] = []

    def add(self, frm: np.ndarray, to: np.ndarray, value: np.ndarray) -> None:
        frm, to, value = np.broadcast_arrays(frm, to, value)
        keep = value > self.least
        self.extend(frm[keep], to[keep], value[keep])

    def extend(self, frm: np.ndarray, to: np.ndarray, value: np.ndarray) -> None:
        """Entries as given (1-D, none left out)."""
        self.rows.append(frm)
        self.cols.append(to)
        self.vals.append(value)

    def matrix(self, shape: tuple[int, int], transposed: bool = False) -> "sp.csr_matrix":
        """The entries as a CSR matrix (duplicates summed) of `shape`, (to, from) when `transposed` (π ↦ πP is then
        matrix @ π); the entries are cleared for the next matrix."""
        import scipy.sparse as sp

        none = [np.zeros(0, dtype=int)]  # (no entries: an empty matrix)
        frm, to = np.concatenate(self.rows or none), np.concatenate(self.cols or none)
        got = sp.csr_matrix((np.concatenate(self.vals or [np.zeros(0)]), (to, frm) if transposed else (frm, to)),
                            shape=shape)
        self.rows.clear()
        self.cols.clear()
        self.vals.clear()
        return got
