"""Launch specs for the recommended training plan: a torchrun command line or a SkyPilot task YAML, carrying the
parallelism, sharding, recomputation and batch settings the plan assumed."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from planner import readable
from planner.catalog.load import load_catalog
from planner.decide.choices import Decision, TrainingOption
from planner.errors import CatalogLookupError, PlannerError
from planner.plans.options import level_name
from planner.plans.owned import OWNED
from planner.plans.search import Estimate
from planner.plans.training import virtual_stages
from planner.render.escape import comment, shell_word

SHARDING_ENGINES = {
    # our ZeRO stage → what implements it in PyTorch FSDP / DeepSpeed (Rajbhandari et al. 2020; torch FSDP docs)
    "none": ("DDP (no sharding)", "NO_SHARD", 0),
    "zero1": ("ZeRO-1: optimizer state sharded", "NO_SHARD (use DeepSpeed stage 1 or torch ZeroRedundancyOptimizer)", 1),
    "zero2": ("ZeRO-2: optimizer state and gradients sharded", "SHARD_GRAD_OP", 2),
    "zero3": ("ZeRO-3: parameters, gradients and optimizer state sharded", "FULL_SHARD", 3),
}
RDZV_PORT = 29500
"""torchrun's default master port (torch.distributed.run --master-port)."""
OWNED_INFRA = "ssh"
"""SkyPilot's infra for machines the user owns: its SSH Node Pools (`sky ssh up` over ~/.sky/ssh_node_pools.yaml;
SkyPilot docs, "Deploy SkyPilot on existing machines"). `ssh` alone is any enabled pool, `ssh/<pool>` one of them
(sky/utils/infra_utils.py); never a cloud, so a plan costed on the owned machine never rents GPUs."""
TRAIN_SCRIPT = "train.py"
"""Placeholder for the user's training script; the spec says so."""


class NothingToLaunch(PlannerError):
    """Valid input, but no training plan meets the constraints (exit 1, like `gpuplan estimate`)."""

    exit_code = 1


def recommended_training(decision: Decision) -> TrainingOption:
    """The cheapest viable training option, or a PlannerError saying there is nothing to launch."""
    if decision.training is None:
        raise PlannerError("the profile has no training section: nothing to launch",
                           hint="--emit writes launch specs for training plans.")
    if not decision.training.choices:
        raise NothingToLaunch("no training plan meets the constraints: nothing to launch",
                           hint="Run without --emit to see why each GPU type is rejected.")
    option: TrainingOption = decision.training.choices[0].option
    return option


def _virtual(option: TrainingOption, est: Estimate) -> int:
    """Virtual pipeline stages per rank (interleaved 1F1B) as the plan was timed: the JSON's parallelism.virtual
    (plans/training.py virtual_stages: the pinned degree where it divides a stage's layers, else 1)."""
    pipeline = getattr(option.plan, "pipeline", 1)
    return virtual_stages(est.training.job, pipeline) if est.training is not None else 1


def plan_env(option: TrainingOption, precision: str, global_batch: float | None = None,
             virtual: int = 1) -> dict[str, str]:
    """Environment the training script can read: the plan's settings, named GPUPLAN_*. `global_batch`: the
    profile's samples per optimizer step, when fixed (GPUPLAN_GLOBAL_BATCH: micro-batch × accumulation × data is
    only its upper bound, see _batch_line). `virtual`: the pipeline's virtual stages per rank (Megatron's
    --num-layers-per-virtual-pipeline-stage is layers ÷ (pipeline × virtual)); the spec left it out, so an
    interleaved plan launched as a plain 1F1B pipeline with (pp − 1) idle slots, not (pp − 1)/virtual (new-user QA
    leftover)."""
    p = option.plan
    _, fsdp, stage = SHARDING_ENGINES[p.sharding]
    env = {"GPUPLAN_TENSOR_PARALLEL": str(getattr(p, "tensor", 1)),
           "GPUPLAN_PIPELINE_PARALLEL": str(getattr(p, "pipeline", 1)),
           "GPUPLAN_VIRTUAL_PIPELINE_STAGES": str(virtual),
           "GPUPLAN_EXPERT_PARALLEL": str(getattr(p, "expert", 1)),
           "GPUPLAN_CONTEXT_PARALLEL": str(getattr(p, "context", 1)),
           "GPUPLAN_MICRO_BATCH": str(p.micro_batch), "GPUPLAN_GRAD_ACCUMULATION": str(p.grad_accumulation)}
    if global_batch is not None:
        env["GPUPLAN_GLOBAL_BATCH"] = f"{global_batch:g}"
    env.update({"GPUPLAN_PRECISION": precision, "GPUPLAN_ZERO_STAGE": str(stage),
                "GPUPLAN_FSDP_SHARDING_STRATEGY": fsdp.split(" ")[0],
                "GPUPLAN_ACTIVATION_CHECKPOINTING": "1" if p.recompute else "0",
                # which recomputation the memory was planned for: ACTIVATION_CHECKPOINTING is 1 for selective and
                # full alike, and a script doing selective at a micro-batch planned for full runs out of memory
                "GPUPLAN_RECOMPUTE": p.recompute_mode})
    return env


