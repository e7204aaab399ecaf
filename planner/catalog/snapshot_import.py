"""`gpuplan catalog import --from skypilot DIR`: every provider folder of a SkyPilot v7 catalog → catalog/offers/.

Per provider: rows are read by header name (planner/catalog/skypilot.py), cleaned by the quirk rules
(planner/catalog/quirks.py), mapped to GPU ids (catalog/accelerator_names.yaml; the row's per-GPU memory and
instance/GPU description tell variants apart), and merged per instance type: the cheapest region's on-demand price,
the dearest region's beside it, the lowest spot price. GCP prices the GPUs apart from the host VM: an accelerator
row becomes an offer only with the price of its host VM (the machine type catalog/providers.yaml names) in the same
zone of the same table. Offers the snapshot does not cover are kept from the existing file with their own source and
date; an offer's network comes from its provider's instance families (providers.yaml) where one matches, else it is
kept from the offer already in the catalog."""
from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from dataclasses import field
from planner.dataclass import dataclass
from pathlib import Path
from typing import Literal

from pydantic import ValidationError

from planner.catalog.load import Catalog
from planner.catalog.names import gpu_for, load_accelerator_names
from planner.catalog.providers import load_providers, network_fields, network_for
from planner.catalog.quirks import CleanRow, clean
from planner.catalog.skypilot import HostRow, SkyRow, bad_count, provider_folders, read_vms_and_hosts
from planner.errors import InputError
from planner.io.loading import first_problem
from planner.schema.catalog import GpuSpec, Offer, OmittedRow, ProviderOffers
from planner.schema.names import AcceleratorNames
from planner.schema.providers import ProviderInfo

_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})")
GENERATED_NOTES = re.compile(r"(\d+ source rows at different prices; the cheapest kept|no network between instances "
                             r"stated)(; )?|, no network stated between instances(?=\.)")
"""Offer notes the import writes itself: taken off an old offer's notes before new ones are added."""
_GENERATED_FILE = re.compile(r"Import rules applied: |\d+ offer\(s\) not in the snapshot kept")
"""Where the import's own sentences start in a provider's notes."""


@dataclass
class ProviderImport:
    """One provider's import: the document to write and what was left out or adjusted."""

    provider: str
    cloud: str
    document: ProviderOffers
    imported: int
    kept: int
    unmapped: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)
    adjusted: Counter[str] = field(default_factory=Counter)


def snapshot_date(directory: Path) -> dt.date | None:
    """The date in a snapshot folder's name (skypilot-2026-11-30), or in its README's 'Snapshot date' line."""
    for part in (directory.name, directory.parent.name):
        match = _DATE.search(part)
        if match:
            return dt.date.fromisoformat(match.group(1))
    readme = directory / "README.md"
    if readme.is_file():
        match = re.search(r"Snapshot date:\**\s*(\d{4}-\d{2}-\d{2})", readme.read_text(encoding="utf-8")[:4000])
        if match:
            return dt.date.fromisoformat(match.group(1))
    return None


def snapshot_root(directory: Path) -> Path:
    """The snapshot folder a v7 catalog directory belongs to: the directory itself, or, when `v7/` (or
    `catalogs/v7/`) inside a snapshot is given, the folder above it that holds the README (the commit ids, the date),
    so both forms import the same offers with the same sources."""
    directory = directory.resolve()
    if (directory / "README.md").is_file() or directory.name != "v7":
        return directory
    for above in (directory.parent, directory.parent.parent if directory.parent.name == "catalogs" else None):
        if above is not None and (above / "README.md").is_file():
            return above
    return directory


def _commits(directory: Path) -> dict[str, str]:
    """Cloud → commit id of its vms.csv, from the snapshot README's file table."""
    readme = directory / "README.md"
    if not readme.is_file():
        return {}
    found = {}
    for match in re.finditer(r"\|\s*v7/([a-z0-9_-]+)/vms\.csv\s*\|[^\n]*?\b([0-9a-f]{40})\b",
                             readme.read_text(encoding="utf-8")):
        found[match.group(1)] = match.group(2)
    return found


