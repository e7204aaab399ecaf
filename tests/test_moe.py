"""Mixture of experts, MLA and sliding windows against counts worked by hand from the published configs."""
import pytest

from planner.catalog.load import load_catalog
from planner.io.profile import model_warnings, resolve_architecture
from planner.model.workload import (
    decode_flops,
    experts_touched_fraction,
    kv_bytes_per_token,
    kv_cache_bytes,
    prefill_flops,
    weights_read_bytes,
    workload_for,
)
from planner.schema.model import Architecture, ModelSection

CATALOG = load_catalog()


def preset(name: str):
    return workload_for(resolve_architecture(ModelSection(preset=name), CATALOG))


def test_mixtral_8x7b_total_and_active():
    # config.json: hidden 4096, 32 layers, 32 heads, 8 KV heads (head 128), intermediate 14336 per expert, 8 experts,
    # top-2, vocab 32000, untied.
    attention = 2 * 4096 * 4096 + 2 * 4096 * 1024          # Q, O + K, V           = 41,943,040
    expert = 3 * 4096 * 14336                               # gate, up, down        = 176,160,768
    router, norms = 4096 * 8, 2 * 4096
    # (the final norm, 4096, is left out as in every preset count)
    total = 32 * (attention + 8 * expert + router + norms) + 2 * 32000 * 4096
    active = 32 * (attention + 2 * expert + router + norms) + 32000 * 4096  # input embedding left out
    work = preset("mixtral-8x7b")
    assert work.params == pytest.approx(total, rel=1e-9)
    assert work.active_params == pytest.approx(active, rel=1e-9)
    assert work.params == pytest.approx(46.7e9, rel=0.02)       # Mixtral paper: 47B (HF: 46.7B)
    assert work.active_params == pytest.approx(12.9e9, rel=0.03)  # Mixtral paper §2.1: 13B (12.9B)


def test_deepseek_v3_total_active_and_mla_cache():
    # config.json: hidden 7168, 61 layers (first 3 dense of 18432), 128 heads, q_lora 1536, kv_lora 512,
    # qk_nope 128, qk_rope 64, v 128; 256 routed + 1 shared experts of 2048, top-8; vocab 129280, untied.
    d = 7168
    attention = d * 1536 + 1536 * 128 * 192 + d * (512 + 64) + 512 * 128 * 256 + 128 * 128 * d  # 187,105,280
    expert = 3 * d * 2048
    moe_layer = attention + 257 * expert + 256 * d
    dense_layer = attention + 3 * d * 18432
    total = 3 * dense_layer + 58 * moe_layer + 2 * 129280 * d
    work = preset("deepseek-v3")
    assert work.params == pytest.approx(total, rel=1e-5)   # norms (≈ 1.0M) aside
    assert work.params == pytest.approx(671e9, rel=0.02)
    assert work.active_params == pytest.approx(37e9, rel=0.05)  # report: 37B activated
    # MLA cache: 61 layers × (512 latent + 64 rotary key) × 2 bytes = 70,272 bytes ≈ 70 KB per token
    assert kv_bytes_per_token(work, "bf16") == pytest.approx(61 * (512 + 64) * 2, rel=1e-12)
    assert kv_bytes_per_token(work, "bf16") == pytest.approx(70e3, rel=0.05)


def test_gpt_oss_120b_total_active_and_windows():
    # config.json: hidden 2880, 36 layers, 64 heads of 64, 8 KV heads, 128 experts of 2880, top-4, vocab 201088,
    # untied; sliding window 128 on every other layer. Model card: 116.83B total, 5.13B active.
    work = preset("gpt-oss-120b")
    assert work.params == pytest.approx(117e9, rel=0.02)
    assert work.active_params == pytest.approx(5.1e9, rel=0.05)
    # KV cache: 18 global layers keep every token, 18 windowed at most 128: 2·8·64·2 bytes = 2048 per layer-token
    assert kv_cache_bytes(work, 100_000, "bf16") == pytest.approx(2048 * (18 * 100_000 + 18 * 128), rel=1e-12)
    assert kv_cache_bytes(work, 100, "bf16") == pytest.approx(2048 * 36 * 100, rel=1e-12)


