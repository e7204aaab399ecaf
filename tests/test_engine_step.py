"""An engine's host time per decode step (planner/model/engine_step.py, planner/efficiency/engine_fit.py)."""
from __future__ import annotations

import dataclasses

import pytest

from planner.catalog.load import BUNDLED_CATALOG
from planner.efficiency.engine_fit import fit_engine_steps, step_point
from planner.efficiency.prior_fit import implied_efficiency
from planner.model.engine_step import STEP_PRIOR_MS, engine_step, engine_step_seconds
from planner.plans.serving import llm_efficiency
from planner.validate.folds import fold_key
from planner.validate.runs import load_published_runs

VLLM = ("vllm-perfbench-llama-3.1-8b-a100-b8-latency", "vllm-perfbench-llama-3.1-8b-h100-b8-latency",
        "vllm-perfbench-llama-3.1-8b-h200-b8-latency")


@pytest.fixture(scope="module")
def runs(catalog):
    return load_published_runs(BUNDLED_CATALOG, catalog)


def test_vllm_rows_on_three_gpus_are_a_line_with_a_host_time(catalog, runs) -> None:
    """12.3, 7.8 and 6.5 ms a step on the A100, H100 and H200: the GPU's copy-bandwidth time at a slope near 1 plus
    a constant the faster GPU does not shorten."""
    points = {p.run.gpu: p for p in (step_point(r, catalog) for r in runs if r.id in VLLM) if p is not None}
    assert set(points) == {"A100-80GB-SXM", "H100-SXM", "H200-SXM"}
    assert [round(points[g].step_s * 1e3, 1) for g in ("A100-80GB-SXM", "H100-SXM", "H200-SXM")] == [12.3, 7.8, 6.5]
    fitted = {s.engine: s for s in fit_engine_steps(runs, catalog)}
    vllm = fitted["vllm"]
    assert vllm.n == 3 and sorted(vllm.runs) == sorted(VLLM)
    low, high = vllm.plausible_ms
    assert low < vllm.milliseconds < high and 2.0 < vllm.milliseconds < 3.0
    for gpu, point in points.items():  # the line holds each row within 5 %
        slope = (point.step_s - vllm.milliseconds * 1e-3) / point.copy_s
        assert 0.9 < slope < 1.05, gpu
    # gpt-fast's rows are all on one A100: its host time and its bandwidth share cannot be told apart, so no fit
    assert "torch-compile" not in fitted
    assert engine_step(tuple(fitted.values()), "torch-compile").milliseconds == 0.0
    assert catalog.engine_steps == tuple(fitted.values())  # catalog/priors.yaml is current


def test_a_held_out_engine_falls_back_to_its_documented_prior(catalog, runs) -> None:
    """Cross-validation by source leaves vLLM's publication out whole: no vLLM row is left to fit, so the vLLM rows
    are predicted on the documented 4 ms (vLLM issue #6854), never on their own fit."""
    fold = fold_key(next(r for r in runs if r.id == VLLM[0]), "source", catalog)
    assert all(fold_key(r, "source", catalog) == fold for r in runs if r.id in VLLM)
    others = [r for r in runs if fold_key(r, "source", catalog) != fold]
    steps = fit_engine_steps(others, catalog)
    assert all(s.engine != "vllm" for s in steps)
    prior = engine_step(steps, "vllm")
    assert prior.n == 0 and prior.milliseconds == STEP_PRIOR_MS["vllm"][0] == 4.0 and "#6854" in prior.basis
    assert engine_step_seconds(steps, None) == 0.0  # a row that states no engine pays none


def test_the_fit_takes_the_host_time_off_before_the_bandwidth_share(catalog, runs) -> None:
    run = next(r for r in runs if r.id == VLLM[2])
    bare = dataclasses.replace(catalog, engine_steps=())  # the 4 ms prior
    none = dataclasses.replace(catalog, engine_steps=(engine_step((), "vllm").model_copy(update={"milliseconds": 0.0}),))
    without, fitted = implied_efficiency(run, none), implied_efficiency(run, catalog)
    assert without is not None and fitted is not None
    # the more of a step is host time, the larger the share of the copy bandwidth the GPU part reached
    assert without.efficiency < 0.7 < 0.9 < fitted.efficiency < 1.1
    # at vLLM 0.5's 4 ms a step the H200 would have read faster than its datasheet: the row is unusable, and the
    # benchmark build's vLLM pays less than the documented prior
    assert implied_efficiency(run, bare) is None


def test_a_vllm_plan_pays_the_host_time_and_the_faster_gpu_still_decodes_faster(catalog) -> None:
    """New-user QA: a decode step took 7.59 ms on an H100 and an H200 alike. Each step now pays the GPU's streaming
    time at its copy bandwidth plus vLLM's host time: the H200 is faster by the bandwidth alone."""
    from planner.model.inference_time import decode_step_seconds
    from planner.model.precision import peak_flops
    from planner.model.workload import workload_for
    from planner.project.load import resolve_architecture
    from planner.schema.profile import ModelSection

    work = workload_for(resolve_architecture(ModelSection(preset="llama-2-7b"), catalog, "test"))

    def step(gid: str) -> float:
        gpu = catalog.gpu(gid)
        eff = llm_efficiency(catalog, gpu, "decoder", None)
        flops = peak_flops(gpu, "bf16")
        assert flops is not None
        return decode_step_seconds(work, 16, 640, "bf16", "bf16", flops * eff.compute.value,
                                   gpu.memory_bandwidth_gbs * 1e9 * eff.bandwidth.value) + eff.engine_step_s

    host = engine_step_seconds(catalog.engine_steps, "vllm")
    assert llm_efficiency(catalog, catalog.gpu("H200-SXM"), "decoder", None).engine_step_s == host > 0
    assert step("B200") < step("H200-SXM") < step("H100-SXM") < step("A100-80GB-SXM")
    assert "host time per step (fitted on 3 decode rows)" in \
        llm_efficiency(catalog, catalog.gpu("H100-SXM"), "decoder", None).compute.detail
    # an engine with no per-step figure (gpt-fast's one CUDA graph) pays none, and its note says so beside vLLM's
    # (new-user QA: sglang and llama.cpp plans looked cheaper than vLLM's with nothing in the output saying why)
    bare = llm_efficiency(catalog, catalog.gpu("H100-SXM"), "decoder", "torch-compile")
    assert bare.engine_step_s == 0.0
    assert f"no host time per step beyond that (torch-compile: none fitted or documented, where vLLM's is " \
           f"{host * 1e3:.3g} ms)" in bare.compute.detail
