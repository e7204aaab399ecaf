"""Efficiencies from measurement records: measured (the local device), calibrated (a catalog GPU with a record)
and transferred (an uncalibrated GPU, from the nearest calibrated one through the roofline). No torch.

Records store efficiency relative to the *measured* peak of their device (achieved ÷ measured matmul TFLOP/s, or
÷ measured copy bandwidth for decode). The core multiplies a GPU's *datasheet* peak by an efficiency, so a record
used for a catalog GPU is converted: e_datasheet = e_measured · measured_peak / datasheet_peak.

Transfer rule (source S calibrated, target T not), for a call of F model FLOP on a model of N parameters; the
fitted curve is e_S = e_max · F / (F + x_half + per_param · N) (planner/efficiency/curve.py):
    t_S = F / (P_S,meas · e_S)                    measured time on S (fitted curve)
    t_c = F / (P_S,meas · e_max)                  the saturated compute: scales with the matmul peak
    t_b = t_S − t_c                               the overhead: optimizer update and weight passes (∝ N) and the
                                                  fixed per-call part, memory-bound work
    t_T = t_c · P_S,ds / P_T,ds + t_b · B_S,ds / B_T,ds     compute part scales by the ratio of matmul peaks,
                                                            bandwidth part by the ratio of memory bandwidths
    e_T = F / (t_T · P_T,ds)
Decode is bandwidth-bound as a whole: t_T = t_S · B_S,ds / B_T,ds, so its bandwidth efficiency carries over.
The transferred spread adds the target's prior spread (how much efficiency varies between setups, from published
runs) to the fit's: σ_T = √(σ_fit² + σ_prior²).
A curve read for a model family the record did not measure (OtherFamily) is re-centred by the planned family's prior
over the measured family's on the device's GPU architecture where the catalog has both (catalog/priors.yaml priors),
and adds, in quadrature, the spread that leaves on same-GPU pairs of published runs (extrapolation.family_pairs
`recentred`); without both priors it is carried over unchanged and adds the spread a family change adds on published
runs (extrapolation.family_log_sigma, per family pair where the runs allow one: planner/efficiency/prior_fit.py
fit_family_transfer).
"""
from __future__ import annotations

import math
from dataclasses import field
from typing import TYPE_CHECKING

from planner.dataclass import dataclass

from planner.catalog.load import Catalog
from planner.efficiency.curve import E_MAX_BOUND
from planner.efficiency.origin import Efficiency, prior_efficiency
from planner.schema.catalog import GpuSpec

if TYPE_CHECKING:  # annotations only: a measurement record's models are imported where one is read
    from planner.schema.priors import EfficiencyPrior
    from planner.schema.record import MeasurementRecord, WorkloadRecord

BANDWIDTH_KINDS = ("decode",)
"""Kinds whose efficiency is a fraction of memory bandwidth; the others are fractions of matmul peak."""
NEAREST_PRECISION = {"fp32": ("fp32", "tf32"), "tf32": ("tf32", "fp32"), "fp16": ("fp16", "bf16"),
                     "bf16": ("bf16", "fp16"), "fp8": ("fp8", "bf16", "fp16")}
"""Measured precisions to use for a requested one, closest first (same-width formats share tensor-core paths)."""


def measured_precision(record: MeasurementRecord, precision: str) -> str | None:
    """The precision the record measured that stands closest to `precision`, else None."""
    for candidate in NEAREST_PRECISION.get(precision, (precision,)):
        if candidate in record.peaks.matmul_tflops:
            return candidate
    return None


