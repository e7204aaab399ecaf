"""Numbers as the JSON documents write them: 4 significant figures; dollars to the cent, or to 4 significant figures
where that is finer (new-user QA round 27: the JSON's `"cost_usd": 11260.0` beside the table's $11,264, one bill
read two ways). Within exact_numbers every number is kept as computed (`gpuplan diff` of two profiles)."""
from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from typing import Any

from planner.model.interconnect import PlanLinks
from planner.plans.spot import SpotOverhead

SIGNIFICANT = 4
"""Significant figures of the JSON's numbers other than money: the tables print three."""

_EXACT: ContextVar[bool] = ContextVar("planner_exact_numbers", default=False)


@contextmanager
def exact_numbers() -> Iterator[None]:
    """Within it, the JSON keeps every number as computed: `gpuplan diff` of two profiles takes its changes from
    these (new-user QA: a doubled job read +99.9 %, from hours rounded to 4 significant figures)."""
    token = _EXACT.set(True)
    try:
        yield
    finally:
        _EXACT.reset(token)


def rounded(value: float | None, digits: int = SIGNIFICANT) -> float | None:
    """`value` to `digits` significant figures (None stays None; unrounded within exact_numbers)."""
    if value is None:
        return None
    if _EXACT.get():
        return float(value)
    return float(f"{value:.{digits}g}")


def money(value: float | None) -> float | None:
    """Dollars to the cent, or to SIGNIFICANT figures where that is finer ($0.0042 a request); None stays None;
    unrounded within exact_numbers. The cents are those the tables print (planner/readable.py usd)."""
    if value is None or _EXACT.get() or not math.isfinite(value):
        return rounded(value)
    whole = len(str(int(abs(value)))) if abs(value) >= 1 else 0
    return float(f"{value:.{max(SIGNIFICANT, whole + 2)}g}")


def preemption(s: SpotOverhead) -> dict[str, float | None]:
    """A spot plan's expected interruption overhead as the JSON writes it (`preemption` of its plan and of a decision's
    choice alike)."""
    return {"interruptions_per_hour": rounded(s.interruptions_per_hour),
            "checkpoint_gb": rounded(s.checkpoint_bytes / 1e9), "checkpoint_write_s": rounded(s.checkpoint_write_s),
            "checkpoint_interval_s": rounded(s.checkpoint_interval_s), "restart_s": rounded(s.restart_s),
            "overhead_fraction": rounded(s.overhead_fraction), "expected_interruptions": rounded(s.expected_interruptions)}


def links_dict(links: PlanLinks | None) -> dict[str, Any] | None:
    """A plan's links as JSON (null: one GPU, or no catalog offer): its plans' `network` and its choices'."""
    if links is None:
        return None
    # intra_node is the offer's kind (nvlink | pcie); intra_node_name the link in words, as the tables name it: an AMD
    # GPU's 'nvlink' kind is Infinity Fabric (new-user QA round 30: the table and the JSON named two links)
    return {"intra_node": links.intra_node,
            "intra_node_name": links.intra_node_name if links.intra_node is not None else None,
            "intra_node_gbs": None if links.intra_node_gbs is None else rounded(links.intra_node_gbs),
            "inter_node_gbps": links.inter_node_gbps, "inter_node_source": links.inter_node_source,
            "inter_node_assumed": links.inter_node_assumed}
