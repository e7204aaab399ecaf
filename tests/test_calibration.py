"""Measurement records as untrusted input, the calibration store, and calibrated / transferred / measured
efficiencies in estimates. No torch: records here are written by hand, with numbers worked out in the tests."""
import datetime as dt
import json
import math
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner.cli.main import app
from planner.efficiency import records
from planner.efficiency.calibrated import EfficiencyBook, transferred_efficiency
from planner.efficiency.records import (
    add_calibration,
    identify_gpu,
    load_record,
    record_yaml,
    save_record,
)
from planner.errors import InputError
from planner.schema.record import MeasurementRecord

from .conftest import ROOT

runner = CliRunner()
PRETRAIN = str(ROOT / "profiles" / "pretrain-1b-72h.yaml")


def make_record(catalog_id="A100-80GB-SXM", name="NVIDIA A100-SXM4-80GB", memory_gb=85.1, device_type="cuda",
                bf16_tflops=250.0, bandwidth_gbs=1700.0, train_e_max=0.5, host="0123456789abcdef", size_half=0.0,
                per_param=0.0):
    """A calibration record as `gpuplan calibrate` would write it on an A100 (numbers chosen for the arithmetic)."""
    point = dict(label="train step", size=1e12, batch=8, tokens=2048, seconds=1.0, iqr_seconds=0.01,
                 model_flops=1e12, counted_flops=1e12, efficiency=0.5)
    fit = dict(e_max=train_e_max, size_half=size_half, per_param=per_param, e_max_sigma=0.01, log_sigma=0.05, n=6)
    return MeasurementRecord.model_validate(dict(
        kind="gpuplan/calibration", version=1,
        device=dict(name=name, type=device_type, catalog_id=catalog_id, memory_gb=memory_gb, torch_version="2.13.0",
                    driver="12.6", host=host),
        measured_at="2026-11-20T10:00:00Z", command="gpuplan calibrate",
        peaks=dict(matmul_tflops={"bf16": bf16_tflops, "fp32": 18.0}, memory_bandwidth_gbs=bandwidth_gbs),
        workloads=[dict(family=f, kind="train", precision="bf16", model="reference", reduced=False, points=[point],
                        fit=fit) for f in ("decoder", "encoder", "cnn", "mlp")]
        + [dict(family="decoder", kind=k, precision="bf16", model="reference", reduced=False, points=[point], fit=fit)
           for k in ("prefill", "decode")]))


def test_record_round_trips_through_yaml(tmp_path):
    record = make_record()
    path = tmp_path / "a100.yaml"
    save_record(record, path)
    assert load_record(path) == record
    assert path.read_text().startswith("# gpuplan measurement record")


def test_newer_record_version_is_refused_by_name(write):
    text = record_yaml(make_record()).replace("version: 1", "version: 2")
    with pytest.raises(InputError) as err:
        load_record(write("new.yaml", text))
    message = str(err.value)
    assert "version 2 was written by a newer gpuplan" in message and "reads version 1" in message
    assert ":4:" in message or "version" in message  # placed at the version field


def test_corrupted_record_names_file_line_and_field(write):
    text = record_yaml(make_record()).replace("memory_bandwidth_gbs: 1700.0", "memory_bandwidth_gbs: -5")
    with pytest.raises(InputError) as err:
        load_record(write("bad.yaml", text))
    assert err.value.field == "peaks.memory_bandwidth_gbs" and err.value.line is not None
    truncated = record_yaml(make_record())[:300]  # cut mid-file, as a broken copy would be
    with pytest.raises(InputError):
        load_record(write("cut.yaml", truncated))


def test_not_a_record_and_oversized_record_are_refused(write, tmp_path):
    with pytest.raises(InputError, match="not a gpuplan measurement record"):
        load_record(write("profile.yaml", "name: x\nmodel: {preset: llama-2-7b}\n"))
    big = tmp_path / "big.yaml"
    big.write_text(record_yaml(make_record()) + "#" * (2 * 1024 * 1024))
    with pytest.raises(InputError, match="larger than"):
        load_record(big)


def test_identify_gpu_from_driver_name_and_memory(catalog):
    assert identify_gpu(catalog, "NVIDIA A100-SXM4-80GB", 85.1) == "A100-80GB-SXM"
    assert identify_gpu(catalog, "NVIDIA H100 80GB HBM3", 85.0) == "H100-SXM"
    assert identify_gpu(catalog, "Some Future Accelerator", 100.0) is None


def test_unknown_gpu_record_is_refused(tmp_path, catalog):
    unknown = make_record(catalog_id=None, name="Mystery GPU 9000")
    path = tmp_path / "unknown.yaml"
    save_record(unknown, path)
    with pytest.raises(InputError, match="not a catalog GPU"):
        add_calibration(path, catalog, tmp_path / "store")
    wrong = make_record(catalog_id="H999")
    save_record(wrong, path)
    with pytest.raises(InputError, match="unknown GPU id 'H999'"):
        add_calibration(path, catalog, tmp_path / "store")
    liar = make_record(memory_gb=24.0)  # says A100-80GB, has 24 GB
    save_record(liar, path)
    with pytest.raises(InputError, match="does not match A100-80GB-SXM"):
        add_calibration(path, catalog, tmp_path / "store")
    assert not (tmp_path / "store").exists() or not list((tmp_path / "store").iterdir())


