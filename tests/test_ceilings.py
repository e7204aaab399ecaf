"""Matmul ceilings (planner/catalog/ceilings.py): measured shares from the catalog, transfers for the other GPUs, the
pooled training curve scaled by them for architectures without runs, and a family's peak carried to its chips."""
from __future__ import annotations

import statistics

import pytest

from planner.catalog.ceilings import ceiling_share, tensor_rate
from planner.efficiency.train_curve import (
    TrainCurve,
    ceiling_factor,
    chip_factor,
    curve_efficiency,
    pick_curve,
)
from planner.model.workload import workload_for
from planner.project.load import resolve_architecture
from planner.schema.profile import ModelSection

from .conftest import ROOT


def test_measured_ceilings_are_the_table_shares(catalog):
    # MAMF / the table's theoretical peak (stas00/ml-engineering @744d01e): 271.2/312, 668.4/1300, 1402.6/1979
    assert ceiling_share(catalog.gpus["A100-80GB-SXM"], "bf16") == pytest.approx(271.2 / 312, abs=1e-4)
    assert ceiling_share(catalog.gpus["MI300X"], "fp16") == pytest.approx(668.4 / 1300, abs=1e-4)
    assert ceiling_share(catalog.gpus["H100-SXM"], "fp8") == pytest.approx(1402.6 / 1979, abs=1e-4)
    assert ceiling_share(catalog.gpus["H100-SXM"], "fp32") is None  # CUDA cores: no matmul ceiling
    assert all(g.matmul_ceiling is not None and g.matmul_ceiling.measured
               for g in (catalog.gpus[i] for i in ("A100-40GB-PCIE", "B200", "GB200", "MI355X")))


def test_unmeasured_gpus_take_their_die_then_their_architecture_then_their_vendor(catalog):
    measured = [g for g in catalog.gpus.values() if g.matmul_ceiling and g.matmul_ceiling.measured]
    ampere = [g.matmul_ceiling.bf16 for g in measured if g.arch == "ampere" and g.matmul_ceiling]
    amd = [g.matmul_ceiling.bf16 for g in measured if g.vendor == "AMD" and g.matmul_ceiling]
    # a GA100 PCIe card takes the measured A100 PCIe's share (the same die at its power), not the architecture's
    # median, which the 400 W SXM parts lift: sustained clocks under a lower power limit reach less of the peak
    pcie, sxm = (catalog.gpus[g].matmul_ceiling for g in ("A100-40GB-PCIE", "A100-80GB-SXM"))
    assert pcie is not None and sxm is not None and pcie.bf16 < statistics.median(ampere) < sxm.bf16
    for gid in ("A800-80GB-PCIE", "A30"):
        ceiling = catalog.gpus[gid].matmul_ceiling
        assert ceiling is not None and not ceiling.measured and ceiling.bf16 == pcie.bf16
        assert "the measured A100-40GB-PCIE (same GA100 die, 250 W" in ceiling.source
    h100 = catalog.gpus["H100-SXM"].matmul_ceiling  # the GH100 PCIe card: its die's one measured form, fp8 too
    nvl = catalog.gpus["H100-PCIE"].matmul_ceiling
    assert h100 is not None and nvl is not None and (nvl.bf16, nvl.fp8) == (h100.bf16, h100.fp8)
    rtx = catalog.gpus["RTX-A6000"].matmul_ceiling  # GA102: no measured GPU of its die, the architecture's median
    assert rtx is not None and rtx.bf16 == pytest.approx(statistics.median(ampere), abs=1e-4)
    assert "median of the 4 measured ampere GPU(s)" in rtx.source
    mi250x = catalog.gpus["MI250X"].matmul_ceiling  # CDNA 2: no measured sibling, AMD's median
    assert mi250x is not None and mi250x.bf16 == pytest.approx(statistics.median(amd), abs=1e-4)
    assert "no cdna2 measurement" in mi250x.source


def test_the_pooled_curve_scales_by_the_ceiling_and_a_fitted_family_does_not(catalog):
    work = workload_for(resolve_architecture(ModelSection(preset="llama-3-8b"), catalog))
    pooled = pick_curve(catalog.train_curves, "cdna3")
    assert pooled is not None and pooled.arch == "any" and pooled.ceiling_share
    mi300x = catalog.gpus["MI300X"]
    bare = mi300x.model_copy(update={"matmul_ceiling": None})
    curve = TrainCurve(pooled)
    ratio = curve.efficiency(work, mi300x, "bf16") / curve.efficiency(work, bare, "bf16")
    assert ratio == pytest.approx(0.5142 / pooled.ceiling_share, rel=1e-6)
    own = pick_curve(catalog.train_curves, "ampere")
    assert own is not None and own.arch == "ampere"
    assert ceiling_factor(own, catalog.gpus["A100-80GB-PCIE"], "bf16") == 1.0
    detail = curve_efficiency(catalog, mi300x).detail
    assert "matmul ceiling (51.4% of peak, measured)" in detail and "×0.64" in detail


