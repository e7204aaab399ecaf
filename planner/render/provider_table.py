"""`gpuplan catalog providers`: one row per provider — offers, GPU types, multi-GPU shapes, price date, billing,
whether networks, storage and egress prices are known — so the market's coverage is visible at a glance."""
from __future__ import annotations

from typing import Any

from planner.catalog.load import Catalog
from planner.readable import gbps_text
from planner.render.catalog_tables import _table
from planner.render.console import Column


def provider_rows(catalog: Catalog) -> list[dict[str, Any]]:
    """Rows for the providers table (and its JSON)."""
    rows = []
    for pid, prov in sorted(catalog.providers.items()):
        facts = catalog.facts.get(pid)
        # an offer may carry its own date (kept from an earlier import, or a marketplace snapshot): the plans' price
        # ages read those, so the row gives their range, not the file's date alone (new-user QA: vast-ai read
        # 2026-11-30 while its RTX 6000 Ada plans are priced as of 2026-10-19)
        dates = sorted({o.as_of or prov.as_of for o in prov.offers}) or [prov.as_of]
        rows.append({
            "provider": pid, "name": prov.name, "offers": len(prov.offers),
            "gpus": len({o.gpu for o in prov.offers}),
            "multi_gpu_offers": sum(1 for o in prov.offers if o.gpus_per_instance >= 4),
            "networked_offers": sum(1 for o in prov.offers if o.network_gbps),
            # the figures, not only their count (new-user QA round 30: which network an offer has could be read in
            # no command before planning)
            "network_gbps_range": [min(stated), max(stated)] if (stated := [o.network_gbps for o in prov.offers
                                                                           if o.network_gbps]) else None,
            "doubtful_offers": sum(1 for o in prov.offers if o.doubtful),
            "as_of": prov.as_of.isoformat(), "offers_as_of": [dates[0].isoformat(), dates[-1].isoformat()],
            "billing": prov.billing,
            "storage_usd_per_gb_month": facts.storage_usd_per_gb_month.usd
            if facts and facts.storage_usd_per_gb_month else None,
            "egress_usd_per_gb": facts.egress_usd_per_gb.usd if facts and facts.egress_usd_per_gb else None,
        })
    return rows


def render_provider_table(rows: list[dict[str, Any]]) -> str:
    """The providers as a table, with the totals under it."""
    def money(value: float | None) -> str:
        return "–" if value is None else f"${value:g}"

    def network(span: list[float] | None) -> str:
        if span is None:
            return "–"
        return gbps_text(span[0]) if span[0] == span[1] else f"{gbps_text(span[0])}–{gbps_text(span[1])}"

    body = [[r["provider"], str(r["offers"]), str(r["gpus"]), str(r["multi_gpu_offers"]), str(r["networked_offers"]),
             network(r["network_gbps_range"]),
             str(r["doubtful_offers"]), " to ".join(dict.fromkeys(r["offers_as_of"])), r["billing"], money(r["storage_usd_per_gb_month"]),
             money(r["egress_usd_per_gb"])] for r in rows]
    head = [Column("provider"), Column("offers", "right"), Column("GPU types", "right", drop=4),
            Column("≥4-GPU offers", "right", drop=3), Column("with network", "right", drop=5),
            Column("network Gb/s", "right", drop=5),
            Column("doubtful", "right", drop=2), Column("prices as of"), Column("billing", drop=6),
            Column("storage $/GB-mo", "right", drop=1), Column("egress $/GB", "right", drop=1)]
    text = _table("Providers", head, body)
    return text + f"{len(rows)} providers, {sum(r['offers'] for r in rows):,} offers.\n"
