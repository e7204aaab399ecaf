"""`gpuplan diff OLD NEW`: what changed between two plans (estimate JSON files or profiles) in GPU-hours, cost and
latency, and whether the cost rose above a threshold (for CI, the way Infracost guards cloud bills)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from planner.errors import InputError
from planner.io.yamlfile import read_text

TRAINING_METRICS = (("GPU-hours", ("gpu_hours",), True), ("hours P50", ("hours", "p50"), False),
                    ("cost P50 (USD)", ("cost_usd", "p50"), True))
SERVING_METRICS = (("GPUs", ("gpu_count",), False), ("$/month", ("monthly_cost_usd",), True),
                   ("TTFT p95 (ms)", ("latency_ms", "ttft_p95"), False),
                   ("TPOT p95 (ms)", ("latency_ms", "tpot_p95"), False),
                   ("latency p95 (ms)", ("latency_ms", "p95"), False))


@dataclass(frozen=True)
class Change:
    """One metric of one section's recommended plan, before and after."""

    section: str
    metric: str
    old: float | str | None
    new: float | str | None
    is_cost: bool

    @property
    def relative(self) -> float | None:
        """(new − old) / old, when both are numbers and old is not zero."""
        if isinstance(self.old, (int, float)) and isinstance(self.new, (int, float)) and self.old:
            return (self.new - self.old) / self.old
        return None


def parse_threshold(text: str) -> float:
    """'15%' or '15' → 0.15."""
    raw = text.strip().removesuffix("%")
    try:
        value = float(raw) / 100.0
    except ValueError:
        raise InputError(f"--fail-above {text!r}: expected a percentage such as 15%", field="--fail-above") from None
    if not value >= 0:
        raise InputError(f"--fail-above {text!r}: must be 0% or more", field="--fail-above")
    return value


def load_plan_document(path: Path, catalog_dir: Path) -> dict[str, Any]:
    """An estimate as its JSON document: read from a `--format json` file, or computed from a profile."""
    if path.suffix.lower() in (".yaml", ".yml"):
        from planner.catalog.load import load_catalog
        from planner.io.profile import load_profile
        from planner.plans.search import estimate
        from planner.render.report import estimate_dict

        catalog = load_catalog(catalog_dir)
        return estimate_dict(estimate(load_profile(path, catalog), catalog))
    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise InputError(f"not JSON: {exc.msg}", file=str(path), line=exc.lineno, column=exc.colno,
                         hint="Give the output of `gpuplan estimate PROFILE --format json`, or a profile.") from None
    if not isinstance(data, dict) or data.get("schema_version") != 1:
        raise InputError("not a gpuplan estimate (schema_version 1 expected)", file=str(path),
                         hint="Give the output of `gpuplan estimate PROFILE --format json`, or a profile.")
    return data


def recommended(section: dict[str, Any] | None) -> dict[str, Any] | None:
    """The recommended plan of a section (the closest plan when none is recommended)."""
    if not section or not section.get("plans"):
        return None
    index = section.get("recommended")
    plan: dict[str, Any] = section["plans"][index if isinstance(index, int) else 0]
    return plan


def _get(plan: dict[str, Any] | None, keys: tuple[str, ...]) -> Any:
    value: Any = plan
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def plan_changes(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """The recommended plans' metrics side by side."""
    changes = []
    for section, metrics in (("training", TRAINING_METRICS), ("inference", SERVING_METRICS)):
        a, b = recommended(old.get(section)), recommended(new.get(section))
        if a is None and b is None:
            continue
        changes.append(Change(section, "plan", _describe(section, a), _describe(section, b), False))
        for name, keys, is_cost in metrics:
            va, vb = _get(a, keys), _get(b, keys)
            if va is not None or vb is not None:
                changes.append(Change(section, name, va, vb, is_cost))
    return changes


def _describe(section: str, plan: dict[str, Any] | None) -> str | None:
    if plan is None:
        return None
    if section == "training":
        return f"{plan['gpu_count']}× {plan['gpu']} on {plan['provider']}"
    return f"{plan['replicas']}×{plan['gpus_per_replica']} {plan['gpu']} on {plan['provider']}"


def cost_rises_above(changes: list[Change], threshold: float) -> list[Change]:
    """Cost metrics that rose by more than `threshold` (a section that appeared counts as an infinite rise)."""
    over = []
    for change in changes:
        if not change.is_cost:
            continue
        rise = change.relative
        if rise is None and change.old is None and isinstance(change.new, (int, float)) and change.new > 0:
            rise = float("inf")
        if rise is not None and rise > threshold:
            over.append(change)
    return over


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, (int, float)):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def render_changes(changes: list[Change], old_name: str, new_name: str) -> str:
    """A table of the changes (rich)."""
    import io

    from rich.console import Console
    from rich.table import Table

    buffer = io.StringIO()
    console = Console(file=buffer, width=160, force_terminal=False, color_system=None)
    table = Table(title=f"Plan diff: {old_name} → {new_name}", title_justify="left")
    for column in ("section", "metric", "old", "new", "change"):
        table.add_column(column, overflow="fold")
    for c in changes:
        rel = c.relative
        change = f"{rel:+.1%}" if rel is not None else ("changed" if c.old != c.new else "")
        table.add_row(c.section, c.metric, _cell(c.old), _cell(c.new), change)
    console.print(table)
    return buffer.getvalue()
