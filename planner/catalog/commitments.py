"""Committed-term offers (constraints.commitment): the catalog offers that have a published price for the chosen
term and payment, as offers of their own beside the on-demand ones. Each is named "<instance> (<term> commitment)",
priced at the committed rate with no spot price, dated and sourced by catalog/commitments.yaml, and carries the
commitment, so every plan on it says the term it binds to; the on-demand offer stays searched as it was. An entry
published as a percentage off on-demand (discount_percent) is resolved here against the offer's listed price, so the
commitment a plan carries always has its hourly price."""
from __future__ import annotations

import dataclasses

from planner.catalog.load import Catalog, PricedOffer

BASE_MISMATCH = 0.10
"""A catalog on-demand price further than this from the one a percentage's source lists for the same instance and
region: the percentage is applied to a price its source does not give (GCP's europe-west4 A100 in the SkyPilot
snapshot, $19.42/h for a2-highgpu-8g, against $29.98/h in the discount's source), so the committed price is flagged."""


def committed_instance(instance: str, term: str) -> str:
    """The name a committed offer's plans carry."""
    return f"{instance} ({term} commitment)"


def committed_offers(offers: list[PricedOffer], catalog: Catalog, term: str | None,
                     payment: str) -> list[PricedOffer]:
    """For each of `offers` with a published `term`/`payment` price, that offer at the committed price."""
    if term is None:
        return []
    prices = {(c.provider, c.instance): c for c in catalog.commitments if c.term == term and c.payment == payment}
    out = []
    for o in offers:
        c = prices.get((o.provider, o.offer.instance))
        if c is None:
            continue
        hourly = c.price(o.offer.usd_per_hour)
        # a percentage off the on-demand price inherits that price's doubt and is only as recent as the older of the
        # two figures; a published price stands on its own
        derived = c.usd_per_hour is None
        doubtful = o.offer.doubtful if derived else None
        if derived and c.on_demand_usd_per_hour is not None:
            gap = o.offer.usd_per_hour / c.on_demand_usd_per_hour - 1.0
            if abs(gap) > BASE_MISMATCH:
                doubtful = "; ".join(filter(None, [doubtful, (
                    f"{c.discount_percent:g}% off the catalog's on-demand ${o.offer.usd_per_hour:.2f}/h, "
                    f"{abs(gap):.0%} {'under' if gap < 0 else 'over'} the ${c.on_demand_usd_per_hour:.2f}/h the "
                    "percentage's source lists for this instance and region")]))
        as_of = min(o.as_of, c.as_of) if derived else c.as_of
        offer = o.offer.model_copy(update={
            "instance": committed_instance(o.offer.instance, term), "usd_per_hour": hourly,
            "spot_usd_per_hour": None, "usd_per_hour_max": None, "as_of": as_of,
            "source": f"{c.source}, {c.title} ({c.url})", "doubtful": doubtful})
        resolved = c.model_copy(update={"usd_per_hour": hourly})
        out.append(dataclasses.replace(o, offer=offer, as_of=as_of, commitment=resolved, discount_percent=0.0))
    return out
