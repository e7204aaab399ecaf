"""The cyclic garbage collector, run less often while a search builds its plans."""
from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

GC_THRESHOLD = 200_000
"""Allocations between the cyclic collector's youngest-generation passes during a search (Python's default: 700).
An estimate makes tens of thousands of plan objects that all live to the end, and each pass rescans the survivors:
~13 % of a full training search's time (pretrain-1b-72h, docs/internals.md 'Performance') for no memory back
(gc.set_threshold; the older generations keep their ratios). At 50,000 every example estimate of the CLI ran one
or two passes over ~50,000 objects, 11-20 ms each, that freed nothing (2026-12-01: the searches had grown); its
young objects peak below 100,000 (bert-train-then-serve, the largest), so none runs one now."""


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
        promote_unscanned()
        gc.set_threshold(*old)


def promote_unscanned() -> None:
    """Move every object the collector tracks to its oldest generation without a pass over them, when no one has
    frozen objects (gc.freeze, then gc.unfreeze, which thaws into the oldest generation: two list splices).

    What a search made is alive when it ends — the estimate holds its plans — and the first allocation after the
    caller's threshold comes back would otherwise run a youngest-generation pass over all of it (~25,000-40,000
    objects, ~2-4 ms of an in-process `plan()`: docs/internals.md 'Performance') to find nothing to free. Cycles the
    search dropped are still found, by the next full collection. A caller's frozen objects are left frozen (the CLI
    freezes its imports and catalog): gc.unfreeze would thaw them too, so then nothing is moved."""
    if gc.isenabled() and gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()
