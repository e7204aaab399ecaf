"""Numbers as a person reads them in a table or a sentence: grouped digits normally, three significant figures
(e-notation where needed) where grouped digits stop being readable or would round a non-zero value to zero.
Beside the flow (like errors.py): decisions write their trade-off sentences with these formats and the report its
tables, so neither package reaches into the other."""
from __future__ import annotations

LARGEST_GROUPED = 1e12
"""From here on a number is written as 8.33e+20: thirteen grouped digits are no longer read, only counted."""


def fixed(value: float, digits: int = 1) -> str:
    """`value` with `digits` decimals and thousands separators, or 3 significant figures when it is ≥ 1e12 in size
    or non-zero but below half the last decimal shown (1e-06 instead of 0.0)."""
    size = abs(value)
    if size >= LARGEST_GROUPED or (value != 0 and size < 0.5 * 10.0 ** -digits):
        return f"{value:.3g}"
    return f"{value:,.{digits}f}"


def hours(value: float) -> str:
    """A job's hours: one decimal from 1 h, two significant figures below (0.15, 0.10, 0.058), so runs of minutes
    read apart (one decimal wrote 0.058 h, 0.101 h and 0.145 h all as 0.1 beside a 10-minute deadline)."""
    if value != 0 and abs(value) < 1:
        return f"{value:#.2g}"
    return fixed(value)


def usd(value: float) -> str:
    """Dollars: cents below $100, whole dollars above, 3 significant figures from $1e12 ($5e+21)."""
    if abs(value) >= LARGEST_GROUPED:
        return f"${value:.3g}"
    return f"${value:,.2f}" if abs(value) < 100 else f"${value:,.0f}"


def percent(share: float) -> str:
    """A share as a percentage, written as the renderers' f"{share:.0%}" writes it (no space before the sign):
    whole percent from 10%, two significant figures below (0.3%, 0.0042%)."""
    value = share * 100.0
    return f"{value:,.0f}%" if value >= 10 else f"{value:.2g}%"


def ms(seconds: float) -> str:
    """A latency in milliseconds: whole ms from 10 ms, one decimal from 1 ms, two significant figures below."""
    value = seconds * 1e3
    if abs(value) >= 10:
        return f"{fixed(value, 0)} ms"
    if abs(value) >= 1:
        return f"{value:.1f} ms"
    return f"{value:.2g} ms"


def compact(value: float) -> str:
    """A measured figure in at most ~6 characters: 3 significant figures with k, M, G, T above 10,000."""
    size = abs(value)
    for threshold, scale, suffix in ((1e12, 1e12, "T"), (1e9, 1e9, "G"), (1e6, 1e6, "M"), (1e4, 1e3, "k")):
        if size >= threshold:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:,.4g}" if size >= 1 else f"{value:.3g}"


UNITS = {"gpu_hours": "GPU-h", "wall_clock_hours": "hours", "tokens_per_s": "tok/s", "samples_per_s": "samples/s",
         "tflops_per_gpu": "TFLOP/s/GPU"}
"""Short names of the validation metrics, for narrow tables."""
