"""Render a Decision: the three named choices with trade-offs, best per GPU type, rejections, assumptions."""
from __future__ import annotations

from typing import Any

from planner.decide.choices import (
    Decision,
    ServingDecision,
    TrainingDecision,
    TrainingOption,
    hours_text,
)
from planner.plans.serving import ServingPlan
from planner.render.readable import fixed, usd


def _r(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else float(f"{value:.{digits}g}")


_usd = usd


def _training_plan_text(o: TrainingOption) -> str:
    p = o.plan
    tensor, pipeline = getattr(p, "tensor", 1), getattr(p, "pipeline", 1)
    layout = (f"dp {p.gpu_count // (tensor * pipeline)} × tp {tensor} × pp {pipeline}, " if tensor * pipeline > 1
              else "") + p.sharding + (" +recompute" if p.recompute else "")
    return f"{o.label}, {p.instances}× {p.instance}, {layout}, micro-batch {p.micro_batch}"


def _serving_plan_text(p: ServingPlan) -> str:
    return (f"{p.replicas}×{p.gpus_per_replica} {p.gpu} on {p.provider} ({p.instance}), batch {p.batch_size}")


def _latency_ms(p: ServingPlan, key: str) -> str:
    return f"{fixed(p.latency_s[key] * 1e3, 0)} ms" if key in p.latency_s else "–"


def training_title(d: TrainingDecision, profile: str) -> str:
    """Heading of the training decision."""
    limits = []
    if d.deadline_h is not None:
        limits.append(f"deadline {hours_text(d.deadline_h)}")
    if d.budget_usd is not None:
        limits.append(f"budget {_usd(d.budget_usd)}")
    return (f"Training decision for {profile} — hours at P{d.confidence * 100:g}"
            + (f"; {', '.join(limits)}" if limits else ""))


def training_sections(d: TrainingDecision, top: int | None) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) of each table of the training decision."""
    level = f"P{d.confidence * 100:g}"
    choices = [[c.name, _training_plan_text(c.option), fixed(c.option.hours), _usd(c.option.cost_usd), c.tradeoff]
               for c in [*d.choices, *d.alternatives]]
    per_gpu = [[o.plan.gpu, _training_plan_text(o), fixed(o.hours), _usd(o.cost_usd)]
               for o in d.best_per_gpu[:top]]
    rejected = [[r.gpu, r.provider, "; ".join(r.reasons)] for r in d.rejected[:top]]
    out = [("Choices", ["choice", "plan", f"hours {level}", f"cost {level}", "trade-off"], choices),
           ("Best plan per GPU type", ["GPU", "plan", f"hours {level}", f"cost {level}"], per_gpu)]
    if rejected:
        more = len(d.rejected) - len(rejected)
        out.append(("Rejected GPU types" + (f" ({more} more: --top 0 lists all)" if more > 0 else ""),
                    ["GPU", "closest offer", "why not"], rejected))
    return out


def serving_sections(d: ServingDecision, top: int | None) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) of each table of the serving decision."""
    name = "TTFT p95" if d.latency_key == "ttft_p95" else "latency p95"
    choices = [[c.name, _serving_plan_text(c.option), _latency_ms(c.option, d.latency_key),
                _usd(c.option.monthly_cost_usd), c.tradeoff] for c in d.choices]
    per_gpu = [[p.gpu, _serving_plan_text(p), _latency_ms(p, d.latency_key), _usd(p.monthly_cost_usd)]
               for p in d.best_per_gpu[:top]]
    rejected = [[r.gpu, r.provider, "; ".join(r.reasons)] for r in d.rejected[:top]]
    out = [("Choices", ["choice", "plan", name, "$/month", "trade-off"], choices),
           ("Best plan per GPU type", ["GPU", "plan", name, "$/month"], per_gpu)]
    if rejected:
        more = len(d.rejected) - len(rejected)
        out.append(("Rejected GPU types" + (f" ({more} more: --top 0 lists all)" if more > 0 else ""),
                    ["GPU", "closest offer", "why not"], rejected))
    return out


def decision_notes(d: TrainingDecision | ServingDecision) -> list[str]:
    """Spot overheads of the choices, then the assumptions."""
    notes = []
    for c in d.choices + getattr(d, "alternatives", []):
        spot = getattr(c.option, "spot", None)
        if spot is not None:
            notes.append(f"{c.name} — {spot.describe()}.")
    if not d.choices:
        notes.append("No plan meets every constraint: the rejected list says what each GPU type misses.")
    return notes + d.assumptions


