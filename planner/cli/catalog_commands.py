"""`gpuplan catalog …`: list the GPUs, providers and model presets; import and refresh maintained price tables."""
# No `from __future__ import annotations` here: Typer reads every command's parameters from its annotations each
# run, and string annotations made it compile and evaluate ~340 of them (~12 ms of every start); evaluated once at
# import, they are the same objects Typer reads (docs/internals.md, 'Start-up: what every run pays').

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from planner.catalog import gpuhunt_refresh, refresh as refresh_module, snapshot_import
from planner.catalog.importer import import_offers, summary, write_offers
from planner.catalog.load import BUNDLED_CATALOG, load_catalog
from planner.cli.app import CatalogOption, Command, Group, ListFormat, ListFormatOption, WideOption, app, print_rows
from planner.cli.guard import out as _out, wide as _wide, write_all
from planner.errors import InputError

if TYPE_CHECKING:
    import datetime


catalog_app = typer.Typer(no_args_is_help=True, cls=Group, help="Look at the GPU catalog, offers and model presets.")
app.add_typer(catalog_app, name="catalog")


@catalog_app.command("list", cls=Command)
def catalog_list(
    format: ListFormatOption = ListFormat.table,
    catalog: CatalogOption = BUNDLED_CATALOG,
    wide: WideOption = False,
) -> None:
    """List the GPUs: memory, bandwidth, dense peaks and the cheapest offer per GPU."""
    _wide(wide)
    from planner.render.catalog_tables import gpu_rows, market_line, render_gpu_table

    loaded = load_catalog(catalog)
    rows = gpu_rows(loaded)
    print_rows(rows, format, lambda rows: render_gpu_table(rows) + market_line(loaded))


@catalog_app.command("providers", cls=Command)
def catalog_providers(
    format: ListFormatOption = ListFormat.table,
    catalog: CatalogOption = BUNDLED_CATALOG,
    wide: WideOption = False,
) -> None:
    """List the providers: offers, GPU types, multi-GPU shapes, networks (how many state one, and their Gb/s), price
    date, billing, storage and egress prices."""
    _wide(wide)
    from planner.render.provider_table import provider_rows, render_provider_table

    rows = provider_rows(load_catalog(catalog))
    print_rows(rows, format, render_provider_table)


@catalog_app.command("models", cls=Command)
def catalog_models(catalog: CatalogOption = BUNDLED_CATALOG, wide: WideOption = False) -> None:
    """List the model presets with their architecture and source."""
    _wide(wide)
    from planner.render.catalog_tables import render_model_table

    _out(render_model_table(load_catalog(catalog)))


class ImportSource(str, Enum):
    skypilot = "skypilot"
    gpuhunt = "gpuhunt"


class Billing(str, Enum):
    second = "per-second"
    minute = "per-minute"
    hour = "per-hour"


def _price_date(as_of: Optional[str]) -> Optional["datetime.date"]:
    """The day --as-of names (None: not given). `catalog import` and `catalog refresh` read it alike (new-user QA
    round 15: import said "--as-of: --as-of '2026-02-30': expected a date YYYY-MM-DD", and an empty value, as an
    unset shell variable leaves, dated the prices today without a word, where refresh refused it)."""
    import datetime as dt

    if as_of is None:
        return None
    try:
        return dt.date.fromisoformat(as_of.strip())
    except ValueError:
        raise InputError(f"expected a date such as 2026-11-30 (got {as_of!r})", field="--as-of") from None


