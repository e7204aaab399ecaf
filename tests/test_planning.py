"""Physical invariants of the training and serving models, and queueing closed forms."""
import dataclasses
import math
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.catalog.load import PricedOffer
from planner.efficiency.origin import Efficiency
from planner.model.costing import billed_hours, run_cost_usd, run_cost_usd_each, run_costs_usd
from planner.model.queueing import erlang_c, wait_quantile
from planner.model.startup import startup_seconds
from planner.model.workload import workload_for
from planner.plans.serving import ServingEfficiency, plan_llm_serving
from planner.plans.training import TrainingJob, plan_training, training_memory
from planner.schema.catalog import Offer
from planner.schema.model import Architecture
from planner.schema.profile import Inference

ROOT = Path(__file__).resolve().parent.parent

PYTHIA_1B = dict(name="p1b", family="decoder", layers=16, hidden=2048, heads=8, ffn_hidden=8192, vocab=50304,
                 seq_len=2048, activation="gelu")
LLAMA2_7B = dict(name="l7", family="decoder", layers=32, hidden=4096, heads=32, ffn_hidden=11008, vocab=32000,
                 seq_len=4096, activation="swiglu", norm="rmsnorm", tied_embeddings=False)
EFF = Efficiency(0.4, 0.3, "prior", "test")


def offer(gpus=8, network=3200.0, price=20.0, billing=3600.0, intra="nvlink", spot=None):
    o = Offer(instance="x", gpu="A100-80GB-SXM", gpus_per_instance=gpus, usd_per_hour=price, intra_node=intra,
              network_gbps=network, spot_usd_per_hour=spot)
    import datetime as dt
    return PricedOffer("test", o, billing, dt.date(2026, 11, 1))


def job(arch=PYTHIA_1B, tokens=20e9, batch_tokens=2**21):
    work = workload_for(Architecture(**arch))
    return TrainingJob(work, tokens / work.tokens_per_sample, batch_tokens / work.tokens_per_sample, None, "bf16",
                       "adamw", "full", 16, "auto")


def test_more_tokens_more_hours(catalog):
    gpu = catalog.gpus["A100-80GB-SXM"]
    small = plan_training(job(tokens=10e9), gpu, offer(), 8, EFF)
    large = plan_training(job(tokens=20e9), gpu, offer(), 8, EFF)
    # twice the steps after the same start-up (model/startup.py)
    assert large.startup_s == small.startup_s == startup_seconds(8, True) > 100
    startup = small.startup_s / 3600
    assert large.hours_p50 - startup == pytest.approx(2 * (small.hours_p50 - startup), rel=1e-9)


@pytest.mark.parametrize("network", [3200.0, 100.0])
def test_more_gpus_fewer_hours_but_never_below_the_roofline(catalog, network):
    gpu = catalog.gpus["A100-80GB-SXM"]
    j = job()
    peak = gpu.peak_tflops.bf16 * 1e12
    previous = math.inf
    for count in (8, 16, 32, 64, 128):
        plan = plan_training(j, gpu, offer(network=network), count, EFF)
        roofline_hours = j.model_flops / (count * peak) / 3600
        assert plan.hours_p10 >= roofline_hours
        assert plan.hours_p50 <= previous
        previous = plan.hours_p50


def test_slow_network_exposes_communication(catalog):
    gpu = catalog.gpus["A100-80GB-SXM"]
    fast = plan_training(job(), gpu, offer(network=3200.0), 64, EFF)
    slow = plan_training(job(), gpu, offer(network=10.0), 64, EFF)
    assert fast.exposed_comm_time_s < slow.exposed_comm_time_s
    assert slow.hours_p50 > fast.hours_p50


def test_cost_is_instances_times_price_times_billed_hours(catalog):
    gpu = catalog.gpus["A100-80GB-SXM"]
    plan = plan_training(job(), gpu, offer(gpus=8, price=20.0, billing=3600.0), 16, EFF)
    # 16 GPUs on 8-GPU instances = 2 instances, billed in whole hours
    assert plan.instances == 2
    assert plan.cost_usd_p50 == pytest.approx(2 * 20.0 * math.ceil(plan.hours_p50))
    assert billed_hours(1.01, 60.0) == pytest.approx(61 / 60)
    assert run_cost_usd(3, 2.5, 0.5, 1.0) == pytest.approx(3.75)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 4096), st.one_of(st.just(0.0), st.just(math.inf),
                                                         st.floats(1e-6, 1e6, allow_nan=False))), max_size=8),
       st.floats(0.01, 100.0), st.sampled_from([1.0, 60.0, 3600.0]), st.sampled_from([0.0, 8760.0]))