def blocks(decision: Decision, profile: str, top: int | None):
    """(heading, sections, notes) per decided section, for the table and markdown renderers."""
    out = []
    if decision.training is not None:
        out.append((training_title(decision.training, profile), training_sections(decision.training, top),
                    decision_notes(decision.training)))
    if decision.inference is not None:
        out.append((f"Serving decision for {profile} — cheapest that meets every percentile target",
                    serving_sections(decision.inference, top), decision_notes(decision.inference)))
    return out


def render_decision_table(decision: Decision, profile: str, top: int | None, console) -> None:
    """Print the decision on a rich console."""
    from rich.table import Table

    for heading, sections, notes in blocks(decision, profile, top):
        console.print(heading, highlight=False, soft_wrap=True)
        for title, head, rows in sections:
            if not rows:
                continue
            table = Table(title=title, title_justify="left")
            for column in head:
                table.add_column(column, overflow="fold")
            for row in rows:
                table.add_row(*row)
            console.print(table)
        for note in notes:
            console.print(f"- {note}", highlight=False, soft_wrap=True)
        console.print()


def render_decision_markdown(decision: Decision, profile: str, top: int | None) -> list[str]:
    """Markdown lines of the decision."""
    out: list[str] = []
    for heading, sections, notes in blocks(decision, profile, top):
        out += [f"## {heading}", ""]
        for title, head, rows in sections:
            if not rows:
                continue
            out += [f"### {title}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
            out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
            out.append("")
        out += [f"- {note}" for note in notes] + [""]
    return out


def _training_option_dict(o: TrainingOption) -> dict[str, Any]:
    p = o.plan
    out = {"gpu": p.gpu, "provider": p.provider, "instance": p.instance, "gpu_count": p.gpu_count,
           "instances": p.instances, "spot": p.spot, "sharding": p.sharding, "recompute": p.recompute,
           "micro_batch": p.micro_batch, "hours": _r(o.hours), "cost_usd": _r(o.cost_usd),
           "hours_p50": _r(p.hours_p50), "efficiency_source": p.efficiency.source,
           "meets_deadline": o.meets_deadline, "within_budget": o.within_budget, "reasons": list(o.reasons)}
    if o.spot is not None:
        s = o.spot
        out["preemption"] = {"interruptions_per_hour": _r(s.interruptions_per_hour),
                             "checkpoint_gb": _r(s.checkpoint_bytes / 1e9),
                             "checkpoint_write_s": _r(s.checkpoint_write_s),
                             "checkpoint_interval_s": _r(s.checkpoint_interval_s), "restart_s": _r(s.restart_s),
                             "overhead_fraction": _r(s.overhead_fraction),
                             "expected_interruptions": _r(s.expected_interruptions)}
    return out


def _serving_option_dict(p: ServingPlan) -> dict[str, Any]:
    return {"gpu": p.gpu, "provider": p.provider, "instance": p.instance, "replicas": p.replicas,
            "gpus_per_replica": p.gpus_per_replica, "batch_size": p.batch_size,
            "latency_ms": {k: _r(v * 1e3) for k, v in p.latency_s.items()},
            "monthly_cost_usd": _r(p.monthly_cost_usd), "meets_slo": p.meets_slo, "reasons": list(p.reasons)}


def decision_dict(decision: Decision) -> dict[str, Any]:
    """The decision as JSON (the `decisions` field of `gpuplan estimate --format json`)."""
    out: dict[str, Any] = {}
    if decision.training is not None:
        d = decision.training
        out["training"] = {
            "confidence": d.confidence,
            "choices": [{"name": c.name, "tradeoff": c.tradeoff, **_training_option_dict(c.option)}
                        for c in [*d.choices, *d.alternatives]],
            "best_per_gpu": [_training_option_dict(o) for o in d.best_per_gpu],
            "rejected": [{"gpu": r.gpu, "provider": r.provider, "reasons": list(r.reasons)} for r in d.rejected],
            "frontier": [{"hours": _r(o.hours), "cost_usd": _r(o.cost_usd), "gpu": o.plan.gpu,
                          "provider": o.plan.provider, "gpu_count": o.plan.gpu_count, "spot": o.plan.spot}
                         for o in d.frontier],
            "assumptions": d.assumptions,
        }
    if decision.inference is not None:
        d = decision.inference
        out["inference"] = {
            "latency_key": d.latency_key,
            "choices": [{"name": c.name, "tradeoff": c.tradeoff, **_serving_option_dict(c.option)}
                        for c in d.choices],
            "best_per_gpu": [_serving_option_dict(p) for p in d.best_per_gpu],
            "rejected": [{"gpu": r.gpu, "provider": r.provider, "reasons": list(r.reasons)} for r in d.rejected],
            "assumptions": d.assumptions,
        }
    return out