def _global_batch(est: Estimate) -> float | None:
    """The profile's fixed global batch in samples (training.batch), or None when the planner chose it."""
    return est.training.job.global_batch_samples if est.training is not None else None


def _batch_line(option: TrainingOption, est: Estimate) -> str | None:
    """With a fixed global batch B over `data` replicas, the plan times the busiest replica's ceil(B/data) samples
    in `accumulation` micro-batches of at most `micro` (plans/training.py layout_work): micro × accumulation × data
    can exceed B (1,024 on 12 replicas: 29 × 3 × 12 = 1,044), so the spec states B and each replica's share, lest a
    script that multiplies the two settings train on a larger batch than the profile's."""
    batch = _global_batch(est)
    if batch is None:
        return None
    p = option.plan
    data = p.gpu_count // (getattr(p, "tensor", 1) * getattr(p, "pipeline", 1) * getattr(p, "context", 1))
    low, high = math.floor(batch / data + 1e-9), math.ceil(batch / data - 1e-9)
    share = f"{high:,}" if low == high else f"{low:,}–{high:,}"
    who = "the one data-parallel replica takes" if data == 1 else f"each of the {data:,} data-parallel replicas takes"
    return (f"global batch {batch:,.0f} samples a step (GPUPLAN_GLOBAL_BATCH): {who} {share} of them in "
            f"{p.grad_accumulation} micro-batch(es) of at most {p.micro_batch}")


def _price_doubt(option: TrainingOption) -> list[str]:
    """The line under the planned cost that says its price is in doubt, naming the doubts (the plan's price_flags,
    the tables' †; catalog/trust.py), or none: new-user QA found '$64.00 planned' with nothing of the † the tables
    put beside the same price. The flags' words come from the catalog (a --catalog DIR may be anyone's): comment()
    keeps them on the one comment line, as every header line."""
    flags = option.plan.price_flags
    return [f"price in doubt († in the tables): {'; '.join(flags)}"] if flags else []


def _header(option: TrainingOption, est: Estimate) -> list[str]:
    p = option.plan
    what, fsdp, _ = SHARDING_ENGINES[p.sharding]
    tensor, pipeline, context = getattr(p, "tensor", 1), getattr(p, "pipeline", 1), getattr(p, "context", 1)
    virtual, expert = _virtual(option, est), getattr(p, "expert", 1)
    lines = [f"gpuplan launch spec for {est.profile}: {option.label}",
             f"instance {p.instance} × {p.instances}, {p.gpu_count // p.instances} GPU(s) each; "
             # the tables' formats: one decimal wrote a 3.5-minute plan as 0.1 h, whole dollars $2.57 as $3
             f"{readable.hours(option.hours)} h and {readable.usd(option.cost_usd)} planned "
             f"({level_name(option.confidence)})",
             *_price_doubt(option),
             *_network(option),
             f"parallelism: data {p.gpu_count // (tensor * pipeline * context)}, tensor {tensor}, pipeline {pipeline}"
             + (f" × {virtual} virtual stages per rank (interleaved 1F1B)" if virtual > 1 else "")
             + (f", expert {expert}" if expert > 1 else "")
             + (f", context {context}" if context > 1 else "") + f"; {what} "
             f"(FSDP sharding_strategy={fsdp})",
             f"micro-batch {p.micro_batch} × gradient accumulation {p.grad_accumulation}; activation checkpointing "
             + (f"on, {readable.RECOMPUTATION[p.recompute_mode]}" if p.recompute else "off")
             + f" (GPUPLAN_RECOMPUTE={p.recompute_mode})"]
    batch = _batch_line(option, est)
    if batch is not None:
        lines.append(batch)
    if option.spot is not None:
        lines.append(option.spot.describe())
    lines.append(f"{TRAIN_SCRIPT} is a placeholder for your training script; it should read the GPUPLAN_* settings.")
    return lines


def _network(option: TrainingOption) -> list[str]:
    """The network a plan spanning instances was timed over, and whether the offer states it (new-user QA round 30:
    a spec for 3 simplepod instances did not say its 68.4 h assume 10 Gb/s between them); none for one instance."""
    links = option.plan.links
    if option.plan.instances < 2 or links is None or not links.inter_node_gbps:
        return []
    gbps = readable.gbps_text(links.inter_node_gbps)
    if links.inter_node_assumed:
        return [f"network between instances: {gbps} Gb/s assumed (the offer states none; the hours above rest on "
                "it: a slower network makes them longer)"]
    return [f"network between instances: {gbps} Gb/s, as the offer states ({links.inter_node_source})"]


