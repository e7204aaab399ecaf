"""Context parallelism (issue 14): the sequence split over cp GPUs, K/V blocks passed around a ring (Megatron-LM
context_parallel docs; Liu et al. 2023, Ring Attention) — physical invariants worked by hand."""
import datetime as dt

import pytest

from planner.catalog.load import PricedOffer, load_catalog
from planner.efficiency.origin import Efficiency
from planner.model.interconnect import RING_STEP_LATENCY_S
from planner.model.precision import peak_flops
from planner.model.workload import workload_for
from planner.plans.context_parallel import context_degrees, context_problem, kv_block_bytes, ring_seconds
from planner.plans.training import (
    Layout,
    TrainingJob,
    candidate_layouts,
    plan_training,
    step_terms,
    training_memory,
)
from planner.project.load import resolve_architecture
from planner.schema.catalog import Offer
from planner.schema.model import ModelSection
from planner.schema.profile import Parallelism

CATALOG = load_catalog()
H100 = CATALOG.gpus["H100-SXM"]
EFF = Efficiency(0.4, 0.3, "prior", "test")
SEQ = 131072


def llama_8b(seq: int = SEQ):
    return workload_for(resolve_architecture(ModelSection(preset="llama-3.1-8b", seq_len=seq), CATALOG))


WORK = llama_8b()


def job(recompute: str = "auto", pins: Parallelism | None = None, work=WORK) -> TrainingJob:
    # 1B tokens, 32 sequences of 128k per step
    return TrainingJob(work, 1e9 / work.tokens_per_sample, 32, None, "bf16", "adamw", "full", 16, recompute,
                       parallelism=pins)


def offer(network: float | None = 3200.0) -> PricedOffer:
    o = Offer(instance="x", gpu="H100-SXM", gpus_per_instance=8, usd_per_hour=20.0, intra_node="nvlink",
              network_gbps=network)
    return PricedOffer("test", o, 3600.0, dt.date(2026, 11, 1))


def test_kv_entries_per_token_follow_gqa_and_mla():
    # Llama-3.1-8B: 8 KV heads of 128 → K and V are 2·8·128 = 2048 entries per token per layer (GQA: 1/4 of MHA)
    assert WORK.attention_kv_values_per_token_layer == 2 * 8 * 128 and WORK.attention_kv_heads == 8
    # DeepSeek-V3 trains on up-projected keys h·(d_h + d_h^R) = 128·(128 + 64) and values h·d_h = 128·128
    v3 = workload_for(resolve_architecture(ModelSection(preset="deepseek-v3"), CATALOG))
    assert v3.attention_kv_values_per_token_layer == 128 * (128 + 64) + 128 * 128


@pytest.mark.parametrize("cp", [2, 4, 8, 16])
def test_activation_memory_per_gpu_falls_as_one_over_cp(cp):
    for mode in ("none", "selective", "full"):
        one = training_memory(job(), 1, mode, "zero1", 1, 1, 1, 1, 1)
        split = training_memory(job(), 1, mode, "zero1", 1, 1, 1, 1, cp)
        assert split.activations == pytest.approx(one.activations / cp, rel=1e-12)
    # weights and gradients replicate over the context ranks like data-parallel ones; ZeRO-1 shards the optimizer
    # state over data × context = cp ranks: 12 B/param / cp (fp32 master + Adam moments)
    base = training_memory(job(), 0, "none", "none", 1, 1, 1, 1, cp)
    zero1 = training_memory(job(), 0, "none", "zero1", 1, 1, 1, 1, cp)
    assert zero1.weights == base.weights == pytest.approx(2 * WORK.params)
    assert zero1.optimizer == pytest.approx(base.optimizer / cp)


def test_total_flop_unchanged_split_evenly():
    """The same micro-batch on 8 GPUs: data parallel (8 samples, each on one GPU) or context parallel (1 sample over
    8 GPUs): compute GPU-seconds per sample at η = 1 are equal; each CP rank computes 1/8 of a sample."""
    peak = peak_flops(H100, "bf16")
    no_batch = TrainingJob(WORK, 1e6, None, 1, "bf16", "adamw", "full", 16, "full")
    memory = training_memory(no_batch, 1, "full", "zero3", 1, 1, 1, 1, 8)
    data = Layout(8, 1, 1, "zero3", "full", 1, memory)
    context = Layout(1, 1, 1, "zero3", "full", 1, memory, context=8)
    d, c = (step_terms(no_batch, H100, offer(), 8, layout, peak) for layout in (data, context))
    assert d.samples_per_step == 8 and c.samples_per_step == 1
    assert c.compute_s * 8 / c.samples_per_step == pytest.approx(d.compute_s * 8 / d.samples_per_step, rel=1e-12)
    hardware = no_batch.model_flops_per_sample + no_batch.work.forward_flops_per_sample  # full recompute: +1 fwd
    assert c.compute_s == pytest.approx(hardware / 8 / peak, rel=1e-12)


