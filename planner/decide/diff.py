"""`gpuplan diff OLD NEW`: what changed between two plans (estimate JSON files or profiles) in GPU-hours, cost and
latency, and whether the cost rose above a threshold (for CI, the way Infracost guards cloud bills)."""
from __future__ import annotations

import json
import math
from collections.abc import Sequence
from planner.dataclass import dataclass
from pathlib import Path
from typing import Any

from planner.errors import InputError, did_you_mean
from planner.io.yamlfile import read_text
from planner.readable import change_percent
from planner.schema.units import check_bare_percent, check_digit_groups

# the GPU count too (new-user QA round 28: `--fail-above gpus=10%` was refused on training plans, 'these plans have:
# cost, gpu_hours, hours', though docs/commands.md lists gpus and a training plan has a count)
TRAINING_METRICS = (("GPUs", ("gpu_count",), "gpus"), ("GPU-hours", ("gpu_hours",), "gpu_hours"),
                    ("hours P50", ("hours", "p50"), "hours"), ("compute P50 (USD)", ("cost_usd", "p50"), "cost"))
# every percentile a serving target may name (schema Slo: ttft/tpot p50 and p95, latency p50, p95 and p99), so a
# plan held to latency_p99 is compared, and guarded, on the latency it targets (new-user QA: only p95 was)
SERVING_METRICS = (("GPUs", ("gpu_count",), "gpus"), ("$/month", ("monthly_cost_usd",), "cost"),
                   ("TTFT p50 (ms)", ("latency_ms", "ttft_p50"), "ttft_p50"),
                   ("TTFT p95 (ms)", ("latency_ms", "ttft_p95"), "ttft_p95"),
                   ("TPOT p50 (ms)", ("latency_ms", "tpot_p50"), "tpot_p50"),
                   ("TPOT p95 (ms)", ("latency_ms", "tpot_p95"), "tpot_p95"),
                   ("latency p50 (ms)", ("latency_ms", "p50"), "latency_p50"),
                   ("latency p95 (ms)", ("latency_ms", "p95"), "latency_p95"),
                   ("latency p99 (ms)", ("latency_ms", "p99"), "latency_p99"))
METRIC_KEYS = ("cost", "gpu_hours", "hours", "gpus", "ttft_p50", "ttft_p95", "tpot_p50", "tpot_p95", "latency_p50",
               "latency_p95", "latency_p99")
"""Names `--fail-above` accepts: cost (training compute cost P50, cost_usd.p50, and serving $/month), gpu_hours,
hours, gpus, latencies."""


@dataclass(frozen=True)
class Change:
    """One metric of one section's recommended plan, before and after."""

    section: str
    metric: str
    old: float | str | None
    new: float | str | None
    is_cost: bool
    key: str = ""
    """The metric's name for --fail-above (METRIC_KEYS); '' for the plan description."""

    @property
    def metric_key(self) -> str:
        """`key`, or 'cost' for a cost change built without one."""
        return self.key or ("cost" if self.is_cost else "")

    @property
    def relative(self) -> float | None:
        """(new − old) / old, when both are numbers and old is not zero."""
        if isinstance(self.old, (int, float)) and isinstance(self.new, (int, float)) and self.old:
            return (self.new - self.old) / self.old
        return None


def parse_thresholds(text: str) -> dict[str, float]:
    """'cost=15%,gpu_hours=25%' → {'cost': 0.15, 'gpu_hours': 0.25}; a bare '15%' is the cost threshold."""
    out: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, sep, value = part.partition("=")
        if not sep:
            name, value = "cost", part
        name = name.strip().lower().replace("-", "_")
        if name not in METRIC_KEYS:
            raise InputError(f"unknown metric {name!r} in {text!r}", field="--fail-above",
                             hint=did_you_mean(name, METRIC_KEYS) or f"Use one of {', '.join(METRIC_KEYS)}.")
        if name in out:
            # new-user QA round 12: 'cost=15%,cost=20%' kept the last silently; which one was meant is a guess
            raise InputError(f"{name} is named twice in {text!r}", field="--fail-above",
                             hint="Give each metric once.")
        out[name] = parse_threshold(value)
    if not out:
        raise InputError(f"expected a percentage such as 15% or cost=15%,gpu_hours=25%, got {text!r}",
                         field="--fail-above")
    return out


