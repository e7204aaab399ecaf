"""`gpuplan estimate`: what it was asked (EstimateArgs) and what it does with it (run_estimate), with no Typer, so
that a plain estimate can be run without importing it (cli/fast.py parses its arguments; cli/commands.py is the
Typer command, for --help, errors and every other form)."""
from __future__ import annotations

import gc
import os
from enum import Enum
from pathlib import Path
from typing import Any

from planner.catalog.load import BUNDLED_CATALOG
from planner.cli.guard import echo_err, note, out, state, wide
from planner.dataclass import dataclass
from planner.errors import InputError
from planner.io.atomic import check_output_path
from planner.io.yamlfile import STDIN, STDIN_NAME, read_stdin

BLAS_THREADS_ENV = "OPENBLAS_NUM_THREADS"
"""The thread count numpy's bundled OpenBLAS reads when it loads (an estimate sets it to 1 unless set)."""


class Format(str, Enum):
    table = "table"
    json = "json"
    markdown = "markdown"
    csv = "csv"


class Emit(str, Enum):
    torchrun = "torchrun"
    skypilot = "skypilot"


@dataclass(frozen=True)
class EstimateArgs:
    """The options of `gpuplan estimate` as the command's function receives them (defaults as in
    cli/commands.py `estimate`; tests/test_fast_cli.py checks both parsers give the same)."""

    profile: Path
    format: Format = Format.table
    catalog: Path = BUNDLED_CATALOG
    top: int = 10
    confidence: float = 0.5
    overrides: tuple[str, ...] = ()
    plot: Path | None = None
    html: Path | None = None
    emit: Emit | None = None
    measurements: Path | None = None
    local_usd_per_hour: float = 0.0
    calibrations: Path | None = None
    simulate: bool = False
    seed: int = 0
    wide: bool = False


HTML_SUFFIXES = (".html", ".htm")


def _has_local_row(result: Any) -> bool:
    """Whether the estimate plans on this machine (a 'local' row in either section)."""
    from planner.efficiency.local_device import LOCAL_PROVIDER

    sections = [s for s in (result.training, result.inference) if s is not None]
    return any(p.provider == LOCAL_PROVIDER for section in sections for p in section.plans)


def _check_options(local_usd_per_hour: float, plot: Path | None, html: Path | None) -> None:
    """Options checked before any work: a finite hourly cost, output paths that can be written."""
    from planner.api import check_local_usd_per_hour

    check_local_usd_per_hour(local_usd_per_hour)
    for name, path in (("--plot", plot), ("--html", html)):
        if path is not None:
            check_output_path(path, name)  # "--html .: is a directory; …", as the suffix checks name it
    if html is not None and html.suffix.lower() not in HTML_SUFFIXES:
        # `--html report.txt` wrote an HTML page under a name that no browser opens as one, and `--html report.png`
        # (meant for --plot) the same silently (new-user QA): refused like --plot's other names, before any work
        raise InputError("expected a .html (or .htm) file name", file=f"--html {html}",
                         hint=f"Write --html {html.with_suffix('.html')}; the plot alone is --plot FILE.png or "
                              "FILE.svg, a text report --format markdown.")


def _wrote(path: Path, existed: bool) -> None:
    """Say where a file went (on stderr, so a JSON document on stdout stays clean), and a folder it created."""
    created = "" if existed else f" (created folder {path.parent})"
    echo_err(f"Wrote {path}{created}")


