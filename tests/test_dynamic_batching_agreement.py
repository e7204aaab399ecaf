"""Dynamic batching's analytic percentiles (planner/model/dynamic_batching.py, model/batching_chain.py) against the
discrete-event simulation of the same system (planner/model/simulation.py simulate_dynamic_batching), swept over
loads 1–90 % of the capacity at full batches (issue 12: within 10 % at every load). The service curves are
bert-train-then-serve's on an RTX 3060 (its batch time grows with the batch) and an RTX A6000 (host-bound at small
batches), as in benchmarks/bench_dynamic_batching_agreement.py, whose full table is docs/serving.md 'Known limits'."""
from __future__ import annotations

import pytest

import planner
from planner.model.batching_chain import batching_chain
from planner.model.chain_scope import MULTI_REPLICA_LOAD
from planner.model.dynamic_batching import batch_latency
from planner.model.simulation import simulate_dynamic_batching
from planner.model.workload import workload_for
from planner.plans.serving import batch_service_seconds

from .conftest import ROOT

KEYS = ("latency_p50", "latency_p95", "latency_p99")
REQUESTS = 200_000


@pytest.fixture(scope="module")
def bert_plans(catalog):
    loaded = planner.load_profile(ROOT / "profiles" / "bert-train-then-serve.yaml", catalog)
    return loaded, {p.gpu: p for p in reversed(planner.plan(loaded, catalog).estimate.inference.plans)}


@pytest.fixture(scope="module")
def bert_curves(catalog, bert_plans):
    loaded, plans = bert_plans
    inf = loaded.profile.inference
    work = workload_for(loaded.arch)
    curves = {}
    for name in ("RTX-3060", "RTX-A6000"):
        gpu, eff, seen = catalog.gpus[name], plans[name].efficiency, {}

        def service_of(b, gpu=gpu, eff=eff, seen=seen):
            if b not in seen:
                seen[b] = batch_service_seconds(work, inf, gpu, eff, b)
            return seen[b]
        curves[name] = service_of
    return inf, curves


def _agree(inf, service_of, limit, replicas, load):
    rate = load * replicas * limit / service_of(limit)
    analytic = batch_latency(inf, replicas, limit, service_of, rate)
    sim = simulate_dynamic_batching(rate, replicas, limit, service_of, inf.max_queue_delay, requests=REQUESTS, seed=1)
    return {key: analytic[key] / sim.latency_s[key] - 1.0 for key in KEYS}


@pytest.mark.parametrize("gpu", ["RTX-3060", "RTX-A6000"])
@pytest.mark.parametrize("limit", [8, 64])
def test_one_replica_within_10_percent_at_every_load(bert_curves, gpu, limit):
    inf, curves = bert_curves
    for load in (0.01, 0.3, 0.65, 0.9):
        errors = _agree(inf, curves[gpu], limit, 1, load)
        assert all(abs(e) <= 0.10 for e in errors.values()), (load, errors)


@pytest.mark.parametrize("gpu", ["RTX-3060", "RTX-A6000"])
@pytest.mark.parametrize("replicas", [2, 4])
def test_a_limit_that_fills_within_10_percent_at_every_load(bert_curves, gpu, replicas):
    # batches of up to 8 fill before the delay at these rates: requests are left behind (LeftoverChain)
    inf, curves = bert_curves
    for load in (0.1, 0.5, 0.8, 0.9):
        errors = _agree(inf, curves[gpu], 8, replicas, load)
        assert all(abs(e) <= 0.10 for e in errors.values()), (load, errors)


@pytest.mark.parametrize("gpu", ["RTX-3060", "RTX-A6000"])
def test_two_replicas_within_10_percent_at_every_load(bert_curves, gpu):
    # the memory-sized limits of bert's plans (1,931 and 4,096), out of reach: the pair of residuals
    # (model/pair_chain.py), where one server twice as fast was −17 to −35 % p95 at 80–90 %
    inf, curves = bert_curves
    for load in (0.01, 0.3, 0.65, 0.8, 0.9):
        errors = _agree(inf, curves[gpu], 4096, 2, load)
        assert all(abs(e) <= 0.10 for e in errors.values()), (load, errors)


