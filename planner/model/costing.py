"""Money: whole instances, billed by the provider's granularity."""
from __future__ import annotations

import math
from collections.abc import Sequence


def billed_hours(hours: float, billing_seconds: float) -> float:
    """Hours charged for `hours` of use, rounded up to the billing granularity: at least one unit for any use (the
    1e-9 forgives float fuzz above a whole number of units, and must not round a sliver of use down to nothing)."""
    if hours <= 0:
        return 0.0
    return (math.ceil(hours * 3600.0 / billing_seconds - 1e-9) or 1) * billing_seconds / 3600.0


def run_cost_usd(instances: int, usd_per_hour: float, hours: float, billing_seconds: float,
                 term_hours: float = 0.0) -> float:
    """Cost of running `instances` for `hours`: instances × price × billed hours. At a committed-term price
    (`term_hours` > 0, constraints.commitment) every hour of the term is owed whether the job uses it or not:
    instances × price × max(billed hours, term hours); hours past the term are priced at the same rate (renewed)."""
    return instances * usd_per_hour * max(billed_hours(hours, billing_seconds), term_hours)


def run_cost_usd_each(instances: Sequence[int], usd_per_hour: float, hours: Sequence[float], billing_seconds: float,
                      term_hours: float = 0.0) -> list[float]:
    """run_cost_usd of each (instances, hours) pair in one call, with the same arithmetic, inf where the hours are
    (a training search prices a floor under every count of every offer: plans/search.py)."""
    out = []
    for n, h in zip(instances, hours):
        if h == math.inf:
            out.append(math.inf)
            continue
        billed = 0.0 if h <= 0 else (math.ceil(h * 3600.0 / billing_seconds - 1e-9) or 1) * billing_seconds / 3600.0
        out.append(n * usd_per_hour * (billed if billed >= term_hours else term_hours))
    return out


def run_costs_usd(instances: int, usd_per_hour: float, hours: tuple[float, float, float], billing_seconds: float,
                  term_hours: float = 0.0) -> tuple[float, float, float]:
    """run_cost_usd of each of three hours (a plan's P10, P50 and P90) in one call, with the same arithmetic: a
    training search prices tens of thousands of them."""
    rate = instances * usd_per_hour
    low, mid, high = hours
    # billed_hours of each, then max(billed, term) as max() picks (the first of equals), written out
    low = 0.0 if low <= 0 else (math.ceil(low * 3600.0 / billing_seconds - 1e-9) or 1) * billing_seconds / 3600.0
    mid = 0.0 if mid <= 0 else (math.ceil(mid * 3600.0 / billing_seconds - 1e-9) or 1) * billing_seconds / 3600.0
    high = 0.0 if high <= 0 else (math.ceil(high * 3600.0 / billing_seconds - 1e-9) or 1) * billing_seconds / 3600.0
    return (rate * (low if low >= term_hours else term_hours), rate * (mid if mid >= term_hours else term_hours),
            rate * (high if high >= term_hours else term_hours))


def monthly_cost_usd(instances: int, usd_per_hour: float, hours_per_month: float,
                     owed_hours_per_month: float = 0.0) -> float:
    """Cost of keeping `instances` up for a month of `hours_per_month` hours. At a committed-term price
    (`owed_hours_per_month` > 0: the term's month) the whole month is owed even when the service is up for less."""
    return instances * usd_per_hour * max(hours_per_month, owed_hours_per_month)
