"""QLoRA's NF4 dequantizations in the training step (planner/plans/training.py dequant_bytes, StepTerms.memory_s):
bitsandbytes' MatMul4Bit dequantizes each 4-bit weight to the compute dtype in forward and again in backward (and in a
recomputed forward), a memory-bound kernel reading NF4 and writing bf16 at the GPU's copy bandwidth, per micro-batch.
New-user QA: QLoRA was planned exactly as fast as LoRA (llama-2-7b on one RTX 4090, 14.2 h either way)."""
from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest

from planner.catalog.load import PricedOffer
from planner.efficiency.origin import Efficiency
from planner.model.workload import workload_for
from planner.plans.training import Layout, TrainingJob, plan_training, step_terms, training_memory
from planner.schema.catalog import Offer
from planner.schema.model import Architecture
from planner.validate.train_fit import _seconds

LLAMA2_7B = dict(name="l7", family="decoder", layers=32, hidden=4096, heads=32, ffn_hidden=11008, vocab=32000,
                 seq_len=1024, activation="swiglu", norm="rmsnorm", tied_embeddings=False)
EFF = Efficiency(0.4, 0.3, "prior", "test")


def _offer(gpu: str = "RTX-4090", gpus: int = 1) -> PricedOffer:
    o = Offer(instance="x", gpu=gpu, gpus_per_instance=gpus, usd_per_hour=1.0, intra_node="pcie", network_gbps=None)
    return PricedOffer("test", o, 3600.0, dt.date(2026, 11, 1))


def _job(method: str, batch: int = 16, recompute: str = "none") -> TrainingJob:
    work = workload_for(Architecture(**LLAMA2_7B))  # type: ignore[arg-type]
    return TrainingJob(work, 150_000.0, float(batch), 1, "bf16", "adamw", method, 16, recompute)


def _copy_bandwidth(gpu) -> float:  # type: ignore[no-untyped-def]
    return gpu.memory_bandwidth_gbs * 1e9 * gpu.bandwidth_ceiling.share


def test_a_qlora_step_is_longer_than_lora_by_its_dequantizations(catalog):
    """Hand-worked: llama-2-7b, bf16, micro-batch 1 × 16 on one RTX 4090 (1,008 GB/s, copy share 0.9145). Each micro-
    batch dequantizes the 6.74 B NF4 base twice (forward and backward's input gradient), each time reading 4.127/8
    bytes and writing 2 per weight: 16 × 2 × 6.74e9 × 2.516 B / 921.8 GB/s ≈ 0.59 s more per step than LoRA, whose
    step is otherwise the same (the same FLOP, one GPU: no communication)."""
    gpu = catalog.gpus["RTX-4090"]
    lora = plan_training(_job("lora"), gpu, _offer(), 1, EFF)
    qlora = plan_training(_job("qlora"), gpu, _offer(), 1, EFF)
    assert (lora.micro_batch, lora.grad_accumulation, lora.recompute_mode) == (1, 16, "none")
    assert (qlora.micro_batch, qlora.grad_accumulation, qlora.recompute_mode) == (1, 16, "none")
    params = _job("qlora").work.params
    assert params == pytest.approx(6.74e9, rel=0.01)
    expected = 16 * 2 * params * (4.127 / 8.0 + 2.0) / (1008e9 * 0.9145)
    assert expected == pytest.approx(0.588, rel=0.01)
    assert qlora.dequant_time_s == pytest.approx(expected, rel=1e-12)
    assert qlora.step_time_s - lora.step_time_s == pytest.approx(expected, rel=1e-9)
    # not communication, and not scaled by the efficiency: the same seconds in every one of the three hours
    assert qlora.exposed_comm_time_s == pytest.approx(0.0, abs=1e-12)
    assert qlora.compute_time_s == pytest.approx(lora.compute_time_s, rel=1e-12)
    steps = 150_000 / 16
    for q, lo in ((qlora.hours_p10, lora.hours_p10), (qlora.hours_p50, lora.hours_p50),
                  (qlora.hours_p90, lora.hours_p90)):
        assert q - lo == pytest.approx(steps * expected / 3600.0, rel=1e-9)