def parse_threshold(text: str) -> float:
    """'15%' or '15' → 0.15; a bare number between 0 and 1 ('0.15': 15 % or 0.15 %?) is refused as a discount's is
    (schema/units.py check_bare_percent; new-user QA: `cost=0.15` was a 0.15 % threshold)."""
    raw = text.strip().removesuffix("%")
    try:
        # new-user QA round 18: float() reads '1_0' as 10, so '1_0%' was a 10 % threshold
        check_digit_groups(raw, "a percentage such as 15%")
    except ValueError as exc:
        raise InputError(str(exc).replace(repr(raw), repr(text)), field="--fail-above") from None
    try:
        value = float(raw) / 100.0
    except ValueError:
        raise InputError(f"expected a percentage such as 15%, got {text!r}", field="--fail-above") from None
    if not math.isfinite(value):
        # new-user QA round 15: 'inf%' (and '1e400%', which float() reads as inf) was accepted, a threshold no rise
        # is above, so the check passed whatever changed; 'nan%' read 'expected a percentage of 0% or more'
        raise InputError(f"expected a finite percentage such as 15%, got {text!r}", field="--fail-above")
    if not value >= 0:
        raise InputError(f"expected a percentage of 0% or more, got {text!r}", field="--fail-above")
    if not text.strip().endswith("%"):
        try:
            check_bare_percent(float(raw))
        except ValueError as exc:
            raise InputError(str(exc), field="--fail-above") from None
    return value


def is_profile(path: Path) -> bool:
    """A profile (planned here) rather than an estimate's JSON document."""
    return path.suffix.lower() in (".yaml", ".yml")


