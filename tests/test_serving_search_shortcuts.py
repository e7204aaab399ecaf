"""The serving search decides replica counts on what decides them: one pass for both Poisson quantiles, each M/D/c
quantile on its own, TPOT before the queue, and the TTFT p50 only for the plan kept — each the same number or
answer as the whole computation (planner/plans/serving.py llm_meets, llm_latency(whole=False),
batch_latency(whole=False))."""
import dataclasses
import math

import numpy as np
import pytest
from scipy import stats

import planner

from planner.dataclass import build
from planner.model import md_c
from planner.model.queueing import poisson_quantile, poisson_quantiles
from planner.plans.serving import (LLM_QUANTILES, _Candidate, _maybe_least_ttft, _meets, batch_latency,
                                     llm_latency, llm_meets, replicas_needed)

from .conftest import ROOT
from .test_queue_agreement import a100_timing


@pytest.mark.parametrize("mean", [0.0, 1e-4, 0.3, 7.5, 120.0, 2500.0])
@pytest.mark.parametrize("cap", [0, 5, 10_000])
def test_both_poisson_quantiles_in_one_pass_are_scipys(mean, cap):
    # 2500: e^−mean underflows, the sum starts 40 standard deviations below the mean
    qs = (0.95, 0.5, 0.95)
    expected = tuple(0 if mean == 0.0 else min(cap, int(stats.poisson.ppf(q, mean))) for q in qs)
    assert poisson_quantiles(mean, qs, cap) == expected
    assert tuple(poisson_quantile(mean, q, cap) for q in qs) == expected


def test_quick_poisson_quantiles_are_the_summed_ones(monkeypatch):
    # the pass without an exp per term answers only where it is clear of every threshold: then it is the same k as
    # the pass summing exp(log pmf) (queueing._quick_poisson_quantiles), and it answers almost always
    from planner.model import queueing

    means = [0.01 * 1.037 ** i for i in range(300)]  # 0.01 … ~540
    cases = [(mean, qs, cap) for mean in means for qs in ((0.5, 0.95), (0.95,), (0.99, 0.5)) for cap in (3, 64, 4096)]
    queueing.poisson_quantiles.cache_clear()
    quick = [queueing.poisson_quantiles(*case) for case in cases]
    answered = sum(queueing._quick_poisson_quantiles(mean, sorted(range(len(qs)), key=lambda i: qs[i]),
                                                     sorted(q - 1e-12 for q in qs), [cap] * len(qs), cap)
                   for mean, qs, cap in cases)
    monkeypatch.setattr(queueing, "_quick_poisson_quantiles", lambda *args: False)
    queueing.poisson_quantiles.cache_clear()
    assert [queueing.poisson_quantiles(*case) for case in cases] == quick
    queueing.poisson_quantiles.cache_clear()
    assert answered >= 0.99 * len(cases)


def test_poisson_quantile_within_is_the_summed_quantiles_side():
    # Chernoff bounds answer whether a quantile is ≤ k only where they clear q by far more than the sums' error:
    # every answer is poisson_quantiles' side of k (the TPOT verdicts of the replica searches), and most near the
    # quantile and all far from it are answered
    from planner.model.queueing import poisson_quantile_within

    answered = total = 0
    for mean in [0.0, 1e-6, 0.02, 0.7, 3.0, 17.5, 60.0, 240.0, 1900.0]:
        for cap in (1, 8, 64, 255, 4095):
            for q in (0.5, 0.95):
                quantile = poisson_quantiles(mean, (q,), cap)[0]
                for k in range(max(-1, quantile - 40), min(cap, quantile + 40) + 2):
                    found = poisson_quantile_within(mean, q, cap, k)
                    total += 1
                    if found is not None:
                        answered += 1
                        assert found == (quantile <= k), (mean, q, cap, k, quantile)
                    elif abs(k - quantile) > 4.0 * math.sqrt(mean) + 4:
                        raise AssertionError(("far from the quantile, not answered", mean, q, cap, k))
    assert answered >= 0.6 * total


@pytest.mark.parametrize("servers, load, spread", [(64, 32.0, 0.1), (8, 6.0, 0.05), (64, 60.0, 0.02),
                                                   (1, 0.9, 0.3), (4, 3.99, 0.01)])
def test_one_md_c_quantile_alone_is_the_same_number(servers, load, spread):
    md_c.clear_memos()
    together = md_c.md_c_wait_plus_uniform_quantiles(servers, load, 1.0, spread, LLM_QUANTILES)
    md_c.clear_memos()
    alone = tuple(md_c.md_c_wait_plus_uniform_quantile(servers, load, 1.0, spread, q, max(LLM_QUANTILES))
                  for q in reversed(LLM_QUANTILES))
    assert alone == tuple(reversed(together))