def test_a_measurements_record_naming_a_gpu_it_is_not_is_refused(tmp_path, catalog):
    # new-user QA round 13: `estimate --measurements` read a record naming an unknown GPU id as an unnamed device, and
    # one naming A100-80GB-SXM with 24 GB as that A100 ('this machine' planned with 80 GB); `calibration add` refused both
    import planner

    profile = planner.load_profile(PRETRAIN, catalog)
    path = tmp_path / "record.yaml"
    (tmp_path / "none").mkdir()  # an empty store: only the record
    for record, words in ((make_record(catalog_id="H999"), "record.yaml:7:3: device.catalog_id: unknown GPU id 'H999'"),
                          (make_record(memory_gb=24.0), "record.yaml:9:3: device.memory_gb: device memory 24 GB does "
                                                        "not match A100-80GB-SXM (80 GB)")):
        save_record(record, path)
        with pytest.raises(InputError) as info:
            planner.plan(profile, catalog, measurements=path, calibrations=tmp_path / "none")
        assert str(info.value).startswith(f"{tmp_path}/{words}"), str(info.value)


def test_calibrated_efficiency_is_converted_to_the_datasheet_peak(catalog):
    book = EfficiencyBook(catalog, {"A100-80GB-SXM": make_record()})
    a100 = catalog.gpus["A100-80GB-SXM"]
    eff = book.get(a100, "train", "decoder", "bf16", 1e12)
    # 0.5 of the measured 250 TFLOP/s = 125 TFLOP/s achieved = 125/312 of the datasheet bf16 peak
    assert eff.source == "calibrated"
    assert eff.value == pytest.approx(0.5 * 250 / a100.peak_tflops.bf16)
    assert eff.log_sigma == pytest.approx(0.05)


def test_transfer_rule_worked_example(catalog):
    """Source: A100 (datasheet 312 TFLOP/s bf16, 2039 GB/s) measured at 250 TFLOP/s, fitted e = 0.8·F/(F + 0.6e12):
    at F = 1e12 FLOP, e_S = 0.5. t_S = F/(250e12·0.5) = 8 ms; saturated compute t_c = F/(250e12·0.8) = 5 ms;
    overhead t_b = 3 ms. On the H100-SXM (989 TFLOP/s, 3350 GB/s): t_T = 5 ms·312/989 + 3 ms·2039/3350 and
    e_T = F/(t_T·989e12)."""
    a100, h100 = catalog.gpus["A100-80GB-SXM"], catalog.gpus["H100-SXM"]
    record = make_record(train_e_max=0.8, size_half=0.6e12)
    F = 1e12
    assert record.workload("decoder", "train").fit.at(F) == pytest.approx(0.5)
    t_t = (5e-3 * a100.peak_tflops.bf16 / h100.peak_tflops.bf16
           + 3e-3 * a100.memory_bandwidth_gbs / h100.memory_bandwidth_gbs)
    expected = F / (t_t * h100.peak_tflops.bf16 * 1e12)
    eff = transferred_efficiency(record, a100, h100, "train", "decoder", "bf16", F, prior_sigma=0.3)
    assert eff.source == "transferred" and eff.value == pytest.approx(expected)
    assert eff.log_sigma == pytest.approx(math.hypot(0.05, 0.3))
    # the H100's compute grows 3.2× but its bandwidth only 1.6×: the overhead share grows, efficiency falls
    assert eff.value < 0.5 * 250 / a100.peak_tflops.bf16


def test_a_call_past_the_largest_measured_one_widens_the_interval_by_the_gain_it_extrapolates(catalog):
    # e = 0.8·F/(F + 0.6e12), measured up to F = 1e12 (e = 0.5): at 1e14 the curve reads 0.8·1e14/1.006e14 ≈ 0.795,
    # a gain of ln(0.795/0.5) the points never showed, added to the fit's σ 0.05 (calibrated.beyond_data)
    a100 = catalog.gpus["A100-80GB-SXM"]
    record = make_record(train_e_max=0.8, size_half=0.6e12)
    book = EfficiencyBook(catalog, {"A100-80GB-SXM": record})
    inside = book.get(a100, "train", "decoder", "bf16", 1e12)
    assert inside.log_sigma == pytest.approx(0.05) and "extrapolated" not in inside.detail
    far = book.get(a100, "train", "decoder", "bf16", 1e14)
    gain = math.log(0.8 * 1e14 / (1e14 + 0.6e12) / 0.5)
    assert far.log_sigma == pytest.approx(math.hypot(0.05, gain))
    assert "extrapolated 100× past the largest measured call (50.0% there, 79.5% here" in far.detail
    h100 = catalog.gpus["H100-SXM"]
    moved = transferred_efficiency(record, a100, h100, "train", "decoder", "bf16", 1e14,
                                   prior_sigma=0.3)
    assert moved is not None and moved.log_sigma == pytest.approx(math.hypot(0.05, 0.3, gain))


