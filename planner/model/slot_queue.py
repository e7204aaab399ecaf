"""First-come-first-served service on identical slots with equal holding times: the start times (slot_starts) and
continuous batching's time to first token (slot_ttft), which planner/model/simulation.py takes percentiles of.

With equal holds, request n starts at max(arrival_n, finish_{n−c}) on the slot request n−c used (Crommelin 1932,
the M/D/c ⇄ E_c/D/1 reduction), so each slot's sequence is a Lindley recursion solved with one cumulative maximum
down its column of the (rows × slots) grid of requests: start = k·D + cummax(arrival − k·D) at row k.
"""
from __future__ import annotations

import numpy as np

BLOCK_REQUESTS = 1 << 16
"""slot_ttft works through the grid in blocks of about this many requests (512 KiB per float array), so the seven
passes over a block (copy, shift, cumulative maximum, shift back, and the three terms of TTFT) find it in the
core's cache; over a whole 2,000,000-request run (16 MB per array) each pass goes to memory, about twice the
time per request on this machine (docs/internals.md, 'Performance')."""


def slot_starts(arrivals: np.ndarray, servers: int, hold_s: float) -> np.ndarray:
    """Start times of FCFS service on `servers` identical slots each held `hold_s` (exact for equal holds)."""
    n = arrivals.size
    rows = -(-n // servers)
    padded = np.empty(rows * servers)
    padded[:n] = arrivals
    padded[n:] = np.inf
    grid = padded.reshape(rows, servers)
    steps = (np.arange(rows, dtype=float) * hold_s)[:, None]
    grid -= steps  # in place: the same values as a new array, without allocating two more of the run's size
    np.maximum.accumulate(grid, axis=0, out=grid)
    grid += steps
    return padded[:n]


_LATEST: dict[tuple[object, ...], tuple[np.ndarray, np.ndarray]] = {}
"""The latest system's TTFT over its complete rows (read-only) and the cumulative maximum of its last complete row:
where a longer run of the same system, on the same traffic, continues (slot_ttft)."""


def slot_ttft(arrivals: np.ndarray, uniforms: np.ndarray, traffic: tuple[object, ...], servers: int, hold_s: float,
              step_s: float, prefill_s: float, starts: np.ndarray | None = None) -> np.ndarray:
    """start − arrival + uniform·step + prefill per request (a new array, in request order), from slot_starts' starts,
    the same numbers bit for bit, with `starts` (if given) filled with them.

    `traffic` names the arrivals and uniforms (simulation._traffic's rate and seed: each stream's first n values
    are the same whatever its length). A run of the system that ran last, on the same traffic, with more requests
    — until_decided doubling a run — copies the TTFT of the earlier run's complete rows and continues the
    recursion from its last complete row: every value is computed by the same operations on the same inputs as
    in a fresh run (the cumulative maximum is exact), so only the new rows cost. A run that also wants `starts`
    (the first of a system, which counts cut-ins) is computed whole."""
    n = arrivals.size
    key = (traffic, servers, hold_s, step_s, prefill_s)
    rows = -(-n // servers)
    padded = np.empty(rows * servers)  # the grid, worked in place: arrivals, then starts, then TTFT
    out = padded[:n]
    first_row, state = 0, None
    earlier = _LATEST.get(key) if starts is None else None
    if earlier is not None:
        done, state = earlier
        if done.size >= n:
            out[:] = done[:n]
            return out
        out[:done.size] = done
        first_row = done.size // servers
    padded[n:] = np.inf  # the last row's empty places: never a start
    complete = n // servers
    kept = state
    per_block = max(1, BLOCK_REQUESTS // servers)
    for r0 in range(first_row, rows, per_block):
        r1 = min(rows, r0 + per_block)
        lo, hi = r0 * servers, min(n, r1 * servers)
        padded[lo:hi] = arrivals[lo:hi]
        grid = padded[lo:r1 * servers].reshape(r1 - r0, servers)
        steps = (np.arange(r0, r1, dtype=float) * hold_s)[:, None]
        grid -= steps
        if state is not None:  # the rows before the block: the running maximum carried over
            np.maximum(grid[0], state, out=grid[0])
        np.maximum.accumulate(grid, axis=0, out=grid)
        state = grid[-1].copy()
        if r0 <= complete - 1 < r1:
            kept = grid[complete - 1 - r0].copy()
        grid += steps
        if starts is not None:
            starts[lo:hi] = padded[lo:hi]
        ttft = padded[lo:hi]
        ttft -= arrivals[lo:hi]
        ttft += uniforms[lo:hi] * step_s
        ttft += prefill_s
    if kept is not None and complete * servers > (earlier[0].size if earlier is not None else 0):
        done = out[:complete * servers].copy()
        done.flags.writeable = False
        _LATEST.clear()  # one system at a time: until_decided runs a system's lengths one after another
        _LATEST[key] = (done, kept)
    return out