@pytest.mark.parametrize("gpu", ["RTX-3060", "RTX-A6000"])
def test_two_replicas_without_a_delay_within_10_percent_at_every_load(bert_curves, gpu):
    # no max_queue_delay: every residual moves by exactly Q − R at a close and the pair chain's grid spreads it (+14 %
    # p99 at 90 % on 32 cells); solved on two grids and extrapolated to a step of 0 (model/pair_chain.py FINE); and
    # limits that fill at times, their chain with full batches sampled (model/filling_chain.py), where the requests
    # left behind and the other's residual (model/leftover_pair_chain.py) were +12.1/+11.6 % p99 at 128/256, 90 %
    inf, curves = bert_curves
    inf = inf.model_copy(update={"max_queue_delay": None})
    for limit, loads in ((4096, (0.01, 0.3, 0.65, 0.8, 0.9)), (64, (0.65, 0.9)), (128, (0.9,)), (256, (0.9,))):
        for load in loads:
            errors = _agree(inf, curves[gpu], limit, 2, load)
            assert all(abs(e) <= 0.10 for e in errors.values()), (limit, load, errors)


@pytest.mark.parametrize("gpu", ["RTX-3060", "RTX-A6000"])
def test_two_replicas_with_a_short_delay_within_10_percent_at_every_load(bert_curves, gpu):
    # a 1 ms delay: at heavy load most closes wait for a replica and move the other's residual by Q − R, which the
    # pair chain's grid spreads as it does without a delay; solved on two grids and extrapolated at every delay
    # (model/pair_chain.py FINE), where the one grid was +6.6/+8.2/+12.4 % at RTX 3060, limit 512, 90 %. Limits
    # above LEFTOVER_LIMIT, out of reach at 1–90 % on these curves (the simulations' largest batch 117)
    inf, curves = bert_curves
    inf = inf.model_copy(update={"max_queue_delay": 0.001})
    for limit, load in ((512, 0.01), (512, 0.3), (512, 0.65), (512, 0.9), (1024, 0.8), (1024, 0.9)):
        errors = _agree(inf, curves[gpu], limit, 2, load)
        assert all(abs(e) <= 0.10 for e in errors.values()), (limit, load, errors)


@pytest.mark.parametrize("delay", [None, 0.01])
def test_two_replicas_whose_batches_reach_a_limit_above_256_within_10_percent(bert_curves, delay):
    # past the 1–90 % target: at 95 % of capacity batches reach a limit of 300 on the RTX A6000's curve (the
    # simulation's largest 199 to 221 over seeds 1–5), where the pair chain stops; their chain with full batches
    # (model/filling_chain.py), where the one-server chain with a batch at the limit taken as closing there was
    # −34.8/−31.8/−27.2 % (no delay) and −36.5/−37.8/−33.7 % (10 ms)
    inf, curves = bert_curves
    inf = inf.model_copy(update={"max_queue_delay": delay})
    service_of = curves["RTX-A6000"]
    rate = 0.95 * 2 * 300 / service_of(300)
    assert type(batching_chain(rate, 2, 300, delay or 0.0, service_of)).__name__ == "FillingChain"
    errors = _agree(inf, service_of, 300, 2, 0.95)
    assert all(abs(e) <= 0.10 for e in errors.values()), errors


@pytest.mark.parametrize("gpu", ["RTX-3060", "RTX-A6000"])
def test_three_replicas_within_10_percent_at_every_load(bert_curves, gpu):
    # the limit out of reach: the one-server chain three times as fast up to MULTI_REPLICA_LOAD, the embedded chain
    # sampled beyond (model/sampled_chain.py), where the one-server chain was −4 to −25 % p95 at 80 % and lower at 90 %
    inf, curves = bert_curves
    for load in (0.01, 0.3, MULTI_REPLICA_LOAD, 0.65, 0.8, 0.9):
        errors = _agree(inf, curves[gpu], 4096, 3, load)
        assert all(abs(e) <= 0.10 for e in errors.values()), (load, errors)


@pytest.mark.parametrize("gpu", ["RTX-3060", "RTX-A6000"])
@pytest.mark.parametrize("replicas", [4, 5, 6, 8])
def test_four_or_more_replicas_within_10_percent_at_every_load(bert_curves, bert_plans, gpu, replicas):
    # the plan's limit (1,931 and 4,096), out of reach: the one-server chain n times as fast up to MULTI_REPLICA_LOAD,
    # the embedded chain sampled beyond (model/sampled_chain.py), where the one-server chain was −25 to −62 % at
    # p95/p99 at 80–90 %. (At 4,096 on the RTX 3060, 8 replicas, 90 %, the simulation's seed 1 is its highest of
    # seeds 1–5, p95 325 ms against 278–286: −11 % there, −0.5 % against the five's mean; model/sampled_chain.py.)
    inf, curves = bert_curves
    limit = bert_plans[1][gpu].batch_size
    loads = (0.01, 0.3, MULTI_REPLICA_LOAD, 0.65, 0.8, 0.9) if replicas in (4, 8) else (0.65, 0.8, 0.9)
    for load in loads:
        errors = _agree(inf, curves[gpu], limit, replicas, load)
        assert all(abs(e) <= 0.10 for e in errors.values()), (load, errors)


