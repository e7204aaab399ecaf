"""Offers another offer makes redundant: the same GPUs in the same shape (GPU, count per instance, link inside,
network between instances) with billing at least as fine, no dearer on-demand or spot price, and no doubt or staleness
the other lacks. A dominated offer can only repeat the dominating offer's plan at a higher cost, so the search skips
it (4× the offers from the imported catalog are largely the same machines at different prices)."""
from __future__ import annotations

import datetime as dt

from planner.catalog.load import PricedOffer
from planner.catalog.trust import flag_count


def _dominates(a: PricedOffer, b: PricedOffer, a_flags: int, b_flags: int, assumed_gbps: float = 0.0) -> bool:
    oa, ob = a.offer, b.offer
    spot_ok = ob.spot_usd_per_hour is None or (oa.spot_usd_per_hour is not None
                                                and oa.spot_usd_per_hour <= ob.spot_usd_per_hour)
    return (oa.usd_per_hour <= ob.usd_per_hour and spot_ok and a.billing_seconds <= b.billing_seconds
            and (oa.network_gbps or assumed_gbps) >= (ob.network_gbps or assumed_gbps) and a_flags <= b_flags)


def undominated(offers: list[PricedOffer], today: dt.date, assumed_gbps: float = 0.0,
                spot: bool = True) -> list[PricedOffer]:
    """The offers no other offer dominates (ties: the first in catalog order stays), in their original order.
    spot: whether the search plans spot prices (constraints.spot); without, an offer's spot price prices no plan,
    so it keeps no offer from being dominated (a third of the imported offers list one).
    assumed_gbps: the network an offer that states none is planned over (search.with_assumed_network), so an offer
    is compared by the network its plans use: a stated 0.1 Gb/s (RunPod's pods) is slower than an unstated offer's
    assumed 10, not faster than none."""
    groups: dict[tuple[str, int, str], list[int]] = {}
    for i, o in enumerate(offers):
        offer = o.offer
        groups.setdefault((offer.gpu, offer.gpus_per_instance, offer.intra_node), []).append(i)
    keep = [True] * len(offers)
    for members in groups.values():
        if len(members) < 2:
            continue
        # what _dominates reads of each member, once, in (price, catalog order) (the index is unique: the rest of
        # the tuple is never compared); ~1,000 offers in ~250 groups a search
        terms = []
        for i in members:
            o = offers[i]
            offer = o.offer
            terms.append((offer.usd_per_hour, i, offer.spot_usd_per_hour if spot else None, o.billing_seconds,
                          offer.network_gbps or assumed_gbps, flag_count(o, today)))
        terms.sort()
        kept: list[tuple[float, int, float | None, float, float, int]] = []
        for b in terms:
            usd, i, spot_b, billing, network, flags = b
            for a in kept:  # _dominates(a, b), written out
                if a[0] <= usd and (spot_b is None or (a[2] is not None and a[2] <= spot_b)) and a[3] <= billing \
                        and a[4] >= network and a[5] <= flags:
                    keep[i] = False
                    break
            else:
                kept.append(b)
    return [o for o, k in zip(offers, keep) if k]
