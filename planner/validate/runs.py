"""`gpuplan validate`: the planner's predictions against every published run, with signed errors, P10–P90 intervals
and their coverage, overall and by group; `leave_one_out` refits every fitted figure without the run it predicts."""
from __future__ import annotations

import dataclasses
import math
from collections import Counter
from planner.dataclass import dataclass
from pathlib import Path

from planner.catalog.load import Catalog, load_catalog
from planner.efficiency.infer_fit import floor_for
from planner.efficiency.origin import Z90, prior_efficiency
from planner.efficiency.prior_fit import RECOMPUTE_MODEL_SHARE, implied_efficiency
from planner.efficiency.train_curve import pick_curve
from planner.model.forward_time import execution_mode
from planner.model.workload import workload_for
from planner.project.load import resolve_architecture
from planner.readable import UNITS, compact
from planner.schema.priors import TrainCurveFit
from planner.schema.runs import PublishedRun
from planner.validate.crossval import bounds, cross_validated, layout_text
from planner.validate.forward import forward_prediction
from planner.validate.train_fit import (
    TRAIN_GROUPS,
    RunCase,
    build_case,
    cached_cases,
    cached_leave_one_out,
    case_efficiency,
    load_published_runs,
    reference_efficiency,
    run_method,
)

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
    fold: str = ""
    """The fold left out to predict it (cross-validation), else empty."""
    extrapolations: tuple[str, ...] = ()
    """Why the prediction rests on figures from elsewhere (its interval is then at least as wide as other
    extrapolations' errors)."""
    moe: bool = False
    """The run trains or serves a mixture of experts (summarised again as the `moe` group)."""
    check_family: str | None = None
    """The independent-check family of the run's source: never fitted on (summarised as `independent-check`)."""
    method: str | None = None
    """Training rows: how the run trains its weights as the validation costs it (train_fit.run_method); else None."""

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
    mean_interval_ratio: float
    """Mean P90/P10: an interval cannot buy its coverage by being wide without this showing it."""
    methods: tuple[tuple[str, int], ...] = ()
    """Training methods of the rows (full, lora, qlora) → rows, sorted; empty when no row trains."""


def summarise(rows: list[ValidationRow]) -> Summary:
    """Median and P90 (numpy's linear percentile) of |error|, the share of actuals inside P10–P90 and the mean
    P90/P10 ratio."""
    import numpy as np

    median, p90 = error_quantiles([r.error for r in rows])
    methods = Counter(r.method for r in rows if r.method is not None)
    return Summary(len(rows), median, p90, sum(r.covered for r in rows) / len(rows),
                   float(np.mean([r.p90 / r.p10 for r in rows])), tuple(sorted(methods.items())))


def error_quantiles(errors: list[float]) -> tuple[float, float]:
    """Median and P90 (numpy's linear percentile) of |error|: the one summary of residuals every table prints."""
    import numpy as np

    magnitudes = np.abs(errors)
    return float(np.median(magnitudes)), float(np.percentile(magnitudes, 90))


def _training_row(case: RunCase, curves: list[TrainCurveFit] | tuple[TrainCurveFit, ...], sigma: float,
                  basis: str) -> ValidationRow:
    """The run at the curve's efficiency, and at its P10/P90 efficiencies (the metric moves with efficiency,
    communication aside: throughput up, hours down — both ends are evaluated and sorted)."""
    eta, arch = case_efficiency(case, curves)
    spread = math.exp(Z90 * sigma)
    low, high = sorted((case.predict(eta / spread), case.predict(min(1.0, eta * spread))))
    layout = layout_text(case)
    run = case.run
    return ValidationRow(run.id, run.group, run.tier, run.gpu, case.count, layout, run.metric, run.value,
                         case.predict(eta), low, high, f"{basis} ({arch} curve)", method=case.job.method)


def _forward_row(run: PublishedRun, catalog: Catalog, priors_catalog: Catalog, basis: str) -> ValidationRow | None:
    """A forward-pass row at the catalog's priors, its interval from the prior's spread."""
    found = forward_prediction(run, catalog, priors_catalog)
    if found is None:
        return None
    predicted, layout, detail, _ = found
    floor = floor_for(catalog.launch_floors, execution_mode(run.engine, False))
    if run.phase == "infer" and floor is not None:
        spread = math.exp(Z90 * floor.log_sigma)
        return ValidationRow(run.id, run.group, run.tier, run.gpu, run.gpu_count or 1, layout, run.metric,
                             run.value, predicted, predicted / spread, predicted * spread, f"{basis} ({detail})")
    implied = implied_efficiency(run, catalog)
    kind = implied.kind if implied is not None else run.phase
    family = implied.family if implied is not None else "any"
    sigma = prior_efficiency(priors_catalog, catalog.gpu(run.gpu), kind, family).log_sigma
    spread = math.exp(Z90 * sigma)
    return ValidationRow(run.id, run.group, run.tier, run.gpu, run.gpu_count or 1, layout, run.metric,
                         run.value, predicted, predicted / spread, predicted * spread, f"{basis} ({detail})")