def test_the_sampled_chain_is_the_same_floats_run_to_run(bert_curves):
    # model/batching_store.py keeps a chain's percentiles by its inputs: the sampling's fixed seed makes them a pure
    # function of those inputs
    from planner.model.sampled_chain import sampled_stationary

    inf, curves = bert_curves
    service_of = curves["RTX-3060"]
    rate = 0.9 * 4 * 1931 / service_of(1931)
    first, again = (sampled_stationary(rate, 4, 1931, inf.max_queue_delay, service_of) for _ in range(2))
    assert first is not None and again is not None
    assert first[2] == again[2]
    assert first[0].tobytes() == again[0].tobytes() and first[1].tobytes() == again[1].tobytes()
    assert sampled_stationary(rate, 4, 64, inf.max_queue_delay, service_of) is None  # batches fill a limit of 64


@pytest.mark.parametrize("gpu", ["RTX-3060", "RTX-A6000"])
@pytest.mark.parametrize(("replicas", "limit"), [(2, 16), (2, 64), (2, 128), (3, 16), (3, 64), (3, 256)])
def test_replicas_whose_batches_fill_at_times_within_10_percent_at_every_load(bert_curves, gpu, replicas, limit):
    # batches that reach their limit at times: past MULTI_REPLICA_LOAD their chain with full batches sampled
    # (model/filling_chain.py; three: model/sampled_chain.py first), where one server twice as fast was −11 to −22 %
    # p95 at 80 % and −18 to −32 % at 90 %, and −12 % p99 at 65 %, and three times as fast −22 % p95 at 80 % and down
    # to −49 % p99 at 90 %
    inf, curves = bert_curves
    for load in (0.01, 0.3, MULTI_REPLICA_LOAD, 0.65, 0.8, 0.9):
        errors = _agree(inf, curves[gpu], limit, replicas, load)
        assert all(abs(e) <= 0.10 for e in errors.values()), (load, errors)


@pytest.mark.parametrize("gpu", ["RTX-3060", "RTX-A6000"])
@pytest.mark.parametrize(("replicas", "limit"), [(4, 64), (8, 256)])
def test_four_or_more_replicas_whose_batches_fill_within_10_percent_past_the_stated_load(bert_curves, gpu, replicas,
                                                                                        limit):
    # past MULTI_REPLICA_LOAD a seeded Monte Carlo of the chain with full batches and their backlog, latency sampled
    # per request (model/filling_chain.py), where one server as many times as fast with what full batches leave
    # behind (LeftoverChain) was −24 to −55 % p95 at 80–90 %; limit 64, 4 replicas at 90 %: RTX 3060 −41 % p95
    inf, curves = bert_curves
    for load in (0.65, 0.9):
        errors = _agree(inf, curves[gpu], limit, replicas, load)
        assert all(abs(e) <= 0.10 for e in errors.values()), (load, errors)


@pytest.mark.parametrize("gpu", ["RTX-3060", "RTX-A6000"])
def test_three_replicas_whose_batches_fill_without_a_delay_within_10_percent(bert_curves, gpu):
    # no max_queue_delay: most closes leave requests (limit 16), their chain with full batches sampled
    # (model/filling_chain.py), where what they leave and the other two's residuals (model/leftover_triple_chain.py)
    # was +10.4 % p95 at RTX 3060, 64, 80 % and +23.7 % p50 at 128, 90 %
    inf, curves = bert_curves
    inf = inf.model_copy(update={"max_queue_delay": None})
    for limit, load in ((16, 0.65), (16, 0.8), (16, 0.9), (64, 0.8), (128, 0.9)):
        errors = _agree(inf, curves[gpu], limit, 3, load)
        assert all(abs(e) <= 0.10 for e in errors.values()), (limit, load, errors)


@pytest.mark.parametrize("gpu", ["RTX-3060", "RTX-A6000"])
@pytest.mark.parametrize("replicas", [2, 4])
def test_several_replicas_within_10_percent_up_to_the_stated_load(bert_curves, gpu, replicas):
    inf, curves = bert_curves
    for load in (0.01, 0.3, MULTI_REPLICA_LOAD):
        errors = _agree(inf, curves[gpu], 64, replicas, load)
        assert all(abs(e) <= 0.10 for e in errors.values()), (load, errors)


@pytest.mark.parametrize("gpu", ["RTX-3060", "RTX-A6000"])
@pytest.mark.parametrize(("replicas", "limit", "delay"), [(2, 64, None), (3, 16, None), (4, 64, None),
                                                       (8, 256, 0.001)])
