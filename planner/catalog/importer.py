"""`gpuplan catalog import --from skypilot|gpuhunt FILE`: maintained price tables → catalog/offers/<provider>.yaml.

Layouts (catalog/snapshots/skypilot-2026-11-30/README.md; docs/catalog.md): SkyPilot `vms.csv` per cloud
(columns found by header name, one row per region or zone, `Price`/`SpotPrice` per instance); gpuhunt's
per-provider catalog CSV (`instance_name, location, price, gpu_count, gpu_name, gpu_memory, spot`, the provider is
the file's name). Accelerator names are mapped to our GPU ids
by catalog/accelerator_names.yaml; what cannot be mapped is reported and listed under `omitted`."""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections import Counter
from dataclasses import field
from planner.dataclass import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from planner.catalog.load import Catalog
from planner.catalog.names import gpu_for, load_accelerator_names
from planner.catalog.quirks import clean
from planner.catalog.skypilot import (NUMERIC_COLUMNS, SkyRow, bad_count, cell, check_numbers, gpu_info, number,
                                      read_table)
from planner.catalog.providers import load_providers, network_fields
from planner.catalog.snapshot_import import GENERATED_NOTES, check_as_of, kept_offer, snapshot_date, snapshot_root
from planner.errors import InputError
from planner.io.atomic import write_text_atomic
from planner.io.loading import first_problem
from planner.schema.catalog import Offer, OmittedRow, ProviderOffers, RESERVED_PROVIDER_IDS

SKYPILOT_REQUIRED = ("InstanceType", "AcceleratorName", "AcceleratorCount", "Price")
GPUHUNT_REQUIRED = ("instance_name", "price", "gpu_count", "gpu_name")
GB_TO_MIB = 1e9 / 2**20
PROVIDER_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
"""A provider id as schema/catalog.py ProviderOffers.provider takes it (it names the offers file)."""


@dataclass
class ImportResult:
    """What an import produced and what it left out."""

    provider: str
    path: Path
    offers: list[Offer]
    unmapped: Counter[str] = field(default_factory=Counter)
    """Accelerator names with no GPU id → rows."""
    skipped: Counter[str] = field(default_factory=Counter)
    """Other reasons rows were left out → rows."""
    kept: list[Offer] = field(default_factory=list)
    """The provider's offers the table does not list, kept with their own source and date (without --replace)."""
    removed: list[str] = field(default_factory=list)
    """Instances of the provider's offers the table does not list, dropped because --replace was given."""
    adjusted: Counter[str] = field(default_factory=Counter)
    """Rows the snapshot's quirk rules (planner/catalog/quirks.py) changed, by reason → rows."""


def _skypilot_rows(path: Path, skipped: Counter[str]) -> list[SkyRow]:
    rows = []
    for line, raw in read_table(path, SKYPILOT_REQUIRED, "the expected price table", {"gpuhunt": GPUHUNT_REQUIRED}):
        name = (raw.get("AcceleratorName") or "").strip()
        if not name:
            skipped["no accelerator (CPU-only or host-only row)"] += 1
            continue
        if not (raw.get("InstanceType") or "").strip():
            skipped["accelerator-only row: host VM priced in a separate row (GCP)"] += 1
            continue
        check_numbers(raw, NUMERIC_COLUMNS, path, line)
        spot = cell(raw.get("SpotPrice"))
        memory_mib, description = gpu_info(raw)  # the variant, as the snapshot import reads it
        # a count that is no finite number is no count (new-user QA round 11: nan or inf was an internal error)
        rows.append(SkyRow(line, raw["InstanceType"].strip(), name, number(raw.get("AcceleratorCount")) or 0.0,
                           cell(raw.get("Price")), spot if spot and spot > 0 else None,
                           (raw.get("Region") or "").strip(), None, memory_mib, description,
                           count_text=raw.get("AcceleratorCount") or ""))
    return rows


def gpuhunt_row(line: int, instance: str, name: str, count: float, price: float | None, spot: bool, location: str,
                gpu_memory_gb: float | None, count_text: str | None = None) -> SkyRow:
    """One gpuhunt offer (a CSV row or a CatalogItem: one per instance, location and pricing) as a row.
    `count_text`: the gpu_count cell as written, for a CSV row."""
    return SkyRow(line, instance, name, count, None if spot else price, price if spot else None, location, None,
                  gpu_memory_gb * GB_TO_MIB if gpu_memory_gb else None, "", count_text=count_text)


