"""The measurement / calibration record (docs/measure.md), written by `gpuplan profile` and `gpuplan calibrate`."""

import datetime as dt
from typing import Literal

from pydantic import Field, field_validator, model_validator

from planner.schema.base import Strict
from planner.schema.bounds import (
    CLOCK_SKEW,
    MAX_BANDWIDTH_GBS,
    MAX_GPU_MEMORY_GB,
    MAX_PEAK_TFLOPS,
)

RECORD_KIND = "gpuplan/calibration"
RECORD_VERSION = 1
"""The record format this gpuplan writes and reads; a record with a larger version comes from a newer gpuplan."""

MeasuredPrecision = Literal["fp32", "tf32", "fp16", "bf16", "fp8"]
WorkKind = Literal["train", "infer", "prefill", "decode"]


class DeviceInfo(Strict):
    """Which device measured, and with what software."""

    name: str = Field(min_length=1, max_length=200, description="Device name as the driver reports it.")
    type: Literal["cpu", "cuda", "mps"] = Field(description="torch device type.")
    catalog_id: str | None = Field(None, max_length=100,
                                   description="Catalog GPU id the device was identified as (null: not a catalog GPU).")
    count: int = Field(1, ge=1, le=1024, description="Devices of this kind on the machine.")
    memory_gb: float = Field(gt=0, le=100_000, allow_inf_nan=False,
                             description="Device memory (host RAM for cpu), GB.")
    torch_version: str = Field(max_length=100, description="torch.__version__ when measured.")
    driver: str | None = Field(None, max_length=100, description="CUDA driver/runtime version, when on CUDA.")
    threads: int | None = Field(None, ge=1, le=100_000, description="torch intra-op threads (cpu).")
    host: str = Field(max_length=200, description="Host fingerprint: a hash of hostname and platform, not the name.")

    @model_validator(mode="after")
    def _gpu_memory(self) -> "DeviceInfo":
        if self.type != "cpu" and self.memory_gb > MAX_GPU_MEMORY_GB:
            raise ValueError(f"memory_gb {self.memory_gb:g} GB is more than any GPU has (at most "
                             f"{MAX_GPU_MEMORY_GB:,} GB per GPU)")
        return self


class MatmulPoint(Strict):
    """One square matmul of the peak sweep."""

    precision: MeasuredPrecision = Field(description="Data type of the matmul.")
    size: int = Field(ge=1, le=1_000_000, description="n of the n×n×n matmul.")
    tflops: float = Field(gt=0, le=MAX_PEAK_TFLOPS, allow_inf_nan=False,
                          description="Achieved TFLOP/s (2·n³ / median time).")
    spread: float = Field(ge=0, le=1000, allow_inf_nan=False,
                          description="Interquartile range ÷ median of the timing (above 10 on a busy machine: a "
                                      "context switch in a sub-millisecond matmul; the peak takes the best point).")


EMULATED_SHARE = 0.5
"""A precision other than fp32 whose best matmul so far runs under this share of fp32's best has no unit of its own
here (every datasheet gives bf16, fp16 and tf32 at least fp32's rate where the unit exists): its larger sizes are
not measured (planner/profiler/run.py _append_matmul) and the calibration's summary says so (render/records.py). A
rule for what to time, not a figure the record carries: the peak stays the best point measured. Measured on a
2-core AMD EPYC, torch 2.13 CPU: bf16 0.0012 TFLOP/s at 384³ against fp32 0.036, 0.0009 at 1024³
(2.6 s a call, 8.7 s a point), so the quick suite spent 9 of its 20 s on two bf16 points and the full one longer
on 512³ to 2048³ (21 s a call)."""


def emulated(sweep: list[MatmulPoint], precision: str) -> bool:
    """Whether `precision`'s best point measured so far is under EMULATED_SHARE of fp32's best."""
    own = [p.tflops for p in sweep if p.precision == precision]
    fp32 = [p.tflops for p in sweep if p.precision == "fp32"]
    return bool(own and fp32) and max(own) < EMULATED_SHARE * max(fp32)