def validate(catalog_dir: Path | str, leave_one_out: bool = False, only: str | None = None,
             cross_validate: str | None = None) -> list[ValidationRow]:
    """Every published run the planner can express, predicted (in the runs file's order).

    cross_validate: run (= leave_one_out), source, gpu or family — each run predicted by figures refitted without
    its whole fold, its P10–P90 from the other folds' residuals (planner/validate/crossval.py). None: the catalog's
    own fitted figures (in-sample)."""
    catalog = load_catalog(catalog_dir)
    runs = load_published_runs(catalog_dir, catalog)
    moe = moe_run_ids(runs, catalog)
    family = {r.id: r.check_family for r in runs}
    # the summary's groups made of rows (training, single-gpu-throughput): select on the rows, as the summary does
    derived = only if only in SUMMARY_ROW_GROUPS else None
    rows = [dataclasses.replace(r, moe=r.id in moe, check_family=family[r.id])
            for r in _validate(catalog, runs, catalog_dir, leave_one_out, None if derived else only, cross_validate,
                               moe)]
    return [r for r in rows if in_row_group(derived, r)] if derived else rows


def group_names(catalog_dir: Path | str) -> list[str]:
    """Every group name the summary can print for the published runs (what `--only` accepts besides tiers, phases
    and run ids): overall, training, the runs' groups, moe, single-gpu-throughput, fitted-sources, independent-check."""
    catalog = load_catalog(catalog_dir)
    runs = load_published_runs(catalog_dir, catalog)
    return ["overall", "training", *dict.fromkeys(r.group for r in runs), "moe", "single-gpu-throughput",
            "fitted-sources", "independent-check"]


def moe_run_ids(runs: list[PublishedRun], catalog: Catalog) -> frozenset[str]:
    """Runs whose model is a mixture of experts: the `moe` validation group (issue 14)."""
    return frozenset(run.id for run in runs
                     if resolve_architecture(run.model, catalog, run.id, seq_len=run.seq_len).is_moe)


def _selected(only: str | None, moe: frozenset[str], run: PublishedRun) -> bool:
    """`--only`: a group, tier, phase or run id, `moe`, or which side of the independent check the run is on."""
    side = "fitted-sources" if run.check_family is None else "independent-check"
    return (not only or only == "overall" or only in (run.group, run.tier, run.id, run.phase, side)
            or (only == "moe" and run.id in moe))


def _validate(catalog: Catalog, runs: list[PublishedRun], catalog_dir: Path | str, leave_one_out: bool,
              only: str | None, cross_validate: str | None, moe: frozenset[str]) -> list[ValidationRow]:
    cases = cached_cases(str(Path(catalog_dir).resolve()))
    if leave_one_out and cross_validate is None:
        cross_validate = "run"
    if cross_validate is not None:
        rows = []
        for point, sigma in cross_validated(runs, catalog, cases, cross_validate):
            run = point.run
            low, high = bounds(point.predicted, sigma)
            rows.append(ValidationRow(run.id, run.group, run.tier, run.gpu, point.count, point.layout, run.metric,
                                      run.value, point.predicted, low, high, point.basis, point.fold,
                                      point.extrapolations,
                                      method=run_method(run) if run.phase == "train" else None))
        by_run = {run.id: run for run in runs}
        return [r for r in rows if _selected(only, moe, by_run[r.id])]
    # the catalog's own curves; a catalog without them (no priors.yaml) gets them fitted here, with their spread
    stored = catalog.train_curves or tuple(cached_leave_one_out(str(Path(catalog_dir).resolve()))[0])
    by_id = {c.run.id: i for i, c in enumerate(cases)}
    reference = reference_efficiency(runs, catalog)
    out: list[ValidationRow] = []
    for run in runs:
        if not _selected(only, moe, run):
            continue
        if run.phase == "train":
            case = cases[by_id[run.id]] if run.id in by_id else build_case(run, catalog, reference)
            if case is None:
                continue
            curve = pick_curve(stored, case.arch)
            assert curve is not None  # the priors file always holds the pooled "any" curve
            sigma = curve.log_sigma
            out.append(_training_row(case, stored, sigma, "catalog" if run.group in TRAIN_GROUPS
                                     else "catalog, not fitted on"))
        else:
            row = _forward_row(run, catalog, catalog, "catalog prior")
            if row is not None:
                out.append(row)
    return out


THROUGHPUT_METRICS = ("samples_per_s", "tokens_per_s")
RULE_OF_THUMB_MFU = 0.40
"""The back-of-envelope the planner must beat: 6·N·D training FLOP at 40 % of the dense peak (issue 13)."""
RULE_OF_THUMB_GROUPS = ("llm-pretraining",)