def test_ring_bytes_per_layer():
    # one rank's block: 1 sample · 131072/4 tokens · 2048 entries · 2 bytes = 134,217,728 B
    block = kv_block_bytes(WORK, 1, 2.0, 1, 4)
    assert block == 32768 * 2048 * 2
    # forward: (cp − 1) sends of it per layer = (cp − 1)/cp of the whole sequence's K,V
    whole = SEQ * 2048 * 2
    assert 3 * block == pytest.approx(3 / 4 * whole)
    # tensor parallel 8 splits the 8 KV heads: 1/8 each; tensor 16 cannot split them further (Megatron replicates)
    assert kv_block_bytes(WORK, 1, 2.0, 8, 4) == block / 8
    assert kv_block_bytes(WORK, 1, 2.0, 16, 4) == block / 8
    # inside one node (tp·cp = 4 ≤ 8): NVLink at the catalog's per-GPU figure; 3 passes (forward K,V; backward K,V
    # and dK,dV) × 32 layers × 3 sends, each block/B + α
    nvlink = H100.interconnect.nvlink_gbs
    comm, window = ring_seconds(WORK, 1, 2.0, 1, 1, 4, False, 10.0, H100, offer())
    assert comm == pytest.approx(3 * 32 * 3 * (block / (nvlink * 1e9) + RING_STEP_LATENCY_S["nvlink"]))
    # each send hides behind the attention of one of the cp blocks (backward: 2× forward, for its two sends)
    assert window == pytest.approx(3 * 3 / 4 * 10.0)
    # recomputation reruns the forward ring
    again, _ = ring_seconds(WORK, 1, 2.0, 1, 1, 4, True, 10.0, H100, offer())
    assert again == pytest.approx(comm * 4 / 3)
    # across nodes (tp·cp = 16 > 8): each GPU's share of the node's network, 3200 Gb/s / 8 / 8 GPUs = 50 GB/s
    over, _ = ring_seconds(WORK, 1, 2.0, 1, 1, 16, False, 10.0, H100, offer())
    small = kv_block_bytes(WORK, 1, 2.0, 1, 16)
    assert over == pytest.approx(3 * 32 * 15 * (small / 50e9 + RING_STEP_LATENCY_S["network"]))


def test_ring_hides_behind_attention_only_when_blocks_are_long():
    """At 128k each block's attention outlasts its send; at 4k over a slow network it does not, and the step pays
    the difference."""
    peak = peak_flops(H100, "bf16")
    for seq, network, hidden in ((SEQ, 3200.0, True), (4096, 100.0, False)):
        work = llama_8b(seq)
        j = TrainingJob(work, 1e6, None, 1, "bf16", "adamw", "full", 16, "none")
        layout = Layout(1, 1, 1, "zero1", "none", 1, training_memory(j, 1, "none", "zero1", 1, 1, 1, 1, 16),
                        context=16)
        terms = step_terms(j, H100, offer(network), 16, layout, peak)
        exposed = max(0.0, terms.ring_comm_s - terms.ring_window_s / 0.4)
        assert terms.ring_comm_s > 0 and (exposed == 0.0) == hidden
        assert terms.seconds(0.4) == pytest.approx(terms.compute_s / 0.4 + terms.fixed_comm_s + exposed + terms.memory_s
                                                   + terms.repeats * max(0.0, terms.overlap_comm_s
                                                                         - terms.window_s / 0.4))


def test_degrees_and_pin_problems():
    # powers of two dividing the GPUs left that split 131072 tokens into 2·cp chunks
    assert context_degrees(WORK, 16, 1, 1) == [2, 4, 8, 16]
    assert context_degrees(WORK, 16, 8, 1) == [2]
    assert context_problem(WORK, 3) is not None and "6 equal chunks" in context_problem(WORK, 3)
    resnet = workload_for(resolve_architecture(ModelSection(preset="resnet50"), CATALOG))
    assert context_degrees(resnet, 16, 1, 1) == [] and "cnn" in context_problem(resnet, 2)