@catalog_app.command("import", cls=Command)
def catalog_import(
    table: Annotated[Path, typer.Argument(metavar="TABLE", help="The price table: SkyPilot <cloud>/vms.csv or a gpuhunt <provider>.csv; "
                                               "or a SkyPilot v7 catalog directory (every provider folder).")],
    source: Annotated[ImportSource, typer.Option("--from", help="Which catalog's layout the table has.")],
    provider: Annotated[Optional[str], typer.Option(
        "--provider", metavar="<id>", help="Our provider id (default: from the cloud folder or file name).")] = None,
    as_of: Annotated[Optional[str], typer.Option("--as-of", metavar="<yyyy-mm-dd>",
                                                 help="Date of the prices, YYYY-MM-DD (default: today).")] = None,
    billing: Annotated[Optional[Billing], typer.Option(
        "--billing", help="Billing granularity, needed for a provider new to the catalog.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report what would be written; write nothing.")] = False,
    replace: Annotated[bool, typer.Option(
        "--replace", help="One table only: drop the provider's offers the table does not list (default: keep them, "
                          "with their own source and date); the summary names them.")] = False,
    catalog: CatalogOption = BUNDLED_CATALOG,
) -> None:
    """Refresh a provider's prices from a maintained catalog's table into catalog/offers/<provider>.yaml."""
    import datetime as dt

    date = _price_date(as_of)
    if table.is_dir():
        if source.value != "skypilot":
            raise InputError("a directory is read only with --from skypilot (a SkyPilot v7 catalog)",
                             file=str(table), hint="Pass a gpuhunt <provider>.csv file.")
        if replace:
            raise InputError("--replace applies to one table; a snapshot folder always keeps the offers it does not "
                             "cover", field="--replace", hint="Pass one <cloud>/vms.csv, or drop --replace.")
        results = snapshot_import.import_snapshot(table, load_catalog(catalog), Path(catalog), date)
        if not dry_run:
            for item in results:
                write_offers(item.document, Path(catalog) / "offers" / f"{item.provider}.yaml")
        _out(snapshot_import.summary(results, dry_run))
        return
    document, result = import_offers(source.value, table, load_catalog(catalog), Path(catalog), provider,
                                     as_of=date, billing=billing.value if billing else None, replace=replace)
    if not dry_run:
        write_offers(document, result.path)
    _out(summary(result, dry_run))


class RefreshSource(str, Enum):
    skypilot_url = "skypilot-url"
    gpuhunt = "gpuhunt"


@catalog_app.command("refresh", cls=Command)
def catalog_refresh(
    source: Annotated[RefreshSource, typer.Option("--from", help="Where today's prices come from.")],
    url: Annotated[Optional[str], typer.Option("--url", metavar="<url>", help="Base URL of SkyPilot's v7 catalog.")]
    = None,
    as_of: Annotated[Optional[str], typer.Option(
        "--as-of", metavar="<YYYY-MM-DD>", help="The day the prices at --url were taken (needed for a file:// copy); "
                                                "default: today, as fetched.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print what would change; write nothing.")] = False,
    catalog: CatalogOption = BUNDLED_CATALOG,
) -> None:
    """Pull today's prices (network needed) into catalog/offers/, with a diff of what changed."""
    import datetime as dt

    if source is RefreshSource.gpuhunt and url is not None:
        raise InputError("--url goes with --from skypilot-url (gpuhunt fetches its own catalog)", field="--url")
    if source is RefreshSource.gpuhunt and as_of is not None:
        raise InputError("--as-of goes with --from skypilot-url (gpuhunt's prices are today's)", field="--as-of")
    day = _price_date(as_of)
    # no network: refresh_module.NoNetwork, a PlannerError ('Error: no network: …', exit 2, cli/guard.py)
    if source is RefreshSource.gpuhunt:
        results, diff = gpuhunt_refresh.refresh(load_catalog(catalog), Path(catalog))
    else:
        results, diff = refresh_module.refresh(load_catalog(catalog), Path(catalog),
                                               url or refresh_module.SKYPILOT_URL, as_of=day)
    if not dry_run:
        for item in results:
            write_offers(item.document, Path(catalog) / "offers" / f"{item.provider}.yaml")
    write_all(refresh_module.render_changes(diff))
    write_all(("Would write" if dry_run else "Wrote") + f" {len(results)} offers file(s).\n")