@pytest.mark.parametrize("method", ["lora", "full"])
def test_no_dequantization_without_qlora(catalog, method):
    gpu = catalog.gpus["A100-80GB-SXM"]
    job = _job(method)
    plan = plan_training(job, gpu, _offer("A100-80GB-SXM", 8), 8, EFF)
    assert plan.dequant_time_s == 0.0
    layout = Layout(1, 1, 1, "none", "full", 1, training_memory(job, 1, "full", "none", 1))
    assert step_terms(job, gpu, _offer("A100-80GB-SXM"), 1, layout, 1e14).dequant_s == 0.0


def test_more_micro_batches_and_recomputation_dequantize_more(catalog):
    """Every micro-batch dequantizes the base again: twice the accumulation, twice the seconds; full recomputation
    reruns forward, a third dequantization per micro-batch (selective reruns only the attention core: none)."""
    gpu = catalog.gpus["RTX-4090"]

    def memory_s(batch: int, recompute: str) -> float:
        job = _job("qlora", batch, recompute)
        layout = Layout(1, 1, 1, "none", recompute, 1, training_memory(job, 1, recompute, "none", 1))
        return step_terms(job, gpu, _offer(), 1, layout, 1e14).dequant_s

    base = memory_s(16, "none")
    assert base > 0.0
    assert memory_s(32, "none") == pytest.approx(2.0 * base, rel=1e-12)
    assert memory_s(16, "selective") == pytest.approx(base, rel=1e-12)
    assert memory_s(16, "full") == pytest.approx(1.5 * base, rel=1e-12)
    # and a plan of more micro-batches per step spends more of each step on them
    small = plan_training(_job("qlora", 16), gpu, _offer(), 1, EFF)
    large = plan_training(_job("qlora", 32), gpu, _offer(), 1, EFF)
    assert large.dequant_time_s == pytest.approx(2.0 * small.dequant_time_s, rel=1e-12)


def test_a_gpu_with_more_copy_bandwidth_dequantizes_faster_and_the_fit_reads_the_same_step(catalog):
    """The term is the GPU's copy bandwidth's (H200 4.8 TB/s × 0.835 against H100 3.35 × 0.866), and the curve fit's
    step over an array of efficiencies (train_fit._seconds, what _log_predicted computes) is StepTerms.seconds."""
    job = _job("qlora")
    times = {}
    for name in ("H100-SXM", "H200-SXM"):
        gpu = catalog.gpus[name]
        layout = Layout(1, 1, 1, "none", "none", 1, training_memory(job, 1, "none", "none", 1))
        terms = step_terms(job, gpu, _offer(name), 1, layout, 1e15)
        times[name] = terms.dequant_s
        assert terms.dequant_s == pytest.approx(16 * 2 * job.work.params * (4.127 / 8.0 + 2.0)
                                               / _copy_bandwidth(gpu), rel=1e-12)
        etas = np.array([0.2, 0.5])
        assert list(_seconds(terms, etas)) == [terms.seconds(0.2), terms.seconds(0.5)]
        assert terms.exposed_comm_s(0.5) == pytest.approx(0.0, abs=1e-15)
    assert times["H200-SXM"] < times["H100-SXM"]


def test_the_memo_search_times_qlora_as_the_plain_one(catalog):
    """The layout search written out for speed (training._fastest with a LayoutMemo) adds the dequantizations in
    the same place as StepTerms.seconds: the same plan to the bit, with or without the memo, on several GPUs."""
    from planner.plans.training import LayoutMemo

    job = dataclasses.replace(_job("qlora", 64), micro_batch=None)
    memo = LayoutMemo()
    for name, count in (("A100-80GB-SXM", 8), ("H100-SXM", 4), ("RTX-4090", 1)):
        gpu = catalog.gpus[name]
        plain = plan_training(job, gpu, _offer(name, count), count, EFF)
        fast = plan_training(job, gpu, _offer(name, count), count, EFF, memo=memo)
        assert plain.dequant_time_s > 0.0
        assert (fast.step_time_s, fast.dequant_time_s, fast.hours_p50) == \
            (plain.step_time_s, plain.dequant_time_s, plain.hours_p50)
