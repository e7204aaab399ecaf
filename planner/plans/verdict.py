"""Verdicts: why a plan fails a constraint, as data (a kind and its numbers). Ranking and filtering read the kind
and the numbers; the words people read are made from them here, in `text`, and nowhere else."""
from __future__ import annotations

import math
from planner.dataclass import dataclass
from enum import Enum

from planner.readable import fixed, usd, usd_apart, whole_ms


class Kind(str, Enum):
    """What is wrong with a plan. The order of `SEVERITY` says how far a plan is from working."""

    DOES_NOT_FIT = "does_not_fit_memory"
    """Weights, optimizer state and one sample's activations exceed the GPU memory (value, limit: bytes)."""
    NO_PRECISION = "no_precision"
    """The GPU has no unit for the asked precision (detail: the precision; alternative and setting: a precision of
    the same size it has, and the profile field that sets it)."""
    NO_NETWORK = "no_network"
    """More than one instance is needed but the offer states no network between instances."""
    PIN_UNWORKABLE = "pin_unworkable"
    """A pinned layout part (training.parallelism, inference.batch) cannot run here (detail says why)."""
    BATCH_TOO_SMALL = "batch_smaller_than_replicas"
    """The global batch has fewer samples (value) than data-parallel replicas (limit)."""
    TOO_MANY_DEVICES = "too_many_devices"
    """The measured machine would need more devices (value) than it has (limit)."""
    SLO_MISSED = "slo_missed"
    """A latency percentile (detail: its key, e.g. ttft_p95) above its target (value, limit: seconds)."""
    SIMULATION_MISSED = "simulation_missed"
    """The discrete-event simulation of the plan misses a target (detail: key; value, limit: seconds)."""
    MISSES_DEADLINE = "misses_deadline"
    """Hours at the planning confidence (value) above the deadline (limit), detail: the level, e.g. P90."""
    OVER_BUDGET = "over_budget"
    """Cost at the planning confidence (value, USD) above the budget (limit), detail: the level."""
    NO_OFFER = "no_offer"
    """No offer in the catalog rents this GPU: the plan gives time only, no cost (planner/plans/no_offer.py)."""


INTRINSIC = frozenset({Kind.DOES_NOT_FIT, Kind.NO_PRECISION, Kind.NO_NETWORK, Kind.PIN_UNWORKABLE,
                       Kind.BATCH_TOO_SMALL, Kind.TOO_MANY_DEVICES, Kind.NO_OFFER})
"""Kinds that make a plan unusable whatever the deadline, budget or latency targets."""
SEVERITY = {Kind.DOES_NOT_FIT: 6, Kind.NO_PRECISION: 5, Kind.PIN_UNWORKABLE: 5, Kind.NO_NETWORK: 4,
            Kind.TOO_MANY_DEVICES: 4, Kind.BATCH_TOO_SMALL: 3, Kind.SLO_MISSED: 1, Kind.SIMULATION_MISSED: 1,
            Kind.MISSES_DEADLINE: 1, Kind.OVER_BUDGET: 1, Kind.NO_OFFER: 2}
"""How far a kind puts a plan from working: unusable kinds above the ones more money or time could fix."""


@dataclass(frozen=True)
class Verdict:
    """One reason a plan fails, with its numbers (SI units: seconds, bytes, USD; hours for deadlines)."""

    kind: Kind
    value: float | None = None
    limit: float | None = None
    detail: str = ""
    alternative: str = ""
    """NO_PRECISION: a precision the GPU has that plans the same memory (bf16 -> fp16); '' when none."""
    setting: str = ""
    """The profile field that sets `alternative` (training.precision, inference.precision)."""
    most_gpus: int = 0
    """DOES_NOT_FIT of a rejected training GPU type (decide/choices.py): the most GPUs it was searched on, at no
    count fitting (value and detail: the count nearest to fitting); 0: one plan's verdict."""

    @property
    def intrinsic(self) -> bool:
        """The plan cannot run at all (deadline, budget and latency targets aside)."""
        return self.kind in INTRINSIC

    @property
    def excess(self) -> float:
        """How far over its limit, as a ratio − 1 (0 when the verdict has no numbers)."""
        if self.value is None or not self.limit:
            return 0.0
        return max(0.0, self.value / self.limit - 1.0)

    @property
    def text(self) -> str:
        """The verdict in words (the JSON `reasons` strings)."""
        return text(self)

    def as_dict(self) -> dict[str, object]:
        """The verdict as JSON: kind, value, limit, detail (and alternative, setting where a precision is
        suggested)."""
        out: dict[str, object] = {"kind": self.kind.value, "value": _round(self.value), "limit": _round(self.limit),
                                  "detail": self.detail}
        if self.alternative:
            out.update(alternative=self.alternative, setting=self.setting)
        if self.most_gpus:
            out.update(most_gpus=self.most_gpus)
        return out


