"""Fit efficiency priors from published runs: each run's implied efficiency, then medians and log-spreads per
(kind, GPU architecture, model family), with broader pooled levels for fallbacks."""
from __future__ import annotations

import math
import statistics
from collections import defaultdict
from planner.dataclass import dataclass

from planner.catalog.load import Catalog
from planner.model.decode_ceiling import copy_bytes_per_s, copy_share
from planner.model.engine_step import engine_step_seconds
from planner.model.llama_cpp import accumulate_factor, layer_split_speedup
from planner.model.workload import prefill_flops, weight_bytes, workload_for
from planner.project.load import resolve_architecture
from planner.schema.priors import EfficiencyPrior
from planner.schema.runs import PublishedRun, fittable

RECOMPUTE_MODEL_SHARE = 3.0 / 4.0
"""Megatron's reported TFLOP/s count recomputation (4 passes, eq. 3 of Narayanan et al. 2021); model FLOP are 3/4."""
FIT_GROUPS = frozenset({"llm-pretraining", "fine-tuning", "cnn", "encoder", "single-gpu-throughput",
                        "serving-decode", "serving-prefill"})
"""Groups priors are fitted on. 'other' holds rows whose architecture the planner only approximates
(Transformer-XL: relative attention, adaptive softmax) and non-generative inference rows used for validation;
of those, only ResNet/BERT inference rows (exact architectures) feed the 'infer' priors."""
MIN_SIGMA_RUNS = 3
"""Fewer runs than this give no usable spread; the level then takes the spread of the next broader level."""


@dataclass(frozen=True)
class ImpliedEfficiency:
    """What efficiency a published run reached, by kind of work."""

    run: PublishedRun
    kind: str
    family: str
    arch: str
    efficiency: float


def implied_efficiency(run: PublishedRun, catalog: Catalog) -> ImpliedEfficiency | None:
    """The fraction of peak a run reached (model FLOP or, for decode, of the GPU's copy bandwidth:
    planner/model/decode_ceiling.py); None when unusable."""
    gpu = catalog.gpu(run.gpu)
    arch = resolve_architecture(run.model, catalog, run.id, seq_len=run.seq_len)
    work = workload_for(arch)
    precision = {"int8": "fp16", "int4": "fp16"}.get(run.precision, run.precision)
    peak_t = gpu.peak_tflops.get(precision)
    if peak_t is None:
        return None
    peak = peak_t * 1e12
    count: float = run.gpu_count or 1
    if run.phase in ("prefill", "decode"):
        # the published serving rows on several GPUs are llama.cpp layer splits (planner/validate/serving.py)
        count = layer_split_speedup(run.gpu_count or 1, run.phase, run.seq_len or 1)
        peak *= accumulate_factor(run.precision, run.engine, gpu)  # llama.cpp accumulates in FP16
    if run.phase == "train":
        per_sample = 3.0 * work.forward_flops_per_sample
        if run.metric in ("gpu_hours", "wall_clock_hours"):
            if run.metric == "wall_clock_hours" and run.gpu_count is None:
                return None
            gpu_hours = run.value * (count if run.metric == "wall_clock_hours" else 1)
            if run.tokens is not None:
                samples = run.tokens / work.tokens_per_sample
            elif run.samples is not None:
                samples = run.samples * (run.epochs or 1.0)
            else:
                return None
            value = samples * per_sample / (gpu_hours * 3600.0 * peak)
        elif run.metric == "tflops_per_gpu":
            value = run.value * RECOMPUTE_MODEL_SHARE / peak_t
        elif run.metric == "samples_per_s":
            value = run.value * per_sample / (count * peak)
        else:  # tokens_per_s
            value = run.value / work.tokens_per_sample * per_sample / (count * peak)
        kind = "train"
    elif run.phase == "infer":
        per_sample = work.forward_flops_per_sample
        rate = run.value if run.metric == "samples_per_s" else run.value / work.tokens_per_sample
        value, kind = rate * per_sample / (count * peak), "infer"
    elif run.phase == "prefill":
        prompt = run.seq_len or arch.context
        value, kind = run.value * prefill_flops(work, prompt) / prompt / (count * peak), "prefill"
    else:  # decode: bandwidth-bound at small batch; bytes per step = weights + KV cache read
        batch = run.batch or 1.0
        # a share of what a copy kernel reaches on the GPU (planner/model/decode_ceiling.py)
        copy = copy_bytes_per_s(gpu)
        if copy is None:
            return None
        bandwidth = count * copy
        # each engine iteration also pays the engine's host time, serial with the GPU (planner/model/engine_step.py)
        host = engine_step_seconds(catalog.engine_steps, run.engine)
        if run.input_tokens is not None and run.output_tokens is not None:
            # one batch timed end to end (planner/validate/serving.py end_to_end_decode_tokens_per_s): its short
            # prompts' prefill reads the weights once, then output − 1 steps at the mean context input + output/2
            out = run.output_tokens
            context = run.input_tokens + out / 2.0
            step_bytes = weight_bytes(work, run.precision) + batch * context * work.kv_bytes_per_token_16bit
            seconds = batch * out / run.value - out * host
            value = (weight_bytes(work, run.precision) + (out - 1) * step_bytes) / (seconds * bandwidth)
        else:
            context = (run.seq_len or 512) / 2.0
            step_bytes = weight_bytes(work, run.precision) + batch * context * work.kv_bytes_per_token_16bit
            value = step_bytes / ((batch / run.value - host) * bandwidth)
        kind = "decode"
        # a decode step reads far more than it writes, so it may outrun a copy kernel (which writes as much as it
        # reads), never the datasheet bandwidth
        ceiling = 1.0 / (copy_share(gpu) or 1.0)
        if not (0.0 < value <= ceiling) or not math.isfinite(value):
            return None
        return ImpliedEfficiency(run, kind, arch.family, gpu.arch, value)
    if not (0.0 < value <= 1.0) or not math.isfinite(value):
        return None
    return ImpliedEfficiency(run, kind, arch.family, gpu.arch, value)


