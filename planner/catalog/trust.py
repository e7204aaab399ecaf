"""How far a plan's price can be trusted: its date and the doubts the catalog records about it (the plan's JSON
fields `price_as_of`, `price_flags`: docs/catalog.md). A doubtful price is shown with its flag, never used silently."""
from __future__ import annotations

import datetime as dt

from planner.catalog.load import Catalog, PricedOffer

PRICE_MAX_AGE_DAYS = 90
"""Prices older than this are flagged: GPU rental prices move by tens of percent within a quarter (the catalog's
own offers files record such moves, e.g. AWS P4/P5 cuts noted in catalog/offers/aws.yaml)."""


def doubtful_offers(catalog: Catalog) -> frozenset[tuple[str, str]]:
    """(provider, instance) of every offer whose price the catalog records a doubt about (Offer.doubtful): the
    decision names the cheapest plan without one beside a choice priced on one."""
    return frozenset((pid, offer.instance) for pid, provider in catalog.providers.items()
                     for offer in provider.offers if offer.doubtful)


def price_flags(offer: PricedOffer, today: dt.date) -> tuple[str, ...]:
    """The doubts about an offer's price, in words (empty when the price is trusted)."""
    flags = []
    if offer.offer.doubtful:
        # without its closing full stop: flags are joined with "; " (new-user QA: "…(2026-08-17).; price 852 days old")
        flags.append(f"doubtful: {offer.offer.doubtful.rstrip().rstrip('.')}")
    age = (today - offer.as_of).days
    if age > PRICE_MAX_AGE_DAYS:
        flags.append(f"price {age:,} days old (as of {offer.as_of.isoformat()})")
    return tuple(flags)


def flag_count(offer: PricedOffer, today: dt.date) -> int:
    """len(price_flags(offer, today)) without their words: the dominance check reads it for every offer of the
    catalog each search (planner/catalog/dominance.py)."""
    return (1 if offer.offer.doubtful else 0) + (1 if (today - offer.as_of).days > PRICE_MAX_AGE_DAYS else 0)
