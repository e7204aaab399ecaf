"""Grouped cross-validation (`gpuplan validate --cross-validate`): ratchets on the grouped figures that can only
tighten, readable group and fold names, folds that never grade their own fit, and estimate = validate for one run."""
from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from planner.catalog.load import BUNDLED_CATALOG, load_catalog
from planner.cli.main import app
from planner.efficiency.train_fit import load_published_runs
from planner.io.profile import load_profile
from planner.plans.search import estimate
from planner.validate.folds import fold_key, source_key
from planner.validate.runs import summaries, validate

SOURCE_CV_TRAINING_MEDIAN_RATCHET = 0.173
"""Training runs, grouped by source: median |error| was 0.163 when this was set (0.166 before the runs' stated
layouts were pinned; 0.142 before the 77 kept rows of issue 13 item 4 - NeMo / Megatron-Bridge, Megatron-LM,
llm-foundry, torchtitan, gpt-fast - each source a fold). Only lower it."""
SOURCE_CV_TRAINING_P90_RATCHET = 0.415
"""Training runs, grouped by source: P90 |error| was 0.405 when this was set (0.302 before those rows). Only lower
it."""
SOURCE_CV_OVERALL_MEDIAN_RATCHET = 0.188
"""All runs, grouped by source: median |error| was 0.178 when this was set (0.163 before those rows; issue 13's target:
0.15)."""
SOURCE_CV_BATCH1_MEDIAN_RATCHET = 0.255
"""Batch-1 inference, grouped by source: median |error| was 0.245 when this was set (5.62 when NVIDIA DLE was the only
publication of eager forward passes and held-out rows fell back to the documented floor; issue 13's target: 0.25).
Only lower it."""
SOURCE_CV_BATCHED_MEDIAN_RATCHET = 0.429
"""Batched inference, grouped by source: median |error| was 0.419 when this was set (0.502 before the execution-mode
floors and the transformer-deploy rows). Only lower it."""
RATCHET_MARGIN = 0.01
USER_GROUPS = {"llm-pretraining", "fine-tuning", "cnn", "encoder", "serving-decode", "serving-prefill",
               "inference-batch-1", "inference-batched", "transformer-xl-training", "transformer-xl-inference"}


@pytest.fixture(scope="module")
def source_rows():
    return validate(BUNDLED_CATALOG, cross_validate="source")


def _ratchet(value: float, limit: float, name: str) -> None:
    assert value <= limit, f"{name} rose to {value:.3f} (ratchet {limit})"
    assert value > limit - 2 * RATCHET_MARGIN, f"{name} is now {value:.3f}: lower its ratchet to tighten it"


def test_source_cv_training_median_does_not_rise(source_rows):
    _ratchet(summaries(source_rows)["training"].median_abs_error, SOURCE_CV_TRAINING_MEDIAN_RATCHET,
             "source-CV training median |error|")


def test_source_cv_training_p90_does_not_rise(source_rows):
    _ratchet(summaries(source_rows)["training"].p90_abs_error, SOURCE_CV_TRAINING_P90_RATCHET,
             "source-CV training P90 |error|")


def test_source_cv_overall_median_does_not_rise(source_rows):
    _ratchet(summaries(source_rows)["overall"].median_abs_error, SOURCE_CV_OVERALL_MEDIAN_RATCHET,
             "source-CV overall median |error|")


def test_source_cv_inference_medians_do_not_rise(source_rows):
    groups = summaries(source_rows)
    _ratchet(groups["inference-batch-1"].median_abs_error, SOURCE_CV_BATCH1_MEDIAN_RATCHET,
             "source-CV inference-batch-1 median |error|")
    _ratchet(groups["inference-batched"].median_abs_error, SOURCE_CV_BATCHED_MEDIAN_RATCHET,
             "source-CV inference-batched median |error|")


def test_source_cv_training_intervals_cover_without_being_wide(source_rows):
    training = summaries(source_rows)["training"]
    assert 0.75 <= training.coverage_p10_p90 <= 0.95
    assert training.mean_interval_ratio < 2.5


def test_every_group_has_a_name_a_user_understands(source_rows):
    assert {r.group for r in source_rows} <= USER_GROUPS
    assert "other" not in summaries(source_rows)


def test_no_run_is_predicted_by_a_fit_that_saw_its_source(source_rows):
    """The fold printed with each row is its own source, and refitting on a catalog with the whole source removed
    gives the same prediction: nothing of the source leaked into its fit."""
    catalog = load_catalog(BUNDLED_CATALOG)
    runs = {r.id: r for r in load_published_runs(BUNDLED_CATALOG, catalog)}
    for row in source_rows:
        assert row.fold == source_key(runs[row.id].source) == fold_key(runs[row.id], "source", catalog)
    pythia = [r for r in source_rows if r.id.startswith("pythia")]
    assert {r.fold for r in pythia} == {"S14 — Pythia"} and all("without its source" in r.basis for r in pythia)


def test_source_keys_are_readable():
    assert source_key("S1 — LLaMA (Touvron et al. 2023, arXiv 2302.13971): Table 15") == "S1 — LLaMA"
    assert source_key("lambdal/deeplearning-benchmark@67a9bb51:pytorch/x.csv (+ y.csv)") \
        == "lambdal/deeplearning-benchmark@67a9bb51"
    assert source_key("https://docs.nvidia.com/nemo/performance.html") == "docs.nvidia.com/nemo"


