"""Training compute efficiency as one fitted curve per GPU architecture family (fitted by planner/validate/train_fit.py).

eta(side, ratio) = 1 / (1 / (peak_efficiency · side / (side + half_side)) + traffic · ratio + weights)

- side: √(matmul weights of one layer / tensor-parallel ranks), the typical matrix side a GEMM sees; small hidden
  sizes (and narrow tensor-parallel shards) run far below peak (effcurve.saturating: a kernel's fixed overhead);
- ratio: the GPU's ridge point over the work's arithmetic intensity, (activation bytes · peak) / (copy bandwidth ·
  FLOP): the time of passing over the stored activations at the bandwidth memory-bound kernels reach (the GPU's
  copy bandwidth: datasheet × catalog/gpus.yaml `bandwidth_ceiling`, model/decode_ceiling.py) relative to the matmul
  time at peak.
  It carries precision (fp32 peaks are low, so fp32 training sits near the curve's top; tensor-core fp16 on a fast
  GPU is held back by normalisation and element-wise passes) and the GPU's balance (H100 vs RTX 3090);
- traffic: how many such passes a step makes, fitted per workload kind (transformer/MLP, CNN), and for transformers
  per attention kernel: flash attention (FlashAttention, xformers memory-efficient, cuDNN fused attention) never
  writes the s×s scores and comes with fused element-wise kernels, so it makes fewer passes (traffic_flash); no
  stack makes fewer than 2 (each stored activation is written in forward and read in backward: trainfit.MIN_PASSES);
- weights: the same ratio for WEIGHT_PASSES over the weights per micro-batch (not fitted: small micro-batches
  re-read the weights for few samples);
- fp32 on CUDA cores reaches a larger fraction of its (low) peak than tensor cores do of theirs: peak_efficiency
  is multiplied by fp32_factor for fp32 (one shared, fitted factor);
- a 16-bit CNN kept in NCHW layout makes NCHW_PASSES more passes (counted, not fitted): tensor-core
  convolutions run in NHWC, so cuDNN transposes around each one. Plans assume channels-last (the layout NVIDIA's
  recipes use); only published runs that state NCHW (`memory_format` in catalog/published_runs.yaml) get the term.
"""
from __future__ import annotations

import math
from planner.dataclass import dataclass

from planner.catalog.ceilings import TENSOR_PRECISIONS, ceiling_share, tensor_rate
from planner.catalog.load import Catalog
from planner.dataclass import evolve
from planner.efficiency.curve import Num, saturating
from planner.efficiency.figure import Efficiency
from planner.errors import MissingPriorError
from planner.model.decode_ceiling import copy_share
from planner.model.workload import Workload
from planner.schema.catalog import GpuSpec
from planner.schema.priors import Extrapolation, TrainCurveFit


def matrix_side(work: Workload, tp: int = 1) -> float:
    """√ of one layer's matmul weights per tensor-parallel rank."""
    return math.sqrt(work.trainable_matmul_params / max(1, work.layers) / max(1, tp))


WEIGHT_PASSES = 3.0
"""Passes over the weights per micro-batch: read in forward, read in backward, gradient written."""


def _ridge_over_flops(work: Workload, gpu: GpuSpec, precision: str) -> float:
    # memory-bound kernels stream at what a copy kernel reaches, not the datasheet (model/decode_ceiling.py)
    peak = gpu.peak_tflops.get(precision) or gpu.peak_tflops.fp32
    bandwidth = gpu.memory_bandwidth_gbs * 1e9 * (copy_share(gpu) or 1.0)
    return peak * 1e12 / (bandwidth * work.train_flops_per_sample)


def _value_bytes(precision: str) -> float:
    return 4.0 if precision in ("fp32", "tf32") else 2.0


def traffic_ratio(work: Workload, gpu: GpuSpec, precision: str) -> float:
    """Ridge point over arithmetic intensity of the stored activations: their bytes per sample at the precision ×
    dense peak / (memory bandwidth × training FLOP per sample). Model-parallel splits divide bytes and FLOP alike."""
    activation_bytes = work.activation_bytes_per_sample_16bit * _value_bytes(precision) / 2.0
    return activation_bytes * _ridge_over_flops(work, gpu, precision)


