"""gpuplan validate: accuracy ratchets on the published training runs (leave-one-out), the JSON contract, the fitted
curves' reproducibility and the parallel training model's invariants."""
from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from planner.catalog.load import BUNDLED_CATALOG, PricedOffer, load_catalog
from planner.cli.main import app
from planner.efficiency.origin import Efficiency
from planner.model.interconnect import hierarchical_allreduce_seconds
from planner.model.nccl import collective_seconds
from planner.model.workload import workload_for
from planner.plans.training import (
    TrainingJob,
    candidate_layouts,
    plan_training,
    step_terms,
)
from planner.schema.catalog import Offer
from planner.schema.model import Architecture
from planner.validate.runs import summaries, validate
from planner.validate.train_fit import cached_leave_one_out

LOO_MEDIAN_ABS_ERROR_RATCHET = 0.132
"""Leave-one-out median |error| on the published training runs was 0.122 when this was set (2026-12-01, the curve's
memory passes at the GPU's copy bandwidth and the flash traffic's prior centred on a count: train_fit.FLASH_PASSES);
0.135 before (2026-11-30, when MLPerf
Training v3.1's 8 GPT-3 175B rows became fittable, -18..+7 % each leave-one-out, and the hopper curve was refitted
with them; 0.146 before, with NCCL's collective latencies and the NCHW passes counted; 0.156 before that; 0.130 while
the independent-check rows were fitted on). Only lower it."""
LOO_P90_ABS_ERROR_RATCHET = 0.292
"""Leave-one-out P90 |error| was 0.282 when this was set (2026-12-01, the same change); 0.311 before (issue 14 item 6: the MoE rows left the curve fit, validated as
the `moe` group; 0.333 before; 0.401 before NCCL's latencies and the counted NCHW passes;
0.369 while the independent-check rows were fitted on; the largest errors are torchtitan 405B pipeline runs,
llm-foundry FP8 runs and NeMo FP8 fine-tuning). Only lower it."""
RATCHET_MARGIN = 0.01
COVERAGE_FLOOR = 0.70


@pytest.fixture(scope="module")
def loo_rows():
    return validate(BUNDLED_CATALOG, leave_one_out=True)


def test_leave_one_out_median_error_does_not_rise(loo_rows):
    training = summaries(loo_rows)["training"]
    assert training.n >= 130
    assert training.median_abs_error <= LOO_MEDIAN_ABS_ERROR_RATCHET
    # the ratchet only tightens: once the model is clearly better, the constant must come down with it
    assert training.median_abs_error > LOO_MEDIAN_ABS_ERROR_RATCHET - 2 * RATCHET_MARGIN, (
        f"median |error| is now {training.median_abs_error:.3f}: lower LOO_MEDIAN_ABS_ERROR_RATCHET")


def test_leave_one_out_p90_error_does_not_rise(loo_rows):
    training = summaries(loo_rows)["training"]
    assert training.p90_abs_error <= LOO_P90_ABS_ERROR_RATCHET
    assert training.p90_abs_error > LOO_P90_ABS_ERROR_RATCHET - 3 * RATCHET_MARGIN, (
        f"P90 |error| is now {training.p90_abs_error:.3f}: lower LOO_P90_ABS_ERROR_RATCHET")


def test_no_kept_training_run_implies_more_than_its_dense_peak():
    """A row that needs more than the GPU's dense peak at its precision cannot mean what it says (DLE-036 was such
    a row and is excluded with its reason): every kept training row implies a model-FLOP share of peak ≤ 1."""
    from planner.efficiency.prior_fit import implied_efficiency
    from planner.validate.train_fit import TRAIN_GROUPS, load_published_runs

    catalog = load_catalog(BUNDLED_CATALOG)
    runs = [r for r in load_published_runs(BUNDLED_CATALOG, catalog) if r.phase == "train" and r.group in TRAIN_GROUPS]
    unusable = [r.id for r in runs if implied_efficiency(r, catalog) is None
                and r.metric in ("samples_per_s", "tokens_per_s")]
    assert not unusable


