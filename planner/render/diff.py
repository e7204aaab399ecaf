"""A plan diff as the user reads it (`gpuplan diff`): each side as its estimate JSON document, and the changes as a
table, Markdown or JSON. The changes themselves are decided in planner/decide/diff.py."""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from planner.decide.diff import Change, Unrecommended, is_profile, read_plan_document
from planner.readable import change_percent, fixed, gpu_hours, hours, usd
from planner.render.jsonnum import exact_numbers, money, rounded


def load_plan_document(path: Path, catalog_dir: Path, confidence: float = 0.5,
                       overrides: Sequence[str] = (), exact: bool = True) -> dict[str, Any]:
    """An estimate as its JSON document: read from a `--format json` file, or computed from a profile at
    `confidence` with `--set`-style `overrides`, its numbers as computed (`exact`) or as `--format json` writes them
    (rounded: to be compared with a saved document, whose numbers are)."""
    if is_profile(path):
        import contextlib

        import planner

        catalog = planner.load_catalog(catalog_dir)
        result = planner.plan(planner.load_profile(path, catalog, overrides), catalog, confidence=confidence)
        # changes from the numbers as computed; the diff's own output rounds (changes_dict)
        with exact_numbers() if exact else contextlib.nullcontext():
            return result.to_dict(top=None)
    return read_plan_document(path)


def _cell(value: Any, metric: str = "") -> str:
    """A value as people read it: dollars with cents below $100, grouped digits, hours as the estimate's tables."""
    if value is None:
        return "–"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if _is_money(metric):
        return usd(value)
    if metric in ("GPUs",):
        return f"{value:,.0f}"
    if "(ms)" in metric:
        return fixed(value, 0 if abs(value) >= 10 else 1)
    # the estimate's own formats (readable.py): the tables' hours, whole GPU-hours from 100
    return gpu_hours(value) if metric == "GPU-hours" else hours(value)


def _change(c: Change) -> str:
    rel = c.relative
    if rel is not None:
        return change_percent(rel)
    if c.old is None and c.new is not None:
        return "added"
    if c.new is None and c.old is not None:
        return "removed"
    return "changed" if c.old != c.new else ""


def changes_dict(changes: list[Change], old_name: str, new_name: str,
                 missing: tuple[Unrecommended, ...] | list[Unrecommended] = (),
                 new_set: tuple[str, ...] = ()) -> dict[str, Any]:
    """The diff as JSON: every metric with old, new and the relative change (a fraction, null when undefined), the
    sections a side planned with nothing recommended (`no_recommended_plan`: section and side), and the --set
    overrides NEW's profile was planned with (`new_set`)."""
    return {"schema_version": 1, "old": old_name, "new": new_name, "new_set": list(new_set),
            "no_recommended_plan": [{"section": m.section, "side": m.side} for m in missing],
            "changes": [{"section": c.section, "metric": c.metric, "key": c.metric_key or None,
                         "old": _as_json(c.old, c.metric), "new": _as_json(c.new, c.metric),
                         "relative": None if c.relative is None else round(c.relative, 6)} for c in changes]}


def _as_json(value: Any, metric: str) -> Any:
    """A number as the estimate's JSON writes it (dollars to the cent, others to 4 significant figures; a profile's
    are compared unrounded); others as given."""
    if isinstance(value, float):
        return money(value) if _is_money(metric) else rounded(value)
    return value


def _is_money(metric: str) -> bool:
    return "USD" in metric or "$" in metric


def render_changes(changes: list[Change], old_name: str, new_name: str, format: str = "table",
                   missing: tuple[Unrecommended, ...] | list[Unrecommended] = (), new_set: tuple[str, ...] = ()) -> str:
    """The changes as a table fitted to the terminal (rich), JSON or markdown; `new_set`: the --set overrides NEW
    was planned with, which the title names (new-user QA: `diff p.yaml p.yaml --set training.epochs=3` was titled
    'p.yaml → p.yaml', a report that did not say what changed)."""
    if format == "json":
        return json.dumps(changes_dict(changes, old_name, new_name, missing, new_set), indent=2) + "\n"
    new_name += "".join(f" --set {override}" for override in new_set)
    rows = [[c.section, c.metric, _cell(c.old, c.metric), _cell(c.new, c.metric), _change(c)] for c in changes]
    from planner.render.console import Column, clean

    columns = [Column("section"), Column("metric"), Column("old", "right"), Column("new", "right"),
               Column("change", "right")]
    title = f"Plan diff: {old_name} → {new_name}"
    if format == "markdown":
        from planner.render.decision import markdown_table
        from planner.render.escape import markdown

        heading = f"Plan diff: {markdown(old_name)} → {markdown(new_name)}"  # file or profile names: the user's
        return "\n".join([f"## {heading}", "", *markdown_table(columns, rows)]) + "\n"
    import io

    from planner.render.console import fit_table, make_console

    # a plan on two lines, its GPUs over its provider (new-user QA round 27: at 80 columns the old and new plans ran
    # together, '12× RTX-A4000 8× H100-SXM on mithril' over 'on simplepod')
    rows = [[*row[:2], *(cell.replace(" on ", "\non ", 1) if c.metric == "plan" else cell for cell in row[2:4]),
             *row[4:]] for row, c in zip(rows, changes)]
    buffer = io.StringIO()
    console = make_console(buffer)
    console.print(fit_table(console, columns, rows, title=title))
    return buffer.getvalue()