def test_the_batched_costs_are_run_cost_usd_bit_for_bit(pairs, price, billing, term):
    """run_cost_usd_each (a search's floor costs) and run_costs_usd (a plan's three costs) write run_cost_usd out:
    the same floats, inf where the hours are."""
    instances, hours = [n for n, _ in pairs], [h for _, h in pairs]
    each = run_cost_usd_each(instances, price, hours, billing, term)
    for n, h, cost in zip(instances, hours, each):
        assert cost == (math.inf if h == math.inf else run_cost_usd(n, price, h, billing, term))
        if h != math.inf:
            assert run_costs_usd(n, price, (h, h, h), billing, term) == (cost, cost, cost)


def test_spot_uses_the_spot_price(catalog):
    gpu = catalog.gpus["A100-80GB-SXM"]
    plan = plan_training(job(), gpu, offer(price=20.0, spot=8.0), 8, EFF, spot=True)
    assert plan.usd_per_hour == 8.0 and plan.spot


def test_a_gpu_that_cannot_hold_the_model_is_never_feasible(catalog):
    t4 = catalog.gpus["T4"]
    seventy = dict(LLAMA2_7B, layers=80, hidden=8192, heads=64, kv_heads=8, ffn_hidden=28672)
    plan = plan_training(job(seventy), t4, offer(gpus=1, network=None, intra="pcie"), 1, EFF)
    assert not plan.fits
    assert any("does not fit in memory" in r for r in plan.reasons)
    # the figure says on how many GPUs, sharded how, and reads with separators (new-user QA round 10: "160245.6 GB
    # needed per GPU at micro-batch 1" for a plan on one GPU, which read as the need at the count searched)
    (reason,) = [r for r in plan.reasons if "does not fit" in r]
    assert re.fullmatch(r"does not fit in memory \(1,\d{3}\.\d GB needed per GPU at micro-batch 1 on 1 GPU, 16 GB "
                        r"available\)", reason), reason
    plan = plan_training(job(seventy), t4, offer(gpus=8, network=None, intra="pcie"), 8, EFF)
    (reason,) = [r for r in plan.reasons if "does not fit" in r]
    assert "needed per GPU at micro-batch 1 on 8 GPUs sharded with ZeRO-3, 16 GB available" in reason, reason


def test_chosen_layout_fits_in_memory(catalog):
    gpu = catalog.gpus["A100-80GB-SXM"]
    j = job(LLAMA2_7B)
    plan = plan_training(j, gpu, offer(), 8, EFF)
    assert plan.fits and plan.sharding != "none"  # 7B × 16 B = 108 GB does not fit one 80 GB GPU unsharded
    assert plan.memory_per_gpu_bytes <= gpu.memory_gb * 1e9
    bigger = training_memory(j, plan.micro_batch * 2, plan.recompute, plan.sharding, 8)
    assert bigger.total > plan.memory_per_gpu_bytes


def test_no_network_means_one_instance(catalog):
    gpu = catalog.gpus["A100-80GB-SXM"]
    plan = plan_training(job(), gpu, offer(network=None), 16, EFF)
    assert any("single instance only" in r for r in plan.reasons)


@settings(max_examples=30, deadline=None)
@given(tokens=st.floats(1e8, 1e12), factor=st.floats(1.01, 10.0), count=st.sampled_from([8, 16, 64, 256]))
def test_hours_grow_with_data_property(catalog, tokens, factor, count):
    gpu = catalog.gpus["H100-SXM"]
    a = plan_training(job(tokens=tokens), gpu, offer(), count, EFF)
    b = plan_training(job(tokens=tokens * factor), gpu, offer(), count, EFF)
    assert b.hours_p50 > a.hours_p50
    assert a.hours_p10 <= a.hours_p50 <= a.hours_p90
    assert all(math.isfinite(v) for v in (a.hours_p90, a.cost_usd_p90, a.mfu))


