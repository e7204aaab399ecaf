"""The M/D/c quantiles kept between `gpuplan estimate` runs (planner/model/md_c_store.py): the same numbers back,
nothing from other code or a damaged file, and a repeated serving estimate that needs neither an FFT nor numpy."""
import subprocess
import sys

from planner.model import md_c, md_c_store

from .conftest import ROOT

QUEUES = [(64, 57.0, 0.02, 0.95), (16, 14.5, 0.003, 0.5), (192, 170.0, 0.0, 0.95)]


def _computed():
    return [md_c.md_c_wait_plus_uniform_quantile(c, load, 1.0, spread, q, 0.95) for c, load, spread, q in QUEUES]


def test_stored_quantiles_come_back_as_the_same_numbers(tmp_path, monkeypatch):
    monkeypatch.setenv("GPUPLAN_CACHE_DIR", str(tmp_path))
    md_c.clear_memos()
    first = _computed()
    assert len(md_c.COMPUTED_QUANTILES) == len(QUEUES)  # each took the FFT path
    md_c_store.save()
    md_c.clear_memos()
    md_c_store.load()
    assert len(md_c.KNOWN_QUANTILES) == len(QUEUES)
    assert _computed() == first  # bit for bit
    assert not md_c.COMPUTED_QUANTILES  # none computed again
    md_c.clear_memos()


WITHIN = [(64, 57.0, 1.0, 0.02, 0.95, 0.95, w) for w in (0.04, 0.15, 0.45)] + [(16, 14.5, 1.0, 0.003, 0.5, 0.95, 0.2)]


def _verdicts():
    return ([md_c.quantile_within(*args) for args in WITHIN],
            [md_c.quantile_bounds(c, load, 1.0, spread, q, 0.95) for c, load, spread, q in QUEUES])


def test_stored_verdicts_and_bounds_come_back_the_same_and_are_not_worked_out_again(tmp_path, monkeypatch):
    monkeypatch.setenv("GPUPLAN_CACHE_DIR", str(tmp_path))
    md_c.clear_memos()
    md_c_store.load()  # a store in use: the verdicts and bounds worked out are kept
    first = _verdicts()
    assert {True, False, None} <= set(first[0])  # each verdict's byte goes to the file and back
    assert len(md_c.COMPUTED_WITHIN) == len(WITHIN) and len(md_c.COMPUTED_BOUNDS) == len(QUEUES)
    md_c_store.save()
    md_c.clear_memos()
    md_c_store.load()
    assert len(md_c.KNOWN_WITHIN) == len(WITHIN) and len(md_c.KNOWN_BOUNDS) == len(QUEUES)
    monkeypatch.setattr(md_c, "_quantile_within", None)  # read, not worked out: calling these would raise
    monkeypatch.setattr(md_c, "_quantile_bounds", None)
    assert _verdicts() == first  # bit for bit
    assert not md_c.COMPUTED_WITHIN and not md_c.COMPUTED_BOUNDS
    monkeypatch.undo()
    monkeypatch.setenv("GPUPLAN_CACHE_DIR", str(tmp_path))
    md_c.clear_memos()
    md_c_store._within_entry().write_bytes(md_c_store._within_entry().read_bytes()[:-1] + b"\3")  # no such verdict
    md_c_store.load()
    assert not md_c.KNOWN_WITHIN and md_c.KNOWN_BOUNDS
    md_c.clear_memos()


POISSON = [(3.7, (0.5, 0.95), 15), (41.25, (0.5, 0.95), 127), (900.5, (0.5, 0.95), 4095), (0.0, (0.5, 0.95), 7),
           (12.0, (0.95,), 63)]


def test_stored_poisson_quantiles_come_back_the_same_and_are_not_worked_out_again(tmp_path, monkeypatch):
    # the TPOT cut-in quantiles (queueing.poisson_quantiles, ~900 passes over the distribution a serve-7b-chat
    # search): kept beside the M/D/c quantiles, the two-quantile ones the search asks for
    from planner.model import queueing

    monkeypatch.setenv("GPUPLAN_CACHE_DIR", str(tmp_path))
    md_c.clear_memos()
    md_c_store.load()
    first = [queueing.poisson_quantiles(*args) for args in POISSON]
    assert len(queueing.COMPUTED_POISSON) == len(POISSON)
    md_c_store.save()
    md_c.clear_memos()
    md_c_store.load()
    assert set(queueing.KNOWN_POISSON) == set(POISSON[:-1])  # one quantile alone is not kept
    monkeypatch.setattr(queueing, "_poisson_quantiles", None)  # read, not worked out: calling it would raise
    assert [queueing.poisson_quantiles(*args) for args in POISSON[:-1]] == first[:-1]
    assert not queueing.COMPUTED_POISSON
    md_c.clear_memos()