SUMMARY_ROW_GROUPS = ("training", "single-gpu-throughput")
"""Summary groups defined on predicted rows rather than on a run's own tags."""


def in_row_group(name: str, row: ValidationRow) -> bool:
    """Whether a row counts in the summary group `name` (one of SUMMARY_ROW_GROUPS): training is the groups the
    curves are fitted on; single-gpu-throughput their rows measured as throughput on one GPU."""
    training = row.group in TRAIN_GROUPS
    if name == "training":
        return training
    return training and row.gpu_count == 1 and row.metric in THROUGHPUT_METRICS


def summaries(rows: list[ValidationRow]) -> dict[str, Summary]:
    """overall (every run), training (the training groups the curves are fitted on), every group present, and
    single-gpu-throughput: the training rows measured as throughput on one GPU (they also count in cnn/encoder)."""
    out: dict[str, Summary] = {}
    if rows:
        out["overall"] = summarise(rows)
    training = [r for r in rows if in_row_group("training", r)]
    if training:
        out["training"] = summarise(training)
    for group in dict.fromkeys(r.group for r in rows):
        out[group] = summarise([r for r in rows if r.group == group])
    moe = [r for r in rows if r.moe]
    if moe:  # mixtures of experts across the groups they belong to (issue 14: target median ≤ 20 %)
        out["moe"] = summarise(moe)
    single = [r for r in rows if in_row_group("single-gpu-throughput", r)]
    if single and "single-gpu-throughput" not in out:
        out["single-gpu-throughput"] = summarise(single)
    fitted = [r for r in rows if r.check_family is None]
    check = [r for r in rows if r.check_family is not None]
    if fitted and check:  # issue 13 item 4: the sources fits may use, and the families kept out of every fit
        out["fitted-sources"] = summarise(fitted)
        out["independent-check"] = summarise(check)
    return out


def rule_of_thumb(run: PublishedRun, catalog: Catalog) -> float | None:
    """The run's metric by the rule of thumb: 6·N·D FLOP (N parameters, D tokens) at RULE_OF_THUMB_MFU of the
    dense peak; Megatron's TFLOP/s count recomputation (4/3 of the model FLOP). None: not expressible."""
    if run.phase != "train":
        return None
    gpu = catalog.gpu(run.gpu)
    peak_t = gpu.peak_tflops.get(run.precision)
    if peak_t is None:
        return None
    rate = RULE_OF_THUMB_MFU * peak_t * 1e12  # FLOP/s per GPU
    work = workload_for(resolve_architecture(run.model, catalog, run.id, seq_len=run.seq_len))
    per_token = 6.0 * work.active_params  # a mixture of experts: the parameters a token passes through
    if run.metric == "tflops_per_gpu":
        return RULE_OF_THUMB_MFU * peak_t / RECOMPUTE_MODEL_SHARE
    if run.metric == "tokens_per_s":
        return rate * (run.gpu_count or 1) / per_token
    if run.metric == "samples_per_s":
        return rate * (run.gpu_count or 1) / (per_token * work.tokens_per_sample)
    tokens = run.tokens if run.tokens is not None else (
        (run.samples or 0.0) * (run.epochs or 1.0) * work.tokens_per_sample)
    if not tokens:
        return None
    gpu_hours = per_token * tokens / rate / 3600.0
    if run.metric == "gpu_hours":
        return gpu_hours
    return gpu_hours / run.gpu_count if run.gpu_count else None


def rule_of_thumb_errors(rows: list[ValidationRow], catalog_dir: Path | str) -> dict[str, tuple[float, float, int]]:
    """Per RULE_OF_THUMB_GROUPS group present: (median |error|, P90 |error|, n) of the rule of thumb on its rows."""
    catalog = load_catalog(catalog_dir)
    runs = {r.id: r for r in load_published_runs(catalog_dir, catalog)}
    out = {}
    for group in RULE_OF_THUMB_GROUPS:
        errors = [p / r.actual - 1.0 for r in rows if r.group == group
                  if (p := rule_of_thumb(runs[r.id], catalog)) is not None]
        if errors:
            out[group] = (*error_quantiles(errors), len(errors))
    return out


def _r(value: float, digits: int = 4) -> float:
    return float(f"{value:.{digits}g}")


