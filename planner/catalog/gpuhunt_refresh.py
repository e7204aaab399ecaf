"""`gpuplan catalog refresh --from gpuhunt`: today's offers from gpuhunt (dstack's GPU price catalog, the optional
`gpuhunt` extra) for the providers of catalog/accelerator_names.yaml `gpuhunt_providers`, imported by the same rules
as the SkyPilot snapshot (planner/catalog/snapshot_import.py: quirks, instance families' networks, offers it does not
cover kept with their own source and date), compared with the offers files and written only when every provider
imported. gpuhunt downloads its catalog, so without network the command says so in one line and changes nothing.

gpuhunt gives one `CatalogItem` per instance, location and pricing (on-demand or spot): `instance_name`, `location`,
`price` (USD/h of the instance), `gpu_count`, `gpu_name`, `gpu_memory` (GB per GPU), `spot`. Items of one instance
and location become one row with its on-demand and spot price; accelerator names map by the `gpuhunt` entries of
accelerator_names.yaml."""
from __future__ import annotations

import datetime as dt
import logging
from importlib import metadata
from collections.abc import Iterable
from planner.dataclass import dataclass
from pathlib import Path
from typing import Any, Protocol

from planner.catalog.importer import GB_TO_MIB
from planner.catalog.load import Catalog
from planner.catalog.names import load_accelerator_names
from planner.catalog.providers import load_providers
from planner.catalog.refresh import NoNetwork, OfferChange, changes
from planner.catalog.skypilot import SkyRow
from planner.catalog.snapshot_import import ProviderImport, import_provider
from planner.errors import InputError

class Item(Protocol):
    """The fields of gpuhunt's CatalogItem this module reads."""

    provider: str
    instance_name: str
    location: str
    price: float
    gpu_count: int
    gpu_name: str | None
    gpu_memory: float | None
    spot: bool


def query(providers: list[str]) -> list[Any]:
    """gpuhunt's offers with at least one GPU for the providers (network; tests replace this function)."""
    try:
        import gpuhunt
    except ImportError:
        raise InputError("--from gpuhunt needs the gpuhunt package, which is not installed", field="--from",
                         hint="pip install 'gpuplan[gpuhunt]' (or .venv/bin/pip install gpuhunt)") from None
    # gpuhunt logs each provider it cannot load with a traceback (logger.exception) before raising; the one line
    # below says it all, so its loggers are quiet while it runs
    quiet = logging.getLogger("gpuhunt")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL + 1)
    try:
        items = list(gpuhunt.query(provider=providers, min_gpu_count=1))
    except (OSError, gpuhunt.GPUHuntError) as exc:  # offline: "Failed to load catalogs of all providers" from a
        # URLError (gpuhunt 0.1.34); requests' and urllib's connection errors are OSErrors
        cause = exc.__cause__ or exc.__context__ or exc
        raise NoNetwork(f"no network: gpuhunt could not fetch its catalog ({str(cause)[:200]}); the catalog is "
                        "unchanged") from None
    finally:
        quiet.setLevel(level)
    if not items:
        raise NoNetwork("gpuhunt returned no offers (no network?); the catalog is unchanged")
    return items


@dataclass
class _Prices:
    item: Item
    price: float | None = None
    spot: float | None = None


def rows_by_provider(items: Iterable[Item]) -> dict[str, list[SkyRow]]:
    """gpuhunt provider → rows in the snapshot importer's shape: one per instance and location, with its on-demand
    and spot price (CPU-only items skipped)."""
    merged: dict[tuple[str, str, str], _Prices] = {}
    for item in items:
        if not item.gpu_name or not item.gpu_count:
            continue
        entry = merged.setdefault((item.provider.lower(), item.instance_name, item.location), _Prices(item))
        if item.spot:
            entry.spot = item.price if entry.spot is None else min(entry.spot, item.price)
        else:
            entry.price = item.price if entry.price is None else min(entry.price, item.price)
    out: dict[str, list[SkyRow]] = {}
    for line, ((provider, instance, location), entry) in enumerate(sorted(merged.items(), key=lambda kv: kv[0])):
        item = entry.item
        memory = item.gpu_memory * GB_TO_MIB if item.gpu_memory else None
        out.setdefault(provider, []).append(SkyRow(line + 1, instance, item.gpu_name or "", float(item.gpu_count),
                                                   entry.price, entry.spot, location, None, memory, ""))
    return out


def import_items(items: Iterable[Item], catalog: Catalog, catalog_dir: Path, today: dt.date,
                 origin: str) -> list[ProviderImport]:
    """Offers documents (not written) for every provider of accelerator_names.yaml gpuhunt_providers."""
    names = load_accelerator_names(catalog_dir, catalog)
    providers = load_providers(catalog_dir)
    rows = rows_by_provider(items)
    results = []
    for ours, theirs in sorted(names.gpuhunt_providers.items()):
        found = rows.get(theirs.lower())
        if not found:
            continue  # gpuhunt listed nothing for it today: its offers stay as they are (no diff line)
        source = f"gpuhunt catalog, provider {theirs} ({origin})"
        results.append(import_provider(theirs, Path(f"gpuhunt:{theirs}"), catalog, names, providers, today, source,
                                       rows_given=found, names_source="gpuhunt", provider_id=ours))
    return results


def refresh(catalog: Catalog, catalog_dir: Path, today: dt.date | None = None
            ) -> tuple[list[ProviderImport], list[OfferChange]]:
    """Query, import and compare (nothing written here)."""
    names = load_accelerator_names(catalog_dir, catalog)
    wanted = sorted(set(names.gpuhunt_providers.values()))
    if not wanted:
        raise InputError("catalog/accelerator_names.yaml names no gpuhunt_providers: nothing to refresh")
    day = today or dt.date.today()
    items = query(wanted)
    try:
        version: str | None = metadata.version("gpuhunt")
    except metadata.PackageNotFoundError:  # tests may run with recorded items only
        version = None
    results = import_items(items, catalog, catalog_dir, day,
                           f"gpuhunt{' ' + version if version else ''}, fetched {day}")
    return results, changes(catalog, results)