@dataclass(frozen=True)
class OtherFamily:
    """A record's curve read for a model family it did not measure: the same kind of work measured on the record's
    model of another family. It carries over as a transferred efficiency, never a measured one (new-user QA round
    12: a BERT record's encoder curve planned a Llama training row as 'measured', without a word)."""

    kind: str
    family: str
    """The planned model's family."""
    measured_family: str
    measured_model: str
    """The record's model, in its words (WorkloadRecord.model)."""

    def note(self) -> str:
        """The efficiency's detail: what it was read from."""
        return f" (no {self.family} {self.kind} measured: the {self.measured_family} curve, {self.measured_model})"

    def shift(self, catalog: Catalog | None, arch: str) -> tuple[float, float, str]:
        """The factor the measured family's efficiency takes for the planned family on a GPU of architecture `arch`,
        the σ the family change adds (0 where the catalog fitted none) and the detail's words for both. Where the
        catalog has a prior level of both families on `arch` (the measured one's of >= MIN_SIGMA_RUNS runs, as the
        figure was measured), the factor is their ratio: families differ systematically (CNN training reaches about
        a third of a decoder's share of peak on ampere) and the record measured the device, not the family. Else 1,
        with the un-centred figure."""
        if catalog is None or catalog.extrapolation is None:
            return 1.0, 0.0, ""
        # the fit's module (published-run arithmetic) only where another family's curve is read
        from planner.efficiency.prior_fit import MIN_SIGMA_RUNS

        extrapolation = catalog.extrapolation
        levels: dict[str, EfficiencyPrior] = {p.family: p for p in catalog.priors
                                              if p.kind == self.kind and p.arch == arch}
        measured, planned = levels.get(self.measured_family), levels.get(self.family)
        recentred = extrapolation.recentred_sigma(self.measured_family, self.family)
        if measured is not None and planned is not None and measured.n >= MIN_SIGMA_RUNS and recentred is not None:
            ratio = planned.efficiency / measured.efficiency
            sigma, basis = recentred
            return ratio, sigma, (f"; re-centred by the {self.family}/{self.measured_family} prior ratio on {arch} "
                                  f"(×{ratio:.2f}), interval widened by σ {sigma:.2f} ({basis})")
        sigma, basis = extrapolation.family_sigma(self.measured_family, self.family)
        return 1.0, sigma, (f"; interval widened by σ {sigma:.2f} for the family change ({basis})" if sigma else "")

    def warning(self, who: str, model: str) -> str:
        """The one line a report shows where such a curve is used for `model` (the plan's) on `who`."""
        # a model that generates nothing reads its weights once a pass at the decode curve's bandwidth efficiency
        # (plans/local.py inference_sizes): 'encoder decode' named a phase an encoder has not (new-user QA round 31)
        what = self.kind if self.kind != "decode" or self.family == "decoder" else \
            "memory-bandwidth (its weights read once a pass)"
        article = "an" if self.family[:1] in "aeiou" or self.family == "mlp" else "a"
        return (f"{who}: the measurement record measured no {self.family} {self.kind} ({model} is {article} "
                f"{self.family}); its {what} efficiency is carried over from the {self.measured_family} {self.kind} "
                f"the record measured ({self.measured_model}): transferred, not measured on {model}. "
                f"`gpuplan profile` of this profile measures {model}.")


def _find_workload(record: MeasurementRecord, family: str, kind: str, precision: str
                   ) -> tuple[WorkloadRecord, OtherFamily | None] | None:
    """The record's workload for the family and kind, else the same kind of another family (which says so)."""
    chosen = measured_precision(record, precision)
    work = record.workload(family, kind, chosen)
    if work is not None:
        return work, None
    for other in ("decoder", "encoder", "cnn", "mlp"):
        work = record.workload(other, kind, chosen)
        if work is not None:
            return work, OtherFamily(kind, family, other, work.model)
    return None


def other_family(record: MeasurementRecord, family: str, kind: str, precision: str) -> OtherFamily | None:
    """Whether the record's efficiency for this family and kind is another family's curve (None: its own, or none)."""
    found = _find_workload(record, family, kind, precision)
    return found[1] if found is not None else None