def weight_ratio(work: Workload, gpu: GpuSpec, precision: str, micro_batch: float | None, ep: int = 1) -> float:
    """The same for the weights: WEIGHT_PASSES over them per micro-batch, shared by its samples (small
    micro-batches run below peak); 0 when the micro-batch is not known. With expert parallelism a GPU holds and
    re-reads only 1/ep of the routed experts while it computes as many tokens' FLOP as without (its own tokens'
    worth, routed to its experts: plans/expert_parallel.py), so the routed weights count 1/ep; model-parallel
    splits divide bytes and FLOP alike."""
    if not micro_batch:
        return 0.0
    held = work.params - work.routed_expert_params * (1.0 - 1.0 / max(1, ep))
    return WEIGHT_PASSES * held * _value_bytes(precision) / micro_batch * _ridge_over_flops(work, gpu, precision)


def nchw_transposes(work: Workload, precision: str, memory_format: str | None) -> bool:
    """A 16-bit CNN with NCHW activations: cuDNN's tensor-core convolutions work in NHWC, so every convolution's
    input and output are transposed, forward and backward — extra memory passes over the activations (NVIDIA, "Deep
    Learning Performance Guide: Convolutional Layers", Tensor Layouts in Memory: NCHW vs NHWC). Plans assume
    channels-last (memory_format None), what NVIDIA's own recipes use for AMP (DLE ConvNets configs.yml)."""
    return work.family == "cnn" and memory_format == "nchw" and precision in ("fp16", "bf16")


NCHW_PASSES = 5.0
"""Extra passes over a 16-bit CNN's stored activations when they are kept in NCHW, counted rather than fitted (no
fittable published run trains that way; Lambda's, which do, are an independent check): tensor-core convolutions run
in NHWC, so each convolution transposes its input and its output forward (read and write each: 4 passes of one
activation tensor) and the gradient of its output, the gradient of its input and its input again for the weight
gradient backward (6): 10 passes of one conv-output tensor per convolution, where the stored activations are two such
tensors (convolution and batch-norm outputs, workload.py), so 5 in units of the stored bytes."""


def cnn_traffic(traffic_cnn: Num, nchw_passes: Num, nchw16: Num) -> Num:
    """Passes over a CNN's stored activations: the fitted traffic, plus nchw_passes for NCHW 16-bit runs (floats
    or numpy arrays)."""
    return traffic_cnn + nchw_passes * nchw16


def curve_value(peak_efficiency: Num, half_side: Num, traffic: Num, side: Num, ratio: Num, weights: Num = 0.0) -> Num:
    """The curve itself (works on floats and numpy arrays): the matmul time at the size-limited peak plus the
    memory time of `traffic` passes over the activations and of the weight passes."""
    return 1.0 / (1.0 / saturating(side, peak_efficiency, half_side) + traffic * ratio + weights)


def uses_flash(family: str, attention: str | None) -> bool:
    """Transformer work run with a flash-style attention kernel."""
    return family in ("decoder", "encoder") and attention == "flash"


def traffic_of(fit: TrainCurveFit, family: str, attention: str | None, nchw16: bool = False) -> float:
    """A curve's memory passes for a workload family (CNN: plus NCHW transposes; transformer: by attention kernel)."""
    if family == "cnn":
        return float(cnn_traffic(fit.traffic_cnn, fit.nchw_passes, nchw16))
    if uses_flash(family, attention) and fit.traffic_flash is not None:
        return fit.traffic_flash
    return fit.traffic_transformer


BASELINE_STACK = "eager"
"""Stack factors are relative to a plain PyTorch loop (DDP or one GPU): the stack of most published rows."""


def stack_factor(fit: TrainCurveFit, framework: str | None) -> float:
    """The fitted efficiency multiplier of a training stack; 1 (the curve itself) for the baseline, a stack not
    stated, or a stack without a factor (train_fit.MIN_STACK_RUNS / MIN_STACK_SOURCES)."""
    if framework is None or framework == BASELINE_STACK:
        return 1.0
    return fit.stack_factors.get(framework, 1.0)


def stack_known(fit: TrainCurveFit, framework: str | None) -> bool:
    """The stack has a fitted factor of its own (or is the baseline)."""
    return framework == BASELINE_STACK or (framework is not None and framework in fit.stack_factors)


