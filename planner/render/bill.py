"""The whole bill of one training plan, for people: compute, storage, egress and total as rows (issue 15 item 6),
the amounts read from the plan's `cost_usd` as the JSON has it (planner/render/report.py _cost_dict), so the text,
the markdown and the JSON never disagree; a line whose price the catalog does not know says so and stays out of
the total. The rates behind each line come from the plan's BillRates (planner/model/bill.py)."""
from __future__ import annotations

from typing import Any

from planner.model.bill import DATASET_NOT_GIVEN, EGRESS_UNKNOWN, STORAGE_UNKNOWN, BillRates
from planner.plans.training import TrainingPlan
from planner.readable import fixed, usd
from planner.render.console import Column

COLUMNS = [Column("line"), Column("USD, P50", "right"), Column("what it counts")]

COMPUTE_ONLY = ("The compute columns (plans and choices) are the GPU instances only, whole instances billed: what "
                "the ranking, the budget and the choices read; storage and egress are in this bill.")


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


def bill_title(plan: TrainingPlan, number: int | None, recommended: bool) -> str:
    """Heading of the bill: whose plan it is (its row number in the plans table when shown there)."""
    which = "the recommended training plan" if recommended else "the first training plan (none is recommended)"
    row = f"#{number}: " if number is not None else ""
    return (f"Whole bill of {which} ({row}{plan.gpu_count}× {plan.gpu} · {plan.provider}"
            + (" · spot" if plan.spot else "") + ")")


def bill_rows(plan: TrainingPlan, cost: dict[str, Any]) -> tuple[list[list[str]], list[str]]:
    """Rows (line, USD, what it counts) of the bill from `cost` (the plan's cost_usd as in the JSON), and the
    notes printed under it."""
    rates = plan.bill_rates
    hours = fixed(plan.hours_p50)
    rows = [["compute", usd(cost["compute"]),
             f"{plan.instances}× {plan.instance} ({plan.gpu_count} GPUs) for {hours} h"]]
    unknown = []
    if cost["storage"] is None or rates is None or rates.storage_usd_per_gb_month is None:
        unknown.append("storage")
        rows.append(["storage", "not counted", f"no storage price for {plan.provider} in the catalog"])
    else:
        kept = f" + {fixed(rates.retention_days)} days kept after" if rates.retention_days else ""
        rows.append(["storage", usd(cost["storage"]),
                     f"{_gb(rates.stored_gb)} ({_stored(rates)}) × {_rate(rates.storage_usd_per_gb_month)}/GB-month "
                     f"for the run's {hours} h{kept}"])
    if cost["egress"] is None or rates is None or rates.egress_usd_per_gb is None:
        unknown.append("egress")
        rows.append(["egress", "not counted", f"no egress price for {plan.provider} in the catalog"])
    else:
        rows.append(["egress", usd(cost["egress"]),
                     f"final weights {_gb(rates.final_weights_gb)} × {_rate(rates.egress_usd_per_gb)}/GB, once"])
    counted = " + ".join(part for part in ("compute", "storage", "egress") if part not in unknown)
    rows.append(["total", usd(cost["total"]),
                 counted + (f" ({' and '.join(unknown)} unknown for {plan.provider})" if unknown else "")])
    # the unknown prices are said in their rows; without a storage price, what storage would hold is moot
    said = (STORAGE_UNKNOWN, EGRESS_UNKNOWN) + ((DATASET_NOT_GIVEN,) if "storage" in unknown else ())
    notes = [n for n in plan.bill_notes if n not in said]
    return rows, [COMPUTE_ONLY, *(f"Bill: {n}." for n in notes)]