def document_confidence(doc: dict[str, Any]) -> float | None:
    """The confidence an estimate's JSON document planned its training at (decisions.training.confidence), when it
    states a valid one."""
    decisions = doc.get("decisions")
    training = decisions.get("training") if isinstance(decisions, dict) else None
    value = training.get("confidence") if isinstance(training, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.5 <= value < 1.0:
        return None
    return float(value)


def read_plan_document(path: Path) -> dict[str, Any]:
    """A saved `gpuplan estimate --format json` document, checked to be one (its shape, its version); bad input
    names the file (render/diff.py load_plan_document computes a profile's instead)."""
    try:
        # a UTF-8 byte-order mark (PowerShell's Out-File -Encoding utf8, Notepad) is no part of the document, as a
        # profile's YAML reads it: the estimate read 'not JSON: Unexpected UTF-8 BOM (decode using utf-8-sig)'
        data = json.loads(read_text(path).removeprefix("\ufeff"), parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        # in gpuplan's words (planner/io/jsontext.py): a cut-short estimate read 'not JSON: Unterminated string
        # starting at.', Python's json wording (new-user QA leftover)
        from planner.io.jsontext import json_error

        raise json_error(exc, str(path), hint=ESTIMATE_HINT) from None
    except RecursionError:
        raise InputError("not a gpuplan estimate: the JSON is nested too deeply to read", file=str(path),
                         hint=ESTIMATE_HINT) from None
    except ValueError as exc:  # NaN / Infinity, or an integer of more than 4,300 digits
        raise InputError(f"not a gpuplan estimate: {exc}", file=str(path), hint=ESTIMATE_HINT) from None
    version = data.get("schema_version") if isinstance(data, dict) else None
    if isinstance(version, int) and not isinstance(version, bool) and version > 1 and "profile" in data:
        # new-user QA round 9: an estimate of a newer gpuplan read 'not a gpuplan estimate'
        raise InputError(f"schema_version: estimate format version {version} was written by a newer gpuplan; this "
                         "gpuplan reads version 1", file=str(path),
                         hint="Upgrade gpuplan (pip install -U gpuplan), or diff estimates this version wrote.")
    if not isinstance(data, dict) or data.get("schema_version") != 1:
        raise InputError("not a gpuplan estimate (schema_version 1 expected)", file=str(path), hint=ESTIMATE_HINT)
    if not isinstance(data.get("profile"), str):
        # new-user QA round 16: `gpuplan validate --format json`'s document (schema_version 1 too) was read as an
        # estimate with no sections, and `diff` printed a table and 'val.json does not plan training' (exit 1)
        kind = next((f": it is `{command}`'s output" for command, key in OTHER_DOCUMENTS if key in data), "")
        raise InputError(f"not a gpuplan estimate (no profile name){kind}", file=str(path), hint=ESTIMATE_HINT)
    _check_shape(data, str(path))
    return data


def planning_confidence(old: Path, new: Path, given: float | None, docs: dict[Path, dict[str, Any]]
                        ) -> tuple[float, float | None]:
    """The confidence the profile sides are planned at, and the one adopted from an estimate's JSON (None: none
    adopted): --confidence when given, else the confidence of the one estimate beside a profile (a P90 estimate
    against the profile planned at P50 read as a change of plan, silently: new-user QA), else 0.5."""
    if given is not None:
        return given, None
    adopted = next((c for c in map(document_confidence, docs.values()) if c is not None), None) \
        if len(docs) == 1 else None
    return adopted or 0.5, adopted


def check_overrides(new: Path, overrides: Sequence[str]) -> None:
    """--set plans a what-if of NEW's profile: refused, with what to give instead, when NEW is an estimate's JSON
    (its numbers are already computed; a silently ignored --set would read as 'no change')."""
    if overrides and not is_profile(new):
        raise InputError("--set changes the new side's profile, and this is an estimate's JSON", file=str(new),
                         hint="Give the profile as NEW (e.g. `gpuplan diff p.yaml p.yaml --set training.epochs=3`).")


def confidence_notes(old: Path, new: Path, old_doc: dict[str, Any], new_doc: dict[str, Any],
                     adopted: float | None) -> list[str]:
    """Notes on the quantiles the two sides were planned at: a profile planned at its estimate's confidence, or two
    sides planned at different ones (their recommended plans then differ partly for that, not for a change)."""
    if adopted is not None and adopted != 0.5:
        profile, estimate = (old, new) if is_profile(old) else (new, old)
        return [f"Note: {profile.name} planned at confidence {adopted:g}, as {estimate.name} was."]
    a, b = document_confidence(old_doc), document_confidence(new_doc)
    if a is not None and b is not None and a != b:
        return [f"Note: {old.name} was planned at confidence {a:g} and {new.name} at {b:g}: the recommended "
                "plans differ partly for that. Compare estimates made at one --confidence."]
    return []


OTHER_DOCUMENTS = (("gpuplan validate --format json", "runs"), ("gpuplan diff --format json", "changes"))
"""gpuplan's other JSON documents of schema_version 1, each by a key an estimate has not."""
ESTIMATE_HINT = "Give the output of `gpuplan estimate PROFILE --format json`, or a profile."
_PLAN_FIELDS = {"training": {"gpu_count": int, "gpu": str, "provider": str},
                "inference": {"replicas": int, "gpus_per_replica": int, "gpu": str, "provider": str}}


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows (gpuplan writes only finite numbers)")


def _check_shape(data: dict[str, Any], file: str) -> None:
    """The parts of an estimate document diff reads, with the types it reads them as: a document with
    schema_version 1 but another shape is one placed error, not a crash."""
    def bad(where: str, expected: str) -> InputError:
        return InputError(f"not a gpuplan estimate: {where} should be {expected}", file=file,
                          hint=ESTIMATE_HINT)

    for section, fields in _PLAN_FIELDS.items():
        part = data.get(section)
        if part is None:
            continue
        if not isinstance(part, dict):
            raise bad(section, "an object")
        plans = part.get("plans")
        if plans is None:
            continue
        if not isinstance(plans, list) or not all(isinstance(p, dict) for p in plans):
            raise bad(f"{section}.plans", "a list of objects")
        index = part.get("recommended")
        if index is not None and (not isinstance(index, int) or isinstance(index, bool)
                                  or not 0 <= index < max(1, len(plans))):
            raise bad(f"{section}.recommended", f"a plan index from 0 to {max(0, len(plans) - 1)} or null")
        for i, plan in enumerate(plans):
            for key, kind in fields.items():
                value: Any = plan.get(key)
                if not isinstance(value, kind) or isinstance(value, bool):
                    raise bad(f"{section}.plans.{i}.{key}", "a number" if kind is int else "a string")
            metrics = TRAINING_METRICS if section == "training" else SERVING_METRICS
            for name, keys, _ in metrics:
                value = plan
                for depth, key in enumerate(keys):
                    if value is None:
                        break
                    if not isinstance(value, dict):
                        raise bad(f"{section}.plans.{i}.{'.'.join(keys[:depth])}", "an object")
                    value = value.get(key)
                # a string passed here and was never compared, so a --fail-above on it passed whatever changed
                # (new-user QA: monthly_cost_usd "abc" in a hand-edited estimate, --fail-above cost=1%: exit 0)
                if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                    raise bad(f"{section}.plans.{i}.{'.'.join(keys)}", "a number")


def recommended(section: dict[str, Any] | None) -> dict[str, Any] | None:
    """The recommended plan of a section; None when the section was not planned or nothing met its constraints
    (`recommended` null or absent: plans[0] is then only the closest plan, over budget or past the deadline, and
    comparing it would pass a change that made the plan impossible)."""
    if not section or not section.get("plans"):
        return None
    index = section.get("recommended")
    if not isinstance(index, int) or isinstance(index, bool):
        return None
    plan: dict[str, Any] = section["plans"][index]
    return plan


@dataclass(frozen=True)
class Unrecommended:
    """A section an estimate planned with nothing recommended: no plan met its deadline, budget or latency."""

    section: str
    side: str
    """'old' or 'new'."""
    name: str
    """The file the estimate came from, as the diff names it."""


def unrecommended(old: dict[str, Any], new: dict[str, Any], old_name: str = "old",
                  new_name: str = "new") -> list[Unrecommended]:
    """The sections either estimate planned (a `plans` list) without a recommended plan: they cannot be compared,
    and the diff fails on them as `estimate` does (exit 1)."""
    out = []
    for section in ("training", "inference"):
        for side, doc, name in (("old", old, old_name), ("new", new, new_name)):
            part = doc.get(section)
            if isinstance(part, dict) and isinstance(part.get("plans"), list) and recommended(part) is None:
                out.append(Unrecommended(section, side, name))
    return out


NO_PLAN = "none recommended"
"""The plan cell of a side with no recommended plan."""


def _get(plan: dict[str, Any] | None, keys: tuple[str, ...]) -> Any:
    value: Any = plan
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def plan_changes(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """The recommended plans' metrics side by side (a side with nothing recommended: its plan cell says so and its
    metrics are empty)."""
    changes = []
    for section, metrics in (("training", TRAINING_METRICS), ("inference", SERVING_METRICS)):
        a, b = recommended(old.get(section)), recommended(new.get(section))
        if a is None and b is None and not _planned(old, section) and not _planned(new, section):
            continue
        changes.append(Change(section, "plan", _describe(section, a, _planned(old, section)),
                              _describe(section, b, _planned(new, section)), False))
        for name, keys, key in metrics:
            va, vb = _get(a, keys), _get(b, keys)
            if va is not None or vb is not None:
                changes.append(Change(section, name, va, vb, key == "cost", key))
    return changes


def _planned(doc: dict[str, Any], section: str) -> bool:
    part = doc.get(section)
    return isinstance(part, dict) and isinstance(part.get("plans"), list)


def _describe(section: str, plan: dict[str, Any] | None, planned: bool) -> str | None:
    if plan is None:
        return NO_PLAN if planned else None
    if section == "training":
        return f"{plan['gpu_count']}× {plan['gpu']} on {plan['provider']}"
    return f"{plan['replicas']}×{plan['gpus_per_replica']} {plan['gpu']} on {plan['provider']}"


def cost_rises_above(changes: list[Change], threshold: float) -> list[Change]:
    """Cost metrics that rose by more than `threshold` (a section that appeared counts as an infinite rise)."""
    return rises_above(changes, {"cost": threshold})


def rises_above(changes: list[Change], thresholds: dict[str, float]) -> list[Change]:
    """Changes of the named metrics that rose by more than their threshold (a section that appeared counts as an
    infinite rise); metrics not named are never checked."""
    over = []
    for change in changes:
        threshold = thresholds.get(change.metric_key)
        if threshold is None:
            continue
        rise = change.relative
        if rise is None and change.old is None and isinstance(change.new, (int, float)) and change.new > 0:
            rise = float("inf")
        if rise is not None and rise > threshold:
            over.append(change)
    return over


def check_thresholds_apply(changes: list[Change], missing: list[Unrecommended],
                           thresholds: dict[str, float] | None) -> None:
    """A --fail-above metric that neither recommended plan has (ttft_p95 on a training diff, latency_p95 on a
    generative model's) would never be checked, so a CI guard on it passed whatever changed (new-user QA): one
    InputError naming the metrics these plans have. Not when a side has no recommended plan: that diff fails anyway,
    and its metrics are absent for that reason."""
    if not thresholds or missing:
        return
    present = {c.metric_key for c in changes if c.metric_key and (c.old is not None or c.new is not None)}
    absent = [name for name in thresholds if name not in present]
    if absent:
        have = ", ".join(k for k in METRIC_KEYS if k in present) or "none"
        raise InputError(f"{', '.join(absent)}: neither recommended plan has "
                         f"{'this metric' if len(absent) == 1 else 'these metrics'}, so "
                         f"{'it' if len(absent) == 1 else 'they'} would never be checked (these plans have: {have})",
                         field="--fail-above", hint="Name only metrics the plans have.")


def failures(changes: list[Change], missing: list[Unrecommended],
             thresholds: dict[str, float] | None, old_name: str = "old", new_name: str = "new") -> list[str]:
    """Why the diff fails (exit 1), one line each: a section either estimate planned with nothing recommended (always
    a failure: there is no plan to compare, as `estimate` exits 1 on it); under --fail-above, a section OLD planned
    that NEW does not plan at all (a guard cannot pass a plan it cannot see); then the named metrics that rose above
    their --fail-above share (sections with nothing recommended on a side are not compared)."""
    lines = [f"{m.name} ({m.side}): {m.section} has no recommended plan (none meets its deadline, budget or latency "
             f"targets), so there is no {m.section} plan to compare; `gpuplan estimate` on it shows the closest "
             f"plans and why" for m in missing]
    if thresholds is None:
        return lines
    # new-user QA round 9: a NEW without OLD's training section passed `--fail-above cost=15%` on that section
    lines += [f"{c.section}: {old_name} plans it and {new_name} does not, so there is no {c.section} plan to check "
              f"against --fail-above" for c in changes if c.metric == "plan" and c.old is not None and c.new is None]
    skip = {m.section for m in missing}
    for change in rises_above([c for c in changes if c.section not in skip], thresholds):
        rise, threshold = change.relative, thresholds[change.metric_key]
        lines.append(f"{change.section} {change.metric} rose "
                     f"{'from nothing' if rise is None or rise == float('inf') else _rise(rise, threshold)}, "
                     f"above --fail-above {change.metric_key}={_percent(threshold)}")
    return lines


def _rise(share: float, threshold: float) -> str:
    """A rise past its threshold, with the decimals that show it past (new-user QA round 8: $74.52 -> $82.08 read
    'rose 10%, above --fail-above cost=10%'; now 'rose 10.1%')."""
    text = change_percent(share).lstrip("+")
    for decimals in range(1, 10):
        if float(text.rstrip("%").replace(",", "")) > round(threshold * 100.0, 9):
            break
        text = f"{share * 100.0:,.{decimals}f}%"
    return text


def _percent(share: float) -> str:
    """A --fail-above share as the user wrote it: 0.003 → '0.3%' (`:.0%` printed '0%', a threshold never given)."""
    return f"{round(share * 100.0, 9):g}%"
