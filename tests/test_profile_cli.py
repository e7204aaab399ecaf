"""`gpuplan profile` and `gpuplan calibrate` as a user runs them, on a tiny model: the record, the local plan row,
the calibrate → add → list → estimate loop on this CPU, the printed VM script, and a kill that leaves no partial
file."""
import json
import inspect
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest.importorskip("torch")

from planner.cli.main import app  # noqa: E402
from planner.efficiency.records import load_record  # noqa: E402

runner = CliRunner()
GPUPLAN = [sys.executable, "-m", "planner"]

TINY = """name: tiny-lm
model: {family: decoder, layers: 2, hidden: 64, heads: 4, kv_heads: 2, ffn_hidden: 176, vocab: 512, seq_len: 64,
        activation: swiglu}
training: {dataset: {tokens: 10M}, precision: fp32, optimizer: adamw, batch: {global_samples: 8}}
inference: {rate: 1/s, prompt_tokens: 32, output_tokens: 16, precision: fp32, slo: {ttft_p95: 2s, tpot_p95: 500ms}}
"""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The tiny profile and its quick record, measured once for the module."""
    root = tmp_path_factory.mktemp("profile")
    profile = root / "tiny.yaml"
    profile.write_text(TINY)
    out = root / "tiny-record.yaml"
    result = runner.invoke(app, ["profile", str(profile), "--quick", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return profile, out, result.stdout


def test_profile_writes_a_valid_record_and_a_summary(tiny):
    _, out, stdout = tiny
    record = load_record(out)
    assert record.device.type == "cpu" and record.quick
    kinds = {(w.family, w.kind) for w in record.workloads}
    assert kinds == {("decoder", "train"), ("decoder", "prefill"), ("decoder", "decode")}
    for w in record.workloads:
        assert all(p.seconds > 0 and p.counted_flops > 0 for p in w.points)
    assert set(record.peaks.matmul_tflops) >= {"fp32"}
    assert "Measured peaks" in stdout and f"Wrote {out}" in stdout


def test_estimate_with_measurements_shows_this_machine(tiny):
    profile, out, _ = tiny
    result = runner.invoke(app, ["estimate", str(profile), "--measurements", str(out), "--format", "json"])
    data = json.loads(result.stdout)
    for section in ("training", "inference"):
        local = [p for p in data[section]["plans"] if p["provider"] == "local"]
        assert len(local) == 1 and local[0]["gpu"] == "cpu" and local[0]["efficiency_source"] == "measured"
    train = next(p for p in data["training"]["plans"] if p["provider"] == "local")
    assert train["cost_usd"]["p50"] == 0.0  # no hourly cost given
    table = runner.invoke(app, ["estimate", str(profile), "--measurements", str(out), "--top", "1"]).stdout
    assert "local" in table  # the row is shown even when it ranks below --top
    # new-user QA round 18: a long prompt on a CPU is minutes to its first token, which the table wrote as
    # '498,755 ms' (a 7B model: '31,078,772 ms', wrapping the table); from 10 s a latency is in s, min or h
    long = runner.invoke(app, ["estimate", str(profile), "--measurements", str(out), "--top", "1", "--set",
                               "inference.prompt_tokens=64000", "--set", "model.seq_len=100000"],
                         env={"COLUMNS": "100"}).stdout
    row = next(line for line in long.splitlines() if " cpu " in line and "local" in line and "×1" in line)
    assert re.search(r"[0-9.]+ (s|min|h) ", row) and not re.search(r"[0-9]{2},[0-9]{3} ms", long), row


def test_calibrate_add_list_estimate_on_this_cpu(tiny, tmp_path):
    out = tmp_path / "cal.yaml"
    result = runner.invoke(app, ["calibrate", "--quick", "--budget", "1s", "--out", str(out)])
    assert result.exit_code == 0, result.output
    record = load_record(out)
    assert record.device.type == "cpu" and record.device.catalog_id is None
    store = tmp_path / "calibrations"
    assert runner.invoke(app, ["calibration", "add", str(out), "--calibrations", str(store)]).exit_code == 0
    # the profile's record of this CPU goes into the store too: estimates then show this machine without flags
    assert runner.invoke(app, ["calibration", "add", str(tiny[1]), "--calibrations", str(store)]).exit_code == 0
    listed = runner.invoke(app, ["calibration", "list", "--calibrations", str(store)])
    assert listed.exit_code == 0 and "(cpu)" in listed.stdout
    est = runner.invoke(app, ["estimate", str(tiny[0]), "--calibrations", str(store), "--format", "json"])
    plans = json.loads(est.stdout)["training"]["plans"]
    assert any(p["provider"] == "local" for p in plans)
    assert {p["efficiency_source"] for p in plans if p["provider"] != "local"} == {"prior"}  # no GPU calibrated


def test_print_script_is_valid_shell_and_installs_nothing(tmp_path):
    result = runner.invoke(app, ["calibrate", "--print-script", "--budget", "10m"])
    assert result.exit_code == 0
    script = tmp_path / "calibrate.sh"
    script.write_text(result.stdout)
    assert subprocess.run(["sh", "-n", str(script)], capture_output=True).returncode == 0
    assert "pip install" in result.stdout and 'bin/gpuplan" calibrate --out' in result.stdout
    assert not list(tmp_path.glob("*venv*"))  # printing ran nothing
    bad = runner.invoke(app, ["calibrate", "--print-script", "--budget", "10m; rm -rf /"])
    assert bad.exit_code == 2 and "--budget" in bad.output


@pytest.mark.parametrize("store", ["", "--calibrations ~/gpuplan-calibrations"], ids=["checkout", "installed"])
def test_print_script_says_what_brings_the_record_into_use(store):
    # it said "add it to your catalog", but what it prints is `gpuplan calibration add`, which checks the record and
    # stores it in a calibrations folder (the checkout's catalog/calibrations, or the one given with --calibrations
    # that estimate must be given too); the catalog (GPUs, offers, priors) is not edited (new-user QA leftover)
    from planner.render.calibrate_script import calibrate_script

    tail = calibrate_script("10m", store_option=store).split('echo "Calibration record: $OUT"\n')[1]
    assert "catalog" not in tail
    assert "gpuplan calibration add checks the record and keeps it where gpuplan estimate reads it" in tail
    assert f'gpuplan calibration add $(basename "$OUT"){" " + store if store else ""}"' in tail
    assert ("and give gpuplan estimate the same --calibrations" in tail) == bool(store)


def _wait_until_measuring(proc: subprocess.Popen, limit_s: float = 120.0) -> None:
    """Return once the child runs gpuplan (after exec: its argv, not the forked copy of this process, whose memory
    map already holds libtorch) and has installed its measurement signal handlers (SIGTERM caught: planner/profiler/
    interrupts.py): from then on every moment is mid-measurement. Waiting on the map alone raced with the fork: under
    load the signal could reach the child before Python had even started (killed by SIGINT, exit -2). Waiting 2 s
    more raced the other way: on 2 cores shared by 5 test runs the watched measurements sometimes ended inside
    those 2 s, and the signal found the record written (exit 0) or the interpreter finalising, whose signal handlers
    are back at SIG_DFL (killed by SIGINT, exit -2) — both seen in full-suite logs."""
    status, cmdline = Path(f"/proc/{proc.pid}/status"), Path(f"/proc/{proc.pid}/cmdline")
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            argv = cmdline.read_bytes().split(b"\0")
            caught = int(next(line.split()[1] for line in status.read_text().splitlines()
                              if line.startswith("SigCgt:")), 16)
        except (OSError, StopIteration):
            break
        if b"planner" in argv and caught >> (signal.SIGTERM - 1) & 1:
            break
        time.sleep(0.05)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill"])
def test_interrupted_profile_leaves_the_previous_record_intact(tiny, tmp_path, sig):
    profile, previous, _ = tiny
    out = tmp_path / "record.yaml"
    shutil.copy(previous, out)
    before = out.read_bytes()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    # without --quick the run takes tens of seconds; it is stopped mid-measurement
    # a shell's background job inherits SIGINT ignored, which Python (and gpuplan) keep: Ctrl-C is what is tested
    proc = subprocess.Popen([*GPUPLAN, "profile", str(profile), "--out", str(out)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    _wait_until_measuring(proc)
    assert proc.poll() is None, "the profile finished before it could be interrupted"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    # the exit status and the end of stderr in the message: this failed once in a full-suite run (2026-12-04) and
    # not in 42 runs since, 25 of them with SIGINT at random 0–3 s into the measurement (all exit 130, record intact)
    if sig == signal.SIGINT:
        assert proc.returncode == 130 and b"no record written" in err, (proc.returncode, err[-3000:])
    else:
        assert proc.returncode == -signal.SIGKILL, (proc.returncode, err[-3000:])
    assert out.read_bytes() == before
    assert load_record(out) == load_record(previous)
    assert [p.name for p in tmp_path.iterdir()] == ["record.yaml"]  # no temporary file left behind


def test_profile_summary_tells_a_renter_what_it_means_and_fits_80_columns(tiny, monkeypatch):
    from planner.catalog.load import BUNDLED_CATALOG, load_catalog
    from planner.render.records import render_record_summary

    _, out, stdout = tiny
    flat = " ".join(stdout.split())
    assert "What this means:" in flat and "MFU" in flat and "TFLOP/s" in flat
    assert "run `gpuplan calibrate --print-script`" in flat  # the one next step
    for width in (80, 120):
        monkeypatch.setenv("COLUMNS", str(width))
        text = render_record_summary(load_record(out), load_catalog(BUNDLED_CATALOG))
        assert max(len(line) for line in text.splitlines()) <= width


def test_the_local_row_says_it_is_this_machine_and_the_next_step(tiny):
    profile, out, _ = tiny
    table = runner.invoke(app, ["estimate", str(profile), "--measurements", str(out), "--top", "2"]).stdout
    flat = " ".join(table.split())
    assert "The 'local' row is this machine as measured" in flat and "gpuplan calibrate --print-script" in flat


def test_a_record_failing_the_record_schema_is_exit_2_with_file_and_field(tiny, tmp_path, monkeypatch):
    # a measurement outside the record schema's ranges (here a call timed at 2e6 s, past WorkPoint.seconds' 1e6 s
    # bound) is refused by the project's own schema: bad input of the run (exit 2), not an internal error (70)
    import planner.profiler.workloads as workloads
    from planner.profiler.timing import Timing

    monkeypatch.setattr(workloads, "time_call", lambda *args, **kwargs: Timing(2e6, 0.0, 3))
    profile, previous, _ = tiny
    out = tmp_path / "record.yaml"
    result = runner.invoke(app, ["profile", str(profile), "--quick", "--out", str(out)])
    assert result.exit_code == 2, result.output
    error = result.stderr.splitlines()[-1]  # under the progress bar
    assert error.startswith(f"Error: {out}: WorkPoint.seconds: ") and "(measured 2000000.0)" in error
    assert "fails the record schema" in result.output and "nothing written" in result.output
    assert "Traceback" not in result.output and not out.exists()


@pytest.mark.parametrize("then", ["swallowed", "another-error"])
def test_an_interrupt_that_lands_in_code_which_drops_it_still_stops_the_run(tiny, tmp_path, monkeypatch, then):
    # the cause of a Ctrl-C test once exiting 70 under load: a SIGINT landing in importlib's module-lock callback is
    # dropped as unraisable (the run went on: exit 0), or leaves a half-imported module whose next use raises
    # another error (exit 70). Here the signal is delivered inside a step that does just that, deterministically.
    import planner.profiler.workloads as workloads

    real = workloads.time_call
    calls = []

    def timed(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            try:
                signal.raise_signal(signal.SIGINT)
            except KeyboardInterrupt:
                if then == "another-error":
                    raise ImportError("cannot import name 'x' from partially initialized module") from None
        return real(*args, **kwargs)

    monkeypatch.setattr(workloads, "time_call", timed)
    profile, previous, _ = tiny
    out = tmp_path / "record.yaml"
    shutil.copy(previous, out)
    before = out.read_bytes()
    # a shell's background job (`make test &`, a CI runner's) inherits SIGINT ignored, which gpuplan keeps (a Ctrl-C
    # the user's shell ignores stays ignored): then raise_signal does nothing and the run finishes, exit 0. Ctrl-C
    # handling is what is tested, so the test process takes Python's default handler for the run, as a terminal does.
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        result = runner.invoke(app, ["profile", str(profile), "--quick", "--out", str(out)])
        restored = signal.getsignal(signal.SIGINT)
    finally:
        signal.signal(signal.SIGINT, inherited)
    assert result.exit_code == 130, result.output
    assert "no record written" in result.output and "internal error" not in result.output
    full_run = sum(len(w.points) for w in load_record(previous).workloads)  # one timed call per point
    assert len(calls) < full_run  # stopped at the next step, not after the whole suite
    assert out.read_bytes() == before
    assert restored is signal.default_int_handler  # handlers restored


def test_only_a_missing_torch_is_called_a_missing_torch(monkeypatch):
    # new-user QA: any ImportError under the profiler, one of planner's own modules included, read "measuring needs
    # PyTorch (cannot import name 'x' from 'planner.model.precision')", pointing at an install that was fine
    import builtins

    from planner.cli import measure
    from planner.errors import PlannerError

    real = builtins.__import__

    def broken(name, *args, **kwargs):
        if name == "planner.profiler":
            raise ImportError("cannot import name 'x' from 'planner.model.precision'", name="planner.model.precision")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", broken)
    with pytest.raises(ImportError) as info:
        measure._import_profiler()
    assert not isinstance(info.value, PlannerError)

    def no_torch(name, *args, **kwargs):
        if name == "planner.profiler":
            raise ImportError("No module named 'torch'", name="torch")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_torch)
    with pytest.raises(PlannerError, match="measuring needs PyTorch"):
        measure._import_profiler()


def test_a_calibrations_rows_can_be_told_apart_on_a_narrow_terminal(monkeypatch):
    # new-user QA: at 80 columns the summary dropped its family and precision columns first, and a calibration's
    # two model sizes share their labels, so "train step, batch 1 × 128 tokens" stood six times with nothing to tell
    # the rows apart; the workload (family, kind, precision) is one column never dropped, and the size prefixes the
    # label where a workload holds two
    from planner.readable import compact
    from planner.render.records import render_record_summary

    monkeypatch.setenv("COLUMNS", "80")
    record = load_record(Path(__file__).resolve().parent.parent / "docs" / "records" / "cpu-calibration.yaml")
    first = record.workloads[0]
    bigger = [p.model_copy(update={"params": p.params * 2 + 1}) for p in first.points]
    two = record.model_copy(update={"workloads": [first.model_copy(update={"points": [*first.points, *bigger]}),
                                                  *record.workloads[1:]]})
    text = render_record_summary(two)
    workload = f"{first.family} {first.kind} {first.precision}"
    assert sum(line.startswith(workload) for line in text.splitlines()) == 2 * len(first.points)
    for size in (first.points[0].params, bigger[0].params):
        assert text.count(f"{compact(size)} params, ") == len(first.points)


def test_processes_without_comm_is_refused_before_measuring(tmp_path):
    # new-user QA round 13: `profile --processes 4` without --comm ran the whole profile (minutes) and measured no ranks
    profile = tmp_path / "tiny.yaml"
    profile.write_text(TINY)
    out = tmp_path / "record.yaml"
    result = runner.invoke(app, ["profile", str(profile), "--quick", "--processes", "4", "--out", str(out)])
    assert result.exit_code == 2 and not out.exists()
    assert result.output == ("Error: --processes: 4 sets the ranks of --comm, which is not given. Add --comm to "
                             "measure all-reduce across 4 local processes, or drop --processes.\n")


def test_the_record_never_replaces_the_profile_it_measures(tmp_path, monkeypatch):
    # new-user QA round 13: `gpuplan profile p.yaml --out p.yaml` measured, then wrote the record over the profile
    monkeypatch.chdir(tmp_path)
    Path("tiny.yaml").write_text(TINY)
    result = runner.invoke(app, ["profile", "tiny.yaml", "--quick", "--out", "./tiny.yaml"])
    assert (result.exit_code, result.output) == (2, (
        "Error: tiny.yaml: --out is the profile being measured; the record would replace it. Give the record another "
        "file, or omit --out for measurements/PROFILE-NAME.yaml.\n"))
    assert Path("tiny.yaml").read_text() == TINY


def test_calibrate_help_says_how_long_a_run_takes_from_the_suites_own_figures():
    # new-user QA round 18: `calibrate --quick --help` gave no run time; the figures it gives are the suite's own
    from planner.cli.commands import CALIBRATE_QUICK_HELP, calibrate
    from planner.profiler.run import FULL, GPU_RUN_TIME, QUICK

    quick, full, gpu = (f"{seconds:g} s" for seconds in (QUICK.min_run_time, FULL.min_run_time, GPU_RUN_TIME))
    assert f"at most {quick} instead of {full} ({gpu} on a GPU)" in CALIBRATE_QUICK_HELP
    assert f"at most {quick} instead of {full} ({gpu} on a GPU)" in (calibrate.__doc__ or "")
    default_budget = inspect.signature(calibrate).parameters["budget"].default
    assert f"takes --budget at most (default {default_budget})" in (calibrate.__doc__ or "")
    result = runner.invoke(app, ["calibrate", "--quick", "--help"], env={"COLUMNS": "200"})
    assert "takes --budget at most (default 10m)" in result.stdout and f"at most {quick} instead" in result.stdout


def test_a_cnns_training_points_are_labelled_in_images_not_tokens():
    # new-user QA round 25: `gpuplan profile profiles/resnet50-imagenet.yaml` listed 'train step, batch 4 × 1 tokens'
    from planner.profiler.workloads import Peak, measure_train
    from planner.schema.model import Architecture

    cnn = Architecture(name="resnet-8", family="cnn", blocks=[1, 1, 1, 1], width=8, image_size=64, num_classes=10)
    decoder = Architecture(name="decoder-32", family="decoder", layers=1, hidden=32, heads=2, kv_heads=1,
                           ffn_hidden=88, vocab=128, seq_len=16, activation="swiglu", norm="rmsnorm")
    mlp = Architecture(name="mlp-32", family="mlp", layers=2, hidden=32, params=2 * (32 * 32 + 32))
    peak = Peak(flops={"fp32": 1e11}, bandwidth=1e10)
    one, image = measure_train(cnn, [1, 2], "fp32", "adamw", peak, "cpu", 0.01, memory=False)
    [text] = measure_train(decoder, [2], "fp32", "adamw", peak, "cpu", 0.01, memory=False)
    [vector] = measure_train(mlp, [2], "fp32", "adamw", peak, "cpu", 0.01, memory=False)
    assert (one.label, image.label) == ("train step, batch 1 image", "train step, batch 2 images")
    assert vector.label == "train step, batch 2 samples"
    assert text.label == "train step, batch 2 × 16 tokens"
