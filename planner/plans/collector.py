"""The cyclic garbage collector, run less often while a search builds its plans."""
from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

GC_THRESHOLD = 50_000
"""Allocations between the cyclic collector's youngest-generation passes during a search (Python's default: 700).
An estimate makes tens of thousands of plan objects that all live to the end, and each pass rescans the survivors:
~13 % of a full training search's time (pretrain-1b-72h, docs/internals.md 'Performance') for no memory back
(gc.set_threshold; the older generations keep their ratios)."""


@contextmanager
def fewer_collections(threshold: int = GC_THRESHOLD) -> Iterator[None]:
    """Raise the collector's first threshold to `threshold` inside the block and restore the caller's after (a
    caller that already collects as rarely is left alone). Nothing is switched off: cycles are still found, later."""
    old = gc.get_threshold()
    if old[0] >= threshold:
        yield
        return
    gc.set_threshold(threshold, *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)