def render_json(rows: list[ValidationRow], cross_validate: str | None = None,
                rule: dict[str, tuple[float, float, int]] | None = None) -> str:
    """The stable JSON form (docs/accuracy.md): schema_version, cross_validate (the fold kind, null in-sample),
    runs [{id, group, metric, actual, predicted, p10, p90, error, …}], summary per group {n, median_abs_error,
    p90_abs_error, coverage_p10_p90, mean_interval_ratio} (+ rule_of_thumb for the LLM group)."""
    import json

    summary: dict[str, dict[str, object]] = {
        k: {"n": s.n, "median_abs_error": _r(s.median_abs_error), "p90_abs_error": _r(s.p90_abs_error),
            "coverage_p10_p90": _r(s.coverage_p10_p90), "mean_interval_ratio": _r(s.mean_interval_ratio)}
        for k, s in summaries(rows).items()}
    for group, (median, p90, n) in (rule or {}).items():
        if group in summary:
            summary[group]["rule_of_thumb"] = {"method": "6·N·D FLOP at 40% of the dense peak", "n": n,
                                               "median_abs_error": _r(median), "p90_abs_error": _r(p90)}
    doc = {"schema_version": SCHEMA_VERSION, "cross_validate": cross_validate,
           "runs": [{"id": r.id, "group": r.group, "tier": r.tier, "gpu": r.gpu, "gpu_count": r.gpu_count,
                     "layout": r.layout, "metric": r.metric, "actual": r.actual, "predicted": _r(r.predicted),
                     "p10": _r(r.p10), "p90": _r(r.p90), "error": _r(r.error), "covered": r.covered,
                     "basis": r.basis, "fold": r.fold or None, "extrapolations": list(r.extrapolations)}
                    for r in rows],
           "summary": summary}
    return json.dumps(doc, indent=2) + "\n"


GROUP_NOTES = {
    "inference-batch-1": "one-sample eager forward passes: the host launching kernels sets the pace",
    "transformer-xl-training": "memory and relative attention counted, adaptive softmax approximated",
    "transformer-xl-inference": "memory and relative attention counted, adaptive softmax approximated; never fitted",
    "moe": "mixtures of experts, also counted in their own groups (target median |error| <= 20%)",
}
"""What a reader needs to know to read a group's figure (docs/accuracy.md)."""


def render_table(rows: list[ValidationRow], leave_one_out: bool, cross_validate: str | None = None,
                 rule: dict[str, tuple[float, float, int]] | None = None) -> str:
    """Runs, then the summary rows: tables fitted to the terminal (planner/render/console.py)."""
    import io

    from planner.render.console import Column, fit_table, make_console

    buffer = io.StringIO()
    console = make_console(buffer)
    mode = f" (grouped cross-validation by {cross_validate})" if cross_validate and cross_validate != "run" else (
        " (leave-one-out)" if leave_one_out or cross_validate == "run" else " (in-sample: the catalog's fits)")
    title = "Published runs: predicted vs actual" + mode
    body = [[r.id, r.group, f"{r.gpu_count}× {r.gpu}", r.layout, UNITS.get(r.metric, r.metric), compact(r.actual),
             compact(r.predicted), f"{r.error:+.0%}", f"{compact(r.p10)}–{compact(r.p90)}",
             "yes" if r.covered else "no"] for r in rows]
    columns = [Column("run"), Column("group", drop=4), Column("GPUs"),
               Column("layout", drop=5, legend="layout: data·tensor·pipeline parallel, ZeRO stage; * GPU count not "
                                               "published: the count with the fewest GPU-seconds per sample"),
               Column("metric"), Column("actual", "right"), Column("predicted", "right"),
               Column("error", "right"), Column("P10–P90", drop=3), Column("covers", drop=2)]
    console.print(fit_table(console, columns, body, title=title))
    summary = []
    groups = summaries(rows)
    for name, s in groups.items():
        summary.append([name, str(s.n), f"{s.median_abs_error:.1%}", f"{s.p90_abs_error:.1%}",
                        f"{s.coverage_p10_p90:.0%}", f"{s.mean_interval_ratio:.2f}"])
        if rule and name in rule:
            median, p90, n = rule[name]
            summary.append(["  rule of thumb: 6·N·D at 40%", str(n), f"{median:.1%}", f"{p90:.1%}", "", ""])
    console.print(fit_table(console, [Column("group"), Column("runs", "right"), Column("median |error|", "right"),
                                      Column("P90 |error|", "right"), Column("P10–P90 coverage", "right"),
                                      Column("P90/P10", "right", drop=1, legend="P90/P10: mean interval width")],
                            summary, title="Accuracy" + mode,
                            caption="; ".join(f"{k}: {v}" for k, v in {**SUMMARY_NOTES, **GROUP_NOTES}.items()
                                              if k in groups)))
    return buffer.getvalue()


SUMMARY_NOTES = {
    "overall": "every run",
    "training": "the groups the curves are fitted on",
    "single-gpu-throughput": "their one-GPU throughput rows",
    "fitted-sources": "the rows fits may use",
    "independent-check": "the source families kept out of every fit (catalog/published_runs.yaml independent_check), "
                         "predicted from the others",
}
"""The summary's groups made across the runs' own groups (summaries), in words: printed for the groups shown."""
