"""Prefix caching, chunked prefill and speculative decoding: worked by hand, and off by default."""
import dataclasses

import pytest

from planner.catalog.load import load_catalog
from planner.efficiency.origin import Efficiency
from planner.io.profile import resolve_architecture
from planner.model.serving_features import (
    cached_prefill_seconds,
    chunked_prefill_seconds,
    expected_tokens_per_round,
    verify_step_seconds,
)
from planner.model.workload import prefill_flops, workload_for
from planner.plans.serving import ServingEfficiency, llm_latency, llm_timing
from planner.schema.model import ModelSection
from planner.schema.profile import Inference

CATALOG = load_catalog()
WORK = workload_for(resolve_architecture(ModelSection(preset="llama-3.1-8b"), CATALOG))
GPU = CATALOG.gpus["H100-SXM"]
EFF = ServingEfficiency(Efficiency(0.5, 0.0, "prior", "test"), Efficiency(0.8, 0.0, "prior", "test"))
BASE = Inference(rate=1.0, prompt_tokens=2000, output_tokens=200)


def test_expected_tokens_per_round():
    # Leviathan et al. 2023 eq. 1: (1 − α^(k+1)) / (1 − α); α = 0.5, k = 3: (1 − 1/16) / 0.5 = 1.875
    assert expected_tokens_per_round(3, 0.5) == pytest.approx(1.875)


def test_prefix_cache_skips_the_cached_prefix_work():
    flops, bw = 1e15, 3e12
    full = cached_prefill_seconds(WORK, 2000, 0, "bf16", flops, bw, 0.0)
    half = cached_prefill_seconds(WORK, 2000, 1000, "bf16", flops, bw, 0.0)
    assert full == pytest.approx(prefill_flops(WORK, 2000) / flops)  # compute-bound at 2000 tokens
    # the new 1000 tokens attend over all 2000: prefill(2000) − prefill(1000), more than half of the work's matmuls
    assert half == pytest.approx((prefill_flops(WORK, 2000) - prefill_flops(WORK, 1000)) / flops)
    assert full / 2 < half < full


def test_features_are_off_by_default_and_change_the_plan_when_on():
    plain = llm_timing(WORK, BASE, GPU, 1, 16, 450.0, "nvlink", EFF)
    cached = llm_timing(WORK, BASE.model_copy(update={"prefix_cache_hit_rate": 0.5}), GPU, 1, 16, 450.0, "nvlink",
                        EFF)
    assert plain is not None and cached is not None and plain.prefill_cut_s is None
    assert cached.prefill_s < plain.prefill_s and cached.hold_s < plain.hold_s


def test_chunked_prefill_costs_the_batch_less_than_a_whole_prefill():
    inf = BASE.model_copy(update={"chunked_prefill": 512})
    plain = llm_timing(WORK, BASE, GPU, 1, 16, 450.0, "nvlink", EFF)
    chunked = llm_timing(WORK, inf, GPU, 1, 16, 450.0, "nvlink", EFF)
    assert plain is not None and chunked is not None
    # 2000 tokens in chunks of 512 − 16 = 496: 5 fused steps; each costs the batch only its excess over a step
    ttft, cut = chunked_prefill_seconds(WORK, 2000, 0, 512, 16, 2100, "bf16", "bf16", 0.5 * 989e12,
                                        0.8 * 3350e9)
    assert (chunked.prefill_s, chunked.cut_s) == pytest.approx((ttft, cut))
    assert chunked.cut_s < plain.prefill_s
    assert llm_latency(inf, chunked, 4, 1.0)["tpot_p95"] <= llm_latency(BASE, plain, 4, 1.0)["tpot_p95"]


def test_speculative_decoding_divides_the_round_by_the_tokens_it_yields():
    draft = workload_for(resolve_architecture(ModelSection(preset="llama-3.2-1b"), CATALOG))
    work = dataclasses.replace(WORK, draft=draft)
    inf = Inference(rate=1.0, prompt_tokens=2000, output_tokens=200,
                    speculative={"draft": "llama-3.2-1b", "tokens": 4, "acceptance": 0.8})
    plain = llm_timing(WORK, BASE, GPU, 1, 1, 450.0, "nvlink", EFF)
    spec = llm_timing(work, inf, GPU, 1, 1, 450.0, "nvlink", EFF)
    assert plain is not None and spec is not None
    flops, bw = 989e12 * 0.5, 3350e9 * 0.8
    draft_step = llm_timing(draft, BASE, GPU, 1, 1, 450.0, "nvlink", EFF)
    assert draft_step is not None
    verify = verify_step_seconds(WORK, 1, 4, 2100, "bf16", "bf16", flops, bw, 0.0)
    assert spec.step_s == pytest.approx((4 * draft_step.step_s + verify) / expected_tokens_per_round(4, 0.8))
    assert spec.step_s < plain.step_s  # batch 1 is bandwidth-bound: verifying 5 tokens costs about one step
