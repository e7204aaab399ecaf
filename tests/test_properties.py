"""Hypothesis properties over random valid profiles: no crash, finite outputs, more data → more hours,
cost = instances × price × billed hours, a feasible plan fits in memory and meets its targets."""
from __future__ import annotations

import dataclasses
import math
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from planner.catalog.load import BUNDLED_CATALOG, load_catalog
from planner.efficiency.origin import prior_efficiency
from planner.errors import PlannerError
from planner.model.memory import usable_bytes
from planner.plans.search import estimate
from planner.plans.training import plan_training
from planner.project.load import load_profile
from planner.render.report import (
    estimate_dict,
    render_csv,
    render_json,
    render_markdown,
    render_table,
)

from .conftest import finite_json

CATALOG = load_catalog(BUNDLED_CATALOG)
GPUS = sorted({offer.offer.gpu for offer in CATALOG.offers()})
PROPERTY_SETTINGS = settings(max_examples=30, deadline=None, database=None,
                             suppress_health_check=[HealthCheck.too_slow])

TRANSFORMERS = ("gpt2-124m", "pythia-1b", "llama-2-7b", "bert-base")
DECODERS = ("gpt2-124m", "pythia-1b", "llama-2-7b")


def log_uniform(low: float, high: float) -> st.SearchStrategy[float]:
    """Numbers spread evenly in magnitude between low and high (3 significant figures, as people write them)."""
    return st.floats(math.log10(low), math.log10(high)).map(lambda x: float(f"{10 ** x:.3g}"))


@st.composite
def training_profiles(draw) -> dict:
    preset = draw(st.sampled_from((*TRANSFORMERS, "resnet50")))
    cnn = preset == "resnet50"
    training: dict = {
        "dataset": {"samples": draw(log_uniform(1e4, 1e8))} if cnn else {"tokens": draw(log_uniform(1e7, 1e12))},
        "epochs": draw(st.sampled_from((1, 2, 3, 0.5))),
        "precision": draw(st.sampled_from(("fp16", "bf16", "fp32", "tf32"))),
        "optimizer": draw(st.sampled_from(("adamw", "sgd", "adafactor"))),
    }
    if not cnn and draw(st.booleans()):
        training["method"] = draw(st.sampled_from(("lora", "qlora")))
    if draw(st.booleans()):
        training["batch"] = {"global_samples": draw(st.sampled_from((32, 256, 1024)))}
    if draw(st.booleans()):
        training["deadline"] = f"{draw(log_uniform(1, 1000))}h"
    if draw(st.booleans()):
        training["budget"] = draw(log_uniform(10, 1e6))
    gpus = draw(st.lists(st.sampled_from(GPUS), min_size=1, max_size=3, unique=True))
    return {"name": "random", "model": {"preset": preset}, "training": training,
            "constraints": {"gpus": gpus, "max_gpus": draw(st.sampled_from((8, 64, 1024)))}}


@st.composite
def serving_profiles(draw) -> dict:
    preset = draw(st.sampled_from((*DECODERS, "bert-base", "resnet50")))
    inference: dict = {"rate": draw(log_uniform(0.01, 500)),
                       "precision": draw(st.sampled_from(("fp16", "bf16", "int8", "fp8")))}
    if preset in DECODERS:
        inference.update(prompt_tokens=draw(st.integers(1, 1024)), output_tokens=draw(st.integers(1, 512)),
                         slo={"ttft_p95": f"{draw(log_uniform(50, 5000))}ms",
                              "tpot_p95": f"{draw(log_uniform(10, 500))}ms"})
    else:
        inference["slo"] = {"latency_p95": f"{draw(log_uniform(5, 5000))}ms"}
    if draw(st.booleans()):
        inference["average_rate"] = inference["rate"] / draw(st.sampled_from((1, 2, 10)))
    gpus = draw(st.lists(st.sampled_from(GPUS), min_size=1, max_size=2, unique=True))
    return {"name": "random", "model": {"preset": preset}, "inference": inference, "constraints": {"gpus": gpus}}