def beyond_data(work: WorkloadRecord, size: float, params: float) -> tuple[float, float, str]:
    """The σ a call past the largest measured one adds, the efficiency to use there, and a note saying so. The
    fitted curve rises towards e_max with size; past the measured calls that rise is the curve's form, not a
    measurement, so the gain it extrapolates, ln(e(size) / e(largest measured)), is added to the spread as one more
    σ. Where the points never approach saturation, e_max sits at its bound (curve.E_MAX_BOUND) and is no fitted
    figure: the curve then rises towards the measured matmul peak itself (a 2-layer model measured at 2-8 % read
    87 %, a CPU training step 99 %, for calls ~100× the largest). The efficiency there lies between the largest
    call's (it does not fall with size) and the curve's, and nothing measured says where: the median is their
    geometric middle, e(largest)·exp(gain/2), with the same σ."""
    largest = max(p.size for p in work.points)
    if size <= largest:
        return 0.0, work.fit.at(size, params), ""
    edge, here = work.fit.at(largest, params), work.fit.at(size, params)
    gain = math.log(here / edge) if edge > 0 and here > edge else 0.0
    if gain > 0.0 and work.fit.e_max >= E_MAX_BOUND * (1 - 1e-3):
        middle = edge * math.exp(gain / 2.0)
        return gain, middle, (f"; extrapolated {size / largest:,.0f}× past the largest measured call, its curve "
                              f"never near saturation ({edge:.1%} there, {here:.1%} by the curve's form: "
                              f"{middle:.1%}, their geometric middle, with a wider interval)")
    return gain, here, (f"; extrapolated {size / largest:,.0f}× past the largest measured call "
                        f"({edge:.1%} there, {here:.1%} here: wider interval)")


def _datasheet_peak(gpu: GpuSpec, precision: str) -> float | None:
    value = gpu.peak_tflops.get(precision)
    return value * 1e12 if value else None


def record_efficiency(record: MeasurementRecord, gpu: GpuSpec, kind: str, family: str, precision: str,
                      size: float, source: str, params: float = 0.0,
                      catalog: Catalog | None = None) -> Efficiency | None:
    """The record's fitted efficiency at `size` for a model of `params` parameters, relative to `gpu`'s peak
    (datasheet for a catalog GPU). catalog: its priors and extrapolation re-centre and widen another family's curve
    (OtherFamily.shift)."""
    found = _find_workload(record, family, kind, precision)
    if found is None and kind in BANDWIDTH_KINDS:
        # no decode measured: the copy benchmark's bandwidth is what this device reaches streaming memory
        return Efficiency(record.peaks.memory_bandwidth_gbs / gpu.memory_bandwidth_gbs, 0.0, source,
                          f"{kind} {source}: copy bandwidth of {record.device.catalog_id or record.device.name}")
    if found is None:
        return None
    work, other = found
    gain, e_measured, beyond = beyond_data(work, size, params)
    if kind in BANDWIDTH_KINDS:
        ratio = record.peaks.memory_bandwidth_gbs / gpu.memory_bandwidth_gbs
    else:
        peak = _datasheet_peak(gpu, work.precision)
        ratio = record.peaks.matmul_tflops[work.precision] * 1e12 / peak if peak else 1.0
    who = record.device.catalog_id or record.device.name
    shift, family_sigma, widened = other.shift(catalog, gpu.arch) if other else (1.0, 0.0, "")
    detail = (f"{kind} {source} on {who} ({record.measured_at:%Y-%m-%d}, {work.fit.n} points, "
              f"{work.precision}){other.note() if other else ''}{beyond}{widened}")
    # another model family's curve is carried over to this model, not measured for it
    return Efficiency(_shifted(e_measured, shift) * ratio, math.hypot(work.fit.log_sigma, gain, family_sigma),
                      "transferred" if other is not None else source, detail)


def _shifted(efficiency: float, factor: float) -> float:
    """A measured efficiency re-centred for another family, held to the measured peak it is a share of."""
    return min(efficiency * factor, 1.0) if factor != 1.0 else efficiency