def _gpuhunt_rows(path: Path, skipped: Counter[str]) -> list[SkyRow]:
    rows = []
    for line, raw in read_table(path, GPUHUNT_REQUIRED, "the expected price table", {"skypilot": SKYPILOT_REQUIRED}):
        name = (raw.get("gpu_name") or "").strip()
        if not name:
            skipped["no accelerator (CPU-only row)"] += 1
            continue
        check_numbers(raw, ("gpu_count", "price", "gpu_memory"), path, line)
        rows.append(gpuhunt_row(line, raw["instance_name"].strip(), name, number(raw.get("gpu_count")) or 0.0,
                                cell(raw.get("price")), (raw.get("spot") or "").strip().lower() == "true",
                                (raw.get("location") or "").strip(), number(raw.get("gpu_memory")),
                                raw.get("gpu_count") or ""))
    return rows


def import_offers(source: str, path: Path, catalog: Catalog, catalog_dir: Path, provider: str | None = None,
                  cloud: str | None = None, as_of: dt.date | None = None, billing: str | None = None,
                  name: str | None = None, replace: bool = False) -> tuple[ProviderOffers, ImportResult]:
    """Read a price table into a validated ProviderOffers (not yet written). The provider's offers the table does not
    list are kept, each with its own source and date (a table may cover only some instance families: AWS's
    snapshot vms.csv has no g4dn/g5/g6/g6e row); `replace` drops them instead, and the result names them."""
    check_as_of(as_of)
    names = load_accelerator_names(catalog_dir, catalog)
    provider_given = provider
    skipped: Counter[str] = Counter()
    unmapped: Counter[str] = Counter()
    if source == "skypilot":
        cloud = cloud or path.parent.name  # catalogs/<version>/<cloud>/vms.csv
        rows = _skypilot_rows(path, skipped)
        by_cloud = {v: k for k, v in names.skypilot_clouds.items()}
        provider = provider or by_cloud.get(cloud.lower(), cloud.lower())
    else:
        provider = provider or path.stem.lower()
        cloud = cloud or provider
        rows = _gpuhunt_rows(path, skipped)
    if not PROVIDER_ID.match(provider):  # it names catalog/offers/<provider>.yaml (new-user QA: --provider 'new prov'
        # failed after the whole table was read, as 'imported offers do not validate: String should match pattern')
        given = provider_given is not None
        raise InputError(f"{provider!r} is not a provider id: lower-case letters, digits and dashes"
                         + ("" if given else f" (taken from {path.name if source == 'gpuhunt' else 'the folder name'})"),
                         field="--provider", hint="Pass --provider with an id such as my-cloud.")
    if provider in RESERVED_PROVIDER_IDS:
        raise InputError(f"{provider!r} is reserved for {RESERVED_PROVIDER_IDS[provider]}", field="--provider",
                         hint=f"Pass --provider with another id, such as {provider}-cloud.")
    existing = catalog.providers.get(provider)
    info = load_providers(catalog_dir).get(provider)
    billing_given = billing is not None
    billing = billing or (existing.billing if existing else None)
    if billing is None:
        raise InputError(f"provider {provider!r} is new to the catalog: its billing granularity is not in {path.name}",
                         field="--billing", hint="Pass --billing per-second, per-minute or per-hour.")
    adjusted: Counter[str] = Counter()
    flags: dict[int, str] = {}
    memory: dict[int, float | None] = {}
    if source == "skypilot":
        # the rules the snapshot import applies (new-user QA: one table imported without them: primeintellect's
        # 99999999 spot placeholders made every row 'out of range', runpod's swapped L40S columns kept $0.43)
        for row in rows:  # said here as before: a Price that is no price is not 'spot only' (QA round 3)
            if row.price is None or row.price <= 0:
                skipped["spot price only (no on-demand price)" if row.spot is not None
                        else "no price: Price empty, not a number or not above 0"] += 1
        cleaned, findings = clean([row for row in rows if row.price is not None and row.price > 0])
        skipped.update(findings.dropped)
        adjusted = findings.adjusted
        rows = [dataclasses.replace(c.row, price=c.price, spot=c.spot) for c in cleaned]
        flags = {c.row.line: c.flag for c in cleaned if c.flag}
        memory = {c.row.line: c.memory_gb for c in cleaned}  # per GPU, after the host-RAM and instance-total rules
    previous = {o.instance: o for o in existing.offers} if existing else {}
    merged: dict[str, dict[str, Any]] = {}
    for row in rows:
        memory_gb = memory.get(row.line) if source == "skypilot" else \
            (row.memory_mib / GB_TO_MIB if row.memory_mib else None)
        gpu = gpu_for(names, source, row.accelerator, cloud, memory_gb,
                      f"{row.instance} {row.description}" if source == "skypilot" else "")
        if gpu is None:
            unmapped[row.accelerator] += 1
            continue
        reason = bad_count(row)
        if reason is not None:
            skipped[reason] += 1
            continue
        known = previous.get(row.instance)
        if known is not None and known.gpu in catalog.gpus and known.gpus_per_instance == int(row.count):
            gpu = known.gpu  # the variant was checked by hand for offers already in the catalog (as the snapshot's)
        entry = merged.setdefault(row.instance, {"gpu": gpu, "count": int(row.count), "price": None, "spot": None,
                                                 "region": "", "flag": None})
        if row.price is not None and row.price > 0 and (entry["price"] is None or row.price < entry["price"]):
            entry["price"], entry["region"], entry["flag"] = row.price, row.region, flags.get(row.line)
        if row.spot is not None and (entry["spot"] is None or row.spot < entry["spot"]):
            entry["spot"] = row.spot
    offers = []
    for instance, entry in sorted(merged.items()):
        if entry["price"] is None:  # no row of the instance has a Price above 0 (new-user QA: 'abc' or -5 with no
            # SpotPrice was counted as 'spot price only')
            skipped["spot price only (no on-demand price)" if entry["spot"] is not None
                    else "no price: Price empty, not a number or not above 0"] += 1
            continue
        spot, doubtful = entry["spot"], entry["flag"]
        if spot is not None and spot >= entry["price"]:  # another region's spot: no discount on this price
            spot = None
        old = previous.get(instance)
        network = network_fields(info, instance, old)
        if old is None:
            notes: str | None = "Imported; links not in the source: pcie within an instance" + (
                "." if network["network_gbps"] else ", no network stated between instances.")
        elif old.notes and network["network_gbps"]:
            notes = GENERATED_NOTES.sub("", old.notes) or None  # its 'no network stated' no longer holds
        else:
            notes = old.notes
        try:
            offers.append(Offer(instance=instance, gpu=entry["gpu"], gpus_per_instance=entry["count"],
                                usd_per_hour=round(entry["price"], 6),
                                spot_usd_per_hour=None if spot is None else round(spot, 6),
                                intra_node=old.intra_node if old else "pcie", region=entry["region"] or None,
                                doubtful=doubtful, notes=notes, **network))
        except ValidationError as exc:  # an infinite price, 65 GPUs in one instance, $5,000 per GPU-hour, …
            # in the words a profile's errors use (new-user QA round 18: 'gpus_per_instance: Input should be less
            # than or equal to 64')
            skipped[f"out of range ({first_problem(exc, Offer)})"] += 1
    if not offers:
        reasons = "; ".join(f"{count} {reason}" for reason, count in sorted(skipped.items()))
        # what there is to say only (new-user QA round 18: '(0 row(s) with unmapped accelerator names, 1 skipped: …)')
        why = ", ".join(filter(None, [
            f"{sum(unmapped.values())} row(s) with unmapped accelerator names" if unmapped else "",
            f"{sum(skipped.values())} skipped{': ' + reasons if reasons else ''}" if skipped else ""]))
        raise InputError(f"no GPU offer could be read from the table{f' ({why})' if why else ''}",
                         file=str(path), hint="Add the names to catalog/accelerator_names.yaml." if unmapped else None)
    imported = {o.instance for o in offers}
    uncovered = [o for o in existing.offers if o.instance not in imported] if existing else []
    kept = [] if replace or existing is None else [kept_offer(o, existing, info) for o in uncovered]
    removed = [o.instance for o in uncovered] if replace else []
    label = {"skypilot": "SkyPilot catalog vms.csv", "gpuhunt": "gpuhunt catalog CSV"}[source]
    omitted = [OmittedRow(row=f"accelerator {n!r} ({k} row(s))", reason="no GPU id for this name")
               for n, k in sorted(unmapped.items())]
    # the rows skipped, with their reasons, as the folder import lists its dropped rows (new-user QA round 10: a
    # table's 'Skipped 1 row(s): no price …' was printed once and left no trace in the file written)
    omitted += [OmittedRow(row=f"{k} row(s)", reason=reason) for reason, k in sorted(skipped.items())]
    try:
        document = ProviderOffers(
            schema_version=1, provider=provider, name=name or (existing.name if existing else provider),
            as_of=as_of or _snapshot_day(path, source) or dt.date.today(),
            source=f"{label}: {path.parent.name}/{path.name}",
            billing=billing, notes=" ".join(filter(None, [
                f"Billing granularity kept from the previous offers file ({existing.billing})."
                if existing and not billing_given else None,
                f"{len(kept)} offer(s) not in the table kept from the previous file with their own source and date."
                if kept else None])) or None, offers=offers + kept, omitted=omitted)
    except ValidationError as exc:
        raise InputError(f"imported offers do not validate: {first_problem(exc, ProviderOffers)}",
                         file=str(path)) from None
    target = catalog_dir / "offers" / f"{provider}.yaml"
    return document, ImportResult(provider, target, offers, unmapped, skipped, kept, removed, adjusted)