def ceiling_factor(fit: TrainCurveFit, gpu: GpuSpec, precision: str) -> float:
    """How the pooled curve scales for a GPU of an architecture without runs: its matmul ceiling (the share of its
    dense peak the best matmul reaches, planner/catalog/ceilings.py) over the pooled runs' (fit.ceiling_share) —
    an MI300X's best bf16 matmul reaches 51 % of its peak where the runs' GPUs reach ~84 % of theirs. 1 for a curve
    of the GPU's own family (its fitted peak holds the level), on CUDA-core precisions, or without either figure."""
    if fit.arch != "any" or not fit.ceiling_share:
        return 1.0
    share = ceiling_share(gpu, precision)
    return share / fit.ceiling_share if share else 1.0


def peak_of(fit: TrainCurveFit, precision: str) -> float:
    """The curve's top for a precision (fp32 runs on CUDA cores), never above the peak itself."""
    return min(1.0, fit.peak_efficiency * (fit.fp32_factor if precision == "fp32" else 1.0))


def chip_transfer(peak: Num, fit_share: Num, fit_rate: Num, share: Num, rate: Num) -> Num:
    """A family's fitted peak efficiency carried to another chip of the family (floats or numpy arrays).

    What separates the peak a family's runs reach (`peak`) from the best matmul of their GPUs (`fit_share`, the
    MAMF share: planner/catalog/ceilings.py) is work the SMs do beside the tensor cores — address arithmetic, data
    staging through shared memory, epilogues, the non-matmul parts of fused kernels — at a rate set by the SMs'
    issue, the same per SM-cycle on every chip of an architecture. Per FLOP it costs o = (1/peak − 1/fit_share) /
    fit_rate SM-cycles per unit of tensor rate, so a chip whose tensor cores do `rate` FLOP per SM-cycle
    (ceilings.tensor_rate) reaches 1 / (1/share + o · rate): the GA102 cards (RTX A6000, A10, A40: 1,024 FLOP per
    SM-cycle; RTX 3090: 512) a larger share of their smaller peak than the A100s (2,048) the ampere curve is fitted
    on. Returned as the factor on `peak`; 1 where the fitted peak is not below the ceiling (no overhead to carry).
    Plain floats need no numpy (a training-only estimate imports none)."""
    overhead = (1.0 / peak - 1.0 / fit_share) / fit_rate
    if isinstance(overhead, float):
        return (1.0 / peak) / (1.0 / share + overhead * rate) if overhead > 0 else 1.0
    import numpy as np

    return np.where(overhead > 0, (1.0 / peak) / (1.0 / share + np.maximum(overhead, 0.0) * rate), 1.0)


def chip_factor(fit: TrainCurveFit, gpu: GpuSpec, precision: str) -> float:
    """chip_transfer for a GPU on its own family's curve at a tensor-core precision; 1 on the pooled curve (scaled
    by ceiling_factor instead), on CUDA-core precisions (fp32), or without the figures."""
    share, rate = ceiling_share(gpu, "bf16"), tensor_rate(gpu)
    if fit.arch == "any" or precision not in TENSOR_PRECISIONS or not fit.ceiling_share or not fit.sm_rate \
            or not share or not rate or (share, rate) == (fit.ceiling_share, fit.sm_rate):
        return 1.0
    return float(chip_transfer(fit.peak_efficiency, fit.ceiling_share, fit.sm_rate, share, rate))


def gpu_peak(fit: TrainCurveFit, gpu: GpuSpec, precision: str) -> float:
    """The curve's top for this GPU and precision: peak_of carried to the GPU's chip (chip_factor)."""
    return min(1.0, peak_of(fit, precision) * chip_factor(fit, gpu, precision))


MAX_TERMS = 1024
"""TrainCurve.efficiency's kept terms: past this many (GPUs × works × curves of the searches a process ran) they are
dropped and made again."""
CurveTerms = tuple[float, float, float, float, float, float, float, float, float, float, float, object, object,
                   object]
"""TrainCurve._terms: the GPU's peak on the curve, the traffic passes, the activations' traffic ratio, one layer's
matmul weights, the parameters, the routed experts' parameters, the value bytes, the ridge point over the work's
FLOP per sample, the stack and ceiling factors, the efficiency's cap (efficiency_cap); then the curve, the work and
the GPU they were read from (held)."""


