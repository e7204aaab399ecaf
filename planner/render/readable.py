"""Numbers as a person reads them in a table or a sentence: grouped digits normally, three significant figures
(e-notation where needed) where grouped digits stop being readable or would round a non-zero value to zero."""
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


def usd(value: float) -> str:
    """Dollars: cents below $100, whole dollars above, 3 significant figures from $1e12 ($5e+21)."""
    if abs(value) >= LARGEST_GROUPED:
        return f"${value:.3g}"
    return f"${value:,.2f}" if abs(value) < 100 else f"${value:,.0f}"
