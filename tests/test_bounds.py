"""Impossible inputs named before the search (planner/plans/bounds.py): the roofline bounds are computed, and no plan
the search finds ever beats them."""
from __future__ import annotations

import pytest

from planner.errors import InputError
from planner.model.precision import peak_flops
from planner.model.workload import decode_flops, prefill_flops, workload_for
from planner.plans.bounds import check_serving, fastest_training, human_time
from planner.plans.search import candidate_counts, estimate
from planner.plans.serving import MAX_REPLICAS, TENSOR_PARALLEL
from planner.plans.training import training_job
from planner.project.load import load_profile

TRAIN = """\
name: bound
model: {preset: pythia-1b}
training:
  dataset: {tokens: 20B}
  batch: {global_tokens: 2M}
  precision: bf16
  deadline: DEADLINE
constraints: {gpus: [H100-SXM, A100-80GB-SXM], max_gpus: 256}
"""
SERVE = """\
name: bound
model: {preset: llama-2-7b}
inference:
  rate: RATE
  prompt_tokens: 2048
  output_tokens: 64
  slo: {ttft_p95: TTFT, tpot_p95: 1s}
constraints: {gpus: [L40S, H100-SXM]}
"""


def _load(write, text, catalog):
    return load_profile(write("p.yaml", text), catalog)


def _training_floor(catalog, loaded) -> float:
    """FLOP ÷ (most GPUs searched × dense bf16 peak), the fastest over the allowed offers, worked out here."""
    job = training_job(workload_for(loaded.arch), loaded.profile.training)
    offers = catalog.offers(set(loaded.gpu_ids))
    return min(job.model_flops / (max(candidate_counts(o, 256, None)) * peak_flops(catalog.gpus[o.offer.gpu], "bf16"))
               for o in offers)


def test_deadline_below_the_roofline_is_named_with_the_computed_time(write, catalog):
    floor = _training_floor(catalog, _load(write, TRAIN.replace("DEADLINE", "72h"), catalog))
    loaded = _load(write, TRAIN.replace("DEADLINE", f"{floor * 0.99:.6f}s"), catalog)
    with pytest.raises(InputError) as info:
        estimate(loaded, catalog)
    job = training_job(workload_for(loaded.arch), loaded.profile.training)
    fastest = fastest_training(job, catalog.offers(set(loaded.gpu_ids)), catalog,
                               lambda o: candidate_counts(o, 256, None))
    assert fastest.seconds == pytest.approx(floor, rel=1e-12)
    assert (fastest.gpu, fastest.count) == ("H100-SXM", 256)  # 256 of the faster GPU, 989 vs 312 TFLOP/s bf16
    error = info.value
    assert error.field == "training.deadline" and error.line == 7
    assert "even 256 H100-SXM at their dense bf16 peak (989 TFLOP/s each" in error.message
    assert f"need {human_time(floor)} for {job.model_flops:.3g} FLOP." in error.message


def test_a_deadline_just_above_the_roofline_is_planned_and_no_plan_beats_it(write, catalog):
    floor = _training_floor(catalog, _load(write, TRAIN.replace("DEADLINE", "72h"), catalog))
    result = estimate(_load(write, TRAIN.replace("DEADLINE", f"{floor * 1.01:.6f}s"), catalog), catalog)
    assert result.training.plans
    assert all(p.hours_p10 * 3600.0 >= floor for p in result.training.plans)
    assert not result.feasible  # nobody runs at 100 % of peak


def test_ttft_below_one_prefill_at_peak_is_named(write, catalog):
    loaded = _load(write, SERVE.replace("RATE", "2/s").replace("TTFT", "1ms"), catalog)
    with pytest.raises(InputError) as info:
        estimate(loaded, catalog)
    work = workload_for(loaded.arch)
    h100 = catalog.gpus["H100-SXM"]
    floor = max(prefill_flops(work, 2048) / (8 * h100.peak_tflops.bf16 * 1e12),
                work.params * 2 / (8 * h100.memory_bandwidth_gbs * 1e9))
    assert info.value.field == "inference.slo.ttft_p95"
    assert f"even 8 H100-SXM at their dense bf16 peak and full memory bandwidth need {human_time(floor)} to " \
           "prefill a 2048-token prompt." in info.value.message


def test_no_serving_plan_beats_the_prefill_floor(write, catalog):
    loaded = _load(write, SERVE.replace("RATE", "2/s").replace("TTFT", "10s"), catalog)
    work = workload_for(loaded.arch)
    result = estimate(loaded, catalog)
    for p in result.inference.plans:
        if p.latency_s:
            gpu = catalog.gpus[p.gpu]
            floor = prefill_flops(work, 2048) / (p.gpus_per_replica * gpu.peak_tflops.bf16 * 1e12)
            assert p.latency_s["ttft_p95"] >= floor


def test_rate_beyond_the_search_is_named(write, catalog):
    loaded = _load(write, SERVE.replace("RATE", "20/s").replace("TTFT", "10s"), catalog)
    work = workload_for(loaded.arch)
    per_request = prefill_flops(work, 2048) + 64 * decode_flops(work, 2048)
    h100 = catalog.gpus["H100-SXM"].peak_tflops.bf16 * 1e12  # the faster of the two GPUs allowed
    crossing = MAX_REPLICAS * max(TENSOR_PARALLEL) * h100 / per_request  # rate where even peak needs the limit

    def check(rate: float) -> None:
        profile = _load(write, SERVE.replace("RATE", f"{rate:.6g}").replace("TTFT", "10s"), catalog)
        check_serving(work, profile.profile.inference, catalog.offers(set(profile.gpu_ids)), catalog, profile.positions)

    check(crossing * 0.99)
    with pytest.raises(InputError) as info:
        check(crossing * 1.01)
    assert info.value.field == "inference.rate"
    assert "dense bf16 peak of H100-SXM (989 TFLOP/s); the search stops at 100,000 replicas of up to 8 GPUs" \
        in info.value.message


@pytest.mark.parametrize("seconds, text", [
    (0.00038, "0.38 ms"), (0.5, "500 ms"), (30.9, "30.9 s"), (600, "10 min"), (72 * 3600, "72 h"),
    (31 * 3600 + 1, "31 h"), (4.29e17 * 3600, "4.29e+17 h")])
def test_human_time(seconds, text):
    assert human_time(seconds) == text
