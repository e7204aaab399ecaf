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
