"""The decode prior as a share of what the SMs issue (planner/model/decode_ceiling.py)."""
from __future__ import annotations

import pytest

from planner.catalog.load import BUNDLED_CATALOG
from planner.efficiency.origin import prior_efficiency
from planner.efficiency.prior_fit import implied_efficiency
from planner.io.loading import load_model_file
from planner.model.decode_ceiling import SECTOR_BYTES, issue_bytes_per_s, share_of_peak
from planner.schema.runs import PublishedRunsFile


def test_issue_rate_is_sms_times_clock_times_a_sector(catalog) -> None:
    a100 = catalog.gpu("A100-80GB-SXM")
    assert issue_bytes_per_s(a100) == pytest.approx(108 * 1410e6 * SECTOR_BYTES)
    # the same share of the issue rate is a smaller share of the peak where DRAM per SM-cycle is larger
    h200 = catalog.gpu("H200-SXM")
    assert share_of_peak(h200, 0.3) < share_of_peak(a100, 0.3) < 1.0  # type: ignore[operator]
    # a GDDR card whose SMs issue more than its memory delivers decodes at its DRAM peak, never above it
    assert share_of_peak(catalog.gpu("RTX-A5000"), 0.3) == 1.0
    unknown = a100.model_copy(update={"sms": None})
    assert issue_bytes_per_s(unknown) is None and share_of_peak(unknown, 0.3) is None


def test_fitted_decode_rows_agree_per_sm_cycle_not_per_peak(catalog) -> None:
    """gpt-fast on an A100 and vLLM on an H200 reach 72 % and 52 % of their DRAM peaks but the same bytes per
    SM-cycle: the transfer the decode prior rests on (docs/accuracy.md, serving-decode)."""
    runs = load_model_file(BUNDLED_CATALOG / "published_runs.yaml", PublishedRunsFile)[0].runs
    by_id = {r.id: r for r in runs}
    gptfast = implied_efficiency(by_id["gptfast-llama-2-7b-a100-bf16"], catalog)
    vllm = implied_efficiency(by_id["vllm-perfbench-llama-3.1-8b-h200-b8-latency"], catalog)
    assert gptfast is not None and vllm is not None
    assert abs(gptfast.efficiency / vllm.efficiency - 1) < 0.05
    shares = [share_of_peak(catalog.gpu(g), e.efficiency) for g, e in (("A100-80GB-SXM", gptfast),
                                                                       ("H200-SXM", vllm))]
    assert shares[0] == pytest.approx(0.72, abs=0.03) and shares[1] == pytest.approx(0.52, abs=0.03)


def test_plans_read_the_decode_prior_as_a_share_of_peak(catalog) -> None:
    a100 = prior_efficiency(catalog, catalog.gpu("A100-80GB-SXM"), "decode", "decoder")
    assert 0.6 < a100.value < 0.85 and "of a sector per SM-clock" in a100.detail
    gddr = prior_efficiency(catalog, catalog.gpu("RTX-A5000"), "decode", "decoder")
    assert gddr.value == 1.0 and "DRAM peak binds" in gddr.detail
    unknown = catalog.gpu("A100-80GB-SXM").model_copy(update={"boost_clock_mhz": None})
    bare = prior_efficiency(catalog, unknown, "decode", "decoder")
    assert bare.value == 1.0 and "no SM count or clock" in bare.detail
