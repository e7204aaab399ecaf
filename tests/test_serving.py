"""Serving: the roofline terms, the M/D/c approximations against the discrete-event simulation of the same system,
the replica count the simulation confirms, and the published single-GPU decode/prefill rows."""
import dataclasses
import datetime as dt
import heapq
import json
import math

import numpy as np
import pytest
from scipy import stats
from typer.testing import CliRunner

from planner.catalog.load import PricedOffer
from planner.cli.main import app
from planner.efficiency.origin import Efficiency
from planner.model.inference_time import (
    KV_BLOCK_TOKENS,
    decode_tokens_per_s,
    kv_batch_limit,
    prefill_seconds,
    tp_allreduce_seconds,
)
from planner.model.md_c import md_c_wait
from planner.model.order_statistics import quantiles_in_place
from planner.model.queueing import erlang_c, poisson_quantile
from planner.model.simulation import (
    DynamicBatchingRuns,
    _count_percentiles,
    _cut_ins,
    _half_widths,
    _percentiles,
    simulate_dynamic_batching,
    simulate_llm,
    slot_starts,
)
from planner.model.workload import kv_bytes_per_token, weight_bytes, workload_for
from planner.plans.search import estimate
from planner.plans.serving import (
    LlmTiming,
    ServingEfficiency,
    batch_latency,
    llm_latency,
    plan_llm_serving,
    simulate_plan,
)
from planner.project.load import load_profile
from planner.schema.catalog import Offer
from planner.schema.model import Architecture
from planner.schema.profile import Inference
from planner.validate.serving import serving_errors
from planner.validate.train_fit import load_published_runs

from .conftest import ROOT, docs_text

LLAMA2_7B = dict(name="l7", family="decoder", layers=32, hidden=4096, heads=32, ffn_hidden=11008, vocab=32000,
                 seq_len=4096, activation="swiglu", norm="rmsnorm", tied_embeddings=False)
EFF = ServingEfficiency(Efficiency(0.5, 0.3, "prior", "test"), Efficiency(0.8, 0.3, "prior", "test"))
LOADS = (0.30, 0.60, 0.85)


def offer(gpu="A100-80GB-SXM", gpus=1, intra="pcie"):
    return PricedOffer("test", Offer(instance="x", gpu=gpu, gpus_per_instance=gpus, usd_per_hour=2.0,
                                     intra_node=intra, network_gbps=None), 3600.0, dt.date(2026, 11, 1))


# -------------------------------------------------------------------------------------------- roofline terms


def test_decode_at_batch_one_is_bounded_by_bandwidth(catalog):
    work = workload_for(Architecture(**LLAMA2_7B))
    gpu = catalog.gpus["A100-80GB-SXM"]
    rate = decode_tokens_per_s(work, gpu, "bf16", 1, 512, 1.0, 1.0)
    ceiling = gpu.memory_bandwidth_gbs * 1e9 / (weight_bytes(work, "bf16") + 512 * kv_bytes_per_token(work, "bf16"))
    assert rate == pytest.approx(ceiling)
    # int4 weights move a quarter of the bytes (plus group scales): decode is faster, by less than 4×
    int4 = decode_tokens_per_s(work, gpu, "int4", 1, 512, 1.0, 1.0)
    assert rate < int4 < 4 * rate


def test_gqa_and_paged_blocks_set_the_kv_batch_limit(catalog):
    gpu = catalog.gpus["A100-80GB-SXM"]
    mha = workload_for(Architecture(**LLAMA2_7B))
    gqa = workload_for(Architecture(**{**LLAMA2_7B, "kv_heads": 8}))
    assert gqa.kv_bytes_per_token_16bit == mha.kv_bytes_per_token_16bit / 4
    assert kv_batch_limit(gqa, gpu, 1, "bf16", "bf16", 768) > 3.9 * kv_batch_limit(mha, gpu, 1, "bf16", "bf16", 768)
    # a sequence of one token more than a block takes two whole blocks
    assert kv_batch_limit(mha, gpu, 1, "bf16", "bf16", KV_BLOCK_TOKENS + 1) == \
        kv_batch_limit(mha, gpu, 1, "bf16", "bf16", 2 * KV_BLOCK_TOKENS)
    assert kv_batch_limit(mha, gpu, 1, "bf16", "bf16", KV_BLOCK_TOKENS + 1) > \
        kv_batch_limit(mha, gpu, 1, "bf16", "bf16", 2 * KV_BLOCK_TOKENS + 1)