def _dated_elsewhere(offer: Offer) -> bool:
    """An offer whose price has its own date and a source other than a SkyPilot catalog."""
    return offer.as_of is not None and offer.source is not None and "skypilot" not in offer.source.lower()


def _intra_node(gpu: GpuSpec, count: int, text: str) -> Literal["nvlink", "pcie"]:
    """NVLink when the GPU is an SXM/OAM module with a link (HGX/OAM boards join all of them), or when the instance
    says NVLink/SXM; else PCIe (a bridge between two cards is not assumed)."""
    if count < 2 or not gpu.interconnect.nvlink_gbs:
        return "pcie"
    form = (gpu.form_factor or "").lower()
    if any(word in form for word in ("sxm", "oam", "module", "superchip")) or re.search(r"sxm|nvlink|hgx", text,
                                                                                          re.IGNORECASE):
        return "nvlink"
    return "pcie"


NO_HOST_TYPE = "GCP accelerator-only price: no host machine type for this accelerator and count in " \
               "catalog/providers.yaml"
NO_HOST_PRICE = "GCP accelerator-only price with no host VM price in its own zone in the table (never paired " \
                "with another region's host)"
NO_HOST_SPOT = "GCP host VM without a spot price in the accelerator's zone: spot dropped"


def _gcp_rows(rows: list[CleanRow], info: ProviderInfo | None, hosts: list[HostRow], dropped: Counter[str],
              adjusted: Counter[str]) -> list[tuple[str, CleanRow]]:
    """GCP accelerator-only rows priced with their host VM: (instance, row with the sum as price). The host price is
    the table's row for the machine type catalog/providers.yaml names, in the accelerator row's own zone (its region
    when the row has no zone), as SkyPilot pairs them: GCP prices both by region, so a host from another region
    would misprice the machine (an europe-west4 A100 with a us-central1 host was 37 % under the region's list)."""
    types = {(h.accelerator, h.count): h.instance for h in (info.host_vms if info else [])}
    priced: dict[tuple[str, str, str], HostRow] = {}
    for h in hosts:
        if h.price is not None and h.price > 0:
            priced.setdefault((h.instance, h.region, h.zone), h)
            priced.setdefault((h.instance, h.region, ""), h)
    out = []
    for row in rows:
        instance = types.get((row.row.accelerator, int(row.row.count)))
        if instance is None:
            dropped[NO_HOST_TYPE] += 1
            continue
        host = priced.get((instance, row.row.region, row.row.zone))
        if host is None or host.price is None:
            dropped[NO_HOST_PRICE] += 1
            continue
        spot = None
        if row.spot is not None:
            if host.spot is not None and host.spot > 0:
                spot = row.spot + host.spot
            else:
                adjusted[NO_HOST_SPOT] += 1
        out.append((instance, CleanRow(row.row, row.price + host.price, spot, row.memory_gb, row.flag)))
    return out