def _round(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(f"{value:.4g}")


def _count(n: float) -> str:
    """A count with its digits grouped, as the tables print counts (new-user QA round 13: 'needs 47748 devices', and
    :g wrote a million as 1e+06)."""
    return f"{n:,.0f}" if float(n).is_integer() else f"{n:,.4g}"


def _hours(hours: float) -> str:
    return f"{fixed(hours)} h" if hours >= 1 else f"{fixed(hours * 60)} min"


def _apart(value: float, limit: float, money: bool = False) -> tuple[str, str]:
    """A verdict's value and limit as the tables write them, or with the figures that tell them apart where those read
    the same (new-user QA round 28: 'misses the deadline (48.0 h at P50 > 48.0 h)' for 48.01 h)."""
    if money:
        return usd_apart(value, limit)
    shown = _hours(value), _hours(limit)
    if shown[0] != shown[1]:
        return shown
    scale, unit = (1.0, " h") if min(value, limit) >= 1 else (60.0, " min")
    for digits in range(4, 12):
        a, b = f"{value * scale:,.{digits}g}{unit}", f"{limit * scale:,.{digits}g}{unit}"
        if a != b:
            return a, b
    return shown


def text(v: Verdict) -> str:
    """Words for a verdict: the one place reason strings are made."""
    k = v.kind
    if k is Kind.MISSES_DEADLINE:
        assert v.value is not None and v.limit is not None
        value, limit = _apart(v.value, v.limit)
        return f"misses the deadline ({value} at {v.detail} > {limit})"
    if k is Kind.OVER_BUDGET:
        # usd: from $1e12 three significant figures, as the tables print them (new-user QA round 15: a 1e24-token
        # run under a $1 budget read 'over budget ($3,451,548,276,643,552 at P50 > $1)'); cents below $100 (round 24:
        # $1.40 over a $1 budget read '$1 at P50 > $1')
        assert v.value is not None and v.limit is not None
        value, limit = _apart(v.value, v.limit, money=True)
        return f"over budget ({value} at {v.detail} > {limit})"
    if k is Kind.DOES_NOT_FIT:
        assert v.value is not None and v.limit is not None
        # a GPU type that fits at no count searched says how far the search went (new-user QA round 11: it read as
        # its 1-GPU plan)
        most = f" on up to {v.most_gpus:,} GPU{'' if v.most_gpus == 1 else 's'}" if v.most_gpus else ""
        return f"does not fit in memory{most} ({v.value / 1e9:,.1f} GB {v.detail}, {v.limit / 1e9:g} GB available)"
    if k is Kind.NO_PRECISION:  # new-user QA: a V100 or T4 "no bf16" did not say that fp16 runs there
        instead = f"; {v.alternative} runs here ({v.setting}: {v.alternative})" if v.alternative else ""
        return f"no {v.detail} on this GPU{instead}"
    if k is Kind.NO_NETWORK:
        return "offer states no network between instances (single instance only)"
    if k is Kind.PIN_UNWORKABLE:
        return f"pinned {v.detail}"
    if k is Kind.BATCH_TOO_SMALL:
        assert v.value is not None and v.limit is not None
        return f"global batch of {_count(v.value)} samples is smaller than {_count(v.limit)} data-parallel replicas"
    if k is Kind.NO_OFFER:  # detail: the providers the profile keeps to (constraints.providers), if any
        where = f" of {v.detail} (constraints.providers)" if v.detail else ""
        return f"no offer{where} rents this GPU: time only, no cost"
    if k is Kind.TOO_MANY_DEVICES:
        assert v.value is not None and v.limit is not None
        return f"needs {_count(v.value)} devices; this machine has {_count(v.limit)}"
    if k in (Kind.SLO_MISSED, Kind.SIMULATION_MISSED):
        assert v.value is not None and v.limit is not None
        prefix = "simulation misses" if k is Kind.SIMULATION_MISSED else "misses"
        return f"{prefix} {v.detail.replace('_', ' ')} ({whole_ms(v.value)} > {whole_ms(v.limit)})"
    raise ValueError(k)  # pragma: no cover - every kind is worded above


def reasons(verdicts: tuple[Verdict, ...]) -> tuple[str, ...]:
    """The verdicts in words, in order; the latency misses of one kind share one line."""
    out: list[str] = []
    previous: Kind | None = None
    for v in verdicts:
        if v.kind is previous and v.kind in (Kind.SLO_MISSED, Kind.SIMULATION_MISSED):
            out[-1] += "; " + text(v)
        else:
            out.append(text(v))
        previous = v.kind
    return tuple(out)


def closeness(verdicts: tuple[Verdict, ...]) -> tuple[int, float]:
    """How far a plan is from working, for ranking near misses: its worst kind, then its summed excess."""
    worst = max((SEVERITY[v.kind] for v in verdicts), default=0)
    return worst, sum(v.excess for v in verdicts)


def unfit_key(verdicts: tuple[Verdict, ...], otherwise: float) -> float:
    """The rank key of a plan that does not run (plans/options.py training_rank, plans/rank.py serving_rank): where it
    does not fit, the memory it needs per GPU over the memory there (a training count's layout nearest to fitting,
    the ratio the search reads before timing the count, plans/search.py _Search._first; a serving offer's widest
    replica), so that the plan nearest to fitting is the one the rows and the rejections show (new-user QA round 11:
    fewest GPUs first showed a GPU that fits at no count as a 1-GPU plan); else `otherwise` (a training plan's GPU
    count)."""
    for v in verdicts:
        if v.kind is Kind.DOES_NOT_FIT and v.value is not None and v.limit:
            return v.value / v.limit
    return float(otherwise)
