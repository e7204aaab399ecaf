"""Catalog listings for `gpuplan catalog list` and `gpuplan catalog models`."""
from __future__ import annotations

import io
from typing import Any

from planner.catalog.load import Catalog
from planner.render.console import Column, fit_table, is_wide, make_console
from planner.schema.model import ModelSection


def gpu_rows(catalog: Catalog) -> list[dict[str, Any]]:
    """One dict per GPU: id, memory, bandwidth, dense peaks, and its cheapest on-demand offer per GPU-hour, with the
    offer's doubt when the catalog flags its price (`cheapest_doubtful`: estimate marks such a plan †, and the list
    showed mithril's A100 and H100 prices, which may be spot or auction prices, as plain cheapest; new-user QA)."""
    cheapest: dict[str, tuple[float, str, str, str | None]] = {}
    for offer in catalog.offers():
        per_gpu = offer.offer.usd_per_hour / offer.offer.gpus_per_instance
        if offer.offer.gpu not in cheapest or per_gpu < cheapest[offer.offer.gpu][0]:
            cheapest[offer.offer.gpu] = (per_gpu, offer.provider, offer.offer.instance, offer.offer.doubtful)
    rows = []
    for gpu in catalog.gpus.values():
        price = cheapest.get(gpu.id)
        rows.append({
            "id": gpu.id, "name": gpu.name, "arch": gpu.arch, "memory_gb": gpu.memory_gb,
            "memory_bandwidth_gbs": gpu.memory_bandwidth_gbs,
            "peak_tflops": gpu.peak_tflops.model_dump(exclude_none=True),
            "cheapest_usd_per_gpu_hour": round(price[0], 4) if price else None,
            "cheapest_provider": price[1] if price else None,
            "cheapest_instance": price[2] if price else None,
            "cheapest_doubtful": price[3] if price else None,
        })
    return rows


def _table(title: str, head: list[Column], rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    console = make_console(buffer)
    console.print(fit_table(console, head, rows, title=title))
    return buffer.getvalue()


def render_gpu_table(rows: list[dict[str, Any]]) -> str:
    """The GPU list as a table."""
    def peak(row: dict[str, Any], key: str) -> str:
        value = row["peak_tflops"].get(key)
        return f"{value:,g}" if value else "–"

    # digits grouped as everywhere else in the output (new-user QA round 8: '1940' GB/s and '5033.2' TFLOP/s here,
    # '1,610 GB/s' in an estimate)
    body = [[r["id"], r["arch"], f"{r['memory_gb']:,g}", f"{r['memory_bandwidth_gbs']:,g}", peak(r, "fp32"),
             peak(r, "bf16") if r["peak_tflops"].get("bf16") else peak(r, "fp16"), peak(r, "fp8"),
             f"${r['cheapest_usd_per_gpu_hour']:.2f}{' †' if r.get('cheapest_doubtful') else ''} "
             f"({r['cheapest_provider']})" if r["cheapest_provider"] else "–"]
            for r in rows]
    table = _table("GPUs (dense peaks, TFLOP/s)", [
        Column("id"), Column("arch", drop=4), Column("GB", "right"), Column("GB/s", "right"),
        Column("fp32", "right", drop=2), Column("16-bit", "right"), Column("fp8", "right", drop=3),
        Column("cheapest $/GPU-h", drop=1)], body)
    notes = [f"† {r['id']} {r['cheapest_provider']} {r['cheapest_instance']}: doubtful: {r['cheapest_doubtful']}"
             for r in rows if r.get("cheapest_doubtful")]
    if not notes:
        return table
    buffer = io.StringIO()
    console = make_console(buffer)
    for note in notes:  # wrapped to the terminal, as the estimate's † footnotes are
        console.print(note, markup=False, highlight=False)
    return table + "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())


def market_line(catalog: Catalog) -> str:
    """The line under the GPU table: how many GPU types are rented, by how many providers (named), in how many
    offers — the market the plans search, with the command that lists it per provider."""
    offers = list(catalog.offers())
    rented = {o.offer.gpu for o in offers}
    providers = sorted(catalog.providers)
    buffer = io.StringIO()
    make_console(buffer).print(f"{len(catalog.gpus)} GPU types, {len(rented)} of them rented: {len(offers):,} offers "
                               f"from {len(providers)} providers ({', '.join(providers)}); `gpuplan catalog "
                               "providers` lists them.", markup=False, highlight=False)
    return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())


def model_rows(catalog: Catalog) -> list[dict[str, Any]]:
    """One dict per preset: total and active parameters (derived the way plans use them), attention, source."""
    from planner.model.workload import workload_for
    from planner.project.load import resolve_architecture

    rows = []
    for m in catalog.presets.values():
        work = workload_for(resolve_architecture(ModelSection(preset=m.id), catalog))
        rows.append({"id": m.id, "family": m.family, "params": work.params, "active_params": work.active_params,
                     "experts": f"{work.experts}, top-{work.experts_per_token}" if work.is_moe else None,
                     "attention": work.attention_kind or None, "layers": m.layers, "hidden": m.hidden,
                     "seq_len": m.seq_len, "image_size": m.image_size, "max_context": m.max_context,
                     "source": m.source})
    return rows


def render_model_table(catalog: Catalog) -> str:
    """The model presets as a table: total and active parameters, experts, attention type."""
    def billions(value: float) -> str:
        return f"{value / 1e9:.3g}B"

    body = [[r["id"], r["family"], billions(r["params"]), billions(r["active_params"]), r["experts"] or "–",
             r["attention"] or "–", str(r["layers"] or "–"), str(r["hidden"] or "–"),
             str(r["seq_len"] or r["image_size"] or "–"), f"{r['max_context']:,}" if r["max_context"] else "–",
             r["source"] if is_wide() else r["source"][:40]]
            for r in model_rows(catalog)]
    return _table("Model presets", [Column("id"), Column("family", drop=5), Column("params", "right"),
                                    Column("active", "right"), Column("experts", "right", drop=3),
                                    Column("attention", drop=4), Column("layers", "right", drop=1),
                                    Column("hidden", "right", drop=2), Column("seq/image", "right", drop=6),
                                    Column("context", "right", drop=7,
                                           legend="context: tokens a served request may span (max_context)"),
                                    Column("source", drop=8)], body)
