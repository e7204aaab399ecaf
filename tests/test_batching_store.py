"""Dynamic batching's percentiles kept between `gpuplan estimate` runs (planner/model/batching_store.py): a run that
reads them decides and prints exactly as one that computes them, nothing is read from other code, other service
times or a damaged file, and a repeated bert-train-then-serve estimate builds no chain and imports no numpy."""
import os
import subprocess
import sys

import pytest

from planner.model import batching_store
from planner.model.batching_store import KnownChain, stored_chain
from planner.model.percentile import Percentile

from .conftest import ROOT


def _linear(b: float) -> float:
    return 0.002 + 0.0005 * b


def _host_then_compute(b: float) -> float:
    return max(0.004, 0.0011 * b)


# (rate, replicas, limit, delay, service curve): a BatchingChain on one and on unlimited replicas, a LeftoverChain
CHAINS = [(300.0, 1, 256, 0.01, _host_then_compute), (50.0, None, 64, 0.004, _linear), (800.0, 2, 8, 0.002, _linear)]
QS = (0.5, 0.95, 0.99)


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("GPUPLAN_CACHE_DIR", str(tmp_path))
    batching_store.clear()
    yield tmp_path
    batching_store.clear()


def _values(chains) -> list[float]:
    return [chain.percentile(q).value() for chain in chains for q in QS]


def test_kept_percentiles_come_back_as_the_same_numbers(store):
    from planner.model.batching_chain import batching_chain

    fresh = _values([batching_chain(rate, r, limit, delay, s) for rate, r, limit, delay, s in CHAINS])
    batching_store.load()
    made = [stored_chain(*args) for args in CHAINS]
    assert not any(isinstance(c, KnownChain) for c in made)
    assert _values(made) == fresh
    batching_store.save()
    batching_store.load()
    known = [stored_chain(*args) for args in CHAINS]
    assert all(isinstance(c, KnownChain) for c in known)
    assert _values(known) == fresh  # bit for bit
    assert all(c._chain is None for c in known)  # none built
    batching_store.save()


def test_a_stored_interval_decides_every_comparison_as_the_chain_does(store):
    # a chain compared only once is kept as far as that comparison took it; a later run that needs more goes on from
    # there (building the chain) to the same value, and every comparison comes out as the value says — also for
    # limits between the true quantile and the value (within TOLERANCE), where the cdf at the limit would disagree
    from planner.model.batching_chain import batching_chain

    args = CHAINS[0]
    value = batching_chain(*args).percentile(0.95).value()
    batching_store.load()
    made = stored_chain(*args)
    assert made.percentile(0.95).within(value * 1.5)  # decided on a wide interval
    batching_store.save()
    batching_store.load()
    known = stored_chain(*args)
    assert isinstance(known, KnownChain)
    p = known.percentile(0.95)
    assert p.high - p.low > p.tolerance and known._chain is None  # kept as far as it went
    low, high = p.low, p.high
    assert p.value() == value and known._chain is not None  # the rest worked out from the stored interval
    assert low <= p.low and p.high <= high
    final = Percentile(p.low, p.high)
    chain = batching_chain(*args)
    below, above = p.low, p.high  # the true quantile, bisected on the cdf far past TOLERANCE
    for _ in range(60):
        mid = (below + above) / 2
        below, above = (below, mid) if chain.cdf(mid) >= 0.95 else (mid, above)
    between = (above + value) / 2  # past the true quantile, below the value: the cdf there reaches q
    assert above < between < value and chain.cdf(between) >= 0.95
    for limit in (value, between, value * (1 - 1e-9), value * 0.9, value * 1.1):
        fresh = batching_chain(*args).percentile(0.95)
        assert fresh.within(limit) == (value <= limit) == final.within(limit)
    batching_store.save()