@pytest.fixture(scope="module")
def seven_b(catalog):
    return a100_timing(catalog)


def test_tpot_limits_kept_per_section_and_timing_are_each_ones_own(seven_b):
    """_tpot_meets keeps each (inference section, timing)'s TPOT limits (_tpot_limits, the same at every replica
    count): sections with other TPOT targets asking of one timing object in turn (the headroom search shares its
    timings) each get the answers of limits worked out afresh, and every settled answer is the percentiles' own."""
    from planner.plans import serving

    inf, timing_at = seven_b
    timings = [timing_at(batch) for batch in (1, 8, 64)]
    sections = []
    for timing in timings[1:]:
        at = llm_latency(inf, timing, math.floor(inf.rate / timing.capacity_rps) + 2, inf.rate)
        for scale in (0.97, 1.0, 1.03):
            for keys in (("tpot_p50",), ("tpot_p95",), ("tpot_p50", "tpot_p95")):
                sections.append(inf.model_copy(update={"slo": inf.slo.model_copy(update={
                    "tpot_p50": None, "tpot_p95": None, **{k: at[k] * scale for k in keys}})}))
    cases = [(section, timing, replicas) for timing in timings
             for replicas in range(math.floor(inf.rate / timing.capacity_rps) + 1,
                                   math.floor(inf.rate / timing.capacity_rps) + 8)
             for section in sections]
    serving._TPOT_LIMITS.clear()
    kept = [serving._tpot_meets(section, timing, replicas, inf.rate) for section, timing, replicas in cases]
    fresh = []
    for section, timing, replicas in cases:
        serving._TPOT_LIMITS.clear()
        fresh.append(serving._tpot_meets(section, timing, replicas, inf.rate))
    assert kept == fresh
    for (section, timing, replicas), answer in zip(cases, kept):
        if answer is not None:
            p50, p95 = serving._tpot(section, timing, replicas, inf.rate)
            assert answer == (serving._within(p50, section.slo.tpot_p50) and serving._within(p95, section.slo.tpot_p95))
    assert {True, False} <= set(kept)


@pytest.mark.parametrize("cut", [None, 0.3])
def test_a_configurations_own_verdict_is_llm_meets(seven_b, cut):
    """_llm_meets_of(inf, timing) — llm_meets with what reads neither the replica count nor the rate worked out once
    (the TPOT limits kept by batch, the TTFT waits allowed) — answers as llm_meets at every count, unlimited
    replicas and other rates, for every mix of targets, each crossed by the sweep (`cut`: a cut-in costing that
    share of a prefill, as with chunked prefill, so the cut-in mean reads D − cut, not D − prefill)."""
    from planner.plans import serving

    inf, timing_at = seven_b
    answers = set()
    for batch in (1, 8, 64):
        timing = timing_at(batch)
        if cut is not None:
            timing = dataclasses.replace(timing, prefill_cut_s=timing.prefill_s * cut)
        stable = math.floor(inf.rate / timing.capacity_rps) + 1
        at = llm_latency(inf, timing, stable + 2, inf.rate)
        for keys in (("ttft_p95",), ("tpot_p95",), ("ttft_p50", "tpot_p50"), ("ttft_p95", "tpot_p95"),
                     ("ttft_p50", "ttft_p95", "tpot_p50", "tpot_p95")):
            for scale in (0.9, 0.97, 0.99, 1.0, 1.01, 1.03, 1.1):
                section = inf.model_copy(update={"slo": inf.slo.model_copy(update={
                    "ttft_p50": None, "ttft_p95": None, "tpot_p50": None, "tpot_p95": None,
                    **{k: at[k] * scale for k in keys}})})
                meets = serving._llm_meets_of(section, timing, {})
                for rate in (inf.rate, inf.rate * 0.4):
                    for replicas in (None, *range(max(1, math.floor(rate / timing.capacity_rps) + 1),
                                                  math.floor(rate / timing.capacity_rps) + 10)):
                        answer = meets(replicas, rate)
                        assert answer == llm_meets(section, timing, replicas, rate), (batch, keys, scale, replicas)
                        answers.add(answer)
    assert answers == {True, False}


@pytest.mark.parametrize("batch", [1, 16, 64])
@pytest.mark.parametrize("keys", [(), ("ttft_p50",), ("tpot_p50", "ttft_p95"), ("tpot_p95", "ttft_p95"),
                                  ("tpot_p95",)])
