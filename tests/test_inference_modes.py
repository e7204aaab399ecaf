"""The inference engine as an input (issue 13 items 1 and 3): each engine maps to an execution mode with its own host
floor per operator, fitted on the rows whose source states an engine of that mode; a mode without rows keeps its
documented default and says so; non-generative serving plans with the floor of the engine the profile names."""
from __future__ import annotations

import pytest

from planner.catalog.load import BUNDLED_CATALOG
from planner.efficiency.infer_fit import FP32_KEY, NOT_FITTED, fit_launch_floor, floor_for, inference_row
from planner.model.forward_time import (
    DEFAULT_HOST_FLOOR_US,
    ENGINE_MODE,
    EXECUTION_MODES,
    HOST_FLOOR_RANGE_US,
    execution_mode,
    kernels_per_forward,
)
from planner.model.workload import workload_for
from planner.plans.serving import forward_efficiency
from planner.schema.profile import Inference
from planner.schema.runs import PublishedRun
from planner.validate.train_fit import load_published_runs

SERVING_ENGINES = Inference.model_fields["engine"].annotation.__args__[0].__args__  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def runs(catalog) -> list[PublishedRun]:
    return list(load_published_runs(BUNDLED_CATALOG, catalog))


def test_every_engine_a_profile_accepts_has_a_mode():
    assert set(SERVING_ENGINES) <= set(ENGINE_MODE)
    assert set(ENGINE_MODE.values()) == set(EXECUTION_MODES)


def test_defaults_follow_the_issue():
    assert execution_mode(None, generative=True) == ENGINE_MODE["vllm"] == "compiled"
    assert execution_mode(None, generative=False) == ENGINE_MODE["torch-eager"] == "eager"


def test_documented_defaults_lie_in_their_ranges_and_modes_that_fuse_pay_less():
    for mode in EXECUTION_MODES:
        low, high = HOST_FLOOR_RANGE_US[mode]
        assert low < DEFAULT_HOST_FLOOR_US[mode] < high
    order = [DEFAULT_HOST_FLOOR_US[m] for m in ("eager", "runtime", "engine", "compiled")]
    assert order == sorted(order, reverse=True)


def test_catalog_floors_one_per_mode_fitted_within_range(catalog):
    floors = catalog.launch_floors
    assert [f.mode for f in floors] == list(EXECUTION_MODES)
    for floor in floors:
        low, high = floor.plausible_us
        assert low <= floor.microseconds <= high
        assert all(0 < v <= 1 for v in floor.efficiency.values())
        if floor.n == 0:
            assert floor.microseconds == DEFAULT_HOST_FLOOR_US[floor.mode] and floor.factor == 1.0
    eager = floor_for(floors, "eager")
    assert eager is not None and eager.n >= 20 and FP32_KEY in eager.efficiency


def test_each_row_is_fitted_in_the_mode_of_its_stated_engine(runs, catalog):
    fitted = {run_id for f in catalog.launch_floors for run_id in f.runs}
    for run in runs:
        row = inference_row(run, catalog)
        if row is None or run.group in NOT_FITTED:
            continue
        assert run.id in fitted
        floor = floor_for(catalog.launch_floors, execution_mode(run.engine, False))
        assert floor is not None and run.id in floor.runs


def test_approximated_transformer_xl_rows_are_never_fitted(catalog, runs):
    txl = [r.id for r in runs if r.group == "transformer-xl-inference"]
    assert txl and not {i for f in catalog.launch_floors for i in f.runs} & set(txl)


def test_a_mode_without_rows_falls_back_to_its_documented_default(runs, catalog):
    eager_only = [r for r in runs if execution_mode(r.engine, False) == "eager" or r.phase != "infer"]
    floors = fit_launch_floor(eager_only, catalog)
    engine = floor_for(floors, "engine")
    assert engine is not None and engine.n == 0 and engine.microseconds == DEFAULT_HOST_FLOOR_US["engine"]
    no_rows = fit_launch_floor([r for r in runs if r.phase != "infer"], catalog)
    assert all(f.n == 0 and f.microseconds == DEFAULT_HOST_FLOOR_US[f.mode] for f in no_rows)


