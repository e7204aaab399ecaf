"""The decode prior as a share of the GPU's copy bandwidth (planner/model/decode_ceiling.py)."""
from __future__ import annotations

import pytest

from planner.efficiency.origin import prior_efficiency
from planner.model.decode_ceiling import copy_bytes_per_s, share_of_peak
from planner.model.inference_time import decode_step_seconds
from planner.model.precision import peak_flops
from planner.model.workload import workload_for
from planner.project.load import resolve_architecture
from planner.schema.profile import ModelSection


def test_the_prior_is_read_as_a_share_of_the_copy_bandwidth(catalog) -> None:
    a100, h200 = catalog.gpu("A100-80GB-SXM"), catalog.gpu("H200-SXM")
    assert copy_bytes_per_s(a100) == pytest.approx(1610e9, rel=1e-3)  # BabelStream Copy (catalog/gpus.yaml)
    assert share_of_peak(a100, 0.9) == pytest.approx(0.9 * 1610 / 2039, rel=1e-3)
    # a read-mostly step may outrun a copy kernel (which writes as much as it reads), never the datasheet
    assert share_of_peak(h200, 1.1) == pytest.approx(1.1 * 4010 / 4800, rel=1e-3)
    assert share_of_peak(h200, 2.0) == 1.0
    bare = a100.model_copy(update={"bandwidth_ceiling": None})
    assert share_of_peak(bare, 0.9) is None


def test_no_gpu_decodes_at_its_datasheet_bandwidth(catalog) -> None:
    # was: a share of one sector per SM-clock capped at the peak, so an MI300X, an RTX A4000/A5000 and every GDDR
    # card decoded at 100 % of the datasheet bandwidth
    for gpu in catalog.gpus.values():
        share = prior_efficiency(catalog, gpu, "decode", "decoder").value
        assert 0 < share < 1, gpu.id
    bare = catalog.gpu("A100-80GB-SXM").model_copy(update={"bandwidth_ceiling": None})
    eff = prior_efficiency(catalog, bare, "decode", "decoder")
    assert eff.value <= 1.0 and "no copy bandwidth" in eff.detail


def test_more_bandwidth_decodes_faster_when_reads_dominate(catalog) -> None:
    """New-user QA: a memory-bound decode step (llama-2-7b, batch 16) took 7.59 ms on an H100 and on an H200 alike
    (the per-SM rule gave the H200 52 % of its 4.8 TB/s and the H100 74 % of its 3.35), and 6.82 ms on a B200 (35 % of
    8 TB/s). On the copy bandwidth the H200 is faster than the H100, and the B200 faster still."""
    arch = resolve_architecture(ModelSection(preset="llama-2-7b"), catalog, "test")
    work = workload_for(arch)

    def step(gid: str) -> float:
        gpu = catalog.gpu(gid)
        share = prior_efficiency(catalog, gpu, "decode", "decoder").value
        flops = peak_flops(gpu, "bf16")
        assert flops is not None
        return decode_step_seconds(work, 16, 640, "bf16", "bf16", flops * 0.5, gpu.memory_bandwidth_gbs * 1e9 * share)

    assert step("B200") < step("H200-SXM") < step("H100-SXM")
    h100, h200 = (prior_efficiency(catalog, catalog.gpu(g), "decode", "decoder") for g in ("H100-SXM", "H200-SXM"))
    # one hopper prior: the two differ by their measured copy bandwidths (4.01 and 2.90 TB/s)
    assert step("H100-SXM") / step("H200-SXM") == pytest.approx(4010 / 2900, rel=0.01)
    assert "copy bandwidth" in h100.detail and "measured" in h200.detail