# -------------------------------------------------------------------------------------------- queueing


def test_erlang_c_closed_forms():
    # M/M/1: P(wait) = ρ
    assert erlang_c(1, 0.7) == pytest.approx(0.7)
    # M/M/2 with a = 1: C = (a²/2!·1/(1−ρ)) / (1 + a + a²/2!·1/(1−ρ)) = 1 / 3
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)
    assert erlang_c(4, 4.0) == 1.0  # unstable
    assert 0.0 < erlang_c(5000, 4900.0) < 1.0  # stays finite for thousands of servers


def test_mm1_wait_quantile():
    # M/M/1, λ = 0.5, μ = 1: P(W > t) = ρ·e^{−(μ−λ)t} → t95 = ln(0.5/0.05)/0.5
    assert wait_quantile(1, 0.5, 1.0, 0.95) == pytest.approx(math.log(10) / 0.5)
    assert wait_quantile(1, 0.5, 1.0, 0.4) == 0.0  # 60 % of arrivals do not wait
    assert wait_quantile(1, 1.0, 1.0, 0.95) == math.inf


# -------------------------------------------------------------------------------------------- serving


def serving(catalog, rate=20.0, **slo):
    work = workload_for(Architecture(**LLAMA2_7B))
    inf = Inference(rate=rate, prompt_tokens=512, output_tokens=256, slo=slo or {"ttft_p95": 0.5, "tpot_p95": 0.05})
    eff = ServingEfficiency(Efficiency(0.3, 0.6, "prior", "t"), Efficiency(0.4, 0.8, "prior", "t"))
    return plan_llm_serving(work, inf, catalog.gpus["A100-80GB-SXM"], offer(gpus=1, network=None), eff)


def test_serving_plan_meets_its_targets(catalog):
    plan = serving(catalog)
    assert plan.meets_slo
    assert plan.latency_s["ttft_p95"] <= 0.5 and plan.latency_s["tpot_p95"] <= 0.05
    assert plan.utilization < 1.0


def test_more_traffic_needs_more_replicas(catalog):
    assert serving(catalog, rate=80.0).replicas > serving(catalog, rate=5.0).replicas


def test_impossible_tpot_is_reported(catalog):
    plan = serving(catalog, tpot_p95=0.0001)
    assert not plan.meets_slo and "misses tpot p95" in plan.reasons[0]


def test_decode_is_bandwidth_bound_at_batch_one(catalog):
    # at batch 1 a decode step reads all weights: step ≥ weights / (bandwidth · efficiency)
    plan = serving(catalog, rate=0.05, tpot_p95=10.0, ttft_p95=100.0)
    weights = 6.738e9 * 2
    assert plan.latency_s["tpot_p50"] >= weights / (2039e9 * 0.4) * 0.99


# ---------------------------------------------------------------------------------------------- recomputation

LLAMA2_7B_4K = Architecture(name="llama-2-7b", family="decoder", params=6738415616, layers=32, hidden=4096, heads=32,
                            ffn_hidden=11008, vocab=32000, seq_len=4096, activation="swiglu", norm="rmsnorm",
                            tied_embeddings=False)


@pytest.mark.parametrize("tp, sharding, dp", [(1, "none", 1), (1, "zero3", 8), (8, "zero1", 1)])
def test_recomputation_saves_memory_in_order(tp, sharding, dp):
    """Korthikanti et al. 2022: none ≥ selective ≥ full; selective drops (L − 1)/L of the 5·a·s² scores (the layer
    being rebuilt holds its own); a flash kernel keeps no scores, so selective = none there."""
    work = workload_for(LLAMA2_7B_4K)
    scores = 32 * 5 * 32 * 4096**2  # L · 5 · a · s², 16-bit bytes per sample
    assert work.attention_score_bytes_per_sample_16bit == scores
    for attention in ("standard", "flash"):
        job = TrainingJob(work, 1e6, None, 1, "bf16", "adamw", "full", 0, "auto", attention)
        none, selective, full = (training_memory(job, 1, mode, sharding, dp, tp).total
                                 for mode in ("none", "selective", "full"))
        assert none >= selective > full
        dropped = scores * 31 / 32 / tp if attention == "standard" else 0.0
        assert none - selective == pytest.approx(dropped, rel=1e-9)