def plan(profile: dict):
    """The estimate for a profile written as a user would write it (YAML file), or None for a PlannerError."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "p.yaml"
        path.write_text(yaml.safe_dump(profile), encoding="utf-8")
        try:
            loaded = load_profile(path, CATALOG)
            return loaded, estimate(loaded, CATALOG)
        except PlannerError:
            return None


def finite_numbers(value, where="") -> list[str]:
    """Paths of every NaN or infinite number in a JSON-like value."""
    if isinstance(value, float):
        return [] if math.isfinite(value) else [where]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in finite_numbers(v, f"{where}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in finite_numbers(v, f"{where}[{i}]")]
    return []


def check_outputs(result) -> None:
    """Every format renders; no number anywhere is NaN or infinite (JSON would print NaN/Infinity)."""
    data = estimate_dict(result)
    assert finite_numbers(data) == []
    finite_json(render_json(result))
    for render in (render_table, render_markdown, render_csv):
        out = render(result)
        assert "nan" not in out.lower().replace("nano", "") and "inf " not in out


@PROPERTY_SETTINGS
@given(training_profiles())
def test_training_plans_are_sound(profile):
    outcome = plan(profile)
    assume(outcome is not None)
    loaded, result = outcome
    check_outputs(result)
    training = loaded.profile.training
    for p in result.training.plans:
        gpu = CATALOG.gpus[p.gpu]
        offer = next(o for o in CATALOG.offers({p.gpu}, {p.provider}) if o.offer.instance == p.instance)
        # cost = instances × price × hours rounded up to the provider's billing step
        billed = math.ceil(p.hours_p50 * 3600.0 / offer.billing_seconds - 1e-9) * offer.billing_seconds / 3600.0
        assert p.cost_usd_p50 == pytest.approx(p.instances * p.usd_per_hour * billed, rel=1e-9)
        assert p.instances == -(-p.gpu_count // offer.offer.gpus_per_instance)
        assert p.hours_p10 <= p.hours_p50 <= p.hours_p90
        # never above the peak; a plan whose efficiency is held at exactly the peak (fp32 on a family whose fp32 top
        # saturates: pythia-1b fp32 on A10) recomputes its MFU from the step time, 1 + 2e-16 in floating point
        assert 0 < p.mfu <= 1.0 + 1e-12
        if p.feasible:
            assert p.fits and p.memory_per_gpu_bytes <= usable_bytes(gpu)
            assert training.deadline is None or p.hours_p50 * 3600.0 <= training.deadline * (1 + 1e-12)
            assert training.budget is None or p.cost_usd_p50 <= training.budget * (1 + 1e-12)


@PROPERTY_SETTINGS
@given(training_profiles(), st.sampled_from((1.5, 2.0, 10.0)))
def test_more_data_takes_more_hours(profile, factor):
    outcome = plan(profile)
    assume(outcome is not None and outcome[1].training.plans)
    loaded, result = outcome
    job = result.training.job
    bigger = dataclasses.replace(job, samples=job.samples * factor)
    for p in result.training.plans[:5]:
        gpu = CATALOG.gpus[p.gpu]
        offer = next(o for o in CATALOG.offers({p.gpu}, {p.provider}) if o.offer.instance == p.instance)
        efficiency = prior_efficiency(CATALOG, gpu, "train", job.work.family)
        same = plan_training(job, gpu, offer, p.gpu_count, efficiency)
        more = plan_training(bigger, gpu, offer, p.gpu_count, efficiency)
        # never less time, never more than `factor` times as long: the same layout takes factor × the steps (at
        # least one), and the search keeps another only where it is faster for the larger job
        assert same.hours_p50 <= more.hours_p50 <= same.hours_p50 * factor * (1.0 + 1e-9)
        assert more.cost_usd_p50 >= same.cost_usd_p50
        layout = (same.sharding, same.micro_batch, same.grad_accumulation, same.tensor, same.pipeline, same.context)
        per_step = same.samples_per_s * same.step_time_s
        if job.samples >= per_step and layout == (more.sharding, more.micro_batch, more.grad_accumulation,
                                                  more.tensor, more.pipeline, more.context):
            # the same layout over at least one whole step: exactly proportional (without a global batch, a
            # dataset smaller than one step of every replica's micro-batches is one step, and a larger dataset
            # can make a layout with larger steps the fastest)
            # (the steps' hours: both runs start up alike, model/startup.py)
            startup = same.startup_s / 3600
            assert more.hours_p50 - startup == pytest.approx((same.hours_p50 - startup) * factor, rel=1e-9)


@PROPERTY_SETTINGS
@given(serving_profiles())
def test_serving_plans_are_sound(profile):
    outcome = plan(profile)
    assume(outcome is not None)
    loaded, result = outcome
    check_outputs(result)
    slo = loaded.profile.inference.slo
    for p in result.inference.plans:
        if p.replicas:
            assert p.monthly_cost_usd == pytest.approx(
                p.instances * next(o for o in CATALOG.offers({p.gpu}, {p.provider})
                                   if o.offer.instance == p.instance).offer.usd_per_hour
                * loaded.profile.inference.hours_per_month, rel=1e-9)
            assert 0 < p.utilization < 1
        if p.meets_slo:
            assert p.fits and p.replicas >= 1
            for key, seconds in p.latency_s.items():
                target = getattr(slo, key, None)
                assert target is None or seconds <= target * (1 + 1e-9)
