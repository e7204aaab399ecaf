"""Money: whole instances, billed by the provider's granularity."""
from __future__ import annotations

import math


def billed_hours(hours: float, billing_seconds: float) -> float:
    """Hours charged for `hours` of use, rounded up to the billing granularity."""
    if hours <= 0:
        return 0.0
    return math.ceil(hours * 3600.0 / billing_seconds - 1e-9) * billing_seconds / 3600.0


def run_cost_usd(instances: int, usd_per_hour: float, hours: float, billing_seconds: float) -> float:
    """Cost of running `instances` for `hours`: instances × price × billed hours."""
    return instances * usd_per_hour * billed_hours(hours, billing_seconds)


def monthly_cost_usd(instances: int, usd_per_hour: float, hours_per_month: float) -> float:
    """Cost of keeping `instances` up for a month of `hours_per_month` hours."""
    return instances * usd_per_hour * hours_per_month