def test_tensor_parallel_pays_its_all_reduce(catalog):
    work = workload_for(Architecture(**LLAMA2_7B))
    gpu = catalog.gpus["A100-80GB-SXM"]
    assert tp_allreduce_seconds(work, 512, 1, 600.0, "nvlink") == 0.0
    pcie, nvlink = tp_allreduce_seconds(work, 512, 2, 32.0, "pcie"), tp_allreduce_seconds(work, 512, 2, 300.0,
                                                                                           "nvlink")
    assert pcie > nvlink > 0.0
    flops = gpu.peak_tflops.bf16 * 1e12 * 0.5
    one = prefill_seconds(work, 512, "bf16", flops, 2e12)
    two = prefill_seconds(work, 512, "bf16", 2 * flops, 4e12, nvlink)
    assert one / 2 < two < one


# -------------------------------------------------------------------------------------------- queueing


def test_erlang_c_window_equals_the_full_recursion():
    # the recursion started 12√a below the load gives the recursion from k = 0, to double precision
    for servers, load in ((300, 250.0), (1000, 960.0), (2000, 1000.0), (5000, 4900.0), (40, 39.5)):
        recursion = 1.0
        for k in range(1, servers + 1):
            recursion = load * recursion / (k + load * recursion)
        expected = servers * recursion / (servers - load * (1 - recursion))
        assert erlang_c(servers, load) == pytest.approx(expected, rel=1e-12)


def test_poisson_quantile_matches_scipy_and_its_cap():
    for mean in (0.01, 0.7, 14.5, 120.0, 600.0, 2500.0):
        for q in (0.5, 0.95, 0.99):
            expected = int(stats.poisson.ppf(q, mean))
            assert poisson_quantile(mean, q, 10_000) == expected
            assert poisson_quantile(mean, q, 5) == min(5, expected)


def test_md1_is_erlangs_closed_form():
    # M/D/1 (Erlang 1909): P(W = 0) = 1 − ρ, P(Q ≤ 1) = (1 − ρ)·e^ρ, and for t ≤ D P(W ≤ t) = (1 − ρ)·e^{λt}
    for rho in (0.1, 0.5, 0.9, 0.97):
        wait = md_c_wait(1, rho, 1.0)
        assert wait.no_wait == pytest.approx(1 - rho, rel=1e-9)
        assert wait.waiting_cdf[0] == pytest.approx((1 - rho) * math.exp(rho), rel=1e-9)
        for t in (0.25, 0.5, 1.0):
            assert wait.cdf(np.array([t]))[0] == pytest.approx((1 - rho) * math.exp(rho * t), rel=1e-9)


def test_md_c_matches_the_chain_solved_directly():
    # the number waiting X(s + D) = (X(s) + Poisson(a) − c)⁺: its stationary law by power iteration on a
    # truncated chain, against the Wiener–Hopf FFT of md_c_wait
    for servers, load in ((3, 0.8), (16, 0.9), (40, 0.6)):
        a = load * servers
        size = 600
        pois = stats.poisson.pmf(np.arange(size), a)
        law = np.zeros(size)
        law[0] = 1.0
        for _ in range(800):
            mixed = np.convolve(law, pois)[:size]
            law = np.concatenate([[mixed[:servers + 1].sum()], mixed[servers + 1:], np.zeros(servers)])
        wait = md_c_wait(servers, a, 1.0)
        n = min(wait.waiting_cdf.size, 200)
        assert np.allclose(wait.waiting_cdf[:n], np.cumsum(law)[:n], atol=1e-9)


def test_slot_starts_is_fcfs_on_c_servers():
    rng = np.random.default_rng(3)
    arrivals = np.cumsum(rng.exponential(1.0, 2000))
    for servers, hold in ((1, 0.9), (3, 2.7), (8, 7.0)):
        free = [0.0] * servers  # reference: every arrival takes the server that frees first
        expected = []
        for a in arrivals:
            start = max(a, heapq.heappop(free))
            heapq.heappush(free, start + hold)
            expected.append(start)
        assert np.allclose(slot_starts(arrivals, servers, hold), expected)