def test_serving_names_the_engine_and_takes_its_floor(catalog):
    gpu = catalog.gpus["T4"]
    default = forward_efficiency(catalog, gpu, "encoder", None, "fp16")
    eager = forward_efficiency(catalog, gpu, "encoder", "hf-transformers", "fp16")
    engine = forward_efficiency(catalog, gpu, "encoder", "tensorrt-llm", "fp16")
    assert "torch-eager (the default; set inference.engine to plan another)" in default.compute.detail
    assert default.host_floor_s == eager.host_floor_s == floor_for(catalog.launch_floors, "eager").microseconds * 1e-6
    assert engine.host_floor_s < eager.host_floor_s
    assert "tensorrt-llm" in engine.compute.detail and "no published engine-mode rows" in engine.compute.detail


def test_fp32_serving_uses_the_shared_fp32_fraction(catalog):
    gpu = catalog.gpus["T4"]
    fp32 = forward_efficiency(catalog, gpu, "encoder", None, "fp32")
    assert fp32.compute.value == floor_for(catalog.launch_floors, "eager").efficiency[FP32_KEY]


def test_the_host_floor_sets_batch_one_whatever_the_gpu(catalog, runs):
    """At batch 1 a forward pass costs operators × floor on every GPU (a T4 matches a V100): the fitted eager floor
    predicts the same rate for a one-sample ResNet-50 on both."""
    floor = floor_for(catalog.launch_floors, "eager")
    from planner.efficiency.infer_fit import predict_inference_row

    one = next(r for r in runs if r.id == "DLE-011")
    rates = []
    for gpu in ("T4", "V100-16GB-SXM2"):
        row = inference_row(one.model_copy(update={"gpu": gpu}), catalog)
        assert row is not None
        rates.append(predict_inference_row(row, floor)[0])
    assert rates[0] == pytest.approx(rates[1])
    row = inference_row(one, catalog)
    assert row is not None
    assert rates[0] == pytest.approx(1.0 / (kernels_per_forward(row.work) * floor.microseconds * 1e-6))


def test_relative_attention_layers_launch_their_counted_operators(runs, catalog):
    """An eager Transformer-XL layer issues 21 operators (forward_time.RELATIVE_KERNELS_PER_LAYER: DLE's relative
    attention counted by the rules of a standard layer's 16), so DLE's 16-layer model pays 336 at batch 1 where a
    decoder of the same shape without a memory pays 256; the prediction is that host floor."""
    from planner.efficiency.infer_fit import predict_inference_row
    from planner.project.load import resolve_architecture

    floor = floor_for(catalog.launch_floors, "eager")
    run = next(r for r in runs if r.id == "DLE-052")  # V100, batch 1, fp16, 64 tokens + a 640-token memory
    row = inference_row(run, catalog)
    assert row is not None and row.work.relative_attention and row.work.layers == 16
    assert kernels_per_forward(row.work) == 21 * 16
    plain = workload_for(resolve_architecture(run.model.model_copy(update={"memory_len": None}), catalog, run.id,
                                              seq_len=run.seq_len))
    assert not plain.relative_attention and kernels_per_forward(plain) == 16 * 16
    assert predict_inference_row(row, floor)[0] == pytest.approx(
        run.seq_len / (21 * 16 * floor.microseconds * 1e-6))


def test_estimate_and_validate_time_a_forward_pass_alike(runs, catalog):
    """A published batched row: validate's prediction (planner/validate/forward.py) equals the serving plan's service
    time for the same batch, GPU, precision and engine (planner/plans/serving.py batch_service_seconds)."""
    from planner.plans.serving import batch_service_seconds
    from planner.project.load import resolve_architecture
    from planner.validate.forward import forward_prediction

    for run_id in ("DLE-016", "td-roberta-large-b16-s384-3090-pt-fp16", "td-minilm-b1-s16-t4-pt-fp32"):
        run = next(r for r in runs if r.id == run_id)
        found = forward_prediction(run, catalog, catalog)
        assert found is not None
        work = workload_for(resolve_architecture(run.model, catalog, run.id, seq_len=run.seq_len))
        gpu = catalog.gpu(run.gpu)
        inf = Inference(rate=1.0, precision=run.precision, engine=run.engine)
        eff = forward_efficiency(catalog, gpu, work.family, run.engine, run.precision)
        seconds = batch_service_seconds(work, inf, gpu, eff, run.batch or 1)
        assert found[0] == pytest.approx((run.batch or 1) / seconds, rel=1e-9)