def test_a_family_peak_is_carried_to_each_chip_by_its_tensor_rate(catalog):
    # train_curve.chip_transfer: 1/p = 1/c + o·r with o from the curve's own GPUs (A100 SXM: 312 TFLOP/s over
    # 108 SMs × 1,410 MHz = 2,049 FLOP per SM-cycle, MAMF share 86.9 %)
    ampere = pick_curve(catalog.train_curves, "ampere")
    assert ampere is not None and ampere.sm_rate == tensor_rate(catalog.gpus["A100-80GB-SXM"]) == 2049.0
    assert ampere.ceiling_share == ceiling_share(catalog.gpus["A100-80GB-SXM"], "bf16")
    assert chip_factor(ampere, catalog.gpus["A100-80GB-SXM"], "bf16") == 1.0  # the fitted chip reads its curve
    assert tensor_rate(catalog.gpus["RTX-A6000"]) == pytest.approx(154.8e12 / (84 * 1800e6), rel=1e-3)
    a6000, rtx3090 = (chip_factor(ampere, catalog.gpus[g], "bf16") for g in ("RTX-A6000", "RTX-3090"))
    overhead = (1 / ampere.peak_efficiency - 1 / ampere.ceiling_share) / ampere.sm_rate
    share = ceiling_share(catalog.gpus["RTX-A6000"], "bf16")
    assert share is not None
    assert a6000 * ampere.peak_efficiency == pytest.approx(1 / (1 / share + overhead * 1024.0), rel=1e-3)
    # fewer tensor FLOP per SM-cycle: a larger share of the (smaller) peak, never above the chip's best matmul
    assert 1.0 < a6000 < rtx3090 and rtx3090 * ampere.peak_efficiency < share
    assert chip_factor(ampere, catalog.gpus["RTX-A6000"], "fp32") == 1.0  # CUDA cores: not carried
    pooled = pick_curve(catalog.train_curves, "cdna3")
    assert pooled is not None and chip_factor(pooled, catalog.gpus["MI300X"], "bf16") == 1.0  # ceiling_factor's job
    work = workload_for(resolve_architecture(ModelSection(preset="llama-3-8b"), catalog))
    curve = TrainCurve(ampere)
    big = curve.efficiency(work, catalog.gpus["RTX-A6000"], "bf16", micro_batch=None)
    assert big < a6000 * ampere.peak_efficiency  # the memory terms are not scaled
    detail = curve_efficiency(catalog, catalog.gpus["RTX-A6000"]).detail
    # the factor is the fitted peak's (× 1.09 at ampere's 0.676, × 1.05 at 0.732), computed above
    assert (f"× {a6000:.2f} carried to the RTX-A6000's chip (1,024 tensor FLOP per SM-cycle, matmul ceiling 84.0% "
            "transferred") in detail


def test_no_training_plan_runs_past_its_gpus_matmul_ceiling(catalog, tmp_path):
    # new-user QA: pretrain-1b-72h with training.framework megatron planned RTX A4000s at efficiency 1.0 (93 % MFU,
    # P10 hours equal to P50), the Megatron factor on a curve near its peak, beside the GPU's 84.0 % matmul ceiling
    import planner
    from planner.efficiency.train_curve import efficiency_cap

    path = tmp_path / "p.yaml"
    path.write_text((ROOT / "profiles" / "pretrain-1b-72h.yaml").read_text(encoding="utf-8")
                    + "  framework: megatron\nconstraints: {gpus: [RTX-A4000, RTX-A5000, H100-SXM]}\n",
                    encoding="utf-8")
    est = planner.plan(planner.load_profile(path, catalog), catalog).estimate
    capped = 0
    for plan in est.training.plans:
        if not plan.predicted:
            continue
        cap = efficiency_cap(catalog.gpus[plan.gpu], "bf16")
        assert plan.efficiency.value <= cap * (1 + 1e-12), (plan.gpu, plan.efficiency.value, cap)
        assert plan.mfu <= cap * (1 + 1e-12)
        if plan.efficiency.value == cap:  # at the ceiling: no faster end to its interval
            capped += 1
            assert plan.hours_p10 == pytest.approx(plan.hours_p50, rel=1e-9)
    assert capped  # the QA case: plans that the factor takes to the ceiling
