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


def gbps_text(value: float) -> str:
    """A network's Gbit/s with thousands separated and no false precision: 3,200, 400, 2.5, 0.1 (RunPod's pods:
    ',.0f' wrote '0 Gb/s'; ':g' wrote 3200 beside another line's 3,200, new-user QA round 29)."""
    return f"{value:,g}"


def numbered(numbers: list[int]) -> str:
    """Row numbers with their runs joined: '#1–#4, #7, #9–#10' (new-user QA round 30: an HTML report's note listed 170
    plan numbers one by one)."""
    runs: list[list[int]] = []
    for n in sorted(set(numbers)):
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return ", ".join(f"#{r[0]}" if len(r) == 1 else f"#{r[0]}–#{r[-1]}" for r in runs)


def count_text(value: float) -> str:
    """A count for people: 6.74B, 153.6M, 50,000."""
    for size, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M")):
        if abs(value) >= size:
            scaled = f"{value / size:,.4g}"
            # from 10,000T on, :.4g writes an exponent, and '1e+12T' multiplied two notations (new-user QA round 15:
            # tokens 1e24 read '1e+12T tokens'): such a count is written as the FLOP beside it are, 1e+24
            return f"{value:.3g}" if "e" in scaled else f"{scaled}{suffix}"
    return f"{value:,.0f}"


def gpu_hours(value: float) -> str:
    """GPU-hours: whole from 100 (a 4,096-GPU run's 13,610 GPU-hours read '13,610.0', a precision no estimate has:
    new-user QA round 24), else as `hours` writes a job's hours."""
    return fixed(value, 0) if abs(value) >= 100 else hours(value)


def usd(value: float) -> str:
    """Dollars: cents below $100, whole dollars above, 3 significant figures from $1e12 ($5e+21) and for an amount
    that cents would round to $0.00 ($0.00454: a 3.6-minute job on a $0.08/h GPU, new-user QA round 24)."""
    if abs(value) >= LARGEST_GROUPED or 0.0 < abs(value) < 0.005:
        return f"${value:.3g}"
    return f"${value:,.2f}" if abs(value) < 100 else f"${value:,.0f}"


def usd_apart(a: float, b: float) -> tuple[str, str]:
    """Two amounts compared in one sentence, as usd() writes them, or with the cents (then tenths of a cent, …) that
    tell them apart where those read the same (new-user QA round 28: 'renting costs $0.40 …, less than owning's
    $0.40/h' for $0.395 and $0.403)."""
    shown = usd(a), usd(b)
    for digits in range(2, 7):
        if shown[0] != shown[1] or a == b:
            return shown
        shown = f"${a:,.{digits}f}", f"${b:,.{digits}f}"
    return shown


def percent(share: float) -> str:
    """A share as a percentage, written as the renderers' f"{share:.0%}" writes it (no space before the sign):
    whole percent from 10%, two significant figures below (0.3%, 0.0042%)."""
    value = share * 100.0
    return f"{value:,.0f}%" if value >= 10 else f"{value:.2g}%"


LONGEST_MS = 10.0
"""Seconds from which a latency is written in a larger unit (s, min, h) instead of ms: '9,999 ms' is still read at
a glance, '31,078,772 ms' (a 7B model's first token on a CPU, the 'this machine' row) was not, and its column wrapped
the table (new-user QA round 18)."""


def long_duration(seconds: float) -> str:
    """A duration of LONGEST_MS or more, in the unit a person reads it in, as the planner's other durations step
    (plans/bounds.py human_time, decide/choices.py hours_text): three significant figures in s below 2 min
    ('42.5 s'), in min below 2 h ('8.31 min'), then hours as the tables write them ('8.6 h', '1.35e+22 h')."""
    size = abs(seconds)
    if size < 120.0:
        return f"{seconds:.3g} s"
    if size < 7200.0:
        return f"{seconds / 60.0:.3g} min"
    return f"{hours(seconds / 3600.0)} h"


def whole_ms(seconds: float, digits: int = 0) -> str:
    """A latency in a sentence: ms with `digits` decimals ('497 ms', '2,000 ms'), at least one below 10 ms (new-user QA
    round 23: a least TPOT of 3.406 ms read 'at least 3 ms (now 3 ms)'), a larger unit from LONGEST_MS."""
    if abs(seconds) >= LONGEST_MS:
        return long_duration(seconds)
    if digits == 0 and abs(seconds) < 0.00995:  # (9.95 ms and over round to '10.0': whole from there)
        digits = 1
    return f"{fixed(seconds * 1e3, digits)} ms"


def ms(seconds: float) -> str:
    """A latency in milliseconds: whole ms from 10 ms, one decimal from 1 ms, two significant figures below; a larger
    unit from LONGEST_MS (long_duration)."""
    if abs(seconds) >= LONGEST_MS:
        return long_duration(seconds)
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


RECOMPUTATION = {"selective": "selective recomputation (attention core only)", "full": "full recomputation"}
"""A plan's recompute mode (plans/training.py recompute_mode) in a sentence. Both were once written 'recompute' or
'activation checkpointing on', yet selective recomputation keeps far more activations than full: a script doing
selective at the micro-batch planned for full runs out of memory."""

SHARDING_COMPACT = {"none": "zero0", "zero1": "zero1", "zero2": "zero2", "zero3": "zero3"}
"""A plan's ZeRO stage (plans/training.py Layout.sharding) in the tables and layouts, as training.parallelism.zero pins
it: the stage-0 plan was written 'none', which beside '+recomp full' read as no recomputation (new-user QA)."""

RECOMPUTE_SHORT = {"selective": "+selective recompute", "full": "+full recompute"}
"""The recompute mode beside a ZeRO stage in a plan's layout ('zero1 +full recompute')."""

RECOMPUTE_COMPACT = {"selective": "+recomp sel.", "full": "+recomp full"}
"""The same in the plans table's abbreviated layout column ('zero1 +recomp full, mb 3, 3 inst.')."""


def change_percent(share: float) -> str:
    """A relative change as people read it: whole percent from ±10 %, one decimal below (+100%, +5.3%, -0.4%). An
    estimate's JSON keeps 4 significant figures, so a change read from two of them is known to about 0.1 point:
    one decimal on +100 % printed rounding (a doubled job's 191.8 -> 383.5 hours read +99.9 % beside its
    GPU-hours' +100.0 %, new-user QA). A change that rounds to nothing reads +0.0%, never -0.0% (a profile against
    its own rounded JSON: new-user QA)."""
    value = share * 100.0
    if round(value, 1) == 0.0:
        return "+0.0%"
    return f"{value:+,.0f}%" if abs(value) >= 10 else f"{value:+.1f}%"
