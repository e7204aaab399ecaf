"""catalog/priors.yaml: efficiency priors fitted from published runs by scripts/fit_priors.py."""

import datetime as dt
from typing import Literal

from pydantic import Field, model_validator

from planner.schema.base import Strict


class EfficiencyPrior(Strict):
    """The efficiency of one kind of work on one architecture family, with where it came from."""

    kind: Literal["train", "prefill", "decode", "infer"] = Field(
        description="train: model FLOP utilisation of a training step; prefill/infer: of a forward pass; "
                    "decode: share of the GPU's copy bandwidth a decode step's reads reach (planner/model/"
                    "decode_ceiling.py), the engine's host time per step apart.")
    family: Literal["decoder", "encoder", "cnn", "mlp", "any"] = Field(description="Workload family, or any.")
    arch: str = Field(description="GPU architecture family, or any.")
    efficiency: float = Field(gt=0, le=2, description=(
        "Median efficiency of the runs: at most 1, except decode's share of the copy bandwidth, which a read-only "
        "stream may exceed (a copy kernel writes as much as it reads) up to the datasheet bandwidth."))
    log_sigma: float = Field(ge=0, le=3, description="Spread: standard deviation of ln(efficiency) across runs.")
    n: int = Field(ge=1, description="Runs behind the figure.")
    runs: list[str] = Field(description="Ids of the published runs (catalog/published_runs.yaml).")

    @model_validator(mode="after")
    def _at_most_peak(self) -> "EfficiencyPrior":
        if self.kind != "decode" and self.efficiency > 1:
            raise ValueError(f"a {self.kind} efficiency is a share of peak, at most 1 (got {self.efficiency})")
        return self


class TrainCurveFit(Strict):
    """Training compute efficiency of one GPU architecture family as a function of matrix size and memory traffic:
    eta = 1 / (1 / (peak_efficiency · side / (side + half_side)) + traffic · ratio) (planner/efficiency/train_curve.py)."""

    arch: str = Field(description="GPU architecture family (arch, or arch-geforce for GeForce cards' half-rate "
                                  "tensor accumulation), or any (pooled over all runs).")
    peak_efficiency: float = Field(gt=0, le=1, description="Efficiency of very large matmuls on this family.")
    half_side: float = Field(ge=0, description="Matrix side (√ of a layer's weights per tensor rank) at half of it.")
    traffic_transformer: float = Field(ge=0, description="Memory passes over stored activations, transformers/MLPs.")
    traffic_flash: float | None = Field(
        None, ge=0, description="Memory passes over stored activations, transformers with flash attention (null: as "
                                "traffic_transformer).")
    traffic_cnn: float = Field(ge=0, description="Memory passes over stored activations, CNNs.")
    fp32_factor: float = Field(1.0, gt=0, description="Peak multiplier for fp32 on CUDA cores (vs tensor cores).")
    nchw_passes: float = Field(0.0, ge=0, description="Extra memory passes over stored activations of a 16-bit CNN "
                                                      "kept in NCHW layout (transposes around tensor-core convolutions).")
    log_sigma: float = Field(ge=0, le=3, description="RMS of leave-one-out ln(predicted/actual) of its runs.")
    n: int = Field(ge=1, description="Runs behind the figure.")
    runs: list[str] = Field(description="Ids of the published runs (catalog/published_runs.yaml).")
    stack_factors: dict[str, float] = Field(
        default_factory=dict, description="Efficiency multiplier per training stack (framework) relative to a plain "
                                          "PyTorch loop (eager), fitted on the runs whose source states the stack; "
                                          "shared by all curves.")
    stack_runs: dict[str, int] = Field(default_factory=dict, description="Runs behind each stack factor.")
    ceiling_share: float | None = Field(
        None, gt=0, le=1, description="The reference matmul ceiling: the median share of the dense peak the best "
                                      "matmul reaches on the runs' GPUs (planner/catalog/ceilings.py). The pooled "
                                      "curve scales a GPU of an architecture without runs by its own share over this "
                                      "one; a family's curve carries its peak to another chip of the family with it "
                                      "and sm_rate (planner/efficiency/train_curve.py chip_transfer).")
    sm_rate: float | None = Field(
        None, gt=0, description="A family curve's runs' GPUs' dense 16-bit tensor FLOP per SM per boost-clock cycle "
                                "(median; planner/catalog/ceilings.py tensor_rate).")


