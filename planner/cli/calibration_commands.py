"""`gpuplan calibration …`: store a calibration record, list those stored."""
# No `from __future__ import annotations` here: Typer reads every command's parameters from its annotations each
# run, and string annotations made it compile and evaluate ~340 of them (~12 ms of every start); evaluated once at
# import, they are the same objects Typer reads (docs/internals.md, 'Start-up: what every run pays').

from pathlib import Path
from typing import Annotated

import typer

from planner.catalog.load import BUNDLED_CATALOG, load_catalog
from planner.cli.app import (CalibrationsOption, CatalogOption, Command, Group, ListFormat, ListFormatOption, WideOption,
                             app, print_rows)
from planner.cli.guard import out as _out, wide as _wide


calibration_app = typer.Typer(no_args_is_help=True, cls=Group, help="Store and list GPU calibration records.")
app.add_typer(calibration_app, name="calibration")


@calibration_app.command("add", cls=Command)
def calibration_add(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="A record written by `gpuplan calibrate`.")],
    calibrations: CalibrationsOption = None,
    catalog: CatalogOption = BUNDLED_CATALOG,
) -> None:
    """Validate a calibration record (schema, ranges, size, device identity) and store it."""
    from planner.efficiency.records import add_calibration, calibration_store

    stored, new = add_calibration(file, load_catalog(catalog), calibration_store(catalog, calibrations))
    # the same record twice is one file (new-user QA: the second add said "Stored" again, as if it were a second)
    _out((f"Stored {stored}" if new else f"Already stored, the same record: {stored}") + "\n")


@calibration_app.command("list", cls=Command)
def calibration_list(
    format: ListFormatOption = ListFormat.table,
    calibrations: CalibrationsOption = None,
    catalog: CatalogOption = BUNDLED_CATALOG,
    wide: WideOption = False,
) -> None:
    """What is calibrated, when, on which driver/torch, and how far each measured peak is from the datasheet."""
    _wide(wide)
    from planner.efficiency.records import calibration_store, load_calibrations
    from planner.efficiency.stores import check_calibrations
    from planner.render.records import calibration_rows, render_calibration_list

    check_calibrations(calibrations)
    cat = load_catalog(catalog)
    rows = calibration_rows(load_calibrations(cat, calibration_store(catalog, calibrations)), cat)
    print_rows(rows, format, render_calibration_list)
