"""Owned machines (constraints.owned) as offers beside the rented ones, and the buy-versus-rent line.

An owned machine is one instance of provider `owned`: its hourly cost is the user's running cost plus electricity,
count × TDP × PUE × usd_per_kwh (the GPUs' board power; the host's is not in the catalog). With a purchase price and
a lifetime, owning costs purchase / (lifetime × 8766 h) per hour of the year whether used or not; renting the same
work costs the cheapest rental plan meeting the targets. Owning pays off above the utilisation
u* = amortised / (rental cost per owned-hour − running cost per hour)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from planner.catalog.load import Catalog, PricedOffer
from planner.schema.catalog import Offer
from planner.schema.profile import OwnedMachine

OWNED = "owned"
"""Provider id of owned machines."""
HOURS_PER_YEAR = 8766.0
"""365.25 days × 24 h."""


def owned_instance(machine: OwnedMachine, gpu_id: str) -> str:
    """The instance name an owned machine's plans carry."""
    return f"{machine.count}x {gpu_id} (owned)"


def electricity_usd_per_hour(machine: OwnedMachine, catalog: Catalog, gpu_id: str, usd_per_kwh: float | None,
                             pue: float) -> float:
    """count × TDP (kW) × PUE × USD/kWh; 0 without an electricity price or a TDP."""
    tdp = catalog.gpus[gpu_id].tdp_w
    if usd_per_kwh is None or tdp is None:
        return 0.0
    return machine.count * tdp / 1000.0 * pue * usd_per_kwh


def owned_offers(machines: list[OwnedMachine], gpu_ids: tuple[str, ...], catalog: Catalog,
                 usd_per_kwh: float | None, pue: float, today: dt.date) -> list[PricedOffer]:
    """One single-instance offer per owned machine, priced at its running cost (0 allowed: built without the
    catalog's positive-price check, which guards provider files)."""
    offers = []
    for machine, gpu_id in zip(machines, gpu_ids):
        hourly = machine.usd_per_hour + electricity_usd_per_hour(machine, catalog, gpu_id, usd_per_kwh, pue)
        offer = Offer.model_construct(
            instance=owned_instance(machine, gpu_id), gpu=gpu_id, gpus_per_instance=machine.count,
            usd_per_hour=hourly, spot_usd_per_hour=None, intra_node=machine.interconnect, network_gbps=None,
            region=None, as_of=None, source="constraints.owned", doubtful=None, notes=None, usd_per_hour_max=None,
            network_source=None)
        offers.append(PricedOffer(OWNED, offer, 1.0, today))
    return offers


@dataclass(frozen=True)
class BuyVersusRent:
    """One owned machine against the cheapest rental plan that meets the targets."""

    instance: str
    amortised_usd_per_hour: float
    running_usd_per_hour: float
    owned_hours: float
    """Hours the owned machine needs for the job (training) or per month (serving: the hours served)."""
    rental: str | None
    """The rental plan compared with, in words (None: no rental plan meets the targets)."""
    rental_usd: float | None
    """Its cost for the same work (training: the job; serving: a month)."""
    break_even_utilisation: float | None
    """Share of the year the owned machine must be busy for owning to cost less (None: never, or no rental)."""


def buy_versus_rent(machine: OwnedMachine, instance: str, running_usd_per_hour: float, owned_hours: float,
                    rental: str | None, rental_usd: float | None) -> BuyVersusRent | None:
    """The buy-versus-rent line for a machine with a purchase price, or None without one."""
    if machine.purchase_usd is None or machine.lifetime_years is None:
        return None
    amortised = machine.purchase_usd / (machine.lifetime_years * HOURS_PER_YEAR)
    utilisation = None
    if rental_usd is not None and owned_hours > 0:
        margin = rental_usd / owned_hours - running_usd_per_hour
        if margin > 0:
            utilisation = amortised / margin
    return BuyVersusRent(instance, amortised, running_usd_per_hour, owned_hours, rental, rental_usd, utilisation)