class Peaks(Strict):
    """The local roofline, measured."""

    matmul_tflops: dict[MeasuredPrecision, float] = Field(
        description="Best achieved matmul TFLOP/s per precision over the size sweep (the measured peak).")
    memory_bandwidth_gbs: float = Field(gt=0, le=MAX_BANDWIDTH_GBS, allow_inf_nan=False,
                                        description="Achieved copy bandwidth, GB/s (bytes read + written / time).")
    sweep: list[MatmulPoint] = Field(default_factory=list, max_length=1000, description="Every matmul measured.")

    @model_validator(mode="after")
    def _ranges(self) -> "Peaks":
        if not self.matmul_tflops:
            raise ValueError("matmul_tflops needs at least one precision")
        for precision, value in self.matmul_tflops.items():
            if not 0 < value <= MAX_PEAK_TFLOPS:
                raise ValueError(f"matmul_tflops.{precision} must be in (0, {MAX_PEAK_TFLOPS:,}] TFLOP/s (got {value})")
        return self


class WorkPoint(Strict):
    """One measured training step or inference call."""

    label: str = Field(max_length=200, description="What was measured, in words (model size, batch, lengths).")
    size: float = Field(gt=0, description="Problem size the efficiency is fitted against: model FLOP per call "
                                          "(decode: bytes moved per step).")
    batch: int = Field(ge=1, le=1_000_000, description="Samples (sequences) per call.")
    tokens: int = Field(ge=1, le=100_000_000, description="Tokens per sample (prompt or context length for decoders).")
    seconds: float = Field(gt=0, le=1e6, description="Median time of one call.")
    iqr_seconds: float = Field(ge=0, le=1e6, description="Interquartile range of the call time.")
    params: float = Field(0.0, ge=0, description="Parameters of the reference model measured.")
    model_flops: float = Field(ge=0, description="FLOP of the call by the core's analytic formulas (workload.py).")
    counted_flops: float = Field(ge=0, description="FLOP counted by FlopCounterMode on the reference model.")
    bytes_moved: float = Field(0.0, ge=0, description="Bytes the core's model says the call moves (decode).")
    peak_memory_bytes: float | None = Field(None, ge=0, description="Peak memory of the call, when measured.")
    efficiency: float = Field(gt=0, le=1, description="Achieved ÷ measured peak (FLOP/s, or bandwidth for decode); "
                                                      "at most 1: nothing runs faster than the peak.")


class EfficiencyFit(Strict):
    """efficiency(size, params) = e_max · size / (size + size_half + per_param · params), fitted with
    scipy.optimize.curve_fit (planner/efficiency/curve.py explains the form)."""

    e_max: float = Field(gt=0, le=1, description="Efficiency at saturation (at most 1: the measured peak).")
    size_half: float = Field(ge=0, description="Fixed per-call overhead, in units of size: e_max/2 at this size "
                                               "when per_param is 0.")
    per_param: float = Field(0.0, ge=0, description="Overhead per model parameter (optimizer, weight reads), in "
                                                    "units of size per parameter.")
    e_max_sigma: float = Field(ge=0, description="Standard error of e_max from the fit's covariance.")
    log_sigma: float = Field(ge=0, le=3, description="Spread of ln(efficiency) around the fit, parameter error "
                                                     "included: the σ estimates use.")
    n: int = Field(ge=1, description="Points fitted.")

    def at(self, size: float, params: float = 0.0) -> float:
        """Fitted efficiency at a problem size for a model of `params` parameters."""
        return self.e_max * size / (size + self.size_half + self.per_param * params) if size > 0 else 0.0

    def overhead_share(self, size: float, params: float = 0.0) -> float:
        """Fraction of the call's time outside the saturated compute: (overhead) / (size + overhead)."""
        overhead = self.size_half + self.per_param * params
        return overhead / (size + overhead) if size + overhead > 0 else 0.0


