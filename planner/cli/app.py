"""The Typer application and what its command modules share: the one error handler of every command (Guarded, through
cli/guard.py), usage lines and help written as any output, the options several groups take (--catalog, --wide,
--format of a listing, --calibrations) and `gpuplan --version`. The commands are cli/commands.py's (the top-level
ones), cli/catalog_commands.py's and cli/calibration_commands.py's."""
# No `from __future__ import annotations` here: Typer reads every command's parameters from its annotations each
# run, and string annotations made it compile and evaluate ~340 of them (~12 ms of every start); evaluated once at
# import, they are the same objects Typer reads (docs/internals.md, 'Start-up: what every run pays').

import re
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from typer._click.exceptions import ClickException, NoArgsIsHelpError
from typer.core import TyperCommand, TyperGroup
from typer.exceptions import TyperException

from planner.cli.guard import (exit_code_for, flush_output, out as _out, OUTPUT_MARK, state, usage_error,
                               wide as _wide)
from planner.cli.numbers import WholeNumber
from planner.errors import command_line


def _plain_flags(command: Any, ctx: Any) -> None:
    """Show flags as flags in --help: typer's help prints every option's value type beside it, a flag's too
    (`--wide <bool>`), though a flag takes no value; an empty metavar leaves the type column blank. Groups (catalog,
    calibration) pass it on to their commands. Parsing is unchanged: a flag never reads its metavar."""
    for param in [*command.params, command.get_help_option(ctx)]:
        if param is not None and getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    for sub in getattr(command, "commands", {}).values():
        _plain_flags(sub, ctx)


def _broken_pipe(console: Any) -> None:
    """rich's Console.on_broken_pipe for gpuplan: the BrokenPipeError itself, which the one handler answers with 141
    (cli/guard.py exit_code_for); rich's own raises SystemExit(1), the status of "nothing meets the constraints"."""
    import errno

    raise BrokenPipeError(errno.EPIPE, "the reader closed standard output")


def _guarded_help(print_help: Callable[[], None]) -> None:
    """--help's text as every other output fails (new-user QA round 21): rich prints it, and a reader closing the pipe
    (`gpuplan --help | head -c 100`) exited 1 from rich's on_broken_pipe, a full disk (`> /dev/full`) was an
    internal error, exit 70. Here a closed pipe is a BrokenPipeError (141) and a write error is marked as the
    output's (guard.OUTPUT_MARK: 'Error: cannot write the output', exit 2). rich is imported only to print help."""
    from rich.console import Console

    setattr(Console, "on_broken_pipe", _broken_pipe)
    try:
        print_help()
    except OSError as exc:
        setattr(exc, OUTPUT_MARK, True)
        raise


class Command(TyperCommand):
    """A command whose usage line names its arguments as click does, `PROFILE` and `[NAME]`: Typer writes a required
    argument `{PROFILE}`, which reads as a set of choices (new-user QA round 8: `gpuplan estimate [OPTIONS]
    {profile}`); its help written as any output (_guarded_help)."""

    def collect_usage_pieces(self, ctx):  # type: ignore[no-untyped-def]
        return [re.sub(r"^\{(.*)\}", r"\1", piece) for piece in super().collect_usage_pieces(ctx)]

    def format_help(self, ctx, formatter):  # type: ignore[no-untyped-def]
        _guarded_help(lambda: super(Command, self).format_help(ctx, formatter))


class Group(TyperGroup):
    """A command group (catalog, calibration) whose help is written as any output (_guarded_help)."""

    def format_help(self, ctx, formatter):  # type: ignore[no-untyped-def]
        _guarded_help(lambda: super(Group, self).format_help(ctx, formatter))