def _snapshot_day(path: Path, source: str) -> dt.date | None:
    """The date of the snapshot a SkyPilot <cloud>/vms.csv lies in (<snapshot>/v7/<cloud>/vms.csv), as the folder
    import dates it (new-user QA: one table of the 2026-11-30 snapshot was dated the day of the import)."""
    if source != "skypilot" or path.parent.parent.name != "v7":
        return None
    return snapshot_date(snapshot_root(path.parent.parent))


class _NoAliasDumper(yaml.SafeDumper):
    """safe_dump without anchors: offers kept from a previous file can share one `as_of` date object (when that file
    was read from YAML with an alias), and PyYAML writes a shared object as `&id001` / `*id001`; whether they share it
    depends on how the previous file was loaded (YAML or the compiled cache), so the same import wrote different
    bytes. Every value is written out in full."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def write_offers(document: ProviderOffers, path: Path) -> None:
    """Write the offers file atomically, with a header saying where it came from."""
    header = f"# Imported by `gpuplan catalog import` from: {document.source}\n"
    body = yaml.dump(document.model_dump(mode="python", exclude_none=True), Dumper=_NoAliasDumper, sort_keys=False,
                     allow_unicode=True, width=120)
    write_text_atomic(path, header + body)  # the catalog loader caches by content: the next load sees this file


def summary(result: ImportResult, dry_run: bool = False) -> str:
    """What was imported, kept, removed and left out, in words."""
    kept = f", {len(result.kept)} not in it kept from the previous file" if result.kept else ""
    lines = [f"{'Would write' if dry_run else 'Wrote'} {len(result.offers) + len(result.kept)} offer(s) for "
             f"{result.provider} to {result.path} ({len(result.offers)} from the table{kept})"]
    if result.removed:
        lines.append(f"{'Would remove' if dry_run else 'Removed'} {len(result.removed)} offer(s) not in the table "
                     f"(--replace): " + ", ".join(result.removed))
    for name, count in sorted(result.unmapped.items()):
        lines.append(f"Not mapped: accelerator {name!r} ({count} row(s)) — add it to catalog/accelerator_names.yaml")
    for reason, count in sorted(result.skipped.items()):
        lines.append(f"Skipped {count} row(s): {reason}")
    for reason, count in sorted(result.adjusted.items()):
        lines.append(f"Adjusted {count} row(s): {reason}")
    return "\n".join(lines) + "\n"
