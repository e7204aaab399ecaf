"""`gpuplan validate`: the planner's predictions against every published run, with signed errors, P10–P90 intervals
and their coverage, overall and by group; `leave_one_out` refits every fitted figure without the run it predicts."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

from planner.catalog.load import Catalog, load_catalog
from planner.efficiency.origin import Z90, prior_efficiency
from planner.efficiency.prior_fit import fit_priors, implied_efficiency
from planner.efficiency.train_curve import pick_curve
from planner.efficiency.train_fit import (
    TRAIN_GROUPS,
    RunCase,
    build_case,
    cached_leave_one_out,
    case_efficiency,
    fit_curves,
    load_published_runs,
    reference_efficiency,
    spread_by_arch,
)
from planner.schema.runs import PublishedRun
from planner.validate.serving import SERVING_GROUPS, predict_serving_run

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class ValidationRow:
    """One published run, predicted."""

    id: str
    group: str
    tier: str
    gpu: str
    gpu_count: int
    layout: str
    metric: str
    actual: float
    predicted: float
    p10: float
    p90: float
    basis: str
    """What the prediction rests on (which curve or prior)."""

    @property
    def error(self) -> float:
        """Signed relative error (predicted − actual) / actual."""
        return (self.predicted - self.actual) / self.actual

    @property
    def covered(self) -> bool:
        """The actual lies within P10–P90."""
        return self.p10 <= self.actual <= self.p90


@dataclass(frozen=True)
class Summary:
    """Accuracy of a set of rows."""

    n: int
    median_abs_error: float
    p90_abs_error: float
    coverage_p10_p90: float


def summarise(rows: list[ValidationRow]) -> Summary:
    """Median and P90 (numpy's linear percentile) of |error|, and the share of actuals inside P10–P90."""
    import numpy as np

    errors = np.abs([r.error for r in rows])
    return Summary(len(rows), float(np.median(errors)), float(np.percentile(errors, 90)),
                   sum(r.covered for r in rows) / len(rows))


def _training_row(case: RunCase, curves, sigma: float, basis: str) -> ValidationRow:
    """The run at the curve's efficiency, and at its P10/P90 efficiencies (the metric moves with efficiency,
    communication aside: throughput up, hours down — both ends are evaluated and sorted)."""
    eta, arch = case_efficiency(case, curves)
    spread = math.exp(Z90 * sigma)
    low, high = sorted((case.predict(eta / spread), case.predict(min(1.0, eta * spread))))
    shape = case.layout
    layout = f"dp{shape.data}" + (f"·tp{shape.tensor}" if shape.tensor > 1 else "") + (
        f"·pp{shape.pipeline}" if shape.pipeline > 1 else "") + f" {shape.sharding}" + (
        " +recompute" if shape.recompute else "") + ("" if case.run.gpu_count else " *")
    run = case.run
    return ValidationRow(run.id, run.group, run.tier, run.gpu, case.count, layout, run.metric, run.value,
                         case.predict(eta), low, high, f"{basis} ({arch} curve)")


def _forward_row(run: PublishedRun, catalog: Catalog, priors_catalog: Catalog, basis: str) -> ValidationRow | None:
    """Serving rows: serving_validation.predict_serving_run (issue 6's roofline for one published row). Other
    forward-pass rows: the metric is proportional to the efficiency (priorfit's formulas), so the prediction is the
    actual scaled by prior / implied efficiency."""
    if run.group in SERVING_GROUPS:
        serving = predict_serving_run(run, priors_catalog)
        prior = serving.bandwidth if run.phase == "decode" else serving.compute
        predicted = serving.tokens_per_s
    else:
        implied = implied_efficiency(run, catalog)
        if implied is None:
            return None
        prior = prior_efficiency(priors_catalog, catalog.gpu(run.gpu), implied.kind, implied.family)
        predicted = run.value * prior.value / implied.efficiency
    spread = math.exp(Z90 * prior.log_sigma)
    count = run.gpu_count or 1
    layout = "1 GPU" if count == 1 else f"layer split over {count} GPUs" if run.group in SERVING_GROUPS else \
        f"{count} GPUs"
    return ValidationRow(run.id, run.group, run.tier, run.gpu, count, layout, run.metric,
                         run.value, predicted, predicted / spread, predicted * spread,
                         f"{basis} ({prior.detail})")


def validate(catalog_dir: Path | str, leave_one_out: bool = False, only: str | None = None) -> list[ValidationRow]:
    """Every published run the planner can express, predicted (in the runs file's order)."""
    catalog = load_catalog(catalog_dir)
    runs = load_published_runs(catalog_dir, catalog)
    curves, loo, cases = cached_leave_one_out(str(Path(catalog_dir).resolve()))
    stored = catalog.train_curves or tuple(curves)
    by_id = {c.run.id: i for i, c in enumerate(cases)}
    reference = reference_efficiency(runs, catalog)
    rows: list[ValidationRow] = []
    for run in runs:
        if only and only not in (run.group, run.tier, run.id, run.phase):
            continue
        if run.phase == "train":
            if run.id in by_id and leave_one_out:
                i = by_id[run.id]
                others = cases[:i] + cases[i + 1:]
                refit = fit_curves(others)
                used = pick_curve(refit, cases[i].arch).arch
                sigma = spread_by_arch(loo, curves, exclude=i)[used]
                rows.append(_training_row(cases[i], refit, sigma, "leave-one-out"))
            else:
                case = cases[by_id[run.id]] if run.id in by_id else build_case(run, catalog, reference)
                if case is None:
                    continue
                sigma = pick_curve(stored, case.arch).log_sigma
                rows.append(_training_row(case, stored, sigma, "catalog" if run.group in TRAIN_GROUPS
                                          else "catalog, not fitted on"))
        else:
            priors_catalog = catalog
            basis = "catalog prior"
            if leave_one_out:
                priors_catalog = dataclasses.replace(
                    catalog, priors=tuple(fit_priors([r for r in runs if r.id != run.id], catalog)))
                basis = "leave-one-out prior"
            row = _forward_row(run, catalog, priors_catalog, basis)
            if row is not None:
                rows.append(row)
    return rows


UNFITTED_GROUP = "other"
"""Rows whose architecture the planner only approximates (Transformer-XL) and non-generative inference: shown as
their own group, kept out of 'overall'."""
THROUGHPUT_METRICS = ("samples_per_s", "tokens_per_s")


def summaries(rows: list[ValidationRow]) -> dict[str, Summary]:
    """overall (every group but 'other'), training (the training groups together), every group present, and
    single-gpu-throughput: the training rows measured as throughput on one GPU (they also count in cnn/encoder)."""
    out: dict[str, Summary] = {}
    fitted = [r for r in rows if r.group != UNFITTED_GROUP]
    if fitted:
        out["overall"] = summarise(fitted)
    training = [r for r in rows if r.group in TRAIN_GROUPS]
    if training:
        out["training"] = summarise(training)
    for group in dict.fromkeys(r.group for r in rows):
        out[group] = summarise([r for r in rows if r.group == group])
    single = [r for r in training if r.gpu_count == 1 and r.metric in THROUGHPUT_METRICS]
    if single and "single-gpu-throughput" not in out:
        out["single-gpu-throughput"] = summarise(single)
    return out


def _r(value: float, digits: int = 4) -> float:
    return float(f"{value:.{digits}g}")


def render_json(rows: list[ValidationRow]) -> str:
    """CONTRACTS §2: schema_version, runs [{id, group, metric, actual, predicted, p10, p90, error}], summary."""
    import json

    doc = {"schema_version": SCHEMA_VERSION,
           "runs": [{"id": r.id, "group": r.group, "tier": r.tier, "gpu": r.gpu, "gpu_count": r.gpu_count,
                     "layout": r.layout, "metric": r.metric, "actual": r.actual, "predicted": _r(r.predicted),
                     "p10": _r(r.p10), "p90": _r(r.p90), "error": _r(r.error), "covered": r.covered,
                     "basis": r.basis} for r in rows],
           "summary": {k: {"n": s.n, "median_abs_error": _r(s.median_abs_error), "p90_abs_error":
                           _r(s.p90_abs_error), "coverage_p10_p90": _r(s.coverage_p10_p90)}
                       for k, s in summaries(rows).items()}}
    return json.dumps(doc, indent=2) + "\n"


def render_table(rows: list[ValidationRow], leave_one_out: bool) -> str:
    """Runs, then the summary rows (rich tables)."""
    import io

    from rich.console import Console
    from rich.table import Table

    buffer = io.StringIO()
    console = Console(file=buffer, width=170, force_terminal=False, color_system=None)
    title = "Published runs: predicted vs actual" + (" (leave-one-out)" if leave_one_out else "")
    table = Table(title=title, caption="layout: data·tensor·pipeline parallel, ZeRO stage; * GPU count not "
                                       "published: the count with the fewest GPU-seconds per sample")
    for head in ("run", "group", "GPUs", "layout", "metric", "actual", "predicted", "error", "P10–P90", "covers"):
        table.add_column(head, justify="right" if head in ("actual", "predicted", "error") else "left")
    for r in rows:
        table.add_row(r.id, r.group, f"{r.gpu_count}× {r.gpu}", r.layout, r.metric, f"{r.actual:,.4g}",
                      f"{r.predicted:,.4g}", f"{r.error:+.0%}", f"{r.p10:,.3g}–{r.p90:,.3g}",
                      "yes" if r.covered else "no")
    console.print(table)
    summary = Table(title="Accuracy" + (" (leave-one-out)" if leave_one_out else ""),
                    caption="overall: every group but 'other' (approximated architectures, never fitted on); "
                            "training: the training groups; single-gpu-throughput: their one-GPU throughput rows")
    for head in ("group", "runs", "median |error|", "P90 |error|", "P10–P90 coverage"):
        summary.add_column(head)
    for name, s in summaries(rows).items():
        summary.add_row(name, str(s.n), f"{s.median_abs_error:.1%}", f"{s.p90_abs_error:.1%}",
                        f"{s.coverage_p10_p90:.0%}")
    console.print(summary)
    return buffer.getvalue()