def efficiency_cap(gpu: GpuSpec, precision: str) -> float:
    """The most of the dense peak a training step's compute reaches: the GPU's matmul ceiling at the precision (the
    share its best matmul reaches, planner/catalog/ceilings.py), 1 without one (fp32, or no ceiling recorded). A
    stack factor on a curve near its peak went past it (new-user QA: pretrain-1b-72h with training.framework megatron
    planned RTX A4000s at efficiency 1.0, 93 % MFU, P10 hours equal to P50, beside their 84.0 % ceiling)."""
    return min(1.0, ceiling_share(gpu, precision) or 1.0)
_TERMS: dict[tuple[object, ...], CurveTerms] = {}
"""TrainCurve._terms by (curve, work, GPU, precision, attention, stack), each holding its objects."""


@dataclass(frozen=True)
class TrainCurve:
    """One architecture family's fitted curve."""

    fit: TrainCurveFit
    extrapolation: Extrapolation | None = None
    """How much to widen the interval where a plan leaves the data (catalog/priors.yaml)."""

    def traffic(self, family: str, attention: str = "flash") -> float:
        """Memory passes for this workload family and attention kernel."""
        return traffic_of(self.fit, family, attention)

    def efficiency(self, work: Workload, gpu: GpuSpec, precision: str, tp: int = 1,
                   micro_batch: float | None = None, attention: str = "flash", framework: str | None = None,
                   ep: int = 1) -> float:
        """Compute efficiency of this work on this GPU at this tensor-parallel degree, micro-batch, attention
        kernel, training stack and expert-parallel degree."""
        key = (id(self), id(work), id(gpu), precision, attention, framework)
        terms = _TERMS.get(key)
        if terms is None:
            terms = self._terms(work, gpu, precision, attention, framework)
        peak, traffic, ratio, layer_params, params, routed, value_bytes, ridge, stack, ceiling, cap = terms[:11]
        # matrix_side, weight_ratio and curve_value, the same operations on the same numbers
        side = math.sqrt(layer_params / max(1, tp))
        weights = 0.0
        if micro_batch:
            held = params - routed * (1.0 - 1.0 / max(1, ep))
            weights = WEIGHT_PASSES * held * value_bytes / micro_batch * ridge
        value = float(curve_value(peak, self.fit.half_side, traffic, side, ratio, weights))
        return min(cap, value * stack * ceiling)

    def _terms(self, work: Workload, gpu: GpuSpec, precision: str, attention: str,
               framework: str | None) -> CurveTerms:
        """What `efficiency` reads of the GPU, the precision, the work, the attention kernel and the stack, worked
        out once per (curve, work, GPU, precision, attention, stack) and kept in _TERMS (with the objects, so their
        ids are not reused while kept): a training search asks for the curve at hundreds of (tensor degree,
        micro-batch) pairs of each GPU, and these parts (the chip transfer's ceiling and tensor rate, the ridge
        point, the stack and ceiling factors) were most of each call's ~10 µs."""
        if len(_TERMS) >= MAX_TERMS:
            _TERMS.clear()
        terms = (gpu_peak(self.fit, gpu, precision), self.traffic(work.family, attention),
                 traffic_ratio(work, gpu, precision), work.trainable_matmul_params / max(1, work.layers),
                 work.params, work.routed_expert_params, _value_bytes(precision),
                 _ridge_over_flops(work, gpu, precision), stack_factor(self.fit, framework),
                 ceiling_factor(self.fit, gpu, precision), efficiency_cap(gpu, precision), self, work, gpu)
        _TERMS[(id(self), id(work), id(gpu), precision, attention, framework)] = terms
        return terms

    def widened(self, efficiency: Efficiency, framework: str | None, gpus: int) -> Efficiency:
        """The efficiency with its interval widened (σ added in quadrature) and flagged for each way the plan
        leaves the data: a training stack without a factor of its own, more GPUs than the largest fitted run. The
        architecture is flagged where the curve is chosen (curve_efficiency)."""
        extra = self.extrapolation
        if extra is None:
            return efficiency
        flags, sigma2 = list(efficiency.extrapolations), efficiency.log_sigma ** 2
        if not stack_known(self.fit, framework) and framework is not None:
            flag = f"stack: no {framework} factor (too few published runs)"
            if flag not in flags:
                flags.append(flag)
                sigma2 += extra.stack_log_sigma ** 2
        if gpus > extra.largest_run_gpus:
            flag = f"scale: {gpus} GPUs, beyond the largest published run ({extra.largest_run_gpus})"
            if not any(f.startswith("scale:") for f in flags):
                flags.append(flag)
                sigma2 += extra.scale_log_sigma ** 2
        if len(flags) == len(efficiency.extrapolations):
            return efficiency
        # dataclass.py: dataclasses.replace's fields without rerunning __init__ (a search widens hundreds)
        return evolve(efficiency, log_sigma=min(3.0, math.sqrt(sigma2)), extrapolations=tuple(flags))

    def widening_count(self, gpus: int) -> int:
        """What `widened` reads of a GPU count: the count beyond the largest published run (its flag names it),
        else 0, since every count up to that run widens alike; a search shares the efficiencies of those counts."""
        extra = self.extrapolation
        return gpus if extra is not None and gpus > extra.largest_run_gpus else 0

    def stack_note(self, framework: str | None) -> str:
        """The stack assumption in words, for the plan's efficiency detail."""
        if framework is None:
            return "training stack not stated: the curve's efficiency"
        if framework == BASELINE_STACK:
            return "training stack eager (plain PyTorch, the baseline)"
        if framework in self.fit.stack_factors:
            return (f"training stack {framework}: ×{self.fit.stack_factors[framework]:.2f} fitted on "
                    f"{self.fit.stack_runs.get(framework, 0)} published run(s); set training.framework to plan "
                    "another")
        return (f"training stack {framework}: no factor of its own (too few published runs), the curve's "
                "efficiency with a wider interval; set training.framework to plan another")