@pytest.mark.parametrize("servers", [1, 8, 32])
@pytest.mark.parametrize("load", LOADS)
def test_md_c_waits_match_simulation(servers, load):
    rng = np.random.default_rng(1)
    rate = load * servers
    arrivals = np.cumsum(rng.exponential(1.0 / rate, 400_000))
    waits = (slot_starts(arrivals, servers, 1.0) - arrivals)[40_000:]
    simulated = float(np.quantile(waits, 0.95))
    wait = md_c_wait(servers, rate, 1.0)
    analytic = wait.quantile(0.95)
    # p95 of the wait alone, in units of the service time: within 10 % (what 360,000 kept requests pin at 85 %
    # load: 4,000,000 agree within 0.4 % with the exact 1.015 D of 8 servers), or 0.02 D where it is short; and the
    # probability of waiting within 0.03 (8,000,000 requests put it within 0.001 of the exact value)
    assert abs(analytic - simulated) <= max(0.02, 0.10 * simulated)
    assert 1.0 - wait.no_wait == pytest.approx(float(np.mean(waits > 0.0)), abs=0.03)


# -------------------------------------------------------------------------------------------- LLM model vs simulation


# (batch, replicas, prefill s, decode step s): the serve-7b-chat recommendation, a small and a single replica
LLM_CONFIGS = [(64, 5, 0.0355, 0.0402), (8, 2, 0.030, 0.020), (32, 1, 0.050, 0.030)]


@pytest.mark.parametrize("config", LLM_CONFIGS, ids=lambda c: f"b{c[0]}r{c[1]}")
@pytest.mark.parametrize("load", LOADS)
def test_llm_analytic_p95_within_10_percent_of_simulation(config, load):
    batch, replicas, prefill, step = config
    inf = Inference(rate=1.0, prompt_tokens=512, output_tokens=256)
    timing = LlmTiming(1, batch, prefill, step, batch * prefill + 256 * step)
    rate = load * replicas * timing.capacity_rps
    analytic = llm_latency(inf, timing, replicas, rate)
    sim = simulate_llm(rate, replicas, batch, prefill, step, 256, requests=200_000, seed=1)
    assert sim.utilization == pytest.approx(load, rel=0.03)
    for key in ("ttft_p95", "tpot_p95"):
        assert analytic[key] == pytest.approx(sim.latency_s[key], rel=0.10), key


@pytest.mark.parametrize("load", LOADS)
@pytest.mark.parametrize("batch, replicas, delay", [(1, 1, 0.01), (1, 3, None), (8, 2, 0.002)])
def test_dynamic_batching_p95_within_10_percent_of_simulation(batch, replicas, delay, load):
    inf = Inference(rate=1.0, max_queue_delay=delay)

    def service_of(b):
        return 0.002 + 0.004 * (b - 1) / max(1, batch - 1)

    rate = load * replicas * batch / service_of(batch)
    analytic = batch_latency(inf, replicas, batch, service_of, rate)
    sim = simulate_dynamic_batching(rate, replicas, batch, service_of, delay, requests=200_000, seed=1)
    assert analytic["latency_p95"] == pytest.approx(sim.latency_s["latency_p95"], rel=0.10)


def test_cut_ins_count_the_same_replicas_starts_during_each_decode():
    # reference: each replica's starts searched one by one (the merge must give np.searchsorted's counts, ties too)
    rng = np.random.default_rng(4)
    for replicas, batch, prefill, hold in ((1, 4, 0.5, 3.0), (3, 8, 0.25, 2.0), (2, 16, 1.0, 1.0)):
        arrivals = np.cumsum(rng.exponential(hold / (0.8 * replicas * batch), 3000))
        # on a grid of 1/8: equal times and starts exactly a prefill or a hold apart occur, and sums are exact
        starts = slot_starts(np.round(arrivals * 8.0) / 8.0, replicas * batch, hold)
        expected = np.empty(starts.size, dtype=int)
        for r in range(replicas):
            col = starts[r::replicas]
            expected[r::replicas] = (np.searchsorted(col, col + hold, "left")
                                     - np.searchsorted(col, col + prefill, "right"))
        assert np.array_equal(_cut_ins(starts, replicas, prefill, hold), expected)


