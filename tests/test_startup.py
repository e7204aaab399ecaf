"""A training run's start-up (planner/model/startup.py) in its hours: rented instances start, every multi-GPU run
sets up its process group, and the hours at any confidence are the steps' hours after it."""
import dataclasses
import json

import pytest

import planner
from planner.model.startup import DISK_BYTES_PER_S, NODE_INIT_S, PROVISION_S, RENDEZVOUS_S_PER_RANK, startup_seconds
from planner.model.workload import workload_for
from planner.plans.options import hours_at_confidence
from planner.plans.training import restart_weight_bytes, starting_weight_bytes, training_job

from .conftest import ROOT, gpuplan


def run_json(*args: str) -> dict:
    result = gpuplan(*args, "--format", "json")
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def test_the_start_up_adds_what_each_run_pays():
    assert startup_seconds(1, True) == PROVISION_S == 101.0  # one rented GPU: no communicator
    assert startup_seconds(1, False) == 0.0  # this machine, or one owned GPU: running already
    assert startup_seconds(8, True) == pytest.approx(101.0 + 2.56 + 8 * 100.0 / 98_304)
    assert startup_seconds(8, False) == pytest.approx(NODE_INIT_S + 8 * RENDEZVOUS_S_PER_RANK)
    # the rendezvous grows with the ranks: 4,096 GPUs wait ~4 s more than 8
    assert startup_seconds(4096, True) - startup_seconds(8, True) == pytest.approx(4088 * 100.0 / 98_304)


def test_owned_machines_skip_the_launch_and_rented_ones_pay_it():
    data = run_json("estimate", str(ROOT / "docs" / "examples" / "owned-4090.yaml"))
    plans = data["training"]["plans"]
    owned = next(p for p in plans if p["provider"] == "owned")
    # a LoRA of a 7B model: each machine reads the 13.5 GB bf16 base (6.738B parameters × 2 bytes) first
    read = 6.738e9 * 2 / DISK_BYTES_PER_S
    assert owned["gpu_count"] == 2 and owned["startup_s"] == pytest.approx(
        NODE_INIT_S + 2 * RENDEZVOUS_S_PER_RANK + read, rel=1e-3)
    for p in plans:
        if p["provider"] != "owned":
            assert p["startup_s"] == pytest.approx(startup_seconds(p["gpu_count"], True) + read, rel=1e-3)


def test_an_adapter_reads_its_pretrained_weights_and_full_training_does_not():
    # LoRA and QLoRA start from pretrained weights: the whole model at the training precision (a QLoRA base is read
    # in 16 bits and quantized as it loads), read before the first step and again after a spot restart
    mixtral = run_json("estimate", str(ROOT / "profiles" / "lora-mixtral-8x7b.yaml"))
    plan = mixtral["training"]["plans"][0]
    assert plan["startup_s"] == pytest.approx(startup_seconds(plan["gpu_count"], True) + 46.7e9 * 2 / DISK_BYTES_PER_S,
                                              rel=0.01)  # 93 GB: 89 s
    qlora = run_json("estimate", str(ROOT / "profiles" / "lora-7b-a6000.yaml"), "--set", "training.method=qlora")
    plan = qlora["training"]["plans"][0]
    assert plan["startup_s"] == pytest.approx(startup_seconds(plan["gpu_count"], True) + 6.738e9 * 2 / DISK_BYTES_PER_S,
                                              rel=1e-3)
    full = run_json("estimate", str(ROOT / "profiles" / "pretrain-1b-72h.yaml"))
    plan = full["training"]["plans"][0]
    assert plan["startup_s"] == pytest.approx(startup_seconds(plan["gpu_count"], True), rel=1e-3)


def test_every_hour_holds_the_start_up_and_the_steps_scale_at_any_confidence():
    catalog = planner.load_catalog()
    result = planner.plan(planner.load_profile(ROOT / "profiles" / "bert-train-then-serve.yaml", catalog), catalog)
    choices = result.decision.training.choices
    fastest = next(c.option.plan for c in choices if c.name == "fastest")
    # a run of thousands of GPUs is not a few seconds: its hours are at least its start-up
    assert fastest.gpu_count > 1000 and fastest.hours_p10 > fastest.startup_s / 3600 > PROVISION_S / 3600
    for choice in choices:
        plan = choice.option.plan
        startup = plan.startup_s / 3600
        assert plan.hours_p10 <= plan.hours_p50 <= plan.hours_p90
        # the P50 plan read back at confidence 0.5 is itself; at 0.9 only the steps' share grows
        assert hours_at_confidence(plan, 0.5) == pytest.approx(plan.hours_p50, rel=1e-9)
        slow = hours_at_confidence(plan, 0.9)
        assert slow > plan.hours_p50 and slow - startup > (plan.hours_p50 - startup) * 1.0001
    doc = json.loads(result.to_json())
    assert all(p["startup_s"] > PROVISION_S for p in doc["training"]["plans"] if p["gpu_count"] > 1)


def test_the_report_says_what_the_hours_include():
    out = gpuplan("estimate", str(ROOT / "profiles" / "bert-train-then-serve.yaml"), "--top", "1").stdout
    said = " ".join(out.split())
    assert ("Hours include the start-up: 101 s until a rented instance runs (not on your own machines), then 2.6 s + 1.0 ms "
            "per GPU of NCCL set-up and rendezvous") in said


def test_full_training_from_pretrained_weights_reads_them_once_and_a_restart_reads_its_checkpoint():
    # continued pretraining of Llama-3.1-8B says from_pretrained: its 8.03B parameters × 2 bytes (bf16) are read
    # before the first step; without it the same run starts from scratch
    profile = str(ROOT / "profiles" / "long-context-llama-8b.yaml")
    stated = run_json("estimate", profile)
    scratch = run_json("estimate", profile, "--set", "training.from_pretrained=false")
    plan, bare = stated["training"]["plans"][0], scratch["training"]["plans"][0]
    assert plan["gpu_count"] == bare["gpu_count"]
    read = stated["training"]["workload"]["params"] * 2 / DISK_BYTES_PER_S
    assert 14 < read < 16 and plan["startup_s"] - bare["startup_s"] == pytest.approx(read, abs=0.11)  # JSON: 0.1 s
    said = " ".join(gpuplan("estimate", profile).stdout.split())
    assert "full training from pretrained weights" in said and "16.1 GB of starting weights" in said
    # a full checkpoint holds every weight: a spot restart reads it, not the pretrained weights again
    loaded = planner.load_profile(profile, planner.load_catalog())
    assert loaded.profile.training is not None
    job = training_job(workload_for(loaded.arch), loaded.profile.training)
    assert job.from_pretrained
    assert starting_weight_bytes(dataclasses.replace(job, from_pretrained=False)) == 0.0
    assert starting_weight_bytes(job) == job.work.params * 2 and restart_weight_bytes(job) == 0.0
    lora = dataclasses.replace(job, method="lora")
    assert restart_weight_bytes(lora) == starting_weight_bytes(lora) == job.work.params * 2


def test_adapters_without_pretrained_weights_are_refused_where_they_are_written(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text((ROOT / "profiles" / "lora-7b-a6000.yaml").read_text().replace(
        "  method: lora\n", "  method: lora\n  from_pretrained: false\n"))
    line = path.read_text().splitlines().index("  from_pretrained: false") + 1
    result = gpuplan("estimate", str(path))
    assert result.exit_code == 2
    assert f"{path}:{line}" in result.output and "training.from_pretrained" in result.output
    assert "adapters train on a pretrained base" in " ".join(result.output.split())
