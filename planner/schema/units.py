"""Human units ("7B", "72h", "$20k", "20/s", "500ms") to SI numbers: counts, seconds, USD, per-second rates."""
from __future__ import annotations

import math
import re

_SUFFIX = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "B": 1e9, "G": 1e9, "T": 1e12, "P": 1e15,
           "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12, "p": 1e15}
"""A count's suffix, in either case: a count is never a fraction, so `350m` is 350 million as the presets write it
(gpt2-350m, pythia-1b, llama-2-7b), where `params: 7b` was refused (new-user QA round 17)."""
_SECONDS = {
    "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6, "usec": 1e-6, "microsecond": 1e-6, "microseconds": 1e-6,
    "ms": 1e-3, "msec": 1e-3, "millisecond": 1e-3, "milliseconds": 1e-3,
    "s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0,
    "m": 60.0, "min": 60.0, "mins": 60.0, "minute": 60.0, "minutes": 60.0,
    "h": 3600.0, "hr": 3600.0, "hrs": 3600.0, "hour": 3600.0, "hours": 3600.0,
    "d": 86400.0, "day": 86400.0, "days": 86400.0, "w": 604800.0, "week": 604800.0, "weeks": 604800.0,
}
"""Seconds per unit of time, each unit with its English word, singular and plural: `3 days` was read and `3 hours`,
`1 hour`, `90 minutes` and `300/minute` refused (new-user QA round 17). Microseconds as latency tools print them
(`500us`, `500µs` with the micro sign or the Greek mu, `500 microseconds`) were refused where `500ms` was read, and
`500 milliseconds` too (new-user QA round 17)."""
_SUB_SECOND = ("us", "\u00b5s", "\u03bcs", "usec", "microsecond", "microseconds", "ms", "msec", "millisecond",
               "milliseconds")
"""Units of time no rate is written per: `20/ms` is a slip, not 20,000 requests/s."""
_NUMBER = r"([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)"
# patterns compiled on first use (re's cache): only a profile or catalog validated from its YAML parses units, and a
# warm estimate validates none (docs/internals.md 'Start-up: what every run pays')
_COUNT_RE = rf"^{_NUMBER}\s*([kKMBGTPmbgtp]?)$"
_DURATION_RE = rf"^{_NUMBER}\s*([a-z\u00b5\u03bc]+)$"
_DURATION_PART_RE = rf"{_NUMBER}\s*([a-z\u00b5\u03bc]+)\s*"
_RATE_RE = rf"^{_NUMBER}\s*([kKM]?)\s*(?:(?:req|reqs|requests?|quer(?:y|ies))\s*)?/\s*([A-Za-z]+)$"
_PER_SECOND_RE = rf"^{_NUMBER}\s*([kKM]?)\s*(?:rps|qps)$"
"""A rate as the output writes one ('20.0 req/s'), or as serving benchmarks do (20 rps, 20 qps): requests per second;
the unit of time in any case (20/S, 1200/Min)."""


_GROUPED = r"[0-9]{1,3}(?:[,_][0-9]{3})+"
"""Digits grouped in threes by commas or underscores, the one way a number's digits may be grouped (1,024, 1_000_000)."""


def check_digit_groups(text: str, expected: str) -> None:
    """A ValueError, in the one message every number a user writes gets, where `text` groups its digits other than in
    threes before the point: Python's int() and float() (and pydantic, and YAML 1.1 for a plain `1_5`) read '1_0' as
    10, so `--fail-above 1_0%` was a 10 % threshold, `--confidence 0.9_5` 0.95 and a count's '1,5' (a decimal comma)
    15 (new-user QA round 18). `expected`: what the input takes ('a percentage such as 15%')."""
    if "_" not in text and "," not in text:
        return
    for run in re.findall(r"[0-9][0-9_,.]*", text):
        whole, _, fraction = run.rstrip(",_").partition(".")
        if (("_" in whole or "," in whole) and not re.fullmatch(_GROUPED, whole)) or "_" in fraction \
                or "," in fraction or run[-1] in ",_":
            raise ValueError(f"expected {expected}, its digits grouped in threes if at all (1,000 or 1_000), "
                             f"got {text!r}")


