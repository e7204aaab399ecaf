"""The `gpuplan` commands, as Typer parses them: arguments in, the core called, output printed. The process starts
in cli/main.py, which runs a plain estimate without Typer (cli/fast.py) and everything else here: the top-level
commands (estimate, profile, calibrate, diff, schema, validate), with the catalog and calibration groups of
cli/catalog_commands.py and cli/calibration_commands.py. Errors and exit codes: one handler, cli/guard.py, through
cli/app.py Guarded.invoke."""
# No `from __future__ import annotations` here: Typer reads every command's parameters from its annotations each
# run, and string annotations made it compile and evaluate ~340 of them (~12 ms of every start); evaluated once at
# import, they are the same objects Typer reads (docs/internals.md, 'Start-up: what every run pays').

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from planner.catalog.load import BUNDLED_CATALOG, load_catalog
from planner.cli.app import (PROCESSES, SEED, TOP, CalibrateEmit, CatalogOption, Command, CrossValidate, ListFormat,
                             ListFormatOption, WideOption)
from planner.cli.app import app as app  # the application cli/main.py runs, these commands registered on it
from planner.cli.estimate import Emit, EstimateArgs, Format, run_estimate
from planner.cli.guard import note, out as _out, wide as _wide
from planner.cli.numbers import number
from planner.errors import InputError, PlannerError

# the groups register on `app` when imported, catalog first (the order `gpuplan --help` lists them)
from planner.cli import catalog_commands, calibration_commands  # noqa: E402,F401


@app.command(cls=Command)
def estimate(
    profile: Annotated[Path, typer.Argument(metavar="PROFILE", help="Project profile (YAML).")],
    format: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
    catalog: CatalogOption = BUNDLED_CATALOG,
    top: Annotated[int, typer.Option("--top", metavar="<n>", help="Plans per section, in the tables and the JSON "
                                                               "alike (0: all).",
                                     parser=TOP, min=TOP.least)] = 10,
    confidence: Annotated[str, typer.Option("--confidence", metavar="<quantile>",
                                            help="Plan on this quantile of training hours (0.9, 90% or P90).")] = "0.5",
    overrides: Annotated[Optional[list[str]], typer.Option(
        "--set", metavar="<key.path=value>",
        help="What-if: KEY.PATH=VALUE applied to the profile, e.g. training.epochs=3 (repeatable).")] = None,
    plot: Annotated[Optional[Path], typer.Option("--plot", metavar="<file>",
                                                 help="Write the Pareto plot (FILE.png or FILE.svg).")] = None,
    html: Annotated[Optional[Path], typer.Option("--html", metavar="<file>",
                                                 help="Write a self-contained HTML report (FILE.html).")] = None,
    emit: Annotated[Optional[Emit], typer.Option(
        "--emit", help="Print a launch spec for the recommended training plan instead of the plans.")] = None,
    measurements: Annotated[Optional[Path], typer.Option(
        "--measurements", metavar="<file>",
        help="A `gpuplan profile` record: adds a 'this machine' row (provider local).")] = None,
    local_usd_per_hour: Annotated[float, typer.Option(
        "--local-usd-per-hour", metavar="<usd>", parser=number,
        help="Hourly cost in US dollars of this machine for its 'this machine' row.")] = 0.0,
    calibrations: Annotated[Optional[Path], typer.Option(
        "--calibrations", metavar="<dir>", help="Calibration records directory.",
        show_default="CATALOG/calibrations")] = None,
    simulate: Annotated[bool, typer.Option(
        "--simulate", help="Also simulate the shown serving plans (seeded discrete-event) and print those percentiles.")
    ] = False,
    seed: Annotated[int, typer.Option(
        "--seed", metavar="<n>", parser=SEED, min=SEED.least,
        help="Random seed of the --simulate simulation (the same seed prints the same percentiles).")] = 0,
    wide: WideOption = False,
) -> None:
    """Plan a profile's training and serving: GPU type, count, hours, cost, latency. Exit 1: nothing fits; 2: bad input."""
    from planner.decide.choices import parse_confidence

    code = run_estimate(EstimateArgs(
        profile=profile, format=format, catalog=catalog, top=top, confidence=parse_confidence(confidence),
        overrides=tuple(overrides or ()),
        plot=plot, html=html, emit=emit, measurements=measurements, local_usd_per_hour=local_usd_per_hour,
        calibrations=calibrations, simulate=simulate, seed=seed, wide=wide))
    if code:
        raise typer.Exit(code)


