"""The whole bill of one plan, for people: compute, storage, egress and total as rows (issue 15 item 6), the amounts
read from the plan's `cost_usd` as the JSON makes it (planner/render/report.py _cost_dict and _serving_cost_dict)
before the JSON's rounding (planner/render/jsonnum.py), so the text, the markdown and the HTML print the dollars the plans
table prints and the JSON's figures round from the same values; a line whose price (or, for serving egress, volume) is
unknown says so and stays out of the total. A training plan's bill is its run at P50; a serving plan's is one
month. The rates behind each line come from the plan's BillRates or ServingBill (planner/model/bill.py)."""
from __future__ import annotations

from planner.dataclass import dataclass
from typing import Any

from planner import readable
from planner.efficiency.local_device import LOCAL_PROVIDER
from planner.model.bill import (
    DATASET_NOT_GIVEN,
    EGRESS_UNKNOWN,
    EGRESS_VOLUME_NOT_GIVEN,
    OWN_MACHINE,
    STORAGE_UNKNOWN,
    BillRates,
    ServingBill,
)
from planner.plans.serving import ServingPlan
from planner.plans.training import TrainingPlan
from planner.readable import fixed, usd
from planner.render.console import Column

COLUMNS = [Column("line"), Column("USD, P50", "right"), Column("what it counts")]
SERVING_COLUMNS = [Column("line"), Column("USD/month", "right"), Column("what it counts")]

COMPUTE_ONLY = ("The compute columns (plans and choices) are the GPU instances only, whole instances billed: what "
                "the ranking, the budget and the choices read; storage and egress are in this bill.")
SERVING_COMPUTE_ONLY = ("The $/month columns (plans and choices) are the GPU instances only, whole instances billed: "
                        "what the ranking and the choices read; storage and egress are in this bill.")

_SAID = (STORAGE_UNKNOWN, EGRESS_UNKNOWN, EGRESS_VOLUME_NOT_GIVEN, OWN_MACHINE)
"""Bill notes each bill says in its rows, not again under it."""


@dataclass(frozen=True)
class BillSection:
    """A bill as the reports print it: a heading, a table and the notes under it."""

    title: str
    columns: list[Column]
    rows: list[list[str]]
    notes: list[str]


@dataclass(frozen=True)
class _Line:
    """One storage or egress row: what it counts when counted, else why not and whether the price is unknown."""

    counts: str | None
    why_not: str = ""
    price_unknown: bool = True


def _gb(value: float) -> str:
    """Gigabytes: one decimal, three significant figures below 1 GB."""
    return f"{fixed(value)} GB" if value >= 1 else f"{value:.3g} GB"


def _rate(value: float) -> str:
    """A price per GB: three significant figures (storage runs at cents and fractions of cents)."""
    return f"${value:.3g}"


def _stored(rates: BillRates) -> str:
    """What storage holds, in words: the dataset and the checkpoints kept."""
    parts = [] if rates.dataset_gb is None else [f"dataset {_gb(rates.dataset_gb)}"]
    if rates.checkpoints_kept:
        parts.append(f"{rates.checkpoints_kept} checkpoint{'s' if rates.checkpoints_kept > 1 else ''} × "
                     f"{_gb(rates.checkpoint_gb)}")
    return " + ".join(parts) if parts else "nothing"


def bill_title(plan: TrainingPlan | ServingPlan, number: int | None, recommended: bool) -> str:
    """Heading of the bill: whose plan it is (its row number in the plans table when shown there)."""
    kind = "training" if isinstance(plan, TrainingPlan) else "serving"
    which = f"the recommended {kind} plan" if recommended else f"the first {kind} plan (none is recommended)"
    row = f"#{number}: " if number is not None else ""
    if isinstance(plan, TrainingPlan):
        return (f"Whole bill of {which} ({row}{plan.gpu_count}× {plan.gpu} · {plan.provider}"
                + (" · spot" if plan.spot else "") + ")")
    return (f"Whole monthly bill of {which} ({row}{plan.replicas}×{plan.gpus_per_replica} {plan.gpu} · "
            f"{plan.provider})")


def _own_machine(provider: str) -> str | None:
    """'your own machine' / 'this machine' for an owned or measured machine, whose disk and network no price in the
    catalog bills (new-user QA: its bill read 'no storage price for owned in the catalog', as if 'owned' were a
    provider the catalog lacked); None for a rented offer."""
    from planner.plans.owned import OWNED

    return {OWNED: "your own machine", LOCAL_PROVIDER: "this machine"}.get(provider)


def _own_rate(plan: TrainingPlan) -> str:
    """' at $0.585/h (its usd_per_hour + any electricity, constraints.owned)' for an owned machine, whose hourly cost is
    the profile's figures, not a price (new-user QA round 28: its bill line did not say what the $4.72 was)."""
    from planner.plans.owned import OWNED

    if plan.provider != OWNED:
        return ""
    # not 'and electricity' outright: without constraints.usd_per_kwh (or a TDP) none is counted, which a warning
    # says (new-user QA round 29: the bill line and that warning contradicted each other)
    return f" at {usd(plan.usd_per_hour)}/h (its usd_per_hour + any electricity, constraints.owned)"


def _gpus(count: int) -> str:
    """'1 GPU', '8 GPUs'."""
    return f"{count} GPU" + ("" if count == 1 else "s")


