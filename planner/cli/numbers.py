"""Numeric command-line options (--top, --seed, --processes, --local-usd-per-hour) read in the project's words.

Typer's own reading of an int or float option is pydantic's: its errors reached the user as 'Input should be greater
than or equal to 0' and 'unable to parse string as an integer', and it read '1_0' as 10 (new-user QA round 18). Each
option here takes a parser whose errors say what a profile field's say (io/loading.py range_words): 'expected a whole
number at least 0, got '-1''. cli/guard.py usage_error puts the option's name before it."""
from __future__ import annotations

import math
import re

from planner.io.loading import range_words
from planner.schema.units import check_digit_groups, parse_count


class WholeNumber:
    """The parser of a whole-number option from `least` to `most` (None: no upper end), which the option's help shows
    as Typer does ([x>=0], [2<=x<=64]: `min=parser.least, max=parser.most`). It reads a count as a profile's
    whole-number fields do (docs/profile.md: `1k` is 1000, `2e3` 2000, `1,024` 1024), digits alone being the usual."""

    def __init__(self, least: int, most: int | None = None) -> None:
        self.least = least
        self.most = most
        self.expected = range_words({"ge": least} if most is None else {"ge": least, "le": most}, int)

    def __call__(self, text: object) -> int:
        if isinstance(text, int) and not isinstance(text, bool):  # a default, given as a number
            return text
        raw = str(text).strip()
        check_digit_groups(raw, self.expected)
        try:
            value = parse_count(raw.removeprefix("+"))
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value == int(value) and self.least <= value
                and (self.most is None or value <= self.most)):
            raise ValueError(f"expected {self.expected}, got {text!r}")
        return int(value)


_DECIMAL = r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|[+-]?(inf|infinity|nan)"
"""A number as float() reads one, its digits' groups taken out (nan and inf pass: the option's own check says what is
wrong with them, api.check_local_usd_per_hour)."""


def number(text: object) -> float:
    """A parser of a plain-number option; its range is checked where the value is used (the command's own words,
    with the reason)."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(text)
    raw = str(text).strip()
    check_digit_groups(raw, "a number")
    raw = raw.replace(",", "").replace("_", "")
    if not re.fullmatch(_DECIMAL, raw, re.IGNORECASE):
        raise ValueError(f"expected a number, got {text!r}")
    return float(raw)