def test_counted_percentiles_equal_numpys_of_the_sample():
    rng = np.random.default_rng(6)
    levels = 0.02 + np.arange(12, dtype=float) * 0.013
    qs = (0.50, 0.95, 0.99)
    for size in (1000, 4567, 20_000):
        counts = rng.binomial(11, rng.uniform(0.05, 0.9), size)
        latency, widths = _count_percentiles(counts, levels, "x", qs)
        assert latency == _percentiles(levels[counts], "x", qs)
        assert widths == _half_widths(levels[counts], "x", qs)


def test_selected_quantiles_equal_numpys_bit_for_bit():
    # the chain of single-kth partitions (planner/model/order_statistics.py) returns np.quantile's numbers exactly:
    # ties, neighbours that are the next order statistic, one-element rows and quantiles 0 and 1 included
    rng = np.random.default_rng(8)
    for trial in range(400):
        rows, size = int(rng.integers(1, 5)), int(rng.integers(1, 300))
        sample = (rng.integers(0, 6, (rows, size)).astype(float) if trial % 2 else rng.exponential(1.0, (rows, size)))
        qs = (0.50, 0.95, 0.99) if trial % 3 else tuple(sorted(rng.choice([0.0, 1.0, *rng.random(4)], 3)))
        expected = np.quantile(sample, qs, axis=1).T
        assert np.array_equal(quantiles_in_place(sample.copy(), qs), expected)


def test_dynamic_batching_runs_are_shared_only_when_provably_the_same():
    # service times equal up to batch 6 and apart beyond: at light load no batch reaches 6, so the caps 8, 16 and
    # 64 make one run; a different small-batch time, or a heavy load that fills the cap, is simulated afresh
    def service(slope):
        return lambda b: 0.004 + 0.001 * b + (slope * (b - 6) if b > 6 else 0.0)

    runs = DynamicBatchingRuns()
    systems = [(8, service(0.01)), (16, service(0.02)), (64, service(0.05)), (4, service(0.01))]
    for batch, service_of in systems:
        shared = runs.run(150.0, 2, batch, service_of, 0.003, 20_000, 0)
        fresh = simulate_dynamic_batching(150.0, 2, batch, service_of, 0.003, 20_000, 0)
        assert shared == fresh
    assert fresh.largest_batch == 4  # the cap of 4 is reached: not shareable with the others
    assert runs.simulated == 2
    slower = runs.run(150.0, 2, 8, lambda b: 0.0051 + 0.001 * b, 0.003, 20_000, 0)
    assert runs.simulated == 3 and slower == simulate_dynamic_batching(150.0, 2, 8, lambda b: 0.0051 + 0.001 * b,
                                                                       0.003, 20_000, 0)


def test_simulations_share_traffic_without_depending_on_what_ran_before():
    # common random numbers: a run's traffic is the first n of one stream, whatever longer or other runs drew first
    from planner.model import simulation

    simulation._DRAWN.clear()
    alone = simulate_llm(5.0, 2, 8, 0.03, 0.02, 256, requests=20_000, seed=7)
    simulate_llm(5.0, 2, 8, 0.03, 0.02, 256, requests=150_000, seed=7)  # draws a longer stream
    simulate_llm(6.0, 2, 8, 0.03, 0.02, 256, requests=20_000, seed=7)  # and another rate's
    assert simulate_llm(5.0, 2, 8, 0.03, 0.02, 256, requests=20_000, seed=7) == alone
    arrivals, _ = simulation._traffic(5.0, 1000, 7)
    assert np.array_equal(arrivals, np.cumsum(np.random.default_rng(7).exponential(1 / 5.0, 1000)))


def test_slot_ttft_in_blocks_and_continued_equals_the_whole_run(monkeypatch):
    # blocks of a few rows and a longer run continuing a shorter one give slot_starts' TTFTs bit for bit (the
    # cumulative maximum carried across blocks and runs is exact): partial last rows, and a continuation from a
    # run whose last row was partial
    from planner.model import slot_queue

    monkeypatch.setattr(slot_queue, "BLOCK_REQUESTS", 40)
    rng = np.random.default_rng(9)
    arrivals, uniforms = np.cumsum(rng.exponential(0.1, 5003)), rng.random(5003)
    for servers, hold in ((1, 0.09), (7, 0.65), (64, 6.0)):
        starts = slot_starts(arrivals, servers, hold)
        expected = starts - arrivals + uniforms * 0.02 + 0.03
        slot_queue._LATEST.clear()
        got_starts = np.empty(arrivals.size)
        whole = slot_queue.slot_ttft(arrivals, uniforms, ("t", 0), servers, hold, 0.02, 0.03, got_starts)
        assert np.array_equal(whole, expected) and np.array_equal(got_starts, starts)
        slot_queue._LATEST.clear()
        for n in (1001, 2500, 5003, 3000):  # each continues the longest run so far (a shorter one copies it)
            part = slot_queue.slot_ttft(arrivals[:n], uniforms[:n], ("t", 0), servers, hold, 0.02, 0.03)
            assert np.array_equal(part, expected[:n])
    slot_queue._LATEST.clear()