def import_provider(cloud: str, path: Path, catalog: Catalog, names: AcceleratorNames,
                    providers: dict[str, ProviderInfo],
                    as_of: dt.date, source: str, rows_given: list[SkyRow] | None = None,
                    names_source: Literal["skypilot", "gpuhunt"] = "skypilot",
                    provider_id: str | None = None) -> ProviderImport:
    """One provider folder → its merged offers document (not written). `rows_given` replaces reading `path` (rows
    from another catalog's API, planner/catalog/gpuhunt_refresh.py), whose accelerator names are `names_source`'s
    and whose provider is `provider_id`."""
    info = providers.get(provider_id) if provider_id else next((p for p in providers.values()
                                                                if p.skypilot == cloud), None)
    provider = provider_id or (info.id if info else cloud.lower())
    existing = catalog.providers.get(provider)
    billing = existing.billing if existing else (info.billing if info else None)
    if billing is None:
        raise InputError(f"provider folder {cloud!r} is new to the catalog and catalog/providers.yaml gives no "
                         "billing granularity for it", file=str(path),
                         hint=f"Add an entry with skypilot: {cloud} and billing to catalog/providers.yaml.")
    hosts: list[HostRow] = []
    if rows_given is None:
        rows_given, hosts = read_vms_and_hosts(path)
    rows, findings = clean(rows_given)
    dropped, adjusted = findings.dropped, findings.adjusted
    unmapped: Counter[str] = Counter()
    named: list[tuple[str, CleanRow]]
    if any(not r.row.instance for r in rows):
        named = _gcp_rows([r for r in rows if not r.row.instance], info, hosts, dropped, adjusted)
        named += [(r.row.instance, r) for r in rows if r.row.instance]
    else:
        named = [(r.row.instance, r) for r in rows]
    groups: dict[str, list[tuple[str, CleanRow]]] = defaultdict(list)
    for instance, row in named:
        reason = bad_count(row.row)
        if reason is not None:
            dropped[reason] += 1
            continue
        mapped = gpu_for(names, names_source, row.row.accelerator, cloud, row.memory_gb,
                         f"{instance} {row.row.description}")
        if mapped is None:
            unmapped[row.row.accelerator] += 1
            continue
        groups[instance].append((mapped, row))
    previous = {o.instance: o for o in existing.offers} if existing else {}
    offers = []
    for instance, members in sorted(groups.items()):
        old = previous.get(instance)
        if old is not None and _dated_elsewhere(old):
            continue  # a price with its own date from a primary source outranks an undated catalog row
        gpu_id = Counter(g for g, _ in members).most_common(1)[0][0]
        if old is not None and old.gpu in catalog.gpus and old.gpus_per_instance == int(members[0][1].row.count):
            gpu_id = old.gpu  # the variant was checked by hand for offers already in the catalog
        members_rows = [r for g, r in members if g == gpu_id] or [r for _, r in members]
        cheapest = min(members_rows, key=lambda r: r.price)
        dearest = max(r.price for r in members_rows)
        spots = [r.spot for r in members_rows if r.spot is not None]
        count = int(cheapest.row.count)
        gpu = catalog.gpus[gpu_id]
        family = network_for(info, instance)
        doubtful = cheapest.flag  # the flag of the price the offer uses (a dearer region's shows only as the max)
        old_notes = GENERATED_NOTES.sub("", old.notes).strip() if old and old.notes else None
        regions = sorted({r.row.region for r in members_rows if r.row.region})
        notes = []
        if len(members_rows) > 1 and len({r.price for r in members_rows}) > 1:
            notes.append(f"{len(members_rows)} source rows at different prices; the cheapest kept")
        if not family and (old is None or old.network_gbps is None):
            notes.append("no network between instances stated")
        offers.append(Offer(
            instance=instance, gpu=gpu_id, gpus_per_instance=count, usd_per_hour=round(cheapest.price, 6),
            spot_usd_per_hour=round(min(spots), 6) if spots and min(spots) < cheapest.price else None,
            intra_node=old.intra_node if old else _intra_node(gpu, count, f"{instance} {cheapest.row.description}"),
            **network_fields(info, instance, old),
            region=(cheapest.row.region or None) if len(regions) <= 1 else
            f"{cheapest.row.region or 'unnamed'} (cheapest of {len(regions)})",
            usd_per_hour_max=round(dearest, 6) if dearest > cheapest.price * 1.0005 else None,
            doubtful=doubtful, notes="; ".join(filter(None, [*notes, old_notes])) or None, as_of=None, source=None))
    imported = {o.instance for o in offers}
    kept = []
    if existing:
        for old in existing.offers:
            if old.instance not in imported:
                kept.append(kept_offer(old, existing, info))
    omitted = [OmittedRow(row=f"accelerator {n!r} ({k} row(s))", reason="no GPU id for this name")
               for n, k in sorted(unmapped.items())]
    omitted += [OmittedRow(row=f"{k} row(s)", reason=reason) for reason, k in sorted(dropped.items())]
    adjusted_notes = "; ".join(f"{reason} ({k} row(s))" for reason, k in sorted(adjusted.items()))
    if not offers and not kept:
        raise InputError(f"no GPU offer could be read for {provider}", file=str(path),
                         hint="Add the accelerator names to catalog/accelerator_names.yaml.")
    try:
        document = ProviderOffers(
            schema_version=1, provider=provider, name=existing.name if existing else (info.name if info else provider),
            as_of=as_of, source=source, billing=billing,
            notes=" ".join(filter(None, [
                f"Billing: {info.billing_source}" if info and info.billing_source and not existing else
                (_GENERATED_FILE.split(existing.notes)[0].strip() or None if existing and existing.notes else None),
                f"Import rules applied: {adjusted_notes}." if adjusted_notes else None,
                f"{len(kept)} offer(s) not in the snapshot kept from the previous file with their own source and "
                "date." if kept else None])) or None,
            offers=offers + kept, omitted=omitted)
    except ValidationError as exc:
        raise InputError(f"imported offers for {provider} do not validate: {first_problem(exc, ProviderOffers)}",
                         file=str(path)) from None
    return ProviderImport(provider, cloud, document, len(offers), len(kept), unmapped, dropped, adjusted)


