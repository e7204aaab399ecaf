#!/usr/bin/env python3
"""Refit catalog/priors.yaml from catalog/published_runs.yaml (reproducible: same inputs, same file).

Usage: .venv/bin/python scripts/fit_priors.py [--catalog DIR]
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from planner.catalog.load import BUNDLED_CATALOG, Catalog, load_catalog  # noqa: E402
from planner.efficiency.engine_fit import fit_engine_steps  # noqa: E402
from planner.efficiency.infer_fit import fit_launch_floor  # noqa: E402
from planner.efficiency.prior_fit import fit_family_transfer, fit_priors  # noqa: E402
from planner.io.atomic import write_text_atomic  # noqa: E402
from planner.io.loading import load_model_file  # noqa: E402
from planner.schema.priors import (  # noqa: E402
    Extrapolation,
    FamilyTransfer,
    PriorsFile,
    RecentredTransfer,
    TrainCurveFit,
)
from planner.schema.runs import (
    PublishedRun,  # noqa: E402
    PublishedRunsFile,  # noqa: E402
)
from planner.validate.train_fit import cached_leave_one_out  # noqa: E402

METHOD = ("Each published run's implied efficiency: model FLOP (workload.py formulas, forward + backward = 3x "
          "forward) / (GPU-seconds x dense peak at the run's precision) for training and forward passes; decode: "
          "(weights + KV bytes per step x steps/s, net of the engine's host time per step) / the GPU's copy bandwidth (catalog/gpus.yaml bandwidth_ceiling: "
          "planner/model/decode_ceiling.py; a plan reads it as prior x its GPU's copy share of the peak bandwidth, "
          "below 1). Median per (kind, GPU architecture, "
          "model family); log_sigma = standard deviation of ln(efficiency) in the group (groups of fewer than 3 "
          "runs borrow the spread of the next broader group). Levels 'any' pool all architectures or families. "
          "Training: train_curves (planner/efficiency/train_curve.py), fitted by planner/validate/train_fit.py with "
          "scipy.optimize.curve_fit on ln(predicted/actual) of the training runs through the planner's own layout and "
          "step-time model (runs timed as a whole run's hours, MoE runs and independent-check runs are validated, "
          "not fitted); one peak efficiency per GPU architecture family with >= 3 runs (GeForce cards, with "
          "half-rate FP32-accumulate tensor math, apart), a shared shape (half_side, memory traffic per workload "
          "kind and, for transformers, per attention kernel (standard / flash, as each run's source states), each "
          "at least 2 passes (stored activations written in forward, read in backward), fp32 factor, extra "
          "activation passes of 16-bit NCHW CNN runs); 'any' refits the peak on all runs; "
          "log_sigma = RMS of the leave-one-out ln(predicted/actual) of the runs a curve covers; stack_factors: an "
          "efficiency multiplier per training stack stated by >= 2 runs from >= 3 publications, fitted with the "
          "curves (others: 1; Megatron-LM before Megatron-Core and Transformer Engine is its own stack, "
          "megatron-legacy). extrapolation: RMS of ln(predicted/actual) of the training runs predicted without "
          "their GPU architecture (architecture), and without their publication for runs whose stack has no factor "
          "(stack) and runs on >= 256 GPUs (scale); plans add it in quadrature to log_sigma when they leave the "
          "data. family_log_sigma (planner/efficiency/prior_fit.py fit_family_transfer): the spread a model-family "
          "change adds where a measurement record's curve is read for a family it did not measure: each run of family B "
          "(independent checks included) on a (kind, GPU architecture) where family A has a prior level of >= 3 "
          "fitted runs, predicted by A's median and by B's own median without the run; per (A, B) pair and pooled, "
          "sqrt(max(0, RMS_AB^2 - RMS_BB^2)) of ln(actual/predicted); pairs without data take the pooled figure. "
          "recentred / family_recentred: the same once the measured family's efficiency is re-centred by B's prior "
          "over A's on the architecture (what a record planning B does where both priors exist): every pair of "
          "published runs of A and B on the same GPU type and kind, ln(actual_B / (actual_A x median_B / median_A)), "
          "each median without the run it is paired with, against ln(actual_B / median_B) without the run. "
          "Serving rows (llama.cpp, planner/validate/serving.py): multi-GPU layer splits decode on one GPU at a "
          "time and pipeline a prefill's 512-token micro-batches; 16-bit prefill is measured against the "
          "FP16-accumulate peak (2x the catalog's fp16 on GeForce cards). "
          "launch_floors (planner/efficiency/infer_fit.py): forward-pass rows (non-generative inference) fitted "
          "jointly by scipy.optimize.least_squares on ln(predicted/actual): time = max(matmul FLOP / (peak x "
          "efficiency per GPU family x the mode's factor, x a shared fp32 factor) + 2 passes over the layer "
          "outputs (and, in eager mode, 8 over the materialised attention scores) at peak bandwidth, eager-graph "
          "operators x host floor of the execution mode); one floor per mode "
          "(eager, runtime, engine, compiled: the engine the row's source states, eager when unstated), each held to "
          "its plausible range; a mode without rows keeps its documented default floor and factor 1. engine_steps "
          "(planner/efficiency/engine_fit.py): an engine's host time per decode step, the intercept of a line through "
          "its decode rows' seconds per step against their bytes over the copy bandwidth, fitted where its rows span "
          ">= 2 GPUs and held to its plausible range; other engines keep their documented prior "
          "(planner/model/engine_step.py); decode efficiencies are net of it.")


def fit_extrapolation(runs: list[PublishedRun], catalog: Catalog, curves: list[TrainCurveFit]) -> Extrapolation:
    """Interval widening from grouped cross-validation of the training runs: RMS of ln(predicted/actual) of the runs
    predicted without their GPU architecture; of those whose stack has no factor, and of those on >= 256 GPUs,
    predicted without their publication."""
    from planner.efficiency.train_curve import BASELINE_STACK
    from planner.validate.crossval import rms, train_predictions
    from planner.validate.folds import fold_key
    from planner.validate.train_fit import TRAIN_GROUPS, training_cases

    cases = training_cases(runs, catalog)
    fitted = [r for r in runs if r.group in TRAIN_GROUPS]
    by_family = train_predictions(fitted, catalog, cases, lambda r: fold_key(r, "family", catalog), "family")
    by_source = train_predictions(fitted, catalog, cases, lambda r: fold_key(r, "source", catalog), "source")
    factors = curves[0].stack_factors if curves else {}
    stack = [p.log_residual for p in by_source
             if p.run.framework not in (None, BASELINE_STACK) and p.run.framework not in factors]
    scale = [p.log_residual for p in by_source if p.count >= 256]
    family = [p.log_residual for p in by_family]
    transfer = fit_family_transfer(runs, catalog)
    def recentred(found: tuple[float, int, int, float, float] | None) -> RecentredTransfer | None:
        if found is None or not found[1]:
            return None
        sigma, pairs, runs, ratio, own = found
        return RecentredTransfer(log_sigma=round(sigma, 4), pairs=pairs, runs=runs, ratio_rms=round(ratio, 4),
                                 own_rms=round(own, 4))

    pairs = [FamilyTransfer(measured=a, planned=b, log_sigma=round(sigma, 4), n=n, transfer_rms=round(ab, 4),
                            own_rms=round(bb, 4), recentred=recentred(transfer.recentred.get((a, b))))
             for (a, b), (sigma, n, ab, bb) in transfer.pairs.items()]
    return Extrapolation(architecture_log_sigma=round(rms(family), 4), stack_log_sigma=round(rms(stack), 4),
                         scale_log_sigma=round(rms(scale), 4), largest_run_gpus=max(c.count for c in cases),
                         family_log_sigma=round(transfer.pooled[0], 4) if transfer.pooled[1] else None,
                         family_pairs=pairs, family_recentred=recentred(transfer.recentred_pooled),
                         n={"architecture": len(family), "stack": len(stack), "scale": len(scale),
                            "family": transfer.pooled[1]})


def priors_text(catalog_dir: Path) -> tuple[str, str]:
    """The content catalog/priors.yaml should have for a catalog directory, and a one-line summary."""
    catalog = load_catalog(catalog_dir)
    runs, _ = load_model_file(catalog_dir / "published_runs.yaml", PublishedRunsFile)
    engine_steps = list(fit_engine_steps(runs.runs, catalog))
    catalog = dataclasses.replace(catalog, engine_steps=tuple(engine_steps))
    priors = fit_priors(runs.runs, catalog)
    # the curves validate uses: fit_with_spread over the catalog's training cases, once per process (a test session
    # that already validated the catalog reuses them; run as a script it fits them here)
    curves = cached_leave_one_out(str(Path(catalog_dir).resolve()))[0]
    latest = max(dt.date(2026, 1, 1), catalog.as_of)
    floors = list(fit_launch_floor(runs.runs, dataclasses.replace(catalog, priors=tuple(priors))))
    extrapolation = fit_extrapolation(runs.runs, catalog, curves)
    doc = PriorsFile(schema_version=1, fitted_at=latest, method=METHOD, priors=priors, train_curves=curves,
                     extrapolation=extrapolation, launch_floors=floors,
                     engine_steps=engine_steps)
    header = ("# Efficiency priors, fitted by scripts/fit_priors.py from catalog/published_runs.yaml.\n"
              "# Do not edit by hand: change the runs or the method and rerun the script.\n")
    body = yaml.safe_dump(doc.model_dump(mode="json"), sort_keys=False, width=120)
    return header + body, f"{len(priors)} priors and {len(curves)} training curves from {len(runs.runs)} runs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--catalog", type=Path, default=BUNDLED_CATALOG)
    args = parser.parse_args()
    text, summary = priors_text(args.catalog)
    write_text_atomic(args.catalog / "priors.yaml", text)
    print(f"wrote {summary} to {args.catalog / 'priors.yaml'}")


if __name__ == "__main__":
    main()