@app.command("profile", cls=Command)
def profile_command(
    profile: Annotated[Path, typer.Argument(metavar="PROFILE", help="Project profile (YAML) whose model is measured.")],
    quick: Annotated[bool, typer.Option("--quick", help="Fewer sizes, shorter timing (under a minute on a CPU).")]
    = False,
    out: Annotated[Optional[Path], typer.Option("--out", metavar="<file>", help="Record file to write.",
                                                show_default="measurements/PROFILE-NAME.yaml")] = None,
    comm: Annotated[bool, typer.Option("--comm", help="Also measure all-reduce across local processes.")] = False,
    processes: Annotated[Optional[int], typer.Option("--processes", metavar="<n>", parser=PROCESSES,
                                                     min=PROCESSES.least, max=PROCESSES.most,
                                                     help="Ranks for --comm (default 2).")] = None,
    model_code: Annotated[Optional[str], typer.Option(
        "--model-code", metavar="<file.py:class>",
        help="Profile your own nn.Module instead: path/to/file.py:ClassName (imports the file; needs "
             "--trust-model-code).")] = None,
    trust_model_code: Annotated[bool, typer.Option(
        "--trust-model-code", help="Allow --model-code to import and run that Python file.")] = False,
    catalog: CatalogOption = BUNDLED_CATALOG,
    wide: WideOption = False,
) -> None:
    """Measure training steps and inference calls of the profile's model on this device; write the record."""
    _wide(wide)
    from planner.project.load import load_profile

    try:
        cat = load_catalog(catalog)
        loaded = load_profile(profile, cat)
        from planner.io.safepath import inside, safe_name

        # the profile's name is user data: a safe file name, inside measurements/ (`name: ../../x` stays there)
        target = out or inside(Path("measurements"), f"{safe_name(loaded.profile.name, 'profile')}.yaml")
        from planner.cli.measure import check_not_the_profile, run_profile

        check_not_the_profile(target, profile)

        text = run_profile(loaded, cat, target, quick, comm, processes, " ".join(["gpuplan", *sys.argv[1:]]),
                           model_code, trust_model_code, out_given=out is not None)
    except KeyboardInterrupt:
        typer.echo("Interrupted: no record written.", err=True)
        raise typer.Exit(130)
    _out(text)


CALIBRATE_QUICK_HELP = ("Time each point for at most 0.25 s instead of 1.5 s (0.5 s on a GPU), over fewer sizes; the "
                        "run still takes up to --budget.")
"""The figures of planner/profiler/run.py QUICK and FULL (min_run_time) and calibration_record's GPU cap, which
tests/test_profile_cli.py checks against them (new-user QA round 18: `calibrate --quick --help` said no run time)."""


@app.command(cls=Command)
def calibrate(
    out: Annotated[Optional[Path], typer.Option("--out", metavar="<file>", help="Record file to write.",
                                                show_default="calibration-DEVICE-TIME.yaml")] = None,
    budget: Annotated[str, typer.Option("--budget", metavar="<duration>", help="Time budget, e.g. 10m, 2h or 1d; steps past it are skipped.")]
    = "10m",
    print_script: Annotated[bool, typer.Option(
        "--print-script", help="Print a shell script that calibrates a fresh GPU VM (installs nothing now).")]
    = False,
    quick: Annotated[bool, typer.Option("--quick", help=CALIBRATE_QUICK_HELP)] = False,
    emit: Annotated[Optional[CalibrateEmit], typer.Option(
        "--emit", help="Print one SkyPilot task per --gpus type that calibrates it on the cheapest matching offer "
                       "(runs nothing now).")] = None,
    gpus: Annotated[Optional[str], typer.Option(
        "--gpus", metavar="<type[:n],…>", help="With --emit: GPU types to calibrate, TYPE[:N],… e.g. RTX-A5000,L40S:2.")] = None,
    bucket: Annotated[Optional[str], typer.Option(
        "--bucket", metavar="<bucket>", help="With --emit: a storage bucket mounted on the cluster that the record is written to.")]
    = None,
    out_dir: Annotated[Optional[Path], typer.Option(
        "--out-dir", metavar="<dir>", help="With --emit: write each task to <dir>/gpuplan-calibrate-<gpu>.yaml "
                                           "instead of printing them.")] = None,
    catalog: CatalogOption = BUNDLED_CATALOG,
    wide: WideOption = False,
) -> None:
    """Run the full measurement suite on this machine's GPUs (or CPU) and write a calibration record.

    It takes --budget at most (default 10m), plus the step under way: steps that would start later are skipped (the roofline and the smallest decoder run whatever the budget). --quick times each point for at most 0.25 s instead of 1.5 s (0.5 s on a GPU), so more of the suite fits the budget; its whole suite (60 steps) took 49 s on a quiet 2-core CPU and 34 min on a loaded shared one (docs/measure.md)."""
    _wide(wide)
    from planner.cli.measure import check_budget

    try:
        budget_s = check_budget(budget)
        _check_calibrate_options(out, quick, print_script, emit is not None,
                                 [flag for flag, value in (("--gpus", gpus), ("--bucket", bucket), ("--out-dir", out_dir))
                                  if value is not None])
        if print_script:
            from planner.efficiency.records import kept_store_option
            from planner.render.calibrate_script import calibrate_script

            _out(calibrate_script(budget, store_option=kept_store_option()))
            return
        if emit is not None or gpus is not None or bucket is not None or out_dir is not None:
            from planner.cli.measure import calibration_tasks_text

            _out(calibration_tasks_text(load_catalog(catalog), Path(catalog), gpus, budget, bucket,
                                        emit is not None, out_dir))
            return
        from planner.cli.measure import run_calibrate

        text = run_calibrate(load_catalog(catalog), out, budget_s, quick, " ".join(["gpuplan", *sys.argv[1:]]))
    except KeyboardInterrupt:
        typer.echo("Interrupted: no record written.", err=True)
        raise typer.Exit(130)
    _out(text)