def test_meets_is_judging_the_whole_latency(seven_b, batch, keys):
    inf, timing_at = seven_b
    timing = timing_at(batch)
    stable = math.floor(inf.rate / timing.capacity_rps) + 1
    # targets met from two replicas past the stable minimum on (latency falls with replicas)
    at = llm_latency(inf, timing, stable + 2, inf.rate)
    inf = inf.model_copy(update={"slo": inf.slo.model_copy(update={
        "ttft_p50": None, "ttft_p95": None, "tpot_p50": None, "tpot_p95": None, **{k: at[k] for k in keys}})})
    decided = set()
    for replicas in (None, *range(stable, stable + 12)):
        whole = llm_latency(inf, timing, replicas, inf.rate)
        judged = llm_latency(inf, timing, replicas, inf.rate, whole=False)
        assert llm_meets(inf, timing, replicas, inf.rate) == _meets(whole, inf.slo) == _meets(judged, inf.slo)
        assert judged == {k: v for k, v in whole.items() if k != "ttft_p50" or "ttft_p50" in keys}
        decided.add(_meets(whole, inf.slo))
    if any(k.startswith("ttft") for k in keys):
        assert decided == {True, False}  # the sweep crosses the targets


@pytest.mark.parametrize("batch", [1, 8])
@pytest.mark.parametrize("keys", [("latency_p95",), ("latency_p50", "latency_p99"), ()])
def test_dynamic_batching_judged_on_its_targets_is_the_same_numbers(catalog, batch, keys):
    loaded = planner.load_profile(ROOT / "profiles" / "bert-train-then-serve.yaml", catalog)
    inf = loaded.profile.inference
    inf = inf.model_copy(update={"slo": inf.slo.model_copy(update={
        "latency_p50": None, "latency_p95": None, "latency_p99": None, **{k: 0.05 for k in keys}})})

    def service_of(b: float) -> float:
        return 0.002 + 0.004 * (b - 1) / 7

    stable = math.floor(inf.rate * service_of(batch) / batch) + 1
    for replicas in (None, *range(stable, stable + 6)):
        whole = batch_latency(inf, replicas, batch, service_of, inf.rate)
        judged = batch_latency(inf, replicas, batch, service_of, inf.rate, whole=False)
        assert judged == {k: v for k, v in whole.items() if k in keys or k == "latency_p95"}
        assert _meets(judged, inf.slo) == _meets(whole, inf.slo)


QUEUES = [(16, 8.0), (16, 14.5), (64, 57.0), (128, 100.0), (192, 170.0), (256, 251.0), (1024, 1012.0),
          (2048, 2030.0)]


@pytest.mark.parametrize("mean", [0.0, 0.4, 7.5, 120.0, 2500.0])
def test_poisson_split_is_scipys(mean):
    for k in (-1, 0, 3, int(mean) - 40, int(mean) - 1, int(mean), int(mean) + 1, int(mean) + 60, 10_000):
        below, above = md_c._poisson_split(mean, k)
        expected = stats.poisson.cdf(k, mean) if k >= 0 else 0.0
        # the first term's exponent k·ln μ − μ − ln k! carries ~k·1e-16 of rounding: 2e-12 relative at μ = 2500
        assert below == pytest.approx(expected, abs=1e-13, rel=1e-10)
        assert above == pytest.approx(stats.poisson.sf(k, mean) if k >= 0 else 1.0, abs=1e-13, rel=1e-10)


@pytest.mark.parametrize("servers, load", QUEUES)
def test_wait_tail_bounds_hold_the_exact_tail(servers, load):
    # Kingman's bound above, the overshoot's below, around Crommelin's exact P(W > u) at both sides of the kinks jD
    wait = md_c.md_c_wait(servers, load, 1.0)
    u = np.array([0.0, 0.001, 0.01, 0.1, 0.5, 0.999, 1.0, 1.3, 2.7, 6.0])
    exact = 1.0 - wait.cdf(u)
    for point, tail in zip(u, exact):
        lower, upper = md_c.wait_tail_bounds(servers, load, 1.0, float(point))
        assert lower <= tail + 1e-10 and tail <= upper + 1e-10  # the FFT's own error is ~1e-11
        assert upper <= 1.0 and (tail < 1e-3 or upper < 4.0 * tail)  # and worth having where targets lie
        assert md_c._chernoff_tail(servers, load, 1.0, float(point)) >= upper - 2e-15  # its closed-form relaxation


def _asked():
    """The (spread, q, wait) a TTFT verdict is asked at in these tests: spreads of none to 0.3 s, LLM quantiles,
    waits from 2 ms to 5 s."""
    for spread in (0.0, 0.003, 0.02, 0.3):
        for q in LLM_QUANTILES:
            for wait in (0.002, 0.005, 0.01, 0.03, 0.1, 0.3, 1.5, 5.0):
                yield spread, q, wait