def test_a_curve_read_for_another_family_has_a_wider_interval_by_the_fitted_family_spread(catalog):
    """A record that measured only an encoder, planning a decoder, reads the encoder curve (OtherFamily): its σ adds
    the spread a family change adds on published runs (catalog/priors.yaml extrapolation; encoder → decoder has no
    pair of its own, too few fitted encoder runs, so the pooled figure), here and where it is transferred."""
    from planner.efficiency.figure import interval

    a100, h100 = catalog.gpus["A100-80GB-SXM"], catalog.gpus["H100-SXM"]
    record = make_record()
    record = record.model_copy(update={"workloads": [w for w in record.workloads if w.family == "encoder"]})
    book = EfficiencyBook(catalog, {"A100-80GB-SXM": record})
    extra = catalog.extrapolation
    assert extra is not None and extra.family_log_sigma
    own, other = (book.get(a100, "train", family, "bf16", 1e12) for family in ("encoder", "decoder"))
    assert own.log_sigma == pytest.approx(0.05) and own.value == pytest.approx(other.value)
    assert other.log_sigma == pytest.approx(math.hypot(0.05, extra.family_log_sigma))
    (low, _, high), (own_low, _, own_high) = interval(other.value, other.log_sigma), interval(own.value, own.log_sigma)
    assert high / low > own_high / own_low
    assert (f"interval widened by σ {extra.family_log_sigma:.2f} for the family change (pooled over "
            f"{extra.n['family']} published runs") in other.detail
    moved_own, moved_other = (book.get(h100, "train", family, "bf16", 1e12) for family in ("encoder", "decoder"))
    assert moved_other.source == moved_own.source == "transferred"
    assert moved_other.log_sigma == pytest.approx(math.hypot(moved_own.log_sigma, extra.family_log_sigma))
    # a pair the runs give a figure of its own, on an architecture without a CNN prior: a decoder record on an H100
    # planning a CNN is carried over unchanged, widened by the decoder → cnn figure
    decoder = make_record(catalog_id="H100-SXM", name="NVIDIA H100 80GB HBM3")
    decoder = decoder.model_copy(update={"workloads": [w for w in decoder.workloads if w.family == "decoder"]})
    pair = next(p for p in extra.family_pairs if (p.measured, p.planned) == ("decoder", "cnn"))
    hopper = EfficiencyBook(catalog, {"H100-SXM": decoder})
    own, read = (hopper.get(h100, "train", family, "bf16", 1e12) for family in ("decoder", "cnn"))
    assert not any(p.kind == "train" and p.arch == h100.arch and p.family == "cnn" for p in catalog.priors)
    assert read.value == pytest.approx(own.value) and read.log_sigma == pytest.approx(math.hypot(0.05, pair.log_sigma))
    assert f"decoder medians predicting {pair.n} published cnn runs" in read.detail and "re-centred" not in read.detail


def _prior(catalog, kind, arch, family):
    return next(p for p in catalog.priors if (p.kind, p.arch, p.family) == (kind, arch, family))


def test_another_family_s_curve_is_re_centred_by_the_prior_ratio_where_both_priors_exist(catalog):
    """A record on an A100 (ampere: CNN and decoder training priors, the CNN's of >= 3 runs) that measured only a CNN,
    planning a decoder: the CNN's efficiency × the decoder prior / the CNN prior there, its interval widened by the
    re-centred figure of same-GPU pairs of published runs (catalog/priors.yaml family_pairs `recentred`); the same
    factor before the roofline carries it to an H100."""
    a100, h100 = catalog.gpus["A100-80GB-SXM"], catalog.gpus["H100-SXM"]
    cnn = make_record(train_e_max=0.15)
    cnn = cnn.model_copy(update={"workloads": [w for w in cnn.workloads if w.family == "cnn"]})
    book = EfficiencyBook(catalog, {"A100-80GB-SXM": cnn})
    ratio = (_prior(catalog, "train", "ampere", "decoder").efficiency
             / _prior(catalog, "train", "ampere", "cnn").efficiency)
    assert ratio > 2  # decoders reach a larger share of peak than CNNs on ampere
    own, read = (book.get(a100, "train", family, "bf16", 1e12) for family in ("cnn", "decoder"))
    assert read.source == "transferred" and read.value == pytest.approx(own.value * ratio)
    pair = next(p for p in catalog.extrapolation.family_pairs if (p.measured, p.planned) == ("cnn", "decoder"))
    assert pair.recentred is not None and pair.recentred.log_sigma < pair.log_sigma
    assert read.log_sigma == pytest.approx(math.hypot(0.05, pair.recentred.log_sigma))
    assert (f"re-centred by the decoder/cnn prior ratio on ampere (×{ratio:.2f}), interval widened by σ "
            f"{pair.recentred.log_sigma:.2f} ({pair.recentred.pairs} same-GPU pairs of published cnn and decoder runs"
            ) in read.detail
    moved_own, moved = (book.get(h100, "train", family, "bf16", 1e12) for family in ("cnn", "decoder"))
    # size_half = per_param = 0: the whole step is the saturated compute, so the factor carries through the roofline
    assert moved.value == pytest.approx(moved_own.value * ratio)
    assert moved.log_sigma == pytest.approx(math.hypot(moved_own.log_sigma, pair.recentred.log_sigma))


def test_a_decoder_record_planning_a_cnn_on_the_same_gpu_reads_a_lower_efficiency(catalog):
    """CNN training reaches a smaller share of peak than decoder training on ampere (priors): a decoder record on an
    A100 planning a CNN there reads less than its decoder efficiency, not the decoder's own; a re-centred share is
    held to the measured peak it is a share of."""
    a100 = catalog.gpus["A100-80GB-SXM"]
    decoder = make_record()
    decoder = decoder.model_copy(update={"workloads": [w for w in decoder.workloads if w.family == "decoder"]})
    book = EfficiencyBook(catalog, {"A100-80GB-SXM": decoder})
    own, read = (book.get(a100, "train", family, "bf16", 1e12) for family in ("decoder", "cnn"))
    ratio = (_prior(catalog, "train", "ampere", "cnn").efficiency
             / _prior(catalog, "train", "ampere", "decoder").efficiency)
    assert read.value < own.value and read.value == pytest.approx(own.value * ratio)
    assert "re-centred by the cnn/decoder prior ratio on ampere" in read.detail
    # a CNN record at 50 % of the measured peak planning a decoder (×3.5) stays at the measured peak
    cnn = make_record(train_e_max=0.5)
    cnn = cnn.model_copy(update={"workloads": [w for w in cnn.workloads if w.family == "cnn"]})
    full = EfficiencyBook(catalog, {"A100-80GB-SXM": cnn}).get(a100, "train", "decoder", "bf16", 1e12)
    assert full.value == pytest.approx(250.0 / a100.peak_tflops.bf16)