def transferred_efficiency(record: MeasurementRecord, source_gpu: GpuSpec, target: GpuSpec, kind: str,
                           family: str, precision: str, size: float, prior_sigma: float,
                           params: float = 0.0, catalog: Catalog | None = None) -> Efficiency | None:
    """Efficiency on `target` carried over from `source_gpu`'s record by the roofline (module docstring)."""
    found = _find_workload(record, family, kind, precision)
    if found is None:
        return None
    work, other = found
    gain, e_s, beyond = beyond_data(work, size, params)
    # the planned family on the source GPU (the record's device), then carried to the target by the roofline
    shift, family_sigma, widened = other.shift(catalog, source_gpu.arch) if other else (1.0, 0.0, "")
    e_s, e_max = _shifted(e_s, shift), _shifted(work.fit.e_max, shift)
    sigma = math.hypot(work.fit.log_sigma, prior_sigma, gain, family_sigma)
    detail = (f"{kind} transferred from {source_gpu.id} ({work.precision}){other.note() if other else ''}{beyond}"
              f"{widened}")
    if kind in BANDWIDTH_KINDS:
        value = e_s * record.peaks.memory_bandwidth_gbs / source_gpu.memory_bandwidth_gbs
        return Efficiency(value, sigma, "transferred", detail)
    p_meas = record.peaks.matmul_tflops[work.precision] * 1e12
    p_s, p_t = _datasheet_peak(source_gpu, work.precision), _datasheet_peak(target, work.precision)
    if p_s is None or p_t is None:
        return None
    t_s = size / (p_meas * e_s)
    t_c = size / (p_meas * e_max)
    t_b = max(0.0, t_s - t_c)
    t_t = t_c * p_s / p_t + t_b * source_gpu.memory_bandwidth_gbs / target.memory_bandwidth_gbs
    return Efficiency(size / (t_t * p_t), sigma, "transferred", detail)


def roofline_distance(a: GpuSpec, b: GpuSpec, precision: str) -> float:
    """How far apart two GPUs' rooflines are: |ln peak ratio| + |ln bandwidth ratio| (+1 across vendors)."""
    pa, pb = _datasheet_peak(a, precision) or a.peak_tflops.fp32 * 1e12, \
        _datasheet_peak(b, precision) or b.peak_tflops.fp32 * 1e12
    return (abs(math.log(pa / pb)) + abs(math.log(a.memory_bandwidth_gbs / b.memory_bandwidth_gbs))
            + (0.0 if a.vendor == b.vendor else 1.0))


@dataclass(frozen=True)
class EfficiencyBook:
    """Where every GPU's efficiency comes from: its calibration, else a transfer from the nearest calibrated GPU,
    else the prior fitted on published runs."""

    catalog: Catalog
    calibrated: dict[str, MeasurementRecord] = field(default_factory=dict)

    def get(self, gpu: GpuSpec, kind: str, family: str, precision: str, size: float,
            params: float = 0.0) -> Efficiency:
        """The efficiency of one kind of work on `gpu` at problem size `size` (FLOP per call; bytes for decode)
        for a model of `params` parameters."""
        record = self.calibrated.get(gpu.id)
        if record is not None:
            found = record_efficiency(record, gpu, kind, family, precision, size, "calibrated", params,
                                      self.catalog)
            if found is not None:
                return found
        prior = prior_efficiency(self.catalog, gpu, kind, family)
        sources = sorted((roofline_distance(gpu, self.catalog.gpus[gid], precision), gid)
                         for gid in self.calibrated if gid != gpu.id and gid in self.catalog.gpus)
        for _, gid in sources:
            moved = transferred_efficiency(self.calibrated[gid], self.catalog.gpus[gid], gpu, kind, family,
                                           precision, size, prior.log_sigma, params, self.catalog)
            if moved is not None:
                return moved
        return prior