def test_until_decided_doubles_and_goes_to_the_horizon_only_when_doubling_cannot_settle():
    from planner.model.simulation_length import SimulatedLatency, until_decided

    def runs_of(width_at):  # a percentile of 0.1 s far below its 0.5 s target, its half-width a function of n
        asked = []

        def run(n, settled=frozenset()):
            asked.append(n)
            return SimulatedLatency({"ttft_p95": 0.1}, n, 0.5, {"ttft_p95": width_at(n)})
        return asked, run

    # shrinking as 1/√n from ±40 % at 100,000 requests: ±25 % within reach of 400,000, so n doubles to it
    asked, run = runs_of(lambda n: 0.04 * (100_000 / n) ** 0.5)
    until_decided(run, {"ttft_p95": 0.5}, 100_000, 2_000_000)
    assert asked == [100_000, 200_000, 400_000]
    # ±150 % at 100,000: even 2,000,000 (±34 %) cannot reach ±25 %, so the next run is the horizon
    asked, run = runs_of(lambda n: 0.15 * (100_000 / n) ** 0.5)
    until_decided(run, {"ttft_p95": 0.5}, 100_000, 2_000_000)
    assert asked == [100_000, 2_000_000]


def test_simulation_is_seeded():
    a = simulate_llm(5.0, 2, 8, 0.03, 0.02, 256, requests=20_000, seed=7)
    b = simulate_llm(5.0, 2, 8, 0.03, 0.02, 256, requests=20_000, seed=7)
    c = simulate_llm(5.0, 2, 8, 0.03, 0.02, 256, requests=20_000, seed=8)
    assert a == b and a != c


def test_serve_7b_chat_replicas_hold_in_simulation_and_one_fewer_does_not(catalog):
    loaded = load_profile(ROOT / "profiles" / "serve-7b-chat.yaml", catalog)
    est = estimate(loaded, catalog)
    # the simulation checks one-GPU replicas, several of them: the best such plan (the imported catalog's cheapest
    # pick may shard a replica over 4 small GPUs)
    plan = next(p for p in est.inference.plans if p.gpus_per_replica == 1 and p.replicas >= 2 and p.meets_slo)
    inf = loaded.profile.inference
    gpu = catalog.gpus[plan.gpu]
    assert plan.meets_slo

    def simulated(replicas):
        fewer = dataclasses.replace(plan, replicas=replicas)
        return simulate_plan(fewer, est.inference.work, inf, gpu, seed=2, requests=300_000).simulated_latency_s

    chosen, fewer = simulated(plan.replicas), simulated(plan.replicas - 1)
    assert chosen["ttft_p95"] <= inf.slo.ttft_p95 and chosen["tpot_p95"] <= inf.slo.tpot_p95
    assert fewer["ttft_p95"] > inf.slo.ttft_p95 or fewer["tpot_p95"] > inf.slo.tpot_p95


def test_llm_plan_meets_targets_with_fewest_replicas(catalog):
    work = workload_for(Architecture(**LLAMA2_7B))
    inf = Inference(rate=20.0, average_rate=8.0, prompt_tokens=512, output_tokens=256,
                    slo={"ttft_p95": 0.5, "tpot_p95": 0.05})
    gpu = catalog.gpus["A100-80GB-SXM"]
    plan = plan_llm_serving(work, inf, gpu, offer(), EFF)
    assert plan.meets_slo and plan.utilization < 1.0
    timing = LlmTiming(1, plan.batch_size, plan.timing_s["prefill"], plan.timing_s["decode_step"],
                       plan.timing_s["hold"])
    fewer = llm_latency(inf, timing, plan.replicas - 1, inf.rate)
    assert fewer["ttft_p95"] > 0.5 or fewer["tpot_p95"] > 0.05 or plan.replicas - 1 < inf.rate / timing.capacity_rps
    # autoscaling on the average rate needs fewer replicas; headroom adds some back
    assert plan.autoscaled_replicas <= plan.replicas
    assert plan.monthly_cost_autoscaled_usd <= plan.monthly_cost_usd
    roomy = plan_llm_serving(work, inf.model_copy(update={"autoscale_headroom": 1.0}), gpu, offer(), EFF)
    assert roomy.autoscaled_replicas >= plan.autoscaled_replicas
    # cost per million output tokens: the bill over the month's tokens at the average rate
    tokens = 8.0 * 730 * 3600 * 256
    assert plan.usd_per_million_output_tokens == pytest.approx(plan.monthly_cost_autoscaled_usd / tokens * 1e6)