class LaunchFloor(Strict):
    """Host time per GPU kernel of one execution mode: a forward pass takes at least kernels × this
    (planner/model/forward_time.py), however small its work."""

    mode: Literal["eager", "runtime", "engine", "compiled"] = Field(
        description="eager: PyTorch launching one kernel per operator from Python; runtime: a C++ graph executor "
                    "(ONNX Runtime, llama.cpp); engine: TensorRT-class engines; compiled: torch.compile / CUDA "
                    "graphs (planner/model/forward_time.py ENGINE_MODE maps engines to modes).")
    microseconds: float = Field(gt=0, description="Fitted host time per operator of the eager graph, µs (the "
                                                  "documented default of the mode when n is 0).")
    plausible_us: tuple[float, float] = Field(description="The range the fit is held to, µs, with its source.")
    efficiency: dict[str, float] = Field(
        description="Forward-pass compute efficiency per GPU architecture family fitted with the floor (any: pooled), "
                    "the mode's factor included.")
    factor: float = Field(1.0, gt=0, description="Compute efficiency of this mode over eager's, fitted on its rows "
                                                 "(1: eager, or no rows of the mode).")
    log_sigma: float = Field(ge=0, le=3, description="RMS of ln(predicted/actual) of the rows in the fit.")
    n: int = Field(ge=0, description="Rows behind the figure.")
    runs: list[str] = Field(description="Ids of the published runs.")


class EngineStep(Strict):
    """Host time an inference engine spends per decode step outside the GPU's kernels (scheduling, input
    preparation, sampled-token transfer and output processing), serial with them: a step takes the GPU's streaming
    time plus this (planner/model/engine_step.py)."""

    engine: str = Field(description="The engine (profile inference.engine, published_runs.yaml engine).")
    milliseconds: float = Field(ge=0, description="Host time per decode step, ms (the documented prior when n is 0).")
    plausible_ms: tuple[float, float] = Field(description="The range the fit is held to, ms.")
    n: int = Field(ge=0, description="Decode rows behind the fit (0: the documented prior).")
    runs: list[str] = Field(description="Ids of the published runs.")
    basis: str = Field(description="Where the figure comes from: the fit's rows and GPUs, or the prior's source.")


class RecentredTransfer(Strict):
    """The spread a model-family change adds once the measured family's efficiency is re-centred by the planned
    family's prior over the measured family's on the GPU architecture (planner/efficiency/prior_fit.py
    _recentred_errors), from pairs of published runs of the two families on the same GPU type."""

    log_sigma: float = Field(ge=0, le=3, description="Added σ: √max(0, ratio_rms² − own_rms²).")
    pairs: int = Field(ge=1, description="Same-GPU pairs of published runs (measured family, planned family).")
    runs: int = Field(ge=1, description="Published runs of the planned family among them.")
    ratio_rms: float = Field(ge=0, description="RMS ln(actual/predicted) of the planned family's run by the measured "
                                               "family's run × the leave-one-out prior ratio.")
    own_rms: float = Field(ge=0, description="The same by the planned family's own median without the run.")


class FamilyTransfer(Strict):
    """The spread one model family's efficiency adds when read for another (planner/efficiency/prior_fit.py
    fit_family_transfer): a measurement record's curve used for a family it did not measure."""

    measured: Literal["decoder", "encoder", "cnn", "mlp"] = Field(description="The family whose efficiency is read.")
    planned: Literal["decoder", "encoder", "cnn", "mlp"] = Field(description="The family it is read for.")
    log_sigma: float = Field(ge=0, le=3, description="Added σ: √max(0, transfer_rms² − own_rms²).")
    n: int = Field(ge=1, description="Published runs of the planned family behind it.")
    transfer_rms: float = Field(ge=0, description="RMS ln(actual/predicted) of those runs by the measured family's "
                                                  "median on their kind and GPU architecture.")
    own_rms: float = Field(ge=0, description="The same by their own family's median without the run.")
    recentred: RecentredTransfer | None = Field(None, description="Once re-centred by the prior ratio (None: no "
                                                                  "same-GPU pair of runs).")