def test_other_service_times_find_nothing(store):
    batching_store.load()
    rate, r, limit, delay, service = CHAINS[0]
    stored_chain(rate, r, limit, delay, service).percentile(0.95).value()
    batching_store.save()
    batching_store.load()

    def one_size_slower(b: float) -> float:  # the same curve but at one batch size the chain reads
        return service(b) * (1 + 1e-12) if b == 3.0 else service(b)

    assert not isinstance(stored_chain(rate, r, limit, delay, one_size_slower), KnownChain)
    assert not isinstance(stored_chain(rate * 1.01, r, limit, delay, service), KnownChain)
    assert isinstance(stored_chain(rate, r, limit, delay, lambda b: service(b)), KnownChain)  # same floats
    batching_store.clear()


def test_a_damaged_store_or_one_of_other_code_is_not_read(store, monkeypatch):
    batching_store.load()
    for args in CHAINS:
        stored_chain(*args).percentile(0.95).value()
    batching_store.save()
    entry = batching_store._entry()
    whole = entry.read_bytes()
    assert whole.startswith(batching_store.HEADER) and len(whole) > 200
    monkeypatch.setattr(batching_store, "STORE_FORMAT", "gpuplan-chains-other")  # other code: another file
    assert batching_store._entry() != entry
    batching_store.load()
    assert not isinstance(stored_chain(*CHAINS[0]), KnownChain)
    batching_store.clear()
    monkeypatch.undo()
    monkeypatch.setenv("GPUPLAN_CACHE_DIR", str(store))
    for damaged in (whole[:-1], whole[:-8], whole[:len(whole) // 2], whole + b"\0", b"",
                    b"gpuplan-chains-0" + whole[len(batching_store.HEADER) - 1:]):
        entry.write_bytes(damaged)  # cut short, too long, empty, another format's header
        batching_store.load()
        assert not isinstance(stored_chain(*CHAINS[0]), KnownChain)
        assert not batching_store.KNOWN
        batching_store.clear()
    entry.write_bytes(whole)
    batching_store.load()
    assert isinstance(stored_chain(*CHAINS[0]), KnownChain)  # the whole file is read
    batching_store.clear()


def test_the_fingerprint_covers_the_chains_code(store, tmp_path, monkeypatch):
    here = ROOT / "planner" / "model"
    names = {p.name for p in batching_store._sources()}
    assert {"batching_chain.py", "pair_chain.py", "chain_math.py", "chain_scope.py", "dynamic_batching.py",
            "percentile.py", "batching_store.py"} <= names
    assert {p.name for p in here.glob("*chain*.py")} <= names
    copies = tmp_path / "model"
    copies.mkdir()
    for name in names:
        (copies / name).write_bytes((here / name).read_bytes())
    monkeypatch.setattr(batching_store, "_sources", lambda: sorted(copies / name for name in names))
    before = batching_store.fingerprint()
    (copies / "batching_chain.py").write_bytes((here / "batching_chain.py").read_bytes() + b"\n# changed\n")
    assert batching_store.fingerprint() != before  # a changed chain: a new file


def _estimates(cache: str, *confidences: str) -> list[subprocess.CompletedProcess[str]]:
    code = ("import sys; from planner.cli.main import run; sys.argv = ['gpuplan', 'estimate', "
            f"{str(ROOT / 'profiles' / 'bert-train-then-serve.yaml')!r}, '--format', 'json', '--confidence', "
            "sys.argv[1]]\n"
            "try:\n    run()\nexcept SystemExit:\n    pass\n"
            "print('numpy' in sys.modules, file=sys.stderr)")
    env = {"GPUPLAN_CACHE_DIR": cache, "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "OMP_NUM_THREADS": "1"}
    return [subprocess.run([sys.executable, "-c", code, c], capture_output=True, text=True, check=True, env=env)
            for c in confidences]


def test_a_repeated_dynamic_batching_estimate_prints_the_same_without_numpy(tmp_path):
    # bert-train-then-serve sizes dynamic batching: its first run builds ~150 chains, the next finds them all; the
    # run at 0.9 reads what the run at 0.5 kept, and prints what a run at 0.9 with nothing kept prints
    first, second, warm_high = _estimates(str(tmp_path / "a"), "0.5", "0.5", "0.9")
    (cold_high,) = _estimates(str(tmp_path / "b"), "0.9")
    assert first.stdout == second.stdout and '"recommended"' in first.stdout
    assert warm_high.stdout == cold_high.stdout and warm_high.stdout != first.stdout
    assert [r.stderr.strip().splitlines()[-1] for r in (first, second, warm_high, cold_high)] == [
        "True", "False", "False", "True"]
    assert len(list((tmp_path / "a").glob("chains-*.bin"))) == 1


def test_other_blas_threads_read_another_file(store, monkeypatch):
    # a matrix product's last bits depend on BLAS's threads (batching_store.machine): their settings name the file
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    entry = batching_store._entry()
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    assert batching_store._entry() != entry


def test_a_count_the_one_server_bound_decides_is_decided_from_the_store_again(store, catalog, monkeypatch):
    # plans/serving.py known_over decides a count past where batching_chain follows its replicas by one server as
    # many times as fast (batching_chain.one_server_low) and makes no chain for it: the bound is kept as a chain is
    # (batching_store.ONE_SERVER), so a rerun decides that count from its kept intervals — no one_server_low, no
    # chain made, no numpy needed — to the same plans (BERT at 2,000 req/s, batches of up to 64, a 0.1 ms delay,
    # p95 20 ms on an RTX A4000: two replicas missed by the bound, ~2.5 s)
    import planner
    import planner.model.batching_chain as bc

    asked: list[tuple[object, ...]] = []
    made: list[tuple[object, ...]] = []
    one_server_low, made_chain = bc.one_server_low, bc._made
    monkeypatch.setattr(bc, "one_server_low", lambda *a: asked.append(a[:4]) or one_server_low(*a))
    monkeypatch.setattr(bc, "_made", lambda *a: made.append(a[:4]) or made_chain(*a))
    profile = {"name": "bound", "model": {"preset": "bert-base", "seq_len": 128},
               "inference": {"rate": "2000/s", "precision": "fp16", "max_batch": 64, "max_queue_delay": "0.1ms",
                             "slo": {"latency_p95": "20ms"}},
               "constraints": {"gpus": ["RTX-A4000"]}}
    used: list[tuple[object, ...]] = []  # the chains each plan() used, as its end keeps them (api._serving_stores)
    save = batching_store.save
    monkeypatch.setattr(batching_store, "save", lambda: used.extend(batching_store._USED) or save())
    loaded = planner.load_profile(profile, catalog)
    first = planner.plan(loaded, catalog).to_dict(0)
    assert set(asked) - set(made)  # a count the bound decided: its chain not made
    asked.clear()
    made.clear()
    used.clear()
    again = planner.plan(planner.load_profile(profile, catalog), catalog).to_dict(0)
    lows = [chain for *_, chain, one_server in used if one_server]
    assert lows and all(isinstance(c, KnownChain) and c._chain is None for c in lows)  # from their intervals
    assert not asked and not made
    assert again == first


def test_the_library_keeps_a_serving_searchs_chains_for_its_next_call(store, catalog, monkeypatch):
    # new-user QA (notebook): planner.plan worked every dynamic-batching chain out again on each call (~4 s a call for
    # bert-train-then-serve at 1,000 req/s) where `gpuplan estimate` read them from its store: plan() itself now
    # reads the store and keeps what it worked out, so the second call makes no chain and answers the same
    import planner
    import planner.model.batching_chain as bc

    made: list[tuple[object, ...]] = []
    made_chain = bc._made
    monkeypatch.setattr(bc, "_made", lambda *a: made.append(a[:4]) or made_chain(*a))
    profile = {"name": "kept", "model": {"preset": "bert-base", "seq_len": 128},
               "inference": {"rate": "500/s", "precision": "fp16", "max_batch": 32, "max_queue_delay": "2ms",
                             "slo": {"latency_p95": "30ms"}},
               "constraints": {"gpus": ["RTX-A4000"]}}
    first = planner.plan(planner.load_profile(profile, catalog), catalog).to_dict(0)
    assert made and list(store.glob("chains-*.bin"))
    assert not batching_store.ACTIVE  # the store is looked up only while plan() runs
    made.clear()
    again = planner.plan(planner.load_profile(profile, catalog), catalog).to_dict(0)
    assert not made and again == first
