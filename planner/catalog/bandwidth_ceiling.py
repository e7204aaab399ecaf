"""The memory bandwidth a GPU's kernels can reach, as a share of its datasheet peak (its achievable bandwidth ceiling).

Measured where published: BabelStream's Copy kernel (read one array, write another: the streaming pattern closest to a
decode step's weight and KV reads) in Microsoft Azure's AI benchmarking guide, copied into catalog/gpus.yaml
`bandwidth_ceiling` with its source: A100 SXM 80 GB 1.61 TB/s of 2.039 (79.0 %), H100 SXM 2.90 of 3.35 (86.6 %),
H200 SXM 4.01 of 4.8 (83.5 %), MI300X 4.11 of 5.3 (77.5 %); and a plain copy kernel on the RTX 4090 (xytpai/nvbench)
922 GB/s of 1,008 (91.5 %). A GPU without a measurement gets one transferred at
catalog load (`with_bandwidth_ceilings`, the source says which rule): the median of the measured GPUs of its memory
technology (catalog/gpus.yaml `memory_type`) and architecture, else of its technology and vendor, else of its
technology; for a GPU whose technology is unknown, of its architecture, else of its vendor, else of every measured GPU.
The technology comes first because a copy kernel's share of the datasheet is the memory system's: HBM stacks reach
78-87 % (A100, H100, H200, MI300X), a GDDR6X board 91.5 % (RTX 4090). Until 2026-12-01 the architecture came first,
and GDDR ampere cards (RTX 3090, RTX A6000) took the A100's HBM2e 79 %: llama.cpp's decode rows on them, never fitted
(the independent check), were then predicted 8-16 % too slow, while the RTX 4080's, under the RTX 4090's
measurement, was within 1 % (docs/accuracy.md, serving-decode). Every measured share is below 1 (the schema requires
it), so a median of them is too: no GPU gets its datasheet bandwidth as achievable.

The SMs' own issue rate is no separate ceiling: a copy kernel's loads are issued by the same SMs, so on a GPU whose
SMs could not keep its DRAM busy the measured copy bandwidth is that lower figure. On the measured GPUs it is not
the bound: their copy bandwidth per SM-cycle differs (A100 10.6 bytes, H100 11.1, H200 15.3), so no one per-SM rate
holds them.
"""
from __future__ import annotations

from collections.abc import Callable

from planner.schema.catalog import GpuSpec, BandwidthCeiling


def _median(values: list[float]) -> float | None:
    import statistics  # here: only a catalog validated from its YAML transfers ceilings (not one read compiled)

    return round(statistics.median(values), 4) if values else None


def with_bandwidth_ceilings(gpus: dict[str, GpuSpec]) -> dict[str, GpuSpec]:
    """Every GPU with a bandwidth ceiling: its measured one, else one transferred from the measured GPUs (module
    docstring), the rule named in its source. Without any measured GPU in the catalog the GPUs keep none."""
    measured = [g for g in gpus.values() if g.bandwidth_ceiling is not None and g.bandwidth_ceiling.measured]

    def shares(keep: Callable[[GpuSpec], bool]) -> list[float]:
        return [c.share for g in measured if keep(g) and (c := g.bandwidth_ceiling) is not None]

    def same(attr: str, value: str) -> Callable[[GpuSpec], bool]:
        return lambda g: getattr(g, attr) == value

    def both(a: Callable[[GpuSpec], bool], b: Callable[[GpuSpec], bool]) -> Callable[[GpuSpec], bool]:
        return lambda g: a(g) and b(g)

    out: dict[str, GpuSpec] = {}
    for gid, gpu in gpus.items():
        if gpu.bandwidth_ceiling is not None and gpu.bandwidth_ceiling.measured:
            out[gid] = gpu
            continue
        kin = shares(same("arch", gpu.arch))
        peers = shares(same("vendor", gpu.vendor))
        every = shares(lambda _: True)
        memory = gpu.memory_type
        rules = [] if memory is None else [
            (shares(both(same("arch", gpu.arch), same("memory_type", memory))), f"{gpu.arch} {memory}"),
            (shares(both(same("vendor", gpu.vendor), same("memory_type", memory))), f"{gpu.vendor} {memory}"),
            (shares(same("memory_type", memory)), memory)]
        found = next(((values, name) for values, name in rules if values), None)
        if found is not None:
            share, rule = _median(found[0]), f"median of the {len(found[0])} measured {found[1]} GPU(s)"
        elif kin:
            share, rule = _median(kin), f"median of the {len(kin)} measured {gpu.arch} GPU(s)"
        elif peers:
            share = _median(peers)
            rule = f"no {gpu.arch} measurement: median of the {len(peers)} measured {gpu.vendor} GPU(s)"
        else:
            share, rule = _median(every), f"no {gpu.vendor} measurement: median of the {len(every)} measured GPU(s)"
        if share is None:
            out[gid] = gpu
            continue
        ceiling = BandwidthCeiling(share=share, source=f"transferred: {rule} (planner/catalog/bandwidth_ceiling.py)",
                                measured=False)
        out[gid] = gpu.model_copy(update={"bandwidth_ceiling": ceiling})
    return out