class WorkloadRecord(Strict):
    """One family × kind × precision: its measured points and the fitted efficiency curve."""

    family: Literal["decoder", "encoder", "cnn", "mlp"] = Field(description="Reference model family.")
    kind: WorkKind = Field(description="train step, infer (forward), prefill or decode.")
    precision: MeasuredPrecision = Field(description="Compute precision.")
    model: str = Field(max_length=500, description="The reference model measured, in words.")
    reduced: bool = Field(description="Profiled at reduced depth/width because the full model is too large here.")
    method: Literal["full", "lora", "qlora"] = Field(
        "full", description="Training method timed (train kind): full, or LoRA adapters on frozen weights; qlora is "
                            "timed as LoRA where there is no NF4 kernel (the model text says so).")
    source: Literal["reference", "user-code"] = Field(
        "reference", description="reference: gpuplan's model built from the profile, FLOP by the core's formulas; "
                                 "user-code: the user's nn.Module (--model-code), FLOP counted by FlopCounterMode.")
    points: list[WorkPoint] = Field(min_length=1, max_length=1000, description="Measured calls.")
    fit: EfficiencyFit = Field(description="Efficiency against problem size.")


class CommPoint(Strict):
    """One all-reduce message size."""

    bytes: float = Field(gt=0, description="Message size per rank, bytes.")
    seconds: float = Field(gt=0, description="Median all-reduce time.")
    bus_bandwidth_gbs: float = Field(ge=0, le=MAX_BANDWIDTH_GBS, allow_inf_nan=False,
                                     description="algbw · 2(n−1)/n, GB/s (nccl-tests convention).")


class CommRecord(Strict):
    """All-reduce across local processes."""

    backend: Literal["gloo", "nccl", "mpi"] = Field(description="torch.distributed backend.")
    world_size: int = Field(ge=2, le=1024, description="Processes (ranks).")
    bus_bandwidth_gbs: float = Field(gt=0, le=1_000_000, allow_inf_nan=False,
                                     description="Fitted asymptotic bus bandwidth, GB/s (the fit's upper bound, 1e6, "
                                                 "when every message was latency-bound).")
    latency_us: float = Field(ge=0, description="Fitted per-step latency α, µs (ring: time = 2(n−1)α + bus term).")
    points: list[CommPoint] = Field(min_length=1, max_length=100, description="Measured message sizes.")


class MeasurementRecord(Strict):
    """A profiler / calibration record: what `gpuplan profile` and `gpuplan calibrate` write (docs/measure.md)."""

    kind: Literal["gpuplan/calibration"] = Field(description="Always gpuplan/calibration.")
    version: Literal[1] = Field(description="Record format version.")
    device: DeviceInfo = Field(description="What measured.")
    measured_at: dt.datetime = Field(description="When (UTC), with its time zone.")
    command: str = Field(max_length=2000, description="The command that produced the record.")
    quick: bool = Field(False, description="Measured with --quick (fewer sizes, shorter timing).")
    peaks: Peaks = Field(description="Measured matmul peaks and memory bandwidth.")
    workloads: list[WorkloadRecord] = Field(max_length=200,
                                            description="Per family, kind and precision (at least one).")
    comm: CommRecord | None = Field(None, description="All-reduce measurements, when measured.")

    @field_validator("measured_at")
    @classmethod
    def _aware_and_past(cls, value: dt.datetime) -> dt.datetime:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"no time zone (got {value.isoformat()}); write it in UTC, e.g. "
                             f"{value.replace(microsecond=0).isoformat()}Z")
        now = dt.datetime.now(dt.timezone.utc)
        if value > now + CLOCK_SKEW:
            raise ValueError(f"in the future (got {value.isoformat()}); a record is measured before it is read")
        return value

    @field_validator("workloads")
    @classmethod
    def _measured_something(cls, value: list[WorkloadRecord]) -> list[WorkloadRecord]:
        if not value:
            raise ValueError("no workload measured: the record holds peaks alone, which plan nothing (got [])")
        return value

    def workload(self, family: str, kind: str, precision: str | None = None) -> WorkloadRecord | None:
        """The record for a family and kind, preferring the given precision, else any measured one."""
        matches = [w for w in self.workloads if w.family == family and w.kind == kind]
        for w in matches:
            if precision is None or w.precision == precision:
                return w
        return matches[0] if matches else None
