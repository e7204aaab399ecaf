#!/usr/bin/env python3
"""Refit catalog/priors.yaml from catalog/published_runs.yaml (reproducible: same inputs, same file).

Usage: .venv/bin/python scripts/fit_priors.py [--catalog DIR]
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from planner.atomic import write_text_atomic  # noqa: E402
from planner.catalog import BUNDLED_CATALOG, load_catalog  # noqa: E402
from planner.loading import load_model_file  # noqa: E402
from planner.priorfit import fit_priors  # noqa: E402
from planner.schema.priors import PriorsFile  # noqa: E402
from planner.schema.runs import PublishedRunsFile  # noqa: E402

METHOD = ("Each published run's implied efficiency: model FLOP (workload.py formulas, forward + backward = 3x "
          "forward) / (GPU-seconds x dense peak at the run's precision) for training and forward passes; decode: "
          "(weights + KV bytes per step x steps/s) / peak memory bandwidth. Median per (kind, GPU architecture, "
          "model family); log_sigma = standard deviation of ln(efficiency) in the group (groups of fewer than 3 "
          "runs borrow the spread of the next broader group). Levels 'any' pool all architectures or families.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--catalog", type=Path, default=BUNDLED_CATALOG)
    args = parser.parse_args()
    catalog = load_catalog(args.catalog)
    runs, _ = load_model_file(args.catalog / "published_runs.yaml", PublishedRunsFile)
    priors = fit_priors(runs.runs, catalog)
    latest = max(dt.date(2026, 1, 1), catalog.as_of)
    doc = PriorsFile(schema_version=1, fitted_at=latest, method=METHOD, priors=priors)
    header = ("# Efficiency priors, fitted by scripts/fit_priors.py from catalog/published_runs.yaml.\n"
              "# Do not edit by hand: change the runs or the method and rerun the script.\n")
    body = yaml.safe_dump(doc.model_dump(mode="json"), sort_keys=False, width=120)
    write_text_atomic(args.catalog / "priors.yaml", header + body)
    print(f"wrote {len(priors)} priors from {len(runs.runs)} runs to {args.catalog / 'priors.yaml'}")


if __name__ == "__main__":
    main()
