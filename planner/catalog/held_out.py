"""The held-out error of each validation group, as catalog/accuracy.yaml stores it (scripts/build_accuracy.py writes it
from `gpuplan validate --cross-validate source`): what a plan's P10–P90 interval must at least span (issue 13 item 5:
intervals from the grouped cross-validation residuals, not only the fitted spread)."""
from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Any

ACCURACY_FILE = "accuracy.yaml"
MIN_HELD_OUT_RUNS = 5
"""A group's held-out error widens intervals only with at least this many runs (fewer: one or two runs' misses)."""
HALF_NORMAL_MEDIAN = 0.6745
"""Median of |x| for x ~ N(0, 1): a log-normal error's σ is ln(1 + median |error|) / 0.6745."""


@lru_cache(maxsize=8)
def _document(path: str, _mtime_ns: int) -> dict[str, Any]:
    import yaml

    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return data if isinstance(data, dict) and isinstance(data.get("groups"), dict) else {}


def accuracy_document(catalog_dir: Path | str) -> dict[str, Any]:
    """The catalog's accuracy file ({} without one, or without its `groups`), parsed once per file version (cached by
    its resolved path and modification time; decide/confidence.py reads the plan's note from the same parse)."""
    path = Path(catalog_dir) / ACCURACY_FILE
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        return {}
    return _document(str(path.resolve()), mtime)


def held_out_groups(catalog_dir: Path | str) -> dict[str, Any]:
    """The validation groups of the catalog's accuracy file ({} without one)."""
    groups: dict[str, Any] = accuracy_document(catalog_dir).get("groups", {})
    return groups


def held_out_sigma(catalog_dir: Path | str, group: str) -> tuple[float, int, float] | None:
    """(σ of ln(predicted/actual), runs, median |error|) of a validation group held out by publication: the σ whose
    normal median |error| is the group's (None: no such group, or fewer than MIN_HELD_OUT_RUNS runs)."""
    entry = held_out_groups(catalog_dir).get(group) if catalog_dir else None
    if not isinstance(entry, dict) or int(entry.get("n", 0)) < MIN_HELD_OUT_RUNS:
        return None
    median = float(entry["median_abs_error"])
    return math.log1p(median) / HALF_NORMAL_MEDIAN, int(entry["n"]), median