def test_the_family_spread_in_the_priors_file_is_what_the_published_runs_give(catalog):
    """catalog/priors.yaml's family figures, recomputed from catalog/published_runs.yaml (fit_family_transfer), per
    pair and pooled; each pair's added σ is the part of its transfer error its own family's spread does not explain."""
    from planner.efficiency.prior_fit import fit_family_transfer
    from planner.validate.train_fit import load_published_runs

    fit = fit_family_transfer(load_published_runs(ROOT / "catalog", catalog), catalog)
    extra = catalog.extrapolation
    assert extra is not None and extra.family_log_sigma == round(fit.pooled[0], 4)
    assert extra.n["family"] == fit.pooled[1]
    stored = {(p.measured, p.planned): (p.log_sigma, p.n, p.transfer_rms, p.own_rms) for p in extra.family_pairs}
    assert stored == {pair: (round(s, 4), n, round(ab, 4), round(bb, 4)) for pair, (s, n, ab, bb) in fit.pairs.items()}
    for sigma, n, ab, bb in stored.values():
        assert n >= 3 and sigma == pytest.approx(math.sqrt(max(0.0, ab ** 2 - bb ** 2)), abs=2e-4)
    recentred = {(p.measured, p.planned): p.recentred for p in extra.family_pairs if p.recentred is not None}
    assert {pair: (r.log_sigma, r.pairs, r.runs, r.ratio_rms, r.own_rms) for pair, r in recentred.items()} == {
        pair: (round(s, 4), n, runs, round(ratio, 4), round(own, 4))
        for pair, (s, n, runs, ratio, own) in fit.recentred.items()}
    pooled = extra.family_recentred
    assert pooled is not None and pooled.log_sigma == round(fit.recentred_pooled[0], 4)
    assert pooled.pairs == sum(r.pairs for r in recentred.values())
    # re-centred, every pair misses by less than carried over unchanged
    assert all(r.log_sigma < p.log_sigma for p in extra.family_pairs if (r := p.recentred) is not None)
    assert pooled.log_sigma < extra.family_log_sigma


def test_the_re_centred_family_spread_is_same_gpu_pairs_of_published_runs(catalog):
    """cnn → decoder recomputed here from the published runs' implied efficiencies: each decoder run against each
    CNN run on the same GPU type, ln(decoder / (cnn × decoder median / cnn median on the architecture)), each median
    without the run it is paired with; own: ln(decoder / decoder median without it)."""
    import statistics

    from planner.efficiency.prior_fit import FIT_GROUPS, implied_efficiency
    from planner.validate.train_fit import load_published_runs

    runs = load_published_runs(ROOT / "catalog", catalog)
    kept = [r for r in runs if r.group in FIT_GROUPS or (r.phase == "infer" and r.model.preset is not None)]
    points = [p for p in (implied_efficiency(r, catalog) for r in kept) if p is not None and p.kind == "train"]
    fitted = [p for p in points if p.run.check_family is None]
    ratio_errors, own_errors = [], []
    for b in (p for p in points if p.family == "decoder"):
        own = [q.efficiency for q in fitted if (q.arch, q.family) == (b.arch, "decoder") and q.run.id != b.run.id]
        cnn_level = [q for q in fitted if (q.arch, q.family) == (b.arch, "cnn")]
        if not own or len(cnn_level) < 3:
            continue
        for a in (p for p in points if p.family == "cnn" and p.run.gpu == b.run.gpu):
            a_median = statistics.median(q.efficiency for q in cnn_level if q.run.id != a.run.id)
            ratio_errors.append(math.log(b.efficiency / (a.efficiency * statistics.median(own) / a_median)))
            own_errors.append(math.log(b.efficiency / statistics.median(own)))
    rms = [math.sqrt(sum(e * e for e in errors) / len(errors)) for errors in (ratio_errors, own_errors)]
    stored = next(p for p in catalog.extrapolation.family_pairs if (p.measured, p.planned) == ("cnn", "decoder"))
    assert stored.recentred is not None and stored.recentred.pairs == len(ratio_errors)
    assert (stored.recentred.ratio_rms, stored.recentred.own_rms) == (round(rms[0], 4), round(rms[1], 4))
    assert stored.recentred.log_sigma == pytest.approx(math.sqrt(max(0.0, rms[0] ** 2 - rms[1] ** 2)), abs=2e-4)


def test_a_curve_never_near_saturation_is_not_taken_at_its_form_far_past_the_data(catalog):
    """QA leftover: a CPU record's training curve, measured at a few % and never near saturation, leaves e_max at
    its bound 1 (curve.E_MAX_BOUND), and a 1B model ~100× past its largest call read ~99 % MFU on 'this machine'.
    e = 1·F/(F + 19e12) is 5 % at the measured 1e12; at 1e15 the curve's form reads 98.1 %. The median is the
    geometric middle of the two, 22.2 %; the σ still adds the whole gain ln(0.981/0.05)."""
    a100 = catalog.gpus["A100-80GB-SXM"]
    record = make_record(train_e_max=1.0, size_half=19e12)
    book = EfficiencyBook(catalog, {"A100-80GB-SXM": record})
    ratio = 250.0 / a100.peak_tflops.bf16  # the record's measured peak over the datasheet's
    edge, form = 1e12 / 20e12, 1e15 / (1e15 + 19e12)
    far = book.get(a100, "train", "decoder", "bf16", 1e15)
    assert far.value == pytest.approx(math.sqrt(edge * form) * ratio)
    assert far.value < 0.25 * ratio and far.log_sigma == pytest.approx(math.hypot(0.05, math.log(form / edge)))
    assert "never near saturation (5.0% there, 98.1% by the curve's form: 22.2%, their geometric middle" in far.detail
    # inside the measured sizes the curve is read as fitted; a fitted e_max below its bound extrapolates as before
    assert book.get(a100, "train", "decoder", "bf16", 1e12).value == pytest.approx(edge * ratio)
    fitted = EfficiencyBook(catalog, {"A100-80GB-SXM": make_record(train_e_max=0.8, size_half=0.6e12)})
    assert fitted.get(a100, "train", "decoder", "bf16", 1e14).value == pytest.approx(
        0.8 * 1e14 / (1e14 + 0.6e12) * ratio)