def check_bare_percent(value: float) -> None:
    """A ValueError where a percentage written without its '%' is a number between 0 and 1: elsewhere a share is
    written as a fraction (autoscale_headroom: 0.2, prefix_cache_hit_rate), so `0.15` may mean 15 % and would be read
    as 0.15 % (new-user QA); '0.15%' or '15%' says which. The one check of every percentage a user writes: a
    profile's constraints.discounts (schema/profile.py _percent) and `gpuplan diff --fail-above`
    (decide/diff.py parse_threshold)."""
    if 0 < value < 1:
        raise ValueError(f"{value:g} reads as {value:g}%, and may be meant as the share {value * 100:g}%: write "
                         f"{value * 100:g}% or {value:g}%")


def _finite(value: float, text: object) -> float:
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number")
    return value


def _plain(value: object) -> float | None:
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    if isinstance(value, (int, float)):
        return _finite(float(value), value)
    return None


def parse_count(value: object) -> float:
    """'6.7B' → 6.7e9; '350M', '1.4T', '4k', '2e9' and plain numbers too."""
    plain = _plain(value)
    if plain is not None:
        return plain
    text = str(value).strip()
    check_digit_groups(text, "a count such as 7B, 350M, 1.4T or 2e9")
    match = re.match(_COUNT_RE, text.replace("_", "").replace(",", ""))
    if not match:
        raise ValueError(f"expected a count such as 7B, 350M, 1.4T or 2e9, got {value!r}")
    return _finite(float(match.group(1)) * _SUFFIX[match.group(2)], value)


def parse_seconds(value: object) -> float:
    """'72h' → 259200; '3d', '90min', '500ms', '30s'. A plain number is seconds, and so is a datetime.timedelta (a
    profile built in Python: new-user QA round 13, deadline=timedelta(hours=24) was 'expected a duration …')."""
    import datetime

    if isinstance(value, datetime.timedelta):
        return _finite(value.total_seconds(), value)
    plain = _plain(value)
    if plain is not None:
        return plain
    text = str(value).strip().lower()
    if re.match(_COUNT_RE, text) and text[-1].isdigit():
        return parse_count(text)
    match = re.match(_DURATION_RE, text)
    if match and match.group(2) in _SECONDS:
        return _finite(float(match.group(1)) * _SECONDS[match.group(2)], value)
    # several parts, largest first or not: 1h30m, 3d 12h, 1 hour 30 minutes
    parts = re.findall(_DURATION_PART_RE, text)
    if len(parts) > 1 and not re.sub(_DURATION_PART_RE, "", text) and all(unit in _SECONDS for _, unit in parts):
        return _finite(sum(float(number) * _SECONDS[unit] for number, unit in parts), value)
    raise ValueError(f"expected a duration such as 72h, 3d, 90min or 500ms, got {value!r}")


def parse_usd(value: object) -> float:
    """'$20k' → 20000; '$1.5M', '2500', '$300'."""
    plain = _plain(value)
    if plain is not None:
        return plain
    text = str(value).strip()
    check_digit_groups(text, "an amount in USD such as $20k or 2500")
    text = text.replace(",", "")
    if text.startswith("$"):
        text = text[1:]
    elif text.lower().endswith("usd"):
        text = text[:-3].strip()
    try:
        return parse_count(text)
    except ValueError:
        raise ValueError(f"expected an amount in USD such as $20k or 2500, got {value!r}") from None


def parse_rate(value: object) -> float:
    """'20/s' → 20.0 per second; '1200/min', '3k/h'. A plain number is per second."""
    plain = _plain(value)
    if plain is not None:
        return plain
    text = str(value).strip()
    per_second = re.match(_PER_SECOND_RE, text, re.IGNORECASE)
    if per_second:
        return _finite(float(per_second.group(1)) * _SUFFIX[per_second.group(2)], value)
    match = re.match(_RATE_RE, text)
    unit = match.group(3).lower() if match else ""
    if not match or unit not in _SECONDS or unit in _SUB_SECOND:
        raise ValueError(f"expected a rate such as 20/s, 1200/min or 3k/h, got {value!r}")
    return _finite(float(match.group(1)) * _SUFFIX[match.group(2)] / _SECONDS[unit], value)