def _check_calibrate_options(out: Path | None, quick: bool, print_script: bool, emit: bool,
                             task_flags: list[str]) -> None:
    """--print-script and --emit print text and run nothing here, so --out and --quick (a run on this machine) would
    do nothing (new-user QA: `calibrate --emit skypilot --gpus L40S --out tasks.yaml` printed the tasks, wrote no
    file and exited 0); and the two print different things. `task_flags`: --gpus and --bucket, when given (--emit's)."""
    emitting = emit or bool(task_flags)
    if print_script and task_flags and not emit:
        # new-user QA round 13: `--print-script --gpus H100-SXM` said "--print-script and --emit skypilot print
        # different things", an --emit the user never gave
        flags = " and ".join(task_flags)
        raise InputError(f"{flags} go{'es' if len(task_flags) == 1 else ''} with --emit skypilot; the --print-script "
                         "script calibrates whichever GPUs the VM it runs on has",
                         hint=f"Drop {flags}, or print SkyPilot tasks instead: gpuplan calibrate --emit skypilot "
                              "--gpus TYPE[:N],…")
    if print_script and emitting:
        raise InputError("--print-script and --emit skypilot print different things: give one",
                         hint="--print-script is a shell script for a VM you set up; --emit skypilot --gpus … "
                              "prints SkyPilot tasks.")
    if print_script or emitting:
        unused = [flag for flag, given in (("--out", out is not None), ("--quick", quick)) if given]
        if unused:
            printed = "--print-script" if print_script else "--emit"
            raise InputError(f"{' and '.join(unused)} go{'es' if len(unused) == 1 else ''} with a calibration run on "
                             f"this machine; {printed} runs nothing here and prints to standard output",
                             hint=f"Drop {' and '.join(unused)}" + (
                                 "; --out-dir DIR writes each task to its own file" if out is not None and emitting
                                 else "; to keep the output in a file, redirect it: > calibrate.txt" if out is not None
                                 else "."))


class SchemaName(str, Enum):
    profile = "profile"
    offers = "offers"


class DiffFormat(str, Enum):
    table = "table"
    json = "json"
    markdown = "markdown"