def test_kv_cache_does_not_depend_on_experts():
    dense = dict(name="m", family="decoder", layers=32, hidden=4096, heads=32, kv_heads=8, ffn_hidden=14336,
                 vocab=32000, seq_len=4096, activation="swiglu")
    a = workload_for(Architecture(**dense))
    b = workload_for(Architecture(**dense, experts=8, experts_per_token=2))
    assert kv_bytes_per_token(a, "bf16") == kv_bytes_per_token(b, "bf16")
    assert b.params > 7 * a.params / 2 and b.active_params < 2 * a.params


def test_decode_reads_the_experts_the_batch_touches():
    work = preset("mixtral-8x7b")
    # one token touches 2 of 8 experts; 1 − (1 − 2/8)^b of them for a batch of b
    assert experts_touched_fraction(work, 1) == pytest.approx(0.25)
    assert experts_touched_fraction(work, 4) == pytest.approx(1 - 0.75**4)
    one = weights_read_bytes(work, "bf16", 1)
    dense_part = (work.params - work.routed_expert_params) * 2
    assert one == pytest.approx(dense_part + 0.25 * work.routed_expert_params * 2)
    assert weights_read_bytes(work, "bf16", 256) == pytest.approx(work.params * 2, rel=1e-9)


def test_mla_decode_attends_over_the_latent():
    work = preset("deepseek-v3")
    # absorbed MLA per cached token per layer: 2·128·(512 + 64) + 2·128·512 FLOP
    per = 2 * 128 * 576 + 2 * 128 * 512
    assert decode_flops(work, 1000) - decode_flops(work, 0) == pytest.approx(61 * 1000 * per)


def test_window_caps_prefill_attention():
    base = dict(name="m", family="decoder", layers=32, hidden=4096, heads=32, kv_heads=8, ffn_hidden=14336,
                vocab=32000, seq_len=8192, activation="swiglu")
    full = workload_for(Architecture(**base))
    windowed = workload_for(Architecture(**base, sliding_window=4096))
    # under the window nothing changes; at 8192 tokens each layer has 4096²/2 + 4096·4096 pairs, not 8192²/2
    assert prefill_flops(windowed, 2048) == prefill_flops(full, 2048)
    attention_full = prefill_flops(full, 8192) - 2 * full.trainable_matmul_params * 8192
    attention_win = prefill_flops(windowed, 8192) - 2 * windowed.trainable_matmul_params * 8192
    assert attention_win / attention_full == pytest.approx((4096**2 / 2 + 4096 * 4096) / (8192**2 / 2))


def test_shape_derived_from_a_parameter_count():
    arch = resolve_architecture(ModelSection(family="decoder", params=7e9, seq_len=8192), CATALOG)
    # d/L = 128 → 32 layers of 4096 (LLaMA 7B's shape); FFN fitted to the count
    assert (arch.layers, arch.hidden, arch.heads) == (32, 4096, 32)
    work = workload_for(arch)
    assert work.params == 7e9
    assert "derived" in work.shape_note and any("derived" in w for w in model_warnings(arch))
    assert abs(arch.ffn - 11008) <= 1024


def test_params_contradicting_the_architecture_warn_and_the_architecture_wins():
    arch = resolve_architecture(ModelSection(preset="mistral-7b", params=46.7e9), CATALOG)
    warnings = model_warnings(arch)
    assert len(warnings) == 1 and "46.7B" in warnings[0] and "7.242B is used" in warnings[0]
    assert "experts" in warnings[0]
    assert workload_for(arch).params == pytest.approx(7.24e9, rel=0.01)