def kept_offer(old: Offer, existing: ProviderOffers, info: ProviderInfo | None) -> Offer:
    """An offer the table does not price, kept with its own source and date, and the network its instance family
    states (providers.yaml) where one does: a family reaches the offers a table does not list (AWS g-families)."""
    update: dict[str, object] = {"as_of": old.as_of or existing.as_of, "source": old.source or existing.source}
    if network_for(info, old.instance) is not None:
        update.update(network_fields(info, old.instance, old))
        update["notes"] = GENERATED_NOTES.sub("", old.notes).strip() or None if old.notes else None
    return old.model_copy(update=update)


def check_as_of(as_of: dt.date | None, today: dt.date | None = None) -> None:
    """A price date given (--as-of) that lies after today is refused before any table is read, naming the option
    (new-user QA round 12: `catalog import --as-of 2030-01-01` read "imported offers do not validate: Value error,
    as_of is the date the figures were read, …" against the table's file)."""
    day = today or dt.date.today()
    if as_of is not None and as_of > day:
        raise InputError(f"{as_of} is after today ({day}): prices cannot be dated in the future", field="--as-of")


def import_snapshot(directory: Path, catalog: Catalog, catalog_dir: Path,
                    as_of: dt.date | None = None, origin: str | None = None) -> list[ProviderImport]:
    """Every provider folder of a SkyPilot v7 catalog directory → merged offers documents (not yet written)."""
    check_as_of(as_of)
    folders = provider_folders(directory)
    directory = snapshot_root(directory)
    names = load_accelerator_names(catalog_dir, catalog)
    providers = load_providers(catalog_dir)
    date = as_of or snapshot_date(directory) or dt.date.today()
    commits = _commits(directory)
    results = []
    for cloud, path in sorted(folders.items()):
        if cloud == "common":
            continue
        shown = f"{directory.resolve().name}/{path.resolve().relative_to(directory.resolve())}"
        commit = commits.get(cloud)
        source = (f"SkyPilot catalog v7 {cloud}/vms.csv ({origin})" if origin else
                  f"SkyPilot catalog v7 {cloud}/vms.csv (skypilot-org/skypilot-catalog"
                  f"{' @' + commit[:12] if commit else ''}; commit date unknown), snapshot {shown}")
        results.append(import_provider(cloud, path, catalog, names, providers, date, source))
    return results


def summary(results: list[ProviderImport], dry_run: bool = False) -> str:
    """Per provider: offers imported and kept, rows left out and adjusted, by reason."""
    verb = "Would write" if dry_run else "Wrote"
    lines = []
    for r in results:
        lines.append(f"{verb} {r.imported + r.kept} offer(s) for {r.provider} ({r.imported} from {r.cloud}/vms.csv"
                     f"{f', {r.kept} kept from the previous file' if r.kept else ''})")
        for name, count in sorted(r.unmapped.items()):
            lines.append(f"  not mapped: accelerator {name!r} ({count} row(s))")
        for reason, count in sorted(r.dropped.items()):
            lines.append(f"  dropped {count} row(s): {reason}")
        for reason, count in sorted(r.adjusted.items()):
            lines.append(f"  adjusted {count} row(s): {reason}")
    total = sum(r.imported + r.kept for r in results)
    lines.append(f"{total} offer(s) from {len(results)} provider folder(s)")
    return "\n".join(lines) + "\n"