def test_big_model_needs_tensor_parallel(catalog):
    llama70 = dict(LLAMA2_7B, layers=80, hidden=8192, heads=64, kv_heads=8, ffn_hidden=28672)
    work = workload_for(Architecture(**llama70))
    inf = Inference(rate=1.0, prompt_tokens=512, output_tokens=256, slo={"ttft_p95": 2.0, "tpot_p95": 0.2})
    gpu = catalog.gpus["A100-80GB-SXM"]
    assert not plan_llm_serving(work, inf, gpu, offer(gpus=1), EFF).fits  # 141 GB of bf16 weights
    plan = plan_llm_serving(work, inf, gpu, offer(gpus=8, intra="nvlink"), EFF)
    assert plan.fits and plan.gpus_per_replica >= 2


# -------------------------------------------------------------------------------------------- published rows


def test_serving_rows_are_an_independent_check_never_fitted_on(catalog):
    """The llama.cpp decode and prefill rows are an independent check (issue 13): refitting the priors without each
    row predicts it exactly as the catalog's priors do, because no fit ever saw it. Their held-out error is bounded
    in tests/accuracy_bounds.yaml (serving-decode, serving-prefill)."""
    runs = load_published_runs(ROOT / "catalog", catalog)
    rows = [r for r in runs if r.group in ("serving-decode", "serving-prefill") and r.check_family]
    assert {r.group for r in rows} == {"serving-decode", "serving-prefill"} and len(rows) >= 6
    ids = {r.id for r in rows}
    in_sample = {k: v for k, v in serving_errors(runs, catalog).items() if k in ids}
    held_out = {k: v for k, v in serving_errors(runs, catalog, leave_one_out=True).items() if k in ids}
    assert in_sample.keys() == ids and held_out == pytest.approx(in_sample, rel=1e-12)
    fitted = [r for r in runs if r.group == "serving-decode" and not r.check_family]
    assert fitted  # gpt-fast's rows: refitting without one moves its prediction
    moved = serving_errors(runs, catalog, leave_one_out=True)[fitted[0].id]
    assert moved != pytest.approx(serving_errors(runs, catalog)[fitted[0].id], rel=1e-6)


# -------------------------------------------------------------------------------------------- CLI


def test_estimate_simulate_prints_simulated_percentiles():
    runner = CliRunner()
    profile = str(ROOT / "profiles" / "serve-7b-chat.yaml")
    result = runner.invoke(app, ["estimate", profile, "--simulate", "--top", "2", "--format", "json"])
    assert result.exit_code == 0, result.output
    plans = json.loads(result.stdout)["inference"]["plans"]
    for plan in plans:
        sim = plan["simulated_latency_ms"]
        assert set(sim) == set(plan["latency_ms"])
        # the analytic model within 15 % of the simulated system, whose printed percentile is within ±25 % (95 %) of
        # its long-run value once the plan's verdict is settled (planner/model/simulation_length.py until_decided)
        assert abs(sim["ttft_p95"] - plan["latency_ms"]["ttft_p95"]) <= (0.15 * plan["latency_ms"]["ttft_p95"]
                                                                         + 0.25 * sim["ttft_p95"])
        # a plan the simulation refutes says so and does not count as meeting its targets
        refuted = sim["ttft_p95"] > 500 or sim["tpot_p95"] > 50
        assert plan["meets_slo"] is not refuted
        assert refuted == any(r.startswith("simulation misses") for r in plan["reasons"])
    table = runner.invoke(app, ["estimate", profile, "--simulate", "--top", "1"])
    assert table.exit_code == 0 and "(sim " in table.stdout
    plain = runner.invoke(app, ["estimate", profile, "--top", "1", "--format", "json"])
    assert "simulated_latency_ms" not in json.loads(plain.stdout)["inference"]["plans"][0]


