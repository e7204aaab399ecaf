"""Grouped cross-validation: every published run predicted by figures refitted without its whole fold (its run,
publication, GPU or GPU architecture family: planner/validate/folds.py), through the same layout and step-time code
`estimate` uses. P10/P90 come from the cross-validated residuals of the *other* folds, so an interval is as wide as
the model's error on data it never saw, and wider where the prediction extrapolates."""
from __future__ import annotations

import dataclasses
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from planner.dataclass import dataclass

from planner.catalog.load import Catalog
from planner.efficiency.engine_fit import fit_engine_steps
from planner.efficiency.infer_fit import fit_launch_floor
from planner.efficiency.origin import Z90
from planner.efficiency.prior_fit import fit_priors
from planner.schema.priors import TrainCurveFit
from planner.schema.runs import PublishedRun
from planner.validate.folds import fold_key
from planner.validate.forward import forward_prediction
from planner.validate.train_fit import (
    TRAIN_GROUPS,
    Refits,
    RunCase,
    build_case,
    case_efficiency,
    fit_curves,
    reference_efficiency,
    rms,
)

MIN_POOL = 5
"""Fewest residuals an interval is sized from; a smaller pool (a group, a flag) falls back to the broader one."""


@dataclass(frozen=True)
class PointPrediction:
    """One run predicted without its fold."""

    run: PublishedRun
    kind: str
    """train | infer | decode | prefill: which residuals size its interval."""
    predicted: float
    count: int
    layout: str
    basis: str
    fold: str
    extrapolations: tuple[str, ...] = ()
    """Why the prediction rests on figures from elsewhere (an architecture with no fitted runs, a larger scale)."""

    @property
    def log_residual(self) -> float:
        """ln(predicted / actual)."""
        return math.log(self.predicted / self.run.value)


def layout_text(case: RunCase) -> str:
    """dp·tp·pp·ep, sharding, recomputation; '*' when the run does not publish its GPU count."""
    shape = case.layout
    return f"dp{shape.data}" + (f"·tp{shape.tensor}" if shape.tensor > 1 else "") + (
        f"·pp{shape.pipeline}" if shape.pipeline > 1 else "") + (
        f"·ep{shape.expert}" if shape.expert > 1 else "") + f" {shape.sharding}" + (
        " +recompute" if shape.recompute != "none" else "") + ("" if case.run.gpu_count else " *")


def _training_extrapolations(case: RunCase, curve_arch: str, fitted: Sequence[RunCase]) -> tuple[str, ...]:
    flags = []
    if curve_arch != case.arch:
        flags.append(f"architecture: no {case.arch} runs in the fit ({curve_arch} curve)")
    largest = max((c.count for c in fitted), default=0)
    if case.count > largest:
        flags.append(f"scale: {case.count} GPUs, beyond the largest fitted run ({largest})")
    return tuple(flags)


def train_predictions(runs: Sequence[PublishedRun], catalog: Catalog, cases: Sequence[RunCase],
                      key: Callable[[PublishedRun], str], basis: str) -> list[PointPrediction]:
    """Training rows: curves refitted without the fold of each run (runs outside the fitted groups, e.g.
    approximated architectures, are predicted by the curves of their fold too)."""
    by_id = {c.run.id: c for c in cases}
    reference = reference_efficiency(list(runs), catalog)
    folds: dict[str, list[PublishedRun]] = defaultdict(list)
    for run in runs:
        if run.phase == "train":
            folds[key(run)].append(run)
    out: list[PointPrediction] = []
    refits = Refits(fit_curves(list(cases)))
    for fold, members in folds.items():
        fitted = [c for c in cases if key(c.run) != fold]
        curves: list[TrainCurveFit] = refits.fit(fitted)
        for run in members:
            case = by_id.get(run.id) or build_case(run, catalog, reference)
            if case is None:
                continue
            eta, arch = case_efficiency(case, curves)
            predicted = float(case.predict(eta))
            out.append(PointPrediction(run, "train", predicted, case.count, layout_text(case),
                                       f"{basis} ({arch} curve)", fold,
                                       _training_extrapolations(case, arch, fitted)))
    return out