@pytest.mark.parametrize("name", [m.id for m in CATALOG.presets.values()])
def test_every_preset_count_agrees_with_its_architecture(name):
    arch = resolve_architecture(ModelSection(preset=name), CATALOG)
    assert model_warnings(arch) == ()


# ------------------------------------------------------------------------ every preset plans, as a new user runs it

ISSUE_14_PRESETS = [
    "llama-3.1-8b", "llama-3.1-70b", "llama-3.1-405b", "llama-3.2-1b", "llama-3.2-3b", "llama-4-scout",
    "llama-4-maverick", "mixtral-8x7b", "mixtral-8x22b", "deepseek-v3", "deepseek-r1", "deepseek-v2-lite",
    "qwen2.5-7b", "qwen2.5-32b", "qwen2.5-72b", "qwen3-8b", "qwen3-32b", "qwen3-30b-a3b", "qwen3-235b-a22b",
    "gpt-oss-20b", "gpt-oss-120b", "gemma-3-12b", "gemma-3-27b", "phi-4", "mistral-small-24b",
]


@pytest.mark.parametrize("name", ISSUE_14_PRESETS)
def test_every_preset_plans_training_and_serving(name, tmp_path):
    import json

    from typer.testing import CliRunner

    from planner.cli.main import app

    # DeepSeek-V3/R1 ship FP8 weights (671 GB): in bf16 (1342 GB) they exceed one 8-GPU instance, and serving
    # plans stay inside one instance
    precision = "fp8" if name.startswith("deepseek-v3") or name == "deepseek-r1" else "bf16"
    profile = tmp_path / "p.yaml"
    profile.write_text(f"name: {name}\nmodel: {{preset: {name}}}\n"
                       "training: {dataset: {samples: 1000, tokens_per_sample: 2048}, method: lora}\n"
                       "inference: {rate: 2/s, prompt_tokens: 1000, output_tokens: 200, "
                       f"precision: {precision}}}\n"
                       "constraints: {gpus: [H100-SXM, H200-SXM, A100-80GB-SXM], max_gpus: 512}\n")
    result = CliRunner().invoke(app, ["estimate", str(profile), "--format", "json", "--top", "3"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    for section in ("training", "inference"):
        work = out[section]["workload"]
        assert work["params"] >= work["active_params"] > 0
        # recommended: the decision's first choice (serving: the cheapest plan holding the targets with headroom)
        index = out[section]["recommended"]
        assert isinstance(index, int) and not out[section]["plans"][index]["reasons"]
    plan = out["training"]["plans"][0]
    assert plan["parallelism"]["expert"] >= 1
    moe = CATALOG.presets[name].experts is not None
    assert ("experts" in out["inference"]["workload"]) == moe


def test_moe_validation_group():
    """`gpuplan validate` reports mixtures of experts as the `moe` group (issue 14), besides their own group: the
    published H100 MoE rows of the Megatron-Bridge performance summaries (issue 13 item 4), among them Qwen3-30B-A3B
    pre-training on 16 H100 in FP8 with EP 16 (8,960 tokens/s/GPU)."""
    from planner.catalog.load import BUNDLED_CATALOG
    from planner.validate.runs import summaries, validate

    rows = validate(BUNDLED_CATALOG, only="moe")
    ids = [r.id for r in rows]
    assert "mbridge260401-qwen3-30b-a3b-h100x16-fp8" in ids and len(ids) >= 7 and all(r.moe for r in rows)
    summary = summaries(rows)
    assert summary["moe"].n == len(rows) and "llm-pretraining" in summary
    qwen = next(r for r in rows if r.id == "mbridge260401-qwen3-30b-a3b-h100x16-fp8")
    assert abs(qwen.error) < 0.5  # the catalog's hopper curve at the planner's own layout (EP from its search)


def test_expert_parallelism_can_be_pinned(tmp_path):
    import json

    from typer.testing import CliRunner

    from planner.cli.main import app

    profile = tmp_path / "e.yaml"
    profile.write_text("name: e\nmodel: {preset: mixtral-8x7b, seq_len: 4096}\n"
                       "training: {dataset: {tokens: 1B}, batch: {global_tokens: 4M}, parallelism: {expert: 8}}\n"
                       "constraints: {gpus: [H100-SXM]}\n")
    result = CliRunner().invoke(app, ["estimate", str(profile), "--format", "json"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)["training"]["plans"][0]
    assert plan["parallelism"]["expert"] == 8 and "expert" in plan["parallelism"]["pinned"]
    assert plan["parallelism"]["data"] % 8 == 0


# ------------------------------------------------------------------- expert parallelism with pipeline parallelism

def _h100_offer(network_gbps: float = 3200.0):
    import datetime as dt

    from planner.catalog.load import PricedOffer
    from planner.schema.catalog import Offer

    o = Offer(instance="x", gpu="H100-SXM", gpus_per_instance=8, usd_per_hour=20.0, intra_node="nvlink",
              network_gbps=network_gbps)
    return PricedOffer("test", o, 3600.0, dt.date(2026, 11, 1))


def test_the_search_combines_expert_and_pipeline_parallelism():
    """Llama-4-Maverick (400B total, 128 experts) on 512 H100: the automatic search now tries EP × PP (Megatron-Core
    combines them; DeepSeek-V3 trained at PP 16 × EP 64) and the fastest layout uses both: experts spread over the
    data-parallel ranks cut the weights per GPU enough for fewer pipeline stages (a smaller bubble) than the dense
    layout needs, faster than any layout with only one of them."""
    from planner.efficiency.origin import Efficiency
    from planner.model.precision import peak_flops
    from planner.plans.training import TrainingJob, candidate_layouts, plan_training, step_terms, training_memory

    work = preset("llama-4-maverick")
    job = TrainingJob(work, 1e12 / work.tokens_per_sample, 4e6 / work.tokens_per_sample, None, "bf16", "adamw",
                      "full", 16, "auto", framework="megatron")
    gpu, offer = CATALOG.gpus["H100-SXM"], _h100_offer()
    layouts = candidate_layouts(job, gpu, offer, 512)
    both = [layout for layout in layouts if layout.expert > 1 and layout.pipeline > 1]
    assert both
    for layout in both:  # the memory each was fitted at is the model's, and fits
        assert layout.memory == training_memory(job, layout.micro_batch, layout.recompute, layout.sharding,
                                                layout.data, layout.tensor, layout.pipeline, layout.expert)
        assert layout.data % layout.expert == 0 and layout.gpus == 512
    peak = peak_flops(gpu, "bf16")

    def seconds(layout):
        return step_terms(job, gpu, offer, 512, layout, peak).seconds(0.4)

    assert min(map(seconds, both)) < min(seconds(layout) for layout in layouts if layout not in both)
    plan = plan_training(job, gpu, offer, 512, Efficiency(0.4, 0.3, "prior", "test"))
    assert plan.fits and plan.expert > 1 and plan.pipeline > 1


def test_pinning_other_degrees_still_searches_experts():
    """A pinned pipeline (or tensor, data, context) degree no longer rules expert parallelism out: the unpinned EP
    degree is searched like the other unpinned ones."""
    from planner.plans.training import TrainingJob, candidate_layouts
    from planner.schema.profile import Parallelism

    work = preset("mixtral-8x7b")
    job = TrainingJob(work, 1e9 / work.tokens_per_sample, 4e6 / work.tokens_per_sample, None, "bf16", "adamw",
                      "full", 16, "auto", parallelism=Parallelism(pipeline=2))
    layouts = candidate_layouts(job, CATALOG.gpus["H100-SXM"], _h100_offer(), 16)
    assert all(layout.pipeline == 2 for layout in layouts)
    assert {layout.expert for layout in layouts} >= {1, 2, 4, 8}