def run_estimate(args: EstimateArgs) -> int:
    """Plan the profile and print; the exit status: 0, or 1 when nothing fits."""
    wide(args.wide)
    # numpy's OpenBLAS starts one thread per core when numpy is imported, and they spin while it waits; an estimate's
    # linear algebra is small (dynamic-batching chains up to ~1,500 states), and one thread solves it as fast. A
    # bert-train-then-serve estimate on a busy 2-core machine: 11-12 s wall (3.4-3.6 s CPU) with the pool, 2.3-2.9 s
    # (0.6-0.7 s) with one thread. A user who sets the variable keeps their choice.
    os.environ.setdefault(BLAS_THREADS_ENV, "1")
    import planner
    from planner.decide.choices import check_confidence
    from planner.render import report

    if state["whole_process"]:
        # the planning core's modules, imported by now, live to the exit: frozen like those main.run froze (a plain
        # estimate, which imports no Typer, imports them after that freeze, and their objects would count toward
        # the collector's next pass, which then fell in the profile's loading)
        gc.freeze()
    check_confidence(args.confidence)
    plot, html = args.plot, args.html
    if plot is not None:
        from planner.render.plot import check_plot_available, plot_format

        plot_format(plot)
        check_plot_available()
    _check_options(args.local_usd_per_hour, plot, html)
    cat = planner.load_catalog(args.catalog)
    shown: Path | str = args.profile
    if str(args.profile) == STDIN:  # `gpuplan estimate -`: the profile piped in, its places named <stdin>
        from planner.project.load import load_profile

        shown = STDIN_NAME
        loaded = load_profile(STDIN_NAME, cat, args.overrides, text=read_stdin())
    else:
        loaded = planner.load_profile(args.profile, cat, args.overrides)
    if args.simulate and loaded.profile.inference is None:
        note(f"Note: --simulate simulates serving plans, and {shown} has no inference section: "
                 f"nothing to simulate.")
    if args.seed and not (args.simulate and loaded.profile.inference is not None):
        note(f"Note: --seed {args.seed} seeds the simulation of --simulate, and "
             + ("this run simulates nothing" if args.simulate else "--simulate is not given")
             + ": it changes nothing.")
    if args.confidence != 0.5 and loaded.profile.training is None:
        # serving plans are judged at the median efficiency, the recommendation with headroom at P10 whatever the
        # confidence (planner/plans/serving.py): the option was silently ignored (new-user QA)
        note(f"Note: --confidence {args.confidence:g} sets the quantile of training hours, and {shown} "
                 "has no training section: serving plans hold their targets at the median efficiency, and the "
                 "recommendation with headroom at the P10 efficiency, at any --confidence.")
    if state["whole_process"]:
        # the catalog, the profile and the modules imported for them live to the exit: frozen like the imports in
        # main.run, the search's collections neither rescan them nor count them (pretrain-1b-72h, lora-mixtral-8x7b,
        # long-context-llama-8b then run with no pass of the collector, ~6-8 ms each)
        gc.freeze()
    planned = planner.plan(loaded, cat, confidence=args.confidence, calibrations=args.calibrations,
                           measurements=args.measurements, simulate=args.simulate, seed=args.seed,
                           local_usd_per_hour=args.local_usd_per_hour)
    result, decision = planned.estimate, planned.decision
    if args.local_usd_per_hour and not _has_local_row(result):
        # the row comes from --measurements or from a stored calibration of this machine (efficiency/stores.py):
        # said only when neither gave one (new-user QA round 31: the note said 'no such row' above a priced one)
        note(f"Note: --local-usd-per-hour {args.local_usd_per_hour:g} prices the 'this machine' row that "
             "--measurements (or a stored calibration of this machine) adds; this run has no such row, so it prices "
             "nothing.")
    spec = None
    if args.emit is not None:
        # made first (nothing to launch is an error before any file is written) and printed after --plot and
        # --html, which are written beside it (`--emit torchrun --html r.html` wrote no page, silently: new-user
        # QA); --format has nothing to choose here, and says so
        from planner.render.launch import launch_spec

        spec = launch_spec(decision, result, args.emit.value, args.catalog)
        if args.format is not Format.table:
            note(f"Note: --emit {args.emit.value} prints the launch spec, not the plans: --format "
                     f"{args.format.value} is not used.")
    if plot is not None:
        from planner.render.plot import write_pareto_plot

        existed = plot.parent.is_dir()
        write_pareto_plot(decision, result.profile, plot)
        _wrote(plot, existed)
    if html is not None:
        from planner.render.html import write_html_report

        existed = html.parent.is_dir()
        write_html_report(result, decision, html, args.top or None)
        _wrote(html, existed)
    if spec is not None:
        out(spec)
        return 0
    limit = args.top or None
    if args.format is Format.json:
        out(planned.to_json(limit))
    else:
        render = {Format.table: report.render_table, Format.markdown: report.render_markdown,
                  Format.csv: report.render_csv}[args.format]
        out(render(result, limit, decision))
    if args.format is Format.csv:
        # new-user QA round 8: the table, markdown and JSON carry the warnings (old prices among the plans shown, the
        # profile's assumptions), a CSV has no place for them: they go to stderr, beside the rows
        for warning in [*result.warnings, *report.price_warnings(result, limit, None, decision)]:
            note(f"Warning: {warning}")
        for line in report.network_notes(result, limit, decision):
            note(f"Note: {line}")
    if args.format is Format.json:
        out("\n")
    return 0 if result.feasible else 1
