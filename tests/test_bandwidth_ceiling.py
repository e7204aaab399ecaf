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


def test_unmeasured_gpus_take_their_memory_technology_first(catalog):
    measured = [g for g in catalog.gpus.values() if g.bandwidth_ceiling and g.bandwidth_ceiling.measured]

    def shares(keep) -> list[float]:
        return [g.bandwidth_ceiling.share for g in measured if keep(g) and g.bandwidth_ceiling]

    pcie, b200 = catalog.gpus["H100-PCIE"].bandwidth_ceiling, catalog.gpus["B200"].bandwidth_ceiling
    # HBM Hopper: the measured HBM Hopper GPUs (H100 SXM, H200)
    assert pcie is not None and not pcie.measured and "hopper HBM" in pcie.source
    assert pcie.share == pytest.approx(statistics.median(shares(lambda g: g.arch == "hopper")), abs=1e-4)
    # no Blackwell measurement: NVIDIA's HBM GPUs, not the GDDR RTX 4090
    assert b200 is not None and not b200.measured and "NVIDIA HBM" in b200.source
    nvidia_hbm = shares(lambda g: g.vendor == "NVIDIA" and g.memory_type == "HBM")
    assert len(nvidia_hbm) == 4 and b200.share == pytest.approx(statistics.median(nvidia_hbm), abs=1e-4)
    # the SXM2 V100s take the measured V100 PCIe's (same HBM2 stacks, 900 GB/s), not the newer HBM GPUs' median
    v100 = catalog.gpus["V100-16GB-PCIE"].bandwidth_ceiling
    assert v100 is not None and v100.measured
    for gid in ("V100-16GB-SXM2", "V100-32GB-SXM2"):
        sxm2 = catalog.gpus[gid].bandwidth_ceiling
        assert sxm2 is not None and "volta HBM" in sxm2.source and sxm2.share == v100.share
    # a GDDR Ampere card takes the measured GDDR card's share (RTX 4090, 91.5 %), not the A100's HBM2e 79 %: llama.cpp's
    # never-fitted decode rows on an RTX 3090 and an RTX A6000 were 8-16 % too slow on the A100's (docs/accuracy.md)
    for gid in ("RTX-3090", "RTX-A6000", "L4", "T4"):
        gddr = catalog.gpus[gid].bandwidth_ceiling
        assert gddr is not None and "GDDR" in gddr.source
        assert gddr.share == pytest.approx(catalog.gpus["RTX-4090"].bandwidth_ceiling.share, abs=1e-4)
    a100_40 = catalog.gpus["A100-40GB-SXM"].bandwidth_ceiling
    assert a100_40 is not None and a100_40.share == catalog.gpus["A100-80GB-SXM"].bandwidth_ceiling.share


def test_without_a_memory_type_the_architecture_then_the_vendor(catalog):
    gpus = {gid: g.model_copy(update={"memory_type": None}) if gid in ("H100-PCIE", "B200") else g
            for gid, g in catalog.gpus.items()}
    gpus = {gid: g if g.bandwidth_ceiling is None or g.bandwidth_ceiling.measured else
            g.model_copy(update={"bandwidth_ceiling": None}) for gid, g in gpus.items()}
    out = with_bandwidth_ceilings(gpus)
    assert "median of the 2 measured hopper GPU(s)" in out["H100-PCIE"].bandwidth_ceiling.source
    assert "no blackwell measurement" in out["B200"].bandwidth_ceiling.source


def test_no_gpu_reaches_its_datasheet_bandwidth(catalog):
    # every GPU has a ceiling below 1: the measured ones by the schema, the transferred ones as medians of those
    assert all(g.bandwidth_ceiling is not None and 0 < g.bandwidth_ceiling.share < 1 for g in catalog.gpus.values())
    with pytest.raises(ValidationError):
        BandwidthCeiling(share=1.0, source="a copy kernel at the datasheet rate")


def test_a_catalog_without_measurements_keeps_none(catalog):
    bare = {gid: g.model_copy(update={"bandwidth_ceiling": None}) for gid, g in list(catalog.gpus.items())[:3]}
    assert all(g.bandwidth_ceiling is None for g in with_bandwidth_ceilings(bare).values())
