"""The optimizer's update in the training step (planner/plans/training.py optimizer_step_bytes, StepTerms.optimizer_s):
per parameter a GPU updates, the gradient read, the fp32 master weight and the optimizer state read and written, the
training-precision weight written — an elementwise pass at the GPU's copy bandwidth, after backward, that the
efficiency curve does not scale (issue 13 item 2: "the optimizer step as bytes moved per parameter")."""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from planner.catalog.load import PricedOffer
from planner.efficiency.origin import Efficiency
from planner.model.workload import workload_for
from planner.plans.training import (
    Layout,
    LayoutMemo,
    TrainingJob,
    optimizer_step_bytes,
    plan_training,
    step_terms,
    training_memory,
)
from planner.schema.catalog import Offer
from planner.schema.model import Architecture

GPT_1B = dict(name="g1", family="decoder", layers=16, hidden=2048, heads=16, ffn_hidden=8192, vocab=50304,
              seq_len=2048, activation="gelu", norm="layernorm", tied_embeddings=True)
EFF = Efficiency(0.4, 0.3, "prior", "test")


def _offer(gpu: str = "A100-80GB-SXM", gpus: int = 8) -> PricedOffer:
    o = Offer(instance="x", gpu=gpu, gpus_per_instance=gpus, usd_per_hour=1.0, intra_node="nvlink",
              network_gbps=None)
    return PricedOffer("test", o, 3600.0, dt.date(2026, 11, 1))


def _job(precision: str = "bf16", optimizer: str = "adamw", method: str = "full") -> TrainingJob:
    work = workload_for(Architecture(**GPT_1B))  # type: ignore[arg-type]
    return TrainingJob(work, 1e6, 512.0, 4, precision, optimizer, method, 16, "none")


def _layout(job: TrainingJob, dp: int = 1, tp: int = 1, pp: int = 1, sharding: str = "none") -> Layout:
    return Layout(dp, tp, pp, sharding, "none", 4, training_memory(job, 4, "none", sharding, dp, tp, pp))


@pytest.mark.parametrize(("precision", "optimizer", "per_param"), [
    # bf16 gradient read 2 + (fp32 master 4 + Adam's moments 8) read and written 24 + bf16 weight written 2
    ("bf16", "adamw", 28.0),
    # fp32: no master copy, the weight itself read and written (4 + 4), gradient 4, moments 16
    ("fp32", "adamw", 28.0),
    # SGD with momentum: 2 + 2 · (4 + 4) + 2
    ("bf16", "sgd", 20.0),
    # Adafactor's factored state counted as none: 2 + 2 · 4 + 2
    ("bf16", "adafactor", 12.0),
])
def test_bytes_per_parameter(precision: str, optimizer: str, per_param: float) -> None:
    job = _job(precision, optimizer)
    assert optimizer_step_bytes(job, _layout(job)) == pytest.approx(per_param * job.trainable_params, rel=1e-12)


def test_model_parallel_splits_and_zero_shards_divide_the_update() -> None:
    job = _job()
    whole = optimizer_step_bytes(job, _layout(job))
    assert optimizer_step_bytes(job, _layout(job, dp=8)) == pytest.approx(whole, rel=1e-12)  # DDP: every replica
    assert optimizer_step_bytes(job, _layout(job, dp=8, sharding="zero1")) == pytest.approx(whole / 8, rel=1e-12)
    assert optimizer_step_bytes(job, _layout(job, dp=2, tp=2, pp=2)) == pytest.approx(whole / 4, rel=1e-12)
    assert optimizer_step_bytes(job, _layout(job, dp=2, tp=2, pp=2, sharding="zero3")) == \
        pytest.approx(whole / 8, rel=1e-12)


def test_lora_updates_only_its_adapters() -> None:
    full, lora = _job(), _job(method="lora")
    assert optimizer_step_bytes(lora, _layout(lora)) == pytest.approx(28.0 * lora.trainable_params, rel=1e-12)
    assert optimizer_step_bytes(lora, _layout(lora)) < 0.05 * optimizer_step_bytes(full, _layout(full))


def test_the_step_pays_it_at_copy_bandwidth_whatever_the_efficiency(catalog) -> None:  # type: ignore[no-untyped-def]
    job = _job()
    for name in ("A100-80GB-SXM", "H100-SXM"):
        gpu = catalog.gpus[name]
        layout = _layout(job, dp=8, sharding="zero1")
        terms = step_terms(job, gpu, _offer(name), 8, layout, 1e14)
        copy = gpu.memory_bandwidth_gbs * 1e9 * gpu.bandwidth_ceiling.share
        assert terms.optimizer_s == pytest.approx(optimizer_step_bytes(job, layout) / copy, rel=1e-12)
        assert terms.optimizer_s > 0.0 and terms.dequant_s == 0.0
        # in the step at every efficiency, not scaled by it, and not communication
        for eta in (0.2, 0.6):
            without = terms._replace(memory_s=0.0, optimizer_s=0.0)
            assert terms.device_seconds(eta) == pytest.approx(without.device_seconds(eta) + terms.optimizer_s,
                                                              rel=1e-12)
            assert terms.exposed_comm_s(eta) == pytest.approx(without.exposed_comm_s(eta), rel=1e-9, abs=1e-12)


def test_the_plan_reports_it_and_the_memo_search_times_it_alike(catalog) -> None:  # type: ignore[no-untyped-def]
    job = dataclasses.replace(_job(), micro_batch=None)
    memo = LayoutMemo()
    for name, count in (("A100-80GB-SXM", 8), ("H100-SXM", 16), ("RTX-4090", 1)):
        gpu = catalog.gpus[name]
        plain = plan_training(job, gpu, _offer(name, min(count, 8)), count, EFF)
        fast = plan_training(job, gpu, _offer(name, min(count, 8)), count, EFF, memo=memo)
        assert plain.optimizer_time_s > 0.0 and plain.dequant_time_s == 0.0
        assert plain.memory_time_s == plain.optimizer_time_s
        assert (fast.step_time_s, fast.optimizer_time_s, fast.hours_p50) == \
            (plain.step_time_s, plain.optimizer_time_s, plain.hours_p50)


def test_estimate_json_has_the_optimizer_time(catalog) -> None:  # type: ignore[no-untyped-def]
    import planner

    from .conftest import ROOT

    profile = planner.load_profile(ROOT / "profiles" / "pretrain-1b-72h.yaml", catalog)
    plan = planner.plan(profile, catalog).to_dict()["training"]["plans"][0]
    assert 0.0 < plan["optimizer_time_s"] < plan["step_time_s"]
