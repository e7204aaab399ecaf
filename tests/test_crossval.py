"""Grouped cross-validation (`gpuplan validate --cross-validate`): ratchets on the grouped figures that can only
tighten, readable group and fold names, folds that never grade their own fit, and estimate = validate for one run."""
from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from planner.catalog.load import BUNDLED_CATALOG, load_catalog
from planner.cli.main import app
from planner.plans.search import estimate
from planner.project.load import load_profile
from planner.validate.folds import fold_key, source_key
from planner.validate.runs import summaries, validate
from planner.validate.train_fit import load_published_runs

RATCHET_MARGIN = 0.01
USER_GROUPS = {"llm-pretraining", "fine-tuning", "cnn", "encoder", "serving-decode", "serving-prefill",
               "inference-batch-1", "inference-batched", "transformer-xl-training", "transformer-xl-inference"}


@pytest.fixture
def source_rows(source_cv_rows):
    return source_cv_rows  # validate(BUNDLED_CATALOG, cross_validate="source"), once per session (conftest.py)


def test_source_cv_training_intervals_cover_without_being_wide(source_rows):
    """The grouped figures themselves are ratcheted by tests/accuracy_bounds.yaml (test_accuracy_ratchet.py). Coverage
    is held near issue 13's 75–90 % and the mean P90/P10 under 2.85: 80 % at 2.73 since the independent-check
    families left every fit (2026-11-30; 81 % at 1.94 while fits saw them: fewer fitted runs, wider intervals)."""
    training = summaries(source_rows)["training"]
    assert 0.70 <= training.coverage_p10_p90 <= 0.95
    assert training.mean_interval_ratio < 2.85


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
    # the plan's hours add the run's start-up (model/startup.py), which a published run's own hours do not count
    assert plans[0].startup_s > 0
    assert plans[0].hours_p50 - plans[0].startup_s / 3600 == pytest.approx(row.predicted, rel=1e-6)


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
    """Megatron has a fitted factor (fittable runs from >= 3 publications: NeMo, Megatron-Bridge, Megatron-LM and
    Narayanan et al.); the HF Trainer does not (its one run, Alpaca, is a model card: an independent check, never
    fitted): same GPU, wider interval."""
    hf, megatron = _pretrain(tmp_path, ["H100-SXM"], "hf-trainer"), _pretrain(tmp_path, ["H100-SXM"], "megatron")
    assert "stack: no hf-trainer factor (too few published runs)" in hf.efficiency.extrapolations
    assert not any(f.startswith("stack:") for f in megatron.efficiency.extrapolations)
    assert "training stack megatron: ×" in megatron.efficiency.detail
    assert hf.efficiency.log_sigma > megatron.efficiency.log_sigma


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


def test_only_independent_check_selects_the_rows_no_fit_uses(source_rows):
    """`--only independent-check` keeps exactly the rows of the independent_check families, predicted as in the full
    run (their fits never saw them either way), and `--only fitted-sources` the rest."""
    catalog = load_catalog(BUNDLED_CATALOG)
    runs = {r.id: r for r in load_published_runs(BUNDLED_CATALOG, catalog)}
    check = validate(BUNDLED_CATALOG, cross_validate="source", only="independent-check")
    assert check and all(runs[r.id].check_family for r in check)
    assert {r.id for r in check} == {r.id for r in source_rows if runs[r.id].check_family}
    full = {r.id: r.predicted for r in source_rows}
    assert all(r.predicted == full[r.id] for r in check)
    assert summaries(check)["overall"] == summaries(source_rows)["independent-check"]


def test_interval_spread_weighs_each_publication_alike(catalog):
    # CDF pooling (Dunn, Wasserman & Ramdas 2023): a publication of 40 rows all 50 % off and four of one row each
    # within 5 %: row by row the 80th percentile is a 50 % miss; pooled, each publication weighs 1/5 and four of five
    # are within 5 %, so the interval is sized from those
    import math
    from types import SimpleNamespace

    from planner.validate.crossval import Z90, PointPrediction, spread

    run = SimpleNamespace(value=1.0)

    def point(fold, error):
        return PointPrediction(run, "train", 1.0 + error, 1, "", "", fold)

    big = [point("big", 0.5) for _ in range(40)]
    small = [point(f"s{i}", e) for i, e in enumerate((0.01, 0.02, 0.04, 0.05))]
    assert spread(big + small) * Z90 == pytest.approx(math.log(1.05))
    assert spread(big + small[:3]) * Z90 == pytest.approx(math.log(1.5))  # 3 of 4 within: the 80th is the big miss
    # one row per fold (leave-one-out): the plain 80th percentile of the rows
    rows = [point(f"r{i}", i / 100) for i in range(10)]
    assert spread(rows) * Z90 == pytest.approx(math.log(1.07))
    assert spread([]) == 0.0


def test_no_published_run_reaches_its_ceiling_at_the_fitted_figures():
    # the curve fit's objective caps a run's efficiency at the peak (train_fit._log_predicted), the planner at the
    # GPU's matmul ceiling (train_curve.efficiency_cap): they agree while no fitted run's efficiency comes near it
    from planner.efficiency.train_curve import (
        ceiling_factor,
        curve_value,
        efficiency_cap,
        gpu_peak,
        pick_curve,
        stack_factor,
        traffic_of,
    )
    from planner.validate.train_fit import cached_cases

    catalog = load_catalog(BUNDLED_CATALOG)
    highest = 0.0
    for case in cached_cases(str(BUNDLED_CATALOG)):
        fit = pick_curve(catalog.train_curves, case.arch)
        traffic = traffic_of(fit, case.job.work.family, case.job.attention, case.nchw16)
        eta = float(curve_value(gpu_peak(fit, case.gpu, case.run.precision), fit.half_side, traffic, case.side,
                                case.ratio, case.weights))
        eta *= stack_factor(fit, case.job.framework) * ceiling_factor(fit, case.gpu, case.run.precision)
        highest = max(highest, eta / efficiency_cap(case.gpu, case.run.precision))
    assert 0.5 < highest < 1.0, highest


@pytest.mark.parametrize("folds", ["source", "gpu", "family"])
def test_leave_one_out_with_cross_validate_is_one_error(folds):
    """Both given, the grouped folds won and --leave-one-out was dropped without a word (new-user QA round 11)."""
    result = CliRunner().invoke(app, ["validate", "--only", "moe", "--leave-one-out", "--cross-validate", folds])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith("Error: --leave-one-out and --cross-validate are two ways of holding runs out: "
                                    "give one.")
