"""Workload formulas against values worked out by hand (docs/internals.md, 'Formulas')."""
import pytest

from planner.model.workload import (
    decode_flops,
    kv_bytes_per_token,
    lora_params,
    prefill_flops,
    resnet_layers,
    transformer_params,
    workload_for,
)
from planner.plans.training import TrainingJob, training_memory
from planner.schema.model import Architecture

GPT2 = dict(name="gpt2", family="decoder", layers=12, hidden=768, heads=12, ffn_hidden=3072, vocab=50257,
            seq_len=1024, activation="gelu", norm="layernorm", position="learned", tied_embeddings=True)
LLAMA2_7B = dict(name="l7", family="decoder", layers=32, hidden=4096, heads=32, kv_heads=32, ffn_hidden=11008,
                 vocab=32000, seq_len=4096, activation="swiglu", norm="rmsnorm", position="rotary",
                 tied_embeddings=False)
RESNET50 = dict(name="rn50", family="cnn", image_size=224, blocks=[3, 4, 6, 3], width=64, num_classes=1000)


def test_gpt2_small_forward_flops_per_token():
    work = workload_for(Architecture(**GPT2))
    # per layer: 4·768² (Q,K,V,O) + 2·768·3072 (FFN) = 7,077,888; ×12 = 84,934,656; head 50257·768 = 38,597,376
    matmul = 84_934_656 + 38_597_376
    # 2 FLOP per weight per token + attention 4·L·s·d = 4·12·1024·768 = 37,748,736
    per_token = 2 * matmul + 37_748_736
    assert work.trainable_matmul_params == matmul
    assert work.forward_flops_per_sample == pytest.approx(per_token * 1024, rel=1e-12)
    # training = 3 × forward, i.e. 6N + 12·L·d·s per token
    assert work.train_flops_per_sample / 1024 == pytest.approx(6 * matmul + 12 * 12 * 768 * 1024, rel=1e-12)


def test_gpt2_small_parameters():
    # layers 84,934,656 + layernorm 12·4·768 + tied embedding 38,597,376 + learned positions 1024·768
    assert transformer_params(Architecture(**GPT2)) == 84_934_656 + 36_864 + 38_597_376 + 786_432


def test_llama2_7b_parameters_match_the_published_count():
    # published: 6,738,415,616 (HF meta-llama/Llama-2-7b-hf); the formula leaves out nothing but the final norm
    assert transformer_params(Architecture(**LLAMA2_7B)) == pytest.approx(6_738_415_616, abs=4096 + 1)


def test_kv_cache_per_token_is_gqa_aware():
    full = workload_for(Architecture(**LLAMA2_7B))
    gqa = workload_for(Architecture(**{**LLAMA2_7B, "kv_heads": 8}))
    # 2 (K and V) · 32 layers · 32 heads · 128 head dim · 2 bytes = 524,288 bytes = 0.5 MiB
    assert kv_bytes_per_token(full, "bf16") == 524_288
    assert kv_bytes_per_token(gqa, "bf16") == 524_288 / 4
    assert kv_bytes_per_token(gqa, "fp8") == 524_288 / 8


def test_prefill_and_decode_flops():
    work = workload_for(Architecture(**LLAMA2_7B))
    n = work.trainable_matmul_params
    # prefill of 512 tokens: 2·N·512 + 2·L·512²·d
    assert prefill_flops(work, 512) == pytest.approx(2 * n * 512 + 2 * 32 * 512**2 * 4096)
    # one decode step at context 1000: 2·N + 4·L·1000·d
    assert decode_flops(work, 1000) == pytest.approx(2 * n + 4 * 32 * 1000 * 4096)


def test_resnet50_matches_torchvision():
    work = workload_for(Architecture(**RESNET50))
    # torchvision ResNet50_Weights.IMAGENET1K_V2: 25,557,032 parameters, 4.09 GMACs (= 8.18 GFLOP forward)
    assert work.params == 25_557_032
    assert work.forward_flops_per_sample == pytest.approx(2 * 4.09e9, rel=0.002)
    assert len(resnet_layers(Architecture(**RESNET50))) == 1 + 16 * 3 + 4 + 1  # stem, 16 blocks, 4 downsamples, fc


def test_mixed_precision_adam_is_16_bytes_per_parameter_and_zero_shards_it():
    work = workload_for(Architecture(**LLAMA2_7B))
    job = TrainingJob(work, 1e6, None, None, "bf16", "adamw", "full", 16, "auto")
    plain = training_memory(job, 0, False, "none", 1)
    assert plain.total == pytest.approx(16 * work.params)
    # ZeRO-1 shards the 12 bytes of fp32 state, ZeRO-2 also the 2-byte gradients, ZeRO-3 also the weights
    assert training_memory(job, 0, False, "zero1", 8).total == pytest.approx((2 + 2 + 12 / 8) * work.params)
    assert training_memory(job, 0, False, "zero2", 8).total == pytest.approx((2 + 2 / 8 + 12 / 8) * work.params)
    assert training_memory(job, 0, False, "zero3", 8).total == pytest.approx(16 / 8 * work.params)


def test_activation_memory_korthikanti_for_gpt_shapes():
    # f = 4d, gelu: 34·s·b·d bytes per layer (Korthikanti et al. 2022, no recomputation, flash attention)
    arch = Architecture(**{**GPT2, "vocab": 1})
    work = workload_for(arch)
    logits = 6 * 1  # 16-bit logits + fp32 copy, per token, V = 1
    assert work.activation_bytes_per_sample_16bit == pytest.approx(1024 * (12 * 34 * 768 + logits))


def test_lora_and_qlora_memory():
    work = workload_for(Architecture(**LLAMA2_7B))
    # adapters on Q,K,V,O (d×d each: 2d sides) and gate, up, down (d + f sides each), rank 16
    per_layer = 4 * (4096 + 4096) + 3 * (4096 + 11008)
    assert lora_params(work, 16) == 32 * 16 * per_layer
    lora = TrainingJob(work, 1e6, None, None, "bf16", "adamw", "lora", 16, "auto")
    qlora = TrainingJob(work, 1e6, None, None, "bf16", "adamw", "qlora", 16, "auto")
    adapters = lora_params(work, 16)
    assert training_memory(lora, 0, False, "none", 1).total == pytest.approx(2 * work.params + 16 * adapters)
    assert training_memory(qlora, 0, False, "none", 1).total == pytest.approx(
        4.127 / 8 * work.params + 16 * adapters)
