"""Bandwidth ceilings (planner/catalog/bandwidth_ceiling.py): measured copy bandwidths from the catalog, transfers for the
other GPUs, and no GPU at its datasheet bandwidth."""
from __future__ import annotations

import statistics

import pytest
from pydantic import ValidationError

from planner.catalog.bandwidth_ceiling import with_bandwidth_ceilings
from planner.schema.catalog import BandwidthCeiling


def test_measured_ceilings_are_the_published_copy_bandwidths(catalog):
    # BabelStream Copy, Azure AI benchmarking guide (TB/s) and xytpai/nvbench's copy kernel (GB/s), over the datasheet
    for gid, copy_gbs in (("A100-80GB-SXM", 1610), ("H100-SXM", 2900), ("H200-SXM", 4010), ("MI300X", 4110),
                          ("RTX-4090", 921.85)):
        gpu = catalog.gpus[gid]
        assert gpu.bandwidth_ceiling is not None and gpu.bandwidth_ceiling.measured
        assert gpu.bandwidth_ceiling.share == pytest.approx(copy_gbs / gpu.memory_bandwidth_gbs, abs=1e-4)


def test_unmeasured_gpus_take_their_architecture_then_their_vendor(catalog):
    measured = [g for g in catalog.gpus.values() if g.bandwidth_ceiling and g.bandwidth_ceiling.measured]
    hopper = [g.bandwidth_ceiling.share for g in measured if g.arch == "hopper" and g.bandwidth_ceiling]
    nvidia = [g.bandwidth_ceiling.share for g in measured if g.vendor == "NVIDIA" and g.bandwidth_ceiling]
    pcie, b200 = catalog.gpus["H100-PCIE"].bandwidth_ceiling, catalog.gpus["B200"].bandwidth_ceiling
    assert pcie is not None and not pcie.measured and "hopper" in pcie.source
    assert pcie.share == pytest.approx(statistics.median(hopper), abs=1e-4)
    assert b200 is not None and not b200.measured and "no blackwell measurement" in b200.source
    assert b200.share == pytest.approx(statistics.median(nvidia), abs=1e-4)


def test_no_gpu_reaches_its_datasheet_bandwidth(catalog):
    # every GPU has a ceiling below 1: the measured ones by the schema, the transferred ones as medians of those
    assert all(g.bandwidth_ceiling is not None and 0 < g.bandwidth_ceiling.share < 1 for g in catalog.gpus.values())
    with pytest.raises(ValidationError):
        BandwidthCeiling(share=1.0, source="a copy kernel at the datasheet rate")


def test_a_catalog_without_measurements_keeps_none(catalog):
    bare = {gid: g.model_copy(update={"bandwidth_ceiling": None}) for gid, g in list(catalog.gpus.items())[:3]}
    assert all(g.bandwidth_ceiling is None for g in with_bandwidth_ceilings(bare).values())