def test_leave_one_out_interval_coverage(loo_rows):
    assert summaries(loo_rows)["training"].coverage_p10_p90 >= COVERAGE_FLOOR


def test_leave_one_out_is_worse_than_in_sample(loo_rows):
    """Refitting without the predicted run must not help it: an honest figure is at least the in-sample one."""
    inside = summaries(validate(BUNDLED_CATALOG))["training"]
    assert summaries(loo_rows)["training"].median_abs_error >= inside.median_abs_error - 1e-9


def test_stored_curves_are_reproducible():
    curves, _, _ = cached_leave_one_out(str(BUNDLED_CATALOG.resolve()))
    stored = load_catalog(BUNDLED_CATALOG).train_curves
    assert [c.model_dump() for c in curves] == [c.model_dump() for c in stored]


def test_validate_json_follows_the_contract():
    result = CliRunner().invoke(app, ["validate", "--format", "json", "--only", "llm-pretraining"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["schema_version"] == 1
    run = doc["runs"][0]
    assert {"id", "group", "metric", "actual", "predicted", "p10", "p90", "error"} <= set(run)
    assert run["error"] == pytest.approx((run["predicted"] - run["actual"]) / run["actual"], abs=1e-3)
    assert {r["group"] for r in doc["runs"]} == {"llm-pretraining"}
    assert set(doc["summary"]["overall"]) == {"n", "median_abs_error", "p90_abs_error", "coverage_p10_p90",
                                              "mean_interval_ratio"}
    assert doc["summary"]["overall"]["n"] == len(doc["runs"])


def test_validate_table_prints_summary_rows():
    result = CliRunner().invoke(app, ["validate", "--only", "cnn"])
    assert result.exit_code == 0, result.output
    assert "Accuracy" in result.output and "median |error|" in result.output and "goyal-resnet50-1h" in result.output


def test_validate_unknown_tag_is_exit_2():
    result = CliRunner().invoke(app, ["validate", "--only", "no-such-group"])
    assert result.exit_code == 2
    assert "no published run matches --only 'no-such-group'" in result.output
    # the hint lists every group the summary prints, those made of rows and the cross-cutting ones included
    hint = " ".join(result.output.split())
    for group in ("training", "single-gpu-throughput", "moe", "independent-check", "fitted-sources", "cnn"):
        assert f" {group}," in hint or f" {group})" in hint or f"({group}," in hint, group


def test_validate_only_accepts_the_summarys_row_groups_with_the_summarys_counts():
    every = summaries(validate(BUNDLED_CATALOG))
    rows = validate(BUNDLED_CATALOG, only="single-gpu-throughput")  # training goes the same way (in_row_group)
    assert len(rows) == every["single-gpu-throughput"].n > 0 and every["training"].n > len(rows)
    assert summaries(rows)["single-gpu-throughput"] == every["single-gpu-throughput"]


# ----------------------------------------------------------------------------------------------- the model

EFF = Efficiency(0.4, 0.2, "prior", "test")


def _offer(gpus: int = 8, network: float | None = 1600.0, intra: str = "nvlink") -> PricedOffer:
    import datetime as dt

    return PricedOffer("t", Offer(instance="t", gpu="A100-80GB-SXM", gpus_per_instance=gpus, usd_per_hour=10.0,
                                  intra_node=intra, network_gbps=network), 1.0, dt.date(2026, 1, 1))


def _job(layers: int, hidden: int, batch: float = 1536) -> TrainingJob:
    arch = Architecture(name="t", family="decoder", layers=layers, hidden=hidden, heads=hidden // 128,
                        ffn_hidden=4 * hidden, vocab=51200, seq_len=2048)
    work = workload_for(arch)
    return TrainingJob(work, 1e6, batch, None, "bf16", "adamw", "full", 16, "auto")


def test_a_model_too_large_for_data_parallel_uses_tensor_and_pipeline_parallel():
    gpu = load_catalog(BUNDLED_CATALOG).gpus["A100-80GB-SXM"]
    plan = plan_training(_job(96, 12288), gpu, _offer(), 1024, EFF)
    assert plan.fits
    assert plan.tensor * plan.pipeline > 1 or plan.sharding == "zero3"
    small = plan_training(_job(12, 768), gpu, _offer(), 8, EFF)
    assert (small.tensor, small.pipeline) == (1, 1)


def test_pipeline_bubble_is_p_minus_1_over_slots():
    gpu = load_catalog(BUNDLED_CATALOG).gpus["A100-80GB-SXM"]
    job = _job(96, 12288)
    for layout in candidate_layouts(job, gpu, _offer(), 1024):
        terms = step_terms(job, gpu, _offer(), 1024, layout, 312e12)
        slots = terms.accumulation + layout.pipeline - 1
        assert terms.bubble_fraction == pytest.approx((layout.pipeline - 1) / slots)


def test_hierarchical_allreduce_with_stride_one_is_the_node_ring():
    gpu = load_catalog(BUNDLED_CATALOG).gpus["A100-80GB-SXM"]
    size = 2e9
    seconds = hierarchical_allreduce_seconds(size, 64, gpu, _offer())
    # bandwidth: a ring of 8 over NVLink, then a ring of the 8 nodes over each node's network; latency: NCCL's for
    # the whole group of 64 (planner/model/nccl.py), at least the Simple ring's 8.4 µs base
    intra = 2 * 7 / 8 * size / (gpu.interconnect.nvlink_gbs * 1e9)
    inter = 2 * 7 / 8 * size / 8 / (1600 / 8 / 8 * 1e9)  # each GPU's share of the node's 1,600 Gb/s
    assert seconds == pytest.approx(collective_seconds("allreduce", size, 64, 8, "nvlink", intra + inter))
    # 2 GB takes the Simple ring: 8.4 µs + 112 NVLink steps × 3.4 + 14 network steps × 9.6, ×1.9 for a large
    # multi-node ring all-reduce (NCCL's 'plateau effect')
    assert seconds - (intra + inter) == pytest.approx((8.4 + 112 * 3.4 + 14 * 9.6) * 1.9e-6)
    # tensor-parallel groups of 8 leave one data-parallel rank per node: all of it crosses the network
    assert hierarchical_allreduce_seconds(size / 8, 8, gpu, _offer(), stride=8) > inter / 8


def test_slower_network_never_speeds_training_up():
    gpu = load_catalog(BUNDLED_CATALOG).gpus["A100-80GB-SXM"]
    fast = plan_training(_job(32, 4096), gpu, _offer(network=3200.0), 64, EFF)
    slow = plan_training(_job(32, 4096), gpu, _offer(network=25.0), 64, EFF)
    assert slow.step_time_s >= fast.step_time_s


def test_curve_efficiency_falls_for_small_matrices_and_low_bandwidth():
    """The fitted curve: a small-hidden model runs further below peak than a large one (arithmetic intensity);
    the same GPU with less memory bandwidth cannot be faster; fp32 on CUDA cores sits nearer its (low) peak."""
    from planner.efficiency.train_curve import curve_efficiency

    catalog = load_catalog(BUNDLED_CATALOG)
    gpu = catalog.gpus["A100-80GB-SXM"]
    curve = curve_efficiency(catalog, gpu).curve
    small, large = _job(12, 768).work, _job(32, 4096).work
    assert curve.efficiency(small, gpu, "bf16") < curve.efficiency(large, gpu, "bf16")
    slow = gpu.model_copy(update={"memory_bandwidth_gbs": gpu.memory_bandwidth_gbs / 4})
    assert curve.efficiency(large, slow, "bf16") < curve.efficiency(large, gpu, "bf16")
    assert curve.efficiency(large, gpu, "fp32") > curve.efficiency(large, gpu, "bf16")
    # tensor parallel narrows the matrices: never more efficient than one rank
    assert curve.efficiency(large, gpu, "bf16", tp=8) <= curve.efficiency(large, gpu, "bf16", tp=1)


def test_a_published_run_naming_an_unknown_gpu_is_placed_in_its_file(tmp_path):
    import shutil

    catalog = tmp_path / "catalog"
    shutil.copytree(BUNDLED_CATALOG, catalog)
    runs = catalog / "published_runs.yaml"
    text = runs.read_text()
    runs.write_text(text.replace("  gpu: A100-80GB-SXM\n", "  gpu: A100-80GB-SXMX\n", 1))
    line = text[:text.index("  gpu: A100-80GB-SXM\n")].count("\n") + 1
    result = CliRunner().invoke(app, ["validate", "--catalog", str(catalog)])
    assert result.exit_code == 2
    assert f"published_runs.yaml:{line}:3: runs.0.gpu: unknown GPU 'A100-80GB-SXMX'" in result.output
    assert "Traceback" not in result.output


def test_nchw_transposes_only_slow_16bit_cnns_that_state_nchw():
    """16-bit CNNs kept in NCHW pay the fitted transpose passes; channels-last, fp32/tf32 and transformers do not,
    and the published Lambda ResNet-50 AMP rows (NCHW) are predicted slower than the same run in NHWC."""
    import dataclasses

    from planner.efficiency.train_curve import nchw_transposes
    from planner.validate.train_fit import case_prediction

    curves, _, cases = cached_leave_one_out(str(BUNDLED_CATALOG.resolve()))
    lambda_amp = next(c for c in cases if c.run.id.startswith("LMB1") and c.job.work.family == "cnn"
                      and c.run.precision == "fp16")
    work = lambda_amp.job.work
    assert nchw_transposes(work, "fp16", "nchw") and nchw_transposes(work, "bf16", "nchw")
    assert not nchw_transposes(work, "fp16", "nhwc") and not nchw_transposes(work, "fp16", None)
    assert not nchw_transposes(work, "tf32", "nchw") and not nchw_transposes(_job(12, 768).work, "fp16", "nchw")
    assert lambda_amp.nchw16 and all(c.nchw16 == (c.run.memory_format == "nchw" and c.run.precision == "fp16")
                                     for c in cases)
    assert all(fit.nchw_passes > 0 for fit in curves)
    slow, _ = case_prediction(lambda_amp, curves)
    fast, _ = case_prediction(dataclasses.replace(lambda_amp, nchw16=False), curves)
    assert slow < fast  # samples/s: NCHW transposes cost throughput


def test_published_resnet_rows_state_the_layout_their_harness_used():
    """Lambda's configs pass no --memory-format (DLE main.py default: nchw); DLE's configs.yml sets nhwc for AMP."""
    from planner.validate.train_fit import load_published_runs

    runs = load_published_runs(BUNDLED_CATALOG, load_catalog(BUNDLED_CATALOG))
    resnet = [r for r in runs if r.phase == "train" and r.model.preset == "resnet50"]
    assert len(resnet) >= 40
    for run in resnet:
        if run.id.startswith("LMB"):
            assert run.memory_format == "nchw", run.id
        elif run.id.startswith(("DLE-", "dle-rn50")):
            assert run.memory_format == ("nhwc" if run.precision == "fp16" else "nchw"), run.id


def test_flash_attention_runs_nearer_peak_but_not_above_the_two_pass_floor():
    """Flash attention makes fewer passes over the stored activations than standard attention, never fewer than
    the floor (written in forward, read in backward); CNNs ignore the setting."""
    from planner.efficiency.train_curve import curve_efficiency
    from planner.validate.train_fit import MIN_PASSES

    catalog = load_catalog(BUNDLED_CATALOG)
    gpu = catalog.gpus["A100-80GB-SXM"]
    curve = curve_efficiency(catalog, gpu).curve
    work = _job(12, 768).work
    flash, standard = (curve.efficiency(work, gpu, "bf16", attention=a) for a in ("flash", "standard"))
    assert standard < flash < curve.fit.peak_efficiency
    for fit in catalog.train_curves:
        assert min(fit.traffic_transformer, fit.traffic_flash, fit.traffic_cnn) >= MIN_PASSES
    cnn = workload_for(Architecture(name="r", family="cnn", image_size=224, blocks=[3, 4, 6, 3]))
    assert curve.efficiency(cnn, gpu, "bf16", attention="flash") == curve.efficiency(cnn, gpu, "bf16",
                                                                                        attention="standard")


def test_profile_attention_reaches_the_plan():
    """`training.attention: standard` makes the same job on the same GPUs slower than the default (flash)."""
    profile = str(BUNDLED_CATALOG.parent / "profiles" / "pretrain-1b-72h.yaml")
    pinned = ["--set", "constraints.gpus=[A100-80GB-SXM]", "--set", "constraints.gpu_count=8", "--format", "json"]
    plans = {}
    for attention in ("flash", "standard"):
        result = CliRunner().invoke(app, ["estimate", profile, *pinned, "--set", f"training.attention={attention}"])
        assert result.exit_code in (0, 1), result.output
        plans[attention] = json.loads(result.stdout)["training"]["plans"][0]
    assert plans["standard"]["mfu"] < plans["flash"]["mfu"]
    assert plans["standard"]["hours"]["p50"] > plans["flash"]["hours"]["p50"]


def test_span_head_drops_the_vocabulary_projection():
    """lm_head_share 0 (a SQuAD span head) removes exactly 2·V·d FLOP per token and the logits' bytes."""
    base = dict(name="b", family="encoder", layers=24, hidden=1024, heads=16, vocab=30522, seq_len=384)
    lm, span = workload_for(Architecture(**base)), workload_for(Architecture(**base, lm_head_share=0))
    assert lm.forward_flops_per_sample - span.forward_flops_per_sample == pytest.approx(2 * 30522 * 1024 * 384)
    assert lm.activation_bytes_per_sample_16bit - span.activation_bytes_per_sample_16bit == pytest.approx(
        6 * 30522 * 384)
    assert span.params == lm.params  # the (tied) embedding is still there


def test_geforce_cards_fall_back_to_their_generation_without_fitted_geforce_runs():
    """The GeForce training rows are all Lambda's (an independent check, never fitted), so no GeForce curve is fitted
    and a GeForce card takes its generation's curve before the pooled one."""
    from planner.efficiency.train_curve import pick_curve

    catalog = load_catalog(BUNDLED_CATALOG)
    curves = catalog.train_curves
    assert catalog.gpus["RTX-3090"].family == "ampere-geforce"
    assert not any(c.arch.endswith("-geforce") for c in curves)
    assert pick_curve(curves, catalog.gpus["RTX-3090"].family).arch == "ampere"
    assert pick_curve(curves, catalog.gpus["RTX-A6000"].family).arch == "ampere"
    assert pick_curve(curves, catalog.gpus["RTX-4090"].family).arch == "any"  # no Ada run at all
    assert pick_curve(curves, "volta-geforce").arch == "volta"  # a generation's curve before the pooled one


def test_curve_efficiency_never_exceeds_peak():
    """No GPU, precision, attention kernel or model size gets an efficiency above 1 (the GeForce curve's top times
    the fp32 factor would, unclamped)."""
    from planner.efficiency.train_curve import curve_efficiency

    catalog = load_catalog(BUNDLED_CATALOG)
    works = [_job(2, 128).work, _job(12, 768).work, _job(80, 8192).work]
    for gpu in catalog.gpus.values():
        curve = curve_efficiency(catalog, gpu).curve
        for precision in ("fp32", "tf32", "fp16", "bf16"):
            if gpu.peak_tflops.get(precision) is None:
                continue
            for work in works:
                for attention in ("flash", "standard"):
                    assert 0 < curve.efficiency(work, gpu, precision, attention=attention) <= 1.0


def test_an_end_to_end_decode_row_pays_its_prefill_and_one_step_less():
    """A decode row timed end to end (vLLM's benchmark_latency, gpt-fast): one batched prefill, then output − 1
    decode steps; the implied bandwidth fraction of prior_fit inverts it, so the row's own prior predicts it."""
    from planner.efficiency.prior_fit import implied_efficiency
    from planner.model.inference_time import decode_step_seconds
    from planner.model.precision import peak_flops
    from planner.model.workload import prefill_flops
    from planner.project.load import resolve_architecture
    from planner.schema.model import ModelSection
    from planner.schema.runs import PublishedRun
    from planner.validate.serving import end_to_end_decode_tokens_per_s

    catalog = load_catalog(BUNDLED_CATALOG)
    gpu = catalog.gpu("H200-SXM")
    work = workload_for(resolve_architecture(ModelSection(preset="llama-3-8b"), catalog))
    peak = peak_flops(gpu, "bf16")
    assert peak is not None
    flops, bytes_per_s = peak * 0.6, gpu.memory_bandwidth_gbs * 1e9 * 0.5
    e2e = end_to_end_decode_tokens_per_s(work, gpu, "bf16", 8, 1024, 128, 0.6, 0.5)
    step = decode_step_seconds(work, 8, 1024 + 64, "bf16", "fp16", flops, bytes_per_s)
    prefill = 8 * prefill_flops(work, 1024) / flops  # 8192 prompt tokens: compute-bound
    assert e2e == pytest.approx(8 * 128 / (prefill + 127 * step))
    assert e2e < 8 / step  # the prefill costs more than the step it saves
    run = PublishedRun(id="t", group="serving-decode", tier="B", model=ModelSection(preset="llama-3-8b"),
                       precision="bf16", seq_len=128, batch=8, gpu="H200-SXM", gpu_count=1, metric="tokens_per_s",
                       value=1000.0, phase="decode", engine="vllm", input_tokens=32, output_tokens=128,
                       source="test")
    implied = implied_efficiency(run, catalog)
    assert implied is not None
    # the fit counts the prefill as one read of the weights: the prediction at that fraction is within 1 % when the
    # prefill is bandwidth-bound (compute efficiency high enough)
    # (the implied figure is a share of the copy bandwidth: planner/model/decode_ceiling.py reads it as a share of peak)
    from planner.model.decode_ceiling import share_of_peak
    share = share_of_peak(gpu, implied.efficiency)
    assert share is not None and share < 1.0
    # vLLM's host time per step (catalog/priors.yaml engine_steps) is taken off in the fit and paid in the prediction
    from planner.model.engine_step import engine_step_seconds
    engine_s = engine_step_seconds(catalog.engine_steps, "vllm")
    assert engine_s > 0
    predicted = end_to_end_decode_tokens_per_s(work, gpu, "bf16", 8, 32, 128, 1.0, share, engine_s=engine_s)
    assert predicted == pytest.approx(run.value, rel=0.01)


@pytest.mark.parametrize("columns, shown", [("80", False), ("200", True)])
def test_validate_legends_explain_only_the_columns_shown(columns, shown):
    # at 80 columns the P90/P10 and layout columns are dropped: their legends go with them, and the table says
    # which it left out
    result = CliRunner().invoke(app, ["validate", "--only", "moe"], env={"COLUMNS": columns})
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert ("P90/P10: mean interval width" in text) is shown
    assert bool(re.search(r"Left out at this width: [^(]*P90/P10", text)) is not shown
    assert ("layout: data·tensor·pipeline parallel" in text) is shown
    assert "mixtures of experts" in text and "inference-batch-1:" not in text  # notes of the groups printed only


def test_validate_only_says_what_tiers_and_phases_there_are():
    # new-user QA round 27: --only's help named 'tier, phase or id' without a value of either
    import typing

    from planner.schema.runs import PublishedRun

    result = CliRunner().invoke(app, ["validate", "--help"], env={"COLUMNS": "200"})
    text = " ".join(result.output.split())
    for field in ("tier", "phase"):
        values = typing.get_args(PublishedRun.model_fields[field].annotation)
        assert values and all(re.search(rf"\b{v}\b", text) for v in values), (field, values)
