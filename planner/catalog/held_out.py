"""The held-out error of each validation group, as catalog/accuracy.yaml stores it (scripts/build_accuracy.py writes it
from `gpuplan validate --cross-validate source`): what a plan's P10–P90 interval must at least span (issue 13 item 5:
intervals from the grouped cross-validation residuals, not only the fitted spread).

The σ of every group is worked out once per catalog, from the accuracy file's text read with the catalog's other files
(planner/catalog/load.py keys a loaded catalog by all of their contents): the serving search asks for it once per
efficiency (764 times on serve-7b-chat), and a look-up by path had to resolve and stat the file each time."""
from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Any

from planner.io.yamlcache import safe_load_cached
from planner.io.yamlfile import parse_yaml

ACCURACY_FILE = "accuracy.yaml"
MIN_HELD_OUT_RUNS = 5
"""A group's held-out error widens intervals only with at least this many runs (fewer: one or two runs' misses)."""
HALF_NORMAL_MEDIAN = 0.6745
"""Median of |x| for x ~ N(0, 1): a log-normal error's σ is ln(1 + median |error|) / 0.6745."""

HeldOut = dict[str, tuple[float, int, float]]
"""(σ of ln(predicted/actual), runs, median |error|) by validation group."""


@lru_cache(maxsize=8)
def parse_accuracy(text: str) -> dict[str, Any]:
    """An accuracy file's document ({} without its `groups`), parsed once per distinct text (keyed by the text itself,
    so an edited file is parsed afresh), from the content cache of earlier runs (planner/io/yamlcache.py). Callers must
    not modify it."""
    data = safe_load_cached(text)
    return data if isinstance(data, dict) and isinstance(data.get("groups"), dict) else {}


def accuracy_document(catalog_dir: Path | str) -> dict[str, Any]:
    """The catalog's accuracy file ({} without one, or without its `groups`), read now and parsed once per content
    (decide/confidence.py reads the plan's note from it)."""
    try:
        text = (Path(catalog_dir) / ACCURACY_FILE).read_text(encoding="utf-8")
    except OSError:
        return {}
    return parse_accuracy(text)


def held_out_sigmas(text: str, file: str) -> HeldOut:
    """The held-out σ of every validation group of an accuracy file's text with at least MIN_HELD_OUT_RUNS runs: the
    σ whose normal median |error| is the group's. A group without numbers where they belong is bad input, placed."""
    doc = parse_yaml(text, file)
    groups = doc.data.get("groups") if isinstance(doc.data, dict) else None
    out: HeldOut = {}
    for group, entry in (groups.items() if isinstance(groups, dict) else ()):
        if not isinstance(entry, dict):
            continue
        n, median = entry.get("n", 0), entry.get("median_abs_error")
        if not isinstance(n, int) or isinstance(n, bool):
            raise doc.error(("groups", group, "n"), f"expected a count of runs, got {n!r}")
        if n < MIN_HELD_OUT_RUNS:
            continue
        if not isinstance(median, (int, float)) or isinstance(median, bool) or not 0.0 <= median < math.inf:
            raise doc.error(("groups", group, "median_abs_error"), f"expected a fraction ≥ 0, got {median!r}")
        out[str(group)] = (math.log1p(median) / HALF_NORMAL_MEDIAN, n, float(median))
    return out