def test_an_efficiency_interval_never_runs_faster_than_the_peak():
    # a median of 0.6 with σ 1 would put the P90 at 0.6·e^1.28 = 2.16 of the peak; it stops at 1
    from planner.efficiency.figure import interval

    low, mid, high = interval(0.6, 1.0)
    assert high == 1.0 and mid == 0.6 and low == pytest.approx(0.6 / math.exp(1.2815515655446004))
    assert interval(0.3, 0.1)[2] == pytest.approx(0.3 * math.exp(0.12815515655446004))  # below 1: untouched


def test_per_parameter_overhead_lowers_efficiency_for_bigger_models(catalog):
    record = make_record(train_e_max=0.8, size_half=0.0, per_param=1e5)
    fit = record.workload("decoder", "train").fit
    # e = 0.8·F/(F + 1e5·N): at F = 1e12, N = 1e7 the overhead equals F, so e = 0.4
    assert fit.at(1e12, 1e7) == pytest.approx(0.4)
    assert fit.at(1e12, 0.0) == pytest.approx(0.8)


def test_estimate_marks_calibrated_transferred_and_prior(tmp_path):
    store = tmp_path / "calibrations"
    record = tmp_path / "a100.yaml"
    save_record(make_record(), record)
    added = runner.invoke(app, ["calibration", "add", str(record), "--calibrations", str(store)])
    assert added.exit_code == 0 and "Stored" in added.stdout
    again = runner.invoke(app, ["calibration", "add", str(record), "--calibrations", str(store)])
    assert again.exit_code == 0 and again.stdout.startswith("Already stored, the same record: ")
    assert len(list(store.iterdir())) == 1
    listed = runner.invoke(app, ["calibration", "list", "--calibrations", str(store), "--format", "json"])
    rows = json.loads(listed.stdout)
    assert rows[0]["catalog_id"] == "A100-80GB-SXM"
    bf16 = next(p for p in rows[0]["peaks"] if p["what"] == "matmul bf16")
    assert bf16["ratio"] == pytest.approx(250 / 312)
    result = runner.invoke(app, ["estimate", PRETRAIN, "--calibrations", str(store), "--format", "json", "--top",
                                 "0"])
    plans = json.loads(result.stdout)["training"]["plans"]
    sources = {(p["gpu"], p["efficiency_source"]) for p in plans}
    assert ("A100-80GB-SXM", "calibrated") in sources
    assert ("H100-SXM", "transferred") in sources
    a100 = next(p for p in plans if p["gpu"] == "A100-80GB-SXM")
    width = a100["hours"]["p90"] / a100["hours"]["p10"]
    (tmp_path / "empty").mkdir()
    prior = json.loads(runner.invoke(app, ["estimate", PRETRAIN, "--format", "json", "--top", "0",
                                           "--calibrations", str(tmp_path / "empty")]).stdout)["training"]["plans"]
    prior_a100 = next(p for p in prior if p["gpu"] == "A100-80GB-SXM")
    assert prior_a100["efficiency_source"] == "prior"
    assert width < prior_a100["hours"]["p90"] / prior_a100["hours"]["p10"]  # a calibration narrows the interval


def test_a_profile_given_as_a_record_is_named_as_a_profile(write):
    # new-user QA: `estimate P --measurements P` read "(kind is None, expected 'gpuplan/calibration')"
    profile = write("profile.yaml", "name: x\nmodel: {preset: llama-2-7b}\ntraining: {dataset: {tokens: 1B}}\n")
    result = runner.invoke(app, ["estimate", str(profile), "--measurements", str(profile)])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == (f"Error: {profile}:1:1: kind: not a gpuplan measurement record (it has no kind, expected "
                             f"'gpuplan/calibration'): it is a profile. Give the record that `gpuplan profile "
                             f"PROFILE` or `gpuplan calibrate` writes.\n")
    other = write("other.yaml", "name: x\n")  # neither: only what it lacks
    with pytest.raises(InputError, match=r"\(it has no kind, expected 'gpuplan/calibration'\)$"):
        load_record(other)


def test_calibration_add_cli_reports_bad_records_with_exit_2(write):
    bad = write("bad.yaml", record_yaml(make_record()).replace("kind: gpuplan/calibration", "kind: other"))
    result = runner.invoke(app, ["calibration", "add", str(bad), "--calibrations", str(bad.parent / "s")])
    assert result.exit_code == 2 and "not a gpuplan measurement record" in result.output


def test_measured_local_row_uses_the_record_and_the_hourly_cost(tmp_path):
    """A record of a catalog GPU used as --measurements: the row is the local device with measured efficiency."""
    path = tmp_path / "local.yaml"
    save_record(make_record(), path)
    out = runner.invoke(app, ["estimate", PRETRAIN, "--measurements", str(path), "--format", "json", "--top", "3",
                              "--local-usd-per-hour", "2"])
    plans = json.loads(out.stdout)["training"]["plans"]
    local = [p for p in plans if p["provider"] == "local"]
    assert len(local) == 1 and local[0]["gpu"] == "A100-80GB-SXM" and local[0]["efficiency_source"] == "measured"
    hours = local[0]["hours"]["p50"]
    assert local[0]["cost_usd"]["p50"] == pytest.approx(2.0 * hours, rel=1e-3)  # per-second billing at $2/h
    assert dt.date.fromisoformat(json.loads(out.stdout)["catalog_as_of"])