def test_cross_validate_json_has_the_interval_ratio_and_the_rule_of_thumb():
    result = CliRunner().invoke(app, ["validate", "--cross-validate", "family", "--only", "llm-pretraining",
                                      "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["cross_validate"] == "family"
    llm = doc["summary"]["llm-pretraining"]
    assert {"n", "median_abs_error", "p90_abs_error", "coverage_p10_p90", "mean_interval_ratio"} <= set(llm)
    assert llm["mean_interval_ratio"] > 1.0
    assert llm["rule_of_thumb"]["n"] == llm["n"]
    # leaving out the whole ampere family predicts every A100 run from the other families' curves
    a100 = [r for r in doc["runs"] if r["gpu"].startswith("A100")]
    assert a100 and all(r["fold"] == "ampere" and r["extrapolations"] for r in a100)


def test_estimate_and_validate_give_the_same_prediction_for_the_same_run(tmp_path):
    """llm.c's GPT-2 124M on one 8× A100-80GB SXM node: the profile says what the run says; `estimate`, pinned to
    8 GPUs of an 8-GPU NVLink offer, plans it through the same layout and step code as `validate` (in-sample)."""
    catalog = load_catalog(BUNDLED_CATALOG)
    run = next(r for r in load_published_runs(BUNDLED_CATALOG, catalog) if r.id == "llmc-gpt2-124m-8xa100")
    row = next(r for r in validate(BUNDLED_CATALOG, only=run.id))
    profile = {"name": "llmc", "model": {"preset": "gpt2-124m", "seq_len": 1024},
               "training": {"dataset": {"tokens": run.tokens}, "batch": {"global_tokens": 512 * 1024},
                            "precision": "bf16", "attention": "flash", "framework": "llm.c"},
               "constraints": {"gpus": ["A100-80GB-SXM"], "providers": ["aws"], "gpu_count": 8}}
    path = tmp_path / "llmc.yaml"
    path.write_text(yaml.safe_dump(profile))
    result = estimate(load_profile(path, catalog), catalog)
    plans = [p for p in result.training.plans if p.gpu_count == 8 and p.fits]
    assert plans
    assert plans[0].hours_p50 == pytest.approx(row.predicted, rel=1e-6)


def _pretrain(tmp_path, gpus: list[str], framework: str | None = None):
    catalog = load_catalog(BUNDLED_CATALOG)
    doc = yaml.safe_load((BUNDLED_CATALOG.parent / "profiles" / "pretrain-1b-72h.yaml").read_text())
    doc["constraints"] = {"gpus": gpus}
    if framework:
        doc["training"]["framework"] = framework
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(doc))
    return estimate(load_profile(path, catalog), catalog).training.plans[0]


def test_an_architecture_without_runs_gets_a_wider_flagged_interval(tmp_path):
    """B200 (Blackwell: no published training run) takes the pooled curve: its P90/P10 is wider than an H100's (own
    curve) by the architecture spread of catalog/priors.yaml, and the efficiency says why."""
    b200, h100 = _pretrain(tmp_path, ["B200"]), _pretrain(tmp_path, ["H100-SXM"])
    assert any(f.startswith("architecture: no blackwell runs") for f in b200.efficiency.extrapolations)
    assert not any(f.startswith("architecture:") for f in h100.efficiency.extrapolations)
    assert b200.hours_p90 / b200.hours_p10 > h100.hours_p90 / h100.hours_p10


def test_a_stack_without_a_factor_widens_the_interval_and_says_so(tmp_path):
    """DeepSpeed has a fitted factor (runs from >= 3 publications); the HF Trainer does not (one run, Alpaca; FSDP got
    its factor from the llm-foundry and torchtitan rows of issue 13 item 4): same GPU, wider interval."""
    fsdp, deepspeed = _pretrain(tmp_path, ["H100-SXM"], "hf-trainer"), _pretrain(tmp_path, ["H100-SXM"], "deepspeed")
    assert "stack: no hf-trainer factor (too few published runs)" in fsdp.efficiency.extrapolations
    assert not any(f.startswith("stack:") for f in deepspeed.efficiency.extrapolations)
    assert "training stack deepspeed: ×" in deepspeed.efficiency.detail
    assert fsdp.efficiency.log_sigma > deepspeed.efficiency.log_sigma


def test_the_decision_never_calls_an_extrapolated_plan_cheapest_without_a_caveat(tmp_path):
    path = tmp_path / "p.yaml"
    doc = yaml.safe_load((BUNDLED_CATALOG.parent / "profiles" / "pretrain-1b-72h.yaml").read_text())
    doc["constraints"] = {"gpus": ["MI300X"]}
    path.write_text(yaml.safe_dump(doc))
    result = CliRunner().invoke(app, ["estimate", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    choices = json.loads(result.output)["decisions"]["training"]["choices"]
    cheapest = next(c for c in choices if c["name"] == "cheapest viable")
    assert "caveat: extrapolated efficiency (architecture: no cdna3 runs" in cheapest["tradeoff"]


def test_the_priors_file_is_exactly_what_fit_priors_writes():
    """Every fitted figure in catalog/priors.yaml (priors, curves and stack factors, interval widening, host floors)
    comes from scripts/fit_priors.py: rerunning it on the bundled catalog reproduces the file byte for byte."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("fit_priors", BUNDLED_CATALOG.parent / "scripts" / "fit_priors.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text, _ = module.priors_text(BUNDLED_CATALOG)
    assert text == (BUNDLED_CATALOG / "priors.yaml").read_text(encoding="utf-8")