def fit_priors(runs: list[PublishedRun], catalog: Catalog) -> list[EfficiencyPrior]:
    """Priors at four levels per kind: (arch, family), (any, family), (arch, any), (any, any)."""
    usable = [r for r in fittable(runs) if r.group in FIT_GROUPS or (r.phase == "infer" and r.model.preset is not None)]
    points = [p for p in (implied_efficiency(r, catalog) for r in usable) if p is not None]
    levels: dict[tuple[str, str, str], list[ImpliedEfficiency]] = defaultdict(list)
    for p in points:
        for arch, family in ((p.arch, p.family), ("any", p.family), (p.arch, "any"), ("any", "any")):
            levels[(p.kind, arch, family)].append(p)
    sigma: dict[tuple[str, str, str], float] = {}
    for key, group in levels.items():
        if len(group) >= MIN_SIGMA_RUNS:
            sigma[key] = statistics.stdev(math.log(p.efficiency) for p in group)
    priors = []
    for (kind, arch, family), group in sorted(levels.items(), key=lambda kv: (kv[0][1] == "any", kv[0][2] == "any",
                                                                              kv[0])):
        spread = sigma.get((kind, arch, family))
        for broader in ((kind, "any", family), (kind, arch, "any"), (kind, "any", "any")):
            if spread is None:
                spread = sigma.get(broader)
        priors.append(EfficiencyPrior(
            kind=kind, family=family, arch=arch,
            efficiency=round(statistics.median(p.efficiency for p in group), 4),
            log_sigma=round(spread if spread is not None else 0.5, 4), n=len(group),
            runs=sorted(p.run.id for p in group)))
    return priors


FAMILIES = ("decoder", "encoder", "cnn", "mlp")
"""Model families a measurement record's curve is kept for (planner/efficiency/calibrated.py _find_workload)."""


@dataclass(frozen=True)
class FamilyTransferFit:
    """How far one model family's efficiency misses another's on the same kind of work and GPU architecture."""

    pairs: dict[tuple[str, str], tuple[float, int, float, float]]
    """(measured, planned) → (σ added by the family change, planned-family runs behind it, σ_AB, σ_BB), for the
    pairs whose measured family's levels stand on >= MIN_SIGMA_RUNS fitted runs."""
    pooled: tuple[float, int, float, float]
    """The same over every such pair's runs together."""
    recentred: dict[tuple[str, str], tuple[float, int, int, float, float]]
    """(measured, planned) → (σ added by the family change once re-centred by the prior ratio, same-GPU pairs of
    published runs behind it, planned-family runs among them, σ_ratio, σ_BB over those pairs)."""
    recentred_pooled: tuple[float, int, int, float, float]
    """The same over every pair together."""


def _rms(values: list[float]) -> float:
    return math.sqrt(sum(v * v for v in values) / len(values)) if values else 0.0