def forward_predictions(runs: Sequence[PublishedRun], catalog: Catalog, key: Callable[[PublishedRun], str],
                        basis: str) -> list[PointPrediction]:
    """Inference, prefill and decode rows: priors refitted without the fold of each run."""
    folds: dict[str, list[PublishedRun]] = defaultdict(list)
    for run in runs:
        if run.phase != "train":
            folds[key(run)].append(run)
    out: list[PointPrediction] = []
    for fold, members in folds.items():
        others = [r for r in runs if key(r) != fold]
        # an engine whose rows are all in the fold falls back to its documented per-step host time
        stepped = dataclasses.replace(catalog, engine_steps=fit_engine_steps(others, catalog))
        priors = tuple(fit_priors(others, stepped))
        priors_catalog = dataclasses.replace(stepped, priors=priors, launch_floors=fit_launch_floor(
            others, dataclasses.replace(stepped, priors=priors)))
        for run in members:
            found = forward_prediction(run, catalog, priors_catalog)
            if found is None:
                continue
            predicted, layout, detail, flags = found
            out.append(PointPrediction(run, run.phase, predicted, run.gpu_count or 1, layout,
                                       f"{basis} ({detail})", fold, flags))
    return out


def interval_sigma(point: PointPrediction, points: Sequence[PointPrediction]) -> float:
    """σ of ln(predicted/actual) for a run's interval, from the cross-validated residuals of runs in *other* folds:
    the same validation group when it has MIN_POOL of them, else the same kind of work, else all. A prediction that
    extrapolates takes the larger of that and the spread of other extrapolated predictions of its kind (when
    MIN_POOL exist)."""
    others = [p for p in points if p.fold != point.fold]
    base: list[PointPrediction] = []
    for pool in ([p for p in others if p.run.group == point.run.group],
                 [p for p in others if p.kind == point.kind], others):
        if len(pool) >= MIN_POOL:
            base = pool
            break
    sigma = spread(base)
    if point.extrapolations:
        flagged = [p for p in others if p.extrapolations and p.kind == point.kind]
        if len(flagged) >= MIN_POOL:
            sigma = max(sigma, spread(flagged))
    return min(3.0, sigma)


def spread(pool: Sequence[PointPrediction]) -> float:
    """σ whose normal P10–P90 interval, ±Z90·σ, holds a new fold's log residual with probability ~80 %: the 80th
    percentile of |residual| under the pooled CDF of the folds in `pool` (publications, GPUs or families), each
    weighing alike whatever its number of rows — CDF pooling (Dunn, Wasserman & Ramdas 2023, "Distribution-free
    prediction sets for two-layer hierarchical models", JASA 118:2491), which that paper recommends where asymptotic
    coverage will do. A publication's rows share a harness, a cluster and a software version, so they are not
    exchangeable with another publication's; counted row by row, Lambda's 62 BERT rows or llm-foundry's 34 would set
    most of a pool's quantile. Leave-one-out folds hold one row each: the plain 80th percentile."""
    if not pool:
        return 0.0
    rows = Counter(p.fold for p in pool)
    level = 0.8 * len(rows)  # the pooled CDF times the number of publications
    total = 0.0
    for residual, weight in sorted((abs(p.log_residual), 1.0 / rows[p.fold]) for p in pool):
        total += weight
        if total >= level * (1.0 - 1e-12):
            return residual / Z90
    return max(abs(p.log_residual) for p in pool) / Z90


def cross_validated(runs: Sequence[PublishedRun], catalog: Catalog, cases: Sequence[RunCase], by: str
                    ) -> list[tuple[PointPrediction, float]]:
    """Every run predicted without its fold, with the σ of its interval, in the runs file's order."""
    def key(run: PublishedRun) -> str:
        return fold_key(run, by, catalog)

    basis = "leave-one-out" if by == "run" else f"without its {by}"
    points = train_predictions(runs, catalog, [c for c in cases if c.run.group in TRAIN_GROUPS], key, basis) \
        + forward_predictions(runs, catalog, key, basis)
    order = {r.id: i for i, r in enumerate(runs)}
    points.sort(key=lambda p: order[p.run.id])
    return [(p, interval_sigma(p, points)) for p in points]


def bounds(predicted: float, sigma: float) -> tuple[float, float]:
    """P10 and P90 of a log-normal prediction."""
    spread = math.exp(Z90 * sigma)
    return predicted / spread, predicted * spread