class Extrapolation(Strict):
    """How much wider a training interval gets where the plan leaves the data, from grouped cross-validation:
    the RMS of ln(predicted/actual) of the training runs predicted that way (planner/validate/crossval.py)."""

    architecture_log_sigma: float = Field(ge=0, le=3, description="Runs predicted without any run of their GPU "
                                                                  "architecture (--cross-validate family).")
    stack_log_sigma: float = Field(ge=0, le=3, description="Runs whose training stack has no factor of its own, "
                                                           "predicted without their publication.")
    scale_log_sigma: float = Field(ge=0, le=3, description="Runs on 256 or more GPUs, predicted without their "
                                                           "publication.")
    largest_run_gpus: int = Field(ge=1, description="GPUs of the largest fitted training run; plans beyond it "
                                                    "extrapolate in scale.")
    family_log_sigma: float | None = Field(None, ge=0, le=3, description=(
        "A model-family change (a measurement record's curve read for a family it did not measure), pooled over "
        "family_pairs; a pair not listed (too few fitted runs of the measured family) takes it. None: not fitted."))
    family_pairs: list[FamilyTransfer] = Field(default_factory=list, description="The same per (measured, planned) "
                                                                                 "family pair with the data for one.")
    family_recentred: RecentredTransfer | None = Field(None, description=(
        "The same once re-centred by the prior ratio, pooled over family_pairs' `recentred`; a pair without one "
        "takes it. None: not fitted."))
    n: dict[str, int] = Field(description="Runs behind each figure.")

    def family_sigma(self, measured: str, planned: str) -> tuple[float, str]:
        """The σ reading `measured`'s efficiency for `planned` adds, and what it rests on, in words."""
        pair = next((p for p in self.family_pairs if (p.measured, p.planned) == (measured, planned)), None)
        if pair is not None:
            return pair.log_sigma, f"{measured} medians predicting {pair.n} published {planned} runs"
        if self.family_log_sigma is None:
            return 0.0, ""
        return self.family_log_sigma, (f"pooled over {self.n.get('family', 0)} published runs predicted from another "
                                       f"family; too few published runs for a {measured} → {planned} figure")

    def recentred_sigma(self, measured: str, planned: str) -> tuple[float, str] | None:
        """The σ reading `measured`'s efficiency re-centred by the prior ratio for `planned` adds, and what it rests
        on, in words (None: not fitted)."""
        pair = next((p for p in self.family_pairs if (p.measured, p.planned) == (measured, planned)), None)
        if pair is not None and pair.recentred is not None:
            fit = pair.recentred
            return fit.log_sigma, (f"{fit.pairs} same-GPU pairs of published {measured} and {planned} runs, "
                                   f"{fit.runs} {planned}")
        if self.family_recentred is None:
            return None
        fit = self.family_recentred
        return fit.log_sigma, (f"pooled over {fit.pairs} same-GPU pairs of published runs of two families; none for "
                               f"{measured} → {planned}")


class PriorsFile(Strict):
    """catalog/priors.yaml."""

    schema_version: Literal[1] = Field(description="Format version.")
    fitted_at: dt.date = Field(description="When the script ran.")
    method: str = Field(description="How the priors were fitted.")
    priors: list[EfficiencyPrior] = Field(min_length=1, description="Priors, most specific first.")
    train_curves: list[TrainCurveFit] = Field(default_factory=list,
                                              description="Training efficiency curves per GPU architecture family.")
    extrapolation: Extrapolation | None = Field(None, description="Interval widening where a plan extrapolates.")
    launch_floors: list[LaunchFloor] = Field(default_factory=list,
                                             description="Per-kernel host floors of forward passes, by execution mode.")
    engine_steps: list[EngineStep] = Field(default_factory=list,
                                           description="Host time per decode step, by inference engine.")
