"""Owned machines (constraints.owned) as offers beside the rented ones, and the buy-versus-rent line.

An owned machine is one instance of provider `owned`: its hourly cost is the user's running cost plus electricity,
count × TDP × PUE × usd_per_kwh (the GPUs' board power; the host's is not in the catalog). With a purchase price and
a lifetime, owning costs purchase / (lifetime × 8766 h) per hour of the year whether used or not; renting the same
work costs the cheapest rental plan meeting the targets. Owning pays off above the utilisation
u* = amortised / (rental cost per owned-hour − running cost per hour).

The purchase price is the profile's purchase_usd, else count × the card's sourced price in
catalog/purchase_prices.yaml, named on the line with its kind, source and date (flagged past
PURCHASE_PRICE_MAX_AGE_DAYS)."""
from __future__ import annotations

import datetime as dt
from planner.dataclass import dataclass

from planner.catalog.load import Catalog, PricedOffer
from planner.schema.catalog import Offer, PurchaseKind
from planner.schema.profile import OWNED_PROVIDER, OwnedMachine

OWNED = OWNED_PROVIDER
"""Provider id of owned machines."""
HOURS_PER_YEAR = 8766.0
"""365.25 days × 24 h."""
PURCHASE_PRICE_MAX_AGE_DAYS = 548
"""18 months (548 days): a card generation has lasted about two years (RTX 3090 2020-09, RTX 4090 2022-09, RTX 5090
2025-01 in catalog/purchase_prices.yaml), so an older price may predate a successor's launch, which moves what the
card sells for; the line says so and asks for purchase_usd."""


@dataclass(frozen=True)
class PurchaseBasis:
    """What the machine cost, and where that figure comes from."""

    usd: float
    """The whole machine's GPUs (catalog prices are per card: count × card price; the host is not included)."""
    per_gpu_usd: float | None = None
    """The catalog's card price (None: the profile's purchase_usd)."""
    kind: PurchaseKind | None = None
    source: str | None = None
    """Who published the card price; `title` and `url` name the page."""
    title: str | None = None
    url: str | None = None
    quote: str | None = None
    as_of: dt.date | None = None
    age_days: int | None = None

    @property
    def from_catalog(self) -> bool:
        """The price is the catalog's sourced card price, not the user's."""
        return self.per_gpu_usd is not None

    @property
    def stale(self) -> bool:
        """A catalog price older than PURCHASE_PRICE_MAX_AGE_DAYS."""
        return self.age_days is not None and self.age_days > PURCHASE_PRICE_MAX_AGE_DAYS


def purchase_basis(machine: OwnedMachine, gpu_id: str, catalog: Catalog, today: dt.date) -> PurchaseBasis | None:
    """The profile's purchase_usd, else count × the catalog's card price; None when neither exists."""
    if machine.purchase_usd is not None:
        return PurchaseBasis(machine.purchase_usd)
    price = catalog.purchase_prices.get(gpu_id)
    if price is None:
        return None
    return PurchaseBasis(machine.count * price.usd, price.usd, price.kind, price.source, price.title, price.url,
                         price.quote, price.as_of, (today - price.as_of).days)


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


def electricity_unpriced(machine: OwnedMachine, catalog: Catalog, gpu_id: str, usd_per_kwh: float | None) -> str | None:
    """Why an owned machine's hourly cost leaves its electricity out, as a warning, or None when it counts it: with no
    constraints.usd_per_kwh the cost is usd_per_hour alone (by default $0/h, a machine that reads as free and wins
    every choice; new-user QA), and a GPU without a TDP in catalog/gpus.yaml has no power to price."""
    instance = owned_instance(machine, gpu_id)
    if usd_per_kwh is None:
        return (f"{instance}: electricity not counted (constraints.usd_per_kwh not given): its cost is usd_per_hour "
                f"alone, ${machine.usd_per_hour:,.2f}/h; set constraints.usd_per_kwh (0 when power is free) to add "
                "count × TDP × pue × that price")
    if catalog.gpus[gpu_id].tdp_w is None:
        return (f"{instance}: electricity not counted: catalog/gpus.yaml has no TDP for {gpu_id}; include it in "
                "usd_per_hour")
    return None


def owned_usd_per_hour(machine: OwnedMachine, catalog: Catalog, gpu_id: str, usd_per_kwh: float | None,
                       pue: float) -> float:
    """The machine's running cost per hour: usd_per_hour plus electricity (its offer's price; both buy-versus-rent
    lines quote it)."""
    return machine.usd_per_hour + electricity_usd_per_hour(machine, catalog, gpu_id, usd_per_kwh, pue)


def owned_offers(machines: list[OwnedMachine], gpu_ids: tuple[str, ...], catalog: Catalog,
                 usd_per_kwh: float | None, pue: float, today: dt.date) -> list[PricedOffer]:
    """One single-instance offer per owned machine, priced at its running cost (0 allowed: built without the
    catalog's positive-price check, which guards provider files)."""
    offers = []
    for machine, gpu_id in zip(machines, gpu_ids):
        hourly = owned_usd_per_hour(machine, catalog, gpu_id, usd_per_kwh, pue)
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
    purchase: PurchaseBasis = PurchaseBasis(0.0)
    """The purchase price amortised, and its origin."""
    confidence: float | None = None
    """The quantile of owned_hours and rental_usd: training's planning confidence (the tables' hours and cost at it);
    None for serving (a month's hours and cost)."""


def buy_versus_rent(machine: OwnedMachine, instance: str, running_usd_per_hour: float, owned_hours: float,
                    rental: str | None, rental_usd: float | None,
                    purchase: PurchaseBasis | None, confidence: float | None = None) -> BuyVersusRent | None:
    """The buy-versus-rent line for a machine with a lifetime and a purchase price, or None without them
    (`confidence`: the quantile of the hours and the rental cost, training's)."""
    if purchase is None or machine.lifetime_years is None:
        return None
    amortised = purchase.usd / (machine.lifetime_years * HOURS_PER_YEAR)
    utilisation = None
    if rental_usd is not None and owned_hours > 0:
        margin = rental_usd / owned_hours - running_usd_per_hour
        if margin > 0:
            utilisation = amortised / margin
    return BuyVersusRent(instance, amortised, running_usd_per_hour, owned_hours, rental, rental_usd, utilisation,
                         purchase, confidence)
