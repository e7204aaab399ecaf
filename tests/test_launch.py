"""`--emit torchrun|skypilot`: launch specs of the recommended training plan."""
import json
import shlex

import pytest
import yaml
from typer.testing import CliRunner

from planner.cli.main import app

from .conftest import ROOT

runner = CliRunner()
PRETRAIN = ROOT / "profiles" / "pretrain-1b-72h.yaml"

# SkyPilot task YAML field names, as documented (docs.skypilot.co "YAML configuration"; the task schema in
# sky/utils/schemas.py of skypilot-org/skypilot @aa1f97b, get_task_schema / get_resources_schema).
SKYPILOT_TASK_FIELDS = {"name", "workdir", "num_nodes", "resources", "envs", "secrets", "volumes", "file_mounts",
                        "setup", "run", "config", "service", "event_callback"}
SKYPILOT_RESOURCES_FIELDS = {"cloud", "region", "zone", "infra", "cpus", "memory", "accelerators", "instance_type",
                             "use_spot", "job_recovery", "volumes", "disk_size", "ephemeral_storage", "disk_tier",
                             "network_tier", "local_disk", "max_hourly_cost", "ports", "labels", "accelerator_args",
                             "image_id", "container_image", "autostop", "priority", "priority_class", "any_of",
                             "ordered"}
SKYPILOT_CLOUDS = {"aws", "gcp", "azure", "lambda", "runpod", "paperspace", "vast", "do", "kubernetes", "oci",
                   "fluidstack", "cudo", "ibm", "scp", "nebius", "vsphere", "hyperbolic", "seeweb", "primeintellect"}


def recommended(*args):
    data = json.loads(runner.invoke(app, ["estimate", str(PRETRAIN), "--format", "json", *args]).stdout)
    return data["decisions"]["training"]["choices"][0]


def emit(kind, *args):
    result = runner.invoke(app, ["estimate", str(PRETRAIN), "--emit", kind, *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_torchrun_command_matches_the_plan():
    plan = recommended()
    text = emit("torchrun")
    command = next(line for line in text.splitlines() if line.startswith("torchrun "))
    args = shlex.split(command)[1:]
    flags = dict(a.split("=", 1) for a in args if a.startswith("--") and "=" in a)
    assert int(flags["--nnodes"]) == plan["instances"]
    assert int(flags["--nnodes"]) * int(flags["--nproc-per-node"]) == plan["gpu_count"]
    exports = dict(kv.split("=", 1) for kv in
                   shlex.split(next(l for l in text.splitlines() if l.startswith("export ")))[1:])
    assert exports["GPUPLAN_MICRO_BATCH"] == str(plan["micro_batch"])
    assert exports["GPUPLAN_ZERO_STAGE"] == {"none": "0", "zero1": "1", "zero2": "2", "zero3": "3"}[plan["sharding"]]
    assert exports["GPUPLAN_ACTIVATION_CHECKPOINTING"] == ("1" if plan["recompute"] else "0")


def test_torchrun_flags_parse_with_torchs_own_parser():
    run = pytest.importorskip("torch.distributed.run")
    text = emit("torchrun", "--set", "constraints.gpu_count=16", "--set", "constraints.gpus=[H100-SXM]",
                "--set", "constraints.providers=[aws]")
    command = next(line for line in text.splitlines() if line.startswith("torchrun "))
    # what the shell does on instance 0: expand the variables the script requires
    command = (command.replace('"${NODE_RANK:?set NODE_RANK}"', "0")
               .replace('"${MASTER_ADDR:?set MASTER_ADDR}"', "10.0.0.1")
               .replace('"${TRAIN_SCRIPT:-train.py}"', "train.py"))
    args = shlex.split(command)[1:]
    parsed = run.get_args_parser().parse_args(args)
    assert parsed.nnodes == "2" and parsed.nproc_per_node == "8" and parsed.training_script == "train.py"
    assert parsed.node_rank == 0 and parsed.master_addr == "10.0.0.1"


def test_skypilot_yaml_uses_documented_fields():
    plan = recommended("--set", "constraints.gpus=[A100-80GB-SXM]", "--set", "constraints.providers=[aws]")
    text = emit("skypilot", "--set", "constraints.gpus=[A100-80GB-SXM]", "--set", "constraints.providers=[aws]")
    task = yaml.safe_load(text)
    assert set(task) <= SKYPILOT_TASK_FIELDS
    assert set(task["resources"]) <= SKYPILOT_RESOURCES_FIELDS
    name, count = task["resources"]["accelerators"].split(":")
    assert name == "A100-80GB"  # SkyPilot's name for the SXM4 80 GB part (p4de.24xlarge on AWS)
    assert int(count) * task["num_nodes"] == plan["gpu_count"] and task["num_nodes"] == plan["instances"]
    assert task["resources"]["use_spot"] is False and task["resources"]["infra"] in SKYPILOT_CLOUDS
    assert all(isinstance(v, str) for v in task["envs"].values())
    assert "$SKYPILOT_NODE_RANK" in task["run"] and "$SKYPILOT_NUM_GPUS_PER_NODE" in task["run"]


def test_skypilot_spot_plan_sets_use_spot():
    args = ("--set", "constraints.spot=true", "--set", "constraints.gpus=[A100-80GB-SXM]",
            "--set", "constraints.providers=[aws]", "--set", "training.deadline=2000h")
    plan = recommended(*args)
    task = yaml.safe_load(emit("skypilot", *args))
    assert task["resources"]["use_spot"] is plan["spot"] is True
    assert "preemption" in plan and plan["preemption"]["overhead_fraction"] > 0


def test_emit_without_training_exits_2():
    result = runner.invoke(app, ["estimate", str(ROOT / "profiles" / "serve-7b-chat.yaml"), "--emit", "torchrun"])
    assert result.exit_code == 2 and "no training section" in result.output


def test_emit_when_nothing_is_feasible_exits_1():
    result = runner.invoke(app, ["estimate", str(PRETRAIN), "--emit", "skypilot", "--set", "training.deadline=1min"])
    assert result.exit_code == 1 and "nothing to launch" in result.output