@app.command(cls=Command)
def diff(
    old: Annotated[Path, typer.Argument(metavar="OLD", help="Old plan: `gpuplan estimate --format json` output, or a profile.")],
    new: Annotated[Path, typer.Argument(metavar="NEW", help="New plan: `gpuplan estimate --format json` output, or a profile.")],
    fail_above: Annotated[Optional[str], typer.Option(
        "--fail-above", metavar="<metric=share,…>", help="Exit 1 when a named metric of a recommended plan rises by more than its share: "
                             "cost=15%,gpu_hours=25% (metrics: cost, gpu_hours, hours, gpus, ttft_p50, ttft_p95, "
                             "tpot_p50, tpot_p95, latency_p50, latency_p95, latency_p99; a bare 15% means cost=15%). Metrics not named are never checked.")] = None,
    format: Annotated[DiffFormat, typer.Option("--format", "-f", help="Output format.")] = DiffFormat.table,
    confidence: Annotated[Optional[str], typer.Option(
        "--confidence", metavar="<quantile>",
        help="Plan the profiles given on this quantile of training hours (0.9, 90% or P90). Default: an estimate's "
             "own beside a profile, else 0.5.")] = None,
    overrides: Annotated[Optional[list[str]], typer.Option(
        "--set", metavar="<key.path=value>", help="What-if: KEY.PATH=VALUE applied to NEW's profile only, e.g. `gpuplan diff p.yaml p.yaml "
                      "--set training.epochs=3` (repeatable).")] = None,
    catalog: CatalogOption = BUNDLED_CATALOG,
    wide: WideOption = False,
) -> None:
    """What changed between two plans: GPU-hours, cost and latency of the recommended plans.

    Exit 1 when a metric named by --fail-above rose above its share or either estimate has no recommended plan (nothing met its constraints: no plan to compare); 2 on bad input."""
    from planner.decide.choices import check_confidence, parse_confidence
    from planner.decide.diff import (
        check_overrides,
        check_thresholds_apply,
        confidence_notes,
        failures,
        is_profile,
        parse_thresholds,
        plan_changes,
        planning_confidence,
        unrecommended,
    )
    from planner.render.diff import load_plan_document, render_changes

    _wide(wide)
    thresholds = parse_thresholds(fail_above) if fail_above is not None else None
    given = check_confidence(parse_confidence(confidence)) if confidence is not None else None
    sets = tuple(overrides or ())
    check_overrides(new, sets)
    docs = {side: load_plan_document(side, catalog) for side in (old, new) if not is_profile(side)}
    planned_at, adopted = planning_confidence(old, new, given, docs)
    # beside a saved estimate (numbers rounded as --format json writes them), a profile's numbers are rounded alike:
    # unrounded, the same plan read 'rose 0.01%' ($2.58 saved, $2.5801 computed) and failed --fail-above cost=0
    # (new-user QA round 17)
    exact = not docs
    old_doc = docs[old] if old in docs else load_plan_document(old, catalog, planned_at, exact=exact)
    new_doc = docs[new] if new in docs else load_plan_document(new, catalog, planned_at, sets, exact=exact)
    for line in confidence_notes(old, new, old_doc, new_doc, adopted):
        note(line)
    changes = plan_changes(old_doc, new_doc)
    missing = unrecommended(old_doc, new_doc, old.name, new.name)
    check_thresholds_apply(changes, missing, thresholds)
    _out(render_changes(changes, old.name, new.name, format.value, missing, sets))
    lines = failures(changes, missing, thresholds, old.name, new.name)
    for line in lines:
        if format is DiffFormat.table:
            _out(line + "\n")  # the output's, checked as it is (cli/guard.py write_all)
        else:
            typer.echo(line, err=True)
    if lines:
        raise typer.Exit(1)


@app.command(cls=Command)
def schema(name: Annotated[SchemaName, typer.Argument(metavar="NAME", help="Which file format.")]
           = SchemaName.profile) -> None:
    """Print the JSON Schema of a file format (field descriptions included), for editor completion."""
    from planner.schema.export import json_schema

    _out(json_schema(name.value))


@app.command(cls=Command)
def validate(
    format: ListFormatOption = ListFormat.table,
    only: Annotated[Optional[str], typer.Option("--only", metavar="<group>", help="Only these runs: a group the summary prints (training, moe, single-gpu-throughput, independent-check, …), a source tier (A primary and exact, B derived, C estimate), a phase (train, infer, prefill, decode) or a run's id.")] = None,
    leave_one_out: Annotated[bool, typer.Option("--leave-one-out", help="Refit every fitted figure without the "
                                                "run it predicts.")] = False,
    cross_validate: Annotated[Optional[CrossValidate], typer.Option(
        "--cross-validate", help="Grouped k-fold: predict every run with figures refitted without its whole "
                                 "source, GPU or GPU architecture family.")] = None,
    catalog: CatalogOption = BUNDLED_CATALOG,
    wide: WideOption = False,
) -> None:
    """Predict every published run: predicted vs actual, error, P10–P90 and coverage, overall and by group."""
    _wide(wide)
    from planner.validate.runs import (group_names, render_json, render_table, rule_of_thumb_errors,
                                       validate as run_validation)

    if leave_one_out and cross_validate is not None:
        # new-user QA round 11: both given, the title said "grouped cross-validation by gpu" and --leave-one-out
        # was dropped without a word
        raise InputError("--leave-one-out and --cross-validate are two ways of holding runs out: give one",
                         hint="--leave-one-out holds out each run alone (the same as --cross-validate over single "
                              "runs); --cross-validate source|gpu|family holds out a whole group.")
    folds = cross_validate.value if cross_validate is not None else ("run" if leave_one_out else None)
    rows = run_validation(catalog, leave_one_out, only, folds)
    if not rows:
        raise PlannerError(f"no published run matches --only {only!r}",
                           hint=f"Use a group the summary prints ({', '.join(group_names(catalog))}), "
                                "a tier (A, B, C), a phase or a run id.")
    rule = rule_of_thumb_errors(rows, catalog)
    _out(render_json(rows, folds, rule) if format is ListFormat.json
         else render_table(rows, leave_one_out, folds, rule))