def test_auto_recomputation_takes_selective_when_that_fits(catalog):
    # 7B at 4k, micro-batch 1, 8 × A100-80GB, ZeRO-3: 121 GB per GPU without recomputation with standard
    # attention, 38 GB with selective; flash keeps no scores (35 GB): none
    gpu = catalog.gpus["A100-80GB-SXM"]
    offer = next(o for o in catalog.offers({"A100-80GB-SXM"}) if o.offer.gpus_per_instance == 8)
    work = workload_for(LLAMA2_7B_4K)
    modes = {}
    for attention in ("standard", "flash"):
        job = TrainingJob(work, 1e9, None, 1, "bf16", "adamw", "full", 0, "auto", attention)
        plan = plan_training(job, gpu, offer, 8, Efficiency(0.4, 0.2, "prior", "test"))
        modes[attention] = plan.recompute_mode
    assert modes == {"standard": "selective", "flash": "none"}


@pytest.mark.parametrize(("data", "micro", "accumulation"), [(24, 1, 3), (48, 1, 2), (16, 4, 1), (8, 4, 2)])
def test_a_fixed_global_batch_yields_that_batch_and_pays_for_the_busiest_replica(data, micro, accumulation):
    """64 samples over 24 replicas: the busiest takes ceil(64/24) = 3 in 3 micro-batches; a step yields 64 samples,
    not the padded 72, and computes 3 samples' work per replica (planner/plans/training.py layout_work)."""
    from planner.plans.training import Layout, layout_work

    j = job(batch_tokens=64 * 2048)
    assert j.global_batch_samples == 64
    memory = training_memory(j, 1, "none", "none", 1, 1, 1, 1, micro)
    lw = layout_work(j, Layout(data, 1, 1, "none", "none", micro, memory))
    assert lw.samples_per_step == 64
    assert lw.accumulation == accumulation
    per_sample = layout_work(j, Layout(64, 1, 1, "none", "none", 1, memory)).micro_flops
    assert lw.micro_flops * lw.accumulation == pytest.approx(math.ceil(64 / data) * per_sample)


@pytest.mark.parametrize("method", ["lora", "qlora"])
def test_zero3_gathers_an_adapters_frozen_base(catalog, method):
    """ZeRO-3 shards an adapter's frozen base with its weights (training_memory), so every forward and backward pass
    all-gathers it: over a slow network a LoRA step moves at least the two gathers of the base that a full fine-tune
    moves (it scatters only the adapters' gradients, so not the third pass)."""
    from planner.plans.training import Layout, step_terms

    gpu = catalog.gpus["A100-80GB-SXM"]
    full = job(arch=LLAMA2_7B)
    adapter = dataclasses.replace(full, method=method)
    layout = Layout(16, 1, 1, "zero3", "none", 1, training_memory(adapter, 1, "none", "zero3", 16))
    slow = offer(gpus=8, network=10.0)
    full_comm = step_terms(full, gpu, slow, 16, layout, 1e14).overlap_comm_s
    adapter_comm = step_terms(adapter, gpu, slow, 16, layout, 1e14).overlap_comm_s
    base_share = 0.5 if method == "lora" else 4.127 / 8.0 / 2.0  # NF4 base against bf16 (model/workload.NF4_BYTES)
    assert adapter_comm >= 2.0 / 3.0 * base_share * full_comm
    assert adapter_comm < full_comm


@given(st.lists(st.one_of(st.floats(1e-15, 1e-6), st.floats(1e-6, 1e4), st.integers(1, 100).map(float)),
                min_size=3, max_size=3),
       st.sampled_from([1.0, 60.0, 3600.0]), st.integers(1, 16), st.sampled_from([0.0, 720.0]))
@settings(max_examples=200, deadline=None)
def test_the_billing_functions_agree_and_bill_any_use(hours, billing, instances, term):
    """run_cost_usd, run_costs_usd (a plan's three hours) and run_cost_usd_each (a search's floors) are written out
    apart for speed: the same bill for the same hours, and any use is billed at least one unit (a sliver of an hour
    of use was billed $0: new-user QA)."""
    one = [run_cost_usd(instances, 2.5, h, billing, term) for h in hours]
    assert list(run_costs_usd(instances, 2.5, (hours[0], hours[1], hours[2]), billing, term)) == one
    assert run_cost_usd_each([instances] * 3, 2.5, hours, billing, term) == one
    assert all(billed_hours(h, billing) >= billing / 3600.0 for h in hours)
    assert all(cost >= instances * 2.5 * billing / 3600.0 for cost in one)