def pick_curve(curves: tuple[TrainCurveFit, ...] | list[TrainCurveFit], family: str) -> TrainCurveFit | None:
    """The GPU family's own curve (GpuSpec.family), else its generation's (ampere for ampere-geforce), else the
    pooled one."""
    for wanted in dict.fromkeys((family, family.split("-")[0], "any")):
        for fit in curves:
            if fit.arch == wanted:
                return fit
    return None


def _ceiling_note(fit: TrainCurveFit, gpu: GpuSpec) -> str:
    """How the curve is scaled for this GPU, in words: the pooled one by ceiling_factor, a family's carried to the
    GPU's chip by chip_factor (both at bf16)."""
    share, ceiling = ceiling_share(gpu, "bf16"), gpu.matmul_ceiling
    if fit.arch != "any":
        factor, rate = chip_factor(fit, gpu, "bf16"), tensor_rate(gpu)
        if factor == 1.0 or rate is None or share is None or ceiling is None or not fit.ceiling_share:
            return ""
        how = "measured" if ceiling.measured else "transferred"
        return (f" × {factor:.2f} carried to the {gpu.id}'s chip ({rate:,.0f} tensor FLOP per SM-cycle, matmul "
                f"ceiling {share:.1%} {how}; the fitted GPUs' {fit.sm_rate:,.0f} and {fit.ceiling_share:.1%})")
    if not fit.ceiling_share or not share or ceiling is None:
        return ""
    how = "measured" if ceiling.measured else "transferred"
    return (f" × its matmul ceiling ({share:.1%} of peak, {how}) over the runs' GPUs' ({fit.ceiling_share:.1%}) = "
            f"×{share / fit.ceiling_share:.2f}")


def curve_efficiency(catalog: Catalog, gpu: GpuSpec) -> Efficiency:
    """The training efficiency of a GPU from the catalog's curves (value: the curve's peak; plans evaluate it)."""
    fit = pick_curve(catalog.train_curves, gpu.family)
    if fit is None:
        raise MissingPriorError("the catalog has no training efficiency curve (priors.yaml missing or incomplete), "
                                 "so nothing can be planned",
                                 hint="Copy priors.yaml from the bundled catalog, or run scripts/fit_priors.py.")
    scope = f"{fit.arch} GPUs" if fit.arch != "any" else f"all GPUs; none for {gpu.family}"
    sigma, flags = fit.log_sigma, tuple[str, ...]()
    extra = catalog.extrapolation
    if fit.arch == "any" and extra is not None:
        sigma = min(3.0, math.sqrt(sigma ** 2 + extra.architecture_log_sigma ** 2))
        flags = (f"architecture: no {gpu.family} runs, the pooled curve",)
    return Efficiency(fit.peak_efficiency, sigma, "prior",
                      f"train curve fitted on {fit.n} published run(s) ({scope}){_ceiling_note(fit, gpu)}",
                      curve=TrainCurve(fit, extra), extrapolations=flags)
