"""The best dense matmul a GPU runs, as a share of its datasheet peak (its achievable matmul ceiling).

Measured where published: the maximum achievable matmul FLOP/s (MAMF) table of stas00/ml-engineering, copied into
catalog/gpus.yaml `matmul_ceiling` with its source (A100 SXM 86.9 %, H100 SXM 80.3 %, B200 77.6 %, MI300X 51.4 % of
the dense bf16 peak, …). A GPU without a measurement gets one transferred at catalog load (`with_ceilings`, the
source says which rule): the measured GPU of its own die nearest to it in board power (a die's share depends on the
clock its power limit sustains: the A100 PCIe, 250–300 W, reaches 81.1 % where the 400 W SXM reaches 86.9 %, so an
A800 or A30 PCIe card takes the PCIe share, not the architecture's), else the median of the measured GPUs of its
architecture, else of its vendor; an fp8 share not
measured is the median fp8 share of its architecture's GPUs measured in fp8 (for a GPU whose bf16 share is
transferred too), else its bf16 share × the median fp8/bf16 ratio of the GPUs measured in both.

The training curves use it where they have no runs of a GPU's architecture (the pooled `any` curve,
train_curve.ceiling_factor): a family with runs has its own fitted peak, which already holds its level.
"""
from __future__ import annotations


from planner.schema.catalog import GpuSpec, MatmulCeiling

TENSOR_PRECISIONS = {"fp16": "bf16", "bf16": "bf16", "tf32": "bf16", "fp8": "fp8"}
"""The precisions that run on tensor cores, and the measurement each reads (16-bit and TF32 share the bf16 one)."""


def ceiling_share(gpu: GpuSpec, precision: str) -> float | None:
    """The share of the dense peak at `precision` the GPU's best matmul reaches; None on CUDA-core precisions (fp32)
    or without a ceiling."""
    key = TENSOR_PRECISIONS.get(precision)
    ceiling = gpu.matmul_ceiling
    if key is None or ceiling is None:
        return None
    return ceiling.fp8 if key == "fp8" else ceiling.bf16


def sm_cycles_per_s(gpu: GpuSpec) -> float | None:
    """SMs × boost clock, cycles/s: the rate at which a chip's SMs issue work; None without the SM count or clock."""
    if gpu.sms is None or gpu.boost_clock_mhz is None:
        return None
    return gpu.sms * gpu.boost_clock_mhz * 1e6


def tensor_rate(gpu: GpuSpec) -> float | None:
    """Dense 16-bit tensor-core FLOP per SM per boost-clock cycle (datasheet peak over SMs × boost clock): 2,049 on
    GA100 (A100), ~1,024 on GA102 workstation and data-centre cards (A6000, A10, A40), ~512 on the GeForce RTX 3090
    (half-rate fp32 accumulation), 3,784 on GH100 (H100). Four significant figures, as catalog/priors.yaml keeps
    the fitted curves' rate, so a GPU of the fitted chip reads exactly its curve's."""
    cycles, peak = sm_cycles_per_s(gpu), gpu.peak_tflops.bf16 or gpu.peak_tflops.fp16
    return float(f"{peak * 1e12 / cycles:.4g}") if cycles and peak else None


def _median(values: list[float]) -> float | None:
    import statistics  # here: only a catalog validated from its YAML transfers ceilings (not one read compiled)

    return round(statistics.median(values), 4) if values else None


def _same_die(gpu: GpuSpec, measured: list[GpuSpec]) -> GpuSpec | None:
    """The measured GPU of `gpu`'s die nearest to it in board power (ties: the lower-powered, the conservative share;
    a GPU or sibling without a stated power: the die's lowest share), None when no GPU of its die is measured."""
    kin = [g for g in measured if gpu.chip and g.chip == gpu.chip and g.matmul_ceiling and g.matmul_ceiling.bf16]
    if not kin:
        return None
    if gpu.tdp_w is None or any(g.tdp_w is None for g in kin):
        return min(kin, key=lambda g: (g.matmul_ceiling.bf16 if g.matmul_ceiling else 0.0, g.id))
    return min(kin, key=lambda g: (abs((g.tdp_w or 0.0) - gpu.tdp_w), g.tdp_w, g.id))  # type: ignore[operator]


def with_ceilings(gpus: dict[str, GpuSpec]) -> dict[str, GpuSpec]:
    """Every GPU with a matmul ceiling: its measured one, else one transferred from the measured GPUs (module
    docstring), the rule named in its source."""
    measured = [g for g in gpus.values() if g.matmul_ceiling is not None and g.matmul_ceiling.measured]
    ratios = [c.fp8 / c.bf16 for g in measured if (c := g.matmul_ceiling) is not None and c.fp8 and c.bf16]
    fp8_ratio = _median(ratios)
    out: dict[str, GpuSpec] = {}
    for gid, gpu in gpus.items():
        ceiling = gpu.matmul_ceiling
        if (ceiling is None or not ceiling.measured) and (sibling := _same_die(gpu, measured)) is not None \
                and sibling.matmul_ceiling is not None:
            ceiling = MatmulCeiling(
                bf16=sibling.matmul_ceiling.bf16, fp8=sibling.matmul_ceiling.fp8 if gpu.peak_tflops.fp8 else None,
                measured=False,
                source=f"transferred: the measured {sibling.id} (same {gpu.chip} die"
                       + (f", {sibling.tdp_w:g} W against this card's {gpu.tdp_w:g} W" if gpu.tdp_w and sibling.tdp_w
                          else "") + ") (planner/catalog/ceilings.py)")
        elif ceiling is None or not ceiling.measured:
            kin = [c.bf16 for g in measured if g.arch == gpu.arch and (c := g.matmul_ceiling) and c.bf16]
            peers = [c.bf16 for g in measured if g.vendor == gpu.vendor and (c := g.matmul_ceiling) and c.bf16]
            bf16, rule = (_median(kin), f"median of the {len(kin)} measured {gpu.arch} GPU(s)") if kin else (
                _median(peers), f"no {gpu.arch} measurement: median of the {len(peers)} measured {gpu.vendor} GPU(s)")
            if bf16 is None:
                out[gid] = gpu
                continue
            ceiling = MatmulCeiling(bf16=bf16, source=f"transferred: {rule} (planner/catalog/ceilings.py)",
                                    measured=False)
        if ceiling.fp8 is None and ceiling.bf16 and gpu.peak_tflops.fp8:
            kin8 = [c.fp8 for g in measured if g.arch == gpu.arch and (c := g.matmul_ceiling) and c.fp8]
            if kin8 and not ceiling.measured:
                fp8, rule8 = _median(kin8), f"median of the {len(kin8)} {gpu.arch} GPU(s) measured in fp8"
            elif fp8_ratio:
                fp8 = round(min(1.0, ceiling.bf16 * fp8_ratio), 4)
                rule8 = f"bf16 share × {fp8_ratio} (median fp8/bf16 of the {len(ratios)} GPUs measured in both)"
            else:
                fp8 = None
            if fp8 is not None:
                ceiling = ceiling.model_copy(update={"fp8": fp8, "source": f"{ceiling.source}; fp8 transferred: {rule8}"})
        out[gid] = gpu if ceiling is gpu.matmul_ceiling else gpu.model_copy(update={"matmul_ceiling": ceiling})
    return out