def torchrun_spec(option: TrainingOption, est: Estimate, precision: str) -> str:
    """A shell script: exports the plan's settings and runs torchrun with nnodes / nproc-per-node of the plan."""
    p = option.plan
    per_node = p.gpu_count // p.instances
    env = plan_env(option, precision, _global_batch(est), _virtual(option, est))
    # names in the header come from the profile and the catalog: one line each, so no newline ends the comment
    lines = ["#!/bin/sh", *(f"# {comment(line)}" for line in _header(option, est))]
    if p.instances > 1:
        lines.append(f"# run on each of the {p.instances} instances with NODE_RANK=0..{p.instances - 1} and "
                     "MASTER_ADDR=<address of instance 0>")
    lines.append("export " + " ".join(f"{k}={shell_word(v)}" for k, v in env.items()))
    command = ["torchrun", f"--nnodes={p.instances}", f"--nproc-per-node={per_node}"]
    if p.instances > 1:
        command += ['--node-rank="${NODE_RANK:?set NODE_RANK}"', '--master-addr="${MASTER_ADDR:?set MASTER_ADDR}"',
                    f"--master-port={RDZV_PORT}"]
    command.append(f'"${{TRAIN_SCRIPT:-{TRAIN_SCRIPT}}}"')
    lines.append(" ".join(command))
    return "\n".join(lines) + "\n"


def skypilot_task(option: TrainingOption, est: Estimate, precision: str, catalog_dir: Path) -> dict[str, Any]:
    """A SkyPilot task (as a dict) for the plan: accelerators NAME:COUNT per node, num_nodes, use_spot, infra."""
    from planner.catalog.names import load_accelerator_names, skypilot_accelerator

    p = option.plan
    names = load_accelerator_names(catalog_dir, load_catalog(catalog_dir))
    per_node = p.gpu_count // p.instances
    try:
        accelerator = skypilot_accelerator(names, p.gpu, p.provider)
    except CatalogLookupError as exc:
        # the hint named catalog/accelerator_names.yaml, a file inside the installed package for the bundled catalog,
        # and not the launcher that needs no name (new-user QA: an owned MI250X)
        raise CatalogLookupError(exc.message, hint=(
            f"Add an entry {{catalog: skypilot, name: SKYPILOT_NAME, gpu: {p.gpu}}} to accelerator_names.yaml in a "
            "copy of the catalog given with --catalog, or use --emit torchrun, which needs no accelerator name."
        )) from None
    resources: dict[str, Any] = {"accelerators": f"{accelerator}:{per_node}", "use_spot": bool(p.spot)}
    cloud = OWNED_INFRA if p.provider == OWNED else names.skypilot_clouds.get(p.provider)
    if cloud is not None:
        resources["infra"] = cloud
    run = ("torchrun --nnodes=$SKYPILOT_NUM_NODES --nproc-per-node=$SKYPILOT_NUM_GPUS_PER_NODE "
           "--node-rank=$SKYPILOT_NODE_RANK --master-addr=$(echo \"$SKYPILOT_NODE_IPS\" | head -n1) "
           f"--master-port={RDZV_PORT} {TRAIN_SCRIPT}\n")
    return {"name": est.profile, "num_nodes": p.instances, "resources": resources,
            "envs": plan_env(option, precision, _global_batch(est), _virtual(option, est)), "setup": "# install your training dependencies here\n", "run": run}


def launch_spec(decision: Decision, est: Estimate, kind: str, catalog_dir: Path) -> str:
    """The launch spec text of `kind` (torchrun | skypilot) for the recommended training plan."""
    option = recommended_training(decision)
    assert est.training is not None  # recommended_training refused a profile without training
    precision = est.training.job.precision
    if kind == "torchrun":
        return torchrun_spec(option, est, precision)
    import yaml

    task = skypilot_task(option, est, precision, catalog_dir)
    lines = _header(option, est)
    if option.plan.provider == OWNED:
        lines.append(f"the plan runs on your own machine (constraints.owned): infra {OWNED_INFRA} keeps SkyPilot to "
                     f"your SSH Node Pools (`sky ssh up` with the machine in ~/.sky/ssh_node_pools.yaml), never a "
                     f"cloud; write infra: {OWNED_INFRA}/<pool> to name the pool that holds it.")
    elif "infra" not in task["resources"]:
        lines.append(f"{option.plan.provider} is not a cloud SkyPilot launches on: infra is left open, so SkyPilot "
                     f"provisions {task['resources']['accelerators']} on any cloud you have enabled.")
    header = "".join(f"# {comment(line)}\n" for line in lines)
    return header + yaml.dump(task, Dumper=yaml_dumper(), sort_keys=False, width=200)


def yaml_dumper() -> type[Any]:
    """A safe YAML dumper writing multi-line strings (setup, run) as literal blocks, the way SkyPilot's examples
    write them; every value goes through it, so no value can add keys (issue 17)."""
    import yaml

    class _Dumper(yaml.SafeDumper):
        pass

    def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    _Dumper.add_representer(str, _str)
    return _Dumper
