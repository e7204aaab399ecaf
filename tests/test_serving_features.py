"""Prefix caching, chunked prefill and speculative decoding: worked by hand, and off by default."""
import dataclasses

import pytest

from planner.catalog.load import load_catalog
from planner.efficiency.origin import Efficiency
from planner.model.serving_features import (
    cached_prefill_seconds,
    chunked_prefill_seconds,
    expected_tokens_per_round,
    verify_step_seconds,
)
from planner.model.workload import prefill_flops, workload_for
from planner.plans.serving import ServingEfficiency, llm_latency, llm_timing
from planner.project.load import resolve_architecture
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


def test_simulation_honours_chunked_prefill():
    """`--simulate` runs the system the analytic model plans (issue 14): with chunked prefill each prompt started on
    a replica costs the running decodes only the fused steps' excess (cut_s), not a whole prefill, and a slot is held
    prefill + (batch − 1)·cut + output·step. 16k-token prompts, 2 replicas of batch 16 on H100, 1.5 requests/s: the
    simulated TPOT p95 agrees with the analytic one within 10 % (as for plain continuous batching, test_serving.py)
    and holds a 45 ms target that the same replicas miss without chunking."""
    from planner.model.serving_features import slot_hold_seconds
    from planner.model.simulation import simulate_llm

    long = BASE.model_copy(update={"prompt_tokens": 16000, "output_tokens": 256, "rate": 1.5})
    chunked_inf = long.model_copy(update={"chunked_prefill": 2048})
    plain = llm_timing(WORK, long, GPU, 1, 16, 450.0, "nvlink", EFF)
    chunked = llm_timing(WORK, chunked_inf, GPU, 1, 16, 450.0, "nvlink", EFF)
    assert plain is not None and chunked is not None and chunked.prefill_cut_s is not None
    assert chunked.hold_s == pytest.approx(chunked.prefill_s + 15 * chunked.cut_s + 256 * chunked.step_s)
    assert plain.hold_s == slot_hold_seconds(16, plain.prefill_s, None, 256, plain.step_s) \
        == pytest.approx(16 * plain.prefill_s + 256 * plain.step_s)
    sims = {}
    for name, inf, t in (("plain", long, plain), ("chunked", chunked_inf, chunked)):
        sim = simulate_llm(1.5, 2, 16, t.prefill_s, t.step_s, 256, requests=200_000, seed=1, cut_s=t.prefill_cut_s)
        assert sim.utilization == pytest.approx(1.5 * t.hold_s / 32, rel=0.03)  # the same slot cycle as planned
        analytic = llm_latency(inf, t, 2, 1.5)
        for key in ("ttft_p95", "tpot_p95"):
            assert analytic[key] == pytest.approx(sim.latency_s[key], rel=0.10), (name, key)
        sims[name] = sim.latency_s["tpot_p95"]
    assert sims["chunked"] <= 0.045 < sims["plain"]


def test_simulated_plan_with_chunked_prefill_keeps_its_tpot(catalog):
    """Through `plan(..., simulate=True)`: the chosen plan's simulated TPOT p95 is within 10 % of its analytic one and
    under the target."""
    import planner

    profile = planner.load_profile({"name": "long", "model": {"preset": "llama-3.1-8b"},
                                    "inference": {"rate": "2/s", "prompt_tokens": 16000, "output_tokens": 256,
                                                  "chunked_prefill": 2048,
                                                  "slo": {"ttft_p95": "5s", "tpot_p95": "60ms"}},
                                    "constraints": {"gpus": ["H100-SXM"]}}, catalog)
    doc = planner.plan(profile, catalog, simulate=True).to_dict()
    plan = doc["inference"]["plans"][doc["inference"]["recommended"]]
    simulated, analytic = plan["simulated_latency_ms"], plan["latency_ms"]
    assert plan["meets_slo"] and simulated["tpot_p95"] <= 60.0
    assert simulated["tpot_p95"] == pytest.approx(analytic["tpot_p95"], rel=0.10)


def test_a_draft_no_smaller_than_the_served_model_is_refused():
    # new-user QA: serve-7b-chat with `speculative: {draft: llama-2-70b}` was planned (on 2×4 H100, the 70B draft's
    # weights beside the 7B's): a draft is only worth its forward passes when it is cheaper than the model it drafts for
    import planner
    from planner.errors import PlannerError

    serve = {"name": "s", "model": {"preset": "llama-2-7b"},
             "inference": {"rate": "5/s", "prompt_tokens": 512, "output_tokens": 128,
                           "slo": {"ttft_p95": "1s", "tpot_p95": "60ms"}}}
    for draft in ("llama-2-70b", "llama-2-7b"):
        with pytest.raises(PlannerError, match=r"inference\.speculative\.draft: the draft .* is not smaller than the "
                                               r"served model \(6\.74B\)"):
            planner.load_profile({**serve, "inference": {**serve["inference"], "speculative": {
                "draft": draft, "tokens": 4, "acceptance": 0.7}}}, CATALOG)
    planner.load_profile({**serve, "inference": {**serve["inference"], "speculative": {
        "draft": "tinyllama-1.1b", "tokens": 4, "acceptance": 0.7}}}, CATALOG)