def test_a_damaged_store_or_one_of_other_code_is_not_read(tmp_path, monkeypatch):
    monkeypatch.setenv("GPUPLAN_CACHE_DIR", str(tmp_path))
    md_c.clear_memos()
    _computed()
    md_c_store.save()
    entry = md_c_store._entry()
    monkeypatch.setattr(md_c_store, "STORE_FORMAT", "gpuplan-mdc-other")  # other code: another file
    md_c.clear_memos()
    md_c_store.load()
    assert md_c_store._entry() != entry and not md_c.KNOWN_QUANTILES
    monkeypatch.undo()
    monkeypatch.setenv("GPUPLAN_CACHE_DIR", str(tmp_path))
    whole = entry.read_bytes()
    assert len(whole) > len(md_c_store.HEADER)
    for damaged in (whole[:-1], whole[:-8], whole + b"\0", b"gpuplan-mdc-1" + whole[len(md_c_store.HEADER) - 1:],
                    b'{"format": "gpuplan-mdc-1", "quantiles": [[64, 57.0, 1.0, 0.02, 0.95, 0.95, 0.1]]}', b""):
        entry.write_bytes(damaged)  # cut short, too long, another format's header, the JSON of the old format
        md_c_store.load()
        assert not md_c.KNOWN_QUANTILES
    md_c.clear_memos()


def test_a_repeated_serving_estimate_computes_no_queue_and_imports_no_numpy(tmp_path):
    code = ("import sys; from planner.cli.main import run; sys.argv = ['gpuplan', 'estimate', "
            f"{str(ROOT / 'profiles' / 'serve-gpt-oss-120b-chat.yaml')!r}, '--format', 'json']\n"
            "try:\n    run()\nexcept SystemExit:\n    pass\n"
            "print('numpy' in sys.modules, file=sys.stderr)")
    env = {"GPUPLAN_CACHE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
            for _ in range(2)]
    assert [r.stderr.strip() for r in runs] == ["True", "False"]  # the first run's FFTs serve the second
    assert runs[0].stdout == runs[1].stdout and '"recommended"' in runs[0].stdout


BOUNDED = [(64, 20.0, 0.02, 0.95), (64, 20.0, 0.02, 0.5), (200, 199.99, 0.02, 0.95)]
"""Queues whose quantile takes no FFT: nobody waits (the no-wait shortcut), and near saturation past MAX_FFT_POINTS
(the asymptotic tail)."""


def test_stored_shortcut_and_tail_quantiles_come_back_without_their_bounds(tmp_path, monkeypatch):
    """While a store is in use, the quantiles of the no-wait shortcut and of the asymptotic tail are kept with the
    FFT path's: read back they are the same numbers, without the queue's growth_root, no_wait_bound or tail."""
    monkeypatch.setenv("GPUPLAN_CACHE_DIR", str(tmp_path))
    md_c.clear_memos()
    assert md_c.fft_points(200, 199.99) > md_c.MAX_FFT_POINTS
    md_c_store.load()

    def computed():
        return [md_c.md_c_wait_plus_uniform_quantile(c, load, 1.0, spread, q, 0.95) for c, load, spread, q in BOUNDED]

    first = computed()
    assert len(md_c.COMPUTED_QUANTILES) == len(BOUNDED) and not md_c._kept_wait.cache_info().currsize  # no FFT
    md_c_store.save()
    md_c.clear_memos()
    md_c_store.load()
    for name in ("growth_root", "no_wait_bound", "md_c_wait_tail"):
        monkeypatch.setattr(md_c, name, None)  # read, not worked out: calling these would raise
    assert computed() == first  # bit for bit
    monkeypatch.undo()
    md_c.clear_memos()
