"""Rules for the data quirks of maintained price tables (catalog/snapshots/skypilot-*/README.md, "Quirks noticed"):
each rule either drops a value with its reason or keeps it with a flag, so no doubtful number is used silently.

- placeholder spot prices (99999999 on primeintellect, 0.00 on vast) and spot equal to on-demand (mithril: no
  interruptible price) → the spot price is dropped;
- the same on-demand and spot price in every row (mithril) → the spot price is dropped and the offer flagged (the
  price may be an auction price);
- spot above on-demand in every row of an accelerator at a provider (runpod L40S: 0.86 vs 0.43) → columns swapped:
  the dearer is used as on-demand and the offer is flagged; in only some rows (GCP H100 regions) → that row's
  spot is dropped and the row flagged: an on-demand price under the same row's interruptible one contradicts
  itself (GCP H100 in asia-northeast1: 4.20 on-demand, 10.02 spot, a third of the other regions' on-demand);
- no on-demand price (AWS p5e) or a placeholder one → the row is dropped;
- a memory field that equals the host RAM per GPU (nebius) → ignored; one that grows with the GPU count (vast,
  primeintellect) → divided by the count.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import field
from planner.dataclass import dataclass

from planner.catalog.skypilot import SkyRow

PLACEHOLDER_PRICE = 99_999.0
"""A price at or above this per hour is a sentinel (primeintellect writes 99999999): the dearest real offer in the
snapshot, 8× B200 on GCP, is under 200 USD/h."""
MIB_TO_GB = 2**20 / 1e9


@dataclass(frozen=True)
class CleanRow:
    """A row with prices and memory that passed the rules."""

    row: SkyRow
    price: float
    spot: float | None
    memory_gb: float | None
    flag: str | None = None
    """Why the price is doubtful, when a rule kept it with a doubt."""


@dataclass
class Findings:
    """What the rules did, by reason → rows."""

    dropped: Counter[str] = field(default_factory=Counter)
    adjusted: Counter[str] = field(default_factory=Counter)


def _memory_is_total(rows: list[SkyRow]) -> bool:
    """True when the file's SizeInMiB grows with the GPU count for one accelerator (instance total, not per GPU)."""
    votes: Counter[str] = Counter()
    by_name: dict[str, set[tuple[float, float]]] = defaultdict(set)
    for r in rows:
        if r.memory_mib and r.count >= 1:
            by_name[r.accelerator].add((r.count, r.memory_mib))
    for pairs in by_name.values():
        counts = {c for c, _ in pairs}
        if len(counts) < 2:
            continue
        per_gpu = {round(m / c) for c, m in pairs}
        as_given = {round(m) for _, m in pairs}
        if len(per_gpu) < len(as_given):
            votes["total"] += 1
        elif len(as_given) < len(per_gpu):
            votes["per-gpu"] += 1
    return votes["total"] > votes["per-gpu"]


def _is_host_ram(row: SkyRow) -> bool:
    """The memory field equals the host RAM per GPU (nebius: 204800 MiB = 200 GiB, for 1 H100 and for 8 with 1600
    GiB)."""
    return bool(row.memory_mib and row.host_gib and row.count >= 1
                and abs(row.memory_mib - row.host_gib * 1024 / row.count) < 1.0)


HOST_RAM_SHARE = 0.8
"""The memory field is taken for host RAM when it equals the host RAM per GPU in at least this share of a file's
rows (nebius: all of them); a few equal values elsewhere (a 48 GB A40 on a 48 GiB host at cudo) are chance."""


def _memory_is_host_ram(rows: list[SkyRow]) -> bool:
    with_memory = [r for r in rows if r.memory_mib]
    return bool(with_memory) and sum(map(_is_host_ram, with_memory)) >= HOST_RAM_SHARE * len(with_memory)


def clean(rows: list[SkyRow]) -> tuple[list[CleanRow], Findings]:
    """Apply the rules to one provider's rows."""
    found = Findings()
    host_ram = _memory_is_host_ram(rows)
    total = not host_ram and _memory_is_total(rows)
    # spot above on-demand: swapped when it holds in every row of the accelerator that has both prices
    both: dict[str, list[bool]] = defaultdict(list)
    for r in rows:
        if r.price and r.spot and r.price < PLACEHOLDER_PRICE and 0 < r.spot < PLACEHOLDER_PRICE and r.spot != r.price:
            both[r.accelerator].append(r.spot > r.price)
    swapped_names = {name for name, above in both.items() if len(above) >= 2 and all(above)}
    priced = [r for r in rows if r.price and r.spot and r.price < PLACEHOLDER_PRICE]
    all_equal = len(priced) >= 2 and all(r.spot == r.price for r in priced)
    kept = []
    for r in rows:
        if r.accelerator.lower().startswith("tpu-"):
            found.dropped["TPU slice, not a GPU"] += 1
            continue
        if r.price is None or r.price <= 0:
            found.dropped["no on-demand price in the source (spot only or empty)"] += 1
            continue
        if r.price >= PLACEHOLDER_PRICE:
            found.dropped[f"placeholder on-demand price ({r.price:g})"] += 1
            continue
        spot, flag, price = r.spot, None, r.price
        if all_equal:
            flag = ("the source lists the same on-demand and spot price in every row: the price may be a spot or "
                    "auction price, not a reserved on-demand one")
        if spot is not None:
            if spot >= PLACEHOLDER_PRICE:
                found.adjusted[f"placeholder spot price {spot:.0f} dropped"] += 1
                spot = None
            elif spot <= 0:
                found.adjusted["placeholder spot price 0.00 dropped"] += 1
                spot = None
            elif spot == price:
                found.adjusted["spot equal to on-demand (no interruptible discount listed) dropped"] += 1
                spot = None
            elif spot > price and r.accelerator in swapped_names:
                found.adjusted[f"{r.accelerator}: spot above on-demand in every row (swapped columns?): the dearer "
                               "used as on-demand, offer flagged"] += 1
                flag = (f"source lists spot {r.spot:g} above on-demand {r.price:g} in every {r.accelerator} row "
                        f"(swapped columns?): {r.spot:g} used as on-demand, {r.price:g} as spot")
                price, spot = spot, price
            elif spot > price:
                found.adjusted["spot above on-demand in this region: spot dropped, row flagged"] += 1
                flag = (f"source lists spot {r.spot:g} above on-demand {r.price:g} in {r.region or 'this region'} "
                        "(other rows of the accelerator do not): the on-demand price may be understated")
                spot = None
        memory = None
        if r.memory_mib:
            if host_ram:
                found.adjusted["GPU memory field equals the host RAM per GPU in this file: ignored"] += 1
            else:
                memory = r.memory_mib / (r.count if total and r.count >= 1 else 1.0) * MIB_TO_GB
        kept.append(CleanRow(r, price, spot, memory, flag))
    if total:
        found.adjusted["GPU memory field is the instance total: divided by the GPU count"] += sum(
            1 for k in kept if k.memory_gb is not None)
    return kept, found
