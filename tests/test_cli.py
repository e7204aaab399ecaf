"""The CLI as a user runs it: every example profile, exact key outputs, formats, catalog listing, docs."""
import json
import os
import re
import subprocess
import sys
from typing import Any

import pytest
from typer.testing import CliRunner

from planner.cli.main import app

from .conftest import PROFILES, ROOT, docs_text, gpuplan

runner = CliRunner()


def run_json(*args):
    result = gpuplan(*args, "--format", "json")  # each example's estimate runs once for the tests that read it
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def test_there_are_eight_example_profiles():
    assert {p.stem for p in PROFILES} == {"lora-7b-a6000", "pretrain-1b-72h", "resnet50-imagenet", "serve-7b-chat",
                                          "bert-train-then-serve", "serve-gpt-oss-120b-chat", "lora-mixtral-8x7b",
                                          "long-context-llama-8b"}


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.stem)
def test_every_example_profile_plans_with_exit_0(profile):
    result = gpuplan("estimate", str(profile), "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["schema_version"] == 1 and data["profile"] == profile.stem
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", data["catalog_as_of"])
    for section in ("training", "inference"):
        if section in data:
            plans = data[section]["plans"]
            # recommended: the decision's first choice (training: the cheapest viable, plans[0]; serving: the
            # cheapest plan holding every target with headroom, which need not be the cheapest at the targets)
            index = data[section]["recommended"]
            assert plans and isinstance(index, int) and not plans[index]["reasons"]
            assert (index == 0) if section == "training" else True
            first = data["decisions"][section]["choices"][0]
            assert {k: first[k] for k in ("gpu", "provider")} == {k: plans[index][k] for k in ("gpu", "provider")}


# The recommended plan of each example, pinned: a change to the model or the catalog that moves these is a
# change a reviewer should see. (Values as the report rounds them: 4 significant figures.)
# Hours moved < 0.2 % (issue 14): the curves were refitted after phi-1's run counts its architecture's 1.418B
# parameters instead of the paper's rounded 1.3B (a given count > 5 % off its architecture gives way to it).
EXPECTED_TRAINING = {
    # Every P10/P90 moved by ≤ 0.2 % (the plans and P50 did not) when the layout search tried every tensor degree
    # and pipeline depth that fits instead of the least (tests/test_layout_choice.py): published runs of unstated
    # layout (llama2-70b, mtnlg-530b) take a faster layout in the fit, and the refitted extrapolation log-σ rose
    # ~0.0004.
    # Moved by the imported SkyPilot v7 snapshot (catalog/snapshots/skypilot-2026-11-30, 4x the offers): Mithril's
    # 8x H100 at 8 USD/h (a price the import flags: on-demand = spot in every Mithril row) now forms the cheapest
    # plan meeting 72 h; SimplePod's 3x RTX A4000 and 4x A4000 rows undercut the former vast-ai picks.
    # Issue 13 moved P50 hours by ≤ 2 % (the published runs' clusters from their stated fields and the catalog's
    # offers instead of a per-generation network constant; DeepSpeed runs' stack factor ×0.98) and widened P10/P90:
    # the default stack (fsdp) has no factor of its own, so the interval adds the spread of such runs predicted
    # without their publication (catalog/priors.yaml extrapolation.stack_log_sigma 0.42).
    # Moved by the 77 rows of issue 13 item 4 (NeMo / Megatron-Bridge incl. 7 H100 MoE runs, Megatron-LM, llm-foundry,
    # torchtitan, gpt-fast): the hopper curve rests on 74 runs (was 18), its intervals narrowed; a 1-GPU RTX 3060 Ti now
    # meets bert-train-then-serve's deadline at P90 for less.
    # Moved by the market merge: offers that state no network now span instances over the assumed 10 Gb/s (the
    # slowest any offer states, named in the plan as assumed_network_gbps), so one-GPU instances of vast-ai and
    # SimplePod join up; the bill's compute line is the P50 cost, storage/egress unknown for these providers.
    # Moved by the published runs' stated layouts (tensor/pipeline/expert degrees, ZeRO stage, interleaving) pinned
    # in validation and fitting, as a user reproducing them would: the refitted curves move P50 by ≤ 1 %; lora-7b-a6000
    # now spreads over 16 one-GPU instances (cheaper at per-second billing), resnet50-imagenet over 4.
    # Moved by context parallelism (issue 14): the published runs that state CP (NeMo Llama 3 8B/70B, Megatron-Bridge
    # Llama 3.1 405B, torchtitan 64k) are planned at it; the refitted curves move P50 by ≤ 0.2 %, and lora-7b-a6000's
    # 1 and 16 one-GPU instances, tied at $2.48 (per-second billing), swap: one GPU is now the cheapest by < 1 cent.
    # Moved when the independent-check families (Lambda's tables, model papers and cards, llm.c, llama.cpp: 129 rows)
    # left every fit (issue 13): no Ada or GeForce training run is fitted on any more, so Ada/GeForce cards plan at the
    # pooled curve and their generation's with wider intervals (architecture extrapolation), and the megatron stack
    # factor (×1.55) replaced DeepSpeed's. Every plan below moved with it.
    # Moved by NCCL's collective latencies (planner/model/nccl.py: a latency per collective, per DDP/Megatron bucket
    # and per FSDP layer, planner/model/grad_sync.py) and the counted NCHW passes: the refitted curves move P50 hours
    # by ≤ 0.3 %; lora-7b-a6000's one-GPU plan and its 3-instance spread, tied on cost at per-second billing, swap
    # again (3 instances now cheaper by < 1 cent, and 3× sooner).
    # Moved by issue 14 item 6 (the MoE step model): the MoE rows left the curve fit (validated as the `moe` group,
    # never fitted: train_fit.fits_curves) and a pipeline's last stage carries the output layer (Megatron-Core's
    # default split, training.stage_imbalance): the refitted curves (Megatron factor ×1.54 → ×1.73, traffic passes
    # +8 %) move P50 hours by ≤ 3 %; lora-7b-a6000's one-GPU plan and its 6-instance spread, tied on cost at
    # per-second billing, swap (6 instances cheaper by < 1 cent, and 6× sooner).
    # Moved by the curve fit's priors (train_fit._regularised_fit: each parameter held to a stated plausible range,
    # the families' peaks to their common level): volta 1.0 → 0.636, fp32 factor 9 → 1.57, hopper 0.541 → 0.552,
    # ampere 0.744 → 0.675, Megatron ×1.73 → ×1.57; P50 hours move by ≤ 5 % (pretrain-1b +4.6 %, Mixtral LoRA
    # −3 %); long-context-llama-8b's context-8 plan on one 8×H100 node now meets 48 h at P50 (44.5 h) and costs less
    # than two nodes; lora-7b-a6000's 2-instance spread is now the cheapest (tied within cents, per-second billing).
    # Moved by the matmul ceilings (planner/catalog/ceilings.py): the pooled curve, refitted with each run scaled by its
    # GPU's measured best-matmul share, plans Ada at its transferred share over the runs' (80.7 % / 80.3 %): < 1 %.
    # Then moved when the profile stated Pythia's batch as 1024 sequences (2M SI tokens were 976.6 of them): fewer,
    # larger steps, −0.3 % hours.
    # Then moved when a family's fitted peak was carried to each chip by its tensor rate per SM-cycle
    # (train_curve.chip_transfer): the ampere curve's A100s do 2,049 FLOP per SM-cycle, an RTX A4000 1,024 and an
    # RTX 3060 Ti 512, so their peak share rises ×1.09 and ×1.16: pretrain-1b −5.8 % hours; resnet50 and bert now
    # meet their deadlines on fewer 3060 Ti for less.
    # Then moved when a fixed global batch ran in as few balanced micro-batches as memory holds (FitTrials:
    # ⌈B/dp⌉ samples of the busiest replica, e.g. 86 on 12 replicas as 29 micro-batches of 3, not 43 of the power of
    # two 2): 12 RTX A4000 now meet 72 h for less than 16.
    # Then MLPerf Training v3.1's GPT-3 175B rows (8 fittable H100 systems) refitted the curves (Megatron ×1.565 → ×1.593,
    # hopper 0.5515 → 0.5539, transformer traffic 28.9 → 29.3 passes): P50 hours move by ≤ 0.4 %, P10/P90 by ≤ 1 %.
    # Then the interleaved pipeline's gradient-reduction window (StepComm.window_micro_batches) refitted them again
    # (Megatron ×1.593 → ×1.536): P50 hours move by ≤ 1 %.
    # Then moved when whole-run hours left the fit and Narayanan et al.'s 2021 Megatron-LM rows became their own stack
    # (train_fit.fits_curves, framework megatron-legacy): CNN traffic 15.7 → 14.6 passes, Megatron ×1.536 → ×1.697,
    # ampere 0.676 → 0.732, hopper 0.548 → 0.533; P50 hours move by −1.5 … +3.3 % and the intervals narrow with the
    # smaller held-out spreads (pretrain-1b P90/P10 3.2 → 2.7); resnet50 now meets its deadline on 6 RTX 3060 Ti,
    # and lora-7b-a6000's one-GPU plan and its 2-instance spread, tied on cost, swap again (one GPU cheaper by cents).
    # Then StarCoder's never-fitted fine-tune became megatron-legacy (BigCode's pre-Core Megatron-LM fork): the
    # held-out spreads the intervals read move, P10/P90 by < 2 %.
    # Then every step paid the optimizer's update at the GPU's copy bandwidth (training.optimizer_step_bytes: 28 bytes
    # per AdamW parameter a GPU updates, ZeRO-sharded): the refitted curves, no longer absorbing it, move P50 hours by
    # −0.1 … +1.2 % (a run whose sequence length is its preset's now keeps the preset's stated parameter count, as
    # its profile does); bert's 2× RTX 3060 Ti pass 2 h (1.99 → 2.02 h: a third billed hour), so 3 RTX A4000 are cheapest.
    # Then the curve's activation and weight traffic moved at the GPU's copy bandwidth (A100 79 %, H100 87 %, GDDR
    # cards 91 % of the datasheet) and the flash traffic's prior was centred on a counted 6.6 passes
    # (train_fit.FLASH_PASSES): the refit lowers the flash traffic 10.5 → 8.5 passes; GDDR cards gain (pretrain-1b
    # on RTX A4000 −2.8 % hours, lora −2.2 %), H100 plans move ≤ 2 %; resnet50 meets its deadline on 8 RTX 3060 Ti
    # in 9.0 h for about the cost of 6 in 12.8 h, and bert's 2× RTX 3060 Ti is again the cheapest that meets it.
    # Then the V100's copy bandwidth became a measurement (90.2 % of its datasheet, was the HBM median 83.5 %): the
    # refit moves P50 hours by ≤ 0.3 %, and resnet50's 4 and 8 RTX 3060 Ti, near-tied on cost, swap (4 in 18.2 h).
    # Then the fast end of a training plan's interval was capped at its GPU's matmul ceiling, not the dense peak
    # (train_curve.efficiency_cap, figure.interval): P10 hours rise where exp(1.28 σ) × the median efficiency passed
    # the ceiling (pretrain-1b on RTX A4000 43.6 → 49.8 h, lora 3.82 → 4.00 h, bert 1.20 → 1.33 h); P50/P90 unchanged.
    # Then every hour took the run's start-up (planner/model/startup.py: 101 s until a rented instance runs, 2.56 s of
    # NCCL set-up and ~1 ms per GPU of rendezvous on more than one GPU): +0.028 h on every row, the same plans.
    # Then an adapter's start-up read its pretrained weights at 1,000 MiB/s: lora-7b 13.5 GB (+13 s), Mixtral 93.4 GB
    # (+89 s), the same plans.
    "pretrain-1b-72h": dict(gpu="RTX-A4000", provider="simplepod", gpu_count=12, instances=3, startup_s=103.6,
                            assumed_network_gbps=10.0, hours={"p10": 49.87, "p50": 68.4, "p90": 108.8},
                            cost_usd={"p10": 54.0, "p50": 74.52, "p90": 117.72, "compute": 74.52, "storage": None,
                                      "egress": None, "total": 74.52}),
    # LoRA's adapter gradients are small: 16 one-GPU instances over the assumed network cost about what one does
    # (per-second billing) and finish sooner; 2 instances are cheaper by < 1 cent and come first
    "lora-7b-a6000": dict(gpu="RTX-6000-ADA", provider="vast-ai", gpu_count=1, instances=1,
                          startup_s=113.9, hours={"p10": 4.027, "p50": 6.973, "p90": 12.66}),
    # balanced micro-batches: 12 replicas run their 86 samples as one micro-batch (6 ran 171 as 2 of 86)
    "resnet50-imagenet": dict(gpu="RTX-3060-TI", provider="simplepod", gpu_count=4, instances=4,
                              hours={"p10": 11.2, "p50": 18.25, "p90": 29.77}),
    # Mixtral LoRA: 819M tokens × 2 × forward FLOP (4·12.75B active per token + attention) on 8 H100 at the hopper
    # curve's ~35 % MFU; the adapters (240M) are tiny, the frozen 46.7B are what needs ZeRO-3 over 8 GPUs
    # Balanced micro-batches (above): 128 samples on 16 replicas, 8 each, as 3 micro-batches of 3 (4 of 2 with
    # the power-of-two rule) make two 8×H100 nodes for 1.8 h the cheapest ($32 at hourly billing)
    # one 8-GPU instance: ZeRO-3 gathers the frozen 93 GB base every pass, so two instances over the assumed
    # 10 Gb/s network would spend minutes a step on it (until 2026-12-01 the gathers counted only the adapters, and
    # 16 GPUs on two instances were planned at 1.8 h)
    "lora-mixtral-8x7b": dict(gpu="H100-SXM", provider="mithril", gpu_count=8,
                              hours={"p10": 2.44, "p50": 3.804, "p90": 5.946},
                              # parallelism states the ZeRO stage, recomputation and pins, and the context-parallel
                              # degree (1: a 4k sequence fits one GPU)
                              parallelism={"data": 8, "tensor": 1, "pipeline": 1, "virtual": 1, "expert": 1, "context": 1,
                                           "sharding": "zero3", "zero": 3, "recompute": "none", "pinned": []}),
    # Llama-3.1-8B at 128k (issue 14): 891 GB of activations per sequence without recomputation, 111 GB per GPU at
    # tensor 8: every plan splits the sequence (context parallelism); 8 H100 as context 8 with full recomputation
    # are the cheapest within 48 h (44.5 h at P50); then P90 +0.01 h when the continued pretraining read Llama's
    # 16.1 GB of pretrained weights first (training.from_pretrained: 15 s)
    "long-context-llama-8b": dict(gpu="H100-SXM", provider="mithril", gpu_count=8,
                                  hours={"p10": 29.64, "p50": 46.56, "p90": 73.14},
                                  parallelism={"data": 1, "tensor": 1, "pipeline": 1, "virtual": 1, "expert": 1, "context": 8,
                                               "sharding": "zero1", "zero": 1, "recompute": "full", "pinned": []}),
    # Then moved when a fixed global batch stopped counting padded samples (planner/plans/training.py layout_work):
    # 256 samples over 3 replicas is 86 on the busiest, and a step yields 256, not 3 × 86 = 258 (+0.8 % hours);
    # the P10/P90 of the two rows above move in their last digit with the refitted extrapolation spreads.
    "bert-train-then-serve": dict(gpu="RTX-3060-TI", provider="simplepod", gpu_count=2,
                                  hours={"p10": 1.355, "p50": 1.967, "p90": 3.18}),
}
EXPECTED_WORKLOAD = {
    # 1.012B params · 20B tokens: flops_total = 20e9 · 3 · forward FLOP per token (6N + 12·L·d·s)
    "pretrain-1b-72h": dict(params=1.012e9, tokens=2e10, flops_total=1.251e20, memory_min_gb=16.19),
    # LoRA r=16 on Llama-2-7B: 39.98M adapter parameters; 50k samples × 1024 tokens × 3 epochs
    "lora-7b-a6000": dict(trainable_params=3.998e7, tokens=1.536e8, memory_min_gb=14.12),
    # Mixtral-8x7B: 46.70B total, 12.75B active (tests/test_moe.py works both by hand); LoRA r=16 on attention and
    # all 8 experts: 32 · 16 · (26,624 + 8 · 3 · (4096 + 14336)) = 240.1M adapter parameters
    "lora-mixtral-8x7b": dict(params=4.67e10, active_params=1.275e10, trainable_params=2.401e8),
    # Llama-3.1-8B at 128k: per token 6 · 7.504B matmul weights (32 · 218.1M + the 525.3M head) + 12 · 32 · 4096 ·
    # 131072 of attention = 4.502e10 + 2.062e11 (attention is 82 % of it at this length); × 2B tokens = 5.024e20
    "long-context-llama-8b": dict(tokens=2e9, flops_total=5.024e20),
}
EXPECTED_SERVING = {
    # The recommended plan is the cheapest that holds every target at the P10 efficiency (choices.holds_with_headroom).
    # The cheapest at the median efficiency (4×4 RTX-A4000 on simplepod, $1,051, TPOT p95 44.7 ms under 50 ms) misses
    # TPOT at the P10 efficiency; one GH200 holds it for $1,088.
    # Then moved by the 2 gpt-fast bf16 decode rows on A100 (issue 13 item 4): the ampere decode prior rests on them too,
    # and 3 A100-80GB replicas on mithril ($1,095) hold every target with headroom.
    # Then moved when the llama.cpp rows became an independent check: no prefill run is fitted, prefill takes the
    # large-matmul efficiency of the GPU's training curve (a transfer, wider interval), and one replica of 4 A100s
    # holds the TTFT target with headroom where 3 one-GPU replicas no longer do.
    # Then a tensor-parallel all-reduce took NCCL's latency (planner/model/nccl.py: ~10 µs with the LL protocol over
    # NVLink, was 30 µs of ring steps).
    # Then moved when vLLM's H200 decode row joined gpt-fast's (issue 13 item 4): with 3 decode runs the decode
    # prior's log-σ is measured (0.19) instead of the 0.5 placeholder of a group under 3 runs, so 3 one-A100
    # replicas at batch 64 hold every target at the P10 efficiency again.
    # Then moved when prefill took the forward-pass fit's efficiency instead of the training curves' peak (ampere
    # 0.37 against 0.70: serving-prefill held out 23.7 % median against 43.9 %) and prefills cutting into a slot's
    # decode became Poisson rather than binomial (a heavier TPOT tail, as the simulation shows): one replica of 4
    # A100s, tensor-parallel, holds every target with headroom where 3 one-GPU replicas no longer do.
    # Then moved when the decode prior became a share of what the SMs issue (planner/model/decode_ceiling.py: 0.30
    # of a 32-byte sector per SM-clock on the A100 and the H200 alike; serving-decode held out 24.5 -> 14.3 %
    # median): an RTX A5000's 64 SMs at 1.695 GHz issue more than its 768 GB/s, so it decodes at its DRAM peak
    # (was 72 % of it), and 11 one-A5000 replicas at batch 20 ($1,420) undercut the 4-A100 replica ($1,460).
    # Then moved back when the decode prior became a share of each GPU's copy bandwidth (planner/model/decode_ceiling.py,
    # catalog/gpus.yaml bandwidth_ceiling; new-user QA: the per-SM rule read 100 % of a GDDR card's datasheet
    # bandwidth): an RTX A5000 decodes at 72 % of its 768 GB/s again, and one replica of 4 A100s ($1,460) is the
    # cheapest plan holding every target with headroom.
    # Then moved again when every decode step paid vLLM's host time per step (2.46 ms, fitted on vLLM's A100/H100/H200
    # latency rows: planner/model/engine_step.py) and GDDR cards took the RTX 4090's measured copy share (91 %) rather
    # than the A100's HBM 79 % (planner/catalog/bandwidth_ceiling.py, memory_type): a fixed 2.46 ms a step narrows
    # the fast GPUs' lead, and 6 replicas of 2 RTX A5000 at batch 32 ($1,426) undercut the 4-A100 replica ($1,460).
    # Then moved when the search kept, per offer, its cheapest plan with headroom as well as its cheapest at the
    # targets, over every batch the KV cache holds rather than only powers of two (tests/test_serving_headroom.py;
    # new-user QA: `--set inference.batch=48` found this offer's 5×4 RTX-A4000, $1,314, holding every target at the
    # P10 efficiency, under the $1,426 recommended): batch 50, the largest whose TPOT p95 (40.2 ms × 1.24 of
    # headroom ≤ 50 ms) holds on 5 replicas.
    "serve-7b-chat": dict(gpu="RTX-A4000", provider="simplepod", replicas=5, gpus_per_replica=4, batch_size=50,
                          monthly_cost_usd=1314.0),
    # gpt-oss-120b at int4 (≈ MXFP4): 62 GB of weights, 31 GB per GPU on one replica of 2 H100 (experts spread
    # expert-parallel over both); decode reads the experts a batch touches. TTFT −0.01 ms with the exact M/D/c
    # wait (planner/model/md_c.py): 128 slots at 72 % load wait with probability < 10⁻³, which the tail form
    # γe^{−δt} rounded to 0 and the exact distribution counts
    # (the same transfer: the H100 pair, $1,763, no longer holds TTFT with headroom; 8 A100s tensor- and
    # expert-parallel do)
    # (and NCCL's latency for the 2 all-reduces per layer, planner/model/nccl.py, shortens TPOT)
    # (then, with vLLM's decode row beside gpt-fast's, the decode log-σ measured at 0.19 instead of the 0.5
    # placeholder: 4 A100s tensor- and expert-parallel hold every target at the P10 efficiency)
    # (then, with prefill at the forward-pass fit's efficiency and Poisson cut-ins, as serve-7b-chat: 8 A100s)
    # (then latencies 2-4 % shorter, same plan: the forward fit counts tile and wave quantisation of its GEMMs on the
    # GPUs' SMs, planner/model/gemm_shapes.py, so its fitted ampere share, which prefill takes, rose 0.37 -> 0.40)
    # (then TPOT ~4 ms and TTFT ~4 ms longer, same plan: every decode step, and the prefill's scheduler iteration,
    # pays vLLM's 2.46 ms of host time, planner/model/engine_step.py)
    # (then, with the search keeping each offer's cheapest plan with headroom over every batch up to the KV cache's
    # limit, as serve-7b-chat: 3 replicas of 2 A100s at batch 48 hold every target at the P10 efficiency for $2,190,
    # as QA's `--set inference.batch=48` had found against the $2,920 recommended)
    "serve-gpt-oss-120b-chat": dict(gpu="A100-80GB-SXM", provider="mithril", replicas=3, gpus_per_replica=2,
                                    batch_size=48, latency_ms={"ttft_p50": 106.9, "ttft_p95": 615.2,
                                                               "tpot_p50": 30.77, "tpot_p95": 31.96},
                                    monthly_cost_usd=2190.0,
                                    parallelism={"tensor": 2, "expert": 2, "batch": 48, "pinned": []}),
    # Issue 13: eager PyTorch pays a host floor per operator (catalog/priors.yaml launch_floors, mode eager: ~61 µs ×
    # 192 operators of BERT-base ≈ 12 ms per call whatever the GPU). Moved when the floor was fitted per execution
    # mode on two publications (DLE and transformer-deploy, was DLE alone at ~77 µs) with its interval from the eager
    # rows alone: one RTX 3060 Ti batching requests now holds the 50 ms p95 (p95 ≈ 32 ms), not 4 batch-1 A2000s
    "bert-train-then-serve": dict(gpu="RTX-3060-TI", provider="simplepod", replicas=1, batch_size=1214,
                                  monthly_cost_usd=43.8),
}


@pytest.mark.parametrize("name", sorted(EXPECTED_TRAINING))
def test_recommended_training_plan(name):
    plan = run_json("estimate", str(ROOT / "profiles" / f"{name}.yaml"))["training"]["plans"][0]
    assert {k: plan[k] for k in EXPECTED_TRAINING[name]} == EXPECTED_TRAINING[name]


@pytest.mark.parametrize("name", sorted(EXPECTED_WORKLOAD))
def test_training_workload(name):
    workload = run_json("estimate", str(ROOT / "profiles" / f"{name}.yaml"))["training"]["workload"]
    assert {k: workload[k] for k in EXPECTED_WORKLOAD[name]} == EXPECTED_WORKLOAD[name]


@pytest.mark.parametrize("name", sorted(EXPECTED_SERVING))
def test_recommended_serving_plan(name):
    section = run_json("estimate", str(ROOT / "profiles" / f"{name}.yaml"))["inference"]
    plan = section["plans"][section["recommended"]]
    assert {k: plan[k] for k in EXPECTED_SERVING[name]} == EXPECTED_SERVING[name]


def test_json_plan_has_every_contract_field():
    data = run_json("estimate", str(ROOT / "profiles" / "pretrain-1b-72h.yaml"))
    plan = data["training"]["plans"][0]
    for key in ("gpu", "provider", "gpu_count", "instances", "parallelism", "memory_per_gpu_gb", "fits",
                "step_time_s", "throughput", "mfu", "efficiency_source", "hours", "gpu_hours", "cost_usd",
                "meets_deadline", "within_budget"):
        assert key in plan
    assert plan["efficiency_source"] in ("prior", "calibrated", "transferred", "measured")
    # the JSON plan's parallelism: the degrees (expert, context and the pipeline's interleaving included) and
    # sharding, plus the ZeRO stage, recomputation and what the profile pinned
    assert set(plan["parallelism"]) == {"data", "tensor", "pipeline", "virtual", "expert", "context", "sharding",
                                        "zero", "recompute", "pinned"}
    serving = run_json("estimate", str(ROOT / "profiles" / "serve-7b-chat.yaml"))["inference"]["plans"][0]
    for key in ("gpu", "provider", "replicas", "gpus_per_replica", "gpu_count", "batch_size",
                "capacity_rps_per_replica", "utilization", "latency_ms", "throughput_tokens_per_s",
                "monthly_cost_usd", "meets_slo", "efficiency_source"):
        assert key in serving
    assert "training" not in run_json("estimate", str(ROOT / "profiles" / "serve-7b-chat.yaml"))


def test_plans_are_sorted_best_first():
    plans = run_json("estimate", str(ROOT / "profiles" / "pretrain-1b-72h.yaml"), "--top", "0")["training"]["plans"]
    feasible = [p for p in plans if not p["reasons"]]
    assert plans[: len(feasible)] == feasible
    costs = [p["cost_usd"]["p50"] for p in feasible]
    assert costs == sorted(costs)


def test_infeasible_profile_exits_1_with_reasons(write):
    path = write("tight.yaml", (ROOT / "profiles" / "pretrain-1b-72h.yaml").read_text()
                 .replace("deadline: 72h", "deadline: 1min"))
    result = runner.invoke(app, ["estimate", str(path), "--format", "json"])
    assert result.exit_code == 1
    plans = json.loads(result.stdout)["training"]["plans"]
    assert json.loads(result.stdout)["training"]["recommended"] is None
    assert all(any("misses the deadline" in r for r in p["reasons"]) for p in plans)


@pytest.mark.parametrize("fmt, marker", [("table", "Training plans for pretrain-1b-72h"),
                                         ("markdown", "## Training"), ("csv", "section,gpu,provider")])
def test_other_formats(fmt, marker):
    result = gpuplan("estimate", str(ROOT / "profiles" / "pretrain-1b-72h.yaml"), "--format", fmt)
    assert result.exit_code == 0 and marker in result.stdout


def test_csv_carries_the_latency_a_p99_target_judges():
    # new-user QA: a model served at latency_p99 had only latency_p95_ms in its CSV
    import csv
    import io

    args = ("estimate", str(ROOT / "profiles" / "bert-train-then-serve.yaml"), "--set", "inference.slo={latency_p99: 30ms}")
    data = json.loads(gpuplan(*args, "--format", "json").stdout)
    rows = [r for r in csv.DictReader(io.StringIO(gpuplan(*args, "--format", "csv").stdout))
            if r["section"] == "inference"]
    plans = data["inference"]["plans"]
    assert rows and len(rows) == len(plans)
    for row, plan in zip(rows, plans):
        assert float(row["latency_p99_ms"]) == plan["latency_ms"]["p99"]
        assert float(row["latency_p50_ms"]) == plan["latency_ms"]["p50"] and row["ttft_p50_ms"] == ""
    header = gpuplan(*args, "--format", "csv").stdout.splitlines()[0].split(",")
    assert header[:15][-2:] == ["price_as_of", "price_flags"]  # the columns readers index stay where they were


def test_catalog_list_json():
    result = runner.invoke(app, ["catalog", "list", "--format", "json"])
    assert result.exit_code == 0
    gpus = json.loads(result.stdout)
    assert len(gpus) >= 40
    a100 = next(g for g in gpus if g["id"] == "A100-80GB-SXM")
    assert a100["memory_gb"] == 80 and a100["memory_bandwidth_gbs"] == 2039 and a100["peak_tflops"]["bf16"] == 312
    assert a100["cheapest_usd_per_gpu_hour"] > 0


def test_catalog_list_marks_a_doubtful_cheapest_price(catalog):
    # new-user QA: mithril's A100/H100 prices, which may be spot or auction prices (estimate marks their plans †),
    # were the list's plain cheapest $/GPU-h
    doubtful = {(o.offer.gpu, o.provider, o.offer.instance): o.offer.doubtful for o in catalog.offers()
                if o.offer.doubtful}
    gpus = json.loads(runner.invoke(app, ["catalog", "list", "--format", "json"]).stdout)
    flagged = [g for g in gpus if g["cheapest_doubtful"]]
    assert flagged and all(doubtful[(g["id"], g["cheapest_provider"], g["cheapest_instance"])] == g["cheapest_doubtful"]
                           for g in flagged)
    assert all(g["cheapest_doubtful"] is None for g in gpus
               if (g["id"], g["cheapest_provider"], g["cheapest_instance"]) not in doubtful)
    table = runner.invoke(app, ["catalog", "list"], env={"COLUMNS": "400"}).stdout
    for g in flagged:
        row = next(line for line in table.splitlines() if line.strip("│ ").startswith(g["id"] + " "))
        assert f"${g['cheapest_usd_per_gpu_hour']:.2f} † ({g['cheapest_provider']})" in row
        assert f"† {g['id']} {g['cheapest_provider']} {g['cheapest_instance']}: doubtful: " in table
    assert table.count("\n† ") == len(flagged)
    # new-user QA round 8: '1940' GB/s and '5033.2' TFLOP/s, where an estimate writes '1,610 GB/s': digits grouped
    wide = [g for g in gpus if g["memory_bandwidth_gbs"] >= 1000]
    assert wide
    for g in wide:
        row = next(line for line in table.splitlines() if line.strip("│ ").startswith(g["id"] + " "))
        assert f" {g['memory_bandwidth_gbs']:,g} " in row and not re.search(r"(?<![-\w.,])\d{4,}\b", row), row


def test_catalog_providers_dates_are_the_offers_dates(catalog):
    # new-user QA: vast-ai read 'prices as of 2026-11-30' (its file's date) while its RTX 6000 Ada plans are priced
    # as of 2026-10-19, the offer's own date, which the plans' price ages read
    rows = {r["provider"]: r for r in json.loads(runner.invoke(app, ["catalog", "providers", "--format",
                                                                        "json"]).stdout)}
    for pid, prov in catalog.providers.items():
        dates = sorted((o.as_of or prov.as_of).isoformat() for o in prov.offers)
        assert rows[pid]["offers_as_of"] == [dates[0], dates[-1]]
    spread = [pid for pid, r in rows.items() if r["offers_as_of"][0] != r["offers_as_of"][1]]
    assert spread
    table = runner.invoke(app, ["catalog", "providers"], env={"COLUMNS": "200"}).stdout
    for pid in spread:
        first, last = rows[pid]["offers_as_of"]
        assert f"{first} to {last}" in next(line for line in table.splitlines() if line.strip("│ ").startswith(pid))


def test_catalog_list_names_the_providers_under_the_gpus(catalog):
    # the GPU table alone never said how many providers the plans search (issue 15: `catalog list` shows >= 15)
    result = runner.invoke(app, ["catalog", "list"], env={"COLUMNS": "400"})
    assert result.exit_code == 0
    last = result.stdout.strip().splitlines()[-1]
    offers = sum(len(p.offers) for p in catalog.providers.values())
    assert last.startswith(f"{len(catalog.gpus)} GPU types, ")
    assert f"{offers:,} offers from {len(catalog.providers)} providers (" in last
    assert len(catalog.providers) >= 15 and all(p in last for p in catalog.providers)


def test_catalog_models_lists_presets():
    result = runner.invoke(app, ["catalog", "models"])
    assert result.exit_code == 0 and "llama-2-7b" in result.stdout
    # each preset's recorded context window (catalog/models.yaml max_context), which serving checks a request against
    wide = runner.invoke(app, ["catalog", "models", "--wide"]).stdout
    row = next(line for line in wide.splitlines() if " llama-2-7b " in line)
    assert "context" in wide and " 4,096 │" in row


def test_every_command_is_in_the_docs():
    readme = docs_text()  # README.md and docs/*.md
    for command in ("gpuplan estimate", "gpuplan catalog list", "gpuplan catalog models", "make test",
                    "make estimate", "gpuplan diff", "gpuplan schema profile", "gpuplan catalog import",
                    "--confidence 0.9", "--set ", "--plot ", "--html ", "--emit torchrun", "--emit skypilot",
                    "--fail-above cost=15%", "gpuplan validate", "--leave-one-out", "--simulate",
                    "gpuplan profile", "--measurements", "gpuplan calibrate --print-script",
                    "gpuplan calibration add", "gpuplan calibration list", "Calibrate on a rented GPU",
                    "--wide", "--format markdown"):
        assert command in readme, command
    for profile in PROFILES:
        assert f"profiles/{profile.name}" in readme, profile.name


def test_estimate_never_imports_torch():
    code = ("import sys; from planner.cli.main import app; from typer.testing import CliRunner; "
            f"r = CliRunner().invoke(app, ['estimate', {str(ROOT / 'profiles' / 'serve-7b-chat.yaml')!r}, "
            "'--format', 'json']); assert r.exit_code == 0, r.output; "
            "print('torch' in sys.modules, 'matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False False"


def test_training_estimate_never_imports_numpy():
    # numpy is imported by the M/D/c distribution and the simulation only when a run needs them (model/md_c.py,
    # plans/serving.py simulate_plan): a training-only estimate never pays its import. The command ends with its
    # objects frozen (cli/main.py run: the exit's collection over every object is skipped)
    code = ("import gc, sys; from planner.cli.main import run; sys.argv = ['gpuplan', 'estimate', "
            f"{str(ROOT / 'profiles' / 'lora-7b-a6000.yaml')!r}, '--format', 'json']\n"
            "try:\n    run()\nexcept SystemExit:\n    pass\n"
            "print('numpy' in sys.modules, 'scipy' in sys.modules, gc.get_freeze_count() > 0, file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert '"recommended"' in done.stdout
    assert done.stderr.strip() == "False False True"


def test_an_estimate_loads_no_openssl_and_secrets_is_imported_when_used():
    # pydantic.types imports secrets (hmac, OpenSSL's _hashlib, random) for a Secret's comparison only: run() defers
    # it (cli/main.py _Deferred), and the caches' keys use CPython's own SHA-256 (io/digest.py). A Secret compared
    # afterwards imports the real module, which then stands in sys.modules
    code = ("import sys; from planner.cli.main import run; sys.argv = ['gpuplan', 'estimate', "
            f"{str(ROOT / 'profiles' / 'lora-7b-a6000.yaml')!r}, '--format', 'json']\n"
            "try:\n    run()\nexcept SystemExit:\n    pass\n"
            "print([m for m in ('hmac', '_hashlib', 'hashlib') if m in sys.modules], type(sys.modules['secrets']).__name__,"
            " file=sys.stderr)\n"
            "import pydantic, hmac\n"
            "print(pydantic.SecretStr('a') == pydantic.SecretStr('a'), pydantic.SecretStr('a') == pydantic.SecretStr('b'),"
            " sys.modules['secrets'].compare_digest is hmac.compare_digest, type(sys.modules['secrets']).__name__,"
            " file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert '"recommended"' in done.stdout
    assert done.stderr.split("\n")[:2] == ["[] _Deferred", "True False True module"]


def test_the_caches_sha256_is_hashlibs():
    import hashlib

    from planner.io.digest import sha256

    for data in (b"", b"abc", bytes(range(256)) * 1000):
        assert sha256(data).hexdigest() == hashlib.sha256(data).hexdigest()
    digest = sha256(b"ab")
    digest.update(b"c")
    assert digest.hexdigest() == hashlib.sha256(b"abc").hexdigest()


def test_an_estimate_inside_another_program_freezes_nothing():
    # only the console script (run(): the command is the whole process) freezes what it made for the exit; an
    # estimate run inside a program (here pytest, through CliRunner) leaves its collector as it was
    import gc

    before = gc.get_freeze_count()
    result = runner.invoke(app, ["estimate", str(ROOT / "profiles" / "lora-7b-a6000.yaml"), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert gc.get_freeze_count() == before


def test_version_prints_the_installed_packages_version():
    # new-user QA: there was no `gpuplan --version`; it reads the installed metadata only when asked (the test
    # above: a plain estimate imports no importlib.metadata)
    from importlib.metadata import version

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout == f"gpuplan {version('gpuplan')}\n"
    done = subprocess.run([sys.executable, "-m", "planner", "--version", "estimate"], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)  # eager: before (and instead of) the command
    assert (done.returncode, done.stdout, done.stderr) == (0, f"gpuplan {version('gpuplan')}\n", "")


@pytest.mark.parametrize("command", [[], ["estimate"], ["catalog"], ["catalog", "list"],
                                     ["estimate", str(ROOT / "profiles" / "pretrain-1b-72h.yaml")]])
def test_dash_h_is_help(command):
    # new-user QA round 22: `gpuplan -h` was "No such option: -h", exit 2
    short, long = runner.invoke(app, [*command, "-h"]), runner.invoke(app, [*command, "--help"])
    assert short.exit_code == long.exit_code == 0 and short.stdout == long.stdout and "Usage: " in short.stdout


def test_plugins_off_skip_the_metadata_scan_and_a_users_setting_keeps_pydantics_loader():
    # run() turns pydantic's plugins off, and then pydantic's loader (which imports importlib.metadata) is not needed
    code = ("import sys; from planner.cli.main import run; sys.argv = ['gpuplan', 'estimate', "
            f"{str(ROOT / 'profiles' / 'lora-7b-a6000.yaml')!r}, '--format', 'json']\n"
            "try:\n    run()\nexcept SystemExit:\n    pass\n"
            # a validator built after the run asks pydantic for plugins (a warm run, every cache hit, builds none)
            "from planner.schema.profile import Slo; Slo.model_validate({})\n"
            "print('importlib.metadata' in sys.modules, file=sys.stderr)")
    env = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert json.loads(done.stdout)["decisions"]["training"]["choices"]
    assert done.stderr.strip() == "False"
    # a user's own setting (here: none disabled) leaves plugin discovery to pydantic, metadata scan included
    kept = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**env, "PYDANTIC_DISABLE_PLUGINS": ""})
    assert kept.stdout == done.stdout
    assert kept.stderr.strip() == "True"


_LEAVING = """
import atexit, os, sys
def finalizing(event, args, write=os.write):
    if event == "cpython.PyInterpreterState_Clear":  # raised by the interpreter's finalization
        write(2, b"finalized\\n")
sys.addaudithook(finalizing)
if HANDLER:
    atexit.register(lambda: sys.stderr.write("handler\\n"))
sys.argv = ["gpuplan", "estimate", PROFILE, "--format", "json"]
from planner.cli.main import main
main()
"""


@pytest.mark.parametrize("profile, status", [("lora-7b-a6000.yaml", 0), ("missing.yaml", 2)])
def test_the_console_script_leaves_at_once_unless_something_waits_for_the_exit(profile, status):
    """main() (the console script, `python -m planner`) ends the process as soon as the command is done, output
    flushed and exit status kept, skipping the interpreter's finalization (its audit event is not raised); with an atexit
    handler registered (coverage, logging, ...) it exits the interpreter's way, and the handler runs."""
    for handler in (False, True):
        code = _LEAVING.replace("HANDLER", str(handler)).replace("PROFILE", repr(str(ROOT / "profiles" / profile)))
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert done.returncode == status
        if status == 0:
            assert json.loads(done.stdout)["profile"] == "lora-7b-a6000"  # all of it, flushed
        else:
            assert "file not found" in done.stderr
        assert ("finalized" in done.stderr, "handler" in done.stderr) == (handler, handler)


def test_ctrl_c_during_the_start_up_imports_is_interrupted_130_not_a_traceback():
    """A Ctrl-C in run()'s imports, before a command's handler is in place (the first ~0.1 s of a cold start), ended
    the process by SIGINT with a traceback (new-user QA: SIGINT sent 0.04-0.12 s after launch); here the interrupt
    is raised in those imports, deterministically."""
    code = ("import sys\nimport planner.cli.main as m\n"
            "def interrupted():\n    raise KeyboardInterrupt\n"
            "m._import_with_lazy_dataclasses = interrupted\n"
            f"sys.argv = ['gpuplan', 'estimate', {str(ROOT / 'profiles' / 'lora-7b-a6000.yaml')!r}]\nm.main()\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (done.returncode, done.stderr, done.stdout) == (130, "Interrupted.\n", "")


_INTERRUPTED_IMPORT = """
import importlib.abc, sys
class Interrupt(importlib.abc.MetaPathFinder):  # Ctrl-C while the command line is imported
    def find_spec(self, name, path, target=None):
        if name == "planner.cli.main":
            raise KeyboardInterrupt
sys.meta_path.insert(0, Interrupt())
sys.argv = ["gpuplan", *ARGS]
from planner.__main__ import main
main()
"""


def test_the_console_script_imports_nothing_before_its_handler():
    """The console script imports its entry's module before it calls the entry, outside any handler: that module (and
    the package) import nothing more, and the entry imports the command line inside its handler (new-user QA round
    11: a Ctrl-C in the first ~0.03 s of `gpuplan` printed a traceback from the import of cli/main.py, ~12 ms)."""
    entry = re.search(r'^gpuplan = "([\w.]+):(\w+)"$', (ROOT / "pyproject.toml").read_text(), re.M)
    assert entry is not None
    module, function = entry.groups()
    code = (f"import sys\nbefore = set(sys.modules)\nfrom {module} import {function}\n"
            "print(sorted(set(sys.modules) - before))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "['planner', 'planner.__main__']" and module == "planner.__main__"


@pytest.mark.parametrize("args", [["--help"], ["estimate", "x.yaml"]])
def test_ctrl_c_while_the_console_script_imports_the_command_line_is_interrupted_130(args):
    """A Ctrl-C raised (deterministically) while the entry imports the command line: the handler's answer, one line and
    status 130, no traceback; with --debug the traceback that --debug asks for."""
    done = subprocess.run([sys.executable, "-c", _INTERRUPTED_IMPORT.replace("ARGS", repr(args))],
                          capture_output=True, text=True)
    assert (done.returncode, done.stderr, done.stdout) == (130, "Interrupted.\n", "")
    debug = subprocess.run([sys.executable, "-c", _INTERRUPTED_IMPORT.replace("ARGS", repr(["--debug", *args]))],
                           capture_output=True, text=True)
    assert "Traceback" in debug.stderr and debug.stderr.endswith("KeyboardInterrupt\n")


def test_an_interrupt_a_library_re_raised_as_another_error_is_interrupted_without_a_record_in_sight(monkeypatch):
    """A Ctrl-C that lands in a library which raises another exception from it (an import left half done) is the
    interrupt it was, for every command: `estimate` said "Interrupted: no record written.", a record being what
    `profile` writes (new-user QA: SIGINT 0.12 s after launching an estimate)."""
    import planner

    def interrupted(*args, **kwargs):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise ImportError("cannot import name 'x' from partially initialized module 'y'") from None

    monkeypatch.setattr(planner, "load_catalog", interrupted)
    result = runner.invoke(app, ["estimate", str(ROOT / "profiles" / "lora-7b-a6000.yaml")])
    assert (result.exit_code, result.stderr, result.stdout) == (130, "Interrupted.\n", "")


def test_the_entrys_interrupt_handler_answers_at_once_and_with_debug_raises(monkeypatch):
    """planner/__main__.py interrupted, called as Python calls a signal handler: "Interrupted." on stderr and status
    130 at once (os._exit: it may land where no handler would catch an exception); with --debug the KeyboardInterrupt
    whose traceback --debug asks for."""
    import signal
    import types

    previous = signal.getsignal(signal.SIGINT)
    try:
        import planner.__main__ as entry  # loading it sets its handler: this process keeps its own
    finally:
        signal.signal(signal.SIGINT, previous)
    written: list[tuple[int, bytes]] = []

    def leave(status: int) -> None:
        raise SystemExit(("os._exit", status))

    monkeypatch.setattr(entry, "os", types.SimpleNamespace(write=lambda fd, data: written.append((fd, data)),
                                                           _exit=leave))
    monkeypatch.setattr(sys, "argv", ["gpuplan", "estimate", "x.yaml"])
    with pytest.raises(SystemExit) as left:
        entry.interrupted(signal.SIGINT, None)
    assert left.value.code == ("os._exit", 130) and written == [(2, b"Interrupted.\n")]
    monkeypatch.setattr(sys, "argv", ["gpuplan", "--debug", "estimate", "x.yaml"])
    with pytest.raises(KeyboardInterrupt):
        entry.interrupted(signal.SIGINT, None)


@pytest.mark.parametrize("ignored", [False, True], ids=["default", "background-job"])
def test_loading_the_entry_answers_ctrl_c_unless_it_is_ignored(ignored):
    """The console script loads planner/__main__.py first: from then on its handler answers SIGINT, where Python's
    default one did; SIGINT ignored (a shell's background job) stays ignored."""
    code = ("import signal, sys\n"
            + ("signal.signal(signal.SIGINT, signal.SIG_IGN)\n" if ignored else "")
            + "from planner.__main__ import interrupted\n"
            "handler = signal.getsignal(signal.SIGINT)\n"
            "print('ignored' if handler is signal.SIG_IGN else 'entry' if handler is interrupted else repr(handler))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout == ("ignored\n" if ignored else "entry\n")


# the console script pip writes (its template: `import re` / `import sys` / `from MODULE import main` / the argv[0]
# rewrite / `sys.exit(main())`), with a pause between the import and the call: the lines that ran under Python's
# default handler, where a Ctrl-C printed a traceback from bin/gpuplan (new-user QA); READY says the pause began
_CONSOLE_SCRIPT_PAUSED = """
import re
import sys
from planner.__main__ import main
if __name__ == '__main__':
    sys.argv = ['gpuplan', ARGS]
    print('READY', flush=True)
    import time
    for _ in range(6000):  # 60 s at most: the test's SIGINT ends it
        time.sleep(0.01)
    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])
    sys.exit(main())
"""


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_ctrl_c_in_the_console_scripts_own_lines_is_interrupted_130(debug):
    """A real SIGINT, sent once the child is past the entry's import and before it calls main (whenever it arrives in
    that pause, the same answer): "Interrupted.", 130, no traceback; with --debug the traceback."""
    import signal

    args = ["--debug", "estimate", "x.yaml"] if debug else ["estimate", "x.yaml"]
    code = _CONSOLE_SCRIPT_PAUSED.replace("ARGS", repr(args)[1:-1])
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as child:
        assert child.stdout is not None
        assert child.stdout.readline() == "READY\n"
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=120)
    if debug:
        assert "Traceback" in err and err.endswith("KeyboardInterrupt\n")
    else:
        assert (child.returncode, err, out) == (130, "Interrupted.\n", "")


# cli/main.py main with `run` standing for a command in which a real SIGINT lands: WHAT says what the code it landed
# in does with the KeyboardInterrupt
_INTERRUPTED_COMMAND = """
import os, signal, sys, time
import planner.cli.main as m
class PanicException(BaseException):  # pyo3's: what pydantic_core's Rust half raised when the interrupt landed in it
    pass
def run():
    try:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(30)
    except KeyboardInterrupt:
        if WHAT == "panic":
            raise PanicException("failed to import `datetime` C API") from None
        if WHAT == "dropped":  # as importlib's weakref callback drops it: the command goes on and ends well
            sys.exit(0)
        raise
m.run = run
sys.argv = ["gpuplan", "estimate", "x.yaml"]
m.main()
"""


@pytest.mark.parametrize("what", ["raised", "panic", "dropped"])
def test_an_interrupt_a_library_turned_into_something_else_is_interrupted_130(what):
    """SIGINT while a command runs is recorded (cli/guard.py record_interrupt), so whatever the code it landed in
    made of the KeyboardInterrupt, the answer is the interrupt's: pydantic_core's PanicException, a BaseException, was
    a traceback and status 1 (new-user QA round 17: SIGINT 0.12 s after launching an estimate), and an interrupt
    dropped where it landed let the command end as if none had come."""
    done = subprocess.run([sys.executable, "-c", _INTERRUPTED_COMMAND.replace("WHAT", repr(what))],
                          capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stderr, done.stdout) == (130, "Interrupted.\n", "")


_DATETIME_FIRST = """
import importlib.abc, sys
seen = []
class Watch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "pydantic_core._pydantic_core":
            seen.append("datetime" in sys.modules)
sys.meta_path.insert(0, Watch())
sys.argv = ["gpuplan", "estimate", "missing.yaml"]
import atexit
atexit.register(lambda: print(seen, flush=True))  # main leaves by os._exit unless a handler waits
from planner.cli.main import main
main()
"""


def test_datetime_is_imported_before_pydantic_cores_rust_half_imports_it():
    """pydantic_core's Rust half imports datetime through the C API as it loads; a Ctrl-C landing there made it panic
    (Rust's panic message on stderr, then PanicException). run() imports datetime first, so that import is Python's
    own, where a Ctrl-C is a KeyboardInterrupt."""
    done = subprocess.run([sys.executable, "-c", _DATETIME_FIRST], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stdout == "[True]\n", done.stderr


_FORWARD_REFS = """
import json, sys, typing
compiled_init = typing.ForwardRef.__init__
if UNCOMPILED:
    from planner.cli.main import _import_with_lazy_dataclasses
    _import_with_lazy_dataclasses()
    assert typing.ForwardRef.__init__ is compiled_init  # typing's own back
import pydantic.main, pydantic.fields, pydantic.functional_validators
from pydantic import ConfigDict
from pydantic_core import core_schema
made = [cls for cls in vars(core_schema).values() if isinstance(cls, type) and cls.__module__ == core_schema.__name__
        and hasattr(cls, "__required_keys__")] + [ConfigDict]
refs = {f"{cls.__name__}.{name}": ref for cls in made for name, ref in cls.__annotations__.items()
        if isinstance(ref, typing.ForwardRef)}
remade = {key: typing.ForwardRef(ref.__forward_arg__, module=ref.__forward_module__)  # compiled by typing
          for key, ref in refs.items()}
def value(key, ref):  # each evaluated in its class's module, as get_type_hints does
    module = vars(sys.modules[classes[key.split(".")[0]].__module__])
    try:
        return repr(typing._eval_type(ref, module, module))
    except NameError as exc:  # a name imported only for type checkers
        return repr(exc)
classes = {cls.__name__: cls for cls in made}
hints = {key: value(key, ref) for key, ref in refs.items()}
print(json.dumps({"refs": {key: repr(ref) for key, ref in refs.items()}, "hints": hints,
                  "texts": sum(isinstance(ref.__forward_code__, str) for ref in refs.values()),
                  "equal": all(refs[key] == ref and hash(refs[key]) == hash(ref) for key, ref in remade.items())}))
"""


def test_forward_references_made_while_pydantic_is_imported_evaluate_as_typings_own():
    """cli/main.py imports pydantic with typing.ForwardRef's texts left uncompiled (_uncompiled_forward_ref): the
    same references (repr, equality, hash), which evaluate to the same types (get_type_hints of pydantic_core's
    TypedDicts and ConfigDict, where they are made); typing's own __init__ is back after."""

    def summary(uncompiled: bool) -> dict[str, Any]:
        done = subprocess.run([sys.executable, "-c", _FORWARD_REFS.replace("UNCOMPILED", str(uncompiled))],
                              capture_output=True, text=True, check=True)
        return json.loads(done.stdout)  # type: ignore[no-any-return]

    uncompiled, compiled = summary(True), summary(False)
    assert len(compiled["refs"]) > 500 and compiled["texts"] == 0  # typing compiles every one
    assert uncompiled["texts"] == len(uncompiled["refs"])  # here none
    assert uncompiled["equal"] and compiled["equal"]
    assert uncompiled["refs"] == compiled["refs"]
    assert uncompiled["hints"] == compiled["hints"]
    assert sum("Error" not in hint for hint in compiled["hints"].values()) > 500  # most evaluate


def test_readme_package_map_matches_the_folders():
    """The layout table (docs/internals.md) names exactly the subpackages of planner/ (and nothing that is gone)."""
    readme = (ROOT / "docs" / "internals.md").read_text()
    section = readme[readme.index("## Layout"):]
    section = section[:section.index("\n## ")] if "\n## " in section else section
    named = set(re.findall(r"`planner/(\w+)/`", section))
    folders = {p.parent.name for p in (ROOT / "planner").glob("*/__init__.py")}
    assert named == folders


def test_help_shows_flags_without_a_value_placeholder():
    # a flag takes no value, so its help line is the flag alone (typer prints `--wide <bool>` unless told otherwise:
    # planner/cli/app.py _plain_flags); every command that has a flag, nested groups included
    import typer.main

    def paths(command, prefix):
        flags = any(getattr(p, "is_flag", False) for p in command.params)
        if flags or not prefix:
            yield prefix
        for name, sub in getattr(command, "commands", {}).items():
            yield from paths(sub, [*prefix, name])

    shown = 0
    for path in paths(typer.main.get_command(app), []):
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "120"})
        assert result.exit_code == 0, (path, result.output)
        assert "<bool>" not in result.output, path
        assert "--help" in result.output
        shown += 1
    assert shown >= 5
    assert "--leave-one-out  " in runner.invoke(app, ["validate", "--help"], env={"COLUMNS": "120"}).output


def test_help_names_every_value_a_person_types():
    # new-user QA round 8: `estimate --help` read 'Usage: gpuplan estimate [OPTIONS] {profile}' (braces read as a set
    # of choices) and placeholders of Python types ('--set <list[str]>', '--top <int range>', '--gpus <str>'): every
    # argument is named as click names one (PROFILE, [NAME]) and every option's value by what it is
    import typer.main

    def paths(command, prefix):
        yield prefix
        for name, sub in getattr(command, "commands", {}).items():
            yield from paths(sub, [*prefix, name])

    arguments = 0
    for path in paths(typer.main.get_command(app), []):
        text = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"}).output
        usage = next(line for line in text.splitlines() if "Usage:" in line)
        assert "{" not in usage, usage
        for piece in usage.split("[OPTIONS]")[1].split():
            if piece not in ("COMMAND", "[ARGS]..."):
                assert re.fullmatch(r"\[?[A-Z]+\]?", piece), usage
                arguments += 1
        for typed in ("<list[", " range>", "<str>", "<int>", "<float>", "<text>"):
            assert typed not in text, (path, typed)
        options = text.split("Options")[-1]
        assert "<path>" not in options, path  # a file or a folder: <file>, <dir>
    assert arguments >= 6  # PROFILE (estimate, profile), OLD NEW, [NAME], TABLE, FILE
    estimate = runner.invoke(app, ["estimate", "--help"], env={"COLUMNS": "200"}).output
    assert "[OPTIONS] PROFILE" in estimate and "<key.path=value>" in estimate and "<n>" in estimate


def test_top_0_lists_every_plan_the_decision_names():
    # --top 0 is "all plans": the balanced and fastest choices (other GPU counts than each offer's best) get their
    # rows too, in rank order, so their P10-P90 hours, layout and bill are printed somewhere
    doc = run_json("estimate", str(ROOT / "profiles" / "lora-7b-a6000.yaml"), "--top", "0")
    plans = [(p["gpu"], p["provider"], p["instance"], p["gpu_count"]) for p in doc["training"]["plans"]]
    named = [(c["gpu"], c["provider"], c["instance"], c["gpu_count"]) for c in doc["decisions"]["training"]["choices"]]
    assert len(set(named)) == 3 and all(n in plans for n in named)
    default = run_json("estimate", str(ROOT / "profiles" / "lora-7b-a6000.yaml"))["training"]["plans"]
    assert len(plans) > len(default)


def test_confidence_takes_a_quantile_as_people_write_it():
    # new-user QA: '--confidence 90%' (or P90, as the tables name it) was Typer's boxed "Invalid value for
    # '--confidence': Input should be a valid number", the value not shown
    profile = str(ROOT / "profiles" / "pretrain-1b-72h.yaml")
    plain = gpuplan("estimate", profile, "--confidence", "0.9", "--format", "json")
    for written in ("90%", "P90", "p90"):
        result = gpuplan("estimate", profile, "--confidence", written, "--format", "json")
        assert result.exit_code == plain.exit_code and result.stdout == plain.stdout, written
    bad = gpuplan("estimate", profile, "--confidence", "ninety")
    assert bad.exit_code == 2
    assert bad.output.startswith("Error: --confidence 'ninety': expected a quantile such as 0.9 (or 90%, P90).")
    # new-user QA round 8: '--confidence 95' (a percentile written as one) said only 'outside [0.5, 1)'
    percent = gpuplan("estimate", profile, "--confidence", "95")
    assert percent.exit_code == 2 and "For P95 write 0.95 (or 95%, P95)." in percent.output
    assert "For P" not in gpuplan("estimate", profile, "--confidence", "2").output
    # new-user QA round 18: float() read '0.9_5' as 0.95
    grouped = gpuplan("estimate", profile, "--confidence", "0.9_5")
    assert (grouped.exit_code, grouped.stdout) == (2, "")
    assert grouped.stderr.startswith("Error: --confidence: expected a quantile such as 0.9 (or 90%, P90), its digits "
                                     "grouped in threes if at all (1,000 or 1_000), got '0.9_5'."), grouped.stderr


@pytest.mark.parametrize("typed", ["P100", "p100", "100%", "1.0000001", "0.4999999999", "1e0"])
def test_a_confidence_out_of_range_is_quoted_as_typed(typed):
    # new-user QA round 12: '--confidence P100' read "--confidence 1 is outside [0.5, 1)", another value than typed
    result = gpuplan("estimate", str(ROOT / "profiles" / "pretrain-1b-72h.yaml"), "--confidence", typed)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith(f"Error: --confidence {typed} is outside [0.5, 1). "), result.stderr


@pytest.mark.parametrize("given, expected", [(None, "1"), ("4", "4")])
def test_an_estimate_runs_numpy_on_one_blas_thread_unless_told(monkeypatch, given, expected):
    # cli/estimate.py: OpenBLAS's pool spins on every core for an estimate's small matrices; a user's setting stays
    if given is None:
        monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    else:
        monkeypatch.setenv("OPENBLAS_NUM_THREADS", given)
    result = runner.invoke(app, ["estimate", str(ROOT / "profiles" / "lora-7b-a6000.yaml"), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert os.environ["OPENBLAS_NUM_THREADS"] == expected


@pytest.mark.parametrize("args, message", [
    (["estimate", "p.yaml", "--format", "xml"],
     "Error: --format: 'xml' is not one of 'table', 'json', 'markdown', 'csv'. Try 'gpuplan estimate --help'.\n"),
    # new-user QA round 14: an HTML report is not a --format; the option that writes one is named
    (["estimate", "p.yaml", "--format", "html"], "Error: --format: 'html' is not one of 'table', 'json', 'markdown', "
     "'csv'; use --html FILE instead. Try 'gpuplan estimate --help'.\n"),
    (["estimate", "p.yaml", "-f", "HTML"], "Error: --format: 'HTML' is not one of 'table', 'json', 'markdown', "
     "'csv'; use --html FILE instead. Try 'gpuplan estimate --help'.\n"),
    (["estimate", "p.yaml", "--format", "plot"], "Error: --format: 'plot' is not one of 'table', 'json', 'markdown', "
     "'csv'; use --plot FILE instead. Try 'gpuplan estimate --help'.\n"),
    # new-user QA round 18: a numeric option's range and parse errors were pydantic's words ("Input should be greater
    # than or equal to 0", "unable to parse string as an integer"); now a profile field's (io/loading.py range_words)
    (["estimate", "p.yaml", "--top", "-1"],
     "Error: --top: expected a whole number at least 0, got '-1'. Try 'gpuplan estimate --help'.\n"),
    (["estimate", "p.yaml", "--top", "abc"],
     "Error: --top: expected a whole number at least 0, got 'abc'. Try 'gpuplan estimate --help'.\n"),
    (["estimate", "p.yaml", "--top", "2.5"],
     "Error: --top: expected a whole number at least 0, got '2.5'. Try 'gpuplan estimate --help'.\n"),
    (["estimate", "p.yaml", "--seed", "-3"],
     "Error: --seed: expected a whole number at least 0, got '-3'. Try 'gpuplan estimate --help'.\n"),
    (["estimate", "p.yaml", "--local-usd-per-hour", "two"],
     "Error: --local-usd-per-hour: expected a number, got 'two'. Try 'gpuplan estimate --help'.\n"),
    (["profile", "p.yaml", "--processes", "1"],
     "Error: --processes: expected a whole number from 2 to 64, got '1'. Try 'gpuplan profile --help'.\n"),
    (["profile", "p.yaml", "--processes", "65"],
     "Error: --processes: expected a whole number from 2 to 64, got '65'. Try 'gpuplan profile --help'.\n"),
    # new-user QA round 18: int() and float() read '1_0' as 10: digits grouped other than in threes are refused, in
    # the one message every number gets (schema/units.py check_digit_groups)
    (["estimate", "p.yaml", "--top", "1_0"],
     "Error: --top: expected a whole number at least 0, its digits grouped in threes if at all (1,000 or 1_000), "
     "got '1_0'. Try 'gpuplan estimate --help'.\n"),
    (["estimate", "p.yaml", "--local-usd-per-hour", "2,5"],
     "Error: --local-usd-per-hour: expected a number, its digits grouped in threes if at all (1,000 or 1_000), "
     "got '2,5'. Try 'gpuplan estimate --help'.\n"),
    (["estimate"], "Error: Missing argument 'PROFILE'. Try 'gpuplan estimate --help'.\n"),
    (["estimate", "p.yaml", "--bogus"], "Error: No such option: --bogus. Try 'gpuplan estimate --help'.\n"),
    (["--bogus"], "Error: No such option: --bogus. Try 'gpuplan --help'.\n"),
    (["catalog", "bogus"], "Error: No such command 'bogus'. Try 'gpuplan catalog --help'.\n"),
    (["schema", "foo"], "Error: NAME: 'foo' is not one of 'profile', 'offers'. Try 'gpuplan schema --help'.\n"),
    (["catalog", "import", "t.csv"],
     "Error: Missing option '--from'. Choose from: skypilot, gpuhunt. Try 'gpuplan catalog import --help'.\n"),
])
def test_a_command_line_mistake_is_one_error_line(args, message):
    # new-user QA round 12: Typer's usage line, a help hint and the message in a box, its validator's wording kept
    # ("Value error, 'xml' is not one of …"): one `Error:` line like any other bad input, exit 2
    result = CliRunner().invoke(app, args, env={"COLUMNS": "80"}, prog_name="gpuplan")
    assert result.exit_code == 2
    assert result.stdout == "" and result.stderr == message


def test_a_group_without_a_command_still_shows_its_help():
    result = CliRunner().invoke(app, ["catalog"], env={"COLUMNS": "80"}, prog_name="gpuplan")
    assert "Usage: gpuplan catalog" in result.output and "Error" not in result.output


def test_estimate_reads_a_profile_from_standard_input():
    # new-user QA round 12: `gpuplan estimate - < p.yaml` said "-: file not found"; now the profile piped in is
    # planned, and its errors are placed in <stdin>
    path = ROOT / "profiles" / "serve-7b-chat.yaml"
    piped = CliRunner().invoke(app, ["estimate", "-", "--format", "json", "--top", "1"],
                               input=path.read_text(encoding="utf-8"))
    named = gpuplan("estimate", str(path), "--format", "json", "--top", "1")
    assert piped.exit_code == 0 and piped.stdout == named.stdout
    bad = CliRunner().invoke(app, ["estimate", "-"], input="name: x\nmodel: {preset: pythia-1b}\ntraining:\n"
                                                            "  dataset: {tokens: 1B}\n  epochs: 0\n")
    assert bad.exit_code == 2
    assert bad.stderr == "Error: <stdin>:5:3: training.epochs: expected a number more than 0 and at most 100,000, got 0\n"
    other = CliRunner().invoke(app, ["diff", "-", str(path)])
    assert other.exit_code == 2
    assert other.stderr == "Error: -: file not found; standard input ('-') is read by `gpuplan estimate -` only\n"


def test_a_profile_not_found_is_pointed_to_the_bundled_one_of_that_name(tmp_path, monkeypatch):
    # new-user QA round 14: `gpuplan estimate pretrain-1b-72h` (no directory, no suffix) said a bare "file not
    # found" where the repository holds profiles/pretrain-1b-72h.yaml
    monkeypatch.chdir(ROOT)
    for given in ("pretrain-1b-72h", "pretrain-1b-72h.yaml", "profiles/pretrain-1b-72h"):
        result = CliRunner().invoke(app, ["estimate", given])
        assert (result.exit_code, result.stdout) == (2, ""), result.output
        assert result.stderr == f"Error: {given}: file not found. Did you mean profiles/pretrain-1b-72h.yaml?\n"
    monkeypatch.chdir(tmp_path)  # elsewhere, the bundled profile's whole path
    result = CliRunner().invoke(app, ["estimate", "serve-7b-chat"])
    assert result.stderr == (f"Error: serve-7b-chat: file not found. Did you mean "
                             f"{ROOT / 'profiles' / 'serve-7b-chat.yaml'}?\n")
    (tmp_path / "mine.yml").write_text("name: x\n")  # the user's own file, its suffix left off
    result = CliRunner().invoke(app, ["estimate", "mine"])
    assert result.stderr == "Error: mine: file not found. Did you mean mine.yml?\n"
    result = CliRunner().invoke(app, ["estimate", "no-such-profile"])  # nothing of that name: no guess
    assert (result.exit_code, result.stderr) == (2, "Error: no-such-profile: file not found\n")


@pytest.mark.fresh_estimates  # seed 0 twice: two draws, the same percentiles
def test_seed_seeds_the_simulation_as_the_contract_says():
    """`--seed` (docs/commands.md; the library's plan(seed=)) was no option of estimate: 'No such option: --seed'
    (new-user QA round 17). The default is seed 0, the same percentiles each run; another seed, another draw."""
    chat = str(ROOT / "profiles" / "serve-7b-chat.yaml")

    def simulated(*args: str) -> list[Any]:
        result = gpuplan("estimate", chat, "--simulate", "--top", "3", "--format", "json", *args)
        assert result.exit_code == 0, result.output
        return [p["simulated_latency_ms"] for p in json.loads(result.stdout)["inference"]["plans"]]

    default = simulated()
    assert simulated("--seed", "0") == default and simulated("--seed", "1") != default
    bad = gpuplan("estimate", chat, "--simulate", "--seed", "-1")
    assert bad.exit_code == 2 and "--seed" in bad.stderr and "Traceback" not in bad.output
    unused = gpuplan("estimate", chat, "--seed", "3", "--top", "1")
    assert unused.exit_code == 0 and " ".join(unused.stderr.split()) == (
        "Note: --seed 3 seeds the simulation of --simulate, and --simulate is not given: it changes nothing.")


@pytest.mark.parametrize("prompt, shown", [("1.5", "1.5 prompt"), ("300.5", "300.5 prompt"), ("512", "512 prompt"),
                                           ("2048.5", "2,048.5 prompt")])
def test_what_i_understood_shows_a_mean_prompt_as_planned(prompt, shown):
    # new-user QA round 17: a mean of 1.5 prompt tokens read '2 prompt + 256 output tokens' (count_text rounds to
    # whole numbers) while the plan used 1.5
    result = gpuplan("estimate", str(ROOT / "profiles" / "serve-7b-chat.yaml"), "--top", "1",
                     "--set", f"inference.prompt_tokens={prompt}", env={"COLUMNS": "200"})
    assert result.exit_code == 0 and f"req/s peak, {shown} + 256 output tokens" in result.stdout


@pytest.mark.parametrize("mode", ["selective", "full"])
def test_the_tables_name_the_recomputation_mode(mode):
    # selective and full recomputation both read 'zero1 +recompute' in the tables and 'zero1, recompute' in the
    # chosen line: only the JSON told them apart, yet full fits a larger micro-batch than selective
    args = ("estimate", str(ROOT / "profiles" / "pretrain-1b-72h.yaml"),
            "--set", f"training.parallelism.recompute={mode}", "--format", "markdown")
    text = gpuplan(*args).stdout
    assert "+recompute" not in text and ", recompute," not in text
    compact, short, sentence = {
        "selective": ("+recomp sel.", "+selective recompute", "selective recomputation (attention core only)"),
        "full": ("+recomp full", "+full recompute", "full recomputation")}[mode]
    assert f" {compact}, mb " in text  # the plans table's layout column
    assert f" {short}; micro-batch " in text  # the decision tables' details
    chosen = next(line for line in text.splitlines() if line.startswith("- **chosen**"))
    assert f", {sentence}, micro-batch " in chosen
    table = gpuplan(*args[:-1], "table", env={"COLUMNS": "200"}).stdout
    assert f" {compact}, mb " in table and "+recompute" not in table
    # and the JSON's decision entries, beside the plans' parallelism.recompute (new-user QA round 22: they said true)
    data = json.loads(gpuplan(*args[:-1], "json").stdout)
    decided = data["decisions"]["training"]
    assert {o["recompute_mode"] for o in decided["choices"] + decided["best_per_gpu"]} == {mode}
    assert {p["parallelism"]["recompute"] for p in data["training"]["plans"]} == {mode}