def test_a_training_step_takes_at_least_its_forward_launches(catalog):
    """Eager PyTorch launches each forward operator from Python, so no step is shorter than its forward operators ×
    the fitted eager launch floor, however small the work (new-user QA: ResNet-50 on 32×32 images at batch 128 was
    planned at 3 ms a V100 step, where the planner's own batch-1 forward pass takes ~10 ms)."""
    import planner
    from planner.model.forward_time import kernels_per_forward
    from planner.plans.training import launch_floor_seconds

    loaded = planner.load_profile(ROOT / "profiles" / "resnet50-imagenet.yaml", catalog, overrides=[
        "model={preset: resnet50, image_size: 32}", "training.dataset={samples: 50000}", "training.epochs=30",
        "training.batch={global_samples: 128}", "constraints.gpus=[V100-16GB-SXM2]", "constraints.max_gpus=1"])
    plans = planner.plan(loaded, catalog).estimate.training.plans
    floor = launch_floor_seconds(catalog, loaded.profile.training.framework)
    assert floor > 0
    one = next(p for p in plans if p.gpu_count == 1 and p.fits)
    forward = kernels_per_forward(workload_for(loaded.arch)) * floor
    assert one.step_time_s >= forward and one.host_time_s == pytest.approx(forward, rel=1e-9)
    shown = planner.plan(loaded, catalog).to_dict(0)["training"]["plans"]
    assert all(0 < p["host_time_s"] <= p["step_time_s"] for p in shown if p["fits"])
    steps = 50000 * 30 / 128
    assert one.hours_p10 * 3600 >= steps * forward * (1 - 1e-9)


def test_a_tiny_dataset_bounds_the_micro_batch_and_takes_a_step(catalog, tmp_path):
    """A step cannot take samples the dataset lacks (new-user QA: 62 samples were planned as one micro-batch of
    65,536 on 4,096 GPUs, 2.6e-13 h): each replica's micro-batch holds at most its share of the dataset, and a run
    takes at least one step, however many replicas idle through it."""
    import planner

    profile = tmp_path / "toy.yaml"
    profile.write_text("name: toy\nmodel: {family: decoder, layers: 2, hidden: 64, heads: 2, ffn_hidden: 256, "
                       "vocab: 256, seq_len: 16}\ntraining:\n  dataset: {tokens: 1000}\n  deadline: 1s\n")
    samples = 1000 / 16
    plans = [p for p in planner.plan(planner.load_profile(profile, catalog), catalog).estimate.training.plans
             if p.fits]
    assert plans
    for p in plans:
        data = p.gpu_count // (p.tensor * p.pipeline * p.context)
        assert p.micro_batch <= math.ceil(samples / data)
        assert p.hours_p50 * 3600.0 >= p.step_time_s * (1 - 1e-9)


def test_max_gpus_caps_the_gpus_a_plan_rents(catalog):
    """constraints.max_gpus is the most GPUs a training plan rents: an offer whose one instance holds more is not
    searched, and a warning names it (new-user QA: with max_gpus 4, 146 of 386 plans of pretrain-1b-72h used more,
    e.g. 8x H100 as one whole instance)."""
    import planner
    from planner.plans.search import candidate_counts

    loaded = planner.load_profile(ROOT / "profiles" / "pretrain-1b-72h.yaml", catalog,
                                  ["constraints.max_gpus=4", "constraints.gpus=[H100-SXM]"])
    result = planner.plan(loaded, catalog)
    plans = result.estimate.training.plans
    assert plans and max(p.gpu_count for p in plans) <= 4
    assert any("constraints.max_gpus 4" in w and "H100-SXM (" in w for w in result.estimate.warnings)
    eight = next(o for o in catalog.offers({"H100-SXM"}) if o.offer.gpus_per_instance == 8)
    assert candidate_counts(eight, 4, None) == []
    assert candidate_counts(eight, 16, None)[:2] == [8, 16]