@pytest.mark.parametrize("servers, load", QUEUES)
def test_a_settled_quantile_is_on_the_side_computed(servers, load):
    # the bounds may say "not known", never the wrong side; near saturation and at moderate load they decide
    md_c.clear_memos()
    settled = set()
    for spread, q, wait in _asked():
        verdict = md_c.quantile_within(servers, load, 1.0, spread, q, 0.95, wait)
        if verdict is not None:
            computed = md_c.md_c_wait_plus_uniform_quantile(servers, load, 1.0, spread, q, 0.95)
            assert (computed <= wait) == verdict
            settled.add(verdict)
    assert settled  # it does decide
    assert md_c.quantile_within(servers, load * 0.3, 1.0, 0.02, 0.95, 0.95, 0.01) is None  # no FFT to spare


def test_a_quantile_known_from_a_distribution_is_on_the_side_computed():
    # from the queue's own distribution, and from those of fewer and more servers with the same arrivals (X falls
    # with more servers): it may say "not known", never the wrong side, and it decides where the bounds could not
    decided = []
    for servers, load in QUEUES:
        step = max(1, servers // 16)
        queues = [n for n in (servers - step, servers, servers + step) if load < n]
        for neighbours in ((), (queues[0], queues[-1])):
            md_c.clear_memos()
            for n in neighbours:
                md_c._kept_wait(n, load, 1.0)
            for spread, q, wait in _asked():
                verdict = md_c.quantile_within_known(servers, load, 1.0, spread, q, 0.95, wait)
                if verdict is not None:
                    computed = md_c.md_c_wait_plus_uniform_quantile(servers, load, 1.0, spread, q, 0.95)
                    assert (computed <= wait) == verdict
                    bound = md_c.quantile_within(servers, load, 1.0, spread, q, 0.95, wait)
                    decided.append((verdict, bound))
                    md_c.COMPUTED_QUANTILES.clear()  # the next answer from the distribution again
        md_c.clear_memos()
        md_c.STORING[0] = True  # a store keeps every quantile asked for: none is left to the distribution
        assert all(md_c.quantile_within_known(servers, load, 1.0, 0.02, q, 0.95, w) is None
                   for q in LLM_QUANTILES for w in (0.01, 0.1, 1.5))
        md_c.clear_memos()
        assert not md_c.STORING[0]
    assert {verdict for verdict, bound in decided if bound is None} == {True, False}  # where the bounds could not


def test_a_neighbours_distribution_decides_without_the_queues_own():
    # X′ of fewer servers bounds the wait from above, of more servers from below: decided without the FFT of the
    # queue asked about
    md_c.clear_memos()
    md_c._kept_wait(60, 50.0, 1.0)
    assert md_c.quantile_within_known(64, 50.0, 1.0, 0.02, 0.95, 0.95, 0.5) is True
    md_c._kept_wait(72, 50.0, 1.0)
    assert md_c.quantile_within_known(64, 50.0, 1.0, 0.02, 0.95, 0.95, 1e-3) is False
    assert (64, 50.0, 1.0) not in {(w.servers, w.arrival_rate, w.service_s)
                                   for ws in md_c._BY_ARRIVALS.values() for w in ws.values()}
    assert md_c.md_c_wait_plus_uniform_quantile(64, 50.0, 1.0, 0.02, 0.95, 0.95) <= 0.5
    md_c.clear_memos()


@pytest.mark.parametrize("servers, load", QUEUES + [(64, 20.0), (4, 3.99)])
@pytest.mark.parametrize("spread", [0.0, 0.003, 0.05, 0.3])
def test_quantile_bounds_hold_the_computed_quantile(servers, load, spread):
    md_c.clear_memos()
    for q in LLM_QUANTILES:
        lo, hi = md_c.quantile_bounds(servers, load, 1.0, spread, q, 0.95)
        computed = md_c.md_c_wait_plus_uniform_quantile(servers, load, 1.0, spread, q, 0.95)
        assert lo <= computed <= hi


def test_tied_candidates_kept_include_the_least_ttft(seven_b):
    # candidates tied on (instances, GPUs) at several loads: those _maybe_least_ttft drops are never the least, and
    # the least (the first of the least) is the one min() would pick from all of them
    inf, timing_at = seven_b
    md_c.clear_memos()
    for load in (0.3, 0.6, 0.85, 0.95):
        tied = []
        for batch in (1, 4, 16, 64):
            timing = timing_at(batch)
            replicas = max(1, math.ceil(inf.rate / (load * timing.capacity_rps)))

            def judged_at(r, rate, timing=timing):
                return llm_latency(inf, timing, r, rate, whole=False)

            tied.append(build(_Candidate, timing=timing, batch=batch, tp=1, replicas=replicas, instances=1,
                              judged=None, meets=True, capacity_rps=timing.capacity_rps, latency_at=judged_at,
                              gpus_per_instance=1, judged_at=judged_at, rate=inf.rate))
        kept = _maybe_least_ttft(tied, inf.rate)
        least = min(tied, key=lambda c: c.latency["ttft_p95"])
        assert least in kept and min(kept, key=lambda c: c.latency["ttft_p95"]) is least
        assert [c for c in tied if c in kept] == kept  # in order


def _host_then_compute(b: float) -> float:
    """A service curve with a host floor, then compute-bound: batches grow with the rate."""
    return max(0.004, 0.0011 * b)


def _linear(b: float) -> float:
    return 0.002 + 0.0005 * b


@pytest.mark.parametrize("service_of", [_host_then_compute, _linear])
@pytest.mark.parametrize("rate, replicas, delay", [(100.0, 1, 0.004), (300.0, 1, 0.01), (300.0, 2, 0.01),
                                                   (800.0, 4, 0.002), (50.0, 1, 0.0)])
def test_the_leftover_chain_is_the_exact_chain_where_no_batch_fills(service_of, rate, replicas, delay):
    # model/dynamic_batching.py: BatchingChain is exact (closed forms) while no batch reaches its limit; LeftoverChain
    # (built for limits that fill) integrates the same transitions on nodes and spreads each window's requests
    # evenly: where the limit is out of reach the two must give the same percentiles (closer than the 0.1 ms the
    # tool prints; a window of zero delay, whose requests all wait for a replica, within 3 %)
    from planner.model.batching_chain import BatchingChain, LeftoverChain, batching_chain

    exact = batching_chain(rate, replicas, 256, delay, service_of)
    assert isinstance(exact, BatchingChain)
    leftover = LeftoverChain(rate, delay, 256, replicas, service_of)
    for a, b in zip(exact.values([0.5, 0.95, 0.99]), leftover.values([0.5, 0.95, 0.99])):
        assert b == pytest.approx(a, rel=0.03 if delay == 0.0 else 1e-3)


def test_a_percentile_compared_step_by_step_decides_as_its_value():
    # dynamic batching's judging percentiles are bisected only as far as a comparison needs (Percentile): every
    # answer is the one the whole numbers give, at and around the values themselves
    from planner.model.batching_chain import batching_chain
    from planner.model.percentile import TOLERANCE, Percentile

    chains = [batching_chain(300.0, 1, 256, 0.01, _host_then_compute), batching_chain(800.0, 2, 8, 0.002, _linear),
              batching_chain(50.0, 1, 64, 0.0, _linear)]
    cases = [(chain, q) for chain in chains for q in (0.5, 0.95, 0.99)]
    values = [chain.percentile(q).value() for chain, q in cases]
    assert len(set(values)) == len(values)

    def fresh(chain, q):  # a new Percentile of the same chain and q, nothing worked out yet
        chain.percentiles.clear()
        return chain.percentile(q)

    for (chain, q), value in zip(cases, values):
        # within(limit) reads the cdf at the limit; value() is worked out to TOLERANCE of it: limits beyond that
        for limit in (value, value * (1 - 3 * TOLERANCE), value * (1 + 3 * TOLERANCE), value * 0.9, value * 1.1, 0.0):
            assert fresh(chain, q).within(limit) == (value <= limit)
        for (other_chain, other_q), other in zip(cases, values):
            mine = fresh(chain, q)
            theirs = mine if other_chain is chain and other_q == q else fresh(other_chain, other_q)
            assert mine.below(theirs) == (value < other)
        assert fresh(chain, q).value() == value
    exact = Percentile(0.01, 0.01)
    assert exact.value() == 0.01 and exact.within(0.01) and not exact.within(0.0099)


@pytest.mark.parametrize("batch", [1, 16, 64])
def test_a_settled_replica_count_is_what_every_larger_cap_finds(seven_b, batch):
    # replicas_needed's `settled` (h, n): every cap from h on (and no cap) searches its way to the same n, so the
    # serving search reuses n across the instance sizes that differ only in their cap (plans/serving._sized)
    inf0, timing_at = seven_b
    timing = timing_at(batch)
    stable = math.floor(inf0.rate / timing.capacity_rps) + 1
    galloped = set()
    for past in (0, 1, 3, 9):
        at = llm_latency(inf0, timing, stable + past, inf0.rate)
        inf = inf0.model_copy(update={"slo": inf0.slo.model_copy(update={
            "ttft_p50": None, "ttft_p95": at["ttft_p95"], "tpot_p50": None, "tpot_p95": None})})
        seen: dict[int | None, bool] = {}

        def meets(r: int | None, inf=inf, seen=seen) -> bool:
            if r not in seen:
                seen[r] = llm_meets(inf, timing, r, inf.rate)
            return seen[r]

        def latency(r: int | None, inf=inf) -> dict[str, float]:
            return llm_latency(inf, timing, r, inf.rate)

        settled: list[tuple[int, int]] = []
        found = replicas_needed(inf.rate, timing.capacity_rps, latency, inf.slo, None, meets, settled)
        assert found <= stable + past and meets(found)
        assert len(settled) == 1
        threshold, answer = settled[0]
        # the stable minimum is every cap's answer (from 0); past it, from the gallop's first meeting count, at or
        # above it
        assert answer == found and (threshold == 0 if found == stable else threshold >= found)
        galloped.add(found > stable)
        for cap in range(threshold + 40):
            again = replicas_needed(inf.rate, timing.capacity_rps, latency, inf.slo, cap, meets)
            if cap >= threshold:
                assert again == found
            elif cap < found:
                assert again > cap  # the caller's cheaper plan wins: none of these counts is used
    assert galloped == {True, False}  # answers at the stable minimum and answers the gallop and bisection found


@pytest.mark.parametrize("delay", [0.0, 0.004, 0.05])
def test_an_open_chain_is_every_larger_limits_chain(delay):
    # dynamic_batching.batching_chain: a chain that no batch limit from its `top` up changes (`open`) is shared by
    # those limits (plans/serving._batch_configuration), and where a replica is always free (always_free) one chain
    # of unlimited replicas serves every count: both must be the chain each limit and count would build itself, and
    # some limits must bind (a LeftoverChain, not shared)
    from planner.model.batching_chain import LeftoverChain, batching_chain
    from planner.model.chain_scope import always_free

    shared = bound = free = 0
    for rate in (0.5, 60.0, 250.0, 880.0):
        for replicas in (1, 5):
            chain = batching_chain(rate, replicas, 4096, delay, _host_then_compute)
            for limit in (2, 8, 64, 1024):
                own = batching_chain(rate, replicas, limit, delay, _host_then_compute)
                if chain.open and limit >= chain.top:
                    assert own.values([0.5, 0.95, 0.99]) == chain.values([0.5, 0.95, 0.99])
                    shared += 1
                elif isinstance(own, LeftoverChain):
                    bound += 1
                if always_free(rate, replicas, limit, delay, _host_then_compute):
                    assert own.values([0.5, 0.95, 0.99]) == \
                        batching_chain(rate, None, limit, delay, _host_then_compute).values([0.5, 0.95, 0.99])
                    free += 1
    assert shared > 5 and bound >= 3 and free >= (3 if delay else 0)  # no delay: a replica is never free in time


def test_configurations_pruned_by_the_cost_bound_are_not_made(catalog, monkeypatch):
    # _llm_candidates prunes a batch by its stable minimum from the timing alone once a configuration meets the
    # targets: the same candidates are chosen as with every configuration made first (the pruned ones and the
    # 'closest' plans past that point are never chosen: _least_llm takes the cheapest meeting one)
    from planner.plans import serving

    loaded = planner.load_profile(ROOT / "profiles" / "serve-7b-chat.yaml", catalog)
    made = []
    config = serving._llm_config
    monkeypatch.setattr(serving, "_llm_config", lambda *a: made.append(1) or config(*a))
    lean = planner.plan(loaded, catalog).estimate.inference.plans
    fewer = len(made)

    class Eager(serving._Degree):
        __slots__ = ()

        def stable(self, batch: int) -> int:
            return self.at(batch).stable  # every configuration made before the bound is read

    md_c.clear_memos()
    made.clear()
    monkeypatch.setattr(serving, "_Degree", Eager)
    eager = planner.plan(loaded, catalog).estimate.inference.plans
    assert [repr(p) for p in eager] == [repr(p) for p in lean]
    assert fewer < 0.6 * len(made)


@pytest.mark.parametrize("name", ["serve-7b-chat", "serve-gpt-oss-120b-chat"])
def test_the_choice_made_as_sizings_come_is_the_choice_among_all(catalog, monkeypatch, name):
    # _llm_chosen keeps only the sizings tied with the least (instances, GPUs) among the meeting ones, and the others
    # until one meets (_Choice), and works a degree's sizings out once per (replicas an instance holds, fewest
    # instances before) (_Degree.sized): the plans must be those of _least_llm over every sizing, each degree sized
    # again for every instance shape
    from planner.plans import serving

    loaded = planner.load_profile(ROOT / "profiles" / f"{name}.yaml", catalog)
    md_c.clear_memos()
    lean = planner.plan(loaded, catalog).estimate.inference.plans

    class KeepAll(serving._Choice):
        __slots__ = ()

        def add(self, s):  # every sizing, in order: _least_llm's two passes over all of them
            self.empty = False
            self.closest.append(s)

    class Forgetful(dict):
        def __setitem__(self, key, value):
            pass

    class Unshared(serving._Degree):
        __slots__ = ()

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.sized = Forgetful()

    md_c.clear_memos()
    monkeypatch.setattr(serving, "_Choice", KeepAll)
    monkeypatch.setattr(serving, "_Degree", Unshared)
    every = planner.plan(loaded, catalog).estimate.inference.plans
    assert [repr(p) for p in every] == [repr(p) for p in lean]


@pytest.mark.parametrize("preset", ["llama-2-7b", "mixtral-8x7b"])
def test_a_decode_step_from_its_terms_is_the_written_out_step(catalog, preset):
    # inference_time.decode_terms keeps what a step reads that is the same at every batch (plans/serving.py times
    # thousands of batches at one context): decode_step_at must be the formula's floats, bit for bit, for a dense
    # model (the weights read once) and a mixture of experts (the experts the batch's tokens touch)
    from planner.model.inference_time import decode_step_at, decode_terms
    from planner.model.workload import decode_flops, kv_cache_bytes, weights_read_bytes, workload_for
    from planner.project.load import resolve_architecture
    from planner.schema.profile import ModelSection

    work = workload_for(resolve_architecture(ModelSection(preset=preset), catalog))
    assert work.is_moe == (preset == "mixtral-8x7b")
    for context in (100.0, 640.0, 33_000.5):
        terms = decode_terms(work, context, "bf16", "fp8")
        for batch in (1, 2, 7, 48, 256, 4096):
            written = max(batch * decode_flops(work, context) / 3.1e14, (
                weights_read_bytes(work, "bf16", batch) + batch * kv_cache_bytes(work, context, "fp8")) / 1.7e12) \
                + 2.5e-5
            assert decode_step_at(terms, work, batch, "bf16", 3.1e14, 1.7e12, 2.5e-5) == written


def test_the_largest_batch_meeting_with_other_counts_known_is_the_bisections(catalog):
    # _Degree.batch_meeting answers some of a count's TPOT questions from the batches other counts found (more
    # replicas, fewer prefills cutting in): the same batch as a degree that knows no other count, in any order
    from planner.model.interconnect import intra_node_gbs
    from planner.model.workload import workload_for
    from planner.plans.serving import _Degree

    loaded = planner.load_profile(ROOT / "profiles" / "serve-7b-chat.yaml", catalog,
                                  ["constraints.gpus=[A100-80GB-SXM]"])
    inf, gpu = loaded.profile.inference, catalog.gpus["A100-80GB-SXM"]
    plan = planner.plan(loaded, catalog).estimate.inference.plans[0]
    offer = next(o for o in catalog.offers({"A100-80GB-SXM"}) if o.offer.gpus_per_instance == 1)
    work = workload_for(loaded.arch)
    link_gbs, link = intra_node_gbs(gpu, offer)
    for rate in (inf.rate, 4.0 * inf.rate):
        at_rate = inf.model_copy(update={"rate": rate})
        counts = [1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144]
        alone = {r: _Degree(work, at_rate, gpu, 1, link_gbs, link, plan.efficiency).batch_meeting(r) for r in counts}
        assert len(set(alone.values())) > 2  # the counts reach several batches, and none
        for order in (counts, counts[::-1], counts[1::2] + counts[::2]):
            shared = _Degree(work, at_rate, gpu, 1, link_gbs, link, plan.efficiency)
            assert {r: shared.batch_meeting(r) for r in order} == alone


def test_the_sampled_chains_sorted_free_times_are_the_least_replaced():
    # model/sampled_chain.py taken: a copy's free times kept sorted (the least first) step as argmin's did — all less
    # the gap, the least replaced by the batch's service — the same floats as a set, ties (every replica idle at
    # the start) included
    import numpy as np

    from planner.model.sampled_chain import taken

    rng = np.random.default_rng(3)
    for c in (1, 2, 3, 8):
        free = np.round(rng.random((500, c)) * 4.0) / 4.0 - 1.0  # many equal free times
        gap, busy = rng.random(500), np.round(rng.random(500) * 4.0) / 4.0
        before = free.copy()
        first = before.argmin(axis=1)
        before -= gap[:, None]
        before[np.arange(500), first] = busy
        after = taken(np.sort(free, axis=1).T.copy(), gap, busy)
        assert np.array_equal(np.sort(before, axis=1), after.T)


def test_the_filling_chains_order_is_the_stable_sorts():
    import numpy as np

    from planner.model.filling_chain import stable_order

    rng = np.random.default_rng(4)
    for values in (rng.random(10_000), np.round(rng.random(10_000) * 50.0), np.zeros(7), np.arange(5.0)[::-1]):
        assert np.array_equal(stable_order(values), np.argsort(values, kind="stable"))


def _host_floor(b: float) -> float:
    """Every batch up to 64 at a host floor of 11.76 ms (fast GPUs' BERT curve at small batches), slower beyond."""
    return 0.01176 if b <= 64 else 0.01176 + 1e-3 * (b - 64)


def test_a_chain_read_past_its_key_is_found_again_only_for_the_same_times(monkeypatch):
    # batching_chain's `shared`: a sampled chain reads S past the one-server chain's reach (its key); it is found
    # again for a curve with the same floats at every size it read (another function: another GPU), and made again
    # where one of those differs
    import planner.model.batching_chain as bc

    made = []
    real = bc._made
    monkeypatch.setattr(bc, "_made", lambda *a: made.append(a[1]) or real(*a))
    shared: bc.ChainsByCurve = {}
    first = bc.batching_chain(2000.0, 8, 64, 1e-4, _host_floor, shared)
    read = max(b for b in range(1, 65) if any(b in {s for s, _ in further} for further, _ in
                                              next(iter(shared.values()))))
    assert first.top > 32 and read > 32  # sampled past the one-server chain's 32 sizes
    again = bc.batching_chain(2000.0, 8, 64, 1e-4, lambda b: _host_floor(b), shared)
    assert again is first and len(made) == 1
    other = bc.batching_chain(2000.0, 8, 64, 1e-4, lambda b: _host_floor(b) * (1.5 if b == read else 1.0), shared)
    assert other is not first and len(made) == 2


STEPS = (
    11.756, 11.756, 11.756, 11.756, 11.756, 11.756, 11.756, 12.566, 13.316, 14.066, 19.741, 20.491, 21.788,
    22.538, 23.288, 24.585, 25.335, 26.633, 27.383, 28.133, 33.807, 34.557, 35.854, 36.605, 37.355, 38.652,
    39.402, 40.699, 41.449, 42.199, 47.874, 48.624, 49.921, 50.671, 51.421, 52.718, 53.468, 54.766, 55.516,
    56.266, 61.940, 62.690, 63.987, 64.737, 65.488, 66.785, 67.535, 68.832, 69.582, 70.332, 76.006, 76.757,
    78.054, 78.804, 79.554, 80.851, 81.601, 82.899, 83.649, 84.353, 90.027, 90.777, 92.075, 92.825,
)
"""bert-train-then-serve's batch times (ms) at 1 … 64 on a fast GPU (a host floor up to 7, then kernels' waves: a
step every 10): the latency's quantiles sit on their atoms, hard for a short sample."""


def _steps(b: float) -> float:
    return STEPS[int(b) - 1] / 1e3


def _percentiles(lat, cum):
    import numpy as np

    return [float(lat[min(int(np.searchsorted(cum, q)), lat.size - 1)]) for q in (0.5, 0.95, 0.99)]


def test_a_filling_chain_stops_recording_once_its_percentiles_settle(monkeypatch):
    # filling_sample records a block at a time and stops at the first where p50, p95 and p99 are each within
    # SETTLED of their value to SETTLED_Z standard errors (_settled): a smooth curve settles after one block, within
    # SETTLED of the sample of all RECORD blocks; the stepped one (atoms at the quantiles) keeps all RECORD blocks
    import planner.model.filling_chain as fc
    from planner.model.sampled_chain import BLOCK, CHAINS, RECORD

    def linear(b: float) -> float:
        return 0.01176 + 0.003 * (b - 1)

    early = fc.filling_sample(0.7 * 4 * 64 / linear(64), 4, 64, 1e-4, linear)
    assert early[0].size == CHAINS * BLOCK
    stepped = fc.filling_sample(2000.0, 8, 64, 1e-4, _steps)
    assert stepped[0].size == RECORD * CHAINS * BLOCK
    monkeypatch.setattr(fc, "_settled", lambda *_: False)
    full = fc.filling_sample(0.7 * 4 * 64 / linear(64), 4, 64, 1e-4, linear)
    assert full[0].size == RECORD * CHAINS * BLOCK
    assert all(abs(a / b - 1) <= fc.SETTLED for a, b in zip(_percentiles(*early), _percentiles(*full)))
    again = fc.filling_sample(2000.0, 8, 64, 1e-4, _steps)  # the first block is the same floats either way
    assert all(a == b for a, b in zip(_percentiles(*again), _percentiles(*stepped)))