class Guarded(TyperGroup):
    """The one error handler of every command (cli/guard.py exit_code_for): a PlannerError is one `Error:` line and
    its exit code, anything unexpected one `internal error:` line and exit 70; tracebacks only with --debug."""

    def get_command(self, ctx, cmd_name):  # type: ignore[no-untyped-def]
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            _plain_flags(command, ctx)
        return command

    def format_help(self, ctx, formatter):  # type: ignore[no-untyped-def]
        _plain_flags(self, ctx)
        _guarded_help(lambda: super(Guarded, self).format_help(ctx, formatter))

    def make_context(self, info_name, args, parent=None, **extra):  # type: ignore[no-untyped-def]
        # the group's own options (`gpuplan --bogus`) are parsed here, before invoke; `gpuplan --help` is printed here
        try:
            return super().make_context(info_name, args, parent, **extra)
        except NoArgsIsHelpError:
            raise
        except ClickException as exc:
            raise typer.Exit(usage_error(exc)) from None
        except OSError as exc:  # --help's output (_guarded_help): a closed pipe, a full disk
            code = exit_code_for(exc)
            if code is None:
                raise
            raise typer.Exit(code) from None

    def invoke(self, ctx):  # type: ignore[no-untyped-def]
        try:
            try:
                with command_line():  # errors name the options (planner/errors.py option)
                    return super().invoke(ctx)
            finally:
                flush_output()  # a closed pipe or a full disk shows here, inside the handler, not at interpreter exit
        except NoArgsIsHelpError:  # `gpuplan catalog`: the group's help, as asked for
            raise
        except ClickException as exc:  # a command's arguments, parsed here: one line (cli/guard.py usage_error)
            raise typer.Exit(usage_error(exc)) from None
        except (typer.Exit, typer.Abort, TyperException, SystemExit):
            raise
        except (KeyboardInterrupt, Exception) as exc:  # the last resort: never a bare traceback
            code = exit_code_for(exc)
            if code is None:
                raise
            raise typer.Exit(code) from None


app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, cls=Guarded,
                  context_settings={"help_option_names": ["-h", "--help"]},
                  help="GPU cost and capacity planner: which GPUs, how many, how long, what it costs.")


class CalibrateEmit(str, Enum):
    skypilot = "skypilot"


class ListFormat(str, Enum):
    table = "table"
    json = "json"


class CrossValidate(str, Enum):
    """Folds of `validate --cross-validate` (planner/validate/folds.py)."""

    source = "source"
    gpu = "gpu"
    family = "family"


TOP = WholeNumber(0)
"""--top: plans shown per section, 0 for all."""
SEED = WholeNumber(0)
"""--seed: the --simulate simulation's seed (numpy's SeedSequence takes any whole number from 0)."""
PROCESSES = WholeNumber(2, 64)
"""profile --processes: ranks of the --comm all-reduce measurement (a collective needs 2; at most 64, as before)."""

ListFormatOption = Annotated[ListFormat, typer.Option("--format", "-f", help="Output format.")]
"""--format of a listing: a table, or its rows as JSON (print_rows)."""
CatalogOption = Annotated[Path, typer.Option("--catalog", metavar="<dir>", help="Catalog directory.",
                                             show_default="bundled")]
WideOption = Annotated[bool, typer.Option(
    "--wide", help="Every column and detail, ignoring the terminal width (default: fit COLUMNS or the terminal, "
                   "dropping the least needed columns first).")]


def print_rows(rows: list[dict[str, Any]], format: "ListFormat",
                render_table: Callable[[list[dict[str, Any]]], str]) -> None:
    """Print a listing as JSON or as the table `render_table` makes of it."""
    if format is ListFormat.json:
        import json

        _out(json.dumps(rows, indent=2) + "\n")  # all of it or an error (cli/guard.py write_all), as the table
    else:
        _out(render_table(rows))


def _print_version(asked: bool) -> None:
    """`gpuplan --version`: 'gpuplan 0.1.0', the installed package's version (its metadata, read only when asked:
    importlib.metadata costs a plain estimate nothing), then exit 0 before any command is parsed (an eager option)."""
    if not asked:
        return
    from importlib import metadata

    try:
        version = metadata.version("gpuplan")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        from planner import __version__ as version
    _out(f"gpuplan {version}\n")
    raise typer.Exit(0)


@app.callback()
def main(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
         version: Annotated[bool, typer.Option("--version", help="Print gpuplan's version and exit.",
                                               callback=_print_version, is_eager=True)] = False) -> None:
    """gpuplan: plan GPUs for training and serving."""
    state["debug"] = debug
    _wide(False)



CalibrationsOption = Annotated[Optional[Path], typer.Option(
    "--calibrations", metavar="<dir>", help="Calibration records directory.", show_default="CATALOG/calibrations")]
