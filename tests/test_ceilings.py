"""Matmul ceilings (planner/catalog/ceilings.py): measured shares from the catalog, transfers for the other GPUs, and
the pooled training curve scaled by them for architectures without runs."""
from __future__ import annotations

import statistics

import pytest

from planner.catalog.ceilings import ceiling_share
from planner.efficiency.train_curve import (
    TrainCurve,
    ceiling_factor,
    curve_efficiency,
    pick_curve,
)
from planner.io.profile import resolve_architecture
from planner.model.workload import workload_for
from planner.schema.profile import ModelSection


def test_measured_ceilings_are_the_table_shares(catalog):
    # MAMF / the table's theoretical peak (stas00/ml-engineering @744d01e): 271.2/312, 668.4/1300, 1402.6/1979
    assert ceiling_share(catalog.gpus["A100-80GB-SXM"], "bf16") == pytest.approx(271.2 / 312, abs=1e-4)
    assert ceiling_share(catalog.gpus["MI300X"], "fp16") == pytest.approx(668.4 / 1300, abs=1e-4)
    assert ceiling_share(catalog.gpus["H100-SXM"], "fp8") == pytest.approx(1402.6 / 1979, abs=1e-4)
    assert ceiling_share(catalog.gpus["H100-SXM"], "fp32") is None  # CUDA cores: no matmul ceiling
    assert all(g.matmul_ceiling is not None and g.matmul_ceiling.measured
               for g in (catalog.gpus[i] for i in ("A100-40GB-PCIE", "B200", "GB200", "MI355X")))


def test_unmeasured_gpus_take_their_architecture_then_their_vendor(catalog):
    measured = [g for g in catalog.gpus.values() if g.matmul_ceiling and g.matmul_ceiling.measured]
    hopper = [g.matmul_ceiling.bf16 for g in measured if g.arch == "hopper" and g.matmul_ceiling]
    hopper8 = [g.matmul_ceiling.fp8 for g in measured if g.arch == "hopper" and g.matmul_ceiling and g.matmul_ceiling.fp8]
    amd = [g.matmul_ceiling.bf16 for g in measured if g.vendor == "AMD" and g.matmul_ceiling]
    pcie = catalog.gpus["H100-PCIE"].matmul_ceiling
    assert pcie is not None and not pcie.measured and "hopper" in pcie.source
    assert pcie.bf16 == pytest.approx(statistics.median(hopper), abs=1e-4)
    assert pcie.fp8 == pytest.approx(statistics.median(hopper8), abs=1e-4)
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
