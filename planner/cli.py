"""The `gpuplan` command: parse arguments, call the core, print. Errors become one line and exit 2."""
from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from .catalog import BUNDLED_CATALOG, load_catalog
from .errors import PlannerError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="GPU cost and capacity planner: which GPUs, how many, how long, what it costs.")
catalog_app = typer.Typer(no_args_is_help=True, help="Look at the GPU catalog, offers and model presets.")
app.add_typer(catalog_app, name="catalog")

_state = {"debug": False}


class Format(str, Enum):
    table = "table"
    json = "json"
    markdown = "markdown"
    csv = "csv"


class ListFormat(str, Enum):
    table = "table"
    json = "json"


CatalogOption = Annotated[Path, typer.Option("--catalog", help="Catalog directory.", show_default="bundled")]


def _fail(exc: PlannerError) -> None:
    if _state["debug"]:
        raise exc
    typer.echo(f"Error: {exc}", err=True)
    raise typer.Exit(exc.exit_code)


@app.callback()
def main(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False) -> None:
    """gpuplan: plan GPUs for training and serving."""
    _state["debug"] = debug


@app.command()
def estimate(
    profile: Annotated[Path, typer.Argument(help="Project profile (YAML).")],
    format: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
    catalog: CatalogOption = BUNDLED_CATALOG,
    top: Annotated[int, typer.Option("--top", help="Plans shown per section (0: all).", min=0)] = 10,
) -> None:
    """Plan training and serving for a profile: GPU type, count, hours, cost, latency. Exit 1 when nothing fits."""
    from .estimate import estimate as run_estimate
    from .profiles import load_profile
    from . import report

    try:
        cat = load_catalog(catalog)
        loaded = load_profile(profile, cat)
        result = run_estimate(loaded, cat)
    except PlannerError as exc:
        _fail(exc)
        return
    limit = top or None
    render = {Format.table: report.render_table, Format.json: report.render_json,
              Format.markdown: report.render_markdown, Format.csv: report.render_csv}[format]
    sys.stdout.write(render(result, limit))
    if format is Format.json:
        sys.stdout.write("\n")
    if not result.feasible:
        raise typer.Exit(1)


@catalog_app.command("list")
def catalog_list(
    format: Annotated[ListFormat, typer.Option("--format", "-f", help="Output format.")] = ListFormat.table,
    catalog: CatalogOption = BUNDLED_CATALOG,
) -> None:
    """List the GPUs: memory, bandwidth, dense peaks and the cheapest offer per GPU."""
    from .catalog_view import gpu_rows, render_gpu_table

    try:
        rows = gpu_rows(load_catalog(catalog))
    except PlannerError as exc:
        _fail(exc)
        return
    if format is ListFormat.json:
        import json

        typer.echo(json.dumps(rows, indent=2))
    else:
        sys.stdout.write(render_gpu_table(rows))


@catalog_app.command("models")
def catalog_models(catalog: CatalogOption = BUNDLED_CATALOG) -> None:
    """List the model presets with their architecture and source."""
    from .catalog_view import render_model_table

    try:
        sys.stdout.write(render_model_table(load_catalog(catalog)))
    except PlannerError as exc:
        _fail(exc)


def run() -> None:
    """Console-script entry point."""
    app()