def test_a_plan_the_simulation_sizes_up_says_so():
    # new-user QA round 30: simplepod's 9x2 RTX-A4000 (analytic TTFT p95 497 ms against 500 ms) gave way under
    # --simulate to 10x2, with no word why; the analytic replicas and the simulation's miss are now named
    runner = CliRunner()
    args = ["estimate", str(ROOT / "profiles" / "serve-7b-chat.yaml"), "--set", "constraints.providers=[simplepod]",
            "--set", "constraints.gpus=[RTX-A4000]", "--top", "0"]
    plain = json.loads(runner.invoke(app, [*args, "--format", "json"]).stdout)["inference"]["plans"]
    simulated = json.loads(runner.invoke(app, [*args, "--simulate", "--format", "json"]).stdout)["inference"]["plans"]
    resized = [p for p in simulated if "analytic_replicas" in p]
    assert resized and not any("analytic_replicas" in p for p in plain)
    for plan in resized:
        assert plan["replicas"] > plan["analytic_replicas"] and plan["meets_slo"]
        assert plan["analytic_misses"] and all(m.startswith("simulation misses") for m in plan["analytic_misses"])
        before = [p for p in plain if (p["instance"], p["replicas"]) == (plan["instance"], plan["analytic_replicas"])]
        assert before and before[0]["meets_slo"]  # the analytic model's plan met the targets
    table = " ".join(runner.invoke(app, [*args, "--simulate"]).stdout.split())
    number = simulated.index(resized[0]) + 1
    assert (f"Sized by the simulation: serving plan #{number} has {resized[0]['replicas']} replicas, not the analytic "
            f"model's {resized[0]['analytic_replicas']}, which the simulation refuted (simulation misses") in table


def test_docs_state_the_serving_figures_and_their_benchmark():
    readme = docs_text()
    assert (ROOT / "benchmarks" / "bench_serving.py").is_file() and "bench_serving.py" in readme
    assert "Median |error| on the 7 single-GPU rows" in readme


def test_negative_autoscale_headroom_is_a_placed_error(write):
    text = (ROOT / "profiles" / "serve-7b-chat.yaml").read_text().replace("average_rate: 8/s",
                                                                          "average_rate: 8/s\n  autoscale_headroom: -0.5")
    result = CliRunner().invoke(app, ["estimate", str(write("h.yaml", text))])
    assert result.exit_code == 2
    assert "h.yaml:9:3: inference.autoscale_headroom" in result.output and "Traceback" not in result.output


def test_the_default_kv_cache_of_fp16_weights_is_fp16(catalog):
    """The default KV cache is 16-bit, in the weights' own format where they are fp16 (vLLM's 'auto'): a T4, which
    has no bf16, read "the KV cache of one 768-token bf16 sequence" (new-user QA round 11). The same bytes either way:
    the memory the verdict names is the same as at bf16."""
    import planner
    from planner.plans.verdict import Kind

    from .conftest import ROOT

    sets = ["model.preset=llama-2-70b", "constraints.gpus=[T4]", "inference.slo=null"]
    found = {}
    for precision in ("fp16", "bf16"):
        loaded = planner.load_profile(ROOT / "profiles" / "serve-7b-chat.yaml", catalog,
                                      [*sets, f"inference.precision={precision}"])
        [rejection] = planner.plan(loaded, catalog).decision.inference.rejected
        found[precision] = rejection
    [unfit] = [v for v in found["fp16"].verdicts if v.kind is Kind.DOES_NOT_FIT]
    assert "768-token fp16 sequence" in unfit.detail and "bf16" not in " ".join(found["fp16"].reasons)
    assert [v.kind for v in found["bf16"].verdicts] == [Kind.NO_PRECISION]  # a T4 has no bf16 at all
    local = planner.load_profile(ROOT / "profiles" / "serve-7b-chat.yaml", catalog, ["inference.precision=fp16"])
    from planner.model.workload import kv_cache_bytes, workload_for

    work = workload_for(local.arch)
    assert kv_cache_bytes(work, 768, "fp16") == kv_cache_bytes(work, 768, "bf16")
