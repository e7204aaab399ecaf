"""Forward-pass rows (inference, prefill, decode) of the published runs, predicted from the priors of a catalog."""
from __future__ import annotations

from planner.catalog.load import Catalog
from planner.efficiency.infer_fit import (
    fit_launch_floor,
    floor_for,
    inference_row,
    predict_inference_row,
)
from planner.efficiency.prior_fit import implied_efficiency
from planner.schema.runs import PublishedRun
from planner.validate.serving import (
    SERVING_GROUPS,
    predict_serving_run,
    prior_or_roofline,
)


def forward_prediction(run: PublishedRun, catalog: Catalog, priors_catalog: Catalog
                       ) -> tuple[float, str, str, tuple[str, ...]] | None:
    """A forward-pass row's predicted metric, its layout in words, what it rests on and its extrapolations (None:
    not expressible). Serving rows: predict_serving_run (the serving roofline). Other forward-pass rows: the metric
    is proportional to the efficiency (prior_fit's formulas), so the prediction is the actual scaled by prior /
    implied efficiency."""
    if run.phase == "infer":
        row = inference_row(run, catalog)
        if row is None:
            return None
        floor = floor_for(priors_catalog.launch_floors, row.mode) or floor_for(fit_launch_floor([], catalog), row.mode)
        assert floor is not None, "fit_launch_floor returns every mode"
        predicted, used = predict_inference_row(row, floor)
        predicted *= run.gpu_count or 1
        engine = run.engine or "torch-eager (unstated)"
        detail = (f"{engine}: {row.mode} host floor {floor.microseconds:g} µs/op and {used} forward efficiency fitted "
                  f"on {floor.n} run(s)") if floor.n else (
            f"{engine}: no {row.mode}-mode runs, documented host floor {floor.microseconds:g} µs/op, {used} "
            "efficiency of the other modes")
        if row.gpu.sms is None:
            detail += "; no SM count: tile and wave quantisation factor 1"
        flags: tuple[str, ...] = ()
        if floor.n == 0:
            flags = (f"stack: no {row.mode}-mode runs in the fit (host floor at its documented default)",)
        elif used != row.gpu.arch:
            flags = (f"architecture: no {row.gpu.arch} runs in the fit",)
        count = run.gpu_count or 1
        return predicted, "1 GPU" if count == 1 else f"{count} GPUs", detail, flags
    if run.group in SERVING_GROUPS:
        serving = predict_serving_run(run, priors_catalog)
        prior = serving.bandwidth if run.phase == "decode" else serving.compute
        predicted = serving.tokens_per_s
    else:
        implied = implied_efficiency(run, catalog)
        if implied is None:
            return None
        prior = prior_or_roofline(priors_catalog, catalog.gpu(run.gpu), implied.kind, implied.family)
        predicted = run.value * prior.value / implied.efficiency
    count = run.gpu_count or 1
    layout = "1 GPU" if count == 1 else f"layer split over {count} GPUs" if run.group in SERVING_GROUPS else \
        f"{count} GPUs"
    arch = catalog.gpu(run.gpu).arch
    flags = ()
    if prior.detail.startswith("no "):
        flags = (f"kind: {prior.detail}",)
    elif f"({arch} GPUs" not in prior.detail:
        flags = (f"architecture: no {arch} runs in the fit",)
    return predicted, layout, prior.detail, flags