def fit_family_transfer(runs: list[PublishedRun], catalog: Catalog) -> FamilyTransferFit:
    """The spread a model-family change adds to an efficiency (a measurement record's curve read for a family it did
    not measure: calibrated.OtherFamily). Each published run of family B (the fit's groups, independent checks
    included: data no prior was fitted on) on a (kind, GPU architecture) where family A has a fitted prior level is
    predicted by A's median (which never includes B's runs) and by B's own median without the run; σ_AB and σ_BB are
    the RMS of ln(actual/predicted) over the same runs: RMS, not a robust spread, because the interval is log-normal
    in σ and a transfer keeps A's systematic offset from B, which the RMS about zero counts. The family change adds
    σ = √max(0, σ_AB² − σ_BB²) (B's own spread the planned family would have anyway)."""
    def selected(r: PublishedRun) -> bool:
        return r.group in FIT_GROUPS or (r.phase == "infer" and r.model.preset is not None)

    fitted_ids = {r.id for r in fittable(runs) if selected(r)}
    points = [p for p in (implied_efficiency(r, catalog) for r in runs if selected(r)) if p is not None]
    levels: dict[tuple[str, str, str], list[ImpliedEfficiency]] = defaultdict(list)
    for p in points:
        if p.run.id in fitted_ids:
            levels[(p.kind, p.arch, p.family)].append(p)
    errors: dict[tuple[str, str], tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    for p in points:
        own = [q.efficiency for q in levels.get((p.kind, p.arch, p.family), []) if q.run.id != p.run.id]
        for measured in FAMILIES:
            other = levels.get((p.kind, p.arch, measured), [])
            if measured == p.family or not own or len(other) < MIN_SIGMA_RUNS:
                continue
            transfer, spread = errors[(measured, p.family)]
            transfer.append(math.log(p.efficiency / statistics.median(q.efficiency for q in other)))
            spread.append(math.log(p.efficiency / statistics.median(own)))

    def added(transfer: list[float], spread: list[float]) -> tuple[float, int, float, float]:
        ab, bb = _rms(transfer), _rms(spread)
        return math.sqrt(max(0.0, ab ** 2 - bb ** 2)), len(transfer), ab, bb

    every = [e for t, _ in errors.values() for e in t], [e for _, s in errors.values() for e in s]
    recentred = _recentred_errors(points, levels)

    def added_recentred(found: list[tuple[str, float, float]]) -> tuple[float, int, int, float, float]:
        ratio, bb = _rms([e for _, e, _ in found]), _rms([o for _, _, o in found])
        return math.sqrt(max(0.0, ratio ** 2 - bb ** 2)), len(found), len({b for b, _, _ in found}), ratio, bb

    return FamilyTransferFit({pair: added(*found) for pair, found in sorted(errors.items())}, added(*every),
                             {pair: added_recentred(found) for pair, found in sorted(recentred.items())},
                             added_recentred([e for found in recentred.values() for e in found]))


def _recentred_errors(points: list[ImpliedEfficiency], levels: dict[tuple[str, str, str], list[ImpliedEfficiency]]
                      ) -> dict[tuple[str, str], list[tuple[str, float, float]]]:
    """A record measures family A on its device, not A's median: the re-centred transfer predicts family B there as
    A's efficiency × B's prior / A's prior on the GPU architecture (calibrated.OtherFamily.shift). Tested on every
    pair of published runs of A and B on the same GPU type and kind of work (where A's level stands on
    >= MIN_SIGMA_RUNS fitted runs): ln(actual_B / (actual_A × median_B / median_A)), each median without the run it
    is paired with (neither run is in the ratio that predicts it), next to ln(actual_B / median_B) without the run
    (B's own spread). (measured, planned) → [(B's run id, ratio error, own error)] per pair of runs."""
    errors: dict[tuple[str, str], list[tuple[str, float, float]]] = defaultdict(list)
    for b in points:
        own = [q.efficiency for q in levels.get((b.kind, b.arch, b.family), []) if q.run.id != b.run.id]
        if not own:
            continue
        own_median = statistics.median(own)
        for a in points:
            level = levels.get((b.kind, b.arch, a.family), [])
            if (a.family == b.family or a.kind != b.kind or a.run.gpu != b.run.gpu
                    or len(level) < MIN_SIGMA_RUNS):
                continue
            a_median = statistics.median(q.efficiency for q in level if q.run.id != a.run.id)
            errors[(a.family, b.family)].append((b.run.id, math.log(b.efficiency / (a.efficiency * own_median
                                                                                   / a_median)),
                                                 math.log(b.efficiency / own_median)))
    return errors
