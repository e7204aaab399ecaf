"""Tile and wave quantisation of a forward pass's GEMMs (planner/model/gemm_shapes.py) against figures worked by hand."""
import re

import pytest

from planner.model.forward_time import forward_seconds, shape_efficiency, shape_note
from planner.model.gemm_shapes import Gemm, gemms_efficiency, tile_for, wave_efficiency
from planner.model.workload import workload_for
from planner.schema.model import Architecture

TXL = dict(name="txl-base", family="decoder", layers=16, hidden=512, heads=8, kv_heads=8, ffn_hidden=2048,
           vocab=20000, seq_len=64, activation="gelu", tied_embeddings=True, memory_len=640)


def test_one_partial_wave_on_an_a100():
    # 2048 × 512 in 128 × 128 tiles: 16 · 4 = 64 tiles, one wave of 108 SMs of which 44 idle
    assert wave_efficiency(2048, 512, 108) == pytest.approx(64 / 108)
    # 2048 × 2048: 256 tiles, 3 waves (324 tile slots)
    assert wave_efficiency(2048, 2048, 108) == pytest.approx(256 / 324)
    # a partial tile at the edge: 130 rows take two 128-row tiles
    assert wave_efficiency(130, 128, 2) == pytest.approx(130 / 256)


def test_a_dimension_below_the_tile_shrinks_it():
    assert tile_for(16, 384) == (16, 128)
    assert tile_for(100, 1000) == (128, 128)
    assert tile_for(3, 64) == (16, 64)
    # MiniLM at batch 1, 16 tokens, on a T4: 3 tiles of 16 × 128 in one wave of 40 SMs
    assert wave_efficiency(16, 384, 40) == pytest.approx(16 * 384 / (40 * 16 * 128))


def test_time_weighted_mean_over_gemms():
    gemms = (Gemm(2048, 512, 512), Gemm(2048, 2048, 512))
    # FLOP 1 : 4, efficiencies 64/108 and 256/324: the time adds up, so the mean is harmonic
    expected = 5 / (1 / (64 / 108) + 4 / (256 / 324))
    assert gemms_efficiency(gemms, 1.0, 108) == pytest.approx(expected)
    assert gemms_efficiency(gemms, 1.0, None) == 1.0


def test_transformer_gemms_are_its_matmul_flops():
    work = workload_for(Architecture(**TXL))
    dense = sum(g.flops(1.0) for g in work.gemms)
    assert dense == pytest.approx(work.forward_flops_per_sample - work.attention_flops_per_sample)
    # Q, K, V over memory + segment (704 rows per sample), the output projection over the segment alone
    assert [g.rows for g in work.gemms[:4]] == [704, 704, 704, 64]


def test_a_gpu_without_sms_gets_factor_one(catalog):
    work = workload_for(Architecture(**TXL))
    assert shape_efficiency(work, 32, None) == 1.0
    plain = forward_seconds(work, 32, 100e12, 0.0, 1e12, 2.0, "compiled")
    assert forward_seconds(work, 32, 100e12, 0.0, 1e12, 2.0, "compiled", None) == plain
    slower = forward_seconds(work, 32, 100e12, 0.0, 1e12, 2.0, "compiled", 108)
    assert plain < slower
    a100 = catalog.gpu("A100-80GB-SXM")
    assert a100.sms == 108 and "108 SMs" in shape_note(a100)
    assert "factor 1" in shape_note(a100.model_copy(update={"sms": None}))


def test_every_sm_count_is_stated_in_its_entry(catalog):
    filled = [g for g in catalog.gpus.values() if g.sms is not None]
    assert len(filled) >= 50
    for gpu in filled:
        text = f"{gpu.source} {gpu.notes or ''}"
        assert re.search(rf"\b(SMs|CUs): {gpu.sms}\b", text), gpu.id


def test_the_shape_efficiency_of_a_batch_is_shape_efficiency_bit_for_bit(catalog):
    """forward_shape_efficiency_of (the serving search's service times: the batch-independent terms once per
    workload and SM count) gives forward_shape_efficiency's floats, on the example models at every catalog SM count
    and on random GEMMs (empty rows or columns, rows below a tile, odd SM counts)."""
    import random

    import planner
    from planner.model.forward_time import shape_efficiency_of
    from planner.model.gemm_shapes import forward_shape_efficiency, forward_shape_efficiency_of

    from .conftest import ROOT

    rng = random.Random(7)
    works = [workload_for(planner.load_profile(ROOT / "profiles" / f"{name}.yaml", catalog).arch)
             for name in ("bert-train-then-serve", "serve-7b-chat", "serve-gpt-oss-120b-chat", "resnet50-imagenet")]
    works.append(workload_for(Architecture(**TXL)))
    counts = sorted({g.sms for g in catalog.gpus.values() if g.sms}) + [None, 1, 7]
    batches = [*range(0, 300), 0.5, 1e-3, 1e6, *(rng.uniform(0, 5000) for _ in range(50))]
    for work in works:
        for sms in counts:
            of = shape_efficiency_of(work, sms)
            assert [of(b) for b in batches] == [shape_efficiency(work, b, sms) for b in batches], (work.name, sms)
    for _ in range(500):
        gemms = [Gemm(rng.choice([0.0, 0.5, 3.0, 128.0, 333.3]), rng.choice([0, 1, 16, 100, 768.0, 30522.0]),
                      rng.uniform(1, 5000), rng.choice([1, 12.0])) for _ in range(rng.randint(1, 5))]
        flops, sms = rng.uniform(0, 1e12), rng.choice([None, 1, 46, 108, 132])
        of = forward_shape_efficiency_of(gemms, flops, sms)
        for b in (0, 1, 2.5, rng.uniform(0, 1000)):
            assert of(b) == forward_shape_efficiency(gemms, flops, b, sms), (gemms, flops, sms, b)
