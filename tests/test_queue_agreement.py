"""Analytic serving percentiles against the discrete-event simulation of the same system, swept over load: one
slot (7B on an A100 at batch 1, one replica), and representative points of the slots × replicas × load grid that
benchmarks/bench_queue_agreement.py sweeps in full (batch 1–64, replicas 1–8, loads 1–95 %; docs/serving.md). The
analytic wait is M/D/c's exact distribution (Crommelin's formula, planner/model/md_c.py)."""
import pytest

import planner
from planner.model.interconnect import intra_node_gbs
from planner.model.simulation import simulate_llm
from planner.model.workload import workload_for
from planner.plans.serving import llm_latency, llm_timing

from .conftest import ROOT

# Loads from 1 % to 90 %. Left out: exactly 5 % and 50 %, where the no-wait atom P(W = 0) = 1 − ρ sits exactly on
# the 95th or 50th percentile, so the percentile jumps by a whole wait for an arbitrarily small change of load and
# no finite simulation pins it (its measured utilisation differs from ρ by ±0.3 %).
LOADS = (0.01, 0.02, 0.03, 0.10, 0.20, 0.30, 0.40, 0.60, 0.70, 0.80, 0.90)


@pytest.fixture(scope="module")
def one_slot(catalog):
    """The 7B chat profile's request on one A100-80GB-SXM slot, timed with the catalog's priors."""
    inf, timing_at = a100_timing(catalog)
    return inf, timing_at(1)


def a100_timing(catalog):
    """The 7B chat profile's request and its A100-80GB-SXM timing at any batch, with the catalog's priors."""
    loaded = planner.load_profile(ROOT / "profiles" / "serve-7b-chat.yaml", catalog,
                                  ["inference.max_batch=1", "constraints.gpus=[A100-80GB-SXM]"])
    inf = loaded.profile.inference
    result = planner.plan(loaded, catalog)
    plan = result.estimate.inference.plans[0]
    gpu = catalog.gpus["A100-80GB-SXM"]
    offer = next(o for o in catalog.offers({"A100-80GB-SXM"}) if o.offer.gpus_per_instance == 1)
    link_gbs, link = intra_node_gbs(gpu, offer)
    work = workload_for(loaded.arch)
    return inf, lambda batch: llm_timing(work, inf, gpu, 1, batch, link_gbs, link, plan.efficiency)


@pytest.mark.parametrize("load", LOADS)
def test_one_slot_percentiles_match_the_simulation(one_slot, load):
    inf, timing = one_slot
    rate = load * timing.capacity_rps
    analytic = llm_latency(inf, timing, 1, rate)
    sim = simulate_llm(rate, 1, 1, timing.prefill_s, timing.step_s, int(inf.output_tokens), requests=200_000,
                       seed=1)
    assert sim.utilization == pytest.approx(load, rel=0.05)
    for key in ("ttft_p50", "ttft_p95", "tpot_p50", "tpot_p95"):
        assert analytic[key] == pytest.approx(sim.latency_s[key], rel=0.10), key


def test_light_load_ttft_is_the_prefill_and_part_of_a_step(one_slot):
    # at 1 % load 99 % of requests find the slot free: TTFT p95 = prefill + 0.95 · step (the uniform phase of the
    # running step), not the minutes-long waits of the tail formula γ·e^{−δt} whose γ (≈ 0.17) exceeds P(W > 0)
    inf, timing = one_slot
    analytic = llm_latency(inf, timing, 1, 0.01 * timing.capacity_rps)
    low, high = timing.prefill_s + 0.95 * timing.step_s, timing.prefill_s + timing.step_s
    assert low < analytic["ttft_p95"] < high


# (batch, replicas, load): where the tail form γ·e^{−δt} this replaced was furthest off (+98 % to +200 % at 1–4
# slots in all at 10–60 % load, −13 to −16 % near the onset of waiting), and heavier systems. Clear of the no-wait
# atom's edge (P(W > 0) within the simulation's reach of 5 % or 50 %), where no finite simulation pins a percentile.
GRID_POINTS = [(1, 2, 0.10), (1, 4, 0.30), (2, 1, 0.60), (4, 1, 0.50), (8, 2, 0.80), (16, 4, 0.60),
               (64, 2, 0.90), (64, 8, 0.30)]


@pytest.fixture(scope="module")
def timing_at(catalog):
    return a100_timing(catalog)


@pytest.mark.parametrize("point", GRID_POINTS, ids=lambda p: f"b{p[0]}r{p[1]}-{p[2]:.0%}")
def test_multi_slot_ttft_matches_the_simulation(timing_at, point):
    batch, replicas, load = point
    inf, timing_of = timing_at
    timing = timing_of(batch)
    rate = load * replicas * timing.capacity_rps
    analytic = llm_latency(inf, timing, replicas, rate)
    # 1,000,000 requests where waits are long: 200,000 leave the p95 ±10 % at 80–90 % load (batch means)
    sim = simulate_llm(rate, replicas, batch, timing.prefill_s, timing.step_s, int(inf.output_tokens),
                       requests=1_000_000 if load >= 0.5 else 200_000, seed=1)
    for key in ("ttft_p50", "ttft_p95"):
        # 10 %: the target; the full sweep's worst is 5.7 %, within the simulation's own 95 % interval
        assert analytic[key] == pytest.approx(sim.latency_s[key], rel=0.10), key