def test_missing_calibrations_directory_is_an_input_error(tmp_path):
    result = runner.invoke(app, ["estimate", PRETRAIN, "--calibrations", str(tmp_path / "typo")])
    assert result.exit_code == 2 and "calibrations directory not found" in result.output


@pytest.mark.parametrize("option, what", [("--calibrations", "calibrations"), ("--catalog", "catalog")])
def test_a_file_given_for_a_directory_is_named_a_file(tmp_path, option, what):
    # new-user QA: a record file given as --calibrations (or a YAML file as --catalog) read 'directory not found'
    record = tmp_path / "record.yaml"
    record.write_text("kind: gpuplan/calibration\n")
    result = runner.invoke(app, ["estimate", PRETRAIN, option, str(record)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {record}: is a file, not a {what} directory.")


def test_serving_uses_calibrated_prefill_and_transferred_elsewhere(tmp_path):
    store = tmp_path / "calibrations"
    record = tmp_path / "a100.yaml"
    save_record(make_record(), record)
    assert runner.invoke(app, ["calibration", "add", str(record), "--calibrations", str(store)]).exit_code == 0
    out = runner.invoke(app, ["estimate", str(ROOT / "profiles" / "serve-7b-chat.yaml"), "--calibrations", str(store),
                              "--format", "json", "--top", "0"])
    plans = json.loads(out.stdout)["inference"]["plans"]
    sources = {p["gpu"]: p["efficiency_source"] for p in plans}
    assert sources["A100-80GB-SXM"] == "calibrated"
    assert sources["H100-SXM"] == "transferred"


@pytest.mark.parametrize("command", [["calibration", "list"], ["estimate", str(ROOT / "profiles" / "lora-7b-a6000.yaml")]])
def test_a_calibrations_directory_that_is_none_is_one_error_for_every_reader(tmp_path, command):
    """`calibration list --calibrations TYPO` said "No calibrations stored" and exited 0 where `estimate` refused the
    same option (new-user QA round 11): both name the path, exit 2."""
    missing, a_file = tmp_path / "typo", tmp_path / "file.yaml"
    a_file.write_text("x: 1\n")
    for given, what in ((missing, "calibrations directory not found"), (a_file, "is a file, not a calibrations directory")):
        result = runner.invoke(app, [*command, "--calibrations", str(given)])
        assert (result.exit_code, result.stdout) == (2, ""), result.output
        assert result.stderr == (f"Error: {given}: {what}. Pass an existing directory as --calibrations, or omit it "
                                 "for CATALOG/calibrations.\n")
    empty = tmp_path / "empty"
    empty.mkdir()
    listed = runner.invoke(app, ["calibration", "list", "--calibrations", str(empty)])
    assert listed.exit_code == 0 and "No calibrations stored" in listed.stdout


def test_a_record_of_another_model_family_is_transferred_and_warned(tmp_path):
    """A BERT record (encoder curves only) given for a decoder's plan (new-user QA round 12): its encoder curve
    planned the Llama-like row as 'measured', without a warning. It is a transferred efficiency, and one warning
    names both models."""
    bert_model = "encoder 12 layers × 768 hidden, 12 heads, FFN 3072 (gelu), vocab 30522, seq 512"
    record = make_record()
    record = record.model_copy(update={"workloads": [w.model_copy(update={"model": bert_model})
                                                     for w in record.workloads if w.family == "encoder"]})
    path = tmp_path / "bert.yaml"
    save_record(record, path)
    out = runner.invoke(app, ["estimate", PRETRAIN, "--measurements", str(path), "--format", "json", "--top", "3"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    local = [p for p in doc["training"]["plans"] if p["provider"] == "local"]
    assert len(local) == 1 and local[0]["efficiency_source"] == "transferred"
    assert f"the encoder curve, {bert_model}" in local[0]["efficiency"]["detail"]
    assert "for the family change" in local[0]["efficiency"]["detail"]
    named = [w for w in doc["warnings"] if w.startswith("this machine: the measurement record measured no decoder train")]
    assert len(named) == 1 and "pythia-1b" in named[0] and bert_model in named[0]
    # the record's own family stays measured, without that warning
    save_record(make_record(), path)
    own = json.loads(runner.invoke(app, ["estimate", PRETRAIN, "--measurements", str(path), "--format", "json",
                                         "--top", "3"]).stdout)
    assert [p["efficiency_source"] for p in own["training"]["plans"] if p["provider"] == "local"] == ["measured"]
    assert not [w for w in own["warnings"] if "measured no decoder" in w]


def test_a_call_above_the_peak_it_is_divided_by_is_flagged_doubtful(catalog):
    # new-user QA round 13: a CPU record's summary printed 'MFU 113%' and '267% of memory bandwidth' as plain facts,
    # beside a table (and a record) capped at 100%
    from planner.render.records import renter_lines

    record = make_record(catalog_id=None, name="Some CPU", device_type="cpu", bf16_tflops=0.5, bandwidth_gbs=2.0)
    train, _, _, _, prefill, decode = record.workloads
    fast = train.points[0].model_copy(update={"model_flops": 1.13e12, "seconds": 2.0})  # 0.565 TFLOP/s of 0.5
    moved = decode.points[0].model_copy(update={"bytes_moved": 5.34e9, "seconds": 1.0})  # 5.34 GB/s of 2
    record = record.model_copy(update={"workloads": [train.model_copy(update={"points": [fast]}),
                                                     decode.model_copy(update={"points": [moved]})]})
    first, second, _ = renter_lines(record, catalog)
    doubt = "so doubtful ({}, or on a CPU a model whose {} stay in cache); the record caps its efficiency at 100%."
    assert first == ("decoder training step (bf16, train step): 0.565 TFLOP/s of the measured matmul peak 0.5 "
                     "TFLOP/s — MFU 113%: above the peak, " + doubt.format(
                         "timing noise, a peak benchmark that ran low on a loaded machine", "weights and activations"))
    assert second == ("decoder decode (bf16): 5.34 GB/s of the measured 2 GB/s = 267% of memory bandwidth: above the "
                      "bandwidth, " + doubt.format("timing noise, a bandwidth benchmark that ran low on a loaded "
                                                   "machine", "weights and KV cache"))
    plain = renter_lines(make_record(catalog_id=None, name="Some CPU", device_type="cpu"), catalog)[0]
    assert plain.endswith("— MFU 0%.") and "doubtful" not in plain
    # a point whose timings' IQR exceeds their median is flagged (the docs' CPU record: prefill MFU 67% at 475%)
    noisy = train.points[0].model_copy(update={"iqr_seconds": 4.75})
    spread = renter_lines(record.model_copy(update={"workloads": [train.model_copy(update={"points": [noisy]})]}),
                          catalog)[0]
    assert spread.endswith("efficiency at 100%. Its timings spread wider than their median "
                           "(IQR/median 475%): doubtful."), spread
    assert "doubtful" not in renter_lines(record, catalog)[0].split("100%.")[1]  # 1% spread: not flagged


def test_two_records_of_one_device_are_told_apart_on_a_narrow_terminal(tmp_path, catalog, monkeypatch):
    # new-user QA round 13: at 80 columns `calibration list` showed two records of this CPU as '(cpu)' and their
    # peaks only, the measured time (which one estimates use: the newest) dropped with the other columns
    store = tmp_path / "store"
    for when, bf16 in (("2026-11-20T10:00:00Z", 0.5), ("2026-11-21T10:00:00Z", 0.6)):
        record = make_record(catalog_id=None, name="Some CPU", device_type="cpu", bf16_tflops=bf16)
        path = tmp_path / f"{bf16}.yaml"
        save_record(record.model_copy(update={"measured_at": dt.datetime.fromisoformat(when)}), path)
        add_calibration(path, catalog, store)
    monkeypatch.setenv("COLUMNS", "80")
    listed = runner.invoke(app, ["calibration", "list", "--calibrations", str(store)])
    assert listed.exit_code == 0, listed.output
    text = " ".join(listed.stdout.split())
    assert ("Alike above but for their measured (--wide shows every column): row 1 2026-11-21T10:00:00+00:00; row 2 "
            "2026-11-20T10:00:00+00:00.") in text, listed.stdout


def test_a_record_named_yml_in_the_store_is_read(tmp_path):
    # new-user QA round 14: a hand-copied `rec.yml` was skipped without a word, `calibration list` then said "No
    # calibrations stored"; a store reads `.yml` as it reads `.yaml` (YAML's two suffixes)
    store = tmp_path / "store"
    store.mkdir()
    save_record(make_record(), store / "rec.yml")
    listed = runner.invoke(app, ["calibration", "list", "--calibrations", str(store), "--format", "json"])
    assert listed.exit_code == 0, listed.output
    assert [row["catalog_id"] for row in json.loads(listed.stdout)] == ["A100-80GB-SXM"]


def _layouts(tmp_path):
    """planner/bundled_catalog as a wheel installs it (a directory copied into the package) and as a source checkout
    has it (a link to ../catalog, outside the package); each tree's planner/."""
    wheel = tmp_path / "site" / "planner"
    shutil.copytree(ROOT / "catalog", wheel / "bundled_catalog", ignore=shutil.ignore_patterns("calibrations"))
    source = tmp_path / "source" / "planner"
    shutil.copytree(ROOT / "catalog", source.parent / "catalog", ignore=shutil.ignore_patterns("calibrations"))
    source.mkdir()
    (source / "bundled_catalog").symlink_to(Path("..") / "catalog")
    return wheel, source


def test_calibration_add_refuses_the_store_inside_an_installed_package(tmp_path, catalog, monkeypatch):
    """New-user QA round 15: on a wheel install (`pip install .`) the default store, the bundled catalog's
    calibrations/, is inside site-packages, where an added record is lost on the next upgrade (and a system install
    is not writable): refused with one line, exit 2, nothing written. A source checkout's store (planner/
    bundled_catalog links to ../catalog) still takes it, to be committed."""
    wheel, source = _layouts(tmp_path)
    record = tmp_path / "a100.yaml"
    save_record(make_record(), record)
    monkeypatch.setattr(records, "PACKAGE_DIR", wheel)
    store = wheel / "bundled_catalog" / "calibrations"
    with pytest.raises(InputError, match="is part of the installed gpuplan package"):
        add_calibration(record, catalog, store)
    result = runner.invoke(app, ["calibration", "add", str(record), "--catalog", str(wheel / "bundled_catalog")])
    resolved = store.resolve()
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", (
        f"Error: the calibration store {resolved} is part of the installed gpuplan package, where an added record is "
        "lost on upgrade: pass --calibrations DIR here and to estimate (e.g. --calibrations "
        "~/gpuplan-calibrations).\n")), result.output
    assert not store.exists()  # nothing written, not even the folder
    kept = tmp_path / "home" / "gpuplan-calibrations"  # the way out it names: a store of the user's
    added = runner.invoke(app, ["calibration", "add", str(record), "--catalog", str(wheel / "bundled_catalog"),
                                "--calibrations", str(kept)])
    assert added.exit_code == 0 and added.stdout.startswith(f"Stored {kept}/"), added.output

    monkeypatch.setattr(records, "PACKAGE_DIR", source)
    stored, new = add_calibration(record, catalog, source / "bundled_catalog" / "calibrations")
    assert new and stored.resolve().parent == source.parent / "catalog" / "calibrations"


def test_what_calibrate_says_to_run_names_a_store_an_installed_package_keeps(monkeypatch, catalog):
    """`calibrate` (its summary), its --print-script script and its --emit skypilot tasks say which `calibration
    add` to run: plain in a source checkout; with --calibrations DIR (and the same to estimate) when the default
    store is inside the installed package, where a plain add is refused."""
    from planner.cli.measure import calibrate_summary

    lines = {"script": "gpuplan calibration add $(basename \"$OUT\")",
             "task": "gpuplan calibration add $(basename \"$OUT\")",
             "summary": "Add it with: gpuplan calibration add rec.yaml"}

    def said() -> dict[str, str]:
        script = runner.invoke(app, ["calibrate", "--print-script"])
        task = runner.invoke(app, ["calibrate", "--emit", "skypilot", "--gpus", "L40S"])
        assert script.exit_code == 0 and task.exit_code == 0, script.output + task.output
        summary = calibrate_summary(make_record(), catalog, Path("rec.yaml"))
        return {"script": script.stdout, "task": task.stdout, "summary": summary}

    store = "--calibrations ~/gpuplan-calibrations"
    for name, text in said().items():  # this checkout: unchanged
        assert f"{lines[name]}\n" in text.replace('"\n', "\n") and store not in text, (name, text)
    monkeypatch.setattr(records, "PACKAGE_DIR", ROOT)  # as if the bundled catalog were inside the package
    for name, text in said().items():
        assert f"{lines[name]} {store}" in text, (name, text)
        assert f"give gpuplan estimate the same {store}" in text, (name, text)


@pytest.mark.parametrize("command", [["profile", str(ROOT / "profiles" / "lora-7b-a6000.yaml"), "--quick"],
                                     ["calibrate", "--quick", "--budget", "1s"]])
def test_a_record_file_not_named_yaml_is_refused_before_measuring(tmp_path, command):
    # new-user QA round 15: `gpuplan profile --out x.txt` measured and wrote a YAML record under a name a calibration
    # store skips, while `estimate --html x.txt` was refused; every name is refused before any measuring
    for name, fix in (("x.txt", "x.yaml"), ("x.json", "x.yaml"), ("x", "x.yaml"), ("x.yaml.bak", "x.yaml")):
        out = tmp_path / name
        result = runner.invoke(app, [*command, "--out", str(out)])
        assert (result.exit_code, result.output) == (2, (
            f"Error: --out {out}: expected a .yaml (or .yml) file name: the record is YAML. Write --out "
            f"{tmp_path / fix}.\n"))
        assert not out.exists()


def test_a_measurement_out_of_the_record_schema_reads_in_the_projects_words(tmp_path):
    # new-user QA round 18: the message was pydantic's ('Input should be less than or equal to 1000000')
    from planner.cli.measure import schema_checked
    from planner.schema.record import WorkPoint

    out = tmp_path / "record.yaml"
    with pytest.raises(InputError) as info:
        with schema_checked(out):
            WorkPoint(label="a", size=1, batch=1, tokens=1, seconds=2e6, iqr_seconds=0, model_flops=1,
                      counted_flops=1, efficiency=0.5)
    assert str(info.value).startswith(f"{out}: WorkPoint.seconds: the measured record fails the record schema: "
                                      "expected a number more than 0 and at most 1,000,000 (measured 2000000.0); "
                                      "nothing written.")
    assert not out.exists()


def test_the_local_price_note_only_when_no_local_row(tmp_path):
    # new-user QA round 31: a stored calibration of this machine adds the 'this machine' row without --measurements,
    # priced at --local-usd-per-hour, under a note that said there was no such row
    from planner.efficiency.records import host_fingerprint

    record = make_record(catalog_id=None, name="this CPU", memory_gb=64.0, device_type="cpu", host=host_fingerprint())
    path = tmp_path / "cpu.yaml"
    save_record(record, path)
    store = tmp_path / "cals"
    assert runner.invoke(app, ["calibration", "add", str(path), "--calibrations", str(store)]).exit_code == 0
    args = ["estimate", PRETRAIN, "--local-usd-per-hour", "0.5", "--format", "json", "--top", "0"]
    stored = runner.invoke(app, [*args, "--calibrations", str(store)])
    local = [p for p in json.loads(stored.stdout)["training"]["plans"] if p["provider"] == "local"]
    assert local and local[0]["usd_per_hour"] == 0.5 and "prices nothing" not in stored.stderr
    empty = tmp_path / "none"
    empty.mkdir()
    alone = runner.invoke(app, [*args, "--calibrations", str(empty)])
    assert "this run has no such row, so it prices nothing" in " ".join(alone.stderr.split())


def test_a_carried_over_curve_is_named_in_the_words_of_its_use():
    # new-user QA round 31: 'measured no encoder decode (bert-base is a encoder); its decode efficiency …': an encoder
    # has no decode; its weights are read once a pass at the decode curve's bandwidth efficiency
    from planner.efficiency.calibrated import OtherFamily

    encoder = OtherFamily("decode", "encoder", "decoder", "decoder 2 layers").warning("this machine", "bert-base")
    assert encoder.startswith("this machine: the measurement record measured no encoder decode (bert-base is an "
                              "encoder); its memory-bandwidth (its weights read once a pass) efficiency is carried "
                              "over from the decoder decode the record measured (decoder 2 layers)")
    decoder = OtherFamily("train", "decoder", "encoder", "bert").warning("this machine", "pythia-1b")
    assert "(pythia-1b is a decoder); its train efficiency is carried over from the encoder train" in decoder
