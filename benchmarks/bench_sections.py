#!/usr/bin/env python3
"""Benchmark (not a test): per example profile, the CPU time of plan()'s training search and serving search apart,
as a second `gpuplan estimate` of the profile pays them: a fresh process per run, every module plan() imports
already imported, the collector set and the imports frozen as the command does (cli/main.py run), and the M/D/c
quantiles and dynamic-batching chains read from the stores a first run wrote (GPUPLAN_CACHE_DIR, a private folder
per profile), which plan() loads as it does for `estimate`.

Run: .venv/bin/python benchmarks/bench_sections.py [REPEATS] [PROFILE...]   (default 5, every example profile)
Sections (CPU ms, median of REPEATS fresh processes): training — from the training section's bounds check
(bounds.check_training) to the serving section's, i.e. the targets and search_training; serving — from
bounds.check_serving to the buy-versus-rent lines, i.e. serving_plans over every offer, the simulated plans, the
bills and the ranking; decide — decide(); offers — searched_offers and each offer's counts. Issue 15: the training
search ≤ 50 ms, the serving search ≤ 100 ms. Figures: docs/internals.md 'Performance' (the twenty-third round).
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _child(name: str, warm: bool) -> None:
    """One run in this process: `warm` plans once and lists the modules it imported; otherwise imports those,
    then times the sections of one plan() and prints them as JSON."""
    import gc
    import importlib

    sys.path.insert(0, str(ROOT))
    listed = Path(os.environ["GPUPLAN_CACHE_DIR"]) / "modules.txt"
    if not warm:
        for module in listed.read_text().split():
            try:
                importlib.import_module(module)
            except Exception:  # a submodule its package imports only under conditions this run lacks: as the run
                pass

    import planner
    import planner.api as api
    from planner.plans import search
    from planner.plans.collector import GC_THRESHOLD

    catalog = planner.load_catalog()
    loaded = planner.load_profile(ROOT / "profiles" / f"{name}.yaml", catalog)
    marks: dict[str, float] = {}
    for module, attr, label in ((search.bounds, "check_training", "train"), (search.bounds, "check_serving", "serve"),
                                (search, "_buy_versus_rent", "rest"), (search, "searched_offers", "offers"),
                                (api, "decide", "decide")):
        def marked(*args: object, _original=getattr(module, attr), _label=label, **kwargs: object) -> object:
            marks.setdefault(_label, time.process_time())
            return _original(*args, **kwargs)
        setattr(module, attr, marked)
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])
    gc.freeze()
    start = time.process_time()
    planner.plan(loaded, catalog)
    end = time.process_time()
    if warm:
        listed.write_text("\n".join(sorted(m for m in sys.modules if m.split(".")[0] in ("planner", "numpy", "scipy"))))
        return
    serve_at = marks.get("serve", marks["rest"])
    print(json.dumps({"training": (serve_at - marks["train"]) * 1e3 if "train" in marks else 0.0,
                      "serving": (marks["rest"] - marks["serve"]) * 1e3 if "serve" in marks else 0.0,
                      "decide": (end - marks["decide"]) * 1e3,
                      "offers": (marks.get("train", serve_at) - marks["offers"]) * 1e3,
                      "plan": (end - start) * 1e3}))


def main() -> None:
    args = sys.argv[1:]
    repeats = int(args.pop(0)) if args and args[0].isdigit() else 5
    names = args or [p.stem for p in sorted((ROOT / "profiles").glob("*.yaml"))]
    print(f"{'CPU ms, median of ' + str(repeats):32s} {'training':>9s} {'serving':>9s} {'decide':>8s} {'offers':>8s} "
          f"{'plan()':>8s}")
    with tempfile.TemporaryDirectory() as folder:
        for name in names:
            env = dict(os.environ, GPUPLAN_CACHE_DIR=str(Path(folder) / name), PYTHONHASHSEED="0",
                       OPENBLAS_NUM_THREADS="1")
            env.pop("PYTHONDONTWRITEBYTECODE", None)  # as an installed package runs
            Path(env["GPUPLAN_CACHE_DIR"]).mkdir()
            command = [sys.executable, __file__, "--child", name]
            subprocess.run([*command, "--warm"], env=env, check=True, cwd=ROOT)
            time.sleep(2.5)  # the files' digests settle (planner/io/statcache.py)
            runs = [json.loads(subprocess.run(command, env=env, check=True, cwd=ROOT, capture_output=True,
                                              text=True).stdout) for _ in range(repeats)]
            m = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            print(f"{name:32s} {m['training']:9.1f} {m['serving']:9.1f} {m['decide']:8.1f} {m['offers']:8.1f} "
                  f"{m['plan']:8.1f}")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        _child(sys.argv[2], "--warm" in sys.argv)
    else:
        main()