def test_replicas_whose_batches_fill_with_a_short_delay_within_10_percent(bert_curves, gpu, replicas, limit, delay):
    # up to MULTI_REPLICA_LOAD, the delay shorter than a full batch's turn (S(limit)/replicas): their chain with full
    # batches sampled (model/filling_chain.py), where one server as many times as fast with what they leave behind
    # (LeftoverChain) was −72 to +22 % p95 with no delay and −61 to +18 % with 1 ms (RTX A6000, 4, 64, 50 %: −55 % and
    # −52 %; two, 50 %: −31 % with none), and where batches the sampled chain draws reach the limit, the one-server
    # chain −35 % p95 (RTX A6000, 4, 64, 30 %, no delay)
    inf, curves = bert_curves
    inf = inf.model_copy(update={"max_queue_delay": delay})
    for load in (0.1, 0.3, 0.5):
        errors = _agree(inf, curves[gpu], limit, replicas, load)
        assert all(abs(e) <= 0.10 for e in errors.values()), (load, errors)


@pytest.mark.parametrize(("gpu", "replicas", "limit", "load", "delay", "kind"), [
    ("RTX-A6000", 8, 64, 0.5, 0.005, "LeftoverChain"), ("RTX-A6000", 6, 64, 0.6, 0.002, "FillingChain")])
def test_below_the_stated_load_one_server_is_kept_where_few_closes_wait(bert_curves, gpu, replicas, limit, load, delay,
                                                                        kind):
    # below MULTI_REPLICA_LOAD batches that may fill stay one server as many times as fast with what they leave
    # (LeftoverChain) where at most WAITING_SHARE of its closes wait for a replica, though the delay is shorter than
    # a full batch's turn (8 replicas, 5 ms: 4e-6 of its closes wait); where more wait (6 replicas, 2 ms: 17 %,
    # LeftoverChain −14 % p99) they are sampled with full batches (model/filling_chain.py)
    inf, curves = bert_curves
    service_of = curves[gpu]
    rate = load * replicas * limit / service_of(limit)
    assert service_of(limit) / replicas > delay
    assert type(batching_chain(rate, replicas, limit, delay, service_of)).__name__ == kind
    errors = _agree(inf.model_copy(update={"max_queue_delay": delay}), service_of, limit, replicas, load)
    assert all(abs(e) <= 0.10 for e in errors.values()), errors


@pytest.mark.parametrize("gpu", ["RTX-3060", "RTX-A6000"])
@pytest.mark.parametrize("replicas", [3, 4, 8])
def test_three_or_more_replicas_without_a_delay_within_10_percent_at_every_load(bert_curves, bert_plans, gpu,
                                                                                replicas):
    # no max_queue_delay: every close waits for a replica in the one-server chain (r = S(b)/c > 0), which was +9 to
    # +24 % p99 at 1 % of capacity and −5 to −72 % p95 at 20–90 %; the embedded chain sampled at every load
    # (model/sampled_chain.py; three replicas past MULTI_REPLICA_LOAD too, where triple_chain's grid was +26 to +32 %
    # at 90 %), the plan's limit out of reach
    inf, curves = bert_curves
    inf = inf.model_copy(update={"max_queue_delay": None})
    limit = bert_plans[1][gpu].batch_size
    for load in (0.01, 0.05, 0.3, 0.5, 0.9):
        errors = _agree(inf, curves[gpu], limit, replicas, load)
        assert all(abs(e) <= 0.10 for e in errors.values()), (load, errors)


@pytest.mark.parametrize(("gpu", "replicas", "limit", "load", "delay"), [
    ("RTX-A6000", 3, 16, 0.95, 0.01),  # the most the one-server chain was measured above (KNOWN_LOW_MARGIN)
    ("RTX-A6000", 2, 16, 0.95, 0.01), ("RTX-3060", 4, 16, 0.8, 1e-4), ("RTX-3060", 3, 64, 0.8, 1e-4)])
def test_one_server_is_within_the_margin_of_the_chain_followed_past_it(bert_curves, gpu, replicas, limit, load, delay):
    # plans/serving.py decides a count missed where one server as many times as fast (batching_chain.one_server_low)
    # is past KNOWN_LOW_MARGIN × the target: it must be low, or little above, where batching_chain follows the
    # replicas past it
    from planner.model.batching_chain import batching_chain, one_server_low
    from planner.model.chain_scope import KNOWN_LOW_MARGIN

    service_of = bert_curves[1][gpu]
    rate = load * replicas * limit / service_of(limit)
    low = one_server_low(rate, replicas, limit, delay, service_of)
    assert low is not None
    followed = batching_chain(rate, replicas, limit, delay, service_of)
    ratios = [low.percentile(q).value() / followed.percentile(q).value() for q in (0.5, 0.95, 0.99)]
    assert max(ratios) <= 1.05 < KNOWN_LOW_MARGIN / 1.15, ratios