def test_128k_llama_8b_fits_only_with_context_parallelism():
    """Llama-3.1-8B at 128k without recomputation: one sample's activations are 891 GB (32 layers · 131072 tokens ·
    (18·4096 + 2·4·14336) B + 6·V logits bytes per token); tensor 8 leaves 111 GB per GPU, more than an H100 holds —
    only splitting the sequence fits it, on 16 GPUs (tensor × context ≥ 12)."""
    assert WORK.activation_bytes_per_sample_16bit == pytest.approx(
        SEQ * (32 * (18 * 4096 + 2 * 4 * 14336) + 6 * 128256), rel=1e-9)
    for count in (16, 32):
        without = plan_training(job("none", Parallelism(context=1)), H100, offer(), count, EFF)
        assert not without.fits and "context 1" in without.reasons[0]
        plan = plan_training(job("none"), H100, offer(), count, EFF)
        assert plan.fits and plan.context > 1 and plan.tensor * plan.context >= 12
        assert plan.data * plan.tensor * plan.pipeline * plan.context == count
    # pinned: context 16 over two nodes
    pinned = plan_training(job("none", Parallelism(context=16)), H100, offer(), 16, EFF)
    assert pinned.fits and pinned.context == 16 and pinned.pinned == ("context", "recompute")
    # short sequences never try it
    short = job(work=llama_8b(8192))
    assert all(layout.context == 1 for layout in candidate_layouts(short, H100, offer(), 16))


def test_a_long_context_profile_plans_with_context_parallelism(tmp_path):
    import json

    from typer.testing import CliRunner

    from planner.cli.main import app

    profile = tmp_path / "long.yaml"
    profile.write_text("name: long\nmodel: {preset: llama-3.1-8b, seq_len: 131072}\n"
                       "training: {dataset: {tokens: 1B}, batch: {global_tokens: 4M}, recompute: none}\n"
                       "constraints: {gpus: [H100-SXM], max_gpus: 32}\n")
    result = CliRunner().invoke(app, ["estimate", str(profile), "--format", "json", "--top", "3"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)["training"]["plans"][0]
    assert plan["parallelism"]["context"] > 1 and plan["fits"]
    table = CliRunner().invoke(app, ["estimate", str(profile), "--top", "3", "--wide"])
    assert f"cp{plan['parallelism']['context']}" in table.output and "× context" in table.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(profile.read_text().replace("recompute: none}", "recompute: none, parallelism: {context: 3}}"))
    result = CliRunner().invoke(app, ["estimate", str(bad), "--format", "json"])
    # a degree the sequence cannot split is ruled out by the model alone: bad input at the pin, not a row of
    # unworkable plans (new-user QA)
    assert result.exit_code == 2 and result.stdout == ""
    assert "training.parallelism.context: context 3: the sequence of 131072 tokens does not split into 6 equal " \
           "chunks" in result.stderr


def test_experts_with_context_parallelism():
    """EP with CP (Megatron-Core combines them): each context rank dispatches only its s/cp tokens, so the
    all-to-all of a micro-batch halves with cp 2 (latency aside), and the group spans tp·cp·ep GPUs: over the
    network to the members outside the 8-GPU instance. A pinned {context: 2, expert: 2} plans Mixtral at 128k."""
    from planner.model.interconnect import all_to_all_seconds
    from planner.plans.expert_parallel import all_to_all_step_seconds

    mixtral = workload_for(resolve_architecture(ModelSection(preset="mixtral-8x7b", seq_len=SEQ), CATALOG))
    nvlink = H100.interconnect.nvlink_gbs
    # 4 all-to-alls per MoE layer × 32 layers; tokens · top-2 · 4096 · 2 bytes, per context rank
    size = SEQ * 2 * 4096 * 2.0
    for cp in (1, 2):
        got = all_to_all_step_seconds(mixtral, 1, 2.0, 1, 1, 4, False, H100, offer(), cp)
        assert got == pytest.approx(4 * 32 * all_to_all_seconds(size / cp, 4, nvlink, "nvlink"))
    # cp 4 · ep 4 spans 16 GPUs: the EP ranks sit 4 apart, 2 per instance, so each GPU sends 1/4 of its tokens to
    # its NVLink peer and 2/4 over its 400 Gb/s share of the network, the slower path setting the pace
    across = all_to_all_step_seconds(mixtral, 1, 2.0, 1, 1, 4, False, H100, offer(), 4)
    far = 2 / 4 * (size / 4) / (3200 / 8 / 8 * 1e9) + 2 * RING_STEP_LATENCY_S["network"]
    assert across == pytest.approx(4 * 32 * far)
    pins = Parallelism(context=2, expert=2)
    plan = plan_training(TrainingJob(mixtral, 1e9 / SEQ, 32, None, "bf16", "adamw", "full", 16, "auto",
                                     parallelism=pins), H100, offer(), 16, EFF)
    assert plan.fits and (plan.context, plan.expert) == (2, 2) and plan.data % 2 == 0