def _machines(plan: TrainingPlan | ServingPlan) -> str:
    """'3× gpu_1x_h100_sxm5 (3 GPUs)'; an instance name that ends in its own parenthesis (an owned machine's
    '4x MI250X (owned)', a committed term's 'g6e.xlarge (1y commitment)') takes the count inside it, '1× 4x MI250X
    (owned, 4 GPUs)', not a second pair (new-user QA)."""
    name, gpus = plan.instance, _gpus(plan.gpu_count)
    if name.endswith(")") and "(" in name:
        return f"{plan.instances}× {name[:-1]}, {gpus})"
    return f"{plan.instances}× {name} ({gpus})"


def _training_lines(plan: TrainingPlan) -> tuple[str, _Line, _Line]:
    """What compute, storage and egress count for a training run at P50."""
    rates, hours = plan.bill_rates, readable.hours(plan.hours_p50)
    compute = f"{_machines(plan)} for {hours} h" + _own_rate(plan)
    storage = egress = _Line(None)
    if plan.storage_usd is not None and rates is not None and rates.storage_usd_per_gb_month is not None:
        kept = f" + {fixed(rates.retention_days)} days kept after" if rates.retention_days else ""
        storage = _Line(f"{_gb(rates.stored_gb)} ({_stored(rates)}) × {_rate(rates.storage_usd_per_gb_month)}"
                        f"/GB-month for the run's {hours} h{kept}")
    if plan.egress_usd is not None and rates is not None and rates.egress_usd_per_gb is not None:
        egress = _Line(f"final weights {_gb(rates.final_weights_gb)} × {_rate(rates.egress_usd_per_gb)}/GB, once")
    return compute, storage, egress


def _serving_lines(plan: ServingPlan) -> tuple[str, _Line, _Line]:
    """What compute, storage and egress count for a month of serving."""
    bill: ServingBill | None = plan.bill
    compute = (f"{_machines(plan)} for "
               f"{fixed(plan.billed_hours_per_month)} h a month")
    storage = egress = _Line(None)
    if bill is not None and bill.storage_usd_per_gb_month is not None:
        storage = _Line(f"served weights {_gb(bill.weights_gb)} × {_rate(bill.storage_usd_per_gb_month)}/GB-month, "
                        f"one copy kept all month")
    if bill is not None and bill.egress_usd_per_gb is not None:
        rate = _rate(bill.egress_usd_per_gb)
        if bill.egress_gb is not None:
            egress = _Line(f"{_gb(bill.egress_gb)} sent out a month × {rate}/GB")
        elif bill.egress_usd_per_gb == 0.0:
            egress = _Line(f"{plan.provider} charges {rate}/GB for egress, whatever the volume")
        else:
            egress = _Line(None, f"no egress volume given (inference.egress_gb_per_month); {plan.provider} charges "
                                 f"{rate}/GB", price_unknown=False)
    return compute, storage, egress


def bill_section(plan: TrainingPlan | ServingPlan, cost: dict[str, Any], number: int | None,
                 recommended: bool, at_confidence: tuple[str, float] | None = None) -> BillSection:
    """The bill of `plan`: rows (line, USD, what it counts) from `cost` (the plan's cost_usd as in the JSON), and
    the notes printed under it. `at_confidence`: (level, compute cost) of a training plan judged at a planning
    confidence other than 0.5, which the plans table prints and this P50 bill then names beside its own."""
    training = isinstance(plan, TrainingPlan)
    compute, storage, egress = _training_lines(plan) if isinstance(plan, TrainingPlan) else _serving_lines(plan)
    rows = [["compute", usd(cost["compute"]), compute]]
    unknown: list[str] = []
    other: list[str] = []
    own = _own_machine(plan.provider)
    for name, line in (("storage", storage), ("egress", egress)):
        if line.counts is None or cost[name] is None:
            (unknown if line.price_unknown else other).append(name)
            rows.append([name, "not counted", line.why_not or (f"on {own}: no {name} price to bill" if own else
                                                               f"no {name} price for {plan.provider} in the catalog")])
        else:
            rows.append([name, usd(cost[name]), line.counts])
    counted = " + ".join(part for part in ("compute", "storage", "egress") if part not in unknown + other)
    why = ([f"{' and '.join(unknown)} " + (f"on {own}" if own else f"unknown for {plan.provider}")] if unknown
           else []) + [f"{name} volume not given" for name in other]
    rows.append(["total", usd(cost["total"]), counted + (f" ({'; '.join(why)})" if why else "")])
    # the unknown lines are said in their rows; without a storage price, what storage would hold is moot
    said = _SAID + ((DATASET_NOT_GIVEN,) if "storage" in unknown else ())
    notes = plan.bill_notes if isinstance(plan, TrainingPlan) else (plan.bill.notes if plan.bill else ())
    return BillSection(bill_title(plan, number, recommended), COLUMNS if training else SERVING_COLUMNS, rows,
                       [*_confidence_note(at_confidence), COMPUTE_ONLY if training else SERVING_COMPUTE_ONLY,
                        *(f"Bill: {n}." for n in notes if n not in said)])


def _confidence_note(at_confidence: tuple[str, float] | None) -> list[str]:
    """Why the bill's compute differs from the plans table's at a confidence other than 0.5 (new-user QA: at 0.9
    lora-7b-a6000's bill read $2.93 beside a plans table's compute P90 of $4.88, unexplained): the bill is the run
    at P50, as the JSON's cost_usd compute/storage/egress/total are by contract (docs/catalog.md)."""
    if at_confidence is None:
        return []
    level, compute = at_confidence
    return [f"This bill is the run at P50, as the JSON's cost_usd; the plans table prices this plan's compute at "
            f"{level}, the planning confidence: {usd(compute)}."]
