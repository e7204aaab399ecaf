"""Materialised attention scores and Transformer-XL memory against figures worked by hand."""
import pytest

from planner.model.forward_time import forward_seconds
from planner.model.workload import workload_for
from planner.schema.model import Architecture

TXL = dict(name="txl-base", family="decoder", layers=16, hidden=512, heads=8, kv_heads=8, ffn_hidden=2048,
           vocab=20000, seq_len=64, activation="gelu", tied_embeddings=True)
MINILM = dict(name="minilm", family="encoder", layers=6, hidden=384, heads=12, kv_heads=12, ffn_hidden=1536,
              vocab=30522, seq_len=384, activation="gelu")


def test_memory_adds_every_query_times_every_cached_token():
    plain = workload_for(Architecture(**TXL))
    memory = workload_for(Architecture(**TXL, memory_len=640))
    # each of the 64 queries also attends 640 cached tokens in each of 16 layers: QKᵀ and AV at 2·d FLOP each;
    # relative positions add q·Rᵀ at 2·d over every (query, key) pair of the 64 × 704 matrix
    pairs = 4 * 512 * 16 * 64 * 640
    relative = 2 * 512 * 16 * 64 * 704
    assert memory.attention_flops_per_sample - plain.attention_flops_per_sample == pytest.approx(pairs + relative)
    # the memory holds hidden states: Q, K and V (3 · 512² weights) are projected over its 640 tokens too
    projection = 2 * 3 * 512**2 * 640 * 16
    assert memory.forward_flops_per_sample - plain.forward_flops_per_sample == pytest.approx(
        pairs + relative + projection)
    assert memory.relative_attention and not plain.relative_attention
    # scores a·s·(s + m) per layer: 8 heads × 64 queries × 704 keys × 16 layers
    assert memory.attention_scores_per_sample == 8 * 64 * 704 * 16
    assert plain.attention_scores_per_sample == 8 * 64 * 64 * 16


def test_eager_forward_moves_its_scores_eight_times():
    work = workload_for(Architecture(**MINILM))
    assert work.attention_scores_per_sample == 6 * 12 * 384**2
    fused = forward_seconds(work, 16, 65e12 * 0.2, 0.0, 320e9, 2.0, "compiled")
    eager = forward_seconds(work, 16, 65e12 * 0.2, 0.0, 320e9, 2.0, "eager")
    # Q·Kᵀ write, scale read+write, mask read+write, softmax read+write, probs·V read: 8 × 2 bytes per score
    assert eager - fused == pytest.approx(16 * 8 * 2 * 6 * 12 * 384**2 / 320e9)
    fp32 = forward_seconds(work, 16, 8.1e12 * 0.5, 0.0, 320e9, 4.0, "eager") - forward_seconds(
        work, 16, 8.1e12 * 0.5, 0.0, 320e9, 4.0, "runtime")
    assert fp32 == pytest.approx(2 * (eager - fused))


def test_relative_attention_moves_its_scores_twelve_times_in_eager_mode():
    work = workload_for(Architecture(**TXL, memory_len=640))
    fused = forward_seconds(work, 32, 65e12 * 0.2, 0.0, 320e9, 2.0, "compiled")
    eager = forward_seconds(work, 32, 65e12 * 0.2, 0.0, 320e9, 2.0, "eager")
    # AC and BD writes, BD's zero-pad shift read+write, AC + BD scaled (read 2, write), mask, softmax, probs·V
    assert eager - fused == pytest.approx(32 * 12 * 2 * 8 * 64 * 704 * 16 / 320e9)
